// `bootbridge chips [chip]`: every STM32 line whose ROM bootloader offers USB DFU, as the chip
// database knows it — or one line in full, with every source and every fact not found.

import type { Command } from 'commander';
import { LINES_NOT_DESCRIBED } from '../../devices/chip-db.js';
import { CHIPS, chipByName, unknownChipError, type ChipInfo } from '../../devices/chips.js';
import { chipAltStrings } from '../../devices/identify.js';
import { EXIT, printJson, run } from '../common.js';
import { formatSize as kb, hex32 } from '../../../shared/format.js';


/** One JSON-ready record per chip (numbers as numbers; the same fields as the database). */
export function chipRecord(c: ChipInfo): Record<string, unknown> {
  return {
    deviceId: c.deviceId,
    name: c.name,
    family: c.family,
    models: c.models,
    flash: { ...c.flash, sectors: c.flashSectors },
    program: c.program,
    ram: c.ram,
    romReservedRam: c.romReservedRam ?? null,
    optionBytes: c.optionBytes,
    romAltStrings: c.romAltStrings,
    quirks: c.quirks,
    unknown: c.unknown,
    sources: c.sources,
  };
}

/** The table `bootbridge chips` prints: one row per line. */
export function formatChipTable(chips: readonly ChipInfo[]): string {
  const head = ['id', 'line', 'flash', 'sectors', 'program', 'RAM', 'ROM uses RAM', 'parts'];
  const rows = chips.map((c) => [
    `0x${c.deviceId.toString(16)}`,
    c.name,
    kb(c.flash.size),
    c.flashSectors,
    `${c.program.unitBytes} B${c.program.rule === 'erased-only' ? ', once' : ''}`,
    kb(c.ram.reduce((n, r) => n + r.size, 0)),
    c.romReservedRam ? `${hex32(c.romReservedRam.start)}–${hex32(c.romReservedRam.end - 1)}` : 'not found',
    c.models.map((m) => m.replace(/^stm32/, '')).join(' '),
  ]);
  const widths = head.map((h) => h.length);
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, cell.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${chips.length} lines with a USB DFU ROM bootloader (AN2606). "once": a program unit is written once after erase. "bootbridge chips <part>" shows one line with its sources.`,
    ...LINES_NOT_DESCRIBED.map((l) => `not in the database: ${l}`),
  ].join('\n');
}

/** One line in full: every fact, its sources, the quirks and what was not found. */
export function formatChip(c: ChipInfo): string {
  const out = [
    `${c.name}  device ID 0x${c.deviceId.toString(16)}  (${c.family})`,
    `parts        : ${c.models.join(', ')}  ("?" = any letter or digit)`,
    `flash        : ${hex32(c.flash.start)}, up to ${kb(c.flash.size)}: ${c.flashSectors}`,
    `program unit : ${c.program.unitBytes} bytes, ${c.program.rule === 'erased-only' ? 'written once after erase' : 'programming clears bits'}`,
    `RAM          : ${c.ram.map((r) => `${r.name} ${hex32(r.start)} ${kb(r.size)}`).join('; ')}`,
    `ROM uses RAM : ${c.romReservedRam ? `${hex32(c.romReservedRam.start)}–${hex32(c.romReservedRam.end - 1)}` : 'not found'}`,
    `option bytes : ${c.optionBytes.map((o) => `${hex32(o.start)} ${o.size} bytes`).join('; ') || 'not found'}`,
    `ROM alt 0    : ${c.romAltStrings[0] ?? `(no capture) ${chipAltStrings(c)[0]}`}`,
  ];
  for (const q of c.quirks) out.push(`quirk        : ${q}`);
  for (const u of c.unknown) out.push(`not found    : ${u}`);
  for (const s of c.sources) out.push(`source       : ${s}`);
  return out.join('\n');
}

export function registerChipCommands(program: Command): void {
  program
    .command('chips [chip]')
    .description('list every STM32 whose ROM bootloader offers USB DFU (device ID, flash, RAM, programming rule), or show one with its sources')
    .option('--json', 'print the result as JSON on stdout')
    .action((query: string | undefined, o: { json?: boolean }) =>
      run(o.json, async () => {
        if (query === undefined) {
          if (o.json) printJson({ chips: CHIPS.map(chipRecord), notDescribed: LINES_NOT_DESCRIBED });
          else process.stdout.write(formatChipTable(CHIPS) + '\n');
          return EXIT.OK;
        }
        const chip = chipByName(query);
        if (!chip) throw unknownChipError(query);
        if (o.json) printJson(chipRecord(chip));
        else process.stdout.write(formatChip(chip) + '\n');
        return EXIT.OK;
      }),
    );
}
