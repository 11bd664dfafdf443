import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trainInWorker } from '../../src/train/in-worker.js';
import { mulberry32 } from '../../src/train/rng.js';
import { trainModel, type TrainProgress } from '../../src/train/trainer.js';

// The worker entry must be plain JS; vitest runs the TS sources, so use the build (CI builds first).
const workerUrl = new URL('../../dist/train/worker.js', import.meta.url);
const built = existsSync(workerUrl);

function wave(rows: number): Float64Array {
  const rng = mulberry32(4);
  return Float64Array.from({ length: rows }, (_, t) => Math.sin(t / 4) + 0.1 * rng());
}

const opts = { hidden: 4, window: 8, hop: 2, epochs: 2, batchSize: 8, seed: 5 } as const;

describe.skipIf(!built)('trainInWorker (needs `npm run build`: dist/train/worker.js)', () => {
  it('gives the same model as training in-process, with progress, and transfers the input', async () => {
    const values = wave(200);
    const local = trainModel({ channels: ['v'], values: values.slice() }, opts);
    const progress: TrainProgress[] = [];
    const remote = await trainInWorker({ channels: ['v'], values }, opts, (p) => progress.push(p), { workerUrl });
    expect(values.length).toBe(0); // detached: it was transferred, not copied
    expect(Array.from(remote.params.encR)).toEqual(Array.from(local.params.encR));
    expect(Array.from(remote.params.predB)).toEqual(Array.from(local.params.predB));
    expect(remote.params.encR).toBeInstanceOf(Float32Array);
    expect(remote.calibration).toEqual(local.calibration);
    expect(progress.filter((p) => p.epochDone)).toHaveLength(remote.losses.length);
  });

  it('carries the segments across: same model as in-process on a segmented series', async () => {
    const values = wave(300);
    const segments = Int32Array.of(0, 120, 200);
    const local = trainModel({ channels: ['v'], values: values.slice(), segments: segments.slice() }, opts);
    const joined = trainModel({ channels: ['v'], values: values.slice() }, opts);
    const remote = await trainInWorker({ channels: ['v'], values, segments }, opts, undefined, { workerUrl });
    expect(segments.length).toBe(0); // transferred with the values
    expect(remote.training).toEqual({ ...local.training, seconds: remote.training.seconds });
    expect(Array.from(remote.params.encR)).toEqual(Array.from(local.params.encR));
    expect(remote.training.trainWindows).not.toBe(joined.training.trainWindows);
  });

  it('rejects with the trainer error', async () => {
    await expect(trainInWorker({ channels: ['v'], values: wave(20) }, opts, undefined, { workerUrl })).rejects.toThrow(/too short/);
    await expect(trainInWorker({ channels: ['v'], values: wave(200) }, { ...opts, hidden: 0 }, undefined, { workerUrl })).rejects.toBeInstanceOf(RangeError);
  });

  it("takes a series that carries more than its own fields (the CSV reader's table, with functions): only the series crosses", async () => {
    const values = wave(200);
    const local = trainModel({ channels: ['v'], values: values.slice() }, opts);
    const csvSeries = { channels: ['v'], values, table: { lineOf: (row: number) => row + 2 } };
    const remote = await trainInWorker(csvSeries, opts, undefined, { workerUrl });
    expect(Array.from(remote.params.encR)).toEqual(Array.from(local.params.encR));
  });

  it('rejects, and stops the worker, when the request cannot be posted (nothing left to keep the process alive)', async () => {
    const bad = { ...opts, onEpoch: () => undefined } as unknown as typeof opts;
    await expect(trainInWorker({ channels: ['v'], values: wave(200) }, bad, undefined, { workerUrl })).rejects.toThrow(/could not be cloned/);
  });

  it('terminates the worker on abort', async () => {
    const ac = new AbortController();
    const run = trainInWorker({ channels: ['v'], values: wave(4000) }, { ...opts, epochs: 200, patience: 200 }, () => ac.abort(new Error('stop')), {
      workerUrl,
      signal: ac.signal,
    });
    await expect(run).rejects.toThrow('stop');
  });
});

it.runIf(!built)('trainInWorker tests are skipped: dist/train/worker.js is missing (run `npm run build`)', () => {
  expect(built).toBe(false);
});
