// Modelled time of the real F746G-DISCO loader on the emulated board (bbemu/machine.py): a 4 KB write
// to QSPI (16 N25Q128A pages × 0.5 ms) and to internal flash (1024 words × 16 µs) is busy for the
// parts' time, within the bwPollTimeout the loader reports, and an IWDG running at entry does not reset
// the board through a 170 s QSPI bulk erase while the loader refreshes it. The Python tests in
// test/emu/machine/ drive the machine as the Node side does; this runs them and fails with their report.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const DIR = path.join(REPO, 'test', 'emu', 'machine');

describe('emulated board time with the real loader', () => {
  it('4 KB writes take the parts\' time; a running IWDG survives a bulk erase', () => {
    const r = spawnSync('/usr/bin/python3', ['-m', 'unittest', 'discover', '-s', DIR, '-t', DIR, '-p', 'test_*.py'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: path.join(REPO, 'src-main', 'emu', 'python') },
      timeout: 120_000,
    });
    if (r.error) throw r.error;
    const report = `${r.stdout}${r.stderr}`;
    expect(report, report).toMatch(/^Ran [1-9]\d* tests? in/m);
    expect(r.status, report).toBe(0);
  });
});
