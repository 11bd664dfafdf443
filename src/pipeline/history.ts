/**
 * Recent scores per stream, in memory, for the local HTTP API and its plots. Each stream has a fixed ring of
 * typed arrays allocated on its first reading, so recording a reading is O(1) and allocates nothing.
 * Queries copy out plain arrays: they are rare and their result is serialised as JSON anyway.
 */
import type { ScoredReading } from '../contract/types.js';

export interface ScoreHistoryOptions {
  /** Readings kept per stream. */
  readonly capacity?: number;
  /** Streams tracked at most; readings of further streams are not recorded (record returns false). */
  readonly maxSensors?: number;
}

/** One stream's recorded readings, oldest first, as parallel columns. */
export interface HistorySeries {
  readonly sensor: string;
  /** How many readings the history keeps at most (older ones fall off). */
  readonly capacity: number;
  /** Epoch ms of each reading. */
  readonly endTs: number[];
  /** The reading's first channel, sensor units. */
  readonly value: number[];
  /** The model's expectation of it, sensor units (NaN when there was none). */
  readonly expected: number[];
  readonly score: number[];
  /** -log10(1 - score): the score on a scale that does not saturate. */
  readonly surprise: number[];
  readonly threshold: number[];
  /** True while the stream was in an anomaly episode at that reading. */
  readonly anomalous: boolean[];
}

/** 1,024 readings: ≈ 40 kB per stream; a thousand streams on a Pi should not spend much more on plots. */
export const DEFAULT_HISTORY_CAPACITY = 1024;
export const DEFAULT_HISTORY_MAX_SENSORS = 1000;

class SensorRing {
  readonly endTs: Float64Array;
  readonly value: Float32Array;
  readonly expected: Float32Array;
  readonly score: Float64Array;
  readonly surprise: Float32Array;
  readonly threshold: Float64Array;
  readonly anomalous: Uint8Array;
  /** Index the next reading goes to. */
  next = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.endTs = new Float64Array(capacity);
    this.value = new Float32Array(capacity);
    this.expected = new Float32Array(capacity);
    this.score = new Float64Array(capacity);
    this.surprise = new Float32Array(capacity);
    this.threshold = new Float64Array(capacity);
    this.anomalous = new Uint8Array(capacity);
  }

  push(r: ScoredReading): void {
    const i = this.next;
    this.endTs[i] = r.ts;
    this.value[i] = r.values[0] ?? Number.NaN;
    this.expected[i] = r.expected?.[0] ?? Number.NaN;
    this.score[i] = r.score;
    this.surprise[i] = r.surprise;
    this.threshold[i] = r.threshold;
    this.anomalous[i] = r.status === 'anomalous' ? 1 : 0;
    this.next = (i + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** Ring indices oldest first whose time is after sinceTs. */
  indicesSince(sinceTs: number | undefined): number[] {
    const out: number[] = [];
    const oldest = (this.next - this.size + this.capacity) % this.capacity;
    for (let k = 0; k < this.size; k++) {
      const i = (oldest + k) % this.capacity;
      if (sinceTs === undefined || this.endTs[i] > sinceTs) out.push(i);
    }
    return out;
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

  /** Records one scored reading. Returns false when it was not recorded because maxSensors streams are tracked. */
  record(r: ScoredReading): boolean {
    let ring = this.rings.get(r.stream);
    if (ring === undefined) {
      if (this.rings.size >= this.maxSensors) return false;
      ring = new SensorRing(this.capacity);
      this.rings.set(r.stream, ring);
    }
    ring.push(r);
    return true;
  }

  /** The stream's readings with time > sinceTs (all kept without it), oldest first; null for an unknown stream. */
  series(sensor: string, sinceTs?: number): HistorySeries | null {
    const ring = this.rings.get(sensor);
    if (ring === undefined) return null;
    const idx = ring.indicesSince(sinceTs);
    return {
      sensor,
      capacity: ring.capacity,
      endTs: idx.map((i) => ring.endTs[i]),
      value: idx.map((i) => ring.value[i]),
      expected: idx.map((i) => ring.expected[i]),
      score: idx.map((i) => ring.score[i]),
      surprise: idx.map((i) => ring.surprise[i]),
      threshold: idx.map((i) => ring.threshold[i]),
      anomalous: idx.map((i) => ring.anomalous[i] === 1),
    };
  }

  /** Time of the stream's latest recorded reading, or null. O(1), no copy (for status lists). */
  latestTs(sensor: string): number | null {
    const ring = this.rings.get(sensor);
    if (ring === undefined || ring.size === 0) return null;
    return ring.endTs[(ring.next - 1 + ring.capacity) % ring.capacity];
  }

  /** Drops a stream's history. */
  forget(sensor: string): void {
    this.rings.delete(sensor);
  }

  /** Streams with at least one recorded reading, in the order they first appeared. */
  sensors(): string[] {
    return [...this.rings.keys()];
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`ScoreHistory ${name} must be a positive integer, got ${value}`);
  return value;
}
