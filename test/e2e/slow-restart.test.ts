/**
 * Tryout 38, finding 1: a clean restart reset every slow sensor. Its history loaded over MQTT in one message each (60
 * days of an hourly meter, 1,440 readings), such a stream was taken for one heard once (a one-shot topic of a flood:
 * src/pipeline/admit.ts) and never checkpointed, so it went back to learning (256 readings: 10.7 days of an hourly
 * sensor) and its open episode was resolved at start as "left open by an unclean stop". And a checkpoint older than
 * store.checkpointMaxAgeMs (1 h) was dropped whatever the stream's pace: a downtime of 2 h reset an hourly sensor as a
 * 1 Hz one. The daemon in-process (its embedded broker, a real SQLite file) with a virtual clock:
 *   - an hourly sensor backfilled in one message, an episode open at its end, stopped cleanly and started again 2 h
 *     later: restored (not learning), its episode still open, and resolved `recovered` by its readings after;
 *   - a 1 Hz sensor is restored after a downtime of 70 min (its span: 1,000 of its intervals, its idle span, plus
 *     checkpointMaxAgeMs: 1 h 17 min), and starts over after one longer than that (the option's purpose: a state gone
 *     stale), its silence episode open at the stop resolved at start with `resolution: interrupted`.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import type { SensorView } from '../../src/http/view.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { capturingLogger, collectAlerts, inProcessDaemon, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

interface Run {
  readonly daemon: Daemon;
  readonly lines: { level: number; msg: string }[];
  readonly pub: mqtt.MqttClient;
}

/** One run of the daemon on `dataDir` with the virtual clock `clock`; its alerts appended to `alerts`. */
async function start(dataDir: string, clock: () => number, alerts: AlertPayload[], tag: string): Promise<Run> {
  const { logger, lines } = capturingLogger();
  const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, clock, logger, overrides: { explain: { timeZone: 'UTC' }, store: { commitIntervalMs: 0 } }, cleanups });
  await collectAlerts(url, `slowrs-${tag}-sub-${process.pid}`, cleanups, alerts);
  const pub = await mqtt.connectAsync(url, { clientId: `slowrs-${tag}-pub-${process.pid}` });
  cleanups.push(() => pub.endAsync(true));
  return { daemon, lines, pub };
}

/** The run's `sensor checkpoints` line (logged at start; the logger's stream may hand it over a tick later). */
async function restoredLine(run: Run): Promise<Record<string, unknown>> {
  await waitFor(() => run.lines.some((l) => l.msg === 'sensor checkpoints'), 10_000, 'the checkpoints line');
  return run.lines.find((l) => l.msg === 'sensor checkpoints')!;
}

/** What GET /api/sensors lists of `stream`, or undefined. */
async function listed(daemon: Daemon, stream: string): Promise<SensorView | undefined> {
  const body = (await (await fetch(`${daemon.httpUrl!}/api/sensors`)).json()) as { sensors: SensorView[] };
  return body.sensors.find((s) => s.sensor === stream);
}

describe.skipIf(!builtAndModelsPresent())('slow sensors across a clean restart (tryout 38, finding 1)', () => {
  it('an hourly sensor backfilled in one message with an episode open: restored 2 h later, not learning, its episode goes on and resolves recovered', async () => {
    const dataDir = tempDataDir('anomalyd-slowrs-hourly-', cleanups);
    const alerts: AlertPayload[] = [];
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const rnd = lcg(38);
    // 400 hourly readings (16.7 days) ending 20 min before they are published: a daily cycle, the last one far below
    // it (a spike, its episode open at the end of the history).
    const N = 400;
    const SHIFT = 1;
    const last = now - 20 * MIN;
    const normal = (i: number): number => Math.round((35 + 2 * Math.sin((2 * Math.PI * i) / 24) + 0.3 * (rnd() - 0.5)) * 10) / 10;
    const rows = Array.from({ length: N }, (_, i) => ({ ts: last - (N - 1 - i) * HOUR, value: i < N - SHIFT ? normal(i) : Math.round((20 + 0.3 * (rnd() - 0.5)) * 10) / 10 }));
    const first = await start(dataDir, clock, alerts, 'h1');
    await first.pub.publishAsync('sensors/soil', JSON.stringify(rows), { qos: 1 });
    await waitFor(() => first.daemon.counters.scored >= N, 30_000, 'the history scored');
    await waitFor(() => alerts.some((a) => a.sensor === 'soil' && a.event === 'open'), 10_000, 'the level shift told');
    const open = alerts.find((a) => a.sensor === 'soil' && a.event === 'open')!;
    expect(first.daemon.database!.getAnomaly(open.anomaly_id)?.status).toBe('open');
    expect((await listed(first.daemon, 'soil'))?.status).toBe('anomalous');
    expect(await first.daemon.stop()).toBe(true);

    // Started again 2 h later: a downtime longer than store.checkpointMaxAgeMs (1 h), short for an hourly sensor.
    now += 2 * HOUR;
    const second = await start(dataDir, clock, alerts, 'h2');
    expect(await restoredLine(second)).toMatchObject({ restored: 1, stale: 0 });
    expect(second.lines.filter((l) => /resolved at start/.test(l.msg))).toEqual([]);
    expect((await listed(second.daemon, 'soil'))?.status).toBe('anomalous');
    expect(second.daemon.database!.getAnomaly(open.anomaly_id)?.status).toBe('open');
    expect(alerts.filter((a) => a.sensor === 'soil' && a.event === 'resolve')).toEqual([]);

    // Its readings come back to normal, one an hour: the episode it had open before the restart resolves, recovered.
    let sent = 0;
    for (let k = 0; k < 40 && !alerts.some((a) => a.sensor === 'soil' && a.event === 'resolve'); k++) {
      now = last + (3 + k) * HOUR;
      await second.pub.publishAsync('sensors/soil', JSON.stringify({ ts: now - 2 * SEC, value: normal(N + 2 + k) }), { qos: 1 });
      sent++;
      await waitFor(() => second.daemon.counters.scored >= sent, 10_000, `live reading ${k} scored`);
      second.daemon.judgeSilences();
    }
    await waitFor(() => alerts.some((a) => a.sensor === 'soil' && a.event === 'resolve'), 10_000, 'the resolve');
    const resolve = alerts.find((a) => a.sensor === 'soil' && a.event === 'resolve')!;
    expect(resolve).toMatchObject({ anomaly_id: open.anomaly_id, resolution: 'recovered' });
    // Not one reading of it was in a learning period after the restart.
    expect((await listed(second.daemon, 'soil'))?.status).toBe('ok');
  }, 180_000);

  it('a 1 Hz sensor: restored after 70 min down (its span 1 h 17 min), started over after a downtime longer than that, its open silence resolved interrupted', async () => {
    const dataDir = tempDataDir('anomalyd-slowrs-fast-', cleanups);
    const alerts: AlertPayload[] = [];
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const rnd = lcg(7);
    const N = 600;
    // 600 readings a second apart, sent live in messages of 100 (each its arrival at its last reading's time).
    const first = await start(dataDir, clock, alerts, 'f1');
    const t0 = now;
    for (let m = 0; m < N / 100; m++) {
      now = t0 + (m + 1) * 100 * SEC;
      const rows = Array.from({ length: 100 }, (_, j) => ({ ts: t0 + (m * 100 + j + 1) * SEC, value: Math.round((50 + Math.sin((m * 100 + j) / 30) + 0.2 * (rnd() - 0.5)) * 100) / 100 }));
      await first.pub.publishAsync('sensors/pump', JSON.stringify(rows), { qos: 1 });
      await waitFor(() => first.daemon.counters.scored >= (m + 1) * 100, 20_000, `message ${m} scored`);
    }
    expect((await listed(first.daemon, 'pump'))?.status).toBe('ok');
    expect(await first.daemon.stop()).toBe(true);

    // 70 min down: older than store.checkpointMaxAgeMs (which alone dropped it before), within its span: restored.
    now += 70 * MIN;
    const second = await start(dataDir, clock, alerts, 'f2');
    expect(await restoredLine(second)).toMatchObject({ restored: 1, stale: 0 });
    expect((await listed(second.daemon, 'pump'))?.status).not.toBe('learning');
    // It never reads again: its silence is told while it lasts.
    for (let k = 0; k < 60 && !alerts.some((a) => a.sensor === 'pump' && a.event === 'open'); k++) {
      now += 10 * SEC;
      second.daemon.judgeSilences();
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => alerts.some((a) => a.sensor === 'pump' && a.event === 'open'), 10_000, 'the silence told');
    const silence = alerts.find((a) => a.sensor === 'pump' && a.event === 'open')!;
    expect(silence.explanation?.kind).toBe('missing_data');
    expect(await second.daemon.stop()).toBe(true);

    // 2 h more: its state is older than any silence the running daemon would keep it through (evicted after 1,000
    // intervals, revived within checkpointMaxAgeMs): it starts over, and its silence cannot go on.
    now += 2 * HOUR;
    const third = await start(dataDir, clock, alerts, 'f3');
    expect(await restoredLine(third)).toMatchObject({ restored: 0, stale: 1 });
    await waitFor(() => third.lines.some((l) => /resolved at start/.test(l.msg)), 10_000, 'the resolve at start logged');
    const why = third.lines.filter((l) => /resolved at start/.test(l.msg));
    expect(why).toEqual([expect.objectContaining({ sensor: 'pump', anomalyId: silence.anomaly_id, why: 'checkpoint too old' })]);
    // Its resolve, stored and queued at start (published before a subscriber of this run could hear it).
    const record = third.daemon.database!.getAnomaly(silence.anomaly_id)!;
    expect(record.status).toBe('resolved');
    expect(record.events.at(-1)).toMatchObject({ kind: 'resolve', payload: { event: 'resolve', resolution: 'interrupted' } });
    expect(await listed(third.daemon, 'pump')).toBeUndefined();
    // Its next reading starts it afresh: learning.
    await third.pub.publishAsync('sensors/pump', JSON.stringify({ ts: now, value: 50 }), { qos: 1 });
    await waitFor(() => third.daemon.counters.scored >= 1, 10_000, 'the reading scored');
    expect((await listed(third.daemon, 'pump'))?.status).toBe('learning');
  }, 180_000);
});
