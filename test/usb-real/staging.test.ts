// The whole staging flow on the production transport: the CLI, through the `usb` package v3, flashes
// the demo ELF into internal flash and the QSPI NOR of a simulated STM32F746G-DISCO — the ROM leaves,
// the virtual bus removes it, the loader enumerates with the same serial, the engine finds it by
// polling, programs and verifies the QSPI — and a second run reads the QSPI back through the loader.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFirmware } from '../../src-main/firmware/index.js';
import { REPO, bundleScript, runOnVirtualBus } from '../harness/run.js';

const DEMO = path.join(REPO, 'assets', 'examples', 'demo-f746', 'demo-f746.elf');
const LOADER = path.join(REPO, 'assets', 'loaders', 'sim-stm32f746');

let cli: string;
let tmp: string;
beforeAll(async () => {
  cli = await bundleScript(path.join(REPO, 'src-main', 'cli', 'main.ts'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'usb-real-staging-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bootbridge = (args: string[], stateDir: string, simulatedUsb = true) =>
  runOnVirtualBus({
    boards: ['stm32f746:STAGE1'],
    command: process.execPath,
    args: [cli, ...args, '--no-progress'],
    stateDir,
    env: simulatedUsb ? { BOOTBRIDGE_SIMULATED_USB: '1' } : {},
    timeoutMs: 60_000,
  });

describe('staging a loader through the usb package', () => {
  it('flashes internal flash and QSPI in one run, and reads the QSPI back in another', async () => {
    const state = path.join(tmp, 'state');
    const image = parseFirmware('demo.elf', new Uint8Array(fs.readFileSync(DEMO)));
    const qspi = image.segments.find((s) => s.address === 0x9000_0000)!;
    const internal = image.segments.find((s) => s.address === 0x0800_0000)!;

    const f = await bootbridge(['flash', DEMO, '--loader', LOADER, '--rom-route'], state);
    expect(f.code, f.stdout + f.stderr).toBe(0);
    expect(f.stdout).toMatch(/PASS/);
    // The board was removed as the ROM and came back as the loader (1209:0001) before leaving for good.
    expect(f.events.map((e) => e.ev)).toEqual(['added', 'removed', 'added', 'removed']);

    const flash = fs.readFileSync(path.join(state, 'STAGE1', 'flash.bin'));
    expect(new Uint8Array(flash.subarray(0, internal.data.length))).toEqual(internal.data);

    const out = path.join(tmp, 'qspi.bin');
    const r = await bootbridge(['read', '0x90000000', String(qspi.data.length), '--loader', LOADER, '-o', out], state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(new Uint8Array(fs.readFileSync(out))).toEqual(qspi.data);
  });

  it('refuses the simulator\'s loader on a bus that is not declared simulated, before writing anything', async () => {
    const r = await bootbridge(['flash', DEMO, '--loader', LOADER], path.join(tmp, 'refuse'), false);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/only on simulated boards/);
    // No DFU DNLOAD (class request 1 to the interface, DFU 1.1 §6.1.1) reached the board.
    const dnloads = r.transfers.filter((t) => t.by === 'host' && t.setup[0] === 0x21 && t.setup[1] === 1);
    expect(r.transfers.some((t) => t.by === 'host')).toBe(true);
    expect(dnloads).toEqual([]);
  });
});
