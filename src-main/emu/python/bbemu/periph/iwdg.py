"""IWDG — the independent watchdog of the STM32F74x/75x (RM0385 §29): key register (start, reload,
register access), prescaler, reload and window registers with their update flags, counting down on
the LSI in modelled time; when it reaches 0 the chip resets (`machine.system_reset('IWDG')`).

board['iwdg_running_at_entry']: the ROM may hand over with the watchdog running (AN2606 §4.1: it
sets the prescaler to the maximum and keeps refreshing it when the hardware-watchdog option is set)."""
from __future__ import annotations

from .base import MachineApi
from .regs import RegisterBlock

KR, PR, RLR, SR, WINR = 0x00, 0x04, 0x08, 0x0C, 0x10
KEY_START, KEY_RELOAD, KEY_ACCESS = 0xCCCC, 0xAAAA, 0x5555   # §29.3.2 / §29.4.1
SR_PVU, SR_RVU, SR_WVU = 1, 2, 4
# §29.4.4: "it takes up to 5 RC 40 kHz cycles" for a written PR/RLR/WINR value to reach the LSI
# domain (PVU/RVU/WVU stay set meanwhile). Modelled as 5 LSI periods.
UPDATE_LSI_CYCLES = 5


class Iwdg(RegisterBlock):
    name = 'iwdg'
    base = 0x40003000
    size = 0x400
    access_sizes = (2, 4)   # §29.4: "accessed by half-words (16 bits) or words (32 bits)"

    def __init__(self, machine: MachineApi, board: dict) -> None:
        self.board = board
        super().__init__(machine)
        if board.get('iwdg_running_at_entry'):
            # AN2606 §4.1: prescaler at its maximum (/256), reload 0xFFF, just refreshed by the ROM.
            self.pr = 6
            self._start()
            self._load(0xFFF)

    def reset(self) -> None:
        self.running = False
        self.access = False
        self.pr, self.rlr, self.winr = 0, 0xFFF, 0xFFF          # §29.4.2–§29.4.5 reset values
        self.pending: list[tuple[int, str, int]] = []           # (effective ns, register, value)
        self.t0 = 0
        self.loaded = 0xFFF
        self.fired = False

    # --- time -----------------------------------------------------------------------------------
    def _lsi_hz(self) -> int:
        try:
            return int(self.m.peripheral('rcc').lsi_hz())  # type: ignore[attr-defined]
        except KeyError:
            return int(self.board.get('lsi_hz', 32_000))

    def tick_ns(self) -> float:
        return (4 << min(self.pr, 6)) * 1e9 / self._lsi_hz()   # §29.4.2: PR 0 → /4 … 6,7 → /256

    def counter(self) -> int:
        if not self.running:
            return self.loaded
        return max(0, self.loaded - int((self.m.now_ns - self.t0) // self.tick_ns()))

    def expires_at(self) -> int | None:
        """The modelled instant the down-counter reaches 0 (§29.3.1 "when the counter reaches 0x000,
        a reset signal is generated"), or None when stopped."""
        if not self.running:
            return None
        return self.t0 + int(self.loaded * self.tick_ns())

    def next_event_ns(self) -> int | None:
        """For the machine's slicing: the reset happens at the expiry instant, not a slice later."""
        return self.expires_at()

    def _load(self, value: int) -> None:
        self.t0, self.loaded = self.m.now_ns, value

    def _start(self) -> None:
        if not self.running:
            self.running = True
            self._load(0xFFF)   # §29.3.1: "the counter starts counting down from the reset value 0xFFF"
            try:
                self.m.peripheral('rcc').force_lsi()  # type: ignore[attr-defined]
            except KeyError:
                pass

    def _apply_pending(self) -> None:
        now = self.m.now_ns
        for item in [p for p in self.pending if p[0] <= now]:
            self.pending.remove(item)
            _, reg, value = item
            if reg == 'pr':
                count = self.counter()     # re-base the count at the new rate
                self.pr = value
                self._load(count)
            elif reg == 'rlr':
                self.rlr = value
            else:
                self.winr = value

    def tick(self) -> None:
        if not self.running and not self.pending:
            return
        self._apply_pending()
        at = self.expires_at()
        if at is not None and self.m.now_ns >= at and not self.fired:
            self._expire('the down-counter reached 0')

    def _expire(self, why: str) -> None:
        self.fired = True
        self.m.log(f'IWDG: {why}: system reset (RM0385 §29.3)')
        try:
            self.m.peripheral('rcc').note_reset('IWDG')  # type: ignore[attr-defined]
        except KeyError:
            pass
        self.m.system_reset('IWDG')

    # --- registers ------------------------------------------------------------------------------
    def _busy(self, reg: str) -> bool:
        return any(p[1] == reg for p in self.pending)

    def read_reg(self, offset: int) -> int | None:
        self.tick()
        if offset == KR:
            return 0                                  # §29.4.1: write-only, reads 0
        if offset == PR:
            return self.pr
        if offset == RLR:
            return self.rlr
        if offset == SR:
            if self.pending:
                self.m.busy_poll(min(p[0] for p in self.pending))
                self.tick()
            return self._busy('pr') * SR_PVU | self._busy('rlr') * SR_RVU | self._busy('winr') * SR_WVU
        if offset == WINR:
            return self.winr
        return None

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        self.tick()
        if offset == KR:
            key = value & 0xFFFF if mask & 0xFFFF == 0xFFFF else None
            # §29.4.1: 0x5555 enables access to PR/RLR/WINR; any other value protects them again.
            self.access = key == KEY_ACCESS
            if key == KEY_START:
                self._start()
            elif key == KEY_RELOAD:
                self._reload()
            return True
        if offset not in (PR, RLR, WINR):
            return False
        reg, width = {PR: ('pr', 0x7), RLR: ('rlr', 0xFFF), WINR: ('winr', 0xFFF)}[offset]
        if not self.access:
            # §29.3.4 "Register access protection": without 0x5555 first, writes are ignored.
            self.m.log(f'IWDG: {reg.upper()} write ignored: write access not enabled by KR = 0x5555')
            return True
        if self._busy(reg):
            # §29.4.4: the value "can be updated only when PVU/RVU/WVU is reset".
            self.m.log(f'IWDG: {reg.upper()} write ignored while its update flag is set (RM0385 §29.4.4)')
            return True
        new = (getattr(self, reg) & ~mask | value & mask) & width
        done = self.m.now_ns + int(UPDATE_LSI_CYCLES * 1e9 / self._lsi_hz())
        self.pending.append((done, reg, new))
        if reg == 'winr':
            # §29.3.3 "Window option": writing IWDG_WINR reloads the down-counter with RLR.
            self._load(self.rlr)
        return True

    def _reload(self) -> None:
        if not self.running:
            self._load(self.rlr)
            return
        # §29.3.3: a reload while the counter is above the window value resets the chip.
        winr = self.winr
        if winr < 0xFFF and self.counter() > winr:
            self._expire(f'reloaded at counter 0x{self.counter():03X} above the window 0x{winr:03X}')
            return
        self._load(self.rlr)
