import { describe, expect, it } from 'vitest';
import type { InjectedAnomaly } from '../../src/sim/simulator.js';
import { formatSummary, summarise } from '../../src/sim/summary.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);

const injected: InjectedAnomaly[] = [
  { sensor: 'temperature', kind: 'spike', startTs: T0 + 10 * MIN, endTs: T0 + 10 * MIN },
  { sensor: 'vibration', kind: 'level_shift', startTs: T0 + 20 * MIN, endTs: T0 + 21 * MIN },
  { sensor: 'motor_current', kind: 'stuck', startTs: T0 + 30 * MIN, endTs: T0 + 31 * MIN },
  { sensor: 'vibration', kind: 'level_shift', startTs: T0 + 58 * MIN, endTs: T0 + 59 * MIN },
];

describe('summarise', () => {
  it('matches episodes to injected anomalies by sensor (or its streams) and time, with a grace after the end', () => {
    const s = summarise(
      injected,
      [
        { anomalyId: 'a', sensor: 'temperature', openTs: T0 + 10 * MIN + 40_000, told: 'spike' }, // spike, 40 s late: within the grace
        { anomalyId: 'b', sensor: 'vibration/value', openTs: T0 + 20 * MIN + 30_000, told: null }, // a stream of vibration, no kind told
        { anomalyId: 'c', sensor: 'vibration', openTs: T0 + 21 * MIN + 10_000 }, // the same shift again, not a false alarm
        { anomalyId: 'd', sensor: 'temperature', openTs: T0 + 40 * MIN }, // nothing injected then
        { anomalyId: 'e', sensor: 'motor_current', openTs: T0 + 2 * MIN }, // before injection began
      ],
      { from: T0, to: T0 + 60 * MIN, injectionFrom: T0 + 5 * MIN, graceMs: 96_000 },
    );
    expect(s.kinds.spike).toEqual({ injected: 1, caught: 1, missed: 0, latenciesMs: [40_000], toldAsSuch: 1, told: { spike: 1 } });
    // The first matching episode is the one judged: 'b' told no kind ('c', the same shift again, is not counted).
    expect(s.kinds.level_shift).toEqual({ injected: 1, caught: 1, missed: 0, latenciesMs: [30_000], toldAsSuch: 0, told: { none: 1 } });
    expect(s.kinds.stuck).toEqual({ injected: 1, caught: 0, missed: 1, latenciesMs: [], toldAsSuch: 0, told: {} });
    expect(s.kinds.noise_burst.injected).toBe(0);
    // The shift at 58 min ends less than the grace before the end: not judged yet.
    expect(s.inProgress).toBe(1);
    expect(s.falseAlarms).toEqual({ total: 2, beforeInjection: 1, bySensor: { temperature: 1, motor_current: 1 } });
    expect(s.episodes).toBe(5);
    const text = formatSummary(s, { asked: 40, achieved: 40 });
    expect(text).toMatch(/^summary: 60 min simulated at 40x; anomalies injected from 2026-01-01T00:05:00\.000Z \(after learning\)$/m);
    // The latency is in simulated (data) time, and the table says so (tryout: it read like wall-clock time).
    expect(text).toMatch(/^ {2}kind +injected +caught +missed +told as such +detected after, simulated time \(median \/ max\) +told otherwise$/m);
    expect(text).toMatch(/^ {2}detected after: in simulated \(data\) time, from the anomaly's first reading to the reading that opened its episode/m);
    // What the ones not told as such were told instead (the JSON's `told`): 'b' told no kind.
    expect(text).toMatch(/^ {2}spike +1 +1 +0 +1 {2}40 s \/ 40 s +–$/m);
    expect(text).toMatch(/^ {2}level_shift +1 +1 +0 +0 {2}30 s \/ 30 s +none 1$/m);
    expect(text).toMatch(/^ {2}stuck +1 +0 +1 +0 {2}– +–$/m);
    // The columns line up.
    const rows = text.split('\n').filter((l) => /^ {2}(kind|spike|level_shift|stuck|noise_burst) /.test(l));
    expect(new Set(rows.map((l) => l.lastIndexOf('  ') + 2)).size).toBe(1);
    expect(text).toMatch(/false alarms: 2 \(temperature 1, motor_current 1\), 1 of them before injection began; episodes in all: 5/);
  });

  it('says what the ones not told as such were told, most first', () => {
    const bursts: InjectedAnomaly[] = [0, 1, 2, 3, 4].map((k) => ({ sensor: 'motor_current', kind: 'noise_burst', startTs: T0 + k * 10 * MIN, endTs: T0 + k * 10 * MIN + 30_000 }));
    const told = ['noise_change', 'spike', 'level_shift', 'level_shift', 'noise_change'];
    const s = summarise(
      bursts,
      bursts.map((b, k) => ({ anomalyId: `n${k}`, sensor: 'motor_current', openTs: b.startTs + 15_000, told: told[k] })),
      { from: T0, to: T0 + 60 * MIN, injectionFrom: T0, graceMs: 96_000 },
    );
    expect(s.kinds.noise_burst.toldAsSuch).toBe(2);
    expect(formatSummary(s, { asked: 400, achieved: 400 })).toMatch(/^ {2}noise_burst +5 +5 +0 +2 {2}15 s \/ 15 s +level_shift 2, spike 1$/m);
  });

  it('says when nothing was injected because the sensors were still learning', () => {
    const s = summarise([], [], { from: T0, to: T0 + MIN, injectionFrom: null, graceMs: 0 });
    expect(formatSummary(s, { asked: 10_000, achieved: 3000.4 })).toMatch(/^summary: 60 s simulated at 3000x \(asked 10000x\); no anomaly was injected: the sensors were still learning their normal\.$/m);
  });
});
