/**
 * The behaviour every Store (src/contract/store.ts) must have, port by port, written against the
 * interfaces only. Each implementation runs it (`describeStore`); today that is SqliteStore, with and
 * without group commit (test/adapters/sqlite-store-ports.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/contract/store.js';
import type { AnomalyEvent, AnomalyEventKind } from '../../src/contract/types.js';

/** A fresh, empty store, and how to dispose of it after the test (close() is part of what is tested). */
export type StoreFactory = () => { readonly store: Store; readonly dispose: () => void };

const T0 = Date.UTC(2026, 0, 1, 12);

function event(kind: AnomalyEventKind, anomalyId: string, over: Partial<AnomalyEvent> = {}): AnomalyEvent {
  return {
    kind,
    sensor: 'pump1',
    anomalyId,
    startTs: T0,
    endTs: T0 + 30_000,
    peakScore: 0.99,
    score: 0.98,
    threshold: 0.97,
    modelId: 'gru@1',
    paddedFraction: 0,
    channelErrors: [0.5, 2.5],
    channels: ['current', 'vibration'],
    windows: 3,
    ...over,
  };
}

export function describeStore(name: string, factory: StoreFactory): void {
  describe(`Store ports: ${name}`, () => {
    let disposers: (() => void)[] = [];
    const fresh = (): Store => {
      const { store, dispose } = factory();
      disposers.push(dispose);
      return store;
    };
    afterEach(() => {
      for (const d of disposers) d();
      disposers = [];
    });

    it('AnomalyRecorder + AnomalyHistory: events make one anomaly with its events in order; lists filter, newest first; marks set and clear', () => {
      const s = fresh();
      const a = s.recordEvent(event('open', 'a1'), 'anomalyd/alerts/pump1')!;
      const b = s.recordEvent(event('update', 'a1', { endTs: T0 + 60_000, score: 0.995, peakScore: 0.995 }), 'anomalyd/alerts/pump1')!;
      s.recordEvent(event('resolve', 'a1', { endTs: T0 + 90_000, score: 0.2 }), 'anomalyd/alerts/pump1');
      s.recordEvent(event('open', 'b1', { sensor: 'fan', startTs: T0 + 3600_000, endTs: T0 + 3630_000 }), 'anomalyd/alerts/fan');
      s.flush();
      expect([a.anomalyId, a.seq, b.seq]).toEqual(['a1', 1, 2]);
      expect(b.outboxId).toBeGreaterThan(a.outboxId);

      expect(s.listAnomalies({ limit: 10 }).map((r) => [r.id, r.status])).toEqual([
        ['b1', 'open'],
        ['a1', 'resolved'],
      ]);
      expect(s.listAnomalies({ sensor: 'pump1', limit: 10 }).map((r) => r.id)).toEqual(['a1']);
      expect(s.listAnomalies({ status: 'open', limit: 10 }).map((r) => r.id)).toEqual(['b1']);
      expect(s.listAnomalies({ from: T0 + 80_000, to: T0 + 100_000, limit: 10 }).map((r) => r.id)).toEqual(['a1']);
      expect(s.listAnomalies({ limit: 1 })).toHaveLength(1);

      const a1 = s.getAnomaly('a1')!;
      expect(a1.events.map((e) => [e.seq, e.kind])).toEqual([
        [1, 'open'],
        [2, 'update'],
        [3, 'resolve'],
      ]);
      expect(a1.events[0].payload.anomaly_id).toBe('a1');
      expect(a1).toMatchObject({ sensor: 'pump1', startTs: T0, endTs: T0 + 90_000, peakScore: 0.995, lastScore: 0.2, mark: null });
      expect(a1.channels.map((c) => c.name)).toEqual(['current', 'vibration']);
      expect(s.getAnomaly('nope')).toBeNull();

      expect(s.markAnomaly('a1', 'false_alarm', 'valve test', 'mqtt:alice')).toBe(true);
      s.flush();
      expect(s.getAnomaly('a1')).toMatchObject({ mark: 'false_alarm', markNote: 'valve test', markBy: 'mqtt:alice' });
      expect(s.markAnomaly('a1', null, null, 'http')).toBe(true);
      s.flush();
      expect(s.getAnomaly('a1')?.mark).toBeNull();
      expect(s.getAnomaly('a1')?.marks.map((m) => [m.mark, m.by])).toEqual([
        ['false_alarm', 'mqtt:alice'],
        [null, 'http'],
      ]);
      expect(s.markAnomaly('nope', 'ack', null, 'cli:root')).toBe(false);
    });

    it('AnomalyHistory: ids with a prefix, in id order, at most the limit; the prefix is not a pattern', () => {
      const s = fresh();
      for (const id of ['ab12-x', 'ab12', 'ab13', 'ab12-y', 'b', 'ab1%', 'ab1_']) s.recordEvent(event('open', id, { sensor: id }), `anomalyd/alerts/${id}`);
      s.flush();
      expect(s.anomalyIdsWithPrefix('ab12', 10)).toEqual(['ab12', 'ab12-x', 'ab12-y']);
      expect(s.anomalyIdsWithPrefix('ab12', 2)).toEqual(['ab12', 'ab12-x']);
      expect(s.anomalyIdsWithPrefix('ab1%', 10)).toEqual(['ab1%']);
      expect(s.anomalyIdsWithPrefix('ab1', 10)).toEqual(['ab1%', 'ab12', 'ab12-x', 'ab12-y', 'ab13', 'ab1_']);
      expect(s.anomalyIdsWithPrefix('c', 10)).toEqual([]);
      expect(s.anomalyIdsWithPrefix('AB12', 10)).toEqual([]);
    });

    it('AnomalyRecorder: a transition the stored episode is past is refused, counted and never alerted', () => {
      const s = fresh();
      s.recordEvent(event('open', 'a1'), 'anomalyd/alerts/pump1');
      s.recordEvent(event('resolve', 'a1'), 'anomalyd/alerts/pump1');
      expect(s.recordEvent(event('resolve', 'a1'), 'anomalyd/alerts/pump1')).toBeNull();
      expect(s.recordEvent(event('update', 'a1'), 'anomalyd/alerts/pump1')).toBeNull();
      expect(s.recordEvent(event('open', 'a1'), 'anomalyd/alerts/pump1')).toBeNull();
      expect(s.recordEvent(event('resolve', 'ghost'), 'anomalyd/alerts/pump1')).toBeNull();
      s.flush();
      expect(s.refusedTransitions()).toBe(4);
      expect(s.getAnomaly('a1')!.events.map((e) => e.kind)).toEqual(['open', 'resolve']);
      expect(s.committedOutbox(0, 10)).toHaveLength(2);
    });

    it('Outbox: committed alerts in order, attempts counted, delivered ones gone, listeners told of commits', () => {
      const s = fresh();
      const commits: number[] = [];
      const unsubscribe = s.onCommit((id) => commits.push(id));
      expect(s.lastCommittedOutboxId()).toBe(0);
      const first = s.recordEvent(event('open', 'a1'), 'anomalyd/alerts/pump1')!;
      const second = s.recordEvent(event('resolve', 'a1'), 'anomalyd/alerts/pump1')!;
      s.flush();
      expect(s.lastCommittedOutboxId()).toBe(second.outboxId);
      expect(commits.at(-1)).toBe(second.outboxId);

      const rows = s.committedOutbox(0, 10);
      expect(rows.map((r) => r.id)).toEqual([first.outboxId, second.outboxId]);
      expect(rows.map((r) => [r.topic, r.qos, r.attempts])).toEqual([
        ['anomalyd/alerts/pump1', 1, 0],
        ['anomalyd/alerts/pump1', 1, 0],
      ]);
      expect((JSON.parse(rows[0].payload) as { anomaly_id: string }).anomaly_id).toBe('a1');
      expect(s.committedOutbox(first.outboxId, 10).map((r) => r.id)).toEqual([second.outboxId]);
      expect(s.committedOutbox(0, 1)).toHaveLength(1);

      expect(s.markAttempt(first.outboxId)).toBe(true);
      expect(s.committedOutbox(0, 10)[0].attempts).toBe(1);
      s.markDelivered(first.outboxId);
      s.flush();
      expect(s.committedOutbox(0, 10).map((r) => r.id)).toEqual([second.outboxId]);
      expect(s.markAttempt(987_654)).toBe(false);
      expect(s.droppedCount()).toBe(0);

      unsubscribe();
      s.recordEvent(event('open', 'a2'), 'anomalyd/alerts/pump1');
      s.flush();
      expect(commits.at(-1)).toBe(second.outboxId);
    });

    it('CheckpointStore: saves per sensor, replaces on save, loads every sensor', () => {
      const s = fresh();
      s.saveSensorStates([
        { sensor: 'a', blob: Buffer.from('{"v":1}'), updatedAt: T0 },
        { sensor: 'b', blob: Buffer.from('{"v":2}'), updatedAt: T0 },
      ]);
      s.saveSensorStates([{ sensor: 'a', blob: Buffer.from('{"v":3}'), updatedAt: T0 + 1000 }]);
      s.flush();
      const loaded = s.loadSensorStates();
      expect([...loaded.keys()].sort()).toEqual(['a', 'b']);
      expect(loaded.get('a')?.blob.toString()).toBe('{"v":3}');
      expect(loaded.get('a')?.updatedAt).toBe(T0 + 1000);
      expect(loaded.get('b')?.blob.toString()).toBe('{"v":2}');
    });

    it('RejectionStore: counts add up per (reason, sensor), an unattributed message keeps sensor null', () => {
      const s = fresh();
      s.addRejections([
        { reason: 'bad_json', sensor: 'a', count: 2, lastAt: T0 },
        { reason: 'bad_topic', sensor: null, count: 1, lastAt: T0 },
      ]);
      s.addRejections([{ reason: 'bad_json', sensor: 'a', count: 3, lastAt: T0 + 5 }]);
      s.flush();
      expect(s.rejections()).toEqual([
        { reason: 'bad_json', sensor: 'a', count: 5, lastAt: T0 + 5 },
        { reason: 'bad_topic', sensor: null, count: 1, lastAt: T0 },
      ]);
    });

    it('ModelStore: models once per id, the latest assignment is current, history newest first, the version grows', () => {
      const s = fresh();
      const model = { name: 'pump', sidecarPath: '/m/pump.json', scope: 'pumps', cell: 'gru', rows: 3600, valLoss: 0.1, calibration: { logErrMean: -2 }, source: 'test' };
      s.addModel({ id: 'm1', ...model });
      s.addModel({ id: 'm1', ...model, name: 'again' });
      s.addModel({ id: 'm2', ...model });
      const v0 = s.assignmentVersion();
      s.assignModel('pump1', 'm1', 'trained');
      s.assignModel('pump1', 'm2', 'retrained');
      s.assignModel('pump2', 'm1', 'trained');
      s.flush();
      expect(s.models().map((m) => [m.id, m.name])).toEqual([
        ['m1', 'pump'],
        ['m2', 'pump'],
      ]);
      expect(s.models()[0].calibration).toEqual({ logErrMean: -2 });
      expect(s.assignments().map((a) => [a.sensor, a.modelId])).toEqual([
        ['pump1', 'm2'],
        ['pump2', 'm1'],
      ]);
      expect(s.assignmentHistory('pump1').map((a) => [a.modelId, a.reason])).toEqual([
        ['m2', 'retrained'],
        ['m1', 'trained'],
      ]);
      expect(s.assignmentVersion()).toBeGreaterThan(v0);
      // A pin and where the next wait starts (data time) are kept with the row; a plain assignment is not pinned.
      expect(s.assignmentHistory('pump1')[0]).toMatchObject({ pinned: false, dataTs: null });
      s.assignModel('pump1', null, 'rollback', { pinned: true, dataTs: T0 + 5000 });
      s.flush();
      expect(s.assignmentHistory('pump1')[0]).toMatchObject({ modelId: null, reason: 'rollback', pinned: true, dataTs: T0 + 5000 });
      expect(s.assignments().find((a) => a.sensor === 'pump1')).toMatchObject({ pinned: true, dataTs: T0 + 5000 });
    });

    it('ReadingStore: appends row-major readings and reads a time range back in order; refuses shapes that do not fit', () => {
      const s = fresh();
      s.appendReadings('pump1', Float64Array.from([T0 + 2000, T0]), Float32Array.from([3, 30, 1, 10]), 2);
      s.appendReadings('pump1', Float64Array.from([T0 + 1000]), Float32Array.from([2, 20]), 2);
      s.flush();
      const all = s.readReadings('pump1');
      expect(all.channels).toBe(2);
      expect(Array.from(all.ts)).toEqual([T0, T0 + 1000, T0 + 2000]);
      expect(Array.from(all.values)).toEqual([1, 10, 2, 20, 3, 30]);
      expect(Array.from(s.readReadings('pump1', T0 + 500, T0 + 1500).ts)).toEqual([T0 + 1000]);
      expect(s.readReadings('pump1', undefined, undefined, 2).ts).toHaveLength(2);
      expect(s.readReadings('other').ts).toHaveLength(0);
      expect(s.countReadings('pump1')).toBe(3);
      expect(s.countReadings('pump1', T0 + 1)).toBe(2);
      expect(s.countReadings('pump1', undefined, 2)).toBe(2);
      expect(s.countReadings('other')).toBe(0);
      expect(() => s.appendReadings('pump1', Float64Array.from([T0]), Float32Array.from([1, 2, 3]), 2)).toThrow();
    });

    it('StoreLifecycle: stats count what is stored, the integrity check passes, close is idempotent and ends use', () => {
      const s = fresh();
      s.recordEvent(event('open', 'a1'), 'anomalyd/alerts/pump1');
      s.flush();
      expect(s.stats()).toMatchObject({ anomalies: 1, openAnomalies: 1, outboxPending: 1, batchOpen: false });
      expect(s.integrityCheck()).toBe('ok');
      s.close();
      s.close();
      expect(() => s.listAnomalies({ limit: 1 })).toThrow();
    });
  });
}
