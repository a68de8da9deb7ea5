import { describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadRecipe, parseRecipe, recipePlanOptions, validateRecipe } from '../../src-main/production/recipe.js';
import { EXAMPLE_RECIPE, ROOT, recipeDir } from './helpers.js';

const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'schemas', 'recipe.schema.json'), 'utf8')) as Json;

type Json = { [k: string]: unknown };

/** A JSON Schema checker for the keywords the recipe schema uses (type, properties, required, additionalProperties, pattern, lengths, bounds, items, anyOf, $ref). */
function schemaErrors(schema: Json, value: unknown, path = '', root: Json = schema): string[] {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace(/^#\//, '').split('/').reduce<unknown>((o, k) => (o as Json)[k], root) as Json;
    return schemaErrors(target, value, path, root);
  }
  const errs: string[] = [];
  const at = path || '(root)';
  if (Array.isArray(schema.anyOf)) {
    if (!(schema.anyOf as Json[]).some((s) => schemaErrors(s, value, path, root).length === 0)) errs.push(`${at}: anyOf`);
    return errs;
  }
  const t = schema.type;
  const typeOk =
    t === undefined ||
    (t === 'object' && typeof value === 'object' && value !== null && !Array.isArray(value)) ||
    (t === 'array' && Array.isArray(value)) ||
    (t === 'string' && typeof value === 'string') ||
    (t === 'boolean' && typeof value === 'boolean') ||
    (t === 'integer' && Number.isInteger(value)) ||
    (t === 'number' && typeof value === 'number');
  if (!typeOk) return [`${at}: type ${String(t)}`];
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errs.push(`${at}: minLength`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) errs.push(`${at}: maxLength`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${at}: pattern`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${at}: minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errs.push(`${at}: maximum`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errs.push(`${at}: minItems`);
    if (schema.items) value.forEach((x, i) => errs.push(...schemaErrors(schema.items as Json, x, `${path ? path + '.' : ''}${i}`, root)));
  }
  if (t === 'object') {
    const obj = value as Json;
    const props = (schema.properties ?? {}) as Record<string, Json>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errs.push(`${path ? path + '.' : ''}${r}: required`);
    for (const [k, x] of Object.entries(obj)) {
      const p = `${path ? path + '.' : ''}${k}`;
      if (props[k]) errs.push(...schemaErrors(props[k], x, p, root));
      else if (schema.additionalProperties === false) errs.push(`${p}: additional property`);
    }
  }
  return errs;
}

const VALID = parseYaml(readFileSync(EXAMPLE_RECIPE, 'utf8')) as Json;
const without = (k: string) => Object.fromEntries(Object.entries(VALID).filter(([key]) => key !== k));

/** Each invalid case names the field both schemas must point at. */
const INVALID: { name: string; recipe: unknown; field: string }[] = [
  { name: 'missing name', recipe: without('name'), field: 'name' },
  { name: 'empty version', recipe: { ...VALID, version: '' }, field: 'version' },
  { name: 'version as a number', recipe: { ...VALID, version: 1.5 }, field: 'version' },
  { name: 'short firmware hash', recipe: { ...VALID, firmware: { file: 'a.elf', sha256: 'abc' } }, field: 'firmware.sha256' },
  { name: 'firmware without a file', recipe: { ...VALID, firmware: { sha256: 'a'.repeat(64) } }, field: 'firmware.file' },
  { name: 'misspelt option', recipe: { ...VALID, options: { verfy: true } }, field: 'options.verfy' },
  { name: 'unknown top-level field', recipe: { ...VALID, firmwar: {} }, field: 'firmwar' },
  { name: 'no chips', recipe: { ...VALID, chips: [] }, field: 'chips' },
  { name: 'chip ID as a word', recipe: { ...VALID, chips: ['f746'] }, field: 'chips.0' },
  { name: 'chip ID too big', recipe: { ...VALID, chips: [0x449, 0x10000] }, field: 'chips.1' },
  { name: 'leave as a word', recipe: { ...VALID, options: { leave: 'yes' } }, field: 'options.leave' },
  { name: 'verify as a string', recipe: { ...VALID, options: { verify: 'true' } }, field: 'options.verify' },
  { name: 'skipUnchanged as a word', recipe: { ...VALID, options: { skipUnchanged: 'no' } }, field: 'options.skipUnchanged' },
  { name: 'loader without a hash', recipe: { ...VALID, loader: { folder: 'x' } }, field: 'loader.sha256' },
  { name: 'not a mapping', recipe: ['name'], field: '(root)' },
];

describe('recipe', () => {
  it('the example recipe is valid for both the JSON Schema and the code, and loads with matching hashes', async () => {
    expect(schemaErrors(SCHEMA, VALID)).toEqual([]);
    const loaded = await loadRecipe(EXAMPLE_RECIPE);
    expect(loaded.recipe).toMatchObject({ name: 'demo-f746', version: '1.0.0', station: 'sim-bench', chips: [0x449] });
    expect(loaded.firmware.image.segments.length).toBeGreaterThan(0);
    expect(loaded.loader?.manifest.chips).toEqual([0x449]);
    expect(() => loaded.recheck()).not.toThrow();
    expect(recipePlanOptions(loaded.recipe)).toEqual({ verify: true, skipBlank: true, massErase: false, leave: {}, skipUnchanged: true });
  });

  for (const c of INVALID) {
    it(`JSON Schema and code agree and name the field: ${c.name}`, () => {
      const js = schemaErrors(SCHEMA, c.recipe);
      expect(js.length).toBeGreaterThan(0);
      expect(js.some((e) => e.startsWith(`${c.field}:`))).toBe(true);
      let err: unknown;
      try {
        validateRecipe(c.recipe, 'r.yaml');
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'RECIPE_INVALID', context: { field: c.field } });
      expect((err as Error).message).toContain(c.field);
    });
  }

  it('accepts hex strings and numbers for device IDs and the leave address, as both schemas do', () => {
    const r = { ...VALID, chips: ['0x449', 1043], options: { leave: '0x08004000' } };
    expect(schemaErrors(SCHEMA, r)).toEqual([]);
    expect(validateRecipe(r)).toMatchObject({ chips: [0x449, 0x413], options: { leave: 0x08004000, verify: true } });
  });

  it('refuses a chip the chip database does not know, and a serial pattern that is not a regular expression', () => {
    expect(() => validateRecipe({ ...VALID, chips: [0x123] })).toThrow(expect.objectContaining({ code: 'RECIPE_INVALID', context: expect.objectContaining({ field: 'chips.0' }) }));
    expect(() => validateRecipe({ ...VALID, serialPattern: '([' })).toThrow(expect.objectContaining({ code: 'RECIPE_INVALID', context: expect.objectContaining({ field: 'serialPattern' }) }));
  });

  it('YAML syntax errors name the line', () => {
    expect(() => parseRecipe('name: a\nversion: [1\n', 'bad.yaml')).toThrow(expect.objectContaining({ code: 'RECIPE_INVALID', context: expect.objectContaining({ file: 'bad.yaml', line: expect.any(Number) }) }));
  });

  it('refuses a tampered firmware file at load, naming the file and both hashes', async () => {
    const d = recipeDir();
    const want = (await loadRecipe(d.recipe)).recipe.firmware.sha256;
    appendFileSync(d.firmware, 'x');
    const err = await loadRecipe(d.recipe).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HASH_MISMATCH', context: { file: d.firmware, expected: want } });
    const msg = (err as Error).message;
    expect(msg).toContain(d.firmware);
    expect(msg).toContain(want);
    expect(msg).toContain((err as { context: { actual: string } }).context.actual);
  });

  it('refuses a tampered loader image at load', async () => {
    const d = recipeDir();
    appendFileSync(d.loaderImage, new Uint8Array(4));
    await expect(loadRecipe(d.recipe)).rejects.toMatchObject({ code: 'HASH_MISMATCH', context: { file: d.loaderImage } });
  });

  it('recheck catches a recipe edited after load, and stays failed', async () => {
    const d = recipeDir();
    const loaded = await loadRecipe(d.recipe);
    loaded.recheck();
    const original = readFileSync(d.recipe);
    appendFileSync(d.recipe, '\n# edited\n');
    expect(() => loaded.recheck()).toThrow(expect.objectContaining({ code: 'HASH_MISMATCH', context: expect.objectContaining({ file: d.recipe }) }));
    // Restoring the file does not make the recipe trustworthy again within this shift.
    writeFileSync(d.recipe, original);
    expect(() => loaded.recheck()).toThrow(expect.objectContaining({ code: 'HASH_MISMATCH' }));
  });
});
