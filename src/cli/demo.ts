import { parseArgs } from 'node:util';
import { rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import mqtt from 'mqtt';
import { createLogger, logSharesStderr } from '../log.js';
import { Daemon } from '../daemon.js';
import { DEFAULT_SENSORS, Simulator, type SimMessage } from '../sim/simulator.js';
import { formatSummary, summarise, type OpenedEpisode } from '../sim/summary.js';
import { loadConfig } from '../config/load.js';
import type { AlertPayload, SensorStatePayload } from '../contract/alerts.js';
import { alertFigures, resolutionWords, topics as buildTopics } from '../contract/alerts.js';
import { ownModelText } from '../contract/own-model.js';
import { KIND_LABELS } from '../explain/explain.js';
import { MIN_ID_PREFIX } from './anomalies.js';
import { DemoLineOrder } from './demo-order.js';
import { parseDuration } from '../util/time.js';
import { runDaemonUntilSignal } from './run.js';
import { DataDirLock } from '../daemon/data-lock.js';
import type { CommandContext } from './context.js';

export const DEMO_USAGE = `Usage: anomalyd demo [options]

Runs everything on this machine with no outside service: the embedded MQTT broker, a simulator publishing
three realistic sensors (temperature with a daily cycle, vibration RMS, motor current) and the detector.
The simulated clock starts now and the detector runs on it, so no reading is ever in its future however
long the demo runs. The sensors first learn their normal (with learning.enabled, each trains its own model
after learning.minReadings readings; the simulation waits while the models train); once every sensor is
ok, anomalies of four kinds are injected (spike, level shift, noise burst, stuck value), one of each every
12 simulated minutes. Prints each sensor's state and each alert as it fires, and at the end how many of
each kind were caught, how many of those were told as that kind (and what the others were told), how
late (in simulated time, by the readings' times: the printed line times are the simulated clock when a line
is printed, and an alert is printed once stored and sent), and how many false alarms there were. Ctrl-C
stops it.
A port that cannot be bound (--port, --http-port) ends it at once with exit status 1 and the reason.

Options:
  -c, --config PATH     config file (default: the built-in defaults)
      --speed N         simulated seconds per real second, at most (default 40; the simulation slows
                        down rather than run ahead of the detector)
      --duration SEC    stop by itself after SEC real seconds (default: run until Ctrl-C)
      --sim-time SPAN   stop by itself after SPAN of simulated time, e.g. 90m, 12h, 2d
      --port N          embedded broker port (default 1883; 0 = any free port)
      --http-port N     dashboard port (default 8080; 0 = any free port)
      --data-dir DIR    where the demo database goes (default ./data/demo, emptied at start; refused
                        while another demo or daemon runs on it)
      --summary PATH    also write the summary as JSON to PATH
      --verbose         show the daemon's own log lines on stderr
  -h, --help            this help
`;

const VIRTUAL_INTERVAL_MS = 1000;
/** Ticks published per timer callback at most: beyond, the simulation falls behind the asked speed. */
const MAX_TICKS_PER_CALLBACK = 250;
/** Readings published but not yet parsed by the detector above which the simulation waits. */
const MAX_BACKLOG_READINGS = 5_000;
/** Longest wait (real time) for a sensor's own model to train before the simulation goes on anyway. */
const TRAINING_WAIT_MAX_MS = 300_000;

export async function demoCommand(argv: string[], ctx: CommandContext): Promise<number> {
  let values: {
    config?: string;
    speed?: string;
    duration?: string;
    'sim-time'?: string;
    port?: string;
    'http-port'?: string;
    'data-dir'?: string;
    summary?: string;
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
        'sim-time': { type: 'string' },
        port: { type: 'string' },
        'http-port': { type: 'string' },
        'data-dir': { type: 'string' },
        summary: { type: 'string' },
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
  const simTime = values['sim-time'] === undefined ? null : parseDuration(values['sim-time']);
  const port = values.port === undefined ? null : Number(values.port);
  const httpPort = values['http-port'] === undefined ? null : Number(values['http-port']);
  const problems: string[] = [];
  if (!(speed > 0 && speed <= 10_000)) problems.push(`--speed: expected a number in (0, 10000], got ${values.speed}`);
  if (duration !== null && !(duration > 0)) problems.push(`--duration: expected a positive number of seconds, got ${values.duration}`);
  if (simTime === null && values['sim-time'] !== undefined) problems.push(`--sim-time: expected a span such as 90m, 12h or 2d, got ${values['sim-time']}`);
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
  // Emptying the directory must not pull the database from under a demo or daemon still running on it:
  // refuse, as the daemon's own lock would (src/daemon/data-lock.ts), before anything is deleted.
  try {
    const lock = new DataDirLock(dataDir);
    lock.acquire();
    lock.release();
  } catch (err) {
    ctx.stderr(`anomalyd demo: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  rmSync(dataDir, { recursive: true, force: true });
  // The demo speaks to a person: where its log lines land among its own output (stderr is stdout: a terminal,
  // `2>&1` into one file), they are pretty lines like the rest, not JSON in the middle of them (tryout 20, finding
  // 13); apart (stderr piped on its own, as a test reads it) they stay JSON. `log.format` json or pretty still wins.
  const logFormat = config.log.format === 'auto' && logSharesStderr(1) ? 'pretty' : config.log.format;
  const logger = createLogger(config.log.level, undefined, logFormat, 2);

  // The detector runs on the simulated clock: the time of the newest tick published (wall time before the
  // first). It stands still when the simulation waits (for training, or for the detector to catch up) and
  // once a stop is asked for, so the daemon's own stop deadline is not eaten by simulated time.
  const simStart = Date.now();
  let sim: Simulator | null = null;
  const clock = (): number => {
    const t = sim?.now() ?? NaN;
    return Number.isNaN(t) ? (sim === null ? Date.now() : simStart) : t;
  };
  // The simulated clock never goes back: it stamps arrivals as it is (an anchored wall clock would take
  // its fast run for a clock step and hold back).
  // The simulation lets the detector lag behind its clock (up to MAX_BACKLOG_READINGS): a reading published and
  // not yet taken is in flight, and no silence is judged meanwhile (a sensor whose readings are on their way is
  // not silent).
  const inFlight = (): number => published - (daemon.counters.readings + daemon.counters.rejected);
  const daemon = new Daemon({ config, logger, now: clock, arrivalNow: clock, inFlight });
  const t = buildTopics(config.mqtt.topicPrefix);
  const say = (s: string): void => ctx.stdout(`${new Date(clock()).toISOString().slice(11, 19)}  ${s}\n`);
  const sensors = DEFAULT_SENSORS.map((s) => s.name);

  let publisher: mqtt.MqttClient | null = null;
  let ticker: NodeJS.Timeout | null = null;
  let stopper: NodeJS.Timeout | null = null;
  let stopping = false;
  const states = new Map<string, SensorStatePayload>();
  // A state line waits for the alert it belongs to (alerts come later: they are committed first).
  const lines = new DemoLineOrder();
  const heldLines = setInterval(() => lines.due(performance.now()).forEach(say), 250);
  heldLines.unref();
  const opened: OpenedEpisode[] = [];
  let published = 0;
  let realStart = 0;
  let waitedMs = 0;
  const stopSimulation = (): void => {
    stopping = true;
    if (ticker) clearInterval(ticker);
    ticker = null;
  };
  const requestStop = (why: string): void => {
    if (stopping) return;
    say(`(demo) ${why}: stopping`);
    stopSimulation();
    // Let the detector take what was published before it stops reading, and the alerts of what it found reach the
    // broker (the outbox empty) and, a few ticks later, this summary's subscriber (bounded): on a busy machine the
    // outbox lags the detector, and an alert still in it at the stop is sent at the next start, not to this summary.
    const until = performance.now() + 10_000;
    let settled = 0;
    const drain = setInterval(() => {
      const c = daemon.counters;
      let unsent = 0;
      try {
        unsent = daemon.database?.outboxPending() ?? 0;
      } catch {
        unsent = 0; // the store is closing: nothing more will be sent
      }
      const caughtUp = c.readings + c.rejected >= published && unsent === 0;
      settled = caughtUp ? settled + 1 : 0;
      if (settled < 3 && performance.now() < until) return;
      clearInterval(drain);
      process.kill(process.pid, 'SIGTERM');
    }, 50);
  };
  process.once('SIGINT', stopSimulation);
  process.once('SIGTERM', stopSimulation);

  const onReady = async (): Promise<void> => {
    const url = daemon.brokerUrl!;
    say(`anomalyd demo: embedded broker at ${url}; model ${config.model.name ?? config.model.cell}; data in ${dataDir}`);
    say(`watch it yourself:  mosquitto_sub -h 127.0.0.1 -p ${new URL(url).port} -t '${t.prefix}/#' -v`);
    if (daemon.httpUrl) say(`dashboard:          ${daemon.httpUrl}`);
    if (config.learning.enabled) {
      say(`learning: each sensor trains its own model after ${config.learning.minReadings} readings (${config.learning.minReadings * VIRTUAL_INTERVAL_MS / 60_000} simulated min); anomalies start once every sensor is ok`);
    } else {
      say('learning: the sensors calibrate the shared model; anomalies start once every sensor is ok');
    }
    publisher = await mqtt.connectAsync(url, {
      clientId: `anomalyd-demo-sim-${process.pid}`,
      ...(config.broker.username !== null ? { username: config.broker.username, password: config.broker.password ?? '' } : {}),
    });
    // The daemon stops the broker under us at shutdown; reconnect errors are expected then.
    publisher.on('error', () => undefined);
    publisher.on('message', (topic, payload) => {
      const text = payload.toString('utf8');
      // An empty retained message deletes a topic (a state cleared when an idle sensor is evicted).
      if (text === '') return;
      if (topic.startsWith(`${t.prefix}/alerts/`)) {
        const a = JSON.parse(text) as AlertPayload;
        if (a.event === 'open' && !opened.some((e) => e.anomalyId === a.anomaly_id)) opened.push({ anomalyId: a.anomaly_id, sensor: a.sensor, openTs: Date.parse(a.ts) });
        // The kind the episode is told, as its latest alert says (the summary's "told as such").
        const episode = opened.find((e) => e.anomalyId === a.anomaly_id);
        if (episode !== undefined) episode.told = a.explanation?.kind ?? null;
        if (a.event === 'update' && !values.verbose) {
          lines.alert(a.sensor, a.event, a.anomaly_id, null).forEach(say);
          return;
        }
        const what = a.explanation?.sentence ?? `${a.sensor}: unusual readings`;
        const figures = alertFigures({ kind: a.event, score: a.score, peakScore: a.peak_score, threshold: a.threshold, explained: a.explanation?.kind ?? null });
        const newNormal = resolutionWords(a.resolution);
        lines.alert(a.sensor, a.event, a.anomaly_id, `ALERT ${a.event.padEnd(7)} ${what}  (${figures}${newNormal}, id ${a.anomaly_id.slice(0, MIN_ID_PREFIX)})`).forEach(say);
      } else if (topic.startsWith(`${t.prefix}/state/`)) {
        const s = JSON.parse(text) as SensorStatePayload;
        const sensor = topic.slice(t.prefix.length + 7);
        const before = states.get(sensor);
        states.set(sensor, s);
        // The state is published again when its open episode's sentence is retold (a drift's rate): a line only when
        // what it says changed (its status, its model, its episode, the episode's kind).
        if (before !== undefined && before.status === s.status && before.model === s.model && before.anomaly_id === s.anomaly_id && before.episode_kind === s.episode_kind) return;
        // Its own model's progress as status and the API say it (one source: the learner, one wording).
        const own = daemon.ownModel(sensor);
        const kind = s.episode_kind != null ? ` · ${KIND_LABELS[s.episode_kind]}` : '';
        const line = `state ${sensor.padEnd(14)} ${s.status}${kind}${own !== null ? ` (${ownModelText(own)})` : ''}`;
        lines.state(sensor, s.anomaly_id, line, performance.now()).forEach(say);
      }
    });
    await publisher.subscribeAsync([t.allAlerts, `${t.prefix}/state/#`], { qos: 1 });

    const simulator = new Simulator({ seed: 7, startTs: simStart, intervalMs: VIRTUAL_INTERVAL_MS, anomalies: 'demo', anomaliesFrom: null });
    sim = simulator;
    const announced = new Set<string>();
    const tickMs = VIRTUAL_INTERVAL_MS / speed;
    realStart = performance.now();
    let due = realStart;
    let waitingSince: number | null = null;
    // Learnt: its own model is in, or the gate judged its first one (docs/MODEL.md, "The gate") and it keeps
    // the shared model while it collects readings for the next try.
    const learnt = (): boolean =>
      sensors.every((s) => {
        const own = daemon.ownModel(s);
        return states.get(s)?.status === 'ok' && (own === null || own.lastTry !== undefined);
      });
    // Enough readings: queued for training or training now.
    const training = (): string[] => sensors.filter((s) => ['queued', 'training'].includes(daemon.ownModel(s)?.phase ?? 'collecting'));
    ticker = setInterval(() => {
      const client = publisher;
      if (!client || stopping) return;
      const now = performance.now();
      // While a sensor's own model trains, the simulation (and its clock) waits: the detector learns from
      // the same simulated data at any speed. Bounded, in case training fails.
      const inTraining = training();
      if (inTraining.length > 0 && (waitingSince === null || now - waitingSince < TRAINING_WAIT_MAX_MS)) {
        if (waitingSince === null) {
          waitingSince = now;
          say(`(demo) ${inTraining.join(', ')}: enough readings; the simulation waits while ${inTraining.length > 1 ? 'their models train' : 'its model trains'}`);
        }
        due = now;
        return;
      }
      if (waitingSince !== null) {
        waitedMs += now - waitingSince;
        waitingSince = null;
      }
      // Never run ahead of the detector: with too many readings unparsed, wait (the clock waits too).
      if (published - daemon.counters.readings - daemon.counters.rejected > MAX_BACKLOG_READINGS) {
        due = now;
        return;
      }
      const ticks: SimMessage[][] = [];
      while (due <= now && ticks.length < MAX_TICKS_PER_CALLBACK) {
        due += tickMs;
        ticks.push(simulator.next());
      }
      if (ticks.length === MAX_TICKS_PER_CALLBACK) due = Math.max(due, now);
      publish(client, ticks);
      published += ticks.length * sensors.length;
      if (simulator.anomaliesFrom === null && learnt()) {
        simulator.startAnomalies(simulator.now() + VIRTUAL_INTERVAL_MS);
        say('(demo) every sensor is ok: injecting anomalies from now on, one of each kind every 12 simulated minutes');
      }
      for (const a of simulator.injected()) {
        const key = `${a.sensor}:${a.startTs}`;
        if (!announced.has(key)) {
          announced.add(key);
          say(`(simulator) injecting ${a.kind} into ${a.sensor}`);
        }
      }
      if (simTime !== null && simulator.now() - simStart >= simTime) requestStop(`${values['sim-time']} of simulated time done`);
    }, Math.max(5, Math.floor(tickMs)));
    if (duration !== null) {
      stopper = setTimeout(() => requestStop(`${duration} s done`), duration * 1000);
    }
  };

  try {
    return await runDaemonUntilSignal(daemon, logger, ctx, onReady, { 'broker.port': '--port', 'http.port': '--http-port' }, 2);
  } finally {
    stopSimulation();
    process.off('SIGINT', stopSimulation);
    process.off('SIGTERM', stopSimulation);
    if (stopper) clearTimeout(stopper);
    const client = publisher as mqtt.MqttClient | null;
    if (client) await client.endAsync(true);
    clearInterval(heldLines);
    lines.flush().forEach(say);
    const c = daemon.counters;
    say(`demo stopped: ${published} readings published, ${c.readings} accepted, ${c.rejected} rejected, ${c.scored} readings scored, ${c.events} anomaly events`);
    const s = sim as Simulator | null;
    if (s !== null) {
      const to = Number.isNaN(s.now()) ? simStart : s.now();
      const summary = summarise(s.injected(), opened, {
        from: simStart,
        to,
        injectionFrom: s.anomaliesFrom,
        graceMs: (config.window.length + config.alerts.openAfter * config.window.hop) * VIRTUAL_INTERVAL_MS,
      });
      const realMs = Math.max(1, performance.now() - realStart - waitedMs);
      const pace = { asked: speed, achieved: (to - simStart) / realMs };
      ctx.stdout(formatSummary(summary, pace));
      if (values.summary !== undefined) {
        const counts = { published, accepted: c.readings, rejected: c.rejected, scored: c.scored, events: c.events };
        writeFileSync(values.summary, `${JSON.stringify({ ...summary, speed: pace, readings: counts, injected: s.injected(), opened }, null, 2)}\n`);
      }
    }
  }
}

/** One tick: each sensor's own payload; several ticks at once: one burst message per sensor. */
function publish(client: mqtt.MqttClient, ticks: readonly SimMessage[][]): void {
  if (ticks.length === 0) return;
  if (ticks.length === 1) {
    for (const m of ticks[0]) client.publish(m.topic, m.payload, { qos: 0 });
    return;
  }
  const first = ticks[0];
  for (let i = 0; i < first.length; i++) {
    const burst = ticks.map((tick) => ({ value: tick[i].value, ts: tick[i].ts }));
    client.publish(first[i].topic, JSON.stringify(burst), { qos: 0 });
  }
}
