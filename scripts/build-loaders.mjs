#!/usr/bin/env node
// Builds the real loader packages from firmware/loader with Debian's arm-none-eabi-gcc + newlib:
//   node scripts/build-loaders.mjs [--out <folder>]   (default: assets/loaders)
// Each package is <out>/<board>/ = loader.bin + loader.json + README.md. The build is reproducible
// byte for byte (no paths, build ids or timestamps in the output), and it fails when the image, its
// .bss and its stack do not fit the RAM the linker script declares (SRAM1 from 0x20010000).
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const firmware = join(root, 'firmware', 'loader');

/** Loader string-descriptor indices (firmware/loader/core/usbd.h). */
const STR_NONCE = 0x20;
const STR_ENTRY_REPORT = 0x21;
const LOAD_ADDRESS = 0x20010000;

/**
 * Every board file in firmware/loader/boards/ is a package: the file holds, besides the board's C
 * definition, its manifest fields as JSON inside a comment: from a line `loader.json:` to the end of
 * that comment. A second board needs only its board file.
 */
function boards() {
  const dir = join(firmware, 'boards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      const m = /^loader\.json:\s*\n([\s\S]*?)\*\//m.exec(text);
      if (!m) throw new Error(`${f}: no "loader.json:" comment block with the package's manifest fields`);
      return { board: f.slice(0, -2), manifest: JSON.parse(m[1]) };
    });
}

function hex(n, digits = 8) {
  return `0x${n.toString(16).toUpperCase().padStart(digits, '0')}`;
}

function symbols(elf) {
  const out = execFileSync('arm-none-eabi-nm', [elf], { encoding: 'utf8' });
  const map = new Map();
  for (const line of out.split('\n')) {
    const [addr, , name] = line.trim().split(/\s+/);
    if (name) map.set(name, parseInt(addr, 16));
  }
  return map;
}

function readme(m, info) {
  return `# ${m.name}

Built from \`firmware/loader\` (board file \`firmware/loader/boards/${info.board}.c\`) by \`npm run build:loaders\`;
do not edit these files by hand — the build rebuilds them byte for byte and a test fails if they differ.

**Experimental**: no run on a real board has been recorded yet. See docs/loader-bringup.md for the steps,
the output to expect and what to send back. Without a board, the simulator runs this very image on its
emulated STM32F746 (\`--sim stm32f746\`), and \`bootbridge loader check assets/loaders/${info.board}\`
holds it to the loader protocol there.

| | |
|---|---|
| image | \`loader.bin\`, loaded at ${hex(LOAD_ADDRESS)} (SRAM1, above the ROM's RAM) |
| code + data | ${info.imageBytes} bytes |
| RAM used | ${info.ramBytes} bytes from ${hex(LOAD_ADDRESS)} (image, .bss ${info.bssBytes} bytes, stack ${info.stackBytes} bytes) of the ${info.ramLimit} declared |
| USB | 1209:0001 "BootBridge Loader", serial = the ROM's serial (UID), wTransferSize 4096 |
| alt 0 | \`${m.memories[0]}\` — Micron N25Q128A, 64 KB sectors (4 KB subsectors are not offered) |
| alt 1 | internal flash as the chip's flash-size register says: \`04*032Kg,01*128Kg,03*256Kg\` on a 1 MB F746, \`02*032Kg\` on the F7508-DK's 64 KB F750 |
| commands | 00 (list: 00 21 41 B0 B1), 21 set address, 41 sector erase / 41 alone mass erase (QSPI: bulk erase C7), B0 CRC-32, B1 background writes (overlap extension) |
| staging nonce | record \`BBNONCE1\` + 8 bytes at image offset ${info.nonceOffset}, reported as string ${STR_NONCE} |
| entry report | string ${STR_ENTRY_REPORT}: \`IPSR CTRL VTOR CR PLL CSR CCR IWDG HSE\` (see below) |

## Entry report keys
What the loader found when the ROM jumped to it, read before it changed anything (hex, 8 digits):
IPSR and CTRL (CONTROL) — thread or handler mode, stack; VTOR; CR, PLL, CSR — RCC_CR, RCC_PLLCFGR,
RCC_CSR (reset flags); CCR — SCB_CCR (bit 16 D-cache, bit 17 I-cache); IWDG — 1 when the watchdog was
running (hardware option or LSI forced on), else 0; HSE — the HSE frequency in Hz measured against HSI.
Every value has 8 hex digits; one string descriptor holds at most 126 characters, hence the short keys
(and no room for SYSCLK at entry: CR, PLL and HSE give the PLL output).

## LED LD1 (green, PI1)
- steady on: the loader runs and serves USB;
- 2 blinks, pause, repeated: no usable HSE (USB full speed needs a crystal; the loader does not enumerate);
- 3 blinks: the PLL did not lock; 5 blinks: a CPU fault (USB disconnected).
`;
}

function build(entry, outRoot) {
  const work = mkdtempSync(join(tmpdir(), 'bb-loader-'));
  try {
    execFileSync('make', ['-s', '-C', firmware, `BOARD=${entry.board}`, `OUT=${work}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    const bin = readFileSync(join(work, 'loader.bin'));
    const sym = symbols(join(work, 'loader.elf'));
    const imageEnd = sym.get('_image_end');
    const bssStart = sym.get('_bss_start');
    const bssEnd = sym.get('_bss_end');
    const stackTop = sym.get('_stack_top');
    const ramLimit = 0x10000;
    const stackBytes = 0x1000;
    if (imageEnd - LOAD_ADDRESS !== bin.length) throw new Error(`image size ${bin.length} does not end at _image_end`);
    const ramBytes = stackTop - LOAD_ADDRESS;
    if (ramBytes > ramLimit) throw new Error(`RAM use ${ramBytes} exceeds the declared ${ramLimit}`);
    const magic = Buffer.from('BBNONCE1');
    const at = bin.indexOf(magic);
    if (at < 0 || at % 4 !== 0 || bin.indexOf(magic, at + 1) >= 0 || !bin.subarray(at + 8, at + 16).equals(Buffer.alloc(8)))
      throw new Error('the image must hold exactly one 4-aligned "BBNONCE1" + 8 zero bytes');
    const info = {
      board: entry.board,
      loadAddress: LOAD_ADDRESS,
      stackTop,
      imageBytes: bin.length,
      bssBytes: bssEnd - bssStart,
      stackBytes,
      ramBytes,
      ramLimit,
      nonceOffset: hex(at, 4),
    };
    const manifest = {
      ...entry.manifest,
      image: { file: 'loader.bin', loadAddress: hex(LOAD_ADDRESS), sha256: createHash('sha256').update(bin).digest('hex') },
      nonce: { offset: hex(at, 4), string: STR_NONCE },
      entryReport: { string: STR_ENTRY_REPORT },
    };
    // key order as in docs/loader-protocol.md §6
    const ordered = {
      protocol: manifest.protocol,
      name: manifest.name,
      version: manifest.version,
      description: manifest.description,
      board: manifest.board,
      chips: manifest.chips,
      image: manifest.image,
      usb: manifest.usb,
      transferSize: manifest.transferSize,
      memories: manifest.memories,
      extensions: manifest.extensions,
      timing: manifest.timing,
      experimental: manifest.experimental,
      nonce: manifest.nonce,
      entryReport: manifest.entryReport,
    };
    const dir = join(outRoot, entry.board);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'loader.bin'), bin);
    writeFileSync(join(dir, 'loader.json'), `${JSON.stringify(ordered, null, 2)}\n`);
    writeFileSync(join(dir, 'README.md'), readme(entry.manifest, info));
    console.log(
      `${entry.board}: code+data ${info.imageBytes} B, .bss ${info.bssBytes} B, stack ${stackBytes} B → RAM ${ramBytes} B of ${ramLimit} B from ${hex(LOAD_ADDRESS)}; nonce at ${info.nonceOffset}`,
    );
    return info;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? resolve(args[i + 1]) : undefined;
};
const outRoot = option('--out') ?? join(root, 'assets', 'loaders');
const report = {};
for (const entry of boards()) report[entry.board] = build(entry, outRoot);
// --report <file>: sizes as JSON, for the test that checks them
const reportFile = option('--report');
if (reportFile) writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
