import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimBus, DfuState, DfuStatus, SIM_LOADER_F746, simLoaderImage, simLoaderImages, SIM_MODELS, simChip } from '../../src-main/sim/index';
import { loadSimState, saveSimState } from '../../src-main/operations/sim-state';
import { crc32 } from '../../src-main/util/crc32';
import { VirtualClock } from '../../src-main/util/clock';
import { abort, clrStatus, command, eraseAt, finish, getStatus, le32, leave, openDfu, pattern, read, setAddress, upload, write, dnload } from './dfu-host';

async function stagedF746() {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  const board = bus.addBoard('stm32f746', { loaders: simLoaderImages('stm32f746') });
  const rom = board.device!;
  await openDfu(rom);
  const image = simLoaderImage('stm32f746');
  await write(rom, clock, SIM_LOADER_F746.loadAddress, image, 2048);
  const appeared = new Promise<USBDevice>((resolve) => bus.onConnect(resolve));
  await leave(rom, clock, SIM_LOADER_F746.loadAddress);
  const dev = await appeared;
  await openDfu(dev);
  return { clock, bus, board, rom, dev };
}

const QSPI = 0x90000000;

describe('simulated loader personality (BootBridge loader protocol v1)', () => {
  it('enumerates with the manifest values, one alt per memory, the larger transfer size and the ROM serial', async () => {
    const { board, rom, dev } = await stagedF746();
    expect(board.mode).toBe('loader');
    expect(dev.vendorId).toBe(SIM_LOADER_F746.vendorId);
    expect(dev.productId).toBe(SIM_LOADER_F746.productId);
    expect(dev.productName).toBe(SIM_LOADER_F746.product);
    expect(dev.serialNumber).toBe(rom.serialNumber);
    const names = dev.configuration!.interfaces[0]!.alternates.map((a) => a.interfaceName);
    expect(names).toEqual(SIM_LOADER_F746.memories);
    const r = await dev.controlTransferIn({ requestType: 'standard', recipient: 'device', request: 6, value: 0x0200, index: 0 }, 255);
    const cfg = new Uint8Array(r.data!.buffer);
    const f = cfg.length - 9;
    expect(cfg[f + 1]).toBe(0x21);
    expect(cfg[f + 5]! | (cfg[f + 6]! << 8)).toBe(SIM_LOADER_F746.transferSize);
    expect([...(await upload(dev, 0, 16))]).toEqual([0x00, 0x21, 0x41, 0xb0, 0xb1]);
  });

  it('erases, programs and reads the QSPI NOR with honest poll timeouts (one dfuDNBUSY, then idle)', async () => {
    const { clock, board, dev } = await stagedF746();
    await dnload(dev, 0, new Uint8Array([0x41, ...le32(QSPI + 0x10000)]));
    const erase = await finish(dev, clock);
    expect(erase.polls[0]).toMatchObject({ state: DfuState.dfuDNBUSY, poll: 700 });
    expect(erase.polls).toHaveLength(2);
    expect(erase.last.state).toBe(DfuState.dfuDNLOAD_IDLE);
    await setAddress(dev, clock, QSPI + 0x10000);
    const data = pattern(4096, 21);
    await dnload(dev, 2, data);
    const prog = await finish(dev, clock);
    expect(prog.polls[0]).toMatchObject({ state: DfuState.dfuDNBUSY, poll: 8 }); // 16 pages × 0.5 ms
    expect(prog.polls).toHaveLength(2);
    expect(board.read(QSPI + 0x10000, 4096)).toEqual(data);
    expect(await read(dev, clock, QSPI + 0x10000, 4096, 4096)).toEqual(data);
  });

  it('QSPI programming only clears bits and an erase sets the 64 KB sector to 0xFF', async () => {
    const { clock, board, dev } = await stagedF746();
    await eraseAt(dev, clock, QSPI);
    await write(dev, clock, QSPI, new Uint8Array([0xf0, 0x3c]), 4096);
    await write(dev, clock, QSPI, new Uint8Array([0x0f, 0xff]), 4096);
    expect([...board.read(QSPI, 2)]).toEqual([0x00, 0x3c]);
    await write(dev, clock, QSPI + 0xffff, new Uint8Array([0x00]), 4096);
    await write(dev, clock, QSPI + 0x10000, new Uint8Array([0x00]), 4096);
    await eraseAt(dev, clock, QSPI + 0x1234);
    expect(board.read(QSPI, 0x10000).every((b) => b === 0xff)).toBe(true);
    expect(board.read(QSPI + 0x10000, 1)[0]).toBe(0x00);
  });

  it('answers the 0xB0 CRC32 of a range through UPLOAD block 1, little-endian', async () => {
    const { clock, board, dev } = await stagedF746();
    await eraseAt(dev, clock, QSPI);
    const data = pattern(20000, 33);
    await write(dev, clock, QSPI, data, 4096);
    const s = await command(dev, clock, [0xb0, ...le32(QSPI), ...le32(data.length)]);
    expect(s.state).toBe(DfuState.dfuDNLOAD_IDLE);
    await abort(dev);
    const r = await upload(dev, 1, 4);
    expect(new DataView(r.buffer, r.byteOffset).getUint32(0, true)).toBe(crc32(data));
    expect(crc32(board.read(QSPI, data.length))).toBe(crc32(data));
    // A range outside the alt's memory: errTARGET.
    await abort(dev);
    expect(await command(dev, clock, [0xb0, ...le32(0x08000000), ...le32(16)])).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errTARGET });
  });

  it('programs internal flash (alt 1) several times faster than the ROM, which reports 104 ms per 2 KB', async () => {
    const size = 64 * 1024;
    const data = pattern(size, 8);
    const viaRom = await (async () => {
      const clock = new VirtualClock();
      const board = new SimBus({ clock }).addBoard('stm32f746');
      await openDfu(board.device!);
      await eraseAt(board.device!, clock, 0x08000000);
      await eraseAt(board.device!, clock, 0x08008000);
      const t0 = clock.now();
      await write(board.device!, clock, 0x08000000, data, 2048);
      expect(board.read(0x08000000, size)).toEqual(data);
      return clock.now() - t0;
    })();
    const { clock, board, dev } = await stagedF746();
    await dev.selectAlternateInterface(0, 1);
    await eraseAt(dev, clock, 0x08000000);
    await eraseAt(dev, clock, 0x08008000);
    const t0 = clock.now();
    expect((await write(dev, clock, 0x08000000, data, 4096)).state).toBe(DfuState.dfuDNLOAD_IDLE);
    const viaLoader = clock.now() - t0;
    expect(board.read(0x08000000, size)).toEqual(data);
    expect(viaRom).toBeGreaterThan(32 * 104);
    expect(viaLoader * 4).toBeLessThan(viaRom);
  });

  it('the ROM can neither read nor write the QSPI window, but the loader serves it', async () => {
    const clock = new VirtualClock();
    const board = new SimBus({ clock }).addBoard('stm32f746');
    await openDfu(board.device!);
    expect(await write(board.device!, clock, QSPI, new Uint8Array(16), 2048)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errTARGET });
    await clrStatus(board.device!);
    expect(await eraseAt(board.device!, clock, QSPI)).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errTARGET });
  });

  it('leaving the loader to the application in flash starts it (mode "app")', async () => {
    const { clock, board, dev } = await stagedF746();
    await dev.selectAlternateInterface(0, 1);
    await eraseAt(dev, clock, 0x08000000);
    const vt = new Uint8Array([...le32(0x20050000), ...le32(0x08000101)]);
    await write(dev, clock, 0x08000000, vt, 4096);
    const s = await leave(dev, clock, 0x08000000);
    expect(s).toMatchObject({ state: DfuState.dfuMANIFEST });
    await clock.sleep(100);
    expect(board.mode).toBe('app');
  });

  it.each(SIM_MODELS)('%s: the generated loader image is deterministic, has a valid vector table, fits RAM above the ROM, and boots', async (model) => {
    const a = simLoaderImage(model);
    expect(simLoaderImage(model)).toEqual(a);
    const [spec] = simLoaderImages(model);
    const chip = simChip(model);
    expect(spec!.loadAddress).toBeGreaterThanOrEqual(chip.romReservedRam.end);
    const dv = new DataView(a.buffer);
    const sp = dv.getUint32(0, true);
    const pc = dv.getUint32(4, true);
    expect(chip.ram.some((r) => sp > r.start && sp <= r.start + r.size)).toBe(true);
    expect(pc & 1).toBe(1);
    expect((pc & ~1) >>> 0).toBeGreaterThanOrEqual(spec!.loadAddress);
    expect((pc & ~1) >>> 0).toBeLessThan(spec!.loadAddress + a.length);
    const clock = new VirtualClock();
    const bus = new SimBus({ clock });
    const board = bus.addBoard(model, { loaders: simLoaderImages(model) });
    const rom = board.device!;
    await openDfu(rom);
    if ((await getStatus(rom)).state === DfuState.dfuERROR) await clrStatus(rom);
    await write(rom, clock, spec!.loadAddress, a, chip.rom.transferSize);
    await leave(rom, clock, spec!.loadAddress);
    await clock.sleep(1000);
    expect(board.mode).toBe('loader');
    expect(board.device!.serialNumber).toBe(board.serial);
  });
});

describe('simulated board persistence', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('exportState and the state option carry flash, option bytes, OTP and QSPI to a new board; RAM is not kept', async () => {
    const { clock, board, dev } = await stagedF746();
    await eraseAt(dev, clock, QSPI);
    await write(dev, clock, QSPI, pattern(300, 1), 4096);
    board.poke(0x08000000, pattern(100, 2));
    board.poke(0x1ff0f000, new Uint8Array([0x12, 0x34]));
    const state = board.exportState();
    expect(Object.keys(state.memories).sort()).toEqual(['flash', 'option-bytes', 'otp', 'qspi']);
    const again = new SimBus({ clock: new VirtualClock() }).addBoard('stm32f746', { state });
    expect(again.serial).toBe(board.serial);
    expect(again.read(QSPI, 300)).toEqual(pattern(300, 1));
    expect(again.read(0x08000000, 100)).toEqual(pattern(100, 2));
    expect([...again.read(0x1ff0f000, 2)]).toEqual([0x12, 0x34]);
    expect(again.read(SIM_LOADER_F746.loadAddress, 16)).toEqual(new Uint8Array(16));
  });

  it('saveSimState / loadSimState keep one file per memory under the serial and round-trip the bytes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bb-sim-'));
    const board = new SimBus({ clock: new VirtualClock() }).addBoard('stm32f407');
    board.poke(0x08020000, pattern(4096, 3));
    saveSimState(dir, board);
    expect(readdirSync(join(dir, board.serial)).sort()).toEqual(['board.json', 'flash.bin', 'option-bytes.bin', 'otp.bin']);
    const state = loadSimState(dir, 'stm32f407', board.serial)!;
    expect(state.memories.flash!.subarray(0x20000, 0x21000)).toEqual(pattern(4096, 3));
    const back = new SimBus({ clock: new VirtualClock() }).addBoard('stm32f407', { state });
    expect(back.read(0x08020000, 4096)).toEqual(pattern(4096, 3));
    expect(loadSimState(dir, 'stm32f407', 'NOSUCHSERIAL')).toBeUndefined();
    expect(loadSimState(dir, 'stm32f407', undefined)?.serial).toBe(board.serial);
    expect(() => loadSimState(dir!, 'stm32f746', board.serial)).toThrow(/is a stm32f407/);
  });
});
