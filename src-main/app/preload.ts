// The preload: the page's one narrow door to main (STYLE.md §4). It exposes a single frozen object,
// `window.bootbridge`, with one named function per contract method and an event subscription. The
// page never sees ipcRenderer nor a generic invoke(channel, …); main validates every payload anyway.

import { contextBridge, ipcRenderer } from 'electron';
import { IPC_EVENT_CHANNEL, IPC_PREFIX, METHODS, PRELOAD_GLOBAL, type AppEvent, type PreloadApi } from '../../shared/contract.js';

interface IpcLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export function buildPreloadApi(ipc: IpcLike): PreloadApi {
  const api: Record<string, unknown> = {};
  for (const method of METHODS) {
    // Exactly one argument is forwarded, whatever the page passes.
    api[method] = (payload?: unknown) => ipc.invoke(IPC_PREFIX + method, payload);
  }
  api.onEvent = (listener: (event: AppEvent) => void) => {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const handler = (_e: unknown, event: unknown) => listener(event as AppEvent);
    ipc.on(IPC_EVENT_CHANNEL, handler);
    return () => {
      ipc.removeListener(IPC_EVENT_CHANNEL, handler);
    };
  };
  return Object.freeze(api) as PreloadApi;
}

contextBridge.exposeInMainWorld(PRELOAD_GLOBAL, buildPreloadApi(ipcRenderer as unknown as IpcLike));
