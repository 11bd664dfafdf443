/**
 * Finding (thirty-fourth session, `biasprior`; BENCHMARKS.md, `modelcal`): the scorer's `bias` kind (the short mean
 * of the signed prediction residual) had no validation prior, and its reference history holds one value per
 * score.smooth readings of the learning rows only: a well-trained model's residuals there are narrower than in the
 * normal operation that follows, so the first stretch of normal operation a little beyond them was called one in a
 * million (6 of the 8 false episodes a better-trained own model opened on SKAB/MSL). The model's calibration now
 * carries bias's prior (the squared short means of its residuals on the validation tail, src/train/evaluate.ts
 * shortMeanErrors, src/train/trainer.ts calibrate), which the scorer blends in as it does prediction's and
 * reconstruction's. Measured the shipped configuration's way (config/default.yaml's scorer options).
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/schema.js';
import { detectorOptions, priorsOfCalibration } from '../../src/pipeline/detector.js';
import { StreamScorer, type ModelPriors } from '../../src/pipeline/scorer.js';
import { stepResult } from '../helpers/step-result.js';
import { shortMeanErrors } from '../../src/train/evaluate.js';
import { calibrate, TRAIN_DEFAULTS } from '../../src/train/trainer.js';
import { normal } from './detector-helpers.js';

const OPTS = { ...detectorOptions(defaultConfig()).scorer, evidence: ['bias' as const] };
/** The learning rows (known normal), as a SKAB file's; the last VALIDATION of them are the model's validation tail. */
const LEARN = 400;
const VALIDATION = 80;
const OFFSET_AT = 800;
const N = 1200;
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

/**
 * One channel whose model's residual (in the stream's std) is AR(1) noise of sd 0.05 on the learning rows; after
 * them, normal operation the model follows a little less well: the residual wanders by `wander` sd (a slow sine),
 * so its 16-reading mean reaches about 2.5 times the learning rows' 95th percentile (SKAB's were 7-400 times).
 * From OFFSET_AT on, `offset` more (a fault the model does not follow). `withPrior`: the scorer's priors are the
 * calibration's of the validation tail's residuals (the trainer's path), else none (a sidecar without bias's).
 */
function run(seed: number, withPrior: boolean, wander: number, offset: number): { opens: number[]; prior: ModelPriors } {
  const z = normal(seed);
  const res: number[] = [];
  let noise = 0;
  for (let i = 0; i < N; i++) {
    noise = 0.5 * noise + Math.sqrt(0.75) * 0.05 * z();
    res.push(noise + (i >= LEARN ? wander * Math.sin(i / 60) : 0) + (i >= OFFSET_AT ? offset : 0));
  }
  const tail = Float64Array.from(res.slice(LEARN - VALIDATION, LEARN));
  const predErrors = tail.map((r) => r * r);
  const span = TRAIN_DEFAULTS.biasSpan;
  const calibration = calibrate(predErrors, predErrors, TRAIN_DEFAULTS.minLogErrStd, 0.999, { errors: shortMeanErrors({ residuals: tail, rangeEnds: Int32Array.of(VALIDATION) }, 1, span), span });
  const priors = priorsOfCalibration(calibration);
  const scorer = new StreamScorer(OPTS, { newId: () => 'e', priorsFor: () => (withPrior ? priors : { prediction: null, reconstruction: null }) });
  const opens: number[] = [];
  for (let i = 0; i < N; i++) {
    const v = 20 + 0.3 * Math.sin(i / 50);
    const r = res[i];
    const step = stepResult({ index: i, values: [v], modelId: 'm', z: [(v - 20) / 0.25], mean: [20], residuals: [r] });
    if (scorer.score(step, i < LEARN).scored.events.some((e) => e.kind === 'open')) opens.push(i);
  }
  return { opens, prior: priors };
}

describe("bias's validation prior: a history too short and too narrow does not speak with a million to one", () => {
  it('the calibration carries it in the scorer’s units: log10 of the squared 16-reading mean of the residual', () => {
    const { prior } = run(1, true, 0, 0);
    expect(prior.bias).not.toBeNull();
    // AR(1) of sd 0.05 and coefficient 0.5: a 16-mean of sd about 0.05 · sqrt(3) / 4 = 0.022, squared about 5e-4
    // (log10 −3.3; the log of a squared normal's median lies lower, a chi-square of one degree's 0.45).
    expect(prior.bias!.mean).toBeGreaterThan(-5);
    expect(prior.bias!.mean).toBeLessThan(-3);
    expect(prior.bias!.span).toBe(16);
  });

  it('normal operation a little wider than the learning rows is not flagged by bias; a real offset of the prediction still is', () => {
    for (const seed of SEEDS) {
      const { opens } = run(seed, true, 0.1, 0.5);
      // Nothing while the residual only wanders ...
      expect(opens.filter((i) => i < OFFSET_AT)).toEqual([]);
      // ... and the offset (10 times the learning residual's sd, 5 times the wander) opens within two short means.
      const first = opens.find((i) => i >= OFFSET_AT);
      expect(first).toBeDefined();
      expect(first! - OFFSET_AT).toBeLessThan(2 * OPTS.smooth);
    }
  });

  it('without the prior (a sidecar written before it) the same wander is called rare: what the prior is for', () => {
    // (On main, before the prior: 5 of these 8 opened a false episode on the wander within 61 readings of the learning rows.)
    const falseOpens = SEEDS.filter((seed) => run(seed, false, 0.1, 0.5).opens.some((i) => i >= LEARN && i < OFFSET_AT));
    expect(falseOpens.length).toBeGreaterThanOrEqual(SEEDS.length / 2);
  });

  it('a prior measured over another span is moved to the scorer’s: a mean of k independent residuals varies 1/k as much', () => {
    const priors = (span: number): ModelPriors => priorsOfCalibration(calibrate(Float64Array.of(1, 2), Float64Array.of(1, 2), 0.1, 0.999, { errors: Float64Array.of(1e-4, 4e-4, 1e-3), span }));
    const at16 = priors(16).bias!;
    const at32 = priors(32).bias!;
    expect(at32.mean).toBeCloseTo(at16.mean, 12);
    expect(at32.span).toBe(32);
    // The scorer shifts it by log10(span / smooth) when it seeds the histories: checked through what it judges.
    const judged = (p: ModelPriors, e: number): number => {
      const scorer = new StreamScorer({ ...OPTS, learnReadings: 8 }, { newId: () => 'e', priorsFor: () => p });
      let last = Number.NaN;
      for (let i = 0; i < 40; i++) {
        const step = stepResult({ index: i, values: [20], modelId: 'm', mean: [20], residuals: [e] });
        last = scorer.score(step, false).scored.deviationEvidence.bias;
      }
      return last;
    };
    // Squared means over 32 readings of these sizes are twice as large over 16: an offset judged against the prior
    // of span 32 is less rare than against the same numbers taken as 16-means.
    expect(judged(priors(32), 0.05)).toBeLessThan(judged(priors(16), 0.05));
  });
});
