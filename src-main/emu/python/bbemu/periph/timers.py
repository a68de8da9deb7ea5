"""The timers the loader uses, modelled as far as it uses them (RM0385): TIM2 (§19, 32-bit general
purpose on APB1) as an up-counting time base, and TIM11 (§20, 16-bit on APB2) with input capture on
channel 1, whose input can be remapped to HSE_RTC (TIM11_OR.TI1_RMP) to measure the HSE against the
timer clock. Counting follows modelled time at the RCC's timer clock; anything else the registers
allow (down/centre-aligned counting, one-pulse, slave modes, outputs, DMA) stops the run as
unmodelled.

Time passes only between the machine's instruction slices: `next_event_ns()` gives the next capture
instant so that a machine can end a slice there (a capture every ~10 µs must be seen one by one, or a
polling firmware would see CC1OF)."""
from __future__ import annotations

from .base import MachineApi
from .regs import RegisterBlock, field, merge

CR1, CR2, SMCR, DIER, SR, EGR, CCMR1, CCMR2, CCER, CNT, PSC, ARR = range(0, 0x30, 4)
CCR1, OR = 0x34, 0x50
SR_UIF, SR_CC1IF, SR_CC1OF = 1, 2, 1 << 9
CR1_CEN, CR1_UDIS, CR1_URS, CR1_ARPE = 1, 2, 4, 0x80


class BasicUpCounter(RegisterBlock):
    """CR1 / SR / EGR / CNT / PSC / ARR of an up-counting timer (RM0385 §19.3.2 / §20.3.2 "Counter
    modes": counts from 0 to ARR, then an update event (UIF) and back to 0; PSC takes effect at the
    next update event, ARR at once unless ARPE buffers it)."""

    bits = 16
    apb = 2

    def __init__(self, machine: MachineApi, board: dict) -> None:
        super().__init__(machine)

    def reset(self) -> None:
        self.cr1 = 0
        self.sr = 0
        self.dier = 0
        self.psc = 0                 # preload value
        self.psc_active = 0          # value in use (§19.3.1: loaded at the update event)
        self.arr = (1 << self.bits) - 1
        self.arr_preload = self.arr
        self.cnt = 0
        self.t0 = self.m.now_ns
        self.frac = 0
        self._hz, self._hz_gen = 0, -1

    # --- time ---------------------------------------------------------------------------------------
    def timer_hz(self) -> int:
        rcc = self.m.peripheral('rcc')
        gen = rcc.clock_gen  # type: ignore[attr-defined]
        if gen != self._hz_gen:      # recomputed only after the RCC changed a clock
            self._hz = rcc.apb1_timer_hz() if self.apb == 1 else rcc.apb2_timer_hz()  # type: ignore[attr-defined]
            self._hz_gen = gen
        return self._hz

    def sync(self) -> None:
        """Brings CNT up to now (the RCC calls it before a clock change)."""
        now = self.m.now_ns
        if not self.cr1 & CR1_CEN:
            self.t0, self.frac = now, 0
            return
        total = (now - self.t0) * self.timer_hz() + self.frac
        unit = 1_000_000_000 * (self.psc_active + 1)
        ticks = total // unit
        self.frac = total % unit
        self.t0 = now
        if ticks:
            self._count(ticks)

    def _count(self, ticks: int) -> None:
        top = self.arr
        if self.cnt > top:
            # Beyond ARR (ARR lowered): counts up to the end of the range first (§19.3.2 note).
            to_wrap = (1 << self.bits) - self.cnt
            if ticks < to_wrap:
                self.cnt += ticks
                return
            ticks -= to_wrap
            self.cnt = 0
            self._update_event()
        period = top + 1
        passed = self.cnt + ticks
        if passed >= period:
            self._update_event()
        self.cnt = passed % period

    def _update_event(self) -> None:
        if not self.cr1 & CR1_UDIS:
            self.sr |= SR_UIF             # §19.4.5 UIF on counter overflow
            self.psc_active = self.psc
            self.arr = self.arr_preload

    def ns_per_tick(self) -> float:
        hz = self.timer_hz()
        return 1e9 * (self.psc_active + 1) / hz if hz else 1e9

    # --- registers ------------------------------------------------------------------------------
    def read_reg(self, offset: int) -> int | None:
        self.sync()
        if offset == CR1:
            return self.cr1
        if offset == DIER:
            return self.dier
        if offset == SR:
            return self.sr
        if offset == EGR:
            return 0                          # write-only
        if offset == CNT:
            return self.cnt
        if offset == PSC:
            return self.psc
        if offset == ARR:
            return self.arr_preload
        return None

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        self.sync()
        top = (1 << self.bits) - 1
        if offset == CR1:
            new = merge(self.cr1, value, mask, 0xBFF)
            if new & 0x78:
                self.m.fault(f'{self.name.upper()}: CR1 0x{new:X}: one-pulse, down or centre-aligned counting '
                             'is not modelled (only up-counting)')
            self.cr1 = new
            return True
        if offset == DIER:
            self.dier = merge(self.dier, value, mask, 0x5F5F)   # stored: no interrupt is taken
            return True
        if offset == SR:
            self.sr &= value | ~mask                 # §19.4.5: rc_w0, writing 1 has no effect
            return True
        if offset == EGR:
            if value & mask & 1:
                # §19.4.6 UG: re-initializes the counter, loads the preloaded PSC/ARR, sets UIF
                # unless URS = 1 (the update then comes from UG only silently? no: URS hides UG).
                self.cnt = 0
                self.frac = 0
                self.psc_active = self.psc
                self.arr = self.arr_preload
                if not self.cr1 & CR1_URS:
                    self.sr |= SR_UIF
            return True
        if offset == CNT:
            self.cnt = merge(self.cnt, value, mask, top)
            return True
        if offset == PSC:
            self.psc = merge(self.psc, value, mask, 0xFFFF)
            return True
        if offset == ARR:
            self.arr_preload = merge(self.arr_preload, value, mask, top)
            if not self.cr1 & CR1_ARPE:
                self.arr = self.arr_preload           # §19.4.13: without ARPE, ARR applies at once
            return True
        return False


class Tim2(BasicUpCounter):
    name = 'tim2'
    base = 0x40000000
    size = 0x400
    bits = 32                 # RM0385 §19.1: TIM2 and TIM5 are 32-bit
    apb = 1


class Tim11(BasicUpCounter):
    """TIM11 with input capture on channel 1 (RM0385 §20.3.4 "Input capture mode"): CCMR1 CC1S = 01
    (TI1), IC1PSC captures every 1/2/4/8 edges, CCER.CC1E enables; each capture copies CNT into CCR1
    and sets CC1IF (reading CCR1 clears it); a capture while CC1IF is set sets CC1OF. The TI1 input:
    TIM11_OR.TI1_RMP (§20.5.12): 0 GPIO, 2 HSE_RTC = HSE / RTCPRE (RCC_CFGR), 3 MCO1 — only
    HSE_RTC is modelled."""

    name = 'tim11'
    base = 0x40014800
    size = 0x400
    bits = 16
    apb = 2

    def reset(self) -> None:
        super().reset()
        self.ccmr1 = 0
        self.ccer = 0
        self.ccr1 = 0
        self.orr = 0
        self.cap_t0: int | None = None
        self.cap_seen = 0

    def _capture_period_ns(self) -> float | None:
        if not (self.cr1 & CR1_CEN and self.ccer & 1 and self.ccmr1 & 3 == 1):
            return None
        if self.orr & 3 != 2:
            return None
        rcc = self.m.peripheral('rcc')
        hse = rcc.hse_hz()  # type: ignore[attr-defined]
        rtcpre = field(rcc.cfgr, 16, 5)  # type: ignore[attr-defined]
        if not hse or rtcpre < 2:
            return None                      # §5.3.3 RTCPRE 0/1: no clock
        edges = 1 << field(self.ccmr1, 2, 2)  # IC1PSC: every 1, 2, 4, 8 events
        return edges * rtcpre * 1e9 / hse

    def _captures(self) -> None:
        period = self._capture_period_ns()
        if period is None:
            self.cap_t0 = None
            return
        now = self.m.now_ns
        if self.cap_t0 is None:
            self.cap_t0, self.cap_seen = now, 0
            return
        n = int((now - self.cap_t0) // period)
        new = n - self.cap_seen
        if new <= 0:
            return
        t_last = self.cap_t0 + n * period
        # CNT at the last capture instant: now's count minus the ticks since then.
        self.sync()
        back = int((now - t_last) / self.ns_per_tick())
        self.ccr1 = (self.cnt - back) % (self.arr + 1)
        if self.sr & SR_CC1IF or new > 1:
            self.sr |= SR_CC1OF              # §20.4.5 CC1OF: a capture while CC1IF was still set
        self.sr |= SR_CC1IF
        self.cap_seen = n

    def next_event_ns(self) -> int | None:
        """The next capture instant (for the machine's slicing), or None."""
        period = self._capture_period_ns()
        if period is None:
            return None
        if self.cap_t0 is None:
            self._captures()
        assert self.cap_t0 is not None
        return int(self.cap_t0 + (self.cap_seen + 1) * period) + 1

    def read_reg(self, offset: int) -> int | None:
        self._captures()
        if offset == CCMR1:
            return self.ccmr1
        if offset == CCER:
            return self.ccer
        if offset == CCR1:
            value = self.ccr1
            if self.ccmr1 & 3:
                self.sr &= ~SR_CC1IF             # §20.4.5: reading CCR1 clears CC1IF in input mode
            return value
        if offset == OR:
            return self.orr
        if offset in (CR2, SMCR, CCMR2):
            return None                          # TIM11 has no such register (§20.5 map)
        return super().read_reg(offset)

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        self._captures()
        ok = self._write(offset, value, mask)
        self._captures()          # capturing starts the moment the configuration enables it
        return ok

    def _write(self, offset: int, value: int, mask: int) -> bool:
        if offset == CCMR1:
            self.ccmr1 = merge(self.ccmr1, value, mask, 0xFF)
            if self.ccmr1 & 3 not in (0, 1) or (self.ccmr1 & 3 == 0 and self.ccmr1):
                self.m.fault('TIM11: CCMR1 output compare / TRC input is not modelled (only CC1S = 01 capture)')
            return True
        if offset == CCER:
            self.ccer = merge(self.ccer, value, mask, 0xB)   # CC1E, CC1P, CC1NP
            self.cap_t0 = None
            return True
        if offset == CCR1:
            if self.ccmr1 & 3:
                return True                      # read-only in input mode (§20.4.11)
            self.ccr1 = merge(self.ccr1, value, mask, 0xFFFF)
            return True
        if offset == OR:
            self.orr = merge(self.orr, value, mask, 0x3)
            if self.orr & 3 not in (0, 2):
                self.m.fault('TIM11: TI1_RMP = MCO1 / reserved is not modelled (only HSE_RTC)')
            self.cap_t0 = None
            return True
        if offset in (CR2, SMCR, CCMR2):
            return False
        ok = super().write_reg(offset, value, mask)
        if offset in (CR1, EGR):
            self.cap_t0 = None if not self.cr1 & CR1_CEN else self.cap_t0
        return ok
