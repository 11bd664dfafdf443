/**
 * The scoring stage of the detector core: every reading gets its own calibrated score, when it arrives.
 *
 * Evidence, per channel of the reading (docs/SCORING.md has the why and the sources):
 *   prediction      the model's next-step prediction error, from the state carried over every previous
 *                   reading (telemanom's idea, Hundman et al., KDD 2018);
 *   bias            the short mean of the signed prediction residual: the stream keeps being off the
 *                   model's expectation the same way (a recovered episode's residuals are censored out of
 *                   it: censorEpisode);
 *   reconstruction  the seq2seq reconstruction error of the window that ends at this reading, every hop
 *                   readings (Malhotra et al. 2016, arXiv:1607.00148);
 *   level           how far the reading is from the stream's running mean, in running standard deviations;
 *   change          how far the reading is from the previous one (the error of the persistence forecast,
 *                   x[t] = x[t-1]), in the same units: a spike or a step where the level means little, as on a
 *                   random walk, and what a model that cannot follow a stream out of its training range misses;
 *   shift           the short mean of that signed distance: a small departure that lasts;
 *   spread          the short-term noise level against its long-term one, in either direction (a noisy signal
 *                   that freezes, a sudden burst of noise): the short (trimmed) mean of the log squared changes
 *                   against their long-term mean, as a ratio; robust to the few large changes of a switch
 *                   between regimes (a motor that starts), which dominate a mean of squares;
 *   stuck           how many readings in a row have repeated exactly the same value (as ln(1 + run), so
 *                   the tail fitted to it is a power law of the run length: durations have no natural scale),
 *                   judged against the lengths of the stream's runs (the hazard of a run ending): a noisy
 *                   signal that freezes or a value stuck at a sentinel is rare; a signal that is flat by nature
 *                   never is (a run long enough that stuck never called rare is a rest: quietValues, where
 *                   exact repeats are no evidence for spread, and a rest an episode held is taught at its end;
 *                   a run stuck called rare is never taught to its history, opened or not: censored);
 *                   the first reading after a gap judges the silence (ln(1 + the steps it missed)) on its own,
 *                   as the daemon does while it lasts (silenceOf), so a stream that never falls silent and then
 *                   does is caught, in its own intervals; a run
 *                   that began in a busy state away from a rest is at least as rare as the beta-geometric model
 *                   of the stream's runs there makes it (src/pipeline/runs.ts: a noisy state that hardly ever
 *                   repeats a value is caught a few readings into a freeze);
 *   rarity          how little of the stream's normal values lay near its values lately: the short trimmed mean of
 *                   −ln p(value) under a histogram of each channel's normal values (HBOS, Goldstein and Dengel,
 *                   KI 2012; src/pipeline/rarity.ts), bins one typical change wide, a guard band, not taught an
 *                   open episode's own channels: a level in the gap between the modes of a duty cycle or a
 *                   discrete signal, near the mean of a bimodal signal where level says nothing;
 *   cycle           the short (trimmed) mean of the residual against the channel's cycle profile (its period from
 *                   its own autocorrelation, in readings; the profile a Holt-Winters seasonal component;
 *                   src/pipeline/cycle.ts): a level shift on a cyclic signal, which the cycle's amplitude hides from
 *                   level and shift, rarity sees only at the top of each cycle, and a model driven by its input
 *                   follows within a few readings; floored at the threshold while the level drifts off a long
 *                   cycle (src/pipeline/drift.ts), whether the kind speaks yet or not.
 * The last seven need no model, so a stream is scored from its first minutes with or without one. The short
 * means (the last `smooth` readings) follow the anomaly likelihood's short average (Ahmad et al.,
 * Neurocomputing 2017) and telemanom's smoothed errors. They are boxcars (src/pipeline/boxcar.ts) of
 * shortSpan(smooth) = 2·smooth − 1 readings (as noisy as an exponential mean of weight 1/smooth), not
 * exponential means, so a fault's readings leave them that many readings after it ends and its alarm outlives
 * it by at most that plus `closeAfter` readings, however extreme the fault was; spread's short mean (of log
 * squared changes) leaves out the two largest and the two smallest values it holds (a symmetric trimmed
 * mean), so a spike or a step, which are one or two changes, is not taken for a change of the noise level.
 *
 * Calibration. Each kind of evidence of each channel is judged against that channel's own history of it
 * (src/pipeline/tail.ts: empirical where the history has data, an extreme-value tail beyond): its surprise
 * is -log10 of the probability of evidence at least this strong. The reading's surprise is the largest of
 * them less log10 of how many spoke (Bonferroni), and its score is 1 - 10^-surprise. Surprise never
 * saturates, so a real event stays separable from normal bumps however extreme both are.
 *
 * Two histories per kind and channel:
 *   adaptive   every reading but a fault's, memory `adaptiveHorizon` readings: what the stream has lately
 *              been doing. The reading's score is judged against it, so the score is high when something
 *              new starts and fades as a lasting change becomes familiar: high scores are sparse, at onsets.
 *              A reading that opens an episode or holds it open (below) is not taught to it in the
 *              episode's channels (the episode's row score is judged by the episode itself, below): a fault
 *              is not what the stream has lately been doing, so normal behaviour that comes back after a
 *              long fault (noise after a freeze, the real temperature after a stuck sentinel) is not scored
 *              as something new, and a later fault like it is not ordinary. The episode's other readings
 *              (its after-effects, below the hold threshold) are taught, so they do not open a new episode
 *              when it resolves; and when an episode becomes the new normal its readings are taught to it,
 *              as to the reference.
 *   reference  normal readings only, memory `horizon`: what normal was before any open episode. It
 *              decides whether an open episode goes on. A value that would hold an episode open (its
 *              surprise reaches the hold threshold) is not taught to it either, open episode or not, so a
 *              change that comes gradually is caught rather than learnt as it comes (the censoring of
 *              robust streaming estimators: SPOT, Siffer et al. KDD 2017, leaves the alarms out of its tail
 *              fit). The values in its guard band when an episode opens are dropped in the episode's channels:
 *              they are the fault's onset. Readings known to be normal teach it unconditionally.
 * Until the stream's running normalisation has warmed up (StepResult.warm), level and shift say nothing:
 * distances measured in a normalisation of a handful of readings are not evidence, and would stay in the
 * histories. (Change and spread are measured in the stream's own changes, in sensor units.)
 *
 * Episodes, counted in readings. An episode opens at `openAfter` consecutive readings whose score or
 * deviation (surprise against the reference) reaches the threshold. It is about the channels that reached
 * the threshold on their own (its owners); a channel whose own score reaches the threshold while it is open
 * joins them (a fault that spreads, or starts under an episode that was about something else). While open,
 * a reading whose deviation in an owner channel reaches the hold threshold (threshold - `holdMargin`) keeps
 * it going; it resolves after `closeAfter` consecutive readings below. The owners' readings of an open
 * episode stay out of the reference (and the stream's out of the running normalisation), so a lasting fault
 * keeps its episode open; the other channels go on teaching theirs, so a slow channel that drifts while a
 * fast one is faulty (a temperature while a valve is shut) is not off against a reference frozen before the
 * fault when the fault ends. After `newNormalAfter` readings a lasting change is the new normal: the
 * episode resolves, its readings are taught to the reference, and the normalisation re-baselines on the
 * latest readings (no blind re-learning period). A stream stuck on one value is a fault, never a new
 * normal: the new-normal count restarts at every stuck reading of the episode (and so do the readings it
 * would teach), so a stuck value that ends is not declared the new normal on its first reading after the
 * fault (which would re-baseline the normalisation on the stuck value and blind the stream); the episode
 * then resolves as any other, and only a change that lasts `newNormalAfter` readings unstuck is a new
 * normal. So is a level still drifting away from everything an owner channel had shown (its told level excursion
 * still growing, src/pipeline/excursion.ts): the count restarts while it grows, so the new normal is the level it
 * settled at. Readings known to be normal (a model's training rows) and a new stream's first `learnReadings`
 * teach both histories unconditionally and open no episode.
 *
 * The row score within an episode. What an open episode has already reported is not new: while it is open,
 * an owner channel's reading scores only when it is rarer than anything the episode has scored so far
 * (`score` is then the surprise against the adaptive history, which would otherwise stay high for as long as
 * the adaptive history takes to learn the change); other channels score as usual. High row scores are then
 * sparse: at an onset, when a fault worsens tenfold, and when something else starts. Streaming benchmarks
 * charge every high row outside an event's window (Lavin and Ahmad, "Evaluating real-time anomaly detection
 * algorithms - the Numenta Anomaly Benchmark", ICMLA 2015).
 */
import type { AnomalyEvent } from '../contract/types.js';
import type { StepResult, StepVerdict } from './steps.js';
import { Boxcar, type BoxcarState } from './boxcar.js';
import { ValueHistogram, type ValueHistogramState } from './rarity.js';
import { CycleProfile, type CycleState, UNDONE_ONSET } from './cycle.js';
import { CycleDrift, type DriftState } from './drift.js';
import { LevelExcursion, type ExcursionState } from './excursion.js';
import { KeptEvidence, type PackedEvidence } from './kept-evidence.js';
import { VisitMemory, type VisitMemoryJson } from './visits.js';
import { ARRIVAL_STATE, arrivalSurprise, arrivalsKnown, teachArrival } from './arrivals.js';
import { RUN_STATE, busyRun, noteStep, recentRunSurprise, restartRun, runSurprise, teachRun } from './runs.js';
import { DwellTracker, OnOffDwell, normalTailSurprise, type DwellSnapshot, type OnOffDwellSnapshot } from './dwell.js';
import { MAX_SURPRISE, TailCalibrator, logError, type LogPrior, type SurpriseOut, type TailOptions, type TailState } from './tail.js';

/**
 * A silence of a stream that keeps quiet on its own (a report-on-change sensor) longer than this many times its longest
 * quiet before (StreamScore.quietest: its heartbeat, once seen) has missed a heartbeat: its runs judge it as well as its
 * arrivals (StreamScorer.silenceOf). Twice: the next heartbeat did not come.
 */
export const QUIET_BEYOND = 2;

/**
 * The longest quiet of a stream that keeps quiet on its own (StreamScore.quietestMs) is its heartbeat, a bound it keeps,
 * once it has held for this many times its own length of the stream's data time (no longer quiet in all that: room
 * for that many more of it). Measured (BENCHMARKS.md, branch rocdead) on a 0.5 °C room sensor with a 50 min heartbeat
 * read every 5 s, 10 s, 1 min, 5 seeds: at 6 three first-day quiets opened `missing_data` (a longest quiet of minutes
 * that had held for half an hour), at 12 and 18 none, at 24 one 2 h death at 10 s was not told.
 */
export const HEARTBEAT_HELD = 12;

/**
 * A stream that keeps quiet on its own with a heartbeat (HEARTBEAT_HELD) is silent, whatever its runs and arrivals
 * judge, once its silence (data time since its latest reading) is longer than this many heartbeats: two heartbeats
 * missed, as a zigbee2mqtt user expects "sensor silent" (its availability feature's timeout is of that order). Not 2:
 * one heartbeat message lost (MQTT QoS 0) is a silence of two heartbeats, and a heartbeat timer's jitter (10 % here)
 * must not turn that into a death. StreamScorer.silenceOf.
 */
export const DEAD_AFTER = 2.2;

export const EVIDENCE = ['prediction', 'bias', 'reconstruction', 'level', 'change', 'shift', 'spread', 'stuck', 'rarity', 'cycle'] as const;
/** The kinds of an anomalyd-scorer/4 checkpoint (before rarity), in its order. */
const EVIDENCE_V4 = EVIDENCE.slice(0, 8);
/** The kinds of an anomalyd-scorer/5 checkpoint (before cycle), in its order. */
const EVIDENCE_V5 = EVIDENCE.slice(0, 9);
export type Evidence = (typeof EVIDENCE)[number];

export interface ScorerOptions {
  /** Which model errors count: reconstruction, prediction or both (the model-free evidence always counts). */
  readonly mode: 'reconstruction' | 'prediction' | 'both';
  /** Score threshold in [0.5, 1): anomalous at or above. As surprise: -log10(1 - threshold). */
  readonly threshold: number;
  /** The hold threshold is this much surprise below the threshold (hysteresis). */
  readonly holdMargin: number;
  /** Consecutive readings at or above threshold that open an episode. */
  readonly openAfter: number;
  /** Consecutive readings below the hold threshold that resolve it. */
  readonly closeAfter: number;
  /** An episode open this many readings is the new normal (0 = never). */
  readonly newNormalAfter: number;
  /** Readings of history before a stream may alert. */
  readonly learnReadings: number;
  /** Memory of the reference histories (normal operation only), readings. */
  readonly horizon: number;
  /** Memory of the adaptive histories (every reading), readings. */
  readonly adaptiveHorizon: number;
  /** Horizon (readings) of the short means behind shift, bias and spread. */
  readonly smooth: number;
  /** Readings between reconstructions (the model stage's hop), to size the reconstruction histories. */
  readonly reconEvery: number;
  /** Kinds of evidence that count (default all). */
  readonly evidence?: readonly Evidence[];
  /**
   * The kinds' warm-up, readings (src/pipeline/learning-period.ts kindsWarmUp: 159 with the shipped model.normWarmup
   * 32 and score.smooth 16): until a stream has seen this many, its learning period waits for each of `level`,
   * `change`, `shift` and `spread` to hold MIN_HISTORY values, started or not (StreamScorer.waitedFor), so a
   * learnReadings shorter than it never ends learning before they have started. Default 0: only the kinds that
   * have started are waited for.
   */
  readonly kindsWarmUp?: number;
}

/**
 * A model's priors for its errors, from its validation data: mean and std of log10 of the squared error.
 * They seed a stream's prediction and reconstruction histories when its scoring state is created and when
 * another model takes the stream over (StreamScore.newModel: the model-error histories start over); a
 * restored state does not re-seed them.
 */
export interface ModelPriors {
  readonly prediction: { readonly mean: number; readonly std: number } | null;
  readonly reconstruction: { readonly mean: number; readonly std: number } | null;
  /**
   * `bias`'s: mean and std of log10 of the square of the mean of `span` consecutive signed residuals (in the
   * stream's std) on the validation data (Calibration.bias). Measured over a span other than score.smooth it is
   * moved by log10(span / smooth): a mean of independent residuals has a variance inversely proportional to its
   * length. Absent or null: the bias histories start without one (a model trained before it was measured).
   */
  readonly bias?: { readonly mean: number; readonly std: number; readonly span: number } | null;
}

/** One scored reading. */
export interface ScoredStep {
  /** Surprise against what the stream has lately been doing: -log10(1 - score); 0 while the stream is learning (status learning). */
  readonly surprise: number;
  readonly score: number;
  /** Surprise against normal operation before any open episode (what holds an episode open). */
  readonly deviation: number;
  /** Per kind of evidence, the largest surprise over channels (NaN when the kind said nothing). */
  readonly evidence: Readonly<Record<Evidence, number>>;
  /** The same against normal operation. */
  readonly deviationEvidence: Readonly<Record<Evidence, number>>;
  /** Per channel, the largest deviation over kinds: each channel's share of the anomaly. */
  readonly channelDeviation: readonly number[];
  readonly status: 'learning' | 'ok' | 'anomalous';
  readonly anomalyId: string | null;
  readonly events: AnomalyEvent[];
  /** One normal standard deviation of the prediction around `expected`, sensor units, one per channel (null without a model). */
  readonly spread: readonly number[] | null;
}

/** Evidence of one reading: per kind, one value per channel, or null when the kind has nothing to say. */
type EvidenceValues = Record<Evidence, Float64Array | null>;

const PRIOR_WEIGHT = 32;
/** Log squared changes left out of spread's short mean at each end: a spike's two, or a step's one. */
const SPREAD_TRIM = 2;
/** Residuals against a cycle's profile are winsorised at this many long-term standard deviations when learnt. */
const CYCLE_CLIP = 3;

/**
 * Channel c's long-term standard deviation of the residual against its cycle, once `smooth` residuals were learnt
 * (0 before: no scale yet).
 */
function cycleScale(s: StreamScore, c: number, smooth: number): number {
  return s.cycCount[c] >= smooth && s.cycVar[c] > 0 ? Math.sqrt(s.cycVar[c]) : 0;
}
/** A record run is taught again each time it grows by this factor (about one bin of the tail histogram). */
const RECORD_STEP = 1.25;
/** StreamScore.learnFrom while a stream flat through its learning period has not moved yet. */
const NOT_MOVED = Number.MAX_SAFE_INTEGER;

interface Episode {
  readonly id: string;
  /** When it opened, or when it became an alarm (a silent episode's promotion); epoch ms. */
  startTs: number;
  /** Its last reading that held it (epoch ms), by any kind of evidence (a short mean's, a window's too). */
  lastAboveTs: number;
  readings: number;
  /**
   * `readings` at its latest reading that was off on its own (END_KINDS in an owner channel at the hold level against
   * normal operation: lifecycle), and that reading's time (epoch ms): where its end is told while the readings that
   * held it after that one are within the short means' span of it (toldEnd). Absent: none (or a checkpoint written
   * before they were kept: its end is lastAboveTs). Checkpointed with it.
   */
  ownAt?: number;
  ownTs?: number;
  /**
   * Per owner channel at its opening: the value of the reading before its first (NaN: none in the segment), what a
   * change back towards it undoes (offOnOwn). Absent (a checkpoint written before it was kept): every change counts.
   */
  pre?: number[];
  /**
   * Per channel: the sum of the values of its readings off on their own by a kind judged on them ([0, C)), and how many
   * ([C, 2C)): the fault's mean value (offOnOwn). Absent: none yet.
   */
  fault?: number[];
  /** Its latest reading was off on its own (offOnOwn). Absent: false. */
  ownPrev?: boolean;
  /**
   * Per channel: its readings as they came (sensor units; a missing value repeats the one before it), oldest first:
   * the first UNDONE_ONSET and the last shortSpan(smooth), those between dropped (noteCame). What a step that was not
   * undone is judged by (CycleProfile.unreturned), where the cycle's ring holds them as its profile expected them.
   * Absent (a checkpoint written before they were kept): the ring's held readings. Checkpointed with it.
   */
  came?: number[][];
  /**
   * The cycles' held steps from its first reading to its latest, both included (CycleProfile.advance: a reading and
   * the filled steps before it, its onset's own fill left out; a bunched reading adds none): the lag, in held steps,
   * that CycleProfile.unreturned judges the step over. A stream without gaps has one a reading (`readings`); a
   * report-on-change sensor's held value fills the steps it did not send (tryout 29, finding 2: judged over its 57
   * readings, not its 300-odd steps, the step's onset was put among its own readings and nothing held a 6 h +4 °C
   * fault past them). Absent (a checkpoint written before it was kept): `readings`. Checkpointed with it.
   */
  steps?: number;
  peak: number;
  peakEvidence: Record<Evidence, number>;
  peakChannels: number[];
  lastReported: number;
  /** `readings` at the episode's last event (open, promotion, update): an update waits until they have doubled. */
  reportedAt: number;
  /** Channels the episode is about (their deviation opened it); null = all. */
  /** Per channel: the episode is about it (it opened the episode, or joined while open). */
  readonly owners: boolean[];
  /** Largest row score (surprise) of the episode so far. */
  rowPeak: number;
  /** `readings` at the episode's last stuck reading (0: never stuck): the new-normal count starts there. */
  stuckAt: number;
  /**
   * `readings` at the episode's last reading at which an owner channel's told level excursion was still growing
   * (stillDrifting; absent: never): the new-normal count starts there too. Checkpointed with it.
   */
  grownAt?: number;
  /**
   * Opened on the recent history alone (the adaptive score at the threshold while the reference, normal
   * operation, was below the hold level): the scorer treats it as any episode (what it teaches, the row
   * score, a new normal) but it is not an alarm: status ok, no anomaly id, no events. It becomes one (an
   * `open` event then) at a reading whose reference surprise reaches the threshold.
   */
  silent: boolean;
  /**
   * Readings of a silent episode before it became an alarm (its `open`, which moves its start to the reading that
   * made it one): not counted in its length as told (heldReadings). Absent: 0. Checkpointed with it.
   */
  uncounted?: number;
  /**
   * Present on an episode opened while its stream was silent (StreamScorer.judgeSilence): a missing-data alarm
   * that has no reading of its own. `since`: when the silence began on the caller's clock (the daemon's wall
   * clock of its last reading's arrival, epoch ms), so that its length goes on from there after a restart. It
   * resolves at the stream's next step (score), which does not judge that silence again.
   */
  silence?: { readonly since: number };
  /** A state held far longer than the stream's dwells there holds it (AnomalyEvent.held; the latest such reading's). */
  held?: { readonly channel: number; readonly since: number; readonly longestMs: number; readonly level?: number };
  /** An on/off stream's alarm state holds it (AnomalyEvent.alarm: a leak since `since`, its reading `level`). */
  alarm?: { readonly since: number; readonly level: number };
  /**
   * A level excursion beyond everything the channel had shown (src/pipeline/excursion.ts) opened or held it
   * (AnomalyEvent.excursion): the first such channel's, as noted then. Kept once noted; checkpointed with it. Or a drift
   * of the level off a long cycle (src/pipeline/drift.ts, with `expected`, `value`, `at`): noted again as it goes
   * further, and replaced by a level excursion's once one is told (noteHeld).
   */
  excursion?: AnomalyEvent['excursion'];
  /** A counter's rate far above anything seen opened or held it (AnomalyEvent.counterRate): its largest; checkpointed with it. */
  counterRate?: { readonly perHour: number; readonly usualPerHour: number };
  /** A counter counting without a rest far longer than ever opened or held it (AnomalyEvent.counterBusy): its latest; checkpointed with it. */
  counterBusy?: NonNullable<AnomalyEvent['counterBusy']>;
  /**
   * A cumulative counter's first move after a hold that `stuck` called rare (judgeCounter: a meter that stopped
   * counting, then counted its backlog at once): the increment (sensor units, > 0) and the steps it is timed over,
   * the held ones and the reading's own (AnomalyEvent.catchUp). Checkpointed with it. Absent: none.
   */
  catchUp?: { readonly amount: number; readonly steps: number };
  /**
   * Per channel, noted at its opening: its first reading fell back from the channel's open level excursion into the
   * envelope it had left (LevelExcursion.fellBack, from the reading before it): the step undid a drift beyond
   * everything shown, so it is not held as a step that was not undone (CycleProfile.unreturned). Absent: none (or a
   * checkpoint written before it was kept). Checkpointed with it.
   */
  fellBack?: boolean[];
  /**
   * Per channel, PLATEAU_FIELDS numbers (PlateauField) of the plateau the channel holds in the episode (notePlateau):
   * blocks of the short means' span whose means stay within PLATEAU_BAND of the plateau's first block's noise of
   * that first block's mean, with the noise within ×PLATEAU_NOISE of it. Absent: none noted (a checkpoint written
   * before it was kept: noted from the next reading on). Checkpointed with it (NaN written as null).
   */
  plateau?: number[];
}

/**
 * [kind][channel] histories. A kind's row is null until the kind is first taught (or has a prior): a fresh
 * history says nothing, so a null row scores exactly as one (a stream without a model never feeds prediction,
 * bias or reconstruction, and a stream of one reading feeds nothing; 10,000 such streams are 160,000 objects
 * fewer).
 */
type Histories = (TailCalibrator[] | null)[];
/** The kinds of evidence made of a model's errors: their histories start over when another model takes a stream over. */
const MODEL_KINDS: readonly Evidence[] = ['prediction', 'bias', 'reconstruction'];

/** Per-stream scoring state. */
class StreamScore {
  /** [kind][channel] histories of normal operation only. */
  readonly reference: Histories;
  /** [kind][channel] histories of every reading. */
  readonly adaptive: Histories;
  /**
   * Evidence of the open episode's readings (at most newNormalAfter): what a new normal teaches the histories. One
   * buffer (src/pipeline/kept-evidence.ts), kinds in EVIDENCE's order; released when the episode ends.
   */
  readonly episodeEvidence: KeptEvidence;
  /**
   * Rare steps to a familiar value waiting for the readings that tell whether the stream stayed there (teachSteps),
   * or, held while an episode is open, for its end (settleSteps).
   */
  steps: StepCandidate[] = [];
  /**
   * Steps that held, of episodes that came back to where the step left (settleSteps), not taught: the next such step
   * of the channel teaches them with its own (a step taken again and again is how the stream moves). Oldest first, at
   * most STEPS_BACK_KEPT per stream.
   */
  stepsBack: StepCandidate[] = [];
  /** Rests (quietValues) the open episode held, to be taught when it resolves (noteRest, teachRests). */
  rests: RestHeld[] = [];
  /**
   * The visits of episodes that came back (src/pipeline/visits.ts: a recurring bump reached by a walk, taught once
   * CONFIRM alike came; teachVisits), and the open episode's visit so far. Null until an episode's first reading of
   * a judged stream (a stream that never alarms costs nothing). Checkpointed.
   */
  visits: VisitMemory | null = null;
  /**
   * [channel, value] of the levels an episode came back to (teachRests) with its rests then not taught: the next
   * episode back at one of them teaches its rests (a level visited again and again is normal). Newest last, at most
   * CAME_BACK_KEPT.
   */
  cameBack: [number, number][] = [];
  /**
   * Set-point switches the stream has shown (noteSwitch): episodes that recovered after an owner channel held a
   * plateau away from its level before the episode for at least PLATEAU_SPANS short spans and came back to that
   * level. Once the stream has shown one, a plateau held as long is its new normal (plateauNormal). Checkpointed.
   */
  setpoints = 0;
  seen = 0;
  /**
   * The model segment's step (StepResult.segmentSteps) of the latest reading of an episode that was off on its own
   * (OWN_KINDS against normal operation, in an owner channel: markOwnOff); 0 for none in this segment. A
   * reconstruction whose window holds it is about that reading, which its episode judged (windowHoldsJudged). Not
   * checkpointed: a restart starts the model's segment over.
   */
  ownOffStep = 0;
  /** The latest reading's reconstruction error is of a window that holds such a reading (windowHoldsJudged; set by every reading). */
  reconJudged = false;
  /** Readings in a row of the open episode back within the normal range (judgeOut). */
  backRun = 0;
  /** Readings in a row of the open episode beyond the normal range (judgeOut). */
  outRun = 0;
  /**
   * The open episode has been beyond the normal range for `score.smooth` readings in a row (outRun counts them): its
   * readings back within that range, once they are back for as many, teach the running normalisation again and restart
   * the model (judgeOut). False while no episode is open. Checkpointed with backRun and outRun (outRuns).
   */
  episodeOut = false;
  /**
   * The open episode's readings beyond the normal range, per channel (judgeOut): [0, C) the sum of their signed z
   * (running standard deviations from the running mean), [C, 2C) how many; the fault's side and size, which a
   * reading back must be nearer the normal than. Null while none (no episode open, or none of its readings beyond).
   * Checkpointed (outRuns.z).
   */
  outZ: Float64Array | null = null;
  /**
   * The stream is a cumulative counter (src/pipeline/counter.ts; StepItem.counter of its latest reading): it repeats
   * its value for as long as nothing is consumed, so `stuck` judges only its silences (evidence), not its runs.
   */
  counter = false;
  /**
   * A counter's rate (judgeCounter): the largest mean increment of its total per step (sensor units per the stream's
   * own interval) taught so far, how many readings came at no less than 1 / COUNTER_RATE_FAR of it (a rate it keeps
   * while it consumes), and the largest rate of the open episode's readings judged far above it, taught only when
   * the episode ends as the new normal (0: none). Checkpointed (counterRate).
   */
  rateMax = 0;
  rateRises = 0;
  rateHeld = 0;
  /**
   * A counter's latest shortSpan(smooth) readings (judgeCounter): each one's increment (sensor units), the steps it
   * took (1 + the steps a gap filled) and the time since the reading before (ms; 0: not known), flat. Checkpointed
   * (counterRate.incs).
   */
  rateIncs: number[] = [];
  /** The time of a counter's previous reading (epoch ms; NaN: none, or restored from a checkpoint) and its rate and largest rate per hour as last judged far (sensor units per hour; not checkpointed: set by each reading judged far). */
  rateTs = Number.NaN;
  ratePerHour = 0;
  usualPerHour = 0;
  /** Per channel: the `change` surprise floor of a counter's rate far above anything seen (0: none; set by every reading). */
  readonly rateFloor: Float64Array;
  /**
   * A one-channel stream's latest reading moved after a run of one value that `stuck` called rare: that run's length
   * in steps (StreamScore.run as it ended: its first reading, the readings that repeated it and the filled steps among
   * them), else 0 (judgeCounter: a counter's catch-up after a hold; not checkpointed: set by every reading).
   */
  rareRunEnded = 0;
  /** The catch-up judgeCounter found at the latest reading (Episode.catchUp), or null (not checkpointed: set by every reading). */
  caughtUp: { readonly amount: number; readonly steps: number } | null = null;
  /**
   * The stream's readings are on/off, 1 and 0, as its hub states (StepItem.onOff of its latest reading): judged on its
   * silence only (see onOffOnly), and its learning period is its first learnReadings readings, moved or not.
   */
  onOff = false;
  /**
   * An on/off stream's dwells in its active state, in time (src/pipeline/dwell.ts, OnOffDwell): a door held open far
   * longer than it has ever been floors `stuck` (runFloor), told as a state held (Episode.held).
   */
  onOffDwell = new OnOffDwell();
  /**
   * `seen` at which the stream's learning period starts: 0, or, for a stream that did not move through a whole
   * learning period of its own (every reading the same, none known normal: a lux sensor installed at night,
   * a sensor that came alive), the reading it first moved at (NOT_MOVED until then; see learningOf).
   */
  learnFrom = 0;
  /** True once a reading of the stream was known normal (learnt with --learn-first): no restart of learning. */
  knownNormal = false;
  /** True once a reading differed from the one before it (any channel). */
  moved = false;
  last: Float64Array | null = null;
  /**
   * Per channel: the log squared changes of the last shortSpan(smooth) readings (spread's short mean, a boxcar);
   * the long exponential means of the log squared change (spread) and of the squared change (change, and
   * spread's floor); and the count of changes.
   */
  readonly shortLog: Boxcar;
  readonly longLog: Float64Array;
  /**
   * Per channel, the long-term mean of the log squared change without the exact repeats at a value the channel
   * rests at (quietValues): spread's noise level. longLog (with them) stays what rarity's bin width follows.
   */
  readonly restLog: Float64Array;
  /**
   * Per channel, the switches' typical change (src/pipeline/dwell.ts: a switch is SWITCH of them), as ln of its
   * square: the mean of the log squared changes that restLog learns, the same ones, but a cumulative mean over them
   * (weight 1 / switchCount, down to 1 / horizon), not over every reading the stream had (restLog's 1 / varCount).
   * Weighted by the readings, a channel that rested at 0 W for 2,500 readings and then switched to 1,800 W took that
   * one switch for its typical change for a horizon (each later change weighed 1/2,500): 1,725 W, against which no
   * switch of the stream was one (tryout 31's kettle). Kept apart from restLog, which spread judges against (made a
   * cumulative mean too, it added a false alarm on SKAB's valve1/9: BENCHMARKS.md, branch `kettle`). Absent from a
   * checkpoint written before it: restLog, weighted by the readings (switchCount: the readings, up to horizon).
   */
  readonly switchLog: Float64Array;
  readonly switchCount: Float64Array;
  readonly longVar: Float64Array;
  /**
   * Per channel, the sums of ln(change²) and change² and their count over the open episode's readings that
   * the long-term variability did not learn (the episode's own channels): what a new normal's variability is
   * (adopted when the episode becomes the new normal, so a lasting change of noise level is not flagged again
   * at once), cleared when the episode ends or is stuck.
   */
  readonly epLog: Float64Array;
  readonly epVar: Float64Array;
  readonly epCount: Float64Array;
  /** False while epLog, epVar and epCount are all +0 (cleared): clearing them again is skipped. */
  epDirty = false;
  varCount = 0;
  /** Per channel: run of identical values. */
  readonly run: Float64Array;
  /**
   * Per channel: the stream's resolution, the smallest change other than 0 it has made (sensor units; 0 before its
   * first): an exact repeat of a quantised stream is a change below it, not no change (spread's floor).
   */
  readonly step: Float64Array;
  /** Per channel: the longest run taught so far (a lasting run that beats it is taught as it goes, in learning or at a rest). */
  readonly longest: Float64Array;
  /** Per channel: 1 once the reference stuck surprise of the current run reached the hold level (the run is not the stream's ordinary rest). */
  readonly runRare: Float64Array;
  /** Per channel: the values the stream rests at (quietValues): exact repeats there are no evidence of a noise level. */
  quiet: QuietValue[][];
  /**
   * Per channel, RUN_STATE numbers at c * RUN_STATE: the model of runs in a busy state away from a rest
   * (src/pipeline/runs.ts): the moments of such runs that ended (forgotten with `horizon`), the share of recent
   * repeats, and whether the current run began busy.
   */
  readonly runModel: Float64Array;
  /**
   * The stream's arrivals (src/pipeline/arrivals.ts, ARRIVAL_STATE numbers): the moments of the steps missed before
   * each reading that arrived (forgotten with `horizon`), against which its silences are judged with its runs.
   */
  readonly arrivals: Float64Array;
  /**
   * The longest quiet taught to `arrivals`, in the stream's steps (the most steps missed before a reading that arrived,
   * a rare silence's censored): how long it has gone quiet on its own (a report-on-change sensor's heartbeat). Never
   * forgotten (as `longest`).
   */
  quietest = 0;
  /**
   * The longest quiet taught to `arrivals`, ms of data time (a reading's time less the one that arrived before it):
   * `quietest` on the stream's clock, which a learnt interval that moves (a report-on-change sensor's median gap) does
   * not rescale. Never forgotten.
   */
  quietestMs = 0;
  /**
   * When `quietestMs` was last raised (epoch ms of data time, the reading that ended that quiet; NaN before): once it
   * has held for HEARTBEAT_HELD times itself, it is the stream's heartbeat (silenceOf).
   */
  quietestAt = Number.NaN;
  /** The time of the stream's latest reading that arrived (epoch ms of data time; NaN before the first): its silence's start. */
  lastArrival = Number.NaN;
  /** Per channel: the current run's surprise under runModel's model of runs (0 at a rest, after a gap; not checkpointed: set by every reading). */
  readonly runFloor: Float64Array;
  /**
   * Per channel: the most `stuck` may say of the current run, from how often the latest readings before it took its
   * value (runs.ts recentRunSurprise; +Infinity where they never did; not checkpointed: set by every reading).
   */
  readonly runCeiling: Float64Array;
  /** The latest shortSpan(smooth) readings' values (not a mean: runCeiling counts how often they took a run's value). */
  readonly recentValues: Boxcar;
  /**
   * Per channel: 1 when the latest reading's value is one this discrete channel has never taken, by the margin of
   * its own levels (ValueHistogram.novel): its `level` evidence counts without the Bonferroni share (fuse). Not
   * checkpointed: set by every reading.
   */
  readonly novel: Uint8Array;
  /** Per channel: the length of the rest (quietValues) the latest reading ended, 0 if none (not checkpointed: set by every reading). */
  readonly restEnded: Float64Array;
  /** Per channel: short means (boxcars of shortSpan(smooth) readings) of the signed level and of the signed prediction residual. */
  readonly zMean: Boxcar;
  readonly resMean: Boxcar;
  /**
   * Per channel: the histogram of normal values (rarity's, src/pipeline/rarity.ts; memory `horizon`, a guard band
   * of shortSpan(smooth) values, not taught an open episode's own channels), and the boxcar of the last
   * shortSpan(smooth) readings' −ln p(value).
   */
  values: ValueHistogram[];
  readonly rareBox: Boxcar;
  /**
   * Per channel: its cycle (period and profile, src/pipeline/cycle.ts), the boxcar of the last shortSpan(smooth)
   * residuals against the profile, and the long-term mean squared residual of normal readings (and its count).
   */
  cycles: CycleProfile[];
  /**
   * Per channel: its segments between switches and the dwell times of its states (src/pipeline/dwell.ts): a state
   * held far longer than the stream's own dwells there (a duty cycle's plug stuck on) floors `stuck` (runFloor).
   */
  dwells: DwellTracker[];
  /**
   * Per channel: the drift of its level off a long cycle (src/pipeline/drift.ts): while it drifts, its `cycle`
   * surprise is floored at driftFloor (fuse).
   */
  drifts: CycleDrift[];
  /**
   * Per channel: its level leaving everything the stream has shown and going on leaving it (src/pipeline/excursion.ts):
   * while it does, its `cycle` surprise is floored at driftFloor as a drift off a cycle's is.
   */
  excursions: LevelExcursion[];
  /** Per channel: the `cycle` surprise floor of a drift off the cycle (0: none; not checkpointed: set by every reading from drifts). */
  readonly driftFloor: Float64Array;
  /** Made when the first residual against a profile comes (a stream of a few readings has none). */
  cycBox: Boxcar | null = null;
  readonly cycVar: Float64Array;
  readonly cycCount: Float64Array;
  /**
   * Per channel: the largest cycle statistic (short trimmed mean of the residual, squared, over cycVar) of a normal
   * reading since the residuals started (StreamScorer.coldCycleHold); Infinity after a restore from a checkpoint
   * that did not keep it (the hold then waits for the next cycle).
   */
  readonly cycMax: Float64Array;
  /** Per channel: the sign of the cycle residual at the open episode's opening reading (0: none; not checkpointed). */
  readonly cycDir: Float64Array;
  /**
   * Per channel: the latest readings in a row that the cycle placed off their own phase (CycleProfile.nearest: a
   * switch late or early), held as they came. Not checkpointed (a restart starts it over).
   */
  readonly cycAside: Float64Array;
  meanCount = 0;
  resCount = 0;
  /**
   * Residuals pushed to resMean by the open episode's readings (from the one that opened it): what its close
   * censors out of the short mean (censorEpisode). 0 while no episode is open.
   */
  episodeResiduals = 0;
  /** The latest reading pushed a residual to resMean (not checkpointed: set by every reading). */
  pushedResidual = false;
  above = 0;
  below = 0;
  episode: Episode | null = null;
  /** The latest reading opened the open episode or held it open (not checkpointed: set by every reading). */
  holding = false;
  /** The latest reading ended a stuck run that held the open episode (not checkpointed: set by every reading). */
  unstuck = false;
  /** A counter's frozen total judged at the latest reading (judgeFrozen; StepItem.counterFrozen), or null (not checkpointed: set by every reading). */
  counterFrozen: { readonly since: number; readonly longestMs: number } | null = null;
  /** A counter counting without a rest far longer than ever, judged at the latest reading (judgeBusy; StepItem.counterBusy), or null (not checkpointed: set by every reading). */
  counterBusy: NonNullable<AnomalyEvent['counterBusy']> | null = null;
  /** The model state reset asked for at the end of a stuck run has not taken effect yet (model errors wait; checkpointed). */
  awaitingReset = false;
  /** The latest reading's scored step: what a duplicate of it reports, and whether the stream was learning (checkpointed, without its events). */
  lastScored: ScoredStep | null = null;
  /**
   * The model whose errors the model-error histories hold: the first model that scored the stream, then each that
   * took it over (newModel). Not checkpointed: undefined after a restore until the next model id is seen (adopted).
   */
  modelId: string | undefined;
  /**
   * Readings left (with model errors) in which a model that took the stream over learns its errors without
   * their being judged (newModel sets learnReadings). Not checkpointed: a restored stream judges them at once.
   */
  modelLearning = 0;

  constructor(
    readonly C: number,
    private readonly opts: ScorerOptions,
    priors: ModelPriors | null,
  ) {
    this.reference = EVIDENCE.map((kind) => this.primedRow('reference', kind, priors));
    this.adaptive = EVIDENCE.map((kind) => this.primedRow('adaptive', kind, priors));
    this.episodeEvidence = new KeptEvidence(EVIDENCE.length, C);
    this.shortLog = new Boxcar(C, shortSpan(opts.smooth));
    // The per-channel numbers, and the arrivals' state, share one buffer (views of it): a stream costs one
    // allocation for them, not twenty-three (a standalone typed array of one channel holds about 180 bytes, a view
    // about 100: 100,000 junk topics' 5,000 streams, test/e2e/hostile.test.ts).
    const perChannel = new Float64Array((21 + RUN_STATE) * C + ARRIVAL_STATE);
    const view = (i: number): Float64Array => perChannel.subarray(i * C, (i + 1) * C);
    this.longLog = view(0);
    this.longVar = view(1);
    this.epLog = view(2);
    this.epVar = view(3);
    this.epCount = view(4);
    this.run = view(5);
    this.longest = view(6);
    this.restLog = view(7);
    this.runRare = view(8);
    this.restEnded = view(9);
    this.cycVar = view(10);
    this.cycCount = view(11);
    this.runFloor = view(12);
    this.novel = new Uint8Array(C);
    this.runModel = perChannel.subarray(13 * C, (13 + RUN_STATE) * C);
    const after = (i: number): Float64Array => perChannel.subarray((13 + RUN_STATE + i) * C, (14 + RUN_STATE + i) * C);
    this.step = after(0);
    this.switchLog = after(1);
    this.switchCount = after(2);
    this.driftFloor = after(3);
    this.rateFloor = after(4);
    this.cycMax = after(5);
    this.cycDir = after(6);
    this.cycAside = after(7);
    this.arrivals = perChannel.subarray((21 + RUN_STATE) * C);
    this.quiet = Array.from({ length: C }, () => []);
    this.zMean = new Boxcar(C, shortSpan(opts.smooth));
    this.resMean = new Boxcar(C, shortSpan(opts.smooth));
    this.values = Array.from({ length: C }, () => new ValueHistogram(opts.horizon, shortSpan(opts.smooth)));
    this.rareBox = new Boxcar(C, shortSpan(opts.smooth));
    this.recentValues = new Boxcar(C, shortSpan(opts.smooth));
    this.runCeiling = new Float64Array(C).fill(Number.POSITIVE_INFINITY);
    this.cycles = Array.from({ length: C }, () => new CycleProfile());
    this.dwells = Array.from({ length: C }, () => new DwellTracker());
    this.drifts = Array.from({ length: C }, () => new CycleDrift());
    this.excursions = Array.from({ length: C }, () => new LevelExcursion(shortSpan(opts.smooth), 0));
  }
  /** A kind's row of histories seeded by a model's priors (prediction, bias and reconstruction), or null (made when first taught). */
  private primedRow(which: 'reference' | 'adaptive', kind: Evidence, priors: ModelPriors | null): TailCalibrator[] | null {
    const bias = kind === 'bias' ? priors?.bias : null;
    const prior =
      kind === 'prediction' ? priors?.prediction : kind === 'reconstruction' ? priors?.reconstruction : bias ? { mean: bias.mean + Math.log10(bias.span / this.opts.smooth), std: bias.std } : null;
    if (!prior) return null;
    return Array.from({ length: this.C }, () => new TailCalibrator(tailOptions(this.opts, which, kind), { ...prior, weight: PRIOR_WEIGHT } satisfies LogPrior));
  }

  /**
   * Another model took the stream over (its own, learnt on the device, or the shared one after a rollback): the
   * histories of the model's errors (prediction, bias, reconstruction; normal operation's and the recent ones)
   * start over from the new model's priors, and the short mean of its residuals too. The previous model's errors
   * say nothing of the new one's: judged against them, a better model's errors would hide a fault for a horizon
   * and a slightly worse one's raise alarms. Every other history (level, change, spread, stuck, rarity, cycle)
   * is of the signal and carries on. For learnReadings readings the new model's errors are then taught and not
   * judged (its learning period, as a new stream's).
   */
  newModel(modelId: string, priors: ModelPriors | null): void {
    for (const kind of MODEL_KINDS) {
      const k = EVIDENCE.indexOf(kind);
      this.reference[k] = this.primedRow('reference', kind, priors);
      this.adaptive[k] = this.primedRow('adaptive', kind, priors);
    }
    this.resCount = 0;
    this.resMean.clear();
    this.modelId = modelId;
    this.modelLearning = this.opts.learnReadings;
  }

  /** The kind's row of histories, made (fresh) when the kind is first taught. */
  row(which: 'reference' | 'adaptive', k: number): TailCalibrator[] {
    const set = which === 'reference' ? this.reference : this.adaptive;
    // The row's making is a method of its own: a closure here would make every call allocate a context.
    return set[k] ?? this.makeRow(set, which, k);
  }

  private makeRow(set: Histories, which: 'reference' | 'adaptive', k: number): TailCalibrator[] {
    const row = Array.from({ length: this.C }, () => new TailCalibrator(tailOptions(this.opts, which, EVIDENCE[k])));
    set[k] = row;
    return row;
  }

}

/**
 * Scratch for one reading's evidence, per channel (level, shift, bias, spread, change, stuck, the run lengths
 * taught, squared and log squared changes), and the two evidence records that hold them. One per scorer and
 * channel count, shared by its streams (a reading is scored at a time; no per-stream memory): refilled by
 * every reading and valid until the next one; what an episode keeps of them is copied (keepForNewNormal).
 */
interface EvidenceScratch {
  readonly level: Float64Array;
  readonly shift: Float64Array;
  readonly res: Float64Array;
  readonly sp: Float64Array;
  readonly ch: Float64Array;
  readonly st: Float64Array;
  readonly done: Float64Array;
  readonly d2: Float64Array;
  readonly logD2: Float64Array;
  readonly rare: Float64Array;
  readonly rareMean: Float64Array;
  /** Per channel: the residual against the cycle's profile (NaN: no period), and the cycle evidence. */
  readonly cycRes: Float64Array;
  /** Per channel: where the reading stands in its cycle, in readings from its own place (CycleProfile.nearest). */
  readonly cycOff: Float64Array;
  readonly cyc: Float64Array;
  /** Per channel: the surprise with which a cycle not yet speaking holds an open episode (cycleEvidence; NaN: none). */
  readonly cycHold: Float64Array;
  /** Per channel: the cycle statistic of this reading while the kind does not speak yet (NaN: none). */
  readonly cycU: Float64Array;
  /** Per channel: 1 when the run a gap ended had begun busy (runs.ts busyRun), else 0 (set by a reading after a gap). */
  readonly gapBusy: Float64Array;
  /** Boxcar.seenBeforeRun's answer: [seen, window]. */
  readonly seen: Float64Array;
  readonly judged: EvidenceValues;
  readonly taught: EvidenceValues;
}

function newEvidenceScratch(C: number): EvidenceScratch {
  const f = (): Float64Array => new Float64Array(C);
  return { level: f(), shift: f(), res: f(), sp: f(), ch: f(), st: f(), done: f(), d2: f(), logD2: f(), rare: f(), rareMean: f(), cycRes: f(), cycOff: f(), cyc: f(), cycHold: f(), cycU: f(), gapBusy: f(), seen: new Float64Array(2), judged: emptyEvidence(), taught: emptyEvidence() };
}

export class StreamScorer {
  private readonly streams = new Map<string, StreamScore>();
  /** Evidence scratch per channel count. */
  private readonly scratch = new Map<number, EvidenceScratch>();
  /** The fused results of a reading against each set of histories (fuse's `out`, valid during one reading's score). */
  private readonly fusedAdaptive: Fused = newFused();
  private readonly fusedReference: Fused = newFused();
  /**
   * Per channel count: fuse's scratch, shared by the streams (a reading is scored at a time): the fused
   * channels, the logs, and the per-(kind, channel) surprises of the current reading against each set of
   * histories (EVIDENCE.length * C; what a reading reads of them it reads before the next is scored).
   */
  private readonly fusedChannels = new Map<
    number,
    FusedChannels & { readonly fillLogs: LogsOf; readonly readLogs: LogsOf; readonly eachAdaptive: Float64Array; readonly eachReference: Float64Array }
  >();
  private readonly thresholdSurprise: number;
  private readonly holdSurprise: number;
  /** The standard normal quantile whose upper tail is the threshold's (surprise 5: z 4.26): rarity's reach (warmKinds). */
  private readonly thresholdZ: number;
  /** Whether a step that was not undone holds its episode (a lasting departure of the level: `shift`'s kind of evidence). */
  private readonly unreturnedHolds: boolean;

  constructor(
    private readonly opts: ScorerOptions,
    private readonly deps: { readonly newId: () => string; readonly priorsFor: (modelId: string) => ModelPriors | null },
  ) {
    if (!(opts.threshold >= 0.5 && opts.threshold < 1)) throw new RangeError(`threshold must be in [0.5, 1), got ${opts.threshold}`);
    for (const k of ['openAfter', 'closeAfter', 'learnReadings', 'smooth', 'reconEvery'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new RangeError(`${k} must be an integer >= 1, got ${opts[k]}`);
    }
    for (const k of ['horizon', 'adaptiveHorizon'] as const) {
      if (!(opts[k] >= 2)) throw new RangeError(`${k} must be >= 2, got ${opts[k]}`);
    }
    this.thresholdSurprise = -Math.log10(1 - opts.threshold);
    this.holdSurprise = Math.max(0, this.thresholdSurprise - opts.holdMargin);
    this.thresholdZ = normalQuantileOf(this.thresholdSurprise);
    this.unreturnedHolds = opts.evidence === undefined || opts.evidence.includes('shift');
  }

  /** True while the stream has not learnt enough to alert (or is unknown). */
  learning(stream: string): boolean {
    const s = this.streams.get(stream);
    return s === undefined || this.learningOf(s);
  }

  /**
   * How far an on/off stream's held-state judgement is (OnOffDwell.progress: its active state's dwells taught, `have`,
   * of the `needed` before a state held is judged; `active` the state judged, 1 or 0); null for an unknown stream or
   * one that is not on/off.
   */
  heldProgress(stream: string): { readonly have: number; readonly needed: number; readonly active: 0 | 1 } | null {
    const s = this.streams.get(stream);
    return s === undefined || !s.onOff ? null : { ...s.onOffDwell.progress, active: s.onOffDwell.judged };
  }

  /**
   * While the stream learns its normal: its first learnReadings readings, counted from `learnFrom`. A stream
   * that did not move through its whole learning period learnt nothing of how it moves (every history of
   * changes, noise and level is one value), so its first movement would be judged against nothing and held
   * as an episode until a new normal (a light sensor installed at night: an alarm every day). Its learning
   * starts again where it first moves; a stream flat for `horizon` readings ends learning anyway (so a
   * flat history never keeps a stream learning for good, issue 10).
   */
  private learningOf(s: StreamScore): boolean {
    if (s.seen < this.opts.learnReadings) return true;
    // An on/off stream learns its arrivals only (onOffOnly): a door kept shut through its first readings has learnt them.
    if (s.onOff) return false;
    if (s.learnFrom === NOT_MOVED) return s.seen < this.opts.horizon;
    if (s.seen - s.learnFrom < this.opts.learnReadings) return true;
    // A learning period too short for the stream's own kinds: it goes on until each that has started holds
    // MIN_HISTORY values (see waitedFor), never once the stream has been judged, nor beyond `horizon` readings.
    if (s.lastScored !== null && s.lastScored.status !== 'learning') return false;
    return s.seen < this.opts.horizon && this.waitedFor(s);
  }

  /**
   * True while a kind the stream's learning waits for holds fewer than MIN_HISTORY values: the model-free kinds
   * measured once per reading (WAITED), whose values start after a warm-up (the normalisation's, a short mean's).
   * A learning period shorter than that warm-up plus MIN_HISTORY values (thinned: MIN_HISTORY short means for
   * shift and spread) would end before they could be settled ready (TailCalibrator.settle), and the stream would
   * be blind to what only they see while they fill, or, ended before they started, judged by histories that had
   * learnt nothing of the learning period (a `change` history of the 8 changes before a duty cycle's first switch
   * alarmed at every switch after it; a `cycle` started late on 8 values alarmed on a clean sine). Within the
   * kinds' warm-up (opts.kindsWarmUp readings) a kind not started yet is waited for too; after it, only one that
   * has started (one whose values a gap put off, or a stream that never fills it, ends learning at `horizon`).
   */
  private waitedFor(s: StreamScore): boolean {
    const early = s.seen < (this.opts.kindsWarmUp ?? 0);
    for (const k of WAITED) {
      if (this.opts.evidence !== undefined && !this.opts.evidence.includes(EVIDENCE[k])) continue;
      const row = s.reference[k];
      if (row === null) {
        if (early) return true;
        continue;
      }
      for (const t of row) if (t.held < MIN_HISTORY && (early || t.held > 0)) return true;
    }
    return false;
  }

  /**
   * Notes where a stream flat through its learning period first moves (`learnFrom`); streams that moved
   * during it, or learnt known-normal readings, keep learnFrom 0.
   */
  private noteMovement(s: StreamScore, r: StepResult<unknown>): void {
    if (s.moved || s.knownNormal) return;
    s.moved = s.last !== null && r.item.kind === 'reading' && r.item.values.some((v, c) => v !== s.last![c]);
    if (s.learnFrom === NOT_MOVED) {
      if (s.moved) s.learnFrom = s.seen;
    } else if (!s.moved && s.seen + 1 >= this.opts.learnReadings) s.learnFrom = NOT_MOVED;
  }

  /** The open episode's id, or null (also while the stream's episode is silent: it is no alarm, and nothing of it is stored). */
  openAnomaly(stream: string): string | null {
    const ep = this.streams.get(stream)?.episode;
    return ep === undefined || ep === null || ep.silent ? null : ep.id;
  }

  /**
   * The stream's open episode that is an alarm (not silent) as an event would carry it now, or null: its id, last
   * reading that held it (epoch ms), length in readings, peak (as a score, AnomalyEvent.peakScore), the surprise of
   * each kind of evidence at its peak and the channels' deviations there. For an `update` the daemon sends of its own
   * (SignalBook.farther: a reading far beyond what the episode told), so it carries the episode's peak as it stands.
   * Reads only; the episode's own update rule (lastReported, reportedAt) is left as it is.
   */
  openPeak(stream: string): OpenEpisodePeak | null {
    const s = this.streams.get(stream);
    const ep = s?.episode;
    if (s === undefined || ep === undefined || ep === null || ep.silent) return null;
    const evidence: Record<string, number> = {};
    for (const k of EVIDENCE) if (!Number.isNaN(ep.peakEvidence[k])) evidence[k] = ep.peakEvidence[k];
    const end = toldEnd(ep, s.below, shortSpan(this.opts.smooth));
    return { stream, id: ep.id, lastAboveTs: end.ts, readings: heldReadings(ep, end.trailing), peakScore: 1 - Math.pow(10, -ep.peak), evidence, channelErrors: [...ep.peakChannels], ...(ep.excursion !== undefined ? { excursion: ep.excursion } : {}) };
  }

  /**
   * Each open episode that is an alarm (not silent), as it stands: its id, the time of its last reading that
   * held it (epoch ms) and its length in readings. For the record of an episode that lasts (no event needed).
   */
  *openEpisodes(): IterableIterator<OpenEpisodeProgress> {
    for (const [stream, s] of this.streams) {
      const ep = s.episode;
      if (ep === null || ep.silent) continue;
      const end = toldEnd(ep, s.below, shortSpan(this.opts.smooth));
      yield { stream, id: ep.id, lastAboveTs: end.ts, readings: heldReadings(ep, end.trailing), ...(ep.held !== undefined ? { held: ep.held } : {}), ...(ep.excursion !== undefined ? { excursion: ep.excursion } : {}) };
    }
  }

  /** Drops a stream's scoring state (an idle stream evicted by the daemon, its state checkpointed first). */
  forget(stream: string): void {
    this.streams.delete(stream);
  }

  /**
   * Closes the stream's open episode without an event: the store already resolved it (or never committed
   * it), so the stream goes on as if it were not open; if the anomaly goes on, a new episode opens.
   */
  dropEpisode(stream: string): void {
    const s = this.streams.get(stream);
    if (s === undefined || s.episode === null) return;
    s.episode = null;
    s.above = 0;
    s.below = 0;
    s.episodeEvidence.clear();
    s.rests = [];
    clearEpisodeVariability(s);
    s.episodeResiduals = 0;
    s.lastScored = null;
  }

  /** Streams with scoring state. */
  streamIds(): IterableIterator<string> {
    return this.streams.keys();
  }

  /**
   * Scores one reading: the scored step and the verdict for the model stage (keep the reading out of the
   * normal statistics while an episode is open; re-baseline after a new normal). `knownNormal`: the reading
   * is known to be normal (it teaches unconditionally and opens nothing).
   */
  score(r: StepResult<unknown>, knownNormal = false): { scored: ScoredStep; verdict: StepVerdict } {
    const C = r.channels.length;
    let s = this.streams.get(r.stream);
    if (s === undefined || s.C !== C) {
      s = new StreamScore(C, this.opts, r.modelId ? this.deps.priorsFor(r.modelId) : null);
      s.modelId = r.modelId ?? undefined;
      this.streams.set(r.stream, s);
    } else if (r.modelId !== null && r.modelId !== s.modelId) {
      // A model took the stream over: its errors are judged by its own priors and history, not the previous
      // model's. (No id: the model call failed, nothing to judge. A restored state adopts the id it sees first.)
      if (s.modelId === undefined) s.modelId = r.modelId;
      else s.newModel(r.modelId, this.deps.priorsFor(r.modelId));
    }
    if (r.item.kind === 'duplicate') return { scored: this.duplicateOf(s), verdict: { exclude: true, rebaseline: false } };
    // A cumulative counter (src/pipeline/counter.ts): its holds are no stuck value.
    s.counter = r.item.counter === true;
    s.onOff = r.item.onOff === true;
    if (knownNormal) s.knownNormal = true;
    this.noteMovement(s, r);
    const learning = knownNormal || this.learningOf(s);
    // The first judged reading after learning: the readings still in the guard bands of the reference histories
    // and of the value histograms are the learning period's last, known to be normal, not the onset of
    // something to be measured against what came before; they enter now. Otherwise a stream whose last learning readings moved
    // (a drift the learning period ends on) is judged against a reference that has not seen them, and opens
    // an episode on its first judged readings.
    // Every history of a kind measured once per reading is then ready if the learning period gave it MIN_HISTORY
    // values (TailCalibrator.settle): the kinds whose values start late (level and shift after the
    // normalisation's warm-up, the short means once full, the model's errors once its state has settled, a cycle
    // once its period is known) hold fewer than a history fed from the first reading, and would otherwise say
    // nothing for tens of readings after learning, and be taught whatever came then: a fault that started then
    // was learnt as normal (a new stream blind right after its learning period). Not stuck: its values are runs
    // (one when a run ends), from the second reading on; a stream that ran few runs has not learnt its runs.
    if (!learning && s.lastScored?.status === 'learning') {
      this.warmKinds(s);
      for (const row of s.reference) if (row !== null) for (const t of row) t.commitPending();
      for (let k = 0; k < EVIDENCE.length; k++) {
        if (k === STUCK) continue;
        for (const row of [s.reference[k], s.adaptive[k]]) if (row !== null) for (const t of row) t.settle(MIN_HISTORY);
      }
      for (const h of s.values) h.commitPending();
    }
    const { judged: e, taught } = this.evidence(s, r, learning);
    if (s.onOff) {
      onOffOnly(e, taught);
      // Its one judgement of a value: how long its active state has been held (OnOffDwell), as a floor of `stuck`
      // (whose history it never teaches: the floor alone speaks), never while it learns.
      if (C === 1 && r.item.kind === 'reading') {
        // A reading heard after the daemon's deafness (StepItem.onOffUnheard): a switch then ends and begins no dwell
        // of known length; the same state goes on, its time not heard left out of its length (OnOffDwell).
        // A dwell that this reading ends is judged at its end too (OnOffDwell.ended), rare from the hold level on.
        const held = s.onOffDwell.step(r.item.values[0], r.item.ts, r.item.onOffActive ?? 1, this.opts.horizon, r.item.onOffUnheard === true, learning ? Number.POSITIVE_INFINITY : this.holdSurprise);
        // A dwell that began in the learning period is not judged when the period ends (OnOffDwell.spare).
        if (learning) s.onOffDwell.spare();
        s.runFloor[0] = learning ? 0 : held;
        // The floor is a time's judgement, not a run of values': no ceiling from how often the readings just before took
        // that value (recentRunSurprise; a door's openings each leave one reading open, so a door held open 4 h with a
        // 50 min check-in was held to 2.9 at its check-ins and never told, tryout 38, finding 3).
        s.runCeiling[0] = Number.POSITIVE_INFINITY;
        if (s.runFloor[0] > 0) {
          e.stuck = new Float64Array(1);
          // Its rows, never taught (so never ready): the floor alone is their surprise (fuse).
          s.row('reference', STUCK);
          s.row('adaptive', STUCK);
        }
      }
    }
    // A silence alarmed while it lasted (judgeSilence) ends at the stream's next step: resolved at this one, its
    // length neither judged nor taught again here (a reading after a gap carries it as `stuck`: it would open a
    // second episode for the same silence; an alarmed silence is censored from both histories, as a rare run is).
    const silenced = s.episode !== null && s.episode.silence !== undefined ? s.episode : null;
    if (silenced !== null) {
      if (r.item.kind === 'reading' && (r.item.missed ?? 0) > 0) {
        e.stuck = null;
        taught.stuck = null;
      }
      s.episode = null;
      s.above = 0;
      s.below = 0;
      // An episode of another kind the silence took over (judgeSilence) held readings of its own: they teach no new
      // normal, and its residuals leave the short mean, as a recovered episode's do.
      censorEpisode(s, false);
      s.episodeEvidence.clear();
      s.rests = [];
      clearEpisodeVariability(s);
    }
    // A silence not alarmed while it lasted (a gap: replay and evaluation, which judge nothing between readings; a
    // daemon that had not judged it yet) is judged at the reading that ends it as it would have been while it
    // lasted (silenceOf): on its own, not fused with what this reading's value says, so the same silence is never
    // less rare for being judged at its end, and a longer one never less rare than a shorter one. Censored from
    // the run lengths when rare (at the hold level), as a rare run is; else taught as a run that ended.
    let gap: SilenceVerdict | null = null;
    const missed = r.item.kind === 'reading' ? (r.item.missed ?? 0) : 0;
    // (Not while another episode is open: the silence is that episode's, as judgeSilence leaves it, and its
    // `stuck` speaks in that episode as before.)
    // (Nor for an on/off stream that reports on change only: its quiet is its state held, OnOffDwell.reportsChangesOnly.)
    if (silenced === null && s.episode === null && missed > 0 && (e.stuck !== null || (s.onOff && !s.onOffDwell.reportsChangesOnly)) && !learning) {
      const busy = this.scratch.get(C)?.gapBusy;
      gap = this.silenceOf(s, missed, r.item.ts - s.lastArrival, (c) => busy !== undefined && busy[c] === 1, r.item.ownQuiet === true);
      if (gap !== null) {
        e.stuck = null;
        if (gap.deviation >= this.holdSurprise) taught.stuck = null;
      }
    }
    // The stream's arrivals (src/pipeline/arrivals.ts): this reading came after `filled` steps that did not (a gap's
    // `missed`), taught unless the gap was the caller's (a reset without `missed`, steps not heard: Detector.excuseGap),
    // the stream's first, or a silence alarmed or judged rare (censored, as a rare run is; one that another open
    // episode holds is that episode's, not taught either).
    if (r.item.kind === 'reading') {
      // A reading of an arrival-stamped burst (StepItem.burst) came at no time of its own: no arrival of the stream's.
      const x = missed > 0 ? missed : r.item.reset || r.item.unheard === true || r.item.burst === true ? -1 : r.item.filled;
      const censored = silenced !== null || (missed > 0 && (s.episode !== null || (gap !== null && gap.deviation >= this.holdSurprise)));
      if (x >= 0 && !censored) {
        teachArrival(s.arrivals, x, this.opts.horizon);
        if (x > s.quietest) s.quietest = x;
        if (x > 0 && Number.isFinite(s.lastArrival)) noteQuiet(s, r.item.ts - s.lastArrival, r.item.ts);
      }
      if (r.item.burst !== true) s.lastArrival = r.item.ts;
    }
    // A model that took the stream over learns its errors first, as a new stream learns everything: for
    // learnReadings readings its errors are taught to their histories (both) and judged by nothing. Its first
    // errors from a zero state, and their spread, are not what its validation priors (32 readings' weight) saw.
    let modelTaught: EvidenceValues | null = null;
    if (s.modelLearning > 0 && !learning) {
      if (e.prediction !== null || e.bias !== null || e.reconstruction !== null) {
        s.modelLearning--;
        modelTaught = { ...emptyEvidence(), prediction: taught.prediction, bias: taught.bias, reconstruction: taught.reconstruction };
      }
      e.prediction = null;
      e.bias = null;
      e.reconstruction = null;
      taught.prediction = null;
      taught.bias = null;
      taught.reconstruction = null;
    }
    // The adaptive histories are short by design (adaptiveHorizon readings; a short mean keeps one value per
    // span): the row score is their posterior predictive surprise, so a value a little beyond a thin history
    // is not called a million times rarer than it can know; episodes are decided on the fitted tails, which
    // the threshold was set on (both measured: BENCHMARKS.md).
    let perChannel = this.fusedChannels.get(C);
    if (perChannel === undefined) {
      const logs = new Float64Array(EVIDENCE.length * C);
      perChannel = {
        channels: new Array<number>(C).fill(0),
        rowChannels: new Array<number>(C).fill(0),
        fillLogs: { values: logs, fill: true },
        readLogs: { values: logs, fill: false },
        eachAdaptive: new Float64Array(EVIDENCE.length * C),
        eachReference: new Float64Array(EVIDENCE.length * C),
      };
      this.fusedChannels.set(C, perChannel);
    }
    // The two fused results are the scorer's (refilled by every reading; what leaves the scorer of them, the
    // evidence records and the reference's channels, is fresh per reading).
    // A drift of the level off a long cycle (src/pipeline/drift.ts, judged on the readings before this one) floors the
    // channel's `cycle` surprise at the threshold plus the share of every (kind, channel): it opens and holds an
    // episode alone, whether the kind speaks yet or not.
    const driftAt = this.thresholdSurprise + Math.log10(EVIDENCE.length * C);
    for (let c = 0; c < C; c++) s.driftFloor[c] = !learning && (s.drifts[c].drifting || (s.excursions[c].drifting && (s.excursions[c].opens || s.episode !== null))) ? driftAt : 0;
    // A cumulative counter (src/pipeline/counter.ts) is judged by its rate, never by its total's level (judgeCounter),
    // and by its holds against its own idles (judgeFrozen).
    s.caughtUp = null;
    s.counterFrozen = null;
    s.counterBusy = null;
    if (r.item.counter !== undefined) {
      judgeCounter(s, r, e, learning, driftAt, shortSpan(this.opts.smooth));
      judgeFrozen(s, r, e, learning, driftAt);
      judgeBusy(s, r, e, learning, driftAt);
    } else s.rateFloor.fill(0);
    const adaptive = fuse(s.adaptive, e, C, perChannel.eachAdaptive, perChannel.fillLogs, this.fusedAdaptive, true, perChannel, s.runFloor, s.novel, s.driftFloor, s.rateFloor, s.runCeiling);
    const reference = fuse(s.reference, e, C, perChannel.eachReference, perChannel.readLogs, this.fusedReference, false, undefined, s.runFloor, s.novel, s.driftFloor, s.rateFloor, s.runCeiling);
    // A run that stuck calls rare (at the hold level) is not a rest of the stream's (quietValues).
    if (!learning) for (let c = 0; c < C; c++) if (reference.each[STUCK * C + c] >= this.holdSurprise) s.runRare[c] = 1;
    // A dwell judged rare (as a value that would hold an episode: the reference's teaching limit) is not taught.
    if (!learning) for (let c = 0; c < C; c++) s.dwells[c].censorAt(this.holdSurprise + reference.penalty);
    if (s.onOff && !learning) s.onOffDwell.censorAt(this.holdSurprise + reference.penalty);
    const events: AnomalyEvent[] = [];
    if (silenced !== null) events.push(this.endSilence(silenced, r, adaptive.surprise));
    // A rare silence judged at its end opens a missing-data episode for the silence, from its first missed step to
    // this reading (its length the silence's, not 0 s), which this reading belongs to (an evaluation's `missing`
    // label is this reading): it goes on as any episode (this reading's value judged in it, resolved once
    // closeAfter readings are below), its end this reading unless a later one holds it.
    // Its readings are counted from this one on (lifecycle: the silence's steps are none, and count towards no
    // new normal); its open tells the steps the silence missed.
    if (gap !== null && gap.deviation >= this.thresholdSurprise && r.item.kind === 'reading') {
      const opened = this.openSilence(s, gap, r.item.missedFrom ?? r.item.ts, r.item.ts, missed, null);
      events.push(this.event('open', r, opened, gap.deviation));
      opened.readings = 0;
      opened.reportedAt = 1;
    }
    // The episode this reading belongs to (the one open before it, if this reading resolves it).
    const before = s.episode;
    s.holding = false;
    s.unstuck = false;
    // An alarm field's active state (a leak, smoke: StepItem.onOffAlarm) is news at its first reading, with no history
    // of dwells to judge it against and no learning to wait for (a leak in a sensor's first week is a leak): an episode
    // opens at once, held while the state holds, resolved at the first reading out of it; none of the stream's other
    // judgements (lifecycle) touch it. Not for readings known to be normal (a stream that may not alert yet). An
    // episode of another kind open (its silence's, resolved above at this step) is left as it is.
    const alarmEp = s.episode !== null && s.episode.alarm !== undefined ? s.episode : null;
    let alarmed = alarmEp !== null;
    if (s.onOff && C === 1 && r.item.kind === 'reading' && (alarmEp !== null || (r.item.onOffAlarm === true && !knownNormal))) {
      const on = r.item.values[0] === (r.item.onOffActive ?? 1);
      if (alarmEp !== null) {
        alarmEp.readings++;
        if (on) alarmEp.lastAboveTs = r.item.ts;
        else {
          // It lasted until the reading that says it ended (the device's word: dry).
          alarmEp.lastAboveTs = r.item.ts;
          s.episode = null;
          s.below = 0;
          events.push({ ...this.event('resolve', r, alarmEp, this.thresholdSurprise), resolution: 'recovered' });
        }
      } else if (on && s.episode === null) {
        const opened: Episode = {
          id: this.deps.newId(),
          startTs: r.item.ts,
          lastAboveTs: r.item.ts,
          readings: 1,
          peak: this.thresholdSurprise,
          peakEvidence: nanEvidence(),
          peakChannels: [this.thresholdSurprise],
          lastReported: this.thresholdSurprise,
          reportedAt: 1,
          owners: [true],
          rowPeak: 0,
          stuckAt: 0,
          silent: false,
          alarm: { since: r.item.ts, level: r.item.values[0] },
        };
        s.episode = opened;
        s.above = 0;
        s.below = 0;
        alarmed = true;
        events.push(this.event('open', r, opened, this.thresholdSurprise));
      }
    }
    const rebaseline = learning || alarmed ? false : this.lifecycle(s, r, adaptive, reference, events);
    if (s.onOff && !learning && !alarmed && before === null && s.episode === null && r.item.kind === 'reading') this.tellEndedHeld(s, r, events);
    // A counter's rate judged far above anything seen (judgeCounter) is told with the episode it opened or holds, on
    // the events of this reading (AnomalyEvent.counterRate), the largest so far.
    if (s.rateFloor[0] > 0 && s.counterBusy === null && s.episode !== null && !s.episode.silent && s.ratePerHour > 0) {
      const ep = s.episode;
      if (ep.counterRate === undefined || s.ratePerHour > ep.counterRate.perHour) ep.counterRate = { perHour: s.ratePerHour, usualPerHour: s.usualPerHour };
      for (let i = 0; i < events.length; i++) if (events[i].anomalyId === ep.id) events[i] = { ...events[i], counterRate: ep.counterRate };
    }
    // A counter counting without a rest far longer than ever (judgeBusy) is told with the episode it opened or holds,
    // on the events of this reading (AnomalyEvent.counterBusy), the latest.
    if (s.counterBusy !== null && s.episode !== null && !s.episode.silent) {
      const ep = s.episode;
      ep.counterBusy = s.counterBusy;
      for (let i = 0; i < events.length; i++) if (events[i].anomalyId === ep.id) events[i] = { ...events[i], counterBusy: s.counterBusy };
    }
    // A counter's catch-up after a hold (judgeCounter) is told with the episode it ends (the hold's, as a rule), on
    // this reading's events and those after it (AnomalyEvent.catchUp).
    const caught = s.caughtUp;
    const caughtIn = s.episode ?? before;
    if (caught !== null && caughtIn !== null && !caughtIn.silent) {
      caughtIn.catchUp = caught;
      for (let i = 0; i < events.length; i++) if (events[i].anomalyId === caughtIn.id) events[i] = { ...events[i], catchUp: caught };
    }
    // A counter's rate judged far above anything seen is taught once its episode ends as the new normal, never when
    // it recovers (judgeCounter).
    if (s.rateHeld > 0) {
      if (events.some((ev) => ev.kind === 'resolve' && ev.resolution === 'new_normal')) {
        s.rateMax = Math.max(s.rateMax, s.rateHeld);
        s.rateRises = 1;
      }
      if (s.episode === null || events.some((ev) => ev.kind === 'resolve')) s.rateHeld = 0;
    }
    // A counter's step back (a reset, a rollback: src/pipeline/counter.ts) is one event, told once: an episode of
    // this one reading, opened and resolved at it (the count goes on from the new value: a new normal), whatever
    // the stream's own episode does. The total judged is continued across it (the increment of this reading is
    // not known), so nothing else sees the step. Told in the stream's own learning period too (a counter its hub
    // states is one from its first reading, and its reboot's reset to 0 is news then as later: tryout 15, finding
    // 8; the reset is a fact the counter stage saw, not a judgement of the stream's histories), but not for readings
    // known to be normal (a model's training rows, a stream that may not alert yet: knownNormal).
    if (r.item.counterReset !== undefined && !knownNormal) {
      const reset = r.item.counterReset;
      const told: Episode = { id: this.deps.newId(), startTs: r.item.ts, lastAboveTs: r.item.ts, readings: 1, peak: this.thresholdSurprise, peakEvidence: { ...reference.evidence }, peakChannels: [...reference.channels], lastReported: this.thresholdSurprise, reportedAt: 1, owners: new Array<boolean>(C).fill(true), rowPeak: 0, stuckAt: 0, silent: false };
      events.push({ ...this.event('open', r, told, this.thresholdSurprise), counterReset: reset }, { ...this.event('resolve', r, told, this.thresholdSurprise), resolution: 'new_normal', counterReset: reset });
    }
    // A stuck value tells nothing of the signal: once it moves again, the stream starts over as after a gap
    // (the short means forget the stuck stretch, and the model state is reset: the step engine's verdict).
    if (s.unstuck) {
      s.awaitingReset = true;
      s.meanCount = 0;
      s.resCount = 0;
      s.zMean.clear();
      s.resMean.clear();
      s.shortLog.clear();
      s.recentValues.clear();
      s.cycBox?.clear();
      // Nor may rarity's picture of where the stream lives hold after it: the signal went on (a day's cycle, a
      // drift) while the sensor repeated one value. A stuck channel that comes back beyond the range of values
      // its histogram knows (which learnt nothing during the episode) starts that histogram over, as after a
      // new normal (rarity waits until it holds learnReadings values again); one that comes back within it
      // keeps it.
      const ep = s.episode ?? before;
      restartValues(s, ep === null ? null : ep.owners, r.item.values);
    }
    // A reading of an episode's onset that is off on its own leaves the short means of the level and of the
    // residual once judged (censorOnset): a spike is not a lasting shift, and does not hold its episode open.
    const censored = !learning && censorOnset(s, s.episode ?? before, reference, this.holdSurprise);
    if (!learning) markOwnOff(s, r, s.episode ?? before, reference, this.holdSurprise);
    // An episode that recovers takes its readings' model residuals out of the short mean of the residual.
    if (s.pushedResidual && !censored && (before !== null || s.episode !== null)) s.episodeResiduals++;
    if (before !== null && s.episode === null) censorEpisode(s, rebaseline);
    // The steps that held while the episode was open: taught, or withheld if it came back from them (settleSteps).
    if (!learning && before !== null && s.episode === null) settleSteps(s, r.item.values, rebaseline);
    const episode = s.episode ?? before;
    // What an open episode lets the stream learn: its readings back within the normal range teach the running
    // normalisation, and the first of them restarts the model (judgeOut).
    const out = learning ? OUT_NONE : judgeOut(s, episode, r.z, reference, this.holdSurprise, this.opts.smooth);
    const exclude = episode !== null && out === OUT_NONE;
    // The adaptive history learns what the stream does, but not a fault: the owners' reading that holds an
    // open episode (or opens it) is not taught to it.
    if (s.holding && episode !== null) teachOwners(s, 'adaptive', taught, episode.owners, false);
    else teach(s, 'adaptive', taught);
    // The reference learns what is normal: a value that already holds an episode open (or would) is not
    // taught, so a change that comes gradually is not learnt as it comes (a drift is caught, not absorbed).
    // Readings known to be normal teach unconditionally.
    const limit = learning ? Infinity : this.holdSurprise + reference.penalty;
    // While an episode is open, the channels that are not part of it go on learning whatever they do (a pump's
    // temperature that rises while its valve is shut is the valve's episode, not a fault of its own).
    if (episode !== null) teachOwners(s, 'reference', taught, episode.owners, false);
    else teachBelow(s, 'reference', taught, reference.each, limit);
    if (modelTaught !== null) {
      teach(s, 'adaptive', modelTaught);
      teach(s, 'reference', modelTaught);
      taught.prediction = modelTaught.prediction;
      taught.bias = modelTaught.bias;
      taught.reconstruction = modelTaught.reconstruction;
    }
    // The reference's guard band holds the readings just before an episode opened: they are its onset, not
    // normal operation, and are never taught.
    if (s.episode !== null && before === null) {
      for (let c = 0; c < C; c++) if (s.episode.owners[c]) for (const row of s.reference) row?.[c].discardPending();
    }
    // A step to a familiar value that the stream stays at is how it moves, however large: taught even when rare
    // once the next readings show it stayed (teachSteps).
    if (!learning) teachSteps(s, r.item.values, this.opts.smooth);
    if (!learning && before === null && s.episode !== null) offerStep(s, r.item.values, taught, reference.each, limit, s.episode);
    // The value histograms (rarity's) learn normal values: not an open episode's own channels (a lasting fault
    // stays rare), and the values still in their guard band when an episode opens are its onset (dropped).
    // An episode's first reading starts its visit anew (teachVisits).
    if (s.episode !== null && s.episode !== before) s.visits?.clearNow();
    for (let c = 0; c < C; c++) {
      if (episode !== null && episode.owners[c] && !learning) {
        (s.visits ??= new VisitMemory(C)).note(c, r.item.values[c], r.item.ts, episode.pre?.[c] ?? Number.NaN);
        continue;
      }
      if (s.varCount < this.opts.smooth) continue;
      s.values[c].add(r.item.values[c], valueScale(s, c, r.item.values[c]));
    }
    if (s.episode !== null && before === null) {
      for (let c = 0; c < C; c++) if (s.episode.owners[c]) s.values[c].discardPending();
    }
    this.learnVariability(s, r, episode === null ? null : episode.owners);
    this.learnCycles(s, r, episode === null ? null : episode.owners, learning);
    // A rest that an episode held, at a level never taught (a setpoint's new level), is how the stream holds a
    // value once it has ended without stuck calling it rare: its readings are taught when the episode resolves
    // (noteRest, teachRests).
    if (!learning && episode !== null) noteRest(s, episode, this.opts.newNormalAfter);
    if (!learning && before !== null && s.episode === null && !rebaseline) teachRests(s, before.pre, r.item.values);
    if (!learning && before !== null && s.episode === null && !rebaseline) teachVisits(s, before.owners);
    if (s.episode === null) s.visits?.clearNow();
    if (s.episode !== null && s.episode.stuckAt !== s.episode.readings && s.episode.grownAt !== s.episode.readings && this.opts.newNormalAfter > 0 && s.episodeEvidence.length < this.opts.newNormalAfter) {
      keepForNewNormal(s, taught, this.scratch.get(C)?.d2);
    }
    if (rebaseline && before !== null) {
      for (let i = 0; i < s.episodeEvidence.length; i++) {
        const past = keptAt(s.episodeEvidence, i);
        teachOwners(s, 'reference', past, before.owners, true);
        teachOwners(s, 'adaptive', past, before.owners, true);
      }
      // A new normal's values: the owners' value histograms start over (rarity waits until they hold
      // learnReadings values again), or the new level would stay rare.
      restartValues(s, before.owners, null);
      // The owners' cycles start over: their held readings are the old normal's (the episode's entered as expected).
      for (let c = 0; c < C; c++) {
        if (!before.owners[c]) continue;
        s.cycles[c].clear();
        s.dwells[c].clear();
        s.excursions[c].restart(Math.ceil(this.opts.learnReadings / shortSpan(this.opts.smooth)));
        s.cycVar[c] = 0;
        s.cycCount[c] = 0;
        s.cycMax[c] = 0;
      }
      s.cycBox?.clear();
      // The new normal's variability of changes (spread and change are judged against it from now on).
      for (let c = 0; c < C; c++) {
        if (!before.owners[c] || s.epCount[c] === 0) continue;
        s.longLog[c] = s.epLog[c] / s.epCount[c];
        s.restLog[c] = s.longLog[c];
        s.switchLog[c] = s.longLog[c];
        s.switchCount[c] = Math.min(this.opts.horizon, s.epCount[c]);
        s.longVar[c] = s.epVar[c] / s.epCount[c];
      }
    }
    if (s.episode === null) {
      s.episodeEvidence.clear();
      s.rests = [];
      clearEpisodeVariability(s);
    }
    s.seen++;
    // A reading the stream is still learning from is not judged: it reports surprise 0 (score 0).
    let row = learning ? 0 : s.episode !== null && before === s.episode ? this.rowInEpisode(s.episode, adaptive) : adaptive.rowSurprise;
    // The reading that ends a silence judged on its own (gap) shows that judgement where it is the larger, on the
    // row and as the deviation: the silence is this reading's news, as when its `stuck` was fused in.
    let deviation = reference.surprise;
    if (gap !== null) {
      row = Math.max(row, gap.deviation);
      deviation = Math.max(deviation, gap.deviation);
    }
    // The row peak is on the row score's scale (an episode that opens starts from its opening row).
    if (s.episode !== null) s.episode.rowPeak = before === s.episode ? Math.max(s.episode.rowPeak, row) : row;
    const scored: ScoredStep = {
      surprise: row,
      score: 1 - Math.pow(10, -row),
      deviation,
      evidence: adaptive.evidence,
      deviationEvidence: reference.evidence,
      channelDeviation: reference.channels,
      status: learning ? 'learning' : s.episode !== null && !s.episode.silent ? 'anomalous' : 'ok',
      anomalyId: s.episode !== null && !s.episode.silent ? s.episode.id : null,
      events,
      spread: this.spreadOf(s, r),
    };
    // The stream's previous reading, kept in one buffer per stream (the same values as a fresh copy).
    if (s.last !== null && s.last.length === r.item.values.length) s.last.set(r.item.values);
    else s.last = Float64Array.from(r.item.values);
    s.lastScored = scored;
    if (s.episode === null) {
      s.episodeOut = false;
      s.outZ = null;
    }
    return { scored, verdict: verdictOf(exclude, rebaseline, s.unstuck || out === OUT_RETURN) };
  }

  /** A duplicate reports what the reading it repeats reported (no events of its own). */
  private duplicateOf(s: StreamScore): ScoredStep {
    if (s.lastScored !== null) return { ...s.lastScored, events: [] };
    return { surprise: 0, score: 0, deviation: 0, evidence: nanEvidence(), deviationEvidence: nanEvidence(), channelDeviation: [], status: 'learning', anomalyId: null, events: [], spread: null };
  }

  /**
   * The raw evidence of one reading (`e`, what is judged) and what it teaches the histories (`taught`: the
   * same, except stuck, which teaches run lengths: a run's length when it ends, unless stuck called the run rare
   * (runRare: censored), and, while `learning` or at a value the stream rests at (quietValues), a run longer than
   * any taught so far as it goes, each time it grows by RECORD_STEP (×1.25) past the longest taught).
   */
  private evidence(s: StreamScore, r: StepResult<unknown>, learning: boolean): EvidenceScratch {
    const C = s.C;
    const o = this.opts;
    const filled = r.item.kind === 'reading' ? r.item.filled : 0;
    // Filled steps held the previous value: repeats of it, unless the caller did not hear them (StepItem.unheard),
    // or the channel's run began busy (below).
    const heard = r.item.kind === 'reading' && r.item.unheard !== true ? r.item.filled : 0;
    const burst = r.item.kind === 'reading' && r.item.burst === true;
    let scratch = this.scratch.get(C);
    if (scratch === undefined) this.scratch.set(C, (scratch = newEvidenceScratch(C)));
    const { level, shift, res, sp, ch, st, done, d2, logD2 } = scratch;
    s.restEnded.fill(0);
    s.rareRunEnded = 0;
    s.runFloor.fill(0);
    s.runCeiling.fill(Number.POSITIVE_INFINITY);
    for (let c = 0; c < C; c++) level[c] = r.z[c] * r.z[c];
    // A value this discrete channel has never taken (a code, a state, a mode outside its set), beyond its levels'
    // range by their whole width, once learnReadings values taught it its levels (docs/SCORING.md, "A value never
    // seen"). Judged by `level`, which counts in full for it (fuse).
    // Its first sight only: the level is one the channel has taken from then on, in an episode or not, so a level
    // that comes back (a fault that recurs, a state that returns) is judged by `level` alone, never alarmed for ever.
    for (let c = 0; c < C; c++) {
      s.novel[c] = !learning && r.warm && s.values[c].novel(r.item.values[c], o.learnReadings) ? 1 : 0;
      if (s.novel[c] === 1) s.values[c].sawLevel(r.item.values[c]);
    }
    if (r.item.reset) {
      s.meanCount = 0;
      s.resCount = 0;
      s.zMean.clear();
      s.resMean.clear();
    }
    // Until the normalisation is warm, distances measured in it are not evidence (and start no short mean).
    if (!r.warm) {
      s.meanCount = 0;
      s.zMean.clear();
    }
    // Short means (boxcars of the last shortSpan(smooth) readings: a fault's readings leave them that many
    // readings after it ends): of the signed level, and of the signed prediction residual.
    s.meanCount++;
    s.zMean.push(r.z);
    for (let c = 0; c < C; c++) shift[c] = s.zMean.mean(c) ** 2;
    // The model's errors count once the normalisation is warm and the model state has settled after a reset
    // (its first predictions from a zero state are poor by construction, and no evidence of anything), and not
    // while a reset the scorer asked for (the end of a stuck run) has yet to take effect at the next chunk.
    if (s.awaitingReset && !r.settled) s.awaitingReset = false;
    const modelReady = r.warm && r.settled && !s.awaitingReset;
    let bias: Float64Array | null = null;
    // The short mean of the residual holds only residuals of predictions that count.
    s.pushedResidual = false;
    if (r.expected !== null && modelReady) {
      s.resCount++;
      for (let c = 0; c < C; c++) res[c] = (r.item.values[c] - r.expected[c]) / r.std[c];
      s.resMean.push(res);
      s.pushedResidual = true;
      // After a recovered episode was censored out of it (it holds fewer than the residuals pushed since it started
      // over), the square of the mean of the k residuals left is scaled by k / n, as it would be of a full boxcar:
      // a mean of k varies n / k times as much as one of n.
      const k = s.resMean.count;
      const scale = k < s.resCount ? k / s.resMean.n : 1;
      for (let c = 0; c < C; c++) res[c] = s.resMean.mean(c) ** 2 * scale;
      // Once `smooth` residuals came since the short mean started over (a reset); a recovered episode's are
      // censored out of it (censorEpisode), and it goes on speaking on those left.
      if (s.resCount >= o.smooth) bias = res;
    }
    const prediction = modelReady ? r.predErrors : null;
    // A window that holds a reading an episode judged off on its own is about that reading: its reconstruction error
    // neither opens nor holds an episode (windowHoldsJudged, lifecycle); it is scored and taught as ever.
    s.reconJudged = windowHoldsJudged(s, r);
    const reconstruction = modelReady ? r.reconErrors : null;
    // Spread and stuck compare with the previous reading of the same segment.
    let spread: Float64Array | null = null;
    let change: Float64Array | null = null;
    let stuck: Float64Array | null = null;
    let ended: Float64Array | null = null;
    if (s.last !== null && !r.item.reset) {
      done.fill(Number.NaN);
      // Changes in sensor units: their scale is the stream's own (stable on a random walk, whose level's
      // running std keeps growing), and the spread is a ratio of two of them. The noise level is the typical
      // size of a change on a log scale: ln(squared change), floored at 10^-4 of the long-term mean squared
      // change so an exact repeat is finite.
      // A channel that has never moved (every change so far exactly 0: a long-term mean squared change of 0)
      // has no noise level yet: the floor below would be 10^-300 and its log squared changes -690, which
      // would stay in the long-term mean for a horizon and call every ordinary change of the channel, once it
      // moves, e^500 times the usual. Its first change starts its noise level (learnVariability) and, as after
      // a stuck run, spread's short mean starts over; until then it shows no change of noise level.
      let firstMove = false;
      let rareEnded = false;
      const counterUnheard = filled > 0 && r.item.kind === 'reading' && r.item.unheard === true && r.item.counter !== undefined;
      for (let c = 0; c < C; c++) {
        const moved = Math.abs(r.item.values[c] - s.last[c]);
        if (moved > 0 && (s.step[c] === 0 || moved < s.step[c])) s.step[c] = moved;
        // Across filled steps a change is judged per step: as a random walk's, its square spread over them; a
        // counter's over steps the daemon did not hear (StepItem.unheard: its fills carry its total counting on,
        // Detector.queue) as its rate, the increment per step (tryout 28, finding 4). Not a stream that keeps quiet
        // on its own (StepItem.ownQuiet: a report-on-change sensor): its filled steps are its value unchanged, so the
        // reading that ends its quiet changed it in one step (a +4 °C fault whose first reading came after 22 min
        // of quiet was judged as 4 °C over 23 steps, 0.8 °C a step, and never opened: ROCEND).
        const walk = r.item.ownQuiet === true ? 0 : filled;
        d2[c] = counterUnheard ? (moved / (1 + filled)) ** 2 : moved ** 2 / (1 + walk);
        // An exact repeat of a quantised stream is a change below its resolution q: floored at the quantisation
        // noise of a change, q²/6 (two readings' errors, each uniform over a step: q²/12 each; Widrow & Kollár,
        // "Quantization Noise", 2008), so a stream that mostly repeats and flickers by one step where its level
        // crosses a step does not read each flicker as thousands of times its noise level (tryout 12).
        const floor = d2[c] === 0 ? (s.step[c] * s.step[c]) / 6 : 0;
        logD2[c] = Math.log(Math.max(d2[c], floor) + 1e-4 * s.longVar[c] + 1e-300);
        if (s.longVar[c] === 0 && d2[c] > 0) firstMove = true;
        // An exact repeat at a value the stream rests at (a floor such as 0 lux at night; quietValues) is the
        // stream at rest, not its noise level collapsing: it enters spread's short mean as the long-term mean
        // itself (neutral), and the long-term means do not learn it (learnVariability).
        if (d2[c] === 0 && s.longVar[c] > 0 && isQuiet(s, c, r.item.values[c], this.opts.horizon)) logD2[c] = s.restLog[c];
      }
      if (firstMove) s.shortLog.clear();
      s.shortLog.push(logD2);
      for (let c = 0; c < C; c++) {
        const long = s.longVar[c];
        const floor = 1e-4 * long + 1e-300;
        // Spread: the short mean of the log squared changes against their long-term mean (geometric means),
        // as the ratio or its inverse (a ratio of squared changes, as change is). A mean of logs is hardly
        // moved by the few large changes of a switch between regimes (a motor that starts, a valve that
        // opens), which dominate a mean of squares and would hide a burst of noise or a freeze on such a
        // stream. The short mean is a boxcar (a fault leaves it shortSpan(smooth) readings after it ends) and
        // leaves out its two largest and two smallest values (a symmetric trimmed mean): a spike (a change
        // away and one back) or a step is one or two changes, which change and level judge, not a new noise
        // level.
        const moved = long > 0;
        const lr = s.shortLog.trimmedMean(c, SPREAD_TRIM) - s.restLog[c];
        sp[c] = moved ? Math.exp(Math.abs(lr)) : 1;
        // A first change of a channel that never moved is as strange as a change can be (scored as the largest
        // surprise; a non-finite value is never taught to a history, so it cannot blind the kind later).
        ch[c] = moved ? d2[c] / (long + floor) : d2[c] > 0 ? Number.POSITIVE_INFINITY : 0;
        // A step with no reading is a repeat of the value for a stream that keeps quiet while its value holds (a
        // report-on-change sensor: its filled steps are its value, unchanged), not for one whose run began while it
        // changed at nearly every reading (runs.ts busyRun): that stream did not repeat its value, it sent nothing,
        // and each filled step judged as a repeat of a noisy state would be another unlikely event (a 25 s pause of
        // a 1 Hz hub opened `missing data` at surprise 14.6 where its next reading equalled the last by chance:
        // tryout 15, finding 4). Its silence is judged as a silence once it is a gap (silenceOf), not as a run.
        const repeats = heard > 0 && busyRun(s.runModel, c * RUN_STATE) ? 0 : heard;
        if (burst) {
          // A reading of an arrival-stamped burst (StepItem.burst) came at no time of its own: how long a value or a
          // level was held across it is not known. The run and the level's dwell start over at it, as after a gap,
          // neither judged nor taught; they go on from the burst's last reading (tryout 28, finding 5: a plug's normal
          // cycle flushed at a reconnect was told `0.5 W for 34 s, never longer than 30 s before (stuck value)`).
          s.run[c] = 1;
          s.runRare[c] = 0;
          restartRun(s.runModel, c * RUN_STATE);
          s.dwells[c].restart();
          s.dwells[c].step(r.item.values[c], 0, 0, o.horizon, r.item.ts);
          st[c] = Number.NaN;
          continue;
        }
        if (r.item.values[c] === s.last[c]) {
          // Filled steps held the previous value: a run that goes on counts them. A run longer than any
          // taught so far is taught as it goes (censored: it is at least this long), each time it grows by a
          // quarter, so a long run seen in normal operation makes the next one ordinary before it ends: in the
          // learning period (known normal), and at a value the stream rests at (quietValues). Elsewhere a run
          // is one observation, taught once, when it ends: its records (a dozen excesses for one run of 90)
          // made one missed freeze weigh in the tail fit as a dozen long runs (docs/SCORING.md section 2).
          s.run[c] += 1 + repeats;
          noteStep(s.runModel, c * RUN_STATE, true, 1 + repeats, o.smooth);
          // A run that lasts a full short mean in the learning period is how the stream holds a value (known
          // normal): it is left to the run-length tail, which learns it as it goes, also once learning ends.
          if (learning && s.run[c] >= shortSpan(o.smooth)) restartRun(s.runModel, c * RUN_STATE);
          if (s.run[c] >= RECORD_STEP * s.longest[c] && (learning || isQuiet(s, c, r.item.values[c], o.horizon))) {
            done[c] = Math.log1p(s.run[c]);
            s.longest[c] = s.run[c];
          }
        } else {
          // A run that stuck called rare (runRare: its surprise reached the hold level) is censored out of the
          // history of run lengths, as a value that would hold an episode is (SPOT's censoring), whether or not
          // it opened one: judged by the next reading's run of 1, a freeze that just missed the threshold was
          // taught, and made every later one less rare (the demo's motor: 4.87, then 2.75, 2.63, …).
          if (s.runRare[c] === 0) {
            done[c] = Math.log1p(s.run[c]);
            if (s.run[c] > s.longest[c]) s.longest[c] = s.run[c];
            // A busy run away from the stream's rests that did not become one (shorter than a full short mean) is
            // also taught to the model of such runs (runs.ts), censored alike.
            if (s.run[c] < shortSpan(o.smooth) && !isQuiet(s, c, s.last[c], o.horizon)) teachRun(s.runModel, c * RUN_STATE, s.run[c], o.horizon);
          }
          // A run long enough to fill spread's short mean, which stuck never called rare: the stream rests at
          // that value (quietValues), whether or not an episode held it (spread's, at its first such rest).
          if (s.run[c] >= shortSpan(o.smooth) && s.runRare[c] === 0) {
            teachQuiet(s, c, s.last[c]);
            s.restEnded[c] = s.run[c];
          }
          // A run stuck called rare is no habit of the stream's: its value does not count as one the latest readings
          // kept returning to (a sentinel that freezes again right after a reading or two is rare again at once).
          if (s.runRare[c] !== 0) {
            rareEnded = true;
            if (C === 1) s.rareRunEnded = s.run[c];
          }
          s.runRare[c] = 0;
          s.run[c] = 1;
          // Filled steps held the previous value; the reading changed it.
          if (repeats > 0) noteStep(s.runModel, c * RUN_STATE, true, repeats, o.smooth);
          // A change of at most one step (the resolution) is still where the stream's noise is below about half a
          // step (its long-term mean squared change below q²/2): such a quantised signal flickers by one step where
          // its level crosses one (runs.ts noteStep). Below 1.5 steps, not at most one: the steps of decimal values
          // differ in their last bits (21.5 − 21.4 and 21.4 − 21.3 are not the same double).
          const q = s.step[c];
          noteStep(s.runModel, c * RUN_STATE, false, 1, o.smooth, s.longVar[c] < (q * q) / 2 && Math.abs(r.item.values[c] - s.last[c]) < 1.5 * q);
        }
        st[c] = Math.log1p(s.run[c]);
        // A run that began while the stream changed at nearly every reading, away from a rest, is also judged by
        // how rarely the stream repeats a value in that state (runs.ts): each further repeat of a noisy state is
        // another unlikely event. At a rest, or in a calm state (report-on-change), by the run-length tail alone.
        if (s.run[c] > 1 && !isQuiet(s, c, r.item.values[c], o.horizon)) s.runFloor[c] = runSurprise(s.runModel, c * RUN_STATE, s.run[c]);
        // A run is no rarer than the readings just before it make its value (runs.ts recentRunSurprise): a noise burst
        // over a value near a floor the sensor cannot go below (a motor's current at rest, 0.05 A, bursting by ± 3 A
        // and read 0.000 at every reading below 0) puts half its readings at the floor, and a run of four there is
        // the burst's habit, not a freeze; judged by the stream's own runs (a repeat once in 300 readings), the
        // demo told 3 of its 25 bursts `stuck`. A value they never took (a sentinel, a freeze) is judged as before.
        if (s.run[c] > 1) {
          const seen = s.recentValues.seenBeforeRun(c, r.item.values[c], scratch.seen);
          const ceiling = recentRunSurprise(seen[0], seen[1], s.run[c] - 1);
          if (ceiling >= 0) s.runCeiling[c] = ceiling;
        }
        // A state held far longer than the stream's own dwells in it (src/pipeline/dwell.ts), its switches measured
        // against the typical change (the geometric mean of the changes, which the switches hardly move): a duty
        // cycle's plug stuck on, whose level is its usual one and whose readings are not exact repeats.
        // Steps the daemon did not hear (StepItem.unheard: a restart restored the stream from a checkpoint older than
        // its last reading, a broker outage) may have held any state: the present dwell's start is lost, as after a
        // gap (tryout 28, finding 4: a plug cycling normally was told `0.5 W for 66 s (stuck value)` after a kill -9).
        if (r.item.kind === 'reading' && r.item.unheard === true && filled > 0) s.dwells[c].restart();
        const dwell = s.dwells[c].step(r.item.values[c], r.item.kind === 'reading' && r.item.unheard === true ? 0 : filled, s.longVar[c] > 0 ? Math.exp(s.switchLog[c] / 2) : 0, o.horizon, r.item.ts);
        if (dwell > s.runFloor[c]) s.runFloor[c] = dwell;
      }
      if (rareEnded) s.recentValues.clear();
      pushFinite(s.recentValues, r.item.values);
      if (s.varCount >= o.smooth) {
        // Spread once its short mean is full again (after a stuck run it starts over).
        if (s.shortLog.count >= s.shortLog.n) spread = sp;
        change = ch;
      }
      // A counter repeats its value for as long as nothing is consumed: its runs are taught (its silences are
      // judged against them) but are no evidence of a stuck sensor (src/pipeline/counter.ts).
      stuck = s.counter || burst ? null : st;
      ended = burst ? null : done;
    } else {
      s.run.fill(1);
      s.runRare.fill(0);
      for (let c = 0; c < C; c++) {
        scratch.gapBusy[c] = busyRun(s.runModel, c * RUN_STATE) ? 1 : 0;
        restartRun(s.runModel, c * RUN_STATE);
        // The present dwell's start is lost with the stream's continuity: it starts over, its length unknown.
        s.dwells[c].restart();
        s.dwells[c].step(r.item.values[c], 0, 0, o.horizon, r.item.ts);
      }
      // The first reading after a gap (not the stream's first): the silence, ln(1 + the steps it missed), a stretch
      // without news, against the stream's own runs (judged on its own in score: silenceOf), and taught as a run
      // that ended unless rare: a report-on-change sensor's long quiet is not rare, and a stream whose silences
      // recur learns them. Counted in the stream's own intervals.
      if (r.item.reset) s.recentValues.clear();
      pushFinite(s.recentValues, r.item.values);
      const missed = r.item.kind === 'reading' && s.last !== null ? (r.item.missed ?? 0) : 0;
      if (missed > 0) {
        st.fill(Math.log1p(missed));
        stuck = st;
        ended = st;
      }
    }
    // Rarity: how little of the stream's normal values lay near this one (HBOS): −ln p(value) against each
    // channel's value histogram, as the trimmed short mean over the last shortSpan(smooth) readings (the two
    // largest and two smallest left out, as spread's: the one or two readings of a switch between the modes of a
    // duty cycle, which cross the gap between them, are not a rare level), reported as its exponential: how
    // many times rarer than an even share of the history the stream's values lately were (a ratio, as spread).
    let rarity: Float64Array | null = null;
    const { rare, rareMean } = scratch;
    let histReady = true;
    for (let c = 0; c < C; c++) {
      const h = s.values[c];
      if (!(h.ready || h.count >= o.learnReadings)) {
        histReady = false;
        break;
      }
      rare[c] = h.rarity(r.item.values[c], 1, s.seen);
      if (!Number.isFinite(rare[c])) histReady = false;
    }
    if (histReady) {
      s.rareBox.push(rare);
      if (s.rareBox.count >= s.rareBox.n) {
        for (let c = 0; c < C; c++) rareMean[c] = Math.exp(s.rareBox.trimmedMean(c, SPREAD_TRIM));
        rarity = rareMean;
      }
    } else s.rareBox.clear();
    const predictive = o.mode !== 'reconstruction';
    // The two records are the scratch's, refilled by every reading.
    const out = scratch.judged;
    out.prediction = predictive ? prediction : null;
    out.bias = predictive ? bias : null;
    out.reconstruction = o.mode === 'prediction' ? null : reconstruction;
    out.level = r.warm ? level : null;
    out.shift = r.warm && s.meanCount >= o.smooth ? shift : null;
    out.change = change;
    out.spread = spread;
    out.stuck = stuck;
    out.rarity = rarity;
    out.cycle = this.cycleEvidence(s, r, scratch);
    if (o.evidence !== undefined) for (const k of EVIDENCE) if (!o.evidence.includes(k)) out[k] = null;
    const taught = scratch.taught;
    // Kind by kind with named properties (a loop over EVIDENCE's names would be a keyed store and load each).
    taught.prediction = out.prediction;
    taught.bias = out.bias;
    taught.reconstruction = out.reconstruction;
    taught.level = out.level;
    taught.change = out.change;
    taught.shift = out.shift;
    taught.spread = out.spread;
    taught.stuck = out.stuck === null && !(s.counter && (o.evidence === undefined || o.evidence.includes('stuck'))) ? null : ended;
    taught.rarity = out.rarity;
    taught.cycle = out.cycle;
    // A reading stamped on arrival that ended a fill (StepItem.holeEnd) may be the first of an arrival-stamped burst:
    // the run or dwell it carries across the fill is judged at the next reading (taught as ever).
    if (r.item.kind === 'reading' && r.item.holeEnd === true) {
      out.stuck = null;
      s.runFloor.fill(0);
    }
    return scratch;
  }

  /**
   * The cycle evidence of one reading ([C], or null): the square of the short (trimmed) mean of the residual
   * against each channel's cycle profile (src/pipeline/cycle.ts), over the long-term mean squared residual of
   * normal readings. A level shift on a cyclic signal: the cycle's amplitude sets the running std, so `level`
   * and `shift` see a shift of twice the amplitude as z of 2 or 3 (the cycle's own peaks reach 1.4), `rarity`
   * sees the shifted values only while they are beyond the normal range (the top of each cycle), and a model
   * driven by its input follows the shifted readings within a few steps (its residual, `bias`, keeps a small
   * share of the shift); against the profile, the shift is the whole residual, at every phase.
   */
  private cycleEvidence(s: StreamScore, r: StepResult<unknown>, scratch: EvidenceScratch): Float64Array | null {
    const C = s.C;
    const { cycRes, cycOff, cyc, cycHold, cycU } = scratch;
    cycHold.fill(Number.NaN);
    cycU.fill(Number.NaN);
    if (r.item.reset) {
      for (const cy of s.cycles) cy.clear();
      s.cycBox?.clear();
    }
    if (r.item.retimed === true) {
      // Another report period (StepItem.retimed, tryout 38 finding 8: a weather sensor from 5 min to 1 min): the
      // cycle's period and profile, counted in readings of the old one, and its residuals' scale start over, as at a
      // new normal's; its dwells too (counted in readings). The period is found again at the new pace, as for a new
      // stream; the model, the value ranges and the histories of its evidence are kept.
      for (let c = 0; c < C; c++) {
        s.cycles[c].clear();
        s.dwells[c].clear();
        s.cycVar[c] = 0;
        s.cycCount[c] = 0;
        s.cycMax[c] = 0;
      }
      s.cycBox?.clear();
    }
    if (r.item.kind === 'reading' && r.item.burst === true) {
      // A reading of an arrival-stamped burst (StepItem.burst) has no place in the cycle of its own: not judged, and
      // the short mean of the residuals starts over after the burst, as after a gap (the profile and its phase kept).
      cycRes.fill(Number.NaN);
      cycOff.fill(0);
      s.cycBox?.clear();
      return null;
    }
    let ready = true;
    // A reading bunched after a fill stands at the latest held reading's place in the cycle (CycleProfile.advance).
    const bunched = r.item.kind === 'reading' && r.item.bunched !== undefined;
    for (let c = 0; c < C; c++) {
      // A duty cycle's switch a few readings early or late is on time: the reading is judged against the profile
      // where it stands (CycleProfile.nearest; its own place on a cycle without switches).
      const x = r.item.values[c];
      // In an open episode of the channel, its readings are judged at their own place: the slack says whether a
      // switch's timing is news, and a fault that opened (a plug stuck on) is held through the switches it misses.
      const owned = s.episode !== null && s.episode.owners[c];
      cycOff[c] = s.cycles[c].nearest(x, owned ? 0 : cycleScale(s, c, this.opts.smooth), bunched);
      cycRes[c] = x - s.cycles[c].expectedAt(cycOff[c]);
      if (!Number.isFinite(cycRes[c])) ready = false;
    }
    if (!ready) {
      s.cycBox?.clear();
      return null;
    }
    const box = s.cycBox ?? (s.cycBox = new Boxcar(C, shortSpan(this.opts.smooth)));
    box.push(cycRes);
    if (box.count < box.n) return null;
    // A duty cycle whose phases vary in length too much for a profile of fixed phase (a thermostat's: a fridge's
    // compressor on for 12 to 18 minutes, off for 25 to 35) says nothing: its residuals against the profile are
    // timing, not level (tryout 30 F2: a fridge plug's normal switches "off the usual cycle" 19 times a day). The
    // profile is rebuilt from the held readings, whose phase wanders from the latest switch's as the cycle lengths'
    // jitter adds up over the periods held (a random walk: its standard deviation times the square root of their
    // number); beyond the slack a switch may come in and still be on time, the profile stands for no phase. The
    // dwells (src/pipeline/dwell.ts) judge such a cycle's timing, and rarity, spread, stuck and level its values.
    for (let c = 0; c < C; c++) {
      const cy = s.cycles[c];
      if (s.dwells[c].cycleJitter() * Math.sqrt(cy.periodsHeld) > cy.slackReadings) return null;
    }
    this.coldCycleHold(s, box, cycHold, cycU);
    for (let c = 0; c < C; c++) {
      // The kind speaks once the channel's residuals against this cycle have been learnt over two of its periods:
      // a history that has not seen a whole period of them (how far a duty cycle's phases drift, the cycle's
      // own unevenness) would call the first of those rare.
      if (!(s.cycCount[c] >= Math.max(this.opts.smooth, 2 * s.cycles[c].period) && s.cycVar[c] > 0)) return null;
      cyc[c] = box.trimmedMean(c, SPREAD_TRIM) ** 2 / s.cycVar[c];
    }
    return cyc;
  }

  /**
   * What holds an open episode while its channel's cycle does not speak yet (`hold`, per channel: a surprise, NaN
   * where it does not hold): the kind speaks once the residuals against a period have been learnt over two periods
   * and its histories are ready, hundreds of readings after the period is found. A level shift in that time is held
   * by the kinds that see it at some phases only (`rarity`, beyond the normal range at the top of each cycle), and
   * was resolved "recovered" where the shifted cycle came back within the normal range (tryout 13). So, once the
   * profile stands and a learning's worth (`learnReadings`) of normal residuals has been learnt, the statistic the
   * kind would judge, u = m² / v (m the short trimmed mean of the residuals, v their long-term mean square; `u`
   * per channel), holds an owner's episode while it is beyond the largest u of any normal reading since the
   * residuals started (StreamScore.cycMax, which an open episode's own channels do not teach: frozen at the onset):
   * the stream is further off its cycle than normal operation has ever been, so it has not recovered. Judged
   * against what normal operation showed, not against a distribution assumed for it: a room's temperature wanders
   * off its day's profile for hours, and a scale that took its residuals for independent ones held a recovered
   * fault open (field case slow-300s). It never opens an episode.
   */
  private coldCycleHold(s: StreamScore, box: Boxcar, hold: Float64Array, u: Float64Array): void {
    const row = s.reference[CYCLE];
    for (let c = 0; c < s.C; c++) {
      const speaks = s.cycCount[c] >= Math.max(this.opts.smooth, 2 * s.cycles[c].period) && row !== null && row[c].ready;
      if (speaks || !(s.cycCount[c] >= this.opts.smooth && s.cycVar[c] > 0)) continue;
      // One walk of the short mean for both (trimmedMean is a pure function of the boxcar).
      const m = box.trimmedMean(c, SPREAD_TRIM);
      u[c] = m ** 2 / s.cycVar[c];
      if (s.cycCount[c] >= this.opts.learnReadings && u[c] > s.cycMax[c] && m * s.cycDir[c] > 0) hold[c] = this.holdSurprise;
    }
  }

  /**
   * The end of a stream's learning period (docs/SCORING.md section 6): `rarity` and `cycle`, whose evidence
   * otherwise starts hundreds of readings after it (a value histogram of learnReadings values filled from the
   * 17th reading; a first period estimate at 512 readings), get it from the learning period's own readings, so
   * their histories are settled with the others'. From the readings each channel's cycle holds (the learning
   * period's, raw while no period is known; filled steps hold the value before them):
   * - rarity, when a channel's value histogram is not full (holds fewer than learnReadings values) and at least
   *   learnReadings readings are held: the histogram is filled again with them at the stream's current typical
   *   change (if that gives it more) and is ready from then on (ValueHistogram.ready), and each reading's rarity,
   *   by two folds (each half of the readings judged against a histogram of the other half, counted twice: never
   *   against a histogram that learnt it, and in time order, so a walk's new ground is in the history), goes
   *   through rarity's short mean into its histories, as a judged reading's would;
   * - cycle, when no period was estimated yet: the period is estimated now (CycleProfile.warmStart), and the
   *   leave-one-out residuals against the profile give the long-term mean square (winsorised at CYCLE_CLIP of
   *   its plain root mean square) and, through the cycle's short mean, the values of its histories.
   * Only when every channel gets its values (both kinds speak for all of a stream's channels or none). The
   * histories' guard bands take them as any value; the caller commits them and settles the histories.
   */
  private warmKinds(s: StreamScore): void {
    const C = s.C;
    const o = this.opts;
    const wants = (k: Evidence): boolean => o.evidence === undefined || o.evidence.includes(k);
    const span = shortSpan(o.smooth);
    const held = s.cycles.map((cy) => cy.readings());
    const n = Math.min(...held.map((h) => h.length));
    if (!(n >= span)) return;
    const teachRow = (k: number, v: Float64Array): void => {
      for (const set of ['reference', 'adaptive'] as const) {
        const row = s.row(set, k);
        for (let c = 0; c < C; c++) row[c].addAt(v, c);
      }
    };
    // Rarity.
    if (wants('rarity') && s.varCount >= o.smooth && n >= o.learnReadings && s.values.some((h) => !(h.ready || h.count >= o.learnReadings))) {
      const histogram = (c: number, from: number, to: number): ValueHistogram => {
        const h = new ValueHistogram(o.horizon, s.values[c].lag);
        // Indexed, in order (once per stream, mostly unoptimised code: an iterator over a subarray costs several times more).
        const src = held[c];
        for (let i = src.length - n + from, end = src.length - n + to; i < end; i++) {
          const x = src[i];
          h.add(x, valueScale(s, c, x));
        }
        h.commitPending();
        return h;
      };
      const fresh = s.values.map((_, c) => histogram(c, 0, n));
      if (fresh.every((h, c) => h.count > s.values[c].count)) {
        for (const h of fresh) h.ready = true;
        // The learning period's own motion: beyond every mass, its values are judged from where that carries the range.
        fresh.forEach((h, c) => h.learnMotion(held[c].subarray(held[c].length - n), s.seen, this.thresholdZ));
        s.values = fresh;
        s.rareBox.clear();
        // Two folds: each half of the readings is judged against the other half's histogram, counted twice.
        const half = Math.floor(n / 2);
        const folds = [s.values.map((_, c) => histogram(c, half, n)), s.values.map((_, c) => histogram(c, 0, half))];
        const rare = new Float64Array(C);
        const out = new Float64Array(C);
        for (let i = 0; i < n; i++) {
          const other = folds[i < half ? 0 : 1];
          let finite = true;
          for (let c = 0; c < C; c++) {
            rare[c] = other[c].rarity(held[c][held[c].length - n + i], n / (i < half ? n - half : half));
            if (!Number.isFinite(rare[c])) finite = false;
          }
          if (!finite) {
            s.rareBox.clear();
            continue;
          }
          s.rareBox.push(rare);
          if (s.rareBox.count < s.rareBox.n) continue;
          for (let c = 0; c < C; c++) out[c] = Math.exp(s.rareBox.trimmedMean(c, SPREAD_TRIM));
          teachRow(RARITY, out);
        }
      }
    }
    // Cycle.
    if (wants('cycle') && s.cycles.every((cy) => cy.period === 0)) {
      const res = s.cycles.map((cy) => cy.warmStart());
      if (res.every((r): r is Float64Array => r !== null && r.length >= n)) {
        for (let c = 0; c < C; c++) {
          const r = res[c].subarray(res[c].length - n);
          let ms = 0;
          for (let i = 0; i < r.length; i++) ms += r[i] * r[i];
          ms /= n;
          const clip = CYCLE_CLIP * Math.sqrt(ms);
          let v = 0;
          for (let i = 0; i < r.length; i++) v += Math.min(clip, Math.abs(r[i])) ** 2;
          s.cycVar[c] = v / n;
          s.cycCount[c] = n;
        }
        if (s.cycVar.every((v) => v > 0)) {
          const box = s.cycBox ?? (s.cycBox = new Boxcar(C, span));
          box.clear();
          const e = new Float64Array(C);
          const out = new Float64Array(C);
          for (let i = 0; i < n; i++) {
            for (let c = 0; c < C; c++) e[c] = res[c][res[c].length - n + i];
            box.push(e);
            if (box.count < box.n) continue;
            for (let c = 0; c < C; c++) out[c] = box.trimmedMean(c, SPREAD_TRIM) ** 2 / s.cycVar[c];
            teachRow(CYCLE, out);
          }
        }
      } else {
        // A period on some channels only: they start as a period found at a later estimate would.
        for (let c = 0; c < C; c++) {
          s.cycCount[c] = 0;
          s.cycVar[c] = 0;
          s.cycMax[c] = 0;
        }
      }
    }
  }

  /**
   * The cycles learn normal readings (not the channels an open episode owns, `owners`): the profile and the
   * long-term mean squared residual; every reading moves the phase on.
   */
  private learnCycles(s: StreamScore, r: StepResult<unknown>, owners: readonly boolean[] | null, learning: boolean): void {
    const res = this.scratch.get(s.C)?.cycRes;
    const offs = this.scratch.get(s.C)?.cycOff;
    const filled = r.item.kind === 'reading' ? r.item.filled : 0;
    // A reading bunched after a fill gives a filled step back to the cycle (CycleProfile.advance): its place in the
    // cycle is not known (it was sent between the reading before the fill and now), so it teaches the profile nothing.
    const bunched = r.item.kind === 'reading' ? (r.item.bunched ?? 0) : 0;
    // A reading of an arrival-stamped burst (StepItem.burst): its place is not known either; it teaches nothing and
    // moves no switch, and the phase moves on as for any reading (bunched after a fill: giving a filled step back).
    const burst = r.item.kind === 'reading' && r.item.burst === true;
    for (let c = 0; c < s.C; c++) {
      const owned = owners !== null && owners[c] && !learning;
      const x = r.item.values[c];
      // Residuals are winsorised at CYCLE_CLIP long-term standard deviations (Huber): a departure that has not
      // opened an episode yet (the first readings of a shift, before the short mean has filled) does not inflate
      // the scale it is judged against, nor move the profile more than an ordinary reading.
      const scale = cycleScale(s, c, this.opts.smooth);
      const clip = scale > 0 ? CYCLE_CLIP * scale : Infinity;
      // Where cycleEvidence found the reading stands (its own place, or a few readings off at a duty cycle's switch).
      const off = offs === undefined || res === undefined || !Number.isFinite(res[c]) ? (bunched > 0 ? -1 : 0) : offs[c];
      const expected = s.cycles[c].expectedAt(off);
      const e = res === undefined ? Number.NaN : Math.max(-clip, Math.min(clip, res[c]));
      if (!owned) {
        const u = this.scratch.get(s.C)?.cycU[c];
        if (u !== undefined && u > s.cycMax[c]) s.cycMax[c] = u;
        if (Number.isFinite(e)) {
          s.cycCount[c]++;
          s.cycVar[c] += (e * e - s.cycVar[c]) / Math.min(this.opts.horizon, s.cycCount[c]);
        }
        if (bunched === 0 && !burst) s.cycles[c].teach(x, clip, off);
      }
      // The held readings (from which the period is estimated and the profile rebuilt) take a fault's readings as
      // what the profile expected of them, and others winsorised as above: a profile rebuilt after a level shift
      // is not part of the way up to it.
      const held = !Number.isFinite(expected) ? x : owned ? expected : Number.isFinite(e) ? expected + e : x;
      // The readings just before an episode that the cycle took for a switch late or early (held as they came, at
      // the level a few phases away) were the fault's onset: a plug that did not switch off (or on) when due, held
      // at the slack's edge until the episode opened. Held as the profile expected them too, or the next rebuild of
      // the profile (every ESTIMATE_EVERY readings) takes one period's switch as moved by the slack (tryout 22,
      // finding 5: a fridge plug's normal on phase told "83 W, expected 76 ± 10 (off the usual cycle)" after it
      // stayed off for 4 cycles).
      if (owned && s.cycAside[c] > 0 && bunched === 0) s.cycles[c].reimpute(s.cycAside[c]);
      s.cycAside[c] = owned || bunched > 0 ? 0 : off !== 0 ? s.cycAside[c] + 1 + filled : 0;
      const before = s.cycles[c].cycles;
      // A switch the readings made puts the phase at the profile's (in an episode too: the raw readings, so a duty
      // cycle that comes back from a fault at another phase is followed again).
      if (bunched === 0 && !burst && s.last !== null && !r.item.reset) s.cycles[c].realign(s.last[c], x, filled, scale);
      s.cycles[c].advance(held, filled, owned, bunched);
      // The drift of the level off a long cycle takes the raw reading (an episode's too: a drift holds its own).
      s.drifts[c].update(s.cycles[c], x, r.item.reset ? 0 : filled, !owned, s.step[c], shortSpan(this.opts.smooth), r.item.ts);
      // The level's excursion beyond everything shown takes the raw reading (an episode's too: it holds its own).
      if (bunched === 0 && !burst) s.excursions[c].update(x, !owned, learning, s.step[c], r.item.ts);
      // A new period: its residuals start over.
      if (s.cycles[c].cycles !== before) {
        s.cycCount[c] = 0;
        s.cycVar[c] = 0;
        s.cycMax[c] = 0;
      }
    }
  }

  /**
   * The long-term variability of changes learns from normal readings only: not the channels an open episode owns
   * (`owners[c]`; null: no episode), whose changes are gathered for a new normal instead.
   */
  private learnVariability(s: StreamScore, r: StepResult<unknown>, owners: readonly boolean[] | null): void {
    if (s.last === null || r.item.reset) return;
    const filled = r.item.kind === 'reading' ? r.item.filled : 0;
    s.varCount++;
    const a = 1 / Math.min(this.opts.horizon, s.varCount);
    for (let c = 0; c < s.C; c++) {
      const d = r.item.values[c] - s.last[c];
      const raw = (d * d) / (1 + filled);
      // A channel that never moved has no noise level to learn yet (see evidence): its first change starts it.
      if (s.longVar[c] === 0 && raw === 0) continue;
      // Bounded influence (Huber's winsorising; Gelper, Fried & Croux 2010 for an exponential mean): once the mean
      // holds `smooth` changes (when `change` starts to speak against it), a squared change enters the long-term
      // means at most at varBound of the mean so far, so no one change (a firmware glitch: 1e14 after 5 ± 0.05, a
      // squared change of 1e28) can more than double the mean squared change nor floor every later log squared
      // change with it; a duty cycle's recurring switches still raise it to theirs (at most doubling it each), and
      // once the mean holds many changes the bound is far above any real change. Not before: the ratio of a squared
      // change to a mean of a few is heavy-tailed (of two normal ones, F(1, 1): above 16 one time in six).
      if (owners !== null && owners[c]) {
        // An open episode's own channel: not normal operation, but what a new normal would be. Its mean squared
        // change is bounded alike, against its own mean so far (a cumulative mean: weight 1/(count + 1)).
        const n = s.epCount[c];
        const d2e = n < this.opts.smooth || s.epVar[c] === 0 ? raw : Math.min(raw, varBound(s.epVar[c] / n, 1 / (n + 1)));
        s.epDirty = true;
        // The same floor as the evidence's, before this change updates it.
        s.epLog[c] += Math.log(d2e + 1e-4 * s.longVar[c] + 1e-300);
        s.epVar[c] += d2e;
        s.epCount[c]++;
        continue;
      }
      const d2 = s.varCount <= this.opts.smooth || s.longVar[c] === 0 ? raw : Math.min(raw, varBound(s.longVar[c], a));
      // The same floor as the evidence's, before this change updates it.
      const logD2 = Math.log(d2 + 1e-4 * s.longVar[c] + 1e-300);
      if (s.longVar[c] === 0) {
        s.longLog[c] = logD2;
        s.restLog[c] = logD2;
        s.switchLog[c] = logD2;
        s.switchCount[c] = 1;
        s.longVar[c] = d2;
        continue;
      }
      s.longLog[c] = (1 - a) * s.longLog[c] + a * logD2;
      // An exact repeat at a value the channel rests at says nothing of its noise level (see evidence).
      if (!(d2 === 0 && isQuiet(s, c, r.item.values[c], this.opts.horizon))) {
        s.restLog[c] = (1 - a) * s.restLog[c] + a * logD2;
        s.switchCount[c] = Math.min(this.opts.horizon, s.switchCount[c] + 1);
        const w = 1 / s.switchCount[c];
        s.switchLog[c] = (1 - w) * s.switchLog[c] + w * logD2;
      }
      s.longVar[c] = (1 - a) * s.longVar[c] + a * d2;
    }
  }

  private spreadOf(s: StreamScore, r: StepResult<unknown>): number[] | null {
    if (r.expected === null) return null;
    const k = EVIDENCE.indexOf('prediction');
    const row = s.reference[k];
    if (row === null) return null;
    // A plain array (a typed array costs several times more to make, once per reading).
    const out = new Array<number>(s.C);
    for (let c = 0; c < s.C; c++) {
      const tail = row[c];
      if (!tail.ready) return null;
      // The median squared error of a normal prediction error is 0.455 of its variance (chi-square, 1 dof).
      out[c] = r.std[c] * Math.sqrt(tail.quantile(0.5) / 0.455);
    }
    return out;
  }

  /**
   * The row score of a reading inside an open episode: other channels' surprise as usual; an owner channel's
   * only when it is at least tenfold rarer than the episode's largest row score so far.
   */
  private rowInEpisode(ep: Episode, adaptive: Fused): number {
    let row = 0;
    for (let c = 0; c < ep.owners.length; c++) {
      const v = adaptive.rowChannels[c] - adaptive.penalty;
      if (!ep.owners[c] || v >= ep.rowPeak + 1) row = Math.max(row, v);
    }
    return Math.min(row, MAX_SURPRISE);
  }

  /**
   * Whether the reading that would open an episode does so only by the kinds that any visit of a duty cycle's state
   * far from the stream's mean raises (VISIT_KINDS: its distance from the mean and the model's expectation, the jump
   * into it, its noise against the rest's): every channel that reached the threshold (`adapt`'s or `dev`'s surprise less its Bonferroni share;
   * reconstruction left out where `judged`, as lifecycle does) is at a state of its duty cycle in a dwell that its
   * dwells judge ordinary, as noisy as its state (DwellTracker.visiting), and none of its other kinds (stuck with the
   * dwell's own surprise, rarity) reaches the threshold against normal operation (`dev`). A kettle's plug, 0 W but for a few uses a day of 3 to 5 minutes at
   * 1,800 W: each use was the rarest thing its censored histories knew (an episode keeps its readings out of them)
   * and was told a level shift, every day, and a left-on like a use (tryout 31). Its dwells know the use: once they
   * judge its length (8 uses: what they need to tell a left-on, DwellTracker), a use is no episode, and a left-on
   * is told when its dwell is rare (`stuck`, its length against the longest before).
   */
  private visitOnly(s: StreamScore, r: StepResult<unknown>, adapt: Fused, dev: Fused, judged: boolean): boolean {
    const C = s.C;
    const skip = judged ? RECONSTRUCTION : -1;
    let any = false;
    for (let c = 0; c < C; c++) {
      const reached = channelWithout(adapt, skip, C, c) - adapt.penalty >= this.thresholdSurprise || channelWithout(dev, skip, C, c) - dev.penalty >= this.thresholdSurprise;
      if (!reached) continue;
      if (!s.dwells[c].visiting(r.item.values[c], this.holdSurprise)) return false;
      // Against normal operation (the reference): the recent history (adaptiveHorizon readings, 83 min at 10 s) holds
      // no use of a plug used every few hours, so its rarity is high at every use.
      for (let k = 0; k < EVIDENCE.length; k++) if (!VISIT_KINDS[k] && dev.each[k * C + c] - dev.penalty >= this.thresholdSurprise) return false;
      any = true;
    }
    return any;
  }

  /** Hysteresis; returns true when the stream's normal is re-baselined (new normal). */
  private lifecycle(s: StreamScore, r: StepResult<unknown>, adapt: Fused, dev: Fused, events: AnomalyEvent[]): boolean {
    const ts = r.item.ts;
    const score = adapt.surprise;
    const ep = s.episode;
    // A reconstruction of a window that holds a reading an episode judged off on its own opens and holds nothing
    // (windowHoldsJudged): the surprises here are without it.
    const judged = s.reconJudged;
    const devSurprise = judged ? surpriseWithout(dev, RECONSTRUCTION, s.C, s.novel) : dev.surprise;
    if (ep === null) {
      const level = Math.max(judged ? surpriseWithout(adapt, RECONSTRUCTION, s.C, s.novel) : score, devSurprise);
      // A reading of a duty cycle's channel at one of its states, in a dwell its dwells judge ordinary (a kettle's
      // use), opens nothing by the kinds that a visit of a state far from the stream's mean always raises (visitOnly).
      if (level < this.thresholdSurprise || this.visitOnly(s, r, adapt, dev, judged)) {
        s.above = 0;
        return false;
      }
      if (++s.above < this.opts.openAfter) return false;
      s.above = 0;
      s.below = 0;
      // A loop, not Array.from with a closure (which would make every lifecycle call allocate a context).
      const owners = new Array<boolean>(s.C);
      for (let c = 0; c < s.C; c++) owners[c] = Math.max(channelWithout(adapt, judged ? RECONSTRUCTION : -1, s.C, c) - adapt.penalty, channelWithout(dev, judged ? RECONSTRUCTION : -1, s.C, c) - dev.penalty) >= this.thresholdSurprise;
      // With openAfter > 1 the reading that opens may be below on its own: the episode is then about every channel.
      if (!owners.some(Boolean)) owners.fill(true);
      // Corroboration: the recent history's fitted tail is thin (adaptiveHorizon readings), so a reading it
      // alone calls rare while normal operation (the reference) is not even at the hold level opens a silent
      // episode (see Episode.silent).
      const silent = devSurprise < this.holdSurprise;
      const opened: Episode = { id: this.deps.newId(), startTs: ts, lastAboveTs: ts, readings: 1, peak: level, peakEvidence: { ...dev.evidence }, peakChannels: [...dev.channels], lastReported: level, reportedAt: 1, owners, rowPeak: score, stuckAt: 0, silent };
      const pre = new Array<number>(s.C);
      for (let c = 0; c < s.C; c++) pre[c] = s.last === null || r.item.reset ? Number.NaN : s.last[c];
      opened.pre = pre;
      // A first reading that falls back from a level excursion into the envelope it left (a drift, told or not, that
      // came back at once): its step undoes the drift, and the level it left is no reference to hold it against.
      let fellBack: boolean[] | undefined;
      for (let c = 0; c < s.C; c++) if (owners[c] && s.excursions[c].fellBack(pre[c], r.item.values[c])) (fellBack ??= new Array<boolean>(s.C).fill(false))[c] = true;
      if (fellBack !== undefined) opened.fellBack = fellBack;
      opened.came = [];
      for (let c = 0; c < s.C; c++) opened.came.push([]);
      noteCame(opened, r.item.values, UNDONE_ONSET + shortSpan(this.opts.smooth));
      notePlateau(opened, r.item.values, shortSpan(this.opts.smooth));
      opened.steps = 1;
      if (offOnOwn(s, r, opened, dev, this.holdSurprise)) {
        opened.ownAt = 1;
        opened.ownTs = ts;
      }
      s.episode = opened;
      s.holding = true;
      this.noteHeld(s, opened);
      const res = this.scratch.get(s.C)?.cycRes;
      for (let c = 0; c < s.C; c++) s.cycDir[c] = res === undefined ? 0 : Math.sign(res[c]) || 0;
      if (!silent) events.push(this.event('open', r, opened, score));
      return false;
    }
    ep.readings++;
    this.noteHeld(s, ep);
    noteCame(ep, r.item.values, UNDONE_ONSET + shortSpan(this.opts.smooth));
    notePlateau(ep, r.item.values, shortSpan(this.opts.smooth));
    const own = offOnOwn(s, r, ep, dev, this.holdSurprise);
    // The held steps the step is judged over: those since its onset and this reading's (not held yet: learnCycles).
    const added = heldSteps(r);
    const steps = (ep.steps ?? ep.readings - 1) + added;
    ep.steps = steps;
    let held = 0;
    // A cycle that does not speak yet holds its channel's episode while the readings are off its profile.
    const cold = this.scratch.get(s.C)?.cycHold;
    for (let c = 0; c < s.C; c++) {
      // A channel whose own score reaches the threshold joins: the fault spreads, or another one starts.
      if (!ep.owners[c] && adapt.channels[c] - adapt.penalty >= this.thresholdSurprise) ep.owners[c] = true;
      if (!ep.owners[c]) continue;
      held = Math.max(held, channelWithout(dev, judged ? RECONSTRUCTION : -1, s.C, c) - dev.penalty);
      if (cold !== undefined && cold[c] > held) held = cold[c];
      // A step that was not undone holds its episode while the readings are further from the level it left than
      // normal operation ever moved over as many readings (CycleProfile.unreturned).
      // Not a step that fell back from a drift into the envelope the channel had left (Episode.fellBack), nor a
      // cumulative counter's (judgeCounter: its total never comes back, and its level is not judged; a jump of its
      // total is told by its rate, and the episode ends once the rate is back: tryout 38, finding 5).
      if (held < this.holdSurprise && this.unreturnedHolds && r.item.counter === undefined && !ep.silent && ep.readings >= 2 && ep.fellBack?.[c] !== true && s.cycles[c].unreturned(r.item.values[c], steps, shortSpan(this.opts.smooth), this.opts.learnReadings, ep.came?.[c], ep.readings)) held = this.holdSurprise;
    }
    // A counter that counted without a rest far longer than ever (judgeBusy) and has now rested (no increment for a
    // rest's length since the latest reading judged busy): the episode ends at that reading, the rest none of it (the
    // reading after a night's rest, the first of a shower, is no part of a leak that ended at 06:00).
    const busy = ep.counterBusy;
    const rested = busy !== undefined && s.counterBusy === null && ts - (busy.since + busy.ms) >= busy.restMs;
    if (held >= this.holdSurprise && !rested) {
      s.holding = true;
      s.below = 0;
      ep.lastAboveTs = ts;
    } else s.below++;
    // Off on its own (not only by a short mean or a window that still holds its earlier readings; or still off, in the
    // run of the fault's readings, though nothing holds it): its end is told from here while the readings that hold it
    // after this one are within the short means' span of it (toldEnd).
    if (own && !rested) {
      ep.ownAt = ep.readings;
      ep.ownTs = ts;
    }
    if (dev.surprise > ep.peak) {
      ep.peak = dev.surprise;
      ep.peakEvidence = { ...dev.evidence };
      ep.peakChannels = [...dev.channels];
    }
    // A silent episode becomes an alarm once normal operation's history calls a reading rare too: its open.
    if (ep.silent && devSurprise >= this.thresholdSurprise) {
      ep.silent = false;
      ep.startTs = ts;
      ep.uncounted = ep.readings - 1;
      ep.peak = dev.surprise;
      ep.peakEvidence = { ...dev.evidence };
      ep.peakChannels = [...dev.channels];
      ep.lastReported = dev.surprise;
      ep.reportedAt = ep.readings;
      events.push(this.event('open', r, ep, score));
    }
    // A stuck value is never a new normal, and the readings before it do not count towards one.
    if (dev.evidence.stuck >= this.holdSurprise) {
      ep.stuckAt = ep.readings;
      s.episodeEvidence.clear();
      s.rests = [];
      clearEpisodeVariability(s);
    } else if (ep.stuckAt > 0 && ep.stuckAt === ep.readings - 1) s.unstuck = true;
    // Nor is a level still drifting away from everything the channel had shown (src/pipeline/excursion.ts, growing over
    // the last newNormalAfter readings): a level that has not settled is no normal yet. As for a stuck value, the count
    // starts over at it, and so do the readings a new normal would teach (what it adopts is the level it settled at,
    // not the drift's first readings): it is the new normal once it has held for newNormalAfter readings.
    // Nor is a counter counting without a rest far longer than ever (judgeBusy: a leak is no normal however long it
    // flows): the count starts over at each of its readings.
    if (s.counterBusy !== null) ep.grownAt = ep.readings;
    if (this.opts.newNormalAfter > 0 && this.stillDrifting(s, ep)) {
      ep.grownAt = ep.readings;
      if (s.episodeEvidence.length > 0) s.episodeEvidence.clear();
      s.rests = [];
      clearEpisodeVariability(s);
    }
    const newNormal =
      this.opts.newNormalAfter > 0 &&
      (ep.readings - Math.max(ep.stuckAt, ep.grownAt ?? 0) >= this.opts.newNormalAfter || (s.setpoints > 0 && plateauNormal(ep, shortSpan(this.opts.smooth), this.opts.newNormalAfter)));
    // An on/off stream's held state ends at the reading that says it changed (the device's own word: a door shut).
    const switched = s.onOff && ep.held !== undefined && ep.silence === undefined && r.item.kind === 'reading' && s.onOffDwell.present !== (r.item.onOffActive ?? 1);
    if (s.below >= this.opts.closeAfter || newNormal || switched || rested) {
      // Its length: the readings to its last that held it, not the closing ones after it (tryout 26, finding 8).
      const trailing = s.below;
      // A held state lasted until the reading that ended it, not until the last check-in that held it (a door held
      // open 4 h with a check-in every 50 min was told `open for 3.5 h`: tryout 38, finding 3).
      if (switched) ep.lastAboveTs = Math.max(ep.lastAboveTs, r.item.ts);
      s.episode = null;
      s.below = 0;
      if (!ep.silent) events.push({ ...this.event('resolve', r, ep, score, trailing), resolution: newNormal ? 'new_normal' : 'recovered' });
      if (!newNormal && switchShown(ep, r.item.values, shortSpan(this.opts.smooth)) && s.setpoints < SETPOINTS_MAX) s.setpoints++;
      return newNormal;
    }
    if (!ep.silent && ep.peak >= ep.lastReported + 1 && ep.readings >= 2 * ep.reportedAt) {
      // A tenfold rarer peak is worth an update, at most once each time the episode's length has doubled since
      // its last event (readings 2, 4, 8, …: a stuck value whose surprise grows with its run sent one a second).
      ep.lastReported = ep.peak;
      ep.reportedAt = ep.readings;
      events.push(this.event('update', r, ep, score, s.below));
    }
    return false;
  }

  /**
   * Whether an owner channel of episode `ep` is a level excursion still growing over the last newNormalAfter readings
   * (LevelExcursion.growing, its lag ceil(newNormalAfter / span) blocks).
   */
  private stillDrifting(s: StreamScore, ep: Episode): boolean {
    const blocks = Math.ceil(this.opts.newNormalAfter / shortSpan(this.opts.smooth));
    for (let c = 0; c < s.C; c++) if (ep.owners[c] && s.excursions[c].growing(blocks)) return true;
    return false;
  }

  /**
   * Notes on episode `ep` the state its owners hold far longer than their dwells there (DwellTracker.held, at the
   * hold level): the owner channel whose dwell is the most surprising. Kept once noted (its resolve tells it too).
   */
  private noteHeld(s: StreamScore, ep: Episode): void {
    // A level drifting beyond everything the channel had shown (src/pipeline/excursion.ts) that opens or holds the
    // episode: its onset and the envelope it left, for the explanation (a drift since then, not what the readings just
    // before the episode, already drifted, make of it).
    // A level excursion's note takes the place of a cycle drift's (below).
    if (ep.excursion === undefined || ep.excursion.expected !== undefined) {
      for (let c = 0; c < s.C; c++) {
        const told = ep.owners[c] ? s.excursions[c].told : null;
        if (told === null) continue;
        ep.excursion = { channel: c, since: Number.isFinite(told.since) ? Math.min(told.since, ep.startTs) : ep.startTs, up: told.up, lo: told.lo, hi: told.hi };
        break;
      }
    }
    // A drift of the level off a long cycle (src/pipeline/drift.ts) that opens or holds it: its onset, its furthest
    // reading off the cycle's profile and what the profile expected there (the stream's normal at that phase), for the
    // explanation (tryout 38 finding 2: a sensor in the sun was told against the level it had drifted to). Noted again
    // as the drift goes further; never in place of a level excursion's note.
    if (ep.excursion === undefined || ep.excursion.expected !== undefined) {
      for (let c = 0; c < s.C; c++) {
        const told = ep.owners[c] ? s.drifts[c].told : null;
        if (told === null || (ep.excursion !== undefined && ep.excursion.channel !== c)) continue;
        const since = Number.isFinite(told.since) ? Math.min(told.since, ep.startTs) : ep.startTs;
        ep.excursion = { channel: c, since, up: told.up, lo: told.expected - told.band, hi: told.expected + told.band, expected: told.expected, value: told.value, at: Number.isFinite(told.at) ? told.at : ep.lastAboveTs };
        break;
      }
    }
    if (s.onOff) {
      const held = s.C === 1 && ep.owners[0] ? s.onOffDwell.held(this.holdSurprise) : null;
      if (held !== null) ep.held = { channel: 0, ...held };
      return;
    }
    // A counter's frozen total (judgeFrozen): its hold since it began, against the longest idle it ended before.
    if (s.counterFrozen !== null && s.C === 1 && ep.owners[0]) {
      ep.held = { channel: 0, since: s.counterFrozen.since, longestMs: s.counterFrozen.longestMs };
      return;
    }
    let best = 0;
    for (let c = 0; c < s.C; c++) {
      if (!ep.owners[c]) continue;
      const held = s.dwells[c].held(this.holdSurprise);
      if (held !== null && s.dwells[c].surprise > best) {
        best = s.dwells[c].surprise;
        ep.held = { channel: c, ...held };
      }
    }
  }

  /**
   * The event of `kind` for episode `ep`. `trailing`: how many of its latest readings came after its last reading that
   * held it (StreamScore.below). Its end (`endTs`) is as told (toldEnd: its last reading off on its own while the short
   * means held it only by the fault's readings after that one, else its last that held it), and the readings after that
   * end are not counted in its length (`windows`: its readings from its first to the one `endTs` names), so a resolve
   * does not count the closing readings (tryout 26, finding 8: `readings: 50` for an episode of 35, 15 of them the
   * closeAfter readings that ended it) nor those the short means held after a short fault (tryout 27, finding 4).
   */
  private event(kind: AnomalyEvent['kind'], r: Pick<StepResult<unknown>, 'stream' | 'channels' | 'modelId'>, ep: Episode, surprise: number, trailing = 0): AnomalyEvent {
    const toScore = (x: number): number => 1 - Math.pow(10, -x);
    const end = toldEnd(ep, trailing, shortSpan(this.opts.smooth));
    const evidence: Record<string, number> = {};
    for (const k of EVIDENCE) if (!Number.isNaN(ep.peakEvidence[k])) evidence[k] = ep.peakEvidence[k];
    return {
      kind,
      sensor: r.stream,
      anomalyId: ep.id,
      startTs: ep.startTs,
      endTs: end.ts,
      peakScore: toScore(ep.peak),
      score: toScore(surprise),
      threshold: this.opts.threshold,
      modelId: r.modelId ?? 'none',
      paddedFraction: 0,
      channelErrors: ep.peakChannels,
      channels: r.channels,
      windows: heldReadings(ep, end.trailing),
      evidence,
      ...(ep.held !== undefined ? { held: ep.held } : {}),
      ...(ep.alarm !== undefined ? { alarm: ep.alarm } : {}),
      ...(ep.excursion !== undefined ? { excursion: ep.excursion } : {}),
      ...(ep.counterRate !== undefined ? { counterRate: ep.counterRate } : {}),
      ...(ep.counterBusy !== undefined ? { counterBusy: ep.counterBusy } : {}),
      ...(ep.catchUp !== undefined ? { catchUp: ep.catchUp } : {}),
    };
  }

  /**
   * Judges a stream's silence while it lasts (the daemon, every housekeeping tick: Detector.judgeSilence), with
   * the evidence its next reading would carry were it to come now: `stuck` = ln(1 + missed) in every channel,
   * against the channel's reference history of run lengths (silenceOf: the fitted tail, as episodes are decided;
   * a busy channel's on its exponential; the same judgement its next reading makes of it), fused as
   * fuse fuses: the largest surprise less log10 of how many (channel) histories spoke. Only `stuck` speaks of a
   * silence (the other kinds judge a reading's value, and there is none), so the Bonferroni share is that of the
   * channels, not of every kind that speaks at the returning reading. Once that deviation reaches the threshold,
   * a missing-data episode opens (an alarm, its owners the channels at the threshold, all when none alone):
   * start `startTs` (the first step that did not come), end `ts`, length `missed` readings. While the silence
   * goes on, later calls raise its end and length and send an `update` by the episode rules (its peak tenfold
   * rarer and its length doubled since its last event). It resolves at the stream's next step (score), where
   * the silence is censored: neither judged again nor taught (a silence judged rare, as a run stuck calls rare).
   * Nothing is taught here.
   *
   * Judged repeatedly as it grows, a silence is no longer bounded by one judgement at its end: its surprise grows
   * with its length (a power law of the length beyond the longest runs of an exponential tail), so a dead sensor
   * is alarmed however short its history, once its silence is long enough against its own runs.
   *
   * A silence that starts while an episode of another kind is open (a sensor that went faulty, then died: tryout 18,
   * finding 1) is judged the same way, and once it reaches the threshold that episode becomes the silence's: one
   * episode per fault, its `update` (its `open`, for an episode the recent history alone had opened, silent until
   * then) telling the silence, its length from then on the silence's, resolved at the stream's next step as any
   * silence judged while it lasts (its own readings teach no new normal). Before that it stays as it is.
   *
   * In the stream's learning period (its first learnReadings readings) the silence is judged the same way when the
   * caller says so (`p.inLearning`: Detector.judgeSilence, from YOUNG_GAPS gaps of a stream not taken to send changes
   * only, a silence longer than its longest gap until its interval is settled): a silence is the absence of arrivals,
   * and the stream's arrivals are taught from its second reading on, learning or not (src/pipeline/arrivals.ts), so
   * P(X ≥ k) against them is as sound then as after; with n readings all on time it is k! (n + 1)! / (n + k + 1)!, so
   * the fewer the readings the longer the silence it takes (the uniform prior's own caution: no constant added). Its
   * `stuck` history speaks when ready, as after learning; a report-on-change stream's quiet is judged on its arrivals
   * (ownQuiet), as after learning. Before, a sensor that died in its learning period was never judged (its learning
   * never ended: no reading came).
   *
   * Nothing happens (no events, `deviation` NaN when not judged) for a stream that is unknown, has no reading,
   * has other channels, is learning without `p.inLearning`, or has no history to judge
   * the silence against.
   * @param p.missed steps the silence has missed so far (Placement.missed of a reading that came now; >= 1)
   * @param p.startTs time of the first step that did not come, epoch ms, the stream's clock
   * @param p.ts the time the silence has reached, epoch ms, the stream's clock
   * @param p.since when the silence began on the caller's clock (kept with the episode: silenceSince)
   * @param p.channels the stream's channel names (the events carry them)
   * @param p.ownQuiet the stream keeps quiet on its own (Detector.ownQuiet): its silence is judged on its arrivals (silenceOf)
   * @param p.inLearning the caller judges the stream's silence in its learning period (Detector.judgeSilence)
   * @param p.arrivals with `p.inLearning`: the arrivals to judge it against in place of the stream's (ARRIVAL_STATE
   *   numbers: a young stream's counted at its own pace, a power-up burst dropped: Detector.youngPace)
   * @param p.lateMs how late (ms, >= 0) the stream's latest reading arrived as the tail of a flushed backfill
   *   (Detector.flushedLate), 0 by default: the silence is judged on `ts` (its length since that reading arrived),
   *   and its events are told to `ts + lateMs`, the time now on the arrival clock (tryout 31, finding 1)
   * @param p.deadMs with `p.inLearning`: the caller found the stream dead (Detector.youngDeathMs: ms of data time, > 0):
   *   a silence longer than this (data time since its latest reading) is judged at the threshold at least, also with
   *   no history ready to judge it against
   */
  judgeSilence(
    stream: string,
    p: { readonly missed: number; readonly startTs: number; readonly ts: number; readonly since: number; readonly channels: readonly string[]; readonly ownQuiet?: boolean; readonly lateMs?: number; readonly inLearning?: boolean; readonly arrivals?: Float64Array; readonly deadMs?: number },
  ): SilenceJudgement {
    const s = this.streams.get(stream);
    if (s === undefined || s.last === null || s.C !== p.channels.length || !(p.missed >= 1)) return { deviation: Number.NaN, events: [] };
    if (this.learningOf(s) && p.inLearning !== true) return { deviation: Number.NaN, events: [] };
    if (this.opts.evidence !== undefined && !this.opts.evidence.includes('stuck')) return { deviation: Number.NaN, events: [] };
    // An on/off stream that reports on change only is quiet while its state holds: not its death (OnOffDwell).
    if (s.onOff && s.onOffDwell.reportsChangesOnly) return { deviation: Number.NaN, events: [] };
    const ep = s.episode;
    const silence = this.silenceOf(s, p.missed, p.ts - s.lastArrival, (c) => busyRun(s.runModel, c * RUN_STATE), p.ownQuiet === true, p.inLearning === true ? p.arrivals : undefined, p.inLearning === true ? p.deadMs : undefined);
    if (silence === null) return { deviation: Number.NaN, events: [] };
    const { deviation, evidence, channels } = silence;
    // The silence's reach as told (its events' end, its episode's last time): on the arrival clock for a flushed tail.
    const reach = p.ts + Math.max(0, p.lateMs ?? 0);
    const source = { stream, channels: p.channels, modelId: s.modelId ?? null };
    if (ep === null) {
      if (deviation < this.thresholdSurprise) return { deviation, events: [] };
      const opened = this.openSilence(s, silence, p.startTs, reach, p.missed, p.since);
      return { deviation, events: [this.event('open', source, opened, deviation)] };
    }
    if (ep.silence === undefined) {
      // Another episode is open (a level shift, a spike, …; or one the recent history alone opened: silent): a sensor
      // that dies with it open (tryout 18, finding 1) is judged as any, and once its silence is rare the episode
      // becomes that silence's (one episode per fault: the fault went on as the sensor's death), told by an `update`
      // (an `open` for a silent one, which becomes an alarm then), resolved at the stream's next step as a silence is.
      if (deviation < this.thresholdSurprise) return { deviation, events: [] };
      ep.silence = { since: p.since };
      // Its readings' rarity leaves the short mean (the episode is the silence's now, and ends at the next step): a
      // reading that comes back normal is not judged rare by the faulty ones before the silence (one that comes
      // back wrong opens an episode of its own, as after any silence).
      s.rareBox.clear();
      ep.readings = Math.max(ep.readings, p.missed);
      ep.lastAboveTs = Math.max(ep.lastAboveTs, reach);
      s.above = 0;
      s.below = 0;
      if (ep.silent || deviation > ep.peak) {
        ep.peak = deviation;
        ep.peakEvidence = evidence;
        ep.peakChannels = channels;
      }
      ep.lastReported = ep.peak;
      ep.reportedAt = ep.readings;
      if (ep.silent) {
        ep.silent = false;
        ep.startTs = p.startTs;
        return { deviation, events: [this.event('open', source, ep, deviation)] };
      }
      return { deviation, events: [this.event('update', source, ep, deviation)] };
    }
    ep.readings = Math.max(ep.readings, p.missed);
    ep.lastAboveTs = Math.max(ep.lastAboveTs, reach);
    if (deviation > ep.peak) {
      ep.peak = deviation;
      ep.peakEvidence = evidence;
      ep.peakChannels = channels;
    }
    if (ep.peak >= ep.lastReported + 1 && ep.readings >= 2 * ep.reportedAt) {
      ep.lastReported = ep.peak;
      ep.reportedAt = ep.readings;
      return { deviation, events: [this.event('update', source, ep, deviation)] };
    }
    return { deviation, events: [] };
  }

  /**
   * Tells an on/off stream's active state that reading `r` ended, judged at its end far longer than its dwells allow
   * (OnOffDwell.ended, at the threshold), when no episode held it while it lasted: no reading or tick came while it
   * lasted that could (a door held open 4 h whose check-ins did not come then, a history loaded with its own times, a
   * replay: tryout 38, finding 3). Its episode opens and resolves at this reading (`recovered`: the device's word that
   * the state ended), carrying `held` (its state, its real start, the longest dwell before it), so it is told in the
   * state's name from its opening (`door open for 4 h since 21:03, never longer than 40 s before (stuck: state held)`). Pushes
   * the two events onto `events`; nothing when the ended dwell was not judged rare.
   */
  private tellEndedHeld(s: StreamScore, r: StepResult<unknown>, events: AnomalyEvent[]): void {
    const ended = s.onOffDwell.ended(this.thresholdSurprise);
    if (ended === null || s.C !== 1) return;
    const ts = r.item.ts;
    const ep: Episode = {
      id: this.deps.newId(),
      startTs: ts,
      lastAboveTs: ts,
      readings: 1,
      peak: ended.surprise,
      peakEvidence: { ...nanEvidence(), stuck: ended.surprise },
      peakChannels: [ended.surprise],
      lastReported: ended.surprise,
      reportedAt: 1,
      owners: [true],
      rowPeak: 0,
      stuckAt: 0,
      silent: false,
      held: { channel: 0, since: ended.since, longestMs: ended.longestMs, level: ended.level },
    };
    events.push(this.event('open', r, ep, ended.surprise));
    events.push({ ...this.event('resolve', r, ep, ended.surprise), resolution: 'recovered' });
  }

  /**
   * Judges an on/off stream's present state between its readings (the daemon, every housekeeping tick:
   * Detector.judgeHeld): a device that reports on change only sends nothing while a door stays open, so its held state
   * is judged here as long as it has surely lasted (OnOffDwell.judgeAt: the time heard since its latest reading,
   * `p.heardMs`, a deafness left out), as its readings judge it. Once its surprise reaches the threshold (the same
   * floor of `stuck` a reading's would be, alone) an episode of the held state opens at `p.ts` (the stream's clock),
   * told as its readings' would be (`… open for 3 min since 12:00, never longer than 10 s before (stuck: state held)`);
   * while that episode is open its end follows the tick. Resolved at the reading that says the state changed
   * (lifecycle). Nothing for another stream, one still learning or known to be normal, or while an episode of another
   * kind is open.
   * @param p.ts the time now on the stream's clock (epoch ms)
   * @param p.heardMs ms the daemon has heard the stream since its latest reading (>= 0)
   * @param p.channels the stream's channel names (its one)
   */
  judgeHeld(stream: string, p: { readonly ts: number; readonly heardMs: number; readonly channels: readonly string[] }): SilenceJudgement {
    const s = this.streams.get(stream);
    if (s === undefined || !s.onOff || s.C !== 1 || p.channels.length !== 1 || s.last === null || s.knownNormal || this.learningOf(s)) return { deviation: Number.NaN, events: [] };
    const ep = s.episode;
    if (ep !== null && (ep.held === undefined || ep.silence !== undefined)) return { deviation: Number.NaN, events: [] };
    const deviation = s.onOffDwell.judgeAt(p.heardMs);
    s.onOffDwell.censorAt(this.holdSurprise);
    const source = { stream, channels: p.channels, modelId: s.modelId ?? null };
    const held = s.onOffDwell.held(this.holdSurprise);
    if (ep !== null) {
      // Its episode open: its end follows the state held (the record's length; its next alert tells it).
      if (held !== null) {
        ep.lastAboveTs = Math.max(ep.lastAboveTs, p.ts);
        if (deviation > ep.peak) {
          ep.peak = deviation;
          ep.peakEvidence = { ...nanEvidence(), stuck: deviation };
          ep.peakChannels = [deviation];
        }
      }
      return { deviation, events: [] };
    }
    if (held === null || deviation < this.thresholdSurprise) return { deviation, events: [] };
    const opened: Episode = {
      id: this.deps.newId(),
      startTs: p.ts,
      lastAboveTs: p.ts,
      readings: 1,
      peak: deviation,
      peakEvidence: { ...nanEvidence(), stuck: deviation },
      peakChannels: [deviation],
      lastReported: deviation,
      reportedAt: 1,
      owners: [true],
      rowPeak: 0,
      stuckAt: 0,
      silent: false,
      held: { channel: 0, ...held },
    };
    s.episode = opened;
    s.above = 0;
    s.below = 0;
    return { deviation, events: [this.event('open', source, opened, deviation)] };
  }

  /**
   * How rare a silence of `missed` steps (>= 1) is for stream `s`, one judgement for it wherever it is judged (while
   * it lasts: judgeSilence; at the reading that ends it: score), so a longer silence is never judged less rare than
   * a shorter one: `stuck` = ln(1 + missed) in each channel against its reference history of run lengths and
   * silences (the fitted tail), the largest less log10 of how many channels spoke (`deviation`, surprise). A channel
   * whose last run began busy (`busy`: runs.ts busyRun; its runs are geometric there, lengths 1, 2, 3 readings) is
   * judged on its tail's exponential (TailCalibrator.lightSurprise): the moments of those few discrete lengths fit
   * a heavy shape that is not in them, and with it a noisy 1 Hz sensor quantised to 0.01 that went dead was judged
   * below 4.6 for 40 minutes (tryout 15, finding 3); the exponential in ln(1 + missed) is still a power law of the
   * length, far heavier than a geometric, so a silence is not judged as that many repeats of a noisy value would
   * be. A stream that keeps quiet on its own (`ownQuiet`: Detector.ownQuiet, a report-on-change sensor) is judged
   * on its arrivals alone while the silence is at most QUIET_BEYOND times the longest quiet it has shown (quietest):
   * its silence is then its value unchanged, and its runs tell nothing of it (a 0.5 °C room sensor read every 10 s
   * flickers by one step where its level crosses one, so its runs there are busy, a few readings, and its quiet after
   * them, 10 to 30 min within its 50 min heartbeat, was judged against them: 13 false episodes in 5 days, "unusual
   * repeats of one value"). Beyond that (a heartbeat missed) its runs judge it too, as any stream's. Before its
   * heartbeat is known (HEARTBEAT_HELD) it is judged on its arrivals alone at any length. Once it is known, a silence of
   * more than DEAD_AFTER heartbeats (`silentMs`, data time since its latest reading) is judged at the threshold at
   * least: the sensor is silent (its arrivals' beta-geometric tail and its runs told a 10 s room sensor's 2 h death
   * after 3.6 heartbeats, or never). `young`: arrivals to judge it against in place of the stream's (judgeSilence's
   * p.arrivals). `youngDeadMs`: a young stream's silence (ms of data time) beyond which it is dead (judgeSilence's
   * p.deadMs), floored at the threshold as a heartbeat's DEAD_AFTER is. Null when no channel's history is ready
   * (nothing judged), unless the silence is longer than `youngDeadMs` (the threshold then, no history having spoken).
   */
  private silenceOf(s: StreamScore, missed: number, silentMs: number, busy: (c: number) => boolean, ownQuiet = false, young?: Float64Array, youngDeadMs = Number.POSITIVE_INFINITY): SilenceVerdict | null {
    const arrivals = young ?? s.arrivals;
    // Its heartbeat, once its longest quiet has held HEARTBEAT_HELD times its length (0: not known yet). Before it is known, its silence is judged on its
    // arrivals alone at any length: its runs know nothing of its quiet (a 10 s room sensor's first day: a 28 min quiet
    // after a flicker, beyond twice the longest quiet it had shown yet, was judged against its busy runs, "unusual
    // repeats of one value").
    const heartbeat = ownQuiet && s.quietestMs > 0 && s.lastArrival - s.quietestAt >= HEARTBEAT_HELD * s.quietestMs ? s.quietestMs : 0;
    const own = ownQuiet && arrivalsKnown(arrivals) && (heartbeat === 0 || missed <= QUIET_BEYOND * s.quietest);
    // More than DEAD_AFTER heartbeats: the sensor is silent (floored at the threshold below), told in its own heartbeats.
    const dead = (heartbeat > 0 && silentMs > DEAD_AFTER * heartbeat) || silentMs > youngDeadMs;

    const row = own ? null : s.reference[STUCK];
    const e = Math.log1p(missed);
    const channels = zeros(s.C);
    let n = 0;
    let max = 0;
    if (row !== null) {
      for (let c = 0; c < s.C; c++) {
        if (!row[c].ready) continue;
        const sur = busy(c) ? row[c].lightSurprise(e) : row[c].surprise(e);
        channels[c] = sur;
        n++;
        if (sur > max) max = sur;
      }
    }
    // Against the stream's arrivals (src/pipeline/arrivals.ts): a periodic reporter whose values repeat for long
    // stretches (coarse: 0.1 or 0.5 °C) has long runs, and its silence read against them alone was "unchanged"
    // (tryout 20, finding 6). One history more that spoke, of every channel (no channel reads while none arrives).
    if (arrivalsKnown(arrivals)) {
      const sur = Math.min(MAX_SURPRISE, arrivalSurprise(arrivals, missed));
      for (let c = 0; c < s.C; c++) if (sur > channels[c]) channels[c] = sur;
      n++;
      if (sur > max) max = sur;
    }
    if (n === 0 && !dead) return null;
    const penalty = n === 0 ? 0 : Math.log10(n);
    if (dead && max - penalty < this.thresholdSurprise) {
      max = this.thresholdSurprise + penalty;
      for (let c = 0; c < s.C; c++) channels[c] = Math.max(channels[c], max);
    }
    return { deviation: Math.max(0, Math.min(MAX_SURPRISE, max - penalty)), penalty, evidence: { ...nanEvidence(), stuck: max }, channels };
  }

  /**
   * Opens a missing-data episode for `silence` (silenceOf) on stream `s`: start `startTs` (the first step that did
   * not come), end `ts`, length `missed` readings; `since`: when the silence began on the caller's clock, for one
   * judged while it lasts (resolved at the stream's next step), or null for one judged at the reading that ended it
   * (an episode as any other from that reading on).
   */
  private openSilence(s: StreamScore, silence: SilenceVerdict, startTs: number, ts: number, missed: number, since: number | null): Episode {
    const { deviation, penalty, evidence, channels } = silence;
    const owners = channels.map((v) => v - penalty >= this.thresholdSurprise);
    if (!owners.some(Boolean)) owners.fill(true);
    const opened: Episode = {
      id: this.deps.newId(),
      startTs,
      lastAboveTs: ts,
      readings: missed,
      peak: deviation,
      peakEvidence: evidence,
      peakChannels: channels,
      lastReported: deviation,
      reportedAt: missed,
      owners,
      rowPeak: 0,
      stuckAt: 0,
      silent: false,
      ...(since === null ? {} : { silence: { since } }),
    };
    s.episode = opened;
    s.above = 0;
    s.below = 0;
    return opened;
  }

  /**
   * Replaces the stream's arrivals (src/pipeline/arrivals.ts: `arrivals`, ARRIVAL_STATE numbers: count, Σ missed,
   * Σ missed²) and the most steps it was quiet before one (`quietest`, >= 0; its longest quiet in ms forgotten when 0):
   * the caller counted them again at the stream's own pace (Detector: a power-up burst's gaps dropped, once its own
   * gaps fill the window its interval settles on). Nothing for an unknown stream; throws RangeError on another length
   * or a negative or non-finite number.
   */
  restateArrivals(stream: string, arrivals: Float64Array, quietest: number): void {
    if (arrivals.length !== ARRIVAL_STATE || !arrivals.every((v) => Number.isFinite(v) && v >= 0) || !(quietest >= 0) || !Number.isFinite(quietest)) throw new RangeError('restateArrivals: arrivals must be ARRIVAL_STATE finite numbers >= 0, quietest a finite number >= 0');
    const s = this.streams.get(stream);
    if (s === undefined) return;
    s.arrivals.set(arrivals);
    s.quietest = quietest;
    if (quietest === 0) {
      s.quietestMs = 0;
      s.quietestAt = Number.NaN;
    }
  }

  /** When the stream's open silence episode (judgeSilence) began on the caller's clock, or null when none is open. */
  silenceSince(stream: string): number | null {
    return this.streams.get(stream)?.episode?.silence?.since ?? null;
  }

  /**
   * The resolve of a silence episode at the stream's next step `r`: its end is that step's time (the silence lasted
   * until it, in data time), also when the silence was judged farther while it lasted (the caller's estimate on its
   * arrival clock: a device that buffered its readings through an outage sends them late, and the silence in its data
   * ends at the first of them, not when they arrived).
   */
  private endSilence(ep: Episode, r: StepResult<unknown>, surprise: number): AnomalyEvent {
    ep.lastAboveTs = r.item.ts;
    if (r.item.kind === 'reading' && (r.item.missed ?? 0) > ep.readings) ep.readings = r.item.missed!;
    return { ...this.event('resolve', r, ep, surprise), resolution: 'recovered' };
  }

  /** A stream's scoring state, JSON-serialisable. */
  snapshot(stream: string): StreamScoreSnapshot | null {
    const s = this.streams.get(stream);
    if (!s) return null;
    // A row not made yet is saved as the fresh histories it stands for (the format does not change).
    const tails = (set: Histories, which: 'reference' | 'adaptive'): TailState[][] =>
      set.map((row, k) => (row ?? Array.from({ length: s.C }, () => new TailCalibrator(tailOptions(this.opts, which, EVIDENCE[k])))).map((t) => t.toJSON()));
    return {
      format: 'anomalyd-scorer/6',
      channels: s.C,
      reference: tails(s.reference, 'reference'),
      adaptive: tails(s.adaptive, 'adaptive'),
      // Packed (base64 of doubles): as JSON numbers the evidence of a long open episode was ~250 kB of a checkpoint
      // written every housekeeping tick (explain4's checkpoint-bytes measurement); NaN stays NaN.
      episodeEvidence: s.episodeEvidence.length === 0 ? [] : s.episodeEvidence.pack(),
      steps: s.steps.map(stepJson),
      stepsBack: s.stepsBack.map(stepJson),
      rests: s.rests.map((x) => [x.c, x.from, x.to, x.v]),
      cameBack: s.cameBack.map(([c, v]) => [c, v]),
      ...(s.visits !== null && !s.visits.empty ? { visits: s.visits.toJSON() } : {}),
      ...(s.setpoints > 0 ? { setpoints: s.setpoints } : {}),
      seen: s.seen,
      learnFrom: s.learnFrom === NOT_MOVED ? 'not_moved' : s.learnFrom,
      knownNormal: s.knownNormal,
      moved: s.moved,
      last: s.last ? Array.from(s.last) : null,
      shortLog: means(s.shortLog),
      longLog: Array.from(s.longLog),
      restLog: Array.from(s.restLog),
      switchLog: Array.from(s.switchLog),
      switchCount: Array.from(s.switchCount),
      longVar: Array.from(s.longVar),
      episodeVariability: { log: Array.from(s.epLog), var: Array.from(s.epVar), count: Array.from(s.epCount) },
      varCount: s.varCount,
      run: Array.from(s.run),
      longest: Array.from(s.longest),
      step: Array.from(s.step),
      runRare: Array.from(s.runRare),
      runModel: Array.from(s.runModel),
      arrivals: Array.from(s.arrivals),
      quietest: s.quietest,
      quietestMs: s.quietestMs,
      quietestAt: Number.isFinite(s.quietestAt) ? s.quietestAt : null,
      lastArrival: Number.isFinite(s.lastArrival) ? s.lastArrival : null,
      dwells: s.dwells.map((d) => d.toJSON()),
      quiet: s.quiet.map((q) => q.map((x) => [x.v, x.at])),
      zMean: means(s.zMean),
      resMean: means(s.resMean),
      shortMeans: { zMean: s.zMean.toJSON(), resMean: s.resMean.toJSON(), shortLog: s.shortLog.toJSON(), rarity: s.rareBox.toJSON(), cycle: s.cycBox?.toJSON(), recent: s.recentValues.toJSON() },
      values: s.values.map((h) => h.toJSON()),
      cycles: s.cycles.map((cy) => cy.toJSON()),
      cycleResidual: { var: Array.from(s.cycVar), count: Array.from(s.cycCount), max: Array.from(s.cycMax, (v) => (Number.isFinite(v) ? v : -1)) },
      // Only where a channel's drift is set up (a long cycle): a tracker that is not holds nothing.
      ...(s.drifts.some((d) => d.active) ? { drift: s.drifts.map((d) => d.toJSON()) } : {}),
      excursion: s.excursions.map((x) => x.toJSON()),
      meanCount: s.meanCount,
      resCount: s.resCount,
      episodeResiduals: s.episodeResiduals,
      above: s.above,
      below: s.below,
      episode: s.episode ? { ...s.episode, owners: [...s.episode.owners], peakEvidence: Object.fromEntries(EVIDENCE.map((k) => [k, nanToNull(s.episode!.peakEvidence[k])])) } : null,
      awaitingReset: s.awaitingReset,
      ...(s.backRun > 0 || s.outRun > 0 || s.episodeOut || s.outZ !== null ? { outRuns: { back: s.backRun, out: s.outRun, episodeOut: s.episodeOut, ...(s.outZ !== null ? { z: Array.from(s.outZ) } : {}) } } : {}),
      ...(s.counter ? { counter: true } : {}),
      ...(s.rateMax > 0 ? { counterRate: { max: s.rateMax, rises: s.rateRises, held: s.rateHeld, incs: [...s.rateIncs] } } : {}),
      ...(s.onOff ? { onOff: true, onOffDwell: s.onOffDwell.toJSON() } : {}),
      lastScored: s.lastScored === null ? null : storeScored(s.lastScored),
    };
  }

  /** Restores a stream's scoring state (throws on anything malformed; the caller lets the stream start over). */
  restore(stream: string, json: unknown): void {
    const v = json as Partial<StreamScoreSnapshot> | null;
    // anomalyd-scorer/5 (before cycle) restores with the cycles starting over (a period is found again from the
    // readings); /4 (before rarity) also with rarity starting over: its value histograms learn again (rarity says
    // nothing until they hold learnReadings values); anything older is refused.
    if (typeof v !== 'object' || v === null) throw new Error('scorer snapshot: not an anomalyd-scorer/6 (or /5, /4) state');
    const format: unknown = v.format;
    if (format !== 'anomalyd-scorer/6' && format !== 'anomalyd-scorer/5' && format !== 'anomalyd-scorer/4') throw new Error('scorer snapshot: not an anomalyd-scorer/6 (or /5, /4) state');
    const kinds: readonly Evidence[] = format === 'anomalyd-scorer/4' ? EVIDENCE_V4 : format === 'anomalyd-scorer/5' ? EVIDENCE_V5 : EVIDENCE;
    const C = v.channels;
    if (typeof C !== 'number' || !Number.isInteger(C) || C < 1) throw new Error('scorer snapshot: bad channels');
    const nums = (x: unknown, what: string, n = C): number[] => {
      if (!Array.isArray(x) || x.length !== n || !x.every((y) => typeof y === 'number' && Number.isFinite(y))) throw new Error(`scorer snapshot: ${what} must be ${n} finite numbers`);
      return x as number[];
    };
    // An episode's gathered evidence: null stands for NaN (nothing taught for that channel).
    const numsOrNull = (x: unknown, what: string): number[] => {
      if (!Array.isArray(x) || x.length !== C || !x.every((y) => y === null || (typeof y === 'number' && Number.isFinite(y)))) throw new Error(`scorer snapshot: ${what} must be ${C} finite numbers or nulls`);
      return x.map((y: number | null) => y ?? Number.NaN);
    };
    // An episode's readings as they came (Episode.came): null stands for NaN.
    const cameOf = (x: unknown): number[] => {
      if (!Array.isArray(x) || !x.every((y) => y === null || (typeof y === 'number' && Number.isFinite(y)))) throw new Error('scorer snapshot: episode.came must hold finite numbers or nulls');
      return x.map((y: number | null) => y ?? Number.NaN);
    };
    const int = (x: unknown, what: string): number => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new Error(`scorer snapshot: ${what} must be an integer >= 0`);
      return x;
    };
    const s = new StreamScore(C, this.opts, null);
    const load = (set: Histories, saved: unknown, which: 'reference' | 'adaptive'): void => {
      if (!Array.isArray(saved) || saved.length !== kinds.length) throw new Error('scorer snapshot: bad histories');
      kinds.forEach((kind, j) => {
        const row: unknown = saved[j];
        if (!Array.isArray(row) || row.length !== C) throw new Error('scorer snapshot: bad histories');
        const tails = Array.from({ length: C }, (_, c) => TailCalibrator.fromJSON(row[c], tailOptions(this.opts, which, kind)));
        // Rows that were never taught stay unmade.
        set[EVIDENCE.indexOf(kind)] = tails.every((t) => t.untouched) ? null : tails;
      });
    };
    load(s.reference, v.reference, 'reference');
    load(s.adaptive, v.adaptive, 'adaptive');
    if (!Array.isArray(v.episodeEvidence) && (typeof v.episodeEvidence !== 'object' || v.episodeEvidence === null)) throw new Error('scorer snapshot: episodeEvidence must be an array or a packed form');
    s.episodeEvidence.clear();
    if (!Array.isArray(v.episodeEvidence)) s.episodeEvidence.unpack(v.episodeEvidence);
    // Checkpoints written before the packed form: a record per reading, NaN as null.
    for (const row of Array.isArray(v.episodeEvidence) ? v.episodeEvidence : []) {
      const out = {} as EvidenceValues;
      for (const k of EVIDENCE) {
        const x = (row as Record<string, unknown>)[k];
        out[k] = x === null || x === undefined ? null : Float64Array.from(numsOrNull(x, `episodeEvidence.${k}`));
      }
      s.episodeEvidence.push((k) => kindOf(out, k));
    }
    const stepsOf = (list: unknown): StepCandidate[] => {
      if (!Array.isArray(list)) throw new Error('scorer snapshot: steps must be an array');
      return (list as unknown[]).map((x) => {
        if (typeof x !== 'object' || x === null) throw new Error('scorer snapshot: bad step');
        const st = x as Record<string, unknown>;
        const [from, to, sum] = nums([st.from, st.to, st.sum], 'step', 3);
        const c = int(st.c, 'step.c');
        if (c >= C) throw new Error('scorer snapshot: step.c out of range');
        const back = (x: unknown): number[] => {
          if (!Array.isArray(x) || x.length !== STEP_KINDS.length || !x.every((y) => y === null || (typeof y === 'number' && Number.isFinite(y)))) throw new Error('scorer snapshot: bad step evidence');
          return x.map((y: number | null) => (y === null ? Number.NaN : y));
        };
        if (st.held !== undefined && typeof st.held !== 'boolean') throw new Error('scorer snapshot: bad step.held');
        return { c, from, to, sum, n: int(st.n, 'step.n'), ref: back(st.ref), adapt: back(st.adapt), held: st.held === true };
      });
    };
    // Absent from checkpoints written before it existed: no step waiting (and `held` absent: none held yet).
    if (v.steps !== undefined) s.steps = stepsOf(v.steps);
    // Absent from checkpoints written before it existed: no step withheld.
    if (v.stepsBack !== undefined) s.stepsBack = stepsOf(v.stepsBack);
    // Absent from checkpoints written before it existed: no rest noted.
    if (v.rests !== undefined) {
      if (!Array.isArray(v.rests)) throw new Error('scorer snapshot: rests must be an array');
      s.rests = v.rests.map((x) => {
        const [c, from, to, rv] = nums(x, 'rest', 4);
        if (!Number.isInteger(c) || c < 0 || c >= C || !Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from) throw new Error('scorer snapshot: bad rest');
        return { c, from, to, v: rv };
      });
    }
    // Absent from checkpoints written before it existed: no level came back yet.
    if (v.cameBack !== undefined) {
      if (!Array.isArray(v.cameBack)) throw new Error('scorer snapshot: cameBack must be an array');
      s.cameBack = v.cameBack.map((x) => {
        const [c, cv] = nums(x, 'cameBack', 2);
        if (!Number.isInteger(c) || c < 0 || c >= C) throw new Error('scorer snapshot: bad cameBack');
        return [c, cv];
      });
    }
    // Absent from checkpoints written before it existed (or nothing kept yet): no visit kept, none in progress.
    if (v.visits !== undefined) s.visits = VisitMemory.fromJSON(v.visits, C);
    // Absent: none shown (or a checkpoint written before it existed).
    s.setpoints = v.setpoints === undefined ? 0 : int(v.setpoints, 'setpoints');
    s.seen = int(v.seen, 'seen');
    // Absent from checkpoints written before it existed: the stream's learning period started at its first reading.
    s.learnFrom = v.learnFrom === 'not_moved' ? NOT_MOVED : v.learnFrom === undefined ? 0 : int(v.learnFrom, 'learnFrom');
    s.knownNormal = v.knownNormal === true;
    // Absent from older checkpoints: taken as moved (their streams learnt as before).
    s.moved = v.moved !== false;
    s.last = v.last === null || v.last === undefined ? null : Float64Array.from(nums(v.last, 'last'));
    s.longLog.set(nums(v.longLog, 'longLog'));
    // Absent from checkpoints written before it existed: no rest was known, so it was the long-term mean.
    s.restLog.set(v.restLog === undefined ? s.longLog : nums(v.restLog, 'restLog'));
    s.longVar.set(nums(v.longVar, 'longVar'));
    // Absent from checkpoints written before they existed: restLog, weighted by the readings, as then.
    s.switchLog.set(v.switchLog === undefined ? s.restLog : nums(v.switchLog, 'switchLog'));
    s.switchCount.set(v.switchCount === undefined ? s.longVar.map((x) => (x > 0 ? Math.min(this.opts.horizon, int(v.varCount, 'varCount')) : 0)) : nums(v.switchCount, 'switchCount'));
    // Absent from checkpoints written before it existed: nothing gathered yet.
    if (v.episodeVariability !== undefined) {
      s.epLog.set(nums(v.episodeVariability.log, 'episodeVariability.log'));
      s.epVar.set(nums(v.episodeVariability.var, 'episodeVariability.var'));
      s.epCount.set(nums(v.episodeVariability.count, 'episodeVariability.count'));
      s.epDirty = true;
    }
    s.varCount = int(v.varCount, 'varCount');
    s.run.set(nums(v.run, 'run'));
    s.longest.set(nums(v.longest, 'longest'));
    // Absent from checkpoints written before it existed: no resolution known yet (learnt from the next changes).
    if (v.step !== undefined) s.step.set(nums(v.step, 'step'));
    // Absent from checkpoints written before they existed: no rest known yet, no run called rare.
    if (v.runRare !== undefined) s.runRare.set(nums(v.runRare, 'runRare'));
    // Absent from checkpoints written before it existed: no run away from a rest known yet.
    if (v.runModel !== undefined) {
      const m = nums(v.runModel, 'runModel', RUN_STATE * C);
      if (m.some((x) => x < 0)) throw new Error('scorer snapshot: runModel must be >= 0');
      s.runModel.set(m);
    }
    // Absent from checkpoints written before it existed: no arrival known yet (its silences judged by its runs
    // alone until its next readings teach them).
    if (v.dwells !== undefined) {
      s.dwells = perChannel(v.dwells, 'dwells', 'dwell states', C, (x) => DwellTracker.fromJSON(x));
    }
    if (v.arrivals !== undefined) {
      const m = nums(v.arrivals, 'arrivals', ARRIVAL_STATE);
      if (m.some((x) => x < 0)) throw new Error('scorer snapshot: arrivals must be >= 0');
      s.arrivals.set(m);
    }
    if (v.quietest !== undefined) {
      if (typeof v.quietest !== 'number' || !(v.quietest >= 0) || !Number.isFinite(v.quietest)) throw new Error('scorer snapshot: quietest must be a finite number >= 0');
      s.quietest = v.quietest;
    }
    if (v.quietestMs !== undefined) {
      if (typeof v.quietestMs !== 'number' || !(v.quietestMs >= 0) || !Number.isFinite(v.quietestMs)) throw new Error('scorer snapshot: quietestMs must be a finite number >= 0');
      s.quietestMs = v.quietestMs;
    }
    for (const key of ['quietestAt', 'lastArrival'] as const) {
      const t = v[key];
      if (t === undefined || t === null) continue;
      if (typeof t !== 'number' || !Number.isFinite(t)) throw new Error(`scorer snapshot: ${key} must be a finite number or null`);
      s[key] = t;
    }
    if (v.quiet !== undefined) {
      if (!Array.isArray(v.quiet) || v.quiet.length !== C) throw new Error(`scorer snapshot: quiet must be ${C} lists`);
      s.quiet = v.quiet.map((q) => {
        if (!Array.isArray(q) || q.length > QUIET_VALUES) throw new Error('scorer snapshot: bad quiet values');
        return q.map((x) => {
          const [qv, at] = nums(x, 'quiet value', 2);
          return { v: qv, at };
        });
      });
    }
    s.meanCount = int(v.meanCount, 'meanCount');
    s.resCount = int(v.resCount, 'resCount');
    // Absent from checkpoints written before it existed: nothing censored when the open episode closes.
    s.episodeResiduals = v.episodeResiduals === undefined ? 0 : int(v.episodeResiduals, 'episodeResiduals');
    // The short means' values (boxcars). A checkpoint written before spread's short mean held log squared
    // changes (anomalyd-scorer/3) is refused above: its mean of squared changes cannot stand for them.
    const held = v.shortMeans;
    if (typeof held !== 'object' || held === null) throw new Error('scorer snapshot: shortMeans must be an object');
    const box = (b: Boxcar, key: 'zMean' | 'resMean' | 'shortLog' | 'rarity' | 'cycle' | 'recent'): void => {
      const saved = (held as Record<string, unknown>)[key];
      if (typeof saved !== 'object' || saved === null) throw new Error(`scorer snapshot: shortMeans.${key} must be a boxcar state`);
      const st = saved as Record<string, unknown>;
      if (!Array.isArray(st.values)) throw new Error(`scorer snapshot: shortMeans.${key}.values must be an array`);
      const values = (st.values as unknown[]).map((x, i) => nums(x, `shortMeans.${key}.values[${i}]`));
      try {
        b.load({ values, sums: nums(st.sums, `shortMeans.${key}.sums`), sinceExact: int(st.sinceExact, `shortMeans.${key}.sinceExact`) });
      } catch (err) {
        throw new Error(`scorer snapshot: shortMeans.${key}: ${(err as Error).message}`);
      }
    };
    box(s.zMean, 'zMean');
    box(s.resMean, 'resMean');
    box(s.shortLog, 'shortLog');
    // The latest readings' values (absent from a checkpoint written before they were kept: none yet, as for a new stream).
    if ((held as Record<string, unknown>).recent !== undefined) box(s.recentValues, 'recent');
    if (format === 'anomalyd-scorer/6') {
      // Absent while no residual against a profile came.
      if ((held as Record<string, unknown>).cycle !== undefined) box((s.cycBox = new Boxcar(C, shortSpan(this.opts.smooth))), 'cycle');
      s.cycles = perChannel(v.cycles, 'cycles', 'cycle states', C, (x) => CycleProfile.fromJSON(x));
      const res = v.cycleResidual;
      if (typeof res !== 'object' || res === null) throw new Error('scorer snapshot: cycleResidual must be an object');
      s.cycVar.set(nums(res.var, 'cycleResidual.var'));
      s.cycCount.set(nums(res.count, 'cycleResidual.count'));
      // A checkpoint that did not keep it: the hold waits for the next cycle (-1 stands for that in a checkpoint).
      if (res.max === undefined) s.cycMax.fill(Infinity);
      else s.cycMax.set(nums(res.max, 'cycleResidual.max').map((v) => (v < 0 ? Infinity : v)));
      // Absent: no channel's drift was set up (or a checkpoint from before it: it starts over from the held readings).
      if (v.drift !== undefined) {
        s.drifts = perChannel(v.drift, 'drift', 'drift states', C, (x) => CycleDrift.fromJSON(x));
      }
      if (v.excursion !== undefined) {
        s.excursions = perChannel(v.excursion, 'excursion', 'excursion states', C, (x) => LevelExcursion.fromJSON(x));
      } else {
        s.excursions = Array.from({ length: C }, () => new LevelExcursion(shortSpan(this.opts.smooth), Math.ceil(this.opts.learnReadings / shortSpan(this.opts.smooth))));
      }
    }
    if (format === 'anomalyd-scorer/6' || format === 'anomalyd-scorer/5') {
      box(s.rareBox, 'rarity');
      const lag = shortSpan(this.opts.smooth);
      s.values = perChannel(v.values, 'values', 'value histograms', C, (h) => ValueHistogram.fromJSON(h, this.opts.horizon, lag));
    }
    s.above = int(v.above, 'above');
    s.below = int(v.below, 'below');
    if (v.episode) {
      const e = v.episode;
      const finite = (x: unknown): number => {
        if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error('scorer snapshot: episode numbers must be finite');
        return x;
      };
      if (typeof e.id !== 'string') throw new Error('scorer snapshot: episode id must be a string');
      s.episode = {
        id: e.id,
        startTs: finite(e.startTs),
        lastAboveTs: finite(e.lastAboveTs),
        readings: finite(e.readings),
        peak: finite(e.peak),
        peakEvidence: Object.fromEntries(EVIDENCE.map((k) => [k, e.peakEvidence[k] ?? Number.NaN])) as Record<Evidence, number>,
        peakChannels: nums(e.peakChannels, 'episode.peakChannels'),
        lastReported: finite(e.lastReported),
        // Absent from checkpoints written before it existed: the next tenfold rarer peak is reported at once.
        reportedAt: e.reportedAt === undefined ? 0 : finite(e.reportedAt),
        owners: checkOwners(e.owners, C),
        rowPeak: finite(e.rowPeak),
        // Absent from checkpoints written before it existed: never stuck; an alarm.
        stuckAt: e.stuckAt === undefined ? 0 : finite(e.stuckAt),
        // Absent from checkpoints written before it was kept, and while no excursion grew: none.
        ...(e.grownAt !== undefined && e.grownAt !== null ? { grownAt: finite(e.grownAt) } : {}),
        silent: e.silent === true,
        // Absent from checkpoints written before it was kept (and for an episode opened as an alarm): none.
        ...(e.uncounted !== undefined ? { uncounted: finite(e.uncounted) } : {}),
        // Absent from checkpoints written before they were kept (or none off on its own): its end is lastAboveTs.
        ...(e.ownAt !== undefined && e.ownTs !== undefined ? { ownAt: finite(e.ownAt), ownTs: finite(e.ownTs) } : {}),
        // NaN is written as null (no reading before its first in the segment).
        ...(Array.isArray(e.pre) && e.pre.length === C ? { pre: e.pre.map((x: unknown) => (x === null || Number.isNaN(x) ? Number.NaN : finite(x))) } : {}),
        ...(Array.isArray(e.fault) && e.fault.length === 2 * C ? { fault: e.fault.map(finite) } : {}),
        ...(e.ownPrev === true ? { ownPrev: true } : {}),
        // Absent from checkpoints written before it was kept: none fell back.
        ...(Array.isArray(e.fellBack) && e.fellBack.length === C ? { fellBack: e.fellBack.map((b: unknown) => b === true) } : {}),
        // Absent from checkpoints written before it was kept: noted from the next reading on. NaN is written as null.
        ...(Array.isArray(e.plateau) && e.plateau.length === PLATEAU_FIELDS * C ? { plateau: e.plateau.map((x: unknown) => (x === null ? Number.NaN : finite(x))) } : {}),
        // Absent from checkpoints written before they were kept: none (the ring's held readings are judged). NaN is
        // written as null.
        ...(Array.isArray(e.came) && e.came.length === C ? { came: e.came.map((xs: unknown) => cameOf(xs)) } : {}),
        // Absent from checkpoints written before it was kept: `readings` (Episode.steps).
        ...(e.steps !== undefined ? { steps: finite(e.steps) } : {}),
        ...(e.silence !== undefined && e.silence !== null ? { silence: { since: finite((e.silence as { since?: unknown }).since) } } : {}),
        // Absent from checkpoints written before they were kept: none (a held state is noted again at its next judgement).
        ...(e.held !== undefined && e.held !== null ? { held: { channel: finite(e.held.channel), since: finite(e.held.since), longestMs: finite(e.held.longestMs), ...(e.held.level !== undefined ? { level: finite(e.held.level) } : {}) } } : {}),
        ...(e.alarm !== undefined && e.alarm !== null ? { alarm: { since: finite(e.alarm.since), level: finite(e.alarm.level) } } : {}),
        // Absent from checkpoints written before it was kept: none (noted again while the excursion holds it).
        ...(e.excursion !== undefined && e.excursion !== null
          ? {
              excursion: {
                channel: finite(e.excursion.channel),
                since: finite(e.excursion.since),
                up: e.excursion.up === true,
                lo: finite(e.excursion.lo),
                hi: finite(e.excursion.hi),
                // A cycle drift's (absent from checkpoints written before it: a level excursion's note).
                ...(e.excursion.expected !== undefined && e.excursion.value !== undefined && e.excursion.at !== undefined
                  ? { expected: finite(e.excursion.expected), value: finite(e.excursion.value), at: finite(e.excursion.at) }
                  : {}),
              },
            }
          : {}),
        ...(e.counterRate !== undefined && e.counterRate !== null ? { counterRate: { perHour: finite(e.counterRate.perHour), usualPerHour: finite(e.counterRate.usualPerHour) } } : {}),
        // Absent from checkpoints written before it was kept: none (noted again at the next reading judged busy).
        ...(e.counterBusy !== undefined && e.counterBusy !== null
          ? { counterBusy: { since: finite(e.counterBusy.since), ms: finite(e.counterBusy.ms), longestMs: finite(e.counterBusy.longestMs), rise: finite(e.counterBusy.rise), restMs: finite(e.counterBusy.restMs) } }
          : {}),
        // Absent from checkpoints written before it was kept, and before a catch-up: none.
        ...(e.catchUp !== undefined && e.catchUp !== null ? { catchUp: { amount: finite(e.catchUp.amount), steps: finite(e.catchUp.steps) } } : {}),
      };
    }
    // Absent from checkpoints written before they existed: no reset awaited, and no reading for a duplicate to repeat.
    s.awaitingReset = v.awaitingReset === true;
    // Absent: no run beyond or back the open episode's readings were in (judgeOut), or a checkpoint written before it.
    s.backRun = v.outRuns === undefined ? 0 : int(v.outRuns.back, 'outRuns.back');
    s.outRun = v.outRuns === undefined ? 0 : int(v.outRuns.out, 'outRuns.out');
    s.episodeOut = v.outRuns?.episodeOut === true;
    // Absent (a checkpoint written before it): none gathered; a reading back is then judged by the hold level alone.
    s.outZ = v.outRuns?.z === undefined ? null : Float64Array.from(nums(v.outRuns.z, 'outRuns.z', 2 * C));
    s.counter = v.counter === true;
    // Absent (a checkpoint written before it, or a counter that has not risen yet): no rate taught.
    if (v.counterRate !== undefined) {
      const rate = (x: unknown): number => {
        if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new Error('scorer snapshot: counterRate numbers must be finite and >= 0');
        return x;
      };
      s.rateMax = rate(v.counterRate.max);
      s.rateRises = int(v.counterRate.rises, 'counterRate.rises');
      s.rateHeld = rate(v.counterRate.held);
      const incs: unknown = v.counterRate.incs;
      s.rateIncs = Array.isArray(incs) && incs.length % 3 === 0 ? incs.map((x) => rate(x)) : [];
    }
    s.onOff = v.onOff === true;
    if (v.onOffDwell !== undefined) s.onOffDwell = OnOffDwell.fromJSON(v.onOffDwell);
    s.lastScored = v.lastScored === undefined || v.lastScored === null ? null : readScored(v.lastScored, C);
    this.streams.set(stream, s);
  }
}

/**
 * An episode's length in readings as it is told (AnomalyEvent.windows, OpenEpisodeProgress.readings): from its first
 * reading to its last that held it (lastAboveTs), leaving out the `below` readings after that one (StreamScore.below:
 * those that may yet close it). An alarm field's episode counts every reading in its state (its `below` stays 0).
 */
function heldReadings(ep: Episode, below: number): number {
  return Math.max(1, ep.readings - (ep.uncounted ?? 0) - below);
}

/**
 * An episode's end as it is told (its events' endTs and `windows`, its progress in the record: openEpisodes), with
 * `below` (StreamScore.below) of its latest readings after its last that held it: its last reading that was off on its
 * own (Episode.ownTs) while every reading that held it after that one is within `span` readings of it (shortSpan: the
 * short means still held that reading); else its last reading that held it (lastAboveTs). `trailing`: its readings
 * after the one `ts` names (epoch ms), not counted in its length (heldReadings). A short fault's readings stay in the
 * short means (shift, bias, spread, rarity, cycle: 2 · score.smooth − 1 readings) and the model's window after they
 * are back, and hold its episode while they are off: a 3-reading spike on a sensor read every 5 minutes held its
 * episode 30 readings after it, told as lasting 2.5 hours (tryout 27, finding 4). Those readings held it by the fault's
 * readings, not their own. A fault that goes on off only in a short mean (a small shift after a large onset) holds
 * its episode longer than that span after its last reading off on its own, and is told to its last reading that held
 * it, as before. Not for a silence's, an alarm state's or a held state's episode (their end follows the silence, the
 * state: lastAboveTs), nor a reading off on its own before a silent episode became an alarm (its start).
 */
/**
 * The held steps (CycleProfile.advance) reading `r` adds to a cycle's ring: the reading and the filled steps before it;
 * a bunched reading takes a filled step's place (none); a silence's step none. Used for Episode.steps.
 */
function heldSteps(r: StepResult<unknown>): number {
  if (r.item.kind !== 'reading') return 0;
  const filled = r.item.filled;
  if ((r.item.bunched ?? 0) > 0 && filled === 0) return 0;
  return 1 + filled;
}

function toldEnd(ep: Episode, below: number, span: number): { readonly ts: number; readonly trailing: number } {
  const own = ep.ownAt ?? 0;
  if (own > 0 && ep.ownTs !== undefined && ep.ownTs >= ep.startTs && ep.silence === undefined && ep.alarm === undefined && ep.held === undefined && ep.readings - below - own < span) {
    return { ts: ep.ownTs, trailing: ep.readings - own };
  }
  return { ts: ep.lastAboveTs, trailing: below };
}

/** An open episode that is an alarm, as it stands: its stream, id, end as told so far (toldEnd, epoch ms) and length in readings (heldReadings). */
export interface OpenEpisodeProgress {
  readonly stream: string;
  readonly id: string;
  /** Its end as told so far, epoch ms (toldEnd: the reading its events' endTs would name now). */
  readonly lastAboveTs: number;
  readonly readings: number;
  /**
   * A state held far longer than the stream's dwells there holds it (AnomalyEvent.held, Episode.held): what its next
   * event would carry, so a retelling between events (SignalBook.retell) tells it as soon as the detector judged it.
   * Absent: none (only in openEpisodes' progress).
   */
  readonly held?: AnomalyEvent['held'];
  /**
   * A level excursion beyond everything the channel had shown holds it (AnomalyEvent.excursion, Episode.excursion): what
   * its next event would carry, so a retelling between events (SignalBook.retell) tells it a drift since its onset as
   * soon as the detector judged it, though another kind opened it. Absent: none.
   */
  readonly excursion?: AnomalyEvent['excursion'];
}

/** An open episode's progress with its peak as its events carry it (StreamScorer.openPeak). */
export interface OpenEpisodePeak extends OpenEpisodeProgress {
  /** AnomalyEvent.peakScore: the peak's surprise as a score in [0, 1]. */
  readonly peakScore: number;
  /** AnomalyEvent.evidence: the surprise of each kind of evidence measured at the peak. */
  readonly evidence: Readonly<Record<string, number>>;
  /** AnomalyEvent.channelErrors: each channel's deviation (surprise) at the peak. */
  readonly channelErrors: readonly number[];
}

/** A silence's judgement (StreamScorer.silenceOf): its deviation (surprise), the channels' penalty, evidence and per-channel surprises. */
interface SilenceVerdict {
  readonly deviation: number;
  readonly penalty: number;
  readonly evidence: Record<Evidence, number>;
  readonly channels: number[];
}

/** What StreamScorer.judgeSilence found: the silence's deviation (surprise; NaN when not judged) and the events it caused (open or update). */
export interface SilenceJudgement {
  readonly deviation: number;
  readonly events: AnomalyEvent[];
}

/** A stream's scoring state as JSON (checkpoints). */
export interface StreamScoreSnapshot {
  readonly format: 'anomalyd-scorer/6';
  readonly channels: number;
  /** [kind][channel] */
  readonly reference: TailState[][];
  readonly adaptive: TailState[][];
  /**
   * The open episode's kept evidence, packed (KeptEvidence.pack); [] when none is kept. Checkpoints written
   * before the packed form hold per reading, per kind, one value per channel (null: nothing taught there, NaN
   * in memory), or null: they restore too.
   */
  readonly episodeEvidence: PackedEvidence | readonly Record<string, (number | null)[] | null>[];
  /** Rare steps waiting to be confirmed (null: NaN, nothing to teach). Absent from checkpoints written before it existed. */
  /** Rests the open episode held, [channel, from, to, value]. Absent from checkpoints written before it existed. */
  readonly rests?: readonly [number, number, number, number][];
  /** Levels an episode came back to with its rests not taught, [channel, value] (StreamScore.cameBack). Absent from checkpoints written before it existed. */
  readonly cameBack?: readonly [number, number][];
  /** The recurring visits kept and the open episode's visit so far (StreamScore.visits). Absent: none (or written before they were kept). */
  readonly visits?: VisitMemoryJson;
  /** Set-point switches the stream has shown (StreamScore.setpoints). Absent: none (or written before it existed). */
  readonly setpoints?: number;
  readonly steps?: readonly StepJson[];
  /** Steps that held and came back, not taught (StreamScore.stepsBack). Absent from checkpoints written before it existed. */
  readonly stepsBack?: readonly StepJson[];
  readonly seen: number;
  /** StreamScore.learnFrom ('not_moved' for NOT_MOVED); absent in older checkpoints (0). */
  readonly learnFrom?: number | 'not_moved';
  readonly knownNormal?: boolean;
  readonly moved?: boolean;
  readonly last: number[] | null;
  /** Per channel, the plain mean of spread's short boxcar of log squared changes (its values are in shortMeans). */
  readonly shortLog: number[];
  readonly longLog: number[];
  /** Absent from checkpoints written before it existed. */
  readonly restLog?: number[];
  /** Per channel, the switches' typical change as ln of its square, and the changes it learnt (StreamScore.switchLog); absent: restLog and varCount. */
  readonly switchLog?: number[];
  readonly switchCount?: number[];
  readonly longVar: number[];
  /** Absent from checkpoints written before it existed. */
  readonly episodeVariability?: { readonly log: number[]; readonly var: number[]; readonly count: number[] };
  readonly varCount: number;
  readonly run: number[];
  readonly longest: number[];
  /** Per channel, the smallest change other than 0 (the resolution). Absent from checkpoints written before it existed. */
  readonly step?: number[];
  /** Per channel, 1 once stuck called the current run rare. Absent from checkpoints written before it existed. */
  readonly runRare?: number[];
  /** Per channel, the moments of the runs away from a rest (src/pipeline/runs.ts). Absent from checkpoints written before it existed. */
  readonly runModel?: number[];
  /** The moments of the steps missed before each arrival (src/pipeline/arrivals.ts). Absent from checkpoints written before it existed. */
  readonly arrivals?: number[];
  /** The longest quiet taught to `arrivals`, steps (StreamScore.quietest). Absent from checkpoints written before it existed: 0. */
  readonly quietest?: number;
  /** The longest quiet on the stream's clock, ms (StreamScore.quietestMs). Absent from checkpoints written before it existed: 0 (learnt again). */
  readonly quietestMs?: number;
  /** When it was last raised, epoch ms, or null (StreamScore.quietestAt). Absent from checkpoints written before it existed. */
  readonly quietestAt?: number | null;
  /** The stream's latest reading that arrived, epoch ms, or null (StreamScore.lastArrival). Absent from checkpoints written before it existed. */
  readonly lastArrival?: number | null;
  /**
   * Per channel, its states' dwells and present segment (src/pipeline/dwell.ts). Absent from
   * checkpoints written before it existed: learnt again.
   */
  readonly dwells?: DwellSnapshot[];
  /** Per channel, the values it rests at as [value, reading count when a rest there last ended]. Absent from checkpoints written before it existed. */
  readonly quiet?: [number, number][][];
  readonly zMean: number[];
  readonly resMean: number[];
  /** The short means' states (boxcars): of the signed level, of the signed residual, of the log squared change. */
  readonly shortMeans: { readonly zMean: BoxcarState; readonly resMean: BoxcarState; readonly shortLog: BoxcarState; readonly rarity: BoxcarState; readonly cycle?: BoxcarState; readonly recent?: BoxcarState };
  /** Per channel, its cycle (src/pipeline/cycle.ts). Absent from checkpoints written before it existed (/5, /4). */
  readonly cycles?: CycleState[];
  /** Per channel, the long-term mean squared residual against the cycle's profile, and the residuals it learnt. */
  readonly cycleResidual?: { readonly var: number[]; readonly count: number[]; readonly max?: number[] };
  /** Per channel, the drift of its level off a long cycle (src/pipeline/drift.ts); absent where none is set up, and from checkpoints written before it existed (it starts over). */
  readonly drift?: DriftState[];
  /** Per channel, its level's excursion beyond everything shown (src/pipeline/excursion.ts); absent from checkpoints written before it (it starts over, its envelope seeded by its next learnReadings). */
  readonly excursion?: ExcursionState[];
  /** Per channel, rarity's value histogram (with its guard band). */
  readonly values: ValueHistogramState[];
  readonly meanCount: number;
  readonly resCount: number;
  /** Absent from checkpoints written before it existed. */
  readonly episodeResiduals?: number;
  readonly above: number;
  readonly below: number;
  /**
   * A reset of the model state asked for at the end of a stuck run has not taken effect yet (the model's errors
   * wait for it). Absent from checkpoints written before it existed.
   */
  readonly awaitingReset?: boolean;
  /**
   * The open episode's runs of readings back within and beyond the normal range, and whether it has been beyond it
   * for `score.smooth` in a row (StreamScore.backRun, outRun, episodeOut; judgeOut). Absent: 0, 0, false. `z`: per
   * channel the sum of the signed z of the episode's readings beyond the range, then how many (2C numbers;
   * StreamScore.outZ); absent: none.
   */
  readonly outRuns?: { readonly back: number; readonly out: number; readonly episodeOut: boolean; readonly z?: readonly number[] };
  /** The stream is a counter (StreamScore.counter); absent: not one. */
  readonly counter?: boolean;
  /** A counter's rate (StreamScore.rateMax, rateRises, rateHeld: sensor units per step, rises); absent: none taught. */
  readonly counterRate?: { readonly max: number; readonly rises: number; readonly held: number; readonly incs?: readonly number[] };
  /** The stream's readings are on/off (StreamScore.onOff); absent: not. */
  readonly onOff?: boolean;
  /** An on/off stream's dwells in its active state (StreamScore.onOffDwell); absent: learnt again. */
  readonly onOffDwell?: OnOffDwellSnapshot;
  /**
   * The latest reading's scored step (without its events): what a duplicate of it reports, and whether the
   * stream was still learning. Absent from checkpoints written before it existed (or null: no reading yet).
   */
  readonly lastScored?: StoredScoredStep | null;
  /** `stuckAt` is absent from checkpoints written before it existed. */
  readonly episode: (Omit<Episode, 'peakEvidence' | 'stuckAt' | 'silent' | 'reportedAt'> & { peakEvidence: Record<string, number | null>; stuckAt?: number; silent?: boolean; reportedAt?: number }) | null;
}

interface Fused {
  /** Fused surprise on the fitted tails: what episodes are decided on. */
  surprise: number;
  /**
   * The same on the posterior predictive tails (tail.ts), and per channel: the row score. Only fuse's
   * `predictive` computes them (the adaptive histories); otherwise they are the fitted ones.
   */
  rowSurprise: number;
  rowChannels: number[];
  evidence: Record<Evidence, number>;
  /** Per channel, the largest surprise over kinds. */
  channels: number[];
  /** log10 of how many (kind, channel) spoke: what `surprise` takes off the largest. */
  penalty: number;
  /** Surprise of each (kind, channel), [kind * C + channel] (0 where the kind said nothing). */
  each: Float64Array;
}

/**
 * Surprise of each (kind, channel) against a set of histories; fused: the largest less log10 of how many spoke.
 * `each`: a buffer of EVIDENCE.length * C for the per-(kind, channel) surprises (reused across readings); `out`: the
 * record filled and returned (the caller's, refilled by each reading: no Fused object per reading). `runFloor` ([C]):
 * stuck's surprise of each channel is at least this (the run's surprise under the model of runs away from a rest,
 * src/pipeline/runs.ts), also where its history of run lengths is not ready: that model is a posterior predictive
 * of the stream's own busy runs (it says no more than its runs can) and is 0 for a calm run and at a rest. A noisy sensor at 0.01 repeats a value about one reading in ten, so its
 * learning period ran fewer runs than the history needs to be ready, and a freeze gains it none while it lasts:
 * a freeze that began as learning ended was judged by nothing (tryout 17, finding 1).
 * `novel` ([C], 1 or 0): the channels whose value is one the discrete channel has never taken
 * (ValueHistogram.novel); their `level` surprise is a test chosen by that fact before any kind was looked at, not
 * the largest of several picked afterwards, so it counts without the Bonferroni share: the fused surprise is at
 * least it (docs/SCORING.md, "A value never seen").
 * `runCeiling` ([C]): stuck's surprise of each channel is at most this, floor included (+Infinity: no bound): how
 * rare the run is against how often the readings just before it took its value (runs.ts recentRunSurprise).
 */
function fuse(set: Histories, e: EvidenceValues, C: number, each: Float64Array, logs: LogsOf, out: Fused, predictive = false, perChannel?: FusedChannels, runFloor?: Float64Array, novel?: Uint8Array, driftFloor?: Float64Array, rateFloor?: Float64Array, runCeiling?: Float64Array): Fused {
  const channels = perChannel === undefined ? zeros(C) : zeroed(perChannel.channels);
  const rowChannels = !predictive ? channels : perChannel === undefined ? zeros(C) : zeroed(perChannel.rowChannels);
  const pred = PREDICTIVE;
  for (let i = 0; i < each.length; i++) each[i] = 0;
  let max = 0;
  let rowMax = 0;
  let n = 0;
  // The largest `level` surprise of a channel whose value is novel (counts without the share), as rowMax and max.
  let gated = 0;
  let rowGated = 0;
  // Indexed loops, not forEach closures: this runs for every reading (same order, same arithmetic). The
  // per-kind results go into one object literal at the end (one shape, in EVIDENCE's order), not key by key.
  const best = BEST;
  for (let k = 0; k < EVIDENCE.length; k++) {
    const v = kindOf(e, k);
    const row = set[k];
    let top = Number.NaN;
    if (v !== null && logs.fill) for (let c = 0; c < C; c++) logs.values[k * C + c] = logError(v[c]);
    if (k === CYCLE && driftFloor !== undefined && (v === null || row === null)) {
      // A drift off the cycle speaks where the kind does not yet (its floor alone).
      for (let c = 0; c < C; c++) {
        const sur = driftFloor[c];
        if (!(sur > 0)) continue;
        each[k * C + c] = sur;
        n++;
        if (!(sur <= top)) top = sur;
        if (sur > channels[c]) channels[c] = sur;
        if (predictive) {
          if (sur > rowChannels[c]) rowChannels[c] = sur;
          if (sur > rowMax) rowMax = sur;
        }
      }
    } else if (v !== null && row !== null) {
      for (let c = 0; c < C; c++) {
        const tail = row[c];
        const floor = k === STUCK && runFloor !== undefined ? runFloor[c] : k === CYCLE && driftFloor !== undefined ? driftFloor[c] : k === CHANGE && rateFloor !== undefined ? rateFloor[c] : 0;
        // A busy run's own model speaks where the history of run lengths cannot yet (see above).
        if (!tail.ready) {
          if (!(floor > 0)) continue;
          pred.fitted = 0;
          pred.predictive = 0;
        } else tail.surpriseAt(v, c, logs.values, k * C + c, pred, predictive);
        if (floor > 0) {
          pred.fitted = Math.min(MAX_SURPRISE, Math.max(pred.fitted, floor));
          if (predictive) pred.predictive = Math.min(MAX_SURPRISE, Math.max(pred.predictive, floor));
        }
        // A run whose value the readings just before it kept taking is no rarer than they make it (see above).
        if (k === STUCK && runCeiling !== undefined && runCeiling[c] < pred.fitted) {
          pred.fitted = runCeiling[c];
          if (predictive && runCeiling[c] < pred.predictive) pred.predictive = runCeiling[c];
        }
        const sur = pred.fitted;
        each[k * C + c] = sur;
        n++;
        if (!(sur <= top)) top = sur;
        if (sur > channels[c]) channels[c] = sur;
        if (predictive) {
          if (pred.predictive > rowChannels[c]) rowChannels[c] = pred.predictive;
          if (pred.predictive > rowMax) rowMax = pred.predictive;
        }
        if (k === LEVEL && novel !== undefined && novel[c] === 1) {
          if (sur > gated) gated = sur;
          if (predictive && pred.predictive > rowGated) rowGated = pred.predictive;
        }
      }
    }
    best[k] = top;
    if (top > max) max = top;
  }
  const evidence: Record<Evidence, number> = {
    prediction: best[0],
    bias: best[1],
    reconstruction: best[2],
    level: best[3],
    change: best[4],
    shift: best[5],
    spread: best[6],
    stuck: best[7],
    rarity: best[8],
    cycle: best[9],
  };
  const penalty = n > 0 ? Math.log10(n) : 0;
  const surprise = n > 0 ? Math.max(0, Math.min(MAX_SURPRISE, Math.max(max - penalty, gated))) : Math.log10(2);
  const rowSurprise = !predictive ? surprise : n > 0 ? Math.max(0, Math.min(MAX_SURPRISE, Math.max(rowMax - penalty, rowGated))) : Math.log10(2);
  out.surprise = surprise;
  out.rowSurprise = rowSurprise;
  out.rowChannels = rowChannels;
  out.evidence = evidence;
  out.channels = channels;
  out.penalty = penalty;
  out.each = each;
  return out;
}

/** A fresh array of n zeros (a loop: Array.prototype.fill is a builtin call, dearer for a channel or two). */
/**
 * Teaches stream `s`'s longest quiet on its clock (StreamScore.quietestMs, quietestAt) a quiet of `x` ms (a reading at
 * `ts`, epoch ms, that arrived `x` after the one before, with steps missed or filled between): a longer one raises it.
 */
function noteQuiet(s: StreamScore, x: number, ts: number): void {
  if (x > s.quietestMs) {
    s.quietestMs = x;
    s.quietestAt = ts;
  }
}

function zeros(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(0);
  return out;
}

/** `a` with every element set to 0. */
function zeroed(a: number[]): number[] {
  for (let i = 0; i < a.length; i++) a[i] = 0;
  return a;
}

/** A Fused to fill (fuse's `out`). */
function newFused(): Fused {
  return { surprise: 0, rowSurprise: 0, rowChannels: [], evidence: nanEvidence(), channels: [], penalty: 0, each: new Float64Array(0) };
}

/**
 * The logarithms of one reading's evidence ([EVIDENCE.length * C], [kind * C + channel], logError of each value
 * of a kind that speaks): the first fuse of a reading fills them (`fill`), the second reads them, so each value's
 * logarithm is taken once for both sets of histories.
 */
interface LogsOf {
  readonly values: Float64Array;
  readonly fill: boolean;
}

/**
 * Per-channel arrays fuse may fill instead of fresh ones ([C] each, zeroed by fuse): for a fused result that does
 * not outlive the reading (the adaptive histories', read by the lifecycle and the row score only). The
 * reference's `channels` leave the scorer (channelDeviation, an episode's peak channels): always fresh.
 */
interface FusedChannels {
  readonly channels: number[];
  readonly rowChannels: number[];
}

/** fuse's scratch for the surprises of one (kind, channel) (TailCalibrator.surpriseAt). */
const PREDICTIVE: SurpriseOut = { fitted: 0, predictive: 0 };

/** fuse's per-kind largest surprises, in EVIDENCE's order (scratch: read back before fuse returns). */
const BEST = new Float64Array(EVIDENCE.length);
// fuse's literal names the kinds by their index in EVIDENCE.
if (EVIDENCE.join() !== 'prediction,bias,reconstruction,level,change,shift,spread,stuck,rarity,cycle') throw new Error('scorer: fuse and kindOf must follow EVIDENCE');

/**
 * Readings in the boxcars of the short means, for `smooth` (score.smooth): 2·smooth − 1, the boxcar with the
 * variance of the exponential mean of weight 1/smooth (1 / (2·smooth − 1) of a reading's) that the short means
 * were before they were boxcars, so the evidence is no noisier than it was. A reading leaves them this many
 * readings later: the most readings a fault's alarm outlives it is this plus alerts.closeAfter.
 */
export function shortSpan(smooth: number): number {
  return 2 * smooth - 1;
}

/** Forgets what the open episode gathered of the variability of changes (it ended, or was stuck). */
function clearEpisodeVariability(s: StreamScore): void {
  // Already cleared (nothing gathered since): the same +0 values, without three fills per reading.
  if (!s.epDirty) return;
  s.epDirty = false;
  s.epLog.fill(0);
  s.epVar.fill(0);
  s.epCount.fill(0);
}

/** The readings of an episode's onset (its first ones) that censorOnset may take out of the short means: a spike's most. */
const ONSET_READINGS = 3;
/**
 * The kinds of evidence judged on one reading's own value alone (not a short mean of several, nor the model's
 * expectation of it): what makes a reading off on its own. Not its prediction error: a reading can be off the model's
 * prediction because the model lags a spike (its next readings, back where they were) or because of a lasting offset
 * the model does not follow, whose first reading is as far off the prediction as a spike of its size and whose
 * residuals bias's short mean is there to gather (with the prediction error among these kinds, such an offset's first
 * reading left the residual's short mean, its episode resolved 16 readings after it opened and opened again 11
 * later: test/pipeline/scorer.test.ts, "the residuals after the episode are judged as ever").
 */
const OWN_KINDS = (['level', 'change'] as const).map((k) => EVIDENCE.indexOf(k));

/** How many root mean squared changes of normal operation a reading is from the value before its episode, at least, to be still off (offOnOwn). */
const STILL_OFF = 3;

/**
 * Whether the latest reading `r` of an open episode is off on its own (its end is told from it: toldEnd), in an owner
 * channel of episode `ep`: a kind judged on that reading alone reaches the hold level `hold` (surprise) in `f` (normal
 * operation's fused evidence, less its Bonferroni share), or the reading is still where those readings went.
 * - The kinds: its level, its run of one value (`stuck`: the run up to and with it), or its change unless that change
 *   takes the reading back towards the value before the episode (Episode.pre: nearer to it than the reading
 *   before): such a change is the fault's undoing, off because the reading before it was (the first reading back
 *   after a spike changes as much as the spike did). Such a reading's value joins the fault's mean (Episode.fault).
 * - Still off: the reading before it was off on its own (Episode.ownPrev: the fault's readings are one run from
 *   the first), and it is further from the value before the episode than STILL_OFF root mean squared one-reading
 *   changes of normal operation (longVar), on the side the fault's mean went. A spike of three readings within a
 *   daily cycle's range is seen by its change at its first reading only (and its last, going back), its second and
 *   third by no kind judged on one reading, yet they are the fault's as much as the first; a spike whose next
 *   readings come down only part of the way is over at the reading that is back. A reading after the run (a cycle
 *   that moved on, by its own slope, as far from that value) is the fault's only by a kind again. Not a cumulative
 *   counter's reading (StepItem.counter set): its total counts on from the value before the episode and never comes
 *   back, so every reading after a jump or a catch-up would be "still off", and the episode's end told at its resolve,
 *   closeAfter readings after its last reading that held it (tryout 38, finding 6: a meter's stuck episode told to
 *   last 18 h past the reading at which it counted again).
 * Not the short means (shift, bias, spread, rarity, cycle) nor the model's window (reconstruction), which hold a
 * fault's readings for their span after it ends, nor the prediction error, which the model's lag after a fault keeps
 * up a reading or two (OWN_KINDS leaves it out for the same reason). Call it once for every reading of an episode, its
 * opening one included; it notes its answer in Episode.ownPrev.
 */
function offOnOwn(s: StreamScore, r: StepResult<unknown>, ep: Episode, f: Fused, hold: number): boolean {
  const C = s.C;
  const fault = (ep.fault ??= new Array<number>(2 * C).fill(0));
  // A cumulative counter's total never comes back to the value before its episode: it is off by a kind or not at all.
  const counter = r.item.counter !== undefined;
  let own = false;
  for (let c = 0; c < C; c++) {
    if (!ep.owners[c]) continue;
    const x = r.item.values[c];
    const pre = ep.pre === undefined ? Number.NaN : ep.pre[c];
    let kind = f.each[LEVEL * C + c] - f.penalty >= hold || f.each[STUCK * C + c] - f.penalty >= hold;
    if (!kind && f.each[CHANGE * C + c] - f.penalty >= hold) kind = !(s.last !== null && !r.item.reset && Math.abs(x - pre) < Math.abs(s.last[c] - pre));
    if (kind) {
      fault[c] += x;
      fault[C + c]++;
      own = true;
    } else if (counter) continue;
    else if (ep.ownPrev === true && fault[C + c] > 0 && (x - pre) * (fault[c] / fault[C + c] - pre) > 0 && Math.abs(x - pre) > STILL_OFF * Math.sqrt(s.longVar[c])) own = true;
  }
  ep.ownPrev = own;
  return own;
}

/**
 * Takes the latest reading out of the short means of the level and of the model's residual (zMean, resMean: shift's
 * and bias's), once judged, when it is one of the first ONSET_READINGS readings of `episode` (the one that opened
 * it included) and is off on its own: in an owner channel, a kind of evidence judged on that reading alone
 * (OWN_KINDS: its level, its change) reaches the hold level against normal operation
 * (`reference`, surprise less its Bonferroni share). Such a reading holds its episode by itself; kept in the short
 * means it would also hold it for the shortSpan(smooth) readings it stays there, however normal the readings after
 * it are: a one-reading spike on a sensor read every 30 s kept its episode open 31 + closeAfter readings, 23 minutes
 * (tryout 18, finding 8). Censored from them, a lone spike's episode resolves `closeAfter` readings after it; a
 * lasting shift's first readings hold its episode by their own level, and its later readings build the short
 * means as before (a shift small enough to be caught by a short mean alone has no reading off on its own, and
 * none is taken out). The censoring of robust streaming estimators, as censorEpisode's. Returns true when the
 * latest reading's residual was taken out of resMean (it is then not one of the episode's residuals).
 */
function censorOnset(s: StreamScore, episode: Episode | null, reference: Fused, hold: number): boolean {
  if (episode === null || episode.silence !== undefined || episode.readings > ONSET_READINGS) return false;
  const C = s.C;
  let own = false;
  for (let c = 0; c < C && !own; c++) {
    if (!episode.owners[c]) continue;
    for (const k of OWN_KINDS) if (reference.each[k * C + c] - reference.penalty >= hold) own = true;
  }
  if (!own) return false;
  s.zMean.dropNewest(1, true);
  if (!s.pushedResidual) return false;
  s.resMean.dropNewest(1, true);
  return true;
}

/** Index of `reconstruction` in EVIDENCE (windowHoldsJudged). */
const RECONSTRUCTION = EVIDENCE.indexOf('reconstruction');

/**
 * Channel `c`'s largest surprise in `f` over every kind but `kind` (an index into EVIDENCE; −1: none left out), before
 * the Bonferroni share: f.channels[c] when `kind` is not the largest.
 */
function channelWithout(f: Fused, kind: number, C: number, c: number): number {
  if (kind < 0 || !(f.each[kind * C + c] >= f.channels[c])) return f.channels[c];
  let top = 0;
  for (let k = 0; k < EVIDENCE.length; k++) if (k !== kind && f.each[k * C + c] > top) top = f.each[k * C + c];
  return top;
}

/**
 * `f`'s fused surprise without kind `kind` (an index into EVIDENCE): the largest of the other kinds' surprises less
 * the same Bonferroni share (how many spoke, `kind` included: no less conservative), a novel value's level without
 * it as fuse counts it (`novel`, [C]); f.surprise when `kind` did not carry it.
 */
function surpriseWithout(f: Fused, kind: number, C: number, novel: Uint8Array): number {
  let top = 0;
  let gated = 0;
  let carried = false;
  for (let c = 0; c < C; c++) {
    if (f.each[kind * C + c] >= f.channels[c] && f.channels[c] - f.penalty >= f.surprise - 1e-12) carried = true;
    for (let k = 0; k < EVIDENCE.length; k++) {
      if (k === kind) continue;
      const v = f.each[k * C + c];
      if (v > top) top = v;
      if (k === LEVEL && novel[c] === 1 && v > gated) gated = v;
    }
  }
  if (!carried) return f.surprise;
  return Math.max(0, Math.min(MAX_SURPRISE, Math.max(top - f.penalty, gated)));
}

/**
 * Notes the latest reading as off on its own (StreamScore.ownOffStep) when it belongs to `episode` (open, or just
 * ended at it; not a silence's) and, in an owner channel, a kind judged on that reading alone (OWN_KINDS: its
 * level, its change) reaches the hold level against normal operation (`reference`, surprise less its Bonferroni
 * share), as censorOnset judges an onset's readings.
 */
function markOwnOff(s: StreamScore, r: StepResult<unknown>, episode: Episode | null, reference: Fused, hold: number): void {
  if (episode === null || episode.silence !== undefined) return;
  const C = s.C;
  for (let c = 0; c < C; c++) {
    if (!episode.owners[c]) continue;
    for (const k of OWN_KINDS) {
      if (reference.each[k * C + c] - reference.penalty >= hold) {
        s.ownOffStep = r.segmentSteps;
        return;
      }
    }
  }
}

/**
 * Whether the window the latest reconstruction error is of (the StepResult.reconSteps steps ending at this one)
 * holds a reading an episode judged off on its own (StreamScore.ownOffStep): then that error is about that reading,
 * which held its episode by itself while it was the latest, and is no evidence of the readings after it: it neither
 * opens nor holds an episode (lifecycle: channelWithout, surpriseWithout). It is still scored and taught as ever (the
 * row score, what the histories learn): left out of them too, a 1,000-reading episode that became the new normal left
 * the adaptive history of reconstructions without its readings, and a normal reconstruction after it opened a silent
 * episode that changed what the value histogram learnt (MSL C-2 lost an event). Called for
 * every reading, so a new segment (its first step) forgets the mark. A
 * reconstruction judges a window of W readings (64 by default) at once, so a fault's readings stay in it for up to
 * W − 1 readings after they end: a +6 °C jump of 30 readings, back to its level before, was held by its
 * reconstruction 45 readings after the return and the episode resolved 61 readings after it, beyond the 2 ·
 * `score.smooth` − 1 + `alerts.closeAfter` readings (47) documented (tryout 23, finding F2); after the episode,
 * such a window opened a new one at a normal reading. It is the reconstruction's counterpart of censorEpisode's
 * and censorOnset's censoring of the short means (SPOT, Siffer et al. KDD 2017, leaves its alarms out of what it
 * judges by): the fault's own readings are judged once, when they come. A fault that only the reconstruction sees
 * (no reading off on its own: a changed shape within the normal range) is judged by it as before. False after a
 * reset of the model segment (its steps start over).
 */
function windowHoldsJudged(s: StreamScore, r: StepResult<unknown>): boolean {
  if (s.ownOffStep <= 0) return false;
  if (r.segmentSteps <= 1 || r.segmentSteps < s.ownOffStep) {
    s.ownOffStep = 0;
    return false;
  }
  return r.reconErrors !== null && r.segmentSteps - s.ownOffStep < (r.reconSteps ?? 0);
}

/**
 * The open episode just ended (`newNormal`: as the new normal). An episode that recovered takes its readings'
 * model residuals (every one pushed from the reading that opened it to the one that resolved it, all
 * channels: the model's state is shared) out of the short mean of the residual, bias's: the residuals of the
 * readings before it and after it are what the short mean holds from then on (bias speaks on what is left at
 * once, scaled to a full boxcar's variance: evidence). The model's input held the
 * fault, so its predictions were off by the fault and by what its state kept of it afterwards (a spike's
 * after-effect: a few readings off in the other direction, while the state forgets it); once the episode
 * has judged them, they are no evidence of the stream. Kept in, the fault's own residual balances the
 * after-effect's in the mean until it leaves the boxcar, shortSpan(smooth) readings after it came, and the
 * after-effect alone then opens a second episode at a normal reading (the demo's spikes with their own
 * fine-tuned models: 9 to 19 of 25, each 31 readings after the spike). The censoring of robust streaming
 * estimators (SPOT, Siffer et al. KDD 2017, leaves its alarms out of its tail fit), here of the short mean,
 * as the model errors wait for the model state to settle after a reset. A new normal's readings are the
 * stream's from then on and stay.
 */
function censorEpisode(s: StreamScore, newNormal: boolean): void {
  if (!newNormal) s.resMean.dropNewest(s.episodeResiduals);
  s.episodeResiduals = 0;
}

/** judgeOut: no open episode, or a reading that is not back. */
const OUT_NONE = 0;
/** judgeOut: a reading of an open episode back within the normal range, the fault ended (taught to the normalisation). */
const OUT_BACK = 1;
/** judgeOut: the first reading at which the fault has ended (taught as OUT_BACK's; the model restarts from it). */
const OUT_RETURN = 2;

/**
 * What an open episode lets its stream learn (docs/SCORING.md section 5, "What an open episode lets the stream
 * learn"). A reading of `episode` (open, or just ended at this reading; not a silence's) is beyond the normal range
 * when an owner channel's `level` reaches the hold level `hold` against normal operation (`reference`, surprise less
 * its Bonferroni share); it stays out of the running normalisation, as every reading of an open episode did before.
 * Once the episode has been beyond the range for `run` readings in a row (`score.smooth`: a departure that lasts, not
 * a spike or a noisy reading), and its readings have then been back for `run` readings in a row, the fault has
 * ended. Back is within the range (every owner below the hold level) and nearer the normal than the fault: each owner's
 * signed z (`z`, the step's, running standard deviations from the running mean) on the normal's side of the midpoint
 * between 0 and the mean z of the episode's readings beyond the range (StreamScore.outZ), the nearest-mean rule of
 * two classes (Lloyd's k-means step; the dwell tracker's nearest level). On a cycle the running spread is the cycle's,
 * so a lasting shift larger than its swing is within the hold level at the cycle's troughs, on the fault's side:
 * those readings are the fault (test/pipeline/lasting-shift-out.test.ts: a +8 shift on a ±2 cycle, z +3.9 at its
 * troughs against the fault's +5, was taken for the return, its readings taught). Once back, the first such reading
 * (OUT_RETURN) restarts the model at the next chunk, as the end of a stuck value does (the step engine's reset; the model's errors wait for the reset and the settling
 * after it, and bias's short mean starts over), and from it on every reading back is taught to the normalisation
 * again (OUT_RETURN, OUT_BACK: the step engine's exclude is false), though the episode may still be held by the
 * short means of its readings beyond the range, for 2 · `score.smooth` − 1 readings. The normal signal went on while
 * the fault lasted (a slow cycle moved on), and the readings back are where it went; the model's state carried the
 * fault's readings (inputs clipped at ±10 standard deviations, for the fault's whole length) and predicted towards
 * them for tens of readings after the return, the longer the fault the longer (tryout 23, F2: +6 °C for 90 readings
 * on a slow sine). The skipped update of a robust filter: an observation outside the gate is left out of the
 * estimate, one inside it is taken in (Gelper, Fried and Croux, "Robust forecasting with exponential and Holt-Winters
 * smoothing", J. Forecasting 2010, where such an observation is replaced by its cleaned value; here the gate is the
 * hold level, the episode's own). A fault within the normal range (a small shift, a changed noise level, a step
 * smaller than a cycle's swing) never leaves it for `run` readings: nothing here changes for it. Sets
 * StreamScore.backRun, outRun, episodeOut and outZ (checkpointed). `z`: per channel (C numbers). Returns OUT_NONE,
 * OUT_BACK or OUT_RETURN.
 */
function judgeOut(s: StreamScore, episode: Episode | null, z: ArrayLike<number>, reference: Fused, hold: number, run: number): number {
  if (episode === null || episode.silence !== undefined) {
    s.backRun = 0;
    s.outRun = 0;
    return OUT_NONE;
  }
  const C = s.C;
  let beyond = false;
  for (let c = 0; c < C; c++) {
    if (!episode.owners[c] || !(reference.each[LEVEL * C + c] - reference.penalty >= hold)) continue;
    beyond = true;
    if (!Number.isFinite(z[c])) continue;
    const f = (s.outZ ??= new Float64Array(2 * C));
    f[c] += z[c];
    f[C + c]++;
  }
  if (beyond) {
    s.backRun = 0;
    if (++s.outRun >= run) s.episodeOut = true;
    return OUT_NONE;
  }
  s.outRun = 0;
  // A fault shorter than `run` readings beyond the range has ended too once its readings are back and only the model's
  // own evidence (its prediction, its residual's short mean, its reconstruction) holds the episode: every model-free
  // kind of every owner below the hold level (modelOnly). The model's state carried the fault's readings and its
  // errors stay off for as long as it takes to forget them (MSL T-5: 5 readings at up to +2,000 running standard
  // deviations, then the value before them, exactly; the model's errors held the episode 209 readings after them). Readings back then count as after a lasting fault, and `run` of them in a row restart the model.
  if (!s.episodeOut && !(s.outZ !== null && modelOnly(s, episode, reference, hold))) {
    s.backRun = 0;
    return OUT_NONE;
  }
  // Within the hold level is not yet back: on a cycle the running spread is the cycle's, and a lasting shift larger
  // than its swing is within that level at the cycle's troughs, on the fault's side. Back is nearer the normal (z 0)
  // than the fault (the mean z m of the episode's readings beyond the range), on every owner that was beyond it.
  const f = s.outZ;
  if (f !== null) {
    for (let c = 0; c < C; c++) {
      if (!episode.owners[c] || f[C + c] === 0) continue;
      const m = f[c] / f[C + c];
      if (!(z[c] * Math.sign(m) < Math.abs(m) / 2)) {
        s.backRun = 0;
        return OUT_NONE;
      }
    }
  }
  s.backRun++;
  if (s.backRun < run) return OUT_NONE;
  if (s.backRun > run) return OUT_BACK;
  // The model restarts at the next chunk (the verdict's reset): its errors wait for it, and bias's short mean starts over
  // on the new state's residuals.
  s.awaitingReset = true;
  s.resCount = 0;
  s.resMean.clear();
  s.episodeResiduals = 0;
  return OUT_RETURN;
}


/**
 * Whether only the model's own evidence holds `episode` at this reading (judgeOut): a model kind (MODEL_KINDS:
 * prediction, bias, reconstruction) of an owner reaches the hold level `hold` against normal operation (`reference`, surprise less its
 * Bonferroni share), and no other kind of any owner does.
 */
function modelOnly(s: StreamScore, episode: Episode, reference: Fused, hold: number): boolean {
  const C = s.C;
  let model = false;
  for (let c = 0; c < C; c++) {
    if (!episode.owners[c]) continue;
    for (let k = 0; k < EVIDENCE.length; k++) {
      if (!(reference.each[k * C + c] - reference.penalty >= hold)) continue;
      if (!MODEL_KINDS.includes(EVIDENCE[k])) return false;
      model = true;
    }
  }
  return model;
}

/**
 * The bin width rarity's value histogram of channel c aims at, sensor units: the stream's typical change (the
 * geometric mean of |change|, from spread's long-term mean of ln change²), so one mode's noise spans a few bins
 * at any scale; at least 2^-40 of the value's magnitude (a stream that has not moved yet).
 */
/**
 * The most a squared change (sensor units²) may weigh in a mean of squared changes (learnVariability): `mean` (> 0,
 * the mean so far) over `a` (the mean's weight of the new change, in (0, 1]), so one change can at most double it.
 * Huber's bounded influence (Huber, "Robust Estimation of a Location Parameter", 1964; for an exponential mean,
 * Gelper, Fried & Croux, "Robust forecasting with exponential and Holt-Winters smoothing", J. Forecasting 2010).
 */
function varBound(mean: number, a: number): number {
  return mean / a;
}

/**
 * The z >= 0 whose standard normal upper tail Q(z) has −log10 Q(z) = surprise (> log10 2), by bisection on
 * normalTailSurprise (monotone); 0 for a surprise at or below log10 2.
 */
function normalQuantileOf(surprise: number): number {
  let lo = 0;
  let hi = 40;
  if (!(surprise > Math.log10(2))) return 0;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalTailSurprise(mid) < surprise) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function valueScale(s: StreamScore, c: number, x: number): number {
  return Math.max(Math.exp(0.5 * s.longLog[c]), Math.abs(x) * 2 ** -40, 1e-290);
}

/**
 * Starts rarity over on the channels picked (their value histograms forget everything; rarity says nothing until
 * they hold learnReadings values again), and its short mean with them when any was picked: the channels with
 * `owners[c]` (null: every channel) whose value `values[c]` lies outside their histogram's range (null: whatever
 * their value). Plain arguments, not a predicate: a closure over the caller's variables would make every call of
 * the caller (a reading's score) allocate a context.
 */
function restartValues(s: StreamScore, owners: readonly boolean[] | null, values: ArrayLike<number> | null): void {
  let cleared = false;
  for (let c = 0; c < s.C; c++) {
    if (!((owners === null || owners[c]) && (values === null || s.values[c].outside(values[c])))) continue;
    s.values[c].clear();
    cleared = true;
  }
  if (cleared) s.rareBox.clear();
}

/**
 * Keeps a reading of an open episode as it came (Episode.came): per channel its value (a missing one repeats the value
 * before it, as the cycle's ring holds it; NaN while there is none), the episode's first UNDONE_ONSET readings and its
 * last `keep` − UNDONE_ONSET, the one after the first ones dropped once `keep` are kept.
 */
function noteCame(ep: Episode, values: ArrayLike<number>, keep: number): void {
  const came = ep.came;
  if (came === undefined) return;
  for (let c = 0; c < came.length; c++) {
    const xs = came[c];
    const x = values[c];
    xs.push(Number.isFinite(x) ? x : xs.length > 0 ? xs[xs.length - 1] : Number.NaN);
    if (xs.length > keep) xs.splice(UNDONE_ONSET, 1);
  }
}

/**
 * A plateau an episode's channel holds (Episode.plateau), PLATEAU_FIELDS numbers per channel at these offsets:
 * FROM the episode's reading (1-based) that began the plateau's first block; LEVEL that block's mean (sensor units,
 * NaN until a block is full); NOISE that block's variance from its successive differences (the mean squared
 * difference / 2, von Neumann 1941: a level step between blocks does not inflate it); HELD the readings the plateau
 * has held up to the end of its latest block; N, SUM, SQ the block being filled (readings, their sum, the sum of
 * their squared successive differences); LAST the channel's latest finite reading (NaN: none yet); BEST, BEST_LEVEL
 * the longest plateau of the episode away from the level before it (PLATEAU_AWAY) and its level.
 */
const enum PlateauField {
  FROM = 0,
  LEVEL = 1,
  NOISE = 2,
  HELD = 3,
  N = 4,
  SUM = 5,
  SQ = 6,
  LAST = 7,
  BEST = 8,
  BEST_LEVEL = 9,
}
const PLATEAU_FIELDS = 10;
/** A block's mean stays on the plateau within this many of its first block's noise standard deviations. */
const PLATEAU_BAND = 4;
/** A block's noise variance stays within this factor (either way) of the plateau's first block's. */
const PLATEAU_NOISE = 4;
/** A plateau away from the level before the episode: its level beyond 2 · PLATEAU_BAND noise deviations of it. */
const PLATEAU_AWAY = 2 * PLATEAU_BAND;
/** Short spans (blocks of score.smooth readings) a plateau holds to be a set-point's (switchShown, plateauNormal). */
const PLATEAU_SPANS = 4;
/** StreamScore.setpoints is counted up to this. */
const SETPOINTS_MAX = 1_000_000;

/**
 * Notes reading `values` (raw, per channel; not finite: skipped) of episode `ep` (its `readings` already counted) in
 * its channels' plateaus (Episode.plateau, made at the first): each full block of `span` readings either goes on the
 * plateau (its mean within PLATEAU_BAND noise deviations of the plateau's level and its noise within ×PLATEAU_NOISE of
 * the plateau's, both > 0: a frozen value is no set-point's noise) or starts a new one. A level that drifts, a
 * changed noise level and a stuck value hold no plateau.
 */
function notePlateau(ep: Episode, values: ArrayLike<number>, span: number): void {
  const C = ep.owners.length;
  if (ep.plateau === undefined) {
    ep.plateau = new Array<number>(PLATEAU_FIELDS * C).fill(0);
    for (let c = 0; c < C; c++) {
      const o = c * PLATEAU_FIELDS;
      ep.plateau[o + PlateauField.LEVEL] = Number.NaN;
      ep.plateau[o + PlateauField.LAST] = Number.NaN;
      ep.plateau[o + PlateauField.BEST_LEVEL] = Number.NaN;
    }
  }
  const p = ep.plateau;
  const pre = ep.pre;
  for (let c = 0; c < C; c++) {
    const x = values[c];
    if (!Number.isFinite(x)) continue;
    const o = c * PLATEAU_FIELDS;
    const last = p[o + PlateauField.LAST];
    if (Number.isFinite(last)) p[o + PlateauField.SQ] += (x - last) * (x - last);
    p[o + PlateauField.LAST] = x;
    p[o + PlateauField.SUM] += x;
    if (++p[o + PlateauField.N] < span) continue;
    const n = p[o + PlateauField.N];
    const mean = p[o + PlateauField.SUM] / n;
    const noise = n > 1 ? p[o + PlateauField.SQ] / (2 * (n - 1)) : 0;
    const level = p[o + PlateauField.LEVEL];
    const was = p[o + PlateauField.NOISE];
    const on = Number.isFinite(level) && noise > 0 && was > 0 && noise <= PLATEAU_NOISE * was && was <= PLATEAU_NOISE * noise && Math.abs(mean - level) <= PLATEAU_BAND * Math.sqrt(was);
    if (on) p[o + PlateauField.HELD] = ep.readings - p[o + PlateauField.FROM] + 1;
    else {
      p[o + PlateauField.FROM] = ep.readings - n + 1;
      p[o + PlateauField.LEVEL] = mean;
      p[o + PlateauField.NOISE] = noise;
      p[o + PlateauField.HELD] = n;
    }
    const before = pre === undefined ? Number.NaN : pre[c];
    const held = p[o + PlateauField.HELD];
    if (p[o + PlateauField.NOISE] > 0 && Number.isFinite(before) && Math.abs(p[o + PlateauField.LEVEL] - before) > PLATEAU_AWAY * Math.sqrt(p[o + PlateauField.NOISE]) && held >= p[o + PlateauField.BEST]) {
      p[o + PlateauField.BEST] = held;
      p[o + PlateauField.BEST_LEVEL] = p[o + PlateauField.LEVEL];
    }
    p[o + PlateauField.N] = 0;
    p[o + PlateauField.SUM] = 0;
    p[o + PlateauField.SQ] = 0;
  }
}

/**
 * Whether episode `ep`, resolving as recovered at reading `values` (raw, per channel), showed a set-point switch: an
 * owner channel held a plateau away from its level before the episode for PLATEAU_SPANS · `span` readings or more
 * (notePlateau) and is back at that level (nearer it than a quarter of the plateau's distance from it). A stream that
 * left a level, held another cleanly and came back is one that moves between set-points (StreamScore.setpoints).
 */
function switchShown(ep: Episode, values: ArrayLike<number>, span: number): boolean {
  const p = ep.plateau;
  const pre = ep.pre;
  if (p === undefined || pre === undefined || ep.silent) return false;
  for (let c = 0; c < ep.owners.length; c++) {
    if (!ep.owners[c]) continue;
    const o = c * PLATEAU_FIELDS;
    const away = Math.abs(p[o + PlateauField.BEST_LEVEL] - pre[c]);
    if (p[o + PlateauField.BEST] >= PLATEAU_SPANS * span && Number.isFinite(values[c]) && Math.abs(values[c] - pre[c]) < away / 4) return true;
  }
  return false;
}

/**
 * Whether open episode `ep` of a stream that has shown a set-point switch (StreamScore.setpoints) is its new normal
 * before `newNormalAfter` readings: every owner channel holds a plateau away from its level before the episode
 * (notePlateau: the new level's noise as at its start, its block means steady) that began after the episode's last
 * stuck or still-growing reading and has held PLATEAU_SPANS · `span` readings or more (not fewer than
 * min(newNormalAfter, that)). An owner with no such plateau (a drift, a changed noise, a stuck value, a channel back at
 * its level) keeps the count at newNormalAfter.
 */
function plateauNormal(ep: Episode, span: number, newNormalAfter: number): boolean {
  const p = ep.plateau;
  const pre = ep.pre;
  if (p === undefined || pre === undefined || ep.silent || ep.silence !== undefined || ep.held !== undefined) return false;
  const need = Math.min(newNormalAfter, PLATEAU_SPANS * span);
  const after = Math.max(ep.stuckAt, ep.grownAt ?? 0);
  let any = false;
  for (let c = 0; c < ep.owners.length; c++) {
    if (!ep.owners[c]) continue;
    const o = c * PLATEAU_FIELDS;
    const noise = p[o + PlateauField.NOISE];
    const level = p[o + PlateauField.LEVEL];
    if (!(noise > 0) || !Number.isFinite(pre[c]) || !Number.isFinite(level)) return false;
    if (p[o + PlateauField.FROM] <= after || p[o + PlateauField.HELD] < need) return false;
    if (Math.abs(level - pre[c]) <= PLATEAU_AWAY * Math.sqrt(noise)) return false;
    any = true;
  }
  return any;
}

/** Per channel, the mean a boxcar holds. */
function means(b: Boxcar): number[] {
  return Array.from({ length: b.C }, (_, c) => b.mean(c));
}

/**
 * Teaches each (kind, channel) value of `e` to the stream's `set`. These run for every reading, so the choice
 * of channels is a plain argument, not a closure (same order of additions: kinds, then channels).
 */
function teach(s: StreamScore, set: 'reference' | 'adaptive', e: EvidenceValues): void {
  for (let k = 0; k < EVIDENCE.length; k++) {
    const v = kindOf(e, k);
    if (v === null) continue;
    const row = s.row(set, k);
    for (let c = 0; c < v.length; c++) row[c].addAt(v, c);
  }
}

/** Teaches the values of the channels whose `owners[c]` equals `want` (an open episode's own channels, or the others). */
function teachOwners(s: StreamScore, set: 'reference' | 'adaptive', e: EvidenceValues, owners: readonly boolean[], want: boolean): void {
  for (let k = 0; k < EVIDENCE.length; k++) {
    const v = kindOf(e, k);
    if (v === null) continue;
    // The row is made only when a value is taught to it (as before: an untaught row stays unmade).
    let row: TailCalibrator[] | null = null;
    for (let c = 0; c < v.length; c++) if (owners[c] === want) (row ??= s.row(set, k))[c].addAt(v, c);
  }
}

/** Teaches the values whose surprise `each[k * C + c]` (fuse's) is below `limit`. */
function teachBelow(s: StreamScore, set: 'reference' | 'adaptive', e: EvidenceValues, each: Float64Array, limit: number): void {
  const C = s.C;
  for (let k = 0; k < EVIDENCE.length; k++) {
    const v = kindOf(e, k);
    if (v === null) continue;
    let row: TailCalibrator[] | null = null;
    for (let c = 0; c < v.length; c++) if (each[k * C + c] < limit) (row ??= s.row(set, k))[c].addAt(v, c);
  }
}

/** The one-step kinds (the model's and the persistence forecast's error of this reading), in EVIDENCE's indices. */
const STEP_KINDS = [EVIDENCE.indexOf('prediction'), EVIDENCE.indexOf('change')];
/** The kinds that judge where a value lies (how far from the running mean; how rarely the stream has been there). */
const LEVEL = EVIDENCE.indexOf('level');
const CHANGE = EVIDENCE.indexOf('change');
const RARITY = EVIDENCE.indexOf('rarity');
const CYCLE = EVIDENCE.indexOf('cycle');
const STUCK = EVIDENCE.indexOf('stuck');
/**
 * The kinds that a visit of a duty cycle's state far from the stream's mean raises whether or not anything is wrong
 * (StreamScorer.visitOnly): the model's errors, the distance from the running mean and its short mean, the jump, the
 * residual against a cycle profile, and spread (the stream's one noise level is its rest's, and an on state is
 * noisier: a kettle's ±10 W at 1,800 W against its exact 0 W; a visit noisier than its own state is none,
 * DwellTracker.visiting). Not stuck (which carries the dwell's own judgement) nor rarity (a value the stream has
 * seldom taken).
 */
const VISIT_KINDS: readonly boolean[] = EVIDENCE.map((k) => k !== 'stuck' && k !== 'rarity');

/** A value a channel rests at (quietValues), and the reading count (`seen`) when a rest there last ended. */
interface QuietValue {
  readonly v: number;
  at: number;
}

/** The most values a channel keeps as rests (the most recently used are kept). */
const QUIET_VALUES = 8;

/** Pushes a reading's values to `box` when every one is finite (a boxcar holds finite values only). */
function pushFinite(box: Boxcar, values: ArrayLike<number>): void {
  for (let c = 0; c < values.length; c++) if (!Number.isFinite(values[c])) return;
  box.push(values);
}

/**
 * Quiet values: where a channel rests. A floor or a ceiling (0 lux every night, a rain gauge's 0, a valve's
 * closed position, a setpoint's levels) is held as a run of exact repeats; spread measures the noise level by
 * the log squared changes, and a run of exact repeats there reads as the noise level collapsing ten-thousandfold
 * (the floor of an exact repeat), as a noisy signal that freezes does. A value is a rest once a run of exact
 * repeats there has lasted at least a full short mean (shortSpan(smooth) readings) and ended without `stuck`
 * ever calling it rare (its reference surprise stayed below the hold level: runs that long are how this stream
 * holds a value); from then on, exact repeats at that value are neutral to spread (evidence) and are not taught
 * to its long-term means (learnVariability), and a rest that has not recurred for `horizon` readings is
 * forgotten. A freeze of a noisy signal, or a value stuck at a sentinel, is a run that stuck calls rare: never
 * a rest, so a later one is judged as the first was. The first rest of a stream that its learning period did
 * not show may open a spread episode; once it has ended, the next is ordinary (as a rare step that held is
 * taught, offerStep and teachSteps).
 */
function isQuiet(s: StreamScore, c: number, v: number, horizon: number): boolean {
  const q = s.quiet[c];
  for (let i = 0; i < q.length; i++) if (q[i].v === v) return s.seen - q[i].at <= horizon;
  return false;
}

/** The kinds a rest that held teaches (teachRest): not spread nor stuck, which judge the repeats themselves. */
const REST_KINDS: readonly number[] = EVIDENCE.map((_, k) => k).filter((k) => EVIDENCE[k] !== 'spread' && EVIDENCE[k] !== 'stuck');

/** A rest the open episode held in channel c: its readings are the episode's kept evidence [from, to), at value v. */
interface RestHeld {
  readonly c: number;
  readonly from: number;
  readonly to: number;
  readonly v: number;
}

/**
 * A rest that held is taught. An episode keeps its owners' readings out of their histories: a plateau at a level
 * the stream had not been at (a setpoint's new level) holds its episode for as long as it lasts and, never
 * taught, is as new at its next visit, and the next, for ever (censoring's blind side again). When the latest
 * reading ended a rest (quietValues) of an owner channel c of the open (or just resolved) `episode`, the rest was
 * held the way the stream holds its values (stuck never called it rare: no frozen sensor, no sentinel of a noisy
 * one); its readings, from the step into it on (the episode's kept evidence, while it holds every reading:
 * `newNormalAfter`), are noted, and taught when the episode resolves (teachRests): the episode itself is judged
 * as before, only the next visit is judged against it. A new normal teaches the whole episode instead.
 */
function noteRest(s: StreamScore, episode: Episode, newNormalAfter: number): void {
  for (let c = 0; c < s.C; c++) {
    const run = s.restEnded[c];
    if (run === 0 || !episode.owners[c] || s.last === null) continue;
    const kept = s.episodeEvidence.length;
    if (newNormalAfter > 0 && kept >= newNormalAfter) continue;
    const from = Math.max(0, kept - run);
    if (from < kept) s.rests.push({ c, from, to: kept, v: s.last[c] });
  }
}

/**
 * Teaches the rests the resolved episode held (noteRest): their readings' evidence, but spread's and stuck's
 * (which judge the repeats themselves), to the channel's reference and adaptive histories, and their value to its
 * value histogram (rarity), once per reading, as a new normal teaches an episode's readings. Not the rests of a
 * channel back at exactly its value before the episode (`pre`, Episode.pre) at the resolving reading (`values`,
 * sensor units) or the one before it (one reading of leeway: a quantised stream's blip) the first time it comes back
 * to that value (`s.cameBack`): the stream went off and came back (a load switched on, then off), and its next visit
 * to that level is as new as the first (an idle plug's load switched on twice; BENCHMARKS.md, branches idleplug2 and
 * idleplug3). From the second come-back to it on, they are taught: a level visited again and again (a setpoint
 * boosted and set back) is normal.
 */
function teachRests(s: StreamScore, pre: readonly number[] | undefined, values: ArrayLike<number>): void {
  const skipped = new Set<number>();
  for (const rest of s.rests) {
    const { c, v } = rest;
    if (pre !== undefined && (values[c] === pre[c] || (s.last !== null && s.last[c] === pre[c]))) {
      if (skipped.has(c)) continue;
      if (!s.cameBack.some(([bc, bv]) => bc === c && bv === pre[c])) {
        skipped.add(c);
        s.cameBack.push([c, pre[c]]);
        if (s.cameBack.length > CAME_BACK_KEPT) s.cameBack.shift();
        continue;
      }
    }
    for (let i = rest.from; i < rest.to && i < s.episodeEvidence.length; i++) {
      const e = keptAt(s.episodeEvidence, i);
      for (const set of ['reference', 'adaptive'] as const) {
        for (const k of REST_KINDS) {
          const x = e[EVIDENCE[k]];
          if (x === null || !Number.isFinite(x[c])) continue;
          s.row(set, k)[c].add(x[c]);
        }
      }
      s.values[c].add(v, valueScale(s, c, v));
    }
  }
  s.rests = [];
}

/**
 * An episode came back (resolved, not a new normal): its owners' visits are judged (src/pipeline/visits.ts). A visit
 * reached by a walk whose family is confirmed (CONFIRM alike, or alike to one taught before) teaches its channel's
 * value histogram (rarity) the values of the family's visits not taught yet, each as many times as the readings it
 * stands for, and the channel's reference and adaptive histories the resolving episode's kept evidence (but spread's
 * and stuck's, as a rest's: REST_KINDS), as a new normal teaches an episode's readings. The episode itself was judged
 * as before; the next visit alike is judged against it. A spike, a glitch to a sentinel or a burst of noise is no
 * walk and stays censored; a bump that came back fewer than CONFIRM times alike is told every time.
 */
function teachVisits(s: StreamScore, owners: readonly boolean[]): void {
  if (s.visits === null) return;
  for (const lesson of s.visits.settle(owners)) {
    const c = lesson.c;
    for (const { values, stride } of lesson.values) {
      for (const v of values) for (let k = 0; k < stride; k++) s.values[c].add(v, valueScale(s, c, v));
    }
    for (let i = 0; i < s.episodeEvidence.length; i++) {
      const e = keptAt(s.episodeEvidence, i);
      for (const set of ['reference', 'adaptive'] as const) {
        for (const k of REST_KINDS) {
          const x = e[EVIDENCE[k]];
          if (x === null || !Number.isFinite(x[c])) continue;
          s.row(set, k)[c].add(x[c]);
        }
      }
    }
  }
}

/** Levels kept in StreamScore.cameBack, per stream (the oldest dropped first). */
const CAME_BACK_KEPT = 16;

/** Teaches channel c that it rests at `v` (quietValues): the most recently ended rests are kept. */
function teachQuiet(s: StreamScore, c: number, v: number): void {
  const q = s.quiet[c];
  const i = q.findIndex((x) => x.v === v);
  if (i >= 0) q.splice(i, 1);
  q.unshift({ v, at: s.seen });
  if (q.length > QUIET_VALUES) q.length = QUIET_VALUES;
}

/**
 * A rare step of one channel that may be how the stream moves: the value before it (`from`), the value it
 * landed on (`to`), the sum and count of the channel's values since, and the one-step evidence (in STEP_KINDS'
 * order; NaN: nothing to teach) to teach the reference and the adaptive history if the stream stayed.
 */
interface StepCandidate {
  readonly c: number;
  readonly from: number;
  readonly to: number;
  sum: number;
  n: number;
  readonly ref: number[];
  readonly adapt: number[];
  /** It held while its episode was open: it waits for the episode's end (settleSteps), counting no more readings. */
  held: boolean;
}

/** A StepCandidate in a checkpoint (null evidence: NaN; `held` absent from checkpoints written before it existed). */
interface StepJson {
  c: number;
  from: number;
  to: number;
  sum: number;
  n: number;
  ref: (number | null)[];
  adapt: (number | null)[];
  held?: boolean;
}

/** A StepCandidate as a checkpoint holds it. */
function stepJson(st: StepCandidate): StepJson {
  return { c: st.c, from: st.from, to: st.to, sum: st.sum, n: st.n, ref: st.ref.map(nanToNull), adapt: st.adapt.map(nanToNull), held: st.held };
}

/** Steps kept in StreamScore.stepsBack, per channel of a stream (the oldest dropped first). */
const STEPS_BACK_KEPT = 4;

/**
 * Offers the reading that opened `episode` as a step to be confirmed (teachSteps), in each owner channel c
 * whose value is familiar: its reference `level` speaks and, with `rarity` if that speaks, is below `limit`
 * (the hold level as censoring uses it). Its one-step evidence (`prediction`, `change`), which the episode kept
 * out of both histories, waits there. Only a step that opened an episode: one that stayed below the threshold
 * alarmed nobody, and stays censored as before (a duty cycle's ordinary switches, taught, would make a burst of
 * noise on it ordinary to `prediction` and `change`). `values` is the reading's, `each` the reference's
 * per-(kind, channel) surprise (fuse's).
 */
function offerStep(s: StreamScore, values: ArrayLike<number>, e: EvidenceValues, each: Float64Array, limit: number, episode: Episode): void {
  const C = s.C;
  const level = s.reference[LEVEL];
  const rarity = s.reference[RARITY];
  if (level === null || s.last === null) return;
  for (let c = 0; c < C; c++) {
    if (!level[c].ready || !(each[LEVEL * C + c] < limit)) continue;
    if (rarity !== null && rarity[c].ready && !(each[RARITY * C + c] < limit)) continue;
    if (!episode.owners[c]) continue;
    const taught = [Number.NaN, Number.NaN];
    let any = false;
    for (let j = 0; j < STEP_KINDS.length; j++) {
      const v = e[EVIDENCE[STEP_KINDS[j]]];
      if (v === null || !Number.isFinite(v[c])) continue;
      taught[j] = v[c];
      any = true;
    }
    if (!any) continue;
    s.steps.push({ c, from: s.last[c], to: values[c], sum: 0, n: 0, ref: taught, adapt: [...taught], held: false });
    // Bounded: a stream that steps at every reading keeps the newest.
    if (s.steps.length > 64 * C) s.steps.shift();
  }
}

/**
 * Confirms or drops the pending steps with the reading's `values`: once `span` readings have followed a step
 * (score.smooth), it was a step that held when their mean is nearer to the value it landed on than to the value
 * before it; then its one-step evidence is taught (to the reference, and to the adaptive history where the
 * episode it opened kept it out). A duty cycle's switch, a counter's reset, a battery's recharge hold; a spike
 * comes back, and a burst of noise stays around where it was, so theirs stay censored (a later one like them is
 * not ordinary). Censored, a normal step that the learning period happened not to contain stayed the rarest
 * thing the stream had done at every one of its recurrences (a fridge's every compressor start opened an
 * episode); taught, the next one is judged against the first, which was judged as before.
 */
function teachSteps(s: StreamScore, values: ArrayLike<number>, span: number): void {
  if (s.steps.length === 0) return;
  let kept = 0;
  for (const st of s.steps) {
    if (st.held) {
      s.steps[kept++] = st;
      continue;
    }
    st.sum += values[st.c];
    st.n++;
    if (st.n < span) {
      s.steps[kept++] = st;
      continue;
    }
    const mean = st.sum / st.n;
    if (!(Math.abs(mean - st.to) < Math.abs(mean - st.from))) continue;
    // Held while an episode is open: whether it was how the stream moves or a fault's onset is told by the
    // episode's end (settleSteps).
    if (s.episode !== null) {
      st.held = true;
      s.steps[kept++] = st;
      continue;
    }
    teachStep(s, st);
  }
  s.steps.length = kept;
}

/** Teaches the one-step evidence of step `st` to its channel's reference and adaptive histories. */
function teachStep(s: StreamScore, st: StepCandidate): void {
  for (let j = 0; j < STEP_KINDS.length; j++) {
    const k = STEP_KINDS[j];
    if (Number.isFinite(st.ref[j])) s.row('reference', k)[st.c].add(st.ref[j]);
    if (Number.isFinite(st.adapt[j])) s.row('adaptive', k)[st.c].add(st.adapt[j]);
  }
}

/**
 * An episode ended (at the reading of `values`, sensor units): the steps that held while it was open (teachSteps)
 * are taught, or withheld. A step the episode came back from (the resolving reading nearer to the value before the
 * step than to the one it landed on) was the onset of a fault that went away, as a level shift that recovers: taught,
 * its one-step evidence (`change` some 10^13 times rarer than the noise for a 2 °C step at 0.15 °C) would make the
 * next fault of its size, a spike hours later, ordinary (tryout 37, finding 3: surprise 12.45 → 4.20 four hours
 * later). It is withheld instead (StreamScore.stepsBack), the first time for its channel; the next step of that
 * channel that holds and comes back teaches the withheld ones with its own: a step taken again and again (a load
 * switched on for a while, then off) is how the stream moves, told twice, not for ever. A step the stream stayed at
 * past its episode (a counter's reset, a setpoint's move) is taught at once, as is every one of a new normal
 * (`rebaseline`). Not for steps still waiting to hold: they go on as before.
 */
function settleSteps(s: StreamScore, values: ArrayLike<number>, rebaseline: boolean): void {
  if (s.steps.length === 0) return;
  let kept = 0;
  for (const st of s.steps) {
    if (!st.held) {
      s.steps[kept++] = st;
      continue;
    }
    const v = values[st.c];
    const cameBack = !rebaseline && Number.isFinite(v) && Math.abs(v - st.from) < Math.abs(v - st.to);
    if (!cameBack) {
      teachStep(s, st);
      continue;
    }
    const earlier = s.stepsBack.filter((x) => x.c === st.c);
    if (earlier.length === 0) {
      s.stepsBack.push(st);
      if (s.stepsBack.length > STEPS_BACK_KEPT * s.C) s.stepsBack.shift();
      continue;
    }
    for (const x of earlier) teachStep(s, x);
    teachStep(s, st);
    s.stepsBack = s.stepsBack.filter((x) => x.c !== st.c);
  }
  s.steps.length = kept;
}

/**
 * The values of the k-th kind of EVIDENCE in `e` ([C], or null). A switch of named property loads: the hot loops
 * over the kinds read them by index, and `e[EVIDENCE[k]]` is a keyed load by a name that changes at every step
 * (several times slower per reading).
 */
function kindOf(e: EvidenceValues, k: number): Float64Array | null {
  switch (k) {
    case 0:
      return e.prediction;
    case 1:
      return e.bias;
    case 2:
      return e.reconstruction;
    case 3:
      return e.level;
    case 4:
      return e.change;
    case 5:
      return e.shift;
    case 6:
      return e.spread;
    case 7:
      return e.stuck;
    case 8:
      return e.rarity;
    default:
      return e.cycle;
  }
}

/** The eight verdicts a reading can have, made once (the model stage reads a verdict at once and keeps none). */
const VERDICTS: readonly StepVerdict[] = Array.from({ length: 8 }, (_, i) => Object.freeze({ exclude: (i & 1) !== 0, rebaseline: (i & 2) !== 0, reset: (i & 4) !== 0 }));

/** The verdict { exclude, rebaseline, reset } (shared, frozen). */
function verdictOf(exclude: boolean, rebaseline: boolean, reset: boolean): StepVerdict {
  return VERDICTS[(exclude ? 1 : 0) | (rebaseline ? 2 : 0) | (reset ? 4 : 0)];
}

/** A record of evidence that says nothing (every kind null). */
/**
 * An on/off stream's reading (StepItem.onOff: a door's contact, a motion sensor's occupancy, 1 and 0) is judged by
 * none of the kinds of evidence and teaches none: each switch is a step of the whole range and each state a run of
 * one value, so `change`, `level`, `rarity` and `stuck` would call a door opened once a day rare at every opening,
 * and a door kept shut a stuck sensor; a model was never trained on such a signal. What is judged is its silence,
 * against its own arrivals (src/pipeline/arrivals.ts: its quiet stretches, a report-on-change device's included),
 * while it lasts (judgeSilence) and at the reading that ends it; its availability is the daemon's
 * (src/daemon/availability.ts). Clears `judged` and `taught` in place.
 */
/** A counter's rate is far above anything seen at COUNTER_RATE_FAR times the largest taught (judgeCounter). */
export const COUNTER_RATE_FAR = 2;
/** Readings at no less than 1 / COUNTER_RATE_FAR of its largest rate a counter shows before its rate is judged (counter.ts MIN_RISES). */
const COUNTER_RATE_RISES = 64;
/** A counter's rate is measured over its latest readings that counted at least this many of its smallest increments (judgeCounter). */
const COUNTER_RATE_QUANTA = 8;
/** An hour (ms): a counter's rate is told per hour. */
const HOUR_MS = 3_600_000;

/**
 * Judges a cumulative counter's reading (src/pipeline/counter.ts; StepItem.counter set) by what is anomalous in a
 * meter, not by its total: a total rises above anything seen whenever it counts, and holds for hours while nothing
 * is consumed (a Tasmota iron's `ENERGY.Total` at 0.4 W holds 0.001 kWh for 2.5 h: tryout 31), so no judgement of a
 * level (model, level, change, shift, spread, rarity, cycle, a drift's floor) speaks of it; a counter that has not been
 * seen holding is still judged by `stuck` (its first hold is news), and its reset by the counter stage.
 *
 * Its rate: the increment of its total per step (sensor units per the stream's own interval, the same at any
 * sampling rate; a reading after a gap counts the steps the gap filled), measured over its latest readings that
 * counted at least COUNTER_RATE_QUANTA of its smallest increment seen (StreamScore.step), within the last
 * shortSpan(smooth) readings (StreamScore.rateIncs): a coarse meter's increments are quantised (Tasmota's 0.001 kWh
 * is a third of an 1,100 W iron's 10 s increment), and timed over several quanta its rate is off by at most about
 * 1 / COUNTER_RATE_QUANTA of it, as a meter's disc is timed over several turns; a fine one is measured at each
 * reading. Not a mean over a fixed span: a load used for less than the span would count at its energy, not its power.
 * The rate floors `change` at `at` (an episode's opening surprise: StreamScore.rateFloor) when it is at least
 * COUNTER_RATE_FAR times the largest rate taught, once the stream has shown COUNTER_RATE_RISES readings at no less than
 * 1 / COUNTER_RATE_FAR of its largest, each timed over COUNTER_RATE_QUANTA quanta within the span (a meter that has
 * only crept at standby, a quantum in hours, has shown no rate of consumption to be far above), never while the stream
 * learns. A rate judged far is not taught (StreamScore.rateHeld) unless its
 * episode ends as the new normal. A reset's reading (its increment not known) and a gap's reset (StepItem.reset)
 * start the readings over.
 *
 * The histories are taught as ever (`taught` untouched): a stream that turns out to be no counter is judged as a
 * level from them again. `e`: the reading's judged evidence, nulled here.
 */
function judgeCounter(s: StreamScore, r: StepResult<unknown>, e: EvidenceValues, learning: boolean, at: number, span: number): void {
  for (const k of EVIDENCE) if (k !== 'stuck') e[k] = null;
  s.driftFloor.fill(0);
  s.rateFloor.fill(0);
  if (s.C !== 1 || r.item.kind !== 'reading') return;
  const prevTs = s.rateTs;
  s.rateTs = r.item.ts;
  if (s.last === null || r.item.reset || r.item.counterReset !== undefined) {
    s.rateIncs = [];
    return;
  }
  const moved = r.item.values[0] - s.last[0];
  s.rateIncs.push(moved > 0 && Number.isFinite(moved) ? moved : 0, 1 + r.item.filled, Number.isFinite(prevTs) ? Math.max(0, r.item.ts - prevTs) : 0);
  // Its first move after a hold that `stuck` called rare (StreamScore.rareRunEnded: a meter that stopped counting, then
  // counted its backlog at once when it resumed) is the consumption of the held steps, counted late: its increment is
  // timed over them (the held readings' entries, each of no increment, merged into its own), not over its own step,
  // over which it was a rate far above anything seen, told "counting fast" and holding the stuck episode open for the
  // readings it stayed among the rate's (tryout 38, finding 6: an hourly meter flat for 11 readings, then +7.94 kWh,
  // its stuck episode held 3 readings more and told to its resolve, 18 h after it counted again). A catch-up more than
  // the meter's rate over the hold accounts for is still far. Kept for the episode's story (Episode.catchUp). Only a
  // move larger than the largest rate taught allows for its own steps counted a backlog: a meter that lost what it did
  // not count goes on with an ordinary increment, which is no catch-up (and is judged as it came).
  if (s.rareRunEnded > 0 && moved > s.rateMax * (1 + r.item.filled) && Number.isFinite(moved)) {
    const incs = s.rateIncs;
    let j = incs.length - 6;
    let steps = incs[incs.length - 2];
    let ms = incs[incs.length - 1];
    for (; j >= 0 && incs[j] === 0; j -= 3) {
      steps += incs[j + 1];
      ms += incs[j + 2];
    }
    // The run's steps (its first reading's included: the step from it to its first repeat was held) and this reading's;
    // beyond the readings kept (3 · span), each at the mean time of those kept.
    const total = Math.max(steps, s.rareRunEnded + r.item.filled);
    incs.splice(j + 3, incs.length - (j + 3), moved, total, ms * (total / steps));
    s.caughtUp = { amount: moved, steps: total };
  }
  if (s.rateIncs.length > 3 * span) s.rateIncs.splice(0, s.rateIncs.length - 3 * span);
  // Newest first, until the readings counted COUNTER_RATE_QUANTA of the smallest increment (or all are counted).
  const enough = COUNTER_RATE_QUANTA * s.step[0];
  let sum = 0;
  let steps = 0;
  let ms = 0;
  for (let i = s.rateIncs.length - 3; i >= 0 && !(sum > 0 && sum >= enough); i -= 3) {
    sum += s.rateIncs[i];
    steps += s.rateIncs[i + 1];
    ms += s.rateIncs[i + 2];
  }
  const rate = steps > 0 ? sum / steps : 0;
  if (!(rate > 0)) return;
  if (!learning && s.rateRises >= COUNTER_RATE_RISES && rate >= COUNTER_RATE_FAR * s.rateMax) {
    s.rateFloor[0] = at;
    e.change = new Float64Array(1);
    s.rateHeld = Math.max(s.rateHeld, rate);
    // Told per hour, by the readings' own times (0: none known, not told).
    const perHour = ms > 0 ? HOUR_MS / (ms / steps) : 0;
    s.ratePerHour = rate * perHour;
    s.usualPerHour = s.rateMax * perHour;
    return;
  }
  if (rate > s.rateMax) {
    if (rate >= COUNTER_RATE_FAR * s.rateMax) s.rateRises = 0;
    s.rateMax = rate;
  }
  // Only a rate timed over enough quanta shows the meter counting at it (a standby's creep, one quantum in the span, does not).
  if (sum >= enough && rate * COUNTER_RATE_FAR >= s.rateMax) s.rateRises++;
}

/**
 * A cumulative counter whose holds are normal holding its value far longer than every idle it ended (StepItem.counterFrozen;
 * src/pipeline/counter.ts CounterStep.frozen): floors `stuck` at `at` (the threshold plus every kind's share, as a
 * counter's rate far above anything seen floors `change`), never while it learns, so the freeze opens and holds an
 * episode on its own; noted for its explanation (StreamScore.counterFrozen, noteHeld: told as a state held since the
 * hold began, against the longest idle). The floor alone speaks: no ceiling from how often the readings just before
 * took the value (recentRunSurprise: a frozen total's latest readings are all that value). `e`: the reading's
 * judged evidence (its `stuck` set to a zero row where the counter's holds left none).
 */
function judgeFrozen(s: StreamScore, r: StepResult<unknown>, e: EvidenceValues, learning: boolean, at: number): void {
  const frozen = r.item.kind === 'reading' ? r.item.counterFrozen : undefined;
  if (learning || s.C !== 1 || frozen === undefined) return;
  s.runFloor[0] = at;
  s.runCeiling[0] = Number.POSITIVE_INFINITY;
  if (e.stuck === null) e.stuck = new Float64Array(1);
  s.row('reference', STUCK);
  s.row('adaptive', STUCK);
  s.counterFrozen = { since: frozen.since, longestMs: frozen.longestMs };
}

/**
 * A cumulative counter whose increments come in runs with rests between counting without a rest far longer than every
 * busy run it ended (StepItem.counterBusy; src/pipeline/counter.ts CounterStep.busy: a leak all night): floors `change`
 * at `at` (the threshold plus every kind's share, as a rate far above anything seen does: judgeCounter), never while
 * it learns, so the run opens and holds an episode on its own; noted for its explanation (StreamScore.counterBusy,
 * AnomalyEvent.counterBusy: told as counting without a rest since the run began, against the longest run). Not when
 * the counter's rate is far above anything seen at the same reading (judgeCounter spoke: told counting fast). `e`:
 * the reading's judged evidence (its `change` set to a zero row, judgeCounter having cleared it).
 */
function judgeBusy(s: StreamScore, r: StepResult<unknown>, e: EvidenceValues, learning: boolean, at: number): void {
  const busy = r.item.kind === 'reading' ? r.item.counterBusy : undefined;
  if (learning || s.C !== 1 || busy === undefined || s.rateFloor[0] > 0) return;
  s.rateFloor[0] = at;
  if (e.change === null) e.change = new Float64Array(1);
  s.counterBusy = busy;
}

function onOffOnly(judged: EvidenceValues, taught: EvidenceValues): void {
  for (const k of EVIDENCE) {
    judged[k] = null;
    taught[k] = null;
  }
}

function emptyEvidence(): EvidenceValues {
  return { prediction: null, bias: null, reconstruction: null, level: null, change: null, shift: null, spread: null, stuck: null, rarity: null, cycle: null };
}

/**
 * Keeps a copy of one reading's taught evidence in the open episode's store (the scorer's scratch and the model
 * stage's buffers are reused), for a new normal to teach. A channel
 * that had never moved before the episode has no noise level, so each of its changes there is judged as its
 * "first" (an infinite `change`, which is never taught): kept so, a new normal would teach `change` nothing and
 * the channel's next ordinary change would be as strange as a change can be (a second episode at once). Its
 * kept `change` is the reading's squared change `d2` (sensor units², [C]) over the episode's own mean squared
 * change so far (`epVar / epCount`, which the new normal adopts as the channel's noise level): what `change`
 * would have said of it against that level. What is judged during the episode is unchanged.
 */
function keepForNewNormal(s: StreamScore, taught: EvidenceValues, d2: Float64Array | undefined): void {
  const i = s.episodeEvidence.push((k) => kindOf(taught, k));
  const ch = s.episodeEvidence.view(i, CHANGE);
  if (ch === null || d2 === undefined) return;
  for (let c = 0; c < s.C; c++) {
    if (Number.isFinite(ch[c]) || s.longVar[c] !== 0 || s.epCount[c] === 0) continue;
    const level = s.epVar[c] / s.epCount[c];
    ch[c] = d2[c] / (level + 1e-4 * level + 1e-300);
  }
}

/** Reading i's kept evidence as a record of views of the buffer (valid until its next push or clear). */
function keptAt(kept: KeptEvidence, i: number): EvidenceValues {
  return {
    prediction: kept.view(i, 0),
    bias: kept.view(i, 1),
    reconstruction: kept.view(i, 2),
    level: kept.view(i, 3),
    change: kept.view(i, 4),
    shift: kept.view(i, 5),
    spread: kept.view(i, 6),
    stuck: kept.view(i, 7),
    rarity: kept.view(i, 8),
    cycle: kept.view(i, 9),
  };
}

/**
 * The options of one history. The reconstruction comes every `reconEvery` readings, so its memory and warm-up
 * count in reconstructions. The reference judges a reading against normal operation as it was `smooth`
 * readings before (a guard band): a change that creeps in is measured against what came before it, not
 * absorbed step by step as it comes (the two-window idea of change detection: a recent stretch against a
 * reference that does not overlap it).
 */
function tailOptions(opts: ScorerOptions, which: 'reference' | 'adaptive', kind: Evidence): TailOptions {
  // One options object per (scorer options, set, kind), shared by every stream's histories: 16 objects per
  // stream fewer on the heap (160,000 for 10,000 streams of one channel).
  let cached = TAIL_OPTIONS.get(opts);
  if (cached === undefined) TAIL_OPTIONS.set(opts, (cached = new Map<string, TailOptions>()));
  const key = `${which} ${kind}`;
  let out = cached.get(key);
  if (out === undefined) cached.set(key, (out = Object.freeze(newTailOptions(opts, which, kind))));
  return out;
}

const TAIL_OPTIONS = new WeakMap<ScorerOptions, Map<string, TailOptions>>();

/**
 * The fewest values a history of evidence is judged on: its minCount never goes below it, and a history that
 * the learning period gave fewer values is not settled ready when it ends (TailCalibrator.settle).
 */
export const MIN_HISTORY = 8;

/** The kinds a stream's learning waits for (StreamScorer.waitedFor), in EVIDENCE's indices. */
const WAITED = (['level', 'change', 'shift', 'spread'] as const).map((k) => EVIDENCE.indexOf(k));

function newTailOptions(opts: ScorerOptions, which: 'reference' | 'adaptive', kind: Evidence): { horizon: number; minCount: number; lag: number; thin: number } {
  // A short mean over `smooth` readings changes little from one reading to the next: its history keeps one
  // value per span (its effective sample size), and so does the reconstruction, which comes every
  // reconEvery readings. Memory and warm-up count in kept values.
  const smoothed = kind === 'shift' || kind === 'bias' || kind === 'spread' || kind === 'rarity' || kind === 'cycle';
  const every = kind === 'reconstruction' ? opts.reconEvery : smoothed ? opts.smooth : 1;
  const horizon = which === 'reference' ? opts.horizon : opts.adaptiveHorizon;
  return {
    horizon: Math.max(2, horizon / every),
    minCount: Math.max(MIN_HISTORY, Math.ceil(opts.learnReadings / every)),
    lag: which === 'reference' ? Math.max(1, Math.round(opts.smooth / every)) : 0,
    thin: smoothed ? opts.smooth : 1,
  };
}

function nanEvidence(): Record<Evidence, number> {
  return Object.fromEntries(EVIDENCE.map((k) => [k, Number.NaN])) as Record<Evidence, number>;
}

function checkOwners(x: unknown, C: number): boolean[] {
  if (!Array.isArray(x) || x.length !== C || !x.every((b) => typeof b === 'boolean')) throw new Error(`scorer snapshot: episode.owners must be ${C} booleans`);
  return x;
}

function nanToNull(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

/**
 * A scored step in a checkpoint (StreamScoreSnapshot.lastScored): ScoredStep without its events, a number that
 * is not finite (NaN: a kind that said nothing) as null.
 */
export interface StoredScoredStep {
  readonly surprise: number | null;
  readonly score: number | null;
  readonly deviation: number | null;
  readonly evidence: Record<string, number | null>;
  readonly deviationEvidence: Record<string, number | null>;
  readonly channelDeviation: readonly (number | null)[];
  readonly status: ScoredStep['status'];
  readonly anomalyId: string | null;
  readonly spread: readonly (number | null)[] | null;
}

function storeScored(x: ScoredStep): StoredScoredStep {
  const f = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const kinds = (r: Readonly<Record<Evidence, number>>): Record<string, number | null> => Object.fromEntries(EVIDENCE.map((k) => [k, f(r[k])]));
  return {
    surprise: f(x.surprise),
    score: f(x.score),
    deviation: f(x.deviation),
    evidence: kinds(x.evidence),
    deviationEvidence: kinds(x.deviationEvidence),
    channelDeviation: x.channelDeviation.map(f),
    status: x.status,
    anomalyId: x.anomalyId,
    spread: x.spread === null ? null : x.spread.map(f),
  };
}

/** StoredScoredStep back (no events); throws on a malformed one. */
function readScored(v: unknown, C: number): ScoredStep {
  const fail = (why: string): never => {
    throw new Error(`scorer snapshot: lastScored ${why}`);
  };
  if (typeof v !== 'object' || v === null) return fail('must be an object');
  const o = v as Record<string, unknown>;
  // null stands for a number that was not finite (NaN: a kind that said nothing).
  const num = (x: unknown, what: string): number => (x === null ? Number.NaN : typeof x === 'number' && Number.isFinite(x) ? x : fail(`${what} must be a finite number or null`));
  const kinds = (x: unknown, what: string): Record<Evidence, number> => {
    if (typeof x !== 'object' || x === null) return fail(`${what} must be an object`);
    const r = x as Record<string, unknown>;
    return Object.fromEntries(EVIDENCE.map((k) => [k, r[k] === undefined ? Number.NaN : num(r[k], `${what}.${k}`)])) as Record<Evidence, number>;
  };
  const list = (x: unknown, what: string): number[] => (Array.isArray(x) ? x.map((y) => num(y, what)) : fail(`${what} must be numbers`));
  const status = o.status;
  if (status !== 'learning' && status !== 'ok' && status !== 'anomalous') return fail('status must be learning, ok or anomalous');
  if (o.anomalyId !== null && typeof o.anomalyId !== 'string') return fail('anomalyId must be a string or null');
  const channelDeviation = list(o.channelDeviation, 'channelDeviation');
  if (channelDeviation.length !== C && channelDeviation.length !== 0) fail(`channelDeviation must be ${C} numbers`);
  return {
    surprise: num(o.surprise, 'surprise'),
    score: num(o.score, 'score'),
    deviation: num(o.deviation, 'deviation'),
    evidence: kinds(o.evidence, 'evidence'),
    deviationEvidence: kinds(o.deviationEvidence, 'deviationEvidence'),
    channelDeviation,
    status,
    anomalyId: o.anomalyId,
    events: [],
    spread: o.spread === null || o.spread === undefined ? null : list(o.spread, 'spread'),
  };
}

/**
 * A snapshot's per-channel states `x` (one per channel, C of them; undefined is refused) restored by `restore`.
 * Throws `scorer snapshot: <what> must be C <kind>` when `x` is not C of them, and `scorer snapshot: <what>[c]: …`
 * with the reason one does not restore.
 */
function perChannel<S, T>(x: readonly S[] | undefined, what: string, kind: string, C: number, restore: (state: S) => T): T[] {
  // Array.isArray on a copy typed unknown: on x itself it would narrow x to any[].
  const list: unknown = x;
  if (x === undefined || !Array.isArray(list) || x.length !== C) throw new Error(`scorer snapshot: ${what} must be ${C} ${kind}`);
  return x.map((state, c) => {
    try {
      return restore(state);
    } catch (err) {
      throw new Error(`scorer snapshot: ${what}[${c}]: ${(err as Error).message}`);
    }
  });
}
