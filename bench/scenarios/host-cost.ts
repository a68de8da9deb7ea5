// Scenario 8: what a flash costs the host — CPU time per MB flashed (process.cpuUsage around the run)
// and how many progress events reach a listener per second (the engine throttles them on the clock).

import { PROGRESS_INTERVAL_MS } from '../../src-main/engine/index.js';
import { seconds, type Scenario } from '../scenario.js';
import type { Measurement } from '../report.js';
import { MiB, type FlashRun, type Timed } from '../sim.js';
import { internalRuns, internalSize } from './routes.js';
import { qspiRun, qspiSize } from './qspi.js';

/** Most progress events inside any window of `windowMs` clock time, over all phases and within one phase. */
function densest(events: readonly Timed[], windowMs: number): { any: number; onePhase: number } {
  const progress = events.filter((x) => x.e.kind === 'progress');
  const most = (list: readonly Timed[]) => {
    let best = 0;
    let lo = 0;
    for (let hi = 0; hi < list.length; hi++) {
      while (list[hi]!.t - list[lo]!.t >= windowMs) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
  };
  const byPhase = new Map<string, Timed[]>();
  for (const x of progress) {
    if (x.e.kind !== 'progress') continue;
    const key = `${x.e.stage}/${x.e.phase}/${x.e.region ?? ''}`;
    byPhase.set(key, [...(byPhase.get(key) ?? []), x]);
  }
  return { any: most(progress), onePhase: Math.max(0, ...[...byPhase.values()].map(most)) };
}

export const hostCost: Scenario = {
  id: 8,
  title: 'Host cost: CPU per MB flashed, progress events per second',
  async run(o, shared) {
    const { rom, loader } = await internalRuns(o, shared);
    const qspi = await qspiRun(o, shared, 'crc32');
    const limit = 1000 / PROGRESS_INTERVAL_MS + 1;
    const measurements: Measurement[] = [];
    const rows: [string, FlashRun, number][] = [
      ['internal flash via ROM', rom, internalSize(o)],
      ['internal flash via loader', loader, internalSize(o)],
      ['QSPI via loader', qspi, qspiSize(o)],
    ];
    for (const [name, run, size] of rows) {
      const d = densest(run.events, 1000);
      const progress = run.events.filter((x) => x.e.kind === 'progress').length;
      measurements.push(
        { name: `${name}: host CPU per MB flashed`, value: run.cpuMs / (size / MiB), unit: 'ms/MB' },
        { name: `${name}: progress events per second, average`, value: progress / seconds(run.clockMs), unit: '/s' },
        { name: `${name}: progress events in the busiest second, one phase`, value: d.onePhase, unit: '', target: `≤ ${limit}`, met: d.onePhase <= limit },
        { name: `${name}: progress events in the busiest second, all phases`, value: d.any, unit: '' },
      );
    }
    return {
      setup: `The runs of scenarios 2 and 3 (in process, VirtualClock; events time-stamped on the clock as a listener receives them).`,
      measurements,
      notes: [
        'CPU is the whole process during the run: the engine and the simulated board (its memory copies, CRC32, timers) together, so it is an upper bound for the host side; against real hardware the board\'s share is not the host\'s.',
        `The engine sends at most one progress event per ${PROGRESS_INTERVAL_MS} ms per phase plus the last (100 %) of the phase, on the clock it runs on; a phase boundary adds the next phase's first event, so all phases together may show a few more in one second.`,
      ],
    };
  },
};
