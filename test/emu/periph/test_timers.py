"""TIM2 (RM0385 §19) and TIM11 (§20) as the loader uses them: an up-counting time base and input
capture of HSE_RTC."""
import unittest

from fake_machine import Fault, Unmodelled, board_machine, r32, w32

CR1, SR, EGR, CCMR1, CCER, CNT, PSC, ARR, CCR1, OR = 0x00, 0x10, 0x14, 0x18, 0x20, 0x24, 0x28, 0x2C, 0x34, 0x50


class Tim2Test(unittest.TestCase):
    def setUp(self):
        self.m = board_machine()
        self.t = self.m.models['tim2']
        w32(self.m.models['rcc'], 0x40, 1)          # RCC_APB1ENR.TIM2EN

    def test_counts_at_the_timer_clock_over_prescaler_after_ug(self):
        # §19.3.1: PSC is loaded at the update event (UG); 16 MHz / 16 = 1 MHz.
        w32(self.t, PSC, 15)
        w32(self.t, ARR, 0xFFFFFFFF)
        w32(self.t, EGR, 1)
        w32(self.t, CR1, 1)
        self.m.advance(1_000_000)
        self.assertEqual(r32(self.t, CNT), 1000)

    def test_prescaler_waits_for_the_update_event(self):
        w32(self.t, CR1, 1)
        w32(self.t, PSC, 15)
        self.m.advance(1_000)
        self.assertEqual(r32(self.t, CNT), 16, 'still /1 until the update event')

    def test_overflow_at_arr_sets_uif_and_wraps(self):
        # §19.3.2 up-counting: 0..ARR, then UIF and 0; SR is rc_w0.
        w32(self.t, ARR, 999)
        w32(self.t, CR1, 1)
        self.m.advance(100_000)                    # 1600 ticks
        self.assertEqual(r32(self.t, CNT), 600)
        self.assertTrue(r32(self.t, SR) & 1)
        w32(self.t, SR, ~1 & 0xFFFFFFFF)
        self.assertFalse(r32(self.t, SR) & 1)

    def test_cnt_write_and_32_bits(self):
        w32(self.t, CNT, 0xFFFFFFF0)
        w32(self.t, CR1, 1)
        self.m.advance(1_000)
        self.assertEqual(r32(self.t, CNT), 0)
        self.assertTrue(r32(self.t, SR) & 1)

    def test_keeps_counting_at_the_new_clock_after_a_switch(self):
        # Timer clock = APB1 timer clock (RM0385 §5.2): HCLK /2 halves it.
        w32(self.t, CR1, 1)
        self.m.advance(1_000)
        w32(self.m.models['rcc'], 0x08, 0b1000 << 4)
        self.m.advance(1_000)
        self.assertEqual(r32(self.t, CNT), 16 + 8)

    def test_timpre_gives_hclk_to_the_timers(self):
        # RM0385 §5.3.25 TIMPRE = 1: with APB1 /2 the timers run at HCLK (not 2 × PCLK1 … same here),
        # with APB1 /8 at 4 × PCLK1 = HCLK / 2.
        rcc = self.m.models['rcc']
        w32(rcc, 0x08, 6 << 10)                    # APB1 /8: timers at 2 × 2 MHz = 4 MHz
        w32(self.t, CR1, 1)
        self.m.advance(1_000)
        w32(rcc, 0x8C, 1 << 24)                    # TIMPRE: 4 × 2 MHz = 8 MHz
        self.m.advance(1_000)
        self.assertEqual(r32(self.t, CNT), 4 + 8)

    def test_down_counting_is_not_modelled(self):
        with self.assertRaises(Fault):
            w32(self.t, CR1, 0x11)

    def test_unimplemented_register_is_unmodelled(self):
        with self.assertRaises(Unmodelled):
            r32(self.t, 0x48)


class Tim11CaptureTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine()
        rcc = self.m.models['rcc']
        w32(rcc, 0x44, 1 << 18)                     # TIM11EN
        w32(rcc, 0x00, r32(rcc, 0) | 1 << 16)       # HSE on
        self.m.advance(3_000_000)
        w32(rcc, 0x08, 31 << 16)                    # RTCPRE 31: HSE_RTC = 25 MHz / 31
        self.t = self.m.models['tim11']
        w32(self.t, OR, 2)                           # TI1_RMP = HSE_RTC (§20.5.12)
        w32(self.t, ARR, 0xFFFF)
        w32(self.t, CCMR1, 0x0D)                     # CC1S = TI1, IC1PSC = /8
        w32(self.t, CCER, 1)
        w32(self.t, CR1, 1)

    def capture(self):
        nxt = self.t.next_event_ns()
        self.m.advance(nxt - self.m.now_ns)
        self.assertTrue(r32(self.t, SR) & 2)
        return r32(self.t, CCR1)

    def test_captures_count_hse_rtc_edges_against_the_timer_clock(self):
        # §20.3.4: every 8th HSE/31 edge copies CNT into CCR1: 8·31/25 MHz at 16 MHz = 158.72 ticks.
        a = self.capture()
        deltas = []
        for _ in range(50):
            b = self.capture()
            deltas.append((b - a) & 0xFFFF)
            a = b
        self.assertAlmostEqual(sum(deltas) / len(deltas), 8 * 31 * 16e6 / 25e6, delta=0.1)
        self.assertFalse(r32(self.t, SR) & (1 << 9))

    def test_reading_ccr1_clears_cc1if(self):
        self.capture()
        self.assertFalse(r32(self.t, SR) & 2)

    def test_unread_capture_then_another_sets_overcapture(self):
        # §20.4.5 CC1OF.
        self.m.advance(30_000)
        self.assertTrue(r32(self.t, SR) & (1 << 9))

    def test_no_capture_without_rtcpre(self):
        # RM0385 §5.3.3: RTCPRE 0/1 gives no HSE_RTC clock.
        w32(self.m.models['rcc'], 0x08, 0)
        self.assertIsNone(self.t.next_event_ns())
        self.m.advance(100_000)
        self.assertFalse(r32(self.t, SR) & 2)


if __name__ == '__main__':
    unittest.main()
