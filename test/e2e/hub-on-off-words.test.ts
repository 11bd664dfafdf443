/**
 * On/off streams are told in their own words (tryout 23, finding 5): a zigbee2mqtt door contact's `contact` true is
 * `closed`, false `open` (zigbee2mqtt.io: "Indicates if the contact is closed (= true) or open (= false)"), a motion
 * sensor's `occupancy` `detected` / `clear`, an ESPHome binary_sensor's `ON` / `OFF` `on` / `off`. Their values are
 * never judged, so they learn no model of their own (no "learning its own model: N / 3,600 readings") and
 * /api/sensors shows no surprise of them: it names their state (`onOff.state`). The alert of the door's death says
 * `last closed`, not `last 1`; the stored and published value stays 1. On main: no `onOff` in /api/sensors, a surprise
 * and an `ownModel` for each, and the sentence `…, last 1 (missing data)`.
 *
 * Left open far longer than it has ever been (src/pipeline/dwell.ts, OnOffDwell), the door is told `door_contact/contact
 * open for 3 min since 12:00, never longer than 10 s before (stuck: state held)` (on main: nothing, its values never judged).
 *
 * The daemon in-process with a virtual clock (as test/e2e/hub-on-off.test.ts), a real SQLite file, its HTTP API, learning
 * on, and a real broker: the embedded one, and mosquitto when installed.
 */
import { describe, expect, it } from 'vitest';
import type { SensorView } from '../../src/http/view.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups, scoringHub } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { brokerCases, brokerUrlFor } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;
const DOOR = 'door_contact/contact';
const MOTION = 'hall_motion/occupancy';
const ESP = 'esp-door/front_door';

const cleanups = useCleanups();

const cases = brokerCases('embedded');

describe.skipIf(!builtAndModelsPresent())('on/off streams told in their own words', () => {
  it.each(cases)('(%s broker) a door is closed/open, motion detected/clear, an ESPHome binary_sensor on/off: no surprise, no own model; left open it is told `open for … (state held)`, its death `last closed`', async (name, available) => {
    if (!available) return;
    const dataDir = tempDataDir('anomalyd-onoff-words-', cleanups);
    const brokerUrl = await brokerUrlFor(name, cleanups);
    const httpPort = await freePort();
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 2 * 1440 * MIN;
    let now = t0;
    const clock = (): number => now;
    const overrides = {
      ingest: { presets: ['zigbee2mqtt', 'esphome'], timezone: 'UTC' },
      http: { port: httpPort, host: '127.0.0.1' },
      // Learning on: an on/off stream must not be learning a model of its own.
      learning: { enabled: true },
      store: { commitIntervalMs: 0 },
    };
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock, cleanups });
    const alerts = await collectAlerts(url, `onoff-words-sub-${name}-${process.pid}`, cleanups);
    const { send } = await scoringHub(daemon, url, `onoff-words-hub-${name}-${process.pid}`, cleanups);

    // The door reports every 10 s (open about every 2 min for about 6 s); motion and the ESPHome door toggle now and then.
    const rnd = lcg(23);
    for (let k = 0; k < 560; k++) {
      now += 10 * SEC;
      const open = k % 12 === 0 && k > 0;
      await send('zigbee2mqtt/door_contact', JSON.stringify({ battery: 100, contact: !open, linkquality: 60, voltage: 3005 }));
      if (k % 3 === 0) {
        now += 1;
        await send('zigbee2mqtt/hall_motion', JSON.stringify({ battery: 90, occupancy: rnd() < 0.5, illuminance: 12 }));
      }
      if (k % 5 === 0) {
        now += 1;
        await send('esp-door/binary_sensor/front_door/state', k % 10 === 0 ? 'ON' : 'OFF');
      }
      daemon.judgeSilences();
    }
    // Normal use, the door opened every 2 min, motion and the ESPHome door toggling: nothing told.
    expect(alerts.map((a) => `${a.event} ${a.sensor} ${a.explanation?.sentence ?? ''}`)).toEqual([]);

    const sensors = ((await (await fetch(`http://127.0.0.1:${httpPort}/api/sensors`)).json()) as { sensors: SensorView[] }).sensors;
    const of = (s: string): SensorView => {
      const v = sensors.find((x) => x.sensor === s);
      if (v === undefined) throw new Error(`${s} not listed: ${sensors.map((x) => x.sensor).join(', ')}`);
      return v;
    };
    // The data contract keeps 1 / 0; the words come beside it.
    expect(of(DOOR)).toMatchObject({ value: 1, surprise: null, ownModel: null, onOff: { on: 'closed', off: 'open', state: 'closed', alarm: false } });
    expect(of(MOTION).onOff).toMatchObject({ on: 'detected', off: 'clear', alarm: false });
    expect(of(MOTION)).toMatchObject({ surprise: null, ownModel: null });
    expect(of(ESP)).toMatchObject({ value: 0, surprise: null, ownModel: null, onOff: { on: 'on', off: 'off', state: 'off', alarm: false } });
    // A measurement beside them keeps its surprise and learns its own model.
    const lux = of('hall_motion/illuminance');
    expect(lux.onOff).toBeUndefined();
    expect(lux.surprise).not.toBeNull();
    expect(lux.ownModel).not.toBeNull();

    // Left open (its reports every 10 s say so): after a few minutes it is told as a state held far longer than ever
    // before (its 45 openings each lasted one report, 10 s), in its words; shut and used again, resolved.
    const openedAt = now + 10 * SEC;
    for (let k = 0; k < 60 && !alerts.some((a) => a.sensor === DOOR); k++) {
      now += 10 * SEC;
      await send('zigbee2mqtt/door_contact', JSON.stringify({ battery: 100, contact: false, linkquality: 60, voltage: 3005 }));
    }
    await waitFor(() => alerts.some((a) => a.sensor === DOOR), 10_000, 'the door held open told');
    const held = alerts.find((a) => a.sensor === DOOR)!;
    expect(held).toMatchObject({ event: 'open', explanation: { kind: 'stuck', value: 0 } });
    expect(held.explanation?.sentence).toMatch(/^door_contact\/contact open for \d+ min since \d\d:\d\d, never longer than 10 s before \(stuck: state held\)$/);
    expect(now - openedAt).toBeGreaterThan(MIN);
    expect(now - openedAt).toBeLessThan(10 * MIN);
    for (let k = 0; k < 40; k++) {
      now += 10 * SEC;
      await send('zigbee2mqtt/door_contact', JSON.stringify({ battery: 100, contact: k % 12 === 6 ? false : true, linkquality: 60, voltage: 3005 }));
    }
    await waitFor(() => alerts.some((a) => a.sensor === DOOR && a.event === 'resolve'), 10_000, 'the held door resolved');
    expect(alerts.filter((a) => a.sensor === DOOR).map((a) => a.anomaly_id)).toEqual(alerts.filter((a) => a.sensor === DOOR).map(() => held.anomaly_id));
    alerts.splice(0);

    // The door dies without a word while closed: its silence is told with its state's name.
    for (let k = 0; k < 60 && !alerts.some((a) => a.sensor === DOOR); k++) {
      now += 10 * SEC;
      daemon.judgeSilences();
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => alerts.some((a) => a.sensor === DOOR), 10_000, 'the door silence told');
    const told = alerts.find((a) => a.sensor === DOOR && a.event === 'open')!;
    expect(told.explanation?.kind).toBe('missing_data');
    expect(told.explanation?.sentence).toMatch(/^door_contact\/contact no reading for .+ since \d\d:\d\d, last closed \(missing data\)$/);
    // The published figure stays the reading, 1.
    expect(told.explanation?.value).toBe(1);
    // The record of it (anomalies list/show, the API) says the same.
    const stored = (await (await fetch(`http://127.0.0.1:${httpPort}/api/anomalies/${told.anomaly_id}`)).json()) as { explanation?: { sentence?: string } };
    expect(stored.explanation?.sentence).toMatch(/, last closed \(missing data\)$/);
  }, 180_000);
});
