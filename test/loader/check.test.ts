// `bootbridge loader check`: the conformance suite passes the simulator's own loaders and fails a
// loader with a bug — a manifest that lies, poll timeouts that are not honest, a write that stores
// wrong bytes — naming the check.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLoader, type CheckVerdict } from '../../src-main/engine/conformance.js';
import type { LoaderPackage } from '../../src-main/loader/index.js';
import { openLoaderFolder } from '../../src-main/operations/files.js';
import { SIM_MODELS, SimBus, simLoaderImages, type SimBoard, type SimModelName } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { firstBoard, loaderDir, simConnection, simLoader } from '../engine/helpers.js';

async function check(model: SimModelName, pkg: LoaderPackage, arm?: (board: SimBoard) => void, conn = simConnection(model)): Promise<CheckVerdict[]> {
  const { board, device, details } = await firstBoard(conn);
  arm?.(board);
  return checkLoader({ backend: conn.bus, clock: conn.clock }, { device }, pkg, details.chip ? { chip: details.chip } : {});
}

const failed = (v: CheckVerdict[]) => v.filter((x) => x.verdict === 'fail').map((x) => x.id);

async function lyingPackage(edit: (m: Record<string, unknown>) => void): Promise<LoaderPackage> {
  const dir = mkdtempSync(join(tmpdir(), 'bb-check-'));
  cpSync(loaderDir('stm32f746'), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'loader.json'), 'utf8')) as Record<string, unknown>;
  edit(manifest);
  writeFileSync(join(dir, 'loader.json'), JSON.stringify(manifest));
  return openLoaderFolder(dir);
}

describe('loader protocol v1 conformance check', () => {
  for (const model of SIM_MODELS) {
    it(`passes the simulated ${model} loader, every check naming its protocol section`, async () => {
      const v = await check(model, await simLoader(model));
      expect(failed(v)).toEqual([]);
      expect(v.every((x) => /^§\d/.test(x.section))).toBe(true);
      const ids = v.map((x) => x.id);
      for (const id of ['enumeration', 'descriptors.functional', 'descriptors.transfer-size', 'descriptors.alt-strings', 'serial', 'nonce', 'commands', 'errors.address-outside', 'alt0.sector-erase', 'alt0.write', 'alt0.read', 'alt0.crc32', 'alt0.mass-erase', 'leave']) {
        expect(ids).toContain(id);
      }
      expect(v.filter((x) => x.verdict === 'pass').length).toBeGreaterThanOrEqual(14);
    });
  }

  it('a manifest that lies about the transfer size fails descriptors.transfer-size, and only that', async () => {
    const v = await check('stm32f746', await lyingPackage((m) => (m.transferSize = 2048)));
    expect(failed(v)).toEqual(['descriptors.transfer-size']);
    expect(v.find((x) => x.id === 'descriptors.transfer-size')).toMatchObject({ section: '§2.1', detail: 'wTransferSize 4096, loader.json 2048' });
  });

  it('a manifest that lies about a memory fails descriptors.alt-strings', async () => {
    const v = await check('stm32f746', await lyingPackage((m) => ((m.memories as string[])[0] = '@QSPI Flash /0x90000000/128*128Kg')));
    expect(failed(v)).toContain('descriptors.alt-strings');
  });

  it('erases slower than the poll timeout they report fail the honest-poll-timeout check', async () => {
    const v = await check('stm32f746', await simLoader(), (b) => b.faults.add({ kind: 'slow-erase', factor: 4, persistent: true }));
    expect(failed(v)).toEqual(expect.arrayContaining(['alt0.sector-erase', 'alt1.sector-erase']));
    expect(v.find((x) => x.id === 'alt0.sector-erase')!.detail).toMatch(/first bwPollTimeout 700 ms, busy \d+ ms: far below the real busy time/);
  });

  it('a write that stores a wrong bit fails the read-back and the CRC32 check', async () => {
    const v = await check('stm32f746', await simLoader(), (b) => {
      // The staging write goes through the ROM first; flip a bit in the loader's first data write instead.
      b.onModeChange((mode) => {
        if (mode === 'loader') b.faults.add({ kind: 'flip-bit', offset: 3000, bit: 2 });
      });
    });
    expect(failed(v)).toEqual(['alt0.read', 'alt0.crc32']);
  });

  it('checks the overlap extension: B1 listed, blocks accepted at once, a drain, the bytes on the board; no bulk erase where loader.json gives its time', async () => {
    const v = await check('stm32f746', await simLoader());
    expect(v.find((x) => x.id === 'overlap.command')).toMatchObject({ section: '§8', verdict: 'pass' });
    for (const id of ['alt0.overlap-write', 'alt1.overlap-write']) {
      expect(v.find((x) => x.id === id)).toMatchObject({ section: '§8', verdict: 'pass', detail: expect.stringMatching(/^accepted: dfuDNLOAD_IDLE\/OK 0 ms.*drain: .*then dfuDNLOAD_IDLE\/OK.*CRC32 of the 8192 bytes: device (0x[0-9A-F]{8}), written \1$/) });
    }
    // QSPI: timing.massEraseMs [170000] — not run; the internal flash (no figure) still is.
    expect(v.find((x) => x.id === 'alt0.mass-erase')).toMatchObject({ verdict: 'skip', detail: expect.stringMatching(/^not exercised: loader\.json timing\.massEraseMs gives 170000 ms/) });
    expect(v.find((x) => x.id === 'alt1.mass-erase')).toMatchObject({ verdict: 'pass' });
  });

  it('a loader whose manifest lists "overlap" but whose device does not offer B1 fails overlap.command, and only that', async () => {
    const clock = new VirtualClock();
    const bus = new SimBus({ clock });
    bus.addBoard('stm32f746', { loaders: simLoaderImages('stm32f746').map((l) => ({ ...l, overlap: false })) });
    const v = await check('stm32f746', await simLoader(), undefined, { backend: bus, clock, bus, save: () => undefined, close: async () => undefined });
    expect(failed(v)).toEqual(['overlap.command']);
    expect(v.find((x) => x.id === 'overlap.command')!.detail).toMatch(/^00 21 41 b0: no B1/);
    expect(v.find((x) => x.id === 'alt0.overlap-write')).toMatchObject({ verdict: 'skip', detail: expect.stringMatching(/does not list B1/) });
  });

  it('a manifest without "overlap" skips the extension\'s checks with one line saying so, whatever the device offers', async () => {
    const v = await check('stm32f746', await lyingPackage((m) => (m.extensions = ['crc32'])));
    expect(failed(v)).toEqual([]);
    expect(v.filter((x) => x.section === '§8')).toEqual([
      expect.objectContaining({ id: 'overlap', verdict: 'skip', detail: expect.stringMatching(/does not list "overlap"/) }),
    ]);
  });
});
