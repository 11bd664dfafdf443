/**
 * A sentence never gives as its reason a band that holds its own value (tryout 23, finding 3: a plug switched off
 * was told `plug/current 0.00 A, expected 0.02 ± 0.05 since 04:11 (off the usual cycle)`), and every number of a
 * reading is written with the stream's own precision, the decimals the device sends (finding 4: `last 21.1 °C` after
 * a reading of 21.14). Over the kinds: a duty cycle's phase, a value stuck inside the range, a kind not told whose
 * value the model's band holds, a silence.
 */
import { describe, expect, it } from 'vitest';
import { explain, type ExplainInput, type Stretch } from '../../src/explain/explain.js';

const T0 = Date.UTC(2026, 11, 3, 4, 11, 59);
const SEC = 1000;
const UTC = 'UTC';

/** The value, expectation and band a sentence states (`V unit, expected E ± B`), or null when it states no band. */
function statedBand(sentence: string): { value: number; expected: number; band: number } | null {
  const m = /^\S+(?: \S+)? (−?\d+(?:\.\d+)?)\b.*?, expected (−?\d+(?:\.\d+)?) ± (\d+(?:\.\d+)?)/.exec(sentence);
  if (m === null) return null;
  const n = (s: string): number => Number(s.replace('−', '-'));
  return { value: n(m[1]), expected: n(m[2]), band: n(m[3]) };
}

/** True when the sentence names a band and its own (printed) value lies inside it: the kind of sentence finding 3 is. */
function valueInsideItsBand(sentence: string): boolean {
  const b = statedBand(sentence);
  return b !== null && Math.abs(b.value - b.expected) <= b.band + 1e-12;
}

/**
 * A plug's current at 1 Hz, as tryout 23's publisher sent it: 30 s on (0.35 or 0.34 A) and 60 s on standby (0.01 A),
 * `n` readings ending just before `end`, with the model's expectation (a blend of the two levels, as a GRU gives) and
 * spread around it.
 */
function plug(end: number, n: number, phase0: number): Stretch {
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    ts.push(end - (n - i) * SEC);
    const ph = (phase0 + i) % 90;
    values.push(ph < 30 ? (i % 3 === 0 ? 0.34 : 0.35) : 0.01);
  }
  return { ts, values, expected: values.map((v) => v), spread: values.map(() => 0.025) };
}

describe('a sentence never gives a band that holds its value as the reason (tryout 23, finding 3)', () => {
  it('a plug switched off on standby, its cycle expecting 0.01 A: told what its cycle expected at this phase, not `expected 0.02 ± 0.05`', () => {
    // 600 readings before; the last 11 already 0 (the plug switched off at 04:11:48, the open at 04:11:59).
    const before = plug(T0, 600, 0);
    const b = { ...before, values: before.values.map((v, i) => (i >= 589 ? 0 : v)) };
    // The publisher's phase at 04:11:59: standby (the on phase starts at 04:12:18).
    const phaseNow = 600 % 90;
    expect(phaseNow >= 30).toBe(true);
    const input: ExplainInput = {
      stream: 'plug/current',
      unit: 'A',
      before: b,
      during: { ts: [T0], values: [0], expected: [0.01518207], spread: [0.025] },
      startTs: T0,
      endTs: T0,
      timeZone: UTC,
      seen: 'cycle',
    };
    const e = explain(input);
    expect(e.kind).toBeNull();
    expect(valueInsideItsBand(e.sentence), e.sentence).toBe(false);
    expect(e.sentence).toBe('plug/current 0.00 A since 04:11, usually 0.01 A at this point of its cycle (off the usual cycle)');
  });

  it('the same plug switched off in its on phase: usually 0.35 A at this point of its cycle', () => {
    const before = plug(T0, 600, 65); // at T0 the phase is (65 + 600) % 90 = 35 … the on phase begins 55 readings later
    const onAt = before.ts[before.ts.length - 1] + SEC * (90 - ((65 + 599) % 90));
    const b = plug(onAt + 5 * SEC, 600, (90 - 600 % 90) % 90); // ends 5 readings into an on phase
    const last = b.ts[b.ts.length - 1];
    const e = explain({
      stream: 'plug/current',
      unit: 'A',
      before: b,
      during: { ts: [last + SEC, last + 2 * SEC], values: [0, 0], expected: [0.2, 0.15], spread: [0.12, 0.12] },
      startTs: last + SEC,
      endTs: last + 2 * SEC,
      timeZone: UTC,
      seen: 'cycle',
    });
    expect(valueInsideItsBand(e.sentence), e.sentence).toBe(false);
    expect(e.sentence).toMatch(/^plug\/current 0\.00 A since \d\d:\d\d, usually 0\.3[45] A at this point of its cycle \(off the usual cycle\)$/);
  });

  it('a value stuck inside the range: how long it stays unchanged against the longest the stream stayed so before, not `expected 0.01 ± 0.01`', () => {
    // The tryout's update: 0.00 A unchanged for 2 min, the standby's 0.01 held 60 s at most before.
    const before = plug(T0 - 11 * SEC, 600, 0);
    const n = 125;
    const during = { ts: Array.from({ length: n }, (_, i) => T0 - 11 * SEC + i * SEC), values: new Array<number>(n).fill(0) };
    const e = explain({ stream: 'plug/current', unit: 'A', before, during, startTs: T0, endTs: during.ts[n - 1], timeZone: UTC, seen: 'stuck' });
    expect(e.kind).toBe('stuck');
    expect(valueInsideItsBand(e.sentence), e.sentence).toBe(false);
    expect(e.sentence).toMatch(/^plug\/current 0\.00 A unchanged for 2 min since 04:11, never longer than (59|60) s before \(stuck value\)$/);
  });

  it('a kind not told whose value the model’s band holds, with no cycle: says the value is within its normal range, names what was seen', () => {
    // 20 ± 0.1, the model's band wide (± 0.8): a reading of 20.3 the detector's accumulated evidence flagged.
    const ts = Array.from({ length: 300 }, (_, i) => T0 - (300 - i) * SEC);
    const values = ts.map((_, i) => Math.round((20 + 0.1 * Math.sin(i * 1.7) * Math.cos(i * 0.37)) * 100) / 100);
    const e = explain({
      stream: 'temp',
      unit: '°C',
      before: { ts, values, expected: values.map(() => 20), spread: values.map(() => 0.4) },
      during: { ts: [T0, T0 + SEC], values: [20.05, 20.08], expected: [20.0, 20.0], spread: [0.4, 0.4] },
      startTs: T0,
      endTs: T0 + SEC,
      timeZone: UTC,
      seen: 'bias',
    });
    expect(e.kind).toBeNull();
    expect(valueInsideItsBand(e.sentence), e.sentence).toBe(false);
    expect(e.sentence).toMatch(/^temp 20\.0[58] °C since 04:11, within its normal range \(recent readings off the model’s expectation on average\)$/);
  });

  it('a sentence whose value is outside its band keeps the band (a level shift, a spike)', () => {
    const ts = Array.from({ length: 300 }, (_, i) => T0 - (300 - i) * SEC);
    const values = ts.map((_, i) => Math.round((21.4 + 0.02 * Math.sin(i * 1.7)) * 100) / 100);
    const during = { ts: Array.from({ length: 30 }, (_, i) => T0 + i * SEC), values: Array.from({ length: 30 }, (_, i) => Math.round((27.4 + 0.02 * Math.sin(i)) * 100) / 100) };
    const e = explain({ stream: 'living_temp', unit: '°C', before: { ts, values }, during, startTs: T0, endTs: T0 + 29 * SEC, timeZone: UTC });
    expect(e.kind).toBe('level_shift');
    expect(e.sentence).toMatch(/^living_temp 27\.\d\d °C, expected 21\.\d\d ± 0\.\d+ since 04:11 \(level shift\)$/);
  });
});

describe('every reading in a sentence is written with the stream’s own precision (tryout 23, finding 4)', () => {
  it('the last reading before a silence keeps the decimals the device sent: `last 21.14 °C`, not `last 21.1 °C`', () => {
    const ts = Array.from({ length: 300 }, (_, i) => T0 - (300 - i) * 2 * SEC);
    const values = ts.map((_, i) => Math.round((21.3 + 0.15 * Math.sin(i / 40) + 0.02 * Math.cos(i * 2.1)) * 100) / 100);
    values[299] = 21.14;
    const e = explain({ stream: 'living_temp', unit: '°C', before: { ts, values }, during: { ts: [], values: [] }, startTs: T0 + 43 * SEC, endTs: T0 + 43 * SEC, timeZone: UTC });
    expect(e.kind).toBe('missing_data');
    expect(e.sentence).toBe('living_temp no reading for 45 s since 04:11, last 21.14 °C (missing data)');
    // A whole number the device sent with two decimals elsewhere is written with them too (`21.10`, not `21.1`).
    const v2 = [...values];
    v2[299] = 21.1;
    expect(explain({ stream: 'living_temp', unit: '°C', before: { ts, values: v2 }, during: { ts: [], values: [] }, startTs: T0 + 43 * SEC, endTs: T0 + 43 * SEC, timeZone: UTC }).sentence).toContain('last 21.10 °C');
  });

  it('a reading and its expectation are written with the device’s decimals even where the band is wide (`80.3 W`, not `80 W`)', () => {
    // A plug's power, one decimal: 80 ± 6 W, then 120.4 W held.
    const ts = Array.from({ length: 300 }, (_, i) => T0 - (300 - i) * SEC);
    const values = ts.map((_, i) => Math.round((80 + 3 * Math.sin(i * 1.3) * Math.cos(i * 0.7)) * 10) / 10);
    const during = { ts: Array.from({ length: 20 }, (_, i) => T0 + i * SEC), values: Array.from({ length: 20 }, (_, i) => Math.round((120.4 + 2 * Math.sin(i * 1.1)) * 10) / 10) };
    const e = explain({ stream: 'plug/power', unit: 'W', before: { ts, values }, during, startTs: T0, endTs: T0 + 19 * SEC, timeZone: UTC });
    const numbers = e.sentence.replace(/\d\d:\d\d/g, '').match(/\d+(?:\.\d+)?/g) ?? [];
    expect(numbers.length, e.sentence).toBeGreaterThanOrEqual(2);
    // The value and the expectation: one decimal each, as the device sends.
    for (const n of numbers.slice(0, 2)) expect(n, e.sentence).toMatch(/^\d+\.\d$/);
  });
});
