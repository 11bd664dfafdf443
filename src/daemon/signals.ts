/**
 * What the daemon keeps of each stream's signal for people: the series store (readings, expectation and
 * surprise for the dashboard's 1 h / 24 h / 7 d plots, persisted as time buckets) and the explanation of
 * each anomaly episode built from it (kind, sentence, the stretch): ONE per episode, kept here and carried
 * by every alert of the episode, the anomaly record (which stores what the latest alert carried) and the
 * log. One owner (the daemon) feeds it every scored reading of the detector, asks it for explanations,
 * flushes it periodically and closes it at stop.
 */
import type { Logger } from 'pino';
import { alertFigures, type AlertExplanation } from '../contract/alerts.js';
import type { SeriesBucketStore } from '../contract/series.js';
import type { AnomalyEvent, ScoredReading } from '../contract/types.js';
import { episodeExplanation, explainEpisode, strongest, toAlertExplanation } from '../explain/episode.js';
import { EVIDENCE_LABELS } from '../explain/explain.js';
import { compileUnits, unitOf, type UnitRule } from '../explain/units.js';
import { SeriesStore, surpriseOf, type SeriesPoint } from '../pipeline/series.js';

/** Normal readings before an episode kept as its baseline, and first readings of it kept for the whole episode. */
const BEFORE_POINTS = 600;
const HEAD_POINTS = 256;
/** Open episodes tracked at most (each holds ≤ 856 readings); beyond, the oldest are forgotten. */
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
   * The explanation stored with an episode this book does not know (the daemon's record of it, e.g. after a
   * restart): the one a later event of it starts from. Absent: none.
   */
  readonly recorded?: (anomalyId: string) => AlertExplanation | null;
}

interface OpenEpisode {
  readonly before: SeriesPoint[];
  readonly head: SeriesPoint[];
  /** The episode's latest event: what a retelling between events starts from (its start, channels, evidence). */
  last: AnomalyEvent;
  /** The episode's explanation as its latest event carried it; null before the first or when none could be built. */
  explanation: AlertExplanation | null;
  /** The episode's peak (peakOf) when its explanation's kind was told; null before one was (or after a restart). */
  toldAtPeak: string | null;
  /** An episode first seen after its open (a restart): when its recorded explanation said it began, epoch ms. */
  readonly beganBy?: number;
}

export class SignalBook {
  readonly series: SeriesStore;
  private readonly units: UnitRule[];
  private readonly open = new Map<string, OpenEpisode>();
  private readonly log: Logger;

  constructor(private readonly opts: SignalBookOptions) {
    this.units = compileUnits(opts.units);
    this.log = opts.logger;
    this.series = new SeriesStore({ persist: opts.persist, ...(opts.now ? { now: opts.now } : {}) });
  }

  unitOf(stream: string): string | null {
    return unitOf(this.units, stream);
  }

  record(r: ScoredReading): void {
    this.series.record(r);
  }

  /**
   * The episode's explanation as it stands after this event, for its alert and its record: each event
   * rebuilds it from the stream's recorded readings (the baseline taken when the episode is first seen, the
   * first readings of the episode kept for its whole life) and keeps the one the episode had unless the new
   * one says more (episodeExplanation: a kind told, or a stronger reading when neither tells one; another kind
   * than the one told only when the episode's peak moved since: peakOf). So every alert of an episode and its
   * record tell one story: its strongest reading, and the kind that carried its peak once told. Null
   * when none can be built (no readings at all); never throws (a failure is logged and the alert carries the
   * episode's explanation so far, or none).
   */
  explain(ev: AnomalyEvent): AlertExplanation | null {
    let episode: OpenEpisode | null = null;
    try {
      episode = this.episodeOf(ev);
      episode.last = ev;
      const fresh = this.explainEvent(ev, episode);
      const peak = peakOf(ev);
      const kept = episodeExplanation(episode.explanation, fresh, episode.toldAtPeak === peak);
      if (kept !== null && kept === fresh && kept.kind !== null) episode.toldAtPeak = peak;
      episode.explanation = kept;
    } catch (err) {
      this.log.warn({ err, anomalyId: ev.anomalyId, sensor: ev.sensor }, 'could not explain an anomaly event; alert sent with the episode’s explanation so far');
    } finally {
      if (ev.kind === 'resolve') this.open.delete(ev.anomalyId);
    }
    return episode?.explanation ?? null;
  }

  /**
   * Between events: the open episode's explanation told again from the readings recorded since, when it has
   * no kind yet (an episode opens on its first anomalous reading, when a jump cannot yet be told a spike from
   * a level shift). When it now tells a kind, returns it with the `update` event that carries it (the
   * episode's latest event, at `lastAboveTs`, epoch ms, the episode's last reading that held it, and
   * `readings` long), and keeps both as the episode's; otherwise null (nothing to retell, the episode unknown
   * to this book, or still no kind). The caller stores the event, then alerts (store, then alert). Never
   * throws (a failure is logged, null returned).
   */
  retell(anomalyId: string, lastAboveTs: number, readings: number): { readonly event: AnomalyEvent; readonly explanation: AlertExplanation } | null {
    const episode = this.open.get(anomalyId);
    if (episode === undefined || (episode.explanation !== null && episode.explanation.kind !== null)) return null;
    try {
      const event: AnomalyEvent = { ...episode.last, kind: 'update', endTs: Math.max(episode.last.endTs, lastAboveTs), windows: Math.max(episode.last.windows, readings) };
      const fresh = this.explainEvent(event, episode);
      if (fresh === null || fresh.kind === null) return null;
      episode.explanation = fresh;
      episode.toldAtPeak = peakOf(event);
      episode.last = event;
      return { event, explanation: fresh };
    } catch (err) {
      this.log.warn({ err, anomalyId }, 'could not retell an open anomaly');
      return null;
    }
  }

  private episodeOf(ev: AnomalyEvent): OpenEpisode {
    let episode = this.open.get(ev.anomalyId);
    if (episode === undefined) {
      // The newest BEFORE_POINTS normal readings before the episode (not a point object for every reading held).
      const before = this.series.lastNormalPoints(ev.sensor, ev.startTs - 1, BEFORE_POINTS);
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
      episode = { before, head: [], last: ev, explanation: recorded, toldAtPeak: null, ...(Number.isFinite(began) ? { beganBy: began } : {}) };
      this.open.set(ev.anomalyId, episode);
      if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value!);
    }
    return episode;
  }

  private explainEvent(ev: AnomalyEvent, episode: OpenEpisode): AlertExplanation | null {
    const stream = ev.sensor;
    // A resolve describes the anomalous stretch, up to its last reading that held the episode and the first
    // one after it that did not (so a jump that came back within range is told a spike), not the rest of
    // the recovery that resolved it.
    let recent = this.series.points(stream, ev.startTs);
    if (ev.kind === 'resolve') {
      const after = recent.findIndex((p) => p.ts > ev.endTs);
      if (after >= 0) recent = recent.slice(0, after + 1);
    }
    const headEnd = episode.head.length > 0 ? episode.head[episode.head.length - 1].ts : -Infinity;
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
    const lastHead = episode.head.length > 0 ? episode.head[episode.head.length - 1].ts : -Infinity;
    const tail = recent.filter((p) => p.ts > lastHead);
    if (episode.before.length === 0 && episode.head.length === 0 && tail.length === 0) return null;
    const omittedBefore = tail.length > 0 && episode.head.length > 0 && ringStart > lastHead ? [tail[0].ts] : [];
    const channels = this.series.channelsOf(stream) ?? ev.channels;
    const e = explainEpisode({
      stream,
      channels,
      unit: this.unitOf(stream),
      before: episode.before,
      during: [...episode.head, ...tail],
      channelErrors: ev.channelErrors.length === channels.length ? ev.channelErrors : null,
      startTs: ev.startTs,
      endTs: ev.endTs,
      ...(this.opts.timeZone !== null ? { timeZone: this.opts.timeZone } : {}),
      omittedBefore,
      evidence: ev.evidence ?? null,
      threshold: surpriseOf(ev.threshold),
      ...(episode.beganBy !== undefined ? { beganBy: episode.beganBy } : {}),
    });
    return toAlertExplanation(e);
  }

  /** Forgets a stream's raw readings (an idle stream evicted by the daemon); its stored buckets stay. */
  forget(stream: string): void {
    this.series.forget(stream);
  }

  /** Writes closed buckets when due; logs (never throws) when the database refuses them. */
  flush(): void {
    try {
      this.series.flush();
    } catch (err) {
      this.log.warn({ err }, 'could not store dashboard series buckets; they stay queued');
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
  const what = explanation?.sentence ?? `${ev.sensor}: unusual readings${seen !== null && EVIDENCE_LABELS[seen] !== undefined ? ` (${EVIDENCE_LABELS[seen]})` : ''}`;
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
    `alert ${ev.kind}: ${what} (${alertFigures(ev)}${ev.resolution === 'new_normal' ? ', accepted as the new normal' : ''}, id ${ev.anomalyId})`,
  );
}
