/**
 * The burstlate finding (test/explain/burst-phase.test.ts has it through the detector): a noise change told from a
 * burst's first readings, `room4 varies ± 0.35, usually ± 0.08 (noise change)` at its 4th (19.92, 18.53, 18.07, 17.43
 * °C, the level before 19.07), did not tell its 4th reading, 17.43, 1.6 below the level (tellsReading: its noise 0.35
 * and its level's distance 0.77 less than half of 1.64), so that reading was told on its own, with no kind. A noise
 * change reaches as far as its readings' own spread (noiseReach); a single reading far beyond it among them does not.
 */
import { describe, expect, it } from 'vitest';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import { tellsReading } from '../../src/explain/episode.js';

const T0 = Date.UTC(2026, 11, 3, 2, 1);

/** The noise change as told at the burst's 4th reading (its figures from the burstlate trace), over `values`. */
function noiseChange(values: readonly number[]): AlertExplanation {
  return {
    kind: 'noise_change',
    sentence: 'room4 varies ± 0.35, usually ± 0.08 since 02:01 (noise change)',
    stream: 'room4',
    channel: 'value',
    unit: null,
    value: 18.3,
    expected: 19.055,
    band: 0.16,
    basis: 'baseline',
    since: new Date(T0).toISOString(),
    noise: 0.35,
    shares: null,
    stretch: { ts: values.map((_, i) => T0 + i * 60_000), values: [...values], expected: null, band: null },
  };
}

/** What the open (`19.92, expected 19.07 ± 0.18`, no kind) reached, as SignalBook.farther measured it. */
const REACH = { center: 19.06597, reach: 1.2259698474121095 };

describe('a noise change tells the readings its own readings spread as far as (tellsReading)', () => {
  it('the burst\'s 4th reading, 1.6 below the level, is told by the noise change of its first four (main: not told)', () => {
    expect(tellsReading(noiseChange([19.92, 18.53, 18.07, 17.43]), REACH, 17.43)).toBe(true);
    // On the other side as far: a noise has no side.
    expect(tellsReading(noiseChange([19.92, 18.53, 18.07, 17.43]), REACH, 20.7)).toBe(true);
  });

  it('a reading far beyond the burst\'s spread is not told by it, also when it is among its readings', () => {
    expect(tellsReading(noiseChange([19.92, 18.53, 18.07, 17.43]), REACH, 30)).toBe(false);
    expect(tellsReading(noiseChange([19.92, 18.53, 18.07, 17.43, 19.2, 18.8, 30]), REACH, 30)).toBe(false);
  });

  it('with fewer than 3 readings, only its noise and level reach', () => {
    expect(tellsReading(noiseChange([19.92, 17.43]), REACH, 17.43)).toBe(false);
  });
});
