// Modelled time that is not a chip fact: the USB full-speed wire, enumeration and the host's
// transfer timeout. Sources: reference/timing.md (a 2 KB DNLOAD + GETSTATUS ≈ 5 ms on a real F745;
// at most 13 64-byte transactions per 1 ms frame, USB 2.0 table 5-9, fewer in practice).

/**
 * Per control transfer (setup and status stages, host scheduling). Chosen so that the F745 figures in
 * timing.md come out: a 2 KB block cycle (DNLOAD, GETSTATUS busy, 104 ms wait, GETSTATUS idle) takes
 * ≈ 108.9 ms (observed 108–109 ms), i.e. ≈ 18.8 KB/s through the ROM.
 */
const WIRE_OVERHEAD_MS = 0.5;
/** 64-byte data packets per millisecond on a bus shared with SOFs and NAK retries. */
const WIRE_PACKETS_PER_MS = 10;

/** Time one control transfer occupies the bus: 2 KB DNLOAD ≈ 3.7 ms, GETSTATUS ≈ 0.6 ms. */
export function wireMs(dataBytes: number): number {
  return WIRE_OVERHEAD_MS + Math.ceil(Math.max(dataBytes, 1) / 64) / WIRE_PACKETS_PER_MS;
}

/**
 * Transfer timeout of the simulated host stack when the caller gives none: the `usb` package v3
 * uses 1000 ms (DEFAULT_TIMEOUT in its dist/index.js); a hung request rejects after it.
 */
export const SIM_TRANSFER_TIMEOUT_MS = 1000;

/** From the GETSTATUS that answers dfuMANIFEST to the device dropping off the bus. */
export const LEAVE_DISCONNECT_MS = 2;
/** From a reset to the ROM bootloader being enumerated again (reset, ROM start-up, USB enumeration). */
export const ROM_ENUMERATION_MS = 250;
/** From the jump to a loader to its enumeration, when the loader image does not say. */
export const LOADER_ENUMERATION_MS = 150;
/** After an option-byte write the ROM reloads them with a system reset (AN2662 §4.5.1 figure "Write memory"). */
export const OPTION_BYTE_RESET_MS = 20;
