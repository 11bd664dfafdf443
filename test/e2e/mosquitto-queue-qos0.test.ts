/**
 * Readings published while anomalyd is away (restart, upgrade) reach it afterwards only if mosquitto keeps
 * them for its persistent session. Most hubs publish at QoS 0 (Tasmota always, zigbee2mqtt and ESPHome by
 * default), and mosquitto drops QoS 0 messages for a disconnected client unless `queue_qos0_messages` is
 * true; deploy/mosquitto/setup.sh writes that with `--queue-qos0` (docs/DEPLOY.md, "Readings while anomalyd
 * is away"). Real mosquitto, the listener, password file and ACL setup.sh writes, and mqtt.js clients with
 * its logins: the daemon's login as a persistent session (clean: false, QoS 1 subscription), the sensors'
 * login as a hub. A QoS 1 reading published after the QoS 0 one marks the end of what the broker kept
 * (mosquitto delivers a session's queue in order), so no test waits on a clock.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { canConnect } from '../../src/util/net.js';
import { ROOT } from '../helpers/daemon.js';
import { mosquittoAvailable, setupCredentials } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';

interface Broker {
  proc: ChildProcess;
  url: string;
  daemon: IClientOptions;
  sensor: IClientOptions;
  conf: string;
}

const running: ChildProcess[] = [];

async function brokerFromSetup(extra: string[]): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-q0-'));
  const port = await freePort();
  const out = spawnSync('bash', [join(ROOT, 'deploy/mosquitto/setup.sh'), '--dir', dir, '--port', String(port), '--bind', '127.0.0.1', ...extra], { encoding: 'utf8' });
  expect(out.status, out.stderr).toBe(0);
  const creds = setupCredentials(dir);
  // mosquitto started as root drops to its own user, which must read the files and write its persistence file.
  chmodSync(dir, 0o755);
  const proc = spawn('mosquitto', ['-c', join(dir, 'anomalyd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.push(proc);
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${err}`);
      return canConnect(port);
    },
    10_000,
    'mosquitto',
  );
  return {
    proc,
    url: `mqtt://127.0.0.1:${port}`,
    daemon: { username: creds.ANOMALYD_MQTT_USERNAME, password: creds.ANOMALYD_MQTT_PASSWORD },
    sensor: { username: creds.SENSOR_USERNAME, password: creds.SENSOR_PASSWORD },
    conf: readFileSync(join(dir, 'anomalyd.conf'), 'utf8'),
  };
}

async function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, ...opts });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** What the daemon's persistent session receives after being away while a hub sent `t0` (QoS 0) then `t1` (QoS 1). */
async function keptWhileAway(b: Broker): Promise<string[]> {
  const session: IClientOptions = { ...b.daemon, clientId: 'anomalyd-q0-test', clean: false };
  const first = await connect(b.url, session);
  await first.subscribeAsync('sensors/#', { qos: 1 });
  await first.endAsync();

  const hub = await connect(b.url, { ...b.sensor, clientId: 'hub-q0-test' });
  await hub.publishAsync('sensors/room/temperature', '21.5', { qos: 0 });
  await hub.publishAsync('sensors/room/temperature', '21.6', { qos: 1 });
  await hub.endAsync();

  const got: string[] = [];
  const again = mqtt.connect(b.url, { reconnectPeriod: 0, ...session });
  again.on('message', (_topic, payload) => got.push(payload.toString()));
  await waitFor(() => got.includes('21.6'), 10_000, 'the QoS 1 reading kept for the session');
  await again.endAsync();
  return got;
}

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.exitCode !== null) continue;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
});

describe.skipIf(!mosquittoAvailable())('mosquitto set up by deploy/mosquitto/setup.sh: readings kept while anomalyd is away', () => {
  it('by default keeps only QoS 1 readings: a QoS 0 hub reading sent while the session was away is lost', async () => {
    const b = await brokerFromSetup([]);
    expect(b.conf).toMatch(/^queue_qos0_messages false$/m);
    expect(await keptWhileAway(b)).toEqual(['21.6']);
  }, 30_000);

  it('with --queue-qos0 keeps the QoS 0 reading too, in order', async () => {
    const b = await brokerFromSetup(['--queue-qos0']);
    expect(b.conf).toMatch(/^queue_qos0_messages true$/m);
    expect(await keptWhileAway(b)).toEqual(['21.5', '21.6']);
  }, 30_000);
});
