// DFU 1.1 class requests on a claimed interface (DFU 1.1 §6), plus the two loops every operation
// needs: waiting out dfuDNBUSY by exactly the bwPollTimeout the device reports, and getting back to
// dfuIDLE from whatever state a previous run (or the ROM at power-up) left behind.

import { BootBridgeError, type ErrorContext } from '../../shared/errors.js';
import type { Clock } from '../util/clock.js';
import { controlIn, controlOut, isDisconnectError, type TransferCounter } from '../usb/transfer.js';
import { DFU_REQUEST, DFU_STATE, DFU_STATUS, stateName, statusMeaning, statusName, type DfuRequestName } from './constants.js';
import { quirksFor, type DeviceQuirks, type DfuRequestKind } from './quirks.js';

/** GETSTATUS answer (DFU 1.1 §6.1.2): bStatus, bwPollTimeout (24-bit LE), bState, iString. */
export interface DfuStatusReport {
  status: number;
  statusName: string;
  pollTimeoutMs: number;
  state: number;
  stateName: string;
  iString: number;
}

export interface DfuInterfaceOptions {
  clock: Clock;
  interfaceNumber?: number;
  /** Alt setting currently selected; only used to name it in errors. */
  alt?: number;
  counter?: TransferCounter;
  quirks?: DeviceQuirks;
}

/** Context for errors raised while serving one operation. */
export interface OpContext {
  address?: number;
  phase?: string;
}

export function parseStatus(b: Uint8Array): DfuStatusReport {
  if (b.length < 6) {
    throw new BootBridgeError('DFU_PROTOCOL', `GETSTATUS returned ${b.length} bytes, expected 6`, { request: 'GETSTATUS', length: b.length });
  }
  const status = b[0]!;
  const state = b[4]!;
  return {
    status,
    statusName: statusName(status),
    pollTimeoutMs: b[1]! | (b[2]! << 8) | (b[3]! << 16),
    state,
    stateName: stateName(state),
    iString: b[5]!,
  };
}

/** The DFU_STATUS error for a GETSTATUS answer reporting a failure. */
export function statusError(r: DfuStatusReport, context: ErrorContext): BootBridgeError {
  return new BootBridgeError('DFU_STATUS', `${r.statusName}: ${statusMeaning(r.status)}`, {
    ...context,
    status: r.status,
    statusName: r.statusName,
    state: r.state,
    stateName: r.stateName,
  });
}

export class DfuInterface {
  readonly interfaceNumber: number;
  alt: number;
  readonly clock: Clock;
  readonly counter: TransferCounter | undefined;
  readonly quirks: DeviceQuirks;
  /** State from the last GETSTATUS/GETSTATE, or inferred after UPLOAD; undefined when unknown. */
  lastState: number | undefined;

  constructor(
    readonly device: USBDevice,
    options: DfuInterfaceOptions,
  ) {
    this.interfaceNumber = options.interfaceNumber ?? 0;
    this.alt = options.alt ?? 0;
    this.clock = options.clock;
    this.counter = options.counter;
    this.quirks = options.quirks ?? quirksFor(undefined);
  }

  private setup(request: DfuRequestName, value: number) {
    return { requestType: 'class' as const, recipient: 'interface' as const, request: DFU_REQUEST[request], value, index: this.interfaceNumber };
  }

  private ctx(op: OpContext = {}): ErrorContext {
    const c: ErrorContext = { alt: this.alt };
    if (op.address !== undefined) c.address = op.address;
    if (op.phase !== undefined) c.phase = op.phase;
    if (this.lastState !== undefined) {
      c.state = this.lastState;
      c.stateName = stateName(this.lastState);
    }
    return c;
  }

  /** Wraps a transfer so a STALL says which request in which state; a STALL moves the device to dfuERROR (DFU 1.1 §6.1.2). */
  private async guard<T>(op: OpContext, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (e instanceof BootBridgeError && e.code === 'USB_STALL') {
        const context = this.ctx(op);
        if (e.context.request !== undefined) context.request = e.context.request;
        this.lastState = DFU_STATE.dfuERROR;
        throw new BootBridgeError('USB_STALL', `${e.context.request} refused (STALL) in state ${context.stateName ?? 'unknown'}`, context, { cause: e });
      }
      if (e instanceof BootBridgeError) {
        throw new BootBridgeError(e.code, e.message, { ...this.ctx(op), ...e.context }, { cause: e.cause });
      }
      throw e;
    }
  }

  async detach(timeoutMs: number, op: OpContext = {}): Promise<void> {
    await this.guard(op, () => controlOut(this.device, this.setup('DETACH', timeoutMs & 0xffff), undefined, 'DETACH', this.counter));
  }

  /** DNLOAD; returns the bytes accepted. The device is in dfuDNLOAD-SYNC afterwards. */
  async dnload(blockNum: number, data: Uint8Array | undefined, op: OpContext = {}): Promise<number> {
    const n = await this.guard(op, () => controlOut(this.device, this.setup('DNLOAD', blockNum), data, 'DNLOAD', this.counter));
    this.lastState = data && data.length > 0 ? DFU_STATE.dfuDNLOAD_SYNC : DFU_STATE.dfuMANIFEST_SYNC;
    return n;
  }

  /** UPLOAD; a frame shorter than `length` ends the upload (DFU 1.1 §6.2). */
  async upload(blockNum: number, length: number, op: OpContext = {}): Promise<Uint8Array> {
    const data = await this.guard(op, () => controlIn(this.device, this.setup('UPLOAD', blockNum), length, 'UPLOAD', this.counter));
    this.lastState = data.length < length ? DFU_STATE.dfuIDLE : DFU_STATE.dfuUPLOAD_IDLE;
    return data;
  }

  async getStatus(op: OpContext = {}): Promise<DfuStatusReport> {
    const b = await this.guard(op, () => controlIn(this.device, this.setup('GETSTATUS', 0), 6, 'GETSTATUS', this.counter));
    const r = parseStatus(b);
    this.lastState = r.state;
    return r;
  }

  async clrStatus(op: OpContext = {}): Promise<void> {
    await this.guard(op, () => controlOut(this.device, this.setup('CLRSTATUS', 0), undefined, 'CLRSTATUS', this.counter));
    this.lastState = DFU_STATE.dfuIDLE;
  }

  async getState(op: OpContext = {}): Promise<number> {
    const b = await this.guard(op, () => controlIn(this.device, this.setup('GETSTATE', 0), 1, 'GETSTATE', this.counter));
    if (b.length < 1) throw new BootBridgeError('DFU_PROTOCOL', 'GETSTATE returned no data', { ...this.ctx(op), request: 'GETSTATE' });
    this.lastState = b[0]!;
    return b[0]!;
  }

  async abort(op: OpContext = {}): Promise<void> {
    await this.guard(op, () => controlOut(this.device, this.setup('ABORT', 0), undefined, 'ABORT', this.counter));
    this.lastState = DFU_STATE.dfuIDLE;
  }

  /**
   * After a DNLOAD: GETSTATUS, and while the device answers dfuDNBUSY wait the bwPollTimeout it
   * reported (DFU 1.1 §6.1.2: the minimum time before the next GETSTATUS) and ask again. Returns the
   * first non-busy answer; an error status becomes DFU_STATUS; busy past the operation's limit,
   * DFU_TIMEOUT. A device that answers dfuDNLOAD-IDLE at once costs one GETSTATUS. `atLeastMs`
   * raises the busy limit for an operation known to take longer.
   */
  async waitWhileBusy(kind: DfuRequestKind, op: OpContext = {}, atLeastMs = 0): Promise<DfuStatusReport> {
    const start = this.clock.now();
    // `atLeastMs`: an operation known to take longer than the default limit (a QSPI bulk erase, 170 s typical).
    const limit = Math.max(this.quirks.busyLimitMs(kind), atLeastMs);
    let first = true;
    let lastPoll = 0;
    for (;;) {
      let r: DfuStatusReport;
      try {
        r = await this.getStatus(op);
      } catch (e) {
        // L43x: GETSTATUS may STALL while the flash is busy; dfu-util reuses the last poll timeout.
        const retry = this.quirks.retryStalledStatus && e instanceof BootBridgeError && e.code === 'USB_STALL';
        if (!retry || this.clock.now() - start > limit) throw e;
        await this.clock.sleep(Math.max(lastPoll, 1));
        continue;
      }
      if (r.status !== DFU_STATUS.OK || r.state === DFU_STATE.dfuERROR) throw statusError(r, this.ctx(op));
      if (r.state !== DFU_STATE.dfuDNBUSY && r.state !== DFU_STATE.dfuDNLOAD_SYNC) return r;
      const waitMs = this.quirks.pollMs(kind, r.pollTimeoutMs, first);
      first = false;
      lastPoll = waitMs;
      if (this.clock.now() + waitMs - start > limit) {
        throw new BootBridgeError('DFU_TIMEOUT', `Device still busy after ${Math.round(this.clock.now() - start)} ms (limit ${limit} ms for ${kind})`, {
          ...this.ctx(op),
          request: 'GETSTATUS',
        });
      }
      await this.clock.sleep(waitMs);
    }
  }

  /**
   * Back to dfuIDLE from any DFU-mode state: dfuERROR → CLRSTATUS (the F4 ROM starts there with
   * errFIRMWARE; the H743 may answer errUNKNOWN once more, so this loops), dfuDNLOAD-IDLE /
   * dfuUPLOAD-IDLE → ABORT, dfuDNBUSY → wait its poll timeout. Run-time or manifestation states
   * cannot be left by a request: DFU_UNEXPECTED_STATE.
   */
  async ensureIdle(op: OpContext = {}): Promise<DfuStatusReport> {
    const start = this.clock.now();
    const limit = this.quirks.busyLimitMs('command');
    let stalls = 0;
    let syncs = 0;
    let waitedBusy = false;
    let clearedBusy = false;
    for (let step = 0; step < 1000; step++) {
      let r: DfuStatusReport;
      try {
        r = await this.getStatus(op);
      } catch (e) {
        // A STALL puts the device in dfuERROR; the next GETSTATUS tells us where it is.
        if (e instanceof BootBridgeError && e.code === 'USB_STALL' && ++stalls < 3) continue;
        throw e;
      }
      switch (r.state) {
        case DFU_STATE.dfuIDLE:
          return r;
        case DFU_STATE.dfuERROR:
          await this.clrStatus(op);
          break;
        case DFU_STATE.dfuDNLOAD_IDLE:
        case DFU_STATE.dfuUPLOAD_IDLE:
          await this.abort(op);
          break;
        case DFU_STATE.dfuDNLOAD_SYNC:
        case DFU_STATE.dfuMANIFEST_SYNC:
          // GETSTATUS itself moves these on (DFU 1.1 appendix A); a device that stays in them would
          // otherwise be polled back to back, with no time passing, until the step limit.
          if (++syncs > 8) {
            throw new BootBridgeError('DFU_UNEXPECTED_STATE', `Device stays in ${r.stateName} although GETSTATUS should move it on`, { ...this.ctx(op), request: 'GETSTATUS' });
          }
          break;
        case DFU_STATE.dfuDNBUSY: {
          // H743 rev V stays busy for good; CLRSTATUS gets it out through (errUNKNOWN, dfuERROR)
          // (betaflight-configurator #1861, #5348). Other devices get it only once they overstay the limit.
          const overdue = this.clock.now() - start > limit;
          if ((this.quirks.clearStuckBusy && waitedBusy) || overdue) {
            if (clearedBusy) {
              throw new BootBridgeError('DFU_TIMEOUT', 'Device stays busy; cannot get it back to dfuIDLE', { ...this.ctx(op), request: 'GETSTATUS' });
            }
            clearedBusy = true;
            await this.clrStatus(op).catch((e: unknown) => {
              if (!(e instanceof BootBridgeError && e.code === 'USB_STALL')) throw e; // a STALL lands in dfuERROR: cleared next round
            });
            break;
          }
          // bwPollTimeout is 24 bits (up to 4.6 hours): never wait past the limit on a device's word.
          await this.clock.sleep(Math.max(1, Math.min(r.pollTimeoutMs, limit - (this.clock.now() - start) + 1)));
          waitedBusy = true;
          break;
        }
        default:
          throw new BootBridgeError('DFU_UNEXPECTED_STATE', `Device is in ${r.stateName}, not in DFU mode idle`, {
            ...this.ctx(op),
            status: r.status,
            statusName: r.statusName,
          });
      }
    }
    throw new BootBridgeError('DFU_UNEXPECTED_STATE', 'Device did not return to dfuIDLE', this.ctx(op));
  }
}

export { isDisconnectError };
