// The GUI's services backend on simulated boards in virtual time: loader choice, busy boards,
// cancel, hot-plug, and that a page-given file name never becomes a path.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAppBackend, parseHostArgs, type ServicesBackend } from '../../src-main/services/app-backend.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import type { DeviceSummaryView } from '../../shared/contract.js';
import type { FlashEvent } from '../../shared/progress.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEMO = readFileSync(join(ROOT, 'assets/examples/demo-f746/demo-f746.elf'));
const OPTS = { verify: true, leave: true, eraseTouchedOnly: true };
let b: ServicesBackend | undefined;

afterEach(async () => {
  await b?.close();
  b = undefined;
});

async function open(boards = 1): Promise<{ b: ServicesBackend; devices: DeviceSummaryView[] }> {
  b = await createAppBackend({ sim: 'stm32f746', simBoards: boards, clock: new VirtualClock(), assetsDir: join(ROOT, 'assets') });
  return { b, devices: await b.listDevices() };
}

describe('GUI services backend', () => {
  it('lists simulated boards with their chip and offers the simulator’s loader', async () => {
    const { b, devices } = await open(2);
    expect(devices).toHaveLength(2);
    expect(devices[0]).toMatchObject({ mode: 'rom', simulated: true, chip: { deviceId: 0x449 } });
    expect(new Set(devices.map((d) => d.serial)).size).toBe(2);
    const loaders = await b.listLoaders();
    expect(loaders.map((l) => l.id)).toContain('sim-stm32f746');
  });

  it('marks a loader with no run on a real board recorded as experimental, and only that one', async () => {
    const { b } = await open();
    const loaders = await b.listLoaders();
    expect(loaders.find((l) => l.id === 'stm32f746g-disco')?.experimental).toBe(true);
    expect(loaders.find((l) => l.id === 'sim-stm32f746')?.experimental).toBeUndefined();
  });

  it('stages a loader automatically only when the ROM cannot reach every segment', async () => {
    const { b, devices } = await open();
    const demo = (await b.openFirmwareBytes('demo-f746.elf', new Uint8Array(DEMO))) as { id: string };
    const auto = await b.engineering.plan({ deviceId: devices[0]!.id, firmwareId: demo.id, loader: 'auto', options: OPTS });
    expect(auto.ok).toBe(true);
    expect(auto.loaderId).toBe('sim-stm32f746');
    expect(auto.stages.map((s) => s.name)).toContain('staging');
    const none = await b.engineering.plan({ deviceId: devices[0]!.id, firmwareId: demo.id, loader: 'none', options: OPTS });
    expect(none.ok).toBe(false);
    expect(none.errors.map((e) => e.code)).toContain('OUTSIDE_REGIONS');
    const small = (await b.openFirmwareBytes('small.bin', new Uint8Array(1024).fill(1), { baseAddress: 0x08000000 })) as { id: string };
    const romOnly = await b.engineering.plan({ deviceId: devices[0]!.id, firmwareId: small.id, loader: 'auto', options: OPTS });
    expect(romOnly.ok).toBe(true);
    expect(romOnly.loaderId).toBeUndefined();
    expect(romOnly.stages.map((s) => s.name)).not.toContain('staging');
  });

  it('erases only the touched sectors by default, and mass-erases the flash when eraseTouchedOnly is false', async () => {
    const { b, devices } = await open();
    const small = (await b.openFirmwareBytes('small.bin', new Uint8Array(1024).fill(1), { baseAddress: 0x08000000 })) as { id: string };
    const ask = (eraseTouchedOnly: boolean) => b.engineering.plan({ deviceId: devices[0]!.id, firmwareId: small.id, loader: 'none', options: { ...OPTS, eraseTouchedOnly } });
    const touched = await ask(true);
    expect(touched.options.massErase).toBe(false);
    expect(touched.stages.flatMap((s) => s.erases.map((e) => e.kind))).toEqual(['sector']);
    const mass = await ask(false);
    expect(mass.options.massErase).toBe(true);
    expect(mass.stages.flatMap((s) => s.erases.map((e) => e.kind))).toEqual(['mass']);
  });

  it('flashes the demo to PASS, refuses a second flash of the same board while busy', async () => {
    const { b, devices } = await open();
    const demo = (await b.openFirmwareBytes('demo-f746.elf', new Uint8Array(DEMO))) as { id: string };
    const events: FlashEvent[] = [];
    const req = { deviceId: devices[0]!.id, firmwareId: demo.id, loader: 'auto', options: OPTS };
    const first = b.flash(req, (e) => events.push(e));
    const second = await b.flash(req, () => undefined).done;
    expect(second).toMatchObject({ ok: false, error: { code: 'BUSY' } });
    const r = await first.done;
    expect(r.ok).toBe(true);
    expect(r.verified.map((v) => v.region).sort()).toEqual(['Internal Flash', 'QSPI Flash']);
    expect(events.some((e) => e.kind === 'stage' && e.stage === 'staging')).toBe(true);
  });

  it('lists a board it is flashing through a loader as running that loader, while it flashes and after', async () => {
    const { b, devices } = await open();
    const demo = (await b.openFirmwareBytes('demo-f746.elf', new Uint8Array(DEMO))) as { id: string };
    const id = devices[0]!.id;
    const during: Promise<DeviceSummaryView[]>[] = [];
    const onEvent = (e: FlashEvent) => {
      // The list as the window's poll sees it once the loader runs and the flash still holds the board.
      if (e.kind === 'stage' && e.stage === 'loader' && e.status === 'start') during.push(b.listDevices());
    };
    const r = await b.flash({ deviceId: id, firmwareId: demo.id, loader: 'auto', options: { ...OPTS, leave: false } }, onEvent).done;
    expect(r.ok).toBe(true);
    expect(during).toHaveLength(1);
    const lists = [...(await Promise.all(during)), await b.listDevices()];
    for (const list of lists) {
      const d = list.find((x) => x.id === id);
      expect(d?.mode).toBe('loader');
      expect(d?.loader?.id).toBe('sim-stm32f746');
      expect(d?.chip?.deviceId).toBe(0x449);
    }
  });

  it('lists a board read through a loader as running that loader once the read is done', async () => {
    const { b, devices } = await open();
    const id = devices[0]!.id;
    const seen: DeviceSummaryView[][] = [];
    const off = b.onDevicesChanged((d) => seen.push(d));
    const bytes = await b.engineering.read({ deviceId: id, address: 0x90000000, length: 256, loader: 'auto' });
    expect(bytes).toHaveLength(256);
    await b.engineering.devices.refresh();
    expect(seen.at(-1)?.find((d) => d.id === id)).toMatchObject({ mode: 'loader', loader: { id: 'sim-stm32f746' }, chip: { deviceId: 0x449 } });
    off();
  });

  it('cancels a running flash', async () => {
    const { b, devices } = await open();
    const demo = (await b.openFirmwareBytes('demo-f746.elf', new Uint8Array(DEMO))) as { id: string };
    const op = b.flash({ deviceId: devices[0]!.id, firmwareId: demo.id, loader: 'auto', options: OPTS }, () => undefined);
    await new Promise((r) => setTimeout(r, 5));
    expect(b.cancel(op.opId)).toBe(true);
    const r = await op.done;
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('CANCELLED');
    // Once the operation has ended there is nothing left to cancel, and the answer says so.
    expect(b.cancel(op.opId)).toBe(false);
  });

  it('reports boards added and removed on the simulated bus', async () => {
    const { b } = await open();
    const seen: DeviceSummaryView[][] = [];
    const off = b.onDevicesChanged((d) => seen.push(d));
    const added = await b.simAttach('stm32f407');
    expect(added.chip?.deviceId).toBe(0x413);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.at(-1)?.map((d) => d.id)).toContain(added.id);
    expect(await b.simDetach(added.id)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.at(-1)?.map((d) => d.id)).not.toContain(added.id);
    off();
  });

  it('names the chip however the list, the window and the poll overlap in reading one board (no reading closes the device under another)', async () => {
    // Real time (the simulated bus at 50× speed): each descriptor reading takes a few milliseconds, so
    // a second one started part-way through overlaps it, as the poll, a hot-plug event and the window's
    // describe do after a flash. Before readings were shared, the first to finish closed the device
    // under the other and the board was listed with no chip.
    b = await createAppBackend({ sim: 'stm32f746', simBoards: 1, simSpeed: 50, assetsDir: join(ROOT, 'assets') });
    const roster = b.engineering.devices;
    const id = (await b.listDevices())[0]!.id;
    const seen: DeviceSummaryView[][] = [];
    const off = b.onDevicesChanged((d) => seen.push(d));
    for (let lag = 0; lag < 10; lag++) {
      roster.forget(id);
      const first = roster.list();
      await new Promise((r) => setTimeout(r, lag));
      roster.forget(id);
      const lists = await Promise.all([first, roster.list(), b.engineering.details(id)]);
      expect(lists[0][0]?.chip?.deviceId, `lag ${lag} ms`).toBe(0x449);
      expect(lists[1][0]?.chip?.deviceId, `lag ${lag} ms`).toBe(0x449);
      expect(lists[2].chip?.deviceId, `lag ${lag} ms`).toBe(0x449);
      roster.forget(id);
      const refreshes = [roster.refresh()];
      await new Promise((r) => setTimeout(r, lag));
      roster.forget(id);
      refreshes.push(roster.refresh());
      await Promise.all(refreshes);
      expect(seen.at(-1)?.[0]?.chip?.deviceId, `lag ${lag} ms`).toBe(0x449);
    }
    off();
  });

  it('treats a page-given file name as a label, never as a path', async () => {
    const { b } = await open();
    const fw = await b.openFirmwareBytes('../../etc/app.bin', new Uint8Array(4), { baseAddress: 0x08000000 });
    expect(fw.name).toBe('app.bin');
    expect(fw.path).toBeUndefined();
  });

  it('parses the host flags', () => {
    expect(parseHostArgs(['--sim', 'stm32f407', '--sim-boards=3', '--port', '8080', '--sim-state', '/tmp/s'])).toEqual({ sim: 'stm32f407', simBoards: 3, port: 8080, simState: '/tmp/s' });
    expect(() => parseHostArgs(['--sim-boards', '0'])).toThrow(/--sim-boards/);
    expect(() => parseHostArgs(['--port'])).toThrow(/needs a value/);
  });
});
