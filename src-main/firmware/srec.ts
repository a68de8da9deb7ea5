// Motorola S-record reader (S0 header; S1/S2/S3 data with 16/24/32-bit addresses; S5/S6 record counts;
// S7/S8/S9 start address and end). Fed in chunks like the Intel HEX reader. Format as documented in the
// SREC(5) man page and binutils' bfd/srec.c output, which the tests compare against.

import { BootBridgeError } from '../../shared/errors';
import { buildImage, type FirmwareImage } from './image';
import { describe, hexByte } from './ihex';
import { HEX_VALUE, isLineSpace, RecordParser } from './runs';

const S = 0x53;
/** Address bytes per record type S0…S9 (S4 is reserved: -1). */
const ADDRESS_BYTES = [2, 2, 3, 4, -1, 2, 3, 4, 3, 2];

export class SrecParser extends RecordParser {
  private entry: number | undefined;
  private dataRecords = 0;

  protected scan(b: Uint8Array, from: number, final: boolean): number {
    const len = b.length;
    const T = HEX_VALUE;
    let pos = from;

    while (!this.done) {
      pos = this.nextRecord(b, pos, final, 'S-record file has no termination record (S7, S8 or S9): it is truncated');
      if (pos >= len) return pos;
      const line = this.line;
      if (b[pos] !== S) throw this.invalid(`expected 'S' at the start of a record, found ${describe(b[pos]!)}`, line, pos);
      if (pos + 4 > len) {
        if (!final) break;
        throw this.invalid('record truncated', line, pos);
      }
      const type = b[pos + 1]! - 0x30;
      const addressBytes = type >= 0 && type <= 9 ? ADDRESS_BYTES[type]! : -2;
      if (addressBytes === -2) throw this.invalid(`unknown record type ${describe(b[pos + 1]!)}`, line, pos);
      if (addressBytes === -1) {
        throw new BootBridgeError('FIRMWARE_UNSUPPORTED', `S-record line ${line}: record type S4 is reserved`, { line, offset: this.origin + pos });
      }
      const c = (T[b[pos + 2]!]! << 4) | T[b[pos + 3]!]!;
      if (c > 0xff) throw this.invalid('non-hex character in byte count', line, pos);
      if (c < addressBytes + 1) throw this.invalid(`byte count ${c} is too small for an S${type} record`, line, pos);
      const end = pos + 4 + 2 * c;
      // The character after the record is checked too, so a chunk must hold it (or be the last).
      if (end >= len && !final) break;
      if (end > len) throw this.invalid(`record truncated: byte count ${c} runs past the end of the file`, line, pos);

      let sum = c;
      let p = pos + 4;
      let address = 0;
      const addressEnd = p + 2 * addressBytes;
      for (; p < addressEnd; p += 2) {
        const v = (T[b[p]!]! << 4) | T[b[p + 1]!]!;
        if (v > 0xff) throw this.invalid('non-hex character in address', line, pos);
        address = address * 256 + v;
        sum += v;
      }
      const dataEnd = end - 2;
      const dataCount = c - addressBytes - 1;

      if (type >= 1 && type <= 3) {
        const { arena, at } = this.runs.reserve(address, dataCount, line);
        let bad = 0;
        for (let i = at; p < dataEnd; p += 2, i++) {
          const v = (T[b[p]!]! << 4) | T[b[p + 1]!]!;
          bad |= v;
          arena[i] = v;
          sum += v;
        }
        if (bad > 0xff) throw this.invalid('non-hex character in data', line, pos);
        this.dataRecords++;
      } else {
        // S0 carries a module name, the others carry nothing but the address field; sum what is there.
        for (; p < dataEnd; p += 2) {
          const v = (T[b[p]!]! << 4) | T[b[p + 1]!]!;
          if (v > 0xff) throw this.invalid('non-hex character in data', line, pos);
          sum += v;
        }
      }
      const ck = (T[b[dataEnd]!]! << 4) | T[b[dataEnd + 1]!]!;
      if (ck > 0xff) throw this.invalid('non-hex character in checksum', line, pos);
      // The checksum is the ones' complement of the low byte of the sum of count, address and data.
      if (((sum + ck) & 0xff) !== 0xff) {
        throw new BootBridgeError('CHECKSUM_MISMATCH', `S-record checksum wrong on line ${line}: record says ${hexByte(ck)}, bytes sum to ${hexByte(~sum & 0xff)}`, {
          line,
          offset: this.origin + pos,
        });
      }
      if (type === 5 || type === 6) {
        // S5/S6 count the S1/S2/S3 records before them, modulo their 16- or 24-bit field.
        const modulo = type === 5 ? 0x10000 : 0x1000000;
        if (address !== this.dataRecords % modulo) {
          throw this.invalid(`S${type} says ${address} data records, the file has ${this.dataRecords} before it`, line, pos);
        }
      } else if (type >= 7) {
        this.entry = address >>> 0;
        this.done = true;
      }
      pos = end;
      if (pos < len && !isLineSpace(b[pos]!)) throw this.invalid('record longer than its byte count says', line, pos);
    }
    return pos;
  }

  protected image(): FirmwareImage {
    return buildImage('srec', this.runs.pieces, this.entry === undefined ? {} : { entry: this.entry });
  }

  private invalid(message: string, line: number, offset: number): BootBridgeError {
    return new BootBridgeError('FIRMWARE_INVALID', `S-record line ${line}: ${message}`, { line, offset: this.origin + offset });
  }
}

export function parseSrec(bytes: Uint8Array): FirmwareImage {
  const parser = new SrecParser(bytes.length);
  parser.push(bytes);
  return parser.end();
}
