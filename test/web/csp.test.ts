// The CSP applied by a real browser, not read from a header hook: Chromium loads the web host's page
// (CSP in the response header) and the renderer's own index.html from file:// (the Electron case,
// where no response header exists and only the page's <meta> policy can apply). In both, an inline
// script and an eval are blocked and reported as violations.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHost } from '../../src-main/services/api-host.js';
import { startWebHost } from '../../src-main/web/server.js';
import { FakeBackend } from '../app/fake-backend.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let browser: Browser;

/** A page that tries an inline script, an inline handler and eval, and records what ran and what was blocked. */
const PROBE = `
<script>window.inlineRan = true;</script>
<img src="x:" onerror="window.handlerRan = true">
<script src="probe.js"></script>`;
const PROBE_JS = `window.violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective));
try { eval('window.evalRan = true'); } catch (e) { window.evalBlocked = String(e); }`;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--allow-file-access-from-files'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

async function probe(url: string): Promise<Record<string, unknown>> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForTimeout(300);
  const r = await page.evaluate(() => {
    const w = globalThis as unknown as Record<string, unknown>;
    return { inlineRan: w.inlineRan ?? false, handlerRan: w.handlerRan ?? false, evalRan: w.evalRan ?? false, evalBlocked: w.evalBlocked ?? null, probeLoaded: Array.isArray(w.violations) };
  });
  await page.close();
  return r;
}

describe('CSP as a browser applies it', () => {
  it('the web host page: inline script, inline handler and eval are blocked; its own script runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-csp-'));
    writeFileSync(join(dir, 'index.html'), `<!doctype html><title>x</title>${PROBE}`);
    writeFileSync(join(dir, 'probe.js'), PROBE_JS);
    const api = new ApiHost(new FakeBackend(), { shell: 'web', version: 'test' });
    const host = await startWebHost({ host: api, staticDir: dir, token: 't' });
    try {
      const r = await probe(`http://127.0.0.1:${host.port}/`);
      expect(r).toMatchObject({ probeLoaded: true, inlineRan: false, handlerRan: false, evalRan: false });
      expect(r.evalBlocked).toMatch(/EvalError|Content Security Policy/);
    } finally {
      await host.close();
      api.dispose();
    }
  }, 30_000);

  it('the renderer index.html from file:// (Electron): its <meta> policy blocks the same', async () => {
    const html = readFileSync(join(ROOT, 'src-renderer', 'index.html'), 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"[\s\S]*?\/>/.exec(html)?.[0];
    expect(meta, 'src-renderer/index.html carries its CSP as a <meta> (file:// pages get no header)').toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'bb-csp-file-'));
    writeFileSync(join(dir, 'index.html'), `<!doctype html><html><head>${meta}</head><body>${PROBE}</body></html>`);
    writeFileSync(join(dir, 'probe.js'), PROBE_JS);
    const r = await probe(pathToFileURL(join(dir, 'index.html')).href);
    expect(r).toMatchObject({ inlineRan: false, handlerRan: false, evalRan: false });
  }, 30_000);
});
