#!/usr/bin/env node
// `npm run evaluate`: replays the labelled data in ../shared/datasets (SKAB and MSL) through the detector
// with ONE configuration for every file (SETTINGS below), a model learnt per file on its normal part only,
// and prints a table per dataset (point-wise P/R/F1, event-wise P/R/F1, false alarms per day, mean
// detection delay), writing the per-file and per-dataset numbers to a JSON file. Uses the built JS in dist/
// (the npm script builds first). See src/eval/evaluate.ts for the protocol and BENCHMARKS.md for results.
//
//   npm run evaluate                              both datasets, results in bench-results/evaluation.json
//   npm run evaluate -- --dataset skab            one dataset
//   npm run evaluate -- --set config.window.hop=8 --set train.hidden=16   try a variant (same for every file)
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { loadModel } from '../dist/adapters/onnx-runner.js';
import {
  evalConfig,
  evaluateMslChannel,
  evaluateSkabFile,
  formatTable,
  mslChannels,
  skabFiles,
  summarise,
} from '../dist/eval/evaluate.js';

/**
 * The one configuration. `config` overrides the schema defaults (not config/default.yaml); `train` goes to
 * trainModel. Chosen from the variants in BENCHMARKS.md "What was tried" by the rule stated there.
 */
export const SETTINGS = {
  config: {
    window: { length: 16, hop: 4, intervalMs: 1000 },
    model: { cell: 'gru', normWarmup: 128, maxBatch: 256 },
    score: { mode: 'both', threshold: 0.995, shortWindow: 3, longWindow: 500, priorWeight: 100 },
    alerts: { openAfter: 2, closeAfter: 3, cooldownMs: 60000, maxEpisodeMs: 600000 },
  },
  train: { hidden: 32, epochs: 20, seed: 1 },
};

const USAGE = `Usage: npm run evaluate -- [options]

Replays every file of the labelled datasets (SKAB, MSL) through the detector with one configuration, a
model learnt per file on its normal part only, and prints point-wise and event-wise precision, recall and
F1, false alarms per day and the detection delay. The files are read by the same CSV reader as
'anomalyd train' and 'anomalyd replay' (docs/CSV.md), in UTC: SKAB by its datetime column, MSL as
index-only files (rows 1 s apart); the anomaly column holds the labels.

  --dataset skab|msl|all    (default all)
  --data DIR                the datasets (default ../shared/datasets)
  --out FILE                per-file and per-dataset numbers as JSON (default bench-results/evaluation.json)
  --set PATH=VALUE          change one setting for every file, e.g. --set config.window.hop=8 (repeatable)
  --quiet                   no line per file
  -h, --help                this help
`;

const { values } = parseArgs({
  options: {
    help: { type: 'boolean', short: 'h', default: false },
    dataset: { type: 'string', default: 'all' },
    data: { type: 'string', default: '../shared/datasets' },
    out: { type: 'string', default: 'bench-results/evaluation.json' },
    set: { type: 'string', multiple: true, default: [] },
    quiet: { type: 'boolean', default: false },
  },
});

/** `--set config.window.hop=8`: a dotted path into SETTINGS and a JSON (or bare string) value. */
function applySet(target, assignment) {
  const eq = assignment.indexOf('=');
  if (eq < 0) throw new Error(`--set ${assignment}: expected path=value`);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  let node = target;
  for (const key of path.slice(0, -1)) node = node[key] ??= {};
  node[path[path.length - 1]] = value;
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const settings = structuredClone(SETTINGS);
for (const s of values.set) applySet(settings, s);
const root = resolve(values.data);
if (!existsSync(root)) {
  console.error(`evaluate: no datasets at ${root} (see ../shared/datasets/README.md)`);
  process.exit(2);
}
const config = evalConfig(settings.config);
const wanted = values.dataset === 'all' ? ['skab', 'msl'] : values.dataset.split(',');
const t0 = performance.now();
const results = [];
const summaries = [];

for (const dataset of wanted) {
  const jobs =
    dataset === 'skab'
      ? skabFiles(root).map((f) => () => evaluateSkabFile(f, config, settings, loadModel))
      : dataset === 'msl'
        ? mslChannels(root).map((c) => () => evaluateMslChannel(root, c, config, settings, loadModel))
        : null;
  if (jobs === null) {
    console.error(`evaluate: unknown dataset '${dataset}' (skab, msl or all)`);
    process.exit(2);
  }
  const done = [];
  for (const job of jobs) {
    const r = await job();
    done.push(r);
    if (!values.quiet) {
      const e = r.events;
      console.error(
        `${r.dataset} ${r.file}: tp ${r.points.tp} fp ${r.points.fp} fn ${r.points.fn}; events ${e.found}/${e.events}, false alarms ${e.falseAlarms}; ` +
          `train ${r.trainSeconds.toFixed(1)} s, replay ${r.replaySeconds.toFixed(2)} s`,
      );
    }
  }
  results.push(...done);
  summaries.push(summarise(dataset, done));
}

const seconds = (performance.now() - t0) / 1000;
console.log(formatTable(summaries));
console.log(`\n${results.length} files in ${seconds.toFixed(0)} s on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
const out = resolve(values.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ settings, summaries, files: results, seconds, createdAt: new Date().toISOString() }, null, 2)}\n`);
console.log(`results: ${out}`);
