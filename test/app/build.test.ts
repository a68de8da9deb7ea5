// The desktop app builds with electron-vite as a user's machine builds it (`npm run build:app`),
// with no Electron binary needed: main as ESM with the native `usb` package left external, the
// sandboxed preload as one CommonJS file that needs nothing but electron, the renderer with its CSP.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
// Into a folder of its own: out/ may be in use by the app or the browser tests.
const OUT = mkdtempSync(join(tmpdir(), 'bootbridge-build-'));
const out = (...p: string[]) => join(OUT, ...p);

describe('electron-vite build of main, preload and renderer', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', BOOTBRIDGE_OUT: OUT } });
  }, 180_000);
  afterAll(() => rmSync(OUT, { recursive: true, force: true }));

  it('main is the package entry, and loads the native usb package at run time instead of bundling it', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('out/main/index.js');
    expect(existsSync(out('main', 'index.js'))).toBe(true);
    const chunks = readdirSync(out('main', 'chunks')).map((f) => readFileSync(out('main', 'chunks', f), 'utf8'));
    const main = [readFileSync(out('main', 'index.js'), 'utf8'), ...chunks].join('\n');
    expect(main).toMatch(/from "usb"/);
    expect(main).not.toMatch(/nodeIntegration:\s*true|contextIsolation:\s*false|sandbox:\s*false/);
  });

  it('the preload is one CommonJS file that requires only electron (a sandboxed preload can load nothing else)', () => {
    const preload = readFileSync(out('preload', 'index.cjs'), 'utf8');
    const requires = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(requires.length).toBeGreaterThan(0);
    expect(new Set(requires)).toEqual(new Set(['electron']));
    expect(preload).toMatch(/contextBridge/);
    expect(preload).not.toMatch(/exposeInMainWorld\("ipcRenderer"/);
  });

  it('the renderer page carries a Content-Security-Policy', () => {
    const html = readFileSync(out('renderer', 'index.html'), 'utf8');
    expect(html).toMatch(/http-equiv="Content-Security-Policy"/);
    expect(html).toMatch(/default-src 'self'/);
  });
});
