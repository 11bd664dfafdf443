// Tryout 19, finding 1, in its real setup: false episodes after restarts with a persistent session. A mosquitto of its
// own (temp config: persistence, max_queued_messages 100000), a zigbee2mqtt-like hub publishing SENSORS time-less
// streams (zigbee2mqtt/room<i> {"temperature":…,"humidity":…}, QoS 1) at HZ each, and the real daemon
// (`node dist/main.js run`, external broker, mqtt.clean: false, the zigbee2mqtt preset, everything else default) run
// for WARMUP s, then stopped (SIGTERM) and started again RESTARTS times, down DOWN s each time (a range: drawn per
// restart, seeded) and up UP s. The sensors are healthy throughout: every episode opened is false. Prints each
// episode's open (from the daemon's alerts, by when it was received) and the count per phase, then one JSON line:
// {"warmup":n,"restarts":[n,…],"falseAfterRestarts":n}. Exit 0 always (a measurement, not a test).
// usage: node scripts/restart-backlog.mjs [--port 19801] [--sensors 10] [--hz 2] [--warmup 200] [--restarts 5]
//        [--down 40-60] [--up 60] [--seed 19] [--keep]   (run from the repository root, after npm run build)
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as netConnect } from 'node:net';
import mqtt from 'mqtt';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const PORT = Number(opt('port', '19801'));
const SENSORS = Number(opt('sensors', '10'));
const HZ = Number(opt('hz', '2'));
const WARMUP = Number(opt('warmup', '200'));
const RESTARTS = Number(opt('restarts', '5'));
const [DOWN_MIN, DOWN_MAX] = opt('down', '40-60').split('-').map(Number);
const UP = Number(opt('up', '60'));
let seed = Number(opt('seed', '19'));
const KEEP = args.includes('--keep');
const ROOT = resolve(new URL('..', import.meta.url).pathname);

const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const gauss = () => {
  let u = 0;
  while (!u) u = rnd();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const canConnect = (port) =>
  new Promise((res) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
const t0 = Date.now();
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
const say = (...a) => console.log(stamp(), ...a);

const dir = mkdtempSync(join(tmpdir(), 'anomalyd-restart-backlog-'));
chmodSync(dir, 0o777);
const children = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
};
process.on('SIGINT', () => (cleanup(), process.exit(130)));

// The broker: persistent sessions, a queue large enough for a minute of every stream (DEPLOY.md).
const conf = join(dir, 'mosquitto.conf');
writeFileSync(conf, [`listener ${PORT} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'max_queued_messages 100000', ''].join('\n'));
const mosq = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
children.push(mosq);
for (let i = 0; !(await canConnect(PORT)); i++) {
  if (i > 100) throw new Error(`mosquitto did not listen on ${PORT}`);
  await sleep(100);
}

// The daemon's config: the tryout's (external broker, persistent session, zigbee2mqtt), no HTTP.
const dataDir = join(dir, 'data');
const cfg = join(dir, 'anomalyd.yaml');
writeFileSync(
  cfg,
  [
    'version: 2',
    `dataDir: ${dataDir}`,
    'log: { level: info, format: json }',
    'broker: { enabled: false }',
    `mqtt: { url: "mqtt://127.0.0.1:${PORT}", clientId: anomalyd-restart-backlog, clean: false, qos: 1 }`,
    'ingest: { presets: [zigbee2mqtt] }',
    'http: { enabled: false }',
    '',
  ].join('\n'),
);
const log = createWriteStream(join(dir, 'daemon.log'));
let daemon = null;
const startDaemon = async () => {
  const p = spawn(process.execPath, [join(ROOT, 'dist/main.js'), 'run', '--config', cfg], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  p.stdout.pipe(log, { end: false });
  p.stderr.pipe(log, { end: false });
  daemon = p;
  say('daemon started');
};
const stopDaemon = async () => {
  const p = daemon;
  daemon = null;
  if (p === null || p.exitCode !== null) return;
  await new Promise((r) => {
    p.once('exit', (code) => (say(`daemon stopped (exit ${code})`), r()));
    p.kill('SIGTERM');
  });
};

// The alerts: every open is a false episode (the sensors are healthy).
let phase = 'warmup';
const opens = [];
const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORT}`, { clientId: 'restart-backlog-sub', clean: true });
sub.on('message', (_t, payload) => {
  let a;
  try {
    a = JSON.parse(payload.toString('utf8'));
  } catch {
    return;
  }
  if (a.event !== 'open') return;
  opens.push({ phase, sensor: a.sensor, kind: a.explanation?.kind ?? null, sentence: a.explanation?.sentence ?? null });
  say(`[${phase}] open ${a.sensor}: ${a.explanation?.sentence ?? '(no explanation)'}`);
});
await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });

// The hub: time-less zigbee2mqtt messages, each sensor at HZ, staggered; a slow swing, noise, sent to 0.01.
const hub = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORT}`, { clientId: 'restart-backlog-hub', clean: true });
const phaseOf = Array.from({ length: SENSORS }, () => rnd() * 2 * Math.PI);
let k = 0;
let sent = 0;
const timers = [];
for (let s = 0; s < SENSORS; s++) {
  setTimeout(() => {
    timers.push(
      setInterval(() => {
        k++;
        const t = (Date.now() - t0) / 1000;
        const temperature = Math.round((21 + s / 2 + 0.4 * Math.sin(t / 600 + phaseOf[s]) + 0.05 * gauss()) * 100) / 100;
        const humidity = Math.round((45 + s + 0.3 * gauss()) * 10) / 10;
        hub.publish(`zigbee2mqtt/room${s}`, JSON.stringify({ temperature, humidity }), { qos: 1 });
        sent++;
      }, 1000 / HZ),
    );
  }, (s * 1000) / HZ / SENSORS);
}

await startDaemon();
await sleep(WARMUP * 1000);
const downs = [];
for (let r = 1; r <= RESTARTS; r++) {
  const down = DOWN_MIN + Math.round(rnd() * (DOWN_MAX - DOWN_MIN));
  downs.push(down);
  await stopDaemon();
  phase = `restart ${r}`;
  say(`down ${down} s`);
  await sleep(down * 1000);
  await startDaemon();
  await sleep(UP * 1000);
}
await stopDaemon();
// Alerts stored but not yet published at the stop go out at the next start: none here (the stop publishes them first).
for (const t of timers) clearInterval(t);
await hub.endAsync();
await sub.endAsync();
mosq.kill('SIGTERM');
await new Promise((r) => mosq.once('exit', r));

const count = (p) => opens.filter((o) => o.phase === p).length;
const restarts = Array.from({ length: RESTARTS }, (_, i) => count(`restart ${i + 1}`));
say(`messages sent ${sent}; downs ${downs.join(', ')} s; logs in ${KEEP ? join(dir, 'daemon.log') : '(removed; --keep keeps them)'}`);
console.log(JSON.stringify({ sensors: SENSORS, hz: HZ, downs, warmup: count('warmup'), restarts, falseAfterRestarts: restarts.reduce((a, b) => a + b, 0), kinds: Object.fromEntries([...new Set(opens.map((o) => String(o.kind)))].map((kd) => [kd, opens.filter((o) => String(o.kind) === kd).length])) }));
cleanup();
