/**
 * The HTTP API's window into the running daemon (`DaemonView`): status and counters, sensors and their
 * status, the series of readings and surprise, and the stored anomalies. Built from narrow getters so the
 * routes never reach the daemon's internals.
 */
import type { AnomalyMark, AnomalyQuery, AnomalyRecord, AnomalyWithEvents } from '../contract/store.js';
import type { OpenEpisodeView, SensorView } from '../http/view.js';
import type { OnOffWords } from '../contract/ingest.js';
import type { StreamTable } from '../pipeline/admit.js';
import type { RejectReason, SensorStatus, SkipReason } from '../contract/types.js';
import { byName, OPEN_SENSORS_LISTED, type DaemonView } from '../http/view.js';
import { shownValue, type SeriesStore } from '../pipeline/series.js';
import { VERSION } from '../version.js';
import { unitAt } from '../explain/explain.js';
import { shownSurprise } from '../contract/surprise.js';
import type { SensorStatusBoard } from './sensor-status.js';
import type { FaultView } from '../http/view.js';
import type { OwnModelProgress } from '../contract/own-model.js';
import type { BrokerRefusals } from '../contract/broker.js';
import type { BackfillView, ClientIdClashView, DiscoveryView, OutboxOverdueView, StatusTopicClashView } from '../http/view.js';
import type { ForgetResult, ForgetTarget } from './forget.js';

/** The part of the store the API reads and marks. */
export interface AnomalyReader {
  listAnomalies(q: AnomalyQuery): AnomalyRecord[];
  /** How many episodes match q's filters, whatever its limit (SqliteStore.countAnomalies). */
  countAnomalies(q: Omit<AnomalyQuery, 'limit'>): number;
  getAnomaly(id: string): AnomalyWithEvents | null;
  /** One episode's record without its events (SqliteStore.anomalyRecord), or null; absent: getAnomaly is read instead. */
  anomalyRecord?(id: string): AnomalyRecord | null;
  markAnomaly(id: string, mark: AnomalyMark | null, note: string | null, by: string): boolean;
  /** Up to `limit` ids starting with `prefix`, in id order. */
  anomalyIdsWithPrefix(prefix: string, limit: number): string[];
  /**
   * The sensors with an episode open in the store (SqliteStore.openSensors), at most `limit`; absent: only the
   * board's are counted.
   */
  openSensors?(limit: number): string[];
  /** Outbox messages not yet acknowledged by the broker. */
  outboxPending(): number;
  /** Outbox messages dropped by its bound since the store was opened. */
  droppedCount(): number;
}

export interface HttpViewDeps {
  readonly startedAt: number;
  /** The daemon's clock, epoch ms. */
  readonly now: () => number;
  /** Real time since start, ms. */
  readonly uptimeMs: () => number;
  readonly counters: () => Readonly<Record<string, number>>;
  /** Rejections since start, per reason. */
  readonly rejections: () => Readonly<Record<RejectReason, number>>;
  /** The stream table's fill and what ingest.maxStreams turned away (MessageParser.streamTable); absent: not told. */
  readonly streams?: () => StreamTable | null;
  /** The Home Assistant discovery configs held (the homeassistant preset), or null; absent: not told. */
  readonly discovery?: () => DiscoveryView | null;
  /** Messages skipped since start (no reading by design, no error), per reason; absent: none counted. */
  readonly skipped?: () => Readonly<Record<SkipReason, number>>;
  /** Readings missing in backfill bursts since start (src/daemon/backfill-log.ts); absent: not told. */
  readonly backfill?: () => BackfillView;
  /** What the embedded broker refused since start (EmbeddedBroker.refusals); absent or null without one. */
  readonly brokerRefusals?: () => BrokerRefusals | null;
  /** The shared model's id, or null. */
  readonly defaultModel: () => string | null;
  readonly modelOf: (sensor: string) => string | null;
  /** True when the operator pinned the sensor to its model (`anomalyd models rollback`); absent: none is. */
  readonly pinned?: (sensor: string) => boolean;
  /** A word on the sensor's model for the operator (its own model of another cell than model.cell: otherCellNote), or null; absent: none. */
  readonly modelNote?: (sensor: string) => string | null;
  /** The MQTT connection, without credentials. */
  readonly mqtt: () => { readonly url: string; readonly connected: boolean; readonly clientIdClash?: ClientIdClashView | null; readonly statusTopicClash?: StatusTopicClashView | null };
  /** The storage fault of this run, or null while healthy. */
  readonly fault?: () => FaultView | null;
  /** Alerts whose PUBACK was overdue (OutboxPublisher.overdue); absent or null: none counted. */
  readonly outboxOverdue?: () => OutboxOverdueView | null;
  readonly board: SensorStatusBoard;
  readonly series: SeriesStore;
  readonly unitOf: (sensor: string) => string | null;
  /** The words of an on/off stream's states (MessageParser.onOffWords), null for another stream; absent: none is one. */
  readonly onOffOf?: (sensor: string) => OnOffWords | null;
  /** The stream's nature as a cumulative counter (Detector.counterOf), null when it is judged as none; absent: none is. */
  readonly counterOf?: (sensor: string) => SensorView['counter'] | null;
  /** The changes of the unit the sensor's hub stated (SignalBook.unitChangesOf), oldest first; absent: none. */
  readonly unitChangesOf?: (sensor: string) => readonly { readonly ts: number; readonly from: string; readonly to: string }[];
  /** The device a stream belongs to (Detector.sourceOf), undefined when not known; absent: every stream is its own device. */
  readonly deviceOf?: (sensor: string) => string | undefined;
  /** Forgets a stream or a device's streams (Daemon.forget); absent: the API cannot (a 404 for the route). */
  readonly forget?: (target: ForgetTarget) => ForgetResult | null;
  /** IANA zone of the sentences' clock times (explain.timeZone, or the system's): /api/status says it for the page. */
  readonly timeZone?: string;
  /** learning.enabled: /api/status then counts the sensors learning their own model. */
  readonly learningEnabled?: boolean;
  /** The open store; throws when it is closed. */
  readonly store: () => AnomalyReader;
}

/** The daemon's anomaly ids: node's randomUUID (src/daemon.ts), lowercase hex in groups of 8-4-4-4-12. */
const UUID_TEMPLATE = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';

/** Whether `id` is a UUID as randomUUID writes it, or the start of one (a prefix, as the CLI and the API take). */
export function isUuidOrPrefix(id: string): boolean {
  if (id.length === 0 || id.length > UUID_TEMPLATE.length) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id[i];
    if (UUID_TEMPLATE[i] === '-' ? c !== '-' : !/[0-9a-f]/.test(c)) return false;
  }
  return true;
}

/** How the API tells an id that cannot be one (a 400; docs/HTTP.md). */
export const ANOMALY_ID_FORM = {
  test: isUuidOrPrefix,
  description: 'an anomaly id is a UUID in lowercase hex (8d83097d-5c1e-4f0a-9b1e-2f6c1d0e7a44) or its first 8 or more characters',
} as const;

/**
 * A stream's open episode `id` as the views tell it (GET /api/sensors `episode`, the dashboard's sensor list, the Home
 * Assistant score's attributes): its kind, since, sentence and what it is judged against, from its stored record
 * (`record`: the same the anomalies list and GET /api/anomalies/:id read, its explanation retold as the episode goes on);
 * `device`: the episode is its device's `device_offline` one. With no record (the store closing, an episode not stored
 * yet), what is known: its id, and `device_offline` for a device's.
 */
export function openEpisodeView(id: string, device: boolean, record: AnomalyRecord | null): OpenEpisodeView {
  const e = record?.explanation ?? null;
  return {
    id,
    kind: record?.kind ?? e?.kind ?? (device ? 'device_offline' : null),
    since: record !== null ? record.beganTs : null,
    sentence: record?.sentence ?? e?.sentence ?? null,
    expected: e?.expected ?? null,
    band: e?.band ?? null,
    unit: e?.expected_unit ?? e?.unit ?? null,
    device,
  };
}

/**
 * The stored record of episode `id` from `store` (its light read when it has one), or null when there is none or the
 * store cannot be read (closing): never throws.
 */
export function episodeRecord(store: () => Pick<AnomalyReader, 'getAnomaly' | 'anomalyRecord'>, id: string): AnomalyRecord | null {
  try {
    const s = store();
    return s.anomalyRecord !== undefined ? s.anomalyRecord(id) : s.getAnomaly(id);
  } catch {
    return null;
  }
}

/** Sensors with an episode open read from the store per status request, at most (the count is of those). */
const STORE_OPEN_MAX = 10_000;

export function daemonView(d: HttpViewDeps): DaemonView {
  const known = (): string[] => d.board.sensors().filter((sensor) => d.board.has(sensor));
  return {
    now: d.now,
    status: () => {
      const byStatus: Record<SensorStatus, number> = { ok: 0, anomalous: 0, learning: 0, stale: 0 };
      const ownModel: Record<OwnModelProgress['phase'], number> = { collecting: 0, queued: 0, training: 0, stopped: 0 };
      let pinned = 0;
      const sensors = known();
      // A stream's own episode names the stream; the `device_offline` episode its device's streams carry names the
      // device once, as the store (its `sensor`) and `anomalyd anomalies list` do (tryout 24, finding 2). So does the
      // one silence episode of a device whose every field went silent, which each field carries (a member's episode:
      // DeviceSilences), named by its stored record: the device, as the views list it (the twenty-ninth session's
      // tryout, finding 1: `anomalyd status` named the unplugged plug and each of its fields).
      const open = new Set<string>();
      const owners = new Map<string, string | null>();
      const ownerOf = (id: string): string | null => {
        if (!owners.has(id)) owners.set(id, episodeRecord(d.store, id)?.sensor ?? null);
        return owners.get(id) ?? null;
      };
      for (const sensor of sensors) {
        byStatus[d.board.statusOf(sensor)]++;
        const episode = d.board.episodeOf(sensor);
        if (episode !== null) open.add(episode.device ? (d.deviceOf?.(sensor) ?? sensor) : (ownerOf(episode.id) ?? sensor));
        const own = d.board.ownModelOf(sensor);
        if (own !== null) ownModel[own.phase]++;
        if (d.pinned?.(sensor) === true) pinned++;
      }
      const rejections = Object.fromEntries(Object.entries(d.rejections()).filter(([, n]) => n > 0));
      let outbox: { pending: number; dropped: number; overdue?: OutboxOverdueView } | null = null;
      try {
        const store = d.store();
        // What the store holds open counts too (the truth, tryout 16, finding 2): a sensor the daemon holds no state of
        // (an alert left open by an earlier version's eviction whose checkpoint was too old to bring back) is not hidden.
        for (const sensor of store.openSensors?.(STORE_OPEN_MAX) ?? []) open.add(sensor);
        const overdue = d.outboxOverdue?.() ?? null;
        outbox = { pending: store.outboxPending(), dropped: store.droppedCount(), ...(overdue !== null ? { overdue } : {}) };
      } catch {
        // The database is closing: the status still answers, without the outbox.
      }
      const fault = d.fault?.() ?? null;
      const streams = d.streams?.() ?? null;
      const discovery = d.discovery?.() ?? null;
      return {
        version: VERSION,
        startedAt: d.startedAt,
        uptimeMs: Math.round(d.uptimeMs()),
        counters: { ...d.counters() },
        model: d.defaultModel(),
        mqtt: d.mqtt(),
        sensors: {
          total: sensors.length,
          byStatus,
          openEpisodes: open.size,
          openSensors: [...open].sort(byName).slice(0, OPEN_SENSORS_LISTED),
          ...(d.learningEnabled === true ? { ownModel, pinned } : {}),
        },
        ...(streams !== null ? { streams } : {}),
        rejections,
        skipped: Object.fromEntries(Object.entries(d.skipped?.() ?? {}).filter(([, n]) => n > 0)),
        seriesNotKept: Object.fromEntries(Object.entries(d.series.notRecorded()).filter(([, n]) => n > 0)),
        ...(d.series.droppedBuckets > 0 ? { seriesBucketsDropped: d.series.droppedBuckets } : {}),
        ...(discovery !== null ? { discovery } : {}),
        broker: d.brokerRefusals?.() ?? null,
        ...(d.backfill !== undefined ? { backfill: d.backfill() } : {}),
        outbox,
        ...(d.timeZone !== undefined ? { timeZone: d.timeZone } : {}),
        health: fault ? 'fault' : 'ok',
        fault,
      };
    },
    sensors: () =>
      known()
        .sort(byName)
        .map((sensor) => {
          const latest = d.series.latest(sensor);
          const onOff = d.onOffOf?.(sensor) ?? null;
          const v = latest !== null ? latest.values[0] : null;
          const episode = d.board.episodeOf(sensor);
          const held = onOff !== null ? d.board.heldProgressOf(sensor) : null;
          return {
            sensor,
            device: d.deviceOf?.(sensor) ?? sensor,
            status: d.board.statusOf(sensor),
            model: d.modelOf(sensor),
            pinned: d.pinned?.(sensor) ?? false,
            ...((d.modelNote?.(sensor) ?? null) !== null ? { modelNote: d.modelNote!(sensor)! } : {}),
            lastTs: latest?.ts ?? null,
            // The reading at 15 significant digits (float64's), not 7 as the float32 series: a meter's 20210701 is not 20210700.
            value: latest !== null ? shownValue(latest.values[0]) : null,
            decimals: latest !== null ? d.series.readingDecimals(sensor) : null,
            // An on/off stream's values are not judged (its silence and how long it holds a state are): no surprise of them.
            surprise: latest !== null && onOff === null && Number.isFinite(latest.surprise) ? Math.round(shownSurprise(latest.surprise) * 1000) / 1000 : null,
            unit: d.unitOf(sensor),
            ...((d.counterOf?.(sensor) ?? null) !== null ? { counter: d.counterOf!(sensor)! } : {}),
            ownModel: d.board.ownModelOf(sensor),
            openEpisode: episode?.id ?? null,
            ...(episode?.device === true ? { openEpisodeKind: 'device_offline' as const } : {}),
            ...(episode !== null ? { episode: openEpisodeView(episode.id, episode.device, episodeRecord(d.store, episode.id)) } : {}),
            silenceJudged: d.board.silenceJudged(sensor),
            ...(onOff !== null
              ? {
                  onOff: {
                    on: onOff.on,
                    off: onOff.off,
                    state: v === 1 ? onOff.on : v === 0 ? onOff.off : null,
                    alarm: onOff.alarm,
                          ...(held !== null && !onOff.alarm ? { held: { have: held.have, needed: held.needed, state: held.active === 1 ? onOff.on : onOff.off } } : {}),
                  },
                }
              : {}),
          };
        }),
    series: (sensor, q) => {
      const view = d.series.query(sensor, q);
      if (view === null) return view;
      const changes = d.unitChangesOf?.(sensor) ?? [];
      // Each point's unit: the one in force at its time (no point holds readings of two: SeriesStore.noteUnitBreak).
      const now = d.unitOf(sensor);
      const unit = view.ts.map((ts) => unitAt(now, changes, ts));
      // The stated unit changes among the readings answered (from the first to the last point's time).
      const first = view.ts.length > 0 ? view.ts[0] : view.from;
      const last = view.ts.length > 0 ? view.ts[view.ts.length - 1] : view.to;
      const within = changes.filter((c) => c.ts > first && c.ts <= last);
      return within.length === 0 ? { ...view, unit } : { ...view, unit, unitChanges: within.map((c) => ({ ts: c.ts, from: c.from, to: c.to })) };
    },
    anomalies: (q) => d.store().listAnomalies(q),
    anomalyCount: (q) => d.store().countAnomalies(q),
    anomaly: (id) => d.store().getAnomaly(id),
    anomalyIdsWithPrefix: (prefix, limit) => d.store().anomalyIdsWithPrefix(prefix, limit),
    anomalyIdForm: ANOMALY_ID_FORM,
    // The API has one credential (http.token, or none on loopback), so the history can only say "http".
    markAnomaly: (id, mark, note) => d.store().markAnomaly(id, mark, note, 'http'),
    ...(d.forget !== undefined ? { forget: (kind: 'stream' | 'device', name: string) => d.forget!({ kind, name, by: 'http' }) } : {}),
  };
}
