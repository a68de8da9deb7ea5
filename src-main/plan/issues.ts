// Plan issues as errors: the one PLAN_INVALID (a flash plan with problems), and the error a read or
// erase plan throws for the one issue that stops it. Every door words the issue's remedy itself.

import { BootBridgeError, type ErrorCode, type ErrorContext } from '../../shared/errors.js';
import type { PlanIssue, PlanIssueCode } from './types.js';

/** The error code a person sees for each plan issue (the GUI's plan view and read/erase errors). */
export const ISSUE_ERROR_CODES: Record<PlanIssueCode, ErrorCode> = {
  OUTSIDE_REGIONS: 'ADDRESS_UNREACHABLE',
  REGION_NOT_WRITABLE: 'REGION_NOT_WRITABLE',
  ROM_RESERVED_RAM: 'PLAN_INVALID',
  PAST_REGION_END: 'ADDRESS_UNREACHABLE',
  SEGMENTS_OVERLAP: 'FIRMWARE_OVERLAP',
  SHARED_PROGRAM_UNIT: 'PLAN_INVALID',
  LOADER_CHIP_UNKNOWN: 'LOADER_UNSUPPORTED',
  LOADER_WRONG_CHIP: 'LOADER_UNSUPPORTED',
  LOADER_NOT_IN_RAM: 'LOADER_UNSUPPORTED',
  LOADER_OVERLAPS_ROM_RAM: 'LOADER_UNSUPPORTED',
  LOADER_OVERLAPS_SEGMENT: 'LOADER_UNSUPPORTED',
  // A loader cannot return to the ROM: as when staging cannot reach it (ERROR_TEXT.STAGING_FAILED).
  NEEDS_ROM: 'STAGING_FAILED',
  IMAGE_EMPTY: 'FIRMWARE_INVALID',
  LOADS_INTO_RAM: 'PLAN_INVALID',
  SPLIT_PROGRAM_UNIT: 'PLAN_INVALID',
  DFU_DEVICE_MISMATCH: 'PLAN_INVALID',
  DFU_ALT_MISMATCH: 'PLAN_INVALID',
};

function issueContext(issue: PlanIssue): ErrorContext {
  return {
    ...(issue.range ? { address: issue.range.start, length: issue.range.end - issue.range.start } : {}),
    ...(issue.nearest ? { alt: issue.nearest.alt } : {}),
    ...(issue.sources ? { segment: issue.sources.join(', ') } : {}),
  };
}

/**
 * The one PLAN_INVALID, for a plan with problems: the first issue's message (and how many more), its
 * remedy, every issue in the context (and `context`: the board, for a production lane).
 */
export function planInvalid(issues: readonly PlanIssue[], context: ErrorContext = {}): BootBridgeError {
  const first = issues[0];
  if (!first) return new BootBridgeError('INTERNAL', 'A plan without problems was refused', context);
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new BootBridgeError('PLAN_INVALID', `${first.message}${more}`, { issues: [...issues], ...issueContext(first), ...context }, first.remedy ? { remedy: first.remedy } : undefined);
}

/**
 * The error for the one issue that stops a read or an erase, with the code a person sees for it; its
 * alt setting only when the range starts in that memory (the nearest one to an unreachable range is not).
 */
export function issueError(issue: PlanIssue, context: ErrorContext = {}): BootBridgeError {
  const { alt, ...rest } = issueContext(issue);
  const inside = issue.nearest && issue.range && issue.range.start >= issue.nearest.start && issue.range.start < issue.nearest.end;
  return new BootBridgeError(ISSUE_ERROR_CODES[issue.code], issue.message, { ...rest, ...(inside ? { alt } : {}), ...context }, issue.remedy ? { remedy: issue.remedy } : undefined);
}
