// `bootbridge loader check PACKAGE`: stage a loader package on a simulated board and hold it to loader
// protocol v1 (docs/loader-protocol.md), one verdict per check. And the words every command uses when
// it stages a loader: which one, why, and whether it is experimental.

import type { Command } from 'commander';
import { BootBridgeError } from '../../../shared/errors.js';
import { checkLoader, type CheckVerdict } from '../../engine/conformance.js';
import type { LoaderPackage } from '../../loader/index.js';
import { routeRange, type FlashPlan, type PlanMemory } from '../../plan/index.js';
import { connect } from '../../operations/connect.js';
import { inspectDevice } from '../../operations/devices.js';
import { openLoaderFolder } from '../../operations/files.js';
import { holdsLoaderImage } from '../../sim/board.js';
import { SIM_MODELS, simChip, simLoaderImages, type SimModelName } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { EXIT, printJson, reportError, run } from '../common.js';
import { hexUpper } from '../../../shared/format.js';

/** The warning carried in --json whenever an experimental loader is staged (the engine logs the same words). */
export function experimentalWarning(pkg: LoaderPackage): string | undefined {
  if (!pkg.manifest.experimental) return undefined;
  return `loader "${pkg.manifest.name}" is experimental: no run on a real board has been recorded yet (loader.json "experimental": true). Check what it wrote.`;
}

/**
 * Which loader a plan stages, and why, in the CLI's words: the loader is always the one the user named
 * (--loader) or the recipe names — BootBridge never picks a loader by itself — and the plan says what
 * needs it: memory only the loader reaches, internal flash routed through it because it is faster.
 */
export function loaderChoice(plan: FlashPlan, pkg: LoaderPackage | undefined, romMemories: readonly PlanMemory[], named: string): string[] {
  if (!pkg) return [];
  const viaLoader = plan.stages.filter((s) => s.via === 'loader' && s.name !== 'staging').flatMap((s) => s.writes);
  if (!plan.stages.some((s) => s.staging) && !plan.loaderRunning) return [`loader: ${pkg.manifest.name} (${named}) not staged: the ROM bootloader serves everything this plan writes`];
  const rom = { memories: [...romMemories] };
  const romServes = (a: number) => routeRange(rom, a, 1, { via: 'rom', ram: false }).route !== undefined;
  const needs = [...new Map(viaLoader.filter((w) => !romServes(w.address)).map((w) => [w.region, w])).values()];
  const routed = [...new Map(viaLoader.filter((w) => romServes(w.address)).map((w) => [w.region, w])).values()];
  const why: string[] = [];
  if (needs.length) why.push(`${needs.map((w) => `${w.region} at ${hexUpper(w.address, 8)}`).join(', ')} ${needs.length > 1 ? 'need' : 'needs'} a loader (the ROM bootloader cannot reach it)`);
  if (routed.length) {
    // The planner routes internal flash through a loader that serves it (and is staged anyway) unless
    // --rom-route says otherwise; both routes' estimates say what that costs or saves.
    const r = plan.routes;
    const cost = r ? ` (whole plan about ${(r.loader / 1000).toFixed(1)} s this way, ${(r.rom / 1000).toFixed(1)} s with --rom-route)` : '';
    why.push(`${routed.map((w) => w.region).join(', ')} routed through it because it serves that memory too${cost}; --rom-route writes it through the ROM`);
  }
  return [`loader: ${pkg.manifest.name} (${named}), chosen by you; ${why.join('; ') || 'the plan writes through it'}`];
}

/** The simulated model a package is checked on: --sim, else the first model whose chip the package names. */
function modelFor(pkg: LoaderPackage, sim: string | undefined): SimModelName {
  if (sim) {
    if (!(SIM_MODELS as readonly string[]).includes(sim)) throw new BootBridgeError('BAD_ARGUMENT', `Unknown simulated board "${sim}". Choose one of: ${SIM_MODELS.join(', ')}`, { field: 'sim' });
    return sim as SimModelName;
  }
  const m = SIM_MODELS.find((x) => pkg.manifest.chips.includes(simChip(x).deviceId));
  if (!m) {
    throw new BootBridgeError('BAD_ARGUMENT', `No simulated board has one of the chips the package names (${pkg.manifest.chips.map((c) => '0x' + c.toString(16)).join(', ')}); choose one with --sim`, { field: 'sim' });
  }
  return m;
}

const VERDICT = { pass: 'PASS', fail: 'FAIL', skip: 'skip' } as const;

function printVerdicts(verdicts: CheckVerdict[]): void {
  const w = Math.max(...verdicts.map((v) => v.section.length));
  for (const v of verdicts) process.stdout.write(`${VERDICT[v.verdict]}  ${v.section.padEnd(w)}  ${v.id}: ${v.title}\n        ${v.detail}\n`);
}

interface CheckCliOptions {
  sim?: string;
  json?: boolean;
}

async function checkCommand(folder: string, o: CheckCliOptions): Promise<number> {
  const pkg = await openLoaderFolder(folder);
  const model = modelFor(pkg, o.sim);
  // Virtual time: a 16 MB QSPI mass erase takes minutes of modelled time and no real time.
  const conn = await connect({ sim: { model }, clock: new VirtualClock() });
  try {
    const own = simLoaderImages(model).some((l) => l.loadAddress === pkg.loadAddress && holdsLoaderImage(pkg.image, l));
    // The bus runs images that are not the simulator's own on its emulated CPU, when it has one
    // (injected by operations/connect.ts where Unicorn is installed).
    const emulated = (conn.bus as unknown as { emulator?: unknown } | undefined)?.emulator !== undefined;
    if (!own && !emulated) {
      throw new BootBridgeError(
        'EMULATOR_UNAVAILABLE',
        `${pkg.source}: "${pkg.manifest.name}" is real machine code, which a simulated ${model} runs only on its emulated CPU, and that is not available here. Install Debian's python3-unicorn (sudo apt-get install python3-unicorn) and run again.`,
        { field: 'sim' },
      );
    }
    const device = conn.bus!.boards[0]!.device!;
    const details = await inspectDevice(conn.backend, device);
    const warning = experimentalWarning(pkg);
    if (warning && !o.json) process.stderr.write(`warning: ${warning}\n`);
    if (!o.json) process.stderr.write(`Checking ${pkg.source} ("${pkg.manifest.name}") on a simulated ${model}${own ? '' : ' (emulated CPU)'}…\n`);
    const verdicts = await checkLoader({ backend: conn.backend, clock: conn.clock }, { device }, pkg, {
      ...(details.chip ? { chip: details.chip } : {}),
      ...(device.serialNumber ? { romSerial: device.serialNumber } : {}),
    });
    const failed = verdicts.filter((v) => v.verdict === 'fail');
    if (o.json) {
      printJson({ ok: failed.length === 0, package: pkg.source, loader: pkg.manifest.name, model, emulated: !own, experimental: pkg.manifest.experimental, ...(warning ? { warnings: [warning] } : {}), failed: failed.map((v) => v.id), verdicts });
    } else {
      printVerdicts(verdicts);
      const passed = verdicts.filter((v) => v.verdict === 'pass').length;
      process.stdout.write(failed.length ? `\nFAIL  ${failed.length} check(s) failed: ${failed.map((v) => v.id).join(', ')}\n` : `\nPASS  all ${passed} checks passed (${verdicts.length - passed} skipped)\n`);
    }
    return failed.length ? EXIT.FAILED : EXIT.OK;
  } finally {
    await conn.close();
  }
}

export function registerLoaderCommands(program: Command): void {
  const loader = program.command('loader').description('loader packages (docs/loader-protocol.md)');
  loader
    .command('check <package>')
    .description('stage a loader package on a simulated board and run the loader protocol v1 conformance suite (exit 0 all pass, 1 a check failed, 2 bad package, 3 no emulated CPU)')
    .option('--sim <model>', `simulated board to check on (${SIM_MODELS.join(', ')}); default: the first whose chip the package names`)
    .option('--json', 'print the verdicts as JSON on stdout')
    .action((folder: string, o: CheckCliOptions) =>
      run(o.json, async () => {
        try {
          return await checkCommand(folder, o);
        } catch (e) {
          // Exit 3 for a machine without the emulated CPU, like a machine without USB (README "Exit codes").
          const code = reportError(e, o.json);
          return e instanceof BootBridgeError && e.code === 'EMULATOR_UNAVAILABLE' ? EXIT.NO_DEVICE : code;
        }
      }),
    );
}
