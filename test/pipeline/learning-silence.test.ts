/**
 * A silence in a stream's learning period, judged while it lasts (Detector.judgeSilence with the stream's interval
 * settled: Cadence.settled; StreamScorer.judgeSilence, `settled`). Finding: a sensor that died in its first 256
 * readings was never judged (its learning never ended: no reading came; README's limitation, a tryout's "no MQTT
 * missing-data alert"). The detector the daemon runs (the shipped configuration, no model) in virtual time, judged as
 * the daemon's tick does (linkMs 45 s). A periodic stream with its interval settled is told a few of its intervals
 * after its death, at 10 s, 1 min and 5 min, jittered, with values that repeat; one with fewer readings than its
 * interval needs to settle is not judged; a report-on-change sensor's usual quiet through its learning period opens
 * nothing, and its death in it is told.
 */
import { describe, expect, it } from 'vitest';
import type { SignalBook } from '../../src/daemon/signals.js';
import { Cadence, INTERVAL_SAMPLES } from '../../src/pipeline/cadence.js';
import type { Detector } from '../../src/pipeline/detector.js';
import { feedExplained, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';
import { reportOnChange } from '../helpers/report-on-change.js';
import { shippedDetector } from '../helpers/shipped-detector.js';
import { LINK_MS, openedAfter } from '../helpers/silence.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** The shipped model-less detector and its book (shippedDetector), and its learning period (score.learnReadings, readings). */
function shipped(): { det: Detector; book: SignalBook; learnReadings: number } {
  const { det, book, config } = shippedDetector();
  return { det, book, learnReadings: config.score.learnReadings };
}

/** `n` readings every `interval` ms, ±10 % jitter, a room temperature to 0.1 °C (its values repeat often). */
function periodic(seed: number, interval: number, n: number): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  return Array.from({ length: n }, (_, i) => ({ ts: T0 + i * interval + Math.round((rnd() - 0.5) * 0.2 * interval), value: Math.round((21 + 0.4 * rnd()) * 10) / 10 }));
}

describe('Cadence.settled', () => {
  it(`is false until ${INTERVAL_SAMPLES} gaps are learnt, duplicates and readings at the same time not counted; true at once with a configured interval`, () => {
    const c = new Cadence({ intervalMs: 0, resetAfter: 4 });
    c.place(T0);
    for (let i = 1; i < INTERVAL_SAMPLES; i++) {
      c.place(T0 + i * MIN);
      c.place(T0 + i * MIN); // a duplicate
      c.place(T0 + i * MIN, true, true); // a reading of its own at the same time
    }
    expect(c.intervalMs).toBe(MIN);
    expect(c.settled).toBe(false);
    c.place(T0 + INTERVAL_SAMPLES * MIN);
    expect(c.settled).toBe(true);
    expect(Cadence.fromJSON(c.toJSON(), { intervalMs: 0, resetAfter: 4 }).settled).toBe(true);
    expect(new Cadence({ intervalMs: MIN, resetAfter: 4 }).settled).toBe(true);
  });
});

describe('a silence in the learning period', () => {
  for (const interval of [10 * SEC, MIN, 5 * MIN]) {
    it(`read every ${interval / SEC} s: with ${INTERVAL_SAMPLES + 2}, 64 and 250 readings, told 3 to 8 of its intervals after its last reading`, async () => {
      for (const n of [INTERVAL_SAMPLES + 2, 64, 250]) {
        const { det, book, learnReadings } = shipped();
        const readings = periodic(n, interval, n);
        const out: Explained[] = [];
        await feedExplained(det, book, 's', 'sensors/s', readings, out);
        expect(n).toBeLessThan(learnReadings);
        expect(det.learning('s')).toBe(true);
        expect(det.silenceJudged('s')).toBe(true);
        expect(out).toEqual([]);
        const at = openedAfter(det, 's', readings[n - 1].ts, 20 * interval, 2 * SEC);
        expect(at).toBeGreaterThan(2 * interval);
        expect(at).toBeLessThanOrEqual(8 * interval);
        expect(det.silenceOpen('s')).toBe(true);
      }
    });
  }

  for (const sampleMs of [10 * SEC, MIN, 5 * MIN]) {
    it(`a report-on-change sensor read every ${sampleMs / SEC} s (0.5 °C, 50 min heartbeat): its quiet through its learning period opens nothing; dead after 120 readings, told within a day`, async () => {
      for (const seed of [3, 7, 29]) {
        const { det, book } = shipped();
        const rows = reportOnChange({ seed, start: T0, spanMs: 3 * 24 * HOUR, sampleMs });
        const out: Explained[] = [];
        let judged = 0;
        // Each reading at its time; between readings the daemon's tick each minute, until its learning period ends.
        for (let i = 0; i < rows.length && (i < 3 || det.learning('s')); i++) {
          await feedExplained(det, book, 's', 'sensors/s', [{ ts: rows[i][0], value: rows[i][1] }], out, false, i);
          const next = i + 1 < rows.length ? rows[i + 1][0] : rows[i][0];
          for (let t = rows[i][0] + MIN; t < next; t += MIN) {
            const j = det.judgeSilence('s', rows[i][0], t, LINK_MS);
            if (Number.isFinite(j.deviation)) judged++;
            for (const ev of j.events) out.push({ ev, e: book.explain(ev) });
          }
        }
        expect(judged).toBeGreaterThan(0);
        expect(out.filter((o) => o.ev.kind === 'open')).toEqual([]);

        const dead = shipped();
        const k = 120;
        await feedExplained(dead.det, dead.book, 's', 'sensors/s', rows.slice(0, k).map(([ts, value]) => ({ ts, value })), []);
        expect(dead.det.learning('s')).toBe(true);
        const at = openedAfter(dead.det, 's', rows[k - 1][0], 24 * HOUR, MIN);
        expect(at).toBeGreaterThan(50 * MIN);
      }
    }, 120_000);
  }
});
