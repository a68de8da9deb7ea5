// Which DFU devices are on the bus, and waiting for one to appear (a board re-enumerating as its RAM
// loader, or coming back after a reset). Hot-plug events can be missed, so the watcher also polls;
// each device is reported attached/detached once. `new DeviceWatcher(backend, { clock }).start()`.

import { BootBridgeError } from '../../shared/errors.js';
import { vidPid } from '../../shared/format.js';
import type { Clock } from '../util/clock.js';
import type { UsbBackend } from './backend.js';

export interface DeviceFilter {
  vendorId: number;
  productId?: number;
}

export interface WatcherOptions {
  clock: Clock;
  /** VID/PID filters; a device matching any is kept. With none, any device with a DFU interface is kept. */
  filters?: DeviceFilter[];
  /** Also keep devices with a DFU interface (class 0xFE subclass 0x01) when filters are given. Default true. */
  includeDfuClass?: boolean;
  /** Polling period. Default 500 ms. */
  pollMs?: number;
}

export type DeviceEvent = 'attached' | 'detached';
type Listener = (device: USBDevice) => void;

/** DFU 1.1 §4.2.3: interface class 0xFE (application specific), subclass 0x01. */
export function hasDfuInterface(device: USBDevice): boolean {
  const configs = device.configurations ?? (device.configuration ? [device.configuration] : []);
  return configs.some((c) => c.interfaces.some((i) => i.alternates.some((a) => a.interfaceClass === 0xfe && a.interfaceSubclass === 0x01)));
}

let nextAnonymous = 0;
const anonymousIds = new WeakMap<object, number>();

export class DeviceWatcher {
  private readonly known = new Map<string, USBDevice>();
  private readonly listeners: Record<DeviceEvent, Set<Listener>> = { attached: new Set(), detached: new Set() };
  private unsubscribe: (() => void)[] = [];
  private stopPolling: AbortController | undefined;
  private scanning: Promise<void> | undefined;

  constructor(
    readonly backend: UsbBackend,
    readonly options: WatcherOptions,
  ) {}

  /** Stable identity across polls: backends may hand out a new object per getDevices(). */
  key(device: USBDevice): string {
    const handle = (device as unknown as { handle?: unknown }).handle;
    if (typeof handle === 'string' && handle !== '') return `h:${handle}`;
    const port = this.backend.portPath(device);
    const id = vidPid(device.vendorId, device.productId);
    if (port !== undefined) return `p:${port}:${id}:${device.serialNumber ?? ''}`;
    let n = anonymousIds.get(device);
    if (n === undefined) anonymousIds.set(device, (n = nextAnonymous++));
    return `o:${n}`;
  }

  matches(device: USBDevice): boolean {
    const filters = this.options.filters ?? [];
    if (filters.some((f) => f.vendorId === device.vendorId && (f.productId === undefined || f.productId === device.productId))) return true;
    if (filters.length > 0 && this.options.includeDfuClass === false) return false;
    return hasDfuInterface(device);
  }

  on(event: DeviceEvent, listener: Listener): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  /** Devices attached now (as of the last event or poll). */
  devices(): USBDevice[] {
    return [...this.known.values()];
  }

  get running(): boolean {
    return this.stopPolling !== undefined;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.stopPolling = new AbortController();
    this.unsubscribe = [
      this.backend.onConnect((d) => this.attach(d)),
      this.backend.onDisconnect((d) => this.detach(this.key(d))),
    ];
    await this.scan();
    void this.pollLoop(this.stopPolling.signal);
  }

  stop(): void {
    this.stopPolling?.abort();
    this.stopPolling = undefined;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  private attach(device: USBDevice): void {
    if (!this.matches(device)) return;
    const k = this.key(device);
    if (this.known.has(k)) return;
    this.known.set(k, device);
    for (const l of this.listeners.attached) l(device);
  }

  private detach(k: string): void {
    const device = this.known.get(k);
    if (!device) return;
    this.known.delete(k);
    for (const l of this.listeners.detached) l(device);
  }

  /** One poll: reconciles the known set with what the backend lists now. */
  scan(): Promise<void> {
    // Concurrent callers share one scan, so a device is never reported twice.
    this.scanning ??= (async () => {
      try {
        const now = await this.backend.getDevices();
        const present = new Set<string>();
        for (const d of now) {
          if (!this.matches(d)) continue;
          present.add(this.key(d));
          this.attach(d);
        }
        for (const k of [...this.known.keys()]) if (!present.has(k)) this.detach(k);
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    const period = this.options.pollMs ?? 500;
    while (!signal.aborted) {
      try {
        await this.options.clock.sleep(period, signal);
        await this.scan();
      } catch {
        if (signal.aborted) return;
        // A failed poll (bus busy, permissions) is retried on the next period.
      }
    }
  }

  /**
   * Resolves with the first attached device for which `predicate` holds — one already present or one
   * that appears (connect event or poll) within `timeoutMs`. Rejects with DEVICE_NOT_FOUND on timeout
   * and with the signal's reason when aborted.
   */
  async waitFor(
    predicate: (device: USBDevice) => boolean | Promise<boolean>,
    options: { timeoutMs: number; clock?: Clock; signal?: AbortSignal },
  ): Promise<USBDevice> {
    const clock = options.clock ?? this.options.clock;
    const startedHere = !this.running;
    if (startedHere) await this.start();
    const done = new AbortController();
    const onOuterAbort = () => done.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      return await new Promise<USBDevice>((resolve, reject) => {
        let settled = false;
        const finish = (f: () => void) => {
          if (settled) return;
          settled = true;
          off();
          done.abort();
          f();
        };
        const test = (d: USBDevice) => {
          void Promise.resolve()
            .then(() => predicate(d))
            .then(
              (ok) => ok && finish(() => resolve(d)),
              () => undefined,
            );
        };
        const off = this.on('attached', test);
        if (options.signal?.aborted) return finish(() => reject(options.signal!.reason));
        options.signal?.addEventListener('abort', () => finish(() => reject(options.signal!.reason)), { once: true });
        for (const d of this.devices()) test(d);
        clock.sleep(options.timeoutMs, done.signal).then(
          () => finish(() => reject(new BootBridgeError('DEVICE_NOT_FOUND', `No matching device appeared within ${options.timeoutMs} ms`, { timeoutMs: options.timeoutMs }))),
          () => undefined,
        );
      });
    } finally {
      options.signal?.removeEventListener('abort', onOuterAbort);
      if (startedHere) this.stop();
    }
  }
}
