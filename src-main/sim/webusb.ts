// The WebUSB USBDevice of one enumeration of a simulated board, behaving as the `usb` package v3
// (node-usb-rs on nusb 0.2) does on the desktop, so the layers above cannot tell it from hardware:
// - a STALL, a vanished device and a timeout all reject with a plain Error whose message is the
//   package's own ("controlTransferIn error: endpoint stalled" / "device disconnected" /
//   "transfer was cancelled"); `status: 'stall'` is never returned (the package maps every nusb error
//   to a rejection). Pass `stallAs: 'status'` for browser WebUSB behaviour instead.
// - control transfers need the device opened and an interface claimed ("… error: invalid state").
// - the third argument is the timeout in ms (default SIM_TRANSFER_TIMEOUT_MS = 1000, as the package).
// - a control transfer with more than HOST_CONTROL_MAX_BYTES data bytes is refused before it reaches
//   the wire (see the constant for where each desktop host refuses it).
// Every transfer also costs its modelled full-speed wire time on the injected Clock.

import type { Clock } from '../util/clock.js';
import { SIM_TRANSFER_TIMEOUT_MS, wireMs } from './timing.js';
import type { ControlAnswer, SetupPacket, SimEndpoint } from './types.js';

export type StallStyle = 'reject' | 'status';

/**
 * The most data bytes one control transfer may carry through the desktop hosts BootBridge runs on:
 * - Windows: 4 KB on the default control pipe of a full- or low-speed device, whatever the host
 *   controller (Microsoft, "USB bandwidth allocation", maximum transfer sizes); WinUSB refuses more
 *   (libusb os/windows_winusb.c refuses above MAX_CTRL_BUFFER_LENGTH 4096 for that reason). The
 *   loaders and ROM bootloaders BootBridge talks to are full-speed devices (STM32 OTG FS).
 * - Linux: libusb refuses more than MAX_CTRL_BUFFER_LENGTH 4096 before submitting (os/linux_usbfs.c),
 *   and the kernel's USBDEVFS_CONTROL refuses wLength > PAGE_SIZE with EINVAL (drivers/usb/core/devio.c
 *   proc_control). nusb submits control transfers as URBs (USBDEVFS_SUBMITURB), which the kernel does
 *   not limit to a page: on Linux alone a nusb host could send more — the simulator enforces the
 *   limit every platform shares, so nothing that works here fails on Windows or through libusb.
 * nusb reports a refused argument as TransferError::InvalidArgument, "invalid or unsupported argument".
 */
export const HOST_CONTROL_MAX_BYTES = 4096;

function usbError(message: string): Error {
  // napi errors from the native binding carry code 'GenericFailure'.
  return Object.assign(new Error(message), { code: 'GenericFailure' });
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
}

function decodeString(d: Uint8Array | undefined): string | null {
  if (!d || d.length < 2) return null;
  let s = '';
  for (let i = 2; i + 1 < d[0]!; i += 2) s += String.fromCharCode(d[i]! | (d[i + 1]! << 8));
  return s;
}

/** What WebUSB calls BufferSource (a DOM type, absent from the ES lib this layer compiles with). */
type BinaryData = ArrayBuffer | ArrayBufferView;

const REQUEST_TYPES: USBRequestType[] = ['standard', 'class', 'vendor'];
const RECIPIENTS: USBRecipient[] = ['device', 'interface', 'endpoint', 'other'];

function toSetup(p: USBControlTransferParameters, dirIn: boolean, wLength: number): SetupPacket {
  const type = REQUEST_TYPES.indexOf(p.requestType);
  const recipient = RECIPIENTS.indexOf(p.recipient);
  return {
    bmRequestType: (dirIn ? 0x80 : 0) | ((type < 0 ? 3 : type) << 5) | (recipient < 0 ? 3 : recipient),
    bRequest: p.request & 0xff,
    wValue: p.value & 0xffff,
    wIndex: p.index & 0xffff,
    wLength,
  };
}

function toBytes(data: BinaryData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

export interface SimUsbDeviceInit {
  endpoint: SimEndpoint;
  clock: Clock;
  device: Uint8Array;
  configuration: Uint8Array;
  strings: Uint8Array[];
  stallAs?: StallStyle;
}

export class SimUsbDevice implements USBDevice {
  readonly usbVersionMajor: number;
  readonly usbVersionMinor: number;
  readonly usbVersionSubminor: number;
  readonly deviceClass: number;
  readonly deviceSubclass: number;
  readonly deviceProtocol: number;
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  readonly serialNumber: string | null;
  readonly configurations: USBConfiguration[];

  private readonly endpoint: SimEndpoint;
  private readonly clock: Clock;
  private readonly stallAs: StallStyle;
  private isOpen = false;
  private gone = false;
  private claimed = new Set<number>();
  private currentAlt = new Map<number, number>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(init: SimUsbDeviceInit) {
    this.endpoint = init.endpoint;
    this.clock = init.clock;
    this.stallAs = init.stallAs ?? 'reject';
    const d = init.device;
    const bcdUsb = u16(d, 2);
    const bcdDevice = u16(d, 12);
    this.usbVersionMajor = bcdUsb >> 8;
    this.usbVersionMinor = (bcdUsb >> 4) & 0xf;
    this.usbVersionSubminor = bcdUsb & 0xf;
    this.deviceClass = d[4]!;
    this.deviceSubclass = d[5]!;
    this.deviceProtocol = d[6]!;
    this.vendorId = u16(d, 8);
    this.productId = u16(d, 10);
    this.deviceVersionMajor = bcdDevice >> 8;
    this.deviceVersionMinor = (bcdDevice >> 4) & 0xf;
    this.deviceVersionSubminor = bcdDevice & 0xf;
    const str = (i: number) => (i === 0 ? null : decodeString(init.strings[i]));
    this.manufacturerName = str(d[14]!);
    this.productName = str(d[15]!);
    this.serialNumber = str(d[16]!);
    this.configurations = [this.parseConfiguration(init.configuration, str)];
  }

  private parseConfiguration(c: Uint8Array, str: (i: number) => string | null): USBConfiguration {
    const alternatesByInterface = new Map<number, USBAlternateInterface[]>();
    let o = c[0]!;
    while (o + 1 < c.length) {
      const len = c[o]!;
      if (len < 2) break;
      if (c[o + 1] === 4) {
        const number = c[o + 2]!;
        const alt: USBAlternateInterface = {
          alternateSetting: c[o + 3]!,
          interfaceClass: c[o + 5]!,
          interfaceSubclass: c[o + 6]!,
          interfaceProtocol: c[o + 7]!,
          interfaceName: str(c[o + 8]!),
          endpoints: [],
        };
        const list = alternatesByInterface.get(number) ?? [];
        list.push(alt);
        alternatesByInterface.set(number, list);
      }
      o += len;
    }
    const alternateOf = (n: number) => this.currentAlt.get(n) ?? 0;
    const isClaimed = (n: number) => this.claimed.has(n);
    const interfaces: USBInterface[] = [...alternatesByInterface.entries()].map(([interfaceNumber, alternates]) => ({
      interfaceNumber,
      alternates,
      get alternate() {
        const a = alternateOf(interfaceNumber);
        return alternates.find((x) => x.alternateSetting === a) ?? alternates[0]!;
      },
      get claimed() {
        return isClaimed(interfaceNumber);
      },
    }));
    return { configurationValue: c[5]!, configurationName: str(c[6]!), interfaces };
  }

  get configuration(): USBConfiguration | null {
    return this.configurations[0] ?? null;
  }

  get opened(): boolean {
    return this.isOpen;
  }

  /** Called by the bus when this enumeration ends. */
  markDisconnected(): void {
    // The host keeps its handle and claims: later transfers fail with "device disconnected".
    this.gone = true;
  }

  get disconnected(): boolean {
    return this.gone;
  }

  async open(): Promise<void> {
    if (this.gone) throw usbError('open error: No such device (os error 19)');
    this.isOpen = true;
  }

  async close(): Promise<void> {
    this.isOpen = false;
    this.claimed.clear();
  }

  async forget(): Promise<void> {
    await this.close();
  }

  async reset(): Promise<void> {
    if (!this.isOpen) throw usbError('reset error: invalid state');
    if (this.gone) throw usbError('reset error: device disconnected');
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    if (!this.isOpen) throw usbError('selectConfiguration error: invalid state');
    if (!this.configurations.some((c) => c.configurationValue === configurationValue)) throw usbError('selectConfiguration error: invalid configuration');
    await this.run(toSetup({ requestType: 'standard', recipient: 'device', request: 9, value: configurationValue, index: 0 }, false, 0), undefined, SIM_TRANSFER_TIMEOUT_MS, 'selectConfiguration', true);
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    if (!this.isOpen) throw usbError('claimInterface error: invalid state');
    if (this.gone) throw usbError('claimInterface error: No such device (os error 19)');
    if (!this.configuration?.interfaces.some((i) => i.interfaceNumber === interfaceNumber)) throw usbError('claimInterface error: Invalid argument (os error 22)');
    this.claimed.add(interfaceNumber);
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    if (!this.isOpen) throw usbError('releaseInterface error: invalid state');
    if (!this.claimed.delete(interfaceNumber)) throw usbError('releaseInterface error: not claimed');
  }

  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    if (!this.claimed.has(interfaceNumber)) throw usbError('selectAlternateInterface error: invalid state');
    await this.run(toSetup({ requestType: 'standard', recipient: 'interface', request: 11, value: alternateSetting, index: interfaceNumber }, false, 0), undefined, SIM_TRANSFER_TIMEOUT_MS, 'selectAlternateInterface', true);
    this.currentAlt.set(interfaceNumber, alternateSetting);
  }

  async controlTransferIn(setup: USBControlTransferParameters, length: number, timeout = SIM_TRANSFER_TIMEOUT_MS): Promise<USBInTransferResult> {
    if (!this.isOpen || this.claimed.size === 0) throw usbError('controlTransferIn error: invalid state');
    if (length > HOST_CONTROL_MAX_BYTES) throw usbError('controlTransferIn error: invalid or unsupported argument');
    const r = await this.run(toSetup(setup, true, length), undefined, timeout, 'controlTransferIn');
    if (r.status === 'stall') return { status: 'stall' };
    const data = r.status === 'ok' ? (r.data ?? new Uint8Array(0)) : new Uint8Array(0);
    const copy = data.slice();
    return { status: 'ok', data: new DataView(copy.buffer, copy.byteOffset, copy.byteLength) };
  }

  async controlTransferOut(setup: USBControlTransferParameters, data?: BinaryData, timeout = SIM_TRANSFER_TIMEOUT_MS): Promise<USBOutTransferResult> {
    if (!this.isOpen || this.claimed.size === 0) throw usbError('controlTransferOut error: invalid state');
    const bytes = toBytes(data);
    if (bytes.length > HOST_CONTROL_MAX_BYTES) throw usbError('controlTransferOut error: invalid or unsupported argument');
    const r = await this.run(toSetup(setup, false, bytes.length), bytes, timeout, 'controlTransferOut');
    if (r.status === 'stall') return { status: 'stall', bytesWritten: 0 };
    return { status: 'ok', bytesWritten: bytes.length };
  }

  async clearHalt(_direction: USBDirection, _endpointNumber: number): Promise<void> {
    throw usbError('clearHalt error: endpoint not found');
  }
  async transferIn(_endpointNumber: number, _length: number): Promise<USBInTransferResult> {
    throw usbError('transferIn error: endpoint not found');
  }
  async transferOut(_endpointNumber: number, _data: BinaryData): Promise<USBOutTransferResult> {
    throw usbError('transferOut error: endpoint not found');
  }
  async isochronousTransferIn(_endpointNumber: number, _packetLengths: number[]): Promise<USBIsochronousInTransferResult> {
    throw usbError('isochronousTransferIn error: method not implemented');
  }
  async isochronousTransferOut(_endpointNumber: number, _data: BinaryData, _packetLengths: number[]): Promise<USBIsochronousOutTransferResult> {
    throw usbError('isochronousTransferOut error: method not implemented');
  }

  /** One control transfer at a time on EP0, as on the wire; STALL/disconnect/timeout become the package's errors. */
  private run(setup: SetupPacket, data: Uint8Array | undefined, timeout: number, what: string, rejectStall = this.stallAs === 'reject'): Promise<ControlAnswer> {
    const job = this.tail.then(() => this.once(setup, data, timeout, what, rejectStall));
    this.tail = job.catch(() => undefined);
    return job;
  }

  private async once(setup: SetupPacket, data: Uint8Array | undefined, timeout: number, what: string, rejectStall: boolean): Promise<ControlAnswer> {
    if (this.gone) throw usbError(`${what} error: device disconnected`);
    const bytes = (setup.bmRequestType & 0x80) !== 0 ? setup.wLength : (data?.length ?? 0);
    await this.clock.sleep(wireMs(bytes));
    const stop = new AbortController();
    const timer = this.clock.sleep(timeout > 0 ? timeout : 2 ** 31, stop.signal).then(
      () => 'timeout' as const,
      () => 'stopped' as const,
    );
    const answer = await Promise.race([this.endpoint.control(setup, data), timer]);
    stop.abort();
    if (answer === 'timeout' || answer === 'stopped') throw usbError(`${what} error: transfer was cancelled`);
    if (answer.status === 'disconnected') throw usbError(`${what} error: device disconnected`);
    if (answer.status === 'stall' && rejectStall) throw usbError(`${what} error: endpoint stalled`);
    return answer;
  }
}
