/**
 * The embedded broker with its roles on, against real mqtt.js clients: a refused publish is acknowledged
 * and dropped (never delivered, retained or queued) and the client stays connected, so a hub that publishes
 * one topic it may not does not reconnect in a loop; a hub's own topics are open to the sensor login, its
 * command topics are not.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../src/adapters/broker.js';
import type { BrokerRolesOptions } from '../../src/adapters/broker-roles.js';
import { PRESETS } from '../../src/config/presets.js';
import { waitFor } from '../helpers/net.js';

const DAEMON = { username: 'anomalyd-daemon', password: 'd'.repeat(48), clientId: 'anomalyd-test' };
const SENSOR = { username: 'sensor', password: 's'.repeat(20) };
const roles: BrokerRolesOptions = {
  daemon: DAEMON,
  sensor: SENSOR,
  operator: null,
  sensorTopics: ['sensors/#'],
  prefix: 'anomalyd',
  hubs: [{ hub: 'zigbee2mqtt', publish: PRESETS.zigbee2mqtt.hub.publish, commands: PRESETS.zigbee2mqtt.hub.commands }],
};

let broker: EmbeddedBroker;
let logged: { msg: string; reason?: string; topic?: string; count?: number; topics?: number; someTopics?: string[]; byReason?: Record<string, number> }[];
const clients: MqttClient[] = [];

beforeEach(async () => {
  logged = [];
  const stream = { write: (line: string) => logged.push(JSON.parse(line) as { msg: string }) };
  broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, roles, logger: pino({ level: 'info' }, stream) });
  await broker.start();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await broker.stop();
});

async function connect(name: string, opts: IClientOptions): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, { clientId: `${name}-${process.pid}`, reconnectPeriod: 0, ...opts });
  clients.push(c);
  return c;
}

/** Every message the daemon's login sees (it receives everything). */
async function watch(): Promise<{ topic: string; payload: string; retain: boolean }[]> {
  const seen: { topic: string; payload: string; retain: boolean }[] = [];
  const w = await connect('watch', DAEMON);
  w.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await w.subscribeAsync('#', { qos: 1 });
  return seen;
}

/** Publishes and waits for the broker's acknowledgement; fails at once if the broker closes the connection instead. */
function publishOrClose(c: MqttClient, topic: string, payload: string, opts: { qos: 0 | 1 | 2; retain?: boolean }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const closed = (): void => reject(new Error(`the broker closed the connection after a publish on ${topic}`));
    c.once('close', closed);
    c.publishAsync(topic, payload, opts).then(
      () => {
        c.off('close', closed);
        resolve();
      },
      (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

describe('EmbeddedBroker: a refused publish', () => {
  it('is acknowledged at every QoS and dropped; the client stays connected and its next reading gets through', async () => {
    const seen = await watch();
    const sensor = await connect('sensor', SENSOR);
    const closes: number[] = [];
    sensor.on('close', () => closes.push(Date.now()));
    await publishOrClose(sensor, 'elsewhere/x', 'q0', { qos: 0 });
    await publishOrClose(sensor, 'elsewhere/x', 'q1', { qos: 1, retain: true });
    await publishOrClose(sensor, 'elsewhere/x', 'q2', { qos: 2, retain: true });
    await publishOrClose(sensor, 'anomalyd/status', 'offline', { qos: 1, retain: true });
    await publishOrClose(sensor, 'sensors/pump1', '21.5', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'sensors/pump1'), 5000, 'the reading');
    expect(closes).toEqual([]);
    expect(sensor.connected).toBe(true);
    expect(seen.map((m) => m.topic).filter((t) => t !== 'sensors/pump1' && !t.startsWith('$'))).toEqual([]);

    // Nothing was retained: a fresh subscriber gets no message on them.
    const fresh = await connect('fresh', DAEMON);
    const retained: string[] = [];
    fresh.on('message', (topic) => retained.push(topic));
    await fresh.subscribeAsync(['elsewhere/#', 'anomalyd/#'], { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(retained).toEqual([]);

    // Logged at once with the reason, then summed up (one line per kind per interval).
    const refusals = logged.filter((l) => l.msg.startsWith('embedded broker: publish refused'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ topic: 'elsewhere/x', reason: expect.stringContaining('ingest.topics') as unknown });
  });

  it('is summed up with how many distinct topics were refused and a few of them: 20 devices on a wrong prefix show their scale', async () => {
    const sensor = await connect('many', SENSOR);
    for (let round = 0; round < 2; round++) {
      for (let d = 0; d < 20; d++) await publishOrClose(sensor, `sensor/dev${d}`, '1', { qos: 1 });
    }
    await broker.stop(); // says what the interval held, as the periodic line would
    const lines = logged.filter((l) => l.msg.startsWith('embedded broker: publish refused'));
    // The first at once (one topic); then the other 39, from 20 topics, the first three named.
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ count: 39, topics: 20, someTopics: ['sensor/dev1', 'sensor/dev2', 'sensor/dev3'] });
    expect(lines[1].msg).toBe('embedded broker: publish refused (39 since the last line, from 20 topics: sensor/dev1, sensor/dev2, sensor/dev3, …)');
    // One reason for all of them: said once, and counted.
    const why = "sensors publish only on ingest.topics and the own topics of the hubs in ingest.presets (zigbee2mqtt)";
    expect(lines[1]).toMatchObject({ reason: why, byReason: { [why]: 39 } });
  });

  it('is summed up with the reasons of all it covers, not one refusal\'s topic and reason (tryout 10: a wrong prefix and the daemon\'s prefix in one line)', async () => {
    const sensor = await connect('mixed', SENSOR);
    for (const t of ['sensor/typo1', 'sensor/typo2', 'sensor/typo3', 'anomalyd/alerts/fake']) await publishOrClose(sensor, t, '1', { qos: 1 });
    await broker.stop(); // says what the interval held, as the periodic line would
    const lines = logged.filter((l) => l.msg.startsWith('embedded broker: publish refused'));
    expect(lines).toHaveLength(2);
    // The first at once, with its own topic and reason.
    const wrongPrefix = "sensors publish only on ingest.topics and the own topics of the hubs in ingest.presets (zigbee2mqtt)";
    expect(lines[0]).toMatchObject({ topic: 'sensor/typo1', reason: wrongPrefix });
    // The summary: what holds for all three it covers, the count of each reason; no one refusal's topic or reason.
    expect(lines[1]).toMatchObject({ count: 3, topics: 3, someTopics: ['sensor/typo2', 'sensor/typo3', 'anomalyd/alerts/fake'], byReason: { [wrongPrefix]: 2, 'only the daemon publishes under anomalyd/': 1 } });
    expect(lines[1]).not.toHaveProperty('topic');
    expect(lines[1]).not.toHaveProperty('reason');
    expect(lines[1].msg).toBe(`embedded broker: publish refused (3 since the last line, from 3 topics: sensor/typo2, sensor/typo3, anomalyd/alerts/fake; 2 × ${wrongPrefix}; 1 × only the daemon publishes under anomalyd/)`);
  });

  it('is summed up one interval after the first line, by a timer the broker arms and stops with it (tryout 9: the summary came 1 min 44 s after the first line), and counted for the status', async () => {
    // A fake clock and timer: the test says when time passes (no waiting); the broker, its clients and aedes are real.
    let clock = Date.UTC(2026, 11, 1, 13, 1, 9);
    const pending: { at: number; fn: () => void; live: boolean }[] = [];
    const timers = {
      now: () => clock,
      schedule: (fn: () => void, ms: number) => {
        const t = { at: clock + ms, fn, live: true };
        pending.push(t);
        return t;
      },
      cancel: (h: unknown) => {
        (h as { live: boolean }).live = false;
      },
    };
    /** Moves the clock to `to`, firing the timers due by then in order. */
    const advance = (to: number): void => {
      for (;;) {
        const due = pending.filter((t) => t.live && t.at <= to).sort((x, y) => x.at - y.at)[0];
        if (due === undefined) break;
        due.live = false;
        clock = due.at;
        due.fn();
      }
      clock = to;
    };
    await broker.stop();
    logged = [];
    broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, roles, logger: pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line) as { msg: string }) }), denialLogIntervalMs: 60_000, timers });
    await broker.start();
    const lines = (): typeof logged => logged.filter((l) => l.msg.startsWith('embedded broker: publish refused'));
    const first = clock;
    const sensor = await connect('wrong-prefix', SENSOR);
    // The tryout's three rounds over five topics (tele/x/STATE is a Tasmota hub's, allowed only with the preset).
    for (let round = 0; round < 3; round++) {
      for (const t of ['sensor/a', 'sensor/b', 'sensor/c', 'mysensors/d']) {
        await publishOrClose(sensor, t, '1.5', { qos: 1 });
        clock += 1000;
      }
    }
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ topic: 'sensor/a' });
    // Just short of a minute after the first line: nothing more yet; at the minute, the summary.
    advance(first + 59_999);
    expect(lines()).toHaveLength(1);
    advance(first + 60_000);
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toMatchObject({ count: 11, topics: 4, someTopics: ['sensor/b', 'sensor/c', 'mysensors/d'] });
    // Refused again 10 s after the summary: summed up a minute after the summary, not before.
    clock = first + 70_000;
    await publishOrClose(sensor, 'sensor/e', '1', { qos: 1 });
    advance(first + 119_999);
    expect(lines()).toHaveLength(2);
    advance(first + 120_000);
    expect(lines()).toHaveLength(3);
    expect(lines()[2]).toMatchObject({ count: 1, topics: 1, someTopics: ['sensor/e'] });
    // Quiet for more than a minute: the next refusal is logged at once, with its reason.
    clock = first + 300_000;
    await publishOrClose(sensor, 'sensor/f', '1', { qos: 1 });
    expect(lines()).toHaveLength(4);
    expect(lines()[3]).toMatchObject({ topic: 'sensor/f', reason: expect.stringContaining('ingest.topics') as unknown });
    // Everything refused since start, for `anomalyd status`.
    const r = broker.refusals()!;
    expect(r.publishes).toMatchObject({ count: 14, topics: 6, moreTopics: false, someTopics: ['sensor/a', 'sensor/b', 'sensor/c', 'mysensors/d', 'sensor/e', 'sensor/f'] });
    expect(r.publishes.last).toMatchObject({ at: first + 300_000, topic: 'sensor/f', reason: expect.stringContaining('ingest.topics') as unknown });
    expect(r.logins).toMatchObject({ count: 0, clients: 0, last: null });
    // Stopped with the broker: no timer left armed.
    await broker.stop();
    expect(pending.filter((t) => t.live)).toEqual([]);
    expect(broker.refusals()!.publishes.count).toBe(14);
  });

  it('is dropped when it is a last will', async () => {
    const seen = await watch();
    const sensor = await connect('willing', { ...SENSOR, will: { topic: 'anomalyd/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
    const cheat = await connect('willing-ok', { ...SENSOR, will: { topic: 'sensors/will', payload: Buffer.from('1'), qos: 1, retain: false } });
    // Gone without a DISCONNECT: the broker publishes the wills.
    sensor.stream.destroy();
    cheat.stream.destroy();
    await waitFor(() => seen.some((m) => m.topic === 'sensors/will'), 5000, 'the permitted will');
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.filter((m) => m.topic === 'anomalyd/status')).toEqual([]);
  });
});

describe('EmbeddedBroker: a hub on the sensor login', () => {
  it("publishes its retained bridge state and its devices' readings, never a command", async () => {
    const seen = await watch();
    const hub = await connect('zigbee2mqtt', { ...SENSOR, will: { topic: 'zigbee2mqtt/bridge/state', payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true } });
    await hub.subscribeAsync(['zigbee2mqtt/+/set', 'zigbee2mqtt/bridge/request/#'], { qos: 1 });
    const commands: string[] = [];
    hub.on('message', (topic) => commands.push(topic));
    await publishOrClose(hub, 'zigbee2mqtt/bridge/state', '{"state":"online"}', { qos: 1, retain: true });
    await publishOrClose(hub, 'zigbee2mqtt/bridge/info', '{"version":"2.0.0"}', { qos: 1, retain: true });
    await publishOrClose(hub, 'zigbee2mqtt/hall_sensor', '{"temperature":21.5}', { qos: 1 });
    // The sensor login cannot command a device, not even from the hub's own connection.
    const other = await connect('mallory', SENSOR);
    for (const topic of ['zigbee2mqtt/lamp/set', 'zigbee2mqtt/floor1/lamp/set/brightness', 'zigbee2mqtt/lamp/get', 'zigbee2mqtt/bridge/request/permit_join']) {
      await publishOrClose(other, topic, '{"state":"OFF"}', { qos: 1 });
    }
    await waitFor(() => seen.some((m) => m.topic === 'zigbee2mqtt/hall_sensor'), 5000, 'the reading');
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.map((m) => m.topic)).toEqual(['zigbee2mqtt/bridge/state', 'zigbee2mqtt/bridge/info', 'zigbee2mqtt/hall_sensor']);
    expect(commands).toEqual([]);
    expect(logged.filter((l) => l.msg.startsWith('embedded broker: publish refused'))[0]).toMatchObject({ reason: expect.stringContaining('a command to zigbee2mqtt') as unknown });

    // Its retained state is there for whoever subscribes later (Home Assistant, the operator).
    const fresh = await connect('fresh', DAEMON);
    const retained: string[] = [];
    fresh.on('message', (topic, payload) => retained.push(`${topic} ${payload.toString()}`));
    await fresh.subscribeAsync('zigbee2mqtt/bridge/state', { qos: 1 });
    await waitFor(() => retained.length === 1, 5000, 'the retained bridge state');
    expect(retained).toEqual(['zigbee2mqtt/bridge/state {"state":"online"}']);
  });
});

describe('EmbeddedBroker: every publish is delivered, in the order it was published (tryout 13)', () => {
  /**
   * One client (a hub) publishes a retained reading and a plain one in the same tick, as ESPHome (retained QoS 0
   * states) beside any other device on the same connection does. A QoS 1 end marker follows; the subscriber
   * counts what came before it. On aedes alone the retained one was never forwarded live: storing it made it
   * overtake-able, the plain one went out first, and aedes' per-client dedupe took the retained one (a lower
   * broker counter) for a copy already sent (moscajs/aedes#955, #994).
   */
  async function sameTick(pub: MqttClient, topics: string[], opts: { qos: 0 | 1; retain: boolean }[], rounds: number): Promise<{ topic: string; payload: string }[]> {
    const sub = await connect('sub', DAEMON);
    const seen: { topic: string; payload: string }[] = [];
    sub.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    // Overlapping filters: aedes' dedupe is what keeps one copy per client; it must still do so.
    await sub.subscribeAsync(['sensors/+', 'sensors/#'], { qos: 1 });
    for (let k = 0; k < rounds; k++) {
      // No await between them: one socket write, one read on the broker.
      for (let i = 0; i < topics.length; i++) pub.publish(topics[i], `${k}`, opts[i]);
      await new Promise((r) => setImmediate(r));
    }
    await pub.publishAsync('sensors/end', 'end', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'sensors/end'), 10_000, 'the end marker');
    return seen.filter((m) => m.topic !== 'sensors/end');
  }

  it('delivers a retained QoS 0 publish followed at once by a plain one, both, in order, once each', async () => {
    const pub = await connect('hub', SENSOR);
    const seen = await sameTick(pub, ['sensors/a', 'sensors/b'], [{ qos: 0, retain: true }, { qos: 0, retain: false }], 10);
    const count = (t: string): number => seen.filter((m) => m.topic === t).length;
    expect({ a: count('sensors/a'), b: count('sensors/b') }).toEqual({ a: 10, b: 10 });
    expect(seen.map((m) => `${m.topic} ${m.payload}`)).toEqual(Array.from({ length: 10 }, (_, k) => [`sensors/a ${k}`, `sensors/b ${k}`]).flat());
  });

  it('delivers a QoS 1 publish followed at once by a QoS 0 one, and three retained ones then a plain one: all, once each, in order per topic', async () => {
    // Across topics of different QoS the order may differ (aedes acknowledges a QoS 1 publish before it
    // publishes it; MQTT orders a topic's messages only): what is checked is each topic's sequence.
    const perTopic = (seen: { topic: string; payload: string }[], topics: string[]): Record<string, string[]> =>
      Object.fromEntries(topics.map((t) => [t, seen.filter((m) => m.topic === t).map((m) => m.payload)]));
    const upTo = (n: number): string[] => Array.from({ length: n }, (_, k) => `${k}`);
    const pub = await connect('hub', SENSOR);
    const seen = await sameTick(pub, ['sensors/q1', 'sensors/q0'], [{ qos: 1, retain: false }, { qos: 0, retain: false }], 10);
    expect(seen).toHaveLength(20);
    expect(perTopic(seen, ['sensors/q1', 'sensors/q0'])).toEqual({ 'sensors/q1': upTo(10), 'sensors/q0': upTo(10) });
    const pub2 = await connect('hub2', SENSOR);
    const topics = ['sensors/r1', 'sensors/r2', 'sensors/r3', 'sensors/p'];
    const seen2 = await sameTick(pub2, topics, [{ qos: 0, retain: true }, { qos: 1, retain: true }, { qos: 0, retain: true }, { qos: 0, retain: false }], 5);
    expect(seen2).toHaveLength(20);
    expect(perTopic(seen2, topics)).toEqual(Object.fromEntries(topics.map((t) => [t, upTo(5)])));
  });

  it('does the same without roles', async () => {
    await broker.stop();
    broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, roles: null, logger: pino({ level: 'silent' }) });
    await broker.start();
    const pub = await connect('hub', {});
    const seen = await sameTick(pub, ['sensors/a', 'sensors/b'], [{ qos: 0, retain: true }, { qos: 0, retain: false }], 10);
    expect(seen.map((m) => `${m.topic} ${m.payload}`)).toEqual(Array.from({ length: 10 }, (_, k) => [`sensors/a ${k}`, `sensors/b ${k}`]).flat());
  });
});
