/**
 * What a replay tells of its episodes: each episode's kind and sentence as the daemon's alerts and its record of the
 * episode (`anomalies list`/`show`, GET /api/anomalies, the dashboard) give them for the same readings (tryout 26,
 * finding 8: replay's output had no kind or sentence, so a history's faults could be told only by publishing it
 * live). One source of truth: the daemon's own SignalBook (src/daemon/signals.ts) explains them, by the daemon's
 * rules (src/daemon.ts onReading and touchOpenEpisodes): every event explained (SignalBook.explainAlert), an update
 * that repeats its episode's last alert or tells the same fault only longer not taken; a reading far beyond what its
 * episode told (SignalBook.farther); an open episode told again once its readings tell its kind (retell), a stuck
 * value's length and a drift's latest reading followed (retellStuck, retellDrift), as its record follows them. The
 * daemon does that on its housekeeping tick (every 10 s of wall time); here after each reading of the episode's
 * stream, the daemon's pace for a sensor read every 10 s or slower. In memory only (no store), for one replay.
 */
import { pino } from 'pino';
import type { AlertExplanation, AnomalyKind } from '../contract/alerts.js';
import type { AnomalyEvent, ScoredReading } from '../contract/types.js';
import { SignalBook } from '../daemon/signals.js';
import type { Detector } from '../pipeline/detector.js';
import type { MessageParser } from '../pipeline/parse.js';

/** One episode as a replay tells it (its record's fields in the daemon's store). */
export interface ToldEpisode {
  /** The detector's id of the episode (replay's are `replay-<n>`, deterministic). */
  readonly id: string;
  readonly stream: string;
  /** Epoch ms of its first reading. */
  readonly startTs: number;
  /**
   * Epoch ms: once resolved, its end as its record gives it (SignalBook.resolvedEnd: the first reading back); while
   * open (at the end of the input), its last reading that held it.
   */
  readonly endTs: number;
  /** Its length in readings (AnomalyEvent.windows: to its last reading that held it). */
  readonly readings: number;
  /** The kind its record tells (AnomalyKind: `level_shift`, `spike`, `stuck`, `noise_change`, `missing_data`, …), null when none was told. */
  readonly kind: AnomalyKind | null;
  /** Its one-line explanation as its record tells it; null when none could be built. */
  readonly sentence: string | null;
  /** `recovered`, `new_normal`, or null while open at the end of the input. */
  readonly resolution: string | null;
}

export interface EpisodeTellerOptions {
  /** `pattern=unit` entries (explain.units). */
  readonly units: readonly string[];
  /** IANA zone of the clock times in sentences (explain.timeZone); null = the system's. */
  readonly timeZone: string | null;
  /** The replay's parser: a hub's stated unit and an on/off stream's words (as the daemon's SignalBook has them). */
  readonly parser?: MessageParser;
}

/** What a reading of a stream tells of its open episode: the kind and sentence its record has after it. */
export interface ToldNow {
  readonly kind: AnomalyKind | null;
  readonly sentence: string | null;
}

export class EpisodeTeller {
  private readonly book: SignalBook;
  /** Episodes by id, in the order they opened; the record's explanation as it stands. */
  private readonly episodes = new Map<string, { ep: ToldEpisode; explanation: AlertExplanation | null }>();

  constructor(opts: EpisodeTellerOptions) {
    const parser = opts.parser;
    this.book = new SignalBook({
      units: opts.units,
      timeZone: opts.timeZone,
      persist: null,
      logger: pino({ level: 'silent' }),
      ...(parser !== undefined ? { stated: (stream: string) => parser.statedUnit(stream), onOff: (stream: string) => parser.onOffWords(stream) } : {}),
    });
  }

  /**
   * Takes one scored reading of the detector and the events it brought, in the detector's order, and returns what
   * the record of the reading's open episode tells after it (null when the stream has no open episode after it).
   * Never throws (SignalBook's methods log and carry on).
   */
  reading(detector: Detector, reading: ScoredReading, events: readonly AnomalyEvent[]): ToldNow | null {
    const book = this.book;
    book.record(reading);
    for (const ev of events) {
      const told = book.explainAlert(ev);
      // An update the daemon would not send (it repeats, or only tells the same fault longer) is not stored either.
      if (ev.kind === 'update' && (told.repeats || told.onlyLonger)) {
        this.progress(ev);
        continue;
      }
      this.note(ev.kind === 'resolve' ? { ...ev, endTs: book.resolvedEnd(ev) } : ev, told.explanation);
    }
    if (reading.anomalyId === null) return null;
    const far = book.farther(reading, detector.openPeak(reading.stream));
    if (far !== null) this.note(far.event, far.explanation);
    const open = detector.openPeak(reading.stream);
    if (open !== null) {
      const told = book.retell(open.id, open.lastAboveTs, open.readings, undefined, open.excursion);
      if (told !== null) this.note(told.event, told.explanation);
      else {
        const kept = book.retellStuck(open.id, open.lastAboveTs, open.readings) ?? book.retellDrift(open.id, open.lastAboveTs, open.readings);
        this.touch(open.id, open.lastAboveTs, open.readings, kept);
      }
    }
    const held = this.episodes.get(reading.anomalyId);
    if (held === undefined) return null;
    return { kind: held.explanation?.kind ?? null, sentence: held.explanation?.sentence ?? null };
  }

  /** Every episode told so far, in the order they opened (those still open with their end so far). */
  told(): ToldEpisode[] {
    return [...this.episodes.values()].map((x) => x.ep);
  }

  /** An event stored as the daemon stores it: the record's explanation is the event's, else the one it had. */
  private note(ev: AnomalyEvent, explanation: AlertExplanation | null): void {
    const held = this.episodes.get(ev.anomalyId);
    const kept = explanation ?? held?.explanation ?? null;
    const resolved = held?.ep.resolution ?? null;
    const resolution = ev.kind === 'resolve' ? (ev.resolution ?? 'recovered') : resolved;
    this.episodes.set(ev.anomalyId, {
      explanation: kept,
      ep: {
        id: ev.anomalyId,
        stream: ev.sensor,
        startTs: held?.ep.startTs ?? ev.startTs,
        endTs: resolved !== null ? held!.ep.endTs : Math.max(ev.endTs, held?.ep.endTs ?? -Infinity),
        readings: resolved !== null ? held!.ep.readings : Math.max(ev.windows, held?.ep.readings ?? 0),
        kind: kept?.kind ?? null,
        sentence: kept?.sentence ?? null,
        resolution,
      },
    });
  }

  /** An event not stored (an update held back): its progress only, as the daemon's touch of the record writes it. */
  private progress(ev: AnomalyEvent): void {
    this.touch(ev.anomalyId, ev.endTs, ev.windows, null);
  }

  /** The record's progress (SqliteStore.touchAnomaly): its end and length never move back; an explanation given replaces the one it had. */
  private touch(id: string, endTs: number, readings: number, explanation: AlertExplanation | null): void {
    const held = this.episodes.get(id);
    if (held === undefined || held.ep.resolution !== null) return;
    const kept = explanation ?? held.explanation;
    this.episodes.set(id, {
      explanation: kept,
      ep: { ...held.ep, endTs: Math.max(held.ep.endTs, endTs), readings: Math.max(held.ep.readings, readings), kind: kept?.kind ?? null, sentence: kept?.sentence ?? null },
    });
  }
}
