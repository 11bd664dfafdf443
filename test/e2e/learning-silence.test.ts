/**
 * A sensor that falls silent in its learning period (its first `score.learnReadings` = 256 readings) is told while it
 * is silent, a few of its own intervals after its death, like one past its learning period (finding: the README's
 * limitation "a sensor that dies in it is told once learning ends, if at all", read by a tryout as "no MQTT
 * missing-data alert"; the issue: a sensor never goes blind for longer than its own learning period, every duration
 * in its own intervals). Its silence is judged once its interval is settled (Cadence.settled: the median of a full
 * window of 31 gaps, 32 readings), by the rule used after learning (Detector.judgeSilence: against its arrivals); and
 * since branch earlydeath from its 6th reading (YOUNG_GAPS: a 1-min sensor dead after 10 readings, never told on main),
 * unless it is taken to send changes only (a report-on-change sensor whose 40 readings came on time, each a step from
 * the one before: its first quiet was told on main).
 * And not for what is no death: a report-on-change sensor's usual quiet, a restart of the daemon (the silence counts
 * from its start), a backfill (a device's buffer flushed at once, then its live readings). A sleeper in its learning
 * period is test/e2e/device-sleep.test.ts's (15 min wakes for a day: 96 readings, no missing data).
 * The daemon in-process with the embedded broker, real MQTT clients, a real SQLite file and a virtual clock (the
 * silence is the clock moved on; the daemon's periodic judgement, Daemon.judgeSilences, run as housekeeping would).
 */
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessWithHub, tempDataDir, useCleanups, yesterdayNoonUtc, type ScoredSend } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';
import { reportOnChange } from '../helpers/report-on-change.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

const cleanups = useCleanups();

/** The daemon on `dataDir` with the virtual clock `clock`, its alerts appended to `alerts`, and a hub that waits until each reading is scored. */
function started(dataDir: string, clock: () => number, alerts: AlertPayload[], tag: string): Promise<{ daemon: Daemon; send: ScoredSend }> {
  return inProcessWithHub(dataDir, clock, alerts, tag, cleanups);
}

/** A room temperature read every `interval` with ±10 % jitter, to 0.1 °C (its values repeat often). */
function periodic(seed: number, interval: number): (i: number) => { jitter: number; value: number } {
  const rnd = lcg(seed);
  return () => ({ jitter: Math.round((rnd() - 0.5) * 0.2 * interval), value: Math.round((21 + 0.4 * rnd()) * 10) / 10 });
}

/** The sensor as GET /api/sensors tells it: its status (`learning` in its learning period) and whether its silence is judged. */
async function view(daemon: Daemon, sensor: string): Promise<{ status: string; silenceJudged: boolean }> {
  const { sensors } = (await (await fetch(`${daemon.httpUrl!}/api/sensors`)).json()) as { sensors: { sensor: string; status: string; silenceJudged: boolean }[] };
  const v = sensors.find((x) => x.sensor === sensor);
  if (v === undefined) throw new Error(`${sensor} not listed`);
  return v;
}

/** Moves the clock from `from` to `to` in steps of `step` ms, the daemon judging every sensor's silence at each. */
function judgeUntil(daemon: Daemon, setNow: (t: number) => void, from: number, to: number, step: number): number {
  let t = from;
  while (t < to) {
    t = Math.min(to, t + step);
    setNow(t);
    daemon.judgeSilences();
  }
  return t;
}

const missing = (alerts: readonly AlertPayload[], sensor: string): AlertPayload[] => alerts.filter((a) => a.sensor === sensor && a.explanation?.kind === 'missing_data');

describe.skipIf(!builtAndModelsPresent())('a sensor silent in its learning period', () => {
  it.each([
    ['10 s', '40', 10 * SEC, 40],
    ['1 min', '100', MIN, 100],
    ['5 min', '200', 5 * MIN, 200],
  ] as const)('read every %s, %s readings then silent: a missing-data episode stored and alerted within a few intervals, resolved when it reads again', async (_name, _n, interval, n) => {
    const dataDir = tempDataDir('anomalyd-learning-silence-', cleanups);
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, send } = await started(dataDir, clock, alerts, 'ls');
    const next = periodic(7, interval);
    let last = now;
    for (let i = 0; i < n; i++) {
      const { jitter, value } = next(i);
      now = yesterdayNoonUtc() + i * interval + jitter;
      last = now;
      await send('sensors/cellar', JSON.stringify({ ts: now, value }));
      // Between readings the daemon judges (housekeeping): nothing while it reads.
      if (i % 5 === 4) daemon.judgeSilences();
    }
    // In its learning period, its silence judged (on main: not judged until learning ends).
    expect(await view(daemon, 'cellar')).toEqual(expect.objectContaining({ status: 'learning', silenceJudged: true }));
    expect(alerts).toEqual([]);
    // It dies: the daemon judges every 2 s (its housekeeping) for 10 of its intervals.
    judgeUntil(daemon, (t) => (now = t), last, last + 10 * interval, 2 * SEC);
    await waitFor(() => missing(alerts, 'cellar').length > 0, 10_000, 'the missing-data alert of cellar');
    const open = missing(alerts, 'cellar')[0];
    expect(open.event).toBe('open');
    // Told within a few of its own intervals of its last reading (on main: never, however long: its learning never ends).
    expect(open.explanation?.since).toBe(new Date(last).toISOString());
    expect(open.explanation?.duration_ms).toBeLessThanOrEqual(8 * interval);
    expect(open.explanation?.duration_ms).toBeGreaterThan(2 * interval);
    // Stored before it was published, as every episode (its record is there, open, with the alert's sentence).
    const record = daemon.database!.getAnomaly(open.anomaly_id);
    expect(record?.status).toBe('open');
    expect(record?.explanation?.kind).toBe('missing_data');
    expect(open.explanation?.sentence).toMatch(/^cellar no reading for .* \(missing data\)$/);
    // It reads again: resolved, one episode in all.
    now += interval;
    await send('sensors/cellar', JSON.stringify({ ts: now, value: 21.1 }));
    await waitFor(() => missing(alerts, 'cellar').some((a) => a.event === 'resolve'), 10_000, 'the resolve of the silence');
    expect(new Set(missing(alerts, 'cellar').map((a) => a.anomaly_id)).size).toBe(1);
    expect(daemon.database!.getAnomaly(open.anomaly_id)?.status).not.toBe('open');
    // Still in its learning period: the silence was judged in it, not because it ended.
    expect((await view(daemon, 'cellar')).status).toBe('learning');
  }, 120_000);

  it('read every 1 min, dead after 10 readings (its interval not settled: branch earlydeath): told within 14 of its intervals (never on main); with 5 readings, never judged', async () => {
    const dataDir = tempDataDir('anomalyd-learning-silence-few-', cleanups);
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, send } = await started(dataDir, clock, alerts, 'lsf');
    const next = periodic(3, MIN);
    let last = now;
    for (let i = 0; i < 10; i++) {
      now = yesterdayNoonUtc() + i * MIN + next(i).jitter;
      last = now;
      await send('sensors/shed', JSON.stringify({ ts: now, value: next(i).value }));
      // A second sensor that stops after 5 readings (below the floor, YOUNG_GAPS).
      if (i < 5) await send('sensors/hut', JSON.stringify({ ts: now, value: next(i).value }));
    }
    expect(await view(daemon, 'shed')).toEqual(expect.objectContaining({ status: 'learning', silenceJudged: true }));
    expect((await view(daemon, 'hut')).silenceJudged).toBe(false);
    judgeUntil(daemon, (t) => (now = t), last, last + 14 * MIN, 2 * SEC);
    await waitFor(() => missing(alerts, 'shed').length > 0, 10_000, 'the missing-data alert of shed');
    const open = missing(alerts, 'shed')[0];
    expect(open.event).toBe('open');
    expect(open.explanation?.since).toBe(new Date(last).toISOString());
    expect(open.explanation?.duration_ms).toBeGreaterThan(8 * MIN);
    expect(open.explanation?.duration_ms).toBeLessThanOrEqual(14 * MIN);
    // The one of 5 readings: nothing in 2 h.
    judgeUntil(daemon, (t) => (now = t), now, last + 2 * HOUR, 30 * SEC);
    await new Promise((r) => setTimeout(r, 200));
    expect(missing(alerts, 'hut')).toEqual([]);
  }, 120_000);

  it('a report-on-change sensor whose 40 readings came a minute apart, each a 0.5 °C step (zigbee2mqtt-like), then an hour of quiet: not told (told on main)', async () => {
    const dataDir = tempDataDir('anomalyd-learning-silence-steps-', cleanups);
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, send } = await started(dataDir, clock, alerts, 'lss');
    const rnd = lcg(21);
    let v = 20;
    let last = now;
    for (let i = 0; i < 40; i++) {
      if (i > 0) v = v <= 19.5 ? v + 0.5 : v >= 21 ? v - 0.5 : v + (rnd() < 0.5 ? -0.5 : 0.5);
      now = yesterdayNoonUtc() + i * MIN + Math.round((rnd() - 0.5) * 4 * SEC);
      last = now;
      await send('sensors/lounge', JSON.stringify({ ts: now, value: v }));
    }
    judgeUntil(daemon, (t) => (now = t), last, last + HOUR, 10 * SEC);
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.filter((a) => a.sensor === 'lounge')).toEqual([]);
    expect((await view(daemon, 'lounge')).silenceJudged).toBe(false);
  }, 120_000);

  it('a restart of the daemon is no silence of the sensor: counted from the start, and nothing once it reads on', async () => {
    const dataDir = tempDataDir('anomalyd-learning-silence-restart-', cleanups);
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    let { daemon, send } = await started(dataDir, clock, alerts, 'lsr');
    const next = periodic(5, MIN);
    let i = 0;
    for (; i < 80; i++) {
      now = yesterdayNoonUtc() + i * MIN + next(i).jitter;
      await send('sensors/loft', JSON.stringify({ ts: now, value: next(i).value }));
    }
    // Stopped for 20 min (its readings meanwhile lost; within store.checkpointMaxAgeMs, so its state is restored), started
    // again: 3 of its intervals after the start, 23 after its last reading, nothing (its silence counts from the start).
    await daemon.stop();
    now += 20 * MIN;
    ({ daemon, send } = await started(dataDir, clock, alerts, 'lsr2'));
    const start = now;
    expect(await view(daemon, 'loft')).toEqual(expect.objectContaining({ status: 'learning', silenceJudged: true }));
    judgeUntil(daemon, (t) => (now = t), start, start + 3 * MIN, 2 * SEC);
    // It reads on each minute for half an hour: nothing.
    i = Math.ceil((now - yesterdayNoonUtc()) / MIN);
    for (const end = i + 30; i < end; i++) {
      now = yesterdayNoonUtc() + i * MIN + next(i).jitter;
      await send('sensors/loft', JSON.stringify({ ts: now, value: next(i).value }));
      judgeUntil(daemon, (t) => (now = t), now, now + 50 * SEC, 10 * SEC);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts).toEqual([]);
    expect(await view(daemon, 'loft')).toEqual(expect.objectContaining({ status: 'learning', silenceJudged: true }));
    // Then it dies: told in its learning period after the restart as before it (its settled interval checkpointed).
    const last = yesterdayNoonUtc() + (i - 1) * MIN + next(i - 1).jitter;
    judgeUntil(daemon, (t) => (now = t), now, last + 10 * MIN, 2 * SEC);
    await waitFor(() => missing(alerts, 'loft').length > 0, 10_000, 'the missing-data alert of loft after the restart');
    expect(missing(alerts, 'loft')[0].explanation?.duration_ms).toBeLessThanOrEqual(8 * MIN);
  }, 120_000);

  it('a backfill (a buffer of 2 h flushed at once, then its live readings every 5 min) is no silence', async () => {
    const dataDir = tempDataDir('anomalyd-learning-silence-backfill-', cleanups);
    const t0 = yesterdayNoonUtc();
    let now = t0 + 10 * HOUR;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, send } = await started(dataDir, clock, alerts, 'lsb');
    const next = periodic(11, 5 * MIN);
    // 96 readings of 8 h, the last 2 h before now (a gateway that kept them through an outage), sent at once.
    for (let i = 0; i < 96; i++) await send('sensors/barn', JSON.stringify({ ts: t0 + i * 5 * MIN + next(i).jitter, value: next(i).value }));
    // Live again: a reading every 5 min for 2 h, the daemon judging every 30 s.
    for (let k = 0; k < 24; k++) {
      judgeUntil(daemon, (t) => (now = t), now, now + 5 * MIN, 30 * SEC);
      await send('sensors/barn', JSON.stringify({ ts: now, value: next(k).value }));
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts).toEqual([]);
    expect(await view(daemon, 'barn')).toEqual(expect.objectContaining({ status: 'learning', silenceJudged: true }));
  }, 120_000);

  it('a report-on-change sensor (0.5 °C steps, a 50 min heartbeat) is not told in its usual quiet through its learning period; dead, it is told in it', async () => {
    const dataDir = tempDataDir('anomalyd-learning-silence-roc-', cleanups);
    const t0 = yesterdayNoonUtc() - 2 * 24 * HOUR;
    const rows = reportOnChange({ seed: 7, start: t0, spanMs: 2 * 24 * HOUR, heartbeatMs: 50 * MIN });
    let now = rows[0][0];
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, send } = await started(dataDir, clock, alerts, 'lsc');
    // Its first 200 readings (all in its learning period), the daemon judging each minute between them.
    const n = 200;
    for (let i = 0; i < n; i++) {
      now = rows[i][0];
      await send('sensors/room', String(rows[i][1]));
      if (i + 1 < n) judgeUntil(daemon, (t) => (now = t), now, rows[i + 1][0] - SEC, MIN);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(await view(daemon, 'room')).toEqual(expect.objectContaining({ status: 'learning', silenceJudged: true }));
    expect(alerts).toEqual([]);
    // Dead: told in its learning period, within a day (on main: never), later than its heartbeat.
    const last = now;
    judgeUntil(daemon, (t) => (now = t), last, last + 24 * HOUR, MIN);
    await waitFor(() => missing(alerts, 'room').length > 0, 10_000, 'the missing-data alert of room');
    expect(missing(alerts, 'room')[0].explanation?.duration_ms).toBeGreaterThan(100 * MIN);
  }, 300_000);
});
