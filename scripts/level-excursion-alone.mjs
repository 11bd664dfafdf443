#!/usr/bin/env node
// The level-excursion rule alone (src/pipeline/excursion.ts, built: dist/), 30 seeds of 12,600 readings per stream kind,
// to 0.01, the first 256 as the learning period, blocks of 31, every reading normal. Prints how many seeds are told and
// the first reading told (-1: never) of each.
//
//   node scripts/level-excursion-alone.mjs [KINDS]   (comma-separated; default all but the sines)
// Kinds: drift = 21 + N(0, 0.1), +12 over readings 1800 … 12600; slow = 21 + N(0, 0.1), +4.3 over readings 576 … 1008,
// then held; walk (step N(0, 0.1)); walk01 (step N(0, 0.01)); hidden (walk01 under N(0, 0.1)); counter (+1 ± 0.2);
// weather (AR(1), time constant 360 readings, sd 2, + N(0, 0.05)); noise (21 + N(0, 0.1)); sineP (21 + 3 sin(2π k / P
// + phase seed / 30) + N(0, 0.1)); slowcyc = slow over a daily cycle of ±0.5 (21 + 0.5 sin(2π k / 288)); cycP = 21 +
// 0.5 sin(2π k / P + phase seed / 30) + N(0, 0.1) (a small cycle, no drift).
import { LevelExcursion } from '../dist/pipeline/excursion.js';
function mulberry32(a) { return () => { a |= 0; a = (a + 0x6d2b79f5) | 0; let t = Math.imul(a ^ (a >>> 15), 1 | a); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
function normal(seed) { const u = mulberry32(seed); return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()); }
// kinds: drift (a), slow (b), walk, hidden, counter, weather, noise; first drifting reading per seed
const kinds = { drift: (g, k) => 21 + 0.1 * g() + (k >= 1800 ? 12 * (k - 1799) / 10800 : 0), slow: (g, k) => 21 + 0.1 * g() + (k >= 576 ? 4.3 * Math.min(1, (k - 575) / 432) : 0) };
const out = {};
for (const name of (process.argv[2] ?? 'drift,slow,walk,hidden,counter,weather,noise,walk01').split(',')) {
  const res = [];
  for (let seed = 1; seed <= 30; seed++) {
    const g = normal(seed * 1000 + 7);
    let w = 20, c = 1000, we = 0; const a = Math.exp(-1 / 360);
    const t = new LevelExcursion(31, 0);
    let first = -1, n = 0, was = false;
    for (let k = 0; k < 12600; k++) {
      let x;
      if (name in kinds) x = kinds[name](g, k);
      else if (name === 'walk') { w += 0.1 * g(); x = w; }
      else if (name === 'walk01') { w += 0.01 * g(); x = w; }
      else if (name === 'hidden') { w += 0.01 * g(); x = w + 0.1 * g(); }
      else if (name === 'counter') { c += Math.max(0, 1 + 0.2 * g()); x = c; }
      else if (name === 'weather') { we = a * we + Math.sqrt(1 - a * a) * 2 * g(); x = 15 + we + 0.05 * g(); }
      else if (name === 'slowcyc') x = kinds.slow(g, k) + 0.5 * Math.sin((2 * Math.PI * k) / 288);
      else if (name.startsWith('cyc')) { const P = Number(name.slice(3)); x = 21 + 0.5 * Math.sin(2 * Math.PI * (k / P + seed / 30)) + 0.1 * g(); }
      else if (name.startsWith('sine')) { const P = Number(name.slice(4)); x = 21 + 3 * Math.sin(2 * Math.PI * (k / P + seed / 30)) + 0.1 * g(); }
      else x = 21 + 0.1 * g();
      t.update(Math.round(x * 100) / 100, true, k < 256, 0.01);
      if (t.drifting && !was) { n++; if (first < 0) first = k; }
      was = t.drifting;
    }
    res.push(first);
  }
  console.log(name, 'alarmed', res.filter((f) => f >= 0).length, '/30; first at', res.join(' '));
}
