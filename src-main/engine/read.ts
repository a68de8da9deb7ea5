// Reading memory back: through the ROM bootloader when one of its alt settings covers the range,
// otherwise through a staged loader (external memory the ROM cannot reach), staged as a flash run
// stages it, or the loader an earlier run left running (`board.loaderRunning`).

import { BootBridgeError } from '../../shared/errors.js';
import type { ChipInfo } from '../devices/chips.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import type { MemoryLayout } from '../dfu/layout.js';
import type { LoaderPackage } from '../loader/index.js';
import type { PlanMemory } from '../plan/types.js';
import { romOpenOptions, type BoardHandle, type EngineContext } from './context.js';
import { Reporter } from './progress.js';
import { checkServed, loaderFor } from './staging.js';

export interface ReadRequest {
  address: number;
  length: number;
  /** The ROM's memories (from its descriptors). */
  memories: PlanMemory[];
  chip?: ChipInfo;
  loader?: LoaderPackage;
  /** After reading through a loader, start the application at this address (default: stay in the loader). */
  leaveTo?: number;
}

function covering(memories: readonly PlanMemory[], address: number, length: number): PlanMemory | undefined {
  return memories.find((m) => m.layout.blocks.some((b) => address >= b.start && address + length <= b.start + b.size));
}

function readable(layout: MemoryLayout, address: number, length: number): boolean {
  return layout.blocks.every((b) => b.sectors.every((s) => s.start + s.size <= address || s.start >= address + length || s.readable));
}

/** Reads [address, address+length) from the board. */
export async function readMemory(ctx: EngineContext, board: BoardHandle, req: ReadRequest): Promise<Uint8Array> {
  const { address, length } = req;
  if (!(length > 0)) throw new BootBridgeError('BAD_ARGUMENT', 'Length must be at least 1 byte', { address, length });
  if (address + length > 0x1_0000_0000) throw new BootBridgeError('BAD_ARGUMENT', 'The range runs past the end of the 32-bit address space', { address, length });
  const reporter = new Reporter(ctx.clock, ctx.onEvent);

  const rom = covering(req.memories, address, length);
  if (rom) {
    if (!readable(rom.layout, address, length)) throw new BootBridgeError('REGION_NOT_READABLE', `${rom.layout.name} is not readable at 0x${address.toString(16)}`, { address, alt: rom.alt });
    const dev = await DfuseDevice.open(board.device, romOpenOptions(ctx, board, rom.alt));
    try {
      const p = reporter.phase('rom', 'read', length, rom.layout.name);
      return await dev.read(address, length, { onProgress: (d) => p.update(d), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    } finally {
      await dev.close();
    }
  }

  const start = req.memories.flatMap((m) => m.layout.blocks.map((b) => ({ m, b }))).find(({ b }) => address >= b.start && address < b.start + b.size);
  if (start) {
    const end = start.b.start + start.b.size;
    throw new BootBridgeError(
      'ADDRESS_UNREACHABLE',
      `0x${address.toString(16)}–0x${(address + length).toString(16)} runs past the end of ${start.m.layout.name} at 0x${end.toString(16)}: read at most ${end - address} bytes from there`,
      { address, length, alt: start.m.alt },
    );
  }

  const pkg = req.loader;
  const serves = pkg?.manifest.memories.find((m) => m.layout.blocks.some((b) => address >= b.start && address + length <= b.start + b.size));
  if (!pkg || !serves) {
    const why = pkg ? `neither the ROM bootloader nor loader "${pkg.manifest.name}" serves` : `the ROM bootloader cannot read`;
    throw new BootBridgeError('ADDRESS_UNREACHABLE', `${why} 0x${address.toString(16)}–0x${(address + length).toString(16)}`, { address, length }, pkg ? {} : { remedy: 'choose-loader' });
  }
  let loader: DfuseDevice | undefined = await loaderFor(ctx, board, pkg, req.chip, reporter);
  try {
    checkServed(loader, pkg, [{ alt: serves.alt, address, length }]);
    reporter.startStage('loader');
    if (loader.alt !== serves.alt) await loader.selectAlt(serves.alt);
    const q = reporter.phase('loader', 'read', length, serves.layout.name);
    const data = await loader.read(address, length, { onProgress: (d) => q.update(d), ...(ctx.signal ? { signal: ctx.signal } : {}) });
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
