/**
 * The gate before a newly trained own model replaces the model a sensor uses: both are scored on held-out
 * normal readings of the sensor's own history (the newest part, kept apart from the training), stepped the
 * detector's way, and the new model is swapped in only when it is measurably better there (gate()).
 *
 * The split is chronological, as streaming detectors validate (Malhotra et al. 2016, arXiv:1607.00148:
 * normal data split into a training set, a validation set for early stopping and another normal set for
 * the threshold; Hundman et al., KDD 2018, telemanom: the most recent data held out): the trainer already
 * keeps the last 20 % of what it is given for early stopping and calibration, and picks its weights on it,
 * so that split is not a fair judge; the gate's readings are newer still, and neither the weights nor the
 * calibration saw them.
 */
import type { ModelRunner } from '../contract/ports.js';
import { TRAIN_DEFAULTS } from '../train/trainer.js';

/** Fraction of each sensor's history kept apart from the training, the newest readings. */
export const HOLDOUT_FRACTION = 0.2;
/** Model inputs are clipped to this many std, as the detector does (src/pipeline/steps.ts INPUT_CLIP). */
const INPUT_CLIP = 10;

/** One sensor's history as the gate sees it: standardised by its training part, and where the held-out part starts. */
export interface HeldOutSeries {
  /** Rows of `channels` values, time-major, standardised by the mean and std of the training rows (before `from`). */
  readonly values: Float64Array;
  readonly channels: number;
  /** First held-out row; the rows before it are the training part (the last of them warm the state up). */
  readonly from: number;
}

/** A model's errors on the held-out readings (standardised units). */
export interface HeldOutFigures {
  /** Mean over held-out readings and channels of the squared next-reading prediction error. */
  readonly predMse: number;
  /** Mean of the reconstruction errors (MSE over the last W readings) of the decodes that end on a held-out reading. */
  readonly reconMse: number;
  /** reconMse + predWeight · predMse: the training loss's weighting (docs/MODEL.md, "Loss"). */
  readonly loss: number;
  /** Held-out readings predicted and decodes counted. */
  readonly predictions: number;
  readonly reconstructions: number;
}

/** What the gate decided. */
export interface GateDecision {
  readonly accepted: boolean;
  /** For people: why, with the figures. */
  readonly reason: string;
  readonly candidate: HeldOutFigures;
  /** The model in use on the same readings; null when the sensor has no model at all (accepted then). */
  readonly current: HeldOutFigures | null;
  /** Held-out readings over all sensors. */
  readonly heldOut: number;
  /** The paired comparison over stretches of the held-out readings; absent when there was no model in use. */
  readonly paired?: PairedFigures;
}

/**
 * Splits one sensor's history (time-major rows of `channels` values) into its training part (the oldest
 * 1 − HOLDOUT_FRACTION) and the held-out part, and standardises the whole history by the training part's
 * per-channel mean and std (a flat channel: std 1), as the detector normalises a stream by its own
 * statistics, clipped to ±10 std as the detector clips model inputs.
 *
 * @returns the raw training rows (for the trainer, which standardises them itself) and the gate's series.
 */
/**
 * How much lower a loss ratio below 1 is, in per cent, rounded down to two decimals: 0.9502 is `4.98`, never
 * rounded up to the margin it missed (`4.999` is `4.99`, not `5.00`). Beside "needs 5 %", so the message does not
 * say "0.950 times its loss" and "less than 5 % lower" of one figure (tryout 20, finding 13).
 */
export function percentLower(ratio: number): string {
  // The epsilon undoes the binary fraction: 1 - 0.9502 is 0.0497999…, which is 4.98 %.
  return (Math.floor((1 - ratio) * 10_000 + 1e-6) / 100).toFixed(2);
}

export function splitHeldOut(history: Float32Array | Float64Array, channels: number): { train: Float32Array; held: HeldOutSeries } {
  const rows = history.length / channels;
  const from = trainingRowsOf(rows);
  const values = new Float64Array(history.length);
  for (let c = 0; c < channels; c++) {
    let mean = 0;
    for (let t = 0; t < from; t++) mean += history[t * channels + c];
    mean /= Math.max(1, from);
    let sq = 0;
    for (let t = 0; t < from; t++) sq += (history[t * channels + c] - mean) ** 2;
    const std = Math.sqrt(sq / Math.max(1, from)) || 1;
    for (let t = 0; t < rows; t++) values[t * channels + c] = Math.max(-INPUT_CLIP, Math.min(INPUT_CLIP, (history[t * channels + c] - mean) / std));
  }
  return { train: Float32Array.from(history.subarray(0, from * channels)), held: { values, channels, from } };
}

/** Rows of a history of `rows` rows that splitHeldOut gives the training: all but the newest floor(rows · HOLDOUT_FRACTION). */
export function trainingRowsOf(rows: number): number {
  return rows - Math.floor(rows * HOLDOUT_FRACTION);
}

/** One model's errors on one held-out series, reading by reading, for the gate's paired comparison. */
interface SeriesErrors {
  /** Squared prediction error (mean over channels) of each row; NaN where not counted (before the held-out part). */
  readonly pred: Float64Array;
  /** The decodes that end on a held-out reading: their last row and reconstruction error (MSE over w readings). */
  readonly decodes: readonly { readonly end: number; readonly err: number }[];
}

/**
 * A model's errors on the held-out rows of `series`, stepped as the detector steps a stream (step graph
 * reading by reading, in chunks of the model's hop, a decode of min(W, readings since the reset) after each
 * chunk), from a zero state at a burn-in of up to 2·W training rows before the held-out part. Counted: the
 * prediction of every held-out reading (made from the state after the reading before it) and every decode
 * that ends on a held-out reading. One stream per call (B = 1): a few hundred small ORT calls per model.
 *
 * @throws RangeError when the model's channels differ from the series'.
 */
export async function heldOutErrors(model: ModelRunner, series: readonly HeldOutSeries[]): Promise<HeldOutFigures> {
  return (await heldOutDetail(model, series)).figures;
}

async function heldOutDetail(model: ModelRunner, series: readonly HeldOutSeries[]): Promise<{ figures: HeldOutFigures; perSeries: SeriesErrors[] }> {
  const { window: W, hop, hidden: H, cell } = model.sidecar;
  let predSum = 0;
  let predN = 0;
  let reconSum = 0;
  let reconN = 0;
  const perSeries: SeriesErrors[] = [];
  for (const s of series) {
    const C = s.channels;
    if (model.sidecar.channels.length !== C) throw new RangeError(`model ${model.id} takes ${model.sidecar.channels.length} channels, the series has ${C}`);
    const rows = s.values.length / C;
    const pred = new Float64Array(rows).fill(Number.NaN);
    const decodes: { end: number; err: number }[] = [];
    const start = Math.max(0, s.from - 2 * W);
    let h: Float32Array = new Float32Array(H);
    let c: Float32Array | undefined = cell === 'lstm' ? new Float32Array(H) : undefined;
    let prev: Float32Array | null = null; // the prediction of the next reading, from the state so far
    for (let at = start; at < rows; at += hop) {
      const T = Math.min(hop, rows - at);
      const x = new Float32Array(T * C);
      for (let i = 0; i < T * C; i++) x[i] = s.values[at * C + i];
      const out = await model.step({ x, seqLens: new BigInt64Array([BigInt(T)]), h0: h, ...(c ? { c0: c } : {}), B: 1, T });
      for (let t = 0; t < T; t++) {
        const row = at + t;
        if (prev !== null && row >= s.from) {
          let e = 0;
          for (let k = 0; k < C; k++) e += (prev[k] - s.values[row * C + k]) ** 2;
          pred[row] = e / C;
          predSum += e / C;
          predN++;
        }
        prev = out.pred.subarray(t * C, (t + 1) * C);
      }
      h = out.h;
      c = out.c;
      const end = at + T - 1;
      if (T < hop || end < s.from) continue;
      const w = Math.min(W, end - start + 1);
      const d = await model.decode({ h, ...(c ? { c } : {}), B: 1, W: w });
      let e = 0;
      for (let k = 0; k < w; k++) for (let ch = 0; ch < C; ch++) e += (d.recon[k * C + ch] - s.values[(end - k) * C + ch]) ** 2;
      reconSum += e / (w * C);
      reconN++;
      decodes.push({ end, err: e / (w * C) });
    }
    perSeries.push({ pred, decodes });
  }
  const predMse = predN > 0 ? predSum / predN : Number.NaN;
  const reconMse = reconN > 0 ? reconSum / reconN : Number.NaN;
  const figures = { predMse, reconMse, loss: (reconN > 0 ? reconMse : 0) + TRAIN_DEFAULTS.predWeight * (predN > 0 ? predMse : 0), predictions: predN, reconstructions: reconN };
  return { figures, perSeries };
}

/**
 * How much lower the new model's held-out loss must be than the model in use's, relative: a swap resets the
 * stream's state and histories (the detector re-learns its errors), which a gain smaller than this does not
 * repay. A choice of practical significance, not a fitted value (docs/MODEL.md "The gate").
 */
export const GATE_MARGIN = 0.05;
/** One-sided level of the gate's test on the held-out loss differences (docs/MODEL.md "The gate"). */
export const GATE_ALPHA = 0.05;

/** The paired comparison of the two models on the held-out readings. */
export interface PairedFigures {
  /** Readings per stretch: the larger of the two models' windows and hops, cut finer for a short held-out part (stretchLength). */
  readonly length: number;
  /** Stretches where the two losses differ (for people: the test is on the readings). */
  readonly stretches: number;
  /** Of them, those where the new model's loss is lower. */
  readonly better: number;
  /**
   * The Diebold-Mariano test on the readings' loss differences (dieboldMariano); absent in a check stored before
   * it (the sign test's, whose p-value is `p`).
   */
  readonly test?: DieboldMarianoFigures;
  /** A check stored before the Diebold-Mariano test: the sign test's one-sided p-value over the stretches. */
  readonly p?: number;
}

/** The Diebold-Mariano test of a loss differential series, as dieboldMariano computes it. */
export interface DieboldMarianoFigures {
  /** Loss differences tested (readings, over all series). */
  readonly readings: number;
  /** Mean loss difference, model in use − new model (standardised units): positive when the new model is lower. */
  readonly mean: number;
  /** Bartlett kernel bandwidth M, readings: autocovariances up to lag M − 1 enter the variance with weights 1 − j/M. */
  readonly bandwidth: number;
  /** mean / √(long-run variance / readings); NaN when every difference is 0. */
  readonly t: number;
  /** The one-sided GATE_ALPHA critical value for bandwidth / readings per series (fixed-b); the test passes when t > critical. */
  readonly critical: number;
}

/**
 * One model's loss on each stretch: disjoint runs of `length` held-out rows, counted back from the newest;
 * reconMse of the decodes ending in the stretch + predWeight · predMse of its rows (the loss's weighting).
 * Indexed [series][stretch]; a stretch without a decode or a prediction of the model gives NaN.
 */
function stretchLosses(e: readonly SeriesErrors[], series: readonly HeldOutSeries[], length: number): number[] {
  const out: number[] = [];
  series.forEach((s, i) => {
    const rows = s.values.length / s.channels;
    for (let end = rows - 1; end - length + 1 >= s.from; end -= length) {
      const first = end - length + 1;
      let p = 0;
      let pn = 0;
      for (let r = first; r <= end; r++) {
        if (!Number.isNaN(e[i].pred[r])) {
          p += e[i].pred[r];
          pn++;
        }
      }
      let d = 0;
      let dn = 0;
      for (const x of e[i].decodes) {
        if (x.end >= first && x.end <= end) {
          d += x.err;
          dn++;
        }
      }
      out.push(pn > 0 && dn > 0 ? d / dn + TRAIN_DEFAULTS.predWeight * (p / pn) : Number.NaN);
    }
  });
  return out;
}

/**
 * One model's loss on each held-out reading of one series, for the Diebold-Mariano test: its reconstruction error
 * of the decode that covers the reading (the first of the model's decodes ending at or after it: every reading is
 * in one decode's hop) + predWeight · its squared prediction error there, so the readings' mean is the loss's
 * weighting (reconstruction + predWeight · prediction). NaN where either is missing (before the held-out part, after
 * the last decode).
 */
function readingLosses(e: SeriesErrors, s: HeldOutSeries): Float64Array {
  const rows = s.values.length / s.channels;
  const out = new Float64Array(rows).fill(Number.NaN);
  let k = 0;
  for (let r = s.from; r < rows; r++) {
    while (k < e.decodes.length && e.decodes[k].end < r) k++;
    if (k >= e.decodes.length) break;
    out[r] = e.decodes[k].err + TRAIN_DEFAULTS.predWeight * e.pred[r];
  }
  return out;
}

/** Stretches wanted (for the reason's "lower on k of n stretches") when the held-out readings allow, a window long each. */
export const GATE_MIN_STRETCHES = 8;

export function stretchLength(full: number, hop: number, series: readonly HeldOutSeries[]): number {
  const count = (length: number): number =>
    series.reduce((n, s) => n + Math.max(0, Math.floor((s.values.length / s.channels - s.from) / length)), 0);
  if (count(full) >= GATE_MIN_STRETCHES) return full;
  for (let length = Math.floor((full - 1) / hop) * hop; length > hop; length -= hop) {
    if (count(length) >= GATE_MIN_STRETCHES) return length;
  }
  return Math.min(full, hop);
}

/**
 * The fewest stretches (at least a hop of readings each) of held-out readings the gate tests on: 5, so the
 * Diebold-Mariano test's bandwidth, at least a hop, is at most a fifth of them (fixed-b 0.2: critical value 2.09;
 * with 2 stretches, b 0.5, it is 2.81, and the variance rests on two decodes' reconstruction errors). Below it no
 * candidate passes ("too few stretches"). The number the sign test needed before (5 of 5 better: p 1/32), so that
 * learning.minReadings' floor (fewestReadingsToPass: 400 for the shipped hop) stays where it was.
 */
export const GATE_MIN_TESTED = 5;

/**
 * The one-sided 95 % critical value of a t-statistic with a Bartlett-kernel (Newey-West) long-run variance whose
 * bandwidth is the fraction `b` (0 < b ≤ 1) of the sample: Kiefer & Vogelsang's fixed-b asymptotics ("A new
 * asymptotic theory for heteroskedasticity-autocorrelation robust tests", Econometric Theory 21(6), 2005, table 1:
 * cv(b) = 1.6449 + 2.1859 b + 0.3142 b² − 0.3427 b³). It accounts for the variance estimate's own noise and bias,
 * which the normal point (1.645, b → 0) ignores and which are large on a hundred readings.
 */
export function fixedBCritical(b: number): number {
  const x = Math.min(1, Math.max(0, b));
  return 1.6449 + 2.1859 * x + 0.3142 * x * x - 0.3427 * x * x * x;
}

/**
 * Diebold & Mariano's test ("Comparing predictive accuracy", J. Business & Economic Statistics 13(3), 1995) that the
 * mean of a loss differential is above 0, on `differences`: one array per series (loss of the model in use − loss
 * of the new model, reading by reading, time order), the series independent of each other. The long-run variance is
 * Newey & West's (Econometrica 55(3), 1987): Bartlett weights 1 − j/M on the autocovariances up to lag M − 1, summed
 * within each series, about the pooled mean. The bandwidth M is Andrews' AR(1) plug-in for the Bartlett kernel
 * ("Heteroskedasticity and autocorrelation consistent covariance matrix estimation", Econometrica 59(3), 1991,
 * section 6: 1.1447 (α̂ n)^(1/3), α̂ = 4ρ̂² / ((1 − ρ̂)² (1 + ρ̂)²), ρ̂ the lag-1 autocorrelation), at least
 * `minBandwidth` (the gate: the larger hop, over which a decode's reconstruction error is shared by every reading)
 * and at most the mean series length; the critical value is the fixed-b one for b = M / mean series length
 * (fixedBCritical), so a wide bandwidth on few readings costs power, not level.
 * @param minBandwidth readings (≥ 1)
 * @returns the figures; t NaN when every difference is 0 (a tie), +∞ when all are the same positive number.
 * @throws RangeError when there are no differences
 */
export function dieboldMariano(differences: readonly Float64Array[], minBandwidth: number): DieboldMarianoFigures {
  const series = differences.filter((d) => d.length > 0);
  const n = series.reduce((k, d) => k + d.length, 0);
  if (n === 0) throw new RangeError('no loss differences to test');
  const mean = series.reduce((x, d) => x + d.reduce((a, v) => a + v, 0), 0) / n;
  const perSeries = n / series.length;
  const autocovariance = (lag: number): number => {
    let g = 0;
    for (const d of series) for (let t = lag; t < d.length; t++) g += (d[t] - mean) * (d[t - lag] - mean);
    return g / n;
  };
  const g0 = autocovariance(0);
  const rho = g0 > 0 ? Math.max(-0.99, Math.min(0.99, autocovariance(1) / g0)) : 0;
  const alpha = (4 * rho * rho) / ((1 - rho) ** 2 * (1 + rho) ** 2);
  const bandwidth = Math.max(1, Math.min(Math.floor(perSeries), Math.max(Math.ceil(minBandwidth), Math.ceil(1.1447 * Math.cbrt(alpha * n)))));
  let lrv = g0;
  for (let j = 1; j < bandwidth; j++) lrv += 2 * (1 - j / bandwidth) * autocovariance(j);
  const critical = fixedBCritical(bandwidth / perSeries);
  // A spread below the rounding of the mean is none: differences alike to the last bits.
  const t = !(lrv > 1e-24 * mean * mean) ? (mean > 0 ? Infinity : mean < 0 ? -Infinity : Number.NaN) : mean / Math.sqrt(lrv / n);
  return { readings: n, mean, bandwidth, t, critical };
}

/** The fewest stretches with which the gate's test can pass: GATE_MIN_TESTED. */
export function fewestPassingStretches(): number {
  return GATE_MIN_TESTED;
}

/**
 * The fewest readings of one sensor with which its first own model can pass the gate at all: its newest
 * HOLDOUT_FRACTION (splitHeldOut's floor) must hold fewestPassingStretches() stretches of `hop` readings, the
 * shortest stretchLength cuts (400 for the shipped hop of 16: 80 held out, 5 stretches). With fewer, every first
 * model is trained and then rejected for "too few stretches", however good it is (tryout 16, finding 8).
 * A group's readings are counted over its sensors, so it needs at least as many.
 * @param hop readings between decodes of the models compared (window.hop; the larger of the two models' hops)
 * @returns readings (≥ 1)
 */
export function fewestReadingsToPass(hop: number): number {
  const heldWanted = fewestPassingStretches() * hop;
  let readings = Math.max(1, Math.ceil(heldWanted / HOLDOUT_FRACTION) - 1);
  while (Math.floor(readings * HOLDOUT_FRACTION) < heldWanted) readings++;
  return readings;
}

/**
 * Whether a candidate's held-out loss over the current model's (`ratio`, candidate / current) is a tie as the
 * operator reads it: it rounds to 1.00 at the 3 significant digits every gate message writes it with. The gate's
 * reason (gate) and the short text of status, the API and the dashboard (learner.ts rejectedText) both say
 * "tied" then, not "1.00 times worse".
 */
export function isTie(ratio: number): boolean {
  return Number.isFinite(ratio) && ratio.toPrecision(3) === (1).toPrecision(3);
}

/**
 * Decides whether `candidate` may replace `current` (null: the sensor has no model, not even the shared
 * one; then anything is better than nothing): both scored by heldOutErrors on the same held-out rows. The
 * candidate passes only when it is measurably better, both of:
 * - its loss there is lower by at least GATE_MARGIN (5 %) of the current model's, and
 * - its loss is lower on the held-out readings by more than their spread allows by chance: Diebold & Mariano's
 *   one-sided test at GATE_ALPHA (5 %) on the readings' loss differences (readingLosses: each reading's
 *   prediction error and the reconstruction error of the decode covering it), with a Newey-West variance that
 *   accounts for neighbouring readings' correlated errors and a fixed-b critical value (dieboldMariano). It
 *   replaces a sign test over disjoint stretches (finding "gatepower": 80 held-out readings, as 400 learning readings
 *   give, made 5 stretches of 16, and the sign test passed only when all 5 were lower, whatever the margin).
 * With fewer than GATE_MIN_TESTED (5) stretches of held-out readings (stretchLength), or none at all, it is not
 * measurably better, and the reason says so. The reason also tells on how many stretches the new model was lower.
 */
export async function gate(candidate: ModelRunner, current: ModelRunner | null, series: readonly HeldOutSeries[]): Promise<GateDecision> {
  const heldOut = series.reduce((n, s) => n + s.values.length / s.channels - s.from, 0);
  const cand = await heldOutDetail(candidate, series);
  if (current === null) return { accepted: true, reason: 'no model in use', candidate: cand.figures, current: null, heldOut };
  const cur = await heldOutDetail(current, series);
  const length = stretchLength(
    Math.max(candidate.sidecar.window, current.sidecar.window, candidate.sidecar.hop, current.sidecar.hop),
    Math.max(candidate.sidecar.hop, current.sidecar.hop),
    series,
  );
  const a = stretchLosses(cand.perSeries, series, length);
  const b = stretchLosses(cur.perSeries, series, length);
  let stretches = 0;
  let better = 0;
  let compared = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) continue;
    compared++;
    if (a[i] === b[i]) continue;
    stretches++;
    if (a[i] < b[i]) better++;
  }
  // The readings' loss differences, model in use − new model, one array per series.
  const differences = series.map((s, i) => {
    const x = readingLosses(cand.perSeries[i], s);
    const y = readingLosses(cur.perSeries[i], s);
    const d: number[] = [];
    for (let r = s.from; r < x.length; r++) if (!Number.isNaN(x[r]) && !Number.isNaN(y[r])) d.push(y[r] - x[r]);
    return Float64Array.from(d);
  });
  const test = compared >= GATE_MIN_TESTED && differences.some((d) => d.length > 0) ? dieboldMariano(differences, Math.max(candidate.sidecar.hop, current.sidecar.hop)) : undefined;
  const paired: PairedFigures = { length, stretches, better, ...(test ? { test } : {}) };
  const fig = (f: HeldOutFigures): string => `loss ${f.loss.toPrecision(3)} (prediction ${f.predMse.toPrecision(3)}, reconstruction ${f.reconMse.toPrecision(3)})`;
  const c = cand.figures;
  const u = cur.figures;
  const ratio = c.loss / u.loss;
  const lower = c.loss <= (1 - GATE_MARGIN) * u.loss;
  const significant = test !== undefined && test.t > test.critical;
  const accepted = c.predictions > 0 && lower && significant;
  // Tied: the same loss on every stretch compared (fine-tuning that kept the shared weights), or a loss ratio
  // that rounds to 1.00 (lossRatioWords): told "tied", never "1.00 times worse" nor "no held-out readings".
  const verdict = accepted
    ? 'measurably better'
    : c.predictions === 0 || compared === 0
      ? 'no held-out readings to tell them apart: not measurably better'
      : stretches === 0
        ? `tied with the model in use (the same loss on all ${compared} stretches of ${length} readings): not measurably better`
        : isTie(ratio)
          ? 'tied with the model in use: not measurably better'
          : ratio >= 1
            ? `${ratio.toPrecision(3)} times worse`
            : `not measurably better (${!lower ? `${percentLower(ratio)} % lower, needs ${GATE_MARGIN * 100} %` : compared < GATE_MIN_TESTED ? `too few stretches: ${compared}, needs ${GATE_MIN_TESTED}` : `lower by less than the readings' spread allows: Diebold-Mariano t ${test !== undefined ? test.t.toPrecision(3) : '–'}, needs more than ${test !== undefined ? test.critical.toPrecision(3) : '–'}`})`;
  const reason =
    `on ${heldOut} held-out normal readings: new model ${fig(c)}, model in use ${fig(u)}` +
    (stretches > 0 ? `; ${ratio.toPrecision(3)} times its loss, lower on ${better} of ${stretches} stretches of ${length} readings` + (test !== undefined ? ` (Diebold-Mariano t ${test.t.toPrecision(3)} on ${test.readings} readings, bandwidth ${test.bandwidth}; ${(100 * GATE_ALPHA).toFixed(0)} % critical value ${test.critical.toPrecision(3)})` : '') : '') +
    `: ${verdict}`;
  return { accepted, reason, candidate: c, current: u, heldOut, paired };
}
