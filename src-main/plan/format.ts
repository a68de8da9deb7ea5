// A FlashPlan as text for a person: what lands where, what gets erased and written, by whom, how long
// it should take, and every problem. The CLI prints it; the GUI shows the same facts from the data.

import { hex32, withRemedy, type RemedyWords } from '../../shared/errors.js';
import { formatSize } from '../../shared/format.js';
import type { EraseOp, FlashPlan, PlanIssue, PlanStage, PlannedSegment } from './types.js';

/** A plan issue for one door: its message, then its remedy in that door's words (its code without them). */
export function issueText(issue: Pick<PlanIssue, 'message' | 'remedy'>, words?: RemedyWords): string {
  return withRemedy(issue.message, issue.remedy, words);
}

/** Beyond this many rows a list is summarised: the first rows, then runs and counts (a sparse HEX file has millions). */
export const PLAN_ROWS_SHOWN = 40;
/** Beyond this many items a JSON array is cut to its first items plus counts. */
export const PLAN_JSON_ITEMS = 1000;

const count = (n: number) => n.toLocaleString('en-US');

export interface SegmentRun {
  region: string;
  via: string;
  segments: number;
  bytes: number;
  start: number;
  /** Exclusive. */
  end: number;
}

/** Consecutive segments landing in the same region, as one run each: what a long plan is summarised to. */
export function segmentRuns(segments: readonly PlannedSegment[]): SegmentRun[] {
  const runs: SegmentRun[] = [];
  let cur: SegmentRun | undefined;
  for (const s of segments) {
    const region = s.region ? `${s.region.name} (alt ${s.region.alt})` : '(outside every memory)';
    const via = s.region?.via ?? '—';
    if (!cur || cur.region !== region || cur.via !== via) {
      cur = { region, via, segments: 0, bytes: 0, start: s.address, end: s.address };
      runs.push(cur);
    }
    cur.segments++;
    cur.bytes += s.length;
    cur.end = Math.max(cur.end, s.address + s.length);
  }
  return runs;
}

/**
 * The plan as JSON output: whole when small; beyond PLAN_JSON_ITEMS segments, operations or issues,
 * each long array keeps its first items, and counts and segment runs say what was left out.
 */
export function planForJson(p: FlashPlan, limit = PLAN_JSON_ITEMS): Record<string, unknown> {
  const cut = <T>(items: readonly T[]) => items.slice(0, limit);
  const long = (n: number) => n > limit;
  const summarised =
    long(p.segments.length) || long(p.errors.length) || long(p.warnings.length) || p.stages.some((s) => long(s.writes.length) || long(s.verifies.length) || long(s.erases.length));
  if (!summarised) return { ...p, summarised: false, segmentCount: p.segments.length };
  return {
    ...p,
    summarised: true,
    segmentCount: p.segments.length,
    segments: cut(p.segments),
    segmentRuns: cut(segmentRuns(p.segments)),
    errorCount: p.errors.length,
    errors: cut(p.errors),
    warningCount: p.warnings.length,
    warnings: cut(p.warnings),
    stages: p.stages.map((s) => ({
      ...s,
      eraseCount: s.erases.length,
      erases: cut(s.erases),
      writeCount: s.writes.length,
      writes: cut(s.writes),
      verifyCount: s.verifies.length,
      verifies: cut(s.verifies),
    })),
  };
}

/** The plan as text; issues carry their remedy in the door's `words` (the CLI passes its own). */
export function formatPlan(p: FlashPlan, words?: RemedyWords): string {
  const out: string[] = [];
  const chip = p.chip ? `${p.chip.name} (0x${p.chip.deviceId.toString(16)})` : 'unknown chip';
  out.push(`Plan for ${chip}: ${p.ok ? 'OK' : `${p.errors.length} problem${p.errors.length === 1 ? '' : 's'}`}`);
  if (p.loaderRunning) out.push(`Loader already running: no staging ("${p.loaderRunning}"; the ROM bootloader cannot be reached without a reset)`);
  out.push('');
  const shown = p.segments.length > PLAN_ROWS_SHOWN ? p.segments.slice(0, PLAN_ROWS_SHOWN / 2) : p.segments;
  out.push(
    table(
      ['#', 'address', 'end', 'bytes', 'region', 'via', 'from'],
      shown.map((s) => [
        String(s.index),
        hex32(s.address),
        hex32(s.address + s.length - 1),
        String(s.length),
        s.region ? `${s.region.name} (alt ${s.region.alt})` : '—',
        s.region?.via ?? '—',
        s.sources.slice(0, 2).join(', ') + (s.sources.length > 2 ? ', …' : ''),
      ]),
    ),
  );
  if (shown.length < p.segments.length) {
    const runs = segmentRuns(p.segments);
    const bytes = p.segments.reduce((n, s) => n + s.length, 0);
    out.push(`… ${count(p.segments.length - shown.length)} more segments`);
    out.push(`${count(p.segments.length)} segments, ${count(bytes)} bytes, in ${count(runs.length)} run${runs.length === 1 ? '' : 's'} by region:`);
    for (const r of runs.slice(0, PLAN_ROWS_SHOWN / 2)) {
      out.push(`  ${r.region} via ${r.via}: ${count(r.segments)} segments, ${count(r.bytes)} bytes in ${hex32(r.start)}–${hex32(r.end - 1)}`);
    }
    if (runs.length > PLAN_ROWS_SHOWN / 2) out.push(`  … ${count(runs.length - PLAN_ROWS_SHOWN / 2)} more runs`);
  }
  for (const stage of p.stages) {
    out.push('');
    out.push(`${stage.title} [${stage.name}, via ${stage.via}] ≈ ${seconds(stage.estimatedMs)}`);
    out.push(...stageLines(stage).map((l) => `  ${l}`));
  }
  out.push('');
  const skipped = p.skippedBytes > 0 ? `, ${p.skippedBytes} blank bytes skipped` : '';
  const compares = p.stages.flatMap((s) => s.compares ?? []);
  const most = compares.some((c) => !c.rewrite) ? 'at most ' : '';
  out.push(`Total: ${most}${p.totalBytes} bytes written${skipped}, estimated ${most ? 'at most ' : ''}${seconds(p.estimatedMs)}`);
  if (p.estimatedBlankMs !== undefined && p.estimatedUnchangedMs !== undefined) {
    out.push(`  ${seconds(p.estimatedBlankMs)} if the compared sectors are blank (no erase), ${seconds(p.estimatedUnchangedMs)} if they already hold the image (nothing erased or written)`);
  }
  if (compares.length > 0) {
    const partial = compares.filter((c) => c.covered < c.size);
    if (partial.some((c) => c.preserve)) out.push(`Bytes of touched sectors that the image does not cover are kept (--preserve: read, merged, written back).`);
    else if (partial.length > 0) out.push(`Bytes of touched sectors that the image does not cover are erased (${partial.length} sector${partial.length === 1 ? '' : 's'}; --preserve keeps them).`);
  } else if (p.options.skipUnchanged === false) {
    out.push('Every sector the image touches is erased and written (--no-skip).');
  }
  if (p.routes) {
    const mark = (v: 'rom' | 'loader') => (p.routes!.chosen === v ? ' (chosen)' : '');
    out.push(`Internal flash through the ROM: ${seconds(p.routes.rom)}${mark('rom')}; through the loader: ${seconds(p.routes.loader)}${mark('loader')}`);
    // The route is the user's choice (the loader unless --rom-route), not the cheaper estimate: say so when it costs time.
    if (p.routes.chosen === 'loader' && p.routes.loader > p.routes.rom) out.push('The loader route is estimated slower here: --rom-route writes internal flash through the ROM.');
  }
  for (const w of p.warnings.slice(0, PLAN_ROWS_SHOWN)) out.push(`warning: ${w}`);
  if (p.warnings.length > PLAN_ROWS_SHOWN) out.push(`… ${count(p.warnings.length - PLAN_ROWS_SHOWN)} more warnings`);
  for (const e of p.errors.slice(0, PLAN_ROWS_SHOWN)) out.push(`error [${e.code}]: ${issueText(e, words)}`);
  if (p.errors.length > PLAN_ROWS_SHOWN) out.push(`… ${count(p.errors.length - PLAN_ROWS_SHOWN)} more errors`);
  return out.join('\n');
}

function stageLines(s: PlanStage): string[] {
  const lines: string[] = [];
  const cmp = s.compares ?? [];
  if (cmp.length > 0) {
    const by = (m: string) => cmp.filter((c) => c.method === m).length;
    const how = [by('crc32') ? `${by('crc32')} by CRC32` : '', by('read-back') ? `${by('read-back')} by read-back` : ''].filter(Boolean).join(', ');
    const rewrite = cmp.every((c) => c.rewrite);
    lines.push(
      rewrite
        ? `read ${cmp.length === 1 ? '1 partly covered sector to keep its other bytes' : `${cmp.length} partly covered sectors to keep their other bytes`} (${how}), then erase and write ${cmp.length === 1 ? 'it' : 'them'}`
        : `compare ${cmp.length} sector${cmp.length === 1 ? '' : 's'} first (${how}): equal ones are skipped, blank ones written without erase, the rest erased and written as below`,
    );
    for (const c of cmp.filter((c) => c.preserve)) lines.push(`  keep the ${c.size - c.covered} bytes of sector ${hex32(c.address)} the image does not cover (read, merge, write)`);
  }
  if (s.bulkErase) {
    const b = s.bulkErase;
    const each = s.erases.filter((e) => e.kind === 'sector' && e.alt === b.alt);
    const per = each.length ? each.reduce((n, e) => n + e.estimatedMs, 0) / each.length : 0;
    const n = per > 0 ? Math.floor(b.estimatedMs / per) + 1 : each.length;
    lines.push(`mass erase ${b.region} (alt ${b.alt}, ≈ ${seconds(b.estimatedMs)}) instead of sector erases if the comparison finds more than about ${n - 1} of its ${each.length} sectors to erase (≈ ${seconds(per)} each), counting the rewrite of what it would wipe`);
  }
  const few = <T>(items: T[], what: string, line: (x: T) => string, size: (x: T) => number) => {
    const n = items.length > PLAN_ROWS_SHOWN ? PLAN_ROWS_SHOWN / 4 : items.length;
    for (let i = 0; i < n; i++) lines.push(line(items[i]!));
    if (n < items.length) {
      let bytes = 0;
      for (let i = n; i < items.length; i++) bytes += size(items[i]!);
      lines.push(`… ${count(items.length - n)} more ${what} (${count(bytes)} bytes)`);
    }
  };
  few(s.erases, 'erases', (e) => (e.kind === 'mass' ? massEraseLine(e) : `erase ${e.region} sector ${hex32(e.address)} (${formatSize(e.size)})`), (e) => e.size);
  few(s.writes, 'writes', (w) => `write ${w.region} ${hex32(w.address)}..${hex32(w.address + w.length - 1)} ${w.length} bytes, ${w.blocks} × ${w.transferSize}-byte blocks (alt ${w.alt})`, (w) => w.length);
  few(s.verifies, 'verifies', (v) => `verify ${v.region} ${hex32(v.address)} ${v.length} bytes by ${v.method}`, (v) => v.length);
  if (s.staging) lines.push(`jump to loader at ${hex32(s.staging.jumpAddress)}, wait for it to enumerate`);
  if (s.leave) lines.push(`leave DFU, start the application at ${hex32(s.leave.address)}`);
  if (lines.length === 0) lines.push('(nothing)');
  return lines;
}

/** A mass erase asked for, with its estimate and the sector erases it replaces. */
function massEraseLine(e: EraseOp): string {
  const head = `mass erase ${e.region} (alt ${e.alt}) ≈ ${seconds(e.estimatedMs)}`;
  if (!e.instead) return head;
  const n = e.instead.sectors;
  const cmp = e.estimatedMs < e.instead.estimatedMs ? 'cheaper than' : e.estimatedMs > e.instead.estimatedMs ? 'dearer than' : 'the same as';
  return `${head} (--mass-erase): ${cmp} the ${n} sector erase${n === 1 ? '' : 's'} the image needs (≈ ${seconds(e.instead.estimatedMs)})`;
}

function table(head: string[], rows: string[][]): string {
  // A loop, not Math.max(...rows): an argument list has a stack-sized limit.
  const widths = head.map((h) => h.length);
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

