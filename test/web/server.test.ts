import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import WebSocket from 'ws';
import { ApiHost } from '../../src-main/services/api-host.js';
import { startWebHost, type WebHost } from '../../src-main/web/server.js';
import { decodeWire, encodeWire, type WireServerMessage } from '../../shared/contract.js';
import { FakeBackend, fakeDevice } from '../app/fake-backend.js';

let host: WebHost;
let backend: FakeBackend;
let api: ApiHost;

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-web-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>BootBridge</title>');
  backend = new FakeBackend();
  api = new ApiHost(backend, { shell: 'web', version: 'test' });
  host = await startWebHost({ host: api, staticDir: dir, token: 'secret-token-123' });
});

afterEach(async () => {
  await host.close();
  api.dispose();
});

function connect(path: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number | undefined }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}${path}`, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.once('error', () => resolve({ status: -1 }));
  });
}

const decode = (data: WebSocket.RawData, isBinary: boolean) => decodeWire(isBinary ? new Uint8Array(data as Buffer) : data.toString()) as WireServerMessage;

function call(ws: WebSocket, id: number, method: string, payload?: unknown): Promise<WireServerMessage> {
  return new Promise((resolve) => {
    const onMsg = (data: WebSocket.RawData, isBinary: boolean) => {
      const m = decode(data, isBinary);
      if ('id' in m && m.id === id) {
        ws.off('message', onMsg);
        resolve(m);
      }
    };
    ws.on('message', onMsg);
    ws.send(encodeWire({ id, method, payload }));
  });
}

function httpGet(path: string, hostHeader: string): Promise<{ status: number; csp?: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, headers: { host: hostHeader } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, csp: res.headers['content-security-policy'] as string | undefined, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web host', () => {
  it('refuses a WebSocket without the token or with a wrong one', async () => {
    expect((await connect('/ws')).status).toBe(401);
    expect((await connect('/ws?token=secret-token-124')).status).toBe(401);
  });

  it('refuses a WebSocket from a foreign Origin even with the token', async () => {
    const r = await connect('/ws?token=secret-token-123', { Origin: 'http://evil.example' });
    expect(r.status).toBe(403);
  });

  it('refuses a DNS-rebound Host name', async () => {
    const r = await connect('/ws?token=secret-token-123', { Host: 'evil.example:80' });
    expect(r.status).toBe(421);
    expect((await httpGet('/', 'evil.example')).status).toBe(421);
  });

  it('answers calls from its own Origin with the token, with bytes intact', async () => {
    const { ws } = await connect('/ws?token=secret-token-123', { Origin: `http://127.0.0.1:${host.port}` });
    expect(ws).toBeDefined();
    const list = await call(ws!, 1, 'listDevices');
    expect(list).toMatchObject({ id: 1, reply: { ok: true, value: [{ id: 'sim-1', vendorId: 0x0483 }] } });
    const read = await call(ws!, 2, 'read', { deviceId: 'sim-1', address: 0x08000000, length: 5 });
    expect('reply' in read && read.reply.ok && read.reply.value).toEqual(new Uint8Array(5).fill(0xab));
    ws!.close();
  });

  it('answers a bad payload with BAD_ARGUMENT naming the field', async () => {
    const { ws } = await connect('/ws?token=secret-token-123');
    const r = await call(ws!, 7, 'read', { deviceId: 'sim-1', address: -4, length: 5 });
    expect(r).toMatchObject({ reply: { ok: false, error: { code: 'BAD_ARGUMENT', context: { field: 'address' } } } });
    const u = await call(ws!, 8, 'rm -rf', {});
    expect(u).toMatchObject({ reply: { ok: false, error: { code: 'BAD_ARGUMENT' } } });
    ws!.close();
  });

  it('answers a call whose bytes are not base64 with BAD_ARGUMENT naming the field, and keeps the socket', async () => {
    const { ws } = await connect('/ws?token=secret-token-123');
    const closed: number[] = [];
    ws!.on('close', (code) => closed.push(code));
    const reply = new Promise<WireServerMessage>((resolve) =>
      ws!.on('message', (data, isBinary) => {
        const m = decode(data, isBinary);
        if ('id' in m && m.id === 9) resolve(m);
      }),
    );
    ws!.send(JSON.stringify({ id: 9, method: 'openFirmwareBytes', payload: { name: 'x.bin', bytes: { $b64: 'AAA%' } } }));
    const r = await reply;
    expect(r).toMatchObject({ id: 9, reply: { ok: false, error: { code: 'BAD_ARGUMENT', context: { field: 'bytes' } } } });
    expect('reply' in r && !r.reply.ok && r.reply.error.message).toContain('bytes');
    // The socket still serves calls.
    expect(await call(ws!, 10, 'listDevices')).toMatchObject({ id: 10, reply: { ok: true } });
    expect(closed).toEqual([]);
    ws!.close();
  });

  it('still closes the socket (1003) on a frame that is not a call, bad base64 or not', async () => {
    for (const frame of ['not json', JSON.stringify({ method: 'listDevices', payload: { $b64: '%%' } }), JSON.stringify([1, 2])]) {
      const { ws } = await connect('/ws?token=secret-token-123');
      const code = await new Promise<number>((resolve) => {
        ws!.once('close', (c) => resolve(c));
        ws!.send(frame);
      });
      expect(code).toBe(1003);
    }
  });

  it('pushes device list changes to connected pages', async () => {
    const { ws } = await connect('/ws?token=secret-token-123');
    const got = new Promise<unknown>((resolve) => ws!.on('message', (d, isBinary) => resolve(decode(d, isBinary))));
    backend.plug(fakeDevice(2));
    expect(await got).toMatchObject({ event: { type: 'devices', devices: [{ id: 'sim-1' }, { id: 'sim-2' }] } });
    ws!.close();
  });

  it('serves the renderer with a CSP and never files outside its folder', async () => {
    const page = await httpGet('/', `127.0.0.1:${host.port}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('BootBridge');
    expect(page.csp).toContain("default-src 'self'");
    expect(page.csp).toContain(`connect-src ws://127.0.0.1:${host.port}`);
    expect((await httpGet('/../../../etc/passwd', `127.0.0.1:${host.port}`)).status).not.toBe(200);
    expect((await httpGet('/..%2f..%2f..%2fetc%2fpasswd', `127.0.0.1:${host.port}`)).status).toBe(403);
  });

  it('listens on the loopback interface only', async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    expect(host.url.startsWith('http://127.0.0.1:')).toBe(true);
    if (!external) return; // no non-loopback address on this machine: nothing else to try
    const reached = await new Promise<boolean>((resolve) => {
      const req = request({ host: external.address, port: host.port, path: '/', timeout: 1000 }, () => resolve(true));
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
      req.end();
    });
    expect(reached).toBe(false);
  });
});
