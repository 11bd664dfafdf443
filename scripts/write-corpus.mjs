#!/usr/bin/env node
// Writes OUR synthetic development corpus (src/eval/corpus.ts: a development set, NOT a benchmark) to a
// directory in NAB's layout, for `npm run evaluate -- --corpus DIR` and manual runs of `anomalyd replay`:
//
//   DIR/data/<group>/<file>.csv        timestamp,value  (UTC, "2026-01-05 00:05:00")
//   DIR/labels/combined_labels.json    NAB: each file's anomaly onsets
//   DIR/labels/combined_windows.json   NAB: each file's scoring windows (our rule for labelled runs)
//   DIR/labels/anomaly_runs.json       ours: each file's labelled runs [first, last] with their kind
//   DIR/README.md                      what this is, the seed, the probation of each file
//
//   npm run build && node scripts/write-corpus.mjs --out /tmp/anomalyd-dev-corpus [--seed 1]
// Then, e.g.: node dist/main.js replay --input DIR/data/cycles/daily_cycle_spike_5m.csv --learn-first 750 --output out.csv
import { mkdirSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { corpusLabelFiles, devCorpus, intervalLabel, seriesCsv } from '../dist/eval/corpus.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(tmpdir(), 'anomalyd-dev-corpus') },
    seed: { type: 'string', default: '1' },
    force: { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`write-corpus: --seed: expected an integer >= 0, got '${values.seed}'`);
  process.exit(2);
}
const out = resolve(values.out);
const repo = resolve(dirname(new URL(import.meta.url).pathname), '..');
if (!relative(repo, out).startsWith('..')) {
  console.error(`write-corpus: ${out} is inside the repository; write the corpus outside it (default ${join(tmpdir(), 'anomalyd-dev-corpus')})`);
  process.exit(2);
}
if (existsSync(out) && readdirSync(out).length > 0 && !values.force) {
  console.error(`write-corpus: ${out} is not empty (--force to overwrite)`);
  process.exit(2);
}
const corpus = devCorpus(seed);
for (const s of corpus) {
  const path = join(out, 'data', s.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, seriesCsv(s));
}
const labels = corpusLabelFiles(corpus);
mkdirSync(join(out, 'labels'), { recursive: true });
writeFileSync(join(out, 'labels', 'combined_labels.json'), `${JSON.stringify(labels.combinedLabels, null, 2)}\n`);
writeFileSync(join(out, 'labels', 'combined_windows.json'), `${JSON.stringify(labels.combinedWindows, null, 2)}\n`);
writeFileSync(join(out, 'labels', 'anomaly_runs.json'), `${JSON.stringify(labels.anomalyRuns, null, 2)}\n`);
const lines = corpus.map(
  (s) => `| ${s.path} | ${intervalLabel(s.intervalMs)} | ${s.values.length} | ${s.probation} | ${s.anomalies.map((a) => `${a.kind} ${a.start}–${a.end}`).join(', ') || 'none'} |`,
);
writeFileSync(
  join(out, 'README.md'),
  `# anomalyd development corpus (seed ${seed})

Synthetic series written by anomalyd's scripts/write-corpus.mjs from src/eval/corpus.ts. A DEVELOPMENT set for
trying the detector on kinds of signals and faults; not a benchmark, not comparable with published results.
NAB's layout: data/<group>/<file>.csv (timestamp,value; UTC), labels/combined_windows.json (scoring windows),
labels/combined_labels.json (anomaly onsets), labels/anomaly_runs.json (labelled runs with their kind).
The first min(15 %, 750) rows of each file are its probationary period (learn from them: --learn-first N).

| file | interval | rows | probation | labelled anomalies (rows) |
|---|---|---|---|---|
${lines.join('\n')}
`,
);
console.log(`wrote ${corpus.length} series (${corpus.reduce((a, s) => a + s.values.length, 0)} rows) to ${out}`);
