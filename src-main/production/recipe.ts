// A production recipe: one YAML file that locks what a station programs — the firmware (and loader)
// by SHA-256, the chips it is for, the flash options — so an operator cannot flash the wrong thing.
// `loadRecipe(path)` validates it (errors name the field), checks every hash, and returns the opened
// files plus `recheck()`, which the station calls before every unit. Mirrors schemas/recipe.schema.json.

import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import * as v from 'valibot';
import { YAMLError, parseDocument } from 'yaml';
import { BootBridgeError } from '../../shared/errors.js';
import { chipById, type ChipInfo } from '../devices/chips.js';
import { readLoaderPackage, type LoaderPackage } from '../loader/index.js';
import type { PlanOptions } from '../plan/index.js';
import { openFirmwareBytes, readBytes, sha256File, type LoadedFirmware } from '../operations/index.js';
import { SerialPatternError, compileSerialPattern } from './serial-pattern.js';

/** A number written as a YAML/JSON number or as a "0x…" / decimal string (device IDs and addresses read better in hex). */
const Int = v.pipe(
  v.union([v.number(), v.pipe(v.string(), v.regex(/^(0[xX][0-9a-fA-F]+|\d+)$/, 'must be a number or a "0x…" hexadecimal string'))], 'must be a number or a "0x…" hexadecimal string'),
  v.transform((x) => (typeof x === 'number' ? x : Number(x))),
  v.integer('must be an integer'),
  v.minValue(0, 'must not be negative'),
);
const U32 = v.pipe(Int, v.maxValue(0xffffffff, 'must fit in 32 bits'));
const DeviceId = v.pipe(Int, v.maxValue(0xfff, 'must be a 12-bit device ID (DBGMCU_IDCODE DEV_ID), e.g. 0x449'));
const Sha256 = v.pipe(v.string('must be a string'), v.regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal digits (SHA-256)'));
const Text = (max: number) => v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty'), v.maxLength(max, `is too long (${max} characters at most)`));

export const RecipeSchema = v.strictObject(
  {
    $schema: v.optional(v.string()),
    name: Text(120),
    version: Text(40),
    station: v.optional(Text(80)),
    firmware: v.strictObject(
      {
        /** Path relative to the recipe file. */
        file: Text(1024),
        sha256: Sha256,
        /** Load address of a raw .bin file. */
        baseAddress: v.optional(U32),
      },
      'must be an object with file and sha256',
    ),
    loader: v.optional(
      v.strictObject(
        {
          /** Loader package folder, relative to the recipe file. */
          folder: Text(1024),
          /** SHA-256 of the loader image file the package's loader.json names. */
          sha256: Sha256,
          /** SHA-256 of the package's loader.json: its timeouts, memories and chips are locked too. */
          manifestSha256: v.optional(Sha256),
        },
        'must be an object with folder, sha256 and manifestSha256',
      ),
    ),
    chips: v.pipe(v.array(DeviceId, 'must be a list of device IDs'), v.minLength(1, 'must list at least one device ID')),
    options: v.optional(
      v.strictObject(
        {
          verify: v.optional(v.boolean('must be true or false')),
          skipBlank: v.optional(v.boolean('must be true or false')),
          massErase: v.optional(v.boolean('must be true or false')),
          /**
           * Compare each flash sector with the image first: skip the sectors that already hold it and the
           * erase of blank ones (false: erase and write every sector touched, as the CLI's --no-skip / --full).
           */
          skipUnchanged: v.optional(v.boolean('must be true or false')),
          /** true: start the application at the flash base; false: stay in DFU; an address: start there. */
          leave: v.optional(v.union([v.boolean(), U32], 'must be true, false or an address')),
        },
        'must be an object',
      ),
    ),
    /** Only boards whose USB serial matches this pattern are programmed (serial-pattern.ts: regex syntax, linear-time matching). */
    serialPattern: v.optional(Text(200)),
  },
  'must be a mapping of recipe fields',
);

export interface Recipe {
  name: string;
  version: string;
  station?: string;
  firmware: { file: string; sha256: string; baseAddress?: number };
  loader?: { folder: string; sha256: string; manifestSha256?: string };
  chips: number[];
  options: { verify: boolean; skipBlank: boolean; massErase: boolean; skipUnchanged: boolean; leave: boolean | number };
  serialPattern?: string;
}

function issuesToError(issues: readonly v.BaseIssue<unknown>[], file: string): BootBridgeError {
  const problems = issues.map((i) => {
    const path = v.getDotPath(i);
    // Unknown keys of a strict object: name the key itself, that is what was misspelt.
    const key = i.kind === 'schema' && i.expected === 'never' && i.path ? String(i.path[i.path.length - 1]?.key ?? '') : '';
    // The key is quoted from the file: bounded, so a file that is no recipe is not echoed.
    return { field: path ?? '(root)', message: key ? `unknown field "${key.length > 40 ? `${key.slice(0, 40)}…` : key}"` : i.message };
  });
  const first = problems[0]!;
  return new BootBridgeError('RECIPE_INVALID', `${file}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, { field: first.field, file, problems });
}

/** Validates a recipe object (parsed YAML). Every error names its field (RECIPE_INVALID, context.field). */
export function validateRecipe(data: unknown, file = 'recipe'): Recipe {
  // valibot takes an array for an object; a recipe is a mapping.
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new BootBridgeError('RECIPE_INVALID', `${file}: (root): must be a mapping of recipe fields (name, version, firmware, chips, …)`, { field: '(root)', file });
  }
  const r = v.safeParse(RecipeSchema, data);
  if (!r.success) throw issuesToError(r.issues, file);
  const o = r.output;
  o.chips.forEach((id, i) => {
    if (!chipById(id)) throw new BootBridgeError('RECIPE_INVALID', `${file}: chips.${i}: 0x${id.toString(16)} is not a chip BootBridge knows`, { field: `chips.${i}`, file });
  });
  if (o.serialPattern !== undefined) {
    try {
      compileSerialPattern(o.serialPattern);
    } catch (e) {
      if (!(e instanceof SerialPatternError)) throw e;
      throw new BootBridgeError('RECIPE_INVALID', `${file}: serialPattern: ${e.message} (a regular expression without backreferences or lookaround; see docs/production.md)`, { field: 'serialPattern', file });
    }
  }
  return {
    name: o.name,
    version: o.version,
    ...(o.station !== undefined ? { station: o.station } : {}),
    firmware: { file: o.firmware.file, sha256: o.firmware.sha256.toLowerCase(), ...(o.firmware.baseAddress !== undefined ? { baseAddress: o.firmware.baseAddress } : {}) },
    ...(o.loader
      ? { loader: { folder: o.loader.folder, sha256: o.loader.sha256.toLowerCase(), ...(o.loader.manifestSha256 ? { manifestSha256: o.loader.manifestSha256.toLowerCase() } : {}) } }
      : {}),
    chips: o.chips,
    options: {
      verify: o.options?.verify ?? true,
      skipBlank: o.options?.skipBlank ?? true,
      massErase: o.options?.massErase ?? false,
      skipUnchanged: o.options?.skipUnchanged ?? true,
      leave: o.options?.leave ?? true,
    },
    ...(o.serialPattern !== undefined ? { serialPattern: o.serialPattern } : {}),
  };
}

/** Parses recipe YAML text; syntax errors name the line. */
export function parseRecipe(text: string, file = 'recipe'): Recipe {
  let data: unknown;
  try {
    // A locked recipe is read strictly: what the YAML library would only warn about (an unknown tag,
    // an ambiguous alias) is refused, and nothing is printed behind the caller's back.
    const doc = parseDocument(text, { logLevel: 'silent' });
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) throw problem;
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const line = e instanceof YAMLError ? e.linePos?.[0]?.line : undefined;
    throw new BootBridgeError('RECIPE_INVALID', `${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, { file, field: '(file)', ...(line !== undefined ? { line } : {}) }, { cause: e });
  }
  return validateRecipe(data, file);
}

/** The planner's options for this recipe (nothing else can change them). */
export function recipePlanOptions(r: Recipe): PlanOptions {
  const leave = r.options.leave === false ? false : r.options.leave === true ? {} : { address: r.options.leave };
  // With skipUnchanged the engine compares before it erases and writes; verification still covers
  // every byte of the image, so a unit's PASS never rests on what the board held before.
  return { verify: r.options.verify, skipBlank: r.options.skipBlank, massErase: r.options.massErase, leave, skipUnchanged: r.options.skipUnchanged };
}

/** The chips a recipe is for, as the chip database knows them. */
export function recipeChips(r: Recipe): ChipInfo[] {
  return r.chips.map((id) => chipById(id)!);
}

function hashMismatch(what: string, file: string, expected: string, actual: string): BootBridgeError {
  return new BootBridgeError(
    'HASH_MISMATCH',
    `${what} ${file} has SHA-256 ${actual}, but the recipe says ${expected}: the file was changed since the recipe was made, so it is refused`,
    { file, expected, actual },
  );
}

export interface LoadedRecipe {
  /** Absolute path of the recipe file. */
  path: string;
  /** SHA-256 of the recipe file as loaded. */
  sha256: string;
  recipe: Recipe;
  firmware: LoadedFirmware;
  loader?: LoaderPackage;
  /** Absolute path of the loader image file whose hash the recipe holds. */
  loaderImagePath?: string;
  /**
   * Reads the recipe, firmware and loader image again and compares their hashes with those loaded.
   * Throws HASH_MISMATCH naming the file; once a file was found changed, every later call throws the
   * same error even if the file is put back (the shift must be restarted with a checked recipe).
   */
  recheck(): void;
}

const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Paths inside a loader package, symlinks resolved: a file whose real path leaves the package's real
 * folder (a loader.bin linking to /etc/shadow) is refused, never read.
 */
function packageGuard(folder: string): (name: string) => string {
  let root: string;
  try {
    root = realpathSync(folder);
  } catch (e) {
    throw new BootBridgeError('FILE_ERROR', `Cannot read the loader package ${folder}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`, { file: folder, field: 'loader.folder' }, { cause: e });
  }
  return (name) => {
    const p = join(folder, name);
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      return p; // missing: readBytes says so, naming the path
    }
    if (real !== root && !real.startsWith(root + sep)) {
      throw new BootBridgeError('LOADER_INVALID', `${p} leads outside the loader package (to ${real}); a package's files must be inside its folder`, { file: p, field: 'loader.folder' });
    }
    return real;
  };
}

/** Reads a recipe and everything it names; refuses any file whose hash does not match (HASH_MISMATCH). */
export async function loadRecipe(path: string): Promise<LoadedRecipe> {
  const abs = resolve(path);
  const recipeBytes = readBytes(abs);
  const recipeSha = sha256File(recipeBytes);
  const recipe = parseRecipe(new TextDecoder().decode(recipeBytes), path);
  const dir = dirname(abs);
  const at = (p: string) => (isAbsolute(p) ? p : join(dir, p));

  const fwPath = at(recipe.firmware.file);
  const fwBytes = readBytes(fwPath);
  const fwSha = sha256File(fwBytes);
  if (fwSha !== recipe.firmware.sha256) throw hashMismatch('Firmware', fwPath, recipe.firmware.sha256, fwSha);
  const firmware = await openFirmwareBytes(fwPath, fwBytes, { sha256: fwSha, ...(recipe.firmware.baseAddress !== undefined ? { baseAddress: recipe.firmware.baseAddress } : {}) });

  let loader: LoaderPackage | undefined;
  let loaderImagePath: string | undefined;
  let manifestPath: string | undefined;
  if (recipe.loader) {
    const folder = at(recipe.loader.folder);
    const inPackage = packageGuard(folder);
    manifestPath = inPackage('loader.json');
    const manifestBytes = readBytes(manifestPath, MAX_MANIFEST_BYTES);
    const manifestSha = sha256File(manifestBytes);
    if (recipe.loader.manifestSha256 === undefined) {
      throw new BootBridgeError(
        'RECIPE_INVALID',
        `${path}: loader.manifestSha256 is missing. Since recipe format 2 the loader's loader.json is locked by its own hash (its timeouts, memories and chips decide what is programmed). Check the package, then add under loader:  manifestSha256: ${manifestSha}`,
        { field: 'loader.manifestSha256', file: path, actual: manifestSha },
      );
    }
    if (manifestSha !== recipe.loader.manifestSha256) throw hashMismatch('Loader manifest', manifestPath, recipe.loader.manifestSha256, manifestSha);
    const manifestText = new TextDecoder().decode(manifestBytes);
    // The image is hashed and then parsed from the same bytes, so what is checked is what is staged.
    let imageBytes: Uint8Array | undefined;
    loader = await readLoaderPackage(folder, manifestText, (name) => {
      loaderImagePath = inPackage(name);
      imageBytes = readBytes(loaderImagePath);
      const sha = sha256File(imageBytes);
      if (sha !== recipe.loader!.sha256) throw hashMismatch('Loader image', loaderImagePath, recipe.loader!.sha256, sha);
      return imageBytes;
    }).catch((e: unknown) => {
      // readLoaderPackage wraps read failures as LOADER_INVALID; a hash mismatch or an escape must stay one.
      const cause = e instanceof BootBridgeError ? (e.cause as unknown) : undefined;
      throw cause instanceof BootBridgeError && (cause.code === 'HASH_MISMATCH' || cause.context.field === 'loader.folder') ? cause : e;
    });
  }

  let tampered: BootBridgeError | undefined;
  const checks: { what: string; file: string; expected: string }[] = [
    { what: 'Recipe', file: abs, expected: recipeSha },
    { what: 'Firmware', file: fwPath, expected: fwSha },
    ...(loaderImagePath && recipe.loader ? [{ what: 'Loader image', file: loaderImagePath, expected: recipe.loader.sha256 }] : []),
    ...(manifestPath && recipe.loader?.manifestSha256 ? [{ what: 'Loader manifest', file: manifestPath, expected: recipe.loader.manifestSha256 }] : []),
  ];
  const recheck = () => {
    if (tampered) throw tampered;
    for (const c of checks) {
      let actual: string;
      try {
        actual = sha256File(readBytes(c.file));
      } catch (e) {
        tampered = new BootBridgeError('HASH_MISMATCH', `${c.what} ${c.file} can no longer be read (${(e as Error).message}): the recipe's files changed, so it is refused`, { file: c.file, expected: c.expected });
        throw tampered;
      }
      if (actual !== c.expected) throw (tampered = hashMismatch(c.what, c.file, c.expected, actual));
    }
  };

  return { path: abs, sha256: recipeSha, recipe, firmware, ...(loader ? { loader } : {}), ...(loaderImagePath ? { loaderImagePath } : {}), recheck };
}
