// @vitest-environment happy-dom
// The views against the real store and API host over the fake services.
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import DeviceList from '../../src-renderer/src/components/DeviceList.vue';
import MemoryMap from '../../src-renderer/src/components/MemoryMap.vue';
import PlanPanel from '../../src-renderer/src/components/PlanPanel.vue';
import FlashPanel from '../../src-renderer/src/components/FlashPanel.vue';
import DeviceView from '../../src-renderer/src/components/DeviceView.vue';
import { fakeDevice } from '../app/fake-backend.js';
import { BootBridgeError } from '../../shared/errors.js';
import { settle, setup } from './helpers.js';

function file(name: string, size: number): File {
  return new File([new Uint8Array(size).fill(0x5a)], name);
}

describe('device list', () => {
  it('shows hot-plugged boards and moves the selection with the arrow keys', async () => {
    const { backend, pinia, store } = await setup();
    const w = mount(DeviceList, { global: { plugins: [pinia] } });
    await settle();
    expect(w.findAll('li[role=option]')).toHaveLength(1);
    backend.plug({ ...fakeDevice(2), chip: { deviceId: 0x413, name: 'STM32F40xxx/41xxx' } });
    await settle();
    const items = w.findAll('li[role=option]');
    expect(items).toHaveLength(2);
    expect(items[1]!.text()).toContain('STM32F40xxx/41xxx');
    expect(items[0]!.attributes('aria-selected')).toBe('true');
    await items[0]!.trigger('keydown', { key: 'ArrowDown' });
    expect(store.selectedId).toBe('sim-2');
    await settle();
    expect(w.findAll('li[role=option]')[1]!.attributes('aria-selected')).toBe('true');
  });

  it('adds a simulated board from the picker', async () => {
    const { pinia, store } = await setup();
    await store.simAttach('stm32f746');
    await settle();
    const w = mount(DeviceList, { global: { plugins: [pinia] } });
    expect(w.findAll('li[role=option]')).toHaveLength(2);
    expect(store.selectedId).toBe('sim-2');
  });
});

describe('device view', () => {
  it('shows identity, memories and the descriptor tree with raw bytes', async () => {
    const { pinia } = await setup();
    await settle();
    const w = mount(DeviceView, { global: { plugins: [pinia] } });
    await settle();
    expect(w.find('[data-test=serial]').text()).toBe('3157378A3131');
    expect(w.find('[data-test=memories]').text()).toContain('@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg');
    expect(w.find('[data-test=descriptors]').text()).toContain('raw bytes (4)');
    expect(w.find('[data-test=descriptors] pre').text()).toBe('0000  12 01 00 02');
  });
});

describe('memory map', () => {
  it('draws every sector to scale and the file’s segment over the sectors it erases', async () => {
    const { pinia, store } = await setup();
    await settle();
    await store.openFile(file('app.bin', 40 * 1024));
    await settle();
    const w = mount(MemoryMap, { global: { plugins: [pinia] } });
    const sectors = w.findAll('[data-test="region-Internal Flash"] .sector');
    expect(sectors).toHaveLength(8);
    expect(sectors[4]!.attributes('style')).toContain('left: 12.5%');
    expect(sectors[4]!.attributes('style')).toContain('width: 12.5%');
    // The fake plan erases sector 0 only.
    expect(sectors.map((s) => s.classes().includes('erase'))).toEqual([true, false, false, false, false, false, false, false]);
    expect(w.findAll('.seg')).toHaveLength(1);
    expect(w.find('[data-test=outside]').exists()).toBe(false);
  });

  it('shows address, sector and segment for the sector under the keyboard cursor', async () => {
    const { pinia, store } = await setup();
    await settle();
    await store.openFile(file('app.bin', 16));
    await settle();
    const w = mount(MemoryMap, { global: { plugins: [pinia] } });
    const bar = w.find('[data-test="region-Internal Flash"] .bar');
    await bar.trigger('keydown', { key: 'ArrowRight' });
    expect(w.find('[data-test=hover]').text()).toBe('Internal Flash  0x08000000  ·  sector 0: 0x08000000 32 KiB (erased)  ·  segment 0x08000000 16 B .text');
    await bar.trigger('keydown', { key: 'End' });
    expect(w.find('[data-test=hover]').text()).toBe('Internal Flash  0x080c0000  ·  sector 7: 0x080c0000 256 KiB');
  });

  it('lists a segment outside every region in red with the reason', async () => {
    const { pinia, store } = await setup();
    await settle();
    await store.openFile(file('toobig.bin', 64));
    await settle();
    const w = mount(MemoryMap, { global: { plugins: [pinia] } });
    const outside = w.find('[data-test=outside]');
    expect(outside.exists()).toBe(true);
    expect(outside.text()).toContain('0x30000000 +64 B (.text) — Segment at 0x30000000 is outside every region');
  });
});

describe('plan', () => {
  it('lists every up-front error and keeps Flash disabled while any is listed', async () => {
    const { pinia, store } = await setup();
    await settle();
    await store.openFile(file('toobig.bin', 64));
    await settle();
    const w = mount(PlanPanel, { global: { plugins: [pinia] } });
    expect(w.find('[data-test=plan-errors]').text()).toContain('Address outside the device memory');
    expect(w.find('[data-test=plan-flash]').attributes('disabled')).toBeDefined();
    expect(store.canFlash).toBe(false);
  });

  it('words a plan problem\'s remedy code for the window, naming no command-line flag', async () => {
    const { pinia, store } = await setup();
    await settle();
    await store.openFile(file('toobig.bin', 64));
    await settle();
    // The planner gives its problems a remedy code; the window says it with its own controls.
    const p = store.plan!;
    store.plan = { ...p, errors: [{ code: 'LOADER_UNSUPPORTED', message: 'QSPI Flash at 0x90000000 is served only by a loader', context: { address: 0x90000000 }, remedy: 'choose-loader' }] };
    const w = mount(PlanPanel, { global: { plugins: [pinia] } });
    const text = w.find('[data-test=plan-errors]').text();
    expect(text).toContain('QSPI Flash at 0x90000000 is served only by a loader: choose a loader that serves this memory in the Loader menu of the toolbar');
    expect(text).not.toMatch(/--[a-z]/);
  });

  it('shows stages with bytes and estimates and enables Flash when the plan is clean', async () => {
    const { pinia, store } = await setup();
    await settle();
    await store.openFile(file('app.bin', 2048));
    await settle();
    const w = mount(PlanPanel, { global: { plugins: [pinia] } });
    expect(w.find('[data-test=plan-errors]').exists()).toBe(false);
    const rom = w.find('[data-test=stage-rom]').text();
    expect(rom).toContain('ROM bootloader');
    expect(rom).toContain('2 KiB');
    expect(rom).toContain('1.2 s');
    expect(w.find('[data-test=plan-flash]').attributes('disabled')).toBeUndefined();
  });
});

describe('flash', () => {
  it('runs to a PASS that lists what was verified, with the log', async () => {
    const { pinia, store, backend } = await setup();
    await settle();
    await store.openFile(file('app.bin', 16));
    await settle();
    const w = mount(FlashPanel, { global: { plugins: [pinia] } });
    await store.flash();
    await settle();
    expect(backend.flashes).toHaveLength(1);
    expect(w.find('[data-test=verdict]').text()).toContain('PASS');
    expect(w.find('[data-test=verified]').text()).toContain('Internal Flash');
    expect(w.find('[data-test=verified]').text()).toContain('read-back');
    expect(w.find('[data-test=log]').text()).toContain('PASS');
    expect(store.running).toBe(false);
  });

  it('a board that left the bus mid-loader and is not back is said to have left, not to run the loader', async () => {
    const { pinia, store } = await setup();
    await settle();
    const serial = store.selected!.serial;
    const w = mount(FlashPanel, { global: { plugins: [pinia] } });
    // What the engine says after a loader stage fails, and the board gone from the list.
    store.flashTarget = { serial };
    store.addLog('warn', 'The board is still running the loader: a run with the same loader package continues on it');
    store.result = { ok: false, error: { code: 'DEVICE_DISCONNECTED', message: 'The board left the bus during DNLOAD', context: { stage: 'loader' } }, stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: false };
    store.devices = [];
    await settle();
    expect(w.find('[data-test=left-in]').text()).toContain('The board left the bus: connect it in DFU mode');
    expect(w.find('[data-test=left-in]').text()).not.toContain('still running the loader');
  });

  it('cancels a running flash and says CANCELLED, not PASS', async () => {
    const { pinia, store, backend } = await setup();
    backend.holdFlashUntilCancel = true;
    await settle();
    await store.openFile(file('app.bin', 16));
    await settle();
    const w = mount(FlashPanel, { global: { plugins: [pinia] } });
    await store.flash();
    await settle(2);
    expect(store.running).toBe(true);
    await w.find('[data-test=cancel-flash]').trigger('click');
    await settle();
    expect(backend.cancelled).toEqual(['op-1']);
    expect(w.find('[data-test=verdict]').text()).toContain('CANCELLED');
    expect(w.find('[data-test=verdict]').text()).not.toContain('PASS');
    // The verdict names the board and says what was done before the cancel, and the state it is left in.
    expect(w.find('[data-test=verdict-board]').text()).toContain(store.selected!.serial);
    expect(w.find('[data-test=done-before]').text()).toContain('write Internal Flash 8 B of 16 B (partly)');
    expect(w.find('[data-test=left-in]').text()).toContain('Internal Flash is partly erased or written');
  });
});

describe('honest state', () => {
  it('a file that cannot be opened replaces the one before: no plan, Flash disabled with the reason', async () => {
    const { backend, store } = await setup();
    await store.openFile(file('good.bin', 16));
    await settle();
    expect(store.canFlash).toBe(true);
    backend.openFirmwareBytes = async () => {
      throw Object.assign(new Error('bad'), { code: 'FIRMWARE_INVALID' });
    };
    await store.openFile(file('broken.hex', 16));
    await settle();
    expect(store.firmware).toBeUndefined();
    expect(store.plan).toBeUndefined();
    expect(store.canFlash).toBe(false);
    expect(store.flashBlocked).toBe('Open a firmware file first');
    expect(store.lastError).toBeDefined();
  });

  it('the log says an error by its title and the window\'s remedy, not by its code or a flag', async () => {
    const { backend, store } = await setup();
    await settle();
    backend.openFirmwareBytes = async () => {
      throw new BootBridgeError('BAD_ARGUMENT', 'app.bin is a raw binary and holds no address', { file: 'app.bin', field: 'baseAddress' }, { remedy: 'give-base-address' });
    };
    await store.openFile(file('app.bin', 16));
    await settle();
    const line = store.log.at(-1)!;
    expect(line.level).toBe('error');
    expect(line.message).toBe('Invalid argument: app.bin is a raw binary and holds no address: enter the address it loads at in the BIN address field (for example 0x08000000)');
  });

  it('a board busy elsewhere refuses the flash as a notice, not a FAIL', async () => {
    const { backend, store } = await setup();
    await store.openFile(file('app.bin', 16));
    await settle();
    backend.flash = (_req, onEvent) => {
      const result = { ok: false, error: { code: 'BUSY' as const, message: 'Board sim-1 is busy (production in progress)', context: {} }, stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: false };
      onEvent({ kind: 'result', result });
      return { opId: 'op-busy', done: Promise.resolve(result) };
    };
    await store.flash();
    await settle();
    expect(store.result).toBeUndefined();
    expect(store.lastError?.code).toBe('BUSY');
    expect(store.running).toBe(false);
  });

  it('a board that re-enumerates under the same serial (ROM → loader) is described again, not mixed', async () => {
    const { backend, store } = await setup();
    await settle();
    const calls: string[] = [];
    const describe = backend.describe.bind(backend);
    backend.describe = async (id: string) => {
      calls.push(id);
      return describe(id);
    };
    const rom = backend.devices[0]!;
    backend.devices = [];
    backend.plug({ ...rom, mode: 'loader', vendorId: 0x1209, productId: 0x0001, product: 'BootBridge Loader' });
    await settle();
    expect(store.selected?.mode).toBe('loader');
    expect(calls).toEqual([rom.id]);
    expect(store.description).toBeDefined();
  });
});
