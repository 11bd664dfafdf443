#!/usr/bin/env node
// Scores per-row detector outputs produced elsewhere with the evaluation's metrics and streaming scorer
// (src/eval/evaluate.ts, src/eval/nab.ts), and prints the same tables as `npm run evaluate`:
//
//   --dumps DIR                 JSON files {name, learnRows, labels, score, alarm, ts}, one per SKAB or MSL file
//                               (rows = the scored rows; name skab_<group>_<n>.csv or msl_<channel>)
//   --corpus DIR --results DIR  a NAB-layout corpus and, for each DIR/data/<path>, the CSV that
//                               `anomalyd replay --output` wrote for it at RESULTS/<path> (anomaly_score and
//                               anomaly columns); a missing result file counts as a failed run
//   --out FILE                  JSON report (default: none)
//
//   node scripts/score-outputs.mjs --dumps /tmp/before/out
//   node scripts/score-outputs.mjs --corpus /tmp/anomalyd-dev-corpus --results /tmp/dev-replay
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { corpusSources } from '../dist/eval/datasets.js';
import { fileRun, formatFailures, formatNabTable, formatTable, summarise } from '../dist/eval/evaluate.js';
import { readCsvTable } from '../dist/csv/table.js';

const { values } = parseArgs({ options: { dumps: { type: 'string' }, corpus: { type: 'string' }, results: { type: 'string' }, out: { type: 'string' } } });
const usage = 'usage: score-outputs.mjs --dumps DIR | --corpus DIR --results DIR [--out FILE]';
if ((values.dumps === undefined) === (values.corpus === undefined) || (values.corpus !== undefined && values.results === undefined)) {
  console.error(usage);
  process.exit(2);
}

const byDataset = new Map();
const add = (run) => {
  const list = byDataset.get(run.result.dataset) ?? [];
  list.push(run);
  byDataset.set(run.result.dataset, list);
};

if (values.dumps !== undefined) {
  const dir = resolve(values.dumps);
  // The evaluation's own order: SKAB valve1, valve2, other (numerically), then MSL channels.
  const rank = (name) => {
    const m = /^skab_(valve1|valve2|other)_(\d+)\.csv$/.exec(name);
    return m ? [0, ['valve1', 'valve2', 'other'].indexOf(m[1]), Number(m[2]), ''] : [1, 0, 0, name];
  };
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
    .sort((a, b) => {
      const [x, y] = [rank(a.name), rank(b.name)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || x[3].localeCompare(y[3]);
    });
  for (const d of names) {
    const dataset = d.name.startsWith('skab_') ? 'skab' : d.name.startsWith('msl_') ? 'msl' : 'other';
    const file = dataset === 'skab' ? d.name.slice(5).replace('_', '/') : dataset === 'msl' ? d.name.slice(4) : d.name;
    add(
      fileRun({
        dataset,
        file,
        rows: d.learnRows + d.labels.length,
        learnRows: d.learnRows,
        labels: d.labels,
        ts: d.ts,
        score: Float64Array.from(d.score),
        alarm: Uint8Array.from(d.alarm),
      }),
    );
  }
} else {
  const results = resolve(values.results);
  for (const source of corpusSources(resolve(values.corpus))) {
    const stream = await source.load();
    const n = stream.rows.length - stream.scoreFrom;
    const path = join(results, source.file);
    let score = new Float64Array(n);
    let alarm = new Uint8Array(n);
    let error = null;
    if (!existsSync(path)) error = existsSync(`${path}.error`) ? readFileSync(`${path}.error`, 'utf8').trim() : `no result file ${path}`;
    else {
      const table = await readCsvTable(path, { valueColumns: ['anomaly_score', 'anomaly'], timeZone: 'UTC' });
      const s = Array.from(table.numbers('anomaly_score'));
      const a = Array.from(table.numbers('anomaly'));
      if (s.length !== stream.rows.length) error = `${path}: ${s.length} rows for ${stream.rows.length}`;
      else {
        score = Float64Array.from(s.slice(stream.scoreFrom));
        alarm = Uint8Array.from(a.slice(stream.scoreFrom));
      }
    }
    add(
      fileRun({
        dataset: stream.dataset,
        file: stream.file,
        rows: stream.rows.length,
        learnRows: stream.learnRows,
        labels: stream.labels.subarray(stream.scoreFrom),
        ts: stream.rows.slice(stream.scoreFrom).map((r) => r.ts),
        score,
        alarm,
        windows: stream.windows,
        error,
      }),
    );
  }
}

const reports = [...byDataset].map(([dataset, runs]) => summarise(dataset, runs));
const summaries = reports.map((r) => r.summary);
console.log(formatTable(summaries));
console.log('\nStreaming score (NAB method; 0 = never alarming, 100 = perfect):\n');
console.log(formatNabTable(summaries));
for (const s of summaries) if (s.failed.length > 0) console.log(`\n${formatFailures(s)}`);
if (values.out !== undefined) {
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ summaries, files: reports.flatMap((r) => r.files), createdAt: new Date().toISOString() }, null, 2)}\n`);
  console.log(`results: ${out}`);
}
