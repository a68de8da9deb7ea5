"""Modelled time of the real F746G-DISCO loader (assets/loaders/stm32f746g-disco/loader.bin) on the
emulated board (bbemu/machine.py): a long operation takes the time its parts take (N25Q128A page
program 0.5 ms typical, F7 flash word 16 µs: the models), so the loader's bwPollTimeout, which it
computes from the same datasheet figures, is what the host waits; and an IWDG already running at entry
(AN2606 §4.1) never resets the board while the loader refreshes it through a 170 s bulk erase."""
import os
import struct
import unittest

from bbemu.machine import Machine, Stop

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
IMAGE = os.path.join(ROOT, 'assets', 'loaders', 'stm32f746g-disco', 'loader.bin')
LOAD = 0x20010000
DNBUSY, DNLOAD_IDLE = 4, 5
MS = 1_000_000


class Host:
    """A USB host as the Node side drives the emulator (bbemu/__main__.py `control`): each control
    transfer at a device instant, then the firmware runs on until it idles."""

    def __init__(self, **board):
        self.m = Machine({'uid': bytes(range(12)), 'flash_size_kb': 1024, 'hse_hz': 25_000_000,
                          'hse_mode': 'crystal', 'qspi_part': 'N25Q128A', **board}, lambda ev: None)
        self.m.load_ram(LOAD, open(IMAGE, 'rb').read())
        self.m.start_at(LOAD)
        self.m.run_until(2_000 * MS, done=lambda: self.m.otg.connected and self.m.otg.idle)
        assert self.m.otg.connected, 'the loader never connected'
        self.m.usb_reset()
        self.control(0x00, 5, 1, 0, 0)  # SET_ADDRESS
        self.control(0x00, 9, 1, 0, 0)  # SET_CONFIGURATION

    def control(self, bm, req, value, index, length, data=None, at=0):
        m = self.m
        if at > m.now_ns:
            m.run_until(at)
        m.otg.host_begin(struct.pack('<BBHHH', bm, req, value, index, length), data)
        m.run_until(m.now_ns + 5_000 * MS, done=lambda: m.otg.transfer is None or m.otg.transfer['result'] is not None)
        result = m.otg.host_result()
        done = m.now_ns
        m.run_until(done + 2_000 * MS, stop_when_idle=True)
        assert result is not None and result['status'] == 'ok', result
        return result, done

    def dnload(self, block, data):
        self.control(0x21, 1, block, 0, len(data), data)  # wIndex: the interface

    def getstatus(self, at=0):
        r, done = self.control(0xA1, 3, 0, 0, 6, at=at)
        d = r['data']
        return d[0], d[1] | d[2] << 8 | d[3] << 16, d[4], done

    def set_alt(self, alt):
        self.alt = alt
        self.control(0x01, 11, alt, 0, 0)  # SET_INTERFACE

    def command(self, data):
        """A DfuSe command or data block and its GETSTATUS sequence, waiting each bwPollTimeout as
        dfu-util does; returns (first bwPollTimeout ms, modelled busy time ns, DNBUSY answers)."""
        self.dnload(data[0], data[1])
        start = self.m.now_ns
        status, poll, state, done = self.getstatus()
        first, answers = poll, 0
        while state == DNBUSY:
            answers += 1
            status, poll, state, done = self.getstatus(at=done + poll * MS)
        self.assertion = (status, state)
        return first, done - start, answers


class LoaderTimingTest(unittest.TestCase):
    def write_4k(self, alt, address):
        h = Host()
        h.set_alt(alt)
        h.command((0, bytes([0x21]) + struct.pack('<I', address)))
        first, busy, answers = h.command((2, bytes(range(256)) * 16))
        self.assertEqual(h.assertion, (0, DNLOAD_IDLE))
        data = bytes(h.m.mems['qspi' if alt == 0 else 'flash'].data[address & 0xFFFFFF:(address & 0xFFFFFF) + 4096])
        self.assertEqual(data, bytes(range(256)) * 16)
        return first, busy, answers

    def test_qspi_4k_write_takes_the_parts_time(self):
        # 16 pages × t_PP 0.5 ms (N25Q128A datasheet, typical): about 8 ms of the part, plus the bytes
        # on the wire and the loader's own work; the loader says 9–10 ms and is done by then.
        first, busy, answers = self.write_4k(0, 0x90000000)
        self.assertGreaterEqual(busy, 8 * MS)
        self.assertLessEqual(busy, 2 * first * MS, f'busy {busy / MS:.1f} ms for a first bwPollTimeout of {first} ms')
        self.assertLessEqual(answers, 2)

    def test_internal_flash_4k_write_takes_the_parts_time(self):
        # 1024 words × 16 µs (RM0385 / F746 datasheet t_prog x32): about 16.4 ms.
        first, busy, answers = self.write_4k(1, 0x08020000)
        self.assertGreaterEqual(busy, 16 * MS)
        self.assertLessEqual(busy, 2 * first * MS, f'busy {busy / MS:.1f} ms for a first bwPollTimeout of {first} ms')
        self.assertLessEqual(answers, 2)

    def test_iwdg_running_at_entry_survives_a_qspi_bulk_erase(self):
        # AN2606 §4.1: the ROM may hand over with the IWDG running (≈ 0.5 s at its reset values); the
        # loader refreshes it from its main loop while the 170 s bulk erase runs: no reset.
        h = Host(iwdg_running_at_entry=True)
        iwdg = h.m.peripheral('iwdg')
        self.assertIsNotNone(iwdg.next_event_ns(), 'the IWDG runs from entry')
        h.set_alt(0)
        try:
            first, busy, answers = h.command((0, bytes([0x41])))
        except Stop as s:
            self.fail(f'the run stopped during the bulk erase: {s.event}')
        self.assertEqual(h.assertion, (0, DNLOAD_IDLE))
        self.assertGreaterEqual(busy, 170_000 * MS)
        self.assertIsNotNone(iwdg.next_event_ns(), 'still running, refreshed')
        self.assertFalse(iwdg.fired)


if __name__ == '__main__':
    unittest.main()
