// The DFU file suffix's CRC (DFU 1.1 Appendix B): the CRC-32 register over every byte before it,
// stored without the final inversion. The CRC itself lives in util/crc32.ts, shared with verification.

import { crc32Update } from '../util/crc32.js';

export { crc32, crc32Update } from '../util/crc32.js';

/** dwCRC of a DFU suffix: CRC-32 register over every byte before it, not inverted (DFU 1.1 Appendix B). */
export function dfuSuffixCrc(bytes: Uint8Array): number {
  return crc32Update(0xffffffff, bytes);
}
