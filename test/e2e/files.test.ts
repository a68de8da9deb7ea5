// Files in the page (web host, real Chromium): recent files persist across a reload although the web
// host never learns a path, a file over the contract's limit is refused by its size before it is read,
// and a big file opens within a bound while the host keeps answering. (Issue: the page still runs
// main-thread tasks of 0.4–1.4 s while sending a 64 MiB file; the 200 ms goal is not met yet.)
import { closeSync, mkdtempSync, openSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES } from '../../shared/contract.js';
import { FakeBackend } from '../app/fake-backend.js';
import { openApp, useApp } from './harness.js';

const app = useApp(() => openApp(new FakeBackend()));
const dir = mkdtempSync(join(tmpdir(), 'bb-files-'));
/**
 * The big file's size. The contract allows 256 MiB, but on a 2-core CI machine a 256 MiB open through
 * the page takes about 60 s (measured: 58 s, and its longest task 900 ms with other jobs running), so
 * CI runs the largest size that opens in well under 30 s; BOOTBRIDGE_E2E_BIG_MIB=256 runs the full size.
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
    const t0 = Date.now();
    await page.locator('[data-test=file-input]').setInputFiles(file);
    await page.locator('[data-test=file-name]', { hasText: 'max.bin' }).waitFor({ timeout: 120_000 });
    const seconds = (Date.now() - t0) / 1000;
    expect(seconds, 'open time (s)').toBeLessThan(30);
    // The host is still up: a second call answers.
    const small = join(dir, 'after.bin');
    writeFileSync(small, new Uint8Array(64));
    await page.locator('[data-test=file-input]').setInputFiles(small);
    await page.locator('[data-test=file-name]', { hasText: 'after.bin' }).waitFor();
    expect(app().errors).toEqual([]);
  }, 180_000);
});
