// Which loader packages BootBridge may stage without the user naming one. A loader is board-specific
// (its clocks, pins and memories), and the ROM bootloader says which chip it is but never which board,
// so automatic choice is narrow: only a package for this chip, and only when the image has a segment
// in memory the ROM cannot reach that the package serves (the QSPI of the board it names) — never for
// an image the ROM could place in internal flash, never "because it is faster" (docs/loader-protocol.md §6).

import type { LoaderPackage } from './package.js';

interface Layout {
  blocks: readonly { start: number; size: number }[];
}

const holds = (layouts: readonly Layout[], address: number) => layouts.some((l) => l.blocks.some((b) => address >= b.start && address < b.start + b.size));

/** The packages an automatic choice may try, for a chip and an image's segment addresses. */
export function autoLoaderCandidates<T extends { pkg: LoaderPackage }>(all: readonly T[], deviceId: number | undefined, romLayouts: readonly Layout[], segmentAddresses: readonly number[]): T[] {
  if (deviceId === undefined) return [];
  const external = segmentAddresses.filter((a) => !holds(romLayouts, a));
  if (external.length === 0) return [];
  return all.filter((c) => c.pkg.manifest.chips.includes(deviceId) && external.every((a) => holds(c.pkg.manifest.memories.map((m) => m.layout), a)));
}
