// Keeps the benchmark runner from rotting: its cheapest scenario and the real-loader one (emulated, about
// 15 s) run in quick mode and the report has the shape docs/benchmarks.md and bench-results/latest.json
// are written from. No timing is asserted.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArgs, runBench, SCENARIOS } from '../../bench/run.js';
import { renderMarkdown } from '../../bench/report.js';
import { emulatorAvailability } from '../../src-main/emu/emulator.js';

describe('benchmark runner', () => {
  it('runs the staging scenario in quick mode and reports every figure as a finite number with a unit', async () => {
    const report = await runBench({ only: [5], quick: true });
    expect(report.quick).toBe(true);
    expect(report.scenarios.map((s) => s.id)).toEqual([5]);
    const [s] = report.scenarios;
    expect(s!.measurements.length).toBeGreaterThan(3);
    for (const m of s!.measurements) {
      expect(typeof m.value, m.name).toBe('number');
      expect(Number.isFinite(m.value), m.name).toBe(true);
      expect(m.unit, m.name).toBeTypeOf('string');
    }
    const gap = s!.measurements.find((m) => m.name.startsWith('leave → first loader command'))!;
    expect(gap.value as number).toBeGreaterThan(0);
    const md = renderMarkdown(report);
    expect(md).toContain('## 5. ');
    expect(md).toMatch(/shared \d+-core machine/);
    expect(md).toContain('| measurement | value | target | |');
  });

  it('runs the real-loader scenario in quick mode: the emulated real loader flashes both memories and its sizes are reported', async () => {
    expect(emulatorAvailability().ok, 'python3-unicorn is needed (sudo apt-get install python3-unicorn)').toBe(true);
    const report = await runBench({ only: [12], quick: true });
    const [s] = report.scenarios;
    const value = (prefix: string) => {
      const m = s!.measurements.find((x) => x.name.startsWith(prefix));
      expect(m, prefix).toBeDefined();
      return m!.value;
    };
    // A failed flash is reported as a string ("failed (CODE)"): in quick mode both must succeed.
    for (const prefix of ['internal flash 64 KB, real loader', 'QSPI 64 KB, real loader', 'internal flash 64 KB, simulated loader', 'QSPI 64 KB, simulated loader']) {
      expect(value(prefix), prefix).toBeTypeOf('number');
      expect(value(prefix) as number, prefix).toBeGreaterThan(0);
    }
    expect(value('real loader image')).toBe(readFileSync(new URL('../../assets/loaders/stm32f746g-disco/loader.bin', import.meta.url)).length);
    const ram = value('… RAM used') as number;
    expect(ram).toBeGreaterThan(value('real loader image') as number);
    expect(ram).toBeLessThanOrEqual(value('… RAM the manifest') as number);
    expect(renderMarkdown(report)).toContain('not from a board');
  }, 180_000);

  it('reads --only and --quick, and refuses what it does not know', async () => {
    expect(parseArgs(['--only', '2,3', '--quick'])).toEqual({ only: [2, 3], quick: true });
    expect(parseArgs(['--only=4'])).toEqual({ only: [4] });
    expect(() => parseArgs(['--only', 'x'])).toThrow(/scenario numbers/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown option/);
    await expect(runBench({ only: [99], quick: true })).rejects.toThrow(/no benchmark scenario 99/);
    expect(new Set(SCENARIOS.map((s) => s.id)).size).toBe(SCENARIOS.length);
  });
});
