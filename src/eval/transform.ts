/**
 * Transforms of a labelled stream for the robustness tests of issue 10 (pure, seeded):
 *
 * - `rescaleStream`: the time-scale test. The readings are re-stamped `intervalMs` apart (1 s, 1 min, 5 min,
 *   1 h), each time moved by a uniform jitter of ±2 % of the interval, 1 % of the readings dropped and a few
 *   readings delivered twice with the same timestamp (0.1 % of them, at least 3), as a QoS 1 redelivery does.
 *   Values are untouched. Every output row keeps the index of the input row it came from (`source`), so
 *   per-row results can be compared with the untransformed run "within one reading". The first reading of
 *   every labelled anomaly is never dropped, so both runs have the same events.
 * - `shortHistory`: the short-history test. The detector may learn from the first N rows only (150 by default);
 *   the scored rows stay those of the protocol, so the metrics compare with the full-history run.
 */
import { mulberry32 } from '../train/rng.js';
import { runsOf } from './metrics.js';
import type { AnomalyWindow } from './nab.js';
import type { EvalStream, StreamRow } from './stream.js';

/** The time scales of the time-scale test: spacing of readings, ms. */
export const TIME_SCALES = Object.freeze({ '1s': 1000, '1m': 60_000, '5m': 300_000, '1h': 3_600_000 });
export type TimeScale = keyof typeof TIME_SCALES;

/** Whether `s` names one of TIME_SCALES ('1s', '1m', '5m', '1h'). */
export function isTimeScale(s: string): s is TimeScale {
  return Object.hasOwn(TIME_SCALES, s);
}

export interface RescaleOptions {
  /** New nominal spacing of readings, ms (> 0). */
  readonly intervalMs: number;
  /** Uniform jitter of each timestamp, as a fraction of the interval (default 0.02 = ±2 %). */
  readonly jitter?: number;
  /** Fraction of readings dropped (default 0.01). */
  readonly drop?: number;
  /** Readings delivered twice (default max(3, round(0.001 x rows))). */
  readonly duplicates?: number;
  /** Default 1. */
  readonly seed?: number;
  /** Input rows that must not be dropped (e.g. the first reading of a labelled anomaly). */
  readonly keep?: (row: number) => boolean;
}

export interface Rescaled {
  readonly rows: StreamRow[];
  /** Per output row: the input row it came from (a delivered-twice row appears twice in a row). */
  readonly source: Int32Array;
}

/** Median of the positive gaps between consecutive readings of each sensor, ms (1000 when there are none). */
export function nominalIntervalMs(rows: readonly StreamRow[]): number {
  const last = new Map<string, number>();
  const gaps: number[] = [];
  for (const r of rows) {
    const prev = last.get(r.sensor);
    if (prev !== undefined && r.ts > prev) gaps.push(r.ts - prev);
    last.set(r.sensor, r.ts);
  }
  if (gaps.length === 0) return 1000;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)];
}

/** Distinct random picks from `candidates` (all of them when fewer), in increasing order. */
function pick(rng: () => number, candidates: number[], count: number): number[] {
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  return candidates.slice(0, Math.min(count, candidates.length)).sort((a, b) => a - b);
}

/**
 * Re-stamps rows `intervalMs` apart: t' = t0 + (t − t0) x intervalMs / nominal + jitter, so the stream's own
 * gaps scale with it; each sensor's times stay strictly increasing (a jittered time that would not be is set
 * 1 ms after the previous one). Then drops and duplicates rows as documented above.
 *
 * @throws RangeError on an interval that is not > 0 or fractions outside [0, 0.5].
 */
export function rescaleRows(rows: readonly StreamRow[], opts: RescaleOptions): Rescaled {
  const jitter = opts.jitter ?? 0.02;
  const drop = opts.drop ?? 0.01;
  if (!(opts.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${opts.intervalMs}`);
  if (!(jitter >= 0 && jitter <= 0.5)) throw new RangeError(`jitter must be in [0, 0.5], got ${jitter}`);
  if (!(drop >= 0 && drop <= 0.5)) throw new RangeError(`drop must be in [0, 0.5], got ${drop}`);
  const rng = mulberry32(opts.seed ?? 1);
  const n = rows.length;
  if (n === 0) return { rows: [], source: new Int32Array(0) };
  const factor = opts.intervalMs / nominalIntervalMs(rows);
  const t0 = rows[0].ts;
  const last = new Map<string, number>();
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = Math.round(t0 + (rows[i].ts - t0) * factor + (2 * rng() - 1) * jitter * opts.intervalMs);
    const prev = last.get(rows[i].sensor);
    if (prev !== undefined && t <= prev) t = prev + 1;
    last.set(rows[i].sensor, t);
    times[i] = t;
  }
  const keep = opts.keep ?? (() => false);
  const droppable: number[] = [];
  for (let i = 1; i < n; i++) if (!keep(i)) droppable.push(i);
  const dropped = new Set(pick(rng, droppable, Math.round(drop * n)));
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (!dropped.has(i)) kept.push(i);
  const twice = new Set(pick(rng, [...kept], opts.duplicates ?? Math.max(3, Math.round(0.001 * n))));
  const out: StreamRow[] = [];
  const source: number[] = [];
  // A dropped row that began a new recording passes its mark to its sensor's next kept row.
  const mark = new Set<string>();
  let d = 0;
  for (const i of kept) {
    for (; d < i; d++) if (dropped.has(d) && rows[d].newRecording === true) mark.add(rows[d].sensor);
    const carried = mark.size > 0 && mark.delete(rows[i].sensor);
    const row = carried ? { ...rows[i], ts: times[i], newRecording: true } : { ...rows[i], ts: times[i] };
    out.push(row);
    source.push(i);
    if (twice.has(i)) {
      // The copy is the same reading delivered again, not a second new recording.
      const { newRecording: _first, ...again } = row;
      out.push(again);
      source.push(i);
    }
  }
  return { rows: out, source: Int32Array.from(source) };
}

/** The first output row that comes from input row `row` or a later one (out.length when none). */
function firstFrom(source: Int32Array, row: number): number {
  let lo = 0;
  let hi = source.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (source[mid] < row) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A stream carried through a row transform: labels follow their rows, learnRows and scoreFrom move to the
 * first output row from the same input row or later, each window spans the output rows of its input rows.
 * `source` is composed with the stream's own, so it always points at the original recording.
 */
export function mapStream(stream: EvalStream, t: Rescaled): EvalStream {
  const { source } = t;
  const learnRows = firstFrom(source, stream.learnRows);
  const scoreFrom = firstFrom(source, stream.scoreFrom);
  const windows: AnomalyWindow[] = [];
  for (const w of stream.windows) {
    const start = firstFrom(source, w.start + stream.scoreFrom);
    const end = firstFrom(source, w.end + stream.scoreFrom + 1) - 1;
    if (end >= start) windows.push({ start: start - scoreFrom, end: end - scoreFrom });
  }
  const labels = Uint8Array.from(source, (i) => stream.labels[i]);
  const prior = stream.source;
  const original = prior === undefined ? source : Int32Array.from(source, (i) => prior[i]);
  return { ...stream, rows: t.rows, learnRows, scoreFrom, labels, windows, source: original };
}

/** The first row of every labelled run of `labels`. */
export function runStarts(labels: ArrayLike<number>): Set<number> {
  return new Set(runsOf(labels).map((r) => r.start));
}

/** The time-scale test's transform of one stream (see the module's docstring). */
export function rescaleStream(stream: EvalStream, intervalMs: number, seed = 1): EvalStream {
  const starts = runStarts(stream.labels);
  return mapStream(stream, rescaleRows(stream.rows, { intervalMs, seed, keep: (i) => starts.has(i) }));
}

/**
 * The short-history test: the detector may learn from the first `learnRows` rows only (150 by default, never
 * more than the protocol's own); the scored rows do not change.
 */
export function shortHistory(stream: EvalStream, learnRows = 150): EvalStream {
  if (!Number.isInteger(learnRows) || learnRows < 0) throw new RangeError(`learnRows must be an integer >= 0, got ${learnRows}`);
  return { ...stream, learnRows: Math.min(learnRows, stream.learnRows) };
}
