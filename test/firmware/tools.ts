// Runs the reference tools the firmware tests compare against. A missing tool fails the test with the
// Debian package to install, rather than skipping it: CI installs them.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGES: Record<string, string> = {
  'arm-none-eabi-objcopy': 'binutils-arm-none-eabi',
  'dfuse-pack': 'dfu-util',
  'dfu-suffix': 'dfu-util',
};

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'firmware');

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

/** Runs `tool args…`; throws naming the Debian package when the tool is not installed. */
export function run(tool: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(tool, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${tool} is not installed: apt-get install ${PACKAGES[tool] ?? tool}`);
    }
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/** A temporary folder, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bootbridge-fw-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
