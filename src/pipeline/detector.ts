/**
 * The detector: the one place where the stages are composed, used by the daemon, `anomalyd replay`,
 * `npm run evaluate` and the benchmarks alike.
 *
 *   RawMessage ─► parse ─► cadence ─► model steps (batched) ─► score ─► DetectorOutput
 *                 parse.ts  cadence.ts  steps.ts               scorer.ts
 *
 * `operator()` maps messages to outputs: one `parsed` output per message (its readings and rejections, for
 * counting), then one `reading` output per accepted reading once it has been scored, in order per stream
 * (streams interleave). It never ends the stream on a bad message or a failing stage: the message or the
 * reading is reported as an `error` output naming the stage, and the stream goes on.
 *
 * Time. The detector reads no clock: times come from the readings (a bare number is stamped on arrival by
 * the caller, in RawMessage.receivedAt). Batching uses the injected RxJS scheduler (asap by default): a
 * batch starts once the messages that arrived together have been parsed. Results do not depend on how
 * readings were batched (see steps.ts), so replaying a recording gives what the daemon gave live.
 *
 * State. Per stream: the parser's, the cadence's, the model stage's and the scorer's, all JSON-serialisable
 * through `snapshot(stream)` / `restore(stream, state)` (checkpoints).
 */
import { Observable, asapScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Config } from '../config/schema.js';
import type { Calibration } from '../model/spec.js';
import type { AnomalyEvent, ParseResult, RawMessage, Reading, ScoredReading } from '../contract/types.js';
import { BackfillHoles, type BackfillBurst } from './backfill.js';
import { Cadence, INTERVAL_SAMPLES, type CadenceOptions } from './cadence.js';
import { SendOnDelta, type YoungCadence } from './send-on-delta.js';
import { kindsWarmUp } from './learning-period.js';
import { CounterTrack, type CounterBusy, type CounterFrozen } from './counter.js';
import type { MessageParser } from './parse.js';
import { StreamScorer, type ModelPriors, type OpenEpisodePeak, type OpenEpisodeProgress, type ScorerOptions, type ScoredStep, type SilenceJudgement } from './scorer.js';
import type { StepModel } from '../contract/ports.js';
import { StepEngine, type StepEngineOptions, type StepItem, type StepResult, type StepVerdict, type StreamModel } from './steps.js';
import type { KeptRestate, KeptStream } from './kept.js';

/**
 * A reading stamped on arrival that comes within this fraction of its stream's interval after the reading before, which
 * ended a hole or was of such a burst, is of an arrival-stamped burst (Detector.arrivalBurst; StepItem.burst). A
 * quarter: a live stream's jitter (a hub's polling, a radio's retries) stays well within it; a hub's queue flushed at a
 * reconnect comes a few ms apart (tryout 28: 20 readings of a 1 s plug within 0.33 s; tryout 18: 32 within 0.27 s).
 */
export const BURST_FRACTION = 0.25;

/**
 * A stream whose readings come at an irregular pace of their own at least this share of the time (a running mean over
 * about OWN_QUIET_READINGS readings): ending a hole (filled steps, a gap; not the caller's deafness) or coming within
 * BURST_FRACTION of its interval after the reading before (not of a burst). Such a stream keeps quiet on its own and
 * sends changes close together: a report-on-change sensor, a door shut seconds after it opened (its interval, the
 * median gap, lies between its quick changes and its quiet stretches). Its holes are its value unchanged, not a hub's
 * queue held back, so the reading that ends one and a change soon after it came when the device sent them: no
 * arrival-stamped burst (Detector.queue). A periodic stream has neither but at an outage (a 1 Hz plug's 19 s outage
 * after 40 min: one reading in 2,400 ends a hole; the burst's readings are not counted).
 */
export const OWN_QUIET_SHARE = 1 / 8;
/** The readings OWN_QUIET_SHARE's running mean is over (its weight 1 / this). */
export const OWN_QUIET_READINGS = 32;

/**
 * The gaps (readings − 1; after a power-up burst: SendOnDelta.cadence) a stream in its learning period must have shown
 * before its silence is judged (Detector.silenceJudged): the median of 5 gaps, its interval, stays one of the on-time
 * gaps with two of them off (a late reading is a long gap and a short one), and a stream of 2 to 5 readings (a device
 * tried once, a boot's burst) is never told. With k gaps all on time, a silence is told once its arrivals make it rare (src/pipeline/arrivals.ts:
 * P(X ≥ m) = m! (k + 1)! / (m + k + 1)!, the uniform prior's predictive): at the default threshold (surprise 5), 5
 * gaps take 17 missed intervals, 9 take 10, 31 take 5.
 */
export const YOUNG_GAPS = 5;

/**
 * A stream in its learning period whose longest quiet recurs (SendOnDelta.heartbeat: a report-on-change sensor's
 * heartbeat, its maximum reporting interval) is dead once silent this many of those heartbeats (Detector.youngDeathMs),
 * though its arrivals alone would take days to make the silence rare (tryout 37, finding 6: a zigbee2mqtt sensor with
 * a 60 s heartbeat dead at its 65th reading, never told while it learnt). More than the DEAD_AFTER (2.2) of a heartbeat
 * known after learning (src/pipeline/scorer.ts, HEARTBEAT_HELD: one that has held 12 times its length): a young one has
 * been seen twice, and a stream with unbounded quiet whose two longest gaps came close (about 5 % · α of them:
 * src/pipeline/send-on-delta.ts) goes on to a gap of 5 times its longest with probability about 5^−α / (k + 1) after
 * k gaps (a power-law tail of index α; for α = 1 and k = 64, 0.3 %).
 */
export const YOUNG_DEAD_AFTER = 5;

/**
 * A young stream's recurring longest gap is a heartbeat only when it is a quiet of its own, at least this many times
 * its interval (the median gap: Cadence): a report-on-change sensor whose value moved at every report for 40 minutes,
 * a report a minute, has gaps all alike (its longest recurs, at its pace) and its first quiet is its value settled,
 * not its death (`test/e2e/learning-silence.test.ts`). A periodic stream that missed a reading twice has a
 * heartbeat of two intervals, ten of them its young death: told sooner by its arrivals anyway.
 */
export const HEARTBEAT_QUIET = 2;

/**
 * A stream in its learning period whose silence is told no sooner is told once silent both `window.learningSilenceMs`
 * and this many times its longest own gap (Detector.youngDeathMs): a sparse sensor with no heartbeat (a door contact
 * quiet for a weekend, a temperature steady overnight: its longest quiet so far is hours) is not told for a quiet of
 * its usual kind. With k gaps of a power-law tail of index α, the next is 10 times the longest with probability about
 * 10^−α / (k + 1): for α = 1, 1 % after 9 gaps (order statistics: H. A. David and H. N. Nagaraja, Order Statistics,
 * 3rd ed., 2003, §2.1).
 */
export const LEARNING_SILENCE_GAPS = 10;

export interface DetectorOptions {
  readonly cadence: CadenceOptions;
  readonly engine: StepEngineOptions;
  readonly scorer: ScorerOptions;
  /**
   * `window.learningSilenceMs` (ms, >= 0): a stream in its learning period is told silent once it has been silent
   * this long and LEARNING_SILENCE_GAPS times its longest gap, whatever else its silence is judged by
   * (Detector.youngDeathMs); 0 or absent: never by this.
   */
  readonly learningSilenceMs?: number;
}

/** The detector's options from a Config: the one mapping, shared by the daemon, replay, evaluation and bench. */
export function detectorOptions(config: Config): DetectorOptions {
  const { window, model, score, alerts } = config;
  return {
    cadence: { intervalMs: window.intervalMs, resetAfter: window.resetAfter },
    learningSilenceMs: window.learningSilenceMs,
    engine: { hop: window.hop, length: window.length, maxBatch: model.maxBatch, normWarmup: model.normWarmup, normHorizon: model.normHorizon, batchTickMs: model.batchTickMs },
    scorer: {
      mode: score.mode,
      threshold: score.threshold,
      holdMargin: score.holdMargin,
      openAfter: alerts.openAfter,
      closeAfter: alerts.closeAfter,
      newNormalAfter: alerts.newNormalAfter,
      learnReadings: score.learnReadings,
      horizon: score.horizon,
      adaptiveHorizon: score.adaptiveHorizon,
      smooth: score.smooth,
      reconEvery: window.hop,
      kindsWarmUp: kindsWarmUp(model.normWarmup, score.smooth),
    },
  };
}

/**
 * A model's priors for the scorer, from its sidecar's calibration (natural log of the squared error,
 * measured on its validation data; the scorer works in log10): prediction, reconstruction, and bias's (with the
 * span of its short means) when the sidecar has one (sidecars written before it have none: null).
 */
export function priorsOf(sidecar: StepModel['sidecar']): ModelPriors {
  return priorsOfCalibration(sidecar.calibration);
}

/** priorsOf of a calibration alone (a sidecar's, or a training result's before it is written). */
export function priorsOfCalibration(calibration: Calibration): ModelPriors {
  const of = (p: { logErrMean: number; logErrStd: number } | undefined): { mean: number; std: number } | null =>
    p && Number.isFinite(p.logErrMean) && Number.isFinite(p.logErrStd) && p.logErrStd > 0 ? { mean: p.logErrMean / Math.LN10, std: p.logErrStd / Math.LN10 } : null;
  const b = calibration.bias;
  const bias = b !== undefined ? of(b) : null;
  return { prediction: of(calibration.pred), reconstruction: of(calibration.recon), bias: bias !== null && b !== undefined ? { ...bias, span: b.span } : null };
}

export interface DetectorPorts {
  /** The message parser (its options come from the config's ingest section). */
  readonly parser: MessageParser;
  /** A stream's model, or null (it is then scored by the model-free evidence alone). */
  modelFor(stream: string): StreamModel | null;
  /**
   * A model's priors for its prediction and reconstruction errors, or null. Asked when a stream's scoring
   * state is created (its first scored reading, after it was forgotten, or when its channel count changes),
   * for the model that scored that reading, and when another model takes the stream over (its own, learnt
   * on the device, or the shared one after a rollback: the model-error histories start over from its
   * priors). A state restored from a checkpoint does not re-seed the histories.
   */
  priorsFor(modelId: string): ModelPriors | null;
  /** A fresh episode id. */
  newId(): string;
  /**
   * True for readings that must teach the stream's histories unconditionally and open no episode: the rows a
   * model was trained on (a replay with --learn-first), or a stream that may not alert yet (learning its own
   * model without a fallback).
   */
  learning?(stream: string, origin: Origin): boolean;
  /**
   * True when the caller stamps each message with its arrival (RawMessage.receivedAt: the daemon's MQTT input), so
   * that a reading whose time equals its message's arrival was stamped on arrival (a hub that sends no time) and may
   * be of an arrival-stamped burst (StepItem.burst). Absent or false (replay, evaluation, bench): receivedAt is each
   * row's own time, no reading is taken as stamped on arrival, and nothing is marked.
   */
  readonly stampsOnArrival?: boolean;
  /** Schedules batches (default asapScheduler). */
  readonly scheduler?: SchedulerLike;
  /** A model call failed: the streams it carried were scored without the model for those steps. */
  onModelError?(err: unknown, modelId: string, streams: readonly string[]): void;
  /**
   * The detector holds a model (a stream is attached to it, or calls of it are queued or running): its owner
   * must not free it until the hold is let go (src/learn/registry.ts ModelRegistry.hold; StepEngineDeps.hold).
   */
  holdModel?(model: StepModel): void;
  /** Lets go of one hold taken by holdModel. */
  letGoModel?(model: StepModel): void;
}

/** Where an output came from: the message's position in the input (`RawMessage.seq`) and its reading's index in it. */
export interface Origin {
  readonly seq: number;
  readonly index: number;
}

export type DetectorOutput =
  | { readonly type: 'parsed'; readonly seq: number; readonly result: ParseResult }
  | {
      readonly type: 'reading';
      readonly origin: Origin;
      readonly reading: ScoredReading;
      /** Episode transitions this reading caused (open, update, resolve). */
      readonly events: readonly AnomalyEvent[];
      /** Surprise per kind of evidence (NaN where a kind said nothing). */
      readonly evidence: ScoredStep['evidence'];
      /** Surprise against normal operation before any open episode, fused and per kind. */
      readonly deviation: number;
      readonly deviationEvidence: ScoredStep['deviationEvidence'];
      /** Per channel, the largest deviation over kinds of evidence. */
      readonly channelDeviation: readonly number[];
      /** Steps filled before the reading; true for a duplicate of the previous reading. */
      readonly filled: number;
      readonly duplicate: boolean;
      /** The reading starts a new segment (first reading, or after a gap): the model state was reset. */
      readonly reset: boolean;
    }
  | { readonly type: 'error'; readonly stage: 'parse' | 'cadence' | 'score'; readonly stream: string | null; readonly seq: number; readonly detail: string };

/** One stream's state for a checkpoint. */
export interface DetectorStreamState {
  readonly format: 'anomalyd-detector/1';
  readonly parser: unknown;
  readonly cadence: unknown;
  readonly held: readonly number[] | null;
  /** The counter stage's state (src/pipeline/counter.ts CounterState); absent in a checkpoint written before it. */
  readonly counter?: unknown;
  /**
   * The stream's share of readings at an irregular pace of its own (0 … 1: Detector.ownQuiet, OWN_QUIET_SHARE);
   * absent in a checkpoint written before it (learnt again from 0).
   */
  readonly holeShare?: number;
  /**
   * The send-on-delta test of a stream in its learning period (src/pipeline/send-on-delta.ts: does it send changes
   * only?), present while it can still hold; absent once it cannot, after the learning period, and in a checkpoint
   * written before it (not tested again then: its silence is judged as before).
   */
  readonly sendOnDelta?: unknown;
  /**
   * The stream's latest reading as the latest of a flushed history (BackfillHoles.flushedOf: its time `ts` and how late
   * it arrived, `late`, ms), present only while it is one: after a restart its silence is told from that reading's
   * time to now, as before the stop (tryout 38, finding 11). Absent otherwise, and in a checkpoint written before it.
   * Plays no part in scoring (replay and evaluation have none: their readings arrive at their own times).
   */
  readonly flushed?: { readonly ts: number; readonly late: number };
  readonly engine: unknown;
  readonly scorer: unknown;
}

export class Detector {
  private readonly cadences = new Map<string, Cadence>();
  /** Each stream's latest accepted values: what a fill holds. */
  private readonly held = new Map<string, Float64Array>();
  /** Streams with a gap that is the daemon's, not theirs (excuseGap): the end of the daemon's deafness on the stream's clock, epoch ms. */
  private readonly excused = new Map<string, number>();
  /**
   * Streams heard again after the daemon's deafness (excuseGap) whose readings may still come bunched from a backlog
   * (a broker's session queue, the daemon's own socket), each with the readings its backlog may still hold (the steps
   * its deafness stood for): until those have come and one comes at least half an interval after the previous, their
   * gaps are not learnt as the stream's.
   */
  private readonly draining = new Map<string, number>();
  /** Streams whose next reading begins a new recording (newRecording). */
  private readonly recordings = new Set<string>();
  /** Backfill bursts (readings that arrive late and densely) and the readings missing in them (src/pipeline/backfill.ts). */
  private readonly backfill = new BackfillHoles();
  /**
   * Streams whose latest reading, stamped on arrival, ended a hole (filled steps, a gap, the caller's deafness; not the
   * quiet of a stream at an irregular pace of its own, OWN_QUIET_SHARE) or was one of an arrival-stamped burst after
   * one: the next reading that comes within BURST_FRACTION of the interval after it is of the burst (StepItem.burst).
   */
  private readonly afterHole = new Set<string>();
  /**
   * Each stream's share of readings at an irregular pace of its own (OWN_QUIET_SHARE: ending a hole of its own, or
   * within BURST_FRACTION of its interval after the one before, not of a burst), a running mean over about
   * OWN_QUIET_READINGS readings. Checkpointed (DetectorStreamState.holeShare).
   */
  private readonly holeShare = new Map<string, number>();
  /**
   * Each stream's send-on-delta test while it learns (src/pipeline/send-on-delta.ts); null once it cannot hold (a
   * repeat, too many values), once the stream's learning period is over, or restored without one. Checkpointed
   * (DetectorStreamState.sendOnDelta).
   */
  private readonly sendOnDelta = new Map<string, SendOnDelta | null>();
  /**
   * A stream whose own gaps just filled their window after a power-up burst (SendOnDelta.cadence: burst > 0): its
   * arrivals restated at its own pace when the reading of time `ts` is scored, before that reading is taught
   * (StreamScorer.restateArrivals). Not checkpointed (a crash between the reading's admission and its score keeps the
   * arrivals as they were); kept with the reading when a stop keeps it unscored (takeKept).
   */
  private readonly restate = new Map<string, KeptRestate>();
  /** Readings of arrival-stamped bursts since the detector was made (StepItem.burst). */
  private burstTotal = 0;
  /** Each one-channel stream's counter stage (src/pipeline/counter.ts): is it a cumulative counter, and its resets. */
  private readonly counters = new Map<string, CounterTrack>();
  private readonly engine: StepEngine<Origin>;
  readonly scorer: StreamScorer;
  private emit: ((o: DetectorOutput) => void) | null = null;
  private seq = 0;

  constructor(
    private readonly opts: DetectorOptions,
    private readonly ports: DetectorPorts,
  ) {
    this.scorer = new StreamScorer(opts.scorer, { newId: () => ports.newId(), priorsFor: (id) => ports.priorsFor(id) });
    this.engine = new StepEngine<Origin>(opts.engine, {
      modelFor: (stream) => ports.modelFor(stream),
      score: (r) => this.scoreStep(r),
      onModelError: (err, modelId, streams) => ports.onModelError?.(err, modelId, streams),
      hold: (model) => ports.holdModel?.(model),
      letGo: (model) => ports.letGoModel?.(model),
    });
  }

  /** Readings queued or inside a model call (backpressure). */
  get pending(): number {
    return this.engine.pending;
  }

  /**
   * True while readings of the stream are queued or inside a model call: its parser and cadence state are ahead
   * of its model and score state, so its snapshot would not be one consistent point (checkpoints wait).
   */
  busy(stream: string): boolean {
    return this.engine.busy(stream);
  }

  /**
   * Whether the stream is heard once (its parser's: all its readings came in one message; src/pipeline/admit.ts): a
   * new stream may take its slot when the table is full.
   */
  heardOnce(stream: string): boolean {
    return this.ports.parser.heardOnce(stream);
  }

  /**
   * Whether the stream is heard once at one time (its parser's, Admission.oneShot: one message, one time taken): a
   * one-shot topic, not checkpointed (Checkpoints) nor kept at its eviction. A history backfilled in one message is
   * heard once but not this: it is checkpointed as any stream.
   */
  oneShot(stream: string): boolean {
    return this.ports.parser.oneShot(stream);
  }

  /** Streams with state (for checkpoints, status, eviction). */
  streams(): string[] {
    return [...new Set([...this.cadences.keys(), ...this.engine.streamIds(), ...this.scorer.streamIds()])];
  }

  /**
   * The time (epoch ms, the stream's clock) of the newest reading placed on the stream's cadence (parsed, maybe not
   * scored yet: queued for the model), or undefined for a stream without one.
   */
  latestTsOf(stream: string): number | undefined {
    const ts = this.cadences.get(stream)?.latestTs;
    return ts !== undefined && Number.isFinite(ts) ? ts : undefined;
  }

  /** The stream's nature as a cumulative counter (CounterTrack.nature), or null: not judged as one, or unknown. */
  counterOf(stream: string): ReturnType<CounterTrack['nature']> {
    return this.counters.get(stream)?.nature() ?? null;
  }

  /** The stream's learnt reading interval in ms (0 while unknown), or undefined for an unknown stream. */
  intervalOf(stream: string): number | undefined {
    return this.cadences.get(stream)?.intervalMs;
  }

  /**
   * True when the stream keeps quiet on its own (OWN_QUIET_SHARE: at least that share of its recent readings ended a
   * hole or came within BURST_FRACTION of its interval after the one before: a report-on-change sensor), so its silence
   * is its value unchanged, not a stall (the daemon's status: not `stale` while its silence is usual, SensorStatusBoard).
   * Learnt from the stream's readings and checkpointed with it (restored after a restart): false for an unknown stream
   * and for about its first five readings.
   */
  ownQuiet(stream: string): boolean {
    return (this.holeShare.get(stream) ?? 0) >= OWN_QUIET_SHARE;
  }

  /** True while the stream has not learnt enough to alert. */
  learning(stream: string): boolean {
    return this.scorer.learning(stream);
  }

  /**
   * True when the stream's silence is judged while it lasts (judgeSilence): its interval learnt, and either its
   * learning period over, or in it: its interval settled (Cadence.settled, 32 readings) and the stream not taken to
   * send changes only (changesOnly); or, before its interval is settled, its young pace (youngPace): at least YOUNG_GAPS
   * gaps of its own after a power-up burst (6 readings without one), a reading after the burst that repeated the one
   * before or changed by under half its median change (SendOnDelta.periodicAfter: it sends whether or not its value
   * changed, as a periodic sensor does; a report-on-change sensor whose 6 to 16 readings all came on time, each a
   * change, was told after 8 to 13 min of quiet without it) and no quiet of its own shown (no hole at its young
   * interval; a young stream whose gaps varied has too few of them to say how long a quiet of its is usual: a
   * report-on-change sensor's 27 min quiet after 21 readings a few minutes apart was told without it). False for an
   * unknown stream. What the daemon's status tells
   * (SensorStatusBoard.silenceJudged: a report-on-change sensor's quiet is `unchanged` until its silence is told).
   */
  silenceJudged(stream: string): boolean {
    const cadence = this.cadences.get(stream);
    if (cadence === undefined || !(cadence.intervalMs > 0)) return false;
    if (!this.scorer.learning(stream)) return true;
    if (cadence.settled) return !this.changesOnly(stream);
    return this.youngPace(stream) !== null;
  }

  /**
   * The pace a young stream's silence is judged at (before its interval is settled; silenceJudged), or null when it is
   * not judged: from its own gaps with a power-up burst dropped (SendOnDelta.cadence, BURST_FRACTION), at least
   * YOUNG_GAPS gaps after the burst, none of them a hole at its interval (a quiet of its own: its gaps varied, and a
   * young stream's varied gaps say too little of its next one), and periodic reporting shown after the burst
   * (SendOnDelta.periodicAfter: a repeated value, or a change under half its median change; a report-on-change
   * sensor whose readings all came on time, each a change, shows neither), and not taken to send changes only
   * (changesOnly: a fast report-on-change sensor's change of δ is under half its median move of 3δ, and a power-up
   * burst's quiet is none at its own pace).
   */
  private youngPace(stream: string): YoungCadence | null {
    const young = this.sendOnDelta.get(stream);
    if (young === undefined || young === null) return null;
    const pace = young.cadence(BURST_FRACTION);
    return pace.gaps >= YOUNG_GAPS && pace.intervalMs > 0 && pace.holes === 0 && young.periodicAfter(pace.burst) && !young.changesOnlyAfter(pace.burst, pace.holes) ? pace : null;
  }

  /**
   * True when the stream, in its learning period, is taken to send changes only (src/pipeline/send-on-delta.ts,
   * SendOnDelta.changesOnlyAfter: none of its readings after a power-up burst repeated the one before, though its values
   * took so few levels, or its changes kept so high a floor, that a periodic stream's would not have, at 1 %): a
   * report-on-change sensor whose value kept changing, its readings so far all on time. Its silence is
   * not judged while it learns (its first quiet is its value settled, which its arrivals cannot tell from a death).
   * False for an unknown stream, one that repeated a value, and one past its learning period.
   */
  changesOnly(stream: string): boolean {
    const test = this.sendOnDelta.get(stream);
    if (test === undefined || test === null) return false;
    const pace = test.cadence(BURST_FRACTION);
    return test.changesOnlyAfter(pace.burst, pace.holes);
  }

  /**
   * How long (ms of the stream's own time) a stream in its learning period may be silent before it is dead, whatever
   * its arrivals judge (judgeSilence): YOUNG_DEAD_AFTER times its heartbeat once its longest own gap recurs
   * (SendOnDelta.heartbeat: a report-on-change sensor's maximum reporting interval, seen twice) and is a quiet of its
   * own (HEARTBEAT_QUIET times its interval at least), else
   * `learningSilenceMs` and LEARNING_SILENCE_GAPS times its longest own gap, whichever is longer (a sparse stream
   * with no heartbeat: never for a quiet of its usual kind). Infinity: past its learning period (judged as any), an
   * unknown stream, one with no own gap or no interval yet (fewer than 3 readings), or neither rule (no heartbeat and
   * learningSilenceMs 0).
   */
  youngDeathMs(stream: string): number {
    const test = this.sendOnDelta.get(stream);
    if (test === undefined || test === null || !this.scorer.learning(stream) || !(test.longestGapMs > 0)) return Number.POSITIVE_INFINITY;
    // No interval yet (fewer than 3 readings): its silence is not judged (judgeSilence), so no young death either.
    const interval = this.cadences.get(stream)?.intervalMs ?? 0;
    if (!(interval > 0)) return Number.POSITIVE_INFINITY;
    const heartbeat = test.heartbeat;
    const byBeat = heartbeat > 0 && heartbeat >= HEARTBEAT_QUIET * interval ? YOUNG_DEAD_AFTER * heartbeat : Number.POSITIVE_INFINITY;
    const horizon = this.opts.learningSilenceMs ?? 0;
    const byHorizon = horizon > 0 ? Math.max(horizon, LEARNING_SILENCE_GAPS * test.longestGapMs) : Number.POSITIVE_INFINITY;
    return Math.min(byBeat, byHorizon);
  }

  /**
   * How far an on/off stream's held-state judgement is (StreamScorer.heldProgress: `have` of the `needed` dwells of
   * its `active` state, 1 or 0, taught before a state held is judged); null for any other stream or an unknown one.
   */
  heldProgress(stream: string): { readonly have: number; readonly needed: number; readonly active: 0 | 1 } | null {
    return this.scorer.heldProgress(stream);
  }

  openAnomaly(stream: string): string | null {
    return this.scorer.openAnomaly(stream);
  }

  /** The stream's open episode that is an alarm with its peak as an event would carry it now, or null (StreamScorer.openPeak). */
  openPeak(stream: string): OpenEpisodePeak | null {
    return this.scorer.openPeak(stream);
  }

  /** Each open episode that is an alarm: id, last reading that held it (epoch ms), length in readings (StreamScorer.openEpisodes). */
  openEpisodes(): IterableIterator<OpenEpisodeProgress> {
    return this.scorer.openEpisodes();
  }

  /**
   * Judges the stream's silence while it lasts (the daemon's housekeeping tick; replay and evaluation never call
   * it: a silence there is judged at its next reading). `arrivedAt`: when the stream's latest reading arrived,
   * `now`: the time now, both epoch ms of one clock (the daemon's wall clock of arrival, as `stale` is judged).
   * The silence is counted in the stream's own intervals: `missed` = round(elapsed / interval) − 1, the steps
   * its next reading would carry were it to come now (Cadence.place), from the earlier of `arrivedAt` and the
   * start of the silence episode already open (silenceSince: one restored from a checkpoint goes on counting
   * from its own start). Judged: a gap (missed > window.resetAfter), and a shorter silence (missed >= 1) once it
   * has lasted longer than `linkMs`, the span within which the daemon cannot tell a sensor's silence from a link
   * that stalls on its way (Daemon.judgeSilences: one and a half MQTT keepalives; a hub's 25 s pause); its
   * rarity decides (StreamScorer.silenceOf: against the stream's arrivals and runs), so a periodic sensor is told
   * a few of its intervals after its death at any interval, and a report-on-change sensor only once its quiet is
   * rare against its own quiet stretches (issue 10: a fixed count of 64 intervals told a 5 min sensor's death
   * 5.5 h late, and never a heartbeat sensor's, its 50 min heartbeat its interval). Without `linkMs` (Infinity)
   * only a gap is judged, as before. A shorter silence not judged while it lasts is filled at its next reading
   * (a report-on-change sensor's "unchanged"). On the stream's clock the silence has reached its latest
   * reading's time plus the elapsed time (plus how late it arrived, when it was the tail of a flushed backfill:
   * flushedLate, the time now on the arrival clock). In the stream's learning period its silence is judged by the same
   * rule once its interval is settled (Cadence.settled: the median of INTERVAL_SAMPLES gaps, 32 readings) and its
   * own quiet could show (OWN_QUIET_READINGS), so a sensor that dies in its first 256 readings is told a few of its
   * intervals after its death, not never (StreamScorer.judgeSilence, `settled`). Not judged (no events, deviation
   * NaN): an unknown stream, an interval not learnt yet, readings of it queued or in a model call, a stream learning
   * with its interval not settled. In its learning period, whatever else: once silent longer than youngDeathMs (five of
   * its heartbeats when its longest gap recurs, else `learningSilenceMs` and ten times its longest gap) it is judged,
   * and told at the threshold at least (StreamScorer.judgeSilence's `deadMs`): a report-on-change sensor taken to send
   * changes only, or whose quiet its arrivals would take days to make rare, is told, not never. See
   * StreamScorer.judgeSilence.
   * @param linkMs ms, >= 0; Infinity (default): only a gap is judged
   */
  judgeSilence(stream: string, arrivedAt: number, now: number, linkMs = Number.POSITIVE_INFINITY): SilenceJudgement & { readonly missed: number } {
    const cadence = this.cadences.get(stream);
    // A young stream judged (silenceJudged, its interval not settled) is counted at its young pace: its own gaps'
    // median after a power-up burst, and its arrivals at that interval (youngPace).
    const young = cadence !== undefined && !cadence.settled && this.scorer.learning(stream) ? this.youngPace(stream) : null;
    const interval = young?.intervalMs ?? cadence?.intervalMs ?? 0;
    const channels = this.engine.channelsOf(stream);
    if (cadence === undefined || !(cadence.intervalMs > 0) || !(interval > 0) || channels === undefined || this.engine.busy(stream) || !Number.isFinite(cadence.latestTs)) return { deviation: Number.NaN, events: [], missed: 0 };
    const since = Math.min(arrivedAt, this.scorer.silenceSince(stream) ?? Infinity);
    const elapsed = now - since;
    const missed = Math.round(elapsed / interval) - 1;
    const judgeable = missed > this.opts.cadence.resetAfter || (missed >= 1 && elapsed > linkMs);
    if (!judgeable) return { deviation: Number.NaN, events: [], missed: Math.max(0, missed) };
    // Its latest reading the tail of a flushed backfill (a history sent minutes after its last reading's time): the
    // silence is judged by the time since that reading arrived, and told on the arrival clock, from its time to now
    // (tryout 31, finding 1: `no reading for 3 min since 17:38` sent at 17:46 with ts 17:41, that reading arrived 17:43).
    const lateMs = this.backfill.flushedLate(stream, cadence.latestTs) ?? 0;
    // In its learning period: from YOUNG_GAPS gaps, not a stream taken to send changes only (silenceJudged); before its
    // interval is settled, only a silence longer than every gap it has shown (its longest: a young stream's gaps are
    // few, and a silence no longer than one it already had is no news of it; with k exchangeable gaps the next exceeds
    // all of them with probability 1 / (k + 1): H. A. David and H. N. Nagaraja, Order Statistics, 3rd ed., 2003, §2.1).
    // And whatever that judges, once silent longer than youngDeathMs (its heartbeat's multiple, or the horizon): dead
    // (tryout 37, finding 6: a report-on-change sensor dead in its learning period was never told).
    const deadMs = this.youngDeathMs(stream);
    const dead = elapsed > deadMs;
    const inLearning = dead || (young !== null ? elapsed > young.longestMs : this.silenceJudged(stream) && (cadence.settled || elapsed > cadence.longestGapMs));
    const judged = this.scorer.judgeSilence(stream, { missed, startTs: cadence.latestTs + interval, ts: cadence.latestTs + elapsed, since, channels, ownQuiet: this.ownQuiet(stream), lateMs, inLearning, ...(young !== null ? { arrivals: young.arrivals } : {}), ...(dead ? { deadMs } : {}) });
    return { ...judged, missed };
  }

  /**
   * Judges an on/off stream's present state between its readings (the daemon's housekeeping tick, beside
   * judgeSilence; StreamScorer.judgeHeld): a door left open on a device that reports on change only is told once it
   * is held longer than its learnt dwells allow, though no reading comes. `arrived`: when the stream's latest reading
   * arrived; `heardFrom`: since when the daemon has heard it (>= arrived: a restart, a reconnection or a saturated loop
   * since moves it later); `now`: the time now, all epoch ms of one clock (the daemon's wall clock of arrival). On the
   * stream's clock the time now is its latest reading's time plus (now − arrived); the state is judged held for the
   * time heard, now − heardFrom, after its latest reading. A latest reading that is the tail of a flushed history (a
   * backfill, a gateway's buffer: flushedLate, the history kept upstream until it arrived) held its state until the
   * flush arrived too: its lateness is added to both, as a silence after it is told from its time (tryout 38, finding
   * 11: a door backfilled open, its last check-in 31 min before the history arrived, told `open for 2.5 h` while open
   * 3 h). Not judged (no events, deviation NaN): an unknown stream, readings of it queued or in a model call, a stream
   * that is not on/off.
   */
  judgeHeld(stream: string, arrived: number, heardFrom: number, now: number): SilenceJudgement {
    const cadence = this.cadences.get(stream);
    const channels = this.engine.channelsOf(stream);
    if (cadence === undefined || channels === undefined || this.engine.busy(stream) || !Number.isFinite(cadence.latestTs)) return { deviation: Number.NaN, events: [] };
    const late = Math.max(0, this.backfill.flushedLate(stream, cadence.latestTs) ?? 0);
    return this.scorer.judgeHeld(stream, { ts: cadence.latestTs + late + Math.max(0, now - arrived), heardMs: late + Math.max(0, now - Math.max(arrived, heardFrom)), channels });
  }

  /** True while the stream's open episode is a silence alarmed while it lasted (judgeSilence): it ends at the stream's next reading. */
  silenceOpen(stream: string): boolean {
    return this.scorer.silenceSince(stream) !== null;
  }

  /** Closes the stream's open episode without an event (the store already resolved it, or never committed it). */
  dropEpisode(stream: string): void {
    this.scorer.dropEpisode(stream);
  }

  /**
   * Drops everything the detector holds for a stream (eviction): its parser slot, cadence, held values,
   * model state (queued readings and those inside a model call discarded, never scored) and score state.
   * Its next reading starts it afresh.
   */
  forget(stream: string): void {
    this.excused.delete(stream);
    this.backfill.forget(stream);
    this.afterHole.delete(stream);
    this.holeShare.delete(stream);
    this.sendOnDelta.delete(stream);
    this.restate.delete(stream);
    this.draining.delete(stream);
    this.recordings.delete(stream);
    this.cadences.delete(stream);
    this.held.delete(stream);
    this.counters.delete(stream);
    this.engine.forget(stream);
    this.scorer.forget(stream);
    this.ports.parser.forget(stream);
  }

  /**
   * The caller could not hear the stream until `untilTs` (epoch ms, on the stream's own clock: the daemon was
   * stopped or its broker connection down, and readings sent meanwhile may have been lost: an embedded broker, a
   * sensor that does not queue). Call it before the stream's next message's readings are queued (on the 'parsed'
   * output). The first gap among its next readings that began before `untilTs` (its previous reading earlier)
   * resets the stream as any gap does but is neither judged nor taught as the stream's silence (its `stuck`
   * evidence, ln(1 + the steps missed)): taught, a 3-minute outage made a 1 Hz stream's later silences of several
   * times that length usual, and a sensor that then died was not alerted in 12 minutes (tryout 12, finding 5).
   * The mark ends with that gap or at the first reading at or after `untilTs` (a later gap is the stream's). A gap
   * whose reading comes more than `window.resetAfter` intervals after `untilTs` is the stream's own silence (the
   * part after the deafness alone is a gap) and is judged and taught whole, as replay does. The daemon only
   * (Daemon.onParsed); replay and evaluation never call it.
   */
  excuseGap(stream: string, untilTs: number): void {
    this.excused.set(stream, untilTs);
  }

  /**
   * Readings missing at their stream's learnt interval inside backfill bursts since the detector was made: readings
   * that arrived late (at least 10 minutes and 4 intervals after their own time) and far faster than their times
   * move, with holes between two messages (src/pipeline/backfill.ts). What was never sent is not told apart from what
   * a broker dropped: both are missing at the stream's interval.
   */
  get backfillMissing(): number {
    return this.backfill.missing;
  }

  /**
   * The backfill bursts that ended with readings missing since the last call (each once): ended by a reading of their
   * stream that was not late, or by no reading of it for 10 s at `now` (epoch ms, the clock of RawMessage.receivedAt;
   * the daemon does not ask while its reads are paused). `all`: end every burst going on first (at stop).
   */
  backfillBursts(now: number, all = false): BackfillBurst[] {
    if (all) this.backfill.endAll();
    return this.backfill.drain(now);
  }

  /**
   * How late (ms) the stream's reading of time `ts` (epoch ms, its newest) arrived when it ended a dense backfill burst
   * (a buffer flushed after an outage) not followed by a reading on time since, else null (BackfillHoles.flushedLate).
   */
  flushedLate(stream: string, ts: number): number | null {
    return this.backfill.flushedLate(stream, ts);
  }

  /**
   * Readings of arrival-stamped bursts since the detector was made: readings stamped on arrival (their time is their
   * message's arrival: a hub that sends none, zigbee2mqtt, ESPHome's plain states, Tasmota without Time) that came
   * within BURST_FRACTION of their stream's interval after the reading before, which ended a hole in the stream or
   * the caller's deafness, or was one of such a burst: a hub's queue flushed at its reconnect (tryout 28, finding 5).
   * Not after the quiet of a stream at an irregular pace of its own (OWN_QUIET_SHARE: a report-on-change sensor).
   * Their values are judged; when they came is not (StepItem.burst).
   */
  get arrivalBurst(): number {
    return this.burstTotal;
  }

  /** Resets the stream's model state at its next chunk (a model was swapped in). */
  resetModelState(stream: string): void {
    this.engine.resetState(stream);
  }

  /**
   * The stream's next reading begins a new recording: its continuity with the readings before is broken (another
   * recording of the same sensor joined after this one, as the evaluation's MSL protocol joins a channel's train
   * and test files; a sensor replaced or restarted). Call it before that reading's message is taken (replay:
   * src/replay/drive.ts, a row marked `newRecording`). The reading is placed as a stream's first reading is
   * (Cadence.restart): it starts a new segment, as the first reading after a gap does, through the same path
   * (`reset`):
   *   - reset: the model's hidden state and its previous prediction (the step engine's reset, as after a gap
   *     or a model swap; its errors count again once the state has settled), the previous reading (no
   *     `change`, `spread` or run across the boundary: the run lengths start over), the short means of the
   *     level and of the model's residual (`shift`, `bias`), the cycles' phase (their profiles start over);
   *   - not counted: the time between the recordings is no silence (no `stuck` evidence of the steps it
   *     missed, nothing filled), and not learnt as a gap between readings;
   *   - kept: the model, the running normalisation, every history of evidence (adaptive and reference, their
   *     calibration), the value histograms, the learnt interval, the learning state, an open episode (judged
   *     by the new recording's readings against the same reference, as after a gap).
   * The new recording's times must come after the previous one's (the parser admits readings in time order, as
   * for any reading). Not checkpointed: a mark not taken by a reading before a restart is lost. The daemon does
   * not call it; a stream that the daemon cannot hear for a while is `excuseGap`'s.
   */
  newRecording(stream: string): void {
    this.recordings.add(stream);
  }

  /**
   * The device the stream belongs to, as its parser keeps it (restored from a checkpoint too): `bedroom` for
   * `bedroom/temperature`, the stream itself for a device's own value; undefined when the parser does not track
   * the stream. Reads only (Home Assistant discovery of the streams restored at start).
   */
  sourceOf(stream: string): string | undefined {
    return this.ports.parser.snapshot(stream)?.source;
  }

  snapshot(stream: string): DetectorStreamState {
    const sendOnDelta = this.sendOnDelta.get(stream)?.toJSON() ?? null;
    const flushed = this.backfill.flushedOf(stream);
    return {
      format: 'anomalyd-detector/1',
      parser: this.ports.parser.snapshot(stream),
      cadence: this.cadences.get(stream)?.toJSON() ?? null,
      held: this.held.has(stream) ? Array.from(this.held.get(stream)!) : null,
      ...(this.counters.has(stream) ? { counter: this.counters.get(stream)!.snapshot() } : {}),
      ...(this.holeShare.has(stream) ? { holeShare: this.holeShare.get(stream)! } : {}),
      ...(sendOnDelta !== null ? { sendOnDelta } : {}),
      ...(flushed !== null ? { flushed: { ts: flushed.ts, late: flushed.late } } : {}),
      engine: this.engine.snapshot(stream),
      scorer: this.scorer.snapshot(stream),
    };
  }

  /**
   * Restores a stream; a part that cannot be restored (other options, malformed) is skipped so that it
   * starts over. Returns one line per skipped part.
   */
  restore(stream: string, state: unknown): string[] {
    const skipped: string[] = [];
    if (typeof state !== 'object' || state === null || (state as { format?: unknown }).format !== 'anomalyd-detector/1') return [`${stream}: not an anomalyd-detector/1 state`];
    const s = state as DetectorStreamState;
    const part = (what: string, fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        skipped.push(`${what} ${stream}: ${(err as Error).message}`);
      }
    };
    // The parser's own state of a stream it already tracks is newer than any checkpoint: a stream revived
    // after its eviction has just had a reading admitted (restoring would move its last time back).
    if (s.parser !== null && this.ports.parser.snapshot(stream) === null) part('parser', () => this.ports.parser.restore(stream, s.parser));
    if (s.cadence !== null) part('cadence', () => this.cadences.set(stream, Cadence.fromJSON(s.cadence, this.opts.cadence)));
    if (Array.isArray(s.held) && s.held.every((v) => typeof v === 'number' && Number.isFinite(v))) this.held.set(stream, Float64Array.from(s.held));
    if (s.counter !== undefined && s.counter !== null) part('counter', () => this.counters.set(stream, CounterTrack.restore(s.counter)));
    if (s.holeShare !== undefined) {
      part('hole share', () => {
        const h = s.holeShare;
        if (typeof h !== 'number' || !(h >= 0 && h <= 1)) throw new Error('holeShare must be a number in [0, 1]');
        this.holeShare.set(stream, h);
      });
    }
    // Absent (written before it, or the test could no longer hold): not tested again (its silence judged as before).
    this.sendOnDelta.set(stream, null);
    if (s.sendOnDelta !== undefined && s.sendOnDelta !== null) part('send-on-delta test', () => this.sendOnDelta.set(stream, SendOnDelta.fromJSON(s.sendOnDelta)));
    if (s.flushed !== undefined && s.flushed !== null) {
      part('flushed history', () => {
        const f = s.flushed as { ts?: unknown; late?: unknown };
        if (typeof f !== 'object' || typeof f.ts !== 'number' || typeof f.late !== 'number') throw new Error('flushed must be { ts, late }');
        this.backfill.restoreFlushed(stream, { ts: f.ts, late: f.late });
      });
    }
    if (s.engine !== null) part('model state', () => this.engine.restore(stream, s.engine));
    if (s.scorer !== null) part('score state', () => this.scorer.restore(stream, s.scorer));
    return skipped;
  }

  /**
   * Halts the detector's scoring for good (a stop whose drain must end: StepEngine.takeAll) and takes what it has not
   * scored: per stream its items in order (those inside a model call, then the queued ones) and the restating of its
   * arrivals due at one of them. From then on the detector emits no further `reading` output, also when a model call
   * of the current round returns later. The streams' snapshots then hold the parser and the cadence past these items
   * and the model and score state before them: a checkpoint written now, restored with the items given back
   * (restoreKept) before any new message, scores each of them exactly once, in order, as without the stop.
   */
  takeKept(): KeptStream[] {
    return this.engine.takeAll().map(({ stream, channels, items }) => {
      const restate = this.restate.get(stream) ?? null;
      this.restate.delete(stream);
      return { stream, channels, items, restate };
    });
  }

  /**
   * What a stream's kept items are judged against before they are given back (src/pipeline/kept.ts, admitKept), as
   * its restored checkpoint has it: `takenTs` the newest time its cadence took in (epoch ms: past the items the stop
   * kept), `channels` those of its model state; each null when the stream has none restored. Reads only.
   */
  keptBounds(stream: string): { readonly takenTs: number | null; readonly channels: readonly string[] | null } {
    const latest = this.cadences.get(stream)?.latestTs;
    return { takenTs: latest !== undefined && Number.isFinite(latest) ? latest : null, channels: this.engine.channelsOf(stream) ?? null };
  }

  /**
   * Gives back the items a stop kept (takeKept, in the run before), after the streams' checkpoints were restored and
   * before any message: each stream's items are queued ahead of its next reading, and scored once the operator runs
   * (at once when it is already subscribed to). Returns how many readings they hold (KeptStream items that are not
   * fills: each gives one `reading` output). The items are taken as they are: read from a store, they pass
   * admitKept (src/pipeline/kept.ts, against keptBounds) first (src/daemon/kept-readings.ts).
   */
  restoreKept(kept: readonly KeptStream[]): number {
    let readings = 0;
    for (const k of kept) {
      for (const item of k.items) {
        this.engine.push(k.stream, k.channels, item);
        if (item.kind !== 'fill') readings++;
      }
      if (k.restate !== null) this.restate.set(k.stream, k.restate);
    }
    if (readings > 0) this.kickKept?.();
    return readings;
  }

  /** Set while the operator is subscribed: starts a round for items queued without a message (restoreKept). */
  private kickKept: (() => void) | null = null;

  /**
   * messages$ -> outputs$. One subscription at a time (the detector's state is shared by design: the
   * daemon has one detector for its one input).
   *
   *   -m1--m2-m3--------|
   *   -p1--p2-p3-r1-r2-r3|      (p: parsed, r: reading; readings after their batch is scored)
   */
  operator(): OperatorFunction<RawMessage, DetectorOutput> {
    return (source) =>
      new Observable<DetectorOutput>((subscriber) => {
        if (this.emit !== null) {
          subscriber.error(new Error('Detector: operator() is already subscribed'));
          return;
        }
        const scheduler = this.ports.scheduler ?? asapScheduler;
        let scheduled = false;
        let running = false;
        let sourceDone = false;
        let closed = false;
        this.emit = (o) => subscriber.next(o);
        const finishIfDone = (): void => {
          if (sourceDone && !running && !scheduled && this.engine.pending === 0) subscriber.complete();
        };
        const run = async (): Promise<void> => {
          running = true;
          try {
            while (!closed && this.engine.pending > 0) await this.engine.round();
          } finally {
            running = false;
          }
        };
        const kick = (): void => {
          if (scheduled || running || closed) return;
          scheduled = true;
          scheduler.schedule(() => {
            scheduled = false;
            run().then(
              () => (this.engine.pending > 0 ? kick() : finishIfDone()),
              (err: unknown) => subscriber.error(err),
            );
          });
        };
        this.kickKept = () => {
          if (this.engine.pending > 0) kick();
        };
        // Items given back before the subscription (restoreKept at a start) are scored first.
        if (this.engine.pending > 0) kick();
        const sub = source.subscribe({
          next: (msg) => {
            this.take(msg);
            if (this.engine.pending > 0) kick();
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            sourceDone = true;
            kick();
            finishIfDone();
          },
        });
        return () => {
          closed = true;
          sub.unsubscribe();
          this.emit = null;
          this.kickKept = null;
        };
      });
  }

  /** Parses one message and queues its readings; a failure is reported, never thrown. */
  private take(msg: RawMessage): void {
    const seq = msg.seq ?? this.seq++;
    let result: ParseResult;
    try {
      result = this.ports.parser.parse(msg);
    } catch (err) {
      this.emit?.({ type: 'error', stage: 'parse', stream: null, seq, detail: describe(err) });
      return;
    }
    this.emit?.({ type: 'parsed', seq, result });
    if (result.kind !== 'readings') return;
    const readings = result.readings;
    for (let i = 0; i < readings.length; i++) {
      const reading = readings[i];
      try {
        this.queue(reading, { seq, index: i }, msg.receivedAt);
      } catch (err) {
        this.emit?.({ type: 'error', stage: 'cadence', stream: reading.sensor, seq, detail: describe(err) });
      }
    }
  }

  /** Places a reading (its message arrived at `receivedAt`, epoch ms) on its stream's cadence and queues its steps (fills first). */
  private queue(reading: Reading, origin: Origin, receivedAt: number): void {
    const stream = reading.sensor;
    let cadence = this.cadences.get(stream);
    if (cadence === undefined) {
      cadence = new Cadence(this.opts.cadence);
      this.cadences.set(stream, cadence);
    }
    if (this.recordings.size > 0 && this.recordings.delete(stream)) {
      // A new recording (newRecording): placed as a first reading; a gap the caller excused belonged to the last one.
      cadence.restart();
      this.excused.delete(stream);
      this.draining.delete(stream);
    }
    const previousTs = cadence.latestTs;
    // A reading not later than the previous one is a duplicate only when it carries that reading's values (a message
    // delivered twice); with others it is a reading of its own that shares the time (Cadence.place: `distinct`).
    // Its values against the previous reading's: held (a report-on-change sensor's heartbeat) or moved. A reading that
    // moved is evidence of the stream's report period (Cadence.place: `moved`, RETIME_READINGS).
    const unchanged = sameAsLast(reading.values, this.held.get(stream), this.counters.get(stream)?.lastSent ?? null);
    const distinct = reading.ts <= previousTs && !unchanged;
    const until = this.excused.size > 0 ? this.excused.get(stream) : undefined;
    // A reading heard after the daemon's deafness (excuseGap) that comes less than half an interval after the
    // previous one (round(gap / interval) = 0: no step of the stream's own apart) came late, in a backlog: the burst
    // a broker delivers from the session's queue at a reconnect, readings that waited in the socket while the loop
    // was saturated. Stamped on arrival (a hub that sends no time: zigbee2mqtt), they are bunched within a fraction
    // of a second, and learnt as the stream's gaps they made its interval a few ms: its next live reading was then a
    // gap of a hundred steps, judged a silence (tryout 18, finding 2: `no reading for 1 s (missing data)` at every
    // restart). They are placed as the steps they are, their gaps not learnt. The backlog holds at most the readings
    // the deafness stood for (its gap over the interval, on the stream's clock at its first reading after it): until
    // that many have come, a pause in the drain (a broker's in-flight window, the daemon's start) does not end it
    // (tryout 19, finding 1: at 2 Hz, 40 to 60 s down, one pause of over 250 ms ended it and the rest of the burst
    // made the interval a few ms); after them, the first reading at least half an interval after the previous does.
    // Readings the broker did not keep (QoS 0) come at their pace: not learnt for as many readings, which changes
    // nothing but the interval's estimate waiting for them.
    let late = false;
    const remaining = until !== undefined ? undefined : this.draining.size > 0 ? this.draining.get(stream) : undefined;
    if (until !== undefined || remaining !== undefined) {
      const interval = cadence.intervalMs;
      const gap = reading.ts - previousTs;
      const left = until !== undefined ? (interval > 0 && gap > 0 ? Math.round(gap / interval) : 0) : (remaining ?? 0) - 1;
      // A reading of its own that shares the previous one's time (`distinct`) is one of the backlog as any that
      // comes less than half an interval after it.
      const moved = gap > 0 || distinct;
      late = interval > 0 && moved && (gap < 0.5 * interval || (until === undefined && left >= 0));
      // A duplicate of the reading before (the same time and values, placed as such) neither counts nor ends it.
      if (moved || until !== undefined) {
        if (late || until !== undefined) this.draining.set(stream, left);
        else this.draining.delete(stream);
      }
    }
    // A reading of a backfill burst (src/pipeline/backfill.ts: late, arriving far faster than its times move, from
    // another message than the reading before): a hole before it is missing at the stream's interval, counted, and
    // not judged as the stream's silence below (tryout 27, finding 6: a broker's queue dropped 7,930 of 50,000
    // readings of a backfill and its 22 h hole opened `missing data`).
    const backfilled = this.backfill.arrived(stream, reading.ts, receivedAt, origin.seq, cadence.intervalMs);
    const place = cadence.place(reading.ts, !late, distinct, !unchanged);
    // An arrival-stamped burst (StepItem.burst; tryout 28, finding 5): a hub that sends no time queued its readings
    // while its broker was away and sends them at the reconnect, each stamped when it arrives, a few ms apart. After a
    // hole (filled steps, a gap) or the caller's deafness, every reading stamped on arrival that comes within
    // BURST_FRACTION of the interval after the one before has no time of its own: the hole already stands for the
    // time it was sent in. The burst ends at the first reading that comes later than that (the stream at its pace).
    let burst = false;
    let holeEnd = false;
    let irregular = false;
    if (!place.duplicate) {
      const stamped = this.ports.stampsOnArrival === true && reading.ts === receivedAt;
      const interval = place.intervalMs;
      const gap = reading.ts - previousTs;
      const quick = interval > 0 && gap >= 0 && gap < BURST_FRACTION * interval;
      const own = place.filled > 0 || (place.reset && place.missed !== undefined);
      // A stream at an irregular pace of its own (OWN_QUIET_SHARE: a report-on-change sensor) keeps quiet and sends
      // changes close together itself: its hole is its value unchanged, not a queue held back, and the reading that
      // ends it and a second change soon after came when the device sent them (a door opened and shut 3 s later):
      // their dwells and runs are judged. The caller's deafness is a hole of ours whatever the stream: a queue may
      // follow it.
      const share = this.holeShare.get(stream) ?? 0;
      irregular = share >= OWN_QUIET_SHARE;
      burst = stamped && quick && this.afterHole.has(stream);
      if (!burst && until === undefined) this.holeShare.set(stream, share + ((own || quick ? 1 : 0) - share) / OWN_QUIET_READINGS);
      const hole = (own && !irregular) || until !== undefined;
      if (stamped && (burst || hole)) this.afterHole.add(stream);
      else this.afterHole.delete(stream);
      if (burst) this.burstTotal++;
      holeEnd = stamped && !burst && place.filled > 0 && hole;
    }
    // Copied by index into a fresh buffer (not Float64Array.from, whose iterator protocol costs more, nor the
    // constructor from an array-like): the same values, each converted to a double as the constructor would.
    const src = reading.values;
    const values = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) values[i] = src[i];
    const held = this.held.get(stream);
    // A one-channel stream may be a cumulative counter (src/pipeline/counter.ts): its total continued across resets.
    let counter: { readonly holds: boolean; readonly reset: { readonly from: number; readonly to: number } | null; readonly frozen: CounterFrozen | null; readonly busy: CounterBusy | null } | null = null;
    // The reading as sent, when the value judged (a counter's continued total) differs from it: reported as sent.
    let sent: number | undefined;
    // An on/off stream (MessageParser.statedOnOff): 1 and 0, judged on its silence only, never a counter (a motion
    // sensor's first 0 → 1 is no meter, nor its 1 → 0 a reset).
    const onOff = values.length === 1 && this.ports.parser.statedOnOff(stream);
    if (values.length === 1 && !onOff) {
      let track = this.counters.get(stream);
      if (track === undefined) this.counters.set(stream, (track = new CounterTrack()));
      // The hub states the stream is a counter (MessageParser.statedCounter): one from this reading on.
      if (!track.declared && this.ports.parser.statedCounter(stream)) track.declare();
      if (place.duplicate) {
        // A duplicate repeats the reading it duplicates (as judged).
        if (track.counter && held !== undefined && held.length === 1) {
          values[0] = held[0];
          const last = track.lastSent;
          if (last !== null && last !== values[0]) sent = last;
        }
      } else {
        const raw = values[0];
        const step = track.observe(raw, reading.ts);
        values[0] = step.value;
        // A meter's own cycle (a utility meter's daily reset: src/pipeline/counter.ts) is told to nobody.
        if (step.counter) counter = { holds: step.holds, reset: step.reset === null || step.reset.cycle === true ? null : step.reset, frozen: step.frozen, busy: step.busy };
        if (step.value !== raw) sent = raw;
      }
    }
    const kind = place.duplicate ? 'duplicate' : 'reading';
    let missed = place.missed ?? 0;
    // A gap the caller excused (excuseGap) carries no silence: it resets the stream, unjudged and untaught. Only
    // when the deafness makes the gap: the reading came back within resetAfter steps of `untilTs` (what follows the
    // deafness alone would be no gap). A sensor silent well beyond it was silent itself (a gap that began before a
    // restart and went on after: the whole of it judged, as replay judges it; test/e2e/parity.test.ts).
    // A short gap (filled: its steps held the previous value) the caller excused is no run of that value either: the
    // daemon did not hear those steps, so a first reading equal to the last before a restart is one repeat, not a
    // run as long as the restart (tryout 15, finding 1: a stuck value opened at every short restart).
    let unheard = false;
    if (backfilled && !place.duplicate && (missed > 0 || place.filled > 0)) {
      this.backfill.holed(stream, missed > 0 ? missed : place.filled, place.intervalMs);
      missed = 0;
      unheard = place.filled > 0;
    }
    if (until !== undefined && !place.duplicate) {
      if ((missed > 0 || place.filled > 0) && previousTs < until && reading.ts - until <= this.opts.cadence.resetAfter * place.intervalMs) {
        missed = 0;
        unheard = place.filled > 0;
        this.excused.delete(stream);
      } else if (reading.ts >= until) this.excused.delete(stream);
    }
    if (place.filled > 0 && held !== undefined && held.length === values.length) {
      const step = place.intervalMs;
      // A counter's steps the daemon did not hear (a restart after a crash restored it from a checkpoint older than
      // its last reading, a broker outage that lost readings) did not hold its total: it counted on through them. Its
      // increment over them is spread evenly across them, so it is judged per interval, as its rate (tryout 28,
      // finding 4: a minute of an energy meter's counting, lost at a kill -9, was told as a `spike` at the restart's
      // first reading). A counter that went up at many times its rate meanwhile is told at these steps; a step back
      // (a reset) is told as before, its fills holding the total.
      const from = unheard && counter !== null && counter.reset === null && values.length === 1 && values[0] > held[0] ? held[0] : null;
      for (let k = place.filled; k >= 1; k--) {
        const fill = from === null ? held : Float64Array.of(from + ((values[0] - from) * (place.filled + 1 - k)) / (place.filled + 1));
        this.engine.push(stream, reading.channels, { kind: 'fill', ts: reading.ts - k * step, values: fill, reset: false, filled: 0, origin });
      }
    }
    // Two literals rather than a spread of a conditional object (one object per reading, not three); a counter's
    // reading carries its marks (src/pipeline/counter.ts).
    let item: StepItem<Origin> =
      missed > 0 && !place.duplicate
        ? { kind, ts: reading.ts, values, reset: place.reset, filled: place.filled, missed, missedFrom: previousTs + place.intervalMs, origin }
        : { kind, ts: reading.ts, values, reset: place.reset, filled: place.filled, origin };
    if (counter !== null) item = counter.reset === null ? { ...item, counter: counter.holds } : { ...item, counter: counter.holds, counterReset: counter.reset };
    if (counter !== null && counter.frozen !== null) item = { ...item, counterFrozen: counter.frozen };
    if (counter !== null && counter.busy !== null) item = { ...item, counterBusy: counter.busy };
    if (onOff) {
      const words = this.ports.parser.onOffWords(stream);
      item = words?.active === 0 ? { ...item, onOff: true, onOffActive: 0 } : { ...item, onOff: true };
      if (words?.alarm === true) item = { ...item, onOffAlarm: true };
    }
    if (onOff && (until !== undefined || late || burst)) item = { ...item, onOffUnheard: true };
    if (burst) item = { ...item, burst: true };
    else if (holeEnd) item = { ...item, holeEnd: true };
    if (unheard) item = { ...item, unheard: true };
    if (irregular) item = { ...item, ownQuiet: true };
    if (place.bunched !== undefined) item = { ...item, bunched: place.bunched };
    if (place.retimed !== undefined && !place.reset) item = { ...item, retimed: true };
    if (sent !== undefined) item = { ...item, sent };
    this.engine.push(stream, reading.channels, item);
    if (!place.duplicate) {
      this.held.set(stream, values);
      // The send-on-delta test while the stream learns (changesOnly), on the values judged; dropped after.
      const test = this.sendOnDelta.get(stream);
      if (test !== null) {
        if (!this.scorer.learning(stream)) this.sendOnDelta.set(stream, null);
        else if (test === undefined) {
          const fresh = new SendOnDelta();
          fresh.observe(values);
          this.sendOnDelta.set(stream, fresh);
        } else {
          // Its own gap (not the caller's deafness, a backfill's, a late backlog's nor an arrival-stamped burst's),
          // from which its young pace is told (SendOnDelta.cadence: a power-up burst dropped).
          const gap = reading.ts - previousTs;
          const before = test.gapsKept === INTERVAL_SAMPLES - 1 ? test.cadence(BURST_FRACTION) : null;
          // Its longest own gaps, all of them while it learns (its heartbeat: youngDeathMs).
          if (until === undefined && !backfilled && !late && !burst) test.noteGap(gap);
          if (until === undefined && !backfilled && !late && !burst && gap > 0 && test.gap(gap) && before !== null && before.burst > 0) {
            // Its gaps now fill the window its interval settles on: the arrivals the scorer learnt counted its first
            // reports at the burst's interval (a 5 min report after a 1 s burst: 299 missed steps, which made every
            // later silence ordinary: a boot-burst device that died after 300 reports was never told). They are
            // restated as its own pace counts them (the gaps before this reading's; the scorer teaches this one).
            this.restate.set(stream, { ts: reading.ts, arrivals: before.arrivals, mostMissed: before.mostMissed });
          }
          if ((place.filled > 0 || place.missed !== undefined) && until === undefined && !backfilled) {
            // It ended a quiet of its own (a hole, not the caller's deafness nor a backfill's): its gaps varied, and its
            // quiet is in its arrivals, which judge its silence once its interval is settled (silenceJudged).
            test.quietShown(values);
          } else test.observe(values);
        }
      }
    }
  }

  /** The engine's result of one reading -> the scorer -> an output. */
  private scoreStep(r: StepResult<Origin>): StepVerdict {
    try {
      if (this.restate.size > 0 && r.item.kind === 'reading') {
        const due = this.restate.get(r.stream);
        if (due !== undefined && due.ts === r.item.ts) {
          this.restate.delete(r.stream);
          this.scorer.restateArrivals(r.stream, due.arrivals, due.mostMissed);
        }
      }
      const { scored, verdict } = this.scorer.score(r, this.ports.learning?.(r.stream, r.item.origin) ?? false);
      // A counter's reading is reported as sent (StepItem.sent), its expectation by the same difference.
      const sent = r.item.sent;
      const shift = sent === undefined ? 0 : r.item.values[0] - sent;
      this.emit?.({
        type: 'reading',
        origin: r.item.origin,
        reading: {
          stream: r.stream,
          ts: r.item.ts,
          channels: r.channels,
          values: sent === undefined ? toArray(r.item.values) : [sent],
          expected: r.expected ? (sent === undefined ? toArray(r.expected) : [r.expected[0] - shift]) : null,
          spread: scored.spread ? toArray(scored.spread) : null,
          score: scored.score,
          surprise: scored.surprise,
          threshold: this.opts.scorer.threshold,
          status: scored.status,
          anomalyId: scored.anomalyId,
          modelId: r.modelId,
        },
        events: scored.events,
        evidence: scored.evidence,
        deviation: scored.deviation,
        deviationEvidence: scored.deviationEvidence,
        channelDeviation: scored.channelDeviation,
        filled: r.item.filled,
        duplicate: r.item.kind === 'duplicate',
        reset: r.item.reset,
      });
      return verdict;
    } catch (err) {
      this.emit?.({ type: 'error', stage: 'score', stream: r.stream, seq: r.item.origin.seq, detail: describe(err) });
      return { exclude: true, rebaseline: false };
    }
  }
}

/**
 * Whether a reading's values (sensor units, as sent) are those of its stream's previous reading: `held` the values it
 * was judged as (a one-channel counter's continued total: src/pipeline/counter.ts), `lastSent` a one-channel stream's
 * value as sent (CounterTrack.lastSent; null when not known). A missing value (NaN) equals a missing one. False when
 * there is no previous reading or its channels differ in number.
 */
function sameAsLast(values: readonly number[], held: Float64Array | undefined, lastSent: number | null): boolean {
  if (values.length === 1 && lastSent !== null) return same(values[0], lastSent);
  if (held === undefined || held.length !== values.length) return false;
  for (let i = 0; i < values.length; i++) if (!same(values[i], held[i])) return false;
  return true;
}

/** Equal numbers, NaN equal to NaN. */
function same(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** A plain copy of a typed array's values (an indexed loop: Array.from's iterator costs several times more per reading). */
function toArray(values: ArrayLike<number>): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
