import { describe, expect, it } from 'vitest';
import { flashDevice, planFlash } from '../../src-main/operations/operations.js';
import { collect, demo, expectBytes, firstBoard, simConnection, simLoader } from './helpers.js';

describe('flashing the demo ELF end to end', () => {
  it('writes internal flash through the ROM and QSPI through the staged loader, both read back identical', async () => {
    const conn = simConnection();
    const { board, device, details } = await firstBoard(conn);
    const fw = await demo();
    const loader = await simLoader();
    const p = planFlash(details, fw, loader, { routeInternalViaLoader: false });
    expect(p.errors).toEqual([]);
    expect(p.stages.map((s) => s.name)).toEqual(['rom', 'staging', 'loader', 'leave']);
    const { events, onEvent } = collect();
    const result = await flashDevice(conn, device, details, fw, loader, p, { onEvent });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    for (const seg of fw.image.segments) expectBytes(board.read(seg.address, seg.data.length), seg.data);
    expect(result.verified.map((v) => v.method)).toContain('crc32');
    expect(result.left).toBe(true);
    expect(board.mode).toBe('app');
    expect(events.some((e) => e.kind === 'progress' && e.stage === 'loader' && e.phase === 'write')).toBe(true);
  });
});
