// ST external loaders (.stldr): BootBridge reads their StorageInfo to show the memory geometry, and
// refuses to use one as a DFU loader with the reason. The fixture is a minimal ELF built from
// fixtures/n25q128a-stldr.s by fixtures/build-stldr.sh (GNU binutils for ARM).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatError, toErrorData } from '../../shared/errors.js';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { formatStldr, readStldr } from '../../src-main/loader/stldr.js';
import { openLoaderFolder, readBytes } from '../../src-main/operations/files.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'n25q128a.stldr');

describe('reading an .stldr', () => {
  it('decodes the N25Q128A StorageInfo: name, NOR type, start, size, page, erase value, sectors', () => {
    const info = readStldr(readBytes(FIXTURE));
    expect(info).toEqual({
      deviceName: 'N25Q128A_STM32F746G-DISCO',
      deviceType: 3,
      deviceTypeName: 'NOR flash',
      startAddress: 0x90000000,
      size: 16 * 1024 * 1024,
      pageSize: 256,
      eraseValue: 0xff,
      sectors: [{ count: 256, size: 65536 }],
      layout: '@N25Q128A_STM32F746G-DISCO /0x90000000/256*064Kg',
    });
  });

  it('gives a layout string the DfuSe parser reads back as the same geometry', () => {
    const layout = parseLayout(readStldr(readBytes(FIXTURE)).layout);
    expect(layout.blocks).toHaveLength(1);
    expect(layout.blocks[0]).toMatchObject({ start: 0x90000000, size: 16 * 1024 * 1024 });
    expect(layout.blocks[0]!.sectors).toHaveLength(256);
    expect(layout.blocks[0]!.sectors.every((s) => s.size === 65536 && s.readable && s.erasable && s.writable)).toBe(true);
  });

  it('explains in its summary why it cannot run over DFU', () => {
    const text = formatStldr(readStldr(readBytes(FIXTURE)));
    expect(text).toMatch(/Type\s+: NOR flash/);
    expect(text).toMatch(/debug probe/);
  });

  it('an ELF without StorageInfo is refused, naming what is missing, with no loader.json advice', () => {
    const demo = join(import.meta.dirname, '..', '..', 'assets', 'examples', 'demo-f746', 'demo-f746.elf');
    let caught: unknown;
    try {
      readStldr(readBytes(demo));
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'FIRMWARE_INVALID', message: expect.stringContaining('no StorageInfo symbol') });
    expect(formatError(toErrorData(caught))).not.toMatch(/loader\.json/);
  });
});

// Files made here (test/fixtures/stldr/build.sh) that reproduce what IAR, Keil and GCC builds of ST's
// loaders look like: ST's own files are not redistributable.
describe('StorageInfo whatever section the toolchain used', () => {
  const STLDR = join(import.meta.dirname, '..', 'fixtures', 'stldr');
  const read = (name: string) => readStldr(readBytes(join(STLDR, name)));

  it.each([
    ['iar-p3.stldr', 'MX25L512G_STM32F769I-EVAL', 64 * 1024 * 1024, [{ count: 1024, size: 0x10000 }], '@MX25L512G_STM32F769I-EVAL /0x90000000/1024*064Kg'],
    ['keil-devinfo.stldr', 'N25Q128A_STM32F7508-DK', 16 * 1024 * 1024, [{ count: 256, size: 0x10000 }], '@N25Q128A_STM32F7508-DK /0x90000000/256*064Kg'],
    ['other-section.stldr', 'W25Q64_Custom', 8 * 1024 * 1024, [{ count: 2048, size: 0x1000 }], '@W25Q64_Custom /0x90000000/2048*004Kg'],
    ['stripped.stldr', 'IS25LP128_Board', 16 * 1024 * 1024, [{ count: 256, size: 0x10000 }], '@IS25LP128_Board /0x90000000/256*064Kg'],
  ])('%s: read by the StorageInfo symbol (or the Dev_info section when stripped)', (file, name, size, sectors, layout) => {
    const info = read(file);
    expect(info).toMatchObject({ deviceName: name, startAddress: 0x9000_0000, size, pageSize: 256, eraseValue: 0xff, sectors, layout });
    expect(() => parseLayout(info.layout)).not.toThrow();
  });

  it('a file with neither the symbol nor a Dev_info section is refused', () => {
    expect(() => read('no-storageinfo.stldr')).toThrow(expect.objectContaining({ code: 'FIRMWARE_INVALID', message: expect.stringContaining('no StorageInfo symbol') }));
  });

  it('an impossible sector table (0xFFFFFFFF × 0xFFFFFFFF) is refused, not printed as a layout', () => {
    let caught: unknown;
    try {
      read('impossible.stldr');
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'FIRMWARE_INVALID', message: expect.stringMatching(/4294967295 × 4294967295.*corrupt/) });
    expect(formatError(toErrorData(caught))).not.toMatch(/loader\.json/);
  });
});

describe('an .stldr given as --loader', () => {
  it('is LOADER_UNSUPPORTED with the debug-probe explanation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-stldr-'));
    const path = join(dir, 'N25Q128A_STM32F746G-DISCO.stldr');
    writeFileSync(path, readBytes(FIXTURE));
    await expect(openLoaderFolder(path)).rejects.toMatchObject({
      code: 'LOADER_UNSUPPORTED',
      message: expect.stringMatching(/debug probe.*not over USB DFU/),
    });
  });
});
