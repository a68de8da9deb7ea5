// The engineer's session behind the GUI: the boards on the connection (DeviceRoster), opened files
// and loader packages by id, and the operations running on a board with their abort controllers.
// Answers in the domain's types (FlashPlan, LoadedFirmware); ./app-backend.ts turns them into views.

import { basename } from 'node:path';
import { BootBridgeError, toErrorData } from '../../shared/errors.js';
import type { FlashEvent, FlashResult } from '../../shared/progress.js';
import type { ErasedSector } from '../plan/index.js';
import { writeDfuSe } from '../firmware/index.js';
import { planInvalid, type FlashPlan, type PlanOptions } from '../plan/index.js';
import {
  boardLocks,
  checkLoaderUsable,
  eraseDevice,
  flashDevice,
  isSimulated,
  openFirmwareBytes,
  openFirmwareFile,
  readDevice,
  writeFileAtomic,
  type Connection,
  type DeviceDetails,
  type LoadedFirmware,
} from '../operations/index.js';
import type { EraseArgs, PlanArgs, ReadArgs } from './backend.js';
import { DeviceRoster } from './device-roster.js';
import { LoaderShelf, type ShelfLoader } from './loader-shelf.js';

interface RunningOp {
  deviceId: string;
  abort: AbortController;
}

/** A planned flash with everything the engine needs to run it. */
interface Planned {
  device: USBDevice;
  details: DeviceDetails;
  fw: LoadedFirmware;
  /** The package the plan goes through, with its id on the shelf. */
  loader?: ShelfLoader;
  plan: FlashPlan;
}

function failed(e: unknown): FlashResult {
  return { ok: false, error: toErrorData(e), stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: false };
}

export class EngineeringSession {
  readonly devices: DeviceRoster;
  readonly loaders: LoaderShelf;
  private readonly files = new Map<string, LoadedFirmware>();
  private readonly ops = new Map<string, RunningOp>();
  private seq = 0;

  constructor(
    private readonly conn: Connection,
    assetsDir: string,
  ) {
    const simulated = isSimulated(conn);
    this.loaders = new LoaderShelf(assetsDir, simulated);
    this.devices = new DeviceRoster(conn, this.loaders, simulated);
  }

  async details(deviceId: string): Promise<DeviceDetails> {
    return this.devices.inspect(await this.devices.find(deviceId));
  }

  private remember(fw: LoadedFirmware): { id: string; fw: LoadedFirmware } {
    const id = `fw${++this.seq}`;
    this.files.set(id, fw);
    return { id, fw };
  }

  async openFirmware(path: string, opts: { baseAddress?: number } = {}): Promise<{ id: string; fw: LoadedFirmware }> {
    return this.remember(await openFirmwareFile(path, opts));
  }

  /** A page-supplied name is a label only: never a path main would touch. */
  async openFirmwareBytes(name: string, bytes: Uint8Array, opts: { baseAddress?: number } = {}): Promise<{ id: string; fw: LoadedFirmware }> {
    const fw = await openFirmwareBytes(basename(name.replace(/\\/g, '/')), bytes, opts);
    return this.remember({ ...fw, path: '' });
  }

  private firmware(id: string): LoadedFirmware {
    const fw = this.files.get(id);
    if (!fw) throw new BootBridgeError('BAD_ARGUMENT', `No open file ${id}; open it again`, { field: 'firmwareId' });
    return fw;
  }

  /** `held`: the caller holds the board (board-locks.ts), so its descriptors are read even if not cached. */
  private async planned(req: PlanArgs, held = false): Promise<Planned> {
    const device = await this.devices.find(req.deviceId);
    const details = held ? await this.devices.inspectHeld(device) : await this.devices.inspect(device);
    const fw = this.firmware(req.firmwareId);
    const options: PlanOptions = { verify: req.options.verify, leave: req.options.leave ? {} : false, massErase: !req.options.eraseTouchedOnly };
    const r = await this.loaders.plan(details, fw, req.loader ?? 'auto', options);
    return { device, details, fw, plan: r.plan, ...(r.loader ? { loader: r.loader } : {}) };
  }

  /** The plan and, when it goes through a loader, the package's id on the shelf. */
  async plan(req: PlanArgs): Promise<FlashPlan & { loaderId?: string }> {
    const r = await this.planned(req);
    return r.loader ? { ...r.plan, loaderId: r.loader.id } : r.plan;
  }

  flash(req: PlanArgs, onEvent: (e: FlashEvent) => void): { opId: string; done: Promise<FlashResult> } {
    const opId = `op${++this.seq}`;
    if ([...this.ops.values()].some((o) => o.deviceId === req.deviceId)) {
      return { opId, done: Promise.resolve(failed(new BootBridgeError('BUSY', 'This board is already being programmed', { serial: req.deviceId }))) };
    }
    // One operation per board across the app: a production lane holding it refuses this (board-locks.ts).
    const lock = boardLocks.tryAcquire(req.deviceId, 'flash');
    if (!lock) {
      return { opId, done: Promise.resolve(failed(new BootBridgeError('BUSY', `Board ${req.deviceId} is busy (${boardLocks.holder(req.deviceId) ?? 'another operation'} in progress)`, { serial: req.deviceId }))) };
    }
    const abort = new AbortController();
    this.ops.set(opId, { deviceId: req.deviceId, abort });
    const done = (async (): Promise<FlashResult> => {
      try {
        await boardLocks.settled(req.deviceId);
        const r = await this.planned(req, true);
        checkLoaderUsable(this.conn, r.details, r.loader?.pkg);
        if (r.loader) this.devices.staging(req.deviceId, r.loader);
        if (!r.plan.ok) {
          return failed(planInvalid(r.plan.errors));
        }
        return await flashDevice(this.conn, r.device, r.details, r.fw, r.loader?.pkg, r.plan, { onEvent, signal: abort.signal });
      } catch (e) {
        return failed(e);
      } finally {
        lock.release();
        this.ops.delete(opId);
        // The board re-enumerated (loader, then application or ROM).
        this.released(req.deviceId);
      }
    })();
    return { opId, done };
  }

  cancel(opId: string): boolean {
    const op = this.ops.get(opId);
    if (!op) return false;
    op.abort.abort(new BootBridgeError('CANCELLED', 'Cancelled by the user'));
    return true;
  }

  async read(req: ReadArgs): Promise<Uint8Array> {
    return this.afterward(
      req.deviceId,
      boardLocks.with(req.deviceId, 'read', async () => {
        const device = await this.devices.find(req.deviceId);
        const details = await this.devices.inspectHeld(device);
        const loader = await this.loaders.forAddresses(details, req.loader, [req.address, req.address + req.length - 1]);
        if (loader) this.devices.staging(req.deviceId, loader);
        return readDevice(this.conn, device, details, { address: req.address, length: req.length }, loader?.pkg);
      }),
    );
  }

  /** Erases the sectors holding `addresses`, or mass-erases the internal flash; the board stays in DFU. */
  async erase(req: EraseArgs): Promise<ErasedSector[]> {
    return this.afterward(
      req.deviceId,
      boardLocks.with(req.deviceId, 'erase', async () => {
        const device = await this.devices.find(req.deviceId);
        const details = await this.devices.inspectHeld(device);
        const loader = req.mass ? undefined : await this.loaders.forAddresses(details, req.loader, req.addresses);
        if (loader) this.devices.staging(req.deviceId, loader);
        return eraseDevice(this.conn, device, details, { addresses: req.addresses, ...(req.mass ? { mass: true } : {}) }, loader?.pkg);
      }),
    );
  }

  /** `operation` on the board, then released(), however it ended. */
  private async afterward<T>(deviceId: string, operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } finally {
      this.released(deviceId);
    }
  }

  /**
   * An operation let go of the board: it may have re-enumerated (through a staged loader), so it is read
   * afresh, and the list told once it is free.
   */
  private released(deviceId: string): void {
    this.devices.forget(deviceId);
    void this.devices.refresh();
  }

  async exportDfu(firmwareId: string, outPath: string): Promise<void> {
    writeFileAtomic(outPath, writeDfuSe(this.firmware(firmwareId).image));
  }

  close(): void {
    this.devices.close();
    for (const op of this.ops.values()) op.abort.abort(new BootBridgeError('CANCELLED', 'The app is closing'));
  }
}
