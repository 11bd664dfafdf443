/**
 * Issue 10's time-scale test, the part that is the detector's alone: the same recording re-stamped 1 s, 1 min,
 * 5 min and 1 h apart with ONE seed (so the same rows jittered, dropped and delivered twice) gives the same
 * alarms and the same scores, row by row, at every scale. Every duration the detector uses is counted in the
 * stream's own intervals; a constant in milliseconds (a gap, a fill, a warm-up, an episode's length, a cooldown
 * …) or a float effect of the time stamps' size would make one scale differ.
 *
 * Through the detector as `npm run evaluate` runs it: evaluateStream, the replay, a model learnt per stream on
 * the learning rows (trained once: a training does not depend on time stamps), the shipped configuration. The
 * recording has what the scales must treat alike: a periodic stream with a spike and a lasting level shift, a
 * stream with a frozen stretch, one that misses readings now and then (report-on-change, empty cells) and
 * a silence of the whole recording longer than `window.resetAfter` readings (a gap that resets the streams).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { modelSidecarPath } from '../../src/daemon.js';
import { compareRows, evaluateStream, loadEvalConfig, type FileRun } from '../../src/eval/evaluate.js';
import { memoTrainer } from '../../src/eval/memo-trainer.js';
import { replayDetector } from '../../src/eval/replay-detector.js';
import type { EvalStream, StreamRow } from '../../src/eval/stream.js';
import { rescaleStream, TIME_SCALES, type TimeScale } from '../../src/eval/transform.js';
import { normal } from '../pipeline/detector-helpers.js';
import { ROOT } from '../helpers/daemon.js';

const ROWS = 2400;
const LEARN = 600;
/** The recording's silence: longer than the shipped `window.resetAfter` (64 readings). */
const GAP_AT = 1500;
const GAP = 100;

/** The recording, 1 s apart as recorded (the transform re-stamps it), seeded. */
function recording(): EvalStream {
  const draw = normal(7);
  const channels = Object.freeze(['cycle', 'walk', 'sparse']);
  const t0 = Date.UTC(2026, 0, 1);
  const rows: StreamRow[] = [];
  const labels = new Uint8Array(ROWS);
  let walk = 0;
  let frozen = 0;
  for (let i = 0; i < ROWS; i++) {
    let cycle = 10 + 2 * Math.sin((2 * Math.PI * i) / 48) + 0.1 * draw();
    if (i === 900) cycle += 3; // a spike
    if (i >= 1900 && i < 2100) cycle += 1.5; // a lasting level shift
    walk = 0.98 * walk + 0.2 * draw();
    if (i === 1200) frozen = walk;
    const w = i >= 1200 && i < 1300 ? frozen : walk; // a frozen stretch
    // Every 7th reading of the sparse stream is missing (an empty cell): a silence of one step, held.
    const sparse = i % 7 === 3 ? Number.NaN : 50 + Math.round(4 * Math.sin(i / 60) + draw());
    for (const [a, b] of [
      [900, 901],
      [1200, 1300],
      [1900, 2100],
    ]) {
      if (i >= a && i < b) labels[i] = 1;
    }
    rows.push({ sensor: 'unit', ts: t0 + (i < GAP_AT ? i : i + GAP) * 1000, channels, values: [cycle, w, sparse] });
  }
  return { dataset: 'synthetic', file: 'scales.csv', rows, learnRows: LEARN, scoreFrom: LEARN, labels, windows: [] };
}

describe('the time-scale test with one seed: every scale alike', () => {
  it('gives each row the same alarm and the same score at 1 s, 1 min, 5 min and 1 h', async () => {
    const config = loadEvalConfig(join(ROOT, 'config', 'default.yaml'), ROOT);
    const detector = replayDetector({ loadModel, shippedModel: () => modelSidecarPath({ ...config, model: { ...config.model, dir: join(ROOT, 'models') } }), trainer: memoTrainer().train });
    const stream = recording();
    const runs = new Map<TimeScale, FileRun>();
    for (const scale of ['1s', '1m', '5m', '1h'] as const) {
      const scaled = rescaleStream(stream, TIME_SCALES[scale], 3);
      runs.set(scale, await evaluateStream(scaled, detector, config));
    }
    const first = runs.get('1s')!;
    expect(first.result.error).toBeNull();
    // Not vacuous: episodes open, and the transform dropped and duplicated scored rows.
    const onsets = first.alarm.reduce((a, x, j) => a + (x === 1 && (j === 0 || first.alarm[j - 1] === 0) ? 1 : 0), 0);
    expect(onsets).toBeGreaterThanOrEqual(2);
    expect(first.origin.length).not.toBe(ROWS - LEARN);
    for (const scale of ['1m', '5m', '1h'] as const) {
      const c = compareRows(first, runs.get(scale)!);
      expect({ scale, comparable: c.comparable, alarmRows: c.alarmRows }).toEqual({ scale, comparable: true, alarmRows: 0 });
      expect(c.maxScoreDelta).toBeLessThan(1e-9);
    }
  }, 120_000);
});
