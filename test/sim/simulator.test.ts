import { describe, expect, it } from 'vitest';
import { MessageParser } from '../../src/pipeline/parse.js';
import { compileSensorPattern } from '../../src/pipeline/topic.js';
import { DEMO_CYCLE_MS, Simulator, type InjectedAnomaly, type SimMessage, type SimulatorOptions } from '../../src/sim/simulator.js';

const START = Date.UTC(2026, 10, 25, 8);

function sim(over: Partial<SimulatorOptions> = {}): Simulator {
  return new Simulator({ seed: 7, startTs: START, intervalMs: 1000, anomalies: 'none', ...over });
}

/** Values per sensor over n ticks. */
function runValues(s: Simulator, n: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    for (const m of s.next()) {
      const list = out.get(m.sensor) ?? [];
      list.push(m.value);
      out.set(m.sensor, list);
    }
  }
  return out;
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

function std(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return Math.sqrt(s / xs.length);
}

/** Tick index of a timestamp. */
const tickOf = (ts: number): number => (ts - START) / 1000;

describe('Simulator', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a: SimMessage[][] = [];
    const b: SimMessage[][] = [];
    const s1 = sim({ anomalies: 'demo' });
    const s2 = sim({ anomalies: 'demo' });
    for (let i = 0; i < 800; i++) {
      a.push(s1.next());
      b.push(s2.next());
    }
    expect(a).toEqual(b);
    expect(s1.injected()).toEqual(s2.injected());
    const other = runValues(sim({ seed: 8 }), 50).get('temperature');
    expect(other).not.toEqual(a.slice(0, 50).map((tick) => tick[0].value));
  });

  it('emits one message per sensor per tick, on the tick grid, that the parser accepts as is', () => {
    const s = sim({ intervalMs: 500 });
    const parser = new MessageParser({
      sensorOf: compileSensorPattern('sensors/{sensor}'),
      maxPayloadBytes: 1024,
      maxFutureMs: 0,
      outOfOrderToleranceMs: 0,
      maxReadingsPerMessage: 1,
      longBurst: 'split',
      window: 64,
    });
    for (let i = 0; i < 20; i++) {
      const msgs = s.next();
      expect(msgs.map((m) => m.sensor)).toEqual(['temperature', 'vibration', 'motor_current']);
      for (const m of msgs) {
        expect(m.ts).toBe(START + i * 500);
        const r = parser.parse({ topic: m.topic, payload: Buffer.from(m.payload), receivedAt: m.ts });
        expect(r.kind).toBe('readings');
        if (r.kind !== 'readings') return;
        expect(r.readings).toEqual([{ sensor: m.sensor, ts: m.ts, channels: ['value'], values: [m.value] }]);
      }
    }
  });

  it('behaves like the sensors it imitates when nothing is injected', () => {
    const v = runValues(sim(), 1200); // two compressed days at 1 Hz
    const temp = v.get('temperature')!;
    expect(Math.min(...temp)).toBeGreaterThan(17);
    expect(Math.max(...temp)).toBeLessThan(25);
    // a daily cycle: the first half-day's coolest and warmest points are a few degrees apart
    expect(Math.max(...temp.slice(0, 600)) - Math.min(...temp.slice(0, 600))).toBeGreaterThan(3.5);
    // and the next day repeats it: same-phase means agree within the noise
    expect(Math.abs(mean(temp.slice(0, 600)) - mean(temp.slice(600)))).toBeLessThan(0.3);

    const vib = v.get('vibration')!;
    expect(Math.min(...vib)).toBeGreaterThan(1.2);
    expect(Math.max(...vib)).toBeLessThan(2.8);

    const cur = v.get('motor_current')!;
    expect(cur.every((x) => x < 0.2 || x > 7)).toBe(true); // two plateaus, nothing in between
    const onFraction = cur.filter((x) => x > 7).length / cur.length;
    expect(onFraction).toBeGreaterThan(0.5);
    expect(onFraction).toBeLessThan(0.8);
    let switches = 0;
    for (let i = 1; i < cur.length; i++) if (cur[i] > 7 !== cur[i - 1] > 7) switches++;
    expect(switches).toBeGreaterThan(20); // ~ every 20-50 s
  });

  it('keeps its harmless variation within its limit however long it runs, so a day shows no level the learning hour could not', () => {
    // The slow wandering of vibration (load) and temperature (drift) is bounded (softBound); a Gaussian
    // process is not, and over a day its rarest excursion went ~4 standard deviations out (vibration's
    // 16-reading mean reached 2.55 mm/s at seed 7, against at most 2.38 in the first hour). Judged on
    // 16-reading means, so the white measurement noise adds at most 5 of its standard errors.
    const day = 86_400;
    const dayMs = 600_000; // the simulator's default compressed day
    for (const seed of [1, 2, 3, 7]) {
      const v = runValues(sim({ seed }), day);
      const vib = v.get('vibration')!;
      const temp = v.get('temperature')!.map((x, i) => x - (21 + 2.5 * Math.sin((2 * Math.PI * ((START + i * 1000) % dayMs)) / dayMs - Math.PI / 2)));
      const extremes = (xs: readonly number[], centre: number): number => {
        let worst = 0;
        let acc = 0;
        for (let i = 0; i < xs.length; i++) {
          acc += xs[i];
          if (i >= 16) acc -= xs[i - 16];
          if (i >= 15) worst = Math.max(worst, Math.abs(acc / 16 - centre));
        }
        return worst;
      };
      expect(extremes(vib, 2)).toBeLessThan(0.25 + (5 * 0.05) / 4);
      expect(extremes(temp, 0)).toBeLessThan(0.25 + (5 * 0.03) / 4);
      // and it still wanders: the load's slow variation is not flattened away
      expect(std(vib)).toBeGreaterThan(0.1);
    }
  });

  it('injects each anomaly kind exactly over its ground-truth interval', () => {
    const anomalies: InjectedAnomaly[] = [
      { sensor: 'temperature', kind: 'spike', startTs: START + 100_000, endTs: START + 100_000 },
      { sensor: 'vibration', kind: 'level_shift', startTs: START + 150_000, endTs: START + 209_000 },
      { sensor: 'motor_current', kind: 'noise_burst', startTs: START + 250_000, endTs: START + 279_000 },
      { sensor: 'temperature', kind: 'stuck', startTs: START + 300_000, endTs: START + 359_000 },
    ];
    const n = 400;
    const clean = runValues(sim(), n);
    const dirty = runValues(sim({ anomalies }), n);
    for (const a of anomalies) {
      const x = clean.get(a.sensor)!;
      const y = dirty.get(a.sensor)!;
      const [from, to] = [tickOf(a.startTs), tickOf(a.endTs)];
      for (let i = 0; i < n; i++) {
        const inside = i >= from && i <= to;
        const otherOnSameSensor = anomalies.some((b) => b !== a && b.sensor === a.sensor && i >= tickOf(b.startTs) && i <= tickOf(b.endTs));
        if (!inside && !otherOnSameSensor) expect(y[i]).toBe(x[i]);
      }
      const during = y.slice(from, to + 1);
      const normalDuring = x.slice(from, to + 1);
      const normalStd = std(x);
      switch (a.kind) {
        case 'spike':
          expect(during[0] - normalDuring[0]).toBeCloseTo(6, 1);
          break;
        case 'level_shift':
          expect((mean(during) - mean(normalDuring)) / normalStd).toBeGreaterThan(5);
          break;
        case 'noise_burst': {
          const diffs = during.map((d, i) => d - normalDuring[i]);
          expect(std(diffs)).toBeGreaterThan(2);
          break;
        }
        case 'stuck':
          expect(new Set(during).size).toBe(1);
          expect(during[0]).toBe(normalDuring[0]);
          expect(new Set(normalDuring).size).toBeGreaterThan(10); // the real signal kept moving
          break;
      }
    }
  });

  it('reports injected anomalies once they have started, and a repeating demo schedule', () => {
    const s = sim({ anomalies: 'demo' });
    expect(s.injected()).toEqual([]);
    for (let i = 0; i < 181; i++) s.next(); // up to +180 s: the first demo anomaly
    expect(s.injected().map((a) => [a.sensor, a.kind, a.startTs - START])).toEqual([['temperature', 'spike', 180_000]]);
    for (let i = 181; i < (DEMO_CYCLE_MS * 2) / 1000; i++) s.next();
    const all = s.injected();
    expect(all.map((a) => a.kind)).toEqual(['spike', 'level_shift', 'noise_burst', 'stuck', 'spike', 'level_shift', 'noise_burst', 'stuck']);
    expect(all[4].startTs - all[0].startTs).toBe(DEMO_CYCLE_MS);
    for (const a of all) {
      expect(a.endTs).toBeGreaterThanOrEqual(a.startTs);
      expect((a.startTs - START) % 1000).toBe(0);
    }
    // episodes never overlap, so each is its own incident
    for (let i = 1; i < all.length; i++) expect(all[i].startTs).toBeGreaterThan(all[i - 1].endTs);
  });

  it('gives a stuck motor current that fails to follow the duty cycle in the demo', () => {
    const s = sim({ anomalies: 'demo' });
    const v = runValues(s, 700);
    const stuck = s.injected().find((a) => a.kind === 'stuck')!;
    const during = v.get('motor_current')!.slice(tickOf(stuck.startTs), tickOf(stuck.endTs) + 1);
    expect(new Set(during).size).toBe(1);
    const clean = runValues(sim(), 700).get('motor_current')!.slice(tickOf(stuck.startTs), tickOf(stuck.endTs) + 1);
    expect(clean.some((x) => x > 7)).toBe(true);
    expect(clean.some((x) => x < 0.2)).toBe(true);
  });

  it('provides normal training history that is deterministic, clean and not the live stream', () => {
    const s = sim({ anomalies: 'demo' });
    const h = s.series('motor_current', 3000);
    expect(h).toHaveLength(3000);
    expect(sim().series('motor_current', 3000)).toEqual(h);
    expect(h.every((x) => x < 0.2 || x > 7)).toBe(true);
    const live = runValues(sim(), 100).get('motor_current')!;
    expect(Array.from(h.subarray(0, 100))).not.toEqual(live);
    const temp = s.series('temperature', 1200);
    expect(Math.max(...temp) - Math.min(...temp)).toBeGreaterThan(3.5);
    expect(() => s.series('nope', 1)).toThrow(/unknown/);
  });

  it('refuses anomalies for unknown sensors and bad options', () => {
    expect(() => sim({ anomalies: [{ sensor: 'x', kind: 'spike', startTs: START, endTs: START }] })).toThrow(/unknown sensor/);
    expect(() => sim({ intervalMs: 0 })).toThrow(/intervalMs/);
  });
});
