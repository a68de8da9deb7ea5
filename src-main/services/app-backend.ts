// The services (src-main/services/): what both doors (Electron, web host) serve through ApiHost. One
// connection to real USB or simulated boards, the engineer's session on it (./engineering.ts), the
// production session (./production-session.ts) and the simulator's controls, answered in the
// contract's types (./backend.ts). Start one with createAppBackend(parseHostArgs(argv)).

import { resolve } from 'node:path';
import { BootBridgeError } from '../../shared/errors.js';
import type { DeviceDescription, DeviceSummaryView, ErasedSectorView, LoaderSummary, FirmwareView, PlanView, SimModel } from '../../shared/contract.js';
import type { FlashEvent, FlashResult } from '../../shared/progress.js';
import { applySimFaults } from '../sim/fault-spec.js';
import { connect, planView, type Connection } from '../operations/index.js';
import type { Clock } from '../util/clock.js';
import type { AppBackend, EraseArgs, PlanArgs, ReadArgs } from './backend.js';
import { EngineeringSession } from './engineering.js';
import type { HostArgs } from './host-args.js';
import { ProductionSession } from './production-session.js';
import { SimControls } from './sim-controls.js';
import { deviceDescription, erasedSectorView, firmwareView, loaderSummary } from './views.js';

export { parseHostArgs, type HostArgs } from './host-args.js';

export class ServicesBackend implements AppBackend {
  readonly engineering: EngineeringSession;
  readonly production: ProductionSession;
  private readonly sim: SimControls | undefined;

  constructor(
    readonly conn: Connection,
    assetsDir: string,
    unitLogDir?: string,
  ) {
    this.engineering = new EngineeringSession(conn, assetsDir);
    this.production = new ProductionSession(conn, assetsDir, unitLogDir);
    this.sim = conn.bus ? new SimControls(conn.bus, this.engineering.devices) : undefined;
  }

  listDevices(): Promise<DeviceSummaryView[]> {
    return this.engineering.devices.list();
  }

  onDevicesChanged(listener: (devices: DeviceSummaryView[]) => void): () => void {
    return this.engineering.devices.onChanged(listener);
  }

  async describe(deviceId: string): Promise<DeviceDescription> {
    const device = (await this.listDevices()).find((d) => d.id === deviceId);
    if (!device) throw new BootBridgeError('DEVICE_NOT_FOUND', `No device ${deviceId}`, { field: 'deviceId' });
    return deviceDescription(device, await this.engineering.details(deviceId));
  }

  async openFirmware(path: string, opts: { baseAddress?: number } = {}): Promise<FirmwareView> {
    const { id, fw } = await this.engineering.openFirmware(path, opts);
    return firmwareView(id, fw, path);
  }

  async openFirmwareBytes(name: string, bytes: Uint8Array, opts: { baseAddress?: number } = {}): Promise<FirmwareView> {
    const { id, fw } = await this.engineering.openFirmwareBytes(name, bytes, opts);
    return firmwareView(id, fw);
  }

  async listLoaders(): Promise<LoaderSummary[]> {
    return (await this.engineering.loaders.all()).map((l) => loaderSummary(l.id, l.pkg));
  }

  async plan(req: PlanArgs): Promise<PlanView> {
    const p = await this.engineering.plan(req);
    return planView(p, p.loaderId);
  }

  flash(req: PlanArgs, onEvent: (e: FlashEvent) => void): { opId: string; done: Promise<FlashResult> } {
    return this.engineering.flash(req, onEvent);
  }

  cancel(opId: string): boolean {
    return this.engineering.cancel(opId);
  }

  read(req: ReadArgs): Promise<Uint8Array> {
    return this.engineering.read(req);
  }

  async erase(req: EraseArgs): Promise<ErasedSectorView[]> {
    return (await this.engineering.erase(req)).map(erasedSectorView);
  }

  exportDfu(firmwareId: string, outPath: string): Promise<void> {
    return this.engineering.exportDfu(firmwareId, outPath);
  }

  simModels(): SimModel[] {
    return this.sim?.models() ?? [];
  }

  async simAttach(model: string): Promise<DeviceSummaryView> {
    if (!this.sim) throw new BootBridgeError('BAD_ARGUMENT', 'Not running on simulated boards (start with --sim MODEL)', { field: 'model' });
    return this.sim.attach(model);
  }

  async simDetach(deviceId: string): Promise<boolean> {
    return this.sim ? this.sim.detach(deviceId) : false;
  }

  async close(): Promise<void> {
    this.engineering.close();
    await this.production.close();
    await this.conn.close();
  }
}

/** Connects as the host's flags say (real USB, simulated boards, injected faults) and starts the services. */
export async function createAppBackend(args: HostArgs & { clock?: Clock }): Promise<ServicesBackend> {
  const sim = (model: string) => ({ model, ...(args.simBoards ? { boards: args.simBoards } : {}), ...(args.simState ? { stateDir: args.simState } : {}), ...(args.simSpeed ? { speed: args.simSpeed } : {}) });
  const conn = await connect({
    ...(args.sim ? { sim: sim(args.sim) } : args.simIfNoHardware ? { simIfNoHardware: sim(args.simIfNoHardware) } : {}),
    ...(args.clock ? { clock: args.clock } : {}),
  });
  if (args.simFaults?.length) {
    if (!conn.bus) throw new BootBridgeError('BAD_ARGUMENT', '--sim-fault needs simulated boards (--sim MODEL)', { field: 'sim-fault' });
    applySimFaults(conn.bus.boards, args.simFaults);
  }
  return new ServicesBackend(conn, args.assetsDir ?? resolve('assets'), args.unitLogDir);
}
