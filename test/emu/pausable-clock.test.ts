// The clock of simulated boards in real time: it stands still while an emulated CPU computes.
import { describe, expect, it } from 'vitest';
import { PausableRealClock } from '../../src-main/util/clock.js';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the emulator's computation, as seen from this process
  }
};

describe('PausableRealClock', () => {
  it('does not count time spent under hold(), and a sleep ends that much later in real time', async () => {
    const clock = new PausableRealClock();
    const t0 = clock.now();
    const release = clock.hold();
    busy(60);
    expect(clock.now() - t0).toBeLessThan(5);
    const wall0 = performance.now();
    const slept = clock.sleep(30);
    busy(40);
    release();
    await slept;
    expect(performance.now() - wall0).toBeGreaterThanOrEqual(65);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(30);
    expect(clock.now() - t0).toBeLessThan(60);
  });
});
