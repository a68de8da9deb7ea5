// The one image model every firmware format reads into: segments placed by load address, sorted,
// adjacent ones merged, never overlapping. Parsers build it with buildImage(), which reports overlaps
// with both sources.

import { BootBridgeError, hex32 } from '../../shared/errors';

export type FirmwareFormat = 'elf' | 'hex' | 'srec' | 'bin' | 'dfu';

export interface Segment {
  /** Load address (where the bytes are stored: p_paddr for ELF). */
  address: number;
  data: Uint8Array;
  /** Where the bytes came from, for display and error messages: section names, record lines, DfuSe target. */
  sources: string[];
  /** DfuSe .dfu only: the alt setting this element targets. */
  alt?: number;
}

/** An ELF section, for display: where it is stored, where it runs, and whether it is programmed. */
export interface ImageSection {
  name: string;
  /** Where the bytes are stored (the LMA); equals runAddress for sections that run where they load. */
  loadAddress: number;
  /** Where the code expects it (sh_addr, the VMA): .data runs in RAM but is stored in flash. */
  runAddress: number;
  size: number;
  /** False for .bss and other NOBITS sections: they take memory at run time but nothing is written. */
  programmed: boolean;
}

export interface FirmwareImage {
  format: FirmwareFormat;
  /** Sorted by address, adjacent merged, no overlaps. */
  segments: Segment[];
  /** Entry point when the format records one (ELF e_entry, HEX type 05, SREC S7/S8/S9). */
  entry?: number;
  /** DfuSe suffix VID/PID when the file has one. */
  usbId?: { vendorId: number; productId: number; bcdDevice: number };
  /** Total of all segment lengths. */
  size: number;
  /** ELF only: allocated sections, programmed or not, in file order. */
  sections?: ImageSection[];
  /** DfuSe only: target names by alt setting. */
  targetNames?: Record<number, string>;
}

/** One run of bytes a parser found, before sorting and merging. */
export interface Piece {
  address: number;
  data: Uint8Array;
  /** Where it came from ("section .text", "line 12", "target 0 element 1"). */
  source: string;
  /** When a parser joined several sources into this piece: all of them, in address order. */
  sources?: string[];
  alt?: number;
}

export type ImageExtra = Partial<Pick<FirmwareImage, 'entry' | 'usbId' | 'sections' | 'targetNames'>>;

const ADDRESS_LIMIT = 0x1_0000_0000;

/**
 * The one place that turns parser output into a FirmwareImage: drops empty pieces, sorts by address,
 * rejects overlaps naming both sources, and merges pieces that touch (same alt setting only).
 */
export function buildImage(format: FirmwareFormat, pieces: readonly Piece[], extra: ImageExtra = {}): FirmwareImage {
  const sorted = pieces.filter((p) => p.data.length > 0).sort((a, b) => a.address - b.address);
  const segments: Segment[] = [];
  // Pieces waiting to be joined into the current segment; copied once when the run ends.
  let run: Piece[] = [];
  let runEnd = 0;

  const flush = () => {
    const first = run[0];
    if (!first) return;
    const data = run.length === 1 ? first.data : concat(run.map((p) => p.data), runEnd - first.address);
    const sources = run.length === 1 && !first.sources ? [first.source] : distinctSources(run);
    const seg: Segment = { address: first.address, data, sources };
    if (first.alt !== undefined) seg.alt = first.alt;
    segments.push(seg);
    run = [];
  };

  let prev: Piece | undefined;
  for (const p of sorted) {
    const end = p.address + p.data.length;
    if (p.address < 0 || end > ADDRESS_LIMIT || !Number.isInteger(p.address)) {
      throw new BootBridgeError('FIRMWARE_INVALID', `${p.source} does not fit the 32-bit address space`, {
        address: p.address,
        length: p.data.length,
        segment: p.source,
      });
    }
    if (prev && p.address < runEnd && run.length > 0 && p.alt === run[0]?.alt) {
      // Bytes claimed twice. Identical bytes are one claim (objcopy keeps them, and a HEX file may
      // repeat a record); different bytes are an error naming both sources.
      const clash = firstDifference(run, p);
      if (clash === undefined) {
        if (end <= runEnd) continue;
        const rest: Piece = { ...p, address: runEnd, data: p.data.subarray(runEnd - p.address) };
        run.push(rest);
        runEnd = end;
        prev = rest;
        continue;
      }
      throw new BootBridgeError(
        'FIRMWARE_OVERLAP',
        `${clash.source} (${hex32(clash.address)}–${hex32(clash.address + clash.data.length - 1)}) and ${p.source} (${hex32(p.address)}–${hex32(end - 1)}) ` +
          `hold different bytes at ${hex32(clash.at)}: the image claims the same flash twice`,
        { address: clash.at, length: Math.min(end, runEnd) - p.address, segment: p.source, other: clash.source },
      );
    }
    if (prev && p.address < prev.address + prev.data.length) {
      throw new BootBridgeError(
        'FIRMWARE_OVERLAP',
        `${prev.source} (${hex32(prev.address)}–${hex32(prev.address + prev.data.length - 1)}) overlaps ` +
          `${p.source} (${hex32(p.address)}–${hex32(end - 1)})`,
        { address: p.address, length: prev.address + prev.data.length - p.address, segment: p.source, other: prev.source },
      );
    }
    if (run.length > 0 && (p.address !== runEnd || p.alt !== run[0]?.alt)) flush();
    run.push(p);
    runEnd = end;
    prev = p;
  }
  flush();

  const image: FirmwareImage = { format, segments, size: segments.reduce((n, s) => n + s.data.length, 0) };
  if (extra.entry !== undefined) image.entry = extra.entry >>> 0;
  if (extra.usbId) image.usbId = extra.usbId;
  if (extra.sections) image.sections = extra.sections;
  if (extra.targetNames) image.targetNames = extra.targetNames;
  return image;
}

/** Sources of a run in first-seen order, at most MAX_SOURCES of them then a count (a sparse HEX file has a million lines). */
const MAX_SOURCES = 16;
function distinctSources(run: Piece[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of run) {
    for (const source of p.sources ?? [p.source]) {
      if (seen.has(source)) continue;
      seen.add(source);
      if (out.length < MAX_SOURCES) out.push(source);
    }
  }
  if (seen.size > MAX_SOURCES) out.push(`${seen.size - MAX_SOURCES} more`);
  return out;
}

/** Where `p` differs from the run's bytes it overlaps: the run's piece and the address; undefined when identical. */
function firstDifference(run: Piece[], p: Piece): { source: string; address: number; data: Uint8Array; at: number } | undefined {
  const end = p.address + p.data.length;
  // The run's pieces are contiguous and sorted: walk back from the last one over the overlap only.
  for (let k = run.length - 1; k >= 0; k--) {
    const q = run[k]!;
    const qEnd = q.address + q.data.length;
    if (qEnd <= p.address) break;
    const from = Math.max(q.address, p.address);
    const to = Math.min(qEnd, end);
    for (let a = from; a < to; a++) {
      if (q.data[a - q.address] !== p.data[a - p.address]) return { source: q.source, address: q.address, data: q.data, at: a };
    }
  }
  return undefined;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Total bytes the image programs. */
export function imageSize(image: Pick<FirmwareImage, 'segments'>): number {
  return image.segments.reduce((n, s) => n + s.data.length, 0);
}

/** Lowest address and one past the highest, or undefined for an empty image. */
export function imageBounds(image: Pick<FirmwareImage, 'segments'>): { start: number; end: number } | undefined {
  const first = image.segments[0];
  const last = image.segments[image.segments.length - 1];
  if (!first || !last) return undefined;
  return { start: first.address, end: last.address + last.data.length };
}

/** The parts of the segments that fall in [start, end); data are views, not copies. */
export function sliceImage(image: Pick<FirmwareImage, 'segments'>, start: number, end: number): Segment[] {
  const out: Segment[] = [];
  for (const s of image.segments) {
    const a = Math.max(start, s.address);
    const b = Math.min(end, s.address + s.data.length);
    if (a >= b) continue;
    const part: Segment = { address: a, data: s.data.subarray(a - s.address, b - s.address), sources: s.sources };
    if (s.alt !== undefined) part.alt = s.alt;
    out.push(part);
  }
  return out;
}

/** The bytes of [address, address+length), with `fill` where no segment has data (erased flash is 0xFF). */
export function readImage(image: Pick<FirmwareImage, 'segments'>, address: number, length: number, fill = 0xff): Uint8Array {
  const out = new Uint8Array(length).fill(fill);
  for (const s of sliceImage(image, address, address + length)) out.set(s.data, s.address - address);
  return out;
}

/** True when both images place the same bytes at the same addresses (format and sources ignored). */
export function sameContent(a: Pick<FirmwareImage, 'segments'>, b: Pick<FirmwareImage, 'segments'>): boolean {
  if (a.segments.length !== b.segments.length) return false;
  return a.segments.every((s, i) => {
    const t = b.segments[i];
    return !!t && t.address === s.address && bytesEqual(s.data, t.data);
  });
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
