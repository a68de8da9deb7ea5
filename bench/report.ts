// The shape of a benchmark report and its Markdown rendering. One report = one run of the runner:
// every scenario's measurements with their targets, printed, saved as JSON and as docs/benchmarks.md.

export interface Measurement {
  name: string;
  value: number | string;
  unit: string;
  /** The target set for this figure ("≥ 4×"), when it has one. */
  target?: string;
  /** Whether the target was met; absent when there is no target. */
  met?: boolean;
}

/**
 * A scenario's time against the bound it is measured by: the physical one where one exists
 * (max(flash busy time, USB wire time) for what must change), else the reference tool; or why none.
 */
export type BoundRatio = { ratio: number; against: string } | { none: string };

export interface ScenarioReport {
  id: number;
  title: string;
  /** How it was measured: image, clock, tools, what is included. */
  setup: string;
  measurements: Measurement[];
  /** Its ratio to its bound; when absent, read from a "… / bound" measurement (see boundOf). */
  bound?: BoundRatio;
  /** Caveats, and for every missed target why and what would close it. */
  notes: string[];
  /** Wall time the scenario itself took to run. */
  runMs: number;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** 1-minute load average when the run started and ended. */
  loadStart: number;
  loadEnd: number;
}

export interface BenchReport {
  generatedAt: string;
  quick: boolean;
  machine: MachineInfo;
  scenarios: ScenarioReport[];
}

function fmt(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/**
 * The scenario's bound ratio: its own, or the first "… / bound" ratio among its measurements, named
 * by the measurement that states the bound ("physical bound …", "lower bound …").
 */
export function boundOf(s: Pick<ScenarioReport, 'bound' | 'measurements'>): BoundRatio | undefined {
  if (s.bound) return s.bound;
  const r = s.measurements.find((m) => m.unit === '×' && typeof m.value === 'number' && /\/ bound$/.test(m.name));
  if (!r) return undefined;
  const named = s.measurements.find((m) => /^(physical|lower) bound/.test(m.name));
  return { ratio: r.value as number, against: named ? named.name.replace(/^(physical|lower) bound:?\s*/, '$1 bound: ') : 'its bound' };
}

function boundCell(b: BoundRatio | undefined): string {
  if (!b) return 'not stated';
  return 'none' in b ? `— (${b.none})` : `${fmt(b.ratio)}× ${b.against}`;
}

const status = (m: Measurement) => (m.met === undefined ? '' : m.met ? 'met' : '**missed**');

export function machineNote(m: MachineInfo): string {
  return (
    `Timings were taken on a shared ${m.cpus}-core machine (${m.cpuModel}; Node ${m.node}; load average ${fmt(m.loadStart)} at the start, ${fmt(m.loadEnd)} at the end) ` +
    'while other work ran on it: read the ratios, not the absolute wall times. Modelled device time (VirtualClock) does not depend on the machine.'
  );
}

export function renderScenario(s: ScenarioReport): string {
  const lines = [`## ${s.id}. ${s.title}`, '', s.setup, '', '| measurement | value | target | |', '|---|---:|---|---|'];
  for (const m of s.measurements) lines.push(`| ${m.name} | ${fmt(m.value)} ${m.unit} | ${m.target ?? ''} | ${status(m)} |`);
  const bound = boundOf(s);
  if (bound) lines.push('', `Against its bound: ${boundCell(bound)}.`);
  if (s.notes.length) {
    lines.push('');
    for (const n of s.notes) lines.push(`- ${n}`);
  }
  return lines.join('\n');
}

export function renderMarkdown(r: BenchReport): string {
  const head = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\`${r.quick ? ' (quick mode: smaller images)' : ''} on ${r.generatedAt.slice(0, 10)}. ` +
      'Options: `npm run bench -- --only 2,3` runs some scenarios, `--quick` uses small images (seconds); only a full run rewrites this page. ' +
      'Raw figures: `bench-results/latest.json`.',
    '',
    machineNote(r.machine),
    '',
    'The last column is each scenario\'s time over its bound: the physical one where one exists, max(flash busy time, USB wire time) for the bytes that must change (the two can overlap, so the larger is the floor); for file conversion, objcopy run the same way, start-up and file reading included.',
    '',
    '| # | scenario | targets met | against its bound |',
    '|---|---|---|---|',
    ...r.scenarios.map((s) => {
      const t = s.measurements.filter((m) => m.met !== undefined);
      return `| ${s.id} | ${s.title} | ${t.length ? `${t.filter((m) => m.met).length} of ${t.length}` : '(no target)'} | ${boundCell(boundOf(s))} |`;
    }),
  ];
  return [head.join('\n'), ...r.scenarios.map(renderScenario)].join('\n\n') + '\n';
}
