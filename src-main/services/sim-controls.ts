// The simulator's controls in the GUI (demos, operator training, tests): the board models it can
// attach, by the names of the boards they stand for, and plugging or unplugging a simulated board.

import { BootBridgeError } from '../../shared/errors.js';
import type { DeviceSummaryView, SimModel } from '../../shared/contract.js';
import { parseSimModel } from '../operations/index.js';
import { SIM_MODELS, defaultSimSerial, simChip, simLoaderImages, type SimBus } from '../sim/index.js';
import type { DeviceRoster } from './device-roster.js';

/** The development board each simulated model stands for. */
const SIM_TITLES: Record<string, string> = {
  stm32f746: 'STM32F746G-DISCO (QSPI)',
  stm32f407: 'STM32F407 Discovery',
  stm32h743: 'STM32H743 Nucleo',
  stm32g474: 'STM32G474 Nucleo',
  stm32l476: 'STM32L476 Nucleo',
};

export class SimControls {
  constructor(
    private readonly bus: SimBus,
    private readonly devices: DeviceRoster,
  ) {}

  models(): SimModel[] {
    return SIM_MODELS.map((m) => ({ model: m, title: `${SIM_TITLES[m] ?? m} — ${simChip(m).name}` }));
  }

  /** Plugs in a board of `model` with the next free serial; resolves with it as the device list shows it. */
  async attach(model: string): Promise<DeviceSummaryView> {
    const m = parseSimModel(model);
    let n = 0;
    while (this.bus.boards.some((b) => b.serial === defaultSimSerial(m, n))) n++;
    const board = this.bus.addBoard(m, { serial: defaultSimSerial(m, n), loaders: simLoaderImages(m) });
    const list = await this.devices.list();
    void this.devices.refresh();
    const hit = list.find((d) => d.serial === board.serial);
    if (!hit) throw new BootBridgeError('INTERNAL', 'The simulated board did not enumerate', { serial: board.serial });
    return hit;
  }

  /** Unplugs a simulated board; false when no board has that id. */
  async detach(deviceId: string): Promise<boolean> {
    const board = this.bus.boards.find((b) => b.serial === deviceId);
    if (!board) return false;
    this.bus.removeBoard(board);
    this.devices.forget(deviceId);
    void this.devices.refresh();
    return true;
  }
}
