/**
 * The level-excursion rule alone (src/pipeline/excursion.ts): a steady stream's level leaving everything it has shown
 * by far more than its own spread and going on leaving it is told; streams whose normal is to move are not. Every
 * reading is fed as normal (no other kind's episode), the first 256 as the learning period (score.learnReadings), in
 * blocks of 31 readings (shortSpan(score.smooth 16)), to 0.01 (the resolution given).
 *
 * What it tells of a drift (`told`: its side, its onset, the envelope it left) and whether it is still growing over
 * the lag of the shipped `alerts.newNormalAfter` (1,000 readings: 33 blocks): a drift of +4 over 3,600 readings from
 * reading 1,800, then held at its new level, is growing at every block from its telling to its end, and no longer once
 * it has held for that lag (and a block); a steady stream never is. And `fellBack`: a step from the open excursion's
 * level back into the envelope it left is one; a step from inside, a step further or past the envelope's other side,
 * one after the excursion came back, and any on a steady stream are not.
 */
import { describe, expect, it } from 'vitest';
import { LevelExcursion, driftedFrom, type ExcursionTold } from '../../src/pipeline/excursion.js';
import { lcg } from '../helpers/lcg.js';
import { normal } from './detector-helpers.js';

const ROWS = 12_600;
const LEARN = 256;
const SPAN = 31;
const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);
const T0 = Date.UTC(2026, 11, 4, 8);

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
    else if (kind === 'cycdrift') x = 21 + 0.5 * Math.sin((2 * Math.PI * k) / 288) + 0.1 * g() + (k >= 576 ? 4.3 * Math.min(1, (k - 575) / 432) : 0);
    else if (kind.startsWith('cycle')) x = 21 + 0.5 * Math.sin(2 * Math.PI * (k / Number(kind.slice(5)) + seed / 30)) + 0.1 * g();
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

  it('tells 21 + 0.5 sin(2π k / 288) + N(0, 0.1) drifting +4.3 over 432 readings from reading 576 in each of 30 seeds, during the drift (a history that came back: its walk bound is its range)', () => {
    for (const seed of SEEDS) {
      const at = toldAt(stream('cycdrift', seed));
      expect(at.length).toBeGreaterThan(0);
      expect(at[0]).toBeGreaterThanOrEqual(576);
      expect(at[0]).toBeLessThan(1008);
    }
  });

  for (const kind of ['walk', 'hidden', 'counter', 'weather', 'steady', 'cycle100', 'cycle288', 'cycle1440']) {
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

  it('tells a drift whose first readings another kind’s episode holds, inside that episode only: it holds it (drifting, growing) and opens none; an episode-free block ends its telling for good (driftkind2)', () => {
    for (const seed of SEEDS.slice(0, 10)) {
      const xs = stream('drift', seed);
      const t = new LevelExcursion(SPAN, 0);
      // Another kind's episode from the drift's 60th reading (+0.07, under one standard deviation) to reading 5,400.
      const inEpisode = (k: number): boolean => k >= 1860 && k < 5400;
      let toldAt = -1;
      let opened = false;
      let afterEnd = false;
      xs.slice(0, 7200).forEach((x, k) => {
        t.update(x, !inEpisode(k), k < LEARN, 0.01);
        if (t.drifting && toldAt < 0) toldAt = k;
        opened ||= t.opens;
        if (k === 5399) expect(t.growing(Math.ceil(1000 / SPAN))).toBe(true);
        // The first block wholly after the episode ends within two spans of it.
        if (k >= 5400 + 2 * SPAN) afterEnd ||= t.drifting;
      });
      expect(toldAt).toBeGreaterThan(1860);
      expect(toldAt).toBeLessThan(5400);
      expect(opened).toBe(false);
      expect(afterEnd).toBe(false);
    }
  });

  it('never tells a long excursion an episode met on its way (a sentinel on a counter’s way up, held 600 readings)', () => {
    for (const seed of SEEDS.slice(0, 10)) {
      const xs = stream('counter', seed);
      const t = new LevelExcursion(SPAN, 0);
      let told = false;
      xs.forEach((x, k) => {
        const held = k >= 6000 && k < 6600;
        // A learning period of 1,024 readings: enough held blocks for a walk bound (with 256, none: never told anyway).
        t.update(k >= 6000 && k < 6010 ? 65_535 : x, !held, k < 1024, 0.01);
        told ||= t.drifting;
      });
      expect(told).toBe(false);
    }
  });

  it('tells its onset (the first reading of its first block beyond the envelope, the drift’s block or later) and the envelope it left, below the drift’s level', () => {
    for (const seed of SEEDS.slice(0, 10)) {
      const xs = stream('drift', seed);
      const t = new LevelExcursion(SPAN, 0);
      let told: ExcursionTold | null = null;
      let at = -1;
      xs.forEach((x, k) => {
        t.update(x, true, k < LEARN, 0.01, T0 + k * 1000);
        if (told === null && t.told !== null) {
          told = t.told;
          at = k;
        }
      });
      expect(told).not.toBeNull();
      const { since, up, lo, hi } = told as unknown as ExcursionTold;
      expect(up).toBe(true);
      // At or after the first reading of the block the drift's first reading is in.
      expect(since).toBeGreaterThanOrEqual(T0 + Math.floor(1800 / SPAN) * SPAN * 1000);
      expect(since).toBeLessThan(T0 + at * 1000);
      // The envelope holds 21 ± 0.1's block means, a block's first reading on from it: (since − T0) / 1000 a multiple of 31.
      expect(lo).toBeLessThan(21);
      expect(hi).toBeGreaterThan(21);
      expect(hi - lo).toBeLessThan(0.2);
      expect(((since - T0) / 1000) % SPAN).toBe(0);
    }
  });

  it('is growing while a drift goes on, and no longer once its new level has held for the lag (and a block); never told, never growing', () => {
    const LAG = Math.ceil(1000 / SPAN);
    const STOP = 1800 + 3600;
    for (const seed of SEEDS.slice(0, 10)) {
      const g = normal(seed * 1000 + 7);
      const t = new LevelExcursion(SPAN, 0);
      const rising: boolean[] = [];
      let toldAtK = -1;
      for (let k = 0; k < 9000; k++) {
        const x = Math.round((21 + 0.1 * g() + (4 * Math.min(Math.max(0, k - 1799), 3600)) / 3600) * 100) / 100;
        t.update(x, true, k < LEARN, 0.01);
        if (toldAtK < 0 && t.drifting) toldAtK = k;
        rising.push(t.growing(LAG));
      }
      expect(toldAtK).toBeGreaterThan(1800);
      // Growing at every block end from its telling to the drift's end.
      for (let k = toldAtK; k < STOP; k += SPAN) expect(rising[k], `seed ${seed}, reading ${k}`).toBe(true);
      // Not once the level has held for the lag and a block.
      for (let k = STOP + (LAG + 1) * SPAN; k < 9000; k++) expect(rising[k], `seed ${seed}, reading ${k}`).toBe(false);
      expect(t.drifting).toBe(true);
    }
    // The steady stream: never told, never growing.
    const t = new LevelExcursion(SPAN, 0);
    for (const [k, x] of stream('steady', 1).entries()) {
      t.update(x, true, k < LEARN, 0.01);
      expect(t.growing(LAG)).toBe(false);
    }
  });

  it('fellBack: a step from the open excursion’s level back into the envelope it left, only while it is open from an envelope of 16 held blocks or more, in each of 30 seeds', () => {
    const failures: string[] = [];
    for (const seed of SEEDS) {
      const xs = stream('drift', seed).slice(0, 3000);
      const t = new LevelExcursion(SPAN, 0);
      xs.forEach((x, k) => t.update(x, true, k < LEARN, 0.01));
      // At reading 2,999 the drift is at 21 + 1.33: beyond the envelope (21 ± a few tenths), the excursion open.
      const left = xs[xs.length - 1];
      const checks: [string, boolean, boolean][] = [
        ['back to 21', t.fellBack(left, 21), true],
        ['from 21 (inside) to 21', t.fellBack(21, 21), false],
        ['to 25 (beyond, further)', t.fellBack(left, 25), false],
        ['to 17 (below the envelope)', t.fellBack(left, 17), false],
        ['from NaN', t.fellBack(Number.NaN, 21), false],
      ];
      // Back at 21 (the envelope's middle) for three blocks, two of them whole: the excursion has ended, and a step
      // into the envelope is any step again.
      for (let k = 0; k < 3 * SPAN; k++) t.update(21, true, false, 0.01);
      checks.push(['after it came back', t.fellBack(left, 21), false]);
      // A steady stream has no excursion open.
      const steady = new LevelExcursion(SPAN, 0);
      stream('steady', seed).slice(0, 3000).forEach((x, k) => steady.update(x, true, k < LEARN, 0.01));
      checks.push(['a steady stream, from 22.33', steady.fellBack(22.33, 21), false]);
      // From an envelope of fewer than 2 · MIN_AGE = 16 held blocks (no walk bound yet: a cycle's first unseen trough
      // is as likely) no step falls back; from one of 16, it does.
      const young = new LevelExcursion(SPAN, 0);
      const ys = stream('steady', seed);
      for (let k = 0; k < 15 * SPAN; k++) young.update(ys[k], true, k < LEARN, 0.01);
      for (let k = 0; k < 4 * SPAN; k++) young.update(23, true, false, 0.01);
      checks.push(['15 blocks held, from 23', young.fellBack(23, 21), false]);
      for (let k = 0; k < 4 * SPAN; k++) steady.update(23, true, false, 0.01);
      checks.push(['3,000 readings held, from 23', steady.fellBack(23, 21), true]);
      for (const [what, got, want] of checks) if (got !== want) failures.push(`seed ${seed}: ${what}: ${String(got)}`);
    }
    expect(failures).toEqual([]);
  });

  it('goes on from its checkpoint as one never stopped', () => {
    const xs = stream('drift', 2);
    const a = new LevelExcursion(SPAN, 0);
    let b = new LevelExcursion(SPAN, 0);
    const da: string[] = [];
    const db: string[] = [];
    const state = (t: LevelExcursion): string => JSON.stringify([t.drifting, t.told, t.growing(33)]);
    xs.forEach((x, k) => {
      a.update(x, true, k < LEARN, 0.01, T0 + k * 1000);
      b.update(x, true, k < LEARN, 0.01, T0 + k * 1000);
      // At block ends (k + 1 a multiple of 31): the open block’s first reading’s time is not checkpointed.
      if (k === 991 || k === 2479 || k === 2634 || k === 4649) b = LevelExcursion.fromJSON(JSON.parse(JSON.stringify(b.toJSON())) as ReturnType<LevelExcursion['toJSON']>);
      da.push(state(a));
      db.push(state(b));
    });
    expect(db).toEqual(da);
    expect(da.some((s) => s.startsWith('[true'))).toBe(true);
  });

  it('driftedFrom finds the drift in a history whose newest part drifts (at a row from `from` on); a steady history holds none', () => {
    const xs = Float64Array.from(stream('drift', 3).slice(0, 3600));
    const found = driftedFrom(xs, 1, SPAN, LEARN, Math.floor(3600 * 0.8));
    expect(found).not.toBeNull();
    expect(found!.row).toBeGreaterThanOrEqual(Math.floor(3600 * 0.8));
    expect(driftedFrom(Float64Array.from(stream('steady', 3).slice(0, 3600)), 1, SPAN, LEARN, 0)).toBeNull();
  });

  /**
   * A room read every 60 s for 5 days: 20 + 2 sin(2π k / 1,440 + φ) + N(0, 0.05), to 0.01; +1 per 60 readings over the
   * last 720 when `drift` (12 h: tryout 31's 8 h leave the cycle's range as late as 4.5 h in when they start just before
   * its trough, seed 5 here, fewer than the 8 blocks an excursion must last before it is told).
   */
  const room = (seed: number, drift: boolean): number[] => {
    const g = normal(seed * 1000 + 11);
    const phase = (seed * 2.4) % (2 * Math.PI);
    return Array.from({ length: 7200 }, (_, k) => Math.round((20 + 2 * Math.sin((2 * Math.PI * k) / 1440 + phase) + 0.05 * g() + (drift && k >= 6480 ? (k - 6480) / 60 : 0)) * 100) / 100);
  };

  it('tells a drift beyond a daily cycle’s range (a cycle that repeats: tryout 31 room1), during it, in each of 10 seeds; the same cycle without the drift never (roomcycle)', () => {
    const failures: string[] = [];
    for (const seed of SEEDS.slice(0, 10)) {
      const at = toldAt(room(seed, true));
      if (!at.some((k) => k >= 6480)) failures.push(`seed ${seed}: drift never told`);
      if (at.some((k) => k < 6480)) failures.push(`seed ${seed}: told before the drift at ${at[0]}`);
      const clean = toldAt(room(seed, false));
      if (clean.length > 0) failures.push(`seed ${seed}: the cycle alone told at ${clean[0]}`);
    }
    expect(failures).toEqual([]);
  });

  it('goes on from its checkpoint as one never stopped through a cycle that repeats (the timeline), and reads a checkpoint written before the timeline', () => {
    const xs = room(3, true);
    const a = new LevelExcursion(SPAN, 0);
    let b = new LevelExcursion(SPAN, 0);
    const da: string[] = [];
    const db: string[] = [];
    const state = (t: LevelExcursion): string => JSON.stringify([t.drifting, t.told, t.growing(33)]);
    xs.forEach((x, k) => {
      a.update(x, true, k < LEARN, 0.01, T0 + k * 60_000);
      b.update(x, true, k < LEARN, 0.01, T0 + k * 60_000);
      // At block ends (k + 1 a multiple of 31): before the cycle is found, before the excursion, during it.
      if (k === 4029 || k === 6385 || k === 7036) b = LevelExcursion.fromJSON(JSON.parse(JSON.stringify(b.toJSON())) as ReturnType<LevelExcursion['toJSON']>);
      da.push(state(a));
      db.push(state(b));
    });
    expect(db).toEqual(da);
    expect(da.some((s) => s.startsWith('[true'))).toBe(true);
    // Written before the timeline (no line, linePos, pending): read as an empty timeline, the rest as written.
    const { line, linePos: _linePos, pending: _pending, ...old } = a.toJSON();
    // Every block on it: the learning period's, the held ones and the excursions'.
    expect(line?.length).toBe(Math.floor(7200 / SPAN));
    expect(LevelExcursion.fromJSON(old).toJSON()).toEqual(old);
  });
  /**
   * A new room read every 10 s (finding `firstday4`, scripts/first-day-sweep.mjs at 10 s: tryout 31's generator,
   * 20 + 2 sin(2π·timeOfDay − 1) + N(0, 0.05) to 0.01, test/helpers/lcg.ts seeds 1 to 4) for two days, its first reading
   * at `tod` ms after midnight: its learning period (256 readings) is 43 minutes of the day.
   */
  const room10 = (seed: number, tod: number): number[] => {
    const rnd = lcg(seed);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    return Array.from({ length: 17_280 }, (_, i) => {
      const ts = tod + i * 10_000;
      return Math.round((20 + 2 * Math.sin(2 * Math.PI * ((ts % 86_400_000) / 86_400_000) - 1) + 0.05 * gauss()) * 100) / 100;
    });
  };

  it('never tells a new room’s day read every 10 s, its first reading at 12 times of day, in seeds 1 to 4: the walk beyond its 43-minute learning period goes on as its latest motion carries it (firstday4; main ba604a9 told tod 480 seeds 1 and 3, tod 1200 seed 2)', () => {
    const told: string[] = [];
    for (let p = 0; p < 12; p++) {
      for (const seed of [1, 2, 3, 4]) {
        const at = toldAt(room10(seed, p * 7_200_000));
        if (at.length > 0) told.push(`tod ${p * 120} min seed ${seed}: told at reading ${at[0]}`);
      }
    }
    expect(told).toEqual([]);
  });

  it('goes on from its checkpoint as one never stopped through a walk its latest motion carries (the motion is the timeline’s, not checkpointed)', () => {
    const xs = room10(1, 480 * 60_000);
    const a = new LevelExcursion(SPAN, 0);
    let b = new LevelExcursion(SPAN, 0);
    const da: string[] = [];
    const db: string[] = [];
    const state = (t: LevelExcursion): string => JSON.stringify([t.drifting, t.told, t.growing(33), t.toJSON().envelope]);
    xs.forEach((x, k) => {
      a.update(x, true, k < LEARN, 0.01, T0 + k * 10_000);
      b.update(x, true, k < LEARN, 0.01, T0 + k * 10_000);
      // At block ends (k + 1 a multiple of 31): in the walk's first excursion, while it is carried, hours on.
      if (k === 1394 || k === 2231 || k === 3099 || k === 6199) b = LevelExcursion.fromJSON(JSON.parse(JSON.stringify(b.toJSON())) as ReturnType<LevelExcursion['toJSON']>);
      da.push(state(a));
      db.push(state(b));
    });
    expect(db).toEqual(da);
    // The envelope followed the walk down (the day's trough, 18 °C, is inside it by the second day).
    expect(a.toJSON().envelope!.lo).toBeLessThan(18.2);
  });
});
