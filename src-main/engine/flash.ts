// Runs a FlashPlan on one board: the ROM stage (erase, write, verify through the ROM bootloader),
// staging (write the loader to RAM, read it back, jump, find the board again as the loader, check it
// serves what its manifest promised), the loader stage (erase, write, verify through the loader), and
// leave. Everything the user sees comes out as FlashEvents; the FlashResult says exactly what was
// written and verified. It never reports success it did not verify.
//
//   const result = await runPlan({ backend, clock, onEvent }, { device }, plan, image, loaderPackage);

import { BootBridgeError, toErrorData, type ErrorContext } from '../../shared/errors.js';
import type { FlashResult, LeaveOutcome, Phase, SectorOutcome, StageName, VerifiedRange } from '../../shared/progress.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import { readImage, type FirmwareImage } from '../firmware/image.js';
import type { LoaderPackage } from '../loader/package.js';
import { planBytes } from '../plan/plan.js';
import type { FlashPlan, PlanStage, Via, WriteOp } from '../plan/types.js';
import { crc32 } from '../util/crc32.js';
import { boardIdentity, romOpenOptions, type BoardHandle, type EngineContext } from './context.js';
import { Reporter } from './progress.js';
import { compareSectors, stageWork } from './sectors.js';
import { checkServed, firstDifference, openRunningLoader, stageLoader } from './staging.js';

export type { BoardHandle, EngineContext } from './context.js';
export { romOpenOptions } from './context.js';

/** Where the engine is, for error context: "stage loader, phase write". */
class Cursor {
  stage: StageName = 'rom';
  phase: Phase = 'connect';
}

const PHASES: ReadonlySet<string> = new Set<Phase>(['connect', 'erase', 'write', 'verify', 'read', 'stage', 'jump', 'reconnect', 'leave']);

function withContext(e: unknown, cursor: Cursor, serial: string | undefined): BootBridgeError {
  const err = e instanceof BootBridgeError ? e : new BootBridgeError('INTERNAL', e instanceof Error ? e.message : String(e), {}, { cause: e });
  const ctx: ErrorContext = err.context;
  if (ctx.stage === undefined) ctx.stage = cursor.stage;
  // The DFU layer names its own steps ("select alt", "get commands") in `phase`; the result names the
  // engine's phase, so the GUI, the CLI and the unit log can tell where the run stopped.
  if (ctx.phase !== undefined && !PHASES.has(ctx.phase)) {
    if (ctx.step === undefined) ctx.step = ctx.phase;
    delete ctx.phase;
  }
  if (ctx.phase === undefined) ctx.phase = cursor.phase;
  if (ctx.serial === undefined && serial) ctx.serial = serial;
  return err;
}

export function segmentBytes(image: FirmwareImage, loader: LoaderPackage | undefined, op: { segment: number; address: number; length: number }): Uint8Array {
  if (op.segment >= 0) return planBytes(image, op);
  if (!loader) throw new BootBridgeError('INTERNAL', 'The plan stages a loader but no loader package was given', {});
  const off = op.address - loader.loadAddress;
  return loader.image.subarray(off, off + op.length);
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
function sectorsIn(plan: FlashPlan, e: { via: Via; alt: number; region: string }): number {
  const r = plan.regions.find((x) => x.via === e.via && x.alt === e.alt && x.name === e.region);
  return r ? r.layout.blocks.reduce((n, b) => n + b.sectors.length, 0) : 1;
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
  const h = (n: number) => '0x' + n.toString(16).padStart(8, '0');
  return `The image has no valid vector table at ${h(at)} (initial SP ${h(sp)}, reset handler ${h(pc)}): the application will not start`;
}

/** Runs `plan`. Resolves with a FlashResult in every case (ok false with the error); never throws. */
export async function runPlan(ctx: EngineContext, board: BoardHandle, plan: FlashPlan, image: FirmwareImage, loader?: LoaderPackage): Promise<FlashResult> {
  const reporter = new Reporter(ctx.clock, ctx.onEvent);
  const cursor = new Cursor();
  const serial = boardIdentity(ctx, board).serial;
  const verified: VerifiedRange[] = [];
  let bytesWritten = 0;
  const sectors: SectorOutcome[] = [];
  let sectorsErased = 0;
  let bytesUnchanged = 0;
  let leave = 'stayed' as LeaveOutcome;
  const devices: Partial<Record<Via, DfuseDevice>> = {};

  const open = async (via: Via): Promise<DfuseDevice> => {
    const d = devices[via];
    if (d) return d;
    if (via === 'loader') throw new BootBridgeError('INTERNAL', 'Loader stage reached without a staged loader', {});
    if (board.loaderRunning) {
      throw new BootBridgeError('STAGING_FAILED', 'The board is running its loader, which cannot return to the ROM bootloader: reset it with BOOT0 held high and run again', {});
    }
    cursor.phase = 'connect';
    const rom = await DfuseDevice.open(board.device, romOpenOptions(ctx, board));
    devices.rom = rom;
    return rom;
  };

  /** The staging stage is staging itself: one implementation for flash, read, erase and `loader check`. */
  const runStaging = async (stage: PlanStage): Promise<void> => {
    if (!loader) throw new BootBridgeError('INTERNAL', 'The plan stages a loader but no loader package was given', {});
    cursor.stage = 'staging';
    const rom = await open('rom');
    delete devices.rom; // the jump closes it
    devices.loader = await stageLoader(ctx, board, loader, reporter, {
      rom,
      planned: true,
      ...(stage.writes[0] ? { region: stage.writes[0].region } : {}),
      onPhase: (p) => (cursor.phase = p),
    });
    bytesWritten += loader.image.length;
    checkServed(devices.loader, loader, loaderRanges());
  };

  /** Sector figures for the result (present once anything was erased or compared). */
  const sectorCounts = (): Pick<FlashResult, 'sectors' | 'sectorsErased' | 'sectorsSkipped' | 'bytesUnchanged'> =>
    sectors.length || sectorsErased
      ? { sectors, sectorsErased, sectorsSkipped: sectors.filter((s) => !s.erased && s.bytesWritten === 0).length, bytesUnchanged }
      : {};

  /** Everything the plan does through the loader, to check against what the running loader really serves. */
  const loaderRanges = () =>
    plan.stages
      .filter((s) => s.via === 'loader' && s.name !== 'staging')
      .flatMap((s) => [...s.erases.map((e) => ({ alt: e.alt, address: e.address, length: e.size })), ...s.writes, ...s.verifies]);

  const runStage = async (stage: PlanStage): Promise<void> => {
    if (stage.staging) return runStaging(stage);
    cursor.stage = stage.name;
    reporter.startStage(stage.name);
    const dev = stage.name === 'leave' ? (devices.loader ?? (await open('rom'))) : await open(stage.via);

    // Flash only what must change: compare the planned sectors first (engine/sectors.ts).
    if (stage.compares?.length) cursor.phase = 'read';
    const findings = stage.compares?.length ? await compareSectors(dev, stage, plan, image, reporter, ctx.signal) : new Map();
    const work = stageWork(stage, image, loader, findings, segmentBytes);
    sectors.push(...work.sectors);
    bytesUnchanged += work.bytesUnchanged;
    verified.push(...work.comparedVerified);

    for (const erases of byRegion(work.erases)) {
      cursor.phase = 'erase';
      const total = erases.reduce((n, e) => n + e.size, 0);
      const p = reporter.phase(stage.name, 'erase', total, erases[0]!.region);
      for (const e of erases) {
        if (ctx.signal?.aborted) throw new BootBridgeError('CANCELLED', 'Cancelled before erasing', { address: e.address });
        if (dev.alt !== e.alt) await dev.selectAlt(e.alt);
        if (e.kind === 'mass') await dev.massErase(e.via === 'loader' ? e.estimatedMs : 0);
        else await dev.erase(e.address);
        p.advance(e.size);
        sectorsErased += e.kind === 'mass' ? sectorsIn(plan, e) : 1;
      }
    }

    // Overlap the wire with the part where the loader's manifest offers it (docs/loader-protocol.md §8).
    if (stage.via === 'loader' && work.writes.length && loader?.manifest.extensions.includes('overlap') && !(await dev.enableBackgroundWrites())) {
      reporter.log('warn', `Loader "${loader.manifest.name}" lists the overlap extension but does not offer command 0xB1: writing block by block`);
    }
    for (const writes of byRegion(work.writes)) {
      cursor.phase = 'write';
      const total = writes.reduce((n, w) => n + w.data.length, 0);
      const p = reporter.phase(stage.name, cursor.phase, total, writes[0]!.region);
      let base = 0;
      for (const w of writes) {
        if (dev.alt !== w.alt) await dev.selectAlt(w.alt);
        await dev.write(w.address, w.data, { onProgress: (done) => p.update(base + done), ...(ctx.signal ? { signal: ctx.signal } : {}) });
        base += w.data.length;
        bytesWritten += w.data.length;
      }
    }

    for (const verifies of byRegion(work.verifies)) {
      cursor.phase = 'verify';
      const total = verifies.reduce((n, v) => n + v.length, 0);
      const p = reporter.phase(stage.name, 'verify', total, verifies[0]!.region);
      let base = 0;
      for (const v of verifies) {
        if (dev.alt !== v.alt) await dev.selectAlt(v.alt);
        const expected = v.expected;
        if (v.method === 'crc32') {
          if (ctx.signal?.aborted) throw new BootBridgeError('CANCELLED', 'Cancelled before verifying', { address: v.address });
          const got = await dev.crc32(v.address, v.length);
          const want = crc32(expected);
          if (got !== want) {
            throw new BootBridgeError(
              'VERIFY_MISMATCH',
              `${v.region} at 0x${v.address.toString(16)}–0x${(v.address + v.length).toString(16)} does not hold what was written (CRC32 0x${got.toString(16).padStart(8, '0')}, expected 0x${want.toString(16).padStart(8, '0')})`,
              { address: v.address, length: v.length, alt: v.alt, method: 'crc32' },
            );
          }
          p.update(base + v.length);
        } else {
          const got = await dev.read(v.address, v.length, { onProgress: (done) => p.update(base + done), ...(ctx.signal ? { signal: ctx.signal } : {}) });
          const at = firstDifference(got, expected);
          if (at >= 0) {
            throw new BootBridgeError(
              'VERIFY_MISMATCH',
              `${v.region} differs from what was written at 0x${(v.address + at).toString(16)} (read 0x${(got[at] ?? 0).toString(16).padStart(2, '0')}, expected 0x${(expected[at] ?? 0).toString(16).padStart(2, '0')})`,
              { address: v.address + at, alt: v.alt, method: 'read-back' },
            );
          }
        }
        base += v.length;
        verified.push({ region: v.region, address: v.address, length: v.length, method: v.method });
      }
    }

    if (stage.leave) {
      cursor.phase = 'leave';
      // The pointer is set within the selected alt's memory (AN3156 §6.4): pick the one holding the vector table.
      const at = stage.leave.address;
      const problem = vectorTableProblem(image, at);
      if (problem) reporter.log('warn', problem);
      const home = dev.alternates.find((a) => a.layout?.blocks.some((b) => at >= b.start && at < b.start + b.size));
      if (home && home.bAlternateSetting !== dev.alt) await dev.selectAlt(home.bAlternateSetting);
      // Confirmed only when every request of the leave was answered, the final GETSTATUS included: a
      // board unplugged during any of them looks the same as one that left (it is gone), so a leave
      // without that answer is reported as unconfirmed, never as started.
      const answer = await dev.leave(at);
      leave = answer.status !== undefined ? 'left' : 'unconfirmed';
      delete devices.rom;
      delete devices.loader;
      await dev.close();
      const gone = await waitUntilGone(ctx, dev.device);
      const to = `0x${at.toString(16).padStart(8, '0')}`;
      if (!gone) leave = 'unconfirmed';
      reporter.log(
        leave === 'left' ? 'info' : 'warn',
        !gone
          ? `Sent leave (application at ${to}), but the device is still on the bus: reset the board to start the application`
          : leave === 'unconfirmed'
            ? `Leave to ${to} not confirmed: the board went off the bus before answering every request of the leave (unplugged, or it left without answering); check that the application runs, or reset the board`
            : problem
              ? `Left DFU to ${to}`
              : `Left DFU: the application starts at ${to}`,
      );
    }
    reporter.endStage(stage.name);
  };

  try {
    if (!plan.ok) {
      throw new BootBridgeError('PLAN_INVALID', `The plan has ${plan.errors.length} problem(s); nothing was written: ${plan.errors.map((e) => e.message).join(' ')}`, { problems: plan.errors });
    }
    if (board.loaderRunning) {
      if (!loader) throw new BootBridgeError('INTERNAL', 'The board is running a loader but no loader package was given', {});
      // Checked before anything is opened: the ROM is out of reach, so a plan that needs it cannot start.
      const needsRom = plan.stages.filter((s) => s.name === 'rom' || s.name === 'staging' || (s.via === 'rom' && s.name !== 'leave'));
      if (needsRom.length || plan.stages.some((s) => s.leave?.via === 'rom')) {
        throw new BootBridgeError('STAGING_FAILED', `The plan needs the ROM bootloader (${needsRom.map((s) => s.title).join(', ') || 'leave'}) but the board is running loader "${loader.manifest.name}": reset it with BOOT0 held high and run again`, {});
      }
      cursor.stage = 'loader';
      cursor.phase = 'connect';
      devices.loader = await openRunningLoader(ctx, board, loader);
      reporter.log('info', `Loader "${loader.manifest.name}" already running: no staging`);
      checkServed(devices.loader, loader, loaderRanges());
    }
    for (const stage of plan.stages) await runStage(stage);
    const result: FlashResult = {
      ok: true,
      stageMs: reporter.stageMs,
      bytesWritten,
      bytesVerified: verified.reduce((n, v) => n + v.length, 0),
      verified,
      left: leave === 'left',
      leave,
      cancelled: false,
      ...sectorCounts(),
    };
    reporter.emit({ kind: 'result', result });
    return result;
  } catch (e) {
    const err = withContext(e, cursor, serial);
    reporter.log('error', err.message);
    if (devices.loader) {
      // Past the jump there is no way back to the ROM over USB (docs/loader-protocol.md §1).
      reporter.log('warn', 'The board is still running the loader: a run with the same loader package continues on it; for anything only the ROM serves, reset it with BOOT0 held high');
    }
    const result: FlashResult = {
      ok: false,
      error: toErrorData(err),
      stageMs: reporter.stageMs,
      bytesWritten,
      bytesVerified: verified.reduce((n, v) => n + v.length, 0),
      verified,
      left: leave === 'left',
      leave,
      cancelled: err.code === 'CANCELLED',
      ...sectorCounts(),
    };
    reporter.emit({ kind: 'result', result });
    return result;
  } finally {
    for (const d of Object.values(devices)) await d?.close().catch(() => undefined);
  }
}

export type { WriteOp };
