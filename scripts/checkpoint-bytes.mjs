// Checkpoint bytes per 2 s tick for a stream in a 1,000-reading episode (1 Hz, so 2 readings a tick), as the daemon
// writes them (Checkpoints.saveStreams of the stream whose episode moved), with the shipped GRU model and config.
// Prints the bytes written per tick while the episode is open: all of it, and the episode's explanation state alone.
// With a ROOT that has EpisodeTicks (src/daemon/checkpoints.ts), a tick writes the stream only when the daemon's
// policy says so (a young episode, an event); without it, at every tick (the daemon before it). Both add the
// periodic checkpoint (store.checkpointIntervalMs, shipped 60 s: every 60 readings here). `day` extrapolates the
// bytes of the episode's last 500 readings to a day of the episode going on at 1 Hz (a stuck sensor).
// usage: node scripts/checkpoint-bytes.mjs ROOT   (a built checkout, e.g. . or /work/main)
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';
const root = process.argv[2];
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
const { Checkpoints, EpisodeTicks, detectorCheckpointSubject } = await import(at('dist/daemon/checkpoints.js'));
const { payloadOf } = await import(at('dist/replay/drive.js'));
const { pino } = await import('pino');
const model = await loadModel(join(root, 'models/gru.json'));
const ticks = EpisodeTicks === undefined ? null : new EpisodeTicks(2 * cfg.score.smooth - 1 + cfg.alerts.closeAfter);
let ids = 0;
const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => ({ model, own: false }), priorsFor: () => priorsOf(model.sidecar), newId: () => `e${++ids}` });
const log = pino({ level: 'silent' });
const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: log });
const rows = new Map();
let tickBytes = 0, tickRows = 0, tickEpisode = 0, tickSide = 0;
// A row of checkpoint format 2 (src/daemon/checkpoint-codec.ts, when ROOT has it) is read with its base; an older one is JSON.
const codec = await import(at('dist/daemon/checkpoint-codec.js')).catch(() => null);
const stateOf = (r) => (codec === null ? JSON.parse(r.blob.toString()) : codec.decodeCheckpoint(r.blob, rows.has(`${r.sensor}#base`) ? codec.readBase(rows.get(`${r.sensor}#base`).blob) : null));
// The episode's part of a row: the JSON of its explanation state (as written before format 2).
const store = { saveSensorStates: (rs) => { for (const r of rs) rows.set(r.sensor, r); for (const r of rs) { tickBytes += r.blob.length; tickRows++; if (r.sensor.endsWith('#side')) tickSide += r.blob.length; else if (!r.sensor.includes('#')) tickEpisode += JSON.stringify(stateOf(r).episode ?? null).length; } }, loadSensorStates: () => new Map([...rows].map(([k, r]) => [k, { blob: r.blob, updatedAt: r.updatedAt }])), loadSensorState: (s) => rows.get(s) ?? null };
let now = Date.UTC(2026, 0, 1);
const cps = new Checkpoints(store, detectorCheckpointSubject(det, () => 'open', book), { intervalMs: 60000, maxAgeMs: 1e12, now: () => now, logger: log });
let seed = 7; const u = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const gauss = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
const SHIFT = 400, LEN = 1000;
const input = new Subject();
let episodeReading = -1;
const per = [];
const done = new Promise((res, rej) => input.pipe(det.operator()).subscribe({ next: (o) => { if (o.type !== 'reading') return; ticks?.note(o.reading.stream, o.reading.anomalyId, o.events.length); book.record(o.reading); for (const ev of o.events) book.explain(ev); }, error: rej, complete: res }));
const t0 = now;
for (let i = 0; i < SHIFT + LEN; i++) {
  const ts = t0 + i * 1000;
  now = ts;
  input.next({ topic: 'sensors/level', payload: payloadOf({ sensor: 'level', ts, channels: ['value'], values: [10 + 0.1 * gauss() + (i >= SHIFT ? 1 : 0)] }), receivedAt: ts, seq: i });
  do await new Promise((r) => setImmediate(r)); while (det.busy('level'));
  if (i % 2 === 1) {
    tickBytes = 0; tickRows = 0; tickEpisode = 0; tickSide = 0;
    cps.saveStreams(ticks === null ? ['level'] : ticks.drain());
    if ((i + 1) % 60 === 0) cps.save();
    if (i >= SHIFT) per.push({ reading: i - SHIFT + 1, bytes: tickBytes, episode: tickEpisode + tickSide, rows: tickRows, open: det.openAnomaly('level') !== null });
  }
}
input.complete();
await done;
const openTicks = per.filter((p) => p.open);
const sum = (f) => openTicks.reduce((a, p) => a + p[f], 0);
const pick = (n) => per.find((p) => p.reading >= n);
// bytes: all rows written at a tick (the detector's state, the newest reading, the episode's state, its side part
// when written); episode: the episode's state and side part alone (SignalBook.episodeState / episodeBase).
console.log(JSON.stringify({ root, openTicks: openTicks.length,
  policy: ticks === null ? 'every tick' : 'EpisodeTicks',
  day: Math.round(openTicks.filter((p) => p.reading > 500).reduce((a, p) => a + p.bytes, 0) / openTicks.filter((p) => p.reading > 500).length * 43200),
  bytes: { total: sum('bytes'), meanPerTick: Math.round(sum('bytes') / openTicks.length), maxPerTick: Math.max(...openTicks.map((p) => p.bytes)) },
  episode: { total: sum('episode'), meanPerTick: Math.round(sum('episode') / openTicks.length), maxPerTick: Math.max(...openTicks.map((p) => p.episode)) },
  atReading: Object.fromEntries([2, 10, 64, 100, 256, 500, 900, 998].map((n) => [n, pick(n) && { bytes: pick(n).bytes, episode: pick(n).episode, rows: pick(n).rows }])) }));
