import { describe, expect, it } from 'vitest';
import { standardisedSegments } from '../../src/train/dataset.js';
import { mulberry32 } from '../../src/train/rng.js';

function noise(n: number, seed: number, level: number, scale: number): Float64Array {
  const rng = mulberry32(seed);
  return Float64Array.from({ length: n }, () => level + scale * (rng() - 0.5));
}

/** Column c of rows [from, to) of a C-channel series. */
function column(values: Float64Array, C: number, c: number, from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => values[(from + i) * C + c]);
}

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
}

describe('standardisedSegments', () => {
  it('concatenates the histories, one segment each, every one standardised on its own', () => {
    const histories = [noise(50, 1, 20, 4), noise(30, 2, -300, 0.01), noise(70, 3, 1e4, 900)];
    const { values, segments } = standardisedSegments(histories);
    expect(Array.from(segments)).toEqual([0, 50, 80]);
    expect(values).toHaveLength(150);
    const bounds = [0, 50, 80, 150];
    for (let k = 0; k < 3; k++) {
      const part = column(values, 1, 0, bounds[k], bounds[k + 1]);
      const { mean, std } = meanStd(part);
      expect(mean).toBeCloseTo(0, 9);
      expect(std).toBeCloseTo(1, 9);
      // An increasing affine map of the original: the differences keep one positive ratio.
      const ratio = (part[1] - part[0]) / (histories[k][1] - histories[k][0]);
      expect(ratio).toBeGreaterThan(0);
      for (let t = 2; t < part.length; t++) expect((part[t] - part[0]) / (histories[k][t] - histories[k][0])).toBeCloseTo(ratio, 6);
    }
  });

  it('standardises every channel of a multi-channel history on its own, keeping rows together', () => {
    const a = noise(40, 4, 5, 2);
    const b = noise(40, 5, -1000, 50);
    const rows = Float32Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? a[i / 2] : b[(i - 1) / 2]));
    const second = Float32Array.from(noise(60, 6, 3, 1));
    const { values, segments } = standardisedSegments([rows, second], 2);
    expect(Array.from(segments)).toEqual([0, 40]);
    expect(values).toHaveLength(80 + 60);
    for (const [from, to] of [[0, 40], [40, 70]] as const) {
      for (let c = 0; c < 2; c++) {
        const { mean, std } = meanStd(column(values, 2, c, from, to));
        expect(mean).toBeCloseTo(0, 6);
        expect(std).toBeCloseTo(1, 6);
      }
    }
    // Row order kept: channel 0's largest reading is still in the row where it was.
    const argmax = (xs: ArrayLike<number>): number => Array.from(xs).indexOf(Math.max(...Array.from(xs)));
    expect(argmax(column(values, 2, 0, 0, 40))).toBe(argmax(Float64Array.from(a, (v) => Math.fround(v))));
  });

  it('leaves out empty histories and maps a flat channel to zeros', () => {
    const { values, segments } = standardisedSegments([new Float64Array(0), new Float64Array(10).fill(7), noise(5, 7, 0, 1)]);
    expect(Array.from(segments)).toEqual([0, 10]);
    expect(Array.from(values.subarray(0, 10))).toEqual(new Array<number>(10).fill(0));
    expect(values.every(Number.isFinite)).toBe(true);
    expect(standardisedSegments([]).segments).toHaveLength(0);
  });

  it('rejects a history that is not whole rows, and a bad channel count', () => {
    expect(() => standardisedSegments([new Float64Array(6), new Float64Array(7)], 2)).toThrow(/history 1 has 7 values/);
    expect(() => standardisedSegments([new Float64Array(6)], 0)).toThrow(RangeError);
  });
});
