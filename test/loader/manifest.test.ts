// loader.json validation: every problem names the field it is about, and a package whose image does
// not match its recorded hash is refused.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest, readLoaderPackage } from '../../src-main/loader/index.js';
import { BootBridgeError } from '../../shared/errors.js';

const good = () => ({
  protocol: 1,
  name: 'Test loader',
  chips: ['0x449'],
  image: { file: 'loader.bin', loadAddress: '0x20010000' },
  usb: { vendorId: '0x1209', productId: '0x0001', product: 'BootBridge Loader' },
  transferSize: 4096,
  memories: ['@QSPI Flash /0x90000000/256*064Kg'],
  extensions: ['crc32'],
});

type Manifest = Record<string, unknown> & ReturnType<typeof good>;

function errorOf(fn: () => unknown): BootBridgeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BootBridgeError);
    return e as BootBridgeError;
  }
  throw new Error('expected an error');
}

describe('loader.json schema', () => {
  it('accepts the documented example, hex strings and numbers alike', () => {
    const m = parseManifest(JSON.stringify(good()));
    expect(m.chips).toEqual([0x449]);
    expect(m.image.loadAddress).toBe(0x20010000);
    expect(m.usb).toEqual({ vendorId: 0x1209, productId: 1, product: 'BootBridge Loader', enumerationTimeoutMs: 5000 });
    expect(m.memories[0]).toMatchObject({ alt: 0, text: '@QSPI Flash /0x90000000/256*064Kg' });
    expect(m.memories[0]!.layout.blocks[0]).toMatchObject({ start: 0x90000000, size: 16 * 1024 * 1024 });
    expect(m.experimental).toBe(false);
    expect(m.nonce).toBeUndefined();
  });

  it('reads the protocol v1 optional fields: experimental, nonce, entryReport', () => {
    const m = parseManifest(JSON.stringify({ ...good(), experimental: true, nonce: { offset: '0x1F0', string: 16 }, entryReport: { string: 17 } }));
    expect(m.experimental).toBe(true);
    expect(m.nonce).toEqual({ offset: 0x1f0, string: 16 });
    expect(m.entryReport).toEqual({ string: 17 });
  });

  it('reads the overlap extension and the mass erase time per memory (null: none known)', () => {
    const m = parseManifest(JSON.stringify({ ...good(), memories: [...good().memories, '@Internal Flash  /0x08000000/04*032Kg'], extensions: ['crc32', 'overlap'], timing: { massEraseMs: [170000, null] } }));
    expect(m.extensions).toEqual(['crc32', 'overlap']);
    expect(m.timing).toEqual({ massEraseMs: [170000, null] });
  });

  const cases: [string, (m: Manifest) => void, string, RegExp][] = [
    ['missing chips', (m) => delete (m as Partial<Manifest>).chips, 'chips', /chips/],
    ['empty chips', (m) => (m.chips = []), 'chips', /at least one device ID/],
    ['bad hex in chips', (m) => (m.chips = ['0x44G']), 'chips.0', /"0x…" hexadecimal string/],
    ['bad hex in loadAddress', (m) => (m.image.loadAddress = '0xZZ'), 'image.loadAddress', /hexadecimal/],
    ['vendor ID beyond 16 bits', (m) => (m.usb.vendorId = '0x12345'), 'usb.vendorId', /16 bits/],
    ['BIN without loadAddress', (m) => delete (m.image as Partial<Manifest['image']>).loadAddress, 'image.loadAddress', /required for a BIN/],
    ['unknown extension', (m) => (m.extensions = ['turbo']), 'extensions.0', /unknown extension/],
    ['more mass erase times than memories', (m) => (m.timing = { massEraseMs: [170000, 16000] }), 'timing.massEraseMs', /2 entries for 1 memories/],
    ['negative mass erase time', (m) => (m.timing = { massEraseMs: [-1] }), 'timing.massEraseMs.0', /-1/],
    ['bad layout string', (m) => (m.memories = ['@QSPI Flash /0x90000000/256*064Qz']), 'memories.0', /memories\.0/],
    ['wrong protocol', (m) => (m.protocol = 2), 'protocol', /must be 1/],
    ['transfer size too small', (m) => (m.transferSize = 8), 'transferSize', /at least 64/],
    ['unknown field (typo)', (m) => (m.transfersize = 4096), 'transfersize', /transfersize/],
    ['transfer size above what hosts accept', (m) => (m.transferSize = 8192), 'transferSize', /at most 4096 bytes: hosts refuse control transfers with more data \(libusb MAX_CTRL_BUFFER_LENGTH/],
    ['nonce offset not aligned', (m) => (m.nonce = { offset: '0x1F2', string: 16 }), 'nonce.offset', /4-byte aligned/],
    ['nonce string index 0', (m) => (m.nonce = { offset: '0x1F0', string: 0 }), 'nonce.string', /string descriptor index/],
    ['entry report without an index', (m) => (m.entryReport = {}), 'entryReport.string', /entryReport\.string/],
  ];
  for (const [what, edit, field, message] of cases) {
    it(`${what}: LOADER_INVALID naming ${field}`, () => {
      const m = good() as Manifest;
      edit(m);
      const e = errorOf(() => parseManifest(JSON.stringify(m), 'pkg/loader.json'));
      expect(e.code).toBe('LOADER_INVALID');
      expect(e.context.field).toBe(field);
      expect(e.message).toMatch(message);
      expect(e.message).toContain('pkg/loader.json');
    });
  }

  it('text that is not JSON names the file', () => {
    const e = errorOf(() => parseManifest('{ "protocol": 1,', 'pkg/loader.json'));
    expect(e.code).toBe('LOADER_INVALID');
    expect(e.message).toMatch(/pkg\/loader\.json is not valid JSON/);
  });
});

describe('loader package', () => {
  const image = new Uint8Array(512).map((_, i) => (i * 7) & 0xff);
  const sha = createHash('sha256').update(image).digest('hex');

  it('reads a BIN image at its load address and records its hash', async () => {
    const m = { ...good(), image: { ...good().image, sha256: sha.toUpperCase() } };
    const pkg = await readLoaderPackage('pkg', JSON.stringify(m), () => image);
    expect(pkg.loadAddress).toBe(0x20010000);
    expect(pkg.image).toEqual(image);
    expect(pkg.sha256).toBe(sha);
  });

  it('refuses an image that does not match image.sha256', async () => {
    const wrong = sha.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const m = { ...good(), image: { ...good().image, sha256: wrong } };
    await expect(readLoaderPackage('pkg', JSON.stringify(m), () => image)).rejects.toMatchObject({ code: 'HASH_MISMATCH', context: { field: 'image.sha256' } });
  });

  it('names image.file when the image cannot be read', async () => {
    await expect(
      readLoaderPackage('pkg', JSON.stringify(good()), () => {
        throw new Error('ENOENT');
      }),
    ).rejects.toMatchObject({ code: 'LOADER_INVALID', context: { field: 'image.file' } });
  });
});

describe('loader package with an ELF image', () => {
  // Any ELF with one loadable segment will do: the .stldr fixture has exactly one, at 0x20000000.
  const oneSegment = new Uint8Array(readFileSync(join(import.meta.dirname, 'fixtures', 'n25q128a.stldr')));
  const severalSegments = new Uint8Array(readFileSync(join(import.meta.dirname, '..', '..', 'assets', 'examples', 'demo-f746', 'demo-f746.elf')));
  const elf = (extra: Record<string, unknown> = {}) => JSON.stringify({ ...good(), image: { file: 'loader.elf', ...extra } });

  it('takes the load address from the ELF', async () => {
    const pkg = await readLoaderPackage('pkg', elf(), () => oneSegment);
    expect(pkg.loadAddress).toBe(0x20000000);
    expect(pkg.image.length).toBe(0x88);
  });

  it('refuses an ELF whose address disagrees with image.loadAddress, naming the field', async () => {
    await expect(readLoaderPackage('pkg', elf({ loadAddress: '0x20010000' }), () => oneSegment)).rejects.toMatchObject({
      code: 'LOADER_INVALID',
      context: { field: 'image.loadAddress' },
      message: expect.stringMatching(/0x20010000 does not match the image's own address 0x20000000/),
    });
  });

  it('refuses an ELF with several segments: a loader is one block of RAM', async () => {
    await expect(readLoaderPackage('pkg', elf(), () => severalSegments)).rejects.toMatchObject({
      code: 'LOADER_INVALID',
      context: { field: 'image.file' },
      message: expect.stringMatching(/one contiguous block of RAM, but "loader.elf" has [2-9] segments/),
    });
  });
});
