import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFirmware } from '../../src-main/firmware';
import { FIXTURES, readBytes, run, tempDir } from './tools';

const DEMO = join(FIXTURES, '..', '..', '..', 'assets', 'examples', 'demo-f746');

/** Copies a folder with a build.sh to a temp dir, runs it, and returns the rebuilt files. */
function rebuild(folder: string, files: string[]): Record<string, Uint8Array> {
  const tmp = tempDir();
  try {
    for (const f of readdirSync(folder)) cpSync(join(folder, f), join(tmp.dir, f));
    run('sh', [join(tmp.dir, 'build.sh')]);
    return Object.fromEntries(files.map((f) => [f, readBytes(join(tmp.dir, f))]));
  } finally {
    tmp.cleanup();
  }
}

describe('demo application for the STM32F746G-DISCO', () => {
  const bytes = readBytes(join(DEMO, 'demo-f746.elf'));
  const image = parseFirmware('demo-f746.elf', bytes);

  it('starts with a vector table the ROM bootloader can jump to: SP in SRAM, Thumb PC in flash', () => {
    const flash = image.segments.find((s) => s.address === 0x08000000)!;
    const view = new DataView(flash.data.buffer, flash.data.byteOffset, flash.data.byteLength);
    const sp = view.getUint32(0, true);
    const pc = view.getUint32(4, true);
    expect(sp).toBeGreaterThanOrEqual(0x20000000);
    expect(sp).toBeLessThanOrEqual(0x2004ffff);
    expect(sp % 8).toBe(0);
    expect(pc & 1).toBe(1);
    expect(pc).toBeGreaterThanOrEqual(0x08000000);
    expect(pc).toBeLessThan(0x08000000 + flash.data.length);
    expect(image.entry).toBe(pc);
  });

  it('holds internal-flash code with .data stored after it, and a few hundred KB in QSPI flash', () => {
    expect(image.segments.map((s) => s.address)).toEqual([0x08000000, 0x90000000]);
    expect(image.segments[0]!.sources).toContain('.data');
    const qspi = image.segments[1]!;
    expect(qspi.sources).toEqual(['ExtFlashSection']);
    expect(qspi.data.length).toBe(480 * 272 * 2);
    expect(image.sections!.find((s) => s.name === '.bss')?.programmed).toBe(false);
    expect(bytes.length).toBeLessThan(1 << 20);
  });

  it('is what its build.sh makes from the committed sources', () => {
    expect(rebuild(DEMO, ['demo-f746.elf'])['demo-f746.elf']).toEqual(bytes);
  }, 60_000); // the assembler computes 130,560 pixels: seconds on a loaded machine
});

describe('test fixtures', () => {
  it('are what build.sh makes from the committed sources', () => {
    const names = ['multi.elf', 'multi-be.elf', 'overlap.elf', 'host64.elf'];
    const rebuilt = rebuild(FIXTURES, names);
    for (const n of names) expect(rebuilt[n], n).toEqual(readBytes(join(FIXTURES, n)));
  });
});
