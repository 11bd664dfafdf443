/**
 * A seeded family of NORMAL sensor signals for the shipped generic models (docs/MODEL.md, "The shipped
 * models"): cycles at many periods with harmonics and phase noise, plateaus and duty cycles, random walks,
 * counters, on/off signals, slow drifts and plain noise, at many noise levels, a share of them quantised to
 * a sensor's resolution (0.0625, 0.1, 0.5, 1). Pure: the same options give the same values on every platform.
 */
import { standardisedSegments } from './dataset.js';
import { mulberry32, type Rng } from './rng.js';
import type { TrainSeries } from './trainer.js';

export const SIGNAL_KINDS = ['cycle', 'duty', 'walk', 'counter', 'onoff', 'drift', 'noise'] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

/** Resolutions a quantised signal is rounded to, in its raw units (0.0625 = a 12-bit 1/16 °C sensor). */
export const QUANTA = [0.0625, 0.1, 0.5, 1] as const;

export interface SyntheticSegment {
  readonly kind: SignalKind;
  /** Raw values, one channel. */
  readonly values: Float64Array;
  /** The resolution the values are rounded to, or null. */
  readonly quantum: number | null;
  /** What was drawn, for the record (periods, levels, noise). */
  readonly description: string;
}

export interface FamilyOptions {
  readonly seed: number;
  /** Segments of each kind. */
  readonly perKind: number;
  /** Rows of a segment are drawn uniformly in [minRows, maxRows]. */
  readonly minRows: number;
  readonly maxRows: number;
  /** Share of the segments (not on/off) rounded to a resolution from QUANTA (default 0.35). */
  readonly quantisedFraction?: number;
}

/** Standard normal draw (Box-Muller; one of the pair is dropped, which keeps the draws per call fixed). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Log-uniform draw in [lo, hi]. */
function logUniform(rng: Rng, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + rng() * (Math.log(hi) - Math.log(lo)));
}

function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + rng() * (hi - lo);
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.min(items.length - 1, Math.floor(rng() * items.length))];
}

const fmt = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(2));

/** Cycles at one period (6..1500 steps) with up to three harmonics, phase noise and slow amplitude change. */
function cycle(rng: Rng, n: number, amp: number): { v: Float64Array; d: string } {
  const period = logUniform(rng, 6, 1500);
  const harmonics = [1, rng() * 0.6, rng() < 0.5 ? rng() * 0.3 : 0, rng() < 0.3 ? rng() * 0.2 : 0];
  const shifts = harmonics.map(() => rng() * 2 * Math.PI);
  const phaseNoise = rng() < 0.7 ? logUniform(rng, 1e-4, 0.05) : 0;
  const ampDrift = rng() < 0.4 ? logUniform(rng, 1e-4, 2e-3) : 0;
  const v = new Float64Array(n);
  let phase = rng() * 2 * Math.PI;
  let a = 1;
  for (let t = 0; t < n; t++) {
    phase += (2 * Math.PI) / period + phaseNoise * gaussian(rng);
    a = Math.min(1.5, Math.max(0.5, a + ampDrift * gaussian(rng)));
    let s = 0;
    for (let k = 0; k < harmonics.length; k++) if (harmonics[k] !== 0) s += harmonics[k] * Math.sin((k + 1) * phase + shifts[k]);
    v[t] = amp * a * s;
  }
  return { v, d: `period ${fmt(period)}, harmonics ${harmonics.map((h) => fmt(h)).join('/')}, phase noise ${fmt(phaseNoise)}` };
}

/**
 * Plateaus: 2..4 levels visited in a duty cycle or at random, dwell times 3..600 steps, instant or first-order
 * transitions, and for a third an overshoot at each change that dies away in a few steps (a motor's inrush
 * current, a valve or heater overshooting its set point).
 */
function duty(rng: Rng, n: number, amp: number): { v: Float64Array; d: string } {
  const levels = Array.from({ length: 2 + Math.floor(rng() * 3) }, () => amp * uniform(rng, -1, 1));
  const cyclic = rng() < 0.6;
  const dwell = levels.map(() => logUniform(rng, 3, 600));
  const jitter = uniform(rng, 0, 0.3);
  const tau = rng() < 0.4 ? 0 : logUniform(rng, 0.5, 8);
  const overshoot = rng() < 0.35 ? uniform(rng, 0.2, 1) : 0;
  const settle = uniform(rng, 0.3, 0.8);
  const v = new Float64Array(n);
  let level = 0;
  let left = Math.max(1, Math.round(dwell[0] * rng()));
  let y = levels[0];
  let kick = 0;
  for (let t = 0; t < n; t++) {
    if (--left <= 0) {
      const from = levels[level];
      level = cyclic ? (level + 1) % levels.length : (level + 1 + Math.floor(rng() * (levels.length - 1))) % levels.length;
      left = Math.max(1, Math.round(dwell[level] * (1 + jitter * gaussian(rng))));
      kick += overshoot * (levels[level] - from);
    }
    y = tau === 0 ? levels[level] : y + (levels[level] - y) / (1 + tau);
    v[t] = y + kick;
    kick *= settle;
  }
  const parts = [`${levels.length} levels, ${cyclic ? 'cyclic' : 'random'}, dwell ${dwell.map(fmt).join('/')}, lag ${fmt(tau)}`];
  if (overshoot > 0) parts.push(`overshoot ${fmt(overshoot)}`);
  return { v, d: parts.join(', ') };
}

/** Mean-reverting random walk (Ornstein-Uhlenbeck), reversion 1e-4..0.1 per step. */
function walk(rng: Rng, n: number, amp: number): { v: Float64Array; d: string } {
  const theta = logUniform(rng, 1e-4, 0.1);
  const sigma = amp * Math.sqrt(2 * theta);
  const v = new Float64Array(n);
  let x = amp * gaussian(rng);
  for (let t = 0; t < n; t++) {
    x += -theta * x + sigma * gaussian(rng);
    v[t] = x;
  }
  return { v, d: `reversion ${fmt(theta)}` };
}

/** A counter: non-decreasing, counting events (integers) or a flow; a share roll over at a maximum. */
function counter(rng: Rng, n: number): { v: Float64Array; d: string } {
  const integer = rng() < 0.5;
  const rate = integer ? logUniform(rng, 0.05, 5) : logUniform(rng, 0.01, 10);
  const burstiness = uniform(rng, 0, 1);
  const rolls = rng() < 0.25;
  const v = new Float64Array(n);
  let x = Math.floor(rng() * 1000);
  let busy = 1;
  for (let t = 0; t < n; t++) {
    if (rng() < 0.01) busy = rng() < burstiness ? 0 : 1 + rng();
    const inc = integer ? (rng() < Math.min(1, rate * busy) ? Math.max(1, Math.round(rate * busy)) : 0) : Math.max(0, rate * busy * (1 + 0.3 * gaussian(rng)));
    x += inc;
    v[t] = x;
  }
  if (rolls) {
    // Roll over 1..3 times within the segment, as a 16-bit or a firmware counter does.
    const max = (v[n - 1] - v[0]) / (1 + Math.floor(rng() * 3)) + 1;
    for (let t = 0; t < n; t++) v[t] = (v[t] - v[0]) % max;
  }
  return { v, d: `${integer ? 'events' : 'flow'}, rate ${fmt(rate)}${rolls ? ', rolls over' : ''}` };
}

/** On/off: exactly two values, switching with dwell times 2..800 steps. */
function onoff(rng: Rng, n: number): { v: Float64Array; d: string } {
  const onMean = logUniform(rng, 2, 800);
  const offMean = logUniform(rng, 2, 800);
  const v = new Float64Array(n);
  let on = rng() < 0.5;
  for (let t = 0; t < n; t++) {
    if (rng() < 1 / (on ? onMean : offMean)) on = !on;
    v[t] = on ? 1 : 0;
  }
  return { v, d: `on ${fmt(onMean)}, off ${fmt(offMean)}` };
}

/** A slow drift: a line, a bend and a cycle longer than the segment. */
function drift(rng: Rng, n: number, amp: number): { v: Float64Array; d: string } {
  const slope = amp * uniform(rng, -1, 1);
  const bend = amp * uniform(rng, -0.5, 0.5);
  const slow = logUniform(rng, n, 10 * n);
  const phase = rng() * 2 * Math.PI;
  const v = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const u = t / n;
    v[t] = slope * u + bend * u * u + amp * 0.5 * Math.sin((2 * Math.PI * t) / slow + phase);
  }
  return { v, d: `slope ${fmt(slope)}, period ${fmt(slow)}` };
}

/** Noise alone: white, or AR(1)-coloured with a coefficient up to 0.95. */
function noise(rng: Rng, n: number, amp: number): { v: Float64Array; d: string } {
  const phi = rng() < 0.5 ? 0 : uniform(rng, 0.2, 0.95);
  const v = new Float64Array(n);
  let x = 0;
  for (let t = 0; t < n; t++) {
    x = phi * x + amp * Math.sqrt(1 - phi * phi) * gaussian(rng);
    v[t] = x;
  }
  return { v, d: `AR(1) ${fmt(phi)}` };
}

/**
 * One segment of a kind, `n` rows, in raw units around a random level: the kind's signal, plus for most kinds
 * a slow drift (30 %) and sensor noise of 0.1 %..50 % of the amplitude, and for a share of them rounding to a
 * resolution that leaves 3..60 steps across the signal. On/off and counters keep their exact values.
 */
export function synthesiseSegment(kind: SignalKind, n: number, rng: Rng, quantisedFraction = 0.35): SyntheticSegment {
  const level = uniform(rng, -50, 100);
  const exact = kind === 'onoff' || kind === 'counter';
  const quantum = !exact && rng() < quantisedFraction ? pick(rng, QUANTA) : null;
  // A quantised signal spans 3..60 quanta; otherwise any amplitude (the detector standardises each stream).
  const amp = quantum === null ? logUniform(rng, 0.01, 100) : (quantum * logUniform(rng, 3, 60)) / 2;
  let base: { v: Float64Array; d: string };
  switch (kind) {
    case 'cycle':
      base = cycle(rng, n, amp);
      break;
    case 'duty':
      base = duty(rng, n, amp);
      break;
    case 'walk':
      base = walk(rng, n, amp);
      break;
    case 'counter':
      base = counter(rng, n);
      break;
    case 'onoff':
      base = onoff(rng, n);
      break;
    case 'drift':
      base = drift(rng, n, amp);
      break;
    case 'noise':
      base = noise(rng, n, amp);
      break;
  }
  const v = base.v;
  const parts = [base.d];
  if (!exact) {
    if (kind !== 'drift' && kind !== 'noise' && rng() < 0.3) {
      const slope = amp * uniform(rng, -0.5, 0.5);
      for (let t = 0; t < n; t++) v[t] += (slope * t) / n;
      parts.push(`drift ${fmt(slope)}`);
    }
    if (kind !== 'noise') {
      const sigma = amp * logUniform(rng, 1e-3, 0.5);
      for (let t = 0; t < n; t++) v[t] += sigma * gaussian(rng);
      parts.push(`noise ${fmt(sigma / amp)}×amp`);
    }
    for (let t = 0; t < n; t++) v[t] += level;
    if (quantum !== null) {
      for (let t = 0; t < n; t++) v[t] = Math.round(v[t] / quantum) * quantum;
      parts.push(`quantum ${quantum}`);
    }
  }
  return { kind, values: v, quantum, description: parts.join(', ') };
}

/**
 * `perKind` segments of every kind in SIGNAL_KINDS, in a seeded interleaved order (kind by kind per round),
 * each of a length drawn in [minRows, maxRows]. Throws RangeError for impossible options.
 */
export function normalFamily(opts: FamilyOptions): SyntheticSegment[] {
  const { seed, perKind, minRows, maxRows } = opts;
  if (!Number.isInteger(perKind) || perKind < 1) throw new RangeError(`perKind must be a positive integer, got ${perKind}`);
  if (!Number.isInteger(minRows) || minRows < 2 || !Number.isInteger(maxRows) || maxRows < minRows) {
    throw new RangeError(`rows must be integers with 2 <= minRows <= maxRows, got ${minRows}..${maxRows}`);
  }
  const rng = mulberry32(seed);
  const out: SyntheticSegment[] = [];
  for (let round = 0; round < perKind; round++) {
    for (const kind of SIGNAL_KINDS) {
      const n = minRows + Math.floor(rng() * (maxRows - minRows + 1));
      out.push(synthesiseSegment(kind, n, rng, opts.quantisedFraction));
    }
  }
  return out;
}

/**
 * The family as one training series: every segment standardised on its own (as the detector normalises each
 * stream by its own statistics) and kept as its own segment, so no training window spans two signals.
 */
export function familySeries(opts: FamilyOptions): { readonly series: TrainSeries; readonly family: readonly SyntheticSegment[] } {
  const family = normalFamily(opts);
  const { values, segments } = standardisedSegments(family.map((s) => s.values));
  return { series: { channels: ['value'], values, segments }, family };
}
