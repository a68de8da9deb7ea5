// `bootbridge convert`: a firmware file to a raw binary (as `objcopy -O binary` makes it) or to a
// DfuSe .dfu. The input is parsed as it is read (readFirmwareFile) and the output written part by
// part from the image's own bytes, so a 256 MiB image costs about its own size in memory, once; an
// ELF to a binary is copied from the file's loaded ranges to the output, with no image in between.

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BootBridgeError, hex32 } from '../../../shared/errors.js';
import { MAX_FILE_BYTES } from '../../../shared/contract.js';
import { dfuSeParts } from '../../firmware/index.js';
import { openElfFile, readFirmwareFile } from '../../operations/read-file.js';
import { EXIT, addressArg, parseNumber, printJson, run } from '../run.js';

type OutputFormat = 'bin' | 'dfu';

interface ConvertOptions {
  output?: string;
  to?: OutputFormat;
  base?: number;
  gapFill: number;
  vid: number;
  pid: number;
  json?: boolean;
}

/** The output format: --to, else the output's extension (.dfu; .bin and anything else is a binary). */
function formatOf(output: string, to: OutputFormat | undefined): OutputFormat {
  if (to) return to;
  return extname(output).toLowerCase() === '.dfu' ? 'dfu' : 'bin';
}

/** Bytes to write, in order: in memory, or handed over piece by piece as they are written (a range of the input file). */
type Part = Uint8Array | { length: number; emit(write: (piece: Uint8Array) => void): void };

/** A run of bytes at an address, to lay out in a binary. */
interface Placed {
  address: number;
  part: Part;
}

/**
 * Runs sorted by address and not overlapping, from the lowest address to the highest, gaps filled
 * with `fill`, as objcopy's `-O binary --gap-fill` makes it: the runs' own bytes and fill, as parts
 * to write in order.
 */
function binaryParts(path: string, runs: readonly Placed[], fill: number): Part[] {
  const first = runs[0];
  const last = runs[runs.length - 1];
  if (!first || !last) throw new BootBridgeError('FIRMWARE_INVALID', 'the image holds no bytes to write', { file: path });
  const start = first.address;
  const length = last.address + last.part.length - start;
  if (length > MAX_FILE_BYTES) {
    throw new BootBridgeError(
      'BAD_ARGUMENT',
      `the image spans ${hex32(start)}–${hex32(start + length - 1)}: as a binary, with its gaps filled, it would be ${length} bytes, more than the ${MAX_FILE_BYTES} bytes BootBridge writes; a .dfu keeps each segment at its address`,
      { field: 'output', address: start, length },
    );
  }
  let gap: Uint8Array | undefined;
  const parts: Part[] = [];
  let at = start;
  for (const r of runs) {
    for (let n = r.address - at; n > 0; n -= GAP_BYTES) {
      gap ??= new Uint8Array(Math.min(GAP_BYTES, length)).fill(fill);
      parts.push(gap.subarray(0, Math.min(n, GAP_BYTES)));
    }
    parts.push(r.part);
    at = r.address + r.part.length;
  }
  return parts;
}

/** The most fill bytes written at once (one buffer of them serves every gap). */
const GAP_BYTES = 1 << 20;

/** Writes the parts in order to a temporary file renamed at the end, as every output is: never half a file under the name. */
function writeParts(path: string, parts: readonly Part[]): number {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | undefined;
  let written = 0;
  try {
    fd = openSync(tmp, 'w');
    const out = fd;
    const put = (p: Uint8Array) => {
      for (let done = 0; done < p.length; ) done += writeSync(out, p, done, p.length - done);
      written += p.length;
    };
    for (const p of parts) {
      if (p instanceof Uint8Array) put(p);
      else p.emit(put);
    }
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    if (e instanceof BootBridgeError) throw e; // reading the input failed: its own error names it
    throw new BootBridgeError('FILE_ERROR', `Cannot write ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  return written;
}

/** What a conversion reports: the image's segments, size and lowest address. */
interface Converted {
  segments: number;
  imageBytes: number;
  address: number | undefined;
  bytes: number;
}

/**
 * An ELF to a binary without an image in memory: its loaded ranges copied from the file straight into
 * the output, when they neither overlap nor run past the 32-bit address space. Undefined otherwise
 * (not an ELF, or ranges that parseElf must compare and name), for the general path.
 */
function elfToBinary(file: string, output: string, fill: number): Converted | undefined {
  const elf = openElfFile(file);
  if (!elf) return undefined;
  try {
    const ranges = elf.layout.ranges.filter((r) => r.length > 0).sort((a, b) => a.address - b.address);
    let end = 0;
    let segments = 0;
    let imageBytes = 0;
    for (const r of ranges) {
      if (r.address < end || r.address + r.length > 0x1_0000_0000) return undefined;
      if (r.address !== end || segments === 0) segments++;
      end = r.address + r.length;
      imageBytes += r.length;
    }
    const runs = ranges.map((r) => ({ address: r.address, part: { length: r.length, emit: (write: (piece: Uint8Array) => void) => elf.copy(r.offset, r.length, write) } }));
    const bytes = writeParts(output, binaryParts(output, runs, fill));
    return { segments, imageBytes, address: ranges[0]?.address, bytes };
  } finally {
    elf.close();
  }
}

/** Any firmware file to a binary or a .dfu, through its image. */
async function convertImage(file: string, output: string, format: OutputFormat, o: ConvertOptions): Promise<Converted> {
  const { image } = await readFirmwareFile(file, o.base !== undefined ? { baseAddress: o.base } : {});
  const parts =
    format === 'dfu'
      ? dfuSeParts(image, { vendorId: o.vid, productId: o.pid })
      : binaryParts(output, image.segments.map((s) => ({ address: s.address, part: s.data })), o.gapFill);
  return { segments: image.segments.length, imageBytes: image.size, address: image.segments[0]?.address, bytes: writeParts(output, parts) };
}

/**
 * A line on stderr, written to the descriptor: process.stderr would load the stream machinery (and
 * net, for a pipe), start-up time every conversion pays. What a non-blocking stderr refuses goes the
 * ordinary way.
 */
function say(line: string): void {
  const bytes = Buffer.from(line);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(2, bytes, done, bytes.length - done);
  } catch {
    process.stderr.write(bytes.subarray(done));
  }
}

export function registerConvertCommand(program: Command): void {
  program
    .command('convert <file> [output]')
    .description('convert a firmware file to a raw binary (like objcopy -O binary) or to DfuSe .dfu (for dfu-util and other tools)')
    .option('-o, --output <file>', 'the file to write (or give it after the input)')
    .addOption(new Option('--to <format>', 'output format (default: .dfu by the extension, else binary)').choices(['bin', 'dfu']))
    .option('--base <address>', 'load address of a raw .bin file', addressArg)
    .option('--gap-fill <byte>', 'binary output: the value of bytes between segments (erased flash reads 0xff)', (v) => {
      const n = parseNumber(v, 'byte');
      if (n > 0xff) throw new InvalidArgumentError(`${v} is not a byte value (0–255)`);
      return n;
    }, 0xff)
    .option('--vid <id>', 'USB vendor ID in the .dfu suffix', (v) => parseNumber(v, 'vendor ID'), 0x0483)
    .option('--pid <id>', 'USB product ID in the .dfu suffix', (v) => parseNumber(v, 'product ID'), 0xdf11)
    .option('--json', 'print the result as JSON')
    .action((file: string, positional: string | undefined, o: ConvertOptions) =>
      run(o.json, async () => {
        const output = o.output ?? positional;
        if (!output) throw new BootBridgeError('BAD_ARGUMENT', 'convert needs an output file: bootbridge convert IN OUT (or -o OUT)', { field: 'output' });
        if (o.output && positional) throw new BootBridgeError('BAD_ARGUMENT', `two outputs given (${positional} and -o ${o.output}): give one`, { field: 'output' });
        const format = formatOf(output, o.to);
        const done = (format === 'bin' ? elfToBinary(file, output, o.gapFill) : undefined) ?? (await convertImage(file, output, format, o));
        const { segments, imageBytes, address: start, bytes } = done;
        if (o.json) printJson({ ok: true, output, format, bytes, segments, imageBytes, ...(start !== undefined ? { address: start } : {}) });
        else say(`${output}: ${segments} segment(s), ${imageBytes} bytes of image, ${bytes} bytes written${format === 'bin' && start !== undefined ? ` (from ${hex32(start)})` : ''}\n`);
        return EXIT.OK;
      }),
    );
}
