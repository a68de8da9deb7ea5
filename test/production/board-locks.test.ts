import { describe, expect, it } from 'vitest';
import { BoardLocks } from '../../src-main/operations/board-locks.js';

describe('board locks', () => {
  it('a second request for a busy board is refused with BUSY naming the board and its holder', () => {
    const locks = new BoardLocks();
    const lock = locks.acquire('00000008FFFF', 'production');
    expect(() => locks.acquire('00000008FFFF', 'read')).toThrow(
      expect.objectContaining({ code: 'BUSY', message: expect.stringContaining('00000008FFFF'), context: expect.objectContaining({ serial: '00000008FFFF', holder: 'production', requested: 'read' }) }),
    );
    expect(locks.tryAcquire('00000008FFFF', 'read')).toBeUndefined();
    // Other boards are independent.
    expect(locks.acquire('00000009FFFF', 'read').boardId).toBe('00000009FFFF');
    expect(locks.busy().sort()).toEqual(['00000008FFFF', '00000009FFFF']);
    lock.release();
    expect(locks.isBusy('00000008FFFF')).toBe(false);
    expect(locks.acquire('00000008FFFF', 'read').operation).toBe('read');
  });

  it('releasing twice does not free a board another operation took since', () => {
    const locks = new BoardLocks();
    const a = locks.acquire('X', 'flash');
    a.release();
    const b = locks.acquire('X', 'read');
    a.release();
    expect(locks.holder('X')).toBe('read');
    b.release();
    expect(locks.holder('X')).toBeUndefined();
  });

  it('with() holds the board for the body and frees it when the body throws', async () => {
    const locks = new BoardLocks();
    let during: string | undefined;
    await expect(
      locks.with('Y', 'erase', async () => {
        during = locks.holder('Y');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(during).toBe('erase');
    expect(locks.isBusy('Y')).toBe(false);
  });
  it('a probe does not run on a board an operation holds; an operation waits for the probes already running', async () => {
    const locks = new BoardLocks();
    const order: string[] = [];
    let finishProbe!: () => void;
    const probing = locks.probe('00000008FFFF', async () => {
      order.push('probe starts');
      await new Promise<void>((res) => (finishProbe = res));
      order.push('probe ends');
      return 'descriptors';
    });
    const erase = locks.with('00000008FFFF', 'erase', async () => {
      order.push('erase starts');
      // Held: a probe asked for now does not run.
      expect(await locks.probe('00000008FFFF', async () => order.push('second probe'))).toBeUndefined();
      return 'erased';
    });
    await new Promise((res) => setImmediate(res));
    expect(order).toEqual(['probe starts']);
    finishProbe();
    expect(await probing).toBe('descriptors');
    expect(await erase).toBe('erased');
    expect(order).toEqual(['probe starts', 'probe ends', 'erase starts']);
    // Free again: probes run.
    expect(await locks.probe('00000008FFFF', async () => 'again')).toBe('again');
  });
});
