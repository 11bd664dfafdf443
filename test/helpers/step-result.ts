/**
 * A step result as the step engine hands it to the scorer, built from what a scorer test varies: one reading of
 * `values` (sensor units, one per channel) at `ts` (epoch ms), its normalisation, and (with a model) the signed
 * next-reading residuals. For unit tests of the scorer alone (test/pipeline/scorer.test.ts, bias-prior.test.ts,
 * dwell.test.ts, kept-evidence.test.ts), where the model's outputs are given rather than computed.
 */
import type { StepResult } from '../../src/pipeline/steps.js';

export interface StepResultSpec {
  /** The stream id (default 's'). */
  readonly stream?: string;
  /** The reading's index since the stream began: its segment step is `index + 1`, and index 0 is a reset. */
  readonly index: number;
  /** The reading's time, epoch ms (default `index * 1000`: one reading a second). */
  readonly ts?: number;
  /** The reading, sensor units, one per channel ([C]). */
  readonly values: readonly number[];
  /** Channel names ([C]; default 'a', 'b', … as many as `values`). */
  readonly channels?: readonly string[];
  /** The model id (default null: no model, so no prediction unless `residuals` or `predErrors` are given). */
  readonly modelId?: string | null;
  /** The reading normalised ([C]; default (value − mean) / std). */
  readonly z?: readonly number[];
  /** Running mean and spread per channel ([C], sensor units; default 0 and 1). */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /**
   * Signed next-reading residuals ([C], normalised units): the prediction is `values − residuals`, each channel's
   * squared prediction error the residual squared, and the step's prediction error their sum over channels, as the
   * scorer tests have always built them. Omitted: no prediction (expected, predErrors and predError null) unless
   * `predErrors` is given.
   */
  readonly residuals?: readonly number[];
  /** Squared prediction errors per channel ([C]) when the test gives them without residuals; expected is then the reading. */
  readonly predErrors?: readonly number[];
  /** Per-channel reconstruction errors of a window ending here ([C]), and their step-level value (default null). */
  readonly reconErrors?: readonly number[] | null;
  readonly reconError?: number | null;
}

/**
 * The StepResult<null> of `spec`, warm and settled (the normalisation and the model state past their warm-ups), no
 * fill. Throws nothing; a mismatch of channel counts is the caller's error and surfaces as NaN in the arrays.
 */
export function stepResult(spec: StepResultSpec): StepResult<null> {
  const c = spec.values.length;
  const mean = spec.mean ?? new Array<number>(c).fill(0);
  const std = spec.std ?? new Array<number>(c).fill(1);
  const values = Float64Array.from(spec.values);
  const residuals = spec.residuals ?? null;
  const predErrors = residuals !== null ? residuals.map((r) => r * r) : (spec.predErrors ?? null);
  return {
    stream: spec.stream ?? 's',
    item: { kind: 'reading', ts: spec.ts ?? spec.index * 1000, values, reset: spec.index === 0, filled: 0, origin: null },
    channels: spec.channels ?? spec.values.map((_, i) => String.fromCharCode(97 + i)),
    modelId: spec.modelId ?? null,
    z: Float64Array.from(spec.z ?? spec.values.map((v, i) => (v - mean[i]) / std[i])),
    mean: Float64Array.from(mean),
    std: Float64Array.from(std),
    expected: residuals !== null ? Float64Array.from(spec.values, (v, i) => v - residuals[i]) : predErrors !== null ? Float64Array.from(values) : null,
    predError: predErrors !== null ? predErrors.reduce((s, e) => s + e, 0) : null,
    reconError: spec.reconError ?? null,
    predErrors: predErrors !== null ? Float64Array.from(predErrors) : null,
    reconErrors: spec.reconErrors != null ? Float64Array.from(spec.reconErrors) : null,
    segmentSteps: spec.index + 1,
    warm: true,
    settled: true,
  };
}
