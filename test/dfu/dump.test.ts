import { describe, expect, it } from 'vitest';
import { parseLayout } from '../../src-main/dfu/layout.js';
import { readDfuDescriptors } from '../../src-main/dfu/descriptors.js';
import { formatDump, formatLayoutRuns } from '../../src-main/dfu/dump.js';
import { CUBEPROGRAMMER_VB3, descriptorDevice, F746 } from '../usb/fixtures.js';


describe('formatDump', () => {
  it('prints the F746 descriptors exactly as STM32CubeProgrammer -vb 3 does', async () => {
    const dump = formatDump(await readDfuDescriptors(descriptorDevice(F746)));
    expect(dump.startsWith(CUBEPROGRAMMER_VB3)).toBe(true);
  });

  it('follows with every alt setting decoded as sector runs', async () => {
    const dump = formatDump(await readDfuDescriptors(descriptorDevice(F746)));
    const tail = dump.slice(CUBEPROGRAMMER_VB3.length).split('\n');
    expect(tail).toContain('FW version : 0x011a');
    expect(tail).toContain('Memory of Alternate Setting 0x00 : @Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg');
    expect(tail).toContain(' |_0x08000000 - 0x0801ffff : 4 x 32 KiB rew');
    expect(tail).toContain(' |_0x08020000 - 0x0803ffff : 1 x 128 KiB rew');
    expect(tail).toContain(' |_0x08040000 - 0x080fffff : 3 x 256 KiB rew');
    expect(tail).toContain(' |_0x1fff0000 - 0x1fff001f : 1 x 32 B r-w');
  });
});

describe('formatLayoutRuns', () => {
  it('gives one line per run of equal sectors in every address block, with r/e/w flags', () => {
    const layout = parseLayout('@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e,02*1Ka');
    expect(formatLayoutRuns(layout)).toEqual([
      ' |_0x1fff7800 - 0x1fff782f : 1 x 48 B r-w',
      ' |_0x1ffff800 - 0x1ffff82f : 1 x 48 B r-w',
      ' |_0x1ffff830 - 0x2000002f : 2 x 1 KiB r--',
    ]);
  });
});
