// Hostile clients of the web host, at the level of TCP and WebSocket frames (RFC 6455 §5): what a
// broken or malicious client can send that a WebSocket library never would. Used by the fuzz tests
// against a real server socket, and by scripts/attack-web-host.ts against a running host.

import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface Target {
  port: number;
  token: string;
}

/** A WebSocket frame built by hand (RFC 6455 §5.2), with every field the caller's to break. */
export function wsFrame(o: { opcode: number; payload?: Uint8Array; fin?: boolean; rsv1?: boolean; mask?: boolean; zeroMask?: boolean; claimedLength?: bigint }): Buffer {
  const payload = Buffer.from(o.payload ?? new Uint8Array(0));
  const mask = o.mask ?? true;
  const len = o.claimedLength ?? BigInt(payload.length);
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | (o.opcode & 0x0f)];
  if (len < 126n) head.push((mask ? 0x80 : 0) | Number(len));
  else if (len < 65536n) head.push((mask ? 0x80 : 0) | 126, Number(len >> 8n) & 0xff, Number(len) & 0xff);
  else {
    head.push((mask ? 0x80 : 0) | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((len >> BigInt(i * 8)) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  // A zero masking key leaves the payload as it is: big frames cost the sender no work.
  if (o.zeroMask) return Buffer.concat([Buffer.from(head), Buffer.alloc(4), payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

export const text = (s: string, more: Partial<Parameters<typeof wsFrame>[0]> = {}) => wsFrame({ opcode: 1, payload: Buffer.from(s, 'utf8'), ...more });

function upgradeRequest(t: Target, path: string, extra: string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${t.port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

function tcp(t: Target): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(t.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** A raw authorised WebSocket: the socket after the 101, and the server's frames as they come. */
export interface RawSocket {
  socket: Socket;
  /** Server frames so far: opcode and payload. */
  frames: { opcode: number; payload: Buffer }[];
  /** Resolves when the server closes or resets the connection. */
  closed: Promise<void>;
  send(b: Buffer): void;
  /** The first text frame that parses as a reply with this id. */
  reply(id: number, timeoutMs?: number): Promise<unknown>;
}

export async function rawSocket(t: Target): Promise<RawSocket> {
  const socket = await tcp(t);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  let buf = Buffer.alloc(0);
  let upgraded = false;
  const frames: RawSocket['frames'] = [];
  const waiters = new Set<() => void>();
  const ready = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = buf.subarray(0, end).toString('latin1').split(' ')[1];
        if (status !== '101') return reject(new Error(`upgrade refused: ${status}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve();
      }
      // Server frames are unmasked (RFC 6455 §5.1).
      for (;;) {
        if (buf.length < 2) break;
        let len = buf[1]! & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(buf.readBigUInt64BE(2));
          at = 10;
        }
        if (buf.length < at + len) break;
        frames.push({ opcode: buf[0]! & 0x0f, payload: buf.subarray(at, at + len) });
        buf = buf.subarray(at + len);
      }
      for (const w of waiters) w();
    });
    void closed.then(() => reject(new Error('closed during the handshake')));
  });
  socket.write(upgradeRequest(t, `/ws?token=${encodeURIComponent(t.token)}`));
  await ready;
  const find = (id: number) =>
    frames.find((f) => {
      if (f.opcode !== 1) return false;
      try {
        return (JSON.parse(f.payload.toString('utf8')) as { id?: unknown }).id === id;
      } catch {
        return false;
      }
    });
  return {
    socket,
    frames,
    closed,
    send: (b) => socket.write(b),
    reply: (id, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const f = find(id);
          if (!f) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(JSON.parse(f.payload.toString('utf8')));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no reply to ${id} in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the server has closed the socket, or `ms` passed; true when it closed. */
export async function closedWithin(s: RawSocket, ms: number): Promise<boolean> {
  return Promise.race([s.closed.then(() => true), settle(ms).then(() => false)]);
}

/** One hostile thing a client can do; resolves when it is over. */
export interface Attack {
  name: string;
  run(t: Target): Promise<void>;
}

/** A frame on an authorised socket, then wait for the host to close it (or 1 s). */
const onSocket = (name: string, frame: () => Buffer): Attack => ({
  name,
  run: async (t) => {
    const s = await rawSocket(t);
    s.send(frame());
    await closedWithin(s, 1000);
    s.socket.destroy();
  },
});

/** Sends an upgrade, then resets the connection (RST) before reading the answer. */
async function upgradeThenReset(t: Target, path: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const s = await tcp(t);
    s.on('error', () => undefined);
    s.write(upgradeRequest(t, path, ['Origin: https://evil.example']));
    await settle(i % 2); // sometimes before the host answered, sometimes after
    s.resetAndDestroy();
  }
}

export const ATTACKS: Attack[] = [
  { name: 'upgrade refused (foreign origin, no token) then TCP reset, ×40', run: (t) => upgradeThenReset(t, '/ws', 40) },
  { name: 'upgrade to another path then TCP reset, ×20', run: (t) => upgradeThenReset(t, '/nothing', 20) },
  {
    name: 'TCP reset right after an accepted upgrade',
    run: async (t) => {
      const s = await rawSocket(t);
      s.socket.resetAndDestroy();
    },
  },
  {
    name: 'TCP reset in the middle of a frame',
    run: async (t) => {
      const s = await rawSocket(t);
      s.send(text(JSON.stringify({ id: 1, method: 'hostInfo' }) + ' '.repeat(5000)).subarray(0, 100));
      await settle(20);
      s.socket.resetAndDestroy();
    },
  },
  { name: 'a frame header claiming a 1 TB payload', run: onSocket('1TB', () => wsFrame({ opcode: 2, claimedLength: 1n << 40n })).run },
  { name: 'a header claiming 400 MB (over the message limit)', run: onSocket('400MB', () => wsFrame({ opcode: 2, claimedLength: 400n * 1024n * 1024n })).run },
  { name: 'RSV1 set without an extension', run: onSocket('rsv1', () => text('{"id":1,"method":"hostInfo"}', { rsv1: true })).run },
  { name: 'a text frame that is not UTF-8', run: onSocket('utf8', () => wsFrame({ opcode: 1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0x7d]) })).run },
  { name: 'an unmasked client frame', run: onSocket('unmasked', () => text('{"id":1,"method":"hostInfo"}', { mask: false })).run },
  { name: 'reserved opcode 3', run: onSocket('opcode3', () => wsFrame({ opcode: 3, payload: Buffer.from('x') })).run },
  { name: 'close with code 999', run: onSocket('close999', () => wsFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe7]) })).run },
  { name: 'a fragmented control frame', run: onSocket('ping-frag', () => wsFrame({ opcode: 9, fin: false, payload: Buffer.from('x') })).run },
  { name: 'a continuation frame with nothing to continue', run: onSocket('cont', () => wsFrame({ opcode: 0, payload: Buffer.from('x') })).run },
  {
    name: 'a call whose method is an object with a bad toString',
    run: async (t) => {
      const s = await rawSocket(t);
      s.send(text('{"id":1,"method":{"toString":1}}'));
      await s.reply(1);
      s.socket.destroy();
    },
  },
  {
    name: 'a 4 KB call of 2,000 nested arrays',
    run: async (t) => {
      const s = await rawSocket(t);
      s.send(text(`{"id":2,"method":"hostInfo","payload":${'['.repeat(2000)}${']'.repeat(2000)}}`));
      await Promise.race([s.reply(2), s.closed]);
      s.socket.destroy();
    },
  },
  {
    name: 'a binary frame whose header lies about its JSON part',
    run: async (t) => {
      const s = await rawSocket(t);
      const b = Buffer.alloc(12);
      b.writeUInt32LE(0xfffffff0, 0);
      s.send(wsFrame({ opcode: 2, payload: b }));
      await closedWithin(s, 1000);
      s.socket.destroy();
    },
  },
];

/** True when the host answers a fresh client's hostInfo within `ms`. */
export async function alive(t: Target, ms = 3000): Promise<boolean> {
  try {
    const s = await Promise.race([rawSocket(t), settle(ms).then(() => undefined)]);
    if (!s) return false;
    s.send(text(JSON.stringify({ id: 1_000_001, method: 'hostInfo' })));
    const r = (await s.reply(1_000_001, ms).catch(() => undefined)) as { reply?: { ok?: boolean } } | undefined;
    s.socket.destroy();
    return r === undefined ? false : r.reply?.ok === true;
  } catch {
    return false;
  }
}
