"""DBGMCU model (bbemu/periph/dbgmcu.py) against RM0385 §40."""
import unittest

from fake_machine import Fault, board_machine, r32, w32


class DbgmcuTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine({'rev_id': 0x1000})
        self.d = self.m.models['dbgmcu']

    def test_idcode_dev_id_0x449_with_board_revision(self):
        # §40.6.1 DBGMCU_IDCODE: DEV_ID 0x449 (F74x/75x), REV_ID in 31:16.
        self.assertEqual(r32(self.d, 0x00), 0x10000449)

    def test_idcode_is_read_only(self):
        w32(self.d, 0x00, 0)
        self.assertEqual(r32(self.d, 0x00) & 0xFFF, 0x449)

    def test_freeze_registers_keep_implemented_bits(self):
        w32(self.d, 0x08, 0xFFFFFFFF)
        self.assertEqual(r32(self.d, 0x08), 0x07E01FFF)
        w32(self.d, 0x0C, 0xFFFFFFFF)
        self.assertEqual(r32(self.d, 0x0C), 0x00070003)

    def test_only_word_access(self):
        with self.assertRaises(Fault):
            self.d.read(0, 2)


if __name__ == '__main__':
    unittest.main()
