/**
 * Why an anomaly is one, in the sensor's own units: given the readings of the anomalous stretch and of
 * the normal stretch before it, and, when the model gives one, what it expected for each reading with its
 * spread, tell the kind of fault when it can be told and write one sentence for people:
 *
 *   pump/pressure 4.1 bar, expected 2.3 ± 0.2 since 10:42 (level shift)
 *
 * Pure: no clock, no I/O; the caller passes the time zone the sentence's clock times are written in.
 *
 * The yardstick. With the model's expectation (`expected`, `spread` per reading) a reading's deviation is
 * (value - expected) / spread. Without it, the baseline is the level just before the episode: the median
 * of the last BASELINE_READINGS normal readings, ± their robust spread (1.4826 · MAD, never below the
 * reading-to-reading noise of the whole normal stretch, nor below half the sensor's resolution). The
 * band printed and plotted is ± BAND_SIGMAS spreads.
 *
 * What is expected of a lasting kind (stuck, noise_change, level_shift, drift) is always that baseline, the
 * level before the episode (levelBefore), with or without a model: a model fed the faulty readings follows
 * them, so its expectation during a lasting fault is no longer what normal operation would give (a +1.0
 * shift was told as 0.5). A spike, or a kind not told, is told against the model's expectation for its
 * strongest reading (made before that reading was seen).
 *
 * A level drifting away from everything the stream had shown (the detector's level excursion, src/pipeline/excursion.ts:
 * `excursion`, when it opened or held the episode) is told a `drift` from the excursion's own evidence, after a state
 * held, missing data and a stuck value and before every other kind (excursionDrift): the readings just before such an
 * episode had drifted already, so against them its onset is not seen (a +12 °C drift over three hours was told a
 * `spike` of its latest half degree). The sentence says since when and how far beyond anything seen:
 *
 *   house/temp 22.41 °C, drifting up since 00:42, +1.30 °C above anything seen (drift, +4 °C/h)
 *
 * The kinds, tried in this order (the first that fits wins):
 *   missing_data  no reading in the stretch, or a silence longer than 3 intervals (and 1.5 x the longest
 *                 normal gap) that makes up at least half of the stretch (a gap before one of its readings only
 *                 when the detector's strongest evidence, `seen`, is `stuck` or unknown: a silence judged);
 *   stuck         the same value repeated at least 5 times, and more than twice as long as any run of
 *                 equal values in the normal stretch, still going or at least half the stretch; what was
 *                 expected is the level before it froze, the same at every event of the episode (the caller
 *                 leaves the stream's earlier anomalies out of the normal stretch: SignalBook's onsets); and
 *                 where a noise change would be told, readings that did not change at all (noiseStretch's
 *                 `still`: a spread of zero) are a stuck value too (stillStuck), never `varies ± 0`; and (after
 *                 that rule, before all others) a value pinned far off the normal: at least PINNED_READINGS readings
 *                 in a row equal (or within one step of the stream's resolution: a flicker, told as its range), beyond OUTLIER_Z spreads of the level before and outside the normal readings'
 *                 range, holding most of the stretch's readings off (pinnedRun: −127.00, 85.0, 0, 65535);
 *   drift         (first rule, steadyDrift) readings that trend steadily away from the level before: at least
 *                 DRIFT_READINGS of them, Kendall's tau ≥ 0.6 and each half ≥ 0.3 the same way, changed by more
 *                 than OUTLIER_Z spreads and more than their start's offset, a trend the readings before did not
 *                 have at half the rate; whatever single readings of it look like (tryout 20, finding 3: a
 *                 humidity drift told a noise change while open), so tried before spike, noise change and shift;
 *                 its readings are those after the last reading off the other way (driftStart: a jump that came
 *                 back is no part of a drift, and a slope across it is the jump's: tryout 23, finding F2);
 *   spike         every reading beyond OUTLIER_Z spreads lies within 3 consecutive readings, and a reading
 *                 after them is back within range (of the model's expectation and of the level before, or
 *                 for a cyclic stream of its own cycle; until one is, a jump may as well be a level shift:
 *                 the kind is not told yet, and a later event of the episode tells it; either way the
 *                 strongest of those readings stands for the stretch, not the latest); or, with the model's
 *                 expectation as the yardstick, the peak among the first 3 readings off, a reading within 3
 *                 of the first less than half as far off the level before as the peak, and every reading
 *                 after it too (backAtBaseline: a stream that moves on its own leaves the flat level before
 *                 within readings); or, tried before noise_change, 2 to 3 readings far off on their own, the
 *                 rest of the stretch as ever (isolatedReadings: tryout 20, finding 14);
 *   noise_change  the detector's evidence at the episode's peak names a noise change (`evidenceKind`: its
 *                 strongest, `seen`, is the noise level, `spread`, or that reached the threshold on its own)
 *                 and the readings confirm it (noiseStretch: over some NOISE_READINGS readings in a
 *                 row the reading-to-reading noise was at least NOISE_CONFIRM times what it usually is, either
 *                 way); this is tried before spike, so the kind stays the one the evidence that carried the
 *                 episode names, and a reading of the burst that looks like a jump does not re-tell it; or,
 *                 whatever the evidence, the reading-to-reading noise changed by more than 2.5x either way
 *                 (grew more than 2.5x over half the resolution, for a flat stream that shows no noise of its
 *                 own: tryout 30, finding 4) while the level stayed within 2 spreads (noiseChange: the noise of the readings from the
 *                 first to the last off, not of the quiet ones the episode holds after a burst), and the noise told
 *                 (noiseStretch) is NOISE_CONFIRM times the usual either way too (tryout 28, finding 7); or,
 *                 tried after the first rule and before the spike's outlier rules, from a burst's first readings:
 *                 BURST_READINGS or more readings beyond OUTLIER_Z of the level before, on both sides of it, the
 *                 level held (by the stretch's own spread when wider: levelHeld), and noiseStretch's noise NOISE_CONFIRM times the usual (burstOpening: no spike, shift
 *                 or drift is off both ways; a burst at 60 s was told `spike` for a quarter of an hour);
 *   level_shift   the readings beyond OUTLIER_Z began with a jump (larger than 4 x the normal
 *                 reading-to-reading noise and half the deviation) and stayed off (heldOff: the readings after
 *                 the jump at least half as far off as it, on its side, beyond OUTLIER_Z, against the level
 *                 before or the yardstick; not a spike's aftermath that the model's expectation, pulled by the
 *                 spike, calls off), its level (the value told) outside the band of the level before
 *                 (toldOff); or, with a model that followed the jump, more than 3 readings held
 *                 off the level before, those after the first at least half as far as it (shiftFromBaseline;
 *                 for a cyclic stream off its own cycle, cycleOf), also with `seen` rarity for a one-level
 *                 stream (shiftTellable);
 *   drift         (second rule) no jump, but a steady trend (Kendall's tau ≥ 0.4) that makes up at least half of the
 *                 deviation, its latest reading (the value told) outside the band of the level before, on
 *                 the trend's side (toldOff); measured on the readings after the last one off the other way
 *                 (driftStart), and after such a jump back only a trend the readings before did not have at
 *                 half the rate (trendedBefore: a slow cycle the readings came back on is no drift);
 *   null          otherwise (or with nothing to compare against): the sentence then names what the detector
 *                 saw most strongly (`seen`, its kind of evidence, in EVIDENCE_LABELS' words: "sudden change",
 *                 "unusual noise level", ..., never a kind's: toldAs), so every alert says what was seen; with no
 *                 `seen` it names nothing. When `seen` is `rarity`, the sentence says where the normal readings
 *                 lay around the value (whereNormalLay) instead of the expectation, which for a level in the
 *                 gap between a duty cycle's modes is a blend of them ("2, expected 3 ± 3").
 */
import type { AnomalyKind } from '../contract/alerts.js';
import { formatDuration } from '../util/duration.js';
import { formatReading } from '../util/reading.js';
import { decimalPlaces, diffs, longestRun, lowMedian, madSmallSample, median, quantum, resolution, robustSigma, thinIndices, trend } from './robust.js';

export type { AnomalyKind };

export const ANOMALY_KINDS: readonly AnomalyKind[] = ['spike', 'level_shift', 'drift', 'stuck', 'noise_change', 'missing_data', 'counter_reset', 'counting_fast', 'continuous_flow', 'device_offline', 'alarm', 'relation'];

/**
 * The words the sentence uses for each kind: the one word list of the explanations. Every event of an episode
 * (open, update, resolve) and every kind of evidence that names a kind (EVIDENCE_LABELS) use these words.
 */
export const KIND_LABELS: Readonly<Record<AnomalyKind, string>> = {
  spike: 'spike',
  level_shift: 'level shift',
  drift: 'drift',
  stuck: 'stuck value',
  noise_change: 'noise change',
  missing_data: 'missing data',
  counter_reset: 'counter reset',
  counting_fast: 'counting fast',
  continuous_flow: 'continuous flow',
  device_offline: 'device offline',
  alarm: 'alarm',
  relation: 'relation',
};

/**
 * The kinds of evidence (src/pipeline/scorer.ts EVIDENCE) that name a kind of fault: a noise level rare for
 * the stream is a noise change, a run of one value rare for it a stuck value. The others (a sudden change, an
 * unusual level, ...) may be a spike, a level shift or a drift: what the readings say decides.
 */
export const EVIDENCE_KINDS: Readonly<Record<string, AnomalyKind>> = { spread: 'noise_change', stuck: 'stuck' };

/**
 * The words for the detector's kinds of evidence (src/pipeline/scorer.ts EVIDENCE, AnomalyEvent.evidence),
 * for a sentence whose kind cannot be told: what the detector saw most strongly. None of them is a kind's words
 * (KIND_LABELS), not even for evidence that names a kind (EVIDENCE_KINDS): such a sentence's kind is null (KIND
 * `-` in `anomalyd anomalies list`), and `(noise change)` beside it told a kind the readings did not show
 * (tryout 12: `21.0, expected 21.5 ± 0.5 … (noise change)`, its value inside the band, kind null). The words of
 * a sentence, its kind and the daemon's log line come from one place, `toldAs`.
 */
export const EVIDENCE_LABELS: Readonly<Record<string, string>> = {
  prediction: 'off the model’s prediction',
  // The short mean of the model's signed errors: a lasting offset, but also one reading far enough off (a spike at
  // its open), so no claim of how long (tryout 14 #9: a one-reading spike's open read "for a while").
  bias: 'recent readings off the model’s expectation on average',
  reconstruction: 'a pattern unlike normal',
  level: 'unusual level',
  change: 'sudden change',
  shift: 'lasting shift',
  spread: 'unusual noise level',
  stuck: 'unusual repeats of one value',
  rarity: 'values rarely seen',
  cycle: 'off the usual cycle',
};

/**
 * The words in a sentence's closing parentheses, and in the daemon's log line of an alert without a sentence:
 * the kind's (KIND_LABELS) when the kind is told, else what the detector saw most strongly (`seen`, a key of
 * EVIDENCE_LABELS; words that name no kind), else null (nothing named). The one source of those words, so a
 * sentence never names a kind its record does not carry.
 */
export function toldAs(kind: AnomalyKind | null, seen: string | null | undefined): string | null {
  if (kind !== null) return KIND_LABELS[kind];
  return seen != null ? (EVIDENCE_LABELS[seen] ?? null) : null;
}

/**
 * A cumulative counter's step back (src/pipeline/counter.ts: the scorer's one-reading episode, AnomalyEvent.counterReset),
 * told as the kind `counter_reset`: `plug/aenergy.total went back from 17.703 to 17.600 kWh at 10:42 (counter reset);
 * counted on from there`. Not a level shift: the meter was reset or rolled back (a power cut before it saved its
 * total, a reset command, a replaced meter), and the detector reads its rate on from the new value. `value` the new
 * total, `expected` the one before; no band. Both printed as the sensor sent them (every decimal of either, and at
 * least `decimals`, the most the stream's readings were sent with: a meter sent with 3 decimals reads `502.580 … 0.000
 * kWh`, not `502.58 … 0.00`, tryout 29, finding 3). Pure.
 */
export function explainCounterReset(p: { readonly stream: string; readonly unit?: string | null; readonly from: number; readonly to: number; readonly ts: number; readonly endTs: number; readonly toldAt?: number; readonly timeZone?: string; readonly decimals?: number }): Explanation {
  const unit = p.unit ?? null;
  const u = unit !== null && unit !== '' ? ` ${unit}` : '';
  const d = Math.min(6, Math.max(decimalsOf(p.from), decimalsOf(p.to), p.decimals !== undefined && Number.isInteger(p.decimals) ? p.decimals : 0));
  const sentence = `${p.stream} went back from ${formatReading(p.from, d)} to ${formatReading(p.to, d)}${u} at ${clockTime(p.ts, p.toldAt ?? p.endTs, p.timeZone)} (${KIND_LABELS.counter_reset}); counted on from there`;
  return { kind: 'counter_reset', sentence, unit, value: p.to, expected: p.from, band: null, basis: null, since: p.ts };
}

/**
 * A cumulative counter counting far faster than it ever had (src/pipeline/scorer.ts judgeCounter: its rate at least
 * twice the largest it had shown; AnomalyEvent.counterRate), told from the event alone, per hour: `iron/ENERGY.Total
 * 11.746 kWh, counting 3.0 kWh/h since 16:00, at most 1.3 kWh/h before (counting fast)`. Its total, judged as a
 * level, says nothing (a counter's total rises above anything seen whenever it counts), so the sentence tells the rate.
 * `value` the latest total as sent; `expected` and `band` none; `perHour` and `usualPerHour` in sensor units per hour
 * (a kWh meter's kW), printed with 2 significant digits (at least 1 decimal). Kind `counting_fast`: no kind of the
 * level's fits, and a kind stored with every told episode lets the list's KIND and the dashboard say what its sentence
 * says (tryout 38, finding 5: KIND `-` and "kind not told yet" beside a banner saying counting fast). Pure.
 */
export function explainCounterRate(p: { readonly stream: string; readonly unit?: string | null; readonly value: number | null; readonly perHour: number; readonly usualPerHour: number; readonly since: number; readonly endTs: number; readonly toldAt?: number; readonly timeZone?: string; readonly decimals?: number }): Explanation {
  const unit = p.unit ?? null;
  const u = unit !== null && unit !== '' ? ` ${unit}` : '';
  const rate = (x: number): string => {
    const d = Math.max(1, Math.min(6, 1 - Math.floor(Math.log10(Math.abs(x) || 1))));
    return formatReading(Number(x.toPrecision(2)), d);
  };
  const value = p.value === null ? '' : ` ${formatReading(p.value, Math.min(6, Math.max(decimalsOf(p.value), p.decimals !== undefined && Number.isInteger(p.decimals) ? p.decimals : 0)))}${u},`;
  const sentence = `${p.stream}${value} counting ${rate(p.perHour)}${u}/h since ${clockTime(p.since, p.toldAt ?? p.endTs, p.timeZone)}, at most ${rate(p.usualPerHour)}${u}/h before (${KIND_LABELS.counting_fast})`;
  return { kind: 'counting_fast', sentence, unit, value: p.value, expected: null, band: null, basis: null, since: p.since };
}

/**
 * A cumulative counter whose increments come in runs with rests between, counting without a rest far longer than every
 * busy run it ended (src/pipeline/counter.ts CounterStep.busy; AnomalyEvent.counterBusy: a leak all night), told from
 * the event alone: `water_meter_total 126206 L, up 210 L in 3 h without a rest since 23:00, never longer than 59 min
 * before (continuous flow)`. `value` the latest total as sent (null: not known, left out); `rise` what the run counted
 * since its first increment (sensor units), written with the decimals the meter sends (`decimals`) or its own; `ms`
 * the run's length at its latest reading judged so, `longestMs` the longest run before it; `since` the run's first
 * increment. Kind `continuous_flow`: no expectation, no band. Pure.
 */
export function explainCounterBusy(p: { readonly stream: string; readonly unit?: string | null; readonly value: number | null; readonly rise: number; readonly ms: number; readonly longestMs: number; readonly since: number; readonly endTs: number; readonly toldAt?: number; readonly timeZone?: string; readonly decimals?: number }): Explanation {
  const unit = p.unit ?? null;
  const u = unit !== null && unit !== '' ? ` ${unit}` : '';
  const sent = p.decimals !== undefined && Number.isInteger(p.decimals) ? p.decimals : 0;
  const value = p.value === null ? '' : ` ${formatReading(p.value, Math.min(6, Math.max(decimalsOf(p.value), sent)))}${u},`;
  const rise = formatReading(p.rise, Math.min(6, Math.max(decimalsOf(p.rise), sent)));
  const sentence = `${p.stream}${value} up ${rise}${u} in ${formatDuration(p.ms)} without a rest since ${clockTime(p.since, p.toldAt ?? p.endTs, p.timeZone)}, never longer than ${formatDuration(p.longestMs)} before (${KIND_LABELS.continuous_flow})`;
  return { kind: 'continuous_flow', sentence, unit, value: p.value, expected: null, band: null, basis: null, since: p.since };
}

/**
 * A cumulative counter's episode told with how its hold ended (AnomalyEvent.catchUp: its first move after a hold that
 * `stuck` called rare, a meter that stopped counting and then counted its backlog at once): `e`'s sentence, then
 * `, then resumed with a catch-up of 7.94 kWh` (tryout 38, finding 6: the catch-up was never mentioned). Expected of a
 * meter that buffered its count, and no fault of its own: the rest of `e` (its kind, value, expectation, since) is as
 * told. `amount` in sensor units (> 0), written with `decimals` (the most the stream's readings were sent with) when
 * given, else its own decimal places (at most 6): a difference of two totals carries the rounding of a binary double.
 * Pure.
 */
export function withCatchUp<E extends Explanation>(e: E, p: { readonly amount: number; readonly unit?: string | null; readonly decimals?: number }): E {
  const unit = p.unit ?? null;
  const u = unit !== null && unit !== '' ? ` ${unit}` : '';
  const d = p.decimals !== undefined && Number.isInteger(p.decimals) && p.decimals >= 0 ? Math.min(6, p.decimals) : decimalsOf(p.amount);
  return { ...e, sentence: `${e.sentence}, then resumed with a catch-up of ${formatReading(p.amount, d)}${u}` };
}

/**
 * An alarm field's active state (an on/off stream whose on state is an alarm: a leak, smoke, gas; the scorer's episode
 * opened at its first reading in it, AnomalyEvent.alarm), told as the kind `alarm` in the state's words:
 * `bath_leak/water_leak leak since 08:40 (alarm)` while it holds, `bath_leak/water_leak leak for 21 min since 08:40
 * (alarm)` at its resolve (`endTs`: the reading that said it ended). `value` the reading (1 or 0); no expectation, no
 * band. `state`: the state's name (OnOffWords: `leak`), null: the reading as a number. Pure.
 */
export function explainAlarm(p: { readonly stream: string; readonly state: string | null; readonly level: number; readonly since: number; readonly endTs: number; readonly toldAt?: number; readonly resolved: boolean; readonly timeZone?: string }): Explanation {
  const state = p.state ?? formatReading(p.level, decimalsOf(p.level));
  const lasted = p.resolved ? ` for ${formatDuration(Math.max(0, p.endTs - p.since))}` : '';
  const sentence = `${p.stream} ${state}${lasted} since ${clockTime(p.since, p.toldAt ?? p.endTs, p.timeZone)} (${KIND_LABELS.alarm})`;
  return { kind: 'alarm', sentence, unit: null, value: p.level, expected: null, band: null, basis: null, since: p.since, ...(p.resolved ? { durationMs: Math.max(0, p.endTs - p.since) } : {}) };
}

/** The band around the expectation is ± this many spreads (≈ 95 % of normal readings for Gaussian noise). */
export const BAND_SIGMAS = 2;
/** Readings before the episode whose median is the expected level when the model gives none. */
export const BASELINE_READINGS = 8;
/** A reading further than this many spreads from what was expected counts as an outlier. */
export const OUTLIER_Z = 4;
/** The most consecutive readings a spike spans (beyond OUTLIER_Z). */
const SPIKE_READINGS = 3;
/** Readings in a row a noise level is measured over (noiseStretch): 15 changes, a few of them switches. */
export const NOISE_READINGS = 16;
/**
 * With the detector's evidence of a noise change (`seen` = `spread`), the readings confirm it when over
 * NOISE_READINGS in a row their noise was at least this many times its usual level, or at most 1/this.
 */
export const NOISE_CONFIRM = 2;

/** Readings of one channel, oldest first. `expected` and `spread` (sensor units) align with `values`; null where the model had none. */
export interface Stretch {
  /** Epoch ms, ascending. */
  readonly ts: readonly number[];
  /** Sensor units. */
  readonly values: readonly number[];
  readonly expected?: readonly (number | null)[] | null;
  /** One standard deviation of normal readings around `expected`, sensor units. */
  readonly spread?: readonly (number | null)[] | null;
}

export interface ExplainInput {
  /** Stream id, as the sentence names it. */
  readonly stream: string;
  /**
   * The most decimals the channel's readings were ever sent with (SeriesStore.sentDecimals), the floor of the
   * precision its readings are written in (readingPrecision's `sentBefore`); absent: only `before` and `during` say.
   */
  readonly sentDecimals?: number;
  /**
   * The sensor's unit (°C, bar, …); null or absent when unknown. With `unitChanges`, the unit of the readings after
   * the last of them (the unit the hub states now).
   */
  readonly unit?: string | null;
  /**
   * The changes of the unit the stream's hub stated (Tasmota's `TempUnit`), oldest first: each reading is in the unit
   * in force at its time (unitAt). Readings are never converted, so a stretch across a change mixes units: the
   * value told is in its own reading's unit, the expectation in that of the readings before the episode, and a
   * change among the episode's readings is said (`unit changed °F → °C at 05:31`). Absent or empty: every
   * reading is in `unit`.
   */
  readonly unitChanges?: readonly UnitChange[];
  /** The normal readings just before the episode (the more the better; a few hundred are plenty). */
  readonly before: Stretch;
  /** The readings of the episode so far. */
  readonly during: Stretch;
  /** Episode start, epoch ms. */
  readonly startTs: number;
  /** Time of this judgement (the event), epoch ms: a stretch that ends earlier has gone silent since. */
  readonly endTs: number;
  /** IANA time zone for the clock times in the sentence; default the process's own. */
  readonly timeZone?: string;
  /**
   * When the sentence is told, epoch ms: the reading's arrival when it came late (a device's or gateway's buffer
   * flushed after an outage). A clock time on another day than it carries its date (`since 2026-12-03 03:29`), so a
   * backfilled episode read the next morning names its day; default `endTs` (told as it happens).
   */
  readonly toldAt?: number;
  /**
   * Times of readings (in `during`, or its first) before which the caller left readings out (e.g. the
   * middle of a long episode): the gap before them is an omission, not a silence of the sensor.
   */
  readonly omittedBefore?: readonly number[];
  /**
   * The kind of evidence the detector saw most strongly in this episode (a key of EVIDENCE_LABELS, e.g.
   * `stuck`, `spread`); the sentence names it when the kind cannot be told. Null or absent: nothing named.
   */
  readonly seen?: string | null;
  /**
   * The kind of fault the detector's evidence at the episode's peak names (EVIDENCE_KINDS; episode.ts
   * namedKind: its strongest evidence's, or that of evidence which reached the threshold on its own), null
   * for none. Absent: the kind `seen` names, if any.
   */
  readonly evidenceKind?: AnomalyKind | null;
  /**
   * Epoch ms: the unusual readings began no later than this, though `during` starts later (an episode that
   * went on through a restart: the readings before it are gone, its recorded explanation said when it
   * began). A later `since` is moved back to it (a stuck value's duration counted from it); absent: none.
   */
  readonly beganBy?: number;
  /**
   * The event is the episode's resolve: `endTs` is its end (the first reading back), and a length the sentence tells
   * (a held state's, a stuck value that lasted to the end) is counted to it, not to the readings after it that `during`
   * may hold (the one that resolved it), as the record's LASTED is (src/contract/lasted.ts; tryout 28, finding 12).
   * Absent: false (a length so far, to the latest reading).
   */
  readonly ended?: boolean;
  /**
   * The stretch begins where the caller says, not earlier: no reading at the end of `before` is moved into it as an
   * onset the detector flagged late (withOnset). For a stretch that is a later part of an episode told on its own
   * (the reading far beyond what the episode had told, and those after it: SignalBook's peak stretch), whose
   * `before` is the normal readings before the episode, not the readings just before the stretch. Absent: false.
   */
  readonly onsetKnown?: boolean;
  /**
   * The detector's dwell model (src/pipeline/dwell.ts, AnomalyEvent.held): the stream has held its present state (a
   * duty cycle's on level) since `since` (epoch ms), far longer than the longest it held it before, `longestMs` (ms).
   * Told as a stuck value held that long, whatever its readings' noise. `level`: the state held (sensor units: an on/off
   * stream's 1 or 0), absent: the median of its readings. Absent: none.
   */
  readonly held?: { readonly since: number; readonly longestMs: number; readonly level?: number };
  /**
   * The stream is on/off (1 and 0, src/pipeline/scorer.ts StepItem.onOff), its states named `on` (its reading 1) and
   * `off` (0): a zigbee2mqtt door's `closed` / `open`. The sentence tells a reading by its state's name, never as a
   * number (`last closed`, `open for 1 h since 05:12, never longer than 40 s before`). Absent: numbers.
   */
  readonly states?: { readonly on: string; readonly off: string };
  /**
   * The detector's level excursion (src/pipeline/excursion.ts, AnomalyEvent.excursion) opened or held the episode: the
   * stream's level went `up` (or down) beyond the envelope `lo` … `hi` of everything it had shown (its short means'
   * levels in normal operation, sensor units) and went on leaving it, since `since` (epoch ms). Told as a drift since
   * then, by how far beyond anything seen (excursionDrift). With `cycle`, the detector's drift of the level off the
   * stream's long cycle (src/pipeline/drift.ts) instead: its reading furthest off the cycle's profile the drift's way
   * (`value` at `at`, epoch ms) and what the profile expected there (`expected`, the stream's normal at that phase;
   * `lo` … `hi` is `expected` ± how far the level moves in a period in normal operation): told as a drift since `since`
   * against that normal, not against the drifted readings before the episode nor the envelope. Absent: none.
   */
  readonly excursion?: {
    readonly since: number;
    readonly up: boolean;
    readonly lo: number;
    readonly hi: number;
    readonly cycle?: { readonly expected: number; readonly value: number; readonly at: number };
  };
}

/**
 * A change of the unit a stream's hub states (MessageParser's onUnitChange): from `ts` (epoch ms, the first reading
 * stated in `to`) its readings are in `to`, before it in `from`. Never a conversion: the values are as sent.
 */
export interface UnitChange {
  readonly ts: number;
  readonly from: string;
  readonly to: string;
}

/**
 * The unit of a reading at `ts` (epoch ms): that of the last change at or before it, else the `from` of the first
 * change after it, else `unit` (no change known). Pure.
 */
export function unitAt(unit: string | null, changes: readonly UnitChange[] | undefined, ts: number): string | null {
  if (changes === undefined || changes.length === 0) return unit;
  let at: string | null = changes[0].from;
  for (const c of changes) {
    if (c.ts > ts) break;
    at = c.to;
  }
  return at;
}

export interface Explanation {
  readonly kind: AnomalyKind | null;
  /** One line for people, e.g. `pump/pressure 4.1 bar, expected 2.3 ± 0.2 since 10:42 (level shift)`. */
  readonly sentence: string;
  /** The unit of `value` (of the reading it stands for: ExplainInput.unitChanges), null when unknown. */
  readonly unit: string | null;
  /**
   * The unit of `expected`, `band` (and `noise`'s usual level): that of the readings before the episode, present
   * only when it is not `unit` (the hub stated another unit in between; the values are never converted).
   */
  readonly expectedUnit?: string | null;
  /** The stated unit changes among the readings the explanation describes (its baseline's last to its end), oldest first; absent when none. */
  readonly unitChanges?: readonly UnitChange[];
  /** The reading that stands for the stretch (sensor units): its level, its strongest reading (a spike, a jump not told yet, a kind not told), the stuck value, the furthest reading of a drift (its peak: the latest while it goes on). */
  readonly value: number | null;
  /** What was expected instead (sensor units), and the half-width of the normal band around it. */
  readonly expected: number | null;
  readonly band: number | null;
  /** Where `expected` came from: the model's expectation, or the readings before the episode. */
  readonly basis: 'model' | 'baseline' | null;
  /** When the unusual part began, epoch ms. */
  readonly since: number;
  /** stuck: how long the value has not changed (or its state held: heldLongestMs); missing_data: how long no reading came (ms). */
  readonly durationMs?: number;
  /**
   * stuck (a value's run, stuckDraft): how many readings of the value it holds so far. The sentence says the run in
   * readings when its duration would read `0 s` (readings within half a second: tryout 31, finding 3).
   */
  readonly heldReadings?: number;
  /** stuck, a state held (ExplainInput.held): the longest the stream held that state before (ms). */
  readonly heldLongestMs?: number;
  /**
   * stuck, a value pinned far off the normal that flickers by one step of the sensor's resolution (pinnedRun: 85.00 /
   * 84.94 of a failing DS18B20): its lowest and highest readings (sensor units), the sentence's `84.94–85.00
   * unchanged for 25 min`; `value` is its first reading. Absent: one value.
   */
  readonly within?: { readonly lo: number; readonly hi: number };
  /** drift: the trend, sensor units per hour. */
  readonly ratePerHour?: number;
  /**
   * drift told from the detector's level excursion (ExplainInput.excursion): how far `value` lies beyond anything the
   * stream had shown (sensor units; above its envelope's top > 0, below its bottom < 0).
   */
  readonly beyondSeen?: number;
  /**
   * noise_change: ± BAND_SIGMAS noise spreads (sensor units) of the readings in a row whose noise was furthest
   * from usual (noiseStretch), to compare with `band` (± BAND_SIGMAS of the usual noise).
   */
  readonly noise?: number;
}

interface Reference {
  readonly basis: 'model' | 'baseline' | null;
  /** Per reading of `during`: what was expected and the spread (NaN without a reference). */
  readonly ref: number[];
  readonly scale: number[];
  /** The baseline's level and spread (NaN without a baseline). */
  readonly level: number;
  readonly sigma: number;
  /** Reading-to-reading noise σ of the normal stretch (diffs / √2), 0 when unknown. */
  readonly noise: number;
  /** A cyclic stream's expectation from its own cycle (cycleOf), or null for a stream with no clear cycle. */
  readonly cycle: Cycle | null;
}

/**
 * A cyclic stream's own expectation: per reading of `during`, the normal reading one or more whole periods
 * before it (the latest such reading before the stretch; NaN where there is none), and the robust spread of
 * (reading − that reading) over the normal stretch (sensor units).
 */
interface Cycle {
  readonly ref: number[];
  readonly sigma: number;
  /** Per reading of `before`: reading − the reading one period before it (NaN for the first period). */
  readonly residualBefore: number[];
  /** The period, readings. */
  readonly period: number;
}

/** Explains one channel's anomalous stretch. Never throws on short or empty input: it says less. */
export function explain(given: ExplainInput): Explanation {
  const input = withOnset(given);
  const { before, during } = input;
  const x = during.values;
  const n = x.length;
  const reference = referenceFor(input);
  const tz = input.timeZone;

  // A state held far longer than the stream's own dwells there (the detector's dwell model): told as held since it
  // began, its level the low median of its readings (one of them: lowMedian), against the longest the stream held it before. Also with no reading
  // in the stretch (an on/off state judged on the daemon's tick: a device that reports on change only sends none while
  // it holds), its level the stream's last reading before: the quiet is the state held, not missing data.
  const held = input.held;
  if (held !== undefined && Number.isFinite(held.since)) {
    // Its readings from its start to the episode's last that held it (not the readings after it: at a resolve, the
    // one that ended it), or the stream's last reading before the stretch when it has none of them.
    const heldValues: number[] = [];
    for (let i = 0; i < n; i++) if (during.ts[i] >= held.since && during.ts[i] <= input.endTs) heldValues.push(x[i]);
    const lastBefore = before.values.length > 0 ? before.values[before.values.length - 1] : Number.NaN;
    const level = held.level !== undefined ? held.level : heldValues.length > 0 ? lowMedian(heldValues) : Number.isFinite(lastBefore) ? lastBefore : n > 0 ? lowMedian([...x]) : Number.NaN;
    if (Number.isFinite(level)) {
      const until = input.ended === true ? input.endTs : Math.max(input.endTs, n > 0 ? during.ts[n - 1] : input.endTs);
      return finish(input, { kind: 'stuck', value: level, expected: null, band: null, basis: null, since: held.since, durationMs: until - held.since, heldLongestMs: held.longestMs }, tz);
    }
  }
  const missing = missingData(input);
  if (missing !== null) {
    const value = missing.lastValue;
    return finish(input, { kind: 'missing_data', value, expected: null, band: null, basis: null, since: missing.since, durationMs: missing.gapMs }, tz);
  }
  if (n === 0) return finish(input, { kind: null, value: null, expected: null, band: null, basis: null, since: input.startTs }, tz);
  const stuck = stuckRun(before.values, x, seesStuck(input), reference) ?? pinnedRun(input, reference);
  if (stuck !== null) return finish(input, stuckDraft(input, reference, stuck), tz);
  // The detector's level excursion held the episode: a drift since its onset, beyond everything the stream had shown.
  const excursion = excursionDrift(input);
  if (excursion !== null) return finish(input, excursion, tz);
  if (reference.basis === null) {
    return finish(input, { kind: null, value: lowMedian([...x]), expected: null, band: null, basis: null, since: during.ts[0] }, tz);
  }

  // Readings that trend steadily away from the level before, both halves of them, are a drift whatever single
  // readings of it look like (tryout 20, finding 3: a +0.05 %/s humidity drift told `lasting shift`, then `noise
  // change` for its whole four minutes, `drift` only at its resolve): tried before the kinds a few of its readings
  // may pass for (a spike, a level shift, a noise change).
  const drifting = steadyDrift(input, reference);
  if (drifting !== null) return finish(input, drifting, tz);

  // A few readings far off on their own, each back at once, the rest as ever: spikes, whatever evidence carried
  // the peak (a 5000 ppm reading three times among a CO2 sensor's 620 ± 14 raised the noise level's evidence too).
  const isolated = isolatedReadings(reference, x);
  if (isolated !== null) {
    return finish(input, { kind: 'spike', value: x[isolated.peak], ...expectedAt(reference, [isolated.peak]), since: during.ts[isolated.first] }, tz);
  }

  // The detector's evidence that carried the episode's peak names a noise change: that is the episode's kind
  // when its readings show it, whatever single readings of it look like (a burst's largest reading is no
  // spike, its readings on one side of the expectation for a while no level shift).
  const named = input.evidenceKind !== undefined ? input.evidenceKind : input.seen != null ? (EVIDENCE_KINDS[input.seen] ?? null) : null;
  if (named === 'noise_change') {
    const nz = noiseStretch(input);
    if (nz !== null && (nz.ratio >= NOISE_CONFIRM || nz.ratio <= 1 / NOISE_CONFIRM)) {
      // Readings that did not change at all are a stuck value, not a noise change of ± 0 (stillStuck).
      if (!nz.still) return finish(input, noiseDraft(input, reference, nz), tz);
      const still = stillStuck(input);
      if (still !== null) return still;
    }
  }

  // Readings off the level before on both sides, several of them, from a burst's first few readings on: no spike (one
  // to three readings off one way, then back) nor a shift (off one way) is that, so a noise burst is told a noise change
  // from them, not a spike until NOISE_READINGS of its readings show the noise (burstOpening).
  const opening = burstOpening(input, reference, x);
  if (opening !== null) return opening;

  const r = x.map((v, i) => v - reference.ref[i]);
  const z = r.map((v, i) => v / reference.scale[i]);
  const outliers: number[] = [];
  z.forEach((v, i) => {
    if (Math.abs(v) > OUTLIER_Z) outliers.push(i);
  });

  // With the model's expectation as the yardstick a spike's aftermath can read as several readings off (the
  // model's state took the spike in, its expectation is pulled for a while: a spike on a ramp read as a level
  // shift of the readings after it): the level just before the stretch tells a spike (backAtBaseline).
  if (outliers.length > 0 && outliers[outliers.length - 1] - outliers[0] > 2) {
    let peak = outliers[0];
    for (const i of outliers) if (Math.abs(x[i] - reference.level) > Math.abs(x[peak] - reference.level)) peak = i;
    if (backAtBaseline(reference, x, outliers[0], peak)) {
      // Back within half the peak is no spike when the readings after it jump about as a noise burst's do (tryout 29,
      // finding 6: a burst on a report-on-change sensor whose first reading was its largest, the rest less than half
      // as far off but 10 of 16 beyond OUTLIER_Z, told a spike, and the kind settled so for its 53 readings).
      const burst = noiseTold(input, reference, x, z, outliers, true);
      if (burst !== null) return burst;
      return finish(input, { kind: 'spike', value: x[peak], ...expectedAt(reference, [peak]), since: during.ts[outliers[0]] }, tz);
    }
  }

  if (outliers.length > 0 && outliers[outliers.length - 1] - outliers[0] <= 2) {
    let peak = outliers[0];
    for (const i of outliers) if (Math.abs(z[i]) > Math.abs(z[peak])) peak = i;
    // Nothing back within range after the jump yet: a spike or the start of a shift, it cannot be told. The
    // strongest reading stands for it, not the latest (a spike's next reading may be almost back to normal).
    // The model's expectation for the readings right after a spike is the model's answer to the spike (its
    // state took it in), so they can look off though they are back where they were: then the level just
    // before the stretch tells whether they are back (backAtBaseline).
    // Back against the model's expectation is not enough where the model's expectation is pulled by the jump:
    // the latest reading must be back against the level before the stretch too, or a level shift's second
    // reading (still off, but near an expectation the step pulled up) was told a spike, and the kind stuck
    // for the whole shift (tryout: 578 readings of a lasting +0.8 shift told "spike").
    const back = outliers[outliers.length - 1] !== n - 1 && !offBaseline(reference, x, n - 1);
    const kind = back || backAtBaseline(reference, x, outliers[0], peak) ? 'spike' : null;
    // One reading far off among readings that jump about more than usual is a noise burst's largest, not a spike
    // (tryout 29, finding 6: a ± 1 °C burst on a 0.5 °C report-on-change sensor told a spike from its 16th reading on,
    // and settled so). A genuine spike's neighbours change as usual: the robust noise of the changes holds.
    const burst = kind === 'spike' ? noiseTold(input, reference, x, z, outliers, true) : null;
    if (burst !== null) return burst;
    // Not back, and more readings than a spike's 3 have held off the level before since (for a cyclic stream,
    // off its own cycle): a level shift the model followed (tryout 10: a cyclic sensor's lasting +4 was told a
    // spike at its first reading, its later readings "back" against a flat level before that a cycle crosses).
    const shift = kind === null && shiftTellable(reference, input) ? shiftFromBaseline(reference, x, input) : null;
    const held = shift !== null && shift.length > SPIKE_READINGS ? shift : null;
    if (held !== null) return finish(input, shiftDraft(reference, x, held, during.ts), tz);
    // Not told, and the model's telling of it inverted against the stream's cycle: told against the cycle (offCycle).
    const cyclic = kind === null && reference.basis === 'model' ? offCycle(input, x, peak, Math.sign(r[peak])) : null;
    if (cyclic !== null) return finish(input, cyclic, tz);
    return finish(input, { kind, value: x[peak], ...expectedAt(reference, [peak]), since: during.ts[outliers[0]] }, tz);
  }

  const noisy = noiseTold(input, reference, x, z, outliers);
  if (noisy !== null) return noisy;

  if (outliers.length >= 3) {
    const first = outliers[0];
    const last = outliers[outliers.length - 1];
    const active = range(first, last);
    if (outliers.length >= 0.5 * active.length) {
      const dev = median(active.map((i) => r[i]));
      const prevResidual = first > 0 ? r[first - 1] : previousResidual(input, reference);
      const step = prevResidual === null ? null : r[first] - prevResidual;
      const jump = Math.max(4 * reference.noise, 0.5 * Math.abs(dev));
      const since = during.ts[first];
      // A lasting kind: the readings after the onset must have held off on its side, about as far (heldOff), by
      // the level before (what it is told against: levelBefore) or the model's expectation. After a spike the
      // model's answer to it (its state took the spike in) leaves the readings after it "off" for a while, on the
      // other side, though they are back where they were (tryout 10, finding 5: a demo spike's aftermath retold
      // as a level shift of normal readings).
      // And what is told must be off what it is told against: its level outside the band of the level before
      // (toldOff; the demo: a motor stuck off while the model expected it to switch on was told `motor_current
      // 0.04, expected 0.04 ± 0.08 (level shift)`).
      const held = heldOff(reference, x, z, first, last);
      const shifted: Draft = { kind: 'level_shift', value: lowMedian(active.map((i) => x[i])), ...levelBefore(reference, active), since };
      if (held && toldOff(shifted, 0) && step !== null && Math.abs(step) > jump && Math.sign(step) === Math.sign(dev)) {
        return finish(input, shifted, tz);
      }
      // A drift is measured on the readings after the last one off the other way (driftStart: a jump that came
      // back is no part of it), and, after such a jump, must be new: not the trend the readings before had
      // (trendedBefore), such as a slow cycle the readings came back on.
      const from = Math.max(first, driftStart(outliers, (i) => r[i], Math.sign(dev), last));
      const trended = range(from, last);
      const t = trend(
        trended.map((i) => during.ts[i]),
        trended.map((i) => r[i]),
      );
      const change = t.slope * (during.ts[last] - during.ts[from]);
      const drift: Draft = { kind: 'drift', value: x[furthest(x, trended, Math.sign(dev))], ...levelBefore(reference, trended), since: during.ts[from], ratePerHour: t.slope * 3_600_000 };
      const jumpedBack = from > first;
      if (
        (!jumpedBack || (trended.length >= DRIFT_READINGS && !trendedBefore(input.before, trended.length, t.slope))) &&
        Math.abs(t.tau) >= 0.4 &&
        Math.abs(change) >= 0.5 * Math.abs(dev) &&
        Math.sign(change) === Math.sign(dev) &&
        toldOff(drift, Math.sign(change))
      ) {
        return finish(input, drift, tz);
      }
      if (held && toldOff(shifted, 0) && Math.abs(median(active.map((i) => z[i]))) > OUTLIER_Z) return finish(input, shifted, tz);
    }
  }
  // A model that follows a lasting step expects its readings a few readings after it (its state took the new
  // level in), so against the model only the step's first readings are off: the level before the stretch
  // tells the shift (a tryout's +0.8 shift of a 0.1-noise signal stayed "(unusual level)", untold, for good).
  // (Not when the detector's evidence was rarity and the readings before had more than one level: shiftTellable.)
  const shift = shiftTellable(reference, input) ? shiftFromBaseline(reference, x, input) : null;
  if (shift !== null) return finish(input, shiftDraft(reference, x, shift, during.ts), tz);
  // Nothing we can name: the reading furthest from what was expected stands for the stretch.
  let worst = 0;
  for (let i = 1; i < n; i++) if (Math.abs(z[i]) > Math.abs(z[worst])) worst = i;
  // A stream with a cycle of its own, with the model's expectation as the yardstick: a model fed the episode's readings
  // follows them, so against it a lasting fault's readings are no longer off, and a reading of the fault at another
  // phase (a duty cycle's switch within an over-pressure) reads as off the other way (tryout 26, finding 2: `1.981 bar,
  // expected 4.483` for a pump 1.5 bar over its cycle). Where the model's telling of that reading is off its band the
  // other way than the reading is off its cycle, the stretch is told against the cycle from before it (offCycle).
  if (reference.basis === 'model' && Math.abs(z[worst]) > BAND_SIGMAS) {
    const cyclic = offCycle(input, x, worst, Math.sign(r[worst]));
    if (cyclic !== null) return finish(input, cyclic, tz);
  }
  const since = outliers.length > 0 ? during.ts[outliers[0]] : during.ts[0];
  return finish(input, { kind: null, value: x[worst], ...expectedAt(reference, [worst]), since }, tz);
}

/**
 * A stretch told against the stream's own cycle from before it (cycleOf, with the spread insteadOfBand takes: a duty
 * cycle's readings spread between its modes), when the model's telling of its reading `told` (off the model's band on
 * `side`, −1 or 1) inverts it: that reading is off its cycle beyond the band (± BAND_SIGMAS of the cycle's spread), on
 * the other side. Null when it does not, when the stream has no cycle at every reading of the stretch, or no reading
 * is beyond OUTLIER_Z of the cycle's spread off it. The reading furthest off the cycle stands for the stretch, told
 * against the cycle's value at its phase (basis `baseline`: the readings of the normal stretch a period before, not
 * the model's expectation, which a model fed the episode's readings has moved towards them). Its kind is a
 * `level_shift` when the readings off the cycle held, more than SPIKE_READINGS of them, and every reading from the
 * first to the last of them off on one side, the strongest's (a fault that lasted through the cycle's phases: the
 * pump of tryout 26, finding 2, 1.5 bar over both its on and its off level for 60 readings); else no kind.
 * The idea is the seasonal naive forecast's (the reading a period before; Hyndman and Athanasopoulos, "Forecasting:
 * principles and practice", 3rd ed., section 5.2) as the level before of a cyclic stream, as shiftFromBaseline and
 * deviationBefore take it.
 */
function offCycle(input: ExplainInput, x: readonly number[], told: number, side: number): Draft | null {
  const c = cycleOf(input, (xs) => Math.max(robustSigma(xs), standardDeviation(xs)));
  if (c === null || x.length === 0 || !c.ref.every(finite) || !(c.sigma > 0)) return null;
  const off = (i: number): number => (x[i] - c.ref[i]) / c.sigma;
  // Only where the model's telling inverts the reading: off its cycle beyond the band, the other way.
  if (!(Math.abs(off(told)) > BAND_SIGMAS) || Math.sign(off(told)) === side) return null;
  let worst = -1;
  const beyond: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (!finite(x[i])) continue;
    if (Math.abs(off(i)) > OUTLIER_Z) beyond.push(i);
    if (worst < 0 || Math.abs(off(i)) > Math.abs(off(worst))) worst = i;
  }
  if (worst < 0 || beyond.length === 0) return null;
  const ts = input.during.ts;
  const sign = Math.sign(off(worst));
  const held = beyond.length > SPIKE_READINGS && range(beyond[0], beyond[beyond.length - 1]).every((i) => finite(x[i]) && Math.sign(off(i)) === sign);
  return { kind: held ? 'level_shift' : null, value: x[worst], expected: c.ref[worst], band: BAND_SIGMAS * c.sigma, basis: 'baseline', since: ts[beyond[0]] };
}

/**
 * A drift told from the detector's level excursion (ExplainInput.excursion; src/pipeline/excursion.ts), or null without
 * one. The stretch's latest reading (at or before `endTs`: a resolve's reading back is no part of it) must lie beyond
 * the envelope on the excursion's side (else null: the other kinds judge the readings); the value told is the furthest
 * reading on that side since the onset up to it (its peak: furthest), `beyondSeen` its distance beyond the envelope; `since` the excursion's onset; the rate the Theil–Sen slope (robust.ts trend) of
 * the readings (of `before` and `during`) from the onset to it, sensor units per hour; what was expected, the envelope
 * (its middle ± half its width, basis `baseline`).
 */
function excursionDrift(input: ExplainInput): Draft | null {
  const e = input.excursion;
  if (e === undefined || !finite(e.since) || !finite(e.lo) || !finite(e.hi)) return null;
  // A drift off the stream's long cycle (tryout 38 finding 2): its furthest reading the drift's way, against what the
  // cycle's profile expected there (the stream's normal at that phase ± its period-to-period wander), at the drift's
  // mean rate off that normal since its onset. The readings after it (a return to normal, the night's cooling) are
  // no part of it.
  const c = e.cycle;
  if (c !== undefined) {
    if (!finite(c.expected) || !finite(c.value) || !finite(c.at)) return null;
    const off = c.value - c.expected;
    if (e.up ? !(off > 0) : !(off < 0)) return null;
    const hours = (c.at - e.since) / 3_600_000;
    return { kind: 'drift', value: c.value, expected: c.expected, band: (e.hi - e.lo) / 2, basis: 'baseline', since: e.since, ...(hours > 0 ? { ratePerHour: off / hours } : {}) };
  }
  const { ts, values: x } = input.during;
  let last = -1;
  for (let i = x.length - 1; i >= 0 && last < 0; i--) if (finite(x[i]) && ts[i] <= input.endTs) last = i;
  if (last < 0) return null;
  if (e.up ? !(x[last] > e.hi) : !(x[last] < e.lo)) return null;
  // The furthest reading beyond the envelope since the excursion's onset stands for it (its peak), not the latest.
  const since: number[] = [];
  for (let i = 0; i <= last; i++) if (finite(x[i]) && ts[i] >= e.since) since.push(i);
  const value = x[furthest(x, since.length > 0 ? since : [last], e.up ? 1 : -1)];
  const beyond = e.up ? value - e.hi : value - e.lo;
  const t: number[] = [];
  const y: number[] = [];
  for (const s of [input.before, input.during]) {
    for (let i = 0; i < s.values.length; i++) {
      if (s.ts[i] >= e.since && s.ts[i] <= ts[last] && finite(s.values[i])) {
        t.push(s.ts[i]);
        y.push(s.values[i]);
      }
    }
  }
  const rate = t.length >= 2 ? trend(t, y).slope * 3_600_000 : null;
  return { kind: 'drift', value, expected: (e.lo + e.hi) / 2, band: (e.hi - e.lo) / 2, basis: 'baseline', since: e.since, beyondSeen: beyond, ...(rate !== null ? { ratePerHour: rate } : {}) };
}

/**
 * The index among `idx` (ascending, non-empty) of the reading of `x` furthest on `side` (1: the highest, −1: the
 * lowest; the earliest of equals): the value a drift tells, its peak, not its latest reading, which at its resolve may
 * be one on the way back (tryout 38, finding 10: a CO2 climb to 4192 ppm, back at 606 within a reading, resolved as
 * `701 ppm … (drift, +1187 ppm/h)` after its updates had told 1412 to 3314 ppm). While a drift goes on its furthest
 * reading is its latest or one of its last few.
 */
function furthest(x: readonly number[], idx: readonly number[], side: number): number {
  let best = idx[0];
  for (const i of idx) if (finite(x[i]) && (!finite(x[best]) || side * (x[i] - x[best]) > 0)) best = i;
  return best;
}

/** Readings a steady trend must span to be told a drift (steadyDrift): two noise measures' worth (NOISE_READINGS). */
export const DRIFT_READINGS = 2 * NOISE_READINGS;
/** Kendall's tau a steady trend must reach over its readings (steadyDrift): most pairs of them in its order. */
const DRIFT_TAU = 0.6;
/** Kendall's tau each half of a steady trend must reach on its side (steadyDrift): no flat half. */
const DRIFT_HALF_TAU = 0.3;

/**
 * A steady drift of the stretch's readings away from the level before (`reference.level` ± `reference.sigma`),
 * or null. Its readings are those from the stretch's first to its last one beyond OUTLIER_Z spreads of that level
 * (a resolve's reading back is no part of it), at least DRIFT_READINGS of them, and:
 *  - they trend (Kendall's tau, Mann–Kendall's statistic, of their offsets from the level, at least DRIFT_TAU
 *    either way) and so does each half on its own, the same way (at least DRIFT_HALF_TAU): a jump that then held
 *    has a flat half, a spike or burst has no trend;
 *  - away from the level: the last of them is off it on the trend's side, outside the band (toldOff), not a
 *    recovery back towards it;
 *  - by more than a jump would: the trend's change over them (Theil–Sen slope × their time) beyond OUTLIER_Z
 *    spreads, and more than the offset their first BASELINE_READINGS began with (not a step that crept on).
 *  - new: the readings before (as many as these, at least 4 × DRIFT_READINGS) did not trend that way at half the
 *    rate or more (a stream that ramps on its own, a spike on it: explain.test.ts).
 * The value told is the furthest of them on its side (its peak: furthest), its rate the Theil–Sen slope (sensor units per hour), told against the level
 * before (levelBefore). Null for a stream told by its own cycle (cycleOf: a cycle's rise trends as steadily), or
 * without a level before.
 */
function steadyDrift(input: ExplainInput, reference: Reference): Draft | null {
  if (reference.cycle !== null || !finite(reference.level) || !(reference.sigma > 0)) return null;
  const { ts, values: x } = input.during;
  const off = (i: number): number => x[i] - reference.level;
  // The side most readings off the level lie on; the last reading off on it ends the drift's readings (readings
  // back after it, some of them a little off the other way, are no part of it).
  const offs = range(0, x.length - 1).filter((i) => Math.abs(off(i)) > OUTLIER_Z * reference.sigma);
  if (offs.length === 0) return null;
  const side = Math.sign(median(offs.map(off)));
  let last = -1;
  for (const i of offs) if (Math.sign(off(i)) === side) last = i;
  // Readings off the other way before them (a jump that came back) are no part of the drift: it is measured on the
  // readings after the last of them (driftStart; tryout 23, finding F2: a +6 °C jump of 60 s, back on a slow cycle
  // a little below the level before, was told `drift, −18 °C/h` since the jump).
  const start = driftStart(offs, off, side, last);
  if (last + 1 - start < DRIFT_READINGS) return null;
  const idx = range(start, last);
  if (idx.some((i) => !finite(x[i]))) return null;
  const t = idx.map((i) => ts[i]);
  const y = idx.map(off);
  const whole = trend(t, y);
  const sign = Math.sign(whole.slope);
  if (sign !== side || Math.abs(whole.tau) < DRIFT_TAU) return null;
  const half = idx.length >> 1;
  for (const [from, to] of [[0, half], [half, idx.length]] as const) {
    const h = trend(t.slice(from, to), y.slice(from, to));
    if (Math.sign(h.slope) !== sign || sign * h.tau < DRIFT_HALF_TAU) return null;
  }
  // A trend the readings before already had is the stream's own (a ramp, a slow cycle's slope no cycleOf found): no
  // drift unless the stretch's is more than twice as steep (or the other way), over as many readings before, at
  // least 4 × DRIFT_READINGS.
  if (trendedBefore(input.before, idx.length, whole.slope)) return null;
  const change = whole.slope * (t[t.length - 1] - t[0]);
  const began = median(y.slice(0, Math.min(BASELINE_READINGS, half)));
  if (Math.abs(change) <= OUTLIER_Z * reference.sigma || sign * began > Math.abs(change)) return null;
  const d: Draft = { kind: 'drift', value: x[furthest(x, idx, sign)], ...levelBefore(reference, idx), since: ts[start], ratePerHour: whole.slope * 3_600_000 };
  return toldOff(d, sign) ? d : null;
}

/**
 * The first of a drift's readings (steadyDrift, and the second drift rule): the one after the last reading before
 * `last` that is off the other way (of `offs`, the indices of the readings beyond OUTLIER_Z spreads, ascending; `off`
 * their signed offset; `side` the drift's side), else 0. Readings off the other way are a jump that came back (or a
 * spike), not part of a trend away on this side: a Theil–Sen slope across them is the jump's, not the drift's.
 */
function driftStart(offs: readonly number[], off: (i: number) => number, side: number, last: number): number {
  let start = 0;
  for (const i of offs) if (i < last && Math.sign(off(i)) === -side) start = i + 1;
  return start;
}

/**
 * Whether the normal readings before the stretch (`before`) already trended the way of `slope` (sensor units per ms)
 * at half its rate or more, over as many readings as the drift's (`n`), at least 4 × DRIFT_READINGS (fewer held: false).
 * Such a trend is the stream's own (a ramp, a slow cycle's slope no cycleOf found): no drift unless the stretch's is
 * more than twice as steep.
 */
function trendedBefore(before: Stretch, n: number, slope: number): boolean {
  const k = Math.min(before.values.length, Math.max(n, 4 * DRIFT_READINGS));
  if (k < DRIFT_READINGS) return false;
  const prior = trend(before.ts.slice(-k), before.values.slice(-k));
  return Math.sign(prior.slope) === Math.sign(slope) && Math.abs(prior.slope) * 2 >= Math.abs(slope);
}

/** Share of the normal readings before the stretch within OUTLIER_Z spreads of the level before for it to be their one level (shiftTellable). */
const ONE_LEVEL_SHARE = 0.9;

/**
 * Whether a shift off the level before may be told (shiftFromBaseline): always, unless the detector's strongest
 * evidence was `rarity` and the normal readings before the stretch had more than one level (fewer than
 * ONE_LEVEL_SHARE of them within OUTLIER_Z spreads of the level before, `reference.level` ± `reference.sigma`):
 * then a level between or beyond a duty cycle's modes is told where the normal readings lay (whereNormalLay),
 * not a shift of the one mode the cycle stood in just before. A one-level stream's shift that held long enough
 * to be rarely seen is still a level shift (tryout 10, finding 4: a +1.0 shift of 10 ± 0.1 the model followed
 * within 2 readings, its later events' strongest evidence `rarity`, was never told a kind).
 */
function shiftTellable(reference: Reference, input: ExplainInput): boolean {
  if (input.seen !== 'rarity') return true;
  const b = input.before.values.filter(finite);
  if (b.length === 0 || !finite(reference.level) || !(reference.sigma > 0)) return false;
  const near = b.filter((v) => Math.abs(v - reference.level) <= OUTLIER_Z * reference.sigma).length;
  return near >= ONE_LEVEL_SHARE * b.length;
}

/** A level shift found against the level before (shiftFromBaseline): its readings' low median (one of them: lowMedian), told against that level (levelBefore's). */
function shiftDraft(reference: Reference, x: readonly number[], shift: readonly number[], ts: readonly number[]): Draft {
  return { kind: 'level_shift', value: lowMedian(shift.map((i) => x[i])), expected: reference.level, band: BAND_SIGMAS * reference.sigma, basis: 'baseline', since: ts[shift[0]] };
}

/** Readings at the end of `before` that may belong to the anomaly already, and the normal part they are compared with. */
const ONSET_WINDOW = 256;

/**
 * A detector flags an anomaly some readings after it began, so the last readings "before" the episode may
 * be part of it (a shift whose first minute went unflagged). Compared with the older part of `before`
 * (median ± robust spread, or the model's expectation), the unbroken run of outliers (beyond OUTLIER_Z
 * spreads) at the end of `before`, if there is one of at least 3 readings, is moved into the stretch, so
 * the baseline is the level before the change and `since` says when it began. Likewise a run of one value
 * repeated at the end of `before` (at least 3 readings) that the stretch's first reading continues, when the
 * run in all is a stuck value's (at least 5 readings and more than twice any run of equal values in the
 * older part): a value that froze some readings before the detector could tell is a stuck value from its
 * first repeat, not a normal level the stretch is compared with. Nothing is moved for a stretch whose beginning
 * the caller knows (ExplainInput.onsetKnown).
 */
export function withOnset(input: ExplainInput): ExplainInput {
  const b = input.before;
  const n = b.values.length;
  if (n < 16 || input.onsetKnown === true) return input;
  const tail = Math.min(ONSET_WINDOW, n >> 1);
  const ref = b.values.slice(0, n - tail);
  const exp = b.expected ?? null;
  const hasModel = exp !== null && exp.length === n && exp.slice(n - tail).every(finite);
  const residual = (i: number): number => (hasModel ? b.values[i] - (exp[i] as number) : b.values[i]);
  const refResiduals = hasModel ? ref.map((_, i) => residual(i)).filter(Number.isFinite) : ref;
  const level = hasModel ? 0 : median(ref);
  const sigma = Math.max(robustSigma(refResiduals), robustSigma(diffs(ref)) / Math.SQRT2, resolution(ref) / 2, 1e-9 * Math.max(1, Math.abs(level)));
  let start = n;
  while (start > n - tail && Math.abs(residual(start - 1) - level) > OUTLIER_Z * sigma) start--;
  const stuckSeen = seesStuck(input);
  if (n - start < 3) start = stuckOnset(b.values, input.during.values, tail, stuckSeen);
  if (n - start < (stuckSeen && start < n && b.values[start] === input.during.values[0] ? 1 : 3)) return input;
  return moveIntoStretch(input, start);
}

/** The input with the readings of `before` from `start` on moved into the stretch (`during`), `startTs` no later than the first of them. */
function moveIntoStretch(input: ExplainInput, start: number): ExplainInput {
  const b = input.before;
  const n = b.values.length;
  const cut = <T>(xs: readonly T[] | null | undefined): { head: T[]; rest: T[] } | null =>
    xs == null ? null : { head: xs.slice(0, start), rest: xs.slice(start) };
  const d = input.during;
  const dn = d.values.length;
  const join = (moved: readonly (number | null)[] | undefined, own: readonly (number | null)[] | null | undefined, width: number): (number | null)[] | null => {
    if (!moved && !own) return null;
    return [...(moved ?? new Array<null>(n - start).fill(null)), ...(own ?? new Array<null>(width).fill(null))];
  };
  const e = cut(b.expected);
  const sp = cut(b.spread);
  return {
    ...input,
    before: { ts: b.ts.slice(0, start), values: b.values.slice(0, start), expected: e?.head ?? null, spread: sp?.head ?? null },
    during: {
      ts: [...b.ts.slice(start), ...d.ts],
      values: [...b.values.slice(start), ...d.values],
      expected: join(e?.rest, d.expected, dn),
      spread: join(sp?.rest, d.spread, dn),
    },
    startTs: Math.min(input.startTs, b.ts[start]),
  };
}

/**
 * Where a stuck value's run begins in `before` (values), when the stretch's first reading (`during[0]`)
 * continues a run of at least 3 equal readings at the end of it (within the last `tail`) and the run in all
 * is long enough to be stuck (as stuckRun judges it); else before.length.
 */
function stuckOnset(before: readonly number[], during: readonly number[], tail: number, stuckSeen = false): number {
  const n = before.length;
  if (during.length === 0) return n;
  const v = during[0];
  let start = n;
  while (start > n - tail && before[start - 1] === v) start--;
  // Where the detector's own stuck evidence opened the episode, a run of any length that the stretch continues.
  if (stuckSeen) return start;
  if (n - start < 3) return n;
  let m = 0;
  while (m < during.length && during[m] === v) m++;
  return n - start + m >= Math.max(5, 2 * longestRun(before.slice(0, start)).length + 1) ? start : n;
}

/** True when the detector's evidence at the episode's peak names a stuck value (evidenceKind, else seen). */
function seesStuck(input: ExplainInput): boolean {
  const named = input.evidenceKind !== undefined ? input.evidenceKind : input.seen != null ? (EVIDENCE_KINDS[input.seen] ?? null) : null;
  return named === 'stuck';
}

type Draft = Omit<Explanation, 'sentence' | 'unit' | 'expectedUnit' | 'unitChanges'>;

/** The units of an explanation whose readings span a stated unit change (unitsOf); `note` the sentence's words of it. */
interface Units {
  readonly unit: string | null;
  readonly expectedUnit?: string | null;
  readonly unitChanges?: readonly UnitChange[];
  readonly note: string | null;
}

/**
 * The units of draft `d` of `input` (ExplainInput.unitChanges): `value`'s, that of the reading it stands for (the
 * reading at or after `since` nearest to it: the level, the peak, the frozen value, the last before a silence);
 * `expected`'s, that of the last reading before the episode (what the expectation was learnt from; the reading
 * just before its start without one); and the changes between them and the episode's last reading, said in the
 * sentence (`unit changed °F → °C at 05:31`). Without changes: input.unit for both, nothing said.
 */
function unitsOf(input: ExplainInput, d: Draft, timeZone: string | undefined): Units {
  const unit = input.unit ?? null;
  const changes = input.unitChanges;
  if (changes === undefined || changes.length === 0) return { unit, note: null };
  const { before, during } = input;
  const ts = [...before.ts, ...during.ts];
  const values = [...before.values, ...during.values];
  let at = -1;
  if (d.value !== null) {
    for (let i = 0; i < ts.length; i++) {
      if (ts[i] < d.since || !Number.isFinite(values[i])) continue;
      if (at < 0 || Math.abs(values[i] - d.value) < Math.abs(values[at] - d.value)) at = i;
    }
  }
  const valueTs = at >= 0 ? ts[at] : during.ts.length > 0 ? during.ts[during.ts.length - 1] : d.since;
  const refTs = before.ts.length > 0 ? before.ts[before.ts.length - 1] : input.startTs - 1;
  const lastTs = Math.max(input.endTs, during.ts.length > 0 ? during.ts[during.ts.length - 1] : -Infinity, valueTs);
  const valueUnit = unitAt(unit, changes, valueTs);
  const expectedUnit = unitAt(unit, changes, refTs);
  const within = changes.filter((c) => c.ts > refTs && c.ts <= lastTs);
  if (within.length === 0 && valueUnit === expectedUnit) return { unit: valueUnit, note: null };
  const when = (t: number): string => clockTime(t, input.toldAt ?? input.endTs, timeZone);
  const told = within.map((c, i) => `${i === 0 ? `${c.from} ` : ''}→ ${c.to} at ${when(c.ts)}`).join(', ');
  return {
    unit: valueUnit,
    ...(expectedUnit !== valueUnit ? { expectedUnit } : {}),
    ...(within.length > 0 ? { unitChanges: within } : {}),
    note: within.length > 0 ? `unit changed ${told}` : null,
  };
}

function finish(input: ExplainInput, given: Draft, timeZone: string | undefined): Explanation {
  // Readings before the stretch are not here (a restart): the episode's known beginning stands, and a stuck
  // value has been stuck since then too.
  let d = given;
  if (input.beganBy !== undefined && Number.isFinite(input.beganBy) && input.beganBy < d.since && d.kind !== 'missing_data') {
    const since = input.beganBy;
    d = { ...d, since, ...(d.kind === 'stuck' && d.durationMs !== undefined ? { durationMs: d.durationMs + (d.since - since) } : {}) };
  }
  const rare = d.kind === null && input.seen === 'rarity' && d.value !== null ? whereNormalLay(input.before.values, d.value) : null;
  const units = unitsOf(input, d, timeZone);
  const told = { unit: units.unit, ...(units.expectedUnit !== undefined ? { expectedUnit: units.expectedUnit } : {}), ...(units.unitChanges !== undefined ? { unitChanges: units.unitChanges } : {}) };
  const instead = d.value !== null && d.expected !== null && d.band !== null ? insteadOfBand(input, d) : null;
  // Off a duty cycle's usual timing (the detector saw the stream off its cycle, no kind told): when its state began
  // and how long the state (or the one before it) lasts usually, from the normal readings before.
  const timing = d.kind === null && input.seen === 'cycle' && input.states == null ? dutyTiming(input) : null;
  return { ...d, ...told, sentence: sentenceOf(input.stream, units, d, input.toldAt ?? input.endTs, timeZone, toldAs(d.kind, input.seen), rare, readingPrecision(input.before.values, input.during.values, input.sentDecimals ?? null), instead, input.states ?? null, timing) };
}

/**
 * A duty cycle's timing off its usual (dutyTiming): the state the stream is in (`level`, its readings' median, sensor
 * units: the low median of its readings) since `since` (epoch ms, its first reading), and either
 *  - `long`: that state has lasted `durationMs` so far, longer than its usual dwell `usualMs` ± `spreadMs`, or
 *  - `short`: the state before it, at `prevLevel`, lasted only `durationMs`, shorter than its usual `usualMs` ± `spreadMs`
 *    (the switch into the present state came early).
 */
interface DutyTiming {
  readonly how: 'long' | 'short';
  readonly level: number;
  readonly since: number;
  readonly durationMs: number;
  readonly prevLevel: number;
  readonly usualMs: number;
  readonly spreadMs: number;
  /** Completed dwells of that state the usual one is from (1: the one seen, told as such). */
  readonly dwells: number;
}

/**
 * Completed dwells of a state in the normal readings before for its usual dwell to be told as a mean ± a spread; with
 * fewer (but one), the one seen is told as such (`30 min the time before`): the daemon keeps 600 normal readings
 * before an episode, at 10 s 100 min, about two periods of a fridge's 45 min cycle.
 */
const DUTY_MIN_DWELLS = 2;
/** Two levels are a duty cycle's when their centres are at least this many of their spreads (added) apart. */
const DUTY_SEPARATION = 4;
/** Segments of at most this many readings that return to the state before them are blips of it (a surge, a flicker). */
const DUTY_BLIP = 2;

/**
 * What a duty cycle's timing says of the stretch (DutyTiming), or null: the normal readings before (and the stretch's)
 * fall into two levels far apart against their spreads (two means, Lloyd's algorithm from the extremes; a smooth cycle,
 * a sine's halves, is no duty cycle), the readings are cut into dwells at the switches between them (a blip of up to
 * DUTY_BLIP readings that returns is no switch: a start-up surge, a rounded off state's 0/1 flicker), and a dwell counts
 * from a switch to a switch over readings without a silence (no step over 3 times the median one). Usual: the mean ±
 * BAND_SIGMAS standard deviations (at least one reading interval) of the completed dwells of that state in the readings
 * before (DUTY_MIN_DWELLS of them; with one, that one ± a reading interval). Time in the readings' own stamps, so the same at any sampling rate.
 */
function dutyTiming(input: ExplainInput): DutyTiming | null {
  const end = input.toldAt ?? input.endTs;
  const ts: number[] = [];
  const xs: number[] = [];
  const add = (t: readonly number[], v: readonly number[]): void => {
    for (let i = 0; i < t.length; i++) if (t[i] <= end && finite(v[i]) && (ts.length === 0 || t[i] > ts[ts.length - 1])) {
      ts.push(t[i]);
      xs.push(v[i]);
    }
  };
  add(input.before.ts, input.before.values);
  const nBefore = ts.length;
  add(input.during.ts, input.during.values);
  if (nBefore < 16 || ts.length <= nBefore) return null;
  // Two levels from the readings before.
  let lo = Math.min(...xs.slice(0, nBefore));
  let hi = Math.max(...xs.slice(0, nBefore));
  if (!(hi > lo)) return null;
  for (let it = 0; it < 20; it++) {
    const cut = (lo + hi) / 2;
    let sl = 0, nl = 0, sh = 0, nh = 0;
    for (let i = 0; i < nBefore; i++) if (xs[i] <= cut) { sl += xs[i]; nl++; } else { sh += xs[i]; nh++; }
    if (nl === 0 || nh === 0) return null;
    const [l2, h2] = [sl / nl, sh / nh];
    if (l2 === lo && h2 === hi) break;
    [lo, hi] = [l2, h2];
  }
  const cut = (lo + hi) / 2;
  const spreadOf = (low: boolean): number => standardDeviation(xs.slice(0, nBefore).filter((x) => (x <= cut) === low));
  if (!(hi - lo >= DUTY_SEPARATION * (spreadOf(true) + spreadOf(false)))) return null;
  // Segments of one state, blips merged into the state around them.
  const state = xs.map((x) => (x > cut ? 1 : 0));
  interface Seg { s: number; from: number; to: number }
  const segs: Seg[] = [];
  for (let i = 0; i < state.length; i++) {
    const last = segs[segs.length - 1];
    if (last !== undefined && last.s === state[i]) last.to = i;
    else segs.push({ s: state[i], from: i, to: i });
  }
  for (let k = 1; k + 1 < segs.length; k++) {
    if (segs[k].to - segs[k].from + 1 <= DUTY_BLIP && segs[k - 1].s === segs[k + 1].s) {
      segs[k - 1].to = segs[k + 1].to;
      segs.splice(k, 2);
      k--;
    }
  }
  if (segs.length < 2) return null;
  const steps = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);
  const interval = steps[steps.length >> 1];
  const unbroken = (from: number, to: number): boolean => {
    for (let i = from + 1; i <= to; i++) if (ts[i] - ts[i - 1] > 3 * interval) return false;
    return true;
  };
  // Completed dwells (switch to switch) ending before the stretch, per state, the present state's and the one before
  // it left out (they are what is judged).
  const dwells: number[][] = [[], []];
  for (let k = 1; k + 2 < segs.length; k++) {
    const g = segs[k];
    if (segs[k + 1].from >= nBefore || !unbroken(g.from, segs[k + 1].from)) continue;
    dwells[g.s].push(ts[segs[k + 1].from] - ts[g.from]);
  }
  const usual = (s: number): { m: number; band: number; n: number } | null => {
    const d = dwells[s];
    if (d.length === 0) return null;
    const m = d.reduce((a, b) => a + b, 0) / d.length;
    return { m, band: Math.max(d.length >= DUTY_MIN_DWELLS ? BAND_SIGMAS * standardDeviation(d) : 0, interval), n: d.length };
  };
  // The low median: one of the state's readings (an off state that reads 0 and 1 is 0, not 0.5).
  const levelOf = (g: Seg): number => lowMedian(xs.slice(g.from, g.to + 1));
  const now = segs[segs.length - 1];
  const prev = segs[segs.length - 2];
  const lasted = ts[ts.length - 1] - ts[now.from];
  const u = usual(now.s);
  if (u !== null && lasted > u.m + u.band && unbroken(now.from, ts.length - 1)) {
    return { how: 'long', level: levelOf(now), since: ts[now.from], durationMs: lasted, prevLevel: levelOf(prev), usualMs: u.m, spreadMs: u.band, dwells: u.n };
  }
  const p = usual(prev.s);
  const before = ts[now.from] - ts[prev.from];
  if (p !== null && segs.length >= 3 && before < p.m - p.band && unbroken(prev.from, now.from)) {
    return { how: 'short', level: levelOf(now), since: ts[now.from], durationMs: before, prevLevel: levelOf(prev), usualMs: p.m, spreadMs: p.band, dwells: p.n };
  }
  return null;
}

/**
 * What a sentence says was expected when its value lies inside its own band (`expected a ± b` holding the value:
 * no reason at all; tryout 23, finding 3: a plug switched off told `plug/current 0.00 A, expected 0.02 ± 0.05 (off
 * the usual cycle)`). The sentence decides whether the value is inside (on the figures as it prints them: sentenceOf)
 * and then says, in this order, what applies:
 *  - `heldLongestMs`, a stuck value: the longest the stream's readings stayed unchanged in the normal readings before
 *    (ms, first to last reading of their longest run of one value), when the value has been unchanged longer;
 *  - `cycle`, a cyclic stream (cycleOf, its spread judged by the readings' standard deviation too, as a duty cycle's
 *    mostly-at-one-level readings have a robust spread of 0): the reading a whole number of periods before the value's
 *    (the seasonal naive forecast: what its cycle expected at this phase), when the value is at least BAND_SIGMAS of the
 *    cycle's spreads off it;
 *  - `level`, the level before the episode (levelBefore's `expected ± band`), when it does not hold the value;
 *  - else nothing: the value is within the stream's normal range, and the parentheses name what was seen.
 */
interface InsteadOfBand {
  readonly heldLongestMs: number | null;
  readonly cycle: number | null;
  readonly level: { readonly expected: number; readonly band: number } | null;
}

function insteadOfBand(input: ExplainInput, d: Draft): InsteadOfBand {
  const b = input.before;
  let heldLongestMs: number | null = null;
  if (d.kind === 'stuck' && b.values.length >= 2) {
    const run = longestRun(b.values);
    heldLongestMs = b.ts[run.start + run.length - 1] - b.ts[run.start];
  }
  let cycle: number | null = null;
  const c = d.kind !== 'stuck' ? cycleOf(input, (xs) => Math.max(robustSigma(xs), standardDeviation(xs))) : null;
  if (c !== null && d.value !== null) {
    const x = input.during;
    const i = x.values.findIndex((v, k) => v === d.value && x.ts[k] >= d.since);
    const at = i >= 0 ? i : x.values.indexOf(d.value);
    if (c !== null && at >= 0 && finite(c.ref[at]) && Math.abs(d.value - c.ref[at]) >= BAND_SIGMAS * c.sigma * (1 - 1e-9)) cycle = c.ref[at];
  }
  const reference = referenceFor(input);
  const level = finite(reference.level) && reference.sigma > 0 && c === null ? { expected: reference.level, band: BAND_SIGMAS * reference.sigma } : null;
  return { heldLongestMs, cycle, level };
}

/** The standard deviation of the finite values (0 for fewer than 2). */
function standardDeviation(xs: readonly number[]): number {
  const v = xs.filter(finite);
  if (v.length < 2) return 0;
  const m = v.reduce((a, x) => a + x, 0) / v.length;
  return Math.sqrt(v.reduce((a, x) => a + (x - m) * (x - m), 0) / (v.length - 1));
}

/**
 * The stream's reading precision, as a sentence writes its readings (and the dashboard its latest): the most decimals
 * its readings are written in (decimalPlaces, at most 6: `85.0` and `19.8` from a DS18B20 → 1, zigbee2mqtt's energy
 * `1.23` → 2, a statestream sensor's `21.14` → 2), so no reading is told with more decimals than the device sent
 * (tryout 22, finding 11: `85.00 °C`, `1.230 kWh`) nor fewer (tryout 23, finding 4: `last 21.1 °C` after `21.14`);
 * but never more than the stream's own noise can show: one decimal more than ± BAND_SIGMAS of its reading-to-reading
 * noise (robust: 1.4826 · MAD of the changes of `normal`, / √2; at least half its resolution, quantum) is written
 * with one or two significant digits (decimalsFor), for a device that sends raw floats (`20.843527`, told `20.84`
 * beside a noise of ± 0.2); a device's own rounding (one or two decimals) is kept, its last digit noise or not. `normal`: the stream's normal readings (the noise is theirs), `others`: more of its readings (their decimals
 * count). `sentBefore`: the most decimals the stream's readings were ever sent with (SeriesStore.sentDecimals: every
 * reading since its first, across restarts by its checkpoint; null or absent when unknown), so a plug that sends `0`
 * for longer than the readings looked at is still told `0.0` after readings of one decimal (tryout 24, finding 3: the
 * dashboard's last 64 readings were all `0`, `0 W`, the alert's `0.0 W`). Null for no finite reading and no
 * `sentBefore`; with fewer than 3 normal readings, the decimals sent.
 */
export function readingPrecision(normal: readonly number[], others: readonly number[] = [], sentBefore: number | null = null): number | null {
  let sent = sentBefore !== null && Number.isInteger(sentBefore) && sentBefore >= 0 ? Math.min(sentBefore, 6) : -1;
  for (const xs of [normal, others]) for (const v of xs) if (Number.isFinite(v) && sent < 6) sent = Math.max(sent, decimalPlaces(v));
  if (sent < 0) return null;
  const b = normal.filter(Number.isFinite);
  if (b.length < 3) return sent;
  const floor = Math.max(robustSigma(diffs(b)) / Math.SQRT2, quantum(b) / 2);
  return floor > 0 && Number.isFinite(floor) ? Math.min(sent, decimalsFor(BAND_SIGMAS * floor, null) + 1) : sent;
}

/** Normal readings a value must be passed by before it counts as where the normal ones lay: RARE_SHARE of them, at least 3. */
const RARE_SHARE = 0.05;

/**
 * Where the normal readings lay around a value the detector called rare (`rarity`: a level where the stream
 * has (almost) never been, such as the gap between a duty cycle's modes, where a model's expectation and its
 * band, halfway between the modes, say nothing useful). `lo`: the nearest value below `v` that has RARE_SHARE
 * of the normal readings (at least 3) between it and `v` or at it (the few readings of the switches that crossed
 * the gap do not count), `hi` the same above; null on a side with fewer. Null with fewer than 10 readings.
 */
function whereNormalLay(before: readonly number[], v: number): { lo: number | null; hi: number | null } | null {
  const xs = before.filter(Number.isFinite);
  if (xs.length < 10 || !Number.isFinite(v)) return null;
  const k = Math.max(3, Math.ceil(RARE_SHARE * xs.length));
  const below = xs.filter((x) => x < v).sort((a, b) => b - a);
  const above = xs.filter((x) => x > v).sort((a, b) => a - b);
  const lo = below.length >= k ? below[k - 1] : null;
  const hi = above.length >= k ? above[k - 1] : null;
  return lo === null && hi === null ? null : { lo, hi };
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/**
 * What a lasting kind (level shift, drift, stuck value, noise change) is told against: the level before the
 * episode, the baseline (`reference.level` ± BAND_SIGMAS `reference.sigma`: the median of the last
 * BASELINE_READINGS normal readings before the stretch, after withOnset, ± their robust spread), basis
 * `baseline`, the same at every event of the episode. Not the model's expectation over the stretch: a model
 * fed the faulty readings follows them (its one-step prediction is made from them), so a +1.0 shift of
 * 10 ± 0.1 was told `expected 10.50` a few readings on, the shift as 0.5 (tryout 9, finding 4). Without a
 * baseline (fewer than 3 readings before the stretch, e.g. none kept through a restart): the model's
 * expectation at the first of `onset`'s readings, made before it had seen any of them, else expectedAt.
 */
function levelBefore(ref: Reference, onset: readonly number[]): Pick<Explanation, 'expected' | 'band' | 'basis'> {
  if (finite(ref.level) && ref.sigma > 0) return { expected: ref.level, band: BAND_SIGMAS * ref.sigma, basis: 'baseline' };
  return expectedAt(ref, onset.slice(0, 1));
}

/** The model's or the baseline's expectation over some readings: median expected, median band. */
function expectedAt(ref: Reference, idx: readonly number[]): Pick<Explanation, 'expected' | 'band' | 'basis'> {
  if (ref.basis === null || idx.length === 0) return { expected: null, band: null, basis: null };
  return {
    expected: median(idx.map((i) => ref.ref[i])),
    band: BAND_SIGMAS * median(idx.map((i) => ref.scale[i])),
    basis: ref.basis,
  };
}

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function referenceFor(input: ExplainInput): Reference {
  const b = input.before.values;
  const x = input.during.values;
  const recent = b.slice(-BASELINE_READINGS);
  const noise = b.length >= 3 ? robustSigma(diffs(b)) / Math.SQRT2 : 0;
  const level = recent.length > 0 ? median(recent) : NaN;
  // The sensor's resolution from the normal readings, never from the stretch judged: a spike off a flat stretch
  // would be its own smallest step, and half of it the yardstick (quantum).
  const res = quantum(b, x);
  const tiny = 1e-9 * Math.max(1, Math.abs(finite(level) ? level : (x[0] ?? 0)));
  const sigma = Math.max(robustSigma(recent), noise, res / 2, tiny);
  const expected = input.during.expected ?? null;
  const spread = input.during.spread ?? null;
  const hasModel = expected !== null && expected.length === x.length && expected.some(finite);
  if (hasModel) {
    const ref: number[] = [];
    const scale: number[] = [];
    for (let i = 0; i < x.length; i++) {
      const e = expected[i];
      const s = spread?.[i];
      const usable = finite(e);
      ref.push(usable ? e : finite(level) ? level : NaN);
      scale.push(usable && finite(s) ? Math.max(s, res / 2, tiny) : sigma);
    }
    if (ref.every(finite)) return { basis: 'model', ref, scale, level, sigma, noise, cycle: recent.length >= 3 ? cycleOf(input) : null };
  }
  if (recent.length < 3) return { basis: null, ref: x.map(() => NaN), scale: x.map(() => NaN), level: NaN, sigma: NaN, noise, cycle: null };
  return { basis: 'baseline', ref: x.map(() => level), scale: x.map(() => sigma), level, sigma, noise, cycle: null };
}

/**
 * With the model's expectation as the yardstick: true when, against the level just before the stretch
 * (its median ± robust spread, `reference.level`/`sigma`; a cyclic stream's own cycle, cycleOf), the jump at
 * `first`…`peak` is beyond OUTLIER_Z spreads and either
 *  - every reading beyond OUTLIER_Z lies within 3 consecutive readings from `first`, and the stretch's last
 *    reading is back within OUTLIER_Z; or
 *  - a reading after the peak, within SPIKE_READINGS of `first`, is less than half as far off that level as the
 *    peak, and so is every reading after it (the complement of heldOff's "at least half as far": no level
 *    shift): a stream that moves on its own (a daily cycle's slope) leaves the flat level before, whose spread
 *    is its last few readings' (a few hundredths), within readings, though the spike is long over. The demo's
 *    temperature: a +6 spike on a cycle moving 0.1 a second, back at 0.12 and 0.23 off a level of ± 0.042 (5.5
 *    spreads), or held 52 readings and 0.2 below the level: told no kind at the resolve, a spike only when a
 *    retelling on the daemon's wall clock happened to come within the spike's first readings (tryout 13's
 *    session: 3 of 25 demo spikes).
 * A spike the model's disturbed expectation after it could not tell. False with the baseline as the yardstick
 * already, or without a level before.
 */
function backAtBaseline(reference: Reference, x: readonly number[], first: number, peak: number): boolean {
  // offBaseline is false without a model yardstick or a level before: then so is this.
  if (!offBaseline(reference, x, peak)) return false;
  let lastOff = -1;
  for (let i = first; i < x.length; i++) if (offBaseline(reference, x, i)) lastOff = i;
  const n = x.length;
  if (lastOff >= first && lastOff - first <= 2 && lastOff < n - 1 && !offBaseline(reference, x, n - 1)) return true;
  // Back by far more than half: the first reading after the peak less than half as far off as it, within
  // SPIKE_READINGS of `first`, and every reading after it too.
  const size = Math.abs(offLevel(reference, x, peak));
  const halfway = (i: number): boolean => Math.abs(offLevel(reference, x, i)) < 0.5 * size;
  let back = -1;
  for (let i = peak + 1; i < n && back < 0; i++) if (halfway(i)) back = i;
  if (back < 0 || back - first > SPIKE_READINGS) return false;
  for (let i = back + 1; i < n; i++) if (!halfway(i)) return false;
  return true;
}

/** How far reading `i` is off what offBaseline judges it against (its cycle's reading, else the level before), sensor units. */
/**
 * A few readings far off on their own (tryout 20, finding 14: 5000 ppm three times, 1 s apart, among a CO2 sensor's
 * ≈ 620 ± 14 ppm, told `varies ± 3727 ppm, usually ± 19 (noise change)`): 2 to SPIKE_READINGS readings beyond
 * OUTLIER_Z spreads of the level before the stretch (for a cyclic stream, of its own cycle: offLevel), more than
 * SPIKE_READINGS − 1 readings apart from the first to the last (closer ones are one spike, told by the rules after),
 * the stretch's last reading not among them (back), and the other readings within OUTLIER_Z spreads of that level,
 * their robust spread about it less than NOISE_CONFIRM times the level's spread (no noise change around them: a noise
 * burst has more readings off, or readings around them as noisy). Returns the first of them and the strongest (the
 * peak, the spike told), or null (also without a level before the stretch).
 */
function isolatedReadings(reference: Reference, x: readonly number[]): { first: number; peak: number } | null {
  if (!finite(reference.level) || !(reference.sigma > 0)) return null;
  const c = reference.cycle;
  const off: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const d = offLevel(reference, x, i);
    const scale = c !== null && finite(c.ref[i]) ? c.sigma : reference.sigma;
    if (!finite(d)) continue;
    if (Math.abs(d) / scale > OUTLIER_Z) off.push(i);
    else rest.push(d);
  }
  if (off.length < 2 || off.length > SPIKE_READINGS || off[off.length - 1] - off[0] < SPIKE_READINGS || off[off.length - 1] === x.length - 1) return null;
  if (!(robustSigma(rest) < NOISE_CONFIRM * reference.sigma)) return null;
  let peak = off[0];
  for (const i of off) if (Math.abs(offLevel(reference, x, i)) > Math.abs(offLevel(reference, x, peak))) peak = i;
  return { first: off[0], peak };
}

/** The readings beyond OUTLIER_Z of the level before, on each side, a noise burst is told from (burstOpening). */
export const BURST_READINGS = 3;

/**
 * A noise burst told from its first readings (the burstkind finding: a ×10 burst on a flat stream was told a `spike`
 * from its second reading until NOISE_READINGS of its readings showed its noise, 15 readings: a quarter of an hour
 * for a sensor read every minute). At least BURST_READINGS readings of the stretch `x` beyond OUTLIER_Z spreads of
 * the level before it (for a cyclic stream, of its own cycle: offLevel, as isolatedReadings), some above and some
 * below it, and the median offset of the stretch within OUTLIER_Z spreads (the level held): no spike (one to
 * SPIKE_READINGS readings off one way, then back), level shift or drift (off one way) is that; the level held by the
 * stretch's own spread when that is wider (levelHeld: the median of a few readings of a burst twenty times the usual
 * noise is many usual spreads off by chance). Told as a noise change
 * (noiseDraft) when noiseStretch's figures confirm it (at least NOISE_CONFIRM times the usual noise, not still);
 * else null, and the rules after it tell the stretch. Signs against the level before, not the model's expectation:
 * the model's answer to a spike swings it the other way.
 */
function burstOpening(input: ExplainInput, reference: Reference, x: readonly number[]): Explanation | null {
  if (!finite(reference.level) || !(reference.sigma > 0)) return null;
  const c = reference.cycle;
  let up = 0;
  let down = 0;
  const offsets: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const d = offLevel(reference, x, i);
    if (!finite(d)) continue;
    const scale = c !== null && finite(c.ref[i]) ? c.sigma : reference.sigma;
    offsets.push(d / scale);
    if (Math.abs(d) / scale > OUTLIER_Z) {
      if (d > 0) up++;
      else down++;
    }
  }
  if (up === 0 || down === 0 || up + down < BURST_READINGS || !levelHeld(offsets)) return null;
  const nz = noiseStretch(input);
  if (nz === null || nz.still || !(nz.ratio >= NOISE_CONFIRM)) return null;
  return finish(input, noiseDraft(input, reference, nz), input.timeZone);
}

/**
 * The standard error of the median of n readings of one normal spread σ is √(π/2) · σ / √n, about 1.2533 σ / √n (the
 * sample median's asymptotic variance, π σ² / 2n: Laplace; Kenney & Keeping, Mathematics of Statistics, 1962).
 */
export const MEDIAN_SE = Math.sqrt(Math.PI / 2);

/**
 * Whether a stretch's level held (burstOpening): the median of its `offsets` (its readings less the level before, in
 * spreads of the readings before) within OUTLIER_Z of 1, or of its own standard error when that is larger
 * (MEDIAN_SE · robustSigma(offsets) / √n): a burst's readings jump by many of the quiet spreads, and the median of its
 * first few lies as far from the level as their own spread allows (tryout 31, finding 2: a ± 1.0 °C burst on a
 * ± 0.05 °C room sensor, 5 readings at −7.7, −3.7, +30, −8.6 and −21 spreads, median −7.7, was told a level shift).
 * A shift's readings lie close together, off one way: their own spread is small and the bound stays OUTLIER_Z.
 */
function levelHeld(offsets: readonly number[]): boolean {
  if (offsets.length === 0) return false;
  const se = (MEDIAN_SE * robustSigma(offsets)) / Math.sqrt(offsets.length);
  return Math.abs(median(offsets)) < OUTLIER_Z * Math.max(1, se);
}

function offLevel(reference: Reference, x: readonly number[], i: number): number {
  const c = reference.cycle;
  return c !== null && finite(c.ref[i]) ? x[i] - c.ref[i] : x[i] - reference.level;
}

/**
 * With the model's expectation as the yardstick and a level before the stretch (`reference.level` ±
 * `reference.sigma`): the readings from the first beyond OUTLIER_Z spreads of that level to the stretch's
 * last, when there are at least 3, at least 80 % of them are beyond it on one side, the last reading too,
 * their median beyond the readings before (their 99th or 1st percentile), the readings after the first at least half as
 * far off as it (their median: not a spike's aftermath), and the first came by a step (from the reading before it,
 * larger than 4 noise spreads and half the median offset: not a drift that crossed the line); else null. A level
 * shift the model has followed.
 */
function shiftFromBaseline(reference: Reference, x: readonly number[], input: ExplainInput): number[] | null {
  if (reference.basis !== 'model' || !finite(reference.level) || !(reference.sigma > 0)) return null;
  const n = x.length;
  const b = input.before.values;
  // A cyclic stream is judged against its own cycle (cycleOf): a reading less the normal reading a period
  // before it; any other against the level before (its median).
  const c = reference.cycle;
  const cyclic = c !== null && c.ref.every(finite);
  const lvl = (i: number): number => (cyclic ? c.ref[i] : reference.level);
  const sd = cyclic ? c.sigma : reference.sigma;
  const off = (i: number): number => (x[i] - lvl(i)) / sd;
  let first = -1;
  for (let i = 0; i < n; i++) {
    if (Math.abs(off(i)) > OUTLIER_Z) {
      first = i;
      break;
    }
  }
  if (first < 0 || n - first < 3) return null;
  const active = range(first, n - 1);
  const sign = Math.sign(off(first));
  const beyond = active.filter((i) => Math.sign(off(i)) === sign && Math.abs(off(i)) > OUTLIER_Z).length;
  if (beyond < 0.8 * active.length || !(Math.sign(off(n - 1)) === sign && Math.abs(off(n - 1)) > OUTLIER_Z)) return null;
  // The readings after the first held about as far off as it (at least half): not a spike's aftermath, back most
  // of the way though still a little off a level a slow cycle has left since (heldOff).
  if (!(Math.abs(median(active.slice(1).map(off))) >= 0.5 * Math.abs(off(first)))) return null;
  const dev = median(active.map((i) => x[i] - lvl(i)));
  // Beyond where the readings before lay (their 1st or 99th percentile), not merely off their median: a level
  // between a duty cycle's modes is a value rarely seen, not a shift of a level that never was. For a cyclic
  // stream, where its readings lay around their cycle (reading − the reading a period before).
  const sorted = (cyclic ? c.residualBefore : [...b]).filter(finite).sort((p, q) => p - q);
  if (sorted.length < 16) return null;
  const edge = sign > 0 ? sorted[Math.floor(0.99 * (sorted.length - 1))] : sorted[Math.ceil(0.01 * (sorted.length - 1))];
  const mid = cyclic ? dev : median(active.map((i) => x[i]));
  if (!(sign > 0 ? mid > edge : mid < edge)) return null;
  let step: number;
  if (cyclic) {
    const prev = first > 0 ? x[first - 1] - lvl(first - 1) : c.residualBefore[c.residualBefore.length - 1];
    if (!finite(prev)) return null;
    step = x[first] - lvl(first) - prev;
  } else {
    const prev = first > 0 ? x[first - 1] : b.length > 0 ? b[b.length - 1] : NaN;
    if (!finite(prev)) return null;
    step = x[first] - prev;
  }
  const noise = cyclic ? c.sigma : reference.noise;
  return Math.abs(step) > Math.max(4 * noise, 0.5 * Math.abs(dev)) && Math.sign(step) === Math.sign(dev) ? active : null;
}

/**
 * Whether the readings of a stretch after its onset (`first`, its first reading beyond OUTLIER_Z of what was
 * expected) up to `last` held off, as a lasting kind's must: in one measure of what was expected, their median
 * deviation is beyond OUTLIER_Z, on the onset's side, and at least half the onset's own deviation (heldAfter). The
 * measures: the level before the stretch (what a lasting kind is told against: levelBefore; for a cyclic stream
 * with the model's expectation, its own cycle where known: deviationBefore), or the yardstick the outliers were
 * found with (`z`: the model's expectation, or the level before without a model). Not so for a spike's aftermath:
 * its readings came back to where they were (or to where a slow cycle took them since), and the model's
 * expectation after it is the model's answer to the spike (its state took it in), pulled towards it, so against it
 * they read as off for a while, on the other side (tryout 10, finding 5: `24.79, 18.82, 18.84, 18.88, …` of a level
 * 18.75 ± 0.08, the model expecting 22.39, 19.70, 19.35, …, told a level shift of 18.89). False with fewer than 2
 * readings after the onset.
 */
function heldOff(reference: Reference, x: readonly number[], z: readonly number[], first: number, last: number): boolean {
  if (last - first < 2) return false;
  return heldAfter((i) => deviationBefore(reference, x, i), first, last) || heldAfter((i) => z[i], first, last);
}

/** heldOff in one measure (`dev`, in spreads): the median of the readings after `first` up to `last` beyond OUTLIER_Z on the side of `first`'s, and at least half as far. */
function heldAfter(dev: (i: number) => number, first: number, last: number): boolean {
  const onset = dev(first);
  const after = median(range(first + 1, last).map(dev));
  return Number.isFinite(onset) && Number.isFinite(after) && Math.sign(after) === Math.sign(onset) && Math.abs(after) > OUTLIER_Z && Math.abs(after) >= 0.5 * Math.abs(onset);
}

/**
 * Whether a lasting kind's draft tells its value off what it is told against: outside the band (`expected` ±
 * `band`, the level before: levelBefore), and on the side `sign` (+1 above, -1 below; 0: either). A trend or a
 * step of the readings against the model's expectation alone is no change of theirs: a motor stuck off while the
 * model expected it to switch on was told `motor_current 0.04, expected 0.04 ± 0.08 (level shift)` and `… 0.04,
 * expected 0.04 ± 0.11 (drift, −748/h)` (the demo). True without an expectation to tell it against.
 */
function toldOff(d: Draft, sign: number): boolean {
  if (d.value === null || d.expected === null || d.band === null || !Number.isFinite(d.band)) return true;
  const off = d.value - d.expected;
  return Math.abs(off) > d.band && (sign === 0 || Math.sign(off) === sign);
}

/**
 * Reading `i`'s deviation from the level before the stretch, in its spreads: from `reference.level` ±
 * `reference.sigma`, or with the model's expectation for a cyclic stream from its own cycle (cycleOf) where it
 * has the reading a period before. NaN without a level before.
 */
function deviationBefore(reference: Reference, x: readonly number[], i: number): number {
  const c = reference.basis === 'model' ? reference.cycle : null;
  if (c !== null && finite(c.ref[i])) return (x[i] - c.ref[i]) / c.sigma;
  return (x[i] - reference.level) / reference.sigma;
}

/**
 * With the model's expectation as the yardstick and a level before the stretch (`reference.level` ±
 * `reference.sigma`, its median and robust spread): true when reading `i` is beyond OUTLIER_Z spreads of that
 * level. False with the baseline as the yardstick (its own outlier test says it) or without a level before.
 */
function offBaseline(reference: Reference, x: readonly number[], i: number): boolean {
  if (reference.basis !== 'model' || !finite(reference.level) || !(reference.sigma > 0)) return false;
  const c = reference.cycle;
  if (c !== null && finite(c.ref[i])) return Math.abs(x[i] - c.ref[i]) / c.sigma > OUTLIER_Z;
  return Math.abs(x[i] - reference.level) / reference.sigma > OUTLIER_Z;
}

/** The strongest autocorrelation a period must have (at its lag, of the normal stretch less its mean). */
const CYCLE_ACF = 0.6;
/** Whole periods the normal stretch must hold for a cycle to be trusted. */
const CYCLE_PERIODS = 2;
/** A cycle is used only when it explains the readings: (reading − a period before) spreads less than this share of the readings' own spread. */
const CYCLE_SHARE = 0.5;

/**
 * A cyclic stream's own expectation (Cycle), or null. The period is the first lag (at least 4 readings, at most
 * half the normal stretch) where the autocorrelation of the normal readings before the stretch is a local
 * maximum of at least CYCLE_ACF after having gone below zero (a cycle passes through its opposite phase; a
 * trend or a random walk does not); the stretch before must hold CYCLE_PERIODS periods, and (reading − the
 * reading one period before) must spread less than CYCLE_SHARE of the readings' own robust spread, or the
 * stream is not told by its cycle. Periods are in readings; the readings are taken as evenly spaced, so a
 * reading one period before a reading of the stretch is found by time (period × the median interval, within
 * half an interval). The seasonal naive forecast (Hyndman & Athanasopoulos, Forecasting: Principles and
 * Practice, 3rd ed., §5.2) with the period from the autocorrelation function (ibid. §2.8).
 */
function cycleOf(input: ExplainInput, spreadOfReadings: (b: readonly number[]) => number = robustSigma): Cycle | null {
  const b = input.before.values;
  const bt = input.before.ts;
  const n = b.length;
  if (n < 16 || b.some((v) => !finite(v))) return null;
  const mean = b.reduce((a, v) => a + v, 0) / n;
  const c = b.map((v) => v - mean);
  const c0 = c.reduce((a, v) => a + v * v, 0);
  if (!(c0 > 0)) return null;
  const acf = (lag: number): number => {
    let sum = 0;
    for (let i = lag; i < n; i++) sum += c[i] * c[i - lag];
    return sum / c0;
  };
  const maxLag = Math.floor(n / CYCLE_PERIODS);
  let wentNegative = false;
  let period = 0;
  let prev = acf(1);
  let cur = acf(2);
  for (let lag = 2; lag < maxLag; lag++) {
    const next = acf(lag + 1);
    if (cur < 0) wentNegative = true;
    if (wentNegative && lag >= 4 && cur >= CYCLE_ACF && cur >= prev && cur >= next) {
      period = lag;
      break;
    }
    prev = cur;
    cur = next;
  }
  if (period === 0) return null;
  const residualBefore = b.map((v, i) => (i >= period ? v - b[i - period] : NaN));
  const rs = residualBefore.filter(finite);
  const res = resolution(b);
  const sigma = Math.max(robustSigma(rs), res / 2, 1e-9 * Math.max(1, Math.abs(mean)));
  if (!(sigma < CYCLE_SHARE * spreadOfReadings(b))) return null;
  const dt = median(gapsOf(bt));
  if (!(dt > 0)) return null;
  const periodMs = period * dt;
  const lastTs = bt[n - 1];
  // The normal reading nearest `at` (within half an interval), by binary search over the ascending times.
  const at = (t: number): number => {
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bt[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    let best = lo;
    if (lo > 0 && Math.abs(bt[lo - 1] - t) < Math.abs(bt[lo] - t)) best = lo - 1;
    return Math.abs(bt[best] - t) <= dt / 2 ? b[best] : NaN;
  };
  const ref = input.during.ts.map((t) => {
    const k = Math.max(1, Math.ceil((t - lastTs - dt / 2) / periodMs));
    return at(t - k * periodMs);
  });
  return { ref, sigma, residualBefore, period };
}

/** The residual of the last normal reading, to measure the jump into the stretch against. */
function previousResidual(input: ExplainInput, ref: Reference): number | null {
  const b = input.before;
  const n = b.values.length;
  if (n === 0) return null;
  const e = b.expected?.[n - 1];
  if (ref.basis === 'model' && finite(e)) return b.values[n - 1] - e;
  return finite(ref.level) ? b.values[n - 1] - ref.level : null;
}

/**
 * The positive gaps between consecutive times (ms), the stream's intervals: readings that share a time (a hub's
 * buffer flushed under one time stamp, kept by the series: SeriesStore.record) are no interval of 0, as the
 * detector's cadence learns only positive gaps (src/pipeline/cadence.ts).
 */
function gapsOf(ts: readonly number[]): number[] {
  return diffs(ts).filter((g) => g > 0);
}

function missingData(input: ExplainInput): { since: number; gapMs: number; lastValue: number | null } | null {
  const { before, during } = input;
  const bt = before.ts;
  const times = [...(bt.length > 0 ? [bt[bt.length - 1]] : []), ...during.ts];
  const values = [...(bt.length > 0 ? [before.values[bt.length - 1]] : []), ...during.values];
  if (during.ts.length === 0) {
    const since = times.length > 0 ? times[times.length - 1] : input.startTs;
    return { since, gapMs: Math.max(0, input.endTs - since), lastValue: values.length > 0 ? values[values.length - 1] : null };
  }
  const beforeGaps = gapsOf(bt);
  const duringGaps = gapsOf(during.ts);
  const nominal = beforeGaps.length >= 2 ? median(beforeGaps) : duringGaps.length >= 2 ? median(duringGaps) : NaN;
  if (!(nominal > 0)) return null;
  const limit = Math.max(3 * nominal, 1.5 * (beforeGaps.length > 0 ? Math.max(...beforeGaps) : nominal));
  const omitted = new Set(input.omittedBefore ?? []);
  let best = { gap: 0, at: -1 };
  for (let i = 1; i < times.length; i++) {
    if (omitted.has(times[i])) continue;
    const gap = times[i] - times[i - 1];
    if (gap > best.gap) best = { gap, at: i - 1 };
  }
  const silence = input.endTs - times[times.length - 1];
  if (silence > best.gap) best = { gap: silence, at: times.length - 1 };
  const span = Math.max(input.endTs, times[times.length - 1]) - Math.min(input.startTs, during.ts[0]);
  // A gap before a reading of the stretch is its news only when the detector judged a silence (its evidence
  // `stuck`: the steps missed) or says nothing of what it saw: an episode that a reading's value opened after a short
  // pause (a counter that went on with a step after 9 s: level) is told as what its readings show, not `no reading
  // for 9 s (missing data)`, which no reading resolves (tryout 20, finding 4: open 35 min while readings flowed).
  if (best.at < times.length - 1 && input.seen != null && input.seen !== 'stuck') return null;
  if (best.gap > limit && best.gap >= 0.5 * span) return { since: times[best.at], gapMs: best.gap, lastValue: values[best.at] };
  return null;
}

/**
 * The stretch's stuck value: its longest run of one value, at least 5 readings and more than twice as long as any
 * run of the normal readings before (a run still going on that the detector's own `stuck` evidence called rare is
 * one from its second reading), still going on or at least half the stretch; else null. Without the detector's
 * `stuck` evidence, a run at the level before (within OUTLIER_Z spreads of it, `reference`) longer than the normal
 * stretch itself is not one: so few readings before (a few right after a restart, the readings before it being
 * gone) cannot show how long the stream's runs are, while the detector, which judges its runs against its whole
 * history, did not call it rare; such a run is the stream reading normally (tryout 18, finding 4: a spike's normal
 * readings after it, 123 W repeated, retold `123.0 W unchanged for 10 min, expected 123.0 ± 1.0 (stuck value)`).
 * A value frozen off the level (a probe stuck at 85.0) is one however few readings came before, and so is a run with no
 * level to be at (no normal reading before it: an episode through a restart whose readings before it are gone).
 */
function stuckRun(before: readonly number[], x: readonly number[], detectorSaysStuck: boolean, reference: Reference): { start: number; length: number } | null {
  const run = longestRun(x);
  const normalRun = longestRun(before).length;
  const ongoing = run.start + run.length === x.length;
  // A run still going on that the detector's own `stuck` evidence called rare against the stream's runs (a busy
  // state's freeze opens a few readings in: src/pipeline/runs.ts) is told as one however short it is yet.
  const minRun = detectorSaysStuck && ongoing ? 2 : Math.max(5, 2 * normalRun + 1);
  if (run.length < minRun) return null;
  // At the level only where there is one: with no normal reading before (a stream restored after a restart whose
  // readings before the episode are gone) the level is unknown (NaN), and a run is judged as before, by its length.
  const atLevel = Number.isFinite(reference.level) && Math.abs(x[run.start] - reference.level) <= OUTLIER_Z * reference.sigma;
  if (!detectorSaysStuck && atLevel && before.length < run.length) return null;
  return ongoing || run.length >= 0.5 * x.length ? run : null;
}

/** The fewest readings in a row of one value, far off the normal, that are a stuck value (pinnedRun). */
export const PINNED_READINGS = 3;

/**
 * A run of one value far off the normal that carries the stretch (a probe pinned at a sentinel: a DS18B20's −127.00
 * when disconnected, its 85.0 power-on value, a 0 or a 65535 of a failed read; or any value the sensor froze at far
 * off its normal): at least PINNED_READINGS readings in a row equal to each other, more than twice as long as the
 * normal readings' mean run of equal readings (a stream that holds its readings for long anyway, a setpoint, is not
 * judged so: stuckRun judges its runs); or as many within one step of the stream's own resolution (flickerRun: the
 * smallest step its normal readings took, quantum; a failing sensor flickering between two adjacent values of it,
 * 85.00 / 84.94, 99.9 / 100.0), more than twice as long as the normal readings' mean run of such readings (a quiet
 * stream that flickers by one step at its level anyway is not judged so: its readings held off at a new level keep
 * that flicker) and longer than their longest (a noisy stream's readings fall within one step a few times in a row by
 * chance), told as their range (Explanation.within); its value beyond OUTLIER_Z
 * spreads of the level before (for a cyclic stream, of its own cycle too) and outside the range of every normal
 * reading before (off its range: a value the stream reads now and then is not pinned far off it); and at least half
 * of the stretch's readings off that level (and off the model's expectation) in it (the run is the fault the episode
 * holds, not one part of another fault). Readings do not repeat one value by chance far off their normal: a spike
 * does not hold its value, a level shift keeps its noise; and the lower noise of a constant value is a side effect of the value, not a noise change
 * (tryout 27, findings 2 and 3: a −127.00 held 6 readings at 5 min was retold `varies ± 0.07, usually ± 0.18 (noise
 * change)`, an 85.0 held 12 readings never got a kind, and held 30 readings at 2 s was told `level shift`).
 * Whatever its length, at any sampling rate: counted in readings. Null when there is no such run, no level before
 * (nothing to be off), or a run with a gap in it beyond 3 of the stream's usual intervals (that is missing data's).
 */
function pinnedRun(input: ExplainInput, reference: Reference): PinnedRun | null {
  const x = offTheNormal(input, reference);
  const b = input.before.values;
  if (x.length < PINNED_READINGS || !finite(reference.level) || !(reference.sigma > 0)) return null;
  // Identical readings, against the normal stretch's runs of identical ones; or readings within one step of the
  // stream's own resolution (quantum of its normal readings: a failing probe flickering between two adjacent values,
  // 85.00 / 84.94 of a DS18B20's 1/16 °C, 99.9 / 100.0 of a humidity), against the normal stretch's runs of such
  // readings: a quiet stream whose readings flicker by one step at its level anyway has long runs of them, and its
  // readings held off (a shift's new level, quiet readings after a spike) are no pinned value (flickerRun).
  const candidates: PinnedRun[] = [];
  const exact = flickerRun(x, 0);
  if (exact.length >= PINNED_READINGS && exact.length > 2 * meanFlickerRun(b, 0)) candidates.push(exact);
  const step = quantum(b);
  if (step > 0) {
    // Longer than any such run of the normal readings too: a noisy stream's readings fall within one step of each
    // other a few times in a row by chance (a spike's quiet readings after it, 18.90, 18.89, 18.90, off a rising
    // stretch's range), the more often the closer its noise is to its resolution; a flicker run longer than the
    // normal stretch ever had is none of them.
    const near = flickerRun(x, step);
    if (near.length > exact.length && near.length >= PINNED_READINGS && near.length > 2 * meanFlickerRun(b, step) && near.length > flickerRun(b, step).length) candidates.push(near);
  }
  // The longest that passes; its readings all far off (below), else the other.
  for (const run of candidates.sort((p, q) => q.length - p.length)) if (pinnedOff(input, reference, run)) return run;
  return null;
}

/**
 * A pinned run (pinnedRun): `length` readings in a row from `start` of the stretch, between `lo` and `hi` (sensor
 * units; equal for identical readings, one step of the sensor's resolution apart for a flickering one).
 */
interface PinnedRun {
  readonly start: number;
  readonly length: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The longest run of readings in a row whose highest and lowest differ by less than 1.5 `step`s (sensor units): for
 * readings on the grid of a sensor's resolution `step`, at most two adjacent values of it (1.5, not 1: a DS18B20's
 * 1/16 °C written with 2 decimals steps by 0.06 and 0.07); `step` 0: identical readings. A non-finite reading ends a
 * run. The earliest of equally long ones; O(n) (a sliding window with monotone queues of its highest and lowest).
 */
function flickerRun(xs: readonly number[], step: number): PinnedRun {
  const within = step > 0 ? 1.5 * step : 0;
  let best: PinnedRun = { start: 0, length: 0, lo: Number.NaN, hi: Number.NaN };
  const hiQ: number[] = [];
  const loQ: number[] = [];
  let l = 0;
  for (let r = 0; r < xs.length; r++) {
    if (!finite(xs[r])) {
      hiQ.length = 0;
      loQ.length = 0;
      l = r + 1;
      continue;
    }
    while (hiQ.length > 0 && xs[hiQ[hiQ.length - 1]] <= xs[r]) hiQ.pop();
    hiQ.push(r);
    while (loQ.length > 0 && xs[loQ[loQ.length - 1]] >= xs[r]) loQ.pop();
    loQ.push(r);
    const tooWide = (): boolean => (within > 0 ? xs[hiQ[0]] - xs[loQ[0]] >= within : xs[hiQ[0]] !== xs[loQ[0]]);
    while (tooWide()) {
      l++;
      if (hiQ[0] < l) hiQ.shift();
      if (loQ[0] < l) loQ.shift();
    }
    if (r - l + 1 > best.length) best = { start: l, length: r - l + 1, lo: xs[loQ[0]], hi: xs[hiQ[0]] };
  }
  return best;
}

/**
 * The normal stretch's mean run (readings per run, flickerRun's runs taken in turn from its first reading): ~1 for a
 * stream whose readings change by more, long for one that holds its value (a setpoint) or, with `step`, one whose
 * readings flicker by one step at its level; its longest run is no yardstick here, as it grows with the stretch's
 * length (a noisy 2-decimal stream repeats a reading 3 times now and then, at its level, not far off it).
 */
function meanFlickerRun(xs: readonly number[], step: number): number {
  const within = step > 0 ? 1.5 * step : 0;
  let runs = 0;
  let lo = Number.NaN;
  let hi = Number.NaN;
  for (const v of xs) {
    const joins = finite(v) && finite(lo) && (within > 0 ? Math.max(hi, v) - Math.min(lo, v) < within : v === lo);
    if (joins) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      continue;
    }
    runs++;
    lo = v;
    hi = v;
  }
  return runs > 0 ? xs.length / runs : 0;
}

/** Whether a pinned run's readings are far off the normal and carry the stretch (pinnedRun's tests but its length). */
function pinnedOff(input: ExplainInput, reference: Reference, run: PinnedRun): boolean {
  const x = input.during.values;
  const b = input.before.values;
  // Off the level before (for a cyclic stream, off its own cycle too): the run's readings, its value far off the normal.
  const offLevel = (i: number): boolean => {
    const c = reference.cycle;
    const offCycle = c === null || !finite(c.ref[i]) || !(c.sigma > 0) || Math.abs(x[i] - c.ref[i]) / c.sigma > OUTLIER_Z;
    return offCycle && Math.abs(x[i] - reference.level) / reference.sigma > OUTLIER_Z;
  };
  for (let i = run.start; i < run.start + run.length; i++) if (!offLevel(i)) return false;
  // Its first reading off what the reference expected of it too (a model may follow the value later; a reading the
  // model expected, in a stretch it foresaw, is no value pinned off it).
  const r0 = run.start;
  if (!(Math.abs(x[r0] - reference.ref[r0]) / reference.scale[r0] > OUTLIER_Z)) return false;
  // Off the normal range too: beyond every normal reading before (a run at a value the stream reads now and then,
  // held after a spike, is no stuck value: the 6 h demo's `temperature 20.33 unchanged for 2 s` after a spike).
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of b) {
    if (!finite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo <= hi && run.hi >= lo && run.lo <= hi) return false;
  // The stretch's other readings off: off the level before and off what the reference expects of them (a cyclic
  // stream's readings after the run move with its cycle, away from the flat level before, as the model expects).
  let offReadings = run.length;
  for (let i = 0; i < x.length; i++) {
    if (i >= run.start && i < run.start + run.length) continue;
    if (offLevel(i) && Math.abs(x[i] - reference.ref[i]) / reference.scale[i] > OUTLIER_Z) offReadings++;
  }
  if (run.length < 0.5 * offReadings) return false;
  const ts = input.during.ts;
  const gaps = diffs(input.before.ts).filter((d) => d > 0);
  const usual = gaps.length > 0 ? median(gaps) : Number.NaN;
  if (finite(usual)) for (let i = run.start + 1; i < run.start + run.length; i++) if (ts[i] - ts[i - 1] > 3 * usual) return false;
  return true;
}

/**
 * A stuck value's draft for the run of one value `run` of the stretch (stuckRun's, or stillStuck's): the frozen
 * value, since its first reading, for as long as it lasted (to the judgement's time while it goes on), told against
 * the level before the episode (levelBefore), the same at every event of it, not what a model fed the frozen value
 * has come to expect since.
 */
function stuckDraft(input: ExplainInput, reference: Reference, run: { readonly start: number; readonly length: number; readonly lo?: number; readonly hi?: number }): Draft {
  const { ts, values } = input.during;
  const i = run.start;
  const last = run.start + run.length - 1;
  // At a resolve, a run that held to the episode's end (the next reading is its end or later) lasted to that end.
  const until = last === values.length - 1 ? Math.max(input.endTs, ts[last]) : input.ended === true && ts[last + 1] >= input.endTs && input.endTs > ts[last] ? input.endTs : ts[last];
  const froze = range(i, Math.min(last, i + BASELINE_READINGS - 1));
  // A pinned run that flickers by one step of the resolution: its range.
  const within = run.lo !== undefined && run.hi !== undefined && run.lo !== run.hi ? { within: { lo: run.lo, hi: run.hi } } : {};
  return { kind: 'stuck', value: values[i], ...levelBefore(reference, froze), since: ts[i], durationMs: until - ts[i], heldReadings: run.length, ...within };
}

/**
 * The stuck value a noise change of exactly zero is (noiseStretch's `still`: the readings in a row furthest from
 * the usual noise did not change at all, less the two largest changes): a spread of zero is a value that stopped
 * changing, told `stuck`, never a noise change `varies ± 0.00` (tryout 11, finding 2: a repeated freeze whose
 * stretch before held an earlier one was told so). The run is the stretch's longest of one value, with the readings
 * of that value just before the stretch it continues (moved into the stretch, as withOnset moves a stuck onset), at
 * least 5 readings, still going or at least half the stretch, as stuckRun's; not compared with the runs of the normal
 * stretch (the zero noise is what is rare). Null when there is no such run.
 */
function stillStuck(input: ExplainInput): Explanation | null {
  const b = input.before.values;
  const x = input.during.values;
  if (x.length === 0) return null;
  const own = longestRun(x);
  let lead = 0;
  if (own.start === 0) while (lead < b.length && b[b.length - 1 - lead] === x[0]) lead++;
  const moved = lead > 0 ? moveIntoStretch(input, b.length - lead) : input;
  const run = { start: own.start === 0 ? 0 : own.start + lead, length: own.length + lead };
  if (run.length < 5) return null;
  const ongoing = run.start + run.length === moved.during.values.length;
  if (!ongoing && run.length < 0.5 * moved.during.values.length) return null;
  return finish(moved, stuckDraft(moved, referenceFor(moved), run), moved.timeZone);
}

/**
 * The reading-to-reading noise of some readings in a row (sensor units): 1.4826 · MAD of their changes, / √2 (a change
 * holds two readings' noise); when that is 0 though most readings changed (the median change is not 0), the trimmed
 * root mean square of the changes (noiseLevel). A report-on-change stream (every reading a step of its resolution
 * from the one before) or a quantised one flickering between two adjacent values has changes of ± one step, more of
 * them one way than the other: their median is that step, their MAD 0, and its noise read as none (tryout 29, finding
 * 6: a noise burst on a 0.5 °C report-on-change sensor told a spike, its quiet before read as no noise at all, so no
 * noise change could be measured against it). A stream whose readings mostly did not change (a flat one) keeps 0.
 */
function changeNoise(values: readonly number[]): number {
  const d = diffs(values);
  const robust = robustSigma(d) / Math.SQRT2;
  if (robust > 0 || !(median(d.map(Math.abs)) > 0)) return robust;
  const rms = noiseLevel(values);
  return Number.isFinite(rms) ? rms : 0;
}

/**
 * From the readings alone: the reading-to-reading noise changed by more than 2.5x either way (changeNoise: robust,
 * 1.4826 · MAD of the changes, against the normal stretch's; where that is 0, a flat stream most of whose readings did
 * not change, against half its resolution (quantum), and then only a noise that grew counts), and the level stayed within 2 spreads (the median of `z` over the
 * stretch, give or take two standard errors of that median: 1.25 · σ / √n of the stretch's own z). The noise and the
 * level are measured over the readings from the first to the last beyond OUTLIER_Z spreads
 * (`outliers`, indices into `x`) when they span at least 8, else over the whole stretch: the readings that were off,
 * not the quiet ones the episode holds after them (the detector holds an episode until its evidence fades: tryout 11,
 * finding 4, a 40-reading ± 1.0 burst on 10 ± 0.1, the tryout's generator seed 6, held for 64 readings, measured
 * 2.3x over all of them and was resolved with no kind; over the 35 from its first to its last reading off, 12x).
 */
function noiseChange(before: readonly number[], x: readonly number[], z: readonly number[], outliers: readonly number[]): boolean {
  const off = outliers.length > 0 && outliers[outliers.length - 1] - outliers[0] + 1 >= 8;
  const xs = off ? x.slice(outliers[0], outliers[outliers.length - 1] + 1) : x;
  if (before.length < 8 || xs.length < 8) return false;
  const nd = changeNoise(xs);
  // A flat stream (most of its readings did not change: changeNoise 0) still has a noise it cannot show, under half
  // its resolution: a noise that grew is measured against that (tryout 30, finding 4: a 1 Hz sensor at 20.5, its
  // rare changes of ± 0.1, read as no noise at all, so a 120-reading burst of ± 1.5 °C was told a spike). A drop
  // below a noise that was never seen cannot be told: only growth is.
  const seen = changeNoise(before);
  const nb = seen > 0 ? seen : quantum(before, xs) / 2;
  if (!(nb > 0)) return false;
  const ratio = nd / nb;
  if (!(ratio > 2.5 || (seen > 0 && ratio < 0.4))) return false;
  // The level within 2 spreads, give or take two standard errors of the median of the stretch's own readings
  // (1.25 · σ / √n): the median of a burst's few noisy readings is that far off by chance alone (tryout 11, finding
  // 4's burst, seed 6, its 35 readings from the first to the last off, no quiet ones after them: median z −2.6).
  const zs = off ? z.slice(outliers[0], outliers[outliers.length - 1] + 1) : z;
  return Math.abs(median([...zs])) < 2 + (2 * 1.25 * robustSigma(zs)) / Math.sqrt(zs.length);
}

/**
 * A noise change told from the readings alone (noiseChange), or a stuck value when its readings did not change at all
 * (stillStuck), or null. Told only when the figures it is told with differ as much as a noise change named by the
 * evidence must (NOISE_CONFIRM either way): `varies ± 0.5, usually ± 0.4` is no change an operator would act on
 * (tryout 28, finding 7: a +4 °C level shift on a report-on-change sensor, whose readings' changes are its 0.5 steps,
 * told so). `z`, `outliers`: as noiseChange's. `louder`: only a noise that grew is told (null otherwise): what a spike
 * is checked against (readings around a spike that are calmer than usual are no reason to tell it otherwise: skab
 * valve2/2.csv's one-reading spike was told `varies ± 0.00020, usually ± 0.0005` without this).
 */
function noiseTold(input: ExplainInput, reference: Reference, x: readonly number[], z: readonly number[], outliers: readonly number[], louder = false): Explanation | null {
  if (!noiseChange(input.before.values, x, z, outliers)) return null;
  const nz = noiseStretch(input);
  if (louder) return nz !== null && !nz.still && nz.ratio >= NOISE_CONFIRM ? finish(input, noiseDraft(input, reference, nz), input.timeZone) : null;
  if (nz !== null && !nz.still && (nz.ratio >= NOISE_CONFIRM || nz.ratio <= 1 / NOISE_CONFIRM)) return finish(input, noiseDraft(input, reference, nz), input.timeZone);
  return nz !== null && nz.still ? stillStuck(input) : null;
}

/**
 * The noise level of some readings in a row: the root mean square of their changes, less the two largest and
 * the two smallest (a switch between a motor's modes, a spike, are one or two changes; as the detector's
 * `spread` trims its short mean), / √2 (a change holds two readings' noise). NaN with fewer than 2 changes left.
 */
export function noiseLevel(values: readonly number[]): number {
  const d = diffs(values)
    .map((v) => v * v)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const trim = d.length >= 8 ? 2 : 0;
  const kept = d.slice(trim, d.length - trim);
  if (kept.length < 2) return NaN;
  return Math.sqrt(kept.reduce((a, b) => a + b, 0) / kept.length) / Math.SQRT2;
}

/**
 * How noisy the episode was against usual, in the same measure for both (noiseLevel over NOISE_READINGS
 * readings in a row). `usual`: the median of that over every such run of the normal readings before the
 * episode. The episode's: the run, among those that end at one of its readings (the first ones reach back
 * into the readings before it: the detector's short mean that called the noise level rare did too, and the
 * first alert has one reading of its own), whose noise is furthest from usual either way. `since`: the first reading, from NOISE_READINGS - 1 readings before the
 * episode on, that changed by more than OUTLIER_Z noise spreads (when the noise grew and it is before the
 * episode's first reading), else the episode's first reading. `still`: the episode's noise is at the floor (half
 * the sensor's resolution) and some of those readings in a row did not change at all (less the two largest
 * changes): a spread of zero, a stuck value's (stillStuck). `ratio`: that run's noise over `usual`, what a noise change
 * is confirmed by (NOISE_CONFIRM). `varies`: the noise told, that run's, or when the noise grew the noise of the burst's
 * own readings from `since` on (burstNoise), when there are BURST_NOISE_READINGS of them. Null with too few readings
 * before or in it.
 */
function noiseStretch(input: ExplainInput): { usual: number; varies: number; ratio: number; since: number; still: boolean } | null {
  const b = input.before.values;
  const d = input.during;
  if (b.length < NOISE_READINGS + 8 || d.values.length === 0) return null;
  const floor = Math.max(quantum(b, d.values) / 2, 1e-9 * Math.max(1, Math.abs(median(b.slice(-BASELINE_READINGS)))));
  const levels: number[] = [];
  for (let end = NOISE_READINGS; end <= b.length; end++) levels.push(noiseLevel(b.slice(end - NOISE_READINGS, end)));
  const usual = Math.max(median(levels.filter(Number.isFinite)), floor);
  if (!Number.isFinite(usual)) return null;
  const lead = Math.min(NOISE_READINGS - 1, b.length);
  const values = [...b.slice(b.length - lead), ...d.values];
  const ts = [...input.before.ts.slice(b.length - lead), ...d.ts];
  let varies = NaN;
  let zero = false;
  for (let end = lead + 1; end <= values.length; end++) {
    const raw = noiseLevel(values.slice(Math.max(0, end - NOISE_READINGS), end));
    zero ||= raw === 0;
    const w = Math.max(raw, floor);
    if (Number.isFinite(w) && !(Math.abs(Math.log(w / usual)) <= Math.abs(Math.log(varies / usual)))) varies = w;
  }
  if (!Number.isFinite(varies)) return null;
  let since = d.ts[0];
  let first = lead;
  if (varies > usual) {
    for (let i = 1; i < lead + 1 && i < values.length; i++) {
      if (Math.abs(values[i] - values[i - 1]) > OUTLIER_Z * Math.SQRT2 * usual) {
        since = Math.min(since, ts[i]);
        first = i;
        break;
      }
    }
  }
  // At the floor, the furthest from usual a drop can be, and some readings in a row there did not change at all.
  const still = zero && varies <= floor;
  const ratio = varies / usual;
  // A burst's noise as told is that of its own readings (burstNoise), not of runs that reach back into the quiet ones
  // before it; whether it is told at all (`ratio`) is judged by the runs, as before.
  const own = varies > usual ? burstNoise(values, first, OUTLIER_Z * Math.SQRT2 * usual) : null;
  return { usual, varies: own !== null ? Math.max(own, floor) : varies, ratio, since, still };
}

/** Readings (from its first told on, to its last change beyond the quiet noise) a burst's own noise is measured over, at least (burstNoise): 2 changes, the fewest a spread is measured from. */
export const BURST_NOISE_READINGS = 3;

/**
 * The noise of a burst's own readings (noiseStretch; the leftovers finding 1: a ± 1.0 °C burst on a ± 0.05 °C room
 * sensor was told `varies ± 0.35` at its first readings, its figure the noise of NOISE_READINGS-reading runs that
 * reached back into the quiet readings before it, and 1.3 times its noise once all its readings were in, the largest
 * of many such runs). `values`: readings in a row (sensor units); `first`: the index of the burst's first told reading
 * (noiseStretch's `since`); `jump`: a change larger than this (sensor units: OUTLIER_Z quiet noise spreads of a
 * change) is the burst's. Measured over its readings from `first` to the last that changed by more than `jump` (not
 * the quiet ones an episode holds after a burst: tryout 11, finding 4), robust whatever its size and the sampling
 * rate: 1.4826 · MAD of the changes / √2 (src/explain/robust.ts robustSigma; the MAD: Hampel 1974, one far-off reading
 * among them does not widen it), times madSmallSample for the few changes of a burst's first readings (changeNoise's
 * root mean square when most of them are 0). Sensor units; null with fewer than BURST_NOISE_READINGS readings
 * there. Pure.
 */
function burstNoise(values: readonly number[], first: number, jump: number): number | null {
  let last = -1;
  for (let i = values.length - 1; i > first; i--) {
    if (Math.abs(values[i] - values[i - 1]) > jump) {
      last = i;
      break;
    }
  }
  if (last - first + 1 < BURST_NOISE_READINGS) return null;
  const own = values.slice(first, last + 1);
  const d = diffs(own);
  const robust = (madSmallSample(d.length) * robustSigma(d)) / Math.SQRT2;
  return robust > 0 ? robust : changeNoise(own);
}

/** A noise change as the sentence tells it: the usual noise as the band, the episode's as `noise`, the stretch's low median level (one of its readings: lowMedian). */
function noiseDraft(input: ExplainInput, reference: Reference, nz: { usual: number; varies: number; since: number }): Draft {
  const x = input.during.values;
  const level = levelBefore(reference, range(0, x.length - 1));
  return {
    kind: 'noise_change',
    value: lowMedian([...x]),
    expected: level.expected,
    band: BAND_SIGMAS * nz.usual,
    basis: level.basis,
    since: nz.since,
    noise: BAND_SIGMAS * nz.varies,
  };
}

// ---- the sentence ----

/**
 * `words`: the closing parentheses' words (toldAs: the kind's, or what the detector saw when the kind cannot be
 * told; null: nothing named). `rare`: where the normal readings lay around the value (whereNormalLay), said
 * instead of the expectation. `sent`: the stream's reading precision (readingPrecision: the decimals its device sends),
 * null when unknown. `instead`: what to say was expected when the value lies inside its own band (insteadOfBand).
 *
 * Numbers. Every reading and expectation (the value, what was expected, the last reading, where the normal readings
 * lay, what the cycle expected) is written with the stream's reading precision, `sent` decimals (formatReading): the
 * device's own, never more (tryout 22, finding 11: `85.00 °C` for a DS18B20's `85.0`) nor fewer (tryout 23, finding
 * 4: `last 21.1 °C` after `21.14`). A spread (a band, a noise) is no reading: its own one or two significant digits,
 * never more than the readings', and one finer than the sensor reads keeps a digit of its own, never `± 0.0`
 * (formatSpread). Without `sent` (no finite reading), the band's own decimals (decimalsFor). A rate: its own.
 */
function sentenceOf(
  stream: string,
  units: Units,
  d: Draft,
  endTs: number,
  timeZone: string | undefined,
  words: string | null,
  rare: { lo: number | null; hi: number | null } | null = null,
  sent: number | null = null,
  instead: InsteadOfBand | null = null,
  states: ExplainInput['states'] | null = null,
  timing: DutyTiming | null = null,
): string {
  const suffix = (unit: string | null | undefined): string => (unit != null && unit !== '' ? ` ${unit}` : '');
  const u = suffix(units.unit);
  // The expectation's own unit when the hub stated another one in between (never converted): `, expected 70.7 ± 0.2 °F`.
  const eu = units.expectedUnit !== undefined ? suffix(units.expectedUnit) : '';
  const note = units.note;
  // Readings with the stream's precision; a spread with its own one or two significant digits, never more than the
  // readings' (a DS18B20's `85.0 °C, expected 19.9 ± 0.2`), and a spread finer than the sensor reads with its own.
  const own = decimalsFor(d.band ?? d.noise ?? null, d.value ?? d.expected ?? null);
  const decimals = sent ?? own;
  const num = (v: number): string => formatReading(v, decimals);
  const spread = (v: number): string => formatSpread(v, Math.min(own, decimals));
  const when = (ts: number): string => clockTime(ts, endTs, timeZone);
  const label = words !== null || note !== null ? ` (${[words, note].filter((w) => w !== null).join(', ')})` : '';
  // A band that holds the value (as printed) is no reason: what was expected instead (insteadOfBand), after `since`.
  const holds = (e: number, b: number): boolean => d.value !== null && (Math.abs(d.value - e) <= b || Math.abs(Number(num(d.value).replace('−', '-')) - Number(num(e).replace('−', '-'))) <= Number(spread(b)));
  const inside = d.value !== null && d.expected !== null && d.band !== null && holds(d.expected, d.band);
  let expected = d.expected !== null && d.band !== null ? `, expected ${num(d.expected)} ± ${spread(d.band)}${eu}` : '';
  let after = '';
  if (inside && instead !== null) {
    expected = '';
    if (instead.cycle !== null && num(instead.cycle) !== num(d.value ?? NaN)) after = `, usually ${num(instead.cycle)}${eu !== '' ? eu : u} at this point of its cycle`;
    else if (instead.level !== null && !holds(instead.level.expected, instead.level.band)) expected = `, expected ${num(instead.level.expected)} ± ${spread(instead.level.band)}${eu}`;
    else after = ', within its normal range';
  } else if (inside) {
    expected = '';
    after = ', within its normal range';
  }
  // An on/off stream's reading is its state's name (ExplainInput.states): `last closed`, `open for 1 h`.
  if (states !== null) {
    const state = (v: number | null): string | null => (v === 1 ? states.on : v === 0 ? states.off : null);
    if (d.kind === 'missing_data') {
      const s = state(d.value);
      return `${stream} no reading for ${formatDuration(d.durationMs ?? 0)} since ${when(d.since)}${s !== null ? `, last ${s}` : ''}${label}`;
    }
    const s = state(d.value);
    // A state held far longer than ever before (src/pipeline/dwell.ts, OnOffDwell): told as that, not as a stuck value.
    if (s !== null && d.kind === 'stuck' && d.heldLongestMs !== undefined) return `${stream} ${s} for ${formatDuration(d.durationMs ?? 0)} since ${when(d.since)}, never longer than ${formatDuration(d.heldLongestMs)} before (stuck: state held${note !== null ? `, ${note}` : ''})`;
    if (s !== null) return `${stream} ${s} since ${when(d.since)}${label}`;
  }
  // Off a duty cycle's usual timing (dutyTiming): its state since it began, against how long it (or the state before
  // it) usually lasts: `plug/power 0 W for 42 min since 07:51, usually 30 min ± 20 s (off the usual cycle)`.
  if (timing !== null) {
    const usually = timing.dwells >= DUTY_MIN_DWELLS ? `usually ${formatDuration(timing.usualMs)} ± ${formatDuration(timing.spreadMs)}` : `${formatDuration(timing.usualMs)} the time before`;
    if (timing.how === 'long') return `${stream} ${num(timing.level)}${u} for ${formatDuration(timing.durationMs)} since ${when(timing.since)}, ${usually}${label}`;
    return `${stream} ${num(timing.level)}${u} since ${when(timing.since)}, after ${num(timing.prevLevel)}${u} for only ${formatDuration(timing.durationMs)}, ${usually}${label}`;
  }
  switch (d.kind) {
    case 'missing_data': {
      const last = d.value !== null ? `, last ${num(d.value)}${u}` : '';
      return `${stream} no reading for ${formatDuration(d.durationMs ?? 0)} since ${when(d.since)}${last}${label}`;
    }
    case 'stuck': {
      // A state held (the dwell model): its level for that long, against the longest the stream held it before.
      if (d.heldLongestMs !== undefined) return `${stream} ${num(d.value ?? NaN)}${u} for ${formatDuration(d.durationMs ?? 0)} since ${when(d.since)}, never longer than ${formatDuration(d.heldLongestMs)} before${label}`;
      const duration = d.durationMs ?? 0;
      // How long it held, in time; in readings when that would read `0 s` (its readings came within half a second, a
      // sensor's buffered lines stamped on arrival: tryout 31, finding 3, `85.00 unchanged for 0 s`). Never `0 s`.
      const n = d.heldReadings;
      const held = formatDuration(duration) === formatDuration(0) && n !== undefined && n > 0 ? `${n} reading${n === 1 ? '' : 's'}` : formatDuration(duration);
      // The frozen value exactly as the sensor sends it: it often says what failed (85.0 on a DS18B20; a float32
      // 20.37), and its expectation with as many decimals, so a value 0.017 from it does not read as off.
      // A value that flickers by one step of the resolution (pinnedRun) is told as its range: `84.94–85.00`.
      const vd = Math.max(decimals, decimalPlaces(d.value ?? 0), d.within !== undefined ? Math.max(decimalPlaces(d.within.lo), decimalPlaces(d.within.hi)) : 0);
      const frozen = d.within !== undefined ? `${formatReading(d.within.lo, vd)}–${formatReading(d.within.hi, vd)}` : formatReading(d.value ?? NaN, vd);
      if (inside) {
        // Inside the range: what is off is how long it stays unchanged, against the longest the readings before did.
        const longest = instead?.heldLongestMs ?? null;
        const told =
          longest === null || !(duration > longest) || formatDuration(duration) === formatDuration(longest) ? '' : longest > 0 ? `, never longer than ${formatDuration(longest)} before` : ', never repeated before';
        return `${stream} ${frozen}${u} unchanged for ${held} since ${when(d.since)}${told}${label}`;
      }
      const exp = d.expected !== null && d.band !== null ? `, expected ${formatReading(d.expected, vd)} ± ${spread(d.band)}${eu}` : '';
      return `${stream} ${frozen}${u} unchanged for ${held}${exp} since ${when(d.since)}${label}`;
    }
    case 'spike':
      return `${stream} ${num(d.value ?? NaN)}${u}${expected} at ${when(d.since)}${after}${label}`;
    case 'noise_change': {
      // The noise itself, as it is and as it usually is: its level may well be inside the usual band. A noise far
      // below the usual one with as many digits as it needs, never `± 0.00` (a zero noise is a stuck value).
      const noise = d.noise ?? NaN;
      const nd = Math.min(own, decimals);
      return `${stream} varies ± ${formatNumber(noise, Math.max(nd, decimalsFor(noise, null)))}${u}, usually ± ${formatNumber(d.band ?? NaN, Math.max(nd, decimalsFor(d.band ?? null, null)))}${eu} since ${when(d.since)}${label}`;
    }
    case 'drift': {
      const rate = d.ratePerHour ?? 0;
      const r = `${rate >= 0 ? '+' : '−'}${formatNumber(Math.abs(rate), decimalsFor(Math.abs(rate), null))}${u}/h`;
      // Told from the detector's level excursion (excursionDrift): since its onset, how far beyond anything seen.
      if (d.beyondSeen !== undefined) {
        const up = d.beyondSeen >= 0;
        return `${stream} ${num(d.value ?? NaN)}${u}, drifting ${up ? 'up' : 'down'} since ${when(d.since)}, ${up ? '+' : '−'}${num(Math.abs(d.beyondSeen))}${u} ${up ? 'above' : 'below'} anything seen (${words ?? KIND_LABELS.drift}, ${r}${note !== null ? `, ${note}` : ''})`;
      }
      return `${stream} ${num(d.value ?? NaN)}${u}${expected} since ${when(d.since)}${after} (${words ?? KIND_LABELS.drift}, ${r}${note !== null ? `, ${note}` : ''})`;
    }
    case 'level_shift':
    case 'counter_reset': // told by explainCounterReset, never drafted from readings
    case 'counting_fast': // told by explainCounterRate, never drafted from readings
    case 'continuous_flow': // told by explainCounterBusy, never drafted from readings
    case 'device_offline': // told by src/daemon/availability.ts, never drafted from readings
    case 'alarm': // told by explainAlarm, never drafted from readings
    case 'relation': // told by src/daemon/relations.ts, never drafted from readings
    case null: {
      if (d.value === null) return `${stream}: unusual readings since ${when(d.since)}${label}`;
      let context = expected;
      if (rare !== null) {
        after = '';
        if (rare.lo !== null && rare.hi !== null) context = `, between the normal readings near ${num(rare.lo)} and ${num(rare.hi)}${eu}`;
        else if (rare.lo !== null) context = `, above the normal readings (up to ${num(rare.lo)}${eu})`;
        else if (rare.hi !== null) context = `, below the normal readings (down to ${num(rare.hi)}${eu})`;
      }
      return `${stream} ${num(d.value)}${u}${context} since ${when(d.since)}${after}${label}`;
    }
  }
}

/** A reading with the stream's reading precision: the one rule (src/util/reading.ts), re-exported for the sentences' callers. */
export { formatReading };

/**
 * A spread (a band's half-width; sensor units, ≥ 0) with `decimals` (sentenceOf: its own one or two significant
 * digits, at most the readings' decimals), or, for a spread that would print as 0 with them (finer than the sensor
 * reads), with its own (decimalsFor), never `± 0.0`.
 */
export function formatSpread(v: number, decimals: number): string {
  const d = clamp(Math.round(decimals), 0, 6);
  return formatNumber(v, v > 0 && Number(v.toFixed(d)) === 0 ? Math.max(d, decimalsFor(v, null)) : d);
}

/**
 * Decimals that show the band with one or two significant digits (0.2 -> 1, 0.15 -> 2, 5 -> 0), so value,
 * expectation and band are written alike; without a band, three significant digits of the value.
 */
export function decimalsFor(band: number | null, value: number | null): number {
  if (band !== null && Number.isFinite(band) && band > 0) {
    const e = Math.floor(Math.log10(band));
    const lead = band / 10 ** e;
    return clamp(-e + (lead < 2 ? 1 : 0), 0, 6);
  }
  if (value !== null && Number.isFinite(value) && value !== 0) return clamp(2 - Math.floor(Math.log10(Math.abs(value))), 0, 6);
  return 1;
}

/** Decimals in the shortest form of `v` (at most 6): robust.ts decimalPlaces. */
const decimalsOf = decimalPlaces;

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Fixed decimals with a proper minus sign and no "-0". */
export function formatNumber(v: number, decimals: number): string {
  if (!Number.isFinite(v)) return '?';
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s.replace(/^-/, '−');
}

/** 40 s, 25 min, 3 h, 2.5 d: the one rule for durations (src/util/duration.ts), re-exported for the sentences' callers. */
export { formatDuration };

/**
 * clockTime's formatter for a zone (undefined: the host's), made once per zone and kept: making one costs a good
 * part of a millisecond, and each sentence asks for two. The host's zone is keyed by the TZ variable, which is how
 * it changes while the process runs (Node resets ICU's default zone when TZ is set), so a formatter of the host's
 * zone is never one of a zone it no longer has. Bounded: at most CLOCK_FORMATS zones (then it starts over).
 */
function clockFormat(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone !== undefined ? `zone ${timeZone}` : `host ${process.env.TZ ?? ''}`;
  let fmt = CLOCK_FORMAT.get(key);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (CLOCK_FORMAT.size >= CLOCK_FORMATS) CLOCK_FORMAT.clear();
    CLOCK_FORMAT.set(key, fmt);
  }
  return fmt;
}

const CLOCK_FORMATS = 64;
const CLOCK_FORMAT = new Map<string, Intl.DateTimeFormat>();

/** HH:MM in the zone; with the date (YYYY-MM-DD HH:MM) when `ts` is not on the same day as `reference`. */
export function clockTime(ts: number, reference: number, timeZone?: string): string {
  const fmt = clockFormat(timeZone);
  const parts = (t: number): Record<string, string> => Object.fromEntries(fmt.formatToParts(new Date(t)).map((p) => [p.type, p.value]));
  const a = parts(ts);
  const b = parts(reference);
  const hm = `${a.hour}:${a.minute}`;
  return a.year === b.year && a.month === b.month && a.day === b.day ? hm : `${a.year}-${a.month}-${a.day} ${hm}`;
}

/** At most `max` readings of a stretch for a message or a record, evenly thinned (the extremes are kept). */
export function thinStretch(s: Stretch, max: number): Stretch {
  const idx = thinIndices(s.values.length, max);
  if (idx.length === s.values.length) return s;
  const keep = new Set(idx);
  // Keep the highest and the lowest reading too: a spike must not be thinned away.
  let hi = 0;
  let lo = 0;
  s.values.forEach((v, i) => {
    if (v > s.values[hi]) hi = i;
    if (v < s.values[lo]) lo = i;
  });
  keep.add(hi);
  keep.add(lo);
  const sorted = [...keep].sort((a, b) => a - b);
  return {
    ts: sorted.map((i) => s.ts[i]),
    values: sorted.map((i) => s.values[i]),
    expected: s.expected ? sorted.map((i) => s.expected![i]) : null,
    spread: s.spread ? sorted.map((i) => s.spread![i]) : null,
  };
}

/**
 * The stretch's readings (input.during.values, sensor units) with those not far off the normal as NaN: within
 * OUTLIER_Z spreads of the level before or, for a cyclic stream, of its own cycle (pinnedRun's test of a pinned run's
 * readings). pinnedRun looks for its run among the others only (a NaN ends a run): a quantised sensor's readings back
 * at the normal repeat often (a DS18B20's 12.0000 four times in a row), and when such a run at the normal level was
 * the stretch's longest, the 85.0 read three times before it was judged no pinned value, and the episode told
 * `85.000 unchanged … (stuck value)` was retold `85.000 … (spike)` once its stretch held 13 readings (tryout 28,
 * finding 1). All NaN without a level before.
 */
function offTheNormal(input: ExplainInput, reference: Reference): number[] {
  const c = reference.cycle;
  return input.during.values.map((v, i) => {
    const offCycle = c === null || !finite(c.ref[i]) || !(c.sigma > 0) || Math.abs(v - c.ref[i]) / c.sigma > OUTLIER_Z;
    return offCycle && Math.abs(v - reference.level) / reference.sigma > OUTLIER_Z ? v : Number.NaN;
  });
}
