// UsbBackend on the `usb` package v3 (its WebUSB face, with every device allowed). The only file of
// the core folders that touches Node: the package is a native addon. Everything above sees USBDevice.

import { WebUSB } from 'usb';
import { BootBridgeError } from '../../shared/errors.js';
import type { UsbBackend } from './backend.js';

export class NodeUsbBackend implements UsbBackend {
  private readonly webusb: WebUSB;

  constructor(options: { deviceTimeoutMs?: number } = {}) {
    this.webusb = new WebUSB({ allowAllDevices: true, ...(options.deviceTimeoutMs ? { deviceTimeout: options.deviceTimeoutMs } : {}) });
  }

  async getDevices(): Promise<USBDevice[]> {
    try {
      return await this.webusb.getDevices();
    } catch (e) {
      // No USB subsystem (a container, a VM without USB passthrough) or no right to read it.
      throw new BootBridgeError('USB_UNAVAILABLE', `Cannot list USB devices: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
    }
  }

  onConnect(listener: (device: USBDevice) => void): () => void {
    return this.listen('connect', listener);
  }

  onDisconnect(listener: (device: USBDevice) => void): () => void {
    return this.listen('disconnect', listener);
  }

  private listen(type: 'connect' | 'disconnect', listener: (device: USBDevice) => void): () => void {
    const handler = (ev: USBConnectionEvent) => listener(ev.device);
    this.webusb.addEventListener(type, handler);
    return () => this.webusb.removeEventListener(type, handler);
  }

  portPath(device: USBDevice): string | undefined {
    return nodeUsbPortPath(device as unknown as { bus?: unknown; ports?: unknown });
  }
}

/** "bus-port.port…" as Linux sysfs names it, from the `bus` and `ports` v3 exposes. */
export function nodeUsbPortPath(d: { bus?: unknown; ports?: unknown }): string | undefined {
  const bus = d.bus;
  const ports = Array.isArray(d.ports) ? (d.ports as unknown[]).filter((p): p is number => typeof p === 'number') : [];
  if (typeof bus === 'string' && bus.includes('-')) return bus;
  // v3 gives the bus as a zero-padded string ("001"); sysfs and dfu-util write "1-2.3".
  const busNumber = typeof bus === 'number' ? bus : typeof bus === 'string' && /^\d+$/.test(bus) ? parseInt(bus, 10) : undefined;
  if (busNumber !== undefined) return ports.length > 0 ? `${busNumber}-${ports.join('.')}` : undefined;
  return undefined;
}
