// Offline, not the shipped code: spread's short mean (src/pipeline/scorer.ts: a boxcar of 2·smooth − 1 = 31 readings,
// trimmed 2 at each end, of ln change², floored at q²/6 for an exact repeat at q = 0.1) on the fridge of
// test/pipeline/fridge-duty-cycle.test.ts (on 80 ± 3 W for 12 to 18 min, off at 0.4 or 0.5 W for 25 to 35 min), its
// |ln ratio| against one long-term mean of ln change² (pooled: as the scorer does) and with each change less its own
// state's long-term mean (per-state: on, off, a switch), long-term means over the first 24 h. Prints the normal
// stream's p99, p99.9 and largest |ln ratio| over hours 12 to 48 and the largest in the hour of a × 5 noise burst in
// the on state from hour 36 (as the test's), every 10 s and every 60 s, seeds 4 and 5. `own state`: the mean over the
// present state's own changes only (since its segment began, the last 31 at most, at least 8; untrimmed).
// usage: node scripts/spread-mixture.mjs
const lcg = (seed) => { let s = seed; return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 4294967296); };
function fridge(seed, intervalS, n, burst) {
  const u = lcg(seed);
  const gauss = () => { let s = 0; for (let i = 0; i < 12; i++) s += u(); return s - 6; };
  const on = [];
  for (let state = u() < 0.5; on.length < n; state = !state) {
    const minutes = state ? 12 + u() * 6 : 25 + u() * 10;
    const len = Math.max(1, Math.round((minutes * 60) / intervalS));
    for (let k = 0; k < len; k++) on.push(state);
  }
  return Array.from({ length: n }, (_, i) => {
    const normal = on[i] ? 80 + gauss() * 3 : u() < 0.5 ? 0.4 : 0.5;
    const v = burst && i >= burst[0] && i < burst[1] && normal > 20 ? normal + gauss() * 15 : normal;
    return { v: Math.round(v * 10) / 10, on: on[i] };
  });
}
const W = 31, TRIM = 2, OWN_MIN = 8;
function shortMeans(xs, rel, own = false) {
  const l = [], st = [];
  for (let i = 1; i < xs.length; i++) { const d = xs[i].v - xs[i - 1].v; l.push(Math.log(Math.max(d * d, 0.01 / 6))); st.push(xs[i].on && xs[i - 1].on ? 1 : !xs[i].on && !xs[i - 1].on ? 0 : 2); }
  // long means over the first half (normal), pooled and per state
  const half = Math.floor(l.length / 2);
  const mean = (a) => a.reduce((p, q) => p + q, 0) / a.length;
  const pooled = mean(l.slice(0, half));
  const per = [0, 1, 2].map((k) => mean(l.slice(0, half).filter((_, i) => st[i] === k)));
  const r = l.map((x, i) => (rel ? x - per[st[i]] : x - pooled));
  const out = [];
  if (own) {
    // The present state's own changes: those since its segment began (at most W, at least OWN_MIN), untrimmed.
    let start = 0;
    for (let i = 0; i < r.length; i++) {
      if (st[i] === 2) start = i + 1;
      const n = Math.min(W, i + 1 - start);
      out.push(n >= OWN_MIN ? Math.abs(mean(r.slice(i + 1 - n, i + 1))) : 0);
    }
    return out.slice(W - 1);
  }
  for (let i = W - 1; i < r.length; i++) { const w = r.slice(i - W + 1, i + 1).sort((a, b) => a - b).slice(TRIM, W - TRIM); out.push(Math.abs(mean(w))); }
  return out;
}
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(p * (s.length - 1))]; };
for (const intervalS of [10, 60]) for (const seed of [4, 5]) {
  const perHour = 3600 / intervalS, n = Math.round(48 * perHour), from = Math.round(36 * perHour), to = from + perHour;
  for (const [rel, own] of [[false, false], [true, false], [true, true]]) {
    const normal = shortMeans(fridge(seed, intervalS, n), rel, own).slice(Math.round(12 * perHour));
    const b = shortMeans(fridge(seed, intervalS, n, [from, to]), rel, own);
    const inBurst = b.slice(from - W, to);
    console.log(`${intervalS}s seed ${seed} ${own ? 'own state' : rel ? 'per-state' : 'pooled   '}: normal |lr| p99 ${q(normal, 0.99).toFixed(2)} p999 ${q(normal, 0.999).toFixed(2)} max ${Math.max(...normal).toFixed(2)}; burst max ${Math.max(...inBurst).toFixed(2)}`);
  }
}
