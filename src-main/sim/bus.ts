// The simulated USB bus: a UsbBackend that hands out the WebUSB devices of its simulated boards and
// reports every enumeration and disconnection as a hot-plug event, as a real host does after a
// DfuSe leave (a new USBDevice object each time).

import { BootBridgeError } from '../../shared/errors.js';
import type { UsbBackend } from '../usb/backend.js';
import type { Clock } from '../util/clock.js';
import { SimBoard, type SimLoaderImage, type SimState } from './board.js';
import { SIM_MODELS, type SimModelName } from './models.js';
import type { SimEmulator } from './types.js';
import type { SimUsbDevice, StallStyle } from './webusb.js';

/**
 * Default serials, one per model, as the ROM would derive them from the UID (ST Get_SerialNum):
 * F746 and F407 are the ones in reference/device-logs; the others are made up in the same form.
 * Board n of a model adds n to the first eight digits.
 */
const SERIAL_BASE: Record<SimModelName, string> = {
  stm32f746: '00000008FFFF',
  stm32f407: '315A28A0B956',
  stm32h743: '3757385C3033',
  stm32g474: '2059377A4E41',
  stm32l476: '206A36894E4B',
};

/** The serial the bus gives the n-th board of a model when none is asked for (n counts from 0). */
export function defaultSimSerial(model: SimModelName, n = 0): string {
  const base = SERIAL_BASE[model];
  const head = parseInt(base.slice(0, 8), 16);
  return ((head + n) >>> 0).toString(16).toUpperCase().padStart(8, '0') + base.slice(8);
}

export interface SimBusOptions {
  clock: Clock;
  /** How a STALL reaches WebUSB callers: 'reject' as the `usb` package v3 does (default), 'status' as browsers do. */
  stallAs?: StallStyle;
  /** Executes RAM images that are not the simulator's own loaders (src-main/emu, Node only). */
  emulator?: SimEmulator;
}

export interface SimBoardOptions {
  serial?: string;
  state?: SimState;
  portPath?: string;
  loaders?: SimLoaderImage[];
}

export class SimBus implements UsbBackend {
  readonly clock: Clock;
  private readonly list: SimBoard[] = [];
  private readonly connectListeners = new Set<(d: USBDevice) => void>();
  private readonly disconnectListeners = new Set<(d: USBDevice) => void>();
  private readonly owners = new WeakMap<USBDevice, SimBoard>();
  private readonly stallAs: StallStyle;
  /** The emulated CPU this bus runs unknown RAM images on (undefined: such images fault back to the ROM). */
  readonly emulator: SimEmulator | undefined;
  private ports = 0;

  constructor(opts: SimBusOptions) {
    this.clock = opts.clock;
    this.stallAs = opts.stallAs ?? 'reject';
    this.emulator = opts.emulator;
  }

  get boards(): readonly SimBoard[] {
    return this.list;
  }

  /** Adds a board, already enumerated in its ROM bootloader (BOOT0 held). */
  addBoard(model: SimModelName, opts: SimBoardOptions = {}): SimBoard {
    const board = this.create(model, opts);
    board.start();
    return board;
  }

  private create(model: SimModelName, opts: SimBoardOptions, sameSerialAllowed = false): SimBoard {
    if (!SIM_MODELS.includes(model)) {
      throw new BootBridgeError('BAD_ARGUMENT', `Unknown simulated board model "${model}" (known: ${SIM_MODELS.join(', ')})`, { field: 'model' });
    }
    const serial = opts.serial ?? opts.state?.serial ?? this.defaultSerial(model);
    if (!sameSerialAllowed && this.list.some((b) => b.serial === serial)) {
      throw new BootBridgeError('BAD_ARGUMENT', `A simulated board with serial ${serial} is already on the bus`, { serial });
    }
    this.ports++;
    const portPath = opts.portPath ?? `1-${this.ports}`;
    const board = new SimBoard(this.host(), model, { serial, portPath, ...(opts.state ? { state: opts.state } : {}), ...(opts.loaders ? { loaders: opts.loaders } : {}) });
    this.list.push(board);
    return board;
  }

  /** Takes a board off the bus for good. */
  removeBoard(board: SimBoard): void {
    board.unplug();
    const i = this.list.indexOf(board);
    if (i >= 0) this.list.splice(i, 1);
  }

  async getDevices(): Promise<USBDevice[]> {
    return this.list.map((b) => b.device).filter((d): d is USBDevice => d !== undefined);
  }

  onConnect(listener: (device: USBDevice) => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  onDisconnect(listener: (device: USBDevice) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  portPath(device: USBDevice): string | undefined {
    return this.owners.get(device)?.portPath;
  }

  /** The board a device belongs to (tests). */
  boardOf(device: USBDevice): SimBoard | undefined {
    return this.owners.get(device);
  }

  private defaultSerial(model: SimModelName): string {
    for (let n = 0; ; n++) {
      const s = defaultSimSerial(model, n);
      if (!this.list.some((b) => b.serial === s)) return s;
    }
  }

  private host() {
    return {
      clock: this.clock,
      stallAs: this.stallAs,
      connect: (board: SimBoard, device: SimUsbDevice) => {
        this.owners.set(device, board);
        for (const l of [...this.connectListeners]) l(device);
      },
      disconnect: (_board: SimBoard, device: SimUsbDevice) => {
        for (const l of [...this.disconnectListeners]) l(device);
      },
      ...(this.emulator ? { emulator: this.emulator } : {}),
      spawnImpostor: (from: SimBoard, serial: string | undefined, as: 'loader' | 'rom', image: SimLoaderImage | { ram: { address: number; data: Uint8Array }[]; pointer: number }) => {
        // An impostor may carry the staged board's own serial (a clone, or a board whose loader reports a fixed serial).
        const other = this.create(from.model, { ...(serial ? { serial } : {}), loaders: from.loaders }, true);
        if (as === 'rom') other.start();
        else if ('pointer' in image) {
          // The same RAM image, run by another chip (its own UID, so its own serial).
          for (const r of image.ram) other.poke(r.address, r.data);
          other.jump(image.pointer);
        } else other.bootLoader(image);
      },
    };
  }
}
