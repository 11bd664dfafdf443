/**
 * The Home Assistant discovery adapter over a real broker (the embedded aedes, and mosquitto), checked by
 * a plain MQTT client subscribed to homeassistant/#: configs retained once per stream, removal by empty
 * retained payloads, and score messages throttled per stream.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { EmbeddedBroker } from '../../src/adapters/broker.js';
import { ANNOUNCE_AFTER_READINGS, BIRTH_DELAY_MS, BIRTH_MIN_INTERVAL_MS, HaDiscovery } from '../../src/adapters/ha-discovery.js';
import { topics } from '../../src/contract/alerts.js';
import { objectIdOf } from '../../src/contract/ha-discovery.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

async function listen(url: string, filter: string): Promise<{ seen: Seen[]; client: MqttClient }> {
  const seen: Seen[] = [];
  const client = await mqtt.connectAsync(url, { clientId: `ha-listen-${process.pid}-${Math.random()}` });
  cleanups.push(() => client.endAsync());
  client.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { seen, client };
}

async function brokers(): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const aedes = new EmbeddedBroker({ host: '127.0.0.1', port: 0, roles: null, logger: pino({ level: 'silent' }) });
  await aedes.start();
  cleanups.push(() => aedes.stop());
  out.push(['aedes', aedes.url]);
  if (mosquittoAvailable()) {
    const mosq = new Mosquitto();
    await mosq.start();
    cleanups.push(() => mosq.stop());
    out.push(['mosquitto', mosq.url]);
  }
  return out;
}

async function discovery(url: string, now: () => number, scoreIntervalMs = 60_000): Promise<HaDiscovery> {
  const pub = await mqtt.connectAsync(url, { clientId: `ha-pub-${process.pid}-${Math.random()}` });
  cleanups.push(() => pub.endAsync());
  const d = new HaDiscovery({
    prefix: 'homeassistant',
    nodeId: 'node1',
    topics: topics('anomalyd'),
    version: '9.9.9',
    scoreIntervalMs,
    publish: async (topic, payload, opts) => {
      await pub.publishAsync(topic, payload, opts);
    },
    logger: pino({ level: 'silent' }),
    now,
  });
  d.start();
  cleanups.push(() => d.stop());
  return d;
}

describe('Home Assistant discovery adapter', () => {
  it('announces a stream once (retained) at its third reading or when told, removes it with empty retained configs', async () => {
    for (const [name, url] of await brokers()) {
      const d = await discovery(url, Date.now);
      // A stream gets its entities at its ANNOUNCE_AFTER_READINGS-th message with a reading (tryout 16, finding 5).
      for (let i = 1; i < ANNOUNCE_AFTER_READINGS; i++) d.streamSeen('plug/power', 'plug');
      expect(d.streams).toBe(0);
      d.streamSeen('plug/power', 'plug');
      d.streamSeen('plug/power', 'plug');
      expect(d.streams).toBe(1);
      d.announce('room', undefined);
      expect(d.streams).toBe(2);
      const { seen } = await listen(url, 'homeassistant/#');
      await waitFor(() => seen.length >= 4, 5_000, `${name}: 4 retained configs`);
      expect(seen.every((s) => s.retain), name).toBe(true);
      const object = objectIdOf('plug/power');
      expect(seen.map((s) => s.topic).sort()).toEqual(
        [`homeassistant/binary_sensor/node1/${object}/config`, `homeassistant/sensor/node1/${object}/config`, `homeassistant/binary_sensor/node1/${objectIdOf('room')}/config`, `homeassistant/sensor/node1/${objectIdOf('room')}/config`].sort(),
      );
      const power = JSON.parse(seen.find((s) => s.topic.startsWith('homeassistant/binary_sensor/node1/plug'))!.payload) as Record<string, unknown>;
      expect(power).toMatchObject({ name: 'power anomaly', state_topic: 'anomalyd/state/plug/power', device_class: 'problem', device: { name: 'anomalyd plug' } });
      const room = JSON.parse(seen.find((s) => s.topic.startsWith('homeassistant/sensor/node1/room'))!.payload) as Record<string, unknown>;
      expect(room).toMatchObject({ name: 'Anomaly score', state_topic: 'anomalyd/score/room', unique_id: `anomalyd_node1_${objectIdOf('room')}_score` });

      d.streamForgotten('plug/power');
      const after = await listen(url, 'homeassistant/#');
      await waitFor(() => after.seen.length >= 2, 5_000, `${name}: what is left retained`);
      await new Promise((r) => setTimeout(r, 200));
      // The forgotten stream's configs are gone from the broker; the other stream's stay.
      expect(after.seen.map((s) => s.topic).every((t) => t.includes('/room_'))).toBe(true);
    }
  }, 30_000);

  it('sends at most one score per stream per interval, the newest, and what was held back later', async () => {
    const [, url] = (await brokers())[0];
    let now = 1_000_000;
    const d = await discovery(url, () => now, 60_000);
    d.announce('a', undefined);
    d.announce('b', undefined);
    const { seen } = await listen(url, 'anomalyd/score/#');
    const ts = Date.UTC(2026, 10, 30);
    for (let i = 0; i < 100; i++) {
      d.score('a', i / 100, ts + i);
      d.score('b', 0.5, ts + i);
      now += 100; // 100 scores in 10 s
    }
    await waitFor(() => seen.length >= 2, 5_000, 'the first scores');
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((s) => s.topic).sort()).toEqual(['anomalyd/score/a', 'anomalyd/score/b']);
    expect(JSON.parse(seen[0].payload)).toEqual({ score: 0, ts: new Date(ts).toISOString(), in_episode: false });
    // A minute later the newest held-back score goes out on stop (or on the timer).
    now += 60_000;
    await d.stop();
    await waitFor(() => seen.length >= 4, 5_000, 'the held-back scores');
    expect(JSON.parse(seen.filter((s) => s.topic === 'anomalyd/score/a').at(-1)!.payload)).toMatchObject({ score: 0.99 });
  }, 30_000);
});

describe("Home Assistant's birth message", () => {
  it('publishes every announced stream\'s configs again once per birth, coalesced, at most once per BIRTH_MIN_INTERVAL_MS; offline is ignored', async () => {
    vi.useFakeTimers({ now: 1_764_000_000_000 });
    try {
      const sent: string[] = [];
      const d = new HaDiscovery({
        prefix: 'homeassistant',
        nodeId: 'n1',
        topics: topics('anomalyd'),
        version: 'test',
        scoreIntervalMs: 0,
        publish: (topic) => {
          sent.push(topic);
          return Promise.resolve();
        },
        logger: pino({ level: 'silent' }),
        now: () => Date.now(),
      });
      d.start();
      expect(d.birthTopic).toBe('homeassistant/status');
      d.announce('room/temperature', 'room');
      d.announce('boiler', undefined);
      const configs = [...sent];
      expect(configs).toHaveLength(4);
      sent.length = 0;
      d.homeAssistantStatus('offline');
      await vi.advanceTimersByTimeAsync(BIRTH_MIN_INTERVAL_MS * 2);
      expect(sent).toEqual([]);
      // Three births close together: one re-publication, BIRTH_DELAY_MS after the first.
      for (let i = 0; i < 3; i++) d.homeAssistantStatus('online');
      await vi.advanceTimersByTimeAsync(BIRTH_DELAY_MS - 1);
      expect(sent).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(sent).toEqual(configs);
      // Another birth at once is answered when BIRTH_MIN_INTERVAL_MS has passed since the last re-publication.
      sent.length = 0;
      d.homeAssistantStatus('online\n');
      await vi.advanceTimersByTimeAsync(BIRTH_MIN_INTERVAL_MS - 1);
      expect(sent).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(sent).toEqual(configs);
      // Stopped: a birth publishes nothing.
      sent.length = 0;
      await d.stop();
      d.homeAssistantStatus('online');
      await vi.advanceTimersByTimeAsync(BIRTH_MIN_INTERVAL_MS * 2);
      expect(sent).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('HaDiscovery: what a forgotten stream clears (tryout 18, finding 5)', () => {
  function recording(onBirth?: () => void, unscored?: (stream: string) => boolean): { d: HaDiscovery; sent: Array<{ topic: string; payload: string }> } {
    const sent: Array<{ topic: string; payload: string }> = [];
    const d = new HaDiscovery({
      prefix: 'homeassistant',
      nodeId: 'node1',
      topics: topics('anomalyd'),
      version: '9.9.9',
      scoreIntervalMs: 0,
      publish: (topic, payload) => {
        sent.push({ topic, payload });
        return Promise.resolve();
      },
      logger: pino({ level: 'silent' }),
      now: () => 1_000_000,
      ...(onBirth !== undefined ? { onBirth } : {}),
      ...(unscored !== undefined ? { unscored } : {}),
    });
    d.start();
    cleanups.push(() => d.stop());
    return { d, sent };
  }

  it('gives an on/off stream its problem entity only: its score config empty, no score message (tryout 40, finding 11)', () => {
    const { d, sent } = recording(undefined, (stream) => stream === 'bath_leak/water_leak');
    for (let k = 0; k < ANNOUNCE_AFTER_READINGS; k++) {
      d.streamSeen('bath_leak/water_leak', 'bath_leak');
      d.streamSeen('bath_leak/temperature', 'bath_leak');
    }
    d.score('bath_leak/water_leak', 0.5, 1_000_000);
    d.score('bath_leak/temperature', 0.5, 1_000_000);
    d.episodeChanged('bath_leak/water_leak');
    const config = (kind: string, stream: string): string => `homeassistant/${kind}/node1/${objectIdOf(stream)}/config`;
    expect(sent.filter((s) => s.topic === config('sensor', 'bath_leak/water_leak')).map((s) => s.payload)).toEqual(['']);
    expect(JSON.parse(sent.find((s) => s.topic === config('binary_sensor', 'bath_leak/water_leak'))!.payload)).toMatchObject({ device_class: 'problem' });
    expect(JSON.parse(sent.find((s) => s.topic === config('sensor', 'bath_leak/temperature'))!.payload)).toMatchObject({ state_class: 'measurement' });
    expect(sent.filter((s) => s.topic.startsWith('anomalyd/score/')).map((s) => s.topic)).toEqual(['anomalyd/score/bath_leak/temperature']);
    // Published again (Home Assistant's birth, a reconnection): still empty.
    d.republish();
    expect(sent.filter((s) => s.topic === config('sensor', 'bath_leak/water_leak')).map((s) => s.payload)).toEqual(['', '']);
  });

  it('clears only what was announced: a junk stream that never became entities gets no empty configs at its eviction', () => {
    const { d, sent } = recording();
    // 1,000 one-message topics (a junk publisher's new topic per message), then their eviction.
    for (let i = 0; i < 1000; i++) d.streamSeen(`uniq${i}`, undefined);
    for (let i = 0; i < 1000; i++) d.streamForgotten(`uniq${i}`);
    expect(sent).toEqual([]);
    // A stream with entities has them removed (its two configs and its retained score emptied).
    for (let k = 0; k < ANNOUNCE_AFTER_READINGS; k++) d.streamSeen('kitchen', undefined);
    expect(sent.filter((s) => s.payload !== '')).toHaveLength(2);
    d.streamForgotten('kitchen');
    expect(sent.filter((s) => s.payload === '').map((s) => s.topic)).toEqual([
      `homeassistant/binary_sensor/node1/${objectIdOf('kitchen')}/config`,
      `homeassistant/sensor/node1/${objectIdOf('kitchen')}/config`,
      'anomalyd/score/kitchen',
    ]);
  });

  it('clears a stream restored at start that was not announced in this run (its configs may be an earlier run’s)', () => {
    const { d, sent } = recording();
    d.restored(['old']);
    d.streamForgotten('old');
    expect(sent.map((s) => [s.topic, s.payload])).toEqual([
      [`homeassistant/binary_sensor/node1/${objectIdOf('old')}/config`, ''],
      [`homeassistant/sensor/node1/${objectIdOf('old')}/config`, ''],
      ['anomalyd/score/old', ''],
    ]);
    // Once: forgotten again later (revived, then evicted again without entities), nothing more.
    d.streamForgotten('old');
    expect(sent).toHaveLength(3);
  });

  it('Home Assistant\'s birth publishes the configs again and asks for the retained states too (onBirth; tryout 18, finding 6)', () => {
    vi.useFakeTimers();
    try {
      let births = 0;
      const { d, sent } = recording(() => births++);
      d.announce('kitchen', undefined);
      expect(sent).toHaveLength(2);
      d.homeAssistantStatus('online');
      vi.advanceTimersByTime(BIRTH_DELAY_MS);
      expect(sent).toHaveLength(4);
      expect(births).toBe(1);
      // A reconnection without a session: the configs again (the daemon publishes the states itself).
      expect(d.republish()).toBe(1);
      expect(sent).toHaveLength(6);
    } finally {
      vi.useRealTimers();
    }
  });
});
