/**
 * A young stream's silence (fewer readings than its interval needs to settle, Cadence.settled: 32), judged from what
 * little is known (Detector.silenceJudged, YOUNG_GAPS; Detector.judgeSilence: longer than its longest gap, rare against
 * its arrivals). Finding (branch earlydeath's brief, after learnsilence): (1) a sensor that died before its 32nd
 * reading was never told (a 5-min sensor dead in its first 2.5 hours, a 1-hour one in its first day); (2) a
 * report-on-change sensor whose first 32 readings came on time looked periodic, and its first quiet (its value
 * settled) was told as missing data. Each case below fails on main 07c5491: the young deaths are never told there, and
 * the report-on-change quiet after 40 readings on time is told there within minutes.
 * The detector the daemon runs (the shipped configuration, no model) in virtual time, judged as the daemon's tick does.
 */
import { describe, expect, it } from 'vitest';
import type { SignalBook } from '../../src/daemon/signals.js';
import { type Detector, YOUNG_GAPS } from '../../src/pipeline/detector.js';
import { SendOnDelta, SEND_ON_DELTA_LEVELS } from '../../src/pipeline/send-on-delta.js';
import { payloadOf } from '../../src/replay/drive.js';
import { feedExplained, feedMessages, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';
import { shippedDetector } from '../helpers/shipped-detector.js';
import { LINK_MS, openedAfter } from '../helpers/silence.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** The shipped model-less detector and its book (test/helpers/shipped-detector.ts). */
function shipped(): { det: Detector; book: SignalBook } {
  const { det, book } = shippedDetector();
  return { det, book };
}

/** `n` readings every `interval` ms, ±10 % jitter, a room temperature to 0.1 °C (its values repeat often). */
function periodic(seed: number, interval: number, n: number, from = T0): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  return Array.from({ length: n }, (_, i) => ({ ts: from + i * interval + Math.round((rnd() - 0.5) * 0.2 * interval), value: Math.round((21 + 0.4 * rnd()) * 10) / 10 }));
}

/**
 * `n` readings one minute apart (±2 s) of a zigbee2mqtt-style temperature in 0.5 °C steps whose value kept changing:
 * each a step up or down from the one before, never the same (report on change), among 19.5 … 21 °C.
 */
function changing(seed: number, n: number): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  let v = 20;
  return Array.from({ length: n }, (_, i) => {
    if (i > 0) v = v <= 19.5 ? v + 0.5 : v >= 21 ? v - 0.5 : v + (rnd() < 0.5 ? -0.5 : 0.5);
    return { ts: T0 + i * MIN + Math.round((rnd() - 0.5) * 4 * SEC), value: v };
  });
}

describe('a young stream dead before its interval settles', () => {
  for (const interval of [10 * SEC, MIN, 5 * MIN, HOUR]) {
    it(`read every ${interval / SEC} s, dead after 10 readings: told 8 to 14 of its intervals after its last reading (never on main) when a value repeated, else not judged`, async () => {
      let told = 0;
      for (const seed of [1, 2, 3, 4, 5]) {
        const { det, book } = shipped();
        const readings = periodic(seed, interval, 10);
        const out: Explained[] = [];
        await feedExplained(det, book, 's', 'sensors/s', readings, out);
        expect(out).toEqual([]);
        expect(det.learning('s')).toBe(true);
        // Judged once a value repeated (or changed by under half its median change: youngdeath), never without either.
        const repeated = readings.some((r, i) => i > 0 && r.value === readings[i - 1].value);
        const judged = det.silenceJudged('s');
        if (repeated) expect(judged).toBe(true);
        const at = openedAfter(det, 's', readings[9].ts, 40 * interval, interval / 10);
        if (!judged) {
          // Not judged by its arrivals: told at the young death's span (Detector.youngDeathMs), if within the look.
          const dead = det.youngDeathMs('s');
          if (dead > 40 * interval) expect(at).toBe(-1);
          else expect([at >= dead, at <= dead + interval / 10]).toEqual([true, true]);
          continue;
        }
        // 9 gaps on time: P(X ≥ m) = m! 10! / (m + 10)! falls below 1e-5 at m = 10 missed (11 intervals), jitter aside.
        expect(at).toBeGreaterThan(8 * interval);
        expect(at).toBeLessThanOrEqual(14 * interval);
        told++;
      }
      expect(told).toBeGreaterThan(0);
    });
  }

  it(`with fewer than ${YOUNG_GAPS + 1} readings (2 to ${YOUNG_GAPS}), never judged however long it is silent; from ${YOUNG_GAPS + 1}, judged once a reading repeated the one before, and told later the fewer its readings`, async () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let n = 2; n <= 12; n++) {
      const { det, book } = shipped();
      const readings = periodic(n, MIN, n);
      await feedExplained(det, book, 's', 'sensors/s', readings, []);
      const repeated = readings.some((r, i) => i > 0 && r.value === readings[i - 1].value);
      const at = openedAfter(det, 's', readings[n - 1].ts, 200 * MIN, 30 * SEC);
      if (n > YOUNG_GAPS && repeated) expect(det.silenceJudged('s')).toBe(true);
      if (n <= YOUNG_GAPS || !det.silenceJudged('s')) {
        expect(det.silenceJudged('s')).toBe(false);
        expect(at).toBe(-1);
      } else {
        expect(at).toBeGreaterThan(0);
        expect(at).toBeLessThanOrEqual(previous + MIN);
        previous = at;
      }
    }
    // The test is no empty one: most of these streams repeated a value and were told.
    expect(previous).toBeLessThan(Number.POSITIVE_INFINITY);
  });

  it('a young stream whose readings never repeated: judged when its changes reach under half their median (a fine-grained periodic value: youngdeath), not when they keep a floor (one that may send changes only)', async () => {
    const { det, book } = shipped();
    const rnd = lcg(17);
    const readings = periodic(17, MIN, 20).map((r) => ({ ts: r.ts, value: Math.round((21 + 0.4 * rnd()) * 1000) / 1000 }));
    await feedExplained(det, book, 's', 'sensors/s', readings, []);
    expect(det.silenceJudged('s')).toBe(true);
    expect(openedAfter(det, 's', readings[19].ts, 200 * MIN, MIN)).toBeGreaterThan(0);
    // Each change 0.3 to 0.4 (a floor of 0.3, its median about 0.35), up and down: never under half its median.
    const floor = shipped();
    let v = 21;
    const kept = periodic(18, MIN, 20).map((r, i) => ({ ts: r.ts, value: (v = Math.round((v + (i % 2 === 0 ? 1 : -1) * (0.3 + 0.1 * rnd())) * 1000) / 1000) }));
    await feedExplained(floor.det, floor.book, 's', 'sensors/s', kept, []);
    expect(floor.det.silenceJudged('s')).toBe(false);
    expect(openedAfter(floor.det, 's', kept[19].ts, 200 * MIN, MIN)).toBe(-1);
  });

  it('a boot burst (3 readings 1 s apart, then every 5 min): no silence told in its pauses while its first gaps make its interval 1 s', async () => {
    const { det, book } = shipped();
    const boot = [0, 1, 2].map((k) => ({ ts: T0 + k * SEC, value: 21 }));
    const live = periodic(9, 5 * MIN, 10, T0 + 5 * MIN).slice(0, 7);
    const readings = [...boot, ...live];
    const out: Explained[] = [];
    for (let i = 0; i < readings.length; i++) {
      await feedExplained(det, book, 's', 'sensors/s', [readings[i]], out, false, i);
      // The daemon's tick every 10 s until the next reading: nothing is told in its pauses.
      const next = i + 1 < readings.length ? readings[i + 1].ts : readings[i].ts;
      for (let t = readings[i].ts + 10 * SEC; t < next; t += 10 * SEC) for (const ev of det.judgeSilence('s', readings[i].ts, t, LINK_MS).events) out.push({ ev, e: book.explain(ev) });
    }
    expect(out).toEqual([]);
  });
});

describe('a report-on-change sensor whose readings all came on time', () => {
  it('40 readings a minute apart, each a 0.5 °C step from the one before, then an hour of quiet: taken to send changes only, not told (told within minutes on main)', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { det, book } = shipped();
      const readings = changing(seed, 40);
      await feedExplained(det, book, 's', 'sensors/s', readings, []);
      expect(det.changesOnly('s')).toBe(true);
      expect(det.silenceJudged('s')).toBe(false);
      expect(openedAfter(det, 's', readings[39].ts, HOUR, 10 * SEC)).toBe(-1);
      // Its heartbeat after the hour repeats its value: from then on it is judged on its arrivals (its quiet in them).
      await feedExplained(det, book, 's', 'sensors/s', [{ ts: readings[39].ts + HOUR, value: readings[39].value }], [], false, 40);
      expect(det.changesOnly('s')).toBe(false);
      expect(openedAfter(det, 's', readings[39].ts + HOUR, HOUR, 10 * SEC)).toBe(-1);
    }
  });

  it('a periodic sensor whose values repeat, or take many levels, is not taken for one (its young death is told)', async () => {
    const { det, book } = shipped();
    const readings = periodic(4, MIN, 40);
    await feedExplained(det, book, 's', 'sensors/s', readings, []);
    expect(det.changesOnly('s')).toBe(false);
    const fine = shipped();
    const rnd = lcg(8);
    const fineReadings = readings.map((r) => ({ ts: r.ts, value: Math.round((21 + 0.4 * rnd()) * 100) / 100 }));
    await feedExplained(fine.det, fine.book, 's', 'sensors/s', fineReadings, []);
    expect(fine.det.changesOnly('s')).toBe(false);
    expect(openedAfter(fine.det, 's', fineReadings[39].ts, 20 * MIN, 10 * SEC)).toBeGreaterThan(0);
  });

  it('SendOnDelta: (1 − 1/L)^n ≤ 1 % over L levels; a repeat, a quiet or too many levels end it; its state round-trips', () => {
    const t = new SendOnDelta();
    // Two levels alternating: (1/2)^n ≤ 0.01 from n = 7 pairs.
    for (let i = 0; i < 7; i++) t.observe([i % 2]);
    expect(t.changesOnly).toBe(false);
    t.observe([1]);
    expect(t.changesOnly).toBe(true);
    expect(SendOnDelta.fromJSON(JSON.parse(JSON.stringify(t.toJSON()))).changesOnly).toBe(true);
    t.observe([1]);
    expect(t.changesOnly).toBe(false);
    expect(t.repeated).toBe(true);
    const back = SendOnDelta.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect([back.changesOnly, back.repeated, back.quiet]).toEqual([false, true, false]);
    const quiet = new SendOnDelta();
    quiet.observe([1]);
    quiet.quietShown([1]);
    expect([quiet.repeated, quiet.quiet]).toEqual([false, true]);
    expect(SendOnDelta.fromJSON(JSON.parse(JSON.stringify(quiet.toJSON()))).quiet).toBe(true);
    const many = new SendOnDelta();
    for (let i = 0; i <= SEND_ON_DELTA_LEVELS; i++) many.observe([i, 0]);
    expect(many.changesOnly).toBe(false);
    expect(() => SendOnDelta.fromJSON({ pairs: -1, levels: [] })).toThrow();
    expect(() => SendOnDelta.fromJSON({ pairs: 1, levels: [], quiet: false })).toThrow();
  });

  it('its test is checkpointed while it learns: restored, its quiet is still not told', async () => {
    const { det, book } = shipped();
    const readings = changing(6, 40);
    await feedExplained(det, book, 's', 'sensors/s', readings, []);
    const state = JSON.parse(JSON.stringify(det.snapshot('s'))) as unknown;
    const again = shipped();
    expect(again.det.restore('s', state)).toEqual([]);
    expect(again.det.changesOnly('s')).toBe(true);
    expect(openedAfter(again.det, 's', readings[39].ts, HOUR, 10 * SEC)).toBe(-1);
  });
});

describe('what is no young death', () => {
  it('a restart of the daemon 20 min after a 1-min sensor\'s 10th reading: its silence counts from the start, nothing once it reads on', async () => {
    const { det, book } = shipped();
    const readings = periodic(12, MIN, 10);
    await feedExplained(det, book, 's', 'sensors/s', readings, []);
    const state = JSON.parse(JSON.stringify(det.snapshot('s'))) as unknown;
    const again = shipped();
    expect(again.det.restore('s', state)).toEqual([]);
    const start = readings[9].ts + 20 * MIN;
    again.det.excuseGap('s', start);
    // The daemon's tick from the start for 5 min (its silence counts from the start: 5 intervals, not 25).
    expect(openedAfter(again.det, 's', start, 5 * MIN, 10 * SEC)).toBe(-1);
    const out: Explained[] = [];
    const after = periodic(13, MIN, 10, start + 5 * MIN);
    for (let i = 0; i < after.length; i++) {
      await feedExplained(again.det, again.book, 's', 'sensors/s', [after[i]], out, false, 10 + i);
      for (let t = after[i].ts + 10 * SEC; t < after[i].ts + 50 * SEC; t += 10 * SEC) for (const ev of again.det.judgeSilence('s', after[i].ts, t, LINK_MS).events) out.push({ ev, e: again.book.explain(ev) });
    }
    expect(out).toEqual([]);
  });

  it('a backfill (a gateway\'s 8 readings of 40 min flushed at once, then live every 5 min): nothing told', async () => {
    const { det, book } = shipped();
    const flushAt = T0 + 45 * MIN;
    const kept = periodic(14, 5 * MIN, 8);
    const out: Explained[] = [];
    await feedMessages(det, book, kept.map((r) => ({ topic: 'sensors/s', payload: payloadOf({ sensor: 's', ts: r.ts, channels: ['value'], values: [r.value] }), receivedAt: flushAt })), out);
    let arrived = flushAt;
    const live = periodic(15, 5 * MIN, 12, flushAt + 5 * MIN);
    for (let i = 0; i < live.length; i++) {
      for (let t = arrived + 30 * SEC; t < live[i].ts; t += 30 * SEC) for (const ev of det.judgeSilence('s', arrived, t, LINK_MS).events) out.push({ ev, e: book.explain(ev) });
      await feedExplained(det, book, 's', 'sensors/s', [live[i]], out, false, 8 + i);
      arrived = live[i].ts;
    }
    expect(out).toEqual([]);
  });
});
