// `bootbridge plan`, `flash`, `write`: open a file, show where every byte goes, program it, verify it.

import { Option, type Command } from 'commander';
import { BootBridgeError } from '../../../shared/errors.js';
import { hex32 } from '../../../shared/format.js';
import type { FlashResult } from '../../../shared/progress.js';
import { chipByName, unknownChipError } from '../../devices/chips.js';
import { chipAltStrings } from '../../devices/identify.js';
import { parseLayout } from '../../dfu/layout.js';
import type { LoaderPackage } from '../../loader/index.js';
import { formatPlan, planForJson, planInvalid, type FlashPlan, type PlanOptions } from '../../plan/index.js';
import { isSimulated } from '../../operations/connect.js';
import type { DeviceDetails } from '../../operations/devices.js';
import { openFirmwareFile, openLoaderFolder, type LoadedFirmware } from '../../operations/files.js';
import { checkLoaderUsable, flashDevice, planFlash } from '../../operations/operations.js';
import { EXIT, addressArg, exitCodeFor, openSelected, printJson, progressPrinter, run, withDeviceOptions, type DeviceOptions } from '../common.js';
import { experimentalWarning, loaderChoice } from './loader.js';
import { CLI_REMEDIES } from '../remedies.js';
import { installedLoaderLines, planInstalledLoaders } from '../installed-loaders.js';

interface PlanCliOptions extends DeviceOptions {
  loader?: string;
  base?: number;
  verify?: boolean;
  skipBlank?: boolean;
  massErase?: boolean;
  leave?: boolean | number;
  romRoute?: boolean;
  allowRam?: boolean;
  force?: boolean;
  /** false with --no-skip. */
  skip?: boolean;
  full?: boolean;
  preserve?: boolean;
}

function planOptions(o: PlanCliOptions, defaultLeave: boolean): PlanOptions {
  const leave = o.leave === undefined ? (defaultLeave ? {} : false) : o.leave === false ? false : o.leave === true ? {} : { address: o.leave };
  return {
    verify: o.verify !== false,
    skipBlank: o.skipBlank !== false,
    massErase: o.massErase === true,
    leave,
    routeInternalViaLoader: o.romRoute !== true,
    allowRam: o.allowRam === true,
    force: o.force === true,
    skipUnchanged: o.skip !== false && o.full !== true,
    preserve: o.preserve === true,
  };
}

function withPlanOptions(cmd: Command): Command {
  return withDeviceOptions(cmd)
    .option('--loader <package>', 'loader package folder for memory the ROM cannot reach (assets/loaders/…)')
    .option('--base <address>', 'load address of a raw .bin file', addressArg)
    .option('--no-verify', 'do not verify what was written')
    .option('--no-skip-blank', 'also send blocks that are all 0xFF')
    .option('--mass-erase', 'erase every memory the image writes whole (internal flash, and external memory through the loader) instead of only the sectors it touches')
    .option('--rom-route', 'write internal flash through the ROM even when the loader serves it')
    .option('--allow-ram', 'write loadable data that lies in RAM to RAM (otherwise a plan error: usually a linker-script mistake)')
    .option('--force', 'go on when a .dfu file names another USB device or alt setting (reported as a warning)')
    .option('--no-skip', 'erase and write every sector the image touches, even those that already hold it or are blank')
    .option('--full', 'the same as --no-skip')
    .option('--preserve', 'keep the bytes of touched sectors that the image does not cover (read, merge, write) instead of erasing them');
}

const leaveOption = () =>
  new Option('--leave [address]', 'leave DFU and start the application (vector table at the flash base, or at ADDRESS)').argParser((v: string) => addressArg(v));

/** A device's memories offline, from the chip database (`plan FILE --chip stm32f746` with no board). */
function offlineDetails(chipName: string): DeviceDetails {
  const chip = chipByName(chipName);
  if (!chip) throw unknownChipError(chipName);
  return {
    info: { id: 'offline', vendorId: 0x0483, productId: 0xdf11, bcdDevice: chip.rom?.bcdDevice ?? 0, mode: 'rom' },
    descriptors: undefined as never,
    chip,
    memories: chipAltStrings(chip).map((s, alt) => ({ alt, layout: parseLayout(s) })),
    // AN3156 does not state wTransferSize; 2048 is what every captured ST ROM reports.
    transferSize: chip.rom?.transferSize ?? 2048,
  };
}

async function inputs(file: string, o: PlanCliOptions): Promise<{ fw: LoadedFirmware; loader?: LoaderPackage }> {
  const fw = await openFirmwareFile(file, o.base !== undefined ? { baseAddress: o.base } : {});
  const loader = o.loader ? await openLoaderFolder(o.loader) : undefined;
  return { fw, ...(loader ? { loader } : {}) };
}

/** The estimate as `plan` words it: with compared sectors, the worst case and what blank or unchanged sectors take. */
function estimateWords(p: FlashPlan): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (p.estimatedBlankMs === undefined || p.estimatedUnchangedMs === undefined) return `estimated ${s(p.estimatedMs)}`;
  return `estimated at most ${s(p.estimatedMs)} (${s(p.estimatedBlankMs)} if the compared sectors are blank, ${s(p.estimatedUnchangedMs)} if they already hold the image)`;
}

/** What the result says about the leave, in words (never "left" for a leave that was not confirmed). */
function leaveLine(result: FlashResult): string {
  if (result.leave === 'unconfirmed') return '  leave sent, start NOT confirmed: the board went off the bus before answering every request of the leave (unplugged?); check the application runs, or reset the board\n';
  return result.left ? '  left DFU to start the application\n' : '';
}

/** What the comparison found and did, in one line (empty when nothing was compared). */
function sectorLine(result: FlashResult): string {
  const s = result.sectors ?? [];
  if (s.length === 0) return '';
  const n = (f: string) => s.filter((x) => x.found === f).length;
  const kept = s.filter((x) => x.preserved).length;
  return (
    `  sectors: ${s.length} compared — ${n('equal')} unchanged (skipped, ${result.bytesUnchanged ?? 0} bytes not sent), ` +
    `${n('blank')} blank (written without erase), ${n('different')} different (erased and written); ${result.sectorsErased ?? 0} erased in all` +
    `${kept ? `; ${kept} with bytes outside the image kept` : ''}\n`
  );
}

function printResult(result: FlashResult, plan: FlashPlan, json: boolean | undefined, extra: { loader?: object; warnings?: string[] } = {}): number {
  if (json) {
    printJson({
      ok: result.ok,
      result,
      plan: {
        estimatedMs: plan.estimatedMs,
        ...(plan.estimatedBlankMs !== undefined ? { estimatedBlankMs: plan.estimatedBlankMs, estimatedUnchangedMs: plan.estimatedUnchangedMs } : {}),
        totalBytes: plan.totalBytes,
        sectorsCompared: plan.stages.reduce((n, s) => n + (s.compares?.length ?? 0), 0),
        stages: plan.stages.map((s) => s.name),
      },
      ...extra,
    });
  } else if (result.ok) {
    const ver = result.verified.length
      ? result.verified.map((v) => `${v.region} ${hex32(v.address)}+${v.length} (${v.method})`).join(', ')
      : 'nothing (verification off)';
    const ms = Object.values(result.stageMs).reduce((a, b) => a + (b ?? 0), 0);
    // The staged loader counts as written (it went to RAM); say how much of that was the image itself.
    const staged = result.stageMs.staging !== undefined ? (plan.stages.find((s) => s.staging)?.staging?.imageSize ?? 0) : 0;
    const split = staged ? ` (${result.bytesWritten - staged} of the image, ${staged} of the loader staged in RAM)` : '';
    process.stdout.write(`PASS  ${result.bytesWritten} bytes written${split}, ${result.bytesVerified} verified in ${(ms / 1000).toFixed(1)} s\n${sectorLine(result)}  verified: ${ver}\n${leaveLine(result)}`);
  }
  return result.ok ? EXIT.OK : exitCodeFor(result.error!);
}

export function registerFlashCommands(program: Command): void {
  withPlanOptions(program.command('plan <file>').description('show where every segment lands, what gets erased and written, and every problem — without touching the board'))
    .addOption(leaveOption())
    .option('--no-leave', 'stay in DFU after flashing')
    .action((file: string, o: PlanCliOptions) =>
      run(o.json, async () => {
        const { fw, loader } = await inputs(file, o);
        let details: DeviceDetails;
        let simulated = false;
        let close = async () => undefined as void;
        if (o.chip && !o.sim && !o.serial) details = offlineDetails(o.chip);
        else {
          const sel = await openSelected(o);
          details = sel.details;
          simulated = isSimulated(sel.conn);
          close = () => sel.conn.close();
        }
        try {
          const options = planOptions(o, true);
          const p = planFlash(details, fw, loader, options);
          const installed = loader ? undefined : await planInstalledLoaders(p, details, simulated, (pkg) => planFlash(details, fw, pkg, options));
          // Summarised beyond a size: a sparse HEX file plans into millions of rows.
          if (o.json) printJson({ ...planForJson(p), ...(installed ? { installedLoaders: installed } : {}) });
          else process.stdout.write(formatPlan(p, CLI_REMEDIES) + lines(installedLoaderLines(installed)) + '\n');
          return p.ok ? EXIT.OK : EXIT.BAD_INPUT;
        } finally {
          await close();
        }
      }),
    );

  withPlanOptions(program.command('flash <file>').description('program a firmware file (ELF, HEX, SREC, BIN with --base, .dfu), verify it and start it'))
    .addOption(leaveOption())
    .option('--no-leave', 'stay in DFU after flashing')
    .action((file: string, o: PlanCliOptions) => run(o.json, (signal) => flashCommand(file, o, true, signal)));

  withPlanOptions(program.command('write <file> <address>').description('write a raw binary at an address (compares the sectors it touches first and erases and writes only those that differ; stays in DFU)'))
    .addOption(leaveOption())
    .action((file: string, address: string, o: PlanCliOptions) => run(o.json, (signal) => flashCommand(file, { ...o, base: addressArg(address) }, false, signal)));
}

/** Lines appended to a block of text, each on its own line. */
const lines = (list: readonly string[]) => list.map((l) => `\n${l}`).join('');

async function flashCommand(file: string, o: PlanCliOptions, defaultLeave: boolean, signal: AbortSignal): Promise<number> {
  const { fw, loader } = await inputs(file, o);
  const { conn, device, details } = await openSelected(o);
  try {
    checkLoaderUsable(conn, details, loader);
    const options = planOptions(o, defaultLeave);
    const p = planFlash(details, fw, loader, options);
    if (!p.ok) {
      const installed = loader ? undefined : await planInstalledLoaders(p, details, isSimulated(conn), (pkg) => planFlash(details, fw, pkg, options));
      if (o.json) printJson({ ok: false, error: planInvalid(p.errors).toJSON(), plan: planForJson(p), ...(installed ? { installedLoaders: installed } : {}) });
      else process.stderr.write(formatPlan(p, CLI_REMEDIES) + lines(installedLoaderLines(installed)) + '\n\nerror: nothing was written: fix the problems above.\n');
      return EXIT.BAD_INPUT;
    }
    if (!o.json) {
      const chip = details.chip ? details.chip.name : 'unknown chip';
      process.stderr.write(`${fw.name} → ${details.info.id} (${chip}): ${p.totalBytes} bytes in ${p.stages.map((s) => s.name).join(' → ')}, ${estimateWords(p)}\n`);
      if (p.loaderRunning) process.stderr.write(`loader already running: no staging ("${p.loaderRunning}")\n`);
      for (const w of p.warnings) process.stderr.write(`warning: ${w}\n`);
    }
    // Which loader, why, and whether it is experimental: said before anything is staged.
    const choice = loaderChoice(p, loader, details.memories, `--loader ${o.loader ?? ''}`.trim());
    const staged = loader && (p.stages.some((s) => s.staging) || p.loaderRunning);
    const experimental = staged ? experimentalWarning(loader) : undefined;
    // The experimental warning itself is logged by the engine when it stages the loader (every command).
    if (!o.json) for (const line of choice) process.stderr.write(`${line}\n`);
    const result = await flashDevice(conn, device, details, fw, loader, p, { onEvent: progressPrinter(o.progress !== false && !o.json), signal });
    const extra = loader
      ? { loader: { name: loader.manifest.name, source: loader.source, experimental: loader.manifest.experimental, staged: !!staged, why: choice.join(' ') }, ...(experimental ? { warnings: [experimental] } : {}) }
      : {};
    if (o.json || result.ok) return printResult(result, p, o.json, extra);
    throw new BootBridgeError(result.error!.code, result.error!.message, result.error!.context);
  } finally {
    await conn.close();
  }
}
