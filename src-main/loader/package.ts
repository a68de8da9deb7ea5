// A loader package: loader.json plus the loader image, as bytes. Reading the folder happens at the
// edge (services/loaders.ts); this module checks that the parts agree and yields what the planner and
// the staging engine need: the image bytes placed at their RAM address, and the manifest.

import { BootBridgeError } from '../../shared/errors.js';
import { parseManifest, type LoaderManifest } from './manifest.js';
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
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
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
    throw new BootBridgeError('LOADER_INVALID', `${source}: image.loadAddress 0x${manifest.image.loadAddress.toString(16)} does not match the image's own address 0x${seg.address.toString(16)}`, { field: 'image.loadAddress' });
  }
  const sha256 = await sha256Hex(seg.data);
  if (manifest.image.sha256 && manifest.image.sha256.toLowerCase() !== sha256) {
    throw new BootBridgeError('HASH_MISMATCH', `${source}: loader image "${manifest.image.file}" does not match image.sha256 in loader.json`, { field: 'image.sha256', file: manifest.image.file });
  }
  return { source, manifest, image: seg.data, loadAddress: seg.address, sha256 };
}

/** True when the package says it runs on this device ID. */
export function loaderSupportsChip(pkg: LoaderPackage, deviceId: number): boolean {
  return pkg.manifest.chips.includes(deviceId);
}
