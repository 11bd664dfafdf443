/**
 * Device-timed readings re-sent or arriving after newer ones, end to end: the daemon in-process on a real mosquitto
 * (a persistent session: clean false, QoS 1), a real SQLite file, the real onnxruntime, its HTTP status.
 *   - pump: a TCP proxy between the daemon and mosquitto loses the daemon's PUBACKs for 5 messages it read, then the
 *     link is cut: at the reconnect mosquitto re-sends the 5 (DUP). Later the same before a stop of the daemon: the
 *     restarted daemon (from its checkpoint) gets the 5 again.
 *   - plain: a sensor without a device time (stamped on arrival): 5 of its messages in each of the two windows, the
 *     broker's copies told only by their payloads (DUP), after the restart too (their fingerprints checkpointed).
 *   - twin: a device whose two readings before the stop share a time, both re-sent to the restarted daemon. The publisher keeps sending all along (into the
 *     session's queue while the daemon is away).
 *   - resend: a device that re-sends its last three readings after every tenth, and whose gateway forwards a
 *     reading now and then after the next one (out of order).
 * Before (branch sametime), admission clamped such a reading to the stream's newest time and the detector judged it
 * there as a step with its own values: extra steps, each reported at another reading's time with older values. Now
 * none is judged twice or at another time: counted `redelivered` (a time read already) or `late`.
 */
import { rmSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScoredReading } from '../../src/contract/types.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { MqttProxy } from '../helpers/mqtt-proxy.js';
import { getJson, waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
/** Readings per stream. */
const N = 520;
/** Messages whose PUBACK is lost before each cut. */
const INFLIGHT = 5;

interface Status {
  readonly rejections: Record<string, number>;
}
interface Anomaly {
  readonly sensor: string;
  readonly kind: string | null;
  readonly startTs: number;
}

const cleanups: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(!ready)('device-timed readings re-sent or late (daemon, real mosquitto, persistent session)', () => {
  it('judges each reading once at its own time: no extra step, no false episode, the rest counted redelivered or late', async () => {
    const broker = new Mosquitto();
    await broker.start();
    cleanups.push(() => broker.stop());
    cleanups.push(() => rmSync(broker.dir, { recursive: true, force: true }));
    const proxy = new MqttProxy(broker.port);
    proxy.watchClientPubacks = true;
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const dataDir = tempDataDir('anomalyd-redelivered-', cleanups);

    const seen: ScoredReading[] = [];
    const rejected: Record<string, number> = {};
    let daemon: Daemon | null = null;
    const start = async (): Promise<Daemon> => {
      const overrides = { mqtt: { url: proxy.url, clientId: `redelivered-${process.pid}`, clean: false, qos: 1 }, http: { port: 0 } } as const;
      // The real clock (the broker's re-sends arrive when they do).
      daemon = (await inProcessDaemon({ dataDir, brokerUrl: proxy.url, overrides, clock: null, onReading: (r) => seen.push(r), cleanups })).daemon;
      return daemon;
    };
    /** Adds the running daemon's rejections per reason (its counts since its start) to `rejected`, then stops it. */
    const stop = async (d: Daemon): Promise<void> => {
      const s = await getJson<Status>(`${d.httpUrl!}/api/status`);
      for (const [r, n] of Object.entries(s.rejections)) if (n > 0) rejected[r] = (rejected[r] ?? 0) + n;
      expect(await d.stop()).toBe(true);
      daemon = null;
    };
    let d = await start();
    const pub = await mqtt.connectAsync(broker.url, { clientId: `redelivered-pub-${process.pid}`, clean: false });
    cleanups.push(() => pub.endAsync());

    // Device times one second apart, ending a minute before now; a pump's pressure swinging fast about its level.
    const t0 = Math.floor(Date.now() / 1000) * 1000 - (N + 60) * 1000;
    const rnd = lcg(11);
    const value = Array.from({ length: N }, (_, i) => Number((4 + 1.5 * Math.sin(i * 1.3) + 0.05 * (rnd() - 0.5)).toFixed(3)));
    // What admission should make of the device's messages: a time after the newest is read; an older one is
    // redelivered when its time was read, else late (the broker's re-sent pump messages are counted apart).
    /** Messages published, and the broker's re-sent copies so far: the PUBACKs the daemon sends for them. */
    let published = 0;
    let copies = 0;
    let newest = -1;
    const read = new Set<number>();
    let lateSent = 0;
    let resent = 0;
    const send = (stream: string, i: number): Promise<unknown> => {
      if (stream === 'resend') {
        if (i > newest) {
          newest = i;
          read.add(i);
        } else if (i < newest && read.has(i)) resent++;
        else if (i < newest) lateSent++;
      }
      published++;
      return pub.publishAsync(`sensors/${stream}`, JSON.stringify({ ts: t0 + i * 1000, value: value[i] }), { qos: 1 });
    };
    const judged = (stream: string, i: number): boolean => seen.some((r) => r.stream === stream && r.ts === t0 + i * 1000);
    // A sensor without a device time (stamped on arrival), its values all different: plain value k is 100 + k.
    let plainSent = 0;
    const sendPlain = (): Promise<unknown> => {
      published++;
      return pub.publishAsync('sensors/plain', JSON.stringify({ value: 100 + plainSent++ }), { qos: 1 });
    };
    // A device-timed sensor whose readings may share a time: reading at t0 + i s with `v`.
    const sendTwin = (i: number, v: number): Promise<unknown> => {
      published++;
      return pub.publishAsync('sensors/twin', JSON.stringify({ ts: t0 + i * 1000, value: v }), { qos: 1 });
    };
    // One message on a stream of its own after all those before: once it is judged, every message before it was read
    // and acknowledged (one publisher, one subscription: in order).
    let syncs = 0;
    const sync = async (): Promise<void> => {
      const k = syncs++;
      published++;
      await pub.publishAsync('sensors/sync', JSON.stringify({ ts: t0 + N * 1000 + k, value: k }), { qos: 1 });
      await waitFor(() => seen.some((r) => r.stream === 'sync' && r.ts === t0 + N * 1000 + k), 120_000, `sync ${k} read`);
      // And every PUBACK of the daemon's has passed the proxy (so none is lost by a drop that begins next).
      await waitFor(() => proxy.clientPubacks >= published + copies, 60_000, 'the PUBACKs passed on');
    };

    /** Readings i in [from, to) of both streams; `resend` the re-sending device, its gateway now and then out of order. */
    const phase = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        await send('pump', i);
        if (i % 37 === 36 && i + 1 < N) {
          // The gateway forwards reading i + 1 before reading i: i arrives after a newer one.
          await send('resend', i + 1);
          await send('resend', i);
          i++;
          await send('pump', i);
        } else await send('resend', i);
        if (i % 10 === 0 && i >= 3) {
          for (let k = 3; k >= 1; k--) await send('resend', i - k);
        }
      }
    };

    await phase(0, 400);
    for (let k = 0; k < 30; k++) await sendPlain();
    await sync();
    // The daemon reads 5 messages of each whose PUBACKs are lost; the link is cut; the publisher goes on meanwhile.
    proxy.dropClientPubacks = true;
    for (let i = 400; i < 400 + INFLIGHT; i++) {
      await send('pump', i);
      await sendPlain();
    }
    await waitFor(() => judged('pump', 400 + INFLIGHT - 1) && seen.filter((r) => r.stream === 'plain').length === plainSent, 60_000, 'the in-flight readings judged');
    proxy.cutConnections();
    proxy.dropClientPubacks = false;
    copies += 2 * INFLIGHT;
    await phase(400 + INFLIGHT, 440);
    for (let k = 0; k < 10; k++) await sendPlain();
    await sync();
    // The same before a stop: the restarted daemon (from its checkpoint) gets the 5 of each re-sent, then the queue.
    // The pump's copies are told by their times (the parser snapshot keeps them), the plain sensor's by their
    // payloads' fingerprints (kept in its stream's snapshot: src/pipeline/resent.ts).
    // And a device whose last two readings share a time (a whole-second clock, two readings in one second): the
    // copy of the first, re-sent after the second, is told by its values (kept for that time in the checkpoint).
    for (let i = 0; i < 10; i++) await sendTwin(i, 5 + 0.01 * i);
    await sync();
    proxy.dropClientPubacks = true;
    for (let i = 440; i < 440 + INFLIGHT; i++) {
      await send('pump', i);
      await sendPlain();
    }
    await sendTwin(10, 5.1);
    await sendTwin(10, 5.12);
    await waitFor(() => judged('pump', 440 + INFLIGHT - 1) && seen.filter((r) => r.stream === 'plain').length === plainSent && seen.some((r) => r.stream === 'twin' && r.values[0] === 5.12), 60_000, 'the in-flight readings judged');
    await stop(d);
    proxy.dropClientPubacks = false;
    expect(proxy.droppedClientPubacks).toBeGreaterThanOrEqual(4 * INFLIGHT + 2);
    await phase(440 + INFLIGHT, 480);
    d = await start();
    for (let i = 11; i < 20; i++) await sendTwin(i, 5 + 0.01 * i);
    await phase(480, N);
    await waitFor(() => judged('pump', N - 1) && judged('resend', N - 1), 120_000, 'every reading judged');
    await sync();
    const anomalies = (await getJson<{ anomalies: Anomaly[] }>(`${d.httpUrl!}/api/anomalies?limit=100`)).anomalies;
    await stop(d);
    void daemon;

    for (const stream of ['pump', 'resend']) {
      const got = seen.filter((r) => r.stream === stream);
      // Each reading reported at its own time with its own value: none judged at a newer reading's time.
      const wrong = got.filter((r) => r.values[0] !== value[(r.ts - t0) / 1000]);
      expect(wrong.map((r) => [(r.ts - t0) / 1000, r.values[0]]), `${stream}: readings reported with another time's value`).toEqual([]);
      // Every reading once; the newest of a re-sent batch a second time at most (same time, same values: a duplicate).
      const per = new Map<number, number>();
      for (const r of got) per.set(r.ts, (per.get(r.ts) ?? 0) + 1);
      // (The device's readings that came after a newer one were not judged: `late`.)
      const meant = stream === 'pump' ? value.map((_, i) => i) : [...read].sort((a, b) => a - b);
      expect([...per.keys()].sort((a, b) => a - b)).toEqual(meant.map((i) => t0 + i * 1000));
      // (A re-sent message at the newest's time, the last the daemon read before the cut, is that duplicate.)
      expect(Math.max(...per.values())).toBeLessThanOrEqual(2);
    }
    // The sensor without a device time: each value judged once (the broker's copies, DUP, not at their new arrival).
    const plain = seen.filter((r) => r.stream === 'plain').map((r) => r.values[0]);
    expect(plain).toEqual(Array.from({ length: plainSent }, (_, k) => 100 + k));
    // The two readings of one time: each reported once as read (the second's copy, the stream's last values at that
    // time, is its duplicate), none judged again after the restart; then the device's next readings.
    const twin = seen.filter((r) => r.stream === 'twin').map((r) => [(r.ts - t0) / 1000, r.values[0]]);
    expect(twin).toEqual([...Array.from({ length: 10 }, (_, i) => [i, 5 + 0.01 * i]), [10, 5.1], [10, 5.12], [10, 5.12], ...Array.from({ length: 9 }, (_, k) => [11 + k, 5 + 0.01 * (11 + k)])]);
    // Counted with their reasons, `redelivered`: the device's re-sent readings; at the cut the broker's 2 x 5 copies
    // (DUP, identical to messages read); at the restart the 4 older of the pump's 5 (their times read, from the
    // checkpoint; the newest is the duplicate above), the plain sensor's 5 (DUP, their fingerprints from the
    // checkpoint) and the twin's first of two (its time and values, from the checkpoint). `late`: the gateway's
    // out-of-order ones. Nothing else rejected.
    expect(rejected).toEqual({ redelivered: resent + 2 * INFLIGHT + (INFLIGHT - 1) + INFLIGHT + 1, late: lateSent });
    expect(anomalies.map((a) => `${a.sensor} ${a.kind ?? ''} ${(a.startTs - t0) / 1000}`)).toEqual([]);
  }, 300_000);
});
