import { describe, expect, it } from 'vitest';
import { BootBridgeError } from '../../shared/errors';
import { buildImage, imageBounds, readImage, sliceImage } from '../../src-main/firmware/image';

const bytes = (...v: number[]) => new Uint8Array(v);

describe('buildImage', () => {
  it('sorts pieces by load address and merges the ones that touch', () => {
    const image = buildImage('hex', [
      { address: 0x1004, data: bytes(5, 6), source: 'b' },
      { address: 0x2000, data: bytes(9), source: 'c' },
      { address: 0x1000, data: bytes(1, 2, 3, 4), source: 'a' },
    ]);
    expect(image.segments.map((s) => [s.address, [...s.data], s.sources])).toEqual([
      [0x1000, [1, 2, 3, 4, 5, 6], ['a', 'b']],
      [0x2000, [9], ['c']],
    ]);
    expect(image.size).toBe(7);
    expect(imageBounds(image)).toEqual({ start: 0x1000, end: 0x2001 });
  });

  it('keeps touching pieces apart when they target different alt settings', () => {
    const image = buildImage('dfu', [
      { address: 0x10, data: bytes(1), source: 'a', alt: 0 },
      { address: 0x11, data: bytes(2), source: 'b', alt: 1 },
    ]);
    expect(image.segments.map((s) => [s.address, s.alt])).toEqual([
      [0x10, 0],
      [0x11, 1],
    ]);
  });

  it('drops empty pieces', () => {
    expect(buildImage('bin', [{ address: 0, data: bytes(), source: 'x' }]).segments).toEqual([]);
  });

  it('reports an overlap naming both sources and the first shared address', () => {
    let caught: unknown;
    try {
      buildImage('elf', [
        { address: 0x08000000, data: new Uint8Array(0x40), source: '.app' },
        { address: 0x08000020, data: new Uint8Array(0x20).fill(1), source: '.calibration' },
      ]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BootBridgeError);
    const err = caught as BootBridgeError;
    expect(err.code).toBe('FIRMWARE_OVERLAP');
    expect(err.message).toContain('.app');
    expect(err.message).toContain('.calibration');
    expect(err.context.address).toBe(0x08000020);
    expect(err.context.length).toBe(0x20);
  });

  it('refuses bytes past the 32-bit address space', () => {
    expect(() => buildImage('bin', [{ address: 0xffffffff, data: bytes(1, 2), source: 'x' }])).toThrowError(
      expect.objectContaining({ code: 'FIRMWARE_INVALID' }),
    );
  });
});

describe('sliceImage and readImage', () => {
  const image = buildImage('hex', [
    { address: 0x100, data: bytes(1, 2, 3, 4), source: 'a' },
    { address: 0x108, data: bytes(7, 8), source: 'b' },
  ]);

  it('cuts segments to a window', () => {
    expect(sliceImage(image, 0x102, 0x109).map((s) => [s.address, [...s.data]])).toEqual([
      [0x102, [3, 4]],
      [0x108, [7]],
    ]);
  });

  it('fills gaps with the erased value', () => {
    expect([...readImage(image, 0xfe, 12)]).toEqual([0xff, 0xff, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 7, 8]);
    expect([...readImage(image, 0x104, 4, 0)]).toEqual([0, 0, 0, 0]);
  });
});
