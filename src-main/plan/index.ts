// The flash planner: plan(image, target, options) → frozen FlashPlan, computed with no I/O; every
// problem known before touching the device is in plan.errors. formatPlan() prints it; the engine runs
// its stages in order (rom → staging → loader → leave), cutting bytes with planBytes().

export { plan, assertPlanOk, planBytes, loaderIssues, LOADER_OPTION, ALLOW_RAM_OPTION, FORCE_OPTION, BASE_OPTION, CHIP_OPTION } from './plan.js';
export { formatPlan, planForJson, segmentRuns, PLAN_ROWS_SHOWN, PLAN_JSON_ITEMS, type SegmentRun } from './format.js';
export { usbMs, DEFAULT_ENUMERATION_MS } from './estimate.js';
export type * from './types.js';
