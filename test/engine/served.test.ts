// A loader serves the internal flash "as the chip has it" (its flash-size register): on a chip with
// less flash than the manifest's layout (a 64 KB F750 on the F7508-DK behind a manifest written for
// the 1 MB F746) its alt setting is shorter. That is not a mismatch; a plan reaching beyond what the
// device really serves is refused with a clear error before anything goes through the loader.
import { describe, expect, it } from 'vitest';
import { flashDevice, planFlash } from '../../src-main/operations/operations.js';
import { openFirmwareBytes } from '../../src-main/operations/files.js';
import { SimBus, simLoaderImages } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { expectBytes, firstBoard, pattern, simLoader } from './helpers.js';

const QSPI = 0x90000000;
const FLASH = 0x08000000;

/** Intel HEX of several segments (record types 00, 04, 01). */
function hex(segments: { address: number; data: Uint8Array }[]): Uint8Array {
  const lines: string[] = [];
  const rec = (type: number, addr: number, bytes: number[]) => {
    const all = [bytes.length, (addr >> 8) & 0xff, addr & 0xff, type, ...bytes];
    const sum = (0x100 - (all.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
    lines.push(':' + [...all, sum].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(''));
  };
  for (const s of segments) {
    let upper = -1;
    for (let off = 0; off < s.data.length; off += 16) {
      const a = s.address + off;
      if (a >>> 16 !== upper) {
        upper = a >>> 16;
        rec(4, 0, [upper >> 8, upper & 0xff]);
      }
      rec(0, a & 0xffff, [...s.data.subarray(off, off + 16)]);
    }
  }
  rec(1, 0, []);
  return new TextEncoder().encode(lines.join('\n') + '\n');
}

/** A simulated F746 whose loader serves only 64 KB of internal flash (2 × 32 KB sectors), as on an F750. */
function smallFlashBoard() {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  const [image] = simLoaderImages('stm32f746');
  bus.addBoard('stm32f746', { loaders: [{ ...image!, memories: [image!.memories[0]!, '@Internal Flash  /0x08000000/02*032Kg'] }] });
  return { backend: bus, clock, bus, save: () => undefined, close: async () => undefined };
}

async function flashHex(conn: ReturnType<typeof smallFlashBoard>, segments: { address: number; data: Uint8Array }[]) {
  const { board, device, details } = await firstBoard(conn);
  const fw = await openFirmwareBytes('image.hex', hex(segments));
  const loader = await simLoader();
  const p = planFlash(details, fw, loader, { leave: false });
  expect(p.errors).toEqual([]);
  expect(p.stages.map((s) => s.name)).toContain('staging');
  return { board, r: await flashDevice(conn, device, details, fw, loader, p) };
}

describe('a loader serving less internal flash than its manifest', () => {
  it('is not a mismatch: a plan within what it serves programs both memories', async () => {
    const q = pattern(4096, 1);
    const f = pattern(40 * 1024, 2);
    const { board, r } = await flashHex(smallFlashBoard(), [
      { address: QSPI, data: q },
      { address: FLASH, data: f },
    ]);
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expectBytes(board.read(QSPI, q.length), q);
    expectBytes(board.read(FLASH, f.length), f);
  });

  it('a segment beyond it is refused with ADDRESS_UNREACHABLE, naming what the device serves; nothing goes through the loader', async () => {
    const q = pattern(4096, 1);
    const f = pattern(4096, 3);
    const { board, r } = await flashHex(smallFlashBoard(), [
      { address: QSPI, data: q },
      { address: FLASH + 0x20000, data: f },
    ]);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('ADDRESS_UNREACHABLE');
    expect(r.error?.message).toMatch(/0x08020000–0x08040000 is beyond what the running loader serves on alt 1 \("@Internal Flash {2}\/0x08000000\/02\*032Kg", ending at 0x08010000\)/);
    expect(r.error?.message).toMatch(/Nothing was written through the loader/);
    expect(r.bytesVerified).toBe(0);
    expectBytes(board.read(QSPI, q.length), new Uint8Array(q.length).fill(0xff));
    expectBytes(board.read(FLASH + 0x20000, f.length), new Uint8Array(f.length).fill(0xff));
  });
});
