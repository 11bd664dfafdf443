#!/usr/bin/env node
// False `stuck` episodes of a slow daily cycle rounded to its resolution (finding 1 of the stuckrun brief): a room's
// 20 + 2 sin(2π·timeOfDay − 1) + N(0, σ), rounded to q, one reading every STEP s, with no fault in it, through
// runReplay with `tell` (the detector the daemon runs: ROOT's config/default.yaml and shipped model, ROOT's dist/).
// Every episode in it is a false one; this counts those told `stuck` and those that open on a run of three or more
// equal readings (a run's reading), over PHASES first times of day x SEEDS (mulberry32, src/train/rng.ts).
//
//   node scripts/stuck-sweep.mjs ROOT [STEPS_S=10,60,300] [Q=0.01,0.1] [SIGMA=0.05] [PHASES=24] [SEEDS=1,2,3] [DAYS=2]
// STEPS_S and Q are lists: every pair is swept. Prints each such episode and one count line per (step, q).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shipped } from './lib/shipped.mjs';

const [root, stepsArg = '10,60,300', qArg = '0.01,0.1', sigmaArg = '0.05', phasesArg = '24', seedsArg = '1,2,3', daysArg = '2'] = process.argv.slice(2);
const { at, cfg, loadModel } = await shipped(resolve(root));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const { runReplay } = await import(at('dist/replay/run.js'));
const { mulberry32 } = await import(at('dist/train/rng.js'));
const config = { ...cfg, explain: { ...cfg.explain, timeZone: 'UTC' } };
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const sigma = Number(sigmaArg);
const phases = Number(phasesArg);
const seeds = seedsArg.split(',').map(Number);
let all = 0;
for (const stepS of stepsArg.split(',').map(Number)) {
  for (const q of qArg.split(',').map(Number)) {
    const step = stepS * 1000;
    const n = Math.round((Number(daysArg) * DAY) / step);
    let stuck = 0;
    let onRuns = 0;
    let episodes = 0;
    for (let p = 0; p < phases; p++) {
      const tod = Math.round((p * DAY) / phases);
      for (const seed of seeds) {
        const rnd = mulberry32(seed);
        const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
        const rows = Array.from({ length: n }, (_, i) => {
          const ts = T0 + tod + i * step;
          const v = 20 + 2 * Math.sin(2 * Math.PI * ((ts % DAY) / DAY) - 1) + sigma * gauss();
          return { sensor: `room${seed}`, ts, channels: ['t'], values: [Number((Math.round(v / q) * q).toFixed(6))] };
        });
        const dir = mkdtempSync(join(tmpdir(), 'stucksweep-'));
        const res = await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir, tell: true }, () => undefined);
        rmSync(dir, { recursive: true, force: true });
        for (const e of res.episodes) {
          episodes++;
          const a = rows.findIndex((r) => r.ts === e.startTs);
          let run = 1;
          while (a - run >= 0 && rows[a - run].values[0] === rows[a].values[0]) run++;
          const isStuck = e.kind === 'stuck';
          if (isStuck) stuck++;
          if (run >= 3) onRuns++;
          if (isStuck || run >= 3) console.log(`step ${stepS} s q ${q} tod=${Math.round(tod / 60_000)} seed ${seed}: reading ${a} (run of ${run}), ${e.kind ?? '-'}: ${e.sentence}`);
        }
      }
    }
    all += stuck;
    console.log(`step ${stepS} s, q ${q}, σ ${sigma}: ${phases} phases x ${seeds.length} seeds, ${n} readings each: ${episodes} episodes, ${stuck} told stuck, ${onRuns} opened on a run of 3+`);
  }
}
console.log(`stuck in all: ${all}`);
