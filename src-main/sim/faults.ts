// Fault injection for a simulated board. A fault is plain data; the board consults the list at the
// points where real hardware fails (a transfer, a write, an erase, the jump to a loader). Every fault
// fires once and is removed, unless added with `persistent: true`.

/** Request names as the DFU layer logs them; standard requests by their USB 2.0 §9.4 names. */
export type SimRequestName =
  | 'DETACH' | 'DNLOAD' | 'UPLOAD' | 'GETSTATUS' | 'CLRSTATUS' | 'GETSTATE' | 'ABORT'
  | 'GET_STATUS' | 'CLEAR_FEATURE' | 'SET_FEATURE' | 'SET_ADDRESS' | 'GET_DESCRIPTOR'
  | 'GET_CONFIGURATION' | 'SET_CONFIGURATION' | 'GET_INTERFACE' | 'SET_INTERFACE' | 'OTHER';

export type SimFault =
  /** The board is unplugged by the DNLOAD whose data reaches byte N (counted over data blocks, from when the fault was added, 0-based). */
  | { kind: 'unplug-at-byte'; byte: number; persistent?: boolean }
  /** The board is unplugged on the Nth control transfer from when the fault was added (1 = the next one). */
  | { kind: 'unplug-at-request'; request: number; persistent?: boolean }
  /** STALL the request (without acting on it). `request` a name, or 'any'. */
  | { kind: 'stall'; request: SimRequestName | 'any'; persistent?: boolean }
  /** The next write (DNLOAD block ≥ 2) or erase finishes in dfuERROR with this DFU status instead of storing. */
  | { kind: 'status'; on: 'write' | 'erase' | 'any'; status: number; persistent?: boolean }
  /** The next write stores one wrong bit: bit `bit` (0–7) of byte `offset` within the block is inverted. */
  | { kind: 'flip-bit'; offset?: number; bit?: number; persistent?: boolean }
  /**
   * The request gets no answer. Through the WebUSB face the call rejects after the transfer timeout
   * (SIM_TRANSFER_TIMEOUT_MS unless the caller passes one) with the `usb` package's own message.
   */
  | { kind: 'hang'; request: SimRequestName | 'any'; persistent?: boolean }
  /** Erases take `factor` times their real time (the reported poll timeout stays the same). */
  | { kind: 'slow-erase'; factor: number; persistent?: boolean }
  /** After a jump to a valid loader image, nothing enumerates (the board is off the bus). */
  | { kind: 'loader-never-appears'; persistent?: boolean }
  /** After a jump to a valid loader, another board appears instead: its loader (default) or its ROM, with another serial. */
  | { kind: 'other-board-instead-of-loader'; serial?: string; as?: 'loader' | 'rom'; persistent?: boolean }
  /** After leave, the board goes before answering the GETSTATUS that would report dfuMANIFEST (AN3156: "or not at all"). */
  | { kind: 'leave-without-status'; persistent?: boolean };

export type SimFaultKind = SimFault['kind'];

export interface SimFaultEntry {
  readonly id: number;
  readonly fault: SimFault;
  /** How many times it fired. */
  fired: number;
  /** Progress counter for counting faults (bytes or requests seen since it was added). */
  seen: number;
}

export class SimFaults {
  private entries: SimFaultEntry[] = [];
  private nextId = 1;
  /** Every firing, in order, for tests and logs. */
  readonly history: { id: number; kind: SimFaultKind }[] = [];

  /** Adds a fault; returns its id (for `remove`). */
  add(fault: SimFault): number {
    const id = this.nextId++;
    this.entries.push({ id, fault, fired: 0, seen: 0 });
    return id;
  }

  list(): readonly SimFaultEntry[] {
    return this.entries;
  }

  remove(id: number): void {
    this.entries = this.entries.filter((e) => e.id !== id);
  }

  /** Removes all faults, or all of one kind. */
  clear(kind?: SimFaultKind): void {
    this.entries = kind ? this.entries.filter((e) => e.fault.kind !== kind) : [];
  }

  /** The first armed fault of a kind that matches; it is consumed (unless persistent). */
  take<K extends SimFaultKind>(kind: K, match: (f: Extract<SimFault, { kind: K }>, e: SimFaultEntry) => boolean = () => true): Extract<SimFault, { kind: K }> | undefined {
    for (const e of this.entries) {
      if (e.fault.kind !== kind) continue;
      const f = e.fault as Extract<SimFault, { kind: K }>;
      if (!match(f, e)) continue;
      this.fire(e);
      return f;
    }
    return undefined;
  }

  /** Armed faults of a kind, not consumed (for counters). */
  peek<K extends SimFaultKind>(kind: K): { entry: SimFaultEntry; fault: Extract<SimFault, { kind: K }> }[] {
    return this.entries.filter((e) => e.fault.kind === kind).map((e) => ({ entry: e, fault: e.fault as Extract<SimFault, { kind: K }> }));
  }

  fire(e: SimFaultEntry): void {
    e.fired++;
    this.history.push({ id: e.id, kind: e.fault.kind });
    if (!e.fault.persistent) this.remove(e.id);
  }
}
