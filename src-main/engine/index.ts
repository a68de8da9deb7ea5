// The engine/ layer executes what plan/ planned, on one board: a FlashPlan run as erase, write, verify
// and leave steps per stage (flash.ts), the one loader staging (staging.ts), reads and erases, the
// loader conformance check; everything it does comes out as the one FlashEvent stream.
//   const result = await runPlan({ backend, clock, onEvent }, { device }, plan, image, loader);
export { runPlan } from './flash.js';
export type { BoardHandle, EngineContext } from './context.js';
export { readMemory, type ReadRequest } from './read.js';
export { eraseMemory, type EraseRequest } from './erase.js';
export { ROM_DFU_ID } from './staging.js';
export { PROGRESS_INTERVAL_MS } from './progress.js';
