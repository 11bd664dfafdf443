/**
 * Tryout co2silence (a CO2 sensor, whole ppm, an evening rise and a silence): a sentence quoted a value the sensor
 * never sent. A level the explanation tells from several readings (a level shift's, a noise change's, a stretch with
 * nothing to compare against) was their median, which for an even number of readings is the mean of the two middle
 * ones: readings 470 and 478 told `474 (level shift)`, 946 and 952 told `949`. The kind of fault is every told value
 * computed from readings rather than taken from them, so these tests judge every stretch of that shape, whatever its
 * kind: the value an explanation tells is one of the readings (src/explain/robust.ts lowMedian).
 */
import { describe, expect, it } from 'vitest';
import { explain, type Stretch } from '../../src/explain/explain.js';
import { lowMedian, median } from '../../src/explain/robust.js';
import { mulberry32 } from '../../src/train/rng.js';

const T0 = Date.UTC(2026, 11, 3, 18, 0, 0);
const MIN = 60_000;

/** `n` whole-ppm readings one minute apart from `start`, value f(i). */
function ppm(start: number, n: number, f: (i: number) => number): Stretch {
  return { ts: Array.from({ length: n }, (_, i) => start + i * MIN), values: Array.from({ length: n }, (_, i) => Math.round(f(i))) };
}

describe('lowMedian', () => {
  it('is the median of an odd count, the smaller middle value of an even one, NaN of none, and always one of the values', () => {
    expect(lowMedian([3, 1, 2])).toBe(2);
    expect(lowMedian([478, 470])).toBe(470);
    expect(lowMedian([952, 946, 1, 2000])).toBe(946);
    expect(lowMedian([])).toBeNaN();
    // The comparator's way (a -0 or a NaN in the array) gives the same order statistic.
    expect(lowMedian([-0, 5, 3, 4])).toBe(3);
    const rnd = mulberry32(11);
    for (let t = 0; t < 200; t++) {
      const xs = Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.round(rnd() * 1000));
      const m = lowMedian(xs);
      expect(xs).toContain(m);
      // At most half the values below it, at least half at or below it: a median.
      expect(xs.filter((x) => x < m).length).toBeLessThanOrEqual((xs.length - 1) >> 1);
      expect(xs.filter((x) => x <= m).length).toBeGreaterThanOrEqual(Math.ceil(xs.length / 2));
      if (xs.length % 2 === 1) expect(m).toBe(median(xs));
    }
  });
});

describe('the value an explanation tells is a reading the sensor sent', () => {
  it('a level shift of a whole-ppm CO2 sensor, 2 to 40 readings off, each told at one of its readings (on main: the mean of the two middle readings of an even number)', () => {
    const rnd = mulberry32(5);
    const told: Array<[number, string, boolean]> = [];
    for (let n = 2; n <= 40; n++) {
      for (const step of [300, -200, 550]) {
        const before = ppm(T0 - 300 * MIN, 300, () => 430 + 8 * (rnd() - 0.5));
        // Readings far apart (a room filling with people), so the middle two of an even number differ.
        const during = ppm(T0, n, (i) => 430 + step + 40 * Math.sin(i) + 8 * (rnd() - 0.5));
        const e = explain({ stream: 'co2', unit: 'ppm', before, during, startTs: T0, endTs: T0 + (n - 1) * MIN, timeZone: 'UTC' });
        if (e.value === null) continue;
        told.push([n, `${e.kind}: ${e.sentence}`, [...during.values, ...before.values].includes(e.value)]);
      }
    }
    // Shifts were told (the test would say nothing otherwise), and every value told is a reading.
    expect(told.filter(([, s]) => s.startsWith('level_shift')).length).toBeGreaterThan(50);
    expect(told.filter(([, , sent]) => !sent)).toEqual([]);
  });

  it('a stretch with nothing to compare against (fewer than 3 readings before, no model) is told at one of its readings', () => {
    for (const values of [[1016, 1030], [900, 1016, 1030, 1041], [1023.4, 1023.8]]) {
      const during: Stretch = { ts: values.map((_, i) => T0 + i * MIN), values };
      const e = explain({ stream: 'co2', unit: 'ppm', before: { ts: [T0 - MIN], values: [430] }, during, startTs: T0, endTs: T0 + (values.length - 1) * MIN, timeZone: 'UTC' });
      expect(e.basis).toBeNull();
      expect(values).toContain(e.value);
    }
  });

  it('a noise change is told at one of its readings', () => {
    const rnd = mulberry32(9);
    const before = ppm(T0 - 300 * MIN, 300, () => 600 + 4 * (rnd() - 0.5));
    const during = ppm(T0, 60, () => 600 + 120 * (rnd() - 0.5));
    const e = explain({ stream: 'co2', unit: 'ppm', before, during, startTs: T0, endTs: T0 + 59 * MIN, timeZone: 'UTC', seen: 'spread', evidenceKind: 'noise_change' });
    expect(e.kind).toBe('noise_change');
    expect(during.values).toContain(e.value);
  });
});
