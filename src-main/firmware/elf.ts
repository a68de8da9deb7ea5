// ELF32 little-endian reader: programs the file-backed bytes of each PT_LOAD segment at its physical
// (load) address, as objcopy and every flash tool do, and keeps section names for display. It reads
// the file by offsets (headers, then each loaded range), so given a FileReader it never loads the
// debug sections that make up most of a firmware ELF.
// Layouts from the System V ABI, "ELF header", "Program header" and "Sections" (Tool Interface Standard 1.2).

import { BootBridgeError } from '../../shared/errors';
import { buildImage, type FirmwareImage, type ImageSection, type Piece } from './image';

const PT_LOAD = 1;
/** e_machine of Arm (ELF for the Arm Architecture, "ELF header"). */
const EM_ARM = 40;
/** A few e_machine values users bring by mistake (System V ABI e_machine list). */
const MACHINES: Record<number, string> = { 3: 'x86 (i386)', 8: 'MIPS', 20: 'PowerPC', 62: 'x86-64', 83: 'AVR', 94: 'Xtensa (ESP32)', 105: 'MSP430', 183: 'AArch64', 243: 'RISC-V' };
const SHT_NOBITS = 8;
const SHF_ALLOC = 0x2;

interface ProgramHeader {
  index: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

interface SectionHeader {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
}

function invalid(message: string, offset: number, field?: string): BootBridgeError {
  return new BootBridgeError('FIRMWARE_INVALID', message, field ? { offset, field } : { offset });
}

/** Random access to a file: its size and the bytes of a range (a file handle at the Node edge). */
export interface FileReader {
  readonly size: number;
  /** The `length` bytes at `offset`; the range lies inside the file (the parser checks before asking). */
  read(offset: number, length: number): Uint8Array;
}

/** A reader over bytes already in memory: ranges are views, not copies. */
export function bytesReader(bytes: Uint8Array): FileReader {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

export function parseElf(input: Uint8Array | FileReader): FirmwareImage {
  const file = input instanceof Uint8Array ? bytesReader(input) : input;
  const { ranges, entry, sections } = elfLayout(file);
  return buildImage('elf', joinRanges(file, ranges), { entry, sections });
}

/** What an ELF file programs, from its headers alone: the file ranges and their load addresses. */
export interface ElfLayout {
  /** The programmed file bytes, in program header and section order (sort by address to lay them out). */
  ranges: ElfRange[];
  entry: number;
  sections: ImageSection[];
}

/** `length` bytes of the file at `offset`, programmed at `address`; `source` names the section or segment. */
export interface ElfRange {
  address: number;
  offset: number;
  length: number;
  source: string;
}

/**
 * Reads and checks an ELF file's headers and finds the file ranges it programs, without reading
 * them: parseElf reads them into an image, a conversion may copy them straight into its output.
 */
export function elfLayout(file: FileReader): ElfLayout {
  const fileSize = file.size;
  const bytes = file.read(0, Math.min(fileSize, 52));
  if (!isElf(bytes)) throw invalid('Not an ELF file (no \\x7fELF magic)', 0, 'e_ident');
  if (fileSize < 52) throw invalid(`ELF file truncated: ${fileSize} bytes, the ELF32 header needs 52`, fileSize, 'e_ident');
  const cls = bytes[4];
  const encoding = bytes[5];
  if (cls === 2) {
    throw new BootBridgeError('FIRMWARE_UNSUPPORTED', 'ELF64 file: STM32 firmware is ELF32 (EI_CLASS 1); was it built for the host?', {
      field: 'EI_CLASS',
      offset: 4,
    });
  }
  if (cls !== 1) throw invalid(`Unknown ELF class ${cls} (EI_CLASS, byte 4)`, 4, 'EI_CLASS');
  if (encoding === 2) {
    throw new BootBridgeError('FIRMWARE_UNSUPPORTED', 'Big-endian ELF file: Cortex-M firmware is little-endian (EI_DATA 1)', {
      field: 'EI_DATA',
      offset: 5,
    });
  }
  if (encoding !== 1) throw invalid(`Unknown ELF data encoding ${encoding} (EI_DATA, byte 5)`, 5, 'EI_DATA');

  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => header.getUint16(at, true);
  const u32h = (at: number) => header.getUint32(at, true);

  const machine = u16(18);
  if (machine !== EM_ARM) {
    throw new BootBridgeError(
      'FIRMWARE_UNSUPPORTED',
      `ELF file for ${MACHINES[machine] ?? `machine ${machine}`} (e_machine ${machine}), not Arm (40): it was built for another processor, not an STM32`,
      { field: 'e_machine', offset: 18 },
    );
  }
  const entry = u32h(24);
  const phoff = u32h(28);
  const shoff = u32h(32);
  const phentsize = u16(42);
  const phnum = u16(44);
  const shentsize = u16(46);
  const shnum = u16(48);
  const shstrndx = u16(50);

  if (phnum === 0) throw invalid('ELF file has no program headers: link it (an object file .o cannot be flashed)', 44, 'e_phnum');
  if (phentsize < 32) throw invalid(`ELF program header size ${phentsize} is below 32`, 42, 'e_phentsize');
  if (phoff + phnum * phentsize > fileSize) {
    throw invalid(`ELF file truncated: program headers end at ${phoff + phnum * phentsize}, file has ${fileSize} bytes`, phoff, 'e_phoff');
  }

  const table = tableView(file, phoff, phnum * phentsize);
  const loads: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    if (table.u32(at) !== PT_LOAD) continue;
    const ph: ProgramHeader = { index: i, offset: table.u32(at + 4), vaddr: table.u32(at + 8), paddr: table.u32(at + 12), filesz: table.u32(at + 16), memsz: table.u32(at + 20) };
    if (ph.filesz > ph.memsz) throw invalid(`ELF segment ${i}: p_filesz ${ph.filesz} exceeds p_memsz ${ph.memsz}`, phoff + at + 16, 'p_filesz');
    if (ph.offset + ph.filesz > fileSize) {
      throw invalid(`ELF file truncated: segment ${i} needs bytes up to ${ph.offset + ph.filesz}, file has ${fileSize}`, ph.offset, 'p_offset');
    }
    loads.push(ph);
  }
  if (loads.length === 0) throw invalid('ELF file has no loadable (PT_LOAD) segment', phoff, 'p_type');

  const sectionHeaders = readSections(file, shoff, shentsize, shnum, shstrndx);

  // Map each allocated, file-backed section to the segment holding its file bytes: the load address is
  // the segment's p_paddr plus the section's offset into the segment (System V ABI "Program Loading").
  const sections: ImageSection[] = [];
  const bySegment = new Map<ProgramHeader, SectionHeader[]>();
  const segmentOf = segmentFinder(loads);
  for (const sh of sectionHeaders) {
    if (!(sh.flags & SHF_ALLOC) || sh.size === 0) continue;
    if (sh.type === SHT_NOBITS) {
      sections.push({ name: sh.name, loadAddress: sh.addr, runAddress: sh.addr, size: sh.size, programmed: false });
      continue;
    }
    const ph = segmentOf(sh.offset, sh.size);
    if (!ph) {
      sections.push({ name: sh.name, loadAddress: sh.addr, runAddress: sh.addr, size: sh.size, programmed: false });
      continue;
    }
    sections.push({ name: sh.name, loadAddress: (ph.paddr + (sh.offset - ph.offset)) >>> 0, runAddress: sh.addr, size: sh.size, programmed: true });
    const list = bySegment.get(ph) ?? [];
    list.push(sh);
    bySegment.set(ph, list);
  }

  const ranges: ElfRange[] = [];
  const headersEnd = Math.max(52, phoff + phnum * phentsize);
  for (const ph of loads) {
    if (ph.filesz === 0) continue; // .bss-only segment: nothing is stored, nothing is programmed
    const inside = bySegment.get(ph);
    if (inside && inside.length > 0) {
      // Program section contents only, as objcopy does: GNU ld may put the ELF and program headers at
      // the start of the first PT_LOAD, and alignment padding between sections is not part of the program.
      for (const sh of inside) {
        ranges.push({ address: (ph.paddr + (sh.offset - ph.offset)) >>> 0, offset: sh.offset, length: sh.size, source: sh.name });
      }
    } else if (sectionHeaders.length > 0 && ph.offset + ph.filesz <= headersEnd) {
      // Only the ELF and program headers (ld can load them in a segment of their own): not program bytes.
      continue;
    } else {
      // No section inside (stripped of section headers, or a segment a tool wrote on its own): the
      // segment's file bytes are all there is, and they are loaded, so they are programmed.
      ranges.push({ address: ph.paddr, offset: ph.offset, length: ph.filesz, source: `segment ${ph.index}` });
    }
  }

  return { ranges, entry, sections };
}

/**
 * File ranges as pieces, address-contiguous ranges joined into one piece first: a file may hold
 * 65,535 tiny segments, and one typed array each costs more than the bytes. Overlapping ranges stay
 * separate, so buildImage still compares them.
 */
const JOIN_ABOVE = 1024;
function joinRanges(file: FileReader, ranges: ElfRange[]): Piece[] {
  const sorted = ranges.filter((r) => r.length > 0).sort((a, b) => a.address - b.address);
  const pieces: Piece[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    let end = sorted[i]!.address + sorted[i]!.length;
    // Real files have a few dozen sections: kept apart, so an overlap names the exact one.
    while (sorted.length > JOIN_ABOVE && j < sorted.length && sorted[j]!.address === end) end += sorted[j++]!.length;
    const first = sorted[i]!;
    if (j === i + 1) {
      pieces.push({ address: first.address, data: file.read(first.offset, first.length), source: first.source });
    } else {
      const data = new Uint8Array(end - first.address);
      const sources: string[] = [];
      for (let k = i; k < j; k++) {
        const r = sorted[k]!;
        const at = r.address - first.address;
        data.set(file.read(r.offset, r.length), at);
        sources.push(r.source);
      }
      pieces.push({ address: first.address, data, source: first.source, sources });
    }
    i = j;
  }
  return pieces;
}

/**
 * Finds the PT_LOAD whose file bytes hold [offset, offset+size): loads sorted by file offset once,
 * then a binary search per section (a file may carry 65,535 of each; a scan per section is quadratic).
 */
function segmentFinder(loads: ProgramHeader[]): (offset: number, size: number) => ProgramHeader | undefined {
  const sorted = loads.filter((p) => p.filesz > 0).sort((a, b) => a.offset - b.offset || a.index - b.index);
  // Longest segment end up to each index, so overlapping segments are still found.
  const reach: number[] = [];
  let far = 0;
  for (const p of sorted) reach.push((far = Math.max(far, p.offset + p.filesz)));
  return (offset, size) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]!.offset <= offset) lo = mid + 1;
      else hi = mid;
    }
    // Candidates start at or before offset; walk back while one could still contain it.
    let best: ProgramHeader | undefined;
    for (let i = lo - 1; i >= 0 && reach[i]! >= offset + size; i--) {
      const p = sorted[i]!;
      if (offset + size <= p.offset + p.filesz && (!best || p.index < best.index)) best = p;
    }
    return best;
  };
}

/** A header table read in one piece, with little-endian accessors by offset into it. */
function tableView(file: FileReader, offset: number, length: number): { u32: (at: number) => number } {
  const bytes = file.read(offset, length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { u32: (at) => view.getUint32(at, true) };
}

function readSections(file: FileReader, shoff: number, shentsize: number, shnum: number, shstrndx: number): SectionHeader[] {
  if (shoff === 0 || shnum === 0) return []; // stripped of section headers: program headers are enough
  if (shentsize < 40) throw invalid(`ELF section header size ${shentsize} is below 40`, 46, 'e_shentsize');
  if (shoff + shnum * shentsize > file.size) {
    throw invalid(`ELF file truncated: section headers end at ${shoff + shnum * shentsize}, file has ${file.size} bytes`, shoff, 'e_shoff');
  }
  const table = tableView(file, shoff, shnum * shentsize);
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const at = i * shentsize;
    raw.push({ nameOff: table.u32(at), type: table.u32(at + 4), flags: table.u32(at + 8), addr: table.u32(at + 12), offset: table.u32(at + 16), size: table.u32(at + 20) });
  }
  const strtab = raw[shstrndx];
  const names = strtab && strtab.offset + strtab.size <= file.size ? file.read(strtab.offset, strtab.size) : undefined;
  return raw.map((r, i) => ({
    name: (names && cString(names, r.nameOff)) || `section ${i}`,
    type: r.type,
    flags: r.flags,
    addr: r.addr,
    offset: r.offset,
    size: r.size,
  }));
}

function cString(table: Uint8Array, at: number): string {
  if (at >= table.length) return '';
  let end = at;
  while (end < table.length && table[end] !== 0) end++;
  let s = '';
  for (let i = at; i < end; i++) s += String.fromCharCode(table[i] ?? 0x3f);
  return s;
}
