/**
 * A one-reading spike on the demo's temperature (a daily cycle compressed to 10 minutes, src/sim/simulator.ts),
 * through the detector the daemon runs (the shipped configuration and the shipped GRU model, on this thread) and
 * the SignalBook that explains its episodes, retold after every reading as the daemon's touchOpenEpisodes retells
 * an open episode with no kind yet.
 *
 * Tryout 10, finding 5: a spike opened `temperature 24.79, expected 18.78 ± 0.08 since 16:40 (sudden change)` was
 * retold at its update and resolve `temperature 18.89, expected 18.75 ± 0.08 since 16:40 (level shift)`: its
 * stretch `24.79, 18.82, 18.84, 18.88, …` is the spike and then normal readings of the rising cycle, which the
 * model's expectation after the spike (its state took the spike in: 22.39, 19.70, 19.35, …) called off. A later
 * alert may tell the kind the opening could not, never a weaker reading as a lasting fault.
 */
import { describe, expect, it } from 'vitest';
import { Simulator, type InjectedAnomaly } from '../../src/sim/simulator.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;
/** Readings (one a second): learning, then a +6 °C one-reading spike (the demo's) about every 2.5 min, at varying phases of the cycle. */
const N = 3000;
const SPIKES = Array.from({ length: 10 }, (_, k) => 1500 + k * 150 + ((k * 37) % 50));

async function run(): Promise<{ out: Explained[]; values: number[] }> {
  const { det, book } = await shippedDetector();
  const anomalies: InjectedAnomaly[] = SPIKES.map((i) => ({ sensor: 'temperature', kind: 'spike', startTs: T0 + i * SEC, endTs: T0 + i * SEC }));
  const sim = new Simulator({ sensors: [{ name: 'temperature', kind: 'temperature' }], seed: 7, startTs: T0, intervalMs: SEC, anomalies });
  const readings = Array.from({ length: N }, () => {
    const m = sim.next()[0];
    return { ts: m.ts, value: m.value };
  });
  const out: Explained[] = [];
  await feedExplained(det, book, 'temperature', 'sensors/temperature', readings, out, true);
  return { out, values: readings.map((r) => r.value) };
}

describe.skipIf(!builtAndModelsPresent())('a one-reading spike on a daily cycle, with the shipped model', () => {
  it('is never told a lasting kind of the readings after it: every alert of its episode tells the spike or no kind, of the spike reading', async () => {
    const { out, values } = await run();
    let episodes = 0;
    for (const at of SPIKES) {
      const open = out.find((x) => x.ev.kind === 'open' && Math.abs(x.ev.startTs - (T0 + at * SEC)) <= 3 * SEC);
      expect(open, `an episode opens at the spike at reading ${at}`).toBeDefined();
      episodes++;
      const episode = out.filter((x) => x.ev.anomalyId === open!.ev.anomalyId);
      for (const { ev, e } of episode) {
        const what = `reading ${at}, ${ev.kind}: ${e?.sentence ?? 'none'}`;
        expect([null, 'spike'], what).toContain(e?.kind ?? null);
        // The reading that stands for the episode is the spike's, not a weaker one after it.
        expect(e?.value, what).toBeCloseTo(values[at], 4);
      }
    }
    expect(episodes).toBe(SPIKES.length);
  }, 120_000);
});
