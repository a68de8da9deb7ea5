// The estimate `flash` and `write` print before they start, as `plan` words it: when sectors are compared
// first, the worst case is an upper bound and an unchanged board takes a fraction of it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, runCli as run } from './harness.js';

beforeAll(buildCli, 60_000);


describe('the estimate before writing', () => {
  it('is "at most" with the blank and unchanged cases when sectors are compared, a plain figure with --full', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-cli-estimate-'));
    const file = join(dir, 'blob.bin');
    writeFileSync(file, new Uint8Array(40_000).map((_, i) => (i * 7) & 0xff));
    const sim = ['--sim', 'stm32f746', '--sim-state', dir, '--sim-speed', '50', '--no-progress'];
    const plan = await run(['plan', file, '--base', '0x08040000', '--no-leave', '--json', ...sim]);
    const p = JSON.parse(plan.stdout) as { estimatedMs: number; estimatedBlankMs: number; estimatedUnchangedMs: number };
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

    const compared = await run(['write', file, '0x08040000', ...sim]);
    expect(compared.code).toBe(0);
    expect(compared.stderr).toContain(
      `40000 bytes in rom, estimated at most ${s(p.estimatedMs)} (${s(p.estimatedBlankMs)} if the compared sectors are blank, ${s(p.estimatedUnchangedMs)} if they already hold the image)`,
    );

    const full = await run(['write', file, '0x08040000', '--full', ...sim]);
    expect(full.code).toBe(0);
    expect(full.stderr).toMatch(/40000 bytes in rom, estimated \d+\.\d s\n/);
    expect(full.stderr).not.toContain('at most');
  });
});
