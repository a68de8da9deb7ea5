// Finding a board again after it re-enumerated (the ROM left to the loader, or the loader to the
// application). Hot-plug events wake the wait early; polling getDevices() catches what events miss.
// The board is recognised by its serial number (the loader reports the ROM's serial,
// docs/loader-protocol.md §2.2), by its USB port path when it has no serial, and never by "the only
// device that looks right": another board on the same hub must never be picked.

import { BootBridgeError } from '../../shared/errors.js';
import type { UsbBackend } from '../usb/backend.js';
import type { Clock } from '../util/clock.js';
import { vidPid } from '../../shared/format.js';

export interface BoardIdentity {
  serial?: string;
  portPath?: string;
  /** Match the port path as well as the serial (the serial is not unique on the bus). */
  requirePort?: boolean;
}

export interface ExpectedDevice {
  vendorId: number;
  productId: number;
  /** iProduct string the device must report, when the manifest gives one. */
  product?: string;
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** What to call the awaited device in messages ("loader"). */
  what: string;
  /** The ROM bootloader's IDs: if the board shows up as the ROM again, the jump failed. */
  rom?: ExpectedDevice;
}

function sameBoard(backend: UsbBackend, d: USBDevice, board: BoardIdentity): boolean {
  if (board.serial) return d.serialNumber === board.serial && (!board.requirePort || !board.portPath || backend.portPath(d) === board.portPath);
  if (board.portPath) return backend.portPath(d) === board.portPath;
  return false;
}

function matches(d: USBDevice, e: ExpectedDevice): boolean {
  return d.vendorId === e.vendorId && d.productId === e.productId && (e.product === undefined || d.productName === e.product);
}


/**
 * Waits until `board` has left the bus as the ROM bootloader and enumerated as `expected`. Throws
 * LOADER_TIMEOUT when it does not within the timeout (naming any look-alike devices that appeared
 * instead), STAGING_FAILED when the board stays in or comes back to the ROM bootloader (the code at
 * the jump address did not start), CANCELLED on abort. Connect/disconnect events wake the wait early;
 * polling catches missed events.
 */
export async function waitForBoard(backend: UsbBackend, clock: Clock, board: BoardIdentity, expected: ExpectedDevice, options: WaitOptions): Promise<USBDevice> {
  if (!board.serial && !board.portPath) {
    throw new BootBridgeError('STAGING_FAILED', `Cannot find the board again as the ${options.what}: it has neither a serial number nor a known USB port path`, { stage: 'staging' });
  }
  const pollMs = options.pollMs ?? 50;
  const deadline = clock.now() + options.timeoutMs;
  let wake: AbortController | undefined;
  const others = new Set<string>();
  const key = (d: USBDevice) => `${vidPid(d.vendorId, d.productId)} serial ${d.serialNumber ?? '(none)'}`;
  // Boards already on the bus are not news; a ROM bootloader that enumerates during the wait and is
  // not this board is worth naming (another board was reset or plugged in instead).
  const before = new Set((await backend.getDevices()).map(key));
  // The ROM must go first: until it has, a ROM device with this serial is the one we just left.
  let romGone = !options.rom;
  const offs = [
    backend.onConnect(() => wake?.abort()),
    backend.onDisconnect((d) => {
      if (options.rom && matches(d, options.rom) && sameBoard(backend, d, board)) romGone = true;
      wake?.abort();
    }),
  ];
  try {
    for (;;) {
      if (options.signal?.aborted) throw new BootBridgeError('CANCELLED', `Cancelled while waiting for the ${options.what}`, { stage: 'staging' });
      let romHere = false;
      for (const d of await backend.getDevices()) {
        const isBoard = sameBoard(backend, d, board);
        if (matches(d, expected)) {
          if (isBoard) return d;
          others.add(key(d));
        } else if (isBoard && options.rom && matches(d, options.rom)) {
          romHere = true;
        } else if (!isBoard && options.rom && matches(d, options.rom) && !before.has(key(d))) {
          others.add(key(d));
        }
      }
      if (romHere && romGone) {
        throw new BootBridgeError(
          'STAGING_FAILED',
          `The board came back as the ROM bootloader instead of the ${options.what}: the code at the jump address did not start (wrong image for this board, or it crashed)`,
          { stage: 'staging', serial: board.serial },
        );
      }
      if (!romHere) romGone = true;
      const left = deadline - clock.now();
      if (left <= 0) {
        if (!romGone) {
          throw new BootBridgeError('STAGING_FAILED', `The board stayed in the ROM bootloader for ${options.timeoutMs} ms after the jump to the ${options.what}: the code did not start`, {
            stage: 'staging',
            serial: board.serial,
          });
        }
        break;
      }
      wake = new AbortController();
      const stop = options.signal ? AbortSignal.any([wake.signal, options.signal]) : wake.signal;
      await clock.sleep(Math.min(pollMs, left), stop).catch(() => undefined);
      wake = undefined;
    }
  } finally {
    for (const off of offs) off();
  }
  const who = board.serial ? `serial ${board.serial}` : `port ${board.portPath}`;
  const seen = others.size ? ` Other devices appeared instead (${[...others].join('; ')}) and were left alone: they are not this board.` : '';
  throw new BootBridgeError(
    'LOADER_TIMEOUT',
    `The ${options.what} (${vidPid(expected.vendorId, expected.productId)}, ${who}) did not appear within ${options.timeoutMs} ms.${seen}`,
    { stage: 'staging', serial: board.serial, timeoutMs: options.timeoutMs },
  );
}
