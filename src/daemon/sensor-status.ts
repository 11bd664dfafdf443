/**
 * Each sensor's status (learning / ok / anomalous / stale) as operators see it (`learning`: the scorer's
 * learning period, not the sensor's own model, whose progress ownModelOf gives): derived from the detector's
 * state, published retained on <prefix>/state/<sensor> whenever it (or the sensor's model) changes, and while the sensor
 * learns its own model, when its learning progress moved on (progressed: bounded, never per reading), and
 * listed for the HTTP API. `stale` is judged on the wall clock against the stream's own interval: no
 * accepted reading for alerts.staleAfter of its intervals.
 *
 * The state's `since` is always data time (the readings' own timestamps, as every alert time is): the reading
 * that brought the status, or, for a status found without a reading (`stale`, judged on the wall clock; a model
 * installed; a restored sensor at start), the sensor's newest reading: a stale sensor is stale since its last
 * reading (tryout 11, finding 5.3: `stale` carried the wall time of the sweep, every other status data time).
 *
 * A state published while its stream's readings came far faster than their times move (a backfill: days of history
 * sent in seconds) told a point inside that history: its `since` and `learning_progress` stayed as they were there,
 * hours or days behind, once the backfill was over (a new user's tryout, session 29, finding 2). So it is published
 * again, with the stream's newest reading's time as its `since` and its learning progress then, once the backfill is
 * over (caughtUp): no reading of the stream for QUIET_MS, or its newest arrived on time.
 */
import type { Logger } from 'pino';
import type { SensorStatus } from '../contract/types.js';
import { DENSE_RATIO, LATE_INTERVALS, LATE_MIN_MS, QUIET_MS } from '../pipeline/backfill.js';
import type { AnomalyKind, SensorStatePayload } from '../contract/alerts.js';
import { ownModelFraction, type OwnModelProgress } from '../contract/own-model.js';

/**
 * A live sensor's retained state is published again for its own model's learning progress (`learning_progress`) once
 * that moved on by this much (a fraction of learning.minReadings: every tenth of its learning)...
 */
export const PROGRESS_STEP = 0.1;
/** ... and at least this long after the state was last published (ms, wall clock), whichever comes later. */
export const PROGRESS_REPUBLISH_MS = 10 * 60_000;

/** What the board reads of the detector and the learner. */
export interface StatusSource {
  /** The sensor's model id, or null while it has none. */
  modelOf(sensor: string): string | null;
  /** True while the sensor may not alert yet: the scorer's learning period, or no model (learning.fallback: false). */
  learning(sensor: string): boolean;
  /** The open episode's id, or null. */
  openAnomaly(sensor: string): string | null;
  /** How far the sensor's own model is (Learner.ownModel), or null when it is not learning one. */
  ownModel(sensor: string): OwnModelProgress | null;
  /** The stream's learnt reading interval in ms (0 or undefined while unknown). */
  intervalOf(sensor: string): number | undefined;
  /**
   * True when the stream keeps quiet on its own (a report-on-change sensor: Detector.ownQuiet), so its silence is its
   * value unchanged while usual; false or absent: a periodic stream, stale after `staleAfter` of its intervals.
   */
  ownQuiet?(sensor: string): boolean;
  /**
   * True when the stream's silence is judged while it lasts (Detector.silenceJudged: its interval learnt, its
   * learning period over, or in it by the young and settled rules there; and it may alert); absent: judged once its
   * interval is known and it is not learning.
   */
  silenceJudged?(sensor: string): boolean;
  /** True while the stream's silence is told (an open `missing data` episode: Detector.silenceOpen); absent: never. */
  silenceTold?(sensor: string): boolean;
  /**
   * An on/off stream's held-state judgement, how far (Detector.heldProgress: `have` of the `needed` dwells of its
   * `active` state, 1 or 0); null or absent for any other stream.
   */
  heldProgress?(sensor: string): { readonly have: number; readonly needed: number; readonly active: 0 | 1 } | null;
  /**
   * Data time (epoch ms) of the sensor's newest scored reading, also one restored from its checkpoint; null or
   * absent when none is known (the board then uses the wall clock).
   */
  newestReadingTs?(sensor: string): number | null;
  /**
   * The open episode of the sensor's device while the device says it is offline (src/daemon/availability.ts: one
   * `device_offline` episode of the device, none of the stream), else null or absent. Told in the sensor's state
   * when the sensor has no open episode of its own; its status stays the sensor's own (it goes `stale`, never
   * `anomalous`, for it).
   */
  deviceEpisode?(sensor: string): { readonly anomalyId: string; readonly sentence: string } | null;
  /**
   * What the open episode `id` of the sensor's state tells (`device`: its device's `device_offline` one): its kind
   * (null while not told), when the fault began (epoch ms, data time; null when unknown) and its sentence (null when
   * none), as its stored record tells them now; null or absent: only its id is told. Read when the episode opens and
   * after episodeMoved, never per reading.
   */
  episodeTold?(sensor: string, episode: { readonly id: string; readonly device: boolean }): EpisodeTold | null;
}

/** An open episode as the state payload tells it (its `episode_*` keys, the score payload's: contract/ha-discovery.ts). */
export interface EpisodeTold {
  readonly kind: AnomalyKind | null;
  /** Epoch ms (data time), or null when not known. */
  readonly since: number | null;
  readonly sentence: string | null;
}

/**
 * A sensor's arrival as its checkpoint carries it (SensorStatusBoard.arrivalOf / restoreArrival): `arrivedAt`, the
 * board's latest arrival (epoch ms, the wall clock less the downtimes of earlier restarts: what `stale` counts
 * from); `heardAt`, when its latest reading really arrived (epoch ms, the wall clock). Both stay as they are while
 * the sensor is silent, so an idle sensor's checkpoint row does not change and is not rewritten (checkpoint format
 * 2's unchanged rows); its silence at the stop is the checkpoint's time less `arrivedAt`.
 */
export interface StoredArrival {
  readonly arrivedAt: number;
  readonly heardAt: number;
}

export interface SensorStatusOptions {
  /** No accepted reading for this many of the stream's intervals (wall clock) means stale; 0 = never. */
  readonly staleAfter: number;
  /**
   * window.resetAfter (readings): a report-on-change stream whose silence is not judged yet (statusWith) is stale only
   * after more than this many missing readings, as its cadence fills them as unchanged (default 0: staleAfter alone).
   */
  readonly resetAfter?: number;
  readonly now: () => number;
  readonly logger: Logger;
  /** Publishes the retained state payload of a sensor. Never throws; failures are the publisher's to log. */
  readonly publish: (sensor: string, payload: SensorStatePayload) => void;
  /** Deletes the sensor's retained state (publishes an empty retained message). Never throws. */
  readonly clear?: (sensor: string) => void;
  /** Logs a status change (default: one info line each); the daemon bounds how many per interval. */
  readonly logStatus?: (detail: Record<string, unknown>) => void;
}

export class SensorStatusBoard {
  private readonly status = new Map<string, SensorStatus>();
  /**
   * Per sensor, what its retained state says now (compared at each refresh: its status, its model id, '' for none, its
   * open episode, '' for none, and what it told of that episode) and the payload that said it (republishAll).
   */
  private readonly published = new Map<
    string,
    {
      readonly status: SensorStatus;
      readonly model: string;
      readonly anomaly: string;
      readonly hidden: string;
      readonly told: EpisodeTold | null;
      readonly payload: SensorStatePayload;
      /** The payload's `since` (epoch ms, data time) and when it was published (epoch ms, `now`'s clock). */
      readonly dataTs: number;
      readonly at: number;
    }
  >();
  /** Sensors whose open episode's record moved (an event, a retelling) since their state was published (episodeMoved). */
  private readonly moved = new Set<string>();
  /**
   * Per sensor, when its silence counts from (wall clock, epoch ms): its latest accepted reading's arrival in this
   * run; for a sensor restored at start and not heard since, the start less the silence it had at the stop
   * (restoreArrival: the daemon's downtime is not the sensor's silence).
   */
  private readonly lastArrival = new Map<string, number>();
  /** Per sensor, when its latest accepted reading really arrived (wall clock, epoch ms), across restarts. */
  private readonly heard = new Map<string, number>();

  constructor(
    private readonly source: StatusSource,
    private readonly opts: SensorStatusOptions,
  ) {}

  /** A reading of the sensor was accepted now. */
  arrived(sensor: string): void {
    const now = this.opts.now();
    this.lastArrival.set(sensor, now);
    this.heard.set(sensor, now);
  }

  /**
   * A sensor restored at start with its arrival as its checkpoint stored it (arrivalOf): its silence goes on from
   * what it was at the stop (`asOf − arrivedAt`, ms: `asOf` is when the checkpoint was last known current, epoch
   * ms; default now), the time the daemon was down not counted, so a sensor `stale` at the stop is `stale` at the
   * start and a live one `ok` (tryout 12, finding 4: every stale sensor was published `ok` at the start and `stale`
   * again staleAfter intervals later); `heardAt` (epoch ms) is when its latest reading really arrived. A negative
   * or non-finite silence counts as none.
   */
  restoreArrival(sensor: string, a: StoredArrival, asOf?: number): void {
    const now = this.opts.now();
    const silentMs = (asOf ?? now) - a.arrivedAt;
    const silent = Number.isFinite(silentMs) && silentMs > 0 ? silentMs : 0;
    this.lastArrival.set(sensor, now - silent);
    this.heard.set(sensor, Number.isFinite(a.heardAt) ? Math.min(a.heardAt, now - silent) : now - silent);
  }

  /** Whether an arrival of the sensor is known (a reading accepted in this run, or one restored). */
  hasArrival(sensor: string): boolean {
    return this.lastArrival.has(sensor);
  }

  /**
   * The sensor's arrival for its checkpoint (StoredArrival: the board's latest arrival, and when its latest reading
   * really arrived, epoch ms; neither moves while the sensor is silent); null when none is known.
   */
  arrivalOf(sensor: string): StoredArrival | null {
    const at = this.lastArrival.get(sensor);
    if (at === undefined) return null;
    return { arrivedAt: at, heardAt: this.heard.get(sensor) ?? at };
  }

  /** When the sensor's latest reading really arrived (wall clock, epoch ms, across restarts); null when unknown. */
  heardAt(sensor: string): number | null {
    return this.heard.get(sensor) ?? null;
  }

  /** Each sensor with a reading accepted, and when its latest arrived (wall clock, epoch ms: `now`'s). */
  arrivals(): IterableIterator<[string, number]> {
    return this.lastArrival.entries();
  }

  /** Sensors that have been seen (a reading accepted or a status published). */
  sensors(): string[] {
    return [...new Set([...this.status.keys(), ...this.lastArrival.keys()])];
  }

  has(sensor: string): boolean {
    return this.status.has(sensor);
  }

  statusOf(sensor: string): SensorStatus {
    return this.statusWith(sensor, this.source.modelOf(sensor), this.source.openAnomaly(sensor));
  }

  /** statusOf with the sensor's model id and open episode already asked of the source (refresh needs them too). */
  private statusWith(sensor: string, model: string | null, anomalyId: string | null): SensorStatus {
    const interval = this.source.intervalOf(sensor) ?? 0;
    const arrived = this.lastArrival.get(sensor);
    if (this.opts.staleAfter > 0 && interval > 0 && arrived !== undefined && this.opts.now() - arrived > this.opts.staleAfter * interval && !this.unchanged(sensor, this.opts.now() - arrived, interval)) return 'stale';
    if (model === null || this.source.learning(sensor)) return 'learning';
    return anomalyId !== null ? 'anomalous' : 'ok';
  }

  /**
   * Whether a silence of `silentMs` (ms, beyond staleAfter intervals) of a stream that keeps quiet on its own (a
   * report-on-change sensor: StatusSource.ownQuiet) is its value unchanged, not stale (issue 10: its silence is
   * "unchanged", up to a horizon). Its interval is the median gap between its readings, which come close together
   * while it changes: staleAfter of them is shorter than its heartbeat, and it went stale and back at each heartbeat
   * (tryout 29, finding 9). While its silence is judged (silenceJudged) the horizon is the detector's: unchanged until
   * its silence is told rare against its own arrivals (silenceTold: a `missing data` episode), so stale exactly while
   * that episode is open; before (its learning period), up to `resetAfter` + 1 intervals (the span its cadence fills
   * as unchanged). Not while its device says it is offline (deviceEpisode): stale as any stream.
   */
  private unchanged(sensor: string, silentMs: number, interval: number): boolean {
    if (this.source.ownQuiet?.(sensor) !== true) return false;
    if (this.source.deviceEpisode?.(sensor) != null) return false;
    if (this.silenceJudged(sensor)) return this.source.silenceTold?.(sensor) !== true;
    return silentMs <= ((this.opts.resetAfter ?? 0) + 1) * interval;
  }

  /**
   * False while the sensor's silence is not judged (docs/ALERTS.md, "When a silence is told"): in its learning period
   * before its 6th reading, before its 32nd unless a value repeated on time and it showed no quiet of its own, and while
   * it is taken to send changes only (Detector.silenceJudged); or while it may not alert (no model:
   * learning.fallback false); a `stale` sensor then is not alerted however long it is silent. True once it is judged
   * (a silence of more than `window.resetAfter` intervals, or of one interval or more once longer than a link may stall
   * unnoticed: Detector.judgeSilence; while the daemon hears and the sensor's device does not say it is offline).
   */
  silenceJudged(sensor: string): boolean {
    if (!((this.source.intervalOf(sensor) ?? 0) > 0)) return false;
    return this.source.silenceJudged?.(sensor) ?? !this.source.learning(sensor);
  }

  /**
   * The open episode the sensor's state carries (what refresh publishes as its `anomaly_id`): its own of any kind
   * (a silence's `missing data` too, whose sensor is `stale`, not `anomalous`), else, while its device says it is offline, the device's `device_offline` episode (`device`
   * true: docs/ALERTS.md, "A device that says it is offline": each stream of the device carries it); null with
   * neither. What /api/sensors and the dashboard tell (tryout 24, finding 2: the device's streams said none).
   */
  episodeOf(sensor: string): { readonly id: string; readonly device: boolean } | null {
    // The device's word comes first (tryout 30, finding 6): while it says it is offline, its episode is what the
    // operator must see on each of its streams, whatever episode of its own a stream has open.
    const device = this.source.deviceEpisode?.(sensor) ?? null;
    if (device !== null) return { id: device.anomalyId, device: true };
    const mine = this.source.openAnomaly(sensor);
    return mine !== null ? { id: mine, device: false } : null;
  }

  /** How far an on/off stream's held-state judgement is (StatusSource.heldProgress), or null (for the HTTP API). */
  heldProgressOf(sensor: string): { readonly have: number; readonly needed: number; readonly active: 0 | 1 } | null {
    return this.source.heldProgress?.(sensor) ?? null;
  }

  /** How far the sensor's own model is, or null when it is not learning one (for the HTTP API). */
  ownModelOf(sensor: string): OwnModelProgress | null {
    return this.source.ownModel(sensor);
  }

  /**
   * Publishes the sensor's retained state when its status or model changed. `ts`: the data time (epoch ms) of the
   * reading that is scored now, the `since` it reports; absent when no reading brought the change (a wall-clock
   * sweep, a model installed): `since` is then the data time of the sensor's newest reading (newestReadingTs; the
   * wall clock when none is known).
   */
  refresh(sensor: string, ts?: number): void {
    const model = this.source.modelOf(sensor);
    // An open episode is told whatever the status (a silence is `stale` while its `missing data` episode is open):
    // Home Assistant's problem sensor reads it (contract/ha-discovery.ts).
    const mine = this.source.openAnomaly(sensor);
    const status = this.statusWith(sensor, model, mine);
    // While its device says it is offline, the device's episode: the stream's problem entity is on for it, the
    // device's id, kind and sentence among its attributes (tryout 16's device_offline had none), also over an
    // episode of the stream's own, which is kept as `stream_anomaly_id` (tryout 30, finding 6: a drift's id with no
    // kind nor sentence hid the device's word).
    const device = this.source.deviceEpisode?.(sensor) ?? null;
    const anomalyId = device?.anomalyId ?? mine ?? null;
    const hidden = device !== null ? mine : null;
    // Compared field by field: no key string built for every reading.
    const last = this.published.get(sensor);
    const same = last !== undefined && last.status === status && last.model === (model ?? '') && last.anomaly === (anomalyId ?? '') && last.hidden === (hidden ?? '');
    // What the episode tells (its kind, since, sentence, as the score payload does), read from its record when it
    // opens and when its record moved (episodeMoved), not per reading; published again when it told something new.
    const moved = this.moved.delete(sensor);
    let told = last?.told ?? null;
    if (anomalyId === null) told = null;
    else if (!same || moved) told = this.source.episodeTold?.(sensor, { id: anomalyId, device: device !== null }) ?? null;
    // Nothing the state tells changed, but a backfill moved the stream far past what it told (caughtUp): published
    // again, since its newest reading, with its learning progress now.
    const again = same && last !== undefined && ts === undefined && this.caughtUp(sensor, last);
    // Nothing else changed, but its own model's learning progress moved on far enough, and long enough ago (progressed).
    const onward = same && last !== undefined && !again && sameTold(last.told, told) && this.progressed(sensor, last);
    if (same && last !== undefined && sameTold(last.told, told) && !again && !onward) return;
    this.status.set(sensor, status);
    const own = this.source.ownModel(sensor);
    const now = this.opts.now();
    const since = ts ?? this.source.newestReadingTs?.(sensor) ?? now;
    const payload: SensorStatePayload = {
      status,
      since: new Date(since).toISOString(),
      in_episode: anomalyId !== null,
      ...(anomalyId !== null ? { anomaly_id: anomalyId } : {}),
      ...(device !== null ? { kind: 'device_offline' as const, sentence: device.sentence } : {}),
      ...(anomalyId !== null ? { episode_kind: told?.kind ?? (device !== null ? ('device_offline' as const) : null) } : {}),
      ...(told?.since != null ? { episode_since: new Date(told.since).toISOString() } : {}),
      ...(anomalyId !== null && (told?.sentence ?? device?.sentence) != null ? { episode_sentence: told?.sentence ?? device!.sentence } : {}),
      ...(hidden !== null ? { stream_anomaly_id: hidden } : {}),
      ...(model !== null ? { model } : {}),
      ...(own !== null && own.phase !== 'stopped' ? { learning_progress: Math.round(ownModelFraction(own) * 100) / 100 } : {}),
    };
    this.published.set(sensor, { status, model: model ?? '', anomaly: anomalyId ?? '', hidden: hidden ?? '', told, payload, dataTs: since, at: now });
    // A state published again after a backfill, or for its learning progress, is no change of status: not logged as one.
    if (!again && !onward) {
      if (this.opts.logStatus) this.opts.logStatus({ sensor, status, model });
      else this.opts.logger.info({ sensor, status, model }, 'sensor status');
    }
    this.opts.publish(sensor, payload);
  }

  /**
   * Whether the sensor's published `learning_progress` is behind its own model's (StatusSource.ownModel, as
   * ownModelFraction): at least PROGRESS_STEP on (or it appeared or went: learning began, or stopped) and at least
   * PROGRESS_REPUBLISH_MS (wall clock) since the state was last published, whichever comes later, so a live sensor's
   * Home Assistant card follows its learning (the leftovers finding 3: published only at a status or model change, its
   * progress stayed at its first value for hours) at most once every PROGRESS_REPUBLISH_MS and 1 / PROGRESS_STEP
   * times over a learning, never per reading. The wall clock is read first: the progress is asked of the learner only
   * when that much time has passed.
   */
  private progressed(sensor: string, last: { readonly payload: SensorStatePayload; readonly at: number }): boolean {
    if (this.opts.now() - last.at < PROGRESS_REPUBLISH_MS) return false;
    const own = this.source.ownModel(sensor);
    const now = own !== null && own.phase !== 'stopped' ? Math.round(ownModelFraction(own) * 100) / 100 : null;
    const told = last.payload.learning_progress ?? null;
    if (now === null || told === null) return now !== told;
    return Math.abs(now - told) >= PROGRESS_STEP - 1e-9;
  }

  /**
   * Whether the sensor's published state is behind a backfill that is over: since it was published (its `since`,
   * `last.dataTs`, data time; at `last.at`, wall clock), the stream's newest reading moved on at least DENSE_RATIO times
   * faster than the wall clock, and by DENSE_RATIO · QUIET_MS at least (readings sent far faster than their times move:
   * a history, a buffer flushed; a live stream moves at about 1), and the backfill is over: no reading for QUIET_MS (a history sent, then quiet), or the
   * newest arrived on time, less late than LATE_MIN_MS and LATE_INTERVALS intervals (the flush ran on into the live
   * readings: src/pipeline/backfill.ts's lateness). False without a newest reading or an arrival.
   */
  private caughtUp(sensor: string, last: { readonly dataTs: number; readonly at: number }): boolean {
    const newest = this.source.newestReadingTs?.(sensor) ?? null;
    const arrived = this.lastArrival.get(sensor);
    if (newest === null || arrived === undefined || !(newest > last.dataTs)) return false;
    const now = this.opts.now();
    // Over at least QUIET_MS of the wall clock: a device's batch (ten readings in one message) is no backfill.
    if (newest - last.dataTs < DENSE_RATIO * Math.max(QUIET_MS, now - last.at)) return false;
    const onTime = arrived - newest < Math.max(LATE_MIN_MS, LATE_INTERVALS * (this.source.intervalOf(sensor) ?? 0));
    return onTime || now - arrived >= QUIET_MS;
  }

  /**
   * Forgets a sensor (evicted for idleness) and clears its retained state topic (an empty retained
   * message deletes it on the broker), so neither this board nor the broker keeps one entry per sensor
   * that ever published.
   */
  /**
   * The sensor's open episode's record moved (an event stored, its explanation retold): its state reads what the
   * episode tells again at its next refresh, and is published again if its kind, since or sentence changed.
   */
  episodeMoved(sensor: string): void {
    if (this.published.has(sensor)) this.moved.add(sensor);
  }

  forget(sensor: string): void {
    const known = this.published.has(sensor);
    this.moved.delete(sensor);
    this.status.delete(sensor);
    this.published.delete(sensor);
    this.lastArrival.delete(sensor);
    this.heard.delete(sensor);
    if (known) this.opts.clear?.(sensor);
  }

  /**
   * Publishes every sensor's retained state again, as it was last published (the same payload, no status change
   * logged): for a broker that lost its retained messages (restarted without persistence: the daemon reconnected
   * without its session), or Home Assistant's birth (tryout 18, finding 6: a sensor whose status did not change stayed
   * without a state, its problem entity "unknown"). Returns how many were published.
   */
  republishAll(): number {
    let n = 0;
    for (const [sensor, last] of this.published) {
      this.opts.publish(sensor, last.payload);
      n++;
    }
    return n;
  }

  /** Re-judges every sensor against the wall clock (stale); a change is published with its newest reading's time. */
  refreshAll(): void {
    for (const sensor of this.lastArrival.keys()) this.refresh(sensor);
  }
}

/** Whether two tellings of an episode say the same (kind, since, sentence); null: none told. */
function sameTold(a: EpisodeTold | null, b: EpisodeTold | null): boolean {
  if (a === null || b === null) return a === b;
  return a.kind === b.kind && a.since === b.since && a.sentence === b.sentence;
}
