import { describe, expect, it } from 'vitest';
import { DEFAULT_BUSY_LIMIT_MS, QUIRKS, matchingQuirks, quirksFor } from '../../src-main/dfu/quirks.js';

const ST = { vendorId: 0x0483, productId: 0xdf11 };

describe('quirk table', () => {
  it('every entry names the device, the symptom and its source', () => {
    for (const q of QUIRKS) {
      expect(q.device).not.toBe('');
      expect(q.symptom.length).toBeGreaterThan(20);
      expect(q.source.length).toBeGreaterThan(10);
      expect(Object.keys(q.effect).length).toBeGreaterThan(0);
    }
    expect(new Set(QUIRKS.map((q) => q.id)).size).toBe(QUIRKS.length);
  });

  it('forces 35 s on the first mass-erase poll when the ROM reports 100 ms (F405)', () => {
    const q = quirksFor({ ...ST, bcdDevice: 0x2100 });
    expect(q.pollMs('massErase', 100, true)).toBe(35_000);
    expect(q.pollMs('massErase', 100, false)).toBe(100);
    expect(q.pollMs('massErase', 250, true)).toBe(250);
    expect(q.pollMs('erase', 100, true)).toBe(100);
  });

  it('applies nothing to other vendors', () => {
    const q = quirksFor({ vendorId: 0x1209, productId: 0x0001, bcdDevice: 0x2100 });
    expect(q.applied).toEqual([]);
    expect(q.pollMs('massErase', 100, true)).toBe(100);
    expect(q.busyLimitMs('erase')).toBe(DEFAULT_BUSY_LIMIT_MS.erase);
  });

  it('applies device-ID entries only when the chip is known', () => {
    expect(matchingQuirks({ ...ST, bcdDevice: 0x2200 }).map((q) => q.id)).not.toContain('h743-stuck-busy');
    const h7 = quirksFor({ ...ST, bcdDevice: 0x2200, deviceId: 0x450 });
    expect(h7.clearStuckBusy).toBe(true);
    const l4 = quirksFor({ ...ST, deviceId: 0x435 });
    expect(l4.pollMs('erase', 21, true)).toBe(30);
    expect(l4.retryStalledStatus).toBe(true);
  });
});
