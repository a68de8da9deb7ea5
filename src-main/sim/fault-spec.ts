// Simulated faults named on a command line (`--sim-fault SPEC`, repeatable) for demos, operator
// training and tests of the FAIL views; parsed once here for the CLI (cli/common.ts) and the GUI hosts
// (services/host-args.ts parseHostArgs). SPEC = KIND[:key=value,...][@BOARD]:
//   unplug-at-byte:byte=65536@2      board 2 leaves the bus when 64 KiB of data have been written
//   status:on=write,status=3@1       board 1's next write ends in dfuERROR with status 3 (errWRITE)
//   slow-erase:factor=5              every board's erases take 5× as long
//   loader-never-appears@2           board 2's loader does not enumerate after the jump
// BOARD is 1-based; without it the fault is added to every board. No Node API (core folder).

import { BootBridgeError } from '../../shared/errors.js';
import type { SimFault, SimFaultKind } from './faults.js';

export interface SimFaultSpec {
  fault: SimFault;
  /** 1-based board number; undefined: every board. */
  board?: number;
}

/** Each kind with its keys: number-valued, string-valued, boolean-valued. */
const KINDS: Record<SimFaultKind, { num?: string[]; str?: string[] }> = {
  'unplug-at-byte': { num: ['byte'] },
  'unplug-at-request': { num: ['request'] },
  stall: { str: ['request'] },
  status: { str: ['on'], num: ['status'] },
  'flip-bit': { num: ['offset', 'bit'] },
  hang: { str: ['request'] },
  'slow-erase': { num: ['factor'] },
  'loader-never-appears': {},
  'other-board-instead-of-loader': { str: ['serial', 'as'] },
  'leave-without-status': {},
};
const REQUIRED: Partial<Record<SimFaultKind, string[]>> = {
  'unplug-at-byte': ['byte'],
  'unplug-at-request': ['request'],
  stall: ['request'],
  status: ['on', 'status'],
  hang: ['request'],
  'slow-erase': ['factor'],
};

const SIM_FAULT_KINDS = Object.keys(KINDS) as SimFaultKind[];

export function parseSimFault(spec: string): SimFaultSpec {
  const bad = (why: string) => new BootBridgeError('BAD_ARGUMENT', `--sim-fault ${spec}: ${why}`, { field: 'sim-fault' });
  const m = /^([a-z-]+)(?::([^@]*))?(?:@(\d+))?$/.exec(spec.trim());
  if (!m) throw bad('expected KIND[:key=value,...][@BOARD]');
  const kind = m[1] as SimFaultKind;
  const keys = KINDS[kind];
  if (!keys) throw bad(`unknown kind; one of ${SIM_FAULT_KINDS.join(', ')}`);
  const fault: Record<string, unknown> = { kind };
  for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
    const [k, v] = pair.split('=', 2) as [string, string | undefined];
    if (v === undefined) throw bad(`"${pair}" is not key=value`);
    if (k === 'persistent') fault.persistent = v === 'true' || v === '1';
    else if (keys.num?.includes(k)) {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw bad(`${k} must be a number ≥ 0`);
      fault[k] = n;
    } else if (keys.str?.includes(k)) fault[k] = v;
    else throw bad(`${kind} takes ${[...(keys.num ?? []), ...(keys.str ?? []), 'persistent'].join(', ')}`);
  }
  for (const k of REQUIRED[kind] ?? []) if (fault[k] === undefined) throw bad(`${kind} needs ${k}=…`);
  const board = m[3] !== undefined ? Number(m[3]) : undefined;
  if (board !== undefined && board < 1) throw bad('boards are numbered from 1');
  return { fault: fault as unknown as SimFault, ...(board !== undefined ? { board } : {}) };
}

/** Adds the faults to the boards of a simulated bus (a board number beyond the bus is an error). */
export function applySimFaults(boards: readonly { faults: { add(f: SimFault): number } }[], specs: readonly SimFaultSpec[]): void {
  for (const s of specs) {
    if (s.board !== undefined && s.board > boards.length) {
      throw new BootBridgeError('BAD_ARGUMENT', `--sim-fault names board ${s.board}, but ${boards.length} simulated board(s) are on the bus`, { field: 'sim-fault' });
    }
    for (const b of s.board !== undefined ? [boards[s.board - 1]!] : boards) b.faults.add(s.fault);
  }
}
