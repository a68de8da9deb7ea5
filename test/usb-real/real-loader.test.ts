// dfu-util against the real F746G-DISCO loader on the virtual USB bus: dfu-util itself stages the
// loader image into RAM through the simulated ROM (DfuSe write + leave to 0x20010000), the board runs
// that image's machine code on the emulated Cortex-M7, and dfu-util lists the loader, downloads to its
// QSPI alt and uploads the same bytes back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runOnVirtualBus } from '../harness/run.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfu-real-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const LOADER = path.join(REPO, 'assets/loaders/stm32f746g-disco/loader.bin');

describe('dfu-util and the real loader on the emulated board', () => {
  it('stages it through the ROM, lists it, downloads to QSPI and uploads the same bytes', async () => {
    const data = randomBytes(8192);
    const file = path.join(tmp, 'data.bin');
    const back = path.join(tmp, 'back.bin');
    fs.writeFileSync(file, data);
    const script = [
      'set -e',
      // The ROM (0483:df11) takes the image into SRAM1 and jumps to it (AN3156 §5.5: leave to RAM).
      `dfu-util -d 0483:df11 -a 0 -s 0x20010000:force:leave -D ${LOADER}`,
      // The loader enumerates after its start-up (clocks, HSE measurement, ≥ 35 ms disconnected).
      'for i in $(seq 1 60); do dfu-util -l -d 1209:0001 2>/dev/null | grep -q "Found DFU: \\[1209:0001\\]" && break; sleep 0.5; done',
      'dfu-util -l -d 1209:0001',
      `dfu-util -d 1209:0001 -a 0 -s 0x90000000 -D ${file}`,
      `dfu-util -d 1209:0001 -a 0 -s 0x90000000:${data.length} -U ${back}`,
    ].join('\n');
    const r = await runOnVirtualBus({ boards: ['stm32f746:EMUREAL00001'], command: 'sh', args: ['-c', script], timeoutMs: 240_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Found DFU: \[1209:0001\] .*alt=0, name="@QSPI Flash \/0x90000000\/256\*064Kg"/);
    expect(r.stdout).toMatch(/Found DFU: \[1209:0001\] .*alt=1, name="@Internal Flash/);
    expect(r.stdout).toMatch(/File downloaded successfully/);
    expect(fs.readFileSync(back).equals(data)).toBe(true);
  }, 300_000);
});
