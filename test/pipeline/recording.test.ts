/**
 * A new recording (Detector.newRecording): what the detector resets when a stream's continuity is broken, and what
 * it keeps. The detector the daemon runs (the shipped configuration, no model: the step engine's model state is
 * still its own, counted by segmentSteps), a noisy stream, then one more reading that repeats its last value: marked as a new recording on one detector, not on another given the same readings. Read through
 * the outputs and the checkpoint state (Detector.snapshot), which holds every part of a stream's state.
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RawMessage } from '../../src/contract/types.js';
import { Detector, detectorOptions, type DetectorOutput } from '../../src/pipeline/detector.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import type { StreamEngineSnapshot } from '../../src/pipeline/steps.js';
import type { StreamScoreSnapshot } from '../../src/pipeline/scorer.js';
import { shippedConfig } from '../helpers/daemon.js';
import { normal } from './detector-helpers.js';

type ReadingOutput = Extract<DetectorOutput, { type: 'reading' }>;

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;
/** Readings of the first recording (well past the shipped learnReadings). */
const H = 600;

function detector(): Detector {
  const config = shippedConfig();
  let ids = 0;
  return new Detector(detectorOptions(config), { parser: new MessageParser(parseOptionsOf(config)), modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
}

let seq = 0;
/** Feeds readings (one message each) and resolves with their outputs once scored; `before(i)` runs before message i. */
async function feed(det: Detector, readings: readonly { ts: number; value: number }[], before?: (i: number) => void): Promise<ReadingOutput[]> {
  const out: ReadingOutput[] = [];
  const input = new Subject<RawMessage>();
  const done = new Promise<void>((resolve, reject) => {
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type === 'reading') out.push(o);
        else if (o.type === 'error') reject(new Error(o.detail));
      },
      error: reject,
      complete: resolve,
    });
  });
  readings.forEach((r, i) => {
    before?.(i);
    input.next({ topic: 'sensors/s', payload: Buffer.from(JSON.stringify({ ts: r.ts, value: r.value })), receivedAt: r.ts, seq: seq++ });
  });
  input.complete();
  await done;
  return out;
}

function history(): { ts: number; value: number }[] {
  const draw = normal(11);
  // To 0.1 at a noise of 0.5: a value repeats now and then (a run of 2 or 3 is the stream's own, no freeze).
  return Array.from({ length: H }, (_, i) => ({ ts: T0 + i * SEC, value: Math.round((20 + 0.5 * draw()) * 10) / 10 }));
}

const engineOf = (det: Detector): StreamEngineSnapshot => det.snapshot('s').engine as StreamEngineSnapshot;
const scorerOf = (det: Detector): StreamScoreSnapshot => det.snapshot('s').scorer as StreamScoreSnapshot;

describe('a new recording', () => {
  it('resets the model state, the previous reading, the short means and the runs; keeps the normalisation, the histories and the interval', async () => {
    const rows = history();
    const last = rows[H - 1];
    const marked = detector();
    const joined = detector();
    await feed(marked, rows);
    await feed(joined, rows);
    const before = { engine: engineOf(marked), scorer: scorerOf(marked), interval: marked.intervalOf('s') };
    // No episode open at the boundary (what is reset is then the boundary's doing alone).
    expect(before.scorer.episode).toBeNull();
    expect(before.interval).toBe(SEC);
    // The next reading, one interval later, repeats the last value: on one detector it begins a new recording.
    const next = [{ ts: last.ts + SEC, value: last.value }];
    const [m] = await feed(marked, next, () => marked.newRecording('s'));
    const [j] = await feed(joined, next);

    // Reset: a new segment (the model state: its steps since a reset start over), no previous reading (no
    // change, no spread, no run across the boundary: the run starts over at 1), the short means start over.
    expect(m.reset).toBe(true);
    expect(j.reset).toBe(false);
    expect(engineOf(marked).segmentSteps).toBe(1);
    expect(engineOf(joined).segmentSteps).toBe(before.engine.segmentSteps + 1);
    expect(engineOf(marked).prevPred).toBeNull();
    expect(Number.isNaN(m.evidence.change)).toBe(true);
    expect(Number.isNaN(m.evidence.stuck)).toBe(true);
    expect(Number.isFinite(j.evidence.change)).toBe(true);
    expect(Number.isFinite(j.evidence.stuck)).toBe(true);
    expect(scorerOf(marked).run).toEqual([1]);
    expect(scorerOf(joined).run).toEqual([before.scorer.run[0] + 1]);
    expect(scorerOf(marked).meanCount).toBe(1);
    expect(scorerOf(joined).meanCount).toBe(before.scorer.meanCount + 1);

    // Kept: the stream is not learning again (judged at once), the normalisation goes on learning (not seeded
    // anew), the learnt interval, the long-term variability of changes, the value histograms and the histories of
    // evidence (the same, or grown by this reading: never started over).
    expect(m.reading.status).toBe('ok');
    expect(marked.learning('s')).toBe(false);
    expect(engineOf(marked).normCount).toBe(before.engine.normCount + 1);
    expect(engineOf(marked).mean).toEqual(engineOf(joined).mean);
    expect(marked.intervalOf('s')).toBe(SEC);
    expect(scorerOf(marked).longVar).toEqual(before.scorer.longVar);
    expect(scorerOf(marked).values).toEqual(scorerOf(joined).values);
    expect(scorerOf(marked).seen).toBe(before.scorer.seen + 1);
    const count = (t: unknown): number => JSON.stringify(t).length;
    expect(count(scorerOf(marked).reference)).toBeGreaterThanOrEqual(count(before.scorer.reference));
  });

  it('is no silence: a new recording that begins long after the last carries no stuck evidence, where a gap does', async () => {
    const rows = history();
    const marked = detector();
    const gap = detector();
    await feed(marked, rows);
    await feed(gap, rows);
    // Two hours later (far beyond window.resetAfter intervals): a gap on one detector, a new recording on the other.
    const next = [{ ts: rows[H - 1].ts + 7200 * SEC, value: 20 }];
    const [m] = await feed(marked, next, () => marked.newRecording('s'));
    const [g] = await feed(gap, next);
    expect(m.reset).toBe(true);
    expect(g.reset).toBe(true);
    expect(Number.isNaN(m.evidence.stuck)).toBe(true);
    expect(m.events).toEqual([]);
    // The gap is judged as a silence, on its own (StreamScorer.silenceOf): two hours of a noisy 1 Hz stream is rare,
    // a missing-data episode opened at its end.
    expect(g.events.map((e) => e.kind)).toEqual(['open']);
    expect(g.events[0]?.evidence?.stuck ?? Number.NaN).toBeGreaterThan(0);
    // The time between the recordings is not learnt as one of the stream's gaps between readings.
    const gaps = (d: Detector): number[] => (d.snapshot('s').cadence as { gaps: number[] }).gaps;
    expect(gaps(marked)).not.toContain(7200 * SEC);
    expect(gaps(gap)).toContain(7200 * SEC);
    // The next reading is the new recording's second: a step of the stream again, no second reset.
    const [m2] = await feed(marked, [{ ts: next[0].ts + SEC, value: 20.1 }]);
    expect(m2.reset).toBe(false);
    expect(Number.isFinite(m2.evidence.change)).toBe(true);
  });
});
