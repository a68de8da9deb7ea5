// Files at the edge: firmware images, loader packages and outputs, read and written with node:fs so
// the core stays byte-only. Writes are atomic (temporary file, then rename): an interrupted export
// never leaves half a file under the real name.

import { readFileSync, writeFileSync, renameSync, statSync, readdirSync, existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { BootBridgeError } from '../../shared/errors.js';
import { parseFirmware, parseFirmwareAsync, type FirmwareImage } from '../firmware/index.js';
import { readBytes, readFirmwareFile } from './read-file.js';
import { readLoaderPackage, type LoaderPackage } from '../loader/index.js';

export { readBytes, readFirmwareFile } from './read-file.js';

export interface LoadedFirmware {
  path: string;
  name: string;
  image: FirmwareImage;
  /** SHA-256 of the file as read (lower-case hex). */
  sha256: string;
  fileSize: number;
}

export function sha256File(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    throw new BootBridgeError('FILE_ERROR', `Cannot write ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  }
}

/** Reads and parses a firmware file (ELF, HEX, SREC, BIN with baseAddress, .dfu), with the file's SHA-256. */
export async function openFirmwareFile(path: string, options: { baseAddress?: number } = {}): Promise<LoadedFirmware> {
  const hash = createHash('sha256');
  const { image, fileSize } = await readFirmwareFile(path, options, (chunk) => hash.update(chunk));
  return { path, name: basename(path), image, sha256: hash.digest('hex'), fileSize };
}

/** `sha256`: the bytes' hash when the caller has already computed it (a recipe checks it before parsing). */
export async function openFirmwareBytes(path: string, bytes: Uint8Array, options: { baseAddress?: number; sha256?: string } = {}): Promise<LoadedFirmware> {
  const name = basename(path);
  const parse = options.baseAddress !== undefined ? { baseAddress: options.baseAddress } : {};
  let image: FirmwareImage;
  try {
    // Big files are parsed in slices that yield to the event loop, so a GUI never freezes.
    image = bytes.length > 4 * 1024 * 1024 ? await parseFirmwareAsync(name, bytes, parse) : parseFirmware(name, bytes, parse);
  } catch (e) {
    if (e instanceof BootBridgeError && e.context.file === undefined) e.context.file = path;
    throw e;
  }
  return { path, name, image, sha256: options.sha256 ?? (await sha256Sliced(bytes)), fileSize: bytes.length };
}

/** SHA-256 in 8 MiB slices that yield to the event loop: a 256 MiB file never stalls a host's other clients. */
async function sha256Sliced(bytes: Uint8Array): Promise<string> {
  const SLICE = 8 * 1024 * 1024;
  if (bytes.length <= SLICE) return sha256File(bytes);
  const h = createHash('sha256');
  for (let off = 0; off < bytes.length; off += SLICE) {
    h.update(bytes.subarray(off, off + SLICE));
    await new Promise((r) => setImmediate(r));
  }
  return h.digest('hex');
}

/** Reads a loader package folder (loader.json + image). */
export async function openLoaderFolder(folder: string): Promise<LoaderPackage> {
  const dir = resolve(folder);
  let manifest: string;
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    manifest = readFileSync(join(dir, 'loader.json'), 'utf8');
  } catch (e) {
    if (folder.toLowerCase().endsWith('.stldr')) {
      throw new BootBridgeError('LOADER_UNSUPPORTED', `${folder} is an ST external loader (.stldr). Those run only under a debug probe (ST-LINK), not over USB DFU. Use "bootbridge stldr ${folder}" to see its memory geometry, and a BootBridge loader package (docs/loader-protocol.md) to program that memory over USB.`, { file: folder });
    }
    throw new BootBridgeError('LOADER_INVALID', `${folder} is not a loader package: expected a folder with loader.json (${(e as Error).message})`, { file: folder }, { cause: e });
  }
  return readLoaderPackage(folder, manifest, (name) => readBytes(join(dir, name)));
}

/** Loader packages in a folder of packages (assets/loaders). */
export function listLoaderFolders(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'loader.json')))
    .map((d) => join(root, d.name));
}
