import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CellKind, Seq2SeqParams } from '../model/spec.js';
import type { SidecarInput } from '../model/onnx-export.js';
import type { ModelStore, ReadingStore } from '../contract/store.js';
import { sidecarOf, type TrainProgress, type TrainResult, type TrainSeries } from '../train/trainer.js';
import type { WorkerTrainOptions } from '../train/in-worker.js';
import { standardisedSegments } from '../train/dataset.js';
import type { LoadedModel, ModelLoader } from '../contract/ports.js';
import type { ModelRegistry } from './registry.js';
import type { OwnModelProgress } from '../contract/own-model.js';

export interface LearningOptions {
  readonly enabled: boolean;
  readonly minReadings: number;
  readonly maxReadings: number;
  readonly retrainIntervalMs: number;
  readonly epochs: number;
  readonly hidden: number;
  readonly cell: CellKind;
  readonly window: number;
  readonly hop: number;
}

/** What the learner needs of the store: the readings it learns from, and the models it records and assigns. */
export type LearnerStore = ReadingStore & Pick<ModelStore, 'addModel' | 'assignModel' | 'assignments' | 'models'>;

export interface LearnerDeps {
  readonly store: LearnerStore;
  readonly registry: ModelRegistry;
  readonly scopeOf: (sensor: string) => string;
  readonly train: (series: TrainSeries, opts: WorkerTrainOptions, onProgress: (p: TrainProgress) => void) => Promise<TrainResult>;
  readonly writeModel: (dir: string, sidecar: SidecarInput, params: Seq2SeqParams) => Promise<{ onnxPath: string; sidecarPath: string }>;
  readonly loadModel: ModelLoader;
  readonly modelsDir: string;
  readonly logger: Logger;
  readonly now: () => number;
  /** Called when sensors moved to a new model (the daemon publishes their state). */
  readonly onInstalled?: (sensors: readonly string[], model: LoadedModel) => void;
}

interface ScopeState {
  readonly sensors: Set<string>;
  /** Readings stored for this scope since start (plus what the store had). */
  readings: number;
  lastTrainedAt: number;
  channels: number;
  /**
   * Data time (epoch ms) of the reading observed when the scope first had learning.minReadings: its first
   * training learns from the readings up to it, not from whatever else came before the training started
   * (the next housekeeping tick), so what a scope learns does not depend on the daemon's timing. Null
   * while not reached, and when the store already had enough at start.
   */
  dueTs: number | null;
}

interface Pending {
  ts: number[];
  values: number[];
  channels: number;
}

/** Stored readings are flushed in groups this large at most, so one flush stays short. */
const FLUSH_MAX = 4096;

/**
 * Learning on the device. Collects each learning stream's normal readings (never readings of an open
 * anomaly episode), stores them,
 * and once a sensor (or its group) has enough, trains a model in a worker thread, exports it, records it in
 * SQLite and swaps it in. One training at a time: a Pi has few cores and the detector needs one.
 */
export class Learner {
  private readonly scopes = new Map<string, ScopeState>();
  private readonly pending = new Map<string, Pending>();
  private training: Promise<void> | null = null;
  private trainingScope: string | null = null;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    private readonly opts: LearningOptions,
    private readonly deps: LearnerDeps,
  ) {
    this.log = deps.logger;
  }

  /** Loads the models learnt earlier and re-applies the assignments (rollbacks included). */
  async restore(): Promise<void> {
    const { store, registry } = this.deps;
    const byId = new Map(store.models().map((m) => [m.id, m]));
    for (const a of store.assignments()) {
      const record = byId.get(a.modelId);
      if (!record) continue;
      try {
        if (!registry.has(a.modelId)) registry.add(await this.deps.loadModel(record.sidecarPath));
        registry.assign(a.sensor, a.modelId);
        this.scope(a.sensor).lastTrainedAt = record.createdAt;
      } catch (err) {
        this.log.warn({ err, sensor: a.sensor, model: a.modelId }, 'could not load a learnt model; the sensor uses the fallback');
      }
    }
  }

  /** True while the sensor has no model of its own (it may still be scored by the fallback). */
  isLearning(sensor: string): boolean {
    return this.opts.enabled && !this.deps.registry.hasOwnModel(sensor);
  }

  /**
   * How far the sensor's own model is (src/contract/own-model.ts), or null when it is not learning one (it
   * has its own, or learning is off). The one source of what `anomalyd status`, the HTTP API, the MQTT
   * state's learning_progress and the demo say of it.
   */
  ownModel(sensor: string): OwnModelProgress | null {
    if (!this.isLearning(sensor)) return null;
    const name = this.deps.scopeOf(sensor);
    const readings = this.scopes.get(name)?.readings ?? 0;
    const needed = this.opts.minReadings;
    return { phase: this.trainingScope === name ? 'training' : readings >= needed ? 'queued' : 'collecting', readings, needed };
  }

  /**
   * Takes one scored reading of a stream (epoch ms, sensor units) as normal data, unless it belongs to an
   * anomaly episode (or is a duplicate of the previous one).
   */
  observe(stream: string, ts: number, values: readonly number[], anomalous: boolean): void {
    if (!this.opts.enabled || anomalous) return;
    const scopeName = this.deps.scopeOf(stream);
    const scope = this.scope(stream);
    const collecting = !this.deps.registry.scopeHasModel(scopeName) || this.opts.retrainIntervalMs > 0;
    if (!collecting) return;
    const C = values.length;
    let p = this.pending.get(stream);
    if (!p || p.channels !== C) {
      p = { ts: [], values: [], channels: C };
      this.pending.set(stream, p);
    }
    p.ts.push(ts);
    for (let c = 0; c < C; c++) p.values.push(values[c]);
    scope.readings++;
    if (scope.readings === this.opts.minReadings && scope.dueTs === null) scope.dueTs = ts;
    scope.channels = C;
    if (p.ts.length >= FLUSH_MAX) this.flushSensor(stream, p);
  }

  /** Writes the collected readings (the daemon's housekeeping calls it). */
  flush(): void {
    for (const [sensor, p] of this.pending) this.flushSensor(sensor, p);
  }

  /** Starts a training if a scope is ready and none is running. Never throws; training failures are logged. */
  maybeTrain(): void {
    if (!this.opts.enabled || this.training || this.stopped) return;
    const now = this.deps.now();
    for (const [name, s] of this.scopes) {
      const hasModel = this.deps.registry.scopeHasModel(name);
      const due = hasModel
        ? this.opts.retrainIntervalMs > 0 && now - s.lastTrainedAt >= this.opts.retrainIntervalMs && s.readings >= this.opts.minReadings
        : s.readings >= this.opts.minReadings;
      if (!due) continue;
      this.flush();
      this.trainingScope = name;
      this.training = this.trainScope(name, s, hasModel)
        .catch((err: unknown) => {
          s.lastTrainedAt = now; // do not retry in a tight loop
          this.log.error({ err, scope: name }, 'training failed; the scope keeps its current model');
        })
        .finally(() => {
          this.training = null;
          this.trainingScope = null;
        });
      return;
    }
  }

  /**
   * Forgets a sensor that went idle (evicted by the daemon): its unflushed readings are stored, and its
   * scope is dropped unless other sensors share it, it has a model or it is training. Stored readings stay, so a sensor that
   * comes back goes on learning from them.
   */
  forget(sensor: string): void {
    const p = this.pending.get(sensor);
    if (p) this.flushSensor(sensor, p);
    this.pending.delete(sensor);
    const name = this.deps.scopeOf(sensor);
    const s = this.scopes.get(name);
    if (!s) return;
    s.sensors.delete(sensor);
    // A scope with a model keeps its retraining clock; the rest go (one per junk sensor otherwise).
    if (s.sensors.size === 0 && this.trainingScope !== name && !this.deps.registry.scopeHasModel(name)) this.scopes.delete(name);
  }

  get busy(): string | null {
    return this.trainingScope;
  }

  /** Waits for a training in progress (bounded by the caller); flushes readings. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.flush();
    if (this.training) await this.training;
  }

  private scope(sensor: string): ScopeState {
    const name = this.deps.scopeOf(sensor);
    let s = this.scopes.get(name);
    if (!s) {
      s = { sensors: new Set(), readings: 0, lastTrainedAt: 0, channels: 1, dueTs: null };
      this.scopes.set(name, s);
    }
    if (!s.sensors.has(sensor)) {
      s.sensors.add(sensor);
      // What earlier runs stored counts too, so a restart does not start learning from zero.
      s.readings += this.deps.store.readReadings(sensor, undefined, undefined, this.opts.maxReadings).ts.length;
    }
    return s;
  }

  private flushSensor(sensor: string, p: Pending): void {
    if (p.ts.length === 0) return;
    try {
      this.deps.store.appendReadings(sensor, Float64Array.from(p.ts), Float32Array.from(p.values), p.channels);
    } catch (err) {
      this.log.warn({ err, sensor }, 'could not store readings for learning');
    }
    p.ts = [];
    p.values = [];
  }

  private async trainScope(name: string, s: ScopeState, retrain: boolean): Promise<void> {
    const sensors = [...s.sensors];
    const C = s.channels;
    const histories: Float32Array[] = [];
    let rows = 0;
    let from = Infinity;
    let to = -Infinity;
    for (const sensor of sensors) {
      // A retraining learns from the newest normal data; the first training from the readings up to when it was due.
      const block = retrain
        ? this.deps.store.readReadings(sensor, undefined, undefined, this.opts.maxReadings, true)
        : this.deps.store.readReadings(sensor, undefined, s.dueTs ?? undefined, this.opts.maxReadings);
      if (block.channels !== C || block.ts.length < this.opts.window) continue;
      rows += block.ts.length;
      from = Math.min(from, block.ts[0]);
      to = Math.max(to, block.ts[block.ts.length - 1]);
      histories.push(block.values);
    }
    if (rows < this.opts.window * 4) throw new Error(`only ${rows} stored readings for ${name}`);
    const { values, segments } = standardisedSegments(histories, C);
    const source = `on-device: ${sensors.join(', ')}; ${rows} readings ${new Date(from).toISOString()} .. ${new Date(to).toISOString()}`;
    const channels = Array.from({ length: C }, (_, c) => (C === 1 ? 'value' : `c${c}`));
    this.log.info({ scope: name, sensors, rows, cell: this.opts.cell }, retrain ? 'retraining model' : 'training model');
    const t0 = this.deps.now();
    let lastEpoch = 0;
    const result = await this.deps.train(
      { channels, values, segments },
      { cell: this.opts.cell, hidden: this.opts.hidden, window: this.opts.window, hop: this.opts.hop, epochs: this.opts.epochs, seed: 1, source },
      (p) => {
        if (p.epochDone && p.epoch !== lastEpoch) {
          lastEpoch = p.epoch;
          this.log.info({ scope: name, epoch: p.epoch, maxEpochs: p.maxEpochs, loss: p.trainLoss, valLoss: p.valLoss }, 'training epoch');
        }
      },
    );
    if (this.stopped) return;
    mkdirSync(this.deps.modelsDir, { recursive: true });
    const stamp = new Date(this.deps.now()).toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const modelName = `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}`;
    const { sidecarPath } = await this.deps.writeModel(this.deps.modelsDir, sidecarOf(modelName, result), result.params);
    const model = await this.deps.loadModel(sidecarPath);
    const { store, registry } = this.deps;
    store.addModel({
      id: model.id,
      name: modelName,
      sidecarPath,
      scope: name,
      cell: this.opts.cell,
      rows,
      valLoss: result.training.finalValLoss,
      calibration: result.calibration,
      source,
    });
    registry.add(model);
    for (const sensor of sensors) {
      store.assignModel(sensor, model.id, retrain ? 'retrained' : 'trained');
      registry.assign(sensor, model.id);
    }
    s.lastTrainedAt = this.deps.now();
    this.log.info(
      { scope: name, model: model.id, sensors, seconds: (this.deps.now() - t0) / 1000, valLoss: result.training.finalValLoss, epochs: result.losses.length },
      'model trained and swapped in',
    );
    this.deps.onInstalled?.(sensors, model);
    await registry.releaseUnused();
  }
}
