// Set-up for production tests: a copy of the demo recipe and its files in a temporary folder (so a
// test may tamper with them), and simulated F746 boards on a bus in virtual time.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimBus, simLoaderImages, type SimBoard } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import type { Connection } from '../../src-main/operations/connect.js';
import type { FirmwareImage } from '../../src-main/firmware/image.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DEMO_ELF = join(ROOT, 'assets', 'examples', 'demo-f746', 'demo-f746.elf');
export const SIM_LOADER = join(ROOT, 'assets', 'loaders', 'sim-stm32f746');
export const EXAMPLE_RECIPE = join(ROOT, 'assets', 'recipes', 'demo-f746-sim.yaml');

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface RecipeDir {
  dir: string;
  recipe: string;
  firmware: string;
  loaderImage: string;
}

/** The demo recipe with its firmware and loader copied beside it; `extra` is appended to the YAML. */
export function recipeDir(opts: { extra?: string; noLoader?: boolean; serialPattern?: string } = {}): RecipeDir {
  const dir = mkdtempSync(join(tmpdir(), 'bb-recipe-'));
  const firmware = join(dir, 'demo-f746.elf');
  copyFileSync(DEMO_ELF, firmware);
  mkdirSync(join(dir, 'loader'));
  for (const f of ['loader.json', 'loader.bin']) copyFileSync(join(SIM_LOADER, f), join(dir, 'loader', f));
  const loaderImage = join(dir, 'loader', 'loader.bin');
  const yaml = [
    'name: demo-f746',
    'version: 1.0.0',
    'station: test-bench',
    'firmware:',
    '  file: demo-f746.elf',
    `  sha256: ${sha256(readFileSync(firmware))}`,
    ...(opts.noLoader ? [] : ['loader:', '  folder: loader', `  sha256: ${sha256(readFileSync(loaderImage))}`, `  manifestSha256: ${sha256(readFileSync(join(dir, 'loader', 'loader.json')))}`]),
    'chips: [0x449]',
    ...(opts.serialPattern ? [`serialPattern: "${opts.serialPattern}"`] : []),
    opts.extra ?? '',
  ].join('\n');
  const recipe = join(dir, 'recipe.yaml');
  writeFileSync(recipe, yaml);
  return { dir, recipe, firmware, loaderImage };
}

export type SimConn = Connection & { bus: SimBus; clock: VirtualClock };

export function simF746(boards: number): SimConn {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  for (let i = 0; i < boards; i++) bus.addBoard('stm32f746', { loaders: simLoaderImages('stm32f746') });
  return { backend: bus, clock, bus, simulated: true, save: () => undefined, close: async () => undefined };
}

/** True when every segment of the image is in the board's memory. */
export function holdsImage(board: SimBoard, image: FirmwareImage): boolean {
  return image.segments.every((s) => {
    const got = board.read(s.address, s.data.length);
    return got.length === s.data.length && got.every((b, i) => b === s.data[i]);
  });
}
