// The operator's verdict in real Chromium: two simulated F746 boards, one unplugged mid-batch. The
// batch says FAIL in words, naming the unplugged board by serial and lane, even though the other board
// passed and the failed one is no longer attached; the whole verdict is on screen at 1920×1080,
// 1280×800 and 1024×700 in both themes without horizontal scroll; axe-core finds nothing serious; the
// FAIL stays until acknowledged, and the acknowledgement holds in every window and after a reload; counters survive leaving and reopening the recipe.
import { describe, expect, it } from 'vitest';
import { screenshot, useSimApp } from './harness.js';
import { SIZES, horizontalOverflow, insideViewport, seriousViolations } from './a11y.js';

// Slow enough that a board can be unplugged while its QSPI is being written.
const { app, backend: services } = useSimApp('verdict', { boards: 2, speed: 5 });

async function until<T>(get: () => T | undefined, ms = 120_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
}

describe('production verdict per batch', () => {
  it('one board unplugged mid-batch: the batch is FAIL, naming that board by serial and lane, until acknowledged', async () => {
    const { page } = app();
    const b = services();
    await page.locator('[data-test=devices] li[role=option]').nth(1).waitFor();
    await page.locator('[data-test=enter-production]').click();
    await page.locator('[data-test=recipe-entry]', { hasText: 'demo-f746-sim.yaml' }).click();
    await page.locator('[data-test=production]').waitFor();
    await page.locator('[data-test=prod-flash]').click();
    await page.locator('[data-test=last-result]', { hasText: 'RUNNING' }).waitFor();
    // Unplug the second lane's board while it is in the loader stage.
    const victim = await until(() => b.production.state()?.lanes.find((l, i) => i === 1 && l.status === 'running' && l.stage === 'loader'));
    expect(await b.simDetach(victim.id)).toBe(true);

    const verdict = page.locator('[data-test=last-result]');
    await page.locator('[data-test=verdict-word]', { hasText: 'FAIL' }).waitFor({ timeout: 60_000 });
    // The other board finishes; the verdict stays FAIL.
    await page.locator('[data-test=prod-flash]:not(.busy)').waitFor({ timeout: 120_000 });
    const st = b.production.state()!;
    expect(st.lanes.map((l) => l.status).sort()).toEqual(['FAIL', 'PASS']);
    expect(await verdict.getAttribute('class')).toContain('fail');
    const fail = page.locator('[data-test=verdict-fail]');
    expect(await fail.count()).toBe(1);
    expect(await fail.textContent()).toContain(`${victim.serial} · lane 2`);
    expect(await page.locator('[data-test=left-in]').textContent()).toMatch(/Unplugged|No longer on the bus/);
    // The unplugged lane does not claim the board still runs the loader.
    const lane = page.locator(`[data-test=lane][data-serial="${victim.serial}"]`);
    expect(await lane.locator('[data-test=lane-stage]').textContent()).toBe('failed · unplugged');
    expect(await lane.textContent()).not.toContain('still running the loader');
    // During and after the run the page does not claim "0 boards … in DFU mode".
    expect(await page.locator('[data-test=waiting]').textContent()).toContain('Acknowledge');
    expect(await page.locator('[data-test=count-failed]').textContent()).toBe('1');
    expect(await page.locator('[data-test=count-units]').textContent()).toBe('2');

    // Every size, both themes: the whole verdict is on screen, nothing scrolls sideways, nothing serious for axe.
    for (const scheme of ['light', 'dark'] as const) {
      for (const size of SIZES) {
        const p = await app().browser.newPage({ viewport: size, colorScheme: scheme });
        try {
          await p.goto(app().web.url);
          await p.locator('[data-test=verdict-word]', { hasText: 'FAIL' }).waitFor();
          await p.waitForTimeout(200);
          const name = `verdict-fail-${size.width}x${size.height}-${scheme}`;
          await p.screenshot({ path: await screenshot(p, name) });
          expect(await horizontalOverflow(p), name).toBeLessThanOrEqual(0);
          const where = await insideViewport(p, p.locator('[data-test=last-result]'));
          expect(where.inside, `${name}: ${JSON.stringify(where)}`).toBe(true);
          expect(await seriousViolations(p), name).toEqual([]);
        } finally {
          await p.close();
        }
      }
    }

    // Acknowledged, the FAIL clears and the next batch may start — in this window, in a second one, and after a reload.
    const second = await app().browser.newPage({ viewport: { width: 1280, height: 800 } });
    await second.goto(app().web.url);
    await second.locator('[data-test=verdict-word]', { hasText: 'FAIL' }).waitFor();
    await page.locator('[data-test=acknowledge]').click();
    expect(await verdict.getAttribute('class')).not.toContain('fail');
    expect(await page.locator('[data-test=prod-flash]').isDisabled()).toBe(false);
    await second.locator('[data-test=last-result]:not(.fail)').waitFor({ timeout: 10_000 });
    expect(await second.locator('[data-test=prod-flash]').isDisabled()).toBe(false);
    await second.close();
    await page.reload();
    await page.locator('[data-test=production]').waitFor();
    await page.locator('[data-test=last-result]').waitFor();
    expect(await verdict.getAttribute('class')).not.toContain('fail');
    expect(await page.locator('[data-test=verdict-fail]').count()).toBe(0);
    await screenshot(page, 'verdict-acknowledged');
    expect(app().errors).toEqual([]);
  }, 300_000);

  it('counters come from the unit log: leaving and reopening the recipe keeps the shift’s totals', async () => {
    const { page } = app();
    await page.locator('[data-test=leave]').click();
    await page.locator('[data-test=leave-confirm]').click();
    await page.locator('[role=tablist]').waitFor();
    await page.locator('[data-test=enter-production]').click();
    await page.locator('[data-test=recipe-entry]', { hasText: 'demo-f746-sim.yaml' }).click();
    await page.locator('[data-test=production]').waitFor();
    expect(await page.locator('[data-test=count-passed]').textContent()).toBe('1');
    expect(await page.locator('[data-test=count-failed]').textContent()).toBe('1');
    expect(await page.locator('[data-test=count-attempts]').textContent()).toBe('2');
    expect(await page.locator('[data-test=lane]').count()).toBe(0);
  }, 60_000);
});
