// A loader package: loader.json plus the loader image, as bytes. Reading the folder happens at the
// edge (services/loaders.ts); this module checks that the parts agree and yields what the planner and
// the staging engine need: the image bytes placed at their RAM address, and the manifest.

import { BootBridgeError } from '../../shared/errors.js';
import { bytesToHex, hex32 } from '../../shared/format.js';
import { NONCE_MAGIC, NONCE_RECORD_BYTES, parseManifest, type LoaderManifest } from './manifest.js';
import { parseFirmware } from '../firmware/index.js';

export interface LoaderPackage {
  /** Folder or label the package came from (for messages). */
  source: string;
  manifest: LoaderManifest;
  /** The bytes written to RAM, starting at loadAddress (its vector table). */
  image: Uint8Array;
  loadAddress: number;
  /** Lower-case hex SHA-256 of `image`. */
  sha256: string;
  /** Offset in `image` of the 16-byte nonce record, when the manifest declares one (loader protocol §2.3). */
  nonceAt?: number;
}

/** Where the image file's nonce record lands in the staged bytes; LOADER_INVALID unless it is "BBNONCE1" + 8 zero bytes. */
function findNonceRecord(source: string, raw: Uint8Array, image: Uint8Array, offset: number): number {
  const magic = new TextEncoder().encode(NONCE_MAGIC);
  const record = raw.subarray(offset, offset + NONCE_RECORD_BYTES);
  const ok = record.length === NONCE_RECORD_BYTES && magic.every((b, i) => record[i] === b) && record.subarray(8).every((b) => b === 0);
  if (!ok) {
    throw new BootBridgeError('LOADER_INVALID', `${source}: nonce.offset ${hex32(offset)} does not hold the nonce record ("${NONCE_MAGIC}" and 8 zero bytes)`, { field: 'nonce.offset' });
  }
  // A BIN is the image itself; in an ELF the record's file offset maps to one place in the loaded bytes.
  if (raw === image || (raw.length === image.length && raw.every((b, i) => b === image[i]))) return offset;
  const hits: number[] = [];
  for (let i = 0; i + NONCE_RECORD_BYTES <= image.length; i += 4) {
    if (magic.every((b, k) => image[i + k] === b)) hits.push(i);
  }
  if (hits.length !== 1) throw new BootBridgeError('LOADER_INVALID', `${source}: the image's loaded bytes hold ${hits.length} nonce records, expected 1`, { field: 'nonce.offset' });
  return hits[0]!;
}

/**
 * The package with `nonce` (8 bytes) written into its image's nonce record: what is staged, so the
 * loader that enumerates can prove it is this staging's (docs/loader-protocol.md §2.3). The package's
 * own bytes (and its sha256, checked when it was read) are untouched.
 */
export function withNonce(pkg: LoaderPackage, nonce: Uint8Array): LoaderPackage {
  if (pkg.nonceAt === undefined) return pkg;
  if (nonce.length !== 8) throw new BootBridgeError('INTERNAL', `A staging nonce has 8 bytes, not ${nonce.length}`, {});
  const image = pkg.image.slice();
  image.set(nonce, pkg.nonceAt + 8);
  return { ...pkg, image };
}

/** How a loader reports a nonce: 16 upper-case hex digits, the record's first nonce byte first. */
export function nonceString(nonce: Uint8Array): string {
  return bytesToHex(nonce).toUpperCase();
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return bytesToHex(new Uint8Array(digest));
}

/**
 * Builds a package from loader.json text and a way to read the files it names.
 * The image is an ELF (its one loadable segment gives the address) or a BIN at image.loadAddress.
 */
export async function readLoaderPackage(source: string, manifestText: string, readFile: (name: string) => Uint8Array): Promise<LoaderPackage> {
  const manifest = parseManifest(manifestText, `${source}/loader.json`);
  let raw: Uint8Array;
  try {
    raw = readFile(manifest.image.file);
  } catch (e) {
    throw new BootBridgeError('LOADER_INVALID', `${source}: image file "${manifest.image.file}" cannot be read`, { field: 'image.file', file: manifest.image.file }, { cause: e });
  }
  const parsed = parseFirmware(manifest.image.file, raw, manifest.image.loadAddress !== undefined ? { baseAddress: manifest.image.loadAddress } : {});
  if (parsed.segments.length !== 1) {
    throw new BootBridgeError('LOADER_INVALID', `${source}: the loader image must be one contiguous block of RAM, but "${manifest.image.file}" has ${parsed.segments.length} segments`, { field: 'image.file' });
  }
  const seg = parsed.segments[0]!;
  if (manifest.image.loadAddress !== undefined && seg.address !== manifest.image.loadAddress) {
    throw new BootBridgeError('LOADER_INVALID', `${source}: image.loadAddress ${hex32(manifest.image.loadAddress)} does not match the image's own address ${hex32(seg.address)}`, { field: 'image.loadAddress' });
  }
  const sha256 = await sha256Hex(seg.data);
  if (manifest.image.sha256 && manifest.image.sha256.toLowerCase() !== sha256) {
    throw new BootBridgeError('HASH_MISMATCH', `${source}: loader image "${manifest.image.file}" does not match image.sha256 in loader.json`, { field: 'image.sha256', file: manifest.image.file });
  }
  const nonceAt = manifest.nonce ? findNonceRecord(source, raw, seg.data, manifest.nonce.offset) : undefined;
  return { source, manifest, image: seg.data, loadAddress: seg.address, sha256, ...(nonceAt !== undefined ? { nonceAt } : {}) };
}

/** True when the package says it runs on this device ID. */
export function loaderSupportsChip(pkg: LoaderPackage, deviceId: number): boolean {
  return pkg.manifest.chips.includes(deviceId);
}
