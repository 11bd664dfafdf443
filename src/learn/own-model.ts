/**
 * The one decision of whether a scope (one sensor, a group of sensors, or a replayed stream) gets a model of its
 * own: the device's learner (src/learn/learner.ts) and the replay (src/replay/run.ts, and so `npm run evaluate`)
 * both call decideOwnModel, so what the evaluation measures is what the device does (issue 10, cause 5: the
 * evaluation learnt each file's model from random weights and always used it; the device fine-tunes the shared
 * model, keeps its newest readings apart and swaps a new model in only when the gate finds it measurably better).
 *
 * The path, per call:
 * 0. a history that drifts in its newest part (src/learn/drift-guard.ts driftedHistory) is no normal to learn:
 *    `drifted`, nothing is trained (the learner refused it before the replay did: issue 10, cause 5);
 * 1. each history is split by splitHeldOut (src/learn/gate.ts): its oldest 1 − HOLDOUT_FRACTION train, its newest
 *    HOLDOUT_FRACTION are the gate's held-out readings, which neither the weights nor the calibration see;
 * 2. the training parts are standardised each on its own, one segment per history (standardisedSegments), and a
 *    candidate is trained, starting from the shared model's weights when its cell, hidden size and channels are the
 *    training's (`init`: fine-tuning, docs/MODEL.md "Learning on the device"), else from a random initialisation;
 * 3. a fine-tuning that kept the shared weights (TrainResult.bestEpoch 0) while the scope is on the shared model made
 *    no new model: `unchanged`, neither written nor gated;
 * 4. otherwise the candidate (its normalisation back in sensor units when it was learnt on one history) is written
 *    and loaded by the caller, and the gate (src/learn/gate.ts `gate`) compares it with the model in use on the
 *    held-out readings: `accepted` (the caller installs it) or `rejected` (discarded here; the scope keeps its model).
 */
import type { ModelRunner } from '../contract/ports.js';
import type { Seq2SeqParams } from '../model/spec.js';
import { inSensorUnits, standardisationOf, standardisedSegments } from '../train/dataset.js';
import type { TrainOptions, TrainProgress, TrainResult, TrainSeries } from '../train/trainer.js';
import { driftedHistory, type DriftGuard, type DriftedHistory } from './drift-guard.js';
import { gate, splitHeldOut, type GateDecision, type HeldOutSeries } from './gate.js';

/** The training options of an own model apart from where it starts (`init`) and the clock: cell and hidden are needed for the init rule. */
export type OwnTrainOptions = Omit<TrainOptions, 'now' | 'init' | 'source' | 'cell' | 'hidden'> & {
  readonly cell: NonNullable<TrainOptions['cell']>;
  readonly hidden: number;
};

/** What the decision needs from its caller: training, the model in use, and where a candidate is written. */
export interface OwnModelSteps<M extends ModelRunner> {
  /** Trains one series (inline, in a worker, or remembered): the series' arrays may be transferred. */
  readonly train: (series: TrainSeries, opts: Omit<TrainOptions, 'now'>, onProgress?: (p: TrainProgress) => void) => Promise<TrainResult>;
  /**
   * The model the scope uses when the training ended (the gate judges the candidate against it; null: none, not
   * even the shared one, when any model is better than nothing), and whether it is the shared (shipped) model.
   */
  readonly inUse: () => { readonly model: ModelRunner | null; readonly shared: boolean };
  /** Writes the candidate and loads it; `discard` releases it and removes its files (after a rejection). */
  readonly materialise: (result: TrainResult) => Promise<{ readonly model: M; readonly discard: () => Promise<void> }>;
  /** True when the caller stopped during the training (the learner's stop()): nothing is written or gated. */
  readonly stopped?: () => boolean;
  readonly onProgress?: (p: TrainProgress) => void;
}

/** One scope's normal histories and how to learn from them. */
export interface OwnModelInput {
  /** One history per sensor of the scope: time-major rows of `channels` values, raw (sensor units), oldest first. */
  readonly histories: readonly (Float32Array | Float64Array)[];
  readonly channels: number;
  readonly options: OwnTrainOptions;
  /** The shared model's weights, the start of a fine-tuning when they fit (null: none, from a random initialisation). */
  readonly shared: Seq2SeqParams | null;
  /** ModelSidecar.training.source, told whether the model was fine-tuned from the shared one. */
  readonly source: (fineTuned: boolean) => string;
  /** The drift guard's settings (driftGuardOf(config)): a history drifting in its newest part is not trained on. */
  readonly drift: DriftGuard;
}

/** What decideOwnModel decided; `result` is the training's (its losses, bestEpoch, validation figures). */
export type OwnModelOutcome<M extends ModelRunner> =
  | { readonly kind: 'stopped' }
  /** A history drifted in its newest part (which, where): nothing was trained, the scope keeps its model. */
  | { readonly kind: 'drifted'; readonly drifted: DriftedHistory }
  /** Fine-tuning kept the shared weights: no new model, the scope stays on the shared model `current`. */
  | { readonly kind: 'unchanged'; readonly result: TrainResult; readonly current: ModelRunner }
  /** The gate rejected the candidate (already discarded): the scope keeps `current`. */
  | { readonly kind: 'rejected'; readonly result: TrainResult; readonly decision: GateDecision; readonly current: ModelRunner | null; readonly candidateId: string }
  /** The gate accepted `model` (written and loaded, the caller installs it). */
  | { readonly kind: 'accepted'; readonly result: TrainResult; readonly decision: GateDecision; readonly current: ModelRunner | null; readonly model: M; readonly discard: () => Promise<void> };

/** The scope's training rows and held-out series (splitHeldOut per history), and the rows trained on. */
export function ownModelSplit(histories: readonly (Float32Array | Float64Array)[], channels: number): { train: Float32Array[]; heldOut: HeldOutSeries[]; rows: number } {
  const train: Float32Array[] = [];
  const heldOut: HeldOutSeries[] = [];
  let rows = 0;
  for (const h of histories) {
    const { train: t, held } = splitHeldOut(h, channels);
    train.push(t);
    heldOut.push(held);
    rows += t.length / channels;
  }
  return { train, heldOut, rows };
}

/** Whether the shared weights can start a model of these options and channels (cell, hidden size and channels equal). */
export function fineTunesFrom(shared: Seq2SeqParams | null, options: Pick<OwnTrainOptions, 'cell' | 'hidden'>, channels: number): shared is Seq2SeqParams {
  return shared !== null && shared.cell === options.cell && shared.hidden === options.hidden && shared.channels === channels;
}

/**
 * Unless a history drifts in its newest part (`drifted`, nothing trained), trains a candidate own model on the older
 * part of `input.histories` and decides, with the gate on their newest part, whether it replaces the model in use
 * (module comment: the path). Channel names are `value` for one channel,
 * `c0`, `c1`… for more, as the learner has always named them.
 *
 * @throws what the trainer throws (RangeError for a series too short to learn from or non-finite values), what
 *   materialise throws, and what the gate throws (RangeError when the model in use reads other channels); a
 *   candidate written before the gate threw is discarded first.
 */
export async function decideOwnModel<M extends ModelRunner>(input: OwnModelInput, steps: OwnModelSteps<M>): Promise<OwnModelOutcome<M>> {
  const C = input.channels;
  const drifted = driftedHistory(input.histories, C, input.drift);
  if (drifted !== null) return { kind: 'drifted', drifted };
  const { train, heldOut } = ownModelSplit(input.histories, C);
  const { values, segments } = standardisedSegments(train, C);
  const init = fineTunesFrom(input.shared, input.options, C) ? input.shared : undefined;
  const channels = Array.from({ length: C }, (_, c) => (C === 1 ? 'value' : `c${c}`));
  const result = await steps.train(
    { channels, values, segments },
    { ...input.options, seed: input.options.seed ?? 1, source: input.source(init !== undefined), ...(init ? { init } : {}) },
    steps.onProgress,
  );
  if (steps.stopped?.() === true) return { kind: 'stopped' };
  const inUse = steps.inUse();
  // Fine-tuning that kept its starting weights (no epoch's validation loss fell below the start: early stopping
  // returned the shared model's weights) made no new model for a scope already on the shared model: it is not
  // written or gated, and told as what it is (tryout 26: it was reported as a tied, rejected model).
  if (init !== undefined && result.bestEpoch === 0 && inUse.model !== null && inUse.shared) return { kind: 'unchanged', result, current: inUse.model };
  // The trainer saw standardised readings, so its normalisation is in standardised units (mean ~0, std ~1). A
  // model learnt on one history gets it back in that history's units: it seeds a new stream of the sensor
  // (src/pipeline/steps.ts seedNormalisation). A group's model keeps it as it is: it is no one sensor's.
  const trained: TrainResult = train.length === 1 ? { ...result, normalisation: inSensorUnits(result.normalisation, standardisationOf(train[0], C)) } : result;
  const { model, discard } = await steps.materialise(trained);
  let decision: GateDecision;
  try {
    decision = await gate(model, inUse.model, heldOut);
  } catch (err) {
    await discard();
    throw err;
  }
  if (!decision.accepted) {
    await discard();
    return { kind: 'rejected', result, decision, current: inUse.model, candidateId: model.id };
  }
  return { kind: 'accepted', result, decision, current: inUse.model, model, discard };
}

/**
 * Why a training made no new model, for people: "training from the shared model kept its weights: none of its
 * 4 epochs lowered the validation loss below the start (0.1234; lowest 0.1301)".
 */
export function unchangedReason(epochs: number, initialValLoss: number, lowest: number): string {
  return `training from the shared model kept its weights: none of its ${epochs} epoch${epochs === 1 ? '' : 's'} lowered the validation loss below the start (${initialValLoss.toPrecision(4)}; lowest ${lowest.toPrecision(4)})`;
}

/**
 * What the operator is told of a sensor whose own model is of another cell than `model.cell` (the cell was changed on a
 * running install, tryout 39, finding 11): the model stays until retrained, and how. `sensor` the stream, `own` its own
 * model's cell, `configured` model.cell, `retrainEvery` learning.retrainIntervalMs (ms; 0: never). Null when the cells
 * are the same. Used by the daemon's start log and the sensors view (GET /api/sensors `modelNote`, the dashboard).
 */
export function otherCellNote(sensor: string, own: string, configured: string, retrainEvery: number): string | null {
  if (own === configured) return null;
  const retrain = retrainEvery > 0 ? `retrained with model.cell ${configured} by learning.retrainIntervalMs, or at once with` : 'learning.retrainIntervalMs is 0, so only with';
  return `its own ${own} model, learnt before model.cell was ${configured}, stays until retrained (${retrain} 'anomalyd models rollback ${sensor} shared --no-pin': the shared ${configured} model, then a new own ${configured} model after learning.minReadings readings)`;
}
