// The contract's main-process side, shared by both doors: Electron IPC (../app/) and the WebSocket
// host (../web/). It validates every request against shared/contract.ts, calls the services through
// AppBackend (./backend.ts, already in the contract's types) and turns every failure into ErrorData.
// Settings, recent files and which paths a page may name live here. No electron here.

import { BootBridgeError, toErrorData } from '../../shared/errors.js';
import {
  checkRequest,
  isMethod,
  DEFAULT_SETTINGS,
  type AppEvent,
  type HostInfo,
  type Method,
  type FirmwareView,
  type ProductionState,
  type RecentFile,
  type RecipeEntry,
  type Reply,
  type RequestOf,
  type ResponseOf,
  type Settings,
} from '../../shared/contract.js';
import type { FlashEvent, FlashResult } from '../../shared/progress.js';
import type { AppBackend, PlanArgs, ProductionBackend } from './backend.js';

export type { AppBackend, PlanArgs, ProductionBackend } from './backend.js';

/** Where settings and recent files persist. The default keeps them in memory. */
export interface SettingsStore {
  load(): Promise<{ settings: Settings; recent: RecentFile[] }>;
  save(data: { settings: Settings; recent: RecentFile[] }): Promise<void>;
}

/** Settings in memory only; `recent` seeds the recent-files list (the web host offers the examples). */
export function memoryStore(recent: RecentFile[] = []): SettingsStore {
  let data = { settings: { ...DEFAULT_SETTINGS }, recent: [...recent] };
  return {
    load: async () => structuredClone(data),
    save: async (d) => {
      data = structuredClone(d);
    },
  };
}

/** Shell-specific pieces: native dialogs (Electron) or none (web). */
export interface ShellHooks {
  shell: 'electron' | 'web';
  version: string;
  chooseOpenPath?(): Promise<string | null>;
  chooseSavePath?(suggestedName: string): Promise<string | null>;
  /** Reads a file main exported (web: handed back to the page for download). */
  readExported?(path: string): Promise<Uint8Array>;
  tempPath?(name: string): string;
  /** Electron: native open dialog for a production recipe. */
  chooseRecipePath?(): Promise<string | null>;
  /** Electron: native save dialog for the unit log's CSV. */
  chooseCsvSavePath?(suggestedName: string): Promise<string | null>;
  /**
   * Recipes the user chose when starting the host (web: `--recipe FILE`): offered in the list, and the
   * only recipes besides the shipped ones and those opened in a native dialog that can be opened by path.
   */
  chosenRecipes?: RecipeEntry[];
}

type Handler<M extends Method> = (req: RequestOf<M>) => Promise<ResponseOf<M>>;
type Handlers = { [M in Method]: Handler<M> };

const MAX_RECENT = 10;

export class ApiHost {
  private readonly listeners = new Set<(e: AppEvent) => void>();
  private readonly firmware = new Map<string, FirmwareView>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeProduction: () => void;
  /** Recipes opened in this run (native dialog, typed path in the web host): offered again. */
  private readonly openedRecipes: RecipeEntry[] = [];
  private state: Promise<{ settings: Settings; recent: RecentFile[] }>;
  private readonly handlers: Handlers;

  constructor(
    private readonly backend: AppBackend,
    private readonly hooks: ShellHooks,
    private readonly store: SettingsStore = memoryStore(),
  ) {
    this.state = store.load().catch(() => ({ settings: { ...DEFAULT_SETTINGS }, recent: [] }));
    this.unsubscribe = backend.onDevicesChanged((devices) => this.emit({ type: 'devices', devices }));
    this.unsubscribeProduction = backend.production?.onEvent((event) => this.emit({ type: 'production', event })) ?? (() => undefined);
    this.handlers = this.makeHandlers();
  }

  onEvent(listener: (e: AppEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A line for every page's log (the host's own troubles: USB gone, a client dropped). */
  log(level: 'info' | 'warn' | 'error', message: string): void {
    this.emit({ type: 'log', level, message });
  }

  dispose(): void {
    this.unsubscribe();
    this.unsubscribeProduction();
    this.listeners.clear();
  }

  /**
   * Validates `payload` for `method` and runs it. Never throws: failures come back as ErrorData.
   * Both arguments arrive from outside main (a page, a socket), hence `unknown` until checked.
   */
  async dispatch(method: unknown, payload: unknown): Promise<Reply<ResponseOf<Method>>> {
    if (!isMethod(method)) {
      // Never String() a value the client made: {"toString": 1} would throw here.
      const name = typeof method === 'string' ? JSON.stringify(method.slice(0, 60)) : `(a ${method === null ? 'null' : typeof method}, not a name)`;
      return { ok: false, error: { code: 'BAD_ARGUMENT', message: `Unknown method ${name}`, context: { field: 'method' } } };
    }
    try {
      const checked = checkRequest(method, payload);
      if (!checked.ok) return checked;
      const handler = this.handlers[method] as Handler<Method>;
      const value = await handler(checked.value as never);
      return { ok: true, value };
    } catch (e) {
      return { ok: false, error: toErrorData(e) };
    }
  }

  private emit(e: AppEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener that throws (closed socket, destroyed window) must not stop the others.
      }
    }
  }

  private async remember(fw: FirmwareView): Promise<FirmwareView> {
    this.firmware.set(fw.id, fw);
    if (fw.path) {
      const s = await this.state;
      s.recent = [{ name: fw.name, path: fw.path, openedAt: Date.now() }, ...s.recent.filter((r) => r.path !== fw.path)].slice(0, MAX_RECENT);
      await this.store.save(s).catch(() => undefined);
    }
    return fw;
  }

  private production(): ProductionBackend {
    if (!this.backend.production) throw new BootBridgeError('BAD_ARGUMENT', 'Production mode is not available in this run', { field: 'production' });
    return this.backend.production;
  }

  /**
   * The recipes this host may open by path, all chosen by the user or shipped with the app: opened in a
   * native dialog, named on the command line, or shipped. A client can pick among them, never add one.
   */
  private recipeList(): RecipeEntry[] {
    const out: RecipeEntry[] = [];
    for (const r of [...this.openedRecipes, ...(this.hooks.chosenRecipes ?? []), ...(this.backend.production?.shippedRecipes() ?? [])]) {
      if (!out.some((o) => o.path === r.path)) out.push(r);
    }
    return out;
  }

  private async enterProduction(path: string): Promise<ProductionState> {
    const state = await this.production().open(path);
    if (!this.openedRecipes.some((r) => r.path === state.recipe.path)) {
      this.openedRecipes.unshift({ name: `${state.recipe.name} ${state.recipe.version}`, path: state.recipe.path });
      this.openedRecipes.splice(MAX_RECENT);
    }
    return state;
  }

  private makeHandlers(): Handlers {
    const b = this.backend;
    const hooks = this.hooks;
    return {
      hostInfo: async (): Promise<HostInfo> => ({
        shell: hooks.shell,
        version: hooks.version,
        simModels: b.simModels?.() ?? [],
        nativeDialogs: Boolean(hooks.chooseOpenPath),
      }),
      listDevices: () => b.listDevices(),
      describe: ({ deviceId }) => b.describe(deviceId),
      chooseFirmware: async () => {
        if (!hooks.chooseOpenPath) throw new BootBridgeError('BAD_ARGUMENT', 'This shell has no file dialog; use the file input', {});
        const path = await hooks.chooseOpenPath();
        if (!path) return null;
        return this.remember(await b.openFirmware(path));
      },
      openFirmwarePath: async ({ path, baseAddress }) => {
        // The page names no arbitrary paths: only files main itself listed (recent files, examples)
        // or the user chose in a native dialog. A compromised page cannot make main read others.
        const s = await this.state;
        if (!s.recent.some((r) => r.path === path)) {
          throw new BootBridgeError('BAD_ARGUMENT', 'Only files from the recent list can be opened by path; use Open or drop the file', { file: path, field: 'path' });
        }
        const opts = baseAddress === undefined ? {} : { baseAddress };
        return this.remember(await b.openFirmware(path, opts));
      },
      openFirmwareBytes: async ({ name, bytes, baseAddress }) => {
        const opts = baseAddress === undefined ? {} : { baseAddress };
        return this.remember(await b.openFirmwareBytes(name, bytes, opts));
      },
      listLoaders: () => b.listLoaders(),
      plan: (req) => b.plan(planArgs(req)),
      flash: async (req) => {
        let sawResult = false;
        let opId = '';
        const pending: FlashEvent[] = [];
        const send = (event: FlashEvent) => {
          if (event.kind === 'result') sawResult = true;
          if (!opId) pending.push(event);
          else this.emit({ type: 'flash', opId, event });
        };
        const op = b.flash(planArgs(req), send);
        opId = op.opId;
        // Events emitted synchronously inside flash() arrive before we know the opId.
        queueMicrotask(() => {
          for (const e of pending.splice(0)) this.emit({ type: 'flash', opId, event: e });
        });
        op.done.then(
          (result) => {
            if (!sawResult) this.emit({ type: 'flash', opId, event: { kind: 'result', result } });
          },
          (e: unknown) => {
            if (sawResult) return;
            const result: FlashResult = { ok: false, error: toErrorData(e), stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: false };
            this.emit({ type: 'flash', opId, event: { kind: 'result', result } });
          },
        );
        return { opId };
      },
      // False when the operation had already finished (or never ran here): nothing was cancelled.
      cancel: async ({ opId }) => ({ cancelled: b.cancel(opId) }),
      read: async (req) => {
        const bytes = await b.read(req.loader === undefined ? { deviceId: req.deviceId, address: req.address, length: req.length } : req);
        // Buffer (a Uint8Array subclass) would serialise as an object over the wire; hand back a plain view.
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      erase: async (req) => ({ sectors: await b.erase(req.mass === undefined ? { deviceId: req.deviceId, addresses: req.addresses, ...(req.loader ? { loader: req.loader } : {}) } : { ...req, mass: req.mass }) }),
      exportDfu: async ({ firmwareId }) => {
        const fw = this.firmware.get(firmwareId);
        const name = (fw?.name ?? 'firmware').replace(/\.[^.]*$/, '') + '.dfu';
        if (hooks.shell === 'electron') {
          // Main writes only where the user pointed in its own save dialog, never to a page-given path.
          const path = (await hooks.chooseSavePath?.(name)) ?? null;
          if (!path) return null;
          await b.exportDfu(firmwareId, path);
          return { path, name };
        }
        // Web: the browser saves the file; main writes to a private temp path and hands the bytes back.
        if (!hooks.tempPath || !hooks.readExported) throw new BootBridgeError('INTERNAL', 'Export needs a temporary folder', {});
        const tmp = hooks.tempPath(name);
        await b.exportDfu(firmwareId, tmp);
        return { name, bytes: await hooks.readExported(tmp) };
      },
      getSettings: async () => (await this.state).settings,
      setSettings: async (patch) => {
        const s = await this.state;
        s.settings = { ...s.settings, ...Object.fromEntries(Object.entries(patch).filter(([, val]) => val !== undefined)) };
        await this.store.save(s).catch(() => undefined);
        return s.settings;
      },
      recentFiles: async () => (await this.state).recent,
      simAttach: async ({ model }) => {
        if (!b.simAttach) throw new BootBridgeError('BAD_ARGUMENT', 'No simulator in this run', { field: 'model' });
        return b.simAttach(model);
      },
      simDetach: async ({ deviceId }) => {
        if (!b.simDetach) throw new BootBridgeError('BAD_ARGUMENT', 'No simulator in this run', { field: 'deviceId' });
        return { detached: await b.simDetach(deviceId) };
      },
      listRecipes: async () => this.recipeList(),
      chooseRecipe: async () => {
        if (!hooks.chooseRecipePath) throw new BootBridgeError('BAD_ARGUMENT', 'This shell has no file dialog; pick a recipe from the list', {});
        const path = await hooks.chooseRecipePath();
        return path ? this.enterProduction(path) : null;
      },
      openRecipe: async ({ path }) => {
        // As for firmware (openFirmwarePath): the page names no path main did not list, in either shell.
        // A page (or anything holding the token) cannot make the host read a file the user did not choose.
        if (!this.recipeList().some((r) => r.path === path)) {
          const how = hooks.shell === 'web' ? 'start the web host with --recipe FILE to offer another' : 'use Open recipe…';
          throw new BootBridgeError('BAD_ARGUMENT', `Only recipes from the list can be opened; ${how}`, { field: 'path' });
        }
        return this.enterProduction(path);
      },
      productionState: async () => this.backend.production?.state() ?? null,
      productionFlashAll: () => this.production().flashAll(),
      productionWatch: ({ on }) => this.production().watch(on),
      productionAcknowledge: async ({ failures }) => this.production().acknowledge(failures),
      productionRetry: async ({ laneId }) => ({ retried: await this.production().retry(laneId) }),
      closeRecipe: async () => ({ closed: await this.production().close() }),
      exportUnitsCsv: async () => {
        const p = this.production();
        const { csv, units, name } = p.unitsCsv();
        if (hooks.shell === 'electron') {
          // Main writes only where the user pointed in its own save dialog.
          const path = (await hooks.chooseCsvSavePath?.(name)) ?? null;
          if (!path) return null;
          return { path, name, units: p.exportUnitsCsv(path).units };
        }
        return { name, units, bytes: new TextEncoder().encode(csv) };
      },
    };
  }
}

function planArgs(req: RequestOf<'plan'>): PlanArgs {
  return req.loader === undefined ? { deviceId: req.deviceId, firmwareId: req.firmwareId, options: req.options } : req;
}
