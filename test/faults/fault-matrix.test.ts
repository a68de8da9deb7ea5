// The fault matrix: every phase of a staged flash run × every fault the simulator can inject, each cell
// run through the production station (unit log in a temp dir) in virtual time. A fault that fires ends
// in a FAIL naming its stage and phase, never a PASS; a fault that cannot touch a phase leaves a PASS
// with the right memories ("n/a"); after the operator's replug or reset the same board PASSes.
// The matrix is printed and written to test-artifacts/fault-matrix.md. The flipped bit lands in a
// random block of the phase at a random byte and bit, from a seed printed at the start
// (FAULT_SEED=… to replay); memories are checked over their whole range against what the board holds.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorData } from '../../shared/errors.js';
import type { FlashEvent, FlashResult, Phase, StageName } from '../../shared/progress.js';
import { writeDfuSe } from '../../src-main/firmware/index.js';
import { loadRecipe, type LoadedRecipe } from '../../src-main/production/recipe.js';
import { ProductionStation } from '../../src-main/production/station.js';
import { UnitLog, readUnitLog, type UnitRecord } from '../../src-main/production/unit-log.js';
import { BoardLocks } from '../../src-main/operations/board-locks.js';
import { SimBus, simLoaderImages, type SimBoard, type SimFault } from '../../src-main/sim/index.js';
import { VirtualClock } from '../../src-main/util/clock.js';
import { ROOT, expectBytes, pattern } from '../engine/helpers.js';

const SEED = process.env.FAULT_SEED !== undefined ? Number(process.env.FAULT_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`fault matrix: FAULT_SEED=${SEED}`);
/** mulberry32: a small seeded generator, so a failing cell can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);
/** Progress events per stage/phase in a clean run (one per block written), measured by the first test. */
const blocksSeen = new Map<string, number>();

const FLASH = 0x08000000;
const QSPI = 0x90000000;

/** A vector table that starts (SP in SRAM, Thumb reset handler in flash), then code-like bytes. */
function internalImage(): Uint8Array {
  const b = pattern(6 * 1024, 7);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0x20050000, true);
  dv.setUint32(4, FLASH + 0x201, true);
  return b;
}
const INTERNAL = internalImage();
const EXTERNAL = pattern(20 * 1024, 11); // three 8 KB loader blocks

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * A recipe whose loader serves only the QSPI, so one run has every phase: internal flash through the
 * ROM (erase, write, read-back), staging, jump, QSPI through the loader (erase, write, CRC32), leave.
 * skipUnchanged: false, so a blank board's sectors are erased too and every erase can take a fault.
 */
function recipeFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bb-faults-'));
  const fw = writeDfuSe({ segments: [{ address: FLASH, data: INTERNAL }, { address: QSPI, data: EXTERNAL }] } as never);
  writeFileSync(join(dir, 'app.dfu'), fw);
  const src = join(ROOT, 'assets', 'loaders', 'sim-stm32f746');
  mkdirSync(join(dir, 'loader'));
  copyFileSync(join(src, 'loader.bin'), join(dir, 'loader', 'loader.bin'));
  const manifest = JSON.parse(readFileSync(join(src, 'loader.json'), 'utf8')) as { memories: string[] };
  manifest.memories = manifest.memories.filter((m) => m.includes('QSPI'));
  writeFileSync(join(dir, 'loader', 'loader.json'), JSON.stringify(manifest, null, 2));
  const yaml = [
    'name: fault-matrix',
    'version: 1.0.0',
    'station: faults',
    'firmware:',
    '  file: app.dfu',
    `  sha256: ${sha256(fw)}`,
    'loader:',
    '  folder: loader',
    `  sha256: ${sha256(new Uint8Array(readFileSync(join(dir, 'loader', 'loader.bin'))))}`,
    `  manifestSha256: ${sha256(new Uint8Array(readFileSync(join(dir, 'loader', 'loader.json'))))}`,
    'chips: [0x449]',
    'options: { verify: true, skipBlank: true, massErase: false, leave: true, skipUnchanged: false }',
  ].join('\n');
  writeFileSync(join(dir, 'recipe.yaml'), yaml);
  return dir;
}

// ---- rows: where in the run the fault is armed, and where its window closes --------------------

type Trigger = (e: FlashEvent) => boolean;
const progress = (stage: StageName, phase: Phase): Trigger => (e) => e.kind === 'progress' && e.stage === stage && e.phase === phase;
const stageStart = (stage: StageName): Trigger => (e) => e.kind === 'stage' && e.stage === stage && e.status === 'start';
const stageEnd = (stage: StageName): Trigger => (e) => e.kind === 'stage' && e.stage === stage && e.status === 'end';
const never: Trigger = () => false;
/** The staging read-back's last progress event: after it, the next DNLOAD is the jump. */
const readBackDone: Trigger = (e) => e.kind === 'progress' && e.stage === 'staging' && e.phase === 'verify' && e.bytesDone === e.bytesTotal;

interface Row {
  name: string;
  stage: StageName;
  /** The phase the error must name. */
  phases: Phase[];
  kind: 'erase' | 'write' | 'read' | 'jump' | 'leave';
  /** The request that carries the phase's work: a STALL or a hang is aimed at it. */
  request: 'DNLOAD' | 'UPLOAD';
  arm: Trigger;
  disarm: Trigger;
}

const ROWS: Row[] = [
  { name: 'ROM erase', request: 'DNLOAD', stage: 'rom', phases: ['erase'], kind: 'erase', arm: progress('rom', 'erase'), disarm: progress('rom', 'write') },
  { name: 'ROM write', request: 'DNLOAD', stage: 'rom', phases: ['write'], kind: 'write', arm: progress('rom', 'write'), disarm: progress('rom', 'verify') },
  { name: 'ROM verify (read-back)', request: 'UPLOAD', stage: 'rom', phases: ['verify'], kind: 'read', arm: progress('rom', 'verify'), disarm: stageEnd('rom') },
  { name: 'loader staging write', request: 'DNLOAD', stage: 'staging', phases: ['stage'], kind: 'write', arm: progress('staging', 'stage'), disarm: progress('staging', 'verify') },
  { name: 'staging read-back', request: 'UPLOAD', stage: 'staging', phases: ['verify'], kind: 'read', arm: progress('staging', 'verify'), disarm: readBackDone },
  {
    name: 'jump + re-enumeration',
    // The first DNLOAD after the read-back sets the pointer for the jump (AN3156 §6.3.5).
    request: 'DNLOAD',
    stage: 'staging',
    phases: ['jump', 'reconnect'],
    kind: 'jump',
    arm: readBackDone,
    disarm: stageStart('loader'),
  },
  { name: 'loader erase', request: 'DNLOAD', stage: 'loader', phases: ['erase'], kind: 'erase', arm: progress('loader', 'erase'), disarm: progress('loader', 'write') },
  { name: 'loader write', request: 'DNLOAD', stage: 'loader', phases: ['write'], kind: 'write', arm: progress('loader', 'write'), disarm: progress('loader', 'verify') },
  { name: 'loader verify (CRC32)', request: 'DNLOAD', stage: 'loader', phases: ['verify'], kind: 'read', arm: progress('loader', 'verify'), disarm: stageEnd('loader') },
  { name: 'leave', request: 'DNLOAD', stage: 'leave', phases: ['leave'], kind: 'leave', arm: stageStart('leave'), disarm: never },
];

// ---- columns: the faults -------------------------------------------------------------------------

type Effect = 'fails' | 'n/a' | 'tolerated';

interface Col {
  name: string;
  fault: (row: Row) => SimFault;
  /**
   * What this fault does to this phase, decided here and then checked against what fired: 'fails' (a
   * FAIL naming the phase), 'n/a' (it cannot act here: PASS), 'tolerated' (it acts, and the protocol
   * allows it: PASS with the right memories).
   */
  effect: (row: Row) => Effect;
}

const only = (...kinds: Row['kind'][]) => (r: Row): Effect => (kinds.includes(r.kind) ? 'fails' : 'n/a');

const COLS: Col[] = [
  { name: 'unplug', fault: () => ({ kind: 'unplug-at-request', request: 2 }), effect: () => 'fails' },
  { name: 'STALL', fault: (r) => ({ kind: 'stall', request: r.request }), effect: () => 'fails' },
  // errERASE / errWRITE (DFU 1.1 §6.1.2): the status fault acts where the board stores or erases.
  { name: 'error status', fault: (r) => ({ kind: 'status', on: 'any', status: r.kind === 'erase' ? 0x04 : 0x03 }), effect: only('erase', 'write') },
  // Byte and bit at random (seeded); the block is chosen at random too (runCell delays the arming).
  { name: 'flipped bit', fault: () => ({ kind: 'flip-bit', offset: Math.floor(random() * 8192), bit: Math.floor(random() * 8) }), effect: only('write') },
  { name: 'no answer', fault: (r) => ({ kind: 'hang', request: r.request }), effect: () => 'fails' },
  { name: 'loader never appears', fault: () => ({ kind: 'loader-never-appears' }), effect: only('jump') },
  { name: 'second board instead', fault: () => ({ kind: 'other-board-instead-of-loader', serial: 'IMPOSTOR0001' }), effect: only('jump') },
  // Erases three times slower than the poll timeout says: the host keeps polling within the busy limit.
  { name: 'slow erase ×3', fault: () => ({ kind: 'slow-erase', factor: 3 }), effect: (r) => (r.kind === 'erase' ? 'tolerated' : 'n/a') },
  // AN3156 §6.3.5: after a leave the device answers GETSTATUS with dfuMANIFEST "or not at all".
  { name: 'leave without status', fault: () => ({ kind: 'leave-without-status' }), effect: (r) => (r.kind === 'jump' || r.kind === 'leave' ? 'tolerated' : 'n/a') },
];

// ---- one cell ------------------------------------------------------------------------------------

interface Cell {
  row: string;
  col: string;
  fired: boolean;
  first: FlashResult;
  retry?: FlashResult;
  records: UnitRecord[];
  board: SimBoard;
  virtualMs: number;
  wallMs: number;
}

const RECORD_KEYS = ['v', 'time', 'station', 'recipe', 'firmwareSha256', 'loaderSha256', 'serial', 'chipId', 'result', 'error', 'stageMs', 'bytesWritten', 'bytesVerified', 'durationMs'].sort();

let recipe: LoadedRecipe;
let folder: string;
const cells: Cell[] = [];

async function runCell(row: Row, col: Col): Promise<Cell> {
  const wall0 = performance.now();
  const clock = new VirtualClock();
  const bus = new SimBus({ clock });
  const board = bus.addBoard('stm32f746', { loaders: simLoaderImages('stm32f746') });
  const conn = { backend: bus, clock, bus, simulated: true, save: () => undefined, close: async () => undefined };
  const logPath = join(folder, `units-${row.name}-${col.name}.jsonl`.replace(/[^\w.-]+/g, '_'));
  const st = new ProductionStation({ conn, recipe, sink: new UnitLog(logPath), locks: new BoardLocks(), station: 'faults', now: () => new Date('2026-01-02T03:04:05Z') });

  // Changed from the event listener; an object so the compiler does not narrow it at each read.
  const w: { state: 'waiting' | 'armed' | 'closed'; armed?: number; fired: boolean; delay: number } = { state: 'waiting', fired: false, delay: 0 };
  const results: FlashResult[] = [];
  const counting = col.name === 'none';
  st.on('flash', ({ event }) => {
    if (event.kind === 'result') results.push(event.result);
    if (counting && event.kind === 'progress') blocksSeen.set(`${event.stage}/${event.phase}`, (blocksSeen.get(`${event.stage}/${event.phase}`) ?? 0) + 1);
    if (w.state === 'waiting' && row.arm(event)) {
      // A flipped bit goes into a random block of the phase: armed after that many blocks were written.
      // Never at the phase's last progress event: no block follows it for the fault to act on.
      const blocks = col.name === 'flipped bit' ? (blocksSeen.get(`${row.stage}/${row.phases[0]}`) ?? 1) : 1;
      w.delay = Math.floor(random() * Math.max(1, blocks - 1));
      if (w.delay === 0) w.armed = board.faults.add(col.fault(row));
      w.state = 'armed';
    } else if (w.state === 'armed' && w.armed === undefined && row.arm(event) && --w.delay === 0) {
      // Counted down only on the phase's own progress events, so the fault lands within the phase.
      w.armed = board.faults.add(col.fault(row));
    } else if (w.state === 'armed' && row.disarm(event)) {
      w.fired = w.armed !== undefined && !board.faults.list().some((f) => f.id === w.armed);
      if (w.armed !== undefined) board.faults.remove(w.armed);
      w.state = 'closed';
    }
  });

  const [first] = await st.flashAll();
  expect(first, `${row.name} × ${col.name}: a unit was run`).toBeDefined();
  expect(results).toHaveLength(1);
  expect(w.state, `${row.name} × ${col.name}: the fault was armed`).not.toBe('waiting');
  if (w.state === 'armed') w.fired = w.armed !== undefined && !board.faults.list().some((f) => f.id === w.armed);
  expect(w.state === 'waiting' || w.armed !== undefined, `${row.name} × ${col.name}: the fault was added within the phase (seed ${SEED})`).toBe(true);
  board.faults.clear();
  const firstResult = results[0]!;

  let retry: FlashResult | undefined;
  if (!firstResult.ok) {
    // The operator's recovery: cable out and in, or reset with BOOT0 held; then the same recipe again.
    if (board.mode === 'unplugged') board.plug();
    else board.reset();
    await clock.sleep(1000);
    expect(board.mode).toBe('rom');
    const again = await st.flashAll();
    expect(again, `${row.name} × ${col.name}: the retry ran one unit`).toHaveLength(1);
    retry = results[1];
  }
  await st.close();
  return { row: row.name, col: col.name, fired: w.fired, first: firstResult, ...(retry ? { retry } : {}), records: readUnitLog(logPath).records, board, virtualMs: clock.now(), wallMs: performance.now() - wall0 };
}

function expectMemories(board: SimBoard): void {
  expect(board.mode, 'the board left DFU and runs the application').toBe('app');
  expectBytes(board.read(FLASH, INTERNAL.length), INTERNAL, 'internal flash');
  expectBytes(board.read(QSPI, EXTERNAL.length), EXTERNAL, 'QSPI');
}

function expectCompleteRecord(r: UnitRecord | undefined, board: SimBoard, result: 'PASS' | 'FAIL', error?: ErrorData): void {
  expect(r).toBeDefined();
  expect(Object.keys(r!).sort()).toEqual(RECORD_KEYS);
  expect(r).toMatchObject({ v: 1, station: 'faults', serial: board.serial, chipId: '0x449', result, firmwareSha256: recipe.firmware.sha256, loaderSha256: recipe.recipe.loader!.sha256 });
  expect(r!.recipe).toEqual({ name: 'fault-matrix', version: '1.0.0', sha256: recipe.sha256 });
  expect(r!.durationMs).toBeGreaterThan(0);
  // The record says what failed and where: the same code, message, stage and phase as the result.
  if (error) expect(r!.error).toMatchObject({ code: error.code, message: error.message, stage: error.context.stage, phase: error.context.phase });
  else expect(r!.error).toBeNull();
}

function outcome(c: Cell, effect: Effect): string {
  if (!c.fired) return c.first.ok ? 'n/a (PASS)' : `UNEXPECTED ${c.first.error?.code}`;
  if (c.first.ok) return effect === 'tolerated' ? 'tolerated (PASS)' : 'UNEXPECTED PASS';
  const e = c.first.error!;
  return `${e.code} @ ${String(e.context.stage)}/${String(e.context.phase)}; retry ${c.retry?.ok ? 'PASS' : 'FAIL'}`;
}

function writeMatrix(): void {
  if (cells.length === 0) return;
  const header = ['phase \\ fault', ...COLS.map((c) => c.name)];
  const lines = [
    '# Fault matrix',
    '',
    'Each cell: the first run with the fault armed in that phase (error code @ stage/phase), then a retry after the',
    'operator replugs or resets the board. "n/a (PASS)": the fault cannot act in that phase; "tolerated (PASS)": it',
    'acts and the protocol allows it. Both passed with the memories checked. Simulated STM32F746, virtual time,',
    'production station with a unit log.',
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
  ];
  const table: Record<string, Record<string, string>> = {};
  for (const r of ROWS) {
    const line = [r.name];
    table[r.name] = {};
    for (const c of COLS) {
      const cell = cells.find((x) => x.row === r.name && x.col === c.name);
      const text = cell ? outcome(cell, c.effect(r)) : '(not run)';
      line.push(text);
      table[r.name]![c.name] = text;
    }
    lines.push(`| ${line.join(' | ')} |`);
  }
  const virtual = cells.reduce((n, c) => n + c.virtualMs, 0);
  const wall = cells.reduce((n, c) => n + c.wallMs, 0);
  lines.push('', `${cells.length} cells; ${(virtual / 1000).toFixed(1)} s of device time simulated in ${(wall / 1000).toFixed(1)} s wall time.`, '');
  console.table(table);
  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
  writeFileSync(join(ROOT, 'test-artifacts', 'fault-matrix.md'), lines.join('\n'));
}

describe('fault matrix: every phase × every fault, through the production station', () => {
  beforeAll(async () => {
    folder = recipeFolder();
    recipe = await loadRecipe(join(folder, 'recipe.yaml'));
  });
  afterAll(() => writeMatrix());

  it('the run without faults has every phase and passes', async () => {
    const clean: Col = { name: 'none', fault: () => ({ kind: 'slow-erase', factor: 1 }), effect: () => 'n/a' };
    const cell = await runCell(ROWS[0]!, clean);
    expect(cell.first.ok).toBe(true);
    expectMemories(cell.board);
    expect(Object.keys(cell.first.stageMs).sort()).toEqual(['leave', 'loader', 'rom', 'staging']);
    expect(cell.first.verified.map((v) => [v.region, v.method])).toEqual([
      ['Internal Flash', 'read-back'],
      ['QSPI Flash', 'crc32'],
    ]);
  });

  for (const row of ROWS) {
    for (const col of COLS) {
      const effect = col.effect(row);
      const title = { fails: 'FAIL naming the phase, then a retry PASSes', 'n/a': 'not applicable, PASS with the right memories', tolerated: 'tolerated, PASS with the right memories' }[effect];
      it(`${row.name} × ${col.name}: ${title}`, async () => {
        const cell = await runCell(row, col);
        cells.push(cell);
        expect(cell.fired, 'the fault fired exactly where it can act').toBe(effect !== 'n/a');
        if (effect !== 'fails') {
          expect(cell.first.error).toBeUndefined();
          expect(cell.first.ok).toBe(true);
          expectMemories(cell.board);
          expect(cell.records).toHaveLength(1);
          expectCompleteRecord(cell.records[0], cell.board, 'PASS');
          return;
        }
        expect(cell.first.ok, 'a fired fault never ends in PASS').toBe(false);
        const err = cell.first.error!;
        expect(err.context.stage).toBe(row.stage);
        const phases = col.name === 'flipped bit' ? ['verify'] : row.phases;
        expect(phases).toContain(err.context.phase);
        expect(err.context.serial).toBe(cell.board.serial);
        expect(cell.retry?.error).toBeUndefined();
        expect(cell.retry?.ok).toBe(true);
        expectMemories(cell.board);
        expect(cell.records.map((r) => r.result)).toEqual(['FAIL', 'PASS']);
        expectCompleteRecord(cell.records[0], cell.board, 'FAIL', err);
        expectCompleteRecord(cell.records[1], cell.board, 'PASS');
      });
    }
  }
});
