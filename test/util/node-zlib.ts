// zlib's crc32 as an independent reference (node:zlib has crc32 from Node 20.15 / 22.2).
import * as z from 'node:zlib';

export const zlib = z as unknown as { crc32(data: Uint8Array): number };
