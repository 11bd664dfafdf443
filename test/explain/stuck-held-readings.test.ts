/**
 * Tryout 31, finding 3: a stuck value told at its first few readings, which came within half a second (a sensor's
 * buffered lines stamped on arrival), read `live1 85.00 unchanged for 0 s, expected 20.28 ± 0.13 since 17:56 (stuck
 * value)`: its held duration, from its first reading of the value to its latest, rounds to 0 s. A duration of 0 s is
 * never said: such a run is told in readings (`unchanged for 4 readings`); a longer one as before, in time.
 */
import { describe, expect, it } from 'vitest';
import { explain } from '../../src/explain/explain.js';

const T0 = Date.UTC(2026, 11, 4, 17, 56, 56);
const SEC = 1000;

/** 300 readings of 20.28 ± 0.04 at 1 s before T0, then 85.00 at T0 + each of `at` (ms). */
function frozenAt(at: readonly number[]) {
  let a = 7;
  const g = (): number => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648 - 0.5;
  };
  const before = { ts: Array.from({ length: 300 }, (_, i) => T0 - (300 - i) * SEC), values: Array.from({ length: 300 }, () => Math.round((20.28 + 0.08 * g()) * 100) / 100) };
  const during = { ts: at.map((t) => T0 + t), values: at.map(() => 85) };
  return explain({ stream: 'live1', before, during, startTs: T0, endTs: T0 + at[at.length - 1], timeZone: 'UTC', seen: 'stuck' });
}

describe('a stuck value held less than half a second', () => {
  it('is told in readings, never `for 0 s`', () => {
    const e = frozenAt([0, 3, 4, 483]);
    expect(e.kind).toBe('stuck');
    expect(e.durationMs).toBe(483);
    expect(e.sentence).not.toContain('0 s');
    expect(e.sentence).toMatch(/^live1 85\.00 unchanged for 4 readings, expected 20\.\d\d ± 0\.\d\d since 17:56 \(stuck value\)$/);
  });

  it('held a second or more: told in time, as before', () => {
    const e = frozenAt([0, 1000, 2000, 3000, 4000]);
    expect(e.kind).toBe('stuck');
    expect(e.sentence).toMatch(/^live1 85\.00 unchanged for 4 s, expected 20\.\d\d ± 0\.\d\d since 17:56 \(stuck value\)$/);
  });
});
