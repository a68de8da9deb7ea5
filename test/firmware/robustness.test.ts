import fc from 'fast-check';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors';
import { parseFirmware, writeDfuSe } from '../../src-main/firmware';
import { FIXTURES, fixture, readBytes, run, tempDir } from './tools';

/** Parses and returns 'ok' or the error code; anything but a BootBridgeError fails the property. */
function outcome(name: string, bytes: Uint8Array): string {
  try {
    parseFirmware(name, bytes, { baseAddress: 0x08000000 });
    return 'ok';
  } catch (e) {
    if (e instanceof BootBridgeError) return e.code;
    throw e;
  }
}

describe('damaged files give a BootBridgeError, never a crash or a hang', () => {
  const samples: Record<string, Uint8Array> = {};

  beforeAll(() => {
    const tmp = tempDir();
    try {
      const elf = join(FIXTURES, 'multi.elf');
      run('arm-none-eabi-objcopy', ['-O', 'ihex', elf, join(tmp.dir, 'a.hex')]);
      run('arm-none-eabi-objcopy', ['-O', 'srec', elf, join(tmp.dir, 'a.srec')]);
      samples['a.hex'] = readBytes(join(tmp.dir, 'a.hex'));
      samples['a.srec'] = readBytes(join(tmp.dir, 'a.srec'));
      samples['a.elf'] = fixture('multi.elf');
      samples['a.dfu'] = writeDfuSe(parseFirmware('a.elf', fixture('multi.elf')));
    } finally {
      tmp.cleanup();
    }
  });

  it.each(['a.elf', 'a.hex', 'a.srec', 'a.dfu'])('%s with bytes overwritten or cut', (name) => {
    const original = samples[name]!;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(original.length), { nil: undefined }),
        (edits, cut) => {
          const bytes = original.slice(0, cut ?? original.length);
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          expect(typeof outcome(name, bytes)).toBe('string');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ELF with its headers damaged (ELF header, program headers, section headers)', () => {
    const original = samples['a.elf']!;
    const shoff = new DataView(original.buffer, original.byteOffset).getUint32(32, true);
    const position = fc.oneof(fc.nat(0x7f), fc.integer({ min: shoff, max: original.length - 1 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(position, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const bytes = original.slice();
        for (const [at, value] of edits) bytes[at] = value;
        expect(typeof outcome('a.elf', bytes)).toBe('string');
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes under every name', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom('x.elf', 'x.hex', 'x.srec', 'x.dfu', 'x.bin'), (bytes, name) => {
        expect(typeof outcome(name, bytes)).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  it('corrupting one byte of a HEX data record is caught by its checksum', () => {
    const hex = samples['a.hex']!;
    // Flip a data digit on the 3rd record line: '0'..'9','A'..'F' stay hex, so only the checksum can catch it.
    const lineStart = [...hex.keys()].filter((i) => hex[i] === 0x3a)[2]!;
    const bytes = hex.slice();
    bytes[lineStart + 10] = bytes[lineStart + 10] === 0x30 ? 0x31 : 0x30;
    expect(outcome('a.hex', bytes)).toBe('CHECKSUM_MISMATCH');
  });
});
