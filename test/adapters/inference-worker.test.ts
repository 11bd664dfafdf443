import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { InferenceWorkerHost } from '../../src/adapters/inference-worker.js';
import { OnnxModel } from '../../src/adapters/onnx-runner.js';
import type { ModelBatchInput } from '../../src/contract/ports.js';

// The worker entry runs compiled JS; CI builds before the tests (`pretest`).
const workerUrl = new URL('../../dist/adapters/inference-worker-entry.js', import.meta.url);
const built = existsSync(workerUrl);
const sidecar = join(import.meta.dirname, '..', '..', 'models', 'lstm.json');

describe.skipIf(!built || !existsSync(sidecar))('InferenceWorkerHost (needs `npm run build`)', () => {
  const host = new InferenceWorkerHost(pino({ level: 'silent' }), workerUrl);
  let local: OnnxModel;
  beforeAll(async () => {
    host.start();
    local = await OnnxModel.load(sidecar);
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

  it('reports a model that cannot load as an error, and keeps serving', async () => {
    await expect(host.load('/nonexistent/model.json')).rejects.toThrow();
    const again = await host.load(sidecar);
    expect(again.sidecar.cell).toBe('lstm');
  });
});
