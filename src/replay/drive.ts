/**
 * Replay: recorded rows through the detector's own operator (src/pipeline/detector.ts), in virtual time
 * (a row's time is its reading's time and its arrival time), as fast as the model allows. The operator is
 * the daemon's; only the source differs (rows instead of MQTT). Rows are fed in chunks and the feed waits
 * while the detector has more than `maxPending` readings queued, so memory stays bounded for any file.
 *
 * One output per input row, in input order, with the row's own score: the score of its own reading (a
 * duplicate row reports the reading it repeats; a rejected row reports its rejection). Rows with index <
 * `learnRows` (the rows a model was trained on) go through every stage, warming the stream up, but report
 * status `learning` and score 0, as do rows while the stream itself is still learning.
 */
import { Subject } from 'rxjs';
import type { RejectReason } from '../contract/types.js';
import type { Detector, DetectorOutput } from '../pipeline/detector.js';

/** One input row: one reading of one stream. */
export interface ReplayRow {
  readonly sensor: string;
  /** Epoch ms; the row's virtual arrival time too. */
  readonly ts: number;
  /** Channel names in the order of `values`. */
  readonly channels: readonly string[];
  readonly values: readonly number[];
}

export type ReplayStatus = 'learning' | 'ok' | 'anomalous';

/** One output per input row, in input order. */
export interface ReplayOutput {
  /** 0-based index of the input row. */
  readonly index: number;
  readonly row: ReplayRow;
  /** Calibrated anomaly score in [0, 1) of the row's own reading; 0 while learning. */
  readonly score: number;
  /** The same as surprise, -log10(1 - score), unbounded; 0 while learning. */
  readonly surprise: number;
  readonly status: ReplayStatus;
  /** True while an anomaly episode of the row's stream is open (after this reading). */
  readonly anomaly: boolean;
  /** The model's expectation for the reading, sensor units (null when it had none). */
  readonly expected: readonly number[] | null;
  /** Why the row was not scored (rejected by the parser, or an internal error), else null. */
  readonly rejected: RejectReason | 'internal_error' | null;
}

export interface ReplayOptions {
  /** Rows [0, learnRows) report score 0 and status learning (a model was trained on them). */
  readonly learnRows?: number;
  /** Rows fed before the feed checks the backlog (default 4096). */
  readonly chunk?: number;
  /** The feed waits while more readings than this are queued (default 65536). */
  readonly maxPending?: number;
}

export interface ReplayCounters {
  rows: number;
  rejected: number;
  readings: number;
  errors: number;
}

/** The last level of a stream id `<sensor>/<field>`: the field a one-value stream carries. */
function lastLevel(stream: string): string {
  const k = stream.lastIndexOf('/');
  return k < 0 ? stream : stream.slice(k + 1);
}

/** The row as a sensor would publish it: `{"ts": ..., "<channel>": value, ...}` (one value: `{"ts":..,"value":..}`). */
export function payloadOf(row: ReplayRow): Buffer {
  let json = `{"ts":${row.ts}`;
  for (let c = 0; c < row.channels.length; c++) json += `,${JSON.stringify(row.channels[c])}:${JSON.stringify(row.values[c])}`;
  return Buffer.from(`${json}}`);
}

/**
 * Replays `rows` through `detector` (which must not be subscribed elsewhere), handing each row's output to
 * `sink` in input order. Resolves with the counters once every row has its output.
 */
export async function replayRows(detector: Detector, rows: Iterable<ReplayRow>, sink: (out: ReplayOutput) => void, opts: ReplayOptions = {}): Promise<ReplayCounters> {
  const learnRows = opts.learnRows ?? 0;
  const chunk = opts.chunk ?? 4096;
  const maxPending = opts.maxPending ?? 65536;
  const counters: ReplayCounters = { rows: 0, rejected: 0, readings: 0, errors: 0 };
  const input = new Subject<{ readonly topic: string; readonly payload: Buffer; readonly receivedAt: number; readonly seq: number }>();
  const rowsBySeq = new Map<number, ReplayRow>();
  const done = new Map<number, ReplayOutput>();
  let next = 0;
  const flush = (): void => {
    for (let o = done.get(next); o !== undefined; o = done.get(next)) {
      done.delete(next);
      rowsBySeq.delete(next);
      sink(o);
      next++;
    }
  };
  const finish = (seq: number, out: Omit<ReplayOutput, 'index' | 'row'>): void => {
    const row = rowsBySeq.get(seq);
    if (row === undefined || done.has(seq)) return;
    const learning = seq < learnRows || out.status === 'learning';
    done.set(seq, learning ? { index: seq, row, score: 0, surprise: 0, status: 'learning', anomaly: false, expected: out.expected, rejected: out.rejected } : { index: seq, row, ...out });
    flush();
  };
  // A row whose payload yields several streams (one per field) is done when each of its readings is scored:
  // it reports the most surprising of them, anomalous when any is.
  const partial = new Map<number, { left: number; surprise: number; status: ReplayStatus; expected: (number | null)[] }>();
  const onOutput = (o: DetectorOutput): void => {
    switch (o.type) {
      case 'parsed':
        if (o.result.kind === 'rejected') {
          counters.rejected++;
          finish(o.seq, { score: 0, surprise: 0, status: 'learning', anomaly: false, expected: null, rejected: o.result.rejection.reason });
        } else if (o.result.readings.length === 0) {
          counters.rejected++;
          finish(o.seq, { score: 0, surprise: 0, status: 'learning', anomaly: false, expected: null, rejected: o.result.rejections[0]?.reason ?? 'empty' });
        } else if (o.result.readings.length > 1) {
          const row = rowsBySeq.get(o.seq);
          partial.set(o.seq, { left: o.result.readings.length, surprise: 0, status: 'learning', expected: new Array<number | null>(row?.channels.length ?? 0).fill(null) });
        }
        return;
      case 'reading': {
        counters.readings++;
        const r = o.reading;
        const seq = o.origin.seq;
        const p = partial.get(seq);
        if (p === undefined) {
          finish(seq, { score: r.score, surprise: r.surprise, status: r.status, anomaly: r.status === 'anomalous', expected: r.expected, rejected: null });
          return;
        }
        p.left--;
        p.surprise = Math.max(p.surprise, r.surprise);
        p.status = r.status === 'anomalous' || p.status === 'anomalous' ? 'anomalous' : r.status === 'ok' || p.status === 'ok' ? 'ok' : 'learning';
        const row = rowsBySeq.get(seq);
        if (row && r.expected) {
          for (let c = 0; c < r.channels.length; c++) {
            const k = row.channels.length === 1 ? 0 : row.channels.indexOf(r.channels[c] === 'value' ? lastLevel(r.stream) : r.channels[c]);
            if (k >= 0) p.expected[k] = r.expected[c];
          }
        }
        if (p.left === 0) {
          partial.delete(seq);
          const expected = p.expected.every((v) => v !== null) ? (p.expected as number[]) : null;
          finish(seq, { score: 1 - Math.pow(10, -p.surprise), surprise: p.surprise, status: p.status, anomaly: p.status === 'anomalous', expected, rejected: null });
        }
        return;
      }
      case 'error':
        counters.errors++;
        partial.delete(o.seq);
        finish(o.seq, { score: 0, surprise: 0, status: 'learning', anomaly: false, expected: null, rejected: 'internal_error' });
        return;
    }
  };
  const completed = new Promise<void>((resolve, reject) => {
    input.pipe(detector.operator()).subscribe({ next: onOutput, error: reject, complete: resolve });
  });
  let n = 0;
  for (const row of rows) {
    const seq = counters.rows++;
    rowsBySeq.set(seq, row);
    input.next({ topic: row.sensor, payload: payloadOf(row), receivedAt: row.ts, seq });
    if (++n % chunk === 0) {
      do await new Promise<void>((resolve) => setImmediate(resolve));
      while (detector.pending > maxPending);
    }
  }
  input.complete();
  await completed;
  flush();
  return counters;
}
