// The overlap extension of the simulated loader on the wire (docs/loader-protocol.md §8): command 0xB1
// turns on background writes; a block is then programmed while the next one is on the wire, and what the
// board holds shows when each block really reached the part.
import { describe, expect, it } from 'vitest';
import { SimBus, DfuState, DfuStatus, SIM_LOADER_F746, simLoaderImage, simLoaderImages } from '../../src-main/sim/index';
import { VirtualClock } from '../../src-main/util/clock';
import { abort, command, dnload, finish, getStatus, leave, openDfu, pattern, setAddress, upload, write } from './dfu-host';

const QSPI = 0x90000000;
const BLOCK = SIM_LOADER_F746.transferSize;
const blank = (n: number) => new Uint8Array(n).fill(0xff);

async function stagedF746() {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  const board = bus.addBoard('stm32f746', { loaders: simLoaderImages('stm32f746') });
  const rom = board.device!;
  await openDfu(rom);
  await write(rom, clock, SIM_LOADER_F746.loadAddress, simLoaderImage('stm32f746'), 2048);
  const appeared = new Promise<USBDevice>((resolve) => bus.onConnect(resolve));
  await leave(rom, clock, SIM_LOADER_F746.loadAddress);
  const dev = await appeared;
  await openDfu(dev);
  return { clock, board, rom, dev };
}

/** Staged, background writes on, the pointer at the QSPI's first byte. */
async function overlapped() {
  const s = await stagedF746();
  expect((await command(s.dev, s.clock, [0xb1])).state).toBe(DfuState.dfuDNLOAD_IDLE);
  await setAddress(s.dev, s.clock, QSPI);
  return s;
}

describe('simulated loader: background writes (command 0xB1)', () => {
  it('accepts a block at once, programs it while the next arrives, says busy only while the previous is still programming, and drains', async () => {
    const { clock, board, dev } = await overlapped();
    const a = pattern(BLOCK, 1);
    const b = pattern(BLOCK, 2);
    await dnload(dev, 2, a);
    // Accepted at once: idle, nothing to wait for; the part has not programmed it yet.
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuDNLOAD_IDLE, poll: 0, status: DfuStatus.OK });
    expect(board.read(QSPI, BLOCK)).toEqual(blank(BLOCK));
    await dnload(dev, 3, b);
    // Block 2 needs 16 pages × 0.5 ms = 8 ms; the wire took less: busy for the rest of block 2 only.
    const second = await finish(dev, clock);
    expect(second.polls[0]!.state).toBe(DfuState.dfuDNBUSY);
    expect(second.polls[0]!.poll).toBeGreaterThanOrEqual(1);
    expect(second.polls[0]!.poll).toBeLessThan(8);
    expect(second.last).toMatchObject({ state: DfuState.dfuDNLOAD_IDLE, status: DfuStatus.OK });
    expect(board.read(QSPI, BLOCK)).toEqual(a);
    // Draining: a GETSTATUS in dfuDNLOAD-IDLE is busy until the last block is on the part.
    const drain = await finish(dev, clock);
    expect(drain.polls[0]!.state).toBe(DfuState.dfuDNBUSY);
    expect(drain.last.state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(board.read(QSPI + BLOCK, BLOCK)).toEqual(b);
    // Drained: a further GETSTATUS is plainly idle.
    expect(await getStatus(dev)).toMatchObject({ state: DfuState.dfuDNLOAD_IDLE, poll: 0 });
  });

  it('while a block programs, UPLOAD, ABORT and leave STALL and leave the state and the block alone', async () => {
    const { clock, board, dev } = await overlapped();
    const a = pattern(BLOCK, 3);
    await dnload(dev, 2, a);
    await getStatus(dev);
    await expect(upload(dev, 2, BLOCK)).rejects.toThrow();
    await expect(abort(dev)).rejects.toThrow();
    await expect(dnload(dev, 0, new Uint8Array(0))).rejects.toThrow();
    const drain = await finish(dev, clock);
    expect(drain.last).toMatchObject({ state: DfuState.dfuDNLOAD_IDLE, status: DfuStatus.OK });
    expect(board.read(QSPI, BLOCK)).toEqual(a);
    expect(board.mode).toBe('loader');
  });

  it('a failed background write is reported at the next GETSTATUS; the block sent meanwhile is dropped', async () => {
    const { clock, board, dev } = await overlapped();
    board.faults.add({ kind: 'status', on: 'write', status: DfuStatus.errWRITE });
    await dnload(dev, 2, pattern(BLOCK, 4));
    expect((await getStatus(dev)).state).toBe(DfuState.dfuDNLOAD_IDLE); // accepted; fails on the part
    await dnload(dev, 3, pattern(BLOCK, 5));
    const next = await finish(dev, clock);
    expect(next.last).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errWRITE });
    await clock.sleep(100);
    // Neither block reached the part: the failed one did not store, the next was never started.
    expect(board.read(QSPI, 2 * BLOCK)).toEqual(blank(2 * BLOCK));
  });

  it('a block outside the memory is refused as its own error, after the previous one was programmed', async () => {
    const { clock, board, dev } = await overlapped();
    const a = pattern(BLOCK, 6);
    await dnload(dev, 2, a);
    await getStatus(dev);
    // Block 4098 lands 16 MB past the pointer: outside the QSPI (errTARGET).
    await dnload(dev, 2 + (16 * 1024 * 1024) / BLOCK, pattern(BLOCK, 7));
    const r = await finish(dev, clock);
    expect(r.last).toMatchObject({ state: DfuState.dfuERROR, status: DfuStatus.errTARGET });
    expect(board.read(QSPI, BLOCK)).toEqual(a);
  });

  it('without 0xB1 nothing changes: GETSTATUS answers busy until the block is on the part (protocol v1)', async () => {
    const { clock, board, dev } = await stagedF746();
    await setAddress(dev, clock, QSPI + 0x20000);
    const data = pattern(BLOCK, 8);
    await dnload(dev, 2, data);
    const r = await finish(dev, clock);
    expect(r.polls[0]).toMatchObject({ state: DfuState.dfuDNBUSY, poll: 8 });
    expect(r.last.state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(board.read(QSPI + 0x20000, BLOCK)).toEqual(data);
  });

  it('an ABORT ends background writes: the next download is block by block again, as a host without the extension expects', async () => {
    const { clock, board, dev } = await overlapped();
    await dnload(dev, 2, pattern(BLOCK, 9));
    await getStatus(dev);
    await finish(dev, clock); // drained
    await abort(dev);
    await setAddress(dev, clock, QSPI + 0x40000);
    const data = pattern(BLOCK, 10);
    await dnload(dev, 2, data);
    const r = await finish(dev, clock);
    expect(r.polls[0]).toMatchObject({ state: DfuState.dfuDNBUSY, poll: 8 });
    expect(r.last.state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect(board.read(QSPI + 0x40000, BLOCK)).toEqual(data);
  });

  it('the ROM bootloader does not list 0xB1 and refuses it', async () => {
    const clock = new VirtualClock();
    const board = new SimBus({ clock }).addBoard('stm32f746', { loaders: simLoaderImages('stm32f746') });
    const rom = board.device!;
    await openDfu(rom);
    expect([...(await upload(rom, 0, 16))]).not.toContain(0xb1);
    await abort(rom);
    await expect(dnload(rom, 0, new Uint8Array([0xb1]))).rejects.toThrow();
  });
});
