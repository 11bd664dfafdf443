/**
 * Tryout 27, finding 4: on a sensor read every 5 minutes, a short fault (a spike of a few readings, a step of a few
 * that returns) was told as an episode 3 to 7 times as long as the fault: its end (the stored record's `end`, the
 * resolve alert's `end`, LASTED) was the first reading after the last one that held the episode, and the short means
 * (2 · score.smooth − 1 = 31 readings) held it long after the readings were back. Through the detector the daemon
 * runs (the shipped configuration and GRU model) and the daemon's SignalBook (resolvedEnd: what is stored and sent).
 */
import { describe, expect, it } from 'vitest';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 0, 12, 0, 0, 0);
const DAY = 86_400_000;

/** A fault: its first reading's index, its length in readings and its offset (°C). */
interface Fault {
  readonly at: number;
  readonly length: number;
  readonly offset: number;
}

/**
 * Replays `count` readings of a room temperature every `intervalMs` (a daily cycle of ±2 °C and noise of 0.1 °C,
 * rounded to 0.01, seed `seed`) with `faults` added, and returns the detector's events and each resolve's end as the
 * daemon stores and sends it (SignalBook.resolvedEnd).
 */
async function replay(intervalMs: number, count: number, faults: readonly Fault[], seed: number): Promise<{ events: AnomalyEvent[]; ends: Map<string, number>; ts: (i: number) => number }> {
  const { det, book } = await shippedDetector();
  const rnd = lcg(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  const ts = (i: number): number => T0 + i * intervalMs;
  const offset = (i: number): number => faults.reduce((sum, f) => sum + (i >= f.at && i < f.at + f.length ? f.offset : 0), 0);
  const readings = Array.from({ length: count }, (_, i) => ({ ts: ts(i), value: Math.round((21 + 2 * Math.sin((2 * Math.PI * (ts(i) - T0)) / DAY) + 0.1 * gauss() + offset(i)) * 100) / 100 }));
  const out: Explained[] = [];
  await feedExplained(det, book, 'room', 'sensors/room', readings, out);
  const events = out.map((x) => x.ev);
  const ends = new Map(events.filter((e) => e.kind === 'resolve').map((e) => [e.anomalyId, book.resolvedEnd(e)] as const));
  return { events, ends, ts };
}

describe.skipIf(!builtAndModelsPresent())('the end of a short fault’s episode', () => {
  for (const [label, intervalMs, count, spikeAt, stepAt] of [
    ['every 5 minutes', 300_000, 1100, 700, 900],
    ['every minute', 60_000, 1100, 700, 900],
    ['every second', 1000, 1100, 700, 900],
  ] as const) {
    it(`is the fault's end, not the short means' (${label})`, async () => {
      const faults: Fault[] = [
        { at: spikeAt, length: 3, offset: 4 },
        { at: stepAt, length: 6, offset: 3 },
      ];
      const { events, ends, ts } = await replay(intervalMs, count, faults, 27);
      for (const f of faults) {
        const open = events.find((e) => e.kind === 'open' && e.startTs >= ts(f.at) && e.startTs < ts(f.at + f.length));
        expect(open, `${label}: an episode opens in the fault at ${f.at}`).toBeDefined();
        const resolve = events.find((e) => e.kind === 'resolve' && e.anomalyId === open!.anomalyId);
        expect(resolve, `${label}: the episode at ${f.at} resolves`).toBeDefined();
        const end = ends.get(open!.anomalyId)!;
        // The first reading back is the fault's end: the episode's end (stored, sent, LASTED) is within a reading of it,
        // and its length in readings within one of the fault's (on main: 30 readings after it at 1 Hz, 3 at 5 minutes).
        expect(end, `${label}: the end of the episode at ${f.at}`).toBeGreaterThanOrEqual(ts(f.at + f.length - 1));
        expect(end, `${label}: the end of the episode at ${f.at}`).toBeLessThanOrEqual(ts(f.at + f.length + 1));
        expect(resolve!.windows, `${label}: the length of the episode at ${f.at}`).toBeLessThanOrEqual(f.length + 1);
        // One episode per fault: none opened again by the short means that still held it.
        expect(events.filter((e) => e.kind === 'open' && e.startTs >= ts(f.at) && e.startTs < ts(f.at + 60)), label).toHaveLength(1);
      }
    }, 180_000);
  }
});
