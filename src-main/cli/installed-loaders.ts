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
import { exitCodeFor, printJson, reportError } from './run.js';

/** The folder, as a person types it: relative to the working directory when it is below it. */
function typed(folder: string): string {
  const rel = relative(process.cwd(), folder);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : folder;
}

/** An installed package that serves the memory, as --loader takes it (--json: `installedLoaders`). */
export interface InstalledLoader {
  folder: string;
  name: string;
  experimental: boolean;
}

/**
 * The installed packages that serve every one of `addresses` the ROM cannot reach on this chip; none
 * when no installed package does. The simulator's packages are named only on simulated boards.
 */
export async function installedLoaders(addresses: readonly number[], details: DeviceDetails, simulated: boolean, dir = folderBeside(join('assets', 'loaders'))): Promise<InstalledLoader[]> {
  if (!dir) return [];
  const all: { folder: string; pkg: LoaderPackage }[] = [];
  for (const name of readdirSync(dir).sort()) {
    const pkg = await openLoaderFolder(join(dir, name)).catch(() => undefined);
    if (pkg && (!pkg.manifest.simulated || simulated)) all.push({ folder: join(dir, name), pkg });
  }
  return autoLoaderCandidates(all, details.chip?.deviceId, details.memories.map((m) => m.layout), addresses).map((f) => ({
    folder: typed(f.folder),
    name: f.pkg.manifest.name,
    experimental: f.pkg.manifest.experimental,
  }));
}

/** The packages under a heading, one line each: "  --loader assets/loaders/x   its name (experimental)". */
export function installedLoaderLines(list: readonly InstalledLoader[]): string[] {
  if (list.length === 0) return [];
  return [
    `Installed loader package${list.length > 1 ? 's' : ''} that serve${list.length > 1 ? '' : 's'} it:`,
    ...list.map((l) => `  --loader ${l.folder}   ${l.name}${l.experimental ? ' (experimental)' : ''}`),
  ];
}

/** For a plan that failed because a segment needs a loader (and none was given): the packages that serve its segments. */
export async function planInstalledLoaders(plan: FlashPlan, details: DeviceDetails, simulated: boolean): Promise<InstalledLoader[]> {
  if (plan.ok || !plan.errors.some((e) => e.remedy === 'choose-loader')) return [];
  return installedLoaders(plan.segments.map((s) => s.address), details, simulated).catch(() => []);
}

/**
 * A read or erase that failed because its range needs a loader and none was given: the error as run()
 * reports it (with `installedLoaders` in --json), then the installed packages that serve the range;
 * its exit code. Any other error is thrown on.
 */
export async function reportWithInstalledLoaders(e: unknown, addresses: readonly number[], details: DeviceDetails, simulated: boolean, json: boolean | undefined): Promise<number> {
  if (!(e instanceof BootBridgeError) || e.remedy !== 'choose-loader') throw e;
  const list = await installedLoaders(addresses, details, simulated).catch(() => []);
  if (json) {
    printJson({ ok: false, error: e.toJSON(), installedLoaders: list });
    return exitCodeFor(e.toJSON());
  }
  const code = reportError(e, false);
  for (const line of installedLoaderLines(list)) process.stderr.write(`${line}\n`);
  return code;
}
