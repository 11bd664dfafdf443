/**
 * A duty-cycled plug stuck on for hours is one episode, open while the state lasts and closed when the cycle resumes,
 * with none after it (tryout 37, finding 2).
 *
 * A Tasmota fridge plug read every 10 s: 15 min on at 80 ± 3 W, 30 min off at 0.5 W, each compressor start one
 * reading 40 W above the on level (a start-up surge), integer watts. Left on for about 3 h, the compressor's would-be
 * starts still surged every 45 min. The first episode (`80 W for 19 min since 19:30 … (stuck value)`) resolved at
 * the first surge, one period after the state began, and three more opened and resolved while the plug stayed on. The
 * dwell tracker (src/pipeline/dwell.ts) took the surge (117 W, at no state it knew) for a switch, taught at once, and
 * the return to 84 W for no return: it judged the return by the surge's own noise (one reading: none), not by the on
 * state's. The on state's dwell started over at the surge. Now a switch to a reading at no known state waits to see
 * whether it was a blip, and the return is judged by the noise of the level it returns to: the surge is a blip of the
 * on state, whose dwell goes on.
 *
 * Generated duty-cycle data (seeded), read every 10 s and every minute, through `replay` with the shipped
 * configuration and model (the daemon's detector).
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { replayEpisodes, shippedReplayDir } from '../helpers/replay-episodes.js';
import { mulberry32 as rng } from '../../src/train/rng.js';

const SEC = 1000;
const MIN = 60 * SEC;

const tmp = shippedReplayDir('stuck-on-surges');

const start = Date.UTC(2026, 11, 4);
const ON = 15 * MIN;
const PERIOD = 45 * MIN;
/** Cycles before the fault (15 h), the fault's length in cycles (3 h), cycles after it (6 h). */
const BEFORE = 20;
const STUCK = 4;
const AFTER = 8;

interface Plug {
  readonly rows: [number, number][];
  /** The stuck state's first and last readings' times (epoch ms). */
  readonly from: number;
  readonly to: number;
}

/**
 * The plug read every `sampleMs` (Gaussian noise by the sum of 12 uniforms): BEFORE cycles, then on for STUCK periods
 * (its would-be starts surging as ever), then AFTER cycles, the first of which begins on. Integer watts, as a Tasmota plug reports.
 */
function stuckPlug(sampleMs: number, seed: number): Plug {
  const u = rng(seed);
  const gauss = (): number => {
    let s = 0;
    for (let i = 0; i < 12; i++) s += u();
    return s - 6;
  };
  const stuckFrom = BEFORE * PERIOD;
  const stuckTo = stuckFrom + STUCK * PERIOD;
  const end = stuckTo + AFTER * PERIOD;
  const rows: [number, number][] = [];
  let from = Number.NaN;
  for (let t = 0; t < end; t += sampleMs) {
    const phase = t % PERIOD;
    const stuck = t >= stuckFrom && t < stuckTo;
    const on = stuck || phase < ON;
    if (stuck && !(from === from)) from = start + t;
    const v = on ? 80 + 3 * gauss() + (phase < sampleMs ? 40 : 0) : 0.5 + 0.05 * gauss();
    rows.push([start + t, Math.max(0, Math.round(v))]);
  }
  // The state held runs into the on phase the cycle resumes with: its last reading is that phase's.
  return { rows, from, to: start + stuckTo + ON - sampleMs };
}

describe.skipIf(!builtAndModelsPresent())('a fridge plug stuck on whose compressor starts still surge (tryout 37, finding 2)', () => {
  for (const sampleMs of [10 * SEC, MIN]) {
    it(`read every ${sampleMs / SEC} s, on for 3 h: one stuck episode from within the state to its end, none in the 9 h before nor the 6 h after`, async () => {
      const plug = stuckPlug(sampleMs, 37);
      // The surges inside the state are there: one a period (the data is what the finding needs).
      const surges = plug.rows.filter(([t, v]) => t > plug.from && t <= plug.to && v > 105);
      expect(surges.length).toBe(STUCK);
      const episodes = await replayEpisodes(tmp.dir, tmp.config, `plug-${sampleMs}`, plug.rows);
      const told = (es: typeof episodes): string[] => es.map((e) => `${new Date(e.start).toISOString()} ${e.kind} ${e.sentence}`);
      // One episode over the state held: opened within it (after its usual 15 min), open across every surge, closed
      // at its end (the first off reading), told as the state held against the longest before.
      const during = episodes.filter((e) => e.end >= plug.from && e.start <= plug.to);
      expect(told(during)).toHaveLength(1);
      const [e] = during;
      expect(e.kind).toBe('stuck');
      expect(e.sentence).toMatch(/ for 3\.\d h since \d\d:\d\d, never longer than 15 min before \(stuck value\)$/);
      expect(e.start).toBeGreaterThan(plug.from + ON);
      expect(e.start).toBeLessThan(plug.from + PERIOD);
      expect(e.end).toBeGreaterThan(plug.to);
      expect(e.end).toBeLessThanOrEqual(plug.to + 5 * MIN);
      // Nothing once the cycle resumed (6 h), and nothing in the 9 h before the fault. (At 10 s the cycle's profile
      // opens one `off the usual cycle` at 05:30, in the stream's seventh cycle, on main as here: not this kind.)
      expect(told(episodes.filter((x) => x.start > plug.to))).toEqual([]);
      expect(told(episodes.filter((x) => x.start < plug.from && x.end > plug.from - 9 * 60 * MIN))).toEqual([]);
    }, 300_000);
  }
});
