// The GUI's production session: one recipe's station at a time over the services' connection, its
// lanes, units and counters as contract events (ProductionEvent), its unit log as CSV. The doors reach
// it as AppBackend.production; the station itself (src-main/production/) knows nothing of the GUI.

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { BootBridgeError } from '../../shared/errors.js';
import type { ProductionEvent, ProductionIgnored, ProductionState, RecipeEntry, RecipeView } from '../../shared/contract.js';
import { writeFileAtomic, type Connection } from '../operations/index.js';
import { loadRecipe, type LoadedRecipe } from '../production/recipe.js';
import { ProductionStation } from '../production/station.js';
import { UnitLog, readUnitLog, unitLogName, unitsToCsv } from '../production/unit-log.js';
import type { ProductionBackend } from './backend.js';
import { recipeView } from './views.js';

interface OpenStation {
  station: ProductionStation;
  loaded: LoadedRecipe;
  view: RecipeView;
  logPath: string;
  watching: boolean;
  ignored: Map<string, ProductionIgnored>;
  /** Failures the operator acknowledged (failureKey), for every window. */
  acknowledged: Set<string>;
  offs: (() => void)[];
}

/** Progress-only lane updates reach the page at most this often (wall time; see ProductionSession.lane). */
const LANE_PROGRESS_MS = 100;

/**
 * The GUI's production mode: one station at a time over the services' connection, always in gang
 * (every matching board at once). The recipe is read-only here: nothing but its file decides.
 */
export class ProductionSession implements ProductionBackend {
  private current: OpenStation | undefined;
  private readonly listeners = new Set<(e: ProductionEvent) => void>();
  /** Per lane: what was last sent (status, stage, attached), and progress held back since. */
  private readonly laneSent = new Map<string, string>();
  private readonly laneHeld = new Map<string, ProductionEvent>();
  private laneTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly conn: Connection,
    private readonly assetsDir: string,
    private readonly unitLogDir: string | undefined,
  ) {}

  onEvent(listener: (e: ProductionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: ProductionEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A closed window must not stop a lane.
      }
    }
  }

  /**
   * The engine throttles progress on the station's clock (engine/progress.ts), which in a fast
   * simulation (--sim-speed 50) is 50× wall time: four lanes would send thousands of updates a second
   * and starve the boards' own timing. Status, stage and plug changes go at once; progress-only
   * updates are coalesced per lane in wall time.
   */
  private lane(e: ProductionEvent & { kind: 'lane' }): void {
    const l = e.lane;
    const key = `${l.status}|${l.stage ?? ''}|${l.phase ?? ''}|${l.attached}`;
    if (this.laneSent.get(l.id) !== key) {
      this.laneSent.set(l.id, key);
      this.laneHeld.delete(l.id);
      this.emit(e);
      return;
    }
    this.laneHeld.set(l.id, e);
    this.laneTimer ??= setTimeout(() => {
      this.laneTimer = undefined;
      const held = [...this.laneHeld.values()];
      this.laneHeld.clear();
      for (const h of held) this.emit(h);
    }, LANE_PROGRESS_MS);
  }

  shippedRecipes(): RecipeEntry[] {
    const dir = resolve(this.assetsDir, 'recipes');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/i.test(f))
      .sort()
      .map((f) => ({ name: `Example: ${f}`, path: join(dir, f) }));
  }

  private openStation(): OpenStation {
    if (!this.current) throw new BootBridgeError('BAD_ARGUMENT', 'No recipe is open; open one to enter production mode', { field: 'recipe' });
    return this.current;
  }

  async open(path: string): Promise<ProductionState> {
    if (this.current) {
      throw new BootBridgeError('BUSY', `Recipe ${this.current.view.name} ${this.current.view.version} is open; leave production mode before opening another`, { file: this.current.view.path });
    }
    const loaded = await loadRecipe(path);
    const r = loaded.recipe;
    const station = r.station ?? hostname();
    const dir = resolve(this.unitLogDir ?? '.');
    mkdirSync(dir, { recursive: true });
    const logPath = join(dir, unitLogName(station));
    // The shift's counters go on from the unit log: this recipe's attempts already recorded at this station.
    const history = existsSync(logPath) ? readUnitLog(logPath).records.filter((u) => u.recipe.sha256 === loaded.sha256) : [];
    const st = new ProductionStation({ conn: this.conn, recipe: loaded, sink: new UnitLog(logPath), station, concurrency: Infinity, history });
    const view = recipeView(loaded);
    const cur: OpenStation = { station: st, loaded, view, logPath, watching: false, ignored: new Map(), acknowledged: new Set(), offs: [] };
    cur.offs.push(
      st.on('lane', (lane) => this.lane({ kind: 'lane', lane, busy: st.busy, batch: st.batch })),
      st.on('unit', (unit) => {
        this.emit({ kind: 'unit', unit, counters: st.counters() });
        // The unit leaves the station's busy count once its promise settles, just after this event.
        setTimeout(() => {
          if (this.current === cur) this.emit({ kind: 'state', state: this.state() });
        }, 0);
      }),
      st.on('ignored', (i) => {
        cur.ignored.set(i.id, i);
        this.emit({ kind: 'ignored', ignored: i });
      }),
      st.on('error', (error) => this.emit({ kind: 'error', error })),
    );
    this.current = cur;
    const state = this.state()!;
    this.emit({ kind: 'state', state });
    return state;
  }

  state(): ProductionState | null {
    const c = this.current;
    if (!c) return null;
    return {
      recipe: c.view,
      station: c.station.station,
      logPath: c.logPath,
      lanes: c.station.lanes(),
      counters: c.station.counters(),
      watching: c.watching,
      busy: c.station.busy,
      batch: c.station.batch,
      ignored: [...c.ignored.values()],
      acknowledged: [...c.acknowledged],
    };
  }

  acknowledge(failures: string[]): ProductionState {
    const c = this.openStation();
    for (const k of failures) c.acknowledged.add(k);
    this.emit({ kind: 'acknowledged', acknowledged: [...c.acknowledged] });
    return this.state()!;
  }

  async flashAll(): Promise<{ units: number; passed: number; failed: number }> {
    const c = this.openStation();
    const records = await c.station.flashAll();
    if (records.length === 0 && c.station.busy === 0) {
      const why = c.ignored.size ? ` Attached but not for this recipe: ${[...c.ignored.values()].map((i) => `${i.id}: ${i.reason}`).join('; ')}.` : '';
      throw new BootBridgeError('DEVICE_NOT_FOUND', `No board this recipe is for is waiting to be programmed (boards already done stay done until unplugged).${why}`, {});
    }
    const passed = records.filter((r) => r.result === 'PASS').length;
    return { units: records.length, passed, failed: records.length - passed };
  }

  async watch(on: boolean): Promise<ProductionState> {
    const c = this.openStation();
    if (on && !c.watching) {
      await c.station.startWatch();
      c.watching = true;
    } else if (!on && c.watching) {
      c.station.stopWatch();
      c.watching = false;
    }
    const state = this.state()!;
    this.emit({ kind: 'state', state });
    return state;
  }

  async retry(laneId: string): Promise<boolean> {
    const record = await this.openStation().station.retry(laneId);
    return record !== undefined;
  }

  async close(): Promise<boolean> {
    const c = this.current;
    if (!c) return false;
    this.current = undefined;
    // Units in flight finish (and are logged, and shown) before the station is let go.
    await c.station.close();
    for (const off of c.offs) off();
    clearTimeout(this.laneTimer);
    this.laneTimer = undefined;
    this.laneHeld.clear();
    this.laneSent.clear();
    this.emit({ kind: 'state', state: null });
    return true;
  }

  unitsCsv(): { csv: string; units: number; name: string } {
    const c = this.openStation();
    const records = existsSync(c.logPath) ? readUnitLog(c.logPath).records : [];
    return { csv: unitsToCsv(records), units: records.length, name: basename(c.logPath).replace(/\.jsonl$/, '.csv') };
  }

  exportUnitsCsv(path: string): { units: number } {
    const { csv, units } = this.unitsCsv();
    writeFileAtomic(path, csv);
    return { units };
  }
}
