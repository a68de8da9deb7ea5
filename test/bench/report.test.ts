// The benchmark report's bound column: each scenario's time over its bound, stated by the scenario
// or read from its "… / bound" figure, and said plainly when there is none.
import { describe, expect, it } from 'vitest';
import { boundOf, renderMarkdown, type BenchReport, type ScenarioReport } from '../../bench/report.js';

const scenario = (id: number, more: Partial<ScenarioReport>): ScenarioReport => ({ id, title: `scenario ${id}`, setup: '', measurements: [], notes: [], runMs: 0, ...more });

describe('bound column', () => {
  it('takes the ratio a scenario states, else its "… / bound" figure named by the bound it states', () => {
    expect(boundOf(scenario(7, { bound: { ratio: 0.8, against: 'objcopy' } }))).toEqual({ ratio: 0.8, against: 'objcopy' });
    const measured = scenario(9, {
      measurements: [
        { name: 'physical bound max(flash busy, USB wire)', value: 33, unit: 's' },
        { name: 'measured / bound', value: 1.4, unit: '×' },
      ],
    });
    expect(boundOf(measured)).toEqual({ ratio: 1.4, against: 'physical bound: max(flash busy, USB wire)' });
    expect(boundOf(scenario(5, { measurements: [{ name: 'whole staging stage', value: 395, unit: 'ms' }] }))).toBeUndefined();
  });

  it('prints a column in the summary and a line under each scenario', () => {
    const report: BenchReport = {
      generatedAt: '2026-12-02T00:00:00Z',
      quick: true,
      machine: { cpus: 2, cpuModel: 'cpu', node: 'v20', platform: 'linux', loadStart: 1, loadEnd: 1 },
      scenarios: [scenario(7, { bound: { ratio: 0.75, against: 'objcopy, end to end' } }), scenario(5, { bound: { none: 'no physical work to bound' } }), scenario(8, {})],
    };
    const md = renderMarkdown(report);
    expect(md).toContain('| # | scenario | targets met | against its bound |');
    expect(md).toContain('| 7 | scenario 7 | (no target) | 0.75× objcopy, end to end |');
    expect(md).toContain('| 5 | scenario 5 | (no target) | — (no physical work to bound) |');
    expect(md).toContain('| 8 | scenario 8 | (no target) | not stated |');
    expect(md).toContain('Against its bound: 0.75× objcopy, end to end.');
  });
});
