import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALERT_SCHEMA_VERSION, topics, type AlertExplanation, type AlertPayload } from '../../src/contract/alerts.js';
import type { AnomalyEvent, AnomalyEventKind } from '../../src/contract/types.js';
import {
  APPLICATION_ID,
  ForeignDatabaseError,
  MIGRATIONS,
  SchemaTooNewError,
  migrate,
  userVersion,
  type Migration,
} from '../../src/adapters/migrations.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/adapters/sqlite-store.js';
import type { AnomalyQuery } from '../../src/contract/store.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const T = topics();

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

function event(kind: AnomalyEventKind, anomalyId: string, over: Partial<AnomalyEvent> = {}): AnomalyEvent {
  return {
    kind,
    sensor: 'pump1',
    anomalyId,
    startTs: Date.UTC(2026, 0, 1, 12, 0, 0),
    endTs: Date.UTC(2026, 0, 1, 12, 0, 30),
    peakScore: 0.99,
    score: 0.98,
    threshold: 0.97,
    modelId: 'pump-gru@1',
    paddedFraction: 0,
    channelErrors: [0.5, 2.5],
    channels: ['current', 'vibration'],
    windows: 3,
    ...over,
  };
}

let dir: string;
let opened: SqliteStore[];
let log: ReturnType<typeof captureLogger>;

function open(name = 'a.db', over: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const store = SqliteStore.open(join(dir, name), { commitIntervalMs: 0, outboxMax: 1000, logger: log.logger, ...over });
  opened.push(store);
  return store;
}

/** A second connection: sees only what the store has committed. */
function peek<T>(name: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dir, name), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function count(db: Database.Database, table: string): number {
  return db.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck().get()!;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-store-'));
  opened = [];
  log = captureLogger();
});

afterEach(() => {
  for (const s of opened) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrations', () => {
  it('creates the schema from an empty file, in WAL mode with synchronous=NORMAL', () => {
    open().close();
    peek('a.db', (db) => {
      expect(userVersion(db)).toBe(MIGRATIONS.length);
      expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
      expect(tables).toEqual(
        expect.arrayContaining(['anomalies', 'anomaly_events', 'outbox', 'sensor_state', 'rejections', 'readings']),
      );
    });
    const store = open();
    // synchronous is per connection, so ask the store's own connection through its behaviour: 1 = NORMAL.
    expect((store as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('keeps data across reopen and does not re-run migrations', () => {
    const a = open();
    a.recordEvent(event('open', 'x1'), T.alerts('pump1'));
    a.close();
    const b = open();
    expect(b.getAnomaly('x1')?.events).toHaveLength(1);
    expect(b.lastCommittedOutboxId()).toBe(1);
    expect(log.lines.filter((l) => l.msg === 'sqlite: schema migrated')).toHaveLength(1);
  });

  it('stores a field’s silence with its device episode’s id, unsent; the folded list gives the device’s episode with its members (tryout 31, finding 1)', () => {
    const store = open();
    const silence = { channelErrors: [30], channels: ['value'], peakScore: 1, score: 1, windows: 10 };
    const dev = { ...event('open', 'dev-1'), sensor: 'iron', device: 'iron', peakScore: 0, score: 0, modelId: 'none', channelErrors: [], channels: [], windows: 0 };
    store.recordEvent(dev, T.alerts('iron'), { kind: 'missing_data', sentence: 'iron: no reading from any of its 2 fields since 12:00 (missing data)' } as AlertExplanation);
    for (const f of ['iron/ENERGY.Voltage', 'iron/ENERGY.Power']) {
      expect(store.recordEvent({ ...event('open', `m-${f}`), ...silence, sensor: f, device: 'iron' }, T.alerts(f), null, false, 'dev-1')?.outboxId).toBe(0);
    }
    // Its update names no device episode: the one its open named stays.
    store.recordEvent({ ...event('update', 'm-iron/ENERGY.Power'), ...silence, sensor: 'iron/ENERGY.Power', device: 'iron' }, T.alerts('iron/ENERGY.Power'), null, false);
    const all = store.listAnomalies({ device: 'iron', limit: 10 });
    expect(all.map((a) => [a.sensor, a.toldIn ?? null]).sort()).toEqual([
      ['iron', null],
      ['iron/ENERGY.Power', 'dev-1'],
      ['iron/ENERGY.Voltage', 'dev-1'],
    ]);
    const folded = store.listAnomalies({ device: 'iron', folded: true, limit: 10 });
    expect(folded.map((a) => [a.id, a.members])).toEqual([['dev-1', ['iron/ENERGY.Power', 'iron/ENERGY.Voltage']]]);
    expect(store.countAnomalies({ folded: true })).toBe(1);
    expect(store.anomalyRecord('dev-1')?.members).toEqual(['iron/ENERGY.Power', 'iron/ENERGY.Voltage']);
    expect(store.getAnomaly('m-iron/ENERGY.Power')?.toldIn).toBe('dev-1');
    // Only the device episode's open went to the outbox.
    expect(store.lastCommittedOutboxId()).toBe(1);
  });

  it('refuses a database written by a newer schema, leaving it untouched', () => {
    open().close();
    const path = join(dir, 'a.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 3}`);
    raw.close();
    const before = readFileSync(path);
    expect(() => open()).toThrow(SchemaTooNewError);
    expect(() => open()).toThrow(`schema version ${MIGRATIONS.length + 3}`);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('refuses to migrate a database that belongs to something else', () => {
    const raw = new Database(join(dir, 'other.db'));
    raw.exec('CREATE TABLE things (x)');
    raw.close();
    expect(() => open('other.db')).toThrow(ForeignDatabaseError);
  });

  it('runs each migration in its own transaction: a failing one leaves the previous version', () => {
    const db = new Database(join(dir, 'm.db'));
    const steps: Migration[] = [
      { version: 1, description: 'one', up: (d) => d.exec('CREATE TABLE one (x)') },
      {
        version: 2,
        description: 'two, fails half way',
        up: (d) => {
          d.exec('CREATE TABLE two (x)');
          throw new Error('boom');
        },
      },
    ];
    expect(() => migrate(db, steps)).toThrow('boom');
    expect(userVersion(db)).toBe(1);
    const tables = db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(['one']);
    expect(migrate(db, steps.slice(0, 1))).toEqual({ from: 1, to: 1 });
    db.close();
  });
});

describe('recordEvent', () => {
  it('numbers events per anomaly and writes anomaly, event and outbox row together', () => {
    const store = open();
    const t = T.alerts('pump1');
    const r1 = store.recordEvent(event('open', 'x1', { score: 0.98, peakScore: 0.98 }), t)!;
    const r2 = store.recordEvent(event('update', 'x1', { score: 0.995, peakScore: 0.995, windows: 4 }), t)!;
    const other = store.recordEvent(event('open', 'y1', { sensor: 'fan' }), T.alerts('fan'))!;
    const r3 = store.recordEvent(
      event('resolve', 'x1', { score: 0.4, peakScore: 0.995, endTs: Date.UTC(2026, 0, 1, 12, 5) }),
      t,
    )!;
    expect([r1.seq, r2.seq, r3.seq, other.seq]).toEqual([1, 2, 3, 1]);
    expect(new Set([r1.outboxId, r2.outboxId, other.outboxId, r3.outboxId]).size).toBe(4);
    expect(r1.outboxId < r2.outboxId && r2.outboxId < other.outboxId && other.outboxId < r3.outboxId).toBe(true);

    const a = store.getAnomaly('x1')!;
    expect(a.status).toBe('resolved');
    expect(a.peakScore).toBe(0.995);
    expect(a.lastScore).toBe(0.4);
    expect(a.endTs).toBe(Date.UTC(2026, 0, 1, 12, 5));
    expect(a.channels).toEqual([
      { name: 'current', error: 0.5 },
      { name: 'vibration', error: 2.5 },
    ]);
    expect(a.events.map((e) => [e.seq, e.kind])).toEqual([
      [1, 'open'],
      [2, 'update'],
      [3, 'resolve'],
    ]);

    const rows = store.committedOutbox(0, 10);
    expect(rows.map((r) => r.id)).toEqual([r1.outboxId, r2.outboxId, other.outboxId, r3.outboxId]);
    const payloads = rows.map((r) => JSON.parse(r.payload) as AlertPayload);
    expect(rows.map((r) => r.topic)).toEqual(['anomalyd/alerts/pump1', 'anomalyd/alerts/pump1', 'anomalyd/alerts/fan', 'anomalyd/alerts/pump1']);
    expect(payloads.map((p) => [p.anomaly_id, p.seq, p.event, p.resent])).toEqual([
      ['x1', 1, 'open', false],
      ['x1', 2, 'update', false],
      ['y1', 1, 'open', false],
      ['x1', 3, 'resolve', false],
    ]);
    expect(payloads[0].end).toBeNull();
    expect(payloads[3].end).toBe('2026-01-01T12:05:00.000Z');
    expect(payloads[0].start).toBe('2026-01-01T12:00:00.000Z');
    // The event keeps exactly the payload that went to the outbox.
    expect(a.events[2].payload).toEqual(payloads[3]);
  });

  it('refuses transitions the stored episode is past: no second open, nothing after a resolve, nothing for an unknown id', () => {
    const store = open();
    expect(store.recordEvent(event('open', 'x1'), 't')).not.toBeNull();
    expect(store.recordEvent(event('resolve', 'x1'), 't')).not.toBeNull();
    // A restored checkpoint that still has x1 open would emit these: each is refused, counted and logged.
    expect(store.recordEvent(event('update', 'x1'), 't')).toBeNull();
    expect(store.recordEvent(event('resolve', 'x1'), 't')).toBeNull();
    expect(store.recordEvent(event('open', 'x1'), 't')).toBeNull();
    expect(store.recordEvent(event('update', 'never-opened'), 't')).toBeNull();
    expect(store.recordEvent(event('resolve', 'never-opened'), 't')).toBeNull();
    expect(store.refusedTransitions()).toBe(5);
    const x1 = store.getAnomaly('x1')!;
    expect(x1.status).toBe('resolved');
    expect(x1.events.map((e) => e.kind)).toEqual(['open', 'resolve']);
    expect(store.getAnomaly('never-opened')).toBeNull();
    // Exactly one alert per accepted event, none for the refused ones.
    expect(store.committedOutbox(0, 100).map((r) => (JSON.parse(r.payload) as AlertPayload).event)).toEqual(['open', 'resolve']);
    expect(log.lines.filter((l) => l.level === 40 && l.msg.includes('anomaly event refused'))).toHaveLength(5);
    // An open episode still takes updates and one resolve.
    store.recordEvent(event('open', 'y1'), 't');
    expect(store.recordEvent(event('update', 'y1'), 't')!.seq).toBe(2);
    expect(store.recordEvent(event('resolve', 'y1'), 't')!.seq).toBe(3);
    expect(store.refusedTransitions()).toBe(5);
  });

  it('is atomic: a failure in the middle leaves nothing behind', () => {
    open().close();
    const raw = new Database(join(dir, 'a.db'));
    // Fails the outbox insert, i.e. after the anomaly and event rows were written in the same transaction.
    raw.exec("CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    raw.close();
    const store = open();
    expect(() => store.recordEvent(event('open', 'x1'), 't')).toThrow('disk on fire');
    expect(store.getAnomaly('x1')).toBeNull();
    store.close();
    peek('a.db', (db) => {
      expect(count(db, 'anomalies')).toBe(0);
      expect(count(db, 'anomaly_events')).toBe(0);
      expect(count(db, 'outbox')).toBe(0);
    });
  });

  it('rejects an event whose channels and errors disagree before writing anything', () => {
    const store = open();
    expect(() => store.recordEvent(event('open', 'x1', { channelErrors: [1] }), 't')).toThrow('channel errors');
    expect(store.stats().anomalies).toBe(0);
  });
});

describe('group commit', () => {
  it('hides batched rows from committedOutbox and other connections until flush', () => {
    const store = open('a.db', { commitIntervalMs: 3_600_000 });
    const commits: number[] = [];
    store.onCommit((id) => commits.push(id));
    const r = store.recordEvent(event('open', 'x1'), 't')!;
    store.recordEvent(event('update', 'x1'), 't');

    expect(store.committedOutbox(0, 10)).toEqual([]);
    expect(store.getAnomaly('x1')).not.toBeNull(); // the store's own connection sees its batch
    expect(peek('a.db', (db) => count(db, 'outbox'))).toBe(0);
    expect(commits).toEqual([]);

    store.flush();
    expect(store.committedOutbox(0, 10).map((row) => row.id)).toEqual([r.outboxId, r.outboxId + 1]);
    expect(peek('a.db', (db) => count(db, 'outbox'))).toBe(2);
    expect(commits).toEqual([r.outboxId + 1]);
  });

  it('commits the batch on its own after commitIntervalMs', async () => {
    const store = open('a.db', { commitIntervalMs: 5 });
    const committed = new Promise<number>((resolve) => store.onCommit(resolve));
    const r = store.recordEvent(event('open', 'x1'), 't')!;
    expect(await committed).toBe(r.outboxId);
    expect(peek('a.db', (db) => count(db, 'anomaly_events'))).toBe(1);
    expect(store.stats().batchOpen).toBe(false);
  });

  it('rolls back only the failed write, not the rest of the batch', () => {
    open().close();
    const raw = new Database(join(dir, 'a.db'));
    raw.exec(`CREATE TRIGGER fail_second BEFORE INSERT ON outbox WHEN (SELECT count(*) FROM outbox) >= 1
              BEGIN SELECT RAISE(ABORT, 'second fails'); END`);
    raw.close();
    const store = open('a.db', { commitIntervalMs: 3_600_000 });
    const first = store.recordEvent(event('open', 'x1'), 't')!;
    expect(() => store.recordEvent(event('open', 'y1'), 't')).toThrow('second fails');
    store.flush();
    expect(store.committedOutbox(0, 10).map((r) => r.id)).toEqual([first.outboxId]);
    expect(store.getAnomaly('y1')).toBeNull();
    expect(store.getAnomaly('x1')).not.toBeNull();
  });

  it('commits pending writes on close, and close is idempotent', () => {
    const store = open('a.db', { commitIntervalMs: 3_600_000 });
    store.recordEvent(event('open', 'x1'), 't');
    store.saveSensorStates([{ sensor: 'pump1', blob: Buffer.from([1, 2, 3]), updatedAt: 5 }]);
    store.close();
    expect(() => store.close()).not.toThrow();
    expect(() => store.committedOutbox(0, 1)).toThrow('closed');
    const again = open();
    expect(again.committedOutbox(0, 10)).toHaveLength(1);
    expect(again.loadSensorStates().get('pump1')?.blob).toEqual(Buffer.from([1, 2, 3]));
  });

  it('makes markAttempt durable at once even inside a batch', () => {
    const store = open('a.db', { commitIntervalMs: 3_600_000 });
    const r = store.recordEvent(event('open', 'x1'), 't')!;
    store.flush();
    expect(store.markAttempt(r.outboxId)).toBe(true);
    expect(peek('a.db', (db) => db.prepare('SELECT attempts FROM outbox WHERE id = ?').pluck().get(r.outboxId))).toBe(1);
  });
});

describe('outbox', () => {
  it('drops the oldest undelivered rows beyond outboxMax, counts and warns', () => {
    const store = open('a.db', { outboxMax: 3 });
    const ids = ['a', 'b', 'c', 'd', 'e'].map((id) => store.recordEvent(event('open', id), 't')!.outboxId);
    store.markDelivered(ids[4]); // delivered rows do not count against the bound
    store.recordEvent(event('open', 'f'), 't');
    const left = store.committedOutbox(0, 100).map((r) => (JSON.parse(r.payload) as AlertPayload).anomaly_id);
    expect(left).toEqual(['c', 'd', 'f']);
    expect(store.droppedCount()).toBe(2);
    expect(store.stats().outboxDropped).toBe(2);
    const warns = log.lines.filter((l) => l.level === 40 && l.msg.startsWith('outbox full'));
    expect(warns.map((w) => w.dropped)).toEqual([1, 1]);
    // History is kept even when the alert was dropped.
    expect(store.getAnomaly('a')?.events).toHaveLength(1);
    expect(store.markAttempt(ids[0])).toBe(false);
  });

  it('pages committed rows after a cursor and hides delivered ones', () => {
    const store = open();
    const ids = [1, 2, 3, 4].map((i) => store.recordEvent(event('open', `x${i}`), 't')!.outboxId);
    expect(store.committedOutbox(ids[0], 2).map((r) => r.id)).toEqual([ids[1], ids[2]]);
    store.markAttempt(ids[1]);
    store.markDelivered(ids[1]);
    expect(store.committedOutbox(0, 10).map((r) => r.id)).toEqual([ids[0], ids[2], ids[3]]);
    store.markAttempt(ids[2]);
    expect(store.committedOutbox(ids[1], 1)[0]).toMatchObject({ id: ids[2], attempts: 1 });
    expect(store.stats()).toMatchObject({ outboxPending: 3, outboxDelivered: 1 });
  });

  it('prunes delivered rows after the retention', () => {
    let now = 1_000_000;
    const store = open('a.db', { now: () => now, deliveredRetentionMs: 1000 });
    const a = store.recordEvent(event('open', 'x1'), 't')!;
    const b = store.recordEvent(event('open', 'x2'), 't')!;
    store.markDelivered(a.outboxId);
    now += 5000;
    store.markDelivered(b.outboxId);
    expect(store.stats().outboxDelivered).toBe(1);
    // ids keep growing after pruning (AUTOINCREMENT): delivery order survives.
    expect(store.recordEvent(event('open', 'x3'), 't')!.outboxId).toBe(b.outboxId + 1);
  });
});

describe('other tables', () => {
  it('saves, overwrites and loads sensor state checkpoints', () => {
    const store = open();
    store.saveSensorStates([
      { sensor: 'a', blob: Buffer.from('one'), updatedAt: 1 },
      { sensor: 'b', blob: Buffer.alloc(4096, 7), updatedAt: 2 },
    ]);
    store.saveSensorStates([{ sensor: 'a', blob: Buffer.from('two'), updatedAt: 3 }]);
    store.close();
    const states = open().loadSensorStates();
    expect([...states.keys()].sort()).toEqual(['a', 'b']);
    expect(states.get('a')).toEqual({ blob: Buffer.from('two'), updatedAt: 3 });
    expect(states.get('b')?.blob.equals(Buffer.alloc(4096, 7))).toBe(true);
  });

  it('keys streams whose ids span topic levels like any other: checkpoints, anomalies, alert topics', () => {
    const store = open();
    store.saveSensorStates([
      { sensor: 'plug/power', blob: Buffer.from('p'), updatedAt: 1 },
      { sensor: 'plug', blob: Buffer.from('d'), updatedAt: 1 },
    ]);
    store.recordEvent(event('open', 'x1', { sensor: 'tele_garden/BME280.Temperature' }), T.alerts('tele_garden/BME280.Temperature'));
    store.flush();
    expect(store.committedOutbox(0, 10)[0].topic).toBe('anomalyd/alerts/tele_garden/BME280.Temperature');
    store.close();
    const again = open();
    expect([...again.loadSensorStates().keys()].sort()).toEqual(['plug', 'plug/power']);
    expect(again.listAnomalies({ sensor: 'tele_garden/BME280.Temperature', limit: 10 }).map((a) => a.id)).toEqual(['x1']);
    expect(again.listAnomalies({ sensor: 'tele_garden', limit: 10 })).toEqual([]);
  });

  it("records each episode's device and lists a device's episodes together (tryout 13, finding 8)", () => {
    const store = open();
    const at = (k: number): Partial<AnomalyEvent> => ({ startTs: Date.UTC(2026, 0, 1, 12, k), endTs: Date.UTC(2026, 0, 1, 12, k) });
    store.recordEvent(event('open', 'w1', { sensor: 'plug-washer/ENERGY.Power', device: 'plug-washer', ...at(1) }), 't');
    store.recordEvent(event('open', 'w2', { sensor: 'plug-washer/ENERGY.Current', device: 'plug-washer', ...at(2) }), 't');
    store.recordEvent(event('open', 'b1', { sensor: 'boiler', ...at(3) }), 't');
    store.recordEvent(event('open', 'g1', { sensor: 'plug-washer2/ENERGY.Power', device: 'plug-washer2', ...at(4) }), 't');
    // A resolve that does not know the device (resolved at start, at eviction) keeps the one the open recorded.
    store.recordEvent(event('resolve', 'w1', { sensor: 'plug-washer/ENERGY.Power', ...at(5) }), 't');
    expect(store.listAnomalies({ device: 'plug-washer', limit: 10 }).map((a) => [a.id, a.sensor, a.device, a.status])).toEqual([
      ['w2', 'plug-washer/ENERGY.Current', 'plug-washer', 'open'],
      ['w1', 'plug-washer/ENERGY.Power', 'plug-washer', 'resolved'],
    ]);
    // A device's own value: the stream is its device.
    expect(store.getAnomaly('b1')?.device).toBe('boiler');
    expect(store.listAnomalies({ device: 'boiler', status: 'open', limit: 10 }).map((a) => a.id)).toEqual(['b1']);
    // The alert payload is unchanged: the device is the store's, not the alert contract's.
    expect(JSON.parse(store.committedOutbox(0, 1)[0].payload)).not.toHaveProperty('device');
  });

  it('names the stream as the device of an episode stored before schema 7', () => {
    const path = join(dir, 'old.db');
    const raw = new Database(path);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(raw, MIGRATIONS.slice(0, 6));
    raw.prepare(`INSERT INTO anomalies (id, sensor, start_ts, end_ts, peak_score, last_score, threshold, model, padded_fraction,
      channel_errors, windows, status, created_at, updated_at) VALUES ('o1', 'plug/ENERGY.Power', 1, 2, 0.99, 0.9, 0.9, 'm', 0, '[]', 1, 'open', 1, 1)`).run();
    raw.close();
    const store = open('old.db');
    expect(store.getAnomaly('o1')?.device).toBe('plug/ENERGY.Power');
    expect(store.listAnomalies({ device: 'plug/ENERGY.Power', limit: 10 }).map((a) => a.id)).toEqual(['o1']);
  });

  it('accumulates rejection counters, including unattributed ones', () => {
    const store = open();
    store.addRejections([
      { reason: 'bad_json', sensor: 'a', count: 2, lastAt: 10 },
      { reason: 'bad_topic', sensor: null, count: 1, lastAt: 11 },
    ]);
    store.addRejections([{ reason: 'bad_json', sensor: 'a', count: 3, lastAt: 9 }]);
    expect(store.rejections()).toEqual([
      { reason: 'bad_json', sensor: 'a', count: 5, lastAt: 10 },
      { reason: 'bad_topic', sensor: null, count: 1, lastAt: 11 },
    ]);
  });

  it("a mark set on an earlier clock (a CLI beside the demo's simulated clock) never moves updatedAt back", () => {
    const daemon = open('a.db', { now: () => 5_000_000 });
    daemon.recordEvent(event('open', 'ahead'), 'anomalyd/alerts/pump1');
    daemon.close();
    const cli = open('a.db', { now: () => 1_000_000 });
    expect(cli.markAnomaly('ahead', 'ack', null, 'cli:root')).toBe(true);
    const a = cli.getAnomaly('ahead')!;
    expect(a).toMatchObject({ mark: 'ack', createdAt: 5_000_000, updatedAt: 5_000_000, markAt: 1_000_000 });
    cli.close();
  });

  it("records an open episode's progress while it lasts (no event, no alert), never back, never on a resolved one", () => {
    const store = open();
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    store.recordEvent(event('open', 'shift', { startTs: t0, endTs: t0, windows: 1 }), 'anomalyd/alerts/pump1');
    const outbox = store.outboxPending();
    expect(store.touchAnomaly('shift', t0 + 600_000, 600)).toBe(true);
    expect(store.getAnomaly('shift')).toMatchObject({ status: 'open', startTs: t0, endTs: t0 + 600_000, windows: 600 });
    // While open, endTs is not an end (tryout: it read like one): lastSeenTs names it, endedTs is null.
    expect(store.getAnomaly('shift')).toMatchObject({ lastSeenTs: t0 + 600_000, endedTs: null });
    expect(store.listAnomalies({ limit: 10 })[0]).toMatchObject({ status: 'open', lastSeenTs: t0 + 600_000, endedTs: null });
    // Never back (a restored checkpoint older than the record).
    expect(store.touchAnomaly('shift', t0 + 60_000, 60)).toBe(true);
    expect(store.getAnomaly('shift')).toMatchObject({ endTs: t0 + 600_000, windows: 600 });
    expect(store.outboxPending()).toBe(outbox);
    expect(store.getAnomaly('shift')!.events.map((e) => e.kind)).toEqual(['open']);
    // A kind told while it lasts replaces the stored explanation (no event, no alert).
    const told = { kind: 'level_shift', sentence: 'pump1 4.1 bar, expected 2.3 ± 0.2 since 12:00 (level shift)', value: 4.1 } as AlertExplanation;
    expect(store.touchAnomaly('shift', t0 + 610_000, 610, told)).toBe(true);
    expect(store.getAnomaly('shift')).toMatchObject({ kind: 'level_shift', sentence: told.sentence, explanation: told });
    // Absent or null: the stored one stays.
    expect(store.touchAnomaly('shift', t0 + 620_000, 620, null)).toBe(true);
    expect(store.getAnomaly('shift')).toMatchObject({ kind: 'level_shift', sentence: told.sentence });
    expect(store.outboxPending()).toBe(outbox);
    // Resolved or unknown: left alone.
    store.recordEvent(event('resolve', 'shift', { startTs: t0, endTs: t0 + 700_000, windows: 716 }), 'anomalyd/alerts/pump1');
    expect(store.touchAnomaly('shift', t0 + 900_000, 900)).toBe(false);
    expect(store.getAnomaly('shift')).toMatchObject({ status: 'resolved', endTs: t0 + 700_000, windows: 716 });
    expect(store.getAnomaly('shift')).toMatchObject({ lastSeenTs: t0 + 700_000, endedTs: t0 + 700_000 });
    expect(store.touchAnomaly('nope', t0, 1)).toBe(false);
    expect(() => store.touchAnomaly('shift', Number.NaN, 1)).toThrow(RangeError);
  });

  it('round-trips readings and filters by time', () => {
    const store = open('a.db');
    const ts = Float64Array.from([1000, 2000, 3000, 4000]);
    const values = Float32Array.from([1, 10, 2, 20, 3, 30, 4.5, 40]);
    store.appendReadings('pump1', ts, values, 2);
    const all = store.readReadings('pump1');
    expect(all.channels).toBe(2);
    expect([...all.ts]).toEqual([1000, 2000, 3000, 4000]);
    expect([...all.values]).toEqual([1, 10, 2, 20, 3, 30, 4.5, 40]);
    const mid = store.readReadings('pump1', 2000, 3000);
    expect([...mid.ts]).toEqual([2000, 3000]);
    expect([...mid.values]).toEqual([2, 20, 3, 30]);
    expect([...store.readReadings('pump1', undefined, undefined, 1).ts]).toEqual([1000]);
    // The newest `limit` (what a retraining learns from), still oldest first.
    expect([...store.readReadings('pump1', undefined, undefined, 2, true).ts]).toEqual([3000, 4000]);
    expect([...store.readReadings('pump1', undefined, undefined, 2, true).values]).toEqual([3, 30, 4.5, 40]);
    expect(store.readReadings('other').ts.length).toBe(0);

    expect(() => store.appendReadings('pump1', ts, values, 3)).toThrow('do not fit');
  });

  // A new user's tryout (session 29), finding 1: readings were kept 7 days, 2,016 of a 5-min sensor, fewer than the
  // 3,600 its own model needs. Now each sensor keeps its newest readingsKept, whatever their age or cadence.
  it('keeps each sensor’s newest readingsKept readings, whatever their age, up to an eighth more between prunes', () => {
    const keep = 800;
    const store = open('a.db', { readingsKept: keep });
    const FIVE_MIN = 300_000;
    // A 5-min sensor over 30 days (8,640 readings), flushed 100 at a time, and a second one that must not be pruned by it.
    const t0 = Date.UTC(2026, 0, 1);
    let appended = 0;
    for (let k = 0; k < 8640; k += 100) {
      store.appendReadings('slow', Float64Array.from({ length: 100 }, (_, i) => t0 + (k + i) * FIVE_MIN), new Float32Array(100).fill(k), 1);
      appended += 100;
      const held = store.countReadings('slow');
      // Never fewer than it keeps (once it has had them), never more than an eighth beyond.
      expect(held).toBeGreaterThanOrEqual(Math.min(appended, keep));
      expect(held).toBeLessThanOrEqual(keep * (1 + 1 / 8));
      // Always the newest: its last reading is the last appended, its first within what it holds.
      const all = store.readReadings('slow');
      expect(all.ts[all.ts.length - 1]).toBe(t0 + (appended - 1) * FIVE_MIN);
      expect(all.ts[0]).toBe(t0 + (appended - held) * FIVE_MIN);
    }
    store.appendReadings('other', Float64Array.from([t0]), Float32Array.from([1]), 1);
    expect(store.countReadings('other')).toBe(1);
    // Readings of an old time (30 days before the newest) are kept while they are among the newest `keep`.
    const old = open('b.db', { readingsKept: keep });
    old.appendReadings('s', Float64Array.from([t0, t0 + 30 * 86_400_000]), Float32Array.from([1, 2]), 1);
    expect([...old.readReadings('s').ts]).toEqual([t0, t0 + 30 * 86_400_000]);
  });

  it('prunes a sensor that holds far more than it keeps (a database of the 7-day window) at its next append', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const first = open('c.db', { readingsKept: 5000 });
    first.appendReadings('fast', Float64Array.from({ length: 4000 }, (_, i) => t0 + i * 1000), new Float32Array(4000), 1);
    first.close();
    const again = open('c.db', { readingsKept: 1000 });
    again.appendReadings('fast', Float64Array.from([t0 + 4000 * 1000]), Float32Array.from([1]), 1);
    expect(again.countReadings('fast')).toBe(1000);
    expect(again.readReadings('fast', undefined, undefined, 1).ts[0]).toBe(t0 + 3001 * 1000);
  });

  it('lists, filters and marks anomalies', () => {
    const store = open();
    const hour = 3_600_000;
    const base = Date.UTC(2026, 0, 1);
    store.recordEvent(event('open', 'p1', { sensor: 'pump', startTs: base, endTs: base + 60_000 }), 't');
    store.recordEvent(event('resolve', 'p1', { sensor: 'pump', startTs: base, endTs: base + hour }), 't');
    store.recordEvent(event('open', 'p2', { sensor: 'pump', startTs: base + 5 * hour, endTs: base + 5 * hour }), 't');
    store.recordEvent(event('open', 'f1', { sensor: 'fan', startTs: base + 2 * hour, endTs: base + 2 * hour }), 't');

    expect(store.listAnomalies({ limit: 10 }).map((a) => a.id)).toEqual(['p2', 'f1', 'p1']);
    expect(store.listAnomalies({ limit: 2 }).map((a) => a.id)).toEqual(['p2', 'f1']);
    expect(store.listAnomalies({ sensor: 'pump', limit: 10 }).map((a) => a.id)).toEqual(['p2', 'p1']);
    expect(store.listAnomalies({ status: 'open', limit: 10 }).map((a) => a.id)).toEqual(['p2', 'f1']);
    // p1 spans [base, base + 1h]: it overlaps a window starting half an hour in.
    expect(store.listAnomalies({ from: base + hour / 2, to: base + 3 * hour, limit: 10 }).map((a) => a.id)).toEqual([
      'f1',
      'p1',
    ]);

    expect(store.markAnomaly('p1', 'false_alarm', 'door was open', 'mqtt:alice')).toBe(true);
    expect(store.getAnomaly('p1')).toMatchObject({ mark: 'false_alarm', markNote: 'door was open', markBy: 'mqtt:alice' });
    expect(store.markAnomaly('p1', null, null, 'cli:root')).toBe(true);
    expect(store.getAnomaly('p1')).toMatchObject({
      mark: null,
      markNote: null,
      markBy: 'cli:root',
      marks: [
        { seq: 1, mark: 'false_alarm', note: 'door was open', by: 'mqtt:alice' },
        { seq: 2, mark: null, note: null, by: 'cli:root' },
      ],
    });
    expect(store.markAnomaly('nope', 'ack', null, 'http')).toBe(false);
    expect(store.getAnomaly('p2')!.marks).toEqual([]);
    expect(store.integrityCheck()).toBe('ok');
  });

  it("`from` selects the episodes going on at any time since: an open one counts whatever its stored end, a resolved one by its end", () => {
    const store = open();
    const min = 60_000;
    const now = Date.UTC(2026, 0, 1, 4, 8);
    // Opened 20 min ago and still open: its stored end is the opening event's (no update since).
    store.recordEvent(event('open', 'open-long', { sensor: 'pump', startTs: now - 20 * min, endTs: now - 20 * min }), 't');
    // Opened 30 min ago, resolved 15 min ago: over before the window.
    store.recordEvent(event('open', 'over', { sensor: 'fan', startTs: now - 30 * min, endTs: now - 30 * min }), 't');
    store.recordEvent(event('resolve', 'over', { sensor: 'fan', startTs: now - 30 * min, endTs: now - 15 * min }), 't');
    // Opened 20 min ago, resolved 5 min ago: ended inside the window.
    store.recordEvent(event('open', 'ended-in', { sensor: 'valve', startTs: now - 20 * min - 1, endTs: now - 20 * min }), 't');
    store.recordEvent(event('resolve', 'ended-in', { sensor: 'valve', startTs: now - 20 * min - 1, endTs: now - 5 * min }), 't');
    // Opened 2 min ago.
    store.recordEvent(event('open', 'new', { sensor: 'pump', startTs: now - 2 * min, endTs: now - 2 * min }), 't');

    const ids = (q: Omit<AnomalyQuery, 'limit'>, limit = 10): string[] => store.listAnomalies({ ...q, limit }).map((a) => a.id);
    expect(ids({ from: now - 10 * min })).toEqual(['new', 'open-long', 'ended-in']);
    expect(ids({ from: now - 10 * min }, 2)).toEqual(['new', 'open-long']);
    expect(ids({ from: now - 10 * min, sensor: 'pump' })).toEqual(['new', 'open-long']);
    expect(ids({ from: now - 10 * min, status: 'resolved' })).toEqual(['ended-in']);
    expect(ids({ from: now - 10 * min, status: 'open' })).toEqual(['new', 'open-long']);
    // `to` bounds the start: the open one started 20 min ago, so it overlaps [now - 25 min, now - 19 min]; `new` does not.
    expect(ids({ from: now - 25 * min, to: now - 19 * min })).toEqual(['open-long', 'ended-in', 'over']);
    // At `from` exactly: an episode that ended then is listed.
    expect(ids({ from: now - 5 * min, status: 'resolved' })).toEqual(['ended-in']);
    expect(ids({ from: now - 5 * min + 1, status: 'resolved' })).toEqual([]);
  });
});

/**
 * Transpiles the store and everything it imports (relative imports only) into a directory inside the
 * project, so a plain `node` child can import it and still resolve better-sqlite3 and pino. Always
 * builds from the current source, never from a possibly stale dist/.
 */
function transpileForChild(entry: string): string {
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const outRoot = mkdtempSync(join(cache, 'anomalyd-store-child-'));
  const todo = [resolve(ROOT, entry)];
  const done = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    for (const imp of ts.preProcessFile(source, true, true).importedFiles) {
      if (imp.fileName.startsWith('.')) todo.push(resolve(dirname(file), imp.fileName.replace(/\.js$/, '.ts')));
    }
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    }).outputText;
    const out = join(outRoot, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, js);
  }
  return outRoot;
}

const CHILD_SCRIPT = `
import { pino } from 'pino';
import { SqliteStore } from './src/adapters/sqlite-store.js';
const [dbPath, interval] = process.argv.slice(2);
const store = SqliteStore.open(dbPath, { commitIntervalMs: Number(interval), outboxMax: 1e9, logger: pino({ level: 'silent' }) });
// stdout to a pipe is synchronous on Linux: a line the parent reads was written after the commit.
store.onCommit((id) => process.stdout.write('committed ' + id + '\\n'));
let n = 0;
function burst() {
  for (let i = 0; i < 25; i++, n++) {
    const kind = ['open', 'update', 'resolve'][n % 3];
    store.recordEvent({
      kind, sensor: 's' + (n % 4), anomalyId: 'a' + Math.floor(n / 3), startTs: 1e12, endTs: 1e12 + n,
      peakScore: 0.99, score: 0.98, threshold: 0.97, modelId: 'm', paddedFraction: 0,
      channelErrors: [n], channels: ['v'], windows: n,
    }, 'anomalyd/alerts/s' + (n % 4));
    if (n % 10 === 0) store.saveSensorStates([{ sensor: 's1', blob: Buffer.alloc(512, n % 256), updatedAt: n }]);
  }
  setImmediate(burst);
}
burst();
`;

describe('crash safety', () => {
  let childRoot: string;

  beforeAll(() => {
    childRoot = transpileForChild('src/adapters/sqlite-store.ts');
    writeFileSync(join(childRoot, 'child.mjs'), CHILD_SCRIPT);
  });

  afterAll(() => rmSync(childRoot, { recursive: true, force: true }));

  /** Runs the writer until it has reported `minCommitted` committed outbox rows, then SIGKILLs it. */
  async function killMidWrite(dbPath: string, commitIntervalMs: number, minCommitted: number): Promise<number> {
    const child = spawn(process.execPath, [join(childRoot, 'child.mjs'), dbPath, String(commitIntervalMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let lastCommitted = 0;
    let buffered = '';
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) lastCommitted = Math.max(lastCommitted, Number(line.split(' ')[1]));
      if (lastCommitted >= minCommitted) child.kill('SIGKILL');
    });
    const signal = await exited;
    expect(stderr).toBe('');
    expect(signal).toBe('SIGKILL');
    return lastCommitted;
  }

  it.each([
    ['group commit', 5],
    ['commit per write', 0],
  ])('keeps every committed row and a sound file after SIGKILL (%s)', async (_name, interval) => {
    const dbPath = join(dir, `crash-${interval}.db`);
    const lastCommitted = await killMidWrite(dbPath, interval, 600);
    expect(lastCommitted).toBeGreaterThanOrEqual(600);

    const store = open(`crash-${interval}.db`);
    expect(store.integrityCheck()).toBe('ok');
    const rows = store.committedOutbox(0, 1e9);
    expect(rows.length).toBeGreaterThanOrEqual(lastCommitted);
    expect(rows.map((r) => r.id)).toEqual(rows.map((_r, i) => i + 1)); // no holes
    peek(`crash-${interval}.db`, (db) => {
      // Atomicity survived the crash: one event per outbox row and the same payload in both.
      expect(count(db, 'anomaly_events')).toBe(rows.length);
      const orphans = db
        .prepare<[], number>(
          `SELECT count(*) FROM outbox o LEFT JOIN anomaly_events e
             ON e.anomaly_id = json_extract(o.payload, '$.anomaly_id') AND e.seq = json_extract(o.payload, '$.seq')
           WHERE e.payload IS NOT o.payload`,
        )
        .pluck()
        .get();
      expect(orphans).toBe(0);
      const dangling = db
        .prepare<[], number>('SELECT count(*) FROM anomaly_events e LEFT JOIN anomalies a ON a.id = e.anomaly_id WHERE a.id IS NULL')
        .pluck()
        .get();
      expect(dangling).toBe(0);
    });
    expect(store.loadSensorStates().get('s1')?.blob.length).toBe(512);
  });
});

// The payload contract is exercised here because recordEvent is what turns events into payloads.
describe('alert contract', () => {
  it('builds topics from a prefix and refuses levels that would change their shape', () => {
    const t = topics('site/a');
    expect(t.alerts('pump1')).toBe('site/a/alerts/pump1');
    expect(t.state('pump1')).toBe('site/a/state/pump1');
    expect(t.status).toBe('site/a/status');
    expect(t.allAlerts).toBe('site/a/alerts/#');
    expect(t.cmd('ack', 'x1')).toBe('site/a/cmd/ack/x1');
    // A stream id spans topic levels; each level must still be a plain, non-empty level.
    expect(t.alerts('bedroom/temperature')).toBe('site/a/alerts/bedroom/temperature');
    expect(t.state('tele_x/ENERGY.Power')).toBe('site/a/state/tele_x/ENERGY.Power');
    expect(t.score('a/b')).toBe('site/a/score/a/b');
    for (const bad of ['a//b', '/a', 'a/', '+', 'x#', '', 'a/+/b']) expect(() => t.alerts(bad)).toThrow('invalid stream');
    for (const bad of ['', 'a//b', '/a', 'a/+', 'a/#']) expect(() => topics(bad)).toThrow('invalid topic prefix');
  });

  it('stamps daemon_id into stored payloads when configured', () => {
    const store = open('a.db', { daemonId: 'pi-7' });
    store.recordEvent(event('open', 'x1'), 't');
    const payload = JSON.parse(store.committedOutbox(0, 1)[0].payload) as AlertPayload;
    expect(payload.daemon_id).toBe('pi-7');
    expect(Object.keys(payload).sort()).toEqual(
      ['anomaly_id', 'channels', 'daemon_id', 'end', 'event', 'explanation', 'model', 'padded_fraction', 'peak_score', 'resent', 'schema_version', 'score', 'sensor', 'seq', 'start', 'threshold', 'ts'].sort(),
    );
    expect(payload.schema_version).toBe(ALERT_SCHEMA_VERSION);
    // A resolve says why it ended; an open (above) has no such field.
    store.recordEvent(event('resolve', 'x1', { resolution: 'new_normal' }), 't');
    const resolved = JSON.parse(store.committedOutbox(0, 2)[1].payload) as AlertPayload;
    expect(resolved.resolution).toBe('new_normal');
    expect(payload.explanation).toBeNull();
  });
});

function explanation(over: Partial<AlertExplanation> = {}): AlertExplanation {
  return {
    kind: 'level_shift',
    sentence: 'pump1 4.1 bar, expected 2.3 ± 0.2 since 12:00 (level shift)',
    stream: 'pump1',
    channel: 'vibration',
    unit: 'bar',
    value: 4.1,
    expected: 2.3,
    band: 0.2,
    basis: 'baseline',
    since: '2026-01-01T12:00:00.000Z',
    shares: [
      { name: 'current', share: 0.2 },
      { name: 'vibration', share: 0.8 },
    ],
    stretch: { ts: [Date.UTC(2026, 0, 1, 12, 0, 0)], values: [4.1], expected: null, band: null },
    ...over,
  };
}

describe('explanations (schema 3)', () => {
  it('go into the alert (schema_version 2) and the anomaly record; an event without one keeps the last', () => {
    const store = open();
    store.recordEvent(event('open', 'x1'), 't', explanation());
    store.recordEvent(event('update', 'x1'), 't', explanation({ kind: null, sentence: 'pump1 4.3 bar since 12:00' }));
    store.recordEvent(event('resolve', 'x1'), 't', null);
    const payloads = store.committedOutbox(0, 10).map((r) => JSON.parse(r.payload) as AlertPayload);
    expect(payloads.map((p) => p.schema_version)).toEqual([2, 2, 2]);
    expect(payloads[0].explanation).toEqual(explanation());
    expect(payloads[2].explanation).toBeNull();
    const a = store.getAnomaly('x1')!;
    expect(a.kind).toBeNull();
    expect(a.sentence).toBe('pump1 4.3 bar since 12:00');
    expect(a.explanation).toEqual(explanation({ kind: null, sentence: 'pump1 4.3 bar since 12:00' }));
    expect(store.listAnomalies({ limit: 5 })[0].sentence).toBe('pump1 4.3 bar since 12:00');
    expect(a.events[0].payload.explanation?.kind).toBe('level_shift');
  });

  it('a version 2 database upgrades in place: its episodes and their alerts stay, without explanations', () => {
    const path = join(dir, 'old.db');
    const raw = new Database(path);
    migrate(raw, MIGRATIONS.slice(0, 2));
    raw
      .prepare(
        `INSERT INTO anomalies (id, sensor, start_ts, end_ts, peak_score, last_score, threshold, model, padded_fraction, channel_errors, windows, status, created_at, updated_at)
         VALUES ('old', 'pump1', 1, 2, 0.99, 0.98, 0.97, 'gru', 0, '[{"name":"value","error":1}]', 3, 'resolved', 1, 2)`,
      )
      .run();
    raw.prepare(`INSERT INTO anomaly_events (anomaly_id, seq, kind, ts, score, payload) VALUES ('old', 1, 'open', 2, 0.99, '{"anomaly_id":"old","event":"open"}')`).run();
    raw.close();
    const store = open('old.db');
    const a = store.getAnomaly('old')!;
    expect(a).toMatchObject({ id: 'old', kind: null, sentence: null, explanation: null, status: 'resolved' });
    expect(a.events[0].payload.schema_version).toBeUndefined();
    peek('old.db', (db) => expect(userVersion(db)).toBe(MIGRATIONS.length));
  });

  it('stores the outbox depth for the status', () => {
    const store = open();
    store.recordEvent(event('open', 'x1'), 't');
    store.recordEvent(event('update', 'x1'), 't');
    expect(store.outboxPending()).toBe(2);
    store.markDelivered(store.committedOutbox(0, 1)[0].id);
    expect(store.outboxPending()).toBe(1);
  });
});
