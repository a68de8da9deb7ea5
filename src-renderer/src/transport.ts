// Picks the renderer's one transport at start (STYLE.md §3): the Electron preload's
// `window.bootbridge` when present, else the web host's WebSocket (token from this page's URL).
// Both present the same BootBridgeApi; errors arrive as ContractError carrying ErrorData.

import {
  ContractError,
  METHODS,
  PRELOAD_GLOBAL,
  decodeWire,
  encodeWire,
  type AppEvent,
  type BootBridgeApi,
  type Method,
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
  send(data: string): void;
  close(): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (ev: { data?: unknown }) => void): void;
}

/** The web host's transport. Calls made before the socket opens are queued; a closed socket fails them. */
export function fromWebSocket(makeSocket: () => SocketLike): BootBridgeApi & { connected: Promise<void> } {
  const listeners = new Set<(e: AppEvent) => void>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  const ws = makeSocket();
  let open = false;
  const queue: string[] = [];
  const connected = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => {
      open = true;
      for (const q of queue.splice(0)) ws.send(q);
      resolve();
    });
    ws.addEventListener('error', () => reject(new Error('WebSocket error')));
  });
  connected.catch(() => undefined);
  ws.addEventListener('close', () => {
    open = false;
    const error = new ContractError({ code: 'INTERNAL', message: 'Connection to BootBridge closed; reload the page (and check the token in its address).', context: {} });
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    for (const l of listeners) l({ type: 'log', level: 'error', message: error.message });
  });
  ws.addEventListener('message', (ev) => {
    const msg = decodeWire(String(ev.data)) as WireServerMessage;
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
    const id = nextId++;
    const text = encodeWire({ id, method, payload });
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (open) ws.send(text);
      else queue.push(text);
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

/** The transport for this page. */
/** What the transport needs of the page's window (structural, so tests can pass a stand-in). */
export interface PageLike {
  location: { search: string; protocol: string; host: string };
  [PRELOAD_GLOBAL]?: PreloadApi;
}

export function pickTransport(win: PageLike): BootBridgeApi {
  const preload = win[PRELOAD_GLOBAL];
  if (preload) return fromPreload(preload);
  const token = new URLSearchParams(win.location.search).get('token') ?? '';
  const url = `${win.location.protocol === 'https:' ? 'wss' : 'ws'}://${win.location.host}/ws?token=${encodeURIComponent(token)}`;
  return fromWebSocket(() => new WebSocket(url) as unknown as SocketLike);
}
