// @vitest-environment happy-dom
// The production view against the real stores and API host over a scripted station: the recipe shown
// read-only, counters, one lane per board, the last unit in big words with the error's title and
// hint, CSV export, and leaving production mode only through a confirmation.
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { ApiHost, type ProductionBackend } from '../../src-main/services/api-host.js';
import { ERROR_TEXT } from '../../shared/errors.js';
import type { ProductionEvent, ProductionLane, ProductionState, ProductionUnit } from '../../shared/contract.js';
import { useApi, useAppStore } from '../../src-renderer/src/stores/app.js';
import { useProductionStore } from '../../src-renderer/src/stores/production.js';
import ProductionView from '../../src-renderer/src/components/ProductionView.vue';
import RecipePicker from '../../src-renderer/src/components/RecipePicker.vue';
import App from '../../src-renderer/src/App.vue';
import { FakeBackend } from '../app/fake-backend.js';
import { inProcessApi, settle } from './helpers.js';

const RECIPE_SHA = 'ab12cd34ef56'.padEnd(64, '0');
// The root tsconfig has no DOM library; happy-dom provides these at run time.
type El = { getAttribute(name: string): string | null } | null;
type Checkable = { checked: boolean };
const doc = (globalThis as unknown as { document: { body: never; activeElement: El } }).document;

/** A station whose boards pass or fail as scripted (serial → error code, or PASS). */
class ScriptedProduction implements ProductionBackend {
  private listeners = new Set<(e: ProductionEvent) => void>();
  st: ProductionState | null = null;
  closed = 0;
  /** Engine log lines each board's lane receives while it runs. */
  logs: Record<string, NonNullable<ProductionLane['log']>> = {};
  constructor(public boards: Record<string, 'PASS' | 'DFU_STATUS' | 'DEVICE_DISCONNECTED'>) {}
  shippedRecipes() {
    return [{ name: 'Example: demo.yaml', path: '/assets/recipes/demo.yaml' }];
  }
  onEvent(l: (e: ProductionEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  private emit(e: ProductionEvent) {
    for (const l of this.listeners) l(structuredClone(e));
  }
  async open(path: string) {
    this.st = {
      recipe: {
        path,
        name: 'demo-f746',
        version: '1.0.0',
        station: 'bench-3',
        sha256: RECIPE_SHA,
        firmware: { name: 'demo-f746.elf', format: 'elf', size: 70_000, sha256: 'f38cf234'.padEnd(64, '1') },
        loader: { name: 'Simulated F746 loader', sha256: 'f6fb7d9a'.padEnd(64, '2') },
        chips: [{ deviceId: 0x449, name: 'STM32F74xxx/75xxx' }],
        options: { verify: true, skipBlank: true, massErase: false, leave: true },
      },
      station: 'bench-3',
      logPath: '/data/bootbridge-units-bench-3.jsonl',
      lanes: [],
      counters: { passed: 0, failed: 0, units: 0, attempts: 0, yield: null },
      watching: false,
      busy: 0,
      batch: 0,
      ignored: [],
    };
    return structuredClone(this.st);
  }
  state() {
    return this.st && structuredClone(this.st);
  }
  acknowledge(failures: string[]) {
    const st = this.st!;
    st.acknowledged = [...new Set([...(st.acknowledged ?? []), ...failures])];
    this.emit({ kind: 'acknowledged', acknowledged: st.acknowledged });
    return structuredClone(st);
  }
  async flashAll() {
    const st = this.st!;
    const batch = ++st.batch;
    let passed = 0;
    let failed = 0;
    for (const [serial, outcome] of Object.entries(this.boards)) {
      const lane: ProductionLane = { id: serial, serial, chip: 'STM32F74xxx/75xxx', status: 'running', stage: 'loader', phase: 'write', progress: 0.5, attached: true, units: 1, batch, log: [] };
      this.emit({ kind: 'lane', lane, busy: 1, batch });
      for (const line of this.logs[serial] ?? []) {
        lane.log = [...lane.log!, line];
        this.emit({ kind: 'lane', lane, busy: 1, batch });
      }
      const unit: ProductionUnit = {
        v: 1, time: '2026-01-01T00:00:00.000Z', station: 'bench-3', recipe: { name: 'demo-f746', version: '1.0.0', sha256: RECIPE_SHA },
        firmwareSha256: 'f', loaderSha256: null, serial, chipId: '0x449', result: outcome === 'PASS' ? 'PASS' : 'FAIL',
        error: outcome === 'PASS' ? null : { code: outcome, message: `${outcome} on ${serial}` }, stageMs: {}, bytesWritten: 1, bytesVerified: 1, durationMs: 4200,
      };
      if (outcome === 'PASS') passed++;
      else failed++;
      const unplugged = outcome === 'DEVICE_DISCONNECTED';
      const done: ProductionLane = {
        ...lane, status: unit.result, progress: outcome === 'PASS' ? 1 : 0.5, last: unit, attached: !unplugged,
        ...(unit.error ? { error: { ...unit.error, context: unplugged ? { stage: 'loader', phase: 'write' } : {} } } : {}),
      };
      const i = st.lanes.findIndex((l) => l.id === serial);
      if (i >= 0) st.lanes.splice(i, 1, done);
      else st.lanes.push(done);
      st.counters = { passed, failed, units: passed + failed, attempts: passed + failed, yield: passed / (passed + failed), last: unit };
      this.emit({ kind: 'lane', lane: done, busy: 0, batch });
      this.emit({ kind: 'unit', unit, counters: st.counters });
    }
    return { units: passed + failed, passed, failed };
  }
  async watch(on: boolean) {
    this.st!.watching = on;
    return structuredClone(this.st!);
  }
  async retry() {
    return true;
  }
  async close() {
    this.closed++;
    this.st = null;
    this.emit({ kind: 'state', state: null });
    return true;
  }
  unitsCsv() {
    return { csv: 'time\r\n', units: 0, name: 'units.csv' };
  }
  exportUnitsCsv() {
    return { units: 0 };
  }
}

async function setup(boards: ScriptedProduction['boards'] = { A1: 'PASS', A2: 'PASS', A3: 'PASS', A4: 'PASS' }) {
  const backend = new FakeBackend();
  const production = new ScriptedProduction(boards);
  Object.assign(backend, { production });
  const host = new ApiHost(backend, { shell: 'web', version: 'test' });
  const pinia = createPinia();
  setActivePinia(pinia);
  useApi(inProcessApi(host));
  const app = useAppStore();
  const prod = useProductionStore();
  await app.start();
  await prod.start();
  return { pinia, production, prod, app };
}

async function inProduction(boards?: ScriptedProduction['boards']) {
  const s = await setup(boards);
  await s.prod.openRecipe('/assets/recipes/demo.yaml');
  const w = mount(ProductionView, { global: { plugins: [s.pinia] }, attachTo: doc.body });
  await settle();
  return { ...s, w };
}

describe('production view', () => {
  it('shows the recipe read-only: name, version, hash prefix, options as words, and no control that edits them', async () => {
    const { w } = await inProduction();
    expect(w.find('[data-test=recipe-name]').text()).toBe('demo-f746 1.0.0');
    expect(w.find('[data-test=recipe-hash]').text()).toBe('recipe ab12cd34ef56');
    expect(w.find('[data-test=recipe-options]').text()).toBe('verify · skip blank · erase touched sectors · start the application');
    // The only inputs are the watch switch; no select, no text field.
    expect(w.findAll('input').map((i) => i.attributes('data-test'))).toEqual(['watch']);
    expect(w.findAll('select, textarea')).toHaveLength(0);
    expect(w.find('[data-test=count-passed]').text()).toBe('0');
    expect(w.find('[data-test=yield]').text()).toBe('—');
    expect(w.find('[data-test=last-result]').text()).toContain('No batch yet');
    // The one action an operator takes has the keyboard focus.
    expect(doc.activeElement?.getAttribute('data-test')).toBe('prod-flash');
  });

  it('Flash gives every board a lane with its PASS, and counters 4 / 0 / 100%', async () => {
    const { w } = await inProduction();
    await w.find('[data-test=prod-flash]').trigger('click');
    await settle();
    const lanes = w.findAll('[data-test=lane]');
    expect(lanes.map((l) => l.attributes('data-serial'))).toEqual(['A1', 'A2', 'A3', 'A4']);
    expect(lanes.map((l) => l.find('[data-test=lane-status]').text())).toEqual(['✓ PASS', '✓ PASS', '✓ PASS', '✓ PASS']);
    expect(w.find('[data-test=count-passed]').text()).toBe('4');
    expect(w.find('[data-test=count-failed]').text()).toBe('0');
    expect(w.find('[data-test=yield]').text()).toBe('100%');
    const last = w.find('[data-test=last-result]');
    expect(last.classes()).toContain('pass');
    expect(last.text()).toContain('PASS');
    expect(last.text()).toContain('A4');
  });

  it('a failing board fails alone: its lane and the last result say FAIL with the error’s title and hint, not colour alone', async () => {
    const { w } = await inProduction({ B1: 'PASS', B2: 'PASS', B3: 'DFU_STATUS' });
    await w.find('[data-test=prod-flash]').trigger('click');
    await settle();
    const statuses = w.findAll('[data-test=lane-status]').map((s) => s.text());
    expect(statuses).toEqual(['✓ PASS', '✓ PASS', '✗ FAIL']);
    const bad = w.find('[data-test=lane][data-serial=B3]');
    expect(bad.find('[data-test=lane-error]').text()).toContain(ERROR_TEXT.DFU_STATUS.title);
    expect(bad.find('[data-test=retry]').exists()).toBe(true);
    expect(w.find('[data-test=count-failed]').text()).toBe('1');
    expect(w.find('[data-test=yield]').text()).toBe('66.7%');
    const last = w.find('[data-test=last-result]');
    expect(last.classes()).toContain('fail');
    expect(last.find('.word').text()).toContain('FAIL');
    expect(last.find('[data-test=last-title]').text()).toBe(ERROR_TEXT.DFU_STATUS.title);
    expect(last.find('[data-test=verdict-fail]').text()).toContain('B3 · lane 3');
    expect(last.text()).toContain('DFU_STATUS on B3');
    expect(last.find('[data-test=left-in]').text()).toContain('Still in its ROM bootloader');
  });

  it("a lane shows its board's last engine warning or error under it; the store keeps the lane's lines", async () => {
    const { w, production, prod } = await inProduction({ D1: 'PASS', D2: 'DFU_STATUS' });
    production.logs = {
      D1: [{ level: 'info', message: 'Jumped to the loader at 0x20010000' }],
      D2: [
        { level: 'warn', message: 'QSPI is slower than the loader promised' },
        { level: 'error', message: 'DFU_STATUS on D2' },
        { level: 'info', message: 'Closing the board' },
      ],
    };
    await w.find('[data-test=prod-flash]').trigger('click');
    await settle();
    expect(prod.state!.lanes.find((l) => l.id === 'D2')!.log!.map((l) => l.level)).toEqual(['warn', 'error', 'info']);
    // Info lines alone show nothing; the failed board shows its last warning/error line, not a later info line.
    expect(w.find('[data-test=lane][data-serial=D1] [data-test=lane-notice]').exists()).toBe(false);
    const notice = w.find('[data-test=lane][data-serial=D2] [data-test=lane-notice]');
    expect(notice.text()).toContain('DFU_STATUS on D2');
    expect(notice.classes()).toContain('error');
  });

  it('a board that passed with a warning keeps the warning under its lane', async () => {
    const { w, production } = await inProduction({ E1: 'PASS' });
    production.logs = { E1: [{ level: 'warn', message: 'Sector 3 was not blank' }] };
    await w.find('[data-test=prod-flash]').trigger('click');
    await settle();
    const lane = w.find('[data-test=lane][data-serial=E1]');
    expect(lane.find('[data-test=lane-status]').text()).toBe('✓ PASS');
    expect(lane.find('[data-test=lane-notice]').text()).toContain('Sector 3 was not blank');
    expect(lane.find('[data-test=lane-notice]').classes()).toContain('warn');
  });

  it('one unplugged board makes the whole batch FAIL, naming it by serial and lane, until the operator acknowledges', async () => {
    const { w, prod } = await inProduction({ C1: 'DEVICE_DISCONNECTED', C2: 'PASS', C3: 'PASS' });
    await w.find('[data-test=prod-flash]').trigger('click');
    await settle();
    const last = w.find('[data-test=last-result]');
    expect(last.classes()).toContain('fail');
    expect(last.find('[data-test=verdict-word]').text()).toContain('FAIL');
    // Not attached any more, the failure still counts: the batch is not a PASS.
    const fails = last.findAll('[data-test=verdict-fail]');
    expect(fails).toHaveLength(1);
    expect(fails[0]!.text()).toContain('C1 · lane 1');
    expect(last.find('[data-test=last-title]').text()).toBe(ERROR_TEXT.DEVICE_DISCONNECTED.title);
    expect(last.find('[data-test=left-in]').text()).toContain('Unplugged');
    // The unplugged lane does not claim the board still runs the loader.
    expect(w.find('[data-test=lane][data-serial=C1] [data-test=lane-stage]').text()).toBe('failed · unplugged');
    // The acknowledgement has the focus; the next batch waits for it.
    expect(doc.activeElement?.getAttribute('data-test')).toBe('acknowledge');
    expect(w.find('[data-test=prod-flash]').attributes('disabled')).toBeDefined();
    await w.find('[data-test=acknowledge]').trigger('click');
    await settle();
    expect(prod.verdict).toBe('DONE');
    expect(w.find('[data-test=last-result]').classes()).not.toContain('fail');
    expect(w.find('[data-test=prod-flash]').attributes('disabled')).toBeUndefined();
  });

  it('a lane has one bar over its whole run, weighted by its plan, that never falls back when a phase starts, with elapsed time and a phase label', async () => {
    const { w, production } = await inProduction({});
    const plan = [
      { name: 'rom' as const, title: 'ROM bootloader', bytes: 0, estimatedMs: 4000, operations: [
        { kind: 'erase', region: 'Internal Flash', estimatedMs: 1000 },
        { kind: 'write', region: 'Internal Flash', estimatedMs: 3000 },
      ] },
    ];
    const base: ProductionLane = { id: 'P1', serial: 'P1', status: 'running', stage: 'rom', phase: 'erase', progress: 0, attached: true, units: 1, batch: 1, plan, startedAt: Date.now() - 5000 };
    const send = async (patch: Partial<ProductionLane>) => {
      (production as unknown as { emit(e: ProductionEvent): void }).emit({ kind: 'lane', lane: { ...base, ...patch }, busy: 1, batch: 1 });
      await settle();
    };
    const bar = () => Number(w.find('[data-test=lane][data-serial=P1] [data-test=lane-bar]').attributes('aria-valuenow'));
    await send({ phase: 'erase', progress: 0.96 });
    expect(bar()).toBe(24);
    await send({ phase: 'write', progress: 0 });
    // Erase is done once writing starts: 25 %, not back to 0.
    expect(bar()).toBe(25);
    await send({ phase: 'write', progress: 0.5 });
    expect(bar()).toBe(62);
    // A late event of an earlier phase does not move it back.
    await send({ phase: 'erase', progress: 0.1 });
    expect(bar()).toBe(62);
    const lane = w.find('[data-test=lane][data-serial=P1]');
    expect(lane.find('[data-test=lane-stage]').text()).toBe('ROM bootloader · erase');
    expect(lane.find('[data-test=lane-times]').text()).toMatch(/elapsed 0:0[5-6] · about 0:0\d left/);
    await send({ status: 'PASS', progress: 1 });
    expect(bar()).toBe(100);
    // Done, it says how long the run took on this station's wall clock.
    expect(w.find('[data-test=lane][data-serial=P1] [data-test=lane-times]').text()).toMatch(/took 0:0[5-6]/);
  });

  it('an acknowledgement is the same in every window and survives a reload: main holds it', async () => {
    const { w, pinia } = await inProduction({ K1: 'DFU_STATUS', K2: 'PASS' });
    // A second window on the same host, open while the batch runs.
    const other = createPinia();
    setActivePinia(other);
    const prod2 = useProductionStore();
    await prod2.start();
    setActivePinia(pinia);
    await w.find('[data-test=prod-flash]').trigger('click');
    await settle();
    expect(prod2.verdict).toBe('FAIL');
    await w.find('[data-test=acknowledge]').trigger('click');
    await settle();
    expect(useProductionStore(pinia).verdict).toBe('DONE');
    // The other window is told, without a click of its own.
    expect(prod2.verdict).toBe('DONE');
    expect(prod2.unacknowledged).toEqual([]);
    // A reloaded page (a fresh store) starts from main's state: still acknowledged.
    const reloaded = createPinia();
    setActivePinia(reloaded);
    const prod3 = useProductionStore();
    await prod3.start();
    expect(prod3.verdict).toBe('DONE');
    setActivePinia(pinia);
  });

  it('a new batch replaces the lanes on screen; the earlier batch goes to the collapsed history', async () => {
    const { w, production, prod } = await inProduction({ F1: 'PASS', F2: 'PASS' });
    await w.find('[data-test=prod-flash]').trigger('click');
    await settle();
    expect(w.find('[data-test=history]').exists()).toBe(false);
    production.boards = { F3: 'PASS' };
    await w.find('[data-test=prod-flash]').trigger('click');
    await settle();
    expect(prod.state!.batch).toBe(2);
    expect(w.findAll('[data-test=lane]').map((l) => l.attributes('data-serial'))).toEqual(['F3']);
    const history = w.find('[data-test=history]');
    expect(history.attributes('open')).toBeUndefined();
    expect(history.findAll('[data-test=history-lane]')).toHaveLength(2);
    expect(w.find('[data-test=last-result]').text()).toContain('F3');
    expect(w.find('[data-test=last-result]').text()).not.toContain('F1');
  });

  it('leaves production mode only after the confirmation; Stay and Escape keep it', async () => {
    const { w, prod, production } = await inProduction();
    await w.find('[data-test=leave]').trigger('click');
    await settle();
    const dialog = w.find('[data-test=leave-dialog]');
    expect(dialog.exists()).toBe(true);
    // A confirmation a screen reader announces at once, as the erase's is.
    expect(dialog.attributes('role')).toBe('alertdialog');
    expect(dialog.attributes('aria-describedby')).toBeTruthy();
    // The safe choice has the focus.
    expect(doc.activeElement?.getAttribute('data-test')).toBe('leave-cancel');
    await w.find('[data-test=leave-cancel]').trigger('click');
    await settle();
    expect(w.find('[data-test=leave-dialog]').exists()).toBe(false);
    // Staying gives the operator's one action its focus back.
    expect(doc.activeElement?.getAttribute('data-test')).toBe('prod-flash');
    await w.find('[data-test=leave]').trigger('click');
    await w.find('[data-test=leave-dialog]').trigger('keydown', { key: 'Escape' });
    expect(w.find('[data-test=leave-dialog]').exists()).toBe(false);
    expect(production.closed).toBe(0);
    expect(prod.active).toBe(true);
    await w.find('[data-test=leave]').trigger('click');
    await w.find('[data-test=leave-confirm]').trigger('click');
    await settle();
    expect(production.closed).toBe(1);
    expect(prod.active).toBe(false);
  });

  it('turns flash-on-connect on and off through main', async () => {
    const { w, production } = await inProduction();
    const sw = w.find('[data-test=watch]');
    (sw.element as unknown as Checkable).checked = true;
    await sw.trigger('change');
    await settle();
    expect(production.st!.watching).toBe(true);
    expect((w.find('[data-test=watch]').element as unknown as Checkable).checked).toBe(true);
  });
});

describe('entering production mode', () => {
  it('the picker lists the recipes main offers and a path field in the web host; choosing one hides the engineering views', async () => {
    const { pinia, prod } = await setup();
    const w = mount(App, { global: { plugins: [pinia] }, attachTo: doc.body });
    await settle();
    expect(w.find('[role=tablist]').exists()).toBe(true);
    await w.find('[data-test=enter-production]').trigger('click');
    await settle();
    const picker = w.findComponent(RecipePicker);
    expect(picker.findAll('[data-test=recipe-entry]').map((e) => e.text())).toEqual(['Example: demo.yaml/assets/recipes/demo.yaml']);
    expect(picker.find('[data-test=recipe-path]').exists()).toBe(true);
    await picker.find('[data-test=recipe-entry]').trigger('click');
    await settle();
    expect(prod.active).toBe(true);
    expect(w.find('[data-test=production]').exists()).toBe(true);
    expect(w.find('[role=tablist]').exists()).toBe(false);
    expect(w.find('[data-test=devices]').exists()).toBe(false);
    w.unmount();
  });

  it('a page reloaded in production mode comes back in production mode', async () => {
    const first = await setup();
    await first.prod.openRecipe('/assets/recipes/demo.yaml');
    // A new page (new stores) over the same main.
    const production = first.production;
    const backend = new FakeBackend();
    Object.assign(backend, { production });
    const host = new ApiHost(backend, { shell: 'web', version: 'test' });
    setActivePinia(createPinia());
    useApi(inProcessApi(host));
    const prod = useProductionStore();
    await prod.start();
    expect(prod.state?.recipe.name).toBe('demo-f746');
  });
});
