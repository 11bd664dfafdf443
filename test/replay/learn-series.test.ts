/**
 * What a stream's model learns from in `anomalyd replay --learn-first N` / `npm run evaluate`: its readings among
 * the first N rows, as the daemon's learner takes them (src/learn/learner.ts: not a duplicate). A reading
 * delivered twice with the same time stamp (a QoS 1 redelivery; the time-scale test's duplicates) is not a
 * step of the detector (cadence.ts) and not a reading the daemon learns from, so it is not a training step
 * either: before, the replay trained on it, and a model learnt on a recording with one duplicated learning
 * row differed from the model of the recording without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { loadConfig } from '../../src/config/load.js';
import { modelSidecarPath } from '../../src/daemon.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';
import type { TrainSeries } from '../../src/train/trainer.js';
import { trainingRowsOf } from '../../src/learn/gate.js';
import { MODELS, ROOT } from '../helpers/daemon.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The training series runReplay asks for (the trainer refuses, so every stream falls back to the shipped model). */
async function learnt(rows: readonly ReplayRow[], learnRows: number): Promise<Map<string, TrainSeries>> {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { model: { dir: MODELS } } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const config = loaded.config;
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-learn-series-'));
  dirs.push(dir);
  const seen = new Map<string, TrainSeries>();
  await runReplay(
    rows,
    {
      config,
      learnRows,
      loadModel,
      shippedModel: modelSidecarPath(config),
      dir,
      trainer: (series, opts) => {
        seen.set(opts.source ?? '', { ...series, values: series.values.slice(), ...(series.timestamps ? { timestamps: series.timestamps.slice() } : {}) });
        return Promise.reject(new RangeError('not trained in this test'));
      },
      warn: () => undefined,
    },
    () => undefined,
  );
  return seen;
}

describe('the replay’s training series', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const rows: ReplayRow[] = Array.from({ length: 200 }, (_, i) => ({ sensor: 's', ts: t0 + i * 60_000, channels: ['value'], values: [Math.sin(i / 5)] }));

  it('leaves out a learning row delivered twice with the same time stamp', async () => {
    const twice = [...rows.slice(0, 50), rows[49], ...rows.slice(50)];
    const [plain] = [...(await learnt(rows, 150)).values()];
    const [withDuplicate] = [...(await learnt(twice, 151)).values()];
    // The device's path trains on the older part of the 150 readings (the newest are the gate's: trainingRowsOf).
    expect(plain.values.length).toBe(trainingRowsOf(150));
    expect(Array.from(withDuplicate.values)).toEqual(Array.from(plain.values));
    expect(Array.from(withDuplicate.timestamps ?? [])).toEqual(Array.from(plain.timestamps ?? []));
  });

  it('takes a learning row sharing the time of the one before with another value in its place, as the daemon\'s store keeps the later', async () => {
    const shared = { ...rows[49], values: [5] };
    const [series] = [...(await learnt([...rows.slice(0, 50), shared, ...rows.slice(50)], 151)).values()];
    // The same series as the rows with 5 in row 49's place (the trainer is given them standardised, as the learner gives them).
    const [replaced] = [...(await learnt([...rows.slice(0, 49), shared, ...rows.slice(50)], 150)).values()];
    expect(series.values.length).toBe(trainingRowsOf(150));
    expect(Array.from(series.values)).toEqual(Array.from(replaced.values));
    const [plain] = [...(await learnt(rows, 150)).values()];
    expect(series.values[49]).not.toBe(plain.values[49]);
  });

  it('keeps a reading whose value repeats at a later time (a steady value is a reading)', async () => {
    const steady = rows.map((r, i) => (i >= 40 && i < 60 ? { ...r, values: [1] } : r));
    const [series] = [...(await learnt(steady, 150)).values()];
    expect(series.values.length).toBe(trainingRowsOf(150));
  });
});
