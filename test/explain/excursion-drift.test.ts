/**
 * A level drifting away from everything the stream had shown, told from the detector's level excursion
 * (ExplainInput.excursion; src/pipeline/excursion.ts): tryout 29 finding 1's room temperature, 21 + N(0, 0.1) °C to
 * 0.01 read every second, drifting +12 °C over 10,800 readings from reading 1,800. The excursion opened its episode at
 * reading 2,604, after 800 readings of drift: against those readings, the "normal" ones just before it, its onset is
 * not seen (told `spike`, `22.41, expected 21.91 ± 0.2`, on branch drift). With the excursion's evidence (its onset,
 * the envelope it left) the same stretch is a drift since that onset, by how far beyond anything seen; without it, or
 * with its latest reading back inside the envelope, it is told as before (explain alone: the same explanation).
 */
import { describe, expect, it } from 'vitest';
import { clockTime, explain, formatReading, type ExplainInput } from '../../src/explain/explain.js';
import { normal } from '../pipeline/detector-helpers.js';

const T0 = Date.UTC(2026, 11, 4, 8);
const ONSET = 1800;
/** The episode's first reading (the excursion told the drift there) and its readings so far. */
const OPEN = 2604;
const DURING = 120;
/** Readings before it the daemon hands the explainer (SignalBook: a few hundred normal ones). */
const BEFORE = 600;

/** Reading k of the drifting temperature (°C, to 0.01), up (+12 °C over 10,800) or down. */
function temperature(seed: number, sign: 1 | -1): (k: number) => number {
  const g = normal(seed);
  const xs: number[] = [];
  for (let k = 0; k < OPEN + DURING; k++) xs.push(Math.round((21 + 0.1 * g() + (k >= ONSET ? (sign * 12 * (k - ONSET + 1)) / 10_800 : 0)) * 100) / 100);
  return (k) => xs[k];
}

function input(seed: number, sign: 1 | -1, excursion: ExplainInput['excursion'] | undefined): ExplainInput {
  const x = temperature(seed, sign);
  const stretch = (from: number, to: number): { ts: number[]; values: number[] } => ({
    ts: Array.from({ length: to - from }, (_, i) => T0 + (from + i) * 1000),
    values: Array.from({ length: to - from }, (_, i) => x(from + i)),
  });
  return {
    stream: 'house/temp',
    unit: '°C',
    timeZone: 'UTC',
    before: stretch(OPEN - BEFORE, OPEN),
    during: stretch(OPEN, OPEN + DURING),
    startTs: T0 + OPEN * 1000,
    endTs: T0 + (OPEN + DURING - 1) * 1000,
    seen: 'cycle',
    ...(excursion !== undefined ? { excursion } : {}),
  };
}

/** The excursion's evidence as the detector gives it: its onset a block (31 readings) after the drift's, the envelope of 21 ± 0.1's block means. */
function evidence(sign: 1 | -1): NonNullable<ExplainInput['excursion']> {
  return { since: T0 + (ONSET + 31) * 1000, up: sign > 0, lo: 20.96, hi: 21.04 };
}

describe('a drift told from the detector’s level excursion (tryout 29, finding 1)', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: up, a drift since the excursion's onset, +X above anything seen, at about +4 °C/h`, () => {
      const e = evidence(1);
      const told = explain(input(seed, 1, e));
      expect(told.kind).toBe('drift');
      expect(told.since).toBe(e.since);
      // Its furthest reading since the onset (its peak: operatorview, tryout 38 finding 10), not the latest.
      const x = temperature(seed, 1);
      let value = -Infinity;
      for (let k = OPEN; k < OPEN + DURING; k++) if (T0 + k * 1000 >= e.since) value = Math.max(value, x(k));
      expect(told.value).toBe(value);
      expect(value).toBeGreaterThanOrEqual(x(OPEN + DURING - 1));
      expect(told.beyondSeen).toBeCloseTo(value - e.hi, 9);
      // The generator's rate: 12 °C over 10,800 readings a second apart.
      expect(told.ratePerHour).toBeGreaterThan(4 * 0.8);
      expect(told.ratePerHour).toBeLessThan(4 * 1.25);
      expect(told.sentence).toContain(`house/temp ${formatReading(value, 2)} °C, drifting up since ${clockTime(e.since, T0 + (OPEN + DURING) * 1000, 'UTC')}, +${formatReading(value - e.hi, 2)} °C above anything seen (drift, +`);
    });
  }

  it('down: drifting down since its onset, −X below anything seen', () => {
    const e = evidence(-1);
    const told = explain(input(1, -1, e));
    expect(told.kind).toBe('drift');
    expect(told.beyondSeen).toBeLessThan(0);
    expect(told.sentence).toMatch(/^house\/temp [0-9.]+ °C, drifting down since 08:30, −[0-9.]+ °C below anything seen \(drift, −[0-9.]+ °C\/h\)$/);
  });

  it('without the excursion, or with its latest reading back inside the envelope, the stretch is told as before', () => {
    const without = explain(input(1, 1, undefined));
    expect(without.sentence).not.toContain('drifting');
    expect(without.beyondSeen).toBeUndefined();
    // An envelope the latest reading lies inside: the excursion's evidence says nothing of it.
    const inside = explain(input(1, 1, { ...evidence(1), hi: 40 }));
    expect(inside).toEqual(without);
  });
});
