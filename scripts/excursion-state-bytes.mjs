#!/usr/bin/env node
// The bytes of one stream's detector state (Detector.snapshot as JSON, and raw-deflated at zlib level 1 as the
// checkpoint store keeps a row) after N readings of 21 + N(0, 0.1) at 1 Hz, with ROOT's shipped config and model, and
// the share of it that is the level-excursion tracker's (`excursion`, absent before it).
//   node scripts/excursion-state-bytes.mjs ROOT [N=10000]
import { deflateRawSync } from 'node:zlib';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Subject } from 'rxjs';
const [root, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 10000);
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { loadEvalConfig } = await import(at('dist/eval/evaluate.js'));
const { Detector, detectorOptions } = await import(at('dist/pipeline/detector.js'));
const { MessageParser } = await import(at('dist/pipeline/parse.js'));
const { replayParseOptionsOf } = await import(at('dist/pipeline/ingest-options.js'));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const config = loadEvalConfig(undefined, resolve(root));
const model = await loadModel(modelSidecarPath(config));
let ids = 0;
const det = new Detector(detectorOptions(config), { parser: new MessageParser(replayParseOptionsOf(config)), modelFor: () => ({ model, own: false }), priorsFor: () => null, newId: () => `r-${++ids}`, learning: () => false });
const input = new Subject();
const done = new Promise((res, rej) => input.pipe(det.operator()).subscribe({ next: () => {}, error: rej, complete: res }));
let a = 12345;
const u = () => { a = (a * 1103515245 + 12345) % 2147483648; return (a + 0.5) / 2147483648; };
for (let k = 0; k < N; k++) {
  const v = Math.round((21 + 0.1 * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())) * 100) / 100;
  input.next({ topic: 's', payload: Buffer.from(JSON.stringify({ ts: 1796000000000 + k * 1000, value: v })), receivedAt: 1796000000000 + k * 1000, seq: k });
  while (det.pending > 0) await new Promise((r) => setImmediate(r));
}
const text = JSON.stringify(det.snapshot('s'));
const find = (o, key) => { if (o === null || typeof o !== 'object') return undefined; if (key in o) return o[key]; for (const v of Object.values(o)) { const f = find(v, key); if (f !== undefined) return f; } return undefined; };
const ex = find(JSON.parse(text), 'excursion');
const exText = ex === undefined ? '' : JSON.stringify(ex);
console.log(`${N} readings: state ${text.length} B JSON, ${deflateRawSync(Buffer.from(text), { level: 1 }).length} B deflated; excursion ${exText.length} B JSON, ${exText.length ? deflateRawSync(Buffer.from(exText), { level: 1 }).length : 0} B deflated`);
input.complete();
await done;
await model.release();
