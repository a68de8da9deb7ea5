// The real STM32F746G-DISCO loader (assets/loaders/stm32f746g-disco, built from firmware/loader) staged
// on a simulated F746 and run on the emulated Cortex-M7: its own machine code enumerates, programs the
// board's internal flash and QSPI NOR, computes CRC32 over them and leaves to the application.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { measureFlash, prepare, simBus } from '../../bench/sim.js';
import { runPlan } from '../../src-main/engine/index.js';
import { openFirmwareFile, openLoaderFolder } from '../../src-main/services/files.js';
import { defaultSimSerial } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';

const ROOT = join(import.meta.dirname, '..', '..');
const defaultSerial = defaultSimSerial('stm32f746');

let unplugAll = () => {};
afterEach(() => unplugAll());

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

  async function stagedWithImpostor(serial: string) {
    const clock = new VirtualClock();
    const bus = simBus(clock, 'stm32f746');
    const firmware = await openFirmwareFile(join(ROOT, 'assets/examples/demo-f746/demo-f746.elf'));
    const loader = await openLoaderFolder(join(ROOT, 'assets/loaders/stm32f746g-disco'));
    const { device, details, plan, board } = await prepare({ bus, firmware, loader, options: {} });
    board.faults.add({ kind: 'other-board-instead-of-loader', serial });
    const result = await runPlan({ backend: bus, clock, ...(details.chip ? { deviceId: details.chip.deviceId } : {}) }, { device }, plan, firmware.image, loader);
    const impostor = bus.boards.find((b) => b !== board)!;
    // Unplugged at the end of each test: their emulator processes go with them.
    unplugAll = () => [...bus.boards].forEach((b) => bus.removeBoard(b));
    return { result, board, impostor };
  }

  it('another board running the same image enumerates instead: its loader reports its own serial and is left alone', async () => {
    const { result, board, impostor } = await stagedWithImpostor('0000000AFFFF');
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('LOADER_TIMEOUT');
    // The serial comes from the impostor's own UID, computed by the loader's code (ST Get_SerialNum).
    expect(result.error?.message).toContain('serial 0000000AFFFF');
    expect(impostor.emulation?.running).toBe(true);
    expect(board.read(0x90000000, 64)).toEqual(new Uint8Array(64).fill(0xff));
  }, 120_000);

  it('a board with the same serial running the image without this run\'s nonce is refused before any data', async () => {
    const { result, board, impostor } = await stagedWithImpostor(defaultSerial);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('STAGING_FAILED');
    expect(result.error?.context).toMatchObject({ reportedNonce: '0000000000000000' });
    expect(impostor.read(0x90000000, 64)).toEqual(new Uint8Array(64).fill(0xff));
    expect(board.read(0x90000000, 64)).toEqual(new Uint8Array(64).fill(0xff));
  }, 120_000);
});
