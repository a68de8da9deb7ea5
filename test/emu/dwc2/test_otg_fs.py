"""The OTG FS device model (bbemu/periph/otg_fs.py) pinned to RM0385 §32 (STM32F74x/75x), driven
register by register as firmware would, with the host side played by the model's own host engine."""
from __future__ import annotations

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'src-main', 'emu', 'python'))

from bbemu.periph import otg_fs as o  # noqa: E402


class Stopped(Exception):
    pass


class Machine:
    """Just enough of MachineApi: time, stops (raised), no other models (the core is always clocked)."""

    def __init__(self) -> None:
        self.now_ns = 0
        self.events: list[str] = []

    def advance(self, ns: int) -> None:
        self.now_ns += ns

    def busy_poll(self, until_ns: int) -> None:
        self.advance(min(until_ns - self.now_ns, 1_000_000))

    def peripheral(self, name: str):
        raise KeyError(name)

    def unmodelled(self, address, size, write, value=None):
        raise Stopped(f'unmodelled 0x{address:08x}')

    def fault(self, reason: str):
        raise Stopped(reason)

    def system_reset(self, reason: str):
        raise Stopped(reason)

    def log(self, message: str) -> None:
        pass


def connected() -> tuple[Machine, o.OtgFs]:
    m = Machine()
    u = o.OtgFs(m)
    u.on_change = m.events.append
    u.write(o.GCCFG, 4, 1 << 16)                      # PWRDWN (§32.15.16)
    u.write(o.GOTGCTL, 4, (1 << 6) | (1 << 7))        # BVALOEN, BVALOVAL (§32.15.1)
    u.write(o.GRXFSIZ, 4, 128)
    u.write(o.DIEPTXF0, 4, (64 << 16) | 128)
    u.write(o.DCTL, 4, 0)                             # SDIS = 0: connect (§32.15.29)
    u.bus_reset()
    return m, u


def pop(u: o.OtgFs) -> tuple[int, int, bytes]:
    st = u.read(o.GRXSTSP, 4)
    n = (st >> 4) & 0x7FF
    data = b''.join(u.read(o.FIFO_BASE, 4).to_bytes(4, 'little') for _ in range((n + 3) // 4))[:n]
    return (st >> 17) & 0xF, n, data


def arm_out(u: o.OtgFs) -> None:
    u.write(o.DOEPTSIZ0, 4, (3 << 29) | (1 << 19) | 64)
    u.write(o.DOEPCTL0, 4, o.EPENA | o.CNAK)


def send_in(u: o.OtgFs, data: bytes) -> None:
    u.write(o.DIEPTSIZ0, 4, (1 << 19) | len(data))
    u.write(o.DIEPCTL0, 4, o.EPENA | o.CNAK)
    padded = data + b'\0' * (-len(data) % 4)
    for i in range(0, len(padded), 4):
        u.write(o.FIFO_BASE, 4, int.from_bytes(padded[i:i + 4], 'little'))


class Connection(unittest.TestCase):
    def test_connects_only_with_transceiver_session_and_sdis_clear(self):
        """§32.15.16 PWRDWN, §32.15.1 BVALOEN/BVALOVAL, §32.15.29 SDIS."""
        m = Machine()
        u = o.OtgFs(m)
        u.on_change = m.events.append
        u.write(o.DCTL, 4, 0)
        self.assertFalse(u.connected)                  # transceiver powered down
        u.write(o.GCCFG, 4, (1 << 16) | (1 << 21))     # VBDEN: no VBUS on PA9 on this board
        u.write(o.GOTGCTL, 4, 0xC0)
        self.assertFalse(u.connected)
        u.write(o.GCCFG, 4, 1 << 16)
        self.assertTrue(u.connected)
        u.write(o.DCTL, 4, 2)                          # soft disconnect
        self.assertEqual(m.events, ['connect', 'disconnect'])

    def test_registers_are_32_bit_only(self):
        """§32.15: "the application must access the core registers with 32-bit accesses"."""
        _, u = connected()
        with self.assertRaises(Stopped):
            u.read(o.GINTSTS, 1)

    def test_unlisted_register_stops_the_run(self):
        _, u = connected()
        with self.assertRaises(Stopped) as c:
            u.read(0x060, 4)
        self.assertIn('0x50000060', str(c.exception))

    def test_bus_reset_then_enumeration_done_full_speed(self):
        """§32.15.6 USBRST, ENUMDNE; §32.15.30 DSTS.ENUMSPD = 11 (full speed)."""
        _, u = connected()
        g = u.read(o.GINTSTS, 4)
        self.assertTrue(g & o.USBRST and g & o.ENUMDNE)
        self.assertEqual((u.read(o.DSTS, 4) >> 1) & 3, 3)
        u.write(o.GINTSTS, 4, o.USBRST | o.ENUMDNE)   # rc_w1
        self.assertFalse(u.read(o.GINTSTS, 4) & (o.USBRST | o.ENUMDNE))


class ControlTransfers(unittest.TestCase):
    def test_setup_is_received_unarmed_as_pktsts_6_then_4(self):
        """§32.15.9 PKTSTS: 0110 SETUP data packet received, 0100 SETUP transaction completed; popping
        the latter raises DOEPINT0.STUP (§32.15.39)."""
        _, u = connected()
        u.host_begin(bytes([0x80, 6, 0, 1, 0, 0, 18, 0]), None)
        self.assertTrue(u.read(o.GINTSTS, 4) & o.RXFLVL)
        pkt, n, data = pop(u)
        self.assertEqual((pkt, n, data), (o.PKT_SETUP_DATA, 8, bytes([0x80, 6, 0, 1, 0, 0, 18, 0])))
        self.assertFalse(u.read(o.DOEPINT0, 4) & o.STUP)
        self.assertEqual(pop(u)[0], o.PKT_SETUP_DONE)
        self.assertTrue(u.read(o.DOEPINT0, 4) & o.STUP)

    def test_ep0_out_takes_one_packet_per_arm(self):
        """§32.15.36 DOEPTSIZ0: XFRSIZ is 7 bits and PKTCNT 1 bit, so each arm takes one packet; the
        host is NAKed until the firmware enables EP0 OUT again."""
        _, u = connected()
        data = bytes(range(128))
        u.host_begin(bytes([0x41, 1, 0, 0, 0, 0, 128, 0]), data)
        pop(u), pop(u)
        self.assertFalse(u.read(o.GINTSTS, 4) & o.RXFLVL)        # not armed: NAK, nothing received
        arm_out(u)
        self.assertEqual(pop(u), (o.PKT_OUT_DATA, 64, data[:64]))
        self.assertEqual(pop(u)[0], o.PKT_OUT_DONE)
        self.assertFalse(u.read(o.GINTSTS, 4) & o.RXFLVL)        # one packet only
        self.assertFalse(u.read(o.DOEPCTL0, 4) & o.EPENA)         # the core disabled the endpoint
        self.assertTrue(u.read(o.DOEPCTL0, 4) & o.NAKSTS)
        arm_out(u)
        self.assertEqual(pop(u), (o.PKT_OUT_DATA, 64, data[64:]))
        pop(u)
        self.assertIsNone(u.host_result())                        # status stage still to come
        send_in(u, b'')
        self.assertEqual(u.host_result(), {'status': 'ok', 'data': b''})

    def test_in_data_is_collected_until_a_short_packet_and_needs_the_status_out(self):
        """USB 2.0 §8.5.3: the data stage ends with a short packet or wLength; the status stage is a
        zero-length OUT that EP0 OUT must be armed for (§32.15.37 EPENA/CNAK)."""
        _, u = connected()
        payload = bytes(range(100))
        u.host_begin(bytes([0xC1, 2, 0, 0, 0, 0, 0, 1]), None)   # wLength 256
        pop(u), pop(u)
        send_in(u, payload[:64])
        self.assertTrue(u.read(o.DIEPINT0, 4) & o.XFRC)
        u.write(o.DIEPINT0, 4, o.XFRC)
        send_in(u, payload[64:])                                  # 36 bytes: short packet
        self.assertIsNone(u.host_result())                        # waits for the status stage
        arm_out(u)
        self.assertEqual(pop(u)[:2], (o.PKT_OUT_DATA, 0))
        self.assertEqual(u.host_result(), {'status': 'ok', 'data': payload})

    def test_in_packet_waits_until_it_is_whole_in_the_tx_fifo(self):
        _, u = connected()
        u.host_begin(bytes([0x80, 6, 0, 1, 0, 0, 18, 0]), None)
        pop(u), pop(u)
        u.write(o.DIEPTSIZ0, 4, (1 << 19) | 18)
        u.write(o.DIEPCTL0, 4, o.EPENA | o.CNAK)
        u.write(o.FIFO_BASE, 4, 0x01020312)
        self.assertFalse(u.read(o.DIEPINT0, 4) & o.XFRC)          # 4 of 18 bytes: NAK
        self.assertEqual(u.read(o.DTXFSTS0, 4), 63)               # §32.15.37 INEPTFSAV in words

    def test_tx_fifo_overflow_stops_the_run(self):
        """§32.15.12 DIEPTXF0.TX0FD words; the firmware must check DTXFSTS0 (§32.11.5)."""
        _, u = connected()
        u.write(o.DIEPTXF0, 4, (2 << 16) | 128)
        u.write(o.FIFO_BASE, 4, 1)
        u.write(o.FIFO_BASE, 4, 2)
        with self.assertRaises(Stopped):
            u.write(o.FIFO_BASE, 4, 3)

    def test_rx_fifo_is_one_queue_of_words(self):
        """§32.11.4: a firmware that skips a packet's data words reads them as the next status."""
        _, u = connected()
        u.host_begin(bytes([0x80, 6, 0, 1, 0, 0, 18, 0]), None)
        u.read(o.GRXSTSP, 4)
        self.assertEqual(u.read(o.GRXSTSP, 4), 0x01000680)        # a data word, read as a status
        u.read(o.GRXSTSP, 4)
        u.read(o.GRXSTSP, 4)
        with self.assertRaises(Stopped):
            u.read(o.GRXSTSP, 4)                                   # empty

    def test_stall_answers_the_host_and_the_next_setup_clears_it(self):
        """§32.15.33 DIEPCTL0.STALL: "the core clears this bit when a SETUP token is received"."""
        _, u = connected()
        u.host_begin(bytes([0x80, 6, 0, 9, 0, 0, 18, 0]), None)
        pop(u), pop(u)
        u.write(o.DIEPCTL0, 4, o.STALL)
        self.assertEqual(u.host_result(), {'status': 'stall'})
        u.host_begin(bytes([0x80, 6, 0, 1, 0, 0, 18, 0]), None)
        self.assertFalse(u.read(o.DIEPCTL0, 4) & o.STALL)

    def test_after_set_address_the_host_uses_the_new_address(self):
        """USB 2.0 §9.4.6; DWC2 DCFG.DAD (§32.15.28) written before the status stage."""
        _, u = connected()
        u.host_begin(bytes([0x00, 5, 7, 0, 0, 0, 0, 0]), None)
        pop(u), pop(u)
        u.write(o.DCFG, 4, (u.read(o.DCFG, 4) & ~(0x7F << 4)) | (7 << 4))
        send_in(u, b'')
        self.assertEqual(u.host_result()['status'], 'ok')
        u.write(o.DCFG, 4, u.read(o.DCFG, 4) & ~(0x7F << 4))       # the firmware forgets its address
        u.host_begin(bytes([0x80, 6, 0, 1, 0, 0, 18, 0]), None)
        self.assertFalse(u.read(o.GINTSTS, 4) & o.RXFLVL)          # the SETUP went to address 7

    def test_disconnect_mid_transfer_answers_disconnected(self):
        _, u = connected()
        u.host_begin(bytes([0x80, 6, 0, 1, 0, 0, 18, 0]), None)
        u.write(o.DCTL, 4, 2)
        self.assertEqual(u.host_result(), {'status': 'disconnected'})


if __name__ == '__main__':
    unittest.main()
