// One operation per board at a time, through the API host as a page reaches it (IPC or WebSocket):
// a second flash or a read of a board being flashed, or a flash of a board a production lane holds,
// is refused with BUSY naming the board, and the first operation is not disturbed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlashResult, Reply } from '../../shared/contract.js';
import { ApiHost } from '../../src-main/services/api-host.js';
import { createAppBackend, type ServicesBackend } from '../../src-main/services/app-backend.js';
import { boardLocks } from '../../src-main/operations/board-locks.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { ROOT } from '../engine/helpers.js';

const DEMO = new Uint8Array(readFileSync(join(ROOT, 'assets', 'examples', 'demo-f746', 'demo-f746.elf')));
const OPTS = { verify: true, leave: true, eraseTouchedOnly: true };

let backend: ServicesBackend | undefined;
let api: ApiHost | undefined;

afterEach(async () => {
  api?.dispose();
  await backend?.close();
  api = undefined;
  backend = undefined;
});

async function host() {
  backend = await createAppBackend({ sim: 'stm32f746', clock: new VirtualClock(), assetsDir: join(ROOT, 'assets') });
  api = new ApiHost(backend, { shell: 'web', version: 'test' });
  const call = async <T>(method: string, payload?: unknown): Promise<Reply<T>> => (await api!.dispatch(method, payload)) as Reply<T>;
  const devices = await call<{ id: string }[]>('listDevices');
  expect(devices.ok).toBe(true);
  const deviceId = (devices as { value: { id: string }[] }).value[0]!.id;
  const fw = await call<{ id: string }>('openFirmwareBytes', { name: 'demo-f746.elf', bytes: DEMO });
  expect(fw.ok).toBe(true);
  const firmwareId = (fw as { value: { id: string } }).value.id;
  const results = new Map<string, FlashResult>();
  api.onEvent((e) => {
    const ev = e as { type?: string; opId?: string; event?: { kind: string; result?: FlashResult } };
    if (ev.type === 'flash' && ev.opId && ev.event?.kind === 'result' && ev.event.result) results.set(ev.opId, ev.event.result);
  });
  /** Starts a flash; resolves with its FlashResult (the result event for its opId). */
  const flash = async (req: unknown): Promise<FlashResult> => {
    const r = await call<{ opId: string }>('flash', req);
    if (!r.ok) return { ok: false, error: r.error, stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: false };
    const opId = r.value.opId;
    for (let i = 0; i < 100_000 && !results.has(opId); i++) await new Promise((res) => setImmediate(res));
    expect(results.has(opId), 'a result event for the flash').toBe(true);
    return results.get(opId)!;
  };
  return { call, flash, deviceId, firmwareId };
}

describe('one operation per board, through the API host', () => {
  it('a second flash of a board being flashed is refused with BUSY; the first one PASSes', async () => {
    const { flash, deviceId, firmwareId } = await host();
    const req = { deviceId, firmwareId, loader: 'auto', options: OPTS };
    const first = flash(req);
    const second = await flash(req);
    expect(second.ok).toBe(false);
    expect(second.error?.code).toBe('BUSY');
    expect(second.error?.context.serial).toBe(deviceId);
    const done = await first;
    expect(done.error).toBeUndefined();
    expect(done.ok).toBe(true);
  });

  it('a flash of a board that a production lane holds is refused with BUSY', async () => {
    const { flash, deviceId, firmwareId } = await host();
    const lock = boardLocks.acquire(deviceId, 'production');
    try {
      const r = await flash({ deviceId, firmwareId, loader: 'auto', options: OPTS });
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('BUSY');
    } finally {
      lock.release();
    }
  });

  it('reading a board while it is being flashed is refused with BUSY', async () => {
    const { call, flash, deviceId, firmwareId } = await host();
    const first = flash({ deviceId, firmwareId, loader: 'auto', options: OPTS });
    const read = await call('read', { deviceId, address: 0x08000000, length: 256 });
    expect(read.ok).toBe(false);
    expect(!read.ok && read.error.code).toBe('BUSY');
    expect((await first).ok).toBe(true);
  });
});
