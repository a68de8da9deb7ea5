"""USB OTG FS in device mode (Synopsys DWC2 core), RM0385 §32 (STM32F74x/75x), polled, EP0 only.

The firmware side is the register file of RM0385 §32.15; the host side is one control transfer at a
time (`host_begin` … `host_result`), played packet by packet as a full-speed host does (USB 2.0 §8.5.3):
SETUP, then the data stage in 64-byte packets, then the status stage, each packet going through only
when the firmware has armed the endpoint (otherwise the host is NAKed and time passes).

Strict where the core is strict:
- EP0 OUT holds ONE packet per arm: DOEPTSIZ0 has a 7-bit XFRSIZ and a 1-bit PKTCNT (RM0385 §32.15.36),
  so a 4096-byte OUT data stage goes through only while the firmware re-enables EP0 OUT after each packet.
- The receive FIFO is one queue of 32-bit words, status words and data words together (§32.11.4 "Packet
  read"): GRXSTSP pops a status word, the data words follow in the FIFO window; a firmware that reads
  too few or too many data words sees what the hardware would show (a data word read as a status).
  Reading an empty RX FIFO, writing a full TX FIFO, or a SETUP that finds no room stops the run.
- FIFO sizes come from GRXFSIZ and DIEPTXF0 (§32.15.11, §32.15.12), in words.
- The device connects when the transceiver is powered (GCCFG.PWRDWN, §32.15.16), a B-session is valid
  (VBUS sensing off with GOTGCTL.BVALOEN/BVALOVAL overriding it, §32.15.1; with VBDEN set the board
  has no VBUS on PA9: the F746G-DISCO routes PA9 to the ST-LINK VCP) and DCTL.SDIS is cleared
  (§32.15.29). Setting SDIS again is a disconnect.
- After SET_ADDRESS the host talks to the new address: a device whose DCFG.DAD does not match never
  sees the next SETUP (the host times out).
Any register not listed here stops the run naming its address (base.py).
"""
from __future__ import annotations

from .base import Peripheral

# Core global registers (RM0385 §32.15.1–§32.15.21)
GOTGCTL, GOTGINT, GAHBCFG, GUSBCFG, GRSTCTL, GINTSTS, GINTMSK = 0x000, 0x004, 0x008, 0x00C, 0x010, 0x014, 0x018
GRXSTSR, GRXSTSP, GRXFSIZ, DIEPTXF0, GCCFG, CID = 0x01C, 0x020, 0x024, 0x028, 0x038, 0x03C
GLPMCFG = 0x054
HPTXFSIZ = 0x100
# Device registers (§32.15.27–§32.15.44)
DCFG, DCTL, DSTS, DIEPMSK, DOEPMSK, DAINT, DAINTMSK = 0x800, 0x804, 0x808, 0x810, 0x814, 0x818, 0x81C
DVBUSDIS, DVBUSPULSE, DIEPEMPMSK = 0x828, 0x82C, 0x834
DIEPCTL0, DIEPINT0, DIEPTSIZ0, DTXFSTS0 = 0x900, 0x908, 0x910, 0x918
DOEPCTL0, DOEPINT0, DOEPTSIZ0 = 0xB00, 0xB08, 0xB10
PCGCCTL = 0xE00
FIFO_BASE = 0x1000  # §32.14 "CSR memory map": DFIFO0 at 0x1000, one 4 KB window per endpoint
N_EP = 6  # OTG FS has 6 IN and 6 OUT endpoints on the F74x (§32.3 "OTG_FS implementation")

# GINTSTS bits (§32.15.6)
CMOD, MMIS, OTGINT, SOF, RXFLVL, NPTXFE, GINAKEFF, GONAKEFF = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7
ESUSP, USBSUSP, USBRST, ENUMDNE, EOPF, IEPINT, OEPINT = 1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 15, 1 << 18, 1 << 19
PTXFE, RSTDET, CIDSCHG, DISCINT, SRQINT, WKUPINT = 1 << 26, 1 << 23, 1 << 28, 1 << 29, 1 << 30, 1 << 31
GINTSTS_RC_W1 = MMIS | SOF | ESUSP | USBSUSP | USBRST | ENUMDNE | (1 << 14) | EOPF | (1 << 20) | (1 << 21) | RSTDET | CIDSCHG | DISCINT | SRQINT | WKUPINT
# DxEPCTL bits (§32.15.33, §32.15.37)
EPENA, EPDIS, SNAK, CNAK, STALL, NAKSTS, USBAEP = 1 << 31, 1 << 30, 1 << 27, 1 << 26, 1 << 21, 1 << 17, 1 << 15
# DIEPINTx / DOEPINTx bits (§32.15.35, §32.15.39)
XFRC, EPDISD, STUP, TXFE = 1 << 0, 1 << 1, 1 << 3, 1 << 7
# PKTSTS values (§32.15.9, device mode)
PKT_GONAK, PKT_OUT_DATA, PKT_OUT_DONE, PKT_SETUP_DONE, PKT_SETUP_DATA = 1, 2, 3, 4, 6

MPS = 64
# Full-speed wire time of one packet: sync + PID + data + CRC16 + EOP, with NRZI stuffing and the
# handshake, about (bytes + 12) bit-times x 8 at 12 Mb/s (USB 2.0 §5.11.3 budget).
def wire_ns(nbytes: int) -> int:
    return (nbytes + 12) * 8 * 1000 // 12

IDLE_POLLS = 8


class StopRun(Exception):
    pass


class OtgFs(Peripheral):
    name = 'otg_fs'
    base = 0x50000000
    size = 0x40000  # registers + the FIFO windows (RM0385 Table 1: 0x5000 0000 - 0x5003 FFFF)

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.reset()
        # host side
        self.connected = False
        self.host_addr = 0
        self.enumerated = False
        self.transfer = None
        self.idle_polls = 0
        self.idle = False
        self.on_change = None  # machine hook: connect/disconnect events

    # ---- reset values (RM0385 §32.15: "Reset value" of each register) ----------------------------
    def reset(self) -> None:
        self.r = {
            GOTGCTL: 0x00010000,  # CIDSTS = 1 (B-device)
            GOTGINT: 0, GAHBCFG: 0, GUSBCFG: 0x00001440, GINTMSK: 0,
            GRXFSIZ: 0x200, DIEPTXF0: 0x02000200, GCCFG: 0, CID: 0x00002000, GLPMCFG: 0,
            HPTXFSIZ: 0x02000600,
            DCFG: 0x02200000, DCTL: 0x00000002, DIEPMSK: 0, DOEPMSK: 0, DAINTMSK: 0,
            DVBUSDIS: 0x17D7, DVBUSPULSE: 0x5B8, DIEPEMPMSK: 0, PCGCCTL: 0,
        }
        for i in range(1, N_EP):
            self.r[0x104 + 4 * (i - 1)] = 0x02000400  # DIEPTXFx
        self.gintsts = PTXFE | NPTXFE  # §32.15.6 reset value 0x0400 0020
        self.diepctl = [0] * N_EP
        self.doepctl = [0] * N_EP
        self.diepint = [TXFE] + [TXFE] * (N_EP - 1)
        self.doepint = [0] * N_EP
        self.dieptsiz = [0] * N_EP
        self.doeptsiz = [0] * N_EP
        self.diepctl[0] = USBAEP
        self.doepctl[0] = USBAEP
        # NAK state per endpoint (read back as NAKSTS; SNAK/CNAK are write-only, §32.15.33/37)
        self.in_nakf = [False] * N_EP
        self.out_nakf = [True] * N_EP
        self.rx: list[tuple[str, int]] = []  # ('s', status word) | ('d', data word)
        self.tx0: list[int] = []  # words
        self.tx_pending_bytes = 0
        self.last_sof_ms = -1
        if hasattr(self, 'connected'):
            self.update_connection()  # RCC_AHB2RSTR.OTGFSRST: SDIS is set again, the device leaves

    def _rcc(self):
        try:
            return self.m.peripheral('rcc')
        except KeyError:
            return None  # a machine without an RCC model (tests of this model alone)

    def clocked(self) -> bool:
        """RM0385 §5.3.11 AHB2ENR.OTGFSEN: an unclocked OTG core ignores writes and reads 0."""
        rcc = self._rcc()
        return rcc is None or rcc.accessible('otg_fs')

    def clk48_ok(self) -> bool:
        """The full-speed bit rate needs 48 MHz within ±0.25 % (USB 2.0 §7.1.11); OTG FS takes it from
        CK48MSEL's source (RM0385 §5.2, §32.4.2). Otherwise no packet is understood."""
        rcc = self._rcc()
        if rcc is None or not hasattr(rcc, 'clk48_hz'):
            return True
        return abs(rcc.clk48_hz() - 48_000_000) <= 120_000

    # ---- helpers ---------------------------------------------------------------------------------
    def rx_depth(self) -> int:
        return self.r[GRXFSIZ] & 0xFFFF

    def tx0_depth(self) -> int:
        return (self.r[DIEPTXF0] >> 16) & 0xFFFF

    def rx_free(self) -> int:
        return self.rx_depth() - len(self.rx)

    def push_rx(self, pktsts: int, data: bytes, ep: int = 0, dpid: int = 0) -> None:
        words = (len(data) + 3) // 4
        self.rx.append(('s', (ep & 0xF) | (len(data) << 4) | (dpid << 15) | (pktsts << 17)))
        padded = bytes(data) + b'\0' * (words * 4 - len(data))
        for i in range(words):
            self.rx.append(('d', int.from_bytes(padded[4 * i:4 * i + 4], 'little')))

    def session_valid(self) -> bool:
        g = self.r[GCCFG]
        if not g & (1 << 16):  # PWRDWN: transceiver off
            return False
        if g & (1 << 21):  # VBDEN: VBUS sensing on PA9, which carries no VBUS on this board
            return False
        o = self.r[GOTGCTL]
        return bool(o & (1 << 6)) and bool(o & (1 << 7))  # BVALOEN, BVALOVAL

    def update_connection(self) -> None:
        want = self.session_valid() and not (self.r[DCTL] & 2) and not (self.r[PCGCCTL] & 1)
        if want != self.connected:
            self.connected = want
            if not want:
                self.enumerated = False
                self.host_addr = 0
                if self.transfer is not None and self.transfer['result'] is None:
                    self.transfer['result'] = {'status': 'disconnected'}
            if self.on_change:
                self.on_change('connect' if want else 'disconnect')

    def daint(self) -> int:
        v = 0
        for i in range(N_EP):
            if self.diepint[i] & (self.r[DIEPMSK] | ((1 << 7) if (self.r[DIEPEMPMSK] >> i) & 1 else 0)):
                v |= 1 << i
            if self.doepint[i] & self.r[DOEPMSK]:
                v |= 1 << (16 + i)
        return v

    def gintsts_value(self) -> int:
        v = self.gintsts & ~(RXFLVL | IEPINT | OEPINT | GINAKEFF | GONAKEFF | CMOD)
        if any(k == 's' for k, _ in self.rx):
            v |= RXFLVL
        d = self.daint() & self.r[DAINTMSK]
        if d & 0xFFFF:
            v |= IEPINT
        if d >> 16:
            v |= OEPINT
        if self.r[DCTL] & (1 << 2):
            v |= GINAKEFF
        if self.r[DCTL] & (1 << 3):
            v |= GONAKEFF
        # SOF every 1 ms frame once enumerated (§32.15.6 SOF; DSTS.FNSOF)
        if self.enumerated:
            ms = self.m.now_ns // 1_000_000
            if ms != self.last_sof_ms:
                self.last_sof_ms = ms
                self.gintsts |= SOF
                v |= SOF
        return v

    def note_poll(self, value: int) -> None:
        """Idle detection: a GINTSTS read that shows nothing to do while the host has nothing pending."""
        # The host retrying a NAKed token raises no interrupt: a stalled transfer is idle as well.
        if not (value & (RXFLVL | IEPINT | OEPINT | USBRST | ENUMDNE)):
            self.idle_polls += 1
            if self.idle_polls >= IDLE_POLLS and not self.idle:
                self.idle = True
                stop = getattr(self.m, 'on_idle', None)
                if stop is not None:
                    stop()
        else:
            self.idle_polls = 0

    # ---- firmware side ---------------------------------------------------------------------------
    def read(self, offset: int, size: int) -> int:
        if not self.clocked():
            self.m.log(f'OTG FS read at 0x{self.base + offset:08x} while RCC_AHB2ENR.OTGFSEN = 0: reads 0 (RM0385 §5.3.11)')
            return 0
        if size != 4:
            self.m.fault(f'OTG FS register 0x{self.base + offset:08x} read with a {size}-byte access (RM0385 §32.15: 32-bit access only)')
        if offset >= FIFO_BASE:
            return self.fifo_read()
        o = offset
        if o == GINTSTS:
            v = self.gintsts_value()
            self.note_poll(v)
            return v
        if o in (GRXSTSR, GRXSTSP):
            if not self.rx:
                self.m.fault('OTG FS GRXSTSR/GRXSTSP read with the RX FIFO empty (RM0385 §32.15.9: only when RXFLVL is set)')
            kind, word = self.rx[0]
            if o == GRXSTSP:
                self.rx.pop(0)
                if kind == 's':
                    self.popped(word)
            self.idle_polls = 0
            return word
        if o == GRSTCTL:
            return 0x80000000  # AHBIDL; CSRST and the flushes complete at once (§32.15.5)
        if o == DSTS:
            v = 0
            if self.enumerated:
                v |= 3 << 1  # ENUMSPD = 11: full speed (48 MHz PHY clock) §32.15.30
                v |= ((self.m.now_ns // 1_000_000) & 0x3FFF) << 8
            return v
        if o == DAINT:
            return self.daint()
        if o == GOTGINT:
            return self.r[GOTGINT]
        if o == GCCFG:
            return self.r[GCCFG] & 0xFFFF0000
        if o == GOTGCTL:
            v = self.r[GOTGCTL] & ~((1 << 19) | (1 << 18))
            if self.session_valid() or (self.r[GOTGCTL] & 0xC0) == 0xC0:
                v |= 1 << 19  # BSVLD
            return v
        ep = self.ep_reg(o)
        if ep is not None:
            kind, n = ep
            if kind == 'diepctl':
                v = self.diepctl[n]
                return v | NAKSTS if self.in_nak(n) else v
            if kind == 'doepctl':
                v = self.doepctl[n]
                return v | NAKSTS if self.out_nak(n) else v
            if kind == 'diepint':
                v = self.diepint[n] & ~TXFE
                if n == 0 and not self.tx0:
                    v |= TXFE
                elif n != 0:
                    v |= TXFE
                return v
            if kind == 'doepint':
                return self.doepint[n]
            if kind == 'dieptsiz':
                return self.dieptsiz[n]
            if kind == 'doeptsiz':
                return self.doeptsiz[n]
            if kind == 'dtxfsts':
                return self.tx0_depth() - len(self.tx0) if n == 0 else ((self.r[0x104 + 4 * (n - 1)] >> 16) & 0xFFFF)
        if o in self.r:
            return self.r[o]
        self.m.unmodelled(self.base + offset, size, False)
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        if not self.clocked():
            self.m.log(f'OTG FS write at 0x{self.base + offset:08x} while RCC_AHB2ENR.OTGFSEN = 0: ignored (RM0385 §5.3.11)')
            return
        if size != 4:
            self.m.fault(f'OTG FS register 0x{self.base + offset:08x} written with a {size}-byte access (RM0385 §32.15: 32-bit access only)')
        self.idle_polls = 0
        if offset >= FIFO_BASE:
            self.fifo_write((offset - FIFO_BASE) >> 12, value)
            return
        o = offset
        if o == GINTSTS:
            self.gintsts &= ~(value & GINTSTS_RC_W1)
            return
        if o == GOTGINT:
            self.r[GOTGINT] &= ~value
            return
        if o == GRSTCTL:
            if value & 1:  # CSRST: core soft reset, clears the interrupts and FIFOs, keeps CSRs (§32.15.5)
                self.rx.clear()
                self.tx0.clear()
                self.gintsts = PTXFE | NPTXFE
                for i in range(N_EP):
                    self.diepctl[i] &= ~(EPENA | STALL)
                    self.doepctl[i] &= ~(EPENA | STALL)
            if value & (1 << 4):  # RXFFLSH
                self.rx.clear()
            if value & (1 << 5):  # TXFFLSH, TXFNUM 0 or 0x10 (all)
                num = (value >> 6) & 0x1F
                if num in (0, 0x10):
                    self.tx0.clear()
            self.host_step()
            return
        if o == DCTL:
            v = value & ~((1 << 7) | (1 << 8) | (1 << 9) | (1 << 10))  # SGINAK/CGINAK/SGONAK/CGONAK are write-only
            st = self.r[DCTL] & ((1 << 2) | (1 << 3))
            if value & (1 << 7):
                st |= 1 << 2
            if value & (1 << 8):
                st &= ~(1 << 2)
            if value & (1 << 9):
                st |= 1 << 3
            if value & (1 << 10):
                st &= ~(1 << 3)
            self.r[DCTL] = (v & ~((1 << 2) | (1 << 3))) | st
            self.update_connection()
            self.host_step()
            return
        if o in (GCCFG, GOTGCTL, PCGCCTL):
            self.r[o] = value
            self.update_connection()
            return
        ep = self.ep_reg(o)
        if ep is not None:
            kind, n = ep
            if kind == 'diepctl':
                self.write_ctl(self.diepctl, n, value, is_in=True)
            elif kind == 'doepctl':
                self.write_ctl(self.doepctl, n, value, is_in=False)
            elif kind == 'diepint':
                self.diepint[n] &= ~value
            elif kind == 'doepint':
                self.doepint[n] &= ~value
            elif kind == 'dieptsiz':
                # EP0: XFRSIZ 6:0, PKTCNT 20:19 (§32.15.34)
                self.dieptsiz[n] = value & ((0x7F | (3 << 19)) if n == 0 else 0x7FFFFFFF)
            elif kind == 'doeptsiz':
                # EP0: XFRSIZ 6:0, PKTCNT bit 19, STUPCNT 30:29 (§32.15.36)
                self.doeptsiz[n] = value & ((0x7F | (1 << 19) | (3 << 29)) if n == 0 else 0x7FFFFFFF)
            elif kind == 'dtxfsts':
                pass  # read-only
            self.host_step()
            return
        if o in self.r and o not in (DAINT, DSTS):
            self.r[o] = value
            self.host_step()
            return
        self.m.unmodelled(self.base + offset, size, True, value)

    def ep_reg(self, o: int):
        if 0x900 <= o < 0x900 + 0x20 * N_EP:
            n, r = divmod(o - 0x900, 0x20)
            return {0x0: ('diepctl', n), 0x8: ('diepint', n), 0x10: ('dieptsiz', n), 0x18: ('dtxfsts', n)}.get(r)
        if 0xB00 <= o < 0xB00 + 0x20 * N_EP:
            n, r = divmod(o - 0xB00, 0x20)
            return {0x0: ('doepctl', n), 0x8: ('doepint', n), 0x10: ('doeptsiz', n)}.get(r)
        return None

    def write_ctl(self, regs: list[int], n: int, value: int, is_in: bool) -> None:
        cur = regs[n]
        naks = self.in_nakf if is_in else self.out_nakf
        if value & CNAK:
            naks[n] = False
        if value & SNAK:
            naks[n] = True
        keep_ro = USBAEP if n == 0 else 0
        new = (value & ~(CNAK | SNAK | NAKSTS | EPDIS)) | keep_ro
        if n == 0:
            new = (new & ~(3 << 18)) | USBAEP  # EPTYP = control, read-only
            if not is_in:
                new = (new & ~3) | (cur & 3)  # DOEPCTL0.MPSIZ is read-only: mirrors DIEPCTL0 (§32.15.37)
        if not value & EPENA:
            new = (new & ~EPENA) | (cur & EPENA)  # EPENA is set by software, cleared by the core
        if value & EPDIS and cur & EPENA:
            new &= ~EPENA
            (self.diepint if is_in else self.doepint)[n] |= EPDISD
        regs[n] = new
        if not is_in and n == 0:
            self.doepctl[0] = (self.doepctl[0] & ~3) | (self.diepctl[0] & 3)

    def in_nak(self, n: int) -> bool:
        return self.in_nakf[n] or bool(self.r[DCTL] & (1 << 2))

    def out_nak(self, n: int) -> bool:
        return self.out_nakf[n] or bool(self.r[DCTL] & (1 << 3))

    def ep0_mps(self) -> int:
        return {0: 64, 1: 32, 2: 16, 3: 8}[self.diepctl[0] & 3]

    def popped(self, status: int) -> None:
        """Status word popped: RM0385 §32.11.4 — popping "OUT transfer completed" raises DOEPINT.XFRC,
        popping "SETUP transaction completed" raises DOEPINT.STUP."""
        pkt = (status >> 17) & 0xF
        ep = status & 0xF
        if pkt == PKT_OUT_DONE:
            self.doepint[ep] |= XFRC
        elif pkt == PKT_SETUP_DONE:
            self.doepint[ep] |= STUP
        self.host_step()

    def fifo_read(self) -> int:
        if not self.rx:
            self.m.fault('OTG FS RX FIFO read while empty (RM0385 §32.11.4)')
            return 0
        kind, word = self.rx.pop(0)
        if kind == 's':
            self.popped(word)
        return word

    def fifo_write(self, ep: int, value: int) -> None:
        if ep != 0:
            self.m.unmodelled(self.base + FIFO_BASE + ep * 0x1000, 4, True, value)
            return
        if len(self.tx0) >= self.tx0_depth():
            self.m.fault(f'OTG FS TX FIFO 0 overflow: {self.tx0_depth()} words (DIEPTXF0.TX0FD) already written (RM0385 §32.11.5: check DTXFSTS0 first)')
            return
        self.tx0.append(value & 0xFFFFFFFF)
        self.host_step()

    # ---- host side -------------------------------------------------------------------------------
    def bus_reset(self) -> None:
        """The host's USB reset then speed enumeration (§32.4.x "Device enumeration"): USBRST, then ENUMDNE."""
        if not self.connected:
            return
        self.m.advance(10_000_000)  # USB 2.0 §7.1.7.5: reset signalling ≥ 10 ms
        self.gintsts |= USBRST | ENUMDNE
        # §32.15.33/37: on USB reset the core clears EP STALLs and sets NAK on OUT endpoints
        for i in range(N_EP):
            self.out_nakf[i] = True
            self.doepctl[i] &= ~STALL
            self.diepctl[i] &= ~STALL
        self.r[DCFG] &= ~(0x7F << 4)  # a reset device answers at address 0
        self.host_addr = 0
        self.enumerated = True
        self.idle_polls = 0

    def host_begin(self, setup: bytes, data: bytes | None) -> None:
        if hasattr(self.m, 'idle_grow'):
            self.m.progress = True  # the host's request: the firmware's idle steps start small again
        bm = setup[0]
        wlen = setup[6] | (setup[7] << 8)
        self.transfer = {
            'setup': setup, 'in': bool(bm & 0x80), 'wlen': wlen, 'out': data or b'', 'sent': 0,
            'phase': 'setup', 'got': bytearray(), 'result': None,
        }
        self.idle_polls = 0
        self.host_step()

    def host_step(self) -> None:
        t = self.transfer
        if t is None or t['result'] is not None:
            return
        if not self.connected:
            t['result'] = {'status': 'disconnected'}
            return
        progressed = True
        while progressed and t['result'] is None:
            progressed = self.host_once(t)

    def stalled(self, is_in: bool) -> bool:
        return bool((self.diepctl[0] if is_in else self.doepctl[0]) & STALL)

    def host_once(self, t) -> bool:
        ph = t['phase']
        if ph == 'setup':
            if not self.clk48_ok() or not self.clocked():
                return False  # the core cannot receive: the host's transfer times out
            if ((self.r[DCFG] >> 4) & 0x7F) != self.host_addr:
                return False  # nobody answers at this address: the host's transfer times out
            # SETUP is never NAKed (USB 2.0 §8.5.3); it needs 3 words for SETUP data + 1 for "done"
            if self.rx_free() < 4:
                self.m.fault(f'OTG FS RX FIFO overflow: no room for a SETUP packet (GRXFSIZ = {self.rx_depth()} words, RM0385 §32.11.3)')
                return False
            self.m.advance(wire_ns(8))
            stup = (self.doeptsiz[0] >> 29) & 3
            self.doeptsiz[0] = (self.doeptsiz[0] & ~(3 << 29)) | (max(stup - 1, 0) << 29)
            # §32.15.33/37: the core clears STALL on EP0 when a SETUP token arrives
            self.diepctl[0] &= ~STALL
            self.doepctl[0] &= ~STALL
            self.push_rx(PKT_SETUP_DATA, t['setup'])
            self.push_rx(PKT_SETUP_DONE, b'')
            if t['in'] and t['wlen'] > 0:
                t['phase'] = 'in'
            elif not t['in'] and t['wlen'] > 0:
                t['phase'] = 'out'
            else:
                t['phase'] = 'status-in'
            return True
        if ph == 'in':
            if self.stalled(True):
                t['result'] = {'status': 'stall'}
                return False
            return self.take_in_packet(t, status=False)
        if ph == 'out':
            if self.stalled(False):
                t['result'] = {'status': 'stall'}
                return False
            if not (self.doepctl[0] & EPENA) or self.out_nak(0) or not (self.doeptsiz[0] & (1 << 19)):
                return False  # NAK: the endpoint is not armed
            chunk = t['out'][t['sent']:t['sent'] + MPS]
            if self.rx_free() < (len(chunk) + 3) // 4 + 2:
                return False  # NAK: no room in the RX FIFO
            self.m.advance(wire_ns(len(chunk)))
            self.push_rx(PKT_OUT_DATA, chunk)
            t['sent'] += len(chunk)
            self.out_packet_done(len(chunk))
            if t['sent'] >= t['wlen']:
                t['phase'] = 'status-in'
            return True
        if ph == 'status-in':
            if self.stalled(True):
                t['result'] = {'status': 'stall'}
                return False
            return self.take_in_packet(t, status=True)
        if ph == 'status-out':
            if self.stalled(False):
                t['result'] = {'status': 'stall'}
                return False
            if not (self.doepctl[0] & EPENA) or self.out_nak(0) or not (self.doeptsiz[0] & (1 << 19)):
                return False
            if self.rx_free() < 2:
                return False
            self.m.advance(wire_ns(0))
            self.push_rx(PKT_OUT_DATA, b'')
            self.out_packet_done(0)
            t['result'] = {'status': 'ok', 'data': bytes(t['got'])}
            return True
        return False

    def out_packet_done(self, n: int) -> None:
        """One packet into EP0 OUT: XFRSIZ and PKTCNT count down; PKTCNT 0 ends the transfer: the
        "OUT transfer completed" entry follows and the endpoint is disabled with NAK set (§32.11.4)."""
        siz = self.doeptsiz[0]
        xfr = max((siz & 0x7F) - n, 0)
        self.doeptsiz[0] = (siz & ~(0x7F | (1 << 19))) | xfr
        self.push_rx(PKT_OUT_DONE, b'')
        self.doepctl[0] &= ~EPENA
        self.out_nakf[0] = True

    def take_in_packet(self, t, status: bool) -> bool:
        ctl = self.diepctl[0]
        if not (ctl & EPENA) or self.in_nak(0):
            return False  # NAK
        siz = self.dieptsiz[0]
        xfr = siz & 0x7F
        pkt = (siz >> 19) & 3
        if pkt == 0:
            return False
        n = min(xfr, self.ep0_mps())
        words = (n + 3) // 4
        if len(self.tx0) < words:
            return False  # the packet is not in the FIFO yet: NAK
        data = b''.join(w.to_bytes(4, 'little') for w in self.tx0[:words])[:n]
        del self.tx0[:words]
        self.m.advance(wire_ns(n))
        xfr -= n
        pkt -= 1
        self.dieptsiz[0] = (siz & ~(0x7F | (3 << 19))) | xfr | (pkt << 19)
        if pkt == 0:
            self.diepctl[0] &= ~EPENA
            self.diepint[0] |= XFRC
        if status:
            if n != 0:
                self.m.fault('OTG FS: the device sent data in the status stage of an OUT control transfer')
            t['result'] = {'status': 'ok', 'data': b''}
            s = t['setup']
            if s[0] == 0x00 and s[1] == 5:  # SET_ADDRESS takes effect after its status stage (USB 2.0 §9.4.6)
                self.host_addr = s[2] & 0x7F
            return True
        room = t['wlen'] - len(t['got'])
        t['got'] += data[:room]
        if n < self.ep0_mps() or len(t['got']) >= t['wlen']:
            t['phase'] = 'status-out'
        return True

    def host_result(self):
        t = self.transfer
        if t is None or t['result'] is None:
            return None
        self.transfer = None
        return t['result']
