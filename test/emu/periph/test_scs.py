"""Cortex-M7 System Control Space and DWT models (bbemu/periph/scs.py) against the ARMv7-M ARM."""
import unittest

from fake_machine import Fault, Reset, Unmodelled, board_machine, r32, w32

SYST_CSR, SYST_RVR, SYST_CVR = 0x10, 0x14, 0x18
ICSR, VTOR, AIRCR, CCR, DEMCR = 0xD04, 0xD08, 0xD0C, 0xD14, 0xDFC


class ScsTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine()
        self.s, self.dwt, self.rcc = self.m.models['scs'], self.m.models['dwt'], self.m.models['rcc']

    def test_cpuid_cortex_m7(self):
        # B3.2.3 CPUID: implementer 0x41, part 0xC27 (Cortex-M7).
        self.assertEqual(r32(self.s, 0xD00) >> 4 & 0xFFF, 0xC27)

    def test_vtor_keeps_bits_31_7(self):
        # B3.2.5 VTOR.TBLOFF.
        w32(self.s, VTOR, 0x200100FF)
        self.assertEqual(r32(self.s, VTOR), 0x20010080)

    def test_aircr_needs_vectkey(self):
        # B3.2.6: writes without VECTKEY 0x05FA are ignored.
        w32(self.s, AIRCR, 0x00000004)
        self.assertEqual(self.m.resets, [])
        self.assertEqual(r32(self.s, AIRCR) >> 16, 0xFA05)

    def test_sysresetreq_resets_and_sets_sftrstf(self):
        # B3.2.6 SYSRESETREQ; RM0385 §5.3.21 SFTRSTF.
        with self.assertRaises(Reset):
            w32(self.s, AIRCR, 0x05FA0004)
        self.assertEqual(self.m.resets, ['SYSRESETREQ'])
        self.assertTrue(r32(self.rcc, 0x74) & 1 << 28)

    def test_ccr_reset_and_cache_enable_bits(self):
        # Cortex-M7 TRM: CCR reset 0x00040200 (BP, STKALIGN); DC bit 16, IC bit 17.
        self.assertEqual(r32(self.s, CCR), 0x00040200)
        w32(self.s, CCR, 0x00030200)
        self.assertEqual(r32(self.s, CCR), 0x00070200)

    def test_cache_maintenance_ops_are_counted_and_write_only(self):
        w32(self.s, 0xF50, 0)          # ICIALLU
        w32(self.s, 0xF74, 0)          # DCCISW
        self.assertEqual(self.s.cache_ops, {'ICIALLU': 1, 'DCCISW': 1})
        with self.assertRaises(Fault):
            r32(self.s, 0xF50)

    def test_nvic_enable_clear_pending(self):
        # B3.4.4–B3.4.7: ISER/ICER set/clear enables, ISPR/ICPR pending; bits past IRQ 97 RAZ/WI.
        w32(self.s, 0x100, 0xFFFFFFFF)
        w32(self.s, 0x10C, 0xFFFFFFFF)
        self.assertEqual(r32(self.s, 0x10C), 0x3)
        w32(self.s, 0x180, 0x1)
        self.assertEqual(r32(self.s, 0x100), 0xFFFFFFFE)
        self.s.set_pending(67)          # OTG_FS
        self.assertEqual(r32(self.s, 0x208), 1 << 3)
        self.assertTrue(r32(self.s, ICSR) & 1 << 22)
        w32(self.s, 0x288, 1 << 3)
        self.assertEqual(r32(self.s, 0x208), 0)

    def test_nvic_priority_four_bits(self):
        w32(self.s, 0x400, 0xFFFFFFFF)
        self.assertEqual(r32(self.s, 0x400), 0xF0F0F0F0)

    def test_entry_state_from_board(self):
        m = board_machine({'scs_at_entry': {'VTOR': 0x1FF00000, 'ISER': [0, 0, 1 << 3]}})
        s = m.models['scs']
        self.assertEqual(r32(s, VTOR), 0x1FF00000)
        self.assertEqual(r32(s, 0x108), 1 << 3)

    def test_systick_counts_processor_clock_and_countflag(self):
        # B3.3: CVR counts down at the processor clock (CLKSOURCE = 1), reloads from RVR,
        # COUNTFLAG set on reaching 0 and cleared by reading CSR.
        w32(self.s, SYST_RVR, 15_999)
        w32(self.s, SYST_CVR, 0)
        w32(self.s, SYST_CSR, 0b101)
        self.m.now_ns += 500_000                 # 0.5 ms at 16 MHz = 8000 ticks
        cvr = r32(self.s, SYST_CVR)
        self.assertTrue(15_999 - 8000 - 2 <= cvr <= 15_999 - 8000 + 2, cvr)
        self.assertFalse(r32(self.s, SYST_CSR) & 1 << 16, 'the load from 0 is not a count to 0')
        self.m.now_ns += 1_000_000
        self.assertTrue(r32(self.s, SYST_CSR) & 1 << 16)
        self.assertFalse(r32(self.s, SYST_CSR) & 1 << 16, 'cleared by the read')

    def test_systick_external_clock_is_hclk_div_8(self):
        # RM0385 §5.2: the SysTick external clock is HCLK / 8.
        w32(self.s, SYST_RVR, 0xFFFFFF)
        w32(self.s, SYST_CVR, 0)
        w32(self.s, SYST_CSR, 0b001)
        self.m.now_ns += 1_000_000
        r32(self.s, SYST_CVR)
        self.m.now_ns += 1_000_000               # 2000 ticks at 2 MHz
        self.assertEqual(r32(self.s, SYST_CVR), 0xFFFFFF - 2000 - 1999 - 1 + 1)

    def test_systick_calib_claims_no_tenms(self):
        # B3.3.6 CALIB: reference clock present, TENMS 0 = not known (the F7 value is unverified).
        self.assertEqual(r32(self.s, 0x1C), 0x40000000)

    def test_systick_interrupt_cannot_be_emulated(self):
        with self.assertRaises(Fault):
            w32(self.s, SYST_CSR, 0b111)

    def test_pendsvset_cannot_be_emulated(self):
        with self.assertRaises(Fault):
            w32(self.s, ICSR, 1 << 28)

    def test_mpu_enable_stops(self):
        self.assertEqual(r32(self.s, 0xD90), 8 << 8)
        with self.assertRaises(Fault):
            w32(self.s, 0xD94, 1)

    def test_dwt_cyccnt_needs_trcena_unlock_and_enable(self):
        # C1.8: CYCCNT counts with DEMCR.TRCENA and CTRL.CYCCNTENA; the M7 DWT software lock.
        w32(self.s, DEMCR, 1 << 24)
        w32(self.dwt, 0x000, 1)
        self.assertEqual(r32(self.dwt, 0x000) & 1, 0, 'locked: the write is ignored')
        self.assertEqual(r32(self.dwt, 0xFB4), 3)
        w32(self.dwt, 0xFB0, 0xC5ACCE55)
        w32(self.dwt, 0x004, 0)
        w32(self.dwt, 0x000, 1)
        self.m.now_ns += 1_000_000               # 1 ms at 16 MHz
        self.assertEqual(r32(self.dwt, 0x004), 16_000)

    def test_dwt_counts_at_the_new_clock_after_a_switch(self):
        w32(self.s, DEMCR, 1 << 24)
        w32(self.dwt, 0xFB0, 0xC5ACCE55)
        w32(self.dwt, 0x000, 1)
        self.m.now_ns += 1_000_000
        w32(self.rcc, 0x08, 0b1000 << 4)        # HCLK = 8 MHz
        self.m.now_ns += 1_000_000
        self.assertEqual(r32(self.dwt, 0x004), 16_000 + 8_000)

    def test_cache_geometry_by_csselr(self):
        # B4.8.3/B4.8.4: CCSIDR describes the cache CSSELR selects (STM32F74x: 4 KB D, 4 KB I).
        w32(self.s, 0xD84, 0)
        d = r32(self.s, 0xD80)
        self.assertEqual(((d >> 13 & 0x7FFF) + 1) * ((d >> 3 & 0x3FF) + 1) * (16 << (d & 7)), 4096)
        w32(self.s, 0xD84, 1)
        i = r32(self.s, 0xD80)
        self.assertEqual(((i >> 13 & 0x7FFF) + 1) * ((i >> 3 & 0x3FF) + 1) * (16 << (i & 7)), 4096)

    def test_cpacr_keeps_cp10_cp11(self):
        # B3.2.20 CPACR: only CP10/CP11 are implemented.
        w32(self.s, 0xD88, 0xFFFFFFFF)
        self.assertEqual(r32(self.s, 0xD88), 0x00F00000)

    def test_unimplemented_scs_register_is_unmodelled(self):
        with self.assertRaises(Unmodelled):
            r32(self.s, 0xD40)     # ID_PFR0: not modelled


if __name__ == '__main__':
    unittest.main()
