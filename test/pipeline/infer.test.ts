import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import type { LoadedModel, ModelBatchInput, ModelBatchOutput, WindowModelRunner as ModelRunner } from '../../src/contract/ports.js';
import type { Window } from '../../src/contract/types.js';
import type { ModelSidecar } from '../../src/model/spec.js';
import { InferenceEngine, type InferenceOptions } from '../../src/pipeline/infer.js';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { writeModel } from '../../src/model/onnx-export.js';
import { forwardWindow } from '../../src/train/seq2seq.js';
import { mulberry32 } from '../../src/train/rng.js';
import type { CellKind } from '../../src/model/spec.js';
import { randomParams, sidecarInput } from '../model/fixtures.js';

const H = 3;

/** A fake model: reconstructs x exactly on valid steps and writes junk beyond; the carry is h0 + carry length. */
class FakeRunner implements ModelRunner {
  readonly calls: ModelBatchInput[] = [];
  constructor(
    readonly id: string,
    readonly sidecar: ModelSidecar = { hidden: H, cell: 'gru', window: 4 } as ModelSidecar,
  ) {}
  runBatch(batch: ModelBatchInput): Promise<ModelBatchOutput> {
    this.calls.push({ ...batch, x: batch.x.slice(), h0: batch.h0.slice(), seqLens: batch.seqLens.slice(), carryLens: batch.carryLens.slice() });
    const { B, T } = batch;
    const C = batch.x.length / (T * B);
    const recon = batch.x.slice();
    for (let b = 0; b < B; b++) {
      for (let t = Number(batch.seqLens[b]); t < T; t++) for (let c = 0; c < C; c++) recon[(t * B + b) * C + c] = 1e6;
    }
    const hCarry = batch.h0.map((v, i) => v + Number(batch.carryLens[Math.floor(i / H)]));
    return Promise.resolve({ recon, pred: new Float32Array(B * C), hCarry });
  }
}

function win(sensor: string, seq: number, values: number[], over: Partial<Window> = {}): Window {
  const maxLen = 4;
  const data = new Float32Array(maxLen);
  data.set(values);
  return {
    sensor,
    channels: ['value'],
    startTs: seq * 1000,
    endTs: seq * 1000 + values.length - 1,
    maxLen,
    validLength: values.length,
    data,
    paddedFraction: (maxLen - values.length) / maxLen,
    advance: values.length,
    resetState: seq === 0,
    filledSteps: 0,
    seq,
    ...over,
  };
}

const opts: InferenceOptions = { batchTickMs: 5, maxBatch: 64, normHorizon: 1000, normWarmup: 1 };

describe('InferenceEngine with a fake model', () => {
  it('sends the windows of all sensors in one batched call, and one round per window of the same sensor', async () => {
    const runner = new FakeRunner('m');
    const engine = new InferenceEngine(() => runner, opts);
    const out = await engine.run([win('a', 0, [1, 2, 3, 4]), win('b', 0, [5, 6, 7, 8]), win('c', 0, [1, 3, 2, 4]), win('a', 1, [2, 3, 4, 5])]);
    expect(runner.calls.map((c) => c.B)).toEqual([3, 1]);
    expect(out.map((r) => `${r.window.sensor}${r.window.seq}`)).toEqual(['a0', 'b0', 'c0', 'a1']);
  });

  it('carries the state, keeps it when advance is 0, and resets it on resetState', async () => {
    const runner = new FakeRunner('m');
    const engine = new InferenceEngine(() => runner, opts);
    await engine.run([win('a', 0, [1, 2, 3, 4])]); // h: 0 -> 4
    await engine.run([win('a', 1, [1, 2, 3, 4], { advance: 0 })]); // h0 = 4; kept
    await engine.run([win('a', 2, [1, 2, 3, 4], { advance: 2 })]); // h0 = 4 -> 6
    await engine.run([win('a', 3, [1, 2, 3, 4], { resetState: true })]); // h0 = 0
    expect(runner.calls.map((c) => c.h0[0])).toEqual([0, 4, 4, 0]);
    expect(runner.calls.map((c) => Number(c.carryLens[0]))).toEqual([4, 1, 2, 4]);
  });

  it('resets the state when the sensor moves to another model', async () => {
    const m1 = new FakeRunner('m1');
    const m2 = new FakeRunner('m2');
    let current = m1;
    const engine = new InferenceEngine(() => current, opts);
    await engine.run([win('a', 0, [1, 2, 3, 4])]);
    current = m2;
    await engine.run([win('a', 1, [1, 2, 3, 4])]);
    expect(m2.calls[0].h0[0]).toBe(0);
    expect(engine.state('a')!.modelId).toBe('m2');
  });

  it('never counts padded steps as error', async () => {
    const engine = new InferenceEngine(() => new FakeRunner('m'), opts);
    const [r] = await engine.run([win('a', 0, [1, 2])]);
    expect(r.window.paddedFraction).toBe(0.5);
    expect(r.reconError).toBe(0);
  });

  it('reports nothing until the normalisation has seen normWarmup readings, but still runs the model', async () => {
    const runner = new FakeRunner('m');
    const engine = new InferenceEngine(() => runner, { ...opts, normWarmup: 10 });
    const a = await engine.run([win('a', 0, [1, 2, 3, 4])]);
    const b = await engine.run([win('a', 1, [1, 2, 3, 5])]);
    const c = await engine.run([win('a', 2, [1, 2, 3, 6])]);
    const d = await engine.run([win('a', 3, [1, 2, 3, 7])]);
    expect([a.length, b.length, c.length, d.length]).toEqual([0, 0, 1, 1]);
    expect(runner.calls).toHaveLength(4);
  });

  it('batches adaptively: one call for the windows of one turn, the next call for those that came while it ran', async () => {
    const fake = new FakeRunner('m');
    let release: () => void = () => undefined;
    const gated: ModelRunner = {
      id: 'm',
      sidecar: fake.sidecar,
      runBatch: async (batch) => {
        const out = await fake.runBatch(batch);
        if (fake.calls.length === 1) await new Promise<void>((r) => (release = r));
        return out;
      },
    };
    const engine = new InferenceEngine(() => gated, { ...opts, batchTickMs: 0 });
    const input = new Subject<Window>();
    const done = lastValueFrom(input.pipe(engine.operator(), toArray()));
    for (const s of ['a', 'b', 'c']) input.next(win(s, 0, [1, 2, 3, 4]));
    await new Promise((r) => setImmediate(r));
    expect(fake.calls.map((c) => c.B)).toEqual([3]);
    for (const s of ['d', 'e']) input.next(win(s, 0, [1, 2, 3, 4]));
    expect(engine.pending).toBe(5);
    release();
    input.complete();
    const results = await done;
    expect(fake.calls.map((c) => c.B)).toEqual([3, 2]);
    expect(results.map((r) => r.window.sensor)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(engine.pending).toBe(0);
  });

  it('drops a failed batch through onError and keeps the stream alive', async () => {
    let fail = true;
    const flaky: ModelRunner = {
      id: 'flaky',
      sidecar: { hidden: H, cell: 'gru' } as ModelSidecar,
      runBatch: (batch) => {
        if (fail) {
          fail = false;
          return Promise.reject(new Error('boom'));
        }
        return new FakeRunner('flaky').runBatch(batch);
      },
    };
    const errors: number[] = [];
    const engine = new InferenceEngine(() => flaky, { ...opts, onError: (_e, ws) => errors.push(ws.length) });
    const input = new Subject<Window>();
    const done = lastValueFrom(input.pipe(engine.operator(), toArray()));
    input.next(win('a', 0, [1, 2, 3, 4]));
    input.next(win('b', 0, [1, 2, 3, 4]));
    await new Promise((r) => setTimeout(r, 30));
    input.next(win('c', 0, [1, 2, 3, 4]));
    input.complete();
    const results = await done;
    expect(errors).toEqual([2]);
    expect(results.map((r) => r.window.sensor)).toEqual(['c']);
  });
});

describe.each<CellKind>(['gru', 'lstm'])('InferenceEngine with the real onnxruntime (%s)', (cell) => {
  const C = 1;
  const Hr = 5;
  const T = 8;
  let dir: string;
  let model: LoadedModel;
  const params = randomParams(cell, C, Hr, cell === 'gru' ? 41 : 42);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'anomalyd-infer-'));
    const { sidecarPath } = await writeModel(dir, sidecarInput(params, `e-${cell}`, T), params);
    model = await loadModel(sidecarPath);
  });
  afterAll(async () => {
    await model.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('windows of two sensors in shared batches score exactly as each sensor stepped alone through the reference', async () => {
    // Normalisation frozen after the first window (holdNormalisation), so the reference can apply the same.
    const engine = new InferenceEngine(() => model, { ...opts, maxBatch: 8, holdNormalisation: () => true });
    const rng = mulberry32(7);
    const streams = { a: Array.from({ length: 5 * T }, () => rng() * 4 + 10), b: Array.from({ length: 5 * T }, () => rng() - 3) };
    const windows: Window[] = [];
    for (let k = 0; k < 5; k++) {
      for (const s of ['a', 'b'] as const) {
        const data = new Float32Array(streams[s].slice(k * T, (k + 1) * T));
        windows.push({ ...win(s, k, []), maxLen: T, validLength: T, data, paddedFraction: 0, advance: T, resetState: k === 0 });
      }
    }
    const results = [];
    for (let i = 0; i < windows.length; i += 2) results.push(...(await engine.run(windows.slice(i, i + 2))));

    for (const s of ['a', 'b'] as const) {
      const first = new Float64Array(streams[s].slice(0, T).map((v) => Math.fround(v)));
      const mean = first.reduce((x, y) => x + y, 0) / T;
      const std = Math.sqrt(first.reduce((x, y) => x + (y - mean) ** 2, 0) / T);
      let h: Float64Array | null = null;
      let c: Float64Array | null = null;
      const mine = results.filter((r) => r.window.sensor === s);
      for (let k = 0; k < 5; k++) {
        const x = new Float64Array(streams[s].slice(k * T, (k + 1) * T).map((v) => (Math.fround(v) - mean) / std));
        const ref = forwardWindow(params, x, T, T, T, h, c);
        let e = 0;
        for (let t = 0; t < T; t++) e += (ref.recon[t] - x[t]) ** 2;
        expect(mine[k].reconError).toBeCloseTo(e / T, 4);
        h = ref.hCarry;
        c = ref.cCarry;
      }
    }
  });
});
