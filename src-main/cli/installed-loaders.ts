// The loader packages installed with BootBridge (assets/loaders beside the program), named when an
// operation needs a loader and none was given: the CLI stages only the package given with --loader,
// but a person should not have to search for the one that serves the memory.

import { isAbsolute, join, relative } from 'node:path';
import { BootBridgeError } from '../../shared/errors.js';
import type { LoaderPackage } from '../loader/index.js';
import type { FlashPlan } from '../plan/index.js';
import type { DeviceDetails } from '../operations/index.js';
import { LoaderShelf } from '../services/loader-shelf.js';
import { folderBeside } from '../util/beside.js';
import { reportError } from './run.js';

/** An installed package that serves the memory (--json: `installedLoaders`; `folder` is absolute). */
export interface InstalledLoader {
  folder: string;
  name: string;
  experimental: boolean;
}

/**
 * The installed packages for this chip that serve every one of `addresses` the ROM cannot reach (and
 * pass `usable`, e.g. make the plan valid); none when no installed package does. The simulator's
 * packages are named only on simulated boards (LoaderShelf).
 */
export async function installedLoaders(
  addresses: readonly number[],
  details: DeviceDetails,
  simulated: boolean,
  usable: (pkg: LoaderPackage) => boolean = () => true,
  assets = folderBeside('assets', 'loaders'),
): Promise<InstalledLoader[]> {
  if (!assets) return [];
  return (await new LoaderShelf(assets, simulated).serving(details, addresses))
    .filter((c) => usable(c.pkg))
    .map((c) => ({ folder: join(assets, 'loaders', c.id), name: c.pkg.manifest.name, experimental: c.pkg.manifest.experimental }));
}

/** A folder as a person types it: relative to the working directory when below it, quoted when it has spaces. */
function typed(folder: string): string {
  const rel = relative(process.cwd(), folder);
  const path = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : folder;
  return /\s/.test(path) ? `"${path}"` : path;
}

/**
 * The packages under a heading, one line each, names in one column: "  --loader assets/loaders/x   its
 * name (experimental)"; that none serves it when the list is empty; nothing when no loader was needed.
 */
export function installedLoaderLines(list: readonly InstalledLoader[] | undefined): string[] {
  if (!list) return [];
  if (list.length === 0) return ['No installed loader package serves that memory: check the address (docs/loader-protocol.md says how to make a loader for a board\'s memory).'];
  const args = list.map((l) => `--loader ${typed(l.folder)}`);
  const width = Math.max(...args.map((a) => a.length));
  return [
    `Installed loader package${list.length > 1 ? 's' : ''} that serve${list.length > 1 ? '' : 's'} that memory:`,
    ...list.map((l, i) => `  ${args[i]!.padEnd(width)}   ${l.name}${l.experimental ? ' (experimental)' : ''}`),
  ];
}

/**
 * For a plan that failed because a segment needs a loader and none was given: the installed packages
 * with which it plans without problems (possibly none); undefined when the plan needs no loader.
 */
export async function planInstalledLoaders(plan: FlashPlan, details: DeviceDetails, simulated: boolean, planWith: (pkg: LoaderPackage) => FlashPlan): Promise<InstalledLoader[] | undefined> {
  if (plan.ok || !plan.errors.some((e) => e.remedy === 'choose-loader')) return undefined;
  return installedLoaders(plan.segments.map((s) => s.address), details, simulated, (pkg) => planWith(pkg).ok).catch(() => []);
}

/**
 * A read or erase that failed because its range needs a loader and none was given: the error as run()
 * reports it (with `installedLoaders` in --json), then the installed packages that serve the range;
 * its exit code. Any other error is thrown on.
 */
export async function reportWithInstalledLoaders(e: unknown, addresses: readonly number[], details: DeviceDetails, simulated: boolean, json: boolean | undefined): Promise<number> {
  if (!(e instanceof BootBridgeError) || e.remedy !== 'choose-loader') throw e;
  const list = await installedLoaders(addresses, details, simulated).catch(() => []);
  return reportError(e, json, { json: { installedLoaders: list }, lines: installedLoaderLines(list) });
}
