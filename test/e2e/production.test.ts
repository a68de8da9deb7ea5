// Production mode end to end in real Chromium: the web host with the real services on four simulated
// STM32F746 boards (50× simulated time). Open the shipped demo recipe, press Flash, see four lanes
// PASS and the counters 4 / 0 / 100%, export the unit log as CSV, leave through the confirmation.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppBackend, type ServicesBackend } from '../../src-main/services/app-backend.js';
import { ROOT, openApp, screenshot, useApp } from './harness.js';

let backend: ServicesBackend | undefined;
const logDir = mkdtempSync(join(tmpdir(), 'bb-e2e-units-'));
const app = useApp(
  async () => {
    backend = await createAppBackend({
      sim: 'stm32f746',
      simBoards: 4,
      simSpeed: 50,
      simState: mkdtempSync(join(tmpdir(), 'bb-e2e-prod-sim-')),
      assetsDir: join(ROOT, 'assets'),
      unitLogDir: logDir,
    });
    return openApp(backend);
  },
  async () => backend?.close(),
);

describe('production view on four simulated STM32F746 boards', () => {
  it('opens the shipped demo recipe from the picker; the engineering views are hidden', async () => {
    const { page } = app();
    await page.locator('[data-test=devices] li[role=option]').nth(3).waitFor();
    await page.locator('[data-test=enter-production]').click();
    await page.locator('[data-test=recipe-picker]').waitFor();
    await page.locator('[data-test=recipe-entry]', { hasText: 'demo-f746-sim.yaml' }).click();
    await page.locator('[data-test=production]').waitFor();
    expect(await page.locator('[data-test=recipe-name]').textContent()).toContain('demo-f746');
    expect(await page.locator('[data-test=recipe-name]').textContent()).toContain('1.0.0');
    expect(await page.locator('[data-test=recipe-hash]').textContent()).toMatch(/^recipe [0-9a-f]{12}$/);
    expect(await page.locator('[role=tablist]').count()).toBe(0);
    expect(await page.locator('[data-test=devices]').count()).toBe(0);
    await page.locator('[data-test=waiting]', { hasText: /^4 boards/ }).waitFor();
    await screenshot(page, 'production-open');
  }, 90_000);

  it('Flash programs all four boards at once: four lanes PASS, counters 4 / 0 / 100%', async () => {
    const { page } = app();
    await page.locator('[data-test=prod-flash]').click();
    // Four lanes appear and run concurrently (gang): all four are seen running or done before the first PASS settles the rest.
    await page.locator('[data-test=lane]').nth(3).waitFor({ timeout: 30_000 });
    await page.locator('[data-test=count-passed]', { hasText: /^4$/ }).waitFor({ timeout: 150_000 });
    const statuses = await page.locator('[data-test=lane-status]').allTextContents();
    expect(statuses.map((t) => t.trim())).toEqual(['✓ PASS', '✓ PASS', '✓ PASS', '✓ PASS']);
    const serials = await page.locator('[data-test=lane]').evaluateAll((els) => els.map((e) => e.getAttribute('data-serial')));
    expect(new Set(serials).size).toBe(4);
    expect((await page.locator('[data-test=count-failed]').textContent())?.trim()).toBe('0');
    expect((await page.locator('[data-test=yield]').textContent())?.trim()).toBe('100%');
    const last = page.locator('[data-test=last-result]');
    expect(await last.getAttribute('class')).toContain('pass');
    expect(await last.textContent()).toContain('PASS');
    await page.locator('[data-test=prod-flash]:not([disabled])').waitFor();
    await screenshot(page, 'production-pass');
    // Every unit is in the station's unit log before it is shown.
    const lines = readFileSync(join(logDir, 'bootbridge-units-sim-bench.jsonl'), 'utf8').trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as { serial: string; result: string });
    expect(records.map((r) => r.result)).toEqual(['PASS', 'PASS', 'PASS', 'PASS']);
    expect(new Set(records.map((r) => r.serial))).toEqual(new Set(serials));
    expect(app().errors).toEqual([]);
  }, 180_000);

  it('a second window (dark theme) opens straight into production mode with the same lanes and counters', async () => {
    const page = await app().browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
    try {
      await page.goto(app().web.url);
      await page.locator('[data-test=production]').waitFor();
      expect(await page.locator('.bb').getAttribute('class')).toContain('dark');
      expect((await page.locator('[data-test=count-passed]').textContent())?.trim()).toBe('4');
      expect(await page.locator('[data-test=lane]').count()).toBe(4);
      await screenshot(page, 'production-pass-dark');
    } finally {
      await page.close();
    }
  }, 60_000);

  it('exports the unit log as a CSV download', async () => {
    const { page } = app();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test=export-csv]').click()]);
    expect(download.suggestedFilename()).toBe('bootbridge-units-sim-bench.csv');
    const file = join(logDir, 'download.csv');
    await download.saveAs(file);
    const rows = readFileSync(file, 'utf8').trim().split('\r\n');
    expect(rows).toHaveLength(5);
    expect(rows.slice(1).every((r) => r.includes(',PASS,'))).toBe(true);
    await page.locator('[data-test=exported]', { hasText: '4 unit(s) exported' }).waitFor();
  }, 60_000);

  it('leaves production mode only through the confirmation, back to the engineering views', async () => {
    const { page } = app();
    await page.locator('[data-test=leave]').click();
    await page.locator('[data-test=leave-dialog]').waitFor();
    await screenshot(page, 'production-leave-confirm');
    // The dialog opened with the safe choice focused: Escape keeps production mode.
    await page.keyboard.press('Escape');
    expect(await page.locator('[data-test=leave-dialog]').count()).toBe(0);
    expect(await page.locator('[data-test=production]').count()).toBe(1);
    await page.locator('[data-test=leave]').click();
    await page.locator('[data-test=leave-confirm]').click();
    await page.locator('[role=tablist]').waitFor();
    expect(await page.locator('[data-test=production]').count()).toBe(0);
    expect(app().errors).toEqual([]);
  }, 60_000);
});
