// Reading memory back, as plan/read.ts planned it: through the ROM bootloader, or through a loader —
// staged as a flash run stages it, or the one an earlier run left running (`board.loaderRunning`).

import type { ChipInfo } from '../devices/chips.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import type { LoaderPackage } from '../loader/index.js';
import type { ReadPlan } from '../plan/read.js';
import { assertRomReachable, romOpenOptions, type BoardHandle, type EngineContext } from './context.js';
import { Reporter } from './progress.js';
import { checkServed, loaderFor, needLoader } from './staging.js';

export interface ReadRequest {
  plan: ReadPlan;
  chip?: ChipInfo;
  /** The package behind a plan that reads through a loader. */
  loader?: LoaderPackage;
  /** After reading through a loader, start the application at this address (default: stay in the loader). */
  leaveTo?: number;
}

/** Reads what `req.plan` names from the board. */
export async function readMemory(ctx: EngineContext, board: BoardHandle, req: ReadRequest): Promise<Uint8Array> {
  const { address, length, alt, region } = req.plan;
  const reporter = new Reporter(ctx.clock, ctx.onEvent);
  const signal = ctx.signal ? { signal: ctx.signal } : {};

  if (req.plan.via === 'rom') {
    assertRomReachable(board, 'The read');
    const dev = await DfuseDevice.open(board.device, romOpenOptions(ctx, board, alt));
    try {
      const p = reporter.phase('rom', 'read', length, region);
      return await dev.read(address, length, { onProgress: (d) => p.update(d), ...signal });
    } finally {
      await dev.close();
    }
  }

  const pkg = needLoader(req.loader);
  let loader: DfuseDevice | undefined = await loaderFor(ctx, board, pkg, req.chip, reporter);
  try {
    checkServed(loader, pkg, [{ alt, address, length }]);
    reporter.startStage('loader');
    if (loader.alt !== alt) await loader.selectAlt(alt);
    const q = reporter.phase('loader', 'read', length, region);
    const data = await loader.read(address, length, { onProgress: (d) => q.update(d), ...signal });
    reporter.endStage('loader');
    if (req.leaveTo !== undefined) {
      await loader.leave(req.leaveTo);
      loader = undefined;
    }
    return data;
  } finally {
    await loader?.close().catch(() => undefined);
  }
}
