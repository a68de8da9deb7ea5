// `bootbridge convert`: a firmware file to a raw binary (as `objcopy -O binary` makes it) or to a
// DfuSe .dfu. The input is parsed as it is read (readFirmwareFile) and the output written part by
// part from the image's own bytes, so a 256 MiB image costs about its own size in memory, once.

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BootBridgeError, hex32 } from '../../../shared/errors.js';
import { MAX_FILE_BYTES } from '../../../shared/contract.js';
import { dfuSeParts, imageBounds, type FirmwareImage } from '../../firmware/index.js';
import { readFirmwareFile } from '../../operations/read-file.js';
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

/**
 * The image from its lowest address to its highest, gaps filled with `fill`, as objcopy's
 * `-O binary --gap-fill` makes it: the segments' own bytes and fill, as parts to write in order.
 */
function binaryParts(path: string, image: FirmwareImage, fill: number): Uint8Array[] {
  const bounds = imageBounds(image);
  if (!bounds) throw new BootBridgeError('FIRMWARE_INVALID', 'the image holds no bytes to write', { file: path });
  const length = bounds.end - bounds.start;
  if (length > MAX_FILE_BYTES) {
    throw new BootBridgeError(
      'BAD_ARGUMENT',
      `the image spans ${hex32(bounds.start)}–${hex32(bounds.end - 1)}: as a binary, with its gaps filled, it would be ${length} bytes, more than the ${MAX_FILE_BYTES} bytes BootBridge writes; a .dfu keeps each segment at its address`,
      { field: 'output', address: bounds.start, length },
    );
  }
  const gap = new Uint8Array(Math.min(1 << 20, length)).fill(fill);
  const parts: Uint8Array[] = [];
  let at = bounds.start;
  for (const s of image.segments) {
    for (let n = s.address - at; n > 0; n -= gap.length) parts.push(gap.subarray(0, Math.min(n, gap.length)));
    parts.push(s.data);
    at = s.address + s.data.length;
  }
  return parts;
}

/** Writes the parts in order to a temporary file renamed at the end, as every output is: never half a file under the name. */
function writeParts(path: string, parts: readonly Uint8Array[]): number {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | undefined;
  let written = 0;
  try {
    fd = openSync(tmp, 'w');
    for (const p of parts) {
      for (let done = 0; done < p.length; ) done += writeSync(fd, p, done, p.length - done);
      written += p.length;
    }
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new BootBridgeError('FILE_ERROR', `Cannot write ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  return written;
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
        const { image } = await readFirmwareFile(file, o.base !== undefined ? { baseAddress: o.base } : {});
        const parts = format === 'dfu' ? dfuSeParts(image, { vendorId: o.vid, productId: o.pid }) : binaryParts(output, image, o.gapFill);
        const bytes = writeParts(output, parts);
        const start = image.segments[0]?.address;
        if (o.json) printJson({ ok: true, output, format, bytes, segments: image.segments.length, imageBytes: image.size, ...(start !== undefined ? { address: start } : {}) });
        else process.stderr.write(`${output}: ${image.segments.length} segment(s), ${image.size} bytes of image, ${bytes} bytes written${format === 'bin' && start !== undefined ? ` (from ${hex32(start)})` : ''}\n`);
        return EXIT.OK;
      }),
    );
}
