import { parseLayout } from '../../src-main/dfu/layout.js';
import { chipById, type ChipInfo } from '../../src-main/devices/chips.js';
import { chipAltStrings } from '../../src-main/devices/identify.js';
import type { FirmwareImage, Segment } from '../../src-main/firmware/image.js';
import type { PlanLoader, PlanTarget } from '../../src-main/plan/index.js';

export const F746 = chipById(0x449)!;
export const F407 = chipById(0x413)!;
export const L476 = chipById(0x415)!;
export const G474 = chipById(0x469)!;

export function romTarget(chip: ChipInfo, extra: Partial<PlanTarget> = {}): PlanTarget {
  return { memories: chipAltStrings(chip).map((s, alt) => ({ alt, layout: parseLayout(s) })), chip, ...extra };
}

/** A segment of `length` bytes of `fill` (not 0xFF unless asked), named after its address. */
export function seg(address: number, length: number, fill = 0x5a, name?: string): Segment {
  return { address, data: new Uint8Array(length).fill(fill), sources: [name ?? `sec@${address.toString(16)}`] };
}

export function image(...segments: Segment[]): FirmwareImage {
  return { format: 'elf', segments, size: segments.reduce((n, s) => n + s.data.length, 0) };
}

export function qspiLoader(extra: Partial<PlanLoader> = {}): PlanLoader {
  return {
    name: 'f746-disco-qspi',
    memories: [
      { alt: 0, layout: parseLayout('@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg') },
      { alt: 1, layout: parseLayout('@QSPI Flash /0x90000000/256*064Kg') },
    ],
    transferSize: 4096,
    loadAddress: 0x2001_0000,
    imageSize: 12 * 1024,
    servesInternalFlash: true,
    crc32: true,
    chips: [0x449],
    timing: { programKBps: 400, eraseMsPerSector: 250, enumerationMs: 800 },
    ...extra,
  };
}
