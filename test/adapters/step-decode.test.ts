/**
 * The step and decode graphs in the real onnxruntime, held to the TypeScript references (stepSequence,
 * decodeState) and to each other: chunked stepping equals one call, a batch row equals the row alone,
 * decoding after step t reconstructs the last min(W, t) steps.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import type { LoadedModel, ModelRunner, StepBatchInput } from '../../src/contract/ports.js';
import { writeModel } from '../../src/model/onnx-export.js';
import type { CellKind } from '../../src/model/spec.js';
import { mulberry32, randInt, type Rng } from '../../src/train/rng.js';
import { decodeState, forwardWindow, stepSequence } from '../../src/train/seq2seq.js';
import { maxAbsDiff, randomParams, sidecarInput, uniform } from '../model/fixtures.js';

const C = 2;
const H = 6;
const W = 12;
const TOL = 1e-4;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-step-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** One stream: N steps of [C] values (time-major) and its initial state. */
interface Stream {
  readonly x: Float32Array;
  readonly h0: Float32Array;
  readonly c0: Float32Array;
}

function streams(rng: Rng, lengths: readonly number[]): Stream[] {
  return lengths.map((n) => ({ x: uniform(rng, n * C, 1.5), h0: uniform(rng, H, 0.6), c0: uniform(rng, H, 0.6) }));
}

/** Rows b with their next `lens[b]` steps from offsets `at[b]`, packed [T, B, C]; padding filled with junk that must not matter. */
function packSteps(ss: readonly Stream[], at: readonly number[], lens: readonly number[], h: Float32Array, c: Float32Array | undefined): StepBatchInput {
  const B = ss.length;
  const T = Math.max(...lens);
  const x = new Float32Array(T * B * C).fill(1e3);
  ss.forEach((s, b) => {
    for (let t = 0; t < lens[b]; t++) for (let ch = 0; ch < C; ch++) x[(t * B + b) * C + ch] = s.x[(at[b] + t) * C + ch];
  });
  return { x, seqLens: BigInt64Array.from(lens, (n) => BigInt(n)), h0: h, ...(c ? { c0: c } : {}), B, T };
}

function initialStates(ss: readonly Stream[], lstm: boolean): { h: Float32Array; c: Float32Array | undefined } {
  const h = new Float32Array(ss.length * H);
  const c = new Float32Array(ss.length * H);
  ss.forEach((s, b) => {
    h.set(s.h0, b * H);
    c.set(s.c0, b * H);
  });
  return { h, c: lstm ? c : undefined };
}

/** Row b of a [T, B, C] tensor, its first n steps as [n, C]. */
function rowOf(y: Float32Array, B: number, b: number, n: number): Float32Array {
  const out = new Float32Array(n * C);
  for (let t = 0; t < n; t++) for (let ch = 0; ch < C; ch++) out[t * C + ch] = y[(t * B + b) * C + ch];
  return out;
}

/** Steps every stream to its end in chunks drawn by `chunk`, carrying h/c between calls; preds per stream. */
async function stepInChunks(model: ModelRunner, ss: readonly Stream[], lstm: boolean, chunk: (b: number) => number) {
  const B = ss.length;
  const N = ss.map((s) => s.x.length / C);
  const preds = N.map((n) => new Float32Array(n * C));
  const pos = new Array<number>(B).fill(0);
  let { h, c } = initialStates(ss, lstm);
  let calls = 0;
  while (pos.some((p, b) => p < N[b])) {
    // Streams that are done still take part, one step of junk, and their state is then restored:
    // the engine would leave them out of the call; here it keeps B fixed and checks rows stay independent.
    const lens = pos.map((p, b) => (p < N[b] ? Math.min(chunk(b), N[b] - p) : 1));
    const padded = ss.map((s, b) => (pos[b] < N[b] ? s : { ...s, x: new Float32Array((N[b] + 1) * C) }));
    const at = pos.map((p, b) => (p < N[b] ? p : N[b]));
    const out = await model.step(packSteps(padded, at, lens, h, c));
    calls++;
    const T = Math.max(...lens);
    expect(out.pred.length).toBe(T * B * C);
    const hNext = out.h.slice();
    const cNext = out.c?.slice();
    for (let b = 0; b < B; b++) {
      if (pos[b] >= N[b]) {
        hNext.set(h.subarray(b * H, (b + 1) * H), b * H);
        cNext?.set(c!.subarray(b * H, (b + 1) * H), b * H);
        continue;
      }
      preds[b].set(rowOf(out.pred, B, b, lens[b]), pos[b] * C);
      pos[b] += lens[b];
    }
    h = hNext;
    c = cNext;
  }
  return { preds, h, c, calls };
}

describe.each<CellKind>(['gru', 'lstm'])('step and decode graphs in onnxruntime (%s)', (cell) => {
  const lstm = cell === 'lstm';
  const params = randomParams(cell, C, H, cell === 'gru' ? 71 : 72);
  let model: LoadedModel;
  beforeAll(async () => {
    const { sidecarPath } = await writeModel(dir, sidecarInput(params, `s-${cell}`, W), params);
    model = await loadModel(sidecarPath);
  });
  afterAll(async () => {
    await model.release();
  });

  it('one call over whole sequences matches the TypeScript reference, per row, in a batch of different lengths', async () => {
    const ss = streams(mulberry32(1), [23, 1, 9, 17]);
    const lens = ss.map((s) => s.x.length / C);
    const { h, c } = initialStates(ss, lstm);
    const out = await model.step(packSteps(ss, [0, 0, 0, 0], lens, h, c));
    ss.forEach((s, b) => {
      const want = stepSequence(params, s.x, lens[b], s.h0, s.c0);
      expect(maxAbsDiff(rowOf(out.pred, ss.length, b, lens[b]), want.preds)).toBeLessThan(TOL);
      expect(maxAbsDiff(out.h.subarray(b * H, (b + 1) * H), want.h)).toBeLessThan(TOL);
      if (lstm) expect(maxAbsDiff(out.c!.subarray(b * H, (b + 1) * H), want.c!)).toBeLessThan(TOL);
      else expect(out.c).toBeUndefined();
    });
  });

  it('each row of a batch gets what it gets alone', async () => {
    const ss = streams(mulberry32(2), [14, 5, 11]);
    const lens = ss.map((s) => s.x.length / C);
    const { h, c } = initialStates(ss, lstm);
    const together = await model.step(packSteps(ss, [0, 0, 0], lens, h, c));
    for (let b = 0; b < ss.length; b++) {
      const one = initialStates([ss[b]], lstm);
      const alone = await model.step(packSteps([ss[b]], [0], [lens[b]], one.h, one.c));
      expect(maxAbsDiff(rowOf(together.pred, ss.length, b, lens[b]), rowOf(alone.pred, 1, 0, lens[b]))).toBeLessThan(1e-6);
      expect(maxAbsDiff(together.h.subarray(b * H, (b + 1) * H), alone.h)).toBeLessThan(1e-6);
      if (lstm) expect(maxAbsDiff(together.c!.subarray(b * H, (b + 1) * H), alone.c!)).toBeLessThan(1e-6);
    }
  });

  it.each([
    ['one step per call', () => 1],
    ['random chunks of 1..7 steps', (rng: Rng) => randInt(rng, 1, 7)],
  ] as const)('stepping in chunks (%s), carrying h/c, equals one call and the reference', async (_name, draw) => {
    const rng = mulberry32(3);
    const ss = streams(rng, [19, 6, 25]);
    const lens = ss.map((s) => s.x.length / C);
    const chunked = await stepInChunks(model, ss, lstm, () => draw(rng));
    expect(chunked.calls).toBeGreaterThan(1);
    const { h, c } = initialStates(ss, lstm);
    const whole = await model.step(packSteps(ss, [0, 0, 0], lens, h, c));
    ss.forEach((s, b) => {
      const want = stepSequence(params, s.x, lens[b], s.h0, s.c0);
      expect(maxAbsDiff(chunked.preds[b], want.preds)).toBeLessThan(TOL);
      expect(maxAbsDiff(chunked.preds[b], rowOf(whole.pred, ss.length, b, lens[b]))).toBeLessThan(TOL);
      expect(maxAbsDiff(chunked.h.subarray(b * H, (b + 1) * H), want.h)).toBeLessThan(TOL);
      expect(maxAbsDiff(chunked.h.subarray(b * H, (b + 1) * H), whole.h.subarray(b * H, (b + 1) * H))).toBeLessThan(TOL);
      if (lstm) expect(maxAbsDiff(chunked.c!.subarray(b * H, (b + 1) * H), want.c!)).toBeLessThan(TOL);
    });
  });

  it('decode after step t reconstructs the last min(W, t) steps, as the reference and the window graph do', async () => {
    const N = 30;
    const [s] = streams(mulberry32(4), [N]);
    // Streams at different points after a reset (zero state): t < W and t >= W.
    const stops = [3, W, 21, N];
    const zero = new Float32Array(stops.length * H);
    const hs = new Float32Array(stops.length * H);
    const cs = new Float32Array(stops.length * H);
    for (const [b, t] of stops.entries()) {
      const one = await model.step(packSteps([s], [0], [t], zero.subarray(0, H), lstm ? zero.subarray(0, H) : undefined));
      hs.set(one.h, b * H);
      if (one.c) cs.set(one.c, b * H);
    }
    for (const Wd of [1, 5, W]) {
      const out = await model.decode({ h: hs, ...(lstm ? { c: cs } : {}), B: stops.length, W: Wd });
      expect(out.recon.length).toBe(Wd * stops.length * C);
      for (const [b, t] of stops.entries()) {
        const n = Math.min(Wd, t);
        const state = stepSequence(params, s.x, t, null, null);
        const want = decodeState(params, state.h, state.c, Wd);
        expect(maxAbsDiff(rowOf(out.recon, stops.length, b, Wd), want)).toBeLessThan(TOL);
        // The window graph over the same last n steps, from the state before them, reconstructs them in input
        // order; the decode graph gives them most recent first.
        const before = t - n === 0 ? { h: new Float32Array(H), c: new Float32Array(H) } : stepSequence(params, s.x, t - n, null, null);
        const win = forwardWindow(params, s.x.subarray((t - n) * C, t * C), n, n, n, before.h, before.c);
        for (let k = 0; k < n; k++) {
          expect(maxAbsDiff(rowOf(out.recon, stops.length, b, Wd).subarray(k * C, (k + 1) * C), win.recon.subarray((n - 1 - k) * C, (n - k) * C))).toBeLessThan(TOL);
        }
      }
    }
  });

  it('rejects malformed calls with a message naming the problem', async () => {
    const ss = streams(mulberry32(5), [4, 4]);
    const { h, c } = initialStates(ss, lstm);
    const good = packSteps(ss, [0, 0], [4, 2], h, c);
    await expect(model.step({ ...good, seqLens: BigInt64Array.of(0n, 2n) })).rejects.toThrow(/seqLens\[0\] = 0 outside 1\.\.4/);
    await expect(model.step({ ...good, seqLens: BigInt64Array.of(5n, 2n) })).rejects.toThrow(/seqLens\[0\] = 5 outside/);
    await expect(model.step({ ...good, x: good.x.subarray(1) })).rejects.toThrow(/x has/);
    await expect(model.step({ ...good, h0: h.subarray(1) })).rejects.toThrow(/h0 has/);
    if (lstm) await expect(model.step({ ...good, c0: undefined })).rejects.toThrow(/c0 must have/);
    await expect(model.decode({ h, ...(lstm ? { c } : {}), B: 2, W: W + 1 })).rejects.toThrow(new RegExp(`W=${W + 1} outside 1\\.\\.${W}`));
    await expect(model.decode({ h, ...(lstm ? { c } : {}), B: 2, W: 0 })).rejects.toThrow(/W=0/);
    await expect(model.decode({ h, ...(lstm ? { c } : {}), B: 3, W: 2 })).rejects.toThrow(/h has/);
  });

  it('gives the caller outputs that later calls do not overwrite', async () => {
    const ss = streams(mulberry32(6), [5]);
    const { h, c } = initialStates(ss, lstm);
    const first = await model.step(packSteps(ss, [0], [5], h, c));
    const saved = Array.from(first.pred);
    const d1 = await model.decode({ h: first.h, ...(first.c ? { c: first.c } : {}), B: 1, W: 4 });
    const savedRecon = Array.from(d1.recon);
    await model.step(packSteps(streams(mulberry32(7), [5]), [0], [5], h, c));
    await model.decode({ h: new Float32Array(H), ...(lstm ? { c: new Float32Array(H) } : {}), B: 1, W: 4 });
    expect(Array.from(first.pred)).toEqual(saved);
    expect(Array.from(d1.recon)).toEqual(savedRecon);
  });
});

describe('loadModel and the sidecar format', () => {
  it('refuses a formatVersion 1 sidecar, naming the file and saying to re-train', async () => {
    const p = randomParams('gru', C, H, 81);
    const sub = mkdtempSync(join(dir, 'v1-'));
    const { sidecarPath } = await writeModel(sub, sidecarInput(p, 'old', W), p);
    const v2 = JSON.parse(readFileSync(sidecarPath, 'utf8')) as Record<string, unknown>;
    const { graphs: _graphs, hop: _hop, ...rest } = v2;
    writeFileSync(sidecarPath, JSON.stringify({ ...rest, formatVersion: 1, onnx: 'old.onnx', calibration: { logErrMean: -3, logErrStd: 0.5, threshold: 0.99, quantiles: {} } }));
    const err = await loadModel(sidecarPath).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain(sidecarPath);
    expect(err?.message).toMatch(/formatVersion: 1 .*re-train the model \(`anomalyd train`; a model learnt on the device is re-learnt by the learner\)/);
  });

  it('refuses a model whose step or decode graph is missing, naming it', async () => {
    const p = randomParams('lstm', C, H, 82);
    const sub = mkdtempSync(join(dir, 'missing-'));
    const { sidecarPath, graphPaths } = await writeModel(sub, sidecarInput(p, 'm', W), p);
    rmSync(graphPaths.decode);
    await expect(loadModel(sidecarPath)).rejects.toThrow(/m\.decode\.onnx/);
  });

  it('refuses a step graph of another cell behind a sidecar (graphs swapped)', async () => {
    const gru = randomParams('gru', C, H, 83);
    const lstm = randomParams('lstm', C, H, 84);
    const a = mkdtempSync(join(dir, 'swap-a-'));
    const b = mkdtempSync(join(dir, 'swap-b-'));
    const written = await writeModel(a, sidecarInput(gru, 'x', W), gru);
    const other = await writeModel(b, sidecarInput(lstm, 'x', W), lstm);
    writeFileSync(written.graphPaths.step, readFileSync(other.graphPaths.step));
    await expect(loadModel(written.sidecarPath)).rejects.toThrow(/step graph interface .* does not match a gru model/);
  });
});
