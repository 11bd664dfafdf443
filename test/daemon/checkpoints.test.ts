/**
 * Checkpoints and idle eviction on the detector core (issue 12 on top of issue 9), with the real detector
 * (model-free: parser, cadence, step engine, scorer) and the real SQLite store: a restored stream's open
 * episode reconciled with what the store committed, and an idle stream evicted after its own intervals
 * (as its cadence learnt them), its episode resolved once, its state checkpointed and revived.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import type { RawMessage } from '../../src/contract/types.js';
import { Checkpoints, detectorCheckpointSubject, loadStoredState } from '../../src/daemon/checkpoints.js';
import { idleEvictionFor } from '../../src/daemon/eviction.js';
import { Detector } from '../../src/pipeline/detector.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { SeriesStore } from '../../src/pipeline/series.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { detectorOptions, normal, type ReadingOutput } from '../pipeline/detector-helpers.js';
import type { DecodeBatchInput, DecodeBatchOutput, StepBatchInput, StepBatchOutput, StepModel } from '../../src/contract/ports.js';
import type { ModelSidecar } from '../../src/model/spec.js';

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let k = 0; k < 1000 && !cond(); k++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

const T0 = Date.UTC(2026, 0, 1);
const silent = pino({ level: 'silent' });

function newDetector(): Detector {
  let ids = 0;
  const prefix = Math.random().toString(36).slice(2, 6);
  return new Detector(detectorOptions(), {
    parser: new MessageParser({ sensorOf: (t) => t, maxPayloadBytes: 65536, maxFutureMs: 1e15, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10_000, longBurst: 'split', window: 32 }),
    modelFor: () => null,
    priorsFor: () => null,
    newId: () => `${prefix}-${++ids}`,
  });
}

/** Noise around 0 for 400 readings, then a lasting shift of 8 sd (an episode that stays open). */
function value(i: number, rnd: () => number): number {
  return rnd() + (i >= 400 ? 8 : 0);
}

/** Feeds readings i in [from, to) of `stream` (one per `intervalMs`) and returns the reading outputs. */
async function feed(d: Detector, stream: string, from: number, to: number, intervalMs = 1000, rnd = normal(7), t0 = T0): Promise<ReadingOutput[]> {
  const out: ReadingOutput[] = [];
  const input = new Subject<RawMessage>();
  const done = new Promise<void>((resolve, reject) =>
    input.pipe(d.operator()).subscribe({ next: (o) => void (o.type === 'reading' && out.push(o)), error: reject, complete: resolve }),
  );
  for (let i = from; i < to; i++) {
    const ts = t0 + i * intervalMs;
    input.next({ topic: stream, payload: Buffer.from(`{"ts":${ts},"value":${value(i, rnd).toFixed(5)}}`), receivedAt: ts });
  }
  input.complete();
  await done;
  return out;
}

/** A detector that has `s` in an open episode at reading 450, and that episode committed to the store. */
async function withOpenEpisode(store: SqliteStore): Promise<{ d: Detector; id: string; rnd: () => number }> {
  const d = newDetector();
  const rnd = normal(3);
  const out = await feed(d, 's', 0, 450, 1000, rnd);
  for (const o of out) for (const ev of o.events) store.recordEvent(ev, 'anomalyd/alerts/s');
  store.flush();
  const id = d.openAnomaly('s');
  expect(id).not.toBeNull();
  expect(store.getAnomaly(id!)?.status).toBe('open');
  return { d, id: id!, rnd };
}

describe('Checkpoints on the detector core: the committed truth wins', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const openStore = (): SqliteStore => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-cp-'));
    dirs.push(dir);
    return SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 1000, logger: silent });
  };

  it.each([
    ['resolved', 'resolved', 'is already resolved in the store'],
    ['never committed', null, 'was never committed'],
  ] as const)('a restored stream whose open episode the store %s goes on without it (never a second resolve)', async (_, status, why) => {
    const store = openStore();
    const { d, id, rnd } = await withOpenEpisode(store);
    const state = JSON.parse(JSON.stringify(d.snapshot('s'))) as unknown;
    const restored = newDetector();
    const notes = detectorCheckpointSubject(restored, () => status).restore(new Map([['s', state]]));
    expect(notes).toEqual([`episode s: ${id} ${why}; the stream continues without it`]);
    expect(restored.openAnomaly('s')).toBeNull();
    // The shift goes on: no event of the old episode, a new one opens.
    const after = await feed(restored, 's', 450, 600, 1000, rnd);
    const events = after.flatMap((o) => o.events);
    expect(events.filter((e) => e.anomalyId === id)).toEqual([]);
    expect(events[0]).toMatchObject({ kind: 'open' });
    expect(events[0].anomalyId).not.toBe(id);
    store.close();
  });

  it('does not restore a checkpoint written by a clock ahead of this one (a demo\'s data directory, a clock set back): the stream re-warms and takes readings at once', async () => {
    const store = openStore();
    const d = newDetector();
    const rnd = normal(3);
    // A stream fed on a clock two hours ahead, checkpointed then.
    const ahead = T0 + 2 * 3_600_000;
    await feed(d, 'fast', 0, 100, 1000, rnd, ahead);
    await feed(d, 'near', 0, 100, 1000, rnd, T0 - 100_000);
    const now = T0;
    store.saveSensorStates([
      { sensor: 'fast', blob: Buffer.from(JSON.stringify(d.snapshot('fast'))), updatedAt: ahead + 100_000 },
      // Within ingest.maxFutureMs ahead: an ordinary difference between clocks, restored.
      { sensor: 'near', blob: Buffer.from(JSON.stringify(d.snapshot('near'))), updatedAt: now + 30_000 },
    ]);
    const restored = newDetector();
    const logged: unknown[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const cp = new Checkpoints(store, detectorCheckpointSubject(restored, () => null), { intervalMs: 1000, maxAgeMs: 86_400_000, maxFutureMs: 60_000, now: () => now, logger });
    expect(cp.restore()).toEqual(['near']);
    expect(logged).toContainEqual(expect.objectContaining({ ahead: 1, restored: 1 }));
    // Readings on this clock are taken (restored, 'fast' would reject them all as out of order).
    const out = await feed(restored, 'fast', 0, 5, 1000, rnd, now);
    expect(out).toHaveLength(5);
    store.close();
  });

  it('a stream whose readings are inside a model call is not checkpointed until they are scored (its parser and cadence are ahead of its model and score state); the next saveStreams writes it', async () => {
    const store = openStore();
    // A model whose calls wait for the test.
    let gate: (() => void) | null = null;
    const H = 2;
    const model: StepModel = {
      id: 'gated',
      sidecar: { format: 'anomalyd-model', formatVersion: 2, name: 'gated', cell: 'gru', hidden: H, channels: ['value'], window: 32, hop: 8, normalisation: { mean: [0], std: [1] }, calibration: {} } as unknown as ModelSidecar,
      step: async (i: StepBatchInput): Promise<StepBatchOutput> => {
        if (gate === null) await new Promise<void>((r) => (gate = r));
        return { pred: new Float32Array(i.T * i.B), h: new Float32Array(i.B * H) };
      },
      decode: (i: DecodeBatchInput): Promise<DecodeBatchOutput> => Promise.resolve({ recon: new Float32Array(i.W * i.B) }),
    };
    const d = new Detector(detectorOptions(), {
      parser: new MessageParser({ sensorOf: (t) => t, maxPayloadBytes: 65536, maxFutureMs: 1e15, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10_000, longBurst: 'split', window: 32 }),
      modelFor: () => ({ model, own: false }),
      priorsFor: () => null,
      newId: () => 'x',
    });
    const input = new Subject<RawMessage>();
    let scored = 0;
    input.pipe(d.operator()).subscribe({ next: (o) => void (o.type === 'reading' && scored++) });
    const send = (i: number): void => input.next({ topic: 's', payload: Buffer.from(`{"ts":${T0 + i * 1000},"value":${Math.sin(i)}}`), receivedAt: T0 + i * 1000 });
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    const cp = new Checkpoints(store, detectorCheckpointSubject(d), { intervalMs: 1000, maxAgeMs: 86_400_000, now: () => T0, logger: silent });
    // Two messages: a stream heard once is never checkpointed (src/pipeline/admit.ts), busy or not.
    send(0);
    send(1);
    await turn();
    expect(d.busy('s')).toBe(true);
    cp.save();
    expect(store.loadSensorState('s')).toBeNull();
    gate!();
    await waitUntil(() => scored === 2);
    expect(d.busy('s')).toBe(false);
    cp.saveStreams([]);
    const saved = loadStoredState(store, 's') as { cadence: { lastTs: number }; scorer: { seen: number } };
    // One point of the stream: the cadence's last reading is the one the scorer saw last.
    expect(saved.cadence.lastTs).toBe(T0 + 1000);
    expect(saved.scorer.seen).toBe(2);
    input.complete();
    store.close();
  });

  it('a restored stream whose episode the store has open keeps it: the same episode goes on', async () => {
    const store = openStore();
    const { d, id, rnd } = await withOpenEpisode(store);
    const state = JSON.parse(JSON.stringify(d.snapshot('s'))) as unknown;
    const restored = newDetector();
    expect(detectorCheckpointSubject(restored, (x) => store.getAnomaly(x)?.status ?? null).restore(new Map([['s', state]]))).toEqual([]);
    expect(restored.openAnomaly('s')).toBe(id);
    const after = await feed(restored, 's', 450, 500, 1000, rnd);
    expect(after.every((o) => o.reading.anomalyId === id)).toBe(true);
    expect(after.flatMap((o) => o.events).filter((e) => e.kind === 'open')).toEqual([]);
    store.close();
  });

  it('an episode past its young readings, restored from a checkpoint a periodic interval old (60 readings lost at 1 Hz), goes on: the same episode, no resolve', async () => {
    // Why the daemon checkpoints an open episode at its ticks only while it is young (EpisodeTicks): after
    // shortSpan(smooth) + closeAfter readings (31 + 16 here) its short means hold only its own readings.
    const store = openStore();
    const d = newDetector();
    const rnd = normal(3);
    const before = await feed(d, 's', 0, 400 + 47 + 3, 1000, rnd);
    for (const o of before) for (const ev of o.events) store.recordEvent(ev, 'anomalyd/alerts/s');
    store.flush();
    const id = d.openAnomaly('s');
    expect(id).not.toBeNull();
    const state = JSON.parse(JSON.stringify(d.snapshot('s'))) as unknown;
    // The readings after the checkpoint, lost to a kill -9 (the sensor sent them; the restarted daemon never sees them).
    await feed(d, 's', 450, 510, 1000, rnd);
    const restored = newDetector();
    expect(detectorCheckpointSubject(restored, (x) => store.getAnomaly(x)?.status ?? null).restore(new Map([['s', state]]))).toEqual([]);
    const after = await feed(restored, 's', 510, 700, 1000, rnd);
    expect(after.every((o) => o.reading.anomalyId === id)).toBe(true);
    expect(after.flatMap((o) => o.events).filter((e) => e.kind === 'open' || e.kind === 'resolve')).toEqual([]);
    store.close();
  });

  it('evicts an idle stream after idleAfterIntervals of its own interval, never while its episode is open (nothing resolved); state checkpointed, revived by its next reading', async () => {
    const store = openStore();
    const { d, id } = await withOpenEpisode(store);
    // q: 300 readings of noise (nothing open).
    await feed(d, 'q', 0, 300, 1000, normal(5));
    await feed(d, 'slow', 0, 50, 60_000);
    expect(d.intervalOf('s')).toBe(1000);
    expect(d.intervalOf('slow')).toBe(60_000);
    let now = T0 + 450_000;
    const forgotten: string[] = [];
    const checkpoints = new Checkpoints(store, detectorCheckpointSubject(d, (x) => store.getAnomaly(x)?.status ?? null), { intervalMs: 1000, maxAgeMs: 86_400_000, now: () => now, logger: silent });
    const eviction = idleEvictionFor(
      {
        detector: d,
        board: { forget: (s) => forgotten.push(`board ${s}`) },
        others: () => [{ forget: (s) => forgotten.push(`series ${s}`) }],
        learner: null,
        discovery: () => ({ streamForgotten: (s) => forgotten.push(`discovery ${s}`) }),
        checkpoints,
        store,
        alertTopic: (s) => `anomalyd/alerts/${s}`,
        log: silent,
      },
      { idleAfterIntervals: 100, idleAfterMinMs: 10_000, logIntervalMs: 60_000, now: () => now },
    );
    // The live streams (as the daemon tracks those restored at start: a stream first seen would have what the store
    // holds open of it resolved as left by an earlier version, EvictionDeps.leftOpen).
    eviction.track(['s', 'q', 'slow']);
    now += 100 * 1000 - 1;
    expect(eviction.sweep()).toBe(0);
    now += 1;
    // 100 readings of s and q (1 s each) went by; slow (1 min) has 100 minutes. s has its episode open: kept, unresolved.
    expect(eviction.sweep()).toBe(1);
    expect(eviction.keptOpen).toBe(1);
    expect(d.streams().sort()).toEqual(['s', 'slow']);
    expect(d.openAnomaly('s')).toBe(id);
    expect(forgotten).toEqual(['board q', 'series q', 'discovery q']);
    store.flush();
    expect(store.getAnomaly(id)!.status).toBe('open');
    expect(store.getAnomaly(id)!.events.filter((e) => e.kind === 'resolve')).toHaveLength(0);
    // The evicted checkpoint, and a restart leaves it out.
    const row = loadStoredState(store, 'q') as { evicted: number; state: { scorer: { episode: unknown; seen: number } } };
    expect(row.evicted).toBe(now);
    expect(row.state.scorer.episode).toBeNull();
    // Its next valid reading revives it from there: it knows its interval and is past learning.
    eviction.seen('q');
    expect(eviction.revived).toBe(1);
    expect(d.intervalOf('q')).toBe(1000);
    expect(d.learning('q')).toBe(false);
    now += 100 * 60_000 - 100_000;
    eviction.seen('q');
    expect(eviction.sweep()).toBe(1); // slow, after 100 of its minutes; q is live, s still open
    expect(d.streams().sort()).toEqual(['q', 's']);
    store.close();
  });
});

describe('Checkpoints carry each stream’s newest scored reading for the sensor list', () => {
  /** A detector fed 200 readings of `s` (past its learning period), its series recording what it scored. */
  async function fed(): Promise<{ d: Detector; series: SeriesStore; last: ReadingOutput }> {
    const d = newDetector();
    const series = new SeriesStore();
    const out = await feed(d, 's', 0, 200);
    for (const o of out) series.record(o.reading);
    return { d, series, last: out[out.length - 1] };
  }
  const roundTrip = (state: unknown): unknown => JSON.parse(JSON.stringify(state)) as unknown;

  it('restores the newest reading exactly (a number that is not finite stays so), and the detector as before', async () => {
    const { d, series, last } = await fed();
    expect(last.reading.expected).toBeNull(); // model-free: no expectation
    const state = roundTrip(detectorCheckpointSubject(d, () => 'open', series).snapshot('s'));
    expect(state).toMatchObject({ format: 'anomalyd-detector/1', latest: { ts: last.reading.ts, values: last.reading.values, expected: null } });
    const restored = newDetector();
    const shown = new SeriesStore();
    expect(detectorCheckpointSubject(restored, () => 'open', shown).restore(new Map([['s', state]]))).toEqual([]);
    expect(shown.latest('s')).toEqual(last.reading);
    // The detector restores as from the checkpoint without it (the field plays no part in detection).
    const plain = newDetector();
    detectorCheckpointSubject(plain).restore(new Map([['s', roundTrip(d.snapshot('s'))]]));
    expect(restored.snapshot('s')).toEqual(plain.snapshot('s'));
    // The same reading again (a message delivered twice) is not recorded, as without the restart; the next one is.
    const next = await feed(restored, 's', 200, 201);
    expect(shown.record({ ...last.reading })).toBe(false);
    expect(shown.notRecorded().duplicate).toBe(1);
    expect(shown.record(next[0].reading)).toBe(true);
    expect(shown.latest('s')).toEqual(next[0].reading);
  });

  it('an older checkpoint (no latest) restores the detector and no reading; a malformed latest is skipped and said', async () => {
    const { d } = await fed();
    const old = roundTrip(d.snapshot('s'));
    const shown = new SeriesStore();
    const restored = newDetector();
    expect(detectorCheckpointSubject(restored, () => 'open', shown).restore(new Map([['s', old]]))).toEqual([]);
    expect(restored.learning('s')).toBe(false);
    expect(shown.latest('s')).toBeNull();
    const bad = { ...(old as object), latest: { ts: 'yesterday', channels: ['value'], values: [1] } };
    expect(detectorCheckpointSubject(newDetector(), () => 'open', shown).restore(new Map([['s', bad]]))).toEqual(['latest reading s: ts must be a finite number']);
    expect(shown.latest('s')).toBeNull();
  });
});

describe('Checkpoints carry an open episode’s explanation state (SignalBook)', () => {
  const roundTrip = (state: unknown): unknown => JSON.parse(JSON.stringify(state)) as unknown;

  /** `s` shifted by 8 sd from reading 400, fed to 450 through a detector and a SignalBook as the daemon feeds them. */
  async function fedBook(): Promise<{ d: Detector; book: SignalBook; id: string }> {
    const d = newDetector();
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    for (const o of await feed(d, 's', 0, 450)) {
      book.record(o.reading);
      for (const ev of o.events) book.explain(ev);
    }
    const id = d.openAnomaly('s');
    expect(id).not.toBeNull();
    return { d, book, id: id! };
  }

  it('with the stream’s open episode: its state, readings included, and back into a restarted book', async () => {
    const { d, book, id } = await fedBook();
    const subject = detectorCheckpointSubject(d, () => 'open', book);
    const state = roundTrip(subject.snapshot('s')) as { episode: { anomalyId: string; recent: { ts: number[] } } };
    const side = roundTrip(subject.side!('s')!.state);
    expect(state.episode.anomalyId).toBe(id);
    // Times as steps from the first: the episode's readings from its first, one a second.
    const recentTs = state.episode.recent.ts.map((_, i, a) => a.slice(0, i + 1).reduce((x, y) => x + y, 0));
    expect(recentTs.at(-1)).toBe(T0 + 449 * 1000);
    expect(state.episode.recent.ts.slice(1).every((d) => d === 1000)).toBe(true);
    const restarted = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    expect(detectorCheckpointSubject(newDetector(), () => 'open', restarted).restore(new Map([['s', state]]), new Map([['s', side]]))).toEqual([]);
    expect(roundTrip(restarted.episodeState(id))).toEqual({ ...state.episode, resumedAfter: [T0 + 449 * 1000] });
    expect(roundTrip(restarted.episodeBase(id)!.state)).toEqual(side);
    // The readings of the episode are back in the stream's ring (the dashboard's 1 h view shows them too).
    expect(restarted.series.points('s').map((p) => p.ts)).toEqual(recentTs);
    // As they were (the surprise, which only the dashboard shows, to 3 significant digits).
    const was = book.series.points('s', recentTs[0]);
    const now = restarted.series.points('s');
    expect(now.map((p) => ({ ...p, surprise: 0 }))).toEqual(was.map((p) => ({ ...p, surprise: 0 })));
    now.forEach((p, i) => expect(Math.abs(p.surprise - was[i].surprise)).toBeLessThanOrEqual(0.005 * Math.abs(was[i].surprise)));
  });

  it('an episode whose stream sent readings sharing one time (a hub flushing its buffer under one time stamp): every one scored is in the ring, the checkpoint in the SQLite file and the restarted ring, in arrival order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-cp-'));
    const store = SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    try {
      const d = newDetector();
      const book = new SignalBook({ units: [], timeZone: 'UTC', persist: store, logger: silent });
      const take = (out: ReadingOutput[]): void => {
        for (const o of out) {
          book.record(o.reading);
          for (const ev of o.events) book.explain(ev);
        }
      };
      const rnd = normal(3);
      take(await feed(d, 's', 0, 450, 1000, rnd));
      const id = d.openAnomaly('s');
      expect(id).not.toBeNull();
      // Six readings stamped with one time, arrived together, then the stream goes on.
      const at = T0 + 450 * 1000;
      const flushed = [8.1, 8.4, 7.9, 8.2, 8.0, 8.3];
      const input = new Subject<RawMessage>();
      const out: ReadingOutput[] = [];
      const done = new Promise<void>((resolve, reject) => input.pipe(d.operator()).subscribe({ next: (o) => void (o.type === 'reading' && out.push(o)), error: reject, complete: resolve }));
      for (const v of flushed) input.next({ topic: 's', payload: Buffer.from(`{"ts":${at},"value":${v}}`), receivedAt: at });
      input.complete();
      await done;
      expect(out.map((o) => o.reading.values[0])).toEqual(flushed);
      take(out);
      take(await feed(d, 's', 451, 455, 1000, rnd));
      const shared = (b: SignalBook): number[] => b.series.points('s', at, at).map((p) => p.values[0]);
      expect(shared(book)).toEqual(flushed.map(Math.fround));
      expect(book.series.notRecorded()).toEqual({ duplicate: 0, out_of_order: 0, malformed: 0, evicted: 0 });
      const cps = new Checkpoints(store, detectorCheckpointSubject(d, () => 'open', book), { intervalMs: 60_000, maxAgeMs: 1e12, now: () => T0 + 455 * 1000, logger: silent });
      cps.saveStreams(['s']);
      const book2 = new SignalBook({ units: [], timeZone: 'UTC', persist: store, logger: silent });
      const d2 = newDetector();
      const cps2 = new Checkpoints(store, detectorCheckpointSubject(d2, () => 'open', book2), { intervalMs: 60_000, maxAgeMs: 1e12, now: () => T0 + 455 * 1000, logger: silent });
      expect(cps2.restore()).toEqual(['s']);
      expect(d2.openAnomaly('s')).toBe(id);
      expect(book2.episodeState(id!)).not.toBeNull();
      expect(shared(book2)).toEqual(flushed.map(Math.fround));
      expect(book2.series.points('s', at)).toEqual(book.series.points('s', at).map((p) => ({ ...p, surprise: expect.any(Number) as number })));
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an older checkpoint (no episode) restores as before; a malformed episode, or one the detector dropped, is skipped', async () => {
    const { d, book, id } = await fedBook();
    const subject = detectorCheckpointSubject(d, () => 'open', book);
    const full = roundTrip(subject.snapshot('s')) as Record<string, unknown>;
    const sides = new Map([['s', roundTrip(subject.side!('s')!.state)]]);
    const { episode, ...old } = full;
    const a = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    const da = newDetector();
    expect(detectorCheckpointSubject(da, () => 'open', a).restore(new Map([['s', old]]))).toEqual([]);
    expect(da.openAnomaly('s')).toBe(id);
    expect(a.latest('s')).not.toBeNull();
    expect(a.episodeState(id)).toBeNull();
    const b = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    const bad = { ...full, episode: { ...(episode as object), v: 7 } };
    expect(detectorCheckpointSubject(newDetector(), () => 'open', b).restore(new Map([['s', bad]]), sides)).toEqual(['episode explanation s: version 7 unknown']);
    expect(b.episodeState(id)).toBeNull();
    // Its base (written apart) missing, or another's: skipped and said; the episode goes on from its record.
    const e = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    expect(detectorCheckpointSubject(newDetector(), () => 'open', e).restore(new Map([['s', full]]))).toEqual(['episode explanation s: its baseline part (written apart) is missing']);
    const other = new Map([['s', { ...(sides.get('s') as object), version: 'x:0' }]]);
    expect(detectorCheckpointSubject(newDetector(), () => 'open', e).restore(new Map([['s', full]]), other)[0]).toMatch(/^episode explanation s: its baseline part is x:0, not /);
    expect(e.episodeState(id)).toBeNull();
    // The store says the episode was resolved meanwhile: the detector drops it, and its explanation state with it.
    const c = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    const notes = detectorCheckpointSubject(newDetector(), () => 'resolved', c).restore(new Map([['s', full]]), sides);
    expect(notes).toHaveLength(1);
    expect(c.episodeState(id)).toBeNull();
  });
});

describe('Checkpoints of a stream in a long episode: what does not change is written once (an SD card is written less)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('1,000 readings of an open episode, a checkpoint every 2 readings (the daemon’s tick at 1 Hz): its baseline and first readings go apart a few times, each tick carries a bounded tail; restored, the episode goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-ckpt-'));
    dirs.push(dir);
    const store = SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 100, logger: silent });
    const d = newDetector();
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    const written: { sensor: string; blob: Buffer }[] = [];
    const counting = {
      saveSensorStates: (rows: readonly { sensor: string; blob: Buffer; updatedAt: number }[]) => {
        written.push(...rows);
        store.saveSensorStates(rows);
      },
      loadSensorStates: () => store.loadSensorStates(),
      loadSensorState: (s: string) => store.loadSensorState(s),
    };
    let now = T0;
    const cps = new Checkpoints(counting, detectorCheckpointSubject(d, () => 'open', book), { intervalMs: 60_000, maxAgeMs: 1e12, now: () => now, logger: silent });
    const rnd = normal(5);
    const events: string[] = [];
    const take = (out: ReadingOutput[]): void => {
      for (const o of out) {
        book.record(o.reading);
        for (const ev of o.events) {
          book.explain(ev);
          events.push(ev.kind);
        }
      }
    };
    take(await feed(d, 's', 0, 400, 1000, rnd));
    const ticks: { main: number; side: boolean }[] = [];
    for (let i = 400; i < 1400; i += 2) {
      take(await feed(d, 's', i, i + 2, 1000, rnd));
      now = T0 + (i + 1) * 1000;
      written.length = 0;
      cps.saveStreams(['s']);
      // Written at this tick (its row as stored, with its base: what the tick wrote).
      expect(written.some((r) => r.sensor === 's')).toBe(true);
      const episode = (loadStoredState(store, 's') as { episode: { before?: { ts: number[] }; head: { ts: number[] }; recent: { ts: number[] } } | null }).episode;
      expect(episode, `an open episode at reading ${i + 1}`).not.toBeNull();
      // What each tick writes of the episode: its newest readings and first ones not yet written apart, never its baseline.
      expect(episode!.before).toBeUndefined();
      ticks.push({ main: episode!.head.ts.length + episode!.recent.ts.length, side: written.some((r) => r.sensor === 's#side') });
    }
    expect(events.filter((k) => k === 'open')).toHaveLength(1);
    expect(events).not.toContain('resolve');
    // At most 63 first readings and the newest 128, however long the episode (it held up to 1,800 before).
    expect(Math.max(...ticks.map((t) => t.main))).toBeLessThanOrEqual(63 + 128);
    // The baseline and first readings: at the first tick, and at most once per 64 first readings (256).
    expect(ticks[0].side).toBe(true);
    expect(ticks.filter((t) => t.side).length).toBeLessThanOrEqual(5);

    // Restarted from the store: the episode goes on, told from its baseline and first readings and its newest ones.
    const id = d.openAnomaly('s')!;
    const d2 = newDetector();
    const book2 = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    const cps2 = new Checkpoints(store, detectorCheckpointSubject(d2, () => 'open', book2), { intervalMs: 60_000, maxAgeMs: 1e12, now: () => now, logger: silent });
    expect(cps2.restore()).toEqual(['s']);
    expect(d2.openAnomaly('s')).toBe(id);
    expect(book2.episodeBase(id)).toEqual(book.episodeBase(id));
    const after = await feed(d2, 's', 1400, 1420, 1000, rnd);
    for (const o of after) book2.record(o.reading);
    const ev = { ...(book.episodeState(id)!.last as object), kind: 'update' } as Parameters<SignalBook['explain']>[0];
    const told = book2.explain({ ...ev, endTs: T0 + 1419 * 1000 })!;
    expect(told.kind).toBe('level_shift');
    // Its side part is written again only when it changes: not at the next tick after the restart.
    written.length = 0;
    const cps3 = new Checkpoints(counting, detectorCheckpointSubject(d2, () => 'open', book2), { intervalMs: 60_000, maxAgeMs: 1e12, now: () => now, logger: silent });
    cps3.restore();
    cps3.saveStreams(['s']);
    expect(written.map((r) => r.sensor)).toEqual(['s']);
    store.close();
  });

  it('an older checkpoint (episode state version 1: baseline and readings in it) still restores', async () => {
    const d = newDetector();
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    for (const o of await feed(d, 's', 0, 450)) {
      book.record(o.reading);
      for (const ev of o.events) book.explain(ev);
    }
    const id = d.openAnomaly('s')!;
    const subject = detectorCheckpointSubject(d, () => 'open', book);
    const state = JSON.parse(JSON.stringify(subject.snapshot('s'))) as { episode: Record<string, unknown> };
    const base = JSON.parse(JSON.stringify(subject.side!('s')!.state)) as { before: unknown; head: { ts: number[] } };
    // As version 1 wrote it (the first readings in the base are none yet at 50 readings: they are all in the state).
    expect(base.head.ts).toEqual([]);
    const { base: _version, ...rest } = state.episode;
    const v1 = { ...state, episode: { ...rest, v: 1, before: base.before } };
    const restarted = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });
    expect(detectorCheckpointSubject(newDetector(), () => 'open', restarted).restore(new Map([['s', v1]]))).toEqual([]);
    expect(JSON.parse(JSON.stringify(restarted.episodeBase(id)!.state))).toEqual(base);
  });
});
