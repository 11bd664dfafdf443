import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics, type AlertPayload } from '../../src/contract/alerts.js';
import type { AnomalyEvent, AnomalyEventKind } from '../../src/contract/types.js';
import { OutboxPublisher, type OutboxPublisherOptions, type PublishFn } from '../../src/adapters/outbox-publisher.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/adapters/sqlite-store.js';
import { PubackOverdueError } from '../../src/adapters/mqtt.js';

const T = topics();

interface LogLine {
  level: number;
  msg: string;
  outboxId?: number;
}

interface Sent {
  topic: string;
  payload: AlertPayload;
  ok: boolean;
}

function event(kind: AnomalyEventKind, anomalyId: string, sensor = 'pump1'): AnomalyEvent {
  return {
    kind,
    sensor,
    anomalyId,
    startTs: Date.UTC(2026, 0, 1),
    endTs: Date.UTC(2026, 0, 1, 0, 1),
    peakScore: 0.99,
    score: 0.99,
    threshold: 0.97,
    modelId: 'm1',
    paddedFraction: 0,
    channelErrors: [1],
    channels: ['value'],
    windows: 1,
  };
}

/** A broker stand-in: records every publish attempt; `behave` decides each one's fate. */
function fakeBroker(behave: (n: number, payload: AlertPayload) => 'ok' | 'fail' | Promise<void> = () => 'ok') {
  const attempts: Sent[] = [];
  const publish: PublishFn = (topic, buf) => {
    const payload = JSON.parse(buf.toString('utf8')) as AlertPayload;
    const fate = behave(attempts.length, payload);
    const sent = { topic, payload, ok: fate === 'ok' };
    attempts.push(sent);
    if (fate === 'ok') return Promise.resolve();
    if (fate === 'fail') return Promise.reject(new Error('connection lost'));
    return fate.then(() => {
      sent.ok = true;
    });
  };
  const delivered = (): Array<[string, number, boolean]> =>
    attempts.filter((a) => a.ok).map((a) => [a.payload.anomaly_id, a.payload.seq, a.payload.resent]);
  return { attempts, publish, delivered };
}

let dir: string;
let lines: LogLine[];
let logger: Logger;
const stores: SqliteStore[] = [];
const publishers: OutboxPublisher[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-outbox-'));
  lines = [];
  logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
});

afterEach(async () => {
  for (const p of publishers.splice(0)) await p.stop();
  for (const s of stores.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function openStore(name = 'a.db', over: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const store = SqliteStore.open(join(dir, name), { commitIntervalMs: 0, outboxMax: 1000, logger, ...over });
  stores.push(store);
  return store;
}

function publisher(store: SqliteStore, publish: PublishFn, over: Partial<OutboxPublisherOptions> = {}): OutboxPublisher {
  const p = new OutboxPublisher(store, publish, { logger, retryMinMs: 1, retryMaxMs: 4, ...over });
  publishers.push(p);
  return p;
}

/** Records open/update/resolve for each id, interleaved across anomalies, and returns (id, seq) in outbox order. */
function recordEpisodes(store: SqliteStore, ids: readonly string[]): Array<[string, number]> {
  const order: Array<[string, number]> = [];
  for (const kind of ['open', 'update', 'resolve'] as const) {
    for (const id of ids) {
      const r = store.recordEvent(event(kind, id, `s-${id}`), T.alerts(`s-${id}`))!;
      order.push([r.anomalyId, r.seq]);
    }
  }
  return order;
}

describe('OutboxPublisher', () => {
  it('delivers committed rows once each, in outbox order, and marks them delivered', async () => {
    const store = openStore();
    const broker = fakeBroker();
    const before = recordEpisodes(store, ['a', 'b', 'c']);
    const pub = publisher(store, broker.publish);
    pub.start();
    await pub.drained();
    // Rows committed while it runs wake it up.
    const after = recordEpisodes(store, ['d']);
    await pub.drained();

    expect(broker.delivered()).toEqual([...before, ...after].map(([id, seq]) => [id, seq, false]));
    expect(broker.attempts.every((a) => a.topic === `anomalyd/alerts/s-${a.payload.anomaly_id}`)).toBe(true);
    expect(store.committedOutbox(0, 100)).toEqual([]);
    expect(store.stats()).toMatchObject({ outboxPending: 0, outboxDelivered: 12 });
  });

  it('starts publishes in order with several in flight, without duplicates', async () => {
    const store = openStore();
    const broker = fakeBroker();
    const order = recordEpisodes(store, ['a', 'b', 'c', 'd', 'e']);
    const pub = publisher(store, broker.publish, { inFlight: 4 });
    pub.start();
    await pub.drained();
    expect(broker.attempts.map((a) => [a.payload.anomaly_id, a.payload.seq])).toEqual(order);
    expect(broker.delivered().every(([, , resent]) => !resent)).toBe(true);
  });

  it('retries a failed row before any later row and flags the retries as resent', async () => {
    const store = openStore();
    const broker = fakeBroker((n) => (n < 2 ? 'fail' : 'ok'));
    const order = recordEpisodes(store, ['a']);
    const pub = publisher(store, broker.publish);
    pub.start();
    await pub.drained();

    expect(broker.attempts.map((a) => [a.payload.anomaly_id, a.payload.seq, a.payload.resent, a.ok])).toEqual([
      ['a', 1, false, false],
      ['a', 1, true, false],
      ['a', 1, true, true],
      ['a', 2, false, true],
      ['a', 3, false, true],
    ]);
    expect(broker.delivered().map(([id, seq]) => [id, seq])).toEqual(order);
    // One warning per outage, not one per retry.
    expect(lines.filter((l) => l.level === 40 && l.msg.includes('publish failed'))).toHaveLength(1);
    expect(lines.some((l) => l.msg === 'outbox: delivering again')).toBe(true);
  });

  it('a publish whose PUBACK was overdue: warns once with its outbox id, counts it, says it is overdue until it is delivered, resent', async () => {
    const store = openStore();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let seen: ReturnType<OutboxPublisher['overdue']> | null = null;
    const broker = fakeBroker((n) => {
      if (n === 0) return Promise.reject(new PubackOverdueError(30_000));
      // The retry waits until the test has read the status.
      if (n === 1) return held;
      return 'ok';
    });
    const order = recordEpisodes(store, ['a']);
    const pub = publisher(store, broker.publish, { now: () => 1234 });
    pub.start();
    await waitUntil(() => broker.attempts.length === 2);
    seen = pub.overdue();
    release();
    await pub.drained();
    expect(seen).toMatchObject({ count: 1, current: { since: 1234 } });
    expect(pub.overdue()).toEqual({ count: 1, current: null });
    expect(broker.attempts.map((a) => [a.payload.seq, a.payload.resent ?? false])).toEqual([
      [1, false],
      [1, true],
      [2, false],
      [3, false],
    ]);
    expect(broker.delivered().map(([id, seq]) => [id, seq])).toEqual(order);
    const warned = lines.filter((l) => l.level === 40);
    expect(warned.map((l) => [l.msg, l.outboxId])).toEqual([
      ['outbox: alert not acknowledged by the broker in time; the connection is renewed and the alert sent again, flagged resent', seen.current!.outboxId],
    ]);
  });

  it('publishes nothing that is not committed yet, then delivers on commit', async () => {
    const store = openStore('a.db', { commitIntervalMs: 3_600_000 });
    const broker = fakeBroker();
    const pub = publisher(store, broker.publish);
    pub.start();
    store.recordEvent(event('open', 'a'), T.alerts('pump1'));
    for (let i = 0; i < 5; i++) await nextTurn();
    await pub.drained();
    expect(broker.attempts).toEqual([]);

    store.flush();
    await pub.drained();
    expect(broker.delivered()).toEqual([['a', 1, false]]);
  });

  it('after a restart delivers what was left, flagging rows that had been attempted', async () => {
    const first = openStore();
    recordEpisodes(first, ['a']);
    const hang = new Promise<void>(() => {}); // the broker never acknowledges
    const broker1 = fakeBroker(() => hang);
    const pub1 = publisher(first, broker1.publish, { stopTimeoutMs: 20 });
    pub1.start();
    while (broker1.attempts.length === 0) await nextTurn();
    await pub1.stop();
    expect(lines.some((l) => l.level === 40 && l.msg.includes('still unacknowledged at stop'))).toBe(true);
    first.close();

    const second = openStore();
    const broker2 = fakeBroker();
    const pub2 = publisher(second, broker2.publish);
    pub2.start();
    await pub2.drained();
    expect(broker2.delivered()).toEqual([
      ['a', 1, true],
      ['a', 2, false],
      ['a', 3, false],
    ]);
  });

  it('resends, flagged, a delivery whose mark was lost in a crash', async () => {
    const store = openStore('a.db', { commitIntervalMs: 3_600_000 });
    store.recordEvent(event('open', 'a'), T.alerts('pump1'));
    store.flush();
    const broker = fakeBroker();
    const pub = publisher(store, broker.publish);
    pub.start();
    await pub.drained();
    expect(broker.delivered()).toEqual([['a', 1, false]]);

    // Copying the files of a live database gives what a crash would leave: the open batch
    // (holding the delivered mark) is not in it, the attempt mark (committed at once) is.
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(join(dir, `a.db${suffix}`))) copyFileSync(join(dir, `a.db${suffix}`), join(dir, `crash.db${suffix}`));
    }
    const raw = new Database(join(dir, 'crash.db'), { readonly: true });
    expect(raw.prepare('SELECT attempts, delivered_at FROM outbox').get()).toEqual({ attempts: 1, delivered_at: null });
    raw.close();

    const recovered = openStore('crash.db');
    const broker2 = fakeBroker();
    const pub2 = publisher(recovered, broker2.publish);
    pub2.start();
    await pub2.drained();
    expect(broker2.delivered()).toEqual([['a', 1, true]]);
  });

  it('waits for an in-flight publish on stop and records its delivery', async () => {
    const store = openStore();
    let ack: () => void = () => {};
    const broker = fakeBroker(() => new Promise<void>((resolve) => (ack = resolve)));
    store.recordEvent(event('open', 'a'), T.alerts('pump1'));
    const pub = publisher(store, broker.publish, { stopTimeoutMs: 60_000 });
    pub.start();
    while (broker.attempts.length === 0) await nextTurn();

    let stopped = false;
    const stopping = pub.stop().then(() => (stopped = true));
    for (let i = 0; i < 5; i++) await nextTurn();
    expect(stopped).toBe(false);
    ack();
    await stopping;
    expect(store.committedOutbox(0, 10)).toEqual([]);
    await expect(pub.drained()).rejects.toThrow('not running');
  });

  it('delivers only the newest rows when the outbox bound dropped the oldest', async () => {
    const store = openStore('a.db', { outboxMax: 3 });
    recordEpisodes(store, ['a', 'b']); // a1 b1 a2 b2 a3 b3
    expect(store.droppedCount()).toBe(3);
    const broker = fakeBroker();
    const pub = publisher(store, broker.publish);
    pub.start();
    await pub.drained();
    expect(broker.delivered()).toEqual([
      ['b', 2, false],
      ['a', 3, false],
      ['b', 3, false],
    ]);
  });

  it('rejects nonsensical options', () => {
    const store = openStore();
    const { publish } = fakeBroker();
    expect(() => new OutboxPublisher(store, publish, { logger, retryMinMs: 10, retryMaxMs: 5 })).toThrow('retryMinMs');
    expect(() => new OutboxPublisher(store, publish, { logger, retryMinMs: 1, retryMaxMs: 5, inFlight: 0 })).toThrow('inFlight');
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await nextTurn();
  if (!cond()) throw new Error('condition not reached');
}
