// How hard the fuzz tests push: a bounded number of cases by default (CI), more with
// `npm run fuzz` (5,000 a property; FUZZ_RUNS=20000 npm run fuzz for more). Every case must end in a result or a typed
// BootBridgeError within a CPU-time budget.
import { expect } from 'vitest';
import { BootBridgeError } from '../../shared/errors.js';

// `npm run fuzz` searches longer (5,000 cases a property) unless FUZZ_RUNS says how long.
const env = Number(process.env.FUZZ_RUNS ?? (process.env.npm_lifecycle_event === 'fuzz' ? 5000 : NaN));

/** Cases for one property: `ciRuns` in CI, FUZZ_RUNS when set. */
export const runs = (ciRuns: number): number => (Number.isFinite(env) && env > 0 ? env : ciRuns);

/** A fixed seed in CI so a failure reproduces; a random one when FUZZ_RUNS asks for a longer search. */
export const seedOptions = (): { seed?: number } => (Number.isFinite(env) && env > 0 ? {} : { seed: 0x5eed });

/**
 * Runs `f`; returns 'ok' or the error's code. Anything thrown that is not a BootBridgeError fails the case,
 * and so does one that takes more than `budgetMs` of this process's CPU time: the work a hostile input
 * costs, which other processes on a busy machine do not inflate as they do the wall clock.
 */
export function outcome(f: () => unknown, budgetMs = 250): string {
  const t0 = process.cpuUsage();
  let r: string;
  try {
    f();
    r = 'ok';
  } catch (e) {
    if (!(e instanceof BootBridgeError)) throw e;
    r = e.code;
  }
  const used = process.cpuUsage(t0);
  expect((used.user + used.system) / 1000, 'CPU time for one input (ms)').toBeLessThan(budgetMs);
  return r;
}

export async function outcomeAsync(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof BootBridgeError)) throw e;
    return e.code;
  }
}
