import { describe, expect, it } from 'vitest';
import { SimBus, DfuState, DfuStatus, simLoaderImages, type SimModelName } from '../../src-main/sim/index';
import { VirtualClock } from '../../src-main/util/clock';
import { abort, clrStatus, command, dnload, eraseAt, finish, getStatus, le32, leave, openDfu, pattern, read, setAddress, upload, write } from './dfu-host';

async function romBoard(model: SimModelName, opts: { loaders?: boolean } = {}) {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  const board = bus.addBoard(model, opts.loaders ? { loaders: simLoaderImages(model) } : {});
  const dev = board.device!;
  await openDfu(dev);
  let s = await getStatus(dev);
  if (s.state === DfuState.dfuERROR) {
    await clrStatus(dev);
    s = await getStatus(dev);
  }
  expect(s.state).toBe(DfuState.dfuIDLE);
  return { clock, bus, board, dev };
}

/** A vector table: SP at the top of RAM, reset handler (Thumb) just after it. */
function vectors(sp: number, base: number): Uint8Array {
  return new Uint8Array([...le32(sp), ...le32((base + 0x101) >>> 0), ...new Array(0x100 - 8).fill(0)]);
}

describe('simulated ROM bootloader: DfuSe write, read, erase', () => {
  it('writes flash through the WebUSB face and reads the same bytes back (F746, 2 KB blocks)', async () => {
    const { clock, board, dev } = await romBoard('stm32f746');
    const data = pattern(5000, 7);
    expect((await eraseAt(dev, clock, 0x08000000)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect((await write(dev, clock, 0x08000000, data, 2048)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(board.read(0x08000000, data.length)).toEqual(data);
    expect(await read(dev, clock, 0x08000000, data.length, 2048)).toEqual(data);
    expect(board.read(0x08000000 + data.length, 16)).toEqual(new Uint8Array(16).fill(0xff));
  });

  it('the F4 ROM starts in dfuERROR with errFIRMWARE and CLRSTATUS brings it to dfuIDLE', async () => {
    const bus = new SimBus({ clock: new VirtualClock() });
    const dev = bus.addBoard('stm32f407').device!;
    await openDfu(dev);
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errFIRMWARE });
    await clrStatus(dev);
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuIDLE, status: DfuStatus.OK });
    const f7 = bus.addBoard('stm32f746').device!;
    await openDfu(f7);
    expect(await getStatus(f7)).toMatchObject({ state: DfuState.dfuIDLE, status: DfuStatus.OK });
  });

  it('F4/F7 flash programming only clears bits: writing over data without erase ANDs it', async () => {
    const { clock, board, dev } = await romBoard('stm32f407');
    await eraseAt(dev, clock, 0x08004000);
    expect((await write(dev, clock, 0x08004000, new Uint8Array([0xf0, 0xff, 0x12, 0x34]), 2048)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect((await write(dev, clock, 0x08004000, new Uint8Array([0x0f, 0x0f, 0xff, 0x30]), 2048)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect([...board.read(0x08004000, 4)]).toEqual([0x00, 0x0f, 0x12, 0x30]);
    // Erase works on the sector that holds the address: 16 KB at 0x08004000, not its neighbours.
    await write(dev, clock, 0x08000000, new Uint8Array([0x11]), 2048);
    await eraseAt(dev, clock, 0x08005555);
    expect([...board.read(0x08004000, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(board.read(0x08000000, 1)[0]).toBe(0x11);
  });

  it.each(['stm32l476', 'stm32g474', 'stm32h743'] as const)('%s refuses to program flash that is not erased (errPROG), but accepts it after an erase', async (model) => {
    const { clock, board, dev } = await romBoard(model);
    const at = 0x08000000;
    expect((await write(dev, clock, at, pattern(64, 3), 1024)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    const s = await write(dev, clock, at, pattern(64, 4), 1024);
    expect(s).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errPROG });
    expect(board.read(at, 64)).toEqual(pattern(64, 3));
    await clrStatus(dev);
    expect((await eraseAt(dev, clock, at)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect((await write(dev, clock, at, pattern(64, 4), 1024)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(board.read(at, 64)).toEqual(pattern(64, 4));
  });

  it('writes and reads SRAM above what the ROM reserves, and refuses the reserved part with errTARGET', async () => {
    const { clock, board, dev } = await romBoard('stm32f746');
    const data = pattern(3000, 9);
    expect((await write(dev, clock, 0x20010000, data, 2048)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(board.read(0x20010000, data.length)).toEqual(data);
    expect(await read(dev, clock, 0x20010000, data.length, 2048)).toEqual(data);
    const s = await write(dev, clock, 0x20001000, data.subarray(0, 256), 2048);
    expect(s).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errTARGET });
  });
});

describe('simulated ROM bootloader: status and state machine', () => {
  it('reports 104 ms for a 2 KB write as the F745 ROM does, and is idle when polled after it (≈ 109 ms per block with the wire)', async () => {
    const { clock, dev } = await romBoard('stm32f746');
    await eraseAt(dev, clock, 0x08008000);
    await setAddress(dev, clock, 0x08008000);
    const t0 = clock.now();
    await dnload(dev, 2, pattern(2048));
    const { polls } = await finish(dev, clock);
    const took = clock.now() - t0;
    expect(polls[0]).toMatchObject({ state: DfuState.dfuDNBUSY, poll: 104 });
    expect(polls.at(-1)!.state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(polls).toHaveLength(2);
    expect(took).toBeGreaterThanOrEqual(108);
    expect(took).toBeLessThanOrEqual(110);
  });

  it('reports 100 ms for a 32 KB sector erase that really takes about 350 ms, answering dfuDNBUSY again while busy', async () => {
    const { clock, dev } = await romBoard('stm32f746');
    const t0 = clock.now();
    await dnload(dev, 0, new Uint8Array([0x41, ...le32(0x08000000)]));
    const { polls, last } = await finish(dev, clock);
    expect(polls[0]).toMatchObject({ state: DfuState.dfuDNBUSY, poll: 100 });
    expect(polls[1]).toMatchObject({ state: DfuState.dfuDNBUSY, poll: 100 });
    expect(last.state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(polls.length).toBe(5); // busy at ≈ 0, 100, 200, 300 ms, idle at ≈ 400
    expect(clock.now() - t0).toBeGreaterThanOrEqual(350);
  });

  it('bad addresses end in dfuERROR with errTARGET on the second GETSTATUS (QSPI window, RAM erase, unmapped read)', async () => {
    const { clock, dev } = await romBoard('stm32f746');
    await dnload(dev, 0, new Uint8Array([0x21, ...le32(0x90000000)]));
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuDNBUSY });
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errTARGET });
    await clrStatus(dev);
    expect(await eraseAt(dev, clock, 0x20010000)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errTARGET });
    await clrStatus(dev);
    // The pointer stays where it was (0x08000000) after a refused set-address.
    expect(await read(dev, clock, 0x08000000, 4, 2048)).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    await setAddress(dev, clock, 0x080ff800);
    await abort(dev);
    expect((await upload(dev, 2, 16)).length).toBe(16);
    await expect(upload(dev, 3, 16)).rejects.toThrow('controlTransferIn error: endpoint stalled');
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errTARGET });
  });

  it('a request in the wrong state is STALLed and leaves dfuERROR / errSTALLEDPKT (DFU 1.1 §6.1.2)', async () => {
    const { clock, dev } = await romBoard('stm32f746');
    await setAddress(dev, clock, 0x08000000); // dfuDNLOAD-IDLE
    await expect(upload(dev, 2, 64)).rejects.toThrow('endpoint stalled');
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errSTALLEDPKT });
    // ST ROMs answer CLRSTATUS outside dfuERROR with dfuERROR / errUNKNOWN rather than a STALL.
    await clrStatus(dev);
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuIDLE });
    await clrStatus(dev);
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errUNKNOWN });
  });

  it('UPLOAD block 0 lists the commands 00 21 41 92', async () => {
    const { dev } = await romBoard('stm32f746');
    expect([...(await upload(dev, 0, 64))]).toEqual([0x00, 0x21, 0x41, 0x92]);
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuUPLOAD_IDLE });
  });

  it('the browser flavour reports a STALL as status "stall" instead of rejecting', async () => {
    const bus = new SimBus({ clock: new VirtualClock(), stallAs: 'status' });
    const dev = bus.addBoard('stm32f746').device!;
    await openDfu(dev);
    const r = await dev.controlTransferIn({ requestType: 'class', recipient: 'interface', request: 2, value: 1, index: 0 }, 16);
    expect(r.status).toBe('stall');
  });
});

describe('simulated ROM bootloader: leave and jump', () => {
  it('leaving to a valid application in flash takes the board off the bus in mode "app"', async () => {
    const { clock, bus, board, dev } = await romBoard('stm32f746');
    const gone: USBDevice[] = [];
    bus.onDisconnect((d) => gone.push(d));
    await eraseAt(dev, clock, 0x08000000);
    await write(dev, clock, 0x08000000, vectors(0x20050000, 0x08000000), 2048);
    const s = await leave(dev, clock, 0x08000000);
    expect(s).toMatchObject({ state: DfuState.dfuMANIFEST });
    await clock.sleep(50);
    expect(board.mode).toBe('app');
    expect(board.device).toBeUndefined();
    expect(gone).toEqual([dev]);
    expect(await bus.getDevices()).toEqual([]);
    await expect(getStatus(dev)).rejects.toThrow('controlTransferIn error: device disconnected');
  });

  it('leaving to erased flash or garbage resets into the ROM: a new enumeration, a new USBDevice', async () => {
    const { clock, bus, board, dev } = await romBoard('stm32f746');
    const seen: string[] = [];
    bus.onDisconnect(() => seen.push('disconnect'));
    bus.onConnect(() => seen.push('connect'));
    await leave(dev, clock, 0x08000000);
    await clock.sleep(1000);
    expect(board.mode).toBe('rom');
    expect(seen).toEqual(['disconnect', 'connect']);
    expect(board.device).toBeDefined();
    expect(board.device).not.toBe(dev);
    // Garbage in RAM: SP not in RAM.
    const dev2 = board.device!;
    await openDfu(dev2);
    await write(dev2, clock, 0x20010000, pattern(64, 5), 2048);
    await leave(dev2, clock, 0x20010000);
    await clock.sleep(1000);
    expect(board.mode).toBe('rom');
    expect(board.device).not.toBe(dev2);
  });

  it('leaving to a registered loader image in RAM brings up the loader with the ROM serial; a corrupted copy never boots', async () => {
    const { clock, bus, board, dev } = await romBoard('stm32f746', { loaders: true });
    const [loader] = simLoaderImages('stm32f746');
    const bad = loader!.image.slice();
    bad[100] = bad[100]! ^ 1;
    await write(dev, clock, loader!.loadAddress, bad, 2048);
    await leave(dev, clock, loader!.loadAddress);
    await clock.sleep(1000);
    expect(board.mode).toBe('rom');
    const rom2 = board.device!;
    await openDfu(rom2);
    await write(rom2, clock, loader!.loadAddress, loader!.image, 2048);
    const connected = new Promise<USBDevice>((resolve) => bus.onConnect(resolve));
    await leave(rom2, clock, loader!.loadAddress);
    const ld = await connected;
    expect(board.mode).toBe('loader');
    expect(ld.vendorId).toBe(loader!.vendorId);
    expect(ld.productId).toBe(loader!.productId);
    expect(ld.productName).toBe(loader!.product);
    expect(ld.serialNumber).toBe(rom2.serialNumber);
    expect(bus.portPath(ld)).toBe(board.portPath);
  });

  it('a loader image at another address than its own never boots (misplaced)', async () => {
    const { clock, board, dev } = await romBoard('stm32f746', { loaders: true });
    const [loader] = simLoaderImages('stm32f746');
    await write(dev, clock, loader!.loadAddress + 0x1000, loader!.image, 2048);
    await leave(dev, clock, loader!.loadAddress + 0x1000);
    await clock.sleep(1000);
    expect(board.mode).toBe('rom');
  });

  it('writing option bytes makes the ROM reset (AN2662 write-memory flow) and come back on a new enumeration', async () => {
    const { clock, board, dev } = await romBoard('stm32f407');
    const s = await write(dev, clock, 0x1fffc000, new Uint8Array([0xaa, 0x55, 0xec, 0x13]), 2048);
    expect(s.state).toBe(DfuState.dfuDNLOAD_IDLE);
    await clock.sleep(500);
    expect(board.device).toBeDefined();
    expect(board.device).not.toBe(dev);
    expect([...board.read(0x1fffc000, 4)]).toEqual([0xaa, 0x55, 0xec, 0x13]);
  });

  it('mass erase (0x41 alone) blanks the whole flash, taking the real time though the ROM reports 100 ms', async () => {
    const { clock, board, dev } = await romBoard('stm32f407');
    await write(dev, clock, 0x080e0000, new Uint8Array([1, 2, 3, 4]), 2048);
    const t0 = clock.now();
    const s = await command(dev, clock, [0x41]);
    expect(s.state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(16000);
    expect([...board.read(0x080e0000, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });
});

describe('simulated ROM bootloader: recovery from a long busy', () => {
  it('H743: CLRSTATUS while dfuDNBUSY gives dfuERROR / errUNKNOWN, a second one dfuIDLE, and the erase still completes', async () => {
    const { clock, board, dev } = await romBoard('stm32h743');
    await write(dev, clock, 0x08000000, pattern(32, 1), 1024);
    await dnload(dev, 0, new Uint8Array([0x41, ...le32(0x08000000)]));
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuDNBUSY });
    await clock.sleep(200);
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuDNBUSY });
    await clrStatus(dev);
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errUNKNOWN });
    await clrStatus(dev);
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuIDLE, status: DfuStatus.OK });
    expect(board.read(0x08000000, 32)).toEqual(pattern(32, 1));
    await clock.sleep(1200);
    expect(board.read(0x08000000, 32)).toEqual(new Uint8Array(32).fill(0xff));
  });
});

describe('simulated board on the bus: power and events', () => {
  it('unplug and plug: disconnect then connect events, a new USBDevice, mode changes reported in order, RAM lost, flash kept', async () => {
    const clock = new VirtualClock();
    const bus = new SimBus({ clock });
    const board = bus.addBoard('stm32f746');
    const first = board.device!;
    const events: string[] = [];
    bus.onConnect((d) => events.push(`connect ${d.serialNumber}`));
    bus.onDisconnect((d) => events.push(`disconnect ${d.serialNumber}`));
    const modes: string[] = [];
    board.onModeChange((m) => modes.push(m));
    board.poke(0x08000000, new Uint8Array([1, 2]));
    board.poke(0x20010000, new Uint8Array([3, 4]));
    board.unplug();
    expect(await bus.getDevices()).toEqual([]);
    board.plug();
    expect(board.device).toBeUndefined(); // enumeration takes a moment
    await clock.sleep(500);
    expect(events).toEqual([`disconnect ${board.serial}`, `connect ${board.serial}`]);
    expect(modes).toEqual(['unplugged', 'rom']);
    expect(board.device).not.toBe(first);
    expect(await bus.getDevices()).toEqual([board.device]);
    expect(bus.portPath(board.device!)).toBe(board.portPath);
    expect([...board.read(0x08000000, 2)]).toEqual([1, 2]);
    expect([...board.read(0x20010000, 2)]).toEqual([0, 0]);
  });

  it('two boards on one bus keep separate memories and devices', async () => {
    const clock = new VirtualClock();
    const bus = new SimBus({ clock });
    const a = bus.addBoard('stm32f746');
    const b = bus.addBoard('stm32f746');
    await openDfu(a.device!);
    await eraseAt(a.device!, clock, 0x08000000);
    await write(a.device!, clock, 0x08000000, new Uint8Array([0x42]), 2048);
    expect(a.read(0x08000000, 1)[0]).toBe(0x42);
    expect(b.read(0x08000000, 1)[0]).toBe(0xff);
    expect(bus.boardOf(b.device!)).toBe(b);
    expect(() => bus.addBoard('stm32f746', { serial: a.serial })).toThrow(/already on the bus/);
  });
});
