/**
 * The recurring visits' rule (src/pipeline/visits.ts): only a visit reached by a walk is kept, and a family is taught
 * at its CONFIRM-th alike visit; and, through the scorer, the demo's recurring spikes, level shifts and noise bursts
 * (src/sim/simulator.ts DEMO_SCHEDULE: jumps, not walks) are still told at every recurrence.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/schema.js';
import { detectorOptions } from '../../src/pipeline/detector.js';
import { CONFIRM, VisitMemory } from '../../src/pipeline/visits.js';
import { DEMO_CYCLE_MS, DEMO_SCHEDULE, Simulator, type InjectedAnomaly, type SimSensorKind } from '../../src/sim/simulator.js';
import { detect } from './detector-helpers.js';

const MIN = 60_000;

/** Notes `values` (one a minute from `t0`) as an episode's readings of channel 0 from `pre`, and settles it. */
function visit(m: VisitMemory, pre: number, values: readonly number[], t0 = 0): number {
  values.forEach((v, i) => m.note(0, v, t0 + i * MIN, pre));
  return m.settle([true]).length;
}

/** A bump from −18 up to `peak` and back, by `step` a reading. */
function bump(peak: number, step: number): number[] {
  const up: number[] = [];
  for (let v = -18 + step; v < peak; v += step) up.push(v);
  return [...up, peak, ...up.slice().reverse(), -18];
}

describe('VisitMemory', () => {
  it('a bump reached by a walk is taught at its third alike visit, and at every one after', () => {
    const m = new VisitMemory(1);
    const taught = Array.from({ length: 5 }, (_, i) => visit(m, -18, bump(-5 - 0.3 * i, 0.5)));
    expect(taught).toEqual([0, 0, 1, 1, 1]);
    expect(CONFIRM).toBe(3);
  });

  it('a glitch to a sentinel, a spike and a burst of noise are jumps: never kept, never taught', () => {
    const m = new VisitMemory(1);
    for (let i = 0; i < 6; i++) expect(visit(m, -18, [-127, -127, -127, -18.1])).toBe(0);
    for (let i = 0; i < 6; i++) expect(visit(m, -18, [-12, -18, -18.1, -18])).toBe(0);
    for (let i = 0; i < 6; i++) expect(visit(m, 10, [13, 7, 12.5, 8, 11, 9.5, 12, 10.2])).toBe(0);
    expect(m.visits()).toEqual([]);
  });

  it('visits not alike (the other side, another range, three times longer) confirm nothing', () => {
    const m = new VisitMemory(1);
    expect(visit(m, -18, bump(-5, 0.5))).toBe(0);
    // Below the level before it.
    expect(visit(m, -18, bump(-5, 0.5).map((v) => -36 - v))).toBe(0);
    // Far from its range.
    expect(visit(m, 20, bump(-5, 0.5).map((v) => v + 60))).toBe(0);
    // The same range, lasting more than three times as long (a step of 0.1 a reading).
    expect(visit(m, -18, bump(-5, 0.1))).toBe(0);
    expect(m.visits().every((x) => !x.learnt)).toBe(true);
    // A second alike to the first is still not enough.
    expect(visit(m, -18, bump(-5.5, 0.5))).toBe(0);
    expect(visit(m, -18, bump(-6, 0.5))).toBe(1);
  });
});

describe("the demo's recurring faults are still told at every recurrence", () => {
  const kinds: SimSensorKind[] = ['temperature', 'vibration', 'motor_current'];
  for (const kind of kinds) {
    it(`${kind}: its scheduled faults, 12 cycles of 12 min at 1 s after an hour of learning`, async () => {
      const t0 = Date.UTC(2026, 0, 1);
      const learn = 3600;
      const cycles = 12;
      const anomalies: InjectedAnomaly[] = [];
      for (let k = 0; k < cycles; k++) {
        const base = t0 + learn * 1000 + k * DEMO_CYCLE_MS;
        for (const a of DEMO_SCHEDULE) if (a.kind === kind && a.anomaly !== 'stuck') anomalies.push({ sensor: kind, kind: a.anomaly, startTs: base + a.offsetMs, endTs: base + a.offsetMs + a.durationMs });
      }
      const sim = new Simulator({ sensors: [{ name: kind, kind }], seed: 3, startTs: t0, intervalMs: 1000, anomalies });
      const n = learn + (cycles * DEMO_CYCLE_MS) / 1000;
      const rows = Array.from({ length: n }, () => [sim.next()[0].value]);
      const out = await detect(rows, { scorer: detectorOptions(defaultConfig()).scorer });
      const at = (ts: number): number => (ts - t0) / 1000;
      const missed = anomalies.filter((a) => !out.slice(at(a.startTs), at(a.endTs) + 30).some((o) => o.reading.status === 'anomalous'));
      // Every one of the last half (after any family could have been taught) is told, as main tells them.
      expect(missed.filter((a) => a.startTs >= t0 + learn * 1000 + (cycles / 2) * DEMO_CYCLE_MS).map((a) => `${a.kind} ${at(a.startTs)}`)).toEqual([]);
    }, 300_000);
  }
});
