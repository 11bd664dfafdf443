/**
 * A silence judged while it lasts (Detector.judgeSilence, StreamScorer.judgeSilence): the detector the daemon
 * runs (the shipped configuration; no model, which `stuck` does not use), its SignalBook, and virtual time (the
 * arrival and the time now are passed in). A noisy stream that falls silent opens a missing-data episode while
 * it is still silent, once its silence, judged against its own runs, reaches the shipped threshold; it resolves
 * at the stream's next reading, which opens no second episode for it; a report-on-change stream's usual quiet is
 * no alarm; the episode goes on through a checkpoint.
 */
import { describe, expect, it } from 'vitest';
import type { SignalBook } from '../../src/daemon/signals.js';
import type { Detector } from '../../src/pipeline/detector.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { feedExplained, type Explained } from '../helpers/explained.js';
import { reportOnChange } from '../helpers/report-on-change.js';
import { shippedDetector } from '../helpers/shipped-detector.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;

/** The shipped model-less detector and its book (shippedDetector), its threshold in -log10(1 - p) and its window.resetAfter (readings). */
function shipped(): { det: Detector; book: SignalBook; threshold: number; resetAfter: number } {
  const { det, book, config } = shippedDetector();
  return { det, book, threshold: -Math.log10(1 - config.score.threshold), resetAfter: config.window.resetAfter };
}

function noisy(seed: number): () => number {
  let s = seed;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  return () => Math.round((20 + 0.5 * Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd())) * 1000) / 1000;
}

describe('a silence judged while it lasts', () => {
  it('opens a missing-data episode while silent, once, and resolves it at the next reading without a second one', async () => {
    const { det, book, threshold, resetAfter } = shipped();
    const value = noisy(7);
    // ~12 min of 1 Hz history (tryout 11: a silence of 150 to 200 readings after it was never alarmed at its end).
    const H = 700;
    const readings = Array.from({ length: H }, (_, i) => ({ ts: T0 + i * SEC, value: value() }));
    const out: Explained[] = [];
    await feedExplained(det, book, 's_gap', 'sensors/s_gap', readings, out);
    expect(out).toEqual([]);
    const last = readings[H - 1].ts;
    // Virtual wall time: the last reading arrived at its own time; judged every 2 s of silence for 2 h.
    const judged: { missed: number; deviation: number }[] = [];
    for (let elapsed = 2 * SEC; elapsed <= 2 * 3600 * SEC; elapsed += 2 * SEC) {
      const j = det.judgeSilence('s_gap', last, last + elapsed);
      if (Number.isFinite(j.deviation)) judged.push({ missed: j.missed, deviation: j.deviation });
      for (const ev of j.events) out.push({ ev, e: book.explain(ev) });
    }
    // Only a gap is judged (a shorter silence is filled at the next reading), and its surprise grows with its length.
    expect(judged[0].missed).toBe(resetAfter + 1);
    for (let i = 1; i < judged.length; i++) expect(judged[i].deviation).toBeGreaterThanOrEqual(judged[i - 1].deviation);
    const opens = out.filter((x) => x.ev.kind === 'open');
    expect(opens).toHaveLength(1);
    const open = opens[0];
    // Opened at the first judgement at the threshold, not before: a periodic reporter (every reading of its history
    // came one interval after the one before) is rare at once, just past resetAfter (66 s), against its arrivals
    // (src/pipeline/arrivals.ts; before tryout 20, finding 6, against its runs alone: 119 readings, 2 min).
    const first = judged.find((j) => j.deviation >= threshold)!;
    expect(first.missed).toBe(resetAfter + 1);
    if (process.env.SILENCE_CURVE) console.log(JSON.stringify(judged.filter((_, i) => i % 15 === 0 || judged[i].missed === first.missed).map((j) => [j.missed, Math.round(j.deviation * 100) / 100])));
    expect(open.ev).toMatchObject({ sensor: 's_gap', startTs: last + SEC, windows: first.missed, evidence: { stuck: expect.any(Number) as number } });
    expect(open.ev.endTs).toBe(last + (first.missed + 1) * SEC);
    expect(open.e?.kind).toBe('missing_data');
    expect(open.e?.sentence).toMatch(/^s_gap no reading for .* since 10:11, last [0-9.]+ \(missing data\)$/);
    // Updates only by the episode rules (a tenfold rarer peak, its length doubled): a few, never one a tick.
    const updates = out.filter((x) => x.ev.kind === 'update');
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(Math.log2(judged[judged.length - 1].missed / first.missed)));
    for (const u of updates) expect(u.e?.kind).toBe('missing_data');
    expect(det.openAnomaly('s_gap')).toBe(open.ev.anomalyId);

    // The sensor reads again, after 2 h: the episode resolves at that reading, and no second one opens for it.
    const back = last + 2 * 3600 * SEC + SEC;
    const after: Explained[] = [];
    await feedExplained(det, book, 's_gap', 'sensors/s_gap', Array.from({ length: 40 }, (_, i) => ({ ts: back + i * SEC, value: value() })), after, false, H);
    expect(after.map((x) => [x.ev.kind, x.ev.anomalyId])).toEqual([['resolve', open.ev.anomalyId]]);
    expect(after[0].ev).toMatchObject({ resolution: 'recovered', startTs: last + SEC, endTs: back });
    expect(after[0].e?.kind).toBe('missing_data');
    expect(det.openAnomaly('s_gap')).toBeNull();
  }, 60_000);

  it('a silence that begins while an episode of another kind is open is judged, told in that episode, kept through a checkpoint, and resolved at the return (tryout 18, finding 1)', async () => {
    const { det, book, threshold } = shipped();
    const value = noisy(7);
    const H = 700;
    const UP = 30;
    // 700 readings of noise, then 30 readings 20 units up (a level shift: its episode opens), then nothing.
    const readings = Array.from({ length: H + UP }, (_, i) => ({ ts: T0 + i * SEC, value: value() + (i >= H ? 20 : 0) }));
    const out: Explained[] = [];
    await feedExplained(det, book, 'pump', 'sensors/pump', readings, out);
    const id = det.openAnomaly('pump');
    expect(id).not.toBeNull();
    expect(out.filter((x) => x.ev.kind === 'open').map((x) => x.ev.anomalyId)).toEqual([id]);
    expect(det.silenceOpen('pump')).toBe(false);
    const last = readings[H + UP - 1].ts;
    // Judged every 2 s as the daemon does; told as the daemon tells a silence (explainAlert's `silence`).
    const told: Explained[] = [];
    let deviation = Number.NaN;
    for (let elapsed = 2 * SEC; elapsed <= 20 * 60 * SEC && told.length === 0; elapsed += 2 * SEC) {
      const j = det.judgeSilence('pump', last, last + elapsed);
      deviation = j.deviation;
      for (const ev of j.events) told.push({ ev, e: book.explainAlert(ev, true).explanation });
    }
    // One update of the same episode once the silence is rare (none before: judged, not alarmed); told missing data
    // from the last reading before the silence, a faulty one.
    expect(told.map((x) => [x.ev.kind, x.ev.anomalyId])).toEqual([['update', id]]);
    expect(deviation).toBeGreaterThanOrEqual(threshold);
    expect(told[0].e?.kind).toBe('missing_data');
    expect(told[0].e?.value).toBeCloseTo(readings[H + UP - 1].value, 5);
    expect(told[0].e?.since).toBe(new Date(last).toISOString());
    expect(det.silenceOpen('pump')).toBe(true);

    // Through a checkpoint: the restored stream's episode is still the silence's (no second open, no resolve).
    const state = JSON.parse(JSON.stringify(det.snapshot('pump'))) as unknown;
    const restored = shipped();
    expect(restored.det.restore('pump', state)).toEqual([]);
    expect(restored.det.openAnomaly('pump')).toBe(id);
    expect(restored.det.silenceOpen('pump')).toBe(true);
    const later = restored.det.judgeSilence('pump', last, last + 30 * 60 * SEC);
    expect(later.events.filter((e) => e.kind !== 'update')).toEqual([]);

    // It reads again, back to normal: the episode resolves at that reading (recovered), and nothing else opens.
    const back = last + 40 * 60 * SEC;
    const after: Explained[] = [];
    await feedExplained(restored.det, restored.book, 'pump', 'sensors/pump', Array.from({ length: 40 }, (_, i) => ({ ts: back + i * SEC, value: value() })), after, false, H + UP);
    expect(after.map((x) => [x.ev.kind, x.ev.anomalyId])).toEqual([['resolve', id]]);
    expect(after[0].ev).toMatchObject({ resolution: 'recovered', endTs: back });
    expect(restored.det.openAnomaly('pump')).toBeNull();
  }, 60_000);

  it('does not alarm a report-on-change stream for a quiet as long as its usual ones', async () => {
    const { det, book } = shipped();
    // A value that changes in bursts of a few readings 1 s apart, then keeps quiet (sends nothing) for 5 to 40 min.
    let s = 11;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const readings: { ts: number; value: number }[] = [];
    let ts = T0;
    let v = 20;
    while (readings.length < 1500) {
      for (let k = 0; k < 10; k++) {
        v = Math.round((v + (rnd() - 0.5)) * 10) / 10;
        readings.push({ ts, value: v });
        ts += SEC;
      }
      ts += Math.round((5 + 35 * rnd()) * 60) * SEC;
    }
    const out: Explained[] = [];
    await feedExplained(det, book, 'door', 'sensors/door', readings, out);
    const last = readings[readings.length - 1].ts;
    const judged: number[] = [];
    for (let elapsed = 2 * SEC; elapsed <= 30 * 60 * SEC; elapsed += 10 * SEC) {
      const j = det.judgeSilence('door', last, last + elapsed);
      if (Number.isFinite(j.deviation)) judged.push(j.deviation);
      for (const ev of j.events) out.push({ ev, e: book.explain(ev) });
    }
    expect(judged.length).toBeGreaterThan(0);
    expect(out.filter((x) => x.e?.kind === 'missing_data')).toEqual([]);
    expect(det.openAnomaly('door')).toBeNull();
  }, 60_000);

  it('judges nothing of a stream with fewer than YOUNG_GAPS gaps, and keeps an open silence through a checkpoint', async () => {
    const { det, book } = shipped();
    const value = noisy(9);
    // (Judged from its 6th reading since earlydeath and, its values fine-grained and never repeated, youngdeath: 20
    // readings of this noise silent for an hour are told, test/pipeline/young-death.test.ts; 5 are never.)
    const young = Array.from({ length: 5 }, (_, i) => ({ ts: T0 + i * SEC, value: value() }));
    await feedExplained(det, book, 'young', 'sensors/young', young, []);
    expect(det.judgeSilence('young', young[4].ts, young[4].ts + 3600 * SEC).events).toEqual([]);

    const readings = Array.from({ length: 3000 }, (_, i) => ({ ts: T0 + i * SEC, value: value() }));
    await feedExplained(det, book, 'cpu', 'sensors/cpu', readings, [], false, 100);
    const last = readings[readings.length - 1].ts;
    const opened = det.judgeSilence('cpu', last, last + 3600 * SEC).events;
    expect(opened.map((e) => e.kind)).toEqual(['open']);
    // A restart: the state restored in another detector, whose clock of arrival starts at the restart.
    const { det: again, book: book2 } = shipped();
    expect(again.restore('cpu', JSON.parse(JSON.stringify(det.snapshot('cpu'))))).toEqual([]);
    expect(again.openAnomaly('cpu')).toBe(opened[0].anomalyId);
    const restart = last + 3700 * SEC;
    // Counted from the silence's own start, not from the restart: it goes on (no second open).
    const j = again.judgeSilence('cpu', restart, restart + 2 * SEC);
    expect(j.missed).toBeGreaterThan(3600);
    expect(j.events.filter((e) => e.kind === 'open')).toEqual([]);
    const after: Explained[] = [];
    await feedExplained(again, book2, 'cpu', 'sensors/cpu', [{ ts: restart + 5 * SEC, value: 20 }], after);
    expect(after.map((x) => [x.ev.kind, x.ev.anomalyId])).toEqual([['resolve', opened[0].anomalyId]]);
  }, 60_000);
});

describe('a gap that is the caller\'s (Detector.excuseGap)', () => {
  /** b1 of tryout 12: 700 readings, 50 more (delivered after an outage from the sender's queue), a gap of 111 steps, 1,000 more. */
  function b1(): { ts: number; value: number }[] {
    const value = noisy(1);
    const ts = [...Array.from({ length: 750 }, (_, i) => T0 + i * SEC), ...Array.from({ length: 1000 }, (_, i) => T0 + (861 + i) * SEC)];
    return ts.map((t) => ({ ts: t, value: value() }));
  }

  /** The silence's deviation after 300 missed steps, for b1's readings with `excuse` (untilTs) or none. */
  async function judged(excuse: number | null): Promise<{ deviation: number; events: number }> {
    const { det, book } = shipped();
    const readings = b1();
    const out: Explained[] = [];
    await feedExplained(det, book, 'b1', 'sensors/b1', readings.slice(0, 700), out);
    // The sender's queue (50 readings) comes first after the outage, then the gap: the first reading after the gap
    // is not the first one the daemon got after it.
    if (excuse !== null) det.excuseGap('b1', excuse);
    await feedExplained(det, book, 'b1', 'sensors/b1', readings.slice(700), out, false, 700);
    const last = readings.at(-1)!.ts;
    const j = det.judgeSilence('b1', last, last + 301 * SEC);
    return { deviation: j.deviation, events: out.length };
  }

  it('is neither judged nor taught when it began before the caller could hear again; a later one is the stream\'s', async () => {
    const taught = await judged(null);
    // Deaf until the 800th step on the stream's clock: the gap (from the 750th) began before it.
    const excused = await judged(T0 + 800 * SEC);
    // Deaf only until the 720th: the readings up to the 750th came after, the gap is the stream's (taught).
    const expired = await judged(T0 + 720 * SEC);
    // The stream's own gap of 111 steps is judged at its return (a missing-data episode opened there and resolved
    // after, so censored from its runs, not taught); the excused one is not judged at all.
    expect(excused.deviation).toBeGreaterThanOrEqual(taught.deviation);
    expect(expired).toEqual(taught);
    expect(taught.events).toBe(2);
    expect(excused.events).toBe(0);
  });

  it('a short gap it excused (a restart of 8 to 20 s) is no run: a first reading equal to the last before opens nothing (tryout 15, finding 1)', async () => {
    // Humidity to 0.1 %, ± 0.7: a value repeats now and then, never for long.
    const value = noisy(4);
    const humidity = (): number => Math.round((45 + (value() - 20) * 1.4) * 10) / 10;
    for (const gap of [8, 12, 20]) {
      const { det, book } = shipped();
      const before = Array.from({ length: 900 }, (_, i) => ({ ts: T0 + i * SEC, value: humidity() }));
      await feedExplained(det, book, 'rh', 'sensors/rh', before, []);
      const last = before.at(-1)!;
      // The daemon restarts: deaf from the last reading until `gap` s later; the sensor's next reading equals it.
      const back = last.ts + gap * SEC;
      det.excuseGap('rh', back);
      const after: Explained[] = [];
      const next = [{ ts: back, value: last.value }, ...Array.from({ length: 30 }, (_, i) => ({ ts: back + (i + 1) * SEC, value: humidity() }))];
      await feedExplained(det, book, 'rh', 'sensors/rh', next, after);
      expect(after.filter((x) => x.ev.kind === 'open').map((x) => `${gap} s: ${x.e?.sentence ?? '(no sentence)'}`)).toEqual([]);
    }
  }, 60_000);

  it('readings that come bunched after it (a backlog: stamped on arrival within a fraction of a second) are steps, their gaps not the stream\'s: the next live reading is no gap (tryout 18, finding 2)', async () => {
    // Deaf for `down` s (a restart, a reconnect, a saturated loop); meanwhile the sensor sent `down` readings, which come
    // at the end of it 8 ms apart (a broker's session queue, the daemon's own socket), then it is live again at 1 Hz.
    for (const down of [3, 25, 90]) {
      const { det, book } = shipped();
      const value = noisy(5);
      const before = Array.from({ length: 700 }, (_, i) => ({ ts: T0 + i * SEC, value: value() }));
      await feedExplained(det, book, 'z', 'sensors/z', before, []);
      const back = before.at(-1)!.ts + down * SEC;
      det.excuseGap('z', back);
      const burst = Array.from({ length: down }, (_, i) => ({ ts: back + i * 8, value: value() }));
      const live = Array.from({ length: 60 }, (_, i) => ({ ts: back + (i + 1) * SEC, value: value() }));
      const after: Explained[] = [];
      await feedExplained(det, book, 'z', 'sensors/z', [...burst, ...live], after, false, 700);
      expect(det.intervalOf('z')).toBe(SEC);
      expect(after.map((x) => `${down} s: ${x.ev.kind} ${x.e?.sentence ?? '(no sentence)'}`)).toEqual([]);
    }
  }, 60_000);

  it('a pause within the backlog (the drain of a long restart stalls once) does not end it: the rest of the burst is not learnt either (tryout 19, finding 1)', async () => {
    // At 2 Hz, 40 to 60 s down: ~100 readings queued per stream, among ~10 streams' ~1,000; the drain paused once for
    // longer than half an interval (250 ms), which ended the backlog on main and the rest were learnt as the interval.
    for (const down of [40, 60]) {
      const HZ2 = SEC / 2;
      const { det, book } = shipped();
      const value = noisy(7);
      const before = Array.from({ length: 900 }, (_, i) => ({ ts: T0 + i * HZ2, value: value() }));
      await feedExplained(det, book, 'z2', 'sensors/z2', before, []);
      const back = before.at(-1)!.ts + down * SEC;
      det.excuseGap('z2', back);
      const n = (down * SEC) / HZ2;
      const burst = Array.from({ length: n }, (_, i) => ({ ts: back + i * 5 + (i >= n / 3 ? 400 : 0), value: value() }));
      const start = burst.at(-1)!.ts;
      const live = Array.from({ length: 60 }, (_, i) => ({ ts: start + (i + 1) * HZ2, value: value() }));
      const after: Explained[] = [];
      await feedExplained(det, book, 'z2', 'sensors/z2', [...burst, ...live], after, false, 900);
      expect(det.intervalOf('z2')).toBe(HZ2);
      expect(after.map((x) => `${down} s: ${x.ev.kind} ${x.e?.sentence ?? '(no sentence)'}`)).toEqual([]);
    }
  }, 60_000);

  it('without it (a replay, readings the caller did not know late), the same bunched readings are learnt as the stream\'s gaps', async () => {
    const { det, book } = shipped();
    const value = noisy(5);
    const before = Array.from({ length: 700 }, (_, i) => ({ ts: T0 + i * SEC, value: value() }));
    await feedExplained(det, book, 'z', 'sensors/z', before, []);
    // A gap beyond cadence.resetAfter (64 readings): no filled steps for the bunch to give back (a shorter gap's
    // fill is given back by the bunch, learnt or not: Cadence's loan, branch cycle17), so only the excuse keeps it out.
    const back = before.at(-1)!.ts + 600 * SEC;
    await feedExplained(det, book, 'z', 'sensors/z', Array.from({ length: 40 }, (_, i) => ({ ts: back + i * 8, value: value() })), [], false, 700);
    expect(det.intervalOf('z')).toBe(8);
  });
});

describe('a noisy quantised sensor\'s silence (tryout 15, findings 3 and 4)', () => {
  /** A zigbee2mqtt room sensor read at 1 Hz: 21.2 °C, a slow swing of 0.2, ± 0.05 noise, sent to 0.01 (a value repeats now and then). */
  function z2m(seed: number): () => number {
    let s = seed;
    let k = 0;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    return () => Math.round((21.2 + 0.2 * Math.sin(++k / 70) + (rnd() - 0.5) * 0.1) * 100) / 100;
  }

  /** The detector after `H` readings of the sensor from T0, its last reading, and the value source. */
  async function history(H: number): Promise<{ det: Detector; book: SignalBook; last: { ts: number; value: number }; threshold: number; resetAfter: number }> {
    const { det, book, threshold, resetAfter } = shipped();
    const value = z2m(3);
    const readings = Array.from({ length: H }, (_, i) => ({ ts: T0 + i * SEC, value: value() }));
    const out: Explained[] = [];
    await feedExplained(det, book, 'living', 'sensors/living', readings, out);
    expect(out).toEqual([]);
    return { det, book, last: readings[H - 1], threshold, resetAfter };
  }

  /** The silence judged every 2 s for `seconds` from `arrived` (the wall time its last reading arrived): the curve and the events. */
  function judgeFor(det: Detector, last: number, arrived: number, seconds: number): { curve: { missed: number; deviation: number }[]; events: AnomalyEvent[] } {
    const curve: { missed: number; deviation: number }[] = [];
    const events: AnomalyEvent[] = [];
    for (let el = 2 * SEC; el <= seconds * SEC; el += 2 * SEC) {
      const j = det.judgeSilence('living', arrived, last + el);
      if (Number.isFinite(j.deviation)) curve.push({ missed: j.missed, deviation: j.deviation });
      events.push(...j.events);
    }
    return { curve, events };
  }

  it('a dead one is alerted while silent within a few minutes, also after a restart, its surprise growing with its length', async () => {
    const { det, last, threshold } = await history(1000);
    const snap = JSON.parse(JSON.stringify(det.snapshot('living'))) as unknown;
    const { curve, events } = judgeFor(det, last.ts, last.ts, 10 * 60);
    for (let i = 1; i < curve.length; i++) expect(curve[i].deviation).toBeGreaterThanOrEqual(curve[i - 1].deviation);
    const opens = events.filter((e) => e.kind === 'open');
    expect(opens).toHaveLength(1);
    // Within a few minutes (the docs' curve: 5.0 at ~2 min); on main, still below 4.6 after 40 min.
    const at = curve.find((j) => j.deviation >= threshold)!;
    expect(at.missed).toBeLessThanOrEqual(240);
    if (process.env.SILENCE_CURVE) console.log('z2m', JSON.stringify(curve.filter((_, i) => i % 15 === 0 || curve[i].missed === at.missed).map((j) => [j.missed, Math.round(j.deviation * 100) / 100])));
    // A restart 1 min before the silence (finding 3's daemon): the state restored, the silence judged the same.
    const { det: again } = shipped();
    expect(again.restore('living', snap)).toEqual([]);
    const restarted = judgeFor(again, last.ts, last.ts, 10 * 60);
    expect(restarted.curve).toEqual(curve);
    expect(restarted.events.map((e) => [e.kind, e.windows])).toEqual(events.map((e) => [e.kind, e.windows]));
  }, 60_000);

  it('a pause of up to resetAfter readings opens nothing at its return, whether or not the returning value equals the last', async () => {
    const { det, book, last, resetAfter } = await history(1000);
    const snap = JSON.parse(JSON.stringify(det.snapshot('living'))) as unknown;
    for (const pause of [10, 25, resetAfter]) {
      for (const equal of [true, false]) {
        const { det: d } = shipped();
        d.restore('living', snap);
        const back = last.ts + (pause + 1) * SEC;
        // The sensor's own values after the pause (its slow swing went on), the first one equal to the last by chance or not.
        const value = z2m(3);
        for (let k = 0; k < 1000 + pause; k++) value();
        const own = value();
        const next = [{ ts: back, value: equal ? last.value : own }, ...Array.from({ length: 20 }, (_, i) => ({ ts: back + (i + 1) * SEC, value: value() }))];
        const out: Explained[] = [];
        await feedExplained(d, book, 'living', 'sensors/living', next, out, false, 1000);
        expect(out.map((x) => `${pause} s, equal ${equal}: ${x.ev.kind} ${x.e?.sentence ?? ''}`)).toEqual([]);
      }
    }
  }, 60_000);

  it('a silence judged at its return is judged as it would have been while it lasted, and told for its length', async () => {
    const { det, last, threshold, resetAfter } = await history(1000);
    const live = judgeFor(det, last.ts, last.ts, 1200).curve;
    let before = 0;
    for (const missed of [resetAfter, resetAfter + 1, 101, 151, 301, 1001]) {
      // The same history again (deterministic), its book too (an explanation reads the readings around the silence).
      const { det: d, book } = await history(1000);
      const back = last.ts + (missed + 1) * SEC;
      const value = z2m(3);
      for (let k = 0; k < 1000 + missed; k++) value();
      const own = value();
      const out: Explained[] = [];
      const after = [{ ts: back, value: own }, ...Array.from({ length: 20 }, (_, i) => ({ ts: back + (i + 1) * SEC, value: value() }))];
      await feedExplained(d, book, 'living', 'sensors/living', after, out, false, 1000);
      const judged = live.find((j) => j.missed === missed);
      const opened = out.find((x) => x.ev.kind === 'open');
      if (judged === undefined) {
        // Not a gap: nothing judged while silent, nothing opened at its return.
        expect(missed).toBeLessThanOrEqual(resetAfter);
        expect(out).toEqual([]);
        continue;
      }
      // As a score (a surprise beyond ~15.6 is a score of 1 in a double: compared as scores).
      const score = opened === undefined ? 0 : opened.ev.peakScore;
      if (judged.deviation < threshold) expect(opened).toBeUndefined();
      else {
        expect(opened).toBeDefined();
        expect(score).toBeCloseTo(1 - 10 ** -judged.deviation, 12);
        expect(score).toBeGreaterThanOrEqual(before);
        before = score;
        // From the first missed step to the returning reading: the silence, not 0 s (finding 9's `LASTED 0s`);
        // opened at that reading, resolved once closeAfter readings are below, its end that reading.
        expect(opened!.ev).toMatchObject({ startTs: last.ts + SEC, endTs: back, windows: missed });
        expect(opened!.e?.kind).toBe('missing_data');
        expect(out.map((x) => x.ev.kind)).toEqual(['open', 'resolve']);
        expect(out[0].ev.endTs).toBe(back);
        expect(out[1].ev).toMatchObject({ anomalyId: opened!.ev.anomalyId, startTs: last.ts + SEC, endTs: back, resolution: 'recovered' });
        expect(out[1].e?.kind).toBe('missing_data');
      }
    }
    expect(before).toBeGreaterThanOrEqual(1 - 10 ** -threshold);
  }, 60_000);
});

describe('a periodic sensor whose readings are coarse (tryout 20, finding 6)', () => {
  /** The tryout's sim2: 5 + sin(i / 500) + noise (σ ≈ 0.07), rounded to `q`. */
  function sim2(seed: number, q: number): () => number {
    let s = seed;
    let i = 0;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    return () => {
      const v = 5 + Math.sin(++i / 500) + (rnd() + rnd() + rnd() + rnd() + rnd() + rnd() - 3) * 0.1;
      return Math.round(Math.round(v / q) * q * 100) / 100;
    };
  }

  /** The silence of stream `s` judged every `tick` ms from its last reading `last` for `span` ms: the curve and the first open. */
  function judged(det: Detector, s: string, last: number, tick: number, span: number): { curve: { missed: number; deviation: number }[]; opened: number | null } {
    const curve: { missed: number; deviation: number }[] = [];
    let opened: number | null = null;
    for (let el = tick; el <= span; el += tick) {
      const j = det.judgeSilence(s, last, last + el);
      if (Number.isFinite(j.deviation)) curve.push({ missed: j.missed, deviation: j.deviation });
      if (opened === null && j.events.some((e) => e.kind === 'open')) opened = j.missed;
    }
    return { curve, opened };
  }

  it.each([
    [0.1, 1],
    [0.5, 1],
    [0.1, 30],
    [0.5, 30],
  ])('to %s, one reading every %s s: 420 readings (most repeat the one before), then dead, alerted once its silence is a gap', async (q, every) => {
    const { det, book, resetAfter } = shipped();
    const value = sim2(5, q);
    const readings = Array.from({ length: 420 }, (_, i) => ({ ts: T0 + i * every * SEC, value: value() }));
    const out: Explained[] = [];
    await feedExplained(det, book, 'coarse', 'sensors/coarse', readings, out);
    expect(out).toEqual([]);
    const { curve, opened } = judged(det, 'coarse', readings[419].ts, 2 * SEC, 200 * every * SEC);
    // Judged from its first gap (on main: not at all, its runs of one value too few, 256 that ended, and too long
    // at 0.5, where a silence of hours is no longer than its usual runs).
    expect(curve[0]?.missed).toBe(resetAfter + 1);
    for (let i = 1; i < curve.length; i++) expect(curve[i].deviation).toBeGreaterThanOrEqual(curve[i - 1].deviation);
    // Every reading of its history came one interval after the one before: a gap is rare at once (66 s at 1 Hz,
    // 33 min at one reading every 30 s).
    expect(opened).toBe(resetAfter + 1);
  }, 60_000);

  it('one whose history has pauses (5 to 35 s, one in 500 readings) is judged on their tail: its surprise grows, alerted within a few minutes', async () => {
    const { det, book, threshold } = shipped();
    const value = sim2(7, 0.1);
    let ts = T0;
    const readings: { ts: number; value: number }[] = [];
    let s = 13;
    for (let i = 0; i < 3000; i++) {
      readings.push({ ts, value: value() });
      ts += SEC;
      if (i % 500 === 250) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        ts += Math.round(5 + (30 * s) / 4294967296) * SEC;
      }
    }
    const out: Explained[] = [];
    await feedExplained(det, book, 'paused', 'sensors/paused', readings, out);
    expect(out).toEqual([]);
    const { curve, opened } = judged(det, 'paused', readings[2999].ts, 2 * SEC, 600 * SEC);
    for (let i = 1; i < curve.length; i++) expect(curve[i].deviation).toBeGreaterThanOrEqual(curve[i - 1].deviation);
    expect(curve[curve.length - 1].deviation).toBeGreaterThan(curve[0].deviation + 1);
    expect(opened).not.toBeNull();
    expect(opened!).toBeLessThanOrEqual(180);
    expect(curve.find((j) => j.missed === opened)!.deviation).toBeGreaterThanOrEqual(threshold);
  }, 60_000);
});

describe('a dead sensor at any interval (issue 10)', () => {
  /** What the daemon passes as the span a link may stall unnoticed (one and a half of the shipped 30 s keepalive: silenceLinkMs). */
  const LINK = 45 * SEC;

  /**
   * Feeds the first `hist` of `readings`, then each later one after judging its silence every `tick` ms until it
   * comes (the daemon's ticks in its usual quiet), then judges its death after the last for `span` ms: the silence
   * episodes opened while it lived, and how long after its last reading its death opened one (null: never).
   */
  async function lifeAndDeath(readings: readonly { ts: number; value: number }[], hist: number, tick: number, span: number): Promise<{ live: number; dead: number | null }> {
    const { det, book } = shipped();
    const out: Explained[] = [];
    await feedExplained(det, book, 's', 'sensors/s', readings.slice(0, hist), out);
    let live = 0;
    for (let i = hist; i < readings.length; i++) {
      for (let t = readings[i - 1].ts + tick; t < readings[i].ts; t += tick) live += det.judgeSilence('s', readings[i - 1].ts, t, LINK).events.filter((e) => e.kind === 'open').length;
      await feedExplained(det, book, 's', 'sensors/s', [readings[i]], out, false, i);
    }
    expect(out.map((x) => x.e?.kind)).toEqual([]);
    const last = readings[readings.length - 1].ts;
    for (let el = tick; el <= span; el += tick) if (det.judgeSilence('s', last, last + el, LINK).events.some((e) => e.kind === 'open')) return { live, dead: el };
    return { live, dead: null };
  }

  function rng(seed: number): () => number {
    let s = seed;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
  }

  it.each([10, 60, 300])('one reading every %s s (jitter ±2 percent, 1 percent lost): no silence told while it lives, its death told within five intervals or the 45 s a link may stall', async (every) => {
    const rnd = rng(5);
    const I = every * SEC;
    const readings: { ts: number; value: number }[] = [];
    for (let i = 0; i < 3000; i++) if (rnd() > 0.01) readings.push({ ts: T0 + i * I + Math.round((rnd() - 0.5) * 0.04 * I), value: Math.round((21 + Math.sin(i / 50) + 0.3 * (rnd() - 0.5)) * 10) / 10 });
    const { live, dead } = await lifeAndDeath(readings, 1000, Math.max(2 * SEC, I / 10), 12 * 3600 * SEC);
    if (process.env.SILENCE_CURVE === '1') console.log(`dead told after ${dead === null ? 'never' : `${dead / SEC} s`}`);
    expect(live).toBe(0);
    // On main after 65 intervals (11 min, 66 min, 5.5 h).
    expect(dead).not.toBeNull();
    expect(dead!).toBeLessThanOrEqual(Math.max(LINK, 5 * I) + Math.max(2 * SEC, I / 10));
  }, 120_000);

  it('a coarse one (to 0.5, every 5 min) told while silent and back within resetAfter intervals, its value unchanged: resolved at its return, its filled steps no run (nothing more opens)', async () => {
    const { det, book } = shipped();
    const I = 300 * SEC;
    let s = 5;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const value = (i: number): number => Math.round((5 + Math.sin(i / 500) + (rnd() + rnd() + rnd() + rnd() + rnd() + rnd() - 3) * 0.1) * 2) / 2;
    const readings = Array.from({ length: 420 }, (_, i) => ({ ts: T0 + i * I, value: value(i) }));
    const out: Explained[] = [];
    await feedExplained(det, book, 'c', 'sensors/c', readings, out);
    expect(out).toEqual([]);
    const last = readings[419];
    let el = 0;
    for (el = 2 * SEC; el <= 12 * 3600 * SEC; el += 30 * SEC) {
      const j = det.judgeSilence('c', last.ts, last.ts + el, LINK);
      for (const ev of j.events) out.push({ ev, e: book.explain(ev) });
      if (j.events.length > 0) break;
    }
    expect(out.map((x) => [x.ev.kind, x.e?.kind])).toEqual([['open', 'missing_data']]);
    // Back 30 intervals after its death (filled steps, no gap), its first value the last one, then its own values.
    const back = last.ts + 31 * I;
    const next = [{ ts: back, value: last.value }, ...Array.from({ length: 40 }, (_, i) => ({ ts: back + (i + 1) * I, value: value(420 + 31 + i) }))];
    await feedExplained(det, book, 'c', 'sensors/c', next, out, false, 420);
    expect(out.map((x) => [x.ev.kind, x.e?.kind ?? null])).toEqual([
      ['open', 'missing_data'],
      ['resolve', expect.anything()],
    ]);
  }, 60_000);

  it.each([
    [0.5, 50],
    [0.2, 50],
    [0.1, 30],
  ])('report-on-change (sent when it moved by %s °C, else a heartbeat every %s min): no silence told in its usual quiet, its death told after its heartbeat, within four of them', async (step, heartbeat) => {
    const rnd = rng(21);
    const readings: { ts: number; value: number }[] = [];
    let drift = 0;
    let lastAt = -Infinity;
    let told = Infinity;
    for (let m = 0; m < 20 * 24 * 60; m++) {
      drift += (rnd() - 0.5) * 0.08;
      const t = 20 + 3 * Math.sin((2 * Math.PI * m) / (24 * 60)) + drift;
      if (Math.abs(t - told) >= step || m - lastAt >= heartbeat) {
        told = Math.round(t * 10) / 10;
        lastAt = m;
        readings.push({ ts: T0 + m * 60 * SEC, value: told });
      }
    }
    const { live, dead } = await lifeAndDeath(readings, Math.floor(readings.length / 2), 60 * SEC, 24 * 3600 * SEC);
    if (process.env.SILENCE_CURVE === '1') console.log(`dead told after ${dead === null ? 'never' : `${dead / SEC} s`}`);
    expect(live).toBe(0);
    // On main never in 24 h at a 50 min heartbeat (the interval learnt is the heartbeat: 24 h is 28 of them).
    expect(dead).not.toBeNull();
    expect(dead!).toBeGreaterThan(heartbeat * 60 * SEC);
    expect(dead!).toBeLessThanOrEqual(4 * heartbeat * 60 * SEC);
  }, 120_000);
});

describe('a report-on-change sensor dies (a zigbee2mqtt room sensor: 0.5 °C, a heartbeat every 50 min)', () => {
  const LINK = 45 * SEC;
  const MIN = 60 * SEC;
  const HEARTBEAT = 50 * MIN;

  /** Minutes after its last reading at which the daemon's judgement (every minute) opens its death; null: not in 12 h. */
  function toldAfter(det: Detector, last: number): number | null {
    for (let el = MIN; el <= 12 * 60 * MIN; el += MIN) if (det.judgeSilence('s', last, last + el, LINK).events.some((e) => e.kind === 'open')) return el;
    return null;
  }

  // Read every 10 s (it flickers by a step where its level crosses one, and keeps quiet up to its heartbeat), dead from
  // day 3 at 10:00. On main told after 3.6 heartbeats or more (a 2 h death replayed: not told in 5 of 5 seeds).
  it.each([3, 7])('read every 10 s (seed %s): its quiet while it lives opens nothing, its death is told once it has missed two heartbeats, and so after a restart from its checkpoint', async (seed) => {
    const { det, book } = shipped();
    const rows = reportOnChange({ seed, start: T0, sampleMs: 10 * SEC, spanMs: 3 * 24 * 60 * MIN + 10 * 60 * MIN });
    const readings = rows.map(([ts, value]) => ({ ts, value }));
    const out: Explained[] = [];
    const day = readings.findIndex((r) => r.ts >= T0 + 24 * 60 * MIN);
    await feedExplained(det, book, 's', 'sensors/s', readings.slice(0, day), out);
    // From its second day on, its silence judged every 5 minutes between readings, as the daemon's ticks do.
    let live = 0;
    for (let i = day; i < readings.length; i++) {
      for (let t = readings[i - 1].ts + 5 * MIN; t < readings[i].ts; t += 5 * MIN) live += det.judgeSilence('s', readings[i - 1].ts, t, LINK).events.filter((e) => e.kind === 'open').length;
      await feedExplained(det, book, 's', 'sensors/s', [readings[i]], out, false, i);
    }
    expect(out.map((x) => x.e?.kind)).toEqual([]);
    expect(live).toBe(0);
    const state = JSON.parse(JSON.stringify(det.snapshot('s'))) as { scorer: Record<string, unknown> };
    const last = readings[readings.length - 1].ts;
    const told = toldAfter(det, last);
    if (process.env.SILENCE_CURVE === '1') console.log(`seed ${seed}: dead told after ${told === null ? 'never' : `${told / MIN} min`}`);
    // Two heartbeats missed: more than two of them (one lost heartbeat is no death), and within two and a half.
    expect(told).not.toBeNull();
    expect(told!).toBeGreaterThan(2 * HEARTBEAT);
    expect(told!).toBeLessThanOrEqual(2.5 * HEARTBEAT);
    // Restored from its checkpoint (its longest quiet, when it was set, its latest arrival): told at the same minute.
    const restored = shipped().det;
    expect(restored.restore('s', state)).toEqual([]);
    expect(toldAfter(restored, last)).toBe(told);
    // From a checkpoint written before they were kept, its heartbeat is learnt again, and its silence judged on its
    // arrivals alone meanwhile: told at another minute (the test reaches the checkpointed heartbeat).
    const older = shipped().det;
    const { quietestMs: _q, quietestAt: _a, lastArrival: _l, ...scorer } = state.scorer;
    expect(older.restore('s', { ...state, scorer })).toEqual([]);
    expect(toldAfter(older, last)).not.toBe(told);
  }, 120_000);
});
