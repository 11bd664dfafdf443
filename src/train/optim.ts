/** Adam (Kingma & Ba 2015) and global gradient-norm clipping over a Seq2SeqParams64 container. */
import type { Seq2SeqDims } from '../model/spec.js';
import { PARAM_NAMES, zeroParams, type Seq2SeqParams64 } from './seq2seq.js';

export interface AdamState {
  readonly m: Seq2SeqParams64;
  readonly v: Seq2SeqParams64;
  step: number;
}

export interface AdamConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

export const ADAM_DEFAULTS: Omit<AdamConfig, 'lr'> = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export function createAdam(dims: Seq2SeqDims): AdamState {
  return { m: zeroParams(dims), v: zeroParams(dims), step: 0 };
}

export function globalNorm(g: Seq2SeqParams64): number {
  let sum = 0;
  for (const name of PARAM_NAMES) {
    const a = g[name];
    for (let i = 0; i < a.length; i++) sum += a[i] * a[i];
  }
  return Math.sqrt(sum);
}

/** Scales g in place so its global L2 norm is at most maxNorm (Pascanu et al. 2013). Returns the norm before clipping. */
export function clipGlobalNorm(g: Seq2SeqParams64, maxNorm: number): number {
  const norm = globalNorm(g);
  if (norm > maxNorm && norm > 0) {
    const scale = maxNorm / norm;
    for (const name of PARAM_NAMES) {
      const a = g[name];
      for (let i = 0; i < a.length; i++) a[i] *= scale;
    }
  }
  return norm;
}

export function adamStep(p: Seq2SeqParams64, g: Seq2SeqParams64, state: AdamState, cfg: AdamConfig): void {
  state.step++;
  const { lr, beta1, beta2, eps } = cfg;
  const c1 = 1 - beta1 ** state.step;
  const c2 = 1 - beta2 ** state.step;
  for (const name of PARAM_NAMES) {
    const w = p[name];
    const d = g[name];
    const m = state.m[name];
    const v = state.v[name];
    for (let i = 0; i < w.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * d[i];
      v[i] = beta2 * v[i] + (1 - beta2) * d[i] * d[i];
      w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
    }
  }
}
