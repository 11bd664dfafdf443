import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clockTime, decimalsFor, EVIDENCE_KINDS, EVIDENCE_LABELS, explain, formatDuration, formatNumber, KIND_LABELS, toldAs, type Stretch } from '../../src/explain/explain.js';
import { episodeExplanation, explainEpisode, namedKind } from '../../src/explain/episode.js';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import { longestRun, median } from '../../src/explain/robust.js';

const T0 = Date.UTC(2026, 0, 12, 9, 0, 0);
const SEC = 1000;
const UTC = 'UTC';

/** mulberry32 + Box-Muller: the same noise every run. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** `n` readings 1 s apart from `start`, value f(i), rounded to 0.01 like a real sensor. */
function series(start: number, n: number, f: (i: number) => number): Stretch {
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    ts.push(start + i * SEC);
    values.push(Math.round(f(i) * 100) / 100);
  }
  return { ts, values };
}

/** 300 normal readings (20 ± 0.1 °C) before T0, then `during` from T0. */
function episode(during: (i: number, g: () => number) => number, n = 120) {
  const g = noise(42);
  const before = series(T0 - 300 * SEC, 300, () => 20 + 0.1 * g());
  return { stream: 'temp', unit: '°C', before, during: series(T0, n, (i) => during(i, g)), startTs: T0, endTs: T0 + (n - 1) * SEC, timeZone: UTC };
}

describe('explain: synthetic faults, baseline from the readings before', () => {
  it('a spike: one reading far off, the rest normal', () => {
    const e = explain(episode((i, g) => 20 + 0.1 * g() + (i === 30 ? 3 : 0)));
    expect(e.kind).toBe('spike');
    expect(e.basis).toBe('baseline');
    expect(e.value).toBeCloseTo(23, 0);
    expect(e.since).toBe(T0 + 30 * SEC);
    expect(e.expected).toBeCloseTo(20, 0);
    expect(e.sentence).toMatch(/^temp 2[23]\.\d+ °C, expected 20\.\d+ ± 0\.\d+ at 09:00 \(spike\)$/);
  });

  it('tells no number with more decimals than the device sent (tryout 22, finding 11: a DS18B20 `85.0` told `85.00 °C, expected 19.90 ± 0.16`)', () => {
    // Tasmota's DS18B20: one decimal, 19.8 + 0.2 sin(t / 150) + N(0, 0.06), then its power-on value 85.0 once.
    const g = noise(7);
    const one = (start: number, n: number, f: (i: number) => number): Stretch => {
      const st = series(start, n, f);
      return { ts: st.ts, values: st.values.map((v) => Math.round(v * 10) / 10) };
    };
    const before = one(T0 - 300 * SEC, 300, (i) => 19.8 + 0.2 * Math.sin(i / 150) + 0.06 * g());
    const during = one(T0, 20, (i) => (i === 0 ? 85 : 19.9 + 0.06 * g()));
    const e = explain({ stream: 'tasmota_plug/DS18B20.Temperature', unit: '°C', before, during, startTs: T0, endTs: T0 + 19 * SEC, timeZone: UTC });
    expect(e.kind).toBe('spike');
    expect(e.sentence).toMatch(/^tasmota_plug\/DS18B20\.Temperature 85\.0 °C, expected \d+\.\d ± 0\.\d at 09:00 \(spike\)$/);
    // zigbee2mqtt's energy, two decimals (`1.23`), stepping back: never `1.230 kWh`.
    const kwh = (start: number, n: number, f: (i: number) => number): Stretch => series(start, n, f);
    const e2 = explain({ stream: 'plug_washer/energy', unit: 'kWh', before: kwh(T0 - 300 * SEC, 300, () => 1.24), during: kwh(T0, 40, () => 1.23), startTs: T0, endTs: T0 + 39 * SEC, timeZone: UTC });
    const numbers = (e2.sentence.match(/\d+\.\d+/g) ?? []).filter((n) => !n.includes(':'));
    expect(numbers.length, e2.sentence).toBeGreaterThan(0);
    for (const n of numbers) expect(n.split('.')[1].length, e2.sentence).toBeLessThanOrEqual(2);
    // A band finer than the sensor reads keeps a digit of its own: never `± 0.0`.
    const flat = explain({ stream: 'room', unit: '°C', before: one(T0 - 300 * SEC, 300, (i) => (i % 50 === 0 ? 20.1 : 20)), during: one(T0, 3, (i) => (i === 0 ? 25 : 20)), startTs: T0, endTs: T0 + 2 * SEC, timeZone: UTC });
    expect(flat.sentence, flat.sentence).not.toMatch(/± 0\.0\b(?!\d)/);
  });

  it('a jump with nothing back within range after it yet: no kind, and its strongest reading stands for it, not its latest', () => {
    // A spike of +10 whose next reading is still a little off (+0.6, beyond 4 spreads): the stretch as an
    // episode's resolve sees it, up to its last reading that held the episode.
    const e = explain(episode((i, g) => 20 + 0.1 * g() + (i === 0 ? 10 : i === 1 ? 0.6 : 0), 2));
    expect(e.kind).toBeNull();
    expect(e.value).toBeCloseTo(30, 0);
    expect(e.since).toBe(T0);
    expect(e.sentence).toMatch(/^temp (29|30)\.\d+ °C, expected 20\.\d+ ± 0\.\d+ since 09:00$/);
    // One reading back within range after them: a spike, the same reading.
    const told = explain(episode((i, g) => 20 + 0.1 * g() + (i === 0 ? 10 : i === 1 ? 0.6 : 0), 3));
    expect(told.kind).toBe('spike');
    expect(told.value).toBe(e.value);
  });

  it('a spike whose next readings the model still expects off (its state took the spike in) is a spike', () => {
    // What a stream's own model does after a +6 °C spike (the demo's temperature): it expects the next
    // readings about 0.7 °C high with a spread of 0.15, so they read as 4-5 spreads off though they are back
    // at the level before. The level before tells them back: a spike, as the resolve (which sees the
    // first reading after the last that held the episode) should say.
    const g = noise(5);
    const base = episode(() => 0, 3);
    const b = series(T0 - 300 * SEC, 300, () => 20 + 0.05 * g());
    const values = [26.7, 20.0, 20.02];
    const during = { ts: base.during.ts, values, expected: [20.0, 20.7, 20.75], spread: [0.15, 0.15, 0.15] };
    const before = { ...b, expected: b.values.map(() => 20), spread: b.values.map(() => 0.15) };
    const e = explain({ ...base, before, during });
    expect(e.basis).toBe('model');
    expect(e.kind).toBe('spike');
    expect(e.value).toBeCloseTo(26.7, 5);
    // A tryout's fridge: a +3 °C spike on a rising ramp, the model's expectation pulled up 0.5 °C for the
    // readings after it (6 spreads): told a level shift of the reading after it. A spike, the spike's reading.
    const ramp = series(T0 - 300 * SEC, 300, (i) => 4.25 + 0.0025 * i + 0.05 * g());
    const rampBefore = { ...ramp, expected: ramp.values.map((v) => v), spread: ramp.values.map(() => 0.08) };
    const fridge = explain({
      ...base,
      before: rampBefore,
      during: { ts: [T0, T0 + SEC, T0 + 2 * SEC, T0 + 3 * SEC], values: [8.016, 5.004, 5.023, 5.042], expected: [5.109, 5.595, 5.593, 5.454], spread: [0.08, 0.08, 0.08, 0.08] },
      endTs: T0 + 3 * SEC,
    });
    expect(fridge.kind).toBe('spike');
    expect(fridge.value).toBeCloseTo(8.016, 5);
    // The same jump still off the level before at its last reading: it may be a level shift, not told yet.
    const held = explain({ ...base, before, during: { ...during, values: [26.7, 26.6, 26.65] } });
    expect(held.kind).toBeNull();
    // A step's second reading, still off the level before, near the expectation the step pulled up (a tryout's
    // lasting +0.8 shift: 10.9 then 10.8 against 10.5 ± 0.2): not told yet, not a spike (the kind stuck).
    const step = explain({ ...base, before, during: { ts: during.ts.slice(0, 2), values: [26.7, 26.6], expected: [20.0, 26.0], spread: [0.15, 0.3] }, endTs: T0 + SEC });
    expect(step.kind).toBeNull();
  });

  it('a spike whose readings after it are back, though off the expectation the spike pulled, is no level shift (tryout 10, finding 5)', () => {
    // The demo's temperature: a +6 °C spike on a slowly rising daily cycle, the stream's own model (no spread)
    // expecting the readings after it 0.4-3.6 °C high for a while. The readings after it are back where the
    // cycle had them (0.07-0.17 above the level before, 18.75 ± 0.08): they were told a level shift of 18.89
    // against 18.75, a weaker, normal reading retold as a lasting fault. With the demo's noise (0.045: most
    // readings after it within 4 spreads of the level before) and with less (0.03: most beyond).
    const values = [24.79, 18.82, 18.84, 18.88, 18.9, 18.86, 18.92, 18.9, 18.89, 18.9];
    const expected = [18.78018, 22.38552, 19.69979, 19.34545, 19.23285, 19.19492, 19.1536, 19.16867, 19.15489, 19.13567];
    for (const sd of [0.045, 0.03]) {
      const g = noise(8);
      const base = episode(() => 0, 10);
      const b = series(T0 - 300 * SEC, 300, (i) => 18.75 - 0.004 * (299 - i) + sd * g());
      const before = { ...b, expected: b.values.map((v) => v), spread: null };
      const e = explain({ ...base, before, during: { ts: base.during.ts, values, expected, spread: null }, endTs: T0 + 9 * SEC });
      expect(e.kind, `noise ${sd}`).not.toBe('level_shift');
      expect(e.kind, `noise ${sd}`).not.toBe('drift');
      // What the opening alert said stands: the spike's reading against what the model expected of it.
      expect(e.value).toBeCloseTo(24.79, 5);
      expect(e.basis).toBe('model');
      // A lasting +2 step on the same cycle, the model's expectation following it, is still a level shift.
      const step = values.map((v, i) => (i === 0 ? v - 4 : v + 2));
      const shifted = explain({ ...base, before, during: { ts: base.during.ts, values: step, expected: step.map((v, i) => (i === 0 ? 18.78 : v - 0.3)), spread: null }, endTs: T0 + 9 * SEC });
      expect(shifted.kind, `noise ${sd}`).toBe('level_shift');
      expect(shifted.basis).toBe('baseline');
      expect(shifted.value).toBeCloseTo(20.89, 1);
    }
  });

  it('a spike on a stream that moves on its own is a spike from the whole stretch a long episode resolves with', () => {
    // The demo's temperature (tryout 13's session, 3 of 25 spikes told no kind): a +6 spike on a cycle falling
    // 0.01 °C a second, noise 0.04, the episode held 52 readings. The stream's own model follows the cycle (spread
    // 0.06) and its expectation is pulled by the spike for a few readings. Within the minute the stream has left
    // the flat level before (± its few hundredths) on its own: the resolve's stretch, all 53 readings, told no kind.
    const g = noise(11);
    const slope = -0.01;
    const at = (i: number): number => 19 + slope * i;
    const b = series(T0 - 300 * SEC, 300, (i) => at(i - 300) + 0.04 * g());
    const before = { ...b, expected: b.values.map((_, i) => at(i - 300)), spread: b.values.map(() => 0.06) };
    const pull = [0, 3.6, 0.9, 0.4, 0.3, 0.2, 0.1];
    const n = 53;
    const stretch = (f: (i: number) => number, expected: (i: number) => number) => {
      const d = series(T0, n, f);
      return { ts: d.ts, values: d.values, expected: d.values.map((_, i) => expected(i)), spread: d.values.map(() => 0.06) };
    };
    const base = { stream: 'temperature', unit: '°C', before, startTs: T0, endTs: T0 + (n - 1) * SEC, timeZone: UTC };
    const spike = explain({ ...base, during: stretch((i) => at(i) + 0.04 * g() + (i === 0 ? 6 : 0), (i) => at(i) + (pull[i] ?? 0)) });
    expect(spike.kind).toBe('spike');
    expect(spike.value).toBeCloseTo(25, 0);
    expect(spike.since).toBe(T0);
    expect(spike.sentence).toMatch(/ at 09:00 \(spike\)$/);
    // A lasting +2 step on the same falling cycle, the model following it: held off the level before, no spike.
    const step = explain({ ...base, during: stretch((i) => at(i) + 2 + 0.04 * g(), (i) => at(i) + (i === 0 ? 0 : 1.9)) });
    expect(step.kind).not.toBe('spike');
    // A spike whose readings after it do not come back by half (a +6 jump that settles at +3.5): not a spike.
    const half = explain({ ...base, during: stretch((i) => at(i) + 0.04 * g() + (i === 0 ? 6 : 3.5), (i) => at(i) + (i === 0 ? 0 : 3.4)) });
    expect(half.kind).not.toBe('spike');
  });

  it('readings that stay where they were while the model expected a change are no level shift or drift of theirs (the demo\'s motor stuck off)', () => {
    // The demo's pump motor stuck in its off state (0.05 A) when the model expected it to switch on (8 A): against
    // the model's expectation a step and a trend, told against the level before as `motor_current 0.04, expected
    // 0.04 ± 0.08 (level shift)` or `(drift, −748/h)`: a lasting change of readings that did not change.
    const g = noise(21);
    const base = episode(() => 0, 20);
    const b = series(T0 - 300 * SEC, 300, () => 0.05 + 0.02 * g());
    const before = { ...b, expected: b.values.map(() => 0.05), spread: b.values.map(() => 0.03) };
    const during = series(T0, 20, () => 0.05 + 0.02 * g());
    const expected = during.values.map((_, i) => Math.min(8, 0.05 + 2 * i));
    for (const n of [6, 20]) {
      const e = explain({ ...base, before, during: { ts: during.ts.slice(0, n), values: during.values.slice(0, n), expected: expected.slice(0, n), spread: expected.slice(0, n).map(() => 0.3) }, endTs: T0 + (n - 1) * SEC });
      expect(e.kind, `${n} readings: ${e.sentence}`).not.toBe('level_shift');
      expect(e.kind, `${n} readings: ${e.sentence}`).not.toBe('drift');
      // What it says is a reading against what the model expected of it, not against a level it never left.
      expect(e.basis).toBe('model');
      expect(Math.abs(e.value! - e.expected!)).toBeGreaterThan(e.band!);
    }
  });

  it('a level shift the model has followed (its expectation took the new level in) is a level shift, against the level before', () => {
    // A tryout's lasting +0.8 shift of a 0.1-noise signal: against the model only the step's first readings
    // were off, and the episode stayed "(unusual level)", untold, for good.
    const g = noise(11);
    const base = episode(() => 0, 3);
    const b = series(T0 - 300 * SEC, 300, () => 10 + 0.1 * g());
    const before = { ...b, expected: b.values.map(() => 10), spread: b.values.map(() => 0.2) };
    const during = series(T0, 30, () => 10.8 + 0.1 * g());
    const expected = during.values.map((_, i) => (i === 0 ? 10 : Math.min(10.8, 10 + 0.3 * i)));
    const e = explain({ ...base, before, during: { ...during, expected, spread: during.values.map(() => 0.2) }, endTs: T0 + 29 * SEC });
    expect(e.kind).toBe('level_shift');
    expect(e.since).toBe(T0);
    expect(e.expected).toBeCloseTo(10, 0);
    expect(e.value).toBeCloseTo(10.8, 0);
  });

  it('a level shift: the readings jump by 2 and stay (after 16 normal readings, as a window starts early)', () => {
    const e = explain(episode((i, g) => 20 + 0.1 * g() + (i >= 16 ? 2 : 0)));
    expect(e.kind).toBe('level_shift');
    expect(e.since).toBe(T0 + 16 * SEC);
    expect(e.value).toBeCloseTo(22, 0);
    expect(e.sentence).toMatch(/^temp 2[12]\.\d+ °C, expected 20\.\d+ ± 0\.\d+ since 09:00 \(level shift\)$/);
  });

  it.each([30, 100])('a level shift flagged %i readings late: those readings, still in the stretch before, are taken back into it', (lag) => {
    const g = noise(9);
    const all = series(T0 - 600 * SEC, 720, (i) => 20 + 0.1 * g() + (i >= 600 - lag ? 2 : 0));
    // The episode "starts" `lag` readings after the shift did: those sit at the end of `before`.
    const before = { ts: all.ts.slice(0, 600), values: all.values.slice(0, 600) };
    const during = { ts: all.ts.slice(600), values: all.values.slice(600) };
    const e = explain({ stream: 'temp', unit: '°C', before, during, startTs: T0, endTs: T0 + 119 * SEC, timeZone: UTC });
    expect(e.kind).toBe('level_shift');
    expect(e.since).toBe(T0 - lag * SEC);
    expect(e.expected).toBeCloseTo(20, 0);
    expect(e.value).toBeCloseTo(22, 0);
  });

  it('a drift: a steady ramp of 0.02 °C/s with no jump', () => {
    const e = explain(episode((i, g) => 20 + 0.1 * g() + 0.02 * i, 200));
    expect(e.kind).toBe('drift');
    // 0.02 °C/s = 72 °C/h: the robust slope finds it to within a few percent.
    expect(e.ratePerHour!).toBeGreaterThan(65);
    expect(e.ratePerHour!).toBeLessThan(80);
    expect(e.sentence).toMatch(/^temp 2[34]\.\d+ °C, expected 20\.\d+ ± 0\.\d+ since 09:0\d \(drift, \+7\d °C\/h\)$/);
  });

  it('a drift’s rate is the Theil–Sen slope of its readings over the drift’s span, at an irregular cadence, not pulled by readings far off (tryout 37, finding 12)', () => {
    // +0.02 °C a reading, 1.5–2.5 s apart (2 s on average: +36 °C/h), noise 0.04 °C, two readings 1 °C high near the end.
    const g = noise(11);
    const u = noise(12);
    const before: Stretch = {
      ts: Array.from({ length: 300 }, (_, i) => T0 - (300 - i) * 2 * SEC),
      values: Array.from({ length: 300 }, () => Math.round((20 + 0.04 * g()) * 100) / 100),
    };
    const ts: number[] = [];
    const values: number[] = [];
    let at = T0;
    for (let i = 0; i < 150; i++) {
      ts.push(Math.round(at));
      values.push(Math.round((20 + 0.02 * i + 0.04 * g() + (i === 140 || i === 145 ? 1 : 0)) * 100) / 100);
      at += 2 * SEC + 0.5 * SEC * Math.max(-1, Math.min(1, u() / 2));
    }
    const e = explain({ stream: 'temp', unit: '°C', before, during: { ts, values }, startTs: T0, endTs: ts[149], timeZone: UTC });
    expect(e.kind).toBe('drift');
    // The readings' own slope, per hour, over the span told (its `since` to the last reading): the same robust slope.
    const from = ts.indexOf(e.since);
    expect(from).toBeGreaterThanOrEqual(0);
    const slopes: number[] = [];
    for (let a = from; a < 150; a++) for (let b = a + 1; b < 150; b++) slopes.push((values[b] - values[a]) / (ts[b] - ts[a]));
    const theilSen = median(slopes) * 3_600_000;
    expect(e.ratePerHour!).toBeCloseTo(theilSen, 0);
    // And that is the true rate, 36 °C/h, to within 10 %, nearer it than least squares over the same readings, which the
    // two readings far off pull.
    expect(e.ratePerHour!).toBeGreaterThan(36 * 0.9);
    expect(e.ratePerHour!).toBeLessThan(36 * 1.1);
    const n = 150 - from;
    const mt = ts.slice(from).reduce((a, t) => a + t, 0) / n;
    const mx = values.slice(from).reduce((a, x) => a + x, 0) / n;
    let sxy = 0;
    let sxx = 0;
    for (let i = from; i < 150; i++) {
      sxy += (ts[i] - mt) * (values[i] - mx);
      sxx += (ts[i] - mt) ** 2;
    }
    expect(Math.abs(e.ratePerHour! - 36)).toBeLessThan(Math.abs((sxy / sxx) * 3_600_000 - 36));
    expect(e.sentence).toMatch(/\(drift, \+3\d °C\/h\)$/);
  });

  it('a freeze: one value repeated, though it is a normal value', () => {
    const e = explain(episode((i, g) => (i < 10 ? 20 + 0.1 * g() : 20.07), 100));
    expect(e.kind).toBe('stuck');
    expect(e.value).toBe(20.07);
    expect(e.since).toBe(T0 + 10 * SEC);
    expect(e.durationMs).toBe(89 * SEC);
    // A normal value: what is off is how long it stays, not the value (tryout 23, finding 3: no band that holds it).
    expect(e.sentence).toMatch(/^temp 20\.07 °C unchanged for 89 s since 09:00, never longer than 1 s before \(stuck value\)$/);
  });

  it('a freeze inside the band: no expectation that holds the value (tryout 10: "10.05 … expected 10.1"; tryout 23, finding 3)', () => {
    const g = noise(7);
    // Noisier before (± 0.15): a band near 0.3, which alone asks for one decimal.
    const e = explain({ ...episode((i, h) => (i < 10 ? 20 + 0.15 * h() : 20.07), 100), before: series(T0 - 300 * SEC, 300, () => 20 + 0.15 * g()) });
    expect(e.kind).toBe('stuck');
    // Within the band of the level before (19.9 ± 0.3): told by how long it stayed, not `expected 19.97 ± 0.30`.
    expect(e.sentence).toMatch(/^temp 20\.07 °C unchanged for 89 s since 09:00, never longer than 1 s before \(stuck value\)$/);
  });

  it('a noise change: the spread grows sixfold, the level stays', () => {
    const e = explain(episode((_, g) => 20 + 0.6 * g(), 120));
    expect(e.kind).toBe('noise_change');
    expect(e.noise! / e.band!).toBeGreaterThan(3);
    expect(e.sentence).toMatch(/^temp varies ± 1\.\d+ °C, usually ± 0\.\d+ since 09:00 \(noise change\)$/);
  });

  it('a burst of noise the detector called a noise change (seen: spread) is told one from its first reading, whatever its readings look like', () => {
    // 20 ± 0.1 °C, which the model expects within a wide spread (1.5, as a duty cycle's switches make it);
    // from 08:59:50 the noise is 20 times larger. The episode opens at 09:00 on one reading.
    const g = noise(11);
    const withModel = (s: Stretch): Stretch => ({ ...s, expected: s.values.map(() => 20), spread: s.values.map(() => 1.5) });
    const before = withModel(series(T0 - 300 * SEC, 300, (i) => 20 + (i >= 290 ? 2 : 0.1) * g()));
    const opened = explain({ stream: 'temp', unit: '°C', before, during: withModel(series(T0, 1, () => 20.3)), startTs: T0, endTs: T0, timeZone: UTC, seen: 'spread' });
    expect(opened.kind).toBe('noise_change');
    // It states the noise, as it was and as it usually is; it began with the burst, before the episode opened.
    expect(opened.sentence).toMatch(/^temp varies ± \d\.\d+ °C, usually ± 0\.\d+ since 08:59 \(noise change\)$/);
    expect(opened.noise! / opened.band!).toBeGreaterThan(5);
    // The burst's last readings: one far off, then back within range. By its readings alone a spike; the
    // evidence that carried the episode says noise, and so does the explanation, in the same words.
    const during = withModel(series(T0, 12, (i) => (i === 9 ? 40 : 20 + (i < 9 ? 2 : 0.1) * g())));
    const resolved = explain({ stream: 'temp', unit: '°C', before, during, startTs: T0, endTs: T0 + 11 * SEC, timeZone: UTC, seen: 'spread' });
    expect(resolved.kind).toBe('noise_change');
    expect(resolved.sentence).toMatch(/^temp varies ± \d\.\d+ °C, usually ± 0\.\d+ since 08:59 \(noise change\)$/);
    // Both figures are the burst's own (± 2 noise: BAND_SIGMAS · 2 = ± 4), not runs reaching back into the quiet
    // readings before it (the leftovers finding 1), within a factor of 2 either way.
    for (const e of [opened, resolved]) {
      expect(e.noise!).toBeGreaterThan(2);
      expect(e.noise!).toBeLessThan(8);
    }
    // With other evidence (`change`) its readings tell it too: the one far off comes among readings that jump about
    // 20 times more than usual, a burst's largest, not a spike (noiseTold; before tryout 29's finding 6, a spike).
    expect(explain({ stream: 'temp', unit: '°C', before, during, startTs: T0, endTs: T0 + 11 * SEC, timeZone: UTC, seen: 'change' }).kind).toBe('noise_change');
    // And a spike among readings as quiet as usual stays a spike, whatever the evidence.
    const quiet = withModel(series(T0, 12, (i) => (i === 9 ? 40 : 20 + 0.1 * g())));
    expect(explain({ stream: 'temp', unit: '°C', before: withModel(series(T0 - 300 * SEC, 300, () => 20 + 0.1 * g())), during: quiet, startTs: T0, endTs: T0 + 11 * SEC, timeZone: UTC, seen: 'change' }).kind).toBe('spike');
  });

  it('missing data: readings stop and the episode goes on', () => {
    const base = episode((_, g) => 20 + 0.1 * g(), 5);
    const e = explain({ ...base, endTs: T0 + 600 * SEC });
    expect(e.kind).toBe('missing_data');
    expect(e.since).toBe(T0 + 4 * SEC);
    expect(e.durationMs).toBe(596 * SEC);
    expect(e.sentence).toMatch(/^temp no reading for 10 min since 09:00, last 20\.\d+ °C \(missing data\)$/);
  });

  it('missing data of a stream whose readings come in bursts sharing one time (a hub flushing its buffer every 10 s): the interval is the gap between bursts, not 0', () => {
    const g = noise(7);
    // 60 bursts of 5 readings under one time stamp, 10 s apart, then nothing for 10 min.
    const ts: number[] = [];
    const values: number[] = [];
    for (let b = 0; b < 60; b++) {
      for (let k = 0; k < 5; k++) {
        ts.push(T0 - (60 - b) * 10 * SEC);
        values.push(Math.round((20 + 0.1 * g()) * 100) / 100);
      }
    }
    const before: Stretch = { ts, values };
    const during: Stretch = { ts: [T0, T0, T0], values: [20.01, 19.98, 20.03] };
    const e = explain({ stream: 'temp', unit: '°C', before, during, startTs: T0, endTs: T0 + 600 * SEC, timeZone: UTC });
    expect(e.kind).toBe('missing_data');
    expect(e.since).toBe(T0);
    expect(e.durationMs).toBe(600 * SEC);
  });

  it('a reading that opened an episode by its value after a short pause is told as what it shows, not missing data (tryout 20, finding 4)', () => {
    // A Tasmota ENERGY.Total every 2 s, 9 s without a message, then on from 12.5 instead of ≈ 12.36 kWh.
    const before = series(T0 - 600 * SEC, 300, (i) => 12.06 + 0.001 * i);
    const back = T0 + 9 * SEC;
    const input = { stream: 'plug1/ENERGY.Total', unit: 'kWh', before, during: { ts: [back], values: [12.5] }, startTs: back, endTs: back, timeZone: UTC };
    // Its value's evidence opened it (level): told by its readings.
    const stepped = explain({ ...input, seen: 'level' });
    expect(stepped.kind).not.toBe('missing_data');
    expect(stepped.sentence).toMatch(/^plug1\/ENERGY\.Total 12\.5\d* kWh, expected 12\.3\d* /);
    // The detector judged the silence (stuck: the steps missed), or said nothing: the gap is the news, as before.
    expect(explain({ ...input, seen: 'stuck' }).kind).toBe('missing_data');
    expect(explain(input).kind).toBe('missing_data');
  });

  it('normal readings get no kind, and the sentence still says what they are', () => {
    const e = explain(episode((_, g) => 20 + 0.1 * g(), 60));
    expect(e.kind).toBeNull();
    expect(e.sentence).not.toMatch(/\(/);
    expect(e.sentence).toMatch(/^temp (19|20)\.\d+ °C, expected 20\.\d+ ± 0\.\d+ since 09:00$/);
  });

  it('says less, and never throws, with little to go on', () => {
    const none = explain({ stream: 's', before: { ts: [], values: [] }, during: { ts: [], values: [] }, startTs: T0, endTs: T0, timeZone: UTC });
    expect(none.kind).toBe('missing_data');
    const noBaseline = explain({ stream: 's', before: { ts: [], values: [] }, during: series(T0, 3, (i) => i), startTs: T0, endTs: T0 + 2 * SEC, timeZone: UTC });
    expect(noBaseline.kind).toBeNull();
    expect(noBaseline.basis).toBeNull();
    expect(noBaseline.sentence).toBe('s 1 since 09:00');
    const noUnit = explain({ ...episode((i, g) => 20 + 0.1 * g() + (i === 3 ? 5 : 0), 10), unit: null });
    expect(noUnit.sentence).toMatch(/^temp 2\d\.\d+, expected/);
  });
});

describe('explain: a drift is measured after a jump that came back, not across it (tryout 23, finding F2)', () => {
  /** Park and Miller's minimal standard generator: uniform in [0, 1). */
  function uniform(seed: number): () => number {
    let s = seed;
    return () => {
      s = (s * 16807) % 2147483647;
      return s / 2147483647;
    };
  }
  /**
   * The tryout's HA temperature (its pub.mjs), every 2 s, two decimals: 21.37 + 0.3 sin(t / 300 s) + U(−0.03, 0.03),
   * +6 from reading 420 to 449, plus `ramp` per reading from reading 450 on; the readings before are 120 to 419, the
   * episode's from 420 to `end` (excluded).
   */
  function tryout(seed: number, end: number, amplitude: number, ramp: number): { before: Stretch; during: Stretch } {
    const u = uniform(seed);
    const ts: number[] = [];
    const values: number[] = [];
    for (let k = 0; k < end; k++) {
      const sec = 2 * k;
      ts.push(T0 + sec * SEC);
      const v = 21.37 + amplitude * Math.sin(sec / 300) + (u() - 0.5) * 0.06 + (k >= 420 && k < 450 ? 6 : 0) + (k >= 450 ? ramp * (k - 449) : 0);
      values.push(Math.round(v * 100) / 100);
    }
    return { before: { ts: ts.slice(120, 420), values: values.slice(120, 420) }, during: { ts: ts.slice(420), values: values.slice(420) } };
  }

  it('readings back on the slow cycle the readings before had, a little below the level before, are no drift (main: `drift, −18 °C/h` since the jump)', () => {
    for (const seed of [1, 2, 3]) {
      for (const end of [500, 560, 600]) {
        const { before, during } = tryout(seed, end, 0.3, 0);
        const e = explain({ stream: 'living_temp', unit: '°C', before, during, startTs: during.ts[0], endTs: during.ts[during.ts.length - 1], timeZone: UTC, seen: 'level' });
        expect(e.kind, `seed ${seed}, ${end - 450} readings back: ${e.sentence}`).not.toBe('drift');
      }
    }
  });

  it('a drift that begins after the jump came back is told with the slope of its own readings, since they began', () => {
    // Flat before (no cycle), then −0.01 °C per reading (2 s) from the return: −18 °C/h.
    for (const seed of [1, 2, 3]) {
      const { before, during } = tryout(seed, 560, 0, -0.01);
      const e = explain({ stream: 'living_temp', unit: '°C', before, during, startTs: during.ts[0], endTs: during.ts[during.ts.length - 1], timeZone: UTC, seen: 'level' });
      expect(e.kind, e.sentence).toBe('drift');
      expect(e.ratePerHour!, e.sentence).toBeGreaterThan(-21);
      expect(e.ratePerHour!, e.sentence).toBeLessThan(-15);
      expect(e.since, e.sentence).toBeGreaterThanOrEqual(during.ts[30]);
    }
  });
});

describe('explain: what the detector saw, when the kind cannot be told', () => {
  it('a value rarely seen (rarity) says where the normal readings lay, not an expectation halfway between a duty cycle\'s modes', () => {
    // A duty cycle, off 0.05 ± 0.01 A and on 8 ± 0.08 A in phases of 50 readings, one switch reading somewhere in
    // the gap; the model expects 3 ± 1.5 (a blend of the modes) for readings that sit at 2 A, in the gap.
    const g = noise(7);
    const before = series(T0 - 400 * SEC, 400, (i) => (i % 50 === 0 ? 4 + 3.5 * Math.tanh(g()) : Math.floor(i / 50) % 2 === 0 ? 0.05 + 0.01 * g() : 8 + 0.08 * g()));
    const during = { ...series(T0, 60, () => 2 + 0.01 * g()), expected: Array(60).fill(3), spread: Array(60).fill(1.5) };
    const input = { stream: 'pump/current', unit: 'A', before, during, startTs: T0, endTs: T0 + 59 * SEC, timeZone: UTC };
    const e = explain({ ...input, seen: 'rarity' });
    expect(e.kind).toBeNull();
    expect(e.sentence).toMatch(/^pump\/current (2|1\.9\d) A, between the normal readings near 0\.0\d+ and 7\.\d+ since 09:00 \(values rarely seen\)$/);
    // The record keeps the model's expectation. Other evidence never tells the model's 3 ± 3, which holds the
    // value (tryout 23, finding 3), but what the cycle expected at this phase: the off mode.
    expect(e.expected).toBe(3);
    expect(explain({ ...input, seen: 'level' }).sentence).toMatch(/^pump\/current (2|1\.9\d) A since 09:00, usually 0\.0\d A at this point of its cycle \(unusual level\)$/);
    // Beyond every normal reading: above them, up to the top of the on mode.
    const high = { ...input, during: { ...series(T0, 60, () => 9 + 0.01 * g()), expected: Array(60).fill(8.9), spread: Array(60).fill(1) } };
    expect(explain({ ...high, seen: 'rarity' }).sentence).toMatch(/, above the normal readings \(up to 8\.\d+\) since/);
  });

  it('names the strongest evidence in words when the kind is null, and the kind when it is told', () => {
    const normalOnes = episode((_, g) => 20 + 0.1 * g(), 60);
    // Evidence of a noise change that the readings do not show (their noise is as usual): not told, but named,
    // in the evidence's words, never the kind's (tryout 12: kind null beside "(noise change)").
    expect(explain({ ...normalOnes, seen: 'spread' }).sentence).toMatch(/^temp (19|20)\.\d+ °C, expected 20\.\d+ ± 0\.\d+ since 09:00 \(unusual noise level\)$/);
    expect(explain({ ...normalOnes, seen: 'stuck' }).sentence).toMatch(/ \(unusual repeats of one value\)$/);
    expect(explain({ ...normalOnes, seen: 'stuck' }).kind).toBeNull();
    expect(explain({ ...normalOnes, seen: 'change' }).sentence).toMatch(/ \(sudden change\)$/);
    expect(explain({ ...normalOnes, seen: 'spread' }).kind).toBeNull();
    // A kind the explainer tells wins over the evidence; an evidence it has no words for names nothing.
    expect(explain({ ...episode((_, g) => 20 + 0.6 * g(), 120), seen: 'change' }).sentence).toMatch(/ \(noise change\)$/);
    expect(explain({ ...normalOnes, seen: 'nonsense' }).sentence).not.toMatch(/\(/);
    const noBaseline = explain({ stream: 's', before: { ts: [], values: [] }, during: series(T0, 3, (i) => i), startTs: T0, endTs: T0 + 2 * SEC, timeZone: UTC, seen: 'level' });
    expect(noBaseline.sentence).toBe('s 1 since 09:00 (unusual level)');
  });

  it('a value that froze before the episode opened is a stuck value from its first repeat', () => {
    // 300 noisy readings, of which the last 12 are already frozen at 20.07; the episode opens on the 13th.
    const g = noise(9);
    const before = series(T0 - 300 * SEC, 300, (i) => (i >= 288 ? 20.07 : 20 + 0.1 * g()));
    const during = series(T0, 1, () => 20.07);
    const e = explain({ stream: 'temp', unit: '°C', before, during, startTs: T0, endTs: T0, timeZone: UTC, seen: 'spread' });
    expect(e.kind).toBe('stuck');
    expect(e.since).toBe(T0 - 12 * SEC);
    expect(e.durationMs).toBe(12 * SEC);
    expect(e.sentence).toMatch(/^temp 20\.07 °C unchanged for 12 s since 08:59, never longer than 1 s before \(stuck value\)$/);
    // Three equal readings in a row are ordinary for this sensor when its normal stretch has runs as long.
    const steppy = series(T0 - 300 * SEC, 300, (i) => 20 + Math.floor(i / 6) * 0.01);
    expect(explain({ stream: 'temp', before: steppy, during: series(T0, 1, () => steppy.values[299]), startTs: T0, endTs: T0, timeZone: UTC }).kind).not.toBe('stuck');
  });

  it('writes a stuck value kept as a 32-bit float as the sensor sent it', () => {
    const v = Math.fround(20.37);
    const e = explain(episode((i, g) => (i < 10 ? 20 + 0.1 * g() : v), 100));
    expect(e.kind).toBe('stuck');
    expect(e.sentence).toMatch(/^temp 20\.37 °C unchanged/);
  });
});

describe('explain: a spike off a flat stretch, and right after a restart (tryout 18, finding 4)', () => {
  /** Whole watts, 1 s apart: the readings before, the spike and the readings after it, as a steady plug reads. */
  const watts = (start: number, values: readonly number[]): Stretch => ({ ts: values.map((_, i) => start + i * SEC), values: [...values] });
  const plug = (before: readonly number[], during: readonly number[], spread: number | null) => {
    const d = watts(T0, during);
    return {
      stream: 'plug/Power',
      unit: 'W',
      before: watts(T0 - before.length * SEC, before),
      during: spread === null ? d : { ...d, expected: during.map(() => 123), spread: during.map(() => spread) },
      startTs: T0,
      endTs: T0 + (during.length - 1) * SEC,
      timeZone: UTC,
    };
  };

  it('its band is the spread of the readings before it, not its own jump: with or without the model, with few or many readings before', () => {
    for (const before of [[123, 123, 123], Array.from({ length: 300 }, () => 123)]) {
      for (const spread of [null, 0.2]) {
        for (const during of [[137], [137, 123, 123, 123, 123]]) {
          const e = explain(plug(before, during, spread));
          const what = `${before.length} before, ${spread === null ? 'no model' : 'model'}, ${during.length} during: ${e.sentence}`;
          expect(e.value, what).toBe(137);
          expect(e.expected, what).toBe(123);
          // The readings before are whole watts that never changed: at most half a watt either side (the sensor's
          // resolution seen in how they are written), never ± 14 (the spike's own step).
          expect(e.band, what).toBeLessThanOrEqual(1);
          expect(e.kind === null || e.kind === 'spike', what).toBe(true);
        }
      }
    }
  });

  it('the normal readings after it are no stuck value when only a few came before it; a value frozen off the level is one', () => {
    const after = Array.from({ length: 20 }, () => 123);
    for (const spread of [null, 0.2]) {
      const e = explain(plug([123, 123, 123], [137, ...after], spread));
      expect(e.kind, e.sentence).toBe('spike');
      expect(e.since).toBe(T0);
      // The same run of a value far off the level before is a stuck value however few readings came before.
      const frozen = explain(plug([123, 123, 123], Array.from({ length: 21 }, () => 85), spread));
      expect(frozen.kind, frozen.sentence).toBe('stuck');
    }
  });
});

describe('explain: a few readings far off on their own (tryout 20, finding 14)', () => {
  // A CO2 sensor at 620 ± 14 ppm, whole ppm, 1 s apart; 5000 ppm sent three times, 1 s apart, between its readings.
  const g = noise(20);
  const ppm = (start: number, n: number, f: (i: number) => number): Stretch => {
    const s = series(start, n, f);
    return { ...s, values: s.values.map(Math.round) };
  };
  const before = ppm(T0 - 300 * SEC, 300, () => 620 + 14 * g());
  const withModel = (s: Stretch): Stretch => ({ ...s, expected: s.values.map(() => 620), spread: s.values.map(() => 14) });

  it('are spikes, told at the strongest (5000 ppm), whatever evidence carried the peak, with or without the model', () => {
    const during = ppm(T0, 30, (i) => (i === 0 || i === 2 || i === 4 ? 5000 : 620 + 14 * g()));
    for (const model of [false, true]) {
      for (const seen of [undefined, 'spread', 'prediction', 'bias']) {
        const e = explain({ stream: 'esp-living/co2', unit: 'ppm', before: model ? withModel(before) : before, during: model ? withModel(during) : during, startTs: T0, endTs: T0 + 29 * SEC, timeZone: UTC, seen });
        const what = `${model ? 'model' : 'no model'}, seen ${seen}: ${e.sentence}`;
        expect(e.kind, what).toBe('spike');
        expect(e.value, what).toBe(5000);
        expect(e.since, what).toBe(T0);
        expect(Math.abs(e.expected! - 620), what).toBeLessThan(20);
        expect(e.sentence, what).toMatch(/^esp-living\/co2 5000 ppm, expected 6\d\d ± \d+ at 09:00 \(spike\)$/);
      }
    }
  });

  it('a burst of noise is still a noise change: more readings off, or the readings around them as noisy', () => {
    // ± 120 ppm on ± 5 for 30 s (finding 11's burst), the detector's evidence the noise level.
    const calm = ppm(T0 - 300 * SEC, 300, () => 600 + 5 * g());
    const burst = ppm(T0, 30, () => 600 + 120 * g());
    expect(explain({ stream: 'esp-living/co2', unit: 'ppm', before: calm, during: burst, startTs: T0, endTs: T0 + 29 * SEC, timeZone: UTC, seen: 'spread' }).kind).toBe('noise_change');
    // Three readings off only, but the readings between them four times as noisy as before: no spikes.
    const noisy = ppm(T0, 30, (i) => (i === 0 || i === 10 || i === 20 ? 900 : 600 + 20 * g()));
    expect(explain({ stream: 'esp-living/co2', unit: 'ppm', before: calm, during: noisy, startTs: T0, endTs: T0 + 29 * SEC, timeZone: UTC, seen: 'spread' }).kind).not.toBe('spike');
  });
});

describe('explain: with the model’s expectation', () => {
  it('finds the shift against what the model expected, and tells it against the level before the episode', () => {
    // A fast cycle the model follows; a flat baseline would call its normal swings outliers.
    const cycle = (i: number): number => 20 + 3 * Math.sin((2 * Math.PI * i) / 120);
    const g = noise(7);
    const before = series(T0 - 300 * SEC, 300, (i) => cycle(i - 300) + 0.1 * g());
    const during = series(T0, 120, (i) => cycle(i) + 0.1 * g() + (i >= 20 ? 1.5 : 0));
    const expected = during.ts.map((_, i) => cycle(i));
    const spread = during.ts.map(() => 0.1);
    const e = explain({ stream: 'pump/pressure', unit: 'bar', before, during: { ...during, expected, spread }, startTs: T0, endTs: T0 + 119 * SEC, timeZone: UTC });
    expect(e.kind).toBe('level_shift');
    // Its onset is where the readings left the model's expectation, not where they left a flat baseline.
    expect(e.since).toBe(T0 + 20 * SEC);
    // What is printed is the level before the episode (the median of the last readings before it), as for every
    // lasting kind: a real model's expectation follows a lasting fault (it is fed it), so during one it no
    // longer says what normal operation would give (tryout 9: a +1.0 shift told `expected 10.50`).
    expect(e.basis).toBe('baseline');
    expect(e.expected).toBeCloseTo(median(before.values.slice(-8)), 6);
    expect(e.sentence).toMatch(/^pump\/pressure \d+\.\d+ bar, expected \d+\.\d+ ± 0\.\d+ since 09:00 \(level shift\)$/);
    const flat = explain({ stream: 'pump/pressure', unit: 'bar', before, during, startTs: T0, endTs: T0 + 119 * SEC, timeZone: UTC });
    expect(flat.basis).toBe('baseline');
    expect(flat.kind).not.toBe('level_shift');
  });
});

describe('explain: a stuck value against the model’s expectation', () => {
  it('says the level before it froze, the same at every event, not what the model came to expect since', () => {
    // A motor current around 7.2 A that the model follows; from 09:00 the reading is stuck at 7.91, and the
    // model's expectation, fed the frozen value and its cycle, wanders from 7.2 down to 6.1 over two minutes.
    const g = noise(4);
    const before = series(T0 - 300 * SEC, 300, () => 7.2 + 0.05 * g());
    const withModel = { ...before, expected: before.values.map(() => 7.2), spread: before.values.map(() => 0.6) };
    const stuckFor = (n: number) => {
      const during = series(T0, n, () => 7.91);
      const expected = during.ts.map((_, i) => 7.2 - (1.1 * i) / 120);
      return explain({ stream: 'motor_current', before: withModel, during: { ...during, expected, spread: during.ts.map(() => 0.6) }, startTs: T0, endTs: T0 + (n - 1) * SEC, timeZone: UTC });
    };
    const opened = stuckFor(50);
    const resolved = stuckFor(121);
    expect(opened.kind).toBe('stuck');
    expect(resolved.kind).toBe('stuck');
    expect(resolved.expected).toBe(opened.expected);
    // The level before (7.2 ± 2 × its 0.05 noise), not the model's expectation at the frozen readings (7.17 and down).
    expect(opened.basis).toBe('baseline');
    expect(opened.expected!).toBeCloseTo(median(before.values.slice(-8)), 6);
    expect(opened.sentence).toMatch(/^motor_current 7\.91 unchanged for 49 s, expected 7\.2\d ± 0\.1\d since 09:00 \(stuck value\)$/);
    expect(resolved.sentence).toMatch(/^motor_current 7\.91 unchanged for 2 min, expected 7\.2\d ± 0\.1\d since 09:00 \(stuck value\)$/);
  });
});

describe('explainEpisode: channels and the stretch', () => {
  it('names the channel with the largest share and gives every share', () => {
    const g = noise(3);
    const point = (ts: number, i: number, fault: boolean) => ({ ts, values: [20 + 0.1 * g(), 50 + g() + (fault && i >= 5 ? 10 : 0)], expected: null, spread: null });
    const before = Array.from({ length: 100 }, (_, i) => point(T0 - (100 - i) * SEC, i, false));
    const during = Array.from({ length: 200 }, (_, i) => point(T0 + i * SEC, i, true));
    const e = explainEpisode({ stream: 'bme', channels: ['temp', 'hum'], before, during, channelErrors: [0.5, 4.5], startTs: T0, endTs: T0 + 199 * SEC, timeZone: UTC });
    expect(e.channel).toBe('hum');
    expect(e.shares).toEqual([{ name: 'temp', share: 0.1 }, { name: 'hum', share: 0.9 }]);
    expect(e.kind).toBe('level_shift');
    expect(e.sentence).toMatch(/^bme hum [56]\d\.\d+, expected 5\d\.\d+ ± \d\.\d+ since 09:00 \(level shift\)$/);
    // The stretch is thinned for messages, ends included, the shift visible.
    expect(e.stretch.values.length).toBeLessThanOrEqual(62);
    expect(e.stretch.ts[0]).toBe(T0);
    expect(e.stretch.ts.at(-1)).toBe(T0 + 199 * SEC);
    expect(Math.max(...e.stretch.values)).toBeGreaterThan(58);
  });

  it('one channel: no shares, the channel is the stream itself', () => {
    const during = [{ ts: T0, values: [1], expected: [1], spread: [0.1] }];
    const e = explainEpisode({ stream: 'x', channels: ['value'], before: [], during, startTs: T0, endTs: T0, timeZone: UTC });
    expect(e.shares).toBeNull();
    expect(e.channel).toBe('value');
    expect(e.stretch.expected).toEqual([1]);
  });
});

describe('namedKind: the kind the evidence at the peak names', () => {
  it('is the strongest evidence\'s kind, else that of evidence naming a kind that reached the threshold on its own', () => {
    expect(namedKind({ spread: 7, rarity: 3 })).toBe('noise_change');
    expect(namedKind({ stuck: 9, spread: 6 })).toBe('stuck');
    // A burst of noise whose values were also rarely seen, a little more so (the demo's motor current).
    expect(namedKind({ rarity: 5.9, spread: 5.7, change: 1.2 }, 5)).toBe('noise_change');
    expect(namedKind({ rarity: 5.9, spread: 5.7, change: 1.2 }, 6)).toBeNull();
    expect(namedKind({ rarity: 5.9, spread: 5.7, change: 1.2 })).toBeNull();
    expect(namedKind({ change: 12, level: 8 }, 5)).toBeNull();
    expect(namedKind(null, 5)).toBeNull();
  });

  it('a noise burst opened on its values rarely seen is told a noise change from the open when its noise reached the threshold too', () => {
    const g = noise(13);
    const point = (ts: number, v: number) => ({ ts, values: [v], expected: [20], spread: [1.5] });
    const before = Array.from({ length: 300 }, (_, i) => point(T0 - (300 - i) * SEC, 20 + (i >= 290 ? 2 : 0.1) * g()));
    const input = { stream: 'temp', channels: ['value'], unit: '°C', before, during: [point(T0, 20.4)], startTs: T0, endTs: T0, timeZone: UTC };
    const evidence = { rarity: 5.9, spread: 5.7, change: 1.2 };
    const told = explainEpisode({ ...input, evidence, threshold: 5 });
    expect(told.kind).toBe('noise_change');
    expect(told.sentence).toMatch(/^temp varies ± \d\.\d+ °C, usually ± 0\.\d+ since 08:59 \(noise change\)$/);
    // Below the threshold on its own, the strongest evidence is what the sentence names.
    expect(explainEpisode({ ...input, evidence, threshold: 6 }).sentence).toMatch(/\(values rarely seen\)$/);
  });
});

describe('formatting', () => {
  it('the words of a sentence follow its kind: a kind\'s words only with that kind, never for evidence alone', () => {
    expect(Object.keys(EVIDENCE_KINDS).sort()).toEqual(['spread', 'stuck']);
    // No kind of evidence is written in a kind's words, not even one that names a kind (its sentence's kind is null).
    const kindWords = new Set(Object.values(KIND_LABELS));
    for (const words of Object.values(EVIDENCE_LABELS)) expect(kindWords.has(words)).toBe(false);
    for (const kind of Object.keys(KIND_LABELS) as (keyof typeof KIND_LABELS)[]) expect(toldAs(kind, 'spread')).toBe(KIND_LABELS[kind]);
    expect(toldAs(null, 'spread')).toBe('unusual noise level');
    expect(toldAs(null, 'stuck')).toBe('unusual repeats of one value');
    // The residual's short mean (bias) is also what one far-off reading opens with: no "for a while" (tryout 14 #9:
    // `apower 2900 W, expected 446 ± 20 since 02:29 (off the model’s expectation for a while)` for one reading).
    expect(toldAs(null, 'bias')).toBe('recent readings off the model’s expectation on average');
    for (const words of Object.values(EVIDENCE_LABELS)) expect(words).not.toMatch(/for a while/);
    expect(toldAs(null, null)).toBeNull();
    expect(toldAs(null, 'nonsense')).toBeNull();
  });

  it('writes numbers to the precision of the band', () => {
    expect(decimalsFor(0.2, 2.3)).toBe(1);
    expect(decimalsFor(0.15, 2.3)).toBe(2);
    expect(decimalsFor(5, 100)).toBe(0);
    expect(decimalsFor(null, 1234)).toBe(0);
    expect(decimalsFor(null, 0.0123)).toBe(4);
    expect(formatNumber(-0.04, 1)).toBe('0.0');
    expect(formatNumber(-1.26, 1)).toBe('−1.3');
  });

  it('writes durations and clock times people read', () => {
    expect(formatDuration(40_000)).toBe('40 s');
    expect(formatDuration(25 * 60_000)).toBe('25 min');
    expect(formatDuration(3 * 3_600_000)).toBe('3 h');
    expect(formatDuration(60 * 3_600_000)).toBe('2.5 d');
    // One rule, to the nearest (tryout 28, finding 12): a 2 min 31 s silence is 3 min, 3 min 29 s is 3 min, as LASTED and the page.
    expect(formatDuration(151_000)).toBe('3 min');
    expect(formatDuration(149_000)).toBe('2 min');
    expect(formatDuration(209_000)).toBe('3 min');
    expect(formatDuration(89_400)).toBe('89 s');
    expect(formatDuration(0)).toBe('0 s');
    expect(clockTime(Date.UTC(2026, 0, 12, 10, 42), Date.UTC(2026, 0, 12, 11, 0), 'UTC')).toBe('10:42');
    expect(clockTime(Date.UTC(2026, 0, 12, 10, 42), Date.UTC(2026, 0, 12, 11, 0), 'Europe/Berlin')).toBe('11:42');
    expect(clockTime(Date.UTC(2026, 0, 11, 23, 5), Date.UTC(2026, 0, 12, 1, 0), 'UTC')).toBe('2026-01-11 23:05');
  });

  it('tells clock times in the host zone as it is at each call (its formatter is kept per zone, the host zone keyed by TZ)', () => {
    const saved = process.env.TZ;
    const t = Date.UTC(2026, 0, 12, 10, 42);
    try {
      process.env.TZ = 'UTC';
      expect(clockTime(t, t)).toBe('10:42');
      process.env.TZ = 'Asia/Kolkata';
      expect(clockTime(t, t)).toBe('16:12');
      process.env.TZ = 'UTC';
      expect(clockTime(t, t)).toBe('10:42');
      expect(clockTime(t, t, 'Europe/Berlin')).toBe('11:42');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

// ---- field cases (../shared/cases/README.md, "Signals" and "Time and sampling") ----

const CASES = resolve('../shared/cases');

function readCase(name: string): { ts: number[]; values: number[] } | null {
  const file = resolve(CASES, name);
  if (!existsSync(file)) return null;
  const ts: number[] = [];
  const values: number[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
    const [t, v] = line.split(',');
    if (t === undefined || v === undefined || t === '') continue;
    ts.push(Number(t));
    values.push(Number(v));
  }
  return { ts, values };
}

function slice(s: { ts: number[]; values: number[] }, from: number, to: number): Stretch {
  return { ts: s.ts.slice(from, to), values: s.values.slice(from, to) };
}

/** The episode [from, to) of a case as the detector would hand it over: `lead` normal readings first (a window starts early), 300 before. */
function caseEpisode(s: { ts: number[]; values: number[] }, stream: string, from: number, to: number, lead = 16) {
  const start = from - lead;
  return {
    stream,
    unit: '°C',
    before: slice(s, Math.max(0, start - 300), start),
    during: slice(s, start, to),
    startTs: s.ts[start],
    endTs: s.ts[to - 1],
    timeZone: UTC,
  };
}

const ds18b20 = readCase('ds18b20-stuck-85.csv');
const frozen = readCase('frozen-noisy-metric.csv');
const reportOnChange = readCase('report-on-change.csv');
const slowExact = readCase('slow-300s-exact.csv');
const slowJitter = readCase('slow-300s-jitter.csv');

describe.skipIf(ds18b20 === null)('field case ds18b20-stuck-85.csv', () => {
  const s = ds18b20!;
  it('each -127 reading is a spike', () => {
    const at = s.values.flatMap((v, i) => (v === -127 ? [i] : []));
    expect(at.length).toBe(2);
    for (const i of at) {
      const e = explain(caseEpisode(s, 'probe', i, i + 20));
      expect(e.kind).toBe('spike');
      expect(e.value).toBe(-127);
      expect(e.since).toBe(s.ts[i]);
      expect(e.sentence).toMatch(/^probe −127\.0+ °C, expected 1\d\.\d+ ± 0\.\d+ at \d\d:\d\d \(spike\)$/);
    }
  });

  it('three hours at exactly 85.0 is a stuck value, also when only the latest readings are at hand', () => {
    const first = s.values.indexOf(85);
    let last = first;
    while (s.values[last + 1] === 85) last++;
    expect(last - first + 1).toBe(1080);
    const e = explain(caseEpisode(s, 'probe', first, last + 1));
    expect(e.kind).toBe('stuck');
    expect(e.value).toBe(85);
    expect(e.since).toBe(s.ts[first]);
    expect(e.durationMs).toBe(s.ts[last] - s.ts[first]);
    expect(e.sentence).toMatch(/^probe 85\.0+ °C unchanged for 3 h, expected 1\d\.\d+ ± 0\.\d+ since \d\d:\d\d \(stuck value\)$/);
    // A long episode: the explainer sees the baseline kept from the start and the newest 500 readings.
    const head = slice(s, first - 16, first + 10);
    const tail = slice(s, last - 499, last + 1);
    const during = { ts: [...head.ts, ...tail.ts], values: [...head.values, ...tail.values] };
    const long = explain({ ...caseEpisode(s, 'probe', first, last + 1), during, omittedBefore: [tail.ts[0]] });
    expect(long.kind).toBe('stuck');
    expect(long.durationMs).toBe(s.ts[last] - s.ts[first]);
    // Without saying what was left out, the hole looks like a silence of the sensor.
    expect(explain({ ...caseEpisode(s, 'probe', first, last + 1), during }).kind).toBe('missing_data');
  });
});

describe.skipIf(frozen === null)('field case frozen-noisy-metric.csv', () => {
  it('a noisy metric that stops moving is a stuck value', () => {
    const s = frozen!;
    const run = longestRun(s.values);
    const first = run.start;
    const last = run.start + run.length - 1;
    expect(last - first + 1).toBeGreaterThan(20_000);
    const e = explain(caseEpisode(s, 'metric', first, first + 1800));
    expect(e.kind).toBe('stuck');
    expect(e.value).toBe(s.values[first]);
    expect(e.sentence).toMatch(/^metric 53\.899 °C unchanged for 30 min since \d\d:\d\d, never longer than \d+ s before \(stuck value\)$/);
    // The return of normal noise after the freeze, measured against the noisy normal before, is nothing special.
    const after = explain({ ...caseEpisode(s, 'metric', last + 1, last + 200, 0), before: slice(s, first - 300, first), omittedBefore: [s.ts[last + 1]] });
    expect(after.kind).toBeNull();
  });
});

describe.skipIf(reportOnChange === null)('field case report-on-change.csv', () => {
  it('+4 °C from 10:00 to 16:00 on day 25 of a report-on-change sensor is a level shift', () => {
    const s = reportOnChange!;
    const day25 = s.ts[0] + 25 * 86_400_000;
    const from = s.ts.findIndex((t) => t >= day25 + 10 * 3_600_000);
    const to = s.ts.findIndex((t) => t >= day25 + 16 * 3_600_000);
    const e = explain(caseEpisode(s, 'room', from, to, 0));
    expect(e.kind).toBe('level_shift');
    expect(e.since).toBe(day25 + 10 * 3_600_000);
    expect(e.value! - e.expected!).toBeGreaterThan(1.5);
    expect(e.sentence).toMatch(/^room 2[34]\.\d+ °C, expected 2[12]\.\d+ ± 0\.\d+ since 10:00 \(level shift\)$/);
    // Its silences (up to 50 min between reports) are not missing data.
    expect(e.kind).not.toBe('missing_data');
  });
});

describe.skipIf(slowExact === null || slowJitter === null)('field cases slow-300s-*.csv', () => {
  it('rows 1500-1559 (+4 °C, one reading every 300 s) are a level shift, with or without jitter, in the same words', () => {
    const exact = explain(caseEpisode(slowExact!, 'room', 1500, 1560, 4));
    const jitter = explain(caseEpisode(slowJitter!, 'room', 1500, 1560, 4));
    for (const e of [exact, jitter]) {
      expect(e.kind).toBe('level_shift');
      expect(e.value! - e.expected!).toBeGreaterThan(3);
      expect(e.value! - e.expected!).toBeLessThan(5);
    }
    expect(exact.since).toBe(slowExact!.ts[1500]);
    expect(Math.abs(jitter.since - slowJitter!.ts[1500])).toBeLessThan(2000);
    // Jitter of up to 1.5 s does not change what is said, only the digits of the readings.
    const shape = (t: string): string => t.replace(/\d+\.\d+/g, 'N').replace(/\d\d:\d\d/g, 'HH:MM');
    expect(shape(jitter.sentence)).toBe(shape(exact.sentence));
  });
});

describe('episodeExplanation: one explanation per episode', () => {
  const ex = (kind: AlertExplanation['kind'], value: number, sentence = `s ${value}`): AlertExplanation => ({ kind, sentence, value, expected: 20, band: 0.2 }) as AlertExplanation;
  it('takes a told kind, never goes back to none, and keeps the strongest reading while none is told', () => {
    const opened = ex(null, 30);
    expect(episodeExplanation(null, opened)).toBe(opened);
    expect(episodeExplanation(opened, null)).toBe(opened);
    // Neither tells a kind: the reading further from what was expected stays.
    expect(episodeExplanation(opened, ex(null, 21.2))).toBe(opened);
    const stronger = ex(null, 35);
    expect(episodeExplanation(opened, stronger)).toBe(stronger);
    // A kind told wins (the latest told kind); a later one without a kind does not undo it.
    const spike = ex('spike', 30);
    expect(episodeExplanation(opened, spike)).toBe(spike);
    expect(episodeExplanation(spike, ex(null, 35))).toBe(spike);
    const shift = ex('level_shift', 25);
    expect(episodeExplanation(spike, shift)).toBe(shift);
  });

  it('keeps the kind that carried the episode\'s peak: at the same peak, another kind does not replace it', () => {
    const noisy = ex('noise_change', 20);
    const drift = ex('drift', 19.3);
    // The peak the noise change was told at is still the episode's: its later readings are no drift.
    expect(episodeExplanation(noisy, drift, true)).toBe(noisy);
    // The same kind, rebuilt (its figures grow as the episode goes on), is taken.
    const noisier = ex('noise_change', 20.1);
    expect(episodeExplanation(noisy, noisier, true)).toBe(noisier);
    // A kind told where none was, and any kind at a new peak, are taken.
    expect(episodeExplanation(ex(null, 30), drift, true)).toBe(drift);
    expect(episodeExplanation(noisy, drift, false)).toBe(drift);
  });
});

describe('a level shift the shipped model followed within 2 readings, whose later events the detector saw as values rarely seen', () => {
  // Tryout 10, finding 4 (tools/shift-repro.sh: 10 ± 0.1, seed 25, then +1.0 for 200 readings, seed 45): the
  // daemon's own input to the explainer at the episode's update at 22 readings (the shipped GRU's expectation and
  // spread for every reading, the detector's evidence at the peak). Against the model only the first 2 readings
  // were beyond 4 spreads (it expected 10.61 and 10.70 for the third and fourth), so the shift was a jump not told
  // yet; against the level before it held, but the evidence's strongest was `rarity` by then (30 against 21 for
  // the bias), and a shift off the level before was never tried with rarity: every event said "(off the model's
  // prediction)", kind null, for the whole 200 readings (5 of 5 runs of this data set).
  type P = [number, number, number, number];
  const fx = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures', 'shift-followed.json'), 'utf8')) as {
    startTs: number;
    endTs: number;
    evidence: Record<string, number>;
    before: P[];
    during: P[];
  };
  const points = (ps: P[]) => ps.map(([ts, v, e, s]) => ({ ts, values: [v], expected: [e], spread: [s] }));

  it('is told a level shift against the level before', () => {
    const e = explainEpisode({ stream: 'rep5x', channels: ['value'], before: points(fx.before), during: points(fx.during), startTs: fx.startTs, endTs: fx.endTs, timeZone: UTC, evidence: fx.evidence });
    expect(e.kind).toBe('level_shift');
    expect(e.basis).toBe('baseline');
    expect(Math.abs(e.expected! - 10)).toBeLessThan(0.1);
    expect(e.value! - e.expected!).toBeGreaterThan(0.9);
    expect(e.sentence).toMatch(/ \(level shift\)$/);
  });
});
