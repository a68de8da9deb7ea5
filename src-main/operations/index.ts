// The operations every door shares, below services/ (the GUI's sessions), production/ and cli/:
// where boards come from (real USB or simulated), what each one is, files read and written at the
// edge, one lock per board, plan / flash / read / erase of one board, and a plan as the contract draws it. Keeps no state across calls.
//   const conn = await connect({ sim: { model: 'stm32f746' } }); const d = await selectDevice(conn.backend, {});

export * from './board-locks.js';
export * from './connect.js';
export * from './devices.js';
export * from './files.js';
export * from './operations.js';
export * from './plan-view.js';
export * from './sim-state.js';
