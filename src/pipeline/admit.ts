/**
 * Admission: whether a decoded reading is taken, judged against its stream's history. Apart from decoding
 * (./decode/), so the rules are in one place:
 *   - a time more than maxFutureMs ahead of arrival is `future_timestamp` (and the device's clock is
 *     reported once, through onClockSkew, not per reading);
 *   - a time older than the stream's newest by more than the tolerance is `out_of_order`; within it, the
 *     time is clamped to the newest, so every stream leaves in non-decreasing time;
 *   - a new stream past `maxStreams` in all or `maxStreamsPerSensor` for its device is `too_many_streams`.
 * State is created only by an accepted reading: a rejected message never takes a stream slot.
 */
import type { Problem } from './decode/types.js';

export interface AdmissionOptions {
  readonly maxFutureMs: number;
  readonly outOfOrderToleranceMs: number;
  /** Streams tracked in all. */
  readonly maxStreams: number;
  /** Streams per device (source sensor). */
  readonly maxStreamsPerSensor: number;
  /** Called once per device the first time one of its readings is ahead of arrival by more than maxFutureMs. */
  readonly onClockSkew?: (sensor: string, aheadMs: number) => void;
}

interface StreamState {
  lastTs: number;
  readonly device: string;
}

const SNAPSHOT_FORMAT = 'anomalyd-parser/2';
const OLD_SNAPSHOT_FORMAT = 'anomalyd-parser/1';
/** Beyond ±8.64e15 ms a Date is invalid and toISOString throws. */
const MAX_DATE_MS = 8.64e15;

/** One stream's admission state, JSON-serialisable (`MessageParser.snapshot`). */
export interface ParserSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  /** Time of the last accepted reading, epoch ms. */
  readonly lastTs: number;
  /** The device the stream belongs to. */
  readonly source: string;
}

export class Admission {
  private readonly streams = new Map<string, StreamState>();
  private readonly perDevice = new Map<string, number>();
  private readonly skewReported = new Set<string>();

  constructor(private readonly opts: AdmissionOptions) {}

  get size(): number {
    return this.streams.size;
  }

  /** The stream's newest accepted time, -Infinity for an unknown stream. */
  lastTs(stream: string): number {
    return this.streams.get(stream)?.lastTs ?? -Infinity;
  }

  /**
   * Admits one reading at `ts` of `stream` (of `device`): its time as taken (maybe clamped), or why not.
   * On success the stream's state is created or advanced.
   */
  admit(stream: string, device: string, ts: number, receivedAt: number): number | Problem {
    if (ts > receivedAt + this.opts.maxFutureMs) {
      const ahead = ts - receivedAt;
      if (this.opts.onClockSkew !== undefined && !this.skewReported.has(device) && this.skewReported.size < this.opts.maxStreams) {
        this.skewReported.add(device);
        this.opts.onClockSkew(device, ahead);
      }
      return { reason: 'future_timestamp', detail: `timestamp ${isoOf(ts)} is ${Math.round(ahead)} ms ahead of arrival (device clock or ingest.timezone?)` };
    }
    const state = this.streams.get(stream);
    if (state === undefined) {
      const problem = this.roomFor(device);
      if (problem !== null) return problem;
      this.streams.set(stream, { lastTs: ts, device });
      this.perDevice.set(device, (this.perDevice.get(device) ?? 0) + 1);
      return ts;
    }
    if (ts < state.lastTs) {
      if (ts < state.lastTs - this.opts.outOfOrderToleranceMs) {
        return { reason: 'out_of_order', detail: `timestamp ${isoOf(ts)} is ${Math.round(state.lastTs - ts)} ms older than the stream's last reading` };
      }
      return state.lastTs;
    }
    state.lastTs = ts;
    return ts;
  }

  /**
   * Whether admit() would take every reading of a run of one stream spanning [firstTs, lastTs] in time
   * order unchanged (none ahead, none clamped, room for a new stream): then the caller admits the whole
   * run with commitRun. The fast path's burst shortcut.
   */
  admitsRun(stream: string, device: string, firstTs: number, lastTs: number, receivedAt: number): boolean {
    if (lastTs > receivedAt + this.opts.maxFutureMs) return false;
    const state = this.streams.get(stream);
    if (state === undefined) return this.roomFor(device) === null;
    return firstTs >= state.lastTs;
  }

  commitRun(stream: string, device: string, lastTs: number): void {
    const state = this.streams.get(stream);
    if (state !== undefined) {
      state.lastTs = lastTs;
      return;
    }
    this.streams.set(stream, { lastTs, device });
    this.perDevice.set(device, (this.perDevice.get(device) ?? 0) + 1);
  }

  forget(stream: string): void {
    const state = this.streams.get(stream);
    if (state === undefined) return;
    this.streams.delete(stream);
    const n = (this.perDevice.get(state.device) ?? 1) - 1;
    if (n <= 0) this.perDevice.delete(state.device);
    else this.perDevice.set(state.device, n);
  }

  snapshot(stream: string): ParserSnapshot | null {
    const state = this.streams.get(stream);
    return state === undefined ? null : { format: SNAPSHOT_FORMAT, lastTs: state.lastTs, source: state.device };
  }

  /**
   * Restores a stream from snapshot() output (after a JSON round trip). Reads the older per-sensor format
   * too (its channel set, which used to lock a sensor out, is dropped). Throws on a malformed snapshot or
   * when no stream slot is free.
   */
  restore(stream: string, snapshot: unknown): void {
    const fail = (why: string): never => {
      throw new Error(`parser snapshot: ${why}`);
    };
    if (typeof snapshot !== 'object' || snapshot === null) return fail('not an object');
    const s = snapshot as Record<string, unknown>;
    if (s.format !== SNAPSHOT_FORMAT && s.format !== OLD_SNAPSHOT_FORMAT) return fail(`not an ${SNAPSHOT_FORMAT} object`);
    const lastTs = s.lastTs;
    if (lastTs === null && s.format === OLD_SNAPSHOT_FORMAT) return; // a v1 sensor that never had a reading: nothing to keep
    if (typeof lastTs !== 'number' || !Number.isFinite(lastTs)) return fail('lastTs must be a finite number');
    const device = typeof s.source === 'string' && s.source.length > 0 ? s.source : stream;
    this.forget(stream);
    const problem = this.roomFor(device);
    if (problem !== null) fail(problem.detail);
    this.commitRun(stream, device, lastTs);
  }

  private roomFor(device: string): Problem | null {
    if (this.streams.size >= this.opts.maxStreams) {
      return { reason: 'too_many_streams', detail: `new stream ignored: already tracking ${this.opts.maxStreams} streams (ingest.maxStreams)` };
    }
    if ((this.perDevice.get(device) ?? 0) >= this.opts.maxStreamsPerSensor) {
      return { reason: 'too_many_streams', detail: `new stream ignored: sensor already has ${this.opts.maxStreamsPerSensor} streams (ingest.maxStreamsPerSensor)` };
    }
    return null;
  }
}

export function isoOf(ts: number): string {
  return Math.abs(ts) <= MAX_DATE_MS ? new Date(ts).toISOString() : `${ts} ms`;
}
