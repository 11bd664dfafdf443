/**
 * Checkpoint format 2 (src/daemon/checkpoint-codec.ts): numeric arrays packed exactly, rings written against a
 * base, a sensor whose row would not change not written again, and a checkpoint written by main before it
 * (format 1, test/daemon/fixtures/checkpoint-v1.json, scripts/checkpoint-v1-fixture.mjs) restored and carried
 * over to format 2, with the real detector (model-free, the shipped config) and the real SQLite store.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import pino from 'pino';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { defaultConfig } from '../../src/config/schema.js';
import type { RawMessage } from '../../src/contract/types.js';
import { BASE_SUFFIX, decodeCheckpoint, encodeCheckpoint, isEvictedRow, isFormat2, packF64, readBase, unpackF64 } from '../../src/daemon/checkpoint-codec.js';
import { Checkpoints, UNCHANGED_KEY, detectorCheckpointSubject } from '../../src/daemon/checkpoints.js';
import { SensorStatusBoard } from '../../src/daemon/sensor-status.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { Detector, detectorOptions, type DetectorOutput } from '../../src/pipeline/detector.js';
import { MessageParser } from '../../src/pipeline/parse.js';

const silent = pino({ level: 'silent' });

/** Every double kind: NaN, ±Infinity, ±0, the smallest subnormal and the largest, the smallest normal, the largest, fractions. */
const DOUBLES = [Number.NaN, Infinity, -Infinity, 0, -0, 5e-324, -5e-324, 2.225073858507201e-308, 2.2250738585072014e-308, Number.MAX_VALUE, -Number.MAX_VALUE, 0.1, 1 / 3, -123456.789, 2 ** 53 + 2, 1e21, 1e-7];


describe('checkpoint format 2: packed numbers', () => {
  it('packF64 / unpackF64 give back every double exactly (NaN, ±Infinity, -0, subnormals)', () => {
    const back = unpackF64(packF64(DOUBLES));
    expect(back).toHaveLength(DOUBLES.length);
    for (let i = 0; i < DOUBLES.length; i++) expect(Object.is(back[i], DOUBLES[i]), `${DOUBLES[i]}`).toBe(true);
    expect(() => unpackF64('AAAA')).toThrow(/whole float64s/);
  });

  it('a state decodes to exactly what JSON gave (the restore reads what it read before): packed arrays, arrays JSON writes otherwise (NaN, ±Infinity, -0 as null, 0), pairs, rings', () => {
    const finite = DOUBLES.filter((x) => Number.isFinite(x) && !Object.is(x, -0));
    const ring = Array.from({ length: 600 }, (_, i) => Math.sin(i / 7) * 1e3 + i / 3);
    const state = {
      format: 'x/1',
      plain: finite,
      subnormal: [5e-324, 1e-310, 2e-320, 4e-323],
      notFinite: [1.5, 2.5, Number.NaN, 3.5, Infinity, -Infinity],
      negZero: [1.25, -0, 2.25, 3.25, 4.25],
      pairs: [[1.000000001, 2.5], [3.000000007, 4.5], [5.000000003, 6.5], [7.000000001, 8.5], [9.3, 10.1]],
      short: [0.1, 0.2],
      rounded: [1, 2, 3, 4, 5, 6, 7, 8],
      mixed: [1.1, 'a', null, 2.2],
      nested: { cycles: [{ ring, profile: [0.5, null, 0.25] }], empty: [], undef: undefined, top: 1e300 },
      text: 'ring',
    };
    const json = JSON.parse(JSON.stringify(state)) as unknown;
    const first = encodeCheckpoint(state, null, 'b1')!;
    expect(isFormat2(first.blob)).toBe(true);
    expect(first.blob.length).toBeLessThan(JSON.stringify(state).length);
    // The ring goes to a base (written by the caller), the row refers to it.
    expect([...first.rings!.keys()]).toEqual(['/nested/cycles/0/ring']);
    const base = { id: 'b1', rings: first.rings! };
    expect(isDeepStrictEqual(decodeCheckpoint(first.blob, base), json)).toBe(true);
    // The ring moved on by 60 readings: the row carries those 60 (and the base's readings it still holds).
    const moved = { ...state, nested: { ...state.nested, cycles: [{ ring: [...ring.slice(60), ...Array.from({ length: 60 }, (_, i) => -i - 0.5)], profile: [0.5, null, 0.25] }] } };
    const next = encodeCheckpoint(moved, base, 'b2')!;
    expect(next.rings).toBeNull();
    expect(next.baseId).toBe('b1');
    expect(next.blob.length).toBeLessThan(first.blob.length + 60 * 11);
    expect(isDeepStrictEqual(decodeCheckpoint(next.blob, base), JSON.parse(JSON.stringify(moved)))).toBe(true);
    // Without its base, or with another, it is not read.
    expect(() => decodeCheckpoint(next.blob, null)).toThrow(/base/);
    expect(() => decodeCheckpoint(next.blob, { id: 'b0', rings: first.rings! })).toThrow(/base/);
    // Standing alone (an evicted sensor's row): no base.
    const alone = encodeCheckpoint(moved, null, '', 'inline')!;
    expect(alone.baseId).toBeNull();
    expect(isDeepStrictEqual(decodeCheckpoint(alone.blob), JSON.parse(JSON.stringify(moved)))).toBe(true);
    // A state holding what a packed array looks like is left to format 1.
    expect(encodeCheckpoint({ a: { $f64: 'x' } }, null, 'b')).toBeNull();
    // A format-1 row is read as it is.
    expect(decodeCheckpoint(Buffer.from(JSON.stringify(state)))).toEqual(json);
  });
});

/** The shipped config's detector, model-free (as scripts/checkpoint-v1-fixture.mjs built the one that wrote the fixture). */
function newDetector(): Detector {
  const cfg = defaultConfig();
  let ids = 0;
  return new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => null, priorsFor: () => null, newId: () => `fx-${++ids}` });
}

/** One reading output as text, every number exactly (NaN, -0 spelt out); not its origin (the message's number since the detector started). */
const exact = (o: DetectorOutput): string =>
  JSON.stringify({ ...o, origin: undefined }, (_k, v: unknown) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? `#${Object.is(v, -0) ? '-0' : String(v)}` : v));

interface Fixture {
  from: string;
  t0: number;
  saved: number;
  openEpisode: string;
  rows: { sensor: string; blob: string; updatedAt: number }[];
  values: [string, string][];
}
const FIXTURE = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'checkpoint-v1.json'), 'utf8')) as Fixture;

/** Feeds readings [from, to) of the fixture's streams (`streams`: 0 a, 1 b); returns their outputs as text and records them in `book`. */
/** The store, counting the rows each save hands it (their sensor keys, in `written`). */
function countingStore(store: SqliteStore, written: string[]): Pick<SqliteStore, 'saveSensorStates' | 'loadSensorStates' | 'loadSensorState'> {
  return {
    saveSensorStates: (rows) => {
      written.push(...rows.map((r) => r.sensor));
      store.saveSensorStates(rows);
    },
    loadSensorStates: () => store.loadSensorStates(),
    loadSensorState: (s) => store.loadSensorState(s),
  };
}

async function feed(d: Detector, book: SignalBook, from: number, to: number, streams: readonly number[] = [0, 1]): Promise<string[]> {
  const out: string[] = [];
  const input = new Subject<RawMessage>();
  const done = new Promise<void>((resolve, reject) =>
    input.pipe(d.operator()).subscribe({
      next: (o) => {
        if (o.type !== 'reading') return;
        out.push(exact(o));
        book.record(o.reading);
        for (const ev of o.events) book.explain(ev);
      },
      error: reject,
      complete: resolve,
    }),
  );
  for (let i = from; i < to; i++) {
    const ts = FIXTURE.t0 + i * 1000;
    for (const k of streams) input.next({ topic: `sensors/${'ab'[k]}`, payload: Buffer.from(`{"ts":${ts},"value":${FIXTURE.values[i][k]}}`), receivedAt: ts + 5 });
  }
  input.complete();
  await done;
  // Each stream's outputs in order (how the two streams' interleave is the scheduler's).
  return [...out.filter((o) => o.includes('"stream":"a"')), ...out.filter((o) => !o.includes('"stream":"a"'))];
}

/** Stream `s` of `d` restored into a new detector from its state's JSON (format 1, as main restored): its snapshot. */
function restoredFromJson(d: Detector, book: SignalBook, s: string): unknown {
  const subject = detectorCheckpointSubject(d, () => 'open', book);
  const again = newDetector();
  detectorCheckpointSubject(again, () => 'open', newBook()).restore(new Map([[s, JSON.parse(JSON.stringify(subject.snapshot(s))) as unknown]]));
  return again.snapshot(s);
}

const newBook = (): SignalBook => new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent });

describe('checkpoints in format 2 on the real store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const openStore = (): SqliteStore => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-cpf-'));
    dirs.push(dir);
    return SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 100, logger: silent });
  };

  it(`a checkpoint main wrote (format 1, ${FIXTURE.from}) restores, the streams go on as never stopped; saved again it is format 2 (rings against a base) and restores to the same`, async () => {
    const { saved } = FIXTURE;
    // The reference: never stopped (restored from its state's JSON at the same reading, as format 1 restores).
    const fed = newDetector();
    const fedBook = newBook();
    await feed(fed, fedBook, 0, saved);
    const fedSubject = detectorCheckpointSubject(fed, () => 'open', fedBook);
    const ref = newDetector();
    const refBook = newBook();
    detectorCheckpointSubject(ref, () => 'open', refBook).restore(
      new Map(['a', 'b'].map((s) => [s, JSON.parse(JSON.stringify(fedSubject.snapshot(s))) as unknown])),
      new Map([['b', JSON.parse(JSON.stringify(fedSubject.side!('b')!.state)) as unknown]]),
    );
    const refAfter = await feed(ref, refBook, saved, 680);

    const store = openStore();
    store.saveSensorStates(FIXTURE.rows.map((r) => ({ sensor: r.sensor, blob: Buffer.from(r.blob), updatedAt: r.updatedAt })));
    let now = FIXTURE.t0 + saved * 1000;
    const d = newDetector();
    const book = newBook();
    const cps = new Checkpoints(store, detectorCheckpointSubject(d, () => 'open', book), { intervalMs: 60_000, maxAgeMs: 3_600_000, now: () => now, logger: silent });
    expect(cps.restore().sort()).toEqual(['a', 'b']);
    expect(d.openAnomaly('b')).toBe(FIXTURE.openEpisode);
    expect(await feed(d, book, saved, 680)).toEqual(refAfter);

    // Saved by this code: format 2, each stream's ring in its base row, the row and base smaller than format 1's row.
    now = FIXTURE.t0 + 680 * 1000;
    cps.save();
    const rows = store.loadSensorStates();
    const subject = detectorCheckpointSubject(d, () => 'open', book);
    for (const s of ['a', 'b']) {
      expect(isFormat2(rows.get(s)!.blob)).toBe(true);
      expect([...readBase(rows.get(`${s}${BASE_SUFFIX}`)!.blob).rings.keys()]).toEqual(['/scorer/cycles/0/ring']);
      expect(rows.get(s)!.blob.length + rows.get(`${s}${BASE_SUFFIX}`)!.blob.length).toBeLessThan(JSON.stringify(subject.snapshot(s)).length);
    }
    // Restored from it: the same states as restored from format 1 (the state's JSON), and the same outputs as the
    // streams never stopped.
    const d2 = newDetector();
    const book2 = newBook();
    const cps2 = new Checkpoints(store, detectorCheckpointSubject(d2, () => 'open', book2), { intervalMs: 60_000, maxAgeMs: 3_600_000, now: () => now, logger: silent });
    expect(cps2.restore().sort()).toEqual(['a', 'b']);
    const d1 = newDetector();
    const book1 = newBook();
    const side = JSON.parse(JSON.stringify(subject.side!('b')!.state)) as unknown;
    detectorCheckpointSubject(d1, () => 'open', book1).restore(new Map(['a', 'b'].map((s) => [s, JSON.parse(JSON.stringify(subject.snapshot(s))) as unknown])), new Map([['b', side]]));
    for (const s of ['a', 'b']) expect(JSON.stringify(d2.snapshot(s))).toBe(JSON.stringify(d1.snapshot(s)));
    const refEnd = await feed(ref, refBook, 680, 800);
    expect(await feed(d2, book2, 680, 800)).toEqual(refEnd);
    expect(await feed(d1, book1, 680, 800)).toEqual(refEnd);
    expect(book2.episodeState(FIXTURE.openEpisode)).toEqual(book1.episodeState(FIXTURE.openEpisode));
    store.close();
  });

  it('a stream with no reading since its row was written is not written again; its row counts as young as the save that found it unchanged', async () => {
    const store = openStore();
    let now = FIXTURE.t0 + 300 * 1000;
    const d = newDetector();
    const book = newBook();
    await feed(d, book, 0, 300);
    const written: string[] = [];
    const counting = countingStore(store, written);
    const opts = { intervalMs: 60_000, maxAgeMs: 90_000, now: () => now, logger: silent };
    const cps = new Checkpoints(counting, detectorCheckpointSubject(d, () => 'open', book), opts);
    cps.save();
    expect(written.filter((s) => !s.includes('#')).sort()).toEqual(['a', 'b']);
    const first = store.loadSensorState('a')!;
    // A minute on, no reading: nothing of either stream is written, only the list of those unchanged.
    now += 60_000;
    written.length = 0;
    cps.save();
    expect(written).toEqual([UNCHANGED_KEY]);
    expect(store.loadSensorState('a')).toEqual(first);
    // Restarted 80 s after that save (140 s after the rows were written, more than maxAgeMs): restored.
    now += 80_000;
    const d2 = newDetector();
    expect(new Checkpoints(store, detectorCheckpointSubject(d2, () => 'open', newBook()), opts).restore().sort()).toEqual(['a', 'b']);
    // A reading of a alone: a alone is written, b is listed unchanged.
    await feed(d, book, 300, 301, [0]);
    now += 1000;
    written.length = 0;
    cps.save();
    expect(written).toEqual(['a', UNCHANGED_KEY]);
    expect(store.loadSensorState('a')!.updatedAt).toBe(now);
    store.close();
  });

  it('with the daemon\'s arrivals in the rows, a silent stream is still not written again, and restored it is as silent as at the last save that found it unchanged', async () => {
    const store = openStore();
    let now = FIXTURE.t0 + 300 * 1000;
    const d = newDetector();
    const book = newBook();
    await feed(d, book, 0, 300);
    const boardOf = (): SensorStatusBoard =>
      new SensorStatusBoard(
        { modelOf: () => 'gru', learning: () => false, openAnomaly: () => null, ownModel: () => null, intervalOf: () => 1000, newestReadingTs: () => 0 },
        { staleAfter: 10, now: () => now, logger: silent, publish: () => {} },
      );
    const board = boardOf();
    board.arrived('a');
    board.arrived('b');
    const arrivedAt = now;
    const written: string[] = [];
    const counting = countingStore(store, written);
    const opts = { intervalMs: 60_000, maxAgeMs: 7_200_000, now: () => now, logger: silent };
    const cps = new Checkpoints(counting, detectorCheckpointSubject(d, () => 'open', book, board), opts);
    cps.save();
    // Two minutes of silence, a save each minute: the rows stay as written (their arrival does not move).
    for (let k = 0; k < 2; k++) {
      now += 60_000;
      written.length = 0;
      cps.save();
      expect(written).toEqual([UNCHANGED_KEY]);
    }
    const lastSave = now;
    // Down for an hour: restored as silent as at the last save (2 min), the downtime not counted.
    now += 3_600_000;
    const after = boardOf();
    expect(new Checkpoints(store, detectorCheckpointSubject(newDetector(), () => 'open', newBook(), after), opts).restore().sort()).toEqual(['a', 'b']);
    expect(new Map(after.arrivals()).get('a')).toBe(now - (lastSave - arrivedAt));
    expect(after.heardAt('a')).toBe(arrivedAt);
    expect(after.statusOf('a')).toBe('stale');
    store.close();
  });

  it('after a failed write every stream is written whole at its next save, with a new base (the store may have lost rows an earlier call stored)', async () => {
    const store = openStore();
    let now = FIXTURE.t0 + 400 * 1000;
    const d = newDetector();
    const book = newBook();
    await feed(d, book, 0, 400);
    const written: string[] = [];
    let fail = false;
    const failing = {
      saveSensorStates: (rows: readonly { sensor: string; blob: Buffer; updatedAt: number }[]) => {
        if (fail) throw new Error('disk I/O error');
        written.push(...rows.map((r) => r.sensor));
        store.saveSensorStates(rows);
      },
      loadSensorStates: () => store.loadSensorStates(),
      loadSensorState: (s: string) => store.loadSensorState(s),
    };
    const opts = { intervalMs: 60_000, maxAgeMs: 3_600_000, now: () => now, logger: silent };
    const cps = new Checkpoints(failing, detectorCheckpointSubject(d, () => 'open', book), opts);
    cps.save();
    expect(written.sort()).toEqual(['a', 'a#base', 'b', 'b#base']);
    // A minute on: the rings against their bases.
    await feed(d, book, 400, 460);
    now += 60_000;
    written.length = 0;
    cps.save();
    expect(written.sort()).toEqual(['a', 'b']);
    await feed(d, book, 460, 520);
    now += 60_000;
    fail = true;
    cps.save();
    fail = false;
    written.length = 0;
    cps.save();
    expect(written.sort()).toEqual(['a', 'a#base', 'b', 'b#base']);
    const d2 = newDetector();
    expect(new Checkpoints(store, detectorCheckpointSubject(d2, () => 'open', newBook()), opts).restore().sort()).toEqual(['a', 'b']);
    for (const s of ['a', 'b']) expect(JSON.stringify(d2.snapshot(s))).toBe(JSON.stringify(restoredFromJson(d, book, s)));
    store.close();
  });

  it('an evicted stream\'s row (format 2, deflated) still tells a restart which episode its eviction left open (Checkpoints.evictedWithOpen)', () => {
    const store = openStore();
    const id = '6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c04';
    const subject = { sensors: () => ['s'], snapshot: () => ({ scorer: { episode: { id, kind: 'missing' }, ring: Array.from({ length: 300 }, (_, i) => i / 7) } }), restore: () => [] };
    const cps = new Checkpoints(store, subject, { intervalMs: 60_000, maxAgeMs: 3_600_000, now: () => FIXTURE.t0, logger: silent });
    expect(cps.saveEvicted('s')).toBe(true);
    expect(isFormat2(store.loadSensorState('s')!.blob)).toBe(true);
    expect(cps.evictedWithOpen('s', id)).toBe(true);
    expect(cps.evictedWithOpen('s', '00000000-0000-4000-8000-000000000000')).toBe(false);
    expect(cps.evictedWithOpen('t', id)).toBe(false);
    store.close();
  });
});

describe('isEvictedRow: an evicted sensor told from the start of its row, unparsed (tryout 18: 5,184 junk rows parsed at each start)', () => {
  const state = { parser: { last: 1 }, scorer: { ring: Array.from({ length: 300 }, (_, i) => i / 7), evicted: 3 } };
  it('tells an evicted row of format 2 (deflated, inline rings) and of format 1 (plain JSON) from a live one', () => {
    const evicted = encodeCheckpoint({ evicted: 1_764_000_000_000, state }, null, '', 'inline');
    const live = encodeCheckpoint(state, null, 'b1');
    expect(evicted).not.toBeNull();
    expect(live).not.toBeNull();
    expect(isEvictedRow(evicted!.blob)).toBe(true);
    expect(isEvictedRow(live!.blob)).toBe(false);
    // What decoding says agrees.
    expect((decodeCheckpoint(evicted!.blob) as { evicted?: unknown }).evicted).toBe(1_764_000_000_000);
    expect(isEvictedRow(Buffer.from(JSON.stringify({ evicted: 5, state })))).toBe(true);
    expect(isEvictedRow(Buffer.from(JSON.stringify(state)))).toBe(false);
    // A live state that holds a key `evicted` deeper down is no evicted row.
    expect(isEvictedRow(Buffer.from(JSON.stringify({ scorer: { evicted: 1 } })))).toBe(false);
  });
});
