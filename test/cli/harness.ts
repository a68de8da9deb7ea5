// The built `bootbridge` command as the CLI tests run it: the paths they share, one child process per
// run (exit code, stdout, stderr as a script sees them), the simulated-board arguments, and the build.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'bootbridge.cjs');
export const DEMO = join(ROOT, 'assets', 'examples', 'demo-f746', 'demo-f746.elf');
export const LOADER = join(ROOT, 'assets', 'loaders', 'sim-stm32f746');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bootbridge args…`; `env` replaces the environment (to leave out variables that pick a board). */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; maxBuffer?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const opts = { cwd: ROOT, timeout: 30_000, maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024, ...(options.env ? { env: options.env } : {}) };
    execFile(process.execPath, [BIN, ...args], opts, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A simulated F746 with its memories in `state`, fast enough for tests. */
export const simArgs = (state: string, ...more: string[]) => ['--sim', 'stm32f746', '--sim-state', state, '--sim-speed', '50', '--no-progress', ...more];

/** Builds the CLI bundles (bin/bootbridge.cjs runs them from out/). */
export function buildCli(): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT }, (err, _o, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve())),
  );
}
