// The emulated board's peripheral models (src-main/emu/python/bbemu/periph/) are pinned to their
// RM0385 / datasheet sections by Python unit tests in test/emu/periph/; this runs them and fails with
// their own report when any fails. The models need plain Python 3.11 only (no Unicorn).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PERIPH_TESTS = path.join(REPO, 'test', 'emu', 'periph');
// Debian's interpreter, the one the emulator runs under (the emulator's Python is the system's).
const PYTHON = '/usr/bin/python3';

describe('emulated STM32F746 peripheral models', () => {
  it('pass their unit tests (one per RM0385 / datasheet behaviour)', () => {
    const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', PERIPH_TESTS, '-t', PERIPH_TESTS, '-p', 'test_*.py'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 120_000,
    });
    if (r.error) throw r.error;
    const report = `${r.stdout}${r.stderr}`;
    expect(report, report).toMatch(/^Ran [1-9]\d* tests? in/m);
    expect(r.status, report).toBe(0);
  }, 130_000);
});
