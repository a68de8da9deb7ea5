// Planning a read (`bootbridge read`, the GUI's read-back): which memory holds the range and who reads
// it — the ROM bootloader, or a loader (staged for it, or already running) for memory only a loader
// serves. Every problem is found here, before the engine opens anything.
//
//   const p = planRead(target, 0x9000_0000, 4096); // throws ADDRESS_UNREACHABLE, REGION_NOT_READABLE…
//   await readMemory(ctx, board, { plan: p, loader });

import { BootBridgeError } from '../../shared/errors.js';
import { issueError } from './issues.js';
import { routeRange } from './route.js';
import type { PlanTarget, Via } from './types.js';

export interface ReadPlan {
  via: Via;
  alt: number;
  /** The memory's name, for progress events. */
  region: string;
  address: number;
  length: number;
}

/** Plans reading [address, address+length); throws the error that stops it. */
export function planRead(target: PlanTarget, address: number, length: number): ReadPlan {
  if (!(length > 0)) throw new BootBridgeError('BAD_ARGUMENT', 'Length must be at least 1 byte', { address, length });
  if (address + length > 0x1_0000_0000) throw new BootBridgeError('BAD_ARGUMENT', 'The range runs past the end of the 32-bit address space', { address, length });
  const { route, issue } = routeRange(target, address, length, { ram: false });
  if (issue?.code === 'PAST_REGION_END' && route) {
    const end = route.limit;
    throw new BootBridgeError(
      'ADDRESS_UNREACHABLE',
      `0x${address.toString(16)}–0x${(address + length).toString(16)} runs past the end of ${route.region.name} at 0x${end.toString(16)}: read at most ${end - address} bytes from there`,
      { address, length, alt: route.alt },
    );
  }
  if (issue || !route) throw issueError(issue!, { address, length });
  if (!route.permissions.readable) throw new BootBridgeError('REGION_NOT_READABLE', `${route.region.name} is not readable at 0x${address.toString(16)}`, { address, alt: route.alt });
  return { via: route.via, alt: route.alt, region: route.region.name, address, length };
}
