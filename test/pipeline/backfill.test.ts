/**
 * Holes in a backfill (tryout 27, finding 6; src/pipeline/backfill.ts): history published at full speed, each reading
 * with its own time, of which a broker's queue dropped blocks. The holes are counted as readings missing at the
 * stream's learnt interval, exactly, and not judged as the stream's silence; a report-on-change stream (no interval to
 * miss readings at), a 1 s stream whose device times wobble, a live stream and one whose clock lags by an hour, and a
 * hole inside one message count nothing. The detector-level cases run the shipped configuration's detector (no model,
 * as the silence tests do) with each message's arrival time passed in.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { BackfillHoles, DENSE_RATIO, LATE_MIN_MS, MIN_REGULAR, QUIET_MS } from '../../src/pipeline/backfill.js';
import { backfillText } from '../../src/daemon/backfill-log.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { ROOT } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 4, 1);
/** When the backfill is published: a month after its first reading, ms. */
const NOW = T0 + 30 * 86_400_000;

interface Msg {
  readonly ts: number;
  readonly receivedAt: number;
  readonly seq: number;
}

/**
 * Feeds `msgs` to a BackfillHoles as the detector does (the interval a Cadence-like median would hold is `intervalMs`,
 * known from the first reading on here), counting each hole with round(gap / I) - 1 steps.
 * @returns the missing count, and the bursts drained at the end (QUIET_MS after the last arrival)
 */
function feedHoles(msgs: readonly Msg[], intervalMs: number): { missing: number; holes: number; bursts: ReturnType<BackfillHoles['drain']> } {
  const b = new BackfillHoles();
  let prev = Number.NaN;
  let holes = 0;
  for (const m of msgs) {
    const hole = b.arrived('s', m.ts, m.receivedAt, m.seq, intervalMs);
    const steps = Number.isNaN(prev) ? 0 : Math.round((m.ts - prev) / intervalMs) - 1;
    if (hole && steps >= 1) {
      b.holed('s', steps, intervalMs);
      holes++;
    }
    prev = m.ts;
  }
  const last = msgs[msgs.length - 1].receivedAt;
  return { missing: b.missing, holes, bursts: b.drain(last + 60_000) };
}

/** Readings at `times`, one message each, arriving `perMsgMs` apart from NOW (a script publishing at full speed). */
function fast(times: readonly number[], perMsgMs = 0.02): Msg[] {
  return times.map((ts, i) => ({ ts, receivedAt: NOW + i * perMsgMs, seq: i }));
}

/** Indices 0..n-1 without the blocks [from, to) (a broker's queue dropped them). */
function withDrops(n: number, blocks: readonly [number, number][]): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (!blocks.some(([a, b]) => i >= a && i < b)) out.push(i);
  return out;
}

describe('BackfillHoles: readings missing at the interval in a burst', () => {
  it('counts every dropped block of a 10 s stream published at full speed, once per burst, and not a drop at its end', () => {
    const blocks: [number, number][] = [
      [3000, 3400],
      [9000, 9001],
      [20_000, 27_930],
      [49_900, 50_000],
    ];
    const kept = withDrops(50_000, blocks);
    const { missing, holes, bursts } = feedHoles(fast(kept.map((i) => T0 + i * 10_000)), 10_000);
    // The last block has no reading after it: nothing tells the daemon of it.
    expect(missing).toBe(400 + 1 + 7930);
    expect(holes).toBe(3);
    expect(bursts).toHaveLength(1);
    expect(bursts[0]).toMatchObject({ stream: 's', missing: 8331, holes: 3, readings: kept.length, firstTs: T0, lastTs: T0 + 49_899 * 10_000, intervalMs: 10_000 });
  });

  it('also when the queue overflows again and again once the burst is known periodic (a loaded machine: a hole every 18 readings)', () => {
    // mosquitto delivers the first 1,020 whole (its window and queue), then drops blocks between short runs.
    const blocks: [number, number][] = [];
    for (let i = 1020; i < 40_000; i += 18 + 40) blocks.push([i + 18, i + 18 + 40]);
    const kept = withDrops(40_000, blocks);
    const told = blocks.filter(([a]) => a < kept[kept.length - 1]).reduce((n, [a, b]) => n + b - a, 0);
    expect(feedHoles(fast(kept.map((i) => T0 + i * 10_000)), 10_000).missing).toBe(told);
  });

  it('also across a pause of the reads (a slower drain between the blocks) as long as the burst stays dense', () => {
    const kept = withDrops(5000, [[2000, 2600]]);
    const msgs = kept.map((i, k) => ({ ts: T0 + i * 60_000, receivedAt: NOW + k + (i >= 2600 ? 8_000 : 0), seq: k }));
    expect(feedHoles(msgs, 60_000).missing).toBe(600);
  });

  it('a report-on-change stream has no holes to tell: its varied gaps are its own', () => {
    const rnd = lcg(5);
    const times: number[] = [];
    let t = T0;
    for (let i = 0; i < 20_000; i++) {
      times.push(t);
      // Exponential gaps, 1 min on average: a reading whenever the value changes.
      t += Math.max(1000, Math.round(-Math.log(rnd() || 1e-9) * 60_000));
    }
    // Its learnt interval, the median gap (~42 s); dropped blocks make no difference to what it can tell.
    const sorted = times.slice(1).map((x, i) => x - times[i]).sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    const kept = withDrops(times.length, [[5000, 6000]]).map((i) => times[i]);
    const r = feedHoles(fast(kept), median);
    expect(r.missing).toBe(0);
    expect(r.bursts).toEqual([]);
    // A door: ten changes a second apart, then nothing for 5 to 40 minutes (test/e2e/silence.test.ts): nine of its ten
    // gaps are its learnt interval (1 s), and its quiet stretches are still its own.
    const door: number[] = [];
    let d = T0;
    for (let q = 0; q < 300; q++) {
      for (let k = 0; k < 10; k++) door.push((d += 1000));
      d += Math.round(5 + 35 * rnd()) * 60_000;
    }
    expect(feedHoles(fast(door), 1000).missing).toBe(0);
  });

  it('a 1 s stream whose device times wobble has no false holes, and its real holes are counted exactly', () => {
    const rnd = lcg(11);
    // Each reading up to 100 ms early or late of its second: gaps of 0.8 to 1.2 s.
    const times = Array.from({ length: 30_000 }, (_, i) => T0 + i * 1000 + Math.round((rnd() - 0.5) * 200));
    expect(feedHoles(fast(times), 1000).missing).toBe(0);
    const kept = withDrops(times.length, [
      [10_000, 10_001],
      [15_000, 15_250],
    ]);
    expect(feedHoles(fast(kept.map((i) => times[i])), 1000).missing).toBe(251);
    // Wider wobble (up to 300 ms either way: gaps of 0.4 to 1.6 s, one in 14 taken as a missed step by the cadence)
    // tells no hole either.
    const wide = lcg(12);
    const wobbly = Array.from({ length: 30_000 }, (_, i) => T0 + i * 1000 + Math.round((wide() - 0.5) * 600));
    const gaps = wobbly.slice(1).map((x, i) => x - wobbly[i]);
    expect(gaps.filter((g) => g >= 1500).length).toBeGreaterThan(0);
    expect(feedHoles(fast(wobbly), 1000).missing).toBe(0);
  });

  it('counts nothing for readings that arrive on time, at their own pace with a lagging clock, or in one message', () => {
    const kept = withDrops(5000, [[2050, 2150]]);
    const times = kept.map((i) => T0 + i * 1000);
    // Live: each arrives 50 ms after its time.
    expect(feedHoles(times.map((ts, k) => ({ ts, receivedAt: ts + 50, seq: k })), 1000).missing).toBe(0);
    // A device clock an hour behind, read live: late, but at its own pace (the hole is the sensor's).
    expect(feedHoles(times.map((ts, k) => ({ ts, receivedAt: ts + 3_600_000 + 50, seq: k })), 1000).missing).toBe(0);
    // A gateway's buffer flushed in messages of 500 readings: a hole inside one message is the device's own.
    const inMessages = times.map((ts, k) => ({ ts, receivedAt: NOW + Math.floor(k / 500), seq: Math.floor(k / 500) }));
    expect(kept.indexOf(2150) % 500).not.toBe(0);
    expect(feedHoles(inMessages, 1000).missing).toBe(0);
    // History sent slower than DENSE_RATIO times its pace is no burst's.
    expect(feedHoles(times.map((ts, k) => ({ ts, receivedAt: NOW + (k * 1000) / (DENSE_RATIO / 2), seq: k })), 1000).missing).toBe(0);
  });

  it('needs the reading to be late (LATE_MIN_MS) and the stream periodic before its first hole (MIN_REGULAR gaps)', () => {
    const times = withDrops(MIN_REGULAR + 200, [[MIN_REGULAR - 4, MIN_REGULAR + 10]]).map((i) => T0 + i * 1000);
    expect(feedHoles(fast(times), 1000).missing).toBe(0);
    const recent = withDrops(200, [[100, 110]]).map((i) => NOW - LATE_MIN_MS / 2 + i * 1000);
    expect(feedHoles(recent.map((ts, k) => ({ ts, receivedAt: NOW + k, seq: k })), 1000).missing).toBe(0);
  });
});

/** The shipped configuration's detector, no model (as test/pipeline/silence.test.ts). */
function shippedDetector(): Detector {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: {} });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const { config } = loaded;
  let ids = 0;
  return new Detector(detectorOptions(config), { parser: new MessageParser(parseOptionsOf(config)), modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
}

interface Run {
  readonly events: AnomalyEvent[];
  /** Per reading: its time, score and the steps filled before it. */
  readonly scored: { ts: number; score: number; filled: number; reset: boolean }[];
  readonly missing: number;
}

/** Feeds `readings` (one message each, on `sensors/s`) with the arrival `arrival(i, ts)`; collects events and scores. */
async function run(det: Detector, readings: readonly { ts: number; value: number }[], arrival: (i: number, ts: number) => number): Promise<Run> {
  const { Subject } = await import('rxjs');
  const input = new Subject<{ topic: string; payload: Buffer; receivedAt: number; seq: number }>();
  const events: AnomalyEvent[] = [];
  const scored: Run['scored'] = [];
  const done = new Promise<void>((resolve, reject) => {
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type === 'reading') {
          events.push(...o.events);
          scored.push({ ts: o.reading.ts, score: o.reading.score, filled: o.filled, reset: o.reset });
        } else if (o.type === 'error') reject(new Error(o.detail));
      },
      error: reject,
      complete: resolve,
    });
  });
  readings.forEach((r, i) => input.next({ topic: 'sensors/s', payload: Buffer.from(JSON.stringify({ ts: r.ts, value: r.value })), receivedAt: arrival(i, r.ts), seq: i }));
  input.complete();
  await done;
  return { events, scored, missing: det.backfillMissing };
}

function noisy(seed: number): () => number {
  const rnd = lcg(seed);
  return () => Math.round((20 + 0.3 * Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd())) * 1000) / 1000;
}

describe("BackfillHoles: a device's buffer flushed after an outage", () => {
  /**
   * A 1-minute stream whose device was away `away` readings and came back at NOW: its buffer (readings 0 .. away-1 of
   * the outage, less `dropped`) sent at full speed one message each, then `live` readings on time, one a minute.
   */
  function flush(away: number, dropped: readonly [number, number][], live: number, end = NOW): { b: BackfillHoles; kept: number[]; start: number } {
    const b = new BackfillHoles();
    const start = end - away * 60_000;
    const kept = withDrops(away, dropped);
    let prev = Number.NaN;
    kept.forEach((i, k) => {
      const ts = start + i * 60_000;
      if (b.arrived('s', ts, NOW + k, k, 60_000) && !Number.isNaN(prev)) b.holed('s', Math.round((ts - prev) / 60_000) - 1, 60_000);
      prev = ts;
    });
    for (let j = 0; j < live; j++) b.arrived('s', NOW + j * 60_000, NOW + j * 60_000 + 50, kept.length + j, 60_000);
    return { b, kept, start };
  }

  it('a flush that runs on into the live readings is told as one (caughtUp), a history that goes quiet is not', () => {
    const { b } = flush(600, [[400, 430]], 1);
    const [burst] = b.drain(NOW + 120_000);
    expect(burst).toMatchObject({ missing: 30, holes: 1, caughtUp: true });
    const text = backfillText(burst, 'UTC');
    expect(text).toContain('its device or gateway kept its readings while it could not send them');
    expect(text).toContain('its buffer may not have kept them all, or the broker dropped some');
    // Its last readings came less than LATE_MIN_MS late: they end it as live ones do.
    expect(flush(600, [[400, 430]], 0).b.drain(NOW + 600_000)[0]).toMatchObject({ missing: 30, caughtUp: true });
    // The same readings ending a day ago (a script's history), then quiet: the broker is named as before.
    const history = flush(600, [[400, 430]], 0, NOW - 86_400_000).b.drain(NOW + 600_000 + QUIET_MS);
    expect(history[0]).toMatchObject({ missing: 30, caughtUp: false });
    expect(backfillText(history[0], 'UTC')).toMatch(/; the broker may have dropped them \(mosquitto/);
  });

  it('flushedLate: the newest reading of a dense burst came late by its arrival less its time, until a reading on time', () => {
    // Away 3 h, its buffer kept the first hour only: the flush ends 2 h before its arrival.
    const { b, kept, start } = flush(180, [[60, 180]], 0);
    const last = start + kept[kept.length - 1] * 60_000;
    const late = NOW + kept.length - 1 - last;
    // While the burst goes on and once it ended (quiet), for its newest reading only.
    expect(b.flushedLate('s', last)).toBe(late);
    expect(b.flushedLate('s', last - 60_000)).toBeNull();
    b.drain(NOW + 600_000);
    expect(b.flushedLate('s', last)).toBe(late);
    // A reading on time ends it.
    b.arrived('s', NOW + 600_000, NOW + 600_050, 1000, 60_000);
    expect(b.flushedLate('s', last)).toBeNull();
    // A device clock an hour behind, read live (late at its own pace, not dense): none.
    const lag = new BackfillHoles();
    for (let i = 0; i < 100; i++) lag.arrived('s', T0 + i * 60_000, T0 + i * 60_000 + 3_600_000, i, 60_000);
    expect(lag.flushedLate('s', T0 + 99 * 60_000)).toBeNull();
  });

  it('flushedLate: a history whose last readings are less than 10 min late, arriving with it, ends at its last reading (tryout 31, finding 1)', () => {
    // A day of one reading a minute, its last 5 min before it is sent, all arriving within a second.
    const b = new BackfillHoles();
    const n = 1440;
    const last = NOW - 5 * 60_000;
    for (let i = 0; i < n; i++) b.arrived('s', last - (n - 1 - i) * 60_000, NOW + i * 0.5, Math.floor(i / 500), 60_000);
    const arrival = NOW + (n - 1) * 0.5;
    expect(b.flushedLate('s', last)).toBe(arrival - last);
    // The next reading a minute later, on time (live at its own pace): none.
    b.arrived('s', last + 60_000, arrival + 60_000, 3, 60_000);
    expect(b.flushedLate('s', last + 60_000)).toBeNull();
    // Readings on time that never came late (a live stream): none.
    const live = new BackfillHoles();
    for (let i = 0; i < 100; i++) live.arrived('s', T0 + i * 60_000, T0 + i * 60_000 + 50, i, 60_000);
    expect(live.flushedLate('s', T0 + 99 * 60_000)).toBeNull();
  });
});

describe('the detector on a backfill', () => {
  it("a 10 s stream's dropped blocks are counted and open no missing-data episode, which replay's timing opens", async () => {
    const value = noisy(3);
    const idx = withDrops(12_000, [
      [4000, 4040],
      [6000, 13_000 - 5000],
    ]);
    const readings = idx.map((i) => ({ ts: T0 + i * 10_000, value: value() }));
    // As replay and the evaluation see it: each reading arrives at its own time.
    const replayed = await run(shippedDetector(), readings, (_i, ts) => ts);
    expect(replayed.missing).toBe(0);
    const opens = replayed.events.filter((e) => e.kind === 'open');
    expect(opens.length).toBeGreaterThan(0);
    // Published as fast as a script can, a month later.
    const det = shippedDetector();
    const backfilled = await run(det, readings, (i) => NOW + i * 0.02);
    expect(backfilled.missing).toBe(40 + 2000);
    // The silences the holes were taken for are not judged: no episode at all on this healthy stream.
    expect(backfilled.events).toEqual([]);
    const bursts = det.backfillBursts(NOW + 3_600_000);
    expect(bursts).toHaveLength(1);
    // From the first reading placed with its interval known (the fourth: two gaps learnt) to the last.
    expect(bursts[0]).toMatchObject({ stream: 's', missing: 2040, holes: 2, firstTs: readings[3].ts, lastTs: readings[readings.length - 1].ts, readings: readings.length - 3, intervalMs: 10_000 });
    // Each reading is scored, at its own time, and the holes are placed as they are (filled or a new segment).
    expect(backfilled.scored.map((s) => s.ts)).toEqual(readings.map((r) => r.ts));
    expect(backfilled.scored.map((s) => [s.filled, s.reset])).toEqual(replayed.scored.map((s) => [s.filled, s.reset]));
  });

  it('a report-on-change stream backfilled at full speed is judged as replay judges it, and counts nothing', async () => {
    const rnd = lcg(8);
    const readings: { ts: number; value: number }[] = [];
    let t = T0;
    let v = 20;
    for (let i = 0; i < 6000; i++) {
      readings.push({ ts: t, value: v });
      t += Math.max(5000, Math.round(-Math.log(rnd() || 1e-9) * 120_000));
      v = Math.round((v + (rnd() < 0.5 ? -0.1 : 0.1)) * 10) / 10;
    }
    const replayed = await run(shippedDetector(), readings, (_i, ts) => ts);
    const backfilled = await run(shippedDetector(), readings, (i) => NOW + 20 * 86_400_000 + i * 0.02);
    expect(backfilled.missing).toBe(0);
    expect(backfilled.scored).toEqual(replayed.scored);
    expect(backfilled.events.map((e) => [e.kind, e.startTs, e.endTs])).toEqual(replayed.events.map((e) => [e.kind, e.startTs, e.endTs]));
  });
});
