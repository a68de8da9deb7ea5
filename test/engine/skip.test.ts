// Flash only what must change: every skip decision is checked by what the simulated board holds
// afterwards, through the ROM (read-back comparison) and through the loader (CRC32, and read-back).
import { describe, expect, it, vi } from 'vitest';
import { DfuseDevice } from '../../src-main/dfu/dfuse.js';
import type { FlashResult, SectorOutcome } from '../../shared/progress.js';
import type { FlashPlan, PlanOptions } from '../../src-main/plan/index.js';
import { formatPlan } from '../../src-main/plan/index.js';
import { flashDevice, planFlash } from '../../src-main/operations/operations.js';
import type { SimBoard } from '../../src-main/sim/index.js';
import { binAt, collect, expectBytes, firstBoard, pattern, simConnection, simLoader } from './helpers.js';

const K = 1024;
const FLASH = 0x0800_0000;
const QSPI = 0x9000_0000;
/** STM32F746 internal flash: 4 × 32 KB, then 128 KB (RM0385 §3.3.1). */
const F7_SECTORS = [0, 32 * K, 64 * K, 96 * K, 128 * K];

type Conn = ReturnType<typeof simConnection>;

async function flash(conn: Conn, address: number, data: Uint8Array, opts: { loader?: boolean; options?: PlanOptions; edit?: (p: FlashPlan) => FlashPlan } = {}) {
  const { board, device, details } = await firstBoard(conn);
  const fw = await binAt(address, data);
  const loader = opts.loader ? await simLoader() : undefined;
  let p = planFlash(details, fw, loader, { leave: false, routeInternalViaLoader: false, ...opts.options });
  expect(p.errors).toEqual([]);
  if (opts.edit) p = opts.edit(p);
  const { events, onEvent } = collect();
  const result = await flashDevice(conn, device, details, fw, loader, p, { onEvent });
  expect(result.error).toBeUndefined();
  expect(result.ok).toBe(true);
  return { board, result, plan: p, events };
}

/** Back in the ROM bootloader (BOOT0 held), as an operator does between two runs. */
async function resetToRom(conn: Conn, board: SimBoard) {
  board.reset();
  await conn.clock.sleep(1000);
  expect(board.mode).toBe('rom');
}

const outcome = (r: FlashResult, address: number): SectorOutcome => {
  const s = r.sectors?.find((x) => x.address === address);
  if (!s) throw new Error(`no outcome for sector 0x${address.toString(16)}`);
  return s;
};
const blank = (n: number) => new Uint8Array(n).fill(0xff);

describe('through the ROM bootloader: sectors read back before erase and write', () => {
  const image = pattern(160 * K, 3); // sectors 0–4 of the F746, the last one (128 KB) entirely

  it('a blank board: every sector found blank, nothing erased, the board holds the image', async () => {
    const conn = simConnection();
    const { board, result, plan } = await flash(conn, FLASH, image);
    expect(plan.stages[0]!.compares!.map((c) => [c.address - FLASH, c.method])).toEqual(F7_SECTORS.map((a) => [a, 'read-back']));
    expect(result.sectors!.map((s) => s.found)).toEqual(['blank', 'blank', 'blank', 'blank', 'blank']);
    expect(result.sectorsErased).toBe(0);
    expect(result.bytesWritten).toBe(image.length);
    expectBytes(board.read(FLASH, image.length), image);
    expect(result.bytesVerified).toBe(image.length);
  });

  it('re-flashing an unchanged image writes nothing, erases nothing, and still verifies every byte', async () => {
    const conn = simConnection();
    const first = await flash(conn, FLASH, image);
    const again = await flash(conn, FLASH, image);
    expect(again.result.bytesWritten).toBe(0);
    expect(again.result.sectorsErased).toBe(0);
    expect(again.result.sectorsSkipped).toBe(5);
    expect(again.result.bytesUnchanged).toBe(image.length);
    expect(again.result.bytesVerified).toBe(image.length);
    expect(again.result.verified.every((v) => v.method === 'read-back')).toBe(true);
    expect(again.events.some((e) => e.kind === 'progress' && (e.phase === 'write' || e.phase === 'erase'))).toBe(false);
    expectBytes(first.board.read(FLASH, image.length), image);
  });

  it('a sector that differs in one byte is erased and rewritten; the others are left alone', async () => {
    const conn = simConnection();
    const { board } = await flash(conn, FLASH, image);
    const changed = image.slice();
    changed[64 * K + 1234] = changed[64 * K + 1234]! ^ 0x01; // sector 2
    const r = (await flash(conn, FLASH, changed)).result;
    expect(r.sectors!.map((s) => s.found)).toEqual(['equal', 'equal', 'different', 'equal', 'equal']);
    expect(outcome(r, FLASH + 64 * K)).toMatchObject({ erased: true, bytesWritten: 32 * K });
    expect(r.sectorsErased).toBe(1);
    expect(r.bytesWritten).toBe(32 * K);
    expectBytes(board.read(FLASH, changed.length), changed);
  });

  it('catches a byte changed on the board, not only in the image', async () => {
    const conn = simConnection();
    const { board } = await flash(conn, FLASH, image);
    board.poke(FLASH + 100 * K, new Uint8Array([image[100 * K]! ^ 0x80])); // sector 3
    const r = (await flash(conn, FLASH, image)).result;
    expect(outcome(r, FLASH + 96 * K).found).toBe('different');
    expect(r.sectorsErased).toBe(1);
    expectBytes(board.read(FLASH, image.length), image);
  });

  it('0xFF data over a non-blank sector is erased, not skipped', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    board.poke(FLASH + 32 * K, pattern(32 * K, 9)); // old content in sector 1
    const withHole = image.slice();
    withHole.fill(0xff, 32 * K, 64 * K);
    const r = (await flash(conn, FLASH, withHole)).result;
    expect(outcome(r, FLASH + 32 * K)).toMatchObject({ found: 'different', erased: true, bytesWritten: 0 });
    expectBytes(board.read(FLASH + 32 * K, 32 * K), blank(32 * K), 'sector 1');
    expectBytes(board.read(FLASH, withHole.length), withHole);
  });

  it('bytes of a touched sector the image does not cover are erased by default and kept with preserve', async () => {
    const tail = pattern(16 * K, 21); // old content in the second half of sector 0
    const part = pattern(16 * K, 5); // the image covers the first half only
    for (const preserve of [false, true]) {
      const conn = simConnection();
      const { board } = await firstBoard(conn);
      board.poke(FLASH + 16 * K, tail);
      const { result, plan } = await flash(conn, FLASH, part, { options: { preserve } });
      expect(plan.stages[0]!.compares![0]).toMatchObject({ covered: 16 * K, size: 32 * K, preserve, method: 'read-back' });
      expect(formatPlan(plan)).toContain(preserve ? 'are kept (--preserve' : 'are erased (1 sector; --preserve keeps them)');
      expectBytes(board.read(FLASH, 16 * K), part, 'covered half');
      expectBytes(board.read(FLASH + 16 * K, 16 * K), preserve ? tail : blank(16 * K), preserve ? 'kept half' : 'erased half');
      expect(outcome(result, FLASH)).toMatchObject({ found: 'different', erased: true, ...(preserve ? { preserved: true } : {}) });
      // With preserve the kept bytes are verified too.
      expect(result.bytesVerified).toBe(preserve ? 32 * K : 16 * K);
    }
  });

  it('--no-skip with --preserve reads a partly covered sector only to keep its other bytes, and rewrites it even when equal', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    const part = pattern(16 * K, 5);
    const tail = pattern(16 * K, 21);
    board.poke(FLASH, part);
    board.poke(FLASH + 16 * K, tail); // sector 0 already holds the image and other bytes
    const { result, plan } = await flash(conn, FLASH, part, { options: { preserve: true, skipUnchanged: false } });
    expect(plan.stages[0]!.compares).toEqual([expect.objectContaining({ address: FLASH, preserve: true, rewrite: true })]);
    expect(formatPlan(plan)).toContain('read 1 partly covered sector to keep its other bytes');
    expect(outcome(result, FLASH)).toMatchObject({ found: 'equal', erased: true, bytesWritten: 32 * K, preserved: true });
    expectBytes(board.read(FLASH, 16 * K), part, 'covered half');
    expectBytes(board.read(FLASH + 16 * K, 16 * K), tail, 'kept half');
  });

  it('--no-skip erases and writes every touched sector as before', async () => {
    const conn = simConnection();
    const { board } = await flash(conn, FLASH, image);
    const { result, plan } = await flash(conn, FLASH, image, { options: { skipUnchanged: false } });
    expect(plan.stages[0]!.compares ?? []).toEqual([]);
    expect(result.sectors ?? []).toEqual([]);
    expect(result.sectorsErased).toBe(5);
    expect(result.bytesWritten).toBe(image.length);
    expectBytes(board.read(FLASH, image.length), image);
  });

  it('a read-back refused during the comparison fails the run in phase read, before anything is erased', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    board.poke(FLASH, image);
    const fw = await binAt(FLASH, pattern(160 * K, 4));
    board.faults.add({ kind: 'stall', request: 'UPLOAD' });
    const r = await flashDevice(conn, device, details, fw, undefined, planFlash(details, fw, undefined, { leave: false }));
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('USB_STALL');
    expect(r.error?.context).toMatchObject({ stage: 'rom', phase: 'read' });
    expect(r.bytesWritten).toBe(0);
    expectBytes(board.read(FLASH, image.length), image, 'flash left as it was');
  });

  it('the plan estimates the comparison and the blank and unchanged cases', async () => {
    const conn = simConnection();
    const { details } = await firstBoard(conn);
    const fw = await binAt(FLASH, image);
    const skip = planFlash(details, fw, undefined, { leave: false });
    const full = planFlash(details, fw, undefined, { leave: false, skipUnchanged: false });
    const compareMs = skip.stages[0]!.compares!.reduce((n, c) => n + c.estimatedMs, 0);
    expect(skip.estimatedMs).toBe(Math.round(full.estimatedMs + compareMs));
    expect(skip.estimatedUnchangedMs!).toBeLessThan(skip.estimatedBlankMs!);
    expect(skip.estimatedBlankMs!).toBeLessThan(full.estimatedMs);
    // Through the ROM a 2 KB write waits ≈104 ms, a read-back of it a few: unchanged is far cheaper.
    expect(skip.estimatedUnchangedMs! * 5).toBeLessThan(full.estimatedMs);
    expect(formatPlan(skip)).toMatch(/compare 5 sectors first \(5 by read-back\)/);
  });
});

describe('through the loader: sectors compared by CRC32 (or read back)', () => {
  const image = pattern(256 * K, 7); // four 64 KB QSPI sectors

  it('a blank QSPI: no erase at all; re-flashed unchanged after a reset: nothing written, verified', async () => {
    const conn = simConnection();
    const first = await flash(conn, QSPI, image, { loader: true });
    const stage = first.plan.stages.find((s) => s.name === 'loader')!;
    expect(stage.compares!.map((c) => c.method)).toEqual(['crc32', 'crc32', 'crc32', 'crc32']);
    expect(first.result.sectors!.map((s) => s.found)).toEqual(['blank', 'blank', 'blank', 'blank']);
    expect(first.result.sectorsErased).toBe(0);
    expectBytes(first.board.read(QSPI, image.length), image);
    await resetToRom(conn, first.board);
    const again = await flash(conn, QSPI, image, { loader: true });
    expect(again.result.sectors!.map((s) => s.found)).toEqual(['equal', 'equal', 'equal', 'equal']);
    // Only the loader itself went over the wire.
    const loaderBytes = (await simLoader()).image.length;
    expect(again.result.bytesWritten).toBe(loaderBytes);
    expect(again.result.bytesVerified).toBe(image.length);
    expect(again.result.verified.every((v) => v.method === 'crc32')).toBe(true);
    expectBytes(again.board.read(QSPI, image.length), image);
  });

  it('one changed byte, 0xFF over old data, and junk on the board: each sector by what it holds', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    board.poke(QSPI, image.subarray(0, 64 * K)); // sector 0 equal
    const old = image.slice(64 * K, 128 * K);
    old[4321] = old[4321]! ^ 0x10;
    board.poke(QSPI + 64 * K, old); // sector 1 differs in one byte
    board.poke(QSPI + 128 * K, pattern(64 * K, 99)); // sector 2 holds old data; the image has 0xFF there
    // sector 3 blank
    const want = image.slice();
    want.fill(0xff, 128 * K, 192 * K);
    const { result } = await flash(conn, QSPI, want, { loader: true });
    expect(result.sectors!.map((s) => [s.found, s.erased])).toEqual([
      ['equal', false],
      ['different', true],
      ['different', true],
      ['blank', false],
    ]);
    expect(result.sectorsSkipped).toBe(1);
    expect(outcome(result, QSPI + 128 * K).bytesWritten).toBe(0);
    expectBytes(board.read(QSPI, want.length), want);
  });

  it('compares by read-back when the plan says so (a loader without CRC32) with the same decisions', async () => {
    const conn = simConnection();
    const { board } = await firstBoard(conn);
    board.poke(QSPI, image.subarray(0, 128 * K));
    const toReadBack = (p: FlashPlan): FlashPlan => {
      const copy = structuredClone(p) as FlashPlan;
      for (const s of copy.stages) if (s.compares) s.compares = s.compares.map((c) => ({ ...c, method: 'read-back' as const }));
      return copy;
    };
    const { result } = await flash(conn, QSPI, image, { loader: true, edit: toReadBack });
    expect(result.sectors!.map((s) => [s.method, s.found])).toEqual([
      ['read-back', 'equal'],
      ['read-back', 'equal'],
      ['read-back', 'blank'],
      ['read-back', 'blank'],
    ]);
    expect(result.sectorsErased).toBe(0);
    expectBytes(board.read(QSPI, image.length), image);
  });
});

describe('mass erase when the estimate says it is cheaper (a whole-flash image)', () => {
  it('STM32G474 through the ROM: every page differs → one mass erase; a few pages differ → page erases', async () => {
    const conn = simConnection('stm32g474');
    const { board, details } = await firstBoard(conn);
    const size = details.chip!.flash.size;
    const image = pattern(size, 31);
    const fw = await binAt(FLASH, image);
    const p = planFlash(details, fw, undefined, { leave: false });
    const bulk = p.stages[0]!.bulkErase;
    expect(bulk).toMatchObject({ kind: 'mass', address: FLASH, size });
    expect(formatPlan(p)).toMatch(/mass erase .* instead of sector erases if the comparison finds more than about \d+ of its \d+ sectors/);

    board.poke(FLASH, pattern(size, 32)); // an old image everywhere
    const mass = vi.spyOn(DfuseDevice.prototype, 'massErase');
    const sector = vi.spyOn(DfuseDevice.prototype, 'erase');
    const all = (await flash(conn, FLASH, image)).result;
    expect(mass).toHaveBeenCalledTimes(1);
    expect(sector).not.toHaveBeenCalled();
    const pages = p.stages[0]!.compares!.length;
    expect(all.sectorsErased).toBe(pages);
    expect(all.sectors!.every((s) => s.found === 'different' && s.erased)).toBe(true);
    expectBytes(board.read(FLASH, size), image);

    const changed = image.slice();
    changed[10] = changed[10]! ^ 1;
    mass.mockClear();
    const few = (await flash(conn, FLASH, changed)).result;
    expect(mass).not.toHaveBeenCalled();
    expect(sector).toHaveBeenCalledTimes(1);
    mass.mockRestore();
    sector.mockRestore();
    expect(few.sectorsErased).toBe(1);
    expect(few.sectorsSkipped).toBe(pages - 1);
    expectBytes(board.read(FLASH, size), changed);
  });

  it('an image that does not cover every sector never mass erases (bytes outside it would be lost)', async () => {
    const conn = simConnection('stm32g474');
    const { details } = await firstBoard(conn);
    const fw = await binAt(FLASH, pattern(details.chip!.flash.size - 2 * K, 31));
    expect(planFlash(details, fw, undefined, { leave: false }).stages[0]!.bulkErase).toBeUndefined();
  });
});
