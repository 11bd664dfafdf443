#!/usr/bin/env node
// One-reading spikes on the simulator's temperature (src/sim/simulator.ts, 1 s readings, its default day of 600 readings),
// through ROOT's detector as the daemon builds it (shipped config/default.yaml, the shipped model for every reading)
// and its SignalBook: N spikes of +MAG (default 6, the demo's), two days apart from reading 3,600, each at the fraction
// PHASE of its day. Prints, per spike, after how many readings its episode was resolved and the kind its resolve was
// told, and how many other episodes opened. A spike's episode resolves alerts.closeAfter + 1 = 17 readings after it
// when nothing holds it.
//
//   node scripts/sim-spikes.mjs ROOT SEED PHASE [N] [MAG]
//   e.g. for p in 0.1 0.3 0.6 0.7 0.8; do node scripts/sim-spikes.mjs . 3 $p 8; done
import { resolve } from 'node:path';
import { Subject } from 'rxjs';
const [root, seedS, phaseS, nS = '12', magS = '6'] = process.argv.slice(2);
const { shipped } = await import(resolve(root, 'scripts/lib/shipped.mjs'));
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
const { pino } = await import('pino');
const { Simulator } = await import(at('dist/sim/simulator.js'));
const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
const model = await loadModel(resolve(root, 'models', cfg.model.name ?? 'gru') + '.json');
let ids = 0;
const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => ({ model, own: false }), priorsFor: () => priorsOf(model.sidecar), newId: () => `e${++ids}` });
const T0 = Date.UTC(2026, 11, 1);
const day = 600_000, N = Number(nS);
const spikes = [];
for (let k = 0; k < N; k++) { const ts = T0 + 3600_000 + k * 2 * day + Math.round(Number(phaseS) * day / 1000) * 1000; spikes.push({ sensor: 'temperature', kind: 'spike', startTs: ts, endTs: ts, magnitude: Number(magS) }); }
const sim = new Simulator({ seed: Number(seedS), startTs: T0, intervalMs: 1000, anomalies: spikes, sensors: [{ name: 'temperature', kind: 'temperature' }] });
const eps = new Map();
const input = new Subject();
const done = new Promise((res, rej) => input.pipe(det.operator()).subscribe({ next: (o) => { if (o.type !== 'reading') return; book.record(o.reading); for (const e of o.events) { const x = eps.get(e.anomalyId) ?? { start: e.startTs, told: [] }; x.told.push(`${e.kind}:${book.explain(e)?.kind ?? 'none'}`); if (e.kind === 'resolve') { x.at = o.reading.ts; x.end = e.endTs; } eps.set(e.anomalyId, x); } }, error: rej, complete: res }));
const end = spikes[spikes.length - 1].startTs + 300_000;
for (let k = 0; ; k++) { const m = sim.next()[0]; if (m.ts > end) break; input.next({ topic: m.topic, payload: Buffer.from(m.payload), receivedAt: m.ts, seq: k }); while (det.pending > 0) await new Promise((r) => setImmediate(r)); }
input.complete(); await done; await model.release();
const out = [];
for (const a of spikes) { const e = [...eps.values()].find((x) => x.start >= a.startTs && x.start <= a.startTs + 16000); out.push(e ? `${(e.at - a.startTs) / 1000}/${e.told.at(-1).split(':')[1]}` : 'none'); }
const other = [...eps.values()].filter((x) => !spikes.some((a) => x.start >= a.startTs && x.start <= a.startTs + 16000)).length;
console.log(`seed ${seedS} phase ${phaseS}: ${out.join(' ')}  other episodes ${other}`);
