// The simulated board runs an unrecognised RAM image's real machine code on the emulated Cortex-M7
// (src-main/emu): the host sees the USB device that code makes of the OTG FS core.
import { describe, expect, it } from 'vitest';
import { createEmulator, emulatorAvailability } from '../../src-main/emu/emulator.js';
import { SimBus } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { LOAD_ADDRESS, testImage } from './build.js';

function boardWith(image: Uint8Array, opts: { bootBudgetMs?: number } = {}) {
  const clock = new VirtualClock();
  const emulator = createEmulator(clock, opts);
  if (!emulator) throw new Error(`emulator unavailable: ${JSON.stringify(emulatorAvailability())} (install python3-unicorn)`);
  const bus = new SimBus({ clock, emulator });
  const board = bus.addBoard('stm32f746', { serial: 'EMU000000001' });
  board.poke(LOAD_ADDRESS, image);
  return { clock, bus, board };
}

async function waitFor(clock: VirtualClock, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = clock.now() + ms;
  while (!cond()) {
    if (clock.now() > end) throw new Error('condition not reached in device time');
    await clock.sleep(1);
  }
}

async function opened(board: { device?: USBDevice | undefined }) {
  const d = board.device!;
  await d.open();
  await d.claimInterface(0);
  return d;
}

const vendorOut = { requestType: 'vendor', recipient: 'interface', index: 0, value: 0 } as const;

describe('emulated board: a RAM image that is not a simulator loader runs on the emulated core', () => {
  it('enumerates with the descriptors the firmware sends (read as a host reads them)', async () => {
    const { clock, board } = boardWith(testImage());
    board.jump(LOAD_ADDRESS);
    expect(board.mode).toBe('loader');
    await waitFor(clock, () => board.device !== undefined);
    const d = board.device!;
    expect([d.vendorId, d.productId]).toEqual([0x1209, 0x0001]);
    expect(d.productName).toBe('Emu Test Device');
    expect(d.serialNumber).toBe('SERIAL0001');
    expect(d.configuration?.interfaces[0]?.alternates[0]?.interfaceName).toBe('@Buffer /0x20030000/04*001Kg');
    board.unplug();
  });

  it('carries a 4096-byte OUT data stage (64 packets, EP0 re-armed after each) and reads it back', async () => {
    const { clock, board } = boardWith(testImage());
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.device !== undefined);
    const d = await opened(board);
    const data = new Uint8Array(4096).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
    const t0 = clock.now();
    const w = await d.controlTransferOut({ ...vendorOut, request: 1 }, data);
    expect(w.bytesWritten).toBe(4096);
    // 64 full-speed packets cannot take less than ~2.7 ms on the wire (4096 B at 12 Mb/s).
    expect(clock.now() - t0).toBeGreaterThan(2.7);
    const r = await d.controlTransferIn({ ...vendorOut, request: 2 }, 4096);
    expect(new Uint8Array(r.data!.buffer)).toEqual(data);
    board.unplug();
  });

  it('a flipped bit on the wire reaches the firmware (DNLOAD data)', async () => {
    const { clock, board } = boardWith(testImage());
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.device !== undefined);
    const d = await opened(board);
    board.faults.add({ kind: 'flip-bit', offset: 5, bit: 3 });
    const data = new Uint8Array(64).fill(0x11);
    await d.controlTransferOut({ requestType: 'class', recipient: 'interface', request: 1, value: 2, index: 0 }, data);
    const r = new Uint8Array((await d.controlTransferIn({ ...vendorOut, request: 2 }, 64)).data!.buffer);
    expect(r[5]).toBe(0x11 ^ 0x08);
    expect([...r].filter((b) => b !== 0x11)).toHaveLength(1);
    board.unplug();
  });

  it('a run that touches a register no model implements stops, naming the address; the device is gone', async () => {
    const { clock, board } = boardWith(testImage());
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.device !== undefined);
    const d = await opened(board);
    await d.controlTransferOut({ ...vendorOut, request: 5 }).catch(() => undefined);
    await waitFor(clock, () => board.emulation?.running === false);
    expect(board.emulation?.end).toMatchObject({ kind: 'unmodelled', address: 0x40007400 });
    expect(board.emulation?.end?.reason).toContain('0x40007400');
    expect(board.device).toBeUndefined();
  });

  it('a jump into blank flash is a fault, not an application start', async () => {
    const { clock, board } = boardWith(testImage());
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.device !== undefined);
    const d = await opened(board);
    await d.controlTransferOut({ ...vendorOut, request: 4 });
    await waitFor(clock, () => board.emulation?.running === false);
    expect(board.emulation?.end?.kind).toBe('fault');
    expect(board.mode).toBe('loader');
  });

  it('a hard-faulting image never enumerates', async () => {
    const { clock, board } = boardWith(testImage('FAULT_AT_ENTRY'));
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.emulation?.running === false);
    expect(board.emulation?.end?.kind).toBe('fault');
    await clock.sleep(3000);
    expect(board.device).toBeUndefined();
    expect(board.mode).toBe('loader');
  });

  it('a hanging image never enumerates (the boot budget of device time runs out)', async () => {
    const { clock, board } = boardWith(testImage('HANG_AT_ENTRY'), { bootBudgetMs: 200 });
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.emulation?.running === false);
    expect(board.emulation?.end?.kind).toBe('hang');
    expect(board.device).toBeUndefined();
  });

  it('a jump to flash ends the run: the application runs', async () => {
    const { clock, board } = boardWith(testImage());
    // An application's vector table in flash: MSP, then the reset handler (Thumb bit set).
    board.poke(0x08000000, new Uint8Array([0x00, 0x00, 0x05, 0x20, 0x09, 0x00, 0x00, 0x08]));
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.device !== undefined);
    const d = await opened(board);
    await d.controlTransferOut({ ...vendorOut, request: 4 });
    await waitFor(clock, () => board.mode === 'app');
    expect(board.emulation?.end).toMatchObject({ kind: 'jump', address: 0x08000008 });
    expect(board.device).toBeUndefined();
  });

  it('an IWDG the firmware does not refresh resets the chip: the ROM enumerates again (BOOT0 held)', async () => {
    const { clock, board } = boardWith(testImage('IWDG_NOT_REFRESHED'));
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.emulation?.running === false);
    expect(board.emulation?.end?.kind).toBe('reset');
    expect(board.emulation?.end?.reason).toMatch(/IWDG/i);
    await waitFor(clock, () => board.mode === 'rom' && board.device !== undefined);
    expect([board.device!.vendorId, board.device!.productId]).toEqual([0x0483, 0xdf11]);
  });

  it('unplugging mid-transfer ends the run at once', async () => {
    const { clock, board } = boardWith(testImage());
    board.jump(LOAD_ADDRESS);
    await waitFor(clock, () => board.device !== undefined);
    const d = await opened(board);
    board.faults.add({ kind: 'unplug-at-byte', byte: 100 });
    await expect(d.controlTransferOut({ requestType: 'class', recipient: 'interface', request: 1, value: 2, index: 0 }, new Uint8Array(256))).rejects.toThrow(/disconnected/);
    expect(board.mode).toBe('unplugged');
    expect(board.emulation).toBeUndefined();
  });

  it('without an emulator the board behaves as before: an unknown RAM image brings the ROM back', async () => {
    const clock = new VirtualClock();
    const board = new SimBus({ clock }).addBoard('stm32f746');
    board.poke(LOAD_ADDRESS, testImage());
    board.jump(LOAD_ADDRESS);
    expect(board.mode).toBe('rom');
  });
});
