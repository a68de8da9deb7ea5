// One memory of a simulated chip: its address range, its erase geometry and the rule its cells obey
// when programmed. Bytes are kept in sparse 4 KB chunks so a 16 MB QSPI NOR costs nothing until it
// is written; an absent chunk reads as the memory's blank value (0xFF for flash).

export type SimProgramRule =
  /** F4/F7 flash, QSPI NOR, OTP: programming can only clear bits (RM0090 §3.5.4, N25Q128A datasheet). */
  | 'clear-bits'
  /** L4/G4/H7 flash: a unit that is not erased cannot be programmed (PROGERR, RM0351 §3.3.7, RM0440 §3.3.8),
   *  except with all zeros. */
  | 'erased-only'
  /** SRAM, option bytes, device feature: plain stores. */
  | 'store'
  /** UID and flash-size words: factory content, never written. */
  | 'readonly';

export type MemoryKind = 'flash' | 'ram' | 'option-bytes' | 'otp' | 'feature' | 'qspi' | 'system';

export interface MemorySpec {
  /** Stable key: used for SimState and the --sim-state files ("flash", "option-bytes", "otp", "qspi", "ram"). */
  name: string;
  kind: MemoryKind;
  start: number;
  size: number;
  /** Erase units, in address order, covering the memory; empty when the memory cannot be erased. */
  sectors: readonly { start: number; size: number }[];
  rule: SimProgramRule;
  /** Programming granularity in bytes (flash word: 4 on F4/F7, 8 on L4/G4, 32 on H7; 256-byte page on QSPI). */
  unitBytes: number;
  /** Value of a blank cell. */
  blank: number;
  /** Non-volatile: kept across power cycles and in SimState. */
  persistent: boolean;
  /** Initial content (option bytes' factory values); blank elsewhere. */
  initial?: Uint8Array;
}

const CHUNK = 4096;

export class SimMemory {
  readonly spec: MemorySpec;
  private chunks = new Map<number, Uint8Array>();
  /**
   * Told every change of content (byte offset from the start, the bytes now there): --sim-state writes
   * them through to its files at once, so a killed run leaves them as a real chip would be left.
   */
  onChange?: (offset: number, bytes: Uint8Array) => void;

  constructor(spec: MemorySpec) {
    this.spec = spec;
    if (spec.initial) this.writeRaw(spec.start, spec.initial);
  }

  get name(): string {
    return this.spec.name;
  }
  get start(): number {
    return this.spec.start;
  }
  get end(): number {
    return this.spec.start + this.spec.size;
  }

  contains(address: number, length = 1): boolean {
    return address >= this.spec.start && address + length <= this.end && length >= 0;
  }

  read(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.eachChunk(address, length, (idx, within, n, done) => {
      const chunk = this.chunks.get(idx);
      if (chunk) out.set(chunk.subarray(within, within + n), done);
      else out.fill(this.spec.blank, done, done + n);
    });
    return out;
  }

  /** Stores bytes as they are, with no programming rule (loading state, SRAM, option bytes). */
  writeRaw(address: number, data: Uint8Array): void {
    this.eachChunk(address, data.length, (idx, within, n, done) => {
      let chunk = this.chunks.get(idx);
      if (!chunk) {
        chunk = new Uint8Array(CHUNK).fill(this.spec.blank);
        this.chunks.set(idx, chunk);
      }
      chunk.set(data.subarray(done, done + n), within);
    });
    this.onChange?.(address - this.spec.start, data);
  }

  /** Sets a range to the blank value, dropping whole chunks where it can. */
  blankRange(address: number, length: number): void {
    this.eachChunk(address, length, (idx, within, n) => {
      if (within === 0 && n === CHUNK) this.chunks.delete(idx);
      else this.chunks.get(idx)?.fill(this.spec.blank, within, within + n);
    });
    if (this.onChange) for (let off = 0; off < length; off += 1 << 20) this.onChange(address - this.spec.start + off, new Uint8Array(Math.min(1 << 20, length - off)).fill(this.spec.blank));
  }

  /** Walks [address, address+length) chunk by chunk: the chunk's index, the offset in it, how many bytes, how many came before. */
  private eachChunk(address: number, length: number, visit: (idx: number, within: number, n: number, done: number) => void): void {
    let done = 0;
    while (done < length) {
      const off = address - this.spec.start + done;
      const within = off % CHUNK;
      const n = Math.min(CHUNK - within, length - done);
      visit(Math.floor(off / CHUNK), within, n, done);
      done += n;
    }
  }

  /** The erase unit holding `address`, or undefined when the memory has none there. */
  sectorAt(address: number): { start: number; size: number } | undefined {
    return this.spec.sectors.find((s) => address >= s.start && address < s.start + s.size);
  }

  /**
   * Programs `data` at `address` by the memory's rule. Returns false (nothing stored past the first
   * refused unit) when an 'erased-only' unit is not blank and the data is not all zeros.
   */
  program(address: number, data: Uint8Array): boolean {
    const rule = this.spec.rule;
    if (rule === 'readonly') return false;
    if (rule === 'store') {
      this.writeRaw(address, data);
      return true;
    }
    const old = this.read(address, data.length);
    if (rule === 'clear-bits') {
      const next = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) next[i] = old[i]! & data[i]!;
      this.writeRaw(address, next);
      return true;
    }
    // 'erased-only': check unit by unit, aligned to the memory's programming unit.
    const unit = this.spec.unitBytes;
    const first = address - ((address - this.spec.start) % unit);
    for (let u = first; u < address + data.length; u += unit) {
      const lo = Math.max(u, address);
      const hi = Math.min(u + unit, address + data.length);
      const cur = this.read(u, unit);
      const blank = cur.every((b) => b === this.spec.blank);
      const chunk = data.subarray(lo - address, hi - address);
      const zeros = chunk.every((b) => b === 0);
      if (!blank && !zeros) return false;
      this.writeRaw(lo, chunk);
    }
    return true;
  }

  /** Full content, for SimState. */
  snapshot(): Uint8Array {
    return this.read(this.spec.start, this.spec.size);
  }

  /** Replaces the whole content (SimState load). Shorter input leaves the rest blank. */
  restore(bytes: Uint8Array): void {
    this.chunks.clear();
    const n = Math.min(bytes.length, this.spec.size);
    for (let off = 0; off < n; off += CHUNK) {
      const piece = bytes.subarray(off, Math.min(off + CHUNK, n));
      if (piece.some((b) => b !== this.spec.blank)) this.writeRaw(this.spec.start + off, piece);
    }
  }

  /** Back to factory content (power-on for RAM). */
  clear(): void {
    this.chunks.clear();
    if (this.spec.initial) this.writeRaw(this.spec.start, this.spec.initial);
  }
}
