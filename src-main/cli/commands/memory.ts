// `bootbridge read`, `erase`, `convert`, `stldr`: memory in and out, and file conversions.

import type { Command } from 'commander';
import { BootBridgeError, hex32 } from '../../../shared/errors.js';
import { DfuseDevice } from '../../dfu/dfuse.js';
import { writeDfuSe } from '../../firmware/index.js';
import { readStldr, formatStldr } from '../../loader/stldr.js';
import { openFirmwareFile, openLoaderFolder, readBytes, writeFileAtomic } from '../../services/files.js';
import { readDevice } from '../../services/operations.js';
import { EXIT, addressArg, openSelected, parseNumber, printJson, progressPrinter, run, withDeviceOptions, type DeviceOptions } from '../common.js';

function hexdump(address: number, data: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += 16) {
    const row = data.subarray(i, i + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(address + i).toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${text}`);
  }
  return lines.join('\n') + '\n';
}

export function registerMemoryCommands(program: Command): void {
  withDeviceOptions(program.command('read <address> <length>').description('read memory (through a staged loader with --loader for external memory)'))
    .option('-o, --output <file>', 'write the bytes to this file (default: hex dump on stdout)')
    .option('--loader <package>', 'loader package for memory the ROM cannot reach')
    .action((address: string, length: string, o: DeviceOptions & { output?: string; loader?: string }) =>
      run(o.json, async (signal) => {
        const range = { address: addressArg(address), length: parseNumber(length, 'length') };
        const loader = o.loader ? await openLoaderFolder(o.loader) : undefined;
        const { conn, device, details } = await openSelected(o);
        try {
          const data = await readDevice(conn, device, details, range, loader, { onEvent: progressPrinter(o.progress !== false && !o.json), signal });
          if (o.output) writeFileAtomic(o.output, data);
          if (o.json) printJson({ ok: true, address: range.address, length: data.length, ...(o.output ? { file: o.output } : { hex: Buffer.from(data).toString('hex') }) });
          else if (o.output) process.stderr.write(`${data.length} bytes from ${hex32(range.address)} written to ${o.output}\n`);
          else process.stdout.write(hexdump(range.address, data));
        } finally {
          await conn.close();
        }
      }),
    );

  withDeviceOptions(program.command('erase [addresses...]').description('erase the sectors holding each address, or the whole flash with --mass'))
    .option('--mass', 'mass erase the internal flash')
    .action((addresses: string[], o: DeviceOptions & { mass?: boolean }) =>
      run(o.json, async () => {
        if (!o.mass && addresses.length === 0) throw new BootBridgeError('BAD_ARGUMENT', 'Give the addresses of the sectors to erase, or --mass', {});
        if (o.mass && addresses.length > 0) throw new BootBridgeError('BAD_ARGUMENT', 'Give either addresses or --mass, not both', {});
        const targets = addresses.map(addressArg);
        const { conn, device, details } = await openSelected(o);
        const erased: { address: number; sector: number; size: number; alt: number }[] = [];
        try {
          // Check every address before erasing anything.
          const plan = targets.map((a) => {
            for (const m of details.memories) {
              for (const b of m.layout.blocks) {
                const s = b.sectors.find((x) => a >= x.start && a < x.start + x.size);
                if (!s) continue;
                if (!s.erasable) throw new BootBridgeError('REGION_NOT_WRITABLE', `${m.layout.name} at ${hex32(a)} is not erasable`, { address: a, alt: m.alt });
                return { address: a, sector: s.start, size: s.size, alt: m.alt };
              }
            }
            throw new BootBridgeError('ADDRESS_UNREACHABLE', `No memory of the ROM bootloader holds ${hex32(a)}`, { address: a });
          });
          const dev = await DfuseDevice.open(device, { clock: conn.clock, descriptors: details.descriptors, ...(details.chip ? { deviceId: details.chip.deviceId } : {}) });
          try {
            if (o.mass) {
              if (!o.json) process.stderr.write('Mass erase of the internal flash…\n');
              await dev.massErase();
            }
            const done = new Set<number>();
            for (const t of plan) {
              if (done.has(t.sector)) continue;
              if (dev.alt !== t.alt) await dev.selectAlt(t.alt);
              await dev.erase(t.sector);
              done.add(t.sector);
              erased.push(t);
              if (!o.json) process.stderr.write(`erased sector ${hex32(t.sector)} (${t.size / 1024} KB)\n`);
            }
          } finally {
            await dev.close();
          }
          if (o.json) printJson({ ok: true, mass: o.mass === true, erased });
        } finally {
          conn.save();
          await conn.close();
        }
      }),
    );

  program
    .command('convert <file>')
    .description('convert a firmware file to DfuSe .dfu (for dfu-util and other tools)')
    .requiredOption('-o, --output <file>', 'the .dfu file to write')
    .option('--base <address>', 'load address of a raw .bin file', addressArg)
    .option('--vid <id>', 'USB vendor ID in the suffix', (v) => parseNumber(v, 'vendor ID'), 0x0483)
    .option('--pid <id>', 'USB product ID in the suffix', (v) => parseNumber(v, 'product ID'), 0xdf11)
    .option('--json', 'print the result as JSON')
    .action((file: string, o: { output: string; base?: number; vid: number; pid: number; json?: boolean }) =>
      run(o.json, async () => {
        const fw = await openFirmwareFile(file, o.base !== undefined ? { baseAddress: o.base } : {});
        const bytes = writeDfuSe(fw.image, { vendorId: o.vid, productId: o.pid });
        writeFileAtomic(o.output, bytes);
        if (o.json) printJson({ ok: true, output: o.output, bytes: bytes.length, segments: fw.image.segments.length });
        else process.stderr.write(`${o.output}: ${fw.image.segments.length} segment(s), ${fw.image.size} bytes of image, ${bytes.length} bytes written\n`);
        return EXIT.OK;
      }),
    );

  program
    .command('stldr <file>')
    .description("show the memory geometry of an ST external loader (.stldr); those need a debug probe, see docs/loader-protocol.md")
    .option('--json', 'print as JSON')
    .action((file: string, o: { json?: boolean }) =>
      run(o.json, async () => {
        const info = readStldr(readBytes(file));
        if (o.json) printJson(info);
        else process.stdout.write(formatStldr(info) + '\n');
      }),
    );
}
