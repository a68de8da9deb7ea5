"""PWR — power controller of the STM32F74x/75x (RM0385 §4): the regulator voltage scale (VOS), the
over-drive sequence (ODEN → ODRDY, ODSWEN → ODSWRDY) that 216 MHz needs, and backup-domain access
(DBP). `max_hclk_hz()` tells the RCC model the highest HCLK the current state allows."""
from __future__ import annotations

from .base import MachineApi
from .regs import RegisterBlock, merge

CR1, CSR1, CR2, CSR2 = 0x00, 0x04, 0x08, 0x0C

# Over-drive ready times: the RM gives none. STM32F746xx datasheet DS10916 "Over-drive switching"
# quotes tOD_swen / tOD_ready of tens of µs; assumed 50 µs each (unverified).
T_ODRDY_NS = 50_000
T_ODSWRDY_NS = 50_000
# Regulator scale change after the PLL starts (VOSRDY): assumed within the PLL lock time.
T_VOSRDY_NS = 20_000

CR1_DBP, CR1_ODEN, CR1_ODSWEN = 1 << 8, 1 << 16, 1 << 17
CR1_WRITABLE = 0x000FEFF3  # §4.4.1: LPDS PDDS PVDE PLS DBP FPDS LPUDS MRUDS ADCDC1 VOS ODEN ODSWEN UDEN


class Pwr(RegisterBlock):
    name = 'pwr'
    base = 0x40007000
    size = 0x400
    access_sizes = (1, 2, 4)   # RM0385 §4.4: byte, half-word and word accesses (assumed, as §5.3 RCC)

    def __init__(self, machine: MachineApi, board: dict) -> None:
        self.board = board
        super().__init__(machine)

    def reset(self) -> None:
        self.warned = False
        self.cr1 = 0x0000C000          # §4.4.1 reset value: VOS = 11 (scale 1)
        self.cr2 = 0
        self.csr2 = 0
        self.csr1_rw = 0   # §4.4.2 EIWUP (bit 8), BRE (bit 9)
        self.od_at: int | None = None
        self.odsw_at: int | None = None

    def _rcc(self):  # noqa: ANN202
        return self.m.peripheral('rcc')

    def dbp(self) -> bool:
        return bool(self.cr1 & CR1_DBP)

    def odrdy(self) -> bool:
        return self.od_at is not None and self.m.now_ns >= self.od_at + T_ODRDY_NS

    def odswrdy(self) -> bool:
        return self.odsw_at is not None and self.m.now_ns >= self.odsw_at + T_ODSWRDY_NS

    def vosrdy(self) -> bool:
        # §4.4.1 VOS: "the new value programmed is active only when the PLL is ON. When the PLL is OFF,
        # the voltage regulator is set to Scale 3"; §4.4.2 VOSRDY: set when the scale is reached.
        rcc = self._rcc()
        return bool(rcc.pllon and rcc._ready('pll'))

    def max_hclk_hz(self) -> int:
        """RM0385 §4.1.4 and DS10916 operating conditions: scale 1 180 MHz (216 with over-drive),
        scale 2 168 MHz (180 with over-drive), scale 3 144 MHz. With the PLL off the regulator is in
        scale 3, but then SYSCLK is at most the 16/25 MHz oscillators anyway."""
        vos = self.cr1 >> 14 & 3
        od = self.odswrdy()
        return {3: 216_000_000 if od else 180_000_000, 2: 180_000_000 if od else 168_000_000}.get(
            vos, 144_000_000)

    def read_reg(self, offset: int) -> int | None:
        if not self._clocked():
            return 0
        if offset == CR1:
            return self.cr1
        if offset == CSR1:
            return self.csr1_rw | (self.vosrdy() << 14) | (self.odrdy() << 16) | (self.odswrdy() << 17)
        if offset == CR2:
            return self.cr2
        if offset == CSR2:
            return self.csr2
        return None

    def _clocked(self) -> bool:
        # RM0385 §5.3.13: PWREN gates the PWR interface clock; without it writes are lost, reads give 0.
        if self._rcc().accessible('pwr'):
            return True
        if not self.warned:
            self.warned = True
            self.m.log('PWR: access while RCC_APB1ENR.PWREN = 0 (the interface is not clocked; RM0385 §5.3.13)')
        return False

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        if offset not in (CR1, CSR1, CR2, CSR2):
            return False
        if not self._clocked():
            return True
        now = self.m.now_ns
        if offset == CR1:
            old = self.cr1
            new = merge(old, value, mask, CR1_WRITABLE)
            rcc = self._rcc()
            if (new ^ old) & 0xC000 and rcc.pllon:
                # §4.4.1 VOS: "These bits can be modified only when the PLL is OFF" — the write is lost.
                self.m.log('PWR: CR1.VOS change ignored while the PLL is on (RM0385 §4.4.1)')
                new = (new & ~0xC000) | (old & 0xC000)
            if (new ^ old) & CR1_ODSWEN and rcc.sws == 2:
                # §4.1.4 "Entering Over-drive mode": the over-drive switch happens while HSI or HSE
                # clocks the system; switching it under the PLL is not a documented sequence.
                self.m.fault('PWR: ODSWEN changed while SYSCLK is the PLL (RM0385 §4.1.4: switch '
                             'over-drive while HSI or HSE is the system clock)')
            if new & CR1_ODSWEN and not old & CR1_ODSWEN and not self.odrdy():
                self.m.fault('PWR: ODSWEN set before ODRDY (RM0385 §4.1.4: set ODEN, wait for ODRDY, '
                             'then set ODSWEN)')
            if new & CR1_ODEN and not old & CR1_ODEN:
                self.od_at = now
            if not new & CR1_ODEN:
                # §4.4.1: clearing ODEN leaves over-drive (and its switch) at once.
                self.od_at = None
                new &= ~CR1_ODSWEN
            if new & CR1_ODSWEN and not old & CR1_ODSWEN:
                self.odsw_at = now
            if not new & CR1_ODSWEN:
                self.odsw_at = None
            self.cr1 = new
            return True
        if offset == CR2:
            self.cr2 = merge(self.cr2, value, mask, 0x3F3F)   # §4.4.3 wakeup pin enables / polarity
            return True
        if offset == CSR2:
            self.csr2 &= ~(value & mask & 0x3F)   # §4.4.4 wake-up flags: written via CR2 CWUPFx; modelled as cleared
            return True
        self.csr1_rw = merge(self.csr1_rw, value, mask, 0x300)   # CSR1: other bits read-only (§4.4.2)
        return True
