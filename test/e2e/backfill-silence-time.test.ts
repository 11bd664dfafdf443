/**
 * A device that keeps its readings while it cannot send them (a Wi-Fi or broker outage) and sends them at its return,
 * each with its own time, far faster than their times move: the daemon in-process on its embedded broker (a real MQTT
 * client, the shipped models, a real SQLite file) with a virtual clock (wall and arrival), its housekeeping run at
 * once. The silence alarmed while the device was away is told in data time, from its readings' own times: it ends at
 * the first reading the device kept (before: at that reading's arrival, 3 h later, `no reading for 3 h` beside readings
 * every minute), and says its readings came late. A buffer that kept only the first hour of the outage, the device
 * silent again after: the next silence is told from its newest reading to now (before: `no reading for 3 min since
 * 00:44` at 03:14, its reading's time with the arrival clock's minutes). A flush with a hole that runs on into the live
 * readings: its warning names the device's buffer first, not the broker alone. A history sent 5 min after its last
 * reading's time, then nothing (tryout 31, finding 1): its silence told from that reading's time to now, its alert's ts
 * the time it is sent (before: `no reading for 3 min since 17:38` sent at 17:46 with ts 17:41).
 */
import mqtt from 'mqtt';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();
const MIN = 60_000;
/** Live readings before the outage: past the learning period (score.learnReadings, 256) and the interval learnt. */
const LIVE = 500;

interface Run {
  readonly daemon: Daemon;
  readonly alerts: AlertPayload[];
  readonly warnings: string[];
  readonly pub: mqtt.MqttClient;
  /** The room sensor's value at reading i (one a minute). */
  readonly value: (i: number) => number;
  /** Moves the virtual clock to `ts` (epoch ms). */
  readonly at: (ts: number) => void;
  readonly now: () => number;
}

async function run(tag: string): Promise<Run> {
  const t0 = Date.UTC(2026, 11, 1, 20, 0);
  let now = t0;
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void warnings.push(String((JSON.parse(l) as { msg: unknown }).msg)) });
  const { daemon, url } = await inProcessDaemon({ dataDir: tempDataDir(`anomalyd-bfsil-${tag}-`, cleanups), brokerUrl: null, clock: () => now, logger, overrides: { explain: { timeZone: 'UTC' } }, cleanups });
  const alerts = await collectAlerts(url, `bfsil-${tag}-sub-${process.pid}`, cleanups);
  const pub = await mqtt.connectAsync(url, { clientId: `bfsil-${tag}-pub-${process.pid}` });
  cleanups.push(() => pub.endAsync(true));
  const rnd = lcg(5);
  const values = Array.from({ length: 2000 }, (_, i) => Math.round((21 + Math.sin(i / 120) + 0.1 * (rnd() - 0.5)) * 100) / 100);
  const r: Run = { daemon, alerts, warnings, pub, value: (i) => values[i], at: (ts) => void (now = ts), now: () => now };
  // Live: one reading a minute, each taken at its own time.
  for (let i = 0; i < LIVE; i++) {
    now = t0 + i * MIN;
    await pub.publishAsync('sensors/room', JSON.stringify({ ts: now, value: values[i] }), { qos: 1 });
    await waitFor(() => daemon.counters.scored > i, 10_000, `live reading ${i} scored`);
  }
  return r;
}

/** The device away `minutes` after its last live reading `last`: the clock moves a minute at a time, silences judged. */
async function away(r: Run, last: number, minutes: number): Promise<void> {
  for (let k = 1; k <= minutes; k++) {
    r.at(last + k * MIN);
    r.daemon.judgeSilences();
    r.daemon.housekeep();
  }
  await waitFor(() => r.alerts.some((a) => a.event === 'open'), 10_000, 'the silence alarmed');
}

describe.skipIf(!builtAndModelsPresent())('a device that kept its readings through an outage and sends them at its return', () => {
  it('its silence ends at the first reading it kept, told in data time, and says its readings came late', async () => {
    const r = await run('full');
    const last = r.now();
    await away(r, last, 180);
    const open = r.alerts.find((a) => a.event === 'open')!;
    expect(open.explanation?.kind).toBe('missing_data');
    // Back 3 h later: its buffer, every minute of the outage, in one message (its batch form), then nothing yet.
    r.at(last + 180 * MIN + 1000);
    const kept = Array.from({ length: 180 }, (_, k) => r.value(LIVE + k));
    await r.pub.publishAsync('sensors/room', JSON.stringify({ values: kept, ts: last + MIN, interval_ms: MIN }), { qos: 1 });
    await waitFor(() => r.daemon.counters.scored >= LIVE + 180, 20_000, 'the flush scored');
    await waitFor(() => r.alerts.some((a) => a.event === 'resolve'), 10_000, 'the resolve');
    const resolve = r.alerts.find((a) => a.event === 'resolve')!;
    // Its data has a reading every minute: the silence ended at the first one kept, a minute after the last live one.
    expect(resolve.end).toBe(new Date(last + MIN).toISOString());
    expect(resolve.explanation).toMatchObject({ kind: 'missing_data', since: new Date(last).toISOString(), duration_ms: MIN });
    expect(resolve.explanation!.sentence).toMatch(/^room no reading for 60 s since \d\d:\d\d, last .*; its readings from \d\d:\d\d on arrived 3 h late \(kept upstream/);
    // Its alert told hours without readings: the resolve names that silence as not the sensor's, not a contradiction
    // beside it (tryout 39, finding 8: `no reading for 9.1 h` opened, `no reading for 1 s` resolved, nothing more).
    expect(open.explanation?.duration_ms ?? 0).toBeGreaterThan(MIN);
    expect(resolve.explanation!.sentence).toMatch(/ without readings told before was not a silence of the sensor$/);
    const [record] = r.daemon.database!.listAnomalies({ sensor: 'room', limit: 5 });
    expect(record).toMatchObject({ id: open.anomaly_id, status: 'resolved', endTs: last + MIN, sentence: resolve.explanation!.sentence });
  }, 120_000);

  it('flushed the next day: its sentence names the day of its readings, not a bare time of day (tryout 30, finding 10)', async () => {
    const r = await run('day');
    const last = r.now();
    await away(r, last, 180);
    // Back a day later (the last live reading 04:19 on 2 December; its buffer of 3 h arrives at 05:19 on 3 December).
    r.at(last + 25 * 60 * MIN);
    const kept = Array.from({ length: 180 }, (_, k) => r.value(LIVE + k));
    await r.pub.publishAsync('sensors/room', JSON.stringify({ values: kept, ts: last + MIN, interval_ms: MIN }), { qos: 1 });
    await waitFor(() => r.daemon.counters.scored >= LIVE + 180, 20_000, 'the flush scored');
    await waitFor(() => r.alerts.some((a) => a.event === 'resolve'), 10_000, 'the resolve');
    const resolve = r.alerts.find((a) => a.event === 'resolve')!;
    const day = (t: number): string => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
    expect(new Date(last).getUTCDate()).not.toBe(new Date(r.now()).getUTCDate());
    expect(resolve.explanation!.sentence).toContain(`since ${day(last)}`);
    expect(resolve.explanation!.sentence).toContain(`its readings from ${day(last + MIN)} on arrived`);
  }, 120_000);

  it('a buffer that kept the first hour only, the device silent again: the next silence is told from its newest reading to now', async () => {
    const r = await run('part');
    const last = r.now();
    await away(r, last, 180);
    r.at(last + 180 * MIN + 1000);
    const kept = Array.from({ length: 60 }, (_, k) => r.value(LIVE + k));
    await r.pub.publishAsync('sensors/room', JSON.stringify({ values: kept, ts: last + MIN, interval_ms: MIN }), { qos: 1 });
    await waitFor(() => r.daemon.counters.scored >= LIVE + 60, 20_000, 'the flush scored');
    await waitFor(() => r.alerts.some((a) => a.event === 'resolve'), 10_000, 'the first silence resolved');
    // The device died again: nothing more arrives; its silence is judged a minute at a time until alarmed.
    const newest = last + 60 * MIN;
    const arrived = r.now();
    // Until its record is stored (judgeSilences stores it before it is alerted), so the clock stops where it was told.
    for (let k = 1; k <= 60 && r.daemon.database!.listAnomalies({ sensor: 'room', limit: 5 }).length < 2; k++) {
      r.at(arrived + k * MIN);
      r.daemon.judgeSilences();
      r.daemon.housekeep();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => r.alerts.filter((a) => a.event === 'open').length === 2, 10_000, 'the second silence alarmed');
    const second = r.alerts.filter((a) => a.event === 'open')[1];
    // From its newest reading (an hour into the outage) to now on the same clock: more than 2 h, not minutes.
    expect(second.explanation?.since).toBe(new Date(newest).toISOString());
    const told = second.explanation!.duration_ms!;
    expect(told).toBeGreaterThanOrEqual(r.now() - newest - MIN);
    expect(told).toBeLessThanOrEqual(r.now() - newest + MIN);
    // Its ts is the time it is told on that clock too (before: its newest reading's time plus the minutes since its
    // arrival, 2 h before it was sent).
    expect(Math.abs(Date.parse(second.ts) - r.now())).toBeLessThanOrEqual(MIN);
  }, 120_000);

  it('a flush with a hole that runs on into its live readings is warned as the device’s buffer, not the broker alone', async () => {
    const r = await run('hole');
    const last = r.now();
    await away(r, last, 600);
    // Back 10 h later: its buffer sent one message a reading (its readings 400 to 429 of the outage lost), then live.
    const back = last + 600 * MIN + 1000;
    r.at(back);
    const sent: number[] = [];
    for (let k = 1; k <= 600; k++) if (k < 400 || k >= 430) sent.push(k);
    for (const k of sent) await r.pub.publishAsync('sensors/room', JSON.stringify({ ts: last + k * MIN, value: r.value(LIVE + k) }), { qos: 1 });
    await waitFor(() => r.daemon.counters.scored >= LIVE + sent.length, 30_000, 'the flush scored');
    r.at(back + MIN);
    await r.pub.publishAsync('sensors/room', JSON.stringify({ ts: last + 601 * MIN, value: r.value(LIVE + 601) }), { qos: 1 });
    await waitFor(() => r.daemon.counters.scored >= LIVE + sent.length + 1, 10_000, 'the live reading scored');
    r.at(back + 2 * MIN);
    r.daemon.housekeep();
    const warned = (): string[] => r.warnings.filter((w) => w.startsWith('stream room: '));
    await waitFor(() => warned().length > 0, 10_000, 'the flush warned');
    expect(warned()).toHaveLength(1);
    expect(warned()[0]).toMatch(/^stream room: 30 readings missing at its interval \(60 s\) in a flush of .*then its readings went on live\): its device or gateway kept its readings/);
    expect(warned()[0]).toContain('its buffer may not have kept them all, or the broker dropped some');
    expect(r.daemon.counters.backfillMissing).toBe(30);
  }, 120_000);
  it('a history sent minutes after its last reading, then nothing: its silence runs from that reading to now, its ts the time it is sent (tryout 31, finding 1)', async () => {
    // A fresh daemon; a script publishes a day of the room's readings (one a minute) in batches, its last reading 5 min
    // before publication (less late than a backfill's 10 min: the flush's tail), then the topic goes quiet.
    const t0 = Date.UTC(2026, 11, 1, 20, 0);
    let now = t0;
    const { daemon, url } = await inProcessDaemon({ dataDir: tempDataDir('anomalyd-bfsil-tail-', cleanups), brokerUrl: null, clock: () => now, overrides: { explain: { timeZone: 'UTC' } }, cleanups });
    const alerts = await collectAlerts(url, `bfsil-tail-sub-${process.pid}`, cleanups);
    const pub = await mqtt.connectAsync(url, { clientId: `bfsil-tail-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync(true));
    const rnd = lcg(9);
    const n = 1440;
    const last = t0 - 5 * MIN;
    const rows = Array.from({ length: n }, (_, i) => ({ ts: last - (n - 1 - i) * MIN, value: Math.round((21 + Math.sin(i / 120) + 0.1 * (rnd() - 0.5)) * 100) / 100 }));
    for (let i = 0; i < n; i += 500) await pub.publishAsync('sensors/room', JSON.stringify(rows.slice(i, i + 500)), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= n, 30_000, 'the history scored');
    const arrived = now;
    // Until its record is stored (judgeSilences stores it before it is alerted), so the clock stops where it was told.
    for (let k = 1; k <= 120 && daemon.database!.listAnomalies({ sensor: 'room', limit: 5 }).length === 0; k++) {
      now = arrived + k * MIN;
      daemon.judgeSilences();
      daemon.housekeep();
    }
    await waitFor(() => alerts.some((a) => a.event === 'open'), 10_000, 'the silence alarmed');
    const open = alerts.find((a) => a.event === 'open')!;
    expect(open.explanation).toMatchObject({ kind: 'missing_data', since: new Date(last).toISOString() });
    // One account, on the clock it is sent by: from the last reading's own time to now (before: its length counted from
    // that reading's arrival, 5 min short of it, and its ts 5 min before it was sent).
    const sentAt = now;
    expect(Math.abs(Date.parse(open.ts) - sentAt)).toBeLessThanOrEqual(MIN);
    expect(Math.abs(last + open.explanation!.duration_ms! - sentAt)).toBeLessThanOrEqual(MIN);
    const minutes = Math.round(open.explanation!.duration_ms! / MIN);
    expect(open.explanation!.sentence).toMatch(new RegExp(`^room no reading for ${minutes} min since `));
  }, 120_000);
});
