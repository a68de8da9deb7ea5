// The loader packages the GUI offers (assets/loaders, read once) and which one an operation goes
// through: the one asked for, the package a board already runs, or — for 'auto' — one only when the
// ROM cannot reach what the operation needs (loader/choice.ts).

import { basename, resolve } from 'node:path';
import { BootBridgeError } from '../../shared/errors.js';
import { autoLoaderCandidates, type LoaderPackage } from '../loader/index.js';
import type { FlashPlan, PlanOptions } from '../plan/index.js';
import { isRunningLoader, listLoaderFolders, openLoaderFolder, planFlash, type DeviceDetails, type LoadedFirmware } from '../operations/index.js';

/** A package on the shelf, by its folder name (the id the GUI and recipes use). */
export interface ShelfLoader {
  id: string;
  pkg: LoaderPackage;
}

export class LoaderShelf {
  private cache?: ShelfLoader[];

  constructor(
    private readonly assetsDir: string,
    /** Boards here are simulated: the simulator's loaders are offered too. */
    private readonly simulated: boolean,
  ) {}

  async all(): Promise<ShelfLoader[]> {
    if (!this.cache) {
      const out: ShelfLoader[] = [];
      for (const folder of listLoaderFolders(resolve(this.assetsDir, 'loaders'))) {
        const pkg = await openLoaderFolder(folder).catch(() => undefined);
        // The simulator's loaders boot only on simulated boards: offer them only there.
        if (pkg && (!pkg.manifest.simulated || this.simulated)) out.push({ id: basename(folder), pkg });
      }
      this.cache = out;
    }
    return this.cache;
  }

  private async byId(id: string): Promise<ShelfLoader> {
    const hit = (await this.all()).find((l) => l.id === id);
    if (!hit) throw new BootBridgeError('LOADER_INVALID', `No loader package "${id}"`, { field: 'loader' });
    return hit;
  }

  /** The loader package a board left running a BootBridge loader belongs to (its USB identity), if any. */
  async paired(details: DeviceDetails): Promise<ShelfLoader | undefined> {
    if (details.info.mode !== 'loader') return undefined;
    // Loaders may share one USB identity (every BootBridge loader is 1209:0001): the memories it
    // reports (alt settings and their layouts) must be the ones its manifest promises.
    const shape = (mems: readonly { alt: number; layout: { blocks: readonly { start: number; size: number }[] } }[]) =>
      mems.map((m) => `${m.alt}:${m.layout.blocks.map((b) => `${b.start}+${b.size}`).join(',')}`).sort().join('|');
    const have = shape(details.memories);
    const same = (await this.all()).filter((l) => isRunningLoader(details, l.pkg));
    return same.find((l) => shape(l.pkg.manifest.memories) === have) ?? (same.length === 1 ? same[0] : undefined);
  }

  /**
   * The loader a read or erase goes through: the one asked for; for 'auto' (or none given) the paired
   * package of a running loader, else — when the ROM serves none of `addresses` — the first loader for
   * the chip that serves them all. 'none': the ROM alone.
   */
  async forAddresses(details: DeviceDetails, choice: string | undefined, addresses: number[]): Promise<ShelfLoader | undefined> {
    if (choice === 'none') return undefined;
    if (choice && choice !== 'auto') return this.byId(choice);
    const paired = await this.paired(details);
    if (paired) return paired;
    return (await this.serving(details, addresses))[0];
  }

  /**
   * The packages for this board's chip that serve every one of `addresses` its ROM cannot reach; none
   * when the ROM reaches them all (loader/choice.ts: never a loader for internal flash alone).
   */
  async serving(details: DeviceDetails, addresses: readonly number[]): Promise<ShelfLoader[]> {
    return autoLoaderCandidates(await this.all(), details.chip?.deviceId, details.memories.map((m) => m.layout), addresses);
  }

  /**
   * Resolves the loader choice and plans. 'auto' stages a loader only when the ROM alone cannot place
   * every segment (and the loader makes the plan valid); an explicit loader is always offered to the planner.
   */
  async plan(details: DeviceDetails, fw: LoadedFirmware, choice: string, options: PlanOptions): Promise<{ loader?: ShelfLoader; plan: FlashPlan }> {
    if (choice === 'none') return { plan: planFlash(details, fw, undefined, options) };
    if (choice !== 'auto') {
      const hit = await this.byId(choice);
      return { loader: hit, plan: planFlash(details, fw, hit.pkg, options) };
    }
    const paired = await this.paired(details);
    if (paired) return { loader: paired, plan: planFlash(details, fw, paired.pkg, options) };
    const romOnly = planFlash(details, fw, undefined, options);
    if (romOnly.ok || details.info.mode !== 'rom') return { plan: romOnly };
    for (const c of await this.serving(details, fw.image.segments.map((seg) => seg.address))) {
      const p = planFlash(details, fw, c.pkg, options);
      if (p.ok) return { loader: c, plan: p };
    }
    return { plan: romOnly };
  }
}
