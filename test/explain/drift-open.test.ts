/**
 * A steady drift is told as a drift while its episode is open, not only at its resolve (tryout 20, finding 3: a
 * zigbee2mqtt humidity sensor, 45 % ± 0.2 read every second, drifting +0.05 %/s for 4.5 minutes to 58.5 %, was
 * opened `lasting shift`, then told `varies ± 0.2 %, usually ± 0.3 (noise change)` for the whole drift; only its
 * resolve said `drift, +178 %/h`).
 *
 * Through the detector and signal book the daemon runs (the shipped configuration and model: shippedDetector), with
 * the open episode told again after each reading as the daemon's housekeeping does (retell). The tryout's generator:
 * 45 + 0.3 · (a sum of 6 uniforms − 3), to 0.01; 1,200 readings, then the drift for 270, then 60 back at 45.
 * The record of the episode (its latest told explanation) must be a drift once the drift has gone on for
 * 2 × DRIFT_READINGS readings, to its end, with a rate within a factor of two of +180 %/h; so must its resolve.
 * And the explanation alone (explain): the drift's readings, with a model's expectation that follows them and the
 * detector's evidence naming a noise change, are told a drift; a step that then held a level shift.
 */
import { describe, expect, it } from 'vitest';
import { DRIFT_READINGS, explain } from '../../src/explain/explain.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 0, 5);
const LEARN = 1200;
const DRIFT = 270;

/** The tryout's humidity: `learn` readings of 45 ± noise, `drift` of +0.05 a reading more each, `after` back at 45. */
function humidity(seed: number, learn = LEARN, drift = DRIFT, after = 60): { ts: number; value: number }[] {
  const u = lcg(seed);
  const noise = (): number => {
    let s = 0;
    for (let i = 0; i < 6; i++) s += u();
    return s - 3;
  };
  return Array.from({ length: learn + drift + after }, (_, k) => {
    const d = k >= learn && k < learn + drift ? 0.05 * (k - learn + 1) : 0;
    return { ts: T0 + k * 1000, value: Math.round((45 + 0.3 * noise() + d) * 100) / 100 };
  });
}

describe('a steady drift is told as a drift while open (tryout 20, finding 3)', () => {
  for (const seed of [1, 2, 3]) {
    it(`+0.05 %/s on 45 ± 0.2 (seed ${seed}): the open episode's record is a drift from ${2 * DRIFT_READINGS} readings into it, and its resolve`, async () => {
      const { det, book } = await shippedDetector();
      const out: Explained[] = [];
      await feedExplained(det, book, 'bedroom', 'sensors/bedroom', humidity(seed), out, true);
      const at = (ts: number): number => Math.round((ts - T0) / 1000);
      const opens = out.filter((o) => o.ev.kind === 'open');
      expect(opens.map((o) => at(o.ev.startTs) >= LEARN && at(o.ev.startTs) < LEARN + DRIFT)).toEqual([true]);
      // The record as it stood at each reading of the drift from 2 × DRIFT_READINGS readings after the open on: the
      // latest explanation told by then.
      const from = at(opens[0].ev.startTs) + 2 * DRIFT_READINGS;
      const told = (k: number): string => {
        const until = out.filter((o) => at(o.ev.endTs) <= k && o.e !== null);
        return until.length > 0 ? `${until[until.length - 1].e?.kind}` : 'none';
      };
      const kinds = new Set<string>();
      for (let k = from; k < LEARN + DRIFT; k++) kinds.add(told(k));
      expect([...kinds]).toEqual(['drift']);
      const resolve = out.find((o) => o.ev.kind === 'resolve');
      expect(resolve?.e?.kind).toBe('drift');
      for (const o of out.filter((e) => e.e?.kind === 'drift')) {
        const rate = Number(/\(drift, \+([0-9.]+) ?\/h\)/.exec(o.e?.sentence ?? '')?.[1]);
        expect(rate).toBeGreaterThan(90);
        expect(rate).toBeLessThan(360);
      }
    }, 300_000);
  }

  it('explain alone: the drift, a model following it, the evidence naming a noise change: a drift; a step that held is a level shift', () => {
    const all = humidity(4, 600, 120, 0);
    const split = (xs: { ts: number; value: number }[], at: number): { before: { ts: number[]; values: number[] }; during: { ts: number[]; values: number[] } } => ({
      before: { ts: xs.slice(0, at).map((r) => r.ts), values: xs.slice(0, at).map((r) => r.value) },
      during: { ts: xs.slice(at).map((r) => r.ts), values: xs.slice(at).map((r) => r.value) },
    });
    // The model's expectation follows the readings (each reading's expectation the reading before it, ± 0.25): against
    // it no reading of the drift is far off; against the level before, they trend away.
    const drift = split(all, 600);
    const following = { ...drift.during, expected: drift.during.values.map((_, i) => all[599 + i].value), spread: drift.during.values.map(() => 0.25) };
    const e = explain({ stream: 'bedroom/humidity', unit: '%', before: drift.before, during: following, startTs: drift.during.ts[0], endTs: drift.during.ts[drift.during.ts.length - 1], timeZone: 'UTC', seen: 'spread', evidenceKind: 'noise_change' });
    expect(e.kind).toBe('drift');
    expect(e.ratePerHour).toBeGreaterThan(90);
    expect(e.ratePerHour).toBeLessThan(360);
    // The same readings, stepped up by 6 at once and held: no trend in them after the step.
    const flat = humidity(4, 600, 0, 120).map((r, k) => (k >= 600 ? { ...r, value: r.value + 6 } : r));
    const step = split(flat, 600);
    const s = explain({ stream: 'bedroom/humidity', unit: '%', ...step, startTs: step.during.ts[0], endTs: step.during.ts[step.during.ts.length - 1], timeZone: 'UTC' });
    expect(s.kind).toBe('level_shift');
  });
});
