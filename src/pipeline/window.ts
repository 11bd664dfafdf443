/**
 * Window stage: each sensor's readings -> fixed-length windows for the model.
 *
 * Grid. Readings are placed on the sensor's nominal interval grid, anchored at the first reading of a
 * segment: step k = round((ts - originTs) / interval), so grid times never drift from the readings by
 * more than half an interval. With intervalMs 0 the interval is learned per sensor as the median of its
 * first 8 intervals (the readings are held back until then and replayed), then fixed.
 *   - Several readings in the same step (jitter, a late reading the parser clamped, a sensor faster than
 *     the grid) are AVERAGED into that step. A reading behind the current step (the parser lets none
 *     through) is averaged into the current step too. A window already emitted keeps the value it had.
 *   - A gap of k <= maxFillSteps missing steps is filled by linear interpolation (counted in filledSteps).
 *   - A longer gap, or any gap longer than gapResetMs, ends the segment and starts a new one at the
 *     reading: windows grow from one step again (padded), and after a gap longer than gapResetMs the next
 *     window has resetState. A sensor's very first window has resetState too.
 *
 * Windows. A window is emitted every `hop` new steps of a segment. It covers the last min(W, S) steps
 * (S = steps in the segment so far), right-padded with zeros to W. `advance` is how many of its leading
 * steps the next window (hop steps later) starts after: max(0, S + hop - W) - start, i.e. 0 while windows
 * grow and hop in steady state. Taking each window's first `advance` steps in order therefore reproduces
 * the stream exactly, which is what carrying the model's state from window to window relies on.
 *
 * Segment tails. When a segment ends (a long gap, a change of channels, flush()) and the carried state
 * has not consumed all of it yet, a tail window is emitted: it starts where the carried state stands (the
 * previous window's start + advance), ends at the segment's last step, and its advance is its whole valid
 * length, so the state consumes every step of the segment exactly once. Its steps may already have been
 * scored by earlier windows (while windows still grow it repeats the last window's data); that is the
 * price of a state that is never left behind.
 *
 * Memory per sensor: a ring of W steps (Float32Array), a flag per step and a few numbers.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Reading, Window } from '../contract/types.js';

export interface WindowOptions {
  /** W: steps per window. */
  readonly length: number;
  /** H: new steps between consecutive windows, 1..W. */
  readonly hop: number;
  /** Nominal reading interval in ms; 0 = learn it per sensor (median of the first 8 intervals, then fixed). */
  readonly intervalMs: number;
  /** Longest run of missing steps filled by interpolation; a longer gap starts a new segment. */
  readonly maxFillSteps: number;
  /** A gap longer than this resets the sensor's hidden state. */
  readonly gapResetMs: number;
}

const AUTO_INTERVALS = 8;

class SensorWindows {
  readonly width: number;
  readonly ring: Float32Array;
  readonly filled: Uint8Array;
  /** The step before a gap, kept aside because filling may overwrite its ring slot (W small). */
  readonly before: Float64Array;
  interval: number;
  /** Readings held back while the interval is being learned; null once it is known. */
  learning: Reading[] | null;
  originTs = 0;
  /** Steps in the current segment; 0 = no segment. */
  steps = 0;
  lastTs = -Infinity;
  /** Readings averaged into the current step. */
  merged = 0;
  sinceWindow = 0;
  /** Segment step where the carried model state stands (the next window's start). */
  carriedTo = 0;
  resetPending = true;
  seq: number;

  constructor(
    readonly sensor: string,
    readonly channels: readonly string[],
    length: number,
    intervalMs: number,
    seq: number,
  ) {
    this.width = channels.length;
    this.ring = new Float32Array(length * this.width);
    this.filled = new Uint8Array(length);
    this.before = new Float64Array(this.width);
    this.interval = intervalMs;
    this.learning = intervalMs > 0 ? null : [];
    this.seq = seq;
  }
}

export class Windower {
  private readonly sensors = new Map<string, SensorWindows>();
  /** Windows produced by the current push/flush; null until the first one (most pushes emit none). */
  private out: Window[] | null = null;

  constructor(private readonly opts: WindowOptions) {
    validate(opts);
  }

  /** Adds one reading; returns the windows it completed, usually null. */
  push(reading: Reading): Window[] | null {
    this.out = null;
    let s = this.sensors.get(reading.sensor);
    if (s === undefined || !sameChannels(s.channels, reading.channels)) {
      if (s !== undefined) this.endSegment(s);
      s = new SensorWindows(reading.sensor, reading.channels, this.opts.length, this.opts.intervalMs, s === undefined ? 0 : s.seq);
      this.sensors.set(reading.sensor, s);
    }
    if (s.learning !== null) this.learn(s, reading);
    else this.place(s, reading);
    return this.out;
  }

  /** Ends every sensor's segment (tail windows; sensors still learning their interval decide it from what they have). */
  flush(): Window[] {
    this.out = null;
    for (const s of this.sensors.values()) {
      if (s.learning !== null && s.learning.length >= 2) this.finishLearning(s);
      this.endSegment(s);
    }
    return this.out ?? [];
  }

  /**
   * Ends the segments of sensors whose last reading is older than `now - idleMs`, emitting their tails,
   * so a sensor that falls silent still has its last steps scored. Meant for a periodic tick; `now` comes
   * from the caller's clock. A sensor's next reading then starts a new segment as after any long gap.
   */
  flushIdle(now: number, idleMs: number): Window[] {
    this.out = null;
    for (const s of this.sensors.values()) {
      if (s.learning === null && s.steps > 0 && s.lastTs < now - idleMs) this.endSegment(s);
    }
    return this.out ?? [];
  }

  /** Drops a sensor's state; its next reading starts over with a reset. */
  forget(sensor: string): void {
    this.sensors.delete(sensor);
  }

  /**
   * A sensor's whole window state as plain JSON (ring, grid, carry position, held-back readings), or null
   * for an unknown sensor. Restoring it into a Windower with the same options continues the stream exactly
   * as if there had been no restart: same windows, same seq, same advance.
   */
  snapshot(sensor: string): WindowerSnapshot | null {
    const s = this.sensors.get(sensor);
    if (s === undefined) return null;
    const { length, hop, intervalMs } = this.opts;
    return {
      format: WINDOWER_SNAPSHOT_FORMAT,
      options: { length, hop, intervalMs },
      channels: [...s.channels],
      interval: s.interval,
      learning: s.learning === null ? null : s.learning.map((r) => ({ ts: r.ts, values: [...r.values] })),
      originTs: s.originTs,
      steps: s.steps,
      // JSON has no -Infinity: a sensor still learning its interval has no last reading on the grid yet.
      lastTs: Number.isFinite(s.lastTs) ? s.lastTs : null,
      merged: s.merged,
      sinceWindow: s.sinceWindow,
      carriedTo: s.carriedTo,
      resetPending: s.resetPending,
      seq: s.seq,
      ring: Array.from(s.ring),
      filled: Array.from(s.filled),
    };
  }

  /**
   * Restores a sensor from `snapshot()` output (after a JSON round trip). Throws (and leaves the sensor
   * untouched) when the snapshot is malformed or was taken under other window options: a ring laid out
   * for another length or hop cannot continue, and the caller should let the sensor start over instead.
   */
  restore(sensor: string, snapshot: unknown): void {
    const snap = parseWindowerSnapshot(snapshot, this.opts);
    const s = new SensorWindows(sensor, Object.freeze([...snap.channels]), this.opts.length, snap.interval, snap.seq);
    s.learning = snap.learning === null ? null : snap.learning.map((r) => ({ sensor, ts: r.ts, channels: s.channels, values: r.values }));
    s.originTs = snap.originTs;
    s.steps = snap.steps;
    s.lastTs = snap.lastTs ?? -Infinity;
    s.merged = snap.merged;
    s.sinceWindow = snap.sinceWindow;
    s.carriedTo = snap.carriedTo;
    s.resetPending = snap.resetPending;
    s.ring.set(snap.ring);
    s.filled.set(snap.filled);
    this.sensors.set(sensor, s);
  }

  /** The grid interval in use for a sensor (0 while still learning it, undefined if unknown). */
  intervalOf(sensor: string): number | undefined {
    return this.sensors.get(sensor)?.interval;
  }

  private learn(s: SensorWindows, r: Reading): void {
    const held = s.learning as Reading[];
    const last = held[held.length - 1];
    // Before the grid exists there are no steps to average into: a same-time reading replaces.
    if (last !== undefined && r.ts <= last.ts) held[held.length - 1] = r;
    else held.push(r);
    if (held.length > AUTO_INTERVALS) this.finishLearning(s);
  }

  private finishLearning(s: SensorWindows): void {
    const held = s.learning as Reading[];
    s.interval = medianInterval(held);
    s.learning = null;
    for (const r of held) this.place(s, r);
  }

  private place(s: SensorWindows, r: Reading): void {
    if (s.steps === 0) {
      if (r.ts - s.lastTs > this.opts.gapResetMs) s.resetPending = true;
      this.startSegment(s, r);
      return;
    }
    const cur = s.steps - 1;
    const k = Math.round((r.ts - s.originTs) / s.interval);
    const gapMs = r.ts - s.lastTs;
    if (gapMs > this.opts.gapResetMs || k - cur - 1 > this.opts.maxFillSteps) {
      this.endSegment(s);
      if (gapMs > this.opts.gapResetMs) s.resetPending = true;
      this.startSegment(s, r);
      return;
    }
    if (k <= cur) {
      this.mergeIntoCurrent(s, r.values);
    } else {
      this.fillGap(s, r.values, k - cur - 1);
      this.appendStep(s, r.values, 0);
    }
    if (r.ts > s.lastTs) s.lastTs = r.ts;
  }

  private startSegment(s: SensorWindows, r: Reading): void {
    s.originTs = r.ts;
    s.lastTs = r.ts;
    s.steps = 0;
    s.sinceWindow = 0;
    s.carriedTo = 0;
    this.appendStep(s, r.values, 0);
  }

  private mergeIntoCurrent(s: SensorWindows, values: readonly number[]): void {
    const base = ((s.steps - 1) % this.opts.length) * s.width;
    s.merged++;
    for (let c = 0; c < s.width; c++) s.ring[base + c] += (values[c] - s.ring[base + c]) / s.merged;
  }

  /** Linear interpolation between the current step and `next` over `missing` steps. */
  private fillGap(s: SensorWindows, next: readonly number[], missing: number): void {
    if (missing === 0) return;
    const base = ((s.steps - 1) % this.opts.length) * s.width;
    for (let c = 0; c < s.width; c++) s.before[c] = s.ring[base + c];
    for (let j = 1; j <= missing; j++) {
      const frac = j / (missing + 1);
      const slot = (s.steps % this.opts.length) * s.width;
      for (let c = 0; c < s.width; c++) s.ring[slot + c] = s.before[c] + (next[c] - s.before[c]) * frac;
      this.stepWritten(s, 1);
    }
  }

  private appendStep(s: SensorWindows, values: ArrayLike<number>, filled: 0 | 1): void {
    const slot = (s.steps % this.opts.length) * s.width;
    for (let c = 0; c < s.width; c++) s.ring[slot + c] = values[c];
    this.stepWritten(s, filled);
  }

  private stepWritten(s: SensorWindows, filled: 0 | 1): void {
    s.filled[s.steps % this.opts.length] = filled;
    s.steps++;
    s.merged = 1;
    if (++s.sinceWindow === this.opts.hop) this.emitRegular(s);
  }

  private emitRegular(s: SensorWindows): void {
    const { length, hop } = this.opts;
    const start = Math.max(0, s.steps - length);
    const nextStart = Math.max(0, s.steps + hop - length);
    const advance = Math.min(Math.max(0, nextStart - start), s.steps - start);
    this.emit(s, start, advance);
  }

  private endSegment(s: SensorWindows): void {
    if (s.carriedTo < s.steps) this.emit(s, s.carriedTo, s.steps - s.carriedTo);
    s.steps = 0;
  }

  /** A window over segment steps [start, s.steps). */
  private emit(s: SensorWindows, start: number, advance: number): void {
    const W = this.opts.length;
    const C = s.width;
    const valid = s.steps - start;
    const data = new Float32Array(W * C);
    // The steps sit in the ring in order, wrapping at most once: copy in (at most) two runs.
    const first = start % W;
    const run = Math.min(valid, W - first);
    data.set(s.ring.subarray(first * C, (first + run) * C), 0);
    if (run < valid) data.set(s.ring.subarray(0, (valid - run) * C), run * C);
    let filledSteps = 0;
    for (let step = start; step < s.steps; step++) filledSteps += s.filled[step % W];
    const window: Window = {
      sensor: s.sensor,
      channels: s.channels,
      startTs: s.originTs + start * s.interval,
      endTs: s.originTs + (s.steps - 1) * s.interval,
      maxLen: W,
      validLength: valid,
      data,
      paddedFraction: (W - valid) / W,
      advance,
      resetState: s.resetPending,
      filledSteps,
      seq: s.seq++,
    };
    s.resetPending = false;
    s.sinceWindow = 0;
    s.carriedTo = start + advance;
    (this.out ??= []).push(window);
  }
}

/**
 * Window stage as an operator; on completion it flushes the segment tails.
 *   readings: -r-r-r-r-r-r-r-r-|        (W = 4, hop = 2)
 *   windows:  ---w---w---w---w-(t|)
 * Written as a plain Observable rather than mergeMap so a reading costs no inner subscription.
 */
export function windowReadings(windower: Windower): OperatorFunction<Reading, Window> {
  return (source) =>
    new Observable<Window>((subscriber) =>
      source.subscribe({
        next(reading) {
          const windows = windower.push(reading);
          if (windows !== null) for (const w of windows) subscriber.next(w);
        },
        error(err: unknown) {
          subscriber.error(err);
        },
        complete() {
          for (const w of windower.flush()) subscriber.next(w);
          subscriber.complete();
        },
      }),
    );
}

const WINDOWER_SNAPSHOT_FORMAT = 'anomalyd-windower/1';

/** One sensor's Windower state, JSON-serialisable. Produced by `Windower.snapshot`, read by `Windower.restore`. */
export interface WindowerSnapshot {
  readonly format: typeof WINDOWER_SNAPSHOT_FORMAT;
  /** The options the state was built under; a restore under other options is refused. */
  readonly options: { readonly length: number; readonly hop: number; readonly intervalMs: number };
  readonly channels: readonly string[];
  /** Grid interval in ms (0 while it is still being learnt). */
  readonly interval: number;
  /** Readings held back while the interval is learnt, or null once it is known. */
  readonly learning: readonly { readonly ts: number; readonly values: readonly number[] }[] | null;
  readonly originTs: number;
  readonly steps: number;
  readonly lastTs: number | null;
  readonly merged: number;
  readonly sinceWindow: number;
  readonly carriedTo: number;
  readonly resetPending: boolean;
  readonly seq: number;
  /** The ring of the last `length` steps, length * channels values, in ring (not time) order. */
  readonly ring: readonly number[];
  readonly filled: readonly number[];
}

/** Validates a snapshot that came back from disk; nothing in it is trusted. */
function parseWindowerSnapshot(v: unknown, opts: WindowOptions): WindowerSnapshot {
  const fail = (why: string): never => {
    throw new Error(`windower snapshot: ${why}`);
  };
  if (typeof v !== 'object' || v === null) return fail('not an object');
  const o = v as Record<string, unknown>;
  if (o.format !== WINDOWER_SNAPSHOT_FORMAT) fail(`format is not ${WINDOWER_SNAPSHOT_FORMAT}`);
  const taken = o.options as Record<string, unknown> | undefined;
  if (taken?.length !== opts.length || taken.hop !== opts.hop || taken.intervalMs !== opts.intervalMs) {
    fail('taken under other window options (length, hop or intervalMs changed)');
  }
  const int = (key: string, min: number, max: number): number => {
    const n = o[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) return fail(`${key} must be an integer in ${min}..${max}`);
    return n;
  };
  const finite = (key: string): number => {
    const n = o[key];
    if (typeof n !== 'number' || !Number.isFinite(n)) return fail(`${key} must be a finite number`);
    return n;
  };
  const numbers = (x: unknown, what: string): number[] => {
    if (!Array.isArray(x) || !x.every((n): n is number => typeof n === 'number' && Number.isFinite(n))) return fail(`${what} must be finite numbers`);
    return x;
  };
  const channels = o.channels;
  if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c): c is string => typeof c === 'string')) fail('channels must be strings');
  const C = (channels as string[]).length;
  const ring = numbers(o.ring, 'ring');
  const filled = numbers(o.filled, 'filled');
  if (ring.length !== opts.length * C || filled.length !== opts.length) fail('ring size does not match length x channels');
  let learning: WindowerSnapshot['learning'] = null;
  if (o.learning !== null) {
    if (!Array.isArray(o.learning)) return fail('learning must be null or an array');
    learning = o.learning.map((r: unknown, i) => {
      const rr = r as { ts?: unknown; values?: unknown } | null;
      const values = numbers(rr?.values, `learning[${i}].values`);
      if (typeof rr?.ts !== 'number' || !Number.isFinite(rr.ts) || values.length !== C) fail(`learning[${i}] is not a reading of ${C} channels`);
      return { ts: rr?.ts as number, values };
    });
  }
  const lastTs = o.lastTs === null ? null : finite('lastTs');
  if (typeof o.resetPending !== 'boolean') fail('resetPending must be a boolean');
  const steps = int('steps', 0, Number.MAX_SAFE_INTEGER);
  return {
    format: WINDOWER_SNAPSHOT_FORMAT,
    options: { length: opts.length, hop: opts.hop, intervalMs: opts.intervalMs },
    channels: channels as string[],
    interval: finite('interval'),
    learning,
    originTs: finite('originTs'),
    steps,
    lastTs,
    merged: int('merged', 0, Number.MAX_SAFE_INTEGER),
    sinceWindow: int('sinceWindow', 0, opts.hop - 1),
    // After a segment ends, steps is 0 while carriedTo keeps the old segment's position until the next starts.
    carriedTo: int('carriedTo', 0, Number.MAX_SAFE_INTEGER),
    resetPending: o.resetPending as boolean,
    seq: int('seq', 0, Number.MAX_SAFE_INTEGER),
    ring,
    filled,
  };
}

function medianInterval(held: readonly Reading[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < held.length; i++) gaps.push(held[i].ts - held[i - 1].ts);
  gaps.sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  const median = gaps.length % 2 === 1 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
  return Math.max(1, Math.round(median));
}

function sameChannels(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function validate(o: WindowOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.length) || o.length < 1) problems.push(`length must be an integer >= 1, got ${o.length}`);
  if (!Number.isInteger(o.hop) || o.hop < 1 || o.hop > o.length) problems.push(`hop must be an integer in 1..length, got ${o.hop}`);
  if (!(o.intervalMs >= 0) || !Number.isFinite(o.intervalMs)) problems.push(`intervalMs must be >= 0, got ${o.intervalMs}`);
  if (!Number.isInteger(o.maxFillSteps) || o.maxFillSteps < 0) problems.push(`maxFillSteps must be an integer >= 0, got ${o.maxFillSteps}`);
  if (!(o.gapResetMs > 0)) problems.push(`gapResetMs must be > 0, got ${o.gapResetMs}`);
  if (problems.length > 0) throw new RangeError(`invalid window options: ${problems.join('; ')}`);
}
