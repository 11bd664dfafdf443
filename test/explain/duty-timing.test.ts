/**
 * A duty cycle off its usual timing is told as that: how long its state has lasted against how long it usually does,
 * or how short the state before it was (tryout 37, finding 5: `plug2/ENERGY.Current 0.002 A since 07:51, within its
 * normal range (off the usual cycle)` gave the operator nothing to act on). src/explain/explain.ts dutyTiming.
 */
import { describe, expect, it } from 'vitest';
import { explain, type ExplainInput, type Stretch } from '../../src/explain/explain.js';

const SEC = 1000;
const MIN = 60 * SEC;
const T0 = Date.UTC(2026, 11, 5, 7, 0, 0);

/**
 * A fridge plug's power read every `stepMs` from T0 for `n` readings: on (80 W, ± 2 by a fixed pattern, a 40 W surge at
 * its first reading) for `onMs` then off (0 or 1 W in turn) for `offMs`, repeating; `until(t)` may hold it off.
 */
function fridge(n: number, stepMs: number, onMs: number, offMs: number, heldOffFrom = Infinity): Stretch {
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = i * stepMs;
    const ph = t % (onMs + offMs);
    const on = ph < onMs && t < heldOffFrom;
    ts.push(T0 + t);
    values.push(on ? 80 + ((i * 7) % 5) - 2 + (ph < stepMs ? 40 : 0) : i % 2);
  }
  return { ts, values, expected: null, spread: null };
}

/** The stretch's last `k` readings as `during`, the rest as `before`, told as the detector's cycle saw them. */
function split(s: Stretch, k: number, sentDecimals = 0): ExplainInput {
  const n = s.values.length;
  return {
    stream: 'plug/ENERGY.Power',
    unit: 'W',
    before: { ts: s.ts.slice(0, n - k), values: s.values.slice(0, n - k), expected: null, spread: null },
    during: { ts: s.ts.slice(n - k), values: s.values.slice(n - k), expected: s.values.slice(n - k).map(() => 40), spread: s.values.slice(n - k).map(() => 30) },
    startTs: s.ts[n - k],
    endTs: s.ts[n - 1],
    timeZone: 'UTC',
    seen: 'cycle',
    sentDecimals,
  };
}

describe('a duty cycle off its usual timing (tryout 37, finding 5)', () => {
  it('read every minute, 15 min on and 30 min off, left off for 42 min: how long it has been off, against its usual 30 min', () => {
    // 7 cycles (5 h 15 min), then off from the 8th cycle's start for 42 min.
    const from = 7 * 45 * MIN;
    const s = fridge(from / MIN + 42, MIN, 15 * MIN, 30 * MIN, from);
    // The episode: its last 12 readings (opened once the off state outlasted the slack).
    const e = explain(split(s, 12));
    expect(e.kind).toBeNull();
    // Off since the 7th cycle's on phase ended (07:00 + 6 × 45 min + 15 min = 11:45), its last reading at 12:56; the
    // off state reads 0 and 1 W (told 0: one of its readings).
    expect(e.sentence).toBe('plug/ENERGY.Power 0 W for 71 min since 11:45, usually 30 min ± 60 s (off the usual cycle)');
  });

  it('read every 10 s with 600 readings before (100 min, one off phase seen): the one seen, told as such', () => {
    const from = 7 * 45 * MIN;
    const s = fridge((from + 42 * MIN) / (10 * SEC), 10 * SEC, 15 * MIN, 30 * MIN, from);
    const n = s.values.length;
    // The episode opened at 12:20 (35 min off), its 600 normal readings before from 10:40 (one off phase, 11:00 to 11:30);
    // its last reading at 12:56:50 (71 min 50 s off).
    const k = 216;
    const input = split({ ts: s.ts.slice(n - 600 - k), values: s.values.slice(n - 600 - k), expected: null, spread: null }, k);
    expect(explain(input).sentence).toBe('plug/ENERGY.Power 0 W for 72 min since 11:45, 30 min the time before (off the usual cycle)');
  });

  it('an on phase cut short (5 min of its 15): told as the state before it, shorter than usual', () => {
    // 6 cycles, then on for 5 min only, off since.
    const from = 6 * 45 * MIN;
    const s = fridge(from / MIN + 12, MIN, 15 * MIN, 30 * MIN, from + 5 * MIN);
    const e = explain(split(s, 5));
    // Its levels are readings of its states (the low median of each: 1 of the off state's 0s and 1s since, 81 W on).
    expect(e.sentence).toBe('plug/ENERGY.Power 1 W since 11:35, after 81 W for only 5 min, usually 15 min ± 60 s (off the usual cycle)');
  });

  it('a cycle on time whose level is off (on at 60 W of its 80): no timing, the sentence as before', () => {
    const s = fridge(6 * 45 + 10, MIN, 15 * MIN, 30 * MIN);
    const low = { ...s, values: s.values.map((v, i) => (i >= 6 * 45 && v > 50 ? v - 20 : v)) };
    const e = explain(split(low, 10));
    expect(e.sentence).not.toMatch(/usually \d+ min|the time before|for only/);
    expect(e.sentence).toMatch(/\(off the usual cycle\)$/);
  });

  it('a smooth cycle (a sine) is no duty cycle: no timing', () => {
    const ts: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < 700; i++) {
      ts.push(T0 + i * MIN);
      values.push(20 + 2 * Math.sin((2 * Math.PI * i) / 90) + (i >= 690 ? 3 : 0));
    }
    const e = explain({ ...split({ ts, values, expected: null, spread: null }, 10, 2), stream: 'room/temperature', unit: '°C' });
    expect(e.sentence).not.toMatch(/usually \d+ min|the time before|for only/);
  });
});
