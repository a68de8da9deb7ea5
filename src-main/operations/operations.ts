// The steps every front end takes, in one place: plan a file for a device (with or without a loader),
// flash it, read memory back. The CLI calls these once; the GUI service keeps state around them.

import { BootBridgeError } from '../../shared/errors.js';
import type { FlashEvent, FlashResult } from '../../shared/progress.js';
import { eraseMemory, runPlan, readMemory, type BoardHandle, type EngineContext } from '../engine/index.js';
import { chipById, type ChipInfo } from '../devices/chips.js';
import { parseLayout } from '../dfu/layout.js';
import { loaderSupportsChip, type LoaderPackage } from '../loader/index.js';
import { toPlanLoader } from '../plan/loader.js';
import { plan, planErase, planRead, type ErasedSector, type FlashPlan, type PlanOptions, type PlanTarget } from '../plan/index.js';
import { isSimulated, type Connection } from './connect.js';
import type { DeviceDetails } from './devices.js';
import type { LoadedFirmware } from './files.js';
import { vidPid } from '../../shared/format.js';

/**
 * True when the selected device is `loader` itself, left running by an earlier run (a read or erase
 * with --loader, a flash without leave, a run that failed after the jump): its USB identity is the
 * one loader.json gives. Its serial cannot be compared with the ROM's, which is no longer on the bus;
 * its memories, transfer size and extensions are checked when it is opened (engine/staging.ts).
 */
export function isRunningLoader(details: DeviceDetails, loader: LoaderPackage | undefined): boolean {
  if (!loader || details.info.mode !== 'loader') return false;
  const usb = loader.manifest.usb;
  return details.info.vendorId === usb.vendorId && details.info.productId === usb.productId && (usb.product === undefined || details.info.product === usb.product);
}

/** The chip under a running loader: --chip, else the one chip its package lists. */
function runningLoaderChip(details: DeviceDetails, loader: LoaderPackage): ChipInfo | undefined {
  if (details.chip) return details.chip;
  const [only, ...more] = loader.manifest.chips;
  return only !== undefined && more.length === 0 ? chipById(only) : undefined;
}

/**
 * The device as the planner and engine see it. For a running loader: the chip from its package, and
 * the ROM's memories from the chip database (the ROM is not on the bus, but the plan must still say
 * which segments only it could write).
 */
function effectiveDetails(details: DeviceDetails, loader: LoaderPackage | undefined): { details: DeviceDetails; running: boolean } {
  if (!loader || !isRunningLoader(details, loader)) return { details, running: false };
  const chip = runningLoaderChip(details, loader);
  return {
    running: true,
    details: {
      ...details,
      ...(chip ? { chip } : {}),
      memories: chip ? chip.romAltStrings.map((text, alt) => ({ alt, layout: parseLayout(text) })) : [],
      transferSize: chip?.rom?.transferSize ?? details.transferSize,
    },
  };
}

/** What the planner needs about this device and loader. */
function planTarget(details: DeviceDetails, loader?: LoaderPackage): PlanTarget {
  const eff = effectiveDetails(details, loader);
  const d = eff.details;
  return {
    memories: d.memories,
    transferSize: d.transferSize,
    ...(d.chip ? { chip: d.chip } : {}),
    ...(loader ? { loader: toPlanLoader(loader, d.chip) } : {}),
    ...(eff.running ? { loaderRunning: true } : {}),
    device: { vendorId: details.info.vendorId, productId: details.info.productId },
  };
}

export function planFlash(details: DeviceDetails, firmware: LoadedFirmware, loader: LoaderPackage | undefined, options: PlanOptions = {}): FlashPlan {
  return plan(firmware.image, planTarget(details, loader), options);
}

/** Refuses loaders that cannot run here before anything is written. */
export function checkLoaderUsable(conn: Connection, details: DeviceDetails, loader: LoaderPackage | undefined): void {
  if (!loader) return;
  const usb = loader.manifest.usb;
  if (details.info.mode === 'loader' && !isRunningLoader(details, loader)) {
    // Another loader (or another package's) holds the board, and a loader cannot return to the ROM
    // (docs/loader-protocol.md §1): only a reset does (remedy 'reset-to-rom').
    const is = `${vidPid(details.info.vendorId, details.info.productId)}${details.info.product ? ` "${details.info.product}"` : ''}`;
    const wants = `${vidPid(usb.vendorId, usb.productId)}${usb.product ? ` "${usb.product}"` : ''}`;
    throw new BootBridgeError(
      'STAGING_FAILED',
      `${details.info.id} is running another loader (${is}), not "${loader.manifest.name}" (${wants}), and cannot return to the ROM bootloader`,
      { stage: 'staging', ...(details.info.serial ? { serial: details.info.serial } : {}) },
      { remedy: 'reset-to-rom' },
    );
  }
  if (loader.manifest.simulated && !isSimulated(conn)) {
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

/** The board an engine operation works on; `running` when the loader it needs already runs there. */
function boardHandle(device: USBDevice, details: DeviceDetails, running: boolean): BoardHandle {
  return { device, descriptors: details.descriptors, ...(running ? { loaderRunning: true } : {}) };
}

/** Flashes a planned image. Resolves with the result in every case; saves simulated boards afterwards. */
export async function flashDevice(
  conn: Connection,
  device: USBDevice,
  details: DeviceDetails,
  firmware: LoadedFirmware,
  loader: LoaderPackage | undefined,
  p: FlashPlan,
  options: RunOptions = {},
): Promise<FlashResult> {
  const eff = effectiveDetails(details, loader);
  try {
    return await runPlan(
      engineContext(conn, eff.details, options),
      boardHandle(device, details, eff.running),
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
  const eff = effectiveDetails(details, loader);
  const d = eff.details;
  // Routed before anything is opened: what only the ROM serves is out of reach of a running loader.
  const p = planRead(planTarget(details, loader), range.address, range.length);
  try {
    return await readMemory(
      engineContext(conn, d, options),
      boardHandle(device, details, eff.running),
      { plan: p, ...(d.chip ? { chip: d.chip } : {}), ...(loader ? { loader } : {}) },
    );
  } finally {
    conn.save();
  }
}

/** Erases sectors (through a staged or running loader for memory only it serves) or mass-erases the internal flash. */
export async function eraseDevice(
  conn: Connection,
  device: USBDevice,
  details: DeviceDetails,
  what: { addresses: number[]; mass?: boolean },
  loader: LoaderPackage | undefined,
  options: RunOptions = {},
): Promise<ErasedSector[]> {
  const eff = effectiveDetails(details, loader);
  const d = eff.details;
  // Every address is routed before a loader is staged or anything erased; a running loader erases
  // what it serves, and what only the ROM serves is refused.
  const p = planErase(planTarget(details, loader), what);
  if (!eff.running && (details.info.mode === 'loader' || p.sectors.some((s) => s.via === 'loader'))) checkLoaderUsable(conn, details, loader);
  try {
    return await eraseMemory(
      engineContext(conn, d, options),
      boardHandle(device, details, eff.running),
      { plan: p, ...(d.chip ? { chip: d.chip } : {}), ...(loader ? { loader } : {}) },
    );
  } finally {
    conn.save();
  }
}
