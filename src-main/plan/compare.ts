// Which flash sectors the engine compares before erasing and writing them ("flash only what must
// change"). The plan decides by its own cost model: a comparison is planned where it costs less than
// what an equal sector saves (its erase and its writes). Through a loader with the CRC32 extension
// the comparison is one CRC per sector; otherwise the sector is read back (the ROM has no CRC: reading
// 2 KB back costs a few ms, writing it costs the ROM's ≈100 ms poll timeout, timing.md).

import type { Sector } from '../dfu/layout.js';
import type { TimeModel } from './estimate.js';
import type { CompareOp, EraseOp, PlanRegion, Via, WriteOp } from './types.js';


export interface ComparePlacement {
  start: number;
  end: number;
  region: PlanRegion;
  sectors: Sector[];
}

export interface CompareInputs<P extends ComparePlacement> {
  via: Via;
  placed: readonly P[];
  erases: readonly EraseOp[];
  writes: readonly WriteOp[];
  /** Transfer size of the device doing the work (read-back blocks). */
  transferSize: number;
  /** The loader implements the 0xB0 CRC32 extension (never true through the ROM). */
  crc32: boolean;
  /** Flash that reads 0xFF after erase: internal flash through either, any erasable memory through a loader. */
  erasedReadsFF: (p: P) => boolean;
  skipUnchanged: boolean;
  preserve: boolean;
  time: TimeModel;
}

/** One CompareOp per erasable sector the image touches where comparing is worth it. */
export function compareOps<P extends ComparePlacement>(i: CompareInputs<P>): CompareOp[] {
  if (!i.skipUnchanged && !i.preserve) return [];
  const bySector = new Map<string, { region: PlanRegion; sector: Sector; covered: number }>();
  for (const p of i.placed) {
    if (p.region.kind !== 'memory' || !i.erasedReadsFF(p)) continue;
    if (!p.sectors.every((s) => s.erasable && s.readable && s.writable)) continue;
    for (const s of p.sectors) {
      const key = `${p.region.alt}:${s.start}`;
      const entry = bySector.get(key) ?? { region: p.region, sector: s, covered: 0 };
      entry.covered += Math.min(p.end, s.start + s.size) - Math.max(p.start, s.start);
      bySector.set(key, entry);
    }
  }
  const out: CompareOp[] = [];
  for (const { region, sector, covered } of [...bySector.values()].sort((a, b) => a.region.alt - b.region.alt || a.sector.start - b.sector.start)) {
    const end = sector.start + sector.size;
    const partial = covered < sector.size;
    const preserve = i.preserve && partial;
    // Without --skip, only a sector whose uncovered bytes are kept is read (for the merge).
    if (!i.skipUnchanged && !preserve) continue;
    const eraseMs = i.erases.filter((e) => e.kind === 'sector' && e.alt === region.alt && e.address === sector.start).reduce((n, e) => n + e.estimatedMs, 0);
    const writeMs = i.writes
      .filter((w) => w.alt === region.alt && w.address < end && w.address + w.length > sector.start)
      .reduce((n, w) => n + (w.estimatedMs * (Math.min(end, w.address + w.length) - Math.max(sector.start, w.address))) / w.length, 0);
    // The uncovered bytes to keep must be read anyway; a CRC cannot give them.
    const method = i.crc32 && !preserve ? 'crc32' : 'read-back';
    const estimatedMs = method === 'crc32' ? i.time.loaderCrcMs(sector.size) : i.time.readBackMs(sector.size, i.transferSize);
    if (!preserve && estimatedMs >= eraseMs + writeMs) continue;
    out.push({
      via: i.via, alt: region.alt, region: region.name, address: sector.start, size: sector.size, method, covered, preserve,
      ...(i.skipUnchanged ? {} : { rewrite: true }),
      estimatedMs, eraseMs, writeMs,
    });
  }
  return out;
}

/**
 * A mass erase the engine may choose instead of sector erases: only where every sector of the memory
 * is compared (the image covers them all, so nothing outside the image is lost) and the mass erase has
 * a time of its own (the ROM's, or the loader manifest's `timing.massEraseMs` for that memory).
 */
export function bulkEraseOp(via: Via, compares: readonly CompareOp[], regions: readonly PlanRegion[], massEraseMs: number | undefined): EraseOp | undefined {
  if (massEraseMs === undefined || compares.length === 0 || compares.some((c) => c.rewrite)) return undefined;
  const alt = compares[0]!.alt;
  if (compares.some((c) => c.alt !== alt)) return undefined;
  const region = regions.find((r) => r.via === via && r.alt === alt && r.kind === 'memory');
  if (!region) return undefined;
  const sectors = region.layout.blocks.flatMap((b) => b.sectors);
  const compared = new Set(compares.map((c) => c.address));
  if (!sectors.every((s) => s.erasable && compared.has(s.start))) return undefined;
  return { via, alt, region: region.name, kind: 'mass', address: region.start, size: region.end - region.start, estimatedMs: massEraseMs };
}
