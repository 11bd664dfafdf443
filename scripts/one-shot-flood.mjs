// Tryout 25, finding 6, measured: a flood of one-shot topics that carry valid numbers (sensors/junk<i> with a number,
// tele/junk<i>/SENSOR with {"ENERGY":{"Power":n}}; one message per topic, QoS 0, as the tryout's run/flood.cjs) fills
// ingest.maxStreams; then a new real sensor (sensors/newpump) publishes once a second; then the daemon is stopped
// (SIGTERM) and started again on the same data directory.
// Real parts: the daemon as a child process (ROOT's dist, its embedded broker on PORT, its HTTP API on PORT+1), the
// floods from this process (mqtt.js, one client each, yielding every 1,000 messages). Prints one JSON line:
//   - api: the latencies (ms) of GET /api/status every 250 ms from the flood's start until it is read (timeout 30 s);
//   - apiAfter: the same for AFTER_S seconds after (past the first periodic checkpoint): the largest, those over 250 ms;
//   - table: the status's `sensors.total`, `rejections.too_many_streams` and `streams` (when the daemon has it) after it;
//   - newpump: the reading (1-based, one a second, NEWPUMP of them) at which sensors/newpump was first listed by
//     GET /api/sensors, or null;
//   - restart: the second start's `ready` ms and its `sensor checkpoints` log line (restored, heardOnce, ...).
//
// usage: node scripts/one-shot-flood.mjs ROOT PORT [--topics N] [--tasmota N] [--newpump N] [--after-s S]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(process.argv[2]);
const PORT = Number(process.argv[3]);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TOPICS = arg('--topics', 20_000);
const TASMOTA = arg('--tasmota', 20_000);
const NEWPUMP = arg('--newpump', 10);
const AFTER_S = arg('--after-s', 65);
const mqtt = (await import(join(ROOT, 'node_modules/mqtt/build/index.js'))).default;
const HTTP = PORT + 1;
const dir = mkdtempSync(join(tmpdir(), 'one-shot-flood-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const config = [
  'version: 2',
  `dataDir: ${join(dir, 'data')}`,
  'log: { level: info, format: json }',
  `broker: { enabled: true, port: ${PORT} }`,
  `http: { port: ${HTTP} }`,
  'ingest: { presets: [tasmota], timezone: UTC }',
  `model: { dir: ${join(ROOT, 'models')} }`,
  'learning: { enabled: false }',
].join('\n');
writeFileSync(join(dir, 'config.yaml'), config);

/** Starts the daemon; resolves with it and its log lines as they come (parsed JSON). */
function start() {
  const lines = [];
  const daemon = spawn(process.execPath, [join(ROOT, 'dist/main.js'), 'run', '--config', join(dir, 'config.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  daemon.stdout.setEncoding('utf8');
  const ready = new Promise((res) => {
    daemon.stdout.on('data', (c) => {
      buf += c;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const o = JSON.parse(line);
          lines.push(o);
          if (o.msg === 'ready') res(o);
        } catch {
          // not JSON
        }
      }
    });
  });
  return { daemon, lines, ready };
}

async function status() {
  const t0 = performance.now();
  const body = await (await fetch(`http://127.0.0.1:${HTTP}/api/status`, { signal: AbortSignal.timeout(30_000) })).json();
  return { ms: performance.now() - t0, body };
}

async function flood(kind, n) {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORT}`, { clientId: `one-shot-${kind}-${process.pid}` });
  for (let i = 0; i < n; i++) {
    const topic = kind === 'topics' ? `sensors/junk${i}` : `tele/junk${i}/SENSOR`;
    const payload = kind === 'tasmota' ? JSON.stringify({ ENERGY: { Power: i % 100 } }) : String(Math.random());
    c.publish(topic, payload, { qos: 0 });
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  await c.endAsync();
}

const first = start();
await first.ready;
const api = [];
let flooding = true;
const poll = (async () => {
  while (flooding) {
    try {
      api.push(Math.round((await status()).ms));
    } catch {
      api.push(-1);
    }
    await sleep(250);
  }
})();
await Promise.all([flood('topics', TOPICS), flood('tasmota', TASMOTA)]);
// Until the daemon has read the flood (received stops moving).
let last = -1;
for (;;) {
  const r = (await status()).body.counters.received;
  if (r === last) break;
  last = r;
  await sleep(1000);
}
flooding = false;
await poll;
const after = (await status()).body;
// On past the first periodic checkpoint (store.checkpointIntervalMs, 60 s) after the flood.
const apiAfter = [];
for (const end = Date.now() + AFTER_S * 1000; Date.now() < end; ) {
  try {
    apiAfter.push(Math.round((await status()).ms));
  } catch {
    apiAfter.push(-1);
  }
  await sleep(250);
}
const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORT}`, { clientId: `one-shot-newpump-${process.pid}` });
let listedAt = null;
for (let k = 1; k <= NEWPUMP && listedAt === null; k++) {
  pub.publish('sensors/newpump', String(2 + k / 10), { qos: 0 });
  await sleep(1000);
  const { sensors } = await (await fetch(`http://127.0.0.1:${HTTP}/api/sensors`)).json();
  if (sensors.some((s) => s.sensor === 'newpump')) listedAt = k;
}
await pub.endAsync();
first.daemon.kill('SIGTERM');
await new Promise((r) => first.daemon.once('exit', r));
const second = start();
const ready = await second.ready;
const checkpoints = second.lines.find((o) => o.msg === 'sensor checkpoints') ?? null;
second.daemon.kill('SIGTERM');
await new Promise((r) => second.daemon.once('exit', r));
rmSync(dir, { recursive: true, force: true });
const sorted = [...api].sort((a, b) => a - b);
console.log(
  JSON.stringify({
    root: ROOT,
    flood: { topics: TOPICS, tasmota: TASMOTA },
    api: { n: api.length, max: sorted[sorted.length - 1], p50: sorted[Math.floor(sorted.length / 2)], all: api },
    apiAfter: { n: apiAfter.length, max: Math.max(...apiAfter), over250: apiAfter.filter((ms) => ms > 250) },
    table: { total: after.sensors.total, tooManyStreams: after.rejections.too_many_streams ?? 0, rateLimited: after.rejections.rate_limited ?? 0, received: after.counters.received, streams: after.streams ?? null },
    newpump: listedAt,
    restart: { readyMs: ready.ms, checkpoints: checkpoints === null ? null : { restored: checkpoints.restored, heardOnce: checkpoints.heardOnce ?? null } },
  }),
);
