/**
 * Per-sensor checkpoints: the detector's state of each sensor (parser, window buffer, hidden state and
 * normalisation, score state) saved to the store every store.checkpointIntervalMs and at stop, and
 * restored at start when younger than store.checkpointMaxAgeMs (an older one is dropped: the sensor
 * re-warms). What a sensor's state is belongs to the detector (`CheckpointSubject`); this module owns
 * only when it is saved, where, and how old is too old.
 */
import type { Logger } from 'pino';
import type { SensorStateRow } from '../contract/store.js';
import type { Detector } from '../pipeline/detector.js';

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

  /** Restores the young-enough checkpoints into the subject; logs what was restored, dropped or unreadable. */
  restore(): void {
    const now = this.opts.now();
    const states = new Map<string, unknown>();
    let stale = 0;
    for (const [sensor, { blob, updatedAt }] of this.store.loadSensorStates()) {
      if (now - updatedAt > this.opts.maxAgeMs) {
        stale++;
        continue;
      }
      try {
        states.set(sensor, JSON.parse(blob.toString('utf8')) as unknown);
      } catch (err) {
        this.opts.logger.warn({ err, sensor }, 'unreadable checkpoint ignored');
      }
    }
    const dropped = this.subject.restore(states);
    for (const line of dropped) this.opts.logger.info({ reason: line }, 'checkpoint part not restored; it re-warms');
    if (states.size + stale > 0) this.opts.logger.info({ restored: states.size, stale, dropped: dropped.length }, 'sensor checkpoints');
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

/** The detector as a CheckpointSubject: one state per stream (parser, cadence, model state, score state). */
export function detectorCheckpointSubject(detector: Detector): CheckpointSubject {
  return {
    sensors: () => detector.streams(),
    snapshot: (stream) => detector.snapshot(stream),
    restore(states) {
      const skipped: string[] = [];
      for (const [stream, state] of states) skipped.push(...detector.restore(stream, state));
      return skipped;
    },
  };
}
