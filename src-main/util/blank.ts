// Erased flash reads 0xFF: which bytes of an image are blank, for skip-blank planning and for the
// engine's comparison of what a sector holds.

/** Whether data[from, to) is all 0xFF (erased flash). */
export function isBlank(data: Uint8Array, from = 0, to = data.length): boolean {
  for (let i = from; i < to; i++) if (data[i] !== 0xff) return false;
  return true;
}

/** The runs of whole `blockSize` blocks of `data` that are not all 0xFF, adjacent blocks joined. */
export function nonBlankRuns(data: Uint8Array, blockSize: number): { from: number; to: number }[] {
  const runs: { from: number; to: number }[] = [];
  for (let at = 0; at < data.length; at += blockSize) {
    const to = Math.min(at + blockSize, data.length);
    if (isBlank(data, at, to)) continue;
    const last = runs[runs.length - 1];
    if (last && last.to === at) last.to = to;
    else runs.push({ from: at, to });
  }
  return runs;
}
