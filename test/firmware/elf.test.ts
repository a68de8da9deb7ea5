import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors';
import { parseElf } from '../../src-main/firmware/elf';
import { fixture, FIXTURES, readBytes, run, tempDir } from './tools';

function thrown(f: () => unknown): BootBridgeError {
  try {
    f();
  } catch (e) {
    if (e instanceof BootBridgeError) return e;
    throw e;
  }
  throw new Error('expected a BootBridgeError');
}

describe('ELF reader against arm-none-eabi-objcopy', () => {
  const tmp = tempDir();
  const elfPath = join(FIXTURES, 'multi.elf');
  let flashBin: Uint8Array;
  let qspiBin: Uint8Array;

  beforeAll(() => {
    // objcopy -O binary fills from the lowest to the highest address, so each memory is converted on its own.
    run('arm-none-eabi-objcopy', ['-O', 'binary', '-j', '.isr_vector', '-j', '.text', '-j', '.rodata', '-j', '.data', elfPath, join(tmp.dir, 'flash.bin')]);
    run('arm-none-eabi-objcopy', ['-O', 'binary', '-j', 'ExtFlashSection', elfPath, join(tmp.dir, 'qspi.bin')]);
    flashBin = readBytes(join(tmp.dir, 'flash.bin'));
    qspiBin = readBytes(join(tmp.dir, 'qspi.bin'));
  });
  afterAll(() => tmp.cleanup());

  it('places each loadable segment at its load address with objcopy’s bytes', () => {
    const image = parseElf(fixture('multi.elf'));
    expect(image.segments.map((s) => s.address)).toEqual([0x08000000, 0x90000000]);
    expect(image.segments[0]!.data).toEqual(flashBin);
    expect(image.segments[1]!.data).toEqual(qspiBin);
    expect(image.size).toBe(flashBin.length + qspiBin.length);
  });

  it('stores .data in flash right after the code, not at its RAM run address', () => {
    const image = parseElf(fixture('multi.elf'));
    const data = image.sections!.find((s) => s.name === '.data')!;
    expect(data.runAddress).toBe(0x20010000);
    expect(data.loadAddress).toBe(0x080000b0);
    expect(data.programmed).toBe(true);
    expect(image.segments.some((s) => s.address >= 0x20000000 && s.address < 0x30000000)).toBe(false);
    // The first word of .data as the program initialises it (counter = 0x11223344).
    const flash = image.segments[0]!;
    const at = data.loadAddress - flash.address;
    expect(new DataView(flash.data.buffer, flash.data.byteOffset).getUint32(at, true)).toBe(0x11223344);
  });

  it('lists .bss as not programmed and writes none of it', () => {
    const image = parseElf(fixture('multi.elf'));
    const bss = image.sections!.find((s) => s.name === '.bss')!;
    expect(bss).toMatchObject({ runAddress: 0x20010014, size: 0x200, programmed: false });
  });

  it('names the sections each segment holds and keeps the entry point', () => {
    const image = parseElf(fixture('multi.elf'));
    expect(image.segments[0]!.sources).toEqual(['.isr_vector', '.text', '.rodata', '.data']);
    expect(image.segments[1]!.sources).toEqual(['ExtFlashSection']);
    expect(image.entry).toBe(0x08000041);
  });

  it('refuses an ELF64 file as unsupported', () => {
    const err = thrown(() => parseElf(fixture('host64.elf')));
    expect(err.code).toBe('FIRMWARE_UNSUPPORTED');
    expect(err.message).toContain('ELF64');
  });

  it('refuses a big-endian file as unsupported', () => {
    const err = thrown(() => parseElf(fixture('multi-be.elf')));
    expect(err.code).toBe('FIRMWARE_UNSUPPORTED');
    expect(err.message).toMatch(/big-endian/i);
  });

  it.each([
    ['inside the ELF header', 40],
    ['inside the segment data', 0x1010],
    ['before the section headers', 0x3600],
  ])('refuses a file truncated %s', (_where, length) => {
    const err = thrown(() => parseElf(fixture('multi.elf').slice(0, length)));
    expect(err.code).toBe('FIRMWARE_INVALID');
    expect(err.message).toMatch(/truncated/);
    expect(typeof err.context.offset).toBe('number');
  });

  it('reports sections at overlapping addresses naming both', () => {
    const err = thrown(() => parseElf(fixture('overlap.elf')));
    expect(err.code).toBe('FIRMWARE_OVERLAP');
    expect(err.message).toContain('.app');
    expect(err.message).toContain('.calibration');
    expect(err.context.address).toBe(0x08000020);
  });

  it('reads a file stripped of section headers by its program headers alone', () => {
    const stripped = fixture('multi.elf');
    // e_shoff = 0, e_shnum = 0: what `strip --strip-section-headers` leaves.
    const view = new DataView(stripped.buffer);
    view.setUint32(32, 0, true);
    view.setUint16(48, 0, true);
    const image = parseElf(stripped);
    expect(image.segments.map((s) => [s.address, s.data.length])).toEqual([
      [0x08000000, flashBin.length],
      [0x90000000, qspiBin.length],
    ]);
    expect(image.segments[0]!.data).toEqual(flashBin);
  });
});
