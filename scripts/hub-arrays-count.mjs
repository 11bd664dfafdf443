// Streams and rejections of the tryout-37 Sonoff Dual R3 payload (tele/dualr3b/SENSOR, tasmota preset) through the
// parser of the build at <root> (its dist/): `node scripts/hub-arrays-count.mjs <root>`. Prints one JSON line.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(process.argv[2] ?? '.');
const dist = (file) => pathToFileURL(resolve(root, 'dist', file)).href;
const { loadConfig } = await import(dist('config/load.js'));
const { parseOptionsOf } = await import(dist('pipeline/ingest-options.js'));
const { MessageParser } = await import(dist('pipeline/parse.js'));
const r = loadConfig({ overrides: { ingest: { timezone: 'UTC', presets: ['tasmota'] } }, env: {}, path: '/dev/null' });
const p = new MessageParser(parseOptionsOf(r.config));
const payload = {"Time":"2026-12-05T19:29:50","ENERGY":{"TotalStartTime":"2024-03-15T00:00:00","Total":0.031,"Yesterday":0.013,"Today":0.015,"Power":[114,25],"ApparentPower":[114,25],"ReactivePower":[0,0],"Factor":[1.00,1.00],"Voltage":234,"Current":[0.485,0.108],"BL09XX":{"Temperature":43.2}}};
const res = p.parse({ topic: 'tele/dualr3b/SENSOR', payload: Buffer.from(JSON.stringify(payload)), receivedAt: Date.UTC(2026, 11, 5, 19, 30) });
console.log(JSON.stringify({ readings: res.kind === 'readings' ? res.readings.map((x) => x.sensor) : [], rejections: res.kind === 'readings' ? res.rejections.length : 1, skipped: res.skipped ?? null }));
