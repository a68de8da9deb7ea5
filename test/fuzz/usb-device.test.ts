// A malicious or broken device: a simulated F746 whose answers are tampered with on the wire. Mutated
// descriptor bytes go through readDeviceDescriptors, inspectDevice and DfuseDevice.open; scripted
// GETSTATUS answers (short, garbage, huge bwPollTimeout, endless dfuDNBUSY) go through open, erase,
// write and read. Every case ends in a result or a typed BootBridgeError, with bounded transfers
// and bounded (virtual) waiting.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DfuseDevice } from '../../src-main/dfu/dfuse.js';
import { DEFAULT_BUSY_LIMIT_MS } from '../../src-main/dfu/quirks.js';
import { inspectDevice } from '../../src-main/operations/devices.js';
import { SimBus, SIM_TRANSFER_TIMEOUT_MS } from '../../src-main/sim/index.js';
import { readDeviceDescriptors } from '../../src-main/usb/descriptors.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { outcomeAsync, runs, seedOptions } from './budget.js';

type Edit = { at: number; value: number } | { cut: number } | { extend: number[] };

/** A simulated board whose control-IN answers pass through `tamper` first; counts transfers. */
function tamperedBoard(tamper: (setup: USBControlTransferParameters, data: Uint8Array) => Uint8Array | 'stall' | 'pass') {
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  const board = bus.addBoard('stm32f746');
  const device = board.device!;
  const original = device.controlTransferIn.bind(device);
  let transfers = 0;
  device.controlTransferIn = async (setup, length, ...rest: unknown[]) => {
    transfers++;
    const r = await (original as (s: USBControlTransferParameters, l: number, ...x: unknown[]) => Promise<USBInTransferResult>)(setup, length, ...rest);
    const data = r.data ? new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength) : new Uint8Array(0);
    const t = tamper(setup, data);
    if (t === 'pass') return r;
    if (t === 'stall') return { status: 'stall' };
    const copy = t.slice();
    return { status: 'ok', data: new DataView(copy.buffer) };
  };
  return { clock, bus, board, device, transfers: () => transfers };
}

function applyEdits(data: Uint8Array, edits: Edit[]): Uint8Array {
  let b = Array.from(data);
  for (const e of edits) {
    if ('cut' in e) b = b.slice(0, e.cut % (b.length + 1));
    else if ('extend' in e) b = b.concat(e.extend);
    else if (b.length > 0) b[e.at % b.length] = e.value;
  }
  return new Uint8Array(b);
}

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ at: fc.nat({ max: 300 }), value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 9, 0x21, 0x7f, 0xff), fc.nat({ max: 255 })) }) },
  { weight: 1, arbitrary: fc.record({ cut: fc.nat({ max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ extend: fc.array(fc.nat({ max: 255 }), { maxLength: 40 }) }) },
);

const isGetDescriptor = (s: USBControlTransferParameters) => s.requestType === 'standard' && s.request === 6;

describe('mutated descriptors from a device', () => {
  it('readDeviceDescriptors, inspectDevice and DfuseDevice.open end in a result or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Which GET_DESCRIPTOR answers are damaged (by order), and how.
        fc.array(fc.tuple(fc.nat({ max: 12 }), fc.array(edit, { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 4 }),
        async (plan) => {
          let n = 0;
          const t = tamperedBoard((setup, data) => {
            if (!isGetDescriptor(setup)) return 'pass';
            const i = n++ % 13;
            const edits = plan.filter(([k]) => k === i).flatMap(([, e]) => e);
            return edits.length ? applyEdits(data, edits) : 'pass';
          });
          const codes: string[] = [];
          codes.push(await outcomeAsync(() => readDeviceDescriptors(t.device)));
          codes.push(await outcomeAsync(() => inspectDevice(t.bus, t.device)));
          codes.push(
            await outcomeAsync(async () => {
              const d = await DfuseDevice.open(t.device, { clock: t.clock });
              await d.close();
            }),
          );
          for (const c of codes) expect(typeof c).toBe('string');
          // 255 configurations and 255 strings at most: bounded, whatever the device claims.
          expect(t.transfers()).toBeLessThan(2000);
          expect(t.clock.now()).toBeLessThan(60_000);
        },
      ),
      { numRuns: runs(300), ...seedOptions() },
    );
  });

  it('a device claiming 255 configurations of 64 KB each is read within bounds or refused', async () => {
    const t = tamperedBoard((setup, data) => {
      if (!isGetDescriptor(setup)) return 'pass';
      const type = Number(setup.value) >> 8;
      if (type === 1) {
        const d = data.slice();
        d[17] = 255; // bNumConfigurations
        return d;
      }
      if (type === 2) {
        const d = new Uint8Array(Math.min(65535, 9 + 9 * 7000));
        d.set(data.subarray(0, 9));
        d[2] = 0xff;
        d[3] = 0xff; // wTotalLength 65535
        return d;
      }
      return 'pass';
    });
    const code = await outcomeAsync(() => readDeviceDescriptors(t.device));
    expect(typeof code).toBe('string');
    expect(t.transfers()).toBeLessThan(2000);
  });
});

describe('GETSTATUS answers from a broken or lying device', () => {
  const answer = fc.oneof(
    { weight: 3, arbitrary: fc.constant<'pass'>('pass') },
    { weight: 1, arbitrary: fc.constant<'stall'>('stall') },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }) },
    // OK, bwPollTimeout 0xFFFFFF (4.6 h), dfuDNBUSY: the worst a device can say.
    { weight: 1, arbitrary: fc.constant(new Uint8Array([0, 0xff, 0xff, 0xff, 4, 0])) },
    {
      weight: 3,
      arbitrary: fc
        .record({
          status: fc.oneof(fc.constant(0), fc.nat({ max: 15 }), fc.nat({ max: 255 })),
          poll: fc.oneof(fc.constantFrom(0, 1, 100, 5000, 0xffffff), fc.nat({ max: 0xffffff })),
          state: fc.oneof(fc.constantFrom(2, 4, 5, 6, 7, 10), fc.nat({ max: 255 })),
          length: fc.constantFrom(6, 6, 6, 5, 3, 0, 64),
        })
        .map(({ status, poll, state, length }) => {
          const b = new Uint8Array(Math.max(length, 6));
          b.set([status, poll & 0xff, (poll >> 8) & 0xff, (poll >> 16) & 0xff, state, 0]);
          return b.subarray(0, length);
        }),
    },
  );

  it('open, erase, write and read: a result or a typed error, never an unbounded wait', async () => {
    // The longest any single operation may keep waiting on a device: its busy limit plus one poll of the
    // state machine's recovery (CLRSTATUS and a last look), plus transfer timeouts.
    const maxBusy = Math.max(...Object.values(DEFAULT_BUSY_LIMIT_MS));
    const perOperation = 2 * maxBusy + 20 * SIM_TRANSFER_TIMEOUT_MS;
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 30 }), fc.constantFrom<'persist' | 'then-pass'>('persist', 'then-pass'), async (script, after) => {
        let i = 0;
        const t = tamperedBoard((setup) => {
          if (setup.requestType !== 'class' || setup.request !== 3) return 'pass';
          const a = i < script.length ? script[i++]! : after === 'persist' ? script[script.length - 1]! : 'pass';
          return a;
        });
        const steps: { name: string; run: (d: DfuseDevice) => Promise<unknown> }[] = [
          { name: 'erase', run: (d) => d.erase(0x08000000) },
          { name: 'write', run: (d) => d.write(0x08000000, new Uint8Array(3000).fill(0x5a)) },
          { name: 'read', run: (d) => d.read(0x08000000, 1024) },
        ];
        let dev: DfuseDevice | undefined;
        /** Runs one operation: bounded virtual wait, and no polling faster than once per millisecond. */
        const bounded = async (name: string, f: () => Promise<unknown>) => {
          const t0 = t.clock.now();
          const n0 = t.transfers();
          const code = await outcomeAsync(f);
          const waited = t.clock.now() - t0;
          expect(waited, `${name} waited (${code})`).toBeLessThanOrEqual(perOperation);
          expect(t.transfers() - n0, `${name} transfers (${code}, ${waited} ms)`).toBeLessThanOrEqual(waited + 100);
          return code;
        };
        await bounded('open', async () => {
          dev = await DfuseDevice.open(t.device, { clock: t.clock });
        });
        if (!dev) return;
        for (const s of steps) if ((await bounded(s.name, () => s.run(dev!))) !== 'ok') break;
        await outcomeAsync(() => dev!.close());
      }),
      { numRuns: runs(300), ...seedOptions() },
    );
  });

  it('a device answering dfuDNBUSY with a 4.6-hour poll timeout is given up on within the busy limit', async () => {
    let opened = false;
    const t = tamperedBoard((setup) => {
      if (!opened || setup.requestType !== 'class' || setup.request !== 3) return 'pass';
      return new Uint8Array([0, 0xff, 0xff, 0xff, 4, 0]); // OK, bwPollTimeout 0xFFFFFF, dfuDNBUSY
    });
    const dev = await DfuseDevice.open(t.device, { clock: t.clock });
    opened = true;
    const t0 = t.clock.now();
    const code = await outcomeAsync(() => dev.erase(0x08000000));
    expect(code).toBe('DFU_TIMEOUT');
    expect(t.clock.now() - t0).toBeLessThanOrEqual(DEFAULT_BUSY_LIMIT_MS.erase);
    const t1 = t.clock.now();
    // Bringing it back to idle (the next operation's first step) is bounded the same way.
    const again = await outcomeAsync(() => dev.erase(0x08000000));
    expect(again).toBe('DFU_TIMEOUT');
    expect(t.clock.now() - t1).toBeLessThanOrEqual(2 * Math.max(...Object.values(DEFAULT_BUSY_LIMIT_MS)));
  });
});
