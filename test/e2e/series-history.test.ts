/**
 * The dashboard's history (src/pipeline/series.ts) as the daemon keeps it, in-process, on the embedded broker with a
 * real MQTT client, a real SQLite file and the shipped models (tryout 25):
 *   - finding 5: a restart in the middle of a minute and of a quarter-hour; each bucket's count must equal the
 *     readings stored in it (the bucket in progress at the stop was written anew with only the readings after the
 *     start: 412 where 762 were stored);
 *   - finding 4: past 1,000 streams (ingest.maxStreams is 5,000), a stream's alert carries its explanation and its
 *     plot has its readings (the series held at most 1,000 streams; those beyond were alerted with no explanation).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { TIER_WIDTH_MS } from '../../src/contract/series.js';
import { Daemon } from '../../src/daemon.js';
import { MODELS, builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** `learning`: the readings are stored (the learner stores them; no model is trained from 180 of them). */
function newDaemon(dataDir: string, opts: { http?: boolean; learning?: boolean } = {}): Daemon {
  const config = inProcessConfig(dataDir, {
    model: { dir: MODELS, worker: false },
    score: { learnReadings: 8 },
    explain: { timeZone: 'UTC' },
    ...(opts.http === true ? { http: { port: 0 } } : {}),
    ...(opts.learning === true ? { learning: { enabled: true } } : {}),
  });
  return new Daemon({ config, logger: pino({ level: 'silent' }) });
}

async function publish(daemon: Daemon, messages: readonly { topic: string; payload: string }[]): Promise<void> {
  const client = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `series-history-${process.pid}-${Date.now()}` });
  try {
    for (const m of messages) await client.publishAsync(m.topic, m.payload, { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

describe.skipIf(!builtAndModelsPresent())('the dashboard history a daemon keeps', () => {
  it('a restart in the middle of a minute and a quarter-hour: each bucket counts every reading stored in it (tryout 25, finding 5)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-series-history-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // A quarter-hour an hour ago; readings every 5 s from its start, 100 before the stop (8 min 20 s: the stop falls
    // 20 s into its ninth minute) and 80 after.
    const Q = TIER_WIDTH_MS[2];
    const q0 = Math.floor((Date.now() - 3_600_000) / Q) * Q;
    const message = (i: number) => ({ topic: 'sensors/live1', payload: JSON.stringify({ ts: q0 + i * 5000, value: Number((20 + Math.sin(i / 9) + (i % 4) / 20).toFixed(2)) }) });
    const first = newDaemon(dataDir, { learning: true });
    cleanups.push(() => first.stop());
    await first.start();
    await publish(first, Array.from({ length: 100 }, (_, i) => message(i)));
    await waitFor(() => first.counters.scored >= 100, 30_000, 'the readings before the stop scored');
    await first.stop();

    const second = newDaemon(dataDir, { learning: true });
    cleanups.push(() => second.stop());
    await second.start();
    await publish(second, Array.from({ length: 80 }, (_, i) => message(100 + i)));
    await waitFor(() => second.counters.scored >= 80, 30_000, 'the readings after the restart scored');
    await second.stop();

    const db = new Database(join(dataDir, 'anomalyd.db'), { readonly: true });
    try {
      const stored = (from: number, to: number): number => (db.prepare('SELECT count(*) AS n FROM readings WHERE sensor = ? AND ts >= ? AND ts < ?').get('live1', from, to) as { n: number }).n;
      const buckets = db.prepare('SELECT tier, start_ts AS start, count FROM series_buckets WHERE stream = ? ORDER BY tier, start_ts').all('live1') as Array<{ tier: 1 | 2; start: number; count: number }>;
      expect(stored(q0, q0 + Q)).toBe(180);
      // The quarter-hour, and the minute the stop fell in (8 min after q0: 4 readings before the stop, 8 after).
      expect(buckets.filter((b) => b.tier === 2)).toEqual([{ tier: 2, start: q0, count: 180 }]);
      expect(buckets.find((b) => b.tier === 1 && b.start === q0 + 8 * 60_000)?.count).toBe(12);
      for (const b of buckets) expect([b.tier, b.start, b.count]).toEqual([b.tier, b.start, stored(b.start, b.start + TIER_WIDTH_MS[b.tier])]);
      expect(buckets.filter((b) => b.tier === 1).reduce((n, b) => n + b.count, 0)).toBe(180);
    } finally {
      db.close();
    }
  }, 90_000);

  it('past 1,000 streams a stream’s alert carries its explanation and its plot its readings (tryout 25, finding 4)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-series-many-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const daemon = newDaemon(dataDir, { http: true });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const now = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    // 1,050 streams of one reading each, then `late1`: 200 normal readings a minute apart, then 10 at 35.
    const many = Array.from({ length: 1050 }, (_, i) => ({ topic: `sensors/s${String(i).padStart(4, '0')}`, payload: JSON.stringify({ ts: now - 1000, value: 10 + (i % 7) / 10 }) }));
    const late = Array.from({ length: 210 }, (_, k) => ({
      topic: 'sensors/late1',
      payload: JSON.stringify({ ts: now - (210 - k) * 60_000, value: k < 200 ? Number((20 + Math.sin(k / 5) / 10 + (k % 3) / 20).toFixed(2)) : 35 }),
    }));
    await publish(daemon, many);
    await waitFor(() => daemon.counters.scored >= 1050, 60_000, 'the 1,050 streams scored');
    await publish(daemon, late);
    await waitFor(() => daemon.counters.scored >= 1260, 30_000, 'late1 scored');
    await waitFor(() => daemon.database!.listAnomalies({ sensor: 'late1', limit: 10 }).length > 0, 10_000, 'late1 alerted');
    const [episode] = daemon.database!.listAnomalies({ sensor: 'late1', limit: 10 });
    expect(episode.explanation).not.toBeNull();
    expect(episode.explanation!.sentence).toMatch(/^late1 35/);
    const series = (await (await fetch(`${daemon.httpUrl!}/api/sensors/late1/series?range=1h`)).json()) as { source: string; ts: number[]; channels: string[] };
    expect(series.source).toBe('raw');
    expect(series.channels).toEqual(['value']);
    expect(series.ts.length).toBeGreaterThan(0);
    // The series keeps the 1,000 streams read most recently: the 51 read least recently (1,050 + late1 - 1,000) gave
    // their raw readings up, counted, none refused.
    const status = (await (await fetch(`${daemon.httpUrl!}/api/status`)).json()) as { seriesNotKept?: Record<string, number> };
    expect(status.seriesNotKept ?? {}).toEqual({ evicted: 51 });
  }, 120_000);
});
