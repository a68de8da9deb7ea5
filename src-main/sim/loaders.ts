// The simulator's own loader images: deterministic bytes with a valid Cortex-M vector table, which a
// simulated board boots as the BootBridge loader (protocol v1) when the ROM leaves to them in RAM.
// assets/loaders/ ships them as packages; a test there checks the package bytes equal these.

import type { SimLoaderImage } from './board.js';
import { simChip, type SimModelName } from './models.js';

/** Manifest values of a simulated loader (everything in SimLoaderImage but the bytes). */
export type SimLoaderSpec = Omit<SimLoaderImage, 'image'> & {
  /** Device IDs it runs on (loader.json `chips`). */
  chips: number[];
  enumerationTimeoutMs: number;
  /** Size of the generated image in bytes. */
  size: number;
};

const VID = 0x1209; // pid.codes
const PID = 0x0001; // the loader protocol document's example ID
const PRODUCT = 'BootBridge Loader';

/**
 * wTransferSize of every simulated loader: the most hosts accept in one control transfer (libusb
 * MAX_CTRL_BUFFER_LENGTH 4096; Windows 4 KB for full-speed devices; usbfs one page). See
 * src-main/loader/manifest.ts MAX_TRANSFER_SIZE.
 */
const TRANSFER_SIZE = 4096;

/** The nonce record (loader protocol §2.3): at this offset of every simulated image, reported as string NONCE_STRING. */
const SIM_NONCE_OFFSET = 0x1f0;
const SIM_NONCE_STRING = 0x10;

function spec(model: SimModelName, name: string, loadAddress: number, memories: string[], transferSize: number): SimLoaderSpec {
  const chip = simChip(model);
  return {
    name,
    loadAddress,
    vendorId: VID,
    productId: PID,
    product: PRODUCT,
    transferSize,
    memories,
    crc32: true,
    overlap: true,
    timing: { enumerationMs: 150 },
    nonce: { offset: SIM_NONCE_OFFSET, string: SIM_NONCE_STRING },
    chips: [chip.deviceId],
    enumerationTimeoutMs: 5000,
    size: 4096,
  };
}

/**
 * STM32F746G-DISCO: serves the N25Q128A QSPI NOR (16 MB, 64 KB sectors, at 0x90000000 in memory-mapped
 * mode) and the internal flash at its real speed. Loads in SRAM1, above the 16 KB the ROM uses.
 */
export const SIM_LOADER_F746: SimLoaderSpec = spec(
  'stm32f746',
  'BootBridge simulated loader (STM32F746G-DISCO: QSPI + internal flash)',
  0x2001_0000,
  ['@QSPI Flash /0x90000000/256*064Kg', '@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg'],
  TRANSFER_SIZE,
);

const LOAD_ADDRESS: Record<SimModelName, number> = {
  stm32f746: SIM_LOADER_F746.loadAddress,
  stm32f407: 0x2000_4000,
  stm32h743: 0x2400_0000,
  stm32g474: 0x2000_8000,
  stm32l476: 0x2000_8000,
};

/** Manifest values of the simulated loader for a model (internal flash only, except the F746's). */
export function simLoaderSpec(model: SimModelName): SimLoaderSpec {
  if (model === 'stm32f746') return SIM_LOADER_F746;
  const chip = simChip(model);
  return spec(model, `BootBridge simulated loader (${chip.name}: internal flash)`, LOAD_ADDRESS[model], [chip.romAltStrings[0]!], TRANSFER_SIZE);
}

/**
 * The loader image for a model: a vector table (SP = top of the SRAM block it loads in, reset and
 * fault handlers as Thumb addresses inside the image), a header naming the loader, and filler code.
 * Same model → same bytes, always.
 */
export function simLoaderImage(model: SimModelName): Uint8Array {
  const s = simLoaderSpec(model);
  const chip = simChip(model);
  const ram = chip.ram.find((r) => s.loadAddress >= r.start && s.loadAddress < r.start + r.size)!;
  const out = new Uint8Array(s.size);
  const dv = new DataView(out.buffer);
  const entry = s.loadAddress + 0x200;
  dv.setUint32(0, ram.start + ram.size, true);
  dv.setUint32(4, (entry | 1) >>> 0, true);
  for (let v = 2; v < 16; v++) dv.setUint32(v * 4, ((entry + 0x40) | 1) >>> 0, true); // NMI … SysTick: a fault loop
  const header = new TextEncoder().encode(`BBLD\u0001${model}\u0000${s.name}\u0000`);
  out.set(header.subarray(0, SIM_NONCE_OFFSET - 0x100), 0x100);
  // The nonce record: "BBNONCE1" and 8 zero bytes the host overwrites before staging (loader protocol §2.3).
  out.set(new TextEncoder().encode('BBNONCE1'), SIM_NONCE_OFFSET);
  // Filler "code": xorshift bytes seeded by the device ID, so every model's image differs.
  let x = (0x9e3779b9 ^ chip.deviceId) >>> 0;
  for (let i = 0x200; i < out.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The loader images a simulated board of this model recognises. */
export function simLoaderImages(model: SimModelName): SimLoaderImage[] {
  const { chips: _chips, enumerationTimeoutMs: _t, size: _size, ...values } = simLoaderSpec(model);
  return [{ ...values, memories: [...values.memories], image: simLoaderImage(model) }];
}
