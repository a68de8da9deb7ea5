// Reading files at the edge, bounded and refusing what is not a regular file (FIFOs, devices,
// folders): readBytes() for small files read whole, readFirmwareFile() for firmware, parsed as it is
// read so a big HEX file never sits in memory beside its image.

import { close, fstat, fstatSync, open, openSync, read, readSync, closeSync, constants as fsc, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { BootBridgeError } from '../../shared/errors.js';
import { MAX_FILE_BYTES } from '../../shared/contract.js';
import { detectFormat, parseFirmwareStream, type FirmwareImage } from '../firmware/index.js';
import { elfLayout, isElf, parseElf, type ElfLayout, type FileReader } from '../firmware/elf.js';

/** What a path names when it is not a regular file, in words. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function openError(path: string, e: unknown): BootBridgeError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message;
  return new BootBridgeError('FILE_ERROR', `Cannot read ${path}: ${why}`, { file: path }, { cause: e });
}

function checkRegular(path: string, st: Stats, maxBytes: number): void {
  if (!st.isFile()) throw new BootBridgeError('FILE_ERROR', `Cannot read ${path}: it is ${kindOf(st)}, not a regular file`, { file: path });
  if (st.size > maxBytes) {
    throw new BootBridgeError('FILE_ERROR', `Cannot read ${path}: it is ${st.size} bytes, more than the ${maxBytes} bytes BootBridge opens`, { file: path, size: st.size, limit: maxBytes });
  }
}

/**
 * Opens `path` for reading without blocking on a FIFO, and checks from the descriptor that it is a
 * regular file within `maxBytes`; the descriptor is closed again when it is not.
 */
function openRegular(path: string, maxBytes: number): { fd: number; st: Stats } {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const st = fstatSync(fd);
    checkRegular(path, st, maxBytes);
    return { fd, st };
  } catch (e) {
    closeSync(fd);
    if (e instanceof BootBridgeError) throw e;
    throw new BootBridgeError('FILE_ERROR', `Cannot read ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  }
}

/**
 * Reads a whole regular file, at most `maxBytes` (the contract's file limit by default). The file is
 * opened without blocking (a FIFO with no writer would hang a blocking open) and checked on the open
 * descriptor before a byte is read: FIFOs, devices (/dev/zero), sockets and folders are refused at
 * once, and so is a file over the limit. Errors name the path and never quote the contents.
 */
export function readBytes(path: string, maxBytes = MAX_FILE_BYTES): Uint8Array {
  const { fd, st } = openRegular(path, maxBytes);
  try {
    const out = new Uint8Array(st.size);
    let got = 0;
    while (got < out.length) {
      const n = readSync(fd, out, got, out.length - got, got);
      if (n === 0) break; // the file shrank while read: what is there
      got += n;
    }
    return got === out.length ? out : out.subarray(0, got);
  } catch (e) {
    if (e instanceof BootBridgeError) throw e;
    throw new BootBridgeError('FILE_ERROR', `Cannot read ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  } finally {
    closeSync(fd);
  }
}

/**
 * HEX and S-record files are read as they are parsed, so only the image is held: a file up to three
 * times the limit is accepted, which covers an image of the limit written as 16-byte records
 * (2.75 characters per byte as Intel HEX, 2.94 as S3 records).
 */
const TEXT_FILE_LIMIT = 3 * MAX_FILE_BYTES;
/** Bytes per read: two buffers of it are in use, one being parsed while the next is read. */
const READ_CHUNK = 2 << 20;

/**
 * A callback of node:fs as a promise. The callback API rather than node:fs/promises, which loads
 * streams and readline with it: a conversion's start-up counts against objcopy's.
 */
function promised<T>(call: (done: (e: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((e, value) => (e ? reject(e) : resolve(value))));
}

const readAt = (fd: number, buffer: Uint8Array, length: number, position: number) => promised<number>((done) => read(fd, buffer, 0, length, position, done));

/** The file's bytes in order, read ahead one chunk; each chunk is valid until the next is asked for. */
async function* fileChunks(path: string, fd: number, maxBytes: number): AsyncGenerator<Uint8Array> {
  const buffers = [new Uint8Array(READ_CHUNK), new Uint8Array(READ_CHUNK)];
  let at = 0;
  let which = 0;
  let pending = readAt(fd, buffers[0]!, READ_CHUNK, 0);
  try {
    for (;;) {
      const bytesRead = await pending;
      if (bytesRead === 0) return;
      const chunk = buffers[which]!.subarray(0, bytesRead);
      at += bytesRead;
      if (at > maxBytes) throw new BootBridgeError('FILE_ERROR', `Cannot read ${path}: it grew past the ${maxBytes} bytes BootBridge opens`, { file: path, limit: maxBytes });
      which ^= 1;
      pending = readAt(fd, buffers[which]!, READ_CHUNK, at);
      yield chunk;
    }
  } finally {
    // Abandoned (a parse error): the read in flight must end before the file is closed, and not reject unheard.
    await pending.catch(() => undefined);
  }
}

/** Fills `out` from the file at `offset`; a file shorter than its headers said is an error. */
function readFully(path: string, fd: number, out: Uint8Array, offset: number): void {
  let got = 0;
  while (got < out.length) {
    const n = readSync(fd, out, got, out.length - got, offset + got);
    if (n === 0) throw new BootBridgeError('FILE_ERROR', `Cannot read ${path}: it shrank while it was read`, { file: path });
    got += n;
  }
}

/** Ranges of an open file, read when asked: what parseElf needs to skip the debug sections. */
function fileReader(path: string, fd: number, size: number): FileReader {
  return {
    size,
    read(offset, length) {
      // Not zero-filled first: every byte is read over (a short read throws).
      const raw = Buffer.allocUnsafeSlow(length);
      const out = new Uint8Array(raw.buffer, raw.byteOffset, length);
      readFully(path, fd, out, offset);
      return out;
    },
  };
}

/** An ELF file opened by its headers: what it programs, and its bytes copied out range by range. */
export interface OpenElf {
  layout: ElfLayout;
  /**
   * Hands the file's `length` bytes at `offset` to `write` in pieces, through one small buffer reused
   * throughout: copying a 32 MiB image this way touches no fresh memory, where reading it whole first
   * costs a page fault per 4 KiB. A piece is valid until `write` returns.
   */
  copy(offset: number, length: number, write: (piece: Uint8Array) => void): void;
  close(): void;
}

/** Bytes per piece of OpenElf.copy: small enough to stay in the processor's cache between read and write. */
const COPY_CHUNK = 256 << 10;

/**
 * Opens a file and, when it is an ELF, reads and checks its headers only (the layout): undefined,
 * the file closed, when it is not one. Synchronous, for the command line, where nothing else runs.
 */
export function openElfFile(path: string): OpenElf | undefined {
  const { fd, st } = openRegular(path, TEXT_FILE_LIMIT);
  try {
    const head = new Uint8Array(Math.min(st.size, 4));
    readFully(path, fd, head, 0);
    if (!isElf(head)) {
      closeSync(fd);
      return undefined;
    }
    checkRegular(path, st, MAX_FILE_BYTES);
    const layout = elfLayout(fileReader(path, fd, st.size));
    const buffer = new Uint8Array(COPY_CHUNK);
    return {
      layout,
      copy(offset, length, write) {
        for (let done = 0; done < length; ) {
          const piece = buffer.subarray(0, Math.min(COPY_CHUNK, length - done));
          readFully(path, fd, piece, offset + done);
          write(piece);
          done += piece.length;
        }
      },
      close: () => closeSync(fd),
    };
  } catch (e) {
    closeSync(fd);
    if (e instanceof BootBridgeError && e.context.file === undefined) e.context.file = path;
    throw e;
  }
}

/**
 * Reads and parses a firmware file without holding its text and its image together: HEX and S-record
 * are parsed chunk by chunk as they are read, ELF by offsets (headers, then the loaded bytes), the
 * other formats whole. `onChunk` sees every byte of the file in order (for a hash).
 */
export async function readFirmwareFile(path: string, options: { baseAddress?: number } = {}, onChunk?: (chunk: Uint8Array) => void): Promise<{ image: FirmwareImage; fileSize: number }> {
  let fd: number;
  try {
    fd = await promised<number>((done) => open(path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0), done));
  } catch (e) {
    throw openError(path, e);
  }
  const name = basename(path);
  try {
    const st = await promised<Stats>((done) => fstat(fd, done));
    checkRegular(path, st, TEXT_FILE_LIMIT);
    const head = new Uint8Array(Math.min(st.size, 128));
    await readAt(fd, head, head.length, 0);
    const format = detectFormat(name, head);
    let image: FirmwareImage;
    if (format === 'elf') {
      checkRegular(path, st, MAX_FILE_BYTES);
      image = parseElf(fileReader(path, fd, st.size));
      if (onChunk) for await (const chunk of fileChunks(path, fd, MAX_FILE_BYTES)) onChunk(chunk);
    } else {
      if (format !== 'hex' && format !== 'srec') checkRegular(path, st, MAX_FILE_BYTES);
      const limit = format === 'hex' || format === 'srec' ? TEXT_FILE_LIMIT : MAX_FILE_BYTES;
      const chunks = fileChunks(path, fd, limit);
      const seen = onChunk ? tap(chunks, onChunk) : chunks;
      image = await parseFirmwareStream(name, seen, { ...options, size: st.size });
    }
    return { image, fileSize: st.size };
  } catch (e) {
    if (e instanceof BootBridgeError && e.context.file === undefined) e.context.file = path;
    throw e;
  } finally {
    await promised<void>((done) => close(fd, (e) => done(e, undefined)));
  }
}

async function* tap(chunks: AsyncIterable<Uint8Array>, see: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    see(chunk);
    yield chunk;
  }
}
