// Recent files the user picked in the page (the browser's file input or a drop). In the web host those
// bytes never have a path main could reopen, and docs/security.md forbids the page naming one: so the
// page keeps the files themselves, in its own origin's IndexedDB (File objects are structured-cloneable,
// https://html.spec.whatwg.org/multipage/structured-data.html#serializable-objects), and reopens them as
// bytes. Files the host opened by path (Electron's dialog, the examples) stay in the host's list.

import type { RecentFile } from '../../../shared/contract';

/** Recent entries of this list have a path with this prefix (never a file-system path). */
export const PAGE_RECENT_PREFIX = 'page-recent:';
const MAX = 10;
/** Larger files are not copied into the browser's storage (it would hold 10 × this at most). */
export const PAGE_RECENT_MAX_BYTES = 16 * 1024 * 1024;
const DB = 'bootbridge';
const STORE = 'recent-files';

interface Entry {
  key: string;
  name: string;
  openedAt: number;
  baseAddress?: number;
  file: File;
}

// The few IndexedDB shapes used here (this file is also compiled with the main process's lib, no DOM).
interface Req<T> { result: T; error: unknown; onsuccess: (() => void) | null; onerror: (() => void) | null }
interface Store { getAll(): Req<unknown>; get(key: string): Req<unknown>; put(v: unknown): unknown; delete(key: string): unknown }
interface Tx { objectStore(name: string): Store; error: unknown; oncomplete: (() => void) | null; onerror: (() => void) | null }
interface Db { transaction(name: string, mode?: 'readonly' | 'readwrite'): Tx; createObjectStore(name: string, o: { keyPath: string }): unknown; close(): void }
interface OpenReq extends Req<Db> { onupgradeneeded: (() => void) | null }
const idb = (globalThis as { indexedDB?: { open(name: string, version: number): OpenReq } }).indexedDB;

function db(): Promise<Db> {
  return new Promise((resolve, reject) => {
    if (!idb) return reject(new Error('no IndexedDB'));
    const req = idb.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
  });
}

function done<T>(req: Req<unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

async function all(): Promise<Entry[]> {
  const d = await db();
  try {
    const list = await done<Entry[]>(d.transaction(STORE).objectStore(STORE).getAll());
    return list.sort((a, b) => b.openedAt - a.openedAt);
  } finally {
    d.close();
  }
}

/** The page's recent files, newest first (empty when the browser keeps no storage). */
export async function pageRecentFiles(): Promise<RecentFile[]> {
  try {
    return (await all()).map((e) => ({ name: e.name, path: PAGE_RECENT_PREFIX + e.key, openedAt: e.openedAt }));
  } catch {
    return [];
  }
}

/** Remembers a file the user picked and opened; keeps the newest MAX. */
export async function rememberPageFile(file: File, baseAddress?: number): Promise<void> {
  if (file.size > PAGE_RECENT_MAX_BYTES) return;
  try {
    const key = `${file.name}:${file.size}:${file.lastModified}`;
    const entry: Entry = { key, name: file.name, openedAt: Date.now(), file, ...(baseAddress === undefined ? {} : { baseAddress }) };
    const old = (await all()).filter((e) => e.key !== key).slice(MAX - 1);
    const d = await db();
    try {
      const tx = d.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      store.put(entry);
      for (const e of old) store.delete(e.key);
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
      });
    } finally {
      d.close();
    }
  } catch {
    // A browser that keeps no storage (private mode, quota) just has no page recents.
  }
}

/** The file behind a page-recent path, with the base address it was opened at. */
export async function pageRecentFile(path: string): Promise<{ file: File; baseAddress?: number } | undefined> {
  const key = path.slice(PAGE_RECENT_PREFIX.length);
  const d = await db();
  try {
    const e = await done<Entry | undefined>(d.transaction(STORE).objectStore(STORE).get(key));
    return e ? { file: e.file, ...(e.baseAddress === undefined ? {} : { baseAddress: e.baseAddress }) } : undefined;
  } finally {
    d.close();
  }
}
