// Minimal ELF32 little-endian files written byte by byte (System V ABI "ELF header", "Program
// header"), for cases a linker will not produce on request: program headers only (no section
// headers), any e_machine, tens of thousands of segments.

export interface RawSegment {
  paddr: number;
  data: Uint8Array;
  /** p_type; PT_LOAD (1) by default. */
  type?: number;
}

/** `sections`: also one allocated section per segment (after the null section 0), unnamed. */
export function writeElf(segments: RawSegment[], options: { machine?: number; entry?: number; sections?: boolean } = {}): Uint8Array {
  const EH = 52;
  const PH = 32;
  const SH = 40;
  const dataStart = EH + PH * segments.length;
  const dataEnd = dataStart + segments.reduce((n, s) => n + s.data.length, 0);
  const shoff = (dataEnd + 3) & ~3;
  const total = options.sections ? shoff + SH * (segments.length + 1) : dataEnd;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, options.machine ?? 40, true); // EM_ARM
  v.setUint32(20, 1, true);
  v.setUint32(24, options.entry ?? 0x0800_0000, true);
  v.setUint32(28, EH, true); // e_phoff
  v.setUint32(32, options.sections ? shoff : 0, true); // e_shoff (0: no section headers)
  v.setUint16(40, EH, true);
  v.setUint16(42, PH, true);
  v.setUint16(44, segments.length, true);
  v.setUint16(46, SH, true);
  if (options.sections) v.setUint16(48, segments.length + 1, true); // e_shnum; e_shstrndx 0: no names
  let at = dataStart;
  segments.forEach((s, i) => {
    const ph = EH + i * PH;
    v.setUint32(ph, s.type ?? 1, true);
    v.setUint32(ph + 4, at, true);
    v.setUint32(ph + 8, s.paddr, true);
    v.setUint32(ph + 12, s.paddr, true);
    v.setUint32(ph + 16, s.data.length, true);
    v.setUint32(ph + 20, s.data.length, true);
    v.setUint32(ph + 24, 5, true);
    v.setUint32(ph + 28, 4, true);
    out.set(s.data, at);
    if (options.sections) {
      const sh = shoff + (i + 1) * SH;
      v.setUint32(sh + 4, 1, true); // SHT_PROGBITS
      v.setUint32(sh + 8, 0x2, true); // SHF_ALLOC
      v.setUint32(sh + 12, s.paddr, true);
      v.setUint32(sh + 16, at, true);
      v.setUint32(sh + 20, s.data.length, true);
    }
    at += s.data.length;
  });
  return out;
}
