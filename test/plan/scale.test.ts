// Parsers and plans in bounded time and memory (issue: a 2 MB ELF with 65,535 program headers took a
// minute; a sparse 20 MB HEX of 1.5 M one-byte records overflowed the stack in `plan` and a string in
// `plan --json`).
import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { parseFirmware } from '../../src-main/firmware/index.js';
import { formatPlan, plan, planForJson } from '../../src-main/plan/index.js';
import { writeElf } from '../firmware/elf-writer.js';

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/** Intel HEX with one 1-byte data record every `stride` bytes from 0x08000000. */
function sparseHex(records: number, stride: number): Uint8Array {
  const lines: string[] = [];
  let upper = -1;
  for (let i = 0; i < records; i++) {
    const address = 0x0800_0000 + i * stride;
    const hi = address >>> 16;
    if (hi !== upper) {
      upper = hi;
      const sum = (0x02 + 0x04 + (hi >> 8) + (hi & 0xff)) & 0xff;
      lines.push(`:02000004${hex2(hi >> 8)}${hex2(hi & 0xff)}${hex2((0x100 - sum) & 0xff)}`);
    }
    const lo = address & 0xffff;
    const v = i % 255; // never 0xFF: no block is blank
    const sum = (1 + (lo >> 8) + (lo & 0xff) + v) & 0xff;
    lines.push(`:01${hex2(lo >> 8)}${hex2(lo & 0xff)}00${hex2(v)}${hex2((0x100 - sum) & 0xff)}`);
  }
  lines.push(':00000001FF', '');
  return new TextEncoder().encode(lines.join('\n'));
}

describe('bounded parsers', () => {
  /** Best of five parses of an ELF with `count` 4-byte segments (and a section in each when asked), in ms. */
  const parseMs = (count: number, sections: boolean) => {
    const segs = Array.from({ length: count }, (_, i) => ({ paddr: 0x0800_0000 + i * 4, data: new Uint8Array([i & 0xff, 1, 2, 3]) }));
    const bytes = writeElf(segs, { sections });
    let best = Infinity;
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      const image = parseFirmware('many.elf', bytes);
      best = Math.min(best, performance.now() - t0);
      expect(image.segments).toHaveLength(1);
      expect(image.size).toBe(count * 4);
      expect(image.segments[0]!.data[4 * 300]).toBe(300 & 0xff);
    }
    return best;
  };

  // Well under a second on an idle machine (the quadratic parser took tens of seconds); the bound
  // leaves room for a loaded test machine.
  it.each([
    ['65,535 program headers, no sections', 65_535, false],
    ['65,000 program headers and a section in each', 65_000, true],
  ])('an ELF with %s parses in well under a second', (_n, count, sections) => {
    expect(parseMs(count, sections)).toBeLessThan(1500);
  }, 60_000);
});

describe('plans that summarise beyond a size', () => {
  const big = { memories: [{ alt: 0, layout: parseLayout('@Internal Flash /0x08000000/64*064Kg') }] };

  // 300,000 records (the reported file had 1.5 M; the same code path, a fifth of the test time): an
  // argument spread over that many rows already overflows the stack, and the full JSON is ~100 MB.
  it('a sparse HEX of 300,000 one-byte records plans, prints runs and counts, and its JSON stays small', () => {
    const N = 300_000;
    const image = parseFirmware('sparse.hex', sparseHex(N, 2));
    expect(image.segments).toHaveLength(N);
    const p = plan(image, big, { leave: false });
    expect(p.ok).toBe(true);
    expect(p.segments).toHaveLength(N);
    expect(p.totalBytes).toBe(N);
    const text = formatPlan(p);
    expect(text.split('\n').length).toBeLessThan(200);
    expect(text).toContain('300,000 segments, 300,000 bytes, in 1 run by region:');
    expect(text).toMatch(/Internal Flash \(alt 0\) via rom: 300,000 segments, 300,000 bytes in 0x08000000–0x080927be/);
    expect(text).toMatch(/… 299,990 more writes \(299,990 bytes\)/);
    const json = JSON.stringify(planForJson(p));
    expect(json.length).toBeLessThan(2_000_000);
    const back = JSON.parse(json) as { segmentCount: number; segments: unknown[]; summarised: boolean; stages: { writeCount: number; writes: unknown[] }[] };
    expect(back.summarised).toBe(true);
    expect(back.segmentCount).toBe(N);
    expect(back.segments).toHaveLength(1000);
    expect(back.stages[0]).toMatchObject({ writeCount: N });
  }, 120_000);

  it('a small plan is printed and serialised in full', () => {
    const image = parseFirmware('s.hex', sparseHex(3, 0x100));
    const p = plan(image, big, { leave: false });
    expect(formatPlan(p)).not.toMatch(/more segments/);
    const json = planForJson(p) as { summarised: boolean; segments: unknown[] };
    expect(json.summarised).toBe(false);
    expect(json.segments).toHaveLength(3);
  });
});
