// Which chip is behind a ROM DFU bootloader, from what the device reports. The DfuSe ROM does not send
// the device ID through a DFU request; older ROMs put it in the product string ("STM32 0x418 DFU
// Bootloader", device-logs/stm32f107.lsusb), which is taken first. Otherwise the internal-flash layout
// (alt 0) is the fingerprint; the other alt strings and bcdDevice break ties. `--chip` overrides in
// callers, and whatever chose the chip, the reported layouts are checked against the database
// (checkReportedLayouts) so a mismatch is seen.

import { formatSize, hex, hex32, hexUpper } from '../../shared/format.js';
import { dfuseRun, parseLayout, type MemoryLayout } from '../dfu/layout.js';
import { sectorRuns } from './chip-db.js';
import { BootBridgeError } from '../../shared/errors.js';
import { CHIPS, chipById, chipByName, unknownChipError, type ChipInfo } from './chips.js';

export interface ReportedDevice {
  altStrings: string[];
  bcdDevice: number;
  product?: string;
}

/** The device ID a ROM names in its product string, if any. */
function deviceIdInProduct(product: string | undefined): number | undefined {
  const m = /\b0x([0-9a-f]{3})\b/i.exec(product ?? '');
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** The chip the device most likely is, or undefined when nothing (or more than one chip equally) fits. */
export function identifyChip(info: ReportedDevice): ChipInfo | undefined {
  const id = deviceIdInProduct(info.product);
  if (id !== undefined) {
    const chip = chipById(id);
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
    if (chip.rom?.bcdDevice === info.bcdDevice) score += 1;
    if (score > bestScore) {
      best = [chip];
      bestScore = score;
    } else if (score === bestScore) best.push(chip);
  }
  return best.length === 1 ? best[0] : undefined;
}

/**
 * The chip of a ROM bootloader: the device ID the ROM reports when it reports one (the product
 * string), else `--chip`, else the layout fingerprint. A `--chip` that contradicts the ROM's own
 * device ID is refused: the board says what it is.
 */
export function chooseChip(info: ReportedDevice, chipOption: string | undefined): ChipInfo | undefined {
  const given = chipOption !== undefined ? chipByName(chipOption) : undefined;
  if (chipOption !== undefined && !given) throw unknownChipError(chipOption);
  const id = deviceIdInProduct(info.product);
  const reported = id !== undefined ? chipById(id) : undefined;
  if (reported && given && reported !== given) {
    throw new BootBridgeError(
      'BAD_ARGUMENT',
      `--chip ${chipOption} is ${given.name} (${hex(given.deviceId, 3)}), but the board's ROM reports device ${hex(reported.deviceId, 3)} (${reported.name}) in its product string "${info.product}": leave --chip out or name that chip`,
      { field: 'chip' },
    );
  }
  return reported ?? given ?? identifyChip(info);
}

/**
 * The alt strings to plan with when no device is attached (`plan --chip`): the ROM's own when they
 * were captured, else the internal flash (and option bytes when known) written from the database.
 */
export function chipAltStrings(chip: ChipInfo): string[] {
  if (chip.romAltStrings.length > 0) return chip.romAltStrings;
  const out = [`@Internal Flash  /${hexUpper(chip.flash.start, 8)}/${dfuseSectors(chip.flashSectors)}`];
  if (chip.optionBytes.length > 0) out.push(`@Option Bytes  ${chip.optionBytes.map((b) => `/${hexUpper(b.start, 8)}/${dfuseRun(1, b.size, 'e')}`).join('')}`);
  return out;
}

/** "4*16K,1*64K" → "04*016Kg,01*064Kg" (DfuSe: count*size, unit K/M or a space for bytes, then the access letter). */
function dfuseSectors(text: string): string {
  return sectorRuns(text)
    .map(({ count, size }) => dfuseRun(count, size, 'g'))
    .join(',');
}

/**
 * Warnings when what the device reports does not fit the database entry of `chip`: alt 0 must start
 * at the chip's flash, be no larger, and have the database's sector sizes in order (a smaller part of
 * the line has a prefix of them). Each warning names both layouts.
 */
export function checkReportedLayouts(chip: ChipInfo, reported: { alt: number; layout: MemoryLayout; text?: string }[]): string[] {
  const alt0 = reported.find((m) => m.alt === 0);
  if (!alt0) return [];
  const expected = chip.flashSectors;
  const dbText = chip.romAltStrings[0] ?? `@Internal Flash /${hex32(chip.flash.start)}/${dfuseSectors(expected)}`;
  const deviceText = alt0.text ?? describeLayout(alt0.layout);
  const dbSizes = sectorRuns(expected).flatMap((r) => Array<number>(r.count).fill(r.size));
  const problems: string[] = [];
  const block = alt0.layout.blocks[0];
  if (!block || alt0.layout.blocks.length !== 1) problems.push(`it has ${alt0.layout.blocks.length} address blocks, the database one`);
  else {
    if (block.start !== chip.flash.start) problems.push(`it starts at ${hex32(block.start)}, the flash at ${hex32(chip.flash.start)}`);
    if (block.size > chip.flash.size) problems.push(`it is ${formatSize(block.size)}, the line has at most ${formatSize(chip.flash.size)}`);
    const at = block.sectors.findIndex((s, i) => s.size !== dbSizes[i]);
    if (at >= 0 && block.size <= chip.flash.size) problems.push(`sector ${at} is ${block.sectors[at]!.size} bytes, the database has ${dbSizes[at] ?? 'none'}`);
  }
  if (problems.length === 0) return [];
  return [
    `The device's internal flash "${deviceText}" does not match ${chip.name} (${hex(chip.deviceId, 3)}) in the chip database "${dbText}" (${problems.join('; ')}): the chip on the board may not be the one named; check its marking before flashing.`,
  ];
}

function describeLayout(l: MemoryLayout): string {
  return `@${l.name} ` + l.blocks.map((b) => `/${hex32(b.start)}/${b.sectors.length} sectors, ${b.size} bytes`).join(' ');
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
