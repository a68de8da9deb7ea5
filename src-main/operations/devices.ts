// The devices BootBridge can program, as the CLI and the GUI show them: which DFU devices are
// attached, which one the user means (--serial), what each one is (descriptors, chip, memories).

import { BootBridgeError } from '../../shared/errors.js';
import { chipByName, unknownChipError, type ChipInfo } from '../devices/chips.js';
import { chooseChip } from '../devices/identify.js';
import type { PlanMemory } from '../plan/types.js';
import { dfuAlternates, dfuFunctional } from '../usb/descriptors.js';
import { readDfuDescriptors, type DfuDeviceDescriptors } from '../dfu/descriptors.js';
import { hasDfuInterface } from '../usb/discovery.js';
import type { UsbBackend } from '../usb/backend.js';
import { ROM_DFU_ID } from '../engine/staging.js';
import { vidPid } from '../../shared/format.js';

export interface UsbDeviceSummary {
  /** Stable for as long as the device stays attached: serial when it has one, else the port path. */
  id: string;
  serial?: string;
  vendorId: number;
  productId: number;
  bcdDevice: number;
  manufacturer?: string;
  product?: string;
  /** 'rom': the ST system bootloader; 'loader': another DFU device (a BootBridge loader). */
  mode: 'rom' | 'loader';
  portPath?: string;
}

export interface DeviceDetails {
  info: UsbDeviceSummary;
  descriptors: DfuDeviceDescriptors;
  /** Identified from what the device reports, or given with --chip. */
  chip?: ChipInfo;
  /** Every DfuSe alt setting with a decoded memory layout. */
  memories: PlanMemory[];
  transferSize: number;
}

export function deviceInfo(backend: UsbBackend, d: USBDevice): UsbDeviceSummary {
  const portPath = backend.portPath(d);
  const serial = d.serialNumber ?? undefined;
  return {
    id: serial || portPath || vidPid(d.vendorId, d.productId),
    ...(serial ? { serial } : {}),
    vendorId: d.vendorId,
    productId: d.productId,
    bcdDevice: (d.deviceVersionMajor << 8) | (d.deviceVersionMinor << 4) | d.deviceVersionSubminor,
    ...(d.manufacturerName ? { manufacturer: d.manufacturerName } : {}),
    ...(d.productName ? { product: d.productName } : {}),
    mode: d.vendorId === ROM_DFU_ID.vendorId && d.productId === ROM_DFU_ID.productId ? 'rom' : 'loader',
    ...(portPath ? { portPath } : {}),
  };
}

/** Attached devices that have a DFU interface (the ROM bootloader, loaders, DFU-capable apps). */
export async function listDfuDevices(backend: UsbBackend): Promise<USBDevice[]> {
  return (await backend.getDevices()).filter((d) => hasDfuInterface(d));
}

/** The one device the user means: by serial (or id), or the only DFU device attached. */
export async function selectDevice(backend: UsbBackend, want: { serial?: string } = {}): Promise<USBDevice> {
  const all = await listDfuDevices(backend);
  if (want.serial) {
    const hit = all.filter((d) => deviceInfo(backend, d).id === want.serial || d.serialNumber === want.serial);
    if (hit.length === 1) return hit[0]!;
    const known = all.map((d) => deviceInfo(backend, d).id).join(', ') || 'none';
    throw new BootBridgeError('DEVICE_NOT_FOUND', `No DFU device with serial "${want.serial}" (attached: ${known})`, { serial: want.serial });
  }
  if (all.length === 0) {
    throw new BootBridgeError('DEVICE_NOT_FOUND', 'No DFU device found', {});
  }
  if (all.length > 1) {
    throw new BootBridgeError('DEVICE_AMBIGUOUS', `${all.length} DFU devices attached (${all.map((d) => deviceInfo(backend, d).id).join(', ')})`, {}, { remedy: 'choose-board' });
  }
  return all[0]!;
}

/**
 * Reads a device's descriptors and works out its chip and memories. `chip` (--chip) overrides
 * identification; a running loader is identified from its package (operations.ts), not here.
 */
export async function inspectDevice(backend: UsbBackend, device: USBDevice, options: { chip?: string } = {}): Promise<DeviceDetails> {
  const descriptors = await readDfuDescriptors(device);
  const alts = dfuAlternates(descriptors);
  const memories: PlanMemory[] = alts.filter((a) => a.layout).map((a) => ({ alt: a.bAlternateSetting, layout: a.layout! }));
  let chip: ChipInfo | undefined;
  if (deviceInfo(backend, device).mode === 'rom') {
    // The ROM's own device ID (product string) first, then --chip, then the layout fingerprint.
    chip = chooseChip({ altStrings: alts.map((a) => a.name ?? ''), bcdDevice: descriptors.device.bcdDevice, ...(descriptors.product ? { product: descriptors.product } : {}) }, options.chip);
  } else if (options.chip) {
    // A loader's alt strings are its own, not the ROM's the chip database knows; its package names the chip.
    chip = chipByName(options.chip);
    if (!chip) throw unknownChipError(options.chip);
  }
  return {
    info: deviceInfo(backend, device),
    descriptors,
    ...(chip ? { chip } : {}),
    memories,
    transferSize: dfuFunctional(descriptors)?.wTransferSize ?? 2048,
  };
}
