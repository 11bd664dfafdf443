/**
 * On/off readings (tryout 22, finding 7): a device whose readings are all on/off (a zigbee2mqtt door contact's
 * `contact`, a motion sensor's `occupancy`, an ESPHome or Home Assistant binary_sensor's `ON`/`OFF`) is a stream of
 * 0 and 1, known to the daemon (so its availability and its silence are told), through the real parser built from a
 * Config as the daemon builds it; and a stream the hub states is on/off is judged on its silence only, so its
 * normal use (a door opened a few times a day) opens nothing while its death is told.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { AnomalyEvent, ParseResult } from '../../src/contract/types.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { ingestFilters, parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { ROOT } from '../helpers/daemon.js';
import { feedMessages, type Explained } from '../helpers/explained.js';

const NOW = Date.UTC(2026, 11, 3, 10, 0, 0);

function config(ingest: Record<string, unknown>): Config {
  const r = loadConfig({ overrides: { ingest: { timezone: 'UTC', ...ingest } }, env: {}, path: '/dev/null' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

function parserFor(presets: string[]): MessageParser {
  return new MessageParser(parseOptionsOf(config({ presets })));
}

/** The readings as `stream=value`, or the rejection's reason, or the skip reason. */
function outcome(p: MessageParser, topic: string, payload: string): unknown {
  const r: ParseResult = p.parse({ topic, payload: Buffer.from(payload), receivedAt: NOW });
  if (r.kind === 'rejected') return r.rejection.reason;
  if (r.readings.length === 0) return r.skipped ?? null;
  return r.readings.map((x) => `${x.sensor}=${x.values.join(',')}`).sort();
}

describe('on/off readings from the presets', () => {
  it('zigbee2mqtt: a contact, an occupancy, a water leak are 0/1 streams beside the measurements; health, settings and a light\'s state stay skipped', () => {
    const p = parserFor(['zigbee2mqtt']);
    // The tryout's door contact: battery, voltage and linkquality are the device's health (dropped), contact is read.
    expect(outcome(p, 'zigbee2mqtt/door_contact', '{"battery":100,"contact":true,"linkquality":60,"voltage":3005}')).toEqual(['door_contact/contact=1']);
    expect(outcome(p, 'zigbee2mqtt/door_contact', '{"battery":100,"contact":false,"linkquality":60,"voltage":3005}')).toEqual(['door_contact/contact=0']);
    expect(p.statedOnOff('door_contact/contact')).toBe(true);
    // A motion sensor: its occupancy beside its illuminance (a measurement, not on/off).
    expect(outcome(p, 'zigbee2mqtt/hall_motion', '{"battery":90,"illuminance_lux":12,"occupancy":true,"linkquality":80}')).toEqual(['hall_motion/illuminance_lux=12', 'hall_motion/occupancy=1']);
    expect(p.statedOnOff('hall_motion/occupancy')).toBe(true);
    expect(p.statedOnOff('hall_motion/illuminance_lux')).toBe(false);
    expect(outcome(p, 'zigbee2mqtt/leak', '{"water_leak":false,"battery_low":false,"tamper":false}')).toEqual(['leak/tamper=0', 'leak/water_leak=0']);
    // Not measurements, counted skips as before: a light's state and brightness (what a person sets), a button's action,
    // a boolean that is the device's health (battery_low) or a setting of it.
    expect(outcome(p, 'zigbee2mqtt/light1', '{"state":"ON","brightness":200,"linkquality":80}')).toBe('hub_event');
    expect(outcome(p, 'zigbee2mqtt/button', '{"action":"single","battery":90,"linkquality":70}')).toBe('hub_event');
    expect(outcome(p, 'zigbee2mqtt/sensor_low', '{"battery_low":true,"update_available":false,"led_disabled_night":true}')).toBe('hub_event');
    // A text at an on/off field is no reading (a converter's odd word): the message's other fields are read.
    expect(outcome(p, 'zigbee2mqtt/door2', '{"contact":"maybe","temperature":21}')).toEqual(['door2/temperature=21']);
  });

  it('ESPHome: `<node>/binary_sensor/<obj>/state` ON/OFF is the stream <node>/<obj>, subscribed', () => {
    const p = parserFor(['esphome']);
    expect(outcome(p, 'esp-garage/binary_sensor/door/state', 'ON')).toEqual(['esp-garage/door=1']);
    expect(outcome(p, 'esp-garage/binary_sensor/door/state', 'OFF')).toEqual(['esp-garage/door=0']);
    expect(p.statedOnOff('esp-garage/door')).toBe(true);
    expect(outcome(p, 'home/garage/binary_sensor/door/state', 'off')).toEqual(['home/garage/door=0']);
    // Its sensors as before, not on/off.
    expect(outcome(p, 'esp-garage/sensor/temperature/state', '12.5')).toEqual(['esp-garage/temperature=12.5']);
    expect(p.statedOnOff('esp-garage/temperature')).toBe(false);
    expect(ingestFilters(config({ presets: ['esphome'] }))).toEqual(expect.arrayContaining(['+/binary_sensor/+/state', '+/+/binary_sensor/+/state']));
  });

  it('Home Assistant statestream: `homeassistant/binary_sensor/<obj>/state` on/off is the stream <obj>; unavailable is missing', () => {
    const p = parserFor(['ha_statestream']);
    expect(outcome(p, 'homeassistant/binary_sensor/front_door/state', 'on')).toEqual(['front_door=1']);
    expect(outcome(p, 'homeassistant/binary_sensor/front_door/state', 'off')).toEqual(['front_door=0']);
    expect(outcome(p, 'homeassistant/binary_sensor/front_door/state', 'unavailable')).toBe('missing_value');
    expect(p.statedOnOff('front_door')).toBe(true);
    // anomalyd's own entities come back through statestream: skipped, never read.
    expect(outcome(p, 'homeassistant/binary_sensor/anomalyd_x/state', 'on')).toBe('hub_topic');
    // A sensor entity's text state stays a counted text_state, `on` included (only the binary_sensor domain is on/off).
    expect(outcome(p, 'homeassistant/sensor/washer_state/state', 'on')).toBe('text_state');
    expect(ingestFilters(config({ presets: ['ha_statestream'] }))).toEqual(expect.arrayContaining(['homeassistant/binary_sensor/+/state']));
  });
});

describe('an on/off stream in the detector the daemon runs (shipped configuration, zigbee2mqtt preset)', () => {
  const MIN = 60_000;
  const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);

  function shipped(): { det: Detector; book: SignalBook; parser: MessageParser } {
    const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { ingest: { presets: ['zigbee2mqtt'], timezone: 'UTC' } } });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    let ids = 0;
    const parser = new MessageParser(parseOptionsOf(loaded.config));
    const det = new Detector(detectorOptions(loaded.config), { parser, modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
    return { det, book, parser };
  }

  /**
   * A door contact as an Aqara one reports it through zigbee2mqtt: its state at every change and a check-in every
   * 50 min (with jitter); the door opened 2 to 6 times a day, each time for 20 s to 10 min, and once a day held open
   * for 30 to 90 min (airing a room). Messages as the hub sends them, stamped on arrival.
   */
  function doorDays(days: number, seed: number): { topic: string; payload: Buffer; receivedAt: number }[] {
    let s = seed;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const changes: { ts: number; open: boolean }[] = [];
    for (let d = 0; d < days; d++) {
      const n = 2 + Math.floor(rnd() * 5);
      for (let k = 0; k < n; k++) {
        const at = T0 + d * 1440 * MIN + Math.round((7 + 15 * rnd()) * 60) * MIN + Math.round(rnd() * 60_000);
        const held = k === 0 ? Math.round((30 + 60 * rnd()) * MIN) : Math.round((20 + 580 * rnd()) * 1000);
        changes.push({ ts: at, open: true }, { ts: at + held, open: false });
      }
    }
    changes.sort((a, b) => a.ts - b.ts);
    const out: { ts: number; open: boolean }[] = [];
    let open = false;
    let i = 0;
    for (let t = T0; t < T0 + days * 1440 * MIN; t += Math.round((48 + 4 * rnd()) * MIN)) {
      for (; i < changes.length && changes[i].ts < t; i++) {
        // Overlapping openings of one day: a change to the state it is in already is none.
        if (changes[i].open === open) continue;
        open = changes[i].open;
        out.push({ ts: changes[i].ts, open });
      }
      out.push({ ts: t, open });
    }
    out.sort((a, b) => a.ts - b.ts);
    return out.map((r) => ({ topic: 'zigbee2mqtt/door_contact', payload: Buffer.from(JSON.stringify({ battery: 100, contact: !r.open, linkquality: 60, voltage: 3005 })), receivedAt: r.ts }));
  }

  it('a door opened a few times a day opens nothing; its death is told while it lasts, once, and resolved at its next message', async () => {
    const { det, book, parser } = shipped();
    const messages = doorDays(30, 5);
    const out: Explained[] = [];
    await feedMessages(det, book, messages, out);
    expect(parser.statedOnOff('door_contact/contact')).toBe(true);
    // A month of normal use (about 1000 readings, its learning period of 256 among them): no episode of any kind.
    expect(out.map((x) => `${x.ev.kind} ${x.e?.kind ?? '?'} at ${new Date(x.ev.startTs).toISOString()}`)).toEqual([]);
    // Its quiet between check-ins, judged as the daemon judges it every few seconds (a link pause of 90 s): nothing.
    const last = messages[messages.length - 1].receivedAt;
    const quiet: AnomalyEvent[] = [];
    for (let t = last + 10_000; t <= last + 49 * MIN; t += 10_000) quiet.push(...det.judgeSilence('door_contact/contact', last, t, 90_000).events);
    expect(quiet).toEqual([]);
    // It dies (its battery): judged every minute for a day, one missing-data episode opens, within hours (a few of
    // its check-ins missed), not at the first one missed.
    const told: Explained[] = [];
    let openedAfter = Number.NaN;
    for (let t = last + MIN; t <= last + 24 * 60 * MIN; t += MIN) {
      for (const ev of det.judgeSilence('door_contact/contact', last, t, 90_000).events) {
        told.push({ ev, e: book.explain(ev) });
        if (ev.kind === 'open') openedAfter = t - last;
      }
    }
    expect(told.filter((x) => x.ev.kind === 'open')).toHaveLength(1);
    expect(told[0].e?.kind).toBe('missing_data');
    expect(openedAfter).toBeGreaterThan(52 * MIN);
    expect(openedAfter).toBeLessThan(6 * 60 * MIN);
    const id = told[0].ev.anomalyId;
    expect(det.openAnomaly('door_contact/contact')).toBe(id);
    // It reports again: the episode resolves at that message, and nothing else opens.
    const back: Explained[] = [];
    const at = last + 25 * 60 * MIN;
    await feedMessages(det, book, [{ topic: 'zigbee2mqtt/door_contact', payload: Buffer.from('{"battery":100,"contact":true,"linkquality":60}'), receivedAt: at }], back, false, messages.length);
    expect(back.map((x) => [x.ev.kind, x.ev.anomalyId])).toEqual([['resolve', id]]);
    expect(det.openAnomaly('door_contact/contact')).toBeNull();
  }, 60_000);

  it('a door kept shut through its learning period, then used: its first openings are no alarm (scored as a measurement, its first opening opened an episode)', async () => {
    for (const seed of [1, 3, 4]) {
      const { det, book } = shipped();
      // Check-ins only (shut) for its first 12 days, about 350 readings: then opened a few times a day for 4 weeks.
      const messages = doorDays(40, seed).filter((m) => m.receivedAt >= T0 + 12 * 1440 * MIN || m.payload.toString().includes('"contact":true'));
      const out: Explained[] = [];
      await feedMessages(det, book, messages, out);
      expect(out.map((x) => `${x.ev.kind} ${x.e?.kind ?? '?'} at ${new Date(x.ev.startTs).toISOString()}`)).toEqual([]);
    }
  }, 60_000);
});
