// Hostile clients of the web host: handshakes from other origins, rebound or odd Host names, tokens
// that are almost right; random calls on an authorised socket (methods that are not strings, payloads
// nested thousands deep); then hand-made frames on a raw TCP socket (RFC 6455 violations, resets before
// and after the upgrade), a client that stops reading, and a 200 MB frame. The host answers every call
// with a reply (or closes a socket that sends something that is not a call), never dies, and keeps
// serving its other clients.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { METHODS, decodeWire, encodeWire, encodeWireMessages, type WireServerMessage } from '../../shared/contract.js';
import { ApiHost } from '../../src-main/services/api-host.js';
import { startWebHost, type WebHost } from '../../src-main/web/server.js';
import { FakeBackend } from '../app/fake-backend.js';
import { ATTACKS, alive, closedWithin, rawSocket, text, wsFrame } from '../web/hostile-client.js';
import { runs, seedOptions } from './budget.js';

const TOKEN = 'per-run-token-0123456789';
let host: WebHost;
let api: ApiHost;

// What would kill the host's process: recorded here so each test names the attack that did it.
const crashes: unknown[] = [];
const onCrash = (e: unknown) => crashes.push(e);

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-web-fuzz-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>BootBridge</title>');
  api = new ApiHost(new FakeBackend(), { shell: 'web', version: 'test' });
  host = await startWebHost({ host: api, staticDir: dir, token: TOKEN, limits: { stallMs: 500 } });
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
});

afterEach(() => {
  expect(crashes.splice(0).map((e) => String((e as Error)?.stack ?? e)), 'nothing thrown that would end the host process').toEqual([]);
});

afterAll(async () => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  await host.close();
  api.dispose();
});

const decode = (data: WebSocket.RawData, isBinary: boolean) => decodeWire(isBinary ? new Uint8Array(data as Buffer) : data.toString()) as WireServerMessage;

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
    ws.on('message', (data, isBinary) => {
      const m = decode(data, isBinary);
      if ('id' in m) replies.set(m.id, m);
    });
    ws.once('open', () => resolve({ ws, replies, closed }));
    ws.once('error', reject);
  });
}

async function settle(c: { replies: Map<number, WireServerMessage>; closed: Promise<number> }, id: number | undefined, maxMs = 1000): Promise<'reply' | number> {
  for (let i = 0; i < maxMs / 5; i++) {
    if (id !== undefined && c.replies.has(id)) return 'reply';
    const code = await Promise.race([c.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5))]);
    if (code !== undefined) return code;
  }
  return -1;
}

describe('web host: random frames on an authorised socket', () => {
  const nested = (depth: number, open: string, close: string, leaf: string) => `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
  const call = fc.record({
    id: fc.integer(),
    method: fc.oneof(
      fc.constantFrom(...METHODS.filter((m) => !m.startsWith('production') && m !== 'openRecipe' && m !== 'closeRecipe')),
      fc.string({ maxLength: 12 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'dispatch'),
      // Not strings at all: what String() or a template would choke on.
      fc.constantFrom({ toString: 1 }, { valueOf: 1, toString: null }, null, 7, true, ['hostInfo'], { $bin: [0, 1] }),
    ),
    payload: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.record({ deviceId: fc.string(), firmwareId: fc.string(), name: fc.string(), bytes: fc.uint8Array({ maxLength: 64 }) }, { requiredKeys: [] })),
  });
  // Payloads nested far past anything the contract uses (arrays and objects), written as text.
  const deep = fc.record({
    id: fc.integer(),
    method: fc.constantFrom('hostInfo', 'openFirmwareBytes', 'plan', 'nope'),
    depth: fc.integer({ min: 30, max: 20_000 }),
    kind: fc.constantFrom('array', 'object'),
  });
  const frame = fc.oneof(
    { weight: 5, arbitrary: call.map((c) => ({ kind: 'call' as const, id: c.id, text: encodeWire(c) })) },
    {
      weight: 2,
      arbitrary: deep.map((d) => ({
        kind: 'call' as const,
        id: d.id,
        text: `{"id":${d.id},"method":"${d.method}","payload":${d.kind === 'array' ? nested(d.depth, '[', ']', '1') : nested(d.depth, '{"a":', '}', '1')}}`,
      })),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ kind: 'text' as const, text })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => ({ kind: 'text' as const, text: JSON.stringify(v) })) },
    // Bytes that are not base64 in a call: still a call, answered BAD_ARGUMENT naming the field.
    { weight: 1, arbitrary: fc.integer().map((id) => ({ kind: 'bad-bytes' as const, id, text: JSON.stringify({ id, method: 'openFirmwareBytes', payload: { name: 'x.bin', bytes: { $b64: '%%%' } } }) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: 'binary' as const, bytes })) },
  );

  it('every call gets a reply (bad base64, odd methods, deep payloads included); anything else closes that socket; the host keeps serving', async () => {
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
          expect(['reply', 1003, 1009, -1]).toContain(r);
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

describe('web host: hand-made frames and resets on a real server socket', () => {
  const target = () => ({ port: host.port, token: TOKEN });

  for (const attack of ATTACKS) {
    it(`survives ${attack.name}`, async () => {
      await attack.run(target());
      await new Promise((r) => setTimeout(r, 50));
      expect(await alive(target()), 'a fresh client still gets answers').toBe(true);
    });
  }

  it('answers a method that is an object with a bad toString with BAD_ARGUMENT, not a crash', async () => {
    const s = await rawSocket(target());
    s.send(text('{"id":1,"method":{"toString":1}}'));
    expect(await s.reply(1)).toMatchObject({ id: 1, reply: { ok: false, error: { code: 'BAD_ARGUMENT', context: { field: 'method' } } } });
    s.socket.destroy();
  });

  it('answers a payload of 2,000 nested arrays with BAD_ARGUMENT naming the depth', async () => {
    const s = await rawSocket(target());
    s.send(text(`{"id":2,"method":"hostInfo","payload":${'['.repeat(2000)}${']'.repeat(2000)}}`));
    const r = (await s.reply(2)) as { reply: { ok: boolean; error: { code: string; message: string } } };
    expect(r.reply).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(r.reply.error.message).toMatch(/nested deeper than/);
    s.socket.destroy();
  });

  it.each([
    ['a 1 TB length header', 1009],
    ['RSV1', 1002],
    ['invalid UTF-8', 1007],
    ['an unmasked frame', 1002],
    ['opcode 3', 1002],
    ['close code 999', 1002],
  ])('closes the socket that sent %s with the RFC 6455 code (%i)', async (what, code) => {
    const s = await rawSocket(target());
    const frames: Record<string, () => Buffer> = {
      'a 1 TB length header': () => Buffer.from([0x82, 0xff, 0, 0, 0x01, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
      RSV1: () => text('{"id":1,"method":"hostInfo"}', { rsv1: true }),
      'invalid UTF-8': () => Buffer.from([0x81, 0x83, 0, 0, 0, 0, 0xc3, 0x28, 0xff]),
      'an unmasked frame': () => text('{"id":1,"method":"hostInfo"}', { mask: false }),
      'opcode 3': () => Buffer.from([0x83, 0x80, 1, 2, 3, 4]),
      'close code 999': () => Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe7]),
    };
    s.send(frames[what]!());
    expect(await closedWithin(s, 2000)).toBe(true);
    const close = s.frames.find((f) => f.opcode === 8);
    expect(close?.payload.readUInt16BE(0)).toBe(code);
    expect(host.clients()).toBeLessThanOrEqual(1);
  });

  it('drops a client that stops reading (bounded memory), while another client is served without delay', async () => {
    const slow = await rawSocket(target());
    slow.socket.pause(); // reads nothing from here on
    const before = process.memoryUsage().arrayBuffers;
    // 40 calls, each answered with 8 MiB: 320 MiB the host would hold for a client that reads nothing.
    for (let i = 0; i < 40; i++) slow.send(text(JSON.stringify({ id: 100 + i, method: 'read', payload: { deviceId: 'sim-1', address: 0x08000000, length: 8 * 1024 * 1024 } })));
    const fast = await client();
    let worst = 0;
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      fast.ws.send(encodeWire({ id: i, method: 'hostInfo' }));
      expect(await settle(fast, i)).toBe('reply');
      worst = Math.max(worst, performance.now() - t0);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      await new Promise((r) => setTimeout(r, 50));
    }
    fast.ws.close();
    await fast.closed;
    expect(worst, 'the other client waited').toBeLessThan(500);
    // The slow client is gone: the host dropped it when it made no progress.
    expect(host.clients()).toBe(0);
    expect(peak, 'bytes held for the client that reads nothing').toBeLessThan(120 * 1024 * 1024);
    slow.socket.destroy();
  });

  it.each([
    ['in parts, as the page sends it', 'parts'],
    ['as one binary frame', 'frame'],
  ] as const)('a 200 MB file sent %s does not stall another client', async (_what, how) => {
    const size = 200 * 1024 * 1024;
    const bytes = new Uint8Array(size).fill(0x5a);
    const call = { id: 1, method: 'openFirmwareBytes', payload: { name: 'big.bin', bytes } };
    // Sent on a raw socket with a zero mask key, so the test's own client costs no JavaScript time:
    // what is measured is the host.
    const messages =
      how === 'parts'
        ? [...encodeWireMessages(call)].map((m) => wsFrame({ opcode: 2, payload: m as Uint8Array, zeroMask: true }))
        : [wsFrame({ opcode: 2, payload: encodeWire(call) as Uint8Array, zeroMask: true })];
    const big = await rawSocket({ port: host.port, token: TOKEN });
    const fast = await client();
    let worst = 0;
    let stop = false;
    const pinger = (async () => {
      for (let i = 10; !stop; i++) {
        const t0 = performance.now();
        fast.ws.send(encodeWire({ id: i, method: 'hostInfo' }));
        expect(await settle(fast, i)).toBe('reply');
        worst = Math.max(worst, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    for (const m of messages) big.send(m);
    if (how === 'parts') {
      expect(messages.length).toBeGreaterThan(40);
      expect(await big.reply(1, 60_000)).toMatchObject({ reply: { ok: true, value: { size } } });
    } else {
      expect(await closedWithin(big, 30_000)).toBe(true);
      expect(big.frames.find((f) => f.opcode === 8)?.payload.readUInt16BE(0), 'a message over the limit closes that socket').toBe(1009);
    }
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await pinger;
    big.socket.destroy();
    fast.ws.close();
    expect(worst, 'the longest wait of the other client (ms)').toBeLessThan(1000);
  }, 60_000);
});
