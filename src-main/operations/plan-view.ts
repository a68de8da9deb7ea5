// The planner's FlashPlan (src-main/plan/types.ts) as the renderer draws it (PlanView in
// shared/contract.ts): stages of rows, the regions with the sectors to erase, each segment with where
// it lands or why it cannot, and why a loader is staged — all in the contract's types.

import type { ErrorData } from '../../shared/errors.js';
import type { PlanOperation, PlanRegionView, PlanSegment, PlanStageView, PlanView } from '../../shared/contract.js';
import { ISSUE_ERROR_CODES } from '../plan/issues.js';
import type { EraseOp, FlashPlan } from '../plan/types.js';
import { hex32 } from '../../shared/format.js';


/** The planner's FlashPlan (src-main/plan/types.ts) as the renderer draws it. */
export function planView(p: FlashPlan, loaderId?: string): PlanView {
  const errors: ErrorData[] = p.errors.map((i) => {
    const context: ErrorData['context'] = { issue: i.code };
    if (i.range) {
      context.address = i.range.start;
      context.length = i.range.end - i.range.start;
    }
    if (i.sources?.length) context.segment = i.sources.join(', ');
    if (i.nearest) context.region = i.nearest.name;
    return { code: ISSUE_ERROR_CODES[i.code], message: i.message, context, ...(i.remedy ? { remedy: i.remedy } : {}) };
  });
  const stages = planStagesView(p);
  const memoryRegions = p.regions.filter((r) => r.kind === 'memory' || p.segments.some((s) => s.region && s.region.name === r.name && s.region.via === r.via));
  const regions: PlanRegionView[] = memoryRegions.map((r) => {
    const erase: number[] = [];
    for (const st of p.stages)
      for (const e of st.erases) {
        if (e.region !== r.name || e.via !== r.via || e.alt !== r.alt) continue;
        if (e.kind === 'mass') for (const b of r.layout.blocks) for (const sec of b.sectors) erase.push(sec.start);
        else erase.push(e.address);
      }
    const compare = p.stages.flatMap((st) => (st.compares ?? []).filter((c) => c.region === r.name && c.via === r.via && c.alt === r.alt).map((c) => c.address));
    return { via: r.via, alt: r.alt, name: r.name, layout: r.layout, eraseSectors: erase, ...(compare.length ? { compareSectors: compare } : {}) };
  });
  // A segment's first problem, looked up once (a sparse HEX can have a million segments).
  const problems = new Map<number, string>();
  for (const i of p.errors) if (i.segment !== undefined && !problems.has(i.segment)) problems.set(i.segment, i.message);
  const segments: PlanSegment[] = p.segments.map((s) => {
    const seg: PlanSegment = { address: s.address, length: s.length, sources: s.sources };
    if (s.region) {
      seg.region = s.region.name;
      seg.via = s.region.via;
    }
    const problem = problems.get(s.index);
    if (problem !== undefined) seg.problem = problem;
    return seg;
  });
  const view: PlanView = { ok: p.ok && errors.length === 0, errors, warnings: [...p.warnings], stages, regions, segments, totalBytes: p.totalBytes, estimatedMs: p.estimatedMs };
  if (p.loader) view.loader = { id: loaderId ?? p.loader.name, name: p.loader.name };
  const why = loaderReason(p);
  if (why) view.loaderReason = why;
  return view;
}

/** Why the plan stages (or runs on) a loader, and which way internal flash goes, in words. */
function loaderReason(p: FlashPlan): string | undefined {
  const name = p.loader?.name ?? p.loaderRunning;
  if (!name) return undefined;
  const onlyLoader = [...new Set(p.segments.filter((s) => s.region?.via === 'loader' && !p.regions.some((r) => r.via === 'rom' && r.name === s.region!.name)).map((s) => `${s.region!.name} at ${hex32(s.address)}`))];
  const parts = [p.loaderRunning && !p.loader ? `The board is already running ${name}: everything goes through it.` : onlyLoader.length ? `${onlyLoader.join(', ')} ${onlyLoader.length === 1 ? 'is' : 'are'} served only through a loader, so ${name} is staged.` : `${name} is staged.`];
  const r = p.routes;
  if (r) {
    parts.push(
      r.chosen === 'loader'
        ? `Internal flash is written through the loader too: ~${Math.round(r.loader)} ms against ~${Math.round(r.rom)} ms through the ROM bootloader.`
        : `Internal flash is written by the ROM bootloader: ~${Math.round(r.rom)} ms against ~${Math.round(r.loader)} ms through the loader.`,
    );
  }
  return parts.join(' ');
}

/** The plan's stages as rows (what a production lane weights its one bar by, without the rest of the view). */
export function planStagesView(p: FlashPlan): PlanStageView[] {
  return p.stages.map((st) => {
    const operations: PlanOperation[] = [];
    // Sector erases of one region collapse into one row: a 16 MiB QSPI image erases 256 sectors.
    const byRegion = new Map<string, EraseOp[]>();
    for (const e of st.erases) {
      const k = e.region + (e.kind === 'mass' ? ' mass' : '');
      const list = byRegion.get(k);
      if (list) list.push(e);
      else byRegion.set(k, [e]);
    }
    for (const list of byRegion.values()) {
      const first = list[0]!;
      const size = list.reduce((n, e) => n + e.size, 0);
      const ms = list.reduce((n, e) => n + e.estimatedMs, 0);
      operations.push({
        kind: first.kind === 'mass' ? 'mass erase' : 'erase',
        region: first.region,
        address: first.address,
        length: size,
        detail: first.kind === 'mass' ? `whole memory, ~${Math.round(ms)} ms` : `${list.length} sector(s), ~${Math.round(ms)} ms`,
        estimatedMs: ms,
      });
    }
    for (const w of st.writes) {
      operations.push({ kind: 'write', region: w.region, address: w.address, length: w.length, detail: `${w.blocks} block(s) of ${w.transferSize} B, ~${Math.round(w.estimatedMs)} ms`, estimatedMs: w.estimatedMs });
    }
    for (const v of st.verifies) operations.push({ kind: 'verify', region: v.region, address: v.address, length: v.length, detail: `${v.method}, ~${Math.round(v.estimatedMs)} ms`, estimatedMs: v.estimatedMs });
    if (st.staging) {
      // The ROM starts the loader from its vector table on "leave" (AN3156 leave; DESIGN.md staging).
      const s = st.staging;
      operations.push({ kind: 'jump', address: s.jumpAddress, detail: `start ${s.loader} (${s.imageSize} B in RAM), wait ~${Math.round(s.enumerationMs)} ms for it to enumerate`, estimatedMs: s.enumerationMs });
    }
    if (st.leave) operations.push({ kind: 'leave', address: st.leave.address, detail: `start the application (${st.leave.via === 'loader' ? 'from the loader' : 'DfuSe leave'})` });
    return { name: st.name, title: st.title, operations, bytes: st.bytes, estimatedMs: st.estimatedMs };
  });
}
