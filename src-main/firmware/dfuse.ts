// DfuSe .dfu files (ST UM0391 "DfuSe File Format Specification"): a prefix, one target per alt setting,
// each holding elements (address, size, bytes), then the DFU 1.1 suffix (Appendix B) with its CRC.
// Read into a FirmwareImage whose segments keep their alt, and written from any image for other tools.

import { BootBridgeError, hex32 } from '../../shared/errors';
import { crc32Update, dfuSuffixCrc } from './crc32';
import { buildImage, type FirmwareImage, type Piece } from './image';

const PREFIX_SIZE = 11; // "DfuSe", bVersion, DFUImageSize(4), bTargets — UM0391 §2.1
const TARGET_PREFIX_SIZE = 274; // "Target", bAlternateSetting, bTargetNamed(4), szTargetName[255], dwTargetSize, dwNbElements — §2.3.1
const ELEMENT_HEADER_SIZE = 8; // dwElementAddress, dwElementSize — §2.3.2
export const DFU_SUFFIX_SIZE = 16; // bcdDevice, idProduct, idVendor, bcdDFU, "UFD", bLength, dwCRC — DFU 1.1 Appendix B
const BCD_DFUSE = 0x011a; // UM0391 §2.4: DfuSe files carry bcdDFU 0x011A

export interface DfuSuffix {
  bcdDevice: number;
  productId: number;
  vendorId: number;
  bcdDFU: number;
  crc: number;
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  let s = '';
  for (let i = at; i < at + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

export function isDfuSe(bytes: Uint8Array): boolean {
  return ascii(bytes, 0, 5) === 'DfuSe';
}

/**
 * The DFU suffix at the end of `bytes`, its CRC checked; undefined when there is no "UFD" signature.
 * A suffix whose CRC does not match is an error: the file is corrupt.
 */
export function readDfuSuffix(bytes: Uint8Array): DfuSuffix | undefined {
  if (bytes.length < DFU_SUFFIX_SIZE) return undefined;
  const at = bytes.length - DFU_SUFFIX_SIZE;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ascii(bytes, at + 8, 3) !== 'UFD') return undefined;
  const length = bytes[at + 11]!;
  if (length < DFU_SUFFIX_SIZE) {
    throw new BootBridgeError('FIRMWARE_INVALID', `DFU suffix length ${length} is below 16`, { offset: at + 11, field: 'bLength' });
  }
  const suffix: DfuSuffix = {
    bcdDevice: view.getUint16(at, true),
    productId: view.getUint16(at + 2, true),
    vendorId: view.getUint16(at + 4, true),
    bcdDFU: view.getUint16(at + 6, true),
    crc: view.getUint32(at + 12, true),
  };
  const computed = dfuSuffixCrc(bytes.subarray(0, bytes.length - 4));
  if (computed !== suffix.crc) {
    throw new BootBridgeError('CHECKSUM_MISMATCH', `DFU file CRC is ${hex32(suffix.crc)}, its bytes give ${hex32(computed)}: the file is corrupt`, {
      offset: at + 12,
      field: 'dwCRC',
    });
  }
  return suffix;
}

export function parseDfuSe(bytes: Uint8Array): FirmwareImage {
  const fail = (message: string, offset: number, field?: string) =>
    new BootBridgeError('FIRMWARE_INVALID', `DfuSe file: ${message}`, field ? { offset, field } : { offset });
  if (!isDfuSe(bytes)) throw fail('no "DfuSe" signature at the start', 0, 'szSignature');
  if (bytes.length < PREFIX_SIZE + DFU_SUFFIX_SIZE) throw fail(`truncated: ${bytes.length} bytes`, bytes.length);
  const suffix = readDfuSuffix(bytes);
  if (!suffix) throw fail('no DFU suffix ("UFD" signature) at the end: the file is truncated', bytes.length - DFU_SUFFIX_SIZE, 'ucDfuSignature');
  if (suffix.bcdDFU !== BCD_DFUSE) {
    throw fail(`suffix bcdDFU is 0x${suffix.bcdDFU.toString(16).padStart(4, '0')}, DfuSe files carry 0x011a`, bytes.length - 10, 'bcdDFU');
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[5]!;
  if (version !== 1) throw new BootBridgeError('FIRMWARE_UNSUPPORTED', `DfuSe file version ${version}; only version 1 is defined`, { offset: 5, field: 'bVersion' });
  const imageSize = view.getUint32(6, true);
  // UM0391 calls DFUImageSize the whole file's length; dfuse-pack counts the suffix, some writers do not.
  if (imageSize !== bytes.length && imageSize !== bytes.length - DFU_SUFFIX_SIZE) {
    throw fail(`prefix says ${imageSize} bytes, the file has ${bytes.length}`, 6, 'DFUImageSize');
  }
  const targets = bytes[10]!;
  const end = bytes.length - DFU_SUFFIX_SIZE;

  const pieces: Piece[] = [];
  const targetNames: Record<number, string> = {};
  let at = PREFIX_SIZE;
  for (let t = 0; t < targets; t++) {
    if (at + TARGET_PREFIX_SIZE > end) throw fail(`target ${t} prefix runs past the end of the file`, at, 'Target');
    if (ascii(bytes, at, 6) !== 'Target') throw fail(`target ${t} has no "Target" signature`, at, 'szSignature');
    const alt = bytes[at + 6]!;
    const named = view.getUint32(at + 7, true) !== 0;
    let name = '';
    if (named) {
      const raw = bytes.subarray(at + 11, at + 11 + 255);
      const zero = raw.indexOf(0);
      name = ascii(raw, 0, zero < 0 ? raw.length : zero);
      targetNames[alt] = name;
    }
    const targetSize = view.getUint32(at + 266, true);
    const elements = view.getUint32(at + 270, true);
    at += TARGET_PREFIX_SIZE;
    const targetEnd = at + targetSize;
    if (targetEnd > end) throw fail(`target ${t} (alt ${alt}) says ${targetSize} bytes, past the end of the file`, at - 8, 'dwTargetSize');
    for (let e = 0; e < elements; e++) {
      if (at + ELEMENT_HEADER_SIZE > targetEnd) throw fail(`target ${t} element ${e} header runs past its target`, at, 'dwElementAddress');
      const address = view.getUint32(at, true);
      const size = view.getUint32(at + 4, true);
      at += ELEMENT_HEADER_SIZE;
      if (at + size > targetEnd) throw fail(`target ${t} element ${e} (${hex32(address)}, ${size} bytes) runs past its target`, at - 4, 'dwElementSize');
      const label = named ? `target ${t} "${name}" element ${e}` : `target ${t} element ${e}`;
      pieces.push({ address, data: bytes.slice(at, at + size), source: label, alt });
      at += size;
    }
    if (at !== targetEnd) throw fail(`target ${t} says ${targetSize} bytes, its ${elements} elements take ${at - (targetEnd - targetSize)}`, targetEnd - targetSize - 8, 'dwTargetSize');
  }
  if (at !== end) throw fail(`${end - at} bytes after the last target`, at);

  return buildImage('dfu', pieces, {
    usbId: { vendorId: suffix.vendorId, productId: suffix.productId, bcdDevice: suffix.bcdDevice },
    targetNames,
  });
}

export interface DfuSeWriteOptions {
  /** Suffix idVendor; default 0x0483 (STMicroelectronics). */
  vendorId?: number;
  /** Suffix idProduct; default 0xDF11 (the ST ROM bootloader in DFU mode). */
  productId?: number;
  /** Suffix bcdDevice; default 0xFFFF, which DFU 1.1 Appendix B defines as "any release". */
  bcdDevice?: number;
  /** Name stored in each target prefix; default "ST..." as ST's and dfu-util's tools write. */
  targetName?: string;
  /** Alt setting for segments that carry none; default 0 (internal flash on the ST ROM). */
  alt?: number;
}

/** The image as a DfuSe file: one target per alt setting, one element per segment. */
export function writeDfuSe(image: Pick<FirmwareImage, 'segments'>, options: DfuSeWriteOptions = {}): Uint8Array {
  const parts = dfuSeParts(image, options);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * writeDfuSe()'s file as the parts to write in order: prefixes and headers, and the segments' own
 * data as views (no copy), so a big image can be written out without a second copy in memory.
 */
export function dfuSeParts(image: Pick<FirmwareImage, 'segments'>, options: DfuSeWriteOptions = {}): Uint8Array[] {
  const name = options.targetName ?? 'ST...';
  if (name.length > 254) throw new BootBridgeError('BAD_ARGUMENT', 'DfuSe target name is longer than 254 characters', { field: 'targetName' });
  const byAlt = new Map<number, FirmwareImage['segments']>();
  for (const s of image.segments) {
    const alt = s.alt ?? options.alt ?? 0;
    if (!Number.isInteger(alt) || alt < 0 || alt > 255) throw new BootBridgeError('BAD_ARGUMENT', `alt setting ${alt} does not fit a byte`, { alt });
    const list = byAlt.get(alt) ?? [];
    list.push(s);
    byAlt.set(alt, list);
  }
  if (byAlt.size > 255) throw new BootBridgeError('BAD_ARGUMENT', 'a DfuSe file holds at most 255 targets');

  let total = PREFIX_SIZE + DFU_SUFFIX_SIZE;
  for (const segs of byAlt.values()) total += TARGET_PREFIX_SIZE + segs.reduce((n, s) => n + ELEMENT_HEADER_SIZE + s.data.length, 0);
  const parts: Uint8Array[] = [];
  const header = (size: number) => {
    const bytes = new Uint8Array(size);
    parts.push(bytes);
    return { bytes, view: new DataView(bytes.buffer), ascii: (at: number, s: string) => {
      for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i) & 0xff;
    } };
  };

  const prefix = header(PREFIX_SIZE);
  prefix.ascii(0, 'DfuSe');
  prefix.bytes[5] = 1;
  prefix.view.setUint32(6, total, true); // whole file, suffix included, as dfuse-pack writes it
  prefix.bytes[10] = byAlt.size;
  for (const [alt, segs] of [...byAlt].sort((a, b) => a[0] - b[0])) {
    const targetSize = segs.reduce((n, s) => n + ELEMENT_HEADER_SIZE + s.data.length, 0);
    const target = header(TARGET_PREFIX_SIZE);
    target.ascii(0, 'Target');
    target.bytes[6] = alt;
    target.view.setUint32(7, 1, true);
    target.ascii(11, name);
    target.view.setUint32(266, targetSize, true);
    target.view.setUint32(270, segs.length, true);
    for (const s of segs) {
      const element = header(ELEMENT_HEADER_SIZE);
      element.view.setUint32(0, s.address, true);
      element.view.setUint32(4, s.data.length, true);
      parts.push(s.data);
    }
  }
  const suffix = header(DFU_SUFFIX_SIZE);
  suffix.view.setUint16(0, options.bcdDevice ?? 0xffff, true);
  suffix.view.setUint16(2, options.productId ?? 0xdf11, true);
  suffix.view.setUint16(4, options.vendorId ?? 0x0483, true);
  suffix.view.setUint16(6, BCD_DFUSE, true);
  suffix.ascii(8, 'UFD');
  suffix.bytes[11] = DFU_SUFFIX_SIZE;
  // dwCRC covers every byte before it (DFU 1.1 Appendix B), taken part by part.
  let reg = 0xffffffff;
  for (const p of parts) reg = crc32Update(reg, p === suffix.bytes ? p.subarray(0, 12) : p);
  suffix.view.setUint32(12, reg >>> 0, true);
  return parts;
}
