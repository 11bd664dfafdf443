/**
 * What the daemon keeps of each stream's signal for people: the series store (readings, expectation and
 * surprise for the dashboard's 1 h / 24 h / 7 d plots, persisted as time buckets) and the explanation of
 * each anomaly episode built from it (kind, sentence, the stretch): ONE per episode, kept here and carried
 * by every alert of the episode, the anomaly record (which stores what the latest alert carried) and the
 * log. One owner (the daemon) feeds it every scored reading of the detector, asks it for explanations,
 * flushes it periodically and closes it at stop.
 */
import type { Logger } from 'pino';
import { alertFigures, resolutionWords, type AlertExplanation, type BeforeSilence } from '../contract/alerts.js';
import type { SeriesBucketStore, SeriesRawRow } from '../contract/series.js';
import type { OnOffWords } from '../contract/ingest.js';
import type { AnomalyEvent, ScoredReading } from '../contract/types.js';
import { FARTHER, episodeExplanation, explainEpisode, namedKind, strongest, tellsReading, toAlertExplanation, toldReach, withLaterUnitChanges } from '../explain/episode.js';
import { BAND_SIGMAS, BASELINE_READINGS, DRIFT_READINGS, EVIDENCE_KINDS, NOISE_READINGS, clockTime, explainAlarm, explainCounterBusy, explainCounterRate, explainCounterReset, toldAs, unitAt, withCatchUp, type AnomalyKind, type UnitChange } from '../explain/explain.js';
import { formatDuration } from '../util/duration.js';
import { diffs, median, robustSigma } from '../explain/robust.js';
import { compileUnits, unitOf, type UnitRule } from '../explain/units.js';
import { MAX_PENDING, SeriesStore, surpriseOf, type SeriesPoint, type TimeSpan } from '../pipeline/series.js';
import { PointColumns } from './point-columns.js';

/** Normal readings before an episode kept as its baseline, and first readings of it kept for the whole episode. */
const BEFORE_POINTS = 600;
const HEAD_POINTS = 256;
/**
 * An open episode's checkpoint (episodeState, every tick it has readings) carries at most this many of the
 * stream's readings since its first readings (the newest), and its first readings beyond the last multiple of
 * BASE_HEAD_STEP; the rest (its baseline and its first readings in steps of BASE_HEAD_STEP) is written apart, once
 * per step (episodeBase): at most 1 + HEAD_POINTS / BASE_HEAD_STEP = 5 times per episode.
 */
const RECENT_POINTS = 128;
const BASE_HEAD_STEP = 64;
/** Open episodes tracked at most (each holds ≤ 856 readings, as columns: ~21 kB for one channel); beyond, the oldest are forgotten. */
const MAX_OPEN = 2000;

export interface SignalBookOptions {
  /** `pattern=unit` entries (explain.units). */
  readonly units: readonly string[];
  /** IANA zone of the clock times in sentences (explain.timeZone); null = the system's. */
  readonly timeZone: string | null;
  /** Where closed buckets go (the SQLite store); null = memory only. */
  readonly persist: SeriesBucketStore | null;
  readonly logger: Logger;
  /** Wall clock, epoch ms (paces the bucket writes). */
  readonly now?: () => number;
  /**
   * Streams whose readings the series keeps in memory at most (SeriesStore maxStreams; default its
   * DEFAULT_MAX_STREAMS): the daemon passes ingest.maxStreams, so every stream it scores has the raw readings its
   * alerts are explained from (tryout 25, finding 4).
   */
  readonly maxStreams?: number;
  /**
   * The explanation stored with an episode this book does not know (the daemon's record of it, e.g. after a
   * restart): the one a later event of it starts from. Absent: none.
   */
  readonly recorded?: (anomalyId: string) => AlertExplanation | null;
  /**
   * The unit a stream's hub states in its messages (MessageParser.statedUnit: Tasmota's `TempUnit`), used when no
   * `units` entry matches the stream. Absent: none.
   */
  readonly stated?: (stream: string) => string | null;
  /**
   * The words of an on/off stream's states (MessageParser.onOffWords: a zigbee2mqtt door's 1 `closed`, 0 `open`), null
   * for a stream that is not one: its sentences tell its states by name. Absent: none.
   */
  readonly onOff?: (stream: string) => OnOffWords | null;
  /**
   * How late (ms: its arrival less its own time) the stream's latest reading arrived when it was late as a backfill's
   * are (src/pipeline/backfill.ts: LATE_MIN_MS and LATE_INTERVALS of its intervals), else null; absent: never. A
   * silence resolved by such a reading was filled by readings kept upstream (the device or its gateway buffered them
   * while they could not be sent): its resolve says so (explainSilence).
   */
  readonly arrivedLate?: (stream: string) => number | null;
}

interface OpenEpisode {
  /** Its baseline: the stream's normal readings before it (BEFORE_POINTS at most), as columns (~25 B a reading, not ~230). */
  readonly before: PointColumns;
  /** Its first readings (HEAD_POINTS at most), as columns. */
  readonly head: PointColumns;
  /** The episode's latest event: what a retelling between events starts from (its start, channels, evidence). */
  last: AnomalyEvent;
  /** The episode's explanation as its latest event carried it; null before the first or when none could be built. */
  explanation: AlertExplanation | null;
  /** The episode's peak (peakOf) when its explanation's kind was told; null before one was (or after a restart). */
  toldAtPeak: string | null;
  /**
   * How many of the episode's readings its kind was last told or confirmed from (the `during` of the explanation
   * that told it, or of a later one that told the same kind); Infinity when not known (an episode gone on from its
   * record, a checkpoint written before this was kept): settled. A kind told from fewer than NOISE_READINGS is
   * provisional (provisional()).
   */
  toldFrom: number;
  /**
   * The episode's readings (the detector's count) when its settled kind was last told again to see whether its
   * readings now trend steadily (retell: driftDue); absent before that: its kind's toldFrom stands for it.
   */
  driftCheckedAt?: number;
  /**
   * The explanation the episode's latest published alert carried (open, update, retold update), to which an update
   * that only tells the same fault longer is compared (onlyLonger); absent when this book did not see it (an episode
   * first seen after its open: its next update is news).
   */
  sent?: AlertExplanation | null;
  /** The end of the event that carried `sent` (epoch ms): readings after it are what that alert did not see. */
  sentAt?: number;
  /** The episode's length in readings at the event that carried `sent` (its `windows`), for a drift's follow-up (farther). */
  sentWindows?: number;
  /**
   * The time of the first reading of the stretch the episode's explanation tells, when that is not the episode's
   * first (epoch ms): a reading far beyond what the episode had told (FARTHER, toldReach), which the story of its
   * readings so far did not tell (tellsReading), is told on its own from then on, against the normal readings before
   * the episode (followPeak), as are the episode's later events and its resolve. Absent: the whole episode.
   */
  peakFrom?: number;
  /**
   * With peakFrom: the farthest reading of that stretch when it was taken (`value`, sensor units) and what the alert
   * before had told it against (`center`): a later explanation of the episode that does not tell it (tellsReading:
   * the stretch's readings after it, a noise of the quiet ones, …) is not taken (forgetsPeak).
   */
  peakRead?: { readonly center: number; readonly value: number };
  /** The normal level before the episode per channel (median ± BAND_SIGMAS spreads, as the explanation takes it, and the range of those readings): toldReach's baseline, computed once. */
  baseline?: (Baseline | null)[];
  /** An episode first seen after its open (a restart): when its recorded explanation said it began, epoch ms. */
  readonly beganBy?: number;
  /**
   * An episode that went on through restarts (restoreEpisode): the time of the stream's newest reading before
   * each, epoch ms. The readings after it that never came were lost while the daemon was down: an omission of
   * ours (ExplainInput.omittedBefore), not a silence of the sensor.
   */
  resumedAfter?: readonly number[];
}

/** An explanation rebuilt for an event (SignalBook.explainEvent), and how many of the episode's readings it was told from. */
interface Told {
  readonly explanation: AlertExplanation;
  readonly readings: number;
}

/**
 * Whether the kind the episode's explanation tells is provisional: told (or last confirmed) from fewer of the
 * episode's readings than the longest run any kind is judged over (NOISE_READINGS, the run a noise level is
 * measured over: a noise change cannot be told from fewer), so from its first few readings, which may look like a
 * spike, a jump that held or a trend though more of them show noise (docs/ALERTS.md, "What is told when").
 */
function provisional(episode: OpenEpisode): boolean {
  return episode.explanation !== null && episode.explanation.kind !== null && episode.toldFrom < NOISE_READINGS;
}

/**
 * Whether `told`, an explanation rebuilt from more of the episode's readings than its provisional kind was told
 * from, overturns that kind: it tells another kind of a stretch that began no later than the one told (the same
 * readings and more, the episode's peak among them; not a later stretch after it, e.g. readings off for a while
 * after a spike that came back). The peak rule (episodeExplanation's samePeak) then does not hold the old kind.
 */
function overturned(episode: OpenEpisode, told: Told): boolean {
  const kept = episode.explanation;
  const fresh = told.explanation;
  if (kept === null || kept.kind === null || fresh.kind === null || fresh.kind === kept.kind) return false;
  if (told.readings <= episode.toldFrom) return false;
  if (!provisional(episode) && !(fresh.kind === 'drift' && DRIFT_OVERTURNS.has(kept.kind))) return false;
  return Date.parse(fresh.since) <= Date.parse(kept.since);
}

/**
 * Whether `told`, an explanation rebuilt at an `update` of an episode whose kind is provisional, tells another kind
 * from fewer readings than NOISE_READINGS too: one provisional kind after another (a noise burst's first readings told
 * a spike, then a jump that held, then a trend, each from a few more of them) is churn, not news. The provisional kind
 * stays until an explanation from NOISE_READINGS readings or more tells another (overturned) or confirms it; the
 * resolve, told from all of the episode's readings, tells what they show.
 */
function churns(episode: OpenEpisode, told: Told): boolean {
  const kept = episode.explanation;
  const fresh = told.explanation;
  // A noise change told from fewer readings is what the burst's readings on both sides of the level before show
  // (explain.ts burstOpening), which no spike or jump of its first readings does: news, not churn (the burstkind
  // finding: a burst told `spike` for its first 15 readings). A provisional noise change is not swapped back.
  if (fresh.kind === 'noise_change' && kept!.kind !== 'noise_change') return false;
  return provisional(episode) && fresh.kind !== null && fresh.kind !== kept!.kind && told.readings < NOISE_READINGS;
}

/**
 * The surprise of each kind of evidence at the peak `peak` names (peakOf's `<peakScore>|<evidence JSON>`), or null
 * when there is none (no peak, an evidence of null, a string not of peakOf's form).
 */
function evidenceAt(peak: string | null): Readonly<Record<string, number>> | null {
  if (peak === null) return null;
  const bar = peak.indexOf('|');
  if (bar < 0) return null;
  try {
    const v: unknown = JSON.parse(peak.slice(bar + 1));
    if (typeof v !== 'object' || v === null) return null;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return null;
  }
}

/**
 * Whether the detector's evidence at event `ev`'s peak still carries the episode's settled kind, so that a fresh
 * explanation of another kind at that new peak is not taken (hysteresis, weighted by the detector's own evidence):
 * the kind is one the detector's evidence names (EVIDENCE_KINDS: a noise change by `spread`, a stuck value by
 * `stuck`), the evidence at the new peak names no other kind (namedKind: a value stuck after a noise burst is told),
 * and the surprise of the kind's own evidence there is at least what it was at the peak the kind was told at
 * (toldAtPeak), or at least the threshold (alone it would have opened the episode). A noise burst's peak moves with
 * every rarer draw, and its readings around that draw look like a spike, a jump or a trend; the noise they are is
 * what the detector still sees (tryout finding F11: a noise burst told noise change, spike, noise change … across six
 * updates). Not for a provisional kind (more readings may yet overturn it), nor a kind no evidence names (a spike, a
 * level shift, a drift: what their readings show is all there is of them).
 */
function kindHolds(episode: OpenEpisode, ev: AnomalyEvent): boolean {
  const kind = episode.explanation?.kind ?? null;
  if (kind === null || provisional(episode)) return false;
  const own = Object.keys(EVIDENCE_KINDS).find((k) => EVIDENCE_KINDS[k] === kind);
  if (own === undefined) return false;
  const evidence = ev.evidence ?? null;
  const threshold = surpriseOf(ev.threshold);
  const named = namedKind(evidence, threshold);
  if (named !== null && named !== kind) return false;
  const now = evidence?.[own];
  if (now === undefined || !Number.isFinite(now)) return false;
  const then = evidenceAt(episode.toldAtPeak)?.[own];
  return now >= threshold || (then !== undefined && Number.isFinite(then) && now >= then);
}

/**
 * The settled kinds a steady drift told from more of the same stretch's readings overturns (overturned): those its
 * first readings may pass for (a jump that looked like a spike or a shift, a stretch of lower or higher noise), as
 * a trend shows only over many readings (DRIFT_READINGS; tryout 20, finding 3: a humidity drift told `noise change`
 * for its whole four minutes). Not a stuck value, a silence, a counter's step or a device offline: what they
 * tell is no pattern of the readings a trend could be.
 */
const DRIFT_OVERTURNS: ReadonlySet<AnomalyKind> = new Set<AnomalyKind>(['spike', 'level_shift', 'noise_change']);

/**
 * Whether an open episode whose kind is settled (not provisional) is due to be told again from its readings, to see
 * whether they now trend steadily (a drift overturns its kind: overturned): when the kind is one a drift overturns
 * and the episode has at least DRIFT_READINGS readings and twice as many as when it was last told so (its kind's
 * toldFrom before that), so an episode is told again a logarithmic number of times however long it lasts.
 * `readings`: the episode's readings, the detector's count (0: not known, never due).
 */
function driftDue(episode: OpenEpisode, readings: number): boolean {
  const kind = episode.explanation?.kind ?? null;
  if (kind === null || !DRIFT_OVERTURNS.has(kind) || readings < DRIFT_READINGS) return false;
  const at = episode.driftCheckedAt ?? episode.toldFrom;
  return Number.isFinite(at) && readings >= 2 * at;
}

/** The span of each stream's newest raw readings kept across a clean stop (SignalBook.keepRaw): the dashboard's shortest range, 1 h. */
export const RAW_KEEP_MS = 3_600_000;
/**
 * The most bytes of raw readings kept across a clean stop for all streams together (SignalBook.keepRaw): 16 MiB, the
 * full rings of about 370 one-value streams read at 1 Hz (45 kB each: 1800 readings of 25 bytes, BENCHMARKS.md), or
 * the hour of about 11,000 streams read once a minute; written once, at the stop. The streams read most recently
 * come first; the others keep their minutes.
 */
export const RAW_KEEP_BYTES = 16 * 1024 * 1024;

/** Restarts an episode remembers (resumedAfter): the newest ones. */
const MAX_RESUMES = 16;
/** Earlier episodes' onsets a stream's book remembers (SignalBook.onsets): the newest ones. */
const MAX_ONSETS = 32;
/**
 * Stated unit changes a stream's book remembers (SignalBook.unitChanges): the newest ones. At one more (a hub flapping
 * between °C and °F), the oldest is forgotten and with it the unit of the readings before it (unitKnownFromOf): they
 * are told in no unit (unitOf null) and left out of the dashboard's series (SeriesStore.unitKnownFrom), never told in
 * the `from` of the oldest change kept, which for a flapping stream is the wrong one.
 */
export const MAX_UNIT_CHANGES = 8;

export class SignalBook {
  readonly series: SeriesStore;
  private readonly units: UnitRule[];
  private readonly open = new Map<string, OpenEpisode>();
  /**
   * Per stream, the onsets of its resolved episodes that the raw readings in memory may still hold: from when
   * the episode's explanation said its unusual readings began (`since`: a value frozen, a noise burst begun, a
   * shift) to its first reading the detector flagged (its start), when that is later. The detector flags an
   * anomaly some readings after it began (a stuck value 14 to 18 readings into it at 1 Hz), so those readings are
   * scored `ok` though they are the anomaly's: they are left out of a later episode's normal stretch with its
   * flagged readings (episodeOf), or an earlier freeze's first readings, a run of one value, were a "normal" run a
   * later freeze's had to be twice as long as (tryout 11, finding 2). Memory only, like the raw readings.
   */
  private readonly onsets = new Map<string, TimeSpan[]>();
  /**
   * Open episodes that are silences judged while they last (Daemon.judgeSilences; noteSilence after a restart), by
   * id, until their resolve, each with the stream's newest reading when it was noted (null: none), the last before
   * the silence: told missing data from it to how far the silence has gone (explainSilence), never from the reading
   * that ends them. At most MAX_OPEN (the oldest forgotten).
   */
  private readonly silences = new Map<string, SeriesPoint | null>();
  /**
   * Per stream whose hub stated a change of its unit (noteUnitChange: Tasmota's `TempUnit` F → C), the newest
   * MAX_UNIT_CHANGES changes, oldest first: which unit each of its readings is in (readings are never converted),
   * so an episode is told with the unit of the readings it describes, not the one stated now. Checkpointed with the
   * stream (unitChangesOf, restoreUnitChanges).
   */
  private readonly unitChanges = new Map<string, UnitChange[]>();
  /**
   * Per stream that had more unit changes than MAX_UNIT_CHANGES, the time of the newest change forgotten (epoch ms):
   * the unit of its readings before it is no longer known. Checkpointed with its changes (StoredUnits.knownFrom).
   */
  private readonly unitKnownFrom = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly opts: SignalBookOptions) {
    this.units = compileUnits(opts.units);
    this.log = opts.logger;
    this.series = new SeriesStore({ persist: opts.persist, ...(opts.now ? { now: opts.now } : {}), ...(opts.maxStreams !== undefined ? { maxStreams: opts.maxStreams } : {}) });
  }

  /**
   * The unit of `stream`: the first explain.units entry that matches it, else the one its hub states (at `ts`, epoch
   * ms, a reading's time, when given: the unit in force then, by the changes noted; absent: the one stated now),
   * else null.
   */
  unitOf(stream: string, ts?: number): string | null {
    const configured = unitOf(this.units, stream);
    if (configured !== null) return configured;
    const stated = this.opts.stated?.(stream) ?? null;
    if (ts === undefined) return stated;
    // Before the newest change forgotten, the unit is not known: none, rather than the oldest kept change's `from`.
    if (ts < (this.unitKnownFrom.get(stream) ?? -Infinity)) return null;
    return unitAt(stated, this.unitChanges.get(stream), ts);
  }

  /**
   * Notes that `stream`'s hub stated its unit changed from `from` to `to` from its reading at `ts` (epoch ms) on
   * (MessageParser's onUnitChange, also for a change across a restart): its explanations tell each reading in its
   * own unit from then on. A stream with an explain.units pattern keeps it (the pattern wins; nothing noted).
   */
  noteUnitChange(stream: string, ts: number, from: string, to: string): void {
    if (unitOf(this.units, stream) !== null) return;
    // The dashboard's minutes and quarter-hours are split there: none averages readings of the two units.
    this.series.noteUnitBreak(stream, ts);
    const changes = this.unitChanges.get(stream) ?? [];
    let at = changes.length;
    while (at > 0 && changes[at - 1].ts > ts) at--;
    changes.splice(at, 0, { ts, from, to });
    if (changes.length > MAX_UNIT_CHANGES) this.forgetUnitsBefore(stream, changes[changes.length - MAX_UNIT_CHANGES - 1].ts);
    this.unitChanges.set(stream, changes.slice(-MAX_UNIT_CHANGES));
  }

  /** The unit of `stream`'s readings before this time (epoch ms) is no longer known (its changes forgotten); undefined: all known. For its checkpoint. */
  unitKnownFromOf(stream: string): number | undefined {
    return this.unitKnownFrom.get(stream);
  }

  private forgetUnitsBefore(stream: string, ts: number): void {
    if (!Number.isFinite(ts)) return;
    const at = Math.max(ts, this.unitKnownFrom.get(stream) ?? -Infinity);
    this.unitKnownFrom.set(stream, at);
    this.series.forgetUnitsBefore(stream, at);
  }

  /** The stated unit changes of `stream` this book holds (noteUnitChange), oldest first; empty for none. For its checkpoint. */
  unitChangesOf(stream: string): readonly UnitChange[] {
    return this.unitChanges.get(stream) ?? [];
  }

  /**
   * Takes back the stated unit changes of `stream` from its checkpoint (unitChangesOf), unless some were noted since the
   * start, and `knownFrom` (unitKnownFromOf; absent: every unit known): before it, its readings' unit is not known.
   */
  restoreUnitChanges(stream: string, changes: readonly UnitChange[], knownFrom?: number): void {
    if (changes.length === 0) return;
    const own = unitOf(this.units, stream) === null;
    if (own && knownFrom !== undefined) this.forgetUnitsBefore(stream, knownFrom);
    // The buckets still open at the stop, and the points thinned for the plot, stay apart at each change.
    if (own) for (const c of changes) this.series.noteUnitBreak(stream, c.ts);
    if (this.unitChanges.has(stream)) return;
    const sorted = [...changes].sort((a, b) => a.ts - b.ts);
    if (own && sorted.length > MAX_UNIT_CHANGES) this.forgetUnitsBefore(stream, sorted[sorted.length - MAX_UNIT_CHANGES - 1].ts);
    this.unitChanges.set(stream, sorted.slice(-MAX_UNIT_CHANGES));
  }

  /**
   * The end an episode's resolve `ev` is stored and sent with (its record's endTs, the alert payload's `end`, the
   * list's LASTED, the API and the dashboard), epoch ms: the first reading of the stream after the last one that held
   * the episode (ev.endTs), the reading that was back, so an episode lasts at least one reading interval: a spike of
   * one reading at 1 Hz lasted 1 s, not `0s` with its end equal to its start (tryout 22, finding 11). ev.endTs when
   * no later reading is recorded (a silence, resolved by the reading that ended it). Never throws.
   */
  resolvedEnd(ev: AnomalyEvent): number {
    try {
      return this.unitsUntil(ev);
    } catch {
      return ev.endTs;
    }
  }

  /**
   * Until when an event's explanation tells the stream's unit changes (epoch ms): its last reading, and for a resolve
   * the first reading after it too (explainEvent tells the stretch up to that one).
   */
  private unitsUntil(ev: AnomalyEvent): number {
    if (ev.kind !== 'resolve') return ev.endTs;
    const next = this.series.points(ev.sensor, ev.endTs + 1)[0];
    return next === undefined ? ev.endTs : next.ts;
  }

  /** The unit fields of an explanation's input for `stream` (ExplainInput.unit, unitChanges). */
  private unitsFor(stream: string): { readonly unit: string | null; readonly unitChanges?: readonly UnitChange[] } {
    const configured = unitOf(this.units, stream);
    if (configured !== null) return { unit: configured };
    const changes = this.unitChanges.get(stream);
    return { unit: this.opts.stated?.(stream) ?? null, ...(changes !== undefined ? { unitChanges: changes } : {}) };
  }

  /** The states' names of an explanation's input for `stream` (ExplainInput.states), none when it is no on/off stream. */
  private statesFor(stream: string): { readonly states?: { readonly on: string; readonly off: string } } {
    const words = this.opts.onOff?.(stream) ?? null;
    return words === null ? {} : { states: { on: words.on, off: words.off } };
  }

  /**
   * Records a scored reading in the dashboard's series; writes the queued buckets at once when WRITE_BATCH are waiting
   * (SeriesStore.writeDue: a backfill of days in seconds), not at the next minute's flush. Never throws (flush logs).
   */
  record(r: ScoredReading): void {
    this.series.record(r);
    if (this.series.writeDue) this.flush();
  }

  /**
   * The stream's open or just resolved episode shaded over its own readings only, up to `endTs` (its end as told,
   * epoch ms), not its closing readings after it, before `beforeTs` (the reading that resolved it; Infinity while it is
   * open): SeriesStore.settleEpisode. Never throws.
   */
  settleEpisode(stream: string, endTs: number, beforeTs = Infinity): void {
    this.series.settleEpisode(stream, endTs, beforeTs);
  }

  /**
   * The episode's explanation as it stands after this event, for its alert and its record: each event
   * rebuilds it from the stream's recorded readings (the baseline taken when the episode is first seen, the
   * first readings of the episode kept for its whole life) and keeps the one the episode had unless the new
   * one says more (episodeExplanation: a kind told, or a stronger reading when neither tells one; another kind
   * than the one told only when the episode's peak moved since: peakOf, or when the kind was provisional, told from
   * fewer than NOISE_READINGS of its readings, and this event's, from more of them, tells another kind of the same
   * stretch: overturned; and not at a new peak the detector's evidence still carries the kind at: kindHolds, nor for
   * another provisional kind at an update: churns). So every alert of an episode and its record tell one story: its
   * strongest reading, and the kind that carried its peak once told. Null
   * when none can be built (no readings at all); never throws (a failure is logged and the alert carries the
   * episode's explanation so far, or none).
   */
  explain(ev: AnomalyEvent): AlertExplanation | null {
    return this.explainAlert(ev).explanation;
  }

  /**
   * As explain, and whether the event is an `update` that repeats its episode's previous alert (open, update,
   * retold update): the same kind and the same sentence, whatever its `peak_score`, so it tells the operator
   * nothing a phone notification would show (tryout 11, finding 5.5: the detector's update for a tenfold rarer
   * peak past the score's resolution, where `peak_score` is 1 before and after, sent the previous sentence again
   * word for word; tryout 17, finding 3: three updates of `21.10 °C, below the normal readings (down to 21.30)`,
   * their peaks 0.99999993, 0.9999999993 and 1). Such an update is not to be alerted; the episode's state here
   * moves on as for any event (its next alert is compared with this one, which tells the same), and its peak is
   * carried by the episode's next alert that is sent (its resolve at the latest). An update that changes the kind
   * or the sentence is news, and so is every event of an episode this book did not hold before it (after a
   * restart without its state).
   * `onlyLonger`: the event is an `update` that tells the same fault as the episode's last published alert, only
   * longer, by less than tenfold (onlyLonger: a stuck value's run, a silence); such an update is not to be alerted
   * either, and that alert stays the one later updates are compared with (tryout 15 finding 7: a value stuck for
   * 150 s sent an update at 7, 9, 13, 21 and 37 s). The daemon publishes an event unless one of the two holds; the
   * book takes what it publishes as the episode's latest alert.
   * `untold`: the event is a `resolve` whose kind is not the one the episode's last published alert told (one with a
   * kind): its readings overturned that kind only at the end. The daemon then sends an `update` with this
   * explanation before the resolve, so no kind is in the record that no alert of the open episode told (tryout 28,
   * finding 6; docs/ALERTS.md, "What is told when").
   * `silence`: the event is a silence judged while it lasts (Daemon.judgeSilences), which has no reading of its
   * own; its episode is one from then on (noteSilence), its resolve included: each of its events is told missing
   * data from the stream's last reading before it (with none recorded, after a restart, from the event: its start
   * or the time its record said it began) to the event's end, or to `until` (epoch ms, the stream's clock) when
   * later: how long the sensor has been silent by its last reading's arrival (Daemon.silentUntil), which a count
   * restarted at a reconnection or a restart (the event's end) falls short of (tryout 12, finding 3).
   */
  explainAlert(ev: AnomalyEvent, silence = false, until?: number): { readonly explanation: AlertExplanation | null; readonly repeats: boolean; readonly onlyLonger: boolean; readonly untold: boolean } {
    let episode: OpenEpisode | null = null;
    let repeats = false;
    let longer = false;
    let untold = false;
    try {
      if (silence) this.noteSilence(ev.anomalyId, ev.sensor);
      const held = this.open.get(ev.anomalyId);
      const before = held === undefined ? null : { explanation: held.explanation };
      episode = this.episodeOf(ev);
      episode.last = ev;
      const silent = this.silences.has(ev.anomalyId);
      // A state held far longer than the stream's dwells there (ev.held) is the episode's story to its end: a reading
      // far from the state held is the state's end, the recovery (a motor that never stopped, back at 0.04 A after
      // 85 min at 8 A), not a peak told on its own (tryout 39, finding 3: the resolve told `0.04 A, expected 7.99 …
      // since 02:33 (level shift)` of a run held since 01:07), nor is a far reading it followed before the state spoke.
      if (ev.held !== undefined && episode.peakFrom !== undefined) {
        delete episode.peakFrom;
        delete episode.peakRead;
      }
      // A reading far beyond what the episode told, which its story so far does not tell: told on its own from now on.
      const moved = !silent && ev.kind !== 'open' && this.followPeak(ev, episode);
      const told = silent ? this.explainSilence(ev, episode, until) : this.explainEvent(ev, episode);
      const fresh = told?.explanation ?? null;
      const peak = peakOf(ev);
      // The detector's dwell model holding the episode (ev.held: a state held far longer than the stream's dwells
      // there) overturns any other kind told before it spoke (a plug left on told a spike by its first on readings).
      const overturns = told !== null && (overturned(episode, told) || (ev.held !== undefined && fresh?.kind === 'stuck' && episode.explanation?.kind !== 'stuck'));
      // Hysteresis: the kind told stays at a new peak while the detector's evidence still carries it (kindHolds), and a
      // provisional kind is not swapped for another provisional one at an update (churns).
      const holds = told !== null && ev.kind !== 'open' && ((ev.kind === 'update' && episode.explanation !== null && churns(episode, told)) || (kindHolds(episode, ev) && !overturns));
      // A silence is told as one: also in an episode of another kind it took over (a sensor that went faulty, then
      // died), whose kind told before stays in its earlier alerts.
      const silenced = silent && fresh !== null && fresh.kind === 'missing_data';
      // The stretch of a reading far beyond what was told is the episode's story now, with or without a kind yet.
      const kept =
        silenced || (moved && fresh !== null) ? fresh : this.forgetsPeak(episode, fresh) ? episode.explanation : episodeExplanation(episode.explanation, fresh, holds || (episode.toldAtPeak === peak && !overturns));
      if (moved && told !== null && kept === fresh && fresh !== null) {
        episode.toldAtPeak = fresh.kind !== null ? peak : null;
        episode.toldFrom = told.readings;
      } else if (told !== null && kept !== null && kept.kind !== null && kept.kind === fresh?.kind) {
        if (kept === fresh) episode.toldAtPeak = peak;
        // Told anew from these readings, or confirmed by them (the same kind again, from more readings).
        episode.toldFrom = episode.explanation?.kind === kept.kind ? Math.max(episode.toldFrom, told.readings) : told.readings;
      }
      // A kept explanation (not told from these readings) says the hub's unit changes since the readings it told
      // (tryout 17, finding 2): told afresh, they are in `fresh` already.
      const shown = kept !== null && kept !== fresh ? withLaterUnitChanges(kept, this.unitsFor(ev.sensor).unitChanges, this.unitsUntil(ev), this.opts.timeZone ?? undefined) : kept;
      episode.explanation = shown;
      repeats = ev.kind === 'update' && before !== null && sameTold(before.explanation, shown);
      longer = ev.kind === 'update' && !repeats && onlyLonger(episode.sent, shown);
      // A resolve that tells another kind than the episode's last published alert told (its readings overturned it at
      // the end: a provisional kind, a state held): that kind was never told while it was open.
      const sentKind = episode.sent?.kind ?? null;
      untold = ev.kind === 'resolve' && sentKind !== null && shown !== null && shown.kind !== null && shown.kind !== sentKind;
      // What goes out is what later updates are compared with (an episode first seen at an update: from that one).
      if (ev.kind !== 'update' || (!repeats && !longer)) {
        episode.sent = shown;
        episode.sentAt = ev.endTs;
        episode.sentWindows = ev.windows;
      }
    } catch (err) {
      this.log.warn({ err, anomalyId: ev.anomalyId, sensor: ev.sensor }, 'could not explain an anomaly event; alert sent with the episode’s explanation so far');
    } finally {
      if (ev.kind === 'resolve') {
        this.open.delete(ev.anomalyId);
        this.silences.delete(ev.anomalyId);
        this.noteOnset(ev, episode?.explanation ?? null);
      }
    }
    return { explanation: episode?.explanation ?? null, repeats, onlyLonger: longer, untold };
  }

  /**
   * The daemon's broker connection is back after an outage (Daemon: MqttAdapter's onConnect after its first): for each
   * open episode, its stream's newest reading recorded now is its last before the outage, and the readings its sensor
   * sent meanwhile were not heard (lost, or delivered now from the broker's queue). The gap after that reading is then
   * an omission of ours, not a silence of the sensor (resumedAfter, as across a restart: ExplainInput.omittedBefore), so
   * a stuck value that goes on after a 47 s outage is told stuck, not `no reading for 48 s … (missing data)` (tryout
   * 39, finding 9). A silence judged while it lasts is told by explainSilence, untouched. Never throws.
   */
  linkResumed(): void {
    for (const episode of this.open.values()) {
      const newest = this.series.latest(episode.last.sensor)?.ts;
      if (newest === undefined) continue;
      const prior = episode.resumedAfter ?? [];
      if (prior.at(-1) === newest) continue;
      episode.resumedAfter = [...prior, newest].slice(-MAX_RESUMES);
    }
  }

  /**
   * Notes that the open episode `anomalyId` of `stream` is a silence judged while it lasts (explainAlert's
   * `silence`), before any reading of the stream after it is recorded: the daemon calls it at start for each
   * restored one and before each reading of a stream whose silence is open (Detector.silenceOpen), as its resolve
   * comes with a reading. The stream's newest reading now (restored from its checkpoint after a restart) is kept as
   * the last before the silence.
   */
  noteSilence(anomalyId: string, stream: string): void {
    if (this.silences.has(anomalyId)) return;
    const latest = this.series.latest(stream);
    this.silences.set(anomalyId, latest === null ? null : { ts: latest.ts, values: [...latest.values], expected: null, spread: null, surprise: Number.NaN, status: 'ok' });
    if (this.silences.size > MAX_OPEN) this.silences.delete(this.silences.keys().next().value!);
  }

  /**
   * An open silence's explanation told anew to `until` (epoch ms, the stream's clock: how far the silence has gone
   * by its last reading's arrival), for its record as it grows (Daemon.touchOpenEpisodes): `no reading for 66 s`
   * stood in the record of a 5-minute silence (tryout 12, finding 3). No event: the episode's explanation as its
   * latest alert carried it stays the book's (an update is sent by the episode rules only, and is compared with
   * what was sent). Null when the episode is no open silence this book holds; never throws (null, logged).
   */
  retellSilence(anomalyId: string, until: number): AlertExplanation | null {
    const episode = this.open.get(anomalyId);
    if (episode === undefined || !this.silences.has(anomalyId)) return null;
    try {
      return this.explainSilence(episode.last, episode, until).explanation;
    } catch (err) {
      this.log.warn({ err, anomalyId }, 'could not retell an open silence');
      return null;
    }
  }

  /**
   * An open stuck value's explanation told anew to its last reading that held it (`lastAboveTs`, epoch ms, the
   * episode `readings` long), for its record as it goes on (Daemon.touchOpenEpisodes): a value stuck past the score's
   * ceiling gets no more `update` (its peak cannot grow), and its record said `unchanged for 29 s` of a 2-minute
   * freeze (tryout 14, finding 1). As retellSilence: no event, and the episode's explanation as its latest alert
   * carried it stays the book's (an update is sent by the episode rules only, and is compared with what was sent).
   * Null when the episode is not one this book holds whose kind is `stuck` (a silence, no kind yet, another kind),
   * or when its readings now tell another kind, another value or another channel (the alert rules tell that, not
   * the record alone); never throws (null, logged).
   */
  retellStuck(anomalyId: string, lastAboveTs: number, readings: number): AlertExplanation | null {
    const episode = this.open.get(anomalyId);
    if (episode === undefined || this.silences.has(anomalyId)) return null;
    const kept = episode.explanation;
    if (kept === null || kept.kind !== 'stuck') return null;
    try {
      const event: AnomalyEvent = { ...episode.last, kind: 'update', endTs: Math.max(episode.last.endTs, lastAboveTs), windows: Math.max(episode.last.windows, readings) };
      const fresh = this.explainEvent(event, episode)?.explanation ?? null;
      if (fresh === null || fresh.kind !== 'stuck' || fresh.value !== kept.value || fresh.channel !== kept.channel) return null;
      return fresh;
    } catch (err) {
      this.log.warn({ err, anomalyId }, 'could not retell an open stuck value');
      return null;
    }
  }

  /**
   * An open drift's explanation told anew to its last reading that held it (`lastAboveTs`, epoch ms, the episode
   * `readings` long), for its record as it goes on (Daemon.touchOpenEpisodes): its latest reading and its rate as the
   * readings now give them. A drift's peak is past the score's ceiling within a minute, so no detector `update`
   * follows it, and its record, the dashboard and `anomalies list` told `23.82 °C … (drift, +77 °C/h)` for 3 minutes
   * while the sensor read up to 27.7 °C (tryout 22, finding 8). As retellStuck: no event (its alerts follow it by
   * farther's rule, driftFollows), and the episode's explanation as its latest alert carried it stays the book's.
   * Null when the episode is not one this book holds whose kind is `drift`, or when its readings now tell another
   * kind, another channel or a drift the other way (the alert rules tell that); never throws (null, logged).
   */
  retellDrift(anomalyId: string, lastAboveTs: number, readings: number): AlertExplanation | null {
    const episode = this.open.get(anomalyId);
    if (episode === undefined || this.silences.has(anomalyId)) return null;
    const kept = episode.explanation;
    if (kept === null || kept.kind !== 'drift') return null;
    try {
      const event: AnomalyEvent = { ...episode.last, kind: 'update', endTs: Math.max(episode.last.endTs, lastAboveTs), windows: Math.max(episode.last.windows, readings) };
      const fresh = this.explainEvent(event, episode)?.explanation ?? null;
      if (fresh === null || fresh.kind !== 'drift' || fresh.channel !== kept.channel || Math.sign(fresh.rate_per_hour ?? 0) !== Math.sign(kept.rate_per_hour ?? 0)) return null;
      return fresh;
    } catch (err) {
      this.log.warn({ err, anomalyId }, 'could not retell an open drift');
      return null;
    }
  }

  /**
   * The `toldAt` of an explanation of `stream` (ExplainInput.toldAt): when its latest reading arrived, if it arrived
   * late as a backfill's do (SignalOptions.arrivedLate: its own time plus its lateness), else nothing (the sentence's
   * clock times are judged against the event's own day, as when told live).
   */
  private toldAt(stream: string): { toldAt?: number } {
    const late = this.opts.arrivedLate?.(stream) ?? null;
    const latest = this.series.latest(stream);
    return late !== null && late > 0 && latest !== null ? { toldAt: latest.ts + late } : {};
  }

  /**
   * A silence's explanation (explainAlert, retellSilence): missing data from the stream's last reading before the
   * episode (its baseline's last) to the event's end, or `until` when later; no reading of the episode counts (the
   * one that ends it is after the silence), nor any restart in between (the silence is told by the sensor's last
   * reading's time). With no reading before it recorded (after a restart without the episode's state), from the
   * time its record said it began (beganBy), else its start. In an episode of another kind the silence took over,
   * what that episode told before it stays first in the sentence and in `before_silence` (beforeSilence, toldAfter).
   */
  private explainSilence(ev: AnomalyEvent, episode: OpenEpisode, until: number | undefined): Told {
    const stream = ev.sensor;
    const channels = this.series.channelsOf(stream) ?? ev.channels;
    // With no reading before it in the ring (after a restart), told from the stream's newest reading when the silence
    // was noted (restored from its checkpoint: LatestReadings), else, for one channel, from the last reading its
    // record names (missing data's `since` and `value`).
    let before: readonly SeriesPoint[] | null = null;
    const noted = this.silences.get(ev.anomalyId) ?? null;
    const told = episode.explanation;
    // An episode of another kind the silence took over (StreamScorer.judgeSilence: a sensor that went faulty, then
    // died): its readings came before the silence, so the last before it is the stream's newest when it was noted.
    const tookOver = noted !== null && noted.ts >= ev.startTs && noted.values.length === channels.length;
    // Resolved by a reading that arrived late (a device's or gateway's buffer flushed after an outage): see below.
    const late = ev.kind === 'resolve' ? (this.opts.arrivedLate?.(stream) ?? null) : null;
    if (tookOver) {
      before = [noted];
    } else if (episode.before.length === 0 && noted !== null && noted.ts < ev.startTs && noted.values.length === channels.length) {
      before = [noted];
    } else if (episode.before.length === 0 && channels.length === 1 && told !== null && told.kind === 'missing_data' && told.value !== null && Number.isFinite(Date.parse(told.since))) {
      before = [{ ts: Date.parse(told.since), values: [told.value], expected: null, spread: null, surprise: Number.NaN, status: 'ok' }];
    }
    before ??= episode.before.points();
    const e = explainEpisode({
      stream,
      channels,
      ...this.unitsFor(stream),
      ...this.statesFor(stream),
      ...this.sentFor(stream),
      before,
      during: [],
      channelErrors: ev.channelErrors.length === channels.length ? ev.channelErrors : null,
      startTs: before.length === 0 && episode.beganBy !== undefined ? Math.min(episode.beganBy, ev.startTs) : ev.startTs,
      endTs: until !== undefined && until > ev.endTs ? until : ev.endTs,
      ...(late !== null ? this.toldAt(stream) : {}),
      ...(this.opts.timeZone !== null ? { timeZone: this.opts.timeZone } : {}),
      omittedBefore: [],
      // A silence begins after the stream's last reading: no reading before it is part of it (withOnset would move a
      // constant stream's readings into the stretch, every one an outlier against a spread of ~0: tryout 31, finding 2,
      // a Tasmota plug's 230 V told `230 V since 16:28, within its normal range` with no kind at its unplugging).
      onsetKnown: true,
      evidence: null,
      threshold: surpriseOf(ev.threshold),
    });
    const explanation = toldAfter(toAlertExplanation(e), beforeSilence(told));
    // Resolved by a reading that arrived late (a device's or gateway's buffer flushed after an outage): the silence is
    // told in data time (from its last reading to the one that ended it, whatever their arrival) and says its readings
    // came late, so a short gap in the data beside an alarm that lasted hours is not taken for a slip.
    // The silence its alert told (judged on the arrival clock, hours) is then named as not the sensor's, so the resolve
    // does not contradict the alert (tryout 39, finding 8: `no reading for 9.1 h` opened, `no reading for 1 s` resolved).
    if (late === null) return { explanation, readings: 0 };
    const from = clockTime(ev.endTs, this.toldAt(stream).toldAt ?? ev.endTs, this.opts.timeZone ?? undefined);
    const toldMs = told !== null && told.kind === 'missing_data' ? (told.duration_ms ?? null) : null;
    const notOne = toldMs !== null && toldMs > (explanation.duration_ms ?? 0) ? `: the ${formatDuration(toldMs)} without readings told before was not a silence of the sensor` : '';
    return { explanation: { ...explanation, sentence: `${explanation.sentence}; its readings from ${from} on arrived ${formatDuration(late)} late (kept upstream while they could not be sent, or stamped by a clock behind)${notOne}` }, readings: 0 };
  }

  /**
   * Remembers a resolved episode's onset (onsets): from its explanation's `since` to its start, when earlier. Not
   * that of missing data (its `since` is the last reading before the silence, a normal one).
   */
  private noteOnset(ev: AnomalyEvent, explanation: AlertExplanation | null): void {
    if (explanation === null || explanation.kind === 'missing_data') return;
    const since = Date.parse(explanation.since);
    if (!(since < ev.startTs)) return;
    const oldest = this.series.oldestTs(ev.sensor);
    const kept = (this.onsets.get(ev.sensor) ?? []).filter((s) => s.to > oldest);
    kept.push({ from: since, to: ev.startTs });
    this.onsets.set(ev.sensor, kept.slice(-MAX_ONSETS));
  }

  /**
   * Between events: the open episode's explanation told again from the readings recorded since, when it has
   * no kind yet (an episode opens on its first anomalous reading, when a jump cannot yet be told a spike from
   * a level shift) or a provisional one (told from fewer than NOISE_READINGS of its readings: provisional). When
   * it now tells a kind, or another kind than the provisional one of the same stretch from more readings
   * (overturned: a noise burst whose first readings were told a spike, a jump that held or a trend), returns it
   * with the `update` event that carries it (the episode's latest event, at `lastAboveTs`, epoch ms, the
   * episode's last reading that held it, and `readings` long), and keeps both as the episode's; otherwise null
   * (nothing to retell, the episode unknown to this book, still no kind, or the provisional kind again: then
   * confirmed from these readings): one update per kind told, the first and each that overturns a provisional
   * one. The caller stores the event, then alerts (store, then alert).
   * `held`: the detector's dwell judgement of the episode now (OpenEpisodeProgress.held): when no event of the episode
   * carried one yet and its kind is not `stuck`, the update carries it and tells the state held (a stuck value), whatever
   * kind was told before and from however few readings, so the kind the resolve tells was told while it was open.
   * `excursion`: the detector's level excursion that now holds the episode (OpenEpisodeProgress.excursion): when no event
   * of it carried one yet, the update carries it and tells the episode a `drift` since the excursion's onset, whatever
   * kind was told before (a drift whose first readings another kind caught: told five kinds in turn, tryout 30 F5);
   * from then on its events carry it, so it stays a drift.
   * Never throws (a failure is logged, null returned).
   */
  retell(anomalyId: string, lastAboveTs: number, readings: number, held?: AnomalyEvent['held'], excursion?: AnomalyEvent['excursion']): { readonly event: AnomalyEvent; readonly explanation: AlertExplanation } | null {
    const episode = this.open.get(anomalyId);
    if (episode === undefined || this.silences.has(anomalyId)) return null;
    const kept = episode.explanation;
    // The detector's dwell model now holds the episode (a state held far longer than the stream's dwells there), which
    // no event of it carried yet: a stuck value from now on, told at once (tryout 28, finding 6: a plug left on told
    // `level_shift` by its update, `stuck value` first by its resolve).
    const newlyHeld = held !== undefined && episode.last.held === undefined && kept?.kind !== 'stuck' ? held : undefined;
    // So does the detector's level excursion, now drifting inside it: a drift since its onset from now on.
    const newlyDrift = newlyHeld === undefined && excursion !== undefined && episode.last.excursion === undefined ? excursion : undefined;
    const news = newlyHeld !== undefined || newlyDrift !== undefined;
    const settled = kept !== null && kept.kind !== null && !provisional(episode);
    if (settled && !news && !driftDue(episode, readings)) return null;
    if (settled && !news) episode.driftCheckedAt = readings;
    try {
      const event: AnomalyEvent = { ...episode.last, kind: 'update', endTs: Math.max(episode.last.endTs, lastAboveTs), windows: Math.max(episode.last.windows, readings), ...(newlyHeld !== undefined ? { held: newlyHeld } : {}), ...(newlyDrift !== undefined ? { excursion: newlyDrift } : {}) };
      const told = this.explainEvent(event, episode);
      if (told === null || told.explanation.kind === null || this.forgetsPeak(episode, told.explanation)) return null;
      const fresh = told.explanation;
      if (newlyHeld !== undefined && fresh.kind !== 'stuck') return null;
      if (newlyDrift !== undefined && fresh.kind !== 'drift') return null;
      if (kept !== null && kept.kind !== null && !news) {
        // A provisional kind: the same kind from more readings confirms it (no news); another one overturns it.
        if (fresh.kind === kept.kind) episode.toldFrom = Math.max(episode.toldFrom, told.readings);
        if (!overturned(episode, told) || churns(episode, told)) return null;
      }
      episode.explanation = fresh;
      episode.toldAtPeak = peakOf(event);
      episode.toldFrom = told.readings;
      episode.last = event;
      episode.sent = fresh;
      episode.sentAt = event.endTs;
      episode.sentWindows = event.windows;
      return { event, explanation: fresh };
    } catch (err) {
      this.log.warn({ err, anomalyId }, 'could not retell an open anomaly');
      return null;
    }
  }

  /**
   * After a reading of a stream whose episode is open (the daemon, once the reading's own events are told): when the
   * reading lies far beyond what the episode's last alert told (FARTHER times as far from what it was told against as
   * that alert reached: toldReach; whatever its kind, a spike, a level shift, a noise change, a stuck value, missing
   * data with readings, a kind not told), the `update` that tells it (the episode's latest event, at this reading,
   * with `peak`: the detector's episode as it stands, StreamScorer.openPeak, so its peak goes with it) and its
   * explanation: the episode's story so far when it tells this reading too (tellsReading: a drift that went on, a
   * noise change that grew), else this reading's own stretch from it on (followPeak), told against the normal
   * readings before the episode (`2996 W, expected 8 ± 11 at 13:59`, its kind once its readings tell it: retell).
   * Both are kept as the episode's (its later events, its record and its resolve tell that stretch); the caller
   * stores the event, then alerts. Tryout 20, finding 1: a plug's 3000 W, 50 times anything it had sent, went into
   * an episode open since 7 minutes as `60 W, expected 8 ± 11 (spike)`, and was in no alert, record or sentence
   * (the detector's update waits for the episode's length to double, and an update telling the same sentence is not
   * sent). Never a reading back within the stream's normal range (withinNormal: a plug left on, switched off at its
   * usual 0.5 W). Null when the reading is no such news (nor for a silence judged while it lasts, an episode this book does
   * not hold, one told in no figures: a counter reset, a device offline). Never throws (null, logged).
   */
  farther(r: ScoredReading, peak: { readonly lastAboveTs: number; readonly readings: number; readonly peakScore: number; readonly evidence: Readonly<Record<string, number>>; readonly channelErrors: readonly number[] } | null): { readonly event: AnomalyEvent; readonly explanation: AlertExplanation } | null {
    if (r.anomalyId === null) return null;
    const episode = this.open.get(r.anomalyId);
    if (episode === undefined || this.silences.has(r.anomalyId)) return null;
    const told = episode.sent ?? episode.explanation;
    if (told === null) return null;
    const c = channelIndex(r.channels, told.channel);
    if (c < 0 || !Number.isFinite(r.values[c])) return null;
    const baseline = this.baselineOf(episode, c);
    const reach = toldReach(told, baseline);
    if (reach === null) return null;
    // A drift goes on moving: told again, within the episode rules' spacing, once it is twice as far as its last
    // alert told and the episode has lasted twice as many readings since (tryout 22, finding 8).
    const beyond = beyondTold(told, reach, r.values[c], baseline);
    const drifted = !beyond && driftFollows(told, reach, r.values[c], episode.sentWindows, peak?.readings);
    if (!drifted && !beyond) return null;
    try {
      const last = episode.last;
      const event: AnomalyEvent = {
        ...last,
        kind: 'update',
        endTs: Math.max(last.endTs, r.ts, peak?.lastAboveTs ?? -Infinity),
        windows: Math.max(last.windows, peak?.readings ?? 0),
        score: r.score,
        ...(peak !== null ? { peakScore: Math.max(peak.peakScore, last.peakScore), evidence: { ...peak.evidence }, channelErrors: [...peak.channelErrors] } : {}),
      };
      const moved = !drifted && this.followPeak(event, episode);
      const fresh = this.explainEvent(event, episode);
      if (fresh === null || (!moved && !tellsReading(fresh.explanation, reach, r.values[c])) || sameTold(told, fresh.explanation)) return null;
      if (drifted && (fresh.explanation.kind !== 'drift' || fresh.explanation.channel !== told.channel)) return null;
      episode.explanation = fresh.explanation;
      episode.toldAtPeak = fresh.explanation.kind !== null ? peakOf(event) : null;
      episode.toldFrom = fresh.readings;
      episode.last = event;
      episode.sent = fresh.explanation;
      episode.sentAt = event.endTs;
      episode.sentWindows = event.windows;
      return { event, explanation: fresh.explanation };
    } catch (err) {
      this.log.warn({ err, anomalyId: r.anomalyId, sensor: r.stream }, 'could not tell a reading far beyond its anomaly’s explanation');
      return null;
    }
  }

  /**
   * Whether the episode's explanation now follows a reading far beyond what its last alert told (FARTHER times its
   * reach: toldReach), among the stream's readings after that alert up to the event's end: when the story of its
   * stretch so far (explainEvent) does not tell the farthest of them (tellsReading), the stretch told from now on
   * begins at the first of them (peakFrom) and this returns true; else false (nothing far, or told already, or the
   * episode is a state held, ev.held, whose far reading is the state's end).
   */
  private followPeak(ev: AnomalyEvent, episode: OpenEpisode): boolean {
    // A state held (ev.held) is told to its end: the reading that leaves it is its recovery, no peak of its own.
    if (ev.held !== undefined) return false;
    const told = episode.sent ?? episode.explanation;
    if (told === null) return false;
    const channels = this.series.channelsOf(ev.sensor) ?? ev.channels;
    const c = channelIndex(channels, told.channel);
    if (c < 0) return false;
    const baseline = this.baselineOf(episode, c);
    const reach = toldReach(told, baseline);
    if (reach === null) return false;
    const after = Math.max(episode.sentAt ?? -Infinity, ev.startTs - 1, episode.peakFrom ?? -Infinity);
    const points = this.series.points(ev.sensor, after + 1, ev.endTs);
    let first = -1;
    let farthest = -1;
    let most = 0;
    for (let i = 0; i < points.length; i++) {
      const d = Math.abs(points[i].values[c] - reach.center);
      if (!beyondTold(told, reach, points[i].values[c], baseline)) continue;
      if (first < 0) first = i;
      if (d > most) {
        most = d;
        farthest = i;
      }
    }
    if (first < 0) return false;
    const value = points[farthest].values[c];
    const current = this.explainEvent(ev, episode);
    if (current !== null && tellsReading(current.explanation, reach, value)) return false;
    episode.peakFrom = points[first].ts;
    episode.peakRead = { center: reach.center, value };
    return true;
  }

  /**
   * Whether `fresh`, an explanation rebuilt for the episode, leaves out the reading far beyond what was told that its
   * explanation follows (peakRead: it does not tell it, tellsReading), so it is not taken: the episode's story stays
   * its farthest reading's (the readings after it, back near what they were, no noise change nor a spike of theirs).
   */
  private forgetsPeak(episode: OpenEpisode, fresh: AlertExplanation | null): boolean {
    const read = episode.peakRead;
    return read !== undefined && fresh !== null && !tellsReading(fresh, { center: read.center, reach: Math.abs(read.value - read.center) }, read.value);
  }

  /** The normal level before the episode of channel `c` (toldReach's baseline: median ± BAND_SIGMAS spreads of its last readings, and the range of all of them), null with fewer than 3. */
  private baselineOf(episode: OpenEpisode, c: number): Baseline | null {
    episode.baseline ??= [];
    const known = episode.baseline[c];
    if (known !== undefined) return known;
    const values: number[] = [];
    for (let i = 0; i < episode.before.length; i++) {
      const v = episode.before.valueAt(i, c);
      if (Number.isFinite(v)) values.push(v);
    }
    const recent = values.slice(-BASELINE_READINGS);
    const out = recent.length < 3 ? null : { level: median(recent), band: BAND_SIGMAS * Math.max(robustSigma(recent), robustSigma(diffs(values)) / Math.SQRT2), lo: Math.min(...values), hi: Math.max(...values) };
    episode.baseline[c] = out;
    return out;
  }

  private episodeOf(ev: AnomalyEvent): OpenEpisode {
    let episode = this.open.get(ev.anomalyId);
    if (episode === undefined) {
      // The newest BEFORE_POINTS normal readings before the episode (not a point object for every reading held).
      // Nor the readings of an earlier anomaly of the stream before the detector flagged it (onsets).
      const before = PointColumns.of(this.series.lastNormalPoints(ev.sensor, ev.startTs - 1, BEFORE_POINTS, this.onsets.get(ev.sensor)));
      // An episode first seen after its open (a restart, or forgotten beyond MAX_OPEN) goes on from its record.
      let recorded: AlertExplanation | null = null;
      if (ev.kind !== 'open') {
        try {
          recorded = this.opts.recorded?.(ev.anomalyId) ?? null;
        } catch (err) {
          this.log.warn({ err, anomalyId: ev.anomalyId }, 'could not read the stored explanation of an anomaly');
        }
      }
      const began = recorded !== null ? Date.parse(recorded.since) : Number.NaN;
      episode = { before, head: new PointColumns(0, HEAD_POINTS), last: ev, explanation: recorded, toldAtPeak: null, toldFrom: Infinity, ...(Number.isFinite(began) ? { beganBy: began } : {}) };
      this.open.set(ev.anomalyId, episode);
      if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value!);
    }
    return episode;
  }

  /**
   * The event's explanation, rebuilt from the episode's readings (its baseline, its first readings, the ring's
   * since), and how many of the episode's readings it was told from; null when there are none to tell it from.
   */
  private explainEvent(ev: AnomalyEvent, episode: OpenEpisode): Told | null {
    const stream = ev.sensor;
    // Told when its reading arrived: a late one's (a backfill flushed after an outage) clock times on another day than
    // its arrival carry their date (tryout 30, finding 10: `since 03:29` read the next afternoon).
    const told = this.toldAt(stream);
    // A counter's step back is told as such from the event alone (its readings here are its continued total).
    if (ev.counterReset !== undefined) {
      const { from, to } = ev.counterReset;
      // With the decimals the meter sends (its `0.000` is a 0 as its other readings are written).
      const sent = this.sentDecimals(stream)?.[0];
      const e = explainCounterReset({ stream, unit: this.unitOf(stream, ev.startTs), from, to, ts: ev.startTs, endTs: ev.endTs, ...told, ...(this.opts.timeZone !== null ? { timeZone: this.opts.timeZone } : {}), ...(sent !== undefined && sent > 0 ? { decimals: sent } : {}) });
      return { explanation: toAlertExplanation({ ...e, stream, channel: ev.channels[0] ?? 'value', shares: null, stretch: { ts: [ev.startTs], values: [to] } }), readings: 1 };
    }
    // A counter counting far faster than it ever had is told by its rate, from the event alone (its total says nothing).
    if (ev.counterRate !== undefined) {
      const sent = this.sentDecimals(stream)?.[0];
      const last = this.series.points(stream, ev.startTs).at(-1);
      const value = last === undefined ? null : (last.values[0] ?? null);
      const e = explainCounterRate({ stream, unit: this.unitOf(stream, ev.startTs), value, perHour: ev.counterRate.perHour, usualPerHour: ev.counterRate.usualPerHour, since: ev.startTs, endTs: ev.endTs, ...told, ...(this.opts.timeZone !== null ? { timeZone: this.opts.timeZone } : {}), ...(sent !== undefined && sent > 0 ? { decimals: sent } : {}) });
      return { explanation: toAlertExplanation({ ...e, stream, channel: ev.channels[0] ?? 'value', shares: null, stretch: { ts: [ev.startTs], values: [value ?? Number.NaN] } }), readings: 1 };
    }
    // A counter counting without a rest far longer than ever is told by its run, from the event alone (its total, judged
    // as a level, says nothing: a counter's total rises above anything seen whenever it counts).
    if (ev.counterBusy !== undefined) {
      const sent = this.sentDecimals(stream)?.[0];
      // The total at the run's latest reading judged busy (not a reading after its rest that ended the episode).
      const b = ev.counterBusy;
      const last = this.series.points(stream, ev.startTs).findLast((p) => p.ts <= b.since + b.ms);
      const value = last === undefined ? null : (last.values[0] ?? null);
      const e = explainCounterBusy({ stream, unit: this.unitOf(stream, ev.startTs), value, rise: b.rise, ms: b.ms, longestMs: b.longestMs, since: b.since, endTs: ev.endTs, ...told, ...(this.opts.timeZone !== null ? { timeZone: this.opts.timeZone } : {}), ...(sent !== undefined && sent > 0 ? { decimals: sent } : {}) });
      return { explanation: toAlertExplanation({ ...e, stream, channel: ev.channels[0] ?? 'value', shares: null, stretch: { ts: [ev.startTs], values: [value ?? Number.NaN] } }), readings: 1 };
    }
    // An alarm field's state (a leak) is told as such from the event alone, in the state's words (explainAlarm).
    if (ev.alarm !== undefined) {
      const { since, level } = ev.alarm;
      const words = this.opts.onOff?.(stream) ?? null;
      const state = words === null ? null : level === 1 ? words.on : level === 0 ? words.off : null;
      const e = explainAlarm({ stream, state, level, since, endTs: ev.endTs, ...told, resolved: ev.kind === 'resolve', ...(this.opts.timeZone !== null ? { timeZone: this.opts.timeZone } : {}) });
      return { explanation: toAlertExplanation({ ...e, stream, channel: ev.channels[0] ?? 'value', shares: null, stretch: { ts: [since], values: [level] } }), readings: 1 };
    }
    // A resolve describes the anomalous stretch, up to its last reading that held the episode and the first
    // one after it that did not (so a jump that came back within range is told a spike), not the rest of
    // the recovery that resolved it.
    let recent = this.series.points(stream, ev.startTs);
    if (ev.kind === 'resolve') {
      const after = recent.findIndex((p) => p.ts > ev.endTs);
      if (after >= 0) recent = recent.slice(0, after + 1);
    }
    const headEnd = episode.head.lastTs();
    // The ring may no longer hold the readings right after the head: then the head stays as it is, and
    // the hole between it and what the ring holds is ours, not a silence of the sensor.
    const ringStart = this.series.oldestTs(stream);
    const contiguous = episode.head.length === 0 || ringStart <= headEnd;
    if (contiguous) {
      for (const p of recent) {
        if (episode.head.length >= HEAD_POINTS) break;
        if (p.ts > headEnd) episode.head.push(p);
      }
    }
    const lastHead = episode.head.lastTs();
    const tail = recent.filter((p) => p.ts > lastHead);
    // No reading of the stream recorded at all: nothing to tell (the episode's explanation so far stands). A silence
    // judged while it lasts is told by explainSilence, also with none of its readings recorded (after a restart).
    // (An on/off state held is told from the event alone: its state, since when, the longest before; AnomalyEvent.held.)
    if (episode.before.length === 0 && episode.head.length === 0 && tail.length === 0 && ev.held?.level === undefined) return null;
    // The episode's readings kept as columns, as points for the explainer (for this explanation only).
    const before = episode.before.points();
    const head = episode.head.points();
    const omittedBefore = tail.length > 0 && head.length > 0 && ringStart > lastHead ? [tail[0].ts] : [];
    // The readings the baseline leaves out (an earlier episode's, an onset's: lastNormalPoints) are no silence of the
    // sensor either, also where the explainer moves the baseline's last readings into the stretch (withOnset: a value
    // that froze as an earlier episode ended; tryout 22, finding 2: `no reading for 17 s (missing data)` told of a
    // value stuck at 12.5 that came every second).
    const firstOfEpisode = head[0]?.ts ?? tail[0]?.ts;
    if (before.length > 0 && firstOfEpisode !== undefined) {
      omittedBefore.push(...leftOut(this.series.points(stream, before[0].ts, firstOfEpisode), before, firstOfEpisode));
    }
    // The readings the daemon missed while it was down are no silence of the sensor.
    for (const at of episode.resumedAfter ?? []) {
      const next = head.find((p) => p.ts > at) ?? tail.find((p) => p.ts > at);
      if (next !== undefined) omittedBefore.push(next.ts);
    }
    const channels = this.series.channelsOf(stream) ?? ev.channels;
    // The first readings kept may reach past the resolve's end too: a retelling of the open episode (retell) told
    // it from the readings recorded by then, the recovery after its last reading that held it included (tryout
    // 10, finding 5: a spike's resolve told from 10 readings, 8 of them after the one back).
    let during = [...head, ...tail];
    // A reading far beyond what the episode had told is told on its own, from it on (followPeak): the readings of the
    // episode before it are left out (an omission of ours, not a silence), the normal ones before the episode kept.
    const peakFrom = episode.peakFrom;
    if (peakFrom !== undefined) {
      during = during.filter((p) => p.ts >= peakFrom);
      if (during.length === 0) return null;
      omittedBefore.push(during[0].ts);
    }
    if (ev.kind === 'resolve') {
      const after = during.findIndex((p) => p.ts > ev.endTs);
      if (after >= 0) during = during.slice(0, after + 1);
    }
    const e = explainEpisode({
      stream,
      channels,
      ...this.unitsFor(stream),
      ...this.statesFor(stream),
      ...this.sentFor(stream),
      before,
      during,
      channelErrors: ev.channelErrors.length === channels.length ? ev.channelErrors : null,
      startTs: peakFrom !== undefined ? Math.max(ev.startTs, peakFrom) : ev.startTs,
      endTs: ev.endTs,
      ...told,
      ...(this.opts.timeZone !== null ? { timeZone: this.opts.timeZone } : {}),
      omittedBefore,
      evidence: peakFrom !== undefined ? peakEvidence(episode, ev, channels) : (ev.evidence ?? null),
      threshold: surpriseOf(ev.threshold),
      ...(peakFrom !== undefined ? { onsetKnown: true } : episode.beganBy !== undefined ? { beganBy: episode.beganBy } : {}),
      ...(ev.held !== undefined && peakFrom === undefined ? { held: ev.held } : {}),
      // A drift beyond everything seen is told as that also in a stretch of it told on its own (followPeak): it is the drift's.
      ...(ev.excursion !== undefined ? { excursion: ev.excursion } : {}),
      ...(ev.kind === 'resolve' ? { ended: true } : {}),
    });
    // A counter's hold that ended with its backlog counted at once is told with it (withCatchUp).
    if (ev.catchUp !== undefined) {
      const sent = this.sentDecimals(stream)?.[0];
      return { explanation: toAlertExplanation(withCatchUp(e, { amount: ev.catchUp.amount, unit: e.unit, ...(sent !== undefined ? { decimals: sent } : {}) })), readings: during.length };
    }
    return { explanation: toAlertExplanation(e), readings: during.length };
  }

  /**
   * Each stream's raw readings of its newest `spanMs` (default RAW_KEEP_MS, an hour; the ring holds SeriesStore's
   * rawPoints at most: 30 min at 1 Hz), to be kept across a clean stop (SqliteStore.replaceSeriesRaw) and taken back
   * at the next start (restoreRaw), so the dashboard's 1-hour plot shows the readings before the restart as they were,
   * not only their minute means (tryout 26, finding 7: a 1 Hz pump's over-pressure drawn as a small bump). The streams
   * read most recently first, up to `maxBytes` of JSON in all (default RAW_KEEP_BYTES); the rest keep their minutes.
   */
  keepRaw(spanMs = RAW_KEEP_MS, maxBytes = RAW_KEEP_BYTES): SeriesRawRow[] {
    const streams = this.series
      .streamIds()
      .map((stream) => ({ stream, newest: this.series.latest(stream)?.ts ?? -Infinity }))
      .filter((x) => Number.isFinite(x.newest))
      .sort((a, b) => b.newest - a.newest);
    const out: SeriesRawRow[] = [];
    let bytes = 0;
    for (const { stream, newest } of streams) {
      const channels = this.series.channelsOf(stream);
      if (channels === null) continue;
      const blob = this.series.rawBlob(stream, newest - spanMs);
      if (blob === null || bytes + blob.length > maxBytes) continue;
      bytes += blob.length;
      out.push({ stream, channels: [...channels], points: blob });
    }
    return out;
  }

  /**
   * Takes back the raw readings kept at the last clean stop (keepRaw), after the checkpoints are restored (an open
   * episode's newest readings are in its stream's ring already: those kept here before them are added). Returns the
   * readings taken; a row that does not read back is skipped (logged).
   */
  restoreRaw(rows: readonly SeriesRawRow[]): number {
    let taken = 0;
    for (const r of rows) {
      try {
        taken += this.series.restoreRawBlob(r.stream, r.channels, r.points);
      } catch (err) {
        this.log.warn({ err, stream: r.stream }, 'could not take back the raw readings kept at the last stop');
      }
    }
    return taken;
  }

  /** The stream's newest recorded reading (LatestReadings: carried by its checkpoint). */
  latest(stream: string): ScoredReading | null {
    return this.series.latest(stream);
  }

  /** Takes back a stream's newest reading from before a restart (LatestReadings; SeriesStore.restoreLatest). */
  restoreLatest(r: ScoredReading): boolean {
    return this.series.restoreLatest(r);
  }

  /** Per channel, the most decimals the stream's readings were ever sent with (LatestReadings; SeriesStore.sentDecimals). */
  sentDecimals(stream: string): readonly number[] | null {
    return this.series.sentDecimals(stream);
  }

  /** The stream's reading precision now (LatestReadings; SeriesStore.readingDecimals). */
  readingDecimals(stream: string): number | null {
    return this.series.readingDecimals(stream);
  }

  /** Takes back sentDecimals and the precision at the stop (LatestReadings; SeriesStore.restoreSentDecimals). */
  restoreSentDecimals(stream: string, decimals: readonly number[], shown: number | null = null): void {
    this.series.restoreSentDecimals(stream, decimals, shown);
  }

  /** The stream's sentDecimals as an explanation's input (EpisodeInput.sentDecimals); none when unknown. */
  private sentFor(stream: string): { sentDecimals?: readonly number[] } {
    const d = this.series.sentDecimals(stream);
    return d !== null ? { sentDecimals: d } : {};
  }

  /**
   * What this book holds of an open episode that changes as it goes, for its stream's checkpoint (StoredEpisode
   * version 2, JSON, written every tick the episode has readings): its explanation and the peak that told its kind,
   * its latest event, its first readings beyond those its base holds (fewer than BASE_HEAD_STEP), and the newest
   * RECENT_POINTS of the stream's readings since its first readings that are still in memory (those its next event
   * is told from). What does not change as it goes (its baseline, its first readings in steps of BASE_HEAD_STEP) is
   * episodeBase's, written only when it changes; `base` names the one this state goes with. Null when the book does
   * not know the episode. With restoreEpisode, an episode that goes on through a restart (clean or not: the
   * periodic checkpoint carries it too) is told from the same state as without it, but for the readings between
   * its first ones and the newest RECENT_POINTS of a long one (left out as an omission of ours, not a silence).
   */
  episodeState(anomalyId: string): StoredEpisode | null {
    const episode = this.open.get(anomalyId);
    if (episode === undefined) return null;
    const stream = episode.last.sensor;
    const channels = this.series.channelsOf(stream) ?? episode.last.channels;
    const headEnd = episode.head.lastTs();
    // From the head's last reading on (when the ring still holds it, so the ring restored holds it too: what
    // explainEvent calls contiguous stays so), or from the episode's start before any head; the newest only.
    const recent = this.series.points(stream, headEnd > -Infinity ? headEnd : episode.last.startTs).slice(-RECENT_POINTS);
    const baseHead = baseHeadOf(episode);
    return {
      v: 2,
      anomalyId,
      channels: [...channels],
      last: storeEvent(episode.last),
      explanation: episode.explanation,
      toldAtPeak: episode.toldAtPeak,
      ...(Number.isFinite(episode.toldFrom) ? { toldFrom: episode.toldFrom } : {}),
      ...(episode.beganBy !== undefined ? { beganBy: episode.beganBy } : {}),
      ...(episode.peakFrom !== undefined ? { peakFrom: episode.peakFrom } : {}),
      ...(episode.peakRead !== undefined ? { peakRead: episode.peakRead } : {}),
      ...(episode.resumedAfter !== undefined ? { resumedAfter: [...episode.resumedAfter] } : {}),
      base: baseVersion(anomalyId, baseHead),
      head: storePoints(episode.head.points(baseHead), channels.length),
      recent: storePoints(recent, channels.length),
      ...(this.series.isWide(episode.last.sensor) ? { ringWide: true } : {}),
    };
  }

  /**
   * What does not change as an open episode goes on, for its stream's checkpoint to write apart and only when
   * `version` changed (CheckpointSubject.side): its baseline (BEFORE_POINTS normal readings before it) and its first
   * readings in whole steps of BASE_HEAD_STEP (all HEAD_POINTS once it has them). `version` changes at most
   * 1 + HEAD_POINTS / BASE_HEAD_STEP times per episode. Null when the book does not know the episode.
   */
  episodeBase(anomalyId: string): { readonly version: string; readonly state: StoredEpisodeBase } | null {
    const episode = this.open.get(anomalyId);
    if (episode === undefined) return null;
    const channels = this.series.channelsOf(episode.last.sensor) ?? episode.last.channels;
    const baseHead = baseHeadOf(episode);
    const version = baseVersion(anomalyId, baseHead);
    return {
      version,
      state: { v: 2, anomalyId, version, channels: [...channels], before: storePoints(episode.before.points(), channels.length), head: storePoints(episode.head.points(0, baseHead), channels.length) },
    };
  }

  /**
   * Takes back an open episode of `stream` from its checkpoint (episodeState), as the book held it before the
   * stop: its next event is explained as it would have been without the restart, from the readings before it
   * and of it (those lost while the daemon was down aside). Its `recent` readings go back into the stream's
   * ring (SeriesStore.restoreRecent: after restoreLatest). `base`: its episodeBase as last written (version 2;
   * a version-1 state carries its baseline and first readings itself). Throws on a malformed state, or a version-2
   * one without the base it goes with (the caller notes it; the episode then goes on from its record, as an
   * episode this book does not know).
   */
  restoreEpisode(stream: string, anomalyId: string, state: unknown, base?: unknown): void {
    const st = readStoredEpisode(state);
    if (st.anomalyId !== anomalyId) throw new Error(`is of episode ${st.anomalyId}, not ${anomalyId}`);
    const last = readStoredEvent(st.last, stream, anomalyId);
    const C = st.channels.length;
    let before: PointColumns;
    let head: PointColumns;
    if (st.v === 1) {
      before = PointColumns.of(readPoints(st.before, C));
      head = PointColumns.of(readPoints(st.head, C), HEAD_POINTS);
    } else {
      const b = readStoredBase(base, anomalyId, st.base, C);
      before = PointColumns.of(readPoints(b.before, C));
      head = PointColumns.of([...readPoints(b.head, C), ...readPoints(st.head, C)], HEAD_POINTS);
    }
    const recent = readPoints(st.recent, C);
    if (recent.length > 0 && this.series.restoreRecent(stream, st.channels, recent, st.ringWide === true) === 0) throw new Error('its recent readings could not be taken back (the stream has readings already)');
    // The stream's newest reading before the stop: what came after it until the next one was lost to the restart.
    const stoppedAt = this.series.latest(stream)?.ts ?? recent.at(-1)?.ts ?? head.tsAt(head.length - 1);
    const resumedAfter = [...(st.resumedAfter ?? []), ...(stoppedAt !== undefined ? [stoppedAt] : [])].slice(-MAX_RESUMES);
    this.open.set(anomalyId, { before, head, last, explanation: st.explanation, toldAtPeak: st.toldAtPeak, toldFrom: st.toldFrom ?? Infinity, ...(st.beganBy !== undefined ? { beganBy: st.beganBy } : {}), ...(st.peakFrom !== undefined ? { peakFrom: st.peakFrom } : {}), ...(st.peakRead !== undefined ? { peakRead: st.peakRead } : {}), resumedAfter });
    if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value!);
  }

  /** Forgets a stream's raw readings (an idle stream evicted by the daemon); its stored buckets stay. */
  forget(stream: string): void {
    this.series.forget(stream);
    this.onsets.delete(stream);
    this.unitChanges.delete(stream);
    this.unitKnownFrom.delete(stream);
  }

  /** SeriesStore.droppedBuckets when flush last logged them. */
  private droppedLogged = 0;

  /**
   * Writes closed buckets when due; logs (never throws) when the database refuses them, and once per flush the buckets
   * dropped since the last such line (queued past MAX_PENDING while it refused them): a hole in the dashboard's
   * history is said, not left for the operator to find.
   */
  flush(): void {
    try {
      this.series.flush();
    } catch (err) {
      this.log.warn({ err }, 'could not store dashboard series buckets; they stay queued');
    }
    const dropped = this.series.droppedBuckets;
    if (dropped > this.droppedLogged) {
      this.log.warn({ dropped: dropped - this.droppedLogged, droppedSinceStart: dropped }, `dropped ${dropped - this.droppedLogged} dashboard series buckets, the oldest queued: the database did not take them and more than ${MAX_PENDING} waited; the history plots and 'anomalyd history' lack those minutes and quarter-hours`);
      this.droppedLogged = dropped;
    }
  }

  /** At stop: writes the open buckets too. Never throws. */
  close(): void {
    try {
      this.series.close();
    } catch (err) {
      this.log.warn({ err }, 'could not store the last dashboard series buckets');
    }
  }
}

/**
 * Where a baseline (`kept`: a stream's normal readings before an episode, SeriesStore.lastNormalPoints, time order)
 * leaves out readings the ring holds (`all`: the ring's readings from kept's first to the episode's first, `next`,
 * time order): the time of the reading right after each such hole, a kept one or `next`. The gap before each is an
 * omission of the baseline, not a silence of the sensor (ExplainInput.omittedBefore). Readings older than the ring
 * are not seen (no hole is made of them).
 */
export function leftOut(all: readonly SeriesPoint[], kept: readonly SeriesPoint[], next: number): number[] {
  const out: number[] = [];
  let j = 0;
  let hole = false;
  for (const p of all) {
    if (p.ts >= next) break;
    while (j < kept.length && kept[j].ts < p.ts) j++;
    if (j < kept.length && kept[j].ts === p.ts) {
      if (hole) out.push(p.ts);
      hole = false;
      j++;
    } else {
      hole = true;
    }
  }
  if (hole) out.push(next);
  return out;
}

/** The normal readings before an episode, of one channel (SignalBook.baselineOf): their level ± band, and their range. */
interface Baseline {
  readonly level: number;
  readonly band: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * Whether `x` lies far beyond what was told: FARTHER times its reach from its center (toldReach, whose reach takes in
 * the farthest normal reading before the episode, so `x` is beyond all of them too): a noisy stream's readings coming
 * back within their normal range after a freeze told `18.50 unchanged, expected 18.52 ± 0.06`, or where its slow
 * cycle has gone meanwhile, are no news, however far from that band.
 */
/** How much further, and longer, a drift must have gone since its last alert to be told again (driftFollows). */
const DRIFT_FURTHER = 2;

function farBeyond(x: number, reach: { readonly center: number; readonly reach: number }): boolean {
  return Math.abs(x - reach.center) >= FARTHER * reach.reach;
}

/**
 * Whether `x` (sensor units) lies within the range of the normal readings before the episode (`baseline`'s lo–hi),
 * give or take the larger of their band (± BAND_SIGMAS spreads) and a FARTHERth of the range's width: a stream back at
 * its own normal values, or next to them (a plug whose off readings were 0.5 W reading 0.0 W), never one far beyond
 * them (a DS18B20's −127.00 around a normal 12). False without a baseline (not judged so). A plug on 10 s of every
 * 60 s at 60 W, 0.5 W off, left on and told `60.0 W for 3 min … (stuck value)`, then switched off: its 0.5 W lay exactly
 * as far below the 59.8 W it was told against as its normal 0.5 W readings reached, and was sent as an `update`
 * telling `0.5 W, expected 59.8 ± 8` with no kind, and so was its resolve (branch `plugoff`). Pure.
 */
function withinNormal(x: number, baseline: Baseline | null): boolean {
  if (baseline === null || !Number.isFinite(baseline.lo) || !Number.isFinite(baseline.hi)) return false;
  const margin = Math.max(Number.isFinite(baseline.band) ? baseline.band : 0, (baseline.hi - baseline.lo) / FARTHER);
  return x >= baseline.lo - margin && x <= baseline.hi + margin;
}

/**
 * Whether `x` is news beyond what an episode's alert `told` (its reach: toldReach): far beyond it (farBeyond), or on
 * the other side of what it was told against, at least as far as it reached (the reach takes in the farthest normal
 * reading before the episode, so `x` is beyond every one of them on that side too) and FARTHER times the normal
 * readings' band (`band`: the baseline's, sensor units; none: not judged so), far off the normal, not a slow cycle's
 * swing beyond the few readings before the episode (field case report-on-change.csv: a +4 °C shift told, a reading
 * 3.8 °C below its expectation within the day's range was no second fault): a second fault, not the told one
 * going on. The told value must lie on one side (a spike, a level shift, a stuck value, a drift, a reading told
 * without a kind; not a noise change's noise nor missing data). Tryout 28, finding 1: a DS18B20 told `85.000 unchanged
 * … (stuck value)` read −127.00 for 60 readings while that episode was open; 139 °C from 12 is 1.9 times the 73 the
 * 85.0 reached, not the tenfold, and nothing told it.
 * Never a reading back within the stream's normal range (withinNormal): a stream back at its own normal values is no
 * news, whatever was told. Pure.
 */
function beyondTold(told: AlertExplanation, reach: { readonly center: number; readonly reach: number }, x: number, baseline: Baseline | null): boolean {
  if (withinNormal(x, baseline)) return false;
  if (farBeyond(x, reach)) return true;
  if (told.kind === 'noise_change' || told.kind === 'missing_data' || typeof told.value !== 'number' || !Number.isFinite(told.value)) return false;
  const band = baseline?.band;
  if (band === undefined || !(band > 0)) return false;
  const side = Math.sign(told.value - reach.center);
  return side !== 0 && -side * (x - reach.center) >= Math.max(reach.reach, FARTHER * band);
}

/**
 * Whether reading `x` of an episode whose last alert told a drift (`told`, its reach: toldReach) is worth telling
 * again: at least DRIFT_FURTHER times as far from what it was told against as that alert reached, on the drift's side
 * (the sign of its rate), and the episode `readings` long, at least DRIFT_FURTHER times as many as at that alert
 * (`sentWindows`): the spacing of the episode rules' updates (docs/SCORING.md section 5, "Update": once each time the
 * length has doubled), here for the value. A drift of +0.02 °C/s told at 23.82 °C (1.35 °C off) is told again past
 * 2.7 °C off, not left at 23.82 while the sensor reads 27.7 (tryout 22, finding 8); at most one alert per doubling
 * of both, so a drift of hours sends a handful. False for any other kind, or without the figures. Pure.
 */
function driftFollows(told: AlertExplanation, reach: { readonly center: number; readonly reach: number }, x: number, sentWindows: number | undefined, readings: number | undefined): boolean {
  if (told.kind !== 'drift' || sentWindows === undefined || readings === undefined || !(readings >= DRIFT_FURTHER * sentWindows)) return false;
  const side = Math.sign(told.rate_per_hour ?? (told.value ?? reach.center) - reach.center);
  return side !== 0 && side * (x - reach.center) >= DRIFT_FURTHER * reach.reach;
}

/**
 * Readings as an episode's checkpoint stores them (columnar JSON): `n` readings of `C` channels, each value,
 * expectation and spread in the shortest decimal that gives back the same 32-bit float (the series ring keeps
 * them so: f32), a non-finite one as null; `expected` and `spread` all null for a reading without them; the
 * surprise (only the dashboard shows it; the explanation does not use it) to 3 significant digits; status 0
 * learning, 1 ok, 2 anomalous.
 */
export interface StoredPoints {
  /**
   * Epoch ms: the first reading's time, then each reading's time less the one before (exact: two close times
   * differ exactly, and adding the difference back gives the time); 0 for readings that share a time (the series
   * ring keeps them: SeriesStore.record).
   */
  readonly ts: readonly number[];
  readonly status: readonly number[];
  readonly surprise: readonly (number | null)[];
  /** n × C, reading-major. */
  readonly values: readonly (number | null)[];
  readonly expected: readonly (number | null)[];
  readonly spread: readonly (number | null)[];
  /**
   * True when a number of these readings is not a float32 (a float64 series ring's: SeriesStore, fitsFloat32): they
   * are then stored as they are, not as the shortest decimal of their float32, and read back without rounding.
   */
  readonly wide?: boolean;
}

/**
 * An open episode as a stream's checkpoint carries it (SignalBook.episodeState, `episode` next to the
 * detector's state), written every tick it has readings.
 *
 * Version 2 (now): the parts that change as it goes. `head`: its first readings beyond those of its base (fewer
 * than BASE_HEAD_STEP); `recent`: the newest RECENT_POINTS (128) of the stream's ring readings from the head's
 * last one (or the episode's start) on; `base`: the version of the StoredEpisodeBase it goes with (its baseline
 * and first readings, written apart only when they change). At most 63 + 128 readings (≈ 40 bytes each for one
 * channel with the model's expectation: ≈ 8 kB) however long the episode.
 *
 * Version 1 (written before): `before` and `head` in full, `recent` up to the ring's size (1800 readings), so up
 * to 600 + 256 + 1800 readings (≈ 100 kB) every tick of a long episode; still restored.
 */
export type StoredEpisode = StoredEpisodeV1 | StoredEpisodeV2;

interface StoredEpisodeCommon {
  readonly anomalyId: string;
  readonly channels: readonly string[];
  /** The episode's latest event (AnomalyEvent in JSON, a non-finite number as null). */
  readonly last: unknown;
  readonly explanation: AlertExplanation | null;
  readonly toldAtPeak: string | null;
  /** OpenEpisode.toldFrom: the readings its kind was told or confirmed from; absent when not known (written before it was kept): settled. */
  readonly toldFrom?: number;
  readonly beganBy?: number;
  /** OpenEpisode.peakFrom: where the stretch its explanation tells begins (a reading far beyond what it had told); absent: its start. */
  readonly peakFrom?: number;
  /** OpenEpisode.peakRead: the farthest reading of that stretch and what it was measured from. */
  readonly peakRead?: { readonly center: number; readonly value: number };
  /** OpenEpisode.resumedAfter: the restarts it went on through before this one. */
  readonly resumedAfter?: readonly number[];
  readonly head: StoredPoints;
  readonly recent: StoredPoints;
  /** The stream's series ring held float64 (SeriesStore.isWide): the restored ring does too. Absent: float32. */
  readonly ringWide?: boolean;
}

/** StoredEpisode version 2: see StoredEpisode. */
export interface StoredEpisodeV2 extends StoredEpisodeCommon {
  readonly v: 2;
  /** The StoredEpisodeBase.version this goes with: `<anomalyId>:<first readings it holds>`. */
  readonly base: string;
}

/**
 * What does not change as an open episode goes on (SignalBook.episodeBase), written apart from its stream's
 * checkpoint and only when `version` changes (at most 5 times per episode): its baseline (`before`, up to 600
 * readings) and its first readings in whole steps of BASE_HEAD_STEP (`head`, up to 256).
 */
export interface StoredEpisodeBase {
  readonly v: 2;
  readonly anomalyId: string;
  readonly version: string;
  readonly channels: readonly string[];
  readonly before: StoredPoints;
  readonly head: StoredPoints;
}

/** StoredEpisode version 1 (before the base was written apart): see StoredEpisode. */
export interface StoredEpisodeV1 extends StoredEpisodeCommon {
  readonly v: 1;
  readonly before: StoredPoints;
}

const STATUS_CODES: readonly SeriesPoint['status'][] = ['learning', 'ok', 'anomalous'];

/** The shortest decimal whose 32-bit float is `v`'s (v is one: read from the series ring); null when not finite. */
function f32(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  for (let p = 1; p < 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return Number(v.toPrecision(9));
}

/** The first readings of an episode its base holds: whole steps of BASE_HEAD_STEP, or all HEAD_POINTS. */
function baseHeadOf(episode: OpenEpisode): number {
  return episode.head.length >= HEAD_POINTS ? episode.head.length : Math.floor(episode.head.length / BASE_HEAD_STEP) * BASE_HEAD_STEP;
}

function baseVersion(anomalyId: string, baseHead: number): string {
  return `${anomalyId}:${baseHead}`;
}

/** A stored episode base checked against the episode and the version its state names; throws when it is not that one. */
function readStoredBase(v: unknown, anomalyId: string, version: string, C: number): StoredEpisodeBase {
  if (v === undefined || v === null) throw new Error('its baseline part (written apart) is missing');
  if (typeof v !== 'object') throw new Error('its baseline part is not an object');
  const o = v as Record<string, unknown>;
  if (o.v !== 2) throw new Error(`its baseline part's version ${String(o.v)} unknown`);
  if (o.anomalyId !== anomalyId || o.version !== version) throw new Error(`its baseline part is ${String(o.version)}, not ${version}`);
  if (!Array.isArray(o.channels) || o.channels.length !== C) throw new Error('its baseline part has other channels');
  return o as unknown as StoredEpisodeBase;
}

function storePoints(points: readonly SeriesPoint[], C: number): StoredPoints {
  const values: (number | null)[] = [];
  const expected: (number | null)[] = [];
  const spread: (number | null)[] = [];
  const notF32 = (x: number | undefined): boolean => x !== undefined && Number.isFinite(x) && Math.fround(x) !== x;
  const wide = points.some((p) => p.values.some(notF32) || (p.expected?.some(notF32) ?? false) || (p.spread?.some(notF32) ?? false));
  // Float64 readings (a wide ring's) as they are; float32 ones as the shortest decimal that reads back as them.
  const put = (x: number): number | null => (wide ? (Number.isFinite(x) ? x : null) : f32(x));
  for (const p of points) {
    for (let c = 0; c < C; c++) {
      values.push(put(p.values[c] ?? NaN));
      expected.push(p.expected === null ? null : put(p.expected[c] ?? NaN));
      spread.push(p.spread === null ? null : put(p.spread[c] ?? NaN));
    }
  }
  const ts = points.map((p, i) => (i === 0 ? p.ts : p.ts - points[i - 1].ts));
  const surprise = points.map((p) => (Number.isFinite(p.surprise) ? Number(p.surprise.toPrecision(3)) : null));
  return { ts, status: points.map((p) => STATUS_CODES.indexOf(p.status)), surprise, values, expected, spread, ...(wide ? { wide: true } : {}) };
}

/** Stored readings back as the series ring gives them (SeriesPoint); throws on malformed ones. */
function readPoints(v: unknown, C: number): SeriesPoint[] {
  if (typeof v !== 'object' || v === null) throw new Error('readings must be an object');
  const o = v as Record<string, unknown>;
  const dts = o.ts;
  if (!Array.isArray(dts) || !dts.every((t, i) => typeof t === 'number' && Number.isFinite(t) && (i === 0 || t >= 0))) throw new Error('readings ts must be a time and steps of 0 or more (readings may share a time)');
  const n = dts.length;
  const ts: number[] = [];
  for (let i = 0; i < n; i++) ts.push(i === 0 ? (dts[0] as number) : ts[i - 1] + (dts[i] as number));
  const wide = o.wide === true;
  const nums = (x: unknown, what: string, len: number, asStored = wide): number[] => {
    if (!Array.isArray(x) || x.length !== len || !x.every((e) => e === null || typeof e === 'number')) throw new Error(`readings ${what} must be ${len} numbers or nulls`);
    return x.map((e: number | null) => (e === null ? NaN : asStored ? e : Math.fround(e)));
  };
  const status = o.status;
  if (!Array.isArray(status) || status.length !== n || !status.every((c) => c === 0 || c === 1 || c === 2)) throw new Error('readings status must be 0, 1 or 2');
  const surprise = nums(o.surprise, 'surprise', n, false);
  const values = nums(o.values, 'values', n * C);
  const expected = nums(o.expected, 'expected', n * C);
  const spread = nums(o.spread, 'spread', n * C);
  const out: SeriesPoint[] = [];
  for (let i = 0; i < n; i++) {
    const exp = expected.slice(i * C, i * C + C);
    const hasExp = exp.some(Number.isFinite);
    out.push({ ts: ts[i], values: values.slice(i * C, i * C + C), expected: hasExp ? exp : null, spread: hasExp ? spread.slice(i * C, i * C + C) : null, surprise: surprise[i], status: STATUS_CODES[status[i] as number] });
  }
  return out;
}

/** An event in JSON: a non-finite number (a peak score of 1 as surprise, evidence not measured) as null. */
function storeEvent(ev: AnomalyEvent): unknown {
  return JSON.parse(JSON.stringify(ev)) as unknown;
}

/** A stored event back (null numbers as NaN); throws when it is not an event of this stream and episode. */
function readStoredEvent(v: unknown, stream: string, anomalyId: string): AnomalyEvent {
  if (typeof v !== 'object' || v === null) throw new Error('last event must be an object');
  const o = v as Record<string, unknown>;
  if (o.sensor !== stream || o.anomalyId !== anomalyId) throw new Error('last event is of another stream or episode');
  if (o.kind !== 'open' && o.kind !== 'update' && o.kind !== 'resolve') throw new Error('last event kind must be open, update or resolve');
  const num = (x: unknown, what: string): number => {
    if (x === null) return NaN;
    if (typeof x !== 'number') throw new Error(`last event ${what} must be a number`);
    return x;
  };
  if (typeof o.startTs !== 'number' || typeof o.endTs !== 'number') throw new Error('last event times must be numbers');
  if (!Array.isArray(o.channels) || !o.channels.every((c) => typeof c === 'string')) throw new Error('last event channels must be names');
  if (!Array.isArray(o.channelErrors)) throw new Error('last event channelErrors must be numbers');
  let evidence: Record<string, number> | undefined;
  if (o.evidence !== undefined && o.evidence !== null) {
    if (typeof o.evidence !== 'object') throw new Error('last event evidence must be an object');
    evidence = Object.fromEntries(Object.entries(o.evidence as Record<string, unknown>).map(([k, x]) => [k, num(x, `evidence ${k}`)]));
  }
  return {
    ...(o as unknown as AnomalyEvent),
    peakScore: num(o.peakScore, 'peakScore'),
    score: num(o.score, 'score'),
    threshold: num(o.threshold, 'threshold'),
    paddedFraction: num(o.paddedFraction ?? 0, 'paddedFraction'),
    windows: num(o.windows, 'windows'),
    channelErrors: o.channelErrors.map((x, i) => num(x, `channelErrors ${i}`)),
    ...(evidence !== undefined ? { evidence } : {}),
  };
}

/** A stored episode's fields checked (not its readings nor its event: readPoints, readStoredEvent); throws on a malformed one. */
function readStoredEpisode(v: unknown): StoredEpisode {
  if (typeof v !== 'object' || v === null) throw new Error('not an object');
  const o = v as Record<string, unknown>;
  if (o.v !== 1 && o.v !== 2) throw new Error(`version ${String(o.v)} unknown`);
  if (o.v === 2 && typeof o.base !== 'string') throw new Error('base must be a version');
  if (typeof o.anomalyId !== 'string') throw new Error('anomalyId must be a string');
  if (!Array.isArray(o.channels) || o.channels.length === 0 || !o.channels.every((c) => typeof c === 'string')) throw new Error('channels must be names');
  if (o.toldAtPeak !== null && typeof o.toldAtPeak !== 'string') throw new Error('toldAtPeak must be a string or null');
  if (o.explanation !== null && (typeof o.explanation !== 'object' || typeof (o.explanation as { sentence?: unknown }).sentence !== 'string')) throw new Error('explanation must be one or null');
  if (o.toldFrom !== undefined && (typeof o.toldFrom !== 'number' || !(o.toldFrom >= 0))) throw new Error('toldFrom must be a number of readings');
  if (o.beganBy !== undefined && (typeof o.beganBy !== 'number' || !Number.isFinite(o.beganBy))) throw new Error('beganBy must be a finite number');
  if (o.peakFrom !== undefined && (typeof o.peakFrom !== 'number' || !Number.isFinite(o.peakFrom))) throw new Error('peakFrom must be a finite number');
  if (o.peakRead !== undefined) {
    const r = typeof o.peakRead === 'object' && o.peakRead !== null ? (o.peakRead as Record<string, unknown>) : null;
    if (r === null || typeof r.center !== 'number' || typeof r.value !== 'number' || !Number.isFinite(r.center) || !Number.isFinite(r.value)) throw new Error('peakRead must be a center and a value');
  }
  if (o.resumedAfter !== undefined && (!Array.isArray(o.resumedAfter) || !o.resumedAfter.every((t) => typeof t === 'number' && Number.isFinite(t)))) throw new Error('resumedAfter must be finite numbers');
  return o as unknown as StoredEpisode;
}

/** Whether two explanations tell an operator the same: the same kind and the same sentence (both none counts). */
/** An update tells the same fault only longer until it has lasted this many times as long as at the alert before. */
export const LONGER_FACTOR = 10;

/**
 * Whether `now` tells the same fault as `sent` (an episode's last published alert), only longer, by less than
 * LONGER_FACTOR: the same kind, one that has a length (`duration_ms`: a stuck value, missing data), of the same
 * stream, channel and value, since the same time, and a `duration_ms` under LONGER_FACTOR times the one sent. Such an
 * update would tell the operator nothing but the length, which the episode's record follows anyway (retellStuck,
 * retellSilence); without this a stuck value, whose surprise grows with its run, sent an update each time its length
 * doubled (the detector's rule: a tenfold rarer peak, at most once per doubling). With it a value stuck at 1 Hz is
 * told at its open (`unchanged for 6 s`), then when it has gone on tenfold (`unchanged for 69 s`, `… 11 min`, …).
 * False when `sent` is unknown (undefined: an episode first seen after its open) or null, or either tells no kind.
 */
export function onlyLonger(sent: AlertExplanation | null | undefined, now: AlertExplanation | null): boolean {
  if (sent === undefined || sent === null || now === null || now.kind === null || now.kind !== sent.kind) return false;
  if (now.duration_ms === undefined || sent.duration_ms === undefined) return false;
  if (now.stream !== sent.stream || now.channel !== sent.channel || now.value !== sent.value || now.since !== sent.since) return false;
  return now.duration_ms < LONGER_FACTOR * sent.duration_ms;
}

/**
 * The evidence a far reading's own stretch (OpenEpisode.peakFrom) is told with: the detector's evidence at the
 * episode's peak is that of whatever carried its peak (a stuck value's repeats, a noise burst's spread), not
 * necessarily this reading's, whose surprise may be past the score's ceiling as that peak was. What the readings
 * show instead: a value beyond every normal reading before the episode (on the channel told) is `rarity` (values
 * rarely seen: the sentence says where the normal readings lay), as strong as the episode's strongest evidence;
 * else none (the sentence names no evidence, only a kind its readings tell).
 */
function peakEvidence(episode: OpenEpisode, ev: AnomalyEvent, channels: readonly string[]): Record<string, number> | null {
  const read = episode.peakRead;
  if (read === undefined) return null;
  const c = channelIndex(channels, episode.explanation?.channel ?? channels[0] ?? 'value');
  if (c < 0) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < episode.before.length; i++) {
    const v = episode.before.valueAt(i, c);
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(lo <= hi) || (read.value >= lo && read.value <= hi)) return null;
  let strongest = surpriseOf(ev.peakScore);
  for (const v of Object.values(ev.evidence ?? {})) if (Number.isFinite(v) && v > strongest) strongest = v;
  return { rarity: Number.isFinite(strongest) ? strongest : surpriseOf(ev.threshold) };
}

/** The index of channel `name` among `channels`; a stream of one channel's whatever its name; -1 when not there. */
function channelIndex(channels: readonly string[], name: string): number {
  const i = channels.indexOf(name);
  return i >= 0 || channels.length !== 1 ? i : 0;
}

/**
 * What an episode told before a silence was told in it (AlertExplanation.before_silence), from its explanation as it
 * stands when the silence is told (`told`): that explanation itself when it is of another kind than missing data (the
 * fault the silence took over, a kind told or not), the one it carries when it is a silence's already (told again as
 * it grows, after a restart from its checkpoint or its record), else null (a silence that opened its own episode).
 */
export function beforeSilence(told: AlertExplanation | null): BeforeSilence | null {
  if (told === null) return null;
  if (told.kind === 'missing_data') return told.before_silence ?? null;
  return { kind: told.kind, sentence: told.sentence, since: told.since };
}

/**
 * A silence's explanation (`silence`, missing data) told in an episode that told `before` first: its figures the
 * silence's, `before_silence` set, and its sentence `<before's sentence>, then no reading for … (missing data)`, so
 * the fault that opened the episode stays in what the list, the API, the dashboard and the alerts show (tryout 23,
 * finding F1: `living_temp no reading for 45 s …` alone, the +6 °C jump that opened it gone). `silence` as it is when
 * `before` is null. Pure.
 */
export function toldAfter(silence: AlertExplanation, before: BeforeSilence | null): AlertExplanation {
  if (before === null) return silence;
  const at = silence.sentence.indexOf(' no reading for ');
  const rest = at >= 0 ? silence.sentence.slice(at + 1) : silence.sentence;
  return { ...silence, sentence: `${before.sentence}, then ${rest}`, before_silence: before };
}

function sameTold(a: AlertExplanation | null, b: AlertExplanation | null): boolean {
  if (a === null || b === null) return a === b;
  return a.kind === b.kind && a.sentence === b.sentence;
}

/**
 * An episode's peak as its events carry it: its peak score and the surprise of each kind of evidence at it
 * (AnomalyEvent.evidence, which the detector takes anew only when the peak moves). Two events with the same
 * key have the same peak.
 */
function peakOf(ev: AnomalyEvent): string {
  return `${ev.peakScore}|${JSON.stringify(ev.evidence ?? null)}`;
}

/**
 * One log line per alert, for people: the event, the sentence, what opened it (alertFigures: the score or
 * the deviation against the threshold), the score and the anomaly id.
 */
export function logAlert(log: Logger, ev: AnomalyEvent, explanation: AlertExplanation | null): void {
  const seen = strongest(ev.evidence ?? null);
  // Without a sentence the kind is null: the words are what the detector saw (toldAs), never a kind's.
  const words = toldAs(null, seen);
  const what = explanation?.sentence ?? `${ev.sensor}: unusual readings${words !== null ? ` (${words})` : ''}`;
  log.info(
    {
      alert: ev.kind,
      anomalyId: ev.anomalyId,
      sensor: ev.sensor,
      score: ev.score,
      surprise: Math.round(surpriseOf(ev.score) * 100) / 100,
      kind: explanation?.kind ?? null,
      ...(ev.resolution !== undefined ? { resolution: ev.resolution } : {}),
    },
    `alert ${ev.kind}: ${what} (${alertFigures({ ...ev, explained: explanation?.kind ?? null })}${resolutionWords(ev.resolution)}, id ${ev.anomalyId})`,
  );
}

