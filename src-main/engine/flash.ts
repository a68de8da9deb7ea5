// Runs a FlashPlan on one board: the ROM stage (erase, write, verify through the ROM bootloader),
// staging (engine/staging.ts: the loader written to RAM, read back, jumped to, found again and checked
// against its manifest), the loader stage (erase, write, verify through the loader), and leave.
// Everything the user sees comes out as FlashEvents; the FlashResult says exactly what was written and
// verified. It never reports success it did not verify.
//
//   const result = await runPlan({ backend, clock, onEvent }, { device }, plan, image, loaderPackage);

import { BootBridgeError, RESET_TO_ROM, toErrorData, type ErrorContext } from '../../shared/errors.js';
import type { FlashResult, LeaveOutcome, Phase, SectorOutcome, StageName, VerifiedRange } from '../../shared/progress.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import { readImage, type FirmwareImage } from '../firmware/image.js';
import type { LoaderPackage } from '../loader/package.js';
import { planInvalid } from '../plan/issues.js';
import { routeRange } from '../plan/route.js';
import type { EraseOp, FlashPlan, PlanStage, Via } from '../plan/types.js';
import { crc32 } from '../util/crc32.js';
import { assertRomReachable, boardIdentity, romOpenOptions, type BoardHandle, type EngineContext } from './context.js';
import { Reporter } from './progress.js';
import { compareSectors, stageWork, type VerifyItem, type WriteItem } from './sectors.js';
import { checkServed, firstDifference, needLoader, openRunningLoader, stageLoader } from './staging.js';
import { hex, hex32 } from '../../shared/format.js';

const PHASES: ReadonlySet<string> = new Set<Phase>(['connect', 'erase', 'write', 'verify', 'read', 'stage', 'jump', 'reconnect', 'leave']);

/** One run of a plan on one board: what its steps share, and what the result reports. */
class PlanRun {
  readonly reporter: Reporter;
  readonly serial: string | undefined;
  /** Where the run is, for error context: "stage loader, phase write". */
  stage: StageName = 'rom';
  phase: Phase = 'connect';
  readonly verified: VerifiedRange[] = [];
  readonly sectors: SectorOutcome[] = [];
  bytesWritten = 0;
  sectorsErased = 0;
  bytesUnchanged = 0;
  leave: LeaveOutcome = 'stayed';
  readonly devices: Partial<Record<Via, DfuseDevice>> = {};

  constructor(
    readonly ctx: EngineContext,
    readonly board: BoardHandle,
    readonly plan: FlashPlan,
    readonly image: FirmwareImage,
    readonly loader: LoaderPackage | undefined,
  ) {
    this.reporter = new Reporter(ctx.clock, ctx.onEvent);
    this.serial = boardIdentity(ctx, board).serial;
  }

  get signal(): { signal?: AbortSignal } {
    return this.ctx.signal ? { signal: this.ctx.signal } : {};
  }

  /** The device of one side: the loader once staged (or running), the ROM opened on first use. */
  async open(via: Via): Promise<DfuseDevice> {
    const d = this.devices[via];
    if (d) return d;
    if (via === 'loader') throw new BootBridgeError('INTERNAL', 'Loader stage reached without a staged loader', {});
    assertRomReachable(this.board, 'This step', this.loader?.manifest.name);
    this.phase = 'connect';
    const rom = await DfuseDevice.open(this.board.device, romOpenOptions(this.ctx, this.board));
    this.devices.rom = rom;
    return rom;
  }

  /** The error with where it happened: the engine's stage and phase, the DFU layer's own step, the board. */
  withContext(e: unknown): BootBridgeError {
    const err = e instanceof BootBridgeError ? e : new BootBridgeError('INTERNAL', e instanceof Error ? e.message : String(e), {}, { cause: e });
    const ctx: ErrorContext = err.context;
    if (ctx.stage === undefined) ctx.stage = this.stage;
    // The DFU layer names its own steps ("select alt", "get commands") in `phase`; the result names the
    // engine's phase, so the GUI, the CLI and the unit log can tell where the run stopped.
    if (ctx.phase !== undefined && !PHASES.has(ctx.phase)) {
      if (ctx.step === undefined) ctx.step = ctx.phase;
      delete ctx.phase;
    }
    if (ctx.phase === undefined) ctx.phase = this.phase;
    if (ctx.serial === undefined && this.serial) ctx.serial = this.serial;
    return err;
  }

  /** The result, reported and returned: ok, or the error it stopped on, with what was done by then. */
  finish(error?: BootBridgeError): FlashResult {
    const touched = this.sectors.length || this.sectorsErased;
    const result: FlashResult = {
      ok: error === undefined,
      ...(error ? { error: toErrorData(error) } : {}),
      stageMs: this.reporter.stageMs,
      bytesWritten: this.bytesWritten,
      bytesVerified: this.verified.reduce((n, v) => n + v.length, 0),
      verified: this.verified,
      left: this.leave === 'left',
      leave: this.leave,
      cancelled: error?.code === 'CANCELLED',
      // Sector figures, once anything was erased or compared.
      ...(touched
        ? { sectors: this.sectors, sectorsErased: this.sectorsErased, sectorsSkipped: this.sectors.filter((s) => !s.erased && s.bytesWritten === 0).length, bytesUnchanged: this.bytesUnchanged }
        : {}),
    };
    this.reporter.emit({ kind: 'result', result });
    return result;
  }
}

/** Runs `plan`. Resolves with a FlashResult in every case (ok false with the error); never throws. */
export async function runPlan(ctx: EngineContext, board: BoardHandle, plan: FlashPlan, image: FirmwareImage, loader?: LoaderPackage): Promise<FlashResult> {
  const run = new PlanRun(ctx, board, plan, image, loader);
  try {
    if (!plan.ok) throw planInvalid(plan.errors);
    if (board.loaderRunning) await resumeOnLoader(run);
    for (const stage of plan.stages) await runStage(run, stage);
    return run.finish();
  } catch (e) {
    const err = run.withContext(e);
    run.reporter.log('error', err.message);
    // Past the jump there is no way back to the ROM over USB (docs/loader-protocol.md §1).
    if (run.devices.loader) run.reporter.log('warn', `The board is still running the loader: a run with the same loader package continues on it; for anything only the ROM serves, ${RESET_TO_ROM}`);
    return run.finish(err);
  } finally {
    for (const d of Object.values(run.devices)) await d?.close().catch(() => undefined);
  }
}

/** A board an earlier run left in its loader: opened as it is, when the plan needs nothing of the ROM. */
async function resumeOnLoader(run: PlanRun): Promise<void> {
  const pkg = needLoader(run.loader);
  // Checked before anything is opened: the ROM is out of reach, so a plan that needs it cannot start.
  const needsRom = run.plan.stages.filter((s) => s.name === 'rom' || s.name === 'staging' || (s.via === 'rom' && s.name !== 'leave'));
  if (needsRom.length || run.plan.stages.some((s) => s.leave?.via === 'rom')) {
    assertRomReachable(run.board, `The plan (${needsRom.map((s) => s.title).join(', ') || 'leave'})`, pkg.manifest.name);
  }
  run.stage = 'loader';
  run.phase = 'connect';
  run.devices.loader = await openRunningLoader(run.ctx, run.board, pkg);
  run.reporter.log('info', `Loader "${pkg.manifest.name}" already running: no staging`);
  checkServed(run.devices.loader, pkg, loaderRanges(run.plan));
}

/** Everything the plan does through the loader, to check against what the running loader really serves. */
function loaderRanges(plan: FlashPlan): { alt: number; address: number; length: number }[] {
  return plan.stages
    .filter((s) => s.via === 'loader' && s.name !== 'staging')
    .flatMap((s) => [...s.erases.map((e) => ({ alt: e.alt, address: e.address, length: e.size })), ...s.writes, ...s.verifies]);
}

/** The staging stage is staging itself: the one stageLoader that read, erase and `loader check` use too. */
async function runStaging(run: PlanRun, stage: PlanStage): Promise<void> {
  const pkg = needLoader(run.loader);
  run.stage = 'staging';
  const rom = await run.open('rom');
  delete run.devices.rom; // the jump closes it
  run.devices.loader = await stageLoader(run.ctx, run.board, pkg, run.reporter, {
    rom,
    planned: true,
    ...(stage.writes[0] ? { region: stage.writes[0].region } : {}),
    onPhase: (p) => (run.phase = p),
  });
  run.bytesWritten += pkg.image.length;
  checkServed(run.devices.loader, pkg, loaderRanges(run.plan));
}

/** One stage: compare (flash only what must change), erase, write, verify, leave. */
async function runStage(run: PlanRun, stage: PlanStage): Promise<void> {
  if (stage.staging) return runStaging(run, stage);
  run.stage = stage.name;
  run.reporter.startStage(stage.name);
  const dev = stage.name === 'leave' ? (run.devices.loader ?? (await run.open('rom'))) : await run.open(stage.via);

  // Flash only what must change: compare the planned sectors first (engine/sectors.ts).
  if (stage.compares?.length) run.phase = 'read';
  const findings = stage.compares?.length ? await compareSectors(dev, stage, run.plan, run.image, run.reporter, run.ctx.signal) : new Map();
  const work = stageWork(stage, run.image, findings);
  run.sectors.push(...work.sectors);
  run.bytesUnchanged += work.bytesUnchanged;
  run.verified.push(...work.comparedVerified);

  for (const erases of byRegion(work.erases)) await eraseStep(run, stage.name, dev, erases);
  // Overlap the wire with the part where the loader's manifest offers it (docs/loader-protocol.md §8).
  if (stage.via === 'loader' && work.writes.length && run.loader?.manifest.extensions.includes('overlap') && !(await dev.enableBackgroundWrites())) {
    run.reporter.log('warn', `Loader "${run.loader.manifest.name}" lists the overlap extension but does not offer command 0xB1: writing block by block`);
  }
  for (const writes of byRegion(work.writes)) await writeStep(run, stage.name, dev, writes);
  for (const verifies of byRegion(work.verifies)) await verifyStep(run, stage.name, dev, verifies);
  if (stage.leave) await leaveStep(run, dev, stage.leave.address);
  run.reporter.endStage(stage.name);
}

/** Consecutive operations on the same memory, one progress phase each. */
function byRegion<T extends { region: string }>(ops: readonly T[]): T[][] {
  const groups: T[][] = [];
  for (const op of ops) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.region === op.region) last.push(op);
    else groups.push([op]);
  }
  return groups;
}

/** Sectors a mass erase wipes in its memory. */
function sectorsOf(plan: FlashPlan, e: { via: Via; alt: number; region: string }): number {
  const r = plan.regions.find((x) => x.via === e.via && x.alt === e.alt && x.name === e.region);
  return r ? r.layout.blocks.reduce((n, b) => n + b.sectors.length, 0) : 1;
}

/** Erases one memory's sectors (or the whole memory), as one progress phase. */
async function eraseStep(run: PlanRun, stage: StageName, dev: DfuseDevice, erases: EraseOp[]): Promise<void> {
  run.phase = 'erase';
  const p = run.reporter.phase(stage, 'erase', erases.reduce((n, e) => n + e.size, 0), erases[0]!.region);
  for (const e of erases) {
    if (run.ctx.signal?.aborted) throw new BootBridgeError('CANCELLED', 'Cancelled before erasing', { address: e.address });
    if (dev.alt !== e.alt) await dev.selectAlt(e.alt);
    if (e.kind === 'mass') await dev.massErase(e.via === 'loader' ? e.estimatedMs : 0);
    else await dev.erase(e.address);
    p.advance(e.size);
    run.sectorsErased += e.kind === 'mass' ? sectorsOf(run.plan, e) : 1;
  }
}

/** Writes one memory's ranges, as one progress phase. */
async function writeStep(run: PlanRun, stage: StageName, dev: DfuseDevice, writes: WriteItem[]): Promise<void> {
  run.phase = 'write';
  const p = run.reporter.phase(stage, 'write', writes.reduce((n, w) => n + w.data.length, 0), writes[0]!.region);
  let base = 0;
  for (const w of writes) {
    if (dev.alt !== w.alt) await dev.selectAlt(w.alt);
    await dev.write(w.address, w.data, { onProgress: (done) => p.update(base + done), ...run.signal });
    base += w.data.length;
    run.bytesWritten += w.data.length;
  }
}

/** Verifies one memory's ranges (CRC32 in the loader, or read back), as one progress phase. */
async function verifyStep(run: PlanRun, stage: StageName, dev: DfuseDevice, verifies: VerifyItem[]): Promise<void> {
  run.phase = 'verify';
  const p = run.reporter.phase(stage, 'verify', verifies.reduce((n, v) => n + v.length, 0), verifies[0]!.region);
  let base = 0;
  for (const v of verifies) {
    if (dev.alt !== v.alt) await dev.selectAlt(v.alt);
    if (v.method === 'crc32') {
      await verifyCrc(run, dev, v);
      p.update(base + v.length);
    } else {
      await verifyReadBack(run, dev, v, (done) => p.update(base + done));
    }
    base += v.length;
    run.verified.push({ region: v.region, address: v.address, length: v.length, method: v.method });
  }
}

async function verifyCrc(run: PlanRun, dev: DfuseDevice, v: VerifyItem): Promise<void> {
  if (run.ctx.signal?.aborted) throw new BootBridgeError('CANCELLED', 'Cancelled before verifying', { address: v.address });
  const got = await dev.crc32(v.address, v.length);
  const want = crc32(v.expected);
  if (got === want) return;
  throw new BootBridgeError(
    'VERIFY_MISMATCH',
    `${v.region} at 0x${v.address.toString(16)}–0x${(v.address + v.length).toString(16)} does not hold what was written (CRC32 ${hex32(got)}, expected ${hex32(want)})`,
    { address: v.address, length: v.length, alt: v.alt, method: 'crc32' },
  );
}

async function verifyReadBack(run: PlanRun, dev: DfuseDevice, v: VerifyItem, onProgress: (done: number) => void): Promise<void> {
  const got = await dev.read(v.address, v.length, { onProgress, ...run.signal });
  const at = firstDifference(got, v.expected);
  if (at < 0) return;
  throw new BootBridgeError(
    'VERIFY_MISMATCH',
    `${v.region} differs from what was written at 0x${(v.address + at).toString(16)} (read ${hex(got[at] ?? 0, 2)}, expected ${hex(v.expected[at] ?? 0, 2)})`,
    { address: v.address + at, alt: v.alt, method: 'read-back' },
  );
}

/** Leaves DFU to the application at `at`, and says whether it is known to have started. */
async function leaveStep(run: PlanRun, dev: DfuseDevice, at: number): Promise<void> {
  run.phase = 'leave';
  const problem = vectorTableProblem(run.image, at);
  if (problem) run.reporter.log('warn', problem);
  // The pointer is set within the selected alt's memory (AN3156 §6.4): the alt of the device the leave
  // goes to (its own descriptors, its only side) whose memory holds the vector table.
  const own = { memories: dev.alternates.flatMap((a) => (a.layout ? [{ alt: a.bAlternateSetting, layout: a.layout }] : [])) };
  const home = routeRange(own, at, 1, { via: 'rom', ram: false }).route;
  if (home && home.alt !== dev.alt) await dev.selectAlt(home.alt);
  // Confirmed only when every request of the leave was answered, the final GETSTATUS included: a
  // board unplugged during any of them looks the same as one that left (it is gone), so a leave
  // without that answer is reported as unconfirmed, never as started.
  const answer = await dev.leave(at);
  run.leave = answer.status !== undefined ? 'left' : 'unconfirmed';
  delete run.devices.rom;
  delete run.devices.loader;
  await dev.close();
  const gone = await waitUntilGone(run.ctx, dev.device);
  const to = hex32(at);
  if (!gone) run.leave = 'unconfirmed';
  run.reporter.log(
    run.leave === 'left' ? 'info' : 'warn',
    !gone
      ? `Sent leave (application at ${to}), but the device is still on the bus: reset the board to start the application`
      : run.leave === 'unconfirmed'
        ? `Leave to ${to} not confirmed: the board went off the bus before answering every request of the leave (unplugged, or it left without answering); check that the application runs, or reset the board`
        : problem
          ? `Left DFU to ${to}`
          : `Left DFU: the application starts at ${to}`,
  );
}

/** After a leave: true once the device has left the bus (the code at the pointer is running). */
async function waitUntilGone(ctx: EngineContext, device: USBDevice, timeoutMs = 1000): Promise<boolean> {
  const deadline = ctx.clock.now() + timeoutMs;
  while (ctx.clock.now() < deadline) {
    const port = ctx.backend.portPath(device);
    const same = (d: USBDevice) =>
      d === device ||
      (d.vendorId === device.vendorId && d.productId === device.productId && d.serialNumber === device.serialNumber && ctx.backend.portPath(d) === port);
    if (!(await ctx.backend.getDevices()).some(same)) return true;
    await ctx.clock.sleep(20);
  }
  return false;
}

/**
 * What the image puts at the leave address, when it covers it: a Cortex-M vector table whose SP is
 * not a word-aligned SRAM address or whose reset handler lacks the Thumb bit cannot start (ARMv7-M
 * ARM §B1.5.2: the core loads SP from word 0 and PC from word 1 and faults on a clear Thumb bit).
 */
function vectorTableProblem(image: FirmwareImage, at: number): string | undefined {
  const covered = image.segments.some((s) => at >= s.address && at + 8 <= s.address + s.data.length);
  if (!covered) return undefined;
  const v = readImage(image, at, 8);
  const dv = new DataView(v.buffer, v.byteOffset, 8);
  const sp = dv.getUint32(0, true);
  const pc = dv.getUint32(4, true);
  // SRAM, CCM and TCM of the STM32 families live in 0x10000000–0x3FFFFFFF (RM0090, RM0385, RM0433, RM0440).
  const spOk = (sp & 3) === 0 && sp > 0x1000_0000 && sp <= 0x4000_0000;
  // Code runs from the code region or external memory (0x00000000–0x3FFFFFFF, 0x60000000–0x9FFFFFFF).
  const pcOk = (pc & 1) === 1 && (pc < 0x4000_0000 || (pc >= 0x6000_0000 && pc < 0xa000_0000));
  if (spOk && pcOk) return undefined;
  return `The image has no valid vector table at ${hex32(at)} (initial SP ${hex32(sp)}, reset handler ${hex32(pc)}): the application will not start`;
}
