#!/usr/bin/env node
// The level-excursion rule alone (src/pipeline/excursion.ts, ROOT's dist/) over scripts/first-day-sweep.mjs's rooms:
// 20 + 2 sin(2π·timeOfDay − 1) + N(0, 0.05) °C to 0.01 (tryout 31's generator, lcg seeds 1 to 4), the first reading at
// PHASES equal steps of the day, DAYS days read every STEP_S seconds, the first 256 readings the learning period, blocks
// of 31, every reading normal (no other kind's episode). Every drift told is a false one: prints each (phase, room,
// the reading and time of day it was told at) and the count.
//
//   node scripts/first-day-excursion-alone.mjs ROOT [STEP_S=10] [PHASES=48] [DAYS=2]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root = '.', stepArg = '10', phasesArg = '48', daysArg = '2'] = process.argv.slice(2);
const { LevelExcursion } = await import(pathToFileURL(resolve(root, 'dist/pipeline/excursion.js')).href);
const DAY = 86_400_000;
const step = Number(stepArg) * 1000;
const phases = Number(phasesArg);
const n = Math.round((Number(daysArg) * DAY) / step);
const T0 = Date.UTC(2026, 10, 1);
// test/helpers/lcg.ts
function lcg(seed) { let s = seed; return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; }; }
let told = 0;
for (let p = 0; p < phases; p++) {
  const tod = Math.round((p * DAY) / phases);
  for (const seed of [1, 2, 3, 4]) {
    const rnd = lcg(seed);
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const t = new LevelExcursion(31, 0);
    let first = -1;
    for (let i = 0; i < n; i++) {
      const ts = T0 + tod + i * step;
      const x = Math.round((20 + 2 * Math.sin(2 * Math.PI * ((ts % DAY) / DAY) - 1) + 0.05 * gauss()) * 100) / 100;
      t.update(x, true, i < 256, 0.01, ts);
      if (t.drifting && first < 0) first = i;
    }
    if (first >= 0) {
      told++;
      console.log(`tod=${Math.round(tod / 60_000)} room${seed}: told at reading ${first} (${new Date(T0 + tod + first * step).toISOString().slice(11, 16)} UTC)`);
    }
  }
}
console.log(`step ${stepArg} s, ${phases} phases x 4 rooms, ${n} readings each: ${told} told a drift`);
