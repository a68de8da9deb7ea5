// The jump from the ROM bootloader into a staged loader, and the checks on the far side: the board
// must come back with the loader's USB identity and the same serial, and its descriptors must serve
// exactly the memories, transfer size and extensions that loader.json promised (DESIGN.md "The loader").

import { BootBridgeError } from '../../shared/errors.js';
import { DfuseDevice } from '../dfu/dfuse.js';
import { DFUSE_COMMAND } from '../dfu/constants.js';
import { formatLayout, type MemoryLayout } from '../dfu/layout.js';
import type { LoaderPackage } from '../loader/package.js';
import type { EngineContext } from './flash.js';
import { waitForBoard, type BoardIdentity } from './reenumerate.js';

/** ROM bootloader's USB identity (AN2606): seeing it again after the jump means the loader did not start. */
export const ROM_DFU_ID = { vendorId: 0x0483, productId: 0xdf11 } as const;

/** Leave the ROM to the loader's vector table. The ROM drops off the bus (AN3156 §6.4, DESIGN.md). */
export async function jumpToLoader(rom: DfuseDevice, address: number): Promise<void> {
  await rom.leave(address);
  await rom.close();
}

function sameLayout(a: MemoryLayout, b: MemoryLayout): boolean {
  return formatLayout({ ...a, name: '' }) === formatLayout({ ...b, name: '' });
}

/** Waits for the loader to enumerate as this board, opens it and checks it against its manifest. */
export async function openLoader(ctx: EngineContext, board: BoardIdentity, pkg: LoaderPackage): Promise<DfuseDevice> {
  const m = pkg.manifest;
  const device = await waitForBoard(
    ctx.backend,
    ctx.clock,
    board,
    // Found by VID/PID and serial only: a wrong product string is a mismatch to report, not a device to wait for.
    { vendorId: m.usb.vendorId, productId: m.usb.productId },
    { timeoutMs: m.usb.enumerationTimeoutMs, what: `loader "${m.name}"`, rom: ROM_DFU_ID, ...(ctx.signal ? { signal: ctx.signal } : {}) },
  );
  const loader = await DfuseDevice.open(device, { clock: ctx.clock, ...(ctx.counter ? { counter: ctx.counter } : {}) });
  try {
    const problems: string[] = [];
    if (m.usb.product !== undefined && device.productName !== m.usb.product) problems.push(`iProduct is "${device.productName ?? ''}", loader.json says "${m.usb.product}"`);
    if (loader.transferSize !== m.transferSize) problems.push(`wTransferSize is ${loader.transferSize}, loader.json says ${m.transferSize}`);
    for (const mem of m.memories) {
      const alt = loader.alternates.find((a) => a.bAlternateSetting === mem.alt);
      if (!alt) problems.push(`alt setting ${mem.alt} ("${mem.text}") is missing`);
      else if (!alt.layout) problems.push(`alt setting ${mem.alt} is named "${alt.name ?? ''}", which is not a memory layout`);
      else if (!sameLayout(alt.layout, mem.layout)) problems.push(`alt setting ${mem.alt} serves "${alt.name}", loader.json says "${mem.text}"`);
    }
    if (m.extensions.includes('crc32') && !(await loader.supports(DFUSE_COMMAND.CRC32))) problems.push('it does not list the CRC32 command 0xB0');
    if (problems.length) {
      throw new BootBridgeError('LOADER_MISMATCH', `The loader that enumerated does not match ${pkg.source}/loader.json: ${problems.join('; ')}`, { stage: 'staging', phase: 'reconnect', problems });
    }
    return loader;
  } catch (e) {
    await loader.close();
    throw e;
  }
}
