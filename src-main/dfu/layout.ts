// DfuSe memory-layout strings (UM0424 / AN3156): each alt setting's iInterface string describes one
// memory, e.g. "@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg". After the name come one or
// more address blocks "/0xADDR/runs"; each run is "count*size" with a unit (' ' or B = bytes, K, M) and
// a type letter a–g whose low three bits mean readable (1), erasable (2), writable (4).
// dfu-util's dfuse_mem.c accepts the same grammar (several blocks, odd spacing); so do we.

import { BootBridgeError } from '../../shared/errors.js';
import { hexUpper } from '../../shared/format.js';

export interface Sector {
  /** Absolute start address. */
  start: number;
  size: number;
  readable: boolean;
  erasable: boolean;
  writable: boolean;
}

export interface MemoryBlock {
  start: number;
  /** Sum of all sector sizes in this block. */
  size: number;
  sectors: Sector[];
}

export interface MemoryLayout {
  /** The name as written, trimmed ("Internal Flash"). */
  name: string;
  /** One block per "/0xADDR/…" part; G4 option bytes have two. */
  blocks: MemoryBlock[];
}

/** A 256 MB NOR in 4 KB sectors has 65,536; no memory an STM32 serves has more. */
const MAX_SECTORS = 65536;

const UNIT: Record<string, number> = { ' ': 1, B: 1, b: 1, K: 1024, k: 1024, M: 1024 * 1024, m: 1024 * 1024 };

function fail(text: string, why: string): never {
  throw new BootBridgeError('LAYOUT_INVALID', `Invalid memory layout "${text}": ${why}`);
}

/** Parses one alt-setting string. Throws LAYOUT_INVALID with the reason. */
export function parseLayout(text: string): MemoryLayout {
  if (!text.startsWith('@')) fail(text, 'it does not start with "@"');
  const parts = text.slice(1).split('/');
  const name = (parts[0] ?? '').trim();
  if (parts.length < 3) fail(text, 'expected "@name/0xADDRESS/count*size…"');
  const blocks: MemoryBlock[] = [];
  let total = 0;
  for (let i = 1; i < parts.length; i += 2) {
    const addrText = (parts[i] ?? '').trim();
    const runsText = parts[i + 1];
    if (addrText === '' && runsText === undefined) break; // trailing slash
    if (!/^0[xX][0-9a-fA-F]{1,8}$/.test(addrText)) fail(text, `"${addrText}" is not a hexadecimal address`);
    if (runsText === undefined || runsText.trim() === '') fail(text, `no sectors after address ${addrText}`);
    const start = parseInt(addrText, 16);
    const sectors: Sector[] = [];
    let at = start;
    for (const run of runsText.split(',')) {
      const m = /^\s*(\d+)\s*\*\s*(\d+)\s*([ BbKkMm]?)\s*([a-gA-G])\s*$/.exec(run);
      if (!m) fail(text, `"${run.trim()}" is not "count*size" followed by a unit and a type letter a–g`);
      const count = parseInt(m[1]!, 10);
      const unit = UNIT[m[3] === '' ? ' ' : m[3]!]!;
      const size = parseInt(m[2]!, 10) * unit;
      const type = (m[4]!.toLowerCase().charCodeAt(0) - 0x60) & 7; // 'a' = 1 … 'g' = 7
      if (count === 0 || size === 0) fail(text, `"${run.trim()}" describes no memory`);
      if (count > MAX_SECTORS) fail(text, `"${run.trim()}" has more sectors than any device`);
      // Every sector becomes an object: a string from a device or a manifest must not make millions.
      total += count;
      if (total > MAX_SECTORS) fail(text, `it describes more than ${MAX_SECTORS} sectors, more than any device`);
      for (let n = 0; n < count; n++) {
        if (at + size > 0x1_0000_0000) fail(text, 'the memory runs past the end of the 32-bit address space');
        sectors.push({ start: at, size, readable: (type & 1) !== 0, erasable: (type & 2) !== 0, writable: (type & 4) !== 0 });
        at += size;
      }
    }
    blocks.push({ start, size: at - start, sectors });
  }
  if (blocks.length === 0) fail(text, 'no address block');
  return { name, blocks };
}

/** Formats a layout back into DfuSe notation (runs of equal sectors collapsed). */
export function formatLayout(layout: MemoryLayout): string {
  const blocks = layout.blocks.map((b) => {
    const runs: string[] = [];
    let i = 0;
    while (i < b.sectors.length) {
      const s = b.sectors[i]!;
      let n = 1;
      while (i + n < b.sectors.length && sameKind(b.sectors[i + n]!, s)) n++;
      runs.push(dfuseRun(n, s.size, typeLetter(s)));
      i += n;
    }
    return `/${hexUpper(b.start, 8)}/${runs.join(',')}`;
  });
  return `@${layout.name}${blocks.join('')}`;
}

function sameKind(a: Sector, b: Sector): boolean {
  return a.size === b.size && a.readable === b.readable && a.erasable === b.erasable && a.writable === b.writable;
}

/**
 * One run in DfuSe notation as ST's ROMs write it: two-digit count, three-digit size with its unit
 * (M, K, or a space for bytes), then the type letter: dfuseRun(4, 32768, 'g') → "04*032Kg".
 */
export function dfuseRun(count: number, size: number, letter: string): string {
  const [n, unit] = size % (1024 * 1024) === 0 ? [size / (1024 * 1024), 'M'] : size % 1024 === 0 ? [size / 1024, 'K'] : [size, ' '];
  return `${String(count).padStart(2, '0')}*${String(n).padStart(3, '0')}${unit}${letter}`;
}

function typeLetter(s: Sector): string {
  const bits = (s.readable ? 1 : 0) | (s.erasable ? 2 : 0) | (s.writable ? 4 : 0);
  return bits === 0 ? 'a' : String.fromCharCode(0x60 + bits);
}

/** True when [start, start+length) lies inside one block of the layout. */
export function layoutCovers(layout: MemoryLayout, start: number, length: number): boolean {
  return layout.blocks.some((b) => start >= b.start && start + length <= b.start + b.size);
}
