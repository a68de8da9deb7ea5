import { describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors.js';
import {
  dfuAlternates,
  dfuFunctional,
  parseConfiguration,
  parseDeviceDescriptor,
  parseStringDescriptor,
  readDeviceDescriptors,
} from '../../src-main/usb/descriptors.js';
import { hexToBytes } from '../../shared/format.js';
import { readDfuDescriptors } from '../../src-main/dfu/descriptors.js';
import { descriptorDevice, F107, F407, F746 } from './fixtures.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof BootBridgeError ? e.code : 'not a BootBridgeError';
  }
  return undefined;
}

describe('readDeviceDescriptors', () => {
  it('reads the F746 ROM descriptors as the CubeProgrammer log shows them', async () => {
    const d = await readDeviceDescriptors(descriptorDevice(F746));
    expect(d.device).toMatchObject({ idVendor: 0x0483, idProduct: 0xdf11, bcdDevice: 0x2200, bcdUSB: 0x0100, bMaxPacketSize0: 64, bNumConfigurations: 1 });
    expect(d.configurations).toHaveLength(1);
    const c = d.configurations[0]!;
    expect(c).toMatchObject({ wTotalLength: 0x36, bNumInterfaces: 1, bConfigurationValue: 1, bmAttributes: 0xc0, bMaxPower: 0x32 });
    expect(c.interfaces.map((i) => [i.bAlternateSetting, i.iInterface])).toEqual([[0, 4], [1, 5], [2, 6], [3, 7]]);
    expect(dfuFunctional(d)).toEqual({
      bLength: 9,
      bDescriptorType: 0x21,
      bmAttributes: 0x0b,
      attributes: { canDownload: true, canUpload: true, manifestationTolerant: false, willDetach: true },
      wDetachTimeOut: 255,
      wTransferSize: 2048,
      bcdDFUVersion: 0x011a,
    });
    expect(d.manufacturer).toBe('STMicroelectronics');
    expect(d.product).toBe('STM32  BOOTLOADER');
    expect(d.serialNumber).toBe('00000008FFFF');
    expect(d.speed).toBe('full');
    expect(d.langIds).toEqual([0x0409]);
  });

  it('decodes each alt setting name as a memory layout', async () => {
    const d = await readDfuDescriptors(descriptorDevice(F407));
    const alts = dfuAlternates(d);
    expect(alts).toHaveLength(4);
    const flash = alts[0]!.layout!;
    expect(flash.name).toBe('Internal Flash');
    expect(flash.blocks[0]!.start).toBe(0x08000000);
    expect(flash.blocks[0]!.size).toBe(1024 * 1024);
    expect(flash.blocks[0]!.sectors).toHaveLength(12);
    expect(alts[2]!.layout!.blocks[0]!.sectors.map((s) => s.size)).toEqual([512, 16]);
  });

  it('reads the F107 connectivity-line ROM: two alt settings, 36-byte configuration, 2 KiB pages', async () => {
    const d = await readDfuDescriptors(descriptorDevice(F107));
    expect(d.device.bcdDevice).toBe(0x2000);
    expect(d.configurations[0]!.wTotalLength).toBe(36);
    expect(d.product).toBe('STM32 0x418 DFU Bootloader');
    const alts = dfuAlternates(d);
    expect(alts.map((a) => a.layout!.blocks[0]!.sectors.length)).toEqual([128, 1]);
    expect(alts[0]!.layout!.blocks[0]!.size).toBe(256 * 1024);
  });

  it('keeps the raw bytes as hex that parse back to the same descriptors', async () => {
    const d = await readDeviceDescriptors(descriptorDevice(F746));
    expect(parseDeviceDescriptor(hexToBytes(d.deviceHex))).toEqual(d.device);
    expect(Array.from(hexToBytes(d.configurations[0]!.hex))).toEqual(F746.config);
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  });

  it('opens a closed device for the reads and closes it again', async () => {
    const dev = descriptorDevice(F746);
    await readDeviceDescriptors(dev);
    expect(dev.opened).toBe(false);
    // device, config header, whole config, langids, 7 strings
    expect(dev.transfers).toBe(1 + 2 + 1 + 7);
  });

  it('rejects a configuration whose wTotalLength exceeds what the device sent', async () => {
    const dev = descriptorDevice(F746, { config: (b) => ((b[2] = 0x40), b) });
    await expect(readDeviceDescriptors(dev)).rejects.toMatchObject({ code: 'DESCRIPTOR_INVALID' });
  });

  it('rejects a device descriptor with a wrong bLength', async () => {
    const dev = descriptorDevice(F746, { device: (b) => ((b[0] = 17), b) });
    await expect(readDeviceDescriptors(dev)).rejects.toMatchObject({ code: 'DESCRIPTOR_INVALID' });
  });
});

describe('parseConfiguration', () => {
  it('fails instead of looping on a zero-length descriptor', () => {
    const bad = [...F746.config];
    bad[9] = 0;
    expect(code(() => parseConfiguration(new Uint8Array(bad)))).toBe('DESCRIPTOR_INVALID');
  });

  it('fails on a descriptor that runs past wTotalLength', () => {
    const bad = [...F746.config];
    bad[9 + 9 * 3] = 40; // last alt setting claims 40 bytes
    expect(code(() => parseConfiguration(new Uint8Array(bad)))).toBe('DESCRIPTOR_INVALID');
  });

  it('fails on a truncated interface descriptor', () => {
    const bad = [9, 2, 14, 0, 1, 1, 0, 0xc0, 0x32, 5, 4, 0, 0, 0];
    expect(code(() => parseConfiguration(new Uint8Array(bad)))).toBe('DESCRIPTOR_INVALID');
  });

  it('fails on a DFU functional descriptor shorter than 7 bytes', () => {
    const bad = [9, 2, 14, 0, 1, 1, 0, 0xc0, 0x32, 5, 0x21, 0x0b, 0xff, 0];
    expect(code(() => parseConfiguration(new Uint8Array(bad)))).toBe('DESCRIPTOR_INVALID');
  });

  it('accepts a 7-byte DFU 1.0 functional descriptor without bcdDFUVersion', () => {
    const c = parseConfiguration(new Uint8Array([9, 2, 16, 0, 1, 1, 0, 0xc0, 0x32, 7, 0x21, 0x03, 0x10, 0x00, 0x00, 0x04]));
    expect(c.dfuFunctional).toMatchObject({ wDetachTimeOut: 16, wTransferSize: 1024 });
    expect(c.dfuFunctional!.bcdDFUVersion).toBeUndefined();
  });

  it('keeps descriptors it does not decode as raw hex', () => {
    const c = parseConfiguration(new Uint8Array([9, 2, 16, 0, 1, 1, 0, 0xc0, 0x32, 7, 5, 0x81, 3, 8, 0, 1]));
    expect(c.other).toEqual([{ bDescriptorType: 5, hex: '07058103080001' }]);
  });
});

describe('parseStringDescriptor', () => {
  it('decodes UTF-16LE', () => {
    expect(parseStringDescriptor(new Uint8Array([8, 3, 0x53, 0, 0x54, 0, 0xb5, 0]))).toBe('STµ');
  });
  it('rejects a bLength longer than the data', () => {
    expect(code(() => parseStringDescriptor(new Uint8Array([10, 3, 0x53, 0])))).toBe('DESCRIPTOR_INVALID');
  });
  it('rejects a wrong descriptor type', () => {
    expect(code(() => parseStringDescriptor(new Uint8Array([4, 2, 0x53, 0])))).toBe('DESCRIPTOR_INVALID');
  });
});
