/**
 * Two recordings of one sensor replayed as one stream, the second one interval after the first (the evaluation's
 * MSL protocol: a channel's train file, then its test file). The first recording ends at the top of its cycle, the
 * second begins at the bottom: a step of the signal's whole range that neither recording makes. Marked as a new
 * recording (ReplayRow.newRecording, Detector.newRecording), the step is not the stream's: no alarm at it. Not
 * marked, the same rows are one continuous stream whose step is a change 60 times its usual: alarmed.
 *
 * Through the detector the daemon runs (runReplay, as `anomalyd replay --learn-first N`), with the shipped
 * configuration: a model learnt on the first recording (its rows known normal), scored from the second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { modelSidecarPath } from '../../src/daemon.js';
import type { ReplayOutput, ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';
import type { TrainOptions, TrainResult, TrainSeries } from '../../src/train/trainer.js';
import { trainModel } from '../../src/train/trainer.js';
import { normal } from '../pipeline/detector-helpers.js';
import { shippedConfig } from '../helpers/daemon.js';

/** Readings per cycle, the recordings' lengths (whole cycles plus a half: the first ends at its top). */
const PERIOD = 100;
const FIRST = 15 * PERIOD + PERIOD / 4;
const SECOND = 6 * PERIOD;
const NOISE = 0.01;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The two recordings, the second's rows one interval after the first's; `mark`: its first row is marked. */
function recordings(mark: boolean): ReplayRow[] {
  const draw = normal(3);
  const t0 = Date.UTC(2026, 0, 1);
  const rows: ReplayRow[] = [];
  const channels = ['value'];
  // The first ends at the top of its cycle (phase 1/4), the second begins at the bottom (phase 3/4).
  for (let i = 0; i < FIRST; i++) rows.push({ sensor: 's', ts: t0 + i * 1000, channels, values: [Math.sin((2 * Math.PI * (i + 1)) / PERIOD) + NOISE * draw()] });
  for (let j = 0; j < SECOND; j++) {
    const row: ReplayRow = { sensor: 's', ts: t0 + (FIRST + j) * 1000, channels, values: [Math.sin((2 * Math.PI * (j + (3 * PERIOD) / 4)) / PERIOD) + NOISE * draw()] };
    rows.push(mark && j === 0 ? { ...row, newRecording: true } : row);
  }
  return rows;
}

/** One model for both runs (training is deterministic; once is enough). */
let trained: Promise<TrainResult> | null = null;
const trainer = (series: TrainSeries, opts: TrainOptions): Promise<TrainResult> => (trained ??= Promise.resolve(trainModel(series, opts)));

async function replay(rows: readonly ReplayRow[]): Promise<ReplayOutput[]> {
  const config = shippedConfig();
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-recordings-'));
  dirs.push(dir);
  const out: ReplayOutput[] = [];
  await runReplay(rows, { config, learnRows: FIRST, loadModel, shippedModel: modelSidecarPath(config), dir, trainer }, (o) => out.push(o));
  expect(out.length).toBe(rows.length);
  return out;
}

describe('two recordings replayed as one stream', () => {
  it('the step between them is not alarmed when the second is marked a new recording, and is when it is not', { timeout: 120_000 }, async () => {
    const marked = await replay(recordings(true));
    const joined = await replay(recordings(false));
    const alarmedAt = (out: readonly ReplayOutput[]): number[] => out.flatMap((o, i) => (o.anomaly ? [i - FIRST] : []));
    // Not marked: the step is the stream's own, alarmed at it.
    expect(alarmedAt(joined)[0]).toBe(0);
    // Marked: the second recording raises nothing, at the step or after it.
    expect(alarmedAt(marked)).toEqual([]);
    // Both score the second recording (none of it is learning).
    expect(marked.slice(FIRST).every((o) => o.status !== 'learning')).toBe(true);
  });
});
