import { describe, expect, it } from 'vitest';
import { ScaledClock, VirtualClock } from '../../src-main/util/clock.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* the host's own work */
  }
}

describe('VirtualClock', () => {
  it('overlaps concurrent waits as real time would', async () => {
    const clock = new VirtualClock();
    const done: [string, number][] = [];
    await Promise.all([
      clock.sleep(300).then(() => done.push(['a', clock.now()])),
      clock.sleep(100).then(() => done.push(['b', clock.now()])),
      clock.sleep(100).then(() => clock.sleep(100)).then(() => done.push(['c', clock.now()])),
    ]);
    expect(done).toEqual([['b', 100], ['c', 200], ['a', 300]]);
  });

  it('rejects an aborted wait and forgets it', async () => {
    const clock = new VirtualClock();
    const ac = new AbortController();
    const p = clock.sleep(1000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    await clock.sleep(10);
    expect(clock.now()).toBe(10);
  });
});

describe('ScaledClock', () => {
  it('advances modelled time by the waits only: the host\'s own work costs no device time', async () => {
    const clock = new ScaledClock(1000);
    await clock.sleep(500);
    busy(30); // at ×1000 this would be 30 s of "device time" if CPU time counted
    await clock.sleep(500);
    expect(clock.now()).toBe(1000);
  });

  it('overlaps concurrent waits', async () => {
    const clock = new ScaledClock(1000);
    await Promise.all([clock.sleep(2000), clock.sleep(1000).then(() => clock.sleep(1000))]);
    expect(clock.now()).toBe(2000);
  });
});
