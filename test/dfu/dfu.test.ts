// DFU 1.1 request handling against scripted devices: the behaviours real ROMs show that the
// simulator does not model (H743 stuck busy, L43x stalling GETSTATUS, a device in run-time mode).

import { describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors.js';
import { DFU_REQUEST, DFU_STATE, DFU_STATUS } from '../../src-main/dfu/constants.js';
import { DfuInterface } from '../../src-main/dfu/dfu.js';
import { quirksFor } from '../../src-main/dfu/quirks.js';
import { TransferCounter } from '../../src-main/usb/transfer.js';
import { VirtualClock } from '../../src-main/util/clock.js';

type Answer = { status: number; state: number; poll?: number } | 'stall';
const NAMES = Object.fromEntries(Object.entries(DFU_REQUEST).map(([k, v]) => [v, k]));

/** Answers GETSTATUS from a script (last entry repeats); other requests may change the script via `on`. */
function scripted(script: Answer[], on: Partial<Record<string, (s: Answer[]) => void>> = {}) {
  const log: string[] = [];
  const device = {
    async controlTransferIn(setup: USBControlTransferParameters): Promise<USBInTransferResult> {
      const name = NAMES[setup.request]!;
      log.push(name);
      if (name !== 'GETSTATUS') return { status: 'stall' };
      const a = script.length > 1 ? script.shift()! : script[0]!;
      if (a === 'stall') return { status: 'stall' };
      const p = a.poll ?? 0;
      const b = new Uint8Array([a.status, p & 0xff, (p >> 8) & 0xff, p >> 16, a.state, 0]);
      return { status: 'ok', data: new DataView(b.buffer) };
    },
    async controlTransferOut(setup: USBControlTransferParameters): Promise<USBOutTransferResult> {
      const name = NAMES[setup.request]!;
      log.push(name);
      on[name]?.(script);
      return { status: 'ok', bytesWritten: 0 };
    },
  } as unknown as USBDevice;
  return { device, log };
}

const idle: Answer = { status: DFU_STATUS.OK, state: DFU_STATE.dfuIDLE };
const busy = (poll: number): Answer => ({ status: DFU_STATUS.OK, state: DFU_STATE.dfuDNBUSY, poll });
const ST = { vendorId: 0x0483, productId: 0xdf11 };

describe('ensureIdle', () => {
  it('costs one GETSTATUS on a device already idle', async () => {
    const { device, log } = scripted([idle]);
    const counter = new TransferCounter();
    await new DfuInterface(device, { clock: new VirtualClock(), counter }).ensureIdle();
    expect(log).toEqual(['GETSTATUS']);
    expect(counter.total).toBe(1);
  });

  it('ABORTs out of dfuDNLOAD-IDLE and dfuUPLOAD-IDLE', async () => {
    for (const state of [DFU_STATE.dfuDNLOAD_IDLE, DFU_STATE.dfuUPLOAD_IDLE]) {
      const { device, log } = scripted([{ status: 0, state }, idle]);
      await new DfuInterface(device, { clock: new VirtualClock() }).ensureIdle();
      expect(log).toEqual(['GETSTATUS', 'ABORT', 'GETSTATUS']);
    }
  });

  it('clears the H743 stuck in dfuDNBUSY: CLRSTATUS, errUNKNOWN, CLRSTATUS, dfuIDLE', async () => {
    const stuck: Answer[] = [busy(50)];
    const { device, log } = scripted(stuck, {
      CLRSTATUS: (s) => {
        // first clear: the H743 reports errUNKNOWN/dfuERROR; the second one works
        if (s[0] && s[0] !== 'stall' && s[0].state === DFU_STATE.dfuDNBUSY) s.splice(0, s.length, { status: DFU_STATUS.errUNKNOWN, state: DFU_STATE.dfuERROR });
        else s.splice(0, s.length, idle);
      },
    });
    const clock = new VirtualClock();
    const dfu = new DfuInterface(device, { clock, quirks: quirksFor({ ...ST, deviceId: 0x450 }) });
    const r = await dfu.ensureIdle();
    expect(r.stateName).toBe('dfuIDLE');
    expect(log).toEqual(['GETSTATUS', 'GETSTATUS', 'CLRSTATUS', 'GETSTATUS', 'CLRSTATUS', 'GETSTATUS']);
    expect(clock.now()).toBe(50);
  });

  it('without the quirk, waits out a busy device up to the limit, then tries CLRSTATUS once, then DFU_TIMEOUT', async () => {
    const { device, log } = scripted([busy(100)]);
    const clock = new VirtualClock();
    const e = await new DfuInterface(device, { clock }).ensureIdle().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BootBridgeError);
    expect((e as BootBridgeError).code).toBe('DFU_TIMEOUT');
    expect(log.filter((r) => r === 'CLRSTATUS')).toHaveLength(1);
    expect(clock.now()).toBeGreaterThan(10_000);
    expect(clock.now()).toBeLessThan(10_300);
  });

  it('refuses a device in run-time mode (appIDLE) with DFU_UNEXPECTED_STATE', async () => {
    const { device } = scripted([{ status: 0, state: DFU_STATE.appIDLE }]);
    const e = await new DfuInterface(device, { clock: new VirtualClock() }).ensureIdle().catch((x: unknown) => x);
    expect((e as BootBridgeError).code).toBe('DFU_UNEXPECTED_STATE');
    expect((e as BootBridgeError).context.stateName).toBe('appIDLE');
  });
});

describe('waitWhileBusy', () => {
  it('waits exactly each bwPollTimeout the device reports between GETSTATUS requests', async () => {
    const { device, log } = scripted([busy(104), busy(37), { status: 0, state: DFU_STATE.dfuDNLOAD_IDLE }]);
    const clock = new VirtualClock();
    const r = await new DfuInterface(device, { clock }).waitWhileBusy('write');
    expect(r.stateName).toBe('dfuDNLOAD-IDLE');
    expect(log).toEqual(['GETSTATUS', 'GETSTATUS', 'GETSTATUS']);
    expect(clock.now()).toBe(141);
  });

  it('retries a STALLed GETSTATUS on the L43x after the last poll timeout', async () => {
    const script: Answer[] = [busy(21), 'stall', { status: 0, state: DFU_STATE.dfuDNLOAD_IDLE }];
    const { device } = scripted(script);
    const clock = new VirtualClock();
    const dfu = new DfuInterface(device, { clock, quirks: quirksFor({ ...ST, deviceId: 0x435 }) });
    const r = await dfu.waitWhileBusy('erase');
    expect(r.stateName).toBe('dfuDNLOAD-IDLE');
    expect(clock.now()).toBe(60); // 30 ms minimum poll for L43x erase, twice
  });

  it('gives the STALL to the caller on devices without that quirk', async () => {
    const { device } = scripted([busy(21), 'stall']);
    const e = await new DfuInterface(device, { clock: new VirtualClock() }).waitWhileBusy('erase', { address: 0x08000000 }).catch((x: unknown) => x);
    expect((e as BootBridgeError).code).toBe('USB_STALL');
    expect((e as BootBridgeError).context).toMatchObject({ request: 'GETSTATUS', address: 0x08000000 });
  });

  it('reports an error status with its name, the state and the address', async () => {
    const { device } = scripted([busy(10), { status: DFU_STATUS.errPROG, state: DFU_STATE.dfuERROR }]);
    const e = await new DfuInterface(device, { clock: new VirtualClock(), alt: 1 }).waitWhileBusy('write', { address: 0x1fff0000 }).catch((x: unknown) => x);
    expect((e as BootBridgeError).code).toBe('DFU_STATUS');
    expect((e as BootBridgeError).context).toMatchObject({ statusName: 'errPROG', stateName: 'dfuERROR', address: 0x1fff0000, alt: 1 });
  });
});
