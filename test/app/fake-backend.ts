// A small in-memory stand-in for the services, for testing the doors (IPC, WebSocket) and the
// renderer without the simulator: one F746-like board, a plan that refuses segments outside flash.
// It answers in the contract's own types (AppBackend), as the real services do.

import type { AppBackend, PlanArgs } from '../../src-main/services/backend.js';
import type { DeviceDescription, DeviceSummaryView, ErasedSectorView, FirmwareView, PlanSegment, PlanView } from '../../shared/contract.js';
import type { FlashEvent, FlashResult } from '../../shared/progress.js';
import { BootBridgeError, type ErrorData } from '../../shared/errors.js';

export const F746_LAYOUT = {
  name: 'Internal Flash',
  blocks: [
    {
      start: 0x08000000,
      size: 1024 * 1024,
      sectors: [
        ...[0, 1, 2, 3].map((i) => ({ start: 0x08000000 + i * 0x8000, size: 0x8000, readable: true, erasable: true, writable: true })),
        { start: 0x08020000, size: 0x20000, readable: true, erasable: true, writable: true },
        ...[0, 1, 2].map((i) => ({ start: 0x08040000 + i * 0x40000, size: 0x40000, readable: true, erasable: true, writable: true })),
      ],
    },
  ],
};

export function fakeDevice(n = 1): DeviceSummaryView {
  return {
    id: `sim-${n}`,
    serial: `3157378A313${n}`,
    vendorId: 0x0483,
    productId: 0xdf11,
    bcdDevice: 0x2200,
    manufacturer: 'STMicroelectronics',
    product: 'STM32  BOOTLOADER',
    mode: 'rom',
    chip: { deviceId: 0x449, name: 'STM32F74xxx/75xxx' },
    simulated: true,
  };
}

export class FakeBackend implements AppBackend {
  devices: DeviceSummaryView[] = [fakeDevice(1)];
  private listeners = new Set<(d: DeviceSummaryView[]) => void>();
  private files = new Map<string, { name: string; segments: { address: number; length: number; sources: string[] }[] }>();
  flashes: PlanArgs[] = [];
  cancelled: string[] = [];
  /** A flash waits here until it is cancelled (a running operation for tests of Cancel, with no timer). */
  holdFlashUntilCancel = false;
  private releaseHeld: (() => void) | undefined;
  private readonly running = new Set<string>();

  async listDevices() {
    return this.devices;
  }
  onDevicesChanged(l: (d: DeviceSummaryView[]) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  plug(d: DeviceSummaryView) {
    this.devices = [...this.devices, d];
    for (const l of this.listeners) l(this.devices);
  }
  async describe(id: string): Promise<DeviceDescription> {
    const device = this.devices.find((d) => d.id === id);
    if (!device) throw new BootBridgeError('DEVICE_NOT_FOUND', `No device ${id}`);
    return {
      device,
      tree: [
        {
          title: 'Device',
          fields: [
            { name: 'bLength', value: '18' },
            { name: 'idVendor', value: '0x0483' },
            { name: 'idProduct', value: '0xdf11' },
          ],
          raw: [18, 1, 0, 2],
          children: [],
        },
      ],
      dump: 'Device 0483:df11\n  bLength 18',
      memories: [{ alt: 0, name: 'Internal Flash', text: '@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg', layout: F746_LAYOUT }],
      bootloaderVersion: '22.00',
    };
  }
  async openFirmware(path: string): Promise<FirmwareView> {
    return { ...(await this.openFirmwareBytes(path.split('/').pop()!, new Uint8Array(16))), path };
  }
  async openFirmwareBytes(name: string, bytes: Uint8Array, opts: { baseAddress?: number } = {}): Promise<FirmwareView> {
    const id = `fw-${this.files.size + 1}`;
    const base = opts.baseAddress ?? (name.includes('toobig') ? 0x30000000 : 0x08000000);
    const segments = [{ address: base, length: bytes.length, sources: ['.text'] }];
    this.files.set(id, { name, segments });
    return { id, name, format: 'bin', size: bytes.length, sha256: '00'.repeat(32), segments };
  }
  async listLoaders() {
    return [];
  }
  async plan(req: PlanArgs): Promise<PlanView> {
    const f = this.files.get(req.firmwareId);
    if (!f) throw new BootBridgeError('BAD_ARGUMENT', 'unknown firmware', { field: 'firmwareId' });
    const outside = f.segments.filter((s) => s.address < 0x08000000 || s.address + s.length > 0x08100000);
    const problem = (s: { address: number }) => `Segment at 0x${s.address.toString(16)} is outside every region`;
    const errors: ErrorData[] = outside.map((s) => ({ code: 'ADDRESS_UNREACHABLE', message: problem(s), context: { address: s.address } }));
    const bytes = f.segments.reduce((n, s) => n + s.length, 0);
    const segments: PlanSegment[] = f.segments.map((s) =>
      outside.includes(s) ? { ...s, problem: problem(s) } : errors.length ? { ...s } : { ...s, region: 'Internal Flash' },
    );
    return {
      ok: errors.length === 0,
      errors,
      warnings: [],
      stages: [
        {
          name: 'rom',
          title: 'ROM bootloader',
          operations: [
            { kind: 'erase', region: 'Internal Flash', address: 0x08000000, length: 0x8000 },
            { kind: 'write', region: 'Internal Flash', address: 0x08000000, length: bytes },
          ],
          bytes,
          estimatedMs: 1200,
        },
        { name: 'leave', title: 'Leave DFU', operations: [{ kind: 'leave', address: 0x08000000 }], bytes: 0, estimatedMs: 10 },
      ],
      regions: [{ via: 'rom', alt: 0, name: 'Internal Flash', layout: F746_LAYOUT, eraseSectors: [0x08000000] }],
      segments,
      totalBytes: bytes,
      estimatedMs: 1210,
    };
  }
  flash(req: PlanArgs, onEvent: (e: FlashEvent) => void) {
    this.flashes.push(req);
    const opId = `op-${this.flashes.length}`;
    this.running.add(opId);
    const done = (async (): Promise<FlashResult> => {
      onEvent({ kind: 'stage', stage: 'rom', status: 'start' });
      onEvent({ kind: 'progress', stage: 'rom', phase: 'write', region: 'Internal Flash', bytesDone: 8, bytesTotal: 16, rate: 1000 });
      if (this.holdFlashUntilCancel) await new Promise<void>((r) => (this.releaseHeld = r));
      const cancelled = this.cancelled.includes(opId);
      onEvent({ kind: 'stage', stage: 'rom', status: 'end', ms: 5 });
      const result: FlashResult = {
        ok: !cancelled,
        stageMs: { rom: 5 },
        bytesWritten: 16,
        bytesVerified: cancelled ? 0 : 16,
        verified: cancelled ? [] : [{ region: 'Internal Flash', address: 0x08000000, length: 16, method: 'read-back' }],
        left: !cancelled,
        cancelled,
      };
      if (cancelled) result.error = { code: 'CANCELLED', message: 'Cancelled', context: {} };
      onEvent({ kind: 'result', result });
      this.running.delete(opId);
      return result;
    })();
    return { opId, done };
  }
  cancel(opId: string): boolean {
    this.cancelled.push(opId);
    this.releaseHeld?.();
    this.releaseHeld = undefined;
    return this.running.has(opId);
  }
  async read(req: { address: number; length: number }) {
    return new Uint8Array(req.length).fill(0xab);
  }
  /** Sectors of 16 KiB at each address (a mass erase: the first 1 MiB). */
  async erase(req: { addresses: number[]; mass?: boolean }): Promise<ErasedSectorView[]> {
    if (req.mass) return [{ via: 'rom', alt: 0, region: 'Internal Flash', address: 0x08000000, size: 0x100000 }];
    return req.addresses.map((a) => ({ via: 'rom', alt: 0, region: 'Internal Flash', address: a & ~0x3fff, size: 0x4000 }));
  }
  async exportDfu(): Promise<void> {}
  simModels() {
    return [{ model: 'stm32f746', title: 'STM32F746 Discovery' }];
  }
  async simAttach(model: string) {
    const d = { ...fakeDevice(this.devices.length + 1), product: model };
    this.plug(d);
    return d;
  }
}
