import { describe, expect, it } from 'vitest';
import { buildMemoryMap, describeAddress, formatMs, formatSize } from '../../shared/memmap.js';
import { F746_LAYOUT } from '../app/fake-backend.js';

const QSPI = {
  name: 'QSPI Flash',
  blocks: [{ start: 0x90000000, size: 4 * 0x10000, sectors: [0, 1, 2, 3].map((i) => ({ start: 0x90000000 + i * 0x10000, size: 0x10000, readable: true, erasable: true, writable: true })) }],
};

describe('memory map', () => {
  it('places sectors to scale within their block', () => {
    const map = buildMemoryMap({ regions: [{ via: 'rom', alt: 0, name: 'Internal Flash', layout: F746_LAYOUT }], segments: [] });
    const s = map.regions[0]!.blocks[0]!.sectors;
    expect(s).toHaveLength(8);
    expect(s[0]).toMatchObject({ left: 0, width: 32 / 1024 });
    expect(s[4]).toMatchObject({ left: 128 / 1024, width: 128 / 1024 });
    expect(s[7]!.left + s[7]!.width).toBeCloseTo(1);
  });

  it('draws what a flash found per compared sector: unchanged ones skipped (not erased), blank ones written without erase', () => {
    const regions = [{ via: 'loader' as const, alt: 0, name: 'QSPI Flash', layout: QSPI, eraseSectors: [0x90000000, 0x90010000, 0x90020000], compareSectors: [0x90000000, 0x90010000, 0x90020000] }];
    const segments = [{ address: 0x90000000, length: 0x30000, sources: ['.qspi'] }];
    // Before the flash: the plan compares three sectors first; which are skipped is not known yet.
    const before = buildMemoryMap({ regions, segments });
    expect(before.regions[0]!.blocks[0]!.sectors.map((x) => [x.compare, x.outcome])).toEqual([[true, undefined], [true, undefined], [true, undefined], [false, undefined]]);
    expect(describeAddress(before, before.regions[0]!, before.regions[0]!.blocks[0]!, 0x90000010)).toContain('compared first');
    const after = buildMemoryMap({
      regions,
      segments,
      outcomes: [
        { region: 'QSPI Flash', address: 0x90000000, found: 'equal', erased: false },
        { region: 'QSPI Flash', address: 0x90010000, found: 'blank', erased: false },
        { region: 'QSPI Flash', address: 0x90020000, found: 'different', erased: true },
        // Another region's sector at the same address is not this one's.
        { region: 'Internal Flash', address: 0x90030000, found: 'equal', erased: false },
      ],
    });
    const r = after.regions[0]!;
    expect(r.blocks[0]!.sectors.map((x) => [x.outcome, x.erase])).toEqual([['unchanged', false], ['blank', false], ['rewritten', true], [undefined, false]]);
    expect([r.skipCount, r.skipBytes, r.eraseCount, r.eraseBytes]).toEqual([1, 0x10000, 1, 0x10000]);
    expect(describeAddress(after, r, r.blocks[0]!, 0x90000010)).toContain('skipped: already held the image');
    expect(describeAddress(after, r, r.blocks[0]!, 0x90010010)).toContain('written without erase');
  });

  it('without a plan marks for erase exactly the sectors a segment touches', () => {
    const map = buildMemoryMap({
      regions: [{ via: 'rom', alt: 0, name: 'Internal Flash', layout: F746_LAYOUT }],
      segments: [{ address: 0x08007ff0, length: 0x20, sources: ['.text'] }],
      inferErase: true,
    });
    const erased = map.regions[0]!.blocks[0]!.sectors.filter((x) => x.erase).map((x) => x.index);
    expect(erased).toEqual([0, 1]);
    expect(map.regions[0]!.eraseBytes).toBe(0x10000);
  });

  it('uses the plan’s erase list as given', () => {
    const map = buildMemoryMap({
      regions: [{ via: 'rom', alt: 0, name: 'Internal Flash', layout: F746_LAYOUT, eraseSectors: [0x08020000] }],
      segments: [{ address: 0x08000000, length: 4, sources: [] }],
    });
    expect(map.regions[0]!.blocks[0]!.sectors.filter((x) => x.erase).map((x) => x.start)).toEqual([0x08020000]);
  });

  it('assigns segments to ROM and loader regions and reports the ones outside every region', () => {
    const map = buildMemoryMap({
      regions: [
        { via: 'rom', alt: 0, name: 'Internal Flash', layout: F746_LAYOUT },
        { via: 'loader', alt: 0, name: 'QSPI Flash', layout: QSPI },
      ],
      segments: [
        { address: 0x08000000, length: 100, sources: ['.isr_vector'] },
        { address: 0x90010000, length: 0x100, sources: ['.qspi'] },
        { address: 0x30000000, length: 16, sources: ['.dma'] },
        { address: 0x9003ff00, length: 0x200, sources: ['.tail'] },
      ],
    });
    expect(map.segments.map((s) => s.region)).toEqual(['Internal Flash', 'QSPI Flash', undefined, 'QSPI Flash']);
    expect(map.segments[1]!.via).toBe('loader');
    expect(map.outside).toEqual([2, 3]);
    expect(map.segments[2]!.problem).toContain('outside every region');
    expect(map.segments[2]!.problem).toContain('or its loader');
    expect(map.segments[3]!.problem).toContain('runs past the end of QSPI Flash');
    const ov = map.regions[1]!.blocks[0]!.overlays[0]!;
    expect(ov).toMatchObject({ segment: 1, left: 0.25, width: 0x100 / 0x40000 });
  });

  it('says address, sector and segment on hover', () => {
    const map = buildMemoryMap({
      regions: [{ via: 'rom', alt: 0, name: 'Internal Flash', layout: F746_LAYOUT }],
      segments: [{ address: 0x08020000, length: 0x1000, sources: ['.text'] }],
      inferErase: true,
    });
    const r = map.regions[0]!;
    const text = describeAddress(map, r, r.blocks[0]!, 0x08020010);
    expect(text).toBe('Internal Flash  0x08020010  ·  sector 4: 0x08020000 128 KiB (erased)  ·  segment 0x08020000 4 KiB .text');
  });

  it.each([
    [512, '512 B'],
    [2048, '2 KiB'],
    [1536, '1.5 KiB'],
    [16 * 1024 * 1024, '16 MiB'],
  ])('formats %i bytes as %s', (n, text) => expect(formatSize(n)).toBe(text));

  it.each([
    [12.4, '12 ms'],
    [1500, '1.5 s'],
    [125_000, '2 min 5 s'],
  ])('formats %f ms as %s', (n, text) => expect(formatMs(n)).toBe(text));
});
