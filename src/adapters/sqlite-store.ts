/**
 * anomalyd's one SQLite database: anomaly history, the alert outbox, sensor checkpoints, rejection
 * counters and recent readings. better-sqlite3 is synchronous, so every method finishes its work
 * before it returns; the only timer is the group-commit timer, which this store owns (armed when a
 * batch opens, cleared by flush()/close()).
 *
 * Durability: WAL + synchronous=NORMAL. A commit survives a crash or SIGKILL of the process; a power
 * cut may lose the last few commits (never corrupts). See docs/ALERTS.md for the delivery guarantees.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import { alertChannels, alertPayload, type AlertChannel, type AlertExplanation, type AlertPayload, type AnomalyKind } from '../contract/alerts.js';
import { BUCKET_STATS, type SeriesBucket, type SeriesRawRow, type SeriesTier } from '../contract/series.js';
import type {
  AnomalyMark,
  AnomalyQuery,
  AnomalyRecord,
  AnomalyStatus,
  AnomalyWithEvents,
  CommitListener,
  AssignOptions,
  KnownNames,
  ModelAssignment,
  ModelCheck,
  ModelRecord,
  OutboxQos,
  OutboxRow,
  ReadingsBlock,
  RecordedEvent,
  RejectionCount,
  SensorCheckpoint,
  SensorStateRow,
  KeptReadingsRow,
  Store,
  StoreStats,
} from '../contract/store.js';
import type { AnomalyEvent, AnomalyEventKind, RejectReason } from '../contract/types.js';
import { surpriseOf } from '../contract/surprise.js';
import { episodeLength } from '../contract/lasted.js';
import { assertMigratable, migrate } from './migrations.js';
import {
  StorageError,
  asStorageError,
  assertWritableFile,
  checkFileIdentity,
  ensureDataDir,
  fileIdentity,
  storageFaultKind,
  type FileIdentity,
} from './storage.js';

export interface SqliteStoreOptions {
  /** 0 = every write commits on its own; > 0 = writes join a batch committed at most this often. */
  readonly commitIntervalMs: number;
  /** Upper bound on undelivered outbox rows; beyond it the oldest undelivered rows are dropped. */
  readonly outboxMax: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Copied into every alert payload as daemon_id. */
  readonly daemonId?: string;
  /**
   * Readings kept per sensor (its learning history): its newest this many, whatever their age or cadence, so what
   * the learner needs is never pruned (a time window was: 7 days hold 2,016 readings of a 5-min sensor, fewer than
   * the 3,600 of learning.minReadings). The daemon passes readingsKeptOf(config) (src/learn/learner.ts). Between two
   * prunes a sensor may hold up to an eighth more (PRUNE_SLACK), so a prune, which walks the sensor's newest readings,
   * runs once per that many appended, not at every append. Default READINGS_KEPT (learning.maxReadings' default).
   */
  readonly readingsKept?: number;
  /** Delivered outbox rows are kept this long for inspection. Default 1 day. */
  readonly deliveredRetentionMs?: number;
  /**
   * Told of every failed write or commit that is a storage fault (read-only, disk full, I/O error), with
   * the path and the cause. The write itself still throws (or, for a group commit, is logged).
   */
  readonly onFault?: (fault: StorageError) => void;
}

/** The database file inside the data dir; the daemon and the CLI commands agree on it here. */
export const DB_FILE = 'anomalyd.db';

const DAY_MS = 86_400_000;
/** SqliteStoreOptions.readingsKept when not given: the shipped learning.maxReadings (what one training reads, at most). */
export const READINGS_KEPT = 50_000;
/** A sensor's readings are pruned back to readingsKept once it may hold more than this fraction beyond it. */
const PRUNE_SLACK = 1 / 8;
/** Rows kept in the rejections table (per reason and sensor); the least recent beyond are dropped. */
export const MAX_REJECTION_ROWS = 10_000;

interface AnomalyRow {
  id: string;
  sensor: string;
  device: string | null;
  start_ts: number;
  end_ts: number;
  peak_score: number;
  last_score: number;
  threshold: number;
  model: string;
  padded_fraction: number;
  channel_errors: string;
  windows: number;
  status: AnomalyStatus;
  mark: AnomalyMark | null;
  mark_note: string | null;
  mark_by: string | null;
  mark_at: number | null;
  created_at: number;
  updated_at: number;
  kind: AnomalyKind | null;
  sentence: string | null;
  explanation: string | null;
  told_in: string | null;
  told_with: string | null;
}

interface EventRow {
  seq: number;
  kind: AnomalyEventKind;
  ts: number;
  score: number;
  payload: string;
}

interface OutboxDbRow {
  id: number;
  topic: string;
  payload: string;
  qos: OutboxQos;
  created_at: number;
  attempts: number;
}

interface AnomalyUpsert {
  id: string;
  sensor: string;
  device: string;
  startTs: number;
  endTs: number;
  peak: number;
  score: number;
  threshold: number;
  model: string;
  padded: number;
  channels: string;
  windows: number;
  status: AnomalyStatus;
  now: number;
  kind: AnomalyKind | null;
  sentence: string | null;
  explanation: string | null;
  toldIn: string | null;
  toldWith: string | null;
}

interface BucketRow {
  stream: string;
  tier: SeriesTier;
  start_ts: number;
  count: number;
  channels: string;
  stats: Buffer;
  surprise_max: number | null;
  threshold: number | null;
  anomalous: number;
}

function prepareStatements(db: Db) {
  return {
    anomalyStatus: db.prepare<[string], AnomalyStatus>('SELECT status FROM anomalies WHERE id = ?').pluck(),
    nextSeq: db
      .prepare<[string], number>('SELECT coalesce(max(seq), 0) + 1 FROM anomaly_events WHERE anomaly_id = ?')
      .pluck(),
    upsertAnomaly: db.prepare<AnomalyUpsert>(`
      INSERT INTO anomalies (id, sensor, device, start_ts, end_ts, peak_score, last_score, threshold, model,
                             padded_fraction, channel_errors, windows, status, created_at, updated_at,
                             kind, sentence, explanation, told_in, told_with)
      VALUES (@id, @sensor, @device, @startTs, @endTs, @peak, @score, @threshold, @model,
              @padded, @channels, @windows, @status, @now, @now, @kind, @sentence, @explanation, @toldIn, @toldWith)
      ON CONFLICT (id) DO UPDATE SET
        -- the device episode a field's silence is told in, once known (its open names it)
        told_in = coalesce(told_in, excluded.told_in),
        -- the episode of another field of the device whose alert tells this one (its open names it)
        told_with = coalesce(told_with, excluded.told_with),
        -- the device is the one the opening event named (a resolve at start or at eviction may not know it)
        device = coalesce(device, excluded.device),
        -- a resolve's end is final (a silence ends at the reading that ended it in data time, also when its record was
        -- touched farther on the arrival clock while it lasted: a buffer flushed after an outage); else the latest
        end_ts = CASE WHEN excluded.status = 'resolved' AND status = 'open' THEN excluded.end_ts ELSE max(end_ts, excluded.end_ts) END,
        peak_score = max(peak_score, excluded.peak_score),
        last_score = excluded.last_score,
        threshold = excluded.threshold,
        model = excluded.model,
        padded_fraction = excluded.padded_fraction,
        channel_errors = excluded.channel_errors,
        windows = excluded.windows,
        -- resolved is final: a late update must not reopen an episode consumers saw resolve
        status = CASE WHEN status = 'resolved' THEN 'resolved' ELSE excluded.status END,
        -- an event without an explanation (e.g. resolved at start) keeps the one it has
        kind = CASE WHEN excluded.explanation IS NULL THEN kind ELSE excluded.kind END,
        sentence = coalesce(excluded.sentence, sentence),
        explanation = coalesce(excluded.explanation, explanation),
        updated_at = excluded.updated_at`),
    insertEvent: db.prepare<[string, number, AnomalyEventKind, number, number, string]>(
      'INSERT INTO anomaly_events (anomaly_id, seq, kind, ts, score, payload) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    insertOutbox: db.prepare<[string, string, OutboxQos, number]>(
      'INSERT INTO outbox (topic, payload, qos, created_at) VALUES (?, ?, ?, ?)',
    ),
    oldestPending: db.prepare<[], number>('SELECT min(id) FROM outbox WHERE delivered_at IS NULL').pluck(),
    countPending: db.prepare<[], number>('SELECT count(*) FROM outbox WHERE delivered_at IS NULL').pluck(),
    dropOldestPending: db.prepare<[number]>(
      'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT ?)',
    ),
    committedOutbox: db.prepare<[number, number, number], OutboxDbRow>(`
      SELECT id, topic, payload, qos, created_at, attempts FROM outbox
      WHERE id > ? AND id <= ? AND delivered_at IS NULL ORDER BY id LIMIT ?`),
    markAttempt: db.prepare<[number]>('UPDATE outbox SET attempts = attempts + 1 WHERE id = ?'),
    markDelivered: db.prepare<[number, number]>(
      'UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL',
    ),
    pruneDelivered: db.prepare<[number]>(
      'DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?',
    ),
    maxOutboxId: db.prepare<[], number>('SELECT coalesce(max(id), 0) FROM outbox').pluck(),
    upsertSensorState: db.prepare<[string, Buffer, number]>(`
      INSERT INTO sensor_state (sensor, blob, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (sensor) DO UPDATE SET blob = excluded.blob, updated_at = excluded.updated_at`),
    deleteSensorState: db.prepare<[string]>('DELETE FROM sensor_state WHERE sensor = ?'),
    insertKept: db.prepare<[string, string, number, number]>('INSERT INTO kept_readings (stream, items, readings, kept_at) VALUES (?, ?, ?, ?)'),
    deleteAllKept: db.prepare<[]>('DELETE FROM kept_readings'),
    deleteKept: db.prepare<[string]>('DELETE FROM kept_readings WHERE stream = ?'),
    keptCount: db.prepare<[string], { readings: number }>('SELECT readings FROM kept_readings WHERE stream = ?'),
    allKept: db.prepare<[], { stream: string; items: string; readings: number; kept_at: number }>('SELECT stream, items, readings, kept_at FROM kept_readings ORDER BY stream'),
    upsertDiscoveryConfig: db.prepare<[string, string, number]>(`
      INSERT INTO discovery_configs (topic, payload, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (topic) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at`),
    deleteDiscoveryConfig: db.prepare<[string]>('DELETE FROM discovery_configs WHERE topic = ?'),
    allDiscoveryConfigs: db.prepare<[], { topic: string; payload: string; availability: string | null }>('SELECT topic, payload, availability FROM discovery_configs ORDER BY updated_at, topic'),
    discoveryAvailability: db.prepare<[string | null, string]>('UPDATE discovery_configs SET availability = ? WHERE topic = ?'),
    oneSensorState: db.prepare<[string], { blob: Buffer; updated_at: number }>('SELECT blob, updated_at FROM sensor_state WHERE sensor = ?'),
    allSensorStates: db.prepare<[], { sensor: string; blob: Buffer; updated_at: number }>(
      'SELECT sensor, blob, updated_at FROM sensor_state',
    ),
    addRejection: db.prepare<[RejectReason, string, number, number]>(`
      INSERT INTO rejections (reason, sensor, count, last_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (reason, sensor) DO UPDATE SET
        count = count + excluded.count, last_at = max(last_at, excluded.last_at)`),
    countRejections: db.prepare<[], number>('SELECT count(*) FROM rejections').pluck(),
    pruneRejections: db.prepare<[number]>(`
      DELETE FROM rejections WHERE (reason, sensor) IN (SELECT reason, sensor FROM rejections ORDER BY last_at LIMIT ?)`),
    allRejections: db.prepare<[], { reason: RejectReason; sensor: string; count: number; last_at: number }>(
      'SELECT reason, sensor, count, last_at FROM rejections ORDER BY reason, sensor',
    ),
    insertReading: db.prepare<[string, number, number, Buffer]>(
      'INSERT OR REPLACE INTO readings (sensor, ts, channels, vals) VALUES (?, ?, ?, ?)',
    ),
    // All but the sensor's newest `keep` (ts is unique per sensor: the primary key); a walk of `keep` index entries.
    pruneReadings: db.prepare<[string, string, number]>(
      'DELETE FROM readings WHERE sensor = ? AND ts < (SELECT ts FROM readings WHERE sensor = ? ORDER BY ts DESC LIMIT 1 OFFSET ?)',
    ),
    deleteReadings: db.prepare<[string]>('DELETE FROM readings WHERE sensor = ?'),
    readReadings: db.prepare<[string, number, number, number], { ts: number; channels: number; vals: Buffer }>(
      'SELECT ts, channels, vals FROM readings WHERE sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?',
    ),
    readNewestReadings: db.prepare<[string, number, number, number], { ts: number; channels: number; vals: Buffer }>(
      'SELECT ts, channels, vals FROM readings WHERE sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?',
    ),
    countReadings: db.prepare<[string, number, number], number>(
      'SELECT count(*) FROM (SELECT 1 FROM readings WHERE sensor = ? AND ts >= ? LIMIT ?)',
    ).pluck(),
    getAnomaly: db.prepare<[string], AnomalyRow>('SELECT * FROM anomalies WHERE id = ?'),
    // Ids with a prefix p form one run in id order that starts at the first id >= p: a range scan of the key.
    idsFrom: db.prepare<[string, number], string>('SELECT id FROM anomalies WHERE id >= ? ORDER BY id LIMIT ?').pluck(),
    eventsOf: db.prepare<[string], EventRow>(
      'SELECT seq, kind, ts, score, payload FROM anomaly_events WHERE anomaly_id = ? ORDER BY seq',
    ),
    markAnomaly: db.prepare<[AnomalyMark | null, string | null, string, number, number, string]>(
      // updated_at never goes back: the demo's daemon stores on its simulated clock, ahead of a CLI's wall clock.
      'UPDATE anomalies SET mark = ?, mark_note = ?, mark_by = ?, mark_at = ?, updated_at = max(updated_at, ?) WHERE id = ?',
    ),
    touchAnomaly: db.prepare<[number, number, number, string]>(
      "UPDATE anomalies SET end_ts = max(end_ts, ?), windows = max(windows, ?), updated_at = max(updated_at, ?) WHERE id = ? AND status = 'open'",
    ),
    retellAnomaly: db.prepare<[string | null, string | null, string, string]>(
      "UPDATE anomalies SET kind = ?, sentence = ?, explanation = ? WHERE id = ? AND status = 'open'",
    ),
    insertMark: db.prepare<[string, number, AnomalyMark | null, string | null, string]>(
      'INSERT INTO anomaly_marks (anomaly_id, at, mark, note, actor) VALUES (?, ?, ?, ?, ?)',
    ),
    marksOf: db.prepare<[string], { seq: number; at: number; mark: AnomalyMark | null; note: string | null; actor: string }>(
      'SELECT seq, at, mark, note, actor FROM anomaly_marks WHERE anomaly_id = ? ORDER BY seq',
    ),
  };
}

function prepareSeriesStatements(db: Db) {
  return {
    upsert: db.prepare<[string, number, number, number, string, Buffer, number | null, number | null, number]>(`
      INSERT OR REPLACE INTO series_buckets (stream, tier, start_ts, count, channels, stats, surprise_max, threshold, anomalous)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    range: db.prepare<[string, number, number, number], BucketRow>(
      'SELECT * FROM series_buckets WHERE stream = ? AND tier = ? AND start_ts >= ? AND start_ts <= ? ORDER BY start_ts',
    ),
    newest: db.prepare<[string, number], BucketRow>('SELECT * FROM series_buckets WHERE stream = ? AND tier = ? ORDER BY start_ts DESC LIMIT 1'),
    prune: db.prepare<[string, number, number]>('DELETE FROM series_buckets WHERE stream = ? AND tier = ? AND start_ts < ?'),
  };
}

const toBucket = (r: BucketRow): SeriesBucket => {
  // Copy into an aligned buffer: the row's Buffer may start at any byte offset.
  const bytes = Uint8Array.from(r.stats);
  const channels = JSON.parse(r.channels) as string[];
  // 4 bytes per number (float32) or, for a stream whose readings float32 would round, 8 (float64).
  const wide = bytes.byteLength === channels.length * BUCKET_STATS.length * 8;
  return {
    stream: r.stream,
    tier: r.tier,
    startTs: r.start_ts,
    count: r.count,
    channels,
    stats: wide ? new Float64Array(bytes.buffer, 0, bytes.byteLength >> 3) : new Float32Array(bytes.buffer, 0, bytes.byteLength >> 2),
    surpriseMax: r.surprise_max ?? NaN,
    threshold: r.threshold ?? NaN,
    anomalous: r.anomalous,
  };
};

const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

function prepareModelStatements(db: Db) {
  return {
    insertModel: db.prepare<[string, string, string, string, string, number, number, string, string, number]>(`
      INSERT INTO models (id, name, sidecar_path, scope, cell, rows, val_loss, calibration, source, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO NOTHING`),
    allModels: db.prepare<[], ModelDbRow>('SELECT * FROM models ORDER BY created_at, id'),
    assign: db.prepare<[string, string | null, string, number, number, number | null]>(
      'INSERT INTO model_assignments (sensor, model_id, reason, at, pinned, data_ts) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    current: db.prepare<[], AssignmentDbRow>(`
      SELECT a.seq, a.sensor, a.model_id, a.reason, a.at, a.pinned, a.data_ts FROM model_assignments a
      JOIN (SELECT sensor, max(seq) AS seq FROM model_assignments GROUP BY sensor) latest ON latest.seq = a.seq
      ORDER BY a.sensor`),
    historyOf: db.prepare<[string], AssignmentDbRow>(
      'SELECT seq, sensor, model_id, reason, at, pinned, data_ts FROM model_assignments WHERE sensor = ? ORDER BY seq DESC',
    ),
    lastAssignmentSeq: db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM model_assignments').pluck(),
    addCheck: db.prepare<[string, string, string, string | null, number, string, string, number | null, number]>(
      'INSERT INTO model_checks (scope, sensors, candidate, current, accepted, reason, figures, retry_after, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    checksOf: db.prepare<[string, number], CheckDbRow>('SELECT * FROM model_checks WHERE scope = ? ORDER BY seq DESC LIMIT ?'),
    allChecks: db.prepare<[number], CheckDbRow>('SELECT * FROM model_checks ORDER BY seq DESC LIMIT ?'),
  };
}

interface ModelDbRow {
  id: string;
  name: string;
  sidecar_path: string;
  scope: string;
  cell: string;
  rows: number;
  val_loss: number;
  calibration: string;
  source: string;
  created_at: number;
}

interface CheckDbRow {
  seq: number;
  scope: string;
  sensors: string;
  candidate: string;
  current: string | null;
  accepted: number;
  reason: string;
  figures: string;
  retry_after: number | null;
  at: number;
}

const toCheck = (r: CheckDbRow): ModelCheck => ({
  seq: r.seq,
  scope: r.scope,
  sensors: JSON.parse(r.sensors) as string[],
  candidate: r.candidate,
  current: r.current,
  accepted: r.accepted === 1,
  reason: r.reason,
  figures: JSON.parse(r.figures) as unknown,
  retryAfter: r.retry_after,
  at: r.at,
});

interface AssignmentDbRow {
  seq: number;
  sensor: string;
  model_id: string | null;
  reason: string;
  at: number;
  pinned: number;
  data_ts: number | null;
}

const toModel = (r: ModelDbRow): ModelRecord => ({
  id: r.id,
  name: r.name,
  sidecarPath: r.sidecar_path,
  scope: r.scope,
  cell: r.cell,
  rows: r.rows,
  valLoss: r.val_loss,
  calibration: JSON.parse(r.calibration) as unknown,
  source: r.source,
  createdAt: r.created_at,
});

const toAssignment = (r: AssignmentDbRow): ModelAssignment => ({
  seq: r.seq,
  sensor: r.sensor,
  modelId: r.model_id,
  reason: r.reason,
  at: r.at,
  pinned: r.pinned === 1,
  dataTs: r.data_ts,
});

type Statements = ReturnType<typeof prepareStatements>;

/** The one Store implementation (src/contract/store.ts): every port on one SQLite connection. */
export class SqliteStore implements Store {
  private readonly s: Statements;
  private readonly m: ReturnType<typeof prepareModelStatements>;
  private readonly series: ReturnType<typeof prepareSeriesStatements>;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly listeners = new Set<CommitListener>();
  private readonly anomalyQueries = new Map<string, Statement<unknown[], AnomalyRow>>();
  /** Per sensor that appended readings in this run, an upper bound of the readings it holds (appendReadings). */
  private readonly readingsHeld = new Map<string, number>();
  private batchOpen = false;
  private batchTimer: NodeJS.Timeout | null = null;
  /** Highest outbox id known to be committed; the same connection also sees its own uncommitted rows. */
  private committedOutboxId: number;
  private pendingOutboxId: number;
  private dropped = 0;
  private refused = 0;
  private closed = false;

  /** Device and inode of the file when it was opened (null for :memory:). */
  private readonly identity: FileIdentity | null;
  /** This connection's -wal and -shm files, by path. */
  private readonly sidecars = new Map<string, FileIdentity>();

  private constructor(
    private readonly db: Db,
    private readonly opts: SqliteStoreOptions,
    readonly path: string,
  ) {
    this.identity = path === ':memory:' ? null : fileIdentity(path);
    if (path !== ':memory:') {
      // Both exist once the open's probe has written: WAL mode creates them on the first write.
      for (const p of [`${path}-wal`, `${path}-shm`]) {
        const id = fileIdentity(p);
        if (id !== null) this.sidecars.set(p, id);
      }
    }
    this.s = prepareStatements(db);
    this.m = prepareModelStatements(db);
    this.series = prepareSeriesStatements(db);
    this.log = opts.logger;
    // Columns are STRICT INTEGER milliseconds; an injected clock may return fractions.
    const clock = opts.now ?? Date.now;
    this.now = () => Math.round(clock());
    this.committedOutboxId = this.s.maxOutboxId.get() ?? 0;
    this.pendingOutboxId = this.committedOutboxId;
  }

  /**
   * Opens (creating if needed) and migrates the database, then proves it can write to it. Throws
   * SchemaTooNewError / ForeignDatabaseError, and StorageError (naming the path, the cause and the fix)
   * when the directory or file cannot be made, read or written: a read-only database must fail the start,
   * not drop every anomaly later.
   */
  static open(path: string, opts: SqliteStoreOptions): SqliteStore {
    assertOptions(opts);
    if (path !== ':memory:') {
      ensureDataDir(dirname(path));
      assertWritableFile(path);
    }
    let db: Db;
    try {
      db = new Database(path, { timeout: 5000 });
    } catch (err) {
      throw asStorageError(err, path);
    }
    try {
      assertMigratable(db);
      const mode = String(db.pragma('journal_mode = WAL', { simple: true }));
      if (mode !== 'wal') opts.logger.warn({ path, mode }, 'sqlite: WAL unavailable, using another journal mode');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      const { from, to } = migrate(db);
      if (from !== to) opts.logger.info({ path, from, to }, 'sqlite: schema migrated');
      // A real write (the header's user_version, unchanged): SQLite opens a file it may not write as
      // read-only without a word, and every later write would fail.
      // Without waiting: another connection holding the write lock (the daemon's group commit, beside a
      // CLI command) proves nothing either way, and this connection's writes wait for it as usual.
      const version = Number(db.pragma('user_version', { simple: true }));
      db.pragma('busy_timeout = 0');
      try {
        db.transaction(() => db.pragma(`user_version = ${version}`)).immediate();
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
      } finally {
        db.pragma('busy_timeout = 5000');
      }
      return new SqliteStore(db, opts, path);
    } catch (err) {
      db.close();
      throw storageFaultKind(err) === null ? err : asStorageError(err, path);
    }
  }

  /**
   * Whether the database file is still the one opened: a StorageError when it was deleted or replaced
   * (SQLite would go on writing into the unlinked file, and lose it all at the next start), else null.
   */
  checkFile(): StorageError | null {
    if (this.identity === null || this.closed) return null;
    return checkFileIdentity(this.path, this.identity);
  }

  /**
   * This connection's -wal and -shm files that are still at their paths (by inode). After the database
   * file was deleted or replaced, SQLite may leave them behind at close; found by the next connection to
   * that path, a stale WAL would be replayed into the wrong database, so they must be moved away.
   */
  leftoverSidecars(): string[] {
    return [...this.sidecars].filter(([p, id]) => {
      const now = fileIdentity(p);
      return now !== null && now.dev === id.dev && now.ino === id.ino;
    }).map(([p]) => p);
  }

  /**
   * Writes everything committed into a new database file at `dest` (SQLite's VACUUM INTO, which reads
   * through this connection, so it works on a deleted file too). Commits the open batch first. Throws
   * when `dest` exists or cannot be written.
   */
  rescueTo(dest: string): void {
    this.assertOpen();
    if (existsSync(dest)) throw new Error(`rescue: ${dest} exists`);
    this.commitBatch();
    this.db.prepare('VACUUM INTO ?').run(dest);
  }

  /**
   * Stores an anomaly event and its alert in ONE transaction: the anomaly row, the event and the
   * outbox row exist together or not at all. The alert is published only after this commits.
   * `explanation` (the episode's, src/daemon/signals.ts: one per episode) goes into the alert and the anomaly
   * row, so the row says what the episode's latest alert said; null leaves the row's earlier one.
   *
   * Transitions are idempotent against what is stored (the committed truth): an `open` of an id that
   * exists, or an `update`/`resolve` of an id that is unknown or already resolved, is refused: nothing is
   * written, no alert is queued, the refusal is counted (`refusedTransitions`) and logged, and null is
   * returned. So an episode never gets a second open or a second resolve, whatever a restored
   * checkpoint believes.
   *
   * `publish` false stores the event without its alert (no outbox row; `outboxId` 0): a field's silence told in its
   * device's one episode (src/daemon/device-silence.ts), kept in the history, never sent on its own. `toldIn` is then
   * that device episode's id, stored with the field's (AnomalyRecord.toldIn: the views fold it into that episode).
   */
  recordEvent(ev: AnomalyEvent, topic: string, explanation: AlertExplanation | null = null, publish = true, toldIn?: string): RecordedEvent | null {
    const channels = alertChannels(ev); // validates before anything is written
    const now = this.now();
    const { recorded, dropped, refusal } = this.write(() => {
      const existing = this.s.anomalyStatus.get(ev.anomalyId);
      const refused = transitionRefusal(ev.kind, existing);
      if (refused !== null) return { recorded: null, dropped: 0, refusal: refused };
      const seq = this.s.nextSeq.get(ev.anomalyId) ?? 1;
      const payload = JSON.stringify(alertPayload(ev, { seq, resent: false, daemonId: this.opts.daemonId, explanation }));
      this.s.upsertAnomaly.run({
        id: ev.anomalyId,
        sensor: ev.sensor,
        device: ev.device ?? ev.sensor,
        startTs: Math.round(ev.startTs),
        endTs: Math.round(ev.endTs),
        peak: ev.peakScore,
        score: ev.score,
        threshold: ev.threshold,
        model: ev.modelId,
        padded: ev.paddedFraction,
        channels: JSON.stringify(channels),
        windows: ev.windows,
        status: ev.kind === 'resolve' ? 'resolved' : 'open',
        now,
        kind: explanation?.kind ?? null,
        sentence: explanation?.sentence ?? null,
        explanation: explanation === null ? null : JSON.stringify(explanation),
        toldIn: toldIn ?? null,
        toldWith: ev.toldWith ?? null,
      });
      this.s.insertEvent.run(ev.anomalyId, seq, ev.kind, Math.round(ev.endTs), ev.score, payload);
      if (!publish) return { recorded: { anomalyId: ev.anomalyId, seq, outboxId: 0 }, dropped: 0, refusal: null };
      const outboxId = Number(this.s.insertOutbox.run(topic, payload, 1, now).lastInsertRowid);
      this.pendingOutboxId = Math.max(this.pendingOutboxId, outboxId);
      return { recorded: { anomalyId: ev.anomalyId, seq, outboxId }, dropped: this.enforceOutboxBound(outboxId), refusal: null };
    });
    if (recorded === null) {
      this.refused++;
      this.log.warn(
        { anomalyId: ev.anomalyId, sensor: ev.sensor, kind: ev.kind, reason: refusal, refusedTotal: this.refused },
        'anomaly event refused: the stored episode is past it (no alert sent)',
      );
      return null;
    }
    if (dropped > 0) {
      this.dropped += dropped;
      this.log.warn(
        { dropped, outboxMax: this.opts.outboxMax, droppedTotal: this.dropped },
        'outbox full: dropped the oldest undelivered alerts',
      );
    }
    return recorded;
  }

  /** Undelivered rows with afterId < id, committed only, in delivery order. */
  committedOutbox(afterId: number, limit: number): OutboxRow[] {
    this.assertOpen();
    return this.s.committedOutbox.all(afterId, this.committedOutboxId, limit).map((r) => ({
      id: r.id,
      topic: r.topic,
      payload: r.payload,
      qos: r.qos,
      createdAt: r.created_at,
      attempts: r.attempts,
    }));
  }

  /** Highest committed outbox id (0 when the outbox has never had a row). */
  lastCommittedOutboxId(): number {
    return this.committedOutboxId;
  }

  /** Calls `listener` after each commit that made new outbox rows visible. Returns the unsubscribe. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Counts a publish attempt. Commits at once, batch or not: the mark must be durable before the
   * publish, or a crash right after it would resend the alert without `resent: true`.
   * Returns false when the row no longer exists (dropped by the outbox bound).
   */
  markAttempt(id: number): boolean {
    const changed = this.write(() => this.s.markAttempt.run(id).changes);
    this.commitBatch();
    return changed > 0;
  }

  /** Joins the current batch: if it is lost in a crash the row is resent, flagged `resent`. */
  markDelivered(id: number): void {
    const now = this.now();
    this.write(() => {
      this.s.markDelivered.run(now, id);
      this.s.pruneDelivered.run(now - (this.opts.deliveredRetentionMs ?? DAY_MS));
    });
  }

  droppedCount(): number {
    return this.dropped;
  }

  /** Outbox messages not yet acknowledged by the broker (the outbox depth). */
  outboxPending(): number {
    this.assertOpen();
    return this.s.countPending.get() ?? 0;
  }

  /** Events refused since open because the stored episode was past them (see recordEvent). */
  refusedTransitions(): number {
    return this.refused;
  }

  saveSensorStates(rows: readonly SensorStateRow[]): void {
    this.write(() => {
      for (const r of rows) this.s.upsertSensorState.run(r.sensor, r.blob, Math.round(r.updatedAt));
    });
  }

  deleteSensorStates(keys: readonly string[]): void {
    this.write(() => {
      for (const k of keys) this.s.deleteSensorState.run(k);
    });
  }

  /**
   * Replaces every kept-readings row (src/pipeline/kept.ts: a stream's readings a graceful stop took in and did not
   * score; `items` the row's JSON text, `readings` how many it holds, `keptAt` epoch ms) with `rows`, in one write:
   * the final checkpoint's transaction when called inside atomically(). Throws as every write does.
   */
  replaceKeptReadings(rows: readonly KeptReadingsRow[]): void {
    this.write(() => {
      this.s.deleteAllKept.run();
      for (const r of rows) this.s.insertKept.run(r.stream, r.items, r.readings, Math.round(r.keptAt));
    });
  }

  /**
   * Deletes these streams' kept-readings rows (scored since, and checkpointed: the same transaction; or forgotten) and
   * returns how many readings they held (their `readings`). Throws as every write does.
   */
  deleteKeptReadings(streams: readonly string[]): number {
    if (streams.length === 0) return 0;
    return this.write(() => {
      let readings = 0;
      for (const s of streams) {
        const row = this.s.keptCount.get(s);
        if (row === undefined) continue;
        readings += row.readings;
        this.s.deleteKept.run(s);
      }
      return readings;
    });
  }

  /** Every kept-readings row, by stream name. */
  loadKeptReadings(): KeptReadingsRow[] {
    this.assertOpen();
    return this.s.allKept.all().map((r) => ({ stream: r.stream, items: r.items, readings: r.readings, keptAt: r.kept_at }));
  }

  /**
   * Keeps a Home Assistant discovery entity's config (MessageParser's onEntityConfig: config topic, payload text;
   * null deletes it), `at` epoch ms. Throws as every write does (a closed or faulty store).
   */
  saveDiscoveryConfig(topic: string, payload: string | null, at: number): void {
    this.write(() => {
      if (payload === null) this.s.deleteDiscoveryConfig.run(topic);
      else this.s.upsertDiscoveryConfig.run(topic, payload, Math.round(at));
    });
  }

  /**
   * Keeps a discovery entity's availability state beside its config (MessageParser's onEntityAvailability: config
   * topic, its state's text; null forgets it); nothing for an entity whose config is not kept. Throws as every write does.
   */
  saveDiscoveryAvailability(topic: string, availability: string | null): void {
    this.write(() => {
      this.s.discoveryAvailability.run(availability, topic);
    });
  }

  /**
   * The discovery entities' configs kept (saveDiscoveryConfig), oldest first: the order they are given back in, each
   * with its availability state (saveDiscoveryAvailability; null: none kept).
   */
  loadDiscoveryConfigs(): { topic: string; payload: string; availability: string | null }[] {
    this.assertOpen();
    return this.s.allDiscoveryConfigs.all();
  }

  loadSensorState(sensor: string): SensorCheckpoint | null {
    this.assertOpen();
    const r = this.s.oneSensorState.get(sensor);
    return r === undefined ? null : { blob: r.blob, updatedAt: r.updated_at };
  }

  loadSensorStates(): Map<string, SensorCheckpoint> {
    this.assertOpen();
    const out = new Map<string, SensorCheckpoint>();
    for (const r of this.s.allSensorStates.all()) out.set(r.sensor, { blob: r.blob, updatedAt: r.updated_at });
    return out;
  }

  /** Adds to the per (reason, sensor) counters; the caller aggregates and flushes periodically. */
  addRejections(rows: readonly RejectionCount[]): void {
    this.write(() => {
      for (const r of rows) this.s.addRejection.run(r.reason, r.sensor ?? '', r.count, Math.round(r.lastAt));
      // Made-up sensor ids must not grow the table across restarts: keep the most recent rows only.
      const excess = (this.s.countRejections.get() ?? 0) - MAX_REJECTION_ROWS;
      if (excess > 0) this.s.pruneRejections.run(excess);
    });
  }

  rejections(): RejectionCount[] {
    this.assertOpen();
    return this.s.allRejections.all().map((r) => ({
      reason: r.reason,
      sensor: r.sensor === '' ? null : r.sensor,
      count: r.count,
      lastAt: r.last_at,
    }));
  }

  /** Records a model trained on the device (idempotent per id). */
  addModel(m: Omit<ModelRecord, 'createdAt'>): void {
    this.write(() => {
      this.m.insertModel.run(m.id, m.name, m.sidecarPath, m.scope, m.cell, m.rows, m.valLoss, JSON.stringify(m.calibration), m.source, this.now());
    });
  }

  models(): ModelRecord[] {
    this.assertOpen();
    return this.m.allModels.all().map(toModel);
  }

  /** Makes `modelId` (null: the shared model) the sensor's model from now on; the previous assignments stay as its history. */
  assignModel(sensor: string, modelId: string | null, reason: string, opts: AssignOptions = {}): void {
    this.write(() => {
      this.m.assign.run(sensor, modelId, reason, this.now(), opts.pinned === true ? 1 : 0, opts.dataTs ?? null);
    });
  }

  /** Each sensor's current model. */
  assignments(): ModelAssignment[] {
    this.assertOpen();
    return this.m.current.all().map(toAssignment);
  }

  /** A sensor's assignments, newest first. */
  assignmentHistory(sensor: string): ModelAssignment[] {
    this.assertOpen();
    return this.m.historyOf.all(sensor).map(toAssignment);
  }

  /** Grows with every assignment: a cheap way for the daemon to notice a rollback made by the CLI. */
  assignmentVersion(): number {
    this.assertOpen();
    return this.m.lastAssignmentSeq.get() ?? 0;
  }

  /** Records one decision of the quality gate on a new own model. */
  addModelCheck(c: Omit<ModelCheck, 'seq' | 'at'>): void {
    this.write(() => {
      this.m.addCheck.run(c.scope, JSON.stringify(c.sensors), c.candidate, c.current, c.accepted ? 1 : 0, c.reason, JSON.stringify(c.figures), c.retryAfter, this.now());
    });
  }

  /** The gate's decisions, newest first (of one scope, or of all), at most `limit`. */
  modelChecks(scope?: string, limit = 100): ModelCheck[] {
    this.assertOpen();
    return (scope === undefined ? this.m.allChecks.all(limit) : this.m.checksOf.all(scope, limit)).map(toCheck);
  }

  /**
   * Appends readings (`values` row-major [ts.length, channels]); a reading at an existing
   * (sensor, ts) replaces it. Keeps the sensor's newest readingsKept readings (SqliteStoreOptions.readingsKept): the
   * older are deleted once it may hold PRUNE_SLACK more. Throws when the shapes do not fit.
   */
  appendReadings(sensor: string, ts: Float64Array, values: Float32Array, channels: number): void {
    if (!Number.isInteger(channels) || channels < 1 || values.length !== ts.length * channels) {
      throw new Error(`appendReadings(${sensor}): ${values.length} values do not fit ${ts.length} x ${channels}`);
    }
    if (ts.length === 0) return;
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    const stride = channels * 4;
    const keep = Math.max(1, Math.floor(this.opts.readingsKept ?? READINGS_KEPT));
    const most = Math.floor(keep * (1 + PRUNE_SLACK));
    this.write(() => {
      for (let i = 0; i < ts.length; i++) {
        // Copy: the statement must not keep a view into the caller's array.
        this.s.insertReading.run(sensor, Math.round(ts[i]), channels, Buffer.from(bytes.subarray(i * stride, (i + 1) * stride)));
      }
      // An upper bound of what the sensor holds (a reading at an existing time replaced it, adding none): counted
      // once per sensor and run, then followed; pruned, and counted again, once it may exceed keep by the slack.
      const held = (this.readingsHeld.get(sensor) ?? this.s.countReadings.get(sensor, -Number.MAX_SAFE_INTEGER, most + 1) ?? 0) + ts.length;
      if (held > most) {
        // Rows deleted: exactly `keep` are left (their times are unique); none (the bound counted replaced readings): counted.
        const deleted = this.s.pruneReadings.run(sensor, sensor, keep - 1).changes;
        this.readingsHeld.set(sensor, deleted > 0 ? keep : (this.s.countReadings.get(sensor, -Number.MAX_SAFE_INTEGER, most + 1) ?? 0));
      } else {
        this.readingsHeld.set(sensor, held);
      }
    });
  }

  /**
   * Deletes every stored reading of `sensor` (its learning history: a stream the operator forgot, src/daemon/forget.ts);
   * returns how many rows went. Inside atomically(), part of its transaction. Throws as every write does.
   */
  deleteReadings(sensor: string): number {
    return this.write(() => {
      const deleted = this.s.deleteReadings.run(sensor).changes;
      this.readingsHeld.delete(sensor);
      return deleted;
    });
  }

  /**
   * Runs `fn` (synchronous: this store's writes) as one transaction: every write inside it is committed with the others
   * or, when `fn` throws, none is (a savepoint of the open batch when writes are batched). Returns what `fn` returns;
   * throws what it throws.
   */
  atomically<T>(fn: () => T): T {
    return this.write(fn);
  }

  /**
   * Readings of one sensor in [fromTs, toTs], oldest first, at most `limit`: the oldest `limit` of the
   * range, or with `newest` the newest `limit` (still returned oldest first). If the sensor's channel
   * count changed inside the range, only the rows with the newest count are returned.
   */
  readReadings(sensor: string, fromTs = -Number.MAX_SAFE_INTEGER, toTs = Number.MAX_SAFE_INTEGER, limit = 1e9, newest = false): ReadingsBlock {
    this.assertOpen();
    const rows = newest ? this.s.readNewestReadings.all(sensor, fromTs, toTs, limit).reverse() : this.s.readReadings.all(sensor, fromTs, toTs, limit);
    const channels = rows.length > 0 ? rows[rows.length - 1].channels : 1;
    const kept = rows.filter((r) => r.channels === channels);
    const ts = new Float64Array(kept.length);
    const values = new Float32Array(kept.length * channels);
    const out = Buffer.from(values.buffer);
    kept.forEach((r, i) => {
      ts[i] = r.ts;
      r.vals.copy(out, i * channels * 4);
    });
    return { sensor, channels, ts, values };
  }

  /** How many readings of one sensor are stored at or after `fromTs` (epoch ms), counted up to `limit`. */
  countReadings(sensor: string, fromTs = -Number.MAX_SAFE_INTEGER, limit = 1e9): number {
    this.assertOpen();
    return this.s.countReadings.get(sensor, fromTs, limit) ?? 0;
  }

  /** Writes (replacing per stream, tier and start) series buckets, in the current batch or one transaction. */
  writeSeriesBuckets(rows: readonly SeriesBucket[]): void {
    if (rows.length === 0) return;
    this.write(() => {
      for (const b of rows) {
        const stats = Buffer.from(b.stats.buffer, b.stats.byteOffset, b.stats.byteLength);
        this.series.upsert.run(b.stream, b.tier, Math.round(b.startTs), b.count, JSON.stringify(b.channels), Buffer.from(stats), orNull(b.surpriseMax), orNull(b.threshold), b.anomalous);
      }
    });
  }

  /**
   * Replaces the stored raw readings of the dashboard's streams with `rows` (SignalBook.keepRaw, at a clean stop), in
   * one transaction: each stream's channels and its points (SeriesStore.rawBlob's bytes).
   */
  replaceSeriesRaw(rows: readonly SeriesRawRow[]): void {
    this.write(() => {
      this.db.prepare('DELETE FROM series_raw').run();
      const put = this.db.prepare('INSERT INTO series_raw (stream, channels, points, written_at) VALUES (?, ?, ?, ?)');
      const now = Date.now();
      for (const r of rows) put.run(r.stream, JSON.stringify(r.channels), r.points, now);
    });
  }

  /**
   * The stored raw readings of the dashboard's streams (replaceSeriesRaw), deleted as they are taken: a start takes
   * them back once (SignalBook.restoreRaw). Rows whose channels are not a JSON array of names are skipped.
   */
  takeSeriesRaw(): SeriesRawRow[] {
    this.assertOpen();
    const rows = this.db.prepare('SELECT stream, channels, points FROM series_raw ORDER BY stream').all() as Array<{ stream: string; channels: string; points: Buffer }>;
    this.write(() => this.db.prepare('DELETE FROM series_raw').run());
    const out: SeriesRawRow[] = [];
    for (const r of rows) {
      try {
        const channels: unknown = JSON.parse(r.channels);
        if (Array.isArray(channels) && channels.length > 0 && channels.every((c) => typeof c === 'string')) out.push({ stream: r.stream, channels, points: r.points });
      } catch {
        // A row not as written is left out (the dashboard has that stream's minutes).
      }
    }
    return out;
  }

  readSeriesBuckets(stream: string, tier: SeriesTier, fromTs: number, toTs: number): SeriesBucket[] {
    this.assertOpen();
    return this.series.range.all(stream, tier, Math.ceil(fromTs), Math.floor(toTs)).map(toBucket);
  }

  newestSeriesBucket(stream: string, tier: SeriesTier): SeriesBucket | null {
    this.assertOpen();
    const row = this.series.newest.get(stream, tier);
    return row === undefined ? null : toBucket(row);
  }

  pruneSeriesBuckets(stream: string, tier: SeriesTier, beforeTs: number): number {
    return this.write(() => this.series.prune.run(stream, tier, Math.floor(beforeTs)).changes);
  }

  /**
   * The sensors with an episode open in the store, by name (SQL order), at most `limit`: a scan of the partial
   * index anomalies_open, cheap however long the history. The truth of what is open, also of a sensor the daemon
   * holds no state of (GET /api/status counts it). Folded as the views list episodes (AnomalyQuery.folded): a field's
   * silence told in its device's one episode (told_in) names the device, through that episode, not the field (the
   * twenty-ninth session's tryout, finding 1: `anomalyd status` named an unplugged plug and each of its fields). Throws when the store is closed.
   */
  openSensors(limit: number): string[] {
    this.assertOpen();
    const rows = this.db
      .prepare("SELECT DISTINCT sensor FROM anomalies WHERE status = 'open' AND told_in IS NULL ORDER BY sensor LIMIT ?")
      .all(limit) as Array<{ sensor: string }>;
    return rows.map((r) => r.sensor);
  }

  /**
   * Episodes that overlap [q.from, q.to] (AnomalyQuery), newest start first (then id), at most q.limit. One
   * query: it walks anomalies_by_start (anomalies_by_sensor with a sensor, anomalies_by_device with a device) in that order and filters the rows
   * on the time bounds (no index has end_ts: an open episode matches any `from`, whatever its end_ts).
   */
  listAnomalies(q: AnomalyQuery): AnomalyRecord[] {
    this.assertOpen();
    const { where, params } = anomalyFilter(q);
    const sql = `SELECT * FROM anomalies${where} ORDER BY start_ts DESC, id DESC LIMIT ?`;
    let stmt = this.anomalyQueries.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<unknown[], AnomalyRow>(sql);
      this.anomalyQueries.set(sql, stmt);
    }
    return this.withMembers(stmt.all(...params, q.limit).map(toAnomalyRecord));
  }

  /**
   * `records` with each device episode's members (AnomalyRecord.members: the streams whose silences are told in it),
   * and each episode's `together` (AnomalyRecord.together: the other fields' episodes its alert tells, told_with),
   * read in one query each for the whole list.
   */
  private withMembers(records: AnomalyRecord[]): AnomalyRecord[] {
    const ids = records.filter((r) => r.sensor === r.device && r.kind === 'missing_data').map((r) => r.id);
    const members = this.linked('told_in', ids);
    // Only an episode of a stream of a device (never a device's own) can tell another field's.
    const together = this.linked('told_with', records.filter((r) => r.sensor !== r.device).map((r) => r.id));
    if (members.size === 0 && together.size === 0) return records;
    return records.map((r) => {
      const m = members.get(r.id);
      const t = together.get(r.id);
      return m === undefined && t === undefined ? r : { ...r, ...(m !== undefined ? { members: m } : {}), ...(t !== undefined ? { together: t } : {}) };
    });
  }

  /** For each of `ids`, the streams of the episodes whose `column` (told_in or told_with) is it, sorted; none: absent. */
  private linked(column: 'told_in' | 'told_with', ids: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db
        .prepare<unknown[], { link: string; sensor: string }>(`SELECT DISTINCT ${column} AS link, sensor FROM anomalies WHERE ${column} IN (${chunk.map(() => '?').join(', ')}) ORDER BY sensor`)
        .all(...chunk);
      for (const r of rows) out.set(r.link, [...(out.get(r.link) ?? []), r.sensor]);
    }
    return out;
  }

  /**
   * How many episodes match q's filters, with no limit (q.limit is not read): what a list cut at its limit tells
   * as `more` (the count beyond the rows it gave; tryout 30, finding 8).
   */
  countAnomalies(q: Omit<AnomalyQuery, 'limit'>): number {
    this.assertOpen();
    const { where, params } = anomalyFilter(q);
    const row = this.db.prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM anomalies${where}`).get(...params);
    return row?.n ?? 0;
  }

  /**
   * One episode's record without its events and marks (one row by its primary key), or null when there is none: what
   * the sensor list and the Home Assistant score tell of a stream's open episode (its kind, since, sentence) at every
   * request or published score, where getAnomaly would read every event too.
   */
  anomalyRecord(id: string): AnomalyRecord | null {
    this.assertOpen();
    const row = this.s.getAnomaly.get(id);
    return row === undefined ? null : (this.withMembers([toAnomalyRecord(row)])[0] ?? null);
  }

  getAnomaly(id: string): AnomalyWithEvents | null {
    this.assertOpen();
    const row = this.s.getAnomaly.get(id);
    if (row === undefined) return null;
    const events = this.s.eventsOf.all(id).map((e) => ({
      seq: e.seq,
      kind: e.kind,
      ts: e.ts,
      score: e.score,
      payload: JSON.parse(e.payload) as AlertPayload,
    }));
    const marks = this.s.marksOf.all(id).map((m) => ({ seq: m.seq, at: m.at, mark: m.mark, note: m.note, by: m.actor }));
    return { ...(this.withMembers([toAnomalyRecord(row)])[0] ?? toAnomalyRecord(row)), events, marks };
  }

  /**
   * The stream and device names this database knows (KnownNames): the streams with a checkpoint (not the
   * checkpoint's own side rows, keyed with a '#', which no stream id holds) or a stored episode, and the devices
   * of the stored episodes. Sorted, distinct. For the CLI's filters, which tell an unknown name from a healthy one.
   */
  knownNames(): KnownNames {
    this.assertOpen();
    const streams = this.db
      .prepare<[], string>("SELECT sensor FROM sensor_state WHERE instr(sensor, '#') = 0 UNION SELECT sensor FROM anomalies ORDER BY 1")
      .pluck()
      .all();
    const devices = this.db.prepare<[], string>('SELECT DISTINCT device FROM anomalies WHERE device IS NOT NULL ORDER BY 1').pluck().all();
    return { streams, devices };
  }

  /** Ids that start with `prefix`, in id order, at most `limit` (the CLI's unique-prefix lookup). */
  anomalyIdsWithPrefix(prefix: string, limit: number): string[] {
    this.assertOpen();
    const out: string[] = [];
    for (const id of this.s.idsFrom.all(prefix, limit)) {
      if (!id.startsWith(prefix)) break;
      out.push(id);
    }
    return out;
  }

  /**
   * Sets or clears (mark null) an operator's verdict, and appends it to the anomaly's mark history with
   * who did it (`by`: `mqtt:<user>`, `http`, `cli:<user>`). Returns false if there is no such anomaly.
   */
  markAnomaly(id: string, mark: AnomalyMark | null, note: string | null, by: string): boolean {
    const now = this.now();
    return this.write(() => {
      if (this.s.markAnomaly.run(mark, note, by, now, now, id).changes === 0) return false;
      this.s.insertMark.run(id, now, mark, note, by);
      return true;
    });
  }

  /** See AnomalyHistory.touchAnomaly. */
  touchAnomaly(id: string, endTs: number, windows: number, explanation: AlertExplanation | null = null): boolean {
    if (!Number.isFinite(endTs) || !Number.isInteger(windows) || windows < 0) throw new RangeError(`touchAnomaly: bad endTs ${endTs} or windows ${windows}`);
    const now = this.now();
    return this.write(() => {
      const moved = this.s.touchAnomaly.run(Math.round(endTs), windows, now, id).changes > 0;
      if (moved && explanation !== null) this.s.retellAnomaly.run(explanation.kind, explanation.sentence, JSON.stringify(explanation), id);
      return moved;
    });
  }

  /** 'ok' when healthy, otherwise SQLite's findings, one per line. */
  integrityCheck(): string {
    this.assertOpen();
    return this.db
      .prepare<[], string>('PRAGMA integrity_check')
      .pluck()
      .all()
      .join('\n');
  }

  stats(): StoreStats {
    this.assertOpen();
    const count = (sql: string): number => this.db.prepare<[], number>(sql).pluck().get() ?? 0;
    return {
      anomalies: count('SELECT count(*) FROM anomalies'),
      openAnomalies: count("SELECT count(*) FROM anomalies WHERE status = 'open'"),
      outboxPending: count('SELECT count(*) FROM outbox WHERE delivered_at IS NULL'),
      outboxDelivered: count('SELECT count(*) FROM outbox WHERE delivered_at IS NOT NULL'),
      outboxDropped: this.dropped,
      committedOutboxId: this.committedOutboxId,
      readings: count('SELECT count(*) FROM readings'),
      sensorStates: count('SELECT count(*) FROM sensor_state'),
      batchOpen: this.batchOpen,
    };
  }

  /** Commits the open batch now (no-op without one). Throws if the commit fails; the batch is then lost. */
  flush(): void {
    this.assertOpen();
    this.commitBatch();
  }

  /** Commits, then closes. Idempotent; never throws (failures are logged). */
  close(): void {
    if (this.closed) return;
    try {
      this.commitBatch();
    } catch (err) {
      this.log.error({ err }, 'sqlite: final commit failed; the last batch is lost');
    }
    this.closed = true;
    this.listeners.clear();
    try {
      this.db.close();
    } catch (err) {
      this.log.error({ err }, 'sqlite: close failed');
    }
  }

  /**
   * Runs `fn` as one atomic write. Unbatched: its own transaction, committed on return. Batched: a
   * SAVEPOINT inside the open batch, so a throw undoes this write only and the batch carries on.
   */
  private write<T>(fn: () => T): T {
    this.assertOpen();
    const batching = this.opts.commitIntervalMs > 0;
    const pendingBefore = this.pendingOutboxId;
    try {
      if (batching) this.openBatch();
      // Inside another write (atomically): a savepoint of it, committed with it.
      const nested = !batching && this.db.inTransaction;
      const result = this.db.transaction(fn).immediate();
      if (!batching && !nested) this.committed();
      return result;
    } catch (err) {
      this.pendingOutboxId = pendingBefore;
      this.reportFault(err);
      if (batching && !this.db.inTransaction) {
        // Some errors (disk full, I/O) make SQLite roll back the whole transaction, not just the savepoint.
        this.log.error({ err }, 'sqlite: the open batch was rolled back; its uncommitted writes are lost');
        this.abandonBatch();
      }
      throw err;
    }
  }

  private openBatch(): void {
    if (this.batchOpen) return;
    this.db.exec('BEGIN IMMEDIATE');
    this.batchOpen = true;
    this.batchTimer = setTimeout(() => this.commitFromTimer(), this.opts.commitIntervalMs);
    // The daemon's shutdown path calls close(), which commits; the timer must not keep a process alive.
    this.batchTimer.unref();
  }

  private commitFromTimer(): void {
    this.batchTimer = null;
    try {
      this.commitBatch();
    } catch (err) {
      this.log.error({ err, path: this.path }, 'sqlite: group commit failed; the batch is lost');
    }
  }

  /** Tells opts.onFault about a failure that is the storage's (not a constraint or a bug). */
  private reportFault(err: unknown): void {
    const kind = storageFaultKind(err);
    if (kind !== null) this.opts.onFault?.(asStorageError(err, this.path, kind));
  }

  private commitBatch(): void {
    if (!this.batchOpen) return;
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      this.reportFault(err);
      if (this.db.inTransaction) {
        try {
          this.db.exec('ROLLBACK');
        } catch (rollbackErr) {
          this.log.error({ err: rollbackErr }, 'sqlite: rollback after a failed commit failed');
        }
      }
      this.abandonBatch();
      throw err;
    }
    this.closeBatch();
    this.committed();
  }

  private abandonBatch(): void {
    this.closeBatch();
    this.pendingOutboxId = this.committedOutboxId;
  }

  private closeBatch(): void {
    this.batchOpen = false;
    if (this.batchTimer !== null) clearTimeout(this.batchTimer);
    this.batchTimer = null;
  }

  private committed(): void {
    if (this.pendingOutboxId <= this.committedOutboxId) return;
    this.committedOutboxId = this.pendingOutboxId;
    for (const listener of this.listeners) {
      try {
        listener(this.committedOutboxId);
      } catch (err) {
        this.log.error({ err }, 'sqlite: commit listener threw');
      }
    }
  }

  private enforceOutboxBound(newestId: number): number {
    // Pending rows all lie in [oldest pending id, newestId]; only when that range could exceed the
    // bound is the exact count (a scan of the pending index) worth paying for.
    const oldest = this.s.oldestPending.get() ?? newestId;
    if (newestId - oldest + 1 <= this.opts.outboxMax) return 0;
    const excess = (this.s.countPending.get() ?? 0) - this.opts.outboxMax;
    if (excess <= 0) return 0;
    this.s.dropOldestPending.run(excess);
    return excess;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('SqliteStore is closed');
  }
}

/** Why an event cannot follow the stored state of its episode, or null when it can. */
function transitionRefusal(kind: AnomalyEventKind, existing: AnomalyStatus | undefined): string | null {
  switch (kind) {
    case 'open':
      return existing === undefined ? null : `episode already ${existing}`;
    case 'update':
    case 'resolve':
      if (existing === undefined) return 'no such episode';
      return existing === 'resolved' ? 'episode already resolved' : null;
  }
}

function assertOptions(opts: SqliteStoreOptions): void {
  if (!Number.isFinite(opts.commitIntervalMs) || opts.commitIntervalMs < 0) {
    throw new Error(`commitIntervalMs must be >= 0, got ${opts.commitIntervalMs}`);
  }
  if (!Number.isInteger(opts.outboxMax) || opts.outboxMax < 1) {
    throw new Error(`outboxMax must be an integer >= 1, got ${opts.outboxMax}`);
  }
}

function toAnomalyRecord(r: AnomalyRow): AnomalyRecord {
  const explanation = r.explanation === null ? null : (JSON.parse(r.explanation) as AlertExplanation);
  return {
    id: r.id,
    sensor: r.sensor,
    device: r.device ?? r.sensor,
    startTs: r.start_ts,
    endTs: r.end_ts,
    lastSeenTs: r.end_ts,
    endedTs: r.status === 'resolved' ? r.end_ts : null,
    ...episodeLength(r.start_ts, r.end_ts, explanation),
    peakScore: r.peak_score,
    peakSurprise: surpriseOf(r.peak_score),
    lastScore: r.last_score,
    threshold: r.threshold,
    model: r.model,
    paddedFraction: r.padded_fraction,
    channels: JSON.parse(r.channel_errors) as AlertChannel[],
    windows: r.windows,
    status: r.status,
    mark: r.mark,
    markNote: r.mark_note,
    markBy: r.mark_by,
    markAt: r.mark_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    kind: r.kind,
    sentence: r.sentence,
    explanation,
    ...(r.told_in !== null ? { toldIn: r.told_in } : {}),
    ...(r.told_with !== null ? { toldWith: r.told_with } : {}),
  };
}

/** The WHERE clause (with its leading space, or empty) and parameters of an anomaly query's filters (AnomalyQuery). */
function anomalyFilter(q: Omit<AnomalyQuery, 'limit'>): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const filter = (clause: string, value: unknown): void => {
    if (value === undefined) return;
    where.push(clause);
    params.push(value);
  };
  filter('sensor = ?', q.sensor);
  filter('device = ?', q.device);
  filter('status = ?', q.status);
  filter('start_ts <= ?', q.to);
  // An open episode's end_ts is only the end of its last stored event (an update comes only with a tenfold
  // rarer peak), not now: an open episode is still going, so it overlaps any `from`.
  filter("(end_ts >= ? OR status = 'open')", q.from);
  // A field's silence told in its device's episode is folded into that one (listed as its member, not a row).
  if (q.folded === true) where.push('told_in IS NULL');
  return { where: where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '', params };
}
