/**
 * Issue 4, crash: the daemon is killed with SIGKILL at random moments (seeded) while alerts flow, twenty
 * times in a row. After each kill the database passes PRAGMA integrity_check and everything the subscriber
 * has seen is in it (store before send); after each restart every alert committed before the kill is
 * delivered at least once, and a repeat of an earlier send says `resent: true`.
 *
 * The sensors' readings are pre-computed with a level shift every 100 s, so each cycle's readings open and
 * resolve episodes: the daemon is always either committing or publishing alerts when it is killed.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/train/rng.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import {
  MqttRecorder,
  bursts,
  checkDelivery,
  integrityCheck,
  interleave,
  keyOf,
  periodicShifts,
  readEventPayloads,
  readOutbox,
  sensorSeries,
  type Burst,
} from '../helpers/alert-stream.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const SENSORS = ['fan1', 'fan2', 'fan3', 'fan4', 'fan5', 'fan6', 'fan7', 'fan8'];
const KILLS = 20;
const SEED = 20260104;
const WARMUP = 1280;
const BURST = 160;
/** Bursts per sensor per cycle: 320 readings with three level shifts, so several alerts per sensor. */
const BURSTS_PER_CYCLE = 2;
/** After the cycle's first new alert is committed, the kill comes within this many ms. */
const KILL_WITHIN_MS = 100;
const FROZEN_EVERY = 4;

/** The test's own mosquitto child; its handle is private to the helper. */
function signalBroker(broker: Mosquitto, signal: NodeJS.Signals): void {
  const proc = (broker as unknown as { proc: ChildProcess | null }).proc;
  if (proc === null) throw new Error('mosquitto is not running');
  proc.kill(signal);
}

function streams(): { warmup: Burst[]; cycles: Burst[][] } {
  const start = Math.floor((Date.now() - 12 * 3_600_000) / 1000) * 1000;
  const total = WARMUP + (KILLS + 1) * BURSTS_PER_CYCLE * BURST;
  const perSensor = SENSORS.map((sensor, i) =>
    bursts(
      sensor,
      sensorSeries({ sensor, kind: 'vibration', seed: 300 + i, startTs: start, readings: total, shifts: periodicShifts(WARMUP + 30 + 10 * i, total, 100, 40, 6) }),
      BURST,
    ),
  );
  const warmBursts = WARMUP / BURST;
  const cycles: Burst[][] = [];
  for (let c = 0; c <= KILLS; c++) {
    const from = warmBursts + c * BURSTS_PER_CYCLE;
    cycles.push(interleave(perSensor.map((b) => b.slice(from, from + BURSTS_PER_CYCLE))));
  }
  return { warmup: interleave(perSensor.map((b) => b.slice(0, warmBursts))), cycles };
}

/** DaemonProcess.start() keeps the previous run's exit code, which its ready-wait takes for a failed start. */
async function startAgain(daemon: DaemonProcess): Promise<void> {
  daemon.exitCode = null;
  await daemon.start();
}

describe.skipIf(!ready)('crash: SIGKILL while publishing (mosquitto)', () => {
  const broker = new Mosquitto();
  let daemon: DaemonProcess;
  let recorder: MqttRecorder;
  let sensors: MqttClient;

  beforeAll(async () => {
    // mosquitto drops root to its own user, which must be able to write its persistence file here.
    chmodSync(broker.dir, 0o777);
    await broker.start();
    daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: broker.url, clientId: 'anomalyd-crash', clean: false },
      store: { commitIntervalMs: 20, checkpointIntervalMs: 1000 },
      alerts: { closeAfter: 8 },
    });
    recorder = await MqttRecorder.connect(broker.url, { clientId: 'crash-recorder', clean: false, filters: ['anomalyd/alerts/+', 'anomalyd/state/+'] });
    sensors = await mqtt.connectAsync(broker.url, { clientId: 'crash-sensors', clean: false });
  });
  afterAll(async () => {
    await sensors?.endAsync(true);
    await recorder?.end();
    await daemon?.stop('SIGKILL');
    await broker.stop();
  });

  it(`loses no committed alert and sends none that is not committed across ${KILLS} SIGKILLs`, async () => {
    const rng = mulberry32(SEED);
    const { warmup, cycles } = streams();
    const publish = async (list: readonly Burst[]): Promise<void> => {
      for (const b of list) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
    };
    const receivedKeys = (): Set<string> => new Set(recorder.alerts().map(keyOf));

    // Learn the sensors once and leave a checkpoint, so that every restart scores at once.
    await daemon.start();
    await publish(warmup);
    await waitFor(
      () => SENSORS.every((s) => recorder.messages.some((m) => m.topic === `anomalyd/state/${s}` && m.payload.includes('"ok"'))),
      30_000,
      'every sensor past its learning period',
    );
    expect(await daemon.stop('SIGTERM')).toBe(0);

    const killDelays: number[] = [];
    const undeliveredAtKill: number[] = [];
    let inFlightAtKill = 0;
    /** Alerts whose publish had started when the daemon died: whatever reaches us again must say resent. */
    const mustBeResent: string[] = [];
    for (let cycle = 0; cycle < KILLS; cycle++) {
      const committedBefore = readOutbox(daemon.dbPath);
      await startAgain(daemon);
      // Everything committed before the last kill goes out after the restart, at least once.
      const owed = committedBefore.map(keyOf);
      await waitFor(() => {
        const got = receivedKeys();
        return owed.every((k) => got.has(k));
      }, 20_000, `cycle ${cycle}: delivery of the ${owed.length} alerts committed before the restart`);

      const lastId = committedBefore.at(-1)?.id ?? 0;
      await publish(cycles[cycle]);
      // Every FROZEN_EVERY-th cycle the broker is frozen before the daemon's alerts reach it: the kill
      // then surely lands while publishes wait for their PUBACK, the case that needs `resent`.
      const frozen = cycle % FROZEN_EVERY === FROZEN_EVERY - 1;
      if (frozen) signalBroker(broker, 'SIGSTOP');
      await waitFor(() => readOutbox(daemon.dbPath).some((o) => o.id > lastId), 20_000, `cycle ${cycle}: a new alert`);
      const delay = Math.floor(rng() * KILL_WITHIN_MS);
      killDelays.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      await daemon.stop('SIGKILL');
      if (frozen) signalBroker(broker, 'SIGCONT');

      expect(integrityCheck(daemon.dbPath)).toBe('ok');
      const committed = readEventPayloads(daemon.dbPath);
      const afterKill = readOutbox(daemon.dbPath);
      undeliveredAtKill.push(afterKill.filter((o) => o.deliveredAt === null).length);
      const inFlight = afterKill.filter((o) => o.deliveredAt === null && o.attempts > 0);
      inFlightAtKill += inFlight.length;
      mustBeResent.push(...inFlight.map(keyOf));
      // Store before send: whatever reached the broker is committed, with the very payload received.
      for (const { alert } of recorder.receipts()) {
        const stored = committed.get(keyOf(alert));
        expect(stored, `received ${keyOf(alert)} is not in the database`).toBeDefined();
        expect({ ...alert, resent: false }).toEqual(stored);
      }
    }

    // A last, clean run delivers whatever the last kill left behind.
    await startAgain(daemon);
    await publish(cycles[KILLS]);
    await waitFor(() => readOutbox(daemon.dbPath).every((o) => o.deliveredAt !== null), 20_000, 'the outbox to drain');
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const outbox = readOutbox(daemon.dbPath);
    await waitFor(() => receivedKeys().size >= outbox.length, 10_000, 'the recorder to catch up');

    const report = checkDelivery(outbox, recorder.receipts(), new Set(readEventPayloads(daemon.dbPath).keys()));
    expect(report.missing).toEqual([]);
    expect(report.unknown).toEqual([]);
    expect(report.silentDuplicates).toEqual([]);
    expect(integrityCheck(daemon.dbPath)).toBe('ok');
    // The frozen-broker cycles make sure some kills landed while a publish awaited its PUBACK.
    expect(mustBeResent.length).toBeGreaterThan(0);
    const resentKeys = new Set(recorder.alerts().filter((a) => a.resent).map(keyOf));
    expect(mustBeResent.filter((k) => !resentKeys.has(k))).toEqual([]);
    console.info(
      `crash: ${KILLS} SIGKILLs (${killDelays.join(',')} ms after the cycle's first new alert); ${outbox.length} alerts committed, ` +
        `undelivered at the kills: ${undeliveredAtKill.join(',')} (${inFlightAtKill} of them mid-publish); received ${report.received}, resent ${report.resent}, ` +
        `duplicates ${report.duplicates} (broker DUP ${report.brokerRepeats}), out of order ${report.outOfOrder}`,
    );
  }, 120_000);
});
