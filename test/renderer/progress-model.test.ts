// The GUI's one progress model: a bar over the whole job weighted by the plan's estimates, never going
// backwards when a new phase starts, an ETA from the measured pace, and what was done before a stop.
import { describe, expect, it } from 'vitest';
import { ProgressModel } from '../../src-renderer/src/lib/progress-model.js';
import { guiErrorLine, guiFormatError, guiMessage } from '../../src-renderer/src/lib/words.js';
import type { PlanStageView } from '../../shared/contract.js';

const stages: PlanStageView[] = [
  {
    name: 'loader',
    title: 'Through the loader',
    bytes: 0,
    estimatedMs: 4000,
    operations: [
      { kind: 'erase', region: 'QSPI Flash', length: 262144, estimatedMs: 3000 },
      { kind: 'write', region: 'QSPI Flash', length: 262144, estimatedMs: 900 },
      { kind: 'verify', region: 'QSPI Flash', length: 262144, estimatedMs: 100 },
    ],
  },
];
const ev = (phase: 'erase' | 'write' | 'verify', done: number, total = 262144) => ({ kind: 'progress' as const, stage: 'loader' as const, phase, region: 'QSPI Flash', bytesDone: done, bytesTotal: total, rate: 0 });

describe('progress model', () => {
  it('weights phases by the estimates: erase done is 75 %, and the start of writing does not fall back', () => {
    const m = new ProgressModel({ stages }, 0);
    m.progress(ev('erase', 262144 * 0.94));
    expect(m.overall).toBeCloseTo(0.705, 2);
    m.progress(ev('write', 0));
    // Erase is complete once writing starts: 75 %, not 2 %.
    expect(m.overall).toBeCloseTo(0.75, 2);
    m.progress(ev('write', 131072));
    expect(m.overall).toBeCloseTo(0.8625, 3);
    // A late or repeated event never moves the bar back.
    m.progress(ev('erase', 0));
    expect(m.overall).toBeCloseTo(0.8625, 3);
  });

  it('estimates the time left from the measured pace, not from the current phase alone', () => {
    const m = new ProgressModel({ stages }, 0);
    expect(m.etaMs(500)).toBeUndefined();
    m.progress(ev('erase', 262144 / 2));
    // 37.5 % in 3 s: 5 s left.
    expect(m.etaMs(3000)).toBeCloseTo(5000, -1);
    expect(m.elapsedMs(3000)).toBe(3000);
  });

  it('keeps what ran before a stop, with the phase in progress marked partly done', () => {
    const m = new ProgressModel({ stages }, 0);
    m.progress(ev('erase', 262144));
    m.progress(ev('write', 65536));
    expect(m.done.map((d) => [d.phase, d.complete, d.bytesDone])).toEqual([
      ['erase', true, 262144],
      ['write', false, 65536],
    ]);
  });
});

describe('errors worded for the window', () => {
  it('says no command-line flag', () => {
    // Error messages name no flag (the remedy code says what to do); the window words the remedy.
    const text = guiFormatError({ code: 'DEVICE_AMBIGUOUS', message: '2 DFU devices attached (A, B)', context: {}, remedy: 'choose-board' });
    expect(text).not.toMatch(/--[a-z]/);
    expect(text).toContain('select the board in the device list');
    // A plan issue names no flag; its remedy code is worded with the window's controls.
    expect(guiErrorLine({ message: 'QSPI at 0x90000000 is served only by a loader.', remedy: 'choose-loader' })).toBe('QSPI at 0x90000000 is served only by a loader. Choose a loader that serves this memory in the Loader menu of the toolbar.');
    expect(guiMessage('Chip unknown: estimates use the F745 timing; check --chip.')).not.toContain('--chip');
    expect(guiFormatError({ code: 'BAD_ARGUMENT', message: 'bad', context: {} })).not.toContain('command line');
  });
});
