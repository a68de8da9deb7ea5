// Simulated faults reachable from the hosts' command line (--sim-fault): parsed once, applied to the
// named board, and a production batch on that bus shows the FAIL an operator trains on.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAppBackend, parseHostArgs } from '../../src-main/services/app-backend.js';
import { parseSimFault } from '../../src-main/sim/fault-spec.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('--sim-fault', () => {
  it('parses KIND[:key=value,…][@BOARD] and refuses what it cannot mean', () => {
    expect(parseSimFault('unplug-at-byte:byte=65536@2')).toEqual({ fault: { kind: 'unplug-at-byte', byte: 65536 }, board: 2 });
    expect(parseSimFault('status:on=write,status=3')).toEqual({ fault: { kind: 'status', on: 'write', status: 3 } });
    expect(parseSimFault('loader-never-appears@1')).toEqual({ fault: { kind: 'loader-never-appears' }, board: 1 });
    expect(() => parseSimFault('melt')).toThrow(/unknown kind/);
    expect(() => parseSimFault('unplug-at-byte')).toThrow(/needs byte/);
    expect(() => parseSimFault('slow-erase:speed=2')).toThrow(/takes factor/);
    expect(() => parseSimFault('status:on=write,status=3@0')).toThrow(/numbered from 1/);
    expect(parseHostArgs(['--sim', 'stm32f746', '--sim-fault', 'slow-erase:factor=2', '--sim-fault=hang:request=UPLOAD@2']).simFaults).toEqual([
      { fault: { kind: 'slow-erase', factor: 2 } },
      { fault: { kind: 'hang', request: 'UPLOAD' }, board: 2 },
    ]);
  });

  it('a web or desktop host started with a fault on board 2 fails that board in a production batch', async () => {
    const args = parseHostArgs(['--sim', 'stm32f746', '--sim-boards', '2', '--sim-speed', '50', '--sim-fault', 'status:on=write,status=3@2']);
    const b = await createAppBackend({ ...args, simState: mkdtempSync(join(tmpdir(), 'bb-simfault-')), assetsDir: join(ROOT, 'assets'), unitLogDir: mkdtempSync(join(tmpdir(), 'bb-simfault-units-')) });
    try {
      await b.production.open(join(ROOT, 'assets/recipes/demo-f746-sim.yaml'));
      const r = await b.production.flashAll();
      expect(r).toEqual({ units: 2, passed: 1, failed: 1 });
      const bad = b.conn.bus!.boards[1]!.serial;
      expect(b.production.state()!.lanes.find((l) => l.serial === bad)).toMatchObject({ status: 'FAIL', error: { code: 'DFU_STATUS' } });
    } finally {
      await b.close();
    }
  }, 120_000);

  it('is refused without simulated boards', async () => {
    await expect(createAppBackend({ simFaults: [parseSimFault('slow-erase:factor=2')] })).rejects.toThrow(/needs simulated boards|USB|sim/);
  });
});
