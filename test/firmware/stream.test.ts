// Reading a file as it arrives: whatever the chunk boundaries, parseFirmwareStream() gives the image
// parseFirmware() gives for the whole file, and the same error (code, message with its line, offset).
import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors';
import { bytesReader, parseElf } from '../../src-main/firmware/elf';
import { parseFirmware, parseFirmwareStream, sameContent, type FirmwareImage } from '../../src-main/firmware/index';
import { FIXTURES, readBytes, run, tempDir } from './tools';

/** Cuts `bytes` at the given offsets (sorted, deduplicated), as a reader's chunks. */
function cut(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.slice(from, p));
    from = p;
  }
  return out;
}

type Outcome = { image: FirmwareImage } | { error: { code: string; message: string; offset: unknown; line: unknown } };

function whole(name: string, bytes: Uint8Array): Outcome {
  try {
    return { image: parseFirmware(name, bytes) };
  } catch (e) {
    if (!(e instanceof BootBridgeError)) throw e;
    return { error: { code: e.code, message: e.message, offset: e.context.offset, line: e.context.line } };
  }
}

/** Streams the chunks; each one is overwritten after the parser returns, as a reader reusing its buffer does. */
async function streamed(name: string, chunks: Uint8Array[], size?: number): Promise<Outcome> {
  async function* reuse(): AsyncGenerator<Uint8Array> {
    for (const c of chunks) {
      const buffer = c.slice();
      yield buffer;
      buffer.fill(0x3a);
    }
  }
  try {
    return { image: await parseFirmwareStream(name, reuse(), size === undefined ? {} : { size }) };
  } catch (e) {
    if (!(e instanceof BootBridgeError)) throw e;
    return { error: { code: e.code, message: e.message, offset: e.context.offset, line: e.context.line } };
  }
}

function expectSame(a: Outcome, b: Outcome): void {
  if ('image' in a && 'image' in b) {
    expect(sameContent(a.image, b.image)).toBe(true);
    expect(b.image.entry).toBe(a.image.entry);
    expect(b.image.segments.map((s) => s.sources)).toEqual(a.image.segments.map((s) => s.sources));
  } else {
    expect(b).toEqual(a);
  }
}

describe('parseFirmwareStream', () => {
  const tmp = tempDir();
  const files: Record<string, Uint8Array> = {};
  beforeAll(() => {
    const elf = join(FIXTURES, 'multi.elf');
    run('arm-none-eabi-objcopy', ['-O', 'ihex', elf, join(tmp.dir, 'multi.hex')]);
    run('arm-none-eabi-objcopy', ['-O', 'srec', elf, join(tmp.dir, 'multi.srec')]);
    files['multi.hex'] = readBytes(join(tmp.dir, 'multi.hex'));
    files['multi.srec'] = readBytes(join(tmp.dir, 'multi.srec'));
    files['multi.elf'] = readBytes(elf);
  });
  afterAll(() => tmp.cleanup());

  it('cut anywhere, HEX, S-record and ELF read to the image of the whole file', async () => {
    for (const name of ['multi.hex', 'multi.srec', 'multi.elf']) {
      const bytes = files[name]!;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(), { maxLength: 30 }), fc.boolean(), async (at, sized) => {
          expectSame(whole(name, bytes), await streamed(name, cut(bytes, at), sized ? bytes.length : undefined));
        }),
        { numRuns: 60, seed: 0x5eed },
      );
    }
  });

  it('one byte at a time, a HEX file still parses', async () => {
    const bytes = files['multi.hex']!;
    const ones = Array.from(bytes, (b) => Uint8Array.of(b));
    expectSame(whole('multi.hex', bytes), await streamed('multi.hex', ones, bytes.length));
  });

  it('small damaged files cut at every offset give the error of the whole file', async () => {
    const cases = [
      ':0400000001020304F2\n:0400040005060708DE1\n:00000001FF\n', // a record one digit longer than its count says
      ':0400000001020304F2\r\n:0400040005060708DE\r\n', // no end-of-file record
      ':0400000001020304F2\n:0400040005060708D3\n:00000001FF\n', // a wrong checksum
      ':0400000001020304F2\n:04000400050', // cut in a record
      'S107000001020304EE\nS107000405060708DA0\nS9030000FC\n', // S-record longer than its count
      'S107000001020304EE\nS107000405060708', // S-record cut
    ];
    // Good records first: the first 128 bytes are held to detect the format, so the damage comes after them.
    const hexLead = ':10010000000102030405060708090A0B0C0D0E0F77\n:10011000000102030405060708090A0B0C0D0E0F67\n:10012000000102030405060708090A0B0C0D0E0F57\n:10013000000102030405060708090A0B0C0D0E0F47\n';
    const srecLead = 'S1130100000102030405060708090A0B0C0D0E0F73\nS1130110000102030405060708090A0B0C0D0E0F63\nS1130120000102030405060708090A0B0C0D0E0F53\nS1130130000102030405060708090A0B0C0D0E0F43\n';
    for (const [i, textCase] of cases.entries()) {
      const name = i < 4 ? 'x.hex' : 'x.srec';
      const bytes = new TextEncoder().encode((i < 4 ? hexLead : srecLead) + textCase);
      const expected = whole(name, bytes);
      expect('error' in expected).toBe(true);
      for (let a = 0; a <= bytes.length; a++) {
        for (let b = a; b <= bytes.length; b += 13) expectSame(expected, await streamed(name, cut(bytes, [a, b]), bytes.length));
      }
    }
  });

  it('a damaged file gives the same error, line and offset, wherever the chunks end', async () => {
    for (const name of ['multi.hex', 'multi.srec']) {
      const original = files[name]!;
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.nat({ max: 255 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 12 }), async (where, value, truncate, at) => {
          const at0 = where % original.length;
          const bytes = truncate ? original.slice(0, at0) : original.slice();
          if (!truncate) bytes[at0] = value;
          expectSame(whole(name, bytes), await streamed(name, cut(bytes, at), bytes.length));
        }),
        { numRuns: 150, seed: 0x5eed },
      );
    }
  });

  it('an ELF read through a file reader fetches its headers and loaded bytes, not its debug sections', () => {
    const bytes = files['multi.elf']!;
    const whole = parseElf(bytes);
    const reader = bytesReader(bytes);
    let fetched = 0;
    const image = parseElf({ size: reader.size, read: (offset, length) => ((fetched += length), reader.read(offset, length).slice()) });
    expect(sameContent(image, whole)).toBe(true);
    expect(image.sections).toEqual(whole.sections);
    // ELF header, program and section headers, section names: a few KB beyond the image.
    expect(fetched).toBeLessThan(whole.size + 8192);
    expect(fetched).toBeLessThan(bytes.length);
  });
});
