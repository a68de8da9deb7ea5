// The DfuSe reading of a device's descriptors: each alt setting's name decoded as the memory layout it
// describes (AN3156, UM0424), or the reason it is not one. usb/ reads the descriptors as USB defines
// them; this adds what DfuSe means by them. Usage: `const d = await readDfuDescriptors(usbDevice)`.

import { readDeviceDescriptors, type DeviceDescriptors, type InterfaceDescriptor, type ReadDescriptorOptions } from '../usb/descriptors.js';
import { parseLayout, type MemoryLayout } from './layout.js';

export interface DfuAltSetting extends InterfaceDescriptor {
  /** The name decoded as a DfuSe memory layout, when it is one. */
  layout?: MemoryLayout;
  /** Why the name is not a layout (absent when it parsed or there is no name). */
  layoutError?: string;
}

/** Device descriptors whose alt settings carry their decoded layouts. Plain JSON-able data. */
export type DfuDeviceDescriptors = DeviceDescriptors<DfuAltSetting>;

/** Decodes every alt setting's name as a DfuSe layout, keeping the reason when it is not one. */
export function withLayouts(d: DeviceDescriptors): DfuDeviceDescriptors {
  return {
    ...d,
    configurations: d.configurations.map((c) => ({
      ...c,
      interfaces: c.interfaces.map((alt): DfuAltSetting => {
        const { layout: _layout, layoutError: _error, ...usb } = alt as DfuAltSetting;
        if (usb.name === undefined) return usb;
        try {
          return { ...usb, layout: parseLayout(usb.name) };
        } catch (e) {
          return { ...usb, layoutError: e instanceof Error ? e.message : String(e) };
        }
      }),
    })),
  };
}

/** Reads the descriptors (usb/descriptors.ts readDeviceDescriptors) and decodes the alt settings' layouts. */
export async function readDfuDescriptors(device: USBDevice, options: ReadDescriptorOptions = {}): Promise<DfuDeviceDescriptors> {
  return withLayouts(await readDeviceDescriptors(device, options));
}
