// Writes the fixture of test/daemon/checkpoint-format.test.ts: the sensor_state rows a checkout's own Checkpoints
// writes (main before checkpoint format 2: each row the state's plain JSON) for two streams after 560 readings
// (a cycle of 40 readings with noise; stream `b` shifts by 8 at reading 520, so its episode is open, with its
// side part), and the values of both streams' readings 0..799. The test restores those rows with this
// checkout's code and checks that the restored streams go on as the streams never stopped.
// usage: node scripts/checkpoint-v1-fixture.mjs ROOT OUT   (ROOT: a built checkout, e.g. /work/main at f42b74c)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Subject } from 'rxjs';
const [root, out] = process.argv.slice(2);
if (root === undefined || out === undefined) {
  console.error('usage: node scripts/checkpoint-v1-fixture.mjs ROOT OUT');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { defaultConfig } = await import(at('dist/config/schema.js'));
const { Detector, detectorOptions } = await import(at('dist/pipeline/detector.js'));
const { MessageParser } = await import(at('dist/pipeline/parse.js'));
const { parseOptionsOf } = await import(at('dist/pipeline/ingest-options.js'));
const { SignalBook } = await import(at('dist/daemon/signals.js'));
const { Checkpoints, detectorCheckpointSubject } = await import(at('dist/daemon/checkpoints.js'));
const { pino } = await import('pino');
const SAVED = 560, ALL = 800, T0 = Date.UTC(2026, 0, 1);
const cfg = defaultConfig();
let seed = 11;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
// values[i]: reading i of a and of b (its message: topic sensors/<s>, payload {"ts":T0+i*1000,"value":v}, received 5 ms after).
const values = [];
for (let i = 0; i < ALL; i++) values.push(['a', 'b'].map((s) => (20 + 2 * Math.sin((2 * Math.PI * i) / 40) + 0.3 * (rnd() - 0.5) + (s === 'b' && i >= 520 ? 8 : 0)).toFixed(4)));
const messages = values.flatMap((vs, i) => vs.map((v, k) => ({ topic: `sensors/${'ab'[k]}`, payload: `{"ts":${T0 + i * 1000},"value":${v}}`, receivedAt: T0 + i * 1000 + 5 })));
let ids = 0;
const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => null, priorsFor: () => null, newId: () => `fx-${++ids}` });
const log = pino({ level: 'silent' });
const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: log });
const input = new Subject();
const done = new Promise((res, rej) => input.pipe(det.operator()).subscribe({ next: (o) => { if (o.type !== 'reading') return; book.record(o.reading); for (const ev of o.events) book.explain(ev); }, error: rej, complete: res }));
for (const m of messages.slice(0, 2 * SAVED)) input.next({ ...m, payload: Buffer.from(m.payload) });
input.complete();
await done;
const rows = [];
const store = { saveSensorStates: (rs) => rows.push(...rs.map((r) => ({ sensor: r.sensor, blob: r.blob.toString('utf8'), updatedAt: r.updatedAt }))), loadSensorStates: () => new Map(), loadSensorState: () => null };
new Checkpoints(store, detectorCheckpointSubject(det, () => 'open', book), { intervalMs: 60000, maxAgeMs: 3600000, now: () => T0 + SAVED * 1000, logger: log }).save();
const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD']).toString().trim();
writeFileSync(out, JSON.stringify({ from: commit, t0: T0, saved: SAVED, openEpisode: det.openAnomaly('b'), rows, values }) + '\n');
console.log(JSON.stringify({ from: commit, rows: rows.map((r) => [r.sensor, r.blob.length]), open: det.openAnomaly('b') }));
