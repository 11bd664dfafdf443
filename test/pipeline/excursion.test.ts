/**
 * The level-excursion rule alone (src/pipeline/excursion.ts): a steady stream's level leaving everything it has shown
 * by far more than its own spread and going on leaving it is told; streams whose normal is to move are not. Every
 * reading is fed as normal (no other kind's episode), the first 256 as the learning period (score.learnReadings), in
 * blocks of 31 readings (shortSpan(score.smooth 16)), to 0.01 (the resolution given).
 */
import { describe, expect, it } from 'vitest';
import { LevelExcursion, driftedFrom } from '../../src/pipeline/excursion.js';
import { normal } from './detector-helpers.js';

const ROWS = 12_600;
const LEARN = 256;
const SPAN = 31;
const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);

/** One stream of `ROWS` readings of a kind, to 0.01. */
function stream(kind: string, seed: number): number[] {
  const g = normal(seed * 1000 + 7);
  let w = 20;
  let c = 1000;
  let we = 0;
  const a = Math.exp(-1 / 360);
  const out: number[] = [];
  for (let k = 0; k < ROWS; k++) {
    let x: number;
    if (kind === 'drift') x = 21 + 0.1 * g() + (k >= 1800 ? (12 * (k - 1799)) / 10_800 : 0);
    else if (kind === 'walk') x = w += 0.1 * g();
    else if (kind === 'hidden') x = (w += 0.01 * g()) + 0.1 * g();
    else if (kind === 'counter') x = c += Math.max(0, 1 + 0.2 * g());
    else if (kind === 'weather') x = 15 + (we = a * we + Math.sqrt(1 - a * a) * 2 * g()) + 0.05 * g();
    else x = 21 + 0.1 * g();
    out.push(Math.round(x * 100) / 100);
  }
  return out;
}

/** The readings at which the tracker starts telling a drift (ascending). */
function toldAt(xs: readonly number[]): number[] {
  const t = new LevelExcursion(SPAN, 0);
  const at: number[] = [];
  let was = false;
  xs.forEach((x, k) => {
    t.update(x, true, k < LEARN, 0.01);
    if (t.drifting && !was) at.push(k);
    was = t.drifting;
  });
  return at;
}

describe('LevelExcursion', () => {
  it('tells 21 + N(0, 0.1) drifting +12 over 10,800 readings from reading 1,800 in each of 30 seeds, once, during the drift and within 1,800 readings of its onset (+2, 20 standard deviations)', () => {
    for (const seed of SEEDS) {
      const at = toldAt(stream('drift', seed));
      expect(at).toHaveLength(1);
      expect(at[0]).toBeGreaterThanOrEqual(1800);
      expect(at[0]).toBeLessThan(3600);
    }
  });

  for (const kind of ['walk', 'hidden', 'counter', 'weather', 'steady']) {
    it(`never tells a ${kind} stream of 12,600 readings, in any of 30 seeds`, () => {
      const told = SEEDS.filter((seed) => toldAt(stream(kind, seed)).length > 0);
      expect(told).toEqual([]);
    });
  }

  it('never alarms an excursion that met another kind’s open episode (that fault’s own level)', () => {
    const xs = stream('drift', 1);
    const t = new LevelExcursion(SPAN, 0);
    let told = false;
    // The drift's first 300 readings are another kind's episode (normal false), the rest normal again.
    xs.forEach((x, k) => {
      t.update(x, !(k >= 1800 && k < 2100), k < LEARN, 0.01);
      told ||= t.drifting;
    });
    expect(told).toBe(false);
  });

  it('goes on from its checkpoint as one never stopped', () => {
    const xs = stream('drift', 2);
    const a = new LevelExcursion(SPAN, 0);
    let b = new LevelExcursion(SPAN, 0);
    const da: boolean[] = [];
    const db: boolean[] = [];
    xs.forEach((x, k) => {
      a.update(x, true, k < LEARN, 0.01);
      b.update(x, true, k < LEARN, 0.01);
      if (k === 1000 || k === 2500 || k === 2617) b = LevelExcursion.fromJSON(JSON.parse(JSON.stringify(b.toJSON())) as ReturnType<LevelExcursion['toJSON']>);
      da.push(a.drifting);
      db.push(b.drifting);
    });
    expect(db).toEqual(da);
    expect(da.some(Boolean)).toBe(true);
  });

  it('driftedFrom finds the drift in a history whose newest part drifts (at a row from `from` on); a steady history holds none', () => {
    const xs = Float64Array.from(stream('drift', 3).slice(0, 3600));
    const found = driftedFrom(xs, 1, SPAN, LEARN, Math.floor(3600 * 0.8));
    expect(found).not.toBeNull();
    expect(found!.row).toBeGreaterThanOrEqual(Math.floor(3600 * 0.8));
    expect(driftedFrom(Float64Array.from(stream('steady', 3).slice(0, 3600)), 1, SPAN, LEARN, 0)).toBeNull();
  });
});
