import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/schema.js';
import { detectorOptions } from '../../src/pipeline/detector.js';
import { Simulator, type AnomalyKind, type InjectedAnomaly } from '../../src/sim/simulator.js';
import { detect, type ReadingOutput } from './detector-helpers.js';

/**
 * A signal whose normal variance is dominated by switches between regimes: the simulated pump motor current
 * (src/sim/simulator.ts), on at about 8 A with an inrush at every start and off at 0.05 A, its noise level
 * eight times larger on than off. Its largest changes are the switches, so a mean of squared changes measures
 * the duty cycle, not the noise: a burst of noise and a frozen value hid in it.
 */
describe('a duty-cycle signal: a change of noise level and a frozen value', () => {
  it('catches noise bursts and stuck values with the shipped scoring, and alarms nowhere else', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const learn = 3600;
    const cycles = 10;
    const cycle = 720;
    const anomalies: InjectedAnomaly[] = [];
    for (let k = 0; k < cycles; k++) {
      const base = t0 + (learn + k * cycle) * 1000;
      // As the demo's schedule: 30 s of +3 A x N(0, 1) noise, and 90 s of one value repeated exactly.
      anomalies.push({ sensor: 'motor_current', kind: 'noise_burst', startTs: base + 450_000, endTs: base + 479_000 });
      anomalies.push({ sensor: 'motor_current', kind: 'stuck', startTs: base + 570_000, endTs: base + 659_000 });
    }
    const sim = new Simulator({ sensors: [{ name: 'motor_current', kind: 'motor_current' }], seed: 5, startTs: t0, intervalMs: 1000, anomalies });
    const n = learn + cycles * cycle;
    const rows = Array.from({ length: n }, () => [sim.next()[0].value]);
    const out = await detect(rows, { scorer: detectorOptions(defaultConfig()).scorer });

    const indexOf = (ts: number): number => (ts - t0) / 1000;
    const caught: Record<AnomalyKind, number> = { spike: 0, level_shift: 0, noise_burst: 0, stuck: 0 };
    for (const a of anomalies) if (out.slice(indexOf(a.startTs), indexOf(a.endTs) + 1).some(open)) caught[a.kind]++;
    expect(caught.noise_burst).toBeGreaterThanOrEqual(0.8 * cycles);
    expect(caught.stuck).toBeGreaterThanOrEqual(0.8 * cycles);

    // Every episode opens inside an injection (no false alarm), and the kinds that caught them are the ones
    // about the noise level and the run of repeated values.
    const opens = out.flatMap((o, i) => (o.events.some((e) => e.kind === 'open') ? [i] : []));
    const during = (i: number): InjectedAnomaly | undefined => anomalies.find((a) => indexOf(a.startTs) <= i && i <= indexOf(a.endTs));
    expect(opens.filter((i) => during(i) === undefined)).toEqual([]);
    for (const i of opens) {
      const a = during(i)!;
      const ev = out[i].deviationEvidence;
      if (a.kind === 'noise_burst') expect(ev.spread).toBeGreaterThan(Math.max(ev.level, ev.change));
      // A value frozen where the current rarely sits (9.79 A, the tail of the inrush) may be rare as a value a
      // reading before its run is (rarity, a short mean of how little the stream's values lay there).
      else expect(Math.max(ev.stuck, ev.spread, ev.rarity)).toBeGreaterThanOrEqual(5);
    }
  });
});

function open(o: ReadingOutput): boolean {
  return o.reading.status === 'anomalous';
}
