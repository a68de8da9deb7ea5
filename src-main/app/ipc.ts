// Main's IPC side: one handler per contract method, each checking that the call comes from the app's
// own top-level page (VS Code electron-main/ipcMain.ts does the same) before the API host validates
// the payload against its schema. Kept free of the electron import so it is tested with a fake.

import { IPC_EVENT_CHANNEL, IPC_PREFIX, MAX_FILE_BYTES, MAX_WIRE_JSON_BYTES, METHODS, WireFormatError, checkWireShape, type AppEvent, type Method, type Reply, type ResponseOf } from '../../shared/contract.js';
import type { ApiHost } from '../services/api-host.js';

export interface IpcMainLike {
  handle(channel: string, handler: (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export interface IpcInvokeEventLike {
  senderFrame: { url: string; parent: unknown } | null;
}

export interface WebContentsLike {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

/** Registers every method; returns a function that removes them again. */
export function registerIpc(ipcMain: IpcMainLike, host: ApiHost, isAppUrl: (url: string) => boolean): () => void {
  for (const method of METHODS) {
    ipcMain.handle(IPC_PREFIX + method, async (event, payload, ...extra): Promise<Reply<ResponseOf<Method>>> => {
      const frame = event.senderFrame;
      if (!frame || frame.parent !== null || !isAppUrl(frame.url)) {
        return { ok: false, error: { code: 'BAD_ARGUMENT', message: 'Request from a frame that is not the app', context: { field: 'sender', url: frame?.url ?? '' } } };
      }
      if (extra.length > 0) return { ok: false, error: { code: 'BAD_ARGUMENT', message: `${method} takes one argument`, context: { field: method } } };
      // The same bounds as the WebSocket door (shared/contract.ts): plain data only, nesting and size
      // checked without recursion, before any schema sees the payload.
      try {
        checkWireShape(payload, { maxBytes: MAX_FILE_BYTES + MAX_WIRE_JSON_BYTES });
      } catch (e) {
        if (!(e instanceof WireFormatError)) throw e;
        const field = e.path.join('.') || 'payload';
        return { ok: false, error: { code: 'BAD_ARGUMENT', message: `Invalid ${method} request (${field}): ${e.message}`, context: { field } } };
      }
      try {
        return await host.dispatch(method, payload);
      } catch (e) {
        return { ok: false, error: { code: 'INTERNAL', message: `${method} failed: ${(e as Error)?.message ?? 'unknown error'}`, context: {} } };
      }
    });
  }
  return () => {
    for (const method of METHODS) ipcMain.removeHandler(IPC_PREFIX + method);
  };
}

/** Forwards the host's events to one window's page. */
export function forwardEvents(host: ApiHost, contents: WebContentsLike): () => void {
  return host.onEvent((event: AppEvent) => {
    try {
      if (!contents.isDestroyed()) contents.send(IPC_EVENT_CHANNEL, event);
    } catch {
      // A window closing between the check and the send: its events end here, main goes on.
    }
  });
}

/**
 * True for the app's own page: the dev server's origin while developing, else the packaged
 * index.html file itself (any other file:// URL — a dropped file the page navigated to — is foreign).
 */
export function appUrlCheck(opts: { devServerUrl?: string; indexFileUrl: string }): (url: string) => boolean {
  return (url: string) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    if (opts.devServerUrl) return u.origin === new URL(opts.devServerUrl).origin;
    const index = new URL(opts.indexFileUrl);
    return u.protocol === 'file:' && u.pathname === index.pathname;
  };
}
