#!/usr/bin/env node
// The level-excursion rule alone (ROOT's dist/pipeline/excursion.js) on scripts/first-day-sweep.mjs's room read every
// 10 s (20 + 2 sin(2π·timeOfDay − 1) + N(0, 0.05) °C to 0.01, lcg seeds 1 to 4, two days, the first 256 readings the
// learning period) with a ramp of RATE °C/h added from a time of its first day: five (first reading, ramp start) pairs
// in hours of the day. Prints, for each, the hours from the ramp's start to its telling in each seed (-1: never told;
// -99: told before the ramp began, a false drift).
//
//   node scripts/first-day-walk-drift.mjs ROOT RATE
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.argv[2] ?? '.';
const { LevelExcursion } = await import(pathToFileURL(resolve(root, 'dist/pipeline/excursion.js')).href);
const rate = Number(process.argv[3] ?? 1);
const DAY = 86400000, step = 10000, n = 17280, T0 = Date.UTC(2026, 10, 1);
function lcg(seed) { let s = seed; return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; }; }
for (const [todH, startH] of [[8, 13], [0, 4], [20, 2], [14, 18], [4, 6]]) {
  const res = [];
  for (const seed of [1, 2, 3, 4]) {
    const rnd = lcg(seed);
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const t = new LevelExcursion(31, 0);
    let first = -1; const tod = todH * 3600000; const ds = T0 + (startH < todH ? DAY : 0) + startH * 3600000;
    for (let i = 0; i < n; i++) {
      const ts = T0 + tod + i * step;
      const drift = ts >= ds ? rate * (ts - ds) / 3600000 : 0;
      const x = Math.round((20 + 2 * Math.sin(2 * Math.PI * ((ts % DAY) / DAY) - 1) + 0.05 * gauss() + drift) * 100) / 100;
      t.update(x, true, i < 256, 0.01, ts);
      if (t.drifting && first < 0 && ts >= ds) first = (ts - ds) / 3600000;
      if (t.drifting && first < 0 && ts < ds) first = -99;
    }
    res.push(first < 0 ? first : first.toFixed(1));
  }
  console.log(`tod ${todH}h drift ${rate}/h from ${startH}h: told after (h) ${res.join(' ')}`);
}
