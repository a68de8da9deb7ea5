// Known misbehaviour of real DFU bootloaders, in one table keyed by VID/PID/bcdDevice (and the chip's
// device ID when known). Each entry names the device, the symptom and where the fact comes from, and
// sets one of the knobs the DFU/DfuSe code reads through `quirksFor(...)`. An entry exists only when it
// changes what the host does; behaviour the protocol's normal path already handles is not a quirk:
// - the F4 ROM enumerates in dfuERROR/errFIRMWARE (dfu-util device-logs/stm32f4discovery.bin-download):
//   opening clears dfuERROR with CLRSTATUS on every device (dfu.ts ensureIdle);
// - the F745 ROM reports 100 ms for a 32 KB sector erase that takes ≈ 351 ms (fwupd issue #2696,
//   reference timing.md): the host polls GETSTATUS again while dfuDNBUSY, as DFU 1.1 §6.1.2 has it,
//   well inside the default erase limit below.

export type DfuRequestKind = 'write' | 'erase' | 'massErase' | 'setAddress' | 'command' | 'leave';

export interface QuirkEntry {
  id: string;
  device: string;
  symptom: string;
  source: string;
  match: {
    vendorId: number;
    productId: number;
    /** Inclusive bcdDevice range; absent = any. */
    bcdDevice?: [number, number];
    /** Chip device IDs (DBGMCU_IDCODE[11:0]); absent = any. Only applied when the ID is known. */
    deviceIds?: number[];
  };
  effect: {
    /** Wait at least this long before each GETSTATUS poll of these operations. */
    minimumPollMs?: Partial<Record<DfuRequestKind, number>>;
    /** Replace a reported mass-erase poll timeout of `reported` ms by `forcedMs`. */
    massErasePoll?: { reported: number; forcedMs: number };
    /** Total time to keep polling a busy device before DFU_TIMEOUT, per operation. */
    busyLimitMs?: Partial<Record<DfuRequestKind, number>>;
    /** GETSTATUS may STALL while the device is busy: retry after the last poll timeout. */
    retryStalledStatus?: boolean;
    /** Stuck in dfuDNBUSY: after one poll wait, CLRSTATUS (it answers errUNKNOWN, then clears). */
    clearStuckBusy?: boolean;
  };
}

const ST = { vendorId: 0x0483, productId: 0xdf11 };

export const QUIRKS: readonly QuirkEntry[] = [
  {
    id: 'f405-mass-erase-timeout',
    device: 'STM32F405/F407 ROM bootloader',
    symptom: 'reports bwPollTimeout 100 ms for a mass erase that takes up to 32 s (datasheet)',
    source: 'dfu-util src/dfuse.c ("STM32F405 lies about mass erase timeout"): forces 35 s on any DfuSe device reporting 100 ms; we limit it to the F4 ROM (bcdDevice 0x2100)',
    match: { ...ST, bcdDevice: [0x2100, 0x2100] },
    effect: { massErasePoll: { reported: 100, forcedMs: 35_000 }, busyLimitMs: { massErase: 60_000 } },
  },
  {
    id: 'l43x-short-timeouts',
    device: 'STM32L43x/L44x ROM bootloader',
    symptom: 'reports 21 ms poll timeouts that are too short; GETSTATUS can STALL while still busy',
    source: 'dfu-util src/dfuse.c (GETSTATUS failure reuses the last poll timeout); ST community thread on L432/L433 DFU',
    match: { ...ST, deviceIds: [0x435] },
    effect: { minimumPollMs: { erase: 30, write: 10 }, retryStalledStatus: true },
  },
  {
    id: 'h743-stuck-busy',
    device: 'STM32H743 rev V ROM bootloader',
    symptom: 'stays dfuDNBUSY past its timeout when erasing above 1 MB; recovery CLRSTATUS → errUNKNOWN → CLRSTATUS',
    source: 'betaflight-configurator PRs #1861 and #5348',
    match: { ...ST, deviceIds: [0x450] },
    effect: { busyLimitMs: { erase: 10_000, massErase: 60_000 }, clearStuckBusy: true },
  },
];

/** What the DFU code asks; built from every matching entry. */
export interface DeviceQuirks {
  readonly applied: readonly QuirkEntry[];
  /** Poll wait for an operation: the reported timeout raised to the quirk minimum. */
  pollMs(op: DfuRequestKind, reportedMs: number, firstPoll: boolean): number;
  /** Total busy time allowed before DFU_TIMEOUT. */
  busyLimitMs(op: DfuRequestKind): number;
  readonly retryStalledStatus: boolean;
  readonly clearStuckBusy: boolean;
}

/** Default busy limit: generous next to the datasheet maxima (a 256 KB F7 sector erases in ≤ 4 s). */
export const DEFAULT_BUSY_LIMIT_MS: Record<DfuRequestKind, number> = {
  write: 5_000,
  erase: 10_000,
  massErase: 60_000,
  setAddress: 5_000,
  command: 10_000,
  leave: 5_000,
};

export interface QuirkKey {
  vendorId: number;
  productId: number;
  bcdDevice?: number;
  deviceId?: number;
}

export function matchingQuirks(key: QuirkKey): QuirkEntry[] {
  return QUIRKS.filter((q) => {
    const m = q.match;
    if (m.vendorId !== key.vendorId || m.productId !== key.productId) return false;
    if (m.bcdDevice && (key.bcdDevice === undefined || key.bcdDevice < m.bcdDevice[0] || key.bcdDevice > m.bcdDevice[1])) return false;
    if (m.deviceIds && (key.deviceId === undefined || !m.deviceIds.includes(key.deviceId))) return false;
    return true;
  });
}

export function quirksFor(key: QuirkKey | undefined): DeviceQuirks {
  const applied = key ? matchingQuirks(key) : [];
  return {
    applied,
    pollMs(op, reportedMs, firstPoll) {
      let ms = reportedMs;
      for (const q of applied) {
        const mp = q.effect.massErasePoll;
        if (op === 'massErase' && firstPoll && mp && reportedMs === mp.reported) ms = Math.max(ms, mp.forcedMs);
        const min = q.effect.minimumPollMs?.[op];
        if (min !== undefined) ms = Math.max(ms, min);
      }
      return ms;
    },
    busyLimitMs(op) {
      let ms = DEFAULT_BUSY_LIMIT_MS[op];
      for (const q of applied) ms = Math.max(ms, q.effect.busyLimitMs?.[op] ?? 0);
      return ms;
    },
    retryStalledStatus: applied.some((q) => q.effect.retryStalledStatus),
    clearStuckBusy: applied.some((q) => q.effect.clearStuckBusy),
  };
}
