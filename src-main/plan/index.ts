// The planner: plan(image, target, options) → frozen FlashPlan, computed with no I/O; every problem
// known before touching the device is in plan.errors. formatPlan() prints it; the engine runs its
// stages in order (rom → staging → loader → leave), cutting bytes with planBytes(). Reads and erases
// are planned here too (planRead, planErase); every plan asks routeRange who reaches an address.

export { plan, assertPlanOk, planBytes, loaderIssues } from './plan.js';
export { routeRange, type RangeRoute, type RangePermissions, type Routed, type RouteOptions } from './route.js';
export { planInvalid, issueError, ISSUE_ERROR_CODES } from './issues.js';
export { planRead, type ReadPlan } from './read.js';
export { planErase, type ErasePlan, type ErasedSector } from './erase.js';
export { formatPlan, issueText, planForJson, segmentRuns, PLAN_ROWS_SHOWN, PLAN_JSON_ITEMS, type SegmentRun } from './format.js';
export { usbMs, DEFAULT_ENUMERATION_MS } from './estimate.js';
export type * from './types.js';
