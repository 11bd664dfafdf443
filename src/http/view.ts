/**
 * What the HTTP API may ask of the running daemon. The daemon implements it; the routes only read
 * through it (and set operator marks), so they can be tested against a fake.
 */
import type { HeldStateProgress } from '../contract/held-state.js';
import type { RejectReason, SensorStatus, SkipReason } from '../contract/types.js';
import type { AnomalyMark, AnomalyQuery, AnomalyRecord, AnomalyWithEvents } from '../contract/store.js';
import type { SeriesNotKept, SeriesQuery, SeriesView } from '../pipeline/series.js';
import type { StreamTable } from '../pipeline/admit.js';
import type { OwnModelProgress } from '../contract/own-model.js';
import type { BrokerRefusals } from '../contract/broker.js';
import type { AnomalyKind } from '../contract/alerts.js';

/** DaemonStatusView.discovery: the Home Assistant discovery configs the daemon holds now (the homeassistant preset). */
export interface DiscoveryView {
  /** Entities read on their own state topics (`<prefix>/<component>/[<node>/]<object>/config`; at most ingest.maxStreams). */
  readonly entities: number;
  /** Of those, the entities whose stream anomalyd knows (it has had readings; a checkpoint's counts). */
  readonly inUse: number;
  /** Sensor configs whose state topic a rule reads: they state that stream's unit. */
  readonly units: number;
  /**
   * Configs not read, per reason (only reasons that occur): `bad_topic`, `too_many_streams`, `unread_template` (taken,
   * its states rejected unread_template), `same_stream`, `not_a_config`, `no_state_topic`, `anomalyd` (src/pipeline/discovery-config.ts, EntityRefusal).
   */
  readonly refused: Readonly<Record<string, number>>;
}

export interface DaemonStatusView {
  readonly version: string;
  /** Epoch ms (the daemon's clock). */
  readonly startedAt: number;
  /** Real time since start, ms (a monotonic clock, whatever the daemon's clock does). */
  readonly uptimeMs: number;
  readonly counters: Readonly<Record<string, number>>;
  /** The default model's id, or null while there is none. */
  readonly model: string | null;
  /**
   * The MQTT connection (`url` without credentials). `clientIdClash` (absent from daemons before it): another MQTT
   * client connects with this daemon's client id and the two take the session over from each other (src/adapters/
   * mqtt.ts SessionClashWatch), or null: its client id, when it was told (epoch ms), the takeovers in a row so far and
   * the wait before this daemon takes the session back (ms; it grows while the clash lasts). `statusTopicClash`
   * (absent from daemons before it): another client (a second anomalyd on the same mqtt.topicPrefix) published a
   * status on this daemon's retained status topic while it ran, or null: none since start (StatusTopicClashView).
   */
  readonly mqtt: {
    readonly url: string;
    readonly connected: boolean;
    readonly clientIdClash?: ClientIdClashView | null;
    readonly statusTopicClash?: StatusTopicClashView | null;
  };
  /**
   * Sensors known since start, in all and by status (`learning`: in the scorer's learning period), and, with
   * learning.enabled, how many are still learning their own model, by phase (OwnModelProgress); absent
   * without learning.
   */
  readonly sensors: {
    readonly total: number;
    readonly byStatus: Readonly<Record<SensorStatus, number>>;
    readonly ownModel?: Readonly<Record<OwnModelProgress['phase'], number>>;
    /**
     * Sensors with an open episode of any kind: anomalous ones, and stale ones whose silence opened a `missing data`
     * episode (their status is `stale`, not `anomalous`, so byStatus alone does not show them). Absent from
     * daemons before it.
     */
    readonly openEpisodes?: number;
    /** Those sensors by name (case-insensitively), at most OPEN_SENSORS_LISTED (20); `openEpisodes` counts them all. */
    readonly openSensors?: readonly string[];
    /** With learning.enabled: sensors the operator pinned to their model (`anomalyd models rollback`); they are not learnt. */
    readonly pinned?: number;
  };
  /**
   * The stream table (ingest.maxStreams): streams tracked, the limit, how many are heard once (all their readings in
   * one message: a new stream may take their slot), since when new streams are turned away (epoch ms, null while
   * there is room), how many were turned away and displaced since start (src/pipeline/admit.ts). Absent from daemons
   * before it (tryout 25, finding 6).
   */
  readonly streams?: StreamTable;
  /** Rejected input since start, per reason (only reasons that occurred). */
  readonly rejections: Readonly<Partial<Record<RejectReason, number>>>;
  /**
   * Messages a rule took and skipped since start, by design no reading and no error, per reason (only reasons
   * that occurred; contract SkipReason: a hub's own topics, hub events, Home Assistant text states, messages of only missing values). Absent
   * from daemons before it.
   */
  readonly skipped?: Readonly<Partial<Record<SkipReason, number>>>;
  /**
   * Scored readings the dashboard's series did not keep since start, per reason (only reasons that occurred;
   * SeriesNotKept, src/pipeline/series.ts: `duplicate` a reading identical in time and values to one it holds). Absent
   * from daemons before it.
   */
  readonly seriesNotKept?: Readonly<Partial<Record<SeriesNotKept, number>>>;
  /**
   * The dashboard series' closed minute and quarter-hour buckets dropped since start (SeriesStore.droppedBuckets): more
   * than MAX_PENDING (50,000) waited while the database refused them. Absent when none (and from daemons before it).
   */
  readonly seriesBucketsDropped?: number;
  /**
   * Home Assistant discovery with the homeassistant preset (MessageParser.discoveryTable): the configs read now.
   * Absent without the preset, and from daemons before it.
   */
  readonly discovery?: DiscoveryView;
  /**
   * What the embedded broker refused since start (publishes on topics a login may not use, logins), which the
   * publisher never learns (a refused publish is acknowledged and dropped); null without the embedded broker
   * (an outside broker refuses on its own). Absent from daemons before it.
   */
  readonly broker?: BrokerRefusals | null;
  /**
   * Readings missing at their stream's learnt interval inside backfill bursts since start (readings that arrived late
   * and far faster than their times move, with holes between their messages: a broker's queue may have dropped them;
   * never what was not sent), the bursts that ended with some (each warned of once in the log) and the latest of them
   * (src/daemon/backfill-log.ts BackfillView). Absent from daemons before it (tryout 27, finding 6).
   */
  readonly backfill?: BackfillView;
  /**
   * Alerts stored but not yet acknowledged by the broker, and those dropped by the outbox bound since start; null
   * while the database is closed. `overdue` (absent from daemons before it): alerts the broker did not acknowledge
   * within the PUBACK bound (the keepalive interval) since start, and the one not delivered yet (docs/ALERTS.md).
   */
  readonly outbox: { readonly pending: number; readonly dropped: number; readonly overdue?: OutboxOverdueView } | null;
  /**
   * IANA zone of the clock times in the explanations' sentences (`since 22:14`): explain.timeZone, or the system's
   * when that is null. The page shows every time in it, labelled. Absent from daemons before it.
   */
  readonly timeZone?: string;
  /** `fault` from a storage fault until the daemon has stopped (docs/DEPLOY.md, "Storage faults"). */
  readonly health?: 'ok' | 'fault';
  /** The storage fault, with the path, the cause and the fix; null while healthy. */
  readonly fault?: FaultView | null;
}

/** The latest burst with readings missing, as GET /api/status says it (`backfill.last`; src/daemon/backfill-log.ts). */
export interface BackfillBurstView {
  readonly stream: string;
  /** Readings missing at the stream's interval in the burst. */
  readonly missing: number;
  /** Readings that arrived in the burst. */
  readonly readings: number;
  /** The burst's first and last readings' times, epoch ms (the stream's clock). */
  readonly fromTs: number;
  readonly toTs: number;
  /** The stream's interval its holes were counted in, ms. */
  readonly intervalMs: number;
  /** When it was told, epoch ms (the daemon's clock). */
  readonly toldAt: number;
}

/** GET /api/status `backfill`: readings missing in backfill bursts since start, the bursts told, the latest. */
export interface BackfillView {
  readonly missing: number;
  readonly bursts: number;
  readonly last: BackfillBurstView | null;
}

/** A client id clash as /api/status says it (src/adapters/mqtt.ts ClientIdClash). */
export interface ClientIdClashView {
  readonly clientId: string;
  /** Epoch ms (the daemon's clock): when it was told. */
  readonly since: number;
  /** Takeovers in a row so far. */
  readonly closes: number;
  /** The wait before this daemon takes the session back, ms. */
  readonly reconnectDelayMs: number;
}

/**
 * Another client's statuses on this daemon's retained status topic, as /api/status says it (src/adapters/mqtt.ts
 * StatusTopicClash): most likely a second anomalyd on the same broker with the same mqtt.topicPrefix (tryout 26,
 * finding 3). This daemon publishes its own status again after each `offline`.
 */
export interface StatusTopicClashView {
  /** The status topic, `<mqtt.topicPrefix>/status`. */
  readonly topic: string;
  /** Epoch ms (the daemon's clock): when the first came. */
  readonly since: number;
  /** Epoch ms: when the latest came. */
  readonly lastAt: number;
  /** How many came since start. */
  readonly times: number;
  /** The latest one's payload (`offline`, `fault`). */
  readonly payload: string;
}

/**
 * Alerts whose PUBACK did not come within the bound (the connection was renewed to send them again, flagged
 * resent): `count` since start; `current` the one still undelivered, with when it was found overdue (epoch ms).
 */
export interface OutboxOverdueView {
  readonly count: number;
  readonly current: { readonly outboxId: number; readonly since: number } | null;
}

/** What /api/status shows of a storage fault (docs/DEPLOY.md, "Storage faults"). */
export interface FaultView {
  readonly kind: string;
  readonly path: string;
  readonly cause: string;
  readonly hint: string;
  /** Epoch ms. */
  readonly at: number;
  /** Faults reported in all (the first and those after it). */
  readonly count: number;
}

export interface SensorView {
  /** The stream (`plug-washer/ENERGY.Power`). */
  readonly sensor: string;
  /**
   * The device the stream belongs to (the sensor id of its topic or payload, Reading.source): `plug-washer` for
   * `plug-washer/ENERGY.Power`, the stream itself for a device's own value. The page lists a device's streams
   * together. Absent from daemons before it.
   */
  readonly device?: string;
  readonly status: SensorStatus;
  readonly model: string | null;
  /** True when the operator pinned the sensor to `model` (`anomalyd models rollback`; `anomalyd models unpin` lets it learn again). */
  readonly pinned: boolean;
  /**
   * A word on `model` for the operator, absent when there is none: its own model of another cell than model.cell (the
   * cell changed on a running install), which stays until retrained, and how (src/learn/own-model.ts otherCellNote).
   */
  readonly modelNote?: string;
  /**
   * Time of the sensor's latest scored reading, epoch ms: after a restart, the one from before it (kept with
   * the sensor's checkpoint) until the next arrives; null when there is none.
   */
  readonly lastTs: number | null;
  /** Its first channel's value (sensor units) and surprise, -log10(1 - score), at most 16 (src/contract/surprise.ts); null before the first. */
  readonly value: number | null;
  /**
   * The stream's reading precision: the most decimals its device sends (SeriesStore.readingDecimals, at most 6), which
   * the page writes `value` with, as the sentences write their readings (src/util/reading.ts); null before the first
   * reading. Absent from daemons before it.
   */
  readonly decimals?: number | null;
  readonly surprise: number | null;
  /** The sensor's unit when configured. */
  readonly unit: string | null;
  /**
   * The stream judged as a cumulative counter (src/pipeline/counter.ts CounterTrack.nature): whether its hub stated it
   * (`stated`: Home Assistant's `total_increasing`, a Shelly's `aenergy.total`…; else recognised from its readings),
   * the busy runs it ended between rests (`busyRuns`), the longest (`longestBusyMs`, ms; null while none ended) and the
   * rest they are measured by (`restMs`, ms; null while its report period is not known): what a counter that does not
   * rest is judged against (docs/SCORING.md, "A counter that does not rest"). Absent: not judged as a counter (and
   * from daemons before it).
   */
  readonly counter?: { readonly stated: boolean; readonly busyRuns: number; readonly longestBusyMs: number | null; readonly restMs: number | null };
  /**
   * While it learns its own model (learning.enabled): how far (src/contract/own-model.ts); null when it has
   * its own, or learning is off. Not `status: learning`, which is the scorer's learning period.
   */
  readonly ownModel: OwnModelProgress | null;
  /**
   * The id of the sensor's open episode, of any kind, or null: also a silence's `missing data` episode, while the
   * sensor's status is `stale`; without one of its own, while its device says it is offline, the device's
   * `device_offline` episode (as its retained state's `anomaly_id`; `openEpisodeKind` then says so). The page lists
   * sensors with one first. Absent from daemons before it.
   */
  readonly openEpisode?: string | null;
  /**
   * `device_offline` when `openEpisode` is the episode of the sensor's device (it said it is offline), not the
   * sensor's own: the page's header then names the device, as `/api/status`' `openSensors` does. Absent otherwise.
   */
  readonly openEpisodeKind?: 'device_offline';
  /**
   * What the open episode (`openEpisode`) tells now, as its record does (GET /api/anomalies/:id, `anomalyd anomalies
   * list`): its kind, since when, its sentence and what its readings are judged against. Present exactly while
   * `openEpisode` is set; absent from daemons before it. The latest reading's `surprise` is its own: inside an episode a
   * reading scores 0 unless it is tenfold rarer than the episode so far (docs/SCORING.md, "The row score inside an
   * episode"), so a surprise of 0 here is not "normal" (tryout 29, finding F7: a dying battery's drift read `latest
   * reading normal (surprise 0)` beside its open alarm).
   */
  readonly episode?: OpenEpisodeView;
  /**
   * False while the sensor's silence is not judged yet (its learning period, or its interval not known: its first
   * three readings): while `stale` then it is not alerted however long it is silent (the page says so). Absent from
   * daemons before it.
   */
  readonly silenceJudged?: boolean;
  /**
   * An on/off stream (a zigbee2mqtt door's `contact`, a motion sensor's `occupancy`, an ESPHome binary_sensor): the
   * names of its states, `on` its reading 1's and `off` 0's (a door's `closed` / `open`), `state` its latest reading's
   * (null before the first), `alarm` whether its on state is an alarm (a leak, smoke). Its values are never judged,
   * so `surprise` is null; its silence and how long it holds a state are (docs/SCORING.md, "On/off streams"). `held`:
   * how far the judgement of a state held is (src/contract/held-state.ts: `have` of the `needed` dwells of its active
   * state, `state` that state's name; judged once `have` reaches `needed`); absent before the stream's first reading
   * since start and from daemons before it. Absent: not an on/off stream.
   */
  readonly onOff?: { readonly on: string; readonly off: string; readonly state: string | null; readonly alarm: boolean; readonly held?: HeldStateProgress };
}

/** A stream's open episode as the sensor list tells it (SensorView.episode; built by src/daemon/http-view.ts openEpisodeView). */
export interface OpenEpisodeView {
  /** The episode's id (SensorView.openEpisode). */
  readonly id: string;
  /**
   * Its kind as its record tells it now (AlertExplanation.kind: `drift`, `level_shift`, `stuck`, …; `device_offline` for
   * its device's episode); null while not told (yet: an episode often opens before its readings tell a kind).
   */
  readonly kind: AnomalyKind | null;
  /** When the fault it tells began, epoch ms (AnomalyRecord.beganTs); null when its record cannot be read. */
  readonly since: number | null;
  /** Its sentence as its record tells it now (`battery 3.54 V, expected 3.90 ± 0.01 since 06:48 (drift, −0.12/h)`), or null. */
  readonly sentence: string | null;
  /**
   * What its readings are judged against, sensor units (`unit`): the expectation and the half-width of the normal band
   * (± 2 spreads; for a lasting kind, drift, level shift, stuck, noise change, the level before the episode,
   * docs/ALERTS.md "What a lasting kind is told against"); null when its explanation has none.
   */
  readonly expected: number | null;
  readonly band: number | null;
  readonly unit: string | null;
  /** True when it is the episode of the stream's device (`openEpisodeKind` `device_offline`), not the stream's own. */
  readonly device: boolean;
}

/** Sensors /api/status names in `sensors.openSensors`, at most. */
export const OPEN_SENSORS_LISTED = 20;

/** Case-insensitive name order (then exact, so the order is total): how the page and `anomalyd status` list sensors. */
export function byName(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A series as GET /api/sensors/:sensor/series answers it: SeriesView, and the changes of the unit the sensor's hub
 * stated within its span (`ts` epoch ms, the first reading in `to`; readings are never converted, so those before a
 * change are in `from`), oldest first; absent when none.
 *
 * `unit`: per point, the unit its readings are in (the sensor's configured or stated unit in force at the point's
 * time; null where none is known). No point merges readings of two units (SeriesStore.noteUnitBreak): the page
 * breaks its plot where it changes. Absent from a view that knows no units.
 */
export type SeriesAnswer = SeriesView & {
  readonly unit?: readonly (string | null)[];
  readonly unitChanges?: readonly { readonly ts: number; readonly from: string; readonly to: string }[];
};

export interface DaemonView {
  /** The daemon's clock, epoch ms: relative times (`since=24h`) count back from it. */
  now(): number;
  status(): DaemonStatusView;
  sensors(): readonly SensorView[];
  /** A sensor's readings, expectation and surprise over a span; null for a sensor with none recorded. */
  series(sensor: string, q: SeriesQuery): SeriesAnswer | null;
  anomalies(q: AnomalyQuery): readonly AnomalyRecord[];
  /** How many episodes match q's filters, whatever its limit (`more` of a list cut at its limit). */
  anomalyCount(q: Omit<AnomalyQuery, 'limit'>): number;
  anomaly(id: string): AnomalyWithEvents | null;
  /**
   * Up to `limit` anomaly ids that start with `prefix`, in id order (the CLI's prefix lookup); absent: the routes
   * take ids whole.
   */
  anomalyIdsWithPrefix?(prefix: string, limit: number): readonly string[];
  /**
   * Whether `id` can be one of this daemon's anomaly ids or a prefix of one, and how such an id looks (for the
   * 400 of one that cannot: docs/HTTP.md "impossible anomaly id"); absent: any id of the routes' grammar (the
   * MQTT command's) may be one, and an unknown one is a 404.
   */
  readonly anomalyIdForm?: { readonly test: (id: string) => boolean; readonly description: string };
  /** False when there is no such anomaly. */
  markAnomaly(id: string, mark: AnomalyMark | null, note: string | null): boolean;
  /**
   * Retires a stream, or every stream of a device (src/daemon/forget.ts, recorded as by `http`): its open episodes
   * resolved `forgotten`, its state and checkpoint dropped, its retained topics cleared. Null when the daemon knows
   * no such stream or device. Absent: the routes answer 404.
   */
  forget?(kind: 'stream' | 'device', name: string): ForgetAnswer | null;
}

/** What POST /api/sensors/:sensor/forget and /api/devices/:device/forget answer (src/daemon/forget.ts ForgetResult). */
export interface ForgetAnswer {
  readonly kind: 'stream' | 'device';
  readonly name: string;
  /** The streams forgotten, sorted. */
  readonly streams: readonly string[];
  /** The episodes resolved `forgotten`, with their stream. */
  readonly resolved: readonly { readonly anomalyId: string; readonly sensor: string }[];
}
