// The real F746G-DISCO loader's overlap extension (docs/loader-protocol.md §8) on the emulated board:
// its own code programs one 4 KB block while the next arrives over the emulated USB core, so the same
// QSPI image is written in much less time than block by block, and the board holds it either way.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binAt, measureFlash, simBus, spanMs, type FlashRun } from '../../bench/sim.js';
import type { LoaderPackage } from '../../src-main/loader/index.js';
import { openLoaderFolder } from '../../src-main/operations/files.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { expectBytes } from '../engine/helpers.js';
import { pattern } from '../support/data.js';

const ROOT = join(import.meta.dirname, '..', '..');
const QSPI = 0x9000_0000;

async function flashQspi(data: Uint8Array, loader: LoaderPackage): Promise<FlashRun> {
  const bus = simBus(new VirtualClock(), 'stm32f746');
  expect(bus.emulator, 'python3-unicorn is needed (sudo apt-get install python3-unicorn)').toBeDefined();
  try {
    return await measureFlash({ bus, firmware: await binAt(QSPI, data), loader, options: { leave: false } });
  } finally {
    for (const b of [...bus.boards]) bus.removeBoard(b);
  }
}

describe('the real loader writes QSPI with background writes (emulated)', () => {
  it('with "overlap" in its manifest the writes take far less than block by block; the board holds the image both ways', async () => {
    const real = await openLoaderFolder(join(ROOT, 'assets/loaders/stm32f746g-disco'));
    expect(real.manifest.extensions).toContain('overlap');
    const blockByBlock: LoaderPackage = { ...real, manifest: { ...real.manifest, extensions: real.manifest.extensions.filter((x) => x !== 'overlap') } };
    const data = pattern(256 * 1024, 21); // 64 blocks on a blank part: no erase
    const over = await flashQspi(data, real);
    const plain = await flashQspi(data, blockByBlock);
    for (const run of [over, plain]) {
      expect(run.result.error).toBeUndefined();
      expect(run.result.ok).toBe(true);
      expect(run.result.verified.every((v) => v.method === 'crc32')).toBe(true);
      expectBytes(run.board.read(QSPI, data.length), data);
    }
    const write = (r: FlashRun) => spanMs(r.spans, { stage: 'loader', phase: 'write', region: 'QSPI Flash' });
    // Block by block a 4 KB block costs its ≈ 10 ms of page programs plus ≈ 7 ms on the wire; overlapped, about the programs alone.
    expect(write(over)).toBeLessThan(0.75 * write(plain));
    expect(write(over) / 64).toBeGreaterThanOrEqual(8); // never faster than 16 pages × 0.5 ms
  }, 300_000);
});
