"""QUADSPI (RM0385 §13) with the N25Q128A behind it (Micron datasheet), driven as a loader drives them."""
import unittest

from fake_machine import Fault, board_machine, r32, w32

CR, DCR, SR, FCR, DLR, CCR, AR, ABR, DR, PSMKR, PSMAR, PIR, LPTR = range(0, 0x34, 4)
TEF, TCF, FTF, SMF, TOF, BUSY = 1, 2, 4, 8, 16, 32
IREAD, IWRITE, POLL, MAPPED = 1, 0, 2, 3
LINES = {0: 0, 1: 1, 2: 2, 4: 3}


def ccr(instr, fmode, addr=0, data=0, dcyc=0, adsize=2):
    """CCR (§13.5.6): instruction on 1 line, address/data on `addr`/`data` lines."""
    return (instr | 1 << 8 | LINES[addr] << 10 | (adsize << 12 if addr else 0) | dcyc << 18
            | LINES[data] << 24 | fmode << 26)


class QuadspiTest(unittest.TestCase):
    def setUp(self):
        self.m = board_machine()
        self.q = self.m.models['quadspi']
        self.mem = self.m.memories['qspi']
        w32(self.m.models['rcc'], 0x38, 1 << 1)            # RCC_AHB3ENR.QSPIEN
        w32(self.q, CR, 1 << 24 | 3 << 8 | 1)              # PRESCALER 1, FTHRES 3, EN
        w32(self.q, DCR, 23 << 16 | 1 << 8)                # FSIZE 23: 16 MB

    # helpers as a driver would write them ---------------------------------------------------------
    def command(self, instr, addr_lines=0, address=None):
        w32(self.q, CCR, ccr(instr, IWRITE, addr_lines))
        if address is not None:
            w32(self.q, AR, address)
        w32(self.q, FCR, TCF)

    def read(self, instr, n, address=None, addr_lines=0, data_lines=1, dcyc=0):
        w32(self.q, DLR, n - 1)
        w32(self.q, CCR, ccr(instr, IREAD, addr_lines, data_lines, dcyc))
        if address is not None:
            w32(self.q, AR, address)
        out = bytearray()
        while len(out) < n:
            out.append(self.q.read(DR, 1))
        return bytes(out)

    def program(self, address, data, instr=0x02, addr_lines=1, data_lines=1):
        self.command(0x06)
        w32(self.q, DLR, len(data) - 1)
        w32(self.q, CCR, ccr(instr, IWRITE, addr_lines, data_lines))
        w32(self.q, AR, address)
        for b in data:
            self.q.write(DR, 1, b)

    def wait_ready(self):
        # Automatic polling of RDSR until WIP = 0 (ST BSP "AutoPollingMemReady"), APMS set.
        w32(self.q, PSMAR, 0)
        w32(self.q, PSMKR, 1)
        w32(self.q, PIR, 0x10)
        w32(self.q, DLR, 0)
        w32(self.q, CR, r32(self.q, CR) | 1 << 22)
        w32(self.q, CCR, ccr(0x05, POLL, 0, 1))
        while not r32(self.q, SR) & SMF:
            pass
        w32(self.q, FCR, SMF)

    # tests ------------------------------------------------------------------------------------------
    def test_read_id(self):
        # Datasheet READ ID: 20 BA 18 (Micron, N25Q 3 V, 128 Mbit); §13.5.3 TCF at the end.
        self.assertEqual(self.read(0x9F, 3), bytes([0x20, 0xBA, 0x18]))
        self.assertTrue(r32(self.q, SR) & TCF)
        self.assertFalse(r32(self.q, SR) & BUSY)

    def test_write_enable_sets_wel(self):
        self.assertEqual(self.read(0x05, 1)[0] & 2, 0)
        self.command(0x06)
        self.assertEqual(self.read(0x05, 1)[0] & 2, 2)
        self.command(0x04)
        self.assertEqual(self.read(0x05, 1)[0] & 2, 0)

    def test_page_program_needs_wel(self):
        # Datasheet: PAGE PROGRAM is not accepted with WEL = 0.
        w32(self.q, DLR, 3)
        w32(self.q, CCR, ccr(0x02, IWRITE, 1, 1))
        w32(self.q, AR, 0x1000)
        for b in b'\0\0\0\0':
            self.q.write(DR, 1, b)
        self.assertEqual(self.mem.data[0x1000:0x1004], b'\xff' * 4)

    def test_page_program_busy_for_its_time_then_ready(self):
        # Datasheet: WIP during the program (0.5 ms typ, timing.md); auto-polling (§13.3.5) sees the end.
        t = self.m.now_ns
        self.program(0x2000, bytes(range(256)))
        self.assertEqual(self.read(0x05, 1)[0] & 1, 1)
        self.wait_ready()
        self.assertGreaterEqual(self.m.now_ns - t, 500_000)
        self.assertEqual(self.read(0x05, 1)[0] & 3, 0, 'WIP and WEL clear at the end')
        self.assertEqual(bytes(self.mem.data[0x2000:0x2100]), bytes(range(256)))
        self.assertIn((0x2000, 256), self.mem.changes)

    def test_page_program_wraps_within_the_page(self):
        # Datasheet PAGE PROGRAM: bytes past the page end wrap to the start of the same page.
        self.program(0x30FC, b'\x11\x22\x33\x44\x55\x66')
        self.wait_ready()
        self.assertEqual(bytes(self.mem.data[0x30FC:0x3100]), b'\x11\x22\x33\x44')
        self.assertEqual(bytes(self.mem.data[0x3000:0x3002]), b'\x55\x66')
        self.assertEqual(self.mem.data[0x3100], 0xFF)

    def test_programming_clears_bits_only(self):
        self.program(0x10, b'\x0F')
        self.wait_ready()
        self.program(0x10, b'\xF1')
        self.wait_ready()
        self.assertEqual(self.mem.data[0x10], 0x01)

    def test_subsector_erase_4k_and_time(self):
        # Datasheet SUBSECTOR ERASE (20h): 4 KB to FF, 0.25 s typical (timing.md).
        self.mem.data[0x5000:0x7000] = b'\0' * 0x2000
        self.command(0x06)
        t = self.m.now_ns
        self.command(0x20, 1, 0x5123)
        self.wait_ready()
        self.assertGreaterEqual(self.m.now_ns - t, 250_000_000)
        self.assertEqual(bytes(self.mem.data[0x5000:0x6000]), b'\xff' * 0x1000)
        self.assertEqual(self.mem.data[0x6000], 0)
        self.assertLess(self.m.polls, 400, 'polling lets modelled time pass in bounded steps')

    def test_sector_erase_64k(self):
        self.mem.data[0x10000:0x20001] = b'\0' * 0x10001
        self.command(0x06)
        self.command(0xD8, 1, 0x1FFFF)
        self.wait_ready()
        self.assertEqual(bytes(self.mem.data[0x10000:0x20000]), b'\xff' * 0x10000)
        self.assertEqual(self.mem.data[0x20000], 0)

    def test_flag_status_ready_bit_and_clear(self):
        # Datasheet FLAG STATUS REGISTER: bit 7 program/erase controller ready.
        self.assertEqual(self.read(0x70, 1)[0], 0x80)
        self.program(0, b'\0')
        self.assertEqual(self.read(0x70, 1)[0] & 0x80, 0)
        self.wait_ready()
        self.assertEqual(self.read(0x70, 1)[0], 0x80)

    def test_quad_output_fast_read_default_8_dummy_cycles(self):
        # Datasheet: QUAD OUTPUT FAST READ 1-1-4, default dummy cycles 8 (VCR 0xFB).
        self.mem.data[0x100:0x104] = b'\xde\xad\xbe\xef'
        self.assertEqual(self.read(0x6B, 4, 0x100, 1, 4, dcyc=8), b'\xde\xad\xbe\xef')

    def test_wrong_dummy_cycles_stop_naming_the_command(self):
        with self.assertRaises(Fault) as ctx:
            self.read(0x6B, 4, 0x100, 1, 4, dcyc=6)
        self.assertIn('QUAD OUTPUT FAST READ (0x6B)', ctx.exception.args[0])
        self.assertIn('expects 8', ctx.exception.args[0])

    def test_wrong_line_mode_stops(self):
        # Extended SPI: QUAD INPUT FAST PROGRAM (32h) takes data on 4 lines.
        self.command(0x06)
        w32(self.q, DLR, 0)
        with self.assertRaises(Fault) as ctx:
            w32(self.q, CCR, ccr(0x32, IWRITE, 1, 1))
            w32(self.q, AR, 0)
        self.assertIn('0x32', ctx.exception.args[0])

    def test_quad_input_program_then_quad_io_read_10_dummy(self):
        self.program(0x400, b'QSPI', instr=0x32, data_lines=4)
        self.wait_ready()
        self.assertEqual(self.read(0xEB, 4, 0x400, 4, 4, dcyc=10), b'QSPI')

    def test_write_vcr_changes_dummy_cycles(self):
        # Datasheet VCR bits 7:4 dummy cycles; WRITE ENABLE first.
        self.command(0x06)
        w32(self.q, DLR, 0)
        w32(self.q, CCR, ccr(0x81, IWRITE, 0, 1))
        self.q.write(DR, 1, 0x6B)          # 6 dummy cycles, XIP off, continuous
        self.assertEqual(self.read(0x85, 1), b'\x6b')
        self.assertEqual(self.read(0x0B, 1, 0, 1, 1, dcyc=6), b'\xff')
        with self.assertRaises(Fault):
            self.read(0x0B, 1, 0, 1, 1, dcyc=8)

    def test_software_reset_restores_vcr(self):
        # Datasheet: RESET ENABLE (66h) then RESET MEMORY (99h).
        self.command(0x06)
        w32(self.q, DLR, 0)
        w32(self.q, CCR, ccr(0x81, IWRITE, 0, 1))
        self.q.write(DR, 1, 0x6B)
        self.command(0x99)
        self.assertEqual(self.read(0x85, 1), b'\x6b', '99h alone does nothing')
        self.command(0x66)
        self.command(0x99)
        self.assertEqual(self.read(0x85, 1), b'\xfb')

    def test_indirect_read_fifo_level_and_threshold(self):
        # §13.5.3 FLEVEL (up to 32 bytes), FTF at FTHRES + 1 bytes, TCF when the tail is in the FIFO.
        w32(self.q, DLR, 39)
        w32(self.q, CCR, ccr(0x03, IREAD, 1, 1))
        w32(self.q, AR, 0)
        sr = r32(self.q, SR)
        self.assertEqual(sr >> 8 & 0x3F, 32)
        self.assertTrue(sr & FTF and sr & BUSY)
        self.assertFalse(sr & TCF)
        r32(self.q, DR)
        r32(self.q, DR)
        sr = r32(self.q, SR)
        self.assertTrue(sr & TCF)
        self.assertEqual(sr >> 8 & 0x3F, 32)
        for _ in range(8):
            r32(self.q, DR)
        self.assertFalse(r32(self.q, SR) & (BUSY | FTF))

    def test_dr_read_with_nothing_to_read_stops(self):
        with self.assertRaises(Fault):
            r32(self.q, DR)

    def test_address_beyond_fsize_sets_tef(self):
        # §13.5.3 TEF: address outside FSIZE.
        w32(self.q, DCR, 19 << 16)          # 1 MB
        w32(self.q, DLR, 0)
        w32(self.q, CCR, ccr(0x03, IREAD, 1, 1))
        w32(self.q, AR, 0x200000)
        self.assertTrue(r32(self.q, SR) & TEF)
        self.assertFalse(r32(self.q, SR) & BUSY)

    def test_abort_clears_busy_and_flushes(self):
        # §13.3.13 ABORT.
        w32(self.q, DLR, 99)
        w32(self.q, CCR, ccr(0x03, IREAD, 1, 1))
        w32(self.q, AR, 0)
        self.assertTrue(r32(self.q, SR) & BUSY)
        w32(self.q, CR, r32(self.q, CR) | 2)
        self.assertFalse(r32(self.q, SR) & BUSY)
        self.assertEqual(r32(self.q, SR) >> 8 & 0x3F, 0)
        self.assertEqual(r32(self.q, CR) & 2, 0, 'ABORT clears itself')

    def test_ccr_write_while_busy_stops(self):
        w32(self.q, DLR, 99)
        w32(self.q, CCR, ccr(0x03, IREAD, 1, 1))
        w32(self.q, AR, 0)
        with self.assertRaises(Fault):
            w32(self.q, CCR, ccr(0x05, IREAD, 0, 1))

    def test_memory_mapped_reads_and_abort_before_indirect(self):
        # §13.3.6 memory-mapped mode; BUSY stays set until ABORT.
        self.mem.data[0x1234:0x1238] = b'\x01\x02\x03\x04'
        w32(self.q, CCR, ccr(0xEB, MAPPED, 4, 4, dcyc=10))
        self.assertEqual(self.q.mapped_read(0x1234, 4), 0x04030201)
        self.assertTrue(r32(self.q, SR) & BUSY)
        with self.assertRaises(Fault):
            w32(self.q, CCR, ccr(0x05, IREAD, 0, 1))

    def test_mapped_read_outside_memory_mapped_mode_is_a_bus_error(self):
        with self.assertRaises(Fault) as ctx:
            self.q.mapped_read(0, 4)
        self.assertIn('not in memory-mapped mode', ctx.exception.args[0])

    def test_auto_polling_and_vs_or_match(self):
        # §13.3.5: AND mode needs all unmasked bits, OR mode any one.
        self.command(0x06)                    # status 0x02
        w32(self.q, PSMKR, 0x03)
        w32(self.q, PSMAR, 0x03)
        w32(self.q, DLR, 0)
        w32(self.q, CR, r32(self.q, CR) | 1 << 22)
        w32(self.q, CCR, ccr(0x05, POLL, 0, 1))
        self.m.advance(10_000)
        self.assertFalse(self.q._sr() & SMF)
        w32(self.q, CR, r32(self.q, CR) | 2)
        w32(self.q, CR, r32(self.q, CR) | 1 << 23)      # PMM: OR
        w32(self.q, CCR, ccr(0x05, POLL, 0, 1))
        self.m.advance(10_000)
        self.assertTrue(r32(self.q, SR) & SMF)
        self.assertFalse(r32(self.q, SR) & BUSY, 'APMS stops polling at the match')
        self.assertEqual(r32(self.q, DR) & 0xFF, 0x02)

    def test_read_during_program_stops(self):
        self.program(0, b'\0')
        with self.assertRaises(Fault):
            self.read(0x03, 1, 0, 1, 1)

    def test_unknown_command_stops(self):
        with self.assertRaises(Fault) as ctx:
            self.read(0x5A, 1)
        self.assertIn('0x5A', ctx.exception.args[0])

    def test_clock_above_the_part_maximum_stops(self):
        # Datasheet: 108 MHz maximum (54 MHz for READ 03h); SCK = HCLK / (PRESCALER + 1).
        m = board_machine({'rcc_at_entry': {'CR': 0x03010083, 'PLLCFGR': 25 | 432 << 6 | 1 << 22 | 9 << 24,
                                            'CFGR': 0x940A, 'AHB3ENR': 2}})
        q = m.models['quadspi']
        w32(q, CR, 1)                         # PRESCALER 0: 216 MHz
        w32(q, DCR, 23 << 16)
        w32(q, DLR, 2)
        with self.assertRaises(Fault) as ctx:
            w32(q, CCR, ccr(0x9F, IREAD, 0, 1))
        self.assertIn('108', ctx.exception.args[0])

    def test_bulk_erase_takes_170_seconds(self):
        # Datasheet BULK ERASE (C7h): 170 s typical (timing.md; ST n25q128a.h max 250 s).
        self.mem.data[0xFFFFFF] = 0
        self.command(0x06)
        self.command(0xC7)
        self.m.advance(169_000_000_000)
        self.assertEqual(self.read(0x05, 1)[0] & 1, 1)
        self.m.advance(2_000_000_000)
        self.assertEqual(self.read(0x05, 1)[0] & 1, 0)
        self.assertEqual(self.mem.data[0xFFFFFF], 0xFF)

    def test_erase_without_wel_is_ignored(self):
        self.mem.data[0x8000] = 0
        self.command(0x20, 1, 0x8000)
        self.assertEqual(self.read(0x05, 1)[0] & 1, 0)
        self.assertEqual(self.mem.data[0x8000], 0)

    def test_read_id_continues_with_length_and_uid(self):
        # Datasheet READ ID: 20 BA 18, then the remaining-ID length 10h and 16 UID bytes.
        self.assertEqual(self.read(0x9F, 4), bytes([0x20, 0xBA, 0x18, 0x10]))

    def test_quad_protocol_in_evcr_is_not_modelled(self):
        # Datasheet EVCR bit 7 = 0 selects the quad I/O protocol.
        self.command(0x06)
        w32(self.q, DLR, 0)
        w32(self.q, CCR, ccr(0x61, IWRITE, 0, 1))
        with self.assertRaises(Fault):
            self.q.write(DR, 1, 0x5F)

    def test_read_wraps_at_the_end_of_the_array(self):
        # Datasheet READ: the address wraps to 0 after the last byte.
        self.mem.data[0xFFFFFF] = 0x11
        self.mem.data[0] = 0x22
        self.assertEqual(self.read(0x03, 2, 0xFFFFFF, 1, 1), b'\x11\x22')

    def test_data_direction_must_match_the_command(self):
        # Indirect write of READ STATUS REGISTER: the part would drive the data lines.
        w32(self.q, DLR, 0)
        with self.assertRaises(Fault):
            w32(self.q, CCR, ccr(0x05, IWRITE, 0, 1))
            self.q.write(DR, 1, 0)

    def test_memory_mapped_needs_a_read_command(self):
        with self.assertRaises(Fault):
            w32(self.q, CCR, ccr(0x02, MAPPED, 1, 1))

    def test_unclocked_quadspi_ignores_writes(self):
        w32(self.m.models['rcc'], 0x38, 0)
        w32(self.q, DLR, 5)
        w32(self.m.models['rcc'], 0x38, 2)
        self.assertEqual(r32(self.q, DLR), 0)


if __name__ == '__main__':
    unittest.main()
