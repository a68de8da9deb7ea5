// The committed simulated loader packages (assets/loaders/sim-*) are exactly what the generator
// (npm run gen:sim-loaders) produces from the simulator's description, so the two cannot drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simLoaderManifest, simLoaderReadme } from '../../src-main/sim/loader-packages.js';
import { openLoaderFolder } from '../../src-main/operations/files.js';
import { SIM_MODELS, simLoaderImage, simLoaderSpec } from '../../src-main/sim/index.js';

const dir = (model: string) => join(import.meta.dirname, '..', '..', 'assets', 'loaders', `sim-${model}`);

describe('committed simulated loader packages equal the generator output', () => {
  for (const model of SIM_MODELS) {
    it(`sim-${model}: loader.bin, loader.json and README.md`, async () => {
      expect(new Uint8Array(readFileSync(join(dir(model), 'loader.bin')))).toEqual(simLoaderImage(model));
      expect(JSON.parse(readFileSync(join(dir(model), 'loader.json'), 'utf8'))).toEqual(simLoaderManifest(model));
      expect(readFileSync(join(dir(model), 'README.md'), 'utf8')).toBe(simLoaderReadme(model, simLoaderSpec(model)));
      const pkg = await openLoaderFolder(dir(model));
      expect(pkg.loadAddress).toBe(simLoaderSpec(model).loadAddress);
      expect(pkg.manifest.memories.map((m) => m.text)).toEqual(simLoaderSpec(model).memories);
      expect(pkg.manifest.simulated).toBe(true);
    });
  }
});
