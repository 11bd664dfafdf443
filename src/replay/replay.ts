/**
 * Replay: recorded rows through the detector's own stages, in virtual time, as fast as the model allows.
 *
 *   row -> RawMessage (topic = sensor, receivedAt = the row's time) -> MessageParser -> Windower
 *       -> InferenceEngine.run (batched) -> scoreWindow (calibrator + lifecycle)
 *
 * The stages are the daemon's; only the source (rows instead of MQTT) and the batching differ. Batching is
 * deterministic and has no timers: windows are queued as rows complete them and, once `batchWindows` are
 * queued (or the input ends), run through the engine in rounds of at most one window per sensor, each round
 * scored before the next runs, as live. The output therefore does not depend on the batch size at all.
 *
 * Row -> score mapping (no look-ahead): a window is emitted by the push of the row that completes it, so it
 * holds rows up to that one only. Row i gets the score of the latest window of its sensor emitted by rows
 * 0..i (0 and status `learning` before its sensor's first scored window). Tail windows that only the end of
 * the input emits are scored (the state stays consistent) but no row maps to them.
 *
 * Learning: rows with index < `learnRows` (the rows a model was trained on, `--learn-first`) are replayed
 * through every stage (normalisation, hidden state and score history warm up on them, as on a device that
 * keeps watching while it learns) but report score 0 and status `learning`. So do rows while the sensor's
 * calibrator is still learning its own error level, as the daemon's `learning` sensor status.
 */
import type { RejectReason, SensorStatus, Window, WindowResult } from '../contract/types.js';
import type { InferenceEngine, SensorInferenceSnapshot } from '../pipeline/infer.js';
import type { MessageParser } from '../pipeline/parse.js';
import { scoreWindow, type ScoringRegistry, type ScoringSnapshot } from '../pipeline/score.js';
import type { Windower } from '../pipeline/window.js';

/** One input row: one reading of one sensor. */
export interface ReplayRow {
  readonly sensor: string;
  /** Epoch ms; the row's virtual arrival time too. */
  readonly ts: number;
  /** Channel names in the order of `values`. */
  readonly channels: readonly string[];
  readonly values: readonly number[];
}

export type ReplayStatus = Exclude<SensorStatus, 'stale'>;

/** One output per input row, in input order. */
export interface ReplayOutput {
  /** 0-based index of the input row. */
  readonly index: number;
  readonly row: ReplayRow;
  /** Calibrated anomaly score in [0, 1]; 0 while learning. */
  readonly score: number;
  readonly status: ReplayStatus;
  /** True while an anomaly episode of the row's sensor is open. */
  readonly anomaly: boolean;
  /** Why the parser refused the row (the row then reports its sensor's current state), else null. */
  readonly rejected: RejectReason | null;
}

/** The daemon's stages, built by the caller (see createReplayStages). */
export interface ReplayStages {
  readonly parser: MessageParser;
  readonly windower: Windower;
  readonly engine: InferenceEngine;
  readonly scoring: ScoringRegistry;
}

export interface ReplayOptions {
  /** Windows queued before they go through the engine together. */
  readonly batchWindows: number;
  /** Rows [0, learnRows) report score 0 and status learning (the model was trained on them). */
  readonly learnRows?: number;
}

export interface ReplayCounters {
  rows: number;
  rejected: number;
  windows: number;
  /** Windows the engine reported (the others were normalisation warm-up). */
  scoredWindows: number;
}

/** What a sensor's rows report until its next scored window. */
export interface SensorView {
  score: number;
  status: ReplayStatus;
  anomaly: boolean;
}

interface QueuedRow {
  readonly index: number;
  readonly row: ReplayRow;
  /** Windows this row's push emitted: queued windows [firstWindow, firstWindow + windows). */
  readonly windows: number;
  readonly rejected: RejectReason | null;
}

/** Everything a replay needs to continue after a restart, JSON-serialisable. Taken between pushes. */
export interface ReplaySnapshot {
  readonly rows: number;
  readonly sensors: Record<
    string,
    {
      readonly parser: unknown;
      readonly windower: unknown;
      readonly inference: SensorInferenceSnapshot | null;
      readonly view: SensorView | null;
    }
  >;
  readonly scoring: ScoringSnapshot;
}

const LEARNING: SensorView = Object.freeze({ score: 0, status: 'learning', anomaly: false });

export class Replayer {
  readonly counters: ReplayCounters = { rows: 0, rejected: 0, windows: 0, scoredWindows: 0 };
  private readonly views = new Map<string, SensorView>();
  private readonly seen = new Set<string>();
  private windows: Window[] = [];
  private rows: QueuedRow[] = [];

  constructor(
    private readonly stages: ReplayStages,
    private readonly opts: ReplayOptions,
  ) {
    if (!Number.isInteger(opts.batchWindows) || opts.batchWindows < 1) throw new RangeError(`batchWindows must be an integer >= 1, got ${opts.batchWindows}`);
  }

  /** Feeds one row. Returns the outputs that became final (in order; usually none until a batch is full). */
  async push(row: ReplayRow): Promise<ReplayOutput[]> {
    const index = this.counters.rows++;
    this.seen.add(row.sensor);
    const parsed = this.stages.parser.parse({ topic: row.sensor, payload: payloadOf(row), receivedAt: row.ts });
    let emitted = 0;
    let rejected: RejectReason | null = null;
    if (parsed.kind === 'rejected') {
      rejected = parsed.rejection.reason;
    } else {
      for (const reading of parsed.readings) {
        const ws = this.stages.windower.push(reading);
        if (ws === null) continue;
        for (const w of ws) this.windows.push(w);
        emitted += ws.length;
      }
      if (parsed.rejections.length > 0) rejected = parsed.rejections[0].reason;
    }
    if (rejected !== null) this.counters.rejected++;
    this.counters.windows += emitted;
    this.rows.push({ index, row, windows: emitted, rejected });
    return this.windows.length >= this.opts.batchWindows ? this.drain() : [];
  }

  /**
   * Runs every queued window and returns the outputs of every queued row. Segments stay open, so the
   * replay can go on (or be snapshotted) afterwards.
   */
  async drain(): Promise<ReplayOutput[]> {
    const windows = this.windows;
    const rows = this.rows;
    this.windows = [];
    this.rows = [];
    const views = await this.score(windows);
    const out = new Array<ReplayOutput>(rows.length);
    let w = 0;
    for (let i = 0; i < rows.length; i++) {
      const q = rows[i];
      for (let k = 0; k < q.windows; k++, w++) {
        const view = views.get(windows[w]);
        if (view !== undefined) this.views.set(q.row.sensor, view);
      }
      const learning = q.index < (this.opts.learnRows ?? 0);
      const view = learning ? LEARNING : (this.views.get(q.row.sensor) ?? LEARNING);
      out[i] = { index: q.index, row: q.row, score: view.score, status: view.status, anomaly: view.anomaly, rejected: q.rejected };
    }
    return out;
  }

  /** End of input: the queued rows' outputs; then the windower's tail windows are scored too, to no row. */
  async end(): Promise<ReplayOutput[]> {
    const out = await this.drain();
    const tails = this.stages.windower.flush();
    this.counters.windows += tails.length;
    const views = await this.score(tails);
    for (const w of tails) {
      const view = views.get(w);
      if (view !== undefined) this.views.set(w.sensor, view);
    }
    return out;
  }

  /** Replays rows to the end, handing each output to `sink` in order. */
  async run(rows: Iterable<ReplayRow>, sink: (out: ReplayOutput) => void): Promise<ReplayCounters> {
    for (const row of rows) {
      const outs = await this.push(row);
      for (const o of outs) sink(o);
    }
    for (const o of await this.end()) sink(o);
    return this.counters;
  }

  /** Drains, then snapshots every stage of every sensor seen, plus the per-sensor scores rows report. */
  async snapshot(): Promise<{ outputs: ReplayOutput[]; snapshot: ReplaySnapshot }> {
    const outputs = await this.drain();
    const sensors: Record<string, ReplaySnapshot['sensors'][string]> = {};
    for (const sensor of this.seen) {
      sensors[sensor] = {
        parser: this.stages.parser.snapshot(sensor),
        windower: this.stages.windower.snapshot(sensor),
        inference: this.stages.engine.snapshot(sensor),
        view: this.views.get(sensor) ?? null,
      };
    }
    return { outputs, snapshot: { rows: this.counters.rows, sensors, scoring: this.stages.scoring.toJSON() } };
  }

  /** Restores into fresh stages; row indices continue from the snapshot's. Returns what the scoring registry dropped. */
  restore(snap: ReplaySnapshot): string[] {
    this.counters.rows = snap.rows;
    for (const [sensor, s] of Object.entries(snap.sensors)) {
      this.seen.add(sensor);
      if (s.parser !== null) this.stages.parser.restore(sensor, s.parser);
      if (s.windower !== null) this.stages.windower.restore(sensor, s.windower);
      if (s.inference !== null) this.stages.engine.restore(sensor, s.inference);
      if (s.view !== null) this.views.set(sensor, { ...s.view });
    }
    return this.stages.scoring.restore(snap.scoring);
  }

  /**
   * Runs and scores windows in rounds of at most one window per sensor, each round after the previous one
   * was scored. Live, a sensor's next window comes `hop` readings after the last one, long after that was
   * scored, and the engine reads the scorer's state (an open episode holds the normalisation): rounds keep
   * that order, so the outcome does not depend on how windows happen to be batched. Returns the view each
   * scored window leaves its sensor in.
   */
  private async score(windows: readonly Window[]): Promise<Map<Window, SensorView>> {
    const views = new Map<Window, SensorView>();
    let pending: readonly Window[] = windows;
    while (pending.length > 0) {
      const inRound = new Set<string>();
      const round: Window[] = [];
      const later: Window[] = [];
      for (const w of pending) {
        if (inRound.has(w.sensor)) later.push(w);
        else {
          inRound.add(w.sensor);
          round.push(w);
        }
      }
      const results = await this.stages.engine.run(round);
      this.counters.scoredWindows += results.length;
      for (const r of results) views.set(r.window, this.applyScore(r));
      pending = later;
    }
    return views;
  }

  private applyScore(result: WindowResult): SensorView {
    const { scored } = scoreWindow(this.stages.scoring, result);
    const sensor = result.window.sensor;
    if (this.stages.scoring.learning(sensor)) return LEARNING;
    const anomaly = this.stages.scoring.lifecycleFor(sensor).status === 'anomalous';
    return { score: scored.score, status: anomaly ? 'anomalous' : 'ok', anomaly };
  }
}

/** The row as a sensor would publish it: `{"ts": ..., "<channel>": value, ...}`. */
function payloadOf(row: ReplayRow): Buffer {
  let json = `{"ts":${row.ts}`;
  for (let c = 0; c < row.channels.length; c++) json += `,${JSON.stringify(row.channels[c])}:${JSON.stringify(row.values[c])}`;
  return Buffer.from(`${json}}`);
}
