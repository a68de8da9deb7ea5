// Erasing, as plan/erase.ts planned it: the ROM's sectors (or its mass erase) through the ROM
// bootloader, then the loader's through a staged or running loader. The board stays in DFU (in its
// loader, when one was staged).

import { BootBridgeError } from '../../shared/errors.js';
import type { ChipInfo } from '../devices/chips.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import type { LoaderPackage } from '../loader/index.js';
import type { ErasePlan, ErasedSector } from '../plan/erase.js';
import { assertRomReachable, romOpenOptions, type BoardHandle, type EngineContext } from './context.js';
import { Reporter } from './progress.js';
import { checkServed, loaderFor, needLoader } from './staging.js';

export interface EraseRequest {
  plan: ErasePlan;
  chip?: ChipInfo;
  /** The package behind sectors erased through a loader. */
  loader?: LoaderPackage;
}

/** Erases what `req.plan` lists: the ROM's sectors first, then the loader's. */
export async function eraseMemory(ctx: EngineContext, board: BoardHandle, req: EraseRequest): Promise<ErasedSector[]> {
  const { sectors, mass } = req.plan;
  const reporter = new Reporter(ctx.clock, ctx.onEvent);
  const run = async (dev: DfuseDevice, list: ErasedSector[], stage: 'rom' | 'loader') => {
    reporter.startStage(stage);
    const p = reporter.phase(stage, 'erase', list.reduce((n, s) => n + s.size, 0), list[0]!.region);
    for (const s of list) {
      if (ctx.signal?.aborted) throw new BootBridgeError('CANCELLED', 'Cancelled before erasing', { address: s.address });
      if (dev.alt !== s.alt) await dev.selectAlt(s.alt);
      if (mass) await dev.massErase();
      else await dev.erase(s.address);
      p.advance(s.size);
    }
    reporter.endStage(stage);
  };
  const viaRom = sectors.filter((s) => s.via === 'rom');
  const viaLoader = sectors.filter((s) => s.via === 'loader');
  if (viaRom.length) {
    const rom = await openRom(ctx, board);
    try {
      await run(rom, viaRom, 'rom');
    } finally {
      await rom.close();
    }
  }
  if (viaLoader.length) {
    const pkg = needLoader(req.loader);
    const loader = await loaderFor(ctx, board, pkg, req.chip, reporter);
    try {
      checkServed(loader, pkg, viaLoader.map((x) => ({ alt: x.alt, address: x.address, length: x.size })));
      await run(loader, viaLoader, 'loader');
    } finally {
      await loader.close();
    }
  }
  return sectors;
}

/** The board's ROM bootloader, opened; refused when the board runs its loader (the plan says so first). */
async function openRom(ctx: EngineContext, board: BoardHandle): Promise<DfuseDevice> {
  assertRomReachable(board, 'The erase');
  return DfuseDevice.open(board.device, romOpenOptions(ctx, board));
}
