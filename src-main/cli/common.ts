// What every CLI command shares: device-selection options, the progress bar, and (from run.ts, which
// convert loads alone) number parsing, output (human or --json) and exit codes scripts can tell apart.

import { Command, InvalidArgumentError, Option } from 'commander';
import { BootBridgeError } from '../../shared/errors.js';
import { formatSize as kb } from '../../shared/format.js';
import type { FlashEvent } from '../../shared/progress.js';
import { connect, type Connection } from '../operations/connect.js';
import { inspectDevice, selectDevice, type DeviceDetails } from '../operations/devices.js';
import { SIM_MODELS } from '../sim/index.js';
import { applySimFaults, parseSimFault, type SimFaultSpec } from '../sim/fault-spec.js';
import { parseNumber } from './run.js';

export { EXIT, addressArg, exitCodeFor, parseNumber, printJson, reportError, run } from './run.js';

export interface DeviceOptions {
  serial?: string;
  sim?: string;
  simBoards?: number;
  simState?: string;
  simSpeed?: number;
  /** --sim-fault SPEC (repeatable), parsed by sim/fault-spec.ts. */
  simFault?: SimFaultSpec[];
  chip?: string;
  json?: boolean;
  progress?: boolean;
}

/** Adds --serial, --sim, --sim-boards, --sim-state, --sim-speed, --chip, --json, --no-progress. */
export function withDeviceOptions(cmd: Command): Command {
  return cmd
    .option('--serial <serial>', 'the board to use, by serial number (see `bootbridge list`)')
    .addOption(new Option('--sim <model>', 'use a simulated board instead of USB hardware').choices([...SIM_MODELS]).env('BOOTBRIDGE_SIM'))
    .option('--sim-boards <n>', 'number of simulated boards on the bus', (v) => parseNumber(v, 'count'))
    .addOption(new Option('--sim-state <dir>', 'keep the simulated boards\' memories in this folder between runs').env('BOOTBRIDGE_SIM_STATE'))
    .option('--sim-speed <factor>', 'run simulated time this many times faster (demos)', (v) => {
      const n = Number(v);
      if (!(n > 0 && n <= 1000)) throw new InvalidArgumentError('must be a number between 0 and 1000');
      return n;
    })
    .option('--sim-fault <spec>', 'inject a simulated fault, KIND[:key=value,…][@BOARD] (repeatable; e.g. unplug-at-byte:byte=65536@2)', (v: string, prev: SimFaultSpec[] = []) => {
      try {
        return [...prev, parseSimFault(v)];
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    })
    .option('--chip <chip>', 'the chip (stm32f746, 0x449, …) when it cannot be identified from the device')
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-progress', 'no progress bar');
}

export async function openConnection(o: DeviceOptions): Promise<Connection> {
  const conn = await connect(o.sim ? { sim: { model: o.sim, ...(o.simBoards ? { boards: o.simBoards } : {}), ...(o.simState ? { stateDir: o.simState } : {}), ...(o.simSpeed ? { speed: o.simSpeed } : {}) } } : {});
  if (o.simFault?.length) {
    if (!conn.bus) throw new BootBridgeError('BAD_ARGUMENT', '--sim-fault needs simulated boards (--sim MODEL)', { field: 'sim-fault' });
    applySimFaults(conn.bus.boards, o.simFault);
  }
  return conn;
}

export interface Selected {
  conn: Connection;
  device: USBDevice;
  details: DeviceDetails;
}

export async function openSelected(o: DeviceOptions): Promise<Selected> {
  const conn = await openConnection(o);
  const device = await selectDevice(conn.backend, o.serial ? { serial: o.serial } : {});
  const details = await inspectDevice(conn.backend, device, o.chip ? { chip: o.chip } : {});
  return { conn, device, details };
}

// ---- progress ---------------------------------------------------------------------------------

const eta = (ms: number | undefined) => (ms === undefined ? '--' : ms < 60_000 ? `${Math.ceil(ms / 1000)}s` : `${Math.floor(ms / 60_000)}m${Math.ceil((ms % 60_000) / 1000)}s`);

/**
 * Renders FlashEvents on stderr: a redrawn bar on a terminal, one line per phase otherwise (logs of
 * CI and production scripts stay readable). Log events are printed as lines, errors excepted: the command
 * that failed reports its error itself, once, with its context (run.ts reportError).
 */
export function progressPrinter(enabled: boolean, out: NodeJS.WriteStream = process.stderr): (e: FlashEvent) => void {
  const tty = out.isTTY === true;
  let current = '';
  let drawn = false;
  const clear = () => {
    if (drawn) out.write('\r\x1b[2K');
    drawn = false;
  };
  return (e) => {
    if (e.kind === 'log') {
      if (e.level === 'debug' || e.level === 'error') return;
      clear();
      out.write(`${e.level === 'info' ? '' : e.level + ': '}${e.message}\n`);
      return;
    }
    if (!enabled || e.kind !== 'progress') return;
    const key = `${e.stage}/${e.phase}/${e.region ?? ''}`;
    const label = `${e.stage} ${e.phase}${e.region ? ` ${e.region}` : ''}`;
    const pct = e.bytesTotal ? Math.floor((e.bytesDone / e.bytesTotal) * 100) : 100;
    if (tty) {
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
      out.write(`\r\x1b[2K${label.padEnd(28)} ${bar} ${String(pct).padStart(3)}% ${kb(e.bytesDone)}/${kb(e.bytesTotal)} ${e.rate ? kb(e.rate) + '/s' : ''} ETA ${eta(e.etaMs)}`);
      drawn = true;
      if (e.bytesDone >= e.bytesTotal) {
        out.write('\n');
        drawn = false;
      }
    } else {
      if (key !== current) {
        current = key;
        out.write(`${label}: ${kb(e.bytesTotal)}\n`);
      }
      if (e.bytesDone >= e.bytesTotal && e.bytesTotal > 0) out.write(`${label}: done (${e.rate ? kb(e.rate) + '/s' : '-'})\n`);
    }
  };
}
