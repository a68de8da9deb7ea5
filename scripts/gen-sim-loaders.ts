// Writes assets/loaders/sim-<model>/ — the loader packages of the simulated boards — from the
// simulator's own generator (src-main/sim/loaders.ts). Run with `npm run gen:sim-loaders`;
// test/sim/loader-packages.test.ts checks the committed files still equal the generator's output.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIM_MODELS, simLoaderImage, simLoaderSpec } from '../src-main/sim/index.js';
import { simLoaderManifest, simLoaderReadme } from '../src-main/sim/loader-packages.js';

for (const model of SIM_MODELS) {
  const dir = join('assets', 'loaders', `sim-${model}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'loader.bin'), simLoaderImage(model));
  writeFileSync(join(dir, 'loader.json'), JSON.stringify(simLoaderManifest(model), null, 2) + '\n');
  writeFileSync(join(dir, 'README.md'), simLoaderReadme(model, simLoaderSpec(model)));
  console.log(`wrote ${dir}`);
}
