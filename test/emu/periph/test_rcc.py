"""RCC model (bbemu/periph/rcc.py) against RM0385 §5."""
import unittest

from fake_machine import Fault, board_machine, r32, w32

CR, PLLCFGR, CFGR, CIR, AHB1RSTR, AHB1ENR, APB1ENR, BDCR, CSR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x30, 0x40, 0x70, 0x74
HSERDY, PLLRDY = 1 << 17, 1 << 25


def pll_216(rcc, src_hse=True):
    # ST's DFU example for the board: HSE 25 MHz / M 25 × N 432 / P 2 = 216 MHz, Q 9 = 48 MHz.
    w32(rcc, PLLCFGR, 25 | 432 << 6 | 0 << 16 | (1 << 22 if src_hse else 0) | 9 << 24)


class RccTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine()
        self.rcc = self.m.models['rcc']

    def test_reset_values_hsi_on_and_ready_sysclk_16mhz(self):
        # §5.3.1 CR reset 0x0000XX83, §5.3.2 PLLCFGR 0x24003010, §5.2.2 HSI 16 MHz after reset.
        self.assertEqual(r32(self.rcc, CR) & 0xFF, 0x83)
        self.assertEqual(r32(self.rcc, PLLCFGR), 0x24003010)
        self.assertEqual(self.rcc.sysclk_hz(), 16_000_000)
        self.assertEqual(r32(self.rcc, AHB1ENR), 0x00100000)

    def test_hse_ready_only_after_its_startup_time(self):
        # §5.2.1 / §5.3.1 HSERDY: set by hardware once the oscillator is stable (DS10916 tsu 2 ms).
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16)
        self.m.advance(1_000_000)
        self.assertFalse(r32(self.rcc, CR) & HSERDY)
        self.m.advance(1_500_000)
        self.assertTrue(r32(self.rcc, CR) & HSERDY)

    def test_hse_crystal_never_ready_in_bypass_mode(self):
        # §5.2.1: a crystal needs the oscillator (HSEBYP = 0); in bypass nothing drives OSC_IN.
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 18)
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16)
        self.m.advance(10_000_000)
        self.assertFalse(r32(self.rcc, CR) & HSERDY)

    def test_hse_bypass_board_ready_only_with_hsebyp(self):
        m = board_machine({'hse_mode': 'bypass'})
        rcc = m.models['rcc']
        w32(rcc, CR, r32(rcc, CR) | 1 << 16)
        m.advance(10_000_000)
        self.assertFalse(r32(rcc, CR) & HSERDY)
        w32(rcc, CR, r32(rcc, CR) & ~(1 << 16))
        w32(rcc, CR, r32(rcc, CR) | 1 << 18)
        w32(rcc, CR, r32(rcc, CR) | 1 << 16)
        m.advance(10_000)
        self.assertTrue(r32(rcc, CR) & HSERDY)

    def test_board_without_hse_never_ready(self):
        m = board_machine({'hse_mode': None})
        rcc = m.models['rcc']
        w32(rcc, CR, r32(rcc, CR) | 1 << 16)
        m.advance(50_000_000)
        self.assertFalse(r32(rcc, CR) & HSERDY)
        self.assertEqual(rcc.hse_hz(), 0)

    def test_hsebyp_ignored_while_hse_on(self):
        # §5.3.1 HSEBYP "can be written only if the HSE oscillator is disabled".
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16)
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 18)
        self.assertFalse(r32(self.rcc, CR) & 1 << 18)

    def test_pll_locks_after_source_and_gives_216_and_48_mhz(self):
        # §5.2.3 PLL; §5.3.2 f(VCO) = f(in) × N / M, P and Q outputs.
        pll_216(self.rcc)
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16 | 1 << 24)
        self.m.advance(1_000_000)
        self.assertFalse(r32(self.rcc, CR) & PLLRDY, 'PLL cannot lock before HSE is stable')
        self.m.advance(2_000_000)
        self.assertTrue(r32(self.rcc, CR) & PLLRDY)
        self.assertEqual(self.rcc.pll_p_hz(), 216_000_000)
        self.assertEqual(self.rcc.clk48_hz(), 48_000_000)

    def test_sw_switch_waits_for_ready_source(self):
        # §5.3.3 SW/SWS: SWS follows SW only once the selected source is ready.
        w32(self.rcc, CFGR, 1)
        self.assertEqual(r32(self.rcc, CFGR) >> 2 & 3, 0)
        self.assertEqual(self.rcc.sysclk_hz(), 16_000_000)
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16)
        self.m.advance(3_000_000)
        self.assertEqual(r32(self.rcc, CFGR) >> 2 & 3, 1)
        self.assertEqual(self.rcc.sysclk_hz(), 25_000_000)

    def test_hse_cannot_be_stopped_while_it_clocks_the_system(self):
        # §5.3.1 HSEON "cannot be reset if the HSE oscillator is used directly or indirectly".
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16)
        self.m.advance(3_000_000)
        w32(self.rcc, CFGR, 1)
        self.rcc.sysclk_hz()
        w32(self.rcc, CR, r32(self.rcc, CR) & ~(1 << 16))
        self.assertTrue(r32(self.rcc, CR) & 1 << 16)

    def test_pllcfgr_change_while_pll_on_stops(self):
        # §5.3.2: configure the PLL only while it is disabled.
        pll_216(self.rcc, src_hse=False)
        w32(self.rcc, PLLCFGR, 16 | 432 << 6 | 9 << 24 | 2 << 16)
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 24)
        with self.assertRaises(Fault):
            w32(self.rcc, PLLCFGR, 16 | 400 << 6 | 9 << 24 | 2 << 16)

    def test_pll_with_vco_input_out_of_range_stops(self):
        # §5.3.2 PLLM: VCO input must be 1–2 MHz (DS: 0.95–2.1).
        w32(self.rcc, PLLCFGR, 4 | 200 << 6 | 9 << 24)
        with self.assertRaises(Fault):
            w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 24)

    def test_216mhz_without_overdrive_stops(self):
        # RM0385 §4.1.4: above 180 MHz the over-drive must be on.
        pll_216(self.rcc)
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16 | 1 << 24)
        self.m.advance(3_000_000)
        w32(self.rcc, CFGR, 5 << 10 | 4 << 13)
        with self.assertRaises(Fault) as ctx:
            w32(self.rcc, CFGR, 5 << 10 | 4 << 13 | 2)
        self.assertIn('over-drive', ctx.exception.args[0])

    def test_apb_prescalers_and_timer_clocks(self):
        # §5.3.3 PPRE1/PPRE2; §5.2 timer clocks ×2 when the APB is divided (TIMPRE = 0).
        w32(self.rcc, CFGR, 0b1000 << 4 | 5 << 10 | 4 << 13)   # HCLK /2, APB1 /4, APB2 /2
        self.assertEqual(self.rcc.hclk_hz(), 8_000_000)
        self.assertEqual(self.rcc.pclk1_hz(), 2_000_000)
        self.assertEqual(self.rcc.pclk2_hz(), 4_000_000)
        self.assertEqual(self.rcc.apb2_timer_hz(), 8_000_000)
        self.assertEqual(self.rcc.apb1_timer_hz(), 4_000_000)

    def test_sw_11_not_allowed(self):
        with self.assertRaises(Fault):
            w32(self.rcc, CFGR, 3)

    def test_enable_bits_gate_peripherals(self):
        # §5.3.10 AHB1ENR GPIOxEN; reserved bits read 0.
        self.assertFalse(self.rcc.enabled('gpioi'))
        w32(self.rcc, AHB1ENR, 0xFFFFFFFF)
        self.assertTrue(self.rcc.enabled('gpioi'))
        self.assertEqual(r32(self.rcc, AHB1ENR), 0x7EF417FF)

    def test_reset_bit_resets_the_peripheral_model(self):
        # §5.3.5 AHB1RSTR: a set bit holds the peripheral in reset.
        w32(self.rcc, AHB1ENR, 1 << 8)
        gpioi = self.m.models['gpioi']
        w32(gpioi, 0x00, 0x55)
        w32(self.rcc, AHB1RSTR, 1 << 8)
        self.assertFalse(self.rcc.accessible('gpioi'))
        w32(self.rcc, AHB1RSTR, 0)
        self.assertEqual(r32(gpioi, 0x00), 0)

    def test_csr_reset_flags_and_rmvf(self):
        # §5.3.21: power-on sets PORRSTF/PINRSTF/BORRSTF; RMVF clears them.
        self.assertEqual(r32(self.rcc, CSR) & 0xFF000000, 0x0E000000)
        w32(self.rcc, CSR, 1 << 24)
        self.assertEqual(r32(self.rcc, CSR) & 0xFF000000, 0)

    def test_lsi_ready_after_startup(self):
        # §5.3.21 LSION/LSIRDY (DS10916 tsu(LSI) ≤ 40 µs).
        w32(self.rcc, CSR, 1)
        self.assertEqual(r32(self.rcc, CSR) & 3, 1)
        self.m.advance(50_000)
        self.assertEqual(r32(self.rcc, CSR) & 3, 3)

    def test_cir_flag_only_when_interrupt_enabled(self):
        # §5.3.4: HSERDYF is set when HSE becomes stable and HSERDYIE is set; HSERDYC clears it.
        w32(self.rcc, CIR, 1 << 11)
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16)
        self.m.advance(3_000_000)
        self.assertTrue(r32(self.rcc, CIR) & 1 << 3)
        w32(self.rcc, CIR, 1 << 11 | 1 << 19)
        self.assertFalse(r32(self.rcc, CIR) & 1 << 3)

    def test_bdcr_write_protected_until_dbp(self):
        # §5.3.20 / §4.1.2: the backup domain is write-protected after reset.
        w32(self.rcc, BDCR, 1)
        self.assertEqual(r32(self.rcc, BDCR), 0)
        w32(self.rcc, APB1ENR, 1 << 28)
        w32(self.m.models['pwr'], 0x00, r32(self.m.models['pwr'], 0) | 1 << 8)
        w32(self.rcc, BDCR, 1)
        self.assertEqual(r32(self.rcc, BDCR) & 1, 1)

    def test_entry_state_from_board(self):
        m = board_machine({'rcc_at_entry': {'CR': 0x01010083, 'PLLCFGR': 25 | 336 << 6 | 1 << 16 | 1 << 22 | 7 << 24,
                                            'CFGR': 2}})
        rcc = m.models['rcc']
        self.assertTrue(r32(rcc, CR) & PLLRDY)
        self.assertEqual(rcc.sysclk_hz(), 84_000_000)

    def test_48mhz_from_pllsai_with_ck48msel(self):
        # §5.3.26 CK48MSEL = 1: the 48 MHz clock from PLLSAI P (VCO in from the main PLL's M).
        pll_216(self.rcc)
        w32(self.rcc, 0x88, 192 << 6 | 1 << 16 | 2 << 24 | 2 << 28)   # N 192, P /4: 192 / 4 = 48 MHz
        w32(self.rcc, 0x90, 1 << 27)
        w32(self.rcc, CR, r32(self.rcc, CR) | 1 << 16 | 1 << 28)
        self.assertEqual(self.rcc.clk48_hz(), 0, 'not locked yet')
        self.m.advance(3_000_000)
        self.assertTrue(r32(self.rcc, CR) & 1 << 29)
        self.assertEqual(self.rcc.clk48_hz(), 48_000_000)

    def test_hsitrim_writable_hsical_read_only(self):
        # §5.3.1: HSITRIM[7:3] r/w (reset 16), HSICAL[15:8] factory value.
        w32(self.rcc, CR, (r32(self.rcc, CR) & ~0xFFF8) | 0x1F << 3 | 0x12 << 8)
        self.assertEqual(r32(self.rcc, CR) >> 3 & 0x1F, 0x1F)
        self.assertEqual(r32(self.rcc, CR) >> 8 & 0xFF, 0x80)

    def test_unimplemented_offset_is_unmodelled(self):
        from fake_machine import Unmodelled
        with self.assertRaises(Unmodelled):
            r32(self.rcc, 0x1C)   # reserved in the register map (§5.3.27)


if __name__ == '__main__':
    unittest.main()
