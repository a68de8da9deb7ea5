// Scenario 2: internal flash through the ROM bootloader against the loader route, same board, same
// 1 MB image, in virtual time (modelled device time: the ROM's reported poll timeouts, the flash's
// real program/erase times, the USB wire model of src-main/sim/timing.ts).

import { SIM_LOADER_F746 } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { ratio, seconds, type BenchOptions, type Scenario, type Shared } from '../scenario.js';
import { KiB, MiB, binAt, measureFlash, pattern, simBus, simLoader, spanMs, type FlashRun } from '../sim.js';

const FLASH = 0x08000000;

export const internalSize = (o: BenchOptions): number => (o.quick ? 64 * KiB : MiB);

/** The two routes on fresh boards; shared with the host-cost scenario. */
export function internalRuns(o: BenchOptions, shared: Shared): Promise<{ rom: FlashRun; loader: FlashRun }> {
  return shared.once('internal-routes', async () => {
    const firmware = await binAt(FLASH, pattern(internalSize(o), 7));
    const loader = await simLoader();
    o.log(`internal flash ${internalSize(o) / KiB} KB through the ROM…`);
    // --full on both: this scenario compares the routes, each erasing and writing (scenario 11 measures comparison).
    const rom = await measureFlash({ bus: simBus(new VirtualClock()), firmware, options: { leave: false, skipUnchanged: false } });
    o.log(`internal flash ${internalSize(o) / KiB} KB through the loader…`);
    const viaLoader = await measureFlash({ bus: simBus(new VirtualClock()), firmware, loader, options: { leave: false, routeInternalViaLoader: true, skipUnchanged: false } });
    if (viaLoader.result.stageMs.staging === undefined) throw new Error('the loader route did not stage the loader');
    return { rom, loader: viaLoader };
  });
}

export const routes: Scenario = {
  id: 2,
  title: 'Internal flash: ROM route vs loader route',
  async run(o, shared) {
    const { rom, loader } = await internalRuns(o, shared);
    const speedup = ratio(rom.clockMs, loader.clockMs);
    const staging = loader.result.stageMs.staging ?? 0;
    const notes = [
      'Both routes erase the sectors the image touches, write, and verify (the ROM by reading back, the loader by CRC32); the loader route includes staging (write the loader to RAM, read it back, jump, wait for it to enumerate).',
      `ROM write phase ${seconds(spanMs(rom.spans, { phase: 'write' })).toFixed(1)} s, verify ${seconds(spanMs(rom.spans, { phase: 'verify' })).toFixed(1)} s; loader write ${seconds(spanMs(loader.spans, { stage: 'loader', phase: 'write' })).toFixed(1)} s, verify ${seconds(spanMs(loader.spans, { stage: 'loader', phase: 'verify' })).toFixed(2)} s.`,
      `The simulated loader takes ${SIM_LOADER_F746.transferSize}-byte blocks and reports its real busy time; the ROM takes 2048-byte blocks and reports 104 ms each (reference/timing.md).`,
    ];
    if (o.quick) notes.push('Quick mode: 64 KB, where staging and the erase (the same silicon on both routes) weigh far more than on 1 MB; the target is for 1 MB.');
    if (!(speedup >= 4)) {
      notes.push(
        `Missed: the loader route is ${speedup.toFixed(1)}× faster. Erase time is the same silicon on both routes and does not shrink; ` +
          'what would close it: larger images amortise staging, and a loader that erases the next sector while the host sends data (not modelled by the simulator).',
      );
    }
    return {
      setup: `Simulated STM32F746 (in process, SimBus on a VirtualClock: modelled device time), ${internalSize(o) / KiB} KB of non-blank data at 0x08000000, no leave.`,
      measurements: [
        { name: 'ROM route, modelled time', value: seconds(rom.clockMs), unit: 's' },
        { name: 'loader route, modelled time (staging included)', value: seconds(loader.clockMs), unit: 's' },
        { name: '… of which staging', value: seconds(staging), unit: 's' },
        { name: 'speed-up, loader route over ROM route', value: speedup, unit: '×', target: '≥ 4×', met: speedup >= 4 },
        { name: 'control transfers, ROM route', value: rom.transfers.total, unit: '' },
        { name: 'control transfers, loader route', value: loader.transfers.total, unit: '' },
        { name: 'wall time to simulate both', value: seconds(rom.wallMs + loader.wallMs), unit: 's' },
      ],
      notes,
    };
  },
};
