// What a graceful stop keeps of a burst and what keeping it costs (branch drain): the daemon in this process (dist/,
// the shipped config but for its data directory, the embedded broker on --port, HTTP off, learning off, the model in
// its worker thread), SENSORS sensors publishing a burst of PER readings each (one message each, device-timed
// `{"values":[…],"ts":…,"interval_ms":1000}`, QoS 1: a hub flushing its buffer), the stop (Daemon.stop, as SIGTERM calls it) as soon as the daemon has taken the whole burst
// in (counters.readings), with shutdown.deadlineMs --deadline. Then a start on the same data directory: how long the
// kept readings took to be given back and scored. Prints one JSON line:
// {"sensors","per","deadlineMs","takenInMs","scoredAtStop","kept","keptStreams","saveMs","stopMs","restoreMs","startMs","keptScoredMs","scoredTotal"}
// (saveMs: the final checkpoint and the kept readings written, one transaction; restoreMs: read, decoded, queued;
// keptScoredMs: from the start's return until every kept reading is scored). Exit 0 always (a measurement).
// usage: node scripts/stop-kept.mjs [--port 19965] [--sensors 1000] [--per 20] [--deadline 8000]
//        (run from the repository root, after npm run build)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import pino from 'pino';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const PORT = Number(opt('port', '19965'));
const SENSORS = Number(opt('sensors', '1000'));
const PER = Number(opt('per', '20'));
const DEADLINE = Number(opt('deadline', '8000'));
const ROOT = resolve(new URL('..', import.meta.url).pathname);
const { Daemon } = await import(join(ROOT, 'dist', 'daemon.js'));
const { loadConfig } = await import(join(ROOT, 'dist', 'config', 'load.js'));

const dir = mkdtempSync(join(tmpdir(), 'anomalyd-stop-kept-'));
const loaded = loadConfig({
  path: join(ROOT, 'config', 'default.yaml'),
  env: {},
  overrides: { dataDir: dir, model: { dir: join(ROOT, 'models') }, broker: { port: PORT, host: '127.0.0.1' }, http: { enabled: false }, learning: { enabled: false }, shutdown: { deadlineMs: DEADLINE } },
});
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));

/** A daemon whose log lines are kept (parsed). */
function daemon() {
  const lines = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      done();
    },
  });
  return { d: new Daemon({ config: loaded.config, logger: pino({ level: 'info' }, stream) }), lines };
}
const until = async (cond, what, ms = 600_000) => {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

try {
  const one = daemon();
  await one.d.start();
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORT}`, { clientId: `stop-kept-${process.pid}` });
  const t0 = Math.floor(Date.now() / 1000) * 1000 - (PER + 5) * 1000;
  const started = performance.now();
  // Each sensor's burst in one message (a hub flushing its buffer: `values` 1 s apart from `ts`).
  const sends = [];
  for (let s = 0; s < SENSORS; s++) {
    const values = Array.from({ length: PER }, (_, k) => Number((20 + s / 100 + Math.sin(k / 3 + s)).toFixed(3)));
    sends.push(pub.publishAsync(`sensors/s${s}`, JSON.stringify({ values, ts: t0, interval_ms: 1000 }), { qos: 1 }));
  }
  await Promise.all(sends);
  await until(() => one.d.counters.readings >= SENSORS * PER, 'the burst taken in');
  const takenInMs = Math.round(performance.now() - started);
  const scoredAtStop = one.d.counters.scored;
  const s0 = performance.now();
  await one.d.stop();
  const stopMs = Math.round(performance.now() - s0);
  await pub.endAsync(true);
  const keptLine = one.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('pipeline did not drain in time'));
  const kept = one.d.counters.keptAtStop ?? null;

  const two = daemon();
  const b0 = performance.now();
  await two.d.start();
  const startMs = Math.round(performance.now() - b0);
  const k0 = performance.now();
  await until(() => two.d.counters.scored >= (two.d.counters.keptFromStop ?? 0), 'the kept readings scored');
  const keptScoredMs = Math.round(performance.now() - k0);
  const given = two.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('readings kept at the last stop'));
  const scoredTotal = scoredAtStop + (one.d.counters.scored - scoredAtStop) + two.d.counters.scored;
  await two.d.stop();
  console.log(
    JSON.stringify({
      sensors: SENSORS,
      per: PER,
      deadlineMs: DEADLINE,
      takenInMs,
      scoredAtStop,
      kept,
      keptStreams: keptLine?.streams ?? 0,
      saveMs: keptLine?.ms ?? null,
      stopMs,
      restoreMs: given?.ms ?? null,
      startMs,
      keptScoredMs,
      scoredTotal,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
