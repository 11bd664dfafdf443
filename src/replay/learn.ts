/**
 * `--learn-first`: what on-device learning does, on a recording. Each sensor's model is trained on that
 * sensor's rows among the first N rows of the input only, exported to ONNX and loaded into onnxruntime,
 * exactly as a model trained by `anomalyd train` would be. Nothing after row N is looked at.
 */
import type { LoadedModel, ModelLoader } from '../contract/ports.js';
import { writeModel } from '../model/onnx-export.js';
import { sidecarOf, trainModel, type TrainOptions, type TrainResult, type TrainSeries } from '../train/trainer.js';
import type { ReplayRow } from './replay.js';

export interface LearnOptions {
  /** Training options (window and hop should be the replay's window.length and window.hop). */
  readonly train: Omit<TrainOptions, 'now' | 'source'>;
  /** Where the models are written (a temporary directory the caller removes). */
  readonly dir: string;
  /** Loads each written model (the caller picks onnxruntime on this thread or the inference worker). */
  readonly loadModel: ModelLoader;
  /** Trains one series; the inline trainer by default (tests and the evaluation inject others). */
  readonly trainer?: (series: TrainSeries, opts: TrainOptions) => Promise<TrainResult>;
}

export interface LearnedModels {
  /** Sensor -> its model. */
  readonly models: ReadonlyMap<string, LoadedModel>;
  /** Wall time spent training and exporting, seconds. */
  readonly seconds: number;
  readonly results: ReadonlyMap<string, TrainResult>;
}

/** The rows [0, learnRows) of each sensor as a training series; values that are not finite are skipped. */
export function learnSeries(rows: readonly ReplayRow[], learnRows: number): Map<string, TrainSeries> {
  const bySensor = new Map<string, { channels: readonly string[]; values: number[] }>();
  for (let i = 0; i < Math.min(learnRows, rows.length); i++) {
    const r = rows[i];
    if (!r.values.every(Number.isFinite)) continue;
    let s = bySensor.get(r.sensor);
    if (s === undefined) {
      s = { channels: r.channels, values: [] };
      bySensor.set(r.sensor, s);
    }
    s.values.push(...r.values);
  }
  const out = new Map<string, TrainSeries>();
  for (const [sensor, s] of bySensor) out.set(sensor, { channels: s.channels, values: Float64Array.from(s.values) });
  return out;
}

export async function learnModels(rows: readonly ReplayRow[], learnRows: number, opts: LearnOptions): Promise<LearnedModels> {
  const t0 = performance.now();
  const train = opts.trainer ?? ((series: TrainSeries, o: TrainOptions) => Promise.resolve(trainModel(series, o)));
  const models = new Map<string, LoadedModel>();
  const results = new Map<string, TrainResult>();
  let n = 0;
  try {
    for (const [sensor, series] of learnSeries(rows, learnRows)) {
      const result = await train(series, { ...opts.train, source: `replay rows 0..${learnRows - 1} of ${sensor}` });
      const name = `learn-${n++}`;
      const { sidecarPath } = await writeModel(opts.dir, sidecarOf(name, result), result.params);
      models.set(sensor, await opts.loadModel(sidecarPath));
      results.set(sensor, result);
    }
  } catch (err) {
    await Promise.allSettled([...models.values()].map((m) => m.release()));
    throw err;
  }
  return { models, results, seconds: (performance.now() - t0) / 1000 };
}
