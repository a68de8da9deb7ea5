// Files that ship beside the program (the emulator's Python package, the loader packages): found from
// the running code's folder — the source tree under vitest, out/cli/ in the bundled CLI — walking up a
// few folders, then from the working directory.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The first folder, walking up from this code and then from the working directory, where `found(dir)` holds. */
export function findBeside(found: (dir: string) => string | undefined): string | undefined {
  const starts: string[] = [];
  if (typeof __dirname !== 'undefined') starts.push(__dirname);
  else {
    try {
      starts.push(dirname(fileURLToPath(import.meta.url)));
    } catch {
      // bundled as CommonJS without import.meta
    }
  }
  starts.push(process.cwd());
  for (const start of starts) {
    let dir = resolve(start);
    for (let i = 0; i < 6; i++) {
      const hit = found(dir);
      if (hit) return hit;
      dir = dirname(dir);
    }
  }
  return undefined;
}

/** `relative` (a folder) under the first folder above this code, or the working directory, that holds it. */
export function folderBeside(relative: string, marker?: string): string | undefined {
  return findBeside((dir) => {
    const cand = join(dir, relative);
    return existsSync(marker ? join(cand, marker) : cand) ? cand : undefined;
  });
}
