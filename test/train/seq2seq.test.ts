import { describe, expect, it } from 'vitest';
import type { CellKind } from '../../src/model/spec.js';
import { mulberry32 } from '../../src/train/rng.js';
import {
  createWorkspace,
  decode,
  decodePair,
  decodeState,
  encode,
  encodePair,
  forwardWindow,
  fromSeq2SeqParams,
  initParams,
  layerViews,
  pairOf,
  stepSequence,
  toSeq2SeqParams,
  type Seq2SeqParams64,
} from '../../src/train/seq2seq.js';

/**
 * A deliberately naive transcription of docs/MODEL.md (plain arrays, one gate at a time), written
 * independently of the typed-array kernels so the two can check each other.
 */
type Vec = number[];
const sig = (v: number): number => 1 / (1 + Math.exp(-v));

function gateRow(W: ArrayLike<number> | null, cols: number, gate: number, H: number, i: number, x: Vec): number {
  if (W === null) return 0;
  let s = 0;
  for (let k = 0; k < cols; k++) s += W[(gate * H + i) * cols + k] * x[k];
  return s;
}

function naiveCell(
  cell: CellKind,
  W: ArrayLike<number> | null,
  Wb: ArrayLike<number>,
  R: ArrayLike<number>,
  Rb: ArrayLike<number>,
  C: number,
  H: number,
  x: Vec,
  h: Vec,
  c: Vec,
): { h: Vec; c: Vec } {
  const wx = (g: number, i: number): number => gateRow(W, C, g, H, i, x) + Wb[g * H + i];
  const rh = (g: number, i: number): number => gateRow(R, H, g, H, i, h) + Rb[g * H + i];
  const hn: Vec = [];
  const cn: Vec = [];
  for (let i = 0; i < H; i++) {
    if (cell === 'gru') {
      const z = sig(wx(0, i) + rh(0, i));
      const r = sig(wx(1, i) + rh(1, i));
      const n = Math.tanh(wx(2, i) + r * rh(2, i));
      hn.push((1 - z) * n + z * h[i]);
      cn.push(0);
    } else {
      const ig = sig(wx(0, i) + rh(0, i));
      const o = sig(wx(1, i) + rh(1, i));
      const f = sig(wx(2, i) + rh(2, i));
      const g = Math.tanh(wx(3, i) + rh(3, i));
      const cc = f * c[i] + ig * g;
      cn.push(cc);
      hn.push(o * Math.tanh(cc));
    }
  }
  return { h: hn, c: cn };
}

function naiveForward(p: Seq2SeqParams64, x: Vec[], h0: Vec, c0: Vec): { recon: Vec[]; pred: Vec; states: { h: Vec; c: Vec }[] } {
  const { channels: C, hidden: H } = p;
  const states = [{ h: h0, c: c0 }];
  for (const xt of x) {
    const s = states[states.length - 1];
    states.push(naiveCell(p.cell, p.encW, p.encWb, p.encR, p.encRb, C, H, xt, s.h, s.c));
  }
  const e = states[states.length - 1];
  const readout = (W: ArrayLike<number>, b: ArrayLike<number>, h: Vec): Vec =>
    Array.from({ length: C }, (_, c) => b[c] + h.reduce((acc, hv, k) => acc + W[c * H + k] * hv, 0));
  const ys: Vec[] = [];
  let d = naiveCell(p.cell, null, p.decWb, p.decR, p.decRb, C, H, [], e.h, e.c);
  for (let k = 0; k < x.length; k++) {
    ys.push(readout(p.outW, p.outB, d.h));
    d = naiveCell(p.cell, null, p.decWb, p.decR, p.decRb, C, H, [], d.h, d.c);
  }
  return { recon: ys.reverse(), pred: readout(p.predW, p.predB, e.h), states };
}

function randomVec(rng: () => number, n: number, scale = 1): Vec {
  return Array.from({ length: n }, () => (2 * rng() - 1) * scale);
}

/** Initialisation biases are mostly zero; perturb every tensor so each term is exercised. */
function randomModel(cell: CellKind, C: number, H: number, seed: number): Seq2SeqParams64 {
  const rng = mulberry32(seed);
  const p = initParams({ cell, channels: C, hidden: H }, rng);
  for (const a of [p.encWb, p.encRb, p.decWb, p.decRb, p.outB, p.predB]) for (let i = 0; i < a.length; i++) a[i] += 0.5 * (2 * rng() - 1);
  return p;
}

describe.each<CellKind>(['gru', 'lstm'])('forwardWindow (%s)', (cell) => {
  const C = 3;
  const H = 4;
  const T = 7;
  const p = randomModel(cell, C, H, 11);
  const rng = mulberry32(99);
  const rows = Array.from({ length: 2 * T }, () => randomVec(rng, C));
  const h0 = randomVec(rng, H, 0.5);
  const c0 = cell === 'lstm' ? randomVec(rng, H, 0.5) : Array.from({ length: H }, () => 0);

  it.each([T, 4, 1])('matches a naive transcription of MODEL.md with L = %i', (L) => {
    const x = Float64Array.from(rows.slice(0, T).flat());
    const out = forwardWindow(p, x, T, L, Math.min(2, L), Float64Array.from(h0), cell === 'lstm' ? Float64Array.from(c0) : null);
    const ref = naiveForward(p, rows.slice(0, L), h0, c0);
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        const expected = t < L ? ref.recon[t][c] : 0;
        expect(out.recon[t * C + c]).toBeCloseTo(expected, 12);
      }
    }
    out.pred.forEach((v, c) => expect(v).toBeCloseTo(ref.pred[c], 12));
    out.hFinal.forEach((v, i) => expect(v).toBeCloseTo(ref.states[L].h[i], 12));
    out.hCarry.forEach((v, i) => expect(v).toBeCloseTo(ref.states[Math.min(2, L)].h[i], 12));
    if (cell === 'lstm') {
      out.cFinal!.forEach((v, i) => expect(v).toBeCloseTo(ref.states[L].c[i], 12));
      out.cCarry!.forEach((v, i) => expect(v).toBeCloseTo(ref.states[Math.min(2, L)].c[i], 12));
    } else {
      expect(out.cFinal).toBeNull();
    }
  });

  it('ignores padding: steps at and beyond L change nothing', () => {
    const L = 4;
    const a = Float64Array.from(rows.slice(0, T).flat());
    const b = a.slice();
    b.fill(123, L * C);
    const oa = forwardWindow(p, a, T, L, L, null, null);
    const ob = forwardWindow(p, b, T, L, L, null, null);
    expect(Array.from(ob.recon)).toEqual(Array.from(oa.recon));
    expect(Array.from(ob.pred)).toEqual(Array.from(oa.pred));
    expect(Array.from(ob.hCarry)).toEqual(Array.from(oa.hCarry));
  });

  it('carrying state after `advance` steps equals one run over the concatenated stream', () => {
    const hop = 3;
    const stream = Float64Array.from(rows.flat());
    const whole = forwardWindow(p, stream, 2 * T, 2 * T, 2 * T, null, null);
    let h: Float64Array | null = null;
    let c: Float64Array | null = null;
    let last = whole;
    for (let start = 0; start + T <= 2 * T; start += hop) {
      last = forwardWindow(p, stream.subarray(start * C, (start + T) * C), T, T, hop, h, c);
      h = last.hCarry;
      c = last.cCarry;
    }
    // The last window started at 6 and covered steps 6..12; the whole run's state after 13 steps:
    const ref = forwardWindow(p, stream, 2 * T, 2 * T, 13, null, null);
    last.hFinal.forEach((v, i) => expect(v).toBeCloseTo(ref.hCarry[i], 12));
    expect(whole.hFinal).toHaveLength(H);
  });

  it('advance 0 hands h0 back as the carry', () => {
    const x = Float64Array.from(rows.slice(0, T).flat());
    const out = forwardWindow(p, x, T, T, 0, Float64Array.from(h0), Float64Array.from(c0));
    expect(Array.from(out.hCarry)).toEqual(h0);
  });

  it('float32 export round-trips and gives the same forward to float32 precision', () => {
    const p32 = toSeq2SeqParams(p);
    expect(p32.encW).toBeInstanceOf(Float32Array);
    expect(p32.cell).toBe(cell);
    const x = Float32Array.from(rows.slice(0, T).flat());
    const a = forwardWindow(p, x, T, T, T, null, null);
    const b = forwardWindow(p32, x, T, T, T, null, null);
    a.recon.forEach((v, i) => expect(b.recon[i]).toBeCloseTo(v, 5));
    expect(Array.from(fromSeq2SeqParams(p32).encR)).toEqual(Array.from(p32.encR));
  });

  it('rejects impossible lengths', () => {
    const x = new Float64Array(T * C);
    expect(() => forwardWindow(p, x, T, 0, 0, null, null)).toThrow(RangeError);
    expect(() => forwardWindow(p, x, T, T + 1, 0, null, null)).toThrow(RangeError);
    expect(() => forwardWindow(p, x, T, 3, 4, null, null)).toThrow(RangeError);
  });
});

describe.each<CellKind>(['gru', 'lstm'])('stepSequence and decodeState, the references of the step and decode graphs (%s)', (cell) => {
  const C = 2;
  const H = 5;
  const p = randomModel(cell, C, H, 12);
  const rng = mulberry32(98);
  const rows = Array.from({ length: 11 }, () => randomVec(rng, C));
  const h0 = randomVec(rng, H, 0.5);
  const c0 = cell === 'lstm' ? randomVec(rng, H, 0.5) : Array.from({ length: H }, () => 0);
  const readout = (W: ArrayLike<number>, b: ArrayLike<number>, h: Vec): Vec =>
    Array.from({ length: C }, (_, c) => b[c] + h.reduce((acc, hv, k) => acc + W[c * H + k] * hv, 0));

  it('stepSequence predicts from every step’s state and ends in the state after L steps, as MODEL.md says', () => {
    const L = rows.length;
    const out = stepSequence(p, Float64Array.from(rows.flat()), L, Float64Array.from(h0), cell === 'lstm' ? Float64Array.from(c0) : null);
    const ref = naiveForward(p, rows, h0, c0);
    for (let t = 0; t < L; t++) {
      readout(p.predW, p.predB, ref.states[t + 1].h).forEach((v, c) => expect(out.preds[t * C + c]).toBeCloseTo(v, 12));
    }
    out.h.forEach((v, i) => expect(v).toBeCloseTo(ref.states[L].h[i], 12));
    if (cell === 'lstm') out.c!.forEach((v, i) => expect(v).toBeCloseTo(ref.states[L].c[i], 12));
    else expect(out.c).toBeNull();
  });

  it('stepping in two parts with the carried state is one run', () => {
    const x = Float64Array.from(rows.flat());
    const whole = stepSequence(p, x, 11, null, null);
    const a = stepSequence(p, x, 4, null, null);
    const b = stepSequence(p, x.subarray(4 * C), 7, a.h, a.c);
    expect(Array.from(b.h)).toEqual(Array.from(whole.h));
    expect([...a.preds, ...b.preds]).toEqual(Array.from(whole.preds));
  });

  it('decodeState emits the most recent step first, from the given state', () => {
    const W = 6;
    const state = naiveForward(p, rows.slice(0, 8), h0, c0).states[8];
    const out = decodeState(p, Float64Array.from(state.h), cell === 'lstm' ? Float64Array.from(state.c) : null, W);
    let d = naiveCell(p.cell, null, p.decWb, p.decR, p.decRb, C, H, [], state.h, state.c);
    for (let k = 0; k < W; k++) {
      readout(p.outW, p.outB, d.h).forEach((v, c) => expect(out[k * C + c]).toBeCloseTo(v, 12));
      d = naiveCell(p.cell, null, p.decWb, p.decR, p.decRb, C, H, [], d.h, d.c);
    }
    // The window graph's reconstruction of a window is the decode of its final state, in input order.
    const win = forwardWindow(p, Float64Array.from(rows.slice(0, W).flat()), W, W, W, Float64Array.from(h0), Float64Array.from(c0));
    const fromState = decodeState(p, win.hFinal, win.cFinal, W);
    for (let k = 0; k < W; k++) for (let c = 0; c < C; c++) expect(fromState[k * C + c]).toBe(win.recon[(W - 1 - k) * C + c]);
  });

  it('rejects impossible lengths', () => {
    expect(() => stepSequence(p, new Float64Array(4 * C), 5, null, null)).toThrow(/need L\*C/);
    expect(() => stepSequence(p, new Float64Array(4 * C), 0, null, null)).toThrow(RangeError);
    expect(() => decodeState(p, new Float64Array(H), null, 0)).toThrow(RangeError);
  });
});

describe('initParams', () => {
  it('is deterministic for a seed and sets the LSTM forget-gate bias', () => {
    const dims = { cell: 'lstm' as const, channels: 2, hidden: 5 };
    const a = initParams(dims, mulberry32(7));
    const b = initParams(dims, mulberry32(7));
    const c = initParams(dims, mulberry32(8));
    expect(Array.from(a.encR)).toEqual(Array.from(b.encR));
    expect(Array.from(a.encR)).not.toEqual(Array.from(c.encR));
    expect(Array.from(a.encWb.subarray(10, 15))).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(a.encWb.subarray(0, 10)).every((v) => v === 0)).toBe(true);
    const bound = 1 / Math.sqrt(5);
    expect(Array.from(a.encR).every((v) => Math.abs(v) <= bound)).toBe(true);
  });
});

describe('encodePair / decodePair', () => {
  const C = 2;
  const H = 5;
  const T = 9;
  const x = Float64Array.from({ length: 40 * C }, (_, i) => Math.sin(i / 3) + 0.1 * Math.cos(i * 1.7));

  it.each([
    ['gru', 9, 9],
    ['gru', 4, 9],
    ['lstm', 9, 6],
    ['lstm', 1, 9],
  ] as const)('%s, lengths %i and %i: each window exactly as run alone', (cell, La, Lb) => {
    const p = initParams({ cell, channels: C, hidden: H }, mulberry32(7));
    const views = layerViews(p);
    const rng = mulberry32(8);
    const h0 = Float64Array.from({ length: H }, () => 2 * rng() - 1);
    const c0 = Float64Array.from({ length: H }, () => 2 * rng() - 1);
    const a = { xOff: 3 * C, L: La, h0, c0 };
    const b = { xOff: 20 * C, L: Lb, h0: null, c0: null };
    const ws = createWorkspace(p, T);
    const wsB = pairOf(ws);
    encodePair(p, views, ws, wsB, x, a, b);
    decodePair(p, views, ws, wsB, La, Lb);
    for (const [run, args] of [
      [ws, a],
      [wsB, b],
    ] as const) {
      const alone = createWorkspace(p, T);
      encode(p, views, alone, x, args.xOff, args.L, args.h0, args.c0);
      decode(p, views, alone, args.L);
      expect(Array.from(run.recon)).toEqual(Array.from(alone.recon));
      expect(Array.from(run.pred)).toEqual(Array.from(alone.pred));
      expect(Array.from(run.encH.subarray(0, (args.L + 1) * H))).toEqual(Array.from(alone.encH.subarray(0, (args.L + 1) * H)));
      expect(Array.from(run.decCache.subarray(0, args.L * 4 * H))).toEqual(Array.from(alone.decCache.subarray(0, args.L * 4 * H)));
    }
  });
});
