// The loader packages installed with BootBridge (assets/loaders beside the program), named when a plan
// needs a loader and none was given: the CLI stages only the package given with --loader, but a person
// should not have to search for which one serves the memory.

import { readdirSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { autoLoaderCandidates, type LoaderPackage } from '../loader/index.js';
import type { FlashPlan } from '../plan/index.js';
import { openLoaderFolder, type DeviceDetails } from '../operations/index.js';
import { folderBeside } from '../util/beside.js';
import { BootBridgeError } from '../../shared/errors.js';
import { reportError } from './run.js';

/** The folder, as a person types it: relative to the working directory when it is below it. */
function typed(folder: string): string {
  const rel = relative(process.cwd(), folder);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : folder;
}

/**
 * The installed packages that serve every one of `addresses` the ROM cannot reach on this chip, one line
 * each under a heading ("  --loader assets/loaders/x   its name (experimental)"); none when no
 * installed package does. The simulator's packages are named only on simulated boards.
 */
export async function installedLoaderLines(addresses: readonly number[], details: DeviceDetails, simulated: boolean, dir = folderBeside(join('assets', 'loaders'))): Promise<string[]> {
  if (!dir) return [];
  const all: { folder: string; pkg: LoaderPackage }[] = [];
  for (const name of readdirSync(dir).sort()) {
    const pkg = await openLoaderFolder(join(dir, name)).catch(() => undefined);
    if (pkg && (!pkg.manifest.simulated || simulated)) all.push({ folder: join(dir, name), pkg });
  }
  const fits = autoLoaderCandidates(all, details.chip?.deviceId, details.memories.map((m) => m.layout), addresses);
  if (fits.length === 0) return [];
  return [
    `Installed loader package${fits.length > 1 ? 's' : ''} that serve${fits.length > 1 ? '' : 's'} it:`,
    ...fits.map((f) => `  --loader ${typed(f.folder)}   ${f.pkg.manifest.name}${f.pkg.manifest.experimental ? ' (experimental)' : ''}`),
  ];
}

/** For a plan that failed because a segment needs a loader and none was given: installedLoaderLines for its segments. */
export async function planLoaderLines(plan: FlashPlan, details: DeviceDetails, simulated: boolean): Promise<string[]> {
  if (plan.ok || !plan.errors.some((e) => e.remedy === 'choose-loader')) return [];
  return installedLoaderLines(plan.segments.map((s) => s.address), details, simulated).catch(() => []);
}

/**
 * A read or erase that failed because its range needs a loader and none was given: the error as run()
 * prints it, then the installed packages that serve the range; its exit code. Any other error is thrown on.
 */
export async function reportWithLoaderLines(e: unknown, addresses: readonly number[], details: DeviceDetails, simulated: boolean, json: boolean | undefined): Promise<number> {
  if (json || !(e instanceof BootBridgeError) || e.remedy !== 'choose-loader') throw e;
  const code = reportError(e, false);
  const lines = await installedLoaderLines(addresses, details, simulated).catch(() => []);
  for (const line of lines) process.stderr.write(`${line}\n`);
  return code;
}
