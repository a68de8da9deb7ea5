// Hostile clients of the web host: handshakes from other origins, rebound or odd Host names, tokens
// that are almost right; then random frames on an authorised socket. The host answers every call with
// a reply (or closes a socket that sends something that is not a call) and keeps serving afterwards.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHODS, decodeWire, encodeWire, type WireServerMessage } from '../../shared/contract.js';
import { ApiHost } from '../../src-main/services/api-host.js';
import { startWebHost, type WebHost } from '../../src-main/web/server.js';
import { FakeBackend } from '../app/fake-backend.js';
import { runs, seedOptions } from './budget.js';

const TOKEN = 'per-run-token-0123456789';
let host: WebHost;
let api: ApiHost;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-web-fuzz-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>BootBridge</title>');
  api = new ApiHost(new FakeBackend(), { shell: 'web', version: 'test' });
  host = await startWebHost({ host: api, staticDir: dir, token: TOKEN });
});

afterAll(async () => {
  await host.close();
  api.dispose();
});

function handshake(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}${path}`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(-1));
  });
}

function httpStatus(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web host: who may connect', () => {
  const own = () => `127.0.0.1:${host.port}`;
  const ok = () => `/ws?token=${TOKEN}`;

  it('its own page, with the token, connects (the baseline the refusals are measured against)', async () => {
    expect(await handshake(ok(), { origin: `http://${own()}` })).toBe(101);
    expect(await handshake(ok(), { origin: `http://localhost:${host.port}`, host: `localhost:${host.port}` })).toBe(101);
  });

  it.each([
    ['an opaque origin (sandboxed frame, file://)', 'null'],
    ['another local server on another port', 'http://127.0.0.1:1'],
    ['the same host over https', () => `https://127.0.0.1:${host.port}`],
    ['a look-alike host name', () => `http://127.0.0.1.evil.example:${host.port}`],
    ['a site on the internet', 'https://evil.example'],
    ['the origin in upper case', () => `HTTP://127.0.0.1:${host.port}`],
  ])('a page from %s cannot open the socket even with the token', async (_what, origin) => {
    expect(await handshake(ok(), { origin: typeof origin === 'function' ? origin() : origin })).toBe(403);
  });

  it.each([
    ['a DNS-rebound name', () => `evil.example:${host.port}`],
    ['a name that starts like ours', () => `localhost.evil.example:${host.port}`],
    ['our address without the port', () => '127.0.0.1'],
    ['our address on another port', () => '127.0.0.1:80'],
    ['the unspecified address', () => `0.0.0.0:${host.port}`],
  ])('a Host header of %s is refused on the socket and on the pages', async (_what, name) => {
    expect(await handshake(ok(), { host: name() })).toBe(421);
    expect(await httpStatus('/', { host: name() })).toBe(421);
  });

  it.each([
    ['no token', '/ws'],
    ['an empty token', '/ws?token='],
    ['the token cut short', `/ws?token=${TOKEN.slice(0, -1)}`],
    ['the token with a character more', `/ws?token=${TOKEN}x`],
    ['the token in another parameter', `/ws?t=${TOKEN}`],
    ['the token in upper case', `/ws?token=${TOKEN.toUpperCase()}`],
  ])('%s gives 401', async (_what, path) => {
    expect(await handshake(path, {})).toBe(401);
  });

  it('a malformed percent-escape in a page path is a bad request (400), and the host keeps serving', async () => {
    expect(await httpStatus('/%E0%A4%A', { host: `127.0.0.1:${host.port}` })).toBe(400);
    expect(await httpStatus('/', { host: `127.0.0.1:${host.port}` })).toBe(200);
  });
});

/** An authorised socket that records replies and its close code. */
function client(): Promise<{ ws: WebSocket; replies: Map<number, WireServerMessage>; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=${TOKEN}`);
    const replies = new Map<number, WireServerMessage>();
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.on('message', (data) => {
      const m = decodeWire(data.toString()) as WireServerMessage;
      if ('id' in m) replies.set(m.id, m);
    });
    ws.once('open', () => resolve({ ws, replies, closed }));
    ws.once('error', reject);
  });
}

async function settle(c: { replies: Map<number, WireServerMessage>; closed: Promise<number> }, id: number | undefined): Promise<'reply' | number> {
  for (let i = 0; i < 200; i++) {
    if (id !== undefined && c.replies.has(id)) return 'reply';
    const code = await Promise.race([c.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5))]);
    if (code !== undefined) return code;
  }
  return -1;
}

describe('web host: random frames on an authorised socket', () => {
  const call = fc.record({
    id: fc.integer(),
    method: fc.oneof(fc.constantFrom(...METHODS.filter((m) => !m.startsWith('production') && m !== 'openRecipe' && m !== 'closeRecipe')), fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'dispatch')),
    payload: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.record({ deviceId: fc.string(), firmwareId: fc.string(), name: fc.string(), bytes: fc.uint8Array({ maxLength: 64 }) }, { requiredKeys: [] })),
  });
  const frame = fc.oneof(
    { weight: 5, arbitrary: call.map((c) => ({ kind: 'call' as const, id: c.id, text: encodeWire(c) })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ kind: 'text' as const, text })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => ({ kind: 'text' as const, text: JSON.stringify(v) })) },
    // Bytes that are not base64 in a call: still a call, answered BAD_ARGUMENT naming the field.
    { weight: 1, arbitrary: fc.integer().map((id) => ({ kind: 'bad-bytes' as const, id, text: JSON.stringify({ id, method: 'openFirmwareBytes', payload: { name: 'x.bin', bytes: { $b64: '%%%' } } }) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: 'binary' as const, bytes })) },
  );

  it('every call gets a reply (bad base64 included); anything else closes that socket with 1003; the host keeps serving', async () => {
    let c = await client();
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        if (c.ws.readyState !== WebSocket.OPEN) c = await client();
        if (f.kind === 'binary') c.ws.send(f.bytes);
        else c.ws.send(f.text);
        const r = await settle(c, f.kind === 'call' || f.kind === 'bad-bytes' ? f.id : undefined);
        if (f.kind === 'bad-bytes') {
          expect(r).toBe('reply');
          expect((c.replies.get(f.id) as { reply: unknown }).reply).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', context: { field: 'bytes' } } });
        } else if (f.kind === 'call') {
          expect(r).toBe('reply');
          const reply = (c.replies.get(f.id) as { reply: { ok: boolean; error?: { code: string } } }).reply;
          if (!reply.ok) expect(typeof reply.error?.code).toBe('string');
        } else {
          // Valid JSON objects with a numeric id are calls too; the rest closes the socket.
          expect(['reply', 1003, -1]).toContain(r);
        }
      }),
      { numRuns: runs(300), ...seedOptions() },
    );
    c.ws.close();
    const after = await client();
    after.ws.send(encodeWire({ id: 1, method: 'hostInfo' }));
    expect(await settle(after, 1)).toBe('reply');
    expect((after.replies.get(1) as { reply: { ok: boolean } }).reply.ok).toBe(true);
    after.ws.close();
  });
});
