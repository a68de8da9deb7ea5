// The services (src-main/services/) kept alive for a GUI: a connection to real USB or simulated
// boards, devices inspected once and cached, opened files and loader packages by id, running
// operations with their abort controllers. Both doors (Electron, web host) serve it through ApiHost.

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { BootBridgeError, toErrorData } from '../../shared/errors.js';
import type { DeviceInfo, ProductionEvent, ProductionIgnored, ProductionState, RecipeEntry, RecipeView } from '../../shared/contract.js';
import type { FlashEvent, FlashResult } from '../../shared/progress.js';
import { writeDfuSe } from '../firmware/index.js';
import { autoLoaderCandidates, type LoaderPackage } from '../loader/index.js';
import type { FlashPlan, PlanOptions } from '../plan/index.js';
import { SIM_MODELS, defaultSimSerial, simChip, simLoaderImages } from '../sim/index.js';
import { formatDump } from '../usb/dump.js';
import { applySimFaults, parseSimFault, type SimFaultSpec } from '../sim/fault-spec.js';
import { connect, parseSimModel, type Connection } from './connect.js';
import type { Clock } from '../util/clock.js';
import { deviceInfo, inspectDevice, listDfuDevices, type DeviceDetails } from './devices.js';
import { listLoaderFolders, openFirmwareBytes, openFirmwareFile, openLoaderFolder, writeFileAtomic, type OpenedFirmware } from './files.js';
import { checkLoaderUsable, eraseDevice, flashDevice, isRunningLoader, planFlash, readDevice } from './operations.js';
import { chipById } from '../devices/chips.js';
import type { AppBackend, PlanArgs, ProductionBackend } from './api-host.js';
import { boardLocks } from './board-locks.js';
import { loadRecipe, recipeChips, type LoadedRecipe } from '../production/recipe.js';
import { ProductionStation } from '../production/station.js';
import { UnitLog, readUnitLog, unitsToCsv } from '../production/unit-log.js';
import type { ServiceDescribe, ServiceLoader } from './views.js';

export interface HostArgs {
  sim?: string;
  /** Use simulated boards of this model when no DFU hardware is attached at start. */
  simIfNoHardware?: string;
  simBoards?: number;
  simState?: string;
  simSpeed?: number;
  port?: number;
  /** Folder holding loaders/ (and examples/, recipes/). */
  assetsDir?: string;
  /** Where production unit logs go (bootbridge-units-STATION.jsonl). Default: the working folder, as the CLI. */
  unitLogDir?: string;
  /** Simulated faults (--sim-fault, repeatable): demos, operator training, tests of the FAIL views. */
  simFaults?: SimFaultSpec[];
}

/** Parses --sim MODEL, --sim-if-no-hardware MODEL, --sim-boards N, --sim-state DIR, --sim-speed X, --sim-fault SPEC, --port N, --assets DIR, --unit-log-dir DIR. */
export function parseHostArgs(argv: readonly string[]): HostArgs {
  const out: HostArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new BootBridgeError('BAD_ARGUMENT', `${flag} needs a value`, { field: flag });
      return v;
    };
    const int = (min: number, max: number) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) throw new BootBridgeError('BAD_ARGUMENT', `${flag} must be an integer from ${min} to ${max}`, { field: flag });
      return n;
    };
    if (flag === '--sim') out.sim = value();
    else if (flag === '--sim-if-no-hardware') out.simIfNoHardware = value();
    else if (flag === '--sim-boards') out.simBoards = int(1, 64);
    else if (flag === '--sim-state') out.simState = value();
    else if (flag === '--sim-speed') out.simSpeed = Number(value());
    else if (flag === '--port') out.port = int(0, 65535);
    else if (flag === '--assets') out.assetsDir = value();
    else if (flag === '--unit-log-dir') out.unitLogDir = value();
    else if (flag === '--sim-fault') (out.simFaults ??= []).push(parseSimFault(value()));
  }
  return out;
}

const SIM_TITLES: Record<string, string> = {
  stm32f746: 'STM32F746G-DISCO (QSPI)',
  stm32f407: 'STM32F407 Discovery',
  stm32h743: 'STM32H743 Nucleo',
  stm32g474: 'STM32G474 Nucleo',
  stm32l476: 'STM32L476 Nucleo',
};

interface Op {
  deviceId: string;
  abort: AbortController;
}

const hex = (n: number) => '0x' + n.toString(16);

export class ServicesBackend implements AppBackend {
  private readonly details = new Map<string, { key: string; details: DeviceDetails }>();
  private readonly files = new Map<string, OpenedFirmware>();
  private loaderCache?: { id: string; pkg: LoaderPackage }[];
  private readonly ops = new Map<string, Op>();
  private seq = 0;
  private readonly listeners = new Set<(d: DeviceInfo[]) => void>();
  private lastSignature = '';
  private timer?: ReturnType<typeof setInterval>;
  private readonly offs: (() => void)[] = [];
  /** Boards on this bus are simulated (in-process bus, or the virtual-USB bench): offer the simulator's loaders. */
  private readonly simulated: boolean;
  readonly production: ProductionSession;

  constructor(
    readonly conn: Connection,
    private readonly assetsDir: string,
    unitLogDir?: string,
  ) {
    this.simulated = conn.bus !== undefined || conn.simulated === true;
    this.production = new ProductionSession(conn, assetsDir, unitLogDir);
    const changed = () => void this.refresh();
    this.offs.push(conn.backend.onConnect(changed), conn.backend.onDisconnect(changed));
  }

  private deviceKey(d: USBDevice): string {
    const i = deviceInfo(this.conn.backend, d);
    return `${i.id}|${i.mode}|${hex(i.vendorId)}:${hex(i.productId)}`;
  }

  private async find(id: string): Promise<USBDevice> {
    for (const d of await listDfuDevices(this.conn.backend)) if (deviceInfo(this.conn.backend, d).id === id) return d;
    throw new BootBridgeError('DEVICE_NOT_FOUND', `Device ${id} is no longer attached`, { serial: id });
  }

  /** Descriptors are read once per enumeration; a re-enumerated board (ROM → loader) is read again. */
  private async inspect(d: USBDevice): Promise<DeviceDetails> {
    const info = deviceInfo(this.conn.backend, d);
    const key = this.deviceKey(d);
    const hit = this.details.get(info.id);
    if (hit && hit.key === key) return hit.details;
    const details = await inspectDevice(this.conn.backend, d);
    this.details.set(info.id, { key, details });
    return details;
  }

  async listDevices(): Promise<DeviceInfo[]> {
    const busy = new Set([...this.ops.values()].map((o) => o.deviceId));
    // Boards a production lane holds are busy too (board-locks.ts).
    for (const id of boardLocks.busy()) busy.add(id);
    const out: DeviceInfo[] = [];
    for (const d of await listDfuDevices(this.conn.backend)) {
      const info = deviceInfo(this.conn.backend, d);
      // A board being programmed is not probed: its descriptors would interleave with the engine's transfers.
      let details: DeviceDetails | undefined;
      if (!busy.has(info.id)) details = await this.inspect(d).catch(() => undefined);
      else details = this.details.get(info.id)?.details;
      // A board running a BootBridge loader is known by its paired manifest (USB identity), and its
      // chip by the package's one chip: not an "unknown chip".
      const paired = details ? await this.paired(details) : undefined;
      const pairedChip = paired && paired.pkg.manifest.chips.length === 1 ? chipById(paired.pkg.manifest.chips[0]!) : undefined;
      const chip = details?.chip ?? pairedChip;
      out.push({
        ...info,
        serial: info.serial ?? '',
        simulated: this.simulated,
        ...(chip ? { chip: { deviceId: chip.deviceId, name: chip.name } } : {}),
        ...(paired ? { loader: { id: paired.id, name: paired.pkg.manifest.name, ...(paired.pkg.manifest.version ? { version: paired.pkg.manifest.version } : {}) } } : {}),
      });
    }
    return out;
  }

  /** The loader package a board left running a BootBridge loader belongs to (its USB identity), if any. */
  private async paired(details: DeviceDetails): Promise<{ id: string; pkg: LoaderPackage } | undefined> {
    if (details.info.mode !== 'loader') return undefined;
    // Loaders may share one USB identity (every BootBridge loader is 1209:0001): the memories it
    // reports (alt settings and their layouts) must be the ones its manifest promises.
    const shape = (mems: readonly { alt: number; layout: { blocks: readonly { start: number; size: number }[] } }[]) =>
      mems.map((m) => `${m.alt}:${m.layout.blocks.map((b) => `${b.start}+${b.size}`).join(',')}`).sort().join('|');
    const have = shape(details.memories);
    const same = (await this.loaders()).filter((l) => isRunningLoader(details, l.pkg));
    return same.find((l) => shape(l.pkg.manifest.memories) === have) ?? (same.length === 1 ? same[0] : undefined);
  }

  /**
   * The loader a read or erase goes through: the one asked for; for 'auto' (or none given) the paired
   * package of a running loader, else — when the ROM serves none of `addresses` — the first loader for
   * the chip that serves them all. 'none': the ROM alone.
   */
  private async loaderFor(details: DeviceDetails, choice: string | undefined, addresses: number[]): Promise<LoaderPackage | undefined> {
    if (choice === 'none') return undefined;
    const all = await this.loaders();
    if (choice && choice !== 'auto') {
      const hit = all.find((l) => l.id === choice);
      if (!hit) throw new BootBridgeError('LOADER_INVALID', `No loader package "${choice}"`, { field: 'loader' });
      return hit.pkg;
    }
    const paired = await this.paired(details);
    if (paired) return paired.pkg;
    // Only a package serving the memory the ROM cannot reach (loader/choice.ts): never for internal flash alone.
    return autoLoaderCandidates(all, details.chip?.deviceId, details.memories.map((m) => m.layout), addresses)[0]?.pkg;
  }

  private async refresh(): Promise<void> {
    if (this.listeners.size === 0) return;
    const list = await this.listDevices().catch(() => undefined);
    if (!list) return;
    const sig = JSON.stringify(list);
    if (sig === this.lastSignature) return;
    this.lastSignature = sig;
    for (const l of this.listeners) l(list);
  }

  onDevicesChanged(listener: (devices: DeviceInfo[]) => void): () => void {
    this.listeners.add(listener);
    // Hot-plug events can be missed (UsbBackend): poll as well, cheaply.
    this.timer ??= setInterval(() => void this.refresh(), 1500);
    this.timer.unref?.();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  async describe(id: string): Promise<ServiceDescribe> {
    const d = await this.find(id);
    const details = await this.inspect(d);
    const alts = details.descriptors.configurations.flatMap((c) => c.interfaces);
    return {
      descriptors: details.descriptors,
      dump: formatDump(details.descriptors),
      memories: details.memories.map((m) => {
        const text = alts.find((a) => a.bAlternateSetting === m.alt)?.name;
        return { alt: m.alt, name: m.layout.name, layout: m.layout, ...(text ? { text } : {}) };
      }),
    };
  }

  private remember(fw: OpenedFirmware): unknown {
    const id = `fw${++this.seq}`;
    this.files.set(id, fw);
    return {
      id,
      name: fw.name,
      path: fw.path,
      format: fw.image.format,
      size: fw.image.size,
      sha256: fw.sha256,
      segments: fw.image.segments.map((s) => ({ address: s.address, length: s.data.length, sources: s.sources })),
      ...(fw.image.entry !== undefined ? { entry: fw.image.entry } : {}),
    };
  }

  async openFirmware(path: string, opts: { baseAddress?: number } = {}): Promise<unknown> {
    return this.remember(await openFirmwareFile(path, opts));
  }

  async openFirmwareBytes(name: string, bytes: Uint8Array, opts: { baseAddress?: number } = {}): Promise<unknown> {
    // A page-supplied name is a label only: never a path main would touch.
    const fw = await openFirmwareBytes(basename(name.replace(/\\/g, '/')), bytes, opts);
    const opened = this.remember({ ...fw, path: '' }) as Record<string, unknown>;
    delete opened.path;
    return opened;
  }

  private async loaders(): Promise<{ id: string; pkg: LoaderPackage }[]> {
    if (!this.loaderCache) {
      const out: { id: string; pkg: LoaderPackage }[] = [];
      for (const folder of listLoaderFolders(resolve(this.assetsDir, 'loaders'))) {
        const pkg = await openLoaderFolder(folder).catch(() => undefined);
        // The simulator's loaders boot only on simulated boards: offer them only there.
        if (pkg && (!pkg.manifest.simulated || this.simulated)) out.push({ id: basename(folder), pkg });
      }
      this.loaderCache = out;
    }
    return this.loaderCache;
  }

  async listLoaders(): Promise<ServiceLoader[]> {
    return (await this.loaders()).map(({ id, pkg }) => {
      const m = pkg.manifest;
      return {
        id,
        name: m.name,
        ...(m.version ? { version: m.version } : {}),
        ...(m.description ? { description: m.description } : {}),
        simulated: m.simulated,
        ...(m.experimental ? { experimental: true } : {}),
        chips: m.chips,
        transferSize: m.transferSize,
        memories: m.memories.map((mem) => ({ alt: mem.alt, name: mem.layout.name, text: mem.text, layout: mem.layout })),
      };
    });
  }

  private firmware(id: string): OpenedFirmware {
    const fw = this.files.get(id);
    if (!fw) throw new BootBridgeError('BAD_ARGUMENT', `No open file ${id}; open it again`, { field: 'firmwareId' });
    return fw;
  }

  private planOptions(req: PlanArgs): PlanOptions {
    return { verify: req.options.verify, leave: req.options.leave ? {} : false, massErase: !req.options.eraseTouchedOnly };
  }

  /**
   * Resolves the loader choice and plans. 'auto' stages a loader only when the ROM alone cannot place
   * every segment (and the loader makes the plan valid); an explicit loader is always offered to the planner.
   */
  private async planFor(req: PlanArgs): Promise<{ device: USBDevice; details: DeviceDetails; fw: OpenedFirmware; loader?: LoaderPackage; plan: FlashPlan; loaderId?: string }> {
    const device = await this.find(req.deviceId);
    const details = await this.inspect(device);
    const fw = this.firmware(req.firmwareId);
    const options = this.planOptions(req);
    const choice = req.loader ?? 'auto';
    const all = await this.loaders();
    if (choice === 'none') return { device, details, fw, plan: planFlash(details, fw, undefined, options) };
    if (choice !== 'auto') {
      const hit = all.find((l) => l.id === choice);
      if (!hit) throw new BootBridgeError('LOADER_INVALID', `No loader package "${choice}"`, { field: 'loader' });
      return { device, details, fw, loader: hit.pkg, loaderId: hit.id, plan: planFlash(details, fw, hit.pkg, options) };
    }
    const paired = await this.paired(details);
    if (paired) return { device, details, fw, loader: paired.pkg, loaderId: paired.id, plan: planFlash(details, fw, paired.pkg, options) };
    const romOnly = planFlash(details, fw, undefined, options);
    if (romOnly.ok || details.info.mode !== 'rom') return { device, details, fw, plan: romOnly };
    const chip = details.chip;
    // Only a package serving the memory the ROM cannot reach (loader/choice.ts): never for internal flash alone.
    const candidates = autoLoaderCandidates(all, chip?.deviceId, details.memories.map((m) => m.layout), fw.image.segments.map((seg) => seg.address));
    for (const c of candidates) {
      const p = planFlash(details, fw, c.pkg, options);
      if (p.ok) return { device, details, fw, loader: c.pkg, loaderId: c.id, plan: p };
    }
    return { device, details, fw, plan: romOnly };
  }

  async plan(req: PlanArgs): Promise<FlashPlan & { loaderId?: string }> {
    const r = await this.planFor(req);
    return r.loaderId ? { ...r.plan, loaderId: r.loaderId } : r.plan;
  }

  flash(req: PlanArgs, onEvent: (e: FlashEvent) => void): { opId: string; done: Promise<FlashResult> } {
    const opId = `op${++this.seq}`;
    const failed = (e: unknown): FlashResult => ({ ok: false, error: toErrorData(e), stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: false });
    if ([...this.ops.values()].some((o) => o.deviceId === req.deviceId)) {
      return { opId, done: Promise.resolve(failed(new BootBridgeError('BUSY', 'This board is already being programmed', { serial: req.deviceId }))) };
    }
    // One operation per board across the app: a production lane holding it refuses this (board-locks.ts).
    const lock = boardLocks.tryAcquire(req.deviceId, 'flash');
    if (!lock) {
      return { opId, done: Promise.resolve(failed(new BootBridgeError('BUSY', `Board ${req.deviceId} is busy (${boardLocks.holder(req.deviceId) ?? 'another operation'} in progress)`, { serial: req.deviceId }))) };
    }
    const abort = new AbortController();
    this.ops.set(opId, { deviceId: req.deviceId, abort });
    const done = (async (): Promise<FlashResult> => {
      try {
        const r = await this.planFor(req);
        checkLoaderUsable(this.conn, r.details, r.loader);
        if (!r.plan.ok) {
          const first = r.plan.errors[0];
          return failed(new BootBridgeError('PLAN_INVALID', `The plan has ${r.plan.errors.length} problem(s); nothing was written${first ? `: ${first.message}` : ''}`, {}));
        }
        return await flashDevice(this.conn, r.device, r.details, r.fw, r.loader, r.plan, { onEvent, signal: abort.signal });
      } catch (e) {
        return failed(e);
      } finally {
        lock.release();
        this.ops.delete(opId);
        // The board re-enumerated (loader, then application or ROM): read it afresh next time.
        this.details.delete(req.deviceId);
        void this.refresh();
      }
    })();
    return { opId, done };
  }

  cancel(opId: string): boolean {
    const op = this.ops.get(opId);
    if (!op) return false;
    op.abort.abort(new BootBridgeError('CANCELLED', 'Cancelled by the user'));
    return true;
  }

  async read(req: { deviceId: string; address: number; length: number; loader?: string }): Promise<Uint8Array> {
    return boardLocks.with(req.deviceId, 'read', () => this.readLocked(req));
  }

  private async readLocked(req: { deviceId: string; address: number; length: number; loader?: string }): Promise<Uint8Array> {
    const device = await this.find(req.deviceId);
    const details = await this.inspect(device);
    const loader = await this.loaderFor(details, req.loader, [req.address, req.address + req.length - 1]);
    try {
      return await readDevice(this.conn, device, details, { address: req.address, length: req.length }, loader);
    } finally {
      // Through a staged loader the board re-enumerated (its descriptors are read again: the cache key has the mode).
      void this.refresh();
    }
  }

  /** Erases the sectors holding `addresses`, or mass-erases the internal flash; the board stays in DFU. */
  async erase(req: { deviceId: string; addresses: number[]; mass?: boolean; loader?: string }): Promise<{ via: 'rom' | 'loader'; alt: number; region: string; address: number; size: number }[]> {
    return boardLocks.with(req.deviceId, 'erase', async () => {
      const device = await this.find(req.deviceId);
      const details = await this.inspect(device);
      const loader = req.mass ? undefined : await this.loaderFor(details, req.loader, req.addresses);
      try {
        return await eraseDevice(this.conn, device, details, { addresses: req.addresses, ...(req.mass ? { mass: true } : {}) }, loader);
      } finally {
        void this.refresh();
      }
    });
  }

  async exportDfu(firmwareId: string, outPath: string): Promise<void> {
    writeFileAtomic(outPath, writeDfuSe(this.firmware(firmwareId).image));
  }

  simModels(): { model: string; title: string }[] {
    if (!this.conn.bus) return [];
    return SIM_MODELS.map((m) => ({ model: m, title: `${SIM_TITLES[m] ?? m} — ${simChip(m).name}` }));
  }

  async simAttach(model: string): Promise<DeviceInfo> {
    const bus = this.conn.bus;
    if (!bus) throw new BootBridgeError('BAD_ARGUMENT', 'Not running on simulated boards (start with --sim MODEL)', { field: 'model' });
    const m = parseSimModel(model);
    let n = 0;
    while (bus.boards.some((b) => b.serial === defaultSimSerial(m, n))) n++;
    const board = bus.addBoard(m, { serial: defaultSimSerial(m, n), loaders: simLoaderImages(m) });
    const list = await this.listDevices();
    void this.refresh();
    const hit = list.find((d) => d.serial === board.serial);
    if (!hit) throw new BootBridgeError('INTERNAL', 'The simulated board did not enumerate', { serial: board.serial });
    return hit;
  }

  async simDetach(deviceId: string): Promise<boolean> {
    const bus = this.conn.bus;
    if (!bus) return false;
    const board = bus.boards.find((b) => b.serial === deviceId);
    if (!board) return false;
    bus.removeBoard(board);
    this.details.delete(deviceId);
    void this.refresh();
    return true;
  }

  async close(): Promise<void> {
    for (const off of this.offs) off();
    if (this.timer) clearInterval(this.timer);
    for (const op of this.ops.values()) op.abort.abort(new BootBridgeError('CANCELLED', 'The app is closing'));
    await this.production.close();
    await this.conn.close();
  }
}

export async function createAppBackend(args: HostArgs & { clock?: Clock }): Promise<ServicesBackend> {
  const sim = (model: string) => ({ model, ...(args.simBoards ? { boards: args.simBoards } : {}), ...(args.simState ? { stateDir: args.simState } : {}), ...(args.simSpeed ? { speed: args.simSpeed } : {}) });
  const conn = await connect({
    ...(args.sim ? { sim: sim(args.sim) } : args.simIfNoHardware ? { simIfNoHardware: sim(args.simIfNoHardware) } : {}),
    ...(args.clock ? { clock: args.clock } : {}),
  });
  if (args.simFaults?.length) {
    if (!conn.bus) throw new BootBridgeError('BAD_ARGUMENT', '--sim-fault needs simulated boards (--sim MODEL)', { field: 'sim-fault' });
    applySimFaults(conn.bus.boards, args.simFaults);
  }
  return new ServicesBackend(conn, args.assetsDir ?? resolve('assets'), args.unitLogDir);
}

/** The unit log's file name for a station, as `bootbridge production` names it. */
export function unitLogName(station: string): string {
  return `bootbridge-units-${station.replace(/[^A-Za-z0-9._-]+/g, '_')}.jsonl`;
}

interface OpenStation {
  station: ProductionStation;
  loaded: LoadedRecipe;
  view: RecipeView;
  logPath: string;
  watching: boolean;
  ignored: Map<string, ProductionIgnored>;
  /** Failures the operator acknowledged (failureKey), for every window. */
  acknowledged: Set<string>;
  offs: (() => void)[];
}

/** Progress-only lane updates reach the page at most this often (wall time; see ProductionSession.lane). */
const LANE_PROGRESS_MS = 100;

/**
 * The GUI's production mode: one station at a time over the services' connection, always in gang
 * (every matching board at once). The recipe is read-only here: nothing but its file decides.
 */
export class ProductionSession implements ProductionBackend {
  private current: OpenStation | undefined;
  private readonly listeners = new Set<(e: ProductionEvent) => void>();
  /** Per lane: what was last sent (status, stage, attached), and progress held back since. */
  private readonly laneSent = new Map<string, string>();
  private readonly laneHeld = new Map<string, ProductionEvent>();
  private laneTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly conn: Connection,
    private readonly assetsDir: string,
    private readonly unitLogDir: string | undefined,
  ) {}

  onEvent(listener: (e: ProductionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: ProductionEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A closed window must not stop a lane.
      }
    }
  }

  /**
   * The engine throttles progress on the station's clock (engine/progress.ts), which in a fast
   * simulation (--sim-speed 50) is 50× wall time: four lanes would send thousands of updates a second
   * and starve the boards' own timing. Status, stage and plug changes go at once; progress-only
   * updates are coalesced per lane in wall time.
   */
  private lane(e: ProductionEvent & { kind: 'lane' }): void {
    const l = e.lane;
    const key = `${l.status}|${l.stage ?? ''}|${l.phase ?? ''}|${l.attached}`;
    if (this.laneSent.get(l.id) !== key) {
      this.laneSent.set(l.id, key);
      this.laneHeld.delete(l.id);
      this.emit(e);
      return;
    }
    this.laneHeld.set(l.id, e);
    this.laneTimer ??= setTimeout(() => {
      this.laneTimer = undefined;
      const held = [...this.laneHeld.values()];
      this.laneHeld.clear();
      for (const h of held) this.emit(h);
    }, LANE_PROGRESS_MS);
  }

  shippedRecipes(): RecipeEntry[] {
    const dir = resolve(this.assetsDir, 'recipes');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/i.test(f))
      .sort()
      .map((f) => ({ name: `Example: ${f}`, path: join(dir, f) }));
  }

  private open_(): OpenStation {
    if (!this.current) throw new BootBridgeError('BAD_ARGUMENT', 'No recipe is open; open one to enter production mode', { field: 'recipe' });
    return this.current;
  }

  async open(path: string): Promise<ProductionState> {
    if (this.current) {
      throw new BootBridgeError('BUSY', `Recipe ${this.current.view.name} ${this.current.view.version} is open; leave production mode before opening another`, { file: this.current.view.path });
    }
    const loaded = await loadRecipe(path);
    const r = loaded.recipe;
    const station = r.station ?? hostname();
    const dir = resolve(this.unitLogDir ?? '.');
    mkdirSync(dir, { recursive: true });
    const logPath = join(dir, unitLogName(station));
    // The shift's counters go on from the unit log: this recipe's attempts already recorded at this station.
    const history = existsSync(logPath) ? readUnitLog(logPath).records.filter((u) => u.recipe.sha256 === loaded.sha256) : [];
    const st = new ProductionStation({ conn: this.conn, recipe: loaded, sink: new UnitLog(logPath), station, concurrency: Infinity, history });
    const m = loaded.loader?.manifest;
    const view: RecipeView = {
      path: loaded.path,
      name: r.name,
      version: r.version,
      ...(r.station !== undefined ? { station: r.station } : {}),
      sha256: loaded.sha256,
      firmware: { name: basename(loaded.firmware.path || loaded.firmware.name), format: loaded.firmware.image.format, size: loaded.firmware.image.size, sha256: loaded.firmware.sha256 },
      ...(m && r.loader ? { loader: { name: m.name, ...(m.version ? { version: m.version } : {}), sha256: r.loader.sha256 } } : {}),
      chips: recipeChips(r).map((c) => ({ deviceId: c.deviceId, name: c.name })),
      options: { ...r.options },
      ...(r.serialPattern !== undefined ? { serialPattern: r.serialPattern } : {}),
    };
    const cur: OpenStation = { station: st, loaded, view, logPath, watching: false, ignored: new Map(), acknowledged: new Set(), offs: [] };
    cur.offs.push(
      st.on('lane', (lane) => this.lane({ kind: 'lane', lane, busy: st.busy, batch: st.batch })),
      st.on('unit', (unit) => {
        this.emit({ kind: 'unit', unit, counters: st.counters() });
        // The unit leaves the station's busy count once its promise settles, just after this event.
        setTimeout(() => {
          if (this.current === cur) this.emit({ kind: 'state', state: this.state() });
        }, 0);
      }),
      st.on('ignored', (i) => {
        cur.ignored.set(i.id, i);
        this.emit({ kind: 'ignored', ignored: i });
      }),
      st.on('error', (error) => this.emit({ kind: 'error', error })),
    );
    this.current = cur;
    const state = this.state()!;
    this.emit({ kind: 'state', state });
    return state;
  }

  state(): ProductionState | null {
    const c = this.current;
    if (!c) return null;
    return {
      recipe: c.view,
      station: c.station.station,
      logPath: c.logPath,
      lanes: c.station.lanes(),
      counters: c.station.counters(),
      watching: c.watching,
      busy: c.station.busy,
      batch: c.station.batch,
      ignored: [...c.ignored.values()],
      acknowledged: [...c.acknowledged],
    };
  }

  acknowledge(failures: string[]): ProductionState {
    const c = this.open_();
    for (const k of failures) c.acknowledged.add(k);
    this.emit({ kind: 'acknowledged', acknowledged: [...c.acknowledged] });
    return this.state()!;
  }

  async flashAll(): Promise<{ units: number; passed: number; failed: number }> {
    const c = this.open_();
    const records = await c.station.flashAll();
    if (records.length === 0 && c.station.busy === 0) {
      const why = c.ignored.size ? ` Attached but not for this recipe: ${[...c.ignored.values()].map((i) => `${i.id}: ${i.reason}`).join('; ')}.` : '';
      throw new BootBridgeError('DEVICE_NOT_FOUND', `No board this recipe is for is waiting to be programmed (boards already done stay done until unplugged).${why}`, {});
    }
    const passed = records.filter((r) => r.result === 'PASS').length;
    return { units: records.length, passed, failed: records.length - passed };
  }

  async watch(on: boolean): Promise<ProductionState> {
    const c = this.open_();
    if (on && !c.watching) {
      await c.station.startWatch();
      c.watching = true;
    } else if (!on && c.watching) {
      c.station.stopWatch();
      c.watching = false;
    }
    const state = this.state()!;
    this.emit({ kind: 'state', state });
    return state;
  }

  async retry(laneId: string): Promise<boolean> {
    const record = await this.open_().station.retry(laneId);
    return record !== undefined;
  }

  async close(): Promise<boolean> {
    const c = this.current;
    if (!c) return false;
    this.current = undefined;
    // Units in flight finish (and are logged, and shown) before the station is let go.
    await c.station.close();
    for (const off of c.offs) off();
    clearTimeout(this.laneTimer);
    this.laneTimer = undefined;
    this.laneHeld.clear();
    this.laneSent.clear();
    this.emit({ kind: 'state', state: null });
    return true;
  }

  unitsCsv(): { csv: string; units: number; name: string } {
    const c = this.open_();
    const records = existsSync(c.logPath) ? readUnitLog(c.logPath).records : [];
    return { csv: unitsToCsv(records), units: records.length, name: basename(c.logPath).replace(/\.jsonl$/, '.csv') };
  }

  exportUnitsCsv(path: string): { units: number } {
    const { csv, units } = this.unitsCsv();
    writeFileAtomic(path, csv);
    return { units };
  }
}
