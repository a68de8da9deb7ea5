// The engineering views in real Chromium on a simulated STM32F746: the whole window at 1920×1080,
// 1280×800 and 1024×700 in both themes (toolbar on one row at 1280 with Flash in place, no sideways
// scroll, no serious axe-core violation); read-back into the hex view shows the bytes the board holds
// (internal flash through the ROM, QSPI through the loader) and saves them; an erase asks first,
// naming what will be lost; shortcuts.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppBackend, type ServicesBackend } from '../../src-main/services/app-backend.js';
import { ARTIFACTS, ROOT, openApp, screenshot, useApp } from './harness.js';
import { SIZES, horizontalOverflow, insideViewport, seriousViolations } from './a11y.js';

const DEMO = join(ROOT, 'assets/examples/demo-f746/demo-f746.elf');
let backend: ServicesBackend | undefined;
const app = useApp(
  async () => {
    backend = await createAppBackend({ sim: 'stm32f746', simBoards: 1, simSpeed: 50, simState: mkdtempSync(join(tmpdir(), 'bb-e2e-eng-sim-')), assetsDir: join(ROOT, 'assets') });
    return openApp(backend);
  },
  async () => backend?.close(),
);

const hexBytes = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0'));

describe('engineering views', () => {
  it('fits every size and theme: one toolbar row from 1280, Flash at its end, no sideways scroll, nothing serious for axe', async () => {
    const { page } = app();
    await page.locator('[data-test=devices] li[role=option]').first().waitFor();
    await page.locator('[data-test=file-input]').setInputFiles(DEMO);
    await page.locator('[data-test=file-name]', { hasText: 'demo-f746.elf' }).waitFor();
    for (const scheme of ['light', 'dark'] as const) {
      for (const size of SIZES) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.setViewportSize(size);
        for (const tab of ['Device', 'Plan', 'Read / erase']) {
          await page.getByRole('tab', { name: tab }).click();
          await page.waitForTimeout(150);
          const name = `eng-${tab.replace(/\W+/g, '').toLowerCase()}-${size.width}x${size.height}-${scheme}`;
          await screenshot(page, name);
          expect(await horizontalOverflow(page), name).toBeLessThanOrEqual(0);
          const flash = await insideViewport(page, page.locator('[data-test=flash]'));
          expect(flash.inside, `${name} Flash button ${JSON.stringify(flash)}`).toBe(true);
          if (size.width >= 1280) {
            // One row: every toolbar control sits on the first line.
            const tops = await page.locator('[role=toolbar] > *').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
            expect(Math.max(...tops) - Math.min(...tops), name).toBeLessThan(12);
          }
          expect(await seriousViolations(page), name).toEqual([]);
        }
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1400, height: 900 });
  }, 240_000);

  it('flashes the demo, then reads internal flash and QSPI back: the hex view shows the bytes the board holds', async () => {
    const { page } = app();
    const board = backend!.conn.bus!.boards[0]!;
    await page.locator('[data-test=devices] li[role=option]').first().waitFor();
    await page.locator('[data-test=file-input]').setInputFiles(DEMO);
    await page.locator('[data-test=file-name]', { hasText: 'demo-f746.elf' }).waitFor();
    // Stay in DFU after flashing: the board is left running the loader, and the reads go through it.
    await page.getByRole('switch', { name: 'Start app' }).click();
    await page.locator('[data-test=flash]:not([disabled])').waitFor();
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-test=verdict]').waitFor({ timeout: 120_000 });
    expect(await page.locator('[data-test=verdict]').textContent()).toContain('PASS');
    expect(await page.locator('[data-test=verdict-board]').textContent()).toContain(board.serial);
    // One bar for the whole job, and a log line per phase.
    expect(await page.locator('[data-test=log]').textContent()).toMatch(/Loader "[^"]+": write QSPI Flash/);
    await screenshot(page, 'eng-flash-pass');

    // The board running the loader is known by its paired manifest, not as an unknown chip.
    await page.locator('[data-test=devices] .tag.loader').waitFor({ timeout: 30_000 });
    await page.getByRole('tab', { name: 'Device' }).click();
    // The list is read again once the flash lets go of the board: wait for that reading, not the one before.
    await page.locator('[data-test=device-title]', { hasText: /STM32F74.* · running a BootBridge loader/ }).waitFor({ timeout: 10_000 });
    await page.locator('[data-test=bootloader]', { hasText: /BootBridge loader BootBridge simulated loader .*paired/ }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'eng-device-loader');
    await page.getByRole('tab', { name: 'Plan' }).click();
    await page.locator('[data-test=stages]').waitFor();
    expect(await page.locator('[data-test=plan]').textContent()).not.toMatch(/--chip|ROM bootloader \(rom\)/);

    await page.getByRole('tab', { name: 'Read / erase' }).click();
    for (const [address, length] of [
      [0x08000000, 0x400],
      [0x90000000, 0x10000],
    ] as const) {
      await page.locator('[data-test=read-address]').fill('0x' + address.toString(16));
      await page.locator('[data-test=read-length]').fill('0x' + length.toString(16));
      await page.locator('[data-test=read]').click();
      await page.locator('[data-test=read-summary]', { hasText: `0x${address.toString(16).padStart(8, '0')}` }).waitFor({ timeout: 60_000 });
      const held = board.read(address, 16);
      const row = page.locator('[data-test=hex-view] .row').first();
      expect(await row.locator('.addr').textContent()).toBe(address.toString(16).toUpperCase().padStart(8, '0'));
      expect((await row.locator('.bytes').textContent())!.trim().split(/\s+/)).toEqual(hexBytes(held));
      // The demo wrote something there: not an erased 0xFF row.
      expect(Array.from(held).some((b) => b !== 0xff)).toBe(true);
    }
    await screenshot(page, 'eng-read-qspi');

    // The hex view scrolls to the end of a 64 KiB read; the last row is the board's last 16 bytes.
    await page.locator('[data-test=hex-view]').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.waitForTimeout(100);
    const rows = await page.locator('[data-test=hex-view] .row').allTextContents();
    expect(rows.at(-1)!.startsWith('9000FFF0')).toBe(true);

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test=save-read]').click()]);
    const file = join(ARTIFACTS, 'read-back.bin');
    await download.saveAs(file);
    expect(Buffer.compare(readFileSync(file), Buffer.from(board.read(0x90000000, 0x10000)))).toBe(0);
    expect(app().errors).toEqual([]);
  }, 240_000);

  it('an erase asks first, naming the sectors and what is lost; Keep leaves the board untouched, Erase clears them', async () => {
    const { page } = app();
    const board = backend!.conn.bus!.boards[0]!;
    // The board the previous test flashed, still running the loader.
    await page.getByRole('tab', { name: 'Read / erase' }).click();
    await page.locator('[data-test=read-address]').fill('0x08000000');
    await page.locator('[data-test=read-length]').fill('0x100');
    await page.locator('[data-test=erase]').click();
    const dialog = page.locator('[data-test=erase-dialog]');
    await dialog.waitFor();
    const text = (await dialog.textContent())!;
    expect(text).toContain('Erase 1 sector');
    expect(text).toContain(board.serial);
    expect(text).toMatch(/0x08000000 to 0x08007fff/);
    expect(text).toContain('is lost');
    await screenshot(page, 'eng-erase-confirm');
    // The safe choice has the focus; Escape keeps the data.
    await page.keyboard.press('Escape');
    expect(await dialog.count()).toBe(0);
    // The focus is back on the button that opened it.
    expect(await page.locator(':focus').getAttribute('data-test')).toBe('erase');
    expect(Array.from(board.read(0x08000000, 16)).some((b) => b !== 0xff)).toBe(true);
    await page.locator('[data-test=erase]').click();
    await page.locator('[data-test=erase-confirm]').click();
    await page.locator('[data-test=erased], [data-test=error]').first().waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-test=error]').count() ? await page.locator('[data-test=error]').textContent() : '').toBe('');
    expect(Array.from(board.read(0x08000000, 0x8000)).every((b) => b === 0xff)).toBe(true);
    // Only the ROM bootloader mass-erases: not offered while the board runs the loader.
    expect(await page.locator('[data-test=mass-erase]').isDisabled()).toBe(true);
    expect(app().errors).toEqual([]);
  }, 120_000);
});
