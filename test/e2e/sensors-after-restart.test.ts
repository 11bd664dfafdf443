/**
 * The sensor list after a restart: each restored sensor shows its last reading from before the restart
 * (time, value, surprise), not nulls until its next reading arrives, which for a slow sensor (one reading
 * every 5 minutes here) is a long time. The daemon in-process twice on one data directory (a real SQLite
 * file), the embedded broker, a real MQTT client and the HTTP API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/daemon.js';
import type { SensorView } from '../../src/http/view.js';
import { builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const FIVE_MIN = 300_000;
/** More readings than a fresh stream learns from (score.learnReadings 64), so its surprise means something. */
const N = 100;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newDaemon(dataDir: string): Daemon {
  return new Daemon({ config: inProcessConfig(dataDir, { http: { port: 0 } }), logger: pino({ level: 'silent' }) });
}

async function sensors(daemon: Daemon): Promise<SensorView[]> {
  const res = await fetch(`${daemon.httpUrl!}/api/sensors`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { sensors: SensorView[] }).sensors;
}

async function publish(daemon: Daemon, messages: readonly { topic: string; payload: string }[]): Promise<void> {
  const client = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `sensors-restart-${process.pid}-${Date.now()}` });
  try {
    for (const m of messages) await client.publishAsync(m.topic, m.payload, { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

describe.skipIf(!builtAndModelsPresent())('GET /api/sensors after a restart', () => {
  it('shows each restored sensor’s last reading from before the restart, until its next one replaces it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-sensors-restart-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // A slow sensor (one reading every 5 minutes, the last six minutes ago) and a device with two (one stream each).
    const last = Math.floor(Date.now() / 1000) * 1000 - 6 * 60_000;
    const tsOf = (i: number): number => last - (N - 1 - i) * FIVE_MIN;
    const messages = Array.from({ length: N }, (_, i) => [
      { topic: 'sensors/cellar', payload: JSON.stringify({ ts: tsOf(i), value: Number((12 + Math.sin(i / 7) + (i % 3) / 10).toFixed(3)) }) },
      { topic: 'sensors/pump', payload: JSON.stringify({ ts: tsOf(i), pressure: Number((2 + Math.cos(i / 5) / 4).toFixed(3)), flow: 30 + (i % 4) }) },
    ]).flat();

    const first = newDaemon(dataDir);
    cleanups.push(() => first.stop());
    await first.start();
    await publish(first, messages);
    await waitFor(() => first.counters.scored >= 2 * N, 30_000, 'every reading scored');
    const before = await sensors(first);
    expect(before.map((s) => [s.sensor, s.lastTs])).toEqual([
      ['cellar', last],
      ['pump/flow', last],
      ['pump/pressure', last],
    ]);
    for (const s of before) {
      expect(s.value).not.toBeNull();
      expect(s.surprise).not.toBeNull();
    }
    await first.stop();

    const second = newDaemon(dataDir);
    cleanups.push(() => second.stop());
    await second.start();
    // Before any new reading: what the list showed before the stop, status included (a restored sensor is
    // judged stale only after alerts.staleAfter of its intervals from the start).
    // Its reading precision (`decimals`) too, from its checkpoint (tryout 24, finding 3: null until the next reading
    // before, the page writing 4 significant digits meanwhile).
    const restored = await sensors(second);
    expect(restored.map((x) => x.decimals)).toEqual(before.map((x) => x.decimals));
    expect(restored).toEqual(before);
    const series = (await (await fetch(`${second.httpUrl!}/api/sensors/cellar/series?range=1h`)).json()) as { to: number; latest: { ts: number; values: number[] } | null };
    expect(series.to).toBe(last);
    expect(series.latest).toMatchObject({ ts: last, values: [before[0].value] });

    // The next reading replaces it.
    await publish(second, [{ topic: 'sensors/cellar', payload: JSON.stringify({ ts: last + FIVE_MIN, value: 12.5 }) }]);
    await waitFor(() => second.counters.scored >= 1, 10_000, 'the new reading scored');
    const after = await sensors(second);
    expect(after.find((s) => s.sensor === 'cellar')).toMatchObject({ lastTs: last + FIVE_MIN, value: 12.5 });
    expect(after.slice(1)).toEqual(before.slice(1));
    // Its precision at the stop holds until three readings since the start show its noise again.
    expect(after[0].decimals).toBe(before[0].decimals);
  }, 60_000);
});
