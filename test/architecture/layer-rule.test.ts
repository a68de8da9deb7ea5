// The lint rule that keeps src-main/ layered (eslint.config.js, docs/architecture.md) refuses an
// upward or sideways import and lets a downward one through, as `npx eslint` runs it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'layers/import-down').map((m) => m.message);
}

describe('layers/import-down', () => {
  it('refuses usb/ importing dfu/, loader/ importing sim/, engine/ or production/ importing services/', async () => {
    expect(await layerErrors('src-main/usb/x.ts', "import { parseLayout } from '../dfu/layout.js';\nexport const f = parseLayout;\n")).toEqual([
      'src-main/usb/ may not import src-main/dfu/ (a higher layer): layers point down (docs/architecture.md).',
    ]);
    expect(await layerErrors('src-main/loader/x.ts', "export { SIM_MODELS } from '../sim/index.js';\n")).toHaveLength(1);
    expect(await layerErrors('src-main/engine/x.ts', "import type { Connection } from '../services/connect.js';\nexport type C = Connection;\n")).toHaveLength(1);
    expect(await layerErrors('src-main/production/x.ts', "export const m = () => import('../services/operations.js');\n")).toHaveLength(1);
  });

  it('refuses a folder beside it: the engine and the simulator do not know each other', async () => {
    expect(await layerErrors('src-main/engine/x.ts', "export { SimBus } from '../sim/index.js';\n")).toEqual([
      'src-main/engine/ may not import src-main/sim/ (a layer beside it): layers point down (docs/architecture.md).',
    ]);
  });

  it('lets downward imports, imports inside a folder and shared/ through', async () => {
    const code = "import { parseLayout } from '../dfu/layout.js';\nimport { hex32 } from '../../shared/format.js';\nimport { planBytes } from './plan.js';\nexport const f = [parseLayout, hex32, planBytes];\n";
    expect(await layerErrors('src-main/plan/x.ts', code)).toEqual([]);
    expect(await layerErrors('src-main/cli/commands/x.ts', "export { formatDump } from '../../dfu/dump.js';\n")).toEqual([]);
  });
});

describe('docs/architecture.md', () => {
  it('states the ranks exactly as the lint rule enforces them', async () => {
    const config: string = resolve(ROOT, 'eslint.config.js');
    const { LAYERS } = (await import(config)) as { LAYERS: string[][] };
    const doc = readFileSync(resolve(ROOT, 'docs/architecture.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| (\d+) \| ((?:`[a-z]+\/`(?:, )?)+) \|/gm)].map((m) => [Number(m[1]), [...m[2]!.matchAll(/`([a-z]+)\/`/g)].map((f) => f[1])]);
    expect(rows).toEqual(LAYERS.map((folders, rank) => [rank, folders]));
  });
});
