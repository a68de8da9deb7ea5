// The FlashPlan and what goes into it. A plan is plain data (JSON-serialisable, frozen): the GUI draws
// it, the CLI prints it, the engine runs it. Bytes are not copied into the plan; every write names the
// image segment it comes from, and `planBytes()` (plan.ts) cuts them out of the image.

import type { Remedy } from '../../shared/errors.js';
import type { StageName } from '../../shared/progress.js';
import type { MemoryLayout } from '../dfu/layout.js';
import type { ChipInfo } from '../devices/chips.js';

/** One alt setting of a DfuSe device and the memory it describes. */
export interface PlanMemory {
  alt: number;
  layout: MemoryLayout;
}

/** What the plan needs to know about a loader package (the loader code builds it from loader.json). */
export interface PlanLoader {
  name: string;
  /** Memories it serves once running, one per alt setting. */
  memories: PlanMemory[];
  transferSize: number;
  /** Where its image goes in RAM (its vector table: SP, then the reset vector). */
  loadAddress: number;
  imageSize: number;
  /** True when one of its memories is the chip's internal flash. */
  servesInternalFlash: boolean;
  /** Supports the 0xB0 CRC32 extension, so verification need not read everything back. */
  crc32: boolean;
  /**
   * Programs a block in the background while the next is on the wire (manifest extension "overlap",
   * docs/loader-protocol.md §8): a block then costs the longer of its wire time and its program time.
   */
  overlap?: boolean;
  /** Device IDs it runs on; checked against the chip when both are known. */
  chips?: number[];
  /** Its real busy times (loader.json "timing"); missing figures fall back to the chip's silicon times. */
  timing?: {
    programKBps?: number;
    eraseMsPerSector?: number;
    /** Mass (bulk) erase per memory, alt 0 first; null or missing: none known (never chosen). */
    massEraseMs?: (number | null)[];
    /** From the jump until it has enumerated; 1000 ms when not given (assumed). */
    enumerationMs?: number;
  };
}

export interface PlanTarget {
  /** The ROM bootloader's alt settings, as the device reports them. */
  memories: PlanMemory[];
  /** Known chip (identified, or named by the user): adds its RAM, timing and programming rule. */
  chip?: ChipInfo;
  /** The ROM's wTransferSize; the chip's (or 2048) when not given. */
  transferSize?: number;
  loader?: PlanLoader;
  /**
   * The board is already running `loader` (an earlier run left it there): nothing is staged, and the
   * ROM bootloader cannot be reached without a reset (docs/loader-protocol.md §1), so a segment only
   * the ROM serves is an error.
   */
  loaderRunning?: boolean;
  /** The attached device's USB ID, checked against a .dfu suffix; the ROM's 0483:DF11 when not given. */
  device?: { vendorId: number; productId: number };
}

export interface PlanOptions {
  /** Verify every written range (default true). */
  verify?: boolean;
  /** Do not send blocks that are entirely 0xFF into freshly erased flash (default true). */
  skipBlank?: boolean;
  /** Mass erase each flash memory written instead of only the sectors touched (default false). */
  massErase?: boolean;
  /** false: stay in DFU. Otherwise start the application at `address` (default: flash base). Default {}. */
  leave?: false | { address?: number };
  /** When the loader serves internal flash, write it through the loader (default true). */
  routeInternalViaLoader?: boolean;
  /** Loadable data in RAM is written there on purpose; otherwise it is an error (default false). */
  allowRam?: boolean;
  /** Go on despite a .dfu file made for another device or alt setting: those become warnings. */
  force?: boolean;
  /**
   * Compare each flash sector with what it must hold before erasing and writing it (default true):
   * an equal sector is skipped, a blank one is written without erase. false:
   * erase and write every sector the image touches.
   */
  skipUnchanged?: boolean;
  /**
   * Keep the bytes of a touched sector that the image does not cover: read them, merge, write
   * (default false: they are erased, as without comparison).
   */
  preserve?: boolean;
}

export type Via = 'rom' | 'loader';

export type PlanIssueCode =
  | 'OUTSIDE_REGIONS'
  | 'REGION_NOT_WRITABLE'
  | 'ROM_RESERVED_RAM'
  | 'PAST_REGION_END'
  | 'SEGMENTS_OVERLAP'
  | 'SHARED_PROGRAM_UNIT'
  | 'LOADER_CHIP_UNKNOWN'
  | 'LOADER_WRONG_CHIP'
  | 'LOADER_NOT_IN_RAM'
  | 'LOADER_OVERLAPS_ROM_RAM'
  | 'LOADER_OVERLAPS_SEGMENT'
  | 'NEEDS_ROM'
  | 'IMAGE_EMPTY'
  | 'LOADS_INTO_RAM'
  | 'SPLIT_PROGRAM_UNIT'
  | 'DFU_DEVICE_MISMATCH'
  | 'DFU_ALT_MISMATCH';

export interface RegionRef {
  via: Via;
  alt: number;
  name: string;
  start: number;
  /** Exclusive. */
  end: number;
}

export interface PlanIssue {
  code: PlanIssueCode;
  /** What is wrong, in words every door shares: no command-line flag, no GUI control. */
  message: string;
  /** What the user does about it; each door words it (CLI: cli/remedies.ts, GUI: lib/words.ts). */
  remedy?: Remedy;
  /** Index into plan.segments, when a segment is at fault. */
  segment?: number;
  /** Segment's sources ("section .qspi"), for the message reader. */
  sources?: string[];
  /** The offending address range [start, end). */
  range?: { start: number; end: number };
  /** The region the segment lands in or is closest to. */
  nearest?: RegionRef;
}

export interface PlanRegion extends RegionRef {
  kind: 'memory' | 'ram' | 'rom-reserved';
  layout: MemoryLayout;
}

export interface PlannedSegment {
  index: number;
  address: number;
  length: number;
  sources: string[];
  region?: RegionRef;
}

export interface EraseOp {
  via: Via;
  alt: number;
  region: string;
  /** 'sector' erases the sector at `address` (DfuSe 0x41 + address); 'mass' the whole memory (0x41 alone). */
  kind: 'sector' | 'mass';
  address: number;
  size: number;
  estimatedMs: number;
  /**
   * A mass erase asked for (PlanOptions.massErase): the sector erases it replaces — those of the sectors
   * the image touches in this memory — and what they would cost, so the plan can say which is cheaper.
   */
  instead?: { sectors: number; estimatedMs: number };
}

export interface WriteOp {
  via: Via;
  alt: number;
  region: string;
  /** Image segment the bytes come from (index into plan.segments); -1 for the loader image. */
  segment: number;
  address: number;
  length: number;
  transferSize: number;
  /** ceil(length / transferSize): DNLOAD blocks 2… after one set-address command. */
  blocks: number;
  estimatedMs: number;
}

export interface VerifyOp {
  via: Via;
  alt: number;
  region: string;
  segment: number;
  address: number;
  length: number;
  method: 'read-back' | 'crc32';
  estimatedMs: number;
}

/**
 * Before erasing and writing a flash sector, find out what it holds: CRC32 in the loader (compared
 * with the CRC of the bytes it must hold and of an erased sector) or a read-back. The engine then
 * skips the sector (equal), writes it without erase (blank), or erases and writes it (different).
 */
export interface CompareOp {
  via: Via;
  alt: number;
  region: string;
  /** The whole sector. */
  address: number;
  size: number;
  method: 'read-back' | 'crc32';
  /** Bytes of the sector the image covers (the rest must read 0xFF afterwards, or keep what it holds with `preserve`). */
  covered: number;
  /** The uncovered bytes are read and kept (read, merge, write). */
  preserve: boolean;
  /** No skipping, with preserve: read only for the merge; erase and write whatever it holds. */
  rewrite?: boolean;
  /** Cost of the comparison. */
  estimatedMs: number;
  /** What skipping this sector saves: its erase, and its writes and verification. */
  eraseMs: number;
  writeMs: number;
}

export interface StagingOp {
  loader: string;
  loadAddress: number;
  imageSize: number;
  /** Set the pointer here and leave: the ROM starts the loader from its vector table. */
  jumpAddress: number;
  enumerationMs: number;
}

export interface LeaveOp {
  via: Via;
  /** Vector table of the application (SP = word 0, PC = word 1). */
  address: number;
}

export interface PlanStage {
  name: StageName;
  title: string;
  via: Via;
  erases: EraseOp[];
  writes: WriteOp[];
  verifies: VerifyOp[];
  /**
   * Sectors compared before erase and write (empty or absent: none). The erases and writes above are
   * then the most the stage does; the engine leaves out those of equal sectors, and the erase of blank ones.
   */
  compares?: CompareOp[];
  /**
   * The image covers every sector of this memory and the memory has a mass erase with a known time:
   * once the comparisons show which sectors need erasing, the engine erases the whole memory instead
   * when that is cheaper than those sector erases plus rewriting the sectors it would otherwise skip.
   */
  bulkErase?: EraseOp;
  staging?: StagingOp;
  leave?: LeaveOp;
  /** Bytes sent over USB by this stage's writes. */
  bytes: number;
  estimatedMs: number;
}

export interface RouteEstimate {
  /** Internal flash written by the ROM (loader staged only if something else needs it). */
  rom: number;
  /** Internal flash written by the loader. */
  loader: number;
  chosen: Via;
}

export interface FlashPlan {
  ok: boolean;
  errors: PlanIssue[];
  warnings: string[];
  chip?: { deviceId: number; name: string };
  /** Present when the loader is staged by this plan. */
  loader?: { name: string; loadAddress: number; imageSize: number };
  /** Name of the loader the board is already running, when the plan runs on it without staging. */
  loaderRunning?: string;
  options: {
    verify: boolean;
    skipBlank: boolean;
    massErase: boolean;
    leave: false | { address: number };
    routeInternalViaLoader: boolean;
    skipUnchanged?: boolean;
    preserve?: boolean;
  };
  regions: PlanRegion[];
  segments: PlannedSegment[];
  stages: PlanStage[];
  /** Bytes of the image written (blank blocks skipped are not counted). */
  totalBytes: number;
  /** Blank blocks not sent (skip-blank). */
  skippedBytes: number;
  /** Worst case: every compared sector differs (erased and written) — the estimate without comparison plus the comparisons. */
  estimatedMs: number;
  /**
   * When sectors are compared: the estimate when every compared sector is blank (no erase) and when
   * every one already holds the image (nothing erased or written).
   */
  estimatedBlankMs?: number;
  estimatedUnchangedMs?: number;
  /** Both routes' estimates, when a loader that serves internal flash could take the internal segments. */
  routes?: RouteEstimate;
}
