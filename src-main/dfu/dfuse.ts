// The dfu/ layer: DFU 1.1 (dfu.ts) and ST's DfuSe dialect on top of usb/, the layout strings that
// describe each alt setting's memory, and the quirks of real bootloaders (docs/architecture.md).
// This file is its entry: ST's DfuSe extension (AN3156) on top of DFU 1.1 — open a device on one alt
// setting, then set the address pointer, erase, mass-erase, read-unprotect, write, read, leave — and
// the BootBridge loader's CRC32 command. Usage: `const d = await DfuseDevice.open(usbDevice, { clock }); await d.write(addr, bytes)`.
// Transfers are kept to what the protocol needs: one set-address per contiguous run, then per block
// one DNLOAD and the GETSTATUS calls that wait out dfuDNBUSY.

import { BootBridgeError } from '../../shared/errors.js';
import type { Clock } from '../util/clock.js';
import { dfuFunctional, type DeviceDescriptors } from '../usb/descriptors.js';
import { isDisconnectError, type TransferCounter } from '../usb/transfer.js';
import { DFU_STATE, DFU_STATUS, DFUSE_COMMAND } from './constants.js';
import { readDfuDescriptors, withLayouts, type DfuAltSetting, type DfuDeviceDescriptors } from './descriptors.js';
import { DfuInterface, type DfuStatusReport } from './dfu.js';
import type { MemoryLayout } from './layout.js';
import { quirksFor, type DeviceQuirks, type DfuRequestKind } from './quirks.js';

export interface DfuseOpenOptions {
  clock: Clock;
  alt?: number;
  counter?: TransferCounter;
  /** Already read descriptors (saves the GET_DESCRIPTOR transfers); their layouts are decoded here. */
  descriptors?: DeviceDescriptors;
  /** Chip device ID when known: selects device-specific quirks. */
  deviceId?: number;
  /** Override the quirk set (tests). */
  quirks?: DeviceQuirks;
}

export interface TransferOptions {
  /** Called after every block with the bytes done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Stops between blocks; the device is brought back to dfuIDLE, then CANCELLED is thrown. */
  signal?: AbortSignal;
}

export interface LeaveResult {
  /** The device went off the bus during the leave (the expected outcome on the ROM). */
  disconnected: boolean;
  /** The last status the device answered, when it answered. */
  status?: DfuStatusReport;
}

const BLOCK_BASE = 2; // AN3156 §6.2: data blocks start at wBlockNum 2
const MAX_BLOCK = 0xffff;

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export class DfuseDevice {
  readonly dfu: DfuInterface;
  /** wTransferSize of the DFU functional descriptor. */
  readonly transferSize: number;
  private commands: number[] | undefined;
  /** Writes use background writes (loader extension "overlap", docs/loader-protocol.md §8). */
  private background = false;
  /** Set once leave/read-unprotect was sent: the device is going, there is nothing to bring back to idle. */
  private left = false;

  private constructor(
    readonly device: USBDevice,
    readonly descriptors: DfuDeviceDescriptors,
    dfu: DfuInterface,
  ) {
    this.dfu = dfu;
    const f = dfuFunctional(descriptors);
    if (!f || f.wTransferSize === 0) {
      throw new BootBridgeError('NOT_DFU_DEVICE', 'Device has no DFU functional descriptor with a transfer size', {});
    }
    this.transferSize = f.wTransferSize;
  }

  /**
   * Opens the device, selects its configuration, claims interface 0, selects `alt` and brings the
   * state machine to dfuIDLE (the F4 ROM enumerates in dfuERROR).
   */
  static async open(device: USBDevice, options: DfuseOpenOptions): Promise<DfuseDevice> {
    const alt = options.alt ?? 0;
    const fail = (e: unknown, what: string): never => {
      if (e instanceof BootBridgeError) throw e;
      if (isDisconnectError(e)) throw new BootBridgeError('DEVICE_DISCONNECTED', `The board left the bus while ${what}`, { alt }, { cause: e });
      const why = e instanceof Error ? e.message : String(e);
      const denied = /access|permission|denied|busy/i.test(why);
      throw new BootBridgeError(denied ? 'USB_ACCESS_DENIED' : 'USB_TRANSFER_FAILED', `Cannot open the DFU interface (${what}): ${why}`, { alt }, { cause: e });
    };
    // Claim first: the `usb` package v3 sends even GET_DESCRIPTOR through a claimed interface.
    let interfaceNumber = 0;
    try {
      if (!device.opened) await device.open();
      if (!device.configuration && device.configurations[0]) await device.selectConfiguration(device.configurations[0].configurationValue);
      const webIface = device.configuration?.interfaces.find((i) => i.alternates.some((a) => a.interfaceClass === 0xfe && a.interfaceSubclass === 0x01));
      interfaceNumber = webIface?.interfaceNumber ?? 0;
      if (!webIface?.claimed) await device.claimInterface(interfaceNumber);
    } catch (e) {
      fail(e, 'claiming the interface');
    }
    const descriptors = options.descriptors ? withLayouts(options.descriptors) : await readDfuDescriptors(device, options.counter ? { counter: options.counter } : {});
    const config = descriptors.configurations[0];
    if (!config) throw new BootBridgeError('NOT_DFU_DEVICE', 'Device has no configuration', {});
    const iface = config.interfaces.find(
      (i) => i.bInterfaceNumber === interfaceNumber && i.bAlternateSetting === alt && i.bInterfaceClass === 0xfe && i.bInterfaceSubClass === 0x01,
    );
    if (!iface) throw new BootBridgeError('NOT_DFU_DEVICE', `Device has no DFU alt setting ${alt}`, { alt });
    try {
      await device.selectAlternateInterface(interfaceNumber, alt);
    } catch (e) {
      fail(e, 'selecting the alt setting');
    }
    const quirks =
      options.quirks ??
      quirksFor({ vendorId: descriptors.device.idVendor, productId: descriptors.device.idProduct, bcdDevice: descriptors.device.bcdDevice, ...(options.deviceId !== undefined ? { deviceId: options.deviceId } : {}) });
    const dfu = new DfuInterface(device, {
      clock: options.clock,
      interfaceNumber: iface.bInterfaceNumber,
      alt,
      quirks,
      ...(options.counter ? { counter: options.counter } : {}),
    });
    const d = new DfuseDevice(device, descriptors, dfu);
    await dfu.ensureIdle({ phase: 'open' });
    return d;
  }

  get alt(): number {
    return this.dfu.alt;
  }

  /** The alt settings' descriptors, each with its decoded layout. */
  get alternates(): DfuAltSetting[] {
    return this.descriptors.configurations[0]?.interfaces ?? [];
  }

  /** Layout of the selected alt setting, when its name is a DfuSe layout. */
  get layout(): MemoryLayout | undefined {
    return this.alternates.find((a) => a.bAlternateSetting === this.alt)?.layout;
  }

  async selectAlt(alt: number): Promise<void> {
    const iface = this.alternates.find((a) => a.bAlternateSetting === alt);
    if (!iface) throw new BootBridgeError('BAD_ARGUMENT', `Device has no alt setting ${alt}`, { alt });
    await this.dfu.ensureIdle({ phase: 'select alt' });
    try {
      await this.device.selectAlternateInterface(iface.bInterfaceNumber, alt);
    } catch (e) {
      const code = isDisconnectError(e) ? 'DEVICE_DISCONNECTED' : 'USB_TRANSFER_FAILED';
      throw new BootBridgeError(code, `Cannot select alt setting ${alt}: ${e instanceof Error ? e.message : String(e)}`, { alt, request: 'SET_INTERFACE' }, { cause: e });
    }
    this.dfu.alt = alt;
    this.commands = undefined;
  }

  /** Before a DNLOAD: ABORT out of an upload (DNLOAD is not accepted in dfuUPLOAD-IDLE, DFU 1.1 appendix A). */
  private async readyForDownload(): Promise<void> {
    const s = this.dfu.lastState;
    if (s === DFU_STATE.dfuIDLE || s === DFU_STATE.dfuDNLOAD_IDLE) return;
    if (s === DFU_STATE.dfuUPLOAD_IDLE) await this.dfu.abort();
    else await this.dfu.ensureIdle();
  }

  /** Before an UPLOAD: the ROM reads only from dfuIDLE/dfuUPLOAD-IDLE, so ABORT after a command (AN3156 §6.3). */
  private async readyForUpload(): Promise<void> {
    const s = this.dfu.lastState;
    if (s === DFU_STATE.dfuIDLE || s === DFU_STATE.dfuUPLOAD_IDLE) return;
    if (s === DFU_STATE.dfuDNLOAD_IDLE) await this.dfu.abort();
    else await this.dfu.ensureIdle();
  }

  /** DNLOAD block 0 with a DfuSe command, then wait for it (AN3156 §6.1: every command completes through GETSTATUS). */
  /** `atLeastMs`: a command known to take longer than the default busy limit (a QSPI bulk erase). */
  private async command(bytes: number[], kind: DfuRequestKind, address?: number, atLeastMs = 0): Promise<DfuStatusReport> {
    await this.readyForDownload();
    const op = address !== undefined ? { address } : {};
    await this.dfu.dnload(0, new Uint8Array(bytes), op);
    return this.dfu.waitWhileBusy(kind, op, atLeastMs);
  }

  /** Get Commands (AN3156 §6.1): UPLOAD block 0 lists the supported command bytes. */
  async getCommands(): Promise<number[]> {
    if (this.commands) return this.commands;
    await this.readyForUpload();
    const data = await this.dfu.upload(0, 16, { phase: 'get commands' });
    this.commands = Array.from(data);
    await this.dfu.abort();
    return this.commands;
  }

  async setAddress(address: number): Promise<void> {
    await this.command([DFUSE_COMMAND.SET_ADDRESS, ...le32(address)], 'setAddress', address);
  }

  /** Erases the page/sector holding `address` (AN3156 §6.5). */
  async erase(address: number): Promise<void> {
    await this.command([DFUSE_COMMAND.ERASE, ...le32(address)], 'erase', address);
  }

  /**
   * Mass erase: 0x41 with no address (AN3156 §6.5). `expectedMs`: its known typical time (a loader's
   * manifest): the host then waits up to twice that before calling it hung (N25Q128A: 170 s typical, 250 s max).
   */
  async massErase(expectedMs = 0): Promise<void> {
    await this.command([DFUSE_COMMAND.ERASE], 'massErase', undefined, 2 * expectedMs);
  }

  /**
   * Uses background writes from now on when the device offers them (command 0xB1 in its command list):
   * each write() then sends 0xB1 first (the device turns them off at the next UPLOAD, ABORT, CLRSTATUS
   * or alt change), and each data block is accepted at once and programmed while the next is on the
   * wire (docs/loader-protocol.md §8). Only for a loader whose manifest lists the "overlap" extension;
   * the ROM never offers it. Returns whether they are used.
   */
  async enableBackgroundWrites(): Promise<boolean> {
    this.background = await this.supports(DFUSE_COMMAND.BACKGROUND_WRITES);
    return this.background;
  }

  get backgroundWrites(): boolean {
    return this.background;
  }

  /**
   * Read unprotect (AN3156 §6.6): the chip mass-erases and resets itself, so the device leaving the
   * bus (at any of these requests) is the expected outcome. The busy time is waited out as for a
   * mass erase, then one more GETSTATUS collects the result if the device is still there.
   */
  async readUnprotect(): Promise<LeaveResult> {
    await this.readyForDownload();
    this.left = true;
    try {
      await this.dfu.dnload(0, new Uint8Array([DFUSE_COMMAND.READ_UNPROTECT]));
      const status = await this.dfu.waitWhileBusy('massErase', { phase: 'read unprotect' });
      return { disconnected: false, status };
    } catch (e) {
      if (isDisconnectError(e)) return { disconnected: true };
      if (e instanceof BootBridgeError && (e.code === 'USB_TRANSFER_FAILED' || e.code === 'USB_STALL')) return { disconnected: false };
      throw e;
    }
  }

  private checkCancel(signal: AbortSignal | undefined): boolean {
    return signal?.aborted === true;
  }

  private async cancelled(address: number, done: number): Promise<never> {
    // Leave the device in dfuIDLE so the next operation (or a retry) starts clean.
    await this.dfu.ensureIdle({ phase: 'cancel' }).catch(() => undefined);
    throw new BootBridgeError('CANCELLED', `Cancelled after ${done} bytes`, { address, alt: this.alt, offset: done });
  }

  /**
   * Writes `data` at `address` in wTransferSize blocks: one set-address, then DNLOAD wBlockNum 2, 3, …
   * (block n lands at pointer + (n − 2) × wTransferSize, AN3156 §6.2). Erasing is the caller's job.
   */
  async write(address: number, data: Uint8Array, options: TransferOptions = {}): Promise<void> {
    const size = this.transferSize;
    const total = data.length;
    let done = 0;
    if (this.background && total > 0) await this.command([DFUSE_COMMAND.BACKGROUND_WRITES], 'command');
    while (done < total) {
      if (this.checkCancel(options.signal)) await this.cancelled(address + done, done);
      const runStart = address + done;
      await this.setAddress(runStart);
      let block = BLOCK_BASE;
      let previous: { at: number; length: number } | undefined;
      while (done < total && block <= MAX_BLOCK) {
        if (this.checkCancel(options.signal)) await this.cancelled(address + done, done);
        const chunk = data.subarray(done, Math.min(done + size, total));
        const at = runStart + (block - BLOCK_BASE) * size;
        await this.dfu.dnload(block, chunk, { address: at });
        await this.blockStatus(at, chunk.length, previous);
        previous = { at, length: chunk.length };
        done += chunk.length;
        block++;
        options.onProgress?.(done, total);
      }
      // Background writes: the last block is still programming; wait for it before anything else.
      if (this.background && previous) await this.blockStatus(undefined, 0, previous);
    }
  }

  /**
   * The GETSTATUS after a data block (`at`), or with no block the drain after the last one. With
   * background writes the error it reports may be the previous block's (loader protocol §8):
   * errTARGET and errADDRESS refuse the block just sent; any other error is the outcome of the block
   * programming in the background, the one sent before it.
   */
  private async blockStatus(at: number | undefined, length: number, previous: { at: number; length: number } | undefined): Promise<void> {
    try {
      await this.dfu.waitWhileBusy('write', at !== undefined ? { address: at } : { address: previous!.at });
    } catch (e) {
      if (!this.background || !previous || !(e instanceof BootBridgeError) || e.code !== 'DFU_STATUS') throw e;
      const own = at !== undefined && (e.context.status === DFU_STATUS.errTARGET || e.context.status === DFU_STATUS.errADDRESS);
      const block = own ? { at, length } : previous;
      const what = own ? 'refused' : at !== undefined ? 'failed while the next block was sent' : 'failed';
      throw new BootBridgeError('DFU_STATUS', `Block at 0x${block.at.toString(16)} (${block.length} bytes) ${what}: ${e.message}`, { ...e.context, address: block.at, length: block.length }, { cause: e });
    }
  }

  /** Reads `length` bytes at `address`: set-address, ABORT, UPLOAD wBlockNum 2, 3, … (AN3156 §6.3). */
  async read(address: number, length: number, options: TransferOptions = {}): Promise<Uint8Array> {
    const size = this.transferSize;
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      if (this.checkCancel(options.signal)) await this.cancelled(address + done, done);
      const runStart = address + done;
      await this.setAddress(runStart);
      await this.dfu.abort();
      let block = BLOCK_BASE;
      while (done < length && block <= MAX_BLOCK) {
        if (this.checkCancel(options.signal)) await this.cancelled(address + done, done);
        const want = Math.min(size, length - done);
        const at = runStart + (block - BLOCK_BASE) * size;
        const chunk = await this.dfu.upload(block, want, { address: at });
        if (chunk.length !== want) {
          await this.dfu.ensureIdle().catch(() => undefined);
          throw new BootBridgeError('DFU_PROTOCOL', `UPLOAD returned ${chunk.length} bytes, expected ${want}`, { address: at, alt: this.alt, length: want });
        }
        out.set(chunk, done);
        done += want;
        block++;
        options.onProgress?.(done, length);
      }
    }
    if (this.dfu.lastState === DFU_STATE.dfuUPLOAD_IDLE) await this.dfu.abort();
    return out;
  }

  /**
   * Leave DFU mode (AN3156 §6.4; DESIGN.md): optionally set the pointer to the code to start, then a
   * zero-length DNLOAD and one GETSTATUS. The ROM may answer dfuMANIFEST or drop off the bus at
   * either request: both are success.
   */
  async leave(address?: number): Promise<LeaveResult> {
    try {
      if (address !== undefined) await this.setAddress(address);
      else await this.readyForDownload();
      this.left = true;
      // wBlockNum 2 with no data, as dfu-util's DfuSe leave sends it.
      await this.dfu.dnload(BLOCK_BASE, undefined, address !== undefined ? { address } : {});
    } catch (e) {
      if (isDisconnectError(e)) return { disconnected: true };
      throw e;
    }
    try {
      const status = await this.dfu.getStatus({ phase: 'leave' });
      return { disconnected: false, status };
    } catch (e) {
      // Gone, or a transfer error because it is going: the ROM does not always answer (DESIGN.md).
      if (e instanceof BootBridgeError && (e.code === 'DEVICE_DISCONNECTED' || e.code === 'USB_TRANSFER_FAILED' || e.code === 'USB_STALL')) {
        return { disconnected: e.code === 'DEVICE_DISCONNECTED' };
      }
      throw e;
    }
  }

  /** True when the device lists command `byte` in its Get Commands answer. */
  async supports(byte: number): Promise<boolean> {
    return (await this.getCommands()).includes(byte);
  }

  /**
   * CRC-32 of [address, address+length) computed on the device (BootBridge loader extension 0xB0,
   * docs/loader-protocol.md §4): command, wait, then UPLOAD wBlockNum 1, 4 bytes LE.
   */
  async crc32(address: number, length: number): Promise<number> {
    if (!(await this.supports(DFUSE_COMMAND.CRC32))) {
      throw new BootBridgeError('LOADER_UNSUPPORTED', 'Device does not implement the CRC32 command (0xB0)', { address, length, alt: this.alt });
    }
    await this.command([DFUSE_COMMAND.CRC32, ...le32(address), ...le32(length)], 'command', address);
    await this.readyForUpload();
    const r = await this.dfu.upload(1, 4, { address, phase: 'crc32' });
    if (r.length !== 4) throw new BootBridgeError('DFU_PROTOCOL', `CRC32 answer has ${r.length} bytes, expected 4`, { address, length, alt: this.alt });
    if (this.dfu.lastState === DFU_STATE.dfuUPLOAD_IDLE) await this.dfu.abort();
    return (r[0]! | (r[1]! << 8) | (r[2]! << 16) | (r[3]! << 24)) >>> 0;
  }

  /** Back to dfuIDLE and release the interface. Safe on a device that already left. */
  async close(): Promise<void> {
    try {
      if (!this.left && this.dfu.lastState !== DFU_STATE.dfuIDLE) await this.dfu.ensureIdle();
      await this.device.releaseInterface(this.dfu.interfaceNumber);
    } catch {
      // The device may be gone (after leave); nothing to release then.
    }
    await this.device.close().catch(() => undefined);
  }
}
