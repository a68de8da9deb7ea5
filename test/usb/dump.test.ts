import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { readDeviceDescriptors } from '../../src-main/usb/descriptors.js';
import { formatDump, formatLayoutRuns } from '../../src-main/usb/dump.js';
import { descriptorDevice, F746 } from './fixtures.js';

// STM32CubeProgrammer v2.9.0 `-vb 3` on a real STM32F746 ROM bootloader, up to the serial number.
// The forum copy collapsed the product string's double space; the ROM sends "STM32  BOOTLOADER".
const CUBEPROGRAMMER_VB3 = `
Device Descriptor:
 |_bLength : 0x12
 |_bDescriptorType : 0x01
 |_bcdUSB : 0x0100
 |_bDeviceClass : 0x00
 |_bDeviceSubClass : 0x00
 |_bDeviceProtocol : 0x00
 |_bMaxPacketSize : 0x40
 |_idVendor : 0x0483
 |_idProduct : 0xdf11
 |_bcdDevice : 0x2200
 |_iManufacturer : 0x01
 |_iProduct : 0x02
 |_iSerialNumber : 0x03
 |_bNumConfigurations : 0x01
Configuration Descriptor:
 |_bLength : 0x09
 |_bDescriptorType : 0x02
 |_wTotalLength : 0x36
 |_bNumInterfaces : 0x01
 |_bConfigurationValue : 0x01
 |_iConfiguration : 0x00
 |_bmAttributes : 0xc0
 |_bMaxPower : 0x32
Interface Descriptor Alternate Settings: 0x00
 |_bLength : 0x09
 |_bDescriptorType : 0x04
 |_bInterfaceNumber : 0x00
 |_bAlternateSetting : 0x00
 |_bNumEndpoints : 0x00
 |_bInterfaceClass : 0xfe
 |_bInterfaceSubClass : 0x01
 |_bInterfaceProtocol : 0x02
 |_iInterface : 0x04
Interface Descriptor Alternate Settings: 0x01
 |_bLength : 0x09
 |_bDescriptorType : 0x04
 |_bInterfaceNumber : 0x00
 |_bAlternateSetting : 0x01
 |_bNumEndpoints : 0x00
 |_bInterfaceClass : 0xfe
 |_bInterfaceSubClass : 0x01
 |_bInterfaceProtocol : 0x02
 |_iInterface : 0x05
Interface Descriptor Alternate Settings: 0x02
 |_bLength : 0x09
 |_bDescriptorType : 0x04
 |_bInterfaceNumber : 0x00
 |_bAlternateSetting : 0x02
 |_bNumEndpoints : 0x00
 |_bInterfaceClass : 0xfe
 |_bInterfaceSubClass : 0x01
 |_bInterfaceProtocol : 0x02
 |_iInterface : 0x06
Interface Descriptor Alternate Settings: 0x03
 |_bLength : 0x09
 |_bDescriptorType : 0x04
 |_bInterfaceNumber : 0x00
 |_bAlternateSetting : 0x03
 |_bNumEndpoints : 0x00
 |_bInterfaceClass : 0xfe
 |_bInterfaceSubClass : 0x01
 |_bInterfaceProtocol : 0x02
 |_iInterface : 0x07
Functional Descriptor :
 |_bLength : 0x09
 |_bDescriptorType : 0x21
 |_bmAttributes : 0x0b
 |_wDetachTimeOut : 0xff
 |_wTransferSize : 0x0800
 |_bcdDFUVersion : 0x011a
USB speed : Full Speed (12MBit/s)
Manuf. ID : STMicroelectronics
Product ID : STM32  BOOTLOADER
SN : 00000008FFFF
`.trimStart();

describe('formatDump', () => {
  it('prints the F746 descriptors exactly as STM32CubeProgrammer -vb 3 does', async () => {
    const dump = formatDump(await readDeviceDescriptors(descriptorDevice(F746)));
    expect(dump.startsWith(CUBEPROGRAMMER_VB3)).toBe(true);
  });

  it('follows with every alt setting decoded as sector runs', async () => {
    const dump = formatDump(await readDeviceDescriptors(descriptorDevice(F746)));
    const tail = dump.slice(CUBEPROGRAMMER_VB3.length).split('\n');
    expect(tail).toContain('FW version : 0x011a');
    expect(tail).toContain('Memory of Alternate Setting 0x00 : @Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg');
    expect(tail).toContain(' |_0x08000000 - 0x0801ffff : 4 x 32 KiB rew');
    expect(tail).toContain(' |_0x08020000 - 0x0803ffff : 1 x 128 KiB rew');
    expect(tail).toContain(' |_0x08040000 - 0x080fffff : 3 x 256 KiB rew');
    expect(tail).toContain(' |_0x1fff0000 - 0x1fff001f : 1 x 32 B r-w');
  });
});

describe('formatLayoutRuns', () => {
  it('gives one line per run of equal sectors in every address block, with r/e/w flags', () => {
    const layout = parseLayout('@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e,02*1Ka');
    expect(formatLayoutRuns(layout)).toEqual([
      ' |_0x1fff7800 - 0x1fff782f : 1 x 48 B r-w',
      ' |_0x1ffff800 - 0x1ffff82f : 1 x 48 B r-w',
      ' |_0x1ffff830 - 0x2000002f : 2 x 1 KiB r--',
    ]);
  });
});
