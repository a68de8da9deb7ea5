"""FLASH model (bbemu/periph/flash.py) against RM0385 §3."""
import unittest

from fake_machine import Fault, board_machine, r32, w32
from bbemu.periph.flash import required_wait_states, sector_sizes

ACR, KEYR, SR, CR = 0x00, 0x04, 0x0C, 0x10
PG, SER, STRT, LOCK = 1, 2, 1 << 16, 1 << 31
PSIZE32 = 2 << 8
EOP, OPERR, WRPERR, PGAERR, PGPERR, ERSERR, BSY = 1, 2, 16, 32, 64, 128, 1 << 16


class FlashTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine()
        self.f = self.m.models['flash']
        self.mem = self.m.memories['flash']

    def unlock(self):
        w32(self.f, KEYR, 0x45670123)
        w32(self.f, KEYR, 0xCDEF89AB)

    def wait_idle(self):
        n = 0
        while r32(self.f, SR) & BSY:
            n += 1
        return n

    def test_sector_layout_1mb_and_64kb(self):
        # §3.3.1 Table 3; the 64 KB STM32F750 has two 32 KB sectors.
        self.assertEqual(sector_sizes(1 << 20), [32768] * 4 + [131072] + [262144] * 3)
        self.assertEqual(sector_sizes(65536), [32768, 32768])

    def test_locked_at_reset_and_unlock_sequence(self):
        # §3.3.3: LOCK set at reset; KEY1 then KEY2 clears it.
        self.assertTrue(r32(self.f, CR) & LOCK)
        self.unlock()
        self.assertFalse(r32(self.f, CR) & LOCK)

    def test_wrong_key_bus_error_and_locked_until_reset(self):
        # §3.3.3: a wrong sequence returns a bus error and locks FLASH_CR until the next reset.
        with self.assertRaises(Fault):
            w32(self.f, KEYR, 0x12345678)
        with self.assertRaises(Fault):
            self.unlock()
        self.f.reset()
        self.unlock()
        self.assertFalse(r32(self.f, CR) & LOCK)

    def test_cr_write_ignored_while_locked(self):
        # §3.7.5 LOCK: FLASH_CR cannot be written while set.
        w32(self.f, CR, PG | PSIZE32)
        self.assertEqual(r32(self.f, CR), LOCK)

    def test_program_word_clears_bits_only(self):
        # §3.3.6: programming writes 0s; a 1 cannot be written over a 0 without erase.
        self.unlock()
        w32(self.f, CR, PG | PSIZE32)
        self.f.bus_write(0x100, 4, 0x12345678)
        self.wait_idle()
        self.f.bus_write(0x100, 4, 0xFFFF00FF)
        self.wait_idle()
        self.assertEqual(self.f.bus_read(0x100, 4), 0x12340078)
        self.assertEqual(r32(self.f, SR) & 0xF3, 0)
        self.assertIn((0x100, 4), self.mem.changes)

    def test_program_takes_modelled_time_with_bsy(self):
        # §3.7.4 BSY during the operation; tprog 16 µs typical (DS10916).
        self.unlock()
        w32(self.f, CR, PG | PSIZE32)
        t = self.m.now_ns
        self.f.bus_write(0, 4, 0)
        self.assertTrue(r32(self.f, SR) & BSY or self.m.now_ns - t >= 16_000)
        self.wait_idle()
        self.assertGreaterEqual(self.m.now_ns - t, 16_000)

    def test_size_not_psize_is_pgperr(self):
        # §3.7.4 PGPERR: access size differs from PSIZE.
        self.unlock()
        w32(self.f, CR, PG | PSIZE32)
        self.f.bus_write(0x10, 2, 0)
        self.assertTrue(r32(self.f, SR) & PGPERR)
        self.assertEqual(self.mem.data[0x10:0x12], b'\xff\xff')

    def test_write_without_pg_is_erserr(self):
        # §3.7.4 ERSERR: a flash write while the control register is not set for programming.
        self.unlock()
        self.f.bus_write(0x20, 4, 0)
        self.assertTrue(r32(self.f, SR) & ERSERR)
        self.assertEqual(self.mem.data[0x20:0x24], b'\xff' * 4)

    def test_write_while_locked_is_erserr(self):
        self.f.bus_write(0x20, 4, 0)
        self.assertTrue(r32(self.f, SR) & ERSERR)

    def test_row_crossing_write_is_pgaerr(self):
        # §3.7.4 PGAERR: the data does not fit one 128-bit row.
        self.unlock()
        w32(self.f, CR, PG | PSIZE32)
        self.f.bus_write(0x0E, 4, 0)
        self.assertTrue(r32(self.f, SR) & PGAERR)

    def test_operr_only_with_errie(self):
        # §3.7.4 OPERR is set only if ERRIE = 1.
        self.unlock()
        w32(self.f, CR, PG | PSIZE32)
        self.f.bus_write(0x10, 1, 0)
        self.assertFalse(r32(self.f, SR) & OPERR)
        w32(self.f, SR, 0xF3)
        w32(self.f, CR, PG | PSIZE32 | 1 << 25)
        self.f.bus_write(0x10, 1, 0)
        self.assertTrue(r32(self.f, SR) & OPERR)

    def test_error_flags_clear_by_writing_one(self):
        # §3.7.4: rc_w1.
        self.f.bus_write(0x20, 4, 0)
        w32(self.f, SR, ERSERR)
        self.assertFalse(r32(self.f, SR) & ERSERR)

    def test_eop_only_with_eopie(self):
        # §3.7.4 EOP is set only if EOPIE = 1.
        self.unlock()
        w32(self.f, CR, PG | PSIZE32)
        self.f.bus_write(0, 4, 0)
        self.wait_idle()
        self.assertFalse(r32(self.f, SR) & EOP)
        w32(self.f, CR, PG | PSIZE32 | 1 << 24)
        self.f.bus_write(4, 4, 0)
        self.wait_idle()
        self.assertTrue(r32(self.f, SR) & EOP)

    def test_sector_erase_sets_ff_and_busy_for_the_sector_time(self):
        # §3.3.5 sector erase; 128 KB sector busy ≈ 1.2 s (timing.md).
        self.mem.data[0x20000:0x20010] = b'\0' * 16
        self.mem.data[0x40000] = 0
        self.unlock()
        t = self.m.now_ns
        w32(self.f, CR, SER | PSIZE32 | 4 << 3)
        w32(self.f, CR, SER | PSIZE32 | 4 << 3 | STRT)
        self.assertTrue(r32(self.f, SR) & BSY)
        polls = self.wait_idle()
        self.assertGreaterEqual(self.m.now_ns - t, 1_200_000_000)
        self.assertLess(polls, 2000)
        self.assertEqual(self.mem.data[0x20000:0x20010], b'\xff' * 16)
        self.assertEqual(self.mem.data[0x40000], 0, 'sector 5 untouched')
        self.assertFalse(r32(self.f, CR) & STRT)

    def test_sector_number_beyond_the_part_stops(self):
        m = board_machine(flash_size=65536)
        f = m.models['flash']
        w32(f, KEYR, 0x45670123)
        w32(f, KEYR, 0xCDEF89AB)
        with self.assertRaises(Fault):
            w32(f, CR, SER | PSIZE32 | 2 << 3 | STRT)

    def test_mass_erase(self):
        # §3.3.5 mass erase (MER).
        self.mem.data[0xF0000] = 0
        self.unlock()
        w32(self.f, CR, 4 | PSIZE32 | STRT)
        self.m.advance(15_900_000_000)
        self.assertTrue(r32(self.f, SR) & BSY, 'mass erase ≈ 16 s (timing.md)')
        self.m.advance(200_000_000)
        self.assertFalse(r32(self.f, SR) & BSY)
        self.assertEqual(self.mem.data[0xF0000], 0xFF)

    def test_read_while_busy_stalls_until_done(self):
        # §3.3.5: a flash read during an erase stalls the bus until the operation ends.
        self.unlock()
        w32(self.f, CR, SER | PSIZE32 | STRT)
        self.f.bus_read(0x10000, 4)
        self.assertGreaterEqual(self.m.now_ns, 400_000_000)

    def test_write_protected_sector_wrperr(self):
        # §3.7.6 nWRPi = 0 protects sector i; §3.7.4 WRPERR.
        self.f.optcr &= ~(1 << 16)
        self.unlock()
        w32(self.f, CR, SER | PSIZE32 | STRT)
        self.assertTrue(r32(self.f, SR) & WRPERR)

    def test_option_keys_unlock_optcr(self):
        # §3.4.2: OPTKEY1 then OPTKEY2 clear OPTLOCK; OPTSTRT (programming) is not modelled.
        self.assertTrue(r32(self.f, 0x14) & 1)
        w32(self.f, 0x08, 0x08192A3B)
        w32(self.f, 0x08, 0x4C5D6E7F)
        self.assertFalse(r32(self.f, 0x14) & 1)
        with self.assertRaises(Fault):
            w32(self.f, 0x14, r32(self.f, 0x14) | 2)

    def test_optcr_write_ignored_while_locked(self):
        w32(self.f, 0x14, 0)
        self.assertEqual(r32(self.f, 0x14), 0xC0FFAAFD)

    def test_art_reset_while_enabled_stops(self):
        # §3.7.1 ARTRST only while ARTEN = 0.
        with self.assertRaises(Fault):
            w32(self.f, ACR, 1 << 9 | 1 << 11)

    def test_wait_states_table(self):
        # §3.3.2 Table 5 at 2.7–3.6 V.
        self.assertEqual(required_wait_states(16_000_000), 0)
        self.assertEqual(required_wait_states(60_000_000), 1)
        self.assertEqual(required_wait_states(216_000_000), 7)

    def test_read_with_too_few_wait_states_stops(self):
        rcc = self.m.models['rcc']
        w32(rcc, 0x08, 0b1000 << 4)   # harmless: HCLK 8 MHz, 0 WS fine
        self.f.bus_read(0, 4)
        w32(rcc, 0x04, 16 | 336 << 6 | 1 << 16 | 7 << 24)    # HSI / 16 × 336 / 4 = 84 MHz
        w32(rcc, 0x00, r32(rcc, 0) | 1 << 24)
        self.m.advance(200_000)
        w32(rcc, 0x08, 4 << 10 | 2)
        with self.assertRaises(Fault):
            self.f.bus_read(0, 4)
        w32(self.f, ACR, 2)
        self.assertEqual(self.f.bus_read(0, 4), 0xFFFFFFFF)


if __name__ == '__main__':
    unittest.main()
