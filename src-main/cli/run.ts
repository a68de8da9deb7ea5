// What every command's body runs inside, with nothing of USB or the simulator: exit codes, number
// arguments, output (human or --json) and Ctrl-C. `bootbridge convert` loads only this of the CLI.

import { InvalidArgumentError } from 'commander';
import { CLI_REMEDIES } from './remedies.js';
import { BootBridgeError, errorTitle, formatError, toErrorData, type ErrorData } from '../../shared/errors.js';

/** Exit codes (README "Exit codes"). */
export const EXIT = {
  OK: 0,
  /** The operation failed on the device (DFU error, verification, staging, transfer). */
  FAILED: 1,
  /** Bad input found before touching a device: arguments, files, manifests, plan errors. */
  BAD_INPUT: 2,
  /** No device, or several and no --serial. */
  NO_DEVICE: 3,
  /** Interrupted (Ctrl-C). */
  CANCELLED: 130,
} as const;

const BAD_INPUT_CODES = new Set<string>([
  'BAD_ARGUMENT', 'FILE_ERROR', 'FIRMWARE_INVALID', 'FIRMWARE_UNSUPPORTED', 'FIRMWARE_OVERLAP', 'CHECKSUM_MISMATCH',
  'CHIP_UNKNOWN', 'PLAN_INVALID', 'LOADER_INVALID', 'LOADER_UNSUPPORTED', 'RECIPE_INVALID', 'HASH_MISMATCH', 'LAYOUT_INVALID', 'ADDRESS_UNREACHABLE',
]);

export function exitCodeFor(e: ErrorData): number {
  if (e.code === 'CANCELLED') return EXIT.CANCELLED;
  if (e.code === 'DEVICE_NOT_FOUND' || e.code === 'DEVICE_AMBIGUOUS' || e.code === 'USB_UNAVAILABLE' || e.code === 'EMULATOR_UNAVAILABLE') return EXIT.NO_DEVICE;
  if (BAD_INPUT_CODES.has(e.code)) return EXIT.BAD_INPUT;
  return EXIT.FAILED;
}

export function parseNumber(value: string, what = 'number'): number {
  const v = value.trim().replace(/_/g, '');
  let n: number;
  const m = /^(\d+)\s*([KkMm])$/.exec(v);
  if (m) n = parseInt(m[1]!, 10) * (m[2]!.toLowerCase() === 'k' ? 1024 : 1024 * 1024);
  else if (/^0[xX][0-9a-fA-F]+$/.test(v)) n = parseInt(v, 16);
  else if (/^\d+$/.test(v)) n = parseInt(v, 10);
  else throw new InvalidArgumentError(`"${value}" is not a valid ${what} (use decimal, 0x-hex, or a K/M suffix)`);
  if (n > 0xffffffff) throw new InvalidArgumentError(`${value} does not fit in 32 bits`);
  return n;
}

export const addressArg = (v: string) => parseNumber(v, 'address');

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v), 2) + '\n');
}

/**
 * Prints an error for a person (stderr) or as JSON (stdout) and returns the exit code. `more`: what a
 * command knows beside the error (fields of the JSON document; lines a person reads after it).
 */
export function reportError(e: unknown, json: boolean | undefined, more: { json?: Record<string, unknown>; lines?: readonly string[] } = {}): number {
  // Positional arguments are parsed inside command bodies with the same parsers as options: a bad
  // value there is bad input (exit 2), not an internal error.
  const data = toErrorData(e instanceof InvalidArgumentError ? new BootBridgeError('BAD_ARGUMENT', e.message, {}) : e);
  if (json) printJson({ ok: false, error: data, ...more.json });
  else process.stderr.write(`error: ${errorTitle(data.code)}: ${formatError(data, CLI_REMEDIES)}\n${(more.lines ?? []).map((l) => `${l}\n`).join('')}`);
  return exitCodeFor(data);
}

/** Runs a command body with Ctrl-C → cancel, error reporting and the exit code. */
export async function run(json: boolean | undefined, body: (signal: AbortSignal) => Promise<number | void>): Promise<void> {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(EXIT.CANCELLED);
    process.stderr.write('\nCancelling (the board is left in a state the next run recovers from; Ctrl-C again to quit at once)…\n');
    ac.abort(new BootBridgeError('CANCELLED', 'Cancelled by the user'));
  };
  process.on('SIGINT', onSigint);
  try {
    const code = await body(ac.signal);
    process.exitCode = code ?? EXIT.OK;
  } catch (e) {
    process.exitCode = reportError(e, json);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
