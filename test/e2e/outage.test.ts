/**
 * Issue 4, broker outage: mosquitto stops in the middle of a stream that produces anomalies. Alerts the
 * daemon commits while the broker is away wait in the outbox and go out, in order, once it is back;
 * every committed alert reaches a subscriber exactly once, or any repeat says `resent: true`.
 *
 * So that anomalies are committed while the broker is down (not merely before or after), the daemon is
 * paused (SIGSTOP) while a batch of anomalous readings is delivered into its socket, the broker is
 * stopped, and only then is the daemon resumed: it works through its own input buffer with no broker
 * to publish to. The rest of the stream is published once the broker is back.
 */
import { chmodSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { MqttProxy } from '../helpers/mqtt-proxy.js';
import {
  MqttRecorder,
  bursts,
  checkDelivery,
  integrityCheck,
  interleave,
  periodicShifts,
  readEventKeys,
  readOutbox,
  sensorSeries,
  type Burst,
  type OutboxEntry,
} from '../helpers/alert-stream.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const SENSORS = ['pump1', 'pump2', 'pump3', 'pump4'];
/** Covers the normalisation warm-up (512 readings) and the calibrator's learning period (state `ok` after it). */
const WARMUP = 1280;
const TOTAL = 2880;
const BURST = 160;
/** Bursts delivered into the paused daemon: at most mosquitto's default max_inflight_messages (20). */
const PAUSED_BURSTS = 20;

function streams(): { warmup: Burst[]; anomalous: Burst[] } {
  const start = Math.floor((Date.now() - 6 * 3_600_000) / 1000) * 1000;
  const perSensor = SENSORS.map((sensor, i) =>
    bursts(
      sensor,
      sensorSeries({
        sensor,
        kind: 'vibration',
        seed: 100 + i,
        startTs: start,
        readings: TOTAL,
        // A shift up and back every 160 s: each is an episode (open ... resolve) of its own.
        shifts: periodicShifts(WARMUP + 40 + 20 * i, TOTAL, 160, 60, 6),
      }),
      BURST,
    ),
  );
  const warmBursts = WARMUP / BURST;
  return {
    warmup: interleave(perSensor.map((b) => b.slice(0, warmBursts))),
    anomalous: interleave(perSensor.map((b) => b.slice(warmBursts))),
  };
}

interface OutageRun {
  readonly daemon: DaemonProcess;
  readonly recorder: MqttRecorder;
  readonly outbox: OutboxEntry[];
  /** The outbox and the number of committed events just before the broker came back. */
  readonly beforeRestart: { readonly outbox: OutboxEntry[]; readonly events: number };
  readonly stoppedAt: number;
  readonly restartedAt: number;
  readonly exitCode: number | null;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function runOutage(alerts: Record<string, number>): Promise<OutageRun> {
  const broker = new Mosquitto();
  // mosquitto started as root drops to its own user, which cannot write its persistence file into a
  // private temp dir; without persistence a restart would lose every session and this test with them.
  chmodSync(broker.dir, 0o777);
  await broker.start();
  cleanups.push(() => broker.stop());
  const daemon = new DaemonProcess({
    broker: { enabled: false },
    mqtt: { url: broker.url, clientId: 'anomalyd-outage', clean: false },
    store: { commitIntervalMs: 20 },
    alerts: { closeAfter: 8, ...alerts },
  });
  cleanups.push(async () => void (await daemon.stop('SIGKILL')));
  await daemon.start();
  const recorder = await MqttRecorder.connect(broker.url, { clientId: 'outage-recorder', clean: false, filters: ['anomalyd/alerts/+', 'anomalyd/state/+'] });
  cleanups.push(() => recorder.end());
  const sensors = await mqtt.connectAsync(broker.url, { clientId: 'outage-sensors', clean: false, reconnectPeriod: 100 });
  cleanups.push(() => sensors.endAsync(true));

  const { warmup, anomalous } = streams();
  for (const b of warmup) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
  await waitFor(
    () => SENSORS.every((s) => recorder.messages.some((m) => m.topic === `anomalyd/state/${s}` && m.payload.includes('"ok"'))),
    30_000,
    'every sensor past its learning period',
  );

  daemon.proc!.kill('SIGSTOP');
  for (const b of anomalous.slice(0, PAUSED_BURSTS)) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
  await broker.stop();
  const stoppedAt = Date.now();
  daemon.proc!.kill('SIGCONT');
  await waitFor(() => daemon.logged('mqtt offline; reconnecting').length > 0, 10_000, 'the daemon to notice the outage');
  // Let it work through its buffer against a dead broker (its reconnect attempts fail meanwhile): wait for
  // alerts committed while the broker is down, then a little longer for the rest of the buffer.
  await waitFor(() => readOutbox(daemon.dbPath).some((o) => o.createdAt >= stoppedAt), 20_000, 'alerts committed during the outage');
  await new Promise((r) => setTimeout(r, 1000));
  const beforeRestart = { outbox: readOutbox(daemon.dbPath), events: readEventKeys(daemon.dbPath).size };
  const lastIdOfOutage = beforeRestart.outbox.at(-1)?.id ?? 0;

  await broker.start();
  const restartedAt = Date.now();
  for (const b of anomalous.slice(PAUSED_BURSTS)) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
  await waitFor(
    () => {
      const rows = readOutbox(daemon.dbPath);
      // Rows beyond those of the outage come from readings published after it: the session carried on.
      return rows.length > 0 && rows[rows.length - 1].id > lastIdOfOutage && rows.every((r) => r.deliveredAt !== null);
    },
    30_000,
    'the outbox to drain, including alerts from readings sent after the outage',
  );
  const exitCode = await daemon.stop('SIGTERM');
  const outbox = readOutbox(daemon.dbPath);
  await waitFor(() => recorder.alerts().length >= outbox.length, 10_000, 'the recorder to receive every delivered alert');
  return { daemon, recorder, outbox, beforeRestart, stoppedAt, restartedAt, exitCode };
}

describe.skipIf(!ready)('broker outage (mosquitto)', () => {
  it('delivers every alert committed during the outage once the broker is back, in order, never silently twice', async () => {
    const run = await runOutage({});
    const { outbox, stoppedAt, restartedAt } = run;
    const duringOutage = outbox.filter((o) => o.createdAt >= stoppedAt && o.createdAt < restartedAt);
    expect(duringOutage.length).toBeGreaterThan(0);

    const report = checkDelivery(outbox, run.recorder.receipts(), readEventKeys(run.daemon.dbPath));
    expect(report.missing).toEqual([]);
    expect(report.unknown).toEqual([]);
    expect(report.silentDuplicates).toEqual([]);
    expect(report.outOfOrder).toBe(0);
    // Every committed event has its outbox row: nothing was dropped at this outbox size.
    expect(outbox.length).toBe(readEventKeys(run.daemon.dbPath).size);
    expect(run.exitCode).toBe(0);
    expect(integrityCheck(run.daemon.dbPath)).toBe('ok');

    const drainedAt = Math.max(...duringOutage.map((o) => o.deliveredAt!));
    console.info(
      `outage: ${outbox.length} alerts, ${duringOutage.length} committed while the broker was down, ` +
        `all delivered ${drainedAt - restartedAt} ms after it restarted; resent ${report.resent}, duplicates ${report.duplicates} (broker DUP ${report.brokerRepeats})`,
    );
  }, 60_000);

  it('bounds the outbox during a long outage: drops the oldest undelivered alerts, counts and logs them, delivers the rest in order', async () => {
    const outboxMax = 3;
    const run = await runOutage({ outboxMax });
    const { outbox, daemon } = run;
    const dropLogs = daemon.lines.filter((l) => l.msg === 'outbox full: dropped the oldest undelivered alerts');
    expect(dropLogs.length).toBeGreaterThan(0);
    const droppedTotal = Math.max(...dropLogs.map((l) => l.droppedTotal as number));

    const events = readEventKeys(daemon.dbPath);
    const received = run.recorder.alerts();
    const report = checkDelivery(outbox, run.recorder.receipts(), events);
    expect(report.missing).toEqual([]);
    expect(report.unknown).toEqual([]);
    expect(report.silentDuplicates).toEqual([]);
    expect(report.outOfOrder).toBe(0);
    // The history keeps every event; the alerts that never went out are exactly the dropped ones.
    const receivedKeys = new Set(received.map((a) => `${a.anomaly_id}#${a.seq}`));
    const neverSent = [...events].filter((k) => !receivedKeys.has(k));
    // A row dropped while its publish was in flight still went out; with one publish in flight, at most
    // one such row per drop.
    expect(neverSent.length).toBeLessThanOrEqual(droppedTotal);
    expect(neverSent.length).toBeGreaterThanOrEqual(droppedTotal - dropLogs.length);
    // Oldest first: just before the restart, the alerts still waiting were the newest ones, at most outboxMax.
    const waiting = run.beforeRestart.outbox.filter((o) => o.deliveredAt === null);
    expect(run.beforeRestart.events).toBeGreaterThan(run.beforeRestart.outbox.length);
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.length).toBeLessThanOrEqual(outboxMax);
    expect(waiting).toEqual(run.beforeRestart.outbox.slice(-waiting.length));
    expect(run.exitCode).toBe(0);
    console.info(`outage with outboxMax ${outboxMax}: ${droppedTotal} oldest alerts dropped (${droppedTotal - neverSent.length} of them already in flight, so sent), ${waiting.length} waiting at the restart`);
  }, 60_000);
});

/**
 * A link failure where the broker got an alert but its PUBACK never came back. After the reconnect
 * mqtt.js retransmits the stored packet by itself, with the payload of the first send (`resent: false`),
 * and the broker passes it on again: a silent duplicate, against docs/ALERTS.md guarantee 3. The fix is
 * in the MQTT adapter (a publish for the outbox that drops the message from mqtt.js's store when the
 * connection closes, so the outbox's own retry, flagged resent, is the only repeat); until it is wired,
 * the second test below is expected to fail.
 */
describe.skipIf(!ready)('lost PUBACK on a failing link (mosquitto behind a proxy)', () => {
  let run: { outbox: OutboxEntry[]; report: ReturnType<typeof checkDelivery>; droppedPubacks: number; exitCode: number | null } | null = null;
  const local: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const broker = new Mosquitto();
    chmodSync(broker.dir, 0o777); // see runOutage
    await broker.start();
    local.push(() => broker.stop());
    const proxy = new MqttProxy(broker.port);
    await proxy.start();
    local.push(() => proxy.stop());
    const daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: proxy.url, clientId: 'anomalyd-link', clean: false },
      store: { commitIntervalMs: 20 },
      alerts: { closeAfter: 8 },
    });
    local.push(async () => void (await daemon.stop('SIGKILL')));
    await daemon.start();
    const recorder = await MqttRecorder.connect(broker.url, { clientId: 'link-recorder', clean: false, filters: ['anomalyd/alerts/+', 'anomalyd/state/+'] });
    local.push(() => recorder.end());
    const sensors = await mqtt.connectAsync(broker.url, { clientId: 'link-sensors', clean: false });
    local.push(() => sensors.endAsync(true));

    const { warmup, anomalous } = streams();
    for (const b of warmup) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
    await waitFor(
      () => SENSORS.every((s) => recorder.messages.some((m) => m.topic === `anomalyd/state/${s}` && m.payload.includes('"ok"'))),
      30_000,
      'every sensor past its learning period',
    );
    // Let whatever the warm-up caused go out first, so the PUBACK lost below is that of a new alert.
    await new Promise((r) => setTimeout(r, 300));
    await waitFor(() => readOutbox(daemon.dbPath).every((r) => r.deliveredAt !== null), 10_000, 'a quiet outbox');
    const before = recorder.alerts().length;
    proxy.dropPubacks = true;
    for (const b of anomalous.slice(0, 8)) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
    // The broker has the alert and passed it on; the daemon never hears that it did.
    await waitFor(() => recorder.alerts().length > before, 20_000, 'an alert to reach the broker');
    proxy.dropPubacks = false;
    proxy.cutConnections();
    await waitFor(() => proxy.connections > 1, 10_000, 'the daemon to reconnect');
    for (const b of anomalous.slice(8)) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
    await waitFor(() => readOutbox(daemon.dbPath).every((r) => r.deliveredAt !== null), 30_000, 'the outbox to drain');
    const exitCode = await daemon.stop('SIGTERM');
    const outbox = readOutbox(daemon.dbPath);
    await waitFor(() => new Set(recorder.alerts().map((a) => `${a.anomaly_id}#${a.seq}`)).size >= outbox.length, 10_000, 'every delivered alert');
    const report = checkDelivery(outbox, recorder.receipts(), readEventKeys(daemon.dbPath));
    run = { outbox, report, droppedPubacks: proxy.droppedPubacks, exitCode };
    console.info(
      `lost PUBACK: ${proxy.droppedPubacks} PUBACKs lost, ${outbox.length} alerts; resent ${report.resent}, ` +
        `duplicates ${report.duplicates}, silent duplicates ${report.silentDuplicates.length}`,
    );
  }, 60_000);
  afterAll(async () => {
    for (const c of local.splice(0).reverse()) await c();
  });

  it('still delivers every committed alert, in order, and nothing else', () => {
    expect(run!.droppedPubacks).toBeGreaterThan(0);
    expect(run!.outbox.length).toBeGreaterThan(0);
    expect(run!.report.missing).toEqual([]);
    expect(run!.report.unknown).toEqual([]);
    expect(run!.report.outOfOrder).toBe(0);
    expect(run!.exitCode).toBe(0);
  });

  it('flags the repeat of an alert whose PUBACK was lost as resent', () => {
    expect(run!.report.silentDuplicates).toEqual([]);
  });
});

/**
 * Tryout 16, findings 1 and 3: one alert's PUBACK never came back while the connection stayed up (mosquitto 2.0
 * drops any packet queued for a client whose outgoing queue already holds max_queued_messages, PUBACKs included,
 * during a junk flood the daemon read slower than it came). mqtt.js repeats a PUBLISH only on a new connection,
 * so the outbox waited on it for ever with `connected` true and every later alert queued behind it; a SIGTERM
 * logged `stopped` and left the process alive with its socket open. Here the proxy withholds the PUBACKs of alert
 * topics and nothing else: the link is never cut by the test.
 */
describe.skipIf(!ready)('a PUBACK that never comes on a live link (mosquitto behind a proxy)', () => {
  const KEEPALIVE_SEC = 2;
  const DEADLINE_MS = 3000;
  const local: (() => Promise<void>)[] = [];
  let proxy: MqttProxy;
  let daemon: DaemonProcess;
  let recorder: MqttRecorder;
  let sensors: MqttClient;
  let anomalous: Burst[] = [];
  const isAlert = (topic: string): boolean => topic.startsWith('anomalyd/alerts/');

  beforeAll(async () => {
    const broker = new Mosquitto();
    chmodSync(broker.dir, 0o777); // see runOutage
    await broker.start();
    local.push(() => broker.stop());
    proxy = new MqttProxy(broker.port);
    await proxy.start();
    local.push(() => proxy.stop());
    daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: proxy.url, clientId: 'anomalyd-wedge', clean: false, keepaliveSec: KEEPALIVE_SEC },
      store: { commitIntervalMs: 20 },
      alerts: { closeAfter: 8 },
      shutdown: { deadlineMs: DEADLINE_MS },
    });
    local.push(async () => void (await daemon.stop('SIGKILL')));
    await daemon.start();
    recorder = await MqttRecorder.connect(broker.url, { clientId: 'wedge-recorder', clean: false, filters: ['anomalyd/alerts/+', 'anomalyd/state/+'] });
    local.push(() => recorder.end());
    sensors = await mqtt.connectAsync(broker.url, { clientId: 'wedge-sensors', clean: false });
    local.push(() => sensors.endAsync(true));
    const s = streams();
    anomalous = s.anomalous;
    for (const b of s.warmup) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
    await waitFor(
      () => SENSORS.every((x) => recorder.messages.some((m) => m.topic === `anomalyd/state/${x}` && m.payload.includes('"ok"'))),
      30_000,
      'every sensor past its learning period',
    );
    await new Promise((r) => setTimeout(r, 300));
    await waitFor(() => readOutbox(daemon.dbPath).every((r) => r.deliveredAt !== null), 10_000, 'a quiet outbox');
  }, 60_000);
  afterAll(async () => {
    for (const c of local.splice(0).reverse()) await c();
  });

  it('renews the connection once the PUBACK is overdue (the keepalive), sends the alert again flagged resent, and the alerts behind it follow', async () => {
    const before = recorder.alerts().length;
    const connectionsBefore = proxy.connections;
    // The PUBACK of the next alert publish only.
    proxy.withholdPubackOf = (topic) => isAlert(topic) && proxy.withheld === 0;
    for (const b of anomalous.slice(0, 8)) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
    await waitFor(() => proxy.withheld === 1, 20_000, 'an alert whose PUBACK is withheld');
    proxy.withholdPubackOf = null;
    // The broker passed the withheld alert on: it is the first one after `before`.
    const withheld = recorder.alerts()[before];
    expect(withheld.resent).toBeFalsy();
    const key = `${withheld.anomaly_id}#${withheld.seq}`;
    // More alerts behind it; all go out without the test touching the link (main: held until a restart).
    for (const b of anomalous.slice(8, 12)) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
    await waitFor(() => readOutbox(daemon.dbPath).every((r) => r.deliveredAt !== null), 60_000, 'the outbox to drain by itself');
    const outbox = readOutbox(daemon.dbPath);
    const row = outbox.find((o) => `${o.anomalyId}#${o.seq}` === key)!;
    expect(outbox.some((o) => o.id > row.id)).toBe(true);
    await waitFor(() => new Set(recorder.alerts().map((a) => `${a.anomaly_id}#${a.seq}`)).size >= outbox.length, 10_000, 'every delivered alert');

    // The daemon ended its own connection once (the proxy saw one new connection) and sent it again, flagged.
    expect(proxy.connections).toBe(connectionsBefore + 1);
    const copies = recorder.alerts().filter((a) => `${a.anomaly_id}#${a.seq}` === key);
    expect(copies.length).toBe(2);
    expect(copies[1].resent).toBe(true);
    const report = checkDelivery(outbox, recorder.receipts(), readEventKeys(daemon.dbPath));
    expect(report.missing).toEqual([]);
    expect(report.unknown).toEqual([]);
    expect(report.silentDuplicates).toEqual([]);
    expect(report.outOfOrder).toBe(0);
    // Logged at warn once, with the alert's outbox id; /api/status counts it (and none is overdue now).
    const warned = daemon.lines.filter((l) => /^outbox: alert not acknowledged/.test(l.msg));
    expect(warned.map((l) => [l.level, l.outboxId])).toEqual([[40, row.id]]);
    const ready = daemon.logged('ready').at(-1) as unknown as { http: string };
    const status = (await (await fetch(`${ready.http}/api/status`)).json()) as { outbox: { overdue?: { count: number; current: unknown } } };
    expect(status.outbox.overdue).toEqual({ count: 1, current: null });
  }, 90_000);

  it('a SIGTERM with an alert unacknowledged ends the process within the deadline; the restart sends it, flagged resent', async () => {
    proxy.withholdPubackOf = isAlert;
    const withheldBefore = proxy.withheld;
    for (const b of anomalous.slice(12)) await sensors.publishAsync(b.topic, b.payload, { qos: 1 });
    await waitFor(() => proxy.withheld > withheldBefore, 20_000, 'an alert whose PUBACK is withheld');
    daemon.proc!.kill('SIGTERM');
    // Generous: the deadline (3 s) plus the time to close SQLite and the worker on a busy machine. On main the
    // process stays alive with its socket open until a second signal.
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([daemon.waitExit(), new Promise<'alive'>((r) => (timer = setTimeout(() => r('alive'), 20_000)))]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(daemon.logged('stopped')).toHaveLength(1);
    expect(daemon.lines.some((l) => l.msg.startsWith('second signal'))).toBe(false);

    // The data directory is free again, and what was unacknowledged goes out flagged resent.
    proxy.withholdPubackOf = null;
    await daemon.start();
    await waitFor(() => readOutbox(daemon.dbPath).every((r) => r.deliveredAt !== null), 30_000, 'the outbox to drain after the restart');
    const outbox = readOutbox(daemon.dbPath);
    await waitFor(() => new Set(recorder.alerts().map((a) => `${a.anomaly_id}#${a.seq}`)).size >= outbox.length, 10_000, 'every delivered alert');
    const report = checkDelivery(outbox, recorder.receipts(), readEventKeys(daemon.dbPath));
    expect(report.missing).toEqual([]);
    expect(report.silentDuplicates).toEqual([]);
    expect(report.resent).toBeGreaterThan(0);
  }, 90_000);
});
