import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpServer, type DaemonView } from '../../src/adapters/http.js';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { topics } from '../../src/contract/alerts.js';
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
    expect(await ids('?sensor=nobody')).toEqual([]);
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
    expect((await request(base, '/api/anomalies/never-was')).status).toBe(404);
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
