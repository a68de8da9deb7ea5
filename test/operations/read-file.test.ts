// Firmware files read as they are parsed: the image and the file's SHA-256 are those of the whole
// file read at once, for the streamed text formats and for ELF read by offsets.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFirmware, sameContent } from '../../src-main/firmware/index.js';
import { openFirmwareFile } from '../../src-main/operations/files.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MULTI = join(ROOT, 'test', 'fixtures', 'firmware', 'multi.elf');

describe('openFirmwareFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-read-'));

  it('HEX, S-record and ELF: the image of the whole file and the SHA-256 of every byte', async () => {
    execFileSync('arm-none-eabi-objcopy', ['-O', 'ihex', MULTI, join(dir, 'multi.hex')]);
    execFileSync('arm-none-eabi-objcopy', ['-O', 'srec', MULTI, join(dir, 'multi.srec')]);
    for (const path of [join(dir, 'multi.hex'), join(dir, 'multi.srec'), MULTI]) {
      const bytes = new Uint8Array(readFileSync(path));
      const fw = await openFirmwareFile(path);
      expect(sameContent(fw.image, parseFirmware(path, bytes)), path).toBe(true);
      expect(fw.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(fw.fileSize).toBe(bytes.length);
    }
  });

  it('a HEX file larger than one read (2 MiB) parses across the reads, errors keep their line', async () => {
    const line = (a: number) => {
      const body = [16, (a >> 8) & 0xff, a & 0xff, 0, ...Array.from({ length: 16 }, (_, i) => (a + i) & 0xff)];
      const ck = (0x100 - (body.reduce((x, y) => x + y, 0) & 0xff)) & 0xff;
      return ':' + [...body, ck].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('');
    };
    const lines: string[] = [];
    for (let a = 0; a < 0x10000; a += 16) lines.push(line(a));
    // 4096 records of 44 bytes = 180 KB per 64 KB; 16 copies at rising 64 KB bases: 2.9 MB.
    const all: string[] = [];
    for (let k = 0; k < 16; k++) all.push(`:02000004${k.toString(16).padStart(4, '0').toUpperCase()}${((0x100 - ((2 + 4 + (k >> 8) + (k & 0xff)) & 0xff)) & 0xff).toString(16).padStart(2, '0').toUpperCase()}`, ...lines);
    const good = join(dir, 'big.hex');
    writeFileSync(good, [...all, ':00000001FF', ''].join('\n'));
    const fw = await openFirmwareFile(good);
    expect(fw.image.size).toBe(16 * 0x10000);
    expect(fw.image.segments).toHaveLength(1);
    const bad = join(dir, 'bad.hex');
    const n = all.length - 10; // past the first 2 MiB read
    all[n] = all[n]!.slice(0, -2) + (all[n]!.endsWith('00') ? '01' : '00');
    writeFileSync(bad, [...all, ':00000001FF', ''].join('\n'));
    await expect(openFirmwareFile(bad)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH', context: { line: n + 1 } });
  });
});
