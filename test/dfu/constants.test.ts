import { describe, expect, it } from 'vitest';
import { formatError } from '../../shared/errors.js';
import { DFU_STATE, DFU_STATE_NAMES, DFU_STATUS, stateName, statusMeaning, statusName } from '../../src-main/dfu/constants.js';
import { parseStatus, statusError } from '../../src-main/dfu/dfu.js';

describe('DFU status codes', () => {
  it('every status code 0x00–0x0F has its spec name and a distinct meaning', () => {
    const meanings = new Set<string>();
    for (const [name, code] of Object.entries(DFU_STATUS)) {
      expect(statusName(code)).toBe(name);
      const m = statusMeaning(code);
      expect(m.length).toBeGreaterThan(15);
      meanings.add(m);
    }
    expect(meanings.size).toBe(16);
  });

  it('an unknown code still gets a message naming the number', () => {
    expect(statusName(0x42)).toBe('status 66');
    expect(statusMeaning(0x42)).toContain('66');
  });

  it('every state has the name the spec writes', () => {
    expect(DFU_STATE_NAMES).toHaveLength(11);
    expect(stateName(DFU_STATE.dfuDNLOAD_IDLE)).toBe('dfuDNLOAD-IDLE');
    expect(stateName(DFU_STATE.dfuERROR)).toBe('dfuERROR');
    expect(stateName(11)).toBe('state 11');
  });

  it.each(Object.entries(DFU_STATUS).filter(([, c]) => c !== 0))('a GETSTATUS answer with %s becomes a readable DFU_STATUS error', (name, code) => {
    const r = parseStatus(new Uint8Array([code, 0, 0, 0, DFU_STATE.dfuERROR, 0]));
    const e = statusError(r, { address: 0x08004000, alt: 0 });
    expect(e.code).toBe('DFU_STATUS');
    expect(e.context).toMatchObject({ statusName: name, stateName: 'dfuERROR', address: 0x08004000, alt: 0 });
    const text = formatError(e.toJSON());
    expect(text).toContain(name);
    expect(text).toContain(statusMeaning(code));
    expect(text).toContain('address 0x08004000');
  });
});

describe('parseStatus', () => {
  it('reads the 24-bit little-endian poll timeout', () => {
    expect(parseStatus(new Uint8Array([0, 0x68, 0x01, 0x02, 4, 0]))).toMatchObject({ status: 0, pollTimeoutMs: 0x020168, state: 4, stateName: 'dfuDNBUSY' });
  });
  it('rejects a short answer as a protocol error', () => {
    expect(() => parseStatus(new Uint8Array([0, 0, 0]))).toThrow(expect.objectContaining({ code: 'DFU_PROTOCOL' }));
  });
});
