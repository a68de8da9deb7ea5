// What a benchmark scenario is: one numbered measurement of the benchmark plan, returning its report.
// Scenarios that need the same expensive run (the 16 MB QSPI flash) share it through `shared`.

import type { ScenarioReport } from './report.js';

export interface BenchOptions {
  /** Small images so the whole run takes seconds (the smoke test, a quick look). */
  quick: boolean;
  /** Progress lines for the person waiting (stderr). */
  log: (message: string) => void;
}

export type ScenarioBody = Pick<ScenarioReport, 'setup' | 'measurements' | 'notes' | 'bound'>;

export interface Scenario {
  id: number;
  title: string;
  run(options: BenchOptions, shared: Shared): Promise<ScenarioBody>;
}

/** Memoised expensive runs, keyed by name, shared between the scenarios of one bench run. */
export class Shared {
  private readonly cache = new Map<string, Promise<unknown>>();
  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) this.cache.set(key, (p = make()));
    return p;
  }
}

export const ratio = (a: number, b: number): number => (b > 0 ? a / b : NaN);
export const seconds = (ms: number): number => ms / 1000;
