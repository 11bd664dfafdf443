/**
 * Replay: recorded rows through the detector's own operator (src/pipeline/detector.ts), in virtual time
 * (a row's time is its reading's time and its arrival time), as fast as the model allows. The operator is
 * the daemon's; only the source differs (rows instead of MQTT). Rows are fed in chunks and the feed waits
 * while the detector has more than `maxPending` readings queued, so memory stays bounded for any file.
 *
 * One output per input row, in input order, with the row's own score: the score of its own reading (a
 * duplicate row reports the reading it repeats; a rejected row reports its rejection). When an input row was
 * split into several stream rows (one per value column, src/replay/run.ts), it reports the most surprising
 * of them and is anomalous while any is. Rows with index < `learnRows` (the rows a model was trained on) go
 * through every stage, warming the stream up, but report status `learning` and score 0, as do rows while
 * the stream itself is still learning. A row marked `newRecording` begins a new recording of its stream
 * (Detector.newRecording).
 */
import { Subject } from 'rxjs';
import type { RawMessage, RejectReason } from '../contract/types.js';
import type { Detector, DetectorOutput } from '../pipeline/detector.js';
import type { EpisodeTeller, ToldNow } from './tell.js';

/** One input row: one reading of one stream. */
export interface ReplayRow {
  readonly sensor: string;
  /** Epoch ms; the row's virtual arrival time too. */
  readonly ts: number;
  /** Channel names in the order of `values`. */
  readonly channels: readonly string[];
  readonly values: readonly number[];
  /**
   * The row begins a new recording of its sensor (Detector.newRecording): the readings before it are another
   * recording (the evaluation's MSL protocol: a channel's train file, then its test file, one interval apart), so
   * the step between them is not the stream's. Absent: the row continues its sensor's stream.
   */
  readonly newRecording?: boolean;
}

export type ReplayStatus = 'learning' | 'ok' | 'anomalous';

/** One output per input row, in input order. */
export interface ReplayOutput {
  /** 0-based index of the input row. */
  readonly index: number;
  readonly row: ReplayRow;
  /** Calibrated anomaly score in [0, 1) of the row's own reading; 0 while learning. */
  readonly score: number;
  /**
   * The same as surprise, -log10(1 - score): the detector's own, up to 30 (the evaluation ranks rows by it);
   * 0 while learning. What replay writes is capped at 16 (src/contract/surprise.ts), as every output is.
   */
  readonly surprise: number;
  /**
   * The row's deviation: the surprise against each stream's reference histories, the other half of what opens an
   * episode (an episode opens where max(surprise, deviation) reaches the threshold's; src/pipeline/scorer.ts),
   * the largest over the row's streams; 0 while learning. For diagnostics (scripts/timescale-causes.mjs).
   */
  readonly deviation: number;
  readonly status: ReplayStatus;
  /** True while an anomaly episode of the row's stream (or one of its streams) is open, after this reading. */
  readonly anomaly: boolean;
  /**
   * Which of the row's values (indices into `row.channels`, ascending) belong to a stream in an open episode
   * after this reading: the streams that make `anomaly` true (all of a multi-channel stream's). Empty when
   * `anomaly` is false.
   */
  readonly anomalousChannels: readonly number[];
  /** The model's expectation for the row's values, sensor units, in the row's channel order (null when it had none). */
  readonly expected: readonly number[] | null;
  /**
   * Why the row was not scored (rejected by the parser, or an internal error), else null. A row with a
   * missing value (docs/CSV.md) is not rejected: it is a missing reading, `missing` below.
   */
  readonly rejected: RejectReason | 'internal_error' | null;
  /** True when a value of the row was missing (an empty cell, nan, null...): that stream had no reading at this instant. */
  readonly missing: boolean;
  /**
   * With ReplayOptions.tell: the kind and sentence of each open episode of the row's streams after this reading, as
   * the daemon's record of it tells them then (EpisodeTeller), in the order of `anomalousChannels`' streams; empty
   * without `tell` and when `anomaly` is false; a row with no reading of its own carries its sensor's as the row
   * before left them, as it does `anomaly`.
   */
  readonly told: readonly ToldNow[];
}

export interface ReplayOptions {
  /** Input rows [0, learnRows) report score 0 and status learning (a model was trained on them). */
  readonly learnRows?: number;
  /**
   * When the rows fed are stream rows split from input rows: the input row of each (non-decreasing), and the
   * input rows themselves. Default: each row is its own input row.
   */
  readonly rowOf?: Int32Array;
  readonly inputs?: readonly ReplayRow[];
  /** Rows fed before the feed checks the backlog (default 4096). */
  readonly chunk?: number;
  /** The feed waits while more readings than this are queued (default 65536). */
  readonly maxPending?: number;
  /** Tells each episode's kind and sentence as the daemon would (ReplayOutput.told). Absent: nothing told (the evaluation). */
  readonly tell?: EpisodeTeller;
}

export interface ReplayCounters {
  /** Input rows. */
  rows: number;
  /** Stream rows the parser rejected (a bad time, out of order, ...): counted per stream, as the daemon counts them. */
  rejected: number;
  /**
   * Stream rows with a missing value (docs/CSV.md: an empty cell, nan, null, ...): a missing reading, neither
   * scored nor rejected. Of a multi-column row with --group, the whole instant.
   */
  missing: number;
  /** Readings scored. */
  readings: number;
  errors: number;
}

const NONE: readonly number[] = Object.freeze([]);
const NO_TOLD: readonly ToldNow[] = Object.freeze([]);

/** The row as a sensor would publish it: `{"ts": ..., "<channel>": value, ...}`; a missing value is null. */
export function payloadOf(row: ReplayRow): Buffer {
  let json = `{"ts":${row.ts}`;
  for (let c = 0; c < row.channels.length; c++) {
    const v = row.values[c];
    json += `,${JSON.stringify(row.channels[c])}:${Number.isFinite(v) ? JSON.stringify(v) : 'null'}`;
  }
  return Buffer.from(`${json}}`);
}

interface Pending {
  left: number;
  surprise: number;
  deviation: number;
  status: ReplayStatus;
  anomaly: boolean;
  expected: (number | null)[];
  rejected: ReplayOutput['rejected'];
  missing: boolean;
  scored: boolean;
  /** Channels of the input row whose stream reported anomalous (see ReplayOutput.anomalousChannels). */
  anomalousChannels: number[];
  /** What each anomalous stream's open episode tells (ReplayOutput.told), in the order they reported. */
  told: ToldNow[];
}

/**
 * Replays `rows` through `detector` (which must not be subscribed elsewhere), handing each input row's output
 * to `sink` in input order. Resolves with the counters once every row has its output.
 */
export async function replayRows(detector: Detector, rows: readonly ReplayRow[], sink: (out: ReplayOutput) => void, opts: ReplayOptions = {}): Promise<ReplayCounters> {
  const learnRows = opts.learnRows ?? 0;
  const chunk = opts.chunk ?? 4096;
  const maxPending = opts.maxPending ?? 65536;
  const rowOf = opts.rowOf ?? Int32Array.from(rows, (_, i) => i);
  const inputs = opts.inputs ?? rows;
  if (rowOf.length !== rows.length) throw new RangeError(`rowOf has ${rowOf.length} entries for ${rows.length} rows`);
  const counters: ReplayCounters = { rows: inputs.length, rejected: 0, missing: 0, readings: 0, errors: 0 };
  // Input row -> the channel index of each of its stream rows (for the expectation), and outputs pending.
  const channelOf = new Int32Array(rows.length);
  for (let k = 1; k < rows.length; k++) channelOf[k] = rowOf[k] === rowOf[k - 1] ? channelOf[k - 1] + 1 : 0;
  const pending = new Map<number, Pending>();
  const done = new Map<number, ReplayOutput>();
  // Rows past the learning rows that carry no reading (a missing or rejected value): they report their
  // sensor's state as the row before left it (an open episode stays open), with no score of their own.
  const carry = new Set<number>();
  const stateOf = new Map<string, Pick<ReplayOutput, 'status' | 'anomaly' | 'anomalousChannels' | 'told'>>();
  let next = 0;
  const flush = (): void => {
    for (let o = done.get(next); o !== undefined; o = done.get(next)) {
      done.delete(next);
      if (carry.delete(next)) {
        const state = stateOf.get(o.row.sensor);
        if (state !== undefined) o = { ...o, ...state };
      } else if (o.status !== 'learning' || o.index >= learnRows) stateOf.set(o.row.sensor, { status: o.status, anomaly: o.anomaly, anomalousChannels: o.anomalousChannels, told: o.told });
      sink(o);
      next++;
    }
  };
  const pendingOf = (i: number): Pending => {
    let p = pending.get(i);
    if (p === undefined) {
      const input = inputs[i];
      let left = 0;
      for (let k = firstOf(rowOf, i); k < rowOf.length && rowOf[k] === i; k++) left++;
      p = { left, surprise: 0, deviation: 0, status: 'learning', anomaly: false, expected: new Array<number | null>(input.channels.length).fill(null), rejected: null, missing: false, scored: false, anomalousChannels: [], told: [] };
      pending.set(i, p);
    }
    return p;
  };
  const settle = (i: number, p: Pending): void => {
    if (--p.left > 0) return;
    pending.delete(i);
    const row = inputs[i];
    const learning = i < learnRows || p.status === 'learning' || !p.scored;
    if (!p.scored && i >= learnRows) carry.add(i);
    const expected = p.expected.every((v) => v !== null) ? p.expected.map((v) => v ?? Number.NaN) : null;
    done.set(
      i,
      learning
        ? { index: i, row, score: 0, surprise: 0, deviation: 0, status: 'learning', anomaly: false, anomalousChannels: NONE, expected, rejected: p.rejected, missing: p.missing, told: NO_TOLD }
        : {
            index: i,
            row,
            score: 1 - Math.pow(10, -p.surprise),
            surprise: p.surprise,
            deviation: p.deviation,
            status: p.status,
            anomaly: p.anomaly,
            anomalousChannels: p.anomaly ? p.anomalousChannels.sort((a, b) => a - b) : NONE,
            expected,
            rejected: p.rejected,
            missing: p.missing,
            told: p.anomaly ? p.told : NO_TOLD,
          },
    );
    flush();
  };
  const onOutput = (o: DetectorOutput): void => {
    switch (o.type) {
      case 'parsed': {
        if (o.result.kind === 'readings' && o.result.readings.length > 0) return;
        const i = rowOf[o.seq];
        const p = pendingOf(i);
        if (o.result.kind === 'readings' && o.result.rejections.length === 0) {
          // Nothing read and nothing wrong: the row's value was missing (payloadOf sends it as null), and the
          // parser takes a null as a missing reading, as it does live.
          counters.missing++;
          p.missing = true;
        } else {
          counters.rejected++;
          p.rejected ??= o.result.kind === 'rejected' ? o.result.rejection.reason : (o.result.rejections[0]?.reason ?? 'empty');
        }
        settle(i, p);
        return;
      }
      case 'reading': {
        counters.readings++;
        const r = o.reading;
        const i = rowOf[o.origin.seq];
        const p = pendingOf(i);
        p.scored = true;
        p.surprise = Math.max(p.surprise, r.surprise);
        if (Number.isFinite(o.deviation)) p.deviation = Math.max(p.deviation, o.deviation);
        p.anomaly ||= r.status === 'anomalous';
        p.status = p.anomaly ? 'anomalous' : r.status === 'ok' || p.status === 'ok' ? 'ok' : p.status;
        if (r.status === 'anomalous') for (let c = 0; c < r.channels.length; c++) p.anomalousChannels.push(channelOf[o.origin.seq] + c);
        const told = opts.tell?.reading(detector, r, o.events) ?? null;
        if (told !== null && r.status === 'anomalous') p.told.push(told);
        if (r.expected !== null) {
          const base = channelOf[o.origin.seq];
          for (let c = 0; c < r.expected.length; c++) p.expected[base + c] = r.expected[c];
        }
        settle(i, p);
        return;
      }
      case 'error': {
        counters.errors++;
        const i = rowOf[o.seq];
        const p = pendingOf(i);
        p.rejected ??= 'internal_error';
        settle(i, p);
        return;
      }
    }
  };
  const input = new Subject<RawMessage>();
  const completed = new Promise<void>((resolve, reject) => {
    input.pipe(detector.operator()).subscribe({ next: onOutput, error: reject, complete: resolve });
  });
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k];
    if (row.newRecording === true) detector.newRecording(row.sensor);
    input.next({ topic: row.sensor, payload: payloadOf(row), receivedAt: row.ts, seq: k });
    if ((k + 1) % chunk === 0) {
      do await new Promise<void>((resolve) => setImmediate(resolve));
      while (detector.pending > maxPending);
    }
  }
  input.complete();
  await completed;
  flush();
  if (next !== inputs.length) throw new Error(`replay: ${inputs.length - next} rows got no output (a stage lost them)`);
  return counters;
}

/** First index k with rowOf[k] === i (rowOf is non-decreasing). */
function firstOf(rowOf: Int32Array, i: number): number {
  let lo = 0;
  let hi = rowOf.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rowOf[mid] < i) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
