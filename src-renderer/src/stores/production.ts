// Production mode's state in the renderer: the open recipe's station (lanes, counters, watch), the
// recipes main offers, and the operator's actions. Main's events keep it live; a page reloaded while
// in production mode comes back in production mode (productionState at start).

import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { failureKey, type AppEvent, type ErrorData, type ProductionEvent, type ProductionLane, type ProductionState, type RecipeEntry } from '../../../shared/contract';
import { bb, errorData } from './app';
import { ProgressModel } from '../lib/progress-model';
import type { Phase } from '../../../shared/progress';

export const useProductionStore = defineStore('production', () => {
  const state = ref<ProductionState | null>(null);
  const recipes = ref<RecipeEntry[]>([]);
  const lastError = ref<ErrorData>();
  /** The recipe picker is showing (entering production mode). */
  const picking = ref(false);
  const opening = ref(false);
  /** Between pressing Flash and main's answer. */
  const flashing = ref(false);

  const active = computed(() => state.value !== null);
  /**
   * Failures the operator acknowledged (failureKey: a new attempt that fails is a new failure). Main
   * holds them for the open recipe (ProductionState.acknowledged), so every window and a reload agree;
   * this window adds its own at once while main is told.
   */
  const acknowledged = computed(() => new Set(state.value?.acknowledged ?? []));
  /** Every failed board not acknowledged yet, whichever batch: the verdict says FAIL until none is left. */
  const unacknowledged = computed(() => (state.value?.lanes ?? []).filter((l) => l.status === 'FAIL' && !acknowledged.value.has(failureKey(l))));
  /** The current batch's boards; older lanes are history. */
  const batchLanes = computed(() => {
    const s = state.value;
    return s && s.batch > 0 ? s.lanes.filter((l) => l.batch === s.batch) : [];
  });
  const historyLanes = computed(() => {
    const s = state.value;
    return s ? s.lanes.filter((l) => l.batch !== s.batch || s.batch === 0) : [];
  });
  /** The batch verdict: FAIL until acknowledged, else RUNNING while any board runs, else PASS/DONE of the batch. */
  const verdict = computed<'FAIL' | 'RUNNING' | 'PASS' | 'DONE' | 'NONE'>(() => {
    if (unacknowledged.value.length) return 'FAIL';
    const lanes = batchLanes.value;
    if (flashing.value && lanes.length === 0) return 'RUNNING';
    if (lanes.some((l) => l.status === 'queued' || l.status === 'running')) return 'RUNNING';
    if (lanes.length === 0) return 'NONE';
    return lanes.every((l) => l.status === 'PASS') ? 'PASS' : 'DONE';
  });

  async function acknowledgeLanes(lanes: ProductionLane[]): Promise<void> {
    const s = state.value;
    if (!s || lanes.length === 0) return;
    const failures = lanes.map(failureKey);
    s.acknowledged = [...new Set([...(s.acknowledged ?? []), ...failures])];
    try {
      const next = await bb().productionAcknowledge({ failures });
      if (state.value && next.acknowledged) state.value.acknowledged = next.acknowledged;
    } catch (e) {
      // This window keeps the acknowledgement; the error says the others may not have it.
      fail(e);
    }
  }

  function acknowledge(): Promise<void> {
    return acknowledgeLanes(unacknowledged.value);
  }
  const busy = computed(() => flashing.value || (state.value?.busy ?? 0) > 0);

  /**
   * Each lane's attempt on the one progress model (lib/progress-model.ts): one bar over its plan's
   * stages and phases weighted by their estimates, never backwards, with elapsed time and ETA. Kept
   * outside Vue's reactivity (mutated in place); `tick` is bumped on every lane event and by a clock
   * while boards run.
   */
  const models = new Map<string, ProgressModel>();
  const seenRunning = new Set<string>();
  const tick = ref(0);
  let ticker: ReturnType<typeof setInterval> | undefined;

  function feed(l: ProductionLane): void {
    if (l.status === 'idle' || l.status === 'queued' || !l.plan) return;
    const key = failureKey(l);
    let m = models.get(key);
    if (!m) {
      for (const k of models.keys()) if (k.startsWith(`${l.id}:`)) models.delete(k);
      m = new ProgressModel({ stages: l.plan }, l.startedAt ?? Date.now());
      models.set(key, m);
    }
    // Only a run seen running here gets a wall-clock end; one first seen finished (a page opened later) keeps the log's duration.
    if (l.status === 'running') seenRunning.add(key);
    else if ((l.status === 'PASS' || l.status === 'FAIL') && seenRunning.has(key) && !m.endedAt) m.endedAt = Date.now();
    if (l.status === 'PASS') m.finish();
    else if (l.stage && l.stage !== 'check' && l.phase) m.progress({ kind: 'progress', stage: l.stage, phase: l.phase as Phase, bytesDone: l.progress, bytesTotal: 1, rate: 0 });
  }

  /** A lane's whole-attempt view: overall 0–1, elapsed and ETA in ms (undefined until it can be measured). */
  function laneProgress(l: ProductionLane): { overall: number; elapsedMs?: number; etaMs?: number; tookMs?: number } {
    void tick.value;
    const m = models.get(failureKey(l));
    if (!m) return { overall: l.status === 'PASS' ? 1 : 0 };
    const now = Date.now();
    if (l.status !== 'running') return { overall: m.overall, ...(m.endedAt ? { tookMs: m.elapsedMs(m.endedAt) } : {}) };
    const eta = m.etaMs(now);
    return { overall: m.overall, elapsedMs: m.elapsedMs(now), ...(eta !== undefined ? { etaMs: eta } : {}) };
  }

  function clockWhileBusy(): void {
    const running = (state.value?.lanes ?? []).some((l) => l.status === 'running');
    if (running && !ticker) ticker = setInterval(() => tick.value++, 500);
    else if (!running && ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
    tick.value++;
  }

  function fail(e: unknown): ErrorData {
    const d = errorData(e);
    lastError.value = d;
    return d;
  }

  function apply(e: ProductionEvent): void {
    if (e.kind === 'state') {
      state.value = e.state;
      for (const l of e.state?.lanes ?? []) feed(l);
      clockWhileBusy();
      return;
    }
    const s = state.value;
    if (!s) return;
    if (e.kind === 'lane') {
      const i = s.lanes.findIndex((l) => l.id === e.lane.id);
      if (i >= 0) s.lanes.splice(i, 1, e.lane);
      else s.lanes.push(e.lane);
      s.busy = e.busy;
      s.batch = e.batch;
      feed(e.lane);
      clockWhileBusy();
    } else if (e.kind === 'unit') {
      s.counters = e.counters;
    } else if (e.kind === 'ignored') {
      if (!s.ignored.some((x) => x.id === e.ignored.id)) s.ignored.push(e.ignored);
    } else if (e.kind === 'acknowledged') {
      s.acknowledged = e.acknowledged;
    } else if (e.kind === 'error') {
      lastError.value = e.error;
    }
  }

  function onEvent(e: AppEvent): void {
    if (e.type === 'production') apply(e.event);
  }

  async function start(): Promise<void> {
    bb().onEvent(onEvent);
    try {
      const [s, list] = await Promise.all([bb().productionState(), bb().listRecipes()]);
      state.value = s;
      for (const l of s?.lanes ?? []) feed(l);
      clockWhileBusy();
      recipes.value = list;
    } catch (e) {
      fail(e);
    }
  }

  async function pick(): Promise<void> {
    lastError.value = undefined;
    picking.value = true;
    recipes.value = await bb().listRecipes().catch(() => recipes.value);
  }

  async function entered(s: ProductionState | null): Promise<void> {
    if (!s) return;
    state.value = s;
    picking.value = false;
    lastError.value = undefined;
    recipes.value = await bb().listRecipes().catch(() => recipes.value);
  }

  async function openRecipe(path: string): Promise<void> {
    opening.value = true;
    try {
      await entered(await bb().openRecipe({ path }));
    } catch (e) {
      fail(e);
    } finally {
      opening.value = false;
    }
  }

  async function chooseRecipe(): Promise<void> {
    opening.value = true;
    try {
      await entered(await bb().chooseRecipe());
    } catch (e) {
      fail(e);
    } finally {
      opening.value = false;
    }
  }

  async function flashAll(): Promise<void> {
    if (busy.value || !state.value || unacknowledged.value.length) return;
    lastError.value = undefined;
    flashing.value = true;
    // The panel clears to RUNNING at once: main numbers this press's batch the same way.
    state.value.batch += 1;
    try {
      await bb().productionFlashAll();
    } catch (e) {
      fail(e);
    } finally {
      flashing.value = false;
      state.value = await bb().productionState().catch(() => state.value);
    }
  }

  async function setWatch(on: boolean): Promise<void> {
    try {
      state.value = await bb().productionWatch({ on });
    } catch (e) {
      fail(e);
    }
  }

  async function retry(laneId: string): Promise<void> {
    // Retrying a board is the operator's answer to its failure.
    const l = state.value?.lanes.find((x) => x.id === laneId);
    if (l?.status === 'FAIL') await acknowledgeLanes([l]);
    try {
      await bb().productionRetry({ laneId });
    } catch (e) {
      fail(e);
    }
  }

  /** Only after the operator confirmed (ProductionView's dialog). */
  async function leave(): Promise<void> {
    try {
      await bb().closeRecipe();
      state.value = null;
      lastError.value = undefined;
    } catch (e) {
      fail(e);
    }
  }

  async function exportCsv(): Promise<{ name: string; bytes?: Uint8Array; path?: string; units: number } | null> {
    try {
      return await bb().exportUnitsCsv();
    } catch (e) {
      fail(e);
      return null;
    }
  }

  return { state, recipes, lastError, picking, opening, flashing, active, busy, laneProgress, unacknowledged, batchLanes, historyLanes, verdict, acknowledge, start, apply, onEvent, pick, openRecipe, chooseRecipe, flashAll, setWatch, retry, leave, exportCsv };
});
