// `bootbridge read`, `erase`, `stldr`: memory in and out (`convert` is in convert.ts).

import type { Command } from 'commander';
import { BootBridgeError } from '../../../shared/errors.js';
import { formatSize, hex32 } from '../../../shared/format.js';
import { readStldr, formatStldr } from '../../loader/stldr.js';
import { isSimulated } from '../../operations/connect.js';
import { openLoaderFolder, readBytes, writeFileAtomic } from '../../operations/files.js';
import { eraseDevice, readDevice } from '../../operations/operations.js';
import { reportWithInstalledLoaders } from '../installed-loaders.js';
import { addressArg, openSelected, parseNumber, printJson, progressPrinter, run, withDeviceOptions, type DeviceOptions } from '../common.js';

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
          const data = await readDevice(conn, device, details, range, loader, { onEvent: progressPrinter(o.progress !== false && !o.json), signal }).catch(async (e: unknown) => {
            if (loader) throw e;
            return reportWithInstalledLoaders(e, [range.address], details, isSimulated(conn), o.json);
          });
          if (typeof data === 'number') return data;
          if (o.output) writeFileAtomic(o.output, data);
          if (o.json) printJson({ ok: true, address: range.address, length: data.length, ...(o.output ? { file: o.output } : { hex: Buffer.from(data).toString('hex') }) });
          else if (o.output) process.stderr.write(`${data.length} bytes from ${hex32(range.address)} written to ${o.output}\n`);
          else process.stdout.write(hexdump(range.address, data));
        } finally {
          await conn.close();
        }
      }),
    );

  withDeviceOptions(program.command('erase [addresses...]').description('erase the sectors holding each address (external memory through a staged loader with --loader), or the whole internal flash with --mass'))
    .option('--mass', 'mass erase the internal flash')
    .option('--loader <package>', 'loader package for memory the ROM cannot reach')
    .action((addresses: string[], o: DeviceOptions & { mass?: boolean; loader?: string }) =>
      run(o.json, async (signal) => {
        // Bad input before any board is opened (README "Exit codes": 2, not "no device").
        if (addresses.length === 0 && !o.mass) throw new BootBridgeError('BAD_ARGUMENT', 'nothing to erase: give the address of each sector to erase, or --mass for the whole internal flash', { field: 'addresses' });
        if (addresses.length > 0 && o.mass) throw new BootBridgeError('BAD_ARGUMENT', 'give either addresses or --mass, not both', { field: 'addresses' });
        const what = { addresses: addresses.map(addressArg), ...(o.mass ? { mass: true } : {}) };
        const loader = o.loader ? await openLoaderFolder(o.loader) : undefined;
        const { conn, device, details } = await openSelected(o);
        try {
          if (!o.json && o.mass) process.stderr.write('Mass erase of the internal flash…\n');
          const erased = await eraseDevice(conn, device, details, what, loader, { onEvent: progressPrinter(o.progress !== false && !o.json), signal }).catch(async (e: unknown) => {
            if (loader) throw e;
            return reportWithInstalledLoaders(e, what.addresses, details, isSimulated(conn), o.json);
          });
          if (typeof erased === 'number') return erased;
          if (o.json) printJson({ ok: true, mass: o.mass === true, erased });
          else for (const s of erased) process.stderr.write(`erased ${s.region} ${o.mass ? '(mass erase)' : `sector ${hex32(s.address)} (${formatSize(s.size)})`}${s.via === 'loader' ? ' through the loader' : ''}\n`);
        } finally {
          await conn.close();
        }
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
