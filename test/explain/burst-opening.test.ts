/**
 * A noise burst on a flat stream is told a noise change from its first readings off the level before on both sides
 * (src/explain/explain.ts burstOpening), and that overturns the `spike` its first reading or two were told (the
 * daemon's rules: SignalBook.explainAlert, src/daemon/signals.ts churns). Before, a spike told from the burst's second
 * reading was held as the provisional kind until NOISE_READINGS of its readings showed the noise: at 60 s a reading,
 * a quarter of an hour told `spike` (the burstkind finding; scripts/noise-burst-kinds.mjs --every 1).
 *
 * Through the detector the daemon runs (shipped config and GRU model) and the alerts it would send, the burst's
 * sensor read every 10 s and every 60 s, four seeds each: the first alert that tells `noise_change` comes from fewer
 * than NOISE_READINGS of the episode's readings, no alert after it tells `spike`, and the last alert tells a noise
 * change. A genuine spike on the same stream is still told a spike.
 */
import { describe, expect, it } from 'vitest';
import { NOISE_READINGS } from '../../src/explain/explain.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedAlerts, shippedDetector, type Sent } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 11, 4, 6);
/** Normal readings before the fault. */
const NORMAL = 1000;
/** The burst's readings. */
const BURST = 120;

/** 10 + 0.1 N(0, 1) (4 decimals), then `fault(i, gauss)` added from reading NORMAL on (tryout 10's generator, tools/pub.mjs --kind steady). */
function steady(seed: number, count: number, fault: (i: number, gauss: () => number) => number): number[] {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  return Array.from({ length: count }, (_, i) => Math.round((10 + 0.1 * gauss() + (i >= NORMAL ? fault(i - NORMAL, gauss) : 0)) * 1e4) / 1e4);
}

async function alertsOf(values: readonly number[], intervalS: number): Promise<Sent[]> {
  const { det, book } = await shippedDetector(['steady*=bar']);
  const out: Sent[] = [];
  await feedAlerts(
    det,
    book,
    'steady7',
    'sensors/steady7',
    values.map((value, i) => ({ ts: T0 + i * intervalS * 1000, value })),
    out,
  );
  return out.filter((x) => x.ev.endTs >= T0 + NORMAL * intervalS * 1000);
}

describe.skipIf(!builtAndModelsPresent())('a noise burst is told a noise change from its first readings on both sides of the level before', () => {
  for (const intervalS of [10, 60]) {
    it(`every ${intervalS} s: ten times the noise for ${BURST} readings, told a noise change before NOISE_READINGS of its readings, never a spike after`, async () => {
      for (const seed of [1, 2, 3, 4]) {
        const sent = await alertsOf(
          steady(seed, NORMAL + BURST, (i, gauss) => (i < BURST ? gauss() : 0)),
          intervalS,
        );
        const open = sent.find((x) => x.ev.kind === 'open');
        const story = sent.map((x) => `${(x.ev.endTs - T0) / (intervalS * 1000)}:${x.ev.kind}:${x.e?.kind ?? '-'}`).join(' ');
        expect(open, `seed ${seed}: the burst opens an episode`).toBeDefined();
        const ofBurst = sent.filter((x) => x.ev.anomalyId === open!.ev.anomalyId);
        const first = ofBurst.findIndex((x) => x.e?.kind === 'noise_change');
        expect(first, `seed ${seed}: ${story}`).toBeGreaterThanOrEqual(0);
        // Readings of the episode the first noise change was told from (its open's to that alert's, both counted).
        const readings = (ofBurst[first].ev.endTs - open!.ev.startTs) / (intervalS * 1000) + 1;
        expect(readings, `seed ${seed}: ${story}`).toBeLessThan(NOISE_READINGS);
        expect(ofBurst.slice(first).filter((x) => x.e?.kind === 'spike'), `seed ${seed}: ${story}`).toEqual([]);
        expect(ofBurst.at(-1)!.e?.kind, `seed ${seed}: ${story}`).toBe('noise_change');
      }
    }, 300_000);
  }

  it('every 60 s: a single reading 3 °C off (thirty spreads) is still told a spike', async () => {
    for (const seed of [1, 2]) {
      const sent = await alertsOf(
        steady(seed, NORMAL + 40, (i) => (i === 0 ? 3 : 0)),
        60,
      );
      const open = sent.find((x) => x.ev.kind === 'open');
      expect(open, `seed ${seed}: the spike opens an episode`).toBeDefined();
      const told = sent.filter((x) => x.ev.anomalyId === open!.ev.anomalyId && x.e?.kind !== null && x.e?.kind !== undefined).map((x) => x.e!.kind);
      expect(told.length, `seed ${seed}`).toBeGreaterThan(0);
      expect(new Set(told), `seed ${seed}: ${told.join(' ')}`).toEqual(new Set(['spike']));
    }
  }, 300_000);
});
