// Turns the engine's work into the one FlashEvent stream (shared/progress.ts). Progress events are
// throttled on the clock so a fast flash never floods a UI: at most one per `intervalMs` per phase,
// plus the first and the last of every phase.

import type { FlashEvent, Phase, StageName } from '../../shared/progress.js';
import type { Clock } from '../util/clock.js';

export const PROGRESS_INTERVAL_MS = 100;

export class Reporter {
  private stageStart = new Map<StageName, number>();
  readonly stageMs: Partial<Record<StageName, number>> = {};

  constructor(
    private readonly clock: Clock,
    private readonly sink: ((e: FlashEvent) => void) | undefined,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  emit(e: FlashEvent): void {
    try {
      this.sink?.(e);
    } catch {
      // A failing listener (a closed window, a broken pipe) must never fail the flash itself.
    }
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.emit({ kind: 'log', level, message });
  }

  startStage(stage: StageName): void {
    this.stageStart.set(stage, this.clock.now());
    this.emit({ kind: 'stage', stage, status: 'start' });
  }

  endStage(stage: StageName): void {
    const ms = this.clock.now() - (this.stageStart.get(stage) ?? this.clock.now());
    this.stageMs[stage] = ms;
    this.emit({ kind: 'stage', stage, status: 'end', ms });
  }

  /** A progress tracker for one phase over `total` bytes. */
  phase(stage: StageName, phase: Phase, total: number, region?: string): PhaseProgress {
    return new PhaseProgress(this, this.clock, stage, phase, total, region, this.intervalMs);
  }
}

export class PhaseProgress {
  private readonly start: number;
  private lastEmit = -Infinity;
  private done = 0;

  constructor(
    private readonly reporter: Reporter,
    private readonly clock: Clock,
    private readonly stage: StageName,
    private readonly phase: Phase,
    private readonly total: number,
    private readonly region: string | undefined,
    private readonly intervalMs: number,
  ) {
    this.start = clock.now();
    this.send();
  }

  /** Adds `bytes` to the phase's count. */
  advance(bytes: number): void {
    this.update(this.done + bytes);
  }

  update(done: number): void {
    this.done = Math.min(done, this.total);
    const now = this.clock.now();
    if (this.done >= this.total || now - this.lastEmit >= this.intervalMs) this.send();
  }

  private send(): void {
    const now = this.clock.now();
    this.lastEmit = now;
    const elapsed = now - this.start;
    const rate = elapsed > 0 ? (this.done * 1000) / elapsed : 0;
    const left = this.total - this.done;
    this.reporter.emit({
      kind: 'progress',
      stage: this.stage,
      phase: this.phase,
      ...(this.region !== undefined ? { region: this.region } : {}),
      bytesDone: this.done,
      bytesTotal: this.total,
      rate,
      ...(rate > 0 ? { etaMs: (left * 1000) / rate } : left === 0 ? { etaMs: 0 } : {}),
    });
  }
}
