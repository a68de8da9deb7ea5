// The memory map as the renderer draws it: each region's blocks with their sectors (positions as
// fractions of the block, so they are drawn to scale), the file's segments overlaid, the sectors a
// plan erases, and every segment that lands in no region with the reason. Pure data, shared so it
// is tested without a DOM.

import type { LayoutView, PlanRegionView, PlanSegment, SegmentView } from './contract.js';
import { formatSize, hex32 } from './format.js';

export interface MapSector {
  index: number;
  start: number;
  size: number;
  /** Position and width as fractions (0–1) of the block. */
  left: number;
  width: number;
  erase: boolean;
  writable: boolean;
  readable: boolean;
  erasable: boolean;
  /** The plan compares this sector with the image before erasing and writing it (skipped when equal). */
  compare: boolean;
  /**
   * What a flash found and did here (FlashResult.sectors): 'unchanged' held the image already and was
   * skipped; 'blank' was erased already and written without an erase; 'rewritten' was erased and written.
   */
  outcome?: 'unchanged' | 'blank' | 'rewritten';
}

export interface MapOverlay {
  /** Index into MemoryMap.segments. */
  segment: number;
  start: number;
  length: number;
  left: number;
  width: number;
}

export interface MapBlock {
  start: number;
  size: number;
  sectors: MapSector[];
  overlays: MapOverlay[];
}

export interface MapRegion {
  key: string;
  via: 'rom' | 'loader';
  alt: number;
  name: string;
  blocks: MapBlock[];
  eraseCount: number;
  eraseBytes: number;
  /** Sectors a flash left alone because they already held the image. */
  skipCount: number;
  skipBytes: number;
}

export interface MapSegment extends SegmentView {
  region?: string;
  via?: 'rom' | 'loader';
  problem?: string;
}

export interface MemoryMap {
  regions: MapRegion[];
  segments: MapSegment[];
  /** Segments (indexes) that lie outside every region or are refused, each with its reason. */
  outside: number[];
}

/** One sector's comparison in a flash (shared/progress.ts SectorOutcome, the fields the map needs). */
export interface MapSectorOutcome {
  region: string;
  address: number;
  found: 'equal' | 'blank' | 'different';
  erased: boolean;
}

export interface MapInput {
  regions: { via: 'rom' | 'loader'; alt: number; name: string; layout: LayoutView; eraseSectors?: number[]; compareSectors?: number[] }[];
  /** What the last flash found in each compared sector: drawn over the plan's intent. */
  outcomes?: MapSectorOutcome[];
  segments: (SegmentView & { region?: string; problem?: string; via?: 'rom' | 'loader' })[];
  /** When true (no plan yet), the sectors any segment touches are marked for erase. */
  inferErase?: boolean;
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}

/** Builds the drawable map. When several regions cover an address, the first listed wins (ROM before loader). */
export function buildMemoryMap(input: MapInput): MemoryMap {
  const segments: MapSegment[] = input.segments.map((s) => ({ ...s }));
  const regions: MapRegion[] = input.regions.map((r) => {
    const erase = new Set(r.eraseSectors ?? []);
    const compare = new Set(r.compareSectors ?? []);
    const outcomes = new Map((input.outcomes ?? []).filter((o) => o.region === r.name).map((o) => [o.address, o]));
    let index = 0;
    const blocks: MapBlock[] = r.layout.blocks.map((b) => {
      const span = Math.max(1, b.size);
      const sectors: MapSector[] = b.sectors.map((s) => {
        const o = outcomes.get(s.start);
        const sector: MapSector = {
          index: index++,
          start: s.start,
          size: s.size,
          left: (s.start - b.start) / span,
          width: s.size / span,
          // Once a flash said what it did, the map shows that; before, what the plan may erase.
          erase: o ? o.erased : erase.has(s.start),
          readable: s.readable,
          writable: s.writable,
          erasable: s.erasable,
          compare: compare.has(s.start) || !!o,
        };
        if (o) sector.outcome = o.found === 'equal' ? 'unchanged' : o.found === 'blank' ? 'blank' : 'rewritten';
        return sector;
      });
      return { start: b.start, size: b.size, sectors, overlays: [] };
    });
    return { key: `${r.via}:${r.alt}:${r.name}`, via: r.via, alt: r.alt, name: r.name, blocks, eraseCount: 0, eraseBytes: 0, skipCount: 0, skipBytes: 0 };
  });

  segments.forEach((seg, i) => {
    let placed = false;
    // A plan says which region (and door) takes the segment; draw it there, else the first that covers it.
    const order = seg.region === undefined ? regions : [...regions.filter((r) => r.name === seg.region && (seg.via === undefined || r.via === seg.via)), ...regions];
    for (const region of order) {
      for (const block of region.blocks) {
        if (!overlaps(seg.address, Math.max(1, seg.length), block.start, block.size)) continue;
        const start = Math.max(seg.address, block.start);
        const end = Math.min(seg.address + seg.length, block.start + block.size);
        const span = Math.max(1, block.size);
        block.overlays.push({ segment: i, start, length: end - start, left: (start - block.start) / span, width: Math.max(0, end - start) / span });
        if (input.inferErase) for (const s of block.sectors) if (s.erasable && overlaps(seg.address, seg.length, s.start, s.size)) s.erase = true;
        if (!placed && seg.region === undefined) {
          seg.region = region.name;
          seg.via = region.via;
        }
        placed = true;
        const fits = seg.address >= block.start && seg.address + seg.length <= block.start + block.size;
        if (!fits && !seg.problem) {
          seg.problem = `runs past the end of ${region.name} (${hex32(block.start)}–${hex32(block.start + block.size - 1)})`;
        } else if (!seg.problem && block.sectors.some((s) => !s.writable && overlaps(seg.address, seg.length, s.start, s.size))) {
          seg.problem = `${region.name} is read-only at this address`;
        }
      }
      if (placed) break;
    }
    if (!placed && !seg.problem) {
      seg.problem = `outside every region: no memory of this device${regions.some((r) => r.via === 'loader') ? ' or its loader' : ''} covers ${hex32(seg.address)}`;
    }
  });

  for (const r of regions) {
    for (const b of r.blocks)
      for (const s of b.sectors) {
        if (s.erase) {
          r.eraseCount++;
          r.eraseBytes += s.size;
        }
        if (s.outcome === 'unchanged') {
          r.skipCount++;
          r.skipBytes += s.size;
        }
      }
  }
  const outside = segments.flatMap((s, i) => (s.problem ? [i] : []));
  return { regions, segments, outside };
}

/** What the hover line says for an address inside a block. */
export function describeAddress(map: MemoryMap, region: MapRegion, block: MapBlock, address: number): string {
  const sector = block.sectors.find((s) => address >= s.start && address < s.start + s.size);
  const parts = [`${region.name}  ${hex32(address)}`];
  if (sector) {
    const did =
      sector.outcome === 'unchanged' ? ' (skipped: already held the image)'
      : sector.outcome === 'blank' ? ' (was blank: written without erase)'
      : sector.outcome === 'rewritten' ? ' (erased and written)'
      : sector.compare ? ' (compared first: skipped if unchanged)'
      : sector.erase ? ' (erased)' : '';
    parts.push(`sector ${sector.index}: ${hex32(sector.start)} ${formatSize(sector.size)}${did}${sector.writable ? '' : ' read-only'}`);
  }
  const ov = block.overlays.find((o) => address >= o.start && address < o.start + o.length);
  const seg = ov ? map.segments[ov.segment] : undefined;
  if (seg) parts.push(`segment ${hex32(seg.address)} ${formatSize(seg.length)}${seg.sources.length ? ' ' + seg.sources.join(', ') : ''}`);
  return parts.join('  ·  ');
}

export type { PlanRegionView, PlanSegment };

// The formatters moved to ./format.js; re-exported while the renderer still imports them from here.
export { formatMs, formatRate, formatSize, hex16, hexDump } from './format.js';
