import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpServer, type DaemonView } from '../../src/adapters/http.js';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { topics } from '../../src/contract/alerts.js';
import { SeriesStore } from '../../src/pipeline/series.js';
import type { AnomalyEvent, AnomalyEventKind } from '../../src/contract/types.js';
import { captureLogs, request, T0 } from './helpers.js';

const MIN = 60_000;

function ev(kind: AnomalyEventKind, anomalyId: string, sensor: string, startTs: number, over: Partial<AnomalyEvent> = {}): AnomalyEvent {
  return {
    kind,
    sensor,
    anomalyId,
    startTs,
    endTs: startTs + MIN,
    peakScore: 0.999,
    score: 0.999,
    threshold: 0.99,
    modelId: 'gru',
    paddedFraction: 0,
    channelErrors: [2.5],
    channels: ['value'],
    windows: 2,
    ...over,
  };
}

/** The anomaly part of the daemon's view is the store's own methods, as the daemon will wire it. */
function storeView(store: SqliteStore): DaemonView {
  return {
    now: () => T0,
    status: () => ({
      version: 'test',
      startedAt: T0,
      uptimeMs: 0,
      counters: {},
      model: null,
      mqtt: { url: 'mqtt://x', connected: false },
      sensors: { total: 0, byStatus: { ok: 0, anomalous: 0, learning: 0, stale: 0 } },
      rejections: {},
      outbox: null,
    }),
    sensors: () => [],
    series: () => null,
    anomalies: (q) => store.listAnomalies(q),
    anomalyCount: (q) => store.countAnomalies(q),
    anomaly: (id) => store.getAnomaly(id),
    markAnomaly: (id, mark, note) => store.markAnomaly(id, mark, note, 'http'),
  };
}

describe('anomaly routes over a real SqliteStore', () => {
  let dir: string;
  let store: SqliteStore;
  let server: HttpServer;
  let base: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'anomalyd-http-'));
    const logger = captureLogs().logger;
    store = SqliteStore.open(join(dir, 'anomalyd.db'), { commitIntervalMs: 0, outboxMax: 100, logger });
    const t = topics();
    store.recordEvent(ev('open', 'old-pump', 'pump1', T0), t.alerts('pump1'));
    store.recordEvent(ev('resolve', 'old-pump', 'pump1', T0, { score: 0.3, endTs: T0 + 2 * MIN }), t.alerts('pump1'));
    store.recordEvent(ev('open', 'fan-open', 'fan2', T0 + 10 * MIN), t.alerts('fan2'));
    store.recordEvent(ev('open', 'new-pump', 'pump1', T0 + 20 * MIN), t.alerts('pump1'));
    server = new HttpServer({ host: '127.0.0.1', port: 0, logger, view: storeView(store) });
    await server.start();
    base = server.url!;
  });

  afterEach(async () => {
    await server.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ids = async (query: string): Promise<string[]> => {
    const res = await request(base, `/api/anomalies${query}`);
    expect(res.status).toBe(200);
    return (res.json as { anomalies: { id: string }[] }).anomalies.map((a) => a.id);
  };

  it('lists newest first and filters by sensor, status, since and limit', async () => {
    expect(await ids('')).toEqual(['new-pump', 'fan-open', 'old-pump']);
    expect(await ids('?sensor=pump1')).toEqual(['new-pump', 'old-pump']);
    expect(await ids('?status=resolved')).toEqual(['old-pump']);
    expect(await ids('?status=open&sensor=pump1')).toEqual(['new-pump']);
    // since keeps episodes that were still going at that time: old-pump ended at T0 + 2 min.
    expect(await ids(`?since=${T0 + 5 * MIN}`)).toEqual(['new-pump', 'fan-open']);
    expect(await ids(`?since=${new Date(T0 + MIN).toISOString()}`)).toEqual(['new-pump', 'fan-open', 'old-pump']);
    expect(await ids('?limit=1')).toEqual(['new-pump']);
    // A stream the daemon does not know is a 404, not a healthy stream's empty list (README, tryout 20 F10).
    const unknown = await request(base, '/api/anomalies?sensor=nobody');
    expect(unknown.status).toBe(404);
  });

  it('shows one episode with its events in order', async () => {
    const res = await request(base, '/api/anomalies/old-pump');
    expect(res.status).toBe(200);
    const body = res.json as { id: string; status: string; endTs: number; events: { seq: number; kind: string; payload: { anomaly_id: string } }[] };
    expect(body).toMatchObject({ id: 'old-pump', sensor: 'pump1', status: 'resolved', endTs: T0 + 2 * MIN });
    expect(body.events.map((e) => [e.seq, e.kind])).toEqual([
      [1, 'open'],
      [2, 'resolve'],
    ]);
    expect(body.events[0].payload.anomaly_id).toBe('old-pump');
    expect(body).toMatchObject({ lastSeenTs: T0 + 2 * MIN, endedTs: T0 + 2 * MIN });
    expect((await request(base, '/api/anomalies/never-was')).status).toBe(404);
  });

  it('an open episode has no end: endedTs null, its latest reading so far as lastSeenTs (endTs kept, the same)', async () => {
    const res = await request(base, '/api/anomalies?status=open&sensor=fan2');
    const [fan] = (res.json as { anomalies: Record<string, unknown>[] }).anomalies;
    expect(fan).toMatchObject({ id: 'fan-open', status: 'open', endedTs: null, lastSeenTs: T0 + 11 * MIN, endTs: T0 + 11 * MIN });
  });

  it('ack, false alarm and unmark reach the database', async () => {
    const ack = await request(base, '/api/anomalies/fan-open/ack', { method: 'POST', body: '{"note":"valve checked"}' });
    expect(ack.status).toBe(200);
    expect(store.getAnomaly('fan-open')).toMatchObject({ mark: 'ack', markNote: 'valve checked' });
    expect(ack.json).toMatchObject({ mark: 'ack', markNote: 'valve checked' });

    expect((await request(base, '/api/anomalies/fan-open/false_alarm', { method: 'POST' })).status).toBe(200);
    expect(store.getAnomaly('fan-open')).toMatchObject({ mark: 'false_alarm', markNote: null });

    expect((await request(base, '/api/anomalies/fan-open/unmark', { method: 'POST' })).status).toBe(200);
    expect(store.getAnomaly('fan-open')).toMatchObject({ mark: null, markNote: null });

    expect((await request(base, '/api/anomalies/never-was/ack', { method: 'POST' })).status).toBe(404);
    expect(store.listAnomalies({ limit: 10 }).filter((a) => a.mark !== null)).toEqual([]);
  });

  it('a closed store turns into 500s, not a crash', async () => {
    store.close();
    const res = await request(base, '/api/anomalies');
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: 'internal error' });
    expect((await request(base, '/api/status')).status).toBe(200);
  });
});

describe('series route over a real SeriesStore and its SQLite buckets: the documented shape', () => {
  it('"channels" is the list of channel names (docs/HTTP.md), from raw readings, from stored buckets after a restart, and empty for a sensor with none', async () => {
    // Tryout: docs/HTTP.md shows "channels": ["value"]; check the API gives names, never a count, in every source.
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-http-series-'));
    const logger = captureLogs().logger;
    const store = SqliteStore.open(join(dir, 'anomalyd.db'), { commitIntervalMs: 0, outboxMax: 100, logger });
    let now = T0;
    const recordAll = (series: SeriesStore): void => {
      for (let i = 0; i < 180; i++) {
        const ts = T0 + i * 1000;
        const common = { ts, expected: null, spread: null, score: 0.5, surprise: 0.3, threshold: 0.99999, status: 'ok' as const, anomalyId: null, modelId: 'gru' };
        series.record({ stream: 'pump1', channels: ['value'], values: [2 + Math.sin(i / 9)], ...common });
        series.record({ stream: 'press', channels: ['flow', 'pressure'], values: [10 + i / 100, 2.2], ...common });
      }
    };
    const first = new SeriesStore({ persist: store, writeIntervalMs: 0, now: () => now });
    recordAll(first);
    now += 3_600_000;
    first.flush(true);
    const viewOf = (series: SeriesStore, known: string[]): DaemonView => ({
      ...storeView(store),
      sensors: () => known.map((sensor) => ({ sensor, status: 'ok' as const, model: null, pinned: false, lastTs: null, value: null, surprise: null, unit: null, ownModel: null })),
      series: (sensor, q) => series.query(sensor, q),
    });
    const servers: HttpServer[] = [];
    const serveWith = async (view: DaemonView): Promise<string> => {
      const server = new HttpServer({ host: '127.0.0.1', port: 0, logger, view });
      servers.push(server);
      await server.start();
      return server.url!;
    };
    try {
      const live = await serveWith(viewOf(first, ['pump1', 'press', 'newbie']));
      const raw = (await request(live, '/api/sensors/pump1/series')).json as { channels: unknown; source: string; value: unknown[] };
      expect(raw).toMatchObject({ channels: ['value'], source: 'raw' });
      expect(raw.value).toHaveLength(1);
      const two = (await request(live, '/api/sensors/press/series')).json as { channels: unknown; value: unknown[] };
      expect(two.channels).toEqual(['flow', 'pressure']);
      expect(two.value).toHaveLength(2);
      expect((await request(live, '/api/sensors/newbie/series')).json).toMatchObject({ channels: [], source: 'none', ts: [] });
      // After a restart: a fresh store reads the stored minute buckets.
      const restarted = await serveWith(viewOf(new SeriesStore({ persist: store, now: () => now }), ['pump1', 'press']));
      const fromBuckets = (await request(restarted, '/api/sensors/press/series?range=24h')).json as { channels: unknown; source: string; ts: number[] };
      expect(fromBuckets.source).toBe('minutes');
      expect(fromBuckets.ts.length).toBeGreaterThan(0);
      expect(fromBuckets.channels).toEqual(['flow', 'pressure']);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
