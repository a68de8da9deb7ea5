import { describe, expect, it } from 'vitest';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootBridgeError } from '../../shared/errors.js';
import { loadRecipe } from '../../src-main/production/recipe.js';
import { LANE_LOG_MAX, ProductionStation, withLogLine, type LaneLogLine } from '../../src-main/production/station.js';
import { MemoryUnitSink, UnitLog, readUnitLog } from '../../src-main/production/unit-log.js';
import { BoardLocks } from '../../src-main/operations/board-locks.js';
import type { FlashResult } from '../../shared/progress.js';
import { holdsImage, recipeDir, simF746 } from './helpers.js';

async function station(boards: number, opts: { concurrency?: number; serialPattern?: string } = {}) {
  const dir = recipeDir(opts.serialPattern ? { serialPattern: opts.serialPattern } : {});
  const recipe = await loadRecipe(dir.recipe);
  const conn = simF746(boards);
  const sink = new MemoryUnitSink();
  const st = new ProductionStation({ conn, recipe, sink, locks: new BoardLocks(), now: () => new Date('2026-01-02T03:04:05Z'), ...(opts.concurrency ? { concurrency: opts.concurrency } : {}) });
  return { dir, recipe, conn, sink, st };
}

describe('production station on simulated F746 boards', () => {
  it('flashes four boards at once: all PASS, their memories equal the file, in about the time of one board', async () => {
    const one = await station(1);
    const t1 = one.conn.clock.now();
    const [single] = await one.st.flashAll();
    const singleMs = one.conn.clock.now() - t1;
    expect(single?.result).toBe('PASS');

    const gang = await station(4);
    const t0 = gang.conn.clock.now();
    const records = await gang.st.flashAll();
    const gangMs = gang.conn.clock.now() - t0;
    expect(records.map((r) => r.result)).toEqual(['PASS', 'PASS', 'PASS', 'PASS']);
    expect(new Set(records.map((r) => r.serial)).size).toBe(4);
    for (const b of gang.conn.bus.boards) expect(holdsImage(b, gang.recipe.firmware.image)).toBe(true);
    expect(gangMs).toBeLessThan(1.5 * singleMs);
    expect(gang.st.counters()).toMatchObject({ passed: 4, failed: 0, yield: 1 });
    expect(gang.sink.records).toHaveLength(4);
  });

  it('one at a time (queue) takes about four boards’ time', async () => {
    const q = await station(4, { concurrency: 1 });
    const t0 = q.conn.clock.now();
    const records = await q.st.flashAll();
    expect(records.every((r) => r.result === 'PASS')).toBe(true);
    const perBoard = records[0]!.durationMs;
    expect(q.conn.clock.now() - t0).toBeGreaterThan(3.5 * perBoard);
  });

  type Board = import('../../src-main/sim/index.js').SimBoard;
  const faults: { name: string; code: string; add: (b: Board, st: ProductionStation) => void }[] = [
    { name: 'unplugged mid-write', code: 'DEVICE_DISCONNECTED', add: (b) => b.faults.add({ kind: 'unplug-at-byte', byte: 60_000 }) },
    { name: 'answering a write with an error status', code: 'DFU_STATUS', add: (b) => b.faults.add({ kind: 'status', on: 'write', status: 0x03 }) },
    {
      name: 'storing a flipped bit in QSPI',
      code: 'VERIFY_MISMATCH',
      // Armed once the loader runs, so the wrong bit lands in what the loader writes, not in the staged loader.
      add: (b, st) =>
        st.on('flash', ({ lane, event }) => {
          if (lane === b.serial && event.kind === 'stage' && event.stage === 'loader' && event.status === 'start') b.faults.add({ kind: 'flip-bit', offset: 17, bit: 2 });
        }),
    },
  ];
  for (const fault of faults) {
    it(`a board ${fault.name} fails alone (${fault.code}); the others PASS, no slower than alone`, async () => {
      const alone = (await (await station(1)).st.flashAll())[0]!.durationMs;
      const s = await station(4);
      const bad = s.conn.bus.boards[1]!;
      fault.add(bad, s.st);
      const records = await s.st.flashAll();
      const bySerial = new Map(records.map((r) => [r.serial, r]));
      for (const b of s.conn.bus.boards) {
        const r = bySerial.get(b.serial)!;
        if (b === bad) {
          expect(r.result).toBe('FAIL');
          expect(r.error?.code).toBe(fault.code);
          // The log says where the unit stopped, not only why.
          expect(r.error?.stage).toMatch(/^(rom|staging|loader|leave)$/);
          expect(r.error?.phase).toMatch(/^(connect|erase|write|verify|stage|jump|reconnect|leave)$/);
          if (fault.code === 'VERIFY_MISMATCH') expect(r.error).toMatchObject({ stage: 'loader', phase: 'verify', address: expect.stringMatching(/^0x[0-9a-f]{8}$/) });
        } else {
          expect(r.result).toBe('PASS');
          expect(holdsImage(b, s.recipe.firmware.image)).toBe(true);
          expect(r.durationMs).toBeLessThan(alone * 1.05);
        }
      }
      expect(s.st.counters()).toMatchObject({ passed: 3, failed: 1, yield: 0.75 });
      expect(s.st.lanes().find((l) => l.id === bad.serial)).toMatchObject({ status: 'FAIL', error: { code: fault.code } });
    });
  }

  it("each lane keeps its unit's engine log lines: the loader's progress and the error that failed it", async () => {
    const s = await station(2);
    const bad = s.conn.bus.boards[1]!;
    s.st.on('flash', ({ lane, event }) => {
      if (lane === bad.serial && event.kind === 'stage' && event.stage === 'loader' && event.status === 'start') bad.faults.add({ kind: 'flip-bit', offset: 17, bit: 2 });
    });
    await s.st.flashAll();
    const lanes = new Map(s.st.lanes().map((l) => [l.id, l]));
    const good = lanes.get(s.conn.bus.boards[0]!.serial)!;
    expect(good.log?.some((l) => l.level === 'info' && l.message.includes('Jumped to the loader'))).toBe(true);
    expect(good.log?.some((l) => l.level === 'error')).toBe(false);
    const failed = lanes.get(bad.serial)!;
    expect(failed.log?.at(-2)).toMatchObject({ level: 'error', message: failed.error?.message });
    // The board is left running the loader: the engine warns, and the lane keeps it as its last line.
    expect(failed.log?.at(-1)?.level).toBe('warn');
  });

  it('a lane keeps only its last LANE_LOG_MAX log lines', () => {
    let lines: LaneLogLine[] | undefined;
    for (let i = 0; i < LANE_LOG_MAX + 5; i++) lines = withLogLine(lines, { level: 'info', message: `line ${i}` });
    expect(lines).toHaveLength(LANE_LOG_MAX);
    expect(lines![0]!.message).toBe('line 5');
    expect(lines!.at(-1)!.message).toBe(`line ${LANE_LOG_MAX + 4}`);
    // A new array each time: lane snapshots already sent keep their lines.
    expect(withLogLine(lines, { level: 'warn', message: 'x' })).not.toBe(lines);
  });

  it('does not flash a board twice while it stays attached; after an unplug and plug it is a new unit', async () => {
    const s = await station(2);
    const bad = s.conn.bus.boards[0]!;
    // The first write is the loader's, to RAM through the ROM: the board stays in its ROM bootloader.
    bad.faults.add({ kind: 'status', on: 'write', status: 0x03 });
    const first = await s.st.flashAll();
    expect(first.map((r) => r.result).sort()).toEqual(['FAIL', 'PASS']);
    // The failed board is still in its ROM bootloader; the passed one left to its application.
    expect(bad.mode).toBe('rom');
    expect(await s.st.flashAll()).toEqual([]);
    bad.unplug();
    bad.plug(true);
    const again = await s.st.flashAll();
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ serial: bad.serial, result: 'PASS' });
    expect(s.st.lanes().find((l) => l.id === bad.serial)?.units).toBe(2);
  });

  describe('a second run on the same board (unplugged and plugged again)', () => {
    /** Flashes one board twice with the recipe's options; the second run's record and engine result. */
    async function twice(extra: string) {
      const dir = recipeDir({ extra });
      const recipe = await loadRecipe(dir.recipe);
      const conn = simF746(1);
      const st = new ProductionStation({ conn, recipe, sink: new MemoryUnitSink(), locks: new BoardLocks(), now: () => new Date('2026-01-02T03:04:05Z') });
      const board = conn.bus.boards[0]!;
      const first = await st.flashAll();
      expect(first[0]?.result).toBe('PASS');
      board.unplug();
      board.plug(true);
      let result: FlashResult | undefined;
      st.on('flash', ({ event }) => {
        if (event.kind === 'result') result = event.result;
      });
      const [second] = await st.flashAll();
      expect(holdsImage(board, recipe.firmware.image)).toBe(true);
      const imageBytes = recipe.firmware.image.segments.reduce((n, seg) => n + seg.data.length, 0);
      // Each run stages the loader (written to RAM through the ROM) before the image.
      const staging = recipe.loader!.image.length;
      return { first: first[0]!, second: second!, result: result!, imageBytes, staging };
    }

    it('with skipUnchanged (the default) writes nothing, erases nothing, and still verifies the whole image: PASS', async () => {
      const { first, second, result, imageBytes, staging } = await twice('');
      expect(first.bytesWritten).toBe(staging + imageBytes);
      expect(second).toMatchObject({ result: 'PASS', bytesWritten: staging, bytesVerified: imageBytes });
      expect(result.bytesUnchanged).toBe(imageBytes);
      expect(result.sectorsErased).toBe(0);
      expect(result.sectorsSkipped).toBe(5);
      expect(result.sectors!.every((x) => x.found === 'equal' && !x.erased)).toBe(true);
      expect(second.durationMs).toBeLessThan(first.durationMs);
    });

    it('with skipUnchanged: false erases and writes every sector the image touches again: PASS', async () => {
      const { first, second, result, imageBytes, staging } = await twice('options:\n  skipUnchanged: false');
      expect(first.bytesWritten).toBe(staging + imageBytes);
      expect(second).toMatchObject({ result: 'PASS', bytesWritten: staging + imageBytes, bytesVerified: imageBytes });
      expect(result.sectorsErased).toBe(5);
      expect(result.sectorsSkipped ?? 0).toBe(0);
      expect(result.sectors ?? []).toEqual([]);
    });
  });

  it('retry re-flashes a failed board that stayed attached', async () => {
    const s = await station(1);
    const b = s.conn.bus.boards[0]!;
    b.faults.add({ kind: 'status', on: 'write', status: 0x03 });
    expect((await s.st.flashAll())[0]?.result).toBe('FAIL');
    expect(await s.st.flashAll()).toEqual([]);
    const r = await s.st.retry(b.serial);
    expect(r?.result).toBe('PASS');
  });

  it('a firmware file changed after the recipe was loaded fails the next unit and every later one', async () => {
    const s = await station(3, { concurrency: 1 });
    let n = 0;
    s.st.on('unit', () => {
      if (++n === 1) appendFileSync(s.dir.firmware, new Uint8Array([0]));
    });
    const records = await s.st.flashAll();
    expect(records.map((r) => r.result)).toEqual(['PASS', 'FAIL', 'FAIL']);
    for (const r of records.slice(1)) {
      expect(r.error?.code).toBe('HASH_MISMATCH');
      expect(r.error?.message).toContain('demo-f746.elf');
    }
    // Putting the file back does not make the shift trustworthy again.
    writeFileSync(s.dir.firmware, new Uint8Array(0));
  });

  it('ignores boards whose serial does not match the pattern, and says why', async () => {
    const s = await station(2, { serialPattern: '^00000008' });
    const ignored: string[] = [];
    s.st.on('ignored', (i) => ignored.push(i.reason));
    const records = await s.st.flashAll();
    expect(records).toHaveLength(1);
    expect(records[0]!.serial).toBe(s.conn.bus.boards[0]!.serial);
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toContain('serialPattern');
  });

  it('a board held by another operation is not touched (BUSY)', async () => {
    const locks = new BoardLocks();
    const dir = recipeDir();
    const conn = simF746(2);
    const st = new ProductionStation({ conn, recipe: await loadRecipe(dir.recipe), sink: new MemoryUnitSink(), locks });
    const lock = locks.acquire(conn.bus.boards[0]!.serial, 'read');
    const ignored: string[] = [];
    st.on('ignored', (i) => ignored.push(i.reason));
    const records = await st.flashAll();
    expect(records.map((r) => r.serial)).toEqual([conn.bus.boards[1]!.serial]);
    expect(ignored[0]).toContain('read in progress');
    lock.release();
  });

  it('watch mode flashes boards as they are connected, through the same code', async () => {
    const s = await station(0);
    const units: string[] = [];
    s.st.on('unit', (r) => units.push(`${r.serial} ${r.result}`));
    await s.st.startWatch();
    const a = s.conn.bus.addBoard('stm32f746', { loaders: (await import('../../src-main/sim/index.js')).simLoaderImages('stm32f746') });
    await s.conn.clock.sleep(2000);
    const b = s.conn.bus.addBoard('stm32f746', { loaders: a.loaders });
    while (units.length < 2) await s.conn.clock.sleep(500);
    s.st.stopWatch();
    await s.st.idle();
    expect(units.sort()).toEqual([`${a.serial} PASS`, `${b.serial} PASS`].sort());
    expect(holdsImage(a, s.recipe.firmware.image) && holdsImage(b, s.recipe.firmware.image)).toBe(true);
  });

  it('writes the unit to the log before reporting it, and a unit that cannot be logged does not PASS', async () => {
    const dir = recipeDir();
    const path = join(dir.dir, 'units.jsonl');
    const conn = simF746(1);
    const st = new ProductionStation({ conn, recipe: await loadRecipe(dir.recipe), sink: new UnitLog(path), locks: new BoardLocks() });
    const seenInLog: boolean[] = [];
    st.on('unit', (r) => seenInLog.push(readUnitLog(path).records.some((x) => x.serial === r.serial && x.time === r.time && x.result === r.result)));
    expect((await st.flashAll())[0]?.result).toBe('PASS');
    expect(seenInLog).toEqual([true]);

    const broken = new ProductionStation({
      conn: simF746(1),
      recipe: await loadRecipe(dir.recipe),
      sink: { append: () => { throw new BootBridgeError('FILE_ERROR', 'disk full', { file: path }); } },
      locks: new BoardLocks(),
    });
    const errors: string[] = [];
    broken.on('error', (e) => errors.push(e.code));
    const [r] = await broken.flashAll();
    expect(r).toMatchObject({ result: 'FAIL', error: { code: 'FILE_ERROR' } });
    expect(errors).toEqual(['FILE_ERROR']);
    expect(broken.counters()).toMatchObject({ passed: 0, failed: 1 });
  });

  it('a board unplugged while it waits in the queue is dropped, not failed', async () => {
    const s = await station(2, { concurrency: 1 });
    const [first, second] = s.conn.bus.boards;
    s.st.on('lane', (l) => {
      if (l.id === first!.serial && l.status === 'running' && second!.mode === 'rom') second!.unplug();
    });
    const records = await s.st.flashAll();
    expect(records.map((r) => `${r.serial} ${r.result}`)).toEqual([`${first!.serial} PASS`]);
    expect(s.st.lanes().find((l) => l.id === second!.serial)).toMatchObject({ status: 'idle', attached: false, units: 0 });
  });

  it('--count: stops after N units started, even in a gang', async () => {
    const dir = recipeDir();
    const conn = simF746(4);
    const st = new ProductionStation({ conn, recipe: await loadRecipe(dir.recipe), sink: new MemoryUnitSink(), locks: new BoardLocks(), maxUnits: 2 });
    expect(await st.flashAll()).toHaveLength(2);
  });
});
