// Screenshot checks of the engineering and production views in real Chromium on a simulated F746, at
// 1920×1080, 1280×800 and 1024×700, light and dark, after a flash: nothing scrolls sideways, the
// verdict is wholly on screen, Flash keeps its place in the toolbar whether a file is open or not, the
// loader menu shows full names (only this chip's loaders, experimental ones marked), and axe-core finds
// nothing serious. PNGs go to test-artifacts/ (git-ignored) to be looked at.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { LoaderSummary } from '../../shared/contract.js';
import { ROOT, screenshot, useSimApp } from './harness.js';
import { SIZES, horizontalOverflow, insideViewport, seriousViolations } from './a11y.js';

const DEMO = join(ROOT, 'assets/examples/demo-f746/demo-f746.elf');
const { app } = useSimApp('screens', { boards: 2, speed: 50 });

async function flashX(page: Page): Promise<number> {
  const box = await page.locator('[data-test=flash], [data-test=cancel]').first().boundingBox();
  return Math.round(box!.x + box!.width);
}

async function everySize(page: Page, what: string, check: (name: string) => Promise<void>): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    for (const size of SIZES) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize(size);
      await page.waitForTimeout(150);
      const name = `${what}-${size.width}x${size.height}-${scheme}`;
      await screenshot(page, name);
      expect(await horizontalOverflow(page), name).toBeLessThanOrEqual(0);
      await check(name);
      expect(await seriousViolations(page), name).toEqual([]);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1400, height: 900 });
}

describe('screens', () => {
  it('toolbar: Flash stays in place when a file opens; the loader menu lists this chip’s loaders by full name', async () => {
    const { page } = app();
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.locator('[data-test=devices] li[role=option]').first().waitFor();
    const before = await flashX(page);
    await page.locator('[data-test=file-input]').setInputFiles(DEMO);
    await page.locator('[data-test=file-name]', { hasText: 'demo-f746.elf' }).waitFor();
    expect(await flashX(page)).toBe(before);
    // Before any flash the plan says which sectors it compares first, and the map marks them.
    await page.getByRole('tab', { name: 'Plan' }).click();
    expect(await page.locator('[data-test=plan-compare]').textContent()).toMatch(/\d+ sectors are compared with the image first/);
    await page.getByRole('tab', { name: 'Memory map' }).click();
    await page.locator('[data-test=legend-compare]').waitFor();
    await screenshot(page, 'map-plan-compare-1280x800');
    await page.locator('[data-test=loader]').click();
    const options = page.locator('.n-base-select-option');
    await options.first().waitFor();
    const texts = (await options.allTextContents()).map((t) => t.trim());
    const all = await app().api.dispatch('listLoaders', undefined);
    if (!all.ok) throw new Error(all.error.message);
    const loaders = (all.value as LoaderSummary[]).filter((l) => l.chips.includes(0x449));
    expect(loaders.length).toBeGreaterThan(1);
    // Every loader for this chip, by its whole name; none for other chips; the experimental one marked.
    for (const l of loaders) expect(texts.some((t) => t.includes(l.name)), l.name).toBe(true);
    expect(texts.some((t) => /STM32F40x|STM32G47x|STM32H74x|STM32L47x/.test(t))).toBe(false);
    // The board's real loader has no run on a real board recorded yet (its loader.json says so).
    const experimental = loaders.filter((l) => JSON.parse(readFileSync(join(ROOT, 'assets/loaders', l.id, 'loader.json'), 'utf8')).experimental === true);
    expect(experimental.length).toBeGreaterThan(0);
    expect(texts.filter((t) => /\(experimental\)/.test(t)).length).toBe(experimental.length);
    // Nothing in the open menu is cut short.
    type Box = { scrollWidth: number; clientWidth: number; querySelectorAll(s: string): ArrayLike<Box> };
    const clipped = await options.evaluateAll((els: Box[]) => els.filter((e) => [e, ...Array.from(e.querySelectorAll('*'))].some((x) => x.scrollWidth > x.clientWidth + 1)).length);
    expect(clipped).toBe(0);
    await screenshot(page, 'toolbar-loader-menu-1280x800');
    // Picked, the closed select tells the loaders apart (not the same cut-off prefix for all).
    await options.filter({ hasText: 'BootBridge simulated loader' }).click();
    expect((await page.locator('[data-test=loader] .loader-short').textContent())?.trim()).toBe('Simulated STM32F746G-DISCO');
    expect(await flashX(page)).toBe(before);
    await page.locator('[data-test=loader]').click();
    await page.locator('.n-base-select-option', { hasText: 'Loader: automatic' }).click();
    await page.setViewportSize({ width: 1400, height: 900 });
  }, 120_000);

  it('engineering: after a flash every tab fits every size and theme, and the verdict is wholly on screen', async () => {
    const { page } = app();
    // The board stays in DFU (running the loader) so that it can be flashed again.
    await page.locator('label.opt', { hasText: 'Start app' }).locator('.n-switch').click();
    await page.locator('[data-test=flash]:not([disabled])').click();
    await page.locator('[data-test=verdict]').waitFor({ timeout: 120_000 });
    expect(await page.locator('[data-test=verdict]').getAttribute('class')).toContain('pass');
    // A blank board: compared sectors were blank, written without an erase.
    await page.getByRole('tab', { name: 'Memory map' }).click();
    await page.locator('[data-test=legend-blank]').waitFor();
    expect(await page.locator('[data-outcome=blank]').count()).toBeGreaterThan(0);
    await screenshot(page, 'map-after-first-flash');
    // The same image again: every compared sector already holds it, and the map says so.
    await page.getByRole('tab', { name: 'Flash' }).click();
    await page.locator('[data-test=flash]:not([disabled])').click();
    await page.locator('[data-test=verdict]').waitFor({ timeout: 120_000 });
    // When it does not come back, the screenshot and Flash's own reason say why.
    await page.locator('[data-test=flash]:not([disabled])').waitFor({ timeout: 120_000 }).catch(async (e: Error) => {
      await screenshot(page, 'screens-reflash-stuck');
      throw new Error(`${e.message}; Flash says: ${await page.locator('[data-test=flash], [data-test=cancel]').first().getAttribute('title')}`);
    });
    await page.getByRole('tab', { name: 'Memory map' }).click();
    await page.locator('[data-test=legend-skip]').waitFor();
    expect(await page.locator('[data-outcome=unchanged]').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-outcome=rewritten]').count()).toBe(0);
    expect(await page.locator('[data-test=region-skipped]').first().textContent()).toMatch(/skipped \d+ unchanged sector/);
    // And the verdict says what comparing saved.
    await page.getByRole('tab', { name: 'Flash' }).click();
    expect(await page.locator('[data-test=verdict-skipped]').textContent()).toMatch(/already held the image and were skipped/);
    for (const tab of ['Memory map', 'Plan', 'Flash']) {
      await page.getByRole('tab', { name: tab }).click();
      await everySize(page, `screen-eng-${tab.replace(/\W+/g, '').toLowerCase()}`, async (name) => {
        if (tab === 'Flash') {
          const v = await insideViewport(page, page.locator('[data-test=verdict]'));
          expect(v.inside, `${name} verdict ${JSON.stringify(v)}`).toBe(true);
        }
        const f = await insideViewport(page, page.locator('[data-test=flash]'));
        expect(f.inside, `${name} Flash ${JSON.stringify(f)}`).toBe(true);
      });
    }
    expect(app().errors).toEqual([]);
  }, 300_000);

  it('production: a passed batch fits every size and theme with the verdict wholly on screen', async () => {
    const { page } = app();
    await page.locator('[data-test=enter-production]').click();
    await page.locator('[data-test=recipe-entry]', { hasText: 'demo-f746-sim.yaml' }).click();
    await page.locator('[data-test=production]').waitFor();
    await page.locator('[data-test=prod-flash]').click();
    await page.locator('[data-test=verdict-word]', { hasText: /PASS|FAIL/ }).waitFor({ timeout: 180_000 });
    await everySize(page, 'screen-prod-pass', async (name) => {
      const v = await insideViewport(page, page.locator('[data-test=last-result]'));
      expect(v.inside, `${name} verdict ${JSON.stringify(v)}`).toBe(true);
      const f = await insideViewport(page, page.locator('[data-test=prod-flash]'));
      expect(f.inside, `${name} Flash ${JSON.stringify(f)}`).toBe(true);
    });
    expect(await page.locator('[data-test=verdict-word]').textContent()).toContain('PASS');
    expect(app().errors).toEqual([]);
  }, 300_000);
});
