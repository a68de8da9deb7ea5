import { describe, expect, it } from 'vitest';
import { eraseDevice, flashDevice, planFlash } from '../../src-main/operations/operations.js';
import { demo, expectBytes, firstBoard, simConnection, simLoader } from './helpers.js';

describe('erasing on request', () => {
  it('erases a QSPI sector through a staged loader and an internal sector through the ROM, and nothing else', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const fw = await demo();
    const loader = await simLoader();
    const flashed = await flashDevice(conn, device, details, fw, loader, planFlash(details, fw, loader, { leave: false }));
    expect(flashed.ok).toBe(true);
    const qspi = fw.image.segments.find((s) => s.address === 0x9000_0000)!;
    // The loader is still running after a run without leave: reset into the ROM as an operator would.
    board.reset();
    await conn.clock.sleep(500);
    const again = await firstBoard(conn);

    const erased = await eraseDevice(conn, again.device, again.details, { addresses: [0x9001_0004, 0x0800_0010] }, loader);
    expect(erased.map((s) => [s.via, s.address, s.size])).toEqual([
      ['rom', 0x0800_0000, 32 * 1024],
      ['loader', 0x9001_0000, 64 * 1024],
    ]);
    expect(board.read(0x9001_0000, 64 * 1024).every((b) => b === 0xff)).toBe(true);
    expect(board.read(0x0800_0000, 256).every((b) => b === 0xff)).toBe(true);
    // The QSPI sector before it still holds the picture.
    expectBytes(board.read(0x9000_0000, 64 * 1024), qspi.data.subarray(0, 64 * 1024));
  });

  it('refuses an address no memory serves before touching the board, with the choose-loader remedy', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    board.poke(0x0800_0000, new Uint8Array([1, 2, 3, 4]));
    await expect(eraseDevice(conn, device, details, { addresses: [0x0800_0000, 0x9000_0000] }, undefined)).rejects.toMatchObject({
      code: 'ADDRESS_UNREACHABLE',
      remedy: 'choose-loader',
    });
    expect(board.read(0x0800_0000, 4)).toEqual(new Uint8Array([1, 2, 3, 4])); // the reachable sector was not erased either
    expect(board.mode).toBe('rom');
  });
});
