// Shared machinery of the text record parsers (Intel HEX, S-record): a hex-digit lookup table, a
// collector that decodes record data straight into one arena, one contiguous run per address range,
// and the chunk feeder that lets a file arrive in pieces of any size, so a 750 MB HEX file is never
// held in memory: only the image and the one record a chunk boundary cut in two.

import { BootBridgeError } from '../../shared/errors';
import type { FirmwareImage, Piece } from './image';

/** ASCII code → nibble value; 0x100 marks a byte that is not a hex digit (OR-ing two lookups keeps it). */
export const HEX_VALUE: Uint16Array = (() => {
  const t = new Uint16Array(256).fill(0x100);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** Whitespace allowed between records: CR, LF, space, tab (editors and Windows tools add them). */
export function isLineSpace(b: number): boolean {
  return b === 0x0a || b === 0x0d || b === 0x20 || b === 0x09;
}

/** Collects data records into contiguous runs inside one arena; a run ends when a record does not follow it. */
export class RunCollector {
  readonly pieces: Piece[] = [];
  private arena: Uint8Array;
  private used = 0;
  private runAddress = -1;
  private runOffset = 0;
  private runFirstLine = 0;
  private runLastLine = 0;

  /**
   * `capacity`: the most data bytes expected. An upper bound costs nothing beyond the bytes written:
   * a large typed array is zero pages the operating system maps in only when touched.
   */
  constructor(capacity: number) {
    this.arena = new Uint8Array(Math.max(capacity, 0));
  }

  /** Room for `count` bytes at `address`, returned as the arena and the offset to write them at. */
  reserve(address: number, count: number, line: number): { arena: Uint8Array; at: number } {
    const runLength = this.used - this.runOffset;
    if (this.runAddress < 0 || address !== this.runAddress + runLength) {
      this.endRun();
      this.runAddress = address;
      this.runOffset = this.used;
      this.runFirstLine = line;
    }
    if (this.used + count > this.arena.length) this.grow(count);
    const at = this.used;
    this.used += count;
    this.runLastLine = line;
    return { arena: this.arena, at };
  }

  /** Ends the current run; call at the end of input before reading `pieces`. */
  endRun(): void {
    if (this.runAddress >= 0 && this.used > this.runOffset) {
      const source = this.runFirstLine === this.runLastLine ? `line ${this.runFirstLine}` : `lines ${this.runFirstLine}–${this.runLastLine}`;
      this.pieces.push({ address: this.runAddress, data: this.arena.subarray(this.runOffset, this.used), source });
    }
    this.runAddress = -1;
    this.runOffset = this.used;
  }

  // Only when the input's size was not known up front: move the current run to a bigger arena;
  // finished runs keep their views of the old one.
  private grow(count: number): void {
    const runLength = this.used - this.runOffset;
    const next = new Uint8Array(Math.max(this.arena.length, 1 << 16, runLength + count) * 2);
    next.set(this.arena.subarray(this.runOffset, this.used), 0);
    this.arena = next;
    this.runOffset = 0;
    this.used = runLength;
  }
}

/** A parser fed its input in chunks of any size (a file read piece by piece, a browser stream). */
export interface ChunkParser {
  /** Parses what `chunk` completes; the caller may reuse the chunk's memory once this returns. */
  push(chunk: Uint8Array): void;
  /** The end of input: the image, or the error of a file cut short. */
  end(): FirmwareImage;
}

/** The longest record either format allows (S-record: 4 + 2·255 characters, HEX: 11 + 2·255) and the character after it, rounded up. */
const RECORD_CHARS = 1024;

/** Text bytes that can hold at most this many data bytes: two hex digits each, records' own fields not counted. */
export const dataBound = (textBytes: number): number => Math.ceil(textBytes / 2);

/**
 * The chunk handling both text formats share. A subclass scans whole records from `b[from]` and
 * returns where it stopped: before a record the buffer does not hold whole (unless `final`, where a
 * cut record is an error). What a chunk leaves unfinished is kept and completed from the next one.
 */
export abstract class RecordParser implements ChunkParser {
  protected line = 1;
  protected done = false;
  protected readonly runs: RunCollector;
  /** Input offset of the next byte to scan; `origin` makes buffer indices absolute for error context. */
  private offset = 0;
  protected origin = 0;
  private carry: Uint8Array | undefined;

  /** `totalBytes`: the input's size when known, which bounds the image and sizes the arena once. */
  constructor(totalBytes?: number) {
    this.runs = new RunCollector(totalBytes === undefined ? 1 << 20 : dataBound(totalBytes));
  }

  protected abstract scan(b: Uint8Array, from: number, final: boolean): number;
  protected abstract image(): FirmwareImage;

  push(chunk: Uint8Array): void {
    if (this.done || chunk.length === 0) return;
    let from = 0;
    const carry = this.carry;
    if (carry) {
      // Finish the cut record in a small buffer: the carried bytes and the head of the new chunk.
      this.carry = undefined;
      const k = Math.min(chunk.length, RECORD_CHARS);
      const head = concatBytes(carry, chunk.subarray(0, k));
      const stop = this.feed(head, 0, false);
      if (this.done) return;
      if (stop < carry.length) {
        this.carry = k === chunk.length ? head.slice(stop) : concatBytes(head.subarray(stop), chunk.subarray(k));
        return;
      }
      from = stop - carry.length;
    }
    const stop = this.feed(chunk, from, false);
    if (!this.done && stop < chunk.length) this.carry = chunk.slice(stop);
  }

  end(): FirmwareImage {
    if (!this.done) {
      this.feed(this.carry ?? new Uint8Array(0), 0, true);
      this.carry = undefined;
    }
    this.runs.endRun();
    return this.image();
  }

  /**
   * Moves past the blanks and line breaks before the next record, counting lines in `line`. Returns
   * where the record starts, or `b.length` when the chunk ends first and more may come; at the end of
   * the last chunk the file lacks its end record, and `noEnd` says so.
   */
  protected nextRecord(b: Uint8Array, pos: number, final: boolean, noEnd: string): number {
    const len = b.length;
    let line = this.line;
    while (pos < len && isLineSpace(b[pos]!)) {
      if (b[pos] === 0x0a) line++;
      pos++;
    }
    this.line = line;
    if (pos >= len && final) throw new BootBridgeError('FIRMWARE_INVALID', noEnd, { line, offset: this.origin + pos });
    return pos;
  }

  private feed(b: Uint8Array, from: number, final: boolean): number {
    this.origin = this.offset - from;
    const stop = this.scan(b, from, final);
    this.offset = this.origin + stop;
    return stop;
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
