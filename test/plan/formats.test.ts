// The same program in every file format gives the same plan: ELF, and objcopy's HEX, SREC and BIN
// of it, and the .dfu dfuse-pack makes from that BIN.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chipByName } from '../../src-main/devices/chips.js';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { parseFirmware } from '../../src-main/firmware/index.js';
import { CLI_REMEDIES } from '../../src-main/cli/remedies.js';
import { issueText, plan, type FlashPlan } from '../../src-main/plan/index.js';
import { run, tempDir } from '../firmware/tools.js';

const DEMO = join(import.meta.dirname, '..', '..', 'assets', 'examples', 'demo-f746', 'demo-f746.elf');
const chip = chipByName('stm32f746')!;
const target = { chip, memories: chip.romAltStrings.map((s, alt) => ({ alt, layout: parseLayout(s) })) };

/** What the plan does, without where the bytes came from (section names, record numbers). */
function operations(p: FlashPlan) {
  return {
    ok: p.ok,
    errors: p.errors.map((e) => [e.code, e.range]),
    stages: p.stages.map((s) => ({
      name: s.name,
      erases: s.erases.map((e) => [e.alt, e.address, e.size, e.kind]),
      writes: s.writes.map((w) => [w.alt, w.address, w.length, w.blocks]),
      verifies: s.verifies.map((v) => [v.alt, v.address, v.length, v.method]),
      leave: s.leave,
    })),
    totalBytes: p.totalBytes,
  };
}

describe('one program, five file formats, one plan', () => {
  const tmp = tempDir();
  const out = (n: string) => join(tmp.dir, n);
  const file = (n: string) => new Uint8Array(readFileSync(out(n)));
  beforeAll(() => {
    // Only the internal-flash part: a BIN cannot hold two memories 2 GB apart.
    const flashOnly = ['-j', '.isr_vector', '-j', '.text', '-j', '.data'];
    run('arm-none-eabi-objcopy', [...flashOnly, DEMO, out('app.elf')]);
    run('arm-none-eabi-objcopy', ['-O', 'ihex', out('app.elf'), out('app.hex')]);
    run('arm-none-eabi-objcopy', ['-O', 'srec', out('app.elf'), out('app.srec')]);
    run('arm-none-eabi-objcopy', ['-O', 'binary', out('app.elf'), out('app.bin')]);
    run('dfuse-pack', ['-b', `0x08000000:${out('app.bin')}`, out('app.dfu')]);
  });
  afterAll(() => tmp.cleanup());

  it('gives identical operations for ELF, HEX and SREC, and for BIN and .dfu', () => {
    const elf = operations(plan(parseFirmware('app.elf', file('app.elf')), target));
    expect(elf.ok).toBe(true);
    expect(elf.totalBytes).toBeGreaterThan(0);
    for (const name of ['app.hex', 'app.srec']) expect(operations(plan(parseFirmware(name, file(name)), target)), name).toEqual(elf);
    // A BIN cannot hold the gap between .text and .data: objcopy fills it, so BIN and .dfu (made from
    // the BIN) agree with each other, and with the ELF on everything but the filled gap.
    const bin = operations(plan(parseFirmware('app.bin', file('app.bin'), { baseAddress: 0x0800_0000 }), target));
    expect(operations(plan(parseFirmware('app.dfu', file('app.dfu')), target))).toEqual(bin);
    const sansWrites = (o: ReturnType<typeof operations>) => o.stages.map((s) => ({ name: s.name, erases: s.erases, leave: s.leave }));
    expect(sansWrites(bin)).toEqual(sansWrites(elf));
    const span = (o: ReturnType<typeof operations>) => {
      const w = o.stages.flatMap((s) => s.writes);
      return [Math.min(...w.map((x) => x[1]!)), Math.max(...w.map((x) => x[1]! + x[2]!))];
    };
    expect(span(bin)).toEqual(span(elf));
  });

  it('names the unreachable QSPI segment of the full demo ELF before touching anything', () => {
    const p = plan(parseFirmware('demo.elf', new Uint8Array(readFileSync(DEMO))), target);
    expect(p.ok).toBe(false);
    const e = p.errors.find((x) => x.code === 'OUTSIDE_REGIONS')!;
    expect(e.range?.start).toBe(0x9000_0000);
    expect(e.message).toContain('ExtFlashSection');
    expect(issueText(e, CLI_REMEDIES)).toContain('--loader');
  });
});
