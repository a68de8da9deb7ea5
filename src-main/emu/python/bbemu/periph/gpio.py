"""GPIOA–GPIOK of the STM32F74x/75x (RM0385 §6): mode, output type, speed, pull, input and output
data, atomic set/reset (BSRR), the configuration lock (LCKR) and the alternate functions. `output(pin)`
and `history` let tests read what the firmware drives on a pin (an LED pattern)."""
from __future__ import annotations

from .base import MachineApi
from .regs import RegisterBlock, merge

MODER, OTYPER, OSPEEDR, PUPDR, IDR, ODR, BSRR, LCKR, AFRL, AFRH = (
    0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24)

# §6.4.1/§6.4.3/§6.4.4 reset values: ports A and B hold the debug pins (JTAG/SWD) in AF mode.
RESET = {
    'a': {MODER: 0xA8000000, OSPEEDR: 0x0C000000, PUPDR: 0x64000000},
    'b': {MODER: 0x00000280, OSPEEDR: 0x000000C0, PUPDR: 0x00000100},
}
PORTS = 'abcdefghijk'
HISTORY_MAX = 4096


class Gpio(RegisterBlock):
    size = 0x400

    def __init__(self, machine: MachineApi, port: str, board: dict) -> None:
        self.port = port.lower()
        self.name = f'gpio{self.port}'
        self.base = 0x40020000 + 0x400 * PORTS.index(self.port)   # RM0385 §2.2.2 Table 1
        # Levels the board drives on input pins: board['pins'] = {'PI11': 1, …} (e.g. a button).
        self.external = {int(k[2:]): int(v) for k, v in board.get('pins', {}).items()
                         if k.upper().startswith('P' + self.port.upper())}
        self.history: list[tuple[int, int]] = []
        super().__init__(machine)

    def reset(self) -> None:
        self.warned = False
        r = RESET.get(self.port, {})
        self.moder = r.get(MODER, 0)
        self.otyper = 0
        self.ospeedr = r.get(OSPEEDR, 0)
        self.pupdr = r.get(PUPDR, 0)
        self.odr = 0
        self.afr = [0, 0]
        self.lckr = 0            # the LCKR[15:0] pins actually locked, plus LCKK (bit 16)
        self.lock_step = 0
        self.lock_value = 0

    # --- pins -------------------------------------------------------------------------------------
    def mode(self, pin: int) -> int:
        return self.moder >> (2 * pin) & 3

    def output(self, pin: int) -> int | None:
        """The level the firmware drives on the pin (general-purpose output mode), else None."""
        return (self.odr >> pin) & 1 if self.mode(pin) == 1 else None

    def _input_level(self, pin: int) -> int:
        mode = self.mode(pin)
        if mode == 3:
            return 0                              # §6.3.12 analog: the input data register reads 0
        if mode == 1:
            return self.odr >> pin & 1            # §6.3.10 output: IDR samples the driven level
        if pin in self.external:
            return self.external[pin]
        # Nothing drives the pin: the pull decides; floating is assumed low (no such pin on a test).
        return 1 if (self.pupdr >> (2 * pin) & 3) == 1 else 0

    def _set_odr(self, value: int) -> None:
        value &= 0xFFFF
        if value != self.odr:
            self.odr = value
            self.history.append((self.m.now_ns, value))
            if len(self.history) > HISTORY_MAX:
                del self.history[0]

    def _clocked(self) -> bool:
        rcc = self.m.peripheral('rcc')
        if rcc.accessible(self.name):  # type: ignore[attr-defined]
            return True
        if not self.warned:      # once per model: a polling loop would repeat it endlessly
            self.warned = True
            self.m.log(f'{self.name.upper()}: access while its RCC_AHB1ENR clock is off or the port is in '
                       'reset: writes are lost, reads give 0 (RM0385 §5.3.10)')
        return False

    # --- registers ----------------------------------------------------------------------------
    def read_reg(self, offset: int) -> int | None:
        if offset > AFRH:
            return None
        if not self._clocked():
            return 0
        if offset == IDR:
            return sum(self._input_level(p) << p for p in range(16))
        if offset == BSRR:
            return 0                                  # §6.4.7: write-only, reads 0
        if offset == LCKR:
            return self.lckr
        return {MODER: self.moder, OTYPER: self.otyper, OSPEEDR: self.ospeedr, PUPDR: self.pupdr,
                ODR: self.odr, AFRL: self.afr[0], AFRH: self.afr[1]}[offset]

    def _unlocked_mask(self, bits_per_pin: int, first_pin: int = 0) -> int:
        # §6.3.8 "I/O port locking": a locked pin's MODER, OTYPER, OSPEEDR, PUPDR, AFR bits are frozen.
        if not self.lckr & (1 << 16):
            return 0xFFFFFFFF
        mask = 0
        for i in range(32 // bits_per_pin):
            pin = first_pin + i
            if not (self.lckr >> pin) & 1:
                mask |= ((1 << bits_per_pin) - 1) << (i * bits_per_pin)
        return mask

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        if offset > AFRH or offset == IDR:
            if offset == IDR:
                return True                           # §6.4.5: IDR is read-only
            return False
        if not self._clocked():
            return True
        if offset == MODER:
            self.moder = merge(self.moder, value, mask, self._unlocked_mask(2))
        elif offset == OTYPER:
            self.otyper = merge(self.otyper, value, mask, 0xFFFF & self._unlocked_mask(1))
        elif offset == OSPEEDR:
            self.ospeedr = merge(self.ospeedr, value, mask, self._unlocked_mask(2))
        elif offset == PUPDR:
            self.pupdr = merge(self.pupdr, value, mask, self._unlocked_mask(2))
        elif offset == ODR:
            self._set_odr(merge(self.odr, value, mask, 0xFFFF))
        elif offset == BSRR:
            # §6.4.7: BSy sets, BRy resets; "if both BSx and BRx are set, BSx has priority".
            v = value & mask
            self._set_odr((self.odr & ~(v >> 16)) | (v & 0xFFFF))
        elif offset == LCKR:
            self._lock_sequence(value, mask)
        elif offset == AFRL:
            self.afr[0] = merge(self.afr[0], value, mask, self._unlocked_mask(4, 0))
        elif offset == AFRH:
            self.afr[1] = merge(self.afr[1], value, mask, self._unlocked_mask(4, 8))
        return True

    def _lock_sequence(self, value: int, mask: int) -> None:
        # §6.4.8 LCKR "lock key write sequence": write LCKK=1 + LCKR[15:0], write LCKK=0 + same,
        # write LCKK=1 + same (then read). Must be word writes; "during the write sequence, the value of
        # LCKR[15:0] must not change"; any error aborts the sequence. Once locked, until reset.
        if self.lckr & (1 << 16):
            return
        if mask != 0xFFFFFFFF:
            self.lock_step = 0
            return
        want_lckk = (1, 0, 1)[self.lock_step]
        pins = value & 0xFFFF
        if (value >> 16 & 1) != want_lckk or (self.lock_step and pins != self.lock_value):
            self.lock_step = 0
            if value >> 16 & 1:            # a fresh first step
                self.lock_step, self.lock_value = 1, pins
            return
        self.lock_value = pins
        self.lock_step += 1
        if self.lock_step == 3:
            self.lock_step = 0
            self.lckr = (1 << 16) | pins
