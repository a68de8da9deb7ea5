// The steps every front end takes, in one place: plan a file for a device (with or without a loader),
// flash it, read memory back. The CLI calls these once; the GUI service keeps state around them.

import { BootBridgeError } from '../../shared/errors.js';
import type { FlashEvent, FlashResult } from '../../shared/progress.js';
import { eraseMemory, planErase, runPlan, readMemory, type EngineContext, type ErasedSector } from '../engine/index.js';
import { loaderSupportsChip, toPlanLoader, type LoaderPackage } from '../loader/index.js';
import { plan, type FlashPlan, type PlanOptions, type PlanTarget } from '../plan/index.js';
import type { Connection } from './connect.js';
import type { DeviceDetails } from './devices.js';
import type { OpenedFirmware } from './files.js';

/** What the planner needs about this device and loader. */
export function planTarget(details: DeviceDetails, loader?: LoaderPackage): PlanTarget {
  return {
    memories: details.memories,
    transferSize: details.transferSize,
    ...(details.chip ? { chip: details.chip } : {}),
    ...(loader ? { loader: toPlanLoader(loader, details.chip) } : {}),
  };
}

export function planFlash(details: DeviceDetails, firmware: OpenedFirmware, loader: LoaderPackage | undefined, options: PlanOptions = {}): FlashPlan {
  return plan(firmware.image, planTarget(details, loader), options);
}

/** Refuses loaders that cannot run here before anything is written. */
export function checkLoaderUsable(conn: Connection, details: DeviceDetails, loader: LoaderPackage | undefined): void {
  if (!loader) return;
  const usb = loader.manifest.usb;
  if (details.info.mode === 'loader' && details.info.vendorId === usb.vendorId && details.info.productId === usb.productId) {
    // A run that failed or was cancelled after the jump leaves the board in its loader, and a loader
    // cannot return to the ROM (docs/loader-protocol.md §1): only a reset with BOOT0 held does.
    throw new BootBridgeError(
      'STAGING_FAILED',
      `${details.info.id} is running loader "${loader.manifest.name}" left from an earlier run, not the ROM bootloader: reset the board with BOOT0 held high and run again`,
      { stage: 'staging', ...(details.info.serial ? { serial: details.info.serial } : {}) },
    );
  }
  if (loader.manifest.simulated && !conn.simulated && !conn.bus) {
    throw new BootBridgeError('LOADER_UNSUPPORTED', `Loader "${loader.manifest.name}" is the simulator's: it runs only on simulated boards (--sim), never on hardware`, { file: loader.source });
  }
  if (details.chip && !loaderSupportsChip(loader, details.chip.deviceId)) {
    throw new BootBridgeError(
      'LOADER_UNSUPPORTED',
      `Loader "${loader.manifest.name}" runs on ${loader.manifest.chips.map((c) => '0x' + c.toString(16)).join(', ')}, not on this ${details.chip.name} (0x${details.chip.deviceId.toString(16)})`,
      { file: loader.source },
    );
  }
}

export interface RunOptions {
  onEvent?: (e: FlashEvent) => void;
  signal?: AbortSignal;
}

function engineContext(conn: Connection, details: DeviceDetails, options: RunOptions): EngineContext {
  return {
    backend: conn.backend,
    clock: conn.clock,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(details.chip ? { deviceId: details.chip.deviceId } : {}),
  };
}

/** Flashes a planned image. Resolves with the result in every case; saves simulated boards afterwards. */
export async function flashDevice(
  conn: Connection,
  device: USBDevice,
  details: DeviceDetails,
  firmware: OpenedFirmware,
  loader: LoaderPackage | undefined,
  p: FlashPlan,
  options: RunOptions = {},
): Promise<FlashResult> {
  try {
    return await runPlan(
      engineContext(conn, details, options),
      { device, descriptors: details.descriptors },
      p,
      firmware.image,
      loader,
    );
  } finally {
    conn.save();
  }
}

export async function readDevice(
  conn: Connection,
  device: USBDevice,
  details: DeviceDetails,
  range: { address: number; length: number },
  loader: LoaderPackage | undefined,
  options: RunOptions = {},
): Promise<Uint8Array> {
  checkLoaderUsable(conn, details, loader);
  try {
    return await readMemory(
      engineContext(conn, details, options),
      { device, descriptors: details.descriptors },
      { ...range, memories: details.memories, ...(details.chip ? { chip: details.chip } : {}), ...(loader ? { loader } : {}) },
    );
  } finally {
    conn.save();
  }
}

/** Erases sectors (through a staged loader for memory only it serves) or mass-erases the internal flash. */
export async function eraseDevice(
  conn: Connection,
  device: USBDevice,
  details: DeviceDetails,
  what: { addresses: number[]; mass?: boolean },
  loader: LoaderPackage | undefined,
  options: RunOptions = {},
): Promise<ErasedSector[]> {
  // Every address is resolved before a loader is staged or anything erased.
  const request = { ...what, memories: details.memories, ...(details.chip ? { chip: details.chip } : {}), ...(loader ? { loader } : {}) };
  if (planErase(request).some((s) => s.via === 'loader')) checkLoaderUsable(conn, details, loader);
  try {
    return await eraseMemory(engineContext(conn, details, options), { device, descriptors: details.descriptors }, request);
  } finally {
    conn.save();
  }
}
