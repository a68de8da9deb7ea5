// The one image model every firmware format reads into: segments placed by load address, sorted,
// adjacent ones merged, never overlapping. Parsers build it with buildImage(), which reports overlaps
// with both sources.

export type FirmwareFormat = 'elf' | 'hex' | 'srec' | 'bin' | 'dfu';

export interface Segment {
  /** Load address (where the bytes are stored: p_paddr for ELF). */
  address: number;
  data: Uint8Array;
  /** Where the bytes came from, for display and error messages: section names, record lines, DfuSe target. */
  sources: string[];
  /** DfuSe .dfu only: the alt setting this element targets. */
  alt?: number;
}

export interface FirmwareImage {
  format: FirmwareFormat;
  /** Sorted by address, adjacent merged, no overlaps. */
  segments: Segment[];
  /** Entry point when the format records one (ELF e_entry, HEX type 05, SREC S7/S8/S9). */
  entry?: number;
  /** DfuSe suffix VID/PID when the file has one. */
  usbId?: { vendorId: number; productId: number; bcdDevice: number };
  /** Total of all segment lengths. */
  size: number;
}
