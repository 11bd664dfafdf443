/**
 * A sensor that falls silent is alarmed while it is still silent (docs/ALERTS.md, "When a silence is told"):
 * the daemon in-process with the embedded broker, a real MQTT client, a real SQLite file, and an injected
 * wall clock (virtual time: the silence is the clock moved on, and the daemon's periodic judgement is run at
 * once, as its housekeeping would within 2 s). A noisy sensor with normal history goes silent: a missing-data
 * alert is stored and published while it is silent, and resolved at its next reading, one episode in all; a
 * report-on-change sensor silent as long as its quiet usually is gets none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent, evictedSensors, inProcessConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
const MIN = 60 * SEC;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The daemon on `dataDir` with the clock `clock` (wall and arrival), started, and every alert it publishes appended to `alerts`. */
async function started(
  dataDir: string,
  clock: () => number,
  alerts: AlertPayload[],
  inFlight?: () => number,
  loopUtilization?: () => number,
  presets?: readonly string[],
): Promise<{ daemon: Daemon; pub: mqtt.MqttClient }> {
  const config = inProcessConfig(dataDir, presets === undefined ? {} : { ingest: { presets: [...presets], timezone: 'UTC' } });
  // The loop's load is the test's to give (the saturated cases do): the test runner's own load (several files at once
  // on 2 cores) would otherwise hold the silence judgement a test drives (a flaky zigbee case, twelfth session).
  const daemon = new Daemon({ config, logger: pino({ level: 'silent' }), now: clock, arrivalNow: clock, inFlight, loopUtilization: loopUtilization ?? (() => 0) });
  cleanups.push(() => daemon.stop());
  await daemon.start();
  const sub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `silence-sub-${process.pid}-${alerts.length}` });
  cleanups.push(() => sub.endAsync());
  sub.on('message', (_topic, payload) => alerts.push(JSON.parse(payload.toString('utf8')) as AlertPayload));
  await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
  const pub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `silence-pub-${process.pid}-${alerts.length}` });
  cleanups.push(() => pub.endAsync());
  return { daemon, pub };
}

/** attic: `n` readings of a noisy 1 Hz temperature ending at `end`, published in chunks of 250. */
async function sendAttic(pub: mqtt.MqttClient, end: number, n: number): Promise<Array<{ ts: number; value: number }>> {
  const rnd = lcg(3);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  const attic = Array.from({ length: n }, (_, i) => ({ ts: end - (n - 1 - i) * SEC, value: Math.round((21 + 0.3 * gauss()) * 100) / 100 }));
  for (let i = 0; i < n; i += 250) {
    const chunk = attic.slice(i, i + 250);
    await pub.publishAsync('sensors/attic', JSON.stringify({ values: chunk.map((r) => r.value), ts: chunk[0].ts, interval_ms: SEC }), { qos: 1 });
  }
  return attic;
}

describe.skipIf(!builtAndModelsPresent())('a sensor that falls silent', () => {
  it('alerted after a restart (counted from the start), is told for as long as it has been silent by its last reading', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-told-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    let { daemon, pub } = await started(dataDir, clock, alerts);
    const N = 1500;
    const attic = await sendAttic(pub, now, N);
    await waitFor(() => daemon.counters.scored >= N, 60_000, 'every reading scored');
    // Silent for 30 s (not alerted), a clean stop, 10 minutes down, a start, 3 minutes more: the silence is counted
    // from the start (3 min: alerted), and told from its last reading: 13 min 30 s.
    now += 30 * SEC;
    daemon.judgeSilences();
    await daemon.stop();
    expect(alerts).toEqual([]);
    now += 10 * MIN;
    ({ daemon, pub } = await started(dataDir, clock, alerts));
    now += 3 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'attic'), 10_000, 'the silence alert of attic');
    const open = alerts.find((a) => a.sensor === 'attic')!;
    expect(open).toMatchObject({ event: 'open', start: new Date(attic[N - 1].ts + SEC).toISOString() });
    expect(open.explanation).toMatchObject({ kind: 'missing_data', since: new Date(attic[N - 1].ts).toISOString(), duration_ms: 13 * MIN + 30 * SEC });
    expect(open.explanation?.sentence).toMatch(/^attic no reading for 14 min since .*, last [0-9.]+ \(missing data\)$/);

    // 2 min 30 s more: the record's sentence follows the silence's length (housekeeping's touch of open episodes,
    // within 10 s), with no alert sent for it (an update only by the episode rules: its length has not doubled).
    // Tryout 12, finding 3: the record said `no reading for 66 s` for a 5-minute silence.
    now += 150 * SEC;
    daemon.judgeSilences();
    await waitFor(() => / no reading for 16 min since /.test(daemon.database!.getAnomaly(open.anomaly_id)?.explanation?.sentence ?? ''), 30_000, 'the record told 16 min');
    expect(alerts.map((a) => a.event)).toEqual(['open']);
    // attic reads again: the resolve tells the whole silence, from its last reading to this one.
    await pub.publishAsync('sensors/attic', JSON.stringify({ ts: now, value: 21.1 }), { qos: 1 });
    await waitFor(() => alerts.some((a) => a.event === 'resolve'), 10_000, 'the resolve of the silence');
    const resolve = alerts.find((a) => a.event === 'resolve')!;
    expect(resolve.explanation).toMatchObject({ kind: 'missing_data', since: new Date(attic[N - 1].ts).toISOString(), duration_ms: 16 * MIN });
    expect(daemon.database!.getAnomaly(open.anomaly_id)?.explanation?.sentence).toBe(resolve.explanation?.sentence);
  }, 120_000);


  it("a silence across a span in which the daemon's loop was saturated is the daemon's: neither judged while it lasts nor at its return (tryout 16, finding 4)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-busy-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    // The injected event-loop utilization: 1 while the daemon is busy (a junk flood on other topics), else 0.
    let utilization = 0;
    const { daemon, pub } = await started(dataDir, clock, alerts, undefined, () => utilization);
    const N = 1500;
    await sendAttic(pub, now, N);
    await waitFor(() => daemon.counters.scored >= N, 60_000, 'every reading scored');
    daemon.sampleLoad();
    // Ten minutes in which the loop was saturated: attic's readings, if any, waited unread (or were dropped).
    utilization = 1;
    now += 10 * MIN;
    daemon.sampleLoad();
    daemon.judgeSilences();
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 })).toEqual([]);
    // attic's next reading arrives while the loop is still saturated: its gap is no silence of attic's.
    await pub.publishAsync('sensors/attic', JSON.stringify({ ts: now, value: 21.0 }), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= N + 1, 10_000, 'the reading after the busy span scored');
    utilization = 0;
    daemon.sampleLoad();
    daemon.judgeSilences();
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 })).toEqual([]);
    // The loop free again, the same ten minutes of attic's own silence are judged (counted from the reading above).
    now += 10 * MIN;
    daemon.sampleLoad();
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'attic'), 10_000, 'the silence alert of attic once the loop was free');
    expect(alerts.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'missing_data']]);
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 }).map((a) => a.status)).toEqual(['open']);
  }, 120_000);

  it('readings lost while the daemon was down are no silence of the sensor: a sensor that dies after is alarmed as without them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-ours-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    let { daemon, pub } = await started(dataDir, clock, alerts);
    // b1 of tryout 12: 20 ± 0.5 to 3 decimals at 1 Hz (its generator, seed 1); 700 readings, then 111 lost while
    // the daemon was down (a clean stop, 111 s, a start), then 1,000 more, then it dies.
    let seed = 1;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const value = (): number => {
      let u = 0;
      while (!u) u = rnd();
      return +(20 + 0.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd())).toFixed(3);
    };
    const send = async (from: number, n: number): Promise<void> => {
      for (let i = 0; i < n; i += 250) {
        const values = Array.from({ length: Math.min(250, n - i) }, value);
        now = from + (i + values.length - 1) * SEC;
        await pub.publishAsync('sensors/b1', JSON.stringify({ values, ts: from + i * SEC, interval_ms: SEC }), { qos: 1 });
      }
    };
    const t0 = now;
    await send(t0, 700);
    await waitFor(() => daemon.counters.scored >= 700, 60_000, 'the readings before the stop scored');
    await daemon.stop();
    for (let i = 0; i < 111; i++) value();
    now = t0 + 810 * SEC;
    ({ daemon, pub } = await started(dataDir, clock, alerts));
    await send(t0 + 811 * SEC, 1000);
    await waitFor(() => daemon.counters.scored >= 1000, 60_000, 'the readings after the restart scored');
    expect(alerts).toEqual([]);
    // Dead for 5 minutes: its runs are all of one reading, and so rare (alerted within about 66 s without the
    // restart). Taught as its own silence, the restart's gap of 111 steps made it usual: not alerted in 12 minutes
    // (tryout 12, finding 5).
    now += 300 * SEC;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'b1'), 10_000, 'the silence alert of b1');
    expect(alerts[0]).toMatchObject({ event: 'open', explanation: { kind: 'missing_data' } });
  }, 120_000);

  it('a sensor silent past its idle span while the loop is saturated is not evicted before its silence is judged: told once the daemon hears again (a flaky CI run of the twelfth session)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-evict-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    let utilization = 0;
    const { daemon, pub } = await started(dataDir, clock, alerts, undefined, () => utilization);
    const N = 1500;
    await sendAttic(pub, now, N);
    await waitFor(() => daemon.counters.scored >= N, 60_000, 'every reading scored');
    // The loop saturated (its readings, if any, would wait unread) as 20 minutes pass: past attic's idle span
    // (limits.idleAfterIntervals: 1,000 s here). A housekeeping tick neither judges its silence nor evicts it.
    utilization = 1;
    daemon.sampleLoad();
    now += 20 * MIN;
    daemon.housekeep();
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 })).toEqual([]);
    expect(evictedSensors(daemon).includes('attic')).toBe(false);
    // The loop idle again: the next tick tells its silence (store, then alert), and keeps it listed while open.
    utilization = 0;
    daemon.sampleLoad();
    daemon.housekeep();
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 }).map((a) => [a.status, a.explanation?.kind])).toEqual([['open', 'missing_data']]);
    await waitFor(() => alerts.some((a) => a.sensor === 'attic'), 10_000, 'the silence alert of attic');
    expect(alerts.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'missing_data']]);
    daemon.housekeep();
    expect(evictedSensors(daemon).includes('attic')).toBe(false);
  }, 120_000);

  it.each([false, true])('is alarmed (stored, then published) while silent, and resolved at its next reading: one episode (a restart while silent: %s)', async (restart) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    // Readings its sender says are on their way (the demo's lag behind its clock): no silence is judged meanwhile.
    let inFlight = 0;
    let { daemon, pub } = await started(dataDir, clock, alerts, () => inFlight);

    // attic: 25 min of a noisy 1 Hz temperature, ending now. door: a report-on-change sensor, a few changes 1 s
    // apart, then quiet (nothing sent) for 5 to 40 minutes, 150 times; its last reading now too.
    const rnd = lcg(3);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const N = 1500;
    const attic = Array.from({ length: N }, (_, i) => ({ ts: now - (N - 1 - i) * SEC, value: Math.round((21 + 0.3 * gauss()) * 100) / 100 }));
    const doorTimes: number[] = [];
    let t = 0;
    for (let q = 0; q < 150; q++) {
      for (let k = 0; k < 10; k++) doorTimes.push((t += SEC));
      t += Math.round(5 + 35 * rnd()) * MIN;
    }
    const door = doorTimes.map((x, i) => ({ ts: now - (t - SEC - x) - (doorTimes.at(-1)! - (t - SEC)), value: 10 + (i % 7) }));
    expect(door.at(-1)!.ts).toBe(now);
    for (let i = 0; i < N; i += 250) {
      const chunk = attic.slice(i, i + 250);
      await pub.publishAsync('sensors/attic', JSON.stringify({ values: chunk.map((r) => r.value), ts: chunk[0].ts, interval_ms: SEC }), { qos: 1 });
    }
    for (const r of door) await pub.publishAsync('sensors/door', JSON.stringify({ ts: r.ts, value: r.value }), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= N + door.length, 60_000, 'every reading scored');
    expect(daemon.counters.rejected).toBe(0);
    expect(alerts).toEqual([]);

    // 20 minutes without a reading of either; while readings are said to be in flight, nothing is judged (the
    // store is written before any alert, so an empty store says no alert is on its way).
    now += 20 * MIN;
    inFlight = 1;
    daemon.judgeSilences();
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 })).toEqual([]);
    inFlight = 0;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === 'attic'), 10_000, 'the silence alert of attic');
    const open = alerts.find((a) => a.sensor === 'attic')!;
    expect(open).toMatchObject({ event: 'open', start: new Date(attic[N - 1].ts + SEC).toISOString(), end: null });
    expect(open.explanation).toMatchObject({ kind: 'missing_data', sentence: expect.stringMatching(/^attic no reading for 20 min since .*, last [0-9.]+ \(missing data\)$/) as string });
    // Stored before it was published, and open while the sensor is silent.
    const stored = daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 });
    expect(stored.map((a) => [a.id, a.status])).toEqual([[open.anomaly_id, 'open']]);
    expect(daemon.database!.listAnomalies({ sensor: 'door', limit: 10 })).toEqual([]);

    if (restart) {
      // Silent past their idle span (limits.idleAfterIntervals: 1,000 s here), door (nothing open) is evicted by
      // housekeeping (within 2 s); attic, in that same sweep, is not: its silence alarm is open (tryout 16, finding 2).
      const evicted = (sensor: string): boolean => evictedSensors(daemon).includes(sensor);
      await waitFor(() => evicted('door'), 10_000, 'door evicted while silent');
      expect(evicted('attic')).toBe(false);
      // A clean stop while silent, 10 more minutes, a start: the episode goes on (not resolved as left open, no
      // second open), its silence counted from its own start, not from the restart.
      await daemon.stop();
      now += 10 * MIN;
      ({ daemon, pub } = await started(dataDir, clock, alerts));
      daemon.judgeSilences();
      expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 }).map((a) => [a.id, a.status])).toEqual([[open.anomaly_id, 'open']]);
    }

    // attic reads again: the episode resolves at that reading, and no second one opens for the same silence.
    await pub.publishAsync('sensors/attic', JSON.stringify({ ts: now, value: 21.1 }), { qos: 1 });
    await waitFor(() => alerts.some((a) => a.event === 'resolve'), 10_000, 'the resolve of the silence');
    daemon.judgeSilences();
    // At least once: a message sent again after the restart (`resent`, the same anomaly_id and seq) is one message.
    const atticAlerts = alerts.filter((a, i) => a.sensor === 'attic' && alerts.findIndex((b) => b.anomaly_id === a.anomaly_id && b.seq === a.seq) === i);
    expect(atticAlerts.map((a) => [a.event, a.anomaly_id])).toEqual([
      ['open', open.anomaly_id],
      ['resolve', open.anomaly_id],
    ]);
    expect(atticAlerts[1]).toMatchObject({ resolution: 'recovered', end: new Date(now).toISOString() });
    expect(atticAlerts[1].explanation?.kind).toBe('missing_data');
    // The resolve tells the whole silence from its last reading to the one that ended it (30 min with the restart's
    // 10, counted by its last reading's time), through the restart too (tryout 12, finding 3: the resolve kept the
    // sentence told before the restart, `no reading for 66 s` of a 5-minute silence).
    const lasted = restart ? 30 : 20;
    expect(atticAlerts[1].explanation?.sentence).toMatch(new RegExp(`^attic no reading for ${lasted} min since .*, last [0-9.]+ \\(missing data\\)$`));
    expect(atticAlerts[1].explanation?.duration_ms).toBe(lasted * MIN);
    expect(daemon.database!.getAnomaly(open.anomaly_id)?.explanation?.sentence).toBe(atticAlerts[1].explanation?.sentence);
    expect(daemon.database!.listAnomalies({ sensor: 'attic', limit: 10 }).map((a) => [a.id, a.status])).toEqual([[open.anomaly_id, 'resolved']]);
    expect(alerts.filter((a) => a.sensor === 'door')).toEqual([]);
  }, 120_000);
  it('a zigbee room sensor (1 Hz, noisy, to 0.01): a 25 s pause of its hub opens nothing; dead 1 min after a restart, it is alerted while silent within a few minutes (tryout 15, findings 3 and 4)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-z2m-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    let { daemon, pub } = await started(dataDir, clock, alerts);
    // living_temp of the tryout: 21.2 °C, a slow swing of 0.2, ± 0.05, sent to 0.01 (a value repeats now and then).
    const rnd = lcg(3);
    let k = 0;
    const value = (): number => Math.round((21.2 + 0.2 * Math.sin(++k / 70) + (rnd() - 0.5) * 0.1) * 100) / 100;
    let sent = 0;
    /** `n` readings from `from`, 1 s apart, in chunks of 250 (the clock at the last one); returns the last value. */
    const send = async (from: number, n: number, first?: number): Promise<number> => {
      let last = Number.NaN;
      for (let i = 0; i < n; i += 250) {
        const values = Array.from({ length: Math.min(250, n - i) }, (_, j) => (i + j === 0 && first !== undefined ? first : value()));
        last = values.at(-1)!;
        now = from + (i + values.length - 1) * SEC;
        await pub.publishAsync('sensors/living', JSON.stringify({ values, ts: from + i * SEC, interval_ms: SEC }), { qos: 1 });
      }
      sent += n;
      await waitFor(() => daemon.counters.scored >= sent, 60_000, `${sent} readings scored`);
      return last;
    };
    const t0 = now;
    const last = await send(t0, 1000);
    // Finding 4: the hub pauses 25 s (judged every 2 s meanwhile), then sends again, its first value equal to its
    // last by chance (a quantised sensor's value repeats now and then): no `missing data` at its return.
    for (let s = 2; s <= 26; s += 2) {
      now = t0 + (999 + s) * SEC;
      daemon.judgeSilences();
    }
    for (let i = 0; i < 25; i++) value();
    await send(t0 + 1025 * SEC, 200, last);
    // A restart (a clean stop, 8 s down, a start) and 60 s of readings, then the sensor dies (finding 3).
    await daemon.stop();
    for (let i = 0; i < 8; i++) value();
    now += 8 * SEC;
    ({ daemon, pub } = await started(dataDir, clock, alerts));
    sent = 0;
    const back = now + SEC;
    await send(back, 60);
    expect(alerts).toEqual([]);
    const dead = now;
    let alertedAfter = Number.NaN;
    for (let s = 2; s <= 10 * 60; s += 2) {
      now = dead + s * SEC;
      daemon.judgeSilences();
      if (daemon.database!.listAnomalies({ sensor: 'living', limit: 5 }).length > 0) {
        alertedAfter = s;
        break;
      }
    }
    // Within a few minutes (on main: never, its silence judged below 4.6 for 40 minutes).
    expect(alertedAfter).toBeLessThanOrEqual(4 * 60);
    await waitFor(() => alerts.some((a) => a.sensor === 'living'), 10_000, 'the silence alert of living');
    expect(alerts.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'missing_data']]);
    expect(alerts[0]).toMatchObject({ start: new Date(dead + SEC).toISOString() });
  }, 120_000);

  it('a sensor whose clock is 30 s ahead is told silent for as long as it was silent on arrival (tryout 25 saw `no reading for 46 s` after 75 s live; not reproduced in-process: a guard)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-ahead-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, pub } = await started(dataDir, clock, alerts);
    const AHEAD = 30 * SEC;
    const rnd = lcg(5);
    // 400 readings 5 s apart, each sent at its arrival, stamped by a device clock 30 s ahead.
    let lastTs = 0;
    for (let i = 0; i < 400; i++) {
      now += 5 * SEC;
      lastTs = now + AHEAD;
      await pub.publishAsync('sensors/skew', JSON.stringify({ ts: lastTs, value: Math.round((20 + rnd()) * 100) / 100 }), { qos: 1 });
      await waitFor(() => daemon.counters.received > i, 10_000, `reading ${i} received`);
    }
    const arrivedLast = now;
    // A reading ahead of its stream's clock may wait for the next (ingest.maxFutureMs): the first few did; all are taken.
    await waitFor(() => daemon.counters.scored >= 400, 10_000, 'every reading scored');
    let alertedAt = Number.NaN;
    for (let s = 2; s <= 10 * 60; s += 2) {
      now = arrivedLast + s * SEC;
      daemon.judgeSilences();
      if (daemon.database!.listAnomalies({ sensor: 'skew', limit: 5 }).length > 0) {
        alertedAt = now;
        break;
      }
    }
    expect(Number.isFinite(alertedAt)).toBe(true);
    await waitFor(() => alerts.some((a) => a.sensor === 'skew'), 10_000, 'the silence alert of skew');
    const open = alerts.find((a) => a.sensor === 'skew')!;
    expect(open.explanation?.kind).toBe('missing_data');
    // Its silence on arrival: from its last reading's arrival to the judgement; since its last reading (its own clock).
    expect(open.explanation?.duration_ms).toBe(alertedAt - arrivedLast);
    expect(open.explanation?.since).toBe(new Date(lastTs).toISOString());
  }, 120_000);

  it('a periodic sensor whose readings are coarse (0.1, 0.5) is alerted while silent within a few minutes, as one to 0.01 is (tryout 20, finding 6)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-coarse-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, pub } = await started(dataDir, clock, alerts, undefined, undefined, ['zigbee2mqtt', 'ha_statestream']);
    // The tryout's sim2: 5 + sin(i / 500) + noise (σ ≈ 0.07), 1 Hz, through the hubs as they send it (stamped on
    // arrival: the clock moves one second per reading), 420 readings, then silent. outdoor2 to 2 decimals (alerted
    // after 90 s in the tryout), outdoor3 and coarse_sensor to 1 decimal (never alerted there), outdoor5 to 0.5.
    const rnd = lcg(5);
    const noise = (): number => (rnd() + rnd() + rnd() + rnd() + rnd() + rnd() - 3) * 0.1;
    const level = (i: number): number => 5 + Math.sin(i / 500);
    const N = 420;
    const t0 = now;
    let sent = 0;
    for (let i = 1; i <= N; i++) {
      now = t0 + i * SEC;
      await pub.publishAsync('homeassistant/sensor/outdoor2/state', (level(i) + noise()).toFixed(2), { qos: 1 });
      await pub.publishAsync('homeassistant/sensor/outdoor3/state', (level(i) + noise()).toFixed(1), { qos: 1 });
      await pub.publishAsync('homeassistant/sensor/outdoor5/state', String(Math.round((level(i) + noise()) * 2) / 2), { qos: 1 });
      await pub.publishAsync('zigbee2mqtt/coarse_sensor', JSON.stringify({ temperature: +(level(i) + noise()).toFixed(1), linkquality: 100 }), { qos: 1 });
      sent += 4;
      await waitFor(() => daemon.counters.scored >= sent, 10_000, `${sent} readings scored`);
    }
    expect(daemon.counters.rejected).toBe(0);
    expect(alerts).toEqual([]);
    const streams = ['outdoor2', 'outdoor3', 'outdoor5', 'coarse_sensor/temperature'];
    const dead = now;
    const alertedAfter = new Map<string, number>();
    for (let s = 2; s <= 6 * 60 && alertedAfter.size < streams.length; s += 2) {
      now = dead + s * SEC;
      daemon.judgeSilences();
      for (const sensor of streams) if (!alertedAfter.has(sensor) && daemon.database!.listAnomalies({ sensor, limit: 5 }).length > 0) alertedAfter.set(sensor, s);
    }
    // Each within a few minutes, the coarse ones as the fine one (on main: outdoor2 after 158 s; the others never,
    // their runs of one value too long and too few: "stale" only).
    for (const sensor of streams) expect([sensor, alertedAfter.get(sensor)! <= 3 * 60]).toEqual([sensor, true]);
    await waitFor(() => streams.every((sensor) => alerts.some((a) => a.sensor === sensor)), 10_000, 'the silence alerts');
    for (const sensor of streams) {
      const told = alerts.filter((a) => a.sensor === sensor);
      expect(told.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'missing_data']]);
      expect(told[0].explanation?.sentence).toMatch(new RegExp(`^${sensor} no reading for .* \\(missing data\\)$`));
    }
  }, 180_000);

  it('a dead sensor is told a few of its own intervals after its death at 10 s, 60 s and 5 min, a heartbeat sensor a few heartbeats after, never in its usual quiet (issue 10)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-silence-rate-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const alerts: AlertPayload[] = [];
    const rnd = lcg(17);
    // door: report-on-change (a room's temperature, a slow daily swing and drift, sent to 0.1 when it moved by
    // 0.5 °C since the last report, else a heartbeat every 50 min), 14 days, each stamped on arrival.
    const door: Array<{ ts: number; value: number }> = [];
    const t0 = Math.floor(Date.now() / MIN) * MIN - 15 * 24 * 60 * MIN;
    let drift = 0;
    let lastAt = -Infinity;
    let told = Infinity;
    for (let m = 0; m < 14 * 24 * 60; m++) {
      drift += (rnd() - 0.5) * 0.08;
      const t = 20 + 3 * Math.sin((2 * Math.PI * m) / (24 * 60)) + drift;
      if (Math.abs(t - told) >= 0.5 || m - lastAt >= 50) {
        told = Math.round(t * 10) / 10;
        lastAt = m;
        door.push({ ts: t0 + m * MIN, value: told });
      }
    }
    let now = door[0].ts;
    const clock = (): number => now;
    const { daemon, pub } = await started(dataDir, clock, alerts);
    let sent = 0;
    for (const r of door) {
      now = r.ts;
      await pub.publishAsync('sensors/door', String(r.value), { qos: 1 });
      sent++;
      await waitFor(() => daemon.counters.scored >= sent, 10_000, `${sent} readings scored`);
    }
    // Three periodic sensors (a noisy value to 0.1 with a slow swing), 400 readings each, ending now.
    const dead = now;
    const periods = [10 * SEC, MIN, 5 * MIN];
    for (const every of periods) {
      const values = Array.from({ length: 400 }, (_, i) => Math.round((21 + Math.sin(i / 50) + 0.3 * (rnd() - 0.5)) * 10) / 10);
      for (let i = 0; i < values.length; i += 250) {
        const chunk = values.slice(i, i + 250);
        await pub.publishAsync(`sensors/p${every / SEC}`, JSON.stringify({ values: chunk, ts: dead - (values.length - 1 - i) * every, interval_ms: every }), { qos: 1 });
      }
      sent += values.length;
      await waitFor(() => daemon.counters.scored >= sent, 60_000, `${sent} readings scored`);
    }
    expect(daemon.counters.rejected).toBe(0);
    expect(alerts).toEqual([]);
    const sensors = ['door', ...periods.map((every) => `p${every / SEC}`)];
    const alertedAfter = new Map<string, number>();
    // Judged every 2 s (the housekeeping tick) for 10 minutes, then every minute up to 6 hours.
    for (let el = 2 * SEC; el <= 6 * 60 * MIN && alertedAfter.size < sensors.length; el += el < 10 * MIN ? 2 * SEC : MIN) {
      now = dead + el;
      daemon.judgeSilences();
      for (const sensor of sensors) if (!alertedAfter.has(sensor) && daemon.database!.listAnomalies({ sensor, limit: 5 }).length > 0) alertedAfter.set(sensor, el);
    }
    // A periodic sensor within a few of its intervals (five), or the 45 s a link may stall unnoticed (one and a
    // half MQTT keepalives) when that is longer, and a tick (on main: after 65 intervals, 11 min, 66 min, 5.5 h).
    // The heartbeat sensor after its heartbeat and within four of them (its interval: on main never, 6 h being 7 of
    // its intervals).
    const within = (sensor: string, from: number, to: number): boolean => (alertedAfter.get(sensor) ?? Infinity) > from && alertedAfter.get(sensor)! <= to;
    if (process.env.SILENCE_CURVE === '1') console.log(Object.fromEntries([...alertedAfter].map(([k, v]) => [k, `${v / SEC} s`])));
    expect([...periods.map((every) => `p${every / SEC}`), 'door'].map((sensor) => [sensor, sensor === 'door' ? within(sensor, 60 * MIN, 4 * 50 * MIN) : within(sensor, 0, Math.max(45 * SEC, 5 * periods[[10, 60, 300].indexOf(Number(sensor.slice(1)))]) + 2 * SEC)])).toEqual(
      [...periods.map((every) => [`p${every / SEC}`, true]), ['door', true]],
    );
    await waitFor(() => sensors.every((sensor) => alerts.some((a) => a.sensor === sensor)), 10_000, 'the silence alerts');
    for (const sensor of sensors) {
      const mine = alerts.filter((a) => a.sensor === sensor);
      expect(mine.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'missing_data']]);
      expect(mine[0].explanation?.sentence).toMatch(new RegExp(`^${sensor} no reading for .* \\(missing data\\)$`));
    }
    // p300 comes back within resetAfter of its intervals (its silence is filled steps, no gap): the episode resolves
    // at its next reading, and its next readings open nothing (the filled steps are that silence, not a run).
    expect(alertedAfter.get('door')! / (5 * MIN)).toBeLessThan(64);
    for (let i = 0; i < 10; i++) {
      now = dead + alertedAfter.get('door')! + i * 5 * MIN;
      await pub.publishAsync('sensors/p300', JSON.stringify({ values: [Math.round((21 + 0.3 * (rnd() - 0.5)) * 10) / 10], ts: now, interval_ms: 5 * MIN }), { qos: 1 });
      sent++;
      await waitFor(() => daemon.counters.scored >= sent, 10_000, `${sent} readings scored`);
      daemon.judgeSilences();
    }
    await waitFor(() => alerts.filter((a) => a.sensor === 'p300').length >= 2, 10_000, 'the resolve of p300');
    expect(alerts.filter((a) => a.sensor === 'p300').map((a) => a.event)).toEqual(['open', 'resolve']);
    expect(daemon.database!.listAnomalies({ sensor: 'p300', limit: 5 })).toHaveLength(1);
  }, 300_000);
});
