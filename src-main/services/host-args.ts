// The host's own command line (`bootbridge-web`, the Electron shell): which boards to serve (real USB
// or simulated, and how), where assets and unit logs live, which simulated faults to inject.
//   const args = parseHostArgs(process.argv.slice(2)); const backend = await createAppBackend(args);

import { BootBridgeError } from '../../shared/errors.js';
import { parseSimFault, type SimFaultSpec } from '../sim/fault-spec.js';

export interface HostArgs {
  sim?: string;
  /** Use simulated boards of this model when no DFU hardware is attached at start. */
  simIfNoHardware?: string;
  simBoards?: number;
  simState?: string;
  simSpeed?: number;
  port?: number;
  /** Folder holding loaders/ (and examples/, recipes/). */
  assetsDir?: string;
  /** Where production unit logs go (bootbridge-units-STATION.jsonl). Default: the working folder, as the CLI. */
  unitLogDir?: string;
  /** Simulated faults (--sim-fault, repeatable): demos, operator training, tests of the FAIL views. */
  simFaults?: SimFaultSpec[];
}

/** Parses --sim MODEL, --sim-if-no-hardware MODEL, --sim-boards N, --sim-state DIR, --sim-speed X, --sim-fault SPEC, --port N, --assets DIR, --unit-log-dir DIR. */
export function parseHostArgs(argv: readonly string[]): HostArgs {
  const out: HostArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new BootBridgeError('BAD_ARGUMENT', `${flag} needs a value`, { field: flag });
      return v;
    };
    const int = (min: number, max: number) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) throw new BootBridgeError('BAD_ARGUMENT', `${flag} must be an integer from ${min} to ${max}`, { field: flag });
      return n;
    };
    if (flag === '--sim') out.sim = value();
    else if (flag === '--sim-if-no-hardware') out.simIfNoHardware = value();
    else if (flag === '--sim-boards') out.simBoards = int(1, 64);
    else if (flag === '--sim-state') out.simState = value();
    else if (flag === '--sim-speed') out.simSpeed = Number(value());
    else if (flag === '--port') out.port = int(0, 65535);
    else if (flag === '--assets') out.assetsDir = value();
    else if (flag === '--unit-log-dir') out.unitLogDir = value();
    else if (flag === '--sim-fault') (out.simFaults ??= []).push(parseSimFault(value()));
  }
  return out;
}
