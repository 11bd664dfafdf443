/**
 * A value pinned far off its normal that flickers by one step of the sensor's resolution (a failing DS18B20 stuck at
 * 85.0 reading 85.00 / 84.94 in turn, its 1/16 °C written with 2 decimals; a humidity stuck at 99.9 / 100.0) is told
 * as a stuck value over that range (`84.94–85.00 unchanged for …`), through the detector the daemon runs (the shipped
 * configuration and GRU model, on this thread) and the SignalBook that explains its episodes, by the daemon's alert
 * rules (feedAlerts). The step is the stream's own, learnt from its normal readings (explain.ts pinnedRun, flickerRun):
 * a quiet stream that flickers by one step at its normal level anyway is never told stuck.
 *
 * Before: pinnedRun took identical readings only, and such a flicker was told a level shift, or no kind.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedAlerts, shippedDetector, type Sent } from '../helpers/explained.js';
import { tryoutGauss } from '../helpers/tryout-random.js';

const T0 = Date.UTC(2026, 10, 23);
const FIVE_MIN = 300_000;
const TWO_S = 2_000;

/** A DS18B20's reading: its 1/16 °C steps, written with 2 decimals (Tasmota). */
function ds18b20(v: number): number {
  return Number((Math.round(v * 16) / 16).toFixed(2));
}

interface Shape {
  /** The normal reading at reading i (sensor units, before quantisation), `g` a seeded N(0, 1). */
  readonly normal: (i: number, ts: number, g: () => number) => number;
  /** The sensor's readings as written. */
  readonly write: (v: number) => number;
}

/** Every `stepMs`, `n` readings of `shape`; from reading `at`, `len` readings of `stuck` in turn (flickering). */
function stream(shape: Shape, stepMs: number, n: number, at: number, len: number, stuck: readonly number[]): { ts: number; value: number }[] {
  const g = tryoutGauss(11);
  const out: { ts: number; value: number }[] = [];
  for (let i = 0; i < n; i++) {
    const ts = T0 + i * stepMs;
    const v = shape.write(shape.normal(i, ts, g));
    out.push({ ts, value: i >= at && i < at + len ? stuck[(i - at) % stuck.length] : v });
  }
  return out;
}

/** tryout 27's 5-minute sensor (18 + 4 sin over a day, ± 0.1) as a DS18B20 reads it. */
const cyclic: Shape = { normal: (_i, ts, g) => 18 + 4 * Math.sin((2 * Math.PI * ((ts / 3_600_000) % 24 - 9)) / 24) + 0.1 * g(), write: ds18b20 };
/** A flat 18.3 ± 0.1 as a DS18B20 reads it at 2 s. */
const flat: Shape = { normal: (_i, _ts, g) => 18.3 + 0.1 * g(), write: ds18b20 };
/** A humidity, 55 ± 1.5 %, written with 1 decimal. */
const humidity: Shape = { normal: (i, _ts, g) => 55 + 3 * Math.sin((2 * Math.PI * i) / 720) + 1.5 * g(), write: (v) => Number(v.toFixed(1)) };

/** The alerts of the episode that holds reading `at` (its first alert's start within a reading of it), and all alerts. */
async function episodeAlerts(readings: { ts: number; value: number }[], stepMs: number, at: number): Promise<{ all: Sent[]; ep: Sent[] }> {
  const { det, book } = await shippedDetector();
  const all: Sent[] = [];
  await feedAlerts(det, book, 's', 'sensors/s', readings, all);
  const start = T0 + at * stepMs;
  const first = all.find((s) => s.ev.kind === 'open' && Math.abs(s.ev.startTs - start) <= stepMs);
  return { all, ep: first === undefined ? [] : all.filter((s) => s.ev.anomalyId === first.ev.anomalyId) };
}

function describeEp(ep: readonly Sent[]): string {
  return ep.map((s) => `${s.ev.kind}/${s.by} ${s.e?.kind ?? '-'} ${s.e?.sentence ?? ''}`).join(' | ');
}

/** `84.94–85.00` as the sentence writes a range (formatReading: 2 decimals here, a minus sign). */
function written(lo: number, hi: number, d: number): string {
  const f = (v: number): string => `${v < 0 ? '−' : ''}${Math.abs(v).toFixed(d)}`;
  return `${f(lo)}–${f(hi)}`;
}

/**
 * Asserts the episode is one, told as a stuck value over `lo`–`hi` from some alert on (before it, the run may be no
 * longer than the stream's own runs of readings within one step, which a shifted level with its noise has as well), to
 * its resolve, each later alert so too (never another kind after it).
 */
function toldFlicker(ep: readonly Sent[], lo: number, hi: number, d: number): void {
  expect(ep.length).toBeGreaterThan(1);
  expect(ep[0].ev.kind).toBe('open');
  const first = ep.findIndex((s) => s.e?.kind === 'stuck');
  expect(first, describeEp(ep)).toBeGreaterThan(0);
  for (const s of ep.slice(first)) {
    expect(s.e?.kind, `${s.ev.kind} (${s.by}): ${s.e?.sentence}`).toBe('stuck');
    expect(s.e?.sentence).toContain(`s ${written(lo, hi, d)} unchanged for `);
    expect(s.e?.sentence).toMatch(/\(stuck value\)$/);
  }
  expect(ep[ep.length - 1].ev.kind).toBe('resolve');
}

describe.skipIf(!builtAndModelsPresent())('a value pinned far off its normal that flickers by one step of the resolution is a stuck value over that range', () => {
  it('a DS18B20 (1/16 °C, 2 decimals) stuck at 85.00 / 84.94: on a 5-minute sensor with a daily cycle (held 12 and 30 readings) and a flat one at 2 s (30 readings)', async () => {
    const wrong: string[] = [];
    for (const [name, shape, stepMs, n, at, len] of [
      ['5 min, 12', cyclic, FIVE_MIN, 288 * 3, 288 * 2 + 36, 12],
      ['5 min, 30', cyclic, FIVE_MIN, 288 * 3, 288 * 2 + 36, 30],
      ['2 s, 30', flat, TWO_S, 3000, 2000, 30],
    ] as const) {
      const { ep } = await episodeAlerts(stream(shape, stepMs, n, at, len, [85, 84.94, 84.94, 85]), stepMs, at);
      try {
        toldFlicker(ep, 84.94, 85, 2);
      } catch {
        wrong.push(`${name}: ${describeEp(ep)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 600_000);

  it("a humidity (55 ± 1.5 %, 1 decimal) stuck at 99.9 / 100.0 for 3 to 30 readings at 2 s: told stuck from its first update, `99.9–100.0 unchanged for`", async () => {
    const wrong: string[] = [];
    for (const len of [3, 6, 12, 30]) {
      const { ep } = await episodeAlerts(stream(humidity, TWO_S, 3000, 2000, len, [99.9, 100, 100, 99.9, 100]), TWO_S, 2000);
      try {
        toldFlicker(ep, 99.9, 100, 1);
        // The readings' noise is far above their resolution: no run of readings within one step by chance, so the
        // first alert after the open tells it.
        expect(ep[1].e?.kind).toBe('stuck');
      } catch {
        wrong.push(`x${len}: ${describeEp(ep)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 600_000);

  it('a quiet stream that flickers by one step at its level (a DS18B20 at 18.3 ± 0.02) is never told stuck, nor, shifted far off its range with that flicker, its new level', async () => {
    const quiet: Shape = { normal: (_i, _ts, g) => 18.3 + 0.02 * g(), write: ds18b20 };
    const readings = stream(quiet, TWO_S, 3000, 0, 0, []);
    // Its readings take two or three adjacent values of its resolution (18.25, 18.31, ...): it does flicker.
    expect(new Set(readings.slice(500).map((r) => r.value)).size).toBeLessThanOrEqual(4);
    const { all } = await episodeAlerts(readings, TWO_S, -1);
    expect(all.filter((s) => s.e?.kind === 'stuck').map((s) => s.e?.sentence)).toEqual([]);
    // A heater's +6 °C from reading 2000 on, the same flicker at its new level: off the range, but no pinned value.
    const shifted = readings.map((r, i) => (i >= 2000 ? { ts: r.ts, value: ds18b20(r.value + 6) } : r));
    const after = await episodeAlerts(shifted, TWO_S, 2000);
    expect(after.ep.length).toBeGreaterThan(0);
    expect(after.all.filter((s) => s.e?.kind === 'stuck').map((s) => s.e?.sentence)).toEqual([]);
  }, 600_000);
});
