/**
 * Tryout 18, finding 8: a one-reading spike on a sensor read every 30 s kept its episode open 47 readings (23 minutes):
 * the spike stayed in the short means of the level and of the model's residual (shift's and bias's boxcars of
 * shortSpan(smooth) = 31 readings) and held its episode for as long, then closeAfter readings more. A reading of an
 * episode's onset that is off on its own now leaves those short means once judged (scorer.ts censorOnset): a lone
 * spike's episode resolves closeAfter readings after its last reading off, counted in readings whatever the interval;
 * a lasting shift still holds its episode while it lasts. Through the detector the daemon runs (the shipped
 * configuration and GRU model).
 */
import { describe, expect, it } from 'vitest';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
/** Readings of normal operation before the fault (past score.learnReadings, 256), and after its start. */
const N = 400;
const AFTER = 120;
/** The shipped alerts.closeAfter (config/default.yaml) and the most readings a spike spans. */
const CLOSE_AFTER = 16;
const SPIKE_READINGS = 3;

async function run(intervalMs: number, fault: (i: number) => number): Promise<{ events: AnomalyEvent[]; ts: (i: number) => number }> {
  const { det, book } = await shippedDetector();
  const rnd = lcg(8);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  const ts = (i: number): number => T0 + i * intervalMs;
  const readings = Array.from({ length: N + AFTER }, (_, i) => ({ ts: ts(i), value: Math.round(123 + 3 * gauss()) + fault(i) }));
  const out: Explained[] = [];
  await feedExplained(det, book, 'plug', 'sensors/plug', readings, out);
  return { events: out.map((x) => x.ev), ts };
}

describe.skipIf(!builtAndModelsPresent())('the episode of a lone spike, with the shipped model', () => {
  it('resolves closeAfter readings after the spike, at 1 Hz and at one reading every 30 s alike', async () => {
    for (const intervalMs of [1000, 30_000]) {
      const { events, ts } = await run(intervalMs, (i) => (i === N ? 357 : 0));
      const kinds = events.map((e) => e.kind);
      expect(kinds, `every ${intervalMs} ms`).toEqual(['open', 'resolve']);
      const [open, resolve] = events;
      expect(open.startTs).toBe(ts(N));
      expect(resolve.endTs).toBeLessThan(ts(N + SPIKE_READINGS));
      // Its length in readings: the spike's (at most 3) and closeAfter normal ones, not the short means' 31 as well.
      expect(resolve.windows, `every ${intervalMs} ms`).toBeLessThanOrEqual(CLOSE_AFTER + SPIKE_READINGS);
    }
  }, 120_000);

  it('a lasting shift still holds its episode while it lasts', async () => {
    const LAST = 60;
    const { events, ts } = await run(30_000, (i) => (i >= N && i < N + LAST ? 30 : 0));
    const open = events.find((e) => e.kind === 'open')!;
    expect(open.startTs).toBe(ts(N));
    const resolve = events.find((e) => e.kind === 'resolve' && e.anomalyId === open.anomalyId)!;
    expect(resolve.endTs).toBeGreaterThanOrEqual(ts(N + LAST - 1));
    expect(events.filter((e) => e.kind === 'open')).toHaveLength(1);
  }, 120_000);
});
