// The services' answers as the renderer's plain data (shared/contract.ts): the descriptors a device
// sent as an expandable tree with raw bytes, opened files, loader packages, erased sectors and the
// production recipe. Every mapper takes the domain's own type, so a field renamed on either side
// fails to compile. Plans are drawn by operations/plan-view.ts (production draws them too).

import { basename } from 'node:path';
import type { DescriptorNode, DeviceDescription, DeviceSummaryView, ErasedSectorView, LoaderSummary, MemoryInfo, FirmwareView, RecipeView } from '../../shared/contract.js';
import type { ErasedSector } from '../plan/index.js';
import type { LoaderPackage } from '../loader/index.js';
import type { DeviceDetails, LoadedFirmware } from '../operations/index.js';
import { recipeChips, type LoadedRecipe } from '../production/recipe.js';
import type { DfuDeviceDescriptors } from '../dfu/descriptors.js';
import { formatDump } from '../dfu/dump.js';
import { hex, hex16, hexToBytes } from '../../shared/format.js';
import { DESCRIPTOR_TYPE } from '../usb/descriptors.js';

// ----- descriptors -------------------------------------------------------------------------

const HEX_FIELDS = /^(id|idVendor|idProduct|bcd|bm|vendorId|productId|bcdDevice|bcdUSB|bcdDFUVersion|bmAttributes|bEndpointAddress|bInterfaceClass|bInterfaceSubClass|bInterfaceProtocol|bDeviceClass|bDeviceSubClass|bDeviceProtocol|bDescriptorType)/;

function fieldValue(name: string, val: number | string | boolean): string {
  if (typeof val === 'number') {
    if (HEX_FIELDS.test(name)) {
      const width = /^(id|bcd|vendorId|productId|wTotal)/.test(name) ? 4 : 2;
      return hex(val, width);
    }
    return String(val);
  }
  if (typeof val === 'string') return JSON.stringify(val);
  return val ? 'yes' : 'no';
}

/** The descriptors read by src-main/dfu/descriptors.ts, as a tree in the order the device sent them. */
function descriptorTree(d: DfuDeviceDescriptors): DescriptorNode[] {
  const scalarFields = (o: object, skip: string[] = []): DescriptorNode['fields'] =>
    Object.entries(o)
      .filter(([k, val]) => !skip.includes(k) && (typeof val === 'number' || typeof val === 'string' || typeof val === 'boolean'))
      .map(([k, val]) => {
        const f: DescriptorNode['fields'][number] = { name: k, value: fieldValue(k, val) };
        if (/^i[A-Z]/.test(k) && typeof val === 'number' && val > 0 && d.strings[val] !== undefined) f.note = JSON.stringify(d.strings[val]);
        return f;
      });
  const device: DescriptorNode = { title: 'Device', fields: scalarFields(d.device), raw: Array.from(hexToBytes(d.deviceHex)), children: [] };
  if (d.product) device.summary = d.product;
  for (const c of d.configurations) {
    // Walk the configuration bytes (USB 2.0 §9.6.3: each descriptor starts with bLength, bDescriptorType)
    // so every child node can show its own raw bytes.
    const bytes = Array.from(hexToBytes(c.hex));
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
    for (const o of c.other) config.children.push({ title: `Descriptor type ${hex(o.bDescriptorType, 2)}`, fields: [], raw: Array.from(hexToBytes(o.hex)), children: [] });
    device.children.push(config);
  }
  const strings: DescriptorNode = {
    title: 'Strings',
    summary: `langid ${d.langIds.map(hex16).join(', ')}`,
    fields: Object.entries(d.strings).map(([i, s]) => ({ name: `#${i}`, value: JSON.stringify(s) })),
    children: [],
  };
  device.children.push(strings);
  return [device];
}

/** A board as the device view shows it: identity, descriptor tree and dump, memories by alt setting. */
export function deviceDescription(device: DeviceSummaryView, details: DeviceDetails): DeviceDescription {
  const alts = details.descriptors.configurations.flatMap((c) => c.interfaces);
  const memories: MemoryInfo[] = details.memories.map((m) => {
    const text = alts.find((a) => a.bAlternateSetting === m.alt)?.name;
    return { alt: m.alt, name: m.layout.name, layout: m.layout, ...(text ? { text } : {}) };
  });
  return { device, tree: descriptorTree(details.descriptors), dump: formatDump(details.descriptors), memories, bootloaderVersion: bcdVersion(device.bcdDevice) };
}

/** bcdDevice as the ROM bootloader's version ("2.2" style: major.minor in BCD). */
function bcdVersion(bcd: number): string {
  return `${(bcd >> 8).toString(16)}.${(bcd & 0xff).toString(16).padStart(2, '0')}`;
}

// ----- firmware, loaders, erased sectors ------------------------------------------------------

/** An opened file as the page sees it; `path` only for a file main read from disk itself. */
export function firmwareView(id: string, fw: LoadedFirmware, path?: string): FirmwareView {
  const i = fw.image;
  return {
    id,
    name: fw.name,
    ...(path ? { path } : {}),
    format: i.format,
    size: i.size,
    sha256: fw.sha256,
    segments: i.segments.map((s) => ({ address: s.address, length: s.data.length, sources: [...s.sources] })),
    ...(i.entry !== undefined ? { entry: i.entry } : {}),
  };
}

/** A loader package on the shelf, by its folder name. */
export function loaderSummary(id: string, pkg: LoaderPackage): LoaderSummary {
  const m = pkg.manifest;
  return {
    id,
    name: m.name,
    ...(m.version ? { version: m.version } : {}),
    ...(m.description ? { description: m.description } : {}),
    simulated: m.simulated,
    chips: [...m.chips],
    memories: m.memories.map((mem) => ({ alt: mem.alt, name: mem.layout.name, ...(mem.text ? { text: mem.text } : {}), layout: mem.layout })),
    transferSize: m.transferSize,
    // loader.json "experimental": no run on a real board recorded yet; the GUI marks it.
    ...(m.experimental ? { experimental: true } : {}),
  };
}

export function erasedSectorView(s: ErasedSector): ErasedSectorView {
  return { via: s.via, alt: s.alt, region: s.region, address: s.address, size: s.size };
}

/** A loaded recipe as the production view shows it: read-only, with the hashes that pin it. */
export function recipeView(loaded: LoadedRecipe): RecipeView {
  const r = loaded.recipe;
  const m = loaded.loader?.manifest;
  return {
    path: loaded.path,
    name: r.name,
    version: r.version,
    ...(r.station !== undefined ? { station: r.station } : {}),
    sha256: loaded.sha256,
    firmware: { name: basename(loaded.firmware.path || loaded.firmware.name), format: loaded.firmware.image.format, size: loaded.firmware.image.size, sha256: loaded.firmware.sha256 },
    ...(m && r.loader ? { loader: { name: m.name, ...(m.version ? { version: m.version } : {}), sha256: r.loader.sha256 } } : {}),
    chips: recipeChips(r).map((c) => ({ deviceId: c.deviceId, name: c.name })),
    options: { ...r.options },
    ...(r.serialPattern !== undefined ? { serialPattern: r.serialPattern } : {}),
  };
}
