// The boards the GUI shows: DFU devices on the connection, each inspected once per enumeration and
// cached, named by the loader package they run, and pushed to listeners when the list changes
// (hot-plug events, and a cheap poll for the events a bus misses).

import { BootBridgeError } from '../../shared/errors.js';
import type { DeviceSummaryView } from '../../shared/contract.js';
import { chipById } from '../devices/chips.js';
import { boardLocks, deviceInfo, inspectDevice, listDfuDevices, type Connection, type DeviceDetails } from '../operations/index.js';
import type { LoaderShelf, ShelfLoader } from './loader-shelf.js';

/** How often the list is polled while someone listens (UsbBackend hot-plug events can be missed). */
const POLL_MS = 1500;

export class DeviceRoster {
  private readonly details = new Map<string, { key: string; details: DeviceDetails }>();
  /** The loader an operation of this session stages on a board it holds, by board id (see staging). */
  private readonly staged = new Map<string, ShelfLoader>();
  /** Descriptor readings on the wire, by device key: one at a time per board (see read). */
  private readonly reading = new Map<string, Promise<DeviceDetails>>();
  /** Bumped by forget: a reading started before it answers its caller but is not kept. */
  private readonly generation = new Map<string, number>();
  /** The refresh running now, and whether another was asked for while it ran. */
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private readonly listeners = new Set<(d: DeviceSummaryView[]) => void>();
  private lastSignature = '';
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly offs: (() => void)[] = [];

  constructor(
    private readonly conn: Connection,
    private readonly loaders: LoaderShelf,
    /** Boards on this bus are simulated (in-process bus, or the virtual-USB bench). */
    private readonly simulated: boolean,
  ) {
    const changed = () => void this.refresh();
    this.offs.push(conn.backend.onConnect(changed), conn.backend.onDisconnect(changed));
  }

  private deviceKey(d: USBDevice): string {
    const i = deviceInfo(this.conn.backend, d);
    return `${i.id}|${i.mode}|0x${i.vendorId.toString(16)}:0x${i.productId.toString(16)}`;
  }

  async find(id: string): Promise<USBDevice> {
    for (const d of await listDfuDevices(this.conn.backend)) if (deviceInfo(this.conn.backend, d).id === id) return d;
    throw new BootBridgeError('DEVICE_NOT_FOUND', `Device ${id} is no longer attached`, { serial: id });
  }

  /**
   * Descriptors are read once per enumeration; a re-enumerated board (ROM → loader) is read again.
   * A board an operation holds is not read (its transfers would interleave with the operation's): its
   * last details answer, or BUSY when it has none.
   */
  async inspect(d: USBDevice): Promise<DeviceDetails> {
    const info = deviceInfo(this.conn.backend, d);
    const hit = this.cached(d);
    if (hit) return hit;
    const details = await boardLocks.probe(info.id, () => this.read(d));
    if (details) return details;
    const last = this.details.get(info.id)?.details;
    if (last) return last;
    throw new BootBridgeError('BUSY', `Board ${info.id} is busy (${boardLocks.holder(info.id) ?? 'an operation'} in progress)`, { serial: info.id });
  }

  /** As inspect, for the operation holding the board (board-locks.ts). */
  async inspectHeld(d: USBDevice): Promise<DeviceDetails> {
    return this.cached(d) ?? this.read(d);
  }

  private cached(d: USBDevice): DeviceDetails | undefined {
    const hit = this.details.get(deviceInfo(this.conn.backend, d).id);
    return hit && hit.key === this.deviceKey(d) ? hit.details : undefined;
  }

  /**
   * Reads the descriptors, once at a time per board: the poll, a hot-plug event, the window's describe
   * and its plan may all ask together, and two readings overlapping on one device close it under each
   * other (the first to finish closes the device the second is still reading), so they share one.
   */
  private read(d: USBDevice): Promise<DeviceDetails> {
    const key = this.deviceKey(d);
    const pending = this.reading.get(key);
    if (pending) return pending;
    const id = deviceInfo(this.conn.backend, d).id;
    const generation = this.generation.get(id) ?? 0;
    const reading = inspectDevice(this.conn.backend, d)
      .then((details) => {
        if ((this.generation.get(id) ?? 0) === generation) this.details.set(id, { key, details });
        return details;
      })
      .finally(() => this.reading.delete(key));
    this.reading.set(key, reading);
    return reading;
  }

  /**
   * The board re-enumerated or left: read it afresh next time. A reading already on the wire is not
   * kept, but it is not abandoned either: a second reading must not overlap it (see read).
   */
  forget(id: string): void {
    this.details.delete(id);
    this.staged.delete(id);
    this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
  }

  /**
   * An operation holding the board stages `loader` on it: while it runs (its descriptors are not read
   * then), the board that re-enumerates as a loader is listed as running that package, not as a loader
   * of no installed package. Cleared by forget when the operation ends.
   */
  staging(id: string, loader: ShelfLoader): void {
    this.staged.set(id, loader);
  }

  async list(): Promise<DeviceSummaryView[]> {
    // Boards an operation holds (this window's, another window's, a production lane's: board-locks.ts).
    const busy = new Set(boardLocks.busy());
    const out: DeviceSummaryView[] = [];
    for (const d of await listDfuDevices(this.conn.backend)) {
      const info = deviceInfo(this.conn.backend, d);
      // A board being programmed is not probed: its descriptors would interleave with the engine's
      // transfers (inspect checks again when it reads: an operation may start while the list is built).
      let details: DeviceDetails | undefined;
      if (!busy.has(info.id)) details = await this.inspect(d).catch(() => undefined);
      else details = this.details.get(info.id)?.details;
      // A board running a BootBridge loader is known by its paired manifest (USB identity), and its
      // chip by the package's one chip: not an "unknown chip".
      const staged = busy.has(info.id) && info.mode === 'loader' ? this.staged.get(info.id) : undefined;
      const paired = staged ?? (details ? await this.loaders.paired(details) : undefined);
      const pairedChip = paired && paired.pkg.manifest.chips.length === 1 ? chipById(paired.pkg.manifest.chips[0]!) : undefined;
      const chip = details?.chip ?? pairedChip;
      out.push({
        ...info,
        serial: info.serial ?? '',
        simulated: this.simulated,
        ...(chip ? { chip: { deviceId: chip.deviceId, name: chip.name } } : {}),
        ...(paired ? { loader: { id: paired.id, name: paired.pkg.manifest.name, ...(paired.pkg.manifest.version ? { version: paired.pkg.manifest.version } : {}) } } : {}),
      });
    }
    return out;
  }

  /**
   * Tells the listeners when the list differs from the one they last heard. One refresh runs at a
   * time, and one asked for while another runs follows it: a list built while a board was busy can
   * never reach the listeners after the list built once it was free.
   */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        await this.refreshOnce();
      } while (this.refreshAgain);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    if (this.listeners.size === 0) return;
    const list = await this.list().catch(() => undefined);
    if (!list) return;
    const sig = JSON.stringify(list);
    if (sig === this.lastSignature) return;
    this.lastSignature = sig;
    for (const l of this.listeners) {
      try {
        l(list);
      } catch {
        // One listener's failure (a window gone mid-send) must not keep the list from the others.
      }
    }
  }

  onChanged(listener: (devices: DeviceSummaryView[]) => void): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.refresh(), POLL_MS);
    this.timer.unref?.();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  close(): void {
    for (const off of this.offs) off();
    if (this.timer) clearInterval(this.timer);
  }
}
