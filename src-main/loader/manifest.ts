// loader.json — the manifest of a loader package (BootBridge loader protocol v1, docs/loader-protocol.md).
// Validated with a schema; every error names the field, because the people who write manifests are
// firmware engineers bringing up a new board, and "invalid manifest" alone helps nobody.

import * as v from 'valibot';
import { BootBridgeError } from '../../shared/errors.js';
import { parseLayout, type MemoryLayout } from '../dfu/layout.js';

/** A number written as JSON number or as a "0x…" / decimal string (addresses read better in hex). */
const Int = v.pipe(
  v.union([v.number(), v.pipe(v.string(), v.regex(/^(0[xX][0-9a-fA-F]+|\d+)$/, 'must be a number or a "0x…" hexadecimal string'))]),
  v.transform((x) => (typeof x === 'number' ? x : Number(x))),
  v.integer('must be an integer'),
  v.minValue(0, 'must not be negative'),
);
const U16 = v.pipe(Int, v.maxValue(0xffff, 'must fit in 16 bits'));
const U32 = v.pipe(Int, v.maxValue(0xffffffff, 'must fit in 32 bits'));

/**
 * The largest wTransferSize a loader may declare. Every block is one control transfer, and hosts refuse
 * control transfers with more than 4096 data bytes: libusb on Linux (os/linux_usbfs.h
 * MAX_CTRL_BUFFER_LENGTH 4096, checked before submitting) and with WinUSB (os/windows_winusb.c, same
 * constant: "Windows places upper limits on the control transfer size"); Windows itself allows 4 KB
 * on the default control pipe of a full-speed device (Microsoft, "USB bandwidth allocation", maximum
 * transfer sizes); the Linux kernel's USBDEVFS_CONTROL refuses more than one page (devio.c
 * proc_control: wLength > PAGE_SIZE → EINVAL). docs/loader-protocol.md §2.1.
 */
export const MAX_TRANSFER_SIZE = 4096;

/** Bytes of the nonce record in a loader image: "BBNONCE1" then the 8 nonce bytes (loader protocol §2.3). */
export const NONCE_MAGIC = 'BBNONCE1';
export const NONCE_RECORD_BYTES = 16;

const ManifestSchema = v.strictObject({
  $schema: v.optional(v.string()),
  protocol: v.literal(1, 'must be 1 (BootBridge loader protocol v1)'),
  name: v.pipe(v.string(), v.minLength(1, 'must not be empty'), v.maxLength(120, 'is too long (120 characters at most)')),
  version: v.optional(v.string()),
  description: v.optional(v.string()),
  /** True for the simulator's own loader packages: they boot only on simulated boards. */
  simulated: v.optional(v.boolean(), false),
  board: v.optional(v.string()),
  chips: v.pipe(v.array(U16), v.minLength(1, 'must list at least one device ID')),
  image: v.strictObject({
    file: v.pipe(v.string(), v.minLength(1), v.regex(/^[^/\\]+$/, 'must be a file name inside the package folder')),
    /** Required for a BIN image; an ELF image carries its own addresses. */
    loadAddress: v.optional(U32),
    sha256: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal digits'))),
  }),
  usb: v.strictObject({
    vendorId: U16,
    productId: U16,
    product: v.optional(v.string()),
    enumerationTimeoutMs: v.optional(v.pipe(Int, v.minValue(100), v.maxValue(60_000)), 5000),
  }),
  transferSize: v.pipe(
    Int,
    v.minValue(64, 'must be at least 64 bytes'),
    v.maxValue(
      MAX_TRANSFER_SIZE,
      `must be at most ${MAX_TRANSFER_SIZE} bytes: hosts refuse control transfers with more data (libusb MAX_CTRL_BUFFER_LENGTH 4096 on Linux and Windows, the Linux kernel's usbfs one page, Windows 4 KB for full-speed devices), so a bigger wTransferSize cannot be used`,
    ),
  ),
  memories: v.pipe(v.array(v.string()), v.minLength(1, 'must list at least one memory')),
  extensions: v.optional(v.array(v.picklist(['crc32', 'overlap'], 'unknown extension (known: crc32, overlap)')), []),
  /** No run on a real board recorded yet: the CLI and the GUI say so where the loader is chosen. */
  experimental: v.optional(v.boolean(), false),
  /** Staging nonce (loader protocol §2.3): the 16-byte record's offset in the image file, and the string index reporting it. */
  nonce: v.optional(
    v.strictObject({
      offset: v.pipe(U32, v.check((n) => n % 4 === 0, 'must be 4-byte aligned')),
      string: v.pipe(Int, v.minValue(1, 'must be a string descriptor index (1…255)'), v.maxValue(255, 'must be a string descriptor index (1…255)')),
    }),
  ),
  /** String descriptor index of the loader's entry report (loader protocol §2.4). */
  entryReport: v.optional(
    v.strictObject({
      string: v.pipe(Int, v.minValue(1, 'must be a string descriptor index (1…255)'), v.maxValue(255, 'must be a string descriptor index (1…255)')),
    }),
  ),
  /** Real busy times the loader reports (for the plan's estimate). */
  timing: v.optional(
    v.strictObject({
      programKBps: v.optional(v.pipe(v.number(), v.minValue(0.001))),
      eraseMsPerSector: v.optional(v.pipe(v.number(), v.minValue(0))),
      /** Mass (bulk) erase of each memory, ms, alt 0 first; null where it has none or its time is unknown. */
      massEraseMs: v.optional(v.array(v.nullable(v.pipe(v.number(), v.minValue(0))))),
    }),
  ),
});

export type LoaderManifestInput = v.InferInput<typeof ManifestSchema>;

export interface LoaderManifest {
  protocol: 1;
  name: string;
  version?: string;
  description?: string;
  simulated: boolean;
  board?: string;
  chips: number[];
  // As the schema parses them: an optional field may be present and undefined.
  image: { file: string; loadAddress?: number | undefined; sha256?: string | undefined };
  usb: { vendorId: number; productId: number; product?: string | undefined; enumerationTimeoutMs: number };
  transferSize: number;
  memories: { alt: number; text: string; layout: MemoryLayout }[];
  extensions: ('crc32' | 'overlap')[];
  timing?: { programKBps?: number | undefined; eraseMsPerSector?: number | undefined; massEraseMs?: (number | null)[] | undefined };
  /** No run on a real board recorded yet. */
  experimental: boolean;
  /** Where the staging nonce lives in the image file, and which string descriptor reports it. */
  nonce?: { offset: number; string: number };
  entryReport?: { string: number };
}

function invalid(message: string, field: string, file?: string): BootBridgeError {
  return new BootBridgeError('LOADER_INVALID', message, { field, ...(file ? { file } : {}) });
}

/** Parses and validates loader.json text. `file` is used in error context only. */
export function parseManifest(text: string, file = 'loader.json'): LoaderManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(`${file} is not valid JSON: ${(e as Error).message}`, '(file)', file);
  }
  const result = v.safeParse(ManifestSchema, json);
  if (!result.success) {
    const problems = result.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`);
    const field = v.getDotPath(result.issues[0]!) ?? '(root)';
    throw new BootBridgeError('LOADER_INVALID', `${file}: ${problems.join('; ')}`, { field, file, problems });
  }
  const m = result.output;
  if (m.image.file.toLowerCase().endsWith('.bin') && m.image.loadAddress === undefined) {
    throw invalid(`${file}: image.loadAddress is required for a BIN image`, 'image.loadAddress', file);
  }
  if (m.timing?.massEraseMs && m.timing.massEraseMs.length > m.memories.length) {
    throw invalid(`${file}: timing.massEraseMs has ${m.timing.massEraseMs.length} entries for ${m.memories.length} memories (one per memory, alt 0 first)`, 'timing.massEraseMs', file);
  }
  const memories = m.memories.map((text, alt) => {
    try {
      return { alt, text, layout: parseLayout(text) };
    } catch (e) {
      throw invalid(`${file}: memories.${alt}: ${(e as Error).message}`, `memories.${alt}`, file);
    }
  });
  return {
    protocol: 1,
    name: m.name,
    ...(m.version !== undefined ? { version: m.version } : {}),
    ...(m.description !== undefined ? { description: m.description } : {}),
    simulated: m.simulated,
    ...(m.board !== undefined ? { board: m.board } : {}),
    chips: m.chips,
    image: m.image,
    usb: m.usb,
    transferSize: m.transferSize,
    memories,
    extensions: m.extensions,
    ...(m.timing !== undefined ? { timing: m.timing } : {}),
    experimental: m.experimental,
    ...(m.nonce !== undefined ? { nonce: m.nonce } : {}),
    ...(m.entryReport !== undefined ? { entryReport: m.entryReport } : {}),
  };
}
