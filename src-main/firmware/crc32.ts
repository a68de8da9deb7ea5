// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the CRC of zip and of the DFU file suffix.
// DFU 1.1 Appendix B stores the register without the final inversion; dfuSuffixCrc gives that value.

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Feeds `bytes` into a running CRC register (start with 0xFFFFFFFF). */
export function crc32Update(register: number, bytes: Uint8Array): number {
  let c = register >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The usual CRC-32 (zlib.crc32, `crc32` command). */
export function crc32(bytes: Uint8Array): number {
  return ~crc32Update(0xffffffff, bytes) >>> 0;
}

/** dwCRC of a DFU suffix: CRC-32 register over every byte before it, not inverted (DFU 1.1 Appendix B). */
export function dfuSuffixCrc(bytes: Uint8Array): number {
  return crc32Update(0xffffffff, bytes);
}
