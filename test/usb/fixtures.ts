// Raw descriptor bytes rebuilt from the captures of real ROM bootloaders (STM32F746 CubeProgrammer
// -vb 3 log, STM32F407 lsusb), and a minimal USBDevice that answers GET_DESCRIPTOR from them.

export interface RawDevice {
  device: number[];
  config: number[];
  strings: Record<number, string>;
}

function stringDescriptor(s: string): number[] {
  const out = [2 + 2 * s.length, 3];
  for (const ch of s) out.push(ch.charCodeAt(0) & 0xff, ch.charCodeAt(0) >> 8);
  return out;
}

function build(bcdDevice: number, alts: string[], serial: string, product: string): RawDevice {
  const device = [18, 1, 0x00, 0x01, 0, 0, 0, 64, 0x83, 0x04, 0x11, 0xdf, bcdDevice & 0xff, bcdDevice >> 8, 1, 2, 3, 1];
  const body: number[] = [];
  alts.forEach((_, i) => body.push(9, 4, 0, i, 0, 0xfe, 0x01, 0x02, 4 + i));
  // The ST ROM sends the DFU functional descriptor after the last alt setting.
  body.push(9, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x08, 0x1a, 0x01);
  const total = 9 + body.length;
  const config = [9, 2, total & 0xff, total >> 8, 1, 1, 0, 0xc0, 0x32, ...body];
  const strings: Record<number, string> = { 1: 'STMicroelectronics', 2: product, 3: serial };
  alts.forEach((a, i) => (strings[4 + i] = a));
  return { device, config, strings };
}

export const F746 = build(
  0x2200,
  [
    '@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg',
    '@Option Bytes  /0x1FFF0000/01*032 e',
    '@OTP Memory   /0x1FF0F000/01*1024 e',
    '@Device Feature/0xFFFF0000/01*004 e',
  ],
  '00000008FFFF',
  'STM32  BOOTLOADER',
);

export const F407 = build(
  0x2100,
  [
    '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg',
    '@Option Bytes  /0x1FFFC000/01*016 g',
    '@OTP Memory /0x1FFF7800/01*512 g,01*016 g',
    '@Device Feature/0xFFFF0000/01*004 g',
  ],
  '315A28A0B956',
  'STM32  BOOTLOADER',
);

export const F107 = build(0x2000, ['@Internal Flash  /0x08000000/128*002Kg', '@Option Bytes  /0x1FFFF800/01*016 g'], 'STM32', 'STM32 0x418 DFU Bootloader');

/** A USBDevice that answers only standard GET_DESCRIPTOR; `patch` lets a test corrupt the bytes. */
export function descriptorDevice(raw: RawDevice, patch: { config?: (b: number[]) => number[]; device?: (b: number[]) => number[] } = {}): USBDevice & { transfers: number } {
  const device = patch.device ? patch.device([...raw.device]) : raw.device;
  const config = patch.config ? patch.config([...raw.config]) : raw.config;
  const fake = {
    opened: false,
    transfers: 0,
    async open() {
      fake.opened = true;
    },
    async close() {
      fake.opened = false;
    },
    async controlTransferIn(setup: USBControlTransferParameters, length: number): Promise<USBInTransferResult> {
      fake.transfers++;
      if (setup.request !== 6) return { status: 'stall' };
      const type = setup.value >> 8;
      const index = setup.value & 0xff;
      let bytes: number[] | undefined;
      if (type === 1) bytes = device;
      else if (type === 2 && index === 0) bytes = config;
      else if (type === 3 && index === 0) bytes = [4, 3, 0x09, 0x04];
      else if (type === 3 && raw.strings[index] !== undefined) bytes = stringDescriptor(raw.strings[index]!);
      if (!bytes) return { status: 'stall' };
      const data = new Uint8Array(bytes.slice(0, length));
      return { status: 'ok', data: new DataView(data.buffer) };
    },
  };
  return fake as unknown as USBDevice & { transfers: number };
}

// STM32CubeProgrammer v2.9.0 `-vb 3` on a real STM32F746 ROM bootloader, up to the serial number.
// The forum copy collapsed the product string's double space; the ROM sends "STM32  BOOTLOADER".
export const CUBEPROGRAMMER_VB3 = `
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
