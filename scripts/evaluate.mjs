#!/usr/bin/env node
// `npm run evaluate`: streams labelled recordings through the detector with the SHIPPED configuration
// (config/default.yaml, or --config FILE: no evaluation-only settings) and prints, per dataset, point-wise and
// event-wise P/R/F1, false alarms per day, mean detection delay, the share of rows alarmed against labelled,
// and the streaming score of the Numenta Anomaly Benchmark under its three profiles; per-file numbers go to a
// JSON file. Uses the built JS in dist/ (the npm script builds first). Protocols: src/eval/*.ts and
// BENCHMARKS.md "Evaluation".
//
//   npm run evaluate                                  SKAB and MSL from ../shared/datasets
//   npm run evaluate -- --dataset skab                one dataset (skab, msl, dev; comma-separated)
//   npm run evaluate -- --dataset dev                 our synthetic development corpus (in memory, --seed)
//   npm run evaluate -- --corpus DIR                  any directory in NAB's layout (e.g. one written by
//                                                     scripts/write-corpus.mjs)
//   npm run evaluate -- --time-scale 1m               the time-scale test: also re-stamped 1 min apart (±2 %
//                                                     jitter, 1 % dropped, a few duplicated), compared with the
//                                                     unscaled run (1s,1m,5m,1h for all four; each scale
//                                                     after the first also against the first)
//   npm run evaluate -- --learn-rows 150              the short-history test: learn from the first 150 rows only
//   npm run evaluate -- --config my.yaml --jobs 2     another configuration; two files at a time
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { corpusSources, devSources, mslSources, skabSources } from '../dist/eval/datasets.js';
import {
  compareDetections,
  compareRows,
  compareSummaries,
  evaluateStream,
  formatFailures,
  formatNabTable,
  formatTable,
  loadEvalConfig,
  mapPool,
  summarise,
} from '../dist/eval/evaluate.js';
import { memoTrainer } from '../dist/eval/memo-trainer.js';
import { replayDetector } from '../dist/eval/replay-detector.js';
import { isTimeScale, rescaleStream, shortHistory, TIME_SCALES } from '../dist/eval/transform.js';
import { trainInWorker } from '../dist/train/in-worker.js';
import { loadModel } from '../dist/adapters/onnx-runner.js';
import { modelSidecarPath } from '../dist/daemon.js';

const USAGE = `Usage: npm run evaluate -- [options]

Streams every file of the labelled datasets through the detector with the shipped configuration (a model
learnt per file on its normal part only) and prints point-wise and event-wise P/R/F1, false alarms per day,
the detection delay, the share of rows alarmed against labelled and the Numenta Anomaly Benchmark's
streaming score (BENCHMARKS.md, "Evaluation"). The files are read by the same CSV reader as
'anomalyd train' and 'anomalyd replay' (docs/CSV.md), in UTC.

  --dataset LIST      skab, msl, dev (comma-separated; default skab,msl; 'all' = skab,msl,dev)
  --corpus DIR        also evaluate a directory in NAB's layout (alone when --dataset is not given)
  --data DIR          where skab/ and msl/ are (default ../shared/datasets)
  --config FILE       the configuration to measure (default config/default.yaml)
  --time-scale LIST   1s, 1m, 5m, 1h (comma-separated): the time-scale test against the unscaled run, and
                      each scale after the first against the first (same seed: same rows dropped, duplicated
                      and jittered, so any difference is the detector's dependence on the time scale)
  --files LIST        only these files (comma-separated names as printed, e.g. valve1/3.csv,T-9)
  --learn-rows N      the short-history test: learn from the first N rows only
  --seed N            seed of the dev corpus and of the time-scale transform (default 1)
  --jobs N            files evaluated at a time (default 1; > 1 trains in worker threads; with --time-scale
                      a file's model is learnt once per distinct learning series)
  --out FILE          JSON report (default bench-results/evaluation[-<mode>].json)
  --quiet             no per-file lines
  -h, --help          this help
`;

const { values } = parseArgs({
  options: {
    dataset: { type: 'string' },
    corpus: { type: 'string' },
    data: { type: 'string', default: '../shared/datasets' },
    config: { type: 'string' },
    'time-scale': { type: 'string' },
    files: { type: 'string' },
    'learn-rows': { type: 'string' },
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '1' },
    out: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const fail = (msg) => {
  console.error(`evaluate: ${msg}\n\n${USAGE}`);
  process.exit(2);
};
const intFlag = (name, min) => {
  const text = values[name];
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) fail(`--${name}: expected an integer >= ${min}, got '${text}'`);
  return v;
};
const seed = intFlag('seed', 0);
const jobs = intFlag('jobs', 1);
const learnRows = intFlag('learn-rows', 0);
const scales = values['time-scale']?.split(',').map((s) => s.trim()) ?? [];
for (const s of scales) if (!isTimeScale(s)) fail(`--time-scale: expected 1s, 1m, 5m or 1h, got '${s}'`);

const wanted = values.dataset === 'all' ? ['skab', 'msl', 'dev'] : (values.dataset?.split(',').map((d) => d.trim()) ?? (values.corpus !== undefined ? [] : ['skab', 'msl']));
const root = resolve(values.data);
const datasets = [];
for (const d of wanted) {
  if (d === 'skab' || d === 'msl') {
    if (!existsSync(root)) {
      console.error(`evaluate: no datasets at ${root} (see ../shared/datasets/README.md)`);
      process.exit(2);
    }
    datasets.push({ name: d, sources: d === 'skab' ? skabSources(root) : mslSources(root) });
  } else if (d === 'dev') datasets.push({ name: 'dev', sources: devSources(seed) });
  else fail(`--dataset: unknown dataset '${d}' (skab, msl, dev or all)`);
}
if (values.corpus !== undefined) {
  try {
    const sources = corpusSources(resolve(values.corpus));
    datasets.push({ name: sources[0].dataset, sources });
  } catch (err) {
    fail(err.message);
  }
}
for (const d of datasets) if (d.sources.length === 0) fail(`no files for dataset ${d.name} under ${root}`);
if (values.files !== undefined) {
  const only = new Set(values.files.split(',').map((f) => f.trim()));
  for (const d of datasets) d.sources = d.sources.filter((s) => only.has(s.file));
  const found = new Set(datasets.flatMap((d) => d.sources.map((s) => s.file)));
  const unknown = [...only].filter((f) => !found.has(f));
  if (unknown.length > 0) fail(`--files: no such file in the datasets: ${unknown.join(', ')}`);
  datasets.splice(0, datasets.length, ...datasets.filter((d) => d.sources.length > 0));
}

let config;
try {
  config = loadEvalConfig(values.config);
} catch (err) {
  console.error(`evaluate: ${err.message}`);
  process.exit(2);
}
// In worker threads, trainings of files evaluated at the same time run in parallel; the series' arrays are
// transferred, and learnModels does not use them afterwards.
// With --time-scale, a file's model is learnt once per distinct learning series (memoTrainer: a training
// depends on the values, not on the time stamps, and is seeded), so the scales after the first reuse the
// first's models: the same results, a fraction of the time.
const inner = jobs > 1 ? (series, opts) => trainInWorker(series, opts) : undefined;
const trainer = scales.length > 0 ? memoTrainer(inner).train : inner;
const detector = replayDetector({
  loadModel,
  shippedModel: (c) => modelSidecarPath(c),
  ...(trainer !== undefined ? { trainer } : {}),
});

const log = (line) => {
  if (!values.quiet) console.error(line);
};

/** Every file of every dataset through `transform`, the detector and the scorer. */
async function runAll(label, transform) {
  const out = [];
  for (const d of datasets) {
    const runs = await mapPool(d.sources, jobs, async (source) => {
      const stream = transform(await source.load());
      const run = await evaluateStream(stream, detector, config);
      const r = run.result;
      const e = r.events;
      log(
        `${label} ${r.dataset} ${r.file}: tp ${r.points.tp} fp ${r.points.fp} fn ${r.points.fn}; events ${e.found}/${e.events}, false alarms ${e.falseAlarms}; ` +
          `learn ${r.learnSeconds.toFixed(1)} s, run ${r.runSeconds.toFixed(2)} s${r.error !== null ? `; FAILED: ${r.error}` : ''}`,
      );
      return run;
    });
    out.push({ dataset: d.name, runs, ...summarise(d.name, runs) });
  }
  return out;
}

const t0 = performance.now();
const base = learnRows === undefined ? (s) => s : (s) => shortHistory(s, learnRows);
const mode = learnRows === undefined ? 'shipped defaults' : `learning from the first ${learnRows} rows`;
const main = await runAll('', base);
const summaries = main.map((m) => m.summary);
console.log(`## ${mode}${values.config !== undefined ? ` (${values.config})` : ''}\n`);
console.log(formatTable(summaries));
console.log('\nStreaming score (NAB method; 0 = never alarming, 100 = perfect):\n');
console.log(formatNabTable(summaries));
for (const s of summaries) if (s.failed.length > 0) console.log(`\n${formatFailures(s)}`);
// Which model scored each stream: its own (the gate took it, as on the device) or the shipped one, and why.
if (learnRows !== 0) {
  console.log('\nStreams by the model that scored them (the device\'s path: fine-tuned, gated on the newest 20 % of the learning rows):\n');
  for (const m of main) {
    const sum = (k) => m.runs.reduce((a, run) => a + (run.result.counts?.[k] ?? 0), 0);
    const own = sum('ownModels');
    const shipped = sum('fallbacks');
    const gated = sum('gateRejected');
    const unchanged = sum('unchanged');
    const drifted = sum('drifted');
    console.log(`- ${m.dataset}: ${own} of ${own + shipped} kept their own model; ${shipped} the shipped one (${gated} rejected by the gate, ${unchanged} unchanged by fine-tuning, ${drifted} drifting, ${shipped - gated - unchanged - drifted} not trained)`);
  }
}

const timeScale = [];
let firstScaled = null;
for (const scale of scales) {
  const intervalMs = TIME_SCALES[scale];
  const scaled = await runAll(scale, (s) => rescaleStream(base(s), intervalMs, seed));
  const comparisons = scaled.map((sc, k) => {
    const metrics = compareSummaries(main[k].summary, sc.summary);
    const detections = sc.runs.map((run, j) => compareDetections(main[k].runs[j], run));
    const sameFiles = detections.filter((c) => c.same).length;
    return { dataset: sc.dataset, metrics, detections, sameFiles, files: detections.length, pass: sameFiles === detections.length && metrics.every((m) => m.ok) };
  });
  console.log(`\n## Time scale ${scale} (readings ${intervalMs / 1000} s apart, ±2 % jitter, 1 % dropped, a few duplicated; seed ${seed})\n`);
  console.log(formatTable(scaled.map((s) => s.summary)));
  console.log();
  console.log(formatNabTable(scaled.map((s) => s.summary)));
  for (const c of comparisons) {
    const off = c.metrics.filter((m) => !m.ok);
    console.log(
      `\n${c.dataset} at ${scale}: same detections (within one reading) in ${c.sameFiles}/${c.files} files; ` +
        `metrics within 0.01: ${off.length === 0 ? 'all' : `not ${off.map((m) => `${m.metric} ${m.base.toFixed(3)} -> ${m.other.toFixed(3)}`).join(', ')}`}; ${c.pass ? 'PASS' : 'FAIL'}`,
    );
  }
  // Each scale after the first against the first scale's perturbed run: the same seed drops, duplicates and
  // jitters the same rows, so only the time scale differs.
  const first = timeScale.length > 0 ? timeScale[0] : null;
  const acrossScales =
    first === null
      ? null
      : scaled.map((sc, k) => {
          const metrics = compareSummaries(firstScaled[k].summary, sc.summary);
          const detections = sc.runs.map((run, j) => compareDetections(firstScaled[k].runs[j], run));
          const rows = sc.runs.map((run, j) => compareRows(firstScaled[k].runs[j], run));
          const sameFiles = detections.filter((c) => c.same).length;
          const identicalFiles = rows.filter((r) => r.comparable && r.alarmRows === 0).length;
          const maxScoreDelta = Math.max(0, ...rows.map((r) => (r.comparable ? r.maxScoreDelta : Infinity)));
          const pass = sameFiles === detections.length && metrics.every((m) => m.ok);
          return { dataset: sc.dataset, against: first.scale, metrics, detections, rows, sameFiles, identicalFiles, maxScoreDelta, files: detections.length, pass };
        });
  if (first === null) firstScaled = scaled;
  for (const c of acrossScales ?? []) {
    const off = c.metrics.filter((m) => !m.ok);
    console.log(
      `${c.dataset} at ${scale} against ${c.against} (the same perturbation): same detections in ${c.sameFiles}/${c.files} files, ` +
        `identical alarms row by row in ${c.identicalFiles}/${c.files}, largest score difference ${c.maxScoreDelta.toExponential(2)}; ` +
        `metrics within 0.01: ${off.length === 0 ? 'all' : `not ${off.map((m) => `${m.metric} ${m.base.toFixed(3)} -> ${m.other.toFixed(3)}`).join(', ')}`}; ${c.pass ? 'PASS' : 'FAIL'}`,
    );
  }
  timeScale.push({ scale, intervalMs, summaries: scaled.map((s) => s.summary), files: scaled.flatMap((s) => s.files), comparisons, acrossScales });
}

const seconds = (performance.now() - t0) / 1000;
const files = main.reduce((a, m) => a + m.runs.length, 0) * (1 + scales.length);
console.log(`\n${files} file runs in ${seconds.toFixed(0)} s on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
let commit = null;
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // Not a git checkout: the report just has no commit.
}
const suffix = [learnRows !== undefined ? `learn${learnRows}` : '', scales.length > 0 ? `time-scale-${scales.join('-')}` : ''].filter(Boolean).join('-');
const out = resolve(values.out ?? `bench-results/evaluation${suffix ? `-${suffix}` : ''}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      mode,
      config: values.config ?? 'config/default.yaml',
      commit,
      seed,
      summaries,
      files: main.flatMap((m) => m.files),
      timeScale,
      seconds,
      createdAt: new Date().toISOString(),
    },
    null,
    2,
  )}\n`,
);
console.log(`results: ${out}`);
