/**
 * A value pinned far off its normal (a DS18B20's −127.00 when disconnected, its 85.0 power-on value, a 0 or a 65535
 * of a failed read, any value far off the normal range) for a run of identical readings is told as a stuck value at
 * that value, through the detector the daemon runs (the shipped configuration and GRU model, on this thread) and the
 * SignalBook that explains its episodes, by the daemon's alert rules (feedAlerts: each event, a reading far beyond
 * what was told, every open episode retold after each reading), on a 5-minute sensor with a daily cycle and a 2 s
 * flat one, for runs of 3 to 30 readings. Once told, no later alert (update, retold update, resolve, which is what the
 * episode's record keeps) tells another kind or another value.
 *
 * Tryout 27, finding 2: a −127.00 held 6 readings on a 5-minute sensor opened `−127.00, expected 13.94 ± 0.7 since
 * 03:00 (sudden change)`, its resolve retold it `varies ± 0.07, usually ± 0.18 since 03:00 (noise change)` (a constant
 * value's lower spread), and that sentence was its record. Finding 3: 85.0 held 12 readings at 5 min was never told a
 * kind; held 30 readings at 2 s (the live Tasmota DS18B20) it was told `level shift`.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedAlerts, shippedDetector, type Sent } from '../helpers/explained.js';
import { tryoutGauss } from '../helpers/tryout-random.js';


const T0 = Date.UTC(2026, 10, 23);
const FIVE_MIN = 300_000;
const TWO_S = 2_000;

/**
 * A sensor's readings (2 decimals): every `stepMs`, `n` of them; cyclic: tryout 27's mkcsv.py (18 + 4 sin over a
 * day, ± 0.1), else a flat 18.3 ± 0.05 (its live DS18B20); `value` from reading `at` for `len` readings.
 */
function stream(stepMs: number, n: number, at: number, len: number, value: number, cyclic: boolean): { ts: number; value: number }[] {
  const g = tryoutGauss(7);
  const out: { ts: number; value: number }[] = [];
  for (let i = 0; i < n; i++) {
    const ts = T0 + i * stepMs;
    const h = (ts / 3_600_000) % 24;
    const v = cyclic ? 18 + 4 * Math.sin((2 * Math.PI * (h - 9)) / 24) + 0.1 * g() : 18.3 + 0.05 * g();
    out.push({ ts, value: i >= at && i < at + len ? value : Number(v.toFixed(2)) });
  }
  return out;
}

/** The alerts of the episode that holds reading `at` (its first alert's start within a reading of it). */
async function episodeAlerts(stepMs: number, n: number, at: number, len: number, value: number, cyclic: boolean): Promise<{ all: Sent[]; ep: Sent[] }> {
  const { det, book } = await shippedDetector();
  const all: Sent[] = [];
  await feedAlerts(det, book, 's', 'sensors/s', stream(stepMs, n, at, len, value, cyclic), all);
  const start = T0 + at * stepMs;
  const first = all.find((s) => s.ev.kind === 'open' && Math.abs(s.ev.startTs - start) <= stepMs);
  return { all, ep: first === undefined ? [] : all.filter((s) => s.ev.anomalyId === first.ev.anomalyId) };
}

/** −127.00, 85.00, 65535.00 as a sentence writes them (formatReading: a minus sign, 2 decimals here). */
function written(v: number): string {
  return `${v < 0 ? '−' : ''}${Math.abs(v).toFixed(2)}`;
}

/** Asserts the episode is one, told as the stuck value `value` from its first alert after the open on, its resolve included. */
function toldStuck(ep: readonly Sent[], value: number): void {
  expect(ep.length).toBeGreaterThan(1);
  expect(ep[0].ev.kind).toBe('open');
  // One reading cannot tell a run: the open tells no kind, or a stuck value, never another kind.
  expect([null, 'stuck']).toContain(ep[0].e?.kind ?? null);
  expect(ep[0].e?.value).toBe(value);
  for (const s of ep.slice(1)) {
    expect({ kind: s.e?.kind, value: s.e?.value }, `${s.ev.kind} (${s.by}): ${s.e?.sentence}`).toEqual({ kind: 'stuck', value });
    expect(s.e?.sentence).toContain(`s ${written(value)} unchanged for `);
    expect(s.e?.sentence).toMatch(/\(stuck value\)$/);
  }
  const resolve = ep[ep.length - 1];
  expect(resolve.ev.kind).toBe('resolve');
}

describe.skipIf(!builtAndModelsPresent())('a value pinned far off its normal is a stuck value at that value (tryout 27, findings 2 and 3)', () => {
  it("tryout 27's −127.00 for 30 min (6 readings) on a 5-minute sensor: told stuck at −127.00 to its resolve, never a noise change", async () => {
    // 03:00 on the third day, at the cycle's low (13.9), as the tryout's.
    const { all, ep } = await episodeAlerts(FIVE_MIN, 288 * 3, 288 * 2 + 36, 6, -127, true);
    toldStuck(ep, -127);
    const resolve = ep[ep.length - 1];
    expect(resolve.e?.sentence).toBe('s −127.00 unchanged for 25 min, expected 13.98 ± 0.2 since 03:00 (stuck value)');
    expect(all.some((s) => s.e?.kind === 'noise_change')).toBe(false);
  });

  it("tryout 27's 85.0 for 1 h (12 readings) on a 5-minute sensor, and for 60 s (30 readings) at 2 s: told stuck at 85.00", async () => {
    const slow = await episodeAlerts(FIVE_MIN, 288 * 3, 288 * 2 + 36, 12, 85, true);
    toldStuck(slow.ep, 85);
    expect(slow.ep[slow.ep.length - 1].e?.sentence).toBe('s 85.00 unchanged for 55 min, expected 13.98 ± 0.2 since 03:00 (stuck value)');
    const fast = await episodeAlerts(TWO_S, 3000, 2000, 30, 85, false);
    toldStuck(fast.ep, 85);
    expect(fast.all.some((s) => s.e?.kind === 'level_shift')).toBe(false);
    expect(fast.ep[fast.ep.length - 1].e?.sentence).toBe('s 85.00 unchanged for 58 s, expected 18.28 ± 0.10 since 01:06 (stuck value)');
  });

  for (const [name, stepMs, n, at, cyclic] of [
    ['a 5-minute sensor with a daily cycle', FIVE_MIN, 288 * 3, 288 * 2 + 36, true],
    ['a 2 s flat sensor', TWO_S, 3000, 2000, false],
  ] as const) {
    it(`on ${name}: sentinels −127, 85, 0, 65535 and an off-range 40, held 3 to 30 readings, are each one episode told stuck at that value`, async () => {
      const wrong: string[] = [];
      for (const value of [-127, 85, 0, 65535, 40]) {
        for (const len of [3, 6, 12, 30]) {
          const { ep } = await episodeAlerts(stepMs, n, at, len, value, cyclic);
          try {
            toldStuck(ep, value);
          } catch {
            wrong.push(`${value} x${len}: ${ep.map((s) => `${s.ev.kind}/${s.by} ${s.e?.kind ?? '-'} ${s.e?.sentence ?? ''}`).join(' | ')}`);
          }
        }
      }
      expect(wrong).toEqual([]);
    }, 600_000);
  }
});
