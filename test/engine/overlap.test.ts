// The loader route with the overlap extension (docs/loader-protocol.md §8) and the loader's bulk erase,
// pinned by what the simulated board holds afterwards and by the modelled time the run took.
import { describe, expect, it } from 'vitest';
import { DfuStatus, SimBus, SIM_LOADER_F746, simLoaderImage, simLoaderImages, wireMs, type SimLoaderImage } from '../../src-main/sim/index.js';
import { readLoaderPackage, type LoaderPackage } from '../../src-main/loader/index.js';
import { simLoaderManifest } from '../../src-main/sim/loader-packages.js';
import { formatPlan, type PlanOptions } from '../../src-main/plan/index.js';
import { flashDevice, planFlash } from '../../src-main/operations/operations.js';
import type { FlashEvent } from '../../shared/progress.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { binAt, expectBytes, firstBoard, pattern, simLoader } from './helpers.js';

const K = 1024;
const QSPI = 0x9000_0000;
const BLOCK = SIM_LOADER_F746.transferSize;
const PAGE_MS = 0.5; // N25Q128A typical page program (sim/models.ts)
const blank = (n: number) => new Uint8Array(n).fill(0xff);

/** A bus whose F746 boots the simulated loader as given (with or without the extension). */
function connection(image: Partial<SimLoaderImage> = {}) {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  bus.addBoard('stm32f746', { loaders: simLoaderImages('stm32f746').map((l) => ({ ...l, ...image })) });
  return { backend: bus, clock, bus, save: () => undefined, close: async () => undefined };
}

/** The simulated F746 loader package with its manifest's extensions replaced. */
function packageWith(extensions: ('crc32' | 'overlap')[]): Promise<LoaderPackage> {
  const m = { ...simLoaderManifest('stm32f746'), extensions };
  return readLoaderPackage('sim-stm32f746', JSON.stringify(m), () => simLoaderImage('stm32f746'));
}

type Conn = ReturnType<typeof connection>;

async function run(conn: Conn, data: Uint8Array, loader: LoaderPackage, opts: { options?: PlanOptions; onEvent?: (e: FlashEvent, conn: Conn) => void } = {}) {
  const { board, device, details } = await firstBoard(conn);
  const fw = await binAt(QSPI, data);
  const plan = planFlash(details, fw, loader, { leave: false, ...opts.options });
  expect(plan.errors).toEqual([]);
  const events: FlashEvent[] = [];
  const result = await flashDevice(conn, device, details, fw, loader, plan, {
    onEvent: (e) => {
      events.push(e);
      opts.onEvent?.(e, conn);
    },
  });
  return { board, result, plan, events };
}

/** The loader writing `bytes` to a blank QSPI block by block: every page programmed, every block on the wire, one after the other. */
function sequentialMs(bytes: number): number {
  return (bytes / 256) * PAGE_MS + (bytes / BLOCK) * wireMs(BLOCK);
}

describe('loader route: overlap the wire with the part', () => {
  const image = pattern(256 * K, 11); // 64 blocks, 4 sectors of a blank QSPI

  it('programs a block while the next is on the wire: the board holds the image, in less time than wire and programming add up', async () => {
    const conn = connection();
    const { board, result, plan } = await run(conn, image, await simLoader());
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expectBytes(board.read(QSPI, image.length), image);
    expect(result.verified.every((v) => v.method === 'crc32')).toBe(true);
    // The loader stage (4 CRC compares, the writes, the CRC verification) beats the sum of wire and programming.
    const loaderMs = result.stageMs.loader!;
    expect(loaderMs).toBeLessThan(sequentialMs(image.length));
    // …and stays within 15 % of the slower of the two (the part: 1024 pages × 0.5 ms).
    expect(loaderMs).toBeLessThan(1.15 * (image.length / 256) * PAGE_MS);
    // The plan knew: its estimate for the writes is the slower of the two, not their sum.
    const write = plan.stages.find((s) => s.name === 'loader')!.writes[0]!;
    expect(write.estimatedMs).toBeLessThan(1.1 * (image.length / 256) * PAGE_MS);
  });

  it('an error during a background write fails that block: what came before is on the board, it and the block sent after it are not', async () => {
    const conn = connection();
    let failing: number | undefined;
    const { board, result } = await run(conn, image, await simLoader(), {
      onEvent: (e, c) => {
        // Once 8 KB are through, the next block to reach the part fails (errWRITE, as a QSPI program error).
        if (failing === undefined && e.kind === 'progress' && e.stage === 'loader' && e.phase === 'write' && e.bytesDone >= 8 * K) {
          failing = QSPI + e.bytesDone;
          c.bus.boards[0]!.faults.add({ kind: 'status', on: 'write', status: DfuStatus.errWRITE });
        }
      },
    });
    expect(failing).toBeDefined();
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('DFU_STATUS');
    expect(result.error?.context.status).toBe(DfuStatus.errWRITE);
    expect(result.error?.context.address).toBe(failing);
    expect(result.error?.message).toContain(`0x${failing!.toString(16)}`);
    const before = failing! - QSPI;
    expectBytes(board.read(QSPI, before), image.subarray(0, before), 'blocks before the failed one');
    expectBytes(board.read(failing!, 2 * BLOCK), blank(2 * BLOCK), 'the failed block and the one sent after it');
  });

  it('the last block failing is caught by the drain, before verification', async () => {
    const conn = connection();
    const one = pattern(BLOCK, 12);
    const { board, result } = await run(conn, one, await simLoader(), {
      onEvent: (e, c) => {
        if (e.kind === 'stage' && e.stage === 'loader' && e.status === 'start') c.bus.boards[0]!.faults.add({ kind: 'status', on: 'write', status: DfuStatus.errWRITE });
      },
    });
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('DFU_STATUS');
    expect(result.error?.context.address).toBe(QSPI);
    expect(result.error?.context.phase).toBe('write');
    expect(result.bytesVerified).toBe(0);
    expectBytes(board.read(QSPI, BLOCK), blank(BLOCK));
  });

  it('an older loader without the extension (no 0xB1, no "overlap" in its manifest) still writes the image, block by block', async () => {
    const conn = connection({ overlap: false });
    const { board, result } = await run(conn, image, await packageWith(['crc32']));
    expect(result.ok).toBe(true);
    expectBytes(board.read(QSPI, image.length), image);
    expect(result.stageMs.loader!).toBeGreaterThan(sequentialMs(image.length));
    expect(result.verified.every((v) => v.method === 'crc32')).toBe(true);
  });

  it('a manifest without "overlap" never turns it on, even on a loader that offers 0xB1', async () => {
    const conn = connection();
    const { board, result } = await run(conn, image, await packageWith(['crc32']));
    expect(result.ok).toBe(true);
    expectBytes(board.read(QSPI, image.length), image);
    expect(result.stageMs.loader!).toBeGreaterThan(sequentialMs(image.length));
  });

  it('a manifest listing "overlap" on a loader that does not offer 0xB1: a warning, then block by block', async () => {
    const conn = connection({ overlap: false });
    const { board, result, events } = await run(conn, image, await simLoader());
    expect(result.ok).toBe(true);
    expectBytes(board.read(QSPI, image.length), image);
    expect(result.stageMs.loader!).toBeGreaterThan(sequentialMs(image.length));
    expect(events.some((e) => e.kind === 'log' && e.level === 'warn' && e.message.includes('0xB1'))).toBe(true);
  });
});

describe('loader route: bulk erase when the plan says it is cheaper', () => {
  it('a whole 16 MB QSPI over old data: one bulk erase (≈170 s) instead of 256 sector erases (≈179 s), shown in the plan; the board holds the image', async () => {
    const size = 16 * K * K;
    const conn = connection();
    const { board: b0 } = await firstBoard(conn);
    b0.poke(QSPI, pattern(size, 5)); // every sector holds something else
    const image = pattern(size, 6);
    const { board, result, plan } = await run(conn, image, await simLoader());
    const stage = plan.stages.find((s) => s.name === 'loader')!;
    expect(stage.bulkErase).toMatchObject({ kind: 'mass', region: 'QSPI Flash', estimatedMs: expect.any(Number) });
    expect(stage.bulkErase!.estimatedMs).toBeGreaterThan(170_000);
    expect(stage.bulkErase!.estimatedMs).toBeLessThan(171_000);
    expect(formatPlan(plan)).toMatch(/mass erase QSPI Flash \(alt 0, ≈ 170\.0 s\) instead of sector erases if the comparison finds more than about 24\d of its 256 sectors/);
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.sectorsErased).toBe(256);
    expectBytes(board.read(QSPI, size), image);
    // One bulk erase and the writes: less than 256 sector erases and the page programs alone would take.
    expect(result.stageMs.loader!).toBeLessThan(256 * 700 + (size / 256) * PAGE_MS);
  }, 120_000);

  it('with fewer sectors to erase the sector erases stay, and a manifest without a bulk erase time never chooses it', async () => {
    const size = 16 * K * K;
    const conn = connection();
    const { board: b0 } = await firstBoard(conn);
    const image = pattern(size, 6);
    const old = image.slice();
    old.fill(0x00, 0, 64 * 64 * K); // 64 sectors differ, the rest already hold the image
    b0.poke(QSPI, old);
    const { board, result } = await run(conn, image, await simLoader());
    expect(result.ok).toBe(true);
    expect(result.sectorsErased).toBe(64);
    expectBytes(board.read(QSPI, size), image);
    const m = simLoaderManifest('stm32f746');
    const noBulk = await readLoaderPackage('sim-stm32f746', JSON.stringify({ ...m, timing: { programKBps: 512, eraseMsPerSector: 700 } }), () => simLoaderImage('stm32f746'));
    const { details } = await firstBoard(connection());
    const p = planFlash(details, await binAt(QSPI, image), noBulk, { leave: false });
    expect(p.stages.find((s) => s.name === 'loader')!.bulkErase).toBeUndefined();
  }, 120_000);
});
