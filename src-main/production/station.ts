// The production/ layer: recipes (recipe.ts), the station, and the crash-safe unit log (unit-log.ts),
// on top of operations/ and below the doors and services/ (docs/architecture.md). This file is its
// entry — a production station: programs every attached board that a recipe is for, each in its own lane,
// concurrently, and records every unit in the unit log before its PASS or FAIL is shown. Plain
// TypeScript with typed events, driven by the CLI now and the GUI later:
//   const st = new ProductionStation({ conn, recipe, sink: new UnitLog(path) });
//   st.on('unit', (r) => show(r)); await st.flashAll();   // or: await st.startWatch(); … st.stopWatch();

import { BootBridgeError, toErrorData, type ErrorData } from '../../shared/errors.js';
import type { FlashEvent, FlashResult, Phase, StageName } from '../../shared/progress.js';
import { ROM_DFU_ID } from '../engine/staging.js';
import { DeviceWatcher } from '../usb/discovery.js';
import { boardLocks, checkLoaderUsable, deviceInfo, flashDevice, inspectDevice, planFlash, planStagesView, type BoardLocks, type Connection, type DeviceDetails } from '../operations/index.js';
import { planInvalid } from '../plan/issues.js';
import type { PlanStageView } from '../../shared/contract.js';
import { recipePlanOptions, type LoadedRecipe } from './recipe.js';
import { compileSerialPattern, type SerialMatcher } from './serial-pattern.js';
import { unitError, type UnitRecord, type UnitSink } from './unit-log.js';
import { hex } from '../../shared/format.js';

export type LaneStatus = 'queued' | 'running' | 'PASS' | 'FAIL' | 'idle';

export interface Lane {
  /** Board id: its serial, else its port path. */
  id: string;
  serial: string;
  chip?: string;
  status: LaneStatus;
  stage?: StageName | 'check';
  phase?: Phase;
  /** 0–1 within the current phase. */
  progress: number;
  error?: ErrorData;
  /** The board's ROM bootloader is on the bus now. */
  attached: boolean;
  /** Attempts run on this lane (a retry, or the board unplugged and plugged again, is another attempt of the same unit). */
  units: number;
  /** The batch the lane's current (or last) attempt belongs to (ProductionStation.batch); 0 before its first. */
  batch: number;
  last?: UnitRecord;
  /** The engine's log lines of the current (or last) unit, oldest first, at most LANE_LOG_MAX. */
  log?: LaneLogLine[];
  /** The current (or last) attempt's plan stages with their estimates: the GUI weights the lane's one bar by them. */
  plan?: PlanStageView[];
  /** When the current (or last) attempt started (ms since 1970, the station's wall clock). */
  startedAt?: number;
}

export interface LaneLogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Lines a lane keeps: enough to see how a unit ended, bounded so a long shift holds no history. */
export const LANE_LOG_MAX = 20;

/** `lines` with `line` appended, the oldest dropped beyond LANE_LOG_MAX; a new array (lane copies share it). */
export function withLogLine(lines: readonly LaneLogLine[] | undefined, line: LaneLogLine): LaneLogLine[] {
  const next = [...(lines ?? []), line];
  return next.length > LANE_LOG_MAX ? next.slice(next.length - LANE_LOG_MAX) : next;
}

/**
 * A unit is a board (by serial); an attempt is one run on it (the unit log's record). A retry, or the
 * board plugged in again, is another attempt of the same unit: the unit counts by its latest attempt.
 */
export interface StationCounters {
  /** Units whose latest attempt passed. */
  passed: number;
  /** Units whose latest attempt failed. */
  failed: number;
  /** Distinct boards (passed + failed). */
  units: number;
  /** Every attempt, as the unit log holds them. */
  attempts: number;
  /** passed / units; null before the first unit. */
  yield: number | null;
  last?: UnitRecord;
}

/** Counters of a list of attempts (oldest first), as the unit log holds them. */
function countUnits(records: readonly UnitRecord[]): StationCounters {
  const latest = new Map<string, UnitRecord>();
  for (const r of records) latest.set(r.serial, r);
  let passed = 0;
  for (const r of latest.values()) if (r.result === 'PASS') passed++;
  const units = latest.size;
  const last = records[records.length - 1];
  return { passed, failed: units - passed, units, attempts: records.length, yield: units ? passed / units : null, ...(last ? { last } : {}) };
}

export interface StationEvents {
  /** A lane changed (status, stage, progress, result). */
  lane: Lane;
  /** A unit finished; its record is already in the unit log. */
  unit: UnitRecord;
  /** An attached DFU device the recipe is not for (another chip, a serial outside the pattern). */
  ignored: { id: string; serial?: string; reason: string };
  /** The engine's events for a lane's unit (progress, stages, log lines). */
  flash: { lane: string; event: FlashEvent };
  /** A problem of the station itself (the unit log cannot be written, the bus cannot be listed). */
  error: ErrorData;
}

type Listener<T> = (value: T) => void;

export interface StationOptions {
  conn: Connection;
  recipe: LoadedRecipe;
  sink: UnitSink;
  /** Station name in the unit log; default the recipe's, else "station". */
  station?: string;
  /** Boards programmed at once: Infinity (gang, the default) or 1 (one at a time, in a queue). */
  concurrency?: number;
  locks?: BoardLocks;
  /** Wall-clock time for the records (tests pass a fixed one). */
  now?: () => Date;
  /** Watch mode's polling period for missed hot-plug events. Default 500 ms. */
  pollMs?: number;
  /** Start at most this many units, then stop accepting boards (`--count N`). */
  maxUnits?: number;
  /** Attempts already in the unit log for this recipe (oldest first): the shift's counters go on from them. */
  history?: readonly UnitRecord[];
}

const isRom = (d: USBDevice) => d.vendorId === ROM_DFU_ID.vendorId && d.productId === ROM_DFU_ID.productId;

export class ProductionStation {
  readonly station: string;
  private readonly conn: Connection;
  private readonly recipe: LoadedRecipe;
  private readonly sink: UnitSink;
  private readonly locks: BoardLocks;
  private readonly now: () => Date;
  private readonly concurrency: number;
  private readonly pattern: SerialMatcher | undefined;
  private readonly pollMs: number;
  private readonly listeners = new Map<keyof StationEvents, Set<Listener<never>>>();
  private readonly laneMap = new Map<string, Lane>();
  /** ROM bootloaders on the bus, by board id. */
  private readonly present = new Map<string, USBDevice>();
  /** Boards whose finished unit is still attached: not programmed again until unplugged (or retried). */
  private readonly blocked = new Set<string>();
  /** Boards already reported as ignored during this attachment. */
  private readonly ignoredIds = new Set<string>();
  private readonly considering = new Map<string, Promise<UnitRecord | undefined>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly queue: (() => void)[] = [];
  private active = 0;
  private started = 0;
  private readonly maxUnits: number;
  private accepting = true;
  private watcher: DeviceWatcher | undefined;
  private unsubscribe: (() => void)[] = [];
  private readonly abort = new AbortController();
  /** Every attempt of this shift (the history given at start, then this station's), oldest first. */
  private readonly records: UnitRecord[];
  private batchNo = 0;

  constructor(opts: StationOptions) {
    this.conn = opts.conn;
    this.recipe = opts.recipe;
    this.sink = opts.sink;
    this.station = opts.station ?? opts.recipe.recipe.station ?? 'station';
    this.locks = opts.locks ?? boardLocks;
    this.now = opts.now ?? (() => new Date());
    this.concurrency = opts.concurrency ?? Infinity;
    if (!(this.concurrency >= 1)) throw new BootBridgeError('BAD_ARGUMENT', `concurrency must be at least 1 (got ${opts.concurrency})`, { field: 'concurrency' });
    this.pattern = opts.recipe.recipe.serialPattern !== undefined ? compileSerialPattern(opts.recipe.recipe.serialPattern) : undefined;
    this.pollMs = opts.pollMs ?? 500;
    this.maxUnits = opts.maxUnits ?? Infinity;
    this.records = [...(opts.history ?? [])];
  }

  // ---- events ---------------------------------------------------------------------------------

  on<K extends keyof StationEvents>(event: K, listener: Listener<StationEvents[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  private emit<K extends keyof StationEvents>(event: K, value: StationEvents[K]): void {
    for (const l of this.listeners.get(event) ?? []) {
      try {
        (l as Listener<StationEvents[K]>)(value);
      } catch {
        // A listener's failure must not stop a lane.
      }
    }
  }

  // ---- state ----------------------------------------------------------------------------------

  lanes(): Lane[] {
    return [...this.laneMap.values()].map((l) => ({ ...l }));
  }

  counters(): StationCounters {
    return countUnits(this.records);
  }

  /**
   * The current batch: boards started together by one Flash, or — in watch mode and on retry — every
   * board started while another was still running. 0 before the first.
   */
  get batch(): number {
    return this.batchNo;
  }

  /**
   * The batch a board starting now joins: that of its Flash press (`press`, numbered when its first board
   * starts, so a press that finds nothing leaves the batch as it was), else the running one, else a new one.
   */
  private batchFor(press: { n?: number } | undefined): number {
    if (press) return (press.n ??= ++this.batchNo);
    const running = [...this.laneMap.values()].some((l) => l.status === 'queued' || l.status === 'running');
    return running ? this.batchNo : ++this.batchNo;
  }

  /** Units running or waiting for a slot. */
  get busy(): number {
    return this.inFlight.size;
  }

  // ---- modes ----------------------------------------------------------------------------------

  /** One button: every matching board attached now, once. Resolves with the units run. */
  async flashAll(): Promise<UnitRecord[]> {
    this.listenForUnplug();
    let devices: USBDevice[];
    try {
      devices = (await this.conn.backend.getDevices()).filter(isRom);
    } catch (e) {
      const err = toErrorData(e);
      this.emit('error', err);
      throw e;
    }
    // Reconcile: boards gone since the last look count as unplugged.
    const ids = new Set(devices.map((d) => this.idOf(d)));
    for (const [id, d] of [...this.present]) if (!ids.has(id)) this.detached(d);
    const press: { n?: number } = {};
    const runs = devices.map((d) => this.attached(d, press));
    const records = await Promise.all(runs);
    return records.filter((r): r is UnitRecord => r !== undefined);
  }

  /** Flash-on-connect: every matching board, as it is connected, until stopWatch(). */
  async startWatch(): Promise<void> {
    if (this.watcher) return;
    this.accepting = true;
    const w = new DeviceWatcher(this.conn.backend, { clock: this.conn.clock, filters: [ROM_DFU_ID], includeDfuClass: false, pollMs: this.pollMs });
    this.watcher = w;
    w.on('attached', (d) => void this.attached(d));
    w.on('detached', (d) => this.detached(d));
    await w.start();
  }

  /** Stops watching for new boards; units in flight finish. */
  stopWatch(): void {
    this.watcher?.stop();
    this.watcher = undefined;
  }

  /** No new unit starts (queued ones are dropped, not failed); units in flight finish. For Ctrl-C. */
  stopAccepting(): void {
    this.accepting = false;
    this.stopWatch();
    for (const start of this.queue.splice(0)) start();
  }

  /** Cancels the units in flight (they FAIL with CANCELLED and are logged). */
  cancel(): void {
    this.stopAccepting();
    this.abort.abort(new BootBridgeError('CANCELLED', 'Production stopped by the operator'));
  }

  /** Resolves when no unit is running or queued. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Programs a board again whose last unit failed while it stayed attached (the operator's Retry). */
  async retry(id: string): Promise<UnitRecord | undefined> {
    const d = this.present.get(id);
    if (!d) throw new BootBridgeError('DEVICE_NOT_FOUND', `Board ${id} is not attached in its ROM bootloader`, { serial: id });
    this.blocked.delete(id);
    this.accepting = true;
    return this.attached(d);
  }

  /** Stops watching and listening; waits for the units in flight. */
  async close(): Promise<void> {
    this.stopAccepting();
    for (const u of this.unsubscribe.splice(0)) u();
    await this.idle();
  }

  // ---- boards coming and going ------------------------------------------------------------------

  private idOf(d: USBDevice): string {
    return deviceInfo(this.conn.backend, d).id;
  }

  private listenForUnplug(): void {
    if (this.unsubscribe.length) return;
    this.unsubscribe.push(this.conn.backend.onDisconnect((d) => isRom(d) && this.detached(d)));
  }

  private detached(d: USBDevice): void {
    const id = this.idOf(d);
    this.present.delete(id);
    this.blocked.delete(id);
    this.ignoredIds.delete(id);
    const lane = this.laneMap.get(id);
    if (lane && lane.attached) this.update(lane, { attached: false });
  }

  /** A ROM bootloader is on the bus: program it if the recipe is for it and it is not done already. */
  private attached(d: USBDevice, press?: { n?: number }): Promise<UnitRecord | undefined> {
    if (!isRom(d)) return Promise.resolve(undefined);
    const id = this.idOf(d);
    this.present.set(id, d);
    const lane = this.laneMap.get(id);
    if (lane && !lane.attached) this.update(lane, { attached: true });
    const pending = this.considering.get(id);
    if (pending) return pending;
    if (!this.accepting || this.blocked.has(id) || this.ignoredIds.has(id)) return Promise.resolve(undefined);
    const p = this.consider(id, d, press).finally(() => {
      this.considering.delete(id);
      this.inFlight.delete(p);
    });
    this.considering.set(id, p);
    this.inFlight.add(p);
    return p;
  }

  private ignore(id: string, serial: string | undefined, reason: string): undefined {
    this.ignoredIds.add(id);
    this.emit('ignored', { id, ...(serial ? { serial } : {}), reason });
    return undefined;
  }

  private async consider(id: string, d: USBDevice, press: { n?: number } | undefined): Promise<UnitRecord | undefined> {
    const serial = d.serialNumber ?? undefined;
    if (this.pattern && !this.pattern.test(serial ?? '')) {
      return this.ignore(id, serial, `serial ${serial ?? '(none)'} does not match the recipe's serialPattern ${this.pattern.source}`);
    }
    const lock = this.locks.tryAcquire(id, 'production');
    if (!lock) return this.ignore(id, serial, `board is busy (${this.locks.holder(id) ?? 'another operation'} in progress)`);
    try {
      let details: DeviceDetails;
      try {
        await this.locks.settled(id);
        details = await inspectDevice(this.conn.backend, d);
      } catch (e) {
        return this.ignore(id, serial, `its descriptors cannot be read: ${toErrorData(e).message}`);
      }
      const chip = details.chip;
      if (!chip) return this.ignore(id, serial, 'its chip cannot be identified');
      if (!this.recipe.recipe.chips.includes(chip.deviceId)) {
        return this.ignore(id, serial, `it is a ${chip.name} (${hex(chip.deviceId, 1)}); the recipe is for ${this.recipe.recipe.chips.map((c) => hex(c, 1)).join(', ')}`);
      }
      const lane = this.laneMap.get(id) ?? { id, serial: serial ?? id, status: 'idle' as LaneStatus, progress: 0, attached: true, units: 0, batch: 0 };
      const joins = this.batchFor(press);
      this.laneMap.set(id, lane);
      // The board stays reserved (locked) while it waits for a slot.
      this.update(lane, { status: 'queued', batch: joins, chip: chip.name, progress: 0, attached: true, stage: undefined, phase: undefined, error: undefined });
      const go = await this.slot();
      // A board unplugged while it waited in the queue never started: no unit, nothing logged.
      const gone = !this.present.has(id);
      if (!go || gone) {
        if (go) {
          this.started--;
          this.freeSlot();
        }
        this.update(lane, { status: lane.last ? lane.last.result : 'idle', ...(gone ? { attached: false } : {}) });
        return undefined;
      }
      try {
        return await this.unit(lane, d, details);
      } finally {
        this.freeSlot();
      }
    } finally {
      lock.release();
    }
  }

  // ---- the concurrency limit (gang: unlimited; queue: one at a time) -----------------------------

  private slot(): Promise<boolean> {
    const take = (): boolean => {
      if (!this.accepting || this.started >= this.maxUnits) return false;
      this.active++;
      // The unit limit counts units started, so a gang never overshoots `--count`.
      if (++this.started >= this.maxUnits) this.stopAccepting();
      return true;
    };
    if (!this.accepting || this.active < this.concurrency) return Promise.resolve(take());
    return new Promise((resolve) => this.queue.push(() => resolve(take())));
  }

  private freeSlot(): void {
    this.active--;
    this.queue.shift()?.();
  }

  // ---- one unit ---------------------------------------------------------------------------------

  /** Sets the fields `patch` gives; a field given as undefined is cleared. */
  private update(lane: Lane, patch: { [K in keyof Lane]?: Lane[K] | undefined }): void {
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete (lane as unknown as Record<string, unknown>)[k];
      else (lane as unknown as Record<string, unknown>)[k] = v;
    }
    this.emit('lane', { ...lane });
  }

  private async unit(lane: Lane, d: USBDevice, details: DeviceDetails): Promise<UnitRecord> {
    const clock = this.conn.clock;
    const started = clock.now();
    this.update(lane, { status: 'running', stage: 'check', progress: 0, units: lane.units + 1, log: [], plan: undefined, startedAt: this.now().getTime() });
    const { recipe, firmware, loader } = this.recipe;
    let result: FlashResult;
    try {
      // The files are hashed again before every unit: a file changed mid-shift fails this unit and every later one.
      this.recipe.recheck();
      checkLoaderUsable(this.conn, details, loader);
      const p = planFlash(details, firmware, loader, recipePlanOptions(recipe));
      if (!p.ok) {
        throw planInvalid(p.errors, { serial: lane.id });
      }
      this.update(lane, { plan: planStagesView(p) });
      result = await flashDevice(this.conn, d, details, firmware, loader, p, {
        signal: this.abort.signal,
        onEvent: (event) => {
          this.emit('flash', { lane: lane.id, event });
          if (event.kind === 'progress') {
            this.update(lane, { stage: event.stage, phase: event.phase, progress: event.bytesTotal ? event.bytesDone / event.bytesTotal : 1 });
          } else if (event.kind === 'stage' && event.status === 'start') {
            this.update(lane, { stage: event.stage, progress: 0 });
          } else if (event.kind === 'log' && event.level !== 'debug') {
            this.update(lane, { log: withLogLine(lane.log, { level: event.level, message: event.message }) });
          }
        },
      });
    } catch (e) {
      const error = toErrorData(e);
      if (error.context.serial === undefined) error.context.serial = lane.id;
      result = { ok: false, error, stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: error.code === 'CANCELLED' };
    }

    let record: UnitRecord = {
      v: 1,
      time: this.now().toISOString(),
      station: this.station,
      recipe: { name: recipe.name, version: recipe.version, sha256: this.recipe.sha256 },
      firmwareSha256: firmware.sha256,
      loaderSha256: recipe.loader?.sha256 ?? null,
      serial: lane.serial,
      chipId: details.chip ? hex(details.chip.deviceId, 1) : null,
      result: result.ok ? 'PASS' : 'FAIL',
      error: result.ok || !result.error ? null : unitError(result.error),
      stageMs: result.stageMs,
      bytesWritten: result.bytesWritten,
      bytesVerified: result.bytesVerified,
      durationMs: clock.now() - started,
    };
    try {
      // Durable before it is shown: a PASS nobody can find in the log did not happen.
      this.sink.append(record);
    } catch (e) {
      const error = toErrorData(e);
      this.emit('error', error);
      record = { ...record, result: 'FAIL', error: { code: error.code, message: `The unit could not be recorded, so it does not pass: ${error.message}` } };
      result = { ...result, ok: false, error };
    }

    this.records.push(record);
    // A board still in its ROM bootloader after its unit is not programmed again until it is unplugged.
    if (this.present.has(lane.id)) this.blocked.add(lane.id);
    this.update(lane, {
      status: record.result,
      last: record,
      progress: record.result === 'PASS' ? 1 : lane.progress,
      error: record.result === 'FAIL' ? (result.error ?? { code: 'INTERNAL', message: 'failed', context: {} }) : undefined,
    });
    this.emit('unit', record);
    return record;
  }
}
