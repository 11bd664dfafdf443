/**
 * OUR synthetic development corpus: NAB-like series with labelled anomalies, generated from a seed. It is a
 * development set for trying the detector on the kinds of signals and faults real sensor streams show; it is
 * NOT a benchmark, its numbers are not comparable with any published result, and nothing may be tuned on it
 * and then reported as a held-out result.
 *
 * Each series is one sensor, one value per reading, on a regular grid of `intervalMs` (5 s … 1 h), 1,000 to
 * 22,000 readings long. Like NAB, its first min(15 %, 750) readings are the probationary period (normal,
 * the only data a detector may learn from), and anomalies come after it.
 *
 * Normal behaviours ("bases"): daily and weekly cycles, duty cycles, plateaus, a slowly mean-reverting random
 * walk, a spiky server metric, a counter, a quantised temperature, a vibration RMS. Some series have short
 * unlabelled gaps (a few readings missing, also during probation): a detector should not alarm on them.
 *
 * Anomaly kinds and how each is LABELLED (a run of readings, [start, end]):
 *   spike / dip        1–3 readings far outside the local range; the run is those readings.
 *   level-up / -down   the level moves by several noise widths for 2–6 % of the series, then returns.
 *   flatline           the value freezes (noise and cycle stop) for 1–4 % of the series.
 *   sentinel           the value reads a sentinel (85 or −127 for a temperature; 0 or 2^32 − 1 for a counter; 0
 *                      for a CPU %; 0 or 65535 otherwise) for 1 reading up to 1 % of the series.
 *   noise              the noise level jumps ×4 (or drops to ×0.15) for 2–5 % of the series.
 *   frequency          the signal runs at 2–3× its speed (faster cycles) for 2–5 % of the series.
 *   drift              an offset ramps up over 3–6 % of the series and stays (the ramp is labelled; what follows
 *                      is the new normal).
 *   missing            a stretch of 3–5 % of the series has no readings at all; the first reading after it is
 *                      labelled (a 1-reading run), so a detector that notices the outage when data resumes is
 *                      rewarded.
 * A labelled run never lasts more than 10 % of the series: NAB's labelling rule makes a change that lasts that
 * long the new normal. Anomalies are placed after the probation plus half of NAB's window and far enough
 * apart that their windows do not overlap.
 *
 * Everything here is pure and deterministic: the same seed gives the same corpus on every platform.
 */
import { mulberry32, type Rng } from '../train/rng.js';
import { NAB_WINDOW_FRACTION, nabProbation, windowsAroundRuns, type AnomalyWindow } from './nab.js';

export type BaseKind =
  | 'daily-cycle'
  | 'weekly-cycle'
  | 'duty-cycle'
  | 'plateaus'
  | 'random-walk'
  | 'server-metric'
  | 'counter'
  | 'quantised-temperature'
  | 'vibration';

export type AnomalyKind = 'spike' | 'dip' | 'level-up' | 'level-down' | 'flatline' | 'sentinel' | 'noise' | 'frequency' | 'drift' | 'missing';

export const ANOMALY_KINDS: readonly AnomalyKind[] = ['spike', 'dip', 'level-up', 'level-down', 'flatline', 'sentinel', 'noise', 'frequency', 'drift', 'missing'];

/** A labelled anomaly: readings [start, end] (inclusive, indices into the series' readings). */
export interface LabelledRun {
  readonly start: number;
  readonly end: number;
  readonly kind: AnomalyKind;
}

/** One series of the corpus. */
export interface DevSeries {
  /** `<group>/<name>.csv`, NAB's relative path. */
  readonly path: string;
  readonly base: BaseKind;
  /** Nominal spacing of readings, ms. */
  readonly intervalMs: number;
  /** Epoch ms per reading, increasing (a gap where readings are missing). */
  readonly timestamps: Float64Array;
  /** Value per reading, in the sensor's units. */
  readonly values: Float64Array;
  readonly anomalies: readonly LabelledRun[];
  /** NAB's probationary period in readings: min(floor(15 %), 750). */
  readonly probation: number;
}

/** What a series is made of: its base, spacing, length in grid steps, and its anomalies. */
export interface SeriesSpec {
  readonly base: BaseKind;
  readonly intervalMs: number;
  /** Grid steps (readings before any go missing). */
  readonly steps: number;
  readonly kinds: readonly AnomalyKind[];
  /** Short unlabelled gaps of a few readings. */
  readonly nuisanceGaps: number;
}

/** 2026-01-05T00:00:00Z, a Monday: where every series starts. */
export const CORPUS_ORIGIN_MS = Date.UTC(2026, 0, 5);

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/**
 * The corpus' series: every base and every anomaly kind, spacings from 5 s to 1 h. The list is fixed; the
 * seed draws lengths, levels, noise and where the anomalies go.
 */
export function corpusSpecs(rng: Rng): SeriesSpec[] {
  const len = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
  const plan: [BaseKind, number, number, number, AnomalyKind[], number][] = [
    // base, interval, min steps, max steps, kinds, nuisance gaps
    ['daily-cycle', 5 * MIN, 4000, 8000, ['spike'], 0],
    ['daily-cycle', 1 * MIN, 10000, 16000, ['level-down', 'dip'], 2],
    ['daily-cycle', 1 * HOUR, 1000, 2000, ['frequency'], 0],
    ['daily-cycle', 10 * MIN, 3000, 5000, ['drift'], 1],
    ['daily-cycle', 5 * MIN, 3000, 6000, [], 2],
    ['weekly-cycle', 1 * HOUR, 2500, 4500, ['level-up'], 0],
    ['weekly-cycle', 5 * MIN, 8000, 12000, ['missing', 'spike'], 1],
    ['weekly-cycle', 10 * MIN, 4000, 7000, ['noise'], 0],
    ['duty-cycle', 5 * S, 15000, 22000, ['flatline', 'spike'], 2],
    ['duty-cycle', 1 * MIN, 5000, 9000, ['frequency'], 0],
    ['duty-cycle', 10 * S, 8000, 12000, ['level-up'], 1],
    ['plateaus', 1 * MIN, 4000, 8000, ['dip', 'sentinel'], 0],
    ['plateaus', 5 * MIN, 2000, 4000, ['flatline'], 1],
    ['random-walk', 5 * MIN, 3000, 6000, ['spike', 'level-down'], 0],
    ['random-walk', 1 * HOUR, 1000, 1600, ['noise'], 0],
    ['random-walk', 1 * MIN, 6000, 10000, [], 1],
    ['server-metric', 5 * S, 10000, 20000, ['level-up', 'sentinel'], 2],
    ['server-metric', 1 * MIN, 5000, 8000, ['missing'], 1],
    ['server-metric', 5 * MIN, 3000, 5000, ['noise'], 0],
    ['counter', 5 * MIN, 3000, 6000, ['flatline'], 0],
    ['counter', 1 * HOUR, 1500, 3000, ['level-up'], 0],
    ['counter', 1 * MIN, 5000, 9000, ['sentinel'], 1],
    ['quantised-temperature', 1 * MIN, 6000, 12000, ['sentinel', 'spike'], 1],
    ['quantised-temperature', 5 * MIN, 2000, 4000, ['flatline'], 0],
    ['quantised-temperature', 10 * S, 10000, 16000, ['drift'], 1],
    ['vibration', 5 * S, 12000, 20000, ['noise', 'spike'], 2],
    ['vibration', 1 * MIN, 4000, 7000, ['level-up', 'drift'], 0],
    ['vibration', 10 * S, 6000, 10000, ['missing', 'dip'], 1],
  ];
  return plan.map(([base, intervalMs, lo, hi, kinds, nuisanceGaps]) => ({ base, intervalMs, steps: len(lo, hi), kinds, nuisanceGaps }));
}

export interface CorpusOptions {
  /** false: the same series without their anomalies' values (labels kept; missing stretches still missing). */
  readonly anomalies?: boolean;
}

/** The development corpus for `seed` (default 1). Deterministic. */
export function devCorpus(seed = 1, opts: CorpusOptions = {}): DevSeries[] {
  const rng = mulberry32(seed);
  const specs = corpusSpecs(rng);
  const names = new Map<string, number>();
  return specs.map((spec, k) => {
    const series = generateSeries(spec, mulberry32((seed * 7919 + k * 104729) >>> 0), opts.anomalies ?? true);
    const stem = `${spec.base.replace(/-/g, '_')}_${spec.kinds.length > 0 ? spec.kinds.join('_').replace(/-/g, '') : 'normal'}_${intervalLabel(spec.intervalMs)}`;
    const n = (names.get(stem) ?? 0) + 1;
    names.set(stem, n);
    return { ...series, path: `${groupOf(spec.base)}/${stem}${n > 1 ? `_${n}` : ''}.csv` };
  });
}

function groupOf(base: BaseKind): string {
  switch (base) {
    case 'daily-cycle':
    case 'weekly-cycle':
      return 'cycles';
    case 'duty-cycle':
    case 'plateaus':
      return 'plateaus';
    case 'random-walk':
      return 'walks';
    case 'server-metric':
    case 'counter':
      return 'server';
    case 'quantised-temperature':
    case 'vibration':
      return 'sensors';
  }
}

/** '5s', '10s', '1m', '5m', '1h'. */
export function intervalLabel(ms: number): string {
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % MIN === 0) return `${ms / MIN}m`;
  return `${ms / S}s`;
}

/** Standard normal (Box–Muller). */
function gauss(rng: Rng): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

interface Base {
  /** Deterministic part, per grid step (generated beyond `steps` so a faster-running stretch has data). */
  readonly smooth: Float64Array;
  /** Random part. */
  readonly noise: Float64Array;
  /** Scale of the noise (its standard deviation), sensor units. */
  readonly sigma: number;
  /** Typical spread of the smooth part (its standard deviation), sensor units. */
  readonly spread: number;
  /** Values are the cumulative sum of smooth + noise (a counter). */
  readonly integrate: boolean;
  /** Readings are rounded to this step (0 = not). */
  readonly quantum: number;
  /** Readings are clamped to [lo, hi]. */
  readonly lo: number;
  readonly hi: number;
  readonly sentinels: readonly number[];
}

/** AR(1) noise of unit variance and lag-1 correlation `phi`. */
function arNoise(rng: Rng, n: number, phi: number, sigma: number): Float64Array {
  const out = new Float64Array(n);
  let x = gauss(rng);
  const k = Math.sqrt(1 - phi * phi);
  for (let i = 0; i < n; i++) {
    x = phi * x + k * gauss(rng);
    out[i] = sigma * x;
  }
  return out;
}

function std(a: Float64Array, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) m += a[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i] - m) ** 2;
  return Math.sqrt(v / n);
}

function makeBase(kind: BaseKind, n: number, intervalMs: number, rng: Rng): Base {
  const perDay = DAY / intervalMs;
  const smooth = new Float64Array(n);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rng();
  let noise: Float64Array;
  let sigma: number;
  let integrate = false;
  let quantum = 0;
  let lo = -Infinity;
  let hi = Infinity;
  let sentinels: number[] = [0, 65535];
  switch (kind) {
    case 'daily-cycle': {
      // A room or outdoor temperature: a daily cycle with a harmonic, slow weather wander, correlated noise.
      const mean = u(15, 25);
      const amp = u(2, 6);
      const phase = u(0, 2 * Math.PI);
      const wander = arNoise(rng, n, 1 - 1 / (2 * perDay), u(0.5, 1.5));
      for (let i = 0; i < n; i++) {
        const p = (2 * Math.PI * i) / perDay + phase;
        smooth[i] = mean + amp * Math.sin(p) + 0.3 * amp * Math.sin(2 * p + 1) + wander[i];
      }
      sigma = u(0.1, 0.3);
      noise = arNoise(rng, n, 0.6, sigma);
      sentinels = [85, -127];
      break;
    }
    case 'weekly-cycle': {
      // Requests per interval: a daily bell over working hours, quieter weekends, multiplicative noise.
      const scale = u(200, 2000);
      for (let i = 0; i < n; i++) {
        const t = (i * intervalMs) / DAY;
        const hour = (t % 1) * 24;
        const weekend = Math.floor(t) % 7 >= 5;
        const day = Math.exp(-((hour - 14) ** 2) / (2 * 3.5 ** 2));
        smooth[i] = scale * (0.15 + (weekend ? 0.35 : 1) * day);
      }
      sigma = 0.05 * scale;
      noise = arNoise(rng, n, 0.3, 1);
      for (let i = 0; i < n; i++) noise[i] *= sigma * Math.sqrt(smooth[i] / scale + 0.1);
      lo = 0;
      break;
    }
    case 'duty-cycle': {
      // A compressor's current: on for 20–60 readings-worth of minutes, off for longer, a start-up overshoot.
      const on = u(4, 8);
      const onLen = [Math.max(3, Math.round((10 * MIN) / intervalMs)), Math.max(6, Math.round((25 * MIN) / intervalMs))];
      const offLen = [Math.max(5, Math.round((15 * MIN) / intervalMs)), Math.max(10, Math.round((45 * MIN) / intervalMs))];
      let i = 0;
      let state = rng() < 0.5;
      while (i < n) {
        const span = state ? Math.round(u(onLen[0], onLen[1])) : Math.round(u(offLen[0], offLen[1]));
        for (let k = 0; k < span && i < n; k++, i++) smooth[i] = state ? on * (1 + 0.4 * Math.exp(-k / Math.max(1, span / 10))) : 0.05;
        state = !state;
      }
      sigma = 0.03 * on;
      noise = arNoise(rng, n, 0.2, sigma);
      lo = 0;
      break;
    }
    case 'plateaus': {
      // A process set-point: a few levels, held for hours, with small noise.
      const levels = [u(40, 50), u(55, 65), u(70, 80)];
      let i = 0;
      while (i < n) {
        const level = levels[Math.floor(rng() * levels.length)];
        const span = Math.round(u(0.02, 0.08) * n);
        for (let k = 0; k < span && i < n; k++, i++) smooth[i] = level;
      }
      sigma = u(0.3, 0.8);
      noise = arNoise(rng, n, 0.5, sigma);
      break;
    }
    case 'random-walk': {
      // A slowly mean-reverting walk (a tank level, a price): most of its movement is the walk itself.
      const mean = u(100, 500);
      const step = u(0.5, 2);
      const walk = arNoise(rng, n, 0.999, (0.3 * step) / Math.sqrt(1 - 0.999 ** 2));
      for (let i = 0; i < n; i++) smooth[i] = mean + walk[i];
      sigma = step * 0.3;
      noise = arNoise(rng, n, 0, sigma);
      break;
    }
    case 'server-metric': {
      // CPU %: a low base with a weak daily swing and normal short bursts (heavy-tailed), clamped to [0, 100].
      const base = u(8, 25);
      for (let i = 0; i < n; i++) smooth[i] = base * (1 + 0.3 * Math.sin((2 * Math.PI * i) / perDay));
      sigma = u(1, 3);
      noise = arNoise(rng, n, 0.3, sigma);
      for (let i = 0; i < n; i++) if (rng() < 0.01) noise[i] += -Math.log(1 - rng()) * 4 * sigma;
      lo = 0;
      hi = 100;
      sentinels = [0];
      break;
    }
    case 'counter': {
      // An energy or packet counter: the rate follows a daily cycle; the reading is the running total.
      const rate = u(5, 50);
      for (let i = 0; i < n; i++) smooth[i] = rate * (1 + 0.5 * Math.sin((2 * Math.PI * i) / perDay));
      sigma = 0.1 * rate;
      noise = arNoise(rng, n, 0.3, sigma);
      integrate = true;
      quantum = 1;
      sentinels = [0, 4294967295]; // a reset, a 32-bit overflow
      break;
    }
    case 'quantised-temperature': {
      // A DS18B20-like probe: slow daily cycle, readings in 0.0625 °C (or 0.5 °C) steps; 85 and −127 are its
      // power-on and disconnected values.
      const mean = u(4, 30);
      const amp = u(0.5, 3);
      for (let i = 0; i < n; i++) smooth[i] = mean + amp * Math.sin((2 * Math.PI * i) / perDay + 1);
      sigma = u(0.05, 0.15);
      noise = arNoise(rng, n, 0.8, sigma);
      quantum = rng() < 0.5 ? 0.0625 : 0.5;
      sentinels = [85, -127];
      break;
    }
    case 'vibration': {
      // Vibration RMS of a running machine: a level with multiplicative, skewed noise.
      const level = u(0.5, 3);
      smooth.fill(level);
      sigma = 0.08 * level;
      noise = arNoise(rng, n, 0.4, sigma);
      for (let i = 0; i < n; i++) noise[i] = Math.abs(noise[i]) * 1.25 - sigma; // half-normal: mean ≈ 0, skewed up
      lo = 0;
      break;
    }
  }
  return { smooth, noise, sigma, spread: Math.max(std(smooth, n), sigma), integrate, quantum, lo, hi, sentinels };
}

/** Grid steps [start, end] an anomaly spans, before readings go missing. */
interface Placed {
  readonly kind: AnomalyKind;
  readonly start: number;
  readonly end: number;
}

function spanOf(kind: AnomalyKind, steps: number, rng: Rng): number {
  const frac = (lo: number, hi: number): number => Math.max(3, Math.round((lo + (hi - lo) * rng()) * steps));
  switch (kind) {
    case 'spike':
    case 'dip':
      return 1 + Math.floor(rng() * 3);
    case 'level-up':
    case 'level-down':
      return frac(0.02, 0.06);
    case 'flatline':
      return frac(0.01, 0.04);
    case 'sentinel':
      return 1 + Math.floor(rng() * Math.max(1, Math.round(0.01 * steps)));
    case 'noise':
    case 'frequency':
      return frac(0.02, 0.05);
    case 'drift':
      return frac(0.03, 0.06);
    case 'missing':
      return frac(0.03, 0.05);
  }
}

/** Places the anomalies after the probation + half a window, in order, with a window's length between them. */
function place(kinds: readonly AnomalyKind[], steps: number, rng: Rng): Placed[] {
  const probation = nabProbation(steps);
  const window = Math.floor((NAB_WINDOW_FRACTION * steps) / Math.max(1, kinds.length));
  const spans = kinds.map((k) => spanOf(k, steps, rng));
  const first = probation + Math.ceil(window / 2) + 10;
  const need = spans.reduce((a, s) => a + s + window, 0);
  const slack = steps - first - need - 10;
  if (slack < 0) throw new RangeError(`corpus: ${steps} steps are too few for ${kinds.join(', ')}`);
  // Split the slack at random between the gaps before each anomaly.
  const cuts = kinds.map(() => rng());
  const total = cuts.reduce((a, b) => a + b, 0) + rng();
  let at = first;
  return kinds.map((kind, k) => {
    at += Math.floor((slack * cuts[k]) / total);
    const start = at;
    const end = start + spans[k] - 1;
    at = end + 1 + window;
    return { kind, start, end };
  });
}

/**
 * One series. With `inject` false the anomalies' values are not applied (the same random draws are made, so
 * everything else is identical, missing stretches included): the series as it would have been.
 */
function generateSeries(spec: SeriesSpec, rng: Rng, inject: boolean): Omit<DevSeries, 'path'> {
  const { steps, intervalMs } = spec;
  const placed = place(spec.kinds, steps, rng);
  // Room for a stretch that runs 3x faster.
  const extra = placed.reduce((a, p) => a + (p.kind === 'frequency' ? 2 * (p.end - p.start + 1) : 0), 0);
  const base = makeBase(spec.base, steps + extra, intervalMs, rng);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rng();

  // Phase: which base step each grid step reads (a 'frequency' stretch advances faster and stays ahead).
  const phase = new Float64Array(steps);
  const speed = new Float64Array(steps).fill(1);
  for (const p of placed) {
    const factor = rng() < 0.5 ? 2 : 3;
    if (p.kind === 'frequency' && inject) speed.fill(factor, p.start, p.end + 1);
  }
  for (let i = 1; i < steps; i++) phase[i] = phase[i - 1] + speed[i - 1];
  const signal = new Float64Array(steps);
  const noiseScale = new Float64Array(steps).fill(1);
  for (const p of placed) {
    const factor = rng() < 0.7 ? 4 : 0.15;
    if (p.kind === 'noise' && inject) noiseScale.fill(factor, p.start, p.end + 1);
  }
  for (let i = 0; i < steps; i++) {
    const k = phase[i];
    signal[i] = base.smooth[k] + noiseScale[i] * base.noise[k];
  }
  // Additive anomalies on the signal (for a counter, on its rate).
  const jump = (): number => base.sigma * u(6, 10) + base.spread * u(0.5, 1);
  const shift = (): number => base.sigma * u(3, 5) + base.spread * u(0.3, 0.6);
  for (const p of placed) {
    switch (p.kind) {
      case 'spike':
      case 'dip':
        for (let i = p.start; i <= p.end; i++) {
          const d = jump() * (p.kind === 'spike' ? 1 : -1);
          if (inject) signal[i] += d;
        }
        break;
      case 'level-up':
      case 'level-down': {
        const d = shift() * (p.kind === 'level-up' ? 1 : -1);
        if (inject) for (let i = p.start; i <= p.end; i++) signal[i] += d;
        break;
      }
      case 'drift': {
        const d = shift() * (rng() < 0.5 ? 1 : -1);
        const span = p.end - p.start + 1;
        if (inject) for (let i = p.start; i < steps; i++) signal[i] += d * Math.min(1, (i - p.start + 1) / span);
        break;
      }
      case 'flatline':
      case 'sentinel':
      case 'noise':
      case 'frequency':
      case 'missing':
        break;
    }
  }
  let values = signal;
  if (base.integrate) {
    values = new Float64Array(steps);
    let total = 1000 + Math.floor(u(0, 1e5));
    for (let i = 0; i < steps; i++) {
      total += Math.max(0, signal[i]);
      values[i] = total;
    }
  }
  for (let i = 0; i < steps; i++) {
    let v = Math.min(base.hi, Math.max(base.lo, values[i]));
    if (base.quantum > 0) v = Math.round(v / base.quantum) * base.quantum;
    values[i] = v;
  }
  // Anomalies that replace the reading itself.
  for (const p of placed) {
    const sentinel = base.sentinels[Math.floor(rng() * base.sentinels.length)];
    if (!inject) continue;
    if (p.kind === 'flatline') values.fill(values[p.start - 1], p.start, p.end + 1);
    if (p.kind === 'sentinel') values.fill(sentinel, p.start, p.end + 1);
  }

  // Readings that go missing: the 'missing' stretches and a few short unlabelled gaps (some in probation).
  const present = new Uint8Array(steps).fill(1);
  for (const p of placed) if (p.kind === 'missing') present.fill(0, p.start, p.end + 1);
  const busy = (i: number): boolean => placed.some((p) => i >= p.start - 2 && i <= p.end + 2);
  for (let g = 0; g < spec.nuisanceGaps; g++) {
    const len = 1 + Math.floor(rng() * 5);
    for (let tries = 0; tries < 50; tries++) {
      const at = 1 + Math.floor(rng() * (steps - len - 2));
      let free = true;
      for (let i = at - 1; i <= at + len; i++) free &&= !busy(i) && present[i] === 1;
      if (free) {
        present.fill(0, at, at + len);
        break;
      }
    }
  }
  const rowOf = new Int32Array(steps);
  let rows = 0;
  for (let i = 0; i < steps; i++) rowOf[i] = present[i] === 1 ? rows++ : -1;
  const timestamps = new Float64Array(rows);
  const out = new Float64Array(rows);
  for (let i = 0; i < steps; i++) {
    if (present[i] === 0) continue;
    timestamps[rowOf[i]] = CORPUS_ORIGIN_MS + i * intervalMs;
    out[rowOf[i]] = values[i];
  }
  const anomalies: LabelledRun[] = placed.map((p) => {
    if (p.kind === 'missing') {
      const r = rowOf[p.end + 1];
      return { kind: p.kind, start: r, end: r };
    }
    const cap = Math.floor(NAB_WINDOW_FRACTION * rows);
    return { kind: p.kind, start: rowOf[p.start], end: Math.min(rowOf[p.end], rowOf[p.start] + cap - 1) };
  });
  return { base: spec.base, intervalMs, timestamps, values: out, anomalies, probation: nabProbation(rows) };
}

/** Per reading: 1 inside a labelled run. */
export function labelsOf(series: DevSeries): Uint8Array {
  const labels = new Uint8Array(series.values.length);
  for (const a of series.anomalies) labels.fill(1, a.start, a.end + 1);
  return labels;
}

/** NAB windows of a series (our rule for labelled runs, `windowsAroundRuns`), in reading indices. */
export function windowsOf(series: DevSeries): AnomalyWindow[] {
  return windowsAroundRuns(labelsOf(series), series.probation);
}

/** NAB's timestamp format, UTC: `2026-01-05 00:05:00`. */
export function nabTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** A value as written to CSV: at most 6 decimals, no trailing zeros. */
function valueText(v: number): string {
  return String(Math.round(v * 1e6) / 1e6);
}

/** The series as NAB writes a data file: `timestamp,value`. */
export function seriesCsv(series: DevSeries): string {
  const lines = ['timestamp,value'];
  for (let i = 0; i < series.values.length; i++) lines.push(`${nabTime(series.timestamps[i])},${valueText(series.values[i])}`);
  return `${lines.join('\n')}\n`;
}

/** The corpus' label files in NAB's layout (labels/combined_labels.json, combined_windows.json) plus our runs. */
export interface CorpusLabelFiles {
  /** NAB's combined_labels.json: each file's anomaly onsets. */
  readonly combinedLabels: Record<string, string[]>;
  /** NAB's combined_windows.json: each file's windows as [first, last] timestamps. */
  readonly combinedWindows: Record<string, [string, string][]>;
  /** Ours (anomaly_runs.json): each file's labelled runs as [first, last] timestamps with their kind. */
  readonly anomalyRuns: Record<string, { start: string; end: string; kind: AnomalyKind }[]>;
}

/** The label files of `corpus`, timestamps in NAB's format (`2026-01-05 00:05:00.000000`, UTC). */
export function corpusLabelFiles(corpus: readonly DevSeries[]): CorpusLabelFiles {
  const combinedLabels: CorpusLabelFiles['combinedLabels'] = {};
  const combinedWindows: CorpusLabelFiles['combinedWindows'] = {};
  const anomalyRuns: CorpusLabelFiles['anomalyRuns'] = {};
  const t = (s: DevSeries, i: number): string => `${nabTime(s.timestamps[i])}.000000`;
  for (const s of corpus) {
    combinedLabels[s.path] = s.anomalies.map((a) => t(s, a.start));
    combinedWindows[s.path] = windowsOf(s).map((w) => [t(s, w.start), t(s, w.end)]);
    anomalyRuns[s.path] = s.anomalies.map((a) => ({ start: t(s, a.start), end: t(s, a.end), kind: a.kind }));
  }
  return { combinedLabels, combinedWindows, anomalyRuns };
}
