/**
 * A quantised sensor whose noise is below its resolution (a thermostat reporting to 0.5 °C): it repeats one value
 * for long stretches and flickers between two neighbours where its level crosses a step. That is its normal
 * behaviour, not a change of its noise level (tryout 12: 5 + 5 false "(noise change)" episodes in two runs of
 * 8,000 readings of this shape, peaks up to 16). Through the detector the daemon runs (shipped config and model).
 * And a real noise burst on the same sensor is still an anomaly.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 11, 1);
const SEC = 1000;

/** The tryout's generator (tools/series.mjs `quant2`): 21 + sin(2πi/7200) + 0.08 N(0, 1), rounded to 0.5. */
function thermostat(n: number, seed: number, burst: { from: number; to: number } | null = null): { ts: number; value: number }[] {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const gauss = (): number => {
    let u = 0;
    while (!u) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  return Array.from({ length: n }, (_, i) => {
    const noise = burst !== null && i >= burst.from && i < burst.to ? 1.0 : 0.08;
    return { ts: T0 + i * SEC, value: Math.round((21 + Math.sin((2 * Math.PI * i) / 7200) + noise * gauss()) * 2) / 2 };
  });
}

describe.skipIf(!builtAndModelsPresent())('a quantised sensor whose noise is below its resolution', () => {
  it.each([5, 9])('flickers at its step crossings without an episode (seed %i)', async (seed) => {
    const { det, book } = await shippedDetector();
    const out: Explained[] = [];
    await feedExplained(det, book, 'thermostat', 'sensors/thermostat', thermostat(8000, seed), out);
    expect(out.filter((x) => x.ev.kind === 'open').map((x) => x.e?.sentence ?? null)).toEqual([]);
  });

  it('a burst of noise on it (± 1 °C for 60 readings) is still an anomaly', async () => {
    const { det, book } = await shippedDetector();
    const out: Explained[] = [];
    await feedExplained(det, book, 'thermostat', 'sensors/thermostat', thermostat(6000, 5, { from: 5000, to: 5060 }), out);
    const opens = out.filter((x) => x.ev.kind === 'open');
    expect(opens.length).toBeGreaterThanOrEqual(1);
    expect(opens.every((x) => x.ev.startTs >= T0 + 5000 * SEC && x.ev.startTs < T0 + 5060 * SEC)).toBe(true);
  });
});
