// Errors are data: every failure BootBridge reports is a BootBridgeError with a stable code, the
// context an engineer needs (address, alt setting, DFU state/status, stage…) and an optional cause.
// ERROR_TEXT maps each code to the words a person reads; the GUI, the CLI and the unit log use it.
// This file is shared by main and renderer: no electron, no node: modules, no DOM.

import { hex32 } from './format.js';

// Addresses in messages are formatted by ./format.js; re-exported for the modules that import it from here.
export { hex32 };

/**
 * What the user does about a failure, as a stable code. The message and hint say what went wrong in
 * words both doors share; each door words the remedy for its own user: the CLI with its flags
 * (src-main/cli/remedies.ts), the GUI with its controls (src-renderer/src/lib/words.ts). An error
 * carries one (`remedy`) when its own step differs from its code's default (ERROR_TEXT[code].remedy).
 */
export const REMEDIES = [
  'check-input', //       a value given was wrong
  'reset-with-boot0', //  no board in DFU mode: connect one with BOOT0 high, or a simulated board
  'choose-board', //      several boards: pick one
  'use-sim', //           no USB here: use a simulated board
  'choose-chip', //       the chip is not identified: name it
  'choose-loader', //     memory only a RAM loader reaches: choose a loader package
  'give-base-address', // a raw binary: give the address it loads at
  'install-emulator', //  the emulated CPU needs python3-unicorn
  'reset-to-rom', //      the board runs its loader, which cannot return to the ROM bootloader
  'allow-ram', //         loadable data in RAM: write RAM on purpose, or link it for flash
  'force', //             a file made for another device or memory: go on anyway, or use the right file
] as const;
export type Remedy = (typeof REMEDIES)[number];

/** One door's words for every remedy: a clause, lower case, no final stop ("choose one with --serial"). */
export type RemedyWords = Record<Remedy, string>;

/**
 * The one wording of what to do with a board running its loader: a loader cannot hand the board back
 * to the ROM bootloader over USB (docs/loader-protocol.md §1), only a reset with BOOT0 held does. Both
 * doors word the 'reset-to-rom' remedy with it (it names a button on the board, no control of either).
 */
export const RESET_TO_ROM = 'reset the board with BOOT0 held high to return to its ROM bootloader, then run again';

export const ERROR_TEXT = {
  BAD_ARGUMENT: { title: 'Invalid argument', hint: '', remedy: 'check-input' },
  FILE_ERROR: { title: 'File cannot be read or written', hint: 'Check the path and its permissions.' },
  CANCELLED: { title: 'Cancelled', hint: 'The operation was stopped on request; run it again to finish.' },
  BUSY: { title: 'Board is busy', hint: 'Another operation is running on this board; wait for it to end.' },

  DEVICE_NOT_FOUND: { title: 'No matching DFU device', hint: '', remedy: 'reset-with-boot0' },
  DEVICE_AMBIGUOUS: { title: 'Several DFU devices match', hint: '', remedy: 'choose-board' },
  DEVICE_DISCONNECTED: { title: 'Device disconnected', hint: 'Reconnect it in DFU mode and run again.' },
  USB_TRANSFER_FAILED: { title: 'USB transfer failed', hint: 'Check the cable and the USB permissions (udev rule on Linux, WinUSB driver on Windows).' },
  USB_STALL: { title: 'Device refused the request (STALL)', hint: 'The bootloader rejected the request in its current state.' },
  USB_UNAVAILABLE: { title: 'USB is not available', hint: 'BootBridge cannot list this machine\'s USB devices. Connect the board directly and check USB access (Linux: the udev rule in the README; Windows: the WinUSB driver).', remedy: 'use-sim' },
  USB_ACCESS_DENIED: { title: 'No permission to open the USB device', hint: 'On Linux install the udev rule from the README; on Windows bind WinUSB with Zadig.' },
  DESCRIPTOR_INVALID: { title: 'Invalid USB descriptor', hint: 'The device sent a malformed descriptor; it may not be a DFU bootloader.' },
  NOT_DFU_DEVICE: { title: 'Not a DFU device', hint: 'The device has no DFU interface.' },

  DFU_STATUS: { title: 'The bootloader reported an error', hint: 'See the DFU status for the cause.' },
  DFU_UNEXPECTED_STATE: { title: 'Bootloader in an unexpected state', hint: 'Run again; BootBridge resets the DFU state machine at the start of every operation.' },
  DFU_TIMEOUT: { title: 'Bootloader did not finish in time', hint: 'The device stayed busy past its timeout; power-cycle it in DFU mode.' },
  DFU_PROTOCOL: { title: 'Unexpected answer from the bootloader', hint: 'The device answered outside the DFU/DfuSe protocol.' },
  LAYOUT_INVALID: { title: 'Invalid memory layout string', hint: 'The alt setting name is not a DfuSe layout (@Name/0xADDR/N*SIZEu,…).' },
  ADDRESS_UNREACHABLE: { title: 'Address outside the device memory', hint: 'No memory reachable on this board, as it is connected now, covers the address.' },
  REGION_NOT_WRITABLE: { title: 'Memory region is not writable', hint: 'The region is read-only in this bootloader.' },
  REGION_NOT_READABLE: { title: 'Memory region is not readable', hint: 'The region cannot be uploaded (read protection or type flags).' },
  VERIFY_MISMATCH: { title: 'Verification failed', hint: 'The memory does not hold what was written. Erase and flash again; if it repeats, the flash may be worn or protected.' },

  FIRMWARE_INVALID: { title: 'Firmware file is invalid', hint: 'The file is damaged or not in the format its name says.' },
  FIRMWARE_UNSUPPORTED: { title: 'Firmware format not supported', hint: 'Use ELF32, Intel HEX, S-record, raw BIN (with an address) or DfuSe .dfu.' },
  FIRMWARE_OVERLAP: { title: 'Firmware segments overlap', hint: 'Two parts of the image claim the same addresses.' },
  CHECKSUM_MISMATCH: { title: 'Checksum mismatch', hint: 'The file is corrupt.' },

  CHIP_UNKNOWN: { title: 'Unknown chip', hint: '', remedy: 'choose-chip' },
  PLAN_INVALID: { title: 'The image cannot be flashed as planned', hint: 'See the listed problems; nothing was written.' },

  LOADER_INVALID: { title: 'Invalid loader package', hint: 'Fix the named field in loader.json.' },
  LOADER_UNSUPPORTED: { title: 'Loader cannot be used', hint: 'Choose a loader package made for this chip and board (loader.json "chips"); docs/loader-protocol.md says how to make one.' },
  STAGING_FAILED: { title: 'Staging the loader failed', hint: 'Run again from the ROM bootloader; if it fails the same way, the loader package is not made for this board, or the USB link is unreliable (try another cable or port).' },
  LOADER_TIMEOUT: { title: 'Loader did not appear', hint: 'The loader did not enumerate after the jump. Check the loader matches this board; reset the board into DFU mode and run again.' },
  LOADER_MISMATCH: { title: 'Loader does not match its manifest', hint: 'The device that enumerated does not serve what loader.json promised.' },

  RECIPE_INVALID: { title: 'Invalid recipe', hint: 'Fix the named field in the recipe.' },
  HASH_MISMATCH: { title: 'File does not match its recorded hash', hint: 'The file was changed since the recipe was made; it is refused.' },
  EMULATOR_UNAVAILABLE: { title: 'The emulated CPU is not available', hint: 'Running a real loader image on a simulated board needs Debian\'s Python 3 with Unicorn.', remedy: 'install-emulator' },
  INTERNAL: { title: 'Internal error', hint: 'This is a bug in BootBridge; please report it with the log.' },
} as const satisfies Record<string, { title: string; hint: string; remedy?: Remedy }>;

export type ErrorCode = keyof typeof ERROR_TEXT;

/** What an engineer needs to act on a failure. All fields optional; add, never rename. */
export interface ErrorContext {
  address?: number;
  length?: number;
  alt?: number;
  request?: string;
  state?: number;
  stateName?: string;
  status?: number;
  statusName?: string;
  stage?: string;
  phase?: string;
  serial?: string | undefined;
  file?: string;
  field?: string;
  segment?: string;
  offset?: number;
  line?: number;
  [key: string]: unknown;
}

export class BootBridgeError extends Error {
  override readonly name = 'BootBridgeError';
  readonly code: ErrorCode;
  readonly context: ErrorContext;
  /** What the user does about it, when the code's default remedy does not say it. */
  readonly remedy?: Remedy;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown; remedy?: Remedy }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = context;
    if (options?.remedy) this.remedy = options.remedy;
  }

  /** Plain data, for IPC, JSON output and the unit log. */
  toJSON(): ErrorData {
    return { code: this.code, message: this.message, context: this.context, ...(this.remedy ? { remedy: this.remedy } : {}) };
  }
}

export interface ErrorData {
  code: ErrorCode;
  /** Door-neutral: names no command-line flag and no GUI control (the remedy says what to do). */
  message: string;
  context: ErrorContext;
  remedy?: Remedy;
}

/** Any thrown value as ErrorData (unknown values become INTERNAL). */
export function toErrorData(e: unknown): ErrorData {
  if (e instanceof BootBridgeError) return e.toJSON();
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', message, context: {} };
}

/** The title a person reads for an error code ("USB transfer failed"); the code itself when unknown. */
export function errorTitle(code: string): string {
  return (ERROR_TEXT as Record<string, { title: string }>)[code]?.title ?? code;
}

/** A remedy in a door's words; without a door (logs, tests) its code. */
function remedyText(r: Remedy, words?: RemedyWords): string {
  return words ? words[r] : `remedy: ${r}`;
}

/** A clause as a sentence: capital first letter, final stop. */
export function sentence(clause: string): string {
  return clause ? clause[0]!.toUpperCase() + clause.slice(1) + (/[.!?]$/.test(clause) ? '' : '.') : '';
}

/**
 * A message with a remedy after it: "message: remedy" for a clause, "Message. Remedy." when the message
 * is already a sentence (plan issues are).
 */
export function withRemedy(message: string, remedy: Remedy | undefined, words?: RemedyWords): string {
  if (!remedy) return message;
  const text = remedyText(remedy, words);
  return /[.!?]$/.test(message) ? `${message} ${sentence(text)}` : `${message}: ${text}`;
}

/**
 * The hint line for one door: the code's hint and its default remedy in that door's words. An error
 * that carries its own remedy has it said after its message (formatError), so the default is not added.
 */
export function hintFor(e: ErrorData, words?: RemedyWords): string {
  const text = ERROR_TEXT[e.code] ?? ERROR_TEXT.INTERNAL;
  const fallback = e.remedy ? undefined : (text as { remedy?: Remedy }).remedy;
  return [text.hint, fallback ? sentence(remedyText(fallback, words)) : ''].filter(Boolean).join(' ');
}

/**
 * One line for a person: message (and the error's own remedy, in this door's words), then the context
 * that matters, then what to do. `field` stays in the data (logs, --json, the window's inputs) but is
 * not said: it is a parameter's or a file format's name (baseAddress, firmwareId), and the message
 * names the field in a person's words where one matters ("serialPattern: …", "EI_CLASS"). A door
 * passes its words (the CLI's, the GUI's); without them a remedy is shown by its code.
 */
export function formatError(e: ErrorData, words?: RemedyWords): string {
  const c = e.context;
  const parts: string[] = [];
  if (c.stage) parts.push(`stage ${c.stage}`);
  if (c.phase) parts.push(`phase ${c.phase}`);
  if (typeof c.address === 'number') parts.push(`address ${hex32(c.address)}`);
  if (typeof c.alt === 'number') parts.push(`alt ${c.alt}`);
  // "…left the bus during DNLOAD" already names its request.
  if (c.request && !e.message.includes(c.request)) parts.push(`request ${c.request}`);
  if (c.stateName) parts.push(`state ${c.stateName}`);
  if (c.statusName) parts.push(`status ${c.statusName}`);
  if (c.serial) parts.push(`serial ${c.serial}`);
  if (c.file) parts.push(`file ${c.file}`);
  if (typeof c.line === 'number') parts.push(`line ${c.line}`);
  const where = parts.length ? ` (${parts.join(', ')})` : '';
  const lead = withRemedy(e.message, e.remedy, words);
  const hint = hintFor(e, words);
  return hint ? `${lead}${where}\n  ${hint}` : `${lead}${where}`;
}
