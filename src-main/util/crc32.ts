// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's crc32. Used for the loader's 0xB0
// verification (docs/loader-protocol.md §4) and the DfuSe file suffix (which stores the register
// without the final inversion: use crc32Update/crc32Raw for that).

const TABLE = (() => {
  const t = new Uint32Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  // Slicing-by-4 tables: four bytes per step, several times faster on megabytes of flash.
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let s = 1; s < 4; s++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[s * 256 + i] = c >>> 0;
    }
  }
  return t;
})();

/** Advances a CRC register (start with 0xFFFFFFFF) over `data`. */
export function crc32Update(reg: number, data: Uint8Array): number {
  let c = reg >>> 0;
  let i = 0;
  const n = data.length;
  const t = TABLE;
  for (; i + 4 <= n; i += 4) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** zlib-compatible CRC-32 of `data` (init 0xFFFFFFFF, final XOR 0xFFFFFFFF). */
export function crc32(data: Uint8Array): number {
  return (crc32Update(0xffffffff, data) ^ 0xffffffff) >>> 0;
}
