// The one progress type (STYLE.md §6): the engine emits FlashEvents; the CLI bar, the GUI and the
// production unit log all read the same stream. Plain data, so it crosses IPC and WebSocket as is.

import type { ErrorData } from './errors.js';

/** Stages of a flash run, in order. A run without a loader has only 'rom' and 'leave'. */
export type StageName = 'rom' | 'staging' | 'loader' | 'leave';

export type Phase = 'connect' | 'erase' | 'write' | 'verify' | 'read' | 'stage' | 'jump' | 'reconnect' | 'leave';

export interface ProgressEvent {
  kind: 'progress';
  stage: StageName;
  phase: Phase;
  /** Memory being worked on ("Internal Flash", "QSPI Flash", "SRAM"). */
  region?: string;
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over the phase so far (0 until known). */
  rate: number;
  /** Estimated milliseconds left in this phase (undefined until known). */
  etaMs?: number;
}

export interface StageEvent {
  kind: 'stage';
  stage: StageName;
  status: 'start' | 'end';
  /** Milliseconds the stage took (on 'end'). */
  ms?: number;
}

export interface LogEvent {
  kind: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export interface VerifiedRange {
  region: string;
  address: number;
  length: number;
  method: 'read-back' | 'crc32';
}

/**
 * What became of the leave at the end of a run: 'stayed' (none requested, or the run stopped before
 * it), 'left' (every request of the leave answered, the board went: the application starts),
 * 'unconfirmed' (the leave was sent but the board went off the bus before answering all of it —
 * unplugged, or it left without answering: start not confirmed).
 */
export type LeaveOutcome = 'stayed' | 'left' | 'unconfirmed';

export interface FlashResult {
  ok: boolean;
  error?: ErrorData;
  /** Milliseconds per stage that ran. */
  stageMs: Partial<Record<StageName, number>>;
  bytesWritten: number;
  bytesVerified: number;
  verified: VerifiedRange[];
  /** True only when the leave was confirmed (`leave === 'left'`): never for an unconfirmed one. */
  left: boolean;
  /** The leave's outcome (the engine always sets it; older producers may not). */
  leave?: LeaveOutcome;
  cancelled: boolean;
  /** Flash sectors compared before erase and write (absent when none was: `--no-skip`, mass erase, RAM). */
  sectors?: SectorOutcome[];
  /** Sectors erased (compared or not; a mass erase counts every sector of its memory it erased). */
  sectorsErased?: number;
  /** Compared sectors left alone because they already held the image. */
  sectorsSkipped?: number;
  /** Bytes of the image not sent because their sector already held them. */
  bytesUnchanged?: number;
}

/** What the engine found in one flash sector before writing it, and what it did. */
export interface SectorOutcome {
  region: string;
  address: number;
  size: number;
  /** How it was compared. */
  method: 'crc32' | 'read-back';
  /** 'equal': held the image already (skipped); 'blank': erased already (written, no erase); 'different': erased and written. */
  found: 'equal' | 'blank' | 'different';
  erased: boolean;
  /** Bytes sent to it. */
  bytesWritten: number;
  /** Uncovered bytes were read and written back (`--preserve`). */
  preserved?: boolean;
}

export interface ResultEvent {
  kind: 'result';
  result: FlashResult;
}

export type FlashEvent = ProgressEvent | StageEvent | LogEvent | ResultEvent;
