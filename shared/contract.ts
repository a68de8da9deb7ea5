// The app's one contract (STYLE.md §3): every operation the renderer may ask of main, and every event
// main pushes back. Served over Electron IPC (src-main/app/) and a loopback WebSocket (src-main/web/);
// the renderer picks one transport at start. Every request entering main is checked against the
// valibot schema below, because TypeScript types vanish at run time. Errors cross as ErrorData.
// No electron, no node:, no DOM here.

import * as v from 'valibot';
import type { ErrorData } from './errors.js';
import type { FlashEvent, FlashResult, StageName } from './progress.js';

// ---------------------------------------------------------------------------------------------
// Domain data as the renderer sees it (plain, structured-clone and JSON friendly).

export interface SectorView {
  start: number;
  size: number;
  readable: boolean;
  erasable: boolean;
  writable: boolean;
}

/** Structurally the same as src-main/dfu/layout.ts MemoryLayout, so one passes as the other. */
export interface LayoutView {
  name: string;
  blocks: { start: number; size: number; sectors: SectorView[] }[];
}

export interface DeviceSummaryView {
  id: string;
  serial: string;
  vendorId: number;
  productId: number;
  bcdDevice: number;
  manufacturer?: string;
  product?: string;
  /** 'rom': ST system bootloader; 'loader': a BootBridge loader running from RAM. */
  mode: 'rom' | 'loader';
  chip?: { deviceId: number; name: string };
  /** mode 'loader': the BootBridge loader package it is running, known by its USB identity (loader.json "usb"). */
  loader?: { id: string; name: string; version?: string };
  simulated: boolean;
  portPath?: string;
}

/** One node of the descriptor tree: a descriptor, its decoded fields, its raw bytes. */
export interface DescriptorNode {
  /** "Device", "Configuration 1", "Interface 0 alt 1", "DFU functional", "String 4"… */
  title: string;
  /** Short line shown next to the title (e.g. the alt setting's string). */
  summary?: string;
  fields: { name: string; value: string; note?: string }[];
  /** The descriptor's bytes as the device sent them (numbers 0–255). */
  raw?: number[];
  children: DescriptorNode[];
}

export interface MemoryInfo {
  alt: number;
  name: string;
  /** The alt setting's string as the device reports it ("@Internal Flash  /0x08000000/…"). */
  text?: string;
  layout: LayoutView;
}

export interface DeviceDescription {
  device: DeviceSummaryView;
  tree: DescriptorNode[];
  /** The whole tree in the text dump format (what "copy as text" copies). */
  dump: string;
  memories: MemoryInfo[];
  /** ROM bootloader version ("3.1" from bcdDevice or the bootloader ID). */
  bootloaderVersion?: string;
}

export interface SegmentView {
  address: number;
  length: number;
  sources: string[];
}

export interface FirmwareView {
  id: string;
  name: string;
  /** Absolute path when the file came from disk through main (Electron dialog, recent files). */
  path?: string;
  format: string;
  size: number;
  sha256: string;
  segments: SegmentView[];
  entry?: number;
}

export interface LoaderSummary {
  id: string;
  name: string;
  version?: string;
  description?: string;
  simulated: boolean;
  /** Device IDs it runs on. */
  chips: number[];
  memories: MemoryInfo[];
  transferSize: number;
  /** loader.json "experimental": no run on a real board recorded yet (the GUI and the CLI say so). */
  experimental?: boolean;
}

export interface PlanOperation {
  kind: string;
  region?: string;
  address?: number;
  length?: number;
  detail?: string;
  /** The planner's estimate for this operation (the overall progress bar weights phases by it). */
  estimatedMs?: number;
}

export interface PlanStageView {
  name: StageName;
  title: string;
  operations: PlanOperation[];
  bytes: number;
  estimatedMs: number;
}

export interface PlanRegionView {
  /** Who serves this memory: the ROM bootloader or the staged loader. */
  via: 'rom' | 'loader';
  alt: number;
  name: string;
  layout: LayoutView;
  /** Start addresses of the sectors the plan erases. */
  eraseSectors: number[];
  /**
   * Start addresses of the sectors compared with the image before erase and write: the flash skips
   * those already equal and does not erase those already blank (their outcome is in FlashResult.sectors).
   */
  compareSectors?: number[];
}

export interface PlanSegment extends SegmentView {
  /** Region name the segment lands in; undefined when it lands in none. */
  region?: string;
  via?: 'rom' | 'loader';
  /** Why it cannot be flashed (outside every region, read-only…). */
  problem?: string;
}

export interface PlanView {
  ok: boolean;
  /** Every error known before touching the device; Flash stays disabled while any is listed. */
  errors: ErrorData[];
  warnings: string[];
  stages: PlanStageView[];
  regions: PlanRegionView[];
  segments: PlanSegment[];
  loader?: { id: string; name: string };
  /** Why a loader is used and which way internal flash goes ("QSPI Flash at 0x90000000 is served only through a loader…"). */
  loaderReason?: string;
  totalBytes: number;
  estimatedMs: number;
}

/** One sector (or the whole flash, for a mass erase) an erase cleared. */
export interface ErasedSectorView {
  via: 'rom' | 'loader';
  alt: number;
  region: string;
  address: number;
  size: number;
}

export interface FlashOptions {
  verify: boolean;
  /** Leave DFU and start the application when done. */
  leave: boolean;
  /** Erase only the sectors the image touches (false: mass erase where supported). */
  eraseTouchedOnly: boolean;
}

export interface RecentFile {
  name: string;
  path: string;
  openedAt: number;
}

export interface Settings {
  theme: 'system' | 'light' | 'dark';
  verify: boolean;
  leave: boolean;
  /** Loader chosen by the user; 'auto' lets the planner choose, 'none' forbids staging. */
  loader: string;
}

export const DEFAULT_SETTINGS: Settings = { theme: 'system', verify: true, leave: true, loader: 'auto' };

export interface SimModel {
  model: string;
  title: string;
}

export interface HostInfo {
  /** 'electron' or 'web'. */
  shell: 'electron' | 'web';
  version: string;
  /** Simulated board models the host can attach (empty when there is no simulator). */
  simModels: SimModel[];
  /** True when files can be opened by path through a native dialog. */
  nativeDialogs: boolean;
}

// ---- production (a locked recipe, lanes per board, counters, the unit log) -------------------

/** A recipe as the production view shows it: read-only, nothing in the view can change it. */
export interface RecipeView {
  /** Absolute path of the recipe file. */
  path: string;
  name: string;
  version: string;
  station?: string;
  /** SHA-256 of the recipe file as loaded (the view shows a prefix). */
  sha256: string;
  firmware: { name: string; format: string; size: number; sha256: string };
  loader?: { name: string; version?: string; sha256: string };
  chips: { deviceId: number; name: string }[];
  options: { verify: boolean; skipBlank: boolean; massErase: boolean; leave: boolean | number };
  serialPattern?: string;
}

/** One unit as the unit log holds it (src-main/production/unit-log.ts UnitRecord). */
/** Why and where a unit failed. stage/phase/address are absent in logs written before they were recorded. */
export interface UnitError {
  code: ErrorData['code'];
  message: string;
  /** Engine stage the unit stopped in (rom, staging, loader, leave). */
  stage?: string;
  /** Engine phase within it (connect, erase, write, verify, …). */
  phase?: string;
  /** Address the error names, as "0x08004000" (like chipId: readable in the JSON and in a spreadsheet). */
  address?: string;
}

/** One line of a station's unit log (src-main/production/unit-log.ts writes it). */
export interface ProductionUnit {
  /** Record format version. */
  v: 1;
  /** When the unit finished (ISO 8601, UTC). */
  time: string;
  station: string;
  recipe: { name: string; version: string; sha256: string };
  firmwareSha256: string;
  /** SHA-256 of the loader image; null when the recipe has no loader. */
  loaderSha256: string | null;
  /** Board serial (USB iSerialNumber), or its port path when it has none. */
  serial: string;
  /** Device ID of the chip ("0x449"); null when the unit failed before it was identified. */
  chipId: string | null;
  result: 'PASS' | 'FAIL';
  error: UnitError | null;
  /** Milliseconds per stage that ran (FlashResult.stageMs). */
  stageMs: Partial<Record<StageName, number>>;
  bytesWritten: number;
  bytesVerified: number;
  /** From taking the board to the result, in milliseconds of the station's clock. */
  durationMs: number;
}

/** One board's lane (src-main/production/station.ts Lane). */
export interface ProductionLane {
  id: string;
  serial: string;
  chip?: string;
  status: 'queued' | 'running' | 'PASS' | 'FAIL' | 'idle';
  stage?: StageName | 'check';
  phase?: string;
  /** 0–1 within the current phase. */
  progress: number;
  error?: ErrorData;
  attached: boolean;
  /** Attempts run on this board (a retry is another attempt of the same unit). */
  units: number;
  /** The batch of its current (or last) attempt (ProductionState.batch); 0 before the first. */
  batch: number;
  last?: ProductionUnit;
  /** The engine's log lines of the lane's current (or last) unit, oldest first, bounded (LANE_LOG_MAX). */
  log?: { level: 'info' | 'warn' | 'error'; message: string }[];
  /** The current (or last) attempt's plan stages with their estimates (the lane's one bar is weighted by them). */
  plan?: PlanStageView[];
  /** When the current (or last) attempt started (ms since 1970). */
  startedAt?: number;
}

/** A unit is a board (by serial), counted by its latest attempt; from the unit log, so a reopened recipe keeps the shift's totals. */
export interface ProductionCounters {
  /** Units whose latest attempt passed. */
  passed: number;
  /** Units whose latest attempt failed. */
  failed: number;
  /** Distinct boards. */
  units: number;
  /** Every attempt (retries included). */
  attempts: number;
  /** passed / units; null before the first unit. */
  yield: number | null;
  last?: ProductionUnit;
}

export interface ProductionIgnored {
  id: string;
  serial?: string;
  reason: string;
}

export interface ProductionState {
  recipe: RecipeView;
  station: string;
  /** The JSON Lines unit log this station appends to. */
  logPath: string;
  lanes: ProductionLane[];
  counters: ProductionCounters;
  /** Flash-on-connect is on. */
  watching: boolean;
  /** Units running or queued. */
  busy: number;
  /** The current batch (lanes with this batch are its boards; older ones are history); 0 before the first. */
  batch: number;
  /** Attached boards the recipe is not for, with the reason. */
  ignored: ProductionIgnored[];
  /**
   * Failures the operator acknowledged, as failureKey(lane): held by main for the open recipe, so
   * every window shows the same verdict and a reloaded page keeps it. Absent from older hosts.
   */
  acknowledged?: string[];
}

/** A lane's failure as one acknowledgement names it: the board and its attempt (a retry that fails again is a new failure). */
export function failureKey(lane: Pick<ProductionLane, 'id' | 'units'>): string {
  return `${lane.id}:${lane.units}`;
}

export type ProductionEvent =
  | { kind: 'state'; state: ProductionState | null }
  | { kind: 'lane'; lane: ProductionLane; busy: number; batch: number }
  | { kind: 'unit'; unit: ProductionUnit; counters: ProductionCounters }
  | { kind: 'ignored'; ignored: ProductionIgnored }
  | { kind: 'acknowledged'; acknowledged: string[] }
  | { kind: 'error'; error: ErrorData };

/** A recipe main offers to open (shipped examples, recipes opened before). */
export interface RecipeEntry {
  name: string;
  path: string;
}

// ---------------------------------------------------------------------------------------------
// Requests: schemas first (the run-time truth), types inferred from them.

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const U32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const Path = v.pipe(v.string(), v.minLength(1), v.maxLength(4096));
const Bytes = v.instance(Uint8Array);

/**
 * The largest file main opens (bytes from the page, or a path): one limit for the schema, the file
 * readers (operations/files.ts, checked with stat before reading) and the WebSocket's message limit.
 */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

export const FlashOptionsSchema = v.strictObject({
  verify: v.boolean(),
  leave: v.boolean(),
  eraseTouchedOnly: v.boolean(),
});

const PlanRequestSchema = v.strictObject({
  deviceId: Id,
  firmwareId: Id,
  /** Loader id, 'auto' or 'none'. */
  loader: v.optional(Id),
  options: FlashOptionsSchema,
});

/** One schema per method: its argument (every method takes at most one object). */
export const RequestSchemas = {
  hostInfo: v.undefined(),
  listDevices: v.undefined(),
  describe: v.strictObject({ deviceId: Id }),
  /** Electron: native open dialog. Resolves null when the user cancels. */
  chooseFirmware: v.undefined(),
  /** Only paths main listed itself (recent files, examples): the page cannot name others. */
  openFirmwarePath: v.strictObject({ path: Path, baseAddress: v.optional(U32) }),
  openFirmwareBytes: v.strictObject({
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(255)),
    bytes: v.pipe(Bytes, v.check((b) => b.length <= MAX_FILE_BYTES, `file larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`)),
    baseAddress: v.optional(U32),
  }),
  listLoaders: v.undefined(),
  plan: PlanRequestSchema,
  flash: PlanRequestSchema,
  cancel: v.strictObject({ opId: Id }),
  read: v.strictObject({
    deviceId: Id,
    address: U32,
    length: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64 * 1024 * 1024)),
    loader: v.optional(Id),
  }),
  /** Erases the sectors holding `addresses` (ROM or through a loader), or mass-erases the internal flash. */
  erase: v.strictObject({
    deviceId: Id,
    addresses: v.pipe(v.array(U32), v.maxLength(4096)),
    mass: v.optional(v.boolean()),
    loader: v.optional(Id),
  }),
  /** Electron: main asks where with its own save dialog; web: the bytes come back for the browser to save. */
  exportDfu: v.strictObject({ firmwareId: Id }),
  getSettings: v.undefined(),
  setSettings: v.strictObject({
    theme: v.optional(v.picklist(['system', 'light', 'dark'])),
    verify: v.optional(v.boolean()),
    leave: v.optional(v.boolean()),
    loader: v.optional(Id),
  }),
  recentFiles: v.undefined(),
  simAttach: v.strictObject({ model: v.pipe(v.string(), v.minLength(1), v.maxLength(40)) }),
  simDetach: v.strictObject({ deviceId: Id }),
  /** Recipes main offers: the shipped ones and those opened before. */
  listRecipes: v.undefined(),
  /** Electron: native open dialog for a recipe. Resolves null when the user cancels. */
  chooseRecipe: v.undefined(),
  /** Enters production mode. Electron: only paths main listed; web host: also a typed .yaml path. */
  openRecipe: v.strictObject({ path: Path }),
  /** The station now, or null outside production mode. */
  productionState: v.undefined(),
  /** The Flash button: every matching board attached now, once. Resolves when their units finish. */
  productionFlashAll: v.undefined(),
  /** Flash every board as it is connected (on) or stop watching (off). */
  productionWatch: v.strictObject({ on: v.boolean() }),
  /** The operator acknowledged these failures (failureKey): every window's verdict clears them. */
  productionAcknowledge: v.strictObject({ failures: v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(240))), v.maxLength(1000)) }),
  /** Programs again a board whose unit failed while it stayed attached. */
  productionRetry: v.strictObject({ laneId: Id }),
  /** Leaves production mode: stops watching, waits for units in flight. */
  closeRecipe: v.undefined(),
  /** The unit log as CSV. Electron: main's own save dialog; web: the bytes for the browser to save. */
  exportUnitsCsv: v.undefined(),
} as const;

export type Method = keyof typeof RequestSchemas;
export type RequestOf<M extends Method> = v.InferOutput<(typeof RequestSchemas)[M]>;

export interface ResponseMap {
  hostInfo: HostInfo;
  listDevices: DeviceSummaryView[];
  describe: DeviceDescription;
  chooseFirmware: FirmwareView | null;
  openFirmwarePath: FirmwareView;
  openFirmwareBytes: FirmwareView;
  listLoaders: LoaderSummary[];
  plan: PlanView;
  flash: { opId: string };
  cancel: { cancelled: boolean };
  read: Uint8Array;
  erase: { sectors: ErasedSectorView[] };
  exportDfu: { path?: string; bytes?: Uint8Array; name: string } | null;
  getSettings: Settings;
  setSettings: Settings;
  recentFiles: RecentFile[];
  simAttach: DeviceSummaryView;
  simDetach: { detached: boolean };
  listRecipes: RecipeEntry[];
  chooseRecipe: ProductionState | null;
  openRecipe: ProductionState;
  productionState: ProductionState | null;
  productionFlashAll: { units: number; passed: number; failed: number };
  productionWatch: ProductionState;
  productionAcknowledge: ProductionState;
  productionRetry: { retried: boolean };
  closeRecipe: { closed: boolean };
  exportUnitsCsv: { path?: string; bytes?: Uint8Array; name: string; units: number } | null;
}

export type ResponseOf<M extends Method> = ResponseMap[M];

export const METHODS = Object.keys(RequestSchemas) as Method[];

// ---------------------------------------------------------------------------------------------
// Events main pushes to the renderer.

export type AppEvent =
  | { type: 'devices'; devices: DeviceSummaryView[] }
  | { type: 'flash'; opId: string; event: FlashEvent }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string }
  | { type: 'production'; event: ProductionEvent };

export type { FlashEvent, FlashResult, ErrorData };

/** What a transport answers: never a thrown value, so the code and context survive the crossing. */
export type Reply<T> = { ok: true; value: T } | { ok: false; error: ErrorData };

/** The API as the renderer uses it: one named async function per method, plus events. */
export type BootBridgeApi = {
  [M in Method]: RequestOf<M> extends undefined ? () => Promise<ResponseOf<M>> : (req: RequestOf<M>) => Promise<ResponseOf<M>>;
} & {
  onEvent(listener: (event: AppEvent) => void): () => void;
};

/** The object the Electron preload puts on `window` (same functions, but replies stay wrapped). */
export type PreloadApi = {
  [M in Method]: RequestOf<M> extends undefined ? () => Promise<Reply<ResponseOf<M>>> : (req: RequestOf<M>) => Promise<Reply<ResponseOf<M>>>;
} & {
  onEvent(listener: (event: AppEvent) => void): () => void;
};

export const PRELOAD_GLOBAL = 'bootbridge';
export const IPC_PREFIX = 'bb:';
export const IPC_EVENT_CHANNEL = 'bb:event';

/** Thrown in the renderer when main answers with an error; carries the ErrorData unchanged. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  constructor(readonly data: ErrorData) {
    super(data.message);
  }
}

/** Validates a request for `method`; returns the parsed value or ErrorData naming the bad field. */
export function checkRequest<M extends Method>(method: M, payload: unknown): { ok: true; value: RequestOf<M> } | { ok: false; error: ErrorData } {
  const schema = RequestSchemas[method];
  const r = v.safeParse(schema, payload);
  if (r.success) return { ok: true, value: r.output as RequestOf<M> };
  const issue = r.issues[0];
  const field = issue ? v.getDotPath(issue) ?? '' : '';
  return {
    ok: false,
    error: { code: 'BAD_ARGUMENT', message: `Invalid ${method} request${field ? ` (${field})` : ''}: ${issue?.message ?? 'rejected'}`, context: { field: field || method } },
  };
}

export function isMethod(name: unknown): name is Method {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(RequestSchemas, name);
}

// ---------------------------------------------------------------------------------------------
// WebSocket wire format. A message without bytes is a text frame of plain JSON. A message holding bytes
// (Uint8Array anywhere in it) is one binary frame, so bytes cross as bytes, never as base64 text:
//   u32 little-endian N | N bytes of UTF-8 JSON | the byte blobs, back to back
// where each Uint8Array in the JSON is {"$bin": [offset, length]} into the blobs. Decoding hands out
// views into the frame (no copy). Every frame is bounded before use: the JSON part by MAX_WIRE_JSON_BYTES,
// its nesting by MAX_WIRE_DEPTH and its size by MAX_WIRE_NODES, walked without recursion.

export type WireServerMessage = { id: number; reply: Reply<unknown> } | { event: AppEvent };

/** The JSON part of a frame (a text frame, or a binary frame's header). */
export const MAX_WIRE_JSON_BYTES = 1024 * 1024;
/** A whole frame once reassembled: the largest file plus its call. */
export const MAX_WIRE_FRAME_BYTES = MAX_FILE_BYTES + MAX_WIRE_JSON_BYTES + 4;
/**
 * Frames bigger than this cross as parts of this size (encodeWireMessages), so no single WebSocket
 * message costs the receiver more than a few milliseconds to unmask and copy.
 */
export const MAX_WIRE_PART_BYTES = 4 * 1024 * 1024;
/** The WebSocket message limit of the web host: a part (with its 12-byte header) or a smaller whole frame. */
export const MAX_WIRE_MESSAGE_BYTES = MAX_WIRE_PART_BYTES + 12;
/** A binary message starting with this u32 is a part: magic | u32 total | u32 offset | bytes. */
const PART_MAGIC = 0xffffffff;
/** Arrays and objects nested deeper than this are refused (no call of the contract nests beyond 6). */
const MAX_WIRE_DEPTH = 32;
/** Values (objects, arrays, scalars) in one message. */
const MAX_WIRE_NODES = 100_000;

/** A frame that is not a well-formed message of the wire format; `path` names the bad place when known. */
export class WireFormatError extends Error {
  constructor(
    message: string,
    readonly path: string[] = [],
  ) {
    super(message);
  }
}

const BIN = '$bin';

/**
 * Checks a value's shape without recursion: nesting at most `maxDepth`, at most `maxNodes` values, only
 * plain data (objects, arrays, strings, numbers, booleans, null, undefined, Uint8Array). Throws
 * WireFormatError naming the first bad place. Used by both doors (WebSocket and Electron IPC).
 */
export function checkWireShape(value: unknown, opts: { maxDepth?: number; maxNodes?: number; maxBytes?: number } = {}): void {
  const maxDepth = opts.maxDepth ?? MAX_WIRE_DEPTH;
  const maxNodes = opts.maxNodes ?? MAX_WIRE_NODES;
  const maxBytes = opts.maxBytes ?? MAX_WIRE_FRAME_BYTES;
  const stack: { v: unknown; depth: number; path: string[] }[] = [{ v: value, depth: 0, path: [] }];
  let nodes = 0;
  let bytes = 0;
  while (stack.length > 0) {
    const { v: x, depth, path } = stack.pop()!;
    if (++nodes > maxNodes) throw new WireFormatError(`more than ${maxNodes} values`, path);
    if (x === null || x === undefined || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') continue;
    if (x instanceof Uint8Array) {
      bytes += x.byteLength;
      if (bytes > maxBytes) throw new WireFormatError(`more than ${maxBytes} bytes`, path);
      continue;
    }
    if (typeof x !== 'object') throw new WireFormatError(`a ${typeof x} is not data`, path);
    if (depth >= maxDepth) throw new WireFormatError(`nested deeper than ${maxDepth}`, path);
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) stack.push({ v: x[i], depth: depth + 1, path: path.length < maxDepth ? [...path, String(i)] : path });
      continue;
    }
    const proto = Object.getPrototypeOf(x) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new WireFormatError('only plain objects are data', path);
    for (const k of Object.keys(x)) stack.push({ v: (x as Record<string, unknown>)[k], depth: depth + 1, path: [...path, k] });
  }
}

const utf8 = new TextEncoder();

/** A message's JSON with bytes replaced by references, and the bytes. */
function wirePieces(value: unknown): { json: string; blobs: Uint8Array[]; blobBytes: number } {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const json = JSON.stringify(value, function (this: unknown, _key, val: unknown) {
    if (val instanceof Uint8Array) {
      blobs.push(val);
      const ref = { [BIN]: [offset, val.byteLength] };
      offset += val.byteLength;
      return ref;
    }
    return val;
  });
  return { json, blobs, blobBytes: offset };
}

/**
 * A message as a frame: a string (text frame) when it holds no bytes, else one binary frame. Bytes are
 * copied once into the frame (no per-character work).
 */
export function encodeWire(value: unknown): string | Uint8Array {
  const { json, blobs, blobBytes } = wirePieces(value);
  if (blobs.length === 0) return json;
  const head = utf8.encode(json);
  const frame = new Uint8Array(4 + head.length + blobBytes);
  new DataView(frame.buffer).setUint32(0, head.length, true);
  frame.set(head, 4);
  let at = 4 + head.length;
  for (const b of blobs) {
    frame.set(b, at);
    at += b.byteLength;
  }
  return frame;
}

/**
 * A message as the WebSocket messages that carry it (a frame, or its parts as splitWireFrame makes
 * them), built lazily from the message's own bytes: a sender that yields between messages never
 * spends more than one part's copy in one task, whatever the size of the file.
 */
export function* encodeWireMessages(value: unknown, partBytes = MAX_WIRE_PART_BYTES): Generator<string | Uint8Array> {
  const { json, blobs, blobBytes } = wirePieces(value);
  if (blobs.length === 0) {
    yield json;
    return;
  }
  const head = utf8.encode(json);
  const total = 4 + head.length + blobBytes;
  if (total <= partBytes) {
    yield encodeWire(value);
    return;
  }
  const lead = new Uint8Array(4 + head.length);
  new DataView(lead.buffer).setUint32(0, head.length, true);
  lead.set(head, 4);
  const pieces = [lead, ...blobs];
  let piece = 0;
  let inPiece = 0;
  for (let off = 0; off < total; ) {
    const n = Math.min(partBytes, total - off);
    const part = new Uint8Array(12 + n);
    const dv = new DataView(part.buffer);
    dv.setUint32(0, PART_MAGIC, true);
    dv.setUint32(4, total, true);
    dv.setUint32(8, off, true);
    let filled = 0;
    while (filled < n) {
      const p = pieces[piece]!;
      const take = Math.min(n - filled, p.byteLength - inPiece);
      part.set(p.subarray(inPiece, inPiece + take), 12 + filled);
      filled += take;
      inPiece += take;
      if (inPiece === p.byteLength) {
        piece++;
        inPiece = 0;
      }
    }
    off += n;
    yield part;
  }
}

/** Stands for the one byte field of a message encodeWireStream sends, whose bytes are read piece by piece. */
export const WIRE_STREAMED_BYTES: unique symbol = Symbol('streamed bytes');

/**
 * The same WebSocket messages as encodeWireMessages, for a message whose byte field (the value
 * WIRE_STREAMED_BYTES in it) is `size` bytes read by `read(start, end)` as they are sent: a sender of a
 * 256 MiB file never holds more than one part of it (the page reads a File this way, in a worker).
 */
export async function* encodeWireStream(
  value: unknown,
  size: number,
  read: (start: number, end: number) => Promise<Uint8Array>,
  partBytes = MAX_WIRE_PART_BYTES,
): AsyncGenerator<Uint8Array> {
  const json = JSON.stringify(value, (_key, val: unknown) => (val === WIRE_STREAMED_BYTES ? { [BIN]: [0, size] } : val));
  const head = utf8.encode(json);
  const total = 4 + head.length + size;
  const lead = new Uint8Array(4 + head.length);
  new DataView(lead.buffer).setUint32(0, head.length, true);
  lead.set(head, 4);
  const whole = total <= partBytes;
  for (let off = 0; off < total; ) {
    const n = Math.min(partBytes, total - off);
    const at = whole ? 0 : 12;
    const msg = new Uint8Array(at + n);
    if (!whole) {
      const dv = new DataView(msg.buffer);
      dv.setUint32(0, PART_MAGIC, true);
      dv.setUint32(4, total, true);
      dv.setUint32(8, off, true);
    }
    let filled = 0;
    if (off < lead.length) {
      const take = Math.min(n, lead.length - off);
      msg.set(lead.subarray(off, off + take), at);
      filled = take;
    }
    if (filled < n) {
      const from = off + filled - lead.length;
      const bytes = await read(from, from + n - filled);
      if (bytes.byteLength !== n - filled) throw new WireFormatError(`read ${bytes.byteLength} bytes where ${n - filled} were expected (the file changed while it was sent?)`);
      msg.set(bytes, at + filled);
    }
    off += n;
    yield msg;
  }
}

/** True when a binary message is a part of a bigger frame (encodeWireMessages). */
export function isWirePart(message: Uint8Array): boolean {
  return message.byteLength >= 12 && new DataView(message.buffer, message.byteOffset, 4).getUint32(0, true) === PART_MAGIC;
}

/**
 * Puts parts back together, in order, one frame at a time, never past `maxFrameBytes`. push() returns
 * the whole frame with its last part, undefined before; throws WireFormatError for a part out of order.
 */
export class WireAssembler {
  private frame: Uint8Array | undefined;
  private got = 0;
  constructor(private readonly maxFrameBytes = MAX_WIRE_FRAME_BYTES) {}

  push(part: Uint8Array): Uint8Array | undefined {
    const dv = new DataView(part.buffer, part.byteOffset, part.byteLength);
    const total = dv.getUint32(4, true);
    const offset = dv.getUint32(8, true);
    const body = part.subarray(12);
    if (total > this.maxFrameBytes) throw new WireFormatError(`a frame of ${total} bytes (at most ${this.maxFrameBytes})`);
    if (offset === 0 && !this.frame) {
      this.frame = new Uint8Array(total);
      this.got = 0;
    }
    if (!this.frame || offset !== this.got || total !== this.frame.byteLength || body.byteLength === 0 || offset + body.byteLength > total) {
      this.frame = undefined;
      throw new WireFormatError('a part out of order');
    }
    this.frame.set(body, offset);
    this.got += body.byteLength;
    if (this.got < total) return undefined;
    const whole = this.frame;
    this.frame = undefined;
    return whole;
  }

  /** Bytes held for a frame not yet complete. */
  get pending(): number {
    return this.frame?.byteLength ?? 0;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The first half of decoding: a frame's JSON part parsed (after its size is checked) and, for a binary
 * frame, the blobs its byte references point into. Throws WireFormatError when the frame is no JSON.
 */
export function parseWireFrame(frame: string | Uint8Array | ArrayBuffer, maxJsonBytes = MAX_WIRE_JSON_BYTES): { value: unknown; blobs?: Uint8Array } {
  let text: string;
  let blobs: Uint8Array | undefined;
  if (typeof frame === 'string') {
    // UTF-16 length bounds the UTF-8 size from below; a text frame is all JSON.
    if (frame.length > maxJsonBytes) throw new WireFormatError(`a text frame over ${maxJsonBytes} bytes`);
    text = frame;
  } else {
    const u8 = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
    if (u8.byteLength < 4) throw new WireFormatError('a binary frame shorter than its header');
    const n = new DataView(u8.buffer, u8.byteOffset, u8.byteLength).getUint32(0, true);
    if (n > maxJsonBytes) throw new WireFormatError(`a binary frame whose JSON part claims ${n} bytes`);
    if (4 + n > u8.byteLength) throw new WireFormatError('a binary frame shorter than its JSON part');
    try {
      text = strictUtf8.decode(u8.subarray(4, 4 + n));
    } catch {
      throw new WireFormatError('a binary frame whose JSON part is not UTF-8');
    }
    blobs = u8.subarray(4 + n);
  }
  try {
    return { value: JSON.parse(text) as unknown, ...(blobs ? { blobs } : {}) };
  } catch {
    throw new WireFormatError('not JSON');
  }
}

/**
 * A frame back into a message: JSON parsed after its size is checked, bytes revived as views into the
 * frame, nesting and size checked without recursion. Throws WireFormatError for anything else. Also
 * accepts the older {"$b64": "…"} bytes inside text frames.
 */
export function decodeWire(frame: string | Uint8Array | ArrayBuffer, opts: { maxJsonBytes?: number; maxDepth?: number } = {}): unknown {
  const { value, blobs } = parseWireFrame(frame, opts.maxJsonBytes);
  return reviveWireBytes(value, blobs, opts.maxDepth);
}

function isRef(keys: string[], key: string): boolean {
  return keys.length === 1 && keys[0] === key;
}

/**
 * Turns the wire format's byte references in a parsed message into Uint8Array, in place, without
 * recursion; checks nesting and size on the way. {"$bin": [offset, length]} must lie within `blobs`;
 * {"$b64": "…"} must be base64.
 */
export function reviveWireBytes(value: unknown, blobs?: Uint8Array, maxDepth = MAX_WIRE_DEPTH): unknown {
  const revive = (x: unknown, path: string[]): unknown => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return x;
    const o = x as Record<string, unknown>;
    const keys = Object.keys(o);
    if (isRef(keys, BIN)) {
      const r = o[BIN];
      const ok = Array.isArray(r) && r.length === 2 && r.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
      const [off, len] = ok ? (r as [number, number]) : [0, 0];
      if (!ok || !blobs || off + len > blobs.byteLength) throw new WireFormatError('bytes outside the frame', path);
      return blobs.subarray(off, off + len);
    }
    if (isRef(keys, '$b64') && typeof o.$b64 === 'string') {
      try {
        return base64ToBytes(o.$b64);
      } catch {
        throw new WireFormatError('not valid base64', path);
      }
    }
    return x;
  };
  const root = revive(value, []);
  const stack: { v: unknown; depth: number; path: string[] }[] = [{ v: root, depth: 0, path: [] }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v: x, depth, path } = stack.pop()!;
    if (++nodes > MAX_WIRE_NODES) throw new WireFormatError(`more than ${MAX_WIRE_NODES} values`, path);
    if (typeof x !== 'object' || x === null || x instanceof Uint8Array) continue;
    if (depth >= maxDepth) throw new WireFormatError(`nested deeper than ${maxDepth}`, path);
    // In place: JSON.parse made every key (even "__proto__") an own property, so this sets no prototype.
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) {
        const p = path.length < maxDepth ? [...path, String(i)] : path;
        x[i] = revive(x[i], p);
        stack.push({ v: x[i], depth: depth + 1, path: p });
      }
    } else {
      const o = x as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const p = [...path, k];
        const r = revive(o[k], p);
        if (r !== o[k]) o[k] = r;
        stack.push({ v: r, depth: depth + 1, path: p });
      }
    }
  }
  return root;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Base64 text (the older wire format's bytes) into bytes; SyntaxError when it is not base64. */
function base64ToBytes(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const d = c < 128 ? B64_INDEX[c]! : -1;
    if (d < 0) throw new SyntaxError('invalid base64');
    acc = (acc << 6) | d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}
