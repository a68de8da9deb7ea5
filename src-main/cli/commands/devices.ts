// `bootbridge list` and `bootbridge dump`: what is connected, and everything a device says about itself.

import type { Command } from 'commander';
import { formatDump } from '../../dfu/dump.js';
import { isSimulated } from '../../operations/connect.js';
import { deviceInfo, inspectDevice, listDfuDevices, selectDevice } from '../../operations/devices.js';
import { sentence } from '../../../shared/errors.js';
import { openConnection, printJson, run, withDeviceOptions, type DeviceOptions } from '../common.js';
import { CLI_REMEDIES } from '../remedies.js';
import { vidPid } from '../../../shared/format.js';


export function registerDeviceCommands(program: Command): void {
  withDeviceOptions(program.command('list').description('list attached DFU devices (ROM bootloaders and loaders)')).action((o: DeviceOptions) =>
    run(o.json, async () => {
      const conn = await openConnection(o);
      try {
        const rows = [];
        for (const d of await listDfuDevices(conn.backend)) {
          const details = await inspectDevice(conn.backend, d).catch(() => undefined);
          rows.push({ ...deviceInfo(conn.backend, d), ...(details?.chip ? { chip: { deviceId: details.chip.deviceId, name: details.chip.name } } : {}), memories: details?.memories.map((m) => m.layout.name) ?? [], simulated: isSimulated(conn) });
        }
        if (o.json) return printJson(rows);
        if (rows.length === 0) {
          process.stdout.write(`No DFU devices found. ${sentence(CLI_REMEDIES['reset-with-boot0'])}\n`);
          return;
        }
        for (const r of rows) {
          const chip = r.chip ? `${r.chip.name} (0x${r.chip.deviceId.toString(16)})` : 'unknown chip';
          process.stdout.write(
            `${vidPid(r.vendorId, r.productId)}  serial ${r.serial ?? '-'}  ${r.mode === 'rom' ? 'ROM bootloader' : 'loader'} ${r.bcdDevice.toString(16).padStart(4, '0')}  ${chip}  "${r.product ?? ''}"${r.simulated ? '  [simulated]' : ''}\n` +
              `    memories: ${r.memories.join(', ') || '-'}\n`,
          );
        }
      } finally {
        await conn.close();
      }
    }),
  );

  withDeviceOptions(program.command('dump').description('print the full USB descriptor tree and every memory layout')).action((o: DeviceOptions) =>
    run(o.json, async () => {
      const conn = await openConnection(o);
      try {
        const device = await selectDevice(conn.backend, o.serial ? { serial: o.serial } : {});
        const details = await inspectDevice(conn.backend, device, o.chip ? { chip: o.chip } : {});
        if (o.json) {
          return printJson({
            ...details.descriptors,
            chip: details.chip ? { deviceId: details.chip.deviceId, name: details.chip.name } : null,
          });
        }
        process.stdout.write(formatDump(details.descriptors));
        if (details.chip) process.stdout.write(`Chip : ${details.chip.name} (device ID 0x${details.chip.deviceId.toString(16).padStart(4, '0')})\n`);
      } finally {
        await conn.close();
      }
    }),
  );
}
