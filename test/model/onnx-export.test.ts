import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/adapters/onnxruntime-env.js'; // before onnxruntime-node: no telemetry
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildModelProto, writeModel } from '../../src/model/onnx-export.js';
import { encodeModel, type TensorSpec } from '../../src/model/onnx-proto.js';
import type { CellKind, Seq2SeqParams } from '../../src/model/spec.js';
import { mulberry32, randInt, type Rng } from '../../src/train/rng.js';
import { forwardWindow, type WindowOutput } from '../../src/train/seq2seq.js';
import { maxAbsDiff, pack, randomParams, sidecarInput, uniform, unpackRow, type Row } from './fixtures.js';

const TOL = 1e-4;
const C = 2;
const H = 8;
const T = 12;

interface GraphOut {
  readonly recon: Float32Array;
  readonly pred: Float32Array;
  readonly hCarry: Float32Array;
  readonly cCarry: Float32Array | null;
}

async function createSession(p: Seq2SeqParams): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(buildModelProto(p, { window: T }), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

async function runRows(s: ort.InferenceSession, p: Seq2SeqParams, rows: readonly Row[], steps = T): Promise<GraphOut[]> {
  const batch = pack(rows, steps, p.channels, p.hidden);
  const { B } = batch;
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', batch.x, [steps, B, p.channels]),
    seq_lens: new ort.Tensor('int64', batch.seqLens, [B]),
    carry_lens: new ort.Tensor('int64', batch.carryLens, [B]),
    h0: new ort.Tensor('float32', batch.h0, [1, B, p.hidden]),
  };
  if (p.cell === 'lstm') feeds.c0 = new ort.Tensor('float32', batch.c0!, [1, B, p.hidden]);
  const out = await s.run(feeds);
  expect(out.recon.dims).toEqual([steps, B, p.channels]);
  expect(out.pred.dims).toEqual([B, p.channels]);
  expect(out.h_carry.dims).toEqual([1, B, p.hidden]);
  const f = (name: string): Float32Array => out[name].data as Float32Array;
  const state = (a: Float32Array, b: number): Float32Array => a.slice(b * p.hidden, (b + 1) * p.hidden);
  return rows.map((_, b) => ({
    recon: unpackRow(f('recon'), steps, B, p.channels, b),
    pred: f('pred').slice(b * p.channels, (b + 1) * p.channels),
    hCarry: state(f('h_carry'), b),
    cCarry: p.cell === 'lstm' ? state(f('c_carry'), b) : null,
  }));
}

function reference(p: Seq2SeqParams, r: Row, steps = T): WindowOutput {
  return forwardWindow(p, r.x, steps, r.L, r.carry, r.h0, r.c0);
}

/** Padding filled with large junk: any leak of padded steps into the outputs shows up. */
function row(rng: Rng, p: Seq2SeqParams, L: number, carry: number, steps = T): Row {
  const x = uniform(rng, steps * p.channels, 1.5);
  for (let i = L * p.channels; i < x.length; i++) x[i] = 50 * (rng() - 0.5);
  return { x, L, carry, h0: uniform(rng, p.hidden, 0.8), c0: p.cell === 'lstm' ? uniform(rng, p.hidden, 0.8) : null };
}

function expectParity(got: GraphOut, want: WindowOutput, L: number, C_: number): void {
  expect(maxAbsDiff(got.recon, want.recon, L * C_)).toBeLessThan(TOL);
  expect(maxAbsDiff(got.pred, want.pred)).toBeLessThan(TOL);
  expect(maxAbsDiff(got.hCarry, want.hCarry)).toBeLessThan(TOL);
  if (want.cCarry !== null) expect(maxAbsDiff(got.cCarry!, want.cCarry)).toBeLessThan(TOL);
}

describe.each<CellKind>(['gru', 'lstm'])('exported %s graph vs the trainer reference forwardWindow', (cell) => {
  const p = randomParams(cell, C, H, cell === 'gru' ? 11 : 12);
  let s: ort.InferenceSession;
  beforeAll(async () => {
    s = await createSession(p);
  });
  afterAll(async () => {
    await s.release();
  });

  it('has the ONNX_IO interface', () => {
    const lstm = cell === 'lstm';
    expect(s.inputNames).toEqual(['x', 'seq_lens', 'carry_lens', 'h0', ...(lstm ? ['c0'] : [])]);
    expect(s.outputNames).toEqual(['recon', 'pred', 'h_carry', ...(lstm ? ['c_carry'] : [])]);
    const x = s.inputMetadata.find((m) => m.name === 'x');
    expect(x?.isTensor && x.shape).toEqual(['T', 'B', C]);
  });

  it('matches on a whole window carried over all of it', async () => {
    const rng = mulberry32(1);
    const r = row(rng, p, T, T);
    const [got] = await runRows(s, p, [r]);
    const want = reference(p, r);
    expectParity(got, want, T, C);
    // hop = T: the carry is the encoder's final state.
    expect(maxAbsDiff(got.hCarry, want.hFinal)).toBeLessThan(TOL);
  });

  it('matches per row in a batch of padded windows with different lengths, carries and states', async () => {
    const rng = mulberry32(2);
    const shapes = [[T, T], [T, 3], [7, 7], [7, 2], [1, 1], [5, 4], [T - 1, 1]] as const;
    const rows = shapes.map(([L, carry]) => row(rng, p, L, carry));
    const got = await runRows(s, p, rows);
    rows.forEach((r, b) => expectParity(got[b], reference(p, r), r.L, C));
  });

  it('gives each sensor in a batch what it gets alone', async () => {
    const rng = mulberry32(3);
    const rows = [row(rng, p, T, 4), row(rng, p, 6, 6), row(rng, p, 9, 2)];
    const together = await runRows(s, p, rows);
    for (const [b, r] of rows.entries()) {
      const [alone] = await runRows(s, p, [r]);
      expect(maxAbsDiff(together[b].recon, alone.recon, r.L * C)).toBeLessThan(1e-6);
      expect(maxAbsDiff(together[b].pred, alone.pred)).toBeLessThan(1e-6);
      expect(maxAbsDiff(together[b].hCarry, alone.hCarry)).toBeLessThan(1e-6);
    }
  });

  it('hop = T: stepping window by window with the carried state equals one run over the whole stream', async () => {
    const rng = mulberry32(4);
    const windows = 4;
    const N = windows * T;
    const stream = uniform(rng, N * C, 1.5);
    const start = row(rng, p, T, T);
    let h: Float32Array = start.h0;
    let c: Float32Array | null = start.c0;
    for (let k = 0; k < windows; k++) {
      const x = stream.slice(k * T * C, (k + 1) * T * C);
      const [got] = await runRows(s, p, [{ x, L: T, carry: T, h0: h, c0: c }]);
      const whole = forwardWindow(p, stream, N, (k + 1) * T, (k + 1) * T, start.h0, start.c0);
      expect(maxAbsDiff(got.hCarry, whole.hFinal)).toBeLessThan(TOL);
      if (c !== null) expect(maxAbsDiff(got.cCarry!, whole.cFinal!)).toBeLessThan(TOL);
      // The prediction head sees the state at the window's end, i.e. the stream's prefix.
      expect(maxAbsDiff(got.pred, whole.pred)).toBeLessThan(TOL);
      h = got.hCarry;
      c = got.cCarry;
    }
  });

  it('hop < T: the carry is the stream encoder state after `advance` steps, per row', async () => {
    const rng = mulberry32(5);
    // Two sensors sliding with different hops through their own streams, batched together.
    const hops = [3, 5];
    const steps = 4;
    const streams = hops.map((hop) => uniform(rng, (T + steps * hop) * C, 1.5));
    const starts = hops.map(() => row(rng, p, T, T));
    const h = starts.map((r) => r.h0);
    const c = starts.map((r) => r.c0);
    for (let k = 0; k < steps; k++) {
      const rows: Row[] = hops.map((hop, i) => ({
        x: streams[i].slice(k * hop * C, (k * hop + T) * C), L: T, carry: hop, h0: h[i], c0: c[i],
      }));
      const got = await runRows(s, p, rows);
      for (const [i, hop] of hops.entries()) {
        const N = streams[i].length / C;
        const upTo = (k + 1) * hop;
        const whole = forwardWindow(p, streams[i], N, upTo, upTo, starts[i].h0, starts[i].c0);
        expect(maxAbsDiff(got[i].hCarry, whole.hFinal)).toBeLessThan(TOL);
        if (cell === 'lstm') expect(maxAbsDiff(got[i].cCarry!, whole.cFinal!)).toBeLessThan(TOL);
        // And the window itself matches the reference started from the carried state.
        expectParity(got[i], reference(p, rows[i]), T, C);
        h[i] = got[i].hCarry;
        c[i] = got[i].cCarry;
      }
    }
  });

  it('serves windows shorter than the training window (T is symbolic)', async () => {
    const rng = mulberry32(6);
    const steps = 5;
    const rows = [row(rng, p, 5, 2, steps), row(rng, p, 3, 3, steps)];
    const got = await runRows(s, p, rows, steps);
    rows.forEach((r, b) => expectParity(got[b], reference(p, r, steps), r.L, C));
  });

  it('stays within tolerance on a long random sweep of lengths and carries', async () => {
    const rng = mulberry32(7);
    const rows = Array.from({ length: 24 }, () => {
      const L = randInt(rng, 1, T);
      return row(rng, p, L, randInt(rng, 1, L));
    });
    const got = await runRows(s, p, rows);
    rows.forEach((r, b) => expectParity(got[b], reference(p, r), r.L, C));
  });
});

describe('onnxruntime GRU/LSTM sequence_lens semantics the graph relies on', () => {
  // A bare GRU/LSTM node, read directly: Y beyond a row's length and Y_h for that row.
  async function bareRnn(cell: CellKind, lens: number[]): Promise<{ y: Float32Array; yh: Float32Array; B: number }> {
    const rng = mulberry32(9);
    const G = cell === 'gru' ? 3 : 4;
    const h = 3;
    const B = lens.length;
    const init = (name: string, dims: number[]): TensorSpec => ({ name, type: 'float32', dims, data: uniform(rng, dims.reduce((a, d) => a * d, 1), 0.7) });
    const bytes = encodeModel({
      graph: {
        name: 'bare',
        nodes: [
          { opType: 'Cast', inputs: ['lens'], outputs: ['lens32'], attributes: { to: { kind: 'int', value: 6 } } },
          { opType: cell === 'gru' ? 'GRU' : 'LSTM', inputs: ['x', 'W', 'R', 'Bias', 'lens32'], outputs: ['y', 'y_h'], attributes: { hidden_size: { kind: 'int', value: h } } },
        ],
        initializers: [init('W', [1, G * h, 1]), init('R', [1, G * h, h]), init('Bias', [1, 2 * G * h])],
        inputs: [{ name: 'x', elemType: 'float32', shape: ['T', 'B', 1] }, { name: 'lens', elemType: 'int64', shape: ['B'] }],
        outputs: [{ name: 'y', elemType: 'float32', shape: ['T', 1, 'B', h] }, { name: 'y_h', elemType: 'float32', shape: [1, 'B', h] }],
      },
    });
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({
      x: new ort.Tensor('float32', uniform(rng, T * B, 1), [T, 1 * B, 1]),
      lens: new ort.Tensor('int64', BigInt64Array.from(lens, BigInt), [B]),
    });
    await s.release();
    return { y: out.y.data as Float32Array, yh: out.y_h.data as Float32Array, B };
  }

  it.each<CellKind>(['gru', 'lstm'])('%s: Y is zero beyond a row\'s length and Y_h is its last valid state', async (cell) => {
    const lens = [T, 4, 1];
    const { y, yh, B } = await bareRnn(cell, lens);
    const h = 3;
    lens.forEach((L, b) => {
      const at = (t: number): number[] => Array.from(y.subarray((t * B + b) * h, (t * B + b + 1) * h));
      for (let t = L; t < T; t++) expect(at(t)).toEqual([0, 0, 0]);
      expect(at(L - 1).some((v) => v !== 0)).toBe(true);
      expect(Array.from(yh.subarray(b * h, (b + 1) * h))).toEqual(at(L - 1));
    });
  });
});

describe('buildModelProto input checks', () => {
  it('refuses parameters whose sizes do not match the dims', () => {
    const p = randomParams('gru', C, H, 1);
    expect(() => buildModelProto({ ...p, encR: new Float32Array(5) })).toThrow(/encR: length 5, expected 192/);
    expect(() => buildModelProto({ ...p, hidden: 0 })).toThrow(/hidden/);
  });
});

describe('writeModel', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'anomalyd-export-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the three graphs and <name>.json, and nothing else, into a fresh directory', async () => {
    const p = randomParams('lstm', C, H, 21);
    const target = join(dir, 'models', 'nested');
    const { onnxPath, sidecarPath } = await writeModel(target, sidecarInput(p, 'boiler', T), p);
    expect(onnxPath).toBe(join(target, 'boiler.onnx'));
    expect(sidecarPath).toBe(join(target, 'boiler.json'));
    expect(readdirSync(target).sort()).toEqual(['boiler.decode.onnx', 'boiler.json', 'boiler.onnx', 'boiler.step.onnx']);

    const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as { createdAt: string };
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(sidecar).toMatchObject({
      format: 'anomalyd-model', formatVersion: 2, anomalydVersion: pkg.version, window: T,
      graphs: { window: 'boiler.onnx', step: 'boiler.step.onnx', decode: 'boiler.decode.onnx' },
    });
    expect(Number.isNaN(Date.parse(sidecar.createdAt))).toBe(false);

    const s = await ort.InferenceSession.create(onnxPath);
    expect(s.inputNames).toContain('c0');
    await s.release();
  });

  it('replaces an existing model in place', async () => {
    const a = randomParams('gru', C, H, 22);
    const b = randomParams('gru', C, H, 23);
    await writeModel(dir, sidecarInput(a, 'm', T), a);
    const { onnxPath } = await writeModel(dir, sidecarInput(b, 'm', T), b);
    expect(Buffer.compare(readFileSync(onnxPath), Buffer.from(buildModelProto(b, { window: T })))).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['m.decode.onnx', 'm.json', 'm.onnx', 'm.step.onnx']);
  });

  it('refuses a sidecar that disagrees with the parameters, before writing anything', async () => {
    const p = randomParams('gru', C, H, 24);
    await expect(writeModel(dir, { ...sidecarInput(p, 'm', T), cell: 'lstm', hidden: H + 1 }, p)).rejects.toThrow(/cell: .*hidden: /);
    await expect(writeModel(dir, sidecarInput(p, '../escape', T), p)).rejects.toThrow(/name: /);
    expect(readdirSync(dir)).toEqual([]);
  });
});
