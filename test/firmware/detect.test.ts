import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors';
import { detectFormat, parseFirmware, parseFirmwareAsync, sameContent, writeDfuSe } from '../../src-main/firmware';
import { dfuSuffixCrc } from '../../src-main/firmware/crc32';
import { FIXTURES, fixture, readBytes, run, tempDir } from './tools';

const text = (s: string) => new TextEncoder().encode(s);

describe('detectFormat', () => {
  it.each([
    ['magic beats a misleading name: ELF', 'firmware.bin', fixture('multi.elf'), 'elf'],
    ['magic beats a misleading name: DfuSe', 'firmware.hex', new TextEncoder().encode('DfuSe\x01'), 'dfu'],
    ['Intel HEX by its record syntax', 'noext', text('\r\n:020000040800F2\n'), 'hex'],
    ['S-record by its record syntax', 'noext', text('S00600004844521B\n'), 'srec'],
    ['raw binary by extension', 'app.BIN', new Uint8Array([0x00, 0x00, 0x05, 0x20]), 'bin'],
    ['S-record by extension', 'app.s19', new Uint8Array([1]), 'srec'],
    ['not assembly source as S-record', 'start.s', text('    .syntax unified\n'), undefined],
  ])('%s', (_what, name, bytes, format) => {
    expect(detectFormat(name, bytes)).toBe(format);
  });

  it('says nothing when neither bytes nor name tell', () => {
    expect(detectFormat('notes.txt', text('hello'))).toBeUndefined();
  });
});

describe('parseFirmware', () => {
  const tmp = tempDir();
  let hexBytes: Uint8Array;
  beforeAll(() => {
    run('arm-none-eabi-objcopy', ['-O', 'ihex', join(FIXTURES, 'multi.elf'), join(tmp.dir, 'multi.hex')]);
    hexBytes = readBytes(join(tmp.dir, 'multi.hex'));
  });
  afterAll(() => tmp.cleanup());

  it('reads every format to the same image', () => {
    const elf = parseFirmware('multi.elf', fixture('multi.elf'));
    const hex = parseFirmware('multi.hex', hexBytes);
    const dfu = parseFirmware('multi.dfu', writeDfuSe(elf));
    expect([elf.format, hex.format, dfu.format]).toEqual(['elf', 'hex', 'dfu']);
    expect(sameContent(hex, elf)).toBe(true);
    expect(sameContent(dfu, elf)).toBe(true);
  });

  it('asks for an address when a raw binary has none', () => {
    let err: unknown;
    try {
      parseFirmware('app.bin', new Uint8Array(8));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BootBridgeError);
    expect((err as BootBridgeError).code).toBe('BAD_ARGUMENT');
    // The message says what is missing; the remedy (worded per door: --base in the CLI) says what to do.
    expect((err as BootBridgeError).message).toMatch(/holds no address/);
    expect((err as BootBridgeError).remedy).toBe('give-base-address');
    expect(parseFirmware('app.bin', new Uint8Array(8), { baseAddress: 0x08000000 }).segments[0]!.address).toBe(0x08000000);
  });

  it('reads a plain DFU file (no DfuSe prefix) at the address given, suffix checked and removed', () => {
    const payload = [1, 2, 3, 4];
    const file = new Uint8Array(payload.length + 16);
    file.set(payload);
    const view = new DataView(file.buffer);
    view.setUint16(4, 0xffff, true);
    view.setUint16(6, 0xdf11, true);
    view.setUint16(8, 0x0483, true);
    view.setUint16(10, 0x0100, true);
    file.set(text('UFD'), 12);
    file[15] = 16;
    view.setUint32(16, dfuSuffixCrc(file.subarray(0, 16)), true);
    const image = parseFirmware('app.dfu', file, { baseAddress: 0x08000000 });
    expect([...image.segments[0]!.data]).toEqual(payload);
    expect(image.usbId?.productId).toBe(0xdf11);
  });

  it('names the file in errors', () => {
    let err: unknown;
    try {
      parseFirmware('broken.hex', text(':02000000AABB98\n:00000001FF\n'));
    } catch (e) {
      err = e;
    }
    expect((err as BootBridgeError).context).toMatchObject({ file: 'broken.hex', line: 1 });
  });

  it('refuses a file it cannot identify', () => {
    expect(() => parseFirmware('notes.txt', text('hello'))).toThrowError(expect.objectContaining({ code: 'FIRMWARE_UNSUPPORTED' }));
  });
});

describe('parseFirmwareAsync', () => {
  it('yields to the event loop between chunks, reports progress, and gives the same image', async () => {
    const lines: string[] = [];
    const hexLine = (addr: number, bytes: number[]) => {
      const body = [bytes.length, addr >> 8, addr & 0xff, 0, ...bytes];
      const ck = (0x100 - (body.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
      return ':' + [...body, ck].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('');
    };
    for (let a = 0; a < 0x10000; a += 16) lines.push(hexLine(a, Array.from({ length: 16 }, (_, i) => (a + i) & 0xff)));
    lines.push(':00000001FF');
    const bytes = text(lines.join('\n') + '\n');

    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const progress: number[] = [];
    const image = await parseFirmwareAsync('big.hex', bytes, { chunkBytes: 16 << 10, onProgress: (done) => progress.push(done) });
    clearInterval(timer);

    expect(sameContent(image, parseFirmware('big.hex', bytes))).toBe(true);
    expect(progress.length).toBeGreaterThan(5);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress[progress.length - 1]).toBe(bytes.length);
    expect(ticks).toBeGreaterThan(0);
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(parseFirmwareAsync('x.hex', text(':00000001FF\n'), { signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
