// Raw USB descriptors of a DFU device, read with GET_DESCRIPTOR (USB 2.0 §9.4.3) rather than taken
// from WebUSB's pre-parsed view, so the dump shows what the device really sent — including the DFU
// functional descriptor (DFU 1.1 §4.1.3) that WebUSB hides. Usage: `await readDeviceDescriptors(dev)`.
// The result is plain JSON-able data: it crosses IPC and is the `--json` form of the dump.

import { BootBridgeError } from '../../shared/errors.js';
import { bytesToHex } from '../../shared/format.js';
import { controlIn, type TransferCounter } from './transfer.js';

/** bDescriptorType values: USB 2.0 table 9-5; DFU 1.1 §4.1.3 (functional descriptor). */
export const DESCRIPTOR_TYPE = { DEVICE: 1, CONFIGURATION: 2, STRING: 3, INTERFACE: 4, ENDPOINT: 5, DFU_FUNCTIONAL: 0x21 } as const;
const GET_DESCRIPTOR = 0x06;
const LANGID_EN_US = 0x0409;

export interface DeviceDescriptor {
  bLength: number;
  bDescriptorType: number;
  bcdUSB: number;
  bDeviceClass: number;
  bDeviceSubClass: number;
  bDeviceProtocol: number;
  bMaxPacketSize0: number;
  idVendor: number;
  idProduct: number;
  bcdDevice: number;
  iManufacturer: number;
  iProduct: number;
  iSerialNumber: number;
  bNumConfigurations: number;
}

export interface InterfaceDescriptor {
  bLength: number;
  bDescriptorType: number;
  bInterfaceNumber: number;
  bAlternateSetting: number;
  bNumEndpoints: number;
  bInterfaceClass: number;
  bInterfaceSubClass: number;
  bInterfaceProtocol: number;
  iInterface: number;
  /** The iInterface string (for a DfuSe alt setting, its memory layout string: dfu/descriptors.ts decodes it). */
  name?: string;
}

/** DFU 1.1 §4.1.3 table 4.2. */
export interface DfuFunctionalDescriptor {
  bLength: number;
  bDescriptorType: number;
  bmAttributes: number;
  attributes: {
    /** bitCanDnload (bit 0). */
    canDownload: boolean;
    /** bitCanUpload (bit 1). */
    canUpload: boolean;
    /** bitManifestationTolerant (bit 2): still answers after manifestation. */
    manifestationTolerant: boolean;
    /** bitWillDetach (bit 3): detaches by itself on DFU_DETACH. */
    willDetach: boolean;
  };
  wDetachTimeOut: number;
  wTransferSize: number;
  /** Absent in DFU 1.0 descriptors of 7 bytes. */
  bcdDFUVersion?: number;
}

export interface OtherDescriptor {
  bDescriptorType: number;
  /** Whole descriptor as lowercase hex. */
  hex: string;
}

export interface ConfigurationDescriptor<I extends InterfaceDescriptor = InterfaceDescriptor> {
  bLength: number;
  bDescriptorType: number;
  wTotalLength: number;
  bNumInterfaces: number;
  bConfigurationValue: number;
  iConfiguration: number;
  bmAttributes: number;
  /** In units of 2 mA (USB 2.0 table 9-10). */
  bMaxPower: number;
  /** Every interface alternate setting in the order the device sent them. */
  interfaces: I[];
  /** The DFU functional descriptor; the ST ROM places it after the last alt setting. */
  dfuFunctional?: DfuFunctionalDescriptor;
  /** Endpoint and class descriptors we do not decode, kept raw. */
  other: OtherDescriptor[];
  /** The whole configuration as sent, lowercase hex. */
  hex: string;
}

export interface DeviceDescriptors<I extends InterfaceDescriptor = InterfaceDescriptor> {
  device: DeviceDescriptor;
  /** The device descriptor as sent, lowercase hex. */
  deviceHex: string;
  configurations: ConfigurationDescriptor<I>[];
  /** Language IDs from string descriptor 0. */
  langIds: number[];
  /** String descriptors by index, read in langid 0x0409 (or the device's first). */
  strings: Record<number, string>;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
  /** "low" | "full" | "high" | "super" when the backend knows it; else inferred from bcdUSB. */
  speed: string;
}

function invalid(what: string, context: Record<string, unknown> = {}): never {
  throw new BootBridgeError('DESCRIPTOR_INVALID', `Invalid ${what}`, context);
}

const u16 = (b: Uint8Array, i: number): number => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);

export function parseDeviceDescriptor(b: Uint8Array): DeviceDescriptor {
  if (b.length < 18) invalid(`device descriptor: ${b.length} bytes, expected 18`, { length: b.length });
  if (b[0] !== 18) invalid(`device descriptor: bLength ${b[0]}, expected 18`);
  if (b[1] !== DESCRIPTOR_TYPE.DEVICE) invalid(`device descriptor: bDescriptorType ${b[1]}, expected 1`);
  return {
    bLength: b[0]!,
    bDescriptorType: b[1]!,
    bcdUSB: u16(b, 2),
    bDeviceClass: b[4]!,
    bDeviceSubClass: b[5]!,
    bDeviceProtocol: b[6]!,
    bMaxPacketSize0: b[7]!,
    idVendor: u16(b, 8),
    idProduct: u16(b, 10),
    bcdDevice: u16(b, 12),
    iManufacturer: b[14]!,
    iProduct: b[15]!,
    iSerialNumber: b[16]!,
    bNumConfigurations: b[17]!,
  };
}

function parseDfuFunctional(d: Uint8Array): DfuFunctionalDescriptor {
  // DFU 1.0 devices send 7 bytes (no bcdDFUVersion); DFU 1.1 and DfuSe send 9.
  if (d.length < 7) invalid(`DFU functional descriptor: bLength ${d.length}, expected 7 or 9`);
  const attr = d[2]!;
  return {
    bLength: d[0]!,
    bDescriptorType: d[1]!,
    bmAttributes: attr,
    attributes: {
      canDownload: (attr & 0x01) !== 0,
      canUpload: (attr & 0x02) !== 0,
      manifestationTolerant: (attr & 0x04) !== 0,
      willDetach: (attr & 0x08) !== 0,
    },
    wDetachTimeOut: u16(d, 3),
    wTransferSize: u16(d, 5),
    ...(d.length >= 9 ? { bcdDFUVersion: u16(d, 7) } : {}),
  };
}

/** Parses a whole configuration (wTotalLength bytes). Never loops on a zero length; throws DESCRIPTOR_INVALID. */
export function parseConfiguration(b: Uint8Array): ConfigurationDescriptor {
  if (b.length < 9) invalid(`configuration descriptor: ${b.length} bytes, expected at least 9`);
  if (b[0]! < 9) invalid(`configuration descriptor: bLength ${b[0]}, expected 9`);
  if (b[1] !== DESCRIPTOR_TYPE.CONFIGURATION) invalid(`configuration descriptor: bDescriptorType ${b[1]}, expected 2`);
  const wTotalLength = u16(b, 2);
  if (wTotalLength < b[0]!) invalid(`configuration descriptor: wTotalLength ${wTotalLength} shorter than its header`);
  if (wTotalLength > b.length) invalid(`configuration descriptor: wTotalLength ${wTotalLength} but ${b.length} bytes received`);
  const config: ConfigurationDescriptor = {
    bLength: b[0]!,
    bDescriptorType: b[1]!,
    wTotalLength,
    bNumInterfaces: b[4]!,
    bConfigurationValue: b[5]!,
    iConfiguration: b[6]!,
    bmAttributes: b[7]!,
    bMaxPower: b[8]!,
    interfaces: [],
    other: [],
    hex: bytesToHex(b.subarray(0, wTotalLength)),
  };
  let at = config.bLength;
  while (at < wTotalLength) {
    const len = b[at]!;
    const type = b[at + 1];
    if (len < 2) invalid(`descriptor at offset ${at}: bLength ${len}`, { offset: at });
    if (at + len > wTotalLength) invalid(`descriptor at offset ${at}: bLength ${len} runs past wTotalLength ${wTotalLength}`, { offset: at });
    const d = b.subarray(at, at + len);
    if (type === DESCRIPTOR_TYPE.INTERFACE) {
      if (len < 9) invalid(`interface descriptor at offset ${at}: bLength ${len}, expected 9`, { offset: at });
      config.interfaces.push({
        bLength: len,
        bDescriptorType: type,
        bInterfaceNumber: d[2]!,
        bAlternateSetting: d[3]!,
        bNumEndpoints: d[4]!,
        bInterfaceClass: d[5]!,
        bInterfaceSubClass: d[6]!,
        bInterfaceProtocol: d[7]!,
        iInterface: d[8]!,
      });
    } else if (type === DESCRIPTOR_TYPE.DFU_FUNCTIONAL) {
      config.dfuFunctional = parseDfuFunctional(d);
    } else {
      config.other.push({ bDescriptorType: type ?? 0, hex: bytesToHex(d) });
    }
    at += len;
  }
  return config;
}

/** String descriptor (USB 2.0 §9.6.7): UTF-16LE after a 2-byte header. */
export function parseStringDescriptor(b: Uint8Array): string {
  if (b.length < 2) invalid(`string descriptor: ${b.length} bytes`);
  const len = b[0]!;
  if (b[1] !== DESCRIPTOR_TYPE.STRING) invalid(`string descriptor: bDescriptorType ${b[1]}, expected 3`);
  if (len < 2 || len > b.length) invalid(`string descriptor: bLength ${len} with ${b.length} bytes received`);
  let s = '';
  for (let i = 2; i + 1 < len; i += 2) s += String.fromCharCode(u16(b, i));
  return s;
}

function parseLangIds(b: Uint8Array): number[] {
  if (b.length < 2 || b[1] !== DESCRIPTOR_TYPE.STRING || b[0]! < 2 || b[0]! > b.length) invalid('string descriptor 0 (language IDs)');
  const ids: number[] = [];
  for (let i = 2; i + 1 < b[0]!; i += 2) ids.push(u16(b, i));
  return ids;
}

/** Gives every alt setting the string its iInterface names. */
function attachNames(config: ConfigurationDescriptor, strings: Record<number, string>): void {
  for (const alt of config.interfaces) {
    const name = alt.iInterface ? strings[alt.iInterface] : undefined;
    if (name !== undefined) alt.name = name;
  }
}

function inferSpeed(device: USBDevice, d: DeviceDescriptor): string {
  const s = (device as unknown as { speed?: unknown }).speed;
  if (typeof s === 'string' && s !== '') return s.toLowerCase();
  // bcdUSB 1.x devices are full (or low) speed; the ROM bootloaders report 1.00 and run at 12 Mbit/s.
  if (d.bcdUSB < 0x0200) return d.bMaxPacketSize0 === 8 ? 'low' : 'full';
  return 'full';
}

export interface ReadDescriptorOptions {
  counter?: TransferCounter;
}

async function getDescriptor(device: USBDevice, type: number, index: number, langId: number, length: number, counter?: TransferCounter): Promise<Uint8Array> {
  return controlIn(
    device,
    { requestType: 'standard', recipient: 'device', request: GET_DESCRIPTOR, value: (type << 8) | index, index: langId },
    length,
    'GET_DESCRIPTOR',
    counter,
  );
}

/**
 * Reads and parses the device descriptor, every configuration and the strings they name. Opens the
 * device if it is closed (and closes it again). Malformed data throws DESCRIPTOR_INVALID.
 */
export async function readDeviceDescriptors(device: USBDevice, options: ReadDescriptorOptions = {}): Promise<DeviceDescriptors> {
  const { counter } = options;
  const wasOpen = device.opened;
  if (!wasOpen) await device.open();
  const claimedHere = await claimForControl(device);
  try {
    const deviceBytes = await getDescriptor(device, DESCRIPTOR_TYPE.DEVICE, 0, 0, 18, counter);
    const dev = parseDeviceDescriptor(deviceBytes);
    const configurations: ConfigurationDescriptor[] = [];
    for (let i = 0; i < dev.bNumConfigurations; i++) {
      // First the 9-byte header for wTotalLength, then the whole configuration (USB 2.0 §9.4.3).
      const head = await getDescriptor(device, DESCRIPTOR_TYPE.CONFIGURATION, i, 0, 9, counter);
      if (head.length < 4) invalid(`configuration descriptor ${i}: ${head.length} bytes`);
      const total = u16(head, 2);
      if (total < 9) invalid(`configuration descriptor ${i}: wTotalLength ${total}`);
      const whole = await getDescriptor(device, DESCRIPTOR_TYPE.CONFIGURATION, i, 0, total, counter);
      configurations.push(parseConfiguration(whole));
    }
    const indexes = new Set<number>();
    for (const i of [dev.iManufacturer, dev.iProduct, dev.iSerialNumber]) if (i) indexes.add(i);
    for (const c of configurations) {
      if (c.iConfiguration) indexes.add(c.iConfiguration);
      for (const a of c.interfaces) if (a.iInterface) indexes.add(a.iInterface);
    }
    let langIds: number[] = [];
    const strings: Record<number, string> = {};
    if (indexes.size > 0) {
      langIds = parseLangIds(await getDescriptor(device, DESCRIPTOR_TYPE.STRING, 0, 0, 255, counter));
      const langId = langIds.includes(LANGID_EN_US) ? LANGID_EN_US : (langIds[0] ?? LANGID_EN_US);
      for (const i of [...indexes].sort((a, b) => a - b)) {
        strings[i] = parseStringDescriptor(await getDescriptor(device, DESCRIPTOR_TYPE.STRING, i, langId, 255, counter));
      }
    }
    for (const c of configurations) attachNames(c, strings);
    const result: DeviceDescriptors = {
      device: dev,
      deviceHex: bytesToHex(deviceBytes.subarray(0, 18)),
      configurations,
      langIds,
      strings,
      speed: inferSpeed(device, dev),
    };
    const manufacturer = dev.iManufacturer ? strings[dev.iManufacturer] : undefined;
    const product = dev.iProduct ? strings[dev.iProduct] : undefined;
    const serialNumber = dev.iSerialNumber ? strings[dev.iSerialNumber] : undefined;
    if (manufacturer !== undefined) result.manufacturer = manufacturer;
    if (product !== undefined) result.product = product;
    if (serialNumber !== undefined) result.serialNumber = serialNumber;
    return result;
  } finally {
    if (claimedHere !== undefined) await device.releaseInterface(claimedHere).catch(() => undefined);
    if (!wasOpen) await device.close().catch(() => undefined);
  }
}

/**
 * The `usb` package v3 (nusb) sends control transfers through a claimed interface, so claim one when
 * none is; returns its number to release afterwards. Best effort: browsers do not need it.
 */
async function claimForControl(device: USBDevice): Promise<number | undefined> {
  try {
    if (!device.configuration && device.configurations[0]) await device.selectConfiguration(device.configurations[0].configurationValue);
    const ifaces = device.configuration?.interfaces ?? [];
    if (ifaces.length === 0 || ifaces.some((i) => i.claimed)) return undefined;
    const n = ifaces[0]!.interfaceNumber;
    await device.claimInterface(n);
    return n;
  } catch {
    return undefined;
  }
}

/** The DFU functional descriptor of the first configuration that has one. */
export function dfuFunctional(d: DeviceDescriptors): DfuFunctionalDescriptor | undefined {
  for (const c of d.configurations) if (c.dfuFunctional) return c.dfuFunctional;
  return undefined;
}

/**
 * The DFU alt settings (interface class 0xFE, subclass 0x01; DFU 1.1 §4.2.3), of the descriptors'
 * own interface type (dfu/descriptors.ts adds each one's memory layout).
 */
export function dfuAlternates<I extends InterfaceDescriptor>(d: DeviceDescriptors<I>): I[] {
  return d.configurations.flatMap((c) => c.interfaces.filter((i) => i.bInterfaceClass === 0xfe && i.bInterfaceSubClass === 0x01));
}
