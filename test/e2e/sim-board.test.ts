// End to end in real Chromium: the web host with the real services on a simulated STM32F746 board.
// Pick the board, read its descriptors, open the demo ELF (internal flash + QSPI), see the memory
// map and the plan with the staged loader, flash it, see PASS; then a file that does not fit.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppBackend, type ServicesBackend } from '../../src-main/services/app-backend.js';
import { ARTIFACTS, ROOT, openApp, screenshot, useApp } from './harness.js';

const DEMO = join(ROOT, 'assets/examples/demo-f746/demo-f746.elf');
let backend: ServicesBackend | undefined;
const app = useApp(
  async () => {
    // Simulated time runs 50× faster than real time so the QSPI erase does not take a minute.
    backend = await createAppBackend({ sim: 'stm32f746', simBoards: 2, simSpeed: 50, simState: mkdtempSync(join(tmpdir(), 'bb-e2e-sim-')), assetsDir: join(ROOT, 'assets') });
    return openApp(backend, { recent: [{ name: 'Example: demo-f746.elf', path: DEMO, openedAt: 0 }] });
  },
  async () => backend?.close(),
);

describe('web app on a simulated STM32F746', () => {
  it('lists both boards, and shows the chosen one’s identity and descriptor tree with raw bytes', async () => {
    const { page } = app();
    const boards = page.locator('[data-test=devices] li[role=option]');
    await boards.nth(1).waitFor();
    expect(await boards.count()).toBe(2);
    await boards.nth(1).click();
    const serial = (await boards.nth(1).locator('.mono').textContent())!.split('·')[1]!.trim();
    await page.locator('[data-test=serial]', { hasText: serial }).waitFor();
    await page.locator('[data-test=descriptors]').waitFor();
    const tree = await page.locator('[data-test=descriptors]').textContent();
    expect(tree).toContain('Interface 0 alt 0');
    expect(tree).toContain('@Internal Flash');
    expect(tree).toContain('DFU functional');
    expect(await page.locator('[data-test=identity]').textContent()).toContain('STM32F74');
    // Raw bytes of the device descriptor: bLength 18, bDescriptorType 1.
    await page.locator('[data-test=descriptors] details.raw summary').first().click();
    expect(await page.locator('[data-test=descriptors] details.raw pre').first().textContent()).toMatch(/^0000 {2}12 01 /);
    await page.getByRole('button', { name: 'Show text' }).click();
    expect(await page.locator('[data-test=dump]').textContent()).toContain('0483');
    await screenshot(page, 'sim-device');
  }, 90_000);

  it('opens the demo ELF and maps internal flash and QSPI, the QSPI via the staged loader', async () => {
    const { page } = app();
    await page.locator('[data-test=file-input]').setInputFiles(DEMO);
    await page.locator('[data-test=file-name]', { hasText: 'demo-f746.elf' }).waitFor();
    await page.locator('[data-test="region-QSPI Flash"]').waitFor();
    const segs = await page.locator('[data-test=segments]').textContent();
    expect(segs).toContain('0x90000000');
    expect(segs).toContain('QSPI Flash (via loader)');
    expect(await page.locator('[data-test=outside]').count()).toBe(0);
    await page.locator('[data-test="region-QSPI Flash"] .bar').hover({ position: { x: 3, y: 10 } });
    expect(await page.locator('[data-test=hover]').textContent()).toMatch(/QSPI Flash {2}0x900[0-9a-f]{5} {2}· {2}sector 0: 0x90000000 64 KiB \(compared first: skipped if unchanged\)/);
    await screenshot(page, 'sim-map');

    await page.getByRole('tab', { name: 'Plan' }).click();
    await page.locator('[data-test=plan-loader]').waitFor();
    expect(await page.locator('[data-test=plan-errors]').count()).toBe(0);
    for (const st of ['staging', 'loader', 'leave']) await page.locator(`[data-test=stage-${st}]`).waitFor();
    expect(await page.locator('[data-test=stage-staging]').textContent()).toMatch(/write\s*RAM\s*0x20010000[\s\S]*verify[\s\S]*jump/);
    await screenshot(page, 'sim-plan');
  }, 90_000);

  it('flashes to PASS and says what was verified', async () => {
    const { page } = app();
    await page.locator('[data-test=plan-flash]').click();
    await page.locator('[data-test=verdict]').waitFor({ timeout: 120_000 });
    const verdict = await page.locator('[data-test=verdict]').textContent();
    await screenshot(page, 'sim-pass');
    expect(verdict).toContain('PASS');
    expect(await page.locator('[data-test=verified]').textContent()).toContain('QSPI Flash');
    expect(app().errors).toEqual([]);
  }, 150_000);

  it('refuses a file that does not fit, in red, before touching the board', async () => {
    const { page } = app();
    // 2 MiB raw binary at the flash base: the F746 has 1 MiB of internal flash.
    const big = join(ARTIFACTS, 'too-big-2MiB.bin');
    writeFileSync(big, new Uint8Array(2 * 1024 * 1024).fill(0x11));
    await page.locator('[data-test=devices] li[role=option]').first().click();
    await page.getByLabel('Load address for raw BIN files').fill('0x08000000');
    await page.locator('[data-test=file-input]').setInputFiles(big);
    await page.locator('[data-test=file-name]', { hasText: 'too-big-2MiB.bin' }).waitFor();
    await page.locator('[data-test=outside]').waitFor();
    expect(await page.locator('[data-test=outside]').textContent()).toContain('0x08000000');
    await screenshot(page, 'sim-too-big-map');
    await page.getByRole('tab', { name: 'Plan' }).click();
    await page.locator('[data-test=plan-errors]').waitFor();
    expect(await page.locator('[data-test=plan-flash]').isDisabled()).toBe(true);
    expect(await page.locator('[data-test=flash]').isDisabled()).toBe(true);
    await screenshot(page, 'sim-too-big-plan');
  }, 90_000);

  it('renders in the dark theme and opens the example from the recent files', async () => {
    const page = await app().browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
    try {
      await page.goto(app().web.url);
      await page.locator('[data-test=devices] li[role=option]').first().waitFor();
      expect(await page.locator('.bb').getAttribute('class')).toContain('dark');
      await page.locator('.recent').click();
      await page.getByText('Example: demo-f746.elf').click();
      await page.locator('[data-test=file-name]', { hasText: 'demo-f746.elf' }).waitFor();
      await page.locator('[data-test="region-QSPI Flash"]').waitFor();
      await screenshot(page, 'sim-map-dark');
      // Keyboard only: from the focused tab, → moves to the next view.
      await page.getByRole('tab', { name: 'Memory map' }).focus();
      await page.keyboard.press('ArrowRight');
      expect(await page.getByRole('tab', { name: 'Plan' }).getAttribute('aria-selected')).toBe('true');
      await page.locator('[data-test=stages]').waitFor();
      await screenshot(page, 'sim-plan-dark');
    } finally {
      await page.close();
    }
  }, 90_000);
});
