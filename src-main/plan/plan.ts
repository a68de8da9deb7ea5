// The planner: FirmwareImage + what the device serves → an immutable FlashPlan, before any I/O.
// Every problem that can be known up front is collected (not thrown) into plan.errors, so the user
// sees all of them at once; assertPlanOk() turns them into one PLAN_INVALID error for callers.
//
//   const p = plan(image, { memories, chip, loader }, { verify: true });
//   if (!p.ok) console.log(formatPlan(p)); else engine.run(p, image);

import { nonBlankRuns } from '../util/blank.js';
import { BootBridgeError, hex32 } from '../../shared/errors.js';
import { vidPid } from '../../shared/format.js';
import type { StageName } from '../../shared/progress.js';
import type { Sector } from '../dfu/layout.js';
import type { ChipInfo } from '../devices/chips.js';
import { checkReportedLayouts } from '../devices/identify.js';
import type { FirmwareImage } from '../firmware/image.js';
import { bulkEraseOp, compareOps } from './compare.js';
import { TimeModel, usbMs } from './estimate.js';
import { planInvalid } from './issues.js';
import { flashBase, isInternal, ramRegions, ref, routeRange, span, targetRegions, type RangeRoute } from './route.js';
import type {
  CompareOp,
  EraseOp,
  FlashPlan,
  PlanIssue,
  PlanLoader,
  PlanOptions,
  PlanRegion,
  PlanStage,
  PlanTarget,
  PlannedSegment,
  Via,
  VerifyOp,
  WriteOp,
} from './types.js';

/** The ROM bootloader's USB ID (AN3156 §1: 0483:DF11), what a .dfu suffix names when it is made for the ROM. */
const ROM_USB_ID = { vendorId: 0x0483, productId: 0xdf11 };
const DEFAULT_ROM_TRANSFER_SIZE = 2048;

export function plan(image: FirmwareImage, target: PlanTarget, options: PlanOptions = {}): FlashPlan {
  const viaLoader = options.routeInternalViaLoader ?? true;
  const chosen = build(image, target, options, viaLoader);
  // Show what the other route would cost when the loader could take the internal segments.
  const internalOnBoth = target.loader?.servesInternalFlash === true && chosen.segments.some((s) => s.region && isInternal(s.region, target));
  if (internalOnBoth && chosen.ok) {
    const other = build(image, target, options, !viaLoader);
    if (other.ok) {
      chosen.routes = {
        rom: viaLoader ? other.estimatedMs : chosen.estimatedMs,
        loader: viaLoader ? chosen.estimatedMs : other.estimatedMs,
        chosen: viaLoader ? 'loader' : 'rom',
      };
    }
  }
  return deepFreeze(chosen);
}

/** Throws PLAN_INVALID with every issue in its context when the plan has errors. */
export function assertPlanOk(p: FlashPlan): void {
  if (!p.ok) throw planInvalid(p.errors);
}

/** The bytes a write or verify operation sends or checks, cut from the image it was planned for. */
export function planBytes(image: FirmwareImage, op: { segment: number; address: number; length: number }): Uint8Array {
  const seg = image.segments[op.segment];
  if (!seg || op.address < seg.address || op.address + op.length > seg.address + seg.data.length) {
    throw new BootBridgeError('INTERNAL', 'The plan does not belong to this image', { address: op.address, length: op.length });
  }
  const from = op.address - seg.address;
  return seg.data.subarray(from, from + op.length);
}

// ------------------------------------------------------------------------------------------------

interface Placement {
  index: number;
  start: number;
  end: number;
  region: PlanRegion;
  sectors: Sector[];
}

type PlanFlags = FlashPlan['options'] & { skipUnchanged: boolean; preserve: boolean };

/** What one build works with, and what it collects. */
interface Build {
  image: FirmwareImage;
  target: PlanTarget;
  options: PlanOptions;
  opts: PlanFlags;
  time: TimeModel;
  /** The ROM's wTransferSize. */
  romT: number;
  errors: PlanIssue[];
  warnings: string[];
  /** An issue the user may override (PlanOptions.force): an error without it, a warning with it. */
  forcible: (issue: PlanIssue) => void;
}

function build(image: FirmwareImage, target: PlanTarget, options: PlanOptions, routeInternalViaLoader: boolean): FlashPlan {
  const b = startBuild(image, target, options, routeInternalViaLoader);
  const { segments, placements } = placeSegments(b);
  checkOverlaps(b);

  // The loader, when a segment is routed through it (a running one is not staged again).
  const loader = target.loader;
  const loaderPlaced = placements.filter((p) => p.region.via === 'loader');
  const running = loader !== undefined && target.loaderRunning === true;
  const viaLoader = loader !== undefined && loaderPlaced.length > 0;
  const staged = viaLoader && !running;
  if (loader && !viaLoader && !running && placements.length > 0) b.warnings.push(`Loader "${loader.name}" is not needed: the ROM bootloader reaches every segment.`);
  if (staged) checkLoader(loader, target.chip, placements, b.errors, b.warnings);

  const stages: PlanStage[] = [];
  let skippedBytes = 0;
  const romPlaced = placements.filter((p) => p.region.via === 'rom');
  if (romPlaced.length > 0) {
    const ops = stageOps(b, 'rom', romPlaced);
    skippedBytes += ops.skippedBytes;
    stages.push(stage('rom', 'ROM bootloader', 'rom', ops));
  }
  if (staged) stages.push(stagingStage(b, loader));
  if (viaLoader) {
    const ops = stageOps(b, 'loader', loaderPlaced);
    skippedBytes += ops.skippedBytes;
    stages.push(stage('loader', `Loader "${loader.name}"`, 'loader', ops));
    if (b.time.loaderTimingMissing() && loaderPlaced.some((p) => !isInternal(p.region, target))) {
      b.warnings.push(`Loader "${loader.name}" gives no timing for its memories: the estimate counts USB time only there.`);
    }
  }
  if (b.opts.leave) stages.push(leaveStage(b, b.opts.leave.address, staged || running ? 'loader' : 'rom', placements));

  const { rom, loader: loaderRegions } = targetRegions(target);
  return summarise(b, {
    segments, stages, skippedBytes, regions: [...rom, ...loaderRegions],
    ...(staged ? { loader: { name: loader.name, loadAddress: loader.loadAddress, imageSize: loader.imageSize } } : {}),
    ...(running ? { loaderRunning: loader.name } : {}),
  });
}

function startBuild(image: FirmwareImage, target: PlanTarget, options: PlanOptions, routeInternalViaLoader: boolean): Build {
  const chip = target.chip;
  const errors: PlanIssue[] = [];
  const warnings: string[] = [];
  const b: Build = {
    image, target, options, errors, warnings,
    opts: {
      verify: options.verify ?? true,
      skipBlank: options.skipBlank ?? true,
      massErase: options.massErase ?? false,
      skipUnchanged: options.skipUnchanged ?? true,
      preserve: options.preserve ?? false,
      leave: options.leave === false ? (false as const) : { address: options.leave?.address ?? flashBase(target) },
      routeInternalViaLoader,
    },
    time: new TimeModel(chip, target.loader),
    romT: target.transferSize ?? chip?.rom?.transferSize ?? DEFAULT_ROM_TRANSFER_SIZE,
    forcible: (issue) => {
      if (options.force === true) warnings.push(`${issue.message} Going on anyway, as forced.`);
      else errors.push(issue);
    },
  };
  if (!chip) warnings.push('Chip unknown: RAM is not writable through the ROM and estimates use the STM32F745 ROM timing; name the chip to use its own.');
  // Whatever named the chip, the ROM's own layout strings must fit the database entry.
  if (chip && !target.loaderRunning) warnings.push(...checkReportedLayouts(chip, target.memories));
  if (image.segments.every((s) => s.data.length === 0)) {
    errors.push({ code: 'IMAGE_EMPTY', message: `The image holds no data (${image.format.toUpperCase()} file with no data records or bytes): there is nothing to write.` });
  }
  checkUsbId(image, target, b.forcible);
  if (b.opts.massErase && b.opts.preserve) {
    warnings.push('A mass erase clears every memory the image writes, whole: bytes the image does not cover are not kept (preserve applies to sector erases only).');
  }
  return b;
}

/** Where every segment lands (routeRange), and every problem with it. */
function placeSegments(b: Build): { segments: PlannedSegment[]; placements: Placement[] } {
  const segments: PlannedSegment[] = [];
  const placements: Placement[] = [];
  const prefer: Via = b.opts.routeInternalViaLoader ? 'loader' : 'rom';
  b.image.segments.forEach((seg, index) => {
    const start = seg.address;
    const end = seg.address + seg.data.length;
    // The image's own sources array, not a copy (it is frozen with the plan).
    const planned: PlannedSegment = { index, address: start, length: seg.data.length, sources: seg.sources };
    segments.push(planned);
    if (seg.data.length === 0) return;
    // Only problems use the label: made on demand (a sparse HEX file has millions of segments).
    const label = { toString: () => segmentLabel(index, seg.sources, start, end) };
    const { route, issue } = routeRange(b.target, start, end - start, { prefer, label, alt: seg.alt });
    const about = { segment: index, sources: seg.sources };
    const at: PlacedSegment = { index, sources: seg.sources, start, end, label };
    if (route) planned.region = ref(route.region);
    if (route && seg.alt !== undefined && route.alt !== seg.alt && route.via === 'rom' && route.region.kind === 'memory') {
      // UM0391 §2.3.1: a DfuSe target names the alt setting its elements are for.
      b.forcible({
        code: 'DFU_ALT_MISMATCH',
        message: `${label} is in the .dfu file's target for alt ${seg.alt}${altName(b.image, seg.alt)}, but that address is in ${route.region.name} (alt ${route.alt}) of this board: the file was made for another device or memory.`,
        ...about, range: { start, end }, nearest: ref(route.region), remedy: 'force',
      });
    }
    if (issue) {
      const message = issue.code === 'PAST_REGION_END' ? `${issue.message}. The image is bigger than the memory: check the linker script or the chip.` : issue.message;
      b.errors.push({ ...issue, ...about, message });
      return;
    }
    const problem = placementIssue(b, route!, at, placements);
    if (problem) {
      b.errors.push({ segment: index, ...problem, nearest: ref(route!.region) });
      return;
    }
    const region = route!.region;
    placements.push({ index, start, end, region, sectors: route!.sectors });
    if (/option bytes/i.test(region.name)) {
      b.warnings.push(`${label} writes the option bytes (alt ${region.alt}): the ROM applies them with a reset, and a wrong read-protection level erases or locks the chip.`);
    } else if (/otp/i.test(region.name)) {
      b.warnings.push(`${label} writes one-time-programmable memory (alt ${region.alt}): it cannot be erased or written again.`);
    }
  });
  return { segments, placements };
}

/** A segment being placed, as its problems name it. */
interface PlacedSegment {
  index: number;
  sources: string[];
  start: number;
  end: number;
  label: { toString(): string };
}

/** Why a routed segment cannot be written where it lands, if it cannot. */
function placementIssue(b: Build, route: RangeRoute, seg: PlacedSegment, placements: Placement[]): PlanIssue | undefined {
  const { region } = route;
  const { label, start, end, sources } = seg;
  if (region.kind === 'rom-reserved') {
    return {
      code: 'ROM_RESERVED_RAM',
      message: `${label} writes RAM the ROM bootloader itself uses (${span(region.start, region.end)}, AN2606); writing it would crash the bootloader. Link RAM data above ${hex32(region.end)}.`,
      sources, range: { start, end },
    };
  }
  const locked = route.sectors.find((s) => !s.writable);
  if (locked) {
    return {
      code: 'REGION_NOT_WRITABLE',
      message: `${label} lands in ${region.name} at ${hex32(locked.start)}, which the ${region.via === 'rom' ? 'ROM bootloader' : 'loader'} reports as not writable (alt ${region.alt}). Remove that part of the image or unlock the memory first.`,
      sources, range: { start, end },
    };
  }
  if (region.kind === 'ram' && !b.options.allowRam) {
    return {
      code: 'LOADS_INTO_RAM',
      message: `${label} loads into RAM (${region.name} ${span(region.start, region.end)}): it would be written to RAM, which a reset clears, and nothing of it reaches flash. ${ramCause(b.image, sources)}`,
      sources, range: { start, end }, remedy: 'allow-ram',
    };
  }
  return programUnitIssue(b, route, seg, placements);
}

/**
 * L4/G4/H7 flash accepts one program per unit after erase (PROGERR: RM0351 §3.3.7, RM0440 §3.3.8,
 * RM0433 §4.3.9). A segment starting inside a unit is written in blocks of the transfer size from its
 * start, so when it needs more than one block every block boundary splits a unit and the second write
 * into it fails (errPROG) — after the erase. The same when the previous segment ends in the unit this
 * one starts in.
 */
function programUnitIssue(b: Build, route: RangeRoute, seg: PlacedSegment, placements: Placement[]): PlanIssue | undefined {
  const { region } = route;
  const { label, start, end } = seg;
  const chip = b.target.chip;
  if (region.kind !== 'memory' || chip?.program.rule !== 'erased-only' || !isInternal(region, b.target) || (start - region.start) % chip.program.unitBytes === 0) return undefined;
  const unit = chip.program.unitBytes;
  const word = start - ((start - region.start) % unit);
  const last = placements[placements.length - 1];
  const shared = last && last.end > word && last.end <= start && isInternal(last.region, b.target) ? last : undefined;
  const blockSize = region.via === 'loader' && b.target.loader ? b.target.loader.transferSize : b.romT;
  if (shared) {
    return {
      code: 'SHARED_PROGRAM_UNIT',
      message: `Segments ${shared.index} and ${seg.index} share the ${unit}-byte flash word at ${hex32(word)}; ${chip.name} flash can program a word only once after erase. Pad or align the segments to ${unit} bytes.`,
      range: { start: word, end: word + unit },
    };
  }
  if (end - start > blockSize) {
    return {
      code: 'SPLIT_PROGRAM_UNIT',
      message: `${label} starts ${start - word} bytes into the ${unit}-byte flash word at ${hex32(word)}: ${chip.name} flash programs whole ${unit}-byte units once after erase, and the ${blockSize}-byte blocks it is sent in would split them, so the ROM would fail (errPROG) after erasing. Link or place the image at a multiple of ${unit} bytes (a raw binary at ${hex32(word)}).`,
      sources: seg.sources, range: { start: word, end: word + unit }, remedy: 'give-base-address',
    };
  }
  return undefined;
}

/** Segments claiming the same bytes (buildImage prevents it; other producers may not). */
function checkOverlaps(b: Build): void {
  const byAddress = [...b.image.segments.entries()].filter(([, s]) => s.data.length > 0).sort((x, y) => x[1].address - y[1].address);
  for (let k = 1; k < byAddress.length; k++) {
    const [pi, prev] = byAddress[k - 1]!;
    const [ci, cur] = byAddress[k]!;
    const prevEnd = prev.address + prev.data.length;
    if (cur.address < prevEnd) {
      b.errors.push({
        code: 'SEGMENTS_OVERLAP',
        message: `${segmentLabel(ci, cur.sources, cur.address, cur.address + cur.data.length)} overlaps ${segmentLabel(pi, prev.sources, prev.address, prevEnd)}: the image claims the same bytes twice.`,
        segment: ci, sources: cur.sources, range: { start: cur.address, end: Math.min(prevEnd, cur.address + cur.data.length) },
      });
    }
  }
}

type StageOps = { erases: EraseOp[]; writes: WriteOp[]; verifies: VerifyOp[]; compares: CompareOp[]; bulkErase?: EraseOp; skippedBytes: number };

/** The erases, writes, verifications and comparisons of the segments one side (ROM or loader) writes. */
function stageOps(b: Build, via: Via, placed: Placement[]): StageOps {
  const { target, opts, time } = b;
  const loader = target.loader;
  const T = via === 'rom' ? b.romT : loader!.transferSize;
  const erases = eraseOps(via, placed, opts.massErase, time, target, b.warnings);
  const writes: WriteOp[] = [];
  const verifies: VerifyOp[] = [];
  let skippedBytes = 0;
  // Only flash reads 0xFF after erase; option bytes and OTP are stored as written.
  const erasedReadsFF = (p: Placement) => p.region.kind === 'memory' && (isInternal(p.region, target) || via === 'loader') && p.sectors.every((s) => s.erasable);
  for (const p of placed) {
    const data = b.image.segments[p.index]!.data;
    const internal = isInternal(p.region, target);
    const runs = opts.skipBlank && erasedReadsFF(p) ? nonBlankRuns(data, T) : [{ from: 0, to: data.length }];
    for (const r of runs) {
      const length = r.to - r.from;
      const blocks = Math.ceil(length / T);
      const last = length - (blocks - 1) * T;
      const blockMs = (n: number) => (via === 'rom' ? time.romWriteBlockMs(n, p.region.kind === 'memory') : time.loaderWriteBlockMs(n, internal));
      const estimatedMs = usbMs(5) + (blocks - 1) * blockMs(T) + blockMs(last);
      writes.push({ via, alt: p.region.alt, region: p.region.name, segment: p.index, address: p.start + r.from, length, transferSize: T, blocks, estimatedMs });
    }
    skippedBytes += data.length - runs.reduce((n, r) => n + r.to - r.from, 0);
    if (!opts.verify) continue;
    if (!p.sectors.every((s) => s.readable)) {
      b.warnings.push(`${p.region.name} is not readable (alt ${p.region.alt}): ${segmentLabel(p.index, b.image.segments[p.index]!.sources, p.start, p.end)} cannot be verified.`);
      continue;
    }
    const crc = via === 'loader' && loader!.crc32;
    verifies.push({
      via, alt: p.region.alt, region: p.region.name, segment: p.index, address: p.start, length: p.end - p.start,
      method: crc ? 'crc32' : 'read-back',
      estimatedMs: crc ? time.loaderCrcMs(p.end - p.start) : time.readBackMs(p.end - p.start, T),
    });
  }
  // A mass erase wipes every sector anyway: nothing to compare.
  const compares = opts.massErase
    ? []
    : compareOps({
        via, placed, erases, writes, transferSize: T, crc32: via === 'loader' && loader!.crc32, erasedReadsFF,
        skipUnchanged: opts.skipUnchanged, preserve: opts.preserve, time,
      });
  const bulk = bulkEraseOp(via, compares, [...new Set(placed.map((p) => p.region))], via === 'rom' ? time.romMassEraseMs() : time.loaderMassEraseMs(compares[0]?.alt ?? 0));
  return { erases, writes, verifies, compares, ...(bulk ? { bulkErase: bulk } : {}), skippedBytes };
}

/** Staging: the loader image written to RAM through the ROM, read back, and jumped to. */
function stagingStage(b: Build, loader: PlanLoader): PlanStage {
  const { romT, time } = b;
  const write: WriteOp = {
    via: 'rom', alt: 0, region: 'RAM', segment: -1, address: loader.loadAddress, length: loader.imageSize, transferSize: romT,
    blocks: Math.ceil(loader.imageSize / romT),
    estimatedMs: usbMs(5) + Math.ceil(loader.imageSize / romT) * time.romWriteBlockMs(romT, false),
  };
  // The image is always read back before the jump: a corrupted loader must never run (DESIGN.md).
  const check: VerifyOp = {
    via: 'rom', alt: 0, region: 'RAM', segment: -1, address: loader.loadAddress, length: loader.imageSize, method: 'read-back',
    estimatedMs: time.readBackMs(loader.imageSize, romT),
  };
  const s = stage('staging', `Stage loader "${loader.name}"`, 'rom', { erases: [], writes: [write], verifies: [check] });
  s.staging = { loader: loader.name, loadAddress: loader.loadAddress, imageSize: loader.imageSize, jumpAddress: loader.loadAddress, enumerationMs: time.enumerationMs() };
  s.estimatedMs += time.leaveMs() + time.enumerationMs();
  return s;
}

function leaveStage(b: Build, at: number, via: Via, placements: Placement[]): PlanStage {
  const s = stage('leave', 'Start the application', via, { erases: [], writes: [], verifies: [] });
  s.leave = { via, address: at };
  s.estimatedMs = b.time.leaveMs();
  if (placements.length > 0 && !placements.some((p) => at >= p.start && at + 8 <= p.end)) {
    b.warnings.push(`The image has no vector table at ${hex32(at)}: leaving DFU starts whatever that memory holds.`);
  }
  return s;
}

/** The plan: what was built, its totals and estimates. */
function summarise(
  b: Build,
  parts: Pick<FlashPlan, 'segments' | 'stages' | 'skippedBytes' | 'regions' | 'loader' | 'loaderRunning'>,
): FlashPlan {
  const { stages } = parts;
  const chip = b.target.chip;
  const writesOfImage = stages.flatMap((s) => s.writes).filter((w) => w.segment >= 0);
  const compared = stages.flatMap((s) => s.compares ?? []);
  const estimatedMs = stages.reduce((n, s) => n + s.estimatedMs, 0);
  return {
    ok: b.errors.length === 0,
    errors: b.errors,
    warnings: b.warnings,
    ...(chip ? { chip: { deviceId: chip.deviceId, name: chip.name } } : {}),
    ...(parts.loader ? { loader: parts.loader } : {}),
    ...(parts.loaderRunning ? { loaderRunning: parts.loaderRunning } : {}),
    options: b.opts,
    regions: parts.regions,
    segments: parts.segments,
    stages,
    totalBytes: writesOfImage.reduce((n, w) => n + w.length, 0),
    skippedBytes: parts.skippedBytes,
    estimatedMs: Math.round(estimatedMs),
    ...(compared.some((c) => !c.rewrite)
      ? {
          estimatedBlankMs: Math.round(estimatedMs - compared.reduce((n, c) => n + (c.rewrite ? 0 : c.eraseMs), 0)),
          estimatedUnchangedMs: Math.round(estimatedMs - compared.reduce((n, c) => n + (c.rewrite ? 0 : c.eraseMs + c.writeMs), 0)),
        }
      : {}),
  };
}

function stage(name: StageName, title: string, via: Via, ops: { erases: EraseOp[]; writes: WriteOp[]; verifies: VerifyOp[]; compares?: CompareOp[]; bulkErase?: EraseOp }): PlanStage {
  const all = [...ops.erases, ...ops.writes, ...ops.verifies, ...(ops.compares ?? [])];
  return {
    name, title, via, ...ops,
    bytes: ops.writes.reduce((n, w) => n + w.length, 0),
    estimatedMs: all.reduce((n, o) => n + o.estimatedMs, 0),
  };
}

function eraseOps(via: Via, placed: Placement[], mass: boolean, time: TimeModel, target: PlanTarget, warnings: string[]): EraseOp[] {
  const out: EraseOp[] = [];
  const byRegion = new Map<PlanRegion, Map<number, Sector>>();
  for (const p of placed) {
    const erasable = p.sectors.filter((s) => s.erasable);
    if (erasable.length === 0) continue;
    const set = byRegion.get(p.region) ?? new Map<number, Sector>();
    for (const s of erasable) set.set(s.start, s);
    byRegion.set(p.region, set);
  }
  for (const [region, sectors] of byRegion) {
    const internal = isInternal(region, target);
    const base = { via, alt: region.alt, region: region.name };
    const sectorMs = (s: Sector) => (via === 'rom' ? time.romEraseSectorMs(s.size) : time.loaderEraseSectorMs(s.size, internal));
    if (mass) {
      // DfuSe 0x41 with no address erases the whole memory (AN3156 §6.1.3): the ROM's time, or the
      // loader manifest's timing.massEraseMs for this memory; a loader memory without that figure is
      // costed as every one of its sectors erased.
      const every = region.layout.blocks.flatMap((b) => b.sectors).filter((s) => s.erasable);
      const estimatedMs = via === 'rom' ? time.romMassEraseMs() : (time.loaderMassEraseMs(region.alt) ?? every.reduce((n, s) => n + sectorMs(s), 0));
      const touched = [...sectors.values()];
      const instead = { sectors: touched.length, estimatedMs: touched.reduce((n, s) => n + sectorMs(s), 0) };
      out.push({ ...base, kind: 'mass', address: region.start, size: region.end - region.start, estimatedMs, instead });
      if (every.length !== region.layout.blocks.reduce((n, b) => n + b.sectors.length, 0)) {
        warnings.push(`${region.name} has sectors that cannot be erased; mass erase may be refused there.`);
      }
      continue;
    }
    for (const s of [...sectors.values()].sort((a, b) => a.start - b.start)) {
      out.push({ ...base, kind: 'sector', address: s.start, size: s.size, estimatedMs: sectorMs(s) });
    }
  }
  return out;
}

function checkLoader(loader: PlanLoader, chip: ChipInfo | undefined, placements: Placement[], errors: PlanIssue[], warnings: string[]): void {
  const start = loader.loadAddress;
  const end = start + loader.imageSize;
  const where = `Loader "${loader.name}" (${span(start, end)}, ${loader.imageSize} bytes)`;
  if (!chip) {
    errors.push({
      code: 'LOADER_CHIP_UNKNOWN',
      message: `${where} cannot be checked against the RAM: the chip is unknown, so neither its RAM nor the part its ROM bootloader uses is known.`,
      range: { start, end }, remedy: 'choose-chip',
    });
    return;
  }
  if (loader.chips && !loader.chips.includes(chip.deviceId)) {
    errors.push({
      code: 'LOADER_WRONG_CHIP',
      message: `${where} is built for device ID ${loader.chips.map((c) => '0x' + c.toString(16)).join(', ')}, not for ${chip.name} (0x${chip.deviceId.toString(16)}). Choose a loader for this chip.`,
      range: { start, end },
    });
  }
  const reserved = chip.romReservedRam;
  if (!reserved) {
    errors.push({
      code: 'LOADER_NOT_IN_RAM',
      message: `${where} cannot be staged on ${chip.name}: the RAM its ROM bootloader uses is not in the chip database (AN2606 figure not found), so no RAM is known to be safe to write.`,
      range: { start, end },
    });
  } else if (start < reserved.end && end > reserved.start) {
    errors.push({
      code: 'LOADER_OVERLAPS_ROM_RAM',
      message: `${where} overlaps the RAM the ROM bootloader uses (${span(reserved.start, reserved.end)}, AN2606): staging it would crash the ROM. Link the loader at or above ${hex32(reserved.end)}.`,
      range: { start: Math.max(start, reserved.start), end: Math.min(end, reserved.end) },
    });
  } else {
    const usable = ramRegions(chip).filter((r) => r.kind === 'ram');
    if (!usable.some((r) => start >= r.start && end <= r.end)) {
      const room = usable.map((r) => `${r.name} ${span(r.start, r.end)}`).join('; ');
      errors.push({
        code: 'LOADER_NOT_IN_RAM',
        message: `${where} does not fit in the RAM the ROM leaves free (${room}). Link the loader inside one of these ranges or make it smaller.`,
        range: { start, end },
      });
    }
  }
  const ramWrites = placements.filter((p) => p.region.kind === 'ram');
  for (const p of ramWrites) {
    if (p.start < end && p.end > start) {
      errors.push({
        code: 'LOADER_OVERLAPS_SEGMENT',
        message: `${where} overlaps segment ${p.index} (${span(p.start, p.end)}) that the plan also writes to RAM. Move one of them.`,
        segment: p.index, range: { start: Math.max(start, p.start), end: Math.min(end, p.end) }, nearest: ref(p.region),
      });
    }
  }
  if (ramWrites.length > 0) warnings.push(`The image writes RAM before the loader runs; the loader's stack and data may overwrite it.`);
}

// ------------------------------------------------------------------------------------------------
// Helpers

/** The likely linker-script cause of loadable bytes in RAM, from the sections involved. */
function ramCause(image: FirmwareImage, sources: string[]): string {
  const names = sources.map((s) => s.replace(/^section /, ''));
  const code = names.filter((n) => /^\.(text|isr_vector|vectors)/i.test(n));
  if (image.format === 'elf' && code.length > 0) {
    return `Code (${code.join(', ')}) is linked into RAM: the linker script's FLASH region or "> FLASH" placement is missing, or this is a RAM-only debug build.`;
  }
  const data = names.find((n) => /^\.(data|ramfunc|fastcode|itcm|dtcm)/i.test(n));
  if (image.format === 'elf' && data) {
    return `Section ${data} has its load address (LMA) in RAM: the linker script places it "> RAM" without "AT> FLASH", so the startup code has nothing in flash to copy from.`;
  }
  return 'The file was linked or converted for RAM addresses.';
}

function altName(image: FirmwareImage, alt: number): string {
  const name = image.targetNames?.[alt];
  return name ? ` ("${name}")` : '';
}

/**
 * A .dfu suffix names the USB device the file is for (DFU 1.1 Appendix B; 0xFFFF = any). The ROM
 * bootloader is 0483:DF11; a running loader is what the target says.
 */
function checkUsbId(image: FirmwareImage, target: PlanTarget, forcible: (i: PlanIssue) => void): void {
  const id = image.usbId;
  if (!id) return;
  // A board running a loader was reached through its ROM: a file made for the ROM fits it too.
  const board = target.device ?? ROM_USB_ID;
  const fits = (want: number, have: number) => want === 0xffff || want === have;
  const fitsId = (d: { vendorId: number; productId: number }) => fits(id.vendorId, d.vendorId) && fits(id.productId, d.productId);
  if (fitsId(board) || (target.loaderRunning === true && fitsId(ROM_USB_ID))) return;
  forcible({
    code: 'DFU_DEVICE_MISMATCH',
    message: `The .dfu file's suffix names USB device ${vidPid(id.vendorId, id.productId)}, but the board is ${vidPid(board.vendorId, board.productId)}: the file was made for another device.`,
    remedy: 'force',
  });
}

function segmentLabel(index: number, sources: string[], start: number, end: number): string {
  const from = sources.length > 0 ? ` (${sources.slice(0, 3).join(', ')}${sources.length > 3 ? ', …' : ''})` : '';
  return `Segment ${index}${from} at ${span(start, end)}`;
}

/** Freezes the plan and everything in it; iterative (a plan can hold millions of objects, arbitrarily nested). */
function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (!v || typeof v !== 'object' || Object.isFrozen(v) || ArrayBuffer.isView(v)) continue;
    Object.freeze(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (v[i] && typeof v[i] === 'object') stack.push(v[i]);
    } else {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        if (x && typeof x === 'object') stack.push(x);
      }
    }
  }
  return value;
}

/**
 * The loader checks alone (runs on this chip, fits the RAM the ROM leaves free), for operations that
 * stage a loader without an image to write (reading external memory).
 */
export function loaderIssues(loader: PlanLoader, chip: ChipInfo | undefined): PlanIssue[] {
  const errors: PlanIssue[] = [];
  checkLoader(loader, chip, [], errors, []);
  return errors;
}
