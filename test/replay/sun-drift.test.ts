/**
 * A weather sensor in the sun (tryout 38, finding 2): a slow departure from the stream's own daily cycle is told
 * while it departs, the way it goes, against what the stream's normal would be then, and its episode ends soon after
 * the level is back (not held through the night's normal cooling). Through `anomalyd replay --episodes` with the
 * shipped configuration and model.
 *
 * The tryout's weather, 16 days: 5 + 4 sin(2π (h − 9) / 24) + 2 sin(t / 5 d) + N(0, 0.15) °C (h the hour of the day,
 * UTC + 1), to 0.1 °C; on day 14 from 11:00 UTC the sensor in the sun reads +3 °C more by the end of 8 h, or +8 °C by
 * the end of 4 h (a ramp), then the true level again at once. Before, at 5 min, neither was told while it rose: the
 * drift off the cycle was told only after half a period (12 h) far, and the return opened an episode of its own,
 * "−0.8, expected 13.4 (drift, −0.8/h)", held 12 to 18 h through the normal night.
 *
 * Not covered (`it.fails`): at 1 min a day is 1,440 readings, which the cycle's ring (2,048 readings) does not hold
 * with a week of its changes, so the drift off the cycle is not judged there (src/pipeline/drift.ts); the +3 °C
 * drift's return is still held through the night.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../helpers/daemon.js';
import { replayEpisodes, shippedConfigIn, type ReplayedEpisode } from '../helpers/replay-episodes.js';
import { normal } from '../pipeline/detector-helpers.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
/** 2026-11-20T00:00Z. */
const T0 = Date.UTC(2026, 10, 20);
/** The sun's first reading: day 14, 11:00 UTC. */
const ON = T0 + 14 * D + 11 * H;

/** The stream's normal at `t` (epoch ms), °C: the tryout's weather without its noise. */
function clean(t: number): number {
  const h = (t / H + 1) % 24;
  return 5 + 4 * Math.sin(((h - 9) / 24) * 2 * Math.PI) + 2 * Math.sin(t / (5 * D));
}

/** 16 days every `stepMin` minutes; `amp` °C more by the end of `hours` from ON (0: no sun), then back at once. */
function weather(stepMin: number, amp: number, hours: number, seed: number): [number, number][] {
  const draw = normal(seed);
  const off = ON + hours * H;
  const out: [number, number][] = [];
  for (let t = T0; t < T0 + 16 * D; t += stepMin * MIN) {
    let v = clean(t) + 0.15 * draw();
    if (amp !== 0 && t >= ON && t < off) v += (amp * (t - ON)) / (off - ON);
    out.push([t, Math.round(v * 10) / 10]);
  }
  return out;
}

/** `stream 13.8, expected 6.2 ± 0.5 since 15:23 (drift, +3/h)`: the told value, what was expected, the rate's sign. */
function told(sentence: string): { value: number; expected: number; up: boolean } | null {
  const m = /^\S+ (−?[\d.]+), expected (−?[\d.]+) ± [\d.]+ since .* \(drift, ([+−])/.exec(sentence);
  if (m === null) return null;
  const num = (s: string): number => Number(s.replace('−', '-'));
  return { value: num(m[1]), expected: num(m[2]), up: m[3] === '+' };
}

/**
 * What must hold of the replay's episodes: one, opened while the level rises (before the return), told a `drift`
 * upwards, its value at least 0.6 × amp above what it expected, that expectation within 1 °C of the stream's normal
 * during the sun (not the drifted level), and resolved within `endWithin` readings of the return.
 */
function failures(eps: readonly ReplayedEpisode[], stepMin: number, amp: number, hours: number, endWithin: number): string[] {
  const off = ON + hours * H;
  const out: string[] = [];
  if (eps.length !== 1) out.push(`${eps.length} episodes: ${eps.map((e) => `${new Date(e.start).toISOString()} ${e.sentence}`).join(' | ')}`);
  const e = eps.find((x) => x.start >= ON && x.start < off);
  if (e === undefined) return [...out, 'no episode opened while the level rose'];
  if (e.kind !== 'drift') out.push(`kind ${e.kind}, not drift: ${e.sentence}`);
  const t = told(e.sentence);
  if (t === null) return [...out, `not told as a drift against an expected level: ${e.sentence}`];
  if (!t.up) out.push(`told downwards: ${e.sentence}`);
  if (!(t.value - t.expected >= 0.6 * amp)) out.push(`value ${t.value} not ${0.6 * amp} above expected ${t.expected}: ${e.sentence}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let s = ON; s < off; s += stepMin * MIN) {
    lo = Math.min(lo, clean(s));
    hi = Math.max(hi, clean(s));
  }
  if (!(t.expected >= lo - 1 && t.expected <= hi + 1)) out.push(`expected ${t.expected} not near the normal level (${lo.toFixed(1)} … ${hi.toFixed(1)} during the sun): ${e.sentence}`);
  const after = (e.end - off) / (stepMin * MIN);
  if (after > endWithin) out.push(`resolved ${after} readings after the return (at most ${endWithin})`);
  return out;
}

const present = existsSync(join(MODELS, 'gru.json'));
let dir = '';
let config = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-sun-drift-'));
  config = await shippedConfigIn(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!present)('a sensor in the sun: a slow departure off the daily cycle (shipped configuration and model)', () => {
  // At 5 min: a day of 288 readings; resolved within a quarter of a day of the return (72 readings).
  for (const [amp, hours] of [
    [3, 8],
    [8, 4],
  ] as const) {
    it(`5 min, +${amp} °C over ${hours} h from 11:00 UTC on day 14: told while it rises, upwards, against the normal level; ends within 72 readings of the return`, async () => {
      const eps = await replayEpisodes(dir, config, `sun5-${amp}`, weather(5, amp, hours, 38));
      expect(failures(eps, 5, amp, hours, 72)).toEqual([]);
    }, 600_000);
  }

  it('5 min, the same 16 days without the sun: no episode', async () => {
    const eps = await replayEpisodes(dir, config, 'sun5-none', weather(5, 0, 8, 38));
    expect(eps.map((e) => `${new Date(e.start).toISOString()} ${e.sentence}`)).toEqual([]);
  }, 600_000);

  // Not covered: at 1 min the drift off the cycle is not judged (module docs). Resolved within a quarter of a day.
  it.fails('1 min, +3 °C over 8 h: told while it rises (not covered: a day of 1,440 readings)', async () => {
    const eps = await replayEpisodes(dir, config, 'sun1-3', weather(1, 3, 8, 38));
    expect(failures(eps, 1, 3, 8, 360)).toEqual([]);
  }, 900_000);
});
