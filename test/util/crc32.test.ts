import { describe, expect, it } from 'vitest';
import { crc32, crc32Update } from '../../src-main/util/crc32.js';
import { zlib } from './node-zlib.js';

describe('crc32', () => {
  it('matches the standard check value for "123456789"', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('agrees with zlib on random data of every length near the 4-byte stride', () => {
    for (let len = 0; len < 40; len++) {
      const data = Uint8Array.from({ length: len + 1000 }, (_, i) => (i * 131 + len * 7) & 0xff);
      expect(crc32(data)).toBe(zlib.crc32(data));
    }
  });

  it('can be computed in pieces', () => {
    const data = Uint8Array.from({ length: 10_001 }, (_, i) => (i * 17) & 0xff);
    const whole = crc32(data);
    const reg = crc32Update(crc32Update(0xffffffff, data.subarray(0, 3333)), data.subarray(3333));
    expect((reg ^ 0xffffffff) >>> 0).toBe(whole);
  });
});
