// The descriptor dump engineers know from STM32CubeProgrammer's verbose mode (`-vb 3`), line for line,
// followed by each alt setting's memory layout as sector runs. `formatDump(await readDfuDescriptors(d))`.

import { formatSize, hex as h } from '../../shared/format.js';
import { dfuFunctional } from '../usb/descriptors.js';
import type { DfuDeviceDescriptors } from './descriptors.js';
import type { MemoryLayout } from './layout.js';

const field = (name: string, value: string): string => ` |_${name} : ${value}`;

const SPEED_TEXT: Record<string, string> = {
  low: 'Low Speed (1.5MBit/s)',
  full: 'Full Speed (12MBit/s)',
  high: 'High Speed (480MBit/s)',
  super: 'Super Speed (5GBit/s)',
  superplus: 'Super Speed+ (10GBit/s)',
};

/** Sector runs of one layout, one line each: address range, count × size, r/e/w flags. */
export function formatLayoutRuns(layout: MemoryLayout): string[] {
  const lines: string[] = [];
  for (const block of layout.blocks) {
    let i = 0;
    while (i < block.sectors.length) {
      const first = block.sectors[i]!;
      let n = 1;
      while (i + n < block.sectors.length) {
        const s = block.sectors[i + n]!;
        if (s.size !== first.size || s.readable !== first.readable || s.erasable !== first.erasable || s.writable !== first.writable) break;
        n++;
      }
      const end = first.start + n * first.size - 1;
      const flags = (first.readable ? 'r' : '-') + (first.erasable ? 'e' : '-') + (first.writable ? 'w' : '-');
      lines.push(` |_${h(first.start, 8)} - ${h(end, 8)} : ${n} x ${formatSize(first.size)} ${flags}`);
      i += n;
    }
  }
  return lines;
}

export function formatDump(d: DfuDeviceDescriptors): string {
  const dev = d.device;
  const out: string[] = [
    'Device Descriptor:',
    field('bLength', h(dev.bLength, 2)),
    field('bDescriptorType', h(dev.bDescriptorType, 2)),
    field('bcdUSB', h(dev.bcdUSB, 4)),
    field('bDeviceClass', h(dev.bDeviceClass, 2)),
    field('bDeviceSubClass', h(dev.bDeviceSubClass, 2)),
    field('bDeviceProtocol', h(dev.bDeviceProtocol, 2)),
    field('bMaxPacketSize', h(dev.bMaxPacketSize0, 2)),
    field('idVendor', h(dev.idVendor, 4)),
    field('idProduct', h(dev.idProduct, 4)),
    field('bcdDevice', h(dev.bcdDevice, 4)),
    field('iManufacturer', h(dev.iManufacturer, 2)),
    field('iProduct', h(dev.iProduct, 2)),
    field('iSerialNumber', h(dev.iSerialNumber, 2)),
    field('bNumConfigurations', h(dev.bNumConfigurations, 2)),
  ];
  for (const c of d.configurations) {
    out.push(
      'Configuration Descriptor:',
      field('bLength', h(c.bLength, 2)),
      field('bDescriptorType', h(c.bDescriptorType, 2)),
      // CubeProgrammer prints wTotalLength and wDetachTimeOut with two digits, the other words with four.
      field('wTotalLength', h(c.wTotalLength, 2)),
      field('bNumInterfaces', h(c.bNumInterfaces, 2)),
      field('bConfigurationValue', h(c.bConfigurationValue, 2)),
      field('iConfiguration', h(c.iConfiguration, 2)),
      field('bmAttributes', h(c.bmAttributes, 2)),
      field('bMaxPower', h(c.bMaxPower, 2)),
    );
    for (const a of c.interfaces) {
      out.push(
        `Interface Descriptor Alternate Settings: ${h(a.bAlternateSetting, 2)}`,
        field('bLength', h(a.bLength, 2)),
        field('bDescriptorType', h(a.bDescriptorType, 2)),
        field('bInterfaceNumber', h(a.bInterfaceNumber, 2)),
        field('bAlternateSetting', h(a.bAlternateSetting, 2)),
        field('bNumEndpoints', h(a.bNumEndpoints, 2)),
        field('bInterfaceClass', h(a.bInterfaceClass, 2)),
        field('bInterfaceSubClass', h(a.bInterfaceSubClass, 2)),
        field('bInterfaceProtocol', h(a.bInterfaceProtocol, 2)),
        field('iInterface', h(a.iInterface, 2)),
      );
    }
    const f = c.dfuFunctional;
    if (f) {
      out.push(
        'Functional Descriptor :',
        field('bLength', h(f.bLength, 2)),
        field('bDescriptorType', h(f.bDescriptorType, 2)),
        field('bmAttributes', h(f.bmAttributes, 2)),
        field('wDetachTimeOut', h(f.wDetachTimeOut, 2)),
        field('wTransferSize', h(f.wTransferSize, 4)),
      );
      if (f.bcdDFUVersion !== undefined) out.push(field('bcdDFUVersion', h(f.bcdDFUVersion, 4)));
    }
  }
  out.push(`USB speed : ${SPEED_TEXT[d.speed] ?? d.speed}`);
  out.push(`Manuf. ID : ${d.manufacturer ?? '--'}`);
  out.push(`Product ID : ${d.product ?? '--'}`);
  out.push(`SN : ${d.serialNumber ?? '--'}`);
  const bcdDfu = dfuFunctional(d)?.bcdDFUVersion;
  if (bcdDfu !== undefined) out.push(`FW version : ${h(bcdDfu, 4)}`);
  for (const c of d.configurations) {
    for (const a of c.interfaces) {
      out.push(`Memory of Alternate Setting ${h(a.bAlternateSetting, 2)} : ${a.name ?? '--'}`);
      if (a.layout) {
        out.push(field('Name', a.layout.name));
        out.push(...formatLayoutRuns(a.layout));
      } else if (a.layoutError) {
        out.push(field('Layout', `not a DfuSe layout (${a.layoutError})`));
      }
    }
  }
  return out.join('\n') + '\n';
}
