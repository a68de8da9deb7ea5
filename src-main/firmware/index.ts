// Firmware files in, FirmwareImage out: detectFormat() looks at the bytes first and the name second,
// parseFirmware() reads any supported format, parseFirmwareAsync() does the same while yielding to the
// event loop between chunks of large text files, so a window never freezes. writeDfuSe() exports .dfu.

import { BootBridgeError } from '../../shared/errors';
import { parseBin, parsePlainDfu } from './bin';
import { isDfuSe, parseDfuSe } from './dfuse';
import { isElf, parseElf } from './elf';
import { IntelHexParser, type StepParser } from './ihex';
import type { FirmwareFormat, FirmwareImage } from './image';
import { HEX_VALUE, isLineSpace } from './runs';
import { SrecParser } from './srec';

export { buildImage, bytesEqual, imageBounds, imageSize, readImage, sameContent, sliceImage } from './image';
export type { FirmwareFormat, FirmwareImage, ImageExtra, ImageSection, Piece, Segment } from './image';
export { writeDfuSe, type DfuSeWriteOptions } from './dfuse';
export { crc32 } from './crc32';

export interface ParseOptions {
  /** Where a raw binary loads; required for .bin, ignored by formats that carry addresses. */
  baseAddress?: number;
  /** Skip detection and read the file as this format. */
  format?: FirmwareFormat;
}

export interface AsyncParseOptions extends ParseOptions {
  /** Called after each chunk with input bytes done and total. */
  onProgress?: (done: number, total: number) => void;
  /** Input bytes parsed between two yields to the event loop; default 4 MiB. */
  chunkBytes?: number;
  signal?: AbortSignal;
}

const EXTENSIONS: Record<string, FirmwareFormat> = {
  elf: 'elf', axf: 'elf', out: 'elf',
  hex: 'hex', ihex: 'hex', ihx: 'hex', h86: 'hex',
  srec: 'srec', s19: 'srec', s28: 'srec', s37: 'srec', mot: 'srec', mhx: 'srec', sx: 'srec',
  bin: 'bin', raw: 'bin',
  dfu: 'dfu',
};

/** True when the text starting at `at` is `n` hex digits. */
function hexDigits(bytes: Uint8Array, at: number, n: number): boolean {
  if (at + n > bytes.length) return false;
  for (let i = at; i < at + n; i++) if (HEX_VALUE[bytes[i]!]! > 0xf) return false;
  return true;
}

/** The format of a file: magic numbers and record syntax first, then the extension; undefined if neither tells. */
export function detectFormat(name: string, bytes: Uint8Array): FirmwareFormat | undefined {
  if (isElf(bytes)) return 'elf';
  if (isDfuSe(bytes)) return 'dfu';
  let at = 0;
  while (at < bytes.length && at < 64 && isLineSpace(bytes[at]!)) at++;
  // ':' + byte count, address and type (8 hex digits); 'S' + type digit + count (2 hex digits) + a 16-bit address.
  if (bytes[at] === 0x3a && hexDigits(bytes, at + 1, 8)) return 'hex';
  if (bytes[at] === 0x53 && bytes[at + 1]! >= 0x30 && bytes[at + 1]! <= 0x39 && hexDigits(bytes, at + 2, 6)) return 'srec';
  const dot = name.lastIndexOf('.');
  const ext = dot >= 0 ? name.slice(dot + 1).toLowerCase() : '';
  return EXTENSIONS[ext];
}

function formatOf(name: string, bytes: Uint8Array, options: ParseOptions): FirmwareFormat {
  const format = options.format ?? detectFormat(name, bytes);
  if (!format) {
    throw new BootBridgeError('FIRMWARE_UNSUPPORTED', `${name}: not ELF, Intel HEX, S-record or DfuSe, and the extension does not say what it is`, {
      file: name,
    });
  }
  return format;
}

function stepParser(format: FirmwareFormat, bytes: Uint8Array): StepParser | undefined {
  if (format === 'hex') return new IntelHexParser(bytes);
  if (format === 'srec') return new SrecParser(bytes);
  return undefined;
}

function parseWhole(format: FirmwareFormat, name: string, bytes: Uint8Array, options: ParseOptions): FirmwareImage {
  switch (format) {
    case 'elf':
      return parseElf(bytes);
    case 'dfu':
      return isDfuSe(bytes) ? parseDfuSe(bytes) : parsePlainDfu(bytes, options.baseAddress, name);
    case 'bin':
      return parseBin(bytes, options.baseAddress, name);
    default: {
      const parser = stepParser(format, bytes)!;
      parser.step(Infinity);
      return parser.finish();
    }
  }
}

function withFile<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof BootBridgeError && e.context.file === undefined) e.context.file = name;
    throw e;
  }
}

/** Reads a firmware file of any supported format. */
export function parseFirmware(name: string, bytes: Uint8Array, options: ParseOptions = {}): FirmwareImage {
  return withFile(name, () => parseWhole(formatOf(name, bytes, options), name, bytes, options));
}

/** parseFirmware() that yields to the event loop every `chunkBytes` of HEX/S-record text and reports progress. */
export async function parseFirmwareAsync(name: string, bytes: Uint8Array, options: AsyncParseOptions = {}): Promise<FirmwareImage> {
  const format = withFile(name, () => formatOf(name, bytes, options));
  const parser = withFile(name, () => stepParser(format, bytes));
  const total = bytes.length;
  if (!parser) {
    const image = withFile(name, () => parseWhole(format, name, bytes, options));
    options.onProgress?.(total, total);
    return image;
  }
  const chunk = Math.max(4096, options.chunkBytes ?? 4 << 20);
  for (;;) {
    if (options.signal?.aborted) throw new BootBridgeError('CANCELLED', `Reading ${name} was cancelled`, { file: name });
    const done = withFile(name, () => parser.step(chunk));
    options.onProgress?.(parser.position, total);
    if (done) break;
    // A macrotask, not a microtask: lets input events and repaints run between chunks.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  return withFile(name, () => parser.finish());
}
