#!/usr/bin/env node
// How long the evaluation's alarms last, per file, as `npm run evaluate` raises them (shipped config, a model learnt
// per file on its normal rows, the same replay): each run of alarmed rows (an episode, or episodes back to back) with
// its first scored row, its length in readings, the labelled rows inside it, and how it ended: `end` (still open at
// the file's end), `held` (it lasted at least alerts.newNormalAfter readings: the new normal by the count) or
// `closed` (it resolved before). Also each file's learning period (the rows learnt from) against newNormalAfter.
// Uses the built JS of ROOT (dist/). One JSON object per file to OUT (JSON lines), a summary per dataset on stdout.
//
//   node scripts/episode-spans.mjs ROOT OUT DATASETS [DATA] [--files A,B]   DATASETS: skab,msl,dev
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const filesAt = args.indexOf('--files');
const only = filesAt >= 0 ? new Set(args.splice(filesAt, 2)[1].split(',')) : null;
const [root, out, which, dataArg] = args;
if (root === undefined || out === undefined || which === undefined) {
  console.error('usage: node scripts/episode-spans.mjs ROOT OUT skab,msl,dev [DATA] [--files A,B]');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { skabSources, mslSources, devSources } = await import(at('dist/eval/datasets.js'));
const { loadEvalConfig, mapPool } = await import(at('dist/eval/evaluate.js'));
const { replayDetector } = await import(at('dist/eval/replay-detector.js'));
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const { trainInWorker } = await import(at('dist/train/in-worker.js'));
const data = resolve(dataArg ?? '../shared/datasets');
const config = loadEvalConfig(undefined, resolve(root));
const after = config.alerts.newNormalAfter;
const detector = replayDetector({ loadModel, shippedModel: (c) => modelSidecarPath(c), trainer: (s, o) => trainInWorker(s, o) });
const lines = [];
for (const d of which.split(',')) {
  const sources = (d === 'skab' ? skabSources(data) : d === 'msl' ? mslSources(data) : devSources(1)).filter((s) => only === null || only.has(s.file));
  const files = await mapPool(sources, 2, async (src) => {
    const s = await src.load();
    const o = await detector({ name: `${d}/${s.file}`, rows: s.rows, learnRows: s.learnRows, config });
    const spans = [];
    let start = -1;
    for (let k = s.scoreFrom; k <= s.rows.length; k++) {
      const on = k < s.rows.length && o.alarm[k] === 1;
      if (on && start < 0) start = k;
      if (!on && start >= 0) {
        let labelled = 0;
        for (let j = start; j < k; j++) labelled += s.labels[j];
        const length = k - start;
        spans.push({ from: start - s.scoreFrom, length, labelled, ended: k === s.rows.length ? 'end' : length >= after ? 'held' : 'closed' });
        start = -1;
      }
    }
    return { dataset: d, file: s.file, learnRows: s.learnRows, scored: s.rows.length - s.scoreFrom, spans };
  });
  for (const f of files) lines.push(JSON.stringify(f));
  const all = files.flatMap((f) => f.spans);
  const held = all.filter((x) => x.ended === 'held');
  const fmt = (xs) => xs.map((x) => x.length).sort((a, b) => a - b);
  console.log(`${d}: ${files.length} files, ${all.length} alarm runs, ${held.length} held to newNormalAfter (${after}); lengths ${JSON.stringify(fmt(all))}`);
  for (const f of files) {
    if (f.spans.length === 0) continue;
    const desc = f.spans.map((x) => `${x.from}+${x.length}${x.ended === 'closed' ? '' : ` ${x.ended}`}${x.labelled > 0 ? ` (${x.labelled} lab)` : ''}`).join(', ');
    console.log(`  ${f.file} learn ${f.learnRows} (newNormalAfter = ${(after / f.learnRows).toFixed(2)} x): ${desc}`);
  }
}
writeFileSync(out, `${lines.join('\n')}\n`);
