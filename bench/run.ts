// The benchmark runner behind `npm run bench`: runs the numbered scenarios, prints a Markdown table,
// saves JSON to bench-results/latest.json and, after a full run, the table to docs/benchmarks.md.
//   npm run bench                      every scenario, full-size images
//   npm run bench -- --only 2,3 --quick

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderMarkdown, type BenchReport, type MachineInfo, type ScenarioReport } from './report.js';
import { Shared, type BenchOptions, type Scenario } from './scenario.js';
import { REPO } from './sim.js';
import { routes } from './scenarios/routes.js';
import { versusDfuUtil } from './scenarios/vs-dfu-util.js';
import { gang } from './scenarios/gang.js';
import { parsing } from './scenarios/parsing.js';
import { hostCost } from './scenarios/host-cost.js';
import { qspiOverhead, stagingOverhead, verification } from './scenarios/qspi.js';
import { blankQspi, oneSectorRom, unchangedQspi } from './scenarios/skip.js';
import { realLoader } from './scenarios/real-loader.js';

export const SCENARIOS: readonly Scenario[] = [versusDfuUtil, routes, qspiOverhead, verification, stagingOverhead, gang, parsing, hostCost, blankQspi, unchangedQspi, oneSectorRom, realLoader].sort((a, b) => a.id - b.id);

export interface RunBenchOptions {
  quick?: boolean;
  /** Scenario numbers to run; all when absent. */
  only?: number[];
  log?: (message: string) => void;
}

function machine(loadStart: number): MachineInfo {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadStart,
    loadEnd: os.loadavg()[0] ?? 0,
  };
}

export async function runBench(options: RunBenchOptions = {}): Promise<BenchReport> {
  const loadStart = os.loadavg()[0] ?? 0;
  const o: BenchOptions = { quick: options.quick ?? false, log: options.log ?? (() => undefined) };
  const unknown = (options.only ?? []).filter((n) => !SCENARIOS.some((s) => s.id === n));
  if (unknown.length) throw new Error(`no benchmark scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  const chosen = SCENARIOS.filter((s) => !options.only || options.only.includes(s.id));
  const shared = new Shared();
  const scenarios: ScenarioReport[] = [];
  for (const s of chosen) {
    o.log(`[${s.id}] ${s.title}`);
    const t0 = performance.now();
    const body = await s.run(o, shared);
    scenarios.push({ id: s.id, title: s.title, ...body, runMs: Math.round(performance.now() - t0) });
  }
  return { generatedAt: new Date().toISOString(), quick: o.quick, machine: machine(loadStart), scenarios };
}

export function parseArgs(argv: readonly string[]): RunBenchOptions {
  const out: RunBenchOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') out.quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a === '--only' ? argv[++i] : a.slice('--only='.length);
      const ids = (list ?? '').split(',').map((x) => Number(x.trim()));
      if (!list || ids.some((n) => !Number.isInteger(n))) throw new Error(`--only takes scenario numbers separated by commas, e.g. --only 2,3 (got "${list ?? ''}")`);
      out.only = ids;
    } else throw new Error(`unknown option ${a} (use --only N,M and --quick)`);
  }
  return out;
}

/** Runs from the command line: prints the Markdown, writes the JSON, and the docs page after a full run. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: RunBenchOptions;
  try {
    options = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const report = await runBench({ ...options, log: (m) => process.stderr.write(`bench: ${m}\n`) });
  const markdown = renderMarkdown(report);
  process.stdout.write(markdown);
  const json = path.join(REPO, 'bench-results', 'latest.json');
  fs.mkdirSync(path.dirname(json), { recursive: true });
  fs.writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  process.stderr.write(`bench: JSON written to ${path.relative(REPO, json)}\n`);
  if (!options.only && !options.quick) {
    fs.writeFileSync(path.join(REPO, 'docs', 'benchmarks.md'), markdown);
    process.stderr.write('bench: docs/benchmarks.md updated\n');
  } else {
    process.stderr.write('bench: docs/benchmarks.md left as it was (only a full run without --only/--quick rewrites it)\n');
  }
  return 0;
}
