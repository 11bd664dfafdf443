/**
 * Recent score history per sensor, in memory, for the local HTTP API and its plots. Each sensor has a
 * fixed ring of typed arrays allocated on its first window, so recording a window is O(1) and allocates
 * nothing (the last window's raw values are copied into a buffer that only grows if the window does).
 * Queries copy out plain arrays: they are rare and their result is serialised as JSON anyway.
 */
import type { ScoredWindow } from '../contract/types.js';

export interface ScoreHistoryOptions {
  /** Windows kept per sensor (e.g. 720 = one hour at one window every 5 s). */
  readonly capacity?: number;
  /** Sensors tracked at most; windows of further sensors are not recorded (record returns false). */
  readonly maxSensors?: number;
}

/** The last window a sensor saw, raw (un-normalised) values, valid steps only. */
export interface LastWindow {
  readonly channels: readonly string[];
  readonly startTs: number;
  readonly endTs: number;
  readonly model: string;
  /** Time-major: values[t * channels.length + c], t < validLength. */
  readonly values: number[];
}

/** One sensor's recorded windows, oldest first, as parallel columns. */
export interface HistorySeries {
  readonly sensor: string;
  /** How many windows the history keeps at most (older ones fall off). */
  readonly capacity: number;
  readonly endTs: number[];
  readonly score: number[];
  readonly reconError: number[];
  readonly threshold: number[];
  /** True while the sensor was in an anomaly episode at that window. */
  readonly anomalous: boolean[];
  readonly lastWindow: LastWindow | null;
}

/**
 * 240 windows: at hop 16 and 1 Hz, a bit over an hour of scores, ≈ 8 kB per sensor (a thousand sensors on a
 * Pi should not spend tens of MB on the dashboard's plots).
 */
export const DEFAULT_HISTORY_CAPACITY = 240;
export const DEFAULT_HISTORY_MAX_SENSORS = 1000;

class SensorRing {
  readonly endTs: Float64Array;
  readonly score: Float64Array;
  readonly reconError: Float64Array;
  readonly threshold: Float64Array;
  readonly anomalous: Uint8Array;
  /** Index the next window goes to. */
  next = 0;
  size = 0;
  lastValues = new Float32Array(0);
  lastLength = 0;
  lastChannels: readonly string[] = [];
  lastStartTs = 0;
  lastEndTs = 0;
  lastModel = '';

  constructor(readonly capacity: number) {
    this.endTs = new Float64Array(capacity);
    this.score = new Float64Array(capacity);
    this.reconError = new Float64Array(capacity);
    this.threshold = new Float64Array(capacity);
    this.anomalous = new Uint8Array(capacity);
  }

  push(scored: ScoredWindow, anomalous: boolean): void {
    const i = this.next;
    const { window } = scored.result;
    this.endTs[i] = window.endTs;
    this.score[i] = scored.score;
    this.reconError[i] = scored.result.reconError;
    this.threshold[i] = scored.threshold;
    this.anomalous[i] = anomalous ? 1 : 0;
    this.next = (i + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    this.keepLastWindow(scored);
  }

  private keepLastWindow(scored: ScoredWindow): void {
    const { window, modelId } = scored.result;
    const length = window.validLength * window.channels.length;
    if (this.lastValues.length < length) this.lastValues = new Float32Array(length);
    this.lastValues.set(window.data.subarray(0, length));
    this.lastLength = length;
    // The channel list is the window's own (immutable) array: keeping the reference copies nothing.
    this.lastChannels = window.channels;
    this.lastStartTs = window.startTs;
    this.lastEndTs = window.endTs;
    this.lastModel = modelId;
  }

  /** Ring indices oldest first whose endTs is after sinceTs. */
  indicesSince(sinceTs: number | undefined): number[] {
    const out: number[] = [];
    const oldest = (this.next - this.size + this.capacity) % this.capacity;
    for (let k = 0; k < this.size; k++) {
      const i = (oldest + k) % this.capacity;
      if (sinceTs === undefined || this.endTs[i] > sinceTs) out.push(i);
    }
    return out;
  }

  lastWindow(): LastWindow | null {
    if (this.size === 0) return null;
    return {
      channels: [...this.lastChannels],
      startTs: this.lastStartTs,
      endTs: this.lastEndTs,
      model: this.lastModel,
      values: Array.from(this.lastValues.subarray(0, this.lastLength)),
    };
  }
}

export class ScoreHistory {
  private readonly rings = new Map<string, SensorRing>();
  private readonly capacity: number;
  private readonly maxSensors: number;

  constructor(opts: ScoreHistoryOptions = {}) {
    this.capacity = positiveInt(opts.capacity ?? DEFAULT_HISTORY_CAPACITY, 'capacity');
    this.maxSensors = positiveInt(opts.maxSensors ?? DEFAULT_HISTORY_MAX_SENSORS, 'maxSensors');
  }

  /**
   * Records one scored window. `anomalous` is whether the sensor is in an open episode after this
   * window (the lifecycle's status), which is what the plots shade. Returns false when the window was
   * not recorded because maxSensors sensors are already tracked.
   */
  record(scored: ScoredWindow, anomalous: boolean): boolean {
    const sensor = scored.result.window.sensor;
    let ring = this.rings.get(sensor);
    if (ring === undefined) {
      if (this.rings.size >= this.maxSensors) return false;
      ring = new SensorRing(this.capacity);
      this.rings.set(sensor, ring);
    }
    ring.push(scored, anomalous);
    return true;
  }

  /** The sensor's windows with endTs > sinceTs (all kept windows without it), oldest first; null for an unknown sensor. */
  series(sensor: string, sinceTs?: number): HistorySeries | null {
    const ring = this.rings.get(sensor);
    if (ring === undefined) return null;
    const idx = ring.indicesSince(sinceTs);
    return {
      sensor,
      capacity: ring.capacity,
      endTs: idx.map((i) => ring.endTs[i]),
      score: idx.map((i) => ring.score[i]),
      reconError: idx.map((i) => ring.reconError[i]),
      threshold: idx.map((i) => ring.threshold[i]),
      anomalous: idx.map((i) => ring.anomalous[i] === 1),
      lastWindow: ring.lastWindow(),
    };
  }

  /** End of the sensor's latest recorded window, or null. O(1), no copy (for status lists). */
  latestTs(sensor: string): number | null {
    const ring = this.rings.get(sensor);
    if (ring === undefined || ring.size === 0) return null;
    return ring.endTs[(ring.next - 1 + ring.capacity) % ring.capacity];
  }

  /** Sensors with at least one recorded window, in the order they first appeared. */
  sensors(): string[] {
    return [...this.rings.keys()];
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`ScoreHistory ${name} must be a positive integer, got ${value}`);
  return value;
}
