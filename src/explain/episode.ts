/**
 * An episode's explanation as alerts, records and the dashboard carry it: the kind and sentence of
 * `explain()` for the channel that stands out, each channel's share when a stream has several (a channel
 * group), and the anomalous stretch itself (thinned) with what was expected of it; and which of an
 * episode's explanations it keeps (episodeExplanation: one per episode). Pure.
 */
import type { AlertExplanation } from '../contract/alerts.js';
import type { AnomalyKind } from '../contract/alerts.js';
import type { AnomalyEvent } from '../contract/types.js';
import { BAND_SIGMAS, clockTime, EVIDENCE_KINDS, explain, thinStretch, withOnset, type Explanation, type Stretch, type UnitChange } from './explain.js';
import { robustSigma } from './robust.js';

/** Readings stored or sent with an explanation: at most this many points of the stretch. */
export const MAX_STRETCH_POINTS = 60;

/** One scored reading as the explainer needs it (a subset of contract ScoredReading). */
export interface ExplainPoint {
  /** Epoch ms. */
  readonly ts: number;
  /** Sensor units, one per channel. */
  readonly values: readonly number[];
  readonly expected: readonly number[] | null;
  /** One standard deviation, sensor units, one per channel. */
  readonly spread: readonly number[] | null;
}

export interface ChannelShare {
  readonly name: string;
  /** Share of the episode's deviation in [0, 1]; the shares of a stream add up to 1. */
  readonly share: number;
}

export interface EpisodeExplanation extends Explanation {
  readonly stream: string;
  /** The channel the sentence is about. */
  readonly channel: string;
  /** Each channel's share, for a stream of several channels; null for one. */
  readonly shares: readonly ChannelShare[] | null;
  /** The anomalous stretch of `channel` (at most MAX_STRETCH_POINTS readings), with what was expected of it. */
  readonly stretch: Stretch;
}

export interface EpisodeInput {
  readonly stream: string;
  readonly channels: readonly string[];
  /** The stream's unit (with unitChanges: the one stated now), null or absent when unknown. */
  readonly unit?: string | null;
  /** See ExplainInput.unitChanges: the stream's stated unit changes, oldest first (readings are never converted). */
  readonly unitChanges?: readonly UnitChange[];
  /** Normal readings before the episode, oldest first. */
  readonly before: readonly ExplainPoint[];
  /** Readings of the episode so far, oldest first. */
  readonly during: readonly ExplainPoint[];
  /** Per-channel error from the model (any non-negative scale), when it gives one: the shares come from it. */
  readonly channelErrors?: readonly number[] | null;
  readonly startTs: number;
  readonly endTs: number;
  /** See ExplainInput.toldAt: when told (a late reading's arrival, epoch ms); clock times on another day carry their date. */
  readonly toldAt?: number;
  readonly timeZone?: string;
  /** See ExplainInput.omittedBefore: readings left out before these times are not a silence. */
  readonly omittedBefore?: readonly number[];
  /**
   * Surprise of each kind of evidence at the episode's peak (AnomalyEvent.evidence): the strongest is what
   * the sentence names when the kind cannot be told (ExplainInput.seen).
   */
  readonly evidence?: Readonly<Record<string, number>> | null;
  /**
   * The detector's threshold, as a surprise (−log10 of a probability): a kind of evidence at least this strong
   * at the peak would have opened the episode on its own (namedKind). Absent: only the strongest counts.
   */
  readonly threshold?: number;
  /** See ExplainInput.beganBy: when the episode's readings before `during` are gone (a restart), when it began, epoch ms. */
  readonly beganBy?: number;
  /** See ExplainInput.onsetKnown: `during` begins where the caller says (no onset moved into it from `before`). */
  readonly onsetKnown?: boolean;
  /** See ExplainInput.ended: the event is the episode's resolve, `endTs` its end, to which a length told is counted. */
  readonly ended?: boolean;
  /** AnomalyEvent.held: the channel (index of `channels`) that holds a state far longer than its dwells there; see ExplainInput.held. */
  readonly held?: { readonly channel: number; readonly since: number; readonly longestMs: number; readonly level?: number };
  /** AnomalyEvent.excursion: the channel (index of `channels`) whose level drifted beyond everything it had shown; see ExplainInput.excursion. */
  readonly excursion?: AnomalyEvent['excursion'];
  /** See ExplainInput.states: an on/off stream's states' names (its reading 1's, 0's). Absent: told as numbers. */
  readonly states?: { readonly on: string; readonly off: string };
  /** Per channel, the most decimals its readings were ever sent with (SeriesStore.sentDecimals; ExplainInput.sentDecimals). */
  readonly sentDecimals?: readonly number[];
}

/** Explains an episode of one stream. Never throws on short, empty or ragged input. */
export function explainEpisode(input: EpisodeInput): EpisodeExplanation {
  const C = Math.max(1, input.channels.length);
  const stretches = Array.from({ length: C }, (_, c) => ({ before: stretchOf(input.before, c), during: stretchOf(input.during, c) }));
  // Each channel's readings, with those of the anomaly that preceded the episode moved into its stretch.
  const inputs = stretches.map((s, c) =>
    withOnset({
      stream: input.stream,
      unit: input.unit,
      ...(input.unitChanges !== undefined && input.unitChanges.length > 0 ? { unitChanges: input.unitChanges } : {}),
      before: s.before,
      during: s.during,
      startTs: input.startTs,
      endTs: input.endTs,
      ...(input.toldAt !== undefined ? { toldAt: input.toldAt } : {}),
      timeZone: input.timeZone,
      omittedBefore: input.omittedBefore,
      seen: strongest(input.evidence ?? null),
      evidenceKind: namedKind(input.evidence ?? null, input.threshold),
      ...(input.beganBy !== undefined ? { beganBy: input.beganBy } : {}),
      ...(input.onsetKnown === true ? { onsetKnown: true } : {}),
      ...(input.ended === true ? { ended: true } : {}),
      ...(input.held !== undefined && input.held.channel === c ? { held: { since: input.held.since, longestMs: input.held.longestMs, ...(input.held.level !== undefined ? { level: input.held.level } : {}) } } : {}),
      ...(input.excursion !== undefined && input.excursion.channel === c ? { excursion: { since: input.excursion.since, up: input.excursion.up, lo: input.excursion.lo, hi: input.excursion.hi, ...(input.excursion.expected !== undefined && input.excursion.value !== undefined && input.excursion.at !== undefined ? { cycle: { expected: input.excursion.expected, value: input.excursion.value, at: input.excursion.at } } : {}) } } : {}),
      ...(input.states !== undefined && C === 1 ? { states: input.states } : {}),
      ...(input.sentDecimals !== undefined && input.sentDecimals[c] !== undefined && input.sentDecimals[c] >= 0 ? { sentDecimals: input.sentDecimals[c] } : {}),
    }),
  );
  const explanations = inputs.map(explain);
  const severity = explanations.map(severityOf);
  const shares = C > 1 ? sharesOf(input.channels, input.channelErrors ?? null, severity) : null;
  let culprit = 0;
  if (shares !== null) shares.forEach((s, c) => (s.share > shares[culprit].share ? (culprit = c) : undefined));
  const channel = input.channels[culprit] ?? 'value';
  const base = explanations[culprit];
  const sentence = C > 1 ? base.sentence.replace(input.stream, `${input.stream} ${channel}`) : base.sentence;
  return { ...base, sentence, stream: input.stream, channel, shares, stretch: thinStretch(inputs[culprit].during, MAX_STRETCH_POINTS) };
}

/**
 * A reading at least this many times as far from what an episode's alert told it against as that alert reached
 * (toldReach) is news the episode's next `update` tells, whatever the kind told (docs/ALERTS.md, "Alert payload"):
 * the same factor as the detector's "tenfold rarer", in the sensor's units.
 */
export const FARTHER = 10;

/** What an alert told, in the sensor's units (toldReach): the level it was told against and how far from it it went. */
export interface ToldReach {
  /** What the readings were told against: the explanation's expectation, else the level before the episode. */
  readonly center: number;
  /** How far from `center` what was told went (> 0): its value's distance, its band, a noise change's noise. */
  readonly reach: number;
}

/**
 * How far an alert's explanation `told` reached, for telling whether a later reading goes far beyond it (FARTHER):
 * its center is what it was told against (`expected`), or, without one (missing data: `last 20.6`; a kind not told
 * without a model), the level before the episode (`baseline`: its median ± BAND_SIGMAS spreads, as the explanation
 * takes it); its reach the largest of its value's distance from the center, its band (± BAND_SIGMAS of the normal
 * readings), the noise a noise change told (± its spread), the baseline's band and the distance from the center of
 * the farthest normal reading before the episode (`lo`, `hi`: their range, when known). That last one is what the
 * stream did while normal, which a band of its last readings' noise does not show: a slow cycle's swing (tryout 17's
 * `19.0 + 0.5·sin(k/90)`, frozen at 19.22 and told `expected 19.29 ± 0.06`, back at 18.46 half a cycle later) is no
 * reading far beyond what was told, however far from that band. Null for an alert told in no such figures (a
 * counter reset's step, a device offline) or when nothing positive can be had. Pure.
 */
export function toldReach(
  told: AlertExplanation,
  baseline: { readonly level: number; readonly band: number; readonly lo?: number; readonly hi?: number } | null,
): ToldReach | null {
  if (told.kind === 'counter_reset' || told.kind === 'counting_fast' || told.kind === 'continuous_flow' || told.kind === 'device_offline' || told.kind === 'alarm' || told.kind === 'relation') return null;
  const fin = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  const center = fin(told.expected) ? told.expected : baseline !== null && fin(baseline.level) ? baseline.level : fin(told.value) ? told.value : null;
  if (center === null) return null;
  let reach = 0;
  if (fin(told.value)) reach = Math.abs(told.value - center);
  if (fin(told.band)) reach = Math.max(reach, told.band);
  if (fin(told.noise)) reach = Math.max(reach, told.noise);
  if (baseline !== null && fin(baseline.band)) reach = Math.max(reach, baseline.band);
  if (baseline !== null && fin(baseline.lo)) reach = Math.max(reach, Math.abs(baseline.lo - center));
  if (baseline !== null && fin(baseline.hi)) reach = Math.max(reach, Math.abs(baseline.hi - center));
  return reach > 0 ? { center, reach } : null;
}

/**
 * Whether explanation `e` tells reading `x` (sensor units) of its stretch, as far as `told` (toldReach) measures it:
 * it tells a kind, and its value lies at least half as far from the center as `x`, on the same side of it (but a noise
 * change's); a noise change's reach is its value's distance plus its readings' own spread (noiseReach), or its noise.
 * A drift told up to its latest reading, a noise change whose noise grew with it, a level shift whose level is
 * the reading's; not a level shift of 12 for a reading of 1000, nor a kind-less "worst reading" of the whole
 * episode (its `since` is the episode's, not that reading's). Pure.
 */
export function tellsReading(e: AlertExplanation, told: ToldReach, x: number): boolean {
  if (e.kind === null || e.kind === 'missing_data' || e.kind === 'counter_reset' || e.kind === 'counting_fast' || e.kind === 'continuous_flow' || e.kind === 'device_offline' || e.kind === 'alarm' || e.kind === 'relation') return false;
  const far = Math.abs(x - told.center);
  // A value on the other side of the center tells another fault, not this reading (an 85.0 stuck, then −127.00 around a
  // normal 12: tryout 28, finding 1), however far it went; a noise change's noise has no side.
  if (e.kind !== 'noise_change' && e.value !== null && Number.isFinite(e.value) && (e.value - told.center) * (x - told.center) < 0) return false;
  const value = e.value !== null && Number.isFinite(e.value) ? Math.abs(e.value - told.center) : 0;
  const own = e.kind === 'noise_change' ? Math.max(value, e.noise ?? 0, noiseReach(e, told.center)) : value;
  return own >= 0.5 * far;
}

/**
 * How far from `center` (sensor units) a noise change's readings reach (tellsReading): its level's distance from it
 * (its `value`, the median of its readings) plus ± BAND_SIGMAS robust spreads (1.4826 · MAD, src/explain/robust.ts
 * robustSigma) of the readings of its stretch (`stretch.values`), 0 with fewer than 3 of them. Its `noise` (noiseStretch's NOISE_READINGS-reading runs, the first
 * ones reaching back into the quiet readings before the episode) tells the burst's first few readings at a fraction of
 * their noise; its readings' own spread does not (the burstlate finding: a ± 1.0 °C burst on a ± 0.05 °C room sensor,
 * told `varies ± 0.35` at its 4th reading, whose 17.43 °C, 1.6 °C below the level before, was then told on its own as a
 * reading far beyond that: the noise change left untold until its 19th reading). Robust, so a single reading far beyond
 * a noise change among its readings (a 3000 W reading in a noisy plug's stretch) does not widen it. Pure.
 */
function noiseReach(e: AlertExplanation, center: number): number {
  const xs = e.stretch.values.filter(Number.isFinite);
  if (xs.length < 3 || e.value === null || !Number.isFinite(e.value)) return 0;
  return Math.abs(e.value - center) + BAND_SIGMAS * robustSigma(xs);
}

/** The kind of evidence with the largest finite surprise, or null. */
export function strongest(evidence: Readonly<Record<string, number>> | null): string | null {
  let best: string | null = null;
  for (const [k, v] of Object.entries(evidence ?? {})) if (Number.isFinite(v) && (best === null || v > evidence![best])) best = k;
  return best;
}

/**
 * The kind of fault the detector's evidence at the episode's peak names (EVIDENCE_KINDS: a noise change, a
 * stuck value), or null: that of its strongest kind of evidence, else that of the strongest one naming a kind
 * that reached `threshold` (surprise) on its own, which alone would have opened the episode (a burst of noise
 * whose values were also rarely seen, a little more so).
 */
export function namedKind(evidence: Readonly<Record<string, number>> | null, threshold?: number): AnomalyKind | null {
  const top = strongest(evidence);
  if (top === null) return null;
  if (EVIDENCE_KINDS[top] !== undefined) return EVIDENCE_KINDS[top];
  if (threshold === undefined || !Number.isFinite(threshold)) return null;
  const named = Object.fromEntries(Object.entries(evidence ?? {}).filter(([k, v]) => EVIDENCE_KINDS[k] !== undefined && v >= threshold));
  const best = strongest(named);
  return best !== null ? EVIDENCE_KINDS[best] : null;
}

function stretchOf(points: readonly ExplainPoint[], c: number): Stretch {
  const ok = points.filter((p) => Number.isFinite(p.values[c]));
  const anyExpected = ok.some((p) => p.expected !== null);
  return {
    ts: ok.map((p) => p.ts),
    values: ok.map((p) => p.values[c]),
    expected: anyExpected ? ok.map((p) => (p.expected !== null && Number.isFinite(p.expected[c]) ? p.expected[c] : null)) : null,
    spread: anyExpected ? ok.map((p) => (p.spread !== null && Number.isFinite(p.spread[c]) ? p.spread[c] : null)) : null,
  };
}

/** How far from normal, in bands: what picks the culprit when the model gives no channel errors. */
function severityOf(e: Explanation): number {
  if (e.value === null || e.expected === null || e.band === null || !(e.band > 0)) return e.kind !== null ? 1 : 0;
  return Math.abs(e.value - e.expected) / e.band;
}

function sharesOf(names: readonly string[], errors: readonly number[] | null, severity: readonly number[]): ChannelShare[] {
  const raw = errors !== null && errors.length === names.length && errors.every((e) => Number.isFinite(e) && e >= 0) ? errors : severity;
  const total = raw.reduce((a, b) => a + b, 0);
  return names.map((name, c) => ({ name, share: total > 0 ? raw[c] / total : 1 / names.length }));
}

/**
 * One explanation per episode: the one an episode has (`kept`, what its latest alert carried; null before
 * the first) against the one rebuilt at its next event (`fresh`; null when none could be built). The fresh
 * one is taken when it tells a kind (later readings show what the episode was, e.g. a spike only once a
 * reading is back within range, a level shift once it held), or when neither tells one and it describes a
 * stronger reading (further from what was expected, in bands). Otherwise the kept one stays: an episode's
 * explanation never goes back from a kind to none, nor from its strongest reading to a weaker or a later one
 * that is back near normal. `samePeak`: the episode's peak (its strongest reading, and the evidence that
 * carried it) is the one it had when the kept explanation told its kind; then a fresh one telling another
 * kind is not taken either: the kind is the one that carried the episode's peak, not what its later, weaker
 * readings look like (a noise burst's last readings are no drift; its aftermath no spike). A new peak may
 * tell another kind, and so may more readings of a kind told from an episode's first few (the caller passes
 * `samePeak` false then: SignalBook's provisional kinds). Pure.
 */
export function episodeExplanation(kept: AlertExplanation | null, fresh: AlertExplanation | null, samePeak = false): AlertExplanation | null {
  if (fresh === null) return kept;
  if (kept === null) return fresh;
  if (fresh.kind !== null) return samePeak && kept.kind !== null && kept.kind !== fresh.kind ? kept : fresh;
  if (kept.kind !== null) return kept;
  return strengthOf(fresh) > strengthOf(kept) ? fresh : kept;
}

/**
 * An explanation kept for an event (episodeExplanation kept an earlier one: its kind once told at the same peak, or
 * fresh readings that tell no kind, as after a restart whose SignalBook holds none of the episode's readings) with
 * the stream's stated unit changes that came after the readings it told, up to `untilTs` (epoch ms, the event's
 * last reading, or the first one after a resolve's end), added: to `unit_changes` and to the sentence's note
 * (`unit changed °F → °C at 07:51` becomes `…, → °F at 07:52`; a sentence without one gets `unit changed °C → °F at
 * 07:52` in its parentheses). Its figures stay those of the readings it told, each in its own unit. Tryout 17,
 * finding 2: a resolve after the hub went back to °F across a restart said only `→ °C`, as if the device were still
 * in °C. Returns `kept` itself when there is nothing to add (and for a counter reset, which tells one reading).
 */
export function withLaterUnitChanges(kept: AlertExplanation, changes: readonly UnitChange[] | undefined, untilTs: number, timeZone?: string): AlertExplanation {
  if (changes === undefined || changes.length === 0 || kept.kind === 'counter_reset') return kept;
  const told = kept.unit_changes ?? [];
  const lastTold = told.length > 0 ? Date.parse(told[told.length - 1].at) : -Infinity;
  const stretchEnd = kept.stretch.ts.length > 0 ? kept.stretch.ts[kept.stretch.ts.length - 1] : Date.parse(kept.since);
  const after = Math.max(lastTold, Number.isFinite(stretchEnd) ? stretchEnd : -Infinity);
  const added = changes.filter((c) => c.ts > after && c.ts <= untilTs);
  if (added.length === 0) return kept;
  const words = added.map((c, i) => `${i === 0 && told.length === 0 ? `${c.from} ` : ''}→ ${c.to} at ${clockTime(c.ts, untilTs, timeZone)}`).join(', ');
  const note = told.length === 0 ? `unit changed ${words}` : words;
  // The note is the last item of the parentheses that end every sentence that has one (explain.ts sentenceOf).
  const sentence = kept.sentence.endsWith(')') ? `${kept.sentence.slice(0, -1)}, ${note})` : `${kept.sentence} (${note})`;
  return { ...kept, sentence, unit_changes: [...told, ...added.map((c) => ({ at: new Date(c.ts).toISOString(), from: c.from, to: c.to }))] };
}

/** How far the described reading is from what was expected, in bands; -1 without the figures. */
function strengthOf(e: AlertExplanation): number {
  if (e.value === null || e.expected === null || e.band === null || !(e.band > 0)) return -1;
  return Math.abs(e.value - e.expected) / e.band;
}

/** The explanation as alerts carry it (schema 2, snake_case); numbers rounded to 7 significant digits. */
export function toAlertExplanation(e: EpisodeExplanation): AlertExplanation {
  const r = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : Number(v.toPrecision(7)));
  const { stretch } = e;
  return {
    kind: e.kind,
    sentence: e.sentence,
    stream: e.stream,
    channel: e.channel,
    unit: e.unit,
    ...(e.expectedUnit !== undefined ? { expected_unit: e.expectedUnit } : {}),
    ...(e.unitChanges !== undefined && e.unitChanges.length > 0 ? { unit_changes: e.unitChanges.map((c) => ({ at: new Date(c.ts).toISOString(), from: c.from, to: c.to })) } : {}),
    value: r(e.value),
    expected: r(e.expected),
    band: r(e.band),
    basis: e.basis,
    since: new Date(e.since).toISOString(),
    ...(e.durationMs !== undefined ? { duration_ms: Math.round(e.durationMs) } : {}),
    ...(e.ratePerHour !== undefined ? { rate_per_hour: r(e.ratePerHour) ?? 0 } : {}),
    ...(e.noise !== undefined ? { noise: r(e.noise) ?? 0 } : {}),
    shares: e.shares === null ? null : e.shares.map((s) => ({ name: s.name, share: r(s.share) ?? 0 })),
    stretch: {
      ts: [...stretch.ts],
      values: stretch.values.map((v) => r(v) ?? NaN),
      expected: stretch.expected ? stretch.expected.map((v) => r(v)) : null,
      band: stretch.spread ? stretch.spread.map((v) => (v === null ? null : r(BAND_SIGMAS * v))) : null,
    },
  };
}
