// One progress model for a whole flash: every stage and phase of the plan is a part weighted by the
// planner's estimate, so the bar runs once from 0 to 100 % over the whole job (never per phase, never
// backwards). The ETA comes from the measured pace against those weights, so a board faster or slower
// than the estimates (or a simulation at 20×) still gets an honest figure. Pure: no Vue, no DOM.

import type { PlanView } from '../../../shared/contract';
import type { ProgressEvent, StageName } from '../../../shared/progress';

export interface Part {
  stage: StageName;
  /** Engine phase family: erase, write, verify, jump, leave, other. */
  phase: string;
  region?: string;
  weight: number;
  /** Bytes of the operation (0 when none). */
  bytes: number;
}

/** Engine phases as the plan's operation kinds name them. */
export function phaseFamily(phase: string): string {
  if (phase === 'mass erase' || phase === 'erase') return 'erase';
  if (phase === 'stage' || phase === 'write') return 'write';
  if (phase === 'reconnect' || phase === 'jump') return 'jump';
  return phase;
}

export interface DoneItem {
  stage: StageName;
  phase: string;
  region?: string;
  bytesDone: number;
  bytesTotal: number;
  complete: boolean;
}

export class ProgressModel {
  readonly parts: Part[] = [];
  readonly total: number;
  private readonly partDone: number[];
  private fraction = 0;
  private readonly started: number;
  /** What ran so far, phase by phase (for "cancelled after …"). */
  readonly done: DoneItem[] = [];
  /** When the job ended (set by its owner), for "took …". */
  endedAt: number | undefined;
  /** The part the last event was about. */
  current: { stage: StageName; phase: string; region?: string; bytesDone: number; bytesTotal: number } | undefined;

  constructor(plan: Pick<PlanView, 'stages'> | undefined, now: number) {
    this.started = now;
    for (const st of plan?.stages ?? []) {
      let sum = 0;
      for (const op of st.operations) {
        const w = Math.max(1, op.estimatedMs ?? 0);
        sum += w;
        this.parts.push({ stage: st.name, phase: phaseFamily(op.kind), ...(op.region ? { region: op.region } : {}), weight: w, bytes: op.length ?? 0 });
      }
      // What the stage takes beyond its operations (connecting, waiting): done when the stage ends.
      const rest = Math.max(st.estimatedMs - sum, st.operations.length ? 0 : 1);
      if (rest > 0) this.parts.push({ stage: st.name, phase: 'other', weight: rest, bytes: 0 });
    }
    this.total = this.parts.reduce((n, p) => n + p.weight, 0) || 1;
    this.partDone = this.parts.map(() => 0);
  }

  private find(stage: StageName, phase: string, region?: string): number {
    const fam = phaseFamily(phase);
    let i = this.parts.findIndex((p) => p.stage === stage && p.phase === fam && (region === undefined || p.region === undefined || p.region === region));
    if (i < 0) i = this.parts.findIndex((p) => p.stage === stage && p.phase === 'other');
    return i;
  }

  /**
   * A progress event: its part is that far; the parts before it in the same stage are done, and so is
   * every stage before its own (the engine runs stages in order, and ends one before the next starts).
   */
  progress(e: ProgressEvent): void {
    const i = this.find(e.stage, e.phase, e.region);
    const f = e.bytesTotal > 0 ? Math.min(1, e.bytesDone / e.bytesTotal) : 1;
    if (i >= 0) {
      const first = this.parts.findIndex((p) => p.stage === e.stage);
      for (let k = 0; k < first; k++) this.partDone[k] = 1;
      for (let k = 0; k < i; k++) if (this.parts[k]!.stage === e.stage && this.parts[k]!.phase !== 'other') this.partDone[k] = 1;
      this.partDone[i] = Math.max(this.partDone[i]!, f);
    }
    const last = this.done[this.done.length - 1];
    if (last && last.stage === e.stage && last.phase === e.phase && last.region === e.region) {
      last.bytesDone = e.bytesDone;
      last.bytesTotal = e.bytesTotal;
      last.complete = f >= 1;
    } else {
      // The engine moves on only when a phase is finished.
      if (last) last.complete = true;
      this.done.push({ stage: e.stage, phase: e.phase, ...(e.region ? { region: e.region } : {}), bytesDone: e.bytesDone, bytesTotal: e.bytesTotal, complete: f >= 1 });
    }
    this.current = { stage: e.stage, phase: e.phase, ...(e.region ? { region: e.region } : {}), bytesDone: e.bytesDone, bytesTotal: e.bytesTotal };
    this.update();
  }

  /** A stage ended: all its parts are done. */
  stageEnd(stage: StageName): void {
    this.parts.forEach((p, k) => {
      if (p.stage === stage) this.partDone[k] = 1;
    });
    this.update();
  }

  finish(): void {
    this.fraction = 1;
  }

  private update(): void {
    const done = this.parts.reduce((n, p, k) => n + p.weight * this.partDone[k]!, 0);
    // Never backwards, whatever order the events come in.
    this.fraction = Math.max(this.fraction, Math.min(1, done / this.total));
  }

  /** 0–1 over the whole job. */
  get overall(): number {
    return this.fraction;
  }

  elapsedMs(now: number): number {
    return Math.max(0, now - this.started);
  }

  /** Milliseconds left at the measured pace; undefined until enough is done to measure it. */
  etaMs(now: number): number | undefined {
    const el = this.elapsedMs(now);
    const f = this.fraction;
    if (f >= 1) return 0;
    if (f < 0.03 || el < 1000) return undefined;
    return (el * (1 - f)) / f;
  }
}
