/**
 * How a model does on held-out segments of the synthetic normal family (src/train/synthetic.ts), kind by
 * kind, scored the step detector's way: the errors it makes on normal data, against the naive "next = last"
 * predictor, how often its calibration flags normal steps, and whether a spike or a level shift injected
 * into each segment stands out. The check behind the shipped models (docs/MODEL.md, "The shipped models").
 */
import type { ModelRunner } from '../contract/ports.js';
import type { Calibration, Normalisation, Seq2SeqParams } from '../model/spec.js';
import { standardisedSegments } from './dataset.js';
import { evaluateStream, normalise } from './evaluate.js';
import { mulberry32 } from './rng.js';
import { fromSeq2SeqParams } from './seq2seq.js';
import { normalFamily, SIGNAL_KINDS, type SignalKind } from './synthetic.js';

/** The errors of one stream scored from a reset the detector's way. */
export interface StreamErrors {
  /** Per step t with a next reading: mean over channels of (pred[t] − x[t+1])². */
  readonly predErrors: Float64Array;
  /** Per reconstruction (every hop steps): MSE over its min(W, steps so far) steps and the channels. */
  readonly reconErrors: Float64Array;
}

/** Scores normalised one-channel streams of equal length, each from a zero state. */
export type StreamScorer = (streams: readonly Float64Array[]) => Promise<StreamErrors[]>;

/** The TypeScript reference as a scorer (evaluateStream). */
export function paramsScorer(params: Seq2SeqParams, window: number, hop: number): StreamScorer {
  const p = fromSeq2SeqParams(params);
  return (streams) =>
    Promise.resolve(
      streams.map((v) => {
        const e = evaluateStream(p, v, [{ burnFrom: 0, from: 0, to: v.length / p.channels }], window, hop, 0);
        return { predErrors: e.predErrors, reconErrors: e.reconErrors };
      }),
    );
}

/**
 * A loaded model as a scorer, through the model port (step and decode graphs in onnxruntime): all streams in
 * one batch, `hop` steps per step call, a decode of min(W, steps so far) after each. One-channel models only.
 */
export function runnerScorer(model: ModelRunner, window: number, hop: number): StreamScorer {
  return async (streams) => {
    if (model.sidecar.channels.length !== 1) throw new RangeError(`runnerScorer: ${model.id} has ${model.sidecar.channels.length} channels, needs 1`);
    const B = streams.length;
    const N = B === 0 ? 0 : streams[0].length;
    if (streams.some((v) => v.length !== N)) throw new RangeError('runnerScorer: streams must be of equal length');
    const H = model.sidecar.hidden;
    const lstm = model.sidecar.cell === 'lstm';
    let h: Float32Array = new Float32Array(B * H);
    let c: Float32Array | undefined = lstm ? new Float32Array(B * H) : undefined;
    const pred = streams.map(() => new Float64Array(Math.max(0, N - 1)));
    const recon: number[][] = streams.map(() => []);
    for (let from = 0; from < N; from += hop) {
      const T = Math.min(hop, N - from);
      const x = new Float32Array(T * B);
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) x[t * B + b] = streams[b][from + t];
      const out = await model.step({ x, seqLens: new BigInt64Array(B).fill(BigInt(T)), h0: h, ...(c ? { c0: c } : {}), B, T });
      for (let t = 0; t < T && from + t + 1 < N; t++) for (let b = 0; b < B; b++) pred[b][from + t] = (out.pred[t * B + b] - streams[b][from + t + 1]) ** 2;
      h = out.h;
      c = out.c;
      if (T < hop) break;
      const W = Math.min(window, from + T);
      const d = await model.decode({ h, ...(c ? { c } : {}), B, W });
      for (let b = 0; b < B; b++) {
        let e = 0;
        for (let k = 0; k < W; k++) e += (d.recon[k * B + b] - streams[b][from + T - 1 - k]) ** 2;
        recon[b].push(e / W);
      }
    }
    return streams.map((_, b) => ({ predErrors: pred[b], reconErrors: Float64Array.from(recon[b]) }));
  };
}

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
 * held-out family, scored by `score` (the TypeScript reference or the shipped graphs in onnxruntime). An
 * error e is flagged when (ln e − μ) / σ > z: with μ, σ the calibration's log-normal prior for the
 * false-flag rates (how well the sidecar's prior fits each kind), and the segment's own normal errors for
 * the injected anomalies. The first `window` steps after the reset are not counted.
 */
export async function familyReport(score: StreamScorer, normalisation: Normalisation, calibration: Calibration, opts: FamilyReportOptions): Promise<KindReport[]> {
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
    // Per segment: the normal signal, one with a spike and one with a level shift at a random row of the second half.
    const cases = segments.map((seg) => {
      const { values } = standardisedSegments([seg.values]);
      const at = Math.floor(values.length / 2 + rng() * (values.length / 2 - 2));
      const spiked = values.slice();
      spiked[at] += spike;
      const shifted = values.slice();
      for (let t = at; t < shifted.length; t++) shifted[t] += shift;
      return { values, at, streams: [values, spiked, shifted].map((v) => normalise(v, 1, normalisation)) };
    });
    const scored = await score(cases.flatMap((k) => k.streams));
    const preds: number[] = [];
    const recons: number[] = [];
    let modelSq = 0;
    let persistSq = 0;
    let falsePred = 0;
    let falseRecon = 0;
    let spikes = 0;
    let shifts = 0;
    cases.forEach(({ values, at }, i) => {
      const [normal, spiked, shifted] = scored.slice(3 * i, 3 * i + 3);
      const settledPred = normal.predErrors.subarray(W);
      const settledRecon = normal.reconErrors.subarray(Math.ceil(W / hop));
      preds.push(...settledPred);
      recons.push(...settledRecon);
      modelSq += settledPred.reduce((a, b) => a + b, 0);
      for (let t = W; t + 1 < values.length; t++) persistSq += (values[t + 1] - values[t]) ** 2;
      falsePred += settledPred.filter((x) => flagged(x, calibration.pred)).length;
      falseRecon += settledRecon.filter((x) => flagged(x, calibration.recon)).length;
      const ownPred = own(settledPred);
      if (flagged(spiked.predErrors[at - 1], ownPred)) spikes++;
      if (flagged(shifted.predErrors[at - 1], ownPred)) shifts++;
    });
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
