/**
 * A recording through the detector, as `anomalyd replay` and `npm run evaluate` run it: models learnt on the
 * first rows (`--learn-first`) or the shipped model, the daemon's detector (src/pipeline/detector.ts) built
 * from the config, and one output per input row (src/replay/drive.ts).
 *
 * Streams. As for MQTT payloads (issue 11: streams, not payloads), each value column of a row is its own
 * one-value stream named `<sensor>/<column>`, learnt and scored on its own; a row with one value column is
 * the stream `<sensor>`. With `group: true` a row's columns are one multi-channel stream (a group of
 * streams, opt-in), learnt and scored together. A row reports the most surprising of its streams and is
 * anomalous while any of them is.
 *
 * Learning. Rows [0, learnRows) of each stream are its normal history, learnt from as the device's learner learns
 * (src/learn/own-model.ts decideOwnModel, the one function both call): a model fine-tuned from the shipped one on
 * the older 80 % of them, kept only when the gate finds it measurably better than the shipped model on the newest
 * 20 %; a stream whose learning rows drift in their newest 20 % (the learner's drift guard, src/learn/drift-guard.ts:
 * not trained on), whose own model is rejected, whose fine-tuning kept the shipped weights, whose learning rows are
 * too few to train on, or that has none, is scored with the shipped model, a warning says so per stream and a
 * summary line counts them (ReplayRunResult.learnt). The learning rows are replayed first as known-normal readings:
 * they warm the stream up (normalisation, model state, histories) and open no episode. With learnRows 0 every
 * stream uses the shipped model.
 */
import type { Config } from '../config/schema.js';
import type { LoadedModel, ModelLoader } from '../contract/ports.js';
import { Detector, detectorOptions, priorsOf } from '../pipeline/detector.js';
import { MessageParser } from '../pipeline/parse.js';
import { replayParseOptionsOf } from '../pipeline/ingest-options.js';
import { writeModel } from '../model/onnx-export.js';
import { decideOwnModel, unchangedReason, type OwnTrainOptions } from '../learn/own-model.js';
import { driftGuardOf, driftedText } from '../learn/drift-guard.js';
import { sharedWeightsOf } from '../learn/shared-weights.js';
import { sidecarOf, trainModel, type TrainOptions, type TrainResult, type TrainSeries } from '../train/trainer.js';
import { replayRows, type ReplayCounters, type ReplayOutput, type ReplayRow } from './drive.js';
import { EpisodeTeller, type ToldEpisode } from './tell.js';

export interface ReplayRunOptions {
  readonly config: Config;
  /** Rows [0, learnRows) train each stream's model; 0 = the shipped model for every stream. */
  readonly learnRows: number;
  /** Loads a model (onnxruntime on this thread, or the inference worker): this folder does no I/O of its own. */
  readonly loadModel: ModelLoader;
  /** The shipped model's sidecar (for learnRows 0, and the fallback of streams too short to learn from). */
  readonly shippedModel: string | null;
  /** Where learnt models are written (a temporary directory the caller owns). */
  readonly dir: string;
  /** Training options beside the config's (hidden, epochs, seed from the command line). */
  readonly train?: Partial<Pick<TrainOptions, 'hidden' | 'epochs' | 'seed'>>;
  /** Trains one series; the inline trainer by default (the evaluation injects a memoising one). */
  readonly trainer?: (series: TrainSeries, opts: TrainOptions) => Promise<TrainResult>;
  /** A row's columns form one multi-channel stream (default: each column its own stream). */
  readonly group?: boolean;
  /**
   * Told about each stream scored with the shipped model after learning, and why (its learning rows drifting, its
   * own model rejected by the gate, a fine-tuning that kept the shipped weights, too few learning rows, none), then one summary line
   * (learningSummary); and about shipped weights that cannot be read.
   */
  readonly warn?: (message: string) => void;
  /**
   * Tell each episode's kind and sentence as the daemon's alerts and record would (src/replay/tell.ts): each output's
   * `told`, and the result's `episodes`. Default false (the evaluation needs only the scores).
   */
  readonly tell?: boolean;
}

export interface ReplayRunResult {
  readonly counters: ReplayCounters;
  /** Streams and the model each used. */
  readonly streams: ReadonlyMap<string, string>;
  /** With learnRows > 0: each stream's learning, in the order learnt: whether it kept its own model, and why. */
  readonly learnt: readonly StreamLearning[];
  readonly learnSeconds: number;
  /** Wall time of the replay proper (after training and model loads), s. */
  readonly runSeconds: number;
  /**
   * CPU time the process spent in that time (user + system, every thread: onnxruntime's too), s. On a busy machine
   * the wall time grows with the other processes' load and this does not (tryout 26, finding 8: a 10x slower replay
   * that was the machine's load). Process-wide: it is the replay's own only when nothing else runs in the process.
   */
  readonly runCpuSeconds: number;
  /** With `tell`: every episode, in the order they opened, as the daemon's record would give it at the input's end; else empty. */
  readonly episodes: readonly ToldEpisode[];
}

/** One stream's learning in a replay: whether it is scored with its own model (`own`) or the shipped one, and why. */
export interface StreamLearning {
  readonly stream: string;
  /**
   * `own`: scored with its own model (the gate accepted it); the shipped model else: `drifted` (its learning rows
   * drift in their newest 20 %: not trained on, as the device's learner refuses them), `rejected` by the gate,
   * `unchanged` (fine-tuning kept the shipped weights), `untrained` (too few learning rows, or none).
   */
  readonly outcome: 'own' | 'drifted' | 'rejected' | 'unchanged' | 'untrained';
  /**
   * The gate's reason (own, or rejected), the unchanged training's, or why nothing was trained (drifted: "no model
   * trained: " and the learner's check reason, src/learn/drift-guard.ts driftedText).
   */
  readonly why: string;
}

/**
 * The training options the device's learner (src/learn/learner.ts) passes to decideOwnModel, from the config: cell
 * (model.cell), hidden size and maximum epochs (learning.*), window and hop (window.*), seed 1. Where the model
 * starts (`init`: the shipped model's weights when they fit) is decideOwnModel's rule, not an option here.
 */
export function trainOptionsOf(config: Config): OwnTrainOptions {
  return { cell: config.model.cell, hidden: config.learning.hidden, epochs: config.learning.epochs, window: config.window.length, hop: config.window.hop, seed: 1 };
}

/**
 * For people: "4 streams learnt: 1 kept its own model, 3 the shipped one (1 rejected by the gate, 1 unchanged by
 * fine-tuning, 1 drifting, 0 not trained)".
 */
export function learningSummary(learnt: readonly StreamLearning[]): string {
  const count = (o: StreamLearning['outcome']): number => learnt.filter((l) => l.outcome === o).length;
  const own = count('own');
  const shipped = learnt.filter((l) => l.outcome !== 'own');
  const gateRejected = count('rejected');
  const unchanged = count('unchanged');
  const drifted = count('drifted');
  return (
    `${learnt.length} stream${learnt.length === 1 ? '' : 's'} learnt: ${own} kept ${own === 1 ? 'its' : 'their'} own model, ${shipped.length} the shipped one ` +
    `(${gateRejected} rejected by the gate, ${unchanged} unchanged by fine-tuning, ${drifted} drifting, ${shipped.length - gateRejected - unchanged - drifted} not trained)`
  );
}

/** Splits rows into the streams the detector sees: one per value column, or one group per row's sensor (a row's `newRecording` mark goes to each). */
export function streamRows(rows: readonly ReplayRow[], group: boolean): { rows: ReplayRow[]; rowOf: Int32Array } {
  if (group || rows.every((r) => r.channels.length <= 1)) return { rows: [...rows], rowOf: Int32Array.from(rows, (_, i) => i) };
  const out: ReplayRow[] = [];
  const rowOf: number[] = [];
  rows.forEach((r, i) => {
    for (let c = 0; c < r.channels.length; c++) {
      out.push({ sensor: `${r.sensor}/${r.channels[c]}`, ts: r.ts, channels: ['value'], values: [r.values[c]], ...(r.newRecording === true ? { newRecording: true } : {}) });
      rowOf.push(i);
    }
  });
  return { rows: out, rowOf: Int32Array.from(rowOf) };
}

/**
 * Replays `rows` (one reading each, of one or more value columns), handing each input row's output to `sink`
 * in input order.
 *
 * @throws when a model cannot be loaded, or the replay itself fails; a stream too short to learn from is not
 *   an error (it falls back to the shipped model, with a warning) unless there is no shipped model.
 */
export async function runReplay(rows: readonly ReplayRow[], opts: ReplayRunOptions, sink: (out: ReplayOutput) => void): Promise<ReplayRunResult> {
  const { config } = opts;
  const learnRows = Math.max(0, Math.min(opts.learnRows, rows.length));
  const split = streamRows(rows, opts.group ?? false);
  const owned: LoadedModel[] = [];
  const models = new Map<string, LoadedModel>();
  const used = new Map<string, string>();
  const learnt: StreamLearning[] = [];
  let shipped: LoadedModel | null = null;
  const shippedModel = async (): Promise<LoadedModel> => {
    if (shipped !== null) return shipped;
    if (opts.shippedModel === null) throw new Error('no shipped model to fall back to (model.dir / model.name)');
    shipped = await opts.loadModel(opts.shippedModel);
    owned.push(shipped);
    return shipped;
  };
  const t0 = performance.now();
  try {
    if (learnRows > 0) {
      const train = opts.trainer ?? ((series: TrainSeries, o: TrainOptions) => Promise.resolve(trainModel(series, o)));
      // The device's path (src/learn/own-model.ts decideOwnModel, which the learner calls too): learning rows drifting in
      // their newest part are not trained on (the drift guard, with the config's score.smooth and learnReadings, as
      // the learner's learningOptionsOf); else each stream's model is fine-tuned from the shipped one on the older part of its learning rows, and kept only when the gate finds
      // it measurably better than the shipped model on their newest part; else the stream is scored with the shipped model.
      // Without a shipped model that loads, a stream has no model but its own, as on a device without the shared
      // model: any own model is taken (the gate's "no model in use"), learnt from random weights.
      let base: LoadedModel | null = null;
      if (opts.shippedModel !== null) {
        try {
          base = await shippedModel();
        } catch (err) {
          opts.warn?.(`the shipped model cannot be loaded (${err instanceof Error ? err.message : String(err)}): own models are learnt from scratch and judged against no model`);
        }
      }
      const shared = base === null || opts.shippedModel === null ? null : sharedWeightsOf(opts.shippedModel, (message) => opts.warn?.(message));
      let n = 0;
      for (const [stream, series] of seriesOf(split.rows, split.rowOf, learnRows)) {
        const C = series.channels.length;
        // The model the stream would use without its own: the shipped one when it reads the stream's channels (else none).
        const current = base !== null && base.sidecar.channels.length === C ? base : null;
        try {
          const outcome = await decideOwnModel(
            {
              histories: [series.values],
              channels: C,
              options: { ...trainOptionsOf(config), ...definedOnly(opts.train ?? {}) },
              shared,
              drift: driftGuardOf(config),
              source: (fineTuned) => `replay rows 0..${learnRows - 1} of ${stream}${fineTuned ? '; fine-tuned from the shipped model' : ''}`,
            },
            {
              train: (s, o) => train(s, o),
              inUse: () => ({ model: current, shared: current !== null }),
              materialise: async (result) => {
                const { sidecarPath } = await writeModel(opts.dir, sidecarOf(`learn-${n++}`, result), result.params);
                const model = await opts.loadModel(sidecarPath);
                return { model, discard: () => model.release() };
              },
            },
          );
          if (outcome.kind === 'accepted') {
            owned.push(outcome.model);
            models.set(stream, outcome.model);
            learnt.push({ stream, outcome: 'own', why: outcome.decision.reason });
          } else if (outcome.kind === 'drifted') {
            const { row, channel } = outcome.drifted;
            learnt.push({ stream, outcome: 'drifted', why: `no model trained: ${driftedText(stream, series.timestamps[row], channel)}` });
          } else if (outcome.kind === 'rejected') {
            learnt.push({ stream, outcome: 'rejected', why: `own model rejected by the gate, ${outcome.decision.reason}` });
          } else if (outcome.kind === 'unchanged') {
            const r = outcome.result;
            const lowest = r.losses.length > 0 ? Math.min(...r.losses.map((l) => l.val)) : r.training.initialValLoss;
            learnt.push({ stream, outcome: 'unchanged', why: unchangedReason(r.losses.length, r.training.initialValLoss, lowest) });
          }
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
          learnt.push({ stream, outcome: 'untrained', why: err.message });
        }
      }
      for (const l of learnt) if (l.outcome !== 'own') opts.warn?.(`${l.stream}: ${l.why}; scored with the shipped model`);
      if (learnt.length > 0) opts.warn?.(learningSummary(learnt));
    }
    const learnSeconds = (performance.now() - t0) / 1000;
    // Every stream needs a model up front (the detector's port is synchronous).
    for (const r of split.rows) {
      if (models.has(r.sensor)) continue;
      const m = await shippedModel();
      if (m.sidecar.channels.length !== r.channels.length) {
        throw new Error(`the shipped model ${m.id} reads ${m.sidecar.channels.length} channel(s), stream ${r.sensor} has ${r.channels.length}: learn a model for it with --learn-first N`);
      }
      models.set(r.sensor, m);
      if (learnRows > 0 && !used.has(r.sensor) && !learnt.some((l) => l.stream === r.sensor)) {
        learnt.push({ stream: r.sensor, outcome: 'untrained', why: 'no rows to learn from' });
        opts.warn?.(`${r.sensor}: no rows to learn from; scored with the shipped model`);
      }
      used.set(r.sensor, m.id);
    }
    for (const [stream, m] of models) used.set(stream, m.id);
    let ids = 0;
    const parser = new MessageParser(replayParseOptionsOf(config));
    const teller = opts.tell === true ? new EpisodeTeller({ units: config.explain.units, timeZone: config.explain.timeZone, parser }) : undefined;
    const detector = new Detector(detectorOptions(config), {
      parser,
      modelFor: (stream) => {
        const m = models.get(stream);
        return m === undefined ? null : { model: m, own: m !== shipped };
      },
      // Priors only of models learnt on the stream (the shipped model's describe a family of signals).
      priorsFor: (modelId) => {
        for (const m of owned) if (m.id === modelId && m !== shipped) return priorsOf(m.sidecar);
        return null;
      },
      // Deterministic ids: a replay of the same input gives the same output, episode ids included.
      newId: () => `replay-${++ids}`,
      learning: (_stream, origin) => split.rowOf[origin.seq] < learnRows,
    });
    const t1 = performance.now();
    const cpu1 = process.cpuUsage();
    const counters = await replayRows(detector, split.rows, sink, { learnRows, rowOf: split.rowOf, inputs: rows, ...(teller !== undefined ? { tell: teller } : {}) });
    const cpu = process.cpuUsage(cpu1);
    return { counters, streams: used, learnt, learnSeconds, runSeconds: (performance.now() - t1) / 1000, runCpuSeconds: (cpu.user + cpu.system) / 1e6, episodes: teller?.told() ?? [] };
  } finally {
    await Promise.allSettled(owned.map((m) => m.release()));
  }
}

/**
 * Each stream's rows among the first `learnRows` input rows, as a training series: its readings as the daemon's
 * learner takes them (src/learn/learner.ts) and its store keeps them (one reading per time stamp, the later
 * replacing the earlier: src/adapters/sqlite-store.ts appendReadings), so non-finite values are skipped, a row
 * with the time of the stream's previous one takes its place (a duplicate, the same time stamp delivered twice, is
 * not a step of the detector and changes nothing; a reading of its own sharing the time is one the daemon learns
 * from, and its store keeps the later: src/pipeline/cadence.ts), and a row before the previous one is skipped
 * (admission does not take it: `out_of_order`, or within the tolerance `redelivered` or `late`: src/pipeline/admit.ts).
 */
function seriesOf(rows: readonly ReplayRow[], rowOf: Int32Array, learnRows: number): Map<string, TrainSeries & { readonly timestamps: Float64Array }> {
  const by = new Map<string, { channels: readonly string[]; values: number[]; ts: number[] }>();
  for (let k = 0; k < rows.length && rowOf[k] < learnRows; k++) {
    const r = rows[k];
    if (!r.values.every(Number.isFinite)) continue;
    let s = by.get(r.sensor);
    if (s !== undefined && s.ts.length > 0 && !(r.ts > s.ts[s.ts.length - 1])) {
      if (r.ts === s.ts[s.ts.length - 1] && r.values.length === s.channels.length) s.values.splice(s.values.length - r.values.length, r.values.length, ...r.values);
      continue;
    }
    if (s === undefined) by.set(r.sensor, (s = { channels: r.channels, values: [], ts: [] }));
    s.values.push(...r.values);
    s.ts.push(r.ts);
  }
  const out = new Map<string, TrainSeries & { readonly timestamps: Float64Array }>();
  for (const [stream, s] of by) out.set(stream, { channels: s.channels, values: Float64Array.from(s.values), timestamps: Float64Array.from(s.ts) });
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;
}
