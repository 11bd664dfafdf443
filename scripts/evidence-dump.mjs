#!/usr/bin/env node
// Per-row evidence of MSL files as `npm run evaluate` scores them (shipped config): each channel's train rows then
// its test rows through the detector built as src/replay/run.ts builds it, with a model learnt on the train rows
// with evaluate's training options (seed 1; cached in MODELS, default $TMPDIR/anomalyd-evidence-models, keyed by
// channel only: delete it after a change of the trainer or of the training options). One JSON line per reading
// to OUTDIR/<channel>.jsonl:
//   k    row of the stream (train rows first)      t    row of the test file (negative in the train rows)
//   v    value      lab  the test row's label (-1 in the train rows)      st   status (learning, ok, anomalous)
//   s    the row's surprise (adaptive histories)   d    its deviation (reference histories): what opens episodes
//   a    1 while an alarm is open after this reading (a silent episode is 0)      E    events at this reading (open, update,
//        resolve:recovered, resolve:new_normal)
//   ev   surprise per kind of evidence against the adaptive histories, before fusion (null: the kind said nothing)
//   dv   the same against the reference histories
//   x    the model's one-step expectation of the reading (null without a model or before its first prediction)
//   sd   one normal standard deviation of that prediction (sensor units; null likewise)
// Its alarms (`a`) are the evaluation's: per file, tp / fp / fn and events equal `npm run evaluate`'s (checked
// on all 27 files of main 7df6867). Uses the built JS of ROOT (dist/).
//
//   node scripts/evidence-dump.mjs ROOT OUTDIR CHANNELS [DATA]   CHANNELS: T-4,M-1 or all; DATA: ../shared/datasets
//   node scripts/evidence-dump.mjs ROOT OUTDIR dev:PARTS [DATA]  files of the dev corpus (seed 1, as evaluate
//        generates it) whose path contains one of the comma-separated PARTS (dev:all: every file); OUTDIR/<group>_<file>.jsonl
//   node scripts/evidence-dump.mjs ROOT OUTDIR skab:FILES [DATA]  SKAB files (valve1/9.csv,other/4.csv): each of a file's 8
//        value columns is its own stream with its own model, as the evaluation runs them (src/replay/run.ts);
//        OUTDIR/<group>_<file>_<column>.jsonl. The file's row alarms is 1 where any of its columns' `a` is.
// Environment: MODELS (model cache), CONFIG (a config file to measure instead of ROOT's config/default.yaml, as
// evaluate's --config), TRAIN='{json}' (training options spread over trainOptionsOf's, e.g. {"patience":1000}: give
// each setting its own MODELS, as the cache is keyed by stream only), SHIPPED=1 (every stream scored with the shipped
// model as a stream whose own model the gate rejected is: not its own, no priors, its normalisation warmed up from its
// first readings; a model is still trained and cached, unused).
import { createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Subject } from 'rxjs';

const [root, outDir, which, dataArg] = process.argv.slice(2);
if (root === undefined || outDir === undefined || which === undefined) {
  console.error('usage: node scripts/evidence-dump.mjs ROOT OUTDIR CHANNELS|all [DATA]  (MODELS=dir to cache models elsewhere)');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const { loadEvalConfig } = await import(at('dist/eval/evaluate.js'));
const { mslChannels, loadMsl, devSources, loadSkab } = await import(at('dist/eval/datasets.js'));
const { Detector, detectorOptions, priorsOf } = await import(at('dist/pipeline/detector.js'));
const { MessageParser } = await import(at('dist/pipeline/parse.js'));
const { replayParseOptionsOf } = await import(at('dist/pipeline/ingest-options.js'));
const { payloadOf } = await import(at('dist/replay/drive.js'));
const { trainOptionsOf, streamRows } = await import(at('dist/replay/run.js'));
const { trainModel, sidecarOf } = await import(at('dist/train/trainer.js'));
const { writeModel } = await import(at('dist/model/onnx-export.js'));
const data = resolve(dataArg ?? '../shared/datasets');
const models = process.env.MODELS ?? join(tmpdir(), 'anomalyd-evidence-models');
const config = loadEvalConfig(process.env.CONFIG === undefined ? undefined : resolve(process.env.CONFIG), resolve(root));
const trainExtra = process.env.TRAIN === undefined ? {} : JSON.parse(process.env.TRAIN);
const dev = which.startsWith('dev:') ? devSources(1) : null;
const devParts = dev ? which.slice(4).split(',') : [];
const skab = which.startsWith('skab:');
const channels = dev
  ? dev.filter((src) => devParts.includes('all') || devParts.some((p) => src.file.includes(p))).map((src) => src.file)
  : skab ? which.slice(5).split(',') : which === 'all' ? mslChannels(data) : which.split(',');
mkdirSync(outDir, { recursive: true });
const r2 = (x) => (x === null || x === undefined || Number.isNaN(+x) ? null : Math.round(+x * 100) / 100);
const kinds = (e) => (e ? Object.fromEntries(Object.entries(e).map(([k, v]) => [k, r2(Array.isArray(v) ? v[0] : v)])) : null);

/** The streams of a file: one, or (SKAB) one per value column, each with the file's learning and scored rows. */
function streamsOf(file, s) {
  if (!skab) return [{ name: file.replace(/\.csv$/, '').replaceAll('/', '_'), s }];
  const split = streamRows(s.rows, false);
  const cols = s.rows[0].channels;
  return cols.map((c, i) => ({
    name: `${file.replace(/\.csv$/, '').replaceAll('/', '_')}_${c.replaceAll(' ', '')}`,
    s: { ...s, rows: split.rows.filter((_, k) => k % cols.length === i) },
  }));
}

for (const file of channels) {
  const whole = dev ? await dev.find((src) => src.file === file).load() : skab ? await loadSkab(join(data, 'skab', file)) : await loadMsl(data, file);
  for (const { name, s } of streamsOf(file, whole)) {
  const ch = name;
  const dir = join(models, dev ? `dev_${name}` : ch);
  if (!existsSync(dir) || !readdirSync(dir).some((f) => f.endsWith('.json'))) {
    const rows = s.rows.slice(0, s.learnRows).filter((r) => r.values.every(Number.isFinite));
    const series = { channels: ['value'], values: Float64Array.from(rows, (r) => r.values[0]), timestamps: Float64Array.from(rows, (r) => r.ts) };
    const result = trainModel(series, { ...trainOptionsOf(config), ...trainExtra, source: `replay rows 0..${s.learnRows - 1} of ${ch}` });
    mkdirSync(dir, { recursive: true });
    await writeModel(dir, sidecarOf('learn-0', result), result.params);
  }
  const shipped = process.env.SHIPPED === '1';
  const model = await loadModel(shipped ? modelSidecarPath(config) : join(dir, readdirSync(dir).find((f) => f.endsWith('.json'))));
  let ids = 0;
  const det = new Detector(detectorOptions(config), {
    parser: new MessageParser(replayParseOptionsOf(config)),
    modelFor: () => ({ model, own: !shipped }),
    priorsFor: () => (shipped ? null : priorsOf(model.sidecar)),
    newId: () => `replay-${++ids}`,
    learning: (_stream, origin) => origin.seq < s.learnRows,
  });
  const out = createWriteStream(join(outDir, `${name}.jsonl`));
  const input = new Subject();
  const done = new Promise((res, rej) =>
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type !== 'reading') return;
        const k = o.origin.seq;
        const r = o.reading;
        const line = { k, t: k - s.scoreFrom, v: s.rows[k].values[0], lab: k >= s.scoreFrom ? s.labels[k] : -1, st: r.status, s: r2(r.surprise), d: r2(o.deviation), a: r.anomalyId ? 1 : 0, E: o.events.map((e) => (e.resolution === undefined ? e.kind : `${e.kind}:${e.resolution}`)), ev: kinds(o.evidence), dv: kinds(o.deviationEvidence), x: r.expected ? r.expected[0] : null, sd: r.spread ? r.spread[0] : null };
        out.write(`${JSON.stringify(line)}\n`);
      },
      error: rej,
      complete: res,
    }),
  );
  for (let k = 0; k < s.rows.length; k++) {
    const row = s.rows[k];
    // A row that begins a new recording (MSL's first test row), as src/replay/drive.ts marks it (roots before it: none).
    if (row.newRecording === true) det.newRecording?.(row.sensor);
    input.next({ topic: row.sensor, payload: payloadOf(row), receivedAt: row.ts, seq: k });
    while (det.pending > 0) await new Promise((r) => setImmediate(r));
  }
  input.complete();
  await done;
  await model.release();
  await new Promise((r) => out.end(r));
  console.error(`${ch}: ${s.rows.length} rows`);
  }
}
