// The renderer in real Chromium against the web host over the in-memory fake services: the doors and
// the views work end to end even before any board or simulator is involved.
import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FakeBackend } from '../app/fake-backend.js';
import { ARTIFACTS, openApp, screenshot, useApp } from './harness.js';

const app = useApp(() => openApp(new FakeBackend()));

describe('renderer over the fake services', () => {
  it('lists the board and shows its identity and descriptors', async () => {
    const { page } = app();
    await page.getByText('STM32F74xxx/75xxx').first().waitFor();
    await page.locator('[data-test=descriptors]').waitFor();
    expect(await page.locator('[data-test=serial]').textContent()).toBe('3157378A3131');
    await screenshot(page, 'fake-device');
  }, 60_000);

  it('opens a file from the file input and shows the map and a plan that flashes to PASS', async () => {
    const { page } = app();
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'small.bin');
    writeFileSync(file, new Uint8Array(4096).fill(0x5a));
    await page.locator('[data-test=file-input]').setInputFiles(file);
    await page.locator('[data-test=memory-map]').waitFor();
    await page.locator('[data-test="region-Internal Flash"]').waitFor();
    await screenshot(page, 'fake-map');
    await page.getByRole('tab', { name: 'Plan' }).click();
    await page.locator('[data-test=stages]').waitFor();
    await page.locator('[data-test=plan-flash]').click();
    await page.locator('[data-test=verdict]').waitFor();
    expect(await page.locator('[data-test=verdict]').textContent()).toContain('PASS');
    await screenshot(page, 'fake-pass');
    expect(app().errors).toEqual([]);
  }, 60_000);

  it('lists a file that does not fit in red and keeps Flash disabled', async () => {
    const { page } = app();
    const file = join(ARTIFACTS, 'toobig.bin');
    writeFileSync(file, new Uint8Array(64));
    await page.locator('[data-test=file-input]').setInputFiles(file);
    await page.locator('[data-test=file-name]', { hasText: 'toobig.bin' }).waitFor();
    await page.getByRole('tab', { name: 'Plan' }).click();
    await page.locator('[data-test=plan-errors]').waitFor();
    expect(await page.locator('[data-test=plan-errors]').textContent()).toContain('outside every region');
    expect(await page.locator('[data-test=plan-flash]').isDisabled()).toBe(true);
    await page.getByRole('tab', { name: 'Memory map' }).click();
    expect(await page.locator('[data-test=outside]').textContent()).toContain('0x30000000');
    await screenshot(page, 'fake-outside');
  }, 60_000);
});
