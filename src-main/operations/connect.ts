// Where the programmer's devices come from: real USB (the `usb` package) or simulated boards. The
// CLI, the web host and the Electron shell all start here.
//   const conn = await connect({ sim: { model: 'stm32f746', stateDir: '.sim-state' } });

import { BootBridgeError } from '../../shared/errors.js';
import { createEmulator } from '../emu/emulator.js';
import { SIM_MODELS, SimBus, defaultSimSerial, type SimModelName } from '../sim/index.js';
import { simLoaderImages } from '../sim/loaders.js';
import type { UsbBackend } from '../usb/backend.js';
import { hasDfuInterface } from '../usb/discovery.js';
import { PausableRealClock, RealClock, ScaledClock, type Clock } from '../util/clock.js';
import { loadSimState, saveSimState, writeThroughSimState } from './sim-state.js';

export interface SimOptions {
  model: string;
  /** How many boards of this model (each with its own serial and state). Default 1. */
  boards?: number;
  /** Folder keeping each board's non-volatile memories between runs. */
  stateDir?: string;
  /** Run the simulated boards' time this many times faster than real time (demos). Default 1. */
  speed?: number;
}

export interface ConnectOptions {
  sim?: SimOptions;
  /** Real USB when a DFU device is attached at start; these simulated boards otherwise (the app's default). */
  simIfNoHardware?: SimOptions;
  /** Overrides the clock (tests pass a VirtualClock). */
  clock?: Clock;
}

export interface Connection {
  backend: UsbBackend;
  clock: Clock;
  /** The simulated bus, when running on simulated boards. */
  bus?: SimBus;
  /**
   * True when the boards on the bus are simulated: the in-process bus, or real USB whose devices are
   * simulated boards (the virtual-USB test bench sets BOOTBRIDGE_SIMULATED_USB=1). Simulated loaders
   * are staged only then.
   */
  simulated?: boolean;
  /** Saves the simulated boards' memories to the state folder (no-op for real hardware). */
  save(): void;
  close(): Promise<void>;
}

/** Whether the boards on this connection are simulated (an in-process bus, or the virtual-USB bench). */
export function isSimulated(conn: Pick<Connection, 'bus' | 'simulated'>): boolean {
  return conn.simulated === true || conn.bus !== undefined;
}

export function parseSimModel(model: string): SimModelName {
  const m = model.toLowerCase();
  if (!(SIM_MODELS as readonly string[]).includes(m)) {
    throw new BootBridgeError('BAD_ARGUMENT', `Unknown simulated board "${model}". Choose one of: ${SIM_MODELS.join(', ')}`, { field: 'sim' });
  }
  return m as SimModelName;
}

export async function connect(options: ConnectOptions = {}): Promise<Connection> {
  if (options.sim) {
    const sim = options.sim;
    const model = parseSimModel(sim.model);
    const count = sim.boards ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new BootBridgeError('BAD_ARGUMENT', `--sim-boards must be between 1 and 64 (got ${sim.boards})`, { field: 'sim-boards' });
    const speed = sim.speed ?? 1;
    // Real time that stands still while an emulated CPU computes (the host's timeouts then count device time).
    const clock = options.clock ?? (speed === 1 ? new PausableRealClock() : new ScaledClock(speed));
    // Real loader images run on the emulated CPU where Debian's python3-unicorn is installed.
    const emulator = createEmulator(clock);
    const bus = new SimBus({ clock, ...(emulator ? { emulator } : {}) });
    const loaders = simLoaderImages(model);
    const stops: (() => void)[] = [];
    for (let i = 0; i < count; i++) {
      const serial = defaultSimSerial(model, i);
      const state = sim.stateDir ? loadSimState(sim.stateDir, model, serial) : undefined;
      const board = bus.addBoard(model, { serial, loaders, ...(state ? { state } : {}) });
      // Written through from now on: a killed run leaves the folder as the board was at that moment.
      if (sim.stateDir) stops.push(writeThroughSimState(sim.stateDir, board));
    }
    // While written through, the files are already current; a save would replace them under the open files.
    const save = () => {
      if (sim.stateDir && stops.length === 0) for (const b of bus.boards) saveSimState(sim.stateDir, b);
    };
    return {
      backend: bus,
      clock,
      bus,
      simulated: true,
      save,
      close: async () => {
        for (const stop of stops.splice(0)) stop();
        save();
      },
    };
  }
  const clock = options.clock ?? new RealClock();
  if (options.simIfNoHardware) {
    const real = await connect({ ...(options.clock ? { clock: options.clock } : {}) }).catch(() => undefined);
    const attached = real ? (await real.backend.getDevices().catch(() => [])).filter(hasDfuInterface) : [];
    if (real && attached.length > 0) return real;
    await real?.close();
    return connect({ sim: options.simIfNoHardware, ...(options.clock ? { clock: options.clock } : {}) });
  }
  let backend: UsbBackend;
  try {
    const { NodeUsbBackend } = await import('../usb/node-usb.js');
    backend = new NodeUsbBackend();
  } catch (e) {
    throw new BootBridgeError('USB_TRANSFER_FAILED', `The USB library could not be loaded: ${(e as Error).message}`, {}, { cause: e, remedy: 'use-sim' });
  }
  return { backend, clock, simulated: process.env.BOOTBRIDGE_SIMULATED_USB === '1', save: () => undefined, close: async () => undefined };
}
