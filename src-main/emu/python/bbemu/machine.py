"""The emulated STM32F746: a Cortex-M7 on Unicorn, the chip's memory map, modelled time, and the link
to the host simulator (the USB control transfers the host makes, the memory changes the firmware makes).

Memory map (RM0385 §2.2.2, Table 1; CMSIS `stm32f746xx.h` addresses):
- SRAM (DTCM + SRAM1 + SRAM2) 0x20000000–0x2004FFFF, content from the simulator (the ROM wrote the image);
- internal flash window 0x08000000 (AXIM), routed to the flash model's `bus_read`/`bus_write`;
- system memory: the 96-bit UID at 0x1FF0F420 and the flash size at 0x1FF0F442 (RM0385 §41.1, §41.2),
  this board's own values;
- QSPI memory-mapped window 0x90000000 (16 MB), routed to the quadspi model's `mapped_read`;
- every peripheral model at its base (mmio);
nothing else: any other access stops the run naming the address.

Unicorn has no NVIC, SysTick or exception entry/return (reference: loader-firmware.md): an exception,
an interrupt hook, a fetch at an EXC_RETURN value, `wfi`/`wfe` all stop the run as a fault; the
process runs under an address-space limit so a runaway run cannot grow without bound.

Time: one instruction per cycle at the RCC model's HCLK (the F7 at 216 MHz with flash latency 7
is slower for code in flash; a loader runs from SRAM: 0 wait states, RM0385 §2.3). Instructions run
in slices of about 100 µs of device time; parts' busy times come from the models via advance/busy_poll.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from unicorn import Uc, UcError, UC_ARCH_ARM, UC_MODE_THUMB, UC_MODE_MCLASS, UC_HOOK_INTR, UC_HOOK_MEM_INVALID, UC_HOOK_BLOCK
from unicorn import UC_MEM_FETCH_UNMAPPED, UC_MEM_READ_UNMAPPED, UC_MEM_WRITE_UNMAPPED, UC_MEM_FETCH_PROT
from unicorn.arm_const import UC_ARM_REG_PC, UC_ARM_REG_SP, UC_ARM_REG_MSP, UC_CPU_ARM_CORTEX_M7

from .periph.base import Peripheral
from .periph.otg_fs import OtgFs

RAM_BASE, RAM_SIZE = 0x20000000, 0x50000
FLASH_BASE = 0x08000000
SYSMEM_PAGE = 0x1FF0F400
UID_ADDR, FLASH_SIZE_ADDR = 0x1FF0F420, 0x1FF0F442
QSPI_BASE, QSPI_SIZE = 0x90000000, 0x1000000
HSI_HZ = 16_000_000  # RM0385 §5.2.2: the core runs on HSI after reset
SLICE_NS = 100_000
OTG_BASE, OTG_END = 0x50000000, 0x50040000
SPIN_READS = 16
IDLE_STEP_NS = 1_000_000


class Stop(Exception):
    """The run ends: `event` says how (reported to the host simulator)."""

    def __init__(self, event: dict) -> None:
        super().__init__(event.get('reason', event['kind']))
        self.event = event


class Backing:
    """A non-volatile memory of the board (base.BackingMemory), shared with the host simulator."""

    def __init__(self, machine: 'Machine', name: str, base: int, size: int) -> None:
        self.m = machine
        self.name = name
        self.base = base
        self.data = bytearray(b'\xff' * size)

    def changed(self, offset: int, length: int) -> None:
        self.m.emit({'ev': 'mem', 'name': self.name, 'off': offset, 'data': bytes(self.data[offset:offset + length])})


class Machine:
    def __init__(self, board: dict, emit: Callable[[dict], None]) -> None:
        self.board = board
        self.emit_raw = emit
        self.logged: set[str] = set()
        self.now_ns = 0
        self.stop: Stop | None = None
        self.pending_exc: BaseException | None = None
        self.flash_size = int(board.get('flash_size_kb', 1024)) * 1024
        self.mems = {
            'flash': Backing(self, 'flash', FLASH_BASE, self.flash_size),
            'qspi': Backing(self, 'qspi', 0, QSPI_SIZE),
        }
        self.uid = bytes(board.get('uid', b'\0' * 12))
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M7)
        self.uc.mem_map(RAM_BASE, RAM_SIZE)
        self.periphs: list[Peripheral] = []
        self.by_name: dict[str, Peripheral] = {}
        self.otg = OtgFs(self)
        self.otg.on_change = lambda what: self.emit({'ev': what})
        self.load_models()
        self.map_memories()
        self.uc.hook_add(UC_HOOK_INTR, self.on_intr)
        self.uc.hook_add(UC_HOOK_MEM_INVALID, self.on_invalid)
        # A branch to EXC_RETURN (0xFFFFFFF1/F9/FD) would start Unicorn's exception storm: stop first.
        self.uc.hook_add(UC_HOOK_BLOCK, self.on_exc_return, begin=0xF0000000, end=0xFFFFFFFF)
        # The loader leaving to the application: the PC reaches internal flash.
        self.uc.hook_add(UC_HOOK_BLOCK, self.on_flash_fetch, begin=FLASH_BASE, end=FLASH_BASE + 0x1FFFFFF)
        self.pc = 0
        self.idle = False
        self.reads: dict[int, tuple[int, int]] = {}
        self.spinning = False
        # Idle skipping with a firmware that watches a clock: steps grow while nothing changes.
        self.history: dict[int, tuple[int, int, int]] = {}
        self.slices = 0
        self.progress = False
        self.clock_watch = False
        self.idle_grow = SLICE_NS
        self.busy_work = False

    # ---- set-up ----------------------------------------------------------------------------------
    def load_models(self) -> None:
        models: list[Peripheral] = []
        try:
            chip = importlib.import_module('bbemu.periph.stm32f7')
            models = list(chip.peripherals(self, self.board))
        except ModuleNotFoundError as e:
            if e.name != 'bbemu.periph.stm32f7':
                raise
        for extra in self.board.get('extra_models', []):
            mod, _, cls = extra.rpartition('.')
            models.append(getattr(importlib.import_module(mod), cls)(self))
        models.append(self.otg)
        for p in models:
            self.periphs.append(p)
            self.by_name[p.name] = p

    def map_memories(self) -> None:
        for p in self.periphs:
            self.uc.mmio_map(p.base, p.size, self.mmio_reader(p), None, self.mmio_writer(p), None)
        self.uc.mmio_map(FLASH_BASE, self.flash_size, self.guard(self.flash_read, 0), None, self.guard(self.flash_write, None), None)
        self.uc.mmio_map(SYSMEM_PAGE, 0x400, self.guard(self.sysmem_read, 0), None, self.guard(self.sysmem_write, None), None)
        self.uc.mmio_map(QSPI_BASE, QSPI_SIZE, self.guard(self.qspi_read, 0), None, self.guard(self.qspi_write, None), None)

    def guard(self, fn: Callable, default: Any) -> Callable:
        """Unicorn's Python binding swallows exceptions raised in mmio callbacks: catch them here,
        stop the CPU and re-raise after emu_start returns."""
        def cb(uc, offset, size, *rest):
            if self.pending_exc is not None:
                return default
            try:
                return fn(offset, size, *rest[:-1])
            except BaseException as e:  # noqa: BLE001 - re-raised in run_slice
                self.pending_exc = e
                uc.emu_stop()
                return default
        return cb

    def mmio_reader(self, p: Peripheral) -> Callable:
        base = p.base

        def read(off: int, size: int) -> int:
            v = p.read(off, size) & ((1 << (8 * size)) - 1)
            self.note_read(base + off, v)
            return v
        return self.guard(read, 0)

    def note_read(self, address: int, value: int) -> None:
        """Spin detection: the same register read with the same value SPIN_READS times in a slice means
        the firmware waits for something only time brings (a timer, a ready flag): the rest of the slice
        is that wait, so the slice ends now and its full time passes (no host CPU burnt on it)."""
        if not (OTG_BASE <= address < OTG_END):
            # Stability counts slices, not reads: time only moves between slices.
            prev = self.history.get(address)
            if prev is None:
                self.history[address] = (value, 0, self.slices)
            elif prev[0] == value:
                if prev[2] != self.slices:
                    self.history[address] = (value, prev[1] + 1, self.slices)
            else:
                # A value that was stable over slices and changed is progress (a part finished, a
                # flag came); one that changes from slice to slice is a clock the firmware watches.
                if prev[1] >= 2:
                    self.progress = True
                else:
                    self.clock_watch = True
                self.history[address] = (value, 0, self.slices)
        last = self.reads.get(address)
        if last is not None and last[0] == value:
            n = last[1] + 1
            self.reads[address] = (value, n)
            if n >= SPIN_READS and not self.spinning:
                self.spinning = True
                self.uc.emu_stop()
        else:
            self.reads[address] = (value, 1)

    def mmio_writer(self, p: Peripheral) -> Callable:
        busy_work = p.name not in ('otg_fs', 'iwdg')
        refresh_only = p.name == 'iwdg'

        def write(off: int, size: int, value: int) -> None:
            # A firmware that drives another part (a QSPI status command, a flash program) is not idle
            # even while it polls USB: time must not skip past the host's next request without it.
            if busy_work:
                self.busy_work = True
            if not refresh_only:
                # A write is work, not a wait: a loop that reads the (frozen) clock and a ready flag and
                # then feeds a FIFO byte is moving data, so its repeated reads are no spin.
                self.reads.clear()
            p.write(off, size, value)
        return self.guard(write, None)

    def flash_read(self, off: int, size: int) -> int:
        f = self.by_name.get('flash')
        if f is not None and hasattr(f, 'bus_read'):
            return f.bus_read(off, size)
        return int.from_bytes(self.mems['flash'].data[off:off + size], 'little')

    def flash_write(self, off: int, size: int, value: int) -> None:
        f = self.by_name.get('flash')
        # Programming a word drives the flash as a register write drives a part (see mmio_writer): work,
        # not a wait, and no idle firmware either (time must not skip to the host while it programs).
        self.reads.clear()
        self.busy_work = True
        if f is not None and hasattr(f, 'bus_write'):
            f.bus_write(off, size, value)
            return
        self.unmodelled(FLASH_BASE + off, size, True, value)

    def sysmem_read(self, off: int, size: int) -> int:
        a = SYSMEM_PAGE + off
        if UID_ADDR <= a and a + size <= UID_ADDR + 12:
            return int.from_bytes(self.uid[a - UID_ADDR:a - UID_ADDR + size], 'little')
        if FLASH_SIZE_ADDR <= a and a + size <= FLASH_SIZE_ADDR + 2:
            v = (self.flash_size // 1024).to_bytes(2, 'little')
            return int.from_bytes(v[a - FLASH_SIZE_ADDR:a - FLASH_SIZE_ADDR + size], 'little')
        self.unmodelled(a, size, False)
        return 0

    def sysmem_write(self, off: int, size: int, value: int) -> None:
        self.unmodelled(SYSMEM_PAGE + off, size, True, value)

    def qspi_read(self, off: int, size: int) -> int:
        q = self.by_name.get('quadspi')
        if q is None or not hasattr(q, 'mapped_read'):
            self.unmodelled(QSPI_BASE + off, size, False)
        return q.mapped_read(off, size)

    def qspi_write(self, off: int, size: int, value: int) -> None:
        # RM0385 §13.3.6: the memory-mapped window is read-only; a write is a bus error.
        self.fault(f'write to the QSPI memory-mapped window at 0x{QSPI_BASE + off:08x} (read-only, RM0385 §13.3.6)')

    # ---- MachineApi ------------------------------------------------------------------------------
    def sysclk_hz(self) -> int:
        rcc = self.by_name.get('rcc')
        if rcc is not None and hasattr(rcc, 'sysclk_hz'):
            return int(rcc.sysclk_hz())
        return HSI_HZ

    def core_hz(self) -> int:
        """The Cortex-M7 runs on HCLK = SYSCLK / AHB prescaler (RM0385 §5.2, Figure 13)."""
        rcc = self.by_name.get('rcc')
        if rcc is not None and hasattr(rcc, 'hclk_hz'):
            return int(rcc.hclk_hz())
        return self.sysclk_hz()

    def advance(self, ns: int) -> None:
        if ns <= 0:
            return
        self.now_ns += int(ns)
        try:
            for p in self.periphs:
                p.tick()
        except Stop as s:
            s.event.setdefault('pc', self.read_pc())
            self.stop = s
            raise

    def busy_poll(self, until_ns: int) -> None:
        if until_ns > self.now_ns:
            self.advance(min(until_ns - self.now_ns, 1_000_000))

    def memory(self, name: str) -> Backing:
        return self.mems[name]

    def unmodelled(self, address: int, size: int, write: bool, value: int | None = None) -> None:
        what = f'write of 0x{value:x}' if write and value is not None else ('write' if write else 'read')
        raise Stop({'kind': 'unmodelled', 'address': address, 'size': size, 'write': write,
                    'reason': f'{size}-byte {what} at 0x{address:08x}: no model implements it'})

    def fault(self, reason: str) -> None:
        raise Stop({'kind': 'fault', 'reason': reason})

    def system_reset(self, reason: str) -> None:
        raise Stop({'kind': 'reset', 'reason': reason})

    def peripheral(self, name: str) -> Peripheral:
        return self.by_name[name]

    def log(self, message: str) -> None:
        # A polling loop repeats its message at every access: each text once, and a bounded number.
        if message in self.logged or len(self.logged) >= 200:
            return
        self.logged.add(message)
        self.emit({'ev': 'log', 'msg': message})

    def emit(self, ev: dict) -> None:
        ev['t'] = self.now_ns
        self.emit_raw(ev)

    # ---- hooks -----------------------------------------------------------------------------------
    def on_intr(self, uc, intno, _data) -> None:
        # QEMU's ARM exception numbers: 2 SWI (svc), 7 BKPT, others (UDEF 1, data/prefetch aborts …)
        names = {1: 'undefined instruction', 2: 'svc', 7: 'bkpt', 3: 'prefetch abort', 4: 'data abort'}
        self.pending_exc = Stop({'kind': 'fault', 'reason': f'{names.get(intno, f"exception {intno}")} at 0x{self.read_pc():08x} (no exception handling in the emulated core)'})
        uc.emu_stop()

    def on_invalid(self, uc, access, address, size, value, _data) -> bool:
        if self.pending_exc is None:
            if access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT) and FLASH_BASE <= address < FLASH_BASE + self.flash_size:
                self.pending_exc = Stop({'kind': 'jump', 'address': address, 'reason': f'the code left RAM for flash at 0x{address:08x}'})
            elif access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT):
                self.pending_exc = Stop({'kind': 'fault', 'reason': f'instruction fetch at 0x{address:08x}: nothing executable there'})
            else:
                write = access == UC_MEM_WRITE_UNMAPPED
                self.pending_exc = Stop({'kind': 'unmodelled', 'address': address, 'size': size, 'write': write,
                                         'reason': f'{size}-byte {"write" if write else "read"} at 0x{address:08x}: nothing is mapped there'})
        return False

    def on_exc_return(self, uc, address, size, _data) -> None:
        self.pending_exc = Stop({'kind': 'fault', 'reason': f'branch to 0x{address:08x} (EXC_RETURN: no exception return in the emulated core)'})
        uc.emu_stop()

    def on_flash_fetch(self, uc, address, size, _data) -> None:
        if self.pending_exc is None:
            self.pending_exc = Stop({'kind': 'jump', 'address': address, 'reason': f'the code left RAM for flash at 0x{address:08x}'})
        uc.emu_stop()

    def on_idle(self) -> None:
        """The OTG model saw the firmware poll with nothing to do: stop the slice (time skips)."""
        self.uc.emu_stop()

    def read_pc(self) -> int:
        return self.uc.reg_read(UC_ARM_REG_PC)

    # ---- running ---------------------------------------------------------------------------------
    def load_ram(self, address: int, data: bytes) -> None:
        self.uc.mem_write(address, data)

    def ram(self) -> bytes:
        return bytes(self.uc.mem_read(RAM_BASE, RAM_SIZE))

    def start_at(self, vector_table: int) -> None:
        """The ROM's jump (AN3156 §5.5): MSP from word 0, PC from word 1 of the image's vector table."""
        raw = self.uc.mem_read(vector_table, 8)
        sp = int.from_bytes(raw[0:4], 'little')
        pc = int.from_bytes(raw[4:8], 'little')
        self.uc.reg_write(UC_ARM_REG_MSP, sp)
        self.uc.reg_write(UC_ARM_REG_SP, sp)
        self.pc = pc | 1

    def run_slice(self) -> None:
        """Runs about SLICE_NS of device time; raises Stop when the run ends."""
        if self.stop is not None:
            raise self.stop
        hz = self.core_hz()
        # A slice ends at the next instant a model has something happen (a timer capture, the IWDG
        # expiring), so the firmware sees events one by one, at their time.
        span = SLICE_NS
        for _, t in self.model_events():
            span = min(span, max(t - self.now_ns, 0))
        count = max(16, hz * span // 1_000_000_000)
        self.otg.idle = False
        # Idle is judged afresh in every slice: the firmware runs its loop (job, watchdog refresh)
        # again before time may skip. Polls counted in an earlier slice would stop this one at its
        # first GINTSTS read, before the loop reaches anything else.
        self.otg.idle_polls = 0
        self.busy_work = False
        self.clock_watch = False
        self.slices += 1
        self.spinning = False
        self.reads.clear()
        self.pending_exc = None
        try:
            self.uc.emu_start(self.pc, 0xFFFFFFFF, count=count)
        except UcError as e:
            if self.pending_exc is None:
                self.pending_exc = Stop({'kind': 'fault', 'reason': f'{e} at 0x{self.read_pc():08x}'})
        pc = self.read_pc()
        exc = self.pending_exc
        self.pending_exc = None
        if exc is not None:
            if isinstance(exc, Stop):
                exc.event.setdefault('pc', pc)
                self.stop = exc
                raise exc
            raise exc
        self.pc = pc | 1
        if self.otg.idle and not self.spinning:
            # Stopped by idle detection somewhere inside the slice: count half a slice.
            self.advance(count // 2 * 1_000_000_000 // hz)
        else:
            self.advance(count * 1_000_000_000 // hz)
            # emu_start returns early after wfi/wfe (no interrupt can ever wake it here)
            half = int.from_bytes(self.uc.mem_read(pc - 2, 2), 'little') if RAM_BASE <= pc - 2 < RAM_BASE + RAM_SIZE else 0
            if half in (0xBF30, 0xBF20):
                self.stop = Stop({'kind': 'fault', 'pc': pc, 'reason': f'{"wfi" if half == 0xBF30 else "wfe"} at 0x{pc - 2:08x}: nothing can wake the core'})
                raise self.stop

    def model_events(self) -> list[tuple[str, int]]:
        """The instants at which a model's state changes by itself: `next_event_ns()` (timer captures,
        the IWDG expiring), a part's `next_change_ns()` (the N25Q128A behind QUADSPI finishing), a
        `busy_until` (FLASH BSY)."""
        out: list[tuple[str, int]] = []
        for p in self.periphs:
            nxt = getattr(p, 'next_event_ns', None)
            t = nxt() if nxt is not None else None
            if t is not None:
                out.append((p.name, t))
            part = getattr(p, 'part', None)
            nxt = getattr(part, 'next_change_ns', None) if part is not None else None
            t = nxt() if nxt is not None else None
            if t is not None:
                out.append((p.name, t))
            t = getattr(p, 'busy_until', None)
            if isinstance(t, int) and t > self.now_ns:
                out.append((p.name, t))
        return out

    def idle_step(self, until_ns: int) -> int:
        """How far time may skip while the firmware idles: straight to `until_ns` when no model has an
        event pending; with one (the IWDG counting down) half the way to it, at least 1 ms, so the
        firmware runs again in time to refresh it."""
        step = until_ns - self.now_ns
        known = False
        for name, t in self.model_events():
            if name == 'iwdg':
                # The watchdog's expiry says nothing about when the firmware's work changes.
                step = min(step, max(IDLE_STEP_NS, (t - self.now_ns) // 2))
            else:
                known = True
                step = min(step, max(t - self.now_ns, 1000))
        # A firmware that watches a clock (a timer it compares in software) has deadlines no model knows:
        # steps start at one slice and double while nothing it reads changes (a part finishing, the
        # host's request reset them); a part's own end above still bounds them exactly.
        if self.progress:
            self.idle_grow = SLICE_NS
            self.progress = False
        if self.clock_watch:
            step = min(step, self.idle_grow)
            self.idle_grow = min(self.idle_grow * 2, 1 << 40)
        elif self.busy_work and not known:
            # The firmware drove a part in this slice (a flash word programmed, a QSPI command) and no
            # part is busy: it is working, not waiting — its next pass does more now (a 4 KB flash
            # write is 1024 such passes of 16 µs; any skip here would add to each).
            step = 0
        return max(0, step)

    def usb_reset(self) -> None:
        """The host resets the port (≥ 10 ms, USB 2.0 §7.1.7.5) and then leaves the device its 10 ms
        reset recovery time (TRSTRCY, §7.1.7.3) before the first SETUP."""
        self.otg.bus_reset()
        self.run_until(self.now_ns + 10_000_000)

    def run_until(self, until_ns: int, done: Callable[[], bool] | None = None, stop_when_idle: bool = False) -> str:
        """Runs until `done()`, device time `until_ns`, or (with stop_when_idle) the firmware idling.
        An idle firmware lets time skip by `idle_step` (each step runs its loop again, so it keeps
        refreshing a watchdog). Returns 'done' | 'time' | 'idle'."""
        while True:
            if done is not None and done():
                return 'done'
            if self.now_ns >= until_ns:
                return 'time'
            self.run_slice()
            if done is not None and done():
                return 'done'
            if self.otg.idle:
                if stop_when_idle:
                    return 'idle'
                self.advance(self.idle_step(until_ns))
