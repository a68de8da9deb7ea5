"""FLASH — the embedded flash interface of the STM32F74x/75x (RM0385 §3), single-bank: the key
unlock sequences, program (PG) and erase (SER/MER) with their error flags and real busy times, the
wait states (ACR.LATENCY) and the 0x08000000 window (`bus_read`/`bus_write`, routed here by the
machine). The bytes live in `machine.memory('flash')`, the simulated board's own flash."""
from __future__ import annotations

from .base import MachineApi
from .regs import RegisterBlock, field, merge

ACR, KEYR, OPTKEYR, SR, CR, OPTCR, OPTCR1 = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18

KEY1, KEY2 = 0x45670123, 0xCDEF89AB            # §3.3.3 "Unlocking the Flash control register"
OPTKEY1, OPTKEY2 = 0x08192A3B, 0x4C5D6E7F      # §3.4.2 "Modifying user option bytes"

SR_EOP, SR_OPERR, SR_WRPERR, SR_PGAERR, SR_PGPERR, SR_ERSERR, SR_BSY = (
    1 << 0, 1 << 1, 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 16)   # §3.7.4 FLASH_SR
SR_W1C = SR_EOP | SR_OPERR | SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_ERSERR
CR_PG, CR_SER, CR_MER, CR_STRT, CR_EOPIE, CR_ERRIE, CR_LOCK = (
    1 << 0, 1 << 1, 1 << 2, 1 << 16, 1 << 24, 1 << 25, 1 << 31)  # §3.7.5 FLASH_CR
CR_WRITABLE = 0x0301037F   # PG SER MER SNB[6:3] PSIZE[9:8] STRT EOPIE ERRIE (LOCK handled apart)

# Busy times. Word program: datasheet DS10916 "Flash memory programming" tprog 16 µs typical (100 µs
# max). Erase: the datasheet's max figures (32 KB 800 ms, 128 KB 2.4 s, 256 KB 4 s, mass 32 s),
# halved as the typical x32 value — unverified, see timing.md "Internal flash".
T_PROG_NS = 16_000
T_ERASE_NS = {32 * 1024: 400_000_000, 128 * 1024: 1_200_000_000, 256 * 1024: 2_000_000_000}
T_MASS_NS = 16_000_000_000


def sector_sizes(flash_bytes: int) -> list[int]:
    """RM0385 §3.3.1 Table 3 (single bank): 4 × 32 KB, 1 × 128 KB, then 256 KB sectors; the 64 KB
    STM32F750 has two 32 KB sectors."""
    sizes: list[int] = []
    total = 0
    while total < flash_bytes:
        s = 32 * 1024 if len(sizes) < 4 else 128 * 1024 if len(sizes) == 4 else 256 * 1024
        sizes.append(s)
        total += s
    if total != flash_bytes:
        raise ValueError(f'flash size {flash_bytes} does not match the RM0385 sector layout')
    return sizes


def required_wait_states(hclk_hz: int, vdd_v: float = 3.3) -> int:
    """RM0385 §3.3.2 Table 5 "Number of wait states according to CPU clock (HCLK) frequency":
    at 2.7–3.6 V one wait state per 30 MHz step (0 WS ≤ 30 MHz … 7 WS ≤ 216 MHz)."""
    step = 30_000_000 if vdd_v >= 2.7 else 24_000_000 if vdd_v >= 2.4 else 22_000_000 if vdd_v >= 2.1 else 20_000_000
    return max(0, -(-hclk_hz // step) - 1)


class Flash(RegisterBlock):
    name = 'flash'
    base = 0x40023C00
    size = 0x400
    bus_base = 0x08000000

    def __init__(self, machine: MachineApi, board: dict) -> None:
        self.board = board
        self.mem = machine.memory('flash')
        self.sectors = sector_sizes(len(self.mem.data))
        self.starts = [sum(self.sectors[:i]) for i in range(len(self.sectors))]
        super().__init__(machine)

    def reset(self) -> None:
        self.acr = 0                  # §3.7.1
        self.sr = 0
        self.cr = CR_LOCK             # §3.7.5 reset value 0x8000 0000
        self.optcr = 0xC0FFAAFD       # §3.7.6 (factory option bytes: no write protection, RDP level 0)
        if self.board.get('iwdg_running_at_entry'):
            # AN2606 §4.1: the ROM leaves the IWDG running only with the hardware-watchdog option,
            # IWDG_SW = 0 (§3.7.6 bit 5).
            self.optcr &= ~(1 << 5)
        self.optcr1 = 0x00400080      # §3.7.7 BOOT_ADD0 0x0080, BOOT_ADD1 0x0040
        self.key_step = 0
        self.optkey_step = 0
        self.keys_dead = False        # §3.3.3: a wrong sequence locks FLASH_CR "until the next reset"
        self.busy_until: int | None = None

    # --- time -----------------------------------------------------------------------------------
    def tick(self) -> None:
        if self.busy_until is not None and self.m.now_ns >= self.busy_until:
            self.busy_until = None
            self.cr &= ~CR_STRT            # §3.7.5 STRT "cleared when BSY is cleared"
            if self.cr & CR_EOPIE:
                self.sr |= SR_EOP          # §3.7.4 EOP is set only if EOPIE = 1

    def _stall_until_idle(self) -> None:
        # §3.3.5/§3.3.6: a flash access while an operation runs stalls the bus until it ends.
        if self.busy_until is not None:
            self.m.advance(max(0, self.busy_until - self.m.now_ns))
            self.tick()

    def _start(self, ns: int) -> None:
        self.busy_until = self.m.now_ns + ns

    # --- errors ---------------------------------------------------------------------------------
    def _error(self, flag: int) -> None:
        self.sr |= flag
        if self.cr & CR_ERRIE:
            self.sr |= SR_OPERR            # §3.7.4 OPERR: set only if ERRIE = 1

    def _sector_of(self, offset: int) -> int:
        for i, start in enumerate(self.starts):
            if start <= offset < start + self.sectors[i]:
                return i
        return -1

    def _protected(self, sector: int) -> bool:
        return not (self.optcr >> (16 + sector)) & 1   # §3.7.6 nWRPi = 0: sector i write-protected

    # --- the 0x08000000 window --------------------------------------------------------------------
    def bus_read(self, offset: int, size: int) -> int:
        if offset < 0 or offset + size > len(self.mem.data):
            self.m.fault(f'FLASH: read at 0x{self.bus_base + offset:08X} beyond the {len(self.mem.data) // 1024} KB flash (bus error)')
            return 0
        hclk = self.m.peripheral('rcc').hclk_hz()  # type: ignore[attr-defined]
        need = required_wait_states(hclk, float(self.board.get('vdd_v', 3.3)))
        latency = self.acr & 0xF
        if latency < need:
            self.m.fault(f'FLASH: read at HCLK {hclk / 1e6:g} MHz with ACR.LATENCY = {latency}; RM0385 §3.3.2 '
                         f'Table 5 needs at least {need} wait states (reads return wrong data)')
        self._stall_until_idle()
        return int.from_bytes(self.mem.data[offset:offset + size], 'little')

    def bus_write(self, offset: int, size: int, value: int) -> None:
        if offset < 0 or offset + size > len(self.mem.data):
            self.m.fault(f'FLASH: write at 0x{self.bus_base + offset:08X} beyond the flash (bus error)')
            return
        self._stall_until_idle()
        # §3.3.6 "Programming": PG set, no erase bit, control register unlocked; otherwise the write
        # is an erase/program sequence error (§3.7.4 ERSERR).
        if self.cr & CR_LOCK or not self.cr & CR_PG or self.cr & (CR_SER | CR_MER):
            self._error(SR_ERSERR)
            return
        psize = 1 << field(self.cr, 8, 2)      # §3.7.5 PSIZE: x8, x16, x32, x64
        if size != psize:
            self._error(SR_PGPERR)             # §3.7.4 PGPERR: access size ≠ PSIZE
            return
        if (offset % 16) + size > 16:
            self._error(SR_PGAERR)             # §3.7.4 PGAERR: data not within one 128-bit row
            return
        sector = self._sector_of(offset)
        if self._protected(sector):
            self._error(SR_WRPERR)
            return
        old = self.mem.data[offset:offset + size]
        new = bytes(o & b for o, b in zip(old, value.to_bytes(size, 'little')))
        # Programming only clears bits (§3.3.6: an erased bit is 1; programming writes 0s).
        if new != bytes(old):
            self.mem.data[offset:offset + size] = new
            self.mem.changed(offset, size)
        self._start(T_PROG_NS)

    # --- registers ------------------------------------------------------------------------------
    def read_reg(self, offset: int) -> int | None:
        self.tick()
        if offset == SR and self.busy_until is not None:
            self.m.busy_poll(self.busy_until)
            self.tick()
        if offset == ACR:
            return self.acr
        if offset == SR:
            return self.sr | (SR_BSY if self.busy_until is not None else 0)
        if offset == CR:
            return self.cr
        if offset == OPTCR:
            return self.optcr
        if offset == OPTCR1:
            return self.optcr1
        if offset in (KEYR, OPTKEYR):
            return 0                      # §3.7.2/§3.7.3: write-only, read as 0
        return None

    def write_reg(self, offset: int, value: int, mask: int) -> bool:
        self.tick()
        if offset == ACR:
            # §3.7.1: LATENCY[3:0], PRFTEN, ARTEN, ARTRST (ARTRST only while ART is disabled).
            new = merge(self.acr, value, mask, 0xB0F)
            if new & (1 << 11) and new & (1 << 9):
                self.m.fault('FLASH: ACR.ARTRST set while ARTEN = 1 (RM0385 §3.7.1: reset the ART '
                             'accelerator only when it is disabled)')
            self.acr = new
            return True
        if offset == KEYR:
            self._key(value if mask == 0xFFFFFFFF else None)
            return True
        if offset == OPTKEYR:
            self._optkey(value if mask == 0xFFFFFFFF else None)
            return True
        if offset == SR:
            self.sr &= ~(value & mask & SR_W1C)   # §3.7.4 rc_w1
            return True
        if offset == CR:
            self._write_cr(value, mask)
            return True
        if offset == OPTCR:
            if self.optcr & 1:
                self.m.log('FLASH: OPTCR write ignored while OPTLOCK = 1 (RM0385 §3.7.6)')
                return True
            if value & mask & 2:
                self.m.fault('FLASH: OPTCR.OPTSTRT — option byte programming is not modelled')
                return True
            self.optcr = merge(self.optcr, value, mask, 0xC0FFFFFD)
            return True
        if offset == OPTCR1:
            if self.optcr & 1:
                return True
            self.optcr1 = merge(self.optcr1, value, mask, 0xFFFFFFFF)
            return True
        return False

    def _key(self, value: int | None) -> None:
        # §3.3.3: KEY1 then KEY2 clears LOCK; "any wrong sequence will return a bus error and lock up
        # the FLASH_CR register until the next reset". A key written while already unlocked is
        # treated as a wrong sequence (not documented; the HAL only writes keys while LOCK = 1).
        expected = KEY1 if self.key_step == 0 else KEY2
        if self.keys_dead or value != expected or not self.cr & CR_LOCK:
            why = ('FLASH_CR already unlocked' if not self.cr & CR_LOCK else
                   'a sub-word write' if value is None else f'0x{value:08X}, expected 0x{expected:08X}')
            self.keys_dead = True
            self.cr |= CR_LOCK
            self.m.fault(f'FLASH: wrong FLASH_KEYR sequence ({why}): bus error, FLASH_CR locked until '
                         'reset (RM0385 §3.3.3)')
            return
        self.key_step += 1
        if self.key_step == 2:
            self.key_step = 0
            self.cr &= ~CR_LOCK

    def _optkey(self, value: int | None) -> None:
        expected = OPTKEY1 if self.optkey_step == 0 else OPTKEY2
        if value != expected:
            self.keys_dead = True
            self.m.fault(f'FLASH: wrong FLASH_OPTKEYR sequence: bus error, OPTCR locked until reset '
                         '(RM0385 §3.4.2)')
            return
        self.optkey_step += 1
        if self.optkey_step == 2:
            self.optkey_step = 0
            self.optcr &= ~1

    def _write_cr(self, value: int, mask: int) -> None:
        if self.busy_until is not None:
            # Writing FLASH_CR during an operation: RM0385 §3.7.5 does not allow it (the HAL waits
            # for BSY first). Assumed: the write waits for the operation, as a flash access stalls.
            self._stall_until_idle()
        if self.cr & CR_LOCK:
            # §3.7.5 LOCK: "when set, the FLASH_CR register is locked": writes are lost.
            self.m.log('FLASH: FLASH_CR write ignored while LOCK = 1 (RM0385 §3.7.5)')
            return
        self.cr = merge(self.cr, value, mask, CR_WRITABLE)
        if value & mask & CR_LOCK:
            self.cr |= CR_LOCK                 # LOCK "can only be written to 1"
        if not (value & mask & CR_STRT):
            return
        # §3.3.4/§3.3.5 sector / mass erase, started by STRT.
        ser, mer = self.cr & CR_SER, self.cr & CR_MER
        if bool(ser) == bool(mer) or self.cr & CR_PG:
            # Assumed: STRT without exactly one erase bit (or with PG) is an erase sequence error.
            self.cr &= ~CR_STRT
            self._error(SR_ERSERR)
            return
        if ser:
            snb = field(self.cr, 3, 4)
            if snb >= len(self.sectors):
                self.m.fault(f'FLASH: SER with SNB = {snb}: the {len(self.mem.data) // 1024} KB part has '
                             f'sectors 0..{len(self.sectors) - 1} (RM0385 §3.3.1 Table 3; other values are '
                             '"not allowed")')
                return
            if self._protected(snb):
                self.cr &= ~CR_STRT
                self._error(SR_WRPERR)
                return
            start, length = self.starts[snb], self.sectors[snb]
            self._erase(start, length)
            self._start(T_ERASE_NS[length])
        else:
            if any(self._protected(i) for i in range(len(self.sectors))):
                self.cr &= ~CR_STRT
                self._error(SR_WRPERR)
                return
            self._erase(0, len(self.mem.data))
            self._start(T_MASS_NS)

    def _erase(self, start: int, length: int) -> None:
        # Erased flash reads 0xFF (§3.3.5). The bytes change at once; reads stall until BSY clears.
        self.mem.data[start:start + length] = b'\xff' * length
        self.mem.changed(start, length)
