"""PWR model (bbemu/periph/pwr.py) against RM0385 §4."""
import unittest

from fake_machine import Fault, board_machine, r32, w32

CR1, CSR1 = 0x00, 0x04
ODEN, ODSWEN = 1 << 16, 1 << 17
ODRDY, ODSWRDY, VOSRDY = 1 << 16, 1 << 17, 1 << 14


class PwrTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine()
        self.rcc, self.pwr = self.m.models['rcc'], self.m.models['pwr']
        w32(self.rcc, 0x40, 1 << 28)   # RCC_APB1ENR.PWREN

    def start_pll(self):
        w32(self.rcc, 0x04, 25 | 432 << 6 | 1 << 22 | 9 << 24)
        w32(self.rcc, 0x00, r32(self.rcc, 0) | 1 << 16 | 1 << 24)
        self.m.advance(3_000_000)

    def test_reset_value_scale1(self):
        # §4.4.1: CR1 reset 0x0000C000 (VOS = 11, scale 1).
        self.assertEqual(r32(self.pwr, CR1), 0x0000C000)

    def test_unclocked_pwr_reads_zero_and_ignores_writes(self):
        # RM0385 §5.3.13 PWREN gates the interface.
        w32(self.rcc, 0x40, 0)
        w32(self.pwr, CR1, 1 << 8)
        self.assertEqual(r32(self.pwr, CR1), 0)
        w32(self.rcc, 0x40, 1 << 28)
        self.assertFalse(r32(self.pwr, CR1) & 1 << 8)

    def test_overdrive_sequence_oden_then_odswen(self):
        # §4.1.4 "Entering Over-drive mode": ODEN → wait ODRDY → ODSWEN → wait ODSWRDY.
        self.start_pll()
        w32(self.pwr, CR1, r32(self.pwr, CR1) | ODEN)
        self.assertFalse(r32(self.pwr, CSR1) & ODRDY)
        self.m.advance(100_000)
        self.assertTrue(r32(self.pwr, CSR1) & ODRDY)
        w32(self.pwr, CR1, r32(self.pwr, CR1) | ODSWEN)
        self.m.advance(100_000)
        self.assertTrue(r32(self.pwr, CSR1) & ODSWRDY)
        self.assertEqual(self.pwr.max_hclk_hz(), 216_000_000)

    def test_clearing_oden_leaves_overdrive(self):
        # §4.4.1: clearing ODEN leaves over-drive and its switch.
        self.start_pll()
        w32(self.pwr, CR1, r32(self.pwr, CR1) | ODEN)
        self.m.advance(100_000)
        w32(self.rcc, 0x08, 0)
        w32(self.pwr, CR1, r32(self.pwr, CR1) & ~ODEN)
        self.assertEqual(r32(self.pwr, CSR1) & (ODRDY | ODSWRDY), 0)

    def test_odswen_before_odrdy_stops(self):
        with self.assertRaises(Fault):
            w32(self.pwr, CR1, r32(self.pwr, CR1) | ODEN | ODSWEN)

    def test_vos_cannot_change_while_pll_on(self):
        # §4.4.1 VOS "can be modified only when the PLL is OFF".
        self.start_pll()
        w32(self.pwr, CR1, (r32(self.pwr, CR1) & ~0xC000) | 0x4000)
        self.assertEqual(r32(self.pwr, CR1) & 0xC000, 0xC000)

    def test_vosrdy_follows_the_pll(self):
        # §4.4.2 VOSRDY: the scale is reached only with the PLL on.
        self.assertFalse(r32(self.pwr, CSR1) & VOSRDY)
        self.start_pll()
        self.assertTrue(r32(self.pwr, CSR1) & VOSRDY)

    def test_scale3_limits_hclk(self):
        # §4.1.4 / DS10916: scale 3 allows 144 MHz.
        w32(self.pwr, CR1, (r32(self.pwr, CR1) & ~0xC000) | 0x4000)
        self.assertEqual(self.pwr.max_hclk_hz(), 144_000_000)


if __name__ == '__main__':
    unittest.main()
