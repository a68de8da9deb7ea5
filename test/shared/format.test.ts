import { describe, expect, it } from 'vitest';
import { bytesToHex, formatRate, hex, hex16, hex32, hexDump, hexToBytes, hexUpper, vidPid } from '../../shared/format.js';
import { errorTitle } from '../../shared/errors.js';

describe('shared formatting', () => {
  it('writes addresses as 0x and eight digits, also above 0x7fffffff', () => {
    expect(hex32(0x0800_0000)).toBe('0x08000000');
    expect(hex32(0x9000_0000)).toBe('0x90000000');
    expect(hex32(-1)).toBe('0xffffffff');
  });

  it('writes 16-bit fields and VID:PID as lsusb does', () => {
    expect(hex16(0x483)).toBe('0x0483');
    expect(vidPid(0x0483, 0xdf11)).toBe('0483:df11');
  });

  it('writes ST-style upper-case addresses and keeps digits a narrow width cannot hold', () => {
    expect(hexUpper(0x9000_0000, 8)).toBe('0x90000000');
    expect(hexUpper(0xabc, 4)).toBe('0x0ABC');
    expect(hex(0x12345, 4)).toBe('0x12345');
  });

  it('turns bytes into hex pairs and back', () => {
    const bytes = new Uint8Array([0x00, 0x12, 0xab, 0xff]);
    expect(bytesToHex(bytes)).toBe('0012abff');
    expect([...hexToBytes('0012abff')]).toEqual([...bytes]);
  });

  it('dumps 16 bytes a row with the offset', () => {
    const rows = hexDump(Array.from({ length: 20 }, (_, i) => i)).split('\n');
    expect(rows).toEqual(['0000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f', '0010  10 11 12 13']);
  });

  it('writes a rate as a size per second, and a dash when nothing moved', () => {
    expect(formatRate(19 * 1024)).toBe('19 KiB/s');
    expect(formatRate(0)).toBe('—');
  });

  it('titles an error by its code, and shows an unknown code as itself', () => {
    expect(errorTitle('USB_STALL')).toBe('Device refused the request (STALL)');
    expect(errorTitle('NO_SUCH_CODE')).toBe('NO_SUCH_CODE');
  });
});
