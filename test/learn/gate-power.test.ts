/**
 * The gate's power on few held-out readings (finding "gatepower": a decision taken on too little held-out
 * evidence). With 400 learning readings the gate holds out 80, cut into 5 stretches of 16; the sign test it used
 * passed a candidate only when all 5 stretches were lower, however much lower it was, so few own models were kept
 * (SKAB 25 of 272). Diebold & Mariano's test on the 80 readings' loss differences, with a Newey-West variance and a
 * fixed-b critical value, weighs how much lower the new model's loss is against how much it varies.
 *
 * Real parts: the gate (splitHeldOut, heldOutErrors' stepping, the stretches, the test) on seeded AR(1) series of
 * 400 readings. The models are AR(1) predictors written here against the ModelRunner contract (the next reading
 * predicted as φ times the last plus an offset, the window reconstructed as it was read): their expected held-out
 * losses are known in closed form, which no trained network's are.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelRunner } from '../../src/contract/ports.js';
import type { ModelSidecar } from '../../src/model/spec.js';
import { mulberry32 } from '../../src/train/rng.js';
import { GATE_ALPHA, dieboldMariano, fixedBCritical, gate, splitHeldOut } from '../../src/learn/gate.js';

const SHIPPED: ModelSidecar = JSON.parse(readFileSync(new URL('../../models/gru.json', import.meta.url), 'utf8')) as ModelSidecar;
/** The shipped model's shapes: a window of 64, a hop of 16 (so 80 held-out readings give 5 stretches of 16). */
const W = SHIPPED.window;

/**
 * A one-channel AR(1) predictor with the ModelRunner contract: its state (H = W) holds the last W readings, newest
 * first; it predicts the next reading (standardised) as `phi` times the last + `offset` and reconstructs the readings
 * it holds exactly, so its held-out loss is 0.5 · its prediction MSE, which for a standardised AR(1) series of
 * coefficient ρ is in expectation 1 − 2 φ ρ + φ² + offset² (the reconstruction errors are 0 for every model here).
 */
function arPredictor(phi: number, offset = 0): ModelRunner {
  const sidecar: ModelSidecar = { ...SHIPPED, name: `ar-${phi}-${offset}`, hidden: W, channels: ['value'] };
  return {
    id: `ar-${phi}-${offset}`,
    sidecar,
    step: ({ x, h0, T }) => {
      const h = Float32Array.from(h0);
      const pred = new Float32Array(T);
      for (let t = 0; t < T; t++) {
        h.copyWithin(1, 0, W - 1);
        h[0] = x[t];
        pred[t] = phi * x[t] + offset;
      }
      return Promise.resolve({ pred, h });
    },
    decode: ({ h, W: w }) => Promise.resolve({ recon: h.slice(0, w) }),
  };
}

/** A seeded AR(1) series of `n` readings of coefficient `rho` and unit variance (Box-Muller normals from mulberry32). */
function ar1(n: number, rho: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const out = new Float64Array(n);
  let x = normal();
  for (let t = 0; t < n; t++) {
    x = rho * x + Math.sqrt(1 - rho * rho) * normal();
    out[t] = 20 + 3 * x; // in sensor units; splitHeldOut standardises by the training part
  }
  return out;
}

const RHO = 0.6;
const SEEDS = 400;

async function acceptedShare(candidate: ModelRunner, current: ModelRunner): Promise<number> {
  let accepted = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { held } = splitHeldOut(ar1(400, RHO, seed), 1);
    const d = await gate(candidate, current, [held]);
    expect(d.heldOut).toBe(80);
    expect(d.paired?.length).toBe(16);
    expect(d.paired?.test?.readings).toBe(80);
    if (d.accepted) accepted++;
  }
  return accepted / SEEDS;
}

describe('the gate on 80 held-out readings of an AR(1) series (finding gatepower)', () => {
  it('accepts a candidate better by a known margin most of the time: the true coefficient against the mean (expected loss 0.64 vs 1, 36 % lower)', async () => {
    // Expected prediction MSEs 1 − ρ² = 0.64 and 1. The sign test over the 5 stretches (main) passed only when all
    // 5 were lower: about half of the seeds here (0.49 over seeds 1–1,000).
    const share = await acceptedShare(arPredictor(RHO), arPredictor(0));
    expect(share).toBeGreaterThanOrEqual(0.6);
  });

  it('accepts a candidate no better than the model in use (equal expected loss) at about the nominal rate, no more', async () => {
    // The true coefficient with offsets +0.3 and −0.3: expected MSEs both 1 − ρ² + 0.09. On one seed the held-out
    // part's mean may lie off the training part's and favour one, but over seeds it favours neither.
    const share = await acceptedShare(arPredictor(RHO, 0.3), arPredictor(RHO, -0.3));
    // GATE_ALPHA plus two binomial standard deviations at SEEDS seeds.
    expect(share).toBeLessThanOrEqual(GATE_ALPHA + 2 * Math.sqrt((GATE_ALPHA * (1 - GATE_ALPHA)) / SEEDS));
  });
});

describe('the Diebold-Mariano test the gate runs on the readings’ loss differences (finding gatepower)', () => {
  const normals = (seed: number, n: number): Float64Array => {
    const rand = mulberry32(seed);
    return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand()));
  };
  it('passes at about its nominal level on 80 independent differences of mean 0, over many seeds', () => {
    const n = 4000;
    let passed = 0;
    for (let seed = 1; seed <= n; seed++) {
      const r = dieboldMariano([normals(seed, 80)], 16);
      if (r.t > r.critical) passed++;
    }
    expect(Math.abs(passed / n - GATE_ALPHA)).toBeLessThanOrEqual(3 * Math.sqrt((GATE_ALPHA * (1 - GATE_ALPHA)) / n));
  });

  it('its fixed-b critical value: the normal point at b → 0, Kiefer, Vogelsang & Bunzel’s 3.76 at b = 1 (within the fit)', () => {
    expect(fixedBCritical(0)).toBeCloseTo(1.645, 3);
    expect(Math.abs(fixedBCritical(1) - 3.764)).toBeLessThan(0.05);
    expect(fixedBCritical(0.2)).toBeGreaterThan(fixedBCritical(0.1));
  });

  it('its bandwidth: at least the one asked, at most the readings per series; a tie is NaN, a constant gain +∞', () => {
    const r = dieboldMariano([normals(3, 80)], 16);
    expect(r).toMatchObject({ readings: 80, bandwidth: 16 });
    expect(r.critical).toBeCloseTo(fixedBCritical(0.2), 12);
    expect(dieboldMariano([normals(3, 10)], 16).bandwidth).toBe(10);
    // two series of 40: b is the bandwidth over 40
    const two = dieboldMariano([normals(4, 40), normals(5, 40)], 16);
    expect(two).toMatchObject({ readings: 80, bandwidth: 16 });
    expect(two.critical).toBeCloseTo(fixedBCritical(0.4), 12);
    expect(dieboldMariano([new Float64Array(80)], 16).t).toBeNaN();
    expect(dieboldMariano([new Float64Array(80).fill(0.2)], 16).t).toBe(Infinity);
    expect(() => dieboldMariano([new Float64Array(0)], 16)).toThrow(RangeError);
  });
});
