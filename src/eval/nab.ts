/**
 * The streaming score of the Numenta Anomaly Benchmark (NAB): Lavin & Ahmad, "Evaluating Real-time Anomaly
 * Detection Algorithms – the Numenta Anomaly Benchmark", ICMLA 2015 (arXiv:1510.03336), implemented after the
 * public scorer code of github.com/numenta/NAB:
 *
 *   - nab/labeler.py  `applyWindows`, `checkWindows`: a window of 10 % of the series' rows divided by the
 *     number of events, centred on each labelled event; overlapping windows merged; a window that starts
 *     inside the probationary period dropped.
 *   - nab/util.py  `getProbationPeriod`: the first min(floor(15 % of the rows), 0.15 x 5000 = 750) rows.
 *   - nab/sweeper.py  `scaledSigmoid`, `calcSweepScore`, `calcScoreByThreshold`: per-row weights and the
 *     sweep over every distinct score as threshold (a row is a detection when its score >= the threshold).
 *   - nab/optimizer.py (NAB 1.x, sweeper-based): ONE threshold for the whole corpus, the one with the best
 *     summed raw score; nab/runner.py `normalize`: 100 x (raw − null) / (perfect − null).
 *   - config/profiles.json: the three cost profiles.
 *
 * Scoring, per series (rows in order, rows [0, probation) ignored):
 *   - A detection inside a window scores A_TP x σ(−(end − i + 1) / width) / σ(−1), σ(x) = 2/(1 + e^(5x)) − 1:
 *     A_TP for the window's first row, falling towards 0 at its last row. Only the earliest detection of a
 *     window counts; later ones in the same window are ignored (neither rewarded nor charged).
 *   - A window with no detection costs A_FN.
 *   - Every detection row outside all windows costs A_FP x σ((i − prevEnd) / (prevWidth − 1)) relative to the
 *     closest preceding window (a small charge just after a window, → A_FP far from it), or the full A_FP
 *     when no window precedes it.
 *   - null = −A_FN x windows (a detector that never alarms), perfect = A_TP x windows (every window detected
 *     at its first row); normalised = 100 x (raw − null) / (perfect − null), so never alarming is 0 and
 *     perfect is 100.
 *
 * Deviations from NAB, all in cases NAB's own corpus never meets: a window of width 1 divides by 1 instead of
 * 0 for the rows after it; every window starting inside the probationary period is dropped (NAB's labeler
 * drops the first one, and with its window sizes only the first one can); scores may be any real number
 * (+Infinity ranks above every finite score; NaN is an error), not only [0, 1].
 *
 * Windows around labelled RUNS (SKAB, MSL and our development corpus label every anomalous row, not one
 * point per event): see `windowsAroundRuns`.
 */
import { runsOf } from './metrics.js';

/** A NAB cost matrix: what a detected window earns at most, what a false-positive row and a missed window cost. */
export interface NabProfile {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
}

/** NAB's application profiles (config/profiles.json of numenta/NAB; tnWeight is unused by the scorer). */
export const NAB_PROFILES = Object.freeze({
  standard: Object.freeze({ tp: 1.0, fp: 0.11, fn: 1.0 }),
  reward_low_FP_rate: Object.freeze({ tp: 1.0, fp: 0.22, fn: 1.0 }),
  reward_low_FN_rate: Object.freeze({ tp: 1.0, fp: 0.11, fn: 2.0 }),
});

export type NabProfileName = keyof typeof NAB_PROFILES;
export const NAB_PROFILE_NAMES: readonly NabProfileName[] = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'];

/** Fraction of a series that is probationary, and its cap in rows (nab/util.py: 0.15 x 5000). */
export const NAB_PROBATION_FRACTION = 0.15;
export const NAB_PROBATION_CAP_ROWS = 750;
/** Window length as a fraction of the series' rows, shared between its events (NAB's `windowSize`). */
export const NAB_WINDOW_FRACTION = 0.1;

/** An anomaly window: rows [start, end], inclusive, 0-based. */
export interface AnomalyWindow {
  readonly start: number;
  readonly end: number;
}

/**
 * NAB's scaled sigmoid of a relative position: 2 / (1 + e^(5x)) − 1 for x <= 3, −1 beyond.
 * σ(−1) = 0.98661 (a window's first row), σ(−0.5) = 0.84828, σ(0) = 0 (its last row, almost), σ(1) = −0.98661.
 */
export function scaledSigmoid(position: number): number {
  if (position > 3) return -1;
  return 2 / (1 + Math.exp(5 * position)) - 1;
}

const MAX_TP = scaledSigmoid(-1);

/** Rows of a series of `rows` rows that are probationary: min(floor(0.15 x rows), 750). */
export function nabProbation(rows: number): number {
  return Math.min(Math.floor(NAB_PROBATION_FRACTION * rows), NAB_PROBATION_CAP_ROWS);
}

/** NAB's window length in rows: int(0.10 x rows / events) (int(0.10 x rows) without events). */
export function nabWindowLength(rows: number, events: number): number {
  return Math.trunc(events > 0 ? (NAB_WINDOW_FRACTION * rows) / events : NAB_WINDOW_FRACTION * rows);
}

/**
 * NAB's `checkWindows`: sorts, merges windows that overlap or touch the same row (next.start <= cur.end),
 * drops every window that starts before `probation`.
 */
export function tidyWindows(windows: readonly AnomalyWindow[], probation: number): AnomalyWindow[] {
  const sorted = [...windows].sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: AnomalyWindow[] = [];
  for (const w of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && w.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, w.end) };
    else merged.push({ start: w.start, end: w.end });
  }
  return merged.filter((w) => w.start >= probation);
}

/**
 * NAB's windows around labelled points (nab/labeler.py `applyWindows` + `checkWindows`): for each event row a,
 * [max(a − ⌊L/2⌋, 0), min(a + ⌊L/2⌋, rows − 1)] with L = nabWindowLength(rows, events).
 */
export function windowsAroundPoints(points: readonly number[], rows: number, probation: number): AnomalyWindow[] {
  const half = Math.floor(nabWindowLength(rows, points.length) / 2);
  return tidyWindows(
    points.map((a) => ({ start: Math.max(a - half, 0), end: Math.min(a + half, rows - 1) })),
    probation,
  );
}

/**
 * Windows around labelled RUNS of rows (SKAB, MSL, the development corpus), our rule, documented in
 * BENCHMARKS.md: each run [s, e] becomes [max(s − ⌊L/2⌋, 0), min(max(e, s + ⌊L/2⌋), rows − 1)], with NAB's
 * L = nabWindowLength(rows, runs). That is NAB's window centred on the run's START (its onset, which is what
 * NAB's labellers mark), widened to cover the whole run when the run is longer than half a window. So a
 * detection at or just before the onset earns the most, one late in a long run little, and alarms after the
 * window (long after the run began) are charged as false positives. Then `tidyWindows`.
 *
 * @param labels one per row, non-zero inside a labelled anomaly.
 */
export function windowsAroundRuns(labels: ArrayLike<number>, probation: number): AnomalyWindow[] {
  const runs = runsOf(labels);
  const rows = labels.length;
  const half = Math.floor(nabWindowLength(rows, runs.length) / 2);
  return tidyWindows(
    runs.map((r) => ({ start: Math.max(r.start - half, 0), end: Math.min(Math.max(r.end, r.start + half), rows - 1) })),
    probation,
  );
}

/** One series to score: a detector's per-row score and the series' windows. */
export interface ScoredSeries {
  readonly name: string;
  /** One per row; bigger = more anomalous (a probability, a surprise -log10(1-p), anything real; ties allowed). */
  readonly scores: ArrayLike<number>;
  /** Sorted, disjoint, inside [probation, rows). */
  readonly windows: readonly AnomalyWindow[];
  /** Rows [0, probation) are not scored. */
  readonly probation: number;
}

/** What one series' rows are worth when detected, under one profile (NAB's `sweepScore`). */
interface RowWeights {
  /** Per row: the weight if detected (positive inside a window, <= 0 outside); NaN for probationary rows. */
  readonly weight: Float64Array;
  /** Per row: index of the window it is in, or −1. */
  readonly window: Int32Array;
}

function checkSeries(s: ScoredSeries): void {
  const rows = s.scores.length;
  if (!Number.isInteger(s.probation) || s.probation < 0 || s.probation > rows) {
    throw new RangeError(`${s.name}: probation must be an integer in [0, ${rows}], got ${s.probation}`);
  }
  let prevEnd = -1;
  for (const w of s.windows) {
    if (!Number.isInteger(w.start) || !Number.isInteger(w.end) || w.start > w.end || w.end >= rows) {
      throw new RangeError(`${s.name}: window [${w.start}, ${w.end}] is not inside rows [0, ${rows})`);
    }
    if (w.start <= prevEnd) throw new RangeError(`${s.name}: windows must be sorted and disjoint (window at ${w.start} overlaps the previous one)`);
    if (w.start < s.probation) throw new RangeError(`${s.name}: window [${w.start}, ${w.end}] starts inside the probationary period (${s.probation} rows)`);
    prevEnd = w.end;
  }
  for (let i = 0; i < rows; i++) {
    if (Number.isNaN(s.scores[i])) throw new RangeError(`${s.name}: score of row ${i} is NaN`);
  }
}

/** NAB sweeper `calcSweepScore`, per row. */
function rowWeights(s: ScoredSeries, profile: NabProfile): RowWeights {
  const rows = s.scores.length;
  const weight = new Float64Array(rows);
  const window = new Int32Array(rows).fill(-1);
  let k = 0;
  let prev: AnomalyWindow | null = null;
  for (let i = 0; i < rows; i++) {
    while (k < s.windows.length && s.windows[k].end < i) prev = s.windows[k++];
    const w = s.windows[k];
    let value: number;
    if (w !== undefined && i >= w.start) {
      const width = w.end - w.start + 1;
      value = (scaledSigmoid(-(w.end - i + 1) / width) * profile.tp) / MAX_TP;
      window[i] = k;
    } else if (prev === null) {
      value = -profile.fp;
    } else {
      const width = prev.end - prev.start + 1;
      value = scaledSigmoid((i - prev.end) / Math.max(width - 1, 1)) * profile.fp;
    }
    weight[i] = i < s.probation ? Number.NaN : value;
  }
  return { weight, window };
}

/** Row counts at one threshold, over the scored (non-probationary) rows. */
export interface NabCounts {
  /** Detection rows inside windows (NAB's tp). */
  readonly tpRows: number;
  /** Detection rows outside windows (NAB's fp). */
  readonly fpRows: number;
  /** Windows with at least one detection. */
  readonly detectedWindows: number;
  readonly windows: number;
}

/** The raw score of a set of detections, with its counts and NAB's reference points. */
export interface NabResult extends NabCounts {
  readonly raw: number;
  /** −A_FN x windows: never alarming. */
  readonly null: number;
  /** A_TP x windows: each window detected at its first row, nothing else. */
  readonly perfect: number;
  /** 100 x (raw − null) / (perfect − null); NaN without windows (nothing to normalise by). */
  readonly normalised: number;
}

function result(raw: number, counts: NabCounts, profile: NabProfile): NabResult {
  const nul = -profile.fn * counts.windows;
  const perfect = profile.tp * counts.windows;
  return { ...counts, raw, null: nul, perfect, normalised: counts.windows > 0 ? (100 * (raw - nul)) / (perfect - nul) : Number.NaN };
}

/**
 * Scores fixed detections (e.g. the alarms a detector raised) of one series: `detected(i)` says whether row i
 * is a detection. Same rules as the sweep, at one threshold.
 *
 * @throws RangeError on windows that are unsorted, overlapping, outside the series or inside its probation.
 */
export function scoreDetections(series: ScoredSeries, detected: (row: number) => boolean, profile: NabProfile): NabResult {
  checkSeries(series);
  const { weight, window } = rowWeights(series, profile);
  const best = new Float64Array(series.windows.length).fill(-profile.fn);
  const hit = new Uint8Array(series.windows.length);
  let fp = 0;
  let tpRows = 0;
  let fpRows = 0;
  for (let i = series.probation; i < weight.length; i++) {
    if (!detected(i)) continue;
    const w = window[i];
    if (w >= 0) {
      tpRows++;
      hit[w] = 1;
      if (weight[i] > best[w]) best[w] = weight[i];
    } else {
      fpRows++;
      fp += weight[i];
    }
  }
  const raw = best.reduce((a, b) => a + b, 0) + fp;
  return result(raw, { tpRows, fpRows, detectedWindows: hit.reduce((a, b) => a + b, 0), windows: series.windows.length }, profile);
}

/** A score as the sweep ranks it: +Infinity (e.g. -log10(1 - p) at p = 1) becomes the largest finite number. */
function rankOf(score: number): number {
  return score === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : score;
}

/** Whether a row with `score` is a detection at `threshold`: score >= threshold; threshold +Infinity detects nothing. */
export function detectsAt(score: number, threshold: number): boolean {
  return rankOf(score) >= threshold;
}

/** One point of the sweep: the corpus' raw score when every row with score >= threshold is a detection. */
export interface ThresholdScore extends NabCounts {
  /** +Infinity = no detection at all. */
  readonly threshold: number;
  readonly raw: number;
}

/**
 * NAB's sweep (nab/sweeper.py `calcScoreByThreshold`) over a whole corpus: every distinct score, from the
 * highest down, as threshold, preceded by "no detection" (threshold +Infinity). Rows of equal score become
 * detections together. O(n log n) in the corpus' scored rows.
 *
 * @throws RangeError as `scoreDetections`, and on a NaN score.
 */
export function sweep(corpus: readonly ScoredSeries[], profile: NabProfile): ThresholdScore[] {
  let n = 0;
  let windows = 0;
  for (const s of corpus) {
    checkSeries(s);
    n += s.scores.length - s.probation;
    windows += s.windows.length;
  }
  const score = new Float64Array(n);
  const weight = new Float64Array(n);
  const windowOf = new Int32Array(n);
  let j = 0;
  let base = 0;
  for (const s of corpus) {
    const rw = rowWeights(s, profile);
    for (let i = s.probation; i < s.scores.length; i++, j++) {
      score[j] = rankOf(s.scores[i]);
      weight[j] = rw.weight[i];
      windowOf[j] = rw.window[i] >= 0 ? base + rw.window[i] : -1;
    }
    base += s.windows.length;
  }
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (score[b] > score[a] ? 1 : score[b] < score[a] ? -1 : a - b));

  const best = new Float64Array(windows).fill(-profile.fn);
  const hit = new Uint8Array(windows);
  let raw = -profile.fn * windows;
  let tpRows = 0;
  let fpRows = 0;
  let detectedWindows = 0;
  const out: ThresholdScore[] = [{ threshold: Number.POSITIVE_INFINITY, raw, tpRows, fpRows, detectedWindows, windows }];
  let k = 0;
  while (k < n) {
    const threshold = score[order[k]];
    for (; k < n && score[order[k]] === threshold; k++) {
      const r = order[k];
      const w = windowOf[r];
      if (w >= 0) {
        tpRows++;
        if (hit[w] === 0) {
          hit[w] = 1;
          detectedWindows++;
        }
        if (weight[r] > best[w]) {
          raw += weight[r] - best[w];
          best[w] = weight[r];
        }
      } else {
        fpRows++;
        raw += weight[r];
      }
    }
    out.push({ threshold, raw, tpRows, fpRows, detectedWindows, windows });
  }
  return out;
}

/** The corpus score under one profile at the best single threshold, with the per-series breakdown. */
export interface NabCorpusScore extends NabResult {
  readonly profile: NabProfileName | 'custom';
  /** The threshold the sweep chose (+Infinity: never alarming was best). */
  readonly threshold: number;
  readonly series: readonly ({ readonly name: string } & NabResult)[];
}

/**
 * NAB's corpus score: the sweep, then the threshold with the highest raw score (ties: the higher threshold,
 * as NAB's stable sort keeps the sweep's order), then each series scored at that threshold. The per-series raw
 * scores sum to the corpus raw score.
 */
export function scoreCorpus(corpus: readonly ScoredSeries[], profile: NabProfile, name: NabProfileName | 'custom' = 'custom'): NabCorpusScore {
  const curve = sweep(corpus, profile);
  let best = curve[0];
  for (const t of curve) if (t.raw > best.raw) best = t;
  const series = corpus.map((s) => ({ name: s.name, ...scoreDetections(s, (i) => detectsAt(s.scores[i], best.threshold), profile) }));
  const { threshold, raw, ...counts } = best;
  return { profile: name, threshold, ...result(raw, counts, profile), series };
}

/** `scoreCorpus` under each of NAB's three profiles. */
export function scoreCorpusAllProfiles(corpus: readonly ScoredSeries[]): Record<NabProfileName, NabCorpusScore> {
  return {
    standard: scoreCorpus(corpus, NAB_PROFILES.standard, 'standard'),
    reward_low_FP_rate: scoreCorpus(corpus, NAB_PROFILES.reward_low_FP_rate, 'reward_low_FP_rate'),
    reward_low_FN_rate: scoreCorpus(corpus, NAB_PROFILES.reward_low_FN_rate, 'reward_low_FN_rate'),
  };
}

/**
 * Fixed detections (alarms) of a corpus scored under one profile, without a sweep: what the detector's own
 * alarm decisions are worth. `alarms[k][i]` truthy = row i of series k is a detection.
 */
export function scoreCorpusDetections(corpus: readonly ScoredSeries[], alarms: readonly ArrayLike<number | boolean>[], profile: NabProfile): NabResult & { readonly series: readonly ({ readonly name: string } & NabResult)[] } {
  if (alarms.length !== corpus.length) throw new RangeError(`${alarms.length} alarm series for ${corpus.length} series`);
  const series = corpus.map((s, k) => {
    if (alarms[k].length !== s.scores.length) throw new RangeError(`${s.name}: ${alarms[k].length} alarm rows for ${s.scores.length} rows`);
    return { name: s.name, ...scoreDetections(s, (i) => Boolean(alarms[k][i]), profile) };
  });
  const sum = (f: (r: NabResult) => number): number => series.reduce((a, r) => a + f(r), 0);
  return {
    ...result(sum((r) => r.raw), { tpRows: sum((r) => r.tpRows), fpRows: sum((r) => r.fpRows), detectedWindows: sum((r) => r.detectedWindows), windows: sum((r) => r.windows) }, profile),
    series,
  };
}
