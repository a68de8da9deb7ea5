// The built command line, as a production script runs it: exit codes, one line per unit, the unit log
// and its CSV export, and a SIGKILL mid-run that leaves every finished unit readable.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readUnitLog } from '../../src-main/production/unit-log.js';
import { ROOT, recipeDir, sha256 } from './helpers.js';

const BIN = join(ROOT, 'bin', 'bootbridge.cjs');

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT });
}, 60_000);

describe('bootbridge production', () => {
  it('gang of two simulated boards: a PASS line each, a summary, exit 0, two records in the log, CSV export', () => {
    const d = recipeDir();
    const log = join(d.dir, 'units.jsonl');
    const r = cli(['production', d.recipe, '--sim', 'stm32f746', '--sim-boards', '2', '--sim-speed', '50', '--gang', '--log', log, '--station', 'cli-test'], d.dir);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => /^PASS {2}[0-9A-F]{12} /.test(l))).toHaveLength(2);
    expect(lines.at(-1)).toBe('summary: 2 passed, 0 failed, yield 100.0%');
    const { records, skipped } = readUnitLog(log);
    expect(skipped).toEqual([]);
    expect(records.map((x) => x.station)).toEqual(['cli-test', 'cli-test']);
    expect(records[0]).toMatchObject({ result: 'PASS', chipId: '0x449', recipe: { name: 'demo-f746', sha256: sha256(readFileSync(d.recipe)) }, firmwareSha256: sha256(readFileSync(d.firmware)) });

    const csv = join(d.dir, 'units.csv');
    const e = cli(['production', 'export', log, '-o', csv], d.dir);
    expect(e.code).toBe(0);
    const rows = readFileSync(csv, 'utf8').split('\r\n').filter(Boolean);
    expect(rows).toHaveLength(3);
    expect(rows[0]!.startsWith('time,station,')).toBe(true);
    expect(rows.slice(1).every((row) => row.includes(',cli-test,') && row.includes(',PASS,'))).toBe(true);
  }, 60_000);

  it('--json prints one JSON line per unit and a summary line', () => {
    const d = recipeDir();
    const r = cli(['production', d.recipe, '--sim', 'stm32f746', '--sim-speed', '50', '--json', '--log', join(d.dir, 'u.jsonl')], d.dir);
    expect(r.code).toBe(0);
    const docs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; result?: string; passed?: number });
    expect(docs.map((x) => x.type)).toEqual(['unit', 'summary']);
    expect(docs[0]!.result).toBe('PASS');
    expect(docs[1]).toMatchObject({ ok: true, passed: 1, failed: 0, yield: 1 });
  }, 60_000);

  it('a tampered firmware file is refused before any board is touched: exit 2, HASH_MISMATCH, nothing logged', () => {
    const d = recipeDir();
    appendFileSync(d.firmware, 'tampered');
    const log = join(d.dir, 'units.jsonl');
    const r = cli(['production', d.recipe, '--sim', 'stm32f746', '--sim-speed', '50', '--log', log], d.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not match its recorded hash');
    expect(r.stderr).toContain('demo-f746.elf');
    expect(() => readFileSync(log)).toThrow();
  }, 60_000);

  it('an invalid recipe exits 2 naming the field', () => {
    const d = recipeDir({ extra: 'options:\n  verfy: false\n' });
    const r = cli(['production', d.recipe, '--sim', 'stm32f746'], d.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('options.verfy');
  });

  it('no board the recipe is for: exit 3, saying which boards were passed over and why', () => {
    const d = recipeDir({ serialPattern: '^NOT-THIS' });
    const r = cli(['production', d.recipe, '--sim', 'stm32f746', '--log', join(d.dir, 'u.jsonl')], d.dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('serialPattern');
  });

  it('a unit that fails makes the run exit 1, with the error code on its line', () => {
    const d = recipeDir({ noLoader: true });
    // 2 MiB at the flash base: the F746 has 1 MiB, so every unit fails its plan.
    const big = join(d.dir, 'big.bin');
    writeFileSync(big, new Uint8Array(2 * 1024 * 1024).fill(0x5a));
    writeFileSync(d.recipe, `name: too-big\nversion: "1"\nfirmware:\n  file: big.bin\n  sha256: ${sha256(readFileSync(big))}\n  baseAddress: 0x08000000\nchips: [0x449]\n`);
    const r = cli(['production', d.recipe, '--sim', 'stm32f746', '--log', join(d.dir, 'u.jsonl'), '--station', 'x'], d.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}00000008FFFF .* PLAN_INVALID /m);
    expect(r.stdout).toContain('summary: 0 passed, 1 failed, yield 0.0%');
  });

  it('--watch --count 2 programs two boards and stops', () => {
    const d = recipeDir();
    const r = cli(['production', d.recipe, '--sim', 'stm32f746', '--sim-boards', '2', '--sim-speed', '50', '--watch', '--count', '2', '--log', join(d.dir, 'u.jsonl')], d.dir);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^PASS /gm)).toHaveLength(2);
  }, 60_000);

  it('SIGKILL mid-run leaves a readable log holding every unit reported', async () => {
    const d = recipeDir();
    const log = join(d.dir, 'units.jsonl');
    const child = spawn(process.execPath, [BIN, 'production', d.recipe, '--sim', 'stm32f746', '--sim-boards', '2', '--sim-speed', '1', '--log', log], { cwd: d.dir });
    let out = '';
    const passLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no PASS line in time: ${out}`)), 50_000);
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /^PASS .*$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve(m[0]);
        }
      });
    });
    const exit = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
    expect(exit).toBe('SIGKILL');
    const serial = passLine.split(/\s+/)[1];
    const { records } = readUnitLog(log);
    expect(records.some((r) => r.serial === serial && r.result === 'PASS')).toBe(true);
    // The second board was in flight: it is either absent or complete, never a broken record.
    expect(records.length).toBeLessThanOrEqual(2);
    expect(readFileSync(log, 'utf8').endsWith('\n')).toBe(true);
  }, 60_000);

  it('--watch stops on Ctrl-C: units in flight finish, then the summary and exit 0', async () => {
    const d = recipeDir();
    const child = spawn(process.execPath, [BIN, 'production', d.recipe, '--sim', 'stm32f746', '--sim-speed', '50', '--watch', '--log', join(d.dir, 'u.jsonl')], { cwd: d.dir });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (/^PASS /m.test(out)) resolve();
      }),
    );
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('summary: 1 passed, 0 failed, yield 100.0%');
  }, 60_000);
});
