// Runs a command on the virtual USB bus (vusb.py) from a test:
//   const r = await runOnVirtualBus({ boards: ['stm32f746:TEST0001'], command: 'dfu-util', args: ['-l'] });
// Boards are the project's simulator; `transfers` lists every control transfer they saw. A machine
// without what the harness needs makes this throw, with the harness's words for what is missing.

import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BusEvent, TransferRecord } from './sim-server.js';

export type { BusEvent, TransferRecord } from './sim-server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
/** Bundles live under out/ (ignored by git) so that `require('usb')` finds the repository's node_modules. */
const BUNDLES = path.join(REPO, 'out', 'vusb');
export const PYTHON = '/usr/bin/python3';
export const EXIT_MISSING = 96;

export interface RunOptions {
  /** "MODEL" or "MODEL:SERIAL", e.g. "stm32f746:TEST0001". */
  boards: string[];
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Folder for the boards' non-volatile memories (same layout as the CLI's --sim-state). */
  stateDir?: string;
  /** Wall-clock limit for the command; default 30 s. */
  timeoutMs?: number;
  /** Trace opens, ioctls and transfers to stderr. */
  log?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Every control transfer the simulated boards saw, in order. */
  transfers: TransferRecord[];
  /** Transfers made by the command (not the enumeration reads). */
  hostTransfers: TransferRecord[];
  /** Devices added and removed while the bus ran (re-enumerations), in order. */
  events: BusEvent[];
}

const bundled = new Map<string, Promise<string>>();

/** Bundles a TypeScript entry for Node (cached per process); `usb` stays external. */
export function bundleScript(entry: string): Promise<string> {
  const abs = path.resolve(entry);
  let p = bundled.get(abs);
  if (!p) {
    // Named by content: workers share the file, a changed source gets a new one, nothing piles up.
    p = build({ entryPoints: [abs], write: false, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['usb'], logLevel: 'warning' }).then((r) => {
      const code = r.outputFiles[0]!.contents;
      const name = `${path.basename(abs).replace(/\.[cm]?ts$/, '')}-${createHash('sha256').update(code).digest('hex').slice(0, 12)}.cjs`;
      const outfile = path.join(BUNDLES, name);
      if (!fs.existsSync(outfile)) {
        fs.mkdirSync(BUNDLES, { recursive: true });
        const tmp = `${outfile}.${randomUUID()}`;
        fs.writeFileSync(tmp, code);
        fs.renameSync(tmp, outfile);
      }
      return outfile;
    });
    bundled.set(abs, p);
  }
  return p;
}

export async function runOnVirtualBus(opts: RunOptions): Promise<RunResult> {
  const server = await bundleScript(path.join(HERE, 'sim-server.ts'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vusb-run-'));
  const transfersFile = path.join(work, 'transfers.json');
  const timeoutS = (opts.timeoutMs ?? 30_000) / 1000;
  const argv = [path.join(HERE, 'vusb.py'), '--server', server, '--transfers', transfersFile, '--timeout', String(timeoutS)];
  for (const b of opts.boards) argv.push('--board', b);
  if (opts.stateDir) argv.push('--state', opts.stateDir);
  if (opts.log) argv.push('--log');
  argv.push('--', opts.command, ...(opts.args ?? []));
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(PYTHON, argv, { cwd: opts.cwd ?? REPO, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', (e) => reject(new Error(`cannot start ${PYTHON} (the virtual USB harness needs the system Python): ${e.message}`)));
      child.on('close', (c, sig) => resolve({ code: c ?? 128 + (sig ? os.constants.signals[sig] : 0), stdout: out, stderr: err }));
    });
    if (code === EXIT_MISSING) {
      throw new Error(`the virtual USB harness cannot run on this machine:\n${stderr.trim()}`);
    }
    const log = fs.existsSync(transfersFile)
      ? (JSON.parse(fs.readFileSync(transfersFile, 'utf8')) as { transfers: TransferRecord[]; events: BusEvent[] })
      : { transfers: [], events: [] };
    return { code, stdout, stderr, ...log, hostTransfers: log.transfers.filter((t) => t.by === 'host') };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
