/**
 * Versioned schema migrations for the anomalyd SQLite database.
 * The version lives in PRAGMA user_version; each migration and its version bump commit together, so a
 * crash or a failing migration leaves the database at the previous version, never in between.
 * Migrations are append-only: never edit one that has shipped, add the next.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: (db: Database) => void;
}

/** 'anod' in ASCII: marks the file as ours, so we never migrate somebody else's database. */
export const APPLICATION_ID = 0x616e6f64;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'anomalies, events, outbox, sensor state, rejections, readings',
    up: (db) => {
      db.exec(`
        CREATE TABLE anomalies (
          id              TEXT PRIMARY KEY,
          sensor          TEXT NOT NULL,
          start_ts        INTEGER NOT NULL,
          end_ts          INTEGER NOT NULL,  -- end of the last window seen; final once resolved
          peak_score      REAL NOT NULL,
          last_score      REAL NOT NULL,
          threshold       REAL NOT NULL,
          model           TEXT NOT NULL,
          padded_fraction REAL NOT NULL,
          channel_errors  TEXT NOT NULL,     -- JSON [{name, error}]
          windows         INTEGER NOT NULL,
          status          TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
          mark            TEXT CHECK (mark IN ('ack', 'false_alarm')),
          mark_note       TEXT,
          created_at      INTEGER NOT NULL,
          updated_at      INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX anomalies_by_start ON anomalies (start_ts, id);
        CREATE INDEX anomalies_by_sensor ON anomalies (sensor, start_ts, id);
        CREATE INDEX anomalies_open ON anomalies (sensor) WHERE status = 'open';

        CREATE TABLE anomaly_events (
          anomaly_id TEXT NOT NULL REFERENCES anomalies (id) ON DELETE CASCADE,
          seq        INTEGER NOT NULL CHECK (seq >= 1),
          kind       TEXT NOT NULL CHECK (kind IN ('open', 'update', 'resolve')),
          ts         INTEGER NOT NULL,
          score      REAL NOT NULL,
          payload    TEXT NOT NULL,          -- the AlertPayload as first published
          PRIMARY KEY (anomaly_id, seq)
        ) STRICT, WITHOUT ROWID;

        -- AUTOINCREMENT: ids are the delivery order and must never be reused after rows are pruned.
        CREATE TABLE outbox (
          id           INTEGER PRIMARY KEY AUTOINCREMENT,
          topic        TEXT NOT NULL,
          payload      TEXT NOT NULL,
          qos          INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),
          created_at   INTEGER NOT NULL,
          attempts     INTEGER NOT NULL DEFAULT 0,
          delivered_at INTEGER
        ) STRICT;
        CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;
        CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

        CREATE TABLE sensor_state (
          sensor     TEXT PRIMARY KEY,
          blob       BLOB NOT NULL,
          updated_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;

        -- sensor '' = the message could not be attributed to a sensor.
        CREATE TABLE rejections (
          reason  TEXT NOT NULL,
          sensor  TEXT NOT NULL,
          count   INTEGER NOT NULL,
          last_at INTEGER NOT NULL,
          PRIMARY KEY (reason, sensor)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE readings (
          sensor   TEXT NOT NULL,
          ts       INTEGER NOT NULL,
          channels INTEGER NOT NULL CHECK (channels >= 1),
          vals     BLOB NOT NULL,            -- float32 little-endian, one per channel
          PRIMARY KEY (sensor, ts)
        ) STRICT, WITHOUT ROWID;
      `);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    },
  },
  {
    version: 2,
    description: 'models trained on the device, and which model each sensor uses',
    up: (db) => {
      db.exec(`
        CREATE TABLE models (
          id           TEXT PRIMARY KEY,       -- <name>@<hash>, as the runner computes it
          name         TEXT NOT NULL,
          sidecar_path TEXT NOT NULL,
          scope        TEXT NOT NULL,          -- the sensor id, or group:<name>
          cell         TEXT NOT NULL,
          rows         INTEGER NOT NULL,       -- readings it was trained on
          val_loss     REAL NOT NULL,
          calibration  TEXT NOT NULL,          -- JSON, the sidecar's calibration
          source       TEXT NOT NULL,          -- what data: sensors and time range
          created_at   INTEGER NOT NULL
        ) STRICT;

        -- Append-only: the latest row of a sensor is its model; earlier rows are its history (rollback).
        CREATE TABLE model_assignments (
          seq      INTEGER PRIMARY KEY AUTOINCREMENT,
          sensor   TEXT NOT NULL,
          model_id TEXT NOT NULL REFERENCES models (id),
          reason   TEXT NOT NULL,              -- trained | joined | rollback | retrained
          at       INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX model_assignments_by_sensor ON model_assignments (sensor, seq);
      `);
    },
  },
  {
    version: 3,
    description: 'anomaly explanations (kind, sentence, the explanation as published); the dashboard series buckets',
    up: (db) => {
      db.exec(`
        ALTER TABLE anomalies ADD COLUMN kind TEXT;           -- spike, level_shift, ... or NULL when not told
        ALTER TABLE anomalies ADD COLUMN sentence TEXT;       -- one line for people
        ALTER TABLE anomalies ADD COLUMN explanation TEXT;    -- JSON, the latest alert's explanation

        -- src/pipeline/series.ts: tier 1 = 1-minute buckets (kept 26 h), tier 2 = 15-minute buckets (8 days).
        CREATE TABLE series_buckets (
          stream       TEXT NOT NULL,
          tier         INTEGER NOT NULL CHECK (tier IN (1, 2)),
          start_ts     INTEGER NOT NULL,
          count        INTEGER NOT NULL CHECK (count >= 1),
          channels     TEXT NOT NULL,                         -- JSON list of channel names
          stats        BLOB NOT NULL,                         -- float32 LE, per channel: mean, min, max, expected, spread
          surprise_max REAL,
          threshold    REAL,
          anomalous    INTEGER NOT NULL,
          PRIMARY KEY (stream, tier, start_ts)
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 4,
    description: 'who marked each anomaly, and every mark in order (the anomaly\'s operator history)',
    up: (db) => {
      db.exec(`
        ALTER TABLE anomalies ADD COLUMN mark_by TEXT;     -- who set the current mark: mqtt:<user>, http, cli:<user>
        ALTER TABLE anomalies ADD COLUMN mark_at INTEGER;  -- when (epoch ms)

        -- Append-only: every ack, false alarm and unmark (mark NULL), with who did it and through what.
        CREATE TABLE anomaly_marks (
          seq        INTEGER PRIMARY KEY AUTOINCREMENT,
          anomaly_id TEXT NOT NULL REFERENCES anomalies (id) ON DELETE CASCADE,
          at         INTEGER NOT NULL,
          mark       TEXT CHECK (mark IN ('ack', 'false_alarm')),
          note       TEXT,
          actor      TEXT NOT NULL
        ) STRICT;
        CREATE INDEX anomaly_marks_by_anomaly ON anomaly_marks (anomaly_id, seq);
      `);
    },
  },
  {
    version: 5,
    description: 'the shared model as an assignment (a rollback to it); the quality gate\'s decisions on new own models',
    up: (db) => {
      db.exec(`
        -- model_id NULL: the shared model (model.cell / model.name), e.g. after 'anomalyd models rollback SENSOR shared'.
        CREATE TABLE model_assignments_v5 (
          seq      INTEGER PRIMARY KEY AUTOINCREMENT,
          sensor   TEXT NOT NULL,
          model_id TEXT REFERENCES models (id),
          reason   TEXT NOT NULL,              -- trained | joined | rollback | retrained
          at       INTEGER NOT NULL
        ) STRICT;
        INSERT INTO model_assignments_v5 (seq, sensor, model_id, reason, at) SELECT seq, sensor, model_id, reason, at FROM model_assignments;
        DROP TABLE model_assignments;
        ALTER TABLE model_assignments_v5 RENAME TO model_assignments;
        CREATE INDEX model_assignments_by_sensor ON model_assignments (sensor, seq);

        -- Append-only: every new own model the gate judged (src/learn/gate.ts), accepted or not.
        CREATE TABLE model_checks (
          seq         INTEGER PRIMARY KEY AUTOINCREMENT,
          scope       TEXT NOT NULL,          -- the sensor id, or group:<name>
          sensors     TEXT NOT NULL,          -- JSON [sensor]
          candidate   TEXT NOT NULL,          -- the new model's id (a rejected model's files are deleted)
          current     TEXT,                   -- the model in use then (the shared model's id too); NULL: none
          accepted    INTEGER NOT NULL CHECK (accepted IN (0, 1)),
          reason      TEXT NOT NULL,
          figures     TEXT NOT NULL,          -- JSON GateDecision figures
          retry_after INTEGER,                -- rejected: normal readings to collect before the next try
          at          INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX model_checks_by_scope ON model_checks (scope, seq);
      `);
    },
  },
  {
    version: 6,
    description: 'pinned model assignments (a rollback sticks until the operator unpins it); where a wait for more readings starts',
    up: (db) => {
      db.exec(`
        -- 1: the operator pinned the sensor to this model ('anomalyd models rollback'): it is not learnt again
        -- until a later row unpins it ('anomalyd models unpin').
        ALTER TABLE model_assignments ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1));
        -- Data time (epoch ms, the readings' ts) of the sensor's newest stored reading when the row was written:
        -- readings stored after it count towards the learner's next try. NULL: not known (rows before version 6).
        ALTER TABLE model_assignments ADD COLUMN data_ts INTEGER;
      `);
    },
  },
  {
    version: 7,
    description: "each anomaly's device (the sensor id its stream belongs to: plug-washer for plug-washer/ENERGY.Power), to list a device's episodes together",
    up: (db) => {
      db.exec(`
        -- The device the stream came from (Reading.source), the stream itself for a device's own value. Rows
        -- stored before version 7 did not record it: they name their stream (the most that is known of them).
        ALTER TABLE anomalies ADD COLUMN device TEXT;
        UPDATE anomalies SET device = sensor;
        CREATE INDEX anomalies_by_device ON anomalies (device, start_ts, id);
      `);
    },
  },
  {
    version: 8,
    description: "each stream's newest raw readings for the dashboard, written at a clean stop and taken back at the next start",
    up: (db) => {
      db.exec(`
        -- The dashboard's raw readings of each stream (SeriesStore's ring: its newest hour at most), written at a
        -- clean stop (SignalBook.keepRaw) and deleted as the next start takes them back (tryout 26, finding 7: after a
        -- restart the 1-hour plot of a 1 Hz sensor showed only minute means). points: SeriesStore.rawBlob's bytes.
        CREATE TABLE series_raw (
          stream     TEXT PRIMARY KEY,
          channels   TEXT NOT NULL,
          points     BLOB NOT NULL,
          written_at INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 9,
    description: 'Home Assistant discovery entities (the homeassistant preset): their configs, read again at start',
    up: (db) => {
      db.exec(`
        -- One row per discovered entity (src/pipeline/parse.ts, MessageParser.restoreEntityConfigs): its retained
        -- config as it came, so that states queued for the persistent session, which the broker sends before the
        -- retained configs replay, are read after a restart. An emptied config deletes its row; at most
        -- ingest.maxStreams rows (the parser's cap on entities).
        CREATE TABLE discovery_configs (
          topic      TEXT PRIMARY KEY,
          payload    TEXT NOT NULL,
          updated_at INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 10,
    description: 'Home Assistant discovery entities: their availability state, kept across a restart',
    up: (db) => {
      db.exec(`
        -- The entity's availability state (src/pipeline/parse.ts, MessageParser.entityAvailabilityState: JSON of what
        -- its availability topics said, whether it has had a live state, whether its state expired by its
        -- expire_after), given back at start (restoreEntityAvailability); NULL: nothing known.
        ALTER TABLE discovery_configs ADD COLUMN availability TEXT;
      `);
    },
  },
  {
    version: 11,
    description: 'a field’s silence told in its device’s one episode names that episode',
    up: (db) => {
      db.exec(`
        -- The id of the device's episode a field's silence is told in (src/daemon/device-silence.ts: every field of a
        -- device went silent together, one episode of the device alerted, each field's own stored only); NULL for
        -- every other episode and for episodes stored before version 11. The views fold such rows into that episode.
        ALTER TABLE anomalies ADD COLUMN told_in TEXT;
        CREATE INDEX anomalies_told_in ON anomalies (told_in) WHERE told_in IS NOT NULL;
      `);
    },
  },
  {
    version: 12,
    description: 'readings a graceful stop took in and did not score, kept for the next start',
    up: (db) => {
      db.exec(`
        -- One row per stream (src/pipeline/kept.ts, anomalyd-kept/1 JSON): its readings taken in but not scored when the
        -- stop's drain had to end, written with the final checkpoint in one transaction and given back to the detector
        -- at the next start before any live reading; a row goes with the stream's next checkpoint after they are scored.
        CREATE TABLE kept_readings (
          stream   TEXT PRIMARY KEY,
          items    TEXT NOT NULL,
          readings INTEGER NOT NULL CHECK (readings >= 0),
          kept_at  INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 13,
    description: 'a field’s episode told in the alert of another field of its device names that episode',
    up: (db) => {
      db.exec(`
        -- The id of the episode whose alert tells this one (src/daemon/device-faults.ts: episodes of one device's fields
        -- that opened together, the first one alerted, naming the others, each other stored only); NULL for every
        -- other episode and for episodes stored before version 13. Unlike told_in, the views do not fold such rows.
        ALTER TABLE anomalies ADD COLUMN told_with TEXT;
        CREATE INDEX anomalies_told_with ON anomalies (told_with) WHERE told_with IS NOT NULL;
      `);
    },
  },
];

export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `database ${file} has schema version ${found}, but this anomalyd only knows versions up to ${known}: ` +
        'it was written by a newer anomalyd. Upgrade anomalyd, or point it at another database file.',
    );
    this.name = 'SchemaTooNewError';
  }
}

export class ForeignDatabaseError extends Error {
  constructor(
    readonly file: string,
    readonly applicationId: number,
  ) {
    super(`database ${file} is not an anomalyd database (application_id ${applicationId}); refusing to modify it`);
    this.name = 'ForeignDatabaseError';
  }
}

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

/** Brings the database up to the newest version in `migrations` (sorted, versions 1..N without gaps). */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): MigrationResult {
  const from = assertMigratable(db, migrations);
  const known = migrations.length;
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      m.up(db);
      // user_version is part of the database header, so it commits or rolls back with the migration.
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return { from, to: known };
}

/**
 * Throws unless `migrate` may touch this database; returns its current version. Reads only, so callers
 * can run it before changing anything (even the journal mode) on a file that is not theirs to change.
 */
export function assertMigratable(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  assertContiguous(migrations);
  const from = userVersion(db);
  if (from > migrations.length) throw new SchemaTooNewError(db.name, from, migrations.length);
  const appId = Number(db.pragma('application_id', { simple: true }));
  if (appId !== 0 && appId !== APPLICATION_ID) throw new ForeignDatabaseError(db.name, appId);
  if (from === 0 && appId === 0 && hasTables(db)) throw new ForeignDatabaseError(db.name, appId);
  return from;
}

export function userVersion(db: Database): number {
  return Number(db.pragma('user_version', { simple: true }));
}

function hasTables(db: Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' LIMIT 1").get() !== undefined;
}

function assertContiguous(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list is broken: entry ${i} has version ${m.version}, expected ${i + 1}`);
  });
}
