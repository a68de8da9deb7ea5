// Turns what the services return into the renderer's plain data (shared/contract.ts): descriptor
// objects become an expandable tree with raw bytes, plans become stages/regions/segments ready to
// draw. Tolerant of extra fields, so the services can grow without breaking the app.

import { hex32, toErrorData, type ErrorData } from '../../shared/errors.js';
import type {
  DescriptorNode,
  DeviceDescription,
  DeviceInfo,
  LayoutView,
  LoaderSummary,
  MemoryInfo,
  OpenedFirmware,
  PlanOperation,
  PlanRegion,
  PlanSegment,
  PlanStage,
  PlanView,
} from '../../shared/contract.js';
import type { StageName } from '../../shared/progress.js';
import type { DeviceDescriptors } from '../usb/descriptors.js';
import type { EraseOp as EraseOpT, FlashPlan, PlanIssueCode } from '../plan/types.js';

/** USB 2.0 table 9-5; DFU 1.1 §4.1.3. */
const DESCRIPTOR_TYPE = { INTERFACE: 4, DFU_FUNCTIONAL: 0x21 } as const;

export interface ServiceDescribe {
  descriptors: unknown;
  dump: string;
  memories: { alt: number; name: string; text?: string; layout: LayoutView }[];
  bootloaderVersion?: string;
}

export type ServiceLoader = Record<string, unknown> & { id?: string; name: string };
export type ServicePlan = Record<string, unknown>;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

// ----- descriptors -------------------------------------------------------------------------

const HEX_FIELDS = /^(id|idVendor|idProduct|bcd|bm|vendorId|productId|bcdDevice|bcdUSB|bcdDFUVersion|bmAttributes|bEndpointAddress|bInterfaceClass|bInterfaceSubClass|bInterfaceProtocol|bDeviceClass|bDeviceSubClass|bDeviceProtocol|bDescriptorType)/;

function fieldValue(name: string, val: unknown): string {
  if (typeof val === 'number') {
    if (HEX_FIELDS.test(name)) {
      const width = /^(id|bcd|vendorId|productId|wTotal)/.test(name) ? 4 : 2;
      return `0x${val.toString(16).padStart(width, '0')}`;
    }
    return String(val);
  }
  if (typeof val === 'string') return JSON.stringify(val);
  if (typeof val === 'boolean') return val ? 'yes' : 'no';
  return String(val);
}

function rawOf(o: Obj): number[] | undefined {
  for (const k of ['raw', 'bytes', 'data']) {
    const r = o[k];
    if (r instanceof Uint8Array) return Array.from(r);
    if (Array.isArray(r) && r.every((x) => typeof x === 'number')) return r as number[];
  }
  return undefined;
}

function titleOf(key: string, o: Obj, index?: number): string {
  const t = str(o.title) ?? str(o.kind) ?? str(o.type);
  const base = t ?? key.replace(/s$/, '').replace(/^./, (c) => c.toUpperCase());
  if (typeof o.bInterfaceNumber === 'number') return `Interface ${o.bInterfaceNumber} alt ${num(o.bAlternateSetting) ?? 0}`;
  if (typeof o.bConfigurationValue === 'number') return `Configuration ${o.bConfigurationValue}`;
  if (typeof o.bEndpointAddress === 'number') return `Endpoint 0x${o.bEndpointAddress.toString(16).padStart(2, '0')}`;
  return index === undefined ? base : `${base} ${index}`;
}

/** Any descriptor object (nested objects and arrays as children) as a DescriptorNode. */
export function toDescriptorNode(key: string, value: unknown, index?: number): DescriptorNode {
  if (!isObj(value)) return { title: key, fields: [{ name: key, value: fieldValue(key, value) }], children: [] };
  if (Array.isArray(value.children) && Array.isArray(value.fields) && typeof value.title === 'string') {
    return value as unknown as DescriptorNode; // already a tree
  }
  const fields: DescriptorNode['fields'] = [];
  const children: DescriptorNode[] = [];
  for (const [k, val] of Object.entries(value)) {
    if (k === 'raw' || k === 'bytes' || k === 'data' || k === 'title' || k === 'kind') continue;
    if (Array.isArray(val) && val.some(isObj)) val.forEach((item, i) => children.push(toDescriptorNode(k, item, val.length > 1 ? i : undefined)));
    else if (isObj(val)) children.push(toDescriptorNode(k, val));
    else if (Array.isArray(val)) fields.push({ name: k, value: val.map((x) => fieldValue(k, x)).join(', ') });
    else if (val !== undefined) fields.push({ name: k, value: fieldValue(k, val) });
  }
  const raw = rawOf(value);
  const node: DescriptorNode = { title: titleOf(key, value, index), fields, children };
  const summary = str(value.name) ?? str(value.interfaceString) ?? str(value.string) ?? str(value.product);
  if (summary) node.summary = summary;
  if (raw) node.raw = raw;
  return node;
}

function hexBytes(hex: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}

/** The descriptors read by src-main/usb/descriptors.ts, as a tree in the order the device sent them. */
export function descriptorTree(d: DeviceDescriptors): DescriptorNode[] {
  const scalarFields = (o: object, skip: string[] = []): DescriptorNode['fields'] =>
    Object.entries(o)
      .filter(([k, val]) => !skip.includes(k) && (typeof val === 'number' || typeof val === 'string' || typeof val === 'boolean'))
      .map(([k, val]) => {
        const f: DescriptorNode['fields'][number] = { name: k, value: fieldValue(k, val) };
        if (/^i[A-Z]/.test(k) && typeof val === 'number' && val > 0 && d.strings[val] !== undefined) f.note = JSON.stringify(d.strings[val]);
        return f;
      });
  const device: DescriptorNode = { title: 'Device', fields: scalarFields(d.device), raw: hexBytes(d.deviceHex), children: [] };
  if (d.product) device.summary = d.product;
  for (const c of d.configurations) {
    // Walk the configuration bytes (USB 2.0 §9.6.3: each descriptor starts with bLength, bDescriptorType)
    // so every child node can show its own raw bytes.
    const bytes = hexBytes(c.hex);
    const pieces: { type: number; raw: number[] }[] = [];
    for (let at = 0; at < bytes.length && (bytes[at] ?? 0) > 0; at += bytes[at]!) pieces.push({ type: bytes[at + 1] ?? 0, raw: bytes.slice(at, at + bytes[at]!) });
    const ofType = (t: number) => pieces.filter((p) => p.type === t).map((p) => p.raw);
    const ifRaw = ofType(DESCRIPTOR_TYPE.INTERFACE);
    const config: DescriptorNode = { title: `Configuration ${c.bConfigurationValue}`, fields: scalarFields(c, ['hex']), raw: pieces[0]?.raw ?? [], children: [] };
    c.interfaces.forEach((i, n) => {
      const node: DescriptorNode = { title: `Interface ${i.bInterfaceNumber} alt ${i.bAlternateSetting}`, fields: scalarFields(i, ['name', 'layoutError']), children: [] };
      const raw = ifRaw[n];
      if (raw) node.raw = raw;
      if (i.name) node.summary = i.name;
      if (i.layoutError) node.fields.push({ name: 'layout', value: 'not a DfuSe layout', note: i.layoutError });
      config.children.push(node);
    });
    if (c.dfuFunctional) {
      const f = c.dfuFunctional;
      const node: DescriptorNode = { title: 'DFU functional', summary: 'DFU 1.1 §4.1.3', fields: [...scalarFields(f), ...scalarFields(f.attributes)], children: [] };
      const raw = ofType(DESCRIPTOR_TYPE.DFU_FUNCTIONAL)[0];
      if (raw) node.raw = raw;
      config.children.push(node);
    }
    for (const o of c.other) config.children.push({ title: `Descriptor type 0x${o.bDescriptorType.toString(16).padStart(2, '0')}`, fields: [], raw: hexBytes(o.hex), children: [] });
    device.children.push(config);
  }
  const strings: DescriptorNode = {
    title: 'Strings',
    summary: `langid ${d.langIds.map((l) => '0x' + l.toString(16).padStart(4, '0')).join(', ')}`,
    fields: Object.entries(d.strings).map(([i, s]) => ({ name: `#${i}`, value: JSON.stringify(s) })),
    children: [],
  };
  device.children.push(strings);
  return [device];
}

function isDeviceDescriptors(x: unknown): x is DeviceDescriptors {
  return isObj(x) && isObj(x.device) && typeof x.deviceHex === 'string' && Array.isArray(x.configurations);
}

export function toDescription(device: DeviceInfo, d: ServiceDescribe): DeviceDescription {
  const tree = isDeviceDescriptors(d.descriptors)
    ? descriptorTree(d.descriptors)
    : Array.isArray(d.descriptors)
      ? d.descriptors.map((x, i) => toDescriptorNode('descriptor', x, i))
      : [toDescriptorNode('Device', d.descriptors)];
  const memories: MemoryInfo[] = d.memories.map((m) => ({ alt: m.alt, name: m.name, layout: m.layout, ...(m.text ? { text: m.text } : {}) }));
  const version = d.bootloaderVersion ?? bcdVersion(device.bcdDevice);
  return { device, tree, dump: d.dump, memories, bootloaderVersion: version };
}

function bcdVersion(bcd: number): string {
  return `${(bcd >> 8).toString(16)}.${(bcd & 0xff).toString(16).padStart(2, '0')}`;
}

// ----- firmware and loaders ------------------------------------------------------------------

export function toOpenedFirmware(x: unknown, path?: string): OpenedFirmware {
  const o = isObj(x) ? x : {};
  const segs = Array.isArray(o.segments) ? o.segments.filter(isObj) : [];
  const fw: OpenedFirmware = {
    id: str(o.id) ?? '',
    name: str(o.name) ?? (path ? path.split(/[\\/]/).pop()! : 'firmware'),
    format: str(o.format) ?? 'unknown',
    size: num(o.size) ?? 0,
    sha256: str(o.sha256) ?? '',
    segments: segs.map((s) => ({
      address: num(s.address) ?? 0,
      length: num(s.length) ?? (s.data instanceof Uint8Array ? s.data.length : 0),
      sources: Array.isArray(s.sources) ? s.sources.map(String) : [],
    })),
  };
  const entry = num(o.entry);
  if (entry !== undefined) fw.entry = entry;
  if (path ?? str(o.path)) fw.path = (path ?? str(o.path))!;
  return fw;
}

function memoriesOf(x: unknown): MemoryInfo[] {
  if (!Array.isArray(x)) return [];
  return x.filter(isObj).flatMap((m, i) => {
    const layout = isObj(m.layout) ? (m.layout as unknown as LayoutView) : undefined;
    if (!layout) return [];
    const mem: MemoryInfo = { alt: num(m.alt) ?? i, name: str(m.name) ?? layout.name, layout };
    const text = str(m.text);
    if (text) mem.text = text;
    return [mem];
  });
}

export function toLoaderSummary(l: ServiceLoader): LoaderSummary {
  const manifest = isObj(l.manifest) ? l.manifest : l;
  const s: LoaderSummary = {
    id: str(l.id) ?? str(l.dir) ?? str(l.name) ?? '',
    name: str(manifest.name) ?? str(l.name) ?? '',
    simulated: manifest.simulated === true,
    chips: Array.isArray(manifest.chips) ? manifest.chips.filter((c): c is number => typeof c === 'number') : [],
    memories: memoriesOf(manifest.memories ?? l.memories),
    transferSize: num(manifest.transferSize) ?? 0,
  };
  const version = str(manifest.version);
  if (version) s.version = version;
  const description = str(manifest.description);
  if (description) s.description = description;
  // loader.json "experimental": no run on a real board recorded yet; the GUI marks it.
  if (manifest.experimental === true) s.experimental = true;
  return s;
}

// ----- plans ---------------------------------------------------------------------------------

const STAGE_TITLES: Record<StageName, string> = {
  rom: 'ROM bootloader',
  staging: 'Stage loader to RAM',
  loader: 'Through the loader',
  leave: 'Leave DFU',
};

function errorOf(x: unknown): ErrorData {
  if (isObj(x) && typeof x.code === 'string' && typeof x.message === 'string') {
    return { code: x.code as ErrorData['code'], message: x.message, context: isObj(x.context) ? x.context : {} };
  }
  return toErrorData(x);
}

function operationOf(x: unknown): PlanOperation {
  const o = isObj(x) ? x : {};
  const op: PlanOperation = { kind: str(o.kind) ?? str(o.op) ?? str(o.type) ?? 'step' };
  const region = str(o.region) ?? str(o.memory) ?? (isObj(o.region) ? str(o.region.name) : undefined);
  if (region) op.region = region;
  const address = num(o.address) ?? num(o.start);
  if (address !== undefined) op.address = address;
  const length = num(o.length) ?? num(o.bytes) ?? num(o.size);
  if (length !== undefined) op.length = length;
  const detail = str(o.detail) ?? str(o.description) ?? (Array.isArray(o.sectors) ? `${o.sectors.length} sector(s)` : undefined);
  if (detail) op.detail = detail;
  return op;
}

function stageOf(x: unknown): PlanStage | undefined {
  if (!isObj(x)) return undefined;
  const name = (str(x.name) ?? str(x.stage)) as StageName | undefined;
  if (!name) return undefined;
  const ops = Array.isArray(x.operations) ? x.operations : Array.isArray(x.ops) ? x.ops : Array.isArray(x.steps) ? x.steps : [];
  return {
    name,
    title: str(x.title) ?? STAGE_TITLES[name] ?? name,
    operations: ops.map(operationOf),
    bytes: num(x.bytes) ?? 0,
    estimatedMs: num(x.estimatedMs) ?? num(x.ms) ?? 0,
  };
}

function regionOf(x: unknown): PlanRegion | undefined {
  if (!isObj(x) || !isObj(x.layout)) return undefined;
  const layout = x.layout as unknown as LayoutView;
  const erase = Array.isArray(x.eraseSectors) ? x.eraseSectors : Array.isArray(x.erase) ? x.erase : [];
  return {
    via: x.via === 'loader' ? 'loader' : 'rom',
    alt: num(x.alt) ?? 0,
    name: str(x.name) ?? layout.name,
    layout,
    eraseSectors: erase.map((e) => (typeof e === 'number' ? e : isObj(e) ? (num(e.start) ?? num(e.address) ?? -1) : -1)).filter((n) => n >= 0),
  };
}

function segmentOf(x: unknown): PlanSegment | undefined {
  if (!isObj(x)) return undefined;
  const address = num(x.address);
  if (address === undefined) return undefined;
  const s: PlanSegment = {
    address,
    length: num(x.length) ?? 0,
    sources: Array.isArray(x.sources) ? x.sources.map(String) : [],
  };
  const region = str(x.region) ?? (isObj(x.region) ? str(x.region.name) : undefined);
  if (region) s.region = region;
  if (x.via === 'rom' || x.via === 'loader') s.via = x.via;
  const problem = str(x.problem) ?? (isObj(x.error) ? str(x.error.message) : undefined);
  if (problem) s.problem = problem;
  return s;
}

const ISSUE_CODES: Record<PlanIssueCode, ErrorData['code']> = {
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
  NEEDS_ROM: 'STAGING_FAILED',
  IMAGE_EMPTY: 'FIRMWARE_INVALID',
  LOADS_INTO_RAM: 'PLAN_INVALID',
  SPLIT_PROGRAM_UNIT: 'PLAN_INVALID',
  DFU_DEVICE_MISMATCH: 'PLAN_INVALID',
  DFU_ALT_MISMATCH: 'PLAN_INVALID',
};

function isFlashPlan(p: unknown): p is FlashPlan {
  return isObj(p) && Array.isArray(p.stages) && Array.isArray(p.regions) && isObj(p.options) && typeof p.skippedBytes === 'number';
}

/** The planner's FlashPlan (src-main/plan/types.ts) as the renderer draws it. */
export function flashPlanView(p: FlashPlan, loaderId?: string): PlanView {
  const errors: ErrorData[] = p.errors.map((i) => {
    const context: ErrorData['context'] = { issue: i.code };
    if (i.range) {
      context.address = i.range.start;
      context.length = i.range.end - i.range.start;
    }
    if (i.sources?.length) context.segment = i.sources.join(', ');
    if (i.nearest) context.region = i.nearest.name;
    return { code: ISSUE_CODES[i.code] ?? 'PLAN_INVALID', message: i.message, context };
  });
  const stages: PlanStage[] = p.stages.map((st) => {
    const operations: PlanOperation[] = [];
    // Sector erases of one region collapse into one row: a 16 MiB QSPI image erases 256 sectors.
    const byRegion = new Map<string, EraseOpT[]>();
    for (const e of st.erases) byRegion.set(e.region + (e.kind === 'mass' ? ' mass' : ''), [...(byRegion.get(e.region + (e.kind === 'mass' ? ' mass' : '')) ?? []), e]);
    for (const list of byRegion.values()) {
      const first = list[0]!;
      const size = list.reduce((n, e) => n + e.size, 0);
      const ms = list.reduce((n, e) => n + e.estimatedMs, 0);
      operations.push({
        kind: first.kind === 'mass' ? 'mass erase' : 'erase',
        region: first.region,
        address: first.address,
        length: size,
        detail: first.kind === 'mass' ? `whole memory, ~${Math.round(ms)} ms` : `${list.length} sector(s), ~${Math.round(ms)} ms`,
        estimatedMs: ms,
      });
    }
    for (const w of st.writes) {
      operations.push({ kind: 'write', region: w.region, address: w.address, length: w.length, detail: `${w.blocks} block(s) of ${w.transferSize} B, ~${Math.round(w.estimatedMs)} ms`, estimatedMs: w.estimatedMs });
    }
    for (const v of st.verifies) operations.push({ kind: 'verify', region: v.region, address: v.address, length: v.length, detail: `${v.method}, ~${Math.round(v.estimatedMs)} ms`, estimatedMs: v.estimatedMs });
    if (st.staging) {
      // The ROM starts the loader from its vector table on "leave" (AN3156 leave; DESIGN.md staging).
      const s = st.staging;
      operations.push({ kind: 'jump', address: s.jumpAddress, detail: `start ${s.loader} (${s.imageSize} B in RAM), wait ~${Math.round(s.enumerationMs)} ms for it to enumerate`, estimatedMs: s.enumerationMs });
    }
    if (st.leave) operations.push({ kind: 'leave', address: st.leave.address, detail: `start the application (${st.leave.via === 'loader' ? 'from the loader' : 'DfuSe leave'})` });
    return { name: st.name, title: st.title, operations, bytes: st.bytes, estimatedMs: st.estimatedMs };
  });
  const memoryRegions = p.regions.filter((r) => r.kind === 'memory' || p.segments.some((s) => s.region && s.region.name === r.name && s.region.via === r.via));
  const regions: PlanRegion[] = memoryRegions.map((r) => {
    const erase: number[] = [];
    for (const st of p.stages)
      for (const e of st.erases) {
        if (e.region !== r.name || e.via !== r.via || e.alt !== r.alt) continue;
        if (e.kind === 'mass') for (const b of r.layout.blocks) for (const sec of b.sectors) erase.push(sec.start);
        else erase.push(e.address);
      }
    const compare = p.stages.flatMap((st) => (st.compares ?? []).filter((c) => c.region === r.name && c.via === r.via && c.alt === r.alt).map((c) => c.address));
    return { via: r.via, alt: r.alt, name: r.name, layout: r.layout, eraseSectors: erase, ...(compare.length ? { compareSectors: compare } : {}) };
  });
  const segments: PlanSegment[] = p.segments.map((s) => {
    const seg: PlanSegment = { address: s.address, length: s.length, sources: s.sources };
    if (s.region) {
      seg.region = s.region.name;
      seg.via = s.region.via;
    }
    const issue = p.errors.find((i) => i.segment === s.index);
    if (issue) seg.problem = issue.message;
    return seg;
  });
  const view: PlanView = { ok: p.ok && errors.length === 0, errors, warnings: [...p.warnings], stages, regions, segments, totalBytes: p.totalBytes, estimatedMs: p.estimatedMs };
  if (p.loader) view.loader = { id: loaderId ?? p.loader.name, name: p.loader.name };
  const why = loaderReason(p);
  if (why) view.loaderReason = why;
  return view;
}

/** Why the plan stages (or runs on) a loader, and which way internal flash goes, in words. */
function loaderReason(p: FlashPlan): string | undefined {
  const name = p.loader?.name ?? p.loaderRunning;
  if (!name) return undefined;
  const onlyLoader = [...new Set(p.segments.filter((s) => s.region?.via === 'loader' && !p.regions.some((r) => r.via === 'rom' && r.name === s.region!.name)).map((s) => `${s.region!.name} at ${'0x' + s.address.toString(16).padStart(8, '0')}`))];
  const parts = [p.loaderRunning && !p.loader ? `The board is already running ${name}: everything goes through it.` : onlyLoader.length ? `${onlyLoader.join(', ')} ${onlyLoader.length === 1 ? 'is' : 'are'} served only through a loader, so ${name} is staged.` : `${name} is staged.`];
  const r = p.routes;
  if (r) {
    parts.push(
      r.chosen === 'loader'
        ? `Internal flash is written through the loader too: ~${Math.round(r.loader)} ms against ~${Math.round(r.rom)} ms through the ROM bootloader.`
        : `Internal flash is written by the ROM bootloader: ~${Math.round(r.rom)} ms against ~${Math.round(r.loader)} ms through the loader.`,
    );
  }
  return parts.join(' ');
}

export function toPlanView(p: ServicePlan | FlashPlan, loaderId?: string): PlanView {
  if (isFlashPlan(p)) return flashPlanView(p, loaderId);
  return genericPlanView(p);
}

function genericPlanView(p: ServicePlan): PlanView {
  const errors = Array.isArray(p.errors) ? p.errors.map(errorOf) : [];
  const stages = (Array.isArray(p.stages) ? p.stages : []).map(stageOf).filter((s): s is PlanStage => !!s);
  const regions = (Array.isArray(p.regions) ? p.regions : []).map(regionOf).filter((r): r is PlanRegion => !!r);
  const segments = (Array.isArray(p.segments) ? p.segments : []).map(segmentOf).filter((s): s is PlanSegment => !!s);
  // A segment the plan refused carries the error's words, so the map can say why it is red.
  for (const e of errors) {
    const a = num(e.context.address);
    if (a === undefined) continue;
    const seg = segments.find((s) => a >= s.address && a < s.address + Math.max(1, s.length));
    if (seg && !seg.problem) seg.problem = e.message;
  }
  const view: PlanView = {
    ok: errors.length === 0 && p.ok !== false,
    errors,
    warnings: Array.isArray(p.warnings) ? p.warnings.map((w) => (typeof w === 'string' ? w : isObj(w) ? (str(w.message) ?? JSON.stringify(w)) : String(w))) : [],
    stages,
    regions,
    segments,
    totalBytes: num(p.totalBytes) ?? stages.reduce((n, s) => n + s.bytes, 0),
    estimatedMs: num(p.estimatedMs) ?? stages.reduce((n, s) => n + s.estimatedMs, 0),
  };
  const loader = isObj(p.loader) ? p.loader : undefined;
  if (loader) view.loader = { id: str(loader.id) ?? '', name: str(loader.name) ?? (isObj(loader.manifest) ? (str(loader.manifest.name) ?? '') : '') };
  return view;
}

export { hex32 };
