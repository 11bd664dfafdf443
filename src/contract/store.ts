/**
 * The store's ports: the records anomalyd keeps and one interface per concern. The SQLite adapter
 * (src/adapters/sqlite-store.ts) implements them all (`Store`); a consumer asks for the narrowest one it
 * needs, so it can be given a fake in a unit test and never imports the adapter.
 *
 *   AnomalyRecorder   an anomaly event and its alert, written together (store, then alert)
 *   AnomalyHistory    stored anomalies: list, show, and the operator's ack / false-alarm mark
 *   Outbox            the alerts waiting to be published, in commit order, and their delivery
 *   CheckpointStore   each sensor's detector state, saved and restored across restarts
 *   RejectionStore    counters of rejected messages per (reason, sensor)
 *   ModelStore        models trained on the device and which sensor uses which (with history)
 *   ReadingStore      recent normal readings per sensor, for on-device learning
 *   StoreLifecycle    commit, close, health
 *
 * Times are epoch ms throughout. Methods are synchronous: the SQLite adapter finishes each write (or joins
 * it to the open group commit) before it returns.
 */
import type { AlertChannel, AlertExplanation, AlertPayload, AnomalyKind } from './alerts.js';
import type { SeriesBucketStore } from './series.js';
import type { AnomalyEvent, AnomalyEventKind, RejectReason } from './types.js';

export type OutboxQos = 0 | 1 | 2;

/** One alert in the outbox. */
export interface OutboxRow {
  /** Increasing with commit order: the delivery order. */
  readonly id: number;
  readonly topic: string;
  readonly payload: string;
  readonly qos: OutboxQos;
  readonly createdAt: number;
  /** Publish attempts started before this read (by this or an earlier process). */
  readonly attempts: number;
}

/** Where an anomaly event was written: its anomaly, its sequence number in it, and its outbox row. */
export interface RecordedEvent {
  readonly anomalyId: string;
  readonly seq: number;
  readonly outboxId: number;
}

export type AnomalyStatus = 'open' | 'resolved';
/** An operator's verdict on an anomaly. */
export type AnomalyMark = 'ack' | 'false_alarm';

/** One anomaly episode as stored: its extent, scores and the operator's mark. */
export interface AnomalyRecord {
  readonly id: string;
  /** The stream the episode is of (`plug-washer/ENERGY.Power`). */
  readonly sensor: string;
  /**
   * The device the stream belongs to (the sensor id of its topic or payload, Reading.source): `plug-washer` for
   * `plug-washer/ENERGY.Power`; the stream itself for a device's own value (`sensors/boiler` → `boiler`), and for
   * episodes stored before schema 7, which did not record it. The list, the API and the page group by it.
   */
  readonly device: string;
  readonly startTs: number;
  /**
   * Epoch ms: the episode's last reading that held it, as its latest stored event gave it (opening, update on
   * a rarer peak; a resolve gives the first reading back after it, endedTs) or as the daemon last wrote its progress while open (touchAnomaly, about every
   * 10 s); final once status is resolved. An open episode may have gone on a little past it. An episode without
   * readings follows the time at that touch instead: a silence's to how far the sensor has been silent, a device's
   * `device_offline` episode's to now (tryout 23, findings F1 and F6). Not an end
   * while the episode is open: the name is kept for existing consumers; `lastSeenTs` and `endedTs` say it plainly.
   */
  readonly endTs: number;
  /** The same time as `endTs`, named for what it is while the episode is open: its last reading seen so far. */
  readonly lastSeenTs: number;
  /**
   * When the episode ended, epoch ms: the first reading after its last one that held it, the reading that was back
   * (SignalBook.resolvedEnd: an episode lasts at least one reading interval); null while it is open.
   */
  readonly endedTs: number | null;
  /**
   * Epoch ms: when the fault the episode tells began (src/contract/lasted.ts episodeLength): its explanation's
   * `since` when that is before `startTs` (a stuck value's first reading of the value, a state held since it began,
   * a silence's last reading), else `startTs`. What its sentence's `since` and `lastedMs` count from.
   */
  readonly beganTs: number;
  /** Ms from `beganTs` to `endTs`: how long it lasted (so far, while open); the list's LASTED, the sentence's `for N min`. */
  readonly lastedMs: number;
  /** Calibrated scores in [0, 1]. */
  readonly peakScore: number;
  /**
   * The episode's peak as a surprise, −log10(1 − peakScore), 0 to 16 (src/contract/surprise.ts surpriseOf):
   * what ranks episodes, where peakScore rounds to 1 for every episode well past the threshold (added beside
   * it; peakScore is kept). 16 means 16 or more: the score is then 1 to float64 precision.
   */
  readonly peakSurprise: number;
  readonly lastScore: number;
  readonly threshold: number;
  readonly model: string;
  /** Always 0 (every reading is scored on its own); kept for consumers of the per-window detector's field. */
  readonly paddedFraction: number;
  /** Per channel, its deviation (surprise) at the episode's peak (AnomalyEvent.channelErrors). */
  readonly channels: readonly AlertChannel[];
  /** Readings the episode has lasted so far, to its last that held it (AnomalyEvent.windows: the name is kept for compatibility). */
  readonly windows: number;
  readonly status: AnomalyStatus;
  readonly mark: AnomalyMark | null;
  readonly markNote: string | null;
  /** Who set the current mark (`mqtt:<user>`, `http`, `cli:<user>`), null when never marked. */
  readonly markBy: string | null;
  /** When the current mark was set (epoch ms), null when never marked. */
  readonly markAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * The episode's explanation (one per episode: its strongest reading, its kind once told; src/explain/episode.ts
   * episodeExplanation) as its latest explained alert carried it: the kind (null when it could not be told) and the sentence.
   */
  readonly kind: AnomalyKind | null;
  readonly sentence: string | null;
  /** That explanation as published in the alert (schema 2); null for episodes stored before it. */
  readonly explanation: AlertExplanation | null;
  /**
   * A field's silence told in its device's one episode (src/daemon/device-silence.ts: every field of the device went
   * silent together): that device episode's id. Stored, never alerted on its own; the views fold it into that
   * episode (AnomalyQuery.folded). Absent for every other episode (and for those stored before schema 11).
   */
  readonly toldIn?: string;
  /**
   * A device's silence episode: the streams whose silences are told in it (their records' toldIn is its id), sorted.
   * Absent for every other episode, and for one whose members are not known (stored before schema 11).
   */
  readonly members?: readonly string[];
  /**
   * A field's episode told in the alert of another field's episode of its device (src/daemon/device-faults.ts: they
   * opened together): that episode's id. Stored, never alerted on its own; unlike `toldIn`, listed as any episode
   * (the views do not fold it). Absent for every other episode (and for those stored before schema 13).
   */
  readonly toldWith?: string;
  /**
   * An episode whose alert tells the episodes of other fields of its device that opened with it: their streams
   * (their records' `toldWith` is its id), sorted. Absent for every other episode.
   */
  readonly together?: readonly string[];
}

/** One operator action on an anomaly: ack, false alarm, or unmark (mark null). */
export interface MarkRecord {
  /** Increasing over all marks. */
  readonly seq: number;
  /** Epoch ms. */
  readonly at: number;
  readonly mark: AnomalyMark | null;
  readonly note: string | null;
  /** Who did it: `mqtt:<user>`, `http`, `cli:<user>`. */
  readonly by: string;
}

/** One event (open, update, resolve) of an anomaly, with the alert payload that was sent for it. */
export interface AnomalyEventRecord {
  readonly seq: number;
  readonly kind: AnomalyEventKind;
  readonly ts: number;
  readonly score: number;
  readonly payload: AlertPayload;
}

export interface AnomalyWithEvents extends AnomalyRecord {
  /** In seq order. */
  readonly events: readonly AnomalyEventRecord[];
  /** Every operator action on it, oldest first. */
  readonly marks: readonly MarkRecord[];
}

export interface AnomalyQuery {
  /** Only the episodes of this stream. */
  readonly sensor?: string;
  /** Only the episodes of this device's streams (AnomalyRecord.device). */
  readonly device?: string;
  /**
   * Only episodes that overlap [from, to] (epoch ms): an episode is listed when it is still open or ended
   * at or after `from` (its endTs >= from), and started at or before `to` (startTs <= to). An open
   * episode counts as going on now, whatever its stored endTs. So `from` =
   * now - 10 min lists what was anomalous at any time in the last 10 minutes: episodes that started in
   * them, that ended in them, and the ones open now however long ago they started.
   */
  readonly from?: number;
  /** See `from`. */
  readonly to?: number;
  readonly status?: AnomalyStatus;
  /**
   * Leave out the fields' silences told in their device's one episode (AnomalyRecord.toldIn): what the operator's
   * views list (CLI, HTTP API, page), one episode per device that went silent, its fields as its `members`.
   */
  readonly folded?: boolean;
  readonly limit: number;
}

export interface RejectionCount {
  readonly reason: RejectReason;
  /** null when the message could not be attributed to a sensor. */
  readonly sensor: string | null;
  readonly count: number;
  readonly lastAt: number;
}

/** One sensor's checkpoint to save: an opaque blob (the detector's JSON) and when it was taken. */
export interface SensorStateRow {
  readonly sensor: string;
  readonly blob: Buffer;
  readonly updatedAt: number;
}

/**
 * A stream's readings a graceful stop took in and did not score (SqliteStore.replaceKeptReadings; src/pipeline/kept.ts):
 * `items` the JSON text of its KeptStreamJson, `readings` how many readings it holds, `keptAt` when the stop wrote it
 * (epoch ms).
 */
export interface KeptReadingsRow {
  readonly stream: string;
  readonly items: string;
  readonly readings: number;
  readonly keptAt: number;
}

/** A saved checkpoint as loaded, by sensor. */
export interface SensorCheckpoint {
  readonly blob: Buffer;
  readonly updatedAt: number;
}

/** Stored readings of one sensor. */
export interface ReadingsBlock {
  readonly sensor: string;
  readonly channels: number;
  /** Epoch ms, ascending. */
  readonly ts: Float64Array;
  /** Row-major [ts.length, channels], in the sensor's units. */
  readonly values: Float32Array;
}

/** A model trained on the device. */
export interface ModelRecord {
  readonly id: string;
  readonly name: string;
  readonly sidecarPath: string;
  /** The sensor or group it was trained for. */
  readonly scope: string;
  readonly cell: string;
  /** Training rows. */
  readonly rows: number;
  readonly valLoss: number;
  /** The sidecar's calibration, as JSON. */
  readonly calibration: unknown;
  readonly source: string;
  readonly createdAt: number;
}

/** A model given to a sensor; the latest per sensor is its current model. */
export interface ModelAssignment {
  /** Increasing over all assignments. */
  readonly seq: number;
  readonly sensor: string;
  /** The model's id; null: the shared model (model.cell / model.name), e.g. after a rollback to it. */
  readonly modelId: string | null;
  /** Why: trained, retrained, joined, rollback, unpin, retrain (the operator asked for a new try). */
  readonly reason: string;
  /** Epoch ms (the store's clock). */
  readonly at: number;
  /** The operator pinned the sensor to this model (`anomalyd models rollback`): it is not learnt again until unpinned. */
  readonly pinned: boolean;
  /**
   * Data time (epoch ms) of the sensor's newest stored reading when the row was written: the readings stored
   * after it count towards the learner's next try. Null when not known (rows of older versions, or none stored).
   */
  readonly dataTs: number | null;
}

/** What an assignment row records besides the model and why (ModelStore.assignModel). */
export interface AssignOptions {
  /** Pin the sensor to the model (default false). */
  readonly pinned?: boolean;
  /** ModelAssignment.dataTs. */
  readonly dataTs?: number | null;
}

export interface StoreStats {
  readonly anomalies: number;
  readonly openAnomalies: number;
  readonly outboxPending: number;
  readonly outboxDelivered: number;
  readonly outboxDropped: number;
  readonly committedOutboxId: number;
  readonly readings: number;
  readonly sensorStates: number;
  readonly batchOpen: boolean;
}

/** Called with the highest committed outbox id after a commit that made new outbox rows visible. */
export type CommitListener = (committedOutboxId: number) => void;

/** Store, then alert. */
export interface AnomalyRecorder {
  /**
   * Writes an anomaly event and its alert (addressed to `topic`) in one transaction: the anomaly row, the
   * event and the outbox row exist together or not at all. The alert is published only once committed.
   * Transitions are idempotent against what is stored: an `open` of an existing id, or an `update` /
   * `resolve` of an unknown or resolved one, is refused (nothing written, no alert, counted) and null is
   * returned. Throws when the event cannot become an alert (invalid channels) or the write fails.
   * `explanation` goes into the alert and the anomaly row; null (the default) leaves the row's earlier one.
   * `publish` false (default true) stores the event without an outbox row (`outboxId` 0): a field's silence told in
   * its device's one episode (docs/ALERTS.md, "A device whose every field goes silent"); `toldIn` then names that
   * episode (AnomalyRecord.toldIn).
   */
  recordEvent(ev: AnomalyEvent, topic: string, explanation?: AlertExplanation | null, publish?: boolean, toldIn?: string): RecordedEvent | null;
  /** Events refused since open because their stored episode was past them. */
  refusedTransitions(): number;
}

/** Names a database knows (SqliteStore.knownNames): its streams (sensor ids) and the devices of its episodes, sorted. */
export interface KnownNames {
  readonly streams: readonly string[];
  readonly devices: readonly string[];
}

export interface AnomalyHistory {
  /** Newest start first (then id), at most q.limit; q.from and q.to select by overlap (AnomalyQuery). */
  listAnomalies(q: AnomalyQuery): AnomalyRecord[];
  /** How many episodes match q's filters, whatever the limit: a list cut at its limit tells the rest as `more`. */
  countAnomalies(q: Omit<AnomalyQuery, 'limit'>): number;
  getAnomaly(id: string): AnomalyWithEvents | null;
  /**
   * Ids that start with `prefix` (exact, case-sensitive), in id order, at most `limit`; the id itself when
   * it is one. For the CLI, which takes a unique prefix of an id as git does (the HTTP API takes ids whole).
   */
  anomalyIdsWithPrefix(prefix: string, limit: number): string[];
  /**
   * Sets or clears (mark null) an operator's verdict and appends it, with who did it (`by`:
   * `mqtt:<user>`, `http`, `cli:<user>`), to the anomaly's mark history. False when there is no such anomaly.
   */
  markAnomaly(id: string, mark: AnomalyMark | null, note: string | null, by: string): boolean;
  /**
   * An open episode's progress while it lasts, with no event and no alert: the time of its last reading that
   * held it (`endTs`, epoch ms) and its length in readings (`windows`). Neither ever moves back, and a
   * resolved or unknown anomaly is left alone (false). `explanation`, when given, replaces the stored one
   * (its kind, sentence and figures): the episode's kind told once its readings show it (a jump that held
   * is a level shift), before its next event; null or absent keeps the stored one.
   */
  touchAnomaly(id: string, endTs: number, windows: number, explanation?: AlertExplanation | null): boolean;
}

export interface Outbox {
  /** Undelivered rows with id > afterId, committed only, in delivery order, at most `limit`. */
  committedOutbox(afterId: number, limit: number): OutboxRow[];
  /** Highest committed outbox id (0 when the outbox has never had a row). */
  lastCommittedOutboxId(): number;
  /** Calls `listener` after each commit that made new outbox rows visible. Returns the unsubscribe. */
  onCommit(listener: CommitListener): () => void;
  /** Counts a publish attempt, durably, before the publish. False when the row is gone (dropped by the bound). */
  markAttempt(id: number): boolean;
  markDelivered(id: number): void;
  /** Undelivered rows dropped by the outbox bound since open. */
  droppedCount(): number;
  /** Rows not yet acknowledged by the broker (the outbox depth). */
  outboxPending(): number;
}

export interface CheckpointStore {
  /** Replaces each sensor's checkpoint. */
  saveSensorStates(rows: readonly SensorStateRow[]): void;
  loadSensorStates(): Map<string, SensorCheckpoint>;
  /** One sensor's checkpoint, or null (an evicted sensor that comes back is restored from it). */
  loadSensorState(sensor: string): SensorCheckpoint | null;
  /**
   * Deletes these rows (a stream's checkpoint, its `#base` and `#side` rows) when there: a stream the operator
   * forgot (src/daemon/forget.ts) is not restored nor revived. Keys that have no row are skipped.
   */
  deleteSensorStates(keys: readonly string[]): void;
}

export interface RejectionStore {
  /** Adds to the per (reason, sensor) counters (the caller hands only what is new). */
  addRejections(rows: readonly RejectionCount[]): void;
  rejections(): RejectionCount[];
}

export interface ModelStore {
  /** Records a model trained on the device (idempotent per id). */
  addModel(m: Omit<ModelRecord, 'createdAt'>): void;
  models(): ModelRecord[];
  /** Makes `modelId` (null: the shared model) the sensor's model from now on; earlier assignments stay as its history. */
  assignModel(sensor: string, modelId: string | null, reason: string, opts?: AssignOptions): void;
  /** Each sensor's current model. */
  assignments(): ModelAssignment[];
  /** One sensor's assignments, newest first. */
  assignmentHistory(sensor: string): ModelAssignment[];
  /** Grows with every assignment: how a running daemon notices a rollback made by the CLI. */
  assignmentVersion(): number;
  /** Records one decision of the quality gate on a new own model (src/learn/gate.ts). */
  addModelCheck(c: Omit<ModelCheck, 'seq' | 'at'>): void;
  /** The gate's decisions, newest first: of one scope, or of all; at most `limit` (default 100). */
  modelChecks(scope?: string, limit?: number): ModelCheck[];
}

/** One decision of the quality gate before a new own model replaces the model in use (docs/MODEL.md, "The gate"). */
export interface ModelCheck {
  readonly seq: number;
  /** The sensor, or group:<name>, the model was trained for. */
  readonly scope: string;
  readonly sensors: readonly string[];
  /** The new model's id. A rejected model is not kept (its files are deleted). */
  readonly candidate: string;
  /** The model in use when it was judged (the shared model's id too); null when there was none. */
  readonly current: string | null;
  readonly accepted: boolean;
  /** For people: why, with the figures. */
  readonly reason: string;
  /** The figures (GateDecision without its reason), as JSON. */
  readonly figures: unknown;
  /** Rejected: the normal readings the scope collects before the learner tries again; null when accepted. */
  readonly retryAfter: number | null;
  /** Epoch ms (the store's clock). */
  readonly at: number;
}

export interface ReadingStore {
  /**
   * Appends readings (`values` row-major [ts.length, channels]); a reading at an existing (sensor, ts)
   * replaces it; each sensor keeps its newest readings, as many as learning reads (learning.maxReadings: the store's
   * readingsKept), whatever their age, and older ones are pruned. Throws when the shapes do not fit.
   */
  appendReadings(sensor: string, ts: Float64Array, values: Float32Array, channels: number): void;
  /**
   * Readings of one sensor in [fromTs, toTs], oldest first, at most `limit` (the oldest `limit` of the
   * range, or with `newest` the newest `limit`); only the newest channel count.
   */
  readReadings(sensor: string, fromTs?: number, toTs?: number, limit?: number, newest?: boolean): ReadingsBlock;
  /** How many readings of one sensor are stored at or after `fromTs` (epoch ms; default all), counted up to `limit`. */
  countReadings(sensor: string, fromTs?: number, limit?: number): number;
  /** Deletes every stored reading of one sensor (a stream the operator forgot); returns how many. Throws when the store fails. */
  deleteReadings(sensor: string): number;
  /** Runs `fn` (this store's synchronous writes) as one transaction: all of them or, when it throws, none. */
  atomically<T>(fn: () => T): T;
}

export interface StoreLifecycle {
  /** Commits the open group commit now. Throws if the commit fails (that batch is then lost). */
  flush(): void;
  /** Commits, then closes. Idempotent; never throws. */
  close(): void;
  stats(): StoreStats;
  /** 'ok' when healthy, otherwise the findings, one per line. */
  integrityCheck(): string;
}

/** Everything the daemon keeps: what the SQLite adapter implements. */
export interface Store
  extends AnomalyRecorder,
    AnomalyHistory,
    Outbox,
    CheckpointStore,
    RejectionStore,
    ModelStore,
    ReadingStore,
    SeriesBucketStore,
    StoreLifecycle {}
