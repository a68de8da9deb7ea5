import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors';
import { crc32, dfuSuffixCrc } from '../../src-main/firmware/crc32';
import { parseDfuSe, writeDfuSe } from '../../src-main/firmware/dfuse';
import { parseElf } from '../../src-main/firmware/elf';
import { buildImage, sameContent, type FirmwareImage } from '../../src-main/firmware/image';
import { fixture, readBytes, run, tempDir } from './tools';

function thrown(f: () => unknown): BootBridgeError {
  try {
    f();
  } catch (e) {
    if (e instanceof BootBridgeError) return e;
    throw e;
  }
  throw new Error('expected a BootBridgeError');
}

describe('CRC-32', () => {
  it('gives the check value of the standard for "123456789"', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(dfuSuffixCrc(new TextEncoder().encode('123456789'))).toBe(~0xcbf43926 >>> 0);
  });
});

describe('DfuSe files against dfu-util’s dfuse-pack', () => {
  const tmp = tempDir();
  const out = (name: string) => join(tmp.dir, name);
  let elf: FirmwareImage;

  beforeAll(() => {
    elf = parseElf(fixture('multi.elf'));
  });
  afterAll(() => tmp.cleanup());

  it('a .dfu we write is read by dfuse-pack with the same elements, suffix and a good CRC', () => {
    writeFileSync(out('ours.dfu'), writeDfuSe(elf, { vendorId: 0x0483, productId: 0xdf11, bcdDevice: 0x2200, targetName: 'BootBridge' }));
    const dump = run('dfuse-pack', ['-d', out('ours.dfu')], tmp.dir);
    expect(dump).not.toMatch(/ERROR/);
    expect(dump).toContain('targets: 1');
    expect(dump).toContain('alt setting: 0, name: "b\'BootBridge\'"');
    expect(dump).toContain('0, address: 0x08000000, size: 196');
    expect(dump).toContain('1, address: 0x90000000, size: 1024');
    expect(dump).toContain('usb: 0483:df11, device: 0x2200, dfu: 0x011a');
    elf.segments.forEach((s, i) => {
      expect(readBytes(out(`ours.dfu.target0.image${i}.bin`))).toEqual(s.data);
    });
    // dfu-suffix checks the suffix CRC independently of dfuse-pack.
    expect(run('dfu-suffix', ['-c', out('ours.dfu')])).toMatch(/Vendor ID:\s*0x0483/);
  });

  it('a .dfu made by dfuse-pack -b reads back as the same image, alt settings kept', () => {
    const flash = elf.segments[0]!;
    const qspi = elf.segments[1]!;
    writeFileSync(out('flash.bin'), flash.data);
    writeFileSync(out('qspi.bin'), qspi.data);
    run('dfuse-pack', ['-b', `0x08000000:${out('flash.bin')}`, '-b', `0x90000000@1:${out('qspi.bin')}`, '-D', '0x0483:0xdf11', out('theirs.dfu')]);
    const image = parseDfuSe(readBytes(out('theirs.dfu')));
    expect(sameContent(image, elf)).toBe(true);
    expect(image.segments.map((s) => s.alt)).toEqual([0, 1]);
    expect(image.usbId).toEqual({ vendorId: 0x0483, productId: 0xdf11, bcdDevice: 0 });
    expect(image.targetNames).toEqual({ 0: 'ST...', 1: 'ST...' });
    expect(image.segments[1]!.sources[0]).toContain('target 1');
  });

  it('round-trips an image through our writer and reader with alts and suffix IDs', () => {
    const image = buildImage('dfu', [
      { address: 0x08000000, data: new Uint8Array([1, 2, 3]), source: 'a', alt: 0 },
      { address: 0x1fffc000, data: new Uint8Array([0xaa, 0x55]), source: 'b', alt: 1 },
      { address: 0x90000000, data: new Uint8Array(300).fill(7), source: 'c', alt: 0 },
    ]);
    const back = parseDfuSe(writeDfuSe(image, { vendorId: 0x1209, productId: 0xb00b, bcdDevice: 0x0100 }));
    expect(sameContent(back, image)).toBe(true);
    expect(back.segments.map((s) => s.alt)).toEqual([0, 1, 0]);
    expect(back.usbId).toEqual({ vendorId: 0x1209, productId: 0xb00b, bcdDevice: 0x0100 });
  });

  it('refuses a file whose CRC does not match its bytes', () => {
    const bytes = writeDfuSe(elf);
    bytes[300] = bytes[300]! ^ 0x01; // one flipped bit inside the first element
    const err = thrown(() => parseDfuSe(bytes));
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.context.field).toBe('dwCRC');
  });

  it('refuses a truncated file', () => {
    const bytes = writeDfuSe(elf);
    const err = thrown(() => parseDfuSe(bytes.slice(0, 400)));
    expect(err.code).toBe('FIRMWARE_INVALID');
  });

  it('refuses an element that runs past its target, even with a correct CRC', () => {
    const bytes = writeDfuSe(buildImage('bin', [{ address: 0x08000000, data: new Uint8Array(16), source: 'x' }]));
    const view = new DataView(bytes.buffer);
    view.setUint32(11 + 274 + 4, 17, true); // dwElementSize one past the data
    view.setUint32(bytes.length - 4, dfuSuffixCrc(bytes.subarray(0, bytes.length - 4)), true);
    const err = thrown(() => parseDfuSe(bytes));
    expect(err.code).toBe('FIRMWARE_INVALID');
    expect(err.context.field).toBe('dwElementSize');
  });
});
