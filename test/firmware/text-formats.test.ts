import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors';
import { parseElf } from '../../src-main/firmware/elf';
import { parseIntelHex } from '../../src-main/firmware/ihex';
import { parseBin } from '../../src-main/firmware/bin';
import { buildImage, sameContent, type FirmwareImage } from '../../src-main/firmware/image';
import { parseSrec } from '../../src-main/firmware/srec';
import { FIXTURES, fixture, readBytes, run, tempDir } from './tools';

const text = (s: string) => new TextEncoder().encode(s);

function thrown(f: () => unknown): BootBridgeError {
  try {
    f();
  } catch (e) {
    if (e instanceof BootBridgeError) return e;
    throw e;
  }
  throw new Error('expected a BootBridgeError');
}

function layout(image: FirmwareImage) {
  return image.segments.map((s) => [s.address, s.data.length]);
}

describe('HEX, S-record and BIN made by objcopy from the same ELF', () => {
  const tmp = tempDir();
  const elfPath = join(FIXTURES, 'multi.elf');
  const out = (name: string) => join(tmp.dir, name);
  let elf: FirmwareImage;

  beforeAll(() => {
    elf = parseElf(fixture('multi.elf'));
    run('arm-none-eabi-objcopy', ['-O', 'ihex', elfPath, out('multi.hex')]);
    run('arm-none-eabi-objcopy', ['-O', 'srec', elfPath, out('multi.srec')]);
    run('arm-none-eabi-objcopy', ['-O', 'srec', '--srec-forceS3', elfPath, out('multi-s3.srec')]);
    run('arm-none-eabi-objcopy', ['-O', 'binary', '-R', 'ExtFlashSection', elfPath, out('flash.bin')]);
    run('arm-none-eabi-objcopy', ['-O', 'binary', '-j', 'ExtFlashSection', elfPath, out('qspi.bin')]);
  });
  afterAll(() => tmp.cleanup());

  it('Intel HEX parses to the same image as the ELF, with the entry point of record 05', () => {
    const hex = parseIntelHex(readBytes(out('multi.hex')));
    expect(layout(hex)).toEqual(layout(elf));
    expect(sameContent(hex, elf)).toBe(true);
    expect(hex.entry).toBe(elf.entry);
  });

  it('S-record parses to the same image as the ELF, with the entry point of S7', () => {
    for (const name of ['multi.srec', 'multi-s3.srec']) {
      const srec = parseSrec(readBytes(out(name)));
      expect(layout(srec)).toEqual(layout(elf));
      expect(sameContent(srec, elf)).toBe(true);
      expect(srec.entry).toBe(elf.entry);
    }
  });

  it('BIN files with their base addresses make the same image as the ELF', () => {
    const flash = parseBin(readBytes(out('flash.bin')), 0x08000000).segments;
    const qspi = parseBin(readBytes(out('qspi.bin')), 0x90000000).segments;
    const joined = buildImage('bin', [...flash, ...qspi].map((s) => ({ address: s.address, data: s.data, source: 'bin' })));
    expect(sameContent(joined, elf)).toBe(true);
  });

  it('a 4 MiB image converted by objcopy reads back byte for byte from HEX and S-record', () => {
    const data = new Uint8Array(4 << 20);
    let x = 0x12345678;
    for (let i = 0; i < data.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      data[i] = x & 0xff;
    }
    writeFileSync(out('big.bin'), data);
    run('arm-none-eabi-objcopy', ['-I', 'binary', '-O', 'ihex', '--change-addresses', '0x90000000', out('big.bin'), out('big.hex')]);
    run('arm-none-eabi-objcopy', ['-I', 'binary', '-O', 'srec', '--change-addresses', '0x90000000', out('big.bin'), out('big.srec')]);
    for (const image of [parseIntelHex(readBytes(out('big.hex'))), parseSrec(readBytes(out('big.srec')))]) {
      expect(layout(image)).toEqual([[0x90000000, data.length]]);
      expect(Buffer.compare(image.segments[0]!.data, data)).toBe(0);
    }
  });
});

describe('Intel HEX records', () => {
  it('applies extended segment addresses (type 02) as segment × 16', () => {
    const image = parseIntelHex(text(':020000021000EC\n:0400100001020304E2\n:00000001FF\n'));
    expect(layout(image)).toEqual([[0x10010, 4]]);
    expect([...image.segments[0]!.data]).toEqual([1, 2, 3, 4]);
  });

  it('applies extended linear addresses (type 04) as the upper 16 bits', () => {
    const image = parseIntelHex(text(':020000040800F2\r\n:02000000AABB99\r\n:040000050800019955\r\n:00000001FF\r\n'));
    expect(layout(image)).toEqual([[0x08000000, 2]]);
    expect(image.entry).toBe(0x08000199);
  });

  it('reports a wrong checksum with its line number', () => {
    const err = thrown(() => parseIntelHex(text(':020000040800F2\n:02000000AABB98\n:00000001FF\n')));
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.context.line).toBe(2);
    expect(err.message).toContain('0x98');
    expect(err.message).toContain('0x99');
  });

  it.each([
    ['a missing end-of-file record', ':02000000AABB99\n', 'FIRMWARE_INVALID', /truncated/],
    ['a record cut short', ':02000000AABB99\n:0400000001', 'FIRMWARE_INVALID', /truncated/],
    ['a non-hex digit', ':02000000AXBB99\n:00000001FF\n', 'FIRMWARE_INVALID', /non-hex/],
    ['a line not starting with a colon', ':02000000AABB99\nhello\n:00000001FF\n', 'FIRMWARE_INVALID', /expected ':'/],
    ['an undefined record type', ':00000006FA\n:00000001FF\n', 'FIRMWARE_UNSUPPORTED', /type 0x06/],
    ['an extended address of the wrong length', ':03000004080000F1\n:00000001FF\n', 'FIRMWARE_INVALID', /must carry 2 bytes/],
  ])('refuses %s', (_what, input, code, message) => {
    const err = thrown(() => parseIntelHex(text(input)));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(typeof err.context.line).toBe('number');
  });

  it('reports data written twice with the lines of both runs', () => {
    const err = thrown(() => parseIntelHex(text(':02000000AABB99\n:020010000102EB\n:02000100CCDD54\n:00000001FF\n')));
    expect(err.code).toBe('FIRMWARE_OVERLAP');
    expect(err.message).toContain('line 1');
    expect(err.message).toContain('line 3');
  });
});

describe('S-records', () => {
  it('reads S1/S2/S3 addresses and the S9 start address', () => {
    const image = parseSrec(text('S00600004844521B\nS1050010AABB85\nS2060100201122A5\nS9030010EC\n'));
    expect(layout(image)).toEqual([
      [0x10, 2],
      [0x010020, 2],
    ]);
    expect(image.entry).toBe(0x10);
  });

  it('reports a wrong checksum with its line number', () => {
    const err = thrown(() => parseSrec(text('S00600004844521B\nS1050010AABB84\nS9030010EC\n')));
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.context.line).toBe(2);
  });

  it('checks the S5 record count', () => {
    const err = thrown(() => parseSrec(text('S1050010AABB85\nS5030002FA\nS9030010EC\n')));
    expect(err.code).toBe('FIRMWARE_INVALID');
    expect(err.message).toMatch(/S5 says 2 data records/);
  });

  it.each([
    ['a missing termination record', 'S1050010AABB85\n', /truncated/],
    ['an unknown record type', 'SX050010AABB84\nS9030010EC\n', /unknown record type/],
    ['a record longer than its count', 'S1050010AABB8500\nS9030010EC\n', /longer than its byte count/],
  ])('refuses %s', (_what, input, message) => {
    const err = thrown(() => parseSrec(text(input)));
    expect(err.code).toBe('FIRMWARE_INVALID');
    expect(err.message).toMatch(message);
  });
});
