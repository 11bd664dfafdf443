/**
 * A slow drift far beyond a steady stream's normal (tryout 29 finding 1), through the detector the daemon runs
 * (runReplay, as `anomalyd replay` without --learn-first) with the shipped configuration and model; the same readings
 * stamped 1 s, 60 s and 300 s apart (counted in readings: the detector must not care).
 *
 * (a) A 1 Hz room temperature, 21 + N(0, 0.1) °C to 0.01, drifting linearly from reading 1,800 by +12 °C over 10,800
 * readings (a failing sensor, a heater stuck on); the replay stops at reading 5,400 (+4 °C, 40 of its standard
 * deviations past everything it had shown). Without the excursion rule (src/pipeline/excursion.ts) seeds 2 and 4 are
 * never told (a race of the drift's first readings against the learners, as in test/replay/slow-drift-bounded.test.ts).
 * (b) One read every 5 min, the same noise, drifting +4.3 °C over 432 readings (a day and a half) from reading 576,
 * then held: main tells it (a lasting shift within 25 readings, told `drift`), a guard. With a daily cycle of ±0.5 °C
 * (288 readings) under it, neither main nor the excursion rule tells it: KNOWN TO FAIL (`it.fails`).
 *
 * Beside them, streams whose normal is to move and must stay quiet: a cumulative counter (+1 ± 0.2 a reading), a
 * random walk of step N(0, 0.01) hidden under N(0, 0.1) noise, and the steady stream without a drift. A wandering
 * weather temperature (an AR(1) of time constant 360 readings, sd 2 °C, plus N(0, 0.05)) is replayed too but not
 * asserted quiet: main's other kinds alarm it on their own in seeds 1 and 4 (rows 585 and 5,119, the same with the
 * excursion rule switched off); nor is a walk of step N(0, 0.1) (main alarms it in 3 of 8 seeds over 12,600
 * readings). test/pipeline/excursion.test.ts judges the rule alone on both, in 30 seeds.
 *
 * How the drift's episode is told (replayed with `tell`, as the daemon's record tells it, clock times in UTC): (a)'s
 * episode in each seed is told a `drift`; where the excursion rule opened or held it (the seeds the other kinds miss),
 * as `drifting up since <time>, +X above anything seen`, its time no earlier than the block (of the short means' span)
 * of the drift's first reading and no later than the episode's start (before the fix: `spike`, against the readings
 * just before, already drifted). And the new normal: (a)'s episode the excursion holds, the drift still growing at the replay's end (thousands of readings held),
 * is not resolved as the new normal (one the other kinds opened, seeds 1 and 3, too since branch driftkind2: the
 * excursion that met it at the drift's first readings is told inside it; before, it was adopted after 1,000 readings,
 * mid-drift; test/replay/level-excursion-kinds.test.ts); the same drift
 * stopped at +4 °C and held is, never before it has held for `alerts.newNormalAfter` readings after it stopped (on
 * branch drift: 1,000 readings after the episode opened, 1,700 before the drift stopped).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { modelSidecarPath } from '../../src/daemon.js';
import { shortSpan } from '../../src/pipeline/scorer.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';
import type { ToldEpisode } from '../../src/replay/tell.js';
import { normal } from '../pipeline/detector-helpers.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

const CHANNELS = ['drift', 'counter', 'weather', 'hidden', 'steady'] as const;

interface Drift {
  /** The drift's first reading. */
  readonly onset: number;
  /** Readings it rises over, and by how much (°C). */
  readonly over: number;
  readonly rise: number;
  /** Rows replayed. */
  readonly rows: number;
  /** A daily cycle's amplitude (°C) under the drift stream (period 288 readings), 0 for none. */
  readonly cycle: number;
}

const A: Drift = { onset: 1800, over: 10_800, rise: 12, rows: 5400, cycle: 0 };
const B: Drift = { onset: 576, over: 432, rise: 4.3, rows: 1108, cycle: 0 };

/** The rows of one seed, `stepMs` apart; each column is its own stream. */
const T0 = Date.UTC(2026, 11, 4, 8);

function rows(d: Drift, seed: number, stepMs: number): ReplayRow[] {
  const g = CHANNELS.map((_, j) => normal(seed * 100 + j));
  const t0 = T0;
  const round = (v: number): number => Math.round(v * 100) / 100;
  let counter = 1000;
  let weather = 0;
  let hidden = 20;
  const a = Math.exp(-1 / 360);
  const out: ReplayRow[] = [];
  for (let k = 0; k < d.rows; k++) {
    const drift = k >= d.onset ? d.rise * Math.min(1, (k - d.onset + 1) / d.over) : 0;
    counter += Math.max(0, 1 + 0.2 * g[1]());
    weather = a * weather + Math.sqrt(1 - a * a) * 2 * g[2]();
    hidden += 0.01 * g[3]();
    const values = [
      round(21 + d.cycle * Math.sin((2 * Math.PI * k) / 288) + 0.1 * g[0]() + drift),
      round(counter),
      round(15 + weather + 0.05 * g[2]()),
      round(hidden + 0.1 * g[3]()),
      round(21 + 0.1 * g[4]()),
    ];
    out.push({ sensor: 'house', ts: t0 + k * stepMs, channels: [...CHANNELS], values });
  }
  return out;
}

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const present = existsSync(join(MODELS, 'gru.json'));

/** The channels asserted quiet (not the weather: see the module docs). */
const QUIET = ['counter', 'hidden', 'steady'] as const;

/** What went wrong with one replay (empty: the drift alarmed during it and not before, the QUIET ones never). */
async function failuresOf(d: Drift, seed: number, stepMs: number): Promise<string[]> {
  const out = await replayShipped(shippedConfig(), rows(d, seed, stepMs), dirs);
  expect(out.length).toBe(d.rows);
  const by = alarmedRows(out, CHANNELS.length);
  const failures: string[] = [];
  const before = by[0].filter((i) => i < d.onset);
  if (before.length > 0) failures.push(`drift: alarmed before the drift, from row ${before[0]}`);
  if (!by[0].some((i) => i >= d.onset && i < d.onset + d.over)) failures.push('drift: never alarmed during the drift');
  for (const name of QUIET) {
    const rowsOf = by[CHANNELS.indexOf(name)];
    if (rowsOf.length > 0) failures.push(`${name}: ${rowsOf.length} alarmed rows, from row ${rowsOf[0]}`);
  }
  return failures;
}

describe.skipIf(!present)('a slow drift far beyond a steady stream’s normal (tryout 29 finding 1)', () => {
  for (const stepMs of [1000, 60_000]) {
    it(`(a) 21 + N(0, 0.1) °C drifting +12 °C over 10,800 readings from reading 1,800, every ${stepMs / 1000} s: told during the drift in each of seeds 1 to 4; a counter, a hidden walk and a steady stream stay quiet`, async () => {
      const failures: string[] = [];
      for (const seed of [1, 2, 3, 4]) for (const f of await failuresOf(A, seed, stepMs)) failures.push(`seed ${seed}: ${f}`);
      expect(failures).toEqual([]);
    }, 600_000);
  }

  for (const stepMs of [60_000, 300_000]) {
    it(`(b) the same noise drifting +4.3 °C over 432 readings from reading 576, every ${stepMs / 1000} s: told during the drift in each of seeds 1 to 4; the others stay quiet`, async () => {
      const failures: string[] = [];
      for (const seed of [1, 2, 3, 4]) for (const f of await failuresOf(B, seed, stepMs)) failures.push(`seed ${seed}: ${f}`);
      expect(failures).toEqual([]);
    }, 600_000);
  }

  for (const stepMs of [60_000, 300_000]) {
    it(`(b) over a daily cycle of ±0.5 °C (288 readings), every ${stepMs / 1000} s: told during the drift in each of seeds 1 to 4; the others stay quiet`, async () => {
      const failures: string[] = [];
      for (const seed of [1, 2, 3, 4]) for (const f of await failuresOf({ ...B, cycle: 0.5 }, seed, stepMs)) failures.push(`seed ${seed}: ${f}`);
      expect(failures).toEqual([]);
    }, 600_000);
  }
});

/** The episodes of one replay as the daemon's record tells them (runReplay with `tell`), clock times in UTC. */
async function told(d: Drift, seed: number, stepMs: number): Promise<ToldEpisode[]> {
  const base = shippedConfig();
  const config = { ...base, explain: { ...base.explain, timeZone: 'UTC' } };
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-level-excursion-'));
  dirs.push(dir);
  const res = await runReplay(rows(d, seed, stepMs), { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir, tell: true }, () => undefined);
  return [...res.episodes];
}

/**
 * The epoch ms of a sentence's `drifting up since <clock>` (`HH:MM`, or `YYYY-MM-DD HH:MM` on another day than the
 * sentence's own, taken as `dayOf`'s UTC day), or null when the sentence does not say it.
 */
function driftingSince(sentence: string, dayOf: number): number | null {
  const m = /drifting up since (?:(\d{4})-(\d{2})-(\d{2}) )?(\d{2}):(\d{2}), \+[0-9.]+ above anything seen \(drift, /.exec(sentence);
  if (m === null) return null;
  const day = new Date(dayOf);
  const [y, mo, da] = m[1] !== undefined ? [Number(m[1]), Number(m[2]) - 1, Number(m[3])] : [day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()];
  return Date.UTC(y, mo, da, Number(m[4]), Number(m[5]));
}

describe.skipIf(!present)('the drift’s episode told as a drift since its onset, and the new normal by evidence', () => {
  for (const stepMs of [1000, 60_000]) {
    it(`(a) every ${stepMs / 1000} s, seeds 1 to 4: told \`drift\`; from the excursion as drifting up since its onset, +X above anything seen, and then not the new normal while it grows`, async () => {
      const failures: string[] = [];
      let fromExcursion = 0;
      for (const seed of [1, 2, 3, 4]) {
        const onsetTs = T0 + A.onset * stepMs;
        const eps = (await told(A, seed, stepMs)).filter((e) => e.stream === 'house/drift' && e.startTs >= onsetTs);
        if (eps.length === 0) {
          failures.push(`seed ${seed}: no episode during the drift`);
          continue;
        }
        const ep = eps[0];
        if (ep.kind !== 'drift') failures.push(`seed ${seed}: told ${ep.kind}: ${ep.sentence}`);
        const since = ep.sentence === null ? null : driftingSince(ep.sentence, ep.endTs);
        if (since !== null) {
          fromExcursion++;
          if (ep.resolution === 'new_normal') failures.push(`seed ${seed}: resolved as the new normal after ${ep.readings} readings while the drift still grows`);
          // The onset's block (of the short means' span) at the earliest, in the sentence's minutes.
          const earliest = onsetTs - shortSpan(shippedConfig().score.smooth) * stepMs;
          if (since < earliest - (earliest % 60_000) || since > ep.startTs) failures.push(`seed ${seed}: since ${new Date(since).toISOString()} outside the drift's first reading … the episode's start: ${ep.sentence}`);
        }
      }
      expect(failures).toEqual([]);
      // The seeds only the excursion rule tells (2 and 4 of these, the module docs) are told from its evidence.
      expect(fromExcursion).toBeGreaterThan(0);
    }, 600_000);
  }

  it('(a) stopped at +4 °C after 3,600 readings and held for 2,400, every 60 s: the episode the excursion holds is resolved as the new normal, never before the level has held for alerts.newNormalAfter readings after the drift stopped', async () => {
    const after = shippedConfig().alerts.newNormalAfter;
    const stopped: Drift = { onset: A.onset, over: 3600, rise: 4, rows: A.onset + 3600 + 2400, cycle: 0 };
    const stepMs = 60_000;
    const stopTs = T0 + (stopped.onset + stopped.over - 1) * stepMs;
    const failures: string[] = [];
    let fromExcursion = 0;
    let adopted = 0;
    for (const seed of [1, 2, 3, 4]) {
      const eps = (await told(stopped, seed, stepMs)).filter((e) => e.stream === 'house/drift' && e.startTs >= T0 + stopped.onset * stepMs);
      const ep = eps[0];
      if (ep?.sentence == null || driftingSince(ep.sentence, ep.endTs) === null) continue;
      fromExcursion++;
      // Still open at the end: a stuck value's evidence in the held level restarted the count (seed 2: twice), as ever.
      if (ep.resolution !== 'new_normal') continue;
      adopted++;
      // Its end is the reading adopted: the level held for newNormalAfter readings after the drift stopped (the count
      // starts over while it grows).
      const at = (ep.endTs - T0) / stepMs;
      if (ep.endTs < stopTs + after * stepMs) failures.push(`seed ${seed}: adopted at reading ${at}, less than ${after} readings after the drift stopped (${stopped.onset + stopped.over - 1})`);
    }
    expect(failures).toEqual([]);
    expect(fromExcursion).toBeGreaterThan(0);
    expect(adopted).toBeGreaterThan(0);
  }, 600_000);
});

interface Garage {
  /** The drift's first reading, the readings it rises over and by how much (°C), the rows replayed. */
  readonly onset: number;
  readonly over: number;
  readonly rise: number;
  readonly rows: number;
}

/** The tryout's garage as generated first: the drift ends at the cycle's phase of 13.5 °C, at 17.1 °C inside the cycle's range. */
const GARAGE: Garage = { onset: 3840, over: 360, rise: 3.6, rows: 4320 };
/**
 * As the tryout's file had it (at 21.3 °C, its cycle's 17.8 there): the drift ends at the cycle's phase of 17.1 °C
 * (reading 540 of the third day), at 20.7 °C, beyond any level the cycle had shown; 120 readings follow it.
 */
const GARAGE_BEYOND: Garage = { onset: 3060, over: 360, rise: 3.6, rows: 3540 };

/**
 * A garage temperature read every 60 s (tryout 30 finding 3, generated here): a daily cycle of ±3 °C (1,440 readings)
 * about 15 °C, N(0, 0.1) to 0.01, drifting `rise` °C over `over` readings from reading `onset`, then back on the
 * cycle at once.
 */
function garage(d: Garage, seed: number): ReplayRow[] {
  const g = normal(seed * 100 + 9);
  const out: ReplayRow[] = [];
  for (let k = 0; k < d.rows; k++) {
    const drift = k >= d.onset && k < d.onset + d.over ? (d.rise * (k - d.onset + 1)) / d.over : 0;
    const v = 15 + 3 * Math.sin((2 * Math.PI * k) / 1440) + 0.1 * g() + drift;
    out.push({ sensor: 'garage', ts: T0 + k * 60_000, channels: ['temp'], values: [Math.round(v * 100) / 100] });
  }
  return out;
}

/** The garage's episodes (runReplay with `tell`, once a seed), and what went wrong: before the drift or held from its fall back against the drifted level (`quiet`), or untold (`untold`). */
const garageRuns = new Map<string, Promise<{ quiet: string[]; untold: string[] }>>();

function garageFailures(d: Garage, seed: number): Promise<{ quiet: string[]; untold: string[] }> {
  const key = `${d.onset}/${seed}`;
  let run = garageRuns.get(key);
  if (run === undefined) {
    run = judgeGarage(d, seed);
    garageRuns.set(key, run);
  }
  return run;
}

async function judgeGarage(d: Garage, seed: number): Promise<{ quiet: string[]; untold: string[] }> {
  const base = shippedConfig();
  const config = { ...base, explain: { ...base.explain, timeZone: 'UTC' } };
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-level-excursion-'));
  dirs.push(dir);
  const res = await runReplay(garage(d, seed), { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir, tell: true }, () => undefined);
  const at = (ts: number): number => (ts - T0) / 60_000;
  const quiet: string[] = [];
  const untold: string[] = [];
  const fallBack = d.onset + d.over;
  for (const e of res.episodes) {
    if (at(e.startTs) < d.onset) quiet.push(`${e.kind ?? 'episode'} before the drift at reading ${at(e.startTs)}: ${e.sentence ?? ''}`);
    // The fall back is the cycle's own level again: an episode that opens there and is held against the drifted level.
    else if (at(e.startTs) >= fallBack && e.readings > shortSpan(base.score.smooth)) quiet.push(`${e.kind ?? 'episode'} held ${e.readings} readings from the fall back (reading ${at(e.startTs)}): ${e.sentence ?? ''}`);
  }
  if (!res.episodes.some((e) => at(e.startTs) >= d.onset && at(e.startTs) < fallBack)) untold.push('never told during the drift');
  return { quiet, untold };
}

describe.skipIf(!present)('a drift over a daily cycle larger than it, read every 60 s (tryout 30 finding 3)', () => {
  it('a garage at 15 ± 3 °C drifting +3.6 °C over 6 h beyond its cycle’s range (20.7 °C), then back: no episode before the drift, and its fall back (a step from beyond the envelope back into it: LevelExcursion.fellBack) holds no episode for more than the short means’ span, seeds 1 to 4', async () => {
    const failures: string[] = [];
    for (const seed of [1, 2, 3, 4]) for (const f of (await garageFailures(GARAGE_BEYOND, seed)).quiet) failures.push(`seed ${seed}: ${f}`);
    expect(failures).toEqual([]);
  }, 600_000);

  it.fails('a garage at 15 ± 3 °C drifting +3.6 °C over 6 h within its cycle’s range (17.1 °C, the cycle 13.5 there), then back: told during the drift, and its fall back holds no episode against the drifted level, seeds 1 to 4 (fails: the cycle of 1,440 readings is not found by then, and its range makes the drift the stream’s own; the level the fall back leaves is inside the envelope, so fellBack does not see it: a level_shift held 120 readings to the end)', async () => {
    const failures: string[] = [];
    for (const seed of [1, 2, 3, 4]) {
      const f = await garageFailures(GARAGE, seed);
      for (const x of [...f.quiet, ...f.untold]) failures.push(`seed ${seed}: ${x}`);
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
