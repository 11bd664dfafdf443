/**
 * Issue 4, lifecycle: a sensor that crosses the threshold again and again, each time sooner than
 * alerts.closeAfter readings after the last, produces one episode (open, updates, resolve, one anomaly_id),
 * where the same stream with a short closeAfter produces several. The retained per-sensor state is right for a subscriber that (re)connects
 * while the episode is open and after it resolved. An operator's mark set with the CLI on the running
 * daemon's database shows in the anomaly record.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPayload, SensorStatePayload } from '../../src/contract/alerts.js';
import { anomaliesCommand } from '../../src/cli/anomalies.js';
import type { CommandContext } from '../../src/cli/context.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { type Mosquitto, mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { MqttRecorder, bursts, periodicShifts, sensorSeries, type Burst } from '../helpers/alert-stream.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const SENSOR = 'press1';
const WARMUP = 1280;
/** Five 40 s shifts, 200 s apart: 160 s of normal readings between them, well over a window plus closeAfter hops. */
const SHIFTS = periodicShifts(WARMUP + 40, WARMUP + 1000, 200, 40, 6);
const TOTAL = WARMUP + 1000 + 600;
const BURST = 80;
/** Readings: longer than the quiet stretch between the shifts (160 readings), so they are one incident. */
const LONG_CLOSE = 200;
/** Readings: the default, far shorter than the stretch between the shifts. */
const SHORT_CLOSE = 16;

interface Stream {
  readonly bursts: Burst[];
  readonly start: number;
}

function stream(): Stream {
  const start = Math.floor((Date.now() - 3 * 3_600_000) / 1000) * 1000;
  const series = sensorSeries({ sensor: SENSOR, kind: 'vibration', seed: 700, startTs: start, readings: TOTAL, shifts: SHIFTS });
  return { bursts: bursts(SENSOR, series, BURST), start };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  readonly broker: Mosquitto;
  readonly daemon: DaemonProcess;
  readonly recorder: MqttRecorder;
  readonly sensors: MqttClient;
}

async function harness(closeAfter: number): Promise<Harness> {
  const broker = await startMosquitto(cleanups);
  const daemon = new DaemonProcess({
    broker: { enabled: false },
    mqtt: { url: broker.url, clientId: 'anomalyd-lifecycle', clean: false },
    store: { commitIntervalMs: 20 },
    // No new normal: the five shifts span about a thousand readings, the default newNormalAfter.
    alerts: { closeAfter, newNormalAfter: 0 },
  });
  cleanups.push(async () => void (await daemon.stop('SIGKILL')));
  await daemon.start();
  const recorder = await MqttRecorder.connect(broker.url, { clientId: 'lifecycle-recorder', clean: false, filters: ['anomalyd/alerts/+', 'anomalyd/state/+'] });
  cleanups.push(() => recorder.end());
  const sensors = await mqtt.connectAsync(broker.url, { clientId: 'lifecycle-sensors', clean: false });
  cleanups.push(() => sensors.endAsync(true));
  return { broker, daemon, recorder, sensors };
}

async function publish(sensors: MqttClient, list: readonly Burst[]): Promise<void> {
  for (const b of list) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
}

/** Episodes (alerts grouped by anomaly_id, in arrival order) that started around the shifts. */
function episodesAroundShifts(alerts: readonly AlertPayload[], start: number): Map<string, AlertPayload[]> {
  const from = start + (SHIFTS[0].at - 64) * 1000;
  const to = start + (SHIFTS[SHIFTS.length - 1].at + SHIFTS[SHIFTS.length - 1].length + 64) * 1000;
  const out = new Map<string, AlertPayload[]>();
  for (const a of alerts) {
    const t = Date.parse(a.start);
    if (a.sensor !== SENSOR || t < from || t > to) continue;
    out.set(a.anomaly_id, [...(out.get(a.anomaly_id) ?? []), a]);
  }
  return out;
}

/** What a new subscriber is told first on the sensor's state topic: the retained message. */
async function retainedState(url: string): Promise<{ state: SensorStatePayload; retain: boolean }> {
  const client = await mqtt.connectAsync(url, { clientId: `lifecycle-probe-${Date.now()}`, clean: true });
  try {
    const first = new Promise<{ state: SensorStatePayload; retain: boolean }>((resolve) => {
      client.once('message', (_topic, payload, packet) => resolve({ state: JSON.parse(payload.toString()) as SensorStatePayload, retain: packet.retain }));
    });
    await client.subscribeAsync(`anomalyd/state/${SENSOR}`, { qos: 1 });
    return await first;
  } finally {
    await client.endAsync(true);
  }
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env: {},
    exit: () => {
      throw new Error('the CLI must not exit the process');
    },
  };
  const code = await anomaliesCommand(argv, ctx);
  return { code, out, err };
}

function latestState(recorder: MqttRecorder): SensorStatePayload | null {
  const m = recorder.messages.filter((x) => x.topic === `anomalyd/state/${SENSOR}`).at(-1);
  return m ? (JSON.parse(m.payload) as SensorStatePayload) : null;
}

describe.skipIf(!ready)('anomaly lifecycle (mosquitto)', () => {
  it('turns repeated crossings closer than closeAfter into one episode, with the right retained state throughout', async () => {
    const { broker, daemon, recorder, sensors } = await harness(LONG_CLOSE);
    const s = stream();
    // Up to the middle of the third shift: the episode is open.
    const midThird = s.bursts.findIndex((b) => b.lastTs >= s.start + (SHIFTS[2].at + 20) * 1000) + 1;
    await publish(sensors, s.bursts.slice(0, midThird));
    // The state goes out at once, the alert after its group commit: wait for both.
    await waitFor(
      () => latestState(recorder)?.status === 'anomalous' && recorder.alerts().some((a) => a.event === 'open'),
      20_000,
      'the sensor to be anomalous and its episode open',
    );
    const open = recorder.alerts().find((a) => a.event === 'open');
    expect(open).toBeDefined();
    const whileOpen = await retainedState(broker.url);
    expect(whileOpen.retain).toBe(true);
    expect(whileOpen.state).toMatchObject({ status: 'anomalous', anomaly_id: open!.anomaly_id });

    await publish(sensors, s.bursts.slice(midThird));
    await waitFor(() => recorder.alerts().some((a) => a.event === 'resolve'), 20_000, 'the resolve');
    await waitFor(() => latestState(recorder)?.status === 'ok', 10_000, 'the sensor to be ok again');

    const episodes = episodesAroundShifts(recorder.alerts(), s.start);
    expect([...episodes.keys()]).toEqual([open!.anomaly_id]);
    const events = episodes.get(open!.anomaly_id)!;
    expect(events[0].event).toBe('open');
    expect(events.at(-1)!.event).toBe('resolve');
    expect(events.slice(1, -1).every((e) => e.event === 'update')).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // The episode spans the shifts after the first (it opened on the first, it ends after the last).
    const resolve = events.at(-1)!;
    expect(Date.parse(resolve.end!)).toBeGreaterThanOrEqual(s.start + SHIFTS[SHIFTS.length - 1].at * 1000);
    // An update goes out only when the episode's peak becomes tenfold rarer: a handful, not one per reading.
    const updates = events.filter((e) => e.event === 'update');
    expect(updates.length).toBeLessThanOrEqual(30);

    const afterResolve = await retainedState(broker.url);
    expect(afterResolve.retain).toBe(true);
    expect(afterResolve.state.status).toBe('ok');
    expect(afterResolve.state.anomaly_id).toBeUndefined();
    expect(Date.parse(afterResolve.state.since)).toBeGreaterThanOrEqual(Date.parse(resolve.end!));

    // The operator acknowledges it with the CLI while the daemon runs; the record shows it.
    const ack = await cli(['ack', open!.anomaly_id, '--note', 'flapping valve', '--db', daemon.dbPath]);
    expect(ack).toMatchObject({ code: 0, err: '' });
    const shown = await cli(['show', open!.anomaly_id, '--json', '--db', daemon.dbPath]);
    const record = JSON.parse(shown.out) as { status: string; mark: string; markNote: string; events: { seq: number; kind: string }[] };
    expect(record).toMatchObject({ status: 'resolved', mark: 'ack', markNote: 'flapping valve' });
    expect(record.events.map((e) => [e.seq, e.kind])).toEqual(events.map((e) => [e.seq, e.event]));
    expect(await daemon.stop('SIGTERM')).toBe(0);
    console.info(`lifecycle: ${SHIFTS.length} crossings within closeAfter -> 1 episode (${events.length} alerts: open, ${updates.length} updates, resolve)`);
  }, 60_000);

  it('with a short closeAfter the same crossings are separate episodes, each opened before it resolves', async () => {
    const { daemon, recorder, sensors } = await harness(SHORT_CLOSE);
    const s = stream();
    await publish(sensors, s.bursts);
    const lastShiftEnd = s.start + (SHIFTS[SHIFTS.length - 1].at + SHIFTS[SHIFTS.length - 1].length) * 1000;
    await waitFor(
      () => recorder.alerts().some((a) => a.event === 'resolve' && Date.parse(a.end!) >= lastShiftEnd - 64_000),
      20_000,
      'the last episode to resolve',
    );
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const episodes = episodesAroundShifts(recorder.alerts(), s.start);
    expect(episodes.size).toBeGreaterThan(1);
    for (const events of episodes.values()) {
      expect(events[0].event).toBe('open');
      expect(events.at(-1)!.event).toBe('resolve');
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    }
    console.info(`lifecycle: the same ${SHIFTS.length} crossings with closeAfter ${SHORT_CLOSE} -> ${episodes.size} episodes`);
  }, 60_000);
});
