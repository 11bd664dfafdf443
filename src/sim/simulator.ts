/**
 * A deterministic simulator of a few plant sensors, for the demo, the shipped models and tests.
 *
 *   temperature    room/process temperature, °C: a daily cycle compressed to `dayMs` (10 minutes by
 *                  default) plus slowly wandering (AR, bounded) and white measurement noise, 0.01 °C
 *                  resolution.
 *   vibration      bearing vibration RMS, mm/s: a level around 2.0 that drifts slowly with load (an
 *                  Ornstein-Uhlenbeck process, bounded: the "occasional harmless variation") plus noise.
 *   motor_current  a pump motor, A: on/off duty cycle (on 30-50 s, off 15-25 s) with a short inrush
 *                  when it starts, ~8 A plateaus with noise when on, a small standby current when off.
 *
 * Harmless variation is bounded. The slow wandering of temperature and vibration (what a process, a load
 * does) is a Gaussian AR process passed through a soft limit (`softBound`): it wanders as the process does
 * near its mean, but never beyond its limit. A Gaussian process has no bound, so the longer a run, the
 * further its rarest excursion (the largest of n independent excursions grows as sqrt(2 ln n)): a run of
 * a day went some 4 standard deviations out, well beyond anything the detector's learning period (one hour,
 * some 30 excursions of the vibration's two-minute load) could show, and a new level is what a detector
 * is there to flag. With the limit, the slow variation stays within the range the learning period shows,
 * however long the demo runs. The white measurement noise stays Gaussian: its rare draws (about one
 * reading in a week of 1 Hz readings is 4.8 standard deviations out) are the detector's to judge.
 *
 * All dynamics are in seconds of virtual time, so changing intervalMs samples the same physics faster or
 * slower. Every sensor has its own random stream derived from (seed, sensor name), and injected anomalies
 * draw from yet another stream, so the normal signal is identical with and without anomalies: outside the
 * ground-truth intervals the output does not change when anomalies are added.
 *
 * Anomalies (magnitude in the sensor's scale units, see SCALE):
 *   spike        + magnitude for every tick in [startTs, endTs] (a one-tick spike: endTs = startTs)
 *   level_shift  + magnitude over the interval (a bearing starting to wear, a fouled sensor)
 *   noise_burst  + magnitude x N(0, 1) per tick (a loose connector)
 *   stuck        the value of the first tick repeated exactly (a frozen sensor or gateway)
 */

import { mulberry32 } from '../train/rng.js';

export type SimSensorKind = 'temperature' | 'vibration' | 'motor_current';
export type AnomalyKind = 'spike' | 'level_shift' | 'noise_burst' | 'stuck';

export interface SimSensorSpec {
  readonly name: string;
  readonly kind: SimSensorKind;
  /** Default `sensors/<name>`. */
  readonly topic?: string;
}

export interface InjectedAnomaly {
  readonly sensor: string;
  readonly kind: AnomalyKind;
  /** First affected tick time, epoch ms. */
  readonly startTs: number;
  /** Last affected tick time, epoch ms (inclusive). */
  readonly endTs: number;
  /** In units of the sensor's scale; a default per kind when absent (ignored by 'stuck'). */
  readonly magnitude?: number;
}

export interface SimMessage {
  readonly sensor: string;
  readonly topic: string;
  readonly ts: number;
  /** The value in the payload. */
  readonly value: number;
  /** JSON, as a device would publish it. */
  readonly payload: string;
}

export interface SimulatorOptions {
  readonly sensors?: readonly SimSensorSpec[];
  readonly seed: number;
  /** Virtual time of the first tick, epoch ms. */
  readonly startTs: number;
  readonly intervalMs: number;
  /** 'demo': a repeating schedule of one anomaly of each kind, see DEMO_SCHEDULE. */
  readonly anomalies: 'none' | 'demo' | readonly InjectedAnomaly[];
  /**
   * With 'demo': when the schedule starts, epoch ms (its first cycle begins there). Default startTs;
   * null = not yet, until startAnomalies() is called (the demo starts them once the detector has learnt).
   */
  readonly anomaliesFrom?: number | null;
  /** Length of a simulated day; default 10 minutes. */
  readonly dayMs?: number;
}

export const DEFAULT_SENSORS: readonly SimSensorSpec[] = [
  { name: 'temperature', kind: 'temperature' },
  { name: 'vibration', kind: 'vibration' },
  { name: 'motor_current', kind: 'motor_current' },
];

/** What one unit of anomaly magnitude means per sensor kind (°C, mm/s, A). */
export const SCALE: Readonly<Record<SimSensorKind, number>> = { temperature: 1, vibration: 0.5, motor_current: 1 };

const DEFAULT_MAGNITUDE: Readonly<Record<AnomalyKind, number>> = { spike: 6, level_shift: 3, noise_burst: 3, stuck: 0 };

/**
 * The 'demo' schedule, repeated every DEMO_CYCLE_MS from startTs: the first anomaly comes after three
 * minutes so the detector has filled its windows and settled, and the anomalies are far enough apart
 * that each is its own episode.
 */
export const DEMO_CYCLE_MS = 12 * 60_000;
export const DEMO_SCHEDULE: readonly { readonly kind: SimSensorKind; readonly anomaly: AnomalyKind; readonly offsetMs: number; readonly durationMs: number }[] = [
  { kind: 'temperature', anomaly: 'spike', offsetMs: 180_000, durationMs: 0 },
  { kind: 'vibration', anomaly: 'level_shift', offsetMs: 300_000, durationMs: 90_000 },
  { kind: 'motor_current', anomaly: 'noise_burst', offsetMs: 450_000, durationMs: 30_000 },
  // Longer than any on or off phase, so the frozen value visibly fails to follow the duty cycle.
  { kind: 'motor_current', anomaly: 'stuck', offsetMs: 570_000, durationMs: 90_000 },
];

const DEFAULT_DAY_MS = 600_000;

export class Simulator {
  private readonly sensors: readonly SimSensor[];
  private readonly intervalMs: number;
  private readonly startTs: number;
  private readonly seed: number;
  private readonly dayMs: number;
  private readonly explicit: readonly InjectedAnomaly[] | null;
  private readonly demo: boolean;
  /** Demo anomalies generated so far (cycle by cycle, ahead of time). */
  private readonly demoList: InjectedAnomaly[] = [];
  private demoCycles = 0;
  private demoFrom: number | null;
  private readonly anomalyRng: () => number;
  private readonly stuckValues = new Map<InjectedAnomaly, number>();
  private tick = 0;

  constructor(opts: SimulatorOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${opts.intervalMs}`);
    const specs = opts.sensors ?? DEFAULT_SENSORS;
    const names = new Set(specs.map((s) => s.name));
    if (names.size !== specs.length) throw new Error('simulated sensor names must be unique');
    this.seed = opts.seed;
    this.startTs = opts.startTs;
    this.intervalMs = opts.intervalMs;
    this.dayMs = opts.dayMs ?? DEFAULT_DAY_MS;
    this.sensors = specs.map((spec) => new SimSensor(spec, this.process(spec, 'live')));
    this.demo = opts.anomalies === 'demo';
    this.explicit = Array.isArray(opts.anomalies) ? [...(opts.anomalies as readonly InjectedAnomaly[])].sort((a, b) => a.startTs - b.startTs) : null;
    for (const a of this.explicit ?? []) {
      if (!names.has(a.sensor)) throw new Error(`anomaly for unknown sensor ${JSON.stringify(a.sensor)}`);
      if (a.endTs < a.startTs) throw new Error(`anomaly on ${a.sensor} ends before it starts`);
    }
    this.anomalyRng = mulberry32(hashSeed(opts.seed, '\u0000anomalies'));
    this.demoFrom = opts.anomaliesFrom === undefined ? opts.startTs : opts.anomaliesFrom;
  }

  /**
   * Starts the 'demo' schedule at `ts` (epoch ms, not before the last tick): its first cycle begins there.
   * Throws when the schedule has started already.
   */
  startAnomalies(ts: number): void {
    if (this.demoFrom !== null) throw new Error('the demo anomalies have started already');
    const now = this.now();
    this.demoFrom = Number.isNaN(now) ? ts : Math.max(ts, now + this.intervalMs);
  }

  /** When the 'demo' schedule starts (epoch ms), or null while it waits for startAnomalies(). */
  get anomaliesFrom(): number | null {
    return this.demoFrom;
  }

  /** Virtual time of the last tick produced, or NaN before the first. */
  now(): number {
    return this.tick === 0 ? NaN : this.tsOf(this.tick - 1);
  }

  /** One tick: one message per sensor, all stamped with the tick's virtual time. */
  next(): SimMessage[] {
    const ts = this.tsOf(this.tick++);
    const active = this.activeAt(ts);
    return this.sensors.map((sensor) => {
      const normal = sensor.process.next(ts);
      const value = sensor.round(this.applyAnomalies(sensor, normal, ts, active));
      return { sensor: sensor.spec.name, topic: sensor.topic, ts, value, payload: sensor.payload(ts, value) };
    });
  }

  /**
   * `n` readings of normal behaviour (no anomalies) ending just before startTs, from a random stream of
   * their own: training history that is not the demo stream itself. Time-major N*C; C = 1 for every
   * simulated sensor.
   */
  series(sensor: string, n: number): Float64Array {
    const spec = this.sensors.find((s) => s.spec.name === sensor);
    if (spec === undefined) throw new Error(`unknown simulated sensor ${JSON.stringify(sensor)}`);
    const process = this.process(spec.spec, 'history');
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = spec.round(process.next(this.startTs - (n - i) * this.intervalMs));
    return out;
  }

  /** Ground truth: the anomalies that have started up to now (the last tick), in start order. */
  injected(): InjectedAnomaly[] {
    const now = this.now();
    if (Number.isNaN(now)) return [];
    return this.schedule(now).filter((a) => a.startTs <= now);
  }

  private tsOf(tick: number): number {
    return this.startTs + tick * this.intervalMs;
  }

  private process(spec: SimSensorSpec, stream: string): Process {
    const rng = mulberry32(hashSeed(this.seed, `${spec.name}\u0000${stream}`));
    const dtSec = this.intervalMs / 1000;
    switch (spec.kind) {
      case 'temperature':
        return new TemperatureProcess(rng, dtSec, this.dayMs);
      case 'vibration':
        return new VibrationProcess(rng, dtSec);
      case 'motor_current':
        return new MotorCurrentProcess(rng, dtSec);
    }
  }

  private schedule(until: number): readonly InjectedAnomaly[] {
    if (this.explicit !== null) return this.explicit;
    if (!this.demo || this.demoFrom === null) return [];
    while (this.demoFrom + this.demoCycles * DEMO_CYCLE_MS <= until) this.addDemoCycle();
    return this.demoList;
  }

  private addDemoCycle(): void {
    const base = this.demoFrom! + this.demoCycles++ * DEMO_CYCLE_MS;
    for (const item of DEMO_SCHEDULE) {
      const sensor = this.sensors.find((s) => s.spec.kind === item.kind);
      if (sensor === undefined) continue;
      // Snap to the tick grid so the interval is exactly the ticks that carry the anomaly.
      const startTs = this.snapUp(base + item.offsetMs);
      const endTs = Math.max(startTs, this.snapDown(base + item.offsetMs + item.durationMs));
      this.demoList.push({ sensor: sensor.spec.name, kind: item.anomaly, startTs, endTs });
    }
  }

  private snapUp(ts: number): number {
    return this.startTs + Math.ceil((ts - this.startTs) / this.intervalMs) * this.intervalMs;
  }

  private snapDown(ts: number): number {
    return this.startTs + Math.floor((ts - this.startTs) / this.intervalMs) * this.intervalMs;
  }

  private activeAt(ts: number): InjectedAnomaly[] {
    const active: InjectedAnomaly[] = [];
    for (const a of this.schedule(ts)) if (a.startTs <= ts && ts <= a.endTs) active.push(a);
    return active;
  }

  private applyAnomalies(sensor: SimSensor, normal: number, ts: number, active: readonly InjectedAnomaly[]): number {
    let value = normal;
    for (const a of active) {
      if (a.sensor !== sensor.spec.name) continue;
      const size = (a.magnitude ?? DEFAULT_MAGNITUDE[a.kind]) * SCALE[sensor.spec.kind];
      switch (a.kind) {
        case 'spike':
        case 'level_shift':
          value += size;
          break;
        case 'noise_burst':
          value += size * gaussian(this.anomalyRng);
          break;
        case 'stuck': {
          const held = this.stuckValues.get(a);
          if (held === undefined) this.stuckValues.set(a, sensor.round(value));
          else value = held;
          break;
        }
      }
    }
    return sensor.kindIsNonNegative ? Math.max(0, value) : value;
  }
}

class SimSensor {
  readonly topic: string;
  readonly kindIsNonNegative: boolean;
  private readonly decimals: number;

  constructor(
    readonly spec: SimSensorSpec,
    readonly process: Process,
  ) {
    this.topic = spec.topic ?? `sensors/${spec.name}`;
    this.kindIsNonNegative = spec.kind !== 'temperature';
    this.decimals = spec.kind === 'temperature' ? 100 : 1000;
  }

  /** Sensors report with a fixed resolution, as real ones do. */
  round(v: number): number {
    return Math.round(v * this.decimals) / this.decimals;
  }

  /** The three kinds use the three timestamp styles the parser accepts for single readings. */
  payload(ts: number, value: number): string {
    switch (this.spec.kind) {
      case 'temperature':
        return JSON.stringify({ ts, value });
      case 'vibration':
        return JSON.stringify({ timestamp: new Date(ts).toISOString(), value });
      case 'motor_current':
        return JSON.stringify({ time: ts, value, unit: 'A' });
    }
  }
}

interface Process {
  /** The normal value at `ts`; called once per tick, in order. */
  next(ts: number): number;
}

class TemperatureProcess implements Process {
  private drift = 0;
  private readonly phi: number;
  private readonly innovation: number;

  constructor(
    private readonly rng: () => number,
    dtSec: number,
    private readonly dayMs: number,
  ) {
    // AR(1) with a 30 s time constant and a stationary std of 0.15 °C, whatever the sampling rate.
    this.phi = Math.exp(-dtSec / 30);
    this.innovation = 0.15 * Math.sqrt(1 - this.phi * this.phi);
  }

  next(ts: number): number {
    this.drift = this.phi * this.drift + this.innovation * gaussian(this.rng);
    const day = (2 * Math.PI * (ts % this.dayMs)) / this.dayMs;
    // Coolest before "dawn", warmest in the "afternoon"; the drift never beyond +-0.25 °C.
    return 21 + 2.5 * Math.sin(day - Math.PI / 2) + softBound(this.drift, 0.25) + 0.03 * gaussian(this.rng);
  }
}

class VibrationProcess implements Process {
  private load = 0;
  private readonly phi: number;
  private readonly innovation: number;

  constructor(
    private readonly rng: () => number,
    dtSec: number,
  ) {
    // Load wanders with a two-minute time constant, +-0.15 mm/s (1 std) near the mean: harmless, slow
    // variation, never beyond +-0.25 mm/s.
    this.phi = Math.exp(-dtSec / 120);
    this.innovation = 0.15 * Math.sqrt(1 - this.phi * this.phi);
  }

  next(_ts: number): number {
    this.load = this.phi * this.load + this.innovation * gaussian(this.rng);
    return 2 + softBound(this.load, 0.25) + 0.05 * gaussian(this.rng);
  }
}

class MotorCurrentProcess implements Process {
  private on = false;
  private remainingSec: number;
  private sinceStartSec = 0;

  constructor(
    private readonly rng: () => number,
    private readonly dtSec: number,
  ) {
    this.remainingSec = 5 + 10 * rng();
  }

  next(_ts: number): number {
    this.remainingSec -= this.dtSec;
    if (this.remainingSec <= 0) {
      this.on = !this.on;
      this.remainingSec += this.on ? 30 + 20 * this.rng() : 15 + 10 * this.rng();
      this.sinceStartSec = 0;
    } else {
      this.sinceStartSec += this.dtSec;
    }
    if (!this.on) return 0.05 + 0.01 * gaussian(this.rng);
    // Inrush: about 1.6x the running current at start, decaying with a 1 s time constant.
    const inrush = 1 + 0.6 * Math.exp(-this.sinceStartSec);
    return 8 * inrush + 0.08 * gaussian(this.rng);
  }
}

/**
 * A soft limit: `limit * tanh(x / limit)`, in x's units. Nearly x for |x| well inside the limit (0.89 x at
 * 0.6 of it), never beyond +-limit, smooth and monotonic (a wandering process keeps its dynamics).
 */
export function softBound(x: number, limit: number): number {
  return limit * Math.tanh(x / limit);
}

/** FNV-1a over the seed and a label: independent streams per sensor and purpose. */
function hashSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Box-Muller; one draw per call keeps the stream simple to reason about. */
function gaussian(rng: () => number): number {
  const u = 1 - rng(); // (0, 1]: log(0) never happens
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}
