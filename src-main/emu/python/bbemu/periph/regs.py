"""Register-block plumbing shared by the models: byte-lane handling of 8/16/32-bit accesses and the
strict rule that an offset no model implements stops the run (base.py). A model implements
`read_reg(offset)` / `write_reg(offset, value, mask)` on word offsets and returns `None` / `False`
for a register it does not implement.
"""
from __future__ import annotations

from .base import MachineApi, Peripheral

UNMODELLED = None


class RegisterBlock(Peripheral):
    """A block of 32-bit registers. `access_sizes` holds the access widths the manual allows for
    the block (e.g. RM0385 §6.4: GPIO by byte, half-word or word; §29.4 IWDG half-word or word)."""

    access_sizes: tuple[int, ...] = (1, 2, 4)
    manual: str = 'RM0385'

    def __init__(self, machine: MachineApi) -> None:
        super().__init__(machine)
        self.reset()

    # --- to implement -------------------------------------------------------------------------
    def read_reg(self, offset: int) -> int | None:
        return UNMODELLED

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        """`value` holds the written byte lanes in place, `mask` says which bits were written."""
        return False

    # --- bus side -----------------------------------------------------------------------------
    def _check(self, offset: int, size: int, write: bool) -> bool:
        if size not in self.access_sizes:
            self.m.fault(f'{self.name.upper()}: {size}-byte {"write" if write else "read"} at '
                         f'0x{self.base + offset:08X}; {self.manual} allows only '
                         f'{"/".join(str(s) for s in self.access_sizes)}-byte accesses to this block')
            return False
        if (offset & 3) + size > 4:
            self.m.fault(f'{self.name.upper()}: unaligned {size}-byte access at 0x{self.base + offset:08X}'
                         ' (a peripheral register access must be naturally aligned; ARMv7-M A3.2.1)')
            return False
        return True

    def read(self, offset: int, size: int) -> int:
        if not self._check(offset, size, False):
            return 0
        value = self.read_reg(offset & ~3)
        if value is None:
            self.m.unmodelled(self.base + offset, size, False)
            return 0
        shift = (offset & 3) * 8
        return (value >> shift) & ((1 << (8 * size)) - 1)

    def write(self, offset: int, size: int, value: int) -> None:
        if not self._check(offset, size, True):
            return
        shift = (offset & 3) * 8
        lane = (1 << (8 * size)) - 1
        if not self.write_reg(offset & ~3, (value & lane) << shift, lane << shift):
            self.m.unmodelled(self.base + offset, size, True, value)


def merge(old: int, value: int, mask: int, writable: int) -> int:
    """The new content of a plain read/write register: written bits inside `writable` change."""
    m = mask & writable
    return (old & ~m) | (value & m)


def field(value: int, lsb: int, width: int) -> int:
    return (value >> lsb) & ((1 << width) - 1)
