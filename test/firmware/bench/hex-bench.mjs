// Measures the Intel HEX reader against GNU objcopy on a large file (default: a 32 MiB image, ~90 MB of
// HEX), wall time and peak resident memory of each. Run by hand: `node test/firmware/bench/hex-bench.mjs [MiB]`.
// Not part of the test suite: timings on a shared machine are not assertions.
/* global process, console, performance */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const mib = Number(process.argv[2] ?? 32);
const dir = mkdtempSync(join(tmpdir(), 'hex-bench-'));
try {
  const image = new Uint8Array(mib << 20);
  let x = 0x2545f491;
  for (let i = 0; i < image.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    image[i] = x & 0xff;
  }
  writeFileSync(join(dir, 'image.bin'), image);
  execFileSync('arm-none-eabi-objcopy', ['-I', 'binary', '-O', 'ihex', '--change-addresses', '0x90000000', join(dir, 'image.bin'), join(dir, 'image.hex')]);
  console.log(`image ${mib} MiB, HEX ${(statSync(join(dir, 'image.hex')).size / 1e6).toFixed(1)} MB`);

  await build({
    entryPoints: [join(here, '../../../src-main/firmware/index.ts')],
    outfile: join(dir, 'firmware.mjs'),
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    logLevel: 'warning',
  });
  // The child reads the file, then parses it; RSS before the parse is the file plus Node itself.
  writeFileSync(
    join(dir, 'run.mjs'),
    `import { readFileSync } from 'node:fs';
import { parseFirmware${process.env.ASYNC ? 'Async' : ''} as parse } from './firmware.mjs';
const file = readFileSync(process.argv[2]);
const bytes = new Uint8Array(file.buffer, file.byteOffset, file.length);
globalThis.gc?.();
const before = process.memoryUsage();
const t0 = performance.now();
const img = await parse('image.hex', bytes);
const ms = performance.now() - t0;
const peak = process.resourceUsage().maxRSS * 1024;
globalThis.gc?.();
const MiB = (n) => Math.round(n / 1048576);
console.log(JSON.stringify({ ms: Math.round(ms), segments: img.segments.length, imageMiB: MiB(img.size), peakRssGrowthMiB: MiB(peak - before.rss), retainedBuffersMiB: MiB(process.memoryUsage().arrayBuffers - before.arrayBuffers) }));
`,
  );
  const timed = (cmd, args) => {
    const t0 = performance.now();
    const out = execFileSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { wallMs: Math.round(performance.now() - t0), out: out.trim() };
  };
  const objcopy = timed('arm-none-eabi-objcopy', ['-I', 'ihex', '-O', 'binary', join(dir, 'image.hex'), join(dir, 'out.bin')]);
  console.log(`objcopy -I ihex -O binary: ${objcopy.wallMs} ms wall`);
  const peak = execFileSync('/bin/sh', ['-c', `/usr/bin/time -f %M arm-none-eabi-objcopy -I ihex -O binary ${join(dir, 'image.hex')} ${join(dir, 'out.bin')} 2>&1 >/dev/null`], { encoding: 'utf8' });
  console.log(`objcopy peak RSS: ${Math.round(Number(peak.trim()) / 1024)} MiB`);
  for (let i = 0; i < 3; i++) {
    const ours = execFileSync('node', ['--expose-gc', join(dir, 'run.mjs'), join(dir, 'image.hex')], { encoding: 'utf8' });
    console.log(`BootBridge parseFirmware${process.env.ASYNC ? 'Async' : ''}: ${ours.trim()}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
