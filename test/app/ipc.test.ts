// The Electron door with a fake `electron`: the preload exposes only the contract's named functions,
// main answers only the app's own top-level page, and every payload is checked against its schema.
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeElectron } from './fake-electron.js';
import { FakeBackend } from './fake-backend.js';
import { ApiHost } from '../../src-main/services/api-host.js';
import { appUrlCheck, forwardEvents, registerIpc, type IpcMainLike } from '../../src-main/app/ipc.js';
import { IPC_EVENT_CHANNEL, METHODS, type AppEvent, type PreloadApi } from '../../shared/contract.js';

const electron = new FakeElectron();
vi.mock('electron', () => ({ contextBridge: electron.contextBridge, ipcRenderer: electron.ipcRenderer }));

const INDEX = 'file:///opt/BootBridge/resources/app.asar/out/renderer/index.html';
let api: PreloadApi;
let backend: FakeBackend;
let host: ApiHost;
let unregister: () => void = () => undefined;

beforeAll(async () => {
  await import('../../src-main/app/preload.js');
  api = electron.exposed.get('bootbridge') as PreloadApi;
});

beforeEach(() => {
  unregister();
  backend = new FakeBackend();
  host = new ApiHost(backend, { shell: 'electron', version: 'test' });
  unregister = registerIpc(electron.ipcMain as unknown as IpcMainLike, host, appUrlCheck({ indexFileUrl: INDEX }));
  electron.sender = { url: INDEX, parent: null };
  electron.invoked = [];
});

describe('preload', () => {
  it('exposes one frozen object with exactly the contract’s functions and nothing else', () => {
    expect([...electron.exposed.keys()]).toEqual(['bootbridge']);
    expect(Object.isFrozen(api)).toBe(true);
    expect(Object.keys(api).sort()).toEqual([...METHODS, 'onEvent'].sort());
    for (const key of ['invoke', 'send', 'ipcRenderer', 'on', 'sendSync']) expect(key in api).toBe(false);
    for (const v of Object.values(api)) expect(typeof v).toBe('function');
  });

  it('forwards exactly one argument to the method’s own channel', async () => {
    const read = api.read as unknown as (...a: unknown[]) => Promise<unknown>;
    await read({ deviceId: 'sim-1', address: 0x08000000, length: 4 }, 'bb:cancel', { opId: 'x' });
    expect(electron.invoked).toEqual([{ channel: 'bb:read', args: [{ deviceId: 'sim-1', address: 0x08000000, length: 4 }] }]);
  });

  it('delivers main’s events to subscribers until they unsubscribe', () => {
    const got: AppEvent[] = [];
    const off = api.onEvent((e) => got.push(e));
    electron.deliver(IPC_EVENT_CHANNEL, { type: 'log', level: 'info', message: 'one' });
    off();
    electron.deliver(IPC_EVENT_CHANNEL, { type: 'log', level: 'info', message: 'two' });
    expect(got).toEqual([{ type: 'log', level: 'info', message: 'one' }]);
  });
});

describe('main IPC handlers', () => {
  it('answers the app’s own page with data, bytes intact', async () => {
    expect(await api.listDevices()).toMatchObject({ ok: true, value: [{ id: 'sim-1', chip: { deviceId: 0x449 } }] });
    const r = await api.read({ deviceId: 'sim-1', address: 0x08000000, length: 3 });
    expect(r).toEqual({ ok: true, value: new Uint8Array([0xab, 0xab, 0xab]) });
  });

  it.each([
    ['a remote page', { url: 'https://evil.example/index.html', parent: null }],
    ['another local file', { url: 'file:///home/user/Downloads/evil.html', parent: null }],
    ['a subframe of the app', { url: INDEX, parent: {} }],
  ])('refuses calls from %s', async (_what, sender) => {
    electron.sender = sender;
    const r = await api.listDevices();
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', context: { field: 'sender' } } });
  });

  it.each([
    ['a string address', 'read', { deviceId: 'sim-1', address: '0x08000000', length: 4 }, 'address'],
    ['an address past 32 bits', 'read', { deviceId: 'sim-1', address: 2 ** 32, length: 4 }, 'address'],
    ['an unknown field', 'describe', { deviceId: 'sim-1', extra: true }, 'extra'],
    ['a missing device', 'plan', { firmwareId: 'fw-1', options: { verify: true, leave: true, eraseTouchedOnly: true } }, 'deviceId'],
    ['bytes that are not bytes', 'openFirmwareBytes', { name: 'a.bin', bytes: [1, 2, 3] }, 'bytes'],
    ['a bad theme', 'setSettings', { theme: 'neon' }, 'theme'],
  ])('rejects %s with BAD_ARGUMENT naming the field', async (_what, method, payload, field) => {
    const fn = (api as unknown as Record<string, (p: unknown) => Promise<unknown>>)[method]!;
    const r = await fn(payload);
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', context: { field } } });
  });

  it('opens by path only files main listed itself, and never writes to a page-given path', async () => {
    const opened: string[] = [];
    backend.openFirmware = async (path: string) => {
      opened.push(path);
      return { id: 'x', name: 'x', format: 'elf', size: 0, sha256: '', segments: [] };
    };
    const r = await api.openFirmwarePath({ path: '/home/user/.ssh/id_ed25519' });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', context: { field: 'path' } } });
    expect(opened).toEqual([]);
    const exp = await (api.exportDfu as unknown as (p: unknown) => Promise<unknown>)({ firmwareId: 'fw-1', outPath: '/etc/cron.d/x' });
    expect(exp).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', context: { field: 'outPath' } } });
  });

  it('turns a service failure into ErrorData with its code and context', async () => {
    const r = await api.describe({ deviceId: 'nope' });
    expect(r).toMatchObject({ ok: false, error: { code: 'DEVICE_NOT_FOUND' } });
  });

  it('pushes flash progress and the result to the window', async () => {
    const contents = { sent: [] as unknown[][], send(...a: unknown[]) { this.sent.push(a); }, isDestroyed: () => false };
    const off = forwardEvents(host, contents);
    const fw = await api.openFirmwareBytes({ name: 'app.bin', bytes: new Uint8Array(16) });
    expect(fw.ok).toBe(true);
    const id = fw.ok ? fw.value.id : '';
    const op = await api.flash({ deviceId: 'sim-1', firmwareId: id, options: { verify: true, leave: true, eraseTouchedOnly: true } });
    expect(op.ok).toBe(true);
    await vi.waitFor(() => expect(contents.sent.some((s) => (s[1] as AppEvent).type === 'flash' && ((s[1] as { event: { kind: string } }).event.kind === 'result'))).toBe(true));
    const kinds = contents.sent.filter((s) => s[0] === IPC_EVENT_CHANNEL).map((s) => (s[1] as { event: { kind: string } }).event.kind);
    expect(kinds).toEqual(['stage', 'progress', 'stage', 'result']);
    off();
  });
});

describe('app URL check', () => {
  it('accepts only the packaged index.html, or only the dev server origin while developing', () => {
    const packaged = appUrlCheck({ indexFileUrl: INDEX });
    expect(packaged(INDEX)).toBe(true);
    expect(packaged(INDEX + '#/plan')).toBe(true);
    expect(packaged('file:///opt/BootBridge/resources/app.asar/out/renderer/other.html')).toBe(false);
    expect(packaged('http://localhost:5173/')).toBe(false);
    expect(packaged('not a url')).toBe(false);
    const dev = appUrlCheck({ indexFileUrl: INDEX, devServerUrl: 'http://localhost:5173' });
    expect(dev('http://localhost:5173/index.html')).toBe(true);
    expect(dev('http://localhost:5174/')).toBe(false);
    expect(dev(INDEX)).toBe(false);
  });
});
