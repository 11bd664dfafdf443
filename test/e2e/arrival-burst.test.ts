/**
 * Tryout 28, finding 5, end to end: a zigbee2mqtt plug (no time in its payloads: stamped on arrival) cycling 60 W for
 * 10 s every 40 s; the broker stops for 19 s; the hub (mqtt.js, which queues QoS 0 and 1 messages while offline by
 * default, as zigbee2mqtt does) sends its queue at the reconnect, and the daemon gets its readings a few ms apart.
 * Those readings have no true times: the plug behaving as usual is no alert; a value the plug never takes inside such
 * a burst is still told (src/pipeline/detector.ts, arrival-stamped bursts; docs/SCORING.md).
 *
 * The daemon in-process on a real mosquitto (stopped and started again; persistence keeps the daemon's session), a
 * real MQTT publisher, the shipped configuration and model, a real SQLite file and an injected arrival clock: live
 * messages arrive 1 s apart (± 30 ms), the burst at the reconnect 8 ms apart, so no assertion depends on real timing.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import { mulberry32 } from '../../src/train/rng.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir } from '../helpers/in-process.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
/** The burst at the reconnect: one message every this many ms of the arrival clock. */
const BURST_MS = 8;
const TOPIC = 'zigbee2mqtt/plug1';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent() || !mosquittoAvailable())('a hub’s queue flushed at a broker’s restart, stamped on arrival (tryout 28, finding 5)', () => {
  it('a duty-cycle plug behaving as usual through two outages is no alert; a value it never takes inside the second burst is told', async () => {
    const broker = new Mosquitto();
    cleanups.push(() => broker.stop());
    await broker.start();
    const dataDir = tempDataDir('anomalyd-arrival-burst-', cleanups);

    // The arrival clock: the planned times while live; during a burst, BURST_MS after the previous stamp at each call.
    let now = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    const planned: number[] = [];
    let bursting = false;
    const arrival = (): number => {
      const t = planned.shift();
      if (t !== undefined) now = t;
      else if (bursting) now += BURST_MS;
      return now;
    };
    const alerts: AlertPayload[] = [];
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'arrival-burst-sub', clean: false, reconnectPeriod: 200 });
    cleanups.push(() => sub.endAsync());
    sub.on('message', (_topic, payload) => alerts.push(JSON.parse(payload.toString('utf8')) as AlertPayload));
    await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
    // The hub: queues while offline (mqtt.js's default), reconnects on its own.
    const hub = await mqtt.connectAsync(broker.url, { clientId: 'arrival-burst-hub', clean: true, reconnectPeriod: 200 });
    cleanups.push(() => hub.endAsync());
    const { daemon } = await inProcessDaemon({
      dataDir,
      brokerUrl: broker.url,
      overrides: { mqtt: { url: broker.url, clientId: 'arrival-burst-anomalyd', clean: false, qos: 1 }, ingest: { presets: ['zigbee2mqtt'] }, http: { enabled: false } },
      clock: () => now,
      arrival,
      cleanups,
    });

    const rnd = mulberry32(28);
    let k = 0;
    /** The plug's next reading: 60 ± 2 W for the first 10 s of every 40, else 0.5 W (`value`: instead). */
    const payload = (value?: number): string => {
      const on = k++ % 40 < 10;
      const power = value ?? (on ? Math.round((60 + (rnd() * 2 - 1) * 2) * 10) / 10 : 0.5);
      return JSON.stringify({ power });
    };
    let scored = 0;
    const scoredNow = (d: Daemon): number => d.counters.scored;
    /** `n` live readings, 1 s (± 30 ms) apart on the arrival clock; waits until the daemon has scored them. */
    const live = async (n: number): Promise<void> => {
      const from = now;
      for (let i = 1; i <= n; i++) planned.push(from + i * SEC + Math.round((rnd() * 2 - 1) * 30));
      for (let i = 0; i < n; i++) await hub.publishAsync(TOPIC, payload(), { qos: 1 });
      scored += n;
      await waitFor(() => scoredNow(daemon) >= scored, 120_000, `${scored} readings scored`);
    };
    /** The broker stops; the hub queues `down` readings (`odd`: the i-th is that value); the broker starts again. */
    const outage = async (down: number, odd?: { at: number; value: number }): Promise<void> => {
      await waitFor(() => planned.length === 0, 10_000, 'the live readings taken');
      await broker.stop();
      await waitFor(() => !hub.connected, 10_000, 'the hub offline');
      const queued: Promise<unknown>[] = [];
      for (let i = 0; i < down; i++) queued.push(hub.publishAsync(TOPIC, payload(odd !== undefined && i === odd.at ? odd.value : undefined), { qos: 1 }));
      now += down * SEC;
      bursting = true;
      await broker.start();
      await Promise.all(queued);
      scored += down;
      await waitFor(() => scoredNow(daemon) >= scored, 60_000, 'the burst scored');
      bursting = false;
    };

    // 20 minutes of the plug (its cycle learnt), the first outage within its on phase, 5 minutes after.
    await live(1205);
    await outage(19);
    await live(300);
    // The counter is brought up to date by the housekeeping tick (Daemon.logBackfills), not at each reading.
    await waitFor(() => daemon.counters.arrivalBurst >= 15, 30_000, 'counters.arrivalBurst brought up to date');
    expect(daemon.database!.listAnomalies({ limit: 50 }).map((e) => `${e.sensor} ${e.kind} ${e.explanation?.sentence ?? ''}`)).toEqual([]);

    // A second outage; a reading of 900 W (a value the plug never takes) is among those queued.
    await live(13);
    await outage(19, { at: 6, value: 900 });
    await live(60);
    const episodes = daemon.database!.listAnomalies({ limit: 50 });
    expect(episodes.map((e) => e.explanation?.value)).toContain(900);
    await waitFor(() => alerts.some((a) => a.explanation?.value === 900), 10_000, 'the 900 W alert');
  }, 400_000);
});
