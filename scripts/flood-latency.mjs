// Tryout 18, finding 7, measured: a junk flood on topics anomalyd subscribes to (a misbehaving device: invalid or
// unmapped messages at RATE a second, QoS 0) while one healthy sensor reads at 1 Hz and a fault is injected into it.
// Real parts: mosquitto on PORT (or the daemon's embedded broker on PORT: --embedded), the daemon as a child process
// (ROOT's dist, shipped config, its HTTP API on PORT+1), the flood from a child process (mqtt.js, QoS 0, paced in 10 ms
// steps). Prints one JSON line: the alert's latency (the faulty reading published -> the first alert after it), the
// latencies of GET /api/status every 250 ms during the flood (timeout 10 s), the flood's rate as sent and as the
// daemon counted it, and the daemon's counters and rejections by reason at the end.
//
// usage: node scripts/flood-latency.mjs ROOT PORT RATE KIND [--embedded] [--flood-s S]
//   KIND: unmapped (sensors/junk/<i>/x, no rule: bad_topic) | badjson (sensors/junk-<i>, payload `{`: bad_json)
//         | badjson1 (as badjson, all on one topic sensors/junk) | mixed (unmapped and badjson, half each)
//         | none (RATE ignored: the baseline)
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const [ROOT, PORT, RATE, KIND] = [resolve(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5] ?? 'unmapped'];
const embedded = process.argv.includes('--embedded');
const fi = process.argv.indexOf('--flood-s');
const FLOOD_S = fi > 0 ? Number(process.argv[fi + 1]) : 30;
const mqtt = (await import(join(ROOT, 'node_modules/mqtt/build/index.js'))).default;
const HTTP = PORT + 1;
const dir = mkdtempSync(join(tmpdir(), 'flood-latency-'));
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let url = `mqtt://127.0.0.1:${PORT}`;
if (!embedded) {
  writeFileSync(join(dir, 'mosquitto.conf'), `listener ${PORT} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const m = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  children.push(m);
  await sleep(500);
}
const config = [
  'version: 2',
  `dataDir: ${join(dir, 'data')}`,
  'log: { level: info, format: json }',
  embedded ? `broker: { enabled: true, port: ${PORT} }` : `broker: { enabled: false }\nmqtt: { url: "${url}", clientId: flood-latency-daemon }`,
  `http: { port: ${HTTP} }`,
  `model: { dir: ${join(ROOT, 'models')} }`,
  'learning: { enabled: false }',
].join('\n');
writeFileSync(join(dir, 'config.yaml'), config);
// FLOOD_DAEMON_ARGS: node flags for the daemon only (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
const daemonArgs = (process.env.FLOOD_DAEMON_ARGS ?? '').split(' ').filter(Boolean);
const daemon = spawn(process.execPath, [...daemonArgs, join(ROOT, 'dist/main.js'), 'run', '--config', join(dir, 'config.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
children.push(daemon);
let logBytes = 0;
const warns = [];
let ready;
const readyP = new Promise((r) => (ready = r));
daemon.stdout.setEncoding('utf8');
let buf = '';
daemon.stdout.on('data', (c) => {
  logBytes += c.length;
  buf += c;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    try {
      const j = JSON.parse(line);
      if (j.msg === 'ready') ready(j);
      if (j.level >= 40) warns.push(j.msg.slice(0, 160));
    } catch {
      /* not JSON */
    }
  }
});
const cleanup = () => {
  for (const c of children.reverse()) c.kill(c === daemon ? 'SIGTERM' : 'SIGKILL');
};
process.on('exit', cleanup);
await Promise.race([readyP, sleep(60_000).then(() => { throw new Error('daemon not ready'); })]);
if (embedded) url = `mqtt://127.0.0.1:${PORT}`;

async function status(timeoutMs = 10_000) {
  const t0 = performance.now();
  try {
    const res = await fetch(`http://127.0.0.1:${HTTP}/api/status`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.json();
    return { ms: performance.now() - t0, body };
  } catch {
    return { ms: null, body: null };
  }
}

// The healthy sensor: 600 readings of history in one burst (1 s apart, ending now), then one a second.
const sensor = await mqtt.connectAsync(url, { clientId: 'flood-latency-sensor' });
const watcher = await mqtt.connectAsync(url, { clientId: 'flood-latency-watch' });
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const normal = () => +(20 + 0.2 * gauss()).toFixed(3);
const H = 600;
const t0 = Date.now() - H * 1000;
await sensor.publishAsync('sensors/healthy', JSON.stringify({ ts: t0, interval_ms: 1000, values: Array.from({ length: H }, normal) }), { qos: 1 });
let faultSentAt = null;
let alertAt = null;
let alertKind = null;
await watcher.subscribeAsync('anomalyd/alerts/healthy', { qos: 1 });
if (process.argv.includes('--debug')) watcher.on('message', (t, p) => console.error('ALERT', t, p.toString().slice(0, 200)));
watcher.on('message', (_t, p) => {
  const a = JSON.parse(p.toString());
  if (faultSentAt !== null && alertAt === null && a.event !== 'resolve') {
    alertAt = performance.now();
    alertKind = `${a.event} ${a.explanation?.kind ?? a.kind ?? ''}`;
  }
});
let faulty = false;
let live = 0;
const tick = setInterval(() => {
  live++;
  const value = faulty ? 35 : normal();
  if (faulty && faultSentAt === null) faultSentAt = performance.now();
  sensor.publish('sensors/healthy', JSON.stringify({ ts: Date.now(), value }), { qos: 1 });
}, 1000);
await sleep(15_000);
// The daemon's CPU time (user + system, ms) from /proc: robust to a loaded machine, unlike the latencies.
const { readFileSync } = await import('node:fs');
const cpuMs = () => {
  const f = readFileSync(`/proc/${daemon.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
const before = await status();
const cpu0 = cpuMs();

// The flood, from its own process.
let floodSent = 0;
let flood = null;
if (KIND !== 'none' && RATE > 0) {
  const src = `
    const mqtt = (await import(${JSON.stringify(join(ROOT, 'node_modules/mqtt/build/index.js'))})).default;
    const c = await mqtt.connectAsync(${JSON.stringify(url)}, { clientId: 'flood-latency-junk' });
    const RATE = ${RATE}, KIND = ${JSON.stringify(KIND)};
    let i = 0, sent = 0, skipped = 0; const start = performance.now();
    const step = () => {
      const due = Math.floor(((performance.now() - start) / 1000) * RATE);
      while (sent < due) {
        if (c.stream.writableLength > 4 << 20) { skipped += due - sent; sent = due; break; }
        const k = KIND === 'mixed' ? (i % 2 ? 'badjson' : 'unmapped') : KIND;
        if (k === 'unmapped') c.publish('sensors/junk/' + (i % 1000) + '/x', String(i), { qos: 0 });
        else if (k === 'badjson1') c.publish('sensors/junk', '{', { qos: 0 });
        else c.publish('sensors/junk-' + (i % 1000), '{', { qos: 0 });
        i++; sent++;
      }
    };
    setInterval(step, 10);
    process.on('SIGTERM', () => { process.stdout.write(JSON.stringify({ sent: i, skipped }) + '\\n'); process.exit(0); });
  `;
  flood = spawn(process.execPath, ['--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(flood);
  flood.stdout.setEncoding('utf8');
  flood.stdout.on('data', (d) => {
    try {
      floodSent = JSON.parse(d).sent;
    } catch {
      /* partial */
    }
  });
}
const floodStart = performance.now();
const probes = [];
let probing = true;
const prober = (async () => {
  while (probing) {
    const s = await status();
    probes.push(s.ms);
    await sleep(250);
  }
})();
// The fault, 10 s into the flood.
await sleep(10_000);
faulty = true;
while (alertAt === null && performance.now() - floodStart < (FLOOD_S + 90) * 1000) {
  await sleep(100);
  if (performance.now() - floodStart > FLOOD_S * 1000 && flood !== null && flood.exitCode === null && !flood.killed) flood.kill('SIGTERM');
}
const alertLatencyMs = alertAt === null ? null : Math.round(alertAt - faultSentAt);
while (performance.now() - floodStart < FLOOD_S * 1000) await sleep(100);
if (flood !== null && !flood.killed) flood.kill('SIGTERM');
probing = false;
await prober;
await sleep(3000);
const after = await status();
const cpu1 = cpuMs();
clearInterval(tick);
const dbg = process.argv.includes('--debug') ? await Promise.all(['sensors', 'anomalies'].map(async (r) => (await fetch(`http://127.0.0.1:${HTTP}/api/${r}`)).json())) : null;
if (dbg) console.error(JSON.stringify(dbg).slice(0, 3000));
const ok = probes.filter((p) => p !== null).sort((a, b) => a - b);
const q = (p) => (ok.length === 0 ? null : Math.round(ok[Math.min(ok.length - 1, Math.floor(p * ok.length))]));
const c0 = before.body?.counters ?? {};
const c1 = after.body?.counters ?? {};
console.log(
  JSON.stringify({
    kind: KIND,
    rate: RATE,
    broker: embedded ? 'embedded' : 'mosquitto',
    floodS: FLOOD_S,
    floodSent,
    alertLatencyMs,
    alertKind,
    http: { probes: probes.length, timeouts: probes.filter((p) => p === null).length, p50: q(0.5), p90: q(0.9), max: q(1) },
    cpuMs: Math.round(cpu1 - cpu0),
    cpuUsPerMessage: +(((cpu1 - cpu0) * 1000) / Math.max(1, (after.body?.counters?.received ?? 0) - (before.body?.counters?.received ?? 0))).toFixed(1),
    daemon: { received: (c1.received ?? 0) - (c0.received ?? 0), rejected: (c1.rejected ?? 0) - (c0.rejected ?? 0), scored: c1.scored, rejections: after.body?.rejections ?? null, live },
    logBytes,
    warns: [...new Set(warns)].slice(0, 8),
  }),
);
cleanup();
process.exit(0);
