"""DBGMCU of the STM32F74x/75x (RM0385 §40.6 "MCU device ID code" / §40.16.1–4): the IDCODE the
firmware reads to know the chip, and the debug-freeze registers (stored only, no debugger here)."""
from __future__ import annotations

from .base import MachineApi
from .regs import RegisterBlock, merge

IDCODE, CR, APB1FZ, APB2FZ = 0x00, 0x04, 0x08, 0x0C
DEV_ID = 0x449            # §40.6.1: STM32F74xxx/75xxx
REV_Z = 0x1001            # §40.6.1 REV_ID: 0x1000 revision A, 0x1001 revision Z


class Dbgmcu(RegisterBlock):
    name = 'dbgmcu'
    base = 0xE0042000
    size = 0x400
    access_sizes = (4,)    # §40.6.1: "only 32-bit access supported"

    def __init__(self, machine: MachineApi, board: dict) -> None:
        self.rev_id = int(board.get('rev_id', REV_Z))
        super().__init__(machine)

    def reset(self) -> None:
        # DBGMCU is reset by a power-on reset only (§40.16.2); a system reset keeps it — modelled as
        # cleared at construction, which is power-on for the emulated board.
        if not hasattr(self, 'cr'):
            self.cr = self.apb1fz = self.apb2fz = 0

    def read_reg(self, offset: int) -> int | None:
        if offset == IDCODE:
            return (self.rev_id << 16) | DEV_ID
        return {CR: self.cr, APB1FZ: self.apb1fz, APB2FZ: self.apb2fz}.get(offset)

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        if offset == IDCODE:
            return True                                  # read-only
        if offset == CR:
            self.cr = merge(self.cr, value, mask, 0xE7)  # DBG_SLEEP/STOP/STANDBY, TRACE_IOEN, TRACE_MODE
        elif offset == APB1FZ:
            self.apb1fz = merge(self.apb1fz, value, mask, 0x07E01FFF)
        elif offset == APB2FZ:
            self.apb2fz = merge(self.apb2fz, value, mask, 0x00070003)
        else:
            return False
        return True
