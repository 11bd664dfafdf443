#!/usr/bin/env node
// A new sensor's first days of a slow daily cycle, at every phase: the normal history of backfill-kind's rooms
// (test/e2e/backfill-kind.test.ts, "four rooms backfilled"; tryout 31's generator: 20 + 2 sin(2π·timeOfDay − 1) +
// N(0, 0.05), two decimals, seeded lcg) with no fault in it, through runReplay with `tell` (the detector the daemon
// runs, ROOT's config/default.yaml and shipped model). Every episode is a false one. Uses ROOT's dist/.
//
//   node scripts/first-day-sweep.mjs ROOT [STEP_S=60] [PHASES=48] [SEEDS=1,2,3,4] [DAYS=2]
// The first reading's time of day sweeps PHASES equal steps of the day. Prints each episode (phase, seed, its
// first and last reading, kind, resolution) and the count of episodes in all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shipped } from './lib/shipped.mjs';

const [root, stepArg = '60', phasesArg = '48', seedsArg = '1,2,3,4', daysArg = '2'] = process.argv.slice(2);
const { at, cfg, loadModel } = await shipped(resolve(root));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const { runReplay } = await import(at('dist/replay/run.js'));
const config = { ...cfg, explain: { ...cfg.explain, timeZone: 'UTC' } };
const DAY = 86_400_000;
const step = Number(stepArg) * 1000;
const n = Math.round((Number(daysArg) * DAY) / step);
const phases = Number(phasesArg);
const seeds = seedsArg.split(',').map(Number);
// test/helpers/lcg.ts
function lcg(seed) { let s = seed; return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; }; }
const T0 = Date.UTC(2026, 10, 1);
let episodes = 0;
let streams = 0;
for (let p = 0; p < phases; p++) {
  const tod = Math.round((p * DAY) / phases);
  for (const seed of seeds) {
    const rnd = lcg(seed);
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const rows = Array.from({ length: n }, (_, i) => {
      const ts = T0 + tod + i * step;
      return { sensor: `room${seed}`, ts, channels: ['t'], values: [Math.round((20 + 2 * Math.sin(2 * Math.PI * ((ts % DAY) / DAY) - 1) + 0.05 * gauss()) * 100) / 100] };
    });
    const dir = mkdtempSync(join(tmpdir(), 'firstday-'));
    const res = await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir, tell: true }, () => undefined);
    rmSync(dir, { recursive: true, force: true });
    streams++;
    for (const e of res.episodes) {
      episodes++;
      const a = Math.round((e.startTs - T0 - tod) / step);
      const b = Math.round((e.endTs - T0 - tod) / step);
      console.log(`tod=${Math.round(tod / 60_000)} room${seed}: readings ${a} … ${b} (${e.readings}), ${e.kind ?? '-'}, ${e.resolution ?? 'open'}: ${e.sentence}`);
    }
  }
}
console.log(`step ${stepArg} s, ${phases} phases x ${seeds.length} rooms, ${n} readings each: ${episodes} episodes in ${streams} streams`);
