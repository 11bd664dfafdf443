/**
 * Tryout 20, F8 and F9: the mosquitto that deploy/mosquitto/setup.sh sets up, run for real (started as root it
 * drops to its own user, as on a Pi).
 * - F8: its database goes to a directory mosquitto's user can write (DIR/data by default), so a retained message
 *   outlives a broker restart and no autosave fails with "Permission denied" (DIR itself stays root's 0755).
 * - F9: with a sensor topic `homeassistant/#` (read only for the daemon), the ACL still lets the real daemon
 *   publish its Home Assistant discovery configs under `homeassistant/+/<nodeId>/#`: they are retained, where
 *   mosquitto used to drop them without a word.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { canConnect } from '../../src/util/net.js';
import { DaemonProcess, ROOT, builtAndModelsPresent } from '../helpers/daemon.js';
import { mosquittoAvailable, setupCredentials } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';

interface Broker {
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  readonly stdout: string;
  readonly daemon: IClientOptions;
  readonly sensor: IClientOptions;
}

/** Started mosquitto processes with what each wrote on stderr, stopped after each test. */
const running: { proc: ChildProcess; err: () => string }[] = [];
const daemons: DaemonProcess[] = [];

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop('SIGKILL');
  for (const { proc } of running.splice(0)) await stopBroker(proc);
});

async function stopBroker(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

/** setup.sh into a new DIR under a 0755 parent (as /etc/mosquitto/anomalyd on a Pi), with `extra` options. */
function setup(extra: string[], port: number): Broker {
  const parent = mkdtempSync(join(tmpdir(), 'anomalyd-setup-'));
  chmodSync(parent, 0o755);
  const dir = join(parent, 'mosquitto');
  const out = spawnSync('bash', [join(ROOT, 'deploy/mosquitto/setup.sh'), '--dir', dir, '--port', String(port), '--bind', '127.0.0.1', ...extra], { encoding: 'utf8' });
  expect(out.status, out.stderr).toBe(0);
  const creds = setupCredentials(dir);
  return {
    dir,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stdout: out.stdout,
    daemon: { username: creds.ANOMALYD_MQTT_USERNAME, password: creds.ANOMALYD_MQTT_PASSWORD },
    sensor: { username: creds.SENSOR_USERNAME, password: creds.SENSOR_PASSWORD },
  };
}

/** Runs mosquitto with the setup's config until it listens; returns its process and its stderr so far. */
async function startBroker(b: Broker): Promise<{ proc: ChildProcess; err: () => string }> {
  const proc = spawn('mosquitto', ['-c', join(b.dir, 'anomalyd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const handle = { proc, err: () => err };
  running.push(handle);
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${err}`);
      return canConnect(b.port);
    },
    10_000,
    'mosquitto',
  );
  return handle;
}

/**
 * The retained messages a fresh subscriber to `filter` gets, once `count` of them have come; with `live`, any
 * message (to wait for a publish that may come after the subscription).
 */
async function retained(url: string, login: IClientOptions, filter: string, count: number, live = false): Promise<Map<string, string>> {
  const client: MqttClient = await mqtt.connectAsync(url, { ...login, clientId: `retained-${process.pid}-${Date.now()}`, reconnectPeriod: 0 });
  const got = new Map<string, string>();
  client.on('message', (topic, payload, packet) => {
    if (live || packet.retain) got.set(topic, payload.toString());
  });
  try {
    await client.subscribeAsync(filter, { qos: 1 });
    await waitFor(() => got.size >= count, 10_000, `${count} retained message(s) on ${filter}`);
    return got;
  } finally {
    await client.endAsync(true);
  }
}

describe.skipIf(!mosquittoAvailable())('mosquitto set up by deploy/mosquitto/setup.sh: persistence (tryout 20, F8)', () => {
  it("keeps its database in DIR/data, which mosquitto's user can write: a retained message outlives a restart, and no save fails", async () => {
    const b = setup([], await freePort());
    const conf = readFileSync(join(b.dir, 'anomalyd.conf'), 'utf8');
    expect(conf).toMatch(new RegExp(`^persistence_location ${b.dir}/data/$`, 'm'));
    expect(b.stdout).toContain(`mosquitto keeps sessions, queued readings and retained messages in ${b.dir}/data/mosquitto.db.`);

    const first = await startBroker(b);
    const sensor = await mqtt.connectAsync(b.url, { ...b.sensor, clientId: `setup-sensor-${process.pid}`, reconnectPeriod: 0 });
    await sensor.publishAsync('sensors/boiler', '61.5', { qos: 1, retain: true });
    await sensor.endAsync();
    // SIGTERM: mosquitto saves its database on the way out.
    await stopBroker(first.proc);
    expect(first.err()).not.toMatch(/Error saving in-memory database/);
    expect(existsSync(join(b.dir, 'data', 'mosquitto.db'))).toBe(true);

    await startBroker(b);
    expect(Object.fromEntries(await retained(b.url, b.daemon, 'sensors/#', 1))).toEqual({ 'sensors/boiler': '61.5' });
  }, 30_000);
});

describe.skipIf(!mosquittoAvailable() || !builtAndModelsPresent())('mosquitto set up by deploy/mosquitto/setup.sh: Home Assistant discovery (tryout 20, F9)', () => {
  it("with a sensor topic homeassistant/#, the daemon's discovery configs are retained under homeassistant/+/<nodeId>/#", async () => {
    const b = setup(['--sensor-topic', 'homeassistant/#', '--sensor-topic', 'sensors/#', '--node-id', 'e2e-pi'], await freePort());
    expect(b.stdout).toMatch(/^ {4}nodeId: e2e-pi\b/m);
    await startBroker(b);
    const daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: b.url, ...b.daemon, clientId: 'anomalyd-setup-ha' },
      ingest: { topics: ['sensors/#'] },
      homeassistant: { discovery: 'on', nodeId: 'e2e-pi', scoreIntervalMs: 0 },
      learning: { enabled: false },
    });
    daemons.push(daemon);
    await daemon.start();
    // The daemon subscribes after it is ready; a reading before that is not kept for its first session.
    await waitFor(() => daemon.logged('subscribed').length > 0, 10_000, 'the daemon subscribed');

    // A stream is announced at its third reading.
    const sensor = await mqtt.connectAsync(b.url, { ...b.sensor, clientId: `setup-ha-sensor-${process.pid}`, reconnectPeriod: 0 });
    const now = Date.now();
    for (let i = 0; i < 4; i++) await sensor.publishAsync('sensors/boiler', JSON.stringify({ ts: now - (3 - i) * 1000, value: 60 + i }), { qos: 1 });
    await sensor.endAsync();

    // Published (the broker let them through), then kept: a fresh subscriber gets them retained.
    await retained(b.url, b.daemon, 'homeassistant/+/e2e-pi/#', 2, true);
    const configs = await retained(b.url, b.daemon, 'homeassistant/+/e2e-pi/#', 2);
    expect([...configs.keys()].sort()).toEqual([expect.stringMatching(/^homeassistant\/binary_sensor\/e2e-pi\/boiler_[0-9a-f]+\/config$/), expect.stringMatching(/^homeassistant\/sensor\/e2e-pi\/boiler_[0-9a-f]+\/config$/)]);
    for (const payload of configs.values()) expect(JSON.parse(payload)).toMatchObject({ unique_id: expect.stringMatching(/^anomalyd_e2e-pi_boiler_/) as unknown });
  }, 60_000);
});
