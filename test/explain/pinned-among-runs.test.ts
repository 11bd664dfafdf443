/**
 * A value pinned far off the normal stays told as that stuck value however many readings back at the normal follow
 * it in the stretch (tryout 28, finding 1): a DS18B20 (12 °C, ± 0.06, quantised to 1/16 °C) read 85.0 three times;
 * its episode was told `85.000 unchanged for 2 s … (stuck value)`, then, once its stretch held 13 readings, retold
 * `85.000 … (spike)`. The readings back at 12 had a run of four equal ones (12.0000 ×4, a quantised sensor repeats
 * often), longer than the 85.0 run, and only the stretch's longest run was judged as a pinned value (and failed, being
 * at the normal level). The pinned run is the longest run of readings far off the level; runs at the normal level are
 * no candidates. Explained as the daemon's book does for each retelling and the resolve: the normal stretch before
 * the episode, the episode's readings so far; three seeds of the tryout's stream, every stretch of 3 to 47 readings.
 */
import { describe, expect, it } from 'vitest';
import { explain, type Stretch } from '../../src/explain/explain.js';
import { tryoutGauss } from '../helpers/tryout-random.js';

const T0 = Date.UTC(2026, 11, 3, 18);

/** The tryout's garage probe: 12 + 0.1 sin(2π i / 500) + 0.06 N(0, 1), quantised to 0.0625, every `stepMs`; 85.0 at readings `at` to `at + 2`. */
function garage(stepMs: number, n: number, at: number, seed: number): Stretch {
  const g = tryoutGauss(seed);
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    ts.push(T0 + i * stepMs);
    const v = Math.round((12 + 0.1 * Math.sin((2 * Math.PI * i) / 500) + 0.06 * g()) / 0.0625) * 0.0625;
    values.push(i >= at && i < at + 3 ? 85 : v);
  }
  return { ts, values };
}

const slice = (s: Stretch, from: number, to: number): Stretch => ({ ts: s.ts.slice(from, to), values: s.values.slice(from, to) });

describe('a pinned value among later runs at the normal level (tryout 28, finding 1)', () => {
  for (const stepMs of [1_000, 300_000]) {
    it(`85.0 ×3 at ${stepMs / 1000} s, then normal quantised readings with runs of equal ones: stuck at 85 for every stretch of 3 to 47 readings`, () => {
      const wrong: string[] = [];
      let longer = 0;
      for (const seed of [12345, 7, 99]) {
        const s = garage(stepMs, 600, 490, seed);
        const before = slice(s, 90, 490);
        for (let k = 3; k <= 47; k++) {
          const during = slice(s, 490, 490 + k);
          // Whether a run of equal normal readings longer than the 85.0 run is in the stretch (the case to judge).
          let run = 1;
          for (let i = 4; i < during.values.length; i++) {
            run = during.values[i] === during.values[i - 1] ? run + 1 : 1;
            if (run > 3) longer++;
          }
          const e = explain({ stream: 'g', before, during, startTs: during.ts[0], endTs: during.ts[k - 1], timeZone: 'UTC' });
          if (e.kind !== 'stuck' || e.value !== 85) wrong.push(`seed ${seed}, ${k} readings: ${e.kind} ${e.sentence}`);
        }
      }
      // The stretches hold such runs (else this tests nothing).
      expect(longer).toBeGreaterThan(0);
      expect(wrong).toEqual([]);
    });
  }
});
