import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { chipRecord, formatChip, formatChipTable } from '../../src-main/cli/commands/chips.js';
import { sectorRuns, sectorsSize } from '../../src-main/devices/chip-db.js';
import { CHIPS, chipById, chipByName, closeChips, sectorEraseMs, unknownChipError } from '../../src-main/devices/chips.js';
import { checkReportedLayouts, chipAltStrings, chooseChip, identifyChip } from '../../src-main/devices/identify.js';

const F4_CAPTURE = fileURLToPath(new URL('../../../shared/reference/device-logs/stm32f4discovery.lsusb', import.meta.url));

/** True when [start, end) lies inside the RAM, adjacent ranges counting as one. */
function ramContains(start: number, end: number, ranges: { start: number; size: number }[]): boolean {
  let at = start;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) if (at >= r.start && at < r.start + r.size) at = r.start + r.size;
  return at >= end;
}

const WITH_ALTS = CHIPS.filter((c) => c.romAltStrings.length > 0);

describe('chip database', () => {
  it.each(WITH_ALTS.map((c) => [c.name, c] as const))('%s: every ROM alt string parses as a DfuSe layout', (_n, chip) => {
    expect(chip.romAltStringProvenance).toHaveLength(chip.romAltStrings.length);
    for (const s of chip.romAltStrings) expect(() => parseLayout(s)).not.toThrow();
  });

  it.each(WITH_ALTS.map((c) => [c.name, c] as const))('%s: the alt 0 string has the database flash geometry', (_n, chip) => {
    const layout = parseLayout(chip.romAltStrings[0]!);
    expect(layout.blocks).toHaveLength(1);
    expect(layout.blocks[0]!.start).toBe(chip.flash.start);
    expect(layout.blocks[0]!.size).toBe(chip.flash.size);
    expect(checkReportedLayouts(chip, [{ alt: 0, layout }])).toEqual([]);
  });

  it.each(CHIPS.map((c) => [c.name, c] as const))('%s: sectors add up to the flash, in whole program units', (_n, chip) => {
    expect(sectorsSize(chip.flashSectors)).toBe(chip.flash.size);
    for (const r of sectorRuns(chip.flashSectors)) expect(r.size % chip.program.unitBytes).toBe(0);
    if (chip.timing) for (const r of sectorRuns(chip.flashSectors)) expect(sectorEraseMs(chip, r.size)).toBeGreaterThan(0);
  });

  it.each(CHIPS.map((c) => [c.name, c] as const))('%s: every fact has a source, and what is missing says so', (_n, chip) => {
    expect(chip.sources.length).toBeGreaterThan(0);
    if (!chip.romReservedRam) expect(chip.unknown.join(' ')).toMatch(/RAM used by the ROM/);
    if (chip.romAltStrings.length === 0) expect(chip.unknown.join(' ')).toMatch(/alt-setting strings/);
    if (chip.optionBytes.length === 0) expect(chip.unknown.join(' ')).toMatch(/option-byte/);
  });

  it.each(CHIPS.filter((c) => c.romReservedRam).map((c) => [c.name, c] as const))('%s: the RAM the ROM reserves lies inside its RAM', (_n, chip) => {
    const { start, end } = chip.romReservedRam!;
    expect(end).toBeGreaterThanOrEqual(start);
    expect(ramContains(start, end, chip.ram)).toBe(true);
  });

  it.each(WITH_ALTS.map((c) => [c.name, c] as const))('%s: option-byte alt string matches the option-byte blocks', (_n, chip) => {
    const ob = chip.romAltStrings.map((s) => parseLayout(s)).find((l) => l.name.startsWith('Option Bytes'));
    expect(ob).toBeDefined();
    expect(ob!.blocks.map((b) => ({ start: b.start, size: b.size }))).toEqual(chip.optionBytes);
  });

  it('every offline layout written from the database parses and covers the flash', () => {
    for (const chip of CHIPS) {
      const layout = parseLayout(chipAltStrings(chip)[0]!);
      expect(layout.blocks[0]).toMatchObject({ start: chip.flash.start, size: chip.flash.size });
    }
  });

  // AN2606 "Bootloader device-dependent parameters", row by row: device ID, end of the RAM the
  // bootloader uses (it starts at 0x20000000), end of the RAM range the table gives — transcribed
  // here independently of chip-db.ts (stm32flash dev_table.c columns 3–4; partial rows marked there).
  it.each([
    [0x445, 0x2000_1800, 0x2000_1800], [0x448, 0x2000_1800, 0x2000_4000], [0x418, 0x2000_1000, 0x2001_0000],
    [0x411, 0x2000_2000, 0x2002_0000], [0x422, 0x2000_1400, 0x2000_a000], [0x446, 0x2000_1800, 0x2001_0000],
    [0x432, 0x2000_1400, 0x2000_8000], [0x439, 0x2000_1800, 0x2000_4000], [0x413, 0x2000_3000, 0x2002_0000],
    [0x419, 0x2000_3000, 0x2003_0000], [0x423, 0x2000_3000, 0x2001_0000], [0x433, 0x2000_3000, 0x2001_8000],
    [0x431, 0x2000_3000, 0x2002_0000], [0x441, 0x2000_3000, 0x2004_0000], [0x421, 0x2000_3000, 0x2002_0000],
    [0x434, 0x2000_3000, 0x2006_0000], [0x463, 0x2000_3000, 0x2005_0000], [0x452, 0x2000_4000, 0x2004_0000],
    [0x449, 0x2000_4000, 0x2005_0000], [0x451, 0x2000_4000, 0x2008_0000], [0x467, 0x2000_4000, 0x2002_0000],
    [0x468, 0x2000_4000, 0x2000_5800], [0x469, 0x2000_4000, 0x2002_0000], [0x479, 0x2000_4000, 0x2001_c000],
    [0x450, 0x2000_4100, 0x2002_0000], [0x480, 0x2000_4100, 0x2002_0000], [0x483, 0x2000_4100, 0x2002_0000],
    [0x447, 0x2000_2000, 0x2000_5000], [0x427, 0x2000_1000, 0x2000_8000], [0x436, 0x2000_1000, 0x2000_c000],
    [0x437, 0x2000_1000, 0x2001_4000], [0x464, 0x2000_3100, 0x2000_8000], [0x435, 0x2000_3100, 0x2000_c000],
    [0x462, 0x2000_3100, 0x2002_0000], [0x415, 0x2000_3100, 0x2002_0000], [0x461, 0x2000_3100, 0x2004_0000],
    [0x470, 0x2000_3200, 0x200a_0000], [0x471, 0x2000_4000, 0x2005_0000], [0x472, 0x2000_4000, 0x2004_0000],
    [0x495, 0x2000_5000, 0x2004_0000],
  ])('device 0x%s: bootloader RAM ends at %s and the RAM at %s as AN2606 tabulates', (id, bootEnd, ramEnd) => {
    const chip = chipById(id)!;
    expect(chip).toBeDefined();
    expect(chip.romReservedRam).toEqual({ start: 0x2000_0000, end: bootEnd });
    // The RAM at 0x20000000 reaches the table's end (the full models list more banks after it).
    let end = 0x2000_0000;
    for (const r of [...chip.ram].sort((a, b) => a.start - b.start)) if (r.start === end) end += r.size;
    expect(end).toBe(ramEnd);
  });

  it('lists every product line with a USB DFU ROM that AN2606 names', () => {
    const families = new Set(CHIPS.map((c) => c.family));
    for (const f of ['F0', 'F1', 'F2', 'F3', 'F4', 'F7', 'G0', 'G4', 'H5', 'H7', 'L0', 'L1', 'L4', 'L5', 'U5', 'WB']) expect(families).toContain(f);
    expect(CHIPS.length).toBeGreaterThanOrEqual(40);
  });

  it('device IDs are unique and the G474 is 0x469 (G47x/G48x), not 0x468', () => {
    expect(new Set(CHIPS.map((c) => c.deviceId)).size).toBe(CHIPS.length);
    expect(chipByName('stm32g474')?.deviceId).toBe(0x469);
    expect(chipById(0x468)?.name).toBe('STM32G431/441');
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
    ['stm32h745', 0x450],
    ['STM32H750VBT6', 0x450],
    ['0x450', 0x450],
    ['h723zg', 0x483],
    ['stm32f401ccu6', 0x423],
    ['STM32F401RE', 0x433],
    ['stm32f429zi', 0x419],
    ['stm32f767zi', 0x451],
    ['stm32f070cb', 0x448],
    ['stm32f070f6', 0x445],
    ['stm32l4r5zi', 0x470],
    ['stm32wb55rg', 0x495],
    ['stm32u575zi', 0x482],
    ['stm32h563zi', 0x484],
  ])('chipByName(%s) finds device 0x%s', (name, id) => {
    expect(chipByName(name)?.deviceId).toBe(id);
  });

  it('chipByName does not match unknown parts', () => {
    expect(chipByName('stm32f103')).toBeUndefined();
    expect(chipByName('stm32f4')).toBeUndefined();
    expect(chipByName('stm32f401')).toBeUndefined(); // the flash letter decides between 0x423 and 0x433
  });

  it('an unknown --chip lists the close matches', () => {
    expect(closeChips('stm32h744').map((c) => c.deviceId)).toContain(0x450);
    const err = unknownChipError('stm32f401');
    expect(err.code).toBe('CHIP_UNKNOWN');
    expect(err.message).toMatch(/closest: .*stm32f401\?b.*0x423/);
    expect(err.message).toContain('bootbridge chips');
  });

  it('the F407 alt strings equal the real ROM capture, in alt order', () => {
    const lsusb = readFileSync(F4_CAPTURE, 'utf8');
    const captured = [...lsusb.matchAll(/iInterface\s+\d+ (@.*)$/gm)].map((m) => m[1]);
    expect(chipById(0x413)!.romAltStrings).toEqual(captured);
    expect(lsusb).toContain(`bcdDevice           ${(chipById(0x413)!.rom!.bcdDevice / 256).toString(16)}.00`);
  });
});

describe('identifyChip', () => {
  it.each(WITH_ALTS.map((c) => [c.name, c] as const))('identifies %s from its own ROM strings', (_n, chip) => {
    expect(identifyChip({ altStrings: chip.romAltStrings, bcdDevice: chip.rom!.bcdDevice, product: chip.rom!.product })).toBe(chip);
  });

  it('identifies from alt 0 alone, ignoring name spacing', () => {
    expect(identifyChip({ altStrings: ['@Internal Flash /0x08000000/4*32Kg,1*128Kg,3*256Kg'], bcdDevice: 0 })?.deviceId).toBe(0x449);
  });

  it('takes the device ID from a product string that carries one', () => {
    expect(identifyChip({ altStrings: [], bcdDevice: 0, product: 'STM32 0x450 DFU Bootloader' })?.deviceId).toBe(0x450);
  });

  it('identifies the F107 by the device ID its ROM puts in the product string', () => {
    expect(
      identifyChip({ altStrings: ['@Internal Flash  /0x08000000/128*002Kg', '@Option Bytes  /0x1FFFF800/01*016 g'], bcdDevice: 0x2000, product: 'STM32 0x418 DFU Bootloader' })?.name,
    ).toBe('STM32F105/107');
    expect(identifyChip({ altStrings: [], bcdDevice: 0, product: 'STM32 0x999 DFU Bootloader' })).toBeUndefined();
  });

  it('returns undefined for unparsable strings', () => {
    expect(identifyChip({ altStrings: ['not a layout'], bcdDevice: 0x2200 })).toBeUndefined();
  });
});

describe('the reported layout against the database', () => {
  const F746 = chipById(0x449)!;
  it('a smaller part of the line (F750, 64 KB) fits', () => {
    expect(checkReportedLayouts(F746, [{ alt: 0, layout: parseLayout('@Internal Flash  /0x08000000/02*032Kg') }])).toEqual([]);
  });

  it('another chip\'s layout is a warning naming both', () => {
    const text = '@Internal Flash   /0x08000000/16*128Kg';
    const w = checkReportedLayouts(F746, [{ alt: 0, layout: parseLayout(text), text }]);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain(text);
    expect(w[0]).toContain(F746.romAltStrings[0]);
    expect(w[0]).toContain('STM32F74x/75x');
  });
});

describe('bootbridge chips', () => {
  it('the table has one row per line, each with its device ID, and names the lines not described', () => {
    const text = formatChipTable(CHIPS);
    for (const c of CHIPS) expect(text).toContain(`0x${c.deviceId.toString(16)}  ${c.name}`);
    expect(text).toMatch(/not in the database: STM32H7R\/H7S/);
    expect(text).toMatch(/0x450 +STM32H74x\/75x +2 MiB +16\*128K +32 B, once/);
  });

  it('one line in full names its sources and what was not found; --json carries the same facts', () => {
    const h7a = chipById(0x480)!;
    const text = formatChip(h7a);
    expect(text).toMatch(/not found +: option-byte area/);
    expect(text).toMatch(/source +: AN2606/);
    expect(JSON.parse(JSON.stringify(chipRecord(h7a)))).toMatchObject({ deviceId: 0x480, program: { unitBytes: 16 }, romReservedRam: { end: 0x2000_4100 } });
  });
});

describe('which chip a board is', () => {
  const f107 = { altStrings: ['@Internal Flash  /0x08000000/128*002Kg', '@Option Bytes  /0x1FFFF800/01*016 g'], bcdDevice: 0x2000, product: 'STM32 0x418 DFU Bootloader' };
  const h743 = { altStrings: ['@Internal Flash   /0x08000000/16*128Kg', '@Option Bytes   /0x5200201C/01*128 e'], bcdDevice: 0x0200, product: 'STM32  BOOTLOADER' };

  it('the device ID the ROM reports wins; a --chip that agrees is fine', () => {
    expect(chooseChip(f107, undefined)?.deviceId).toBe(0x418);
    expect(chooseChip(f107, 'stm32f107vc')?.deviceId).toBe(0x418);
  });

  it('a --chip that contradicts the ROM\'s device ID is refused naming both', () => {
    expect(() => chooseChip(f107, 'stm32f407')).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/0x413.*0x418|0x418.*0x413/) }));
  });

  it('without a device ID from the ROM, --chip decides (an H745 ROM looks like an H743 one); else the layout', () => {
    expect(chooseChip(h743, 'stm32h745')?.deviceId).toBe(0x450);
    expect(chooseChip(h743, undefined)?.deviceId).toBe(0x450);
    expect(() => chooseChip(h743, 'stm32h744')).toThrow(expect.objectContaining({ code: 'CHIP_UNKNOWN', message: expect.stringContaining('stm32h742') }));
  });
});
