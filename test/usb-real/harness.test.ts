// The harness itself: it says what is wrong instead of passing or hanging, and it passes the
// command's exit code through.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_MISSING, PYTHON, REPO, runOnVirtualBus } from '../harness/run.js';

const VUSB = path.join(REPO, 'test', 'harness', 'vusb.py');

describe('virtual USB harness', () => {
  it('exits 96 naming the missing piece when umockdev cannot be imported', () => {
    // -S hides the system site-packages, where the umockdev GObject bindings live.
    const r = spawnSync(PYTHON, ['-S', VUSB, '--board', 'stm32f746', '--', 'true'], { encoding: 'utf8' });
    expect(r.status).toBe(EXIT_MISSING);
    expect(r.stderr).toMatch(/vusb: missing: umockdev GObject bindings .*apt-get install/);
  });

  it('fails with the simulator\'s words for an unknown board model', async () => {
    const r = await runOnVirtualBus({ boards: ['stm32f999'], command: 'true' });
    expect(r.code).toBe(97);
    expect(r.stderr).toMatch(/Unknown simulated board "stm32f999"/);
  });

  it('passes the command\'s exit code through and stops a command that outlives its timeout', async () => {
    expect((await runOnVirtualBus({ boards: ['stm32f746'], command: 'sh', args: ['-c', 'exit 7'] })).code).toBe(7);
    const slow = await runOnVirtualBus({ boards: [], command: 'sleep', args: ['30'], timeoutMs: 500 });
    expect(slow.code).toBe(124);
    expect(slow.stderr).toMatch(/did not finish in 0.5 s/);
  });
});
