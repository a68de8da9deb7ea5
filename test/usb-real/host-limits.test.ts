// Control transfers with more than 4096 data bytes fail as real hosts fail them, on both paths a host
// program can take: the simulator's WebUSB device (the `usb` package v3 as the desktop app uses it)
// and the virtual USB bus (the kernel's usbfs, answered by test/harness/usbfs_trap.py).

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON, runOnVirtualBus } from '../harness/run.js';
import { SimBus } from '../../src-main/sim/index.js';
import { HOST_CONTROL_MAX_BYTES } from '../../src-main/sim/webusb.js';
import { VirtualClock } from '../../src-main/util/clock.js';

const GET_CONFIGURATION_DESCRIPTOR = { requestType: 'standard', recipient: 'device', request: 6, value: 0x0200, index: 0 } as const;
const DNLOAD = { requestType: 'class', recipient: 'interface', request: 1, value: 2, index: 0 } as const;

describe('a control transfer larger than 4096 data bytes', () => {
  it('is refused by the simulated WebUSB device before it reaches the board; 4096 passes', async () => {
    const bus = new SimBus({ clock: new VirtualClock() });
    const board = bus.addBoard('stm32f746', { serial: 'LIMIT001' });
    const d = board.device!;
    await d.open();
    await d.claimInterface(0);
    expect(HOST_CONTROL_MAX_BYTES).toBe(4096);
    await expect(d.controlTransferIn(GET_CONFIGURATION_DESCRIPTOR, 8192)).rejects.toThrow('controlTransferIn error: invalid or unsupported argument');
    const before = board.dfuState;
    await expect(d.controlTransferOut(DNLOAD, new Uint8Array(8192))).rejects.toThrow('controlTransferOut error: invalid or unsupported argument');
    // Never sent: the board's DFU state machine did not move (a DNLOAD would have left dfuIDLE).
    expect(board.dfuState).toEqual(before);
    const ok = await d.controlTransferIn(GET_CONFIGURATION_DESCRIPTOR, 4096);
    expect(ok.status).toBe('ok');
    expect(ok.data!.byteLength).toBeGreaterThan(9);
  });

  it('is refused by usbfs on the virtual bus (USBDEVFS_CONTROL, EINVAL above one page) and never reaches the board', async () => {
    const program = path.join(__dirname, 'fixtures', 'usbfs_control.py');
    const big = await runOnVirtualBus({ boards: ['stm32f746:LIMIT002'], command: PYTHON, args: [program, '8192'] });
    expect(big.code, big.stderr).toBe(0);
    expect(JSON.parse(big.stdout.trim())).toEqual({ ok: false, errno: 'EINVAL' });
    expect(big.hostTransfers).toEqual([]);
    const page = await runOnVirtualBus({ boards: ['stm32f746:LIMIT002'], command: PYTHON, args: [program, '4096'] });
    expect(page.code, page.stderr).toBe(0);
    expect(JSON.parse(page.stdout.trim())).toMatchObject({ ok: true });
    expect(page.hostTransfers.map((t) => t.setup[4])).toEqual([4096]);
  });
});
