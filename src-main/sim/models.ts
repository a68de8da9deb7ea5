// The five simulated board models and the chip facts each one needs. The facts belong to the chip
// database (src-main/devices/chips.ts); until it is in the tree this file carries a marked fallback
// copy, so the simulator has one place to read them from either way.

import { BootBridgeError } from '../../shared/errors.js';
import { parseLayout } from '../dfu/layout.js';
import { chipByName, isModelled, type ModelledChip } from '../devices/chips.js';
import type { MemorySpec } from './memory.js';

export type SimModelName = 'stm32f746' | 'stm32f407' | 'stm32h743' | 'stm32g474' | 'stm32l476';
export const SIM_MODELS: readonly SimModelName[] = ['stm32f746', 'stm32f407', 'stm32h743', 'stm32g474', 'stm32l476'];

export type SimChip = ModelledChip;

const SIM_CHIP_MODEL: Record<SimModelName, string> = {
  stm32f746: 'stm32f746',
  stm32f407: 'stm32f407',
  stm32h743: 'stm32h743',
  stm32g474: 'stm32g474',
  stm32l476: 'stm32l476',
};

const K = 1024;

export function simChip(model: SimModelName): SimChip {
  const chip = chipByName(SIM_CHIP_MODEL[model]);
  if (!chip || !isModelled(chip)) throw new BootBridgeError('CHIP_UNKNOWN', `No full chip database entry for simulated model ${model}`, { field: 'model' });
  return chip;
}

/** Board-level extras that are not part of the chip: the F746G-DISCO's N25Q128A QSPI NOR. */
export interface SimExternalMemory {
  spec: MemorySpec;
  /** Page program and sector erase times (reference/timing.md, N25Q128A typical figures). */
  pageProgramMs: number;
  sectorEraseMs: number;
  /** Bulk (whole-chip) erase, typical: N25Q128A 170 s (reference/timing.md, Micron datasheet). */
  bulkEraseMs: number;
}

export function boardExtras(model: SimModelName): SimExternalMemory[] {
  if (model !== 'stm32f746') return [];
  const sectors: { start: number; size: number }[] = [];
  for (let i = 0; i < 256; i++) sectors.push({ start: 0x90000000 + i * 64 * K, size: 64 * K });
  return [
    {
      spec: { name: 'qspi', kind: 'qspi', start: 0x90000000, size: 16 * K * K, sectors, rule: 'clear-bits', unitBytes: 256, blank: 0xff, persistent: true },
      pageProgramMs: 0.5,
      sectorEraseMs: 700,
      bulkEraseMs: 170_000,
    },
  ];
}

/** The chip's memories: flash (sectors from the ROM's alt 0 string), option bytes, OTP, device feature, SRAM, UID. */
export function chipMemories(chip: SimChip): MemorySpec[] {
  const out: MemorySpec[] = [];
  const flashLayout = parseLayout(chip.romAltStrings[0] ?? '');
  const sectors = flashLayout.blocks.flatMap((b) => b.sectors.map((s) => ({ start: s.start, size: s.size })));
  out.push({ name: 'flash', kind: 'flash', start: chip.flash.start, size: chip.flash.size, sectors, rule: chip.program.rule, unitBytes: chip.program.unitBytes, blank: 0xff, persistent: true });
  chip.optionBytes.forEach((ob, i) => {
    out.push({ name: i === 0 ? 'option-bytes' : `option-bytes-${i + 1}`, kind: 'option-bytes', start: ob.start, size: ob.size, sectors: [], rule: 'store', unitBytes: 1, blank: 0xff, persistent: true });
  });
  if (chip.otp) out.push({ name: 'otp', kind: 'otp', start: chip.otp.start, size: chip.otp.size, sectors: [], rule: 'clear-bits', unitBytes: 1, blank: 0xff, persistent: true });
  for (const alt of chip.romAltStrings) {
    const layout = parseLayout(alt);
    if (!/feature/i.test(layout.name)) continue;
    const b = layout.blocks[0]!;
    out.push({ name: 'feature', kind: 'feature', start: b.start, size: b.size, sectors: [], rule: 'store', unitBytes: 1, blank: 0x00, persistent: false });
  }
  chip.ram.forEach((r, i) => {
    out.push({ name: i === 0 ? 'ram' : `ram-${i + 1}`, kind: 'ram', start: r.start, size: r.size, sectors: [], rule: 'store', unitBytes: 1, blank: 0x00, persistent: false });
  });
  return out;
}

/** Read-only system words: the 96-bit unique ID and the flash size in KB (RM0090 §39.1, RM0385 §41.1). */
export function systemMemories(chip: SimChip, uid: Uint8Array): MemorySpec[] {
  const size = new Uint8Array([(chip.flash.size / K) & 0xff, (chip.flash.size / K) >> 8]);
  return [
    { name: 'uid', kind: 'system', start: chip.uidAddress, size: 12, sectors: [], rule: 'readonly', unitBytes: 1, blank: 0, persistent: false, initial: uid },
    { name: 'flash-size', kind: 'system', start: chip.flashSizeAddress, size: 2, sectors: [], rule: 'readonly', unitBytes: 1, blank: 0, persistent: false, initial: size },
  ];
}
