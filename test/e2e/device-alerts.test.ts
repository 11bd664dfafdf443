/**
 * One device fault, one alert (tryout 37, findings 7 and 10). docs/ALERTS.md, "Fields of a device that go wrong
 * together" and "A device whose every field goes silent".
 *
 * - Finding 10: a 2500 W spike on a Tasmota plug gave 4 alerts (Power, ApparentPower, ReactivePower, Current). Now the
 *   plug's fields whose episodes open together are told in ONE alert, the first field's, naming the 4 (`device`,
 *   `fields`, its sentence), each field's episode stored and listed as its own.
 * - Finding 7: a device whose field had an episode open when the device stopped gave two alerts for one silence (the
 *   device's `no reading from any of its 2 fields` and an update of the field's episode `…, then no reading for 46 s`).
 *   Now the device's is the one alert; the field's episode notes the silence in its record only, and its resolve is
 *   sent (its open was).
 *
 * The daemon in-process with an injected wall clock (virtual time, as test/e2e/device-silence.test.ts), the shipped
 * models in real onnxruntime, a real SQLite file and the embedded broker; alerts are read by an MQTT subscriber.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups, yesterdayNoonUtc } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;

const cleanups = useCleanups();
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

/** Tasmota's `Time` (local time without a zone; the daemon reads it in ingest.timezone, UTC here). */
const tasmotaTime = (ts: number): string => new Date(ts).toISOString().slice(0, 19);

describe.skipIf(!builtAndModelsPresent())('one device fault, one alert', () => {
  it('a spike on 4 fields of a Tasmota plug is one alert naming the 4 fields; the 4 episodes are stored and listed', async () => {
    const dataDir = tempDataDir('anomalyd-devalerts-spike-', cleanups);
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const { daemon, url } = await inProcessDaemon({
      dataDir,
      brokerUrl: null,
      overrides: { ingest: { presets: ['tasmota'], timezone: 'UTC' }, http: { enabled: false }, explain: { timeZone: 'UTC' } },
      clock,
      cleanups,
    });
    const alerts = await collectAlerts(url, `devalerts-sub-${process.pid}`, cleanups);
    const pub = await mqtt.connectAsync(url, { clientId: `devalerts-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync());

    // A fridge-free plug drawing ~40 W, every 10 s, 1500 readings of history (past the learning period), in batches.
    const N = 1500;
    const rnd = lcg(37);
    const object = (ts: number, power: number): Record<string, unknown> => ({
      Time: tasmotaTime(ts),
      ENERGY: {
        Power: power,
        ApparentPower: Math.round(power * 1.05),
        ReactivePower: Math.round(power * 0.3),
        Voltage: 230,
        Current: Math.round((power / 230) * 1000) / 1000,
      },
    });
    const rows: Array<Record<string, unknown>> = [];
    for (let i = 0; i < N; i++) rows.push(object(now - (N - 1 - i) * 10 * SEC, Math.round(40 + 4 * (rnd() - 0.5))));
    for (let i = 0; i < N; i += 250) await pub.publishAsync('tele/plug/SENSOR', JSON.stringify(rows.slice(i, i + 250)), { qos: 1 });
    const fields = ['ENERGY.ApparentPower', 'ENERGY.Current', 'ENERGY.Power', 'ENERGY.ReactivePower', 'ENERGY.Voltage'];
    await waitFor(() => daemon.counters.scored >= fields.length * N, 120_000, 'every reading scored');
    await settle();
    const before = alerts.length;

    // Live: a few normal readings, then one message with a 2500 W spike (its apparent and reactive power and current
    // with it, the voltage unchanged), then normal readings again.
    let ts = now;
    const send = async (power: number): Promise<void> => {
      ts += 10 * SEC;
      now = ts;
      await pub.publishAsync('tele/plug/SENSOR', JSON.stringify(object(ts, power)), { qos: 1 });
    };
    for (let i = 0; i < 3; i++) await send(40);
    await send(2500);
    for (let i = 0; i < 40; i++) await send(Math.round(40 + 4 * (rnd() - 0.5)));
    await waitFor(() => daemon.counters.scored >= fields.length * (N + 44), 60_000, 'the live readings scored');
    await settle();
    await settle();

    const sent = alerts.slice(before);
    const opens = sent.filter((a) => a.event === 'open');
    // One alert: one open, of one episode (its updates and its resolve the same anomaly_id), naming the 4 fields.
    expect(opens).toHaveLength(1);
    const open = opens[0];
    expect(new Set(sent.map((a) => a.anomaly_id))).toEqual(new Set([open.anomaly_id]));
    expect(sent.filter((a) => a.event === 'resolve')).toHaveLength(1);
    expect(open.device).toBe('plug');
    const spiked = ['plug/ENERGY.ApparentPower', 'plug/ENERGY.Current', 'plug/ENERGY.Power', 'plug/ENERGY.ReactivePower'];
    expect(open.fields?.map((f) => f.stream).sort()).toEqual(spiked);
    expect(open.fields?.[0]).toMatchObject({ stream: open.sensor, anomaly_id: open.anomaly_id });
    expect(open.explanation?.sentence).toMatch(/; with 3 more fields of plug: ENERGY\.\w+, ENERGY\.\w+, ENERGY\.\w+$/);

    // The 4 episodes are stored, each its own, listed as any (not folded): 3 of them told with the one alerted.
    const db = daemon.database!;
    const stored = db.listAnomalies({ device: 'plug', folded: true, limit: 50 }).filter((a) => a.startTs > now - 60 * MIN);
    expect(stored.map((a) => a.sensor).sort()).toEqual(spiked);
    const lead = stored.find((a) => a.id === open.anomaly_id);
    expect(lead?.together).toEqual(spiked.filter((s) => s !== open.sensor));
    for (const a of stored.filter((x) => x.id !== open.anomaly_id)) {
      expect(a.toldWith).toBe(open.anomaly_id);
      // Stored with their events (no outbox row), resolved with the lead.
      expect(a.status).toBe('resolved');
      expect(open.fields?.map((f) => f.anomaly_id)).toContain(a.id);
    }
    // The resolve names them too; it came after every member's end.
    const resolve = sent.find((a) => a.event === 'resolve');
    expect(resolve?.fields?.map((f) => f.stream).sort()).toEqual(spiked);
    const lastMemberEnd = Math.max(...stored.map((a) => a.endTs));
    expect(Date.parse(resolve?.end ?? '')).toBe(lastMemberEnd);
  }, 240_000);

  it('a device that stops while one of its fields has an episode open is one alert, the device’s', async () => {
    const dataDir = tempDataDir('anomalyd-devalerts-silence-', cleanups);
    let now = yesterdayNoonUtc();
    const clock = (): number => now;
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides: { ingest: { presets: ['esphome'] }, http: { enabled: false } }, clock, cleanups });
    const alerts: AlertPayload[] = [];
    await collectAlerts(url, `devalerts-sub2-${process.pid}`, cleanups, alerts);
    const pub = await mqtt.connectAsync(url, { clientId: `devalerts-pub2-${process.pid}` });
    cleanups.push(() => pub.endAsync());
    const CHANNELS = 2;
    const N = 1500;
    const topic = (c: number): string => `th1/sensor/ch${c}/state`;
    // History: N readings of each channel at 1 Hz, sent in bursts (as test/e2e/device-silence.test.ts).
    const rnd = lcg(7);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    for (let c = 1; c <= CHANNELS; c++) {
      const values = Array.from({ length: N }, () => Math.round((20 * c + 0.2 * gauss()) * 100) / 100);
      for (let i = 0; i < N; i += 250) {
        await pub.publishAsync(topic(c), JSON.stringify({ values: values.slice(i, i + 250), ts: now - (N - 1 - i) * SEC, interval_ms: SEC }), { qos: 1 });
      }
    }
    await waitFor(() => daemon.counters.scored >= CHANNELS * N, 60_000, 'every reading scored');
    await settle();
    const before = alerts.length;

    // Channel 1 jumps by 5 °C and stays there (its episode opens and stays open); channel 2 goes on as before.
    for (let i = 1; i <= 20; i++) {
      now += SEC;
      await pub.publishAsync(topic(1), (25 + (i % 3) * 0.1).toFixed(2), { qos: 1 });
      await pub.publishAsync(topic(2), (40 + (i % 3) * 0.1).toFixed(2), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= CHANNELS * (N + 20), 20_000, 'the live readings scored');
    await waitFor(() => alerts.slice(before).some((a) => a.sensor === 'th1/ch1' && a.event === 'open'), 10_000, 'channel 1’s episode');
    await settle();
    const fault = alerts.slice(before).find((a) => a.sensor === 'th1/ch1' && a.event === 'open')!;
    expect(daemon.database!.getAnomaly(fault.anomaly_id)?.status).toBe('open');
    const beforeSilence = alerts.length;

    // The device stops. Five minutes on, every field's silence is far past rare (on main: the device's open AND an
    // update of channel 1's episode telling the same silence).
    now += 5 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.length > beforeSilence, 10_000, 'the device’s silence');
    await settle();
    daemon.judgeSilences();
    await settle();
    const silence = alerts.slice(beforeSilence);
    expect(silence.map((a) => [a.sensor, a.event, a.explanation?.kind ?? null])).toEqual([['th1', 'open', 'missing_data']]);
    // Channel 1's episode notes the silence in its record (stored, not alerted), what it told before kept first.
    const record = daemon.database!.getAnomaly(fault.anomaly_id);
    expect(record?.status).toBe('open');
    expect(record?.kind).toBe('missing_data');
    expect(record?.explanation?.before_silence).toBeDefined();
    expect(record?.toldIn).toBeUndefined();

    // It comes back: channel 1's episode ends (its open was alerted, so is its resolve), then the device's.
    now += SEC;
    await pub.publishAsync(topic(1), '20.00', { qos: 1 });
    await pub.publishAsync(topic(2), '40.00', { qos: 1 });
    await waitFor(() => alerts.slice(beforeSilence).some((a) => a.sensor === 'th1' && a.event === 'resolve'), 10_000, 'the device’s resolve');
    await settle();
    const back = alerts.slice(beforeSilence + 1);
    expect(back.map((a) => [a.sensor, a.event])).toEqual([
      ['th1/ch1', 'resolve'],
      ['th1', 'resolve'],
    ]);
    expect(back[0].anomaly_id).toBe(fault.anomaly_id);
  }, 180_000);
});
