// The DFU/DfuSe layer against simulated ROM bootloaders: what the board holds afterwards, how many
// control transfers it took, and how failures surface. Virtual time: no test waits for real.

import { describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors.js';
import { DFU_STATE, DFU_STATUS, DFUSE_COMMAND } from '../../src-main/dfu/constants.js';
import { DfuseDevice } from '../../src-main/dfu/dfuse.js';
import { SimBus, type SimBoard, type SimLoaderImage, type SimModelName } from '../../src-main/sim/index.js';
import { dfuFunctional } from '../../src-main/usb/descriptors.js';
import { readDfuDescriptors } from '../../src-main/dfu/descriptors.js';
import { DeviceWatcher } from '../../src-main/usb/discovery.js';
import { formatDump } from '../../src-main/dfu/dump.js';
import { TransferCounter } from '../../src-main/usb/transfer.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { CUBEPROGRAMMER_VB3 } from '../usb/fixtures.js';

const FLASH = 0x08000000;

function setup(model: SimModelName = 'stm32f746', loaders?: SimLoaderImage[]) {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  const board = bus.addBoard(model, loaders ? { loaders } : {});
  const counter = new TransferCounter();
  return { clock, bus, board, counter };
}

async function open(board: SimBoard, clock: VirtualClock, counter?: TransferCounter, alt = 0) {
  return DfuseDevice.open(board.device!, { clock, alt, ...(counter ? { counter } : {}) });
}

function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function caught(p: Promise<unknown>): Promise<BootBridgeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BootBridgeError) return e;
    throw e;
  }
  throw new Error('expected a BootBridgeError');
}

describe('descriptors of simulated ROM bootloaders', () => {
  it('the simulated F746 dumps exactly as STM32CubeProgrammer shows the real one', async () => {
    const { board } = setup('stm32f746');
    const dump = formatDump(await readDfuDescriptors(board.device!));
    expect(dump.startsWith(CUBEPROGRAMMER_VB3)).toBe(true);
  });

  it('the simulated F407 matches the lsusb capture field for field', async () => {
    const { board } = setup('stm32f407');
    const d = await readDfuDescriptors(board.device!);
    expect(d.device).toMatchObject({ bcdUSB: 0x0100, idVendor: 0x0483, idProduct: 0xdf11, bcdDevice: 0x2100, bMaxPacketSize0: 64 });
    expect(d.configurations[0]).toMatchObject({ wTotalLength: 54, bmAttributes: 0xc0 });
    expect(d.configurations[0]!.interfaces.map((i) => i.name)).toEqual([
      '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg',
      '@Option Bytes  /0x1FFFC000/01*016 g',
      '@OTP Memory /0x1FFF7800/01*512 g,01*016 g',
      '@Device Feature/0xFFFF0000/01*004 g',
    ]);
    expect(dfuFunctional(d)).toMatchObject({ bmAttributes: 11, wDetachTimeOut: 255, wTransferSize: 2048, bcdDFUVersion: 0x011a });
    expect(d.product).toBe('STM32  BOOTLOADER');
    expect(d.serialNumber).toBe('315A28A0B956');
  });

  it.each(['stm32f746', 'stm32f407', 'stm32h743', 'stm32g474', 'stm32l476'] as const)('every alt setting of the %s decodes as a memory layout', async (model) => {
    const { board } = setup(model);
    const d = await readDfuDescriptors(board.device!);
    const alts = d.configurations[0]!.interfaces;
    expect(alts.length).toBeGreaterThan(1);
    for (const a of alts) {
      expect(a.layoutError).toBeUndefined();
      expect(a.layout!.blocks.length).toBeGreaterThan(0);
    }
    expect(formatDump(d)).toContain('Memory of Alternate Setting 0x00 : @Internal Flash');
  });
});

describe('opening', () => {
  it('clears the F407 ROM out of dfuERROR/errFIRMWARE with one CLRSTATUS', async () => {
    const { board, clock, counter } = setup('stm32f407');
    expect(board.dfuState).toMatchObject({ state: DFU_STATE.dfuERROR, status: DFU_STATUS.errFIRMWARE });
    const dev = await open(board, clock, counter);
    expect(counter.byRequest).toMatchObject({ GETSTATUS: 2, CLRSTATUS: 1 });
    expect(dev.dfu.lastState).toBe(DFU_STATE.dfuIDLE);
    expect(board.dfuState!.state).toBe(DFU_STATE.dfuIDLE);
  });

  it('lists the ROM commands and refuses CRC32 on the ROM', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    expect(await dev.getCommands()).toEqual([0x00, 0x21, 0x41, 0x92]);
    expect((await caught(dev.crc32(FLASH, 16))).code).toBe('LOADER_UNSUPPORTED');
  });
});

describe('write and read', () => {
  it.each(['stm32f746', 'stm32f407'] as const)('erase, write and read back an unaligned length on the %s', async (model) => {
    const { board, clock } = setup(model);
    const dev = await open(board, clock);
    const data = pattern(5000);
    await dev.erase(FLASH);
    await dev.write(FLASH, data);
    expect(board.read(FLASH, 5000)).toEqual(data);
    expect(board.read(FLASH + 5000, 16)).toEqual(new Uint8Array(16).fill(0xff));
    expect(await dev.read(FLASH, 5000)).toEqual(data);
    expect(await dev.read(FLASH + 4999, 3)).toEqual(new Uint8Array([data[4999]!, 0xff, 0xff]));
  });

  it('takes one set-address per run and three transfers per block', async () => {
    const { board, clock, counter } = setup();
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    const dfu = new TransferCounter();
    (dev.dfu as { counter: TransferCounter | undefined }).counter = dfu;
    const blocks = 16;
    await dev.write(FLASH, pattern(blocks * dev.transferSize));
    // one set-address (DNLOAD + 2 GETSTATUS) then DNLOAD + GETSTATUS(busy) + GETSTATUS(idle) per block
    expect(dfu.byRequest.DNLOAD).toBe(blocks + 1);
    expect(dfu.total).toBeLessThanOrEqual(3 * blocks + 3);
    expect(dfu.total / blocks).toBeLessThan(3.2);
    expect(counter.total).toBe(0);
  });

  it('reads with one UPLOAD per block after one set-address', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    const c = new TransferCounter();
    (dev.dfu as { counter: TransferCounter | undefined }).counter = c;
    await dev.read(FLASH, 8 * dev.transferSize);
    expect(c.byRequest.UPLOAD).toBe(8);
    expect(c.byRequest.DNLOAD).toBe(1);
    expect(c.total).toBeLessThanOrEqual(8 + 5);
  });

  it('reports progress after every block with the bytes done', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    const seen: number[] = [];
    await dev.write(FLASH, pattern(5000), { onProgress: (done, total) => seen.push(done, total) });
    expect(seen).toEqual([2048, 5000, 4096, 5000, 5000, 5000]);
  });

  it('waits the poll timeout the ROM reports: a 2 KiB block costs about the F745 figure of 104 ms', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    const t0 = clock.now();
    await dev.write(FLASH, pattern(10 * 2048));
    const perBlock = (clock.now() - t0) / 10;
    expect(perBlock).toBeGreaterThan(100);
    expect(perBlock).toBeLessThan(130);
  });

  it('mass erase leaves the whole flash blank', async () => {
    const { board, clock } = setup('stm32f746');
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    await dev.write(FLASH, pattern(4096));
    await dev.massErase();
    expect(board.read(FLASH, 4096)).toEqual(new Uint8Array(4096).fill(0xff));
  });

  it('waits 35 s after the F407 mass-erase command that claims 100 ms (dfu-util quirk)', async () => {
    const { board, clock } = setup('stm32f407');
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    await dev.write(FLASH, pattern(2048));
    const t0 = clock.now();
    await dev.massErase();
    expect(board.read(FLASH, 2048)).toEqual(new Uint8Array(2048).fill(0xff));
    expect(clock.now() - t0).toBeGreaterThanOrEqual(35_000);
  });
});

describe('failures', () => {
  it('an error status from the board becomes DFU_STATUS with the block address, and the device recovers', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    board.faults.add({ kind: 'status', on: 'write', status: DFU_STATUS.errWRITE });
    const e = await caught(dev.write(FLASH, pattern(4096)));
    expect(e.code).toBe('DFU_STATUS');
    expect(e.context).toMatchObject({ statusName: 'errWRITE', stateName: 'dfuERROR', address: FLASH, alt: 0 });
    await dev.dfu.ensureIdle();
    await dev.write(FLASH + 4096, pattern(100));
    expect(board.read(FLASH + 4096, 100)).toEqual(pattern(100));
  });

  it('writing outside every memory is refused by the board with an address error', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    const e = await caught(dev.write(0x0a000000, pattern(16)));
    expect(e.code).toBe('DFU_STATUS');
    expect(['errTARGET', 'errADDRESS']).toContain(e.context.statusName);
    expect(e.context.address).toBe(0x0a000000);
  });

  it('a STALL names the request and the state, and ensureIdle recovers from it', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    board.faults.add({ kind: 'stall', request: 'DNLOAD' });
    const e = await caught(dev.erase(FLASH));
    expect(e.code).toBe('USB_STALL');
    expect(e.context).toMatchObject({ request: 'DNLOAD', alt: 0, address: FLASH });
    expect(e.context.stateName).toBeDefined();
    const r = await dev.dfu.ensureIdle();
    expect(r.stateName).toBe('dfuIDLE');
    await dev.erase(FLASH);
  });

  it('a board unplugged mid-write gives DEVICE_DISCONNECTED', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    board.faults.add({ kind: 'unplug-at-byte', byte: 3000 });
    const e = await caught(dev.write(FLASH, pattern(8192)));
    expect(e.code).toBe('DEVICE_DISCONNECTED');
  });

  it('an erase much slower than reported is polled until done', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    await dev.write(FLASH, pattern(16)).catch(() => undefined);
    board.faults.add({ kind: 'slow-erase', factor: 5 });
    await dev.erase(FLASH);
    expect(board.read(FLASH, 16)).toEqual(new Uint8Array(16).fill(0xff));
  });

  it('an erase that never ends within the limit gives DFU_TIMEOUT', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    board.faults.add({ kind: 'slow-erase', factor: 1000 });
    const e = await caught(dev.erase(FLASH));
    expect(e.code).toBe('DFU_TIMEOUT');
    expect(e.context.address).toBe(FLASH);
  });

  it('cancel stops between blocks and leaves the board in dfuIDLE', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    const ac = new AbortController();
    const e = await caught(dev.write(FLASH, pattern(8192), { signal: ac.signal, onProgress: (done) => done >= 4096 && ac.abort() }));
    expect(e.code).toBe('CANCELLED');
    expect(e.context.offset).toBe(4096);
    expect(board.dfuState!.state).toBe(DFU_STATE.dfuIDLE);
    expect(board.read(FLASH, 4096)).toEqual(pattern(8192).subarray(0, 4096));
    expect(board.read(FLASH + 4096, 16)).toEqual(new Uint8Array(16).fill(0xff));
    await dev.write(FLASH + 4096, pattern(8192).subarray(4096));
    expect(board.read(FLASH, 8192)).toEqual(pattern(8192));
  });
});

describe('more cancel and leave', () => {
  it('cancel during a read stops between blocks and leaves the board in dfuIDLE', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    const ac = new AbortController();
    const e = await caught(dev.read(FLASH, 8 * 2048, { signal: ac.signal, onProgress: (done) => done >= 2048 && ac.abort() }));
    expect(e.code).toBe('CANCELLED');
    expect(board.dfuState!.state).toBe(DFU_STATE.dfuIDLE);
    expect((await dev.read(FLASH, 16)).length).toBe(16);
  });

  it('closing after leave sends no DFU request to the departing device', async () => {
    const { board, clock } = setup();
    const c = new TransferCounter();
    const dev = await open(board, clock, c);
    await dev.leave(FLASH);
    const before = c.total;
    await dev.close();
    expect(c.total).toBe(before);
  });

  it('read unprotect erases the chip and the board drops off the bus as expected', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    await dev.erase(FLASH);
    await dev.write(FLASH, pattern(64));
    const r = await dev.readUnprotect();
    expect(typeof r.disconnected).toBe('boolean');
    await clock.sleep(5000);
    expect(board.read(FLASH, 64)).toEqual(new Uint8Array(64).fill(0xff));
  });
});

describe('leave', () => {
  it('leaving to a blank flash resets the board back into its ROM, found again by the watcher', async () => {
    const { board, clock, bus } = setup();
    const dev = await open(board, clock);
    const first = board.device!;
    const r = await dev.leave(FLASH);
    expect(r.disconnected || r.status?.stateName === 'dfuMANIFEST').toBe(true);
    const watcher = new DeviceWatcher(bus, { clock, pollMs: 100 });
    const again = await watcher.waitFor((d) => d !== first && d.serialNumber === board.serial, { timeoutMs: 5000 });
    expect(again.vendorId).toBe(0x0483);
    expect(board.mode).toBe('rom');
  });

  it('a board that goes without answering the last GETSTATUS is a successful leave', async () => {
    const { board, clock } = setup();
    const dev = await open(board, clock);
    board.faults.add({ kind: 'leave-without-status' });
    const r = await dev.leave(FLASH);
    expect(r.disconnected).toBe(true);
  });

  it('stages a RAM loader through the ROM, jumps to it, and its CRC32 matches what was written', async () => {
    const load = 0x20010000;
    const image = new Uint8Array(256);
    const vt = new DataView(image.buffer);
    vt.setUint32(0, 0x20020000, true); // initial SP
    vt.setUint32(4, load + 0x41, true); // reset handler, Thumb bit set
    image.set(pattern(240), 16);
    const loader: SimLoaderImage = {
      name: 'test loader',
      loadAddress: load,
      image,
      vendorId: 0x1209,
      productId: 0x0001,
      product: 'BootBridge Loader',
      transferSize: 4096,
      memories: ['@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg'],
      crc32: true,
    };
    const { board, clock, bus } = setup('stm32f746', [loader]);
    const rom = await open(board, clock);
    await rom.write(load, image);
    expect(await rom.read(load, image.length)).toEqual(image);
    await rom.leave(load);
    const watcher = new DeviceWatcher(bus, { clock, filters: [{ vendorId: 0x1209, productId: 0x0001 }], includeDfuClass: false });
    const found = await watcher.waitFor((d) => d.serialNumber === board.serial, { timeoutMs: 5000 });
    expect(found.vendorId).toBe(0x1209);
    expect(board.mode).toBe('loader');
    const ld = await DfuseDevice.open(found, { clock });
    expect(ld.transferSize).toBe(4096);
    expect(await ld.supports(DFUSE_COMMAND.CRC32)).toBe(true);
    const data = pattern(20_000, 7);
    await ld.erase(FLASH);
    await ld.write(FLASH, data);
    const { crc32 } = await import('../../src-main/util/crc32.js');
    expect(await ld.crc32(FLASH, data.length)).toBe(crc32(data));
    expect(board.read(FLASH, data.length)).toEqual(data);
  });
});
