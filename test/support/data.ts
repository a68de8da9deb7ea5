// Test and benchmark data with no test-runner dependency, so the benchmarks can use it too.

/** Deterministic, non-blank bytes (no 0xFF runs that skip-blank would drop). */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x % 255; // never 0xFF
  }
  return out;
}
