// A board left in its loader by an earlier run (read or erase --loader, flash without leave) is used
// as it is: no second staging, and what only the ROM serves is refused before anything is written.
// The CLI cannot show this across runs (a new simulated run always starts the board in its ROM), so
// it is pinned here at the services level, within one process.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FlashEvent } from '../../shared/progress.js';
import { formatError, toErrorData } from '../../shared/errors.js';
import { CLI_REMEDIES } from '../../src-main/cli/remedies.js';
import { formatPlan, issueText } from '../../src-main/plan/index.js';
import { inspectDevice, selectDevice } from '../../src-main/operations/devices.js';
import { openLoaderFolder } from '../../src-main/operations/files.js';
import { checkLoaderUsable, eraseDevice, flashDevice, planFlash, readDevice } from '../../src-main/operations/operations.js';
import type { SimBoard, SimMode } from '../../src-main/sim/index.js';
import { binAt, collect, demo, expectBytes, firstBoard, loaderDir, pattern, simConnection, simLoader } from './helpers.js';

const QSPI = 0x9000_0000;
type Conn = ReturnType<typeof simConnection>;

function modes(board: SimBoard): SimMode[] {
  const seen: SimMode[] = [];
  board.onModeChange((m) => seen.push(m));
  return seen;
}

/** An error as the CLI prints it: message, remedy in the CLI's words, context, hint. */
const cliText = (e: unknown) => formatError(toErrorData(e), CLI_REMEDIES);

const stagingEvents = (events: FlashEvent[]) => events.filter((e) => e.kind !== 'log' && 'stage' in e && e.stage === 'staging');

/** The device a front end would pick now: the only DFU device on the bus. */
async function selected(conn: Conn) {
  const device = await selectDevice(conn.backend);
  return { device, details: await inspectDevice(conn.backend, device) };
}

/** Reads a QSPI range with --loader, which stages the loader and leaves the board in it. */
async function readQspiStaging(conn: Conn, board: SimBoard, length = 4096) {
  const { device, details } = await firstBoard(conn);
  const data = await readDevice(conn, device, details, { address: QSPI, length }, await simLoader());
  expect(board.mode).toBe('loader');
  return data;
}

describe('a loader left running by an earlier run', () => {
  it('read QSPI through the loader, then flash the demo ELF on the same loader without a reset: PASS, memories identical, no second staging', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    const qspiBefore = pattern(4096, 5);
    board.poke(QSPI, qspiBefore);
    expectBytes(await readQspiStaging(conn, board), qspiBefore);

    const seen = modes(board);
    const ramBefore = board.read(0x2001_0000, 64);
    board.poke(0x2001_0000, new Uint8Array(64)); // a second staging would write the loader image here again
    const loader = await simLoader();
    const fw = await demo();
    const { device, details } = await selected(conn);
    expect(details.info.mode).toBe('loader');
    expect(() => checkLoaderUsable(conn, details, loader)).not.toThrow();
    const p = planFlash(details, fw, loader, {});
    expect(p.errors).toEqual([]);
    expect(p.chip?.deviceId).toBe(0x449); // from the package's one chip, not from the loader's alt strings
    expect(p.stages.map((s) => s.name)).toEqual(['loader', 'leave']);
    expect(p.loaderRunning).toBe(loader.manifest.name);
    expect(formatPlan(p)).toMatch(/Loader already running: no staging/);

    const { events, onEvent } = collect();
    const r = await flashDevice(conn, device, details, fw, loader, p, { onEvent });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    for (const seg of fw.image.segments) expectBytes(board.read(seg.address, seg.data.length), seg.data);
    expect(r.bytesVerified).toBe(fw.image.segments.reduce((n, s) => n + s.data.length, 0));
    expect(Object.keys(r.stageMs).sort()).toEqual(['leave', 'loader']);
    expect(stagingEvents(events)).toEqual([]);
    expectBytes(board.read(0x2001_0000, 64), new Uint8Array(64)); // RAM not written by any ROM
    expect(ramBefore.some((b) => b !== 0)).toBe(true);
    expect(seen).toEqual(['app']); // loader → application, never through the ROM
    expect(events).toContainEqual(expect.objectContaining({ kind: 'log', level: 'info', message: expect.stringMatching(/already running: no staging/) }));
  });

  it('erase then read again on the running loader, without staging', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    board.poke(QSPI + 0x1_0000, pattern(1024, 7));
    await readQspiStaging(conn, board);
    const seen = modes(board);
    const loader = await simLoader();

    const first = await selected(conn);
    const { events, onEvent } = collect();
    const erased = await eraseDevice(conn, first.device, first.details, { addresses: [QSPI + 0x1_0004] }, loader, { onEvent });
    expect(erased.map((s) => [s.via, s.address, s.size])).toEqual([['loader', QSPI + 0x1_0000, 64 * 1024]]);
    expect(board.read(QSPI + 0x1_0000, 1024).every((b) => b === 0xff)).toBe(true);

    const again = await selected(conn);
    const back = await readDevice(conn, again.device, again.details, { address: QSPI + 0x1_0000, length: 1024 }, loader, { onEvent });
    expectBytes(back, new Uint8Array(1024).fill(0xff));
    expect(stagingEvents(events)).toEqual([]);
    expect(seen).toEqual([]);
    expect(board.mode).toBe('loader');
  });

  it('a flash that needs the ROM stage is refused before anything is written, naming what needs the ROM', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    await readQspiStaging(conn, board);
    const seen = modes(board);
    const loader = await simLoader();
    // QSPI (the loader serves it) and SRAM2 data (only the ROM writes RAM before the application runs).
    const qspi = pattern(8192, 3);
    const fw = await binAt(QSPI, qspi);
    const withRam = { ...fw, image: { ...fw.image, segments: [...fw.image.segments, { address: 0x2004_c000, data: pattern(256, 4), sources: ['section .ramdata'] }] } };
    const { device, details } = await selected(conn);
    const p = planFlash(details, withRam, loader, { leave: false, allowRam: true });
    expect(p.ok).toBe(false);
    expect(p.errors).toEqual([expect.objectContaining({ code: 'NEEDS_ROM', segment: 1, remedy: 'reset-to-rom', message: expect.stringMatching(/only the ROM bootloader serves.*running loader/) })]);
    expect(issueText(p.errors[0]!, CLI_REMEDIES)).toMatch(/only the ROM bootloader serves.*running loader.*reset the board with BOOT0/i);
    expect(formatPlan(p)).toMatch(/error \[NEEDS_ROM\]/);
    const r = await flashDevice(conn, device, details, withRam, loader, p);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('PLAN_INVALID');
    expect(r.bytesWritten).toBe(0);
    expectBytes(board.read(QSPI, qspi.length), new Uint8Array(qspi.length).fill(0xff));
    // Internal flash forced through the ROM (--rom-route) needs it too.
    const romRoute = planFlash(details, await demo(), loader, { routeInternalViaLoader: false });
    expect(romRoute.errors.map((e) => e.code)).toContain('NEEDS_ROM');
    expect(seen).toEqual([]);
  });

  it('erasing or reading what only the ROM serves on a running loader is refused, nothing erased', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    await readQspiStaging(conn, board);
    board.poke(QSPI, new Uint8Array([1, 2, 3, 4]));
    const loader = await simLoader();
    const { device, details } = await selected(conn);
    const refused = await eraseDevice(conn, device, details, { addresses: [QSPI, 0x1fff_0000] }, loader).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'STAGING_FAILED', remedy: 'reset-to-rom', message: expect.stringMatching(/Option Bytes, which only the ROM bootloader serves/) });
    expect(cliText(refused)).toMatch(/Option Bytes, which only the ROM bootloader serves.*reset the board with BOOT0/i);
    await expect(eraseDevice(conn, device, details, { addresses: [], mass: true }, loader)).rejects.toMatchObject({ code: 'STAGING_FAILED', message: expect.stringMatching(/mass erase/) });
    expect(board.read(QSPI, 4)).toEqual(new Uint8Array([1, 2, 3, 4]));
    await expect(readDevice(conn, device, details, { address: 0x1fff_0000, length: 16 }, loader)).rejects.toMatchObject({ code: 'STAGING_FAILED' });
    expect(board.mode).toBe('loader');
  });

  it('a running loader of a different package is refused', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    await readQspiStaging(conn, board);
    const dir = mkdtempSync(join(tmpdir(), 'bb-loader-'));
    cpSync(loaderDir('stm32f746'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'loader.json'), 'utf8')) as { usb: { productId: string }; name: string };
    manifest.usb.productId = '0x0002';
    manifest.name = 'Another loader';
    writeFileSync(join(dir, 'loader.json'), JSON.stringify(manifest));
    const other = await openLoaderFolder(dir);
    const { device, details } = await selected(conn);
    const refused = (() => {
      try {
        checkLoaderUsable(conn, details, other);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(refused).toMatchObject({ code: 'STAGING_FAILED', remedy: 'reset-to-rom', message: expect.stringMatching(/running another loader \(1209:0001 "BootBridge Loader"\), not "Another loader" \(1209:0002/) });
    expect(cliText(refused)).toMatch(/running another loader \(1209:0001 "BootBridge Loader"\), not "Another loader" \(1209:0002.*reset the board with BOOT0/i);
    await expect(readDevice(conn, device, details, { address: QSPI, length: 16 }, other)).rejects.toMatchObject({ code: 'STAGING_FAILED' });
    await expect(eraseDevice(conn, device, details, { addresses: [QSPI] }, other)).rejects.toMatchObject({ code: 'STAGING_FAILED' });
    expect(board.mode).toBe('loader');
  });

  it('a running loader whose descriptors do not serve what its loader.json promises gives LOADER_MISMATCH, nothing written', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    await readQspiStaging(conn, board);
    const dir = mkdtempSync(join(tmpdir(), 'bb-loader-'));
    cpSync(loaderDir('stm32f746'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'loader.json'), 'utf8')) as { memories: string[] };
    manifest.memories[0] = '@QSPI Flash /0x90000000/128*128Kg';
    writeFileSync(join(dir, 'loader.json'), JSON.stringify(manifest));
    const edited = await openLoaderFolder(dir);
    const { device, details } = await selected(conn);
    const fw = await binAt(QSPI, pattern(4096, 2));
    const r = await flashDevice(conn, device, details, fw, edited, planFlash(details, fw, edited, { leave: false }));
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('LOADER_MISMATCH');
    expect(r.error?.message).toMatch(/running does not match .*alt setting 0 serves/);
    expect(r.bytesWritten).toBe(0);
    expect(board.read(QSPI, 16).every((b) => b === 0xff)).toBe(true);
  });
});
