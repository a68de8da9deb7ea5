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

export interface FlashResult {
  ok: boolean;
  error?: ErrorData;
  /** Milliseconds per stage that ran. */
  stageMs: Partial<Record<StageName, number>>;
  bytesWritten: number;
  bytesVerified: number;
  verified: VerifiedRange[];
  /** True when the board was told to leave DFU and start the application. */
  left: boolean;
  cancelled: boolean;
}

export interface ResultEvent {
  kind: 'result';
  result: FlashResult;
}

export type FlashEvent = ProgressEvent | StageEvent | LogEvent | ResultEvent;
