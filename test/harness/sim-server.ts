// Node side of the virtual USB bus: owns the simulated boards and answers vusb.py, the Python
// supervisor that fakes usbfs for a child process. Bundled with esbuild and started by vusb.py with a
// socket on fd 3; the line protocol is described in README.md beside this file.

import net from 'node:net';
import fs from 'node:fs';
import readline from 'node:readline';
import type { SetupPacket, SimEndpoint, ControlAnswer } from '../../src-main/sim/types.js';
import { SimBus, type SimBoard } from '../../src-main/sim/index.js';
import { simLoaderImages } from '../../src-main/sim/loaders.js';
import { parseSimModel } from '../../src-main/operations/connect.js';
import { loadSimState, saveSimState } from '../../src-main/operations/sim-state.js';
import { PausableRealClock } from '../../src-main/util/clock.js';
import { createEmulator } from '../../src-main/emu/emulator.js';

export interface BoardSpec {
  model: string;
  serial?: string;
}

export interface ServerConfig {
  boards: BoardSpec[];
  /** Where to write the transfer log ({ transfers, events }) when the bus shuts down. */
  transfersFile?: string;
  /** Folder for the simulator's non-volatile memory. */
  stateDir?: string;
  /** The socket to vusb.py. */
  fd: number;
}

/** One enumeration of a board: a new one (new devnum) every time the board re-enumerates. */
interface Attachment {
  board: number;
  serial: string;
  /** Port on the virtual root hub, stable across re-enumerations of one board. */
  port: number;
  endpoint: SimEndpoint;
}

/** What the server needs from a bus: boards that attach and detach. */
interface BusAdapter {
  start(boards: BoardSpec[], attach: (a: Attachment) => void, detach: (board: number) => void): Promise<void>;
  /** Called once the command has exited. */
  stop(): void;
}

/** A device appearing on or leaving the bus; `after` counts the transfers made before it. */
export interface BusEvent {
  ev: 'added' | 'removed';
  dev: number;
  board: number;
  after: number;
}

export interface TransferRecord {
  dev: number;
  board: number;
  /** 'host': the program under test; 'kernel': descriptor reads the harness makes at enumeration, as a kernel does. */
  by: 'host' | 'kernel';
  setup: [number, number, number, number, number];
  status: ControlAnswer['status'];
  /** Bytes in the data stage (IN: returned; OUT: sent). */
  length: number;
}

/** The project's simulator in real time, so a host's own timeouts and poll waits mean what they say. */
function simAdapter(stateDir: string | undefined): BusAdapter {
  // Real time that stands still while the emulated CPU computes; real loader images run on it
  // (where Debian's python3-unicorn is installed).
  const clock = new PausableRealClock();
  const emulator = createEmulator(clock);
  const bus = new SimBus({ clock, ...(emulator ? { emulator } : {}) });
  const indexOf = (board: SimBoard) => bus.boards.indexOf(board);
  const portOf = (board: SimBoard) => Number(/(\d+)$/.exec(board.portPath)?.[1] ?? indexOf(board) + 1);
  return {
    async start(boards, attach, detach) {
      // Subscribed before the first board is added: a board is on the bus as soon as it is added.
      bus.onConnect((device) => {
        const board = bus.boardOf(device);
        const endpoint = board?.endpoint;
        if (!board || !endpoint) return;
        attach({ board: indexOf(board), serial: board.serial, port: portOf(board), endpoint });
      });
      bus.onDisconnect((device) => {
        const board = bus.boardOf(device);
        if (board) detach(indexOf(board));
      });
      for (const spec of boards) {
        const model = parseSimModel(spec.model);
        const state = stateDir ? loadSimState(stateDir, model, spec.serial) : undefined;
        bus.addBoard(model, { ...(spec.serial ? { serial: spec.serial } : {}), loaders: simLoaderImages(model), ...(state ? { state } : {}) });
      }
    },
    stop() {
      if (stateDir) for (const b of bus.boards) saveSimState(stateDir, b);
    },
  };
}

const GET_DESCRIPTOR = 6;

type Control = (setup: SetupPacket) => Promise<ControlAnswer>;

async function readDescriptor(control: Control, type: number, index: number, langId: number, length: number): Promise<Uint8Array | undefined> {
  const a = await control({ bmRequestType: 0x80, bRequest: GET_DESCRIPTOR, wValue: (type << 8) | index, wIndex: langId, wLength: length });
  return a.status === 'ok' ? (a.data ?? new Uint8Array(0)) : undefined;
}

function decodeString(d: Uint8Array | undefined): string | undefined {
  if (d === undefined || d.length < 2) return undefined;
  const n = Math.min(d[0] ?? 0, d.length);
  let s = '';
  for (let i = 2; i + 1 < n; i += 2) s += String.fromCharCode((d[i] ?? 0) | ((d[i + 1] ?? 0) << 8));
  return s;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
  const sock = new net.Socket({ fd: config.fd, readable: true, writable: true });
  const send = (msg: object) => sock.write(JSON.stringify(msg) + '\n');
  const transfers: TransferRecord[] = [];
  const busEvents: BusEvent[] = [];
  const devices = new Map<number, { a: Attachment; live: boolean }>();
  const current = new Map<number, number>(); // board -> dev handle
  let nextDev = 1;

  async function control(dev: number, by: TransferRecord['by'], setup: SetupPacket, data?: Uint8Array): Promise<ControlAnswer> {
    const d = devices.get(dev);
    let answer: ControlAnswer;
    if (d === undefined || !d.live) answer = { status: 'disconnected' };
    else {
      try {
        answer = await d.a.endpoint.control(setup, data);
      } catch (e) {
        process.stderr.write(`sim-server: control transfer threw: ${String(e)}\n`);
        answer = { status: 'stall' };
      }
    }
    const inDir = (setup.bmRequestType & 0x80) !== 0;
    const length = answer.status !== 'ok' ? 0 : inDir ? (answer.data?.length ?? 0) : (answer.bytesWritten ?? data?.length ?? 0);
    transfers.push({
      dev,
      board: d?.a.board ?? -1,
      by,
      setup: [setup.bmRequestType, setup.bRequest, setup.wValue, setup.wIndex, setup.wLength],
      status: answer.status,
      length,
    });
    return answer;
  }

  // Enumeration as the kernel does it (USB 2.0 §9.1.2): device descriptor, full configuration, the
  // strings sysfs shows. Events are sent in order, so a removal never overtakes its addition.
  let events: Promise<void> = Promise.resolve();
  const attach = (a: Attachment) => {
    const dev = nextDev++;
    devices.set(dev, { a, live: true });
    current.set(a.board, dev);
    const ep: Control = (setup) => control(dev, 'kernel', setup);
    events = events.then(async () => {
      const device = await readDescriptor(ep, 1, 0, 0, 18);
      if (device === undefined || device.length < 18) throw new Error(`board ${a.board}: no device descriptor`);
      const configs: string[] = [];
      for (let i = 0; i < (device[17] ?? 0); i++) {
        const head = await readDescriptor(ep, 2, i, 0, 9);
        const total = head && head.length >= 4 ? (head[2] ?? 0) | ((head[3] ?? 0) << 8) : 0;
        const full = total ? await readDescriptor(ep, 2, i, 0, total) : undefined;
        if (full) configs.push(hex(full));
      }
      const strings: Record<string, string> = {};
      for (const [key, idx] of [['manufacturer', device[14]], ['product', device[15]], ['serial', device[16]]] as const) {
        if (idx) {
          const s = decodeString(await readDescriptor(ep, 3, idx, 0x0409, 255));
          if (s !== undefined) strings[key] = s;
        }
      }
      if (!devices.get(dev)?.live) return;
      busEvents.push({ ev: 'added', dev, board: a.board, after: transfers.length });
      send({ ev: 'added', dev, board: a.board, port: a.port, device: hex(device), configs, strings });
    });
  };
  const detach = (board: number) => {
    const dev = current.get(board);
    if (dev === undefined) return;
    current.delete(board);
    const d = devices.get(dev);
    if (d) d.live = false;
    busEvents.push({ ev: 'removed', dev, board, after: transfers.length });
    events = events.then(() => void send({ ev: 'removed', dev }));
  };

  const adapter = simAdapter(config.stateDir);
  await adapter.start(config.boards, attach, detach);
  await events;
  send({ ev: 'ready' });

  const lines = readline.createInterface({ input: sock });
  for await (const line of lines) {
    const msg = JSON.parse(line) as { op: string; id?: number; dev?: number; setup?: number[]; data?: string };
    if (msg.op === 'control') {
      const [bmRequestType = 0, bRequest = 0, wValue = 0, wIndex = 0, wLength = 0] = msg.setup ?? [];
      const data = msg.data !== undefined ? new Uint8Array(Buffer.from(msg.data, 'base64')) : undefined;
      const a = await control(msg.dev ?? 0, 'host', { bmRequestType, bRequest, wValue, wIndex, wLength }, data);
      await events;
      send({
        re: msg.id,
        status: a.status,
        ...(a.status === 'ok' && a.data ? { data: Buffer.from(a.data).toString('base64') } : {}),
        ...(a.status === 'ok' && a.bytesWritten !== undefined ? { written: a.bytesWritten } : {}),
      });
    } else if (msg.op === 'shutdown') {
      await events;
      adapter.stop();
      if (config.transfersFile) fs.writeFileSync(config.transfersFile, JSON.stringify({ transfers, events: busEvents }));
      send({ ev: 'bye' });
      sock.end();
      break;
    }
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`sim-server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
