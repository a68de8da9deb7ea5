"""GPIO model (bbemu/periph/gpio.py) against RM0385 §6."""
import unittest

from fake_machine import board_machine, r32, w32

MODER, OTYPER, OSPEEDR, PUPDR, IDR, ODR, BSRR, LCKR, AFRL, AFRH = range(0, 0x28, 4)


class GpioTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine({'pins': {'PI11': 1}})
        self.rcc = self.m.models['rcc']
        w32(self.rcc, 0x30, 0x7FF)            # RCC_AHB1ENR: GPIOA..K
        self.a, self.b, self.i = (self.m.models[n] for n in ('gpioa', 'gpiob', 'gpioi'))

    def test_reset_values_per_port(self):
        # §6.4.1 MODER: A 0xA8000000, B 0x00000280, others 0; §6.4.4 PUPDR A 0x64000000, B 0x100.
        self.assertEqual(r32(self.a, MODER), 0xA8000000)
        self.assertEqual(r32(self.b, MODER), 0x00000280)
        self.assertEqual(r32(self.i, MODER), 0)
        self.assertEqual(r32(self.a, PUPDR), 0x64000000)
        self.assertEqual(r32(self.b, OSPEEDR), 0x000000C0)

    def test_output_pin_level_and_history(self):
        # §6.3.10 output mode: ODR drives the pin; IDR samples it.
        w32(self.i, MODER, 1 << 2)            # PI1 output (the DISCO's green LED)
        self.assertEqual(self.i.output(1), 0)
        w32(self.i, ODR, 1 << 1)
        self.assertEqual(self.i.output(1), 1)
        self.assertEqual(r32(self.i, IDR) & 2, 2)
        self.assertEqual(self.i.history[-1][1], 2)
        self.assertIsNone(self.i.output(2), 'an input pin drives nothing')

    def test_bsrr_set_reset_and_set_wins(self):
        # §6.4.7: BSx sets, BRx resets, BSx has priority when both are written.
        w32(self.i, BSRR, 0x0000_0003)
        self.assertEqual(r32(self.i, ODR), 3)
        w32(self.i, BSRR, 0x0003_0002)
        self.assertEqual(r32(self.i, ODR), 2)
        self.assertEqual(r32(self.i, BSRR), 0)

    def test_byte_access_to_bsrr_high_half(self):
        # §6.4: byte / half-word accesses; the BR half alone resets.
        w32(self.i, ODR, 0xFF)
        self.i.write(BSRR + 2, 2, 0x0001)
        self.assertEqual(r32(self.i, ODR), 0xFE)

    def test_input_from_board_and_pulls(self):
        # §6.3.9 input: IDR samples the pin; pull-up reads 1 when nothing drives it.
        self.assertEqual(r32(self.i, IDR) >> 11 & 1, 1)   # the board drives PI11 high (button)
        self.assertEqual(r32(self.i, IDR) >> 3 & 1, 0)
        w32(self.i, PUPDR, 1 << 6)
        self.assertEqual(r32(self.i, IDR) >> 3 & 1, 1)

    def test_analog_pin_reads_zero(self):
        # §6.3.12: in analog mode the input data register reads 0.
        w32(self.i, MODER, 3 << 22)
        self.assertEqual(r32(self.i, IDR) >> 11 & 1, 0)

    def test_lock_sequence_freezes_configuration(self):
        # §6.4.8 LCKR key sequence: 1+pins, 0+pins, 1+pins; then the pin's MODER is frozen.
        for v in (0x10001, 0x00001, 0x10001):
            w32(self.i, LCKR, v)
        self.assertEqual(r32(self.i, LCKR), 0x10001)
        w32(self.i, MODER, 0x5)
        self.assertEqual(r32(self.i, MODER), 0x4, 'PI0 locked, PI1 free')

    def test_wrong_lock_sequence_does_not_lock(self):
        for v in (0x10001, 0x00002, 0x10001):
            w32(self.i, LCKR, v)
        self.assertFalse(r32(self.i, LCKR) & 1 << 16)

    def test_alternate_function_registers(self):
        # §6.4.9/§6.4.10 AFRL/AFRH: 4 bits per pin (OTG FS PA11/PA12 AF10).
        w32(self.a, AFRH, 0xA << 12 | 0xA << 16)
        self.assertEqual(r32(self.a, AFRH), 0x000AA000)

    def test_port_without_clock_ignores_writes(self):
        # RM0385 §5.3.10: without GPIOxEN the port is not clocked.
        w32(self.rcc, 0x30, 0)
        w32(self.i, ODR, 0xFFFF)
        self.assertEqual(r32(self.i, ODR), 0)
        w32(self.rcc, 0x30, 1 << 8)
        self.assertEqual(r32(self.i, ODR), 0)
        self.assertTrue(any('GPIOI' in line for line in self.m.logs))


if __name__ == '__main__':
    unittest.main()
