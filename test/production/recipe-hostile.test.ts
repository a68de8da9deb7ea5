// Recipes and files a careless user or an attacker could hand the station: a serialPattern that would
// backtrack for hours, an edited loader.json under a pinned recipe, a loader image that is a symlink to
// a file outside the package, firmware that is a device or a FIFO. Each is refused quickly, by name.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRecipe, validateRecipe } from '../../src-main/production/recipe.js';
import { compileSerialPattern } from '../../src-main/production/serial-pattern.js';
import { readBytes } from '../../src-main/operations/files.js';
import { recipeDir } from './helpers.js';

const VALID = { name: 'x', version: '1', firmware: { file: 'a.elf', sha256: 'a'.repeat(64) }, chips: [0x449] };

describe('serialPattern cannot backtrack', () => {
  it('^(a|a)+$ against 27 characters and against 2,000 answers at once (RegExp takes seconds)', () => {
    const m = compileSerialPattern('^(a|a)+$');
    const t0 = performance.now();
    expect(m.test('a'.repeat(26) + 'b')).toBe(false);
    expect(m.test('a'.repeat(2000) + 'b')).toBe(false);
    expect(m.test('a'.repeat(2000))).toBe(true);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('keeps the meaning of the patterns recipes use', () => {
    const p = compileSerialPattern('^[0-9A-F]{12}$');
    expect(['0123456789AB', '0123456789A', '0123456789ABC', '0123456789aB'].map((s) => p.test(s))).toEqual([true, false, false, false]);
    expect(compileSerialPattern('^00000008').test('000000081')).toBe(true);
    expect(compileSerialPattern('BOARD-(\\d+|X)').test('my BOARD-X')).toBe(true);
  });

  it.each([
    ['(a)\\1', /backreferences/],
    ['(?=a)b', /lookaround/],
    ['a{1000}', /count over 64/],
    ['a^b', /anchor/],
  ])('refuses %s in a recipe, saying why', (pattern, why) => {
    expect(() => validateRecipe({ ...VALID, serialPattern: pattern })).toThrow(why);
  });
});

describe('the loader package is locked and closed', () => {
  it('an edited loader.json under the pinned recipe is HASH_MISMATCH naming loader.json', async () => {
    const d = recipeDir();
    const manifest = join(d.dir, 'loader', 'loader.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifest, JSON.stringify({ ...m, description: 'edited' }, null, 2));
    await expect(loadRecipe(d.recipe)).rejects.toMatchObject({ code: 'HASH_MISMATCH', context: { file: expect.stringMatching(/loader\.json$/) } });
  });

  it('an edit after loading fails the next unit (recheck)', async () => {
    const d = recipeDir();
    const loaded = await loadRecipe(d.recipe);
    loaded.recheck();
    appendFileSync(join(d.dir, 'loader', 'loader.json'), ' ');
    expect(() => loaded.recheck()).toThrow(expect.objectContaining({ code: 'HASH_MISMATCH' }));
  });

  it('a recipe of the old format (no manifestSha256) is refused with the line to add', async () => {
    const d = recipeDir();
    writeFileSync(d.recipe, readFileSync(d.recipe, 'utf8').replace(/\n\s+manifestSha256: .*/, ''));
    const e = (await loadRecipe(d.recipe).catch((x: unknown) => x)) as { code: string; message: string; context: { actual: string } };
    expect(e.code).toBe('RECIPE_INVALID');
    expect(e.message).toContain(`manifestSha256: ${e.context.actual}`);
  });

  it('a loader image that is a symlink out of the package is refused, never read', async () => {
    const d = recipeDir();
    const outside = join(d.dir, 'secret.bin');
    writeFileSync(outside, readFileSync(d.loaderImage)); // same bytes: only the escape can refuse it
    rmSync(d.loaderImage);
    symlinkSync(outside, d.loaderImage);
    await expect(loadRecipe(d.recipe)).rejects.toMatchObject({ code: 'LOADER_INVALID', message: expect.stringContaining('outside the loader package') });
  });
});

describe('files opened by path', () => {
  it('/dev/zero is refused at once as a device, not read until memory runs out', () => {
    const t0 = performance.now();
    expect(() => readBytes('/dev/zero')).toThrow(/character device, not a regular file/);
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it('a FIFO with no writer is refused at once (it would block a blocking open forever)', () => {
    const d = recipeDir();
    const fifo = join(d.dir, 'app.hex');
    execFileSync('mkfifo', [fifo]);
    expect(() => readBytes(fifo)).toThrow(/FIFO/);
  });

  it('a file over the limit is refused by its size before it is read', () => {
    const d = recipeDir();
    expect(() => readBytes(d.firmware, 1000)).toThrow(/more than the 1000 bytes/);
  });

  it('a recipe naming /dev/zero as firmware fails with FILE_ERROR, and quotes nothing of the file', async () => {
    const d = recipeDir();
    writeFileSync(d.recipe, readFileSync(d.recipe, 'utf8').replace('file: demo-f746.elf', 'file: /dev/zero'));
    await expect(loadRecipe(d.recipe)).rejects.toMatchObject({ code: 'FILE_ERROR' });
  });
});
