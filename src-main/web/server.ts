// The web host: the same contract as the Electron app, over a WebSocket on 127.0.0.1 only, plus the
// built renderer as static files. A random token, made per run and given to the page in its URL, is
// required on the WebSocket; other Origins and Host names are refused (a page on another site, or a
// DNS-rebound name, must not reach the programmer). Used by `npm start` without Electron and by e2e tests.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  MAX_WIRE_FRAME_BYTES,
  MAX_WIRE_JSON_BYTES,
  MAX_WIRE_MESSAGE_BYTES,
  WireAssembler,
  WireFormatError,
  encodeWire,
  isWirePart,
  parseWireFrame,
  reviveWireBytes,
  type WireServerMessage,
} from '../../shared/contract.js';
import type { ApiHost } from '../services/api-host.js';

export interface WebHostOptions {
  host: ApiHost;
  /** Folder with the built renderer (index.html and assets/). */
  staticDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token for tests; a random one otherwise. */
  token?: string;
  /** Per-client backpressure (defaults in DEFAULT_LIMITS). */
  limits?: Partial<ClientLimits>;
  /** Where the host reports a dropped client or a socket error (default: nowhere). */
  log?: (line: string) => void;
}

/**
 * What one client may hold of the host. Above `highWaterBytes` of unsent data the host stops reading
 * that client's frames and queues what it has to send; a queue over `maxQueuedBytes`, or no progress
 * for `stallMs`, drops the client. `maxInFlight` calls run at once per client; further frames wait
 * unread in the client's own TCP buffer. Other clients are never affected.
 */
export interface ClientLimits {
  highWaterBytes: number;
  maxQueuedBytes: number;
  stallMs: number;
  maxInFlight: number;
}

const DEFAULT_LIMITS: ClientLimits = {
  highWaterBytes: 4 * 1024 * 1024,
  // One reply of the largest size (a 256 MiB export) fits; a client that reads nothing cannot pile up more.
  maxQueuedBytes: MAX_WIRE_FRAME_BYTES,
  stallMs: 15_000,
  maxInFlight: 8,
};

export interface WebHost {
  url: string;
  port: number;
  token: string;
  /** Open client sockets now (authorised WebSockets). */
  clients(): number;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Same policy as the Electron window; connect-src admits only this host's own WebSocket. */
function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'", // Naive UI injects its component styles at run time
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src ws://127.0.0.1:${port} ws://localhost:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const root = resolve(opts.staticDir);
  let port = 0;
  const allowedHosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];
  const allowedOrigins = () => allowedHosts().map((h) => `http://${h}`);

  const limits: ClientLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.log ?? (() => undefined);

  const server: Server = createServer((req, res) => {
    void serveStatic(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // Every socket and server has an error handler: a peer that resets, or sends what HTTP cannot parse,
  // costs that connection and nothing else.
  server.on('clientError', (_err, socket: Duplex) => {
    if (!socket.writable) return void socket.destroy();
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });
  server.on('connection', (socket) => socket.on('error', () => undefined));

  async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('Misdirected request');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request');
      return;
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = normalize(join(root, rel));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(rel === '/index.html' ? 'Renderer not built: run `npm run build:web`.' : 'Not found');
      return;
    }
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': contentSecurityPolicy(port),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  // The message limit is the contract's (shared/contract.ts): a part of at most MAX_WIRE_PART_BYTES; a
  // bigger frame (up to the largest file plus its call) crosses in parts and is put together here.
  // A header claiming more is refused (1009) before a byte of its payload is read.
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WIRE_MESSAGE_BYTES, perMessageDeflate: false });
  wss.on('error', (e) => log(`web host: ${e.message}`));
  wss.on('wsClientError', (_e, socket) => socket.destroy());

  server.on('upgrade', (req, socket, head) => {
    // Before anything is written: a refused handshake whose peer resets must not take the host down.
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      return void socket.destroy();
    }
    const refuse = (code: number, why: string) => {
      if (socket.writable) socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (url.pathname !== '/ws') return refuse(404, 'Not Found');
    if (!allowedHosts().includes(req.headers.host ?? '')) return refuse(421, 'Misdirected Request');
    // Browsers always send Origin on a WebSocket handshake; a page from anywhere else is refused.
    // Non-browser clients (tests, scripts) may omit it but still need the token.
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().includes(origin)) return refuse(403, 'Forbidden');
    const given = url.searchParams.get('token') ?? '';
    if (!sameToken(given, token)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  const clients = new Set<Client>();

  function attach(ws: WebSocket): void {
    const client = new Client(ws, limits, log);
    clients.add(client);
    const off = opts.host.onEvent((event) => client.send({ event }));
    ws.on('error', (e) => log(`web host: client socket: ${e.message}`));
    ws.on('close', () => {
      off();
      client.dispose();
      clients.delete(client);
    });
    const assembler = new WireAssembler(MAX_WIRE_FRAME_BYTES);
    ws.on('message', (data, isBinary) => {
      const buf = toBuffer(data);
      // A text frame is all JSON: refused by its size before it is decoded at all.
      if (!isBinary && buf.byteLength > MAX_WIRE_JSON_BYTES) return ws.close(1009, 'message too big');
      let frame: string | Uint8Array = isBinary ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : buf.toString('utf8');
      if (typeof frame !== 'string' && isWirePart(frame)) {
        try {
          const whole = assembler.push(frame);
          if (!whole) return;
          frame = whole;
        } catch {
          return ws.close(1003, 'bad message');
        }
      }
      // Plain JSON first: whether the frame is a call at all decides between a reply and closing.
      let raw: unknown;
      let blobs: Uint8Array | undefined;
      try {
        ({ value: raw, blobs } = parseWireFrame(frame));
      } catch {
        return ws.close(1003, 'bad message');
      }
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ws.close(1003, 'bad message');
      const id = (raw as { id?: unknown }).id;
      if (typeof id !== 'number' || !Number.isSafeInteger(id)) return ws.close(1003, 'bad message');
      const method = (raw as { method?: unknown }).method;
      const name = typeof method === 'string' ? method.slice(0, 60) : 'call';
      let msg: { method?: unknown; payload?: unknown };
      try {
        msg = reviveWireBytes(raw, blobs) as typeof msg;
      } catch (e) {
        if (!(e instanceof WireFormatError)) return ws.close(1011, 'internal error');
        // A call with damaged bytes or too deep a payload is the caller's mistake: say which field.
        const field = (e.path[0] === 'payload' ? e.path.slice(1) : e.path).join('.') || 'payload';
        return client.send({ id, reply: { ok: false, error: { code: 'BAD_ARGUMENT', message: `Invalid ${name} request (${field}): ${e.message}`, context: { field } } } });
      }
      client.call(() =>
        opts.host
          .dispatch(msg.method, msg.payload)
          .catch((e: unknown) => ({ ok: false as const, error: { code: 'INTERNAL' as const, message: `The host failed to answer ${name}: ${(e as Error)?.message ?? 'unknown error'}`, context: {} } }))
          .then((reply) => client.send({ id, reply }))
          .catch((e: unknown) => {
            log(`web host: reply to ${name} not sent: ${(e as Error)?.message ?? String(e)}`);
            ws.terminate();
          }),
      );
    });
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', fail);
      server.on('error', (e) => log(`web host: ${e.message}`));
      ok();
    });
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    port,
    token,
    clients: () => clients.size,
    url: `http://127.0.0.1:${port}/?token=${encodeURIComponent(token)}`,
    close: () =>
      new Promise<void>((ok) => {
        for (const c of clients) c.dispose();
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * One client's send side: frames go straight to the socket while it drains; above the high-water mark
 * they wait in a bounded queue and the client's input is paused, so a client that stops reading holds
 * at most `highWaterBytes + maxQueuedBytes` of the host and is dropped when it makes no progress.
 */
const MAX_WAITING = 64;

class Client {
  private readonly queue: (string | Uint8Array)[] = [];
  private readonly waiting: (() => Promise<void>)[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  private lastProgress = 0;
  private lastBuffered = 0;
  private dead = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: ClientLimits,
    private readonly log: (line: string) => void,
  ) {}

  send(m: WireServerMessage): void {
    if (this.dead || this.ws.readyState !== this.ws.OPEN) return;
    const frame = encodeWire(m);
    if (this.queue.length === 0 && this.ws.bufferedAmount <= this.limits.highWaterBytes) {
      this.ws.send(frame);
    } else {
      this.queue.push(frame);
      this.queuedBytes += frame.length;
      if (this.queuedBytes > this.limits.maxQueuedBytes) return this.drop(`more than ${this.limits.maxQueuedBytes} bytes waiting to be sent`);
    }
    this.watch();
  }

  /**
   * Runs a call now when fewer than `maxInFlight` run; else it waits (input is paused meanwhile, so
   * only frames already received can wait, and at most MAX_WAITING of them).
   */
  call(run: () => Promise<void>): void {
    if (this.dead) return;
    if (this.inFlight < this.limits.maxInFlight) this.start(run);
    else if (this.waiting.length >= MAX_WAITING) return this.drop(`more than ${MAX_WAITING} calls waiting`);
    else this.waiting.push(run);
    this.watch();
  }

  private start(run: () => Promise<void>): void {
    this.inFlight++;
    void run().finally(() => {
      this.inFlight--;
      const next = this.dead ? undefined : this.waiting.shift();
      if (next) this.start(next);
      if (!this.dead) this.watch();
    });
  }

  dispose(): void {
    this.dead = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.waiting.length = 0;
  }

  /** Pauses input while the client is behind, and keeps pumping the queue until it catches up. */
  private watch(): void {
    const behind = this.queue.length > 0 || this.ws.bufferedAmount > this.limits.highWaterBytes;
    const busy = this.inFlight >= this.limits.maxInFlight;
    if ((behind || busy) && !this.paused) {
      this.paused = true;
      this.ws.pause();
    }
    if (behind && !this.timer) {
      this.lastProgress = Date.now();
      this.lastBuffered = this.ws.bufferedAmount;
      this.timer = setTimeout(() => this.pump(), 20);
    }
    if (!behind && !busy && this.paused) {
      this.paused = false;
      this.ws.resume();
    }
  }

  private pump(): void {
    this.timer = undefined;
    if (this.dead || this.ws.readyState !== this.ws.OPEN) return;
    const buffered = this.ws.bufferedAmount;
    if (buffered < this.lastBuffered) this.lastProgress = Date.now();
    this.lastBuffered = buffered;
    while (this.queue.length > 0 && this.ws.bufferedAmount <= this.limits.highWaterBytes) {
      const f = this.queue.shift()!;
      this.queuedBytes -= f.length;
      this.ws.send(f);
      this.lastProgress = Date.now();
      this.lastBuffered = this.ws.bufferedAmount;
    }
    const behind = this.queue.length > 0 || this.ws.bufferedAmount > this.limits.highWaterBytes;
    if (behind && Date.now() - this.lastProgress > this.limits.stallMs) return this.drop(`read nothing for ${this.limits.stallMs} ms`);
    if (behind) this.timer = setTimeout(() => this.pump(), 20);
    else this.watch();
  }

  private drop(why: string): void {
    this.log(`web host: client dropped: ${why}`);
    this.dispose();
    this.ws.terminate();
  }
}
