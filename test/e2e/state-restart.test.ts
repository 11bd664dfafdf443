/**
 * Tryout 12, finding 4: the retained `<prefix>/state/<sensor>` flapped at every restart. A sensor `stale` before
 * the stop was published `ok` (or `anomalous`) right after the start, as if its last reading had come then, and
 * `stale` again staleAfter intervals later: a Home Assistant binary sensor went problem → clear → problem. After a
 * restart each sensor's state is what it was: a stale one stays stale, a live one stays ok (the daemon's downtime
 * is not the sensor's silence). The daemon in-process with the embedded broker, a real MQTT subscriber to
 * `anomalyd/state/#` across the restart, a real SQLite file, an injected wall clock (virtual time: the clock is
 * moved on, and the states are what the daemon publishes for it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { SensorStatePayload } from '../../src/contract/alerts.js';
import { Daemon } from '../../src/daemon.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
const MIN = 60 * SEC;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface State {
  readonly sensor: string;
  readonly state: SensorStatePayload;
}

/** The daemon on `dataDir` with the clock `clock`, started; every retained state it publishes appended to `states`. */
async function started(dataDir: string, clock: () => number, states: State[], run: number): Promise<{ daemon: Daemon; pub: mqtt.MqttClient }> {
  const loaded = loadConfig({
    path: '/dev/null',
    env: {},
    overrides: { dataDir, broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false } },
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const daemon = new Daemon({ config: loaded.config, logger: pino({ level: 'silent' }), now: clock, arrivalNow: clock });
  cleanups.push(() => daemon.stop());
  await daemon.start();
  const sub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `state-restart-sub-${process.pid}-${run}` });
  cleanups.push(() => sub.endAsync());
  sub.on('message', (topic, payload) => {
    if (payload.length > 0) states.push({ sensor: topic.split('/').at(-1)!, state: JSON.parse(payload.toString('utf8')) as SensorStatePayload });
  });
  await sub.subscribeAsync('anomalyd/state/#', { qos: 1 });
  const pub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `state-restart-pub-${process.pid}-${run}` });
  cleanups.push(() => pub.endAsync());
  return { daemon, pub };
}

describe.skipIf(!builtAndModelsPresent())('retained sensor state across a restart', () => {
  it('a stale sensor stays stale and a live one stays ok: no flap at the start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-state-restart-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const before: State[] = [];
    let { daemon, pub } = await started(dataDir, clock, before, 1);

    // dead and live: 10 min of a noisy 1 Hz temperature each, ending now.
    const rnd = lcg(7);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const N = 600;
    const value = (): number => Math.round((21 + 0.3 * gauss()) * 100) / 100;
    for (const sensor of ['dead', 'live']) {
      for (let i = 0; i < N; i += 200) {
        const values = Array.from({ length: 200 }, value);
        await pub.publishAsync(`sensors/${sensor}`, JSON.stringify({ values, ts: now - (N - 1 - i) * SEC, interval_ms: SEC }), { qos: 1 });
      }
    }
    await waitFor(() => daemon.counters.scored >= 2 * N, 60_000, 'every reading scored');
    // 15 s on: live reads every second (each arrival at its time), dead does not (stale after 10 of its intervals).
    let scored = daemon.counters.scored;
    for (let k = 0; k < 15; k++) {
      now += SEC;
      await pub.publishAsync('sensors/live', JSON.stringify({ ts: now, value: value() }), { qos: 1 });
      await waitFor(() => daemon.counters.scored > scored, 10_000, 'the live reading scored');
      scored = daemon.counters.scored;
    }
    await waitFor(() => before.some((s) => s.sensor === 'dead' && s.state.status === 'stale'), 10_000, 'dead stale before the stop');
    expect(before.filter((s) => s.sensor === 'live').at(-1)?.state.status).toBe('ok');

    // A clean stop, 5 minutes down, a start on the same data directory.
    await daemon.stop();
    now += 5 * MIN;
    const after: State[] = [];
    ({ daemon, pub } = await started(dataDir, clock, after, 2));
    // live's readings of the downtime come at once (as a broker that kept them delivers them), then its next one;
    // the retained states the start published, and what follows, in order.
    const missed = Array.from({ length: 300 }, value);
    await pub.publishAsync('sensors/live', JSON.stringify({ values: missed, ts: now - 299 * SEC, interval_ms: SEC }), { qos: 1 });
    now += SEC;
    await pub.publishAsync('sensors/live', JSON.stringify({ ts: now, value: value() }), { qos: 1 });
    await waitFor(() => after.some((s) => s.sensor === 'dead') && after.some((s) => s.sensor === 'live'), 10_000, 'both states after the start');
    daemon.judgeSilences();
    await waitFor(() => daemon.counters.scored >= 301, 10_000, 'the live reading after the start scored');
    expect(after.filter((s) => s.sensor === 'dead').map((s) => s.state.status)).toEqual(['stale']);
    expect(new Set(after.filter((s) => s.sensor === 'live').map((s) => s.state.status))).toEqual(new Set(['ok']));
    // Stale since its newest reading, as before the stop.
    const deadBefore = before.filter((s) => s.sensor === 'dead').at(-1)!.state;
    expect(after.find((s) => s.sensor === 'dead')!.state.since).toBe(deadBefore.since);
  }, 120_000);
});
