// The leave at the end of a run is reported as what the host knows: 'left' only when every request of
// the leave was answered; a board unplugged during ANY of them gives 'unconfirmed' (verified, start not
// confirmed) and never `left: true`.
import { describe, expect, it } from 'vitest';
import { flashDevice, planFlash } from '../../src-main/operations/operations.js';
import type { SetupPacket, ControlAnswer } from '../../src-main/sim/types.js';
import { binAt, expectBytes, firstBoard, pattern, simConnection, simLoader } from './helpers.js';

const APP = 0x08000000;
const QSPI = 0x90000000;

/** An application with a valid vector table (SP in SRAM, Thumb reset handler in flash). */
function app(): Uint8Array {
  const a = pattern(4096, 5);
  new DataView(a.buffer).setUint32(0, 0x20050000, true);
  new DataView(a.buffer).setUint32(4, APP + 0x201, true);
  return a;
}

type Logged = { request: number; wValue: number; data: number[] };

/**
 * Runs a flash with leave on a fresh board; `unplugAt` (1-based, counted from the start of the run as
 * the board's `unplug-at-request` fault counts) unplugs the board at that control transfer. Returns
 * the result and every control transfer the board saw, in order, across its enumerations.
 */
async function run(viaLoader: boolean, unplugAt?: number) {
  const conn = simConnection();
  const { board, device, details } = await firstBoard(conn);
  const log: Logged[] = [];
  const tap = () => {
    const ep = board.endpoint as unknown as { control(s: SetupPacket, d?: Uint8Array): Promise<ControlAnswer>; tapped?: boolean } | undefined;
    if (!ep || ep.tapped) return;
    const orig = ep.control.bind(ep);
    ep.tapped = true;
    ep.control = (s, d) => {
      log.push({ request: s.bRequest, wValue: s.wValue, data: d ? [...d.subarray(0, 5)] : [] });
      return orig(s, d);
    };
  };
  tap();
  board.onModeChange(() => void conn.clock.sleep(0).then(tap));
  const origGet = conn.bus.getDevices.bind(conn.bus);
  conn.bus.getDevices = async () => {
    tap();
    return origGet();
  };
  const data = app();
  const qspi = pattern(2048, 9);
  // Through the loader only QSPI is written; the application it leaves to is already in flash.
  if (viaLoader) board.poke(APP, data);
  const fw = viaLoader ? await binAt(QSPI, qspi) : await binAt(APP, data);
  const loader = viaLoader ? await simLoader() : undefined;
  const plan = planFlash(details, fw, loader, viaLoader ? { leave: { address: APP } } : {});
  expect(plan.errors).toEqual([]);
  if (unplugAt !== undefined) board.faults.add({ kind: 'unplug-at-request', request: unplugAt });
  const r = await flashDevice(conn, device, details, fw, loader, plan);
  return { r, log, board, data, qspi };
}

/** Indexes (1-based) of the leave's requests: from the DNLOAD setting the pointer to the application to the end. */
function leaveRequests(log: Logged[]): number[] {
  const le = [APP & 0xff, (APP >>> 8) & 0xff, (APP >>> 16) & 0xff, APP >>> 24];
  const start = log.findLastIndex((l) => l.request === 1 && l.wValue === 0 && l.data[0] === 0x21 && l.data.slice(1).every((b, i) => b === le[i]));
  expect(start).toBeGreaterThan(0);
  return log.slice(start).map((_, i) => start + i + 1);
}

for (const viaLoader of [false, true]) {
  describe(`leave through the ${viaLoader ? 'loader' : 'ROM'}`, () => {
    it('answered in full: left, the application starts', async () => {
      const { r, board } = await run(viaLoader);
      expect(r.error).toBeUndefined();
      expect(r).toMatchObject({ ok: true, left: true, leave: 'left' });
      expect(board.mode).toBe('app');
    });

    it('unplugged at EVERY request of the leave: verified, start not confirmed, never left: true', async () => {
      const clean = await run(viaLoader);
      const requests = leaveRequests(clean.log);
      // set address (DNLOAD + GETSTATUS until idle), the zero-length DNLOAD, the GETSTATUS that starts it
      expect(requests.length).toBeGreaterThanOrEqual(4);
      for (const at of requests) {
        const { r, board, data, qspi } = await run(viaLoader, at);
        expect(board.faults.history.map((h) => h.kind), `request ${at}`).toEqual(['unplug-at-request']);
        expect(r.error, `request ${at}`).toBeUndefined();
        expect(r.ok).toBe(true);
        expect(r.left, `request ${at}`).toBe(false);
        expect(r.leave, `request ${at}`).toBe('unconfirmed');
        expect(r.bytesVerified).toBe(viaLoader ? qspi.length : data.length);
        expect(board.mode).toBe('unplugged');
        if (viaLoader) expectBytes(board.read(QSPI, qspi.length), qspi);
        else expectBytes(board.read(APP, data.length), data);
      }
    });
  });
}
