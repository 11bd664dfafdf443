import { describe, expect, it } from 'vitest';
import { ADAM_DEFAULTS, adamStep, clipGlobalNorm, createAdam, globalNorm } from '../../src/train/optim.js';
import { mulberry32 } from '../../src/train/rng.js';
import { PARAM_NAMES, copyParams, initParams, zeroParams } from '../../src/train/seq2seq.js';

const dims = { cell: 'gru' as const, channels: 2, hidden: 3 };

describe('clipGlobalNorm', () => {
  it('scales a large gradient down to the limit and keeps its direction', () => {
    const g = initParams(dims, mulberry32(1));
    const before = zeroParams(dims);
    copyParams(g, before);
    const norm = globalNorm(g);
    expect(clipGlobalNorm(g, norm / 4)).toBeCloseTo(norm, 12);
    expect(globalNorm(g)).toBeCloseTo(norm / 4, 12);
    for (const name of PARAM_NAMES) g[name].forEach((v, i) => expect(v).toBeCloseTo(before[name][i] / 4, 12));
  });

  it('leaves a small gradient alone', () => {
    const g = initParams(dims, mulberry32(2));
    const norm = globalNorm(g);
    clipGlobalNorm(g, norm * 2);
    expect(globalNorm(g)).toBe(norm);
  });
});

describe('adamStep', () => {
  it('first step moves every non-zero-gradient weight by lr against the gradient sign', () => {
    const p = initParams(dims, mulberry32(3));
    const start = zeroParams(dims);
    copyParams(p, start);
    const g = initParams(dims, mulberry32(4));
    adamStep(p, g, createAdam(dims), { lr: 0.01, ...ADAM_DEFAULTS });
    // With bias correction the first Adam update is lr * sign(g) (up to eps).
    p.encR.forEach((v, i) => expect(v - start.encR[i]).toBeCloseTo(-0.01 * Math.sign(g.encR[i]), 6));
  });

  it('minimises a quadratic', () => {
    const p = initParams(dims, mulberry32(5));
    const state = createAdam(dims);
    const g = zeroParams(dims);
    const initial = globalNorm(p);
    for (let i = 0; i < 500; i++) {
      copyParams(p, g); // gradient of |p|^2 / 2
      adamStep(p, g, state, { lr: 0.01, ...ADAM_DEFAULTS });
    }
    expect(globalNorm(p)).toBeLessThan(initial / 20);
  });
});
