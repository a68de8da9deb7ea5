// The real STM32F746G-DISCO loader (assets/loaders/stm32f746g-disco, built from firmware/loader) staged
// on a simulated F746 and run on the emulated Cortex-M7: its own machine code enumerates, programs the
// board's internal flash and QSPI NOR, computes CRC32 over them and leaves to the application.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureFlash, simBus } from '../../bench/sim.js';
import { openFirmwareFile, openLoaderFolder } from '../../src-main/services/files.js';
import { VirtualClock } from '../../src-main/util/clock.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the real F746G-DISCO loader on the emulated board (in-process bus, virtual time)', () => {
  it('flashes the demo into both memories through the loader, verified by CRC32; the board holds the bytes; the application runs', async () => {
    const clock = new VirtualClock();
    const bus = simBus(clock, 'stm32f746');
    expect(bus.emulator, 'python3-unicorn is needed (sudo apt-get install python3-unicorn)').toBeDefined();
    const firmware = await openFirmwareFile(join(ROOT, 'assets/examples/demo-f746/demo-f746.elf'));
    const loader = await openLoaderFolder(join(ROOT, 'assets/loaders/stm32f746g-disco'));
    const run = await measureFlash({ bus, firmware, loader, options: {} });
    expect(run.result.ok).toBe(true);
    // Both memories were verified by the loader's CRC32 (0xB0), computed by its own code over what it wrote.
    const regions = run.result.verified.map((v) => `${v.region}:${v.method}`);
    expect(regions).toEqual(expect.arrayContaining(['Internal Flash:crc32', 'QSPI Flash:crc32']));
    // What the emulated loader programmed is the board's own memory (written through at once).
    const board = run.board;
    for (const seg of firmware.image.segments) expect(board.read(seg.address, seg.data.length)).toEqual(seg.data);
    // It went through the emulated core, which ended by branching into flash: the application runs.
    expect(board.emulation?.end?.kind).toBe('jump');
    expect(board.mode).toBe('app');
  }, 120_000);
});
