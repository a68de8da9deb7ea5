// A stand-in for the simulator's bus, only for the harness's own plumbing: a board that answers the
// standard descriptor requests and DFU GETSTATUS, nothing else. Selected with `--bus standin`; every
// real test runs against src-main/sim.

import type { SetupPacket, SimEndpoint, ControlAnswer } from '../../src-main/sim/types.js';

export interface StandinBoard {
  readonly serial: string;
  readonly portPath: string | undefined;
  readonly endpoint: SimEndpoint;
}

const STRINGS = ['STMicroelectronics', 'STM32  BOOTLOADER'];
const ALT_NAMES = ['@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg', '@Option Bytes   /0x1FFF0000/01*32 e'];

function stringDescriptor(text: string): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out[0] = out.length;
  out[1] = 3;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[2 + i * 2] = c & 0xff;
    out[3 + i * 2] = c >> 8;
  }
  return out;
}

function standinEndpoint(serial: string): SimEndpoint {
  const device = new Uint8Array([18, 1, 0x00, 0x01, 0, 0, 0, 64, 0x83, 0x04, 0x11, 0xdf, 0x00, 0x22, 1, 2, 3, 1]);
  const alts = ALT_NAMES.map((_, alt) => [9, 4, 0, alt, 0, 0xfe, 1, 2, 4 + alt]).flat();
  const functional = [9, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x08, 0x1a, 0x01];
  const total = 9 + alts.length + functional.length;
  const config = new Uint8Array([9, 2, total & 0xff, total >> 8, 1, 1, 0, 0xc0, 0x32, ...alts, ...functional]);
  const strings = [...STRINGS, serial, ...ALT_NAMES];
  return {
    async control(setup: SetupPacket): Promise<ControlAnswer> {
      const clip = (d: Uint8Array): ControlAnswer => ({ status: 'ok', data: d.subarray(0, setup.wLength) });
      if (setup.bmRequestType === 0x80 && setup.bRequest === 6) {
        const type = setup.wValue >> 8;
        const index = setup.wValue & 0xff;
        if (type === 1) return clip(device);
        if (type === 2) return clip(config);
        if (type === 3 && index === 0) return clip(new Uint8Array([4, 3, 0x09, 0x04]));
        const text = strings[index - 1];
        if (type === 3 && text !== undefined) return clip(stringDescriptor(text));
        return { status: 'stall' };
      }
      // DFU 1.1 §6.1.2 GETSTATUS: OK, no poll timeout, dfuIDLE.
      if (setup.bmRequestType === 0xa1 && setup.bRequest === 3) return clip(new Uint8Array([0, 0, 0, 0, 2, 0]));
      if ((setup.bmRequestType & 0x80) === 0 && setup.bRequest === 11) return { status: 'ok', bytesWritten: 0 };
      return { status: 'stall' };
    },
  };
}

/** Same shape as the simulator's bus as far as the sim server uses it. */
export class StandinBus {
  private readonly connectListeners = new Set<(board: StandinBoard) => void>();
  readonly boards: StandinBoard[] = [];

  addBoard(_model: string, options: { serial?: string; portPath?: string } = {}): StandinBoard {
    const serial = options.serial ?? `STANDIN${this.boards.length + 1}`;
    const board: StandinBoard = { serial, portPath: options.portPath, endpoint: standinEndpoint(serial) };
    this.boards.push(board);
    for (const l of this.connectListeners) l(board);
    return board;
  }
}
