// One vocabulary for the numbers a person reads: addresses and IDs in hex, USB IDs as VID:PID, sizes,
// durations and rates. Main (CLI, dumps, messages) and the renderer both format through here, so an
// address or a size reads the same in every door. Pure functions: no electron, no node:, no DOM.
//   hex32(0x08000000) → "0x08000000"   vidPid(0x0483, 0xdf11) → "0483:df11"   formatSize(32768) → "32 KiB"

/** `0x` then `digits` lower-case hex digits (more when the number needs them): hex(0x483, 4) → "0x0483". */
export function hex(n: number, digits: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(digits, '0');
}

/**
 * `0x` then upper-case hex digits, the way ST writes addresses in DfuSe layout strings and loader
 * manifests ("/0x08000000/…"): hexUpper(0x90000000, 8) → "0x90000000".
 */
export function hexUpper(n: number, digits: number): string {
  return '0x' + (n >>> 0).toString(16).toUpperCase().padStart(digits, '0');
}

/** A 32-bit address or word: "0x08000000". */
export function hex32(n: number): string {
  return hex(n, 8);
}

/** A 16-bit field (VID, PID, bcdDevice): "0x0483". */
export function hex16(n: number): string {
  return hex(n & 0xffff, 4);
}

/** Bytes as one string of lower-case hex pairs, no separator: [0x12, 0xab] → "12ab". */
export function bytesToHex(bytes: Iterable<number>): string {
  let s = '';
  for (const b of bytes) s += (b & 0xff).toString(16).padStart(2, '0');
  return s;
}

/** The inverse of bytesToHex (pairs of hex digits; an odd last digit is dropped). */
export function hexToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A USB device's identity as lsusb and dfu-util print it: "0483:df11". */
export function vidPid(vendorId: number, productId: number): string {
  return `${(vendorId & 0xffff).toString(16).padStart(4, '0')}:${(productId & 0xffff).toString(16).padStart(4, '0')}`;
}

/** Rows of 16 bytes: a 4-digit offset, two spaces, the bytes in hex separated by spaces. */
export function hexDump(bytes: readonly number[]): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(
      i.toString(16).padStart(4, '0') +
        '  ' +
        bytes
          .slice(i, i + 16)
          .map((b) => b.toString(16).padStart(2, '0'))
          .join(' '),
    );
  }
  return lines.join('\n');
}

/** A byte count in binary units, exact when it is a whole number of them: "256 B", "32 KiB", "1.50 MiB". */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** A duration: "350 ms", "17.7 s", "4 min 40 s"; "—" when it is not a number. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A transfer rate: "19.0 KiB/s"; "—" when there is none. */
export function formatRate(bytesPerSecond: number): string {
  if (!(bytesPerSecond > 0)) return '—';
  return `${formatSize(Math.round(bytesPerSecond))}/s`;
}
