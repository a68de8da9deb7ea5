"""A small fake of `MachineApi` (bbemu/periph/base.py) for driving one model through read/write:
modelled time, memories, and the stops (unmodelled, fault, reset) recorded and raised."""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'src-main', 'emu', 'python'))

from bbemu.periph.base import Peripheral  # noqa: E402


class Stop(Exception):
    """The run stopped: unmodelled register, fault or reset."""


class Unmodelled(Stop):
    pass


class Fault(Stop):
    pass


class Reset(Stop):
    pass


class FakeMemory:
    def __init__(self, name: str, base: int, size: int) -> None:
        self.name, self.base = name, base
        self.data = bytearray(b'\xff' * size)
        self.changes: list[tuple[int, int]] = []

    def changed(self, offset: int, length: int) -> None:
        self.changes.append((offset, length))


class FakeMachine:
    def __init__(self, flash_size: int = 1024 * 1024, qspi_size: int = 16 * 1024 * 1024) -> None:
        self.now_ns = 0
        self.memories = {'flash': FakeMemory('flash', 0x08000000, flash_size),
                         'qspi': FakeMemory('qspi', 0, qspi_size)}
        self.models: dict[str, Peripheral] = {}
        self.logs: list[str] = []
        self.resets: list[str] = []
        self.faults: list[str] = []
        self.polls = 0

    def add(self, *models: Peripheral) -> None:
        for model in models:
            self.models[model.name] = model

    def sysclk_hz(self) -> int:
        return self.models['rcc'].hclk_hz()  # type: ignore[attr-defined]

    def advance(self, ns: int) -> None:
        # As the machine does: time moves, then every model catches up (timers fire, parts finish).
        self.now_ns += max(0, int(ns))
        for model in list(self.models.values()):
            model.tick()

    def busy_poll(self, until_ns: int) -> None:
        self.polls += 1
        self.advance(max(0, min(until_ns - self.now_ns, 1_000_000)))

    def memory(self, name: str) -> FakeMemory:
        return self.memories[name]

    def unmodelled(self, address: int, size: int, write: bool, value: int | None = None) -> None:
        raise Unmodelled(f'unmodelled {"write" if write else "read"} 0x{address:08X}')

    def fault(self, reason: str) -> None:
        self.faults.append(reason)
        raise Fault(reason)

    def system_reset(self, reason: str) -> None:
        self.resets.append(reason)
        raise Reset(reason)

    def peripheral(self, name: str) -> Peripheral:
        return self.models[name]

    def log(self, message: str) -> None:
        self.logs.append(message)


def r32(model: Peripheral, offset: int) -> int:
    return model.read(offset, 4)


def w32(model: Peripheral, offset: int, value: int) -> None:
    model.write(offset, 4, value)


def board_machine(board: dict | None = None, flash_size: int = 1024 * 1024) -> FakeMachine:
    """A fake machine holding the whole STM32F746 set (stm32f7.peripherals) for `board`."""
    from bbemu.periph.stm32f7 import peripherals
    m = FakeMachine(flash_size=flash_size)
    m.add(*peripherals(m, board if board is not None else {}))
    return m
