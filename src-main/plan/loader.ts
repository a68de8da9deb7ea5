// What the planner needs from a loader package: the memories it serves, where it loads, its transfer
// size and timing. `plan(image, { memories, chip, loader: toPlanLoader(pkg, chip) })`. The planner
// reads loader packages; the loader layer knows nothing of plans.

import type { ChipInfo } from '../devices/chips.js';
import type { LoaderPackage } from '../loader/package.js';
import type { PlanLoader } from './types.js';

/** The planner's view of a package. */
export function toPlanLoader(pkg: LoaderPackage, chip?: ChipInfo): PlanLoader {
  const m = pkg.manifest;
  const flashStart = chip?.flash.start ?? 0x0800_0000;
  const flashEnd = flashStart + (chip?.flash.size ?? 0x0100_0000);
  const servesInternalFlash = m.memories.some((mem) => mem.layout.blocks.some((b) => b.start < flashEnd && b.start + b.size > flashStart));
  const loader: PlanLoader = {
    name: m.name,
    memories: m.memories.map((mem) => ({ alt: mem.alt, layout: mem.layout })),
    transferSize: m.transferSize,
    loadAddress: pkg.loadAddress,
    imageSize: pkg.image.length,
    servesInternalFlash,
    crc32: m.extensions.includes('crc32'),
    overlap: m.extensions.includes('overlap'),
    chips: m.chips,
  };
  if (m.timing) {
    // Only the figures loader.json gives: a missing one falls back to the chip's silicon time.
    loader.timing = {};
    if (m.timing.programKBps !== undefined) loader.timing.programKBps = m.timing.programKBps;
    if (m.timing.eraseMsPerSector !== undefined) loader.timing.eraseMsPerSector = m.timing.eraseMsPerSector;
    if (m.timing.massEraseMs !== undefined) loader.timing.massEraseMs = m.timing.massEraseMs;
  }
  return loader;
}
