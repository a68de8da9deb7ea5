// Scenarios 3–5 on the external memory: 16 MB to the simulated STM32F746G-DISCO's N25Q128A QSPI NOR
// through the loader, in virtual time. The same run gives the host overhead against the board model's
// own lower bound (3), the CRC32 verification time against a read-back (4), and the staging gap (5).

import type { FlashPlan } from '../../src-main/plan/index.js';
import { SIM_LOADER_F746, wireMs } from '../../src-main/sim/index.js';
import { boardExtras } from '../../src-main/sim/models.js';
import { LOADER_ENUMERATION_MS } from '../../src-main/sim/timing.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { ratio, seconds, type BenchOptions, type Scenario, type Shared } from '../scenario.js';
import { MiB, binAt, measureFlash, pattern, simBus, simLoader, spanMs, stagingGapMs, type FlashRun } from '../sim.js';

const QSPI = 0x90000000;
const REGION = 'QSPI Flash';

export const qspiSize = (o: BenchOptions): number => (o.quick ? MiB : 16 * MiB);

/** Every loader-stage verification of the plan done by reading back instead of CRC32. */
function readBackPlan(p: FlashPlan): FlashPlan {
  const copy = structuredClone(p) as FlashPlan;
  for (const stage of copy.stages) {
    if (stage.name !== 'loader') continue;
    (stage as { verifies: FlashPlan['stages'][number]['verifies'] }).verifies = stage.verifies.map((v) => ({ ...v, method: 'read-back' as const }));
  }
  return copy;
}

export function qspiRun(o: BenchOptions, shared: Shared, verify: 'crc32' | 'read-back'): Promise<FlashRun> {
  return shared.once(`qspi-${verify}`, async () => {
    const firmware = await shared.once('qspi-image', () => binAt(QSPI, pattern(qspiSize(o), 11)));
    const loader = await simLoader();
    o.log(`QSPI ${qspiSize(o) / MiB} MB through the loader, verify by ${verify}…`);
    // --full: these scenarios measure the erase-and-write strategy itself (scenario 9 the comparison).
    return measureFlash({ bus: simBus(new VirtualClock()), firmware, loader, options: { leave: false, skipUnchanged: false }, ...(verify === 'read-back' ? { editPlan: readBackPlan } : {}) });
  });
}

/**
 * The board model's figures for erasing and programming `size` bytes: the part's busy time (erase and
 * page programs, one after the other), the data's own time on the wire, their sum (what a host that
 * waits for each block before sending the next needs) and the physical bound max(busy, wire).
 */
export function qspiBound(size: number): { eraseMs: number; programMs: number; wireMs: number; totalMs: number; physicalMs: number } {
  const ext = boardExtras('stm32f746').find((e) => e.spec.kind === 'qspi');
  if (!ext) throw new Error('the simulated F746 has no QSPI memory');
  const sectorSize = ext.spec.sectors[0]!.size;
  const eraseMs = Math.ceil(size / sectorSize) * ext.sectorEraseMs;
  const programMs = Math.ceil(size / ext.spec.unitBytes) * ext.pageProgramMs;
  const block = SIM_LOADER_F746.transferSize;
  const full = Math.floor(size / block);
  const rest = size - full * block;
  const wire = full * wireMs(block) + (rest ? wireMs(rest) : 0);
  return { eraseMs, programMs, wireMs: wire, totalMs: eraseMs + programMs + wire, physicalMs: Math.max(eraseMs + programMs, wire) };
}

export const qspiOverhead: Scenario = {
  id: 3,
  title: 'External memory through the loader: 16 MB QSPI against the physical bound',
  async run(o, shared) {
    const run = await qspiRun(o, shared, 'crc32');
    const size = qspiSize(o);
    const bound = qspiBound(size);
    const erase = spanMs(run.spans, { stage: 'loader', phase: 'erase', region: REGION });
    const write = spanMs(run.spans, { stage: 'loader', phase: 'write', region: REGION });
    const measured = erase + write;
    const over = ratio(measured, bound.physicalMs);
    const blocks = Math.ceil(size / SIM_LOADER_F746.transferSize);
    const notes = [
      `Lower bound from the board model (src-main/sim/models.ts, timing.ts): ${size / (64 * 1024)} sector erases × 700 ms = ${seconds(bound.eraseMs).toFixed(1)} s, ${size / 256} page programs × 0.5 ms = ${seconds(bound.programMs).toFixed(1)} s, ${blocks} blocks of ${SIM_LOADER_F746.transferSize} bytes on the wire = ${seconds(bound.wireMs).toFixed(1)} s. The part erases and programs one thing at a time, but the wire can carry the next block while it programs (the loader's overlap extension, docs/loader-protocol.md §8), so the physical bound is max(erase + programs, wire) = ${seconds(bound.physicalMs).toFixed(1)} s; block by block they add up to ${seconds(bound.totalMs).toFixed(1)} s.`,
      `The overhead is what the protocol adds around the data: ${(run.transfers.total / blocks).toFixed(2)} control transfers per block (set-address, GETSTATUS polls), the poll timeouts rounded up to whole milliseconds.`,
    ];
    if (!(over <= 1.1)) {
      notes.push(
        `Missed: ${((over - 1) * 100).toFixed(1)} % above the bound. What would close it: fewer GETSTATUS round trips per block (a loader that reports exact busy times), ` +
          'one set-address per contiguous run, or erasing ahead while data is in flight.',
      );
    }
    return {
      setup: `Simulated STM32F746G-DISCO (in process, VirtualClock), ${size / MiB} MB of non-blank data at 0x90000000 through the simulated loader (staged through the ROM), verify by CRC32, no leave.`,
      measurements: [
        { name: 'erase + write, measured (modelled time)', value: seconds(measured), unit: 's' },
        { name: 'physical bound: max(erase + page programs, USB data)', value: seconds(bound.physicalMs), unit: 's' },
        { name: 'block by block: erase + page programs + USB data', value: seconds(bound.totalMs), unit: 's' },
        { name: 'measured / bound', value: over, unit: '×', target: '≤ 1.10×', met: over <= 1.1 },
        { name: 'whole run (staging, erase, write, CRC32 verify)', value: seconds(run.clockMs), unit: 's' },
        { name: 'control transfers per block', value: run.transfers.total / blocks, unit: '' },
        { name: 'wall time to simulate', value: seconds(run.wallMs), unit: 's' },
      ],
      notes,
    };
  },
};

export const verification: Scenario = {
  id: 4,
  title: 'Verification: CRC32 in the loader vs read-back',
  async run(o, shared) {
    const crc = await qspiRun(o, shared, 'crc32');
    const back = await qspiRun(o, shared, 'read-back');
    const crcMs = spanMs(crc.spans, { stage: 'loader', phase: 'verify' });
    const backMs = spanMs(back.spans, { stage: 'loader', phase: 'verify' });
    const speedup = ratio(backMs, crcMs);
    const notes = [
      'Same flash twice on fresh boards; only the loader stage\'s verification differs (the plan\'s verify method edited to read-back for the second run). The simulated loader computes CRC32 at 100 MB/s (its model); read-back is bounded by USB full speed.',
    ];
    if (!(speedup >= 5)) notes.push('Missed: CRC32 is not 5× faster than reading back; check the loader\'s CRC rate in the model and the number of CRC commands per range.');
    return {
      setup: `Same ${qspiSize(o) / MiB} MB QSPI flash as scenario 3 (VirtualClock, modelled time).`,
      measurements: [
        { name: 'verify by CRC32 in the loader', value: crcMs, unit: 'ms' },
        { name: 'verify by read-back over USB', value: seconds(backMs), unit: 's' },
        { name: 'speed-up, CRC32 over read-back', value: speedup, unit: '×', target: '≥ 5×', met: speedup >= 5 },
        { name: 'control transfers, CRC32 run', value: crc.transfers.total, unit: '' },
        { name: 'control transfers, read-back run', value: back.transfers.total, unit: '' },
      ],
      notes,
    };
  },
};

export const stagingOverhead: Scenario = {
  id: 5,
  title: 'Staging overhead: from the ROM’s leave to the first loader command',
  async run(o, shared) {
    const run = await qspiRun(o, shared, 'crc32');
    const gap = stagingGapMs(run.events);
    if (gap === undefined) throw new Error('the run has no staging');
    const write = spanMs(run.spans, { stage: 'staging', phase: 'stage' });
    const check = spanMs(run.spans, { stage: 'staging', phase: 'verify' });
    const enumeration = SIM_LOADER_F746.timing?.enumerationMs ?? LOADER_ENUMERATION_MS;
    return {
      setup: `The staging stage of scenario 3's run (simulated loader of ${SIM_LOADER_F746.size} bytes at 0x${SIM_LOADER_F746.loadAddress.toString(16)}; VirtualClock, modelled time).`,
      measurements: [
        { name: 'leave → first loader command', value: gap, unit: 'ms' },
        { name: '… of which the loader’s own start-up and enumeration (model)', value: enumeration, unit: 'ms' },
        { name: '… host side (jump request, waiting to see the loader, opening it)', value: gap - enumeration, unit: 'ms' },
        { name: 'loader written to RAM through the ROM', value: write, unit: 'ms' },
        { name: 'loader read back and compared', value: check, unit: 'ms' },
        { name: 'whole staging stage', value: run.result.stageMs.staging ?? NaN, unit: 'ms' },
      ],
      notes: [
        'No target set. The host-side share is the leave request and its GETSTATUS, the bus polling interval while waiting for the loader to enumerate, and reading its descriptors and alt-setting strings.',
      ],
    };
  },
};
