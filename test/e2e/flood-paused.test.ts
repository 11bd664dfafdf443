/**
 * A burst of valid readings on one known topic, faster than the model takes them (tryout 25, finding 9): 50,000
 * readings at ~9,000/s, stamped on arrival, paused MQTT reads for backpressure, and the gaps the pauses (and the model
 * backlog behind them) made between arrivals were judged as the stream's silence: 14 `no reading for 0 s (missing
 * data)` episodes and 11 more without a kind, on a sensor that was sending all along. The daemon's own state is no
 * silence of the sensor: a gap across a pause or a backlog is excused as one across a restart is.
 *
 * The daemon in-process on its embedded broker with a small model batch (so the backlog limits, 64 and 16 times
 * model.maxBatch, are reached at once), the real onnxruntime and event-loop load, a real SQLite file; the flood comes
 * from a publisher in its own process (a sensor is not slowed by the daemon's loop). No assertion on timings: the
 * daemon must have paused, and the flooded stream may tell at most one episode from the flood's start (the honest
 * one: the sensor's own pause of about a second, 50 readings of its 20 ms interval, while the publisher starts). On
 * main it told 13 here (11 of them opened within 3 s of the flood's end), on a machine busy enough that the
 * backlog paused reads (3 pauses).
 *
 * The flood carries on the stream's own values (the same sequence, from where the known stream stopped), so its
 * only change is its rate and the pauses: what this test asks. It used to send `5 + Math.random()`, unseeded noise
 * where the stream had learnt a sequence of period 100; the project's CI on 07c5491 then told one to three
 * model-scored episodes of the changed pattern (kind unset, 1 ms each: the readings share a millisecond), a
 * true change of the signal, not a silence, and a failure that came and went with the draw.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/daemon.js';
import { MODELS, ROOT, builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Readings of the flood. */
const FLOOD = 50_000;

/** The known stream's `i`-th value: a sequence of period 100 between 5 and 6 (sensor units). */
function value(i: number): number {
  return 5 + ((i * 37) % 100) / 100;
}

/** Readings of the known stream before the flood, 20 ms apart. */
const KNOWN = 300;

/**
 * Publishes the known stream's values `from` to `from + n - 1` (`value`) on `topic` at QoS 0 as fast as it can,
 * from a child process.
 */
function flood(url: string, topic: string, from: number, n: number): Promise<void> {
  const script = `
const mqtt = require(${JSON.stringify(join(ROOT, 'node_modules', 'mqtt'))});
const value = ${value.toString()};
const c = mqtt.connect(${JSON.stringify(url)}, { clientId: 'flood-paused-' + process.pid });
c.on('connect', async () => {
  for (let k = 0; k < ${n}; k++) {
    c.publish(${JSON.stringify(topic)}, String(value(${from} + k)), { qos: 0 });
    if (k % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  await c.endAsync();
});`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the flood's publisher exited with ${code}`))));
  });
}

describe.skipIf(!builtAndModelsPresent())('a flood of valid readings on a known topic (daemon in-process, reads paused for backpressure)', () => {
  it('tells the flooded stream silent for none of the gaps its own pauses and backlog made: at most one episode from the flood on (tryout 25, finding 9)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-flood-paused-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = inProcessConfig(dataDir, { model: { dir: MODELS, maxBatch: 4 }, score: { learnReadings: 32 } });
    /** Readings scored, and the times of the flooded stream's readings that opened an episode. */
    let scored = 0;
    let syncScored = false;
    const opens: number[] = [];
    const daemon = new Daemon({
      config,
      logger: pino({ level: 'silent' }),
      onReading: (r, events) => {
        scored++;
        if (r.stream === 'sync') syncScored = true;
        if (r.stream === 'flood1') for (const e of events) if (e.kind === 'open') opens.push(r.ts);
      },
    });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const url = daemon.brokerUrl!;
    const sensor = await mqtt.connectAsync(url, { clientId: `flood-paused-sensor-${process.pid}` });
    cleanups.push(() => sensor.endAsync());

    // A known stream: KNOWN readings 20 ms apart, each waited for, then the flood right after the last one.
    for (let i = 0; i < KNOWN; i++) {
      await sensor.publishAsync('sensors/flood1', String(value(i)), { qos: 0 });
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => scored >= KNOWN, 60_000, 'the known stream read');
    const floodFrom = Date.now();
    await flood(url, 'sensors/flood1', KNOWN, FLOOD);
    // One reading on a stream of its own after the flood: once it is read, every reading of the flood was; once as
    // many are scored as were read, none waits for the model.
    await sensor.publishAsync('sensors/sync', '1', { qos: 1 });
    await waitFor(() => syncScored && scored === daemon.counters.readings, 180_000, 'the flood read and scored');
    // The daemon could not keep up: it paused its reads (else this test tests nothing).
    expect(daemon.counters.pauses).toBeGreaterThan(0);
    const episodes = daemon.database!.listAnomalies({ sensor: 'flood1', limit: 1000 }).filter((a) => a.startTs >= floodFrom);
    expect(episodes.length, `episodes opened at ${JSON.stringify(opens.filter((ts) => ts >= floodFrom))}`).toBeLessThanOrEqual(1);
  }, 300_000);
});
