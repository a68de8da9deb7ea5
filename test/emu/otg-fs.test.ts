// The DWC2 OTG FS device model (src-main/emu/python/bbemu/periph/otg_fs.py) is pinned to RM0385 §32 by
// the Python unit tests in test/emu/dwc2/ (one packet per EP0 OUT arm, PKTSTS order, FIFO sizes and
// overflow, STALL, SET_ADDRESS, connection rules); this runs them and fails with their report.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const DIR = path.join(REPO, 'test', 'emu', 'dwc2');

describe('emulated OTG FS (DWC2) device model', () => {
  it('passes its unit tests, each tied to its RM0385 section', () => {
    const r = spawnSync('/usr/bin/python3', ['-m', 'unittest', 'discover', '-s', DIR, '-t', DIR, '-p', 'test_*.py'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 60_000,
    });
    if (r.error) throw r.error;
    const report = `${r.stdout}${r.stderr}`;
    expect(report, report).toMatch(/^Ran [1-9]\d* tests? in/m);
    expect(r.status, report).toBe(0);
  });
});
