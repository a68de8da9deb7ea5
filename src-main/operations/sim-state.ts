// --sim-state DIR: a simulated board's non-volatile memories (flash, option bytes, OTP, QSPI) kept in
// a folder between runs, one file per memory under the board's serial:
//   DIR/<serial>/board.json   { model, serial, memories: [names] }
//   DIR/<serial>/<memory>.bin raw bytes from the memory's first address
// Every file is written to a temporary name and renamed, so a crash never leaves half a memory.
// While a run goes on, writeThroughSimState keeps the files in step with the board: every programmed or
// erased range is written into its memory's file at once (positional writes), so `kill -9` of a run
// leaves the folder as a real board would be left — half-programmed, half-erased — not as it was at start.

import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BootBridgeError } from '../../shared/errors.js';
import { defaultSimSerial, type SimBoard, type SimModelName, type SimState } from '../sim/index.js';

interface BoardFile {
  model: SimModelName;
  serial: string;
  memories: string[];
}

function safeName(serial: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(serial) || serial.startsWith('.')) {
    throw new BootBridgeError('BAD_ARGUMENT', `Serial "${serial}" cannot name a state folder`, { serial, field: 'serial' });
  }
  return serial;
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** The saved state of the board with this serial (the model's first default serial when undefined), or undefined if none was saved. */
export function loadSimState(dir: string, model: SimModelName, serial: string | undefined): SimState | undefined {
  const s = serial ?? defaultSimSerial(model, 0);
  const folder = join(dir, safeName(s));
  const meta = join(folder, 'board.json');
  if (!existsSync(meta)) return undefined;
  let info: BoardFile;
  try {
    info = JSON.parse(readFileSync(meta, 'utf8')) as BoardFile;
  } catch (e) {
    throw new BootBridgeError('FILE_ERROR', `Simulated board state ${meta} cannot be read: ${(e as Error).message}`, { file: meta }, { cause: e });
  }
  if (info.model !== model) {
    throw new BootBridgeError('BAD_ARGUMENT', `The saved simulated board ${s} is a ${info.model}, not a ${model}`, { file: meta, serial: s, field: 'model' });
  }
  const memories: Record<string, Uint8Array> = {};
  for (const name of info.memories) {
    const file = join(folder, `${name}.bin`);
    if (!existsSync(file)) continue;
    const b = readFileSync(file);
    memories[name] = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return { model, serial: s, memories };
}

/** Writes the board's non-volatile memories under DIR/<serial>/. */
export function saveSimState(dir: string, board: SimBoard | SimState): void {
  const state = 'exportState' in board ? board.exportState() : board;
  const folder = join(dir, safeName(state.serial));
  try {
    mkdirSync(folder, { recursive: true });
    const names = Object.keys(state.memories);
    for (const name of names) {
      if (!/^[a-z0-9-]+$/.test(name)) throw new BootBridgeError('INTERNAL', `Memory name "${name}" cannot name a file`, { field: name });
      writeAtomic(join(folder, `${name}.bin`), state.memories[name]!);
    }
    const info: BoardFile = { model: state.model, serial: state.serial, memories: names };
    writeAtomic(join(folder, 'board.json'), JSON.stringify(info, null, 2) + '\n');
  } catch (e) {
    if (e instanceof BootBridgeError) throw e;
    throw new BootBridgeError('FILE_ERROR', `Simulated board state cannot be written to ${folder}: ${(e as Error).message}`, { file: folder }, { cause: e });
  }
}

/**
 * Saves the board now, then writes every later change of its non-volatile memories straight into
 * their files. Returns a function that stops (and closes the files).
 */
export function writeThroughSimState(dir: string, board: SimBoard): () => void {
  saveSimState(dir, board);
  const folder = join(dir, safeName(board.serial));
  const hooked: { name: string; fd: number }[] = [];
  try {
    for (const name of Object.keys(board.exportState().memories)) {
      const m = board.memoryByName(name);
      if (!m) continue;
      const fd = openSync(join(folder, `${name}.bin`), 'r+');
      hooked.push({ name, fd });
      m.onChange = (offset, bytes) => {
        let done = 0;
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
      };
    }
  } catch (e) {
    for (const h of hooked) closeSync(h.fd);
    throw new BootBridgeError('FILE_ERROR', `Simulated board state cannot be written to ${folder}: ${(e as Error).message}`, { file: folder }, { cause: e });
  }
  return () => {
    for (const h of hooked.splice(0)) {
      const m = board.memoryByName(h.name);
      if (m) delete m.onChange;
      closeSync(h.fd);
    }
  };
}
