// One operation per board at a time. Every front end (production station, GUI service) takes a lock
// by board id (serial, else port path) before touching a board; a second request for a busy board is
// refused with BUSY naming the board and what holds it.
//   const lock = boardLocks.acquire(info.id, 'production'); try { await boardLocks.settled(info.id); … } finally { lock.release(); }
// A look at a board outside an operation (the device list reading its descriptors) is a probe: it
// runs only while no operation holds the board, and an operation that takes the board waits for the
// probes already on the wire (settled) before its first request. Their transfers never interleave:
// a probe opens, claims, releases and closes the device, which would pull it from under the operation.

import { BootBridgeError } from '../../shared/errors.js';

export interface BoardLock {
  readonly boardId: string;
  /** What holds the board ("production", "flash", "read"…), for the BUSY message. */
  readonly operation: string;
  /** Idempotent: releasing twice, or after another holder took the board, does nothing. */
  release(): void;
}

export class BoardLocks {
  private readonly held = new Map<string, BoardLock>();
  /** Probes running now, by board. */
  private readonly probes = new Map<string, Set<Promise<unknown>>>();

  /** Takes the board or throws BUSY. */
  acquire(boardId: string, operation: string): BoardLock {
    const holder = this.held.get(boardId);
    if (holder) {
      throw new BootBridgeError('BUSY', `Board ${boardId} is busy (${holder.operation} in progress); a second operation on it was refused`, {
        serial: boardId,
        holder: holder.operation,
        requested: operation,
      });
    }
    let released = false;
    const lock: BoardLock = {
      boardId,
      operation,
      release: () => {
        if (released) return;
        released = true;
        if (this.held.get(boardId) === lock) this.held.delete(boardId);
      },
    };
    this.held.set(boardId, lock);
    return lock;
  }

  /** Takes the board, or returns undefined when it is busy. */
  tryAcquire(boardId: string, operation: string): BoardLock | undefined {
    return this.held.has(boardId) ? undefined : this.acquire(boardId, operation);
  }

  /** Runs `body` holding the board, once the probes on it are done; the lock is released however it ends. */
  async with<T>(boardId: string, operation: string, body: () => Promise<T>): Promise<T> {
    const lock = this.acquire(boardId, operation);
    try {
      await this.settled(boardId);
      return await body();
    } finally {
      lock.release();
    }
  }

  /**
   * Runs `body` (a short look at the board) unless an operation holds it: then `body` is not run and
   * the answer is undefined. Probes may overlap one another; an operation waits for them (settled).
   */
  async probe<T>(boardId: string, body: () => Promise<T>): Promise<T | undefined> {
    if (this.held.has(boardId)) return undefined;
    const running = body();
    let set = this.probes.get(boardId);
    if (!set) this.probes.set(boardId, (set = new Set()));
    set.add(running);
    try {
      return await running;
    } finally {
      set.delete(running);
      if (set.size === 0 && this.probes.get(boardId) === set) this.probes.delete(boardId);
    }
  }

  /** Resolves when no probe of the board is running (call it holding the board: no new one starts). */
  async settled(boardId: string): Promise<void> {
    for (let set = this.probes.get(boardId); set; set = this.probes.get(boardId)) {
      await Promise.allSettled([...set]);
    }
  }

  isBusy(boardId: string): boolean {
    return this.held.has(boardId);
  }

  /** The operation holding a board, if any. */
  holder(boardId: string): string | undefined {
    return this.held.get(boardId)?.operation;
  }

  /** Ids of the boards held now. */
  busy(): string[] {
    return [...this.held.keys()];
  }
}

/** The process-wide locks: every front end in one process shares them. */
export const boardLocks = new BoardLocks();
