/**
 * A device whose readings are all on/off (tryout 22, finding 7): a zigbee2mqtt door contact, `{"battery":100,
 * "contact":true,"linkquality":60,"voltage":3005}` at every change and at its check-ins. Its `contact` is a stream of 1
 * and 0, so the daemon knows the device: `GET /api/anomalies?device=door_contact` answers its list (on main: 404 "no
 * such device", every message skipped hub_event); its availability `offline` opens one `device_offline` episode, and
 * its death without a word (silence) is told as a missing-data episode, in its own intervals; its use (opened a few
 * times a day) opens nothing. The daemon in-process with a virtual clock (as test/e2e/device-offline.test.ts), a real
 * SQLite file, its HTTP API, and a real broker: the embedded one, and mosquitto when installed.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { brokerCases, brokerUrlFor } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;
const TOPIC = 'zigbee2mqtt/door_contact';
const STREAM = 'door_contact/contact';

const cleanups = useCleanups();

/** The door's messages over `days`: a check-in every 50 min (jitter ±2 min), opened 2 to 6 times a day for 20 s to 10 min. */
function doorMessages(t0: number, days: number): { at: number; payload: string }[] {
  const rnd = lcg(22);
  /** What happens at `at`: a check-in (the state as it is), or the door opened or shut. */
  const out: { at: number; change: 'checkin' | 'open' | 'shut' }[] = [];
  for (let t = t0; t < t0 + days * 1440 * MIN; t += Math.round((48 + 4 * rnd()) * MIN)) out.push({ at: t, change: 'checkin' });
  for (let d = 0; d < days; d++) {
    const n = 2 + Math.floor(rnd() * 5);
    for (let k = 0; k < n; k++) {
      // Opened at a whole second between 07:00 and 22:00 of that day, shut 20 s to 10 min later.
      const at = t0 + d * 1440 * MIN + Math.round((7 + 15 * rnd()) * 3600) * SEC;
      out.push({ at, change: 'open' }, { at: at + Math.round(20 + 580 * rnd()) * SEC, change: 'shut' });
    }
  }
  out.sort((a, b) => a.at - b.at);
  let open = false;
  const messages: { at: number; payload: string }[] = [];
  for (const m of out) {
    // One message per instant (the hub's times are the daemon's arrivals): a later one at the same ms is dropped.
    if (messages.length > 0 && m.at <= messages[messages.length - 1].at) continue;
    if (m.change !== 'checkin') open = m.change === 'open';
    // zigbee2mqtt's contact: true = closed.
    messages.push({ at: m.at, payload: JSON.stringify({ battery: 100, contact: !open, linkquality: 60, voltage: 3005 }) });
  }
  return messages;
}

const cases = brokerCases('embedded');

describe.skipIf(!builtAndModelsPresent())('a zigbee2mqtt door contact (on/off readings only)', () => {
  it.each(cases)('(%s broker) is a known device: its availability offline opens one device_offline episode, its silence is told, its use opens nothing', async (name, available) => {
    if (!available) return;
    const dataDir = tempDataDir('anomalyd-onoff-', cleanups);
    const brokerUrl = await brokerUrlFor(name, cleanups);
    const httpPort = await freePort();
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 20 * 1440 * MIN;
    let now = t0;
    const clock = (): number => now;
    const overrides = { ingest: { presets: ['zigbee2mqtt'], timezone: 'UTC' }, http: { port: httpPort, host: '127.0.0.1' }, store: { commitIntervalMs: 0 } };
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock, cleanups });
    const alerts = await collectAlerts(url, `onoff-sub-${name}-${process.pid}`, cleanups);
    const hub = await mqtt.connectAsync(url, { clientId: `onoff-z2m-${name}-${process.pid}` });
    cleanups.push(() => hub.endAsync(true));

    // 18 days of use, as the hub sends it (stamped on arrival: the clock is set to each message's time, and the next
    // one waits until the daemon took it), its learning period of 256 readings among them.
    const history = doorMessages(t0, 18);
    let scored = daemon.counters.scored;
    for (const m of history) {
      now = m.at;
      await hub.publishAsync(TOPIC, m.payload, { qos: 1 });
      await waitFor(() => daemon.counters.scored > scored, 10_000, 'the message scored');
      scored = daemon.counters.scored;
      // Its quiet between messages judged as the daemon's tick does (every few seconds; here at each message).
      daemon.judgeSilences();
    }
    expect(history.length).toBeGreaterThan(256 + 50);
    expect(alerts.map((a) => `${a.event} ${a.sensor} ${a.explanation?.kind ?? ''}`)).toEqual([]);
    // Known: the stream, its device, its anomalies (none yet) by HTTP.
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/anomalies?device=door_contact`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(expect.objectContaining({ anomalies: [] }));

    // zigbee2mqtt says the door is offline (its availability, retained): one episode of the device.
    now += 10 * MIN;
    await hub.publishAsync(`${TOPIC}/availability`, '{"state":"offline"}', { qos: 1, retain: true });
    await waitFor(() => alerts.length > 0, 10_000, 'the device episode');
    expect(alerts[0]).toMatchObject({ event: 'open', sensor: 'door_contact', explanation: { kind: 'device_offline' } });
    expect(alerts[0].explanation?.sentence).toMatch(/^door_contact offline since \d\d:\d\d \(the device said so on zigbee2mqtt\/door_contact\/availability\), 1 stream silent \(device offline\)$/);
    // Offline for a day: its silence is the device's episode, not told again on its own.
    for (let k = 0; k < 24 * 6; k++) {
      now += 10 * MIN;
      daemon.judgeSilences();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(alerts.map((a) => [a.sensor, a.event])).toEqual([['door_contact', 'open']]);
    // Online again: resolved.
    await hub.publishAsync(`${TOPIC}/availability`, '{"state":"online"}', { qos: 1, retain: true });
    await waitFor(() => alerts.length > 1, 10_000, 'the device episode resolved');
    expect(alerts[1]).toMatchObject({ event: 'resolve', anomaly_id: alerts[0].anomaly_id, sensor: 'door_contact' });
    now += MIN;
    await hub.publishAsync(TOPIC, '{"battery":100,"contact":true,"linkquality":60,"voltage":3005}', { qos: 1 });
    await waitFor(() => daemon.counters.scored > scored, 10_000, 'the message after the return scored');

    // Then its battery dies without a word: judged every 10 min, its silence is told once, as missing data, hours after
    // its last check-in (a few check-ins missed), not at the first one missed.
    const last = now;
    let toldAt = Number.NaN;
    for (let k = 0; k < 24 * 6 && Number.isNaN(toldAt); k++) {
      now += 10 * MIN;
      daemon.judgeSilences();
      await new Promise((r) => setTimeout(r, 20));
      if (alerts.some((a) => a.sensor === STREAM)) toldAt = now - last;
    }
    await waitFor(() => alerts.some((a) => a.sensor === STREAM), 10_000, 'the silence told');
    const told = alerts.filter((a) => a.sensor === STREAM);
    expect(told.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'missing_data']]);
    expect(toldAt).toBeGreaterThan(50 * MIN);
    expect(toldAt).toBeLessThan(12 * 60 * MIN);
    const listed = (await (await fetch(`http://127.0.0.1:${httpPort}/api/anomalies?device=door_contact`)).json()) as { anomalies: { sensor: string; status: string; kind?: string }[] };
    expect(listed.anomalies.map((a) => [a.sensor, a.status])).toEqual([
      [STREAM, 'open'],
      ['door_contact', 'resolved'],
    ]);
  }, 180_000);
});
