// Production mode through the API host, on simulated F746 boards in virtual time: a recipe opens only
// from the list (or, in the web host, a typed YAML path), gang programming, a failing board alone,
// counters, flash-on-connect, the unit log as CSV, leaving production mode.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiHost } from '../../src-main/services/api-host.js';
import { createAppBackend, type ServicesBackend } from '../../src-main/services/app-backend.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import type { AppEvent, ProductionState, Reply } from '../../shared/contract.js';
import { recipeDir } from '../production/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEMO_RECIPE = join(ROOT, 'assets', 'recipes', 'demo-f746-sim.yaml');
let b: ServicesBackend | undefined;
let host: ApiHost | undefined;

afterEach(async () => {
  host?.dispose();
  await b?.close();
  b = undefined;
  host = undefined;
});

async function start(boards: number, shell: 'web' | 'electron' = 'web') {
  const logDir = mkdtempSync(join(tmpdir(), 'bb-units-'));
  b = await createAppBackend({ sim: 'stm32f746', simBoards: boards, clock: new VirtualClock(), assetsDir: join(ROOT, 'assets'), unitLogDir: logDir });
  host = new ApiHost(b, { shell, version: 'test', ...(shell === 'electron' ? { chooseCsvSavePath: async (name) => join(logDir, 'export-' + name) } : {}) });
  const events: AppEvent[] = [];
  host.onEvent((e) => events.push(e));
  const call = async <T>(method: string, payload?: unknown): Promise<T> => {
    const r = (await host!.dispatch(method, payload)) as Reply<T>;
    if (!r.ok) throw Object.assign(new Error(r.error.message), { data: r.error });
    return r.value;
  };
  const refused = async (method: string, payload?: unknown) => {
    const r = await host!.dispatch(method, payload);
    if (r.ok) throw new Error(`${method} was accepted`);
    return r.error;
  };
  return { b, host, events, call, refused, logDir };
}

describe('production mode over the API host', () => {
  it('offers the shipped recipe and shows it read-only with name, version, hash, chips and options', async () => {
    const { call } = await start(1);
    const list = await call<{ name: string; path: string }[]>('listRecipes');
    expect(list).toContainEqual({ name: 'Example: demo-f746-sim.yaml', path: DEMO_RECIPE });
    const st = await call<ProductionState>('openRecipe', { path: DEMO_RECIPE });
    expect(st.recipe).toMatchObject({ name: 'demo-f746', version: '1.0.0', station: 'sim-bench', chips: [{ deviceId: 0x449 }], options: { verify: true, leave: true } });
    expect(st.recipe.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(st.recipe.firmware).toMatchObject({ name: 'demo-f746.elf', sha256: 'f38cf23466bd00a66c98f270b4af09a4308912c5cba71fbfe9943482527bb6d3' });
    expect(st.recipe.loader?.sha256).toBe('d55dcb44bc7115d7d94f9eaff51945fb6ab31095ff06547e92998c115c3a97c4');
    expect(st.counters).toMatchObject({ passed: 0, failed: 0, yield: null });
    expect(await call('productionState')).toEqual(st);
  });

  it('opens in Electron only recipes main listed; the web host also takes a typed YAML path, never another file', async () => {
    const dir = recipeDir();
    const e = await start(1, 'electron');
    expect((await e.refused('openRecipe', { path: dir.recipe })).code).toBe('BAD_ARGUMENT');
    expect(await e.call('productionState')).toBeNull();
    await e.call('closeRecipe').catch(() => undefined);
    host!.dispose();
    await b!.close();
    const w = await start(1, 'web');
    expect((await w.refused('openRecipe', { path: '/etc/passwd' })).code).toBe('BAD_ARGUMENT');
    const st = await w.call<ProductionState>('openRecipe', { path: dir.recipe });
    expect(st.recipe.station).toBe('test-bench');
    // Opened once, it is offered in the list from now on.
    expect((await w.call<{ path: string }[]>('listRecipes'))[0]!.path).toBe(dir.recipe);
  });

  it('opens in Electron the recipe chosen in main’s own dialog, and offers it again', async () => {
    const dir = recipeDir();
    const logDir = mkdtempSync(join(tmpdir(), 'bb-units-'));
    b = await createAppBackend({ sim: 'stm32f746', clock: new VirtualClock(), assetsDir: join(ROOT, 'assets'), unitLogDir: logDir });
    let answer: string | null = null;
    host = new ApiHost(b, { shell: 'electron', version: 'test', chooseRecipePath: async () => answer });
    expect(await host.dispatch('chooseRecipe', undefined)).toEqual({ ok: true, value: null });
    answer = dir.recipe;
    const r = await host.dispatch('chooseRecipe', undefined);
    expect(r.ok && (r.value as ProductionState).recipe.path).toBe(dir.recipe);
    expect((await host.dispatch('closeRecipe', undefined)).ok).toBe(true);
    // Now listed, so the page may open it again by path.
    expect((await host.dispatch('openRecipe', { path: dir.recipe })).ok).toBe(true);
  });

  it('refuses a second recipe while one is open, and a tampered recipe with HASH_MISMATCH', async () => {
    const dir = recipeDir();
    const { call, refused } = await start(1);
    await call('openRecipe', { path: DEMO_RECIPE });
    expect((await refused('openRecipe', { path: dir.recipe })).code).toBe('BUSY');
    expect(await call('closeRecipe')).toEqual({ closed: true });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(dir.firmware, new Uint8Array([1, 2, 3]));
    expect((await refused('openRecipe', { path: dir.recipe })).code).toBe('HASH_MISMATCH');
    expect(await call('productionState')).toBeNull();
  });

  it('programs four boards at once; a failing board fails alone; counters and every unit in the log', async () => {
    const { b, call, events, logDir } = await start(4);
    await call('openRecipe', { path: DEMO_RECIPE });
    const bad = b.conn.bus!.boards[2]!;
    bad.faults.add({ kind: 'status', on: 'write', status: 0x03 });
    const r = await call<{ units: number; passed: number; failed: number }>('productionFlashAll');
    expect(r).toEqual({ units: 4, passed: 3, failed: 1 });
    const st = await call<ProductionState>('productionState');
    expect(st.counters).toMatchObject({ passed: 3, failed: 1, yield: 0.75 });
    expect(st.lanes).toHaveLength(4);
    expect(st.lanes.find((l) => l.serial === bad.serial)).toMatchObject({ status: 'FAIL', error: { code: 'DFU_STATUS' } });
    expect(st.lanes.filter((l) => l.status === 'PASS').map((l) => l.progress)).toEqual([1, 1, 1]);
    // Lane and unit events reached the page's side, the units after their lanes ran.
    const prod = events.flatMap((e) => (e.type === 'production' ? [e.event] : []));
    expect(prod.filter((e) => e.kind === 'unit')).toHaveLength(4);
    expect(prod.some((e) => e.kind === 'lane' && e.lane.status === 'running')).toBe(true);
    const log = readFileSync(join(logDir, 'bootbridge-units-sim-bench.jsonl'), 'utf8').trim().split('\n');
    expect(log.map((l) => (JSON.parse(l) as { result: string }).result).sort()).toEqual(['FAIL', 'PASS', 'PASS', 'PASS']);

    const csv = await call<{ name: string; units: number; bytes: Uint8Array }>('exportUnitsCsv');
    expect(csv.name).toBe('bootbridge-units-sim-bench.csv');
    expect(csv.units).toBe(4);
    const rows = new TextDecoder().decode(csv.bytes).trim().split('\r\n');
    expect(rows[0]).toMatch(/^time,station,recipe_name/);
    expect(rows.slice(1).filter((row) => row.includes(',FAIL,DFU_STATUS,'))).toHaveLength(1);

    // Boards done stay done while attached: a second press finds nothing to program.
    expect((await call('productionFlashAll').catch((e: { data: { code: string } }) => e.data)) as { code: string }).toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    // The failed board can be retried once its fault is gone.
    bad.faults.clear();
    expect(await call('productionRetry', { laneId: bad.serial })).toEqual({ retried: true });
    expect((await call<ProductionState>('productionState')).counters).toMatchObject({ passed: 4, failed: 1 });
  });

  it('a board a lane holds refuses the engineering views’ read and flash with BUSY', async () => {
    const { b, call, events } = await start(1);
    await call('openRecipe', { path: DEMO_RECIPE });
    const id = b.conn.bus!.boards[0]!.serial;
    const run = call('productionFlashAll');
    while (!events.some((e) => e.type === 'production' && e.event.kind === 'lane' && e.event.lane.status === 'running')) await new Promise((r) => setTimeout(r, 0));
    const read = await host!.dispatch('read', { deviceId: id, address: 0x08000000, length: 16 });
    expect(read.ok ? 'ok' : read.error.code).toBe('BUSY');
    const fw = await call<{ id: string }>('openFirmwareBytes', { name: 'x.bin', bytes: new Uint8Array(16), baseAddress: 0x08000000 });
    const flash = await call<{ opId: string }>('flash', { deviceId: id, firmwareId: fw.id, options: { verify: true, leave: false, eraseTouchedOnly: true } });
    const result = await new Promise<{ ok: boolean; error?: { code: string } }>((resolve) => {
      const seen = () => events.find((e) => e.type === 'flash' && e.opId === flash.opId && e.event.kind === 'result');
      const tick = () => {
        const e = seen();
        if (e && e.type === 'flash' && e.event.kind === 'result') resolve(e.event.result);
        else setTimeout(tick, 0);
      };
      tick();
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'BUSY' } });
    expect(await run).toEqual({ units: 1, passed: 1, failed: 0 });
  });

  it('flashes every board as it is connected while watching, and not after the watch is off', async () => {
    const { call } = await start(1);
    await call('openRecipe', { path: DEMO_RECIPE });
    const on = await call<ProductionState>('productionWatch', { on: true });
    expect(on.watching).toBe(true);
    const waitFor = async (pred: (s: ProductionState) => boolean) => {
      for (let i = 0; i < 2000; i++) {
        const s = await call<ProductionState>('productionState');
        if (pred(s)) return s;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('timed out');
    };
    await waitFor((s) => s.counters.passed === 1);
    await call('simAttach', { model: 'stm32f746' });
    const s2 = await waitFor((s) => s.counters.passed === 2);
    expect(s2.lanes).toHaveLength(2);
    expect((await call<ProductionState>('productionWatch', { on: false })).watching).toBe(false);
    await call('simAttach', { model: 'stm32f746' });
    await new Promise((r) => setTimeout(r, 200));
    expect((await call<ProductionState>('productionState')).counters.passed).toBe(2);
  });

  it('exports the CSV in Electron only where main’s save dialog points', async () => {
    const { call, logDir } = await start(1, 'electron');
    // The shipped recipe is listed, so Electron may open it.
    await call('openRecipe', { path: DEMO_RECIPE });
    await call('productionFlashAll');
    const r = await call<{ path: string; units: number }>('exportUnitsCsv');
    expect(r.path).toBe(join(logDir, 'export-bootbridge-units-sim-bench.csv'));
    expect(readFileSync(r.path, 'utf8')).toContain(',PASS,');
  });

  it('leaves production mode after the units in flight finish, and says so to the page', async () => {
    const { call, events } = await start(2);
    await call('openRecipe', { path: DEMO_RECIPE });
    const run = call('productionFlashAll');
    const running = () => events.some((e) => e.type === 'production' && e.event.kind === 'lane' && e.event.lane.status === 'running');
    while (!running()) await new Promise((r) => setTimeout(r, 0));
    expect(await call('closeRecipe')).toEqual({ closed: true });
    await run.catch(() => undefined);
    expect(await call('productionState')).toBeNull();
    const prod = events.flatMap((e) => (e.type === 'production' ? [e.event] : []));
    const last = prod[prod.length - 1];
    expect(last).toEqual({ kind: 'state', state: null });
    // Every unit that started was finished and reported before the station went.
    const units = prod.filter((e) => e.kind === 'unit').length;
    const started = new Set(prod.flatMap((e) => (e.kind === 'lane' && e.lane.status === 'running' ? [e.lane.id] : []))).size;
    expect(started).toBeGreaterThan(0);
    expect(units).toBe(started);
    expect(await call('closeRecipe')).toEqual({ closed: false });
  });
});
