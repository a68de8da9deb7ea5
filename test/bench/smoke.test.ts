// Keeps the benchmark runner from rotting: its cheapest scenario runs in quick mode and the report has
// the shape docs/benchmarks.md and bench-results/latest.json are written from. No timing is asserted.
import { describe, expect, it } from 'vitest';
import { parseArgs, runBench, SCENARIOS } from '../../bench/run.js';
import { renderMarkdown } from '../../bench/report.js';

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

  it('reads --only and --quick, and refuses what it does not know', async () => {
    expect(parseArgs(['--only', '2,3', '--quick'])).toEqual({ only: [2, 3], quick: true });
    expect(parseArgs(['--only=4'])).toEqual({ only: [4] });
    expect(() => parseArgs(['--only', 'x'])).toThrow(/scenario numbers/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown option/);
    await expect(runBench({ only: [99], quick: true })).rejects.toThrow(/no benchmark scenario 99/);
    expect(new Set(SCENARIOS.map((s) => s.id)).size).toBe(SCENARIOS.length);
  });
});
