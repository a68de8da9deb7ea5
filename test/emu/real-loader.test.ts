// The real STM32F746G-DISCO loader (assets/loaders/stm32f746g-disco, built from firmware/loader) staged
// on a simulated F746 and run on the emulated Cortex-M7: its own machine code enumerates, programs the
// board's internal flash and QSPI NOR, computes CRC32 over them and leaves to the application.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binAt, measureFlash, prepare, simBus } from '../../bench/sim.js';
import { runPlan } from '../../src-main/engine/index.js';
import { openFirmwareFile, openLoaderFolder } from '../../src-main/operations/files.js';
import { defaultSimSerial, type SimBoard } from '../../src-main/sim/index.js';
import { pattern } from '../support/data.js';
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

  async function flashSmall(opts: { loaderDir?: string; fault?: (board: SimBoard) => void } = {}) {
    const clock = new VirtualClock();
    const bus = simBus(clock, 'stm32f746');
    unplugAll = () => [...bus.boards].forEach((b) => bus.removeBoard(b));
    const firmware = await binAt(0x90000000, pattern(8192));
    const loader = await openLoaderFolder(opts.loaderDir ?? join(ROOT, 'assets/loaders/stm32f746g-disco'));
    const { device, details, plan, board } = await prepare({ bus, firmware, loader, options: { leave: false } });
    opts.fault?.(board);
    const result = await runPlan({ backend: bus, clock, ...(details.chip ? { deviceId: details.chip.deviceId } : {}) }, { device }, plan, firmware.image, loader);
    return { result, board };
  }

  it('a bit flipped on the wire reaches the loader, which stores it: its CRC32 verification fails', async () => {
    // Armed once the emulated loader runs: the staging itself (through the ROM) goes through clean.
    const { result, board } = await flashSmall({ fault: (b) => void b.onModeChange((m) => m === 'loader' && b.faults.add({ kind: 'flip-bit', offset: 100, bit: 2 })) });
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('VERIFY_MISMATCH');
    expect(board.read(0x90000000 + 100, 1)[0]).toBe(pattern(8192)[100]! ^ 0x04);
  }, 120_000);

  it('a corrupted loader image (valid vector table, broken code) never enumerates: LOADER_TIMEOUT, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-broken-'));
    cpSync(join(ROOT, 'assets/loaders/stm32f746g-disco'), dir, { recursive: true });
    const image = readFileSync(join(dir, 'loader.bin'));
    const reset = (image.readUInt32LE(4) & ~1) - 0x20010000;
    image.fill(0xff, reset, reset + 64); // 0xFFFF…: not a valid Thumb-2 instruction stream
    writeFileSync(join(dir, 'loader.bin'), image);
    const manifest = JSON.parse(readFileSync(join(dir, 'loader.json'), 'utf8')) as { image: { sha256: string } };
    manifest.image.sha256 = createHash('sha256').update(image).digest('hex');
    writeFileSync(join(dir, 'loader.json'), JSON.stringify(manifest));
    const { result, board } = await flashSmall({ loaderDir: dir });
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('LOADER_TIMEOUT');
    expect(board.emulation?.end?.kind).toBe('fault');
    expect(board.read(0x90000000, 64)).toEqual(new Uint8Array(64).fill(0xff));
  }, 120_000);
});
