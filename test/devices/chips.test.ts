import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { CHIPS, chipById, chipByName, sectorEraseMs } from '../../src-main/devices/chips.js';
import { identifyChip } from '../../src-main/devices/identify.js';

const F4_CAPTURE = fileURLToPath(new URL('../../../shared/reference/device-logs/stm32f4discovery.lsusb', import.meta.url));

/** True when [start, end) lies inside the RAM, adjacent ranges counting as one. */
function ramContains(start: number, end: number, ranges: { start: number; size: number }[]): boolean {
  let at = start;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) if (at >= r.start && at < r.start + r.size) at = r.start + r.size;
  return at >= end;
}

describe('chip database', () => {
  it.each(CHIPS.map((c) => [c.name, c] as const))('%s: every ROM alt string parses as a DfuSe layout', (_n, chip) => {
    expect(chip.romAltStrings.length).toBeGreaterThan(0);
    expect(chip.romAltStringProvenance).toHaveLength(chip.romAltStrings.length);
    for (const s of chip.romAltStrings) expect(() => parseLayout(s)).not.toThrow();
  });

  it.each(CHIPS.map((c) => [c.name, c] as const))('%s: the alt 0 layout covers exactly the flash', (_n, chip) => {
    const layout = parseLayout(chip.romAltStrings[0]!);
    expect(layout.blocks).toHaveLength(1);
    expect(layout.blocks[0]!.start).toBe(chip.flash.start);
    expect(layout.blocks[0]!.size).toBe(chip.flash.size);
    for (const s of layout.blocks[0]!.sectors) {
      expect(s.size % chip.program.unitBytes).toBe(0);
      expect(sectorEraseMs(chip, s.size)).toBeGreaterThan(0);
    }
  });

  it.each(CHIPS.map((c) => [c.name, c] as const))('%s: the RAM the ROM reserves lies inside its RAM', (_n, chip) => {
    const { start, end } = chip.romReservedRam;
    expect(end).toBeGreaterThan(start);
    expect(ramContains(start, end, chip.ram)).toBe(true);
    const total = chip.ram.reduce((n, r) => n + r.size, 0);
    expect(total).toBeGreaterThan(end - start);
  });

  it.each(CHIPS.map((c) => [c.name, c] as const))('%s: option-byte alt string matches the option-byte blocks', (_n, chip) => {
    const ob = chip.romAltStrings.map((s) => parseLayout(s)).find((l) => l.name.startsWith('Option Bytes'));
    expect(ob).toBeDefined();
    expect(ob!.blocks.map((b) => ({ start: b.start, size: b.size }))).toEqual(chip.optionBytes);
  });

  it('device IDs are unique and the G474 is 0x469 (G47x/G48x), not 0x468', () => {
    expect(new Set(CHIPS.map((c) => c.deviceId)).size).toBe(CHIPS.length);
    expect(chipByName('stm32g474')?.deviceId).toBe(0x469);
    expect(chipById(0x468)).toBeUndefined();
  });

  it.each([
    ['stm32f746', 0x449],
    ['STM32F746NG', 0x449],
    ['STM32F74x/75x', 0x449],
    ['0x449', 0x449],
    ['stm32f407vg', 0x413],
    ['stm32h743zi', 0x450],
    ['STM32L476RG', 0x415],
    ['0x469', 0x469],
  ])('chipByName(%s) finds device 0x%s', (name, id) => {
    expect(chipByName(name)?.deviceId).toBe(id);
  });

  it('chipByName does not match unknown parts', () => {
    expect(chipByName('stm32f103')).toBeUndefined();
    expect(chipByName('stm32f4')).toBeUndefined();
  });

  it('the F407 alt strings equal the real ROM capture, in alt order', () => {
    const lsusb = readFileSync(F4_CAPTURE, 'utf8');
    const captured = [...lsusb.matchAll(/iInterface\s+\d+ (@.*)$/gm)].map((m) => m[1]);
    expect(chipById(0x413)!.romAltStrings).toEqual(captured);
    expect(lsusb).toContain(`bcdDevice           ${(chipById(0x413)!.rom.bcdDevice / 256).toString(16)}.00`);
  });
});

describe('identifyChip', () => {
  it.each(CHIPS.map((c) => [c.name, c] as const))('identifies %s from its own ROM strings', (_n, chip) => {
    expect(identifyChip({ altStrings: chip.romAltStrings, bcdDevice: chip.rom.bcdDevice, product: chip.rom.product })).toBe(chip);
  });

  it('identifies from alt 0 alone, ignoring name spacing', () => {
    expect(identifyChip({ altStrings: ['@Internal Flash /0x08000000/4*32Kg,1*128Kg,3*256Kg'], bcdDevice: 0 })?.deviceId).toBe(0x449);
  });

  it('takes the device ID from a product string that carries one', () => {
    expect(identifyChip({ altStrings: [], bcdDevice: 0, product: 'STM32 0x450 DFU Bootloader' })?.deviceId).toBe(0x450);
  });

  it('returns undefined for a chip not in the database (F107)', () => {
    expect(
      identifyChip({ altStrings: ['@Internal Flash  /0x08000000/128*002Kg', '@Option Bytes  /0x1FFFF800/01*016 g'], bcdDevice: 0x2000, product: 'STM32 0x418 DFU Bootloader' }),
    ).toBeUndefined();
  });

  it('returns undefined for unparsable strings', () => {
    expect(identifyChip({ altStrings: ['not a layout'], bcdDevice: 0x2200 })).toBeUndefined();
  });
});
