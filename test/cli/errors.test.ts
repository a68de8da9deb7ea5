// The built `bootbridge` command when something goes wrong, as a person reads it on stderr and a script
// sees it in the exit code: each failure said once, bad input refused before a board is looked for.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO, LOADER, ROOT, buildCli, runCli, simArgs } from './harness.js';

beforeAll(buildCli, 60_000);


// No simulated board from the environment: the erase checks below must not depend on one.
const env = { ...process.env };
delete env.BOOTBRIDGE_SIM;
delete env.BOOTBRIDGE_SIM_STATE;
const run = (args: string[]) => runCli(args, { env });
const sim = (...more: string[]) => simArgs(mkdtempSync(join(tmpdir(), 'bb-cli-errors-')), ...more);


describe('a failure on the device', () => {
  it('is printed once, with its context, and the loader warning stays', async () => {
    const r = await run(['flash', DEMO, '--loader', LOADER, ...sim('--sim-fault', 'unplug-at-byte:byte=65536')]);
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: Device disconnected: .*\(stage loader, phase write, /);
    expect(r.stderr).toMatch(/^warn: The board is still running the loader/m);
    expect(r.stdout).not.toContain('PASS');
  });
});

describe('erase with nothing or too much to erase', () => {
  it('is bad input (exit 2) found before any board is looked for, and names --mass', async () => {
    // No --sim and no USB access needed: the arguments alone are wrong.
    const none = await run(['erase']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: Invalid argument: .*--mass/m);
    expect(none.stderr).not.toMatch(/USB|No matching DFU device/);
    const both = await run(['erase', '0x08000000', '--mass', '--json']);
    expect(both.code).toBe(2);
    expect(JSON.parse(both.stdout)).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', message: expect.stringContaining('--mass') } });
  });

  it('still erases the sector holding an address on a simulated board', async () => {
    const r = await run(['erase', '0x08000000', '--json', ...sim()]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, mass: false, erased: [{ region: 'Internal Flash', address: 0x08000000, size: 32768 }] });
  });
});

describe('an image that needs a loader, given none', () => {
  it('names the installed packages that serve it, typed as --loader takes them; the simulator\'s only on simulated boards', async () => {
    // A board: the simulator's loader and the real F746G-DISCO loader (which the emulated CPU runs) both serve the QSPI.
    const onSim = await run(['flash', DEMO, ...sim()]);
    expect(onSim.code).toBe(2);
    // One line each, typed as --loader takes them, the names in one column.
    expect(onSim.stderr).toMatch(/Installed loader packages that serve that memory:\n {2}--loader assets\/loaders\/sim-stm32f746 {6}BootBridge simulated loader .*\n {2}--loader assets\/loaders\/stm32f746g-disco {3}.*\(experimental\)\n/);
    // No board (the chip named): hardware is meant, and the simulator's loader boots only on the simulator.
    const offline = await run(['plan', DEMO, '--chip', 'stm32f746']);
    expect(offline.code).toBe(2);
    expect(offline.stdout).toContain('Installed loader package that serves that memory:\n  --loader assets/loaders/stm32f746g-disco');
    expect(offline.stdout).not.toContain('sim-stm32f746');
    // Given one, nothing more is suggested; an image the ROM can place needs none.
    const given = await run(['plan', DEMO, '--chip', 'stm32f746', '--loader', LOADER]);
    expect(given.stdout).not.toContain('Installed loader');
    const app = join(mkdtempSync(join(tmpdir(), 'bb-cli-app-')), 'app.bin');
    writeFileSync(app, new Uint8Array(4096).fill(0x5a));
    const internal = await run(['plan', app, '--base', '0x08000000', '--chip', 'stm32f746', '--json']);
    expect(internal.code).toBe(0);
    expect(JSON.parse(internal.stdout)).not.toHaveProperty('installedLoaders');
  });

  it('a read of external memory without --loader: the error once, then the packages that serve it; exit 2', async () => {
    const r = await run(['read', '0x90000000', '256', ...sim()]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error'))).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: Address outside the device memory: .*\n(?: .*\n)*Installed loader packages that serve that memory:\n {2}--loader assets\/loaders\/sim-stm32f746 /m);
    expect(r.stdout).toBe('');
    // An address no installed package serves says so, instead of leaving the reader to look for one.
    const nowhere = await run(['read', '0x30000000', '16', ...sim()]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain('No installed loader package serves that memory: check the address');
    // A script reads the same from --json.
    const j = await run(['read', '0x90000000', '256', '--json', ...sim()]);
    expect(j.code).toBe(2);
    const doc = JSON.parse(j.stdout) as { ok: boolean; error: { code: string; remedy: string }; installedLoaders: { folder: string; experimental: boolean }[] };
    expect(doc).toMatchObject({ ok: false, error: { code: 'ADDRESS_UNREACHABLE', remedy: 'choose-loader' } });
    // Absolute folders: a script need not know the working directory.
    expect(doc.installedLoaders).toEqual([
      expect.objectContaining({ folder: join(ROOT, 'assets', 'loaders', 'sim-stm32f746'), experimental: false }),
      expect.objectContaining({ folder: join(ROOT, 'assets', 'loaders', 'stm32f746g-disco'), experimental: true }),
    ]);
  });
});
