// The jump from the ROM bootloader into a staged loader, and the checks on the far side: the board
// must come back with the loader's USB identity and the same serial, and its descriptors must serve
// exactly the memories, transfer size and extensions that loader.json promised (DESIGN.md "The loader").

import { BootBridgeError } from '../../shared/errors.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import { DFUSE_COMMAND } from '../dfu/constants.js';
import { formatLayout, type MemoryLayout } from '../dfu/layout.js';
import type { ChipInfo } from '../devices/chips.js';
import { toPlanLoader, type LoaderPackage } from '../loader/index.js';
import { loaderIssues } from '../plan/plan.js';
import { crc32 } from '../util/crc32.js';
import { romOpenOptions, type BoardHandle, type EngineContext } from './flash.js';
import type { Reporter } from './progress.js';
import { waitForBoard, type BoardIdentity } from './reenumerate.js';

/** ROM bootloader's USB identity (AN2606): seeing it again after the jump means the loader did not start. */
export const ROM_DFU_ID = { vendorId: 0x0483, productId: 0xdf11 } as const;

/** Leave the ROM to the loader's vector table. The ROM drops off the bus (AN3156 §6.4, DESIGN.md). */
export async function jumpToLoader(rom: DfuseDevice, address: number): Promise<void> {
  await rom.leave(address);
  await rom.close();
}

function sameLayout(a: MemoryLayout, b: MemoryLayout): boolean {
  return formatLayout({ ...a, name: '' }) === formatLayout({ ...b, name: '' });
}

/** Waits for the loader to enumerate as this board, opens it and checks it against its manifest. */
export async function openLoader(ctx: EngineContext, board: BoardIdentity, pkg: LoaderPackage): Promise<DfuseDevice> {
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
    await checkAgainstManifest(loader, pkg, { stage: 'staging', phase: 'reconnect' });
    return loader;
  } catch (e) {
    await loader.close();
    throw e;
  }
}

/** LOADER_MISMATCH unless the opened device serves exactly what loader.json promises. */
async function checkAgainstManifest(loader: DfuseDevice, pkg: LoaderPackage, where: { stage: 'staging' | 'loader'; phase: 'reconnect' | 'connect' }): Promise<void> {
  const m = pkg.manifest;
  const device = loader.device;
  const problems: string[] = [];
  if (device.vendorId !== m.usb.vendorId || device.productId !== m.usb.productId) {
    const id = (v: number, p: number) => `${v.toString(16).padStart(4, '0')}:${p.toString(16).padStart(4, '0')}`;
    problems.push(`it is ${id(device.vendorId, device.productId)}, loader.json says ${id(m.usb.vendorId, m.usb.productId)}`);
  }
  if (m.usb.product !== undefined && device.productName !== m.usb.product) problems.push(`iProduct is "${device.productName ?? ''}", loader.json says "${m.usb.product}"`);
  if (loader.transferSize !== m.transferSize) problems.push(`wTransferSize is ${loader.transferSize}, loader.json says ${m.transferSize}`);
  for (const mem of m.memories) {
    const alt = loader.alternates.find((a) => a.bAlternateSetting === mem.alt);
    if (!alt) problems.push(`alt setting ${mem.alt} ("${mem.text}") is missing`);
    else if (!alt.layout) problems.push(`alt setting ${mem.alt} is named "${alt.name ?? ''}", which is not a memory layout`);
    else if (!sameLayout(alt.layout, mem.layout)) problems.push(`alt setting ${mem.alt} serves "${alt.name}", loader.json says "${mem.text}"`);
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

/** The staged loader for this board: the one already running, or a fresh one staged through the ROM. */
export function loaderFor(ctx: EngineContext, board: BoardHandle, pkg: LoaderPackage, chip: ChipInfo | undefined, reporter: Reporter): Promise<DfuseDevice> {
  if (!board.loaderRunning) return stageLoader(ctx, board, pkg, chip, reporter);
  reporter.log('info', `Loader "${pkg.manifest.name}" already running: no staging`);
  return openRunningLoader(ctx, board, pkg);
}

/**
 * Staging on its own, for operations without an image to plan (reading or erasing external memory):
 * the same checks and steps as a flash run's staging stage — the loader fits the RAM the ROM leaves
 * free, write it, read it back and compare, jump, find the board again as the loader.
 */
export async function stageLoader(ctx: EngineContext, board: BoardHandle, pkg: LoaderPackage, chip: ChipInfo | undefined, reporter: Reporter): Promise<DfuseDevice> {
  const issues = loaderIssues(toPlanLoader(pkg, chip), chip);
  if (issues.length) throw new BootBridgeError('PLAN_INVALID', issues.map((i) => i.message).join(' '), { issues });
  const rom = await DfuseDevice.open(board.device, romOpenOptions(ctx, board));
  try {
    reporter.startStage('staging');
    const p = reporter.phase('staging', 'stage', pkg.image.length, 'RAM');
    await rom.write(pkg.loadAddress, pkg.image, { onProgress: (d) => p.update(d), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    const back = await rom.read(pkg.loadAddress, pkg.image.length);
    if (crc32(back) !== crc32(pkg.image)) {
      throw new BootBridgeError('STAGING_FAILED', 'The loader image read back from RAM differs from what was written; it was not started', { stage: 'staging', address: pkg.loadAddress });
    }
    await jumpToLoader(rom, pkg.loadAddress);
  } finally {
    await rom.close().catch(() => undefined);
  }
  const serial = board.serial ?? board.device.serialNumber ?? undefined;
  const portPath = board.portPath ?? ctx.backend.portPath(board.device);
  const loader = await openLoader(ctx, { ...(serial ? { serial } : {}), ...(portPath ? { portPath } : {}) }, pkg);
  reporter.endStage('staging');
  return loader;
}
