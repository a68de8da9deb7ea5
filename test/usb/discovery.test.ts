import { describe, expect, it } from 'vitest';
import type { UsbBackend } from '../../src-main/usb/backend.js';
import { DeviceWatcher, hasDfuInterface } from '../../src-main/usb/discovery.js';
import { nodeUsbPortPath } from '../../src-main/usb/node-usb.js';
import { VirtualClock } from '../../src-main/util/clock.js';

function fakeDevice(vendorId: number, productId: number, serialNumber: string, dfu = true): USBDevice {
  const alternate = { interfaceClass: dfu ? 0xfe : 0x03, interfaceSubclass: dfu ? 0x01 : 0x00 };
  const configuration = { interfaces: [{ alternates: [alternate] }] };
  return { vendorId, productId, serialNumber, configuration, configurations: [configuration] } as unknown as USBDevice;
}

/** A bus whose hot-plug events can be switched off, to prove polling finds what events miss. */
class FakeBus implements UsbBackend {
  devices: USBDevice[] = [];
  events = true;
  private connect = new Set<(d: USBDevice) => void>();
  private disconnect = new Set<(d: USBDevice) => void>();
  plug(d: USBDevice) {
    this.devices.push(d);
    if (this.events) for (const l of this.connect) l(d);
  }
  unplug(d: USBDevice) {
    this.devices = this.devices.filter((x) => x !== d);
    if (this.events) for (const l of this.disconnect) l(d);
  }
  async getDevices() {
    return [...this.devices];
  }
  onConnect(l: (d: USBDevice) => void) {
    this.connect.add(l);
    return () => this.connect.delete(l);
  }
  onDisconnect(l: (d: USBDevice) => void) {
    this.disconnect.add(l);
    return () => this.disconnect.delete(l);
  }
  portPath() {
    return undefined;
  }
}

describe('DeviceWatcher', () => {
  it('reports a device attached and detached once, whether events, polling or both see it', async () => {
    const clock = new VirtualClock();
    const bus = new FakeBus();
    const w = new DeviceWatcher(bus, { clock, pollMs: 100 });
    const seen: string[] = [];
    w.on('attached', (d) => seen.push(`+${d.serialNumber}`));
    w.on('detached', (d) => seen.push(`-${d.serialNumber}`));
    await w.start();
    const a = fakeDevice(0x0483, 0xdf11, 'A');
    bus.plug(a);
    await clock.sleep(350); // several polls see it too
    bus.unplug(a);
    await clock.sleep(350);
    w.stop();
    expect(seen).toEqual(['+A', '-A']);
  });

  it('finds devices whose hot-plug events were missed, by polling', async () => {
    const clock = new VirtualClock();
    const bus = new FakeBus();
    bus.events = false;
    const w = new DeviceWatcher(bus, { clock, pollMs: 100 });
    await w.start();
    bus.plug(fakeDevice(0x0483, 0xdf11, 'B'));
    expect(w.devices()).toHaveLength(0);
    await clock.sleep(150);
    expect(w.devices().map((d) => d.serialNumber)).toEqual(['B']);
    bus.devices = [];
    await clock.sleep(150);
    expect(w.devices()).toHaveLength(0);
    w.stop();
  });

  it('keeps only DFU-class devices, or the VID/PIDs asked for', async () => {
    const clock = new VirtualClock();
    const bus = new FakeBus();
    bus.devices = [fakeDevice(0x0483, 0xdf11, 'dfu'), fakeDevice(0x046d, 0xc077, 'mouse', false), fakeDevice(0x1209, 0x0001, 'loader', false)];
    const byClass = new DeviceWatcher(bus, { clock });
    await byClass.scan();
    expect(byClass.devices().map((d) => d.serialNumber)).toEqual(['dfu']);
    const byId = new DeviceWatcher(bus, { clock, filters: [{ vendorId: 0x1209, productId: 0x0001 }], includeDfuClass: false });
    await byId.scan();
    expect(byId.devices().map((d) => d.serialNumber)).toEqual(['loader']);
    expect(hasDfuInterface(bus.devices[1]!)).toBe(false);
  });

  it('waitFor resolves with a device that appears later, seen by polling alone', async () => {
    const clock = new VirtualClock();
    const bus = new FakeBus();
    bus.events = false;
    const w = new DeviceWatcher(bus, { clock, pollMs: 200 });
    const t0 = clock.now();
    void clock.sleep(1000).then(() => bus.plug(fakeDevice(0x0483, 0xdf11, 'late')));
    const d = await w.waitFor((x) => x.serialNumber === 'late', { timeoutMs: 5000 });
    expect(d.serialNumber).toBe('late');
    expect(clock.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(clock.now() - t0).toBeLessThanOrEqual(1200);
    expect(w.running).toBe(false);
  });

  it('waitFor takes a device already present and ignores ones the predicate rejects', async () => {
    const clock = new VirtualClock();
    const bus = new FakeBus();
    bus.devices = [fakeDevice(0x0483, 0xdf11, 'other'), fakeDevice(0x0483, 0xdf11, 'mine')];
    const w = new DeviceWatcher(bus, { clock });
    const d = await w.waitFor(async (x) => x.serialNumber === 'mine', { timeoutMs: 100 });
    expect(d.serialNumber).toBe('mine');
  });

  it('waitFor times out with DEVICE_NOT_FOUND after the given time', async () => {
    const clock = new VirtualClock();
    const w = new DeviceWatcher(new FakeBus(), { clock, pollMs: 100 });
    await expect(w.waitFor(() => true, { timeoutMs: 3000 })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    expect(clock.now()).toBe(3000);
  });

  it('waitFor stops when its signal is aborted', async () => {
    const clock = new VirtualClock();
    const w = new DeviceWatcher(new FakeBus(), { clock });
    const ac = new AbortController();
    void clock.sleep(50).then(() => ac.abort(new Error('stop')));
    await expect(w.waitFor(() => true, { timeoutMs: 10_000, signal: ac.signal })).rejects.toThrow('stop');
    expect(clock.now()).toBeLessThan(10_000);
  });
});

describe('nodeUsbPortPath', () => {
  it.each([
    [{ bus: '1', ports: [2, 3] }, '1-2.3'],
    [{ bus: '001', ports: [1] }, '1-1'],
    [{ bus: 3, ports: [1] }, '3-1'],
    [{ bus: '2-3.4', ports: [3, 4] }, '2-3.4'],
    [{ bus: '1', ports: [] }, undefined],
    [{}, undefined],
  ])('%j → %s', (d, expected) => {
    expect(nodeUsbPortPath(d)).toBe(expected);
  });
});
