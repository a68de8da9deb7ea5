// Shared set-up for the browser tests: builds the renderer when its output is older than its sources,
// serves it with the web host over a given backend, and launches Debian's chromium through
// playwright-core. A missing chromium fails the test with the fix, never skips it.

import { afterAll, beforeAll, beforeEach } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ApiHost, memoryStore, type AppBackend } from '../../src-main/services/api-host.js';
import type { RecentFile } from '../../shared/contract.js';
import { startWebHost, type WebHost } from '../../src-main/web/server.js';
import { createAppBackend, type ServicesBackend } from '../../src-main/services/app-backend.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Builds out/renderer unless it is newer than every renderer and shared source. Test files run in
 * parallel workers, so one builds under a lock folder and the others wait for it.
 */
export async function ensureRendererBuilt(): Promise<string> {
  const out = join(ROOT, 'out/renderer');
  const index = join(out, 'index.html');
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= Math.max(newest(join(ROOT, 'src-renderer')), newest(join(ROOT, 'shared')));
  const lock = join(ROOT, 'out/.renderer-build.lock');
  mkdirSync(join(ROOT, 'out'), { recursive: true });
  for (const started = Date.now(); !fresh(); ) {
    try {
      mkdirSync(lock);
    } catch {
      // Another worker is building (a lock older than 5 minutes is left over from a crash).
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() - started > 170_000) throw new Error('Timed out waiting for another test worker to build the renderer');
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      if (!fresh()) {
        const { build } = await import('vite');
        const { rendererConfig } = await import('../../src-renderer/vite.config.js');
        await build({ ...rendererConfig(), logLevel: 'warn', configFile: false });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return out;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. The browser tests need Debian's chromium: sudo apt-get install chromium (or set CHROMIUM_PATH).`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface Session {
  web: WebHost;
  api: ApiHost;
  browser: Browser;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

export async function openApp(backend: AppBackend, opts: { colorScheme?: 'light' | 'dark'; recent?: RecentFile[] } = {}): Promise<Session> {
  const staticDir = await ensureRendererBuilt();
  const api = new ApiHost(backend, { shell: 'web', version: 'e2e' }, memoryStore(opts.recent ?? []));
  const web = await startWebHost({ host: api, staticDir });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme: opts.colorScheme ?? 'light' });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(web.url);
  return {
    web,
    api,
    browser,
    page,
    errors,
    async close() {
      await browser.close();
      await web.close();
      api.dispose();
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * One app session for a test file: opened once before its tests, closed (and then `after`, e.g. the
 * backend) after them. A set-up error — no chromium, a build failure — fails every test, never skips.
 * Call the returned function inside a test for the session.
 */
export function useApp(start: () => Promise<Session>, after?: () => Promise<unknown>): () => Session {
  let ready: Promise<Session>;
  let session: Session | undefined;
  beforeAll(() => {
    ready = start();
    ready.catch(() => undefined);
  });
  beforeEach(async () => {
    session = await ready;
  }, 180_000);
  afterAll(async () => {
    await (await ready.catch(() => undefined))?.close();
    await after?.();
  });
  return () => session!;
}

/**
 * useApp on the real services with simulated STM32F746 boards (memories and unit log in fresh temporary
 * folders). `speed`: the simulator's speed-up; `backend()` gives the services for a test to reach the boards.
 */
export function useSimApp(name: string, opts: { boards: number; speed: number }): { app: () => Session; backend: () => ServicesBackend } {
  let backend: ServicesBackend | undefined;
  const app = useApp(
    async () => {
      backend = await createAppBackend({
        sim: 'stm32f746',
        simBoards: opts.boards,
        simSpeed: opts.speed,
        simState: mkdtempSync(join(tmpdir(), `bb-e2e-${name}-sim-`)),
        assetsDir: join(ROOT, 'assets'),
        unitLogDir: mkdtempSync(join(tmpdir(), `bb-e2e-${name}-units-`)),
      });
      return openApp(backend);
    },
    async () => backend?.close(),
  );
  return { app, backend: () => backend! };
}
