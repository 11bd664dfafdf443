/**
 * Per-sensor checkpoints: the detector's state of each sensor (parser, window buffer, hidden state and
 * normalisation, score state) saved to the store every store.checkpointIntervalMs and at stop, and
 * restored at start when younger than store.checkpointMaxAgeMs (an older one is dropped: the sensor
 * re-warms). What a sensor's state is belongs to the detector (`CheckpointSubject`); this module owns
 * only when it is saved, where, and how old is too old.
 */
import type { Logger } from 'pino';
import type { SensorStateRow } from '../contract/store.js';
import type { InferenceEngine, SensorInferenceSnapshot } from '../pipeline/infer.js';
import type { LifecycleState } from '../pipeline/lifecycle.js';
import type { MessageParser } from '../pipeline/parse.js';
import type { ScoringRegistry } from '../pipeline/score.js';
import type { Windower } from '../pipeline/window.js';

/** What is checkpointed: one JSON-serialisable state per sensor. */
export interface CheckpointSubject {
  /** Sensors that have state worth saving. */
  sensors(): Iterable<string>;
  /** One sensor's state, JSON-serialisable. */
  snapshot(sensor: string): unknown;
  /**
   * Restores saved states (already JSON-parsed). A part that cannot be restored (other options, another
   * model, malformed) is skipped so that it re-warms; returns one line per such part.
   */
  restore(states: ReadonlyMap<string, unknown>): string[];
}

/** The part of the store checkpoints use. */
export interface CheckpointStore {
  saveSensorStates(rows: readonly SensorStateRow[]): void;
  loadSensorStates(): Map<string, { blob: Buffer; updatedAt: number }>;
  loadSensorState(sensor: string): { blob: Buffer; updatedAt: number } | null;
}

/** How an evicted sensor's checkpoint is stored: restore() at start leaves it out, revive() brings it back. */
interface EvictedCheckpoint {
  /** Epoch ms of the eviction. */
  readonly evicted: number;
  readonly state: unknown;
}

function isEvicted(v: unknown): v is EvictedCheckpoint {
  return typeof v === 'object' && v !== null && typeof (v as { evicted?: unknown }).evicted === 'number' && 'state' in v;
}

export interface CheckpointOptions {
  readonly intervalMs: number;
  readonly maxAgeMs: number;
  readonly now: () => number;
  readonly logger: Logger;
}

export class Checkpoints {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: CheckpointStore,
    private readonly subject: CheckpointSubject,
    private readonly opts: CheckpointOptions,
  ) {}

  /**
   * Restores the young-enough checkpoints into the subject (not those of evicted sensors); logs what was
   * restored, dropped or unreadable. Returns the sensors restored.
   */
  restore(): string[] {
    const now = this.opts.now();
    const states = new Map<string, unknown>();
    let stale = 0;
    let evicted = 0;
    for (const [sensor, { blob, updatedAt }] of this.store.loadSensorStates()) {
      if (now - updatedAt > this.opts.maxAgeMs) {
        stale++;
        continue;
      }
      try {
        const state = JSON.parse(blob.toString('utf8')) as unknown;
        // An evicted sensor takes no slot until a valid reading of it arrives (then revive()).
        if (isEvicted(state)) evicted++;
        else states.set(sensor, state);
      } catch (err) {
        this.opts.logger.warn({ err, sensor }, 'unreadable checkpoint ignored');
      }
    }
    const dropped = this.subject.restore(states);
    for (const line of dropped) this.opts.logger.info({ reason: line }, 'checkpoint part not restored; it re-warms');
    if (states.size + stale + evicted > 0) this.opts.logger.info({ restored: states.size, stale, evicted, dropped: dropped.length }, 'sensor checkpoints');
    return [...states.keys()];
  }

  /**
   * Saves one sensor's state now, marked evicted (the sensor is about to be dropped from memory). Returns
   * false when it could not be saved (logged); the caller evicts anyway, and the sensor re-warms.
   */
  saveEvicted(sensor: string): boolean {
    try {
      const now = this.opts.now();
      const cp: EvictedCheckpoint = { evicted: now, state: this.subject.snapshot(sensor) };
      this.store.saveSensorStates([{ sensor, blob: Buffer.from(JSON.stringify(cp)), updatedAt: now }]);
      return true;
    } catch (err) {
      this.opts.logger.warn({ err, sensor }, 'checkpoint of an evicted sensor failed; it re-warms if it comes back');
      return false;
    }
  }

  /**
   * Restores a sensor that was evicted, when a valid reading of it arrives again: true when its
   * checkpoint was there and young enough. Never throws.
   */
  revive(sensor: string): boolean {
    try {
      const row = this.store.loadSensorState(sensor);
      if (row === null || this.opts.now() - row.updatedAt > this.opts.maxAgeMs) return false;
      const parsed = JSON.parse(row.blob.toString('utf8')) as unknown;
      if (!isEvicted(parsed)) return false;
      const dropped = this.subject.restore(new Map([[sensor, parsed.state]]));
      for (const line of dropped) this.opts.logger.info({ reason: line }, 'checkpoint part not restored; it re-warms');
      return true;
    } catch (err) {
      this.opts.logger.warn({ err, sensor }, 'could not restore an evicted sensor; it re-warms');
      return false;
    }
  }

  /** Saves every sensor's state now. Never throws: a failure is logged and the next save tries again. */
  save(): void {
    try {
      const now = this.opts.now();
      const rows: SensorStateRow[] = [];
      for (const sensor of this.subject.sensors()) {
        rows.push({ sensor, blob: Buffer.from(JSON.stringify(this.subject.snapshot(sensor))), updatedAt: now });
      }
      this.store.saveSensorStates(rows);
    } catch (err) {
      this.opts.logger.warn({ err }, 'checkpoint failed');
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.save(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** One sensor's checkpoint of the current stages: parser, window buffer, hidden state and normalisation, score state. */
interface StagesCheckpoint {
  readonly parser?: unknown;
  readonly window?: unknown;
  readonly inference: SensorInferenceSnapshot | null;
  readonly scoring: { readonly calibrator?: unknown; readonly lifecycle?: unknown } | null;
}

/** What the store committed about an episode: 'open', 'resolved', or null when it has no such episode. */
export type CommittedEpisodeStatus = (anomalyId: string) => 'open' | 'resolved' | null;

/**
 * A checkpointed lifecycle reconciled with the committed truth. A checkpoint is as old as its interval:
 * the episode it has open may have resolved since (committed, alert sent) or never have been committed
 * (the open was lost with its batch). Either way the stored state wins: the lifecycle continues without
 * that episode, so it can never be resolved twice. Returns the state to restore and, when it changed,
 * a line saying why.
 */
export function reconcileLifecycle(sensor: string, state: unknown, committed: CommittedEpisodeStatus): { state: unknown; note: string | null } {
  const episode = (state as Partial<LifecycleState> | null)?.episode;
  if (episode === null || episode === undefined || typeof episode.anomalyId !== 'string') return { state, note: null };
  const status = committed(episode.anomalyId);
  if (status === 'open') return { state, note: null };
  const why = status === 'resolved' ? 'is already resolved in the store' : 'was never committed';
  return {
    state: { ...(state as LifecycleState), episode: null, run: null },
    note: `lifecycle ${sensor}: episode ${episode.anomalyId} ${why}; the sensor continues without it`,
  };
}

/**
 * The detector stages as a CheckpointSubject. `modelIdOf` is the sensor's current model (a checkpoint under
 * another re-warms); `committed` is what the store holds about an episode, so a restored lifecycle never
 * re-opens or re-resolves what the store already closed.
 */
export function stagesCheckpointSubject(
  stages: { readonly parser: MessageParser; readonly windower: Windower; readonly engine: InferenceEngine; readonly scoring: ScoringRegistry },
  modelIdOf: (sensor: string) => string | null,
  extraSensors: () => Iterable<string>,
  committed: CommittedEpisodeStatus = () => 'open',
): CheckpointSubject {
  const { parser, windower, engine, scoring } = stages;
  return {
    sensors() {
      return new Set<string>([...engine.sensors(), ...scoring.sensors(), ...extraSensors()]);
    },
    snapshot(sensor) {
      const snap = scoring.snapshotOf(sensor);
      const cp: StagesCheckpoint = {
        parser: parser.snapshot(sensor) ?? null,
        window: windower.snapshot(sensor) ?? null,
        inference: engine.snapshot(sensor),
        scoring: { calibrator: snap.calibrator, lifecycle: snap.lifecycle },
      };
      return cp;
    },
    restore(states) {
      const dropped: string[] = [];
      const calibrators: Record<string, unknown> = {};
      const lifecycles: Record<string, unknown> = {};
      const part = (what: string, sensor: string, fn: () => void): void => {
        try {
          fn();
        } catch (err) {
          dropped.push(`${what} ${sensor}: ${(err as Error).message}`);
        }
      };
      for (const [sensor, state] of states) {
        const cp = state as StagesCheckpoint;
        // A checkpoint taken under another model (or other window options) re-warms that part instead.
        if (cp.inference && cp.inference.modelId === modelIdOf(sensor)) engine.restore(sensor, cp.inference);
        if (cp.parser) part('parser', sensor, () => parser.restore(sensor, cp.parser));
        if (cp.window) part('window', sensor, () => windower.restore(sensor, cp.window));
        if (cp.scoring?.calibrator) calibrators[sensor] = cp.scoring.calibrator;
        if (cp.scoring?.lifecycle) {
          const { state: lifecycle, note } = reconcileLifecycle(sensor, cp.scoring.lifecycle, committed);
          lifecycles[sensor] = lifecycle;
          if (note !== null) dropped.push(note);
        }
      }
      dropped.push(...scoring.restore({ calibrators, lifecycles }));
      return dropped;
    },
  };
}
