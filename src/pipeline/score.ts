/**
 * The scoring stage: calibrated score per window, then the sensor's anomaly lifecycle.
 * Pure: the per-sensor state lives in the injected calibrators and lifecycles, time comes from the windows.
 */
import { type OperatorFunction, map } from 'rxjs';
import type { AnomalyEvent, ScoredWindow, WindowResult } from '../contract/types.js';
import { type CalibratorExtras, type CalibratorState, type LogErrorPrior, ScoreCalibrator, type ScoreOptions } from './calibrate.js';
import { AnomalyLifecycle, type LifecycleOptions, type LifecycleState } from './lifecycle.js';

export interface ScoreDeps {
  calibratorFor(sensor: string, modelId: string): ScoreCalibrator;
  lifecycleFor(sensor: string): AnomalyLifecycle;
  threshold(sensor: string): number;
  /** Called when an episode outlasted alerts.maxEpisodeMs: the sensor's normal is re-learnt from here. */
  relearned?(sensor: string): void;
}

export interface ScoreOutput {
  readonly scored: ScoredWindow;
  readonly events: AnomalyEvent[];
}

/**
 * One output per window, in order; `events` is usually empty.
 *
 *   --r1--r2--r3--|      scoreWindows(deps)
 *   --o1--o2--o3--|
 */
export function scoreWindows(deps: ScoreDeps): OperatorFunction<WindowResult, ScoreOutput> {
  return map((result) => scoreWindow(deps, result));
}

/**
 * Scores one window. A window is kept out of the sensor's error history while an episode is open or when
 * it is above threshold itself. While the calibrator is still learning the sensor, no window counts as
 * above threshold (a probation period, as in the NAB protocol): its own normal is not known yet.
 */
export function scoreWindow(deps: ScoreDeps, result: WindowResult): ScoreOutput {
  const sensor = result.window.sensor;
  const calibrator = deps.calibratorFor(sensor, result.modelId);
  const lifecycle = deps.lifecycleFor(sensor);
  const threshold = deps.threshold(sensor);
  const learning = calibrator.learning;
  const score = calibrator.update(result, lifecycle.status === 'anomalous', threshold);
  const scored: ScoredWindow = { result, score, threshold, above: !learning && score >= threshold };
  const events = lifecycle.update(scored);
  if (lifecycle.takeRelearn()) {
    calibrator.relearn();
    deps.relearned?.(sensor);
  }
  return { scored, events };
}

export interface ScoringRegistryOptions {
  readonly score: ScoreOptions;
  /** score.threshold: the same for every sensor, since the score means the same for every sensor. */
  readonly threshold: number;
  readonly alerts: LifecycleOptions;
  /** The model's validation calibration (the sidecar's `calibration`). */
  priorFor(modelId: string): LogErrorPrior;
  /** Optional prior for the prediction error of a model (the sidecar has none yet). */
  predictionPriorFor?(modelId: string): LogErrorPrior | null;
  readonly newId: () => string;
  /** Told when a sensor re-learns its normal after a too-long episode (the engine resets its normalisation). */
  readonly onRelearn?: (sensor: string) => void;
}

export interface ScoringSnapshot {
  readonly calibrators: Record<string, { readonly modelId: string; readonly state: CalibratorState }>;
  readonly lifecycles: Record<string, LifecycleState>;
}

/**
 * The per-sensor calibrators and lifecycles, created on first sight, with a JSON snapshot for checkpoints.
 * A sensor has one calibrator: moving it to another model starts a new one from that model's prior.
 */
export class ScoringRegistry implements ScoreDeps {
  private readonly calibrators = new Map<string, { modelId: string; calibrator: ScoreCalibrator }>();
  private readonly lifecycles = new Map<string, AnomalyLifecycle>();

  constructor(private readonly options: ScoringRegistryOptions) {}

  calibratorFor(sensor: string, modelId: string): ScoreCalibrator {
    const found = this.calibrators.get(sensor);
    if (found && found.modelId === modelId) return found.calibrator;
    const calibrator = new ScoreCalibrator(this.options.priorFor(modelId), this.options.score, this.extras(modelId));
    this.calibrators.set(sensor, { modelId, calibrator });
    return calibrator;
  }

  lifecycleFor(sensor: string): AnomalyLifecycle {
    let lifecycle = this.lifecycles.get(sensor);
    if (!lifecycle) {
      lifecycle = new AnomalyLifecycle(sensor, this.options.alerts, this.options.newId);
      this.lifecycles.set(sensor, lifecycle);
    }
    return lifecycle;
  }

  /**
   * Drops a sensor's calibrator and lifecycle (an idle sensor evicted by the daemon, whose state was
   * checkpointed and whose open episode, if any, was resolved first).
   */
  forget(sensor: string): void {
    this.calibrators.delete(sensor);
    this.lifecycles.delete(sensor);
  }

  threshold(_sensor: string): number {
    return this.options.threshold;
  }

  relearned(sensor: string): void {
    this.options.onRelearn?.(sensor);
  }

  /** True while the sensor's calibrator has not yet learnt the sensor (the `learning` sensor status). */
  learning(sensor: string): boolean {
    return this.calibrators.get(sensor)?.calibrator.learning ?? true;
  }

  /**
   * One sensor's part of toJSON(), without serialising every other sensor: checkpoints are taken sensor
   * by sensor, and toJSON() per sensor made a checkpoint of N sensors cost N².
   */
  snapshotOf(sensor: string): { readonly calibrator: { modelId: string; state: CalibratorState } | null; readonly lifecycle: LifecycleState | null } {
    const c = this.calibrators.get(sensor);
    return { calibrator: c ? { modelId: c.modelId, state: c.calibrator.toJSON() } : null, lifecycle: this.lifecycles.get(sensor)?.toJSON() ?? null };
  }

  /** Sensors with a calibrator or a lifecycle. */
  sensors(): Set<string> {
    return new Set([...this.calibrators.keys(), ...this.lifecycles.keys()]);
  }

  toJSON(): ScoringSnapshot {
    const calibrators: Record<string, { modelId: string; state: CalibratorState }> = {};
    for (const [sensor, { modelId, calibrator }] of this.calibrators) calibrators[sensor] = { modelId, state: calibrator.toJSON() };
    const lifecycles: Record<string, LifecycleState> = {};
    for (const [sensor, lifecycle] of this.lifecycles) lifecycles[sensor] = lifecycle.toJSON();
    return { calibrators, lifecycles };
  }

  /**
   * Restores a snapshot. A calibrator saved under different score options (config changed) is dropped and
   * relearnt; lifecycles always continue, under the current alert options. Returns what was dropped, and why.
   */
  restore(snapshot: unknown): string[] {
    const dropped: string[] = [];
    if (typeof snapshot !== 'object' || snapshot === null) return ['snapshot: not an object'];
    const { calibrators, lifecycles } = snapshot as Partial<Record<keyof ScoringSnapshot, unknown>>;
    for (const [sensor, entry] of entries(calibrators)) {
      try {
        const { modelId, state } = entry as { modelId?: unknown; state?: unknown };
        if (typeof modelId !== 'string') throw new Error('modelId missing');
        const calibrator = ScoreCalibrator.fromJSON(state);
        if (!sameOptions(calibrator.toJSON().options, this.options.score)) throw new Error('score options changed');
        this.calibrators.set(sensor, { modelId, calibrator });
      } catch (err) {
        dropped.push(`calibrator ${sensor}: ${(err as Error).message}`);
      }
    }
    for (const [sensor, state] of entries(lifecycles)) {
      try {
        this.lifecycles.set(sensor, AnomalyLifecycle.fromJSON(state, this.options.alerts, this.options.newId));
      } catch (err) {
        dropped.push(`lifecycle ${sensor}: ${(err as Error).message}`);
      }
    }
    return dropped;
  }

  private extras(modelId: string): CalibratorExtras {
    return { predictionPrior: this.options.predictionPriorFor?.(modelId) ?? null };
  }
}

function entries(v: unknown): [string, unknown][] {
  return typeof v === 'object' && v !== null ? Object.entries(v) : [];
}

function sameOptions(a: ScoreOptions, b: ScoreOptions): boolean {
  return a.mode === b.mode && a.shortWindow === b.shortWindow && a.longWindow === b.longWindow && a.priorWeight === b.priorWeight;
}
