// The unit log's promise — a unit whose result was shown survives a power cut — tested through a
// simulated disk: writes land in a page cache, fsync makes them durable, a power cut drops everything
// not synced (POSIX fsync(2): "all data for the open file descriptor is transferred to the storage
// device"; without it, written data may sit in the cache). Closing a file syncs nothing (close(2)).
import { describe, expect, it } from 'vitest';
import { UnitLog, parseUnitLog, type UnitLogFs, type UnitRecord } from '../../src-main/production/unit-log.js';

/** One file's disk: what survives a power cut, and what the cache holds on top of it. */
class PowerCutDisk implements UnitLogFs {
  durable = new Uint8Array(0);
  cached = new Uint8Array(0);
  private open = new Map<number, string>();
  private nextFd = 3;
  syncs = 0;

  openSync(path: string): number {
    this.open.set(this.nextFd, path);
    return this.nextFd++;
  }
  writeSync(_fd: number, buffer: Uint8Array, offset: number, length: number): number {
    const next = new Uint8Array(this.cached.length + length);
    next.set(this.cached);
    next.set(buffer.subarray(offset, offset + length), this.cached.length);
    this.cached = next;
    return length;
  }
  fsyncSync(): void {
    this.durable = this.cached.slice();
    this.syncs++;
  }
  closeSync(fd: number): void {
    this.open.delete(fd);
  }
  fstatSync(): { size: number } {
    return { size: this.cached.length };
  }
  readSync(_fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const part = this.cached.subarray(position, position + length);
    buffer.set(part, offset);
    return part.length;
  }
  /** The power goes: the cache is lost, the disk keeps what was synced. */
  powerCut(): void {
    this.cached = this.durable.slice();
  }
  text(): string {
    return new TextDecoder().decode(this.durable);
  }
}

function unit(serial: string, result: 'PASS' | 'FAIL'): UnitRecord {
  return {
    v: 1, time: '2026-01-02T03:04:05.000Z', station: 'bench', recipe: { name: 'r', version: '1', sha256: 'a'.repeat(64) }, firmwareSha256: 'b'.repeat(64),
    loaderSha256: null, serial, chipId: '0x449', result, error: null, stageMs: { rom: 10 }, bytesWritten: 1, bytesVerified: 1, durationMs: 5,
  };
}

describe('unit log durability across a power cut', () => {
  it('every unit whose append returned survives a power cut right after it', () => {
    const disk = new PowerCutDisk();
    const log = new UnitLog('/station/units.jsonl', disk);
    for (let i = 0; i < 5; i++) {
      log.append(unit(`SN${i}`, i % 2 ? 'FAIL' : 'PASS'));
      disk.powerCut(); // the moment after the result is on screen
      const back = parseUnitLog(disk.text());
      expect(back.records.map((r) => r.serial), `after unit ${i}`).toEqual(Array.from({ length: i + 1 }, (_, k) => `SN${k}`));
      expect(back.skipped).toEqual([]);
    }
    expect(disk.syncs).toBe(5);
  });

  it('a line torn by a power cut mid-write is skipped, and the next unit starts on its own line', () => {
    const disk = new PowerCutDisk();
    new UnitLog('/station/units.jsonl', disk).append(unit('SN0', 'PASS'));
    // A crash after part of the next line reached the disk.
    const torn = new TextEncoder().encode('{"v":1,"time":"2026');
    disk.writeSync(0, torn, 0, torn.length);
    disk.fsyncSync();
    disk.powerCut();
    new UnitLog('/station/units.jsonl', disk).append(unit('SN1', 'PASS'));
    disk.powerCut();
    const back = parseUnitLog(disk.text());
    expect(back.records.map((r) => r.serial)).toEqual(['SN0', 'SN1']);
    expect(back.skipped).toHaveLength(1);
  });
});
