"""Micron N25Q128A (3 V, 128 Mbit serial NOR), the QSPI flash of the STM32F746G-DISCO, in extended
SPI protocol. Sources: the Micron N25Q128A datasheet (command set table, status / flag status /
volatile configuration registers, AC characteristics), ST's BSP `n25q128a.h` for the command codes
and maximum times, timing.md for typical busy times.

The QUADSPI model calls `transaction()` once nCS rises (write commands execute then, as on the part);
read commands give their data bytes. Line modes and dummy cycles are checked per command; anything the
part would not understand stops the run naming the command. Data: `machine.memory('qspi')`, byte 0 =
the part's address 0."""
from __future__ import annotations

from dataclasses import dataclass

from .base import MachineApi

SIZE = 16 * 1024 * 1024
PAGE = 256
MAX_HZ = 108_000_000           # datasheet: 108 MHz for all commands except READ
READ_MAX_HZ = 54_000_000       # datasheet: READ (03) up to 54 MHz
JEDEC_ID = bytes([0x20, 0xBA, 0x18])    # Micron, 3 V N25Q, 128 Mbit

# Typical busy times (timing.md "QSPI NOR", datasheet typ; ST n25q128a.h has the maxima:
# bulk 250 s, sector 3 s, subsector 0.8 s).
T_PP_NS = 500_000
T_SSE_NS = 250_000_000
T_SE_NS = 700_000_000
T_BE_NS = 170_000_000_000

SR_WIP, SR_WEL = 0x01, 0x02            # status register bits 0, 1
FSR_READY, FSR_ERASE_ERR, FSR_PROG_ERR, FSR_VPP_ERR, FSR_PROT_ERR = 0x80, 0x20, 0x10, 0x08, 0x02
VCR_RESET, EVCR_RESET = 0xFB, 0xDF     # datasheet: VCR defaults from the NVCR (0xFFFF) — 0xFB; EVCR 0xDF


@dataclass(frozen=True)
class Cmd:
    name: str
    addr: int            # address lines (0 = no address)
    data: int            # data lines (0 = no data)
    kind: str            # 'read' | 'reg' (register read) | 'write' | 'program' | 'erase' | 'plain'
    dummy_key: str = ''  # which default-dummy row applies (fast reads)


# Extended SPI protocol: the instruction always on one line (datasheet "Command Set" table).
COMMANDS: dict[int, Cmd] = {
    0x9F: Cmd('READ ID', 0, 1, 'reg'), 0x9E: Cmd('READ ID', 0, 1, 'reg'),
    0x05: Cmd('READ STATUS REGISTER', 0, 1, 'reg'),
    0x70: Cmd('READ FLAG STATUS REGISTER', 0, 1, 'reg'),
    0x50: Cmd('CLEAR FLAG STATUS REGISTER', 0, 0, 'plain'),
    0x06: Cmd('WRITE ENABLE', 0, 0, 'plain'), 0x04: Cmd('WRITE DISABLE', 0, 0, 'plain'),
    0x85: Cmd('READ VOLATILE CONFIGURATION REGISTER', 0, 1, 'reg'),
    0x81: Cmd('WRITE VOLATILE CONFIGURATION REGISTER', 0, 1, 'write'),
    0x65: Cmd('READ ENHANCED VOLATILE CONFIGURATION REGISTER', 0, 1, 'reg'),
    0x61: Cmd('WRITE ENHANCED VOLATILE CONFIGURATION REGISTER', 0, 1, 'write'),
    0xB5: Cmd('READ NONVOLATILE CONFIGURATION REGISTER', 0, 1, 'reg'),
    0x66: Cmd('RESET ENABLE', 0, 0, 'plain'), 0x99: Cmd('RESET MEMORY', 0, 0, 'plain'),
    0x03: Cmd('READ', 1, 1, 'read'), 0x0B: Cmd('FAST READ', 1, 1, 'read', 'fast'),
    0x3B: Cmd('DUAL OUTPUT FAST READ', 1, 2, 'read', 'dofr'),
    0xBB: Cmd('DUAL INPUT/OUTPUT FAST READ', 2, 2, 'read', 'diofr'),
    0x6B: Cmd('QUAD OUTPUT FAST READ', 1, 4, 'read', 'qofr'),
    0xEB: Cmd('QUAD INPUT/OUTPUT FAST READ', 4, 4, 'read', 'qiofr'),
    0x02: Cmd('PAGE PROGRAM', 1, 1, 'program'),
    0xA2: Cmd('DUAL INPUT FAST PROGRAM', 1, 2, 'program'),
    0xD2: Cmd('EXTENDED DUAL INPUT FAST PROGRAM', 2, 2, 'program'),
    0x32: Cmd('QUAD INPUT FAST PROGRAM', 1, 4, 'program'),
    0x12: Cmd('EXTENDED QUAD INPUT FAST PROGRAM', 4, 4, 'program'),
    0x20: Cmd('SUBSECTOR ERASE', 1, 0, 'erase'), 0xD8: Cmd('SECTOR ERASE', 1, 0, 'erase'),
    0xC7: Cmd('BULK ERASE', 0, 0, 'erase'),
}

# Default dummy cycles when the VCR field is 0000 or 1111 (datasheet "Volatile configuration
# register": FAST READ and dual/quad output reads 8, quad I/O read 10).
DEFAULT_DUMMY = {'fast': 8, 'dofr': 8, 'diofr': 8, 'qofr': 8, 'qiofr': 10}
# Highest clock for a number of dummy cycles (datasheet "Supported clock frequencies" table, 3 V;
# unverified transcription): index = dummy cycles 1..10.
MAX_HZ_FOR_DUMMY = {
    'fast': [90, 100, 108, 108, 108, 108, 108, 108, 108, 108],
    'dofr': [80, 90, 100, 105, 108, 108, 108, 108, 108, 108],
    'diofr': [70, 80, 90, 100, 105, 108, 108, 108, 108, 108],
    'qofr': [60, 70, 80, 90, 100, 105, 108, 108, 108, 108],
    'qiofr': [40, 50, 60, 70, 80, 86, 95, 105, 108, 108],
}


class N25q128a:
    def __init__(self, machine: MachineApi) -> None:
        self.m = machine
        self.mem = machine.memory('qspi')
        if len(self.mem.data) != SIZE:
            raise ValueError(f'the N25Q128A holds 16 MB; the qspi memory has {len(self.mem.data)} bytes')
        self.power_on()

    def power_on(self) -> None:
        self.sr = 0                       # WEL 0, no block protection (BP bits 0 from the factory)
        self.fsr_errors = 0
        self.vcr, self.evcr = VCR_RESET, EVCR_RESET
        self.busy_until: int | None = None
        self.busy_what = ''
        self.reset_enabled = False

    # --- state over time --------------------------------------------------------------------------
    def busy(self, at: int | None = None) -> bool:
        t = self.m.now_ns if at is None else at
        return self.busy_until is not None and t < self.busy_until

    def _settle(self) -> None:
        if self.busy_until is not None and self.m.now_ns >= self.busy_until:
            self.busy_until = None
            self.sr &= ~SR_WEL             # WEL clears when the program/erase completes (datasheet)

    def status(self, at: int | None = None) -> int:
        """Status register at a modelled instant (auto-polling looks ahead)."""
        if self.busy(at):
            return self.sr | SR_WIP | SR_WEL
        return self.sr & ~SR_WEL if self.busy_until is not None else self.sr

    def flag_status(self, at: int | None = None) -> int:
        return (0 if self.busy(at) else FSR_READY) | self.fsr_errors

    def register_bytes(self, code: int, n: int, at: int | None = None) -> bytes:
        """The bytes a register-read command gives over n data bytes (registers repeat while nCS is low)."""
        if code in (0x9F, 0x9E):
            # READ ID: manufacturer, type, capacity, then the length of the remaining ID bytes (0x10) and
            # 16 bytes of UID (factory data; zeros here), then 0.
            ident = JEDEC_ID + bytes([0x10]) + bytes(16)
            return (ident + bytes(max(0, n - len(ident))))[:n]
        value = {0x05: lambda: self.status(at), 0x70: lambda: self.flag_status(at),
                 0x85: lambda: self.vcr, 0x65: lambda: self.evcr}.get(code)
        if value is not None:
            return bytes([value()]) * n
        if code == 0xB5:
            return (b'\xff\xff' * (n // 2 + 1))[:n]   # NVCR factory value 0xFFFF
        raise KeyError(code)

    def next_change_ns(self) -> int | None:
        return self.busy_until if self.busy() else None

    def dummy_cycles(self, cmd: Cmd) -> int:
        if cmd.kind != 'read' or not cmd.dummy_key:
            return 0
        n = self.vcr >> 4
        return DEFAULT_DUMMY[cmd.dummy_key] if n in (0, 15) else n

    # --- checks -----------------------------------------------------------------------------------
    def check(self, code: int, imode: int, admode: int, adsize: int, abmode: int, dcyc: int, dmode: int,
              ddr: bool, sck_hz: int) -> Cmd:
        """Whether the part understands the command as QUADSPI sends it; stops the run otherwise."""
        cmd = COMMANDS.get(code)
        if cmd is None:
            self.m.fault(f'N25Q128A: command 0x{code:02X} is not modelled (or unknown to the part)')
            raise AssertionError('unreachable')
        lines = {0: 0, 1: 1, 2: 2, 3: 4}
        what = f'N25Q128A {cmd.name} (0x{code:02X})'
        if self.evcr & 0xC0 != 0xC0:
            self.m.fault(f'{what}: dual/quad protocol (EVCR bits 7:6) is not modelled')
        problems = []
        if lines[imode] != 1:
            problems.append(f'instruction on {lines[imode]} lines (extended SPI: 1)')
        if lines[admode] != cmd.addr:
            problems.append(f'address on {lines[admode]} lines (the part takes {cmd.addr})')
        if cmd.addr and adsize != 2:
            problems.append(f'{adsize + 1}-byte address (the part takes 3 bytes)')
        if abmode:
            problems.append('alternate bytes (not modelled; the part reads them as dummy/XIP bits)')
        if ddr:
            problems.append('DDR (the DTR commands are not modelled)')
        want_data = cmd.data if cmd.kind in ('read', 'reg', 'write', 'program') else 0
        if lines[dmode] != want_data:
            problems.append(f'data on {lines[dmode]} lines (the part uses {want_data})')
        want_dummy = self.dummy_cycles(cmd)
        if dcyc != want_dummy:
            problems.append(f'{dcyc} dummy cycles (the part expects {want_dummy} with VCR 0x{self.vcr:02X})')
        if problems:
            self.m.fault(f'{what}: ' + '; '.join(problems) + ' — the part would return or store wrong data')
        limit = READ_MAX_HZ if code == 0x03 else MAX_HZ
        if cmd.dummy_key and want_dummy:
            limit = min(limit, MAX_HZ_FOR_DUMMY[cmd.dummy_key][min(want_dummy, 10) - 1] * 1_000_000)
        if sck_hz > limit:
            self.m.fault(f'{what}: clock {sck_hz / 1e6:g} MHz above the part\'s {limit / 1e6:g} MHz for this '
                         'command (datasheet AC characteristics / dummy-cycle table)')
        return cmd

    # --- transactions -----------------------------------------------------------------------------
    def transaction(self, code: int, address: int | None, data_in: bytes | None, read_len: int) -> bytes:
        """One command with nCS low: `data_in` for write/program commands; returns `read_len` bytes
        for read commands. Called when nCS rises (writes) or when the command starts (reads)."""
        self._settle()
        cmd = COMMANDS[code]
        # RESET MEMORY is accepted only right after RESET ENABLE (datasheet "Software reset").
        reset_enabled, self.reset_enabled = self.reset_enabled, False
        busy_ok = code in (0x05, 0x70, 0x66, 0x99, 0x9F, 0x9E)
        if self.busy() and not busy_ok:
            if cmd.kind in ('read',):
                self.m.fault(f'N25Q128A {cmd.name} while a {self.busy_what} is in progress (WIP = 1): '
                             'the array cannot be read during program/erase (datasheet)')
            self.m.log(f'N25Q128A: {cmd.name} ignored while a {self.busy_what} is in progress (WIP = 1)')
            return bytes(read_len)
        if cmd.kind == 'reg':
            return self.register_bytes(code, read_len)
        if cmd.kind == 'read':
            assert address is not None
            return self._read(address, read_len)
        if code == 0x06:
            self.sr |= SR_WEL
        elif code == 0x04:
            self.sr &= ~SR_WEL
        elif code == 0x50:
            self.fsr_errors = 0
        elif code == 0x66:
            self.reset_enabled = True
        elif code == 0x99:
            if reset_enabled:
                # RESET MEMORY after RESET ENABLE: volatile state to its defaults; an operation in
                # progress is aborted (datasheet "Software reset").
                if self.busy():
                    self.m.log(f'N25Q128A: software reset aborts the {self.busy_what}')
                self.power_on()
        elif cmd.kind == 'write':
            self._write_register(code, data_in or b'')
        elif cmd.kind == 'program':
            assert address is not None
            self._program(cmd, address, data_in or b'')
        elif cmd.kind == 'erase':
            self._erase(cmd, code, address)
        return b''

    def _read(self, address: int, n: int) -> bytes:
        if self.vcr & 0x03 != 0x03:
            self.m.fault('N25Q128A: wrapped reads (VCR bits 1:0 ≠ 11) are not modelled')
        # Reads continue through the whole array and wrap at its end (datasheet "READ").
        out = bytearray()
        a = address % SIZE
        while len(out) < n:
            chunk = self.mem.data[a:a + (n - len(out))]
            out += chunk
            a = 0
        return bytes(out)

    def mapped_read(self, address: int, size: int) -> int:
        self._settle()
        if self.busy():
            self.m.fault(f'N25Q128A: memory-mapped read at 0x{address:06X} during a {self.busy_what} '
                         '(the array cannot be read while WIP = 1)')
        return int.from_bytes(self._read(address, size), 'little')

    def _write_register(self, code: int, data: bytes) -> None:
        if not self.sr & SR_WEL:
            self.m.log(f'N25Q128A: {COMMANDS[code].name} ignored: WEL = 0 (WRITE ENABLE first)')
            return
        if not data:
            return
        if code == 0x81:
            self.vcr = data[0]
        else:
            if data[0] & 0xC0 != 0xC0:
                self.m.fault('N25Q128A: EVCR write selecting the dual/quad protocol — not modelled')
            self.evcr = data[0]
        self.sr &= ~SR_WEL    # assumed: WEL clears after the register write, as after program/erase

    def _program(self, cmd: Cmd, address: int, data: bytes) -> None:
        if not self.sr & SR_WEL:
            # Datasheet: program/erase without WEL is not accepted (no error flag).
            self.m.log(f'N25Q128A: {cmd.name} ignored: WEL = 0 (WRITE ENABLE first)')
            return
        if self.sr & 0x5C:
            self.m.fault('N25Q128A: block protection (status BP bits) is not modelled')
        if not data:
            self.sr &= ~SR_WEL
            return
        # Datasheet "PAGE PROGRAM": bytes past the page end wrap to its start; of more than 256 bytes
        # only the last 256 are kept. Programming only clears bits (1 → 0).
        if len(data) > PAGE:
            skip = len(data) - PAGE
            data = data[skip:]
            start_col = (address + skip) % PAGE
        else:
            start_col = address % PAGE
        page = (address % SIZE) - (address % PAGE)
        for i, b in enumerate(data):
            a = page + (start_col + i) % PAGE
            self.mem.data[a] &= b
        touched = min(PAGE, len(data))
        if start_col + touched <= PAGE:
            self.mem.changed(page + start_col, touched)
        else:
            self.mem.changed(page, PAGE)
        self._start(T_PP_NS, 'page program')

    def _erase(self, cmd: Cmd, code: int, address: int | None) -> None:
        if not self.sr & SR_WEL:
            self.m.log(f'N25Q128A: {cmd.name} ignored: WEL = 0 (WRITE ENABLE first)')
            return
        if self.sr & 0x5C:
            self.m.fault('N25Q128A: block protection (status BP bits) is not modelled')
        if code == 0xC7:
            start, length, t = 0, SIZE, T_BE_NS
        else:
            length = 4096 if code == 0x20 else 65536
            assert address is not None
            start, t = (address % SIZE) - (address % length), (T_SSE_NS if code == 0x20 else T_SE_NS)
        self.mem.data[start:start + length] = b'\xff' * length
        self.mem.changed(start, length)
        self._start(t, cmd.name.lower())

    def _start(self, ns: int, what: str) -> None:
        self.busy_until = self.m.now_ns + ns
        self.busy_what = what
