/**
 * Tryout 31's room sensor with a noise burst (its generator, /work/tryout-31/run/gen.py; test/e2e/backfill-kind.test.ts,
 * test/explain/burst-phase.test.ts): 20 + 2 sin(2π · time of day (UTC) − 1) °C, ± 0.05 °C of Gaussian noise, two
 * decimals, one reading every `stepMs` from `t0` (epoch ms); from reading `before` on, for `burst` readings, ± 1.0 °C of
 * Gaussian noise more (twenty times its own), then `after` quiet readings. Seeded (lcg, Box-Muller): the same seed gives
 * the same noise and burst at every `t0` and `stepMs`, only the cycle's phase under it moves.
 */
import { lcg } from './lcg.js';

const DAY = 86_400_000;

/** The room's readings (ts epoch ms, value °C), oldest first. */
export function roomWithBurst(seed: number, t0: number, stepMs: number, before: number, burst: number, after: number): Array<{ ts: number; value: number }> {
  const rnd = lcg(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  return Array.from({ length: before + burst + after }, (_, i) => {
    const ts = t0 + i * stepMs;
    const noise = i >= before && i < before + burst ? gauss() : 0;
    return { ts, value: Math.round((20 + 2 * Math.sin(2 * Math.PI * ((ts % DAY) / DAY) - 1) + 0.05 * gauss() + noise) * 100) / 100 };
  });
}
