// dfu-util, a host nobody here wrote, against the simulated ROM bootloaders on the virtual USB bus:
// it holds the simulator to a real host's expectations (listing, DfuSe download with leave, upload).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnVirtualBus } from '../harness/run.js';
import { SIM_MODELS, SimBus, type SimModelName } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfu-util-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const FLASH = 0x08000000;
const serialOf = (model: SimModelName) => `VUSB${model.slice(5).toUpperCase()}`;

/** The alt-setting names the simulator itself gives a model (its WebUSB face, in process). */
function simulatedAlts(model: SimModelName): string[] {
  const d = new SimBus({ clock: new VirtualClock() }).addBoard(model).device!;
  return d.configuration!.interfaces.flatMap((i) => i.alternates.map((a) => a.interfaceName ?? ''));
}

interface Found {
  devnum: number;
  path: string;
  alt: number;
  name: string;
  serial: string;
}

function parseList(stdout: string): Found[] {
  const re = /^Found DFU: \[0483:df11\] ver=\w+, devnum=(\d+), cfg=1, intf=0, path="([^"]+)", alt=(\d+), name="([^"]*)", serial="([^"]*)"$/gm;
  return [...stdout.matchAll(re)].map((m) => ({ devnum: Number(m[1]), path: m[2]!, alt: Number(m[3]), name: m[4]!, serial: m[5]! }));
}

async function dfuUtil(boards: string[], args: string[], stateDir?: string) {
  const r = await runOnVirtualBus({ boards, command: 'dfu-util', args, ...(stateDir ? { stateDir } : {}) });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r;
}

describe('dfu-util on the virtual bus', () => {
  it('lists every simulated model at once, each with the alt-setting names the simulator gives it', async () => {
    const r = await dfuUtil(SIM_MODELS.map((m) => `${m}:${serialOf(m)}`), ['-l']);
    const found = parseList(r.stdout);
    for (const model of SIM_MODELS) {
      const mine = found.filter((f) => f.serial === serialOf(model));
      const names = mine.sort((a, b) => a.alt - b.alt).map((f) => f.name);
      expect(names, model).toEqual(simulatedAlts(model));
      expect(new Set(mine.map((f) => f.devnum)).size, model).toBe(1);
    }
    expect(new Set(found.map((f) => f.path)).size).toBe(SIM_MODELS.length);
  });

  it.each(SIM_MODELS)('%s: -D with :leave writes flash, -U reads the same bytes back', async (model) => {
    const state = path.join(tmp, model);
    const image = randomBytes(4096);
    const file = path.join(tmp, `${model}.bin`);
    fs.writeFileSync(file, image);
    const board = `${model}:${serialOf(model)}`;

    const down = await dfuUtil([board], ['-a', '0', '-s', `0x${FLASH.toString(16)}:leave`, '-D', file], state);
    expect(down.stdout).toMatch(/File downloaded successfully/);
    const flash = fs.readFileSync(path.join(state, serialOf(model), 'flash.bin'));
    expect(flash.subarray(0, image.length).equals(image)).toBe(true);
    expect(flash.subarray(image.length, image.length + 4096).every((b) => b === 0xff)).toBe(true);
    // DfuSe leave (AN3156 §6.4): the last DNLOAD is zero-length.
    const dnloads = down.hostTransfers.filter((t) => t.setup[0] === 0x21 && t.setup[1] === 1);
    expect(dnloads.at(-1)?.setup[4]).toBe(0);

    const back = path.join(tmp, `${model}-up.bin`);
    await dfuUtil([board], ['-a', '0', '-s', `0x${FLASH.toString(16)}:${image.length}`, '-U', back], state);
    expect(fs.readFileSync(back).equals(image)).toBe(true);
  });
});
