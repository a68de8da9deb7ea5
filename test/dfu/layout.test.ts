import { describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors.js';
import { formatLayout, layoutCovers, parseLayout } from '../../src-main/dfu/layout.js';

interface Run {
  start: number;
  count: number;
  size: number;
  flags: string;
}

/** Collapses the sector list back into runs, so table rows stay short. */
function runs(text: string): Run[][] {
  return parseLayout(text).blocks.map((b) => {
    const out: Run[] = [];
    for (const s of b.sectors) {
      const flags = (s.readable ? 'r' : '-') + (s.erasable ? 'e' : '-') + (s.writable ? 'w' : '-');
      const last = out[out.length - 1];
      if (last && last.size === s.size && last.flags === flags && last.start + last.count * last.size === s.start) last.count++;
      else out.push({ start: s.start, count: 1, size: s.size, flags });
    }
    return out;
  });
}

describe('parseLayout on real ROM strings', () => {
  it.each([
    [
      'F746 internal flash: three runs, K units',
      '@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg',
      [[{ start: 0x08000000, count: 4, size: 0x8000, flags: 'rew' }, { start: 0x08020000, count: 1, size: 0x20000, flags: 'rew' }, { start: 0x08040000, count: 3, size: 0x40000, flags: 'rew' }]],
    ],
    [
      'F407 OTP: byte units written with a space, two runs',
      '@OTP Memory /0x1FFF7800/01*512 g,01*016 g',
      [[{ start: 0x1fff7800, count: 1, size: 512, flags: 'rew' }, { start: 0x1fff7a00, count: 1, size: 16, flags: 'rew' }]],
    ],
    ['F107 flash: 128 pages of 2 KiB', '@Internal Flash  /0x08000000/128*002Kg', [[{ start: 0x08000000, count: 128, size: 2048, flags: 'rew' }]]],
    ['F746 option bytes: type e is read+write', '@Option Bytes  /0x1FFF0000/01*032 e', [[{ start: 0x1fff0000, count: 1, size: 32, flags: 'r-w' }]]],
    [
      'G4 option bytes: several address blocks',
      '@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e',
      [[{ start: 0x1fff7800, count: 1, size: 48, flags: 'r-w' }], [{ start: 0x1ffff800, count: 1, size: 48, flags: 'r-w' }]],
    ],
    ['M unit and B unit', '@QSPI /0x90000000/16*001Mg,02*256Ba', [[{ start: 0x90000000, count: 16, size: 0x100000, flags: 'rew' }, { start: 0x91000000, count: 2, size: 256, flags: 'r--' }]]],
    ['every type letter a–g', '@T/0x0/1*1a,1*1b,1*1c,1*1d,1*1e,1*1f,1*1g', [[
      { start: 0, count: 1, size: 1, flags: 'r--' },
      { start: 1, count: 1, size: 1, flags: '-e-' },
      { start: 2, count: 1, size: 1, flags: 're-' },
      { start: 3, count: 1, size: 1, flags: '--w' },
      { start: 4, count: 1, size: 1, flags: 'r-w' },
      { start: 5, count: 1, size: 1, flags: '-ew' },
      { start: 6, count: 1, size: 1, flags: 'rew' },
    ]]],
    ['odd spacing and lower-case units', '@ RAM  / 0x20000000 / 2 * 16 k g , 1*64Kg', [[{ start: 0x20000000, count: 2, size: 16384, flags: 'rew' }, { start: 0x20008000, count: 1, size: 65536, flags: 'rew' }]]],
    ['trailing slash', '@Device Feature/0xFFFF0000/01*004 g/', [[{ start: 0xffff0000, count: 1, size: 4, flags: 'rew' }]]],
  ])('%s', (_why, text, expected) => {
    expect(runs(text)).toEqual(expected);
  });

  it('keeps the name trimmed and sums block sizes', () => {
    const l = parseLayout('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg');
    expect(l.name).toBe('Internal Flash');
    expect(l.blocks[0]!.size).toBe(1024 * 1024);
  });
});

describe('parseLayout rejects what is not a layout', () => {
  it.each([
    ['no @', 'Internal Flash /0x08000000/04*016Kg'],
    ['no address', '@Internal Flash'],
    ['address not hex', '@Flash/08000000/04*016Kg'],
    ['no runs after the address', '@Flash/0x08000000/'],
    ['type letter outside a–g', '@Flash/0x08000000/04*016Kh'],
    ['missing type letter', '@Flash/0x08000000/04*016K'],
    ['zero count', '@Flash/0x08000000/00*016Kg'],
    ['zero size', '@Flash/0x08000000/04*000Kg'],
    ['past 4 GiB', '@Flash/0xFFFF0000/2*64Kg'],
    ['garbage run', '@Flash/0x08000000/lots'],
  ])('%s', (_why, text) => {
    let error: unknown;
    try {
      parseLayout(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BootBridgeError);
    expect((error as BootBridgeError).code).toBe('LAYOUT_INVALID');
  });
});

describe('layout helpers', () => {
  const f4 = parseLayout('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg');

  it('formatLayout writes back a string that parses to the same layout', () => {
    for (const text of ['@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg', '@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e', '@Q/0x90000000/16*001Mg']) {
      const l = parseLayout(text);
      expect(parseLayout(formatLayout(l))).toEqual(l);
    }
  });

  it('layoutCovers is true only inside one block', () => {
    expect(layoutCovers(f4, 0x08000000, 1024 * 1024)).toBe(true);
    expect(layoutCovers(f4, 0x08000000, 1024 * 1024 + 1)).toBe(false);
    const g4 = parseLayout('@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e');
    expect(layoutCovers(g4, 0x1fff7800, 48)).toBe(true);
    expect(layoutCovers(g4, 0x1fff7800, 0x1ffff830 - 0x1fff7800)).toBe(false);
  });
});
