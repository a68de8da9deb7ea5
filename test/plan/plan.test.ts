import { describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors.js';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { CLI_REMEDIES } from '../../src-main/cli/remedies.js';
import { assertPlanOk, formatPlan, issueText, plan, planBytes } from '../../src-main/plan/index.js';
import { F407, F746, G474, L476, image, qspiLoader, romTarget, seg } from './helpers.js';

const K = 1024;
const erased = (p: ReturnType<typeof plan>) => p.stages.flatMap((s) => s.erases).map((e) => e.address);
const writes = (p: ReturnType<typeof plan>) => p.stages.flatMap((s) => s.writes);

describe('erase', () => {
  it.each([
    ['one byte in the first sector', [[0x0800_0000, 100]], [0x0800_0000]],
    ['a segment crossing a 32 KB boundary', [[0x0800_7000, 0x2000]], [0x0800_0000, 0x0800_8000]],
    ['one byte of the 128 KB sector', [[0x0802_0000, 1]], [0x0802_0000]],
    ['32K, 128K and 256K sectors at once', [[0x0801_f000, 0x2_2000]], [0x0801_8000, 0x0802_0000, 0x0804_0000]],
    ['two segments in one sector erase it once', [[0x0800_0000, 16], [0x0800_1000, 16]], [0x0800_0000]],
  ] as const)('erases only the sectors a segment touches: %s', (_name, segs, expected) => {
    const p = plan(image(...segs.map(([a, n]) => seg(a, n))), romTarget(F746));
    expect(p.ok).toBe(true);
    expect(erased(p)).toEqual(expected);
    expect(p.stages[0]!.erases.every((e) => e.kind === 'sector')).toBe(true);
  });

  it('mass erase replaces the sector erases with one mass erase of the memory', () => {
    const p = plan(image(seg(0x0800_0000, 100), seg(0x0804_0000, 100)), romTarget(F746), { massErase: true });
    const erases = p.stages[0]!.erases;
    expect(erases).toHaveLength(1);
    expect(erases[0]).toMatchObject({ kind: 'mass', alt: 0, address: 0x0800_0000, size: 1024 * K });
    // The ROM reports 100 ms but the silicon needs its mass-erase time: the estimate waits for that.
    expect(erases[0]!.estimatedMs).toBeGreaterThanOrEqual(F746.timing!.massEraseMs);
  });

  it('says that a mass erase keeps nothing the image does not cover, when preserve is asked for too', () => {
    const both = plan(image(seg(0x0800_0000, 100)), romTarget(F746), { massErase: true, preserve: true });
    expect(both.warnings.some((w) => w.includes('not kept'))).toBe(true);
    const sectors = plan(image(seg(0x0800_0000, 100)), romTarget(F746), { preserve: true });
    expect(sectors.warnings.some((w) => w.includes('not kept'))).toBe(false);
  });

  describe('mass erase through a loader', () => {
    const qspiImage = () => image(seg(0x9000_0000, 100 * K));
    const massOf = (p: ReturnType<typeof plan>) => p.stages.find((s) => s.name === 'loader')!.erases;
    // 256 QSPI sectors, each 250 ms by the manifest plus one command's USB time.
    const everySector = 256 * (250 + 2.5 + 5 / 832);

    it('costs the manifest\'s timing.massEraseMs for that memory when given', () => {
      const loader = qspiLoader({ timing: { programKBps: 400, eraseMsPerSector: 250, massEraseMs: [null, 170_000] } });
      const p = plan(qspiImage(), romTarget(F746, { loader }), { massErase: true, leave: false });
      expect(p.ok).toBe(true);
      const erases = massOf(p);
      expect(erases).toHaveLength(1);
      expect(erases[0]).toMatchObject({ kind: 'mass', alt: 1, region: 'QSPI Flash', address: 0x9000_0000, size: 16 * K * K });
      expect(erases[0]!.estimatedMs).toBeGreaterThanOrEqual(170_000);
      expect(erases[0]!.estimatedMs).toBeLessThan(170_010);
      // …beside the sector erases it replaces: the 2 sectors the image touches.
      expect(erases[0]!.instead).toEqual({ sectors: 2, estimatedMs: expect.closeTo((2 * everySector) / 256, 3) });
    });

    it.each([
      ['no timing.massEraseMs', undefined],
      ['a null entry for the memory', [170_000, null]],
      ['no entry for the memory', [170_000]],
    ] as const)('falls back to every sector of the memory erased with %s', (_name, massEraseMs) => {
      const loader = qspiLoader({ timing: { programKBps: 400, eraseMsPerSector: 250, ...(massEraseMs ? { massEraseMs: [...massEraseMs] } : {}) } });
      const p = plan(qspiImage(), romTarget(F746, { loader }), { massErase: true, leave: false });
      expect(massOf(p)[0]!.estimatedMs).toBeCloseTo(everySector, 3);
    });

    it('the plan text shows the mass erase with its estimate and whether it is cheaper than the sector erases it replaces', () => {
      const whole = image(seg(0x9000_0000, 16 * K * K));
      const at = (massEraseMs: number) => formatPlan(plan(whole, romTarget(F746, { loader: qspiLoader({ timing: { programKBps: 400, eraseMsPerSector: 250, massEraseMs: [null, massEraseMs] } }) }), { massErase: true, leave: false }));
      expect(at(30_000)).toMatch(/^ {2}mass erase QSPI Flash \(alt 1\) ≈ 30\.0 s \(--mass-erase\): cheaper than the 256 sector erases the image needs \(≈ 64\.6 s\)$/m);
      expect(at(170_000)).toMatch(/^ {2}mass erase QSPI Flash \(alt 1\) ≈ 170\.0 s \(--mass-erase\): dearer than the 256 sector erases the image needs \(≈ 64\.6 s\)$/m);
    });
  });

  it('does not erase memory that is writable but not erasable (G474 option bytes, type e)', () => {
    const p = plan(image(seg(0x1fff_f800, 48)), romTarget(G474), { leave: false });
    expect(p.ok).toBe(true);
    expect(p.segments[0]!.region).toMatchObject({ alt: 1, name: 'Option Bytes' });
    expect(erased(p)).toEqual([]);
    expect(writes(p)).toHaveLength(1);
  });
});

describe('write blocks', () => {
  it.each([
    [2048, 2048, 1],
    [2049, 2048, 2],
    [5000, 2048, 3],
    [1, 2048, 1],
    [64 * K, 2048, 32],
  ])('%i bytes in %i-byte transfers take %i blocks', (length, T, blocks) => {
    const p = plan(image(seg(0x0800_0000, length)), romTarget(F746, { transferSize: T }));
    expect(writes(p)).toEqual([expect.objectContaining({ address: 0x0800_0000, length, blocks, transferSize: T, alt: 0 })]);
  });

  it('skip-blank leaves out transfer blocks that are all 0xFF after erase', () => {
    const s = seg(0x0800_0000, 3 * 2048);
    s.data.fill(0xff, 2048, 4096);
    const p = plan(image(s), romTarget(F746));
    expect(writes(p).map((w) => [w.address, w.length])).toEqual([
      [0x0800_0000, 2048],
      [0x0800_1000, 2048],
    ]);
    expect(p.skippedBytes).toBe(2048);
    expect(p.totalBytes).toBe(4096);
    const all = plan(image(s), romTarget(F746), { skipBlank: false });
    expect(writes(all).map((w) => [w.address, w.length])).toEqual([[0x0800_0000, 3 * 2048]]);
    expect(all.skippedBytes).toBe(0);
  });

  it('never skips 0xFF in option bytes, and warns that writing them resets or can lock the chip', () => {
    const p = plan(image(seg(0x1fff_c000, 16, 0xff)), romTarget(F407), { leave: false });
    expect(writes(p)).toEqual([expect.objectContaining({ alt: 1, address: 0x1fff_c000, length: 16 })]);
    expect(p.warnings.join('\n')).toMatch(/option bytes \(alt 1\)/);
    const otp = plan(image(seg(0x1fff_7800, 32)), romTarget(F407), { leave: false });
    expect(otp.warnings.join('\n')).toMatch(/one-time-programmable/);
  });

  it('never skips 0xFF blocks in RAM (RAM is not erased first)', () => {
    const p = plan(image(seg(0x2001_0000, 4096, 0xff)), romTarget(F746), { leave: false, allowRam: true });
    expect(writes(p)).toEqual([expect.objectContaining({ address: 0x2001_0000, length: 4096, alt: 0 })]);
  });

  it('planBytes cuts the bytes of a write out of the image', () => {
    const s = seg(0x0800_0000, 3 * 2048);
    s.data.fill(0xff, 2048, 4096);
    s.data[4096] = 7;
    const img = image(s);
    const second = writes(plan(img, romTarget(F746)))[1]!;
    const bytes = planBytes(img, second);
    expect(bytes.length).toBe(2048);
    expect(bytes[0]).toBe(7);
  });
});

describe('errors before any I/O', () => {
  it('names the segment at 0x90000000 and says a loader is needed', () => {
    const p = plan(image(seg(0x0800_0000, 1024, 1, '.isr_vector'), seg(0x9000_0000, 64 * K, 2, '.qspi_assets')), romTarget(F746));
    expect(p.ok).toBe(false);
    expect(p.errors).toHaveLength(1);
    const e = p.errors[0]!;
    expect(e).toMatchObject({ code: 'OUTSIDE_REGIONS', segment: 1, range: { start: 0x9000_0000, end: 0x9001_0000 } });
    expect(e.message).toContain('.qspi_assets');
    expect(e.message).toContain('0x90000000');
    expect(e.message).toMatch(/loader/i);
    expect(e.message).not.toMatch(/--[a-z]/);
    expect(issueText(e, CLI_REMEDIES)).toContain('--loader');
    expect(e.nearest).toBeDefined();
    expect(p.segments[1]!.region).toBeUndefined();
  });

  it('names the nearest memory in words only when it is near (a wrong link address), not for a QSPI address', () => {
    const far = plan(image(seg(0x9000_0000, 16)), romTarget(F746)).errors[0]!;
    expect(far.message).not.toContain('nearest');
    const near = plan(image(seg(0x0810_0000, 16)), romTarget(F746)).errors[0]!;
    expect(near.message).toMatch(/nearest: Internal Flash/);
  });

  it('reports every problem at once', () => {
    const p = plan(image(seg(0x0800_0000, 16), seg(0x0800_0008, 16), seg(0x9000_0000, 16), seg(0x080f_f000, 0x2000)), romTarget(F746));
    expect(p.errors.map((e) => e.code).sort()).toEqual(['OUTSIDE_REGIONS', 'PAST_REGION_END', 'SEGMENTS_OVERLAP']);
  });

  it('overlapping segments name both', () => {
    const p = plan(image(seg(0x0800_0000, 0x100, 1, 'a.hex:1'), seg(0x0800_0080, 0x100, 2, 'b.hex:1')), romTarget(F746));
    const e = p.errors.find((x) => x.code === 'SEGMENTS_OVERLAP')!;
    expect(e.message).toContain('a.hex:1');
    expect(e.message).toContain('b.hex:1');
    expect(e.range).toEqual({ start: 0x0800_0080, end: 0x0800_0100 });
  });

  it.each([
    ['one shared byte', 0x0800_00ff, true],
    ['touching, not overlapping', 0x0800_0100, false],
  ] as const)('segments with %s: overlap is %s', (_name, second, overlaps) => {
    const p = plan(image(seg(0x0800_0000, 0x100), seg(second, 0x10)), romTarget(F746));
    expect(p.errors.some((e) => e.code === 'SEGMENTS_OVERLAP')).toBe(overlaps);
  });

  it('a segment running past the end of flash says by how much', () => {
    const p = plan(image(seg(0x080f_f000, 0x2000)), romTarget(F746));
    expect(p.errors).toEqual([expect.objectContaining({ code: 'PAST_REGION_END', segment: 0, nearest: expect.objectContaining({ name: 'Internal Flash', end: 0x0810_0000 }) })]);
    expect(p.errors[0]!.message).toContain('4096 bytes past the end');
  });

  it('refuses a region the bootloader reports as read-only', () => {
    const target = romTarget(F746);
    target.memories.push({ alt: 4, layout: parseLayout('@Read Only /0x1FF00000/01*064Ka') });
    const p = plan(image(seg(0x1ff0_0000, 16)), target);
    expect(p.errors).toEqual([expect.objectContaining({ code: 'REGION_NOT_WRITABLE', nearest: expect.objectContaining({ alt: 4 }) })]);
  });

  it('refuses RAM the ROM bootloader uses', () => {
    const p = plan(image(seg(0x2000_1000, 16)), romTarget(F407));
    expect(p.errors).toEqual([expect.objectContaining({ code: 'ROM_RESERVED_RAM' })]);
    expect(p.errors[0]!.message).toContain('0x20003000');
  });

  it('writes RAM above the reserved part through alt 0, and only when the chip is known', () => {
    const known = plan(image(seg(0x2000_3000, 16)), romTarget(F407), { leave: false, allowRam: true });
    expect(known.ok).toBe(true);
    expect(known.segments[0]!.region).toMatchObject({ via: 'rom', alt: 0 });
    const unknown = plan(image(seg(0x2000_3000, 16)), { memories: romTarget(F407).memories }, { leave: false, allowRam: true });
    expect(unknown.errors.map((e) => e.code)).toEqual(['OUTSIDE_REGIONS']);
  });

  it('flags two segments sharing one flash word on erased-only flash (L476, 8-byte words)', () => {
    const shared = plan(image(seg(0x0800_0000, 4), seg(0x0800_0004, 4)), romTarget(L476));
    expect(shared.errors).toEqual([expect.objectContaining({ code: 'SHARED_PROGRAM_UNIT', range: { start: 0x0800_0000, end: 0x0800_0008 } })]);
    const aligned = plan(image(seg(0x0800_0000, 8), seg(0x0800_0008, 8)), romTarget(L476));
    expect(aligned.ok).toBe(true);
    // F4 programming only clears bits: the same layout is fine there.
    expect(plan(image(seg(0x0800_0000, 4), seg(0x0800_0004, 4)), romTarget(F407)).ok).toBe(true);
  });

  it('assertPlanOk throws PLAN_INVALID with every issue in its context', () => {
    const p = plan(image(seg(0x9000_0000, 16), seg(0xa000_0000, 16)), romTarget(F746));
    let thrown: unknown;
    try {
      assertPlanOk(p);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BootBridgeError);
    const err = thrown as BootBridgeError;
    expect(err.code).toBe('PLAN_INVALID');
    expect(err.context.issues).toHaveLength(2);
    expect(err.context.address).toBe(0x9000_0000);
    expect(() => assertPlanOk(plan(image(seg(0x0800_0000, 16)), romTarget(F746)))).not.toThrow();
  });
});

describe('loader', () => {
  const img = () => image(seg(0x0800_0000, 64 * K, 1, '.text'), seg(0x9000_0000, 64 * K, 2, '.qspi'));

  it('stages a loader that fits RAM above the ROM reservation: rom → staging → loader → leave', () => {
    const p = plan(img(), romTarget(F746, { loader: qspiLoader() }), { routeInternalViaLoader: false });
    expect(p.ok).toBe(true);
    expect(p.stages.map((s) => s.name)).toEqual(['rom', 'staging', 'loader', 'leave']);
    const staging = p.stages[1]!;
    expect(staging.writes).toEqual([expect.objectContaining({ via: 'rom', alt: 0, address: 0x2001_0000, length: 12 * K, blocks: 6, segment: -1 })]);
    expect(staging.verifies[0]!.method).toBe('read-back');
    expect(staging.staging).toMatchObject({ jumpAddress: 0x2001_0000, enumerationMs: 800 });
    const loaderStage = p.stages[2]!;
    expect(loaderStage.writes).toEqual([expect.objectContaining({ via: 'loader', alt: 1, address: 0x9000_0000, transferSize: 4096, blocks: 16 })]);
    expect(loaderStage.erases.map((e) => e.address)).toEqual([0x9000_0000]);
    expect(loaderStage.verifies[0]!.method).toBe('crc32');
    expect(p.stages[3]!.leave).toEqual({ via: 'loader', address: 0x0800_0000 });
  });

  it('reads back instead of CRC32 when the loader has no CRC extension', () => {
    const p = plan(img(), romTarget(F746, { loader: qspiLoader({ crc32: false }) }));
    expect(p.stages.find((s) => s.name === 'loader')!.verifies.every((v) => v.method === 'read-back')).toBe(true);
  });

  it.each([
    ['past the end of RAM', 0x2004_f000, 'LOADER_NOT_IN_RAM'],
    ['outside RAM entirely', 0x2400_0000, 'LOADER_NOT_IN_RAM'],
    ['over the RAM the ROM uses', 0x2000_2000, 'LOADER_OVERLAPS_ROM_RAM'],
  ] as const)('refuses a loader %s', (_name, loadAddress, code) => {
    const p = plan(img(), romTarget(F746, { loader: qspiLoader({ loadAddress }) }));
    expect(p.ok).toBe(false);
    expect(p.errors.map((e) => e.code)).toEqual([code]);
    expect(p.errors[0]!.message).toContain('f746-disco-qspi');
  });

  it('refuses a loader that overlaps RAM the image also writes', () => {
    const p = plan(image(seg(0x9000_0000, 16), seg(0x2001_1000, 256, 3, '.ramfunc')), romTarget(F746, { loader: qspiLoader() }), { allowRam: true });
    expect(p.errors).toEqual([expect.objectContaining({ code: 'LOADER_OVERLAPS_SEGMENT', segment: 1, range: { start: 0x2001_1000, end: 0x2001_1100 } })]);
  });

  it('refuses a loader built for another chip, and any loader when the chip is unknown', () => {
    const wrong = plan(img(), romTarget(F746, { loader: qspiLoader({ chips: [0x413] }) }));
    expect(wrong.errors.map((e) => e.code)).toEqual(['LOADER_WRONG_CHIP']);
    const unknown = plan(img(), { memories: romTarget(F746).memories, loader: qspiLoader() });
    expect(unknown.errors.map((e) => e.code)).toEqual(['LOADER_CHIP_UNKNOWN']);
  });

  it('routes internal flash through a loader that serves it, and shows both estimates', () => {
    const target = romTarget(F746, { loader: qspiLoader() });
    const viaLoader = plan(img(), target);
    expect(viaLoader.ok).toBe(true);
    expect(viaLoader.segments.map((s) => s.region?.via)).toEqual(['loader', 'loader']);
    expect(viaLoader.stages.map((s) => s.name)).toEqual(['staging', 'loader', 'leave']);
    expect(viaLoader.routes).toBeDefined();
    expect(viaLoader.routes!.chosen).toBe('loader');
    expect(viaLoader.routes!.loader).toBe(viaLoader.estimatedMs);
    // The ROM writes at ≈19 KB/s by its own poll timeouts; the loader is faster even with staging.
    expect(viaLoader.routes!.rom).toBeGreaterThan(viaLoader.routes!.loader);

    const viaRom = plan(img(), target, { routeInternalViaLoader: false });
    expect(viaRom.segments.map((s) => s.region?.via)).toEqual(['rom', 'loader']);
    expect(viaRom.routes).toEqual({ rom: viaRom.estimatedMs, loader: viaLoader.estimatedMs, chosen: 'rom' });
  });

  it('does not stage a loader nobody needs', () => {
    const p = plan(image(seg(0x0800_0000, 1024)), romTarget(F746, { loader: qspiLoader({ servesInternalFlash: false, memories: [qspiLoader().memories[1]!] }) }));
    expect(p.stages.map((s) => s.name)).toEqual(['rom', 'leave']);
    expect(p.loader).toBeUndefined();
    expect(p.warnings.join('\n')).toMatch(/not needed/);
  });

  it('a segment outside the loader memories too says which loader did not serve it', () => {
    const p = plan(image(seg(0xc000_0000, 16)), romTarget(F746, { loader: qspiLoader() }));
    expect(p.errors[0]!.code).toBe('OUTSIDE_REGIONS');
    expect(p.errors[0]!.message).toContain('f746-disco-qspi');
  });
});

describe('verify and leave', () => {
  it('verifies each segment by read-back through the ROM, or not at all when asked', () => {
    const p = plan(image(seg(0x0800_0000, 100), seg(0x0804_0000, 100)), romTarget(F746));
    expect(p.stages[0]!.verifies.map((v) => [v.address, v.length, v.method])).toEqual([
      [0x0800_0000, 100, 'read-back'],
      [0x0804_0000, 100, 'read-back'],
    ]);
    expect(plan(image(seg(0x0800_0000, 100)), romTarget(F746), { verify: false }).stages[0]!.verifies).toEqual([]);
  });

  it.each([
    [undefined, 0x0800_0000],
    [{}, 0x0800_0000],
    [{ address: 0x0800_8000 }, 0x0800_8000],
  ])('leave %j jumps to %s', (leave, address) => {
    const p = plan(image(seg(0x0800_0000, 0x10000)), romTarget(F746), leave === undefined ? {} : { leave });
    expect(p.stages.at(-1)!.leave).toEqual({ via: 'rom', address });
  });

  it('leave: false stays in DFU; a leave address the image does not cover is warned about', () => {
    expect(plan(image(seg(0x0800_0000, 16)), romTarget(F746), { leave: false }).stages.map((s) => s.name)).toEqual(['rom']);
    const p = plan(image(seg(0x0804_0000, 16)), romTarget(F746));
    expect(p.warnings.join('\n')).toContain('no vector table at 0x08000000');
  });
});

describe('estimates from the chip timing', () => {
  it('through the F745 ROM a 2 KB block costs its reported 104 ms plus the transfer (≈109 ms observed)', () => {
    const p = plan(image(seg(0x0800_0000, 64 * K)), romTarget(F746), { verify: false, leave: false });
    const w = p.stages[0]!.writes[0]!;
    const perBlock = w.estimatedMs / w.blocks;
    expect(perBlock).toBeGreaterThan(107);
    expect(perBlock).toBeLessThan(111);
    const kbPerS = 64 / (w.estimatedMs / 1000);
    expect(kbPerS).toBeGreaterThan(18);
    expect(kbPerS).toBeLessThan(20);
  });

  it('a 32 KB sector erase takes the real ≈351 ms although the ROM reports 100 ms', () => {
    const p = plan(image(seg(0x0800_0000, 16)), romTarget(F746));
    const e = p.stages[0]!.erases[0]!;
    expect(e.estimatedMs).toBeGreaterThan(345);
    expect(e.estimatedMs).toBeLessThan(360);
  });

  it('stage estimates add up to the plan estimate', () => {
    const p = plan(image(seg(0x0800_0000, 64 * K), seg(0x9000_0000, 64 * K)), romTarget(F746, { loader: qspiLoader() }));
    const sum = p.stages.reduce((n, s) => n + s.estimatedMs, 0);
    expect(p.estimatedMs).toBe(Math.round(sum));
    for (const s of p.stages) expect(s.estimatedMs).toBeGreaterThan(0);
  });
});

describe('the plan as data', () => {
  it('is frozen all the way down, without freezing the caller’s layouts', () => {
    const target = romTarget(F746);
    const p = plan(image(seg(0x0800_0000, 16)), target);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.stages[0]!.writes[0])).toBe(true);
    expect(Object.isFrozen(p.regions[0]!.layout.blocks[0]!.sectors)).toBe(true);
    expect(() => {
      (p.stages as unknown as unknown[]).push({});
    }).toThrow(TypeError);
    expect(Object.isFrozen(target.memories[0]!.layout)).toBe(false);
  });

  it('survives a JSON round trip unchanged', () => {
    const p = plan(image(seg(0x0800_0000, 64 * K), seg(0x9000_0000, 64 * K)), romTarget(F746, { loader: qspiLoader() }));
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  it('formatPlan prints the segment table, the operations, the estimates and the problems', () => {
    const ok = formatPlan(plan(image(seg(0x0800_0000, 64 * K, 1, '.text'), seg(0x9000_0000, 64 * K, 2, '.qspi')), romTarget(F746, { loader: qspiLoader() })));
    expect(ok).toMatch(/^Plan for STM32F74x\/75x \(0x449\): OK/);
    expect(ok).toMatch(/#\s+address\s+end\s+bytes\s+region\s+via\s+from/);
    expect(ok).toContain('0x90000000  0x9000ffff  65536  QSPI Flash (alt 1)');
    expect(ok).toContain('write QSPI Flash 0x90000000..0x9000ffff 65536 bytes, 16 × 4096-byte blocks (alt 1)');
    expect(ok).toContain('verify QSPI Flash 0x90000000 65536 bytes by crc32');
    expect(ok).toContain('jump to loader at 0x20010000');
    expect(ok).toMatch(/Internal flash through the ROM: [\d.]+ s; through the loader: [\d.]+ s \(chosen\)/);
    const routes = plan(image(seg(0x0800_0000, 64 * K, 1, '.text'), seg(0x9000_0000, 64 * K, 2, '.qspi')), romTarget(F746, { loader: qspiLoader() })).routes!;
    // Said only when the chosen loader route costs time against the ROM's.
    expect(ok.includes('--rom-route writes internal flash through the ROM')).toBe(routes.loader > routes.rom);
    const bad = formatPlan(plan(image(seg(0x9000_0000, 16, 2, '.qspi')), romTarget(F746)));
    expect(bad).toContain('1 problem');
    expect(bad).toMatch(/error \[OUTSIDE_REGIONS\]: Segment 0 \(\.qspi\) at 0x90000000/);
  });
});
