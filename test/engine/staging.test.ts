// Every way staging a loader can fail ends in an error that names the stage, never in a PASS, and the
// next run (after the reset an operator would do) succeeds.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FlashResult } from '../../shared/progress.js';
import type { LoaderPackage } from '../../src-main/loader/index.js';
import { checkLoaderUsable, flashDevice, planFlash } from '../../src-main/operations/operations.js';
import { inspectDevice, selectDevice } from '../../src-main/operations/devices.js';
import { openLoaderFolder } from '../../src-main/operations/files.js';
import type { SimBoard, SimMode } from '../../src-main/sim/index.js';
import { binAt, collect, expectBytes, firstBoard, loaderDir, pattern, simConnection, simLoader } from './helpers.js';

const QSPI = 0x90000000;
const data = pattern(20 * 1024, 21);

type Conn = ReturnType<typeof simConnection>;

/** Flashes `data` to QSPI on board `index` (so the run must stage the loader), staying in DFU. */
async function flashQspi(conn: Conn, loader: LoaderPackage, index = 0): Promise<FlashResult> {
  const { device, details } = await firstBoard(conn, index);
  const fw = await binAt(QSPI, data);
  const p = planFlash(details, fw, loader, { leave: false });
  expect(p.errors).toEqual([]);
  expect(p.stages.map((s) => s.name)).toEqual(['staging', 'loader']);
  const { events, onEvent } = collect();
  const r = await flashDevice(conn, device, details, fw, loader, p, { onEvent });
  expect(events.filter((e) => e.kind === 'result')).toHaveLength(1);
  return r;
}

function modes(board: SimBoard): SimMode[] {
  const seen: SimMode[] = [];
  board.onModeChange((m) => seen.push(m));
  return seen;
}

/** What an operator does after a failed stage: reset with BOOT0 held (or replug), back to the ROM. */
async function resetToRom(conn: Conn, board: SimBoard) {
  board.reset();
  await conn.clock.sleep(1000);
  expect(board.mode).toBe('rom');
}

async function retrySucceeds(conn: Conn, board: SimBoard, index = 0) {
  const r = await flashQspi(conn, await simLoader(), index);
  expect(r.error).toBeUndefined();
  expect(r.ok).toBe(true);
  expectBytes(board.read(QSPI, data.length), data);
}

function expectStagingError(r: FlashResult, code: string) {
  expect(r.ok).toBe(false);
  expect(r.error?.code).toBe(code);
  expect(r.error?.context.stage).toBe('staging');
  expect(r.bytesVerified).toBe(0);
}

describe('staging failures', () => {
  it('a loader corrupted on its way to RAM is caught by the read-back and never started', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    const seen = modes(board);
    board.faults.add({ kind: 'flip-bit', offset: 100, bit: 0 });
    const r = await flashQspi(conn, await simLoader());
    expectStagingError(r, 'STAGING_FAILED');
    expect(r.error?.message).toMatch(/read back from RAM/);
    expect(seen).toEqual([]); // never jumped: still the same ROM enumeration
    expect(board.mode).toBe('rom');
    expectBytes(board.read(QSPI, 16), new Uint8Array(16).fill(0xff));
    await retrySucceeds(conn, board);
  });

  it('an image the board cannot run brings back the ROM bootloader: STAGING_FAILED, not a timeout', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    const good = await simLoader();
    const image = good.image.slice();
    image[0x300] = image[0x300]! ^ 0xff; // valid vector table, wrong code
    const bad: LoaderPackage = { ...good, image };
    const r = await flashQspi(conn, bad);
    expectStagingError(r, 'STAGING_FAILED');
    expect(r.error?.message).toMatch(/came back as the ROM bootloader/);
    expect(board.mode).toBe('rom');
    await retrySucceeds(conn, board);
  });

  it('a loader that never enumerates gives LOADER_TIMEOUT', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    board.faults.add({ kind: 'loader-never-appears' });
    const r = await flashQspi(conn, await simLoader());
    expectStagingError(r, 'LOADER_TIMEOUT');
    expect(r.error?.message).toMatch(/did not appear within 5000 ms/);
    expect(r.error?.message).toContain(board.serial);
    await resetToRom(conn, board);
    await retrySucceeds(conn, board);
  });

  it('another board enumerating instead is named and left alone: LOADER_TIMEOUT', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    board.faults.add({ kind: 'other-board-instead-of-loader', serial: 'IMPOSTOR0001' });
    const r = await flashQspi(conn, await simLoader());
    expectStagingError(r, 'LOADER_TIMEOUT');
    expect(r.error?.message).toContain('serial IMPOSTOR0001');
    expect(r.error?.message).toMatch(/left alone/);
    const other = conn.bus.boards.find((b) => b.serial === 'IMPOSTOR0001')!;
    expect(other.mode).toBe('loader');
    expectBytes(other.read(QSPI, data.length), new Uint8Array(data.length).fill(0xff));
    await resetToRom(conn, board);
    // The impostor is still on the bus as a loader; the retry must find this board's own loader.
    const { device, details } = await firstBoard(conn, 0);
    const fw = await binAt(QSPI, data);
    const loader = await simLoader();
    const retry = await flashDevice(conn, device, details, fw, loader, planFlash(details, fw, loader, { leave: false }));
    expect(retry.error).toBeUndefined();
    expect(retry.ok).toBe(true);
    expectBytes(board.read(QSPI, data.length), data);
    expectBytes(other.read(QSPI, data.length), new Uint8Array(data.length).fill(0xff));
  });

  it('a board with the SAME serial enumerating as the loader is refused by its nonce and never receives data', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    const internal = board.read(0x08000000, 64 * 1024);
    board.faults.add({ kind: 'other-board-instead-of-loader', serial: board.serial });
    const r = await flashQspi(conn, await simLoader());
    expectStagingError(r, 'STAGING_FAILED');
    expect(r.error?.message).toMatch(/not the one this run staged/);
    expect(r.error?.message).toContain(board.serial);
    expect(r.error?.context).toMatchObject({ phase: 'reconnect', reportedNonce: '0000000000000000', expectedNonce: expect.stringMatching(/^[0-9A-F]{16}$/) });
    expect(r.verified).toEqual([]);
    expect(r.left).toBe(false);
    const impostor = conn.bus.boards.find((b) => b !== board && b.serial === board.serial)!;
    expect(impostor.mode).toBe('loader');
    // Nothing reached either board: the impostor's QSPI and flash are blank, the real board's QSPI too.
    expectBytes(impostor.read(QSPI, data.length), new Uint8Array(data.length).fill(0xff));
    expectBytes(impostor.read(0x08000000, 64 * 1024), new Uint8Array(64 * 1024).fill(0xff));
    expectBytes(board.read(QSPI, data.length), new Uint8Array(data.length).fill(0xff));
    expectBytes(board.read(0x08000000, 64 * 1024), internal);
    // Its DFU state machine never left dfuIDLE: no DNLOAD reached it.
    expect(impostor.dfuState).toMatchObject({ state: 2, status: 0 });
  });

  it('a package without a nonce is staged with a warning that it is paired by serial and port only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-loader-'));
    cpSync(loaderDir('stm32f746'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'loader.json'), 'utf8')) as Record<string, unknown>;
    delete manifest.nonce;
    writeFileSync(join(dir, 'loader.json'), JSON.stringify(manifest));
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const fw = await binAt(QSPI, data);
    const loader = await openLoaderFolder(dir);
    const { events, onEvent } = collect();
    const r = await flashDevice(conn, device, details, fw, loader, planFlash(details, fw, loader, { leave: false }), { onEvent });
    expect(r.ok).toBe(true);
    expect(events.filter((e) => e.kind === 'log' && e.level === 'warn').map((e) => (e as { message: string }).message)).toEqual([
      expect.stringMatching(/declares no staging nonce .*: it is paired with this board by serial and USB port only/),
    ]);
    expectBytes(board.read(QSPI, data.length), data);
  });

  it('two boards with the same serial on the bus: the loader is paired by serial AND port, and the other is left alone', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    // A second board reporting the same serial (a clone), in its ROM bootloader on another port.
    const twin = (conn.bus as unknown as { create(m: string, o: object, same: boolean): SimBoard }).create('stm32f746', { serial: board.serial, loaders: board.loaders }, true);
    twin.start();
    await conn.clock.sleep(10);
    expect(conn.bus.boards.filter((b) => b.serial === board.serial)).toHaveLength(2);
    const r = await flashQspi(conn, await simLoader());
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expectBytes(board.read(QSPI, data.length), data);
    expectBytes(twin.read(QSPI, data.length), new Uint8Array(data.length).fill(0xff));
    expect(twin.mode).toBe('rom');
  });

  it('the nonce the loader reports is the one written into the staged image, fresh for every staging', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    const seen: string[] = [];
    const loader = await simLoader();
    const at = loader.loadAddress + loader.nonceAt! + 8;
    board.onModeChange((m) => {
      if (m === 'loader') seen.push(Array.from(board.read(at, 8), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(''));
    });
    const r1 = await flashQspi(conn, loader);
    expect(r1.ok).toBe(true);
    await resetToRom(conn, board);
    const r2 = await flashQspi(conn, loader, 0);
    expect(r2.ok).toBe(true);
    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(seen[1]);
    expect(seen[0]).not.toBe('0000000000000000');
    // The package's own bytes keep the zero nonce (its sha256 still holds).
    expect([...loader.image.subarray(loader.nonceAt! + 8, loader.nonceAt! + 16)]).toEqual(new Array(8).fill(0));
  });

  it('another board enumerating as its ROM bootloader instead is named too, and left alone', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    board.faults.add({ kind: 'other-board-instead-of-loader', serial: 'IMPOSTOR0002', as: 'rom' });
    const r = await flashQspi(conn, await simLoader());
    expectStagingError(r, 'LOADER_TIMEOUT');
    expect(r.error?.message).toContain('0483:df11 serial IMPOSTOR0002');
    const other = conn.bus.boards.find((b) => b.serial === 'IMPOSTOR0002')!;
    expect(other.mode).toBe('rom');
    expectBytes(other.read(0x20010000, 64), new Uint8Array(64));
    await resetToRom(conn, board);
    await retrySucceeds(conn, board);
  });

  describe('a loader whose descriptors do not match loader.json gives LOADER_MISMATCH', () => {
    const edits: [string, (m: Record<string, unknown>) => void, RegExp][] = [
      ['memory string', (m) => ((m.memories as string[])[0] = '@QSPI Flash /0x90000000/128*128Kg'), /alt setting 0 serves/],
      ['transfer size', (m) => (m.transferSize = 2048), /wTransferSize is 4096, loader.json says 2048/],
      ['product string', (m) => ((m.usb as { product: string }).product = 'Other Loader'), /iProduct is "BootBridge Loader", loader.json says "Other Loader"/],
    ];
    for (const [what, edit, why] of edits) {
      it(`different ${what}`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'bb-loader-'));
        cpSync(loaderDir('stm32f746'), dir, { recursive: true });
        const manifest = JSON.parse(readFileSync(join(dir, 'loader.json'), 'utf8')) as Record<string, unknown>;
        edit(manifest);
        writeFileSync(join(dir, 'loader.json'), JSON.stringify(manifest));
        const conn = simConnection();
        const { board } = await firstBoard(conn);
        const r = await flashQspi(conn, await openLoaderFolder(dir));
        expectStagingError(r, 'LOADER_MISMATCH');
        expect(r.error?.message).toMatch(why);
        expect(r.error?.message).toContain('loader.json');
        expectBytes(board.read(QSPI, 16), new Uint8Array(16).fill(0xff));
        expect(board.mode).toBe('loader');
        await resetToRom(conn, board);
        await retrySucceeds(conn, board);
      });
    }
  });

  it('a board unplugged while the loader is written to RAM fails the run; after replugging a retry succeeds', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    board.faults.add({ kind: 'unplug-at-byte', byte: 2500 });
    const r = await flashQspi(conn, await simLoader());
    expect(r.ok).toBe(false);
    expect(r.error?.context.stage).toBe('staging');
    expect(r.error?.code).toMatch(/DEVICE_DISCONNECTED|USB_TRANSFER_FAILED/);
    expect(board.mode).toBe('unplugged');
    board.plug();
    await conn.clock.sleep(1000);
    expect(board.mode).toBe('rom');
    await retrySucceeds(conn, board);
  });
});

describe('after the jump', () => {
  it('cancelling in the loader stage leaves the board in its loader; the next run continues on it, and after a reset succeeds too', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const big = pattern(256 * 1024, 8);
    const fw = await binAt(QSPI, big);
    const loader = await simLoader();
    const ac = new AbortController();
    const { events, onEvent } = collect();
    const r = await flashDevice(conn, device, details, fw, loader, planFlash(details, fw, loader, {}), {
      signal: ac.signal,
      onEvent: (e) => {
        onEvent(e);
        if (e.kind === 'progress' && e.stage === 'loader' && e.phase === 'write' && e.bytesDone >= 64 * 1024) ac.abort();
      },
    });
    expect(r.cancelled).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.left).toBe(false);
    expect(board.mode).toBe('loader');
    expect(events).toContainEqual(expect.objectContaining({ kind: 'log', level: 'warn', message: expect.stringMatching(/still running the loader: a run with the same loader package continues on it/) }));

    // A front end picks the only DFU device on the bus: the loader, not a ROM.
    const left = await selectDevice(conn.backend);
    const leftDetails = await inspectDevice(conn.backend, left);
    expect(leftDetails.info.mode).toBe('loader');
    // The same package continues on the loader left running (test/engine/resume.test.ts), without staging.
    expect(() => checkLoaderUsable(conn, leftDetails, loader)).not.toThrow();
    const resumed = await flashDevice(conn, left, leftDetails, fw, loader, planFlash(leftDetails, fw, loader, { leave: false }));
    expect(resumed.error).toBeUndefined();
    expect(resumed.stageMs.staging).toBeUndefined();
    expectBytes(board.read(QSPI, big.length), big);

    await resetToRom(conn, board);
    const again = await firstBoard(conn);
    expect(() => checkLoaderUsable(conn, again.details, loader)).not.toThrow();
    const retry = await flashDevice(conn, again.device, again.details, fw, loader, planFlash(again.details, fw, loader, { leave: false }));
    expect(retry.error).toBeUndefined();
    expect(retry.ok).toBe(true);
    expectBytes(board.read(QSPI, big.length), big);
  });
});

describe('two boards on one bus', () => {
  it('staging the second board never touches or picks the first', async () => {
    const conn = simConnection('stm32f746', 2);
    const [a, b] = conn.bus.boards as [SimBoard, SimBoard];
    expect(a.serial).not.toBe(b.serial);
    const seenA = modes(a);
    const r = await flashQspi(conn, await simLoader(), 1);
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expectBytes(b.read(QSPI, data.length), data);
    expectBytes(a.read(QSPI, data.length), new Uint8Array(data.length).fill(0xff));
    expect(seenA).toEqual([]);
    expect(a.mode).toBe('rom');
    // And the other way round, with board b now sitting in its loader on the same bus.
    const r2 = await flashQspi(conn, await simLoader(), 0);
    expect(r2.ok).toBe(true);
    expectBytes(a.read(QSPI, data.length), data);
  });
});
