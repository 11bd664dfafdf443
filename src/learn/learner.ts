import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { CellKind, ModelGraphs, Seq2SeqParams } from '../model/spec.js';
import type { SidecarInput } from '../model/onnx-export.js';
import type { ModelAssignment, ModelCheck, ModelStore, ReadingStore } from '../contract/store.js';
import { sidecarOf, type TrainProgress, type TrainResult, type TrainSeries } from '../train/trainer.js';
import type { WorkerTrainOptions } from '../train/in-worker.js';
import type { LoadedModel, ModelLoader } from '../contract/ports.js';
import type { ModelRegistry } from './registry.js';
import type { OwnModelProgress } from '../contract/own-model.js';
import type { Config } from '../config/schema.js';
import { SHIPPED_DRIFT_GUARD, driftedText } from './drift-guard.js';
import { shortSpan } from '../pipeline/scorer.js';
import { GATE_ALPHA, HOLDOUT_FRACTION, fewestPassingStretches, fewestReadingsToPass, isTie, trainingRowsOf, type GateDecision } from './gate.js';
import { decideOwnModel, unchangedReason } from './own-model.js';

export { unchangedReason };

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
  /**
   * Readings in a block of the level-excursion guard (shortSpan(score.smooth); default 31) and readings of its
   * learning period (score.learnReadings; default 256): a history whose level left everything it had shown and went
   * on leaving it (src/pipeline/excursion.ts driftedFrom) is not learnt as normal.
   */
  readonly levelSpan?: number;
  readonly levelLearn?: number;
}

/**
 * Settings of `learning` that cannot work as meant, as [setting, why] pairs for `check-config` (a warning line
 * each) and `run` (a warn at start): `learning.minReadings` below the fewest readings with which a sensor's first
 * own model can pass the gate against the shared model (fewestReadingsToPass of the larger of window.hop and the
 * shared model's hop, as the gate cuts its stretches): then every first training is wasted and its model
 * rejected (tryout 16, finding 8). Nothing when learning is off, or without a shared model
 * (learning.fallback: false), where a sensor's first model is taken as it is.
 * @param sharedModelHop the shared model's hop (its sidecar's), or undefined when it could not be read (window.hop is used)
 */
export function learningWarnings(config: Config, sharedModelHop: number | undefined): Array<readonly [string, string]> {
  if (!config.learning.enabled || !config.learning.fallback) return [];
  const hop = Math.max(config.window.hop, sharedModelHop ?? config.window.hop);
  const fewest = fewestReadingsToPass(hop);
  if (config.learning.minReadings >= fewest) return [];
  const held = Math.floor(config.learning.minReadings * HOLDOUT_FRACTION);
  return [
    [
      'learning.minReadings',
      `${config.learning.minReadings} is below ${fewest}, the fewest readings with which a sensor's first own model can pass the gate: ` +
        `it is judged against the shared model on the newest ${HOLDOUT_FRACTION * 100} % (${held} readings here), cut into stretches of at least ${hop} readings ` +
        `(the larger of window.hop and the shared model's hop), and the gate tests on ${fewestPassingStretches()} of them at the least, ` +
        `at ${GATE_ALPHA * 100} % (docs/MODEL.md, "The gate"); so every first model would be trained and then rejected ` +
        `("too few stretches"). Set it to ${fewest} or more`,
    ],
  ];
}

/**
 * LearningOptions from a Config (learning.*, model.cell, window.length / hop), as the daemon's learner runs;
 * `enabled` overrides learning.enabled (a script that forces it on or off).
 */
export function learningOptionsOf(config: Config, enabled: boolean = config.learning.enabled): LearningOptions {
  return {
    enabled,
    minReadings: config.learning.minReadings,
    maxReadings: config.learning.maxReadings,
    retrainIntervalMs: config.learning.retrainIntervalMs,
    epochs: config.learning.epochs,
    hidden: config.learning.hidden,
    cell: config.model.cell,
    window: config.window.length,
    hop: config.window.hop,
    levelSpan: shortSpan(config.score.smooth),
    levelLearn: config.score.learnReadings,
  };
}

/**
 * Readings the store keeps per sensor (SqliteStoreOptions.readingsKept): learning.maxReadings, what one training
 * reads at most, which is at least learning.minReadings (a rule across settings), and every wait after a rejected
 * try (learning.minReadings · 2^(tries − 1), at most learning.maxReadings). Counted in readings, not in time, so a
 * sensor's learning history is never cut below what it needs at any cadence (a new user's tryout, session 29, finding 1: 7 days kept
 * 2,016 readings of a 5-min sensor, fewer than the 3,600 it needed, and each restart counted it back to them), and
 * a fast sensor keeps no more than learning reads (7 days of a 1 Hz sensor were 604,800 readings).
 */
export function readingsKeptOf(config: Config): number {
  return Math.max(config.learning.minReadings, config.learning.maxReadings);
}

/** What the learner needs of the store: the readings it learns from, and the models it records and assigns. */
export type LearnerStore = ReadingStore &
  Pick<ModelStore, 'addModel' | 'assignModel' | 'assignments' | 'assignmentHistory' | 'assignmentVersion' | 'models' | 'addModelCheck' | 'modelChecks'>;

/**
 * Rejections in a row after which a scope stops trying until the operator asks (`anomalyd models retrain`);
 * it stops sooner when the next wait, learning.minReadings · 2^tries, would exceed learning.maxReadings.
 */
export const MAX_TRIES = 5;

/** Assignment reasons that are the operator's (`anomalyd models`): the daemon logs when it picks one up. */
const OPERATOR_REASONS = new Set(['rollback', 'unpin', 'retrain']);

export interface LearnerDeps {
  readonly store: LearnerStore;
  readonly registry: ModelRegistry;
  readonly scopeOf: (sensor: string) => string;
  /**
   * Whether a stream's values are never judged (an on/off stream: MessageParser.statedOnOff, judged on its silence
   * and how long it holds a state, src/pipeline/scorer.ts): it learns no model of its own, and its readings are not
   * collected for one. Absent: every stream's are.
   */
  readonly valuesIgnored?: (sensor: string) => boolean;
  readonly train: (series: TrainSeries, opts: WorkerTrainOptions, onProgress: (p: TrainProgress) => void) => Promise<TrainResult>;
  readonly writeModel: (dir: string, sidecar: SidecarInput, params: Seq2SeqParams) => Promise<{ onnxPath: string; sidecarPath: string }>;
  readonly loadModel: ModelLoader;
  readonly modelsDir: string;
  readonly logger: Logger;
  readonly now: () => number;
  /**
   * The weights a sensor's model starts from: the shared (shipped, generic) model's, fine-tuned on the sensor's
   * history (docs/MODEL.md "Learning on the device"); null, or absent, to train from a random initialisation.
   * Used only when they are of the training's cell, hidden size and channel count. Called at each training.
   */
  readonly startFrom?: () => Seq2SeqParams | null;
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
  /**
   * Set while the scope waits to try again after its new model was rejected by the gate (or after the
   * operator rolled it back to the shared model, or unpinned it): it trains again once it has collected
   * `needed` more normal readings (stored after `since`). Null otherwise.
   */
  retry: Retry | null;
  /** Set when it stopped trying after MAX_TRIES rejections (why, for people); null otherwise. */
  stopped: string | null;
}

interface Retry {
  /**
   * Data time (epoch ms, the readings' own time stamps) of the newest reading stored when the wait started:
   * the readings stored after it count, across a restart too.
   */
  readonly since: number;
  /** Normal readings to collect before the next try: learning.minReadings · 2^(tries − 1), at most learning.maxReadings. */
  readonly needed: number;
  counted: number;
  /** Rejections in a row (0 after a rollback by the operator). */
  readonly rejections: number;
  /** Why the scope waits, for people. */
  readonly reason: string;
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
  /** Sensors the operator pinned to a model (`anomalyd models rollback`): id, or null for the shared model. */
  private readonly pinned = new Map<string, string | null>();
  /** The newest assignment row applied (ModelAssignment.seq); -1 before the first restore. */
  private appliedSeq = -1;

  constructor(
    private readonly opts: LearningOptions,
    private readonly deps: LearnerDeps,
  ) {
    this.log = deps.logger;
  }

  /**
   * Loads the models learnt earlier and re-applies the assignments (rollbacks and pins included), then
   * re-reads each known scope's wait from the store (src/contract/store.ts ModelCheck, ModelAssignment): what
   * it waits for after a rejection, a rollback, an unpin or a retrain request. Called at start and whenever
   * the assignments change (the CLI wrote one); from the second call on, each operator's assignment it
   * applies is logged, once (sensor, from, to, reason, pinned).
   */
  async restore(): Promise<void> {
    const { store, registry } = this.deps;
    this.flush();
    const byId = new Map(store.models().map((m) => [m.id, m]));
    const live = this.appliedSeq >= 0;
    let newest = Math.max(0, this.appliedSeq);
    const name = (id: string | null): string => id ?? 'the shared model';
    for (const a of store.assignments()) {
      newest = Math.max(newest, a.seq);
      const from = registry.hasOwnModel(a.sensor) ? (registry.modelFor(a.sensor)?.id ?? null) : null;
      if (a.pinned) this.pinned.set(a.sensor, a.modelId);
      else this.pinned.delete(a.sensor);
      if (a.modelId === null) {
        registry.assignShared(a.sensor);
      } else {
        const record = byId.get(a.modelId);
        if (!record) continue;
        try {
          if (!registry.has(a.modelId)) registry.add(await this.deps.loadModel(record.sidecarPath));
          registry.assign(a.sensor, a.modelId);
          this.scope(a.sensor).lastTrainedAt = record.createdAt;
        } catch (err) {
          this.log.warn({ err, sensor: a.sensor, model: a.modelId }, 'could not load a learnt model; the sensor uses the fallback');
          continue;
        }
      }
      if (live && a.seq > this.appliedSeq && OPERATOR_REASONS.has(a.reason)) {
        this.log.info(
          { sensor: a.sensor, from: name(from), to: name(a.modelId), reason: a.reason, pinned: a.pinned },
          `model assignment by the operator applied: ${a.sensor} ${name(from)} -> ${name(a.modelId)} (${a.reason}${a.pinned ? ', pinned' : ''})`,
        );
      }
    }
    this.appliedSeq = newest;
    // Rolled back sensors are scopes too: their wait is read from the store like any other's.
    for (const a of store.assignments()) if (a.modelId === null && !this.scopes.has(this.deps.scopeOf(a.sensor))) this.scope(a.sensor);
    for (const [scopeName, s] of this.scopes) this.restoreWait(scopeName, s);
  }

  /** True when the operator pinned the sensor to its model (`anomalyd models rollback`): it is not learnt again until unpinned. */
  isPinned(sensor: string): boolean {
    return this.pinned.has(sensor);
  }

  /** True while the sensor has no model of its own (it may still be scored by the fallback). */
  isLearning(sensor: string): boolean {
    return this.opts.enabled && !this.pinned.has(sensor) && !this.deps.registry.hasOwnModel(sensor) && this.deps.valuesIgnored?.(sensor) !== true;
  }

  /**
   * How far the sensor's own model is (src/contract/own-model.ts), or null when it is not learning one (it
   * has its own, or learning is off). The one source of what `anomalyd status`, the HTTP API, the MQTT
   * state's learning_progress and the demo say of it.
   */
  ownModel(sensor: string): OwnModelProgress | null {
    if (!this.isLearning(sensor)) return null;
    const name = this.deps.scopeOf(sensor);
    // A sensor seen before its first normal reading since the start (silent, or in an open episode) is counted
    // from what the store kept, not shown as starting over.
    const s = this.scope(sensor);
    if (s.stopped !== null) return { phase: 'stopped', readings: s.readings, needed: 0, lastTry: s.stopped };
    const retry = s.retry;
    const counted = retry !== null ? retry.counted : s.readings;
    const needed = retry !== null ? retry.needed : this.opts.minReadings;
    const phase = this.trainingScope === name ? 'training' : counted >= needed ? 'queued' : 'collecting';
    // After a try, the readings it has in all and those since (its progress): never 0 for a sensor that has readings.
    return retry !== null ? { phase, readings: Math.max(s.readings, counted), sinceTry: counted, needed, lastTry: retry.reason } : { phase, readings: counted, needed };
  }

  /**
   * Takes one scored reading of a stream (epoch ms, sensor units) as normal data, unless it belongs to an
   * anomaly episode (or is a duplicate of the previous one).
   */
  observe(stream: string, ts: number, values: readonly number[], anomalous: boolean): void {
    if (!this.opts.enabled || anomalous || this.pinned.has(stream) || this.deps.valuesIgnored?.(stream) === true) return;
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
    if (scope.retry !== null) scope.retry.counted++;
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
      // Pinned sensors are not learnt (a group without any other sensor is not either); a scope that gave up waits for the operator.
      if (s.stopped !== null || ![...s.sensors].some((x) => !this.pinned.has(x))) continue;
      const hasModel = this.deps.registry.scopeHasModel(name);
      const due = hasModel
        ? this.opts.retrainIntervalMs > 0 && now - s.lastTrainedAt >= this.opts.retrainIntervalMs && s.readings >= this.opts.minReadings
        : s.retry !== null
          ? s.retry.counted >= s.retry.needed
          : s.readings >= this.opts.minReadings;
      if (!due) continue;
      this.flush();
      this.trainingScope = name;
      this.training = this.trainScope(name, s, hasModel)
        .catch((err: unknown) => {
          // A training ended by the stop (the worker terminated: 'daemon stopping') is no failure: nothing to wait for.
          if (this.stopped) {
            this.log.info({ scope: name, reason: err instanceof Error ? err.message : String(err) }, 'training ended by the stop: no model installed; it trains again after the restart');
            return;
          }
          s.lastTrainedAt = now; // do not retry in a tight loop
          // A first training that failed waits for more readings too (it was retried at every tick).
          if (!hasModel) {
            const tries = (s.retry?.rejections ?? 0) + 1;
            s.retry = { since: this.newestTs(s), needed: this.retryNeeded(tries), counted: 0, rejections: tries, reason: `its last training failed: ${err instanceof Error ? err.message : String(err)}` };
          }
          this.log.error({ err, scope: name, retryAfterReadings: s.retry?.needed ?? null }, 'training failed; the scope keeps its current model');
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
   * comes back goes on learning from them. `keepPending` false (a stream the operator forgot, its stored readings
   * deleted with it: src/daemon/forget.ts): its unflushed readings are dropped, not stored.
   */
  forget(sensor: string, keepPending = true): void {
    const p = this.pending.get(sensor);
    if (p && keepPending) this.flushSensor(sensor, p);
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

  /**
   * The first step of a stop (the daemon calls it before the MQTT client ends): no training starts from now on, and
   * the one in progress installs nothing: its outcome, whenever it comes, is dropped (an accepted model's files
   * removed), so nothing is published through a client that has ended (tryout 37, finding 13a: a model swapped in
   * during the stop refreshed its sensor's state through the stopped client, a warn with a stack). The readings
   * collected meanwhile are still stored (flush, stop); the sensor trains again after the restart.
   */
  halt(): void {
    this.stopped = true;
  }

  /** Halts (halt) and waits for a training in progress (bounded by the caller); flushes readings. */
  async stop(): Promise<void> {
    this.halt();
    this.flush();
    if (this.training) await this.training;
  }

  private scope(sensor: string): ScopeState {
    const name = this.deps.scopeOf(sensor);
    let s = this.scopes.get(name);
    const created = s === undefined;
    if (!s) {
      s = { sensors: new Set(), readings: 0, lastTrainedAt: 0, channels: 1, dueTs: null, retry: null, stopped: null };
      this.scopes.set(name, s);
    }
    if (!s.sensors.has(sensor)) {
      s.sensors.add(sensor);
      // What earlier runs stored counts too, so a restart does not start learning from zero.
      s.readings += this.deps.store.countReadings(sensor, undefined, this.opts.maxReadings);
      // A wait from before a restart (a rejection, a rollback) still holds: the scope waits for the readings it was told to wait for.
      if (created) this.restoreWait(name, s);
      else if (s.retry !== null) s.retry.counted += this.deps.store.countReadings(sensor, s.retry.since + 1, s.retry.needed);
    }
    return s;
  }

  /**
   * Reads a scope's wait from the store: the newest of (its last gate decision; the operator's last
   * assignment of one of its sensors: rollback, unpin, retrain), ordered by the assignment sequence the check
   * recorded (ModelAssignment.seq, global across the table). A scope with a model of its own waits for
   * nothing (it retrains after learning.retrainIntervalMs, if at all). The readings counted towards the wait
   * are those stored after its start, in data time (the readings' time stamps, never the wall clock).
   */
  private restoreWait(name: string, s: ScopeState): void {
    const { store, registry } = this.deps;
    s.retry = null;
    s.stopped = null;
    if (registry.scopeHasModel(name)) return;
    const [check] = store.modelChecks(name, 1);
    let op: ModelAssignment | null = null;
    for (const sensor of s.sensors) {
      const [latest] = store.assignmentHistory(sensor);
      if (latest !== undefined && OPERATOR_REASONS.has(latest.reason) && (op === null || latest.seq > op.seq)) op = latest;
    }
    const counted = (since: number, needed: number): number => [...s.sensors].reduce((n, x) => n + store.countReadings(x, since + 1, needed), 0);
    if (op !== null && (check === undefined || opAfterCheck(op, check))) {
      if (op.pinned) return; // not learnt at all until unpinned
      if (op.reason === 'retrain') {
        // The operator asked for a new try: at once, from the newest stored readings, the back-off forgotten.
        s.retry = { since: op.dataTs ?? -Number.MAX_SAFE_INTEGER, needed: 0, counted: 0, rejections: 0, reason: 'a new try asked for by the operator' };
        return;
      }
      const since = op.dataTs ?? op.at;
      const needed = this.opts.minReadings;
      const reason = op.reason === 'unpin' ? 'unpinned from the shared model' : 'rolled back to the shared model';
      s.retry = { since, needed, counted: counted(since, needed), rejections: 0, reason };
      return;
    }
    if (check === undefined || check.accepted) return;
    const f = check.figures as { dataTo?: unknown; gaveUp?: unknown } | null;
    const tries = rejectionsOf(check.figures);
    if (f?.gaveUp === true) {
      s.stopped = stoppedText(tries, rejectedText(check.figures));
      return;
    }
    if (check.retryAfter === null) return;
    const since = typeof f?.dataTo === 'number' ? f.dataTo : check.at;
    s.retry = { since, needed: check.retryAfter, counted: counted(since, check.retryAfter), rejections: tries, reason: rejectedText(check.figures) };
  }

  /** Data time (epoch ms) of the newest reading the scope's sensors stored (flushed or not); -MAX_SAFE_INTEGER with none. */
  private newestTs(s: ScopeState): number {
    let newest = -Number.MAX_SAFE_INTEGER;
    for (const sensor of s.sensors) {
      const p = this.pending.get(sensor);
      if (p !== undefined && p.ts.length > 0) newest = Math.max(newest, p.ts[p.ts.length - 1]);
      const stored = this.deps.store.readReadings(sensor, undefined, undefined, 1, true).ts;
      if (stored.length > 0) newest = Math.max(newest, stored[0]);
    }
    return newest;
  }

  /**
   * The scope's try count after this one, whether it stops trying (a first model, or a new try, that failed
   * for the MAX_TRIES-th time, or whose next wait would exceed learning.maxReadings; a retraining never stops),
   * and the readings it waits for before the next try (null when accepted or stopped).
   */
  private nextTry(s: ScopeState, accepted: boolean, retrain: boolean): { tries: number; gaveUp: boolean; retryAfter: number | null } {
    const tries = (s.retry?.rejections ?? 0) + 1;
    const gaveUp = !accepted && !retrain && (tries >= MAX_TRIES || this.opts.minReadings * 2 ** (tries - 1) > this.opts.maxReadings);
    return { tries, gaveUp, retryAfter: accepted || gaveUp ? null : this.retryNeeded(tries) };
  }

  /**
   * Records a training that kept the shared model's weights (TrainResult.bestEpoch 0 from `init`) as a check
   * whose candidate is the model in use, with figures `{ unchanged: true, epochs, initialValLoss, bestEpochValLoss }`,
   * not accepted, counted as a try (the same wait and the same stop as a rejection); logs it as no new model.
   */
  private recordUnchanged(name: string, s: ScopeState, sensors: readonly string[], currentId: string, result: TrainResult, retrain: boolean): void {
    const epochs = result.losses.length;
    const lowest = epochs > 0 ? Math.min(...result.losses.map((l) => l.val)) : result.training.initialValLoss;
    const reason = unchangedReason(epochs, result.training.initialValLoss, lowest);
    const { tries, gaveUp, retryAfter } = this.addCheck(name, s, sensors, {
      candidate: currentId,
      current: currentId,
      accepted: false,
      reason,
      figures: { unchanged: true, epochs, initialValLoss: result.training.initialValLoss, bestEpochValLoss: lowest },
    }, retrain);
    s.lastTrainedAt = this.deps.now();
    this.restoreWait(name, s);
    this.log.warn(
      { scope: name, current: currentId, sensors, epochs, initialValLoss: result.training.initialValLoss, bestEpochValLoss: lowest, retryAfterReadings: retrain ? null : retryAfter, tries, stopped: gaveUp },
      `no new model: ${reason}; the sensors keep the shared model and ${
        retrain
          ? 'it tries again at the next retraining'
          : gaveUp
            ? `it stops trying after ${tries} tries without a better model ('anomalyd models retrain ${sensors[0]}' asks for a new try)`
            : `it tries again after ${retryAfter} more normal readings`
      }`,
    );
  }

  /**
   * Counts a try of scope `name` (nextTry) and stores its model check: `check`'s figures are extended with the try's
   * count (`tries`), the newest reading it was judged on (`dataTo`, data time, epoch ms), the operator's assignment
   * sequence it is ordered against (restoreWait) and `gaveUp` when the learner stops trying. Flushes the pending
   * readings first, so `dataTo` is the stored history's newest. Returns the try's count, whether it gave up, and the
   * readings to wait for before the next try (null: none, a retraining or an accepted model).
   */
  private addCheck(
    name: string,
    s: ScopeState,
    sensors: readonly string[],
    check: { candidate: string; current: string | null; accepted: boolean; reason: string; figures: Record<string, unknown> },
    retrain: boolean,
  ): { tries: number; gaveUp: boolean; retryAfter: number | null } {
    const { store } = this.deps;
    const next = this.nextTry(s, check.accepted, retrain);
    const { tries, gaveUp, retryAfter } = next;
    this.flush();
    const dataTo = this.newestTs({ ...s, sensors: new Set(sensors) });
    store.addModelCheck({
      scope: name,
      sensors,
      candidate: check.candidate,
      current: check.current,
      accepted: check.accepted,
      reason: check.reason,
      figures: { ...check.figures, tries, dataTo, assignmentSeq: store.assignmentVersion(), ...(gaveUp ? { gaveUp } : {}) },
      retryAfter,
    });
    return next;
  }

  /**
   * Records a training not made because `sensor`'s history drifted (driftedFrom) from data time `atTs` (epoch ms) on
   * channel `channel`: a check whose candidate is the model in use (or `none`), with figures `{ drifted: { sensor,
   * atTs, channel } }`, not accepted, counted as a try (the same wait and the same stop as a rejection); logs it.
   */
  private recordDrifted(name: string, s: ScopeState, sensors: readonly string[], sensor: string, atTs: number, channel: number, retrain: boolean): void {
    const currentId = this.deps.registry.modelFor(sensors[0])?.id ?? 'none';
    const reason = driftedText(sensor, atTs, channel);
    const { tries, gaveUp, retryAfter } = this.addCheck(name, s, sensors, {
      candidate: currentId,
      current: currentId,
      accepted: false,
      reason,
      figures: { drifted: { sensor, atTs, channel } },
    }, retrain);
    s.lastTrainedAt = this.deps.now();
    this.restoreWait(name, s);
    this.log.warn({ scope: name, sensors, sensor, atTs, channel, retryAfterReadings: retrain ? null : retryAfter, tries, stopped: gaveUp }, `no model trained: ${reason}`);
  }


  /** Readings to wait for after `tries` failed tries in a row: learning.minReadings · 2^(tries − 1), at most learning.maxReadings (then it stops, MAX_TRIES). */
  private retryNeeded(tries: number): number {
    return Math.min(this.opts.maxReadings, this.opts.minReadings * 2 ** Math.min(20, tries - 1));
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
    // A pinned sensor is not learnt: its readings are not stored, and a group's new model is not given to it.
    const sensors = [...s.sensors].filter((x) => !this.pinned.has(x));
    const C = s.channels;
    const histories: Float32Array[] = [];
    // The sensor and reading times of each history, for the check of a drifted one.
    const learnt: Array<{ sensor: string; ts: Float64Array }> = [];
    let rows = 0;
    let historyRows = 0;
    let from = Infinity;
    let to = -Infinity;
    for (const sensor of sensors) {
      // A retraining (or a new try after a rejection) learns from the newest normal data; the first training
      // from the readings up to when it was due.
      const block =
        retrain || s.retry !== null
          ? this.deps.store.readReadings(sensor, undefined, undefined, this.opts.maxReadings, true)
          : this.deps.store.readReadings(sensor, undefined, s.dueTs ?? undefined, this.opts.maxReadings);
      if (block.channels !== C || block.ts.length < this.opts.window) continue;
      const rowsOf = Math.floor(block.values.length / C);
      // The newest part is kept apart for the gate (decideOwnModel's split): neither the weights nor the calibration see it.
      const trainRows = trainingRowsOf(rowsOf);
      rows += trainRows;
      historyRows += block.ts.length;
      from = Math.min(from, block.ts[0]);
      to = Math.max(to, block.ts[trainRows - 1]);
      histories.push(block.values.length === rowsOf * C ? block.values : block.values.subarray(0, rowsOf * C));
      learnt.push({ sensor, ts: block.ts });
    }
    if (historyRows < this.opts.window * 4) throw new Error(`only ${historyRows} stored readings for ${name}`);
    // Fine-tuning the shared model on the sensor's history rather than learning from scratch: from 3,600
    // readings a model learnt from scratch was 7 to 190 times worse than the shared one on the held-out
    // readings of a slow sine, a random walk or a duty cycle (BENCHMARKS.md "Own models that start from the shared one").
    // The drift guard, the split, the start, the unchanged rule and the gate are decideOwnModel's (src/learn/own-model.ts),
    // which the replay and the evaluation run too.
    const t0 = this.deps.now();
    let lastEpoch = 0;
    const { store, registry } = this.deps;
    let modelName = '';
    let writtenSidecar = '';
    let source = '';
    const outcome = await decideOwnModel(
      {
        histories,
        channels: C,
        options: { cell: this.opts.cell, hidden: this.opts.hidden, window: this.opts.window, hop: this.opts.hop, epochs: this.opts.epochs, seed: 1 },
        shared: this.deps.startFrom?.() ?? null,
        // A history whose level, in its newest part (the gate's), is leaving everything it had shown and going on
        // leaving it (a drift the detector may not have told, or told and then took as the new normal) is no normal to
        // learn: no model is trained on it (`drifted`).
        drift: { span: this.opts.levelSpan ?? SHIPPED_DRIFT_GUARD.span, learnReadings: this.opts.levelLearn ?? SHIPPED_DRIFT_GUARD.learnReadings },
        source: (fineTuned) =>
          (source = `on-device: ${sensors.join(', ')}; ${rows} readings ${new Date(from).toISOString()} .. ${new Date(to).toISOString()}${fineTuned ? '; fine-tuned from the shared model' : ''}`),
      },
      {
        train: (series, opts, onProgress) => {
          this.log.info({ scope: name, sensors, rows, cell: this.opts.cell }, retrain ? 'retraining model' : 'training model');
          return this.deps.train(series, opts, onProgress ?? (() => undefined));
        },
        onProgress: (p) => {
          if (p.epochDone && p.epoch !== lastEpoch) {
            lastEpoch = p.epoch;
            this.log.info({ scope: name, epoch: p.epoch, maxEpochs: p.maxEpochs, loss: p.trainLoss, valLoss: p.valLoss }, 'training epoch');
          }
        },
        stopped: () => this.stopped,
        // The model in use when the training ended: the gate judges the new model against it.
        inUse: () => {
          const model = registry.modelFor(sensors[0]);
          return { model, shared: model !== null && model === registry.fallbackModel };
        },
        materialise: async (trained) => {
          mkdirSync(this.deps.modelsDir, { recursive: true });
          const stamp = new Date(this.deps.now()).toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
          // Two models of a scope made within one second (a retraining right after a training, `models retrain`)
          // must not share files: the second would overwrite the first's, which a rollback may still name.
          const baseName = `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}`;
          modelName = baseName;
          for (let k = 2; existsSync(join(this.deps.modelsDir, `${modelName}.json`)); k++) modelName = `${baseName}-${k}`;
          const { sidecarPath } = await this.deps.writeModel(this.deps.modelsDir, sidecarOf(modelName, trained), trained.params);
          writtenSidecar = sidecarPath;
          const model = await this.deps.loadModel(sidecarPath);
          return {
            model,
            discard: async () => {
              await model.release();
              removeModelFiles(sidecarPath, model.sidecar.graphs);
            },
          };
        },
      },
    );
    // Halted (halt) while it trained or while the gate ran: nothing is recorded or installed, told once at info (a
    // clean stop warns of nothing).
    if (outcome.kind === 'stopped' || this.stopped) {
      if (outcome.kind === 'accepted') await outcome.discard();
      this.log.info({ scope: name, outcome: outcome.kind }, 'training ended by the stop: no model installed; it trains again after the restart');
      return;
    }
    if (outcome.kind === 'drifted') {
      const { history, row, channel } = outcome.drifted;
      this.recordDrifted(name, s, sensors, learnt[history].sensor, learnt[history].ts[row], channel, retrain);
      return;
    }
    const result = outcome.result;
    // Told, not acted on: the gate below judges the model against the one in use on the held-out readings.
    for (const w of result.warnings) this.log.warn({ scope: name, predVsPersistence: result.predVsPersistence, steps: result.steps }, w);
    // Fine-tuning that kept the shared weights made no new model: told as what it is, and the scope waits for
    // more readings as after a rejection (tryout 26: it was reported as a tied, rejected model).
    if (outcome.kind === 'unchanged') {
      this.recordUnchanged(name, s, sensors, outcome.current.id, result, retrain);
      return;
    }
    const { decision, current } = outcome;
    const candidateId = outcome.kind === 'accepted' ? outcome.model.id : outcome.candidateId;
    const { reason: _reason, ...figures } = decision;
    // The readings counted towards the next try are those stored after the newest it was judged on (data time),
    // and the check is ordered against the operator's assignments by their sequence (restoreWait).
    const { tries, gaveUp, retryAfter } = this.addCheck(name, s, sensors, {
      candidate: candidateId,
      current: current?.id ?? null,
      accepted: decision.accepted,
      reason: decision.reason,
      figures,
    }, retrain);
    if (outcome.kind === 'rejected') {
      s.lastTrainedAt = this.deps.now();
      // A retraining keeps its own model and retrains after learning.retrainIntervalMs, as before; a first
      // model waits for more readings (or stops trying), as the store now says (the same after a restart).
      this.restoreWait(name, s);
      this.log.warn(
        {
          scope: name,
          model: candidateId,
          current: current?.id ?? null,
          sensors,
          heldOut: decision.heldOut,
          loss: decision.candidate.loss,
          currentLoss: decision.current?.loss ?? null,
          retryAfterReadings: retrain ? null : retryAfter,
          retryAfterMs: retrain ? this.opts.retrainIntervalMs : null,
          tries,
          stopped: gaveUp,
        },
        `new model rejected: ${decision.reason}; the sensors keep ${current === registry.fallbackModel ? 'the shared model' : 'their model'} and ${
          retrain
            ? 'it tries again at the next retraining'
            : gaveUp
              ? `it stops trying after ${tries} rejected models ('anomalyd models retrain ${sensors[0]}' asks for a new try)`
              : `it tries again after ${retryAfter} more normal readings`
        }`,
      );
      return;
    }
    const model = outcome.model;
    const sidecarPath = writtenSidecar;
    s.retry = null;
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
    // A sensor the operator pinned while this model was training keeps its pinned model.
    const taken = sensors.filter((x) => !this.pinned.has(x));
    for (const sensor of taken) {
      store.assignModel(sensor, model.id, retrain ? 'retrained' : 'trained');
      registry.assign(sensor, model.id);
    }
    s.lastTrainedAt = this.deps.now();
    this.log.info(
      { scope: name, model: model.id, sensors: taken, seconds: (this.deps.now() - t0) / 1000, valLoss: result.training.finalValLoss, epochs: result.losses.length, gate: decision.reason, loss: decision.candidate.loss, currentLoss: decision.current?.loss ?? null },
      taken.length > 0 ? 'model trained and swapped in' : 'model trained, not swapped in: the operator pinned its sensors while it trained',
    );
    if (taken.length > 0) this.deps.onInstalled?.(taken, model);
    await registry.releaseUnused();
  }
}

/**
 * Why a scope waits after a rejection, short, as the operator sees it (status, the API, the dashboard):
 * "its last model was 22.3 times worse than the model in use on 720 held-out readings". From a decision or
 * its stored figures (a stored check without them: "its last model was rejected").
 */
function rejectedText(figures: unknown): string {
  const drifted = (figures as { drifted?: { sensor?: unknown; atTs?: unknown; channel?: unknown } } | null)?.drifted;
  if (drifted !== undefined && typeof drifted.sensor === 'string' && typeof drifted.atTs === 'number' && typeof drifted.channel === 'number') return `its last history ${driftedText(drifted.sensor, drifted.atTs, drifted.channel).replace(`${drifted.sensor} `, '')}`;
  if ((figures as { unchanged?: unknown } | null)?.unchanged === true) return 'its last training kept the shared model’s weights (no epoch lowered its validation loss): no new model';
  const f = figures as Partial<Pick<GateDecision, 'candidate' | 'current' | 'heldOut' | 'paired'>> | null;
  const cand = f?.candidate?.loss;
  const cur = f?.current?.loss;
  if (typeof cand !== 'number' || typeof cur !== 'number' || !(cur > 0) || typeof f?.heldOut !== 'number') return 'its last model was rejected';
  const ratio = cand / cur;
  // A tie (isTie: the loss ratio rounds to 1.00) is told as the gate's reason
  // tells it: tied, not measurably better (not "1.00 times worse").
  if (isTie(ratio)) return `its last model was tied with the model in use on ${f.heldOut} held-out readings (${ratio.toPrecision(3)} times its loss): not measurably better`;
  if (ratio >= 1) return `its last model was ${ratio.toPrecision(3)} times worse than the model in use on ${f.heldOut} held-out readings`;
  const paired = f.paired !== undefined ? `, lower on ${f.paired.better} of ${f.paired.stretches} stretches` : '';
  return `its last model was not measurably better than the model in use on ${f.heldOut} held-out readings (${ratio.toPrecision(3)} times its loss${paired})`;
}

/** Why a scope stopped trying, for people (status, the API, the dashboard). */
function stoppedText(tries: number, last: string): string {
  return `stopped after ${tries} rejected model${tries === 1 ? '' : 's'}, ${last}; 'anomalyd models retrain SENSOR' asks for a new try`;
}

/** True when the operator's assignment came after the gate's decision (the decision records the assignment sequence it saw). */
function opAfterCheck(op: ModelAssignment, check: ModelCheck): boolean {
  const seen = (check.figures as { assignmentSeq?: unknown } | null)?.assignmentSeq;
  return typeof seen === 'number' ? op.seq > seen : op.at >= check.at;
}

/** The rejections in a row a stored check's figures count (1 when they do not say). */
function rejectionsOf(figures: unknown): number {
  const tries = typeof figures === 'object' && figures !== null ? (figures as { tries?: unknown }).tries : undefined;
  return typeof tries === 'number' && Number.isInteger(tries) && tries > 0 ? tries : 1;
}

/** Deletes a rejected model's sidecar and graphs (an SD card does not keep models nobody uses). */
function removeModelFiles(sidecarPath: string, graphs: ModelGraphs): void {
  for (const f of [sidecarPath, graphs.window, graphs.step, graphs.decode].map((g, i) => (i === 0 ? g : join(dirname(sidecarPath), g)))) rmSync(f, { force: true });
}
