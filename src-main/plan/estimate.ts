// Time model for plan estimates. Through the ROM the cost is the ROM's own protocol: the host must wait
// the bwPollTimeout the ROM reports (DFU 1.1 §6.1.2) even when the flash finished sooner, and must
// keep polling when the flash takes longer (timing.md: F745 reports 100 ms for an erase that takes
// ≈351 ms). A loader reports its real busy time, so its cost is the silicon's (or its manifest's).

import { sectorEraseMs, type ChipInfo } from '../devices/chips.js';
import type { PlanLoader } from './types.js';

/**
 * One control transfer with `bytes` of data plus its GETSTATUS: ≈5 ms for a 2 KB DNLOAD on a real
 * F745 (timing.md, fwupd #2696), i.e. 2.5 ms of round trips plus ≈832 bytes per ms at full speed.
 */
export function usbMs(bytes: number): number {
  return 2.5 + bytes / 832;
}

/** Used when the chip is not known: the F745's ROM figures (the one measured ROM). */
const DEFAULT_ROM = { writeMs: 104, eraseMs: 100, massEraseMs: 100 };
/** Assumed CRC32 speed of a loader on a Cortex-M: 20 MB/s (unverified). */
const CRC_BYTES_PER_MS = 20_000;
/** Assumed time from the jump until the loader has enumerated, when its manifest does not say. */
export const DEFAULT_ENUMERATION_MS = 1000;

export class TimeModel {
  constructor(
    private readonly chip: ChipInfo | undefined,
    private readonly loader: PlanLoader | undefined,
  ) {}

  /** Real programming time of `bytes` of internal flash. */
  private siliconProgramMs(bytes: number): number {
    if (!this.chip?.timing) return 0;
    return (Math.ceil(bytes / this.chip.program.unitBytes) * this.chip.timing.programUsPerUnit) / 1000;
  }

  romWriteBlockMs(bytes: number, isFlash: boolean): number {
    const reported = this.chip?.timing?.romReportedWriteMs ?? DEFAULT_ROM.writeMs;
    return Math.max(reported, isFlash ? this.siliconProgramMs(bytes) : 0) + usbMs(bytes);
  }

  romSetAddressMs(): number {
    return usbMs(5);
  }

  romEraseSectorMs(size: number): number {
    const reported = this.chip?.timing?.romReportedEraseMs ?? DEFAULT_ROM.eraseMs;
    return Math.max(reported, this.chip ? sectorEraseMs(this.chip, size) : 0) + usbMs(5);
  }

  romMassEraseMs(): number {
    const reported = this.chip?.timing?.romReportedMassEraseMs ?? DEFAULT_ROM.massEraseMs;
    return Math.max(reported, this.chip?.timing?.massEraseMs ?? 0) + usbMs(1);
  }

  readBackMs(bytes: number, transferSize: number): number {
    return Math.ceil(bytes / transferSize) * usbMs(0) + bytes / 832;
  }

  loaderWriteBlockMs(bytes: number, isInternalFlash: boolean): number {
    const kbps = this.loader?.timing?.programKBps;
    const program = kbps !== undefined ? bytes / (kbps * 1.024) : isInternalFlash ? this.siliconProgramMs(bytes) : 0;
    // With the overlap extension a block programs while the next is on the wire (loader protocol §8).
    return this.loader?.overlap ? Math.max(program, usbMs(bytes)) : program + usbMs(bytes);
  }

  /** The loader's mass (bulk) erase of alt `alt` by its manifest; undefined when it gives none. */
  loaderMassEraseMs(alt: number): number | undefined {
    const ms = this.loader?.timing?.massEraseMs?.[alt];
    return ms === undefined || ms === null ? undefined : ms + usbMs(1);
  }

  loaderEraseSectorMs(size: number, isInternalFlash: boolean): number {
    const given = this.loader?.timing?.eraseMsPerSector;
    const ms = given ?? (isInternalFlash && this.chip ? sectorEraseMs(this.chip, size) : 0);
    return ms + usbMs(5);
  }

  loaderCrcMs(bytes: number): number {
    return usbMs(9) + usbMs(4) + bytes / CRC_BYTES_PER_MS;
  }

  leaveMs(): number {
    return usbMs(5) + usbMs(0) + usbMs(0);
  }

  enumerationMs(): number {
    return this.loader?.timing?.enumerationMs ?? DEFAULT_ENUMERATION_MS;
  }

  /** True when the loader's program time is unknown for a memory that is not internal flash. */
  loaderTimingMissing(): boolean {
    return this.loader?.timing?.programKBps === undefined || this.loader?.timing?.eraseMsPerSector === undefined;
  }
}
