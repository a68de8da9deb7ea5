// The router: which memory holds a range and who reaches it, for the F746 ROM (internal flash,
// option bytes, OTP, device feature, and its RAM through alt 0) with and without the QSPI loader.
import { describe, expect, it } from 'vitest';
import { formatError } from '../../shared/errors.js';
import { CLI_REMEDIES } from '../../src-main/cli/remedies.js';
import { planErase } from '../../src-main/plan/erase.js';
import { issueError, issueText, routeRange } from '../../src-main/plan/index.js';
import { planRead } from '../../src-main/plan/read.js';
import { F746, qspiLoader, romTarget } from './helpers.js';

const FLASH = 0x0800_0000;
const QSPI = 0x9000_0000;
const rom = romTarget(F746);
const withLoader = romTarget(F746, { loader: qspiLoader() });
const running = romTarget(F746, { loader: qspiLoader(), loaderRunning: true });

describe('routeRange', () => {
  it.each([
    ['internal flash, ROM only', rom, FLASH, {}, 'rom', 0, 'Internal Flash'],
    ['internal flash, loader preferred', withLoader, FLASH, { prefer: 'loader' as const }, 'loader', 0, 'Internal Flash'],
    ['internal flash, ROM by default when the loader is not running', withLoader, FLASH, {}, 'rom', 0, 'Internal Flash'],
    ['internal flash, the running loader by default', running, FLASH, {}, 'loader', 0, 'Internal Flash'],
    ['QSPI through the loader', withLoader, QSPI + 0x1_0000, {}, 'loader', 1, 'QSPI Flash'],
    ['option bytes through the ROM', withLoader, 0x1fff_0000, {}, 'rom', 1, 'Option Bytes'],
    ['SRAM1 through the ROM\'s alt 0', rom, 0x2001_0000, {}, 'rom', 0, 'DTCM+SRAM1+SRAM2'],
  ])('%s', (_name, target, address, options, via, alt, region) => {
    const r = routeRange(target, address, 16, options);
    expect(r.issue).toBeUndefined();
    expect(r.route).toMatchObject({ via, alt, region: { name: region } });
  });

  it('gives the sectors the range touches and what all of them allow', () => {
    const r = routeRange(rom, FLASH + 0x7ff0, 0x20, {});
    expect(r.route!.sectors.map((s) => [s.start, s.size])).toEqual([[FLASH, 0x8000], [FLASH + 0x8000, 0x8000]]);
    expect(r.route!.permissions).toEqual({ readable: true, writable: true, erasable: true });
    // RAM is written through the ROM, never erased.
    expect(routeRange(rom, 0x2001_0000, 4, {}).route!.permissions).toEqual({ readable: true, writable: true, erasable: false });
    // The ROM's own RAM is not writable at all.
    expect(routeRange(rom, 0x2000_0000, 4, {}).route).toMatchObject({ region: { kind: 'rom-reserved' }, permissions: { writable: false } });
  });

  it('leaves the RAM out when asked (reads and erases): RAM then lies outside every memory', () => {
    const r = routeRange(rom, 0x2001_0000, 16, { ram: false });
    expect(r.route).toBeUndefined();
    expect(r.issue).toMatchObject({ code: 'OUTSIDE_REGIONS', remedy: 'choose-loader' });
  });

  it('QSPI without a loader: OUTSIDE_REGIONS, a door-neutral message, the choose-loader remedy', () => {
    const { issue } = routeRange(rom, QSPI, 64);
    expect(issue).toMatchObject({ code: 'OUTSIDE_REGIONS', remedy: 'choose-loader', range: { start: QSPI, end: QSPI + 64 } });
    expect(issue!.message).not.toMatch(/--[a-z]/);
    expect(issueText(issue!, CLI_REMEDIES)).toContain('--loader <package>');
  });

  it('a range running past its memory: PAST_REGION_END, with the memory it starts in', () => {
    const r = routeRange(rom, 0x080f_fff0, 32);
    expect(r.issue).toMatchObject({ code: 'PAST_REGION_END', range: { start: 0x080f_fff0, end: 0x0810_0010 } });
    expect(r.route).toMatchObject({ via: 'rom', region: { name: 'Internal Flash' }, limit: 0x0810_0000 });
  });

  it('what only the ROM serves, on a board running its loader: NEEDS_ROM with the reset-to-rom remedy, BOOT0 only in its wording', () => {
    const r = routeRange(running, 0x1fff_0000, 4);
    expect(r.route).toMatchObject({ via: 'rom', region: { name: 'Option Bytes' } });
    expect(r.issue).toMatchObject({ code: 'NEEDS_ROM', remedy: 'reset-to-rom' });
    expect(r.issue!.message).not.toContain('BOOT0');
    expect(formatError(issueError(r.issue!).toJSON(), CLI_REMEDIES)).toMatch(/Option Bytes, which only the ROM bootloader serves.*Reset the board with BOOT0 held high/);
  });

  it('a side-only route finds the alt of that side or nothing', () => {
    expect(routeRange(withLoader, QSPI, 4, { via: 'rom' }).route).toBeUndefined();
    expect(routeRange(withLoader, FLASH, 4, { via: 'loader' }).route).toMatchObject({ via: 'loader', alt: 0 });
  });
});

describe('read and erase plans', () => {
  it('a read goes to who serves the whole range, and is refused where no one reads', () => {
    expect(planRead(withLoader, QSPI, 4096)).toEqual({ via: 'loader', alt: 1, region: 'QSPI Flash', address: QSPI, length: 4096 });
    expect(planRead(withLoader, FLASH, 16)).toMatchObject({ via: 'rom', alt: 0 });
    expect(() => planRead(rom, QSPI, 16)).toThrow(expect.objectContaining({ code: 'ADDRESS_UNREACHABLE', remedy: 'choose-loader' }));
    expect(() => planRead(running, 0x1fff_0000, 16)).toThrow(expect.objectContaining({ code: 'STAGING_FAILED', remedy: 'reset-to-rom' }));
  });

  it('an erase names each sector once, ROM first, and refuses what no one erases before anything is erased', () => {
    const p = planErase(withLoader, { addresses: [QSPI + 0x1_0004, FLASH + 0x10, FLASH + 0x20] });
    expect(p.sectors).toEqual([
      { via: 'rom', alt: 0, region: 'Internal Flash', address: FLASH, size: 0x8000 },
      { via: 'loader', alt: 1, region: 'QSPI Flash', address: QSPI + 0x1_0000, size: 0x1_0000 },
    ]);
    expect(() => planErase(rom, { addresses: [FLASH, QSPI] })).toThrow(expect.objectContaining({ code: 'ADDRESS_UNREACHABLE' }));
    expect(() => planErase(running, { addresses: [], mass: true })).toThrow(expect.objectContaining({ code: 'STAGING_FAILED', message: expect.stringMatching(/mass erase/) }));
  });
});
