"""IWDG model (bbemu/periph/iwdg.py) against RM0385 §29 and AN2606 §4.1."""
import unittest

from fake_machine import Fault, Reset, board_machine, r32, w32

KR, PR, RLR, SR, WINR = 0x00, 0x04, 0x08, 0x0C, 0x10


class IwdgTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine()
        self.w = self.m.models['iwdg']

    def test_reset_values(self):
        # §29.4.2–§29.4.5: PR 0, RLR 0xFFF, SR 0, WINR 0xFFF.
        self.assertEqual([r32(self.w, o) for o in (PR, RLR, SR, WINR)], [0, 0xFFF, 0, 0xFFF])

    def test_start_counts_down_and_resets_the_chip(self):
        # §29.3.1: 0xCCCC starts it from 0xFFF; at 0 a reset (PR /4 at 32 kHz: 4096 × 125 µs ≈ 0.51 s).
        w32(self.w, KR, 0xCCCC)
        self.m.advance(500_000_000)
        self.assertEqual(self.m.resets, [])
        with self.assertRaises(Reset):
            self.m.advance(20_000_000)
        self.assertEqual(self.m.resets, ['IWDG'])
        self.assertTrue(r32(self.m.models['rcc'], 0x74) & 1 << 29, 'RCC_CSR.IWDGRSTF (§5.3.21)')

    def test_reload_keeps_it_alive(self):
        # §29.3.2: writing 0xAAAA reloads the counter from RLR.
        w32(self.w, KR, 0xCCCC)
        for _ in range(4):
            self.m.advance(400_000_000)
            w32(self.w, KR, 0xAAAA)
        self.assertEqual(self.m.resets, [])

    def test_starting_forces_lsi_on(self):
        # §29.3.1: starting the IWDG forces the LSI on.
        w32(self.w, KR, 0xCCCC)
        self.assertEqual(r32(self.m.models['rcc'], 0x74) & 1, 1)

    def test_pr_write_needs_5555_and_sets_pvu(self):
        # §29.3.4 write access protection; §29.4.4 PVU while the value moves to the LSI domain.
        w32(self.w, PR, 6)
        self.assertEqual(r32(self.w, PR), 0)
        w32(self.w, KR, 0x5555)
        w32(self.w, PR, 6)
        self.assertTrue(self.w.pending)
        self.assertEqual(r32(self.w, PR), 0, 'not yet in the LSI domain')
        t = self.m.now_ns
        while r32(self.w, SR) & 1:           # a polling loop: each read lets modelled time pass
            pass
        self.assertGreaterEqual(self.m.now_ns - t, 5 * 1e9 / 32_000)
        self.assertEqual(r32(self.w, PR), 6)

    def test_other_key_protects_again(self):
        w32(self.w, KR, 0x5555)
        w32(self.w, KR, 0x1234)
        w32(self.w, RLR, 0x10)
        self.assertEqual(r32(self.w, RLR), 0xFFF)

    def test_running_at_entry_expires_after_about_33_seconds(self):
        # AN2606 §4.1: the ROM may leave it running at /256, reload 0xFFF: 4095 × 8 ms ≈ 32.8 s.
        m = board_machine({'iwdg_running_at_entry': True})
        w = m.models['iwdg']
        self.assertEqual(r32(w, PR), 6)
        self.assertEqual(r32(m.models['rcc'], 0x74) & 1, 1, 'LSI forced on')
        self.assertFalse(r32(m.models['flash'], 0x14) & 1 << 5, 'FLASH_OPTCR.IWDG_SW = 0: hardware watchdog')
        m.advance(32_000_000_000)
        with self.assertRaises(Reset):
            m.advance(1_000_000_000)

    def test_window_reload_too_early_resets(self):
        # §29.3.3 window option: a reload while the counter is above WINR resets the chip.
        w32(self.w, KR, 0xCCCC)
        w32(self.w, KR, 0x5555)
        w32(self.w, WINR, 0x100)
        self.m.advance(1_000_000)
        with self.assertRaises(Reset):
            w32(self.w, KR, 0xAAAA)

    def test_byte_access_stops(self):
        # §29.4: half-word or word accesses only.
        with self.assertRaises(Fault):
            self.w.write(KR, 1, 0xCC)


if __name__ == '__main__':
    unittest.main()
