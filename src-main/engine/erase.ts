// Erasing on request (`bootbridge erase`): the sectors holding given addresses, through the ROM
// bootloader or — for memory only a loader serves, such as a QSPI NOR — through a staged loader; or a
// mass erase of the internal flash. Every address is checked before anything is erased.

import { BootBridgeError, hex32 } from '../../shared/errors.js';
import type { ChipInfo } from '../devices/chips.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import type { LoaderPackage } from '../loader/index.js';
import type { PlanMemory, Via } from '../plan/types.js';
import { romOpenOptions, type BoardHandle, type EngineContext } from './context.js';
import { Reporter } from './progress.js';
import { checkServed, loaderFor } from './staging.js';

export interface EraseRequest {
  /** Erase the sectors holding these addresses… */
  addresses: number[];
  /** …or mass erase the ROM's internal flash (alt 0). */
  mass?: boolean;
  /** The ROM's memories (from its descriptors). */
  memories: PlanMemory[];
  chip?: ChipInfo;
  loader?: LoaderPackage;
}

export interface ErasedSector {
  via: Via;
  alt: number;
  region: string;
  address: number;
  size: number;
}

function sectorIn(memories: readonly PlanMemory[], address: number): { memory: PlanMemory; start: number; size: number; erasable: boolean } | undefined {
  for (const m of memories) {
    for (const b of m.layout.blocks) {
      const s = b.sectors.find((x) => address >= x.start && address < x.start + x.size);
      if (s) return { memory: m, start: s.start, size: s.size, erasable: s.erasable };
    }
  }
  return undefined;
}

/** Works out every sector first (errors before any erase), then erases them: ROM first, then the loader's. */
export function planErase(req: EraseRequest): ErasedSector[] {
  if (req.mass && req.addresses.length) throw new BootBridgeError('BAD_ARGUMENT', 'Give either addresses or --mass, not both', {});
  if (!req.mass && req.addresses.length === 0) throw new BootBridgeError('BAD_ARGUMENT', 'Give the addresses of the sectors to erase, or --mass', {});
  if (req.mass) {
    const flash = req.memories.find((m) => m.alt === 0);
    if (!flash) throw new BootBridgeError('ADDRESS_UNREACHABLE', 'The device has no alt setting 0 to mass erase', {});
    return [{ via: 'rom', alt: 0, region: flash.layout.name, address: flash.layout.blocks[0]!.start, size: flash.layout.blocks.reduce((n, b) => n + b.size, 0) }];
  }
  const loaderMemories = req.loader?.manifest.memories.map((m) => ({ alt: m.alt, layout: m.layout })) ?? [];
  const out = new Map<string, ErasedSector>();
  for (const a of req.addresses) {
    const rom = sectorIn(req.memories, a);
    const hit = rom ? { via: 'rom' as const, ...rom } : (() => {
      const l = sectorIn(loaderMemories, a);
      return l ? { via: 'loader' as const, ...l } : undefined;
    })();
    if (!hit) {
      const why = req.loader ? `neither the ROM bootloader nor loader "${req.loader.manifest.name}" serves` : `no memory of the ROM bootloader holds`;
      throw new BootBridgeError('ADDRESS_UNREACHABLE', `${why} ${hex32(a)}`, { address: a }, req.loader ? {} : { remedy: 'choose-loader' });
    }
    if (!hit.erasable) throw new BootBridgeError('REGION_NOT_WRITABLE', `${hit.memory.layout.name} at ${hex32(a)} is not erasable`, { address: a, alt: hit.memory.alt });
    out.set(`${hit.via}:${hit.start}`, { via: hit.via, alt: hit.memory.alt, region: hit.memory.layout.name, address: hit.start, size: hit.size });
  }
  return [...out.values()].sort((x, y) => (x.via === y.via ? x.address - y.address : x.via === 'rom' ? -1 : 1));
}

/** Erases what `planErase` worked out. The board stays in DFU (in its loader, when one was staged). */
export async function eraseMemory(ctx: EngineContext, board: BoardHandle, req: EraseRequest): Promise<ErasedSector[]> {
  const sectors = planErase(req);
  const reporter = new Reporter(ctx.clock, ctx.onEvent);
  const run = async (dev: DfuseDevice, list: ErasedSector[], stage: 'rom' | 'loader') => {
    if (list.length === 0) return;
    reporter.startStage(stage);
    const p = reporter.phase(stage, 'erase', list.reduce((n, s) => n + s.size, 0), list[0]!.region);
    for (const s of list) {
      if (ctx.signal?.aborted) throw new BootBridgeError('CANCELLED', 'Cancelled before erasing', { address: s.address });
      if (dev.alt !== s.alt) await dev.selectAlt(s.alt);
      if (req.mass) await dev.massErase();
      else await dev.erase(s.address);
      p.advance(s.size);
    }
    reporter.endStage(stage);
  };
  const viaRom = sectors.filter((s) => s.via === 'rom');
  const viaLoader = sectors.filter((s) => s.via === 'loader');
  if (viaRom.length && board.loaderRunning) {
    // Refused before any erase: a loader cannot return to the ROM (docs/loader-protocol.md §1).
    const what = [...new Set(viaRom.map((s) => s.region))].join(', ');
    throw new BootBridgeError('STAGING_FAILED', `Only the ROM bootloader erases ${what}${req.mass ? ' (mass erase)' : ''}, and the board is running its loader: reset it with BOOT0 held high and run again`, {
      address: viaRom[0]!.address,
    });
  }
  if (viaRom.length) {
    const rom = await DfuseDevice.open(board.device, romOpenOptions(ctx, board));
    try {
      await run(rom, viaRom, 'rom');
    } finally {
      await rom.close();
    }
  }
  if (viaLoader.length) {
    const loader = await loaderFor(ctx, board, req.loader!, req.chip, reporter);
    try {
      checkServed(loader, req.loader!, viaLoader.map((x) => ({ alt: x.alt, address: x.address, length: x.size })));
      await run(loader, viaLoader, 'loader');
    } finally {
      await loader.close();
    }
  }
  return sectors;
}
