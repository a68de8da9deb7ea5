// Picks the renderer's one transport at start (STYLE.md §3): the Electron preload's
// `window.bootbridge` when present, else the web host's WebSocket (token from this page's URL).
// Both present the same BootBridgeApi; errors arrive as ContractError carrying ErrorData.

import {
  ContractError,
  MAX_FILE_BYTES,
  MAX_WIRE_PART_BYTES,
  METHODS,
  PRELOAD_GLOBAL,
  decodeWire,
  encodeWireMessages,
  type AppEvent,
  type BootBridgeApi,
  type Method,
  type FirmwareView,
  type PreloadApi,
  type Reply,
  type WireServerMessage,
} from '../../shared/contract';

function unwrap<T>(reply: Reply<T>): T {
  if (reply.ok) return reply.value;
  throw new ContractError(reply.error);
}

export function fromPreload(preload: PreloadApi): BootBridgeApi {
  const api: Record<string, unknown> = {};
  for (const m of METHODS) {
    const fn = preload[m] as (payload?: unknown) => Promise<Reply<unknown>>;
    api[m] = async (payload?: unknown) => unwrap(await fn(payload));
  }
  api.onEvent = (l: (e: AppEvent) => void) => preload.onEvent(l);
  return api as BootBridgeApi;
}

export interface SocketLike {
  readyState: number;
  /** A text frame (a message without bytes) or a binary frame (shared/contract.ts encodeWire). */
  send(data: string | Uint8Array): void;
  /** Set to 'arraybuffer' by the transport so binary frames arrive as bytes, not Blobs. */
  binaryType?: string;
  /** Bytes queued and not yet sent (the browser's WebSocket has it). */
  bufferedAmount?: number;
  close(): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (ev: { data?: unknown }) => void): void;
}

/** The web host's transport. Calls made before the socket opens are queued; a closed socket fails them. */
export function fromWebSocket(makeSocket: () => SocketLike): BootBridgeApi & { connected: Promise<void> } {
  const listeners = new Set<(e: AppEvent) => void>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  const ws = makeSocket();
  ws.binaryType = 'arraybuffer';
  let open = false;
  // Calls in order; a big one leaves as parts, one per task (shared/contract.ts encodeWireMessages), so
  // the page stays responsive while a 256 MiB file is sent and the next call waits its turn.
  const outbox: { messages: Iterator<string | Uint8Array>; next: IteratorResult<string | Uint8Array> }[] = [];
  let pumping: ReturnType<typeof setTimeout> | undefined;
  const pump = () => {
    pumping = undefined;
    while (open && outbox.length > 0) {
      const item = outbox[0]!;
      if (item.next.done) {
        outbox.shift();
        continue;
      }
      if ((ws.bufferedAmount ?? 0) > 4 * MAX_WIRE_PART_BYTES) {
        pumping = setTimeout(pump, 20);
        return;
      }
      ws.send(item.next.value);
      item.next = item.messages.next();
      if (!item.next.done) {
        pumping = setTimeout(pump, 0);
        return;
      }
    }
  };
  const connected = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => {
      open = true;
      pump();
      resolve();
    });
    ws.addEventListener('error', () => reject(new Error('WebSocket error')));
  });
  connected.catch(() => undefined);
  ws.addEventListener('close', () => {
    open = false;
    outbox.length = 0;
    const error = new ContractError({ code: 'INTERNAL', message: 'Connection to BootBridge closed; reload the page (and check the token in its address).', context: {} });
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    for (const l of listeners) l({ type: 'log', level: 'error', message: error.message });
  });
  ws.addEventListener('message', (ev) => {
    let msg: WireServerMessage;
    try {
      const data = ev.data;
      msg = decodeWire(data instanceof ArrayBuffer || data instanceof Uint8Array ? data : String(data), { maxJsonBytes: Number.MAX_SAFE_INTEGER }) as WireServerMessage;
    } catch {
      for (const l of listeners) l({ type: 'log', level: 'error', message: 'BootBridge sent a message this page cannot read; reload the page.' });
      return;
    }
    if ('event' in msg) {
      for (const l of listeners) l(msg.event);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.reply.ok) p.resolve(msg.reply.value);
    else p.reject(new ContractError(msg.reply.error));
  });

  function call(method: Method, payload?: unknown): Promise<unknown> {
    // Refused here, with words, before a byte is copied: the host would refuse it anyway (and close).
    const bytes = (payload as { bytes?: unknown } | undefined)?.bytes;
    if (bytes instanceof Uint8Array && bytes.byteLength > MAX_FILE_BYTES) {
      const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
      return Promise.reject(
        new ContractError({
          code: 'BAD_ARGUMENT',
          message: `This file is ${mib(bytes.byteLength)}; BootBridge opens files up to ${mib(MAX_FILE_BYTES)}.`,
          context: { field: 'bytes', size: bytes.byteLength, limit: MAX_FILE_BYTES },
        }),
      );
    }
    const id = nextId++;
    // Bytes cross as binary frames (no base64); other calls are a small text frame.
    const messages = encodeWireMessages({ id, method, payload });
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      outbox.push({ messages, next: messages.next() });
      if (!pumping) pump();
    });
  }

  const api: Record<string, unknown> = { connected };
  for (const m of METHODS) api[m] = (payload?: unknown) => call(m, payload);
  api.onEvent = (l: (e: AppEvent) => void) => {
    listeners.add(l);
    return () => listeners.delete(l);
  };
  return api as BootBridgeApi & { connected: Promise<void> };
}

/**
 * Opens a File the user picked without the page's main thread holding or sending its bytes (the web
 * host: a worker streams it, see lib/file-sender.worker.ts). Absent in Electron, where the page reads
 * the file in slices and structured clone carries the bytes.
 */
export interface FileDoor {
  openFirmwareFile(req: { name: string; file: Blob; baseAddress?: number }, onProgress?: (sent: number, total: number) => void): Promise<FirmwareView>;
}

/** What a worker looks like to the page (structural, so tests can pass a stand-in). */
export interface WorkerLike {
  postMessage(m: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
}

/** A FileDoor over workers made by `makeWorker`, one per file, to the web host at `url`. */
export function workerFileDoor(url: string, makeWorker: () => WorkerLike): FileDoor {
  return {
    openFirmwareFile(req, onProgress) {
      return new Promise<FirmwareView>((resolve, reject) => {
        const w = makeWorker();
        w.onmessage = (e) => {
          const m = e.data as { kind: 'progress'; sent: number; total: number } | { kind: 'reply'; reply: Reply<FirmwareView> };
          if (m.kind === 'progress') return onProgress?.(m.sent, m.total);
          w.terminate();
          try {
            resolve(unwrap(m.reply));
          } catch (err) {
            reject(err);
          }
        };
        w.onerror = () => {
          w.terminate();
          reject(new ContractError({ code: 'INTERNAL', message: 'The page could not send the file to BootBridge; reload the page and open it again.', context: {} }));
        };
        w.postMessage({ url, ...req });
      });
    },
  };
}

/** What the transport needs of the page's window (structural, so tests can pass a stand-in). */
export interface PageLike {
  location: { search: string; protocol: string; host: string };
  [PRELOAD_GLOBAL]?: PreloadApi;
}

/** The transport for this page; in the web host with a FileDoor (a worker sends picked files). */
export function pickTransport(win: PageLike, makeWorker?: () => WorkerLike): BootBridgeApi & Partial<FileDoor> {
  const preload = win[PRELOAD_GLOBAL];
  if (preload) return fromPreload(preload);
  const token = new URLSearchParams(win.location.search).get('token') ?? '';
  const url = `${win.location.protocol === 'https:' ? 'wss' : 'ws'}://${win.location.host}/ws?token=${encodeURIComponent(token)}`;
  const api = fromWebSocket(() => new WebSocket(url) as unknown as SocketLike);
  return makeWorker ? Object.assign(api, workerFileDoor(url, makeWorker)) : api;
}
