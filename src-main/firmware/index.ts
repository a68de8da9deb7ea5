// Firmware files in, FirmwareImage out: detectFormat() looks at the bytes first and the name second,
// parseFirmware() reads any supported format, parseFirmwareAsync() does the same while yielding to the
// event loop between chunks of large text files, so a window never freezes, and parseFirmwareStream()
// reads a file as it arrives (chunks from a file or a browser stream), never holding the text and the
// image together. writeDfuSe() exports .dfu.

import { BootBridgeError } from '../../shared/errors';
import { parseBin, parsePlainDfu } from './bin';
import { isDfuSe, parseDfuSe } from './dfuse';
import { isElf, parseElf } from './elf';
import { IntelHexParser } from './ihex';
import type { FirmwareFormat, FirmwareImage } from './image';
import { HEX_VALUE, isLineSpace, type ChunkParser } from './runs';
import { SrecParser } from './srec';

export { buildImage, bytesEqual, imageBounds, imageSize, readImage, sameContent, sliceImage } from './image';
export type { FirmwareFormat, FirmwareImage, ImageExtra, ImageSection, Piece, Segment } from './image';
export { dfuSeParts, writeDfuSe, type DfuSeWriteOptions } from './dfuse';
export { crc32 } from './crc32';

export interface ParseOptions {
  /** Where a raw binary loads; required for .bin, ignored by formats that carry addresses. */
  baseAddress?: number;
  /** Skip detection and read the file as this format. */
  format?: FirmwareFormat;
}

export interface StreamParseOptions extends ParseOptions {
  /** Called after each chunk with input bytes done and total (total is 0 when the size is unknown). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface AsyncParseOptions extends StreamParseOptions {
  /** Input bytes parsed between two yields to the event loop; default 4 MiB. */
  chunkBytes?: number;
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

/** A chunk parser for the text formats; undefined for the binary ones, which are read whole. */
function chunkParser(format: FirmwareFormat, totalBytes: number | undefined): ChunkParser | undefined {
  if (format === 'hex') return new IntelHexParser(totalBytes);
  if (format === 'srec') return new SrecParser(totalBytes);
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
      const parser = chunkParser(format, bytes.length)!;
      parser.push(bytes);
      return parser.end();
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
  const chunk = Math.max(4096, options.chunkBytes ?? 4 << 20);
  async function* slices(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < bytes.length; at += chunk) {
      yield bytes.subarray(at, at + chunk);
      // A macrotask, not a microtask: lets input events and repaints run between chunks.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
  }
  return parseFirmwareStream(name, slices(), { ...options, size: bytes.length });
}

/**
 * Reads a firmware file from its chunks, in order. HEX and S-record are parsed as the chunks arrive:
 * only the image and a record cut by a chunk boundary are kept. ELF, DfuSe and binary files are
 * gathered and read whole (for ELF, see parseElf's reader for reading only the loaded bytes).
 * `size`, when known, is checked and sizes the image once.
 */
export async function parseFirmwareStream(
  name: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: StreamParseOptions & { size?: number } = {},
): Promise<FirmwareImage> {
  const total = options.size ?? 0;
  const cancelled = () => new BootBridgeError('CANCELLED', `Reading ${name} was cancelled`, { file: name });
  let parser: ChunkParser | undefined;
  let format: FirmwareFormat | undefined;
  // The bytes until the format is known (a chunk may be a few bytes), and all of them for the formats read whole.
  const held = new Gather(total);
  let done = 0;
  for await (const chunk of chunks) {
    if (options.signal?.aborted) throw cancelled();
    done += chunk.length;
    if (parser) {
      withFile(name, () => parser!.push(chunk));
    } else {
      held.add(chunk);
      if (!format && (held.length >= DETECT_BYTES || (total > 0 && held.length >= total))) {
        format = withFile(name, () => formatOf(name, held.bytes(), options));
        parser = chunkParser(format, options.size);
        if (parser) withFile(name, () => parser!.push(held.take()));
      }
    }
    options.onProgress?.(done, total);
  }
  if (options.signal?.aborted) throw cancelled();
  if (parser) return withFile(name, () => parser!.end());
  const bytes = held.take();
  return withFile(name, () => parseWhole(format ?? formatOf(name, bytes, options), name, bytes, options));
}

/** Enough of a file's start for detectFormat(): magic numbers, or up to 64 spaces and a record header. */
const DETECT_BYTES = 128;

/** Chunks copied into one buffer, sized once when the total is known (a chunk's memory may be reused by its reader). */
class Gather {
  private buffer: Uint8Array;
  length = 0;

  constructor(expected: number) {
    this.buffer = new Uint8Array(expected > 0 ? expected : DETECT_BYTES);
  }

  add(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.buffer.length) {
      // The file grew while read, or its size was not known.
      const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + chunk.length));
      next.set(this.buffer.subarray(0, this.length));
      this.buffer = next;
    }
    this.buffer.set(chunk, this.length);
    this.length += chunk.length;
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** The bytes, handed over: the gather holds nothing afterwards. */
  take(): Uint8Array {
    const out = this.bytes();
    this.buffer = new Uint8Array(0);
    this.length = 0;
    return out;
  }
}
