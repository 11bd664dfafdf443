#!/usr/bin/env node
// Replays every file of a NAB-layout corpus with the CLI, exactly as a user would:
//   node dist/main.js replay --input DIR/data/<path> --learn-first N --output RESULTS/<path>
// with N = the file's NAB probation (min(15 %, 750) rows), the config in the current directory (shipped
// defaults). A failed replay leaves no result file but RESULTS/<path>.error with its stderr (score-outputs.mjs
// counts it as failed, with that reason). Then score with: node scripts/score-outputs.mjs --corpus DIR --results RESULTS
//
//   node scripts/replay-corpus.mjs --corpus /tmp/anomalyd-dev-corpus --results /tmp/dev-replay
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { corpusSources } from '../dist/eval/datasets.js';

const { values } = parseArgs({ options: { corpus: { type: 'string' }, results: { type: 'string' } } });
if (values.corpus === undefined || values.results === undefined) {
  console.error('usage: replay-corpus.mjs --corpus DIR --results DIR');
  process.exit(2);
}
const main = resolve(dirname(new URL(import.meta.url).pathname), '..', 'dist', 'main.js');
const dataDir = join(resolve(values.corpus), 'data');
let failed = 0;
for (const source of corpusSources(resolve(values.corpus))) {
  const stream = await source.load();
  const output = join(resolve(values.results), source.file);
  mkdirSync(dirname(output), { recursive: true });
  const args = [main, 'replay', '--input', join(dataDir, source.file), '--learn-first', String(stream.learnRows), '--output', output];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  rmSync(`${output}.error`, { force: true });
  if (r.status !== 0) {
    failed++;
    rmSync(output, { force: true });
    writeFileSync(`${output}.error`, `anomalyd replay exit ${r.status}: ${r.stderr.trim()}\n`);
  }
  console.error(`${source.file}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status})`} ${r.stderr.trim()}`);
}
console.error(`${failed} of the replays failed`);
