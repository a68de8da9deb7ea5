import { describe, expect, it } from 'vitest';
import { SimBus, DfuState, DfuStatus, simLoaderImages, SIM_TRANSFER_TIMEOUT_MS } from '../../src-main/sim/index';
import { VirtualClock } from '../../src-main/util/clock';
import { clrStatus, eraseAt, getStatus, leave, openDfu, pattern, read, write } from './dfu-host';

async function setup(model: 'stm32f746' | 'stm32f407' = 'stm32f746') {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  const board = bus.addBoard(model, { loaders: simLoaderImages(model) });
  const dev = board.device!;
  await openDfu(dev);
  if ((await getStatus(dev)).state === DfuState.dfuERROR) await clrStatus(dev);
  return { clock, bus, board, dev };
}

describe('simulator fault injection', () => {
  it('unplug at byte N: the DNLOAD that reaches byte N fails as a disconnect, earlier blocks are stored, plug() brings the ROM back', async () => {
    const { clock, board, dev } = await setup();
    await eraseAt(dev, clock, 0x08000000);
    board.faults.add({ kind: 'unplug-at-byte', byte: 3000 });
    const data = pattern(8192, 2);
    await expect(write(dev, clock, 0x08000000, data, 2048)).rejects.toThrow('controlTransferOut error: device disconnected');
    expect(board.mode).toBe('unplugged');
    expect(board.device).toBeUndefined();
    expect(board.read(0x08000000, 2048)).toEqual(data.subarray(0, 2048));
    expect(board.read(0x08000800, 2048)).toEqual(new Uint8Array(2048).fill(0xff));
    expect(board.faults.list()).toHaveLength(0);
    board.plug();
    await clock.sleep(1000);
    expect(board.mode).toBe('rom');
    expect(board.device).toBeDefined();
  });

  it('unplug at the Nth request counts every control transfer from when it was added', async () => {
    const { board, dev } = await setup();
    board.faults.add({ kind: 'unplug-at-request', request: 3 });
    await getStatus(dev);
    await getStatus(dev);
    await expect(getStatus(dev)).rejects.toThrow('device disconnected');
    expect(board.mode).toBe('unplugged');
  });

  it('STALL a request once, or always when persistent; faults can be listed and cleared', async () => {
    const { board, dev } = await setup();
    board.faults.add({ kind: 'stall', request: 'GETSTATUS' });
    await expect(getStatus(dev)).rejects.toThrow('controlTransferIn error: endpoint stalled');
    expect((await getStatus(dev)).state).toBe(DfuState.dfuIDLE);
    const id = board.faults.add({ kind: 'stall', request: 'GETSTATUS', persistent: true });
    await expect(getStatus(dev)).rejects.toThrow('endpoint stalled');
    await expect(getStatus(dev)).rejects.toThrow('endpoint stalled');
    expect(board.faults.list().map((e) => e.id)).toEqual([id]);
    expect(board.faults.list()[0]!.fired).toBe(2);
    board.faults.clear();
    expect((await getStatus(dev)).state).toBe(DfuState.dfuIDLE);
    expect(board.faults.history.map((h) => h.kind)).toEqual(['stall', 'stall', 'stall']);
  });

  it('an injected DFU status ends the next write in dfuERROR with that status and stores nothing', async () => {
    const { clock, board, dev } = await setup();
    await eraseAt(dev, clock, 0x08000000);
    board.faults.add({ kind: 'status', on: 'write', status: DfuStatus.errVERIFY });
    const s = await write(dev, clock, 0x08000000, pattern(256), 2048);
    expect(s).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errVERIFY });
    expect(board.read(0x08000000, 256)).toEqual(new Uint8Array(256).fill(0xff));
    await clrStatus(dev);
    expect((await write(dev, clock, 0x08000000, pattern(256), 2048)).state).toBe(DfuState.dfuDNLOAD_IDLE);
  });

  it('an injected erase status fails the next erase only', async () => {
    const { clock, board, dev } = await setup();
    await write(dev, clock, 0x08000000, new Uint8Array([0]), 2048);
    board.faults.add({ kind: 'status', on: 'erase', status: DfuStatus.errERASE });
    expect(await eraseAt(dev, clock, 0x08000000)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errERASE });
    expect(board.read(0x08000000, 1)[0]).toBe(0);
    await clrStatus(dev);
    expect((await eraseAt(dev, clock, 0x08000000)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(board.read(0x08000000, 1)[0]).toBe(0xff);
  });

  it('a flipped bit is stored wrong while the ROM reports success', async () => {
    const { clock, board, dev } = await setup();
    await eraseAt(dev, clock, 0x08000000);
    board.faults.add({ kind: 'flip-bit', offset: 10, bit: 3 });
    const data = pattern(512, 11);
    expect((await write(dev, clock, 0x08000000, data, 2048)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    const back = await read(dev, clock, 0x08000000, 512, 2048);
    const diff = [...back].map((b, i) => b ^ data[i]!).map((x, i) => [i, x]).filter(([, x]) => x !== 0);
    // Programmed into erased flash, the flipped bit sticks whichever way it went.
    expect(diff).toEqual([[10, 8]]);
  });

  it(`a hung request rejects after the host's transfer timeout (${SIM_TRANSFER_TIMEOUT_MS} ms, or the one given) like the usb package`, async () => {
    const { clock, board, dev } = await setup();
    board.faults.add({ kind: 'hang', request: 'GETSTATUS' });
    const t0 = clock.now();
    await expect(getStatus(dev)).rejects.toThrow('controlTransferIn error: transfer was cancelled');
    expect(clock.now() - t0).toBeGreaterThanOrEqual(SIM_TRANSFER_TIMEOUT_MS);
    expect(clock.now() - t0).toBeLessThan(SIM_TRANSFER_TIMEOUT_MS + 10);
    board.faults.add({ kind: 'hang', request: 'any' });
    const t1 = clock.now();
    const params: USBControlTransferParameters = { requestType: 'class', recipient: 'interface', request: 3, value: 0, index: 0 };
    await expect((dev as USBDevice & { controlTransferIn(s: USBControlTransferParameters, l: number, t: number): Promise<USBInTransferResult> }).controlTransferIn(params, 6, 250)).rejects.toThrow('transfer was cancelled');
    expect(clock.now() - t1).toBeLessThan(260);
    expect((await getStatus(dev)).state).toBe(DfuState.dfuIDLE);
  });

  it('slow erase multiplies the real erase time; the reported poll timeout stays the ROM figure', async () => {
    const { clock, board, dev } = await setup();
    board.faults.add({ kind: 'slow-erase', factor: 4 });
    const t0 = clock.now();
    await eraseAt(dev, clock, 0x08000000);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(4 * 350);
    const t1 = clock.now();
    await eraseAt(dev, clock, 0x08000000);
    expect(clock.now() - t1).toBeLessThan(4 * 350);
  });

  async function stageLoader(ctx: Awaited<ReturnType<typeof setup>>) {
    const [loader] = simLoaderImages('stm32f746');
    await write(ctx.dev, ctx.clock, loader!.loadAddress, loader!.image, 2048);
    await leave(ctx.dev, ctx.clock, loader!.loadAddress);
    await ctx.clock.sleep(6000);
    return loader!;
  }

  it('the loader never appears: the board goes off the bus after the jump and nothing enumerates', async () => {
    const ctx = await setup();
    ctx.board.faults.add({ kind: 'loader-never-appears' });
    const connects: USBDevice[] = [];
    ctx.bus.onConnect((d) => connects.push(d));
    await stageLoader(ctx);
    expect(connects).toEqual([]);
    expect(ctx.board.device).toBeUndefined();
    expect(await ctx.bus.getDevices()).toEqual([]);
  });

  it('another board appears instead of the loader: its loader, with another serial', async () => {
    const ctx = await setup();
    ctx.board.faults.add({ kind: 'other-board-instead-of-loader' });
    const connects: USBDevice[] = [];
    ctx.bus.onConnect((d) => connects.push(d));
    const loader = await stageLoader(ctx);
    expect(connects).toHaveLength(1);
    expect(connects[0]!.vendorId).toBe(loader.vendorId);
    expect(connects[0]!.serialNumber).not.toBe(ctx.board.serial);
    expect(ctx.bus.boards).toHaveLength(2);
    expect(ctx.board.device).toBeUndefined();
  });

  it('leave without status: the ROM goes before answering the GETSTATUS after the zero-length DNLOAD', async () => {
    const ctx = await setup();
    ctx.board.faults.add({ kind: 'leave-without-status' });
    const r = await leave(ctx.dev, ctx.clock, 0x08000000);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe('controlTransferIn error: device disconnected');
    await ctx.clock.sleep(1000);
    expect(ctx.board.mode).toBe('rom'); // erased flash: reset into the ROM
  });

  it('an operation cut by an unplug mid-busy is torn: part of the block is programmed', async () => {
    const { clock, board, dev } = await setup();
    await eraseAt(dev, clock, 0x08000000);
    board.faults.add({ kind: 'unplug-at-request', request: 4 }); // set-address, its 2 GETSTATUS, then the block's DNLOAD is #4
    const data = pattern(2048, 5);
    await expect(write(dev, clock, 0x08000000, data, 2048)).rejects.toThrow('device disconnected');
    expect(board.read(0x08000000, 16)).toEqual(new Uint8Array(16).fill(0xff));
    // Now unplug while programming: DNLOAD accepted, first GETSTATUS starts it, unplug before it ends.
    board.plug(true);
    const dev2 = board.device!;
    await openDfu(dev2);
    const s = await write(dev2, clock, 0x08000000, new Uint8Array(0), 2048);
    expect(s.state).toBe(DfuState.dfuDNLOAD_IDLE);
    await dev2.controlTransferOut({ requestType: 'class', recipient: 'interface', request: 1, value: 2, index: 0 }, data);
    expect((await getStatus(dev2)).state).toBe(DfuState.dfuDNBUSY);
    board.unplug();
    expect(board.read(0x08000000, 1024)).toEqual(data.subarray(0, 1024));
    expect(board.read(0x08000400, 1024)).toEqual(new Uint8Array(1024).fill(0xff));
  });
});
