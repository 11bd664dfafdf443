/**
 * Tryout 37, findings 1, 4 and 8, through the real parser built from a Config as the daemon builds it:
 *  - arrays of numbers in a hub's JSON (a Sonoff Dual R3's, a Shelly 2.5's under Tasmota, a PZEM three-phase meter's
 *    `"ENERGY":{"Power":[114,25],…}`) were dropped unsaid: now one stream per element, `ENERGY.Power.0`, `.1` (as Home
 *    Assistant's Tasmota integration names them, `ENERGY Power 0`), with the field's unit and counter; an array the
 *    mapper cannot read (texts, objects, over MAX_ARRAY_FIELDS) is a counted rejection of its field, its siblings read;
 *    Tasmota's own discovery template `{{value_json['ENERGY']['Power'][0]}}` names the same stream;
 *  - another anomalyd's Home Assistant discovery entities (a second daemon with its own mqtt.topicPrefix) were read as
 *    sensors, its status as a device's word: now never read, counted refused `anomalyd`;
 *  - a Tasmota backfill array's `TempUnit` inside each element was not read: now it is each element's unit.
 * On main: the Dual R3 gave 3 streams (Total, Voltage, BL09XX.Temperature) and no rejection.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { binarySensorConfig, scoreSensorConfig, type DiscoveryContext } from '../../src/contract/ha-discovery.js';
import { topics } from '../../src/contract/alerts.js';
import type { ParseResult } from '../../src/contract/types.js';
import { MAX_ARRAY_FIELDS } from '../../src/pipeline/decode/record.js';
import { discoveryUnitOf, readDiscoveryConfig } from '../../src/pipeline/discovery-config.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';

const NOW = Date.UTC(2026, 11, 5, 19, 30, 0);

/** The real Dual R3 telemetry (arendst/Tasmota#21695), as the tryout sent it on tele/dualr3b/SENSOR. */
const DUAL_R3 = {
  Time: '2026-12-05T19:29:50',
  ENERGY: {
    TotalStartTime: '2024-03-15T00:00:00',
    Total: 0.031,
    Yesterday: 0.013,
    Today: 0.015,
    Power: [114, 25],
    ApparentPower: [114, 25],
    ReactivePower: [0, 0],
    Factor: [1.0, 1.0],
    Voltage: 234,
    Current: [0.485, 0.108],
    BL09XX: { Temperature: 43.2 },
  },
};

function config(ingest: Record<string, unknown>, mqtt: Record<string, unknown> = {}): Config {
  const r = loadConfig({ overrides: { ingest: { timezone: 'UTC', ...ingest }, mqtt }, env: {}, path: '/dev/null' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

interface Harness {
  readonly p: MessageParser;
  readonly subscribed: string[];
  readonly availability: string[];
  send(topic: string, payload: string | object, retain?: boolean): ParseResult;
}

function harness(ingest: Record<string, unknown>, mqtt: Record<string, unknown> = {}): Harness {
  const subscribed: string[] = [];
  const availability: string[] = [];
  let t = NOW;
  const p = new MessageParser(
    parseOptionsOf(config(ingest, mqtt), { onAvailability: (device, online) => availability.push(`${device} ${online ? 'online' : 'offline'}`) }, { onStateTopic: (topic, on) => on && subscribed.push(topic) }),
  );
  const send = (topic: string, payload: string | object, retain = false): ParseResult => {
    t += 10_000;
    return p.parse({ topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), receivedAt: t, retain });
  };
  return { p, subscribed, availability, send };
}

function readings(r: ParseResult): Record<string, number> {
  if (r.kind !== 'readings') throw new Error(`rejected ${r.rejection.reason}: ${r.rejection.detail}`);
  return Object.fromEntries(r.readings.map((x) => [x.sensor, x.values[0]]));
}

function rejections(r: ParseResult): string[] {
  return r.kind === 'rejected' ? [`${r.rejection.sensor} ${r.rejection.reason}`] : r.rejections.map((x) => `${x.sensor} ${x.reason}`);
}

describe('arrays of numbers in a hub payload (tryout 37, finding 1)', () => {
  it('a Dual R3: one stream per element, with the field unit; Today, Yesterday, TotalStartTime still dropped', () => {
    const h = harness({ presets: ['tasmota'] });
    const r = h.send('tele/dualr3b/SENSOR', DUAL_R3);
    expect(readings(r)).toEqual({
      'dualr3b/ENERGY.Total': 0.031,
      'dualr3b/ENERGY.Voltage': 234,
      'dualr3b/ENERGY.BL09XX.Temperature': 43.2,
      'dualr3b/ENERGY.Power.0': 114,
      'dualr3b/ENERGY.Power.1': 25,
      'dualr3b/ENERGY.ApparentPower.0': 114,
      'dualr3b/ENERGY.ApparentPower.1': 25,
      'dualr3b/ENERGY.ReactivePower.0': 0,
      'dualr3b/ENERGY.ReactivePower.1': 0,
      'dualr3b/ENERGY.Factor.0': 1,
      'dualr3b/ENERGY.Factor.1': 1,
      'dualr3b/ENERGY.Current.0': 0.485,
      'dualr3b/ENERGY.Current.1': 0.108,
    });
    expect(rejections(r)).toEqual([]);
    expect(h.p.statedUnit('dualr3b/ENERGY.Power.0')).toBe('W');
    expect(h.p.statedUnit('dualr3b/ENERGY.Power.1')).toBe('W');
    expect(h.p.statedUnit('dualr3b/ENERGY.ApparentPower.1')).toBe('VA');
    expect(h.p.statedUnit('dualr3b/ENERGY.ReactivePower.0')).toBe('var');
    expect(h.p.statedUnit('dualr3b/ENERGY.Current.1')).toBe('A');
    expect(h.p.statedUnit('dualr3b/ENERGY.Total')).toBe('kWh');
    expect(h.p.statedCounter('dualr3b/ENERGY.Total')).toBe(true);
    expect(h.p.statedCounter('dualr3b/ENERGY.Power.0')).toBe(false);
  });

  it('per-phase energy (SetOption129): Total elements are counters, Today and Yesterday elements dropped, tariffs counters', () => {
    const h = harness({ presets: ['tasmota'] });
    const r = h.send('tele/pzem3/SENSOR', {
      Time: '2026-12-05T19:29:50',
      ENERGY: { TotalStartTime: '2024-01-01T00:00:00', Total: [1.5, 2.5, 3.5], Yesterday: [0.1, 0.2, 0.3], Today: [0.01, 0.02, 0.03], TotalTariff: [0.0, 7.5], Power: [100, 200, 300], Voltage: [230, 231, 229], Current: [0.5, 0.9, 1.3] },
    });
    const got = readings(r);
    expect(Object.keys(got).sort()).toEqual(
      [
        'ENERGY.Current.0', 'ENERGY.Current.1', 'ENERGY.Current.2', 'ENERGY.Power.0', 'ENERGY.Power.1', 'ENERGY.Power.2',
        'ENERGY.Total.0', 'ENERGY.Total.1', 'ENERGY.Total.2', 'ENERGY.TotalTariff.0', 'ENERGY.TotalTariff.1',
        'ENERGY.Voltage.0', 'ENERGY.Voltage.1', 'ENERGY.Voltage.2',
      ].map((f) => `pzem3/${f}`).sort(),
    );
    for (const i of [0, 1, 2]) {
      expect(h.p.statedCounter(`pzem3/ENERGY.Total.${i}`)).toBe(true);
      expect(h.p.statedUnit(`pzem3/ENERGY.Total.${i}`)).toBe('kWh');
      expect(h.p.statedUnit(`pzem3/ENERGY.Voltage.${i}`)).toBe('V');
    }
    expect(h.p.statedCounter('pzem3/ENERGY.TotalTariff.1')).toBe(true);
  });

  it('an array the mapper cannot read is its field rejection with a reason; its siblings are read', () => {
    const h = harness({ presets: ['tasmota'] });
    const long = Array.from({ length: 100 }, (_, i) => i);
    const r = h.send('tele/odd/SENSOR', { Time: '2026-12-05T19:29:50', ENERGY: { Power: 50, Names: ['a', 'b'], Parts: [{ x: 1 }], Spectrum: long } });
    expect(readings(r)).toEqual({ 'odd/ENERGY.Power': 50 });
    expect(rejections(r).sort()).toEqual(['odd/ENERGY.Names not_a_number', 'odd/ENERGY.Parts not_a_number', 'odd/ENERGY.Spectrum too_many_streams']);
    const details = r.kind === 'readings' ? r.rejections.map((x) => x.detail).join('\n') : '';
    expect(details).toContain('field ENERGY.Names is an array of texts');
    expect(details).toContain('field ENERGY.Parts is an array of objects');
    expect(details).toContain(`array of 100 elements: one stream per element is read up to ${MAX_ARRAY_FIELDS}`);
    // Not 100 streams: only the one good field's.
    expect(h.p.streams).toBe(1);
  });

  it('an element that is null or nan is a missing reading of that element only', () => {
    const h = harness({ presets: ['tasmota'] });
    const r = h.send('tele/dual/SENSOR', { Time: '2026-12-05T19:29:50', ENERGY: { Power: [null, 25], Current: ['nan', 0.1] } });
    expect(readings(r)).toEqual({ 'dual/ENERGY.Power.1': 25, 'dual/ENERGY.Current.1': 0.1 });
    expect(rejections(r)).toEqual([]);
  });

  it('the generic JSON mapping and zigbee2mqtt read arrays of numbers the same way', () => {
    const g = harness({ topics: ['sensors/+'] });
    expect(readings(g.send('sensors/bms', { pack: 52.1, cells: [3.26, 3.27, 3.25] }))).toEqual({ 'bms/pack': 52.1, 'bms/cells.0': 3.26, 'bms/cells.1': 3.27, 'bms/cells.2': 3.25 });
    // The device's own `value` as an array is still no value (rejected as before), not channels.
    expect(rejections(g.send('sensors/x', { value: [1, 2] }))).toEqual(['x not_a_number']);
    const z = harness({ presets: ['zigbee2mqtt'] });
    expect(readings(z.send('zigbee2mqtt/meter', { power: [10, 20], linkquality: 80 }))).toEqual({ 'meter/power.0': 10, 'meter/power.1': 20 });
    expect(z.p.statedUnit('meter/power.1')).toBe('W');
  });

  it('Shelly aenergy.by_minute (apower, minutes late) stays no stream', () => {
    const h = harness({ presets: ['shelly'] });
    const r = h.send('shellyplus1pm-a8032ab1/status/switch:0', { id: 0, apower: 55.2, aenergy: { total: 17.6, by_minute: [920, 918, 921], minute_ts: 1764496800 } });
    expect(Object.keys(readings(r)).sort()).toEqual(['shellyplus1pm-a8032ab1/switch:0/aenergy.total', 'shellyplus1pm-a8032ab1/switch:0/apower']);
    expect(rejections(r)).toEqual([]);
  });

  it("Tasmota's discovery template {{value_json['ENERGY']['Power'][0]}} names the stream ENERGY.Power.0", () => {
    const h = harness({ presets: ['tasmota', 'homeassistant'] });
    const cfg = {
      name: 'dualr3b ENERGY Power 1',
      stat_t: 'tele/dualr3b/SENSOR',
      avty_t: 'tele/dualr3b/LWT',
      unit_of_meas: 'W',
      dev_cla: 'power',
      val_tpl: "{{value_json['ENERGY']['Power'][0]}}",
      uniq_id: '8A3F21_ENERGY_Power_1',
    };
    const c = readDiscoveryConfig(Buffer.from(JSON.stringify(cfg)));
    expect(c).not.toBeNull();
    const rules = parseOptionsOf(config({ presets: ['tasmota', 'homeassistant'] })).rules!;
    expect(discoveryUnitOf(c!, rules)).toEqual({ stream: 'dualr3b/ENERGY.Power.0', unit: 'W' });
    expect(h.send('homeassistant/sensor/8A3F21_ENERGY_Power_1/config', cfg, true)).toMatchObject({ skipped: 'hub_topic' });
    // A rule reads the topic: no entity of its own, the config states the unit of the rule's stream.
    expect(h.p.discoveryTable()).toMatchObject({ entities: 0, units: 1 });
    expect(h.subscribed).toEqual([]);
    expect(readings(h.send('tele/dualr3b/SENSOR', DUAL_R3))['dualr3b/ENERGY.Power.0']).toBe(114);
  });

  it('an entity read on its own with an indexed template reads that element', () => {
    const h = harness({ presets: ['homeassistant'] });
    h.send('homeassistant/sensor/meter/ch2_power/config', { stat_t: 'house/meter/state', unit_of_meas: 'W', val_tpl: "{{ value_json['ENERGY']['Power'][1] }}" }, true);
    expect(h.subscribed).toEqual(['house/meter/state']);
    expect(readings(h.send('house/meter/state', DUAL_R3))).toEqual({ 'meter/ch2_power': 25 });
  });
});

describe("another anomalyd's entities (tryout 37, finding 4)", () => {
  const theirs: DiscoveryContext = { nodeId: 'anomalyd-try37b', version: '0.1.0', topics: topics('anomalyd2') };

  it('its score and anomaly configs are no entities, their availability no device word; counted refused anomalyd', () => {
    const h = harness({ presets: ['zigbee2mqtt', 'tasmota', 'esphome', 'homeassistant'] }, { topicPrefix: 'anomalyd' });
    const score = scoreSensorConfig(theirs, 'plug2/ENERGY.Power', 'plug2');
    const flag = binarySensorConfig(theirs, 'plug2/ENERGY.Power', 'plug2');
    expect(score.state_topic.startsWith('anomalyd2/')).toBe(true);
    expect(h.send('homeassistant/sensor/anomalyd-try37b/plug2_ENERGY_Power_30417b8d/config', score, true)).toMatchObject({ skipped: 'hub_topic' });
    expect(h.send('homeassistant/binary_sensor/anomalyd-try37b/plug2_ENERGY_Power_30417b8d/config', flag, true)).toMatchObject({ skipped: 'hub_topic' });
    // Its own configs (under its own mqtt.topicPrefix) are its own, not counted refused.
    const own = scoreSensorConfig({ nodeId: 'own', version: '0.1.0', topics: topics('anomalyd') }, 'plug2/ENERGY.Power', 'plug2');
    expect(h.send('homeassistant/sensor/own/plug2_ENERGY_Power_30417b8d/config', own, true)).toMatchObject({ skipped: 'hub_topic' });
    expect(h.subscribed).toEqual([]);
    expect(h.p.discoveryTable()).toMatchObject({ entities: 0, units: 0, refused: { anomalyd: 2 } });
    // Its status going offline (its stop) says nothing of any device, though ESPHome's `{sensor#}/status` matches it.
    expect(h.send('anomalyd2/status', 'offline', true)).toMatchObject({ skipped: 'hub_topic' });
    expect(h.availability).toEqual([]);
  });

  it('abbreviated keys (o.name, dev.mf) are told too; a device of another maker is read', () => {
    const h = harness({ presets: ['homeassistant'] });
    h.send('homeassistant/sensor/x/score/config', { stat_t: 'elsewhere/score', o: { name: 'anomalyd' } }, true);
    h.send('homeassistant/sensor/y/score/config', { stat_t: 'elsewhere/score2', dev: { ids: ['a'], mf: 'anomalyd' } }, true);
    h.send('homeassistant/sensor/th1/temperature/config', { stat_t: 'office/th1/state', dev: { ids: ['b'], mf: 'Espressif' }, o: { name: 'ESPHome' } }, true);
    expect(h.subscribed).toEqual(['office/th1/state']);
    expect(h.p.discoveryTable()).toMatchObject({ entities: 1, refused: { anomalyd: 2 } });
  });
});

describe('Tasmota TempUnit inside backfill arrays (tryout 37, finding 8)', () => {
  it("each element's TempUnit is its readings' unit, as a single message's", () => {
    const h = harness({ presets: ['tasmota'] });
    const rows = [0, 1, 2].map((i) => ({ Time: `2026-12-05T19:0${i}:00`, DS18B20: { Temperature: 10.1 + i }, TempUnit: 'C' }));
    const r = h.send('tele/garage3/SENSOR', rows);
    expect(Object.keys(readings(r))).toEqual(['garage3/DS18B20.Temperature']);
    expect(h.p.statedUnit('garage3/DS18B20.Temperature')).toBe('°C');
    const f = harness({ presets: ['tasmota'] });
    f.send('tele/g/SENSOR', [{ Time: '2026-12-05T19:00:00', DS18B20: { Temperature: 50.2 }, TempUnit: 'F' }, { Time: '2026-12-05T19:01:00', DS18B20: { Temperature: 50.4 }, TempUnit: 'F' }]);
    expect(f.p.statedUnit('g/DS18B20.Temperature')).toBe('°F');
  });
});
