// Hostile files: structured fuzzing of every parser of outside data. The byte-level mutations in
// test/firmware/robustness.test.ts rarely get past a checksum; these generators build records with
// valid checksums and headers with valid CRCs, so the fields behind them are what varies. Every input
// ends in a result or a typed BootBridgeError, in bounded time, and a result never claims more bytes
// than the file holds.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { METHODS, checkRequest } from '../../shared/contract.js';
import { formatLayout, parseLayout } from '../../src-main/dfu/layout.js';
import { parseFirmware, writeDfuSe } from '../../src-main/firmware/index.js';
import { dfuSuffixCrc } from '../../src-main/firmware/crc32.js';
import { parseManifest } from '../../src-main/loader/manifest.js';
import { readStldr } from '../../src-main/loader/stldr.js';
import { parseRecipe } from '../../src-main/production/recipe.js';
import { ROOT } from '../engine/helpers.js';
import { outcome, runs, seedOptions } from './budget.js';

const fixture = (...p: string[]) => new Uint8Array(readFileSync(join(ROOT, 'test', ...p)));
const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/** Parses; on success the image holds no more bytes than the file (nothing invented, nothing zero-filled). */
function parsesWithin(name: string, bytes: Uint8Array, budgetMs = 250): string {
  return outcome(() => {
    const img = parseFirmware(name, bytes, { baseAddress: 0x08000000 });
    expect(img.size).toBeLessThanOrEqual(bytes.length);
    expect(img.segments.reduce((n, s) => n + s.data.length, 0)).toBe(img.size);
  }, budgetMs);
}

// Edge values that break offset arithmetic: 0, sign bit, all ones, around the file length.
const u32Edge = (len: number) =>
  fc.oneof(fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff, len, len - 1, len + 1), fc.nat({ max: 0xffffffff }), fc.nat({ max: len + 64 }));

describe('Intel HEX records with valid checksums and hostile fields', () => {
  const record = fc
    .tuple(
      fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1, 2, 3, 4, 5) }, { weight: 1, arbitrary: fc.nat({ max: 255 }) }),
      fc.nat({ max: 0xffff }),
      fc.uint8Array({ maxLength: 40 }),
    )
    .map(([type, address, data]) => {
      const bytes = [data.length, address >> 8, address & 0xff, type, ...data];
      const sum = (0x100 - (bytes.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
      return ':' + bytes.map(hex2).join('') + hex2(sum);
    });

  it('any sequence of well-formed records parses or is refused with a code', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        expect(typeof parsesWithin('x.hex', new TextEncoder().encode(lines.join(eol) + eol))).toBe('string');
      }),
      { numRuns: runs(400), ...seedOptions() },
    );
  });
});

describe('S-records with valid checksums and hostile fields', () => {
  const addrLen: Record<number, number> = { 0: 2, 1: 2, 2: 3, 3: 4, 4: 4, 5: 2, 6: 3, 7: 4, 8: 3, 9: 2 };
  const record = fc
    .tuple(fc.nat({ max: 9 }), fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 40 }))
    .map(([type, address, data]) => {
      const n = addrLen[type]!;
      const addr = Array.from({ length: n }, (_, i) => (address >>> (8 * (n - 1 - i))) & 0xff);
      const body = [addr.length + data.length + 1, ...addr, ...data];
      const sum = ~body.reduce((a, b) => a + b, 0) & 0xff;
      return `S${type}` + body.map(hex2).join('') + hex2(sum);
    });

  it('any sequence of well-formed records parses or is refused with a code', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (lines) => {
        expect(typeof parsesWithin('x.srec', new TextEncoder().encode(lines.join('\n') + '\n'))).toBe('string');
      }),
      { numRuns: runs(400), ...seedOptions() },
    );
  });
});

describe('DfuSe files with a valid CRC and hostile prefix, target and element fields', () => {
  const original = writeDfuSe({
    segments: [
      { address: 0x08000000, data: new Uint8Array(300).fill(0x11) },
      { address: 0x90000000, data: new Uint8Array(200).fill(0x22) },
    ],
  } as never);
  const u32At = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
  const fixCrc = (b: Uint8Array) => u32At(b, b.length - 4, dfuSuffixCrc(b.subarray(0, b.length - 4)));
  // UM0391: prefix (11 bytes: "DfuSe", version, image size, target count), target prefix (274 bytes:
  // "Target", alt, named, name[255], target size, element count), elements (address, size, data).
  const FIELDS = [
    { at: 6, size: 4 },
    { at: 10, size: 1 },
    { at: 11 + 6, size: 1 },
    { at: 11 + 266, size: 4 },
    { at: 11 + 270, size: 4 },
    { at: 11 + 274, size: 4 },
    { at: 11 + 278, size: 4 },
    { at: 11 + 282 + 300, size: 4 },
    { at: 11 + 286 + 300, size: 4 },
  ];

  it('the untouched file passes its own CRC (the generator is sound)', () => {
    const b = original.slice();
    fixCrc(b);
    expect(b).toEqual(original);
    expect(parsesWithin('x.dfu', b)).toBe('ok');
  });

  it('any field set to any value: a result or a code, never more bytes than the file', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...FIELDS), u32Edge(original.length)), { minLength: 1, maxLength: 4 }), fc.option(fc.nat({ max: original.length - 17 }), { nil: undefined }), (edits, cutAt) => {
        let b = original.slice();
        for (const [f, v] of edits) {
          if (f.size === 4) u32At(b, f.at, v);
          else b[f.at] = v & 0xff;
        }
        // Cutting the body keeps the suffix, so the file still looks like a whole DfuSe file.
        if (cutAt !== undefined) b = new Uint8Array([...b.subarray(0, cutAt), ...b.subarray(b.length - 16)]);
        fixCrc(b);
        expect(typeof parsesWithin('x.dfu', b)).toBe('string');
      }),
      { numRuns: runs(600), ...seedOptions() },
    );
  });
});

describe('ELF and .stldr headers with hostile 32-bit fields', () => {
  const elf = fixture('fixtures', 'firmware', 'multi.elf');
  const stldr = fixture('loader', 'fixtures', 'n25q128a.stldr');

  /** Positions of every 32-bit field of the ELF, program and section headers (ELF32 LE, System V gABI). */
  function fields(b: Uint8Array): { at: number; size: 2 | 4 }[] {
    const dv = new DataView(b.buffer, b.byteOffset);
    const out: { at: number; size: 2 | 4 }[] = [24, 28, 32].map((at) => ({ at, size: 4 as const }));
    for (const at of [40, 42, 44, 46, 48, 50]) out.push({ at, size: 2 });
    const phoff = dv.getUint32(28, true);
    const phnum = dv.getUint16(44, true);
    for (let i = 0; i < phnum; i++) for (let f = 0; f < 8; f++) out.push({ at: phoff + 32 * i + 4 * f, size: 4 });
    const shoff = dv.getUint32(32, true);
    const shnum = dv.getUint16(48, true);
    for (let i = 0; i < shnum; i++) for (let f = 0; f < 10; f++) out.push({ at: shoff + 40 * i + 4 * f, size: 4 });
    return out;
  }

  function mutate(original: Uint8Array, edits: [{ at: number; size: 2 | 4 }, number][]): Uint8Array {
    const b = original.slice();
    const dv = new DataView(b.buffer);
    for (const [f, v] of edits) {
      if (f.size === 4) dv.setUint32(f.at, v >>> 0, true);
      else dv.setUint16(f.at, v & 0xffff, true);
    }
    return b;
  }

  it('ELF: any header field set to any value gives a result or a code, never more bytes than the file', () => {
    const fs = fields(elf);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...fs), u32Edge(elf.length)), { minLength: 1, maxLength: 4 }), (edits) => {
        expect(typeof parsesWithin('x.elf', mutate(elf, edits))).toBe('string');
      }),
      { numRuns: runs(1000), ...seedOptions() },
    );
  });

  it('.stldr: any header field or StorageInfo word set to any value gives geometry or LOADER_INVALID/FIRMWARE_INVALID', () => {
    const fs = fields(stldr);
    // The StorageInfo struct itself: find it by its device name in the file.
    const at = Buffer.from(stldr).indexOf('N25Q128A');
    expect(at).toBeGreaterThan(0);
    for (let off = 100; off < 200; off += 4) fs.push({ at: at + off, size: 4 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...fs), u32Edge(stldr.length)), { minLength: 1, maxLength: 4 }), (edits) => {
        const code = outcome(() => {
          const info = readStldr(mutate(stldr, edits));
          expect(info.sectors.length).toBeLessThanOrEqual(64);
        });
        expect(['ok', 'LOADER_INVALID', 'FIRMWARE_INVALID', 'FIRMWARE_OVERLAP']).toContain(code);
      }),
      { numRuns: runs(1000), ...seedOptions() },
    );
  });
});

describe('memory-layout strings (from devices and manifests)', () => {
  const REAL = [
    '@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg',
    '@Option Bytes  /0x1FFF7800/01*040 e,01*040 e',
    '@QSPI Flash /0x90000000/256*064Kg',
    '@OTP Memory /0x1FFF7800/01*512 g,01*016 g',
  ];
  const token = fc.constantFrom('@', '/', '0x', '0X', '*', ',', ' ', 'K', 'M', 'B', 'g', 'e', 'a', 'h', 'Z', 'FFFFFFFF', '65536', '4294967296', '99999999999999999999', '1', '0', '-1', '\u0000', '名');
  const layoutish = fc.array(token, { maxLength: 30 }).map((t) => t.join(''));

  function check(text: string): string {
    return outcome(() => {
      const l = parseLayout(text);
      const sectors = l.blocks.reduce((n, b) => n + b.sectors.length, 0);
      expect(sectors).toBeGreaterThan(0);
      for (const b of l.blocks) expect(b.start + b.size).toBeLessThanOrEqual(0x1_0000_0000);
      // What we print, we read back the same.
      expect(parseLayout(formatLayout(l)).blocks).toEqual(l.blocks);
    });
  }

  it('token soup and random text: a layout that round-trips, or LAYOUT_INVALID', () => {
    fc.assert(
      fc.property(fc.oneof(layoutish, fc.string({ maxLength: 80 }), fc.constantFrom(...REAL).map((r) => r)), (text) => {
        expect(['ok', 'LAYOUT_INVALID']).toContain(check(text));
      }),
      { numRuns: runs(2000), ...seedOptions() },
    );
  });

  it('real layouts with characters replaced, inserted or cut', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REAL), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...'0123456789*,/@ KMBgae'), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 5 }), (real, edits) => {
        let s = real;
        for (const [i, ch, op] of edits) {
          const at = i % (s.length + 1);
          s = op === 'set' ? s.slice(0, at) + ch + s.slice(at + 1) : op === 'insert' ? s.slice(0, at) + ch + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
        }
        expect(['ok', 'LAYOUT_INVALID']).toContain(check(s));
      }),
      { numRuns: runs(2000), ...seedOptions() },
    );
  });

  it('a layout that would describe millions of sectors is refused, not built', () => {
    // 64 runs of 65,536 one-byte sectors: 4 Mi sector objects if built. A manifest can carry this.
    const text = '@Huge /0x00000000/' + Array.from({ length: 64 }, () => '65536*1 g').join(',');
    expect(check(text)).toBe('LAYOUT_INVALID');
  });
});

describe('loader manifests', () => {
  const valid = JSON.parse(readFileSync(join(ROOT, 'assets', 'loaders', 'sim-stm32f746', 'loader.json'), 'utf8')) as Record<string, unknown>;
  const paths: string[][] = [];
  const walk = (o: unknown, p: string[]) => {
    if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) walk(v, [...p, k]);
    paths.push(p);
  };
  walk(valid, []);

  it('any field replaced by any JSON value: a manifest or LOADER_INVALID naming a field', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...paths.filter((p) => p.length > 0)), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 3 }), (edits) => {
        const m = structuredClone(valid);
        for (const [p, v] of edits) {
          let o = m as Record<string, unknown>;
          for (const k of p.slice(0, -1)) {
            const next = o[k];
            if (!next || typeof next !== 'object') break;
            o = next as Record<string, unknown>;
          }
          o[p[p.length - 1]!] = v;
        }
        let field: unknown;
        const code = outcome(() => {
          try {
            parseManifest(JSON.stringify(m));
          } catch (e) {
            field = (e as { context?: { field?: unknown } }).context?.field;
            throw e;
          }
        });
        expect(['ok', 'LOADER_INVALID']).toContain(code);
        if (code !== 'ok') expect(typeof field).toBe('string');
      }),
      { numRuns: runs(800), ...seedOptions() },
    );
  });

  it('random text and random JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 })), (text) => {
        expect(['ok', 'LOADER_INVALID']).toContain(outcome(() => parseManifest(text)));
      }),
      { numRuns: runs(500), ...seedOptions() },
    );
  });
});

describe('production recipes', () => {
  const valid = readFileSync(join(ROOT, 'assets', 'recipes', 'demo-f746-sim.yaml'), 'utf8');

  it('the shipped recipe with characters replaced, inserted or cut: a recipe or RECIPE_INVALID', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.constantFrom(...':- \n"\'[]{}&*!|>#%@`0x9aZ'), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 6 }), (edits) => {
        let s = valid;
        for (const [i, ch, op] of edits) {
          const at = i % (s.length + 1);
          s = op === 'set' ? s.slice(0, at) + ch + s.slice(at + 1) : op === 'insert' ? s.slice(0, at) + ch + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
        }
        expect(['ok', 'RECIPE_INVALID']).toContain(outcome(() => parseRecipe(s, 'r.yaml')));
      }),
      { numRuns: runs(800), ...seedOptions() },
    );
  });

  it('any YAML document: a recipe or RECIPE_INVALID', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ maxDepth: 3 }).map((x) => stringify(x) ?? ''), fc.string({ maxLength: 200 })), (text) => {
        expect(['ok', 'RECIPE_INVALID']).toContain(outcome(() => parseRecipe(text, 'r.yaml')));
      }),
      { numRuns: runs(500), ...seedOptions() },
    );
  });

  it('what YAML only warns about (an unknown tag) is refused in a locked recipe, naming the line', () => {
    const text = valid.replace(/sha256: (?=[0-9a-f])/, 'sha256: !hex ');
    expect(text).not.toBe(valid);
    let line: unknown;
    const code = outcome(() => {
      try {
        parseRecipe(text, 'r.yaml');
      } catch (e) {
        line = (e as { context?: { line?: unknown } }).context?.line;
        throw e;
      }
    });
    expect(code).toBe('RECIPE_INVALID');
    expect(line).toBe(text.split('\n').findIndex((l) => l.includes('!hex')) + 1);
  });

  it('an alias bomb ("billion laughs") is refused quickly', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill('*' + String.fromCharCode(96 + i)).join(',')}]`);
    lines.push('name: *j');
    expect(outcome(() => parseRecipe(lines.join('\n'), 'bomb.yaml'), 1000)).toBe('RECIPE_INVALID');
  });
});

describe('IPC and WebSocket payloads: checkRequest for every method', () => {
  it.each(METHODS)('%s: any payload is accepted as typed or refused as BAD_ARGUMENT, never thrown', (method) => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ maxDepth: 3, withTypedArray: true, withMap: true, withSet: true, withNullPrototype: true, withBigInt: true }), fc.constant(undefined)), (payload) => {
        const r = checkRequest(method, payload);
        if (!r.ok) {
          expect(r.error.code).toBe('BAD_ARGUMENT');
          expect(typeof r.error.context.field).toBe('string');
        }
      }),
      { numRuns: runs(150), ...seedOptions() },
    );
  });

  it('objects shaped like requests, with hostile values and extra keys, are refused by field', () => {
    const hostile = fc.oneof(
      fc.constantFrom(-1, 2 ** 32, Number.NaN, Infinity, 1.5, '', '../../etc/passwd', '\u0000', 'x'.repeat(5000), null, [], {}, true),
      fc.string({ maxLength: 20 }),
      fc.integer(),
    );
    const keys = fc.constantFrom('deviceId', 'firmwareId', 'path', 'address', 'length', 'loader', 'options', 'opId', 'model', 'on', 'laneId', 'bytes', 'name', 'baseAddress', 'theme', '__proto__', 'constructor');
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), fc.dictionary(keys, hostile, { maxKeys: 5 }), (method, payload) => {
        const r = checkRequest(method, payload);
        if (!r.ok) expect(r.error.code).toBe('BAD_ARGUMENT');
      }),
      { numRuns: runs(2000), ...seedOptions() },
    );
  });
});
