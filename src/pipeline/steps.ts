/**
 * The model stage of the detector core: one recurrent step per reading, batched.
 *
 * Each stream's readings become steps (src/pipeline/cadence.ts decides fills, resets and duplicates
 * before they get here). The engine owns, per stream: the running normalisation, the carried model state
 * (h, and c for an LSTM), the previous step's next-step prediction, and a ring of the last W steps the
 * model consumed. Steps of every stream that shares a model go through one `step` call; every `hop` steps
 * a stream's state is decoded to reconstruct its last W steps (the seq2seq autoencoder of Malhotra et al.
 * 2016, arXiv:1607.00148: the decoder starts from the encoder's state and emits the newest step first).
 *
 * Chunks. A stream's steps are cut into chunks of `hop` steps (counted from its last reset). A call takes
 * at most the rest of one chunk per stream, so decoding happens exactly at chunk ends; and everything a
 * chunk's steps are normalised with is fixed when the chunk starts. What the scorer decides about a reading
 * (exclude it from the normal statistics, or re-baseline after a new normal) therefore reaches the model
 * input only at the next chunk, whatever the batching: the results do not depend on how readings arrived
 * together (live one by one, or a whole file in replay). That is what makes replay equal the daemon.
 *
 *   -a1-b1-a2-a3-b2-|       (hop 2)
 *   --[a1 b1]-[a2 b2]-[a3]  one model call per bracket; a decodes after a2, b after b2
 *
 * Errors. A failed model call affects only the streams it carried: their steps are reported with no model
 * output (the scorer then relies on the model-free detectors), their state is reset, and the error is
 * reported once per call through `onModelError`.
 */
import type { StepModel } from '../contract/ports.js';

/** A step item queued for a stream: a reading, a held fill, or a duplicate (which is not a model step). */
export interface StepItem<O> {
  readonly kind: 'reading' | 'fill' | 'duplicate';
  /** Epoch ms (fills: the reading's time they precede). */
  readonly ts: number;
  /** Raw values, sensor units, one per channel (fills: the held values). */
  readonly values: Float64Array;
  /** The stream's state is reset before this step (first reading, after a gap). */
  readonly reset: boolean;
  /** Fill steps just before this reading (readings only). */
  readonly filled: number;
  /** The first reading after a gap: the steps the silence missed (Placement.missed); absent otherwise. */
  readonly missed?: number;
  /**
   * The stream's report period changed at this reading (Placement.retimed: its settled interval became RETIME_FACTOR
   * times shorter or longer): the spans it learnt in readings (its cycle's period and profile, its dwells) were of the
   * old period, and start over. Absent otherwise.
   */
  readonly retimed?: true;
  /** With `missed`: when the first missed step was due (the previous reading's time + the interval), epoch ms. */
  readonly missedFrom?: number;
  /** Whatever the caller attached (the message the reading came from); handed back with the result. */
  readonly origin: O;
  /**
   * The stream is a cumulative counter that has been seen holding its value (src/pipeline/counter.ts,
   * CounterStep.holds) and `values` its total continued across resets: a run of one value is no stuck sensor.
   * Absent: false (also for a counter that moves at nearly every reading: its holds are judged as any stream's).
   */
  readonly counter?: boolean;
  /**
   * The stream's readings are on/off, 1 and 0, as its hub states (MessageParser.statedOnOff: a door's contact): judged
   * on its silence only (src/pipeline/scorer.ts, onOffOnly), never as a counter. Absent: false.
   */
  readonly onOff?: boolean;
  /**
   * An on/off stream's active state (OnOffWords.active: 0 for a door's contact, whose 1 is closed): the state whose
   * dwell is judged (src/pipeline/dwell.ts, OnOffDwell). Absent: 1.
   */
  readonly onOffActive?: 0 | 1;
  /**
   * An on/off reading the caller heard after its deafness (Detector.excuseGap: the first after the daemon's restart
   * or a broker outage, or one of the backlog that follows it): the state may have changed meanwhile and the reading's
   * time (often its arrival's) is no switch's own, so the dwell it ends or begins has no known length (OnOffDwell.restart:
   * neither taught nor judged; tryout 24, finding 1: a minute of the daemon's restart taught as a door's dwell open).
   * Absent: false.
   */
  readonly onOffUnheard?: true;
  /**
   * An on/off stream whose active state is an alarm (OnOffWords.alarm: a leak, smoke, gas, carbon monoxide, tamper,
   * SOS): its first reading in that state opens an episode at once, told `alarm`, resolved at its first reading out
   * of it (StreamScorer.score; docs/SCORING.md, "On/off streams"). Absent: not an alarm.
   */
  readonly onOffAlarm?: true;
  /** A counter's step back (a reset or a rollback) at this reading: its previous total and the new one, as sent. */
  readonly counterReset?: { readonly from: number; readonly to: number };
  /**
   * A counter whose holds are normal holds its value far longer than every idle it ended (src/pipeline/counter.ts
   * CounterStep.frozen: since when, epoch ms; the hold's and the longest idle's length in readings; the longest
   * idle in ms). Absent: not frozen.
   */
  readonly counterFrozen?: { readonly since: number; readonly readings: number; readonly longest: number; readonly longestMs: number };
  /**
   * A counter whose increments come in runs with rests between has counted without a rest far longer than every busy
   * run it ended (src/pipeline/counter.ts CounterStep.busy: the run's first increment's time, epoch ms; its length so
   * far and the longest run before, ms; what it counted since it began, sensor units; the rest it is measured by, ms).
   * Absent: not so.
   */
  readonly counterBusy?: { readonly since: number; readonly ms: number; readonly longestMs: number; readonly rise: number; readonly restMs: number };
  /**
   * A counter's reading (or duplicate) as the sensor sent it, when `values` (its total continued across resets)
   * differs from it: what the detector reports (Detector output `reading.values`, the dashboard's plot), its
   * expectation moved by the same difference, so the plot shows what the hub's own app shows. Absent: `values` is it.
   */
  readonly sent?: number;
  /**
   * The `filled` steps before this reading were not heard by the caller (a gap it excused: Detector.excuseGap, the
   * daemon's restart or broker outage): they carry the model and the cycles' phase as any filled steps do, but are
   * no repeats of the value (a run of equal readings counts this reading alone), a level's present dwell starts
   * over at this reading (its length across them unknown), and a counter's (`counter` set) fills carry its total
   * rising evenly to this reading's, whose change is judged per step, as the counter's rate. Absent: false.
   */
  readonly unheard?: boolean;
  /**
   * A reading bunched after a fill (Placement.bunched: stamped late, the time it was sent in already filled): the
   * readings since that fill before this one (>= 1). A step like any for the model and every kind; the cycle's phase
   * gives one filled step back for it (CycleProfile.advance). Absent: not bunched.
   */
  readonly bunched?: number;
  /**
   * A reading of an arrival-stamped burst (Detector: stamped on arrival by the adapter, it came within a small fraction
   * of the stream's interval after the reading before, which ended a hole in the stream or the caller's deafness: a
   * hub's queue flushed at a reconnect). Its time is no time it was sent at, so the kinds that judge when a reading
   * came do not judge or teach it: the cycle (its residual, profile and switches; its short mean starts over), a run's
   * and a level's dwell length (they start over, as after a gap), an on/off dwell, the stream's arrivals. Its value is
   * judged by every other kind (a value never seen is still told). Absent: false.
   */
  readonly burst?: true;
  /**
   * A reading stamped on arrival that ended a fill (Detector: its `filled` steps held the previous value): it may be
   * the first of an arrival-stamped burst (`burst` marks those after it), whose fills then stood for readings queued,
   * not for a value held. The length of the run or dwell it carries across them is not judged at it (taught as ever):
   * the next reading judges it, or restarts it when that one is of a burst. Absent: false.
   */
  readonly holeEnd?: true;
  /**
   * The stream keeps quiet on its own as of the readings before this one (Detector.ownQuiet, OWN_QUIET_SHARE: a
   * report-on-change sensor): a silence it ends is its value unchanged, judged against its own arrivals (how long it
   * goes quiet), not as a run of repeats (StreamScorer.silenceOf). Absent: false.
   */
  readonly ownQuiet?: true;
}

/**
 * What the model stage says about one reading (or duplicate) of a stream, in order. A duplicate's result is
 * the duplicated reading's (its expectation, model, errors and counts) with empty z, mean and std and null
 * per-channel errors: a duplicate teaches nothing and is scored as the step it repeats.
 *
 * `z`, `mean`, `std` and `predErrors` are the engine's buffers (one set per channel count, shared by the
 * streams), refilled for the next reading: they are valid during the `score` call that receives them; a
 * consumer that keeps them copies them.
 */
export interface StepResult<O> {
  readonly stream: string;
  readonly item: StepItem<O>;
  readonly channels: readonly string[];
  /** Model id, or null when the stream has no model or its model call failed. */
  readonly modelId: string | null;
  /** The reading normalised by the stream's running statistics (not clipped), one per channel. */
  readonly z: Float64Array;
  /** Running normalisation in force: mean and std per channel, sensor units. */
  readonly mean: Float64Array;
  readonly std: Float64Array;
  /** What the model predicted for this reading, sensor units, one per channel; null after a reset or without a model. */
  readonly expected: Float64Array | null;
  /** Mean squared prediction error over channels, normalised units, divided by (1 + filled); null without a prediction. */
  readonly predError: number | null;
  /** Masked mean squared reconstruction error of the window ending at this reading, when it ends a chunk; else null. */
  readonly reconError: number | null;
  /** Per channel: squared prediction error (normalised, divided by 1 + filled), or null. */
  readonly predErrors: Float64Array | null;
  /** Per channel: masked mean squared reconstruction error of the window, or null. */
  readonly reconErrors: Float64Array | null;
  /**
   * Steps the reconstructed window covers, ending at this one (min(W, segmentSteps), fills included), when
   * `reconErrors` is not null; else 0 or absent.
   */
  readonly reconSteps?: number;
  /** Steps since the stream's last reset, this one included. */
  readonly segmentSteps: number;
  /**
   * True once the running normalisation has settled (seeded from the stream's own model, or its normWarmup readings
   * of warm-up; as many running updates more when that warm-up mostly sat on one value: StepEngine.settledNormalisation):
   * before, normalised errors are measured against a half-learnt mean and spread and mean nothing.
   */
  readonly warm: boolean;
  /**
   * True once the model state has run for a quarter window since the last reset: its first predictions
   * from a zero state are poor by construction and are no evidence of anything.
   */
  readonly settled: boolean;
}

/** What the scorer tells the engine back about a reading. */
export interface StepVerdict {
  /** Keep this reading out of the running normalisation (it is part of an anomaly). */
  readonly exclude: boolean;
  /** The stream's normal changed for good: re-baseline its normalisation on its last W readings. */
  readonly rebaseline: boolean;
  /**
   * The readings before this one told nothing of the signal (a stuck value that held an episode): reset the
   * stream's model state at its next chunk, as after a gap (default false).
   */
  readonly reset?: boolean;
}

export interface StepEngineOptions {
  /** Steps between reconstructions for a model of window `length` (scaled for models of other windows). */
  readonly hop: number;
  /** The configured window length the hop refers to. */
  readonly length: number;
  /** Most streams in one model call. */
  readonly maxBatch: number;
  /**
   * Readings of warm-up whose trimmed mean and spread (the lowest and highest 10 % left out) initialise a
   * stream's normalisation (config model.normWarmup).
   */
  readonly normWarmup: number;
  /** Horizon (readings) of the running normalisation once warm. */
  readonly normHorizon: number;
  /** Gather a batch for this long at low load; 0 = until the end of the current event-loop turn. */
  readonly batchTickMs: number;
}

/**
 * A stream's model, and whether it was learnt on this stream alone: its sidecar normalisation is then in the
 * stream's units (sensor units) and seeds the stream's running normalisation. False for a shared model or a
 * group's model (its normalisation is no one stream's).
 */
export interface StreamModel {
  readonly model: StepModel;
  readonly own: boolean;
}

export interface StepEngineDeps<O> {
  /** The stream's model, or null when it has none (it is then scored without model errors). */
  modelFor(stream: string): StreamModel | null;
  /** Scores a result synchronously and says what to do with the reading's normal statistics. */
  score(result: StepResult<O>): StepVerdict;
  /** A model call failed; `streams` lost their model output for the steps of that call. */
  onModelError?(err: unknown, modelId: string, streams: readonly string[]): void;
  /**
   * The engine holds `model`: a stream was attached to it (it keeps it to the end of its current chunk, after
   * the model was swapped out), or a round's calls of it are about to run. The model's owner must not free it
   * until each hold is let go (src/learn/registry.ts ModelRegistry.hold). Optional (a model that lives as long
   * as the engine needs none).
   */
  hold?(model: StepModel): void;
  /** Lets go of one hold taken by `hold` (a stream moved to another model or was forgotten; a round's calls returned). */
  letGo?(model: StepModel): void;
}

/**
 * Values further than this many std from the running mean are clipped before they update it, once warm: an
 * absurd reading (1e308) must not poison it. Not tighter: readings of an anomaly are kept out anyway (the
 * scorer's verdict), and a stream whose warm-up saw only one of its levels must still learn its real spread.
 */
const NORM_CLIP_SIGMAS = 20;
/** Model inputs are clipped to this many std: an absurd reading must not saturate the state for long. */
const INPUT_CLIP = 10;
const STD_REL_FLOOR = 1e-3;
/** The per-channel arrays a duplicate's result does not carry (shared, empty). */
const NO_VALUES = new Float64Array(0);
const STD_ABS_FLOOR = 1e-9;

class StreamState<O> {
  readonly C: number;
  readonly queue: StepItem<O>[] = [];
  queueHead = 0;
  /** Items of it were taken off its queue for the current round and are not scored yet (inside a model call). */
  inFlight = false;
  /** The items the current round took off its queue, until they are handed to the scorer (post): StepEngine.takeAll. */
  taken: StepItem<O>[] | null = null;
  // Normalisation.
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  normCount = 0;
  warm: number[][] | null;
  /**
   * The warm-up that seeded the normalisation mostly sat on one value (StepEngine.settledNormalisation): its trimmed
   * spread is no estimate of the stream's, so the normalisation is not settled before normWarmup running updates.
   * Checkpointed (absent from older checkpoints: false, their behaviour).
   */
  tiedSeed = false;
  /**
   * Per channel, the stream's quantum candidate: the smallest non-zero change between two of its readings seen so far
   * (sensor units; 0 until it first moves). It floors the std (stdOf, flooredQuantum) only once seen QUANTUM_SEEN
   * times (`quantumSeen`). Checkpointed (absent from older checkpoints: learnt again).
   */
  readonly quantum: Float64Array;
  /** Per channel, how many changes of the size `quantum` were seen (counted up to QUANTUM_SEEN). */
  readonly quantumSeen: Float64Array;
  /** Per channel, the previous reading's value (NaN before the first), for `quantum`. */
  readonly prevValue: Float64Array;
  /** Normalisation fixed for the current chunk (model inputs). */
  readonly chunkMean: Float64Array;
  readonly chunkStd: Float64Array;
  // Model state.
  model: StepModel | null = null;
  modelId: string | null = null;
  W = 0;
  hop = 1;
  h: Float32Array = new Float32Array(0);
  c: Float32Array | null = null;
  prevPred: Float64Array | null = null;
  /**
   * The two buffers the next-step predictions alternate in ([C] each, made with the first): the one not in
   * prevPred takes the next prediction. The latest reading's result (`last`, what a duplicate reports) holds the
   * other one as its `expected`: a duplicate follows its reading before any further step, and the fills before
   * a reading that overwrite it come right before that reading, whose result replaces `last`.
   */
  predA: Float64Array | null = null;
  predB: Float64Array | null = null;
  segmentSteps = 0;
  chunkPos = 0;
  /** Ring of the last W normalised steps as fed to the model. */
  ring: Float32Array = new Float32Array(0);
  /** Ring of the last W raw readings (for re-baselining). */
  raw: Float64Array = new Float64Array(0);
  rawCount = 0;
  pendingRebaseline = false;
  pendingReset = false;
  /** Set by StepEngine.forget: items of it inside a model call are dropped, not scored. */
  forgotten = false;
  /** The latest reading's result (what a duplicate of it reports, less its per-channel arrays). */
  last: StepResult<O> | null = null;

  constructor(
    readonly stream: string,
    readonly channels: readonly string[],
  ) {
    this.C = channels.length;
    // One buffer for the seven per-channel numbers (views of it): one allocation per stream, not seven.
    const norm = new Float64Array(7 * this.C);
    this.mean = norm.subarray(0, this.C);
    this.variance = norm.subarray(this.C, 2 * this.C);
    this.chunkMean = norm.subarray(2 * this.C, 3 * this.C);
    this.chunkStd = norm.subarray(3 * this.C, 4 * this.C).fill(1);
    this.warm = [];
    this.quantum = norm.subarray(4 * this.C, 5 * this.C);
    this.quantumSeen = norm.subarray(5 * this.C, 6 * this.C);
    this.prevValue = norm.subarray(6 * this.C).fill(Number.NaN);

  }

  get pending(): number {
    return this.queue.length - this.queueHead;
  }
}

/** The per-stream state that a checkpoint carries (JSON-serialisable). */
export interface StreamEngineSnapshot {
  readonly format: 'anomalyd-steps/1';
  readonly channels: readonly string[];
  readonly modelId: string | null;
  readonly mean: readonly number[];
  readonly variance: readonly number[];
  readonly normCount: number;
  readonly warm: readonly (readonly number[])[] | null;
  readonly h: readonly number[];
  readonly c: readonly number[] | null;
  readonly prevPred: readonly number[] | null;
  readonly segmentSteps: number;
  readonly chunkPos: number;
  readonly chunkMean: readonly number[];
  readonly chunkStd: readonly number[];
  readonly ring: readonly number[];
  readonly raw: readonly number[];
  readonly rawCount: number;
  readonly pendingRebaseline: boolean;
  /** A model state reset waits for the next chunk (the end of a stuck run, a model swap). Absent from older checkpoints. */
  readonly pendingReset?: boolean;
  /**
   * What a duplicate of the latest reading reports (StreamState.last, less its per-channel arrays); null before
   * the first reading. Absent from older checkpoints.
   */
  readonly last?: StoredStepResult | null;
  /**
   * Per channel, the stream's quantum (StreamState.quantum, sensor units; 0 until it moved) and its previous reading's
   * value (null before the first or when missing). Absent from older checkpoints: learnt again from the next change.
   */
  readonly quantum?: readonly number[];
  /** Per channel, how many changes of the size `quantum` were seen (StreamState.quantumSeen). Absent: counted again. */
  readonly quantumSeen?: readonly number[];
  readonly prevValue?: readonly (number | null)[];
  /** StreamState.tiedSeed; absent from older checkpoints (false). */
  readonly tiedSeed?: boolean;
}

/** The latest reading's result as a checkpoint keeps it: what a duplicate of it reports. */
export interface StoredStepResult {
  readonly modelId: string | null;
  /** Sensor units, one per channel, or null. */
  readonly expected: readonly number[] | null;
  readonly predError: number | null;
  readonly reconError: number | null;
  readonly segmentSteps: number;
  readonly warm: boolean;
  readonly settled: boolean;
}

/** A stream's items the engine had not scored when it was halted (StepEngine.takeAll), oldest first. */
export interface TakenQueue<O> {
  readonly stream: string;
  /** The stream's channels (those of its items). */
  readonly channels: readonly string[];
  readonly items: readonly StepItem<O>[];
}

export class StepEngine<O> {
  private readonly streams = new Map<string, StreamState<O>>();
  /** Set by takeAll: no item is scored any more (a round inside a model call then hands nothing to the scorer). */
  private halted = false;
  /** A result's z, mean, std and predErrors, per channel count (see StepResult). */
  private readonly buffers = new Map<number, { readonly z: Float64Array; readonly mean: Float64Array; readonly std: Float64Array; readonly predErrors: Float64Array }>();
  private queued = 0;
  private running = false;

  constructor(
    private readonly opts: StepEngineOptions,
    private readonly deps: StepEngineDeps<O>,
  ) {
    if (!Number.isInteger(opts.hop) || opts.hop < 1 || opts.hop > opts.length) throw new RangeError(`hop must be an integer in 1..length, got ${opts.hop}`);
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new RangeError(`maxBatch must be an integer >= 1, got ${opts.maxBatch}`);
    if (!Number.isInteger(opts.normWarmup) || opts.normWarmup < 1) throw new RangeError(`normWarmup must be an integer >= 1, got ${opts.normWarmup}`);
  }

  /** Items queued or in a model call (for backpressure). */
  get pending(): number {
    return this.queued;
  }

  /** The stream's channel names (of its latest item), or undefined for a stream the engine does not hold. */
  channelsOf(stream: string): readonly string[] | undefined {
    return this.streams.get(stream)?.channels;
  }

  /** Streams the engine holds state for. */
  streamIds(): IterableIterator<string> {
    return this.streams.keys();
  }

  /** Queues a stream's item; `channels` must be the stream's (a change of channels starts the stream over). */
  push(stream: string, channels: readonly string[], item: StepItem<O>): void {
    let s = this.streams.get(stream);
    if (s === undefined || !sameChannels(s.channels, channels)) {
      if (s?.model) this.deps.letGo?.(s.model);
      s = new StreamState<O>(stream, channels);
      this.streams.set(stream, s);
    }
    s.queue.push(item);
    this.queued++;
  }

  /** Drops a stream's state (its queued items are discarded, and so are its items inside a model call: they are never scored). */
  forget(stream: string): void {
    const s = this.streams.get(stream);
    if (s === undefined) return;
    this.queued -= s.pending;
    s.forgotten = true;
    this.streams.delete(stream);
    // A call of the model it carries is held by its round (see round).
    if (s.model) this.deps.letGo?.(s.model);
    s.model = null;
    s.modelId = null;
  }

  /** Resets the stream's model state at its next chunk (after a model swap is announced, for instance). */
  resetState(stream: string): void {
    const s = this.streams.get(stream);
    if (s) s.pendingReset = true;
  }

  /** The interval-free numbers the scorer and the status need: running mean and std of a stream. */
  normalisation(stream: string): { mean: Float64Array; std: Float64Array } | null {
    const s = this.streams.get(stream);
    if (!s || s.normCount === 0) return null;
    return { mean: s.mean, std: Float64Array.from(s.variance, (v, c) => stdOf(v, s.mean[c], flooredQuantum(s, c))) };
  }

  /**
   * Halts the engine for good (a stop whose drain must end) and takes every item it has not scored, per stream in
   * order: those of the current round still inside a model call first (taken off the queue, not handed to the scorer),
   * then the queued ones. From then on nothing is scored: a model call that returns later hands nothing to the scorer
   * and the queues stay empty (`pending` 0). Each stream's state is as its scored items left it, with the chunk-start
   * decisions of an unscored round applied (StepEngine.startChunk: the model attached or reset, the chunk's
   * normalisation): pushed again onto a stream restored from that state, in the same order, the items start the same
   * chunk again with the same decisions and are scored as they would have been. Streams without such items are not
   * listed.
   */
  takeAll(): TakenQueue<O>[] {
    this.halted = true;
    const out: TakenQueue<O>[] = [];
    for (const s of this.streams.values()) {
      const items = [...(s.taken ?? []), ...s.queue.slice(s.queueHead)];
      s.taken = null;
      s.queue.length = 0;
      s.queueHead = 0;
      if (items.length > 0) out.push({ stream: s.stream, channels: s.channels, items });
    }
    this.queued = 0;
    return out;
  }

  /** True once takeAll halted the engine. */
  get isHalted(): boolean {
    return this.halted;
  }

  /**
   * Runs every queued item through the model and the scorer, round after round, until the queues are
   * empty. Used by the operator, and directly by tests.
   */
  async drain(): Promise<void> {
    while (this.queued > 0) await this.round();
  }

  /** One round: at most the rest of one chunk per stream, one step call per model, decodes at chunk ends, then scoring. */
  async round(): Promise<void> {
    if (this.running) throw new Error('StepEngine: rounds must not overlap');
    if (this.halted) return;
    this.running = true;
    const taken: StreamState<O>[] = [];
    // The models of this round's calls, held until the calls returned: a model swapped out (and released by its
    // owner) meanwhile must stay loaded for the calls formed for it.
    const held: StepModel[] = [];
    try {
      const groups = new Map<StepModel | null, { s: StreamState<O>; items: StepItem<O>[]; steps: number }[]>();
      for (const s of this.streams.values()) {
        if (s.pending === 0) continue;
        const take = this.takeChunk(s);
        s.inFlight = true;
        s.taken = take.items;
        taken.push(s);
        const key = s.model;
        let g = groups.get(key);
        if (!g) {
          groups.set(key, (g = []));
          if (key !== null) {
            this.deps.hold?.(key);
            held.push(key);
          }
        }
        g.push(take);
      }
      for (const [model, all] of groups) {
        const stepping = model === null ? [] : all.filter((r) => r.steps > 0);
        // Halted (takeAll) while an earlier call ran: the rest of the round was taken, not scored here.
        if (this.halted) break;
        // A stream forgotten while an earlier group's model call ran: its taken items go with its state, unscored.
        for (const r of all) if ((model === null || r.steps === 0) && !r.s.forgotten) this.post(r.s, r.items, null, 0, false);
        for (let i = 0; i < stepping.length; i += this.opts.maxBatch) {
          if (this.halted) break;
          const part = stepping.slice(i, i + this.opts.maxBatch);
          const out = await this.callModel(model!, part);
          // Halted during the call: its items were taken (takeAll), not scored.
          if (this.halted) break;
          for (let b = 0; b < part.length; b++) {
            // A stream forgotten during the call: its taken items go with its state, unscored.
            if (part[b].s.forgotten) continue;
            this.post(part[b].s, part[b].items, out, b, out === null);
          }
        }
      }
    } finally {
      for (const s of taken) {
        s.inFlight = false;
        s.taken = null;
      }
      for (const model of held) this.deps.letGo?.(model);
      this.running = false;
    }
  }

  /**
   * True while readings of the stream are queued or inside a model call: the parser and the cadence have taken
   * them, the model state and the scorer not yet, so a snapshot now would not be one consistent point of the
   * stream (a checkpoint waits until it is idle).
   */
  busy(stream: string): boolean {
    const s = this.streams.get(stream);
    return s !== undefined && (s.inFlight || s.pending > 0);
  }

  /** Takes the rest of the stream's current chunk off its queue; applies chunk-start decisions first. */
  private takeChunk(s: StreamState<O>): { s: StreamState<O>; items: StepItem<O>[]; steps: number } {
    const items: StepItem<O>[] = [];
    let steps = 0;
    while (s.queueHead < s.queue.length) {
      const item = s.queue[s.queueHead];
      if (item.kind !== 'duplicate') {
        const startsChunk = item.reset || s.chunkPos + steps === 0 || s.chunkPos + steps >= s.hop;
        if (startsChunk && steps > 0) break;
        if (startsChunk) this.startChunk(s, item);
        steps++;
      }
      items.push(item);
      s.queueHead++;
      this.queued--;
      if (steps > 0 && s.chunkPos + steps >= s.hop) {
        // Duplicates right after the chunk's last step still belong to it.
        while (s.queueHead < s.queue.length && s.queue[s.queueHead].kind === 'duplicate') {
          items.push(s.queue[s.queueHead++]);
          this.queued--;
        }
        break;
      }
    }
    if (s.queueHead === s.queue.length) {
      // All taken: drop the references (else up to 1024 items a stream, values and all, stay reachable).
      s.queue.length = 0;
      s.queueHead = 0;
    } else if (s.queueHead > 1024 && s.queueHead * 2 > s.queue.length) {
      s.queue.splice(0, s.queueHead);
      s.queueHead = 0;
    }
    return { s, items, steps };
  }

  /** Decisions that take effect at a chunk start: model (re)assignment, resets, re-baselining, the chunk's normalisation. */
  private startChunk(s: StreamState<O>, first: StepItem<O>): void {
    const assigned = this.deps.modelFor(s.stream);
    const model = assigned?.model ?? null;
    if (model?.id !== s.modelId || (model !== null && model.sidecar.channels.length !== s.C)) {
      this.attach(s, assigned);
    } else if (first.reset || s.pendingReset) {
      this.resetModelState(s);
    }
    s.pendingReset = false;
    if (s.pendingRebaseline) {
      this.rebaseline(s);
      // The model state holds the readings as normalised under the old baseline (clipped, for a change far
      // beyond it): under the new one they mean something else, and predictions from it would be errors of
      // the switch, not of the stream. It starts over, as after a gap or a model swap.
      this.resetModelState(s);
      s.pendingRebaseline = false;
    }
    s.chunkPos = 0;
    if (s.normCount === 0) this.seedNormalisation(s, first, assigned);
    for (let c = 0; c < s.C; c++) {
      s.chunkMean[c] = s.mean[c];
      s.chunkStd[c] = stdOf(s.variance[c], s.mean[c], flooredQuantum(s, c));
    }
  }

  private attach(s: StreamState<O>, assigned: StreamModel | null): void {
    const model = assigned?.model ?? null;
    const before = s.model;
    if (model !== null && model.sidecar.channels.length !== s.C) {
      // A model of another shape cannot serve this stream: it is scored without one (the config check should
      // have refused this; say so once per attach).
      this.deps.onModelError?.(new Error(`model ${model.id} takes ${model.sidecar.channels.length} channels, stream ${s.stream} has ${s.C}`), model.id, [s.stream]);
      s.model = null;
      s.modelId = null;
    } else {
      s.model = model;
      s.modelId = model?.id ?? null;
    }
    // The stream holds its model while attached (hold the new one before letting go of the old: it may be the same).
    if (s.model) this.deps.hold?.(s.model);
    if (before) this.deps.letGo?.(before);
    const W = s.model ? s.model.sidecar.window : this.opts.length;
    s.W = W;
    s.hop = Math.max(1, Math.min(W, Math.round((this.opts.hop * W) / this.opts.length)));
    const H = s.model ? s.model.sidecar.hidden : 0;
    s.h = new Float32Array(H);
    s.c = s.model?.sidecar.cell === 'lstm' ? new Float32Array(H) : null;
    s.ring = new Float32Array(W * s.C);
    if (s.raw.length !== W * s.C) {
      s.raw = new Float64Array(W * s.C);
      s.rawCount = 0;
    }
    s.prevPred = null;
    s.segmentSteps = 0;
  }

  private resetModelState(s: StreamState<O>): void {
    s.h.fill(0);
    s.c?.fill(0);
    s.prevPred = null;
    s.segmentSteps = 0;
  }

  private seedNormalisation(s: StreamState<O>, first: StepItem<O>, assigned: StreamModel | null): void {
    const norm = assigned?.own ? assigned.model.sidecar.normalisation : null;
    if (norm && norm.mean.length === s.C) {
      for (let c = 0; c < s.C; c++) {
        s.mean[c] = norm.mean[c];
        s.variance[c] = norm.std[c] * norm.std[c];
      }
      s.normCount = this.opts.normWarmup;
      s.warm = null;
      s.tiedSeed = false;
      return;
    }
    for (let c = 0; c < s.C; c++) {
      s.mean[c] = first.values[c];
      s.variance[c] = 0;
    }
  }

  private async callModel(model: StepModel, rows: readonly { s: StreamState<O>; items: StepItem<O>[]; steps: number }[]): Promise<ModelOut | null> {
    const B = rows.length;
    const C = model.sidecar.channels.length;
    const H = model.sidecar.hidden;
    let T = 0;
    for (const r of rows) T = Math.max(T, r.steps);
    const x = new Float32Array(T * B * C);
    const seqLens = new BigInt64Array(B);
    const h0 = new Float32Array(B * H);
    const c0 = model.sidecar.cell === 'lstm' ? new Float32Array(B * H) : undefined;
    for (let b = 0; b < B; b++) {
      const { s, items } = rows[b];
      let t = 0;
      for (const item of items) {
        if (item.kind === 'duplicate') continue;
        for (let c = 0; c < C; c++) x[(t * B + b) * C + c] = clip((item.values[c] - s.chunkMean[c]) / s.chunkStd[c]);
        t++;
      }
      seqLens[b] = BigInt(t);
      h0.set(s.h, b * H);
      if (c0 && s.c) c0.set(s.c, b * H);
    }
    try {
      const stepped = await model.step({ x, seqLens, h0, ...(c0 ? { c0 } : {}), B, T });
      // Decode the rows whose chunk ends here, from their new states.
      const decodeRows: number[] = [];
      const decodeIndex = new Int32Array(B).fill(-1);
      for (let b = 0; b < B; b++) {
        const { s, steps } = rows[b];
        if (steps > 0 && s.chunkPos + steps >= s.hop) {
          decodeIndex[b] = decodeRows.length;
          decodeRows.push(b);
        }
      }
      let recon: Float32Array | null = null;
      const W = model.sidecar.window;
      if (decodeRows.length > 0) {
        const hd = new Float32Array(decodeRows.length * H);
        const cd = stepped.c ? new Float32Array(decodeRows.length * H) : undefined;
        decodeRows.forEach((b, i) => {
          hd.set(stepped.h.subarray(b * H, (b + 1) * H), i * H);
          if (cd && stepped.c) cd.set(stepped.c.subarray(b * H, (b + 1) * H), i * H);
        });
        recon = (await model.decode({ h: hd, ...(cd ? { c: cd } : {}), B: decodeRows.length, W })).recon;
      }
      return { x, stepped, B, T, C, H, W, decodeRows, decodeIndex, recon };
    } catch (err) {
      this.deps.onModelError?.(
        err,
        model.id,
        rows.map((r) => r.s.stream),
      );
      return null;
    }
  }

  /** Hands a stream's items of this round to the scorer, in order, and carries its state on. */
  private post(s: StreamState<O>, items: readonly StepItem<O>[], out: ModelOut | null, b: number, failed: boolean): void {
    s.inFlight = false;
    s.taken = null;
    const C = s.C;
    // A result's per-channel buffers (shared by the streams of C channels), looked up once per call.
    const buffers = this.buffersFor(C);
    if (failed) this.resetModelState(s);
    let t = 0;
    for (const item of items) {
      if (item.kind === 'duplicate') {
        // Reported like the step it duplicates (with its own values, and without the duplicated step's
        // per-channel z, mean, std and errors: see `last`); never a model step.
        this.deps.score(s.last === null ? { ...this.bareResult(s, item), item } : { ...s.last, z: NO_VALUES, mean: NO_VALUES, std: NO_VALUES, predErrors: null, reconErrors: null, item });
        continue;
      }
      s.segmentSteps++;
      const pos = s.chunkPos + t;
      // The step as the model saw it goes into the ring.
      const slot = ((s.segmentSteps - 1) % s.W) * C;
      for (let c = 0; c < C; c++) s.ring[slot + c] = clip((item.values[c] - s.chunkMean[c]) / s.chunkStd[c]);
      let expected: Float64Array | null = null;
      let predError: number | null = null;
      let reconError: number | null = null;
      let predErrors: Float64Array | null = null;
      let reconErrors: Float64Array | null = null;
      if (out !== null) {
        if (s.prevPred !== null) {
          expected = s.prevPred;
          predErrors = buffers.predErrors;
          const over = 1 + (item.kind === 'reading' ? item.filled : 0);
          let e = 0;
          for (let c = 0; c < C; c++) {
            const d = (item.values[c] - expected[c]) / s.chunkStd[c];
            predErrors[c] = (d * d) / over;
            e += predErrors[c];
          }
          predError = e / C;
        }
        // The next step's prediction, kept in sensor units (the next step may fall in another chunk), in the
        // stream's prediction buffer that the current one is not (see predA).
        const next = s.prevPred === s.predA ? (s.predB ??= new Float64Array(C)) : (s.predA ??= new Float64Array(C));
        for (let c = 0; c < C; c++) next[c] = s.chunkMean[c] + out.stepped.pred[(t * out.B + b) * C + c] * s.chunkStd[c];
        s.prevPred = next;
        const di = out.decodeIndex[b];
        if (di >= 0 && pos + 1 === s.hop && out.recon !== null) {
          reconErrors = this.reconErrors(s, out.recon, di, out.decodeRows.length, out.W);
          // The sum from 0 in channel order (as reduce added them), without a callback per reading.
          let sum = 0;
          for (let c = 0; c < C; c++) sum += reconErrors[c];
          reconError = sum / C;
        }
      }
      t++;
      if (item.kind === 'fill') continue;
      const z = buffers.z;
      const std = buffers.std;
      const mean = buffers.mean;
      for (let c = 0; c < C; c++) {
        mean[c] = s.mean[c];
        std[c] = stdOf(s.variance[c], s.mean[c], flooredQuantum(s, c));
        z[c] = (item.values[c] - s.mean[c]) / std[c];
      }
      const result: StepResult<O> = {
        stream: s.stream,
        item,
        channels: s.channels,
        modelId: out === null ? null : s.modelId,
        z,
        mean,
        std,
        expected,
        predError,
        reconError,
        predErrors,
        reconErrors,
        reconSteps: reconErrors === null ? 0 : Math.min(s.W, s.segmentSteps),
        segmentSteps: s.segmentSteps,
        warm: this.settledNormalisation(s),
        settled: s.segmentSteps > Math.max(4, s.W >> 2),
      };
      // What a duplicate of this reading reports: the step as the model saw it, without its per-channel arrays
      // (the scorer reports a duplicate from its own last scored step; they are dropped when a duplicate comes,
      // not copied out for every reading).
      s.last = result;
      const verdict = this.deps.score(result);
      this.pushRaw(s, item.values);
      noteQuantum(s, item.values);
      if (!verdict.exclude) this.updateNormalisation(s, item.values);
      if (verdict.rebaseline) s.pendingRebaseline = true;
      if (verdict.reset === true) s.pendingReset = true;
    }
    // Carry the state on (a failed call has reset it).
    if (out !== null) {
      const H = out.H;
      s.h.set(out.stepped.h.subarray(b * H, (b + 1) * H));
      if (s.c && out.stepped.c) s.c.set(out.stepped.c.subarray(b * H, (b + 1) * H));
    }
    s.chunkPos += t;
  }

  /** What a duplicate reports when its stream has no scored reading yet. */
  private buffersFor(C: number): { readonly z: Float64Array; readonly mean: Float64Array; readonly std: Float64Array; readonly predErrors: Float64Array } {
    let b = this.buffers.get(C);
    if (b === undefined) this.buffers.set(C, (b = { z: new Float64Array(C), mean: new Float64Array(C), std: new Float64Array(C), predErrors: new Float64Array(C) }));
    return b;
  }

  private bareResult(s: StreamState<O>, item: StepItem<O>): StepResult<O> {
    const std = Float64Array.from(s.variance, (v, c) => stdOf(v, s.mean[c], flooredQuantum(s, c)));
    return {
      stream: s.stream,
      item,
      channels: s.channels,
      modelId: null,
      z: Float64Array.from(item.values, (v, c) => (v - s.mean[c]) / std[c]),
      mean: Float64Array.from(s.mean),
      std,
      expected: null,
      predError: null,
      reconError: null,
      predErrors: null,
      reconErrors: null,
      segmentSteps: s.segmentSteps,
      warm: this.settledNormalisation(s),
      settled: false,
    };
  }

  /** Per channel, the masked MSE between the ring's last L steps and the decoder's output (newest first). */
  private reconErrors(s: StreamState<O>, recon: Float32Array, i: number, Bd: number, W: number): Float64Array {
    const C = s.C;
    const L = Math.min(W, s.segmentSteps);
    const e = new Float64Array(C);
    for (let k = 0; k < L; k++) {
      const slot = ((s.segmentSteps - 1 - k) % W) * C;
      for (let c = 0; c < C; c++) {
        const d = recon[(k * Bd + i) * C + c] - s.ring[slot + c];
        e[c] += d * d;
      }
    }
    for (let c = 0; c < C; c++) e[c] /= L;
    return e;
  }

  private pushRaw(s: StreamState<O>, values: Float64Array): void {
    const W = s.raw.length / s.C;
    if (W === 0) return;
    const slot = (s.rawCount % W) * s.C;
    for (let c = 0; c < s.C; c++) s.raw[slot + c] = values[c];
    s.rawCount++;
  }

  /**
   * Running normalisation: during warm-up the trimmed mean and spread of the first readings (the lowest and
   * highest 10 % left out, so a few absurd values cannot poison it), then an exponential update with horizon
   * normHorizon on values clipped to +-NORM_CLIP_SIGMAS std.
   */
  private updateNormalisation(s: StreamState<O>, values: Float64Array): void {
    const C = s.C;
    if (s.warm !== null) {
      s.warm.push(Array.from(values));
      s.normCount++;
      for (let c = 0; c < C; c++) {
        const col = s.warm.map((v) => v[c]).sort((a, b) => a - b);
        const cut = Math.floor(col.length * 0.1);
        const kept = col.slice(cut, col.length - cut);
        const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
        // The variance of the trimmed middle, inflated for what trimming a normal at 10 % each side removes.
        const variance = kept.reduce((a, b) => a + (b - mean) ** 2, 0) / kept.length / (cut > 0 ? 0.66 : 1);
        s.mean[c] = mean;
        s.variance[c] = variance;
      }
      if (s.warm.length >= this.opts.normWarmup) {
        s.tiedSeed = tiedWarmUp(s.warm);
        s.warm = null;
      }
      return;
    }
    s.normCount++;
    const alpha = 1 / Math.min(this.opts.normHorizon, s.normCount);
    for (let c = 0; c < C; c++) {
      const mean0 = s.mean[c];
      const span = NORM_CLIP_SIGMAS * stdOf(s.variance[c], mean0, flooredQuantum(s, c));
      const v = Math.min(mean0 + span, Math.max(mean0 - span, values[c]));
      const d = v - mean0;
      const mean = mean0 + alpha * d;
      s.variance[c] = (1 - alpha) * (s.variance[c] + alpha * d * d);
      s.mean[c] = mean;
    }
  }

  /**
   * Whether the stream's running normalisation is settled enough that readings measured in it are evidence
   * (StepResult.warm): seeded from its own model, or warmed up from its first normWarmup readings, and, when that
   * warm-up mostly sat on one value (s.tiedSeed, tiedWarmUp), updated by normWarmup readings more. The warm-up's
   * trimmed spread (the lowest and highest 10 % left out) is that of the warm-up's middle: a quantised stream that
   * sat on one value for most of its first readings (SKAB valve2/2's flow rate: 28 of its first 32 readings exactly
   * 32, its dips to 31 and 33 trimmed away) starts with a spread of 0 (floored at 0.032, 1e-3 of its mean), and its
   * next readings, clipped at NORM_CLIP_SIGMAS of that spread, take tens of readings to grow it to the stream's
   * (0.007, 0.21, 0.33 of its 0.41 at 1, 8 and 28 readings after the warm-up). The z of those readings (up to 30)
   * are no departure of the stream but of the seed; taught to the level and shift histories, they widened those
   * histories' tails for their whole horizon, and a real lasting shift of 3.7 std (valve2/2's fault) was judged
   * ordinary (BENCHMARKS.md, budgetskab). After normWarmup running updates (weight 1 / count each) the seed is
   * half of the estimate at most, whatever its spread was. A warm-up of distinct values (any continuous signal)
   * is settled at its end, as before.
   */
  private settledNormalisation(s: StreamState<O>): boolean {
    return s.warm === null && (!s.tiedSeed || s.normCount >= 2 * this.opts.normWarmup);
  }

  /** A new normal: the normalisation restarts from the stream's last W readings. */
  private rebaseline(s: StreamState<O>): void {
    const W = s.raw.length / s.C;
    const n = Math.min(W, s.rawCount);
    if (n === 0) return;
    s.warm = [];
    s.normCount = 0;
    for (let k = n; k >= 1; k--) {
      const slot = ((s.rawCount - k) % W) * s.C;
      this.updateNormalisation(s, s.raw.subarray(slot, slot + s.C));
    }
  }

  snapshot(stream: string): StreamEngineSnapshot | null {
    const s = this.streams.get(stream);
    if (!s) return null;
    return {
      format: 'anomalyd-steps/1',
      channels: [...s.channels],
      modelId: s.modelId,
      mean: Array.from(s.mean),
      variance: Array.from(s.variance),
      normCount: s.normCount,
      warm: s.warm,
      h: Array.from(s.h),
      c: s.c ? Array.from(s.c) : null,
      prevPred: s.prevPred ? Array.from(s.prevPred) : null,
      segmentSteps: s.segmentSteps,
      chunkPos: s.chunkPos,
      chunkMean: Array.from(s.chunkMean),
      chunkStd: Array.from(s.chunkStd),
      ring: Array.from(s.ring),
      raw: Array.from(s.raw),
      rawCount: s.rawCount,
      pendingRebaseline: s.pendingRebaseline,
      pendingReset: s.pendingReset,
      quantum: Array.from(s.quantum),
      quantumSeen: Array.from(s.quantumSeen),
      prevValue: Array.from(s.prevValue, (x) => (Number.isFinite(x) ? x : null)),
      tiedSeed: s.tiedSeed,
      last:
        s.last === null
          ? null
          : {
              modelId: s.last.modelId,
              expected: s.last.expected === null ? null : Array.from(s.last.expected),
              predError: s.last.predError,
              reconError: s.last.reconError,
              segmentSteps: s.last.segmentSteps,
              warm: s.last.warm,
              settled: s.last.settled,
            },
    };
  }

  /**
   * Restores a stream. The model state is kept only when the stream's model is still the one it was taken
   * under (else the stream starts its model state over, keeping its normalisation). Throws on a malformed
   * snapshot (the caller lets the stream start over).
   */
  restore(stream: string, snap: unknown): void {
    const v = parseSnapshot(snap);
    const s = new StreamState<O>(stream, Object.freeze([...v.channels]));
    s.mean.set(v.mean);
    s.variance.set(v.variance);
    s.normCount = v.normCount;
    s.warm = v.warm === null ? null : v.warm.map((r) => [...r]);
    s.chunkMean.set(v.chunkMean);
    s.chunkStd.set(v.chunkStd);
    s.rawCount = v.rawCount;
    s.raw = Float64Array.from(v.raw);
    s.pendingRebaseline = v.pendingRebaseline;
    s.pendingReset = v.pendingReset === true;
    if (v.quantum !== undefined) s.quantum.set(v.quantum);
    if (v.quantum !== undefined && v.quantumSeen !== undefined) s.quantumSeen.set(v.quantumSeen);
    if (v.prevValue !== undefined) s.prevValue.set(v.prevValue.map((x) => x ?? Number.NaN));
    s.tiedSeed = v.tiedSeed ?? false;
    if (v.last !== null && v.last !== undefined) {
      const l = v.last;
      // The item is a placeholder: a duplicate reports the latest reading's result with its own item.
      s.last = {
        stream,
        item: { kind: 'reading', ts: 0, values: NO_VALUES, reset: false, filled: 0, origin: undefined as O },
        channels: s.channels,
        modelId: l.modelId,
        z: NO_VALUES,
        mean: NO_VALUES,
        std: NO_VALUES,
        expected: l.expected === null ? null : Float64Array.from(l.expected),
        predError: l.predError,
        reconError: l.reconError,
        predErrors: null,
        reconErrors: null,
        segmentSteps: l.segmentSteps,
        warm: l.warm,
        settled: l.settled,
      };
    }
    const assigned = this.deps.modelFor(stream);
    const model = assigned?.model ?? null;
    if (model !== null && model.id === v.modelId && model.sidecar.channels.length === s.C && v.ring.length === model.sidecar.window * s.C && v.h.length === model.sidecar.hidden) {
      this.attach(s, assigned);
      s.h.set(v.h);
      if (s.c && v.c) s.c.set(v.c);
      s.prevPred = v.prevPred ? Float64Array.from(v.prevPred) : null;
      s.segmentSteps = v.segmentSteps;
      s.chunkPos = v.chunkPos;
      s.ring.set(v.ring);
    } else {
      // Another model (or none): attached at the next chunk start, from a reset state.
      s.modelId = v.modelId === null ? null : `${v.modelId} (restored)`;
      s.chunkPos = 0;
    }
    const replaced = this.streams.get(stream);
    if (replaced?.model) this.deps.letGo?.(replaced.model);
    this.streams.set(stream, s);
  }
}

interface ModelOut {
  readonly x: Float32Array;
  readonly stepped: { readonly pred: Float32Array; readonly h: Float32Array; readonly c?: Float32Array };
  readonly B: number;
  readonly T: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly decodeRows: readonly number[];
  /** Per row b of the call, its index in decodeRows, or -1 when it was not decoded ([B]). */
  readonly decodeIndex: Int32Array;
  readonly recon: Float32Array | null;
}

/**
 * The running std of a channel (sensor units) from its variance and mean, floored: at STD_REL_FLOOR of the mean, at
 * STD_ABS_FLOOR, and at the std of the quantisation noise of its quantum q (q / √12: a uniform error over one
 * quantum; Widrow, "A study of rough amplitude quantization by means of Nyquist sampling theory", IRE Trans. Circuit
 * Theory 1956). A quantised stream that rests on one value (an idle plug at 0 W that reads 1 W now and then) has a
 * trimmed spread of 0: without the quantum's floor one quantum would be millions of std, and the clip of
 * updateNormalisation (±NORM_CLIP_SIGMAS std) would keep every such reading from ever widening it.
 */
function stdOf(variance: number, mean: number, quantum = 0): number {
  return Math.max(Math.sqrt(variance), STD_REL_FLOOR * Math.abs(mean), STD_ABS_FLOOR, quantum * QUANTUM_STD);
}

/**
 * Whether a warm-up ([normWarmup][C] readings, sensor units) mostly sat on one value: in some channel one value
 * holds at least half of its readings. Its 10 %-trimmed spread then measures that value's run, not the stream
 * (StepEngine.settledNormalisation); a warm-up of a continuous signal has no ties and is never judged so.
 */
function tiedWarmUp(warm: readonly (readonly number[])[]): boolean {
  const C = warm.length === 0 ? 0 : warm[0].length;
  for (let c = 0; c < C; c++) {
    const col = warm.map((v) => v[c]).sort((a, b) => a - b);
    let run = 1;
    for (let i = 1; i < col.length; i++) {
      run = col[i] === col[i - 1] ? run + 1 : 1;
      if (2 * run >= col.length) return true;
    }
    if (col.length === 1) return true;
  }
  return false;
}

/** The std of quantisation noise per quantum: 1 / √12 (a uniform error over one quantum). */
const QUANTUM_STD = 1 / Math.sqrt(12);

/**
 * Changes of one size a stream must show before that size is taken for its quantum (readings' changes, not time).
 * One large change is no quantum: a plug read at exactly 0 W until a load switched it to 80 W has changed by 80 W
 * once; an idle plug's 1 W blips change it by 1 W twice each (up and back).
 */
const QUANTUM_SEEN = 8;

/** Channel c's quantum as the std's floor (sensor units): `s.quantum[c]` once seen QUANTUM_SEEN times, else 0. */
function flooredQuantum(s: StreamState<unknown>, c: number): number {
  return s.quantumSeen[c] >= QUANTUM_SEEN ? s.quantum[c] : 0;
}

/**
 * Updates `s.quantum` and `s.quantumSeen` with the change from the previous reading to `values`: each channel's
 * smallest non-zero change and how many changes of that size (within a relative 1e-6, for decimals held in binary)
 * were seen; a smaller change starts the count again at 1.
 */
function noteQuantum(s: StreamState<unknown>, values: Float64Array): void {
  for (let c = 0; c < s.C; c++) {
    const moved = Math.abs(values[c] - s.prevValue[c]);
    s.prevValue[c] = values[c];
    if (!(moved > 0) || !Number.isFinite(moved)) continue;
    const q = s.quantum[c];
    if (q > 0 && Math.abs(moved - q) <= 1e-6 * q) {
      if (s.quantumSeen[c] < QUANTUM_SEEN) s.quantumSeen[c]++;
    } else if (q === 0 || moved < q) {
      s.quantum[c] = moved;
      s.quantumSeen[c] = 1;
    }
  }
}

function clip(v: number): number {
  return v > INPUT_CLIP ? INPUT_CLIP : v < -INPUT_CLIP ? -INPUT_CLIP : Number.isNaN(v) ? 0 : v;
}

function sameChannels(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function parseSnapshot(v: unknown): StreamEngineSnapshot {
  const fail = (why: string): never => {
    throw new Error(`step engine snapshot: ${why}`);
  };
  if (typeof v !== 'object' || v === null) return fail('not an object');
  const o = v as Record<string, unknown>;
  if (o.format !== 'anomalyd-steps/1') fail('format is not anomalyd-steps/1');
  const nums = (key: string): number[] => {
    const x = o[key];
    if (!Array.isArray(x) || !x.every((n): n is number => typeof n === 'number' && Number.isFinite(n))) return fail(`${key} must be finite numbers`);
    return x;
  };
  const int = (key: string): number => {
    const x = o[key];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) return fail(`${key} must be an integer >= 0`);
    return x;
  };
  const channels = o.channels;
  if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c): c is string => typeof c === 'string')) return fail('channels must be strings');
  const C = channels.length;
  const mean = nums('mean');
  const variance = nums('variance');
  if (mean.length !== C || variance.length !== C) fail('mean/variance do not match the channels');
  let warm: number[][] | null = null;
  if (o.warm !== null) {
    if (!Array.isArray(o.warm)) return fail('warm must be an array or null');
    warm = o.warm.map((r: unknown) => {
      if (!Array.isArray(r) || r.length !== C || !r.every((n) => typeof n === 'number' && Number.isFinite(n))) return fail('warm rows must be finite numbers');
      return r as number[];
    });
  }
  const c = o.c === null ? null : nums('c');
  const prevPred = o.prevPred === null ? null : nums('prevPred');
  if (typeof o.pendingRebaseline !== 'boolean') fail('pendingRebaseline must be a boolean');
  if (!(o.modelId === null || typeof o.modelId === 'string')) fail('modelId must be a string or null');
  const chunkMean = nums('chunkMean');
  const chunkStd = nums('chunkStd');
  if (chunkMean.length !== C || chunkStd.length !== C) fail('chunk normalisation does not match the channels');
  let last: StoredStepResult | null = null;
  if (o.last !== undefined && o.last !== null) {
    if (typeof o.last !== 'object') return fail('last must be an object or null');
    const l = o.last as Record<string, unknown>;
    const numOrNull = (x: unknown, what: string): number | null => (x === null ? null : typeof x === 'number' && Number.isFinite(x) ? x : fail(`last.${what} must be a finite number or null`));
    const expected = l.expected === null ? null : Array.isArray(l.expected) && l.expected.length === C && l.expected.every((n) => typeof n === 'number' && Number.isFinite(n)) ? (l.expected as number[]) : fail(`last.expected must be ${C} finite numbers or null`);
    if (!(l.modelId === null || typeof l.modelId === 'string')) fail('last.modelId must be a string or null');
    if (typeof l.segmentSteps !== 'number' || !Number.isInteger(l.segmentSteps) || l.segmentSteps < 0) fail('last.segmentSteps must be an integer >= 0');
    if (typeof l.warm !== 'boolean' || typeof l.settled !== 'boolean') fail('last.warm and last.settled must be booleans');
    last = { modelId: l.modelId as string | null, expected, predError: numOrNull(l.predError, 'predError'), reconError: numOrNull(l.reconError, 'reconError'), segmentSteps: l.segmentSteps as number, warm: l.warm as boolean, settled: l.settled as boolean };
  }
  if (o.pendingReset !== undefined && typeof o.pendingReset !== 'boolean') fail('pendingReset must be a boolean');
  const quantum = o.quantum === undefined ? undefined : nums('quantum');
  if (quantum !== undefined && (quantum.length !== C || quantum.some((q) => q < 0))) fail('quantum must be one number >= 0 per channel');
  const quantumSeen = o.quantumSeen === undefined ? undefined : nums('quantumSeen');
  if (quantumSeen !== undefined && (quantumSeen.length !== C || quantumSeen.some((q) => q < 0))) fail('quantumSeen must be one number >= 0 per channel');
  let prevValue: (number | null)[] | undefined;
  if (o.prevValue !== undefined) {
    const p = o.prevValue;
    if (!Array.isArray(p) || p.length !== C || !p.every((x) => x === null || (typeof x === 'number' && Number.isFinite(x)))) return fail('prevValue must be one finite number or null per channel');
    prevValue = p as (number | null)[];
  }
  if (o.tiedSeed !== undefined && typeof o.tiedSeed !== 'boolean') fail('tiedSeed must be a boolean');
  return {
    format: 'anomalyd-steps/1',
    channels: channels,
    modelId: o.modelId as string | null,
    mean,
    variance,
    normCount: int('normCount'),
    warm,
    h: nums('h'),
    c,
    prevPred,
    segmentSteps: int('segmentSteps'),
    chunkPos: int('chunkPos'),
    chunkMean,
    chunkStd,
    ring: nums('ring'),
    raw: nums('raw'),
    rawCount: int('rawCount'),
    pendingRebaseline: o.pendingRebaseline as boolean,
    pendingReset: o.pendingReset === true,
    last,
    ...(quantum !== undefined ? { quantum } : {}),
    ...(o.tiedSeed !== undefined ? { tiedSeed: o.tiedSeed as boolean } : {}),
    ...(quantumSeen !== undefined ? { quantumSeen } : {}),
    ...(prevValue !== undefined ? { prevValue } : {}),
  };
}
