// Automatic loader choice is narrow: a board-specific loader is taken only for memory the ROM cannot
// reach that it serves, on the chip it names — never for an image the ROM could place by itself.
import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { autoLoaderCandidates } from '../../src-main/loader/index.js';
import { simChip } from '../../src-main/sim/index.js';
import { simLoader } from '../engine/helpers.js';

const f746 = simChip('stm32f746');
const rom = f746.romAltStrings.map((s) => parseLayout(s));

describe('automatic loader choice', () => {
  it('takes the F746 loader for a QSPI segment on an F746', async () => {
    const all = [{ id: 'sim-f746', pkg: await simLoader('stm32f746') }, { id: 'sim-f407', pkg: await simLoader('stm32f407') }];
    expect(autoLoaderCandidates(all, f746.deviceId, rom, [0x08000000, 0x90000000]).map((c) => c.id)).toEqual(['sim-f746']);
  });

  it('never for an image the ROM can place (internal flash only), even where the loader would be faster', async () => {
    const all = [{ id: 'sim-f746', pkg: await simLoader('stm32f746') }];
    expect(autoLoaderCandidates(all, f746.deviceId, rom, [0x08000000, 0x08040000])).toEqual([]);
  });

  it('never on an unknown chip, nor one the package does not name', async () => {
    const all = [{ id: 'sim-f746', pkg: await simLoader('stm32f746') }];
    expect(autoLoaderCandidates(all, undefined, rom, [0x90000000])).toEqual([]);
    expect(autoLoaderCandidates(all, simChip('stm32f407').deviceId, rom, [0x90000000])).toEqual([]);
  });
});
