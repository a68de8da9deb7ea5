// `bootbridge convert` as a script runs it: a binary byte for byte what objcopy makes from the same
// HEX, S-record or ELF, a .dfu that reads back as the same image, and errors that name the line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, buildCli, runCli as run } from './harness.js';
import { parseFirmware, sameContent } from '../../src-main/firmware/index.js';
import { expectBytes } from '../engine/helpers.js';

const MULTI = join(ROOT, 'test', 'fixtures', 'firmware', 'multi.elf');

const dir = mkdtempSync(join(tmpdir(), 'bb-convert-'));
const at = (name: string) => join(dir, name);
const bytesOf = (path: string) => new Uint8Array(readFileSync(path));
const objcopy = (...args: string[]) => execFileSync('arm-none-eabi-objcopy', args);

function hexRecord(address: number, data: number[]): string {
  const body = [data.length, address >> 8, address & 0xff, 0, ...data];
  const sum = (0x100 - (body.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  return ':' + [...body, sum].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('');
}

beforeAll(async () => {
  await buildCli();
  // One region in flash, with a gap between sections: what objcopy fills.
  objcopy('-O', 'ihex', '-R', 'ExtFlashSection', MULTI, at('flash.hex'));
  objcopy('-O', 'srec', '-R', 'ExtFlashSection', MULTI, at('flash.srec'));
  objcopy('-R', 'ExtFlashSection', MULTI, at('flash.elf'));
  objcopy('-O', 'binary', '--gap-fill', '0xff', '-R', 'ExtFlashSection', MULTI, at('objcopy.bin'));
  // Two runs 0x100 bytes apart: the gap is what --gap-fill fills.
  writeFileSync(at('gap.hex'), [hexRecord(0x0000, [1, 2, 3, 4]), hexRecord(0x0104, [5, 6, 7, 8]), ':00000001FF', ''].join('\n'));
  objcopy('-I', 'ihex', '-O', 'binary', '--gap-fill', '0x00', at('gap.hex'), at('objcopy-0.bin'));
}, 60_000);

describe('convert to a binary', () => {
  it('HEX, S-record and ELF give the bytes objcopy -O binary --gap-fill 0xff gives', async () => {
    for (const input of ['flash.hex', 'flash.srec', 'flash.elf']) {
      const out = at(`${input}.bin`);
      const r = await run(['convert', at(input), out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, output: out, format: 'bin' });
      expectBytes(bytesOf(out), bytesOf(at('objcopy.bin')), input);
    }
  });

  it('an ELF, copied from its loaded ranges, reports the segments, size and address its HEX does', async () => {
    const summary = async (input: string) => {
      const r = await run(['convert', at(input), at(`${input}.summary.bin`), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const { segments, imageBytes, address, bytes } = JSON.parse(r.stdout) as Record<string, number>;
      return { segments, imageBytes, address, bytes };
    };
    const elf = await summary('flash.elf');
    expect(elf.segments).toBeGreaterThan(0);
    expect(elf).toEqual(await summary('flash.hex'));
  });

  it('--gap-fill sets the bytes between segments', async () => {
    const r = await run(['convert', at('gap.hex'), '-o', at('zero.bin'), '--gap-fill', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(bytesOf(at('zero.bin')).length).toBe(0x108);
    expectBytes(bytesOf(at('zero.bin')), bytesOf(at('objcopy-0.bin')));
    const ff = await run(['convert', at('gap.hex'), at('ff.bin')]);
    expect(ff.code, ff.stderr).toBe(0);
    expect(bytesOf(at('ff.bin')).subarray(4, 0x104).every((b) => b === 0xff)).toBe(true);
  });

  it('refuses an image whose gaps would make a binary of gigabytes, and points at .dfu', async () => {
    // Internal flash and QSPI: 0x08000000 to 0x90000000 would be 2.2 GB of fill.
    const r = await run(['convert', MULTI, at('huge.bin')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/would be \d+ bytes.*\.dfu keeps each segment at its address/);
  });

  it('a HEX file with a wrong checksum fails with exit 2 naming the line, and writes nothing', async () => {
    const text = readFileSync(at('flash.hex'), 'utf8').split('\n');
    text[2] = text[2]!.slice(0, -3) + (text[2]!.endsWith('00') ? '01' : '00');
    writeFileSync(at('bad.hex'), text.join('\n'));
    const r = await run(['convert', at('bad.hex'), at('bad.bin')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/checksum wrong on line 3/);
    expect(() => readFileSync(at('bad.bin'))).toThrow();
  });
});

describe('convert to .dfu', () => {
  it('chosen by the extension, reads back as the image of the ELF', async () => {
    const r = await run(['convert', MULTI, '-o', at('multi.dfu')]);
    expect(r.code, r.stderr).toBe(0);
    expect(sameContent(parseFirmware('multi.dfu', bytesOf(at('multi.dfu'))), parseFirmware('multi.elf', bytesOf(MULTI)))).toBe(true);
  });
});
