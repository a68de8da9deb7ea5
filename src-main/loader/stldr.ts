// ST external loaders (.stldr) — ELF files whose `StorageInfo` struct (section ".Dev_info", ST's
// Dev_Inf.h) describes the external memory: device name, type, start address, size, page size, erase
// value and sector runs. BootBridge reads them to show the memory's geometry; it cannot run them:
// their Init/Write/SectorErase functions are called by STM32CubeProgrammer through a debug probe
// (SWD), which USB DFU has no equivalent of. A BootBridge loader package serves that memory instead.

import { BootBridgeError, hex32 } from '../../shared/errors.js';
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

function invalid(why: string): never {
  throw new BootBridgeError('LOADER_INVALID', `Not a readable ST external loader: ${why}`, { field: 'StorageInfo' });
}

export function readStldr(bytes: Uint8Array): StldrInfo {
  const image = parseElf(bytes);
  const sec = image.sections?.find((s) => /^\.?dev_info$/i.test(s.name));
  if (!sec) invalid('it has no .Dev_info section (the StorageInfo struct)');
  if (sec.size < OFF.sectors + 8) invalid(`.Dev_info is ${sec.size} bytes, too small for StorageInfo`);
  // Read only as far as StorageInfo reaches: sh_size comes from the file and may claim gigabytes.
  const raw = readImage(image, sec.loadAddress, Math.min(sec.size, OFF.sectors + 8 * (MAX_SECTOR_RUNS + 1)), 0);
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
  if (sectors.length === 0) invalid('StorageInfo lists no sectors');
  const startAddress = dv.getUint32(OFF.start, true);
  const unit = (n: number) => (n % (1024 * 1024) === 0 ? `${String(n / 1024 / 1024).padStart(3, '0')}M` : n % 1024 === 0 ? `${String(n / 1024).padStart(3, '0')}K` : `${String(n).padStart(3, '0')} `);
  const layout = `@${deviceName.replace(/[/@]/g, '_') || 'External'} /${hex32(startAddress).toUpperCase().replace('0X', '0x')}/${sectors.map((s) => `${String(s.count).padStart(2, '0')}*${unit(s.size)}g`).join(',')}`;
  return {
    deviceName,
    deviceType,
    deviceTypeName: DEVICE_TYPES[deviceType] ?? `type ${deviceType}`,
    startAddress,
    size: dv.getUint32(OFF.size, true),
    pageSize: dv.getUint32(OFF.page, true),
    eraseValue: dv.getUint8(OFF.erase),
    sectors,
    layout,
  };
}

export function formatStldr(i: StldrInfo): string {
  return [
    `Device      : ${i.deviceName}`,
    `Type        : ${i.deviceTypeName}`,
    `Start       : ${hex32(i.startAddress)}`,
    `Size        : ${i.size} bytes (${(i.size / 1024 / 1024).toFixed(2)} MB)`,
    `Page size   : ${i.pageSize} bytes`,
    `Erase value : 0x${i.eraseValue.toString(16).padStart(2, '0')}`,
    `Sectors     : ${i.sectors.map((s) => `${s.count} × ${s.size} bytes`).join(', ')}`,
    `DfuSe layout: ${i.layout}`,
    '',
    'An .stldr runs only under a debug probe: STM32CubeProgrammer calls its Init/Write/SectorErase',
    'functions over SWD, which USB DFU cannot do. To program this memory over USB, build a BootBridge',
    'loader for the board (docs/loader-protocol.md) and put the layout above in its loader.json.',
  ].join('\n');
}
