// Intel HEX reader (Intel "Hexadecimal Object File Format Specification" rev A, 1988): record types
// 00 data, 01 end of file, 02 extended segment address, 03 start segment address, 04 extended linear
// address, 05 start linear address. Fed in chunks (RecordParser), decoding data straight into the image.

import { BootBridgeError } from '../../shared/errors';
import { buildImage, type FirmwareImage } from './image';
import { HEX_VALUE, isLineSpace, RecordParser } from './runs';

const COLON = 0x3a;

export class IntelHexParser extends RecordParser {
  private base = 0;
  private entry: number | undefined;

  protected scan(b: Uint8Array, from: number, final: boolean): number {
    const len = b.length;
    const T = HEX_VALUE;
    let pos = from;

    while (!this.done) {
      pos = this.nextRecord(b, pos, final, 'Intel HEX file has no end-of-file record (type 01): it is truncated');
      if (pos >= len) return pos;
      const line = this.line;
      if (b[pos] !== COLON) throw this.invalid(`expected ':' at the start of a record, found ${describe(b[pos]!)}`, line, pos);
      if (pos + 11 > len) {
        if (!final) break;
        throw this.invalid('record truncated', line, pos);
      }
      const c = (T[b[pos + 1]!]! << 4) | T[b[pos + 2]!]!;
      const hi = (T[b[pos + 3]!]! << 4) | T[b[pos + 4]!]!;
      const lo = (T[b[pos + 5]!]! << 4) | T[b[pos + 6]!]!;
      const type = (T[b[pos + 7]!]! << 4) | T[b[pos + 8]!]!;
      if ((c | hi | lo | type) > 0xff) throw this.invalid('non-hex character in record header', line, pos);
      const end = pos + 11 + 2 * c;
      // The character after the record is checked too, so a chunk must hold it (or be the last).
      if (end >= len && !final) break;
      if (end > len) throw this.invalid(`record truncated: byte count ${c} runs past the end of the file`, line, pos);
      const offset = (hi << 8) | lo;
      let sum = c + hi + lo + type;
      let p = pos + 9;
      const dataEnd = p + 2 * c;

      if (type === 0) {
        // Data: decode straight into the run arena, no intermediate array.
        const { arena, at } = this.runs.reserve(this.base + offset, c, line);
        let bad = 0;
        for (let i = at; p < dataEnd; p += 2, i++) {
          const v = (T[b[p]!]! << 4) | T[b[p + 1]!]!;
          bad |= v;
          arena[i] = v;
          sum += v;
        }
        if (bad > 0xff) throw this.invalid('non-hex character in data', line, pos);
      } else {
        let value = 0;
        for (; p < dataEnd; p += 2) {
          const v = (T[b[p]!]! << 4) | T[b[p + 1]!]!;
          if (v > 0xff) throw this.invalid('non-hex character in data', line, pos);
          value = value * 256 + v;
          sum += v;
        }
        const need = type === 1 ? 0 : type === 2 || type === 4 ? 2 : type === 3 || type === 5 ? 4 : -1;
        if (need < 0) {
          throw new BootBridgeError('FIRMWARE_UNSUPPORTED', `Intel HEX record type ${hexByte(type)} is not defined (00–05 are)`, { line, offset: this.origin + pos });
        }
        if (c !== need) throw this.invalid(`record type ${hexByte(type)} must carry ${need} bytes, has ${c}`, line, pos);
        if (type === 1) this.done = true;
        else if (type === 2) this.base = value * 16; // segment base: address = USBA·16 + offset
        else if (type === 4) this.base = value * 0x10000; // upper 16 bits of a 32-bit linear address
        else if (type === 3) this.entry = ((value >>> 16) * 16 + (value & 0xffff)) >>> 0; // CS:IP
        else this.entry = value >>> 0; // type 5: EIP, the entry point ld puts there
      }
      const ck = (T[b[dataEnd]!]! << 4) | T[b[dataEnd + 1]!]!;
      if (ck > 0xff) throw this.invalid('non-hex character in checksum', line, pos);
      if (((sum + ck) & 0xff) !== 0) {
        const expected = (0x100 - (sum & 0xff)) & 0xff;
        throw new BootBridgeError('CHECKSUM_MISMATCH', `Intel HEX checksum wrong on line ${line}: record says ${hexByte(ck)}, bytes sum to ${hexByte(expected)}`, {
          line,
          offset: this.origin + pos,
        });
      }
      pos = end;
      if (pos < len && !isLineSpace(b[pos]!)) throw this.invalid('record longer than its byte count says', line, pos);
    }
    return pos;
  }

  protected image(): FirmwareImage {
    return buildImage('hex', this.runs.pieces, this.entry === undefined ? {} : { entry: this.entry });
  }

  private invalid(message: string, line: number, at: number): BootBridgeError {
    return new BootBridgeError('FIRMWARE_INVALID', `Intel HEX line ${line}: ${message}`, { line, offset: this.origin + at });
  }
}

export function parseIntelHex(bytes: Uint8Array): FirmwareImage {
  const parser = new IntelHexParser(bytes.length);
  parser.push(bytes);
  return parser.end();
}

export function hexByte(n: number): string {
  return '0x' + n.toString(16).padStart(2, '0');
}

export function describe(b: number): string {
  return b >= 0x21 && b < 0x7f ? `'${String.fromCharCode(b)}'` : hexByte(b);
}
