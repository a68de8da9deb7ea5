// The USB face of one enumeration of a simulated board: standard requests (USB 2.0 §9.4), the DFU 1.1
// state machine (appendix A) and ST's DfuSe commands (AN3156 §4–§6, UM0424). What the commands do to
// memory is the personality's business (ROM bootloader or loader, see ./board.ts): this class only
// decides when, in which state, and what the host sees.

import type { Clock } from '../util/clock.js';
import type { DescriptorSet } from './descriptors.js';
import { DFU_STATE as DfuState, DFU_STATUS as DfuStatus } from '../dfu/constants.js';
import type { SimFaults, SimRequestName } from './faults.js';
import type { ControlAnswer, SetupPacket, SimEndpoint } from './types.js';

// The protocol's own numbers (DFU 1.1 appendix A), shared with the host side: one table for both ends.
export { DfuState, DfuStatus };

/** A memory operation started by a DNLOAD, finished by the GETSTATUS that comes after its busy time. */
export interface DfuOperation {
  /** bwPollTimeout the device reports (the ROM's figure, right or wrong). */
  reportedMs: number;
  /** How long the silicon really takes. */
  realMs: number;
  /** Applies the effect; returns the DFU status it ends with (OK or an error). */
  commit(): number;
  /** Called instead of commit when the board loses power mid-operation. */
  tear?(): void;
  /**
   * Refused before anything was done (an address or alignment check): its status is known at once.
   * With background writes on, such a block is answered as its own error, never as the previous one's.
   */
  refused?: boolean;
}

/** What a personality (ROM bootloader, loader) does with DfuSe commands. */
export interface DfuPersonality {
  descriptors: DescriptorSet;
  transferSize: number;
  /** UPLOAD block 0: the command list. */
  commands: Uint8Array;
  /** State at enumeration: the F4 ROM starts in dfuERROR / errFIRMWARE (device-logs/stm32f4discovery.bin-download). */
  initial: { state: number; status: number };
  /** Address pointer before any 0x21 (AN2662 §4.4.1: the start of internal flash). */
  initialPointer: number;
  setAddress(address: number, alt: number): DfuOperation;
  erase(address: number | undefined, alt: number): DfuOperation;
  write(address: number, data: Uint8Array, alt: number): DfuOperation;
  /** Bytes, or a DFU status when the range cannot be read. */
  read(address: number, length: number, alt: number): Uint8Array | number;
  /** 0x92 read unprotect (ROM only): mass erase, then a system reset (AN3156 §6.3.4). */
  readUnprotect?(): DfuOperation;
  /** Other block-0 commands listed in `commands` (0xB0 CRC32 on the loader). */
  command?(payload: Uint8Array, alt: number): DfuOperation;
  /**
   * Implements the background-write extension (command 0xB1, docs/loader-protocol.md §8): once the host
   * enables it, a data block is accepted into a second buffer and programmed while the next one is on
   * the wire.
   */
  backgroundWrites?: boolean;
  /** UPLOAD block 1 (loader: the last CRC32 result); undefined = not supported. */
  uploadBlock1?(): Uint8Array | undefined;
  /** The device answered dfuMANIFEST for a leave (or goes without answering): run what is at `pointer`. */
  leave(pointer: number, immediately: boolean): void;
  /** DETACH: WillDetach is set, so the device re-enumerates by itself (DFU 1.1 §5.1). */
  detach(): void;
}

export interface DfuHost {
  clock: Clock;
  faults: SimFaults;
  /** Power lost mid-transfer (fault): the board leaves the bus. */
  unplug(): void;
  /** Runs `fn` after `ms` unless the board loses power first. */
  background(ms: number, fn: () => void): void;
}

const STANDARD_NAMES: Record<number, SimRequestName> = {
  0: 'GET_STATUS', 1: 'CLEAR_FEATURE', 3: 'SET_FEATURE', 5: 'SET_ADDRESS', 6: 'GET_DESCRIPTOR',
  8: 'GET_CONFIGURATION', 9: 'SET_CONFIGURATION', 10: 'GET_INTERFACE', 11: 'SET_INTERFACE',
};
const DFU_NAMES: Record<number, SimRequestName> = {
  0: 'DETACH', 1: 'DNLOAD', 2: 'UPLOAD', 3: 'GETSTATUS', 4: 'CLRSTATUS', 5: 'GETSTATE', 6: 'ABORT',
};

function requestName(setup: SetupPacket): SimRequestName {
  const type = (setup.bmRequestType >> 5) & 3;
  if (type === 0) return STANDARD_NAMES[setup.bRequest] ?? 'OTHER';
  if (type === 1) return DFU_NAMES[setup.bRequest] ?? 'OTHER';
  return 'OTHER';
}

/** Requests that end a download, and with it background writes (loader protocol §8). */
const ENDS_OVERLAP: ReadonlySet<SimRequestName> = new Set<SimRequestName>(['UPLOAD', 'ABORT', 'CLRSTATUS', 'DETACH', 'SET_INTERFACE']);

const STALL: ControlAnswer = { status: 'stall' };
const GONE: ControlAnswer = { status: 'disconnected' };

export class SimDfuseEndpoint implements SimEndpoint {
  state: number;
  status: number;
  alt = 0;
  configuration = 0;
  pointer: number;
  private pending: { block: number; data: Uint8Array } | undefined;
  private op: { op: DfuOperation; until: number; result: number | undefined } | undefined;
  private gone = false;
  private goneWaiters: (() => void)[] = [];
  private lastPoll = 0;
  /**
   * Background writes enabled by command 0xB1 (loader protocol §8), for the download that follows:
   * UPLOAD, ABORT, CLRSTATUS, DETACH or SET_INTERFACE turn them off again (as in firmware/loader), so a
   * host that never sent 0xB1 always meets protocol v1.
   */
  private overlap = false;
  /** The data block programming in the background (its result held until a GETSTATUS reports it). */
  private bg: { op: DfuOperation; until: number; result: number | undefined } | undefined;
  /** A DNLOAD whose GETSTATUS came while `bg` was programming: it starts when `bg` ends. */
  private queued: { block: number; data: Uint8Array } | undefined;
  /** dfuDNBUSY entered by a GETSTATUS in dfuDNLOAD-IDLE (a drain): busy until `bg` ends. */
  private draining = false;

  constructor(
    private readonly personality: DfuPersonality,
    private readonly host: DfuHost,
  ) {
    this.state = personality.initial.state;
    this.status = personality.initial.status;
    this.pointer = personality.initialPointer;
  }

  /** The device left the bus: pending requests answer "disconnected"; an unfinished operation is torn. */
  disconnect(): void {
    if (this.gone) return;
    this.settle();
    if (this.op && this.op.result === undefined) this.op.op.tear?.();
    if (this.bg && this.bg.result === undefined) this.bg.op.tear?.();
    this.op = undefined;
    this.bg = undefined;
    this.queued = undefined;
    this.gone = true;
    for (const w of this.goneWaiters.splice(0)) w();
  }

  get connected(): boolean {
    return !this.gone;
  }

  /** Completes an operation whose busy time has passed (its effect is visible even before the host polls). */
  settle(): void {
    this.settleBackground();
    if (this.op && this.op.result === undefined && this.host.clock.now() >= this.op.until) {
      this.op.result = this.op.op.commit();
    }
  }

  /**
   * The background write ends at its time; a queued DNLOAD starts at that moment, from the loader's
   * main loop (loader protocol §8), not at the host's next GETSTATUS. A failed write drops what was queued.
   */
  private settleBackground(): void {
    const now = this.host.clock.now();
    while (this.bg && this.bg.result === undefined && now >= this.bg.until) {
      const bg = this.bg;
      bg.result = bg.op.commit();
      const q = this.queued;
      if (!q) break;
      this.queued = undefined;
      if (bg.result !== DfuStatus.OK) break;
      this.bg = undefined;
      this.start(q, bg.until);
    }
  }

  /** Starts a DNLOAD at time `at`: a data block in the background when enabled, anything else as the operation. */
  private start(pending: { block: number; data: Uint8Array }, at: number): void {
    this.pending = pending;
    const op = this.execute();
    if (this.overlap && pending.block >= 2 && !op.refused) this.bg = { op, until: at + op.realMs, result: undefined };
    else {
      this.op = { op, until: at + op.realMs, result: undefined };
      this.lastPoll = op.reportedMs;
    }
  }

  async control(setup: SetupPacket, data?: Uint8Array): Promise<ControlAnswer> {
    if (this.gone) return GONE;
    const name = requestName(setup);
    const faults = this.host.faults;

    for (const { entry, fault } of faults.peek('unplug-at-request')) {
      entry.seen++;
      if (entry.seen >= fault.request) {
        faults.fire(entry);
        this.host.unplug();
        return GONE;
      }
    }
    if (name === 'DNLOAD' && setup.wValue >= 2 && data && data.length > 0) {
      for (const { entry, fault } of faults.peek('unplug-at-byte')) {
        if (entry.seen + data.length > fault.byte) {
          faults.fire(entry);
          this.host.unplug();
          return GONE;
        }
        entry.seen += data.length;
      }
    }
    if (faults.take('hang', (f) => f.request === name || f.request === 'any')) {
      return new Promise<ControlAnswer>((resolve) => this.goneWaiters.push(() => resolve(GONE)));
    }
    if (faults.take('stall', (f) => f.request === name || f.request === 'any')) return STALL;

    this.settle();
    // While a background write runs or its outcome is unreported, only DNLOAD with data (the next
    // block), GETSTATUS and GETSTATE are served (firmware/loader/core/dfu.c does the same); anything else STALLs and leaves the state as it is (loader protocol §8).
    if (this.bg && name !== 'GETSTATUS' && name !== 'GETSTATE' && !(name === 'DNLOAD' && data !== undefined && data.length > 0)) return STALL;
    if (ENDS_OVERLAP.has(name)) this.overlap = false;
    const type = (setup.bmRequestType >> 5) & 3;
    if (type === 0) return this.standard(setup, data);
    if (type === 1 && (setup.bmRequestType & 0x1f) === 1 && setup.wIndex === 0) return this.dfu(name, setup, data);
    return STALL;
  }

  // ---- USB 2.0 §9.4 standard requests --------------------------------------------------------
  private standard(setup: SetupPacket, _data?: Uint8Array): ControlAnswer {
    const d = this.personality.descriptors;
    const dirIn = (setup.bmRequestType & 0x80) !== 0;
    const recipient = setup.bmRequestType & 0x1f;
    const answer = (bytes: Uint8Array): ControlAnswer => ({ status: 'ok', data: bytes.subarray(0, Math.min(bytes.length, setup.wLength)) });
    switch (setup.bRequest) {
      case 6: {
        if (!dirIn) return STALL;
        const type = setup.wValue >> 8;
        const index = setup.wValue & 0xff;
        if (type === 1 && recipient === 0) return answer(d.device);
        if (type === 2 && recipient === 0 && index === 0) return answer(d.configuration);
        if (type === 3 && recipient === 0) {
          const s = d.strings[index];
          return s ? answer(s) : STALL;
        }
        // DFU functional descriptor asked directly (DFU 1.1 §6.2; ST's device library answers it).
        if (type === 0x21 && recipient === 1) return answer(d.functional);
        return STALL; // device qualifier and the rest: a full-speed-only USB 1.0 device has none
      }
      case 0:
        if (!dirIn) return STALL;
        if (recipient === 0) return answer(new Uint8Array([0x01, 0x00])); // self powered (bmAttributes 0xc0; lsusb "Device Status: 0x0001")
        if (recipient === 1 && setup.wIndex === 0) return answer(new Uint8Array([0, 0]));
        if (recipient === 2 && (setup.wIndex & 0x7f) === 0) return answer(new Uint8Array([0, 0]));
        return STALL;
      case 8:
        return dirIn ? answer(new Uint8Array([this.configuration])) : STALL;
      case 9:
        if (dirIn || setup.wValue > 1) return STALL;
        this.configuration = setup.wValue;
        this.alt = 0;
        return { status: 'ok', bytesWritten: 0 };
      case 10:
        if (!dirIn || setup.wIndex !== 0 || this.configuration === 0) return STALL;
        return answer(new Uint8Array([this.alt]));
      case 11: {
        if (dirIn || setup.wIndex !== 0 || setup.wValue >= this.personality.descriptors.altCount) return STALL;
        this.alt = setup.wValue;
        return { status: 'ok', bytesWritten: 0 };
      }
      case 5: // SET_ADDRESS: the host controller's business; accepted
      case 1: // CLEAR_FEATURE (endpoint halt on EP0 is a no-op)
        return dirIn ? STALL : { status: 'ok', bytesWritten: 0 };
      default:
        return STALL; // SET_FEATURE (no remote wake-up, no test modes on a full-speed ROM), SET_DESCRIPTOR…
    }
  }

  // ---- DFU 1.1 + DfuSe -----------------------------------------------------------------------
  /** A request not valid in this state: STALL, and dfuERROR / errSTALLEDPKT (DFU 1.1 §6.1.2, appendix A). */
  private wrongState(): ControlAnswer {
    this.state = DfuState.dfuERROR;
    this.status = DfuStatus.errSTALLEDPKT;
    this.pending = undefined;
    return STALL;
  }

  private dfu(name: SimRequestName, setup: SetupPacket, data?: Uint8Array): ControlAnswer {
    const dirIn = (setup.bmRequestType & 0x80) !== 0;
    const p = this.personality;
    switch (name) {
      case 'DNLOAD': {
        if (dirIn) return STALL;
        if (this.state !== DfuState.dfuIDLE && this.state !== DfuState.dfuDNLOAD_IDLE) return this.wrongState();
        const bytes = data ?? new Uint8Array(0);
        if (bytes.length > p.transferSize) return this.wrongState();
        if (bytes.length === 0) {
          // Leave (AN3156 §6.3.5): zero-length DNLOAD → dfuMANIFEST-SYNC. ST's device library accepts it
          // from dfuIDLE as well as dfuDNLOAD-IDLE.
          this.state = DfuState.dfuMANIFEST_SYNC;
          return { status: 'ok', bytesWritten: 0 };
        }
        if (setup.wValue === 1) return this.wrongState(); // block 1 is not defined by DfuSe for downloads
        if (setup.wValue === 0 && !this.knownCommand(bytes)) return this.wrongState();
        this.pending = { block: setup.wValue, data: bytes.slice() };
        this.state = DfuState.dfuDNLOAD_SYNC;
        return { status: 'ok', bytesWritten: bytes.length };
      }
      case 'UPLOAD': {
        if (!dirIn) return STALL;
        if (this.state !== DfuState.dfuIDLE && this.state !== DfuState.dfuUPLOAD_IDLE) return this.wrongState();
        if (setup.wLength > p.transferSize) return this.wrongState();
        if (setup.wValue === 0) {
          this.state = DfuState.dfuUPLOAD_IDLE;
          return { status: 'ok', data: p.commands.subarray(0, Math.min(p.commands.length, setup.wLength)) };
        }
        if (setup.wValue === 1) {
          const r = p.uploadBlock1?.();
          if (!r) return this.wrongState();
          this.state = DfuState.dfuUPLOAD_IDLE;
          return { status: 'ok', data: r.subarray(0, Math.min(r.length, setup.wLength)) };
        }
        const address = (this.pointer + (setup.wValue - 2) * p.transferSize) >>> 0;
        const r = p.read(address, setup.wLength, this.alt);
        if (typeof r === 'number') {
          // AN3156 §6.2.2: a read outside the readable memories ends in dfuERROR (errTARGET) and is stalled.
          this.state = DfuState.dfuERROR;
          this.status = r;
          return STALL;
        }
        // DFU 1.1 §6.2: a short frame ends the upload.
        this.state = r.length < setup.wLength ? DfuState.dfuIDLE : DfuState.dfuUPLOAD_IDLE;
        return { status: 'ok', data: r };
      }
      case 'GETSTATUS':
        if (!dirIn) return STALL;
        return this.getStatus(setup.wLength);
      case 'CLRSTATUS':
        if (dirIn) return STALL;
        if (this.state === DfuState.dfuERROR) {
          this.state = DfuState.dfuIDLE;
          this.status = DfuStatus.OK;
        } else {
          // ST ROMs do not STALL a CLRSTATUS outside dfuERROR: they go to dfuERROR / errUNKNOWN, and a
          // second CLRSTATUS clears it (H743 recovery, betaflight-configurator #1861, reference/timing.md).
          this.abandonOp();
          this.state = DfuState.dfuERROR;
          this.status = DfuStatus.errUNKNOWN;
        }
        return { status: 'ok', bytesWritten: 0 };
      case 'GETSTATE':
        if (!dirIn) return STALL;
        return { status: 'ok', data: new Uint8Array([this.state]).subarray(0, Math.min(1, setup.wLength)) };
      case 'ABORT':
        if (dirIn) return STALL;
        if (
          this.state === DfuState.dfuIDLE ||
          this.state === DfuState.dfuDNLOAD_SYNC ||
          this.state === DfuState.dfuDNLOAD_IDLE ||
          this.state === DfuState.dfuMANIFEST_SYNC ||
          this.state === DfuState.dfuUPLOAD_IDLE
        ) {
          this.pending = undefined;
          this.state = DfuState.dfuIDLE;
          this.status = DfuStatus.OK;
          return { status: 'ok', bytesWritten: 0 };
        }
        return this.wrongState();
      case 'DETACH':
        if (dirIn) return STALL;
        this.state = DfuState.dfuIDLE;
        p.detach();
        return { status: 'ok', bytesWritten: 0 };
      default:
        return STALL;
    }
  }

  private knownCommand(bytes: Uint8Array): boolean {
    const cmd = bytes[0]!;
    if (cmd === 0x00 || !this.personality.commands.includes(cmd)) return false;
    if (cmd === 0x21) return bytes.length === 5;
    if (cmd === 0x41) return bytes.length === 1 || bytes.length === 5;
    if (cmd === 0x92) return bytes.length === 1 && this.personality.readUnprotect !== undefined;
    if (cmd === 0xb1) return bytes.length === 1 && this.personality.backgroundWrites === true;
    return this.personality.command !== undefined;
  }

  /** The host gave up on an operation; the flash controller does not: it completes in the background. */
  private abandonOp(): void {
    this.settle();
    const cur = this.op;
    if (cur && cur.result === undefined) this.host.background(cur.until - this.host.clock.now(), () => cur.op.commit());
    this.op = undefined;
    this.pending = undefined;
  }

  private statusBytes(poll: number, wLength: number): ControlAnswer {
    const ms = Math.max(0, Math.min(0xffffff, Math.ceil(poll)));
    const bytes = new Uint8Array([this.status, ms & 0xff, (ms >> 8) & 0xff, (ms >> 16) & 0xff, this.state, 0]);
    return { status: 'ok', data: bytes.subarray(0, Math.min(6, wLength)) };
  }

  private getStatus(wLength: number): ControlAnswer {
    const now = this.host.clock.now();
    if (this.overlap && (this.state === DfuState.dfuDNLOAD_SYNC || this.state === DfuState.dfuDNBUSY || this.state === DfuState.dfuDNLOAD_IDLE)) {
      const answer = this.overlapStatus(now, wLength);
      if (answer) return answer;
    }
    switch (this.state) {
      case DfuState.dfuDNLOAD_SYNC: {
        // AN3156 §6.3: the command is executed by this GETSTATUS, which answers dfuDNBUSY with the
        // poll timeout; the next GETSTATUS gives the outcome (dfuDNLOAD-IDLE, or dfuERROR + status).
        const op = this.execute();
        this.op = { op, until: now + op.realMs, result: undefined };
        this.state = DfuState.dfuDNBUSY;
        this.lastPoll = op.reportedMs;
        return this.statusBytes(op.reportedMs, wLength);
      }
      case DfuState.dfuDNBUSY: {
        this.settle();
        const cur = this.op;
        if (cur && cur.result === undefined) {
          // Still busy: the ROM answers dfuDNBUSY again with the same (too short) timeout (F745 erase, timing.md).
          return this.statusBytes(this.lastPoll, wLength);
        }
        const result = cur?.result ?? DfuStatus.OK;
        this.op = undefined;
        if (result === DfuStatus.OK) {
          this.state = DfuState.dfuDNLOAD_IDLE;
        } else {
          this.state = DfuState.dfuERROR;
          this.status = result;
        }
        return this.statusBytes(0, wLength);
      }
      case DfuState.dfuMANIFEST_SYNC: {
        this.state = DfuState.dfuMANIFEST;
        const pointer = this.pointer;
        if (this.host.faults.take('leave-without-status')) {
          this.personality.leave(pointer, true);
          return GONE;
        }
        this.personality.leave(pointer, false);
        return this.statusBytes(0, wLength);
      }
      default:
        return this.statusBytes(0, wLength);
    }
  }

  /** Time the background write still needs, as bwPollTimeout: whole ms, never 0 while busy. */
  private bgRemaining(now: number): number {
    return Math.max(1, Math.ceil(this.bg!.until - now));
  }

  /**
   * GETSTATUS with background writes on (loader protocol §8). A failed background write is reported at
   * the first GETSTATUS after it ended, whatever that GETSTATUS follows; a data block is accepted at once
   * when no write runs, queued (dfuDNBUSY) while one does; a GETSTATUS in dfuDNLOAD-IDLE drains (busy
   * until the last write ended). Undefined: the ordinary DfuSe answer applies (commands).
   */
  private overlapStatus(now: number, wLength: number): ControlAnswer | undefined {
    const bg = this.bg;
    if (bg && bg.result !== undefined) {
      this.bg = undefined;
      if (bg.result !== DfuStatus.OK) {
        this.pending = undefined;
        this.queued = undefined;
        this.draining = false;
        this.state = DfuState.dfuERROR;
        this.status = bg.result;
        return this.statusBytes(0, wLength);
      }
    }
    const running = this.bg !== undefined;
    if (this.state === DfuState.dfuDNLOAD_SYNC) {
      const pending = this.pending!;
      if (running) {
        this.queued = pending;
        this.pending = undefined;
        this.state = DfuState.dfuDNBUSY;
        return this.statusBytes(this.bgRemaining(now), wLength);
      }
      if (pending.block < 2) return undefined;
      this.start(pending, now);
      this.state = this.bg ? DfuState.dfuDNLOAD_IDLE : DfuState.dfuDNBUSY; // refused at once: its own error next
      return this.statusBytes(this.bg ? 0 : this.lastPoll, wLength);
    }
    if (this.state === DfuState.dfuDNBUSY) {
      if (this.op) return undefined; // a command (or a refused block) started after the write
      if (this.queued || (this.draining && running)) return this.statusBytes(this.bgRemaining(now), wLength);
      this.draining = false;
      this.state = DfuState.dfuDNLOAD_IDLE;
      return this.statusBytes(0, wLength);
    }
    // dfuDNLOAD-IDLE
    if (!running) return undefined;
    this.draining = true;
    this.state = DfuState.dfuDNBUSY;
    return this.statusBytes(this.bgRemaining(now), wLength);
  }

  private execute(): DfuOperation {
    const p = this.personality;
    const pending = this.pending!;
    this.pending = undefined;
    const { block, data } = pending;
    if (block >= 2) {
      const address = (this.pointer + (block - 2) * p.transferSize) >>> 0;
      return p.write(address, data, this.alt);
    }
    const cmd = data[0]!;
    const addr = data.length >= 5 ? (data[1]! | (data[2]! << 8) | (data[3]! << 16) | (data[4]! << 24)) >>> 0 : undefined;
    if (cmd === 0x21 && addr !== undefined) {
      const op = p.setAddress(addr, this.alt);
      return {
        ...op,
        commit: () => {
          const st = op.commit();
          if (st === DfuStatus.OK) this.pointer = addr;
          return st;
        },
      };
    }
    if (cmd === 0x41) return p.erase(addr, this.alt);
    if (cmd === 0x92) return p.readUnprotect!();
    if (cmd === 0xb1) {
      return { reportedMs: 0, realMs: 0, commit: () => ((this.overlap = true), DfuStatus.OK) };
    }
    return p.command!(data, this.alt);
  }
}
