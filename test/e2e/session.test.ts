/**
 * Issue 4, ingest that loses nothing: with an external broker the daemon keeps a persistent session
 * (mqtt.clean false, a stable client id, QoS 1 subscriptions), so readings published while it is down
 * are queued by the broker and scored after it comes back. The same scenario with mqtt.clean true
 * shows what the setting is for: those readings are gone.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { MqttRecorder, bursts, interleave, sensorSeries, type Burst } from '../helpers/alert-stream.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const SENSORS = ['boiler1', 'boiler2'];
const WARMUP = 1280;
/** Readings per sensor published while the daemon is down. */
const WHILE_DOWN = 480;
const BURST = 160;
/** The shift starts this many readings into the stretch published while the daemon is down. */
const SHIFT_AT = 200;
const SHIFT_LENGTH = 120;
/** Readings of a fresh sensor: past the normalisation warm-up (512), so it gets scored windows. */
const MARKER = 640;

interface Plan {
  readonly warmup: Burst[];
  readonly whileDown: Burst[];
  /** Data time of the first shifted reading. */
  readonly shiftStart: number;
}

function plan(): Plan {
  const start = Math.floor((Date.now() - 3 * 3_600_000) / 1000) * 1000;
  const perSensor = SENSORS.map((sensor, i) =>
    bursts(
      sensor,
      sensorSeries({
        sensor,
        // A vibration level, not a duty-cycle current: the shipped generic models reconstruct a shifted duty
        // cycle almost as well as the normal one (docs/MODEL.md, "The shipped models"), and this test is
        // about the session, not about how a generic model sees a duty cycle.
        kind: 'vibration',
        seed: 500 + i,
        startTs: start,
        readings: WARMUP + WHILE_DOWN,
        shifts: [{ at: WARMUP + SHIFT_AT, length: SHIFT_LENGTH, magnitude: 6 }],
      }),
      BURST,
    ),
  );
  const warmBursts = WARMUP / BURST;
  return {
    warmup: interleave(perSensor.map((b) => b.slice(0, warmBursts))),
    whileDown: interleave(perSensor.map((b) => b.slice(warmBursts))),
    shiftStart: start + (WARMUP + SHIFT_AT) * 1000,
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  readonly daemon: DaemonProcess;
  readonly recorder: MqttRecorder;
  readonly sensors: MqttClient;
  readonly plan: Plan;
}

/** Broker, daemon (with `clean`), sensors learnt, daemon stopped, then readings published while it is down. */
async function downWhileSensorsPublish(clean: boolean): Promise<Setup> {
  const broker = await startMosquitto(cleanups);
  const daemon = new DaemonProcess({
    broker: { enabled: false },
    mqtt: { url: broker.url, clientId: 'anomalyd-session', clean },
    store: { commitIntervalMs: 20 },
  });
  cleanups.push(async () => void (await daemon.stop('SIGKILL')));
  const recorder = await MqttRecorder.connect(broker.url, { clientId: 'session-recorder', clean: false, filters: ['anomalyd/alerts/+', 'anomalyd/state/+'] });
  cleanups.push(() => recorder.end());
  const sensors = await mqtt.connectAsync(broker.url, { clientId: 'session-sensors', clean: false });
  cleanups.push(() => sensors.endAsync(true));
  const p = plan();

  await daemon.start();
  for (const b of p.warmup) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
  await waitFor(
    () => SENSORS.every((s) => recorder.messages.some((m) => m.topic === `anomalyd/state/${s}` && m.payload.includes('"ok"'))),
    30_000,
    'every sensor past its learning period',
  );
  expect(await daemon.stop('SIGTERM')).toBe(0);
  for (const b of p.whileDown) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
  daemon.exitCode = null; // DaemonProcess.start() would take the last run's exit code for a failed start
  return { daemon, recorder, sensors, plan: p };
}

function readingsCounted(daemon: DaemonProcess): number {
  const stopped = daemon.logged('stopped').at(-1);
  if (stopped === undefined) throw new Error('no stopped log line');
  return (stopped.counters as { readings: number }).readings;
}

describe.skipIf(!ready)('persistent session (mosquitto)', () => {
  it('scores the readings published while the daemon was down once it is back', async () => {
    const { daemon, recorder, plan: p } = await downWhileSensorsPublish(false);
    const alertsBefore = recorder.alerts().length;
    const restartAt = Date.now();
    await daemon.start();
    expect(daemon.logged('mqtt connected')[0]?.sessionPresent).toBe(true);

    // The shift inside the readings sent while it was down is detected on every sensor.
    const inShift = (sensor: string): boolean =>
      recorder
        .alerts()
        .slice(alertsBefore)
        .some((a) => a.sensor === sensor && a.event === 'open' && Date.parse(a.start) >= p.shiftStart - 64_000 && Date.parse(a.start) <= p.shiftStart + SHIFT_LENGTH * 1000);
    await waitFor(() => SENSORS.every(inShift), 20_000, 'an alert for the shift on every sensor');
    const detectedMs = Date.now() - restartAt;
    expect(await daemon.stop('SIGTERM')).toBe(0);
    // Every reading queued by the broker arrived (and no more): nothing published meanwhile was lost.
    expect(readingsCounted(daemon)).toBe(SENSORS.length * WHILE_DOWN);
    console.info(`session: ${SENSORS.length * WHILE_DOWN} readings queued while down, all scored; shift alerted on every sensor ${detectedMs} ms after the restart began`);
  }, 60_000);

  it('with mqtt.clean true the same readings are lost, which is why it defaults to false', async () => {
    const { daemon, sensors } = await downWhileSensorsPublish(true);
    await daemon.start();
    expect(daemon.logged('mqtt connected')[0]?.sessionPresent).toBe(false);
    // A marker sensor published after the restart shows the daemon is subscribed and scoring again: its
    // first scored window logs its status.
    await waitFor(() => daemon.logged('subscribed').length > 0, 10_000, 'the subscription');
    const marker = sensorSeries({ sensor: 'marker', kind: 'vibration', seed: 9, startTs: Date.now() - MARKER * 1000, readings: MARKER, shifts: [] });
    const [burst] = bursts('marker', marker, MARKER);
    await sensors.publishAsync(burst.topic, burst.payload, { qos: 1 });
    await waitFor(() => daemon.logged('sensor status').some((l) => l.sensor === 'marker'), 20_000, 'the marker sensor to be scored');
    expect(await daemon.stop('SIGTERM')).toBe(0);
    expect(readingsCounted(daemon)).toBe(MARKER);
  }, 60_000);
});
