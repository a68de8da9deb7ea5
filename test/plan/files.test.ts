// The files engineers bring, and the plan (or the error) each gets before anything touches a board.
// ELF fixtures are built by test/fixtures/firmware/build.sh; the rest are written here byte by byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { BootBridgeError, ERROR_TEXT, formatError, toErrorData } from '../../shared/errors.js';
import { CLI_REMEDIES } from '../../src-main/cli/remedies.js';
import { registerChipCommands } from '../../src-main/cli/commands/chips.js';
import { registerDeviceCommands } from '../../src-main/cli/commands/devices.js';
import { registerFlashCommands } from '../../src-main/cli/commands/flash.js';
import { registerMemoryCommands } from '../../src-main/cli/commands/memory.js';
import { registerProductionCommands } from '../../src-main/cli/commands/production.js';
import { chipById, chipByName, unknownChipError } from '../../src-main/devices/chips.js';
import { parseFirmware, writeDfuSe, type FirmwareImage } from '../../src-main/firmware/index.js';
import { issueText, plan, type FlashPlan } from '../../src-main/plan/index.js';
import { writeElf } from '../firmware/elf-writer.js';
import { F746, L476, romTarget } from './helpers.js';

const FW = join(import.meta.dirname, '..', 'fixtures', 'firmware');
const H743 = chipById(0x450)!;
const fixture = (name: string) => parseFirmware(name, new Uint8Array(readFileSync(join(FW, name))));
const codes = (p: FlashPlan) => p.errors.map((e) => e.code);
const ascii = (s: string) => new TextEncoder().encode(s);
const thrown = (f: () => unknown): BootBridgeError => {
  try {
    f();
  } catch (e) {
    return e as BootBridgeError;
  }
  throw new Error('did not throw');
};

/** Every text a user may read in this file's cases, collected for the option check at the end. */
const texts: string[] = [];
/** A plan issue as the CLI prints it: its message, then its remedy in the CLI's words. */
const cli = (e: FlashPlan['errors'][number]) => issueText(e, CLI_REMEDIES);
const seen = (p: FlashPlan) => {
  texts.push(...p.errors.map(cli), ...p.warnings);
  return p;
};

describe('loadable data in RAM', () => {
  it('.data stored in RAM ("> RAM" without "AT> FLASH") is an error naming the section and the cause', () => {
    const p = seen(plan(fixture('ram-data.elf'), romTarget(F746)));
    // (and its QSPI section needs a loader, as in the correctly linked build)
    expect(codes(p)).toEqual(['LOADS_INTO_RAM', 'OUTSIDE_REGIONS']);
    expect(p.errors[0]!.message).toMatch(/\.data/);
    expect(p.errors[0]!.message).toMatch(/AT> FLASH/);
    expect(p.errors[0]!.message).not.toMatch(/--[a-z]/);
    expect(cli(p.errors[0]!)).toContain('--allow-ram');
    expect(p.errors[0]!.range).toEqual({ start: 0x2001_0000, end: 0x2001_0014 });
  });

  it('a program linked wholly into RAM is an error, and plans into RAM with --allow-ram', () => {
    const p = seen(plan(fixture('ram-only.elf'), romTarget(F746)));
    expect(codes(p).length).toBeGreaterThan(0);
    expect(codes(p).every((c) => c === 'LOADS_INTO_RAM')).toBe(true);
    expect(p.errors[0]!.message).toMatch(/Code \(\.isr_vector.*linked into RAM/);
    const allowed = plan(fixture('ram-only.elf'), romTarget(F746), { allowRam: true, leave: false });
    expect(allowed.ok).toBe(true);
    expect(allowed.stages[0]!.writes[0]).toMatchObject({ address: 0x2001_0000, region: 'DTCM+SRAM1+SRAM2' });
    expect(allowed.stages[0]!.erases).toEqual([]);
  });

  it('the correctly linked program (.data stored in flash) plans without it', () => {
    expect(plan(fixture('multi.elf'), romTarget(F746)).errors.map((e) => e.code)).not.toContain('LOADS_INTO_RAM');
  });
});

describe('an image with no data', () => {
  it.each([
    ['a HEX file with only an end-of-file record', 'empty.hex', ascii(':00000001FF\n'), {}],
    ['a 0-byte BIN', 'empty.bin', new Uint8Array(0), { baseAddress: 0x0800_0000 }],
  ])('%s is an error, not "PASS 0 bytes"', (_n, name, bytes, options) => {
    const p = seen(plan(parseFirmware(name, bytes, options), romTarget(F746)));
    expect(p.ok).toBe(false);
    expect(codes(p)).toEqual(['IMAGE_EMPTY']);
    expect(p.totalBytes).toBe(0);
  });
});

describe('writes that split the chip\'s program unit', () => {
  const bin = (base: number) => parseFirmware('app.bin', new Uint8Array(4096).fill(0x11), { baseAddress: base });

  it('an H743 image at a --base inside a 32-byte flash word is refused at the plan, before any erase', () => {
    const p = seen(plan(bin(0x0800_0010), romTarget(H743)));
    expect(codes(p)).toEqual(['SPLIT_PROGRAM_UNIT']);
    expect(p.errors[0]!.range).toEqual({ start: 0x0800_0000, end: 0x0800_0020 });
    expect(p.errors[0]!.message).toMatch(/32-byte/);
    expect(p.errors[0]!.message).toContain('at 0x08000000');
    expect(cli(p.errors[0]!)).toMatch(/at 0x08000000.*--base/);
    expect(plan(bin(0x0800_0020), romTarget(H743)).ok).toBe(true);
  });

  it('a short segment (one block) inside a word that nothing else writes is fine; a neighbour in the same word is not', () => {
    const small = (address: number, n: number) => ({ address, data: new Uint8Array(n).fill(3), sources: [`s@${address.toString(16)}`] });
    const img = (...segments: ReturnType<typeof small>[]) => ({ format: 'elf' as const, segments, size: 0 });
    expect(plan(img(small(0x0800_0000, 0x100), small(0x0800_0404, 0x40)), romTarget(H743), { leave: false }).ok).toBe(true);
    const p = seen(plan(img(small(0x0800_0000, 0x104), small(0x0800_0108, 0x40)), romTarget(H743), { leave: false }));
    expect(codes(p)).toEqual(['SHARED_PROGRAM_UNIT']);
    expect(p.errors[0]!.range).toEqual({ start: 0x0800_0100, end: 0x0800_0120 });
  });

  it('the L476\'s 8-byte double word: 4 bytes in is refused, 8 is fine; the F746 (clears bits) takes any address', () => {
    expect(codes(plan(bin(0x0800_0004), romTarget(L476)))).toEqual(['SPLIT_PROGRAM_UNIT']);
    expect(plan(bin(0x0800_0008), romTarget(L476)).ok).toBe(true);
    expect(plan(bin(0x0800_0004), romTarget(F746)).ok).toBe(true);
  });
});

describe('the same bytes claimed twice', () => {
  it('ELF sections overlapping with different bytes are refused naming both', () => {
    const e = thrown(() => fixture('overlap.elf'));
    expect(e.code).toBe('FIRMWARE_OVERLAP');
    expect(e.message).toMatch(/\.app.*\.calibration|\.calibration.*\.app/);
  });

  it('ELF sections overlapping with identical bytes are written once, as objcopy does', () => {
    const image = fixture('overlap-same.elf');
    expect(image.segments).toHaveLength(1);
    expect(image.segments[0]).toMatchObject({ address: 0x0800_0000 });
    expect(image.segments[0]!.data.length).toBe(0x50);
  });

  it('two program segments (no sections) over the same flash: different bytes refused, identical accepted', () => {
    const a = new Uint8Array(64).fill(1);
    const b = new Uint8Array(32).fill(2);
    const diff = thrown(() => parseFirmware('two.elf', writeElf([{ paddr: 0x0800_0000, data: a }, { paddr: 0x0800_0010, data: b }])));
    expect(diff.code).toBe('FIRMWARE_OVERLAP');
    expect(diff.message).toMatch(/segment 0.*segment 1/);
    const same = parseFirmware('two.elf', writeElf([{ paddr: 0x0800_0000, data: a }, { paddr: 0x0800_0010, data: a.subarray(0, 32) }]));
    expect(same.segments.map((s) => [s.address, s.data.length])).toEqual([[0x0800_0000, 64]]);
  });

  it('a repeated identical HEX record is accepted; a repeated address with other bytes is refused', () => {
    const rec = ':0400000001020304F2\n';
    const image = parseFirmware('r.hex', ascii(`:020000040800F2\n${rec}${rec}:00000001FF\n`));
    expect(image.segments.map((s) => [s.address, Array.from(s.data)])).toEqual([[0x0800_0000, [1, 2, 3, 4]]]);
    const e = thrown(() => parseFirmware('r.hex', ascii(`:020000040800F2\n${rec}:0400000001020305F1\n:00000001FF\n`)));
    expect(e.code).toBe('FIRMWARE_OVERLAP');
    expect(e.context.address).toBe(0x0800_0003);
  });
});

describe('an ELF for another machine', () => {
  it('an i386 ELF32 is refused naming the machine', () => {
    const e = thrown(() => fixture('x86-32.elf'));
    expect(e.code).toBe('FIRMWARE_UNSUPPORTED');
    expect(e.message).toMatch(/x86 \(i386\).*e_machine 3/);
  });

  it('a RISC-V ELF32 is refused too', () => {
    const e = thrown(() => parseFirmware('rv.elf', writeElf([{ paddr: 0x0800_0000, data: new Uint8Array(4) }], { machine: 243 })));
    expect(e.message).toMatch(/RISC-V/);
  });
});

describe('.dfu files made for another device or memory', () => {
  const seg = (address: number, alt?: number) => ({ address, data: new Uint8Array(64).fill(7), sources: ['x'], ...(alt !== undefined ? { alt } : {}) });
  const dfu = (opts: Parameters<typeof writeDfuSe>[1], ...segments: FirmwareImage['segments']) => parseFirmware('f.dfu', writeDfuSe({ segments }, opts));

  it('a suffix naming another VID:PID is an error; with --force a warning and the plan goes on', () => {
    const image = dfu({ vendorId: 0x1209, productId: 0x0001 }, seg(0x0800_0000));
    const p = seen(plan(image, romTarget(F746)));
    expect(codes(p)).toEqual(['DFU_DEVICE_MISMATCH']);
    expect(p.errors[0]!.message).toMatch(/1209:0001.*0483:df11/);
    const forced = seen(plan(image, romTarget(F746), { force: true }));
    expect(forced.ok).toBe(true);
    expect(forced.warnings.join('\n')).toMatch(/1209:0001.*as forced/);
    expect(cli(p.errors[0]!)).toContain('--force');
  });

  it('the ROM\'s 0483:DF11 and the "any" 0xFFFF fit', () => {
    expect(plan(dfu({}, seg(0x0800_0000)), romTarget(F746)).ok).toBe(true);
    expect(plan(dfu({ vendorId: 0xffff, productId: 0xffff }, seg(0x0800_0000)), romTarget(F746)).ok).toBe(true);
  });

  it('a target for alt 1 whose address is in alt 0 is an error naming both; --force goes on', () => {
    const image = dfu({}, seg(0x0800_0000, 1));
    const p = seen(plan(image, romTarget(F746)));
    expect(codes(p)).toEqual(['DFU_ALT_MISMATCH']);
    expect(p.errors[0]!.message).toMatch(/alt 1.*Internal Flash \(alt 0\)/);
    expect(plan(image, romTarget(F746), { force: true }).ok).toBe(true);
  });
});

describe('every option an error names exists', () => {
  it('the raw-BIN error carries the give-base-address remedy, which the CLI words with --base', () => {
    const e = thrown(() => parseFirmware('app.bin', new Uint8Array(16)));
    expect(toErrorData(e).remedy).toBe('give-base-address');
    const text = formatError(toErrorData(e), CLI_REMEDIES);
    expect(text).toContain('--base');
    expect(text).not.toContain('--address');
    texts.push(text);
  });

  it('each --option in error texts, hints and plan messages is accepted by the CLI parser', () => {
    const program = new Command('bootbridge').exitOverride();
    registerDeviceCommands(program);
    registerFlashCommands(program);
    registerMemoryCommands(program);
    registerProductionCommands(program);
    registerChipCommands(program);
    texts.push(
      ...Object.values(ERROR_TEXT).map((t) => t.hint ?? ''),
      ...Object.values(CLI_REMEDIES),
      unknownChipError('stm32x999').message,
      toErrorData(thrown(() => parseFirmware('x.bin', new Uint8Array(1)))).message,
      ...plan(parseFirmware('e.hex', ascii(':00000001FF\n')), { memories: romTarget(F746).memories }).warnings,
    );
    const flags = new Set(texts.flatMap((t) => t.match(/--[a-z][a-z-]*/g) ?? []));
    expect([...flags]).toEqual(expect.arrayContaining(['--allow-ram', '--force', '--base', '--chip', '--loader']));
    const commands = ['plan', 'flash', 'write'].map((n) => program.commands.find((c) => c.name() === n)!);
    for (const flag of flags) {
      // Parsed as the user would type it: the flag and a value (an operand when the flag takes none).
      const value = flag === '--sim' ? 'stm32f746' : '0x08000000';
      const accepted = commands.some((cmd) => !cmd.parseOptions([flag, value]).unknown.includes(flag));
      expect(accepted, `${flag} named in an error text is not an option of plan/flash/write`).toBe(true);
    }
  });
});

describe('chips the database used not to know', () => {
  const at = (address: number) => ({ format: 'elf' as const, segments: [{ address, data: new Uint8Array(4096).fill(9), sources: ['.text'] }], size: 4096 });

  it.each([
    ['stm32f767zi', 0x451, 0x0810_0000, 0x0810_0000],
    ['stm32f413zh', 0x463, 0x0814_0000, 0x0814_0000],
    ['stm32f469ni', 0x434, 0x0810_4000, 0x0810_4000],
    ['stm32h723zg', 0x483, 0x0802_1000, 0x0802_0000],
    ['stm32h745zi', 0x450, 0x0810_0000, 0x0810_0000],
  ])('--chip %s (0x%s): an image at %s plans against its own flash, erasing the sector at %s', (part, id, address, sector) => {
    const chip = chipByName(part)!;
    expect(chip.deviceId).toBe(id);
    const p = plan(at(address), romTarget(chip), { leave: false });
    expect(p.ok).toBe(true);
    expect(p.chip).toEqual({ deviceId: id, name: chip.name });
    expect(p.stages[0]!.erases.map((e) => e.address)).toEqual([sector]);
  });

  it('the same image is past the end of the F746\'s 1 MB flash', () => {
    expect(plan(at(0x0810_0000), romTarget(F746), { leave: false }).ok).toBe(false);
  });
});
