// Loader packages (a folder: loader.json + image) and what the planner needs from them.
//   const pkg = await readLoaderPackage('assets/loaders/sim-f746-qspi', text, readFile);
//   plan(image, { memories, chip, loader: toPlanLoader(pkg, chip) });

import type { ChipInfo } from '../devices/chips.js';
import type { PlanLoader } from '../plan/types.js';
import type { LoaderPackage } from './package.js';

export { parseManifest, MAX_TRANSFER_SIZE, type LoaderManifest } from './manifest.js';
export { autoLoaderCandidates } from './choice.js';
export { readLoaderPackage, loaderSupportsChip, sha256Hex, withNonce, nonceString, type LoaderPackage } from './package.js';

/** The planner's view of a package. */
export function toPlanLoader(pkg: LoaderPackage, chip?: ChipInfo): PlanLoader {
  const m = pkg.manifest;
  const flashStart = chip?.flash.start ?? 0x0800_0000;
  const flashEnd = flashStart + (chip?.flash.size ?? 0x0100_0000);
  const servesInternalFlash = m.memories.some((mem) => mem.layout.blocks.some((b) => b.start < flashEnd && b.start + b.size > flashStart));
  return {
    name: m.name,
    memories: m.memories.map((mem) => ({ alt: mem.alt, layout: mem.layout })),
    transferSize: m.transferSize,
    loadAddress: pkg.loadAddress,
    imageSize: pkg.image.length,
    servesInternalFlash,
    crc32: m.extensions.includes('crc32'),
    overlap: m.extensions.includes('overlap'),
    chips: m.chips,
    ...(m.timing ? { timing: { ...m.timing } } : {}),
  };
}
