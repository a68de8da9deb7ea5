// Bytes cross the web host's socket as bytes: binary frames, big files in parts sent one per task, no
// base64. The page's transport (src-renderer/src/transport.ts) against the real server, and alone
// with a socket that only counts, to time its longest task.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES, MAX_WIRE_PART_BYTES, decodeWire, encodeWire, encodeWireMessages, isWirePart, WireAssembler } from '../../shared/contract.js';
import { fromWebSocket, type SocketLike } from '../../src-renderer/src/transport.js';
import { ApiHost } from '../../src-main/services/api-host.js';
import { startWebHost, type WebHost } from '../../src-main/web/server.js';
import { FakeBackend } from '../app/fake-backend.js';

let host: WebHost;
let api: ApiHost;
let backend: FakeBackend;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-wire-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>BootBridge</title>');
  backend = new FakeBackend();
  api = new ApiHost(backend, { shell: 'web', version: 'test' });
  host = await startWebHost({ host: api, staticDir: dir, token: 'wire-token' });
});

afterAll(async () => {
  await host.close();
  api.dispose();
});

describe('wire format', () => {
  it('a message with bytes is one binary frame that decodes to views of the same bytes; without bytes it is JSON text', () => {
    const bytes = new Uint8Array([1, 2, 3, 250]);
    const frame = encodeWire({ id: 3, reply: { ok: true, value: { a: bytes, b: [new Uint8Array(0), 'x'] } } });
    expect(frame).toBeInstanceOf(Uint8Array);
    expect(decodeWire(frame)).toEqual({ id: 3, reply: { ok: true, value: { a: bytes, b: [new Uint8Array(0), 'x'] } } });
    expect(encodeWire({ id: 1, method: 'hostInfo' })).toBe('{"id":1,"method":"hostInfo"}');
  });

  it('a big message leaves in parts of MAX_WIRE_PART_BYTES that put back together give the same message', () => {
    const bytes = new Uint8Array(3 * MAX_WIRE_PART_BYTES + 17).map((_, i) => i * 7);
    const parts = [...encodeWireMessages({ id: 9, method: 'openFirmwareBytes', payload: { name: 'a.bin', bytes } })] as Uint8Array[];
    expect(parts).toHaveLength(4);
    const asm = new WireAssembler();
    let whole: Uint8Array | undefined;
    for (const p of parts) {
      expect(isWirePart(p)).toBe(true);
      expect(p.byteLength).toBeLessThanOrEqual(MAX_WIRE_PART_BYTES + 12);
      expect(whole).toBeUndefined();
      whole = asm.push(p);
    }
    const back = decodeWire(whole!) as { id: number; payload: { name: string; bytes: Uint8Array } };
    expect(back).toMatchObject({ id: 9, method: 'openFirmwareBytes', payload: { name: 'a.bin' } });
    // Compared as buffers: a deep equality over 12 M elements takes minutes.
    expect(Buffer.compare(back.payload.bytes, bytes)).toBe(0);
    // Out of order: refused.
    expect(() => new WireAssembler().push(parts[1]!)).toThrow(/out of order/);
  });
});

describe('the page transport against the web host', () => {
  it('opens a 10 MiB file as binary parts (no base64, no text frame) and gets it back whole', async () => {
    const sent: unknown[] = [];
    const api2 = fromWebSocket(() => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=wire-token`) as unknown as SocketLike;
      const send = ws.send.bind(ws);
      ws.send = (d) => {
        sent.push(d);
        send(d);
      };
      return ws;
    });
    await api2.connected;
    const bytes = new Uint8Array(10 * 1024 * 1024).map((_, i) => i & 0xff);
    const fw = await api2.openFirmwareBytes({ name: 'ten.bin', bytes });
    expect(fw.size).toBe(bytes.length);
    expect(sent).toHaveLength(3);
    for (const s of sent) expect(s).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(sent[0] as Uint8Array).subarray(0, 200).toString('latin1')).not.toContain('$b64');
    // Reading back: bytes come as a binary frame into a Uint8Array.
    const read = await api2.read({ deviceId: 'sim-1', address: 0x08000000, length: 300_000 });
    expect(read).toBeInstanceOf(Uint8Array);
    expect(read.length).toBe(300_000);
    expect(read.every((b) => b === 0xab)).toBe(true);
  });

  it('refuses a file over the contract limit in the page, with the sizes, before sending a byte', async () => {
    const sent: unknown[] = [];
    const sock: SocketLike = { readyState: 1, send: (d) => sent.push(d), close: () => undefined, addEventListener: () => undefined };
    const page = fromWebSocket(() => sock);
    const err = await page.openFirmwareBytes({ name: 'huge.bin', bytes: new Uint8Array(MAX_FILE_BYTES + 1) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ data: { code: 'BAD_ARGUMENT', context: { field: 'bytes', limit: MAX_FILE_BYTES } } });
    expect((err as Error).message).toMatch(/256\.0 MiB; BootBridge opens files up to 256\.0 MiB/);
    expect(sent).toEqual([]);
  });

  it('sends a 256 MiB file without a task over 200 ms in the page', async () => {
    let open: (ev: { data?: unknown }) => void = () => undefined;
    let sentBytes = 0;
    const sock: SocketLike = {
      readyState: 1,
      bufferedAmount: 0,
      send: (d) => {
        sentBytes += typeof d === 'string' ? d.length : d.byteLength;
      },
      close: () => undefined,
      addEventListener: (type, l) => {
        if (type === 'open') open = l;
      },
    };
    const page = fromWebSocket(() => sock);
    open({});
    const bytes = new Uint8Array(MAX_FILE_BYTES);
    // The longest gap between ticks of a 5 ms timer is the longest task the page ran meanwhile,
    // counted in this process's CPU time so that other processes on a busy machine do not count.
    const cpuMs = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    let last = cpuMs();
    let worst = 0;
    const tick = setInterval(() => {
      const now = cpuMs();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    void page.openFirmwareBytes({ name: 'big.bin', bytes }).catch(() => undefined);
    const t0 = performance.now();
    while (sentBytes < MAX_FILE_BYTES && performance.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    clearInterval(tick);
    expect(sentBytes).toBeGreaterThan(MAX_FILE_BYTES);
    expect(worst, 'longest task while sending (ms)').toBeLessThan(200);
  }, 90_000);
});
