// Simulated STM32 boards on a simulated USB bus, behind the same WebUSB interface as real hardware.
// Usage: const bus = new SimBus({ clock }); const board = bus.addBoard('stm32f746');
// then hand `bus` to anything that takes a UsbBackend; inspect `board.read(addr, len)` afterwards.

export { SimBus, defaultSimSerial, type SimBusOptions, type SimBoardOptions } from './bus.js';
export { SimBoard, type SimMode, type SimLoaderImage, type SimState } from './board.js';
export { SIM_MODELS, simChip, type SimModelName } from './models.js';
export { SimFaults, type SimFault, type SimFaultKind, type SimFaultEntry, type SimRequestName } from './faults.js';
export { DfuState, DfuStatus } from './dfuse-device.js';
export { SIM_TRANSFER_TIMEOUT_MS, wireMs } from './timing.js';
export type { SimEndpoint, SetupPacket, ControlAnswer } from './types.js';
export type { StallStyle } from './webusb.js';
export { SIM_LOADER_F746, simLoaderImage, simLoaderImages, simLoaderSpec, type SimLoaderSpec } from './loaders.js';
