// The util/ layer, below everything in src-main/: the Clock (this file) and CRC-32 (crc32.ts).
// Time for everything that waits: the engine's poll timeouts, the simulator's erase/program times.
// Production uses RealClock; tests use VirtualClock (waits cost no wall time, concurrent waits overlap
// as they would in reality); demos and benchmarks use ScaledClock (real waits, shortened by a factor).

export interface Clock {
  /** Milliseconds on this clock's own time line (modelled time for virtual and scaled clocks). */
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal!));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * Real time that stands still while `hold()` is in force: a simulated board whose CPU is emulated in
 * another process holds it while that process computes, so the host's own timeouts measure the
 * device's time, not how busy this machine is. Without holds it is RealClock.
 */
export class PausableRealClock implements Clock {
  private readonly real = new RealClock();
  private held = 0;
  private holds = 0;
  private since = 0;

  now(): number {
    const t = performance.now();
    return t - this.held - (this.holds > 0 ? t - this.since : 0);
  }

  hold(): () => void {
    if (this.holds++ === 0) this.since = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) this.held += performance.now() - this.since;
    };
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const due = this.now() + Math.max(0, ms);
    for (;;) {
      const left = due - this.now();
      if (left <= 0 && this.holds === 0) return;
      await this.real.sleep(Math.max(left, 1), signal);
    }
  }
}

/**
 * Paced modelled time, for demos: every wait takes its real duration divided by `scale`, and now()
 * advances only as waits complete (to each wait's due time), as VirtualClock's does. The host's own
 * CPU time therefore costs no modelled time: a loaded machine slows a demo down, but it never makes
 * a 100 ms stall look like 5 s of device time and trip a device timeout.
 */
export class ScaledClock implements Clock {
  private time = 0;
  private readonly real = new RealClock();
  constructor(readonly scale: number) {
    if (!(scale > 0)) throw new RangeError('scale must be positive');
  }
  now(): number {
    return this.time;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const at = this.time + Math.max(0, ms);
    await this.real.sleep(ms / this.scale, signal);
    if (at > this.time) this.time = at;
  }
}

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * Discrete-event time: a sleep costs no wall time. Whenever the program has nothing else to do
 * (checked on a macrotask, after all pending promise callbacks ran) time jumps to the earliest
 * pending wake-up. Concurrent sleepers therefore overlap exactly as they would in real time.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: Timer[] = [];
  private scheduled = false;
  private holds = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, resolve: () => {} };
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(abortReason(signal!));
      };
      timer.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
      this.schedule();
    });
  }

  /**
   * Holds time still while work outside this event loop computes what happens next (the emulated CPU
   * in its own process): without it the clock would jump to the next timer while the answer is on
   * its way. Returns the release; time moves again when every hold is released.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0) this.schedule();
    };
  }

  private schedule(): void {
    if (this.scheduled || this.holds > 0) return;
    this.scheduled = true;
    setImmediate(() => this.fire());
  }

  private fire(): void {
    this.scheduled = false;
    if (this.timers.length === 0 || this.holds > 0) return;
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const first = this.timers[0]!;
    this.time = Math.max(this.time, first.at);
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const t of due) t.resolve();
    if (this.timers.length > 0) this.schedule();
  }
}
