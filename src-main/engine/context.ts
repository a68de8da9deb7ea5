// What every engine operation runs with: the USB backend and clock (EngineContext), the board it works
// on (BoardHandle), and how the board's ROM bootloader is opened with them. Shared by the runner
// (flash.ts), staging (staging.ts), read.ts and erase.ts, so none of them imports another for it.

import type { DfuseOpenOptions } from '../dfu/dfuse.js';
import { issueError } from '../plan/issues.js';
import { romUnreachable } from '../plan/route.js';
import type { DeviceDescriptors } from '../usb/descriptors.js';
import type { UsbBackend } from '../usb/backend.js';
import type { TransferCounter } from '../usb/transfer.js';
import type { Clock } from '../util/clock.js';
import type { FlashEvent } from '../../shared/progress.js';

export interface EngineContext {
  backend: UsbBackend;
  clock: Clock;
  signal?: AbortSignal;
  onEvent?: (e: FlashEvent) => void;
  /** Counts control transfers (benchmarks). */
  counter?: TransferCounter;
  /** Chip device ID, for device-specific quirks. */
  deviceId?: number;
  /** 8 random bytes per staging (the loader's nonce, docs/loader-protocol.md §2.3); crypto.getRandomValues when absent. */
  randomBytes?: (n: number) => Uint8Array;
}

export interface BoardHandle {
  /** The board's ROM bootloader device. */
  device: USBDevice;
  /** Serial and port path pair the loader's enumeration with this board; taken from `device` when absent. */
  serial?: string;
  portPath?: string;
  /** The ROM device's descriptors when already read (saves reading them again). */
  descriptors?: DeviceDescriptors;
  /**
   * `device` is the loader itself, left running by an earlier run: it is used as it is, nothing is
   * staged, and the ROM cannot be reached without a reset (docs/loader-protocol.md §1).
   */
  loaderRunning?: boolean;
}

/** Options for opening the board's ROM bootloader with this context. */
export function romOpenOptions(ctx: EngineContext, board: BoardHandle, alt = 0): DfuseOpenOptions {
  return {
    clock: ctx.clock,
    alt,
    ...(ctx.counter ? { counter: ctx.counter } : {}),
    ...(ctx.deviceId !== undefined ? { deviceId: ctx.deviceId } : {}),
    ...(board.descriptors ? { descriptors: board.descriptors } : {}),
  };
}

/** The board's serial and USB port path, from the handle or its ROM device. */
export function boardIdentity(ctx: EngineContext, board: BoardHandle): { serial?: string; portPath?: string } {
  const serial = board.serial ?? board.device.serialNumber ?? undefined;
  const portPath = board.portPath ?? ctx.backend.portPath(board.device);
  return { ...(serial ? { serial } : {}), ...(portPath ? { portPath } : {}) };
}

/**
 * Refuses (NEEDS_ROM's error, remedy 'reset-to-rom') to reach the ROM of a board running its loader.
 * The plans refuse first; this holds the engine to it when handed a plan made without that knowledge.
 */
export function assertRomReachable(board: BoardHandle, subject: string, loaderName?: string): void {
  if (board.loaderRunning) throw issueError(romUnreachable(`${subject} needs the ROM bootloader`, loaderName));
}
