import { request as httpRequest, Agent, type OutgoingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { AnomalyMark, AnomalyQuery, AnomalyRecord, AnomalyWithEvents } from '../../src/contract/store.js';
import type { DaemonStatusView, DaemonView, SensorView } from '../../src/adapters/http.js';
import type { SeriesQuery, SeriesView } from '../../src/pipeline/series.js';
import type { SeriesAnswer } from '../../src/http/view.js';

export interface TestResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body's bytes as received (still gzipped when the server gzipped them). */
  readonly raw: Buffer;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  readonly json: unknown;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  readonly agent?: Agent | false;
}

/** A raw node:http request, so tests can send any Host, Origin or body they like. */
export function request(base: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = raw.toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, raw, json });
      });
      res.on('error', reject);
    });
    // A server that answers 413 before reading the whole body may reset the upload; the answer still counts.
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export interface LogCapture {
  readonly logger: Logger;
  readonly lines: () => Record<string, unknown>[];
}

export function captureLogs(): LogCapture {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export const T0 = Date.parse('2025-06-01T12:00:00Z');

export function anomalyRecord(over: Partial<AnomalyRecord> & { id: string; sensor: string }): AnomalyRecord {
  const endTs = over.endTs ?? T0 + 60_000;
  return {
    device: over.sensor,
    startTs: T0,
    endTs,
    lastSeenTs: endTs,
    endedTs: over.status === 'resolved' ? endTs : null,
    beganTs: over.startTs ?? T0,
    lastedMs: endTs - (over.startTs ?? T0),
    peakScore: 0.999,
    peakSurprise: 3,
    lastScore: 0.995,
    threshold: 0.99,
    model: 'gru',
    paddedFraction: 0,
    channels: [{ name: 'value', error: 1.5 }],
    windows: 3,
    status: 'open',
    mark: null,
    markNote: null,
    markBy: null,
    markAt: null,
    createdAt: T0,
    updatedAt: T0,
    kind: null,
    sentence: null,
    explanation: null,
    ...over,
  };
}

/** A one-channel series of `ts`, value 20 + i, no expectation, nothing anomalous. */
export function series(stream: string, ts: number[]): SeriesView {
  const n = ts.length;
  const nulls = (): (number | null)[] => ts.map(() => null);
  return {
    stream,
    channels: ['value'],
    from: ts[0] ?? T0,
    to: ts[n - 1] ?? T0,
    source: 'raw',
    resolutionMs: 0,
    ts,
    count: ts.map(() => 1),
    value: [ts.map((_, i) => 20 + i)],
    min: [nulls()],
    max: [nulls()],
    expected: [nulls()],
    spread: [nulls()],
    baseline: [nulls()],
    baselineSpread: [nulls()],
    surprise: ts.map(() => 0.3),
    threshold: ts.map(() => 3),
    anomalous: ts.map(() => false),
    latest: null,
  };
}

/** An in-memory DaemonView that records what the routes asked of it. */
export class FakeView implements DaemonView {
  readonly queries: AnomalyQuery[] = [];
  readonly seriesCalls: { sensor: string; q: SeriesQuery }[] = [];
  clock = T0 + 3_600_000;
  readonly marks: { id: string; mark: AnomalyMark | null; note: string | null }[] = [];
  failWith: Error | null = null;
  statusView: DaemonStatusView = {
    version: '9.9.9',
    startedAt: T0,
    uptimeMs: 3_600_000,
    counters: { received: 50, readings: 48, scored: 48, events: 2 },
    model: 'gru-7',
    mqtt: { url: 'mqtt://127.0.0.1:1883', connected: true },
    sensors: { total: 3, byStatus: { ok: 1, anomalous: 1, learning: 1, stale: 0 }, openEpisodes: 1, openSensors: ['pump1'], ownModel: { collecting: 1, queued: 0, training: 1, stopped: 0 } },
    rejections: { bad_json: 2 },
    outbox: { pending: 1, dropped: 0 },
  };
  sensorViews: SensorView[] = [
    { sensor: 'pump1', status: 'anomalous', model: 'gru-7', pinned: false, lastTs: T0 + 5000, value: 22, surprise: 4.2, unit: 'bar', ownModel: null, openEpisode: 'a-1' },
    { sensor: 'fan 2/α', status: 'ok', model: 'gru-7', pinned: false, lastTs: T0 + 4000, value: 20, surprise: 0.3, unit: null, ownModel: { phase: 'collecting', readings: 1234, needed: 3600 } },
    { sensor: 'new', status: 'learning', model: null, pinned: false, lastTs: null, value: null, surprise: null, unit: null, ownModel: { phase: 'training', readings: 3600, needed: 3600 } },
  ];
  histories = new Map<string, SeriesAnswer>([
    ['pump1', series('pump1', [T0, T0 + 1000, T0 + 2000])],
    ['fan 2/α', series('fan 2/α', [T0 + 500])],
  ]);
  records: AnomalyRecord[] = [anomalyRecord({ id: 'a-1', sensor: 'pump1' }), anomalyRecord({ id: 'b-2', sensor: 'fan 2/α', status: 'resolved' })];

  now(): number {
    return this.clock;
  }
  status(): DaemonStatusView {
    this.maybeFail();
    return this.statusView;
  }
  sensors(): readonly SensorView[] {
    this.maybeFail();
    return this.sensorViews;
  }
  series(sensor: string, q: SeriesQuery): SeriesAnswer | null {
    this.maybeFail();
    this.seriesCalls.push({ sensor, q });
    return this.histories.get(sensor) ?? null;
  }
  anomalies(q: AnomalyQuery): readonly AnomalyRecord[] {
    this.maybeFail();
    this.queries.push(q);
    // As the store answers (src/adapters/sqlite-store.ts): a stream's own, or every stream of a device.
    return this.matching(q).slice(0, q.limit);
  }
  anomalyCount(q: Omit<AnomalyQuery, 'limit'>): number {
    this.maybeFail();
    return this.matching(q).length;
  }
  private matching(q: Omit<AnomalyQuery, 'limit'>): readonly AnomalyRecord[] {
    return this.records.filter((a) => (q.sensor === undefined || a.sensor === q.sensor) && (q.device === undefined || (a.device ?? a.sensor) === q.device) && (q.status === undefined || a.status === q.status));
  }
  anomaly(id: string): AnomalyWithEvents | null {
    this.maybeFail();
    const r = this.records.find((a) => a.id === id);
    return r === undefined ? null : { ...r, events: [], marks: [] };
  }
  anomalyIdsWithPrefix(prefix: string, limit: number): readonly string[] {
    this.maybeFail();
    return this.records
      .map((a) => a.id)
      .filter((id) => id.startsWith(prefix))
      .sort()
      .slice(0, limit);
  }
  markAnomaly(id: string, mark: AnomalyMark | null, note: string | null): boolean {
    this.maybeFail();
    const i = this.records.findIndex((a) => a.id === id);
    if (i < 0) return false;
    this.marks.push({ id, mark, note });
    this.records[i] = { ...this.records[i], mark, markNote: note };
    return true;
  }
  private maybeFail(): void {
    if (this.failWith !== null) throw this.failWith;
  }
}
