"""The seam between the emulated machine (machine.py: CPU, memories, time, USB link) and the
peripheral models (one module each). A model sees registers as offsets and the machine only
through `MachineApi`; it never imports Unicorn, so each model is unit-tested without a CPU.

Rules every model keeps (docs: DESIGN.md "Executing real machine code"):
- An access to a register the model does not implement calls `machine.unmodelled(address, ...)`,
  which stops the run and names the address. Nothing reads as zero silently.
- Each behaviour cites its source (RM0385 section, datasheet table) in a comment.
- Time is modelled, in nanoseconds, on `machine.now_ns`. A part that is busy (flash erase, QSPI
  program) finishes at a modelled instant; a status read while busy calls `machine.busy_poll(...)`,
  which lets modelled time pass (so polling loops do not burn host CPU) but in bounded steps, so a
  watchdog that is not refreshed still fires.
"""
from __future__ import annotations

from typing import Protocol


class BackingMemory(Protocol):
    """A non-volatile memory the simulated board owns (internal flash, QSPI NOR), shared with the ROM
    and the application: every change is reported back to the host simulator at once."""

    name: str  # 'flash' | 'qspi' | … : the simulator's memory name
    base: int  # bus address of byte 0 (0x08000000 for flash; 0 for the QSPI part's own address space)
    data: bytearray

    def changed(self, offset: int, length: int) -> None:
        """Bytes [offset, offset+length) changed: the machine forwards them to the host simulator."""
        ...


class MachineApi(Protocol):
    now_ns: int
    """Modelled device time since power-on, in ns."""

    def sysclk_hz(self) -> int:
        """The core clock the RCC model currently selects (instructions are timed at 1 per cycle)."""
        ...

    def advance(self, ns: int) -> None:
        """Lets modelled time pass (e.g. a busy part), running timers such as the IWDG."""
        ...

    def busy_poll(self, until_ns: int) -> None:
        """Called by a status read while a part stays busy until `until_ns`: advances modelled time a
        bounded step towards it (at most 1 ms), so a polling loop completes in few host iterations and
        the IWDG can still expire between two polls."""
        ...

    def memory(self, name: str) -> BackingMemory:
        ...

    def unmodelled(self, address: int, size: int, write: bool, value: int | None = None) -> None:
        """Stops the run: the firmware touched a register no model implements (raises)."""
        ...

    def fault(self, reason: str) -> None:
        """Stops the run as a fault would (raises); the board then behaves as a chip whose code crashed."""
        ...

    def system_reset(self, reason: str) -> None:
        """A reset (IWDG expiry, AIRCR.SYSRESETREQ): with BOOT0 held the chip restarts in the ROM."""
        ...

    def peripheral(self, name: str) -> "Peripheral":
        """Another model by name ('rcc', 'pwr', 'flash', 'gpioa', …, 'iwdg', 'quadspi', 'otg_fs')."""
        ...

    def log(self, message: str) -> None:
        ...


class Peripheral:
    """A block of registers at [base, base+size). Sub-classes implement read/write by offset."""

    name: str = ''
    base: int = 0
    size: int = 0x400

    def __init__(self, machine: MachineApi) -> None:
        self.m = machine

    def reset(self) -> None:
        """Reset values (RM0385: each register's "Reset value")."""

    def read(self, offset: int, size: int) -> int:
        self.m.unmodelled(self.base + offset, size, False)
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        self.m.unmodelled(self.base + offset, size, True, value)

    def tick(self) -> None:
        """Called after modelled time advanced (parts finishing, timers); optional."""
