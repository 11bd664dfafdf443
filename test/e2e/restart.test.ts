/**
 * Issue 5, state that survives restarts: a sensor's parser state, window buffer, hidden state, running
 * normalisation and score histories are checkpointed at shutdown and restored at start, so after a restart
 * it is scored from its first new reading on (no normalisation warm-up, no learning period) and is `ok` at
 * once. A checkpoint older than store.checkpointMaxAgeMs, of a sensor silent longer than its idle span plus that (its
 * restore span, in its own intervals: docs/SCORING.md section 8), is dropped and the sensor re-warms.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { bursts, sensorSeries } from '../helpers/alert-stream.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const WARM = 1200;
/** Fewer readings than a fresh stream learns from (score.learnReadings 64): restored, it is scored and ok at once. */
const AFTER = 32;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function publish(url: string, payloads: readonly { topic: string; payload: string }[]): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `restart-sensor-${process.pid}-${Date.now()}` });
  for (const p of payloads) await client.publishAsync(p.topic, p.payload, { qos: 1 });
  await client.endAsync();
}

/** What GET /api/sensors answered right after the second start, before any new reading. */
let listedAfterRestart: { sensor: string; status: string }[] = [];

/** Runs the scenario; returns the second run's log lines. */
async function scenario(maxAgeMs: number, pauseMs: number, limits?: { idleAfterIntervals: number; idleAfterMinMs: number }): Promise<DaemonProcess> {
  const start = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const series = sensorSeries({ sensor: 'pump', kind: 'vibration', seed: 77, startTs: start, readings: WARM + AFTER, shifts: [] });
  const all = bursts('pump', series, 16);
  const daemon = new DaemonProcess({ broker: { port: 0 }, store: { checkpointIntervalMs: 1000, checkpointMaxAgeMs: maxAgeMs }, ...(limits !== undefined ? { limits } : {}) });
  cleanups.push(async () => void (await daemon.stop('SIGKILL')));
  await daemon.start();
  const url = (): string => daemon.logged('ready').at(-1)!.mqtt as string;
  await publish(url(), all.slice(0, WARM / 16));
  await waitFor(() => daemon.logged('sensor status').some((l) => l.sensor === 'pump' && l.status === 'ok'), 30_000, 'pump ok');
  expect(await daemon.stop('SIGTERM')).toBe(0);

  if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  await daemon.start();
  // Before any new reading: the API lists what was restored.
  const http = daemon.logged('ready').at(-1)!.http as string;
  listedAfterRestart = ((await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string; status: string }[] }).sensors;
  await publish(url(), all.slice(WARM / 16));
  // Give the daemon time to score what it got.
  await new Promise((r) => setTimeout(r, 1500));
  expect(await daemon.stop('SIGTERM')).toBe(0);
  return daemon;
}

describe.skipIf(!ready)('restart with checkpoints (embedded broker)', () => {
  it('scores a sensor from its first new readings after a restart, and it is ok at once', async () => {
    const daemon = await scenario(3_600_000, 0);
    const restored = daemon.logged('sensor checkpoints').at(-1);
    expect(restored).toMatchObject({ restored: 1, stale: 0 });
    // Listed at once after the restart, with the status it had (not only once it sends again).
    expect(listedAfterRestart).toEqual([expect.objectContaining({ sensor: 'pump', status: 'ok' })]);
    const stopped = daemon.logged('stopped').at(-1)!;
    expect((stopped.counters as { readings: number }).readings).toBe(AFTER);
    expect((stopped.counters as { scored: number }).scored).toBe(AFTER);
    const statuses = daemon.logged('sensor status').filter((l) => l.sensor === 'pump').map((l) => l.status);
    expect(statuses[0]).toBe('ok');
    expect(statuses).not.toContain('learning');
  }, 90_000);

  it('drops a checkpoint older than checkpointMaxAgeMs of a sensor silent longer than its restore span: the sensor re-warms', async () => {
    // Its span: its idle span (10 intervals of 1 s: 10 s) plus checkpointMaxAgeMs (1 s); silent 12 s and more.
    const daemon = await scenario(1000, 12_000, { idleAfterIntervals: 10, idleAfterMinMs: 1000 });
    expect(daemon.logged('sensor checkpoints').at(-1)).toMatchObject({ restored: 0, stale: 1 });
    expect(listedAfterRestart).toEqual([]);
    const stopped = daemon.logged('stopped').at(-1)!;
    // Every reading gets a score, but the stream learns again (normalisation and histories start over).
    expect((stopped.counters as { scored: number }).scored).toBe(AFTER);
    expect(daemon.logged('sensor status').filter((l) => l.sensor === 'pump').map((l) => l.status)).toEqual(['learning']);
  }, 90_000);
});
