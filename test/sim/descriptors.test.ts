import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIM_MODELS, SimBus } from '../../src-main/sim/index';
import { simChip } from '../../src-main/sim/models';
import { parseLayout } from '../../src-main/dfu/layout';
import { VirtualClock } from '../../src-main/util/clock';

// The real captures live beside the repository (DESIGN.md "Testing": ../shared/reference/device-logs).
const here = dirname(fileURLToPath(import.meta.url));
const logs = resolve(here, '../../../shared/reference/device-logs');

const std = (request: number, value: number, index = 0): USBControlTransferParameters => ({ requestType: 'standard', recipient: 'device', request, value, index });

async function descriptors(dev: USBDevice) {
  await dev.open();
  await dev.claimInterface(0);
  const get = async (value: number, len = 255) => {
    const r = await dev.controlTransferIn(std(6, value), len);
    return new Uint8Array(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength);
  };
  const device = await get(0x0100);
  const configuration = await get(0x0200);
  const str = async (i: number) => {
    const d = await get(0x0300 | i);
    let s = '';
    for (let k = 2; k < d[0]!; k += 2) s += String.fromCharCode(d[k]! | (d[k + 1]! << 8));
    return s;
  };
  return { device, configuration, str, get };
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);

/** Our bytes, named as STM32CubeProgrammer -vb 3 names them. */
function cubeFields(device: Uint8Array, cfg: Uint8Array): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  out['Device Descriptor'] = {
    bLength: device[0]!, bDescriptorType: device[1]!, bcdUSB: u16(device, 2), bDeviceClass: device[4]!, bDeviceSubClass: device[5]!,
    bDeviceProtocol: device[6]!, bMaxPacketSize: device[7]!, idVendor: u16(device, 8), idProduct: u16(device, 10), bcdDevice: u16(device, 12),
    iManufacturer: device[14]!, iProduct: device[15]!, iSerialNumber: device[16]!, bNumConfigurations: device[17]!,
  };
  out['Configuration Descriptor'] = {
    bLength: cfg[0]!, bDescriptorType: cfg[1]!, wTotalLength: u16(cfg, 2), bNumInterfaces: cfg[4]!, bConfigurationValue: cfg[5]!,
    iConfiguration: cfg[6]!, bmAttributes: cfg[7]!, bMaxPower: cfg[8]!,
  };
  for (let o = 9; o < cfg.length; o += cfg[o]!) {
    if (cfg[o + 1] === 4) {
      out[`Interface Descriptor Alternate Settings: 0x${cfg[o + 3]!.toString(16).padStart(2, '0')}`] = {
        bLength: cfg[o]!, bDescriptorType: cfg[o + 1]!, bInterfaceNumber: cfg[o + 2]!, bAlternateSetting: cfg[o + 3]!, bNumEndpoints: cfg[o + 4]!,
        bInterfaceClass: cfg[o + 5]!, bInterfaceSubClass: cfg[o + 6]!, bInterfaceProtocol: cfg[o + 7]!, iInterface: cfg[o + 8]!,
      };
    } else if (cfg[o + 1] === 0x21) {
      out['Functional Descriptor'] = {
        bLength: cfg[o]!, bDescriptorType: cfg[o + 1]!, bmAttributes: cfg[o + 2]!, wDetachTimeOut: u16(cfg, o + 3), wTransferSize: u16(cfg, o + 5), bcdDFUVersion: u16(cfg, o + 7),
      };
    }
  }
  return out;
}

function parseCube(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  let section = '';
  for (const line of text.split('\n')) {
    const field = /^ \|_(\w+) : 0x([0-9a-fA-F]+)/.exec(line);
    if (field && section) out[section]![field[1]!] = parseInt(field[2]!, 16);
    else if (/^\S.*:\s*(0x[0-9a-f]+)?\s*$/i.test(line) && !line.includes(' : ')) {
      section = line.replace(/\s*:\s*$/, '').replace(/\s+:\s*/, ': ').trim();
      out[section] = {};
    }
  }
  return out;
}

describe('simulated ROM descriptors against real captures', () => {
  it('the F746 ROM sends the descriptors STM32CubeProgrammer dumped from a real STM32F746, field for field', async () => {
    const text = readFileSync(resolve(logs, 'stm32f746-cubeprogrammer-vb3.log'), 'utf8');
    const real = parseCube(text);
    expect(Object.keys(real)).toContain('Functional Descriptor');
    const bus = new SimBus({ clock: new VirtualClock() });
    const board = bus.addBoard('stm32f746');
    const { device, configuration, str } = await descriptors(board.device!);
    const ours = cubeFields(device, configuration);
    let compared = 0;
    for (const [section, fields] of Object.entries(real)) {
      for (const [name, value] of Object.entries(fields)) {
        expect({ section, name, value: ours[section]?.[name] }).toEqual({ section, name, value });
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(14 + 8 + 4 * 9 + 6);
    expect(await str(1)).toBe(/Manuf\. ID : (.*)/.exec(text)![1]);
    // The forum copy collapsed the double space (device-logs/README.md); the ROM sends two.
    expect(await str(2)).toBe('STM32  BOOTLOADER');
    expect((await str(2)).replace(/ +/g, ' ')).toBe(/Product ID : (.*)/.exec(text)![1]);
    expect(await str(3)).toBe(/SN : (\w+)/.exec(text)![1]);
  });

  it('the F407 ROM matches lsusb -v of a real STM32F4-Discovery, field for field and string for string', async () => {
    const text = readFileSync(resolve(logs, 'stm32f4discovery.lsusb'), 'utf8');
    const bus = new SimBus({ clock: new VirtualClock() });
    const board = bus.addBoard('stm32f407');
    const { device, configuration, str } = await descriptors(board.device!);
    const lines = text.split('\n').map((l) => l.trim());
    const values = (name: string) => lines.filter((l) => l.startsWith(name + ' ')).map((l) => l.slice(name.length).trim());
    const num = (s: string) => (s.startsWith('0x') ? parseInt(s, 16) : parseInt(s, 10));
    const bcd = (s: string) => {
      const [maj, min] = s.split('.') as [string, string];
      return (parseInt(maj, 16) << 8) | parseInt(min.padEnd(2, '0'), 16);
    };
    const d = cubeFields(device, configuration);
    const dev = d['Device Descriptor']!;
    const cfg = d['Configuration Descriptor']!;
    expect(dev.bLength).toBe(num(values('bLength')[0]!));
    expect(dev.bcdUSB).toBe(bcd(values('bcdUSB')[0]!));
    expect(dev.bDeviceClass).toBe(num(values('bDeviceClass')[0]!.split(' ')[0]!));
    expect(dev.bMaxPacketSize).toBe(num(values('bMaxPacketSize0')[0]!));
    expect(dev.idVendor).toBe(num(values('idVendor')[0]!.split(' ')[0]!));
    expect(dev.idProduct).toBe(num(values('idProduct')[0]!.split(' ')[0]!));
    expect(dev.bcdDevice).toBe(bcd(values('bcdDevice')[0]!));
    for (const [field, index] of [['iManufacturer', 1], ['iProduct', 2], ['iSerial', 3]] as const) {
      const [n, ...rest] = values(field)[0]!.split(' ');
      expect(index).toBe(num(n!));
      expect(await str(index)).toBe(rest.join(' '));
    }
    expect(cfg.wTotalLength).toBe(num(values('wTotalLength')[0]!));
    expect(cfg.bmAttributes).toBe(num(values('bmAttributes')[0]!));
    expect(cfg.bMaxPower! * 2 + 'mA').toBe(values('MaxPower')[0]);
    const alts = values('iInterface');
    expect(alts).toHaveLength(4);
    for (let alt = 0; alt < alts.length; alt++) {
      const n = alts[alt]!.split(' ')[0]!;
      const ours = d[`Interface Descriptor Alternate Settings: 0x0${alt}`]!;
      expect(ours.iInterface).toBe(num(n));
      expect(ours.bInterfaceClass).toBe(num(values('bInterfaceClass')[alt]!.split(' ')[0]!));
      expect(ours.bInterfaceSubClass).toBe(num(values('bInterfaceSubClass')[alt]!.split(' ')[0]!));
      expect(ours.bInterfaceProtocol).toBe(num(values('bInterfaceProtocol')[alt]!.split(' ')[0]!));
      expect(await str(ours.iInterface!)).toBe(alts[alt]!.slice(n.length + 1));
    }
    const f = d['Functional Descriptor']!;
    expect(f.bmAttributes).toBe(num(values('bmAttributes')[1]!));
    expect(f.wDetachTimeOut).toBe(num(values('wDetachTimeout')[0]!.split(' ')[0]!));
    expect(f.wTransferSize).toBe(num(values('wTransferSize')[0]!.split(' ')[0]!));
    expect(f.bcdDFUVersion).toBe(bcd(values('bcdDFUVersion')[0]!));
  });

  it.each(SIM_MODELS)('%s: descriptors are self-consistent and agree with the chip database', async (model) => {
    const bus = new SimBus({ clock: new VirtualClock() });
    const board = bus.addBoard(model);
    const dev = board.device!;
    const { device, configuration, str, get } = await descriptors(dev);
    const chip = simChip(model);
    expect(device.length).toBe(18);
    expect(u16(configuration, 2)).toBe(configuration.length);
    const alts: number[] = [];
    let functional = 0;
    for (let o = 9; o < configuration.length; o += configuration[o]!) {
      expect(configuration[o]).toBeGreaterThan(1);
      if (configuration[o + 1] === 4) alts.push(configuration[o + 3]!);
      if (configuration[o + 1] === 0x21) functional++;
    }
    expect(alts).toEqual(chip.romAltStrings.map((_, i) => i));
    expect(functional).toBe(1);
    expect(u16(device, 12)).toBe(chip.rom.bcdDevice);
    expect(await str(2)).toBe(chip.rom.product);
    expect(await str(3)).toBe(board.serial);
    expect(dev.serialNumber).toBe(board.serial);
    for (let i = 0; i < alts.length; i++) {
      const name = await str(4 + i);
      expect(name).toBe(chip.romAltStrings[i]);
      expect(() => parseLayout(name)).not.toThrow();
      expect(dev.configuration!.interfaces[0]!.alternates[i]!.interfaceName).toBe(name);
    }
    // LANGID table, and wLength truncation as on the wire.
    expect([...(await get(0x0300))]).toEqual([4, 3, 0x09, 0x04]);
    expect((await get(0x0100, 8)).length).toBe(8);
    expect((await get(0x0200, 9))[2]).toBe(configuration.length & 0xff);
    // A string index past the table and a device qualifier are STALLed (the usb package rejects).
    await expect(get(0x0300 | (4 + alts.length))).rejects.toThrow('endpoint stalled');
    await expect(get(0x0600)).rejects.toThrow('endpoint stalled');
  });

  it('gives every board on a bus its own deterministic serial, derived as ST derives it from the UID', () => {
    const bus = new SimBus({ clock: new VirtualClock() });
    const a = bus.addBoard('stm32f746');
    const b = bus.addBoard('stm32f746');
    const c = bus.addBoard('stm32f407');
    expect(a.serial).toBe('00000008FFFF');
    expect(b.serial).toBe('00000009FFFF');
    expect(c.serial).toBe('315A28A0B956');
    expect(new Set([a.portPath, b.portPath, c.portPath]).size).toBe(3);
    const uid = new DataView(a.read(simChip('stm32f746').uidAddress, 12).buffer);
    const w0 = uid.getUint32(0, true), w1 = uid.getUint32(4, true), w2 = uid.getUint32(8, true);
    const serial = ((w0 + w2) >>> 0).toString(16).toUpperCase().padStart(8, '0') + (w1 >>> 16).toString(16).toUpperCase().padStart(4, '0');
    expect(serial).toBe(a.serial);
  });
});
