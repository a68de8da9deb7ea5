// Flash only what must change: before a stage erases and writes, every sector the plan compares is
// checked against what it must hold afterwards (docs/benchmarks.md, plan/compare.ts) — by the loader's
// CRC32 (against the image's CRC and an erased sector's) or by reading it back. An equal sector is
// neither erased nor written (its comparison verified it); a blank one is written without erase; any
// other is erased and written as without comparison. With `preserve`, the bytes of a sector the image
// does not cover are read first and written back with the image.
//
// stageWork() turns a plan stage and those findings into the erases, writes and verifications to run.

import { isBlank, nonBlankRuns } from '../util/blank.js';
import type { SectorOutcome, VerifiedRange } from '../../shared/progress.js';
import type { DfuseDevice } from '../dfu/dfuse.js';
import type { FirmwareImage } from '../firmware/image.js';
import { planBytes } from '../plan/plan.js';
import type { CompareOp, EraseOp, FlashPlan, PlanStage } from '../plan/types.js';
import { crc32 } from '../util/crc32.js';
import type { Reporter } from './progress.js';
import { firstDifference } from './staging.js';

export interface WriteItem {
  alt: number;
  region: string;
  address: number;
  data: Uint8Array;
}

export interface VerifyItem {
  alt: number;
  region: string;
  address: number;
  length: number;
  method: 'crc32' | 'read-back';
  expected: Uint8Array;
}

export interface StageWork {
  erases: EraseOp[];
  writes: WriteItem[];
  verifies: VerifyItem[];
  /** Ranges of the image found equal by the comparison (verified by it). */
  comparedVerified: VerifiedRange[];
  sectors: SectorOutcome[];
  /** Image bytes not sent because their sector already held them. */
  bytesUnchanged: number;
}

interface Finding {
  op: CompareOp;
  found: SectorOutcome['found'];
  erase: boolean;
  write: boolean;
  /** What the sector must hold afterwards (the image over 0xFF, or over what it held with preserve). */
  expected: Uint8Array;
  /** Uncovered bytes that were not 0xFF are written back. */
  preserved: boolean;
}

const key = (alt: number, address: number) => `${alt}:${address}`;

/** What the sector must hold: the image's bytes where it covers it, 0xFF elsewhere; and which bytes it covers. */
function sectorImage(plan: FlashPlan, image: FirmwareImage, op: CompareOp): { bytes: Uint8Array; covered: Uint8Array } {
  const bytes = new Uint8Array(op.size).fill(0xff);
  const covered = new Uint8Array(op.size);
  const end = op.address + op.size;
  for (const s of plan.segments) {
    if (s.region?.alt !== op.alt || s.region.via !== op.via || s.address >= end || s.address + s.length <= op.address) continue;
    const data = image.segments[s.index]!.data;
    const from = Math.max(s.address, op.address);
    const to = Math.min(s.address + s.length, end);
    bytes.set(data.subarray(from - s.address, to - s.address), from - op.address);
    covered.fill(1, from - op.address, to - op.address);
  }
  return { bytes, covered };
}

const blankCrc = new Map<number, number>();
function erasedCrc(size: number): number {
  let c = blankCrc.get(size);
  if (c === undefined) blankCrc.set(size, (c = crc32(new Uint8Array(size).fill(0xff))));
  return c;
}

/** Compares every sector the stage plans to compare; one progress phase per memory. */
export async function compareSectors(
  dev: DfuseDevice,
  stage: PlanStage,
  plan: FlashPlan,
  image: FirmwareImage,
  reporter: Reporter,
  signal: AbortSignal | undefined,
): Promise<Map<string, Finding>> {
  const out = new Map<string, Finding>();
  const ops = stage.compares ?? [];
  const regions = [...new Set(ops.map((o) => o.region))];
  for (const region of regions) {
    const mine = ops.filter((o) => o.region === region);
    const p = reporter.phase(stage.name, 'read', mine.reduce((n, o) => n + o.size, 0), region);
    let base = 0;
    for (const op of mine) {
      if (dev.alt !== op.alt) await dev.selectAlt(op.alt);
      const { bytes: expected, covered } = sectorImage(plan, image, op);
      let found: Finding['found'];
      let preserved = false;
      if (op.method === 'crc32') {
        const got = await dev.crc32(op.address, op.size);
        found = got === crc32(expected) ? 'equal' : got === erasedCrc(op.size) ? 'blank' : 'different';
        p.update(base + op.size);
      } else {
        const got = await dev.read(op.address, op.size, { onProgress: (done) => p.update(base + done), ...(signal ? { signal } : {}) });
        if (op.preserve) {
          for (let i = 0; i < op.size; i++) {
            if (covered[i] || got[i] === 0xff) continue;
            expected[i] = got[i]!;
            preserved = true;
          }
        }
        found = firstDifference(got, expected) < 0 ? 'equal' : isBlank(got) ? 'blank' : 'different';
      }
      base += op.size;
      const skip = found === 'equal' && !op.rewrite;
      const erase = op.rewrite === true || found === 'different';
      out.set(key(op.alt, op.address), { op, found, erase, write: !skip, expected, preserved });
    }
  }
  return out;
}

/** [from, to) pieces of a range, each with the compared sector it lies in (undefined: none). */
function pieces(alt: number, from: number, to: number, findings: Map<string, Finding>, compares: readonly CompareOp[]): { from: number; to: number; f?: Finding }[] {
  const cuts = compares.filter((c) => c.alt === alt && c.address < to && c.address + c.size > from).sort((a, b) => a.address - b.address);
  const out: { from: number; to: number; f?: Finding }[] = [];
  let at = from;
  for (const c of cuts) {
    const s = Math.max(from, c.address);
    const e = Math.min(to, c.address + c.size);
    if (s > at) out.push({ from: at, to: s });
    out.push({ from: s, to: e, f: findings.get(key(c.alt, c.address))! });
    at = e;
  }
  if (at < to) out.push({ from: at, to });
  return out;
}

/** The erases, writes and verifications of `stage` once its sectors are compared (as planned when none is). */
export function stageWork(
  stage: PlanStage,
  image: FirmwareImage,
  findings: Map<string, Finding>,
): StageWork {
  const compares = stage.compares ?? [];
  let erases = stage.erases.filter((e) => e.kind === 'mass' || findings.get(key(e.alt, e.address))?.erase !== false);
  const bulk = stage.bulkErase;
  if (bulk && findings.size > 0) {
    // Sector erases needed, against one mass erase plus rewriting what it would wipe that is not blank.
    const all = [...findings.values()];
    const sectorMs = erases.reduce((n, e) => n + e.estimatedMs, 0);
    const rewriteMs = all.filter((f) => !f.write && !isBlank(f.expected)).reduce((n, f) => n + f.op.writeMs, 0);
    if (sectorMs > bulk.estimatedMs + rewriteMs) {
      erases = [bulk];
      for (const f of all) {
        f.erase = true;
        f.write = !isBlank(f.expected);
      }
    }
  }
  // Ranges first (contiguous pieces of one segment joined into one run), bytes cut at the end.
  type Run = { alt: number; region: string; segment: number; from: number; to: number; method?: VerifyItem['method'] };
  const join = (runs: Run[], r: Run) => {
    const last = runs[runs.length - 1];
    if (last && last.alt === r.alt && last.segment === r.segment && last.to === r.from && last.method === r.method) last.to = r.to;
    else runs.push(r);
  };
  const writeRuns: Run[] = [];
  const sent = new Map<string, number>();
  for (const w of stage.writes) {
    for (const piece of pieces(w.alt, w.address, w.address + w.length, findings, compares)) {
      // A preserved sector is written whole below, from its merged bytes.
      if (piece.f && (!piece.f.write || piece.f.preserved)) continue;
      join(writeRuns, { alt: w.alt, region: w.region, segment: w.segment, from: piece.from, to: piece.to });
      if (piece.f) sent.set(key(w.alt, piece.f.op.address), (sent.get(key(w.alt, piece.f.op.address)) ?? 0) + piece.to - piece.from);
    }
  }
  const writes: WriteItem[] = writeRuns.map((r) => ({ alt: r.alt, region: r.region, address: r.from, data: planBytes(image, { segment: r.segment, address: r.from, length: r.to - r.from }) }));
  const block = stage.writes[0]?.transferSize ?? 2048;
  for (const f of findings.values()) {
    if (!f.write || !f.preserved) continue;
    for (const r of nonBlankRuns(f.expected, block)) {
      writes.push({ alt: f.op.alt, region: f.op.region, address: f.op.address + r.from, data: f.expected.subarray(r.from, r.to) });
      sent.set(key(f.op.alt, f.op.address), (sent.get(key(f.op.alt, f.op.address)) ?? 0) + r.to - r.from);
    }
  }
  writes.sort((a, b) => a.alt - b.alt || a.address - b.address);

  const verifyRuns: Run[] = [];
  const comparedVerified: VerifiedRange[] = [];
  for (const v of stage.verifies) {
    for (const piece of pieces(v.alt, v.address, v.address + v.length, findings, compares)) {
      if (piece.f && !piece.f.write) {
        const last = comparedVerified[comparedVerified.length - 1];
        if (last && last.region === v.region && last.address + last.length === piece.from && last.method === piece.f.op.method) last.length += piece.to - piece.from;
        else comparedVerified.push({ region: v.region, address: piece.from, length: piece.to - piece.from, method: piece.f.op.method });
        continue;
      }
      if (piece.f?.preserved) continue; // checked whole below
      join(verifyRuns, { alt: v.alt, region: v.region, segment: v.segment, from: piece.from, to: piece.to, method: v.method });
    }
  }
  const verifies: VerifyItem[] = verifyRuns.map((r) => ({
    alt: r.alt, region: r.region, address: r.from, length: r.to - r.from, method: r.method!,
    expected: planBytes(image, { segment: r.segment, address: r.from, length: r.to - r.from }),
  }));
  // The bytes kept in a preserved sector are checked too, with the sector's merged content.
  for (const f of findings.values()) {
    if (!f.write || !f.preserved || stage.verifies.length === 0) continue;
    const method = stage.verifies.find((v) => v.alt === f.op.alt)?.method ?? 'read-back';
    verifies.push({ alt: f.op.alt, region: f.op.region, address: f.op.address, length: f.op.size, method, expected: f.expected });
  }

  let bytesUnchanged = 0;
  const sectors: SectorOutcome[] = [];
  for (const f of findings.values()) {
    if (!f.write) bytesUnchanged += f.op.covered;
    sectors.push({
      region: f.op.region, address: f.op.address, size: f.op.size, method: f.op.method, found: f.found, erased: f.erase,
      bytesWritten: sent.get(key(f.op.alt, f.op.address)) ?? 0,
      ...(f.preserved ? { preserved: true } : {}),
    });
  }
  return { erases, writes, verifies, comparedVerified, sectors, bytesUnchanged };
}
