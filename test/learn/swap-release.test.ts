import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { InferenceWorkerHost } from '../../src/adapters/inference-worker.js';
import type { LoadedModel, StepBatchInput, StepBatchOutput } from '../../src/contract/ports.js';
import { ModelRegistry } from '../../src/learn/registry.js';
import { StepEngine, type StepItem, type StepResult } from '../../src/pipeline/steps.js';

// The worker entry runs compiled JS; CI builds before the tests (`pretest`).
const workerUrl = new URL('../../dist/adapters/inference-worker-entry.js', import.meta.url);
const models = join(import.meta.dirname, '..', '..', 'models');
const ready = existsSync(workerUrl) && existsSync(join(models, 'gru.json')) && existsSync(join(models, 'lstm.json'));

/** A worker model whose step calls wait until `open()`: the swap happens while a call for it is in the pipeline. */
function held(model: LoadedModel): { model: LoadedModel; open: () => void; entered: Promise<void>; released: () => number } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let entered!: () => void;
  const enteredP = new Promise<void>((resolve) => (entered = resolve));
  let releases = 0;
  return {
    model: {
      ...model,
      step: async (input: StepBatchInput): Promise<StepBatchOutput> => {
        entered();
        await gate;
        return model.step(input);
      },
      release: async () => {
        releases++;
        await model.release();
      },
    },
    open,
    entered: enteredP,
    released: () => releases,
  };
}

function item(ts: number, v: number, reset: boolean): StepItem<number> {
  return { kind: 'reading', ts, values: Float64Array.of(v), reset, filled: 0, origin: ts };
}

describe.skipIf(!ready)('a model swapped out and released while its streams are stepped (real worker, needs `npm run build`)', () => {
  const host = new InferenceWorkerHost(pino({ level: 'silent' }), workerUrl);
  beforeAll(() => host.start());
  afterAll(async () => {
    await host.stop();
  });

  it('is freed only after its queued and in-flight calls ran: no model error, every reading scored by a model', async () => {
    const a = held(await host.load(join(models, 'gru.json')));
    const b = await host.load(join(models, 'lstm.json'));
    // Own models of the sensors (no shared fallback), as after a first training.
    const registry = new ModelRegistry(null, (sensor) => sensor, pino({ level: 'silent' }));
    registry.add(a.model);
    const streams = ['s1', 's2', 's3'];
    for (const s of streams) registry.assign(s, a.model.id);

    const errors: string[] = [];
    const scored: StepResult<number>[] = [];
    const engine = new StepEngine<number>(
      { hop: 4, length: 64, maxBatch: 2, normWarmup: 4, normHorizon: 100, batchTickMs: 0 },
      {
        modelFor: (stream) => {
          const model = registry.modelFor(stream);
          return model === null ? null : { model, own: false };
        },
        score: (r) => {
          scored.push({ ...r });
          return { exclude: false, rebaseline: false };
        },
        onModelError: (err) => errors.push(err instanceof Error ? err.message : String(err)),
        hold: (model) => registry.hold(model),
        letGo: (model) => registry.letGo(model),
      },
    );

    // Two readings of each stream (half a chunk of 4): the round's first call (s1, s2) waits at the gate,
    // s3's call is queued behind it.
    let ts = 0;
    for (let k = 0; k < 2; k++) for (const s of streams) engine.push(s, ['value'], item(++ts, Math.sin(ts / 3), k === 0));
    const round = engine.drain();
    await a.entered;

    // The retrained model B is swapped in for every sensor, and the unused A released, while A's calls wait.
    registry.add(b);
    for (const s of streams) registry.assign(s, b.id);
    await registry.releaseUnused();
    const releasedDuringCall = a.released();

    a.open();
    await round;
    // The streams finish their chunk on A (a model changes at a chunk start), then go on with B.
    for (let k = 0; k < 6; k++) for (const s of streams) engine.push(s, ['value'], item(++ts, Math.sin(ts / 3), false));
    await engine.drain();

    expect(errors).toEqual([]);
    expect(releasedDuringCall).toBe(0);
    expect(scored.length).toBe(8 * streams.length);
    expect(scored.filter((r) => r.modelId === null)).toEqual([]);
    for (const s of streams) {
      const ids = scored.filter((r) => r.stream === s).map((r) => r.modelId);
      expect(ids).toEqual([...Array<string>(4).fill(a.model.id), ...Array<string>(4).fill(b.id)]);
    }
    // Nobody holds A any more: it was freed once, in the worker too.
    await registry.releaseUnused();
    expect(a.released()).toBe(1);
    await expect(a.model.decode({ h: new Float32Array(32), B: 1, W: 64 })).rejects.toThrow(/no model/);
    await registry.releaseAll();
  });
});
