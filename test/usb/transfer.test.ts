import { describe, expect, it } from 'vitest';
import { controlIn, controlOut, TransferCounter } from '../../src-main/usb/transfer.js';

const SETUP = { requestType: 'class' as const, recipient: 'interface' as const, request: 3, value: 0, index: 0 };

function device(behaviour: { in?: () => Promise<USBInTransferResult>; out?: () => Promise<USBOutTransferResult> }): USBDevice {
  return { controlTransferIn: behaviour.in, controlTransferOut: behaviour.out } as unknown as USBDevice;
}

describe('control transfers', () => {
  it('counts every transfer by request name', async () => {
    const c = new TransferCounter();
    const d = device({ in: async () => ({ status: 'ok', data: new DataView(new ArrayBuffer(6)) }), out: async () => ({ status: 'ok', bytesWritten: 0 }) });
    await controlIn(d, SETUP, 6, 'GETSTATUS', c);
    await controlIn(d, SETUP, 6, 'GETSTATUS', c);
    await controlOut(d, SETUP, undefined, 'ABORT', c);
    expect(c.snapshot()).toEqual({ total: 3, byRequest: { GETSTATUS: 2, ABORT: 1 } });
    c.reset();
    expect(c.snapshot()).toEqual({ total: 0, byRequest: {} });
  });

  it('never returns more bytes than asked, even from a view on a larger buffer', async () => {
    const big = new Uint8Array(64).map((_, i) => i);
    const d = device({ in: async () => ({ status: 'ok', data: new DataView(big.buffer) }) });
    expect(Array.from(await controlIn(d, SETUP, 6, 'GETSTATUS'))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('honours the byte offset of the DataView it gets', async () => {
    const big = new Uint8Array(16).map((_, i) => i);
    const d = device({ in: async () => ({ status: 'ok', data: new DataView(big.buffer, 4, 3) }) });
    expect(Array.from(await controlIn(d, SETUP, 6, 'GETSTATUS'))).toEqual([4, 5, 6]);
  });

  it.each([
    ['a stall status', async () => ({ status: 'stall' as const }), 'USB_STALL'],
    ['a rejection saying the endpoint stalled (usb v3)', async () => Promise.reject(new Error('controlTransferIn error: endpoint stalled')), 'USB_STALL'],
    ['a rejection saying the device is gone (usb v3)', async () => Promise.reject(new Error('controlTransferIn error: device disconnected')), 'DEVICE_DISCONNECTED'],
    ['a WebUSB NotFoundError', async () => Promise.reject(Object.assign(new Error('The device was disconnected.'), { name: 'NotFoundError' })), 'DEVICE_DISCONNECTED'],
    ['a timeout', async () => Promise.reject(new Error('controlTransferIn error: transfer was cancelled')), 'USB_TRANSFER_FAILED'],
    ['a babble status', async () => ({ status: 'babble' as const }), 'USB_TRANSFER_FAILED'],
  ])('%s becomes %s with the request named', async (_why, answer, code) => {
    const d = device({ in: answer as () => Promise<USBInTransferResult> });
    await expect(controlIn(d, SETUP, 6, 'GETSTATUS', undefined, { alt: 2 })).rejects.toMatchObject({ code, context: { request: 'GETSTATUS', alt: 2 } });
  });
});
