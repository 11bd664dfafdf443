/**
 * SensorStatusBoard's arrivals across a restart (tryout 12, finding 4): a sensor restored with the silence it had
 * at the stop is as stale as it was (its downtime not counted), and its latest reading's real arrival is kept for
 * telling its silence. And a stream that keeps quiet on its own (a report-on-change sensor): its usual silence is its
 * value unchanged, not stale (tryout 29, finding 9; the daemon end to end: test/e2e/report-on-change-status.test.ts).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SensorStatePayload } from '../../src/contract/alerts.js';
import { PROGRESS_REPUBLISH_MS, PROGRESS_STEP, SensorStatusBoard } from '../../src/daemon/sensor-status.js';

const SEC = 1000;

function board(now: () => number, published: Array<[string, SensorStatePayload]>): SensorStatusBoard {
  return new SensorStatusBoard(
    { modelOf: () => 'gru', learning: () => false, openAnomaly: () => null, ownModel: () => null, intervalOf: () => SEC, newestReadingTs: () => 0 },
    { staleAfter: 10, now, logger: pino({ level: 'silent' }), publish: (s, p) => published.push([s, p]) },
  );
}

describe('SensorStatusBoard arrivals across a restart', () => {
  it('a sensor stale at the stop is stale at the start, a live one ok, whatever the downtime', () => {
    let now = 1_000_000_000_000;
    const published: Array<[string, SensorStatePayload]> = [];
    const before = board(() => now, published);
    before.arrived('dead');
    before.arrived('live');
    now += 30 * SEC;
    before.arrived('live');
    now += SEC;
    const dead = before.arrivalOf('dead')!;
    const live = before.arrivalOf('live')!;
    expect(dead).toEqual({ arrivedAt: now - 31 * SEC, heardAt: now - 31 * SEC });
    expect(live).toEqual({ arrivedAt: now - SEC, heardAt: now - SEC });
    // Silent, the stored arrival does not move: an idle sensor's checkpoint row stays as it was (not rewritten).
    now += 5 * SEC;
    expect(before.arrivalOf('dead')).toEqual(dead);
    now -= 5 * SEC;

    // Down for an hour; restored from what the stop wrote.
    const stoppedAt = now;
    now += 3_600 * SEC;
    const after = board(() => now, published);
    after.restoreArrival('dead', dead, stoppedAt);
    after.restoreArrival('live', live, stoppedAt);
    expect(after.statusOf('dead')).toBe('stale');
    expect(after.statusOf('live')).toBe('ok');
    // The silence counts from the one at the stop (for stale and the silence judge); the real arrival is kept.
    expect(new Map(after.arrivals()).get('dead')).toBe(now - 31 * SEC);
    expect(after.heardAt('dead')).toBe(stoppedAt - 31 * SEC);
    expect(after.arrivalOf('dead')).toEqual({ arrivedAt: now - 31 * SEC, heardAt: stoppedAt - 31 * SEC });
    // live goes stale after its staleAfter intervals from the start's point of view, as if the daemon had not stopped.
    now += 9 * SEC;
    expect(after.statusOf('live')).toBe('ok');
    now += SEC;
    expect(after.statusOf('live')).toBe('stale');
    after.arrived('live');
    expect(after.statusOf('live')).toBe('ok');
    expect(after.heardAt('live')).toBe(now);
  });

  it('a malformed silence counts as none', () => {
    const now = 5_000_000;
    const b = board(() => now, []);
    b.restoreArrival('x', { arrivedAt: Number.NaN, heardAt: Number.NaN }, now);
    expect(b.arrivalOf('x')).toEqual({ arrivedAt: now, heardAt: now });
    b.restoreArrival('y', { arrivedAt: now + 5, heardAt: now + 10 }, now);
    expect(b.arrivalOf('y')).toEqual({ arrivedAt: now, heardAt: now });
  });
});

describe('SensorStatusBoard: a stream that keeps quiet on its own (report-on-change)', () => {
  /** A board over one stream of interval 1 s, staleAfter 10, resetAfter 64, whose source says what `said` holds. */
  function quietBoard(now: () => number, said: { ownQuiet: boolean; learning: boolean; told: boolean; offline: boolean }): SensorStatusBoard {
    return new SensorStatusBoard(
      {
        modelOf: () => 'gru',
        learning: () => said.learning,
        openAnomaly: () => (said.told ? 'silence-1' : null),
        ownModel: () => null,
        intervalOf: () => SEC,
        newestReadingTs: () => 0,
        ownQuiet: () => said.ownQuiet,
        silenceTold: () => said.told,
        deviceEpisode: () => (said.offline ? { anomalyId: 'dev-1', sentence: 'hub offline' } : null),
      },
      { staleAfter: 10, resetAfter: 64, now, logger: pino({ level: 'silent' }), publish: () => undefined },
    );
  }

  it('its silence is judged: stale exactly while its silence is told, however long; a periodic stream after staleAfter intervals', () => {
    let now = 1_000_000_000_000;
    const said = { ownQuiet: true, learning: false, told: false, offline: false };
    const b = quietBoard(() => now, said);
    b.arrived('door');
    now += 1_000 * SEC;
    expect(b.statusOf('door')).toBe('ok');
    said.told = true;
    expect(b.statusOf('door')).toBe('stale');
    said.told = false;
    said.ownQuiet = false;
    expect(b.statusOf('door')).toBe('stale');
    b.arrived('door');
    now += 10 * SEC;
    expect(b.statusOf('door')).toBe('ok');
    now += SEC;
    expect(b.statusOf('door')).toBe('stale');
  });

  it('its silence not judged yet (learning): unchanged up to resetAfter + 1 intervals; its device offline: stale after staleAfter', () => {
    let now = 1_000_000_000_000;
    const said = { ownQuiet: true, learning: true, told: false, offline: false };
    const b = quietBoard(() => now, said);
    b.arrived('door');
    now += 65 * SEC;
    expect(b.statusOf('door')).toBe('learning');
    now += SEC;
    expect(b.statusOf('door')).toBe('stale');
    b.arrived('door');
    said.learning = false;
    said.offline = true;
    now += 10 * SEC;
    expect(b.statusOf('door')).toBe('ok');
    now += SEC;
    expect(b.statusOf('door')).toBe('stale');
  });
});

describe('SensorStatusBoard: the state tells the open episode as the score payload does', () => {
  it('its kind, since and sentence from the record, read at the open and after the record moved, published again only when they changed', () => {
    const published: Array<[string, SensorStatePayload]> = [];
    let open: string | null = null;
    let record = { kind: null as 'level_shift' | null, since: 1_000_000 as number | null, sentence: 'room 22.4, expected 21.0 ± 0.2 since 00:16' as string | null };
    let reads = 0;
    const b = new SensorStatusBoard(
      {
        modelOf: () => 'gru',
        learning: () => false,
        openAnomaly: () => open,
        ownModel: () => null,
        intervalOf: () => SEC,
        newestReadingTs: () => 0,
        episodeTold: (_sensor, episode) => {
          reads++;
          return episode.id === open ? record : null;
        },
      },
      { staleAfter: 0, now: () => 0, logger: pino({ level: 'silent' }), publish: (s, p) => published.push([s, p]) },
    );
    b.refresh('room', 1);
    expect(published.at(-1)![1]).toEqual({ status: 'ok', since: new Date(1).toISOString(), in_episode: false, model: 'gru' });
    open = 'ep-1';
    b.refresh('room', 2);
    expect(published.at(-1)![1]).toEqual({
      status: 'anomalous',
      since: new Date(2).toISOString(),
      in_episode: true,
      anomaly_id: 'ep-1',
      episode_kind: null,
      episode_since: new Date(1_000_000).toISOString(),
      episode_sentence: 'room 22.4, expected 21.0 ± 0.2 since 00:16',
      model: 'gru',
    });
    // Readings of the episode: the record is not read again, nothing published.
    const n = published.length;
    const r = reads;
    b.refresh('room', 3);
    b.refresh('room', 4);
    expect(published).toHaveLength(n);
    expect(reads).toBe(r);
    // Its record moved without telling anything new: read, not published.
    b.episodeMoved('room');
    b.refresh('room', 5);
    expect(reads).toBe(r + 1);
    expect(published).toHaveLength(n);
    // Its kind told: published again, the status unchanged.
    record = { ...record, kind: 'level_shift', sentence: 'room 22.4, expected 21.0 ± 0.2 since 00:16 (level shift)' };
    b.episodeMoved('room');
    b.refresh('room', 6);
    expect(published).toHaveLength(n + 1);
    expect(published.at(-1)![1]).toMatchObject({ status: 'anomalous', in_episode: true, episode_kind: 'level_shift', episode_sentence: record.sentence });
    // Resolved: no episode keys.
    open = null;
    b.refresh('room', 7);
    expect(published.at(-1)![1]).toEqual({ status: 'ok', since: new Date(7).toISOString(), in_episode: false, model: 'gru' });
  });
});

describe('SensorStatusBoard: a device that says it is offline while a stream of it has an episode of its own (tryout 30, finding 6)', () => {
  it("the state carries the device's episode, its id, kind and sentence, the stream's own id beside it; the stream's own again once the device is back", () => {
    const published: Array<[string, SensorStatePayload]> = [];
    const said = { offline: false };
    const drift = { kind: 'drift' as const, since: 1_000_000, sentence: 'esp-living/temperature 23.9 °C, rising 0.4 °C/h since 13:10 (drift)' };
    const device = { kind: 'device_offline' as const, since: 2_000_000, sentence: 'esp-living offline since 14:03 (the device said so on esp-living/status) (device offline)' };
    const b = new SensorStatusBoard(
      {
        modelOf: () => 'gru',
        learning: () => false,
        openAnomaly: () => 'drift-1',
        ownModel: () => null,
        intervalOf: () => SEC,
        newestReadingTs: () => 0,
        deviceEpisode: () => (said.offline ? { anomalyId: 'dev-1', sentence: device.sentence } : null),
        episodeTold: (_sensor, episode) => (episode.device ? (episode.id === 'dev-1' ? device : null) : episode.id === 'drift-1' ? drift : null),
      },
      { staleAfter: 0, now: () => 0, logger: pino({ level: 'silent' }), publish: (s, p) => published.push([s, p]) },
    );
    b.refresh('esp-living/temperature', 1);
    expect(published.at(-1)![1]).toMatchObject({ in_episode: true, anomaly_id: 'drift-1', episode_kind: 'drift', episode_sentence: drift.sentence });
    expect(published.at(-1)![1].stream_anomaly_id).toBeUndefined();
    expect(b.episodeOf('esp-living/temperature')).toEqual({ id: 'drift-1', device: false });

    // The device says it is offline (its availability refreshes its streams): its episode, told whole.
    said.offline = true;
    b.refresh('esp-living/temperature');
    const during = published.at(-1)![1];
    expect(during).toMatchObject({
      in_episode: true,
      anomaly_id: 'dev-1',
      kind: 'device_offline',
      sentence: device.sentence,
      episode_kind: 'device_offline',
      episode_since: new Date(device.since).toISOString(),
      episode_sentence: device.sentence,
      stream_anomaly_id: 'drift-1',
    });
    // GET /api/sensors says the same.
    expect(b.episodeOf('esp-living/temperature')).toEqual({ id: 'dev-1', device: true });

    // Back: the stream's own drift again, with its kind and sentence, no device keys.
    said.offline = false;
    b.refresh('esp-living/temperature');
    const after = published.at(-1)![1];
    expect(after).toMatchObject({ in_episode: true, anomaly_id: 'drift-1', episode_kind: 'drift', episode_sentence: drift.sentence });
    expect(after.kind).toBeUndefined();
    expect(after.sentence).toBeUndefined();
    expect(after.stream_anomaly_id).toBeUndefined();
  });
});

// A new user's tryout (session 29), finding 2: after a backfill (days of readings sent in seconds) the retained state
// told a point inside the history, its `since` and `learning_progress` days behind. It is published again once the
// backfill is over (no reading for 10 s, or its newest on time), since its newest reading, with its progress then;
// a live stream, or a device's batch, is not published again for it. The daemon end to end: test/e2e/backfill-state.test.ts.
describe('SensorStatusBoard: the state after a backfill', () => {
  const MIN = 60 * SEC;
  /** A board over one stream of interval `interval` whose newest reading is `feed.newest` and own-model progress `feed.readings` / 3,600. */
  function backfillBoard(now: () => number, feed: { newest: number; readings: number }, interval: number, published: SensorStatePayload[]): SensorStatusBoard {
    return new SensorStatusBoard(
      {
        modelOf: () => 'gru',
        learning: () => false,
        openAnomaly: () => null,
        ownModel: () => ({ phase: 'collecting', readings: feed.readings, needed: 3600 }),
        intervalOf: () => interval,
        newestReadingTs: () => feed.newest,
      },
      { staleAfter: 10, now, logger: pino({ level: 'silent' }), publish: (_s, p) => published.push(p) },
    );
  }
  /** `n` readings of the stream `interval` apart from `from` (data time), arriving `spacing` ms apart (wall clock), each refreshed as the daemon does. */
  function feed(b: SensorStatusBoard, clock: { now: number }, f: { newest: number; readings: number }, from: number, n: number, interval: number, spacing: number): void {
    for (let i = 0; i < n; i++) {
      clock.now += spacing;
      f.newest = from + i * interval;
      f.readings++;
      b.arrived('s');
      b.refresh('s', f.newest);
    }
  }

  it('a history sent fast, then quiet: published again 10 s after, since its newest reading, with its progress then; once', () => {
    const clock = { now: Date.UTC(2026, 11, 4, 12) };
    const f = { newest: 0, readings: 0 };
    const published: SensorStatePayload[] = [];
    const b = backfillBoard(() => clock.now, f, 5 * MIN, published);
    // 800 readings of a 5-min sensor, ending two hours ago, sent in 0.8 s.
    const from = clock.now - 2 * 3600 * SEC - 800 * 5 * MIN;
    feed(b, clock, f, from, 800, 5 * MIN, 1);
    expect(published).toHaveLength(1);
    expect(published[0].since).toBe(new Date(from).toISOString());
    for (let t = 0; t < 9; t++) {
      clock.now += SEC;
      b.refreshAll();
    }
    expect(published).toHaveLength(1); // not before it is over
    clock.now += 2 * SEC;
    b.refreshAll();
    expect(published).toHaveLength(2);
    expect(published[1]).toMatchObject({ status: 'ok', since: new Date(f.newest).toISOString(), learning_progress: 0.22 });
    for (let t = 0; t < 30; t++) {
      clock.now += 2 * SEC;
      b.refreshAll();
    }
    expect(published).toHaveLength(2);
  });

  it('a buffer flushed that runs on into live readings: published again at its first on-time reading, with no quiet', () => {
    const clock = { now: Date.UTC(2026, 11, 4, 12) };
    const f = { newest: 0, readings: 0 };
    const published: SensorStatePayload[] = [];
    const b = backfillBoard(() => clock.now, f, SEC, published);
    // A 1 Hz sensor's hour kept through an outage, flushed in 3.6 s, then live (each reading arrives as it is taken).
    const from = clock.now - 3600 * SEC;
    feed(b, clock, f, from, 3600, SEC, 1);
    clock.now = f.newest;
    for (let t = 0; t < 5; t++) {
      clock.now += SEC;
      f.newest = clock.now;
      f.readings++;
      b.arrived('s');
      b.refresh('s', f.newest);
      b.refreshAll();
    }
    expect(published).toHaveLength(2);
    expect(Date.parse(published[1].since)).toBeGreaterThan(clock.now - 5 * SEC);
    expect(published[1].learning_progress).toBe(1);
    // Live from then on, swept every 2 s for an hour: nothing more.
    for (let t = 0; t < 1800; t++) {
      clock.now += SEC;
      f.newest = clock.now;
      b.arrived('s');
      b.refresh('s', f.newest);
      clock.now += SEC;
      f.newest = clock.now;
      b.arrived('s');
      b.refresh('s', f.newest);
      b.refreshAll();
    }
    expect(published).toHaveLength(2);
  });

  it('a live stream whose readings come ten to a message every 10 s is not published again by the sweep', () => {
    const clock = { now: Date.UTC(2026, 11, 4, 12) };
    const f = { newest: 0, readings: 0 };
    const published: SensorStatePayload[] = [];
    const b = backfillBoard(() => clock.now, f, SEC, published);
    for (let m = 0; m < 360; m++) {
      // Ten readings of the last 10 s arrive within 10 ms, and the sweep comes right after them.
      feed(b, clock, f, clock.now - 10 * SEC, 10, SEC, 1);
      clock.now += 5;
      b.refreshAll();
      clock.now += 10 * SEC - 15;
    }
    // Not for a backfill (caughtUp): again only for its own model's learning progress (the leftovers finding 3), 3,600
    // readings of its 3,600 over the hour, so once each 10 min (PROGRESS_REPUBLISH_MS), each a tenth on at least.
    expect(published.length).toBeLessThanOrEqual(1 + 3_600_000 / PROGRESS_REPUBLISH_MS);
    for (let k = 1; k < published.length; k++) expect(published[k].learning_progress! - published[k - 1].learning_progress!).toBeGreaterThanOrEqual(PROGRESS_STEP - 1e-9);
  });
});
