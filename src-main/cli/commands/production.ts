// `bootbridge production RECIPE`: a production station without a screen, for scripts and line PCs.
// One stdout line per unit, a summary at the end, every unit in the fsynced unit log; exit 0 when
// every unit passed, 1 when any failed, 2 for a bad or tampered recipe, 3 when no board was found.
// `bootbridge production export LOG -o units.csv` turns a unit log into CSV.

import { hostname } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { BootBridgeError } from '../../../shared/errors.js';
import { loadRecipe } from '../../production/recipe.js';
import { ProductionStation } from '../../production/station.js';
import { UnitLog, readUnitLog, unitLogName, unitsToCsv, type UnitRecord } from '../../production/unit-log.js';
import { writeFileAtomic } from '../../operations/files.js';
import { EXIT, openConnection, parseNumber, run, withDeviceOptions, type DeviceOptions } from '../common.js';

interface ProductionCliOptions extends DeviceOptions {
  watch?: boolean;
  gang?: boolean;
  station?: string;
  log?: string;
  count?: number;
}

function unitLine(r: UnitRecord): string {
  const secs = `${(r.durationMs / 1000).toFixed(1)} s`;
  const err = r.error ? `${r.error.code}  ${r.error.message}` : '-';
  return `${r.result}  ${r.serial}  ${secs}  ${r.time}  ${err}\n`;
}

const pct = (y: number | null) => (y === null ? '-' : `${(y * 100).toFixed(1)}%`);

export function registerProductionCommands(program: Command): void {
  const cmd = withDeviceOptions(
    program
      .command('production')
      .argument('<recipe>', 'production recipe (YAML; see docs/production.md)')
      .description('program every attached board a recipe is for, record every unit (PASS/FAIL) in the unit log'),
  )
    .option('--watch', 'keep running and program boards as they are connected (until Ctrl-C or --count)')
    .option('--gang', 'program every attached board at once (default: one at a time, in a queue)')
    .option('--station <name>', "station name in the unit log (default: the recipe's, else the host name)")
    .option('--log <file>', 'unit log (JSON Lines, appended; default bootbridge-units-STATION.jsonl)')
    .option('--count <n>', 'stop after N units', (v) => {
      const n = parseNumber(v, 'count');
      if (n < 1) throw new InvalidArgumentError('must be at least 1');
      return n;
    })
    .action((recipe: string, o: ProductionCliOptions) => run(o.json, (signal) => productionCommand(recipe, o, signal)));

  cmd
    .command('export <log>')
    .description('write a unit log as CSV (a torn last line from a crash is skipped)')
    .option('-o, --output <file>', 'CSV file to write (default: stdout)')
    .action((log: string, o: { output?: string }) =>
      run(false, async () => {
        const { records, skipped } = readUnitLog(log);
        const csv = unitsToCsv(records);
        if (o.output) writeFileAtomic(o.output, csv);
        else process.stdout.write(csv);
        process.stderr.write(`${records.length} unit(s) exported${o.output ? ` to ${o.output}` : ''}${skipped.length ? `; skipped ${skipped.map((s) => `line ${s.line} (${s.reason})`).join(', ')}` : ''}\n`);
        return EXIT.OK;
      }),
    );
}

async function productionCommand(file: string, o: ProductionCliOptions, signal: AbortSignal): Promise<number> {
  if (o.serial || o.chip) {
    // The recipe decides which boards and chips; nothing else can be overridden from the command line.
    throw new BootBridgeError('BAD_ARGUMENT', `${o.serial ? '--serial' : '--chip'} cannot be used in production: the recipe decides (chips, serialPattern)`, { field: o.serial ? 'serial' : 'chip' });
  }
  const loaded = await loadRecipe(file);
  const station = o.station ?? loaded.recipe.station ?? hostname();
  const logPath = o.log ?? unitLogName(station);
  const conn = await openConnection(o);
  const st = new ProductionStation({
    conn,
    recipe: loaded,
    sink: new UnitLog(logPath),
    station,
    concurrency: o.gang ? Infinity : 1,
    ...(o.count ? { maxUnits: o.count } : {}),
  });
  const json = o.json === true;
  const say = (s: string) => void process.stderr.write(s);
  const out = (s: string) => void process.stdout.write(s);
  let finished = 0;
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDone = resolve));

  st.on('unit', (r) => {
    out(json ? JSON.stringify({ type: 'unit', ...r }) + '\n' : unitLine(r));
    if (o.count && ++finished >= o.count) allDone();
  });
  const ignored: string[] = [];
  st.on('ignored', (i) => {
    ignored.push(`${i.id}: ${i.reason}`);
    say(`ignored ${i.id}: ${i.reason}\n`);
  });
  st.on('error', (e) => say(`error: ${e.message}\n`));
  if (o.progress !== false && !json) {
    st.on('flash', ({ lane, event }) => {
      if (event.kind === 'stage' && event.status === 'start') say(`${lane}  ${event.stage}\n`);
      else if (event.kind === 'log' && (event.level === 'warn' || event.level === 'error')) say(`${lane}  ${event.level}: ${event.message}\n`);
    });
  }
  const onAbort = () => {
    say(`\nStopping: no new boards; waiting for ${st.busy} unit(s) in flight (Ctrl-C again to quit at once)…\n`);
    st.stopAccepting();
    allDone();
  };
  signal.addEventListener('abort', onAbort, { once: true });

  say(`${loaded.recipe.name} ${loaded.recipe.version} (recipe ${loaded.sha256.slice(0, 12)}) on station "${station}", ${o.gang ? 'gang' : 'one board at a time'}; unit log ${logPath}\n`);
  try {
    if (o.watch) {
      await st.startWatch();
      say(`Watching for boards${o.count ? ` (${o.count} unit(s))` : ''}; Ctrl-C to stop.\n`);
      await done;
      st.stopWatch();
      await st.idle();
    } else {
      const records = await st.flashAll();
      if (records.length === 0 && !signal.aborted) {
        const why = ignored.length ? ` Attached but not for this recipe: ${ignored.join('; ')}.` : '';
        throw new BootBridgeError('DEVICE_NOT_FOUND', `No board this recipe is for is attached (ROM bootloader 0483:df11 of ${loaded.recipe.chips.map((c) => '0x' + c.toString(16)).join(', ')}).${why}`, {});
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await st.close();
    await conn.close();
  }
  const c = st.counters();
  if (json) out(JSON.stringify({ type: 'summary', ok: c.failed === 0 && c.passed > 0, passed: c.passed, failed: c.failed, yield: c.yield, station, log: logPath }) + '\n');
  else out(`summary: ${c.passed} passed, ${c.failed} failed, yield ${pct(c.yield)}\n`);
  return c.failed > 0 ? EXIT.FAILED : EXIT.OK;
}
