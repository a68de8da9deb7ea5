// A minimal DFU host for the simulator's tests: raw control transfers through the WebUSB face, so the
// tests do not depend on the real DFU layer (written separately).

import type { Clock } from '../../src-main/util/clock';

export const DNLOAD = 1;
export const UPLOAD = 2;
export const GETSTATUS = 3;
export const CLRSTATUS = 4;
export const GETSTATE = 5;
export const ABORT = 6;

const cls = (request: number, value = 0): USBControlTransferParameters => ({ requestType: 'class', recipient: 'interface', request, value, index: 0 });

export interface Status {
  status: number;
  poll: number;
  state: number;
}

export async function openDfu(dev: USBDevice, alt = 0): Promise<void> {
  await dev.open();
  await dev.claimInterface(0);
  if (alt !== 0) await dev.selectAlternateInterface(0, alt);
}

export async function getStatus(dev: USBDevice): Promise<Status> {
  const r = await dev.controlTransferIn(cls(GETSTATUS), 6);
  const d = r.data!;
  return { status: d.getUint8(0), poll: d.getUint8(1) | (d.getUint8(2) << 8) | (d.getUint8(3) << 16), state: d.getUint8(4) };
}

export async function dnload(dev: USBDevice, block: number, data: Uint8Array): Promise<void> {
  await dev.controlTransferOut(cls(DNLOAD, block), data);
}

export async function upload(dev: USBDevice, block: number, length: number): Promise<Uint8Array> {
  const r = await dev.controlTransferIn(cls(UPLOAD, block), length);
  return new Uint8Array(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength);
}

export async function clrStatus(dev: USBDevice): Promise<void> {
  await dev.controlTransferOut(cls(CLRSTATUS));
}

export async function abort(dev: USBDevice): Promise<void> {
  await dev.controlTransferOut(cls(ABORT));
}

/** GETSTATUS, waiting bwPollTimeout between polls, until the device is no longer dfuDNBUSY. */
export async function finish(dev: USBDevice, clock: Clock): Promise<{ last: Status; polls: Status[] }> {
  const polls: Status[] = [];
  let s = await getStatus(dev);
  polls.push(s);
  while (s.state === 4) {
    await clock.sleep(s.poll);
    s = await getStatus(dev);
    polls.push(s);
  }
  return { last: s, polls };
}

export function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export async function command(dev: USBDevice, clock: Clock, bytes: number[]): Promise<Status> {
  await dnload(dev, 0, new Uint8Array(bytes));
  return (await finish(dev, clock)).last;
}

export const setAddress = (dev: USBDevice, clock: Clock, address: number) => command(dev, clock, [0x21, ...le32(address)]);
export const eraseAt = (dev: USBDevice, clock: Clock, address: number) => command(dev, clock, [0x41, ...le32(address)]);

/** Writes `data` at `address` in transfer-size blocks, one set-address per run (DfuSe block numbering). */
export async function write(dev: USBDevice, clock: Clock, address: number, data: Uint8Array, transferSize: number): Promise<Status> {
  let s = await setAddress(dev, clock, address);
  if (s.state !== 5) return s;
  for (let off = 0, block = 2; off < data.length; off += transferSize, block++) {
    await dnload(dev, block, data.subarray(off, off + transferSize));
    s = (await finish(dev, clock)).last;
    if (s.state !== 5) return s;
  }
  return s;
}

/** Reads `length` bytes at `address` (set address, abort to dfuIDLE, then UPLOAD blocks). */
export async function read(dev: USBDevice, clock: Clock, address: number, length: number, transferSize: number): Promise<Uint8Array> {
  const s = await setAddress(dev, clock, address);
  if (s.state !== 5) throw new Error(`set address failed: state ${s.state} status ${s.status}`);
  await abort(dev);
  const out = new Uint8Array(length);
  for (let off = 0, block = 2; off < length; off += transferSize, block++) {
    const chunk = await upload(dev, block, Math.min(transferSize, length - off));
    out.set(chunk, off);
  }
  await abort(dev);
  return out;
}

/** Zero-length DNLOAD then GETSTATUS (DfuSe leave) after pointing at `address`. */
export async function leave(dev: USBDevice, clock: Clock, address: number): Promise<Status | Error> {
  await setAddress(dev, clock, address);
  await dnload(dev, 0, new Uint8Array(0));
  try {
    return await getStatus(dev);
  } catch (e) {
    return e as Error;
  }
}

/** Deterministic test bytes (xorshift). */
export function pattern(len: number, seed = 1): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
