/**
 * A slow room temperature reported zigbee2mqtt-style: read every `sampleMs`, rounded to its step (0.5 °C) and sent
 * only when the rounded value changed, or after a heartbeat of quiet. The report-on-change sensor of the replay tests
 * (test/replay/report-on-change-*.test.ts) and of the daemon's status test (test/e2e/report-on-change-status.test.ts).
 */

import { lcg } from './lcg.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** A seeded linear congruential generator, uniform on [0, 1) (31-bit: these tests' series were first drawn with it). */
function lcg31(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

/** A fault at time `t` (epoch ms): added to the reading (`offset`, °C) and noise of its own (`noise`, its σ in °C). */
export interface RocFault {
  readonly offset: number;
  readonly noise: number;
}

export interface RocOptions {
  /** The generator's seed. */
  readonly seed: number;
  /** The first sample, epoch ms. */
  readonly start: number;
  /** How long, ms (default five days). */
  readonly spanMs?: number;
  /** How often the sensor reads (ms, default one minute); it sends only a change or a heartbeat. */
  readonly sampleMs?: number;
  /** The longest it keeps quiet, ms (default 50 minutes). */
  readonly heartbeatMs?: number;
  /** The fault per sample (default none). Its noise is drawn only where it is non-zero. */
  readonly fault?: (t: number) => RocFault | null;
}

/**
 * Rows [epoch ms, °C]: 20 °C ± 2 over the day, noise 0.15 °C (a sum of six uniforms, centred), plus the fault, rounded
 * to 0.5 °C; a row whenever the rounded value differs from the last sent, or `heartbeatMs` after it.
 */
export function reportOnChange(o: RocOptions): [number, number][] {
  const rnd = lcg31(o.seed);
  const gauss = (): number => {
    let u = 0;
    for (let i = 0; i < 6; i++) u += rnd();
    return u - 3;
  };
  const sampleMs = o.sampleMs ?? MIN;
  const heartbeatMs = o.heartbeatMs ?? 50 * MIN;
  const end = o.start + (o.spanMs ?? 5 * DAY);
  const rows: [number, number][] = [];
  let last = Number.NaN;
  let lastT = 0;
  for (let t = o.start; t < end; t += sampleMs) {
    const base = 20 + 2 * Math.sin((2 * Math.PI * (t % DAY)) / DAY) + 0.15 * gauss();
    const f = o.fault?.(t) ?? null;
    const extra = f === null ? 0 : f.offset + (f.noise > 0 ? f.noise * gauss() : 0);
    const v = Math.round((base + extra) * 2) / 2;
    if (v !== last || t - lastT >= heartbeatMs) {
      rows.push([t, v]);
      last = v;
      lastT = t;
    }
  }
  return rows;
}

/**
 * tryout 37's hall sensor (try/live.cjs): a temperature drifting by a random walk, read every 1.5 to 2.5 s, sent
 * zigbee2mqtt-style when its value to 0.1 °C changed or 60 s after the last report (its heartbeat). `n` reports from
 * `t0` (epoch ms). The young report-on-change sensor of test/pipeline/young-roc-death.test.ts and
 * test/e2e/young-roc-death.test.ts.
 */
export function hallSensor(seed: number, n: number, t0: number): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  const out: { ts: number; value: number }[] = [];
  let t = t0;
  let x = 19;
  let last = Number.NaN;
  let lastT = -Infinity;
  while (out.length < n) {
    t += 1500 + Math.round(rnd() * 1000);
    x += 0.02 * gauss() + (19 - x) * 0.01;
    const v = Math.round(x * 10) / 10;
    if (v !== last || t - lastT > MIN) {
      out.push({ ts: t, value: v });
      last = v;
      lastT = t;
    }
  }
  return out;
}
