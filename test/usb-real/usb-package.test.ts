// The production transport against the simulator: NodeUsbBackend (the `usb` package v3, native code
// and real usbfs ioctls) on the virtual USB bus, talking DfuSe to simulated ROM bootloaders.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleScript, runOnVirtualBus } from '../harness/run.js';
import { SimBus } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';

let probe: string;
let tmp: string;

beforeAll(async () => {
  probe = await bundleScript(path.join(__dirname, 'fixtures', 'usb-probe.ts'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'usb-real-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function runProbe(boards: string[], args: string[], stateDir?: string) {
  const r = await runOnVirtualBus({ boards, command: process.execPath, args: [probe, ...args], ...(stateDir ? { stateDir } : {}) });
  expect(r.stderr, r.stderr).not.toMatch(/usb-probe:|vusb:/);
  expect(r.code).toBe(0);
  return { ...r, result: JSON.parse(r.stdout.trim().split('\n').pop()!) };
}

/** What the simulator itself says a board of this model enumerates as (its WebUSB face, in process). */
function simulatedIdentity(model: 'stm32f746' | 'stm32f407', serial: string) {
  const bus = new SimBus({ clock: new VirtualClock() });
  const d = bus.addBoard(model, { serial }).device!;
  return {
    vendorId: d.vendorId,
    productId: d.productId,
    manufacturer: d.manufacturerName,
    product: d.productName,
    serial: d.serialNumber,
    alts: d.configuration!.interfaces.flatMap((i) => i.alternates.map((a) => a.interfaceName)),
  };
}

describe('the usb package on the virtual bus', () => {
  it('lists two simulated boards with their VID/PID, strings and alt-setting names, told apart by serial', async () => {
    const { result } = await runProbe(['stm32f746:VUSBF746', 'stm32f407:VUSBF407'], ['list']);
    expect(result).toHaveLength(2);
    type Listed = { serial: string; product: string; address: number };
    const bySerial: Record<string, Listed> = Object.fromEntries((result as Listed[]).map((d) => [d.serial, d]));
    expect(bySerial.VUSBF746).toMatchObject({ ...simulatedIdentity('stm32f746', 'VUSBF746'), vendorId: 0x0483, productId: 0xdf11 });
    expect(bySerial.VUSBF407).toMatchObject({ ...simulatedIdentity('stm32f407', 'VUSBF407'), vendorId: 0x0483, productId: 0xdf11 });
    expect(bySerial.VUSBF746?.product).toBe('STM32  BOOTLOADER');
    expect(bySerial.VUSBF746?.address).not.toBe(bySerial.VUSBF407?.address);
  });

  it('opens, claims, selects alt 0, erases, writes and reads back F746 flash through DfuSe', async () => {
    const state = path.join(tmp, 'roundtrip');
    const data = randomBytes(64);
    const address = 0x08008000; // sector 1 (32 KB sectors from 0x08000000, RM0385 §3.3.1)
    const { result, hostTransfers } = await runProbe(
      ['stm32f746:VUSBA', 'stm32f746:VUSBB'],
      ['roundtrip', 'VUSBA', String(address), data.toString('hex')],
      state,
    );
    expect(result.initial).toEqual({ status: 0, pollMs: 0, state: 2 });
    expect(result.readBack).toBe(data.toString('hex'));
    expect(result.final.state).toBe(2);
    // The board holds the bytes (its saved flash), and the other board on the bus was not touched.
    const offset = address - 0x08000000;
    const flashA = fs.readFileSync(path.join(state, 'VUSBA', 'flash.bin'));
    const flashB = fs.readFileSync(path.join(state, 'VUSBB', 'flash.bin'));
    expect(flashA.subarray(offset, offset + data.length).equals(data)).toBe(true);
    expect(flashB.subarray(offset, offset + data.length).every((b) => b === 0xff)).toBe(true);
    // Every transfer went to board 0 (VUSBA); DNLOAD carried the erase, pointer and data blocks.
    expect(new Set(hostTransfers.map((t) => t.board))).toEqual(new Set([0]));
    expect(hostTransfers.filter((t) => t.setup[1] === 1 && t.setup[0] === 0x21).map((t) => t.length)).toEqual([5, 5, 64, 5]);
  });

  it('sees a board that leaves DFU go away and enumerate again with a new device number (by polling)', async () => {
    const { result } = await runProbe(['stm32f746:VUSBL'], ['leave', 'VUSBL', String(0x08000000)]);
    // Erased flash holds no vector table: the ROM resets and, BOOT0 held, enumerates again (DESIGN "Leave").
    // How many polls still see the old device depends on the machine's load; that it goes does not.
    expect(result.seen).toContain('none');
    expect(result.seen.slice(0, result.seen.indexOf('none')).every((s: string) => s === String(result.before.address))).toBe(true);
    expect(result.after).toBeDefined();
    expect(result.after.address).not.toBe(result.before.address);
    expect(result.after.serial).toBe('VUSBL');
    expect(result.after.portPath).toBe(result.before.portPath);
  });
});
