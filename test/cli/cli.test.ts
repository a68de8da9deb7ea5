// The built `bootbridge` command on simulated boards: output, files, exit codes and error messages as a
// script sees them. Board memories persist in a --sim-state folder between runs, as on a real bench.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openFirmwareFile } from '../../src-main/operations/files.js';
import { expectBytes } from '../engine/helpers.js';
import { BIN, DEMO, LOADER, ROOT, buildCli, runCli, simArgs } from './harness.js';

beforeAll(buildCli, 60_000);

// The real captures sit beside the repository (DESIGN.md "Testing").
const CAPTURE = join(ROOT, '..', 'shared', 'reference', 'device-logs', 'stm32f746-cubeprogrammer-vb3.log');

const tmp = (prefix = 'bb-cli-') => mkdtempSync(join(tmpdir(), prefix));

const run = (args: string[]) => runCli(args, { maxBuffer: 64 * 1024 * 1024 });
const sim = simArgs;

const bytesOf = (path: string) => new Uint8Array(readFileSync(path));


describe('list and dump', () => {
  it('list shows each simulated board with its serial, chip and memories; --json parses', async () => {
    const state = tmp();
    const text = await run(['list', ...sim(state, '--sim-boards', '2')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/0483:df11 {2}serial 00000008FFFF {2}ROM bootloader 2200 {2}STM32F74x\/75x \(0x449\)/);
    expect(text.stdout).toContain('serial 00000009FFFF');
    expect(text.stdout).toMatch(/memories: Internal Flash, Option Bytes, OTP Memory, Device Feature/);
    const json = await run(['list', '--json', ...sim(state, '--sim-boards', '2')]);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as { serial: string; mode: string; chip: { deviceId: number }; simulated: boolean }[];
    expect(rows.map((r) => r.serial)).toEqual(['00000008FFFF', '00000009FFFF']);
    expect(rows.every((r) => r.mode === 'rom' && r.chip.deviceId === 0x449 && r.simulated)).toBe(true);
  });

  it('dump of the F746 matches the CubeProgrammer capture line for line (device, configuration, interfaces, functional, strings)', async () => {
    const r = await run(['dump', ...sim(tmp())]);
    expect(r.code).toBe(0);
    const capture = readFileSync(CAPTURE, 'utf8').split(/\r?\n/);
    const end = capture.findIndex((l) => l.startsWith('FW version'));
    expect(end).toBeGreaterThan(60);
    const want = capture.slice(0, end + 1).map((l) => l.trimEnd());
    // The capture's tool collapsed the ROM's double space in "STM32  BOOTLOADER".
    const got = r.stdout.split('\n').slice(0, want.length).map((l) => (l.startsWith('Product ID') ? l.replace(/ {2,}/g, ' ') : l.trimEnd()));
    expect(got).toEqual(want);
    expect(r.stdout).toContain('Product ID : STM32  BOOTLOADER');
    expect(r.stdout).toContain('Memory of Alternate Setting 0x00 : @Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg');
  });
});

describe('plan', () => {
  it('offline with --chip: without a loader, exit 2 and the error names the 0x90000000 segment and --loader', async () => {
    const r = await run(['plan', DEMO, '--chip', 'stm32f746']);
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/0x90000000/i);
    expect(out).toContain('--loader');
  });

  it('offline with --chip and the loader: exit 0, stages through the loader, --json parses', async () => {
    const r = await run(['plan', DEMO, '--chip', 'stm32f746', '--loader', LOADER, '--json']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { ok: boolean; stages: { name: string }[] };
    expect(p.ok).toBe(true);
    expect(p.stages.map((s) => s.name)).toEqual(['staging', 'loader', 'leave']);
  });
});

describe('flash, read, write, erase, convert', () => {
  it('flash the demo with the loader, then read QSPI back in a separate run: equals the ELF segment', async () => {
    const state = tmp();
    const fw = await openFirmwareFile(DEMO);
    const qspi = fw.image.segments.find((s) => s.address === 0x90000000)!;
    const f = await run(['flash', DEMO, '--loader', LOADER, ...sim(state)]);
    expect(f.stderr).not.toMatch(/^error/m);
    expect(f.code).toBe(0);
    expect(f.stdout).toMatch(/^PASS {2}\d+ bytes written \(\d+ of the image, \d+ of the loader staged in RAM\)/);
    expect(f.stdout).toMatch(/QSPI Flash 0x90000000\+\d+ \(crc32\)/);
    expect(f.stdout).toContain('left DFU to start the application');
    expect(f.stderr).toContain('Left DFU: the application starts at 0x08000000');
    expect(f.stderr).not.toMatch(/^(warn|error)/m);
    const out = join(state, 'qspi.bin');
    const r = await run(['read', '0x90000000', String(qspi.data.length), '--loader', LOADER, '-o', out, ...sim(state)]);
    expect(r.stderr).toContain(`${qspi.data.length} bytes from 0x90000000 written to ${out}`);
    expect(r.code).toBe(0);
    expectBytes(bytesOf(out), qspi.data);
    // The internal flash part, read through the ROM in a third run.
    const inner = fw.image.segments.filter((s) => s.address < 0x90000000);
    for (const seg of inner) {
      const j = await run(['read', `0x${seg.address.toString(16)}`, String(seg.data.length), '--json', ...sim(state)]);
      expect(j.code).toBe(0);
      const got = JSON.parse(j.stdout) as { ok: boolean; hex: string };
      expect(got.ok).toBe(true);
      expect(got.hex).toBe(Buffer.from(seg.data).toString('hex'));
    }
  });

  it('write then read round trip, erase then read shows 0xFF', async () => {
    const state = tmp();
    const data = new Uint8Array(5000).map((_, i) => (i * 31 + 7) & 0xfe);
    const file = join(state, 'data.bin');
    writeFileSync(file, data);
    const w = await run(['write', file, '0x08020000', '--json', ...sim(state)]);
    expect(w.code).toBe(0);
    const wj = JSON.parse(w.stdout) as { ok: boolean; result: { bytesWritten: number; left: boolean } };
    expect(wj.ok).toBe(true);
    expect(wj.result.bytesWritten).toBe(5000);
    expect(wj.result.left).toBe(false);
    const out = join(state, 'back.bin');
    expect((await run(['read', '0x08020000', '5000', '-o', out, ...sim(state)])).code).toBe(0);
    expectBytes(bytesOf(out), data);

    // Leaving to bytes that are no vector table is allowed, but never announced as a started application.
    const junk = await run(['write', file, '0x08000000', '--leave', ...sim(state)]);
    expect(junk.code).toBe(0);
    expect(junk.stderr).toMatch(/^warn: The image has no valid vector table at 0x08000000 .*: the application will not start$/m);
    expect(junk.stderr).not.toContain('the application starts');

    const e = await run(['erase', '0x08020000', '--json', ...sim(state)]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ ok: true, erased: [{ via: 'rom', address: 0x08020000, size: 128 * 1024 }] });
    expect((await run(['read', '0x08020000', '5000', '-o', out, ...sim(state)])).code).toBe(0);
    expectBytes(bytesOf(out), new Uint8Array(5000).fill(0xff));
  });

  it('convert to .dfu, then flashing the .dfu leaves the same memories as flashing the ELF', async () => {
    const dir = tmp();
    const dfu = join(dir, 'demo.dfu');
    const c = await run(['convert', DEMO, '-o', dfu, '--json']);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ ok: true, output: dfu });
    const viaElf = tmp();
    const viaDfu = tmp();
    const [a, b] = await Promise.all([run(['flash', DEMO, '--loader', LOADER, ...sim(viaElf)]), run(['flash', dfu, '--loader', LOADER, ...sim(viaDfu)])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    // The persisted non-volatile memories (internal flash, QSPI, option bytes, OTP) are byte-identical.
    const board = JSON.parse(readFileSync(join(viaElf, '00000008FFFF', 'board.json'), 'utf8')) as { memories: string[] };
    expect(board.memories).toEqual(expect.arrayContaining(['flash', 'qspi']));
    for (const m of board.memories) {
      expectBytes(bytesOf(join(viaDfu, '00000008FFFF', `${m}.bin`)), bytesOf(join(viaElf, '00000008FFFF', `${m}.bin`)), m);
    }
    const flash = bytesOf(join(viaDfu, '00000008FFFF', 'flash.bin'));
    expect(flash.subarray(0, 8).some((x) => x !== 0xff)).toBe(true);
  });
});

describe('Ctrl-C', () => {
  it('cancels a flash with exit 130 and says so; the next run succeeds', async () => {
    const state = tmp();
    // Slow enough (speed 2: about 3 s of wall time) to be interrupted once it has started.
    const child = spawn(process.execPath, [BIN, 'flash', DEMO, '--loader', LOADER, '--sim', 'stm32f746', '--sim-state', state, '--sim-speed', '2', '--no-progress'], { cwd: ROOT });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const started = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('→')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await started;
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stdout).not.toMatch(/PASS/);
    expect(stderr).toMatch(/Cancelling/);
    expect(stderr).toMatch(/^error: Cancelled: .*\(stage (staging|loader)/m);
    const again = await run(['flash', DEMO, '--loader', LOADER, ...sim(state)]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^PASS/);
  });
});

describe('stldr', () => {
  it('shows an external loader\'s geometry and layout string; a file that is not one exits 2', async () => {
    const fixture = join(ROOT, 'test', 'loader', 'fixtures', 'n25q128a.stldr');
    const r = await run(['stldr', fixture]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Device {6}: N25Q128A_STM32F746G-DISCO/);
    expect(r.stdout).toContain('DfuSe layout: @N25Q128A_STM32F746G-DISCO /0x90000000/256*064Kg');
    expect(r.stdout).toMatch(/debug probe/);
    const j = await run(['stldr', fixture, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ startAddress: 0x90000000, size: 16 * 1024 * 1024, pageSize: 256, sectors: [{ count: 256, size: 65536 }] });
    const bad = await run(['stldr', DEMO]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/\.Dev_info/);
  });
});

describe('exit codes and error messages', () => {
  it('3 when several boards are attached and no --serial is given; --serial picks one', async () => {
    const state = tmp();
    const r = await run(['read', '0x08000000', '16', ...sim(state, '--sim-boards', '2')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/2 DFU devices attached \(00000008FFFF, 00000009FFFF\): choose one with --serial/);
    const ok = await run(['read', '0x08000000', '16', '--serial', '00000009FFFF', ...sim(state, '--sim-boards', '2')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^08000000 {2}ff ff ff ff/);
    const none = await run(['read', '0x08000000', '16', '--serial', 'NOPE', '--json', ...sim(state)]);
    expect(none.code).toBe(3);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, error: { code: 'DEVICE_NOT_FOUND' } });
  });

  it('3 on real USB with no board to talk to (no DFU device, or no USB at all), saying what to do', async () => {
    // No --sim: the `usb` package. On a machine without USB (CI) or without a board in DFU mode the
    // answer is the same exit code and a message that names the simulated-board way out.
    const r = await run(['read', '0x08000000', '16', '--json']);
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
    expect(out.ok).toBe(false);
    expect(['DEVICE_NOT_FOUND', 'USB_UNAVAILABLE']).toContain(out.error.code);
    const human = await run(['read', '0x08000000', '16']);
    expect(human.stderr).toMatch(/--sim stm32f746/);
    expect(human.stderr).not.toMatch(/Internal error|bug in BootBridge/);
  });

  it('2 for bad input, naming the file or the argument', async () => {
    const state = tmp();
    const missing = await run(['flash', join(state, 'nope.elf'), ...sim(state)]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(join(state, 'nope.elf'));
    expect(missing.stderr).toMatch(/no such file/);
    const badAddr = await run(['read', 'zz', '16', ...sim(state)]);
    expect(badAddr.code).toBe(2);
    expect(badAddr.stderr).toMatch(/^error: Invalid argument: "zz" is not a valid address/m);
    const missingArg = await run(['read', '0x08000000', ...sim(state)]);
    expect(missingArg.code).toBe(2);
    expect(missingArg.stderr).toMatch(/missing required argument 'length'/);
    const badOption = await run(['read', '0', '16', ...sim(state), '--sim-speed', '0']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/--sim-speed/);
    const stldr = join(state, 'ext.stldr');
    writeFileSync(stldr, bytesOf(join(ROOT, 'test', 'loader', 'fixtures', 'n25q128a.stldr')));
    const asLoader = await run(['read', '0x90000000', '16', '--loader', stldr, '--json', ...sim(state)]);
    expect(asLoader.code).toBe(2);
    expect(JSON.parse(asLoader.stdout)).toMatchObject({ ok: false, error: { code: 'LOADER_UNSUPPORTED', message: expect.stringMatching(/debug probe/) } });
    const noLoader = await run(['read', '0x90000000', '16', ...sim(state)]);
    expect(noLoader.code).toBe(2);
    expect(noLoader.stderr).toMatch(/0x90000000/);
    expect(noLoader.stderr).toContain('--loader');
  });

  it('1 when the device operation fails: a loader that does not match its manifest, named with what differs', async () => {
    const state = tmp();
    const pkg = join(state, 'loader');
    cpSync(LOADER, pkg, { recursive: true });
    const m = JSON.parse(readFileSync(join(pkg, 'loader.json'), 'utf8')) as { transferSize: number };
    m.transferSize = 2048;
    writeFileSync(join(pkg, 'loader.json'), JSON.stringify(m));
    const r = await run(['read', '0x90000000', '16', '--loader', pkg, ...sim(state)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: Loader does not match its manifest: /m);
    expect(r.stderr).toContain('wTransferSize is 4096, loader.json says 2048');
    expect(r.stderr).toMatch(/staging/);
    const j = await run(['read', '0x90000000', '16', '--loader', pkg, '--json', ...sim(tmp())]);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'LOADER_MISMATCH', context: { stage: 'staging' } } });
    // flash: no PASS line, the error on stderr, the result as JSON with --json.
    const f = await run(['flash', DEMO, '--loader', pkg, ...sim(tmp())]);
    expect(f.code).toBe(1);
    expect(f.stdout).not.toMatch(/PASS/);
    expect(f.stderr).toMatch(/^error: Loader does not match its manifest: .*wTransferSize is 4096, loader.json says 2048.*stage staging/m);
    const fj = await run(['flash', DEMO, '--loader', pkg, '--json', ...sim(tmp())]);
    expect(fj.code).toBe(1);
    const out = JSON.parse(fj.stdout) as { ok: boolean; result: { ok: boolean; left: boolean; bytesVerified: number; error: { code: string } } };
    expect(out.ok).toBe(false);
    expect(out.result).toMatchObject({ ok: false, left: false, bytesVerified: 0, error: { code: 'LOADER_MISMATCH' } });
  });
});
