// The Electron door under a hostile page: payloads nested thousands deep, objects that are not plain
// data, too many values, a window that goes away mid-send. Main answers each with BAD_ARGUMENT naming
// the problem (the WebSocket door's bounds, shared/contract.ts checkWireShape) and keeps serving.
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeElectron } from './fake-electron.js';
import { FakeBackend, fakeDevice } from './fake-backend.js';
import { ApiHost } from '../../src-main/services/api-host.js';
import { appUrlCheck, forwardEvents, registerIpc, type IpcMainLike } from '../../src-main/app/ipc.js';
import { IPC_PREFIX, type Reply } from '../../shared/contract.js';

const INDEX = 'file:///opt/BootBridge/resources/app.asar/out/renderer/index.html';
let electron: FakeElectron;
let backend: FakeBackend;
let host: ApiHost;

beforeEach(() => {
  electron = new FakeElectron();
  backend = new FakeBackend();
  host = new ApiHost(backend, { shell: 'electron', version: 'test' });
  registerIpc(electron.ipcMain as unknown as IpcMainLike, host, appUrlCheck({ indexFileUrl: INDEX }));
  electron.sender = { url: INDEX, parent: null };
});

const invoke = (method: string, payload: unknown) => electron.ipcRenderer.invoke(IPC_PREFIX + method, payload) as Promise<Reply<unknown>>;

describe('IPC door: bounded payloads', () => {
  it.each([
    ['arrays nested 2,000 deep', () => JSON.parse('['.repeat(2000) + ']'.repeat(2000)) as unknown, /nested deeper than 32/],
    ['objects nested 500 deep', () => JSON.parse('{"a":'.repeat(500) + '1' + '}'.repeat(500)) as unknown, /nested deeper than 32/],
    ['a Map (structured clone carries it, JSON would not)', () => ({ deviceId: new Map([['a', 1]]) }), /only plain objects/],
    ['a Date', () => ({ deviceId: new Date(0) }), /only plain objects/],
    ['200,000 values', () => ({ deviceId: 'sim-1', junk: new Array(200_000).fill(0) }), /more than 100000 values/],
  ])('%s: BAD_ARGUMENT saying why, and the door keeps serving', async (_what, make, why) => {
    const r = await invoke('describe', make());
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(!r.ok && r.error.message).toMatch(why);
    expect(await invoke('listDevices', undefined)).toMatchObject({ ok: true });
  });

  it('a window destroyed while an event is sent costs that window only', () => {
    const sent: unknown[] = [];
    let destroyed = false;
    forwardEvents(host, {
      isDestroyed: () => false,
      send: () => {
        destroyed = true;
        throw new Error('Object has been destroyed');
      },
    });
    forwardEvents(host, { isDestroyed: () => false, send: (_c, e) => sent.push(e) });
    backend.plug(fakeDevice(2));
    expect(destroyed).toBe(true);
    expect(sent).toHaveLength(1);
  });
});
