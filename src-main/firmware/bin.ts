// Raw binary: bytes with no addresses, so the user says where they go. A plain DFU 1.1 file (binary
// plus suffix, no DfuSe prefix) is read the same way once its suffix is checked and removed.

import { BootBridgeError } from '../../shared/errors';
import { DFU_SUFFIX_SIZE, readDfuSuffix } from './dfuse';
import { buildImage, type FirmwareImage } from './image';

export function parseBin(bytes: Uint8Array, baseAddress: number | undefined, name = 'binary'): FirmwareImage {
  if (baseAddress === undefined) {
    throw new BootBridgeError('BAD_ARGUMENT', `${name} is a raw binary and holds no address`, {
      file: name,
      field: 'baseAddress',
    }, { remedy: 'give-base-address' });
  }
  if (!Number.isInteger(baseAddress) || baseAddress < 0 || baseAddress > 0xffffffff) {
    throw new BootBridgeError('BAD_ARGUMENT', `base address ${baseAddress} is not a 32-bit address`, { field: 'baseAddress' });
  }
  return buildImage('bin', [{ address: baseAddress, data: bytes.slice(), source: name }]);
}

/** A DFU 1.1 file without the DfuSe prefix: the payload goes at `baseAddress`, the suffix gives the USB IDs. */
export function parsePlainDfu(bytes: Uint8Array, baseAddress: number | undefined, name = 'dfu file'): FirmwareImage {
  const suffix = readDfuSuffix(bytes);
  if (!suffix) {
    throw new BootBridgeError('FIRMWARE_INVALID', `${name} has neither a DfuSe prefix nor a DFU suffix`, { file: name, offset: 0 });
  }
  const payload = bytes.subarray(0, bytes.length - DFU_SUFFIX_SIZE);
  const image = parseBin(payload, baseAddress, name);
  image.format = 'dfu';
  image.usbId = { vendorId: suffix.vendorId, productId: suffix.productId, bcdDevice: suffix.bcdDevice };
  return image;
}
