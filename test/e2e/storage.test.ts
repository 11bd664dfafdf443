/**
 * Issue 12, storage faults, with the real daemon as a child process (embedded broker): each fault gives
 * the behaviour docs/DEPLOY.md ("Storage faults") describes and loses nothing that was committed.
 *
 * - a data dir under /proc: start fails at once (exit 1), naming the path and why; no hang
 * - a read-only database file, a read-only data directory: start fails (exit 1) naming the path and the
 *   cause, and the file is left untouched (run as an unprivileged user when the tests run as root, since
 *   root may write anything)
 * - the database file deleted, or replaced, while the daemon runs: `fault` on <prefix>/status, a fatal log
 *   line with the path, exit 3 (systemd restarts); a deleted file is written back with everything committed
 * - the disk full while the daemon runs (a 6 MB tmpfs, where the tests may mount one): the same, and after
 *   space is freed the restart finds every committed anomaly; skipped cleanly where mounting is refused
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { EXIT_STORAGE_FAULT } from '../../src/daemon/faults.js';
import { DaemonProcess, ROOT, builtAndModelsPresent, type LogLine } from '../helpers/daemon.js';

const ready = builtAndModelsPresent();
const isRoot = process.getuid?.() === 0;
/** As root, the daemon runs as nobody for the permission tests: root may write a 0444 file. */
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
/**
 * Root can drop to nobody, and nobody can read the built daemon (not so in a checkout under a 0700 directory,
 * such as one made by mktemp -d: the permission tests are skipped there rather than fail on an unreadable
 * dist/main.js).
 */
const canDropPrivileges =
  isRoot &&
  spawnSync(NOBODY[0], [...NOBODY.slice(1), process.execPath, '-e', `require('node:fs').accessSync(${JSON.stringify(join(ROOT, 'dist', 'main.js'))}, require('node:fs').constants.R_OK)`]).status === 0;
const ANOMALY = 'c0ffee00-0000-4000-8000-000000000001';
const silent = pino({ level: 'silent' });

function seed(dbPath: string): void {
  const store = SqliteStore.open(dbPath, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
  const ts = Date.now() - 60_000;
  store.recordEvent(
    { kind: 'open', sensor: 'pump1', anomalyId: ANOMALY, startTs: ts, endTs: ts + 30_000, peakScore: 0.9995, score: 0.9995, threshold: 0.999, modelId: 'gru@1', paddedFraction: 0, channelErrors: [3], channels: ['value'], windows: 2 },
    'anomalyd/alerts/pump1',
  );
  store.close();
}

/** What is committed: anomalies with their event kinds, and the outbox, in a stable form. */
function committed(dbPath: string): { anomalies: Record<string, string[]>; outbox: number; integrity: string } {
  const store = SqliteStore.open(dbPath, { commitIntervalMs: 0, outboxMax: 100, logger: silent });
  try {
    const anomalies: Record<string, string[]> = {};
    for (const a of store.listAnomalies({ limit: 1000 })) anomalies[a.id] = store.getAnomaly(a.id)!.events.map((e) => e.kind);
    return { anomalies, outbox: store.stats().outboxPending + store.stats().outboxDelivered, integrity: store.integrityCheck() };
  } finally {
    store.close();
  }
}

function fatal(daemon: DaemonProcess): LogLine | undefined {
  return daemon.lines.find((l) => l.level === 60);
}

const daemons: DaemonProcess[] = [];
function daemon(config: Record<string, unknown> = {}): DaemonProcess {
  const d = new DaemonProcess({ broker: { port: 0 }, store: { commitIntervalMs: 0 }, ...config });
  daemons.push(d);
  return d;
}
afterAll(async () => {
  for (const d of daemons) await d.stop('SIGKILL');
});

/** Subscribes to the retained status and records every value, from now on. */
async function watchStatus(url: string): Promise<{ values: string[]; end: () => Promise<void> }> {
  const values: string[] = [];
  const client = await mqtt.connectAsync(url, { clientId: `status-${process.pid}-${Date.now()}`, reconnectPeriod: 0 });
  client.on('message', (_t, p) => values.push(p.toString()));
  await client.subscribeAsync('anomalyd/status', { qos: 1 });
  return { values, end: () => client.endAsync(true) };
}

describe.skipIf(!ready)('storage faults at start', () => {
  it('a data dir under /proc fails the start at once, naming the path and why (no hang)', async () => {
    const d = daemon({ dataDir: '/proc/anomalyd-test/data' });
    expect(await d.startExpectingExit()).toBe(1);
    const line = fatal(d)!;
    expect(line.msg).toBe('could not start');
    expect(String((line.err as { message: string }).message)).toMatch(/^\/proc\/anomalyd-test\/data: \/proc is on the kernel's proc filesystem.*set dataDir/);
  });

  it.skipIf(isRoot && !canDropPrivileges)('a read-only database file fails the start, names the file, and is left untouched', async () => {
    const d = daemon();
    const data = join(d.dir, 'data');
    mkdirSync(data, { recursive: true });
    seed(d.dbPath);
    const before = readFileSync(d.dbPath);
    chmodSync(d.dbPath, 0o444);
    if (isRoot) {
      chmodSync(d.dir, 0o755);
      chmodSync(data, 0o777);
      d.runAs = NOBODY;
    }
    expect(await d.startExpectingExit()).toBe(1);
    const message = String((fatal(d)!.err as { message: string }).message);
    expect(message).toContain(d.dbPath);
    expect(message).toMatch(/not writable|read-?only/i);
    expect(readFileSync(d.dbPath).equals(before)).toBe(true);
  });

  it.skipIf(isRoot && !canDropPrivileges)('a read-only data directory fails the start and names the directory', async () => {
    const d = daemon();
    const data = join(d.dir, 'data');
    mkdirSync(data, { recursive: true });
    seed(d.dbPath);
    chmodSync(d.dbPath, 0o666);
    chmodSync(data, 0o555);
    if (isRoot) {
      chmodSync(d.dir, 0o755);
      d.runAs = NOBODY;
    }
    expect(await d.startExpectingExit()).toBe(1);
    const message = String((fatal(d)!.err as { message: string }).message);
    expect(message).toContain(`${data}: directory not writable`);
    expect(message).toContain('-wal and -shm');
    chmodSync(data, 0o755);
    expect(committed(d.dbPath).anomalies[ANOMALY]).toEqual(['open']);
  });
});

describe.skipIf(!ready)('storage faults while running', () => {
  it('a database file deleted under the daemon: fault on the status topic, exit 3, and everything committed is written back', async () => {
    const d = daemon();
    mkdirSync(join(d.dir, 'data'), { recursive: true });
    seed(d.dbPath);
    await d.start();
    const status = await watchStatus(d.logged('ready')[0].mqtt as string);
    // At start the seeded episode (no lifecycle knows it) was resolved: committed in this run.
    const before = committed(d.dbPath);
    expect(before.anomalies[ANOMALY]).toEqual(['open', 'resolve']);
    unlinkSync(d.dbPath);
    expect(await d.waitExit()).toBe(EXIT_STORAGE_FAULT);
    await status.end();
    expect(status.values).toContain('fault');
    expect(fatal(d)).toMatchObject({ kind: 'deleted', path: d.dbPath });
    expect(d.logged('database written back to its path from the open connection: nothing committed is lost')).toHaveLength(1);
    const after = committed(d.dbPath);
    expect(after.integrity).toBe('ok');
    expect(after.anomalies).toEqual(before.anomalies);
    expect(after.outbox).toBe(before.outbox);
    // systemd's restart finds it all and runs.
    d.exitCode = null;
    await d.start();
    expect(await d.stop()).toBe(0);
  }, 60_000);

  it('a database file replaced under the daemon: exit 3, the replacement kept, this run saved beside it', async () => {
    const d = daemon();
    const data = join(d.dir, 'data');
    mkdirSync(data, { recursive: true });
    seed(d.dbPath);
    await d.start();
    const other = join(d.dir, 'other.db');
    SqliteStore.open(other, { commitIntervalMs: 0, outboxMax: 10, logger: silent }).close();
    renameSync(other, d.dbPath);
    expect(await d.waitExit()).toBe(EXIT_STORAGE_FAULT);
    expect(fatal(d)).toMatchObject({ kind: 'replaced', path: d.dbPath });
    expect(committed(d.dbPath).anomalies).toEqual({});
    const rescued = readdirSync(data).filter((f) => f.includes('.rescued-') && f.endsWith('Z'));
    expect(rescued).toHaveLength(1);
    expect(committed(join(data, rescued[0])).anomalies[ANOMALY]).toEqual(['open', 'resolve']);
  }, 60_000);
});

/** A small tmpfs for the disk-full test, or null where this process may not mount one. */
function smallFs(dir: string, size: string): boolean {
  if (!isRoot) return false;
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

describe.skipIf(!ready)('disk full while running', () => {
  it('a failed write stops the daemon loudly (exit 3); after space is freed nothing committed is missing', async (ctx) => {
    const d = daemon({ store: { commitIntervalMs: 0, checkpointIntervalMs: 1000 } });
    const data = join(d.dir, 'data');
    if (!smallFs(data, '6m')) {
      ctx.skip();
      return;
    }
    try {
      seed(d.dbPath);
      await d.start();
      const url = d.logged('ready')[0].mqtt as string;
      const status = await watchStatus(url);
      const before = committed(d.dbPath);
      // Fill the filesystem to the last block.
      const filler = join(data, 'filler');
      spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
      // Readings make writes: the learner stores them, the checkpoint saves the sensor's state.
      const sensor = await mqtt.connectAsync(url, { clientId: `disk-${process.pid}`, reconnectPeriod: 0 });
      const t0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
      for (let i = 0; i < 20; i++) {
        const values = Array.from({ length: 30 }, (_, k) => 20 + Math.sin((i * 30 + k) / 10));
        await sensor.publishAsync('sensors/pump1', JSON.stringify({ values, ts: t0 + i * 30_000, interval_ms: 1000 }), { qos: 1 });
      }
      await sensor.endAsync(true).catch(() => undefined);
      expect(await d.waitExit()).toBe(EXIT_STORAGE_FAULT);
      await status.end();
      expect(status.values).toContain('fault');
      const line = fatal(d)!;
      expect(line).toMatchObject({ kind: 'disk_full', path: d.dbPath });
      expect(String(line.cause)).toContain('SQLITE_FULL');
      // Free the space; the restart has everything that was committed.
      rmSync(filler);
      const after = committed(d.dbPath);
      expect(after.integrity).toBe('ok');
      expect(after.anomalies).toEqual(before.anomalies);
      d.exitCode = null;
      await d.start();
      expect(await d.stop()).toBe(0);
    } finally {
      spawnSync('umount', [data]);
    }
  }, 60_000);
});
