// The per-station unit log: one JSON line per programmed unit (PASS or FAIL), appended and fsynced
// before the result is shown, never rewritten. A crash or power cut loses at most the unit in flight;
// readers skip a torn last line. `new UnitLog(path).append(record)`, `readUnitLog(path)`, `unitsToCsv()`.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, fstatSync, writeSync } from 'node:fs';

/** The file calls the unit log makes; node:fs by default, a simulated disk with power cuts in tests. */
export interface UnitLogFs {
  openSync(path: string, flags: 'a' | 'r'): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  fstatSync(fd: number): { size: number };
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
}

const nodeFs: UnitLogFs = { openSync, writeSync, fsyncSync, closeSync, fstatSync, readSync };
import { BootBridgeError, type ErrorData } from '../../shared/errors.js';
import { hex32 } from '../../shared/format.js';
import type { ProductionUnit, UnitError } from '../../shared/contract.js';

/** One line of the unit log; the type is shared with the GUI (shared/contract.ts). */
export type UnitRecord = ProductionUnit;
export type { UnitError };

/** The unit log's view of an engine error: code and message, plus where it happened when known. */
export function unitError(e: ErrorData): UnitError {
  const c = e.context;
  return {
    code: e.code,
    message: e.message,
    ...(c.stage !== undefined ? { stage: c.stage } : {}),
    ...(c.phase !== undefined ? { phase: c.phase } : {}),
    ...(c.address !== undefined ? { address: hex32(c.address) } : {}),
  };
}

/** A station's unit log file name: one per station (`bootbridge production`, the GUI's production mode). */
export function unitLogName(station: string): string {
  return `bootbridge-units-${station.replace(/[^A-Za-z0-9._-]+/g, '_')}.jsonl`;
}

/** Where a station's unit records go. */
export interface UnitSink {
  /** Must not return before the record is durable. */
  append(record: UnitRecord): void;
}

const NL = 0x0a;

/** Appends records to a JSON Lines file: open with 'a', write one whole line, fsync, close. */
export class UnitLog implements UnitSink {
  private checkedTail = false;

  constructor(
    readonly path: string,
    private readonly fs: UnitLogFs = nodeFs,
  ) {}

  append(record: UnitRecord): void {
    let fd: number;
    try {
      fd = this.fs.openSync(this.path, 'a');
    } catch (e) {
      throw new BootBridgeError('FILE_ERROR', `Cannot open the unit log ${this.path}: ${(e as Error).message}`, { file: this.path }, { cause: e });
    }
    try {
      // A line torn by a crash in an earlier run would glue itself to this record; end it first.
      const prefix = this.checkedTail ? '' : this.tornTail() ? '\n' : '';
      this.checkedTail = true;
      const line = Buffer.from(prefix + JSON.stringify(record) + '\n', 'utf8');
      let off = 0;
      while (off < line.length) off += this.fs.writeSync(fd, line, off, line.length - off);
      // Durable before the result is shown (a power cut after PASS on screen must not lose the unit).
      this.fs.fsyncSync(fd);
    } catch (e) {
      throw new BootBridgeError('FILE_ERROR', `Cannot write the unit log ${this.path}: ${(e as Error).message}`, { file: this.path }, { cause: e });
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** True when the file is not empty and does not end with a newline. */
  private tornTail(): boolean {
    const fd = this.fs.openSync(this.path, 'r');
    try {
      const size = this.fs.fstatSync(fd).size;
      if (size === 0) return false;
      const last = Buffer.alloc(1);
      this.fs.readSync(fd, last, 0, 1, size - 1);
      return last[0] !== NL;
    } finally {
      this.fs.closeSync(fd);
    }
  }
}

/** Records kept in memory (tests, and the GUI before a log path is chosen). */
export class MemoryUnitSink implements UnitSink {
  readonly records: UnitRecord[] = [];
  append(record: UnitRecord): void {
    this.records.push(record);
  }
}

export interface UnitLogContents {
  records: UnitRecord[];
  /** Lines that are not complete records (a torn last line, damage), by 1-based line number. */
  skipped: { line: number; reason: string }[];
}

function isRecord(x: unknown): x is UnitRecord {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return r.v === 1 && typeof r.time === 'string' && typeof r.serial === 'string' && (r.result === 'PASS' || r.result === 'FAIL');
}

/** Parses log text; lines that are not whole records are skipped and listed, never fatal. */
export function parseUnitLog(text: string): UnitLogContents {
  const lines = text.split('\n');
  const records: UnitRecord[] = [];
  const skipped: UnitLogContents['skipped'] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const last = i === lines.length - 1;
    try {
      const x: unknown = JSON.parse(line);
      if (isRecord(x)) records.push(x);
      else skipped.push({ line: i + 1, reason: 'not a unit record' });
    } catch {
      skipped.push({ line: i + 1, reason: last ? 'torn last line (the unit in flight when the station stopped)' : 'damaged line' });
    }
  });
  return { records, skipped };
}

export function readUnitLog(path: string): UnitLogContents {
  if (!existsSync(path)) throw new BootBridgeError('FILE_ERROR', `Cannot read ${path}: no such file`, { file: path });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BootBridgeError('FILE_ERROR', `Cannot read ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  return parseUnitLog(text);
}

const CSV_COLUMNS = [
  'time', 'station', 'recipe_name', 'recipe_version', 'recipe_sha256', 'firmware_sha256', 'loader_sha256',
  'serial', 'chip_id', 'result', 'error_code', 'error_message', 'error_stage', 'error_phase', 'error_address',
  'stage_rom_ms', 'stage_staging_ms', 'stage_loader_ms', 'stage_leave_ms',
  'bytes_written', 'bytes_verified', 'duration_ms',
] as const;

/** A text cell a spreadsheet would evaluate as a formula (OWASP "CSV Injection"). */
const FORMULA_LEAD = /^[=+\-@\t\r]/;

/**
 * RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes inside. Text that starts
 * like a formula (=, +, -, @, tab, CR) gets a leading single quote so a spreadsheet shows it as text
 * (OWASP CSV injection guidance): serials, messages and station names come from devices and operators.
 * Numbers are ours and stay numbers, negative ones included.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'number' ? String(value) : FORMULA_LEAD.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const ms = (n: number | undefined) => (n === undefined ? '' : Math.round(n));

/** CSV with a header row, CRLF line ends (RFC 4180), one row per record. */
export function unitsToCsv(records: readonly UnitRecord[]): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const r of records) {
    const cells = [
      r.time, r.station, r.recipe.name, r.recipe.version, r.recipe.sha256, r.firmwareSha256, r.loaderSha256,
      r.serial, r.chipId, r.result, r.error?.code, r.error?.message, r.error?.stage, r.error?.phase, r.error?.address,
      ms(r.stageMs.rom), ms(r.stageMs.staging), ms(r.stageMs.loader), ms(r.stageMs.leave),
      r.bytesWritten, r.bytesVerified, ms(r.durationMs),
    ];
    rows.push(cells.map(csvField).join(','));
  }
  return rows.join('\r\n') + '\r\n';
}
