/**
 * The detector's stages built from a Config exactly as the daemon builds them (src/daemon.ts), so a replay
 * scores what the daemon would have scored. Kept in step with the daemon by hand: if you change how the
 * daemon wires a stage, change it here too.
 */
import type { Config } from '../config/schema.js';
import type { ModelRunner } from '../contract/ports.js';
import { InferenceEngine } from '../pipeline/infer.js';
import { MessageParser } from '../pipeline/parse.js';
import { ScoringRegistry } from '../pipeline/score.js';
import { Windower } from '../pipeline/window.js';
import type { ReplayStages } from './replay.js';

/**
 * `runnerFor` picks a sensor's model (one shared model, or one per sensor after --learn-first). The topic of
 * a replayed row is its sensor name, so the parser takes it as is.
 */
export function createReplayStages(config: Config, runnerFor: (sensor: string) => ModelRunner, runners: readonly ModelRunner[]): ReplayStages {
  const byId = new Map(runners.map((r) => [r.id, r]));
  const parser = new MessageParser({
    sensorOf: (topic) => topic,
    // A replayed row is one instant of a file's columns: one multi-channel reading, as the models expect.
    objects: 'channels',
    maxPayloadBytes: config.ingest.maxPayloadBytes,
    maxFutureMs: config.ingest.maxFutureMs,
    outOfOrderToleranceMs: config.ingest.outOfOrderToleranceMs,
    maxReadingsPerMessage: config.ingest.maxReadingsPerMessage,
    longBurst: config.ingest.longBurst,
    window: config.window.length,
  });
  const windower = new Windower({
    length: config.window.length,
    hop: config.window.hop,
    intervalMs: config.window.intervalMs,
    maxFillSteps: config.window.maxFillSteps,
    gapResetMs: config.window.gapResetMs,
  });
  let anomalous: (sensor: string) => boolean = () => false;
  const engine = new InferenceEngine(runnerFor, {
    batchTickMs: config.model.batchTickMs,
    maxBatch: config.model.maxBatch,
    normHorizon: config.model.normHorizon,
    normWarmup: config.model.normWarmup,
    holdNormalisation: (sensor) => anomalous(sensor),
  });
  let ids = 0;
  const scoring = new ScoringRegistry({
    score: { mode: config.score.mode, shortWindow: config.score.shortWindow, longWindow: config.score.longWindow, priorWeight: config.score.priorWeight },
    threshold: config.score.threshold,
    alerts: config.alerts,
    priorFor: (modelId) => {
      const runner = byId.get(modelId);
      if (runner === undefined) throw new Error(`replay: no model with id ${modelId}`);
      return { logErrMean: runner.sidecar.calibration.logErrMean, logErrStd: runner.sidecar.calibration.logErrStd };
    },
    // Deterministic ids: a replay of the same input gives the same output, episode ids included.
    newId: () => `replay-${++ids}`,
    onRelearn: (sensor) => engine.resetNormalisation(sensor),
  });
  anomalous = (sensor) => scoring.lifecycleFor(sensor).status === 'anomalous';
  return { parser, windower, engine, scoring };
}
