// The emu/ layer: an emulated Cortex-M that runs a real loader image behind a simulated board, so the
// loader's own code is tested through the same WebUSB interface as hardware (docs/architecture.md).
// This file is its entry — the Node edge of the emulated CPU: one Python process (`/usr/bin/python3 -m bbemu`, Unicorn) per
// emulated boot, driven over the line protocol in README.md. Implements the simulator's SimEmulator:
// it enumerates the firmware's USB device as a host does (descriptors read from the firmware), hands
// every control transfer to it, writes the memories it programs through to the board, and waits on the
// board's Clock for the device time each step took, so tests stay in virtual time.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BootBridgeError } from '../../shared/errors.js';
import type { ControlAnswer, EmulatedUsb, EmulatorBoot, EmulatorEnd, EmulatorEvents, EmulatorRun, SetupPacket, SimEmulator, SimEndpoint } from '../sim/types.js';
import { findBeside } from '../util/beside.js';
import type { Clock } from '../util/clock.js';

/** Debian's interpreter: the one with python3-unicorn (the `python3` on PATH may be another). */
const EMULATOR_PYTHON = '/usr/bin/python3';
const EMULATOR_INSTALL_HINT = 'sudo apt-get install python3-unicorn';

/** Board facts the peripheral models need (bbemu/periph/stm32f7.py `peripherals(machine, board)`). */
const BOARDS: Record<string, { hse_hz: number; hse_mode: string; qspi_part: string }> = {
  // STM32F746G-DISCO: 25 MHz HSE (ST's DFU_Standalone example), Micron N25Q128A on QUADSPI bank 1.
  stm32f746: { hse_hz: 25_000_000, hse_mode: 'crystal', qspi_part: 'N25Q128A' },
};

/** The folder holding the `bbemu` package, from the source tree or beside the bundled CLI. */
function bbemuPath(): string | undefined {
  const env = process.env.BOOTBRIDGE_BBEMU_PATH;
  if (env) return env;
  return findBeside((dir) => [join(dir, 'python'), join(dir, 'src-main', 'emu', 'python')].find((cand) => existsSync(join(cand, 'bbemu', '__init__.py'))));
}

let availability: { ok: true } | { ok: false; reason: string } | undefined;

/** Whether the emulated CPU can run here (Debian's python3 with unicorn, and the bbemu package). Checked once. */
export function emulatorAvailability(): { ok: true } | { ok: false; reason: string } {
  if (availability) return availability;
  const path = bbemuPath();
  if (!existsSync(EMULATOR_PYTHON)) availability = { ok: false, reason: `${EMULATOR_PYTHON} is not installed` };
  else if (!path) availability = { ok: false, reason: 'the bbemu Python package was not found beside BootBridge' };
  else {
    const r = spawnSync(EMULATOR_PYTHON, ['-c', 'import unicorn, unicorn.arm_const; assert unicorn.uc_version()[0] >= 2'], { encoding: 'utf8', timeout: 20_000 });
    availability = r.status === 0 ? { ok: true } : { ok: false, reason: `${EMULATOR_PYTHON} cannot import unicorn 2` };
  }
  return availability;
}

/** The emulator for a simulated bus, or undefined where it cannot run (the board then behaves as before). */
export function createEmulator(clock: Clock, opts: EmulatorOptions = {}): SimEmulator | undefined {
  return emulatorAvailability().ok ? new UnicornEmulator(clock, opts) : undefined;
}

export interface EmulatorOptions {
  /** Extra peripheral model classes ("module.Class") loaded beside the chip's (tests' stand-ins). */
  extraModels?: string[];
  /** Device time a boot may take before the firmware connects (default 5 s). */
  bootBudgetMs?: number;
  log?: (line: string) => void;
}

const live = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    // No orphans: the children go with the parent (they also end on stdin EOF).
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

class UnicornEmulator implements SimEmulator {
  readonly models = Object.keys(BOARDS);
  constructor(
    private readonly clock: Clock,
    private readonly opts: EmulatorOptions = {},
  ) {}

  start(boot: EmulatorBoot, events: EmulatorEvents): EmulatorRun {
    const run = new EmulatedBoot(this.clock, this.opts, boot, events);
    void run.main();
    return run;
  }
}

type Json = Record<string, unknown>;
interface Reply extends Json {
  events: (Json & { ev: string; t: number })[];
  now?: number;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
function unb64(text: unknown): Uint8Array {
  return typeof text === 'string' ? new Uint8Array(Buffer.from(text, 'base64')) : new Uint8Array(0);
}

const NEVER = new Promise<never>(() => {});

/** One emulated boot: the Python process, its device time line, and the USB device it became. */
class EmulatedBoot implements EmulatorRun {
  private child: ChildProcess | undefined;
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly t0: number;
  private stopped = false;
  private ended = false;
  private stderr: string[] = [];
  /** Delivery of timed events (disconnect, end) in device-time order, after the answer they follow. */
  private timeline: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    private readonly opts: EmulatorOptions,
    private readonly boot: EmulatorBoot,
    private readonly events: EmulatorEvents,
  ) {
    this.t0 = clock.now();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const c = this.child;
    this.child = undefined;
    if (c) {
      c.stdin?.end();
      c.kill('SIGKILL');
    }
    this.waiting?.reject(new Error('emulator stopped'));
    this.waiting = undefined;
  }

  private spawn(): ChildProcess {
    const path = bbemuPath();
    if (!path) throw new BootBridgeError('EMULATOR_UNAVAILABLE', `The bbemu package was not found. ${EMULATOR_INSTALL_HINT}`);
    const child = spawn(EMULATOR_PYTHON, ['-m', 'bbemu'], {
      env: { ...process.env, PYTHONPATH: path, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    track(child);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const w = this.waiting;
      this.waiting = undefined;
      try {
        w?.resolve(JSON.parse(line) as Reply);
      } catch (e) {
        w?.reject(e as Error);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      for (const l of d.toString('utf8').split('\n')) if (l.trim()) this.stderr.push(l);
      if (this.stderr.length > 40) this.stderr.splice(0, this.stderr.length - 40);
      this.opts.log?.(d.toString('utf8'));
    });
    child.once('exit', (code, signal) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(new Error(`emulator process ended (${signal ?? code})${this.stderr.length ? ': ' + this.stderr.slice(-3).join(' | ') : ''}`));
    });
    child.stdin!.on('error', () => undefined);
    this.keepAlive(child, false);
    return child;
  }

  /**
   * The process keeps Node alive only while a request is in flight: a loader left running when the
   * program is done (a read without leave) must not keep the program from exiting; the exit hook then
   * kills the process.
   */
  private keepAlive(child: ChildProcess, on: boolean): void {
    const handles = [child, child.stdout, child.stderr, child.stdin] as ({ ref?: () => void; unref?: () => void } | null)[];
    for (const h of handles) (on ? h?.ref : h?.unref)?.call(h);
  }

  /** One request at a time; the VirtualClock holds still while the answer is being computed. */
  private request(msg: Json): Promise<Reply> {
    const job = this.queue.then(
      () =>
        new Promise<Reply>((resolvePromise, reject) => {
          const child = this.child;
          if (this.stopped || !child) return reject(new Error('emulator stopped'));
          const hold = (this.clock as { hold?: () => () => void }).hold?.() ?? (() => {});
          this.keepAlive(child, true);
          const done = () => {
            hold();
            this.keepAlive(child, false);
          };
          this.waiting = {
            resolve: (r) => {
              done();
              resolvePromise(r);
            },
            reject: (e) => {
              done();
              reject(e);
            },
          };
          child.stdin!.write(JSON.stringify(msg) + '\n');
        }),
    );
    this.queue = job.catch(() => undefined);
    return job;
  }

  private nowNs(): number {
    return Math.max(0, Math.round((this.clock.now() - this.t0) * 1e6));
  }

  /** Waits on the board's clock until device time `ns` (since the jump). */
  private async until(ns: number): Promise<void> {
    const ms = this.t0 + ns / 1e6 - this.clock.now();
    if (ms > 0) await this.clock.sleep(ms);
  }

  /** Memory writes apply at once; disconnect and the end are delivered at their device time. */
  private absorb(reply: Reply): void {
    for (const ev of reply.events) {
      if (ev.ev === 'mem') this.events.memoryChanged(String(ev.name), Number(ev.off), unb64(ev.data));
      else if (ev.ev === 'log') this.opts.log?.(String(ev.msg));
      else if (ev.ev === 'disconnect' || ev.ev === 'stop') {
        const t = ev.t;
        this.timeline = this.timeline.then(async () => {
          await this.until(t);
          // After the answer that preceded it has reached the host (a macrotask later on any Clock).
          await this.clock.sleep(0);
          if (this.stopped) return;
          if (ev.ev === 'disconnect') this.events.disconnected();
          else this.finish(stopToEnd(ev));
        });
      }
    }
  }

  private finish(end: EmulatorEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.events.ended(end);
    this.stop();
  }

  async main(): Promise<void> {
    try {
      this.child = this.spawn();
      const b = this.boot;
      const reply = await this.request({
        op: 'boot',
        entry: b.entry,
        budget_ns: (this.opts.bootBudgetMs ?? 5000) * 1e6,
        board: { ...BOARDS[b.model], model: b.model, uid: b64(b.uid), flash_size_kb: b.flashSizeKb, iwdg_running_at_entry: false, extra_models: this.opts.extraModels ?? [] },
        ram: b.ram.map((r) => [r.address, b64(r.data)]),
        mem: Object.fromEntries(b.memories.map((m) => [m.name, m.chunks.map((c) => [c.offset, b64(c.data)])])),
      });
      const connect = reply.events.find((e) => e.ev === 'connect');
      this.absorb({ ...reply, events: reply.events.filter((e) => e.ev !== 'connect') });
      if (reply.stopped) return;
      if (reply.state !== 'connected' || !connect) {
        await this.until(Number(reply.now ?? 0));
        this.finish({ kind: 'hang', reason: `the firmware did not connect to USB within ${(this.opts.bootBudgetMs ?? 5000) / 1000} s of device time` });
        return;
      }
      await this.until(connect.t);
      const usb = await this.enumerate();
      if (!usb || this.stopped || this.ended) return;
      this.events.enumerated(usb);
    } catch (e) {
      if (!this.stopped) this.finish({ kind: 'error', reason: (e as Error).message });
    }
  }

  /** A control transfer as the host makes it; resolves at the device time the transfer ended. */
  private async transfer(setup: SetupPacket, data?: Uint8Array): Promise<ControlAnswer | 'timeout'> {
    const raw = new Uint8Array([setup.bmRequestType, setup.bRequest, setup.wValue & 0xff, setup.wValue >> 8, setup.wIndex & 0xff, setup.wIndex >> 8, setup.wLength & 0xff, setup.wLength >> 8]);
    const reply = await this.request({ op: 'control', at: this.nowNs(), setup: b64(raw), ...(data && (setup.bmRequestType & 0x80) === 0 ? { data: b64(data) } : {}) });
    this.absorb(reply);
    if (typeof reply.done === 'number') await this.until(reply.done);
    const status = reply.status;
    if (status === 'ok') return { status: 'ok', data: unb64(reply.data), ...(data && (setup.bmRequestType & 0x80) === 0 ? { bytesWritten: data.length } : {}) };
    if (status === 'stall') return { status: 'stall' };
    if (status === 'disconnected') return { status: 'disconnected' };
    // No answer: the firmware stopped or never answered (the host's own timeout reports it).
    const stop = reply.events.find((e) => e.ev === 'stop');
    if (stop && (stop.kind === 'reset' || stop.kind === 'jump')) return { status: 'disconnected' };
    return 'timeout';
  }

  private readonly endpoint: SimEndpoint = {
    control: async (setup, data) => {
      if (this.stopped || this.ended) return { status: 'disconnected' };
      try {
        const r = await this.transfer(setup, data);
        return r === 'timeout' ? NEVER : r;
      } catch {
        return { status: 'disconnected' };
      }
    },
  };

  /**
   * Enumeration as Linux's hub driver does it for a full-speed device (hub_port_init, usb_new_device):
   * reset, the first 64 bytes of the device descriptor, reset, SET_ADDRESS, the device descriptor, the
   * configuration (9 bytes, then all of it), the string descriptors, SET_CONFIGURATION 1.
   */
  private async enumerate(): Promise<EmulatedUsb | undefined> {
    const get = async (type: number, index: number, length: number, langId = 0): Promise<Uint8Array | undefined> => {
      const r = await this.transfer({ bmRequestType: 0x80, bRequest: 6, wValue: (type << 8) | index, wIndex: langId, wLength: length });
      return r !== 'timeout' && r.status === 'ok' ? (r.data ?? new Uint8Array(0)) : undefined;
    };
    const fail = (what: string) => {
      this.finish({ kind: 'hang', reason: `enumeration failed: ${what}` });
      return undefined;
    };
    const reset = async () => {
      const r = await this.request({ op: 'bus_reset', at: this.nowNs() });
      this.absorb(r);
      if (typeof r.now === 'number') await this.until(r.now);
      return !r.stopped && r.connected === true;
    };
    if (!(await reset())) return fail('the device went away at the bus reset');
    const first = await get(1, 0, 64);
    if (!first || first.length < 8) return fail('no device descriptor (device descriptor read/64)');
    if (!(await reset())) return fail('the device went away at the second bus reset');
    const addr = await this.transfer({ bmRequestType: 0x00, bRequest: 5, wValue: 1, wIndex: 0, wLength: 0 });
    if (addr === 'timeout' || addr.status !== 'ok') return fail('SET_ADDRESS was not accepted');
    const device = await get(1, 0, 18);
    if (!device || device.length !== 18 || device[1] !== 1) return fail('no valid device descriptor at the new address');
    const head = await get(2, 0, 9);
    if (!head || head.length < 9 || head[1] !== 2) return fail('no configuration descriptor');
    const total = head[2]! | (head[3]! << 8);
    const configuration = await get(2, 0, total);
    if (!configuration || configuration.length !== total) return fail('configuration descriptor shorter than its wTotalLength');
    const strings: Uint8Array[] = [];
    const langs = await get(3, 0, 255);
    strings[0] = langs ?? new Uint8Array([2, 3]);
    const lang = langs && langs.length >= 4 ? langs[2]! | (langs[3]! << 8) : 0x0409;
    const wanted = new Set<number>([device[14]!, device[15]!, device[16]!]);
    for (let o = 0; o + 1 < configuration.length && configuration[o]! >= 2; o += configuration[o]!) {
      if (configuration[o + 1] === 4 && configuration[o + 8]) wanted.add(configuration[o + 8]!);
    }
    for (const i of [...wanted].filter((x) => x > 0).sort((a, b) => a - b)) {
      const s = await get(3, i, 255, lang);
      if (s) strings[i] = s;
    }
    for (let i = 0; i < strings.length; i++) strings[i] ??= new Uint8Array(0);
    const set = await this.transfer({ bmRequestType: 0x00, bRequest: 9, wValue: configuration[5]!, wIndex: 0, wLength: 0 });
    if (set === 'timeout' || set.status !== 'ok') return fail('SET_CONFIGURATION was not accepted');
    return { endpoint: this.endpoint, device, configuration, strings };
  }
}

function stopToEnd(ev: Json): EmulatorEnd {
  const reason = String(ev.reason ?? ev.kind);
  const pc = typeof ev.pc === 'number' ? ev.pc : undefined;
  switch (ev.kind) {
    case 'jump':
      return { kind: 'jump', address: Number(ev.address), reason };
    case 'reset':
      return { kind: 'reset', reason };
    case 'unmodelled':
      return { kind: 'unmodelled', reason, address: Number(ev.address), ...(pc !== undefined ? { pc } : {}) };
    default:
      return { kind: 'fault', reason, ...(pc !== undefined ? { pc } : {}) };
  }
}
