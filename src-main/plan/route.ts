// The router: which memory holds an address range, and who can reach it — the ROM bootloader (its alt
// settings, and the chip's RAM through alt 0) or the loader (staged, or already running). Planning a
// flash, a read or an erase asks here, and nowhere else:
//
//   const r = routeRange(target, 0x9000_0000, 4096);
//   if (r.issue) … // OUTSIDE_REGIONS, PAST_REGION_END or NEEDS_ROM, with its remedy code
//   else r.route.via, r.route.alt, r.route.region, r.route.sectors, r.route.permissions
//
// The simulated board's own memory map (sim/board.ts) is the device, not the host: it decides what a
// chip accepts, this decides what the host asks of it.

import { hex32 } from '../../shared/errors.js';
import type { MemoryBlock, MemoryLayout, Sector } from '../dfu/layout.js';
import type { ChipInfo } from '../devices/chips.js';
import type { PlanIssue, PlanRegion, PlanTarget, RegionRef, Via } from './types.js';

const FLASH_BASE_FALLBACK = 0x0800_0000;

/** What every sector of a routed range allows (DfuSe type letter bits, DESIGN.md). */
export interface RangePermissions {
  readable: boolean;
  writable: boolean;
  erasable: boolean;
}

export interface RangeRoute {
  via: Via;
  alt: number;
  region: PlanRegion;
  /** The sectors of the block holding `address` that the range touches, in address order. */
  sectors: Sector[];
  permissions: RangePermissions;
  /** Exclusive end of the contiguous block holding `address`: the most a range from there can reach. */
  limit: number;
}

/**
 * `route` when a memory holds the start address; `issue` when the range cannot be reached as asked
 * (then `route`, when present, names the memory it lands in).
 */
export interface Routed {
  route?: RangeRoute;
  issue?: PlanIssue;
}

export interface RouteOptions {
  /**
   * Who takes an address both the ROM and the loader serve (the internal flash, when the loader serves
   * it too). Default: the loader when the board is already running it, else the ROM.
   */
  prefer?: Via;
  /** Only this side's memories (the alt a leave selects on the device it is sent to). */
  via?: Via;
  /** The alt setting a DfuSe file element names: honoured when that ROM memory holds the address. */
  alt?: number | undefined;
  /** The chip's RAM, written through the ROM's alt 0 (default true; reads and erases leave it out). */
  ram?: boolean;
  /** The range as the message names it ("Segment 2 (.qspi) at …"); its addresses by default. */
  label?: { toString(): string };
}

/** The memories a target offers, by who serves them. */
export interface TargetRegions {
  /** The ROM's alt settings, then the chip's RAM as the ROM writes it. */
  rom: PlanRegion[];
  loader: PlanRegion[];
}

const regionCache = new WeakMap<PlanTarget, TargetRegions>();

/** The regions of a target, computed once per target object (a plan routes every segment of an image). */
export function targetRegions(target: PlanTarget): TargetRegions {
  let out = regionCache.get(target);
  if (!out) {
    out = {
      rom: [...target.memories.map((m) => memoryRegion('rom', m.alt, m.layout)), ...ramRegions(target.chip)],
      loader: (target.loader?.memories ?? []).map((m) => memoryRegion('loader', m.alt, m.layout)),
    };
    regionCache.set(target, out);
  }
  return out;
}

/** Which memory holds [address, address+length) and who reaches it, or the issue that says why nobody can. */
export function routeRange(target: PlanTarget, address: number, length: number, options: RouteOptions = {}): Routed {
  const all = targetRegions(target);
  const rom = options.via === 'loader' ? [] : options.ram === false ? all.rom.filter((r) => r.kind === 'memory') : all.rom;
  const loader = options.via === 'rom' ? [] : all.loader;
  const prefer = options.prefer ?? (target.loaderRunning ? 'loader' : 'rom');
  const end = address + length;
  const label = options.label ?? span(address, end);
  const region = chooseRegion(address, options.alt, rom, loader, prefer);
  if (!region) return { issue: outside(target, label, address, end, [...rom, ...loader]) };

  const block = blockAt(region.layout, address)!;
  const limit = block.start + block.size;
  const sectors = sectorsIn(block.sectors, address, Math.min(end, limit));
  const route: RangeRoute = { via: region.via, alt: region.alt, region, sectors, limit, permissions: permissionsOf(sectors) };
  if (end > limit) {
    return {
      route,
      issue: {
        code: 'PAST_REGION_END',
        message: `${label} runs ${end - limit} bytes past the end of ${region.name} (${span(block.start, limit)})`,
        range: { start: address, end }, nearest: ref(region),
      },
    };
  }
  if (region.via === 'rom' && target.loaderRunning) {
    const issue = romUnreachable(`${label} lands in ${region.name}, which only the ROM bootloader serves`, target.loader?.name);
    return { route, issue: { ...issue, range: { start: address, end }, nearest: ref(region) } };
  }
  return { route };
}

/**
 * The one rule for a board running its loader: the loader cannot hand the board back to the ROM
 * bootloader over USB; only a reset with BOOT0 held does (docs/loader-protocol.md §1). `subject` says
 * what needs the ROM; the remedy ('reset-to-rom') says what to do, in each door's words.
 */
export function romUnreachable(subject: string, loaderName: string | undefined): PlanIssue {
  const loader = loaderName !== undefined ? `loader "${loaderName}"` : 'its loader';
  return { code: 'NEEDS_ROM', message: `${subject}, and the board is running ${loader}.`, remedy: 'reset-to-rom' };
}

function outside(target: PlanTarget, label: { toString(): string }, start: number, end: number, regions: PlanRegion[]): PlanIssue {
  const near = nearestRegion(start, end, regions);
  // Named in words only when it is near enough to suggest a wrong link address (within its own size);
  // "nearest: Device Feature" for a QSPI address would send the reader the wrong way.
  const close = near !== undefined && gap(start, end, near) < near.end - near.start;
  const nearText = near && close ? ` (nearest: ${near.name} ${span(near.start, near.end)}, alt ${near.alt}${near.via === 'loader' ? ' of the loader' : ''})` : '';
  const message = target.loader
    ? `${label} lies outside every memory of the ROM bootloader and of loader "${target.loader.name}"${nearText}: the link address is wrong, or another loader serves it.`
    : `${label} lies outside every memory the ROM bootloader serves${nearText}: the ROM cannot reach it.`;
  return { code: 'OUTSIDE_REGIONS', message, range: { start, end }, remedy: 'choose-loader', ...(near ? { nearest: ref(near) } : {}) };
}

// ------------------------------------------------------------------------------------------------
// Regions

function memoryRegion(via: Via, alt: number, layout: MemoryLayout): PlanRegion {
  let start = Infinity;
  let end = -Infinity;
  for (const b of layout.blocks) {
    start = Math.min(start, b.start);
    end = Math.max(end, b.start + b.size);
  }
  // A copy: freezing the plan must not freeze the caller's layouts.
  return { via, alt, name: layout.name, start, end, kind: 'memory', layout: structuredClone(layout) };
}

/**
 * The chip's SRAM as the ROM writes it through alt 0 (DESIGN.md "Writing RAM"): adjacent ranges
 * merged, the part the ROM bootloader uses split off as a region nothing may write.
 */
export function ramRegions(chip: ChipInfo | undefined): PlanRegion[] {
  if (!chip) return [];
  const merged: { name: string; start: number; end: number }[] = [];
  for (const r of [...chip.ram].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last && last.end === r.start) {
      last.end = r.start + r.size;
      last.name += `+${r.name}`;
    } else merged.push({ name: r.name, start: r.start, end: r.start + r.size });
  }
  // Without AN2606's figure for the RAM the ROM uses, no RAM is offered: writing it could crash the ROM.
  const { start: rs, end: re } = chip.romReservedRam ?? { start: merged[0]?.start ?? 0, end: merged[merged.length - 1]?.end ?? 0 };
  const out: PlanRegion[] = [];
  const add = (kind: 'ram' | 'rom-reserved', name: string, start: number, end: number) => {
    if (end <= start) return;
    const writable = kind === 'ram';
    const sector: Sector = { start, size: end - start, readable: true, erasable: false, writable };
    const block: MemoryBlock = { start, size: end - start, sectors: [sector] };
    out.push({ via: 'rom', alt: 0, name, start, end, kind, layout: { name, blocks: [block] } });
  };
  for (const m of merged) {
    if (re <= m.start || rs >= m.end) {
      add('ram', m.name, m.start, m.end);
      continue;
    }
    add('ram', m.name, m.start, Math.max(m.start, rs));
    add('rom-reserved', `${m.name} (used by the ROM bootloader)`, Math.max(m.start, rs), Math.min(m.end, re));
    add('ram', m.name, Math.min(m.end, re), m.end);
  }
  return out;
}

function chooseRegion(address: number, alt: number | undefined, rom: PlanRegion[], loader: PlanRegion[], prefer: Via): PlanRegion | undefined {
  // A DfuSe file element names its alt setting; honour it when that memory holds the address.
  const byAlt = alt !== undefined ? rom.find((r) => r.kind === 'memory' && r.alt === alt && blockAt(r.layout, address)) : undefined;
  const romHit = byAlt ?? rom.find((r) => blockAt(r.layout, address));
  const loaderHit = loader.find((r) => blockAt(r.layout, address));
  if (romHit && loaderHit && romHit.kind === 'memory') return prefer === 'loader' ? loaderHit : romHit;
  return romHit ?? loaderHit;
}

function blockAt(layout: MemoryLayout, address: number): MemoryBlock | undefined {
  return layout.blocks.find((b) => address >= b.start && address < b.start + b.size);
}

/** Bytes between [start, end) and a region; 0 when they overlap. */
function gap(start: number, end: number, r: { start: number; end: number }): number {
  return end <= r.start ? r.start - end : start >= r.end ? start - r.end : 0;
}

function nearestRegion(start: number, end: number, regions: PlanRegion[]): PlanRegion | undefined {
  let best: PlanRegion | undefined;
  let bestDistance = Infinity;
  for (const r of regions) {
    const d = gap(start, end, r);
    if (d < bestDistance) {
      best = r;
      bestDistance = d;
    }
  }
  return best;
}

/** What every one of `sectors` allows. */
function permissionsOf(sectors: readonly Sector[]): RangePermissions {
  let readable = true;
  let writable = true;
  let erasable = true;
  for (const s of sectors) {
    readable &&= s.readable;
    writable &&= s.writable;
    erasable &&= s.erasable;
  }
  return { readable, writable, erasable };
}

/** The sectors of a block (sorted by address) that [start, end) touches, found by binary search. */
function sectorsIn(sectors: Sector[], start: number, end: number): Sector[] {
  let lo = 0;
  let hi = sectors.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sectors[mid]!.start + sectors[mid]!.size <= start) lo = mid + 1;
    else hi = mid;
  }
  const out: Sector[] = [];
  for (let i = lo; i < sectors.length && sectors[i]!.start < end; i++) out.push(sectors[i]!);
  return out;
}

/** Whether a region is the chip's internal flash (the chip's flash range, else the ROM's alt 0). */
export function isInternal(region: RegionRef, target: PlanTarget): boolean {
  const flash = target.chip?.flash ?? internalFromAlt0(target);
  if (!flash) return false;
  return region.start < flash.start + flash.size && region.end > flash.start;
}

function internalFromAlt0(target: PlanTarget): { start: number; size: number } | undefined {
  const alt0 = target.memories.find((m) => m.alt === 0)?.layout.blocks[0];
  return alt0 ? { start: alt0.start, size: alt0.size } : undefined;
}

/** Where the application starts by default: the chip's flash, else the ROM's alt 0, else 0x08000000. */
export function flashBase(target: PlanTarget): number {
  return target.chip?.flash.start ?? internalFromAlt0(target)?.start ?? FLASH_BASE_FALLBACK;
}

/** One reference object per region, shared by every segment and issue that names it. */
const refs = new WeakMap<RegionRef, RegionRef>();
export function ref(r: RegionRef): RegionRef {
  let out = refs.get(r);
  if (!out) refs.set(r, (out = { via: r.via, alt: r.alt, name: r.name, start: r.start, end: r.end }));
  return out;
}

/** [start, end) as "0x08000000–0x0800ffff" (inclusive end, as a person reads a range). */
export function span(start: number, end: number): string {
  return `${hex32(start)}–${hex32(end - 1)}`;
}
