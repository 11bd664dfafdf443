/**
 * Tryout 25, finding 6: a flood of one-shot topics that carry valid numbers (`sensors/junk<i>`, one message each)
 * filled ingest.maxStreams in seconds; every new real sensor was then rejected `too_many_streams` until idle eviction
 * (10 minutes), a restart restored every junk stream, and `status` said only `rejected too_many_streams N`.
 *
 * A real sensor repeats, junk does not (src/pipeline/admit.ts, "Streams heard once"): with the table full of streams
 * heard once, a new stream is taken at its second message in place of the one heard least recently; streams heard
 * once are not checkpointed, so a restart does not bring them back; the status says new streams are turned away.
 *
 * The daemon in-process with its embedded broker, its HTTP API, the real onnxruntime and a real SQLite file; the
 * flood and the sensor from real MQTT clients at QoS 1; a small ingest.maxStreams so the table fills quickly. The
 * daemon's clock is virtual (each message's arrival), so the sensor's "every second" takes no real second.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { DaemonStatusView } from '../../src/http/view.js';
import { formatStatus } from '../../src/cli/status.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();

const MAX_STREAMS = 120;
/** One-shot topics in the first flood: the table's slots and more. */
const FLOOD = MAX_STREAMS + 60;
/** New one-shot topics between two readings of the real sensor (the flood goes on). */
const BETWEEN = 25;

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

describe.skipIf(!builtAndModelsPresent())('a flood of one-shot topics with valid numbers (tryout 25, finding 6)', () => {
  it('takes a new real sensor at its second reading, does not restore the one-shot streams, and says new streams are turned away', async () => {
    const dataDir = tempDataDir('anomalyd-one-shot-', cleanups);
    let now = Date.parse('2026-12-03T10:00:00Z');
    const clock = (): number => now;
    const overrides = { http: { port: 0 }, ingest: { maxStreams: MAX_STREAMS, timezone: 'UTC' }, store: { commitIntervalMs: 0 } };
    const pumpReadings: number[] = [];
    const { daemon, url } = await inProcessDaemon({
      dataDir,
      brokerUrl: null,
      clock,
      cleanups,
      overrides,
      onReading: (r) => {
        if (r.stream === 'pump') pumpReadings.push(r.ts);
      },
    });
    const api = daemon.httpUrl!;
    const pub = await mqtt.connectAsync(url, { clientId: `one-shot-${process.pid}` });
    cleanups.push(() => pub.endAsync());
    const status = (): Promise<DaemonStatusView> => getJson<DaemonStatusView>(`${api}/api/status`);
    const received = async (): Promise<number> => (await status()).counters.received ?? 0;

    // The flood: one message per topic, each a valid number; more topics than the table holds.
    for (let i = 0; i < FLOOD; i++) {
      now += 5;
      await pub.publishAsync(`sensors/junk${i}`, String(20 + (i % 7)), { qos: 1 });
    }
    await waitFor(async () => (await received()) >= FLOOD, 20_000, 'the flood read');
    const full = await status();
    expect(full.sensors.total).toBe(MAX_STREAMS);
    expect(full.rejections.too_many_streams).toBe(FLOOD - MAX_STREAMS);

    // A real sensor every second, the one-shot flood going on between its readings.
    let sent = FLOOD;
    let listedAt = -1;
    for (let k = 1; k <= 5 && listedAt < 0; k++) {
      now += 1000;
      await pub.publishAsync('sensors/pump', String(2 + k / 10), { qos: 1 });
      sent++;
      for (let j = 0; j < BETWEEN; j++) {
        now += 5;
        await pub.publishAsync(`sensors/junk-more${k}-${j}`, '7', { qos: 1 });
        sent++;
      }
      await waitFor(async () => (await received()) >= sent, 20_000, 'the readings read');
      const { sensors } = await getJson<{ sensors: Array<{ sensor: string }> }>(`${api}/api/sensors`);
      if (sensors.some((s) => s.sensor === 'pump')) listedAt = k;
    }
    // Taken at its first or second reading, not turned away until the junk is evicted.
    expect(listedAt).toBeGreaterThan(0);
    expect(listedAt).toBeLessThanOrEqual(2);
    // Its readings go on being taken and scored.
    for (let k = 0; k < 3; k++) {
      now += 1000;
      await pub.publishAsync('sensors/pump', String(2.5 + k / 10), { qos: 1 });
      sent++;
    }
    await waitFor(async () => (await received()) >= sent, 20_000, 'the pump read');
    await waitFor(() => pumpReadings.length >= 4, 20_000, 'the pump scored');

    // The status says plainly that new streams are being turned away, since when, and what to do.
    const during = await status();
    expect(during.streams?.max).toBe(MAX_STREAMS);
    expect(during.streams?.tracked).toBe(MAX_STREAMS);
    expect(during.streams?.fullSince).not.toBeNull();
    expect(during.streams?.heardOnce).toBeGreaterThan(0);
    const text = formatStatus(during, api);
    expect(text).toMatch(/streams +\d+ of ingest\.maxStreams 120: FULL since 2026-12-03T10:00:/);
    expect(text).toContain('second message');

    // A restart does not bring the one-shot streams back; the pump, which repeated, is.
    await daemon.stop();
    const again = await inProcessDaemon({ dataDir, brokerUrl: null, clock, cleanups, overrides });
    const after = await getJson<DaemonStatusView>(`${again.daemon.httpUrl!}/api/status`);
    const names = (await getJson<{ sensors: Array<{ sensor: string }> }>(`${again.daemon.httpUrl!}/api/sensors`)).sensors.map((s) => s.sensor);
    expect(names).toEqual(['pump']);
    expect(after.sensors.total).toBe(1);
  }, 120_000);
});
