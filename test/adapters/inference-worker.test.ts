import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { InferenceWorkerHost } from '../../src/adapters/inference-worker.js';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import type { LoadedModel, ModelBatchInput, StepBatchInput } from '../../src/contract/ports.js';

// The worker entry runs compiled JS; CI builds before the tests (`pretest`).
const workerUrl = new URL('../../dist/adapters/inference-worker-entry.js', import.meta.url);
const built = existsSync(workerUrl);
const sidecar = join(import.meta.dirname, '..', '..', 'models', 'lstm.json');

describe.skipIf(!built || !existsSync(sidecar))('InferenceWorkerHost (needs `npm run build`)', () => {
  const host = new InferenceWorkerHost(pino({ level: 'silent' }), workerUrl);
  let local: LoadedModel;
  beforeAll(async () => {
    host.start();
    local = await loadModel(sidecar);
  });
  afterAll(async () => {
    await host.stop();
    await local.release();
  });

  it('runs a model in the worker with the same results as on the main thread, batch after batch', async () => {
    const remote = await host.load(sidecar);
    expect(remote.id).toBe(local.id);
    const B = 3;
    const T = 64;
    const H = local.sidecar.hidden;
    const batch: ModelBatchInput = {
      x: Float32Array.from({ length: T * B }, (_, i) => Math.sin(i / 5)),
      seqLens: BigInt64Array.from([64n, 20n, 64n]),
      carryLens: BigInt64Array.from([16n, 20n, 1n]),
      h0: Float32Array.from({ length: B * H }, (_, i) => ((i % 7) - 3) / 10),
      c0: Float32Array.from({ length: B * H }, (_, i) => ((i % 5) - 2) / 10),
      B,
      T,
    };
    for (let k = 0; k < 3; k++) {
      const [a, b] = await Promise.all([remote.runBatch(batch), local.runBatch(batch)]);
      expect(Array.from(a.recon)).toEqual(Array.from(b.recon));
      expect(Array.from(a.hCarry)).toEqual(Array.from(b.hCarry));
      expect(Array.from(a.cCarry!)).toEqual(Array.from(b.cCarry!));
    }
    await remote.release();
    await expect(remote.runBatch(batch)).rejects.toThrow(/no model/);
  });

  it('proxies step and decode with the same results as on the main thread, errors included', async () => {
    const remote = await host.load(sidecar);
    const B = 3;
    const T = 5;
    const H = local.sidecar.hidden;
    const step: StepBatchInput = {
      x: Float32Array.from({ length: T * B }, (_, i) => Math.cos(i / 3)),
      seqLens: BigInt64Array.from([5n, 1n, 3n]),
      h0: Float32Array.from({ length: B * H }, (_, i) => ((i % 7) - 3) / 10),
      c0: Float32Array.from({ length: B * H }, (_, i) => ((i % 5) - 2) / 10),
      B,
      T,
    };
    for (let k = 0; k < 2; k++) {
      const [a, b] = await Promise.all([remote.step(step), local.step(step)]);
      expect(Array.from(a.pred)).toEqual(Array.from(b.pred));
      expect(Array.from(a.h)).toEqual(Array.from(b.h));
      expect(Array.from(a.c!)).toEqual(Array.from(b.c!));
      const decode = { h: a.h, c: a.c, B, W: local.sidecar.window };
      const [da, db] = await Promise.all([remote.decode(decode), local.decode(decode)]);
      expect(da.recon).toHaveLength(local.sidecar.window * B);
      expect(Array.from(da.recon)).toEqual(Array.from(db.recon));
    }
    await expect(remote.decode({ h: step.h0, c: step.c0, B, W: local.sidecar.window + 1 })).rejects.toThrow(/W=.* outside/);
    await remote.release();
    await expect(remote.step(step)).rejects.toThrow(/no model/);
  });

  it('reports a model that cannot load as an error, and keeps serving', async () => {
    await expect(host.load('/nonexistent/model.json')).rejects.toThrow();
    const again = await host.load(sidecar);
    expect(again.sidecar.cell).toBe('lstm');
  });
});
