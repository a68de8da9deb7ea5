import { describe, expect, it } from 'vitest';
import { fromPreload, fromWebSocket, pickTransport, type SocketLike } from '../../src-renderer/src/transport.js';
import { ContractError, decodeWire, encodeWire, type AppEvent, type PreloadApi } from '../../shared/contract.js';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  private listeners = new Map<string, ((ev: { data?: unknown }) => void)[]>();
  send(data: string) {
    this.sent.push(decodeWire(data));
  }
  close() {
    this.fire('close', {});
  }
  addEventListener(type: string, l: (ev: { data?: unknown }) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), l]);
  }
  fire(type: string, ev: { data?: unknown }) {
    for (const l of this.listeners.get(type) ?? []) l(ev);
  }
  reply(m: unknown) {
    this.fire('message', { data: encodeWire(m) });
  }
}

describe('WebSocket transport', () => {
  it('queues calls until the socket opens, then matches replies by id with bytes intact', async () => {
    const sock = new FakeSocket();
    const api = fromWebSocket(() => sock);
    const p1 = api.listDevices();
    const p2 = api.read({ deviceId: 'a', address: 1, length: 2 });
    expect(sock.sent).toEqual([]);
    sock.fire('open', {});
    expect(sock.sent).toEqual([
      { id: 1, method: 'listDevices' },
      { id: 2, method: 'read', payload: { deviceId: 'a', address: 1, length: 2 } },
    ]);
    sock.reply({ id: 2, reply: { ok: true, value: new Uint8Array([7, 8]) } });
    sock.reply({ id: 1, reply: { ok: true, value: [] } });
    expect(await p2).toEqual(new Uint8Array([7, 8]));
    expect(await p1).toEqual([]);
  });

  it('rejects with ContractError carrying the code and context', async () => {
    const sock = new FakeSocket();
    const api = fromWebSocket(() => sock);
    sock.fire('open', {});
    const p = api.describe({ deviceId: 'x' });
    sock.reply({ id: 1, reply: { ok: false, error: { code: 'DEVICE_NOT_FOUND', message: 'gone', context: { serial: 'x' } } } });
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ContractError);
    expect((e as ContractError).data).toEqual({ code: 'DEVICE_NOT_FOUND', message: 'gone', context: { serial: 'x' } });
  });

  it('delivers events and fails pending calls when the connection closes', async () => {
    const sock = new FakeSocket();
    const api = fromWebSocket(() => sock);
    const events: AppEvent[] = [];
    api.onEvent((e) => events.push(e));
    sock.fire('open', {});
    sock.reply({ event: { type: 'devices', devices: [] } });
    const pending = api.listLoaders();
    sock.close();
    await expect(pending).rejects.toBeInstanceOf(ContractError);
    expect(events[0]).toEqual({ type: 'devices', devices: [] });
    expect(events[1]).toMatchObject({ type: 'log', level: 'error' });
  });
});

describe('transport choice', () => {
  it('uses the preload API when present and unwraps its replies', async () => {
    const preload = {
      listDevices: async () => ({ ok: true, value: [{ id: 'd' }] }),
      onEvent: () => () => undefined,
    } as unknown as PreloadApi;
    const api = pickTransport({ bootbridge: preload, location: { search: '' } } as unknown as Parameters<typeof pickTransport>[0]);
    expect(await api.listDevices()).toEqual([{ id: 'd' }]);
    const failing = fromPreload({ describe: async () => ({ ok: false, error: { code: 'BUSY', message: 'b', context: {} } }) } as unknown as PreloadApi);
    await expect(failing.describe({ deviceId: 'd' })).rejects.toMatchObject({ data: { code: 'BUSY' } });
  });
});

describe('files streamed from the page', () => {
  it('a file read piece by piece leaves as the same messages as its bytes in one call, reading at most one part at a time', async () => {
    const { encodeWireMessages, encodeWireStream, WIRE_STREAMED_BYTES, WireAssembler } = await import('../../shared/contract.js');
    const part = 4096;
    for (const size of [10, part * 3 + 77]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
      const reads: number[] = [];
      const streamed: Uint8Array[] = [];
      const call = (b: unknown) => ({ id: 4, method: 'openFirmwareBytes', payload: { name: 'a.bin', bytes: b, baseAddress: 0x08000000 } });
      for await (const m of encodeWireStream(call(WIRE_STREAMED_BYTES), size, async (a, b) => (reads.push(b - a), bytes.slice(a, b)), part)) streamed.push(m);
      expect(streamed).toEqual([...encodeWireMessages(call(bytes), part)]);
      expect(Math.max(...reads)).toBeLessThanOrEqual(part);
      // And the host's assembler puts it back together.
      if (streamed.length > 1) {
        const asm = new WireAssembler();
        let whole: Uint8Array | undefined;
        for (const m of streamed) whole = asm.push(m);
        expect((decodeWire(whole!) as { payload: { bytes: Uint8Array } }).payload.bytes).toEqual(bytes);
      }
    }
  });

  it('the worker door resolves with the host reply, reports progress, and rejects with ErrorData when the host refuses', async () => {
    const { workerFileDoor } = await import('../../src-renderer/src/transport.js');
    const posted: unknown[] = [];
    let terminated = 0;
    const script: { data: unknown }[][] = [
      [{ data: { kind: 'progress', sent: 5, total: 10 } }, { data: { kind: 'reply', reply: { ok: true, value: { id: 'fw-1', name: 'a.bin' } } } }],
      [{ data: { kind: 'reply', reply: { ok: false, error: { code: 'FILE_ERROR', message: 'not a firmware file', context: {} } } } }],
    ];
    const door = workerFileDoor('ws://x/ws?token=t', () => {
      const w = {
        onmessage: null as ((e: { data: unknown }) => void) | null,
        onerror: null,
        postMessage(m: unknown) {
          posted.push(m);
          for (const e of script.shift()!) queueMicrotask(() => w.onmessage?.(e));
        },
        terminate: () => void terminated++,
      };
      return w;
    });
    const progress: number[] = [];
    const file = new Blob([new Uint8Array(10)]);
    await expect(door.openFirmwareFile({ name: 'a.bin', file }, (sent) => progress.push(sent))).resolves.toMatchObject({ id: 'fw-1' });
    expect(progress).toEqual([5]);
    expect(posted[0]).toMatchObject({ url: 'ws://x/ws?token=t', name: 'a.bin', file });
    const err = await door.openFirmwareFile({ name: 'b.bin', file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractError);
    expect((err as ContractError).data.code).toBe('FILE_ERROR');
    expect(terminated).toBe(2);
  });
});
