/**
 * The deterministic sensor streams the exactness checks feed a built detector (scripts/detector-hash.mjs,
 * scripts/signals-hash.mjs): one generator, so two checks cannot drift apart, with each check's own fault rates.
 *
 * Each stream s is a sine cycle (level 20 + s mod 7, amplitude 1 + s mod 5 sensor units, period 20 + s mod 40
 * readings) with uniform noise (0.05 + 0.02·(s mod 4) wide), read every 1 s ± 20 ms, with faults after reading 400:
 * level shifts of up to ±5 amplitudes, a value stuck at 85 for 30-89 readings, the noise ×6 or ×0.1, spikes of 3-13
 * amplitudes; and, at any reading, missing readings (a 2-6 s gap), a long gap (600 s, a reset) and a duplicate time.
 * Every tenth stream (s mod 10 = 3) has two channels `a` and `b`. With `extras`: s mod 10 = 7 sends readings of more
 * digits than a float32 keeps (value × 100, 6 decimals), and s mod 10 = 9 gains a second channel `b` for readings
 * 1,000-1,099 and 2,000-2,099.
 *
 * One linear congruential generator (seed 12345; Numerical Recipes' constants 1103515245, 12345 mod 2^32) draws
 * every random number in a fixed order, so the readings are the same bit for bit on every machine and build; the
 * draws happen in `payload`, so the streams must be asked in the same order (reading k of every stream, then k + 1).
 *
 *   const { state, payload } = hashStreams(S, { level: 0.001, stuck: 0.0015, noise: 0.001, spike: 0.003 });
 *   payload(s, k)  // -> the JSON payload of stream s's reading k; state[s].ts is its time (ms since the epoch)
 *
 * @param {number} streams how many streams (S)
 * @param {{ level: number, stuck: number, noise: number, spike: number, extras?: boolean }} rates the chance, per
 *   reading after reading 400, of a level shift, a stuck run starting, a noise-level change and a spike
 * @returns {{ state: { ts: number, level: number, amp: number, noise: number, period: number, stuck: number }[],
 *   payload: (s: number, k: number) => string }}
 */
export function hashStreams(streams, rates) {
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296; };
  const t0 = 1_700_000_000_000;
  const state = Array.from({ length: streams }, (_, s) => ({ ts: t0 + s * 17, level: 20 + (s % 7), amp: 1 + (s % 5), noise: 0.05 + 0.02 * (s % 4), period: 20 + (s % 40), stuck: 0 }));
  const extras = rates.extras === true;
  function payload(s, k) {
    const st = state[s];
    let gap = 1000 + Math.round((rnd() - 0.5) * 40);
    if (rnd() < 0.002) gap = 1000 * (2 + Math.floor(rnd() * 5)); // missing readings
    if (rnd() < 0.0005) gap = 1000 * 600; // long gap (reset)
    if (rnd() < 0.002) gap = 0; // duplicate time
    st.ts += gap;
    if (k > 400 && rnd() < rates.level) st.level += (rnd() - 0.5) * 10 * st.amp;
    if (k > 400 && rnd() < rates.stuck) st.stuck = 30 + Math.floor(rnd() * 60);
    if (k > 400 && rnd() < rates.noise) st.noise *= rnd() < 0.5 ? 6 : 0.1;
    let v = st.level + st.amp * Math.sin((2 * Math.PI * k) / st.period) + st.noise * (rnd() - 0.5);
    if (st.stuck > 0) { st.stuck--; v = 85; }
    if (k > 400 && rnd() < rates.spike) v += (rnd() < 0.5 ? -1 : 1) * st.amp * (3 + 10 * rnd());
    if (s % 10 === 3) return `{"ts":${st.ts},"a":${v.toFixed(4)},"b":${(v * 0.5 + st.noise * rnd()).toFixed(4)}}`;
    if (extras) {
      // Readings of more digits than a float32 keeps (the series ring and an episode's columns hold them as float64).
      if (s % 10 === 7) return `{"ts":${st.ts},"value":${(v * 100).toFixed(6)}}`;
      // A stream whose channels change for a while (a second channel from reading 1,000 to 1,099, and again at 2,000).
      if (s % 10 === 9 && k % 1000 < 100 && k >= 1000) return `{"ts":${st.ts},"value":${v.toFixed(4)},"b":${(v * 2).toFixed(3)}}`;
    }
    return `{"ts":${st.ts},"value":${v.toFixed(4)}}`;
  }
  return { state, payload };
}
