/**
 * How a model does on held-out segments of the synthetic normal family (src/train/synthetic.ts), kind by
 * kind, scored the step detector's way: the errors it makes on normal data, against the naive "next = last"
 * predictor, how often its calibration flags normal steps, and whether a spike or a level shift injected
 * into each segment stands out. The check behind the shipped models (docs/MODEL.md, "The shipped models").
 */
import type { Calibration, Normalisation, Seq2SeqParams } from '../model/spec.js';
import { standardisedSegments } from './dataset.js';
import { evaluateStream, normalise } from './evaluate.js';
import { mulberry32 } from './rng.js';
import { fromSeq2SeqParams } from './seq2seq.js';
import { normalFamily, SIGNAL_KINDS, type SignalKind } from './synthetic.js';

export interface KindReport {
  readonly kind: SignalKind;
  readonly segments: number;
  /** Median over the segments' steps of the next-reading squared error (standardised units). */
  readonly predMedian: number;
  /** Mean prediction MSE divided by the MSE of predicting each reading by the one before (< 1: better than "no change"). */
  readonly predVsPersistence: number;
  /** Median reconstruction error (mean over the last W steps), every hop steps. */
  readonly reconMedian: number;
  /** Share of normal steps whose prediction error lies above the calibration's z threshold. */
  readonly falsePredRate: number;
  /** Share of normal reconstructions above the threshold. */
  readonly falseReconRate: number;
  /**
   * Share of injected spikes (+`spike` standard deviations of the segment, one reading) whose prediction error is
   * flagged against the segment's own normal prediction errors (a log-normal fitted to them), as the detector
   * judges a stream by its own recent history once it has one.
   */
  readonly spikeDetected: number;
  /** The same for a level shift (+`shift` std, held), judged at the first shifted reading. */
  readonly shiftDetected: number;
}

export interface FamilyReportOptions {
  /** Seed of the held-out family: not the training seed. */
  readonly seed: number;
  readonly perKind: number;
  readonly rows: number;
  readonly window: number;
  readonly hop: number;
  /** z above which an error counts as flagged (default 3.09, the one-sided 0.999 quantile). */
  readonly z?: number;
  /** Spike height and level-shift size in standard deviations of the segment (defaults 6 and 3). */
  readonly spike?: number;
  readonly shift?: number;
}

function median(a: Float64Array): number {
  const s = a.slice().sort();
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)];
}

/**
 * Per kind of SIGNAL_KINDS: errors, false-flag rates and injected-anomaly detection of a trained model on a
 * held-out family. An error e is flagged when (ln e − μ) / σ > z: with μ, σ the calibration's log-normal
 * prior for the false-flag rates (how well the sidecar's prior fits each kind), and the segment's own normal
 * errors for the injected anomalies. The first `window` steps after the reset are not counted.
 */
export function familyReport(params: Seq2SeqParams, normalisation: Normalisation, calibration: Calibration, opts: FamilyReportOptions): KindReport[] {
  const p = fromSeq2SeqParams(params);
  const z = opts.z ?? 3.09;
  const spike = opts.spike ?? 6;
  const shift = opts.shift ?? 3;
  const { window: W, hop } = opts;
  type Prior = Pick<Calibration['pred'], 'logErrMean' | 'logErrStd'>;
  const flagged = (e: number, prior: Prior): boolean => (Math.log(Math.max(e, 1e-12)) - prior.logErrMean) / prior.logErrStd > z;
  const own = (errors: Float64Array): Prior => {
    const logs = Array.from(errors, (e) => Math.log(Math.max(e, 1e-12)));
    const m = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, logs.length - 1));
    return { logErrMean: m, logErrStd: Math.max(sd, 0.1) };
  };
  const family = normalFamily({ seed: opts.seed, perKind: opts.perKind, minRows: opts.rows, maxRows: opts.rows });
  const rng = mulberry32(opts.seed ^ 0x5bd1e995);
  const out: KindReport[] = [];
  for (const kind of SIGNAL_KINDS) {
    const segments = family.filter((s) => s.kind === kind);
    const preds: number[] = [];
    const recons: number[] = [];
    let modelSq = 0;
    let persistSq = 0;
    let falsePred = 0;
    let falseRecon = 0;
    let spikes = 0;
    let shifts = 0;
    for (const seg of segments) {
      const { values } = standardisedSegments([seg.values]);
      const run = (v: Float64Array): ReturnType<typeof evaluateStream> =>
        evaluateStream(p, normalise(v, 1, normalisation), [{ burnFrom: 0, from: 0, to: v.length }], W, hop, 0);
      const e = run(values);
      const settledPred = e.predErrors.subarray(W);
      const settledRecon = e.reconErrors.subarray(Math.ceil(W / hop));
      preds.push(...settledPred);
      recons.push(...settledRecon);
      modelSq += settledPred.reduce((a, b) => a + b, 0);
      for (let t = W; t + 1 < values.length; t++) persistSq += (values[t + 1] - values[t]) ** 2;
      falsePred += settledPred.filter((x) => flagged(x, calibration.pred)).length;
      falseRecon += settledRecon.filter((x) => flagged(x, calibration.recon)).length;
      // One anomaly of each sort at a random row of the second half.
      const at = Math.floor(values.length / 2 + rng() * (values.length / 2 - 2));
      const spiked = values.slice();
      spiked[at] += spike;
      const ownPred = own(settledPred);
      if (flagged(run(spiked).predErrors[at - 1], ownPred)) spikes++;
      const shifted = values.slice();
      for (let t = at; t < shifted.length; t++) shifted[t] += shift;
      if (flagged(run(shifted).predErrors[at - 1], ownPred)) shifts++;
    }
    const predArr = Float64Array.from(preds);
    const reconArr = Float64Array.from(recons);
    out.push({
      kind,
      segments: segments.length,
      predMedian: median(predArr),
      predVsPersistence: persistSq === 0 ? Number.NaN : modelSq / persistSq,
      reconMedian: median(reconArr),
      falsePredRate: falsePred / Math.max(1, predArr.length),
      falseReconRate: falseRecon / Math.max(1, reconArr.length),
      spikeDetected: spikes / segments.length,
      shiftDetected: shifts / segments.length,
    });
  }
  return out;
}

/** The report as a Markdown table (docs/MODEL.md). */
export function familyReportTable(rows: readonly KindReport[]): string {
  const f = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
  return [
    '| Kind | Segments | Prediction MSE (median) | vs "next = last" | Reconstruction MSE (median) | Normal steps above the prior (pred / recon) | Spike +6σ caught | Level shift +3σ caught |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) =>
      `| ${r.kind} | ${r.segments} | ${f(r.predMedian, 4)} | ${f(r.predVsPersistence, 2)} | ${f(r.reconMedian, 4)} | ${pct(r.falsePredRate)} / ${pct(r.falseReconRate)} | ${pct(r.spikeDetected)} | ${pct(r.shiftDetected)} |`,
    ),
  ].join('\n');
}
