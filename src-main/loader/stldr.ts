// ST external loaders (.stldr) — ELF files whose `StorageInfo` struct (ST's Dev_Inf.h) describes the
// external memory: device name, type, start address, size, page size, erase value and sector runs.
// GCC builds put it in section ".Dev_info"; IAR builds in "P3", Keil in "DevInfo" — so it is found by
// its symbol `StorageInfo` in the ELF symbol table, whatever the section, and by a Dev_info-named
// section only when the symbol table was stripped. BootBridge reads them to show the memory's
// geometry; it cannot run them: their Init/Write/SectorErase functions are called by
// STM32CubeProgrammer through a debug probe (SWD), which USB DFU has no equivalent of. A BootBridge
// loader package serves that memory instead.

import { BootBridgeError } from '../../shared/errors.js';
import { formatSize, hex, hex32, hexUpper } from '../../shared/format.js';
import { dfuseRun } from '../dfu/layout.js';
import { parseElf } from '../firmware/elf.js';
import { readImage } from '../firmware/image.js';

/** Dev_Inf.h device types. */
const DEVICE_TYPES: Record<number, string> = {
  1: 'MCU flash',
  2: 'NAND flash',
  3: 'NOR flash',
  4: 'SRAM',
  5: 'PSRAM',
  6: 'PC card',
  7: 'SPI flash',
  8: 'I2C flash',
  9: 'SDRAM',
  10: 'I2C EEPROM',
};

export interface StldrInfo {
  deviceName: string;
  deviceType: number;
  deviceTypeName: string;
  startAddress: number;
  size: number;
  pageSize: number;
  eraseValue: number;
  sectors: { count: number; size: number }[];
  /** The same geometry as a DfuSe layout string, to put in a BootBridge loader.json. */
  layout: string;
}

// struct StorageInfo (ARM EABI layout): char DeviceName[100]; u16 DeviceType; (2 pad) u32 DeviceStartAddress;
// u32 DeviceSize; u32 PageSize; u8 EraseValue; (3 pad) struct { u32 SectorNum; u32 SectorSize; } sectors[…] ending with {0,0}.
const OFF = { name: 0, type: 100, start: 104, size: 108, page: 112, erase: 116, sectors: 120 } as const;
const MAX_SECTOR_RUNS = 64;

// Not LOADER_INVALID: that code's advice is about loader.json, and no manifest is involved here.
function invalid(why: string, field = 'StorageInfo'): never {
  throw new BootBridgeError('FIRMWARE_INVALID', `Not a readable ST external loader: ${why}`, { field });
}

const SHT_SYMTAB = 2;
const STRUCT_BYTES = OFF.sectors + 8 * (MAX_SECTOR_RUNS + 1);

/** The bytes of StorageInfo: found by its symbol, else by a Dev_info section; where it was found. */
function storageInfoBytes(bytes: Uint8Array): { raw: Uint8Array; where: string } {
  const image = parseElf(bytes);
  const sym = findSymbol(bytes, 'StorageInfo');
  if (sym) {
    // The struct's run address (st_value) is the section's sh_addr plus its offset there; read it from
    // the section's file bytes, which is where it is whatever the section is called.
    const { value, size, section } = sym;
    if (section.offset + section.size > bytes.length) invalid(`section ${section.name} holding StorageInfo runs past the end of the file`);
    const from = section.offset + (value - section.addr);
    const available = Math.min(section.offset + section.size, bytes.length) - from;
    const want = Math.min(size > 0 ? size : STRUCT_BYTES, STRUCT_BYTES, Math.max(0, available));
    if (value < section.addr || from < 0 || want < OFF.sectors + 8) {
      invalid(`StorageInfo (${size} bytes at ${hex32(value)} in section ${section.name}) is too small or outside its section`);
    }
    return { raw: bytes.subarray(from, from + want), where: `symbol StorageInfo in section ${section.name}` };
  }
  const sec = image.sections?.find((s) => /^\.?dev_?info$/i.test(s.name));
  if (!sec) invalid('it has no StorageInfo symbol (and no .Dev_info section) — is it an ST external loader?');
  if (sec.size < OFF.sectors + 8) invalid(`${sec.name} is ${sec.size} bytes, too small for StorageInfo`);
  // Read only as far as StorageInfo reaches: sh_size comes from the file and may claim gigabytes.
  return { raw: readImage(image, sec.loadAddress, Math.min(sec.size, STRUCT_BYTES), 0), where: `section ${sec.name}` };
}

interface SymbolHit {
  value: number;
  size: number;
  section: { name: string; addr: number; offset: number; size: number };
}

/** A defined symbol by name from the ELF32 symbol table (System V ABI "Symbol Table"), or undefined. */
function findSymbol(bytes: Uint8Array, name: string): SymbolHit | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const shoff = u32(32);
  const shentsize = u16(46);
  const shnum = u16(48);
  const shstrndx = u16(50);
  if (shoff === 0 || shnum === 0 || shentsize < 40 || shoff + shnum * shentsize > bytes.length) return undefined;
  const sh = (i: number) => {
    const at = shoff + i * shentsize;
    return { nameOff: u32(at), type: u32(at + 4), addr: u32(at + 12), offset: u32(at + 16), size: u32(at + 20), link: u32(at + 24), entsize: u32(at + 36) };
  };
  const cstr = (tableIndex: number, off: number) => {
    if (tableIndex >= shnum) return '';
    const t = sh(tableIndex);
    let at = t.offset + off;
    const end = Math.min(t.offset + t.size, bytes.length);
    let out = '';
    while (at < end && bytes[at] !== 0 && out.length < 256) out += String.fromCharCode(bytes[at++]!);
    return out;
  };
  const wanted = Array.from(name, (c) => c.charCodeAt(0));
  for (let i = 0; i < shnum; i++) {
    const tab = sh(i);
    if (tab.type !== SHT_SYMTAB) continue;
    const entsize = tab.entsize >= 16 ? tab.entsize : 16;
    const end = Math.min(tab.offset + tab.size, bytes.length);
    const strtab = tab.link < shnum ? sh(tab.link) : undefined;
    if (!strtab) continue;
    for (let at = tab.offset; at + 16 <= end; at += entsize) {
      const shndx = u16(at + 14);
      if (shndx === 0 || shndx >= shnum) continue; // undefined, or a special index (ABS, COMMON)
      // Compare in place: no string per symbol.
      let p = strtab.offset + u32(at);
      let k = 0;
      while (k < wanted.length && p < bytes.length && bytes[p] === wanted[k]) {
        p++;
        k++;
      }
      if (k !== wanted.length || bytes[p] !== 0) continue;
      const s = sh(shndx);
      return { value: u32(at + 4), size: u32(at + 8), section: { name: cstr(shstrndx, s.nameOff) || `section ${shndx}`, addr: s.addr, offset: s.offset, size: s.size } };
    }
  }
  return undefined;
}

export function readStldr(bytes: Uint8Array): StldrInfo {
  const { raw, where } = storageInfoBytes(bytes);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const nameBytes = raw.subarray(OFF.name, OFF.name + 100);
  const nul = nameBytes.indexOf(0);
  const deviceName = new TextDecoder('latin1').decode(nameBytes.subarray(0, nul < 0 ? 100 : nul)).trim();
  const deviceType = dv.getUint16(OFF.type, true);
  const sectors: { count: number; size: number }[] = [];
  for (let i = 0, at = OFF.sectors; i < MAX_SECTOR_RUNS && at + 8 <= raw.length; i++, at += 8) {
    const count = dv.getUint32(at, true);
    const size = dv.getUint32(at + 4, true);
    if (count === 0 || size === 0) break;
    sectors.push({ count, size });
  }
  if (sectors.length === 0) invalid(`StorageInfo (${where}) lists no sectors`);
  const startAddress = dv.getUint32(OFF.start, true);
  const size = dv.getUint32(OFF.size, true);
  const pageSize = dv.getUint32(OFF.page, true);
  checkGeometry(where, startAddress, size, pageSize, sectors);
  const layout = `@${deviceName.replace(/[/@]/g, '_') || 'External'} /${hexUpper(startAddress, 8)}/${sectors.map((s) => dfuseRun(s.count, s.size, 'g')).join(',')}`;
  return {
    deviceName,
    deviceType,
    deviceTypeName: DEVICE_TYPES[deviceType] ?? `type ${deviceType}`,
    startAddress,
    size,
    pageSize,
    eraseValue: dv.getUint8(OFF.erase),
    sectors,
    layout,
  };
}

/** Refuses a geometry no memory can have: sectors past the 32-bit address space or beyond the device's size. */
function checkGeometry(where: string, start: number, size: number, pageSize: number, sectors: { count: number; size: number }[]): void {
  const total = sectors.reduce((n, s) => n + s.count * s.size, 0);
  const table = sectors.map((s) => `${s.count} × ${s.size}`).join(', ');
  if (total > 2 ** 32 || start + total > 2 ** 32) {
    invalid(`StorageInfo (${where}) lists sectors of ${table} bytes from ${hex32(start)}: ${total} bytes, past the end of the 32-bit address space — the sector table is corrupt`, 'sectors');
  }
  if (size === 0 || start + size > 2 ** 32) invalid(`StorageInfo (${where}) gives a device size of ${size} bytes at ${hex32(start)}, which no memory can have`, 'DeviceSize');
  if (total > size) invalid(`StorageInfo (${where}) lists ${total} bytes of sectors (${table}) for a ${size}-byte device — the sector table is corrupt`, 'sectors');
  if (pageSize === 0 || pageSize > size) invalid(`StorageInfo (${where}) gives a page size of ${pageSize} bytes for a ${size}-byte device`, 'PageSize');
}

export function formatStldr(i: StldrInfo): string {
  return [
    `Device      : ${i.deviceName}`,
    `Type        : ${i.deviceTypeName}`,
    `Start       : ${hex32(i.startAddress)}`,
    `Size        : ${i.size} bytes (${formatSize(i.size)})`,
    `Page size   : ${i.pageSize} bytes`,
    `Erase value : ${hex(i.eraseValue, 2)}`,
    `Sectors     : ${i.sectors.map((s) => `${s.count} × ${s.size} bytes`).join(', ')}`,
    `DfuSe layout: ${i.layout}`,
    '',
    'An .stldr runs only under a debug probe: STM32CubeProgrammer calls its Init/Write/SectorErase',
    'functions over SWD, which USB DFU cannot do. To program this memory over USB, build a BootBridge',
    'loader for the board (docs/loader-protocol.md) and put the layout above in its loader.json.',
  ].join('\n');
}
