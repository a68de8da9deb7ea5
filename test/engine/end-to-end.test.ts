// The engine against simulated boards, end to end in virtual time: what the board holds afterwards
// is the assertion, not which calls were made.
import { describe, expect, it } from 'vitest';
import type { FlashEvent, FlashResult, ProgressEvent } from '../../shared/progress.js';
import { flashDevice, planFlash, readDevice } from '../../src-main/operations/operations.js';
import { SIM_MODELS, simChip } from '../../src-main/sim/index.js';
import type { PlanOptions } from '../../src-main/plan/index.js';
import { binAt, collect, demo, expectBytes, firstBoard, pattern, simConnection, simLoader } from './helpers.js';

const results = (events: FlashEvent[]) => events.filter((e): e is Extract<FlashEvent, { kind: 'result' }> => e.kind === 'result');

describe('internal flash through the ROM bootloader, every simulated model', () => {
  for (const model of SIM_MODELS) {
    it(`${model}: writes, reads back identical, erases only the sectors the image touches`, async () => {
      const conn = simConnection(model);
      const { board, device, details } = await firstBoard(conn);
      const chip = simChip(model);
      const base = chip.flash.start;
      const last = base + chip.flash.size - 16;
      // Old contents: one byte in the last sector (untouched) and one just past the image in its own sector.
      board.poke(last, new Uint8Array([0x5a]));
      board.poke(base + 3010, new Uint8Array([0x11]));
      const data = pattern(3000, model.length);
      const fw = await binAt(base, data);
      const p = planFlash(details, fw, undefined, { leave: false });
      expect(p.errors).toEqual([]);
      const { events, onEvent } = collect();
      const r = await flashDevice(conn, device, details, fw, undefined, p, { onEvent });
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      expectBytes(board.read(base, data.length), data);
      expect(board.read(last, 1)[0]).toBe(0x5a);
      expect(board.read(base + 3010, 1)[0]).toBe(0xff);
      expect(r.verified).toEqual([expect.objectContaining({ address: base, length: 3000, method: 'read-back' })]);
      expect(board.mode).toBe('rom');
      expect(results(events)).toHaveLength(1);
    });
  }
});

describe('plan options reach the board', () => {
  async function flashF746(options: PlanOptions, data = pattern(40 * 1024, 3)) {
    const conn = simConnection('stm32f746');
    const { board, device, details } = await firstBoard(conn);
    board.poke(0x080c0000 + 100, new Uint8Array([0x42])); // sector 7, never touched by the image
    const fw = await binAt(0x08000000, data);
    const p = planFlash(details, fw, undefined, options);
    expect(p.errors).toEqual([]);
    const { events, onEvent } = collect();
    const r = await flashDevice(conn, device, details, fw, undefined, p, { onEvent });
    return { r, board, data, events, p };
  }

  it('skip-blank sends only the non-blank blocks, and the memory still equals the image', async () => {
    const data = pattern(40 * 1024, 9);
    data.fill(0xff, 8 * 1024, 24 * 1024); // 16 KB of erased-looking bytes: eight whole 2 KB blocks
    const skip = await flashF746({ leave: false, skipBlank: true }, data);
    const full = await flashF746({ leave: false, skipBlank: false }, data);
    expect(skip.r.ok && full.r.ok).toBe(true);
    expectBytes(skip.board.read(0x08000000, data.length), data);
    expectBytes(full.board.read(0x08000000, data.length), data);
    expect(full.r.bytesWritten).toBe(data.length);
    expect(skip.r.bytesWritten).toBe(data.length - 16 * 1024);
  });

  it('mass erase clears the whole flash, including sectors the image does not touch', async () => {
    const { r, board, data } = await flashF746({ leave: false, massErase: true });
    expect(r.ok).toBe(true);
    expectBytes(board.read(0x08000000, data.length), data);
    expect(board.read(0x080c0000 + 100, 1)[0]).toBe(0xff);
  });

  it('sector erase keeps sectors the image does not touch', async () => {
    const { r, board } = await flashF746({ leave: false });
    expect(r.ok).toBe(true);
    expect(board.read(0x080c0000 + 100, 1)[0]).toBe(0x42);
  });

  it('no-verify writes without verifying and says so in the result', async () => {
    const { r, board, data, p } = await flashF746({ leave: false, verify: false });
    expect(p.stages.flatMap((s) => s.verifies)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.verified).toEqual([]);
    expect(r.bytesVerified).toBe(0);
    expectBytes(board.read(0x08000000, data.length), data);
  });

  it('leave starts the application; no leave keeps the board in the ROM bootloader', async () => {
    const stay = await flashF746({ leave: false });
    expect(stay.r.left).toBe(false);
    expect(stay.board.mode).toBe('rom');
    // The application needs a vector table the core can start: SP in SRAM1, reset handler in flash (Thumb).
    const app = pattern(40 * 1024, 3);
    new DataView(app.buffer).setUint32(0, 0x20050000, true);
    new DataView(app.buffer).setUint32(4, 0x08000201, true);
    const go = await flashF746({}, app);
    expect(go.r.ok).toBe(true);
    expect(go.r.left).toBe(true);
    expect(go.board.mode).toBe('app');
    const logs = (events: FlashEvent[]) => events.flatMap((e) => (e.kind === 'log' ? [`${e.level}: ${e.message}`] : []));
    expect(logs(go.events)).toContain('info: Left DFU: the application starts at 0x08000000');
    expect(logs(go.events).filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('leaving to an image without a valid vector table warns that the application will not start', async () => {
    const junk = await flashF746({}); // pattern bytes: SP and reset handler are noise
    expect(junk.r.ok).toBe(true);
    expect(junk.board.mode).toBe('rom'); // the core faulted and the board came back in the ROM (BOOT0 held)
    const logs = junk.events.flatMap((e) => (e.kind === 'log' ? [`${e.level}: ${e.message}`] : []));
    expect(logs).toContainEqual(expect.stringMatching(/^warn: The image has no valid vector table at 0x08000000 \(initial SP 0x[0-9a-f]{8}, reset handler 0x[0-9a-f]{8}\): the application will not start$/));
    expect(logs.some((l) => l.includes('the application starts'))).toBe(false);
  });
});

describe('the demo ELF with the simulated F746 loader', () => {
  for (const viaLoader of [false, true]) {
    it(`internal flash via the ${viaLoader ? 'loader' : 'ROM'}: both memories equal the file`, async () => {
      const conn = simConnection();
      const { board, device, details } = await firstBoard(conn);
      const fw = await demo();
      const loader = await simLoader();
      const p = planFlash(details, fw, loader, { routeInternalViaLoader: viaLoader });
      expect(p.errors).toEqual([]);
      expect(p.stages.map((s) => s.name)).toEqual(viaLoader ? ['staging', 'loader', 'leave'] : ['rom', 'staging', 'loader', 'leave']);
      const { events, onEvent } = collect();
      const r = await flashDevice(conn, device, details, fw, loader, p, { onEvent });
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      const internal = fw.image.segments.filter((s) => s.address < 0x90000000);
      const qspi = fw.image.segments.filter((s) => s.address >= 0x90000000);
      expect(internal.length).toBeGreaterThan(0);
      expect(qspi.length).toBeGreaterThan(0);
      for (const seg of fw.image.segments) expectBytes(board.read(seg.address, seg.data.length), seg.data);
      // Internal flash verified by whoever wrote it: read-back through the ROM, CRC32 through the loader.
      const internalMethods = r.verified.filter((v) => v.address < 0x90000000).map((v) => v.method);
      expect(new Set(internalMethods)).toEqual(new Set([viaLoader ? 'crc32' : 'read-back']));
      expect(r.verified.filter((v) => v.address >= 0x90000000).every((v) => v.method === 'crc32')).toBe(true);
      expect(board.mode).toBe('app');
      expect(events.filter((e) => e.kind === 'log' && e.level !== 'info')).toEqual([]);
      expect(results(events)).toHaveLength(1);
    });
  }

  it('reads the QSPI back through the loader in a later session', async () => {
    const conn = simConnection();
    const first = await firstBoard(conn);
    const fw = await demo();
    const loader = await simLoader();
    const r = await flashDevice(conn, first.device, first.details, fw, loader, planFlash(first.details, fw, loader, { leave: false }));
    expect(r.ok).toBe(true);
    first.board.reset(); // BOOT0 still held: back in the ROM bootloader
    await conn.clock.sleep(1000);
    const again = await firstBoard(conn);
    expect(again.board.mode).toBe('rom');
    const seg = fw.image.segments.find((s) => s.address >= 0x90000000)!;
    const got = await readDevice(conn, again.device, again.details, { address: seg.address, length: seg.data.length }, loader);
    expectBytes(got, seg.data);
  });

  it('reading QSPI with a loader corrupted on its way to RAM fails staging and never jumps', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const seen: string[] = [];
    board.onModeChange((m) => seen.push(m));
    board.faults.add({ kind: 'flip-bit', offset: 9 });
    await expect(readDevice(conn, device, details, { address: 0x90000000, length: 64 }, await simLoader())).rejects.toMatchObject({
      code: 'STAGING_FAILED',
      context: { stage: 'staging' },
      message: expect.stringMatching(/read back from RAM differs.*not started/),
    });
    expect(seen).toEqual([]);
    expect(board.mode).toBe('rom');
  });

  it('reading past the end of the internal flash says so, instead of asking for a loader', async () => {
    const conn = simConnection();
    const { device, details } = await firstBoard(conn);
    await expect(readDevice(conn, device, details, { address: 0x080ffff0, length: 32 }, undefined)).rejects.toMatchObject({
      code: 'ADDRESS_UNREACHABLE',
      message: '0x80ffff0–0x8100010 runs past the end of Internal Flash at 0x8100000: read at most 16 bytes from there',
    });
    const last = await readDevice(conn, device, details, { address: 0x080ffff0, length: 16 }, undefined);
    expectBytes(last, new Uint8Array(16).fill(0xff));
  });

  it('reading QSPI without a loader says a loader is the remedy', async () => {
    const conn = simConnection();
    const { device, details } = await firstBoard(conn);
    await expect(readDevice(conn, device, details, { address: 0x90000000, length: 16 }, undefined)).rejects.toMatchObject({
      code: 'ADDRESS_UNREACHABLE',
      remedy: 'choose-loader',
    });
  });

  it('CRC32 verification catches a bit flipped in QSPI: VERIFY_MISMATCH, never PASS', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const fw = await demo();
    const loader = await simLoader();
    const p = planFlash(details, fw, loader, { routeInternalViaLoader: false });
    const events: FlashEvent[] = [];
    let armed = false;
    const r = await flashDevice(conn, device, details, fw, loader, p, {
      onEvent: (e) => {
        events.push(e);
        // Once the loader stage starts, the next block written to QSPI stores one wrong bit.
        if (!armed && e.kind === 'stage' && e.stage === 'loader' && e.status === 'start') {
          armed = true;
          board.faults.add({ kind: 'flip-bit', offset: 5, bit: 3 });
        }
      },
    });
    expect(armed).toBe(true);
    expect(board.faults.history.map((h) => h.kind)).toContain('flip-bit');
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('VERIFY_MISMATCH');
    expect(r.error?.context.method).toBe('crc32');
    expect(r.error?.message).toMatch(/QSPI/);
    expect(r.left).toBe(false);
    expect(results(events)).toEqual([{ kind: 'result', result: r }]);
  });
});

describe('progress events', () => {
  it('1 MB through the loader: bytes never go backwards within a phase, each phase ends at its total, few events', async () => {
    const conn = simConnection();
    const { device, details, board } = await firstBoard(conn);
    const data = pattern(1024 * 1024, 77);
    const fw = await binAt(0x90000000, data);
    const loader = await simLoader();
    // --full: a blank board would otherwise skip the erase phase this test follows.
    const p = planFlash(details, fw, loader, { leave: false, skipUnchanged: false });
    expect(p.errors).toEqual([]);
    const { events, onEvent } = collect();
    const r = await flashDevice(conn, device, details, fw, loader, p, { onEvent });
    expect(r.ok).toBe(true);
    expectBytes(board.read(0x90000000, data.length), data);
    const progress = events.filter((e): e is ProgressEvent => e.kind === 'progress');
    const byPhase = new Map<string, ProgressEvent[]>();
    for (const e of progress) {
      const key = `${e.stage}/${e.phase}/${e.region ?? ''}`;
      byPhase.set(key, [...(byPhase.get(key) ?? []), e]);
    }
    expect([...byPhase.keys()]).toEqual(expect.arrayContaining(['loader/erase/QSPI Flash', 'loader/write/QSPI Flash', 'loader/verify/QSPI Flash']));
    expect([...byPhase.keys()].some((k) => k.startsWith('staging/stage/'))).toBe(true);
    for (const [key, list] of byPhase) {
      for (let i = 1; i < list.length; i++) expect(list[i]!.bytesDone, key).toBeGreaterThanOrEqual(list[i - 1]!.bytesDone);
      const last = list[list.length - 1]!;
      expect(last.bytesDone, key).toBe(last.bytesTotal);
      expect(list.every((e) => e.bytesTotal === last.bytesTotal), key).toBe(true);
    }
    expect(byPhase.get('loader/write/QSPI Flash')!.at(-1)!.bytesTotal).toBe(data.length);
    // 128 blocks of 8 KB are written; throttling keeps the stream far below one event per block.
    expect(byPhase.get('loader/write/QSPI Flash')!.length).toBeLessThan(40);
    expect(progress.length).toBeLessThan(150);
  });
});

describe('cancel', () => {
  it('cancelling mid-write gives a cancelled result; a plain retry then succeeds', async () => {
    const conn = simConnection('stm32f746');
    const { board, device, details } = await firstBoard(conn);
    const data = pattern(64 * 1024, 5);
    const fw = await binAt(0x08000000, data);
    const p = planFlash(details, fw, undefined, { leave: false });
    const ac = new AbortController();
    const events: FlashEvent[] = [];
    const r = await flashDevice(conn, device, details, fw, undefined, p, {
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.kind === 'progress' && e.phase === 'write' && e.bytesDone >= 16 * 1024) ac.abort();
      },
    });
    expect(r.ok).toBe(false);
    expect(r.cancelled).toBe(true);
    expect(r.error?.code).toBe('CANCELLED');
    expect(r.bytesWritten).toBeLessThan(data.length);
    expect(Buffer.compare(board.read(0x08000000, data.length), data)).not.toBe(0);
    expect(results(events)).toHaveLength(1);

    await conn.clock.sleep(500);
    const again = await firstBoard(conn);
    const retry: FlashResult = await flashDevice(conn, again.device, again.details, fw, undefined, planFlash(again.details, fw, undefined, { leave: false }));
    expect(retry.error).toBeUndefined();
    expect(retry.ok).toBe(true);
    expectBytes(board.read(0x08000000, data.length), data);
  });
});

describe('device faults during a ROM run fail it with the place named, and never start the application', () => {
  const cases = [
    [{ kind: 'status', on: 'erase', status: 4 }, 'DFU_STATUS', 'erase', /errERASE/],
    [{ kind: 'status', on: 'write', status: 3 }, 'DFU_STATUS', 'write', /errWRITE/],
    [{ kind: 'stall', request: 'UPLOAD' }, 'USB_STALL', 'verify', /UPLOAD refused/],
    [{ kind: 'flip-bit', offset: 7, bit: 0 }, 'VERIFY_MISMATCH', 'verify', /differs from what was written at 0x8000007/],
    [{ kind: 'unplug-at-byte', byte: 5000 }, 'DEVICE_DISCONNECTED', 'write', /left the bus during DNLOAD/],
    [{ kind: 'stall', request: 'DNLOAD' }, 'USB_STALL', 'erase', /DNLOAD refused/],
  ] as const;
  for (const [fault, code, phase, message] of cases) {
    it(`${fault.kind}${'on' in fault ? ` on ${fault.on}` : ''} → ${code} in phase ${phase}`, async () => {
      const conn = simConnection();
      const { board, device, details } = await firstBoard(conn);
      const app = pattern(8192, 3);
      new DataView(app.buffer).setUint32(0, 0x20050000, true);
      new DataView(app.buffer).setUint32(4, 0x08000201, true);
      const fw = await binAt(0x08000000, app);
      board.faults.add(fault);
      const { events, onEvent } = collect();
      // --full: every phase of the classic run (a blank board would skip the erase).
      const r = await flashDevice(conn, device, details, fw, undefined, planFlash(details, fw, undefined, { skipUnchanged: false }), { onEvent });
      expect(board.faults.history.map((h) => h.kind)).toEqual([fault.kind]);
      expect(r.ok).toBe(false);
      expect(r.left).toBe(false);
      expect(r.error?.code).toBe(code);
      expect(r.error?.message).toMatch(message);
      expect(r.error?.context).toMatchObject({ stage: 'rom', phase, serial: board.serial });
      expect(typeof r.error?.context.address).toBe('number');
      expect(board.mode).not.toBe('app');
      expect(results(events)).toHaveLength(1);
    });
  }

  it('unplugged at a control transfer mid-run: DEVICE_DISCONNECTED naming the request, whichever phase it falls in', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const fw = await binAt(0x08000000, pattern(8192, 3));
    board.faults.add({ kind: 'unplug-at-request', request: 30 });
    const r = await flashDevice(conn, device, details, fw, undefined, planFlash(details, fw, undefined, { leave: false }));
    expect(board.faults.history.map((h) => h.kind)).toEqual(['unplug-at-request']);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('DEVICE_DISCONNECTED');
    expect(r.error?.message).toMatch(/^The board left the bus during (DNLOAD|GETSTATUS|UPLOAD)$/);
    expect(r.error?.context).toMatchObject({ stage: 'rom', phase: expect.stringMatching(/^(erase|write|verify)$/), serial: board.serial });
    expect(board.mode).toBe('unplugged');
  });

  it('a GETSTATUS that is never answered fails the run after the transfer timeout, naming the request', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const fw = await binAt(0x08000000, pattern(8192, 3));
    board.faults.add({ kind: 'hang', request: 'GETSTATUS' });
    const r = await flashDevice(conn, device, details, fw, undefined, planFlash(details, fw, undefined, { leave: false }));
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('USB_TRANSFER_FAILED');
    expect(r.error?.context).toMatchObject({ stage: 'rom', request: 'GETSTATUS' });
  });

  it('an erase slower than its reported poll timeout is waited out, not taken as done', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const data = pattern(8192, 3);
    board.poke(0x08000000 + 9000, new Uint8Array([0])); // same sector: must read 0xFF after a complete erase
    const fw = await binAt(0x08000000, data);
    board.faults.add({ kind: 'slow-erase', factor: 5 });
    const r = await flashDevice(conn, device, details, fw, undefined, planFlash(details, fw, undefined, { leave: false }));
    expect(board.faults.history.map((h) => h.kind)).toEqual(['slow-erase']);
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expectBytes(board.read(0x08000000, data.length), data);
    expect(board.read(0x08000000 + 9000, 1)[0]).toBe(0xff);
  });

  it('a ROM that drops off without answering the leave status: verified, start not confirmed (it looks like an unplug)', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const app = pattern(8192, 3);
    new DataView(app.buffer).setUint32(0, 0x20050000, true);
    new DataView(app.buffer).setUint32(4, 0x08000201, true);
    const fw = await binAt(0x08000000, app);
    board.faults.add({ kind: 'leave-without-status' });
    const r = await flashDevice(conn, device, details, fw, undefined, planFlash(details, fw, undefined, {}));
    expect(board.faults.history.map((h) => h.kind)).toEqual(['leave-without-status']);
    expect(r.ok).toBe(true);
    expect(r.bytesVerified).toBe(app.length);
    expect(r.left).toBe(false);
    expect(r.leave).toBe('unconfirmed');
    expect(board.mode).toBe('app');
  });
});
