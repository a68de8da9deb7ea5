// Planning an erase (`bootbridge erase`, the GUI's erase): the sectors holding given addresses, through
// the ROM bootloader or — for memory only a loader serves, such as a QSPI NOR — through a loader; or a
// mass erase of the internal flash. Every address is routed before anything is erased.
//
//   const p = planErase(target, { addresses: [0x9001_0004] }); // throws ADDRESS_UNREACHABLE…
//   await eraseMemory(ctx, board, { plan: p, loader });

import { BootBridgeError, hex32 } from '../../shared/errors.js';
import { issueError } from './issues.js';
import { routeRange } from './route.js';
import type { PlanTarget, Via } from './types.js';

export interface ErasedSector {
  via: Via;
  alt: number;
  region: string;
  address: number;
  size: number;
}

export interface ErasePlan {
  /** One entry, the whole memory: DfuSe 0x41 with no address (AN3156 §6.1.3). */
  mass: boolean;
  /** ROM sectors first, then the loader's, each in address order. */
  sectors: ErasedSector[];
}

/** Plans erasing the sectors holding `addresses`, or a mass erase of the ROM's alt 0; throws the error that stops it. */
export function planErase(target: PlanTarget, what: { addresses: readonly number[]; mass?: boolean }): ErasePlan {
  const mass = what.mass === true;
  if (mass && what.addresses.length) throw new BootBridgeError('BAD_ARGUMENT', 'Give either addresses or a mass erase, not both', {});
  if (!mass && what.addresses.length === 0) throw new BootBridgeError('BAD_ARGUMENT', 'Give the addresses of the sectors to erase, or ask for a mass erase', {});
  if (mass) return { mass, sectors: [massErase(target)] };
  const out = new Map<string, ErasedSector>();
  for (const a of what.addresses) {
    const { route, issue } = routeRange(target, a, 1, { ram: false, label: hex32(a) });
    if (issue || !route) throw issueError(issue!, { address: a });
    if (!route.permissions.erasable) throw new BootBridgeError('REGION_NOT_WRITABLE', `${route.region.name} at ${hex32(a)} is not erasable`, { address: a, alt: route.alt });
    const s = route.sectors[0]!;
    out.set(`${route.via}:${s.start}`, { via: route.via, alt: route.alt, region: route.region.name, address: s.start, size: s.size });
  }
  const sectors = [...out.values()].sort((x, y) => (x.via === y.via ? x.address - y.address : x.via === 'rom' ? -1 : 1));
  return { mass, sectors };
}

/** The ROM's mass erase of alt 0: only the ROM does it, whoever else serves that memory. */
function massErase(target: PlanTarget): ErasedSector {
  const flash = target.memories.find((m) => m.alt === 0);
  if (!flash) throw new BootBridgeError('ADDRESS_UNREACHABLE', 'The device has no alt setting 0 to mass erase', {});
  const start = flash.layout.blocks[0]!.start;
  const { issue } = routeRange(target, start, 1, { prefer: 'rom', ram: false, label: `The mass erase of ${flash.layout.name}` });
  if (issue) throw issueError(issue, { address: start });
  return { via: 'rom', alt: 0, region: flash.layout.name, address: start, size: flash.layout.blocks.reduce((n, b) => n + b.size, 0) };
}
