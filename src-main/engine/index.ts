// The engine runs plans on boards and reads memory back, emitting the one FlashEvent stream.
//   const result = await runPlan({ backend, clock, onEvent }, { device }, plan, image, loader);
export { runPlan } from './flash.js';
export type { BoardHandle, EngineContext } from './context.js';
export { readMemory, type ReadRequest } from './read.js';
export { eraseMemory, type EraseRequest } from './erase.js';
export { ROM_DFU_ID } from './staging.js';
export { PROGRESS_INTERVAL_MS } from './progress.js';
