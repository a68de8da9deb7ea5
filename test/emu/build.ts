// Builds the emulator tests' small Thumb images at test time with Debian's arm-none-eabi-gcc.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const cache = new Map<string, Uint8Array>();

/** The test device (fixtures/usbdev.c) linked at 0x20010000, with `defines` (e.g. FAULT_AT_ENTRY). */
export function testImage(...defines: string[]): Uint8Array {
  const key = defines.join(',');
  const hit = cache.get(key);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'bbemu-'));
  const elf = join(dir, 'usbdev.elf');
  const bin = join(dir, 'usbdev.bin');
  execFileSync('arm-none-eabi-gcc', ['-mcpu=cortex-m7', '-mthumb', '-Os', '-nostdlib', '-ffreestanding', '-Wall', '-Werror', ...defines.map((d) => `-D${d}`), '-T', join(here, 'fixtures/usbdev.ld'), join(here, 'fixtures/usbdev.c'), '-o', elf]);
  execFileSync('arm-none-eabi-objcopy', ['-O', 'binary', elf, bin]);
  const out = new Uint8Array(readFileSync(bin));
  cache.set(key, out);
  return out;
}

export const LOAD_ADDRESS = 0x20010000;
