// One simulated STM32 board: its memories, what it is running (ROM bootloader, loader, application or
// nothing), and the jump between them. Each enumeration gets a fresh SimDfuseEndpoint and USBDevice; the
// memories live on the board and survive re-enumeration (RAM is lost only on power-off).

import { BootBridgeError } from '../../shared/errors.js';
import { hex32 } from '../../shared/format.js';
import { sectorEraseMs } from '../devices/chips.js';
import { parseLayout } from '../dfu/layout.js';
import { crc32 } from '../util/crc32.js';
import type { Clock } from '../util/clock.js';
import { buildDescriptors, type DfuIdentity } from './descriptors.js';
import { SimDfuseEndpoint, DfuState, DfuStatus, type DfuOperation, type DfuPersonality } from './dfuse-device.js';
import { SimFaults, type SimRequestName } from './faults.js';
import { SimMemory } from './memory.js';
import { boardExtras, chipMemories, simChip, systemMemories, type SimChip, type SimModelName } from './models.js';
import { LEAVE_DISCONNECT_MS, LOADER_ENUMERATION_MS, OPTION_BYTE_RESET_MS, ROM_ENUMERATION_MS } from './timing.js';
import type { ControlAnswer, EmulatedUsb, EmulatorEnd, EmulatorRun, SetupPacket, SimEmulator, SimEndpoint } from './types.js';
import { SimUsbDevice, type StallStyle } from './webusb.js';
import { nonceString } from '../loader/package.js';

export type SimMode = 'rom' | 'loader' | 'app' | 'unplugged';

/** A loader the board will boot when the ROM leaves to its load address and RAM holds exactly `image` there. */
export interface SimLoaderImage {
  name: string;
  loadAddress: number;
  image: Uint8Array;
  vendorId: number;
  productId: number;
  product: string;
  transferSize: number;
  /** DfuSe layout strings, alt 0 first (loader protocol §2.1). */
  memories: string[];
  /** Implements the 0xB0 CRC32 extension. */
  crc32: boolean;
  /** Implements the background-write extension, command 0xB1 (loader protocol §8). */
  overlap?: boolean;
  timing?: { /** From the jump to its enumeration. */ enumerationMs?: number };
  /**
   * The staging nonce record (loader protocol §2.3): 16 bytes at `offset` of `image`, "BBNONCE1" then 8
   * bytes the host writes before staging. The board recognises the image whatever those 8 bytes are,
   * and the loader reports the ones it finds in RAM as string descriptor `string`.
   */
  nonce?: { offset: number; string: number };
}

/** Non-volatile memories of one board (flash, option bytes, OTP, QSPI), by memory name. */
export interface SimState {
  model: SimModelName;
  serial: string;
  memories: Record<string, Uint8Array>;
}

/** What the board needs from its bus. */
export interface SimBoardHost {
  clock: Clock;
  stallAs: StallStyle;
  connect(board: SimBoard, device: SimUsbDevice): void;
  disconnect(board: SimBoard, device: SimUsbDevice): void;
  /** A different board appearing where the loader should (fault): it boots `image`, or runs the same RAM image emulated. */
  spawnImpostor(from: SimBoard, serial: string | undefined, as: 'loader' | 'rom', image: SimLoaderImage | { ram: { address: number; data: Uint8Array }[]; pointer: number }): void;
  /** Runs RAM images the board does not recognise (src-main/emu on Node); absent: such an image faults back to the ROM. */
  emulator?: SimEmulator;
}

interface External {
  memory: SimMemory;
  pageProgramMs: number;
  sectorEraseMs: number;
  bulkEraseMs: number;
}

/** UID words whose ST serial (Get_SerialNum: hex(w0 + w2) then the top 16 bits of w1) is `serial`. */
function uidForSerial(serial: string): Uint8Array {
  let w0: number, w1: number, w2: number;
  if (/^[0-9A-Fa-f]{12}$/.test(serial)) {
    w2 = 0x20202020;
    w0 = (parseInt(serial.slice(0, 8), 16) - w2) >>> 0;
    w1 = ((parseInt(serial.slice(8, 12), 16) << 16) | 0x4b36) >>> 0;
  } else {
    const h = crc32(new TextEncoder().encode(serial));
    [w0, w1, w2] = [h, (h * 31) >>> 0, (h ^ 0x5a5a5a5a) >>> 0];
  }
  const out = new Uint8Array(12);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, w0, true);
  dv.setUint32(4, w1, true);
  dv.setUint32(8, w2, true);
  return out;
}

const DFU_NAMES: SimRequestName[] = ['DETACH', 'DNLOAD', 'UPLOAD', 'GETSTATUS', 'CLRSTATUS', 'GETSTATE', 'ABORT'];
const STD_NAMES: Record<number, SimRequestName> = { 0: 'GET_STATUS', 1: 'CLEAR_FEATURE', 3: 'SET_FEATURE', 5: 'SET_ADDRESS', 6: 'GET_DESCRIPTOR', 8: 'GET_CONFIGURATION', 9: 'SET_CONFIGURATION', 10: 'GET_INTERFACE', 11: 'SET_INTERFACE' };

/** The fault list's name of a request (faults.ts SimRequestName). */
function emulatedRequestName(setup: SetupPacket): SimRequestName {
  const type = (setup.bmRequestType >> 5) & 3;
  if (type === 1) return DFU_NAMES[setup.bRequest] ?? 'OTHER';
  if (type === 0) return STD_NAMES[setup.bRequest] ?? 'OTHER';
  return 'OTHER';
}

/** RAM with every staging-nonce record's 8 host-written bytes zeroed (loader protocol §2.3). */
function withoutNonce(ram: Uint8Array): Uint8Array {
  const tag = [0x42, 0x42, 0x4e, 0x4f, 0x4e, 0x43, 0x45, 0x31]; // "BBNONCE1"
  for (let i = 0; i + 16 <= ram.length; i += 4) {
    if (ram[i] !== 0x42) continue;
    if (tag.every((b, k) => ram[i + k] === b)) ram.fill(0, i + 8, i + 16);
  }
  return ram;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `ram` holds `l.image`, byte for byte except the 8 nonce bytes the host fills in. */
export function holdsLoaderImage(ram: Uint8Array, l: SimLoaderImage): boolean {
  if (!l.nonce) return bytesEqual(ram, l.image);
  if (ram.length !== l.image.length) return false;
  const skipFrom = l.nonce.offset + 8;
  const skipTo = l.nonce.offset + 16;
  for (let i = 0; i < ram.length; i++) {
    if (i >= skipFrom && i < skipTo) continue;
    if (ram[i] !== l.image[i]) return false;
  }
  return true;
}

export class SimBoard {
  readonly model: SimModelName;
  readonly serial: string;
  readonly portPath: string;
  readonly faults = new SimFaults();
  readonly chip: SimChip;
  /** Loader images this board recognises (section "The loader" of DESIGN.md). */
  readonly loaders: SimLoaderImage[];

  private readonly host: SimBoardHost;
  private readonly memories: SimMemory[];
  private readonly externals: External[];
  private modeNow: SimMode = 'unplugged';
  private current: { dfu?: SimDfuseEndpoint; endpoint: SimEndpoint; usb: SimUsbDevice } | undefined;
  private emu: { run: EmulatorRun; generation: number } | undefined;
  private emuEnd: EmulatorEnd | undefined;
  private goneWaiters: (() => void)[] = [];
  private generation = 0;
  private powerCycles = 0;
  private listeners = new Set<(mode: SimMode) => void>();
  private lastCrc: number | undefined;

  constructor(host: SimBoardHost, model: SimModelName, opts: { serial: string; portPath: string; state?: SimState; loaders?: SimLoaderImage[] }) {
    this.host = host;
    this.model = model;
    this.serial = opts.serial;
    this.portPath = opts.portPath;
    this.loaders = [...(opts.loaders ?? [])];
    this.chip = simChip(model);
    this.externals = boardExtras(model).map((e) => ({ memory: new SimMemory(e.spec), pageProgramMs: e.pageProgramMs, sectorEraseMs: e.sectorEraseMs, bulkEraseMs: e.bulkEraseMs }));
    this.memories = [
      ...chipMemories(this.chip).map((s) => new SimMemory(s)),
      ...systemMemories(this.chip, uidForSerial(this.serial)).map((s) => new SimMemory(s)),
      ...this.externals.map((e) => e.memory),
    ];
    if (opts.state) this.importState(opts.state);
  }

  get mode(): SimMode {
    return this.modeNow;
  }

  /** Raw control transfers of the current enumeration (virtual-USB harness). */
  get endpoint(): SimEndpoint | undefined {
    return this.current?.endpoint;
  }

  /** WebUSB view of the current enumeration. */
  get device(): USBDevice | undefined {
    return this.current?.usb;
  }

  /** DFU state of the current enumeration, for tests. */
  get dfuState(): { state: number; status: number; alt: number; pointer: number } | undefined {
    const d = this.current?.dfu;
    return d ? { state: d.state, status: d.status, alt: d.alt, pointer: d.pointer } : undefined;
  }

  onModeChange(listener: (mode: SimMode) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- memory access for tests and inspection (no USB) ---------------------------------------

  memoryAt(address: number, length = 1): SimMemory | undefined {
    return this.memories.find((m) => m.contains(address, length));
  }

  memoryByName(name: string): SimMemory | undefined {
    return this.memories.find((m) => m.name === name);
  }

  read(address: number, length: number): Uint8Array {
    this.current?.dfu?.settle();
    const m = this.memoryAt(address, length);
    if (!m) throw new BootBridgeError('ADDRESS_UNREACHABLE', `No memory of the simulated ${this.model} holds ${hex32(address)}+${length}`, { address, length, serial: this.serial });
    return m.read(address, length);
  }

  /** Writes memory directly (test set-up), bypassing USB and programming rules. */
  poke(address: number, data: Uint8Array): void {
    const m = this.memoryAt(address, data.length);
    if (!m) throw new BootBridgeError('ADDRESS_UNREACHABLE', `No memory of the simulated ${this.model} holds ${hex32(address)}+${data.length}`, { address, length: data.length });
    m.writeRaw(address, data);
  }

  exportState(): SimState {
    this.current?.dfu?.settle();
    const memories: Record<string, Uint8Array> = {};
    for (const m of this.memories) if (m.spec.persistent) memories[m.name] = m.snapshot();
    return { model: this.model, serial: this.serial, memories };
  }

  private importState(state: SimState): void {
    if (state.model !== this.model) {
      throw new BootBridgeError('BAD_ARGUMENT', `Saved state is for a ${state.model}, not a ${this.model}`, { serial: state.serial, field: 'model' });
    }
    for (const [name, bytes] of Object.entries(state.memories)) {
      const m = this.memoryByName(name);
      if (m?.spec.persistent) m.restore(bytes);
    }
  }

  // ---- power and bus ---------------------------------------------------------------------------

  /** Cable out: off the bus, RAM lost; an operation in progress is torn. */
  unplug(): void {
    this.generation++;
    this.endEmulation();
    this.powerCycles++;
    this.offBus();
    for (const m of this.memories) if (m.spec.kind === 'ram') m.clear();
    this.setMode('unplugged');
  }

  /** Cable in with BOOT0 held: the ROM bootloader enumerates (at once when `immediately`). */
  plug(immediately = false): void {
    if (this.modeNow !== 'unplugged') return;
    this.bootRom(immediately ? 0 : ROM_ENUMERATION_MS);
  }

  /** NRST pulse with BOOT0 held: back to the ROM bootloader; RAM keeps its content. */
  reset(): void {
    if (this.modeNow === 'unplugged') return;
    this.bootRom(ROM_ENUMERATION_MS);
  }

  private setMode(mode: SimMode): void {
    if (mode === this.modeNow) return;
    this.modeNow = mode;
    for (const l of [...this.listeners]) l(mode);
  }

  private offBus(): void {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    cur.dfu?.disconnect();
    for (const w of this.goneWaiters.splice(0)) w();
    cur.usb.markDisconnected();
    this.host.disconnect(this, cur.usb);
  }

  private later(ms: number, fn: () => void): void {
    const gen = this.generation;
    if (ms <= 0) {
      fn();
      return;
    }
    void this.host.clock.sleep(ms).then(() => {
      if (gen === this.generation) fn();
    });
  }

  private enumerate(personality: DfuPersonality): void {
    const dfu = new SimDfuseEndpoint(personality, {
      clock: this.host.clock,
      faults: this.faults,
      unplug: () => this.unplug(),
      background: (ms, fn) => {
        const power = this.powerCycles;
        void this.host.clock.sleep(Math.max(0, ms)).then(() => {
          if (power === this.powerCycles) fn();
        });
      },
    });
    // A host enumerating the device selects configuration 1 (Linux usbcore does it before any driver runs).
    dfu.configuration = 1;
    const d = personality.descriptors;
    const usb = new SimUsbDevice({ endpoint: dfu, clock: this.host.clock, device: d.device, configuration: d.configuration, strings: d.strings, stallAs: this.host.stallAs });
    this.current = { dfu, endpoint: dfu, usb };
    this.host.connect(this, usb);
  }

  /** Called by the bus when the board is added: it is already on the bus in its ROM bootloader. */
  start(): void {
    this.bootRom(0);
  }

  private bootRom(delayMs: number): void {
    this.generation++;
    this.endEmulation();
    this.offBus();
    this.setMode('rom');
    this.later(delayMs, () => this.enumerate(this.romPersonality()));
  }

  /** Loader staged and jumped to: after its start-up it enumerates with the ROM's serial. */
  bootLoader(image: SimLoaderImage, delayMs = image.timing?.enumerationMs ?? LOADER_ENUMERATION_MS): void {
    this.generation++;
    this.endEmulation();
    this.offBus();
    this.setMode('loader');
    this.later(delayMs, () => this.enumerate(this.loaderPersonality(image)));
  }

  private runApp(): void {
    this.generation++;
    this.endEmulation();
    this.offBus();
    this.setMode('app');
  }

  private read32(address: number): number | undefined {
    const m = this.memoryAt(address, 4);
    if (!m) return undefined;
    const b = m.read(address, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  /**
   * The jump after a leave (AN3156 §6.3.5; Cortex-M reset sequence: SP = word 0, PC = word 1 with the
   * Thumb bit). No executable code there → the core faults and the watchdog/reset brings the ROM back
   * (BOOT0 still held). In RAM only a registered loader image, byte for byte at its load address, boots.
   */
  jump(pointer: number): void {
    const region = this.memoryAt(pointer, 8);
    const sp = this.read32(pointer);
    const pc = this.read32(pointer + 4);
    const rams = this.memories.filter((m) => m.spec.kind === 'ram');
    const spOk = sp !== undefined && (sp & 3) === 0 && rams.some((m) => sp > m.start && sp <= m.end);
    const target = pc !== undefined ? (pc & ~1) >>> 0 : 0;
    const pcOk = pc !== undefined && (pc & 1) === 1 && this.memories.some((m) => (m.spec.kind === 'ram' || m.spec.kind === 'flash') && m.contains(target));
    const kind = region?.spec.kind;
    if (!region || (kind !== 'flash' && kind !== 'ram') || !spOk || !pcOk) {
      this.bootRom(ROM_ENUMERATION_MS);
      return;
    }
    if (kind === 'flash') {
      this.runApp();
      return;
    }
    const image = this.loaders.find((l) => l.loadAddress === pointer && this.memoryAt(pointer, l.image.length) !== undefined && holdsLoaderImage(this.read(pointer, l.image.length), l));
    if (!image) {
      if (this.host.emulator?.models.includes(this.model) && kind === 'ram') {
        this.jumpEmulated(pointer);
        return;
      }
      this.bootRom(ROM_ENUMERATION_MS);
      return;
    }
    if (this.faults.take('loader-never-appears')) {
      this.runApp();
      return;
    }
    const impostor = this.faults.take('other-board-instead-of-loader');
    if (impostor) {
      this.runApp();
      this.host.spawnImpostor(this, impostor.serial, impostor.as ?? 'loader', image);
      return;
    }
    this.bootLoader(image);
  }

  // ---- an unrecognised RAM image, executed on the emulated CPU (SimBoardHost.emulator) ----------

  /** How the last emulated run ended (undefined while it runs or when none ran), for tests and logs. */
  get emulation(): { running: boolean; end?: EmulatorEnd } | undefined {
    if (this.emu) return { running: true };
    return this.emuEnd ? { running: false, end: this.emuEnd } : undefined;
  }

  private endEmulation(): void {
    const e = this.emu;
    this.emu = undefined;
    e?.run.stop();
  }

  /** RAM as the ROM left it, and the non-volatile memories the firmware may program, for the emulator. */
  private emulatorBoot(pointer: number): Parameters<SimEmulator['start']>[0] {
    const ram = this.memories.filter((m) => m.spec.kind === 'ram').map((m) => ({ address: m.start, data: m.read(m.start, m.spec.size) }));
    const memories = this.memories
      .filter((m) => m.spec.kind === 'flash' || m.spec.kind === 'qspi')
      .map((m) => {
        const chunks: { offset: number; data: Uint8Array }[] = [];
        for (let off = 0; off < m.spec.size; off += 4096) {
          const data = m.read(m.start + off, Math.min(4096, m.spec.size - off));
          if (data.some((b) => b !== m.spec.blank)) chunks.push({ offset: off, data });
        }
        return { name: m.name, start: m.start, size: m.spec.size, chunks };
      });
    const uid = this.memoryByName('uid')?.read(this.chip.uidAddress, 12) ?? new Uint8Array(12);
    return { model: this.model, serial: this.serial, entry: pointer, ram, memories, uid, flashSizeKb: this.chip.flash.size / 1024 };
  }

  /**
   * The ROM jumped to a RAM image the simulator does not know: its machine code runs on the emulated
   * core. The board is then what that code makes of it: a USB device with the descriptors the firmware
   * sends, memories it programs (written through at once), a jump to flash (the application runs), a
   * reset (the ROM enumerates again, BOOT0 held), or nothing at all after a fault or a hang.
   */
  private jumpEmulated(pointer: number): void {
    const emulator = this.host.emulator!;
    if (this.faults.take('loader-never-appears')) {
      this.runApp();
      return;
    }
    const impostor = this.faults.take('other-board-instead-of-loader');
    if (impostor) {
      // The other board runs the same image, staged by another run: not with this run's staging nonce
      // (loader protocol §2.3: "BBNONCE1" then 8 bytes the host wrote; another board's copy holds zeros).
      const ram = this.memories.filter((m) => m.spec.kind === 'ram').map((m) => ({ address: m.start, data: withoutNonce(m.read(m.start, m.spec.size)) }));
      this.runApp();
      this.host.spawnImpostor(this, impostor.serial, impostor.as ?? 'loader', { ram, pointer });
      return;
    }
    this.generation++;
    this.endEmulation();
    this.offBus();
    this.setMode('loader');
    this.emuEnd = undefined;
    const generation = this.generation;
    const mine = () => generation === this.generation;
    const run = emulator.start(this.emulatorBoot(pointer), {
      enumerated: (usb) => {
        if (mine()) this.connectEmulated(usb);
      },
      disconnected: () => {
        if (mine()) this.offBus();
      },
      memoryChanged: (name, offset, data) => {
        if (!mine()) return;
        const m = this.memoryByName(name);
        if (m && offset + data.length <= m.spec.size) m.writeRaw(m.start + offset, data);
      },
      ended: (end) => {
        if (!mine()) return;
        this.emu = undefined;
        this.emuEnd = end;
        if (end.kind === 'jump') this.runApp();
        else if (end.kind === 'reset') this.bootRom(ROM_ENUMERATION_MS);
        // A fault or a hang: the core stops; the device never (again) answers. Off the bus it stays.
        else this.offBus();
      },
    });
    if (mine()) this.emu = { run, generation };
    else run.stop();
  }

  /** Puts the emulated firmware's USB device on the bus, behind the board's wire faults. */
  private connectEmulated(dev: EmulatedUsb): void {
    const inner = dev.endpoint;
    const generation = this.generation;
    const endpoint: SimEndpoint = { control: (setup, data) => this.emulatedControl(inner, generation, setup, data) };
    const usb = new SimUsbDevice({ endpoint, clock: this.host.clock, device: dev.device, configuration: dev.configuration, strings: dev.strings, stallAs: this.host.stallAs });
    this.current = { endpoint, usb };
    this.host.connect(this, usb);
  }

  /** The wire between host and emulated device: the same faults as for a modelled device (faults.ts). */
  private async emulatedControl(inner: SimEndpoint, generation: number, setup: SetupPacket, data?: Uint8Array): Promise<ControlAnswer> {
    const gone: ControlAnswer = { status: 'disconnected' };
    if (generation !== this.generation || !this.current) return gone;
    const f = this.faults;
    for (const { entry, fault } of f.peek('unplug-at-request')) {
      entry.seen++;
      if (entry.seen >= fault.request) {
        f.fire(entry);
        this.unplug();
        return gone;
      }
    }
    const dnload = setup.bmRequestType === 0x21 && setup.bRequest === 1 && setup.wValue >= 2 && data !== undefined && data.length > 0;
    if (dnload) {
      for (const { entry, fault } of f.peek('unplug-at-byte')) {
        if (entry.seen + data.length > fault.byte) {
          f.fire(entry);
          this.unplug();
          return gone;
        }
        entry.seen += data.length;
      }
    }
    const name = emulatedRequestName(setup);
    if (f.take('hang', (x) => x.request === name || x.request === 'any')) {
      return new Promise<ControlAnswer>((resolve) => this.goneWaiters.push(() => resolve(gone)));
    }
    if (f.take('stall', (x) => x.request === name || x.request === 'any')) return { status: 'stall' };
    // A flipped bit on the wire reaches the firmware as it is (the loader's CRC32 must catch it).
    const payload = dnload ? this.flipBit(data) : data;
    const answer = await inner.control(setup, payload);
    return generation === this.generation ? answer : gone;
  }

  // ---- personalities ---------------------------------------------------------------------------

  private op(reportedMs: number, realMs: number, commit: () => number, tear?: () => void): DfuOperation {
    return { reportedMs, realMs, commit, ...(tear ? { tear } : {}) };
  }

  /** Refused before anything is done (address, alignment): the status is known at once. */
  private failed(reportedMs: number, status: number): DfuOperation {
    return { ...this.op(reportedMs, 0, () => status), refused: true };
  }

  private injectedStatus(on: 'write' | 'erase'): number | undefined {
    return this.faults.take('status', (f) => f.on === on || f.on === 'any')?.status;
  }

  private eraseFactor(): number {
    return this.faults.take('slow-erase')?.factor ?? 1;
  }

  private flipBit(data: Uint8Array): Uint8Array {
    const f = this.faults.take('flip-bit');
    if (!f) return data;
    const out = data.slice();
    const at = Math.min(f.offset ?? 0, out.length - 1);
    out[at] = out[at]! ^ (1 << ((f.bit ?? 0) & 7));
    return out;
  }

  private leaveTo(pointer: number, immediately: boolean): void {
    const gen = this.generation;
    this.later(immediately ? 0 : LEAVE_DISCONNECT_MS, () => {
      if (gen === this.generation) this.jump(pointer);
    });
  }

  private romIdentity(): DfuIdentity {
    return {
      vendorId: 0x0483,
      productId: 0xdf11,
      bcdDevice: this.chip.rom.bcdDevice,
      manufacturer: 'STMicroelectronics',
      product: this.chip.rom.product,
      serial: this.serial,
      altNames: this.chip.romAltStrings,
      dfuAttributes: 0x0b,
      detachTimeoutMs: 0xff,
      transferSize: this.chip.rom.transferSize,
      bcdDfuVersion: 0x011a,
      bcdUsb: 0x0100,
      maxPower2mA: 0x32,
    };
  }

  /** The ST system bootloader in DFU mode (AN3156), as the device logs show it. */
  private romPersonality(): DfuPersonality {
    const chip = this.chip;
    const t = chip.timing;
    const reserved = chip.romReservedRam;
    const romReadable = (m: SimMemory) => m.spec.kind !== 'qspi';
    // AN2662 §4.5.1 / AN3156: write memory covers flash, SRAM (outside what the ROM uses), option bytes, OTP.
    const romWritable = (m: SimMemory, address: number, length: number) =>
      m.spec.kind === 'flash' ||
      m.spec.kind === 'option-bytes' ||
      m.spec.kind === 'otp' ||
      m.spec.kind === 'feature' ||
      (m.spec.kind === 'ram' && (address + length <= reserved.start || address >= reserved.end));
    return {
      descriptors: buildDescriptors(this.romIdentity()),
      transferSize: chip.rom.transferSize,
      commands: new Uint8Array([0x00, 0x21, 0x41, 0x92]),
      initial: chip.rom.startsInDfuError ? { state: DfuState.dfuERROR, status: DfuStatus.errFIRMWARE } : { state: DfuState.dfuIDLE, status: DfuStatus.OK },
      initialPointer: chip.flash.start,
      setAddress: (address) => {
        // AN2662 §4.5.2: the pointer may address flash, SRAM, system memory and option bytes; anything
        // else (the F746's QSPI window at 0x90000000 included) ends in dfuERROR / errTARGET.
        const m = this.memoryAt(address);
        return this.op(0, 0, () => (m && romReadable(m) ? DfuStatus.OK : DfuStatus.errTARGET));
      },
      erase: (address) => {
        const injected = this.injectedStatus('erase');
        const flash = this.memoryByName('flash')!;
        if (address === undefined) {
          const real = t.massEraseMs * this.eraseFactor();
          if (injected !== undefined) return this.op(t.romReportedMassEraseMs, real, () => injected);
          return this.op(t.romReportedMassEraseMs, real, () => {
            flash.blankRange(flash.start, flash.spec.size);
            return DfuStatus.OK;
          });
        }
        // AN2662 §4.5.3: only internal-flash addresses can be erased; others → errTARGET.
        const sector = this.memoryAt(address)?.spec.kind === 'flash' ? flash.sectorAt(address) : undefined;
        if (!sector) return this.failed(t.romReportedEraseMs, DfuStatus.errTARGET);
        const real = sectorEraseMs(chip, sector.size) * this.eraseFactor();
        if (injected !== undefined) return this.op(t.romReportedEraseMs, real, () => injected);
        return this.op(t.romReportedEraseMs, real, () => {
          flash.blankRange(sector.start, sector.size);
          return DfuStatus.OK;
        });
      },
      write: (address, raw) => {
        const m = this.memoryAt(address, raw.length);
        if (!m || !romWritable(m, address, raw.length)) return this.failed(t.romReportedWriteMs, DfuStatus.errTARGET);
        const injected = this.injectedStatus('write');
        const data = this.flipBit(raw);
        const units = Math.ceil(data.length / m.spec.unitBytes);
        const real = m.spec.kind === 'flash' || m.spec.kind === 'otp' ? (units * t.programUsPerUnit) / 1000 : m.spec.kind === 'option-bytes' ? 16 : 0.05;
        if (injected !== undefined) return this.op(t.romReportedWriteMs, real, () => injected);
        return this.op(
          t.romReportedWriteMs,
          real,
          () => {
            // F4/F7 program clears bits; L4/G4/H7 refuse a non-erased flash word (PROGERR). Which DFU
            // status the L4/G4/H7 ROMs report for it is not documented: errPROG (DFU 1.1 table A.2) here.
            if (!m.program(address, data)) return DfuStatus.errPROG;
            // AN2662 §4.5.1 figure: after writing option bytes the ROM resets to load them.
            if (m.spec.kind === 'option-bytes') this.later(OPTION_BYTE_RESET_MS, () => this.bootRom(ROM_ENUMERATION_MS));
            return DfuStatus.OK;
          },
          () => {
            m.program(address, data.subarray(0, data.length >> 1));
          },
        );
      },
      read: (address, length) => {
        const m = this.memoryAt(address);
        if (!m || !romReadable(m)) return DfuStatus.errTARGET;
        return m.read(address, Math.min(length, m.end - address));
      },
      readUnprotect: () => {
        const flash = this.memoryByName('flash')!;
        return this.op(t.romReportedMassEraseMs, t.massEraseMs, () => {
          flash.blankRange(flash.start, flash.spec.size);
          this.later(1, () => this.bootRom(ROM_ENUMERATION_MS));
          return DfuStatus.OK;
        });
      },
      leave: (pointer, immediately) => this.leaveTo(pointer, immediately),
      detach: () => this.later(LEAVE_DISCONNECT_MS, () => this.bootRom(ROM_ENUMERATION_MS)),
    };
  }

  /** BootBridge loader protocol v1 (docs/loader-protocol.md): honest poll timeouts, CRC32, bigger blocks. */
  private loaderPersonality(image: SimLoaderImage): DfuPersonality {
    const chip = this.chip;
    const alts = image.memories.map((text) => {
      const layout = parseLayout(text);
      return { layout, blocks: layout.blocks };
    });
    const inAlt = (alt: number, address: number, length: number) => {
      const a = alts[alt];
      if (!a) return undefined;
      for (const b of a.blocks) {
        if (address >= b.start && address + length <= b.start + b.size) {
          const sector = b.sectors.find((s) => address >= s.start && address < s.start + s.size);
          const memory = this.memoryAt(address, length);
          if (sector && memory && (memory.spec.kind === 'flash' || memory.spec.kind === 'qspi' || memory.spec.kind === 'ram')) return { sector, memory, block: b };
        }
      }
      return undefined;
    };
    const ext = (m: SimMemory) => this.externals.find((e) => e.memory === m);
    const honest = (ms: number) => Math.ceil(ms);
    const identity: DfuIdentity = {
      vendorId: image.vendorId,
      productId: image.productId,
      bcdDevice: 0x0100,
      manufacturer: 'BootBridge',
      product: image.product,
      serial: this.serial,
      altNames: image.memories,
      dfuAttributes: 0x0b,
      detachTimeoutMs: 0xff,
      transferSize: image.transferSize,
      bcdDfuVersion: 0x011a,
      bcdUsb: 0x0200,
      maxPower2mA: 0x32,
    };
    if (image.nonce) {
      // What the loader finds in its RAM at start-up (on an impostor: whatever its RAM holds).
      const at = image.loadAddress + image.nonce.offset + 8;
      const found = this.memoryAt(at, 8) ? this.read(at, 8) : new Uint8Array(8);
      identity.extraStrings = { [image.nonce.string]: nonceString(found) };
    }
    const first = alts[0]?.blocks[0]?.start ?? chip.flash.start;
    return {
      descriptors: buildDescriptors(identity),
      transferSize: image.transferSize,
      commands: new Uint8Array([0x00, 0x21, 0x41, ...(image.crc32 ? [0xb0] : []), ...(image.overlap ? [0xb1] : [])]),
      ...(image.overlap ? { backgroundWrites: true } : {}),
      initial: { state: DfuState.dfuIDLE, status: DfuStatus.OK },
      initialPointer: first,
      setAddress: (address, alt) => this.op(0, 0, () => (inAlt(alt, address, 1) ? DfuStatus.OK : DfuStatus.errTARGET)),
      erase: (address, alt) => {
        const injected = this.injectedStatus('erase');
        const factor = this.eraseFactor();
        if (address === undefined) {
          // Mass erase of the selected alt's memory (loader protocol §3.1).
          const a = alts[alt];
          const b = a?.blocks[0];
          const m = b ? this.memoryAt(b.start, b.size) : undefined;
          if (!a || !b || !m) return this.failed(0, DfuStatus.errTARGET);
          // The QSPI NOR's bulk erase (C7) takes its own time, less than all its sector erases (timing.md).
          const e = ext(m);
          const nominal = e ? e.bulkEraseMs : chip.timing.massEraseMs;
          if (injected !== undefined) return this.op(honest(nominal), nominal * factor, () => injected);
          return this.op(honest(nominal), nominal * factor, () => {
            m.blankRange(b.start, b.size);
            return DfuStatus.OK;
          });
        }
        const hit = inAlt(alt, address, 1);
        if (!hit || !hit.sector.erasable) return this.failed(0, DfuStatus.errTARGET);
        const e = ext(hit.memory);
        const nominal = e ? e.sectorEraseMs * (hit.sector.size / (64 * 1024)) : sectorEraseMs(chip, hit.sector.size);
        if (injected !== undefined) return this.op(honest(nominal), nominal * factor, () => injected);
        return this.op(honest(nominal), nominal * factor, () => {
          hit.memory.blankRange(hit.sector.start, hit.sector.size);
          return DfuStatus.OK;
        });
      },
      write: (address, raw, alt) => {
        const hit = inAlt(alt, address, raw.length);
        if (!hit || !hit.sector.writable) return this.failed(0, DfuStatus.errTARGET);
        const m = hit.memory;
        // Flash that programs whole ECC/double words cannot start mid-word (loader protocol §3.3 errADDRESS).
        if (m.spec.rule === 'erased-only' && (address - m.start) % m.spec.unitBytes !== 0) return this.failed(0, DfuStatus.errADDRESS);
        const injected = this.injectedStatus('write');
        const data = this.flipBit(raw);
        const e = ext(m);
        const real = e
          ? (Math.floor((address + data.length - 1) / 256) - Math.floor(address / 256) + 1) * e.pageProgramMs
          : m.spec.kind === 'flash'
            ? (Math.ceil(data.length / m.spec.unitBytes) * chip.timing.programUsPerUnit) / 1000
            : 0.05;
        if (injected !== undefined) return this.op(honest(real), real, () => injected);
        return this.op(
          honest(real),
          real,
          () => (m.program(address, data) ? DfuStatus.OK : DfuStatus.errWRITE),
          () => {
            m.program(address, data.subarray(0, data.length >> 1));
          },
        );
      },
      read: (address, length, alt) => {
        const hit = inAlt(alt, address, 1);
        if (!hit || !hit.sector.readable) return DfuStatus.errTARGET;
        const end = hit.block.start + hit.block.size;
        return hit.memory.read(address, Math.min(length, end - address));
      },
      command: (payload, alt) => {
        // 0xB0 addr len: CRC-32 of the range (loader protocol §4); modelled at 100 MB/s.
        if (payload[0] !== 0xb0 || payload.length !== 9) return this.failed(0, DfuStatus.errUNKNOWN);
        const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
        const address = dv.getUint32(1, true);
        const length = dv.getUint32(5, true);
        const hit = length > 0 ? inAlt(alt, address, length) : undefined;
        if (!hit) return this.failed(0, DfuStatus.errTARGET);
        const real = length / 100_000;
        return this.op(honest(real), real, () => {
          this.lastCrc = crc32(hit.memory.read(address, length));
          return DfuStatus.OK;
        });
      },
      uploadBlock1: () => {
        if (this.lastCrc === undefined) return undefined;
        const out = new Uint8Array(4);
        new DataView(out.buffer).setUint32(0, this.lastCrc, true);
        return out;
      },
      leave: (pointer, immediately) => this.leaveTo(pointer, immediately),
      detach: () => this.later(LEAVE_DISCONNECT_MS, () => this.bootRom(ROM_ENUMERATION_MS)),
    };
  }
}
