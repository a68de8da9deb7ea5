// The devices/ layer: facts about chips, each with its source, and which chip a board is
// (identify.ts); no I/O (docs/architecture.md). This file is its entry —
// the chip database: what BootBridge knows about each STM32 whose ROM bootloader speaks USB DFU, by
// device ID (AN2606 "device-dependent bootloader parameters", the reference manuals and datasheets).
// The planner checks a plan against it, the simulator builds its ROM bootloaders from it. Every figure
// names its source; a fact that was not found is left out of the entry and listed in `unknown`, never
// guessed. Five lines are modelled in full here (the simulated boards); the others are compact rows in
// chip-db.ts.

import { BootBridgeError } from '../../shared/errors.js';
import { hex } from '../../shared/format.js';
import type { ChipInfo, ModelledChip } from './chip-info.js';
import { AN2606_LINES } from './chip-db.js';

export type { AltStringProvenance, ChipInfo, ChipTiming, Family, ModelledChip, ProgramRule, RamRange } from './chip-info.js';

export function isModelled(chip: ChipInfo): chip is ModelledChip {
  return chip.rom !== undefined && chip.timing !== undefined && chip.uidAddress !== undefined && chip.flashSizeAddress !== undefined && chip.romReservedRam !== undefined && chip.romAltStrings.length > 0;
}


const KB = 1024;
const ST_PRODUCT = 'STM32  BOOTLOADER'; // two spaces, as the ROM sends it (device-logs/stm32f4discovery.lsusb)

const F7_74X: ModelledChip = {
  deviceId: 0x449,
  name: 'STM32F74x/75x',
  family: 'F7',
  models: ['stm32f745', 'stm32f746', 'stm32f750', 'stm32f756'],
  romAltStrings: [
    '@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg',
    '@Option Bytes  /0x1FFF0000/01*032 g',
    '@OTP Memory /0x1FF0F000/01*1024 g,01*016 g',
    '@Device Feature/0xFFFF0000/01*004 g',
  ],
  // The CubeProgrammer capture shows four alt settings but not their strings beyond alt 0; alts 1–3
  // are written in the F4 ROM's style with the F7 addresses (RM0385 §3.4 option bytes, §3.5 OTP).
  romAltStringProvenance: ['captured', 'inferred', 'inferred', 'inferred'],
  rom: { bcdDevice: 0x2200, product: ST_PRODUCT, startsInDfuError: false, transferSize: 2048 },
  flash: { start: 0x0800_0000, size: 1024 * KB },
  ram: [
    { name: 'DTCM', start: 0x2000_0000, size: 64 * KB },
    { name: 'SRAM1', start: 0x2001_0000, size: 240 * KB },
    { name: 'SRAM2', start: 0x2004_c000, size: 16 * KB },
  ],
  romReservedRam: { start: 0x2000_0000, end: 0x2000_4000 },
  optionBytes: [{ start: 0x1fff_0000, size: 32 }],
  otp: { start: 0x1ff0_f000, size: 1024 + 16 },
  uidAddress: 0x1ff0_f420,
  flashSizeAddress: 0x1ff0_f442,
  program: { unitBytes: 4, rule: 'clear-bits' },
  timing: {
    romReportedWriteMs: 104,
    romReportedEraseMs: 100,
    romReportedMassEraseMs: 100, // inferred: same ROM generation as the F405 that reports 100 ms
    eraseMsBySectorSize: { [32 * KB]: 350, [128 * KB]: 1200, [256 * KB]: 2000 },
    programUsPerUnit: 16,
    massEraseMs: 16_000,
  },
  flashSectors: '4*32K,1*128K,3*256K',
  quirks: ['Reports a 100 ms bwPollTimeout for a sector erase that really takes ≈351 ms for 32 KB (timing.md, fwupd #2696): the host keeps polling'],
  unknown: [],
  sources: [
    'AN2606 STM32F74xxx/75xxx: device ID 0x449, bootloader RAM 0x20000000–0x20003FFF',
    'device-logs/stm32f746-cubeprogrammer-vb3.log: bcdDevice 0x2200, wTransferSize 2048, four alt settings',
    'alt 0 string as reported by F74x ROMs (betaflight-configurator parseDescriptor comment)',
    'RM0385: flash 4×32K,1×128K,3×256K; option bytes 0x1FFF0000 (32 bytes); OTP 0x1FF0F000 1024 + 16 lock bytes; UID 0x1FF0F420; flash size 0x1FF0F442; SRAM DTCM 64K + SRAM1 240K + SRAM2 16K',
    'timing.md: reported 104 ms per 2 KB write and 100 ms per erase (fwupd #2696), real 32 KB erase ≈ 351 ms',
    'timing.md: 128 KB / 256 KB erase and mass erase are half the datasheet x8 max (unverified); 16 µs per word typ (as F4, unverified)',
  ],
};

const F4_40X: ModelledChip = {
  deviceId: 0x413,
  name: 'STM32F40x/41x',
  family: 'F4',
  models: ['stm32f405', 'stm32f407', 'stm32f415', 'stm32f417'],
  romAltStrings: [
    '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg',
    '@Option Bytes  /0x1FFFC000/01*016 g',
    '@OTP Memory /0x1FFF7800/01*512 g,01*016 g',
    '@Device Feature/0xFFFF0000/01*004 g',
  ],
  romAltStringProvenance: ['captured', 'captured', 'captured', 'captured'],
  rom: { bcdDevice: 0x2100, product: ST_PRODUCT, startsInDfuError: true, transferSize: 2048 },
  flash: { start: 0x0800_0000, size: 1024 * KB },
  // CCM RAM (64K at 0x10000000) is on the D-bus only: the core cannot execute from it, so it is not
  // offered to loaders (RM0090 §2.3.1).
  ram: [
    { name: 'SRAM1', start: 0x2000_0000, size: 112 * KB },
    { name: 'SRAM2', start: 0x2001_c000, size: 16 * KB },
  ],
  romReservedRam: { start: 0x2000_0000, end: 0x2000_3000 },
  optionBytes: [{ start: 0x1fff_c000, size: 16 }],
  otp: { start: 0x1fff_7800, size: 512 + 16 },
  uidAddress: 0x1fff_7a10,
  flashSizeAddress: 0x1fff_7a22,
  program: { unitBytes: 4, rule: 'clear-bits' },
  timing: {
    romReportedWriteMs: 104, // inferred from the F745 ROM (same DfuSe bootloader generation)
    romReportedEraseMs: 100, // inferred from the F745 ROM
    romReportedMassEraseMs: 100, // dfu-util dfuse.c: "STM32F405 lies about mass erase timeout"
    eraseMsBySectorSize: { [16 * KB]: 250, [64 * KB]: 550, [128 * KB]: 1000 },
    programUsPerUnit: 16,
    massEraseMs: 16_000,
  },
  flashSectors: '4*16K,1*64K,7*128K',
  quirks: ['Starts in dfuERROR (status errFIRMWARE) and needs DFU_CLRSTATUS before the first request (device-logs/stm32f4discovery.bin-download)', 'Reports 100 ms for a mass erase that takes up to 16 s (dfu-util dfuse.c: "STM32F405 lies about mass erase timeout")'],
  unknown: [],
  sources: [
    'AN2606 STM32F40xxx/41xxx: device ID 0x413, bootloader RAM 0x20000000–0x20002FFF',
    'device-logs/stm32f4discovery.lsusb: bcdDevice 0x2100, four alt strings, wTransferSize 2048',
    'device-logs/stm32f4discovery.bin-download: starts in dfuERROR, status 10 (errFIRMWARE)',
    'RM0090: option bytes 0x1FFFC000 (16 bytes), OTP 0x1FFF7800 512 + 16 lock bytes, UID 0x1FFF7A10, flash size 0x1FFF7A22',
    'DS8626 via timing.md: x32 erase typ 250/550/1000 ms for 16/64/128 KB (unverified), mass 16 s max, 16 µs per word typ',
  ],
};

const H7_74X: ModelledChip = {
  deviceId: 0x450,
  name: 'STM32H74x/75x',
  family: 'H7',
  models: ['stm32h742', 'stm32h743', 'stm32h745', 'stm32h747', 'stm32h750', 'stm32h753', 'stm32h755', 'stm32h757'],
  romAltStrings: ['@Internal Flash   /0x08000000/16*128Kg', '@Option Bytes   /0x5200201C/01*128 e'],
  // Both strings appear in public dfu-util listings of H743 ROMs (ver=0200, two alt settings).
  romAltStringProvenance: ['captured', 'captured'],
  rom: { bcdDevice: 0x0200, product: ST_PRODUCT, startsInDfuError: false, transferSize: 2048 },
  flash: { start: 0x0800_0000, size: 2048 * KB },
  ram: [
    { name: 'DTCM', start: 0x2000_0000, size: 128 * KB },
    { name: 'AXI SRAM', start: 0x2400_0000, size: 512 * KB },
    { name: 'SRAM1-3', start: 0x3000_0000, size: 288 * KB },
    { name: 'SRAM4', start: 0x3800_0000, size: 64 * KB },
  ],
  romReservedRam: { start: 0x2000_0000, end: 0x2000_4100 },
  // The ROM exposes the option-byte registers (FLASH_OPTSR_CUR at 0x5200201C onwards), not a memory.
  optionBytes: [{ start: 0x5200_201c, size: 128 }],
  uidAddress: 0x1ff1_e800,
  flashSizeAddress: 0x1ff1_e880,
  program: { unitBytes: 32, rule: 'erased-only' },
  timing: {
    romReportedWriteMs: 100, // unverified
    romReportedEraseMs: 100, // unverified; the rev V ROM stays busy past it (betaflight-configurator #1861)
    romReportedMassEraseMs: 100, // unverified
    eraseMsBySectorSize: { [128 * KB]: 1100 },
    programUsPerUnit: 130,
    massEraseMs: 8 * 1100, // unverified: one bank erase ≈ its 8 sectors, the two banks in parallel
  },
  flashSectors: '16*128K',
  quirks: ['Rev V ROM stays busy past the erase poll timeout it reports (betaflight-configurator #1861)', 'Option bytes are exposed as the FLASH_OPTSR_CUR… registers at 0x5200201C, not as a memory (alt 1 string)'],
  unknown: ['ROM bwPollTimeout values and wTransferSize: no capture found (2048 assumed)'],
  sources: [
    'AN2606 STM32H74xxx/75xxx: device ID 0x450, bootloader RAM below 0x20004100',
    'public dfu-util listings of H743 ROMs: ver=0200, alt 0 "@Internal Flash   /0x08000000/16*128Kg", alt 1 "@Option Bytes   /0x5200201C/01*128 e"',
    'RM0433: 2 banks × 8 × 128 KB; 256-bit flash word with ECC, program once; UID 0x1FF1E800; flash size 0x1FF1E880; DTCM 128K, AXI SRAM 512K, SRAM1–3 288K, SRAM4 64K',
    'DS12110 via timing.md: 128 KB sector erase 1.1 s typ; 130 µs per flash word typ',
    'ROM poll timeouts and wTransferSize: unverified (2048 assumed as the other ST ROMs)',
  ],
};

const G4_47X: ModelledChip = {
  // AN2606 / RM0440: the STM32G47x/48x is device ID 0x469; 0x468 is the smaller G43x/G44x. The
  // STM32G474 therefore lives here.
  deviceId: 0x469,
  name: 'STM32G47x/48x',
  family: 'G4',
  models: ['stm32g471', 'stm32g473', 'stm32g474', 'stm32g483', 'stm32g484'],
  romAltStrings: [
    '@Internal Flash   /0x08000000/256*02Kg',
    '@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e',
    '@OTP Memory   /0x1FFF7000/01*1024 e',
  ],
  // All three appear in a public dfu-util listing of a G474 ROM (ver=0200).
  romAltStringProvenance: ['captured', 'captured', 'captured'],
  rom: { bcdDevice: 0x0200, product: ST_PRODUCT, startsInDfuError: false, transferSize: 2048 },
  flash: { start: 0x0800_0000, size: 512 * KB },
  // CCM SRAM is aliased at 0x20018000 right after SRAM2, so the three form one range (RM0440 §2.4).
  ram: [
    { name: 'SRAM1', start: 0x2000_0000, size: 80 * KB },
    { name: 'SRAM2', start: 0x2001_4000, size: 16 * KB },
    { name: 'CCM SRAM', start: 0x2001_8000, size: 32 * KB },
  ],
  romReservedRam: { start: 0x2000_0000, end: 0x2000_4000 },
  optionBytes: [
    { start: 0x1fff_7800, size: 48 },
    { start: 0x1fff_f800, size: 48 },
  ],
  otp: { start: 0x1fff_7000, size: 1024 },
  uidAddress: 0x1fff_7590,
  flashSizeAddress: 0x1fff_75e0,
  program: { unitBytes: 8, rule: 'erased-only' },
  timing: {
    romReportedWriteMs: 21, // inferred from the L43x ROM (timing.md), unverified on G4
    romReportedEraseMs: 21, // inferred, unverified
    romReportedMassEraseMs: 21, // inferred, unverified
    eraseMsBySectorSize: { [2 * KB]: 22 },
    programUsPerUnit: 82,
    massEraseMs: 22,
  },
  flashSectors: '256*2K',
  quirks: [],
  unknown: [],
  sources: [
    'AN2606 STM32G47xxx/48xxx: device ID 0x469 (0x468 is G43x/G44x), bootloader RAM below 0x20004000',
    'public dfu-util listing of a G474 ROM: ver=0200, three alt strings (option bytes as two address blocks)',
    'RM0440: 512 KB flash, 2 KB pages in dual-bank mode; PROGERR on a non-erased double word (§3.3.8); UID 0x1FFF7590; flash size 0x1FFF75E0; SRAM1 80K, SRAM2 16K, CCM SRAM 32K aliased at 0x20018000',
    'timing.md: erase/program as L4 (unverified)',
  ],
};

const L4_47X: ModelledChip = {
  deviceId: 0x415,
  name: 'STM32L47x/48x',
  family: 'L4',
  models: ['stm32l471', 'stm32l475', 'stm32l476', 'stm32l485', 'stm32l486'],
  romAltStrings: [
    '@Internal Flash  /0x08000000/512*0002Kg',
    '@Option Bytes  /0x1FFF7800/01*040 e/0x1FFFF800/01*040 e',
    '@OTP Memory /0x1FFF7000/01*0001Ke',
    '@Device Feature/0xFFFF0000/01*004 e',
  ],
  // Written in the style of captured L4 ROM strings (L43x/L45x: "@Option Bytes  /0x1FFF7800/01*040 e",
  // "@OTP Memory /0x1FFF7000/01*0001Ke"); the second option-byte block is bank 2's (dual-bank L47x).
  romAltStringProvenance: ['inferred', 'inferred', 'inferred', 'inferred'],
  rom: { bcdDevice: 0x2200, product: ST_PRODUCT, startsInDfuError: false, transferSize: 2048 },
  flash: { start: 0x0800_0000, size: 1024 * KB },
  // SRAM2 (32K at 0x10000000) is also mapped at 0x20018000, right after SRAM1 (RM0351 §2.4.2).
  ram: [
    { name: 'SRAM1', start: 0x2000_0000, size: 96 * KB },
    { name: 'SRAM2', start: 0x2001_8000, size: 32 * KB },
  ],
  romReservedRam: { start: 0x2000_0000, end: 0x2000_3100 },
  optionBytes: [
    { start: 0x1fff_7800, size: 40 },
    { start: 0x1fff_f800, size: 40 },
  ],
  otp: { start: 0x1fff_7000, size: 1024 },
  uidAddress: 0x1fff_7590,
  flashSizeAddress: 0x1fff_75e0,
  program: { unitBytes: 8, rule: 'erased-only' },
  timing: {
    romReportedWriteMs: 21, // inferred from the L43x ROM (timing.md)
    romReportedEraseMs: 21, // inferred from the L43x ROM
    romReportedMassEraseMs: 21, // inferred from the L43x ROM
    eraseMsBySectorSize: { [2 * KB]: 22 },
    programUsPerUnit: 82,
    massEraseMs: 22,
  },
  flashSectors: '512*2K',
  quirks: [],
  unknown: ['alt strings and bcdDevice of an L47x ROM: no capture found (written in the style of captured L43x/L45x ROMs)'],
  sources: [
    'AN2606 STM32L47xxx/48xxx: device ID 0x415, bootloader RAM below 0x20003100',
    'RM0351: 1 MB flash in 2 KB pages (two banks); PROGERR on a non-erased double word; UID 0x1FFF7590; flash size 0x1FFF75E0; SRAM1 96K, SRAM2 32K mapped at 0x20018000',
    'L476 datasheet via timing.md: page erase 22 ms typ, double word 82 µs typ (unverified), mass erase ≈ page erase (unverified)',
    'alt strings and bcdDevice inferred from captured L4 ROMs (ver 2200, "@Internal Flash  /0x08000000/0256*0002Kg" style)',
  ],
};

/** Every line, ordered by family then device ID (the `bootbridge chips` order). */
export const CHIPS: readonly ChipInfo[] = Object.freeze(
  [F7_74X, F4_40X, H7_74X, G4_47X, L4_47X, ...AN2606_LINES].sort((a, b) => a.family.localeCompare(b.family) || a.deviceId - b.deviceId),
);

export function chipById(id: number): ChipInfo | undefined {
  return CHIPS.find((c) => c.deviceId === id);
}

/** Whether a lower-case part number is this model pattern plus up to four letters/digits of package, pins and flash size. */
function modelMatches(model: string, q: string): boolean {
  if (q.length < model.length || q.length > model.length + 4) return false;
  for (let i = 0; i < model.length; i++) {
    const m = model[i];
    if (m === '?' ? !/[a-z0-9]/.test(q[i]!) : m !== q[i]) return false;
  }
  return /^[a-z0-9]*$/.test(q.slice(model.length));
}

/**
 * Finds a chip by part number ("stm32f746", "STM32H750VBT6"), line name ("STM32F74x/75x") or device ID
 * ("0x449"). The "stm32" prefix may be left out.
 */
export function chipByName(nameOrModel: string): ChipInfo | undefined {
  const q = nameOrModel.trim().toLowerCase();
  if (/^0x[0-9a-f]+$/.test(q)) return chipById(parseInt(q, 16));
  const exact = CHIPS.find((c) => c.name.toLowerCase() === q);
  if (exact) return exact;
  const part = q.startsWith('stm32') ? q : `stm32${q}`;
  return CHIPS.find((c) => c.models.some((m) => modelMatches(m, part)));
}

/** Up to `max` entries whose part numbers or names are closest to what the user typed, for "did you mean". */
export function closeChips(nameOrModel: string, max = 5): ChipInfo[] {
  const q = nameOrModel.trim().toLowerCase();
  const part = q.startsWith('stm32') ? q : `stm32${q}`;
  const score = (c: ChipInfo) => {
    let best = Infinity;
    for (const m of c.models) {
      const plain = m.replace(/\?/g, '');
      // A shared prefix counts most: "stm32h7" is close to every H7.
      let common = 0;
      while (common < plain.length && common < part.length && plain[common] === part[common]) common++;
      best = Math.min(best, editDistance(plain, part.slice(0, plain.length + 2)) - common);
    }
    return best;
  };
  return CHIPS.map((c) => ({ c, s: score(c) }))
    .sort((a, b) => a.s - b.s || a.c.deviceId - b.c.deviceId)
    .slice(0, max)
    .map((x) => x.c);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The CHIP_UNKNOWN error for a --chip value, listing the closest entries. */
export function unknownChipError(nameOrModel: string): BootBridgeError {
  const near = closeChips(nameOrModel).map((c) => `${c.models[0]} (${c.name}, ${hex(c.deviceId, 3)})`);
  return new BootBridgeError('CHIP_UNKNOWN', `Unknown chip "${nameOrModel}"; closest: ${near.join(', ')}. \`bootbridge chips\` lists every chip with a USB DFU ROM bootloader`, {
    field: 'chip',
  });
}

/** Real erase time of a sector, falling back to a size-proportional estimate from the nearest known size; 0 when the chip has no timing. */
export function sectorEraseMs(chip: ChipInfo, sectorSize: number): number {
  if (!chip.timing) return 0;
  const table = chip.timing.eraseMsBySectorSize;
  const known = table[sectorSize];
  if (known !== undefined) return known;
  const sizes = Object.keys(table).map(Number).sort((a, b) => a - b);
  const nearest = sizes.reduce((best, s) => (Math.abs(s - sectorSize) < Math.abs(best - sectorSize) ? s : best), sizes[0] ?? sectorSize);
  const ms = table[nearest] ?? 0;
  return nearest > 0 ? (ms * sectorSize) / nearest : 0;
}
