// DFU 1.1 class requests, states and status codes (DFU 1.1 §3 table 3.2, §6.1.2 tables for bStatus
// and bState) with the name dfu-util and the spec use, and a one-line meaning for messages; plus the
// DfuSe command bytes sent in DNLOAD wBlockNum 0 (AN3156 §6).

export const DFU_REQUEST = {
  DETACH: 0,
  DNLOAD: 1,
  UPLOAD: 2,
  GETSTATUS: 3,
  CLRSTATUS: 4,
  GETSTATE: 5,
  ABORT: 6,
} as const;
export type DfuRequestName = keyof typeof DFU_REQUEST;

export const DFU_STATE = {
  appIDLE: 0,
  appDETACH: 1,
  dfuIDLE: 2,
  dfuDNLOAD_SYNC: 3,
  dfuDNBUSY: 4,
  dfuDNLOAD_IDLE: 5,
  dfuMANIFEST_SYNC: 6,
  dfuMANIFEST: 7,
  dfuMANIFEST_WAIT_RESET: 8,
  dfuUPLOAD_IDLE: 9,
  dfuERROR: 10,
} as const;

/** Index = bState. Names as the spec writes them. */
export const DFU_STATE_NAMES: readonly string[] = [
  'appIDLE',
  'appDETACH',
  'dfuIDLE',
  'dfuDNLOAD-SYNC',
  'dfuDNBUSY',
  'dfuDNLOAD-IDLE',
  'dfuMANIFEST-SYNC',
  'dfuMANIFEST',
  'dfuMANIFEST-WAIT-RESET',
  'dfuUPLOAD-IDLE',
  'dfuERROR',
];

export const DFU_STATUS = {
  OK: 0x00,
  errTARGET: 0x01,
  errFILE: 0x02,
  errWRITE: 0x03,
  errERASE: 0x04,
  errCHECK_ERASED: 0x05,
  errPROG: 0x06,
  errVERIFY: 0x07,
  errADDRESS: 0x08,
  errNOTDONE: 0x09,
  errFIRMWARE: 0x0a,
  errVENDOR: 0x0b,
  errUSBR: 0x0c,
  errPOR: 0x0d,
  errUNKNOWN: 0x0e,
  errSTALLEDPKT: 0x0f,
} as const;

/** Index = bStatus: [name, meaning]. Meanings from DFU 1.1 §6.1.2, with what the STM32 ROM means by them (AN3156 §6). */
const DFU_STATUS_TEXT: readonly (readonly [string, string])[] = [
  ['OK', 'No error condition is present.'],
  ['errTARGET', 'File is not targeted for use by this device (STM32 ROM: address or command not accepted in this state).'],
  ['errFILE', 'File is for this device but fails a vendor-specific verification test.'],
  ['errWRITE', 'Device is unable to write memory.'],
  ['errERASE', 'Memory erase function failed.'],
  ['errCHECK_ERASED', 'Memory erase check failed.'],
  ['errPROG', 'Program memory function failed.'],
  ['errVERIFY', 'Programmed memory failed verification.'],
  ['errADDRESS', 'Cannot program memory due to received address that is out of range.'],
  ['errNOTDONE', 'Received DFU_DNLOAD with wLength = 0, but device does not think it has all of the data yet.'],
  ['errFIRMWARE', "Device's firmware is corrupt; it cannot return to run-time (non-DFU) operations."],
  ['errVENDOR', 'Vendor-specific error (STM32 ROM: memory is read-protected).'],
  ['errUSBR', 'Device detected an unexpected USB reset signaling.'],
  ['errPOR', 'Device detected an unexpected power on reset.'],
  ['errUNKNOWN', 'Something went wrong, but the device does not know what it was.'],
  ['errSTALLEDPKT', 'Device stalled an unexpected request.'],
];

export function stateName(state: number): string {
  return DFU_STATE_NAMES[state] ?? `state ${state}`;
}

export function statusName(status: number): string {
  return DFU_STATUS_TEXT[status]?.[0] ?? `status ${status}`;
}

export function statusMeaning(status: number): string {
  return DFU_STATUS_TEXT[status]?.[1] ?? `Unknown DFU status code ${status}.`;
}

/** DfuSe commands: first byte of DNLOAD wBlockNum 0 (AN3156 §6.1–6.5). */
export const DFUSE_COMMAND = {
  GET_COMMANDS: 0x00,
  SET_ADDRESS: 0x21,
  ERASE: 0x41,
  READ_UNPROTECT: 0x92,
  /** BootBridge loader extension: CRC-32 of (address, length), result by UPLOAD wBlockNum 1. */
  CRC32: 0xb0,
  /**
   * BootBridge loader extension "overlap": from now on a data block is programmed in the background
   * while the next one is on the wire (docs/loader-protocol.md §8).
   */
  BACKGROUND_WRITES: 0xb1,
} as const;
