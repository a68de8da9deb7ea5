"""The STM32F746's peripheral set for the emulated board: `peripherals(machine, board)` builds the
models at their RM0385 §2.2.2 Table 1 bases (the machine maps each [base, base+size) to its model and
adds OTG FS itself). Windows that are not registers — flash at 0x08000000 (`Flash.bus_read/
bus_write`) and QSPI at 0x90000000 (`Quadspi.mapped_read`) — are routed by the machine.

board keys read by the models (all optional): hse_hz (25 MHz), hse_mode ('crystal'|'bypass'|None),
lse_hz, lsi_hz, reset_flags, rcc_at_entry, scs_at_entry, iwdg_running_at_entry, pins, rev_id, cpuid,
vdd_v."""
from __future__ import annotations

from .base import MachineApi, Peripheral
from .dbgmcu import Dbgmcu
from .flash import Flash
from .gpio import PORTS, Gpio
from .iwdg import Iwdg
from .pwr import Pwr
from .quadspi import Quadspi
from .rcc import Rcc
from .scs import Dwt, Scs
from .timers import Tim2, Tim11


def peripherals(machine: MachineApi, board: dict) -> list[Peripheral]:
    """Models only look each other up (`machine.peripheral(name)`) when the firmware touches them;
    the links needed before that are wired here."""
    rcc = Rcc(machine, board)
    scs = Scs(machine, board)
    dwt = Dwt(machine, board)
    iwdg = Iwdg(machine, board)
    tim2, tim11 = Tim2(machine, board), Tim11(machine, board)
    models: list[Peripheral] = [rcc, Pwr(machine, board), Flash(machine, board),
                                *[Gpio(machine, p, board) for p in PORTS],
                                iwdg, Dbgmcu(machine, board), scs, dwt, Quadspi(machine, board), tim2, tim11]
    # SysTick and the cycle counter catch up at the old rate before the core clock changes.
    rcc.clock_listeners += [scs._syst_sync, dwt._sync, tim2.sync, tim11.sync]
    if iwdg.running:
        rcc.force_lsi()         # RM0385 §29.3.1: a running IWDG keeps the LSI on
    return models
