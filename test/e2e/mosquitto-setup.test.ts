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
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/** setup.sh into `dir` (default: a new DIR under a 0755 parent, as /etc/mosquitto/anomalyd on a Pi), with `extra` options. */
function setup(extra: string[], port: number, into?: string): Broker {
  let dir = into;
  if (dir === undefined) {
    const parent = mkdtempSync(join(tmpdir(), 'anomalyd-setup-'));
    chmodSync(parent, 0o755);
    dir = join(parent, 'mosquitto');
  }
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

/** Runs mosquitto with the setup's config (or `conf`, a mosquitto.conf that includes it) until it listens; returns its process and its stderr so far. */
async function startBroker(b: Broker, conf = join(b.dir, 'anomalyd.conf')): Promise<{ proc: ChildProcess; err: () => string }> {
  const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
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

/** Debian 12's /etc/mosquitto/mosquitto.conf (package mosquitto 2.0.11), as Raspberry Pi OS ships it too: used when this machine has none. */
const DEBIAN_CONF = `# Place your local configuration in /etc/mosquitto/conf.d/
#
# A full description of the configuration file is at
# /usr/share/doc/mosquitto/examples/mosquitto.conf.example

pid_file /run/mosquitto/mosquitto.pid

persistence true
persistence_location /var/lib/mosquitto/

log_dest file /var/log/mosquitto/mosquitto.log

include_dir /etc/mosquitto/conf.d
`;

describe.skipIf(!mosquittoAvailable())('mosquitto set up by deploy/mosquitto/setup.sh on a stock Debian mosquitto.conf (persistence_location set, conf.d included)', () => {
  it('writes no second persistence_location into conf.d: mosquitto starts with the stock mosquitto.conf, its database stays where that keeps it, and a retained message outlives a restart', async () => {
    // The stock layout under a temporary /etc/mosquitto, /run/mosquitto and /var/lib/mosquitto (given to mosquitto's user, as the package does).
    const root = mkdtempSync(join(tmpdir(), 'anomalyd-debian-'));
    chmodSync(root, 0o755);
    const etc = join(root, 'etc');
    const lib = join(root, 'lib');
    const run = join(root, 'run');
    for (const d of [etc, join(etc, 'conf.d'), lib, run]) mkdirSync(d, { recursive: true });
    for (const d of [lib, run]) spawnSync('chown', ['mosquitto:', d]);
    const stock = existsSync('/etc/mosquitto/mosquitto.conf') ? readFileSync('/etc/mosquitto/mosquitto.conf', 'utf8') : DEBIAN_CONF;
    expect(stock).toMatch(/^persistence_location \/var\/lib\/mosquitto\/$/m);
    const main = join(etc, 'mosquitto.conf');
    writeFileSync(
      main,
      stock
        .replace(/^pid_file \/run\/mosquitto\//m, `pid_file ${run}/`)
        .replace(/^persistence_location \/var\/lib\/mosquitto\//m, `persistence_location ${lib}/`)
        .replace(/^log_dest file .*$/m, 'log_dest stderr')
        .replace(/^include_dir \/etc\/mosquitto\/conf\.d$/m, `include_dir ${join(etc, 'conf.d')}`),
    );
    const b = setup(['--mosquitto-conf', main], await freePort(), join(etc, 'conf.d'));
    const conf = readFileSync(join(b.dir, 'anomalyd.conf'), 'utf8');
    expect(conf).not.toMatch(/^persistence_location/m);
    expect(conf).toMatch(/^persistence true$/m);
    expect(existsSync(join(b.dir, 'data'))).toBe(false);
    expect(b.stdout).toContain(`${main} includes it (include_dir ${b.dir})`);
    expect(b.stdout).toContain(`mosquitto keeps sessions, queued readings and retained messages in ${lib}/mosquitto.db.`);

    const first = await startBroker(b, main);
    const sensor = await mqtt.connectAsync(b.url, { ...b.sensor, clientId: `debian-sensor-${process.pid}`, reconnectPeriod: 0 });
    await sensor.publishAsync('sensors/boiler', '61.5', { qos: 1, retain: true });
    await sensor.endAsync();
    await stopBroker(first.proc);
    expect(first.err()).not.toMatch(/Duplicate|Error saving in-memory database/);
    expect(existsSync(join(lib, 'mosquitto.db'))).toBe(true);
    await startBroker(b, main);
    expect(Object.fromEntries(await retained(b.url, b.daemon, 'sensors/#', 1))).toEqual({ 'sensors/boiler': '61.5' });

    // A --persistence-dir elsewhere would be a second persistence_location: refused with the reason, nothing written.
    const clash = spawnSync('bash', [join(ROOT, 'deploy/mosquitto/setup.sh'), '--dir', join(root, 'other'), '--mosquitto-conf', main, '--persistence-dir', join(root, 'elsewhere')], { encoding: 'utf8' });
    expect(clash.status).toBe(2);
    expect(clash.stderr).toContain(`${main} sets persistence_location ${lib}/, and mosquitto refuses a second one (Duplicate persistence_location value)`);
    // A conf that does not include DIR yet: the line to add is said.
    const apart = setup(['--mosquitto-conf', main], await freePort());
    expect(apart.stdout).toContain(`Include it from ${main}: echo 'include_dir ${apart.dir}' >> ${main}, then restart mosquitto.`);
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
