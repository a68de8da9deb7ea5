"""RCC — reset and clock control of the STM32F74x/75x (RM0385 §5). Models the oscillators' ready
flags after modelled start-up times, the system clock switch, the bus prescalers, the peripheral
clock enables (other models ask `enabled(name)`) and resets (a reset bit resets the model), and the
reset flags. `sysclk_hz()`/`hclk_hz()` time the CPU; `apb2_timer_hz()`, `hse_hz()`, `clk48_hz()` …
serve other models.

Where RM0385 is silent, the assumptions are named in the comment that uses them."""
from __future__ import annotations

from typing import Callable

from .base import MachineApi
from .regs import RegisterBlock, field, merge

HSI_HZ = 16_000_000          # RM0385 §5.2.2: HSI 16 MHz RC
LSI_HZ = 32_000              # RM0385 §5.2.5: LSI "around 32 kHz" (datasheet: 17–47 kHz)

# Start-up times (STM32F746xx datasheet DS10916, "Internal/External clock source characteristics",
# typical values; the RM gives none): HSI tsu 2.2 µs, HSE crystal tsu 2 ms, PLL lock 75–200 µs
# (we take 100 µs), LSI tsu 15–40 µs (40 µs), LSE crystal 2 s. An external (bypass) clock is assumed
# stable after 1 µs: the oscillator is not started, RM0385 §5.2.1 only says HSERDY follows it.
T_HSI_NS = 2_200
T_HSE_XTAL_NS = 2_000_000
T_HSE_BYPASS_NS = 1_000
T_PLL_NS = 100_000
T_LSI_NS = 40_000
T_LSE_NS = 2_000_000_000

# Register offsets (RM0385 §5.3.27 "RCC register map").
CR, PLLCFGR, CFGR, CIR = 0x00, 0x04, 0x08, 0x0C
AHB1RSTR, AHB2RSTR, AHB3RSTR, APB1RSTR, APB2RSTR = 0x10, 0x14, 0x18, 0x20, 0x24
AHB1ENR, AHB2ENR, AHB3ENR, APB1ENR, APB2ENR = 0x30, 0x34, 0x38, 0x40, 0x44
AHB1LPENR, AHB2LPENR, AHB3LPENR, APB1LPENR, APB2LPENR = 0x50, 0x54, 0x58, 0x60, 0x64
BDCR, CSR, SSCGR, PLLI2SCFGR, PLLSAICFGR, DCKCFGR1, DCKCFGR2 = 0x70, 0x74, 0x80, 0x84, 0x88, 0x8C, 0x90

# Implemented bits (writable) and reset values, RM0385 §5.3.1–§5.3.26 (reserved bits read as their
# reset value and ignore writes).
_PLAIN: dict[int, tuple[int, int]] = {  # offset: (writable mask, reset value)
    AHB1RSTR: (0x22E017FF, 0), AHB2RSTR: (0x000000F1, 0), AHB3RSTR: (0x00000003, 0),
    APB1RSTR: (0xFFFFCBFF, 0), APB2RSTR: (0x04F77933, 0),
    AHB1ENR: (0x7EF417FF, 0x00100000),   # §5.3.10: DTCMRAMEN (bit 20) set at reset
    AHB2ENR: (0x000000F1, 0), AHB3ENR: (0x00000003, 0),
    APB1ENR: (0xFFFFCBFF, 0), APB2ENR: (0x04F77F33, 0),
    AHB1LPENR: (0x7EF7B7FF, 0x7EF7B7FF), AHB2LPENR: (0xF1, 0xF1), AHB3LPENR: (0x3, 0x3),
    APB1LPENR: (0xFFFFCBFF, 0xFFFFCBFF), APB2LPENR: (0x04F77F33, 0x04F77F33),
    SSCGR: (0xCFFFFFFF, 0),
    PLLI2SCFGR: (0x7F037FC0, 0x24003000), PLLSAICFGR: (0x7F037FC0, 0x24003000),
    DCKCFGR1: (0x01F31F1F, 0), DCKCFGR2: (0x1FFFFFFF, 0),
}

# Clock enable / reset bit of each modelled peripheral: (ENR offset, RSTR offset or None, bit).
CLOCKS: dict[str, tuple[int, int | None, int]] = {
    **{f'gpio{p}': (AHB1ENR, AHB1RSTR, i) for i, p in enumerate('abcdefghijk')},  # §5.3.10
    'otg_fs': (AHB2ENR, AHB2RSTR, 7),     # §5.3.11 OTGFSEN
    'quadspi': (AHB3ENR, AHB3RSTR, 1),    # §5.3.12 QSPIEN
    'pwr': (APB1ENR, APB1RSTR, 28),       # §5.3.13 PWREN
    'tim2': (APB1ENR, APB1RSTR, 0),       # §5.3.13 TIM2EN
    'tim11': (APB2ENR, APB2RSTR, 18),     # §5.3.14 TIM11EN
    'syscfg': (APB2ENR, APB2RSTR, 14),    # §5.3.14 SYSCFGEN
}

# CSR reset flags, RM0385 §5.3.21.
CSR_LSION, CSR_LSIRDY, CSR_RMVF = 1 << 0, 1 << 1, 1 << 24
RESET_FLAGS = {'BOR': 25, 'PIN': 26, 'POR': 27, 'SFT': 28, 'IWDG': 29, 'WWDG': 30, 'LPWR': 31}
CSR_POWER_ON = 0x0E000000    # §5.3.21 reset value: PORRSTF | PINRSTF | BORRSTF


class Rcc(RegisterBlock):
    name = 'rcc'
    base = 0x40023800
    size = 0x400

    def __init__(self, machine: MachineApi, board: dict) -> None:
        self.board = board
        self.hse_board_hz: int | None = board.get('hse_hz', 25_000_000)
        self.hse_mode: str | None = board.get('hse_mode', 'crystal')
        self.lse_board_hz: int | None = board.get('lse_hz', 32_768)
        self.csr_flags = board.get('reset_flags', CSR_POWER_ON)
        self.clock_listeners: list[Callable[[], None]] = []
        self._notifying = False
        self.clock_gen = 0    # bumped after every clock change: models may cache derived clocks
        super().__init__(machine)
        entry = board.get('rcc_at_entry')
        if entry:
            self._apply_entry_state(entry)
            self.clock_gen += 1

    # ------------------------------------------------------------------------------------------
    def reset(self) -> None:
        # CR reset 0x0000XX83 (§5.3.1): HSION, HSIRDY, HSITRIM 16; HSICAL is factory data (assumed 0x80).
        self.hsion, self.hseon, self.hsebyp, self.csson = True, False, False, False
        self.pllon, self.plli2son, self.pllsaion = False, False, False
        self.hsitrim, self.hsical = 0x10, 0x80
        self.on_at = {'hsi': -T_HSI_NS, 'hse': None, 'pll': None, 'plli2s': None, 'pllsai': None,
                      'lsi': None, 'lse': None}
        self.pllcfgr = 0x24003010          # §5.3.2
        self.cfgr = 0                      # §5.3.3
        self.sws = 0
        self.cir = 0
        self._was_ready: dict[str, bool] = {}
        self.regs = {off: rst for off, (_, rst) in _PLAIN.items()}
        self.bdcr = 0                      # §5.3.20 (backup domain: reset only by BDRST / power-on)
        self.lsion = False

    def _apply_entry_state(self, entry: dict) -> None:
        """The state another program (the ROM) left behind, as register values, with every enabled
        oscillator already stable (board['rcc_at_entry'])."""
        now = self.m.now_ns
        names = {'CR': CR, 'PLLCFGR': PLLCFGR, 'CFGR': CFGR, 'AHB1ENR': AHB1ENR, 'AHB2ENR': AHB2ENR,
                 'AHB3ENR': AHB3ENR, 'APB1ENR': APB1ENR, 'APB2ENR': APB2ENR, 'DCKCFGR1': DCKCFGR1,
                 'DCKCFGR2': DCKCFGR2, 'PLLSAICFGR': PLLSAICFGR}
        for reg_name, value in entry.items():
            if reg_name not in names:
                raise ValueError(f"board['rcc_at_entry']: {reg_name!r} is not one of {', '.join(names)}")
            off = names[reg_name]
            if off == CR:
                self.hsion, self.hseon = bool(value & 1), bool(value & (1 << 16))
                self.hsebyp, self.pllon = bool(value & (1 << 18)), bool(value & (1 << 24))
                self.pllsaion = bool(value & (1 << 28))
                for osc, on in (('hsi', self.hsion), ('hse', self.hseon), ('pll', self.pllon),
                                ('pllsai', self.pllsaion)):
                    self.on_at[osc] = now - 10_000_000_000 if on else None
            elif off == PLLCFGR:
                self.pllcfgr = (value & 0x0F437FFF) | 0x20000000
            elif off == CFGR:
                self.cfgr = value & 0xFFFFFCF3
                self.sws = value & 3
            else:
                self.regs[off] = value & _PLAIN[off][0]

    # --- derived clocks -----------------------------------------------------------------------
    def _ready(self, osc: str) -> bool:
        t = self.on_at[osc]
        if t is None:
            return False
        now = self.m.now_ns
        if osc == 'hsi':
            return now >= t + T_HSI_NS
        if osc == 'hse':
            # The board decides whether HSE can start: a crystal oscillates only with HSEBYP = 0, an
            # external clock is seen only with HSEBYP = 1 (RM0385 §5.2.1). Assumed: the wrong mode
            # never becomes ready (the manual does not say what a crystal does in bypass mode).
            if self.hse_board_hz is None or self.hse_mode is None:
                return False
            if (self.hse_mode == 'bypass') != self.hsebyp:
                return False
            return now >= t + (T_HSE_BYPASS_NS if self.hsebyp else T_HSE_XTAL_NS)
        if osc == 'lsi':
            return now >= t + T_LSI_NS
        if osc == 'lse':
            return self.lse_board_hz is not None and now >= t + T_LSE_NS
        # PLLs lock once their input is stable (§5.2.3): the lock time runs from the later of both.
        src = 'hse' if self.pllcfgr & (1 << 22) else 'hsi'
        if not self._ready(src):
            return False
        src_t = self.on_at[src] or 0
        return now >= max(t, src_t) + T_PLL_NS

    def pll_input_hz(self) -> int:
        src = self.hse_board_hz if self.pllcfgr & (1 << 22) else HSI_HZ
        m = field(self.pllcfgr, 0, 6)
        return (src or 0) // m if m else 0

    def pll_vco_hz(self) -> int:
        return self.pll_input_hz() * field(self.pllcfgr, 6, 9)

    def pll_p_hz(self) -> int:
        return self.pll_vco_hz() // (2 * (field(self.pllcfgr, 16, 2) + 1))   # §5.3.2 PLLP 2/4/6/8

    def pll_q_hz(self) -> int:
        q = field(self.pllcfgr, 24, 4)
        return self.pll_vco_hz() // q if q >= 2 else 0

    def hse_hz(self) -> int:
        return self.hse_board_hz or 0 if self._ready('hse') else 0

    def sysclk_hz(self) -> int:
        self._update()
        return {0: HSI_HZ, 1: self.hse_board_hz or 0, 2: self.pll_p_hz()}[self.sws]

    def hclk_hz(self) -> int:
        hpre = field(self.cfgr, 4, 4)   # §5.3.3 HPRE: 0xxx /1, 1000 /2 … 1111 /512 (no /32)
        div = 1 if hpre < 8 else [2, 4, 8, 16, 64, 128, 256, 512][hpre - 8]
        return self.sysclk_hz() // div

    def _apb_div(self, lsb: int) -> int:
        p = field(self.cfgr, lsb, 3)    # §5.3.3 PPREx: 0xx /1, 100 /2 … 111 /16
        return 1 if p < 4 else 2 << (p - 4)

    def pclk1_hz(self) -> int:
        return self.hclk_hz() // self._apb_div(10)

    def pclk2_hz(self) -> int:
        return self.hclk_hz() // self._apb_div(13)

    def _timer_hz(self, lsb: int) -> int:
        # §5.2 "clock tree" + §5.3.25 TIMPRE: timers run at 1× PCLK when APBx is undivided, else 2×
        # (TIMPRE = 0); with TIMPRE = 1 they run at HCLK up to /4 and at 4× PCLK beyond.
        div = self._apb_div(lsb)
        if self.regs[DCKCFGR1] & (1 << 24):
            return self.hclk_hz() if div <= 4 else 4 * self.hclk_hz() // div
        return self.hclk_hz() if div == 1 else 2 * self.hclk_hz() // div

    def apb1_timer_hz(self) -> int:
        return self._timer_hz(10)

    def apb2_timer_hz(self) -> int:
        return self._timer_hz(13)

    def lsi_hz(self) -> int:
        return int(self.board.get('lsi_hz', LSI_HZ))

    def clk48_hz(self) -> int:
        """The 48 MHz clock of OTG FS (§5.2, DCKCFGR2.CK48MSEL: 0 PLLQ, 1 PLLSAI P); 0 if stopped."""
        if self.regs[DCKCFGR2] & (1 << 27):
            if not self._ready('pllsai'):
                return 0
            c = self.regs[PLLSAICFGR]
            return self.pll_input_hz() * field(c, 6, 9) // (2 * (field(c, 16, 2) + 1))
        return self.pll_q_hz() if self._ready('pll') else 0

    def enabled(self, name: str) -> bool:
        """Is the peripheral's clock enabled (RCC_xxxENR)? A peripheral without clock ignores
        writes and reads 0 (RM0385 §5.2.12 "Peripheral clock enable": the clock is gated)."""
        enr, _, bit = CLOCKS[name]
        return bool(self.regs[enr] >> bit & 1)

    def in_reset(self, name: str) -> bool:
        """Is the peripheral held in reset by its RCC_xxxRSTR bit (§5.3.5–§5.3.9)?"""
        _, rstr, bit = CLOCKS[name]
        return rstr is not None and bool(self.regs[rstr] >> bit & 1)

    def accessible(self, name: str) -> bool:
        return self.enabled(name) and not self.in_reset(name)

    def note_reset(self, cause: str) -> None:
        """A system reset is about to happen (IWDG, SYSRESETREQ): its flag in CSR (§5.3.21) and the
        pin reset flag, which every internal reset also sets (§5.1.2: the reset source drives NRST)."""
        self.csr_flags |= (1 << RESET_FLAGS[cause]) | (1 << RESET_FLAGS['PIN'])

    def force_lsi(self) -> None:
        """The IWDG forces the LSI on when started (RM0385 §29.3.1)."""
        if not self.lsion:
            self.lsion = True
            self.on_at['lsi'] = self.m.now_ns

    # --- clock switch ---------------------------------------------------------------------------
    def _update(self) -> None:
        if self._notifying:
            return                      # listeners read the clock as it was before the switch
        sw = self.cfgr & 3
        if sw == self.sws and not self.cir & 0x7F00:
            return                      # nothing pending: the hot path of every clock query
        if sw != self.sws and sw != 3:
            src = {0: 'hsi', 1: 'hse', 2: 'pll'}[sw]
            if self._ready(src):        # §5.3.3 SW: the switch waits until the target is ready
                self._notify()
                self.sws = sw
                self._check_limits()
        for osc, bit in (('lsi', 0), ('lse', 1), ('hsi', 2), ('hse', 3), ('pll', 4), ('plli2s', 5),
                         ('pllsai', 6)):
            r = self._ready(osc)
            # §5.3.4: xxxRDYF is set when the oscillator becomes stable and xxxRDYIE is set.
            if r and not self._was_ready.get(osc) and self.cir & (1 << (8 + bit)):
                self.cir |= 1 << bit
            self._was_ready[osc] = r

    def _notify(self) -> None:
        """Listeners (SysTick, DWT, timers) catch up at the old clock before it changes."""
        self._notifying = True
        try:
            for listener in self.clock_listeners:
                listener()
        finally:
            self._notifying = False
            self.clock_gen += 1

    def _check_limits(self) -> None:
        # Operating conditions, STM32F746xx datasheet DS10916 table "General operating conditions"
        # and RM0385 §4.1.4: HCLK ≤ 216 MHz with over-drive (scale 1), 180 MHz without; PCLK1 ≤ 54 MHz,
        # PCLK2 ≤ 108 MHz. Running beyond them is undefined: the run stops.
        pwr = self._pwr()
        limit = pwr.max_hclk_hz() if pwr is not None else 216_000_000
        hclk = self.hclk_hz()
        if hclk > limit:
            self.m.fault(f'RCC: HCLK {hclk / 1e6:g} MHz exceeds {limit / 1e6:g} MHz allowed by the '
                         'voltage scale / over-drive state (RM0385 §4.1.4, PWR_CR1 VOS/ODEN/ODSWEN)')
        if self.pclk1_hz() > 54_000_000 or self.pclk2_hz() > 108_000_000:
            self.m.fault(f'RCC: PCLK1 {self.pclk1_hz() / 1e6:g} MHz / PCLK2 {self.pclk2_hz() / 1e6:g} MHz '
                         'exceed 54 / 108 MHz (DS10916 operating conditions; RM0385 §5.3.3 PPRE1/PPRE2)')

    def _pwr(self):  # noqa: ANN202 — the PWR model, if the machine has one
        try:
            return self.m.peripheral('pwr')
        except KeyError:
            return None

    def _check_pll_config(self, name: str, n: int) -> None:
        # §5.3.2: "the software has to set these bits correctly": PLLM 2..63 so that the VCO input is
        # 1–2 MHz (datasheet: 0.95–2.1 MHz), PLLN 50..432 so that the VCO output is 100–432 MHz.
        m = field(self.pllcfgr, 0, 6)
        vin = self.pll_input_hz()
        problems = []
        if m < 2:
            problems.append(f'PLLM={m} (2..63)')
        elif not 950_000 <= vin <= 2_100_000:
            problems.append(f'VCO input {vin / 1e6:g} MHz (0.95–2.1 MHz)')
        if not 50 <= n <= 432:
            problems.append(f'N={n} (50..432)')
        elif not 100_000_000 <= vin * n <= 432_000_000:
            problems.append(f'VCO output {vin * n / 1e6:g} MHz (100–432 MHz)')
        if problems:
            self.m.fault(f'RCC: {name} enabled with an invalid configuration: {", ".join(problems)} '
                         '(RM0385 §5.3.2 / §5.3.24; the PLL output is undefined)')

    # --- registers ------------------------------------------------------------------------------
    def read_reg(self, offset: int) -> int | None:
        self._update()
        if offset == CR:
            v = (self.hsion | self._ready('hsi') << 1 | self.hsitrim << 3 | self.hsical << 8
                 | self.hseon << 16 | self._ready('hse') << 17 | self.hsebyp << 18 | self.csson << 19
                 | self.pllon << 24 | self._ready('pll') << 25 | self.plli2son << 26
                 | self._ready('plli2s') << 27 | self.pllsaion << 28 | self._ready('pllsai') << 29)
            return int(v)
        if offset == PLLCFGR:
            return self.pllcfgr
        if offset == CFGR:
            return self.cfgr | self.sws << 2
        if offset == CIR:
            return self.cir & 0x7FFF
        if offset == BDCR:
            return self.bdcr | (self._ready('lse') << 1)
        if offset == CSR:
            return self.csr_flags | self.lsion | self._ready('lsi') << 1
        if offset in self.regs:
            return self.regs[offset]
        return None

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        self._update()
        now = self.m.now_ns
        if offset == CR:
            new = lambda bit, old: bool(value >> bit & 1) if mask >> bit & 1 else old  # noqa: E731
            src_pll = 'hse' if self.pllcfgr & (1 << 22) else 'hsi'
            uses = {'hsi': self.sws == 0 or (self.sws == 2 and src_pll == 'hsi'),
                    'hse': self.sws == 1 or (self.sws == 2 and src_pll == 'hse')}
            # §5.3.1 HSION/HSEON "cannot be cleared if the oscillator is used directly or indirectly
            # as the system clock"; PLLON "cannot be reset if PLL clock is used as the system clock".
            hsion = new(0, self.hsion) or uses['hsi']
            hseon = new(16, self.hseon) or uses['hse']
            pllon = new(24, self.pllon) or self.sws == 2
            # §5.3.1 HSEBYP "can be written only if the HSE oscillator is disabled".
            if not self.hseon:
                self.hsebyp = new(18, self.hsebyp)
            if mask & 0xF8:
                self.hsitrim = (value >> 3) & 0x1F
            self.csson = new(19, self.csson)
            for osc, old, on in (('hsi', self.hsion, hsion), ('hse', self.hseon, hseon)):
                if on and not old:
                    self.on_at[osc] = now
                elif old and not on:
                    self.on_at[osc] = None
            self.hsion, self.hseon = hsion, hseon
            if pllon and not self.pllon:
                self._check_pll_config('PLL', field(self.pllcfgr, 6, 9))
                self.on_at['pll'] = now
            elif not pllon:
                self.on_at['pll'] = None
            self.pllon = pllon
            for osc, attr, bit, cfg in (('plli2s', 'plli2son', 26, PLLI2SCFGR),
                                        ('pllsai', 'pllsaion', 28, PLLSAICFGR)):
                on = new(bit, getattr(self, attr))
                if on and not getattr(self, attr):
                    self._check_pll_config(osc.upper(), field(self.regs[cfg], 6, 9))
                    self.on_at[osc] = now
                elif not on:
                    self.on_at[osc] = None
                setattr(self, attr, on)
            return True
        if offset == PLLCFGR:
            new = merge(self.pllcfgr, value, mask, 0x0F437FFF)
            # §5.3.2: the PLL configuration is written "only when the PLL is disabled"; what a write
            # while it runs does is not specified, so it stops the run (an unchanged value is harmless).
            if self.pllon and new != self.pllcfgr:
                self.m.fault('RCC: PLLCFGR changed while PLLON = 1 (RM0385 §5.3.2: configure the PLL '
                             'only while it is disabled)')
            self.pllcfgr = new
            return True
        if offset == CFGR:
            old_hclk_bits = self.cfgr & 0xFCF0
            new = merge(self.cfgr, value, mask, 0xFFFFFCF3)
            if new & 0xFCF0 != old_hclk_bits:
                self._notify()
            self.cfgr = new
            if self.cfgr & 3 == 3:
                # §5.3.3 SW = 11 "not allowed".
                self.m.fault('RCC: CFGR.SW = 11 is "not allowed" (RM0385 §5.3.3)')
            self._update()
            if self.cfgr & 0xFCF0 != old_hclk_bits:
                self._check_limits()
            return True
        if offset == CIR:
            # §5.3.4: IE bits 14:8 read/write; bits 23:16 are write-1-to-clear the flags.
            self.cir = merge(self.cir, value, mask, 0x7F00)
            self.cir &= ~((value & mask) >> 16 & 0xFF)
            return True
        if offset == BDCR:
            pwr = self._pwr()
            # §5.3.20 / RM0385 §4.1.2 "Backup domain access": BDCR is write-protected until PWR_CR1.DBP.
            if pwr is None or not pwr.dbp():
                self.m.log('RCC: BDCR write ignored: the backup domain is write-protected (PWR_CR1.DBP = 0)')
                return True
            if value & mask & (1 << 16):
                self.bdcr, self.on_at['lse'] = 0, None     # BDRST resets the whole backup domain
                return True
            old_on = self.bdcr & 1
            self.bdcr = merge(self.bdcr, value, mask, 0x1831D) & ~(1 << 16)
            if self.bdcr & 1 and not old_on:
                self.on_at['lse'] = now
            elif not self.bdcr & 1:
                self.on_at['lse'] = None
            return True
        if offset == CSR:
            if mask & 1:
                on = bool(value & 1)
                if on and not self.lsion:
                    self.on_at['lsi'] = now
                iwdg_on = self._iwdg_running()
                # §29.3.1: once the IWDG is started the LSI is forced on and cannot be disabled.
                if not on and not iwdg_on:
                    self.on_at['lsi'] = None
                self.lsion = on or iwdg_on
            if value & mask & CSR_RMVF:             # §5.3.21 RMVF clears the reset flags
                self.csr_flags = 0
            return True
        if offset in _PLAIN:
            writable = _PLAIN[offset][0]
            old = self.regs[offset]
            if offset == DCKCFGR1 and (merge(old, value, mask, writable) ^ old) & (1 << 24):
                self._notify()          # TIMPRE changes the timer clocks (§5.3.25)
            self.regs[offset] = merge(old, value, mask, writable)
            if offset in (PLLI2SCFGR, PLLSAICFGR):
                on = self.plli2son if offset == PLLI2SCFGR else self.pllsaion
                if on and self.regs[offset] != old:
                    self.m.fault(f'RCC: {"PLLI2SCFGR" if offset == PLLI2SCFGR else "PLLSAICFGR"} '
                                 'changed while its PLL runs (RM0385 §5.3.23/§5.3.24)')
            if offset in (AHB1RSTR, AHB2RSTR, AHB3RSTR, APB1RSTR, APB2RSTR):
                self._hold_in_reset(offset)
            return True
        return False

    def _iwdg_running(self) -> bool:
        try:
            return bool(self.m.peripheral('iwdg').running)  # type: ignore[attr-defined]
        except KeyError:
            return False

    def _hold_in_reset(self, rstr: int) -> None:
        # §5.3.5–§5.3.9: a set reset bit keeps the peripheral in reset: its registers take their reset
        # values (and keep them while the bit stays set; the models are reset again at each write).
        for name, (_, r, bit) in CLOCKS.items():
            if r == rstr and self.regs[rstr] >> bit & 1:
                try:
                    self.m.peripheral(name).reset()
                except KeyError:
                    pass
