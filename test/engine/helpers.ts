// Shared set-up for engine tests: a simulated bus in virtual time, the demo firmware and loaders.
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimBus, simLoaderImages, type SimModelName } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { inspectDevice } from '../../src-main/operations/devices.js';
import { openFirmwareBytes, openFirmwareFile, openLoaderFolder } from '../../src-main/operations/files.js';
import type { Connection } from '../../src-main/operations/connect.js';
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

export { pattern } from '../support/data.js';

/** A raw binary image placed at `address`, as if opened from a .bin with --base. */
export const binAt = (address: number, data: Uint8Array) => openFirmwareBytes('image.bin', data, { baseAddress: address });

/** Byte-for-byte equality without vitest's per-index diff (megabytes of memory would take minutes). */
export function expectBytes(got: Uint8Array, want: Uint8Array, what = 'bytes'): void {
  const n = Math.min(got.length, want.length);
  let at = -1;
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      at = i;
      break;
    }
  }
  if (at < 0 && got.length !== want.length) at = n;
  const show = (b: Uint8Array) => Array.from(b.subarray(Math.max(0, at), at + 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  expect(at < 0 ? 'identical' : `${what} differ at offset ${at} (length ${got.length} vs ${want.length}): got ${show(got)}, want ${show(want)}`).toBe('identical');
}
