// The shape of what BootBridge knows about one STM32 line (chips.ts holds the fully modelled lines,
// chip-db.ts the compact rows); a type-only module both of them build on.

export type Family = 'C0' | 'F0' | 'F1' | 'F2' | 'F3' | 'F4' | 'F7' | 'G0' | 'G4' | 'H5' | 'H7' | 'L0' | 'L1' | 'L4' | 'L5' | 'U5' | 'WB';

export interface RamRange {
  name: string;
  start: number;
  size: number;
}

/** Where an alt-setting string comes from: a capture of the real ROM, or our inference. */
export type AltStringProvenance = 'captured' | 'inferred';

/** What the ROM does with a program request: F2/F4/F7 clear bits; the others refuse a non-erased unit (PGERR/PROGERR). */
export type ProgramRule = 'clear-bits' | 'erased-only';

export interface ChipTiming {
  romReportedWriteMs: number;
  romReportedEraseMs: number;
  romReportedMassEraseMs: number;
  /** Real sector/page erase time by sector size in bytes. */
  eraseMsBySectorSize: Record<number, number>;
  programUsPerUnit: number;
  massEraseMs: number;
}

export interface ChipInfo {
  deviceId: number;
  name: string;
  family: Family;
  /**
   * Part numbers this entry covers, lower case, for --chip: "stm32f746" matches STM32F746NGH6; a "?"
   * stands for one letter or digit ("stm32f401?c" is the F401 with flash letter C, any pin count).
   */
  models: string[];
  /** Alt-setting strings the ROM DFU bootloader reports, in alt order (alt 0 = internal flash); empty when none was found. */
  romAltStrings: string[];
  /** Same order as romAltStrings: 'captured' when seen on a real ROM, 'inferred' otherwise. */
  romAltStringProvenance: AltStringProvenance[];
  /** USB facts of the ROM (bcdDevice, product string, wTransferSize); absent when no capture was found. */
  rom?: { bcdDevice: number; product: string; startsInDfuError: boolean; transferSize: number };
  /** The internal flash at its largest size in the line. */
  flash: { start: number; size: number };
  /** Its sectors/pages in address order, DfuSe style without the address: "4*16K,1*64K,7*128K". */
  flashSectors: string;
  /** SRAM the core can execute from and the ROM can write, in address order (may be only the part AN2606 names). */
  ram: RamRange[];
  /** RAM the ROM bootloader itself uses (AN2606); [start, end). Absent when not found: RAM is then not written through the ROM. */
  romReservedRam?: { start: number; end: number };
  /** Option bytes as the ROM exposes them; empty when not found. */
  optionBytes: { start: number; size: number }[];
  /** One-time-programmable area including its lock bytes, when the chip has one. */
  otp?: { start: number; size: number };
  uidAddress?: number;
  flashSizeAddress?: number;
  /** Programming granularity and rule. */
  program: { unitBytes: number; rule: ProgramRule };
  /** Timing facts (reference timing.md); absent when not measured or documented. */
  timing?: ChipTiming;
  /** Known ROM bootloader behaviours a user trips over, each with its source. */
  quirks: string[];
  /** Facts looked for and not found in the sources consulted. */
  unknown: string[];
  sources: string[];
}

/** A chip modelled in full: what the simulator needs to build its ROM bootloader. */
export type ModelledChip = ChipInfo & Required<Pick<ChipInfo, 'rom' | 'timing' | 'uidAddress' | 'flashSizeAddress' | 'romReservedRam'>>;
