// The Electron main process with a fake `electron`: one window, isolated and sandboxed, no navigation
// away, no new windows, no permissions, a CSP on every response, and the contract registered over IPC.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { pathToFileURL } from 'node:url';
import { FakeBrowserWindow, FakeElectron, FakeWebContents } from './fake-electron.js';
import { FakeBackend } from './fake-backend.js';
import { METHODS, IPC_PREFIX } from '../../shared/contract.js';

const fake = new FakeElectron();
const appListeners = new Map<string, ((...a: unknown[]) => void)[]>();
const opened: string[] = [];
const startErrors: string[] = [];

vi.mock('electron', () => ({
  app: {
    enableSandbox: () => undefined,
    whenReady: async () => undefined,
    isPackaged: true,
    getVersion: () => '0.1.0',
    getPath: () => '/tmp/bootbridge-test-user-data',
    getAppPath: () => '/opt/BootBridge/resources/app.asar',
    on: (event: string, l: (...a: unknown[]) => void) => appListeners.set(event, [...(appListeners.get(event) ?? []), l]),
    quit: () => undefined,
    exit: () => undefined,
  },
  BrowserWindow: class extends FakeBrowserWindow {
    constructor(options: Record<string, unknown>) {
      super(options);
      fake.windows.push(this);
    }
  },
  ipcMain: fake.ipcMain,
  session: {
    defaultSession: {
      setPermissionRequestHandler: (h: FakeElectron['permissionHook']) => (fake.permissionHook = h),
      webRequest: { onHeadersReceived: (h: FakeElectron['headersHook']) => (fake.headersHook = h) },
    },
  },
  dialog: { showOpenDialog: async () => ({ canceled: true, filePaths: [] }), showSaveDialog: async () => ({ canceled: true }), showErrorBox: (_t: string, body: string) => void startErrors.push(body) },
  shell: { openExternal: async (url: string) => void opened.push(url) },
}));

vi.mock('../../src-main/services/app-backend.js', () => ({
  parseHostArgs: () => ({}),
  createAppBackend: async () => Object.assign(new FakeBackend(), { close: async () => undefined }),
}));

beforeAll(async () => {
  // Electron defines it; plain Node does not.
  Object.assign(process, { resourcesPath: '/opt/BootBridge/resources' });
  await import('../../src-main/app/main.js');
  await vi.waitFor(() => {
    expect(startErrors).toEqual([]);
    expect(fake.windows[0]?.loaded).toBeDefined();
  });
});

describe('Electron shell', () => {
  it('opens one window with context isolation, the sandbox and no Node in the page', () => {
    expect(fake.windows).toHaveLength(1);
    const prefs = fake.windows[0]!.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(String(prefs.preload)).toMatch(/preload[\\/]index\.cjs$/);
    expect(fake.windows[0]!.loaded?.file).toMatch(/renderer[\\/]index\.html$/);
  });

  it('registers one IPC handler per contract method and nothing else', () => {
    expect([...fake.handlers.keys()].sort()).toEqual(METHODS.map((m) => IPC_PREFIX + m).sort());
  });

  it('blocks navigation away from the app, webviews and new windows', () => {
    const contents = new FakeWebContents();
    for (const l of appListeners.get('web-contents-created') ?? []) l({}, contents);
    const nav = contents.listeners.get('will-navigate')![0]!;
    const blocked = { prevented: false, preventDefault() { this.prevented = true; } };
    nav(blocked, 'https://evil.example/');
    expect(blocked.prevented).toBe(true);
    const own = { prevented: false, preventDefault() { this.prevented = true; } };
    nav(own, pathToFileURL(fake.windows[0]!.loaded!.file!).href);
    expect(own.prevented).toBe(false);
    const webview = { prevented: false, preventDefault() { this.prevented = true; } };
    contents.listeners.get('will-attach-webview')![0]!(webview);
    expect(webview.prevented).toBe(true);
    expect(contents.windowOpenHandler!({ url: 'https://www.st.com/an3156' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://www.st.com/an3156']);
    expect(contents.windowOpenHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(opened).toHaveLength(1);
  });

  it('denies every permission request and adds a strict CSP to responses', () => {
    let granted: boolean | undefined;
    fake.permissionHook!({}, 'media', (ok) => (granted = ok));
    expect(granted).toBe(false);
    let headers: Record<string, string[]> = {};
    fake.headersHook!({ responseHeaders: { 'content-type': ['text/html'] } }, (r) => (headers = r.responseHeaders));
    const csp = headers['Content-Security-Policy']![0]!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("object-src 'none'");
  });
});
