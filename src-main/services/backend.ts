// The seam between the services and the doors' API host (./api-host.ts): what the host may ask, in
// the contract's own types (shared/contract.ts) and nothing looser, so a renamed field fails to
// compile instead of rendering blank. ServicesBackend (./app-backend.ts) serves it; tests may fake it.

import type {
  DeviceDescription,
  DeviceSummaryView,
  ErasedSectorView,
  FlashOptions,
  LoaderSummary,
  FirmwareView,
  PlanView,
  ProductionEvent,
  ProductionState,
  RecipeEntry,
  SimModel,
} from '../../shared/contract.js';
import type { FlashEvent, FlashResult } from '../../shared/progress.js';

export interface PlanArgs {
  deviceId: string;
  firmwareId: string;
  /** Loader package id, 'auto' (stage one only where the ROM cannot reach) or 'none'. */
  loader?: string | undefined;
  options: FlashOptions;
}

export interface ReadArgs {
  deviceId: string;
  address: number;
  length: number;
  loader?: string | undefined;
}

export interface EraseArgs {
  deviceId: string;
  addresses: number[];
  mass?: boolean;
  loader?: string | undefined;
}

/** What the API host asks of the services, one method per contract operation that needs a board or a file. */
export interface AppBackend {
  listDevices(): Promise<DeviceSummaryView[]>;
  onDevicesChanged(listener: (devices: DeviceSummaryView[]) => void): () => void;
  describe(deviceId: string): Promise<DeviceDescription>;
  /** A file main reads from disk (a native dialog's choice, a recent file): the view keeps its path. */
  openFirmware(path: string, opts?: { baseAddress?: number }): Promise<FirmwareView>;
  /** Bytes the page sent: `name` is a label only, never a path, and the view has none. */
  openFirmwareBytes(name: string, bytes: Uint8Array, opts?: { baseAddress?: number }): Promise<FirmwareView>;
  listLoaders(): Promise<LoaderSummary[]>;
  plan(req: PlanArgs): Promise<PlanView>;
  flash(req: PlanArgs, onEvent: (e: FlashEvent) => void): { opId: string; done: Promise<FlashResult> };
  /** False when no such operation is running (finished already, or never started). */
  cancel(opId: string): boolean;
  read(req: ReadArgs): Promise<Uint8Array>;
  erase(req: EraseArgs): Promise<ErasedSectorView[]>;
  exportDfu(firmwareId: string, outPath: string): Promise<void>;
  /** Simulator controls, when the services run with one. */
  simModels?(): SimModel[];
  simAttach?(model: string): Promise<DeviceSummaryView>;
  simDetach?(deviceId: string): Promise<boolean>;
  /** Production mode, when the services can run a station. */
  production?: ProductionBackend;
}

/** One production station at a time, over the services' connection (src-main/production/). */
export interface ProductionBackend {
  /** Recipes shipped with the app (assets/recipes). */
  shippedRecipes(): RecipeEntry[];
  /** Loads and checks a recipe (hashes included) and starts its station. BUSY while another is open. */
  open(path: string): Promise<ProductionState>;
  state(): ProductionState | null;
  flashAll(): Promise<{ units: number; passed: number; failed: number }>;
  watch(on: boolean): Promise<ProductionState>;
  retry(laneId: string): Promise<boolean>;
  /** Records failures the operator acknowledged (failureKey) for the open recipe; every window is told. */
  acknowledge(failures: string[]): ProductionState;
  /** Stops watching, waits for units in flight, forgets the station. False when none was open. */
  close(): Promise<boolean>;
  /** The station's unit log as CSV (RFC 4180). */
  unitsCsv(): { csv: string; units: number; name: string };
  /** Writes the CSV where main's save dialog pointed. */
  exportUnitsCsv(path: string): { units: number };
  onEvent(listener: (e: ProductionEvent) => void): () => void;
}
