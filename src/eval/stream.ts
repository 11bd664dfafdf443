/**
 * What the evaluation works on: a labelled stream of readings, and the detector under test as a function
 * from a stream to a per-row score and alarm. The driver (evaluate.ts) knows nothing of the detector's
 * internals: `replayDetector` (replay-detector.ts) wraps today's replay, and another core can be plugged in
 * by passing its own `StreamDetector`.
 */
import type { Config } from '../config/schema.js';
import type { AnomalyWindow } from './nab.js';

/** One reading of one sensor (the shape of src/replay's ReplayRow). */
export interface StreamRow {
  readonly sensor: string;
  /** Epoch ms. */
  readonly ts: number;
  /** Channel names in the order of `values`. */
  readonly channels: readonly string[];
  /** Sensor units; NaN = a bad value the detector should reject. */
  readonly values: readonly number[];
  /** The row begins a new recording of its sensor (ReplayRow.newRecording: MSL's first test row). */
  readonly newRecording?: boolean;
}

/** A labelled recording, as the evaluation protocol defines it for one file. */
export interface EvalStream {
  /** 'skab', 'msl', 'dev', or the name of a corpus directory. */
  readonly dataset: string;
  /** The file's name within its dataset (e.g. `valve1/3.csv`, `T-9`, `cycles/daily_cycle_spike_5m.csv`). */
  readonly file: string;
  readonly rows: readonly StreamRow[];
  /** Rows [0, learnRows) are normal and may be learnt from (`--learn-first`); the detector sees every row. */
  readonly learnRows: number;
  /** Rows [scoreFrom, end) are scored; scoreFrom >= learnRows. */
  readonly scoreFrom: number;
  /** Per row of `rows`: 1 inside a labelled anomaly. */
  readonly labels: Uint8Array;
  /** NAB anomaly windows over the SCORED rows (index 0 = row `scoreFrom`), sorted and disjoint. */
  readonly windows: readonly AnomalyWindow[];
  /** Per row, the row of the untransformed stream it came from (absent = not transformed: row i is row i). */
  readonly source?: Int32Array;
}

/** What the detector under test is given for one stream. */
export interface StreamInput {
  /** For messages: `dataset/file`. */
  readonly name: string;
  readonly rows: readonly StreamRow[];
  /** Rows [0, learnRows) are the normal data it may learn from; 0 = use what ships. */
  readonly learnRows: number;
  /** The configuration the daemon would run with. */
  readonly config: Config;
}

/** What the detector answers for one stream. */
export interface StreamOutput {
  /** Per input row: the anomaly score, bigger = more anomalous (a probability or an unbounded surprise). */
  readonly score: Float64Array;
  /** Per input row: 1 while the detector has an anomaly open (what the daemon alerts on). */
  readonly alarm: Uint8Array;
  /** Counters the detector reports (rows rejected by its parser, windows scored, …). */
  readonly counts: Readonly<Record<string, number>>;
  /** Wall time spent learning, s. */
  readonly learnSeconds: number;
  /** Wall time spent streaming the rows, s. */
  readonly runSeconds: number;
}

/**
 * The detector under test: rows + learnRows + config -> per-row score and alarm. Must use row i and earlier
 * rows only for row i's outputs (no look-ahead). A rejection (an error) is recorded as the file's failure.
 */
export type StreamDetector = (input: StreamInput) => Promise<StreamOutput>;
