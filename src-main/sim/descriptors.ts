// USB descriptors of a simulated DFU device, laid out byte for byte as the STM32 ROM sends them
// (reference/device-logs: one configuration, one interface with one alt setting per memory, the DFU
// functional descriptor after the last alt setting — USB 2.0 §9.6, DFU 1.1 §4.2.4).

export interface DfuIdentity {
  vendorId: number;
  productId: number;
  bcdDevice: number;
  manufacturer: string;
  product: string;
  serial: string;
  /** One iInterface string per alt setting (DfuSe layout strings). */
  altNames: readonly string[];
  /** Further string descriptors by index (a loader's nonce and entry report, loader protocol §2.3–2.4). */
  extraStrings?: Readonly<Record<number, string>>;
  /** DFU functional descriptor: bmAttributes 0x0b = WillDetach | UploadCapable | DownloadCapable. */
  dfuAttributes: number;
  detachTimeoutMs: number;
  transferSize: number;
  bcdDfuVersion: number;
  /** bcdUSB 0x0100 on the F4/F7 ROMs (reference/device-logs). */
  bcdUsb: number;
  maxPower2mA: number;
}

export interface DescriptorSet {
  device: Uint8Array;
  configuration: Uint8Array;
  functional: Uint8Array;
  altCount: number;
  /** Index 0 is the LANGID table; the rest are UTF-16LE string descriptors. */
  strings: Uint8Array[];
}

function le16(n: number): [number, number] {
  return [n & 0xff, (n >> 8) & 0xff];
}

function stringDescriptor(text: string): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out[0] = out.length;
  out[1] = 3;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[2 + i * 2] = c & 0xff;
    out[3 + i * 2] = c >> 8;
  }
  return out;
}

export function buildDescriptors(id: DfuIdentity): DescriptorSet {
  const device = new Uint8Array([
    18, 1, ...le16(id.bcdUsb), 0x00, 0x00, 0x00, 64,
    ...le16(id.vendorId), ...le16(id.productId), ...le16(id.bcdDevice),
    1, 2, 3, 1,
  ]);
  const functional = new Uint8Array([9, 0x21, id.dfuAttributes, ...le16(id.detachTimeoutMs), ...le16(id.transferSize), ...le16(id.bcdDfuVersion)]);
  const interfaces: number[] = [];
  id.altNames.forEach((_, alt) => interfaces.push(9, 4, 0, alt, 0, 0xfe, 0x01, 0x02, 4 + alt));
  const total = 9 + interfaces.length + functional.length;
  const configuration = new Uint8Array([9, 2, ...le16(total), 1, 1, 0, 0xc0, id.maxPower2mA, ...interfaces, ...functional]);
  const strings = [
    new Uint8Array([4, 3, 0x09, 0x04]),
    stringDescriptor(id.manufacturer),
    stringDescriptor(id.product),
    stringDescriptor(id.serial),
    ...id.altNames.map(stringDescriptor),
  ];
  for (const [index, text] of Object.entries(id.extraStrings ?? {})) strings[Number(index)] = stringDescriptor(text);
  return { device, configuration, functional, altCount: id.altNames.length, strings };
}
