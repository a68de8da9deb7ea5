// Shared machinery of the text record parsers (Intel HEX, S-record): a hex-digit lookup table and a
// collector that decodes record data straight into one arena, one contiguous run per address range,
// so a 90 MB file costs one allocation about the size of the image and no per-record objects.

import type { Piece } from './image';

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

  /** `capacity`: the expected total of data bytes (exact when a pre-scan counted them). */
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

  // Only when the pre-scan's count was wrong (malformed spacing): move the current run to a bigger arena;
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
