// ST external loaders (.stldr): BootBridge reads their StorageInfo to show the memory geometry, and
// refuses to use one as a DFU loader with the reason. The fixture is a minimal ELF built from
// fixtures/n25q128a-stldr.s by fixtures/build-stldr.sh (GNU binutils for ARM).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { formatStldr, readStldr } from '../../src-main/loader/stldr.js';
import { openLoaderFolder, readBytes } from '../../src-main/services/files.js';

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

  it('an ELF without .Dev_info is refused, naming the missing section', () => {
    const demo = join(import.meta.dirname, '..', '..', 'assets', 'examples', 'demo-f746', 'demo-f746.elf');
    expect(() => readStldr(readBytes(demo))).toThrow(expect.objectContaining({ code: 'LOADER_INVALID', message: expect.stringContaining('.Dev_info') }));
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
