// Every STM32 product line whose ROM bootloader offers USB DFU (AN2606 "Bootloader configuration" of
// each line; AN3156 Table 1 lists the series), one compact row each. The five lines the simulator
// models in full live in chips.ts; a row here carries what the planner needs: device ID, part numbers,
// flash geometry and programming rule, RAM, the RAM the ROM uses, option bytes, quirks.
//
// Sources, by the short names used in the rows:
//   DDP  AN2606 table "Bootloader device-dependent parameters" (device ID, RAM the bootloader uses,
//        RAM end, flash end, option-byte range), as transcribed row by row in stm32flash dev_table.c
//        (0.7); rows that stm32flash keeps commented out are marked "DDP (partial row)".
//   OCD  openocd src/flash/nor/stm32l4x.c / stm32h7x.c / stm32f2x.c part tables (device ID, maximum
//        flash size, page size, program width flags such as F_QUAD_WORD_PROG).
//   RMxxxx  the line's reference manual: "memory map" (RAM), "flash memory organization" (sectors),
//        "flash program" (program unit and what a second program of a unit does).
// A fact none of these gave is named in `unknown` and left out; the planner then refuses what it
// would need it for (RAM writes through the ROM without the ROM's own RAM, for one).
//
// Not listed: lines without USB or whose ROM offers no DFU (F030/F05x/F09x, F1 other than the
// connectivity line, F301/F303x6-8/F334, F410, G03x–G07x, L0 other than L07x/L08x, L1 Cat.1–2, L41x
// value lines without USB are within their rows, U0, WL, WB1x). Lines whose DFU ROM we found no
// device-dependent parameters for at all (H7R/H7S, U3, WBA) are missing: `bootbridge chips` says so.

import type { ChipInfo, Family, ProgramRule } from './chip-info.js';

const K = 1024;
const FLASH = 0x0800_0000;
const SRAM = 0x2000_0000;

interface Row {
  id: number;
  name: string;
  family: Family;
  models: string;
  /** Sectors at the largest density of the line, "n*sizeK" runs. */
  sectors: string;
  unit: [bytes: number, rule: ProgramRule];
  /** [name, start, KB]. */
  ram: [string, number, number][];
  /** End of the RAM the ROM bootloader uses, from SRAM start (DDP); undefined: not found. */
  boot?: number;
  /** [start, bytes]. */
  ob?: [number, number][];
  alts?: { strings: string[]; rom: NonNullable<ChipInfo['rom']> };
  quirks?: string[];
  unknown?: string[];
  src: string[];
}

/** Size in bytes of a sector list "4*16K,1*64K" (K and M suffixes, bytes without). */
export function sectorsSize(text: string): number {
  return sectorRuns(text).reduce((n, r) => n + r.count * r.size, 0);
}

export function sectorRuns(text: string): { count: number; size: number }[] {
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)\*(\d+)([KM]?)\s*$/.exec(part);
    if (!m) throw new Error(`bad sector run "${part}"`);
    const mult = m[3] === 'M' ? K * K : m[3] === 'K' ? K : 1;
    return { count: Number(m[1]), size: Number(m[2]) * mult };
  });
}

function line(r: Row): ChipInfo {
  const chip: ChipInfo = {
    deviceId: r.id,
    name: r.name,
    family: r.family,
    models: r.models.split(/\s+/).filter(Boolean).map((m) => `stm32${m}`),
    romAltStrings: r.alts?.strings ?? [],
    romAltStringProvenance: (r.alts?.strings ?? []).map(() => 'captured' as const),
    flash: { start: FLASH, size: sectorsSize(r.sectors) },
    flashSectors: r.sectors,
    ram: r.ram.map(([name, start, kb]) => ({ name, start, size: kb * K })),
    optionBytes: (r.ob ?? []).map(([start, size]) => ({ start, size })),
    program: { unitBytes: r.unit[0], rule: r.unit[1] },
    quirks: r.quirks ?? [],
    unknown: [
      ...(r.alts ? [] : ['ROM alt-setting strings, bcdDevice and wTransferSize: no capture found']),
      ...(r.boot === undefined ? ['RAM used by the ROM bootloader: not found (RAM is not written through the ROM)'] : []),
      ...(r.ob === undefined ? ['option-byte area as the ROM exposes it: not found'] : []),
      'ROM and silicon timing: not recorded (estimates use the F745 ROM figures)',
      ...(r.unknown ?? []),
    ],
    sources: r.src,
  };
  if (r.alts) chip.rom = r.alts.rom;
  if (r.boot !== undefined) chip.romReservedRam = { start: SRAM, end: r.boot };
  return chip;
}

const DDP = 'AN2606 "Bootloader device-dependent parameters" (stm32flash dev_table.c)';
const DDP_PARTIAL = 'AN2606 "Bootloader device-dependent parameters" (stm32flash dev_table.c, partial row: RAM and system memory only)';
const HALF = [2, 'erased-only'] as [number, ProgramRule];
const WORD_CLEAR = [4, 'clear-bits'] as [number, ProgramRule];
const DWORD = [8, 'erased-only'] as [number, ProgramRule];
const QWORD = [16, 'erased-only'] as [number, ProgramRule];
const F0F1F3_PROGRAM = 'half-word programming; a half-word not erased (other than writing 0x0000) is refused with PGERR';
const F2F4F7_PROGRAM = 'program by byte/half-word/word (PSIZE); programming clears bits, the ROM programs words at 3.3 V';
const F4_16 = '4*16K,1*64K';
const OB_F0 = [[0x1fff_f800, 16]] as [number, number][];
const OB_F4 = [[0x1fff_c000, 16]] as [number, number][];
const OB_F4_DUAL = [[0x1fff_c000, 16], [0x1ffe_c000, 16]] as [number, number][];
const OB_F7 = [[0x1fff_0000, 32]] as [number, number][];
const OB_L4 = [[0x1fff_7800, 16]] as [number, number][];
const OB_L4_DUAL = [[0x1fff_7800, 16], [0x1fff_f800, 16]] as [number, number][];

export const AN2606_LINES: readonly ChipInfo[] = [
  // ---- F0 ------------------------------------------------------------------------------------
  line({
    id: 0x445, name: 'STM32F04x/F070x6', family: 'F0', models: 'f042 f048 f070?6', sectors: '32*1K', unit: HALF,
    ram: [['SRAM', SRAM, 6]], boot: 0x2000_1800, ob: OB_F0,
    quirks: ['The bootloader uses all 6 KB of SRAM (DDP: RAM 0x20001800–0x20001800): nothing can be staged in RAM through the ROM'],
    src: [DDP, `RM0091 "Flash memory organization" (1 KB pages) and "Flash program" (${F0F1F3_PROGRAM})`],
  }),
  line({
    id: 0x448, name: 'STM32F07x', family: 'F0', models: 'f070?b f071 f072 f078', sectors: '64*2K', unit: HALF,
    ram: [['SRAM', SRAM, 16]], boot: 0x2000_1800, ob: OB_F0,
    quirks: ['USB DFU only on the parts with USB (F070xB, F072, F078; not F071): AN2606 F07x bootloader configuration'],
    src: [DDP, `RM0091 "Flash memory organization" (2 KB pages) and "Flash program" (${F0F1F3_PROGRAM})`],
  }),
  // ---- F1 connectivity line ------------------------------------------------------------------
  line({
    id: 0x418, name: 'STM32F105/107', family: 'F1', models: 'f105 f107', sectors: '128*2K', unit: HALF,
    ram: [['SRAM', SRAM, 64]], boot: 0x2000_1000, ob: OB_F0,
    alts: {
      strings: ['@Internal Flash  /0x08000000/128*002Kg', '@Option Bytes  /0x1FFFF800/01*016 g'],
      rom: { bcdDevice: 0x2000, product: 'STM32 0x418 DFU Bootloader', startsInDfuError: false, transferSize: 2048 },
    },
    quirks: ['The product string names the device ID ("STM32 0x418 DFU Bootloader"): identified without --chip (device-logs/stm32f107.lsusb)'],
    src: [DDP, 'device-logs/stm32f107.lsusb and .bin-download: bcdDevice 0x2000, two alt strings, wTransferSize 2048, starts in dfuIDLE', `RM0008 "Embedded flash memory" (connectivity line: 2 KB pages; ${F0F1F3_PROGRAM})`],
  }),
  // ---- F2 ------------------------------------------------------------------------------------
  line({
    id: 0x411, name: 'STM32F2xx', family: 'F2', models: 'f205 f207 f215 f217', sectors: `${F4_16},7*128K`, unit: WORD_CLEAR,
    ram: [['SRAM1+SRAM2', SRAM, 128]], boot: 0x2000_2000, ob: OB_F4,
    src: [DDP, `RM0033 "Flash memory organization" (4×16K, 1×64K, 7×128K) and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  // ---- F3 ------------------------------------------------------------------------------------
  line({
    id: 0x422, name: 'STM32F302xB/C, F303xB/C, F358', family: 'F3', models: 'f302?b f302?c f303?b f303?c f358', sectors: '128*2K', unit: HALF,
    ram: [['SRAM', SRAM, 40]], boot: 0x2000_1400, ob: OB_F0,
    quirks: ['USB DFU needs an external crystal: the F3 ROM runs USB from HSE (AN2606 F302xB(C)/303xB(C) bootloader configuration)'],
    src: [DDP, `RM0316 "Flash memory organization" (2 KB pages) and "Flash program" (${F0F1F3_PROGRAM})`],
  }),
  line({
    id: 0x446, name: 'STM32F302xD/E, F303xD/E, F398', family: 'F3', models: 'f302?d f302?e f303?d f303?e f398', sectors: '256*2K', unit: HALF,
    ram: [['SRAM', SRAM, 64]], boot: 0x2000_1800, ob: OB_F0,
    src: [DDP, `RM0316 "Flash memory organization" (2 KB pages) and "Flash program" (${F0F1F3_PROGRAM})`],
  }),
  line({
    id: 0x432, name: 'STM32F373/378', family: 'F3', models: 'f373 f378', sectors: '128*2K', unit: HALF,
    ram: [['SRAM', SRAM, 32]], boot: 0x2000_1400, ob: OB_F0,
    src: [DDP, `RM0313 "Flash memory organization" (2 KB pages) and "Flash program" (${F0F1F3_PROGRAM})`],
  }),
  line({
    id: 0x439, name: 'STM32F302x6/8', family: 'F3', models: 'f302?6 f302?8', sectors: '32*2K', unit: HALF,
    ram: [['SRAM', SRAM, 16]], boot: 0x2000_1800, ob: OB_F0,
    unknown: ['whether the F302x6/8 ROM enables USB DFU (the ID is shared with F301/F318, which have no USB): not confirmed in AN2606'],
    src: [DDP, `RM0365 "Flash memory organization" (2 KB pages) and "Flash program" (${F0F1F3_PROGRAM})`],
  }),
  // ---- F4 ------------------------------------------------------------------------------------
  line({
    id: 0x419, name: 'STM32F42x/43x', family: 'F4', models: 'f427 f429 f437 f439', sectors: `${F4_16},7*128K,${F4_16},7*128K`, unit: WORD_CLEAR,
    ram: [['SRAM1-3', SRAM, 192]], boot: 0x2000_3000, ob: OB_F4_DUAL,
    quirks: ['1 MB parts in single-bank mode have 12 sectors; 2 MB parts two banks of 12 (bank 2 at 0x08100000) (RM0090 "Flash memory organization")'],
    src: [DDP, `RM0090 "Flash memory organization" (dual bank) and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  line({
    id: 0x423, name: 'STM32F401xB/C', family: 'F4', models: 'f401?b f401?c', sectors: `${F4_16},1*128K`, unit: WORD_CLEAR,
    ram: [['SRAM', SRAM, 64]], boot: 0x2000_3000, ob: OB_F4,
    src: [DDP, `RM0368 "Flash memory organization" and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  line({
    id: 0x433, name: 'STM32F401xD/E', family: 'F4', models: 'f401?d f401?e', sectors: `${F4_16},3*128K`, unit: WORD_CLEAR,
    ram: [['SRAM', SRAM, 96]], boot: 0x2000_3000, ob: OB_F4,
    src: [DDP, `RM0368 "Flash memory organization" and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  line({
    id: 0x431, name: 'STM32F411', family: 'F4', models: 'f411', sectors: `${F4_16},3*128K`, unit: WORD_CLEAR,
    ram: [['SRAM', SRAM, 128]], boot: 0x2000_3000, ob: OB_F4,
    src: [DDP, `RM0383 "Flash memory organization" and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  line({
    id: 0x441, name: 'STM32F412', family: 'F4', models: 'f412', sectors: `${F4_16},7*128K`, unit: WORD_CLEAR,
    ram: [['SRAM1+SRAM2', SRAM, 256]], boot: 0x2000_3000, ob: OB_F4,
    src: [DDP, `RM0402 "Flash memory organization" and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  line({
    id: 0x421, name: 'STM32F446', family: 'F4', models: 'f446', sectors: `${F4_16},3*128K`, unit: WORD_CLEAR,
    ram: [['SRAM1+SRAM2', SRAM, 128]], boot: 0x2000_3000, ob: OB_F4,
    src: [DDP, `RM0390 "Flash memory organization" and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  line({
    id: 0x434, name: 'STM32F469/479', family: 'F4', models: 'f469 f479', sectors: `${F4_16},7*128K,${F4_16},7*128K`, unit: WORD_CLEAR,
    ram: [['SRAM1-3', SRAM, 384]], boot: 0x2000_3000, ob: OB_F4_DUAL,
    src: [DDP, `RM0386 "Flash memory organization" (dual bank) and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  line({
    id: 0x463, name: 'STM32F413/423', family: 'F4', models: 'f413 f423', sectors: `${F4_16},11*128K`, unit: WORD_CLEAR,
    ram: [['SRAM1+SRAM2', SRAM, 320]], boot: 0x2000_3000, ob: OB_F4,
    src: [DDP, `RM0430 "Flash memory organization" and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  // ---- F7 ------------------------------------------------------------------------------------
  line({
    id: 0x452, name: 'STM32F72x/73x', family: 'F7', models: 'f722 f723 f730 f732 f733', sectors: `${F4_16},3*128K`, unit: WORD_CLEAR,
    ram: [['DTCM+SRAM1+SRAM2', SRAM, 256]], boot: 0x2000_4000, ob: OB_F7,
    src: [DDP, `RM0431 "Flash memory organization" and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  line({
    id: 0x451, name: 'STM32F76x/77x', family: 'F7', models: 'f765 f767 f768 f769 f777 f778 f779', sectors: '4*32K,1*128K,7*256K', unit: WORD_CLEAR,
    ram: [['DTCM+SRAM1+SRAM2', SRAM, 512]], boot: 0x2000_4000, ob: OB_F7,
    quirks: ['With nDBANK cleared (dual-bank mode) the flash is two banks of 4×16K,1×64K,7×128K and the ROM reports that layout instead (RM0410 "Flash memory organization")'],
    src: [DDP, `RM0410 "Flash memory organization" (single-bank mode) and "Programming" (${F2F4F7_PROGRAM})`],
  }),
  // ---- G0 ------------------------------------------------------------------------------------
  line({
    id: 0x467, name: 'STM32G0B0/B1/C1', family: 'G0', models: 'g0b0 g0b1 g0c1', sectors: '256*2K', unit: DWORD,
    ram: [['SRAM', SRAM, 128]], boot: 0x2000_4000, ob: [[0x1fff_7800, 128]],
    src: [DDP, 'OCD: STM32G0B/G0Cx, 512 KB, dual bank', 'RM0444 "Flash program" (double word; PROGERR when the double word is not erased)'],
  }),
  // ---- G4 ------------------------------------------------------------------------------------
  line({
    id: 0x468, name: 'STM32G431/441', family: 'G4', models: 'g431 g441', sectors: '64*2K', unit: DWORD,
    ram: [['SRAM1+SRAM2', SRAM, 22]], boot: 0x2000_4000, ob: [[0x1fff_7800, 48]],
    src: [DDP, 'OCD: STM32G43/G44xx, 128 KB', 'RM0440 "Flash program and erase operations" (double word; PROGERR when not erased)'],
  }),
  line({
    id: 0x479, name: 'STM32G491/4A1', family: 'G4', models: 'g491 g4a1', sectors: '256*2K', unit: DWORD,
    ram: [['SRAM1+SRAM2+CCM', SRAM, 112]], boot: 0x2000_4000, ob: [[0x1fff_7800, 48]],
    src: [DDP, 'OCD: STM32G49/G4Axx, 512 KB', 'RM0440 "Flash program and erase operations" (double word; PROGERR when not erased)'],
  }),
  // ---- H5 ------------------------------------------------------------------------------------
  line({
    id: 0x484, name: 'STM32H562/563/573', family: 'H5', models: 'h562 h563 h573', sectors: '256*8K', unit: QWORD,
    ram: [['SRAM1', SRAM, 256], ['SRAM2', 0x2004_0000, 64], ['SRAM3', 0x2005_0000, 320]],
    src: ['RM0481 "Memory map" (SRAM1 256K, SRAM2 64K, SRAM3 320K) and "Embedded flash memory" (8 KB sectors, 128-bit flash word programmed once with ECC)'],
  }),
  line({
    id: 0x474, name: 'STM32H503', family: 'H5', models: 'h503', sectors: '16*8K', unit: QWORD,
    ram: [['SRAM1', SRAM, 16], ['SRAM2', 0x2000_4000, 16]],
    src: ['RM0492 "Memory map" (SRAM1 16K, SRAM2 16K) and "Embedded flash memory" (8 KB sectors, 128-bit flash word)'],
  }),
  // ---- H7 ------------------------------------------------------------------------------------
  line({
    id: 0x480, name: 'STM32H7A3/7B3/7B0', family: 'H7', models: 'h7a3 h7b3 h7b0', sectors: '256*8K', unit: QWORD,
    ram: [['DTCM', SRAM, 128]], boot: 0x2000_4100,
    quirks: ['The flash word is 128 bits (not the H74x’s 256): a write that splits 16 bytes is refused (RM0455 "Flash program")'],
    unknown: ['AXI SRAM and the other RAM banks: not in the DDP row (only DTCM is listed)'],
    src: [DDP_PARTIAL, 'RM0455 "Embedded flash memory" (2 banks × 128 × 8 KB sectors, 128-bit flash word programmed once)'],
  }),
  line({
    id: 0x483, name: 'STM32H72x/73x', family: 'H7', models: 'h723 h725 h730 h733 h735', sectors: '8*128K', unit: [32, 'erased-only'],
    ram: [['DTCM', SRAM, 128]], boot: 0x2000_4100,
    unknown: ['AXI SRAM and the other RAM banks: not in the DDP row (only DTCM is listed)'],
    src: [DDP_PARTIAL, 'RM0468 "Embedded flash memory" (single bank, 8 × 128 KB sectors, 256-bit flash word programmed once)'],
  }),
  // ---- L0 ------------------------------------------------------------------------------------
  line({
    id: 0x447, name: 'STM32L07x/08x', family: 'L0', models: 'l072 l073 l082 l083', sectors: '1536*128', unit: [4, 'erased-only'],
    ram: [['SRAM', SRAM, 20]], boot: 0x2000_2000, ob: [[0x1ff8_0000, 32]],
    quirks: ['The ROM cannot mass erase (stm32flash flag F_NO_ME for L0/L1): pages are erased one by one'],
    src: [DDP, 'RM0367/RM0376 "Flash program memory" (128-byte pages; a word is written once after erase, NOTZEROERR otherwise)'],
  }),
  // ---- L1 ------------------------------------------------------------------------------------
  line({
    id: 0x427, name: 'STM32L1xxxC (Cat.3)', family: 'L1', models: 'l151?c l152?c l162?c l100?c', sectors: '1024*256', unit: [4, 'erased-only'],
    ram: [['SRAM', SRAM, 32]], boot: 0x2000_1000, ob: [[0x1ff8_0000, 32]],
    quirks: ['The ROM cannot mass erase (stm32flash flag F_NO_ME): pages are erased one by one'],
    src: [DDP, 'RM0038 "Flash program memory" (256-byte pages; word written once after erase)'],
  }),
  line({
    id: 0x436, name: 'STM32L1xxxD (Cat.4)', family: 'L1', models: 'l151?d l152?d l162?d', sectors: '1536*256', unit: [4, 'erased-only'],
    ram: [['SRAM', SRAM, 48]], boot: 0x2000_1000, ob: [[0x1ff8_0000, 160]],
    quirks: ['The ROM cannot mass erase (stm32flash flag F_NO_ME): pages are erased one by one'],
    src: [DDP, 'RM0038 "Flash program memory" (256-byte pages; word written once after erase)'],
  }),
  line({
    id: 0x437, name: 'STM32L1xxxE (Cat.5/6)', family: 'L1', models: 'l151?e l152?e l162?e', sectors: '2048*256', unit: [4, 'erased-only'],
    ram: [['SRAM', SRAM, 80]], boot: 0x2000_1000, ob: [[0x1ff8_0000, 160]],
    quirks: ['The ROM cannot mass erase (stm32flash flag F_NO_ME): pages are erased one by one'],
    src: [DDP, 'RM0038 "Flash program memory" (256-byte pages; word written once after erase)'],
  }),
  // ---- L4 / L4+ ------------------------------------------------------------------------------
  line({
    id: 0x464, name: 'STM32L412/422', family: 'L4', models: 'l412 l422', sectors: '64*2K', unit: DWORD,
    ram: [['SRAM1', SRAM, 32]], boot: 0x2000_3100, ob: OB_L4,
    src: [DDP, 'OCD: STM32L41/L42xx, 128 KB', 'RM0394 "Flash program and erase operations" (double word; PROGERR when not erased)'],
  }),
  line({
    id: 0x435, name: 'STM32L43x/44x', family: 'L4', models: 'l431 l432 l433 l442 l443', sectors: '128*2K', unit: DWORD,
    ram: [['SRAM1+SRAM2', SRAM, 48]], boot: 0x2000_3100, ob: OB_L4,
    src: [DDP, 'OCD: STM32L43/L44xx, 256 KB', 'RM0394 "Flash program and erase operations" (double word; PROGERR when not erased)'],
  }),
  line({
    id: 0x462, name: 'STM32L45x/46x', family: 'L4', models: 'l451 l452 l462', sectors: '256*2K', unit: DWORD,
    ram: [['SRAM1+SRAM2', SRAM, 128]], boot: 0x2000_3100, ob: OB_L4,
    quirks: ['After programming a blank chip the boot still selects the bootloader until the flash-empty flag is re-evaluated (stm32flash flag F_PEMPTY; RM0394 "Boot configuration", PEMPTY): reset once more, or power cycle'],
    src: [DDP, 'OCD: STM32L45/L46xx, 512 KB', 'RM0394 "Flash program and erase operations" (double word; PROGERR when not erased)'],
  }),
  line({
    id: 0x461, name: 'STM32L496/4A6', family: 'L4', models: 'l496 l4a6', sectors: '512*2K', unit: DWORD,
    ram: [['SRAM1+SRAM2', SRAM, 256]], boot: 0x2000_3100, ob: OB_L4_DUAL,
    src: [DDP, 'OCD: STM32L49/L4Axx, 1 MB, dual bank', 'RM0351 "Flash program and erase operations" (double word; PROGERR when not erased)'],
  }),
  line({
    id: 0x470, name: 'STM32L4R/L4S', family: 'L4', models: 'l4r5 l4r7 l4r9 l4s5 l4s7 l4s9', sectors: '512*4K', unit: DWORD,
    ram: [['SRAM1-3', SRAM, 640]], boot: 0x2000_3200, ob: OB_L4_DUAL,
    quirks: ['Pages are 4 KB in dual-bank mode (the default) and 8 KB in single-bank mode (openocd stm32l4x.c on RM0432)'],
    src: [DDP, 'OCD: STM32L4R/L4Sxx, 2 MB', 'RM0432 "Flash program and erase operations" (double word; PROGERR when not erased)'],
  }),
  line({
    id: 0x471, name: 'STM32L4P5/Q5', family: 'L4', models: 'l4p5 l4q5', sectors: '256*4K', unit: DWORD,
    ram: [['SRAM1-3', SRAM, 320]], boot: 0x2000_4000,
    quirks: ['Pages are 4 KB in dual-bank mode and 8 KB in single-bank mode (openocd stm32l4x.c on RM0432)'],
    src: [DDP_PARTIAL, 'OCD: STM32L4P/L4Qxx, 1 MB', 'RM0432 "Flash program and erase operations" (double word)'],
  }),
  // ---- L5 ------------------------------------------------------------------------------------
  line({
    id: 0x472, name: 'STM32L552/562', family: 'L5', models: 'l552 l562', sectors: '256*2K', unit: DWORD,
    ram: [['SRAM1+SRAM2', SRAM, 256]], boot: 0x2000_4000,
    quirks: ['With TrustZone enabled (TZEN=1) the bootloader is entered only through the secure boot address (RM0438 "Boot configuration")'],
    src: [DDP_PARTIAL, 'OCD: STM32L55/L56xx, 512 KB, dual bank (2 KB pages)', 'RM0438 "Flash program and erase operations" (double word)'],
  }),
  // ---- U5 ------------------------------------------------------------------------------------
  line({
    id: 0x482, name: 'STM32U575/585', family: 'U5', models: 'u575 u585', sectors: '256*8K', unit: QWORD,
    ram: [['SRAM1', SRAM, 192], ['SRAM2', 0x2003_0000, 64], ['SRAM3', 0x2004_0000, 512]],
    quirks: ['Factory NSBOOTADD values vs the AN2606 pattern are inconsistent in early RM revisions (ST community thread "STM32U575/585, how to enter ROM bootloader")'],
    src: ['OCD: STM32U57/U58xx, 2 MB, dual bank, F_QUAD_WORD_PROG', 'RM0456 "Memory map" (SRAM1 192K, SRAM2 64K, SRAM3 512K) and "Flash program" (quad word, 8 KB pages)'],
  }),
  line({
    id: 0x455, name: 'STM32U535/545', family: 'U5', models: 'u535 u545', sectors: '64*8K', unit: QWORD,
    ram: [['SRAM1', SRAM, 192], ['SRAM2', 0x2003_0000, 64]],
    src: ['OCD: STM32U53/U54xx, 512 KB, F_QUAD_WORD_PROG', 'RM0456 "Memory map" and "Flash program" (quad word, 8 KB pages)'],
  }),
  line({
    id: 0x481, name: 'STM32U59x/5Ax', family: 'U5', models: 'u595 u599 u5a5 u5a9', sectors: '512*8K', unit: QWORD,
    ram: [['SRAM1', SRAM, 768]],
    unknown: ['SRAM2/3/5 addresses: not recorded'],
    src: ['OCD: STM32U59/U5Axx, 4 MB, F_QUAD_WORD_PROG', 'RM0456 "Memory map" (SRAM1 768K) and "Flash program" (quad word, 8 KB pages)'],
  }),
  line({
    id: 0x476, name: 'STM32U5Fx/5Gx', family: 'U5', models: 'u5f7 u5f9 u5g7 u5g9', sectors: '512*8K', unit: QWORD,
    ram: [['SRAM1', SRAM, 768]],
    unknown: ['SRAM2/3/5/6 addresses: not recorded'],
    src: ['OCD: STM32U5F/U5Gxx, 4 MB, F_QUAD_WORD_PROG', 'RM0456 "Memory map" (SRAM1 768K) and "Flash program" (quad word, 8 KB pages)'],
  }),
  // ---- WB ------------------------------------------------------------------------------------
  line({
    id: 0x495, name: 'STM32WB55/35', family: 'WB', models: 'wb55 wb35 wb5m', sectors: '256*4K', unit: DWORD,
    ram: [['SRAM1+SRAM2', SRAM, 256]], boot: 0x2000_5000,
    quirks: [
      'The top of flash from SFSA holds the CPU2 wireless stack and FUS: the ROM refuses to write or erase it (RM0434 "Flash memory protection", secure flash start address)',
      'stm32flash keeps this row commented out with the WB10/15 and WB30/50 labels swapped; the RAM end 0x20040000 (256 KB) is the WB5x one (RM0434 memory map)',
    ],
    src: [DDP_PARTIAL, 'OCD: STM32WB5x, 1 MB, 4 KB pages', 'RM0434 "Flash program and erase operations" (double word)'],
  }),
  // ---- C0 ------------------------------------------------------------------------------------
  line({
    id: 0x493, name: 'STM32C071', family: 'C0', models: 'c071', sectors: '64*2K', unit: DWORD,
    ram: [['SRAM', SRAM, 24]],
    unknown: ['USB DFU in the C071 ROM: AN3156 rev 17 lists the C0 series among the DFU bootloader products; the C071 is the only C0 with USB (inferred, not confirmed in AN2606)'],
    src: ['AN3156 rev 17 Table 1 (C0 series)', 'RM0490 "Memory map" (SRAM 24K) and "Flash program" (double word, 2 KB pages)'],
  }),
];

/** Product lines with a USB DFU ROM that the database does not describe (no parameters found). */
export const LINES_NOT_DESCRIBED: readonly string[] = [
  'STM32H7R/H7S (0x485): no device-dependent parameters found',
  'STM32U3 (AN3156 rev 17 lists the series): no device-dependent parameters found',
  'STM32WBA (AN3156 rev 17 lists the series): no device-dependent parameters found',
  'STM32H523/533 (0x478): no device-dependent parameters found',
];
