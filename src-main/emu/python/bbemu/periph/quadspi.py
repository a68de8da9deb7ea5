"""QUADSPI of the STM32F74x/75x (RM0385 §13) with the board's N25Q128A behind bank 1: indirect write
and read through the 32-byte FIFO, automatic status polling (match, AND/OR, APMS, interval),
memory-mapped mode (`mapped_read` for the 0x90000000 window, routed by the machine), abort, and the
status flags. Transfer times on the wire are not modelled (tens of ns per byte); the part's busy times
are. Commands are checked against the part (line modes, address size, dummy cycles, clock)."""
from __future__ import annotations

from .base import MachineApi
from .n25q128a import N25q128a
from .regs import RegisterBlock, field, merge

CR, DCR, SR, FCR, DLR, CCR, AR, ABR, DR, PSMKR, PSMAR, PIR, LPTR = range(0, 0x34, 4)
SR_TEF, SR_TCF, SR_FTF, SR_SMF, SR_TOF, SR_BUSY = 1, 2, 4, 8, 16, 32   # §13.5.3
FIFO = 32                                                             # §13.3.4: 32-byte FIFO
CR_EN, CR_ABORT, CR_DMAEN, CR_TCEN = 1, 2, 4, 8
CR_DFM, CR_FSEL, CR_APMS, CR_PMM = 1 << 6, 1 << 7, 1 << 22, 1 << 23
IWRITE, IREAD, POLL, MAPPED = 0, 1, 2, 3                             # §13.5.6 FMODE


class Quadspi(RegisterBlock):
    name = 'quadspi'
    base = 0xA0001000
    size = 0x400

    def __init__(self, machine: MachineApi, board: dict) -> None:
        self.part = N25q128a(machine)
        super().__init__(machine)

    def reset(self) -> None:
        self.warned = False
        # §13.5.1–§13.5.13: every register resets to 0.
        self.cr = self.dcr = self.dlr = self.ccr = self.ar = self.abr = 0
        self.psmkr = self.psmar = self.pir = self.lptr = 0
        self.flags = 0                # TEF TCF SMF TOF
        self.op: str | None = None    # 'write' | 'read' | 'poll' | 'mapped'
        self.rx = bytearray()         # indirect read: bytes not yet popped from DR
        self.tx = bytearray()         # indirect write: bytes sent so far (or queued before the start)
        self.need = 0
        self.poll_start = 0
        self.poll_period = 0
        self.match_at: int | None = None
        self.last_status = 0
        self.mapped_busy = False
        self.last_mapped_ns = 0
        self.cmd = None
        self.addr: int | None = None

    # --- helpers ----------------------------------------------------------------------------------
    def fmode(self) -> int:
        return field(self.ccr, 26, 2)

    def flash_bytes(self) -> int:
        return 1 << (field(self.dcr, 16, 5) + 1)      # §13.5.2 FSIZE: 2^(FSIZE+1) bytes

    def sck_hz(self) -> int:
        hclk = self.m.peripheral('rcc').hclk_hz()  # type: ignore[attr-defined]
        return hclk // (field(self.cr, 24, 8) + 1)    # §13.5.1 PRESCALER: F = F(QUADSPI) / (P + 1)

    def busy(self) -> bool:
        # §13.3.13: BUSY while an operation is ongoing; in indirect read until the FIFO is emptied;
        # in memory-mapped mode once an access has started, until ABORT.
        if self.op == 'read':
            return bool(self.rx)
        if self.op == 'mapped':
            return self.mapped_busy
        return self.op is not None

    def _clocked(self) -> bool:
        rcc = self.m.peripheral('rcc')
        if rcc.accessible('quadspi'):  # type: ignore[attr-defined]
            return True
        if not self.warned:
            self.warned = True
            self.m.log('QUADSPI: access while RCC_AHB3ENR.QSPIEN = 0 or in reset: writes lost, reads 0 (RM0385 §5.3.12)')
        return False

    def _check_command(self) -> None:
        c = self.ccr
        self.cmd = self.part.check(
            code=c & 0xFF, imode=field(c, 8, 2), admode=field(c, 10, 2), adsize=field(c, 12, 2),
            abmode=field(c, 14, 2), dcyc=field(c, 18, 5), dmode=field(c, 24, 2), ddr=bool(c >> 31),
            sck_hz=self.sck_hz())

    # --- command start (§13.3.4 "Triggering the start of a command") -------------------------------
    def _start(self) -> None:
        if not self.cr & CR_EN:
            self.m.fault('QUADSPI: a command was triggered with CR.EN = 0 (RM0385 §13.5.1: enable QUADSPI first)')
        self._check_command()
        code = self.ccr & 0xFF
        has_addr = field(self.ccr, 10, 2) != 0
        has_data = field(self.ccr, 24, 2) != 0
        if has_addr and self.ar >= self.flash_bytes():
            # §13.5.3 TEF: "set in indirect mode when a wrong address has been programmed in AR
            # (according to the Flash memory size defined by FSIZE)".
            self.flags |= SR_TEF
            return
        length = self.dlr + 1
        undefined = self.dlr == 0xFFFFFFFF
        mode = self.fmode()
        # The data direction must be the part's: data from the part in indirect read / polling, to
        # the part in indirect write.
        if has_data and (mode == IWRITE) != (self.cmd.kind in ('write', 'program')):
            self.m.fault(f'QUADSPI: {self.cmd.name} (0x{code:02X}) in indirect '
                         f'{"write" if mode == IWRITE else "read"} mode: the part '
                         f'{"sends" if mode == IWRITE else "expects"} the data')
        addr = self.ar if has_addr else None
        if mode == IREAD:
            if undefined:           # §13.5.5: read up to the end of the memory defined by FSIZE
                length = self.flash_bytes() - (self.ar if has_addr else 0)
            self.rx = bytearray(self.part.transaction(code, addr, None, length if has_data else 0))
            self.flags |= SR_TCF if len(self.rx) <= FIFO else 0
            self.op = 'read' if self.rx else None
            if not has_data:
                self.flags |= SR_TCF
        elif mode == IWRITE:
            if not has_data:
                self.part.transaction(code, addr, None, 0)
                self.flags |= SR_TCF
                self.op = None
                return
            if undefined:
                self.m.fault('QUADSPI: indirect write with DLR = 0xFFFFFFFF (undefined length) is not modelled')
            self.need = length
            self.op = 'write'
            self.addr = addr
            self._write_progress()
        elif mode == POLL:
            if not has_data or length > 4 or self.cmd.kind != 'reg':
                self.m.fault(f'QUADSPI: automatic polling needs a register-read command with 1–4 data bytes '
                             f'(RM0385 §13.3.5; got 0x{code:02X}, DLR {self.dlr})')
            self.need = length
            self.op = 'poll'
            self.poll_start = self.m.now_ns
            # One poll: instruction (8 cycles at 1 line), data, plus PIR interval cycles (§13.5.12).
            lines = {1: 1, 2: 2, 3: 4}[field(self.ccr, 24, 2)]
            cycles = 8 + (8 * length) // lines + max(1, self.pir)
            self.poll_period = max(1, cycles * 1_000_000_000 // max(1, self.sck_hz()))
            self.match_at = self._first_match()
            self._poll_update()

    def _status_value(self, at: int) -> int:
        return int.from_bytes(self.part.register_bytes(self.ccr & 0xFF, self.need, at=at), 'little')

    def _matches(self, value: int) -> bool:
        # §13.3.5: AND mode (PMM = 0): all unmasked bits equal PSMAR; OR mode: any one of them does.
        same = ~(value ^ self.psmar) & self.psmkr & ((1 << (8 * self.need)) - 1)
        mask = self.psmkr & ((1 << (8 * self.need)) - 1)
        return same != 0 if self.cr & CR_PMM else same == mask

    def _first_match(self) -> int | None:
        first = self.poll_start + self.poll_period
        if self._matches(self._status_value(first)):
            return first
        change = self.part.next_change_ns()
        if change is None or change <= first:
            return None
        k = -(-(change - self.poll_start) // self.poll_period)
        t = self.poll_start + k * self.poll_period
        return t if self._matches(self._status_value(t)) else None

    def _poll_update(self) -> None:
        if self.op != 'poll':
            return
        now = self.m.now_ns
        polls = (now - self.poll_start) // self.poll_period
        if polls >= 1:
            self.last_status = self._status_value(self.poll_start + polls * self.poll_period)
        if self.match_at is not None and now >= self.match_at:
            self.flags |= SR_SMF
            if self.cr & CR_APMS:
                # §13.5.1 APMS: automatic-poll mode stops as soon as there is a match.
                self.last_status = self._status_value(self.match_at)
                self.op = None
        # No match ever (match_at None): it polls on; the firmware's timeout or a watchdog ends it.

    def _write_progress(self) -> None:
        if self.op == 'write' and len(self.tx) >= self.need:
            data = bytes(self.tx[:self.need])
            if len(self.tx) > self.need:
                self.m.log(f'QUADSPI: {len(self.tx) - self.need} bytes written to DR beyond DLR + 1 are dropped')
            self.tx = bytearray()
            self.op = None
            self.part.transaction(self.ccr & 0xFF, self.addr, data, 0)   # nCS rises: the part acts
            self.flags |= SR_TCF                                       # §13.5.3 TCF

    def _abort(self) -> None:
        # §13.3.13: ABORT stops the operation, flushes the FIFO; TCF is set; ABORT clears itself.
        if self.op == 'write' and self.tx:
            self.m.log(f'QUADSPI: abort after {len(self.tx)} of {self.need} data bytes: the command is not '
                       'executed (assumed: the part needs the whole transfer)')
        if self.op is not None or self.rx or self.tx:
            self.flags |= SR_TCF
        self.op = None
        self.rx = bytearray()
        self.tx = bytearray()
        self.mapped_busy = False

    # --- memory-mapped window (§13.3.6) -------------------------------------------------------------
    def mapped_read(self, offset: int, size: int) -> int:
        if not self._clocked() or not self.cr & CR_EN or self.fmode() != MAPPED:
            self.m.fault(f'read of the QSPI window at 0x{0x90000000 + offset:08X} while QUADSPI is not in '
                         'memory-mapped mode (RM0385 §13.3.6: the access is an AHB bus error)')
            return 0
        if offset + size > self.flash_bytes():
            self.m.fault(f'read of the QSPI window at 0x{0x90000000 + offset:08X} beyond FSIZE '
                         f'({self.flash_bytes()} bytes; RM0385 §13.3.6: AHB bus error)')
            return 0
        self.mapped_busy = True
        self.last_mapped_ns = self.m.now_ns
        self.flags &= ~SR_TOF
        return self.part.mapped_read(offset, size)

    # --- data register --------------------------------------------------------------------------
    def read(self, offset: int, size: int) -> int:
        if offset == DR and size in (1, 2, 4):
            return self._read_dr(size)
        if offset & ~3 == DR:
            self._dr_lane(offset, size)
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == DR and size in (1, 2, 4):
            self._write_dr(size, value)
            return
        if offset & ~3 == DR:
            self._dr_lane(offset, size)
        super().write(offset, size, value)

    def _dr_lane(self, offset: int, size: int) -> None:
        # §13.5.9: DR is accessed as a byte, half-word or word at its own address; an access to its
        # upper lanes alone is not a FIFO access the manual describes.
        self.m.fault(f'QUADSPI: {size}-byte access at DR + {offset - DR} (RM0385 §13.5.9: access DR at 0x{self.base + DR:08X})')

    def _read_dr(self, size: int) -> int:
        if not self._clocked():
            return 0
        if self.op == 'poll' or (self.op is None and self.fmode() == POLL):
            self._poll_update()
            return self.last_status & ((1 << (8 * size)) - 1)   # §13.5.9: the last status read
        if self.fmode() != IREAD or not self.rx:
            self.m.fault('QUADSPI: DR read with an empty FIFO and no indirect read running: the AHB '
                         'access would stall for ever (RM0385 §13.3.4)')
            return 0
        chunk = bytes(self.rx[:size])
        del self.rx[:size]
        if len(self.rx) <= FIFO:
            self.flags |= SR_TCF
        if not self.rx:
            self.op = None
        return int.from_bytes(chunk.ljust(size, b'\0'), 'little')

    def _write_dr(self, size: int, value: int) -> None:
        if not self._clocked():
            return
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, 'little')
        if self.op == 'write':
            self.tx += data
            self._write_progress()
            return
        if self.op is None and self.fmode() == IWRITE:
            # §13.3.4: data may be queued before the command starts (address not yet written);
            # without address the first DR write starts the command.
            self.tx += data
            if len(self.tx) > FIFO:
                self.m.fault('QUADSPI: more than 32 bytes written to DR before the command started: the '
                             'AHB write would stall for ever (RM0385 §13.3.4)')
            if field(self.ccr, 10, 2) == 0 and field(self.ccr, 24, 2) != 0:
                self._start()
            return
        self.m.fault('QUADSPI: DR written outside indirect write mode (RM0385 §13.5.9)')

    # --- registers ------------------------------------------------------------------------------
    def tick(self) -> None:
        self._poll_update()

    def read_reg(self, offset: int) -> int | None:
        if offset > LPTR:
            return None
        if not self._clocked():
            return 0
        if offset == SR:
            self._poll_update()
            if self.op == 'poll' and not self.flags & SR_SMF:
                self.m.busy_poll(self.match_at if self.match_at is not None else self.m.now_ns + 1_000_000)
                self._poll_update()
            self._timeout()
            return self._sr()
        return {CR: self.cr, DCR: self.dcr, FCR: 0, DLR: self.dlr, CCR: self.ccr, AR: self.ar,
                ABR: self.abr, PSMKR: self.psmkr, PSMAR: self.psmar, PIR: self.pir, LPTR: self.lptr}[offset]

    def _timeout(self) -> None:
        # §13.3.6 / §13.5.13: with TCEN, nCS is released after TIMEOUT cycles without access (TOF).
        if self.op == 'mapped' and self.mapped_busy and self.cr & CR_TCEN:
            cycles = (self.m.now_ns - self.last_mapped_ns) * max(1, self.sck_hz()) // 1_000_000_000
            if cycles >= self.lptr:
                self.flags |= SR_TOF

    def _sr(self) -> int:
        if self.op == 'read':
            level = min(FIFO, len(self.rx))
        elif self.op is None and self.fmode() == IWRITE:
            level = len(self.tx)
        else:
            level = 0
        thres = field(self.cr, 8, 5) + 1
        ftf = False
        if self.op == 'read':
            # §13.5.3 FTF (read): FLEVEL ≥ threshold, or data left in the FIFO after the transfer.
            ftf = level >= thres or (bool(self.flags & SR_TCF) and level > 0)
        elif self.op == 'write':
            ftf = FIFO - level >= thres        # (write): free space ≥ threshold
        return (self.flags | (SR_FTF if ftf else 0) | (SR_BUSY if self.busy() else 0)) | level << 8

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        if offset > LPTR:
            return False
        if not self._clocked():
            return True
        if offset == CR:
            if value & mask & CR_ABORT:
                self._abort()
            new = merge(self.cr, value, mask, 0xFFDF1FDD)
            if self.busy() and (new ^ self.cr) & 0xFFC000F0:
                self.m.fault('QUADSPI: CR PRESCALER/PMM/APMS/FSEL/DFM/SSHIFT changed while BUSY (RM0385 '
                             '§13.5.1: these fields can be modified only when BUSY = 0)')
            if new & CR_DMAEN:
                self.m.fault('QUADSPI: DMAEN — DMA transfers are not modelled')
            if new & (CR_DFM | CR_FSEL):
                self.m.fault('QUADSPI: dual-flash mode / flash 2 selected, but the board has one N25Q128A on bank 1')
            self.cr = new
            if not self.cr & CR_EN and self.op is not None:
                self.m.log('QUADSPI: disabled (EN = 0) during an operation')
            return True
        if offset == FCR:
            self.flags &= ~(value & mask & (SR_TEF | SR_TCF | SR_SMF | SR_TOF))   # §13.5.4
            return True
        if offset == SR:
            return True                                                      # read-only
        if offset == DR:
            return True                                                      # handled in write()
        if self.busy():
            names = {DCR: 'DCR', DLR: 'DLR', CCR: 'CCR', AR: 'AR', ABR: 'ABR', PSMKR: 'PSMKR',
                     PSMAR: 'PSMAR', PIR: 'PIR', LPTR: 'LPTR'}
            self.m.fault(f'QUADSPI: {names[offset]} written while BUSY (RM0385 §13.5: "can be modified only '
                         'when BUSY = 0"; abort first)')
            return True
        if offset == DCR:
            self.dcr = merge(self.dcr, value, mask, 0x001F0701)
        elif offset == DLR:
            self.dlr = merge(self.dlr, value, mask, 0xFFFFFFFF)
        elif offset == CCR:
            self.ccr = merge(self.ccr, value, mask, 0xDFFFFFFF)
            self.op = None
            mode = self.fmode()
            if mode == MAPPED:
                self._check_command()
                if self.cmd.kind != 'read':
                    self.m.fault(f'QUADSPI: memory-mapped mode with {self.cmd.name} (0x{self.ccr & 0xFF:02X}), '
                                 'not a read command (RM0385 §13.3.6)')
                if not self.cr & CR_EN:
                    self.m.log('QUADSPI: memory-mapped mode selected with EN = 0')
                self.op = 'mapped'
                self.mapped_busy = False
            elif field(self.ccr, 10, 2) == 0:
                # §13.3.4: without address the command starts at the CCR write — unless it is an
                # indirect write with data, which starts with the first DR write.
                if not (mode == IWRITE and field(self.ccr, 24, 2) != 0):
                    self._start()
                elif self.tx:
                    self._start()
        elif offset == AR:
            self.ar = merge(self.ar, value, mask, 0xFFFFFFFF)
            # §13.3.4: with an address phase the command starts when AR is written (not in
            # memory-mapped mode, where AR is not used).
            if self.fmode() != MAPPED and field(self.ccr, 10, 2) != 0:
                self._start()
        elif offset == ABR:
            self.abr = merge(self.abr, value, mask, 0xFFFFFFFF)
        elif offset == PSMKR:
            self.psmkr = merge(self.psmkr, value, mask, 0xFFFFFFFF)
        elif offset == PSMAR:
            self.psmar = merge(self.psmar, value, mask, 0xFFFFFFFF)
        elif offset == PIR:
            self.pir = merge(self.pir, value, mask, 0xFFFF)
        elif offset == LPTR:
            self.lptr = merge(self.lptr, value, mask, 0xFFFF)
        return True
