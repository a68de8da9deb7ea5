// Files in the page (web host, real Chromium): recent files persist across a reload although the web
// host never learns a path, a file over the contract's limit is refused by its size before it is read,
// and big files (64 MiB, and the contract's largest, 256 MiB) open with no main-thread task over 200 ms
// while the host keeps answering: a worker reads and sends them (src-renderer/src/lib/file-sender.worker.ts).
import { closeSync, mkdtempSync, openSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES } from '../../shared/contract.js';
import { FakeBackend } from '../app/fake-backend.js';
import { openApp, useApp } from './harness.js';
import { watchLongTasks } from './a11y.js';

const app = useApp(() => openApp(new FakeBackend()));
const dir = mkdtempSync(join(tmpdir(), 'bb-files-'));
/**
 * The size of the file that must also open quickly (under 30 s). On a 2-core machine shared with other
 * jobs a 64 MiB open takes about 13 s and a 256 MiB one about 40 s (measured), so the time bound is
 * checked at 64 MiB; the 256 MiB test below checks the page stays responsive and the host up.
 */
const BIG_BYTES = Math.min(MAX_FILE_BYTES, Number(process.env.BOOTBRIDGE_E2E_BIG_MIB ?? 64) * 1024 * 1024);

/** A file of `size` zero bytes that takes no disk space (sparse). */
function sparse(name: string, size: number): string {
  const file = join(dir, name);
  const fd = openSync(file, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
  return file;
}

describe('files in the page', () => {
  it('a file picked in the page is in Recent after a reload, and reopens from there', async () => {
    const { page, api } = app();
    const file = join(dir, 'recent-demo.bin');
    writeFileSync(file, new Uint8Array(2048).fill(0x3c));
    await page.locator('[data-test=file-input]').setInputFiles(file);
    await page.locator('[data-test=file-name]', { hasText: 'recent-demo.bin' }).waitFor();
    // The host keeps no path for bytes from the page: the list below is the page's own.
    expect(await api.dispatch('recentFiles', undefined)).toEqual({ ok: true, value: [] });
    await page.reload();
    await page.locator('[data-test=recent]').click();
    const option = page.locator('.n-base-select-option', { hasText: 'recent-demo.bin' });
    await option.waitFor();
    await option.click();
    await page.locator('[data-test=file-name]', { hasText: 'recent-demo.bin' }).waitFor();
    expect(app().errors).toEqual([]);
  }, 90_000);

  it('a file over the limit is refused by its size, naming both sizes, before it is read', async () => {
    const { page } = app();
    const file = sparse('too-big.bin', MAX_FILE_BYTES + 1);
    await page.locator('[data-test=file-input]').setInputFiles(file);
    const err = page.locator('[data-test=error]');
    await err.waitFor();
    const text = (await err.textContent()) ?? '';
    expect(text).toContain('too-big.bin is 256.0 MiB; BootBridge opens files up to 256.0 MiB. Nothing was read.');
    expect(text).not.toMatch(/--[a-z]/);
    expect(await page.locator('[data-test=file-name]', { hasText: 'too-big.bin' }).count()).toBe(0);
  }, 60_000);

  it(`a ${BIG_BYTES / 1024 / 1024} MiB file opens within 30 s, and the host answers after it`, async () => {
    const { page } = app();
    const file = sparse('max.bin', BIG_BYTES);
    const longTasks = await watchLongTasks(page);
    const t0 = Date.now();
    await page.locator('[data-test=file-input]').setInputFiles(file);
    await page.locator('[data-test=file-name]', { hasText: 'max.bin' }).waitFor({ timeout: 120_000 });
    const seconds = (Date.now() - t0) / 1000;
    expect(seconds, 'open time (s)').toBeLessThan(30);
    expect((await longTasks())[0] ?? 0, 'longest main-thread task (ms)').toBeLessThanOrEqual(200);
    // The host is still up: a second call answers.
    const small = join(dir, 'after.bin');
    writeFileSync(small, new Uint8Array(64));
    await page.locator('[data-test=file-input]').setInputFiles(small);
    await page.locator('[data-test=file-name]', { hasText: 'after.bin' }).waitFor();
    expect(app().errors).toEqual([]);
  }, 180_000);

  it('a 256 MiB file (the largest the contract allows) opens with no main-thread task over 200 ms, showing how far it is, and the host stays up', async () => {
    const { page, web } = app();
    const file = sparse('largest.bin', MAX_FILE_BYTES);
    const longTasks = await watchLongTasks(page);
    await page.locator('[data-test=file-input]').setInputFiles(file);
    // While it is sent the toolbar says so, with how far it is.
    await page.locator('[data-test=opening]', { hasText: /Opening largest\.bin… \d+ %/ }).waitFor();
    await page.locator('[data-test=file-name]', { hasText: 'largest.bin' }).waitFor({ timeout: 240_000 });
    expect(await page.locator('[data-test=file-name]').textContent()).toContain('256 MiB');
    const tasks = await longTasks();
    expect(tasks[0] ?? 0, `longest main-thread task (ms) of ${tasks.length} over 50 ms`).toBeLessThanOrEqual(200);
    // The host is up and this page still talks to it: a small file opens after it.
    const small = join(dir, 'after-largest.bin');
    writeFileSync(small, new Uint8Array(64));
    await page.locator('[data-test=file-input]').setInputFiles(small);
    await page.locator('[data-test=file-name]', { hasText: 'after-largest.bin' }).waitFor();
    expect(web.clients()).toBeGreaterThanOrEqual(1);
    expect(app().errors).toEqual([]);
  }, 300_000);
});
