#!/usr/bin/env node
// Per-row evidence of a one-sensor CSV (header ts,value; ts in epoch seconds) as `anomalyd replay --input CSV` scores it
// without --learn-first: the shipped model and ROOT's config/default.yaml, the detector built as src/replay/run.ts builds
// it. One JSON line per row to OUT.jsonl (the fields of scripts/evidence-dump.mjs: k row, v value, st status, s
// surprise, d deviation, a 1 while an alarm is open after this row, E events (type[:resolution]), ev / dv surprise per
// kind against the adaptive / reference histories). Uses the built JS of ROOT (dist/).
//
//   node scripts/csv-evidence.mjs ROOT CSV OUT.jsonl
import { createWriteStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Subject } from 'rxjs';
const [root, csv, outp] = process.argv.slice(2);
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { loadEvalConfig } = await import(at('dist/eval/evaluate.js'));
const { Detector, detectorOptions } = await import(at('dist/pipeline/detector.js'));
const { MessageParser } = await import(at('dist/pipeline/parse.js'));
const { replayParseOptionsOf } = await import(at('dist/pipeline/ingest-options.js'));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const config = loadEvalConfig(undefined, resolve(root));
const model = await loadModel(modelSidecarPath(config));
const lines = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
const r2 = (x) => (x === null || x === undefined || Number.isNaN(+x) ? null : Math.round(+x * 100) / 100);
const kinds = (e) => (e ? Object.fromEntries(Object.entries(e).map(([k, v]) => [k, r2(Array.isArray(v) ? v[0] : v)])) : null);
let ids = 0;
const det = new Detector(detectorOptions(config), {
  parser: new MessageParser(replayParseOptionsOf(config)),
  modelFor: () => ({ model, own: false }), priorsFor: () => null, newId: () => `r-${++ids}`, learning: () => false,
});
const out = createWriteStream(outp);
const input = new Subject();
const done = new Promise((res, rej) => input.pipe(det.operator()).subscribe({ next: (o) => {
  if (o.type !== 'reading') return; const r = o.reading;
  out.write(JSON.stringify({ k: o.origin.seq, v: lines[o.origin.seq][1], st: r.status, s: r2(r.surprise), d: r2(o.deviation), a: r.anomalyId ? 1 : 0, E: o.events.map((e) => e.kind + (e.resolution ? ':' + e.resolution : '')), ev: kinds(o.evidence), dv: kinds(o.deviationEvidence) }) + '\n');
}, error: rej, complete: res }));
for (let k = 0; k < lines.length; k++) {
  input.next({ topic: 's', payload: Buffer.from(JSON.stringify({ ts: lines[k][0] * 1000, value: lines[k][1] })), receivedAt: lines[k][0] * 1000, seq: k });
  while (det.pending > 0) await new Promise((r) => setImmediate(r));
}
input.complete(); await done; await model.release(); await new Promise((r) => out.end(r));
