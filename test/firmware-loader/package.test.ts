// The real loader package (assets/loaders/stm32f746g-disco) is what `npm run build:loaders` makes from
// firmware/loader: rebuilt from source it must be the same bytes, and it must fit where the ROM puts it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');
const committed = join(root, 'assets', 'loaders', 'stm32f746g-disco');
const FILES = ['loader.bin', 'loader.json', 'README.md'];
/** AN2606: the F74x/F75x ROM bootloader uses RAM below 0x20004000; SRAM1 ends at 0x2004C000 (RM0385 §2.2.2). */
const ROM_RAM_END = 0x20004000;
const SRAM1_END = 0x2004c000;
/** What the linker script declares for image + .bss + stack (firmware/loader/loader.ld RAM_SIZE). */
const DECLARED_RAM = 0x10000;

interface BuildInfo {
  loadAddress: number;
  stackTop: number;
  imageBytes: number;
  bssBytes: number;
  stackBytes: number;
  ramBytes: number;
  ramLimit: number;
  nonceOffset: string;
}

let out: string;
let info: BuildInfo;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'bb-loader-test-'));
  // Debian's gcc-arm-none-eabi + libnewlib-arm-none-eabi (installed by .ci/run)
  execFileSync('node', [join(root, 'scripts', 'build-loaders.mjs'), '--out', out, '--report', join(out, 'report.json')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Record<string, BuildInfo>;
  const entry = report['stm32f746g-disco'];
  if (!entry) throw new Error('the build reported no stm32f746g-disco package');
  info = entry;
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('real STM32F746G-DISCO loader package', () => {
  it.each(FILES)('%s rebuilds byte for byte from firmware/loader', (file) => {
    const rebuilt = readFileSync(join(out, 'stm32f746g-disco', file));
    const shipped = readFileSync(join(committed, file));
    expect(rebuilt.equals(shipped), `${file} differs from the committed package: run npm run build:loaders and commit`).toBe(true);
  });

  it('declares the image it ships (sha256, load address, nonce record)', () => {
    const manifest = JSON.parse(readFileSync(join(committed, 'loader.json'), 'utf8'));
    const bin = readFileSync(join(committed, 'loader.bin'));
    expect(manifest.image.sha256).toBe(createHash('sha256').update(bin).digest('hex'));
    expect(Number(manifest.image.loadAddress)).toBe(0x20010000);
    expect(manifest.transferSize).toBeLessThanOrEqual(4096);
    const at = Number(manifest.nonce.offset);
    expect(at % 4).toBe(0);
    expect(bin.subarray(at, at + 16).equals(Buffer.concat([Buffer.from('BBNONCE1'), Buffer.alloc(8)]))).toBe(true);
    expect(manifest.experimental).toBe(true);
  });

  it('fits SRAM1 above the ROM, with its .bss and stack inside the declared RAM', () => {
    const bin = readFileSync(join(committed, 'loader.bin'));
    expect(info.loadAddress).toBeGreaterThanOrEqual(ROM_RAM_END);
    expect(info.imageBytes).toBe(bin.length);
    expect(info.ramBytes).toBe(info.stackTop - info.loadAddress);
    expect(info.ramBytes).toBeLessThanOrEqual(DECLARED_RAM);
    expect(info.loadAddress + DECLARED_RAM).toBeLessThanOrEqual(SRAM1_END);
    // staged through the ROM at ≈ 19 KB/s (timing.md): keep it small
    expect(bin.length).toBeLessThanOrEqual(16 * 1024);
    // vector table: initial SP = the stack top inside the declared RAM, reset vector a Thumb address in the image
    const sp = bin.readUInt32LE(0);
    const reset = bin.readUInt32LE(4);
    expect(sp).toBe(info.stackTop);
    expect(reset & 1).toBe(1);
    expect(reset - 1).toBeGreaterThanOrEqual(info.loadAddress);
    expect(reset - 1).toBeLessThan(info.loadAddress + bin.length);
  });
});
