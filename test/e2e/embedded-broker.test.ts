/**
 * The real daemon (dist/main.js) on its embedded broker, with real mqtt.js clients (tryout 13):
 *   - a hub's retained QoS 0 reading followed at once by a plain one (ESPHome's retained states beside another
 *     device on the same connection) reaches the daemon, both of them, every time: aedes had dropped the retained
 *     one, counted and logged nowhere (src/adapters/broker.ts, keepPublishOrder);
 *   - Home Assistant discovery survives a restart on the embedded broker, whose retained store dies with the
 *     process: the restored streams' configs are published at start, the same as before, and Home Assistant's
 *     birth message (`homeassistant/status` `online`) brings them all again.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();

interface Counters {
  received: number;
  readings: number;
  rejected: number;
}

async function status(daemon: DaemonProcess): Promise<{ counters: Counters; broker: { publishes: { count: number } } | null }> {
  const http = daemon.logged('ready')[0].http as string;
  return (await (await fetch(`${http}/api/status`)).json()) as { counters: Counters; broker: { publishes: { count: number } } | null };
}

async function sensorsOf(daemon: DaemonProcess): Promise<string[]> {
  const http = daemon.logged('ready')[0].http as string;
  return ((await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string }[] }).sensors.map((s) => s.sensor);
}

const daemons: DaemonProcess[] = [];
const clients: MqttClient[] = [];
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  for (const d of daemons) await d.stop('SIGKILL');
});

async function client(daemon: DaemonProcess, name: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(daemon.logged('ready')[0].mqtt as string, { clientId: `${name}-${process.pid}`, reconnectPeriod: 0 });
  clients.push(c);
  return c;
}

describe.skipIf(!ready)('the daemon on its embedded broker', () => {
  it('ingests a retained QoS 0 reading followed at once by a plain one, both, every time', async () => {
    const daemon = new DaemonProcess({ broker: { port: 0 }, learning: { enabled: false }, store: { commitIntervalMs: 0 } });
    daemons.push(daemon);
    await daemon.start();
    const before = (await status(daemon)).counters;
    const hub = await client(daemon, 'hub');
    const ROUNDS = 10;
    for (let k = 0; k < ROUNDS; k++) {
      hub.publish('sensors/esp-garage', `${20 + (k % 3)}`, { qos: 0, retain: true });
      hub.publish('sensors/plug', `${30 + (k % 3)}`, { qos: 0 });
      await new Promise((r) => setImmediate(r));
    }
    // An end marker behind them: once the daemon has it, it has had everything published before it.
    await hub.publishAsync('sensors/end', '1', { qos: 1 });
    await waitFor(async () => (await sensorsOf(daemon)).includes('end'), 20_000, 'the end marker in the daemon');
    const after = await status(daemon);
    expect({ received: after.counters.received - before.received, readings: after.counters.readings - before.readings, rejected: after.counters.rejected - before.rejected }).toEqual({
      received: 2 * ROUNDS + 1,
      readings: 2 * ROUNDS + 1,
      rejected: 0,
    });
    expect(after.broker?.publishes.count).toBe(0);
    expect(await sensorsOf(daemon)).toEqual(expect.arrayContaining(['esp-garage', 'plug', 'end']));
  }, 60_000);

  it('publishes the restored streams\' discovery configs at start, the same as before the restart, and all of them again on Home Assistant\'s birth message', async () => {
    const daemon = new DaemonProcess({
      broker: { port: 0 },
      learning: { enabled: false },
      store: { commitIntervalMs: 0 },
      homeassistant: { discovery: 'on', nodeId: 'e2e_restart' },
    });
    daemons.push(daemon);
    await daemon.start();
    const CONFIGS = 'homeassistant/+/e2e_restart/#';
    const collect = async (name: string): Promise<{ c: MqttClient; seen: Map<string, string[]> }> => {
      const c = await client(daemon, name);
      const seen = new Map<string, string[]>();
      c.on('message', (topic, payload) => seen.set(topic, [...(seen.get(topic) ?? []), payload.toString()]));
      await c.subscribeAsync(CONFIGS, { qos: 1 });
      return { c, seen };
    };
    const first = await collect('ha-1');
    const dev = await client(daemon, 'dev');
    for (let i = 0; i < 5; i++) {
      await dev.publishAsync('sensors/boiler', `${60 + i}`, { qos: 1 });
      await dev.publishAsync('sensors/room', JSON.stringify({ temperature: 20 + i / 10, humidity: 50 + i }), { qos: 1 });
    }
    // Two streams of one device and one device's own value: two configs each.
    await waitFor(() => first.seen.size === 6, 20_000, 'the six discovery configs');
    const before = new Map([...first.seen].map(([t, p]) => [t, p[p.length - 1]]));
    for (const [t, p] of before) expect(JSON.parse(p), t).toMatchObject({ unique_id: expect.stringContaining('e2e_restart') as unknown });
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));

    expect(await daemon.stop('SIGTERM')).toBe(0);
    await daemon.start();
    // A new broker, with nothing retained but what the daemon published since its start.
    const again = await collect('ha-2');
    await waitFor(() => again.seen.size === 6, 20_000, 'the restored streams\' configs after the restart');
    expect(new Map([...again.seen].map(([t, p]) => [t, p[p.length - 1]]))).toEqual(before);

    // Home Assistant's birth message: each config comes once more.
    await again.c.publishAsync('homeassistant/status', 'online', { qos: 0 });
    await waitFor(() => [...again.seen.values()].every((p) => p.length === 2), 20_000, 'every config published again after the birth message');
    expect(new Map([...again.seen].map(([t, p]) => [t, p[1]]))).toEqual(before);
    expect((await status(daemon)).broker?.publishes.count).toBe(0);
    expect(daemon.logged('Home Assistant is online: discovery configs and states published again')).toHaveLength(1);
  }, 90_000);
});
