/**
 * Tryout 19, finding 1, through the real daemon and a real mosquitto: ten zigbee2mqtt sensors (no time stamps: each
 * reading is stamped on arrival) at 2 Hz, the daemon on a persistent session (`mqtt.clean: false`, QoS 1) stopped
 * and started five times, 40 to 60 s down each time. At each reconnect the broker delivers what it queued for the
 * session as a burst; the burst's drain pauses once for longer than half an interval (300 ms: the tryout's loaded
 * machine), which before commit a79505f ended the backlog early, so the rest of the burst was learnt as the sensors'
 * interval: 25-31 false missing-data episodes per restart (15 in all here before that commit). The sensors are healthy
 * throughout: no episode at all.
 *
 * The daemon in-process, a real MQTT publisher and a real SQLite file; an injected clock (every message's and every
 * CONNACK's arrival stamp is the next planned time: 50 ms apart between the sensors while live, 1 ms apart in a
 * burst), so no assertion depends on real timing. `scripts/restart-backlog.mjs` measures the same with the real
 * clock and `node dist/main.js run` (BENCHMARKS.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { mosquittoAvailable } from '../helpers/mosquitto.js';
import { sessionRig } from '../helpers/session-rig.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

/** The sensors' interval (2 Hz), ms. */
const INTERVAL = 500;
const SENSORS = 10;
/** Between two sensors' messages of one tick while live, ms of the arrival clock. */
const STAGGER = 50;
/**
 * The broker's burst at the reconnect: one message every this many ms of the arrival clock (mosquitto on loopback
 * drains a session's 1,000 queued messages within about a second; each sensor's readings come 10 ms apart).
 */
const BURST_MS = 1;
/** One pause in each burst's drain, ms: longer than half an interval. */
const PAUSE_MS = 300;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent() || !mosquittoAvailable())('ten time-less 2 Hz sensors through five restarts of 40-60 s (mosquitto, persistent session)', () => {
  it('no episode: the burst at each reconnect, paused once in its drain, is taken as the backlog it is (tryout 19, finding 1)', async () => {
    const { now, planned, alerts, hub, start } = await sessionRig('restart-backlog', cleanups);

    // Room sensors: a slow swing, noise, sent to 0.01 °C and 0.1 % (zigbee2mqtt's payload without a time).
    const rnd = lcg(19);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    let k = 0;
    const publishTick = async (): Promise<void> => {
      k++;
      for (let s = 0; s < SENSORS; s++) {
        const temperature = Math.round((21 + s / 2 + 0.4 * Math.sin(k / 1200 + s) + 0.05 * gauss()) * 100) / 100;
        const humidity = Math.round((45 + s + 0.3 * gauss()) * 10) / 10;
        await hub.publishAsync(`zigbee2mqtt/room${s}`, JSON.stringify({ temperature, humidity }), { qos: 1 });
      }
    };
    let daemon = await start();
    let scored = 0;
    /** `ticks` live ticks from `from` on the arrival clock (each sensor once per interval); waits until they are scored. */
    const live = async (from: number, ticks: number): Promise<void> => {
      for (let j = 0; j < ticks; j++) for (let s = 0; s < SENSORS; s++) planned.push(from + j * INTERVAL + s * STAGGER);
      for (let j = 0; j < ticks; j++) await publishTick();
      scored += 2 * SENSORS * ticks;
      await waitFor(() => daemon.counters.scored >= scored, 60_000, `${scored} readings scored`);
    };
    // 3 minutes of history per sensor (360 readings: past its learning period, its runs known).
    await live(now() + INTERVAL, 360);
    daemon.judgeSilences();
    expect(daemon.database!.listAnomalies({ limit: 50 })).toEqual([]);

    for (const down of [40, 47, 55, 60, 44]) {
      // A clean stop; the hub goes on at 2 Hz meanwhile (the broker queues for the daemon's session).
      const stopped = now();
      await daemon.stop();
      const ticks = (down * 1000) / INTERVAL;
      for (let j = 0; j < ticks; j++) await publishTick();
      // The start half an interval after the last reading queued; the CONNACK, then the broker's burst, paused once.
      const connect = stopped + down * 1000 + INTERVAL / 2;
      const n = ticks * SENSORS;
      planned.push(connect, ...Array.from({ length: n }, (_, i) => connect + (i + 1) * BURST_MS + (i >= Math.floor(n / 3) ? PAUSE_MS : 0)));
      scored = 0;
      daemon = await start();
      scored = 2 * n;
      await waitFor(() => daemon.counters.scored >= scored, 60_000, `the burst of a ${down} s restart scored`);
      expect(planned).toEqual([]);
      // Live again for 40 s, the next tick an interval after the burst ended; judged for silence as housekeeping does.
      await live(now() + INTERVAL, 80);
      daemon.judgeSilences();
    }
    expect(daemon.database!.listAnomalies({ limit: 50 }).map((e) => [e.sensor, e.kind, e.sentence])).toEqual([]);
    expect(alerts).toEqual([]);
  }, 300_000);
});
