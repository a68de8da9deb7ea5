// The hex view of a 16 MiB read-back in real Chromium: it scrolls from start to end with the rows in
// the page bounded (only those in sight exist), no main-thread task over 200 ms while scrolling, and
// at the end of the scrollbar the last row — the read's last address — is on screen.
import { describe, expect, it } from 'vitest';
import { FakeBackend } from '../app/fake-backend.js';
import { openApp, screenshot, useApp } from './harness.js';
import { watchLongTasks } from './a11y.js';

const app = useApp(() => openApp(new FakeBackend()));
const BASE = 0x90000000;
const LENGTH = 16 * 1024 * 1024;

describe('hex view', () => {
  it('a 16 MiB read scrolls to its end with bounded rows, no long task, and shows the last address', async () => {
    const { page } = app();
    await page.locator('[data-test=devices] li[role=option]').first().waitFor();
    await page.locator('#tab-read').click();
    await page.locator('[data-test=read-address]').fill('0x' + BASE.toString(16));
    await page.locator('[data-test=read-length]').fill('16M');
    await page.locator('[data-test=read]').click();
    await page.locator('[data-test=read-summary]', { hasText: '16 MiB from 0x90000000' }).waitFor({ timeout: 60_000 });
    const view = page.locator('[data-test=hex-view]');
    const rows = view.locator('.row');
    expect(await rows.first().getAttribute('data-addr')).toBe('90000000');

    const longTasks = await watchLongTasks(page);
    // Down the whole range in 40 steps, as a dragged scrollbar does; the rows in the page stay few.
    const counts: number[] = [];
    for (let i = 1; i <= 40; i++) {
      await view.evaluate((el, f) => (el.scrollTop = (el.scrollHeight - el.clientHeight) * f), i / 40);
      await page.waitForTimeout(15);
      counts.push(await rows.count());
    }
    const height = await view.evaluate((el) => el.clientHeight);
    expect(Math.max(...counts), 'rows in the page').toBeLessThanOrEqual(Math.ceil(height / 18) + 17);
    expect((await longTasks())[0] ?? 0, 'longest main-thread task while scrolling (ms)').toBeLessThanOrEqual(200);

    // At the end of the scrollbar the last row is the read's last 16 bytes, and it is inside the view.
    const lastAddr = (BASE + LENGTH - 16).toString(16).toUpperCase();
    const last = view.locator(`.row[data-addr="${lastAddr}"]`);
    expect(await last.count()).toBe(1);
    const [box, row] = [await view.boundingBox(), await last.boundingBox()];
    expect(row!.y).toBeGreaterThanOrEqual(box!.y);
    expect(row!.y + row!.height).toBeLessThanOrEqual(box!.y + box!.height + 0.5);
    expect(await last.locator('.bytes').textContent()).toContain('ab ab ab');
    await screenshot(page, 'hex-view-16mib-end');
    expect(app().errors).toEqual([]);
  }, 120_000);
});
