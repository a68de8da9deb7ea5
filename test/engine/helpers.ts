// Shared set-up for engine tests: a simulated bus in virtual time, the demo firmware and loaders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimBus, simLoaderImages, type SimModelName } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { inspectDevice } from '../../src-main/services/devices.js';
import { openFirmwareBytes, openFirmwareFile, openLoaderFolder } from '../../src-main/services/files.js';
import type { Connection } from '../../src-main/services/connect.js';
import type { FlashEvent } from '../../shared/progress.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DEMO_ELF = join(ROOT, 'assets', 'examples', 'demo-f746', 'demo-f746.elf');
export const loaderDir = (model: SimModelName) => join(ROOT, 'assets', 'loaders', `sim-${model}`);

export function simConnection(model: SimModelName = 'stm32f746', boards = 1): Connection & { bus: SimBus; clock: VirtualClock } {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  for (let i = 0; i < boards; i++) bus.addBoard(model, { loaders: simLoaderImages(model) });
  return { backend: bus, clock, bus, save: () => undefined, close: async () => undefined };
}

export async function firstBoard(conn: Connection & { bus: SimBus }, index = 0) {
  const board = conn.bus.boards[index]!;
  const device = board.device!;
  const details = await inspectDevice(conn.backend, device);
  return { board, device, details };
}

export const demo = () => openFirmwareFile(DEMO_ELF);
export const simLoader = (model: SimModelName = 'stm32f746') => openLoaderFolder(loaderDir(model));

export function collect(): { events: FlashEvent[]; onEvent: (e: FlashEvent) => void } {
  const events: FlashEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

export const readFile = (p: string) => new Uint8Array(readFileSync(p));

/** Deterministic, non-blank bytes (no 0xFF runs that skip-blank would drop). */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x % 255; // never 0xFF
  }
  return out;
}

/** A raw binary image placed at `address`, as if opened from a .bin with --base. */
export const binAt = (address: number, data: Uint8Array) => openFirmwareBytes('image.bin', data, { baseAddress: address });
