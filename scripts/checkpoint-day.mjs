// Bytes the periodic checkpoint writes per day: SENSORS streams at 1 Hz (a cycle of 40 to 97 readings with noise,
// values with 3 decimals, as an MQTT payload has them) through the shipped GRU model and config, warmed WARM
// readings, then a checkpoint (ROOT's Checkpoints.save, as the daemon's timer calls it) every 60 readings for
// SAVES saves, into ROOT's SQLite store in a temporary directory (the daemon's store, WAL, each save committed).
// Prints per save and extrapolated to a day (1,440 saves): `rows` the bytes of the rows handed to the store (the
// checkpoint's blobs), `written` the bytes the process wrote to the database's files during the saves (wchar of
// /proc/self/io: the WAL's pages and the checkpoints of the WAL into the database, what reaches the SD card),
// and the milliseconds of CPU a save took. ROOT is a built checkout (before: /work/main; after: .).
// usage: node scripts/checkpoint-day.mjs ROOT [SENSORS=20] [WARM=3000] [SAVES=60] [idle]
//   idle: after the warm-up, only the first sensor keeps reading (the others silent, not yet evicted).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';
const root = process.argv[2];
if (root === undefined) {
  console.error('usage: node scripts/checkpoint-day.mjs ROOT [SENSORS=20] [WARM=3000] [SAVES=60] [idle]');
  process.exit(2);
}
const nums = process.argv.slice(3).filter((a) => /^\d+$/.test(a)).map(Number);
const S = nums[0] ?? 20, WARM = nums[1] ?? 3000, SAVES = nums[2] ?? 60;
const idle = process.argv.includes('idle');
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
const { Checkpoints, detectorCheckpointSubject } = await import(at('dist/daemon/checkpoints.js'));
const { SqliteStore } = await import(at('dist/adapters/sqlite-store.js'));
const { pino } = await import('pino');
const model = await loadModel(join(root, 'models/gru.json'));
let ids = 0;
const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => ({ model, own: false }), priorsFor: () => priorsOf(model.sidecar), newId: () => `e${++ids}` });
const log = pino({ level: 'silent' });
const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: log });
const dir = mkdtempSync(join(tmpdir(), 'anomalyd-cpday-'));
const store = SqliteStore.open(join(dir, 'anomalyd.db'), { commitIntervalMs: 0, outboxMax: 1000, logger: log });
let rowBytes = 0;
const counting = { saveSensorStates: (rs) => { for (const r of rs) rowBytes += r.blob.length; store.saveSensorStates(rs); }, loadSensorStates: () => store.loadSensorStates(), loadSensorState: (s) => store.loadSensorState(s) };
let now = Date.UTC(2026, 0, 1);
const cps = new Checkpoints(counting, detectorCheckpointSubject(det, () => 'open', book), { intervalMs: 60_000, maxAgeMs: 3_600_000, now: () => now, logger: log });
let seed = 7;
const u = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const gauss = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
const input = new Subject();
const done = new Promise((res, rej) => input.pipe(det.operator()).subscribe({ next: (o) => { if (o.type !== 'reading') return; book.record(o.reading); for (const ev of o.events) book.explain(ev); }, error: rej, complete: res }));
const t0 = now;
const wchar = () => Number(/wchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1]);
// Until every reading is scored (a stream with readings inside a model call is busy: a save would defer it).
const drain = async () => { do await new Promise((r) => setImmediate(r)); while (det.pending > 0 || [...det.streams()].some((s) => det.busy(s))); };
let seq = 0;
const read = async (i) => {
  const ts = t0 + i * 1000;
  now = ts;
  for (let s = 0; s < (idle && i >= WARM ? 1 : S); s++) {
    const v = 20 + s + (1 + (s % 3)) * Math.sin((2 * Math.PI * i) / (40 + 3 * s)) + 0.2 * gauss();
    input.next({ topic: `sensors/s${s}`, payload: Buffer.from(`{"ts":${ts},"value":${v.toFixed(3)}}`), receivedAt: ts + 5, seq: seq++ });
  }
  await drain();
};
for (let i = 0; i < WARM; i++) await read(i);

cps.save(); // the first save after the warm-up (a daemon's first): not counted
let written = 0, cpuUs = 0;
rowBytes = 0;
for (let k = 0; k < SAVES; k++) {
  for (let i = WARM + k * 60; i < WARM + (k + 1) * 60; i++) await read(i);
  const w0 = wchar(), c0 = process.cpuUsage();
  cps.save();
  const c = process.cpuUsage(c0);
  written += wchar() - w0;
  cpuUs += c.user + c.system;
}
input.complete();
await done;
store.close();
rmSync(dir, { recursive: true, force: true });
await model.release();
const perSave = (x) => Math.round(x / SAVES);
console.log(JSON.stringify({ root, sensors: S, warm: WARM, saves: SAVES, idle, perSave: { rows: perSave(rowBytes), written: perSave(written), cpuMs: +(cpuUs / SAVES / 1000).toFixed(1) }, perDayMB: { rows: +((rowBytes / SAVES) * 1440 / 1e6).toFixed(1), written: +((written / SAVES) * 1440 / 1e6).toFixed(1) } }));
