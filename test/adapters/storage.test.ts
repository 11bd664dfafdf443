/**
 * Storage faults in-process: the data directory, error wording and classification, the inode check and
 * the rescue of a deleted database file (issue 12). The forked-daemon versions are test/e2e/storage.test.ts.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { StorageError, asStorageError, checkFileIdentity, ensureDataDir, fileIdentity, storageFaultKind } from '../../src/adapters/storage.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { FaultLatch, rescueDatabase } from '../../src/daemon/faults.js';
import { daemonView } from '../../src/daemon/http-view.js';
import { captureLogs as logSink } from '../http/helpers.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'anomalyd-storage-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const silent = pino({ level: 'silent' });
const open = (path: string, onFault?: (f: StorageError) => void): SqliteStore => SqliteStore.open(path, { commitIntervalMs: 0, outboxMax: 100, logger: silent, onFault });

function ev(kind: AnomalyEvent['kind'], id: string): AnomalyEvent {
  const ts = Date.UTC(2026, 0, 1);
  return { kind, sensor: 'pump1', anomalyId: id, startTs: ts, endTs: ts + 30_000, peakScore: 0.9995, score: 0.9995, threshold: 0.999, modelId: 'gru@1', paddedFraction: 0, channelErrors: [3], channels: ['value'], windows: 2 };
}

describe('ensureDataDir', () => {
  it('makes missing parents one level at a time and returns the absolute path', () => {
    const base = tmp();
    expect(ensureDataDir(join(base, 'a', 'b', 'c'))).toBe(join(base, 'a', 'b', 'c'));
    expect(existsSync(join(base, 'a', 'b', 'c'))).toBe(true);
  });

  it('refuses a directory under /proc at once, naming the path and the filesystem', () => {
    // Node's mkdirSync(…, { recursive: true }) never returns for such a path.
    for (const p of ['/proc/anomalyd/data', '/proc/self/anomalyd', '/sys/anomalyd']) {
      const err = (() => {
        try {
          ensureDataDir(p);
          return null;
        } catch (e) {
          return e as StorageError;
        }
      })();
      expect(err, p).toBeInstanceOf(StorageError);
      expect(err!.message).toContain(p.split('/').slice(0, 2).join('/'));
    }
    expect(() => ensureDataDir('/proc/anomalyd')).toThrow(/kernel's proc filesystem.*set dataDir to a directory on a disk/);
  });

  it('refuses a file where the directory should be', () => {
    const f = join(tmp(), 'file');
    writeFileSync(f, 'x');
    expect(() => ensureDataDir(join(f, 'data'))).toThrow(/not a directory/);
  });
});

describe('storage errors', () => {
  it('classifies SQLite and file-system codes; anything else is not a storage fault', () => {
    expect(storageFaultKind({ code: 'SQLITE_READONLY' })).toBe('read_only');
    expect(storageFaultKind({ code: 'SQLITE_READONLY_DBMOVED' })).toBe('read_only');
    expect(storageFaultKind({ code: 'SQLITE_FULL' })).toBe('disk_full');
    expect(storageFaultKind({ code: 'ENOSPC' })).toBe('disk_full');
    expect(storageFaultKind({ code: 'SQLITE_IOERR_WRITE' })).toBe('io_error');
    expect(storageFaultKind({ code: 'SQLITE_NOTADB' })).toBe('not_a_database');
    expect(storageFaultKind({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })).toBeNull();
    expect(storageFaultKind(new Error('no code'))).toBeNull();
  });

  it('names the path, the cause and the fix', () => {
    const err = asStorageError(Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' }), '/var/lib/anomalyd/anomalyd.db');
    expect(err.message).toMatch(/^\/var\/lib\/anomalyd\/anomalyd\.db: SQLITE_READONLY: attempt to write a readonly database; .*read-only/);
    expect(err).toMatchObject({ kind: 'read_only', path: '/var/lib/anomalyd/anomalyd.db' });
  });

  it('a file that is not a database fails the open with its path', () => {
    const path = join(tmp(), 'anomalyd.db');
    writeFileSync(path, 'this is not sqlite '.repeat(100));
    expect(() => open(path)).toThrow(new RegExp(`^${path.replace(/[.]/g, '\\.')}: SQLITE_NOTADB`));
  });
});

describe('the database file under a running store', () => {
  it('notices it was deleted, and rescues everything committed from the open connection', () => {
    const dir = tmp();
    const path = join(dir, 'anomalyd.db');
    const store = open(path);
    store.recordEvent(ev('open', 'a1'), 'anomalyd/alerts/pump1');
    expect(store.checkFile()).toBeNull();
    unlinkSync(path);
    // SQLite goes on writing into the unlinked file without a word: only the inode check sees it.
    store.recordEvent(ev('resolve', 'a1'), 'anomalyd/alerts/pump1');
    const fault = store.checkFile();
    expect(fault).toMatchObject({ kind: 'deleted', path });
    const log = logSink();
    const finish = rescueDatabase(store, fault!, log.logger, () => Date.UTC(2026, 0, 2));
    store.close();
    finish();
    expect(existsSync(path)).toBe(true);
    const again = open(path);
    expect(again.getAnomaly('a1')!.events.map((e) => e.kind)).toEqual(['open', 'resolve']);
    expect(again.committedOutbox(0, 10)).toHaveLength(2);
    expect(again.integrityCheck()).toBe('ok');
    again.close();
    expect(log.lines().some((l) => String(l.msg).includes('nothing committed is lost'))).toBe(true);
  });

  it('notices it was replaced, leaves the replacement alone and saves its own copy beside it', () => {
    const dir = tmp();
    const path = join(dir, 'anomalyd.db');
    const store = open(path);
    store.recordEvent(ev('open', 'a1'), 'anomalyd/alerts/pump1');
    const other = open(join(dir, 'other.db'));
    other.close();
    renameSync(join(dir, 'other.db'), path);
    const fault = store.checkFile();
    expect(fault).toMatchObject({ kind: 'replaced', path });
    expect(fault!.message).toContain('inode');
    const finish = rescueDatabase(store, fault!, silent, () => Date.UTC(2026, 0, 2));
    store.close();
    finish();
    const replacement = open(path);
    expect(replacement.getAnomaly('a1')).toBeNull();
    replacement.close();
    const rescued = open(`${path}.rescued-2026-01-02T00-00-00-000Z`);
    expect(rescued.getAnomaly('a1')).not.toBeNull();
    rescued.close();
  });

  it('checkFileIdentity: same file is fine', () => {
    const f = join(tmp(), 'x');
    writeFileSync(f, 'x');
    expect(checkFileIdentity(f, fileIdentity(f)!)).toBeNull();
  });
});

describe('FaultLatch', () => {
  it('logs the first fault once, announces it once, counts the rest, and shows it in /api/status', async () => {
    const log = logSink();
    const announced: string[] = [];
    const latch = new FaultLatch(log.logger, () => 1234, (f) => announced.push(f.kind));
    const view = daemonView({
      startedAt: 0,
      now: () => 1234,
      uptimeMs: () => 1234,
      counters: () => ({}),
      rejections: () => ({}) as never,
      defaultModel: () => null,
      modelOf: () => null,
      mqtt: () => ({ url: 'mqtt://x', connected: true }),
      fault: () => latch.view(),
      board: { sensors: () => [], has: () => false } as never,
      series: { notRecorded: () => ({}) } as never,
      unitOf: () => null,
      store: () => {
        throw new Error('unused');
      },
    });
    expect(view.status()).toMatchObject({ health: 'ok', fault: null });
    const fault = asStorageError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), '/data/anomalyd.db');
    for (let i = 0; i < 100; i++) latch.raise(fault);
    await expect(latch.failed).resolves.toBe(fault);
    expect(announced).toEqual(['disk_full']);
    const fatal = log.lines().filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ kind: 'disk_full', path: '/data/anomalyd.db', cause: 'SQLITE_FULL: database or disk is full' });
    expect(view.status()).toMatchObject({ health: 'fault', fault: { kind: 'disk_full', path: '/data/anomalyd.db', at: 1234, count: 100 } });
  });
});
