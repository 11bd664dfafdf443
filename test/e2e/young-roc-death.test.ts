/**
 * A report-on-change sensor that dies in its learning period is told, in its own units (tryout 37, finding 6: a
 * zigbee2mqtt sensor, a report on each 0.1 °C change and a 60 s heartbeat, dead at its 65th reading while it learnt:
 * `sensors list` said `learning`, not stale, and its missing data came 14 min after its death; one taken to send
 * changes only is never told while it learns on main). Detector.youngDeathMs: dead after 5 of its heartbeats once its
 * longest gap recurs, else after `window.learningSilenceMs` (24 h) and 10 times its longest gap; a young sensor is not
 * evicted as idle before that (src/daemon/eviction.ts). The daemon in-process with the embedded broker, real MQTT
 * clients publishing zigbee2mqtt payloads (the `zigbee2mqtt` preset), a real SQLite file and a virtual clock: its
 * housekeeping (the silence judge, the idle eviction, the sensor states) run as its 2 s timer would.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

const cleanups = useCleanups();

/**
 * tryout 37's hall sensor as the daemon stored it (/tmp/tryout37/run/data, `readings` of hall_sensor/temperature,
 * 23:00:49 to 23:15:41): the gaps between its 65 reports (ms) and their values (°C); its humidity was 40 in each.
 */
const HALL_GAPS_MS = [5722, 3513, 10652, 2367, 1733, 5204, 37229, 8967, 2193, 27698, 5933, 6150, 6032, 1749, 1918, 39865, 3798, 4764, 40911, 4139, 1505, 60944, 1829, 14784, 8563, 34322, 23082, 18928, 2165, 5951, 12653, 17731, 11368, 14814, 12346, 32143, 33237, 7024, 1690, 6398, 1645, 3733, 46911, 47495, 3781, 28994, 2286, 59434, 5995, 2203, 27575, 8019, 2307, 5845, 1995, 4103, 16421, 2472, 1831, 19815, 13558, 20473, 8207, 14718];
const HALL_VALUES = [19.0, 18.9, 19.0, 18.9, 19.0, 18.9, 19.0, 19.1, 19.0, 19.1, 19.2, 19.1, 19.2, 19.1, 19.2, 19.1, 19.0, 19.1, 19.0, 19.1, 19.0, 19.1, 19.1, 19.0, 19.1, 19.2, 19.1, 19.2, 19.3, 19.2, 19.3, 19.2, 19.1, 19.2, 19.3, 19.2, 19.1, 19.0, 19.1, 19.0, 19.1, 19.0, 19.1, 19.2, 19.3, 19.2, 19.3, 19.2, 19.1, 19.2, 19.1, 19.2, 19.1, 19.2, 19.1, 19.2, 19.1, 19.0, 19.1, 19.0, 19.1, 19.0, 19.1, 19.0, 18.9];

/** The daemon (zigbee2mqtt preset, shipped settings otherwise) on a virtual clock, its alerts collected, and a client that publishes as zigbee2mqtt does. */
async function started(tag: string, clock: () => number): Promise<{ daemon: Daemon; alerts: AlertPayload[]; publish: (device: string, payload: object, readings: number) => Promise<void> }> {
  const dataDir = tempDataDir(`anomalyd-${tag}-`, cleanups);
  const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides: { http: { enabled: true, port: 0 }, ingest: { presets: ['zigbee2mqtt'] } }, clock, cleanups });
  const alerts = await collectAlerts(url, `${tag}-sub-${process.pid}`, cleanups);
  const hub = await mqtt.connectAsync(url, { clientId: `${tag}-z2m-${process.pid}` });
  cleanups.push(() => hub.endAsync(true));
  // One message, `readings` fields of it scored before the clock moves on.
  const publish = async (device: string, payload: object, readings: number): Promise<void> => {
    const before = daemon.counters.scored;
    await hub.publishAsync(`zigbee2mqtt/${device}`, JSON.stringify(payload), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= before + readings, 10_000, `${device} scored`);
  };
  return { daemon, alerts, publish };
}

/** Runs the daemon's housekeeping each `step` ms of virtual time from `from` to `to`, letting MQTT deliver between; stops early once `until` holds. */
async function housekeepUntil(daemon: Daemon, setNow: (t: number) => void, from: number, to: number, step: number, until: () => boolean = () => false): Promise<number> {
  let t = from;
  while (t < to && !until()) {
    t = Math.min(to, t + step);
    setNow(t);
    daemon.housekeep();
    await new Promise((r) => setImmediate(r));
  }
  return t;
}

/** The sensor as GET /api/sensors tells it. */
async function view(daemon: Daemon, sensor: string): Promise<{ status: string; silenceJudged: boolean }> {
  const { sensors } = (await (await fetch(`${daemon.httpUrl!}/api/sensors`)).json()) as { sensors: { sensor: string; status: string; silenceJudged: boolean }[] };
  const v = sensors.find((x) => x.sensor === sensor);
  if (v === undefined) throw new Error(`${sensor} not listed`);
  return v;
}

const missing = (alerts: readonly AlertPayload[]): AlertPayload[] => alerts.filter((a) => a.explanation?.kind === 'missing_data');

describe.skipIf(!builtAndModelsPresent())('a report-on-change sensor dead in its learning period, through the broker', () => {
  it('tryout 37\'s hall sensor (0.1 °C changes, 60 s heartbeat) dead at its 65th report: one missing-data alert within 5 of its heartbeats, its fields stale (13.7 min on main)', async () => {
    const readings: { ts: number; value: number }[] = [{ ts: yesterdayNoonUtc(), value: HALL_VALUES[0] }];
    HALL_GAPS_MS.forEach((g, i) => readings.push({ ts: readings[i].ts + g, value: HALL_VALUES[i + 1] }));
    let now = readings[0].ts - SEC;
    const { daemon, alerts, publish } = await started('young-roc', () => now);
    for (let i = 0; i < readings.length; i++) {
      now = readings[i].ts;
      // zigbee2mqtt's state of a temperature/humidity sensor: two fields judged (battery and linkquality are not streams).
      await publish('hall_sensor', { battery: 77, humidity: 40, linkquality: 90, temperature: readings[i].value }, 2);
      if (i + 1 < readings.length) now = await housekeepUntil(daemon, (t) => (now = t), now, readings[i + 1].ts - 100, 2 * SEC);
    }
    expect(alerts).toEqual([]);
    expect(await view(daemon, 'hall_sensor/temperature')).toEqual(expect.objectContaining({ status: 'learning' }));
    // Its heartbeat came twice (60.9 and 59.4 s apart): dead after 5 of it, 305 s.
    const last = readings[64].ts;
    await housekeepUntil(daemon, (t) => (now = t), last, last + 20 * MIN, 2 * SEC, () => missing(alerts).length > 0);
    await waitFor(() => missing(alerts).length > 0, 10_000, 'the missing-data alert of hall_sensor');
    // A little more of its silence: still one alert (its device's: both fields went silent together).
    await housekeepUntil(daemon, (t) => (now = t), now, now + 2 * MIN, 2 * SEC);
    await new Promise((r) => setTimeout(r, 200));
    const told = missing(alerts);
    expect(told.map((a) => [a.sensor, a.event])).toEqual([['hall_sensor', 'open']]);
    expect(told[0].explanation?.sentence).toMatch(/^hall_sensor: no reading from any of its 2 fields since .* \(missing data\)$/);
    expect(told[0].explanation?.since).toBe(new Date(last).toISOString());
    // Not within its usual quiet (a heartbeat), within 5 heartbeats and a tick.
    expect(told[0].explanation?.duration_ms).toBeGreaterThan(2 * 60.9 * SEC);
    expect(told[0].explanation?.duration_ms).toBeLessThanOrEqual(5 * 60.9 * SEC + 2 * SEC);
    expect((await view(daemon, 'hall_sensor/temperature')).status).toBe('stale');
    expect((await view(daemon, 'hall_sensor/humidity')).status).toBe('stale');
  }, 300_000);

  it('a sensor taken to send changes only (40 reports a minute apart, each a 0.5 °C step): its quiet told nothing for 23 h; dead, one missing-data alert at the horizon (24 h), not evicted before it (never told on main)', async () => {
    const t0 = yesterdayNoonUtc() - 26 * HOUR;
    let now = t0 - SEC;
    const { daemon, alerts, publish } = await started('young-roc-changes', () => now);
    const rnd = lcg(21);
    let v = 20;
    let last = t0;
    for (let i = 0; i < 40; i++) {
      if (i > 0) v = v <= 19.5 ? v + 0.5 : v >= 21 ? v - 0.5 : v + (rnd() < 0.5 ? -0.5 : 0.5);
      now = t0 + i * MIN + Math.round((rnd() - 0.5) * 4 * SEC);
      last = now;
      await publish('lounge', { temperature: v }, 1);
      now = await housekeepUntil(daemon, (t) => (now = t), now, now + 50 * SEC, 10 * SEC);
    }
    expect(await view(daemon, 'lounge/temperature')).toEqual(expect.objectContaining({ status: 'learning', silenceJudged: false }));
    // 23 h of quiet (its idle eviction, 1,000 of its 1 min intervals, would come at 16.7 h): nothing told.
    now = await housekeepUntil(daemon, (t) => (now = t), now, last + 23 * HOUR, MIN);
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts).toEqual([]);
    // Still listed (not evicted), `stale` (no reading for more than window.resetAfter + 1 of its intervals), not alerted.
    expect((await view(daemon, 'lounge/temperature')).status).toBe('stale');
    // Past 24 h: told once.
    await housekeepUntil(daemon, (t) => (now = t), now, last + 25 * HOUR, MIN, () => missing(alerts).length > 0);
    await waitFor(() => missing(alerts).length > 0, 10_000, 'the missing-data alert of lounge');
    await housekeepUntil(daemon, (t) => (now = t), now, now + 30 * MIN, MIN);
    await new Promise((r) => setTimeout(r, 200));
    const told = missing(alerts);
    expect(told.map((a) => [a.sensor, a.event])).toEqual([['lounge/temperature', 'open']]);
    expect(told[0].explanation?.since).toBe(new Date(last).toISOString());
    expect(told[0].explanation?.duration_ms).toBeGreaterThan(24 * HOUR);
    expect(told[0].explanation?.duration_ms).toBeLessThanOrEqual(24 * HOUR + MIN);
    expect((await view(daemon, 'lounge/temperature')).status).toBe('stale');
  }, 300_000);
});
