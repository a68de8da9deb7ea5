// The loader protocol v1 conformance suite (`bootbridge loader check`): stage a package's image on a
// board, then hold the loader that enumerates to every rule of docs/loader-protocol.md, one verdict per
// check naming the section it tests. It talks to the loader with raw DFU requests on the WebUSB
// USBDevice the bus hands out — it does not care whether a TypeScript model, an emulated CPU running
// the real image, or a real board answers.

import type { DfuFunctionalDescriptor } from '../usb/descriptors.js';
import { dfuAlternates, dfuFunctional } from '../usb/descriptors.js';
import { readDfuDescriptors, type DfuDeviceDescriptors } from '../dfu/descriptors.js';
import { controlIn, controlOut } from '../usb/transfer.js';
import { DFU_REQUEST, DFU_STATE, DFU_STATUS } from '../dfu/constants.js';
import type { MemoryLayout } from '../dfu/layout.js';
import { MAX_TRANSFER_SIZE, type LoaderPackage } from '../loader/index.js';
import type { ChipInfo } from '../devices/chips.js';
import { crc32 } from '../util/crc32.js';
import { formatSize, hexUpper } from '../../shared/format.js';
import type { BoardHandle, EngineContext } from './context.js';
import { Reporter } from './progress.js';
import { waitForBoard } from './reenumerate.js';
import { ROM_DFU_ID, stageAndJump } from './staging.js';

export interface CheckVerdict {
  /** Stable name ("descriptors.transfer-size"). */
  id: string;
  /** The protocol section it tests ("§2.1"). */
  section: string;
  title: string;
  verdict: 'pass' | 'fail' | 'skip';
  detail: string;
}

export interface CheckOptions {
  /** The ROM bootloader's serial on this board (the loader must report the same, §2.2). */
  romSerial?: string;
  /** The chip (from the ROM's descriptors), to check the image fits the RAM the ROM leaves free. */
  chip?: ChipInfo;
}

const LANGID_EN_US = 0x0409;
const hex = (n: number, d = 8) => hexUpper(n, d);

interface Status {
  status: number;
  pollMs: number;
  state: number;
}

/** Raw DFU 1.1 / DfuSe requests on interface 0 of an opened, claimed USBDevice. */
class RawDfu {
  constructor(
    readonly device: USBDevice,
    private readonly ctx: EngineContext,
  ) {}

  private setup(request: number, value: number) {
    return { requestType: 'class' as const, recipient: 'interface' as const, request, value, index: 0 };
  }

  async getStatus(): Promise<Status> {
    const b = await controlIn(this.device, this.setup(DFU_REQUEST.GETSTATUS, 0), 6, 'GETSTATUS');
    return { status: b[0] ?? 0xff, pollMs: (b[1] ?? 0) | ((b[2] ?? 0) << 8) | ((b[3] ?? 0) << 16), state: b[4] ?? 0xff };
  }

  async dnload(block: number, data: Uint8Array): Promise<void> {
    await controlOut(this.device, this.setup(DFU_REQUEST.DNLOAD, block), data, 'DNLOAD');
  }

  async upload(block: number, length: number): Promise<Uint8Array> {
    return controlIn(this.device, this.setup(DFU_REQUEST.UPLOAD, block), length, 'UPLOAD');
  }

  async clrStatus(): Promise<void> {
    await controlOut(this.device, this.setup(DFU_REQUEST.CLRSTATUS, 0), undefined, 'CLRSTATUS');
  }

  async abort(): Promise<void> {
    await controlOut(this.device, this.setup(DFU_REQUEST.ABORT, 0), undefined, 'ABORT');
  }

  /** Back to dfuIDLE from wherever the last request left it. */
  async idle(): Promise<void> {
    const s = await this.getStatus();
    if (s.state === DFU_STATE.dfuERROR) await this.clrStatus();
    else if (s.state !== DFU_STATE.dfuIDLE) await this.abort();
  }

  /**
   * After a DNLOAD: GETSTATUS, waiting bwPollTimeout between them, until the device is no longer busy.
   * Returns the final status, the first reported poll timeout while busy, and the time it stayed busy.
   */
  async finish(limitMs = 600_000): Promise<{ last: Status; firstPollMs?: number; busyMs: number; zeroWhileBusy: boolean; polls: number[] }> {
    const start = this.ctx.clock.now();
    let s = await this.getStatus();
    let firstPollMs: number | undefined;
    let zeroWhileBusy = false;
    const polls: number[] = [];
    while (s.state === DFU_STATE.dfuDNBUSY) {
      firstPollMs ??= s.pollMs;
      polls.push(s.pollMs);
      if (s.pollMs === 0) zeroWhileBusy = true;
      if (this.ctx.clock.now() - start > limitMs) break;
      await this.ctx.clock.sleep(Math.max(1, s.pollMs));
      s = await this.getStatus();
    }
    return { last: s, ...(firstPollMs !== undefined ? { firstPollMs } : {}), busyMs: Math.round(this.ctx.clock.now() - start), zeroWhileBusy, polls };
  }

  sleep(ms: number): Promise<void> {
    return this.ctx.clock.sleep(ms);
  }

  async command(bytes: number[]): Promise<Awaited<ReturnType<RawDfu['finish']>>> {
    await this.dnload(0, new Uint8Array(bytes));
    return this.finish();
  }

  setAddress(address: number) {
    return this.command([0x21, address & 0xff, (address >>> 8) & 0xff, (address >>> 16) & 0xff, address >>> 24]);
  }

  erase(address?: number) {
    return this.command(address === undefined ? [0x41] : [0x41, address & 0xff, (address >>> 8) & 0xff, (address >>> 16) & 0xff, address >>> 24]);
  }
}

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

function stateName(s: Status): string {
  const name = Object.entries(DFU_STATE).find(([, v]) => v === s.state)?.[0] ?? `state ${s.state}`;
  const status = Object.entries(DFU_STATUS).find(([, v]) => v === s.status)?.[0] ?? `status ${s.status}`;
  return `${name}/${status}`;
}

/** A sector to exercise in a layout: the last erasable, writable, readable one. */
function testSector(layout: MemoryLayout): { start: number; size: number } | undefined {
  const sectors = layout.blocks.flatMap((b) => b.sectors).filter((s) => s.erasable && s.writable && s.readable);
  return sectors[sectors.length - 1];
}

/** Test bytes with no 0xFF runs and no repeat within a 4 KB block (each block of 256 shifted by its index). */
function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 167 + (i >> 8) * 13 + seed * 31) & 0xfe);
}

/** An address in no alt setting's memory, for the error-status check. */
function outsideEveryAlt(layouts: MemoryLayout[]): number {
  const covered = (a: number) => layouts.some((l) => l.blocks.some((b) => a >= b.start && a < b.start + b.size));
  for (const a of [0xfffff000, 0x60000000, 0x00000000, 0xc0000000]) if (!covered(a)) return a;
  return 0xfffffff0;
}

/** Time-honest: reported never 0 while busy, and not far below how long the device really stayed busy. */
function pollVerdict(r: { firstPollMs?: number; busyMs: number; zeroWhileBusy: boolean; polls: number[] }): { ok: boolean; detail: string } {
  if (r.firstPollMs === undefined) return { ok: true, detail: 'never busy (done at the first GETSTATUS)' };
  if (r.zeroWhileBusy) return { ok: false, detail: `reported bwPollTimeout 0 while dfuDNBUSY (busy ${r.busyMs} ms)` };
  // "Not far below": the first answer covers at least half of the real busy time (timing jitter and
  // the wire's own milliseconds aside: under 20 ms of busy time is not judged).
  const ok = r.busyMs < 20 || r.firstPollMs * 2 >= r.busyMs - 2;
  const shown = r.polls.length > 8 ? `${r.polls.slice(0, 8).join(', ')}, … (${r.polls.length} in all)` : r.polls.join(', ');
  return { ok, detail: `first bwPollTimeout ${r.firstPollMs} ms, busy ${r.busyMs} ms${ok ? '' : `: far below the real busy time (bwPollTimeout of each dfuDNBUSY answer: ${shown} ms)`}` };
}

/**
 * §8: erase the sector, turn background writes on (0xB1), send `blocks` data blocks each answered at
 * once (the first with no write in progress: dfuDNLOAD-IDLE, bwPollTimeout 0; a later one may wait for
 * the block before it, ≥ 1 ms), drain (dfuDNBUSY with honest timeouts, then dfuDNLOAD-IDLE/OK), and
 * compare what the memory holds (CRC32 when offered, else read back).
 */
async function overlapWrite(dfu: RawDfu, start: number, length: number, blocks: number, data: Uint8Array, crc: boolean): Promise<{ ok: boolean; detail: string }> {
  await dfu.idle();
  const e = await dfu.erase(start);
  if (e.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: `sector erase: ${stateName(e.last)}` };
  const a = await dfu.setAddress(start);
  if (a.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: `set address: ${stateName(a.last)}` };
  const on = await dfu.command([0xb1]);
  if (on.last.state !== DFU_STATE.dfuDNLOAD_IDLE || on.last.status !== DFU_STATUS.OK) return { ok: false, detail: `0xB1: ${stateName(on.last)}` };
  const answers: string[] = [];
  for (let n = 0; n < blocks; n++) {
    await dfu.dnload(2 + n, data.subarray(n * length, (n + 1) * length));
    let s = await dfu.getStatus();
    answers.push(`${stateName(s)} ${s.pollMs} ms`);
    if (n === 0 && (s.state !== DFU_STATE.dfuDNLOAD_IDLE || s.pollMs !== 0)) {
      return { ok: false, detail: `block 2 with no write in progress answered ${stateName(s)}, bwPollTimeout ${s.pollMs} ms (expected dfuDNLOAD_IDLE at once, 0 ms)` };
    }
    if (s.state === DFU_STATE.dfuDNBUSY) {
      if (s.pollMs < 1) return { ok: false, detail: `block ${2 + n} answered dfuDNBUSY with bwPollTimeout 0` };
      await dfu.sleep(s.pollMs);
      s = await dfu.getStatus();
      answers.push(`${stateName(s)} ${s.pollMs} ms`);
    }
    if (s.state !== DFU_STATE.dfuDNLOAD_IDLE || s.status !== DFU_STATUS.OK) return { ok: false, detail: `block ${2 + n}: ${answers.join(', ')}` };
  }
  const drain = await dfu.finish();
  const pv = pollVerdict(drain);
  const drained = drain.last.state === DFU_STATE.dfuDNLOAD_IDLE && drain.last.status === DFU_STATUS.OK;
  const how = `accepted: ${answers.join(', ')}; drain: ${drain.polls.length} dfuDNBUSY answer${drain.polls.length === 1 ? '' : 's'}, then ${stateName(drain.last)}; ${pv.detail}`;
  if (!drained || !pv.ok) return { ok: false, detail: how };
  await dfu.idle();
  const total = blocks * length;
  if (crc) {
    const r = await dfu.command([0xb0, ...le32(start), ...le32(total)]);
    if (r.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: `${how}; CRC32: ${stateName(r.last)}` };
    await dfu.abort();
    const b = await dfu.upload(1, 4);
    await dfu.idle();
    const got = ((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0;
    const want = crc32(data);
    return { ok: got === want, detail: `${how}; CRC32 of the ${total} bytes: device ${hex(got)}, written ${hex(want)}` };
  }
  const r = await dfu.setAddress(start);
  if (r.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: `${how}; set address: ${stateName(r.last)}` };
  await dfu.abort();
  let same = true;
  for (let n = 0; n < blocks; n++) {
    const back = await dfu.upload(2 + n, length);
    same &&= back.length === length && back.every((x, i) => x === data[n * length + i]);
  }
  await dfu.idle();
  return { ok: same, detail: `${how}; read back: ${same ? 'equal to what was written' : 'differs'}` };
}

/**
 * Stages `pkg` on the board and runs the suite. Never throws for a loader's failing: every problem is
 * a verdict; it throws only for what stops the check from running at all (the ROM unreachable).
 */
export async function checkLoader(ctx: EngineContext, board: BoardHandle, pkg: LoaderPackage, options: CheckOptions = {}): Promise<CheckVerdict[]> {
  const out: CheckVerdict[] = [];
  const m = pkg.manifest;
  const add = (id: string, section: string, title: string, ok: boolean | 'skip', detail: string) =>
    out.push({ id, section, title, verdict: ok === 'skip' ? 'skip' : ok ? 'pass' : 'fail', detail });
  const attempt = async (id: string, section: string, title: string, fn: () => Promise<{ ok: boolean | 'skip'; detail: string }>) => {
    try {
      const r = await fn();
      add(id, section, title, r.ok, r.detail);
      return r.ok === true;
    } catch (e) {
      add(id, section, title, false, e instanceof Error ? e.message : String(e));
      return false;
    }
  };
  const reporter = new Reporter(ctx.clock, ctx.onEvent);

  // §1 life cycle: staged through the ROM, it enumerates as the board within its timeout.
  let staged: Awaited<ReturnType<typeof stageAndJump>>;
  try {
    staged = await stageAndJump(ctx, board, pkg, reporter, options.chip ? { chip: options.chip } : {});
  } catch (e) {
    add('staging', '§1', 'image staged through the ROM and started', false, e instanceof Error ? e.message : String(e));
    return out;
  }
  let device: USBDevice;
  try {
    device = await waitForBoard(ctx.backend, ctx.clock, staged.identity, { vendorId: m.usb.vendorId, productId: m.usb.productId }, {
      timeoutMs: m.usb.enumerationTimeoutMs,
      what: `loader "${m.name}"`,
      rom: ROM_DFU_ID,
    });
    add('enumeration', '§1, §2', 'enumerates after the jump, as loader.json usb.vendorId/productId, within usb.enumerationTimeoutMs', true, `${hex(device.vendorId, 4)}:${hex(device.productId, 4)}`);
  } catch (e) {
    add('enumeration', '§1, §2', 'enumerates after the jump, as loader.json usb.vendorId/productId, within usb.enumerationTimeoutMs', false, e instanceof Error ? e.message : String(e));
    return out;
  }

  let d: DfuDeviceDescriptors;
  try {
    d = await readDfuDescriptors(device);
  } catch (e) {
    add('descriptors', '§2.1', 'descriptors readable and well formed', false, e instanceof Error ? e.message : String(e));
    return out;
  }
  const fd: DfuFunctionalDescriptor | undefined = dfuFunctional(d);
  const alts = dfuAlternates(d);

  // §2.1 descriptors.
  add(
    'descriptors.functional',
    '§2.1',
    'DFU functional descriptor: bmAttributes 0x0B, wDetachTimeOut ≥ 255, bcdDFUVersion 0x011A',
    !!fd && (fd.bmAttributes & 0x0b) === 0x0b && fd.wDetachTimeOut >= 255 && fd.bcdDFUVersion === 0x011a,
    fd ? `bmAttributes ${hex(fd.bmAttributes, 2)}, wDetachTimeOut ${fd.wDetachTimeOut}, bcdDFUVersion ${fd.bcdDFUVersion !== undefined ? hex(fd.bcdDFUVersion, 4) : '(none)'}` : 'no DFU functional descriptor',
  );
  add(
    'descriptors.transfer-size',
    '§2.1',
    `wTransferSize ≤ ${MAX_TRANSFER_SIZE} and equal to loader.json transferSize`,
    !!fd && fd.wTransferSize <= MAX_TRANSFER_SIZE && fd.wTransferSize === m.transferSize,
    fd ? `wTransferSize ${fd.wTransferSize}, loader.json ${m.transferSize}` : 'no DFU functional descriptor',
  );
  add(
    'descriptors.identity',
    '§2.1',
    'VID:PID and iProduct as loader.json',
    device.vendorId === m.usb.vendorId && device.productId === m.usb.productId && (m.usb.product === undefined || d.product === m.usb.product),
    `${hex(device.vendorId, 4)}:${hex(device.productId, 4)} "${d.product ?? ''}"; loader.json ${hex(m.usb.vendorId, 4)}:${hex(m.usb.productId, 4)} "${m.usb.product ?? '(any)'}"`,
  );
  const altText = alts.map((a) => `alt ${a.bAlternateSetting} "${a.name ?? ''}"`).join(', ');
  add(
    'descriptors.alt-strings',
    '§2.1',
    'one alt setting per memory, in manifest order, each named exactly the manifest layout string',
    alts.length === m.memories.length && m.memories.every((mem) => alts.find((a) => a.bAlternateSetting === mem.alt)?.name === mem.text),
    `${altText}; loader.json ${m.memories.map((x) => `"${x.text}"`).join(', ')}`,
  );
  add(
    'descriptors.layouts',
    '§2.1',
    'every alt setting name is a DfuSe layout string',
    alts.length > 0 && alts.every((a) => a.layout !== undefined),
    alts.map((a) => (a.layout ? `alt ${a.bAlternateSetting} ok` : `alt ${a.bAlternateSetting}: ${a.layoutError ?? 'no name'}`)).join('; '),
  );

  // §2.2 serial: the ROM's.
  const romSerial = options.romSerial ?? staged.identity.serial;
  add('serial', '§2.2', 'iSerialNumber equals the ROM bootloader\'s serial', !!romSerial && d.serialNumber === romSerial, `loader "${d.serialNumber ?? '(none)'}", ROM "${romSerial ?? '(none)'}"`);

  await device.open();
  await device.claimInterface(0);
  const dfu = new RawDfu(device, ctx);
  const readString = async (index: number) => {
    const b = await controlIn(device, { requestType: 'standard', recipient: 'device', request: 6, value: 0x0300 | index, index: LANGID_EN_US }, 255, 'GET_DESCRIPTOR');
    let s = '';
    for (let i = 2; i + 1 < (b[0] ?? 0) && i + 1 < b.length; i += 2) s += String.fromCharCode(b[i]! | (b[i + 1]! << 8));
    return s;
  };
  try {
    // §2.3 nonce, §2.4 entry report.
    if (m.nonce && staged.nonce) {
      const expected = staged.nonce;
      await attempt('nonce', '§2.3', `string ${m.nonce.string} reports the staging nonce (16 upper-case hex digits)`, async () => {
        const s = await readString(m.nonce!.string);
        return { ok: s === expected, detail: `reported "${s}", staged ${expected}` };
      });
    } else add('nonce', '§2.3', 'staging nonce', 'skip', 'loader.json declares no nonce: hosts pair this loader by serial and port only (a warning)');
    if (m.entryReport) {
      await attempt('entry-report', '§2.4', `string ${m.entryReport.string} is the entry report (KEY=VALUE pairs, hex values as 8 digits)`, async () => {
        const s = await readString(m.entryReport!.string);
        return { ok: /^[A-Z0-9_]+=[0-9A-Fa-f]{8}( [A-Z0-9_]+=[0-9A-Fa-f]{8})*$/.test(s), detail: `"${s}"` };
      });
    } else add('entry-report', '§2.4', 'entry report', 'skip', 'loader.json declares no entryReport');

    // §3.1 the command list.
    await device.selectAlternateInterface(0, 0);
    await attempt('commands', '§3.1', `GET_COMMANDS (UPLOAD block 0) lists 00 21 41${m.extensions.includes('crc32') ? ' B0' : ''}`, async () => {
      await dfu.idle();
      const c = [...(await dfu.upload(0, 16))];
      await dfu.idle();
      const want = [0x00, 0x21, 0x41, ...(m.extensions.includes('crc32') ? [0xb0] : [])];
      const ok = want.every((b, i) => (i < 3 ? c[i] === b : c.includes(b)));
      return { ok, detail: c.map((b) => b.toString(16).padStart(2, '0')).join(' ') };
    });

    // §8 the overlap extension: both the manifest and the device must say so.
    const overlap = m.extensions.includes('overlap');
    let offersB1 = false;
    if (overlap) {
      await attempt('overlap.command', '§8', 'GET_COMMANDS lists B1 (loader.json lists "overlap")', async () => {
        await dfu.idle();
        const c = [...(await dfu.upload(0, 16))];
        await dfu.idle();
        offersB1 = c.slice(3).includes(0xb1);
        return { ok: offersB1, detail: `${c.map((b) => b.toString(16).padStart(2, '0')).join(' ')}${offersB1 ? '' : ': no B1, so hosts write this loader block by block despite its manifest'}` };
      });
    } else add('overlap', '§8', 'overlap extension (background writes, 0xB1)', 'skip', 'loader.json does not list "overlap": hosts never send 0xB1, so its checks are skipped');

    // §3.3 an address in no memory of the alt.
    const layouts = alts.map((a) => a.layout).filter((l): l is MemoryLayout => !!l);
    const nowhere = outsideEveryAlt(layouts);
    await attempt('errors.address-outside', '§3.3', `set address ${hex(nowhere)} (in no alt's memory) ends in dfuERROR with errTARGET or errADDRESS`, async () => {
      await dfu.idle();
      let r;
      try {
        r = await dfu.setAddress(nowhere);
      } catch (e) {
        return { ok: false, detail: `the request failed instead of answering with a status: ${e instanceof Error ? e.message : String(e)}` };
      }
      await dfu.idle();
      const ok = r.last.state === DFU_STATE.dfuERROR && (r.last.status === DFU_STATUS.errTARGET || r.last.status === DFU_STATUS.errADDRESS);
      return { ok, detail: stateName(r.last) };
    });

    // Each memory: set address, sector erase, write, read back, CRC32, mass erase.
    for (const mem of m.memories) {
      const alt = alts.find((a) => a.bAlternateSetting === mem.alt);
      const layout = alt?.layout;
      const tag = `alt ${mem.alt}`;
      if (!layout) {
        add(`alt${mem.alt}`, '§3', `${tag}: memory commands`, false, 'the alt setting is missing or not a layout');
        continue;
      }
      await device.selectAlternateInterface(0, mem.alt);
      const sector = testSector(layout);
      if (!sector) {
        add(`alt${mem.alt}.sector`, '§3', `${tag}: memory commands`, 'skip', 'no sector that is readable, writable and erasable');
        continue;
      }
      const length = Math.min(fd?.wTransferSize ?? 1024, sector.size, 4096);
      const data = pattern(length, mem.alt + 1);
      await dfu.idle();
      await attempt(`alt${mem.alt}.set-address`, '§3.1', `${tag}: set address ${hex(sector.start)}`, async () => {
        const r = await dfu.setAddress(sector.start);
        return { ok: r.last.state === DFU_STATE.dfuDNLOAD_IDLE && r.last.status === DFU_STATUS.OK, detail: stateName(r.last) };
      });
      await dfu.idle();
      await attempt(`alt${mem.alt}.sector-erase`, '§3.1', `${tag}: sector erase at ${hex(sector.start)} (${formatSize(sector.size)}), honest poll timeouts`, async () => {
        const r = await dfu.erase(sector.start);
        const pv = pollVerdict(r);
        const done = r.last.state === DFU_STATE.dfuDNLOAD_IDLE && r.last.status === DFU_STATUS.OK;
        return { ok: done && pv.ok, detail: `${stateName(r.last)}; ${pv.detail}` };
      });
      await dfu.idle();
      await attempt(`alt${mem.alt}.write`, '§3.2', `${tag}: write ${length} bytes (block 2), honest poll timeouts`, async () => {
        const a = await dfu.setAddress(sector.start);
        if (a.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: `set address: ${stateName(a.last)}` };
        await dfu.dnload(2, data);
        const r = await dfu.finish();
        const pv = pollVerdict(r);
        const done = r.last.state === DFU_STATE.dfuDNLOAD_IDLE && r.last.status === DFU_STATUS.OK;
        return { ok: done && pv.ok, detail: `${stateName(r.last)}; ${pv.detail}` };
      });
      await dfu.idle();
      let readBack: Uint8Array | undefined;
      await attempt(`alt${mem.alt}.read`, '§3.2', `${tag}: read the ${length} bytes back (UPLOAD block 2)`, async () => {
        const a = await dfu.setAddress(sector.start);
        if (a.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: `set address: ${stateName(a.last)}` };
        await dfu.abort();
        readBack = await dfu.upload(2, length);
        await dfu.idle();
        const same = readBack.length === length && readBack.every((b, i) => b === data[i]);
        return { ok: same, detail: same ? 'equal to what was written' : `differs (${readBack.length} bytes received)` };
      });
      if (m.extensions.includes('crc32')) {
        await attempt(`alt${mem.alt}.crc32`, '§4', `${tag}: CRC32 (0xB0) of the range equals zlib crc32 of the bytes written and of the bytes read back`, async () => {
          await dfu.idle();
          const r = await dfu.command([0xb0, ...le32(sector.start), ...le32(length)]);
          if (r.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: stateName(r.last) };
          await dfu.abort();
          const b = await dfu.upload(1, 4);
          await dfu.idle();
          const got = ((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0;
          const want = crc32(data);
          const back = readBack ? crc32(readBack) : undefined;
          return { ok: b.length === 4 && got === want && back === want, detail: `device ${hex(got)}, written ${hex(want)}, read back ${back !== undefined ? hex(back) : '(none)'}` };
        });
      } else add(`alt${mem.alt}.crc32`, '§4', `${tag}: CRC32 extension`, 'skip', 'loader.json does not list "crc32"');
      if (overlap) {
        const blocks = sector.size >= 2 * length ? 2 : 1;
        const title = `${tag}: background writes (0xB1): ${blocks} block${blocks === 1 ? '' : 's'} accepted without the program wait, a drain answers dfuDNBUSY until done, then dfuDNLOAD-IDLE; the bytes land`;
        if (!offersB1) add(`alt${mem.alt}.overlap-write`, '§8', title, 'skip', 'not run: the device does not list B1 (overlap.command)');
        else await attempt(`alt${mem.alt}.overlap-write`, '§8', title, () => overlapWrite(dfu, sector.start, length, blocks, pattern(blocks * length, mem.alt + 7), m.extensions.includes('crc32')));
      }
      await dfu.idle();
      const massMs = m.timing?.massEraseMs?.[mem.alt];
      if (massMs !== undefined && massMs !== null) {
        add(`alt${mem.alt}.mass-erase`, '§3.1, §6', `${tag}: mass erase`, 'skip', `not exercised: loader.json timing.massEraseMs gives ${massMs} ms, a figure for the plan's estimate; the check runs no bulk erase (it would wipe the whole memory)`);
        continue;
      }
      await attempt(`alt${mem.alt}.mass-erase`, '§3.1', `${tag}: mass erase (optional: errTARGET when not offered), honest poll timeouts`, async () => {
        const r = await dfu.erase();
        if (r.last.state === DFU_STATE.dfuERROR && r.last.status === DFU_STATUS.errTARGET) return { ok: true, detail: 'not offered (errTARGET)' };
        const pv = pollVerdict(r);
        const done = r.last.state === DFU_STATE.dfuDNLOAD_IDLE && r.last.status === DFU_STATUS.OK;
        if (!done || !pv.ok) return { ok: false, detail: `${stateName(r.last)}; ${pv.detail}` };
        const a = await dfu.setAddress(sector.start);
        if (a.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: `set address after the erase: ${stateName(a.last)}` };
        await dfu.abort();
        const after = await dfu.upload(2, Math.min(length, 256));
        const blank = after.every((x) => x === 0xff);
        return { ok: blank, detail: `${pv.detail}; ${blank ? 'the written bytes read back erased' : 'the written bytes are still there'}` };
      });
      await dfu.idle();
    }

    // §3.2 leave: answer dfuMANIFEST (or go), then leave the bus.
    await attempt('leave', '§3.2', 'leave (0x21 address, zero-length DNLOAD, GETSTATUS → dfuMANIFEST) and go off the bus', async () => {
      // The pointer is set within the selected alt's memory (AN3156 §6.4): the last alt's first address.
      const last = alts[alts.length - 1];
      await device.selectAlternateInterface(0, last?.bAlternateSetting ?? 0);
      await dfu.idle();
      const target = last?.layout?.blocks[0]?.start ?? 0x08000000;
      const a = await dfu.setAddress(target);
      if (a.last.state !== DFU_STATE.dfuDNLOAD_IDLE) return { ok: false, detail: `set address ${hex(target)}: ${stateName(a.last)}` };
      // wBlockNum 2 with no data, as dfu-util's DfuSe leave sends it.
      await dfu.dnload(2, new Uint8Array(0));
      let answer = 'no answer (went at once)';
      try {
        const s = await dfu.getStatus();
        answer = stateName(s);
        if (s.state !== DFU_STATE.dfuMANIFEST && s.state !== DFU_STATE.dfuMANIFEST_SYNC && s.state !== DFU_STATE.dfuMANIFEST_WAIT_RESET) return { ok: false, detail: `answered ${answer}` };
      } catch {
        // Going without answering is allowed (§3.2: the host may not wait for the answer).
      }
      const deadline = ctx.clock.now() + 1000;
      while (ctx.clock.now() < deadline) {
        if (!(await ctx.backend.getDevices()).includes(device)) return { ok: true, detail: `${answer}; off the bus` };
        await ctx.clock.sleep(20);
      }
      return { ok: false, detail: `${answer}; still on the bus 1 s later` };
    });
  } finally {
    await device.close().catch(() => undefined);
  }
  return out;
}
