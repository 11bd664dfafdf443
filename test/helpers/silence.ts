/**
 * Judging a stream's silence in virtual time, as the daemon's tick does (src/daemon.ts: Detector.judgeSilence every
 * tick between arrivals), for the pipeline tests of silences: test/pipeline/learning-silence, young-silence,
 * young-death, young-roc-death and roc-boot-silence.
 */
import type { SignalBook } from '../../src/daemon/signals.js';
import type { Detector } from '../../src/pipeline/detector.js';
import { feedExplained, type Explained } from './explained.js';

/** The daemon's linkMs at the default keepalive (Daemon.silenceLinkMs: 1.5 × 30 s), in ms. */
export const LINK_MS = 45_000;

/**
 * Judges `stream`'s silence after its last reading (arrived at `arrived`, epoch ms) every `step` ms up to `upTo` ms
 * after it.
 * @returns the ms after `arrived` at which the silence opened an episode, or -1 when it did not within `upTo`
 */
export function openedAfter(det: Detector, stream: string, arrived: number, upTo: number, step: number, linkMs = LINK_MS): number {
  for (let t = step; t <= upTo; t += step) if (det.judgeSilence(stream, arrived, arrived + t, linkMs).events.some((e) => e.kind === 'open')) return t;
  return -1;
}

/**
 * Feeds readings (epoch ms, one value each) of sensor `s` on topic `sensors/s` one at a time, with the daemon's tick
 * judging the silence every `tick` ms between them.
 * @returns every event told and its explanation, in order
 * @throws (rejects) Error with the detector's error detail
 */
export async function feedTicked(det: Detector, book: SignalBook, readings: readonly { ts: number; value: number }[], tick: number, linkMs = LINK_MS): Promise<Explained[]> {
  const out: Explained[] = [];
  for (let i = 0; i < readings.length; i++) {
    await feedExplained(det, book, 's', 'sensors/s', [readings[i]], out, false, i);
    if (i + 1 < readings.length) for (let t = readings[i].ts + tick; t < readings[i + 1].ts; t += tick) for (const ev of det.judgeSilence('s', readings[i].ts, t, linkMs).events) out.push({ ev, e: book.explain(ev) });
  }
  return out;
}
