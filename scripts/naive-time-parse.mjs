// Device times without an offset through a checkout's MQTT parser (tryout 38, finding 9): reads a file of JSON payloads,
// one a line (tryout 38's sensors__wxdst.jsonl: arrays of {"time":"2026-10-25T02:05:00","temperature":…}), as messages
// of one topic, with ingest.timezone ZONE, and prints the readings taken, the rejections by reason and the gaps between
// consecutive readings (minutes: count).
//   node scripts/naive-time-parse.mjs ROOT FILE [ZONE=Europe/Berlin]     (ROOT: a built checkout)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, file, zone = 'Europe/Berlin'] = process.argv.slice(2);
if (root === undefined || file === undefined) {
  console.error('usage: node scripts/naive-time-parse.mjs ROOT FILE [ZONE]');
  process.exit(2);
}
const at = (path) => pathToFileURL(resolve(root, path)).href;
const { MessageParser } = await import(at('dist/pipeline/parse.js'));
const { compileSensorPattern } = await import(at('dist/pipeline/topic.js'));
const parser = new MessageParser({ sensorOf: compileSensorPattern('sensors/{sensor}'), maxPayloadBytes: 1 << 22, maxFutureMs: 60_000, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 5000, longBurst: 'split', window: 64, timezone: zone });
const taken = new Map();
const rejected = {};
for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
  const r = parser.parse({ topic: 'sensors/s', payload: Buffer.from(line), receivedAt: Date.now() });
  for (const x of r.kind === 'rejected' ? [r.rejection] : r.rejections) rejected[x.reason] = (rejected[x.reason] ?? 0) + 1;
  if (r.kind === 'readings') for (const x of r.readings) taken.set(x.sensor, [...(taken.get(x.sensor) ?? []), x.ts]);
}
for (const [stream, ts] of taken) {
  const gaps = {};
  for (let i = 1; i < ts.length; i++) {
    const g = (ts[i] - ts[i - 1]) / 60_000;
    gaps[g] = (gaps[g] ?? 0) + 1;
  }
  console.log(JSON.stringify({ stream, taken: ts.length, rejected, gapsMin: gaps }));
}
