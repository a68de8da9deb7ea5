// In-process runs on simulated boards for the benchmarks: a SimBus on the clock a scenario chooses,
// one flash through the engine with its transfers counted, its events time-stamped on that clock,
// and the phases (erase, write, verify, staging) cut out of the event stream.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlashEvent, FlashResult, Phase, StageName } from '../shared/progress.js';
import { runPlan } from '../src-main/engine/index.js';
import type { LoaderPackage } from '../src-main/loader/index.js';
import type { FlashPlan, PlanOptions } from '../src-main/plan/index.js';
import { inspectDevice, type DeviceDetails } from '../src-main/operations/devices.js';
import { openFirmwareBytes, openLoaderFolder, type LoadedFirmware } from '../src-main/operations/files.js';
import { planFlash } from '../src-main/operations/operations.js';
import { SimBus, simLoaderImages, type SimBoard, type SimModelName } from '../src-main/sim/index.js';
import { TransferCounter } from '../src-main/usb/transfer.js';
import type { Clock } from '../src-main/util/clock.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const loaderFolder = (model: SimModelName) => path.join(REPO, 'assets', 'loaders', `sim-${model}`);

export const KiB = 1024;
export const MiB = 1024 * 1024;

export { pattern } from '../test/support/data.js';
import { pattern } from '../test/support/data.js';
import { createEmulator } from '../src-main/emu/emulator.js';

/** Half of the image erased-looking: every other `chunk` bytes 0xFF (whole DfuSe blocks for chunk ≥ 2 KB). */
export function sparse(length: number, chunk = 8 * KiB, seed = 2): Uint8Array {
  const out = pattern(length, seed);
  for (let at = chunk; at < length; at += 2 * chunk) out.fill(0xff, at, Math.min(length, at + chunk));
  return out;
}

export const binAt = (address: number, data: Uint8Array): Promise<LoadedFirmware> => openFirmwareBytes('image.bin', data, { baseAddress: address });
export const simLoader = (model: SimModelName = 'stm32f746'): Promise<LoaderPackage> => openLoaderFolder(loaderFolder(model));

export function simBus(clock: Clock, model: SimModelName = 'stm32f746', boards = 1): SimBus {
  const emulator = createEmulator(clock);
  const bus = new SimBus({ clock, ...(emulator ? { emulator } : {}) });
  for (let i = 0; i < boards; i++) bus.addBoard(model, { loaders: simLoaderImages(model) });
  return bus;
}

export interface Timed {
  t: number;
  e: FlashEvent;
}

/** One progress phase as the event stream shows it: from its first event to its last (the one at 100 %). */
export interface PhaseSpan {
  stage: StageName;
  phase: Phase;
  region?: string;
  start: number;
  end: number;
  bytes: number;
  events: number;
}

export function phaseSpans(events: readonly Timed[]): PhaseSpan[] {
  const spans: PhaseSpan[] = [];
  let cur: PhaseSpan | undefined;
  let complete = false;
  for (const { t, e } of events) {
    if (e.kind !== 'progress') {
      cur = undefined;
      continue;
    }
    // A phase ends with its 100 % event; the same key after that is a new phase.
    if (cur && !complete && cur.stage === e.stage && cur.phase === e.phase && cur.region === e.region) {
      cur.end = t;
      cur.events++;
    } else {
      cur = { stage: e.stage, phase: e.phase, ...(e.region !== undefined ? { region: e.region } : {}), start: t, end: t, bytes: e.bytesTotal, events: 1 };
      spans.push(cur);
    }
    complete = e.bytesDone >= e.bytesTotal;
  }
  return spans;
}

export interface FlashRun {
  result: FlashResult;
  plan: FlashPlan;
  /** Clock time of the whole run (modelled device time on a VirtualClock or ScaledClock). */
  clockMs: number;
  wallMs: number;
  /** Host CPU (user + system) spent during the run, simulator included. */
  cpuMs: number;
  transfers: { total: number; byRequest: Record<string, number> };
  events: Timed[];
  spans: PhaseSpan[];
  board: SimBoard;
}

export interface FlashJob {
  bus: SimBus;
  board?: number;
  firmware: LoadedFirmware;
  loader?: LoaderPackage;
  options: PlanOptions;
  /** Lets a scenario change the plan (e.g. verify by read-back instead of CRC32). */
  editPlan?: (p: FlashPlan) => FlashPlan;
  /** Returns a failed run (result.ok false, its phases so far) instead of throwing: for a scenario that reports the failure. */
  allowFailure?: boolean;
}

export async function prepare(job: FlashJob): Promise<{ device: USBDevice; details: DeviceDetails; plan: FlashPlan; board: SimBoard }> {
  const board = job.bus.boards[job.board ?? 0]!;
  const device = board.device!;
  const details = await inspectDevice(job.bus, device);
  let plan = planFlash(details, job.firmware, job.loader, job.options);
  if (!plan.ok) throw new Error(`benchmark plan is invalid: ${plan.errors.map((e) => e.message).join('; ')}`);
  if (job.editPlan) plan = job.editPlan(plan);
  return { device, details, plan, board };
}

/** Flashes one board and measures it; throws when the flash itself fails (a benchmark of a failure means nothing). */
export async function measureFlash(job: FlashJob): Promise<FlashRun> {
  const { device, details, plan, board } = await prepare(job);
  const clock = job.bus.clock;
  const counter = new TransferCounter();
  const events: Timed[] = [];
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const t0 = clock.now();
  const result = await runPlan(
    { backend: job.bus, clock, counter, onEvent: (e) => events.push({ t: clock.now() - t0, e }), ...(details.chip ? { deviceId: details.chip.deviceId } : {}) },
    { device },
    plan,
    job.firmware.image,
    job.loader,
  );
  const clockMs = clock.now() - t0;
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  if (!result.ok && !job.allowFailure) throw new Error(`benchmark flash failed: ${result.error?.code} ${result.error?.message}`);
  return { result, plan, clockMs, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, transfers: counter.snapshot(), events, spans: phaseSpans(events), board };
}

/** Sum of the spans matching a filter, in clock milliseconds. */
export function spanMs(spans: readonly PhaseSpan[], match: Partial<Pick<PhaseSpan, 'stage' | 'phase' | 'region'>>): number {
  return spans
    .filter((s) => (match.stage === undefined || s.stage === match.stage) && (match.phase === undefined || s.phase === match.phase) && (match.region === undefined || s.region === match.region))
    .reduce((n, s) => n + (s.end - s.start), 0);
}

/** From the end of the staging read-back (the jump follows) to the loader stage's start (its first command). */
export function stagingGapMs(events: readonly Timed[]): number | undefined {
  let lastStaging: number | undefined;
  for (const { t, e } of events) {
    if (e.kind === 'progress' && e.stage === 'staging') lastStaging = t;
    if (e.kind === 'stage' && e.stage === 'loader' && e.status === 'start') return lastStaging === undefined ? undefined : t - lastStaging;
  }
  return undefined;
}
