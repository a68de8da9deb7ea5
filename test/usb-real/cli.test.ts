// The bootbridge command line on the production transport (no --sim: the `usb` package v3) against
// simulated boards on the virtual bus, cross-checked with dfu-util on the same board.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, bundleScript, runOnVirtualBus } from '../harness/run.js';

let cli: string;
let tmp: string;
beforeAll(async () => {
  cli = await bundleScript(path.join(REPO, 'src-main', 'cli', 'main.ts'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'usb-real-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bootbridge = (boards: string[], args: string[], stateDir?: string) =>
  runOnVirtualBus({ boards, command: process.execPath, args: [cli, ...args, '--no-progress'], ...(stateDir ? { stateDir } : {}) });
const dfuUtil = (boards: string[], args: string[], stateDir?: string) =>
  runOnVirtualBus({ boards, command: 'dfu-util', args, ...(stateDir ? { stateDir } : {}) });

describe('bootbridge on the usb package, on the virtual bus', () => {
  it('lists two ROM bootloaders by serial with their chip', async () => {
    const r = await bootbridge(['stm32f746:CLIA', 'stm32f407:CLIB'], ['list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as { serial: string; mode: string; simulated: boolean; chip: { deviceId: number } }[];
    expect(list.map((d) => [d.serial, d.mode, d.simulated, d.chip.deviceId])).toEqual([
      ['CLIA', 'rom', false, 0x449],
      ['CLIB', 'rom', false, 0x413],
    ]);
  });

  it('writes flash that dfu-util then uploads byte for byte', async () => {
    const state = path.join(tmp, 'write');
    const image = randomBytes(6000);
    const file = path.join(tmp, 'image.bin');
    fs.writeFileSync(file, image);
    const w = await bootbridge(['stm32f746:CLIW'], ['write', file, '0x08000000', '--serial', 'CLIW'], state);
    expect(w.code, w.stdout + w.stderr).toBe(0);
    const back = path.join(tmp, 'up.bin');
    const u = await dfuUtil(['stm32f746:CLIW'], ['-a', '0', '-s', `0x08000000:${image.length}`, '-U', back], state);
    expect(u.code, u.stderr).toBe(0);
    expect(fs.readFileSync(back).equals(image)).toBe(true);
  });

  it('reads what dfu-util downloaded, on the second of two boards', async () => {
    const state = path.join(tmp, 'read');
    const image = randomBytes(3000);
    const file = path.join(tmp, 'image2.bin');
    fs.writeFileSync(file, image);
    const boards = ['stm32f407:CLIR1', 'stm32f407:CLIR2'];
    const d = await dfuUtil(boards, ['-S', 'CLIR2', '-a', '0', '-s', '0x08004000', '-D', file], state);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const out = path.join(tmp, 'read.bin');
    const r = await bootbridge(boards, ['read', '0x08004000', String(image.length), '-o', out, '--serial', 'CLIR2'], state);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(out).equals(image)).toBe(true);
    const other = fs.readFileSync(path.join(state, 'CLIR1', 'flash.bin')).subarray(0x4000, 0x4000 + image.length);
    expect(other.every((b) => b === 0xff)).toBe(true);
  });

  it('flashes with leave: the board re-enumerates and the bytes stay', async () => {
    const state = path.join(tmp, 'flash');
    const image = randomBytes(2048);
    const file = path.join(tmp, 'app.bin');
    fs.writeFileSync(file, image);
    const f = await bootbridge(['stm32g474:CLIF'], ['flash', file, '--base', '0x08001000', '--serial', 'CLIF'], state);
    expect(f.code, f.stdout + f.stderr).toBe(0);
    expect(f.stdout).toMatch(/PASS/);
    // The leave ends the enumeration: the board left the bus after the host's last transfer to it.
    const lastHost = f.transfers.findLastIndex((t) => t.by === 'host' && t.dev === 1);
    expect(f.events.filter((e) => e.dev === 1).map((e) => e.ev)).toEqual(['added', 'removed']);
    expect(f.events.find((e) => e.ev === 'removed')!.after).toBe(lastHost + 1);
    const flash = fs.readFileSync(path.join(state, 'CLIF', 'flash.bin'));
    expect(flash.subarray(0x1000, 0x1000 + image.length).equals(image)).toBe(true);
  });
});
