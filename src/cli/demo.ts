import { parseArgs } from 'node:util';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import mqtt from 'mqtt';
import { createLogger } from '../log.js';
import { Daemon } from '../daemon.js';
import { Simulator } from '../sim/simulator.js';
import { loadConfig } from '../config/load.js';
import type { AlertPayload, SensorStatePayload } from '../contract/alerts.js';
import { topics as buildTopics } from '../contract/alerts.js';
import { runDaemonUntilSignal } from './run.js';
import type { CommandContext } from './context.js';

export const DEMO_USAGE = `Usage: anomalyd demo [options]

Runs everything on this machine with no outside service: the embedded MQTT broker, a simulator publishing
three realistic sensors (temperature with a daily cycle, vibration RMS, motor current) with injected
anomalies, and the detector. Prints each sensor's state and each alert as it fires. Ctrl-C stops it.

Options:
  -c, --config PATH     config file (default: the built-in defaults)
      --speed N         simulated seconds per real second (default 40)
      --duration SEC    stop by itself after SEC real seconds (default: run until Ctrl-C)
      --port N          embedded broker port (default 1883; 0 = any free port)
      --http-port N     dashboard port (default 8080; 0 = any free port)
      --data-dir DIR    where the demo database goes (default ./data/demo, emptied at start)
      --verbose         show the daemon's own log lines (JSON) on stderr
  -h, --help            this help
`;

const VIRTUAL_INTERVAL_MS = 1000;

export async function demoCommand(argv: string[], ctx: CommandContext): Promise<number> {
  let values: {
    config?: string;
    speed?: string;
    duration?: string;
    port?: string;
    'http-port'?: string;
    'data-dir'?: string;
    verbose?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        speed: { type: 'string' },
        duration: { type: 'string' },
        port: { type: 'string' },
        'http-port': { type: 'string' },
        'data-dir': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    ctx.stderr(`anomalyd demo: ${(err as Error).message}\n\n${DEMO_USAGE}`);
    return 2;
  }
  if (values.help) {
    ctx.stdout(DEMO_USAGE);
    return 0;
  }
  const speed = Number(values.speed ?? 40);
  const duration = values.duration === undefined ? null : Number(values.duration);
  const port = values.port === undefined ? null : Number(values.port);
  const httpPort = values['http-port'] === undefined ? null : Number(values['http-port']);
  const problems: string[] = [];
  if (!(speed > 0 && speed <= 10_000)) problems.push(`--speed: expected a number in (0, 10000], got ${values.speed}`);
  if (duration !== null && !(duration > 0)) problems.push(`--duration: expected a positive number of seconds, got ${values.duration}`);
  if (port !== null && !(Number.isInteger(port) && port >= 0 && port <= 65535)) problems.push(`--port: expected 0..65535, got ${values.port}`);
  if (httpPort !== null && !(Number.isInteger(httpPort) && httpPort >= 0 && httpPort <= 65535)) {
    problems.push(`--http-port: expected 0..65535, got ${values['http-port']}`);
  }
  if (problems.length > 0) {
    for (const p of problems) ctx.stderr(`anomalyd demo: ${p}\n`);
    return 2;
  }
  const dataDir = resolve(values['data-dir'] ?? 'data/demo');
  const loaded = loadConfig({
    env: ctx.env,
    ...(values.config !== undefined ? { path: values.config } : {}),
    overrides: {
      dataDir,
      broker: { enabled: true, ...(port !== null ? { port } : {}) },
      mqtt: { url: null, clientId: 'anomalyd-demo', clean: true },
      log: { level: values.verbose ? 'info' : 'warn' },
      ...(httpPort !== null ? { http: { port: httpPort } } : {}),
    },
  });
  if (!loaded.ok) {
    for (const e of loaded.errors) ctx.stderr(`anomalyd demo: ${e}\n`);
    return 2;
  }
  const config = loaded.config;
  rmSync(dataDir, { recursive: true, force: true });
  const logger = createLogger(config.log.level, process.stderr);
  const daemon = new Daemon({ config, logger });
  const t = buildTopics(config.mqtt.topicPrefix);
  const say = (s: string): void => ctx.stdout(`${new Date().toISOString().slice(11, 19)}  ${s}\n`);

  let publisher: mqtt.MqttClient | null = null;
  let ticker: NodeJS.Timeout | null = null;
  let stopper: NodeJS.Timeout | null = null;

  const onReady = async (): Promise<void> => {
    const url = daemon.brokerUrl!;
    say(`anomalyd demo: embedded broker at ${url}; model ${config.model.name ?? config.model.cell}; data in ${dataDir}`);
    say(`watch it yourself:  mosquitto_sub -h 127.0.0.1 -p ${new URL(url).port} -t '${t.prefix}/#' -v`);
    if (daemon.httpUrl) say(`dashboard:          ${daemon.httpUrl}`);
    publisher = await mqtt.connectAsync(url, {
      clientId: `anomalyd-demo-sim-${process.pid}`,
      ...(config.broker.username !== null ? { username: config.broker.username, password: config.broker.password ?? '' } : {}),
    });
    // The daemon stops the broker under us at shutdown; reconnect errors are expected then.
    publisher.on('error', () => undefined);
    publisher.on('message', (topic, payload) => {
      const text = payload.toString('utf8');
      if (topic.startsWith(`${t.prefix}/alerts/`)) {
        const a = JSON.parse(text) as AlertPayload;
        const chan = a.channels.map((c) => `${c.name}=${c.error.toFixed(2)}`).join(' ');
        say(`ALERT ${a.event.padEnd(7)} ${a.sensor.padEnd(14)} score ${a.score.toFixed(4)} (peak ${a.peak_score.toFixed(4)}, threshold ${a.threshold})  ${chan}  id ${a.anomaly_id.slice(0, 8)}`);
      } else if (topic.startsWith(`${t.prefix}/state/`)) {
        const s = JSON.parse(text) as SensorStatePayload;
        say(`state ${topic.slice(t.prefix.length + 7).padEnd(14)} ${s.status}`);
      }
    });
    await publisher.subscribeAsync([t.allAlerts, `${t.prefix}/state/#`], { qos: 1 });

    // Virtual time starts a day ago so that accelerated timestamps never run into the future.
    const sim = new Simulator({ seed: 7, startTs: Date.now() - 86_400_000, intervalMs: VIRTUAL_INTERVAL_MS, anomalies: 'demo' });
    const announced = new Set<string>();
    const tickMs = VIRTUAL_INTERVAL_MS / speed;
    let due = performance.now();
    ticker = setInterval(() => {
      const client = publisher;
      if (!client) return;
      // Catch up on ticks a slow timer missed, so the simulated rate holds.
      while (due <= performance.now()) {
        due += tickMs;
        for (const m of sim.next()) client.publish(m.topic, m.payload, { qos: 0 });
      }
      for (const a of sim.injected()) {
        const key = `${a.sensor}:${a.startTs}`;
        if (!announced.has(key)) {
          announced.add(key);
          say(`(simulator) injecting ${a.kind} into ${a.sensor}`);
        }
      }
    }, Math.max(5, Math.floor(tickMs)));
    if (duration !== null) {
      stopper = setTimeout(() => process.kill(process.pid, 'SIGTERM'), duration * 1000);
    }
  };

  try {
    return await runDaemonUntilSignal(daemon, logger, ctx, onReady);
  } finally {
    if (ticker) clearInterval(ticker);
    if (stopper) clearTimeout(stopper);
    const client = publisher as mqtt.MqttClient | null;
    if (client) await client.endAsync(true);
    const c = daemon.counters;
    say(`demo stopped: ${c.readings} readings, ${c.scored} readings scored, ${c.events} anomaly events, ${c.rejected} rejected`);
  }
}
