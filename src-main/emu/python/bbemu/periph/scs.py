"""The Cortex-M7 System Control Space 0xE000E000–0xE000EFFF and the DWT cycle counter.

Unicorn 2.0.1 in M-class mode handles none of these registers (a probe: every load/store there is
UC_ERR_READ_UNMAPPED; mmio_map over 0xE000E000 works), and it takes no exceptions. So the models
here are registers only: SCB (ARMv7-M ARM B3.2.2 "System control and ID registers"), cache
maintenance (B3.2.2, Cortex-M7 TRM §4.1), NVIC (B3.4), SysTick (B3.3), CoreDebug DEMCR (C1.6.5),
DWT (C1.8). Anything that would take an exception (PENDSVSET, a SysTick interrupt, an MPU region,
AIRCR.VECTCLRACTIVE) stops the run with a message; AIRCR.SYSRESETREQ resets the machine."""
from __future__ import annotations

from .base import MachineApi
from .regs import RegisterBlock, merge

IRQS = 98                      # STM32F74x: 98 maskable interrupt channels (RM0385 §10.1 Table 46)
CPUID_F74X = 0x410FC271        # Cortex-M7 r0p1 (STM32F74x/75x; ES0290 / PM0253 "CPUID")
CCR_RESET = 0x00040200         # Cortex-M7 TRM §4.1 / PM0253: BP (RAO) and STKALIGN set
CCR_DC, CCR_IC, CCR_BP = 1 << 16, 1 << 17, 1 << 18
CCR_WRITABLE = 0x0003031B      # NONBASETHRDENA USERSETMPEND UNALIGN_TRP DIV_0_TRP BFHFNMIGN STKALIGN DC IC
CLIDR = 0x09000003             # Cortex-M7 TRM §4.1: I + D cache at level 1, LoUU = LoC = 1
CTR = 0x8303C003               # Cortex-M7 TRM §4.1: 32-byte lines (DminLine = IminLine = 3)
# CCSIDR for the STM32F74x caches (4 KB I, 4 KB D; RM0385 §1 / §2.1): D 4-way 32 sets of 32 bytes,
# I 2-way 64 sets; write policy bits as the Cortex-M7 TRM lists them (WT|WB|RA|WA for D, RA for I).
CCSIDR_D = 0xF0000000 | (32 - 1) << 13 | (4 - 1) << 3 | 1
CCSIDR_I = 0x20000000 | (64 - 1) << 13 | (2 - 1) << 3 | 1

CACHE_OPS = {0xF50: 'ICIALLU', 0xF58: 'ICIMVAU', 0xF5C: 'DCIMVAC', 0xF60: 'DCISW', 0xF64: 'DCCMVAU',
             0xF68: 'DCCMVAC', 0xF6C: 'DCCSW', 0xF70: 'DCCIMVAC', 0xF74: 'DCCISW', 0xF78: 'BPIALL'}

SYST_CSR, SYST_RVR, SYST_CVR, SYST_CALIB = 0x010, 0x014, 0x018, 0x01C
ICSR, VTOR, AIRCR, SCR, CCR = 0xD04, 0xD08, 0xD0C, 0xD10, 0xD14
SHPR1, SHPR2, SHPR3, SHCSR = 0xD18, 0xD1C, 0xD20, 0xD24
CFSR, HFSR, DFSR, MMFAR, BFAR, AFSR = 0xD28, 0xD2C, 0xD30, 0xD34, 0xD38, 0xD3C
CSSELR, CPACR = 0xD84, 0xD88
MPU_TYPE, MPU_CTRL, MPU_RNR, MPU_RBAR, MPU_RASR = 0xD90, 0xD94, 0xD98, 0xD9C, 0xDA0
DHCSR, DEMCR, STIR = 0xDF0, 0xDFC, 0xF00
FPCCR, FPCAR, FPDSCR = 0xF34, 0xF38, 0xF3C
SHPR_MASK = {SHPR1: 0x00F0F0F0, SHPR2: 0xF0000000, SHPR3: 0xF0F00000}   # 4 priority bits (PM0253)


class Scs(RegisterBlock):
    name = 'scs'
    base = 0xE000E000
    size = 0x1000

    def __init__(self, machine: MachineApi, board: dict) -> None:
        self.board = board
        self.cache_ops: dict[str, int] = {}
        super().__init__(machine)
        entry = board.get('scs_at_entry', {})
        self.vtor = entry.get('VTOR', 0) & 0xFFFFFF80
        self.ccr = (entry.get('CCR', CCR_RESET) & CCR_WRITABLE) | CCR_BP
        for i, word in enumerate(entry.get('ISER', [])):
            self.enabled[i] = word & self._irq_mask(i)
        for i, word in enumerate(entry.get('ISPR', [])):
            self.pending[i] = word & self._irq_mask(i)
        self.ipsr = entry.get('IPSR', 0) & 0x1FF   # for ICSR.VECTACTIVE (the CPU's own IPSR is Unicorn's)

    def reset(self) -> None:
        self.vtor = 0                         # B3.2.5: VTOR resets to 0 (PM0253: 0x0000 0000)
        self.ccr = CCR_RESET
        self.aircr_prigroup = 0
        self.scr = 0
        self.shpr = {SHPR1: 0, SHPR2: 0, SHPR3: 0}
        self.shcsr = 0
        self.cfsr = self.hfsr = self.dfsr = self.mmfar = self.bfar = self.afsr = 0
        self.csselr = 0
        self.cpacr = 0
        self.mpu_ctrl, self.mpu_rnr = 0, 0
        self.mpu_regions = [[0, 0] for _ in range(8)]   # PM0253: 8 MPU regions on the STM32F74x
        self.demcr = 0
        self.fpccr, self.fpcar, self.fpdscr = 0xC0000000, 0, 0
        self.actlr = 0
        self.enabled = [0] * 8
        self.pending = [0] * 8
        self.ipr = bytearray(IRQS)
        self.ipsr = 0
        # SysTick (B3.3.3): CSR 0; RVR and CVR are UNKNOWN at reset (modelled as 0).
        self.syst_csr = self.syst_rvr = 0
        self.syst_cvr = 0
        self.syst_t0 = 0
        self.syst_countflag = False

    @staticmethod
    def _irq_mask(word: int) -> int:
        lo = word * 32
        n = max(0, min(32, IRQS - lo))
        return (1 << n) - 1

    def pending_enabled(self) -> list[int]:
        """IRQ numbers enabled and pending: on a chip each would be taken as soon as PRIMASK allows."""
        return [w * 32 + b for w in range(8) for b in range(32) if (self.enabled[w] & self.pending[w]) >> b & 1]

    def set_pending(self, irq: int) -> None:
        """A peripheral raises its interrupt line (B3.4.1): the IRQ becomes pending."""
        self.pending[irq // 32] |= 1 << (irq % 32)

    # --- SysTick --------------------------------------------------------------------------------
    def _syst_hz(self) -> int:
        hclk = self.m.peripheral('rcc').hclk_hz()  # type: ignore[attr-defined]
        # B3.3.3 CLKSOURCE: 1 processor clock, 0 the external reference: HCLK/8 on the STM32F7
        # (RM0385 §5.2 "The RCC feeds the external clock of the Cortex System Timer with HCLK / 8").
        return hclk if self.syst_csr & 4 else hclk // 8

    def _syst_sync(self) -> None:
        """Bring CVR up to now at the current clock (the RCC calls it before the clock changes)."""
        now = self.m.now_ns
        if not self.syst_csr & 1:
            self.syst_t0 = now
            return
        hz = self._syst_hz()
        ticks = int((now - self.syst_t0) * hz // 1_000_000_000)
        if ticks == 0:
            return
        self.syst_t0 += ticks * 1_000_000_000 // hz if hz else now - self.syst_t0
        cvr, rvr = self.syst_cvr, self.syst_rvr
        if ticks < cvr:
            self.syst_cvr = cvr - ticks
            return
        # Reached 0 (B3.3.1: COUNTFLAG set when the counter goes from 1 to 0), then reloads from RVR on
        # the next tick; RVR = 0 stops it at 0.
        if cvr > 0:
            self.syst_countflag = True
        left = ticks - cvr
        if rvr == 0:
            self.syst_cvr = 0
            return
        if left > 0:
            period = rvr + 1
            pos = (left - 1) % period
            self.syst_cvr = rvr - pos
            if left - 1 >= rvr:
                self.syst_countflag = True

    # --- registers ------------------------------------------------------------------------------
    def read_reg(self, offset: int) -> int | None:
        if offset == 0x004:
            return 3                                   # B3.4.3 ICTR: INTLINESNUM = 3 (≤ 128 IRQs)
        if offset == 0x008:
            return self.actlr
        if offset == SYST_CSR:
            self._syst_sync()
            value = self.syst_csr | (self.syst_countflag << 16)
            self.syst_countflag = False                # B3.3.3: COUNTFLAG clears on read
            return value
        if offset == SYST_RVR:
            return self.syst_rvr
        if offset == SYST_CVR:
            self._syst_sync()
            return self.syst_cvr
        if offset == SYST_CALIB:
            # B3.3.6: NOREF 0 (the HCLK/8 reference exists), SKEW 1, TENMS 0 = "not known" — the
            # STM32F7's own TENMS value is not verified here, so none is claimed (board['systick_calib']).
            return int(self.board.get('systick_calib', 0x40000000))
        if 0x100 <= offset < 0x120 or 0x180 <= offset < 0x1A0:
            return self.enabled[(offset & 0x1F) >> 2]
        if 0x200 <= offset < 0x220 or 0x280 <= offset < 0x2A0:
            return self.pending[(offset & 0x1F) >> 2]
        if 0x300 <= offset < 0x320:
            return 0                                   # IABR: no interrupt is active in the emulator
        if 0x400 <= offset < 0x4F0:
            i = offset - 0x400
            return int.from_bytes(bytes(self.ipr[i:i + 4]).ljust(4, b'\0'), 'little')
        if offset == 0xD00:
            return int(self.board.get('cpuid', CPUID_F74X))
        if offset == ICSR:
            pend = self.pending_enabled()
            # B3.2.4: VECTPENDING (20:12), ISRPENDING (22), VECTACTIVE (8:0); RETTOBASE left 0.
            vectpending = (min(pend) + 16) if pend else 0
            isrpending = any(self.pending[w] for w in range(8))
            return self.ipsr | (vectpending << 12) | (isrpending << 22)
        if offset == VTOR:
            return self.vtor
        if offset == AIRCR:
            return 0xFA050000 | self.aircr_prigroup << 8   # B3.2.6: VECTKEYSTAT reads 0xFA05
        if offset == SCR:
            return self.scr
        if offset == CCR:
            return self.ccr
        if offset in SHPR_MASK:
            return self.shpr[offset]
        if offset == SHCSR:
            return self.shcsr
        values = {CFSR: self.cfsr, HFSR: self.hfsr, DFSR: self.dfsr, MMFAR: self.mmfar, BFAR: self.bfar,
                  AFSR: self.afsr, 0xD78: CLIDR, 0xD7C: CTR, CSSELR: self.csselr, CPACR: self.cpacr,
                  MPU_TYPE: 8 << 8, MPU_CTRL: self.mpu_ctrl, MPU_RNR: self.mpu_rnr,
                  DHCSR: 0,            # C1.6.2: no debugger attached, C_DEBUGEN = 0
                  DEMCR: self.demcr, FPCCR: self.fpccr, FPCAR: self.fpcar, FPDSCR: self.fpdscr}
        if offset in values:
            return values[offset]
        if offset == 0xD80:
            # B4.8.3 CCSIDR for the cache CSSELR selects (level 1 only).
            return CCSIDR_I if self.csselr & 1 else CCSIDR_D
        if offset in (MPU_RBAR, MPU_RASR):
            region = self.mpu_regions[self.mpu_rnr]
            return (region[0] | self.mpu_rnr) if offset == MPU_RBAR else region[1]
        if offset in CACHE_OPS or offset == STIR:
            self.m.fault(f'SCS: read of the write-only {CACHE_OPS.get(offset, "STIR")} at '
                         f'0x{self.base + offset:08X} (ARMv7-M B3.2.2: WO, the value read is UNKNOWN)')
            return 0
        return None

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        v = value & mask
        if offset == 0x008:
            self.actlr = merge(self.actlr, value, mask, 0x0000FFFF)  # Cortex-M7 TRM §4.1 ACTLR (stored)
            return True
        if offset == SYST_CSR:
            self._syst_sync()
            self.syst_csr = merge(self.syst_csr, value, mask, 0x7)
            if self.syst_csr & 3 == 3:
                self.m.fault('SysTick: TICKINT with ENABLE would take the SysTick exception, which the '
                             'emulated core cannot (no exception entry in Unicorn); poll COUNTFLAG instead')
            self.syst_t0 = self.m.now_ns
            return True
        if offset == SYST_RVR:
            self.syst_rvr = merge(self.syst_rvr, value, mask, 0x00FFFFFF)
            return True
        if offset == SYST_CALIB:
            return True                           # read-only
        if offset == SYST_CVR:
            self._syst_sync()
            self.syst_cvr = 0                     # B3.3.5: any write clears CVR and COUNTFLAG
            self.syst_countflag = False
            self.syst_t0 = self.m.now_ns
            return True
        if 0x100 <= offset < 0x120:
            w = (offset - 0x100) >> 2
            self.enabled[w] |= v & self._irq_mask(w)        # B3.4.4 ISER: write 1 enables
            self._check_takeable()
            return True
        if 0x180 <= offset < 0x1A0:
            self.enabled[(offset - 0x180) >> 2] &= ~v       # B3.4.5 ICER: write 1 disables
            return True
        if 0x200 <= offset < 0x220:
            w = (offset - 0x200) >> 2
            self.pending[w] |= v & self._irq_mask(w)        # B3.4.6 ISPR
            self._check_takeable()
            return True
        if 0x280 <= offset < 0x2A0:
            self.pending[(offset - 0x280) >> 2] &= ~v       # B3.4.7 ICPR
            return True
        if 0x300 <= offset < 0x320:
            return True                                     # IABR is read-only
        if 0x400 <= offset < 0x4F0:
            for lane in range(4):
                i = offset - 0x400 + lane
                if mask >> (8 * lane) & 0xFF and i < IRQS:
                    self.ipr[i] = (value >> (8 * lane)) & 0xF0  # 4 implemented bits, [7:4]
            return True
        if offset == 0xD00:
            return True                                     # CPUID read-only
        if offset == ICSR:
            if v & (1 << 31 | 1 << 28 | 1 << 26):
                self.m.fault('SCB: ICSR NMIPENDSET/PENDSVSET/PENDSTSET would take an exception, which '
                             'the emulated core cannot (B3.2.4)')
            return True                                     # PENDSVCLR / PENDSTCLR: nothing pending
        if offset == VTOR:
            self.vtor = merge(self.vtor, value, mask, 0xFFFFFF80)   # B3.2.5 TBLOFF [31:7]
            return True
        if offset == AIRCR:
            if mask != 0xFFFFFFFF or (value >> 16) != 0x05FA:
                # B3.2.6: a write without VECTKEY = 0x05FA is ignored.
                self.m.log(f'SCB: AIRCR write 0x{value:08X} ignored (VECTKEY must be 0x05FA; B3.2.6)')
                return True
            if value & 2:
                self.m.fault('SCB: AIRCR.VECTCLRACTIVE outside Debug state is UNPREDICTABLE (B3.2.6)')
            self.aircr_prigroup = (value >> 8) & 7
            if value & 4:
                try:
                    self.m.peripheral('rcc').note_reset('SFT')  # type: ignore[attr-defined]
                except KeyError:
                    pass
                self.m.system_reset('SYSRESETREQ')
            return True
        if offset == SCR:
            self.scr = merge(self.scr, value, mask, 0x16)
            return True
        if offset == CCR:
            old = self.ccr
            self.ccr = merge(self.ccr, value, mask, CCR_WRITABLE) | CCR_BP
            for bit, what in ((CCR_DC, 'D-cache'), (CCR_IC, 'I-cache')):
                if (old ^ self.ccr) & bit:
                    self.m.log(f'SCB: {what} {"on" if self.ccr & bit else "off"} (CCR, Cortex-M7 TRM §4.1)')
            return True
        if offset in SHPR_MASK:
            self.shpr[offset] = merge(self.shpr[offset], value, mask, SHPR_MASK[offset])
            return True
        if offset == SHCSR:
            self.shcsr = merge(self.shcsr, value, mask, 0x00070000)   # B3.2.13 fault enables
            return True
        if offset in (CFSR, HFSR, DFSR):
            attr = {CFSR: 'cfsr', HFSR: 'hfsr', DFSR: 'dfsr'}[offset]
            setattr(self, attr, getattr(self, attr) & ~v)            # B3.2.15–17: write 1 to clear
            return True
        if offset in (MMFAR, BFAR, AFSR):
            attr = {MMFAR: 'mmfar', BFAR: 'bfar', AFSR: 'afsr'}[offset]
            setattr(self, attr, merge(getattr(self, attr), value, mask, 0xFFFFFFFF))
            return True
        if offset in (0xD78, 0xD7C, 0xD80, MPU_TYPE, DHCSR):
            if offset == DHCSR:
                # C1.6.2: writes need DBGKEY 0xA05F and C_DEBUGEN is set only by a debugger.
                self.m.log('SCB: DHCSR write ignored (no debugger; C1.6.2)')
            return True                                      # read-only ID registers
        if offset == CSSELR:
            self.csselr = merge(self.csselr, value, mask, 0x1)   # level 1 only (B4.8.4)
            return True
        if offset == CPACR:
            self.cpacr = merge(self.cpacr, value, mask, 0x00F00000)  # B3.2.20 CP10/CP11
            return True
        if offset == MPU_CTRL:
            self.mpu_ctrl = merge(self.mpu_ctrl, value, mask, 0x7)
            if self.mpu_ctrl & 1:
                self.m.fault('MPU: CTRL.ENABLE = 1 — memory protection is not emulated (B3.5)')
            return True
        if offset == MPU_RNR:
            self.mpu_rnr = merge(self.mpu_rnr, value, mask, 0xFF)
            if self.mpu_rnr >= 8:
                self.m.fault(f'MPU: RNR = {self.mpu_rnr} but the STM32F74x has 8 regions (B3.5.6: UNPREDICTABLE)')
            return True
        if offset == MPU_RBAR:
            if v & 0x10:                                 # B3.5.7 VALID: also selects the region
                self.mpu_rnr = v & 0xF
            self.mpu_regions[self.mpu_rnr & 7][0] = v & 0xFFFFFFE0
            return True
        if offset == MPU_RASR:
            self.mpu_regions[self.mpu_rnr & 7][1] = merge(self.mpu_regions[self.mpu_rnr & 7][1], value, mask,
                                                          0x173F003F)
            return True
        if offset == DEMCR:
            try:
                self.m.peripheral('dwt')._sync()   # type: ignore[attr-defined] # count up to now first
            except KeyError:
                pass
            self.demcr = merge(self.demcr, value, mask, 0x010F07F1)   # C1.6.5
            return True
        if offset == STIR:
            irq = v & 0x1FF                                   # B3.4.8: software trigger, pends the IRQ
            if irq < IRQS:
                self.set_pending(irq)
                self._check_takeable()
            return True
        if offset in (FPCCR, FPCAR, FPDSCR):
            attr = {FPCCR: 'fpccr', FPCAR: 'fpcar', FPDSCR: 'fpdscr'}[offset]
            writable = {FPCCR: 0xC0000000, FPCAR: 0xFFFFFFF8, FPDSCR: 0x07C00000}[offset]
            setattr(self, attr, merge(getattr(self, attr), value, mask, writable))
            return True
        if offset in CACHE_OPS:
            op = CACHE_OPS[offset]
            self.cache_ops[op] = self.cache_ops.get(op, 0) + 1   # no cache contents are modelled
            return True
        return False

    def _check_takeable(self) -> None:
        # An enabled IRQ that becomes pending would be taken unless PRIMASK/BASEPRI mask it. The
        # emulated core has no exception entry; the machine decides (it knows PRIMASK) — logged here.
        pend = self.pending_enabled()
        if pend:
            self.m.log(f'NVIC: IRQ {pend[0]} enabled and pending (taken on a chip once unmasked)')


class Dwt(RegisterBlock):
    """DWT (ARMv7-M C1.8): CTRL and the cycle counter, which counts modelled core cycles while
    DEMCR.TRCENA and CTRL.CYCCNTENA are set. The Cortex-M7's DWT implements the CoreSight software
    lock (Cortex-M7 TRM, DWT register summary: LAR/LSR; CoreSight Architecture Specification "Lock
    Access Register"): writes are ignored until 0xC5ACCE55 is written to LAR."""

    name = 'dwt'
    base = 0xE0001000
    size = 0x1000
    access_sizes = (4,)

    def __init__(self, machine: MachineApi, board: dict) -> None:
        super().__init__(machine)

    def reset(self) -> None:
        self.ctrl = 0x40000000          # NUMCOMP = 4 (Cortex-M7 TRM §C.2)
        self.cyccnt = 0
        self.locked = True
        self.t0 = self.m.now_ns
        self.frac = 0

    def _counting(self) -> bool:
        scs = self.m.peripheral('scs')
        return bool(self.ctrl & 1 and scs.demcr & (1 << 24))  # type: ignore[attr-defined]

    def _sync(self) -> None:
        now = self.m.now_ns
        if self._counting():
            hz = self.m.peripheral('rcc').hclk_hz()  # type: ignore[attr-defined]
            total = (now - self.t0) * hz + self.frac
            self.cyccnt = (self.cyccnt + total // 1_000_000_000) & 0xFFFFFFFF
            self.frac = total % 1_000_000_000
        self.t0 = now

    def read_reg(self, offset: int) -> int | None:
        if offset == 0x000:
            return self.ctrl
        if offset == 0x004:
            self._sync()
            return self.cyccnt
        if offset == 0xFB4:
            return 0x1 | (self.locked << 1)        # LSR: SLI = 1 (lock implemented), SLK
        return None

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        if offset == 0xFB0:
            self.locked = value != 0xC5ACCE55
            return True
        if offset not in (0x000, 0x004):
            return False
        if self.locked:
            self.m.log('DWT: write ignored while the software lock is set (write 0xC5ACCE55 to DWT_LAR)')
            return True
        self._sync()
        if offset == 0x000:
            self.ctrl = merge(self.ctrl, value, mask, 0x007F1FFF)
        else:
            self.cyccnt = merge(self.cyccnt, value, mask, 0xFFFFFFFF)
        return True
