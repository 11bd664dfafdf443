/**
 * The scaffolding of the e2e tests that run the daemon in-process on a real broker (the embedded one, or mosquitto),
 * most with a virtual clock: device-offline, device-offline-ha, hub-on-off, hub-on-off-words, open-without-readings,
 * redelivered, and ./session-rig.ts's backlog tests. Kept
 * apart from ./daemon.ts (the child-process helpers, imported by tests that must not load src/daemon.js and its
 * onnxruntime); its models are ./daemon.ts's MODELS. For a daemon on the embedded broker with HTTP off, see
 * ./daemon.ts's inProcessConfig.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { DeepPartial } from '../../src/config/dsl.js';
import type { Config } from '../../src/config/schema.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { Daemon } from '../../src/daemon.js';
import { trainInWorker } from '../../src/train/in-worker.js';
import { MODELS } from './daemon.js';
import { waitFor } from './net.js';

/** A pino logger (level `info`) whose lines, parsed from JSON, are kept in `lines`, for a test that reads what a daemon logged. */
export function capturingLogger(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** A test's cleanups: run last pushed first after each test (see useCleanups). */
export type Cleanup = () => Promise<unknown> | void;

/**
 * The test file's cleanups, run last pushed first (awaited one by one) after each of its tests and emptied; call once
 * at the top level of a test file (it registers vitest's afterEach).
 */
export function useCleanups(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}

/**
 * A fresh directory under the system's temporary directory, named `prefix` and six random characters (mkdtemp), its
 * removal (recursive) pushed onto `cleanups`.
 * @returns its absolute path
 * @throws the file system's error when it cannot be made
 */
export function tempDataDir(prefix: string, cleanups: { push(cleanup: Cleanup): unknown }): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The daemon's trainer (DaemonAdapters.train) on the compiled worker, dist/train/worker.js (`npm run build`): a daemon
 * run from the sources would look for its worker beside src/train/in-worker.ts, where there is none. Same arguments,
 * result and errors as trainInWorker.
 */
export const trainInDistWorker: typeof trainInWorker = (series, opts, onProgress, options = {}) =>
  trainInWorker(series, opts, onProgress, { ...options, workerUrl: new URL('../../dist/train/worker.js', import.meta.url) });

/**
 * The messages a scoringHub published to a daemon with a virtual clock and the daemon has not scored yet, by daemon
 * (its DaemonOptions.inFlight). A test moves its clock to a message's time, then publishes it: until the daemon has
 * taken it, the daemon's own silence tick (housekeeping, every 2 s of wall time) would see the stream silent from its
 * last reading to the clock's new now, and a jump of a minute on a sensor that reports every 10 s was told missing data
 * on a loaded machine (hub-door-few-openings under a CI-like load: `missing_data` where `stuck` was due). A reading on
 * its way is no silence (Daemon.cannotHear); a silence the test means is judged with nothing in flight.
 */
const SENDS = new WeakMap<Daemon, { inFlight: number }>();

/**
 * The options of a daemon on a virtual clock: `clock` its now, `arrival` (default `clock`) its readings' arrival, the
 * event loop never saturated, and its scoringHub's messages in flight (SENDS, registered by `register` once the daemon
 * is made).
 */
function virtualClockOptions(clock: () => number, arrival: () => number = clock): { options: Pick<ConstructorParameters<typeof Daemon>[0], 'now' | 'arrivalNow' | 'loopUtilization' | 'inFlight'>; register: (daemon: Daemon) => void } {
  const sends = { inFlight: 0 };
  return {
    options: { now: clock, arrivalNow: arrival, loopUtilization: () => 0, inFlight: () => sends.inFlight },
    register: (daemon) => void SENDS.set(daemon, sends),
  };
}

/**
 * The HTTP API's shipped port (config/schema.ts's default, read from an empty configuration), which no test daemon
 * may bind.
 * @throws Error with the loader's errors when an empty configuration does not load
 */
function shippedHttpPort(): number {
  const loaded = loadConfig({ path: '/dev/null', env: {}, overrides: {} });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config.http.port;
}

/** What inProcessDaemon starts. */
/**
 * A virtual clock's start (epoch ms) for a test whose sentences or views carry times of day: yesterday's noon UTC,
 * whatever the time the test runs, so a story of hours never crosses a midnight and the clock is in the past. A start
 * taken from the wall clock failed such tests when run near midnight: `since 23:58` became `since 4 Dec 23:58`, and a
 * CLI row wrapped (plug-unplugged and device-silence, between about 23:45 and 00:05 UTC).
 */
export function yesterdayNoonUtc(): number {
  const day = 86_400_000;
  return Math.floor(Date.now() / day) * day - day / 2;
}

export interface InProcessDaemonOptions {
  /** The daemon's data directory (its SQLite file); the test makes and removes it. */
  readonly dataDir: string;
  /** An external broker's URL (mqtt.url), e.g. a Mosquitto's; null: the embedded broker on a free port. */
  readonly brokerUrl: string | null;
  /**
   * Further top-level config sections, each replacing the default one whole (shallow): the defaults are the shipped
   * models on the main thread (`model`), learning off (`learning`), Home Assistant discovery off (`homeassistant`) and
   * the HTTP API on a free loopback port (`http`; an `http` given must say port 0 or a freePort, or disable it).
   */
  readonly overrides?: DeepPartial<Config>;
  /**
   * The wall clock (epoch ms), the daemon's now and (without `arrival`) every message's arrival time; null: the real
   * clock, and the event loop's real load.
   */
  readonly clock: (() => number) | null;
  /** Each message's arrival time (epoch ms), when it is not `clock`'s now (a test that plans arrivals). */
  readonly arrival?: () => number;
  /**
   * The daemon's adapters to replace (DaemonOptions.adapters), e.g. its trainer: a test run from the sources trains
   * in the compiled worker (trainInDistWorker), its default worker.js being beside the sources, not built.
   */
  readonly adapters?: ConstructorParameters<typeof Daemon>[0]['adapters'];
  /** Called with each scored reading (the Daemon's onReading). */
  readonly onReading?: ConstructorParameters<typeof Daemon>[0]['onReading'];
  /** The daemon's logger (a test that reads its warnings); absent: a silent one. */
  readonly logger?: pino.Logger;
  /** Where the daemon's stop is pushed (run by the test's cleanups). */
  readonly cleanups: { push(cleanup: Cleanup): unknown };
}

/**
 * Starts a Daemon in this process on `brokerUrl` (or the embedded broker on port 0) with a silent logger, `clock` as
 * its now and arrival time (`arrival`'s, when given), and the event loop's load fixed at 0 (a virtual clock's silences
 * are then judged whatever the machine's load: src/daemon/loop-load.ts); without a clock, the real ones. Its stop is
 * pushed onto `cleanups`.
 * @returns the started daemon, and the URL of the broker it is on (brokerUrl, or the embedded broker's)
 * @throws Error with the loader's errors when the configuration does not load, when it would bind the HTTP API on
 *   the shipped port, or the daemon's own when it does not start
 */
export async function inProcessDaemon(o: InProcessDaemonOptions): Promise<{ daemon: Daemon; url: string }> {
  const loaded = loadConfig({
    path: '/dev/null',
    env: {},
    overrides: {
      dataDir: o.dataDir,
      ...(o.brokerUrl === null ? { broker: { port: 0 } } : { mqtt: { url: o.brokerUrl } }),
      homeassistant: { discovery: 'off' },
      // Not the shipped 8080: a port another test file (the suite runs two at once) or process holds failed
      // backfill-silence-time and co2-silence with EADDRINUSE under a concurrent run.
      http: { port: 0, host: '127.0.0.1' },
      model: { dir: MODELS, worker: false },
      learning: { enabled: false },
      ...o.overrides,
    },
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const http = loaded.config.http;
  if (http.enabled && http.port === shippedHttpPort()) throw new Error(`inProcessDaemon: the HTTP API on the shipped port ${http.port}: give http.port 0 (or a freePort), or http.enabled false (test/lint/fixed-ports.test.ts)`);
  const clocks = o.clock === null ? null : virtualClockOptions(o.clock, o.arrival);
  const daemon = new Daemon({ config: loaded.config, logger: o.logger ?? pino({ level: 'silent' }), ...clocks?.options, ...(o.onReading !== undefined ? { onReading: o.onReading } : {}), ...(o.adapters !== undefined ? { adapters: o.adapters } : {}) });
  clocks?.register(daemon);
  o.cleanups.push(() => daemon.stop());
  await daemon.start();
  return { daemon, url: o.brokerUrl ?? daemon.brokerUrl! };
}

/**
 * Subscribes a client `clientId` on `url` to anomalyd/alerts/# (QoS 1) and pushes each alert, JSON-parsed, onto
 * `into` in arrival order; the client's end is pushed onto `cleanups`.
 * @returns `into` (a new array when none is given)
 * @throws Error when the client cannot connect or subscribe
 */
export async function collectAlerts(url: string, clientId: string, cleanups: { push(cleanup: Cleanup): unknown }, into: AlertPayload[] = []): Promise<AlertPayload[]> {
  const sub = await mqtt.connectAsync(url, { clientId });
  cleanups.push(() => sub.endAsync());
  sub.on('message', (_topic, payload) => into.push(JSON.parse(payload.toString('utf8')) as AlertPayload));
  await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
  return into;
}

/** Publishes one message and waits until the daemon has scored it (scoringHub, virtualRun). */
export type ScoredSend = (topic: string, payload: string) => Promise<void>;

/**
 * A hub's client `clientId` on `url` (its end pushed onto `cleanups`, when given) and a `send` that publishes one
 * message at QoS 1 and waits until `daemon` has scored one more reading (a 10 s guard), so a test's virtual clock
 * moves on only after the daemon took the message at its time. On a daemon with a virtual clock (inProcessDaemon,
 * virtualRun) the message counts as in flight until then (SENDS): no silence is judged meanwhile.
 * @throws Error when the client cannot connect; `send` rejects when the reading is not scored within 10 s
 */
export async function scoringHub(daemon: Daemon, url: string, clientId: string, cleanups?: { push(cleanup: Cleanup): unknown }): Promise<{ hub: mqtt.MqttClient; send: ScoredSend }> {
  const hub = await mqtt.connectAsync(url, { clientId });
  cleanups?.push(() => hub.endAsync(true));
  let scored = daemon.counters.scored;
  const sends = SENDS.get(daemon);
  const send: ScoredSend = async (topic, payload) => {
    // In flight from the publish until it is scored (SENDS): counted before the first await, so no tick comes between.
    if (sends !== undefined) sends.inFlight++;
    try {
      await hub.publishAsync(topic, payload, { qos: 1 });
      await waitFor(() => daemon.counters.scored > scored, 10_000, `${topic} scored`);
    } finally {
      if (sends !== undefined) sends.inFlight--;
    }
    scored = daemon.counters.scored;
  };
  return { hub, send };
}

/**
 * The daemon in this process on `dataDir` (inProcessDaemon: its embedded broker, the HTTP API on a free port) with the
 * virtual clock `clock`, a subscriber that appends its alerts to `alerts` (collectAlerts) and a scoringHub; every
 * part is ended by `cleanups`. `tag` and the count of alerts so far name the clients, so a restart on the same
 * `dataDir` (a second call) gets clients of its own.
 * @throws Error when the daemon does not start or a client cannot connect
 */
export async function inProcessWithHub(
  dataDir: string,
  clock: () => number,
  alerts: AlertPayload[],
  tag: string,
  cleanups: { push(cleanup: Cleanup): unknown },
): Promise<{ daemon: Daemon; send: ScoredSend }> {
  const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides: { http: { enabled: true, port: 0 } }, clock, cleanups });
  await collectAlerts(url, `${tag}-sub-${process.pid}-${alerts.length}`, cleanups, alerts);
  const { send } = await scoringHub(daemon, url, `${tag}-hub-${process.pid}-${alerts.length}`, cleanups);
  return { daemon, send };
}

/** One run of the daemon on a data directory (virtualRun): a restart is a second run on the same config. */
export interface VirtualRun {
  readonly daemon: Daemon;
  readonly hub: mqtt.MqttClient;
  readonly send: ScoredSend;
  /** Ends the hub, the alert subscriber and the daemon (a clean stop); idempotent. */
  readonly stop: () => Promise<void>;
}

/**
 * Starts the daemon in this process on `config` (its embedded broker) with the virtual clock `clock` for both its
 * time and the readings' arrival (the event loop never saturated), a subscriber that pushes its alerts onto
 * `alerts`, and a scoringHub. Both clients are ended by `stop`, before the daemon, so a second run on the same
 * config (a restart) hears each alert once; `stop` is also pushed onto `cleanups`. `tag` names the clients.
 * @throws Error when the daemon does not start or a client cannot connect
 */
export async function virtualRun(config: Config, clock: () => number, tag: string, alerts: AlertPayload[], cleanups: { push(cleanup: Cleanup): unknown }): Promise<VirtualRun> {
  const clocks = virtualClockOptions(clock);
  const daemon = new Daemon({ config, logger: pino({ level: 'silent' }), ...clocks.options });
  clocks.register(daemon);
  await daemon.start();
  const url = daemon.brokerUrl!;
  const sub = await mqtt.connectAsync(url, { clientId: `${tag}-sub-${process.pid}` });
  sub.on('message', (_topic, payload) => alerts.push(JSON.parse(payload.toString('utf8')) as AlertPayload));
  await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
  const { hub, send } = await scoringHub(daemon, url, `${tag}-hub-${process.pid}`);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await hub.endAsync(true);
    await sub.endAsync(true);
    await daemon.stop();
  };
  cleanups.push(stop);
  return { daemon, hub, send, stop };
}
