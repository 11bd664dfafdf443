/**
 * A drift's record tells how far it went, not where its last readings were (tryout 38, finding 10). A CO2 sensor at
 * 30 s (a room's daily levels, 450 / 600 / 900 ppm, random-walk noise of ± 3 ppm a reading, as the tryout's gen.py)
 * climbs +10 ppm a reading for 3 h, to about +3,600 ppm, then is back at once: the daemon opened it as a noise change,
 * its updates told `1412 ppm` to `3314 ppm`, and its resolve, its record (`anomalyd anomalies list`, `history`) and the
 * dashboard said `701 ppm, expected 596 ± 19 (drift, +1187 ppm/h)`: a reading on the way back, below everything its
 * updates had told. Through `anomalyd replay` (the daemon's detector and explainer, src/replay/tell.ts: the kind and
 * sentence its record tells after each row, and each episode's at its end), with the shipped configuration and model.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { MODELS } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { replayEpisodes, shippedReplayDir } from '../helpers/replay-episodes.js';

const present = existsSync(join(MODELS, 'gru.json'));
const tmp = shippedReplayDir('drift-peak');

const STEP = 30_000;
const DAYS = 3;
const N = DAYS * 2880;
/** The climb's first reading and its length (readings). */
const K0 = N - 1440;
const CLIMB = 360;

/** A standard normal from two uniforms (Box–Muller). */
function gauss(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** The tryout's co2climb: [epoch ms, ppm], with the climb from K0 on for CLIMB readings. */
function co2(seed: number): [number, number][] {
  const u = lcg(seed);
  const t0 = Date.UTC(2026, 11, 2, 14, 18, 10) - (N - 1 - 1440) * STEP;
  let c = 420;
  const out: [number, number][] = [];
  for (let i = 0; i < N; i++) {
    const t = t0 + i * STEP;
    const h = new Date(t).getUTCHours();
    const target = h >= 18 && h < 23 ? 900 : h >= 7 && h < 18 ? 600 : 450;
    c += 0.01 * (target - c) + 3 * gauss(u);
    out.push([t, Math.round(c) + (i >= K0 && i < K0 + CLIMB ? 10 * (i - K0) : 0)]);
  }
  return out;
}

/** The first number of a sentence after the stream's name (the value it tells), or null. */
function toldValue(sentence: string): number | null {
  const m = /^\S+ (-?[\d.]+)/.exec(sentence);
  return m === null ? null : Number(m[1]);
}

describe.skipIf(!present)('a drift is told at how far it went, at its resolve too (tryout 38, finding 10)', () => {
  it.each([1, 2])('seed %i: a CO2 climb of +3,600 ppm in 3 h, back at once: its record tells its peak, no less than any update told', async (seed) => {
    const rows = co2(seed);
    const peak = Math.max(...rows.slice(K0, K0 + CLIMB).map((r) => r[1]));
    const episodes = await replayEpisodes(tmp.dir, tmp.config, `co2climb${seed}`, rows);
    const climbStart = rows[K0][0];
    const climbEnd = rows[K0 + CLIMB - 1][0];
    const mine = episodes.filter((e) => e.start <= climbEnd && e.end >= climbStart);
    expect(mine.length, JSON.stringify(episodes)).toBeGreaterThanOrEqual(1);
    // The episode that held its top readings: told a drift at its peak (within a reading's climb and its noise).
    const top = mine.find((e) => e.start <= climbEnd && e.end >= climbEnd) ?? mine[mine.length - 1];
    expect(top.kind, top.sentence).toBe('drift');
    const told = toldValue(top.sentence);
    expect(told, top.sentence).not.toBeNull();
    expect(told!, top.sentence).toBeGreaterThanOrEqual(peak - 30);
    expect(told!, top.sentence).toBeLessThanOrEqual(peak);
    // No less than anything told while it was open (the rows' sentences: what its record and alerts said then).
    const out = parse<Record<string, string>>(await readFile(join(tmp.dir, `co2climb${seed}-out.csv`), 'utf8'), { columns: true });
    const whileOpen = out
      .filter((r) => r.kind === 'drift' && r.sentence !== '')
      .map((r) => toldValue(r.sentence))
      .filter((v): v is number => v !== null);
    expect(whileOpen.length).toBeGreaterThan(0);
    expect(told!).toBeGreaterThanOrEqual(Math.max(...whileOpen));
  }, 300_000);
});
