// Which chip is behind a ROM DFU bootloader, from what the device reports. The ROM does not send its
// device ID over DFU, so the internal-flash layout (alt 0) is the fingerprint; the other alt strings,
// bcdDevice and a product string like "STM32 0x418 DFU Bootloader" break ties. `--chip` overrides in callers.

import { parseLayout, type MemoryLayout } from '../dfu/layout.js';
import { CHIPS, chipById, type ChipInfo } from './chips.js';

export interface ReportedDevice {
  altStrings: string[];
  bcdDevice: number;
  product?: string;
}

/** The chip the device most likely is, or undefined when nothing (or more than one chip equally) fits. */
export function identifyChip(info: ReportedDevice): ChipInfo | undefined {
  // Older ROMs name the device ID in the product string (device-logs/stm32f107.lsusb).
  const idInProduct = /0x([0-9a-f]{3})\b/i.exec(info.product ?? '');
  if (idInProduct) {
    const chip = chipById(parseInt(idInProduct[1]!, 16));
    if (chip) return chip;
  }
  const reported = info.altStrings.map(tryParse);
  const flash = reported[0];
  if (!flash) return undefined;

  let best: ChipInfo[] = [];
  let bestScore = 0;
  for (const chip of CHIPS) {
    const romFlash = tryParse(chip.romAltStrings[0] ?? '');
    if (!romFlash || !sameGeometry(romFlash, flash)) continue;
    let score = 10;
    chip.romAltStrings.slice(1).forEach((s, i) => {
      const mine = tryParse(s);
      const theirs = reported[i + 1];
      if (mine && theirs && sameGeometry(mine, theirs)) score += 2;
    });
    if (chip.rom.bcdDevice === info.bcdDevice) score += 1;
    if (score > bestScore) {
      best = [chip];
      bestScore = score;
    } else if (score === bestScore) best.push(chip);
  }
  return best.length === 1 ? best[0] : undefined;
}

function tryParse(text: string): MemoryLayout | undefined {
  try {
    return parseLayout(text);
  } catch {
    return undefined;
  }
}

/** Same addresses and sector sizes; names and spacing differ between ROM versions and are ignored. */
function sameGeometry(a: MemoryLayout, b: MemoryLayout): boolean {
  if (a.blocks.length !== b.blocks.length) return false;
  return a.blocks.every((blk, i) => {
    const other = b.blocks[i]!;
    return (
      blk.start === other.start &&
      blk.sectors.length === other.sectors.length &&
      blk.sectors.every((s, j) => s.size === other.sectors[j]!.size)
    );
  });
}
