// A CLI run killed with SIGKILL mid-flash leaves its --sim-state folder as a real board would be left:
// what was programmed stays programmed, what was erased stays erased, nothing else changed. The
// simulator writes its memories through (operations/sim-state.ts writeThroughSimState), not at exit.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openFirmwareFile } from '../../src-main/operations/files.js';
import { loadSimState } from '../../src-main/operations/sim-state.js';
import { defaultSimSerial } from '../../src-main/sim/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'bootbridge.cjs');
const FLASH = 0x08000000;

beforeAll(async () => {
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT }, (err, _o, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve())),
  );
}, 120_000);

describe('--sim-state survives kill -9', () => {
  it('a run killed while writing internal flash leaves the written part programmed and the rest erased', async () => {
    const state = mkdtempSync(join(tmpdir(), 'bb-kill-'));
    const serial = defaultSimSerial('stm32f746', 0);
    // 160 KiB of patterned bytes as a raw image at the flash base: sectors 0–4 to erase and write.
    const image = join(state, 'app.bin');
    const bytes = new Uint8Array(160 * 1024).map((_, i) => (i * 31 + (i >> 9)) & 0xff);
    writeFileSync(image, bytes);
    const fw = await openFirmwareFile(image, { baseAddress: FLASH });
    const seg = fw.image.segments[0]!;
    expect(seg.address).toBe(FLASH);
    const flashFile = join(state, serial, 'flash.bin');
    // Internal flash only (no loader), at real speed: several seconds of writing to interrupt.
    const child = spawn(process.execPath, [BIN, 'flash', image, '--base', '0x08000000', '--sim', 'stm32f746', '--sim-state', state, '--sim-speed', '1', '--no-progress'], { cwd: ROOT });
    child.stderr.resume();
    child.stdout.resume();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Kill as soon as the first 2 KiB block is in the file: the process gets no chance to save anything.
    const t0 = Date.now();
    let killedAt = -1;
    while (Date.now() - t0 < 60_000) {
      await new Promise((r) => setTimeout(r, 20));
      if (!existsSync(flashFile)) continue;
      const head = readFileSync(flashFile).subarray(0, 2048);
      if (Buffer.compare(head, Buffer.from(seg.data.subarray(0, 2048))) === 0) {
        child.kill('SIGKILL');
        killedAt = Date.now() - t0;
        break;
      }
    }
    expect(killedAt, 'the first block reached the state folder while the run went on').toBeGreaterThanOrEqual(0);
    expect(await exited).toBe('SIGKILL');

    const saved = loadSimState(state, 'stm32f746', serial);
    expect(saved, 'board.json and the memories are there after kill -9').toBeDefined();
    const flash = saved!.memories.flash!;
    expect(flash).toBeDefined();
    // Every byte of the image range is either what was programmed or erased (0xFF): a real chip's state.
    let programmed = 0;
    for (let i = 0; i < seg.data.length; i++) {
      const b = flash[i]!;
      if (b === seg.data[i]) programmed++;
      else expect(b, `flash byte ${i}`).toBe(0xff);
    }
    expect(programmed).toBeGreaterThanOrEqual(2048);
    // Killed mid-write: not the whole image (what the file held at exit time would have been).
    expect(Buffer.compare(flash.subarray(0, seg.data.length), Buffer.from(seg.data))).not.toBe(0);
  }, 120_000);
});
