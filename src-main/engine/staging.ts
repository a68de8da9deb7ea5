// Staging, the one place it happens (flash, read, erase and `loader check` all come here): write the
// loader image — with a fresh staging nonce in its nonce record — into RAM through the ROM, read it
// back and compare byte for byte, jump, find the board again as the loader, and check that what
// enumerated is the loader this run staged (its nonce) and serves exactly what loader.json promised
// (DESIGN.md "The loader", docs/loader-protocol.md §1–2).

import { BootBridgeError, type ErrorContext } from '../../shared/errors.js';
import type { Phase } from '../../shared/progress.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import { DFUSE_COMMAND } from '../dfu/constants.js';
import { formatLayout, layoutCovers, type MemoryLayout } from '../dfu/layout.js';
import type { ChipInfo } from '../devices/chips.js';
import { nonceString, withNonce, type LoaderPackage } from '../loader/index.js';
import { planInvalid } from '../plan/issues.js';
import { toPlanLoader } from '../plan/loader.js';
import { loaderIssues } from '../plan/plan.js';
import { parseStringDescriptor } from '../usb/descriptors.js';
import { controlIn } from '../usb/transfer.js';
import { boardIdentity, romOpenOptions, type BoardHandle, type EngineContext } from './context.js';
import type { Reporter } from './progress.js';
import { waitForBoard, type BoardIdentity } from './reenumerate.js';
import { hex, hex32, vidPid } from '../../shared/format.js';

/** ROM bootloader's USB identity (AN2606): seeing it again after the jump means the loader did not start. */
export const ROM_DFU_ID = { vendorId: 0x0483, productId: 0xdf11 } as const;

const LANGID_EN_US = 0x0409;

/** Leave the ROM to the loader's vector table. The ROM drops off the bus (AN3156 §6.4, DESIGN.md). */
async function jumpToLoader(rom: DfuseDevice, address: number): Promise<void> {
  await rom.leave(address);
  await rom.close();
}

function sameLayout(a: MemoryLayout, b: MemoryLayout): boolean {
  return formatLayout({ ...a, name: '' }) === formatLayout({ ...b, name: '' });
}

/** Index of the first byte where `a` and `b` differ (or where the shorter ends); -1 when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}


/** String descriptor `index` of an opened device (USB 2.0 §9.6.7), English (US). */
export async function readString(dev: DfuseDevice, index: number): Promise<string> {
  const bytes = await controlIn(dev.device, { requestType: 'standard', recipient: 'device', request: 6, value: 0x0300 | index, index: LANGID_EN_US }, 255, 'GET_DESCRIPTOR');
  return parseStringDescriptor(bytes);
}

/**
 * STAGING_FAILED unless the loader that enumerated reports `expected` as its nonce string: a board
 * that enumerates as this loader with this serial but another nonce is another board (or a loader
 * staged by another run), and is never programmed (docs/loader-protocol.md §2.3).
 */
async function checkNonce(ctx: EngineContext, loader: DfuseDevice, pkg: LoaderPackage, expected: string, board: BoardIdentity): Promise<void> {
  const index = pkg.manifest.nonce!.string;
  let reported: string;
  try {
    reported = await readString(loader, index);
  } catch (e) {
    reported = `(string ${index} unreadable: ${e instanceof Error ? e.message : String(e)})`;
  }
  if (reported === expected) return;
  const found = { serial: loader.device.serialNumber ?? '(none)', portPath: ctx.backend.portPath(loader.device) ?? '(unknown)' };
  throw new BootBridgeError(
    'STAGING_FAILED',
    `The loader that enumerated as board ${board.serial ?? '(no serial)'} (serial ${found.serial}, port ${found.portPath}) is not the one this run staged on serial ${board.serial ?? '(none)'} at port ${board.portPath ?? '(unknown)'}: its staging nonce is ${reported}, this staging's is ${expected}. It is another board (same serial?) or a loader left by another run; nothing was written to it.`,
    { stage: 'staging', phase: 'reconnect', serial: board.serial, impostor: found, expectedNonce: expected, reportedNonce: reported },
  );
}

export interface OpenLoaderOptions {
  /** This staging's nonce string, when the package declares a nonce record. */
  nonce?: string;
}

/** Waits for the loader to enumerate as this board, opens it and checks it against its manifest (and nonce). */
async function openLoader(ctx: EngineContext, board: BoardIdentity, pkg: LoaderPackage, options: OpenLoaderOptions = {}): Promise<DfuseDevice> {
  const m = pkg.manifest;
  const device = await waitForBoard(
    ctx.backend,
    ctx.clock,
    board,
    // Found by VID/PID and serial only: a wrong product string is a mismatch to report, not a device to wait for.
    { vendorId: m.usb.vendorId, productId: m.usb.productId },
    { timeoutMs: m.usb.enumerationTimeoutMs, what: `loader "${m.name}"`, rom: ROM_DFU_ID, ...(ctx.signal ? { signal: ctx.signal } : {}) },
  );
  const loader = await DfuseDevice.open(device, { clock: ctx.clock, ...(ctx.counter ? { counter: ctx.counter } : {}) });
  try {
    if (options.nonce !== undefined) await checkNonce(ctx, loader, pkg, options.nonce, board);
    await checkAgainstManifest(loader, pkg, { stage: 'staging', phase: 'reconnect' });
    return loader;
  } catch (e) {
    await loader.close();
    throw e;
  }
}

/**
 * The alt settings a loader serves may be shorter than its manifest's where the memory is the chip's
 * own ("the internal flash as the chip has it", from its flash-size register: 1 MB on an F746, 64 KB
 * on the F750 of an F7508-DK), so a layout that is a prefix of the manifest's — same start, same
 * sectors, fewer of them — matches; anything else does not.
 */
function servesPrefix(served: MemoryLayout, promised: MemoryLayout): boolean {
  const a = served.blocks.flatMap((b) => b.sectors);
  const b = promised.blocks.flatMap((s) => s.sectors);
  if (a.length === 0 || a.length > b.length) return false;
  return a.every((s, i) => s.start === b[i]!.start && s.size === b[i]!.size && s.readable === b[i]!.readable && s.writable === b[i]!.writable && s.erasable === b[i]!.erasable);
}

/**
 * ADDRESS_UNREACHABLE for the first range the running loader does not really serve: an alt setting
 * may be shorter than loader.json's layout where the memory is the chip's own flash (a 64 KB F750
 * behind a manifest written for the 1 MB F746), so the plan is checked against the device before
 * anything is erased or written through it.
 */
export function checkServed(loader: DfuseDevice, pkg: LoaderPackage, ranges: readonly { alt: number; address: number; length: number }[]): void {
  for (const r of ranges) {
    const alt = loader.alternates.find((a) => a.bAlternateSetting === r.alt);
    if (alt?.layout && layoutCovers(alt.layout, r.address, r.length)) continue;
    const blocks = alt?.layout?.blocks ?? [];
    const promised = pkg.manifest.memories.find((m) => m.alt === r.alt);
    const end = blocks.length ? Math.max(...blocks.map((b) => b.start + b.size)) : undefined;
    throw new BootBridgeError(
      'ADDRESS_UNREACHABLE',
      `${hex32(r.address)}–${hex32(r.address + r.length)} is beyond what the running loader serves on alt ${r.alt} ("${alt?.name ?? '(none)'}"${end !== undefined ? `, ending at ${hex32(end)}` : ''}), although loader.json promises "${promised?.text ?? '(nothing)'}": this chip has less of that memory than the manifest's layout. Nothing was written through the loader.`,
      { address: r.address, length: r.length, alt: r.alt },
    );
  }
}

/** LOADER_MISMATCH unless the opened device serves what loader.json promises. */
async function checkAgainstManifest(loader: DfuseDevice, pkg: LoaderPackage, where: { stage: 'staging' | 'loader'; phase: 'reconnect' | 'connect' }): Promise<void> {
  const m = pkg.manifest;
  const device = loader.device;
  const problems: string[] = [];
  if (device.vendorId !== m.usb.vendorId || device.productId !== m.usb.productId) {
    problems.push(`it is ${vidPid(device.vendorId, device.productId)}, loader.json says ${vidPid(m.usb.vendorId, m.usb.productId)}`);
  }
  if (m.usb.product !== undefined && device.productName !== m.usb.product) problems.push(`iProduct is "${device.productName ?? ''}", loader.json says "${m.usb.product}"`);
  if (loader.transferSize !== m.transferSize) problems.push(`wTransferSize is ${loader.transferSize}, loader.json says ${m.transferSize}`);
  for (const mem of m.memories) {
    const alt = loader.alternates.find((a) => a.bAlternateSetting === mem.alt);
    if (!alt) problems.push(`alt setting ${mem.alt} ("${mem.text}") is missing`);
    else if (!alt.layout) problems.push(`alt setting ${mem.alt} is named "${alt.name ?? ''}", which is not a memory layout`);
    else if (!sameLayout(alt.layout, mem.layout) && !servesPrefix(alt.layout, mem.layout)) problems.push(`alt setting ${mem.alt} serves "${alt.name}", loader.json says "${mem.text}"`);
  }
  if (m.extensions.includes('crc32') && !(await loader.supports(DFUSE_COMMAND.CRC32))) problems.push('it does not list the CRC32 command 0xB0');
  if (problems.length) {
    const what = where.stage === 'staging' ? 'The loader that enumerated' : 'The loader the board is running';
    throw new BootBridgeError('LOADER_MISMATCH', `${what} does not match ${pkg.source}/loader.json: ${problems.join('; ')}`, { ...where, problems });
  }
}

/**
 * Opens a loader an earlier run left running (`board.device` is the loader itself), with the same
 * checks as after a jump: nothing is staged, so what it serves must be what loader.json promises.
 */
export async function openRunningLoader(ctx: EngineContext, board: BoardHandle, pkg: LoaderPackage): Promise<DfuseDevice> {
  const loader = await DfuseDevice.open(board.device, {
    clock: ctx.clock,
    ...(ctx.counter ? { counter: ctx.counter } : {}),
    ...(board.descriptors ? { descriptors: board.descriptors } : {}),
  });
  try {
    await checkAgainstManifest(loader, pkg, { stage: 'loader', phase: 'connect' });
    return loader;
  } catch (e) {
    await loader.close();
    throw e;
  }
}

export interface StageOptions {
  /** The board's ROM, already open (the flash runner's); opened (and closed) here when absent. */
  rom?: DfuseDevice;
  chip?: ChipInfo;
  /** The plan already checked the package against the chip (a flash run): skip that check here. */
  planned?: boolean;
  /** Memory name for progress events (the plan's region for RAM). */
  region?: string;
  /** Told each phase as it starts, for error context. */
  onPhase?: (phase: Phase) => void;
}

function randomNonce(ctx: EngineContext): Uint8Array {
  if (ctx.randomBytes) return ctx.randomBytes(8);
  const out = new Uint8Array(8);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** What a staging left behind: the board's identity for finding it again, and the nonce the loader must report. */
export interface Staged {
  identity: BoardIdentity;
  /** 16 hex digits, when the package declares a nonce record (docs/loader-protocol.md §2.3). */
  nonce?: string;
  /** The bytes written to RAM (the package's image with the nonce in its record). */
  image: Uint8Array;
}

function withStagingContext(e: unknown, phase: Phase, serial: string | undefined): BootBridgeError {
  const err = e instanceof BootBridgeError ? e : new BootBridgeError('INTERNAL', e instanceof Error ? e.message : String(e), {}, { cause: e });
  const c: ErrorContext = err.context;
  if (c.stage === undefined) c.stage = 'staging';
  if (c.phase === undefined) c.phase = phase;
  if (c.serial === undefined && serial) c.serial = serial;
  return err;
}

/**
 * The ROM half of staging: a fresh nonce into the image's record (after the package's sha256 was
 * checked, when it was read), the image written to RAM, read back and compared byte for byte, and the
 * jump. Starts the 'staging' stage; the caller finds the loader (`openLoader`, or the conformance check).
 */
export async function stageAndJump(ctx: EngineContext, board: BoardHandle, pkg: LoaderPackage, reporter: Reporter, options: StageOptions = {}): Promise<Staged> {
  let phase: Phase = 'stage';
  const enter = (p: Phase) => {
    phase = p;
    options.onPhase?.(p);
  };
  const region = options.region ?? 'RAM';
  const identity = boardIdentity(ctx, board);
  let rom = options.rom;
  const openedHere = !rom;
  try {
    const issues = options.planned ? [] : loaderIssues(toPlanLoader(pkg, options.chip), options.chip);
    if (issues.length) throw planInvalid(issues);
    let nonce: string | undefined;
    let staged = pkg;
    if (pkg.manifest.nonce && pkg.nonceAt !== undefined) {
      const bytes = randomNonce(ctx);
      staged = withNonce(pkg, bytes);
      nonce = nonceString(bytes);
    } else {
      reporter.log('warn', `Loader "${pkg.manifest.name}" declares no staging nonce (loader.json "nonce"): it is paired with this board by serial${identity.portPath ? ' and USB port' : ''} only, so another board with the same serial could be taken for it`);
    }
    if (pkg.manifest.experimental) {
      reporter.log('warn', `loader "${pkg.manifest.name}" is experimental: no run on a real board has been recorded yet (loader.json "experimental": true). Check what it wrote.`);
    }
    reporter.startStage('staging');
    enter('connect');
    rom ??= await DfuseDevice.open(board.device, romOpenOptions(ctx, board));
    if (rom.alt !== 0) await rom.selectAlt(0);
    enter('stage');
    const p = reporter.phase('staging', 'stage', staged.image.length, region);
    await rom.write(staged.loadAddress, staged.image, { onProgress: (d) => p.update(d), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    enter('verify');
    const v = reporter.phase('staging', 'verify', staged.image.length, region);
    const back = await rom.read(staged.loadAddress, staged.image.length, { onProgress: (d) => v.update(d), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    const at = firstDifference(back, staged.image);
    if (at >= 0) {
      throw new BootBridgeError(
        'STAGING_FAILED',
        `The loader image read back from RAM differs from what was written at 0x${(staged.loadAddress + at).toString(16)} (read ${hex(back[at] ?? 0, 2)}, expected ${hex(staged.image[at] ?? 0, 2)}); it was not started`,
        { address: staged.loadAddress + at, alt: 0, method: 'read-back' },
      );
    }
    enter('jump');
    // Several devices with this serial on the bus: the loader must come back on the same port too.
    const sameSerial = identity.serial ? (await ctx.backend.getDevices()).filter((d) => d.serialNumber === identity.serial).length : 0;
    await jumpToLoader(rom, staged.loadAddress);
    rom = undefined;
    enter('reconnect');
    reporter.log('info', `Jumped to the loader at ${hex32(staged.loadAddress)}; waiting for it to enumerate`);
    return { identity: { ...identity, ...(sameSerial > 1 ? { requirePort: true } : {}) }, ...(nonce !== undefined ? { nonce } : {}), image: staged.image };
  } catch (e) {
    throw withStagingContext(e, phase, identity.serial);
  } finally {
    if (openedHere) await rom?.close().catch(() => undefined);
  }
}

/**
 * Stages `pkg` on the board and returns the running, checked loader. Emits the 'staging' stage: the
 * image written ('stage'), read back and compared ('verify'), the jump and the reconnection (logs).
 * Errors carry stage 'staging' and the phase they happened in.
 */
export async function stageLoader(ctx: EngineContext, board: BoardHandle, pkg: LoaderPackage, reporter: Reporter, options: StageOptions = {}): Promise<DfuseDevice> {
  const staged = await stageAndJump(ctx, board, pkg, reporter, options);
  try {
    const loader = await openLoader(ctx, staged.identity, pkg, staged.nonce !== undefined ? { nonce: staged.nonce } : {});
    reporter.log('info', `Loader "${pkg.manifest.name}" is running (serial ${loader.device.serialNumber ?? 'none'}${staged.nonce ? `, staging nonce ${staged.nonce} confirmed` : ''})`);
    reporter.endStage('staging');
    return loader;
  } catch (e) {
    throw withStagingContext(e, 'reconnect', staged.identity.serial);
  }
}

/** The package a plan that goes through a loader needs (a plan made for one always has it). */
export function needLoader(pkg: LoaderPackage | undefined): LoaderPackage {
  if (!pkg) throw new BootBridgeError('INTERNAL', 'The plan goes through a loader but no loader package was given', {});
  return pkg;
}

/** The staged loader for this board: the one already running, or a fresh one staged through the ROM. */
export function loaderFor(ctx: EngineContext, board: BoardHandle, pkg: LoaderPackage, chip: ChipInfo | undefined, reporter: Reporter): Promise<DfuseDevice> {
  if (!board.loaderRunning) return stageLoader(ctx, board, pkg, reporter, chip ? { chip } : {});
  reporter.log('info', `Loader "${pkg.manifest.name}" already running: no staging`);
  return openRunningLoader(ctx, board, pkg);
}
