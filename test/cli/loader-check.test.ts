// `bootbridge loader check PACKAGE`: verdicts with their protocol sections, and exit codes a script can
// rely on — 0 all pass, 1 a check failed (named), 2 a bad package, 3 no emulated CPU for real code.
// Also the words `flash` uses for the loader it stages: which, why, experimental.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'bootbridge.cjs');
const LOADER = join(ROOT, 'assets', 'loaders', 'sim-stm32f746');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A copy of the simulated F746 loader package, edited. */
function edited(editManifest: (m: Record<string, unknown>) => void, editImage?: (b: Buffer) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'bb-check-'));
  cpSync(LOADER, dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'loader.json'), 'utf8')) as Record<string, unknown>;
  editManifest(m);
  writeFileSync(join(dir, 'loader.json'), JSON.stringify(m));
  if (editImage) {
    const b = readFileSync(join(dir, 'loader.bin'));
    editImage(b);
    writeFileSync(join(dir, 'loader.bin'), b);
  }
  return dir;
}

beforeAll(async () => {
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT }, (err, _o, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve())),
  );
}, 60_000);

describe('bootbridge loader check', () => {
  it('passes the simulated F746 loader: exit 0, each verdict with its section', async () => {
    const r = await run(['loader', 'check', LOADER]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^PASS {2}§2\.1 +descriptors\.transfer-size: wTransferSize ≤ 4096/m);
    expect(r.stdout).toMatch(/^PASS {2}§2\.3 +nonce:/m);
    expect(r.stdout).toMatch(/^PASS {2}§3\.3 +errors\.address-outside:/m);
    expect(r.stdout).toMatch(/^PASS {2}§8 +overlap\.command: GET_COMMANDS lists B1/m);
    expect(r.stdout).toMatch(/^PASS {2}§8 +alt0\.overlap-write:/m);
    expect(r.stdout).toMatch(/^skip {2}§3\.1, §6 +alt0\.mass-erase: .*\n +not exercised: loader\.json timing\.massEraseMs gives 170000 ms/m);
    expect(r.stdout).toMatch(/^PASS {2}all \d+ checks passed/m);
  });

  it('a loader whose manifest does not list "overlap" passes with one line saying its checks are skipped', async () => {
    const r = await run(['loader', 'check', edited((m) => (m.extensions = ['crc32']))]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^skip {2}§8 +overlap: .*\n +loader\.json does not list "overlap": hosts never send 0xB1, so its checks are skipped$/m);
    expect(r.stdout).not.toMatch(/overlap-write/);
  });

  it('passes the real F746G-DISCO loader on the emulated CPU, its 4 KB write timing included', async () => {
    // Its bwPollTimeout for a 4 KB write comes from the parts' datasheets (16 QSPI pages × 0.5 ms;
    // 1024 flash words × 16 µs); the emulated board must be busy for about that long, no more.
    const r = await run(['loader', 'check', join(ROOT, 'assets', 'loaders', 'stm32f746g-disco'), '--sim', 'stm32f746']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^PASS {2}§3\.2 +alt0\.write:/m);
    expect(r.stdout).toMatch(/^PASS {2}§3\.2 +alt1\.write:/m);
    // Its background writes (§8) on both memories, and no 170 s bulk erase of the QSPI NOR.
    expect(r.stdout).toMatch(/^PASS {2}§8 +alt0\.overlap-write:/m);
    expect(r.stdout).toMatch(/^PASS {2}§8 +alt1\.overlap-write:/m);
    expect(r.stdout).toMatch(/^skip {2}§3\.1, §6 +alt0\.mass-erase: .*\n +not exercised/m);
    expect(r.stdout).toMatch(/^PASS {2}all \d+ checks passed/m);
  });

  it('a manifest that lies fails: exit 1, the check named, in --json too', async () => {
    const dir = edited((m) => (m.transferSize = 2048));
    const r = await run(['loader', 'check', dir, '--sim', 'stm32f746', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { ok: boolean; failed: string[]; verdicts: { id: string; section: string; verdict: string }[] };
    expect(out.ok).toBe(false);
    expect(out.failed).toEqual(['descriptors.transfer-size']);
    expect(out.verdicts.find((v) => v.id === 'descriptors.transfer-size')).toMatchObject({ section: '§2.1', verdict: 'fail' });
    const text = await run(['loader', 'check', dir]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^FAIL {2}1 check\(s\) failed: descriptors\.transfer-size$/m);
  });

  it('a bad package: exit 2 (wTransferSize above 4096 is refused, saying why)', async () => {
    const r = await run(['loader', 'check', edited((m) => (m.transferSize = 8192))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/transferSize: must be at most 4096 bytes: hosts refuse control transfers/);
  });

  it('real machine code with no emulated CPU: exit 3 EMULATOR_UNAVAILABLE, saying how to install it', async () => {
    // Not the simulator's own image (one byte of its "code" changed, its hash dropped): only an emulated CPU could run it.
    const dir = edited(
      (m) => delete (m.image as Record<string, unknown>).sha256,
      (b) => (b[0x300] = b[0x300]! ^ 0xff),
    );
    const r = await run(['loader', 'check', dir, '--json']);
    if (r.code === 1) {
      // Where the emulated CPU is installed the image runs there, and bytes that are not code never enumerate.
      expect((JSON.parse(r.stdout) as { failed: string[] }).failed.some((id) => id === 'enumeration' || id === 'staging')).toBe(true);
      return;
    }
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'EMULATOR_UNAVAILABLE', message: expect.stringMatching(/python3-unicorn/) } });
  });
});

describe('flash says which loader it stages and why', () => {
  it('names the loader, the memory that needs it, and warns when it is experimental (--json carries it)', async () => {
    const fw = join(mkdtempSync(join(tmpdir(), 'bb-fw-')), 'q.bin');
    writeFileSync(fw, Buffer.alloc(4096, 0x5a));
    const dir = edited((m) => (m.experimental = true));
    const args = ['write', fw, '0x90000000', '--loader', dir, '--sim', 'stm32f746', '--sim-speed', '50', '--no-progress'];
    const r = await run(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^loader: BootBridge simulated loader .* \(--loader .*\), chosen by you; QSPI Flash at 0x90000000 needs a loader \(the ROM bootloader cannot reach it\)$/m);
    expect(r.stderr.match(/^warn: loader ".*" is experimental: no run on a real board has been recorded yet/gm)).toHaveLength(1);
    // read stages it too, and says so as well.
    const rd = await run(['read', '0x90000000', '16', '--loader', dir, '--sim', 'stm32f746', '--sim-speed', '50', '--no-progress']);
    expect(rd.code, rd.stderr).toBe(0);
    expect(rd.stderr).toMatch(/^warn: loader ".*" is experimental/m);
    const j = await run([...args, '--json']);
    const out = JSON.parse(j.stdout) as { loader: { experimental: boolean; staged: boolean; why: string }; warnings: string[] };
    expect(out.loader).toMatchObject({ experimental: true, staged: true, why: expect.stringContaining('needs a loader') });
    expect(out.warnings[0]).toMatch(/experimental/);
  });

  it('says why internal flash goes through the loader, with both routes\' estimates', async () => {
    const demo = join(ROOT, 'assets', 'examples', 'demo-f746', 'demo-f746.elf');
    const r = await run(['plan', demo, '--loader', LOADER, '--chip', 'stm32f746']);
    expect(r.code, r.stderr).toBe(0);
    const f = await run(['flash', demo, '--loader', LOADER, '--sim', 'stm32f746', '--sim-speed', '50', '--no-progress', '--no-leave']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stderr).toMatch(/QSPI Flash at 0x90000000 needs a loader .*; Internal Flash routed through it because it serves that memory too \(whole plan about \d+\.\d s this way, \d+\.\d s with --rom-route\)/);
  });
});
