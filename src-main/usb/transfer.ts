// The usb/ layer: USB as USB defines it — control transfers, descriptors, which devices are attached —
// on the WebUSB USBDevice interface, whoever provides it (the `usb` package, the simulator, a browser).
// It knows nothing of DFU (docs/architecture.md). This file is its core:
// control transfers on a WebUSB USBDevice, as every layer above uses them: each one counted, each
// failure turned into a BootBridgeError (STALL, transfer error, device gone) with the request named.
// The counter is what the benchmark reads to compare with dfu-util's ~6.5 transfers per block.

import { BootBridgeError, type ErrorContext } from '../../shared/errors.js';

/** Counts control transfers by request name ("GETSTATUS", "GET_DESCRIPTOR"…). */
export class TransferCounter {
  total = 0;
  readonly byRequest: Record<string, number> = {};

  add(request: string): void {
    this.total++;
    this.byRequest[request] = (this.byRequest[request] ?? 0) + 1;
  }

  reset(): void {
    this.total = 0;
    for (const k of Object.keys(this.byRequest)) delete this.byRequest[k];
  }

  snapshot(): { total: number; byRequest: Record<string, number> } {
    return { total: this.total, byRequest: { ...this.byRequest } };
  }
}

export interface ControlSetup {
  requestType: USBRequestType;
  recipient: USBRecipient;
  request: number;
  value: number;
  index: number;
}

/** True when a thrown transfer error means the device left the bus (WebUSB NotFoundError, libusb NO_DEVICE). */
export function isDisconnectError(e: unknown): boolean {
  if (e instanceof BootBridgeError) return e.code === 'DEVICE_DISCONNECTED';
  const name = (e as { name?: unknown } | null)?.name;
  const message = e instanceof Error ? e.message : String(e);
  return name === 'NotFoundError' || /no.?device|no such device|disconnect|not found|LIBUSB_ERROR_NO_DEVICE|ENODEV/i.test(message);
}

/** True when a thrown transfer error is a STALL: the `usb` package v3 rejects ("… error: endpoint stalled") instead of returning status 'stall'. */
function isStallError(e: unknown): boolean {
  if (e instanceof BootBridgeError) return e.code === 'USB_STALL';
  const message = e instanceof Error ? e.message : String(e);
  return /stall|LIBUSB_ERROR_PIPE|EPIPE/i.test(message);
}

function failure(e: unknown, requestName: string, context: ErrorContext): BootBridgeError {
  if (e instanceof BootBridgeError) return e;
  if (isStallError(e)) {
    return new BootBridgeError('USB_STALL', `Device stalled ${requestName}`, { ...context, request: requestName }, { cause: e });
  }
  if (isDisconnectError(e)) {
    return new BootBridgeError('DEVICE_DISCONNECTED', `The board left the bus during ${requestName}`, { ...context, request: requestName }, { cause: e });
  }
  const why = e instanceof Error ? e.message : String(e);
  return new BootBridgeError('USB_TRANSFER_FAILED', `${requestName} failed: ${why}`, { ...context, request: requestName }, { cause: e });
}

function viewBytes(view: DataView | undefined): Uint8Array {
  if (!view) return new Uint8Array(0);
  // Copy: a backend may hand out a view into a buffer it reuses.
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

/** A transfer that completed but not with 'ok' (WebUSB reports a STALL this way in browsers). */
function checkStatus(status: USBTransferStatus | undefined, requestName: string, context: ErrorContext): void {
  if (status === 'stall') throw new BootBridgeError('USB_STALL', `Device stalled ${requestName}`, { ...context, request: requestName });
  if (status !== 'ok') throw new BootBridgeError('USB_TRANSFER_FAILED', `${requestName} ended with status ${status}`, { ...context, request: requestName });
}

/** IN control transfer; returns the bytes received (may be fewer than `length`). */
export async function controlIn(
  device: USBDevice,
  setup: ControlSetup,
  length: number,
  requestName: string,
  counter?: TransferCounter,
  context: ErrorContext = {},
): Promise<Uint8Array> {
  counter?.add(requestName);
  let result: USBInTransferResult;
  try {
    result = await device.controlTransferIn(setup, length);
  } catch (e) {
    throw failure(e, requestName, context);
  }
  checkStatus(result.status, requestName, context);
  // The `usb` package v3 builds its DataView on the whole backing buffer; never hand out more than asked.
  const bytes = viewBytes(result.data);
  return bytes.length > length ? bytes.subarray(0, length) : bytes;
}

/** OUT control transfer; returns the number of bytes the device accepted. */
export async function controlOut(
  device: USBDevice,
  setup: ControlSetup,
  data: Uint8Array | undefined,
  requestName: string,
  counter?: TransferCounter,
  context: ErrorContext = {},
): Promise<number> {
  counter?.add(requestName);
  let result: USBOutTransferResult;
  try {
    result = await device.controlTransferOut(setup, data ?? new Uint8Array(0));
  } catch (e) {
    throw failure(e, requestName, context);
  }
  checkStatus(result.status, requestName, context);
  return result.bytesWritten;
}
