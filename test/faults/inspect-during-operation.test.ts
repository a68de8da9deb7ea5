// A look at a board (the device list's refresh, the Device tab's describe) that meets an operation on
// the same board — a read or erase through the loader the board runs — never disturbs it: a look already
// reading descriptors finishes before the operation's first request, and one asked for while the
// operation runs answers from what was last read. The board running the loader has just
// re-enumerated, so its descriptors are not cached and the look goes to the wire.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceDescription } from '../../shared/contract.js';
import { createAppBackend, type ServicesBackend } from '../../src-main/services/app-backend.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { ROOT } from '../engine/helpers.js';

const DEMO = new Uint8Array(readFileSync(join(ROOT, 'assets', 'examples', 'demo-f746', 'demo-f746.elf')));
const SECTOR0 = { address: 0x08000000, size: 0x8000 };
const QSPI = 0x90000000;

let backend: ServicesBackend | undefined;
afterEach(async () => {
  await backend?.close();
  backend = undefined;
});

/** A board flashed with the demo and left in the loader, then read through it (QSPI), as the engineer does before an erase. */
async function boardInLoader() {
  backend = await createAppBackend({ sim: 'stm32f746', clock: new VirtualClock(), assetsDir: join(ROOT, 'assets') });
  const b = backend;
  const board = b.conn.bus!.boards[0]!;
  const deviceId = (await b.listDevices())[0]!.id;
  const fw = await b.openFirmwareBytes('demo-f746.elf', DEMO);
  const flashed = await b.flash({ deviceId, firmwareId: fw.id, loader: 'auto', options: { verify: true, leave: false, eraseTouchedOnly: true } }, () => undefined).done;
  expect(flashed.ok, JSON.stringify(flashed.error)).toBe(true);
  expect((await b.read({ deviceId, address: QSPI, length: 0x100 })).length).toBe(0x100);
  expect(Array.from(board.read(SECTOR0.address, 16)).some((x) => x !== 0xff)).toBe(true);
  return { b, board, deviceId };
}

const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((res) => setImmediate(res));
};

/** Describe answers with the board, or says BUSY (a board an operation holds, not read yet in this enumeration). */
function expectAnswered(r: PromiseSettledResult<DeviceDescription>, deviceId: string): void {
  if (r.status === 'fulfilled') expect(r.value.device.id).toBe(deviceId);
  else expect((r.reason as { code?: string }).code, String(r.reason)).toBe('BUSY');
}

describe('a look at a board during an operation on it', () => {
  it('an erase asked for while describe reads the loader’s descriptors waits for it, then erases', async () => {
    const { b, board, deviceId } = await boardInLoader();
    // Every point at which the erase can arrive during the look's open / descriptors / release / close.
    for (let at = 0; at < 40; at++) {
      board.poke(SECTOR0.address, new Uint8Array(16).fill(0x5a));
      b.engineering.devices.forget(deviceId);
      const described = Promise.allSettled([b.describe(deviceId)]);
      await ticks(at);
      const erased = await b.erase({ deviceId, addresses: [SECTOR0.address] });
      expect(erased.map((s) => s.address), `erase arriving ${at} ticks into describe`).toEqual([SECTOR0.address]);
      expect(Array.from(board.read(SECTOR0.address, SECTOR0.size)).every((x) => x === 0xff), `sector erased (${at} ticks)`).toBe(true);
      expectAnswered((await described)[0], deviceId);
    }
  }, 120_000);

  it('describe and the device list asked for while an erase runs answer without touching the board; the erase completes', async () => {
    const { b, board, deviceId } = await boardInLoader();
    for (let at = 0; at < 40; at++) {
      board.poke(SECTOR0.address, new Uint8Array(16).fill(0x5a));
      b.engineering.devices.forget(deviceId);
      const erasing = b.erase({ deviceId, addresses: [SECTOR0.address] });
      await ticks(at);
      const looks = Promise.allSettled([b.describe(deviceId), b.listDevices()]);
      expect((await erasing).map((s) => s.address), `describe arriving ${at} ticks into the erase`).toEqual([SECTOR0.address]);
      expect(Array.from(board.read(SECTOR0.address, SECTOR0.size)).every((x) => x === 0xff), `sector erased (${at} ticks)`).toBe(true);
      const [described, listed] = await looks;
      expect(listed.status === 'fulfilled' && listed.value.some((d) => d.id === deviceId), 'the board stays listed').toBe(true);
      expectAnswered(described, deviceId);
    }
  }, 120_000);
});
