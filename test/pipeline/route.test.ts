/**
 * Field mapping through the real parser built from a Config, as the daemon builds it: presets (each
 * documented sample yields the documented streams), rules, groups, retained messages, missing-words,
 * decimal commas, payload sensor ids, and a topic no rule matches.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { ParseResult, RawMessage, Reading } from '../../src/contract/types.js';
import { groupModelOf, ingestFilters, parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { ruleTopicOf } from '../../src/config/ingest-rules.js';
import { PRESET_NAMES, PRESETS, Z2M_SETTINGS, Z2T_NOT_MEASURED } from '../../src/config/presets.js';
import { topicMatches as mqttMatches } from '../../src/adapters/broker-roles.js';

const NOW = Date.UTC(2026, 10, 30, 10, 0, 30);

function config(ingest: Record<string, unknown>, model: Record<string, unknown> = {}): Config {
  const r = loadConfig({ overrides: { ingest: { timezone: 'UTC', ...ingest }, model }, env: {}, path: '/dev/null' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

function parserFor(ingest: Record<string, unknown>): MessageParser {
  return new MessageParser(parseOptionsOf(config(ingest)));
}

function msg(topic: string, payload: string, extra: Partial<RawMessage> = {}): RawMessage {
  return { topic, payload: Buffer.from(payload), receivedAt: NOW, ...extra };
}

function readings(r: ParseResult): readonly Reading[] {
  if (r.kind !== 'readings') throw new Error(`rejected ${r.rejection.reason}: ${r.rejection.detail}`);
  expect(r.rejections).toEqual([]);
  return r.readings;
}

describe('presets', () => {
  for (const name of PRESET_NAMES) {
    it(`${name}: the documented sample yields the documented streams`, () => {
      const { sample } = PRESETS[name];
      const rs = readings(parserFor({ presets: [name] }).parse(msg(sample.topic, sample.payload)));
      expect(rs.map((r) => r.sensor).sort()).toEqual([...sample.streams].sort());
      for (const r of rs) expect(r.channels).toEqual(['value']);
    });
  }

  it('subscribes to every preset topic and to ingest.topics', () => {
    expect(ingestFilters(config({ presets: ['tasmota', 'esphome'] }))).toEqual([
      'sensors/#',
      'tele/+/SENSOR',
      // Tasmota's LWT and ESPHome's status: the devices' word on whether they are online (tryout 16, finding 7).
      'tele/+/LWT',
      '+/sensor/+/state',
      '+/+/sensor/+/state',
      '+/climate/+/current_temperature/state',
      '+/+/climate/+/current_temperature/state',
      // ESPHome's binary sensors: on/off readings (tryout 22, finding 7).
      '+/binary_sensor/+/state',
      '+/+/binary_sensor/+/state',
      '+/status',
      '+/+/status',
      // ESPHome's discovery configs, for their units.
      'homeassistant/sensor/+/config',
      'homeassistant/sensor/+/+/config',
      // … and its binary sensors', for their device class (an alarm class: tryout 32).
      'homeassistant/binary_sensor/+/config',
      'homeassistant/binary_sensor/+/+/config',
    ]);
    // Tryout 13: `zigbee2mqtt/+` never received a friendly name of several levels (`kitchen/floor_light`).
    expect(ingestFilters(config({ presets: ['zigbee2mqtt'] }))).toEqual(['sensors/#', 'zigbee2mqtt/#']);
  });

  it('tasmota: Time without an offset is read in ingest.timezone', () => {
    const p = new MessageParser(parseOptionsOf(config({ presets: ['tasmota'], timezone: 'Europe/Berlin' })));
    const [r] = readings(p.parse(msg('tele/plug/SENSOR', '{"Time":"2026-11-30T11:00:00","ENERGY":{"Total":0.052,"Power":0,"Voltage":198,"Current":0.0}}')));
    expect(r.ts).toBe(Date.UTC(2026, 10, 30, 10));
  });

  it('homeassistant: unavailable and unknown are missing readings, not rejections; anomalyd entities are skipped', () => {
    const p = parserFor({ presets: ['homeassistant'] });
    expect(readings(p.parse(msg('homeassistant/sensor/outdoor/state', 'unavailable')))).toEqual([]);
    expect(readings(p.parse(msg('homeassistant/sensor/outdoor/state', 'unknown')))).toEqual([]);
    expect(readings(p.parse(msg('homeassistant/sensor/outdoor/state', '7.5')))[0]).toMatchObject({ sensor: 'outdoor', values: [7.5] });
  });

  it("homeassistant, ha_statestream: anomalyd's own score entities echoed back are skipped, counted hub_topic, not rejected bad_topic (tryout 14, finding 2)", () => {
    for (const preset of ['homeassistant', 'ha_statestream']) {
      const p = parserFor({ presets: [preset] });
      const own = p.parse(msg('homeassistant/sensor/anomalyd_shellyplusplugs_washer_switch_0_apower_anomaly_score/state', '0.53'));
      expect(own.kind === 'readings' && [own.readings.length, own.rejections.length, own.skipped], preset).toEqual([0, 0, 'hub_topic']);
      // Another entity is read as before.
      expect(readings(p.parse(msg('homeassistant/sensor/outdoor/state', '7.5')))[0], preset).toMatchObject({ sensor: 'outdoor', values: [7.5] });
    }
    const number = parserFor({ presets: ['ha_statestream'] }).parse(msg('homeassistant/number/anomalyd_threshold/state', '5'));
    expect(number.kind === 'readings' && number.skipped).toBe('hub_topic');
  });

  it('homeassistant, ha_statestream: a text state (idle, on, off) is skipped, counted text_state, not rejected bad_json; unavailable and unknown are missing readings (tryout 13 #9)', () => {
    // home-assistant.io, "MQTT Statestream": `<base_topic>/<domain>/<entity>/state` carries the entity's state as
    // text, for a sensor that is not numeric too (`washing_machine_state` `idle`).
    for (const preset of ['homeassistant', 'ha_statestream']) {
      const p = parserFor({ presets: [preset] });
      const outcome = (payload: string, entity = 'washing_machine_state'): unknown => {
        const r = p.parse(msg(`homeassistant/sensor/${entity}/state`, payload));
        return r.kind === 'rejected' ? r.rejection.reason : [r.readings.length, r.rejections.length, r.skipped ?? null];
      };
      for (const text of ['idle', 'on', 'off', 'Washing', '"heat"', 'true']) expect(outcome(text), `${preset} ${text}`).toEqual([0, 0, 'text_state']);
      for (const missing of ['unavailable', 'unknown', 'Unavailable']) expect(outcome(missing), `${preset} ${missing}`).toEqual([0, 0, 'missing_value']);
      expect(outcome('21.5', 'outdoor_temperature')).toEqual([1, 0, null]);
      // Not a text state: broken JSON, a non-finite number.
      expect(outcome('{"state":')).toBe('bad_json');
      expect(outcome('inf')).toBe('non_finite');
    }
    // Other presets reject a text where a number belongs, as before.
    const esphome = parserFor({ presets: ['esphome'] }).parse(msg('livingroom/sensor/temperature/state', 'idle'));
    expect(esphome.kind === 'rejected' && esphome.rejection.reason).toBe('bad_json');
  });

  it('homeassistant, ha_statestream: a state with a decimal comma (21,5) is still a text state, and is told once per sensor, with its topic, so a rule with decimal: "," can read it (tryout 15 #9)', () => {
    for (const preset of ['homeassistant', 'ha_statestream']) {
      const told: [string, string, string][] = [];
      const p = new MessageParser(parseOptionsOf(config({ presets: [preset] }), { onDecimalComma: (sensor, state, topic) => told.push([sensor, state, topic]) }));
      const skipped = (entity: string, payload: string): unknown => {
        const r = p.parse(msg(`homeassistant/sensor/${entity}/state`, payload));
        return r.kind === 'readings' ? r.skipped : r.rejection.reason;
      };
      expect(skipped('outdoor', '21,5')).toBe('text_state');
      expect(skipped('outdoor', '21,6')).toBe('text_state');
      expect(skipped('cellar', ' -0,25 ')).toBe('text_state');
      // Text states that are no number are not told.
      for (const text of ['idle', '1,2,3', 'on', '21.5,', ',5']) skipped('washer', text);
      expect(told, preset).toEqual([
        ['outdoor', '21,5', 'homeassistant/sensor/outdoor/state'],
        ['cellar', '-0,25', 'homeassistant/sensor/cellar/state'],
      ]);
    }
    // The rule the hint names reads it.
    const rule = parserFor({ rules: [{ topics: ['homeassistant/sensor/{sensor}/state'], decimal: ',' }], presets: ['homeassistant'] });
    expect(readings(rule.parse(msg('homeassistant/sensor/outdoor/state', '21,5')))[0]).toMatchObject({ sensor: 'outdoor', values: [21.5] });
    expect(ruleTopicOf('homeassistant/sensor/outdoor/state', 'outdoor')).toBe('homeassistant/sensor/{sensor}/state');
    expect(ruleTopicOf('a/b', 'c')).toBe('a/b');
  });

  it("every preset takes a hub's nan (any case) as a missing reading, as ESPHome's always was; without a preset it is non_finite", () => {
    // Tryout: Tasmota's "Power":"nan" was rejected non_finite while ESPHome's nan was a missing reading.
    const tasmota = parserFor({ presets: ['tasmota'] });
    const t = tasmota.parse(msg('tele/plug/SENSOR', '{"Time":"2026-11-30T10:00:00","ENERGY":{"Factor":0.52,"Power":"nan","Voltage":"NaN","Current":0.1}}'));
    expect(readings(t).map((r) => r.sensor).sort()).toEqual(['plug/ENERGY.Current', 'plug/ENERGY.Factor']);
    const samples: Record<string, [string, string]> = {
      zigbee2mqtt: ['zigbee2mqtt/plug', '{"power":"nan","current":0.2}'],
      tasmota: ['tele/garden/SENSOR', '{"BME280":{"Temperature":"nan","Humidity":65.9}}'],
      esphome: ['livingroom/sensor/temperature/state', 'nan'],
      homeassistant: ['homeassistant/sensor/outdoor/state', 'NaN'],
      ha_statestream: ['homeassistant/number/setpoint/state', 'nan'],
      shelly: ['shelly1/status/temperature:0', '{"tC":"nan","id":0}'],
      rtl_433: ['rtl_433/pi/events', '{"model":"Nexus-TH","id":7,"channel":1,"temperature_C":"nan","humidity":80}'],
    };
    for (const name of PRESET_NAMES) {
      const [topic, payload] = samples[name];
      // A missing reading: no rejection, and the stream has no reading this time (the other fields do).
      const rs = readings(parserFor({ presets: [name] }).parse(msg(topic, payload)));
      expect(rs.every((r) => Number.isFinite(r.values[0])), name).toBe(true);
      expect(rs.map((r) => r.sensor).some((s) => /power|Temperature|temperature|tC|setpoint|^livingroom|^outdoor/.test(s)), name).toBe(false);
    }
    const plain = parserFor({}).parse(msg('sensors/x', '{"a":"nan"}'));
    expect(plain.kind === 'rejected' && plain.rejection.reason).toBe('non_finite');
  });

  it("zigbee2mqtt: drops a battery device's voltage and the device's own temperature and outage count; a plug's mains voltage stays", () => {
    const p = parserFor({ presets: ['zigbee2mqtt'] });
    // An Aqara sensor: voltage is its battery's (mV), sent with battery.
    const aqara = readings(p.parse(msg('zigbee2mqtt/aqara', '{"battery":91,"voltage":3005,"device_temperature":24,"power_outage_count":12,"temperature":21.3,"humidity":40.1,"pressure":1012}'))).map((r) => r.sensor);
    expect(aqara.sort()).toEqual(['aqara/humidity', 'aqara/pressure', 'aqara/temperature']);
    // A plug: no battery, so its voltage is the mains' (V), a measurement.
    const plug = readings(p.parse(msg('zigbee2mqtt/plug', '{"power":55.2,"voltage":229.8,"current":0.25,"device_temperature":31,"linkquality":80}'))).map((r) => r.sensor);
    expect(plug.sort()).toEqual(['plug/current', 'plug/power', 'plug/voltage']);
  });

  it('zigbee2mqtt: illuminance sent twice (zigbee2mqtt 1.x: illuminance and illuminance_lux, one reading) is one stream, in lx (tryout 22, finding 9)', () => {
    const p = parserFor({ presets: ['zigbee2mqtt'] });
    const both = readings(p.parse(msg('zigbee2mqtt/hall_motion', '{"battery":91,"illuminance":117,"illuminance_lux":117,"linkquality":96,"occupancy":false,"voltage":2995}')));
    // (Its occupancy is an on/off stream of its own: tryout 22, finding 7.)
    expect(both.map((r) => r.sensor).sort()).toEqual(['hall_motion/illuminance_lux', 'hall_motion/occupancy']);
    // zigbee2mqtt 2.x sends `illuminance` alone, in lx: read as it is.
    const alone = readings(p.parse(msg('zigbee2mqtt/hall_motion2', '{"battery":91,"illuminance":117,"occupancy":true}')));
    expect(alone.map((r) => r.sensor).sort()).toEqual(['hall_motion2/illuminance', 'hall_motion2/occupancy']);
    expect([p.statedUnit('hall_motion/illuminance_lux'), p.statedUnit('hall_motion2/illuminance')]).toEqual(['lx', 'lx']);
  });

  /** Streams of a message that must yield readings (and no rejection). */
  const streamsOf = (p: MessageParser, topic: string, payload: string, at = NOW): string[] => readings(p.parse(msg(topic, payload, { receivedAt: at }))).map((r) => r.sensor).sort();
  /** A message dropped without a word: no reading, no rejection. */
  const silent = (p: MessageParser, topic: string, payload: string): void => {
    const r = p.parse(msg(topic, payload));
    expect(r.kind === 'readings' ? [r.readings.length, r.rejections.length] : r.rejection, topic).toEqual([0, 0]);
  };

  it('zigbee2mqtt: a friendly name of several levels is the whole device name, two devices of one room stay two (tryout 13 #2)', () => {
    // zigbee2mqtt.io, "MQTT Topics and Messages": "you can use the / separator in friendly_name …
    // kitchen/floor_light would result in a corresponding MQTT structure".
    const p = parserFor({ presets: ['zigbee2mqtt'] });
    expect(streamsOf(p, 'zigbee2mqtt/kitchen/temp_sensor', '{"temperature":20.1,"humidity":50.2,"battery":88,"linkquality":70}')).toEqual([
      'kitchen/temp_sensor/humidity',
      'kitchen/temp_sensor/temperature',
    ]);
    expect(streamsOf(p, 'zigbee2mqtt/kitchen/sensor_a', '{"temperature":20}')).toEqual(['kitchen/sensor_a/temperature']);
    expect(streamsOf(p, 'zigbee2mqtt/kitchen/sensor_b', '{"temperature":30}')).toEqual(['kitchen/sensor_b/temperature']);
    expect(streamsOf(p, 'zigbee2mqtt/house/floor1/kitchen/plug', '{"power":55.2}')).toEqual(['house/floor1/kitchen/plug/power']);
    const r = p.parse(msg('zigbee2mqtt/kitchen/sensor_a', '{"temperature":20.5}', { receivedAt: NOW + 1000 }));
    expect(r.kind === 'readings' && r.readings.map((x) => x.source)).toEqual(['kitchen/sensor_a']);
  });

  it("zigbee2mqtt: the bridge's topics, availability and set/get commands are skipped without a rejection", () => {
    const p = parserFor({ presets: ['zigbee2mqtt'] });
    silent(p, 'zigbee2mqtt/bridge/state', '{"state":"online"}');
    silent(p, 'zigbee2mqtt/bridge/info', '{"version":"2.1.0","config":{"advanced":{"channel":11,"pan_id":6754}},"coordinator":{"meta":{"revision":20230507}}}');
    silent(p, 'zigbee2mqtt/bridge/logging', '{"level":"info","message":"MQTT publish"}');
    silent(p, 'zigbee2mqtt/bridge', '{"state":"online"}');
    silent(p, 'zigbee2mqtt/kitchen/temp_sensor/availability', '{"state":"online"}');
    silent(p, 'zigbee2mqtt/hall_light/availability', 'online');
    silent(p, 'zigbee2mqtt/kitchen/floor_light/set', '{"brightness":200}');
    silent(p, 'zigbee2mqtt/kitchen/floor_light/set/brightness', '200');
    silent(p, 'zigbee2mqtt/kitchen/floor_light/get', '{"state":""}');
    silent(p, 'zigbee2mqtt/hall_light/get/state', '');
  });

  it('a message with no field the rule takes is skipped hub_event, one whose taken fields are all missing is skipped missing_value; no message ends nowhere (tryout 14 #6)', () => {
    const outcome = (p: MessageParser, topic: string, payload: string): unknown => {
      const r = p.parse(msg(topic, payload));
      return r.kind === 'rejected' ? r.rejection.reason : [r.readings.length, r.rejections.length, r.skipped ?? null];
    };
    const z2m = parserFor({ presets: ['zigbee2mqtt'] });
    // zigbee2mqtt.io "Exposes": a light's state and brightness (a setting), a door's contact, a button's action.
    expect(outcome(z2m, 'zigbee2mqtt/light1', '{"state":"ON","brightness":200,"linkquality":80}')).toEqual([0, 0, 'hub_event']);
    // A door's contact is an on/off reading (tryout 22, finding 7): its health fields are still dropped.
    expect(outcome(z2m, 'zigbee2mqtt/door', '{"contact":true,"battery":100,"linkquality":60,"voltage":3000}')).toEqual([1, 0, null]);
    expect(outcome(z2m, 'zigbee2mqtt/button', '{"action":"single","battery":90,"linkquality":70}')).toEqual([0, 0, 'hub_event']);
    // No number at all (a button without health fields, a group's state): a hub event with the preset.
    expect(outcome(z2m, 'zigbee2mqtt/button2', '{"action":"double"}')).toEqual([0, 0, 'hub_event']);
    expect(outcome(z2m, 'zigbee2mqtt/group_lights', '{"state":"ON"}')).toEqual([0, 0, 'hub_event']);
    // Every measurement missing (null, nan): missing_value; one of two missing: a reading.
    expect(outcome(z2m, 'zigbee2mqtt/th', '{"temperature":null,"humidity":"nan","battery":50}')).toEqual([0, 0, 'missing_value']);
    expect(outcome(z2m, 'zigbee2mqtt/th', '{"temperature":21.5,"humidity":null,"battery":50}')).toEqual([1, 0, null]);
    // Behind a Tasmota Zigbee bridge, and ESPHome's nan, the same.
    const tasmota = parserFor({ presets: ['tasmota'] });
    expect(outcome(tasmota, 'tele/zbbridge/SENSOR', '{"ZbReceived":{"0x8F01":{"Device":"0x8F01","Name":"Room1","Temperature":null,"Endpoint":1,"LinkQuality":70}}}')).toEqual([0, 0, 'missing_value']);
    expect(outcome(tasmota, 'tele/plug/SENSOR', '{"Time":"2026-11-30T10:00:00","ENERGY":{"Power":"nan","Today":0.5}}')).toEqual([0, 0, 'missing_value']);
    expect(outcome(parserFor({ presets: ['esphome'] }), 'livingroom/sensor/temperature/state', 'nan')).toEqual([0, 0, 'missing_value']);
    // A rule of one's own: a null is missing_value, fields it drops a hub_event; an object with no number is still rejected.
    const own = parserFor({ rules: [{ name: 'own', topics: ['dev/{sensor}'], exclude: ['rssi'], missing: ['n/a'] }] });
    expect(outcome(own, 'dev/a', '{"t":null}')).toEqual([0, 0, 'missing_value']);
    expect(outcome(own, 'dev/a', 'n/a')).toEqual([0, 0, 'missing_value']);
    expect(outcome(own, 'dev/a', '{"rssi":-60,"status":"ok"}')).toEqual([0, 0, 'hub_event']);
    expect(outcome(own, 'dev/a', '{"status":"ok"}')).toBe('not_a_number');
  });

  it('a text where a measurement the preset states a unit for belongs is rejected not_a_number, with every preset, not skipped as a hub event (tryout 20, F12)', () => {
    /** The outcome: the rejections' reasons and streams, the readings' streams, the skip reason. */
    const outcome = (p: MessageParser, topic: string, payload: string): unknown => {
      const r = p.parse(msg(topic, payload));
      if (r.kind === 'rejected') return { rejected: [r.rejection.reason, r.rejection.sensor] };
      return { readings: r.readings.map((x) => x.sensor), rejected: r.rejections.map((x) => [x.reason, x.sensor]), skipped: r.skipped ?? null };
    };
    const z2m = parserFor({ presets: ['zigbee2mqtt'] });
    // The tryout's message: a converter that sends a text with its unit where the number belongs.
    expect(outcome(z2m, 'zigbee2mqtt/junk2', '{"temperature": "21.5 °C"}')).toEqual({ rejected: ['not_a_number', 'junk2/temperature'] });
    const detail = z2m.parse(msg('zigbee2mqtt/junk2', '{"temperature": "21.5 °C"}'));
    expect(detail.kind === 'rejected' ? detail.rejection.detail : '').toBe('field temperature is a text, "21.5 °C", where the hub sends a number (a measurement the rule states a unit for)');
    // Beside a good field: that one is read, the broken one rejected on its own stream.
    expect(outcome(z2m, 'zigbee2mqtt/th', '{"temperature":21.5,"humidity":"high","battery":90,"linkquality":80}')).toEqual({ readings: ['th/temperature'], rejected: [['not_a_number', 'th/humidity']], skipped: null });
    // What stays a hub event or a missing reading: texts where no measurement is (an action, a state), nan, null, and
    // a dropped field (battery is the device's health, whatever it carries).
    expect(outcome(z2m, 'zigbee2mqtt/button', '{"action":"single","battery":"full"}')).toEqual({ readings: [], rejected: [], skipped: 'hub_event' });
    expect(outcome(z2m, 'zigbee2mqtt/th', '{"temperature":"nan","humidity":null}')).toEqual({ readings: [], rejected: [], skipped: 'missing_value' });
    // A number written as a text is a number, as everywhere.
    expect(outcome(z2m, 'zigbee2mqtt/th', '{"temperature":"21.5"}')).toEqual({ readings: ['th/temperature'], rejected: [], skipped: null });
    // Tasmota: a BME280's temperature (its unit from TempUnit) as a text beside a good pressure; a unit word is no reading.
    const tasmota = parserFor({ presets: ['tasmota'] });
    expect(outcome(tasmota, 'tele/garden/SENSOR', '{"Time":"2026-11-30T10:00:00","BME280":{"Temperature":"err","Pressure":1016.5},"PressureUnit":"hPa","TempUnit":"C"}')).toEqual({
      readings: ['garden/BME280.Pressure'],
      rejected: [['not_a_number', 'garden/BME280.Temperature']],
      skipped: null,
    });
    // Behind a Tasmota Zigbee bridge: the device's Temperature the same; its Name and the like stay metadata.
    expect(outcome(tasmota, 'tele/zbbridge/SENSOR', '{"ZbReceived":{"0x8F01":{"Device":"0x8F01","Name":"Room1","Temperature":"--","Endpoint":1,"LinkQuality":70}}}')).toEqual({ rejected: ['not_a_number', 'Room1/Temperature'] });
    // Shelly (a component's field the preset gives a unit, in a notification and a status message) and rtl_433.
    const shelly = parserFor({ presets: ['shelly'] });
    expect(outcome(shelly, 'plug1/status/switch:0', '{"id":0,"output":true,"apower":"n/a","voltage":229.8}')).toEqual({ readings: ['plug1/switch:0/voltage'], rejected: [['not_a_number', 'plug1/switch:0/apower']], skipped: null });
    expect(outcome(shelly, 'plug2/events/rpc', '{"method":"NotifyStatus","params":{"ts":1764496800,"switch:0":{"id":0,"apower":"n/a"}}}')).toEqual({ rejected: ['not_a_number', 'plug2/switch:0/apower'] });
    expect(outcome(parserFor({ presets: ['rtl_433'] }), 'rtl_433/pi/events', '{"model":"Acurite-Tower","id":1,"channel":"A","temperature_C":"LL.L"}')).toEqual({ rejected: ['not_a_number', 'Acurite-Tower-A-1/temperature_C'] });
    // ESPHome's plain state, whose whole payload is the number, was rejected already (`bad_json`, "not JSON or a number").
    expect(outcome(parserFor({ presets: ['esphome'] }), 'livingroom/sensor/temperature/state', 'twenty')).toEqual({ rejected: ['bad_json', 'livingroom'] });
  });

  it("zigbee2mqtt: an actuator's and a device's settings are no streams; a rule before the preset reads them again (tryout 13 #9)", () => {
    const p = parserFor({ presets: ['zigbee2mqtt'] });
    // IKEA LED1545G12 (zigbee2mqtt.io, "MQTT Topics and Messages"), with its colour.
    silent(p, 'zigbee2mqtt/hall_light', '{"state":"ON","brightness":215,"color_temp":325,"color_mode":"color_temp","color":{"x":0.4599,"y":0.4106}}');
    silent(p, 'zigbee2mqtt/blind', '{"position":40,"tilt":20,"state":"OPEN","linkquality":90}');
    // A TRV: only local_temperature (and the valve's heating demand) is measured.
    expect(
      streamsOf(p, 'zigbee2mqtt/radiator_trv', '{"local_temperature":20.5,"current_heating_setpoint":21,"occupied_heating_setpoint":21,"local_temperature_calibration":-1,"position":40,"pi_heating_demand":35,"battery":80,"system_mode":"heat","min_temperature":5,"max_temperature":30,"eco_temperature":17}'),
    ).toEqual(['radiator_trv/local_temperature', 'radiator_trv/pi_heating_demand']);
    expect(
      streamsOf(p, 'zigbee2mqtt/thermo-hygrometer', '{"temperature":21,"humidity":45,"comfort_humidity_max":60,"comfort_humidity_min":40,"comfort_temperature_max":27,"comfort_temperature_min":19,"temperature_units":"celsius","temperature_calibration":0,"humidity_calibration":0}'),
    ).toEqual(['thermo-hygrometer/humidity', 'thermo-hygrometer/temperature']);
    // Wanted after all: a rule before the preset, with the bridge skipped as the preset does.
    const own = parserFor({
      presets: ['zigbee2mqtt'],
      rules: [{ topics: ['zigbee2mqtt/{sensor#}'], fields: ['position'], ignoreTopics: ['zigbee2mqtt/bridge/*', 'zigbee2mqtt/*/availability'] }],
    });
    expect(streamsOf(own, 'zigbee2mqtt/rooms/blind', '{"position":40,"tilt":20}')).toEqual(['rooms/blind/position']);
    silent(own, 'zigbee2mqtt/bridge/info', '{"version":"2.1.0"}');
  });

  it('a rule: {sensor} takes one level, {sensor#} every level of the device name', () => {
    const one = parserFor({ rules: [{ topics: ['site/{sensor}/#'] }] });
    const many = parserFor({ rules: [{ topics: ['site/{sensor#}'] }] });
    expect(streamsOf(one, 'site/kitchen/a', '{"t":1}')).toEqual(['kitchen/t']);
    expect(streamsOf(many, 'site/kitchen/a', '{"t":1}')).toEqual(['kitchen/a/t']);
    expect(streamsOf(many, 'site/kitchen/b', '{"t":1}')).toEqual(['kitchen/b/t']);
  });

  it('esphome: a topic_prefix of two levels and a climate\'s measured temperature are read; its settings are not (tryout 13 #2)', () => {
    // esphome.io, "MQTT Client Component": `<TOPIC_PREFIX>/<COMPONENT_TYPE>/<COMPONENT_NAME>/state`; the
    // climate's `current_temperature` state topic (esphome.io API, mqtt_climate.h).
    const p = parserFor({ presets: ['esphome'] });
    expect(streamsOf(p, 'home/livingroom/sensor/temperature/state', '21.4')).toEqual(['home/livingroom/temperature']);
    expect(streamsOf(p, 'hall/climate/thermostat/current_temperature/state', '20.5')).toEqual(['hall/thermostat']);
    expect(streamsOf(p, 'home/hall/climate/thermostat/current_temperature/state', '20.5')).toEqual(['home/hall/thermostat']);
    expect(streamsOf(p, 'livingroom/sensor/temperature/state', '21.5')).toEqual(['livingroom/temperature']);
    const filters = ingestFilters(config({ presets: ['esphome'] }));
    for (const [topic, payload] of [
      ['hall/climate/thermostat/target_temperature/state', '21'],
      ['hall/climate/thermostat/target_temperature_low/state', '19'],
      ['hall/climate/thermostat/mode/state', 'heat'],
    ]) {
      const r = p.parse(msg(topic, payload));
      expect(r.kind === 'rejected' && r.rejection.reason, topic).toBe('bad_topic');
      // Not subscribed, so never received.
      expect(filters.some((f) => mqttMatches(f, topic)), topic).toBe(false);
    }
  });

  it("tasmota: a clock never set (no NTP, Time 1970-01-01T00:00:12) is stamped on arrival, counted, not rejected (tryout 13 #5)", () => {
    // arendst/Tasmota #2571: `tele/hotWater/SENSOR = {"Time":"1970-01-01T00:00:03","ENERGY":{…}}` without NTP.
    const unset: string[] = [];
    const p = new MessageParser(parseOptionsOf(config({ presets: ['tasmota'], timezone: 'Europe/Berlin' }), { onUnsetClock: (s, t) => unset.push(`${s} ${t}`) }));
    const r = p.parse(msg('tele/badtime/SENSOR', '{"Time":"1970-01-01T00:00:12","AM2301":{"Temperature":21.7,"Humidity":45.3},"TempUnit":"C"}'));
    expect(readings(r).map((x) => [x.sensor, x.ts])).toEqual([
      ['badtime/AM2301.Temperature', NOW],
      ['badtime/AM2301.Humidity', NOW],
    ]);
    expect(unset).toEqual(['badtime 1970-01-01T00:00:12']);
    // `time: none`: every reading on arrival, whatever the device's clock says.
    const none = parserFor({ rules: [{ topics: ['tele/{sensor}/SENSOR'], time: 'none' }] });
    expect(readings(none.parse(msg('tele/x/SENSOR', '{"Time":"2026-11-30T09:00:00","AM2301":{"Temperature":21.7}}'))).map((x) => [x.sensor, x.ts])).toEqual([['x/AM2301.Temperature', NOW]]);
  });

  it('tasmota: of ENERGY the measurements and Total, stated a counter (kWh), not Today, Yesterday, Period (tryout 13 #6, tryout 15 #8)', () => {
    // Tasmota's energy telemetry (its own Home Assistant discovery lists ENERGY TotalStartTime, Total,
    // Yesterday, Today …; blog.mylocalbytes.com "Accessing power usage from Tasmota smart plugs").
    const p = parserFor({ presets: ['tasmota'] });
    expect(
      streamsOf(p, 'tele/livingroom-lamp/SENSOR', '{"Time":"2026-11-30T10:00:00","ENERGY":{"TotalStartTime":"2026-01-10T11:02:00","Total":12.345,"Yesterday":0.421,"Today":0.123,"Period":2,"Power":61,"ApparentPower":72,"ReactivePower":38,"Factor":0.85,"Voltage":231,"Current":0.312}}'),
    ).toEqual([
      'livingroom-lamp/ENERGY.ApparentPower',
      'livingroom-lamp/ENERGY.Current',
      'livingroom-lamp/ENERGY.Factor',
      'livingroom-lamp/ENERGY.Power',
      'livingroom-lamp/ENERGY.ReactivePower',
      'livingroom-lamp/ENERGY.Total',
      'livingroom-lamp/ENERGY.Voltage',
    ]);
    // Total is the meter's running total: the hub states it is a counter (tasmota.github.io "Power Monitoring"), in kWh.
    expect(p.statedCounter('livingroom-lamp/ENERGY.Total')).toBe(true);
    expect(p.statedUnit('livingroom-lamp/ENERGY.Total')).toBe('kWh');
    expect(p.statedCounter('livingroom-lamp/ENERGY.Power')).toBe(false);
  });

  it('hub-stated counters: a Shelly\'s aenergy.total and ret_aenergy.total, zigbee2mqtt\'s energy are counters by their hub\'s word; other fields are not (tryout 15 #8)', () => {
    const shelly = parserFor({ presets: ['shelly'] });
    const dev = 'shellyplus1pm-a8032ab1';
    expect(shelly.statedCounter(`${dev}/switch:0/aenergy.total`)).toBe(false);
    streamsOf(shelly, `${dev}/events/rpc`, `{"src":"${dev}","method":"NotifyStatus","params":{"ts":1764496829.52,"switch:0":{"id":0,"apower":61.3,"aenergy":{"by_minute":[0,0,0],"minute_ts":1764496800,"total":17.7},"ret_aenergy":{"by_minute":[0,0,0],"minute_ts":1764496800,"total":2.5}}}}`);
    expect(shelly.statedCounter(`${dev}/switch:0/aenergy.total`)).toBe(true);
    expect(shelly.statedCounter(`${dev}/switch:0/ret_aenergy.total`)).toBe(true);
    expect(shelly.statedCounter(`${dev}/switch:0/apower`)).toBe(false);
    // status/<component> states it alike.
    streamsOf(shelly, 'shellypmmini-1/status/pm1:0', '{"id":0,"apower":3.1,"aenergy":{"total":1200.5}}');
    expect(shelly.statedCounter('shellypmmini-1/pm1:0/aenergy.total')).toBe(true);
    const z2m = parserFor({ presets: ['zigbee2mqtt'] });
    expect(streamsOf(z2m, 'zigbee2mqtt/kitchen/plug', '{"energy":4.12,"power":61,"linkquality":90}')).toEqual(['kitchen/plug/energy', 'kitchen/plug/power']);
    expect(z2m.statedCounter('kitchen/plug/energy')).toBe(true);
    expect(z2m.statedUnit('kitchen/plug/energy')).toBe('kWh');
    expect(z2m.statedCounter('kitchen/plug/power')).toBe(false);
    // A rule of the config states nothing: a field's name is no evidence there.
    const own = parserFor({ rules: [{ topics: ['meters/{sensor}'] }] });
    streamsOf(own, 'meters/plug', '{"energy":4.12}');
    expect(own.statedCounter('plug/energy')).toBe(false);
  });

  it('ha_statestream: a sensor whose state_class attribute is total_increasing is a counter; the attribute message, retained or not, is skipped hub_topic (tryout 15 #8)', () => {
    const p = parserFor({ presets: ['ha_statestream'] });
    // Subscribed with the states.
    expect(ingestFilters(config({ presets: ['ha_statestream'] }))).toContain('homeassistant/sensor/+/state_class');
    const skipped = (topic: string, payload: string, retain = false): string | undefined => {
      const x = p.parse(msg(topic, payload, { retain }));
      expect(x.kind === 'readings' ? [x.readings.length, x.rejections.length] : x.rejection, topic).toEqual([0, 0]);
      return x.kind === 'readings' ? x.skipped : undefined;
    };
    // mqtt_statestream publishes an attribute JSON-encoded (home-assistant.io, "MQTT Statestream": publish_attributes).
    expect(skipped('homeassistant/sensor/house_energy/state_class', '"total_increasing"', true)).toBe('hub_topic');
    expect(skipped('homeassistant/sensor/outdoor_temperature/state_class', '"measurement"')).toBe('hub_topic');
    // `total` may go down (a net meter): no counter by its word.
    expect(skipped('homeassistant/sensor/net_meter/state_class', '"total"')).toBe('hub_topic');
    expect(p.statedCounter('house_energy')).toBe(true);
    expect(p.statedCounter('outdoor_temperature')).toBe(false);
    expect(p.statedCounter('net_meter')).toBe(false);
    expect(streamsOf(p, 'homeassistant/sensor/house_energy/state', '1234.5')).toEqual(['house_energy']);
  });

  it('ha_statestream: a sensor\'s unit_of_measurement attribute is its stream\'s unit from its next reading; the attribute message is skipped hub_topic (tryout 22 #10)', () => {
    const p = parserFor({ presets: ['ha_statestream'] });
    expect(ingestFilters(config({ presets: ['ha_statestream'] }))).toEqual(expect.arrayContaining(['homeassistant/sensor/+/unit_of_measurement', 'homeassistant/number/+/unit_of_measurement']));
    const skipped = (topic: string, payload: string, retain = false): string | undefined => {
      const x = p.parse(msg(topic, payload, { retain }));
      expect(x.kind === 'readings' ? [x.readings.length, x.rejections.length] : x.rejection, topic).toEqual([0, 0]);
      return x.kind === 'readings' ? x.skipped : undefined;
    };
    // publish_attributes: JSON-encoded, retained (home-assistant.io, "MQTT Statestream"); the tryout's shelf sent these.
    expect(skipped('homeassistant/sensor/outdoor_temperature/unit_of_measurement', '"°C"', true)).toBe('hub_topic');
    expect(skipped('homeassistant/sensor/grid_energy/unit_of_measurement', '"kWh"', true)).toBe('hub_topic');
    expect(skipped('homeassistant/number/boiler_setpoint/unit_of_measurement', '"°C"', true)).toBe('hub_topic');
    expect(skipped('homeassistant/sensor/odd/unit_of_measurement', 'null')).toBe('hub_topic');
    expect(streamsOf(p, 'homeassistant/sensor/outdoor_temperature/state', '7.25')).toEqual(['outdoor_temperature']);
    expect(streamsOf(p, 'homeassistant/sensor/grid_energy/state', '4321.51')).toEqual(['grid_energy']);
    expect(streamsOf(p, 'homeassistant/number/boiler_setpoint/state', '57.5')).toEqual(['boiler_setpoint']);
    expect(streamsOf(p, 'homeassistant/sensor/odd/state', '1')).toEqual(['odd']);
    expect([p.statedUnit('outdoor_temperature'), p.statedUnit('grid_energy'), p.statedUnit('boiler_setpoint'), p.statedUnit('odd')]).toEqual(['°C', 'kWh', '°C', null]);
    // A changed attribute is the unit of the next reading; a cleared one (retained, empty) states none from then on.
    skipped('homeassistant/sensor/outdoor_temperature/unit_of_measurement', '"°F"', true);
    expect(streamsOf(p, 'homeassistant/sensor/outdoor_temperature/state', '45.1', NOW + 1000)).toEqual(['outdoor_temperature']);
    expect(p.statedUnit('outdoor_temperature')).toBe('°F');
    // The plain homeassistant preset reads states only.
    expect(ingestFilters(config({ presets: ['homeassistant'] })).some((f) => f.endsWith('unit_of_measurement'))).toBe(false);
  });

  it("shelly: status/sys (\"time\":\"18:05\") and the device's other own components are skipped, not rejected bad_timestamp (tryout 13 #9)", () => {
    // shelly-api-docs.shelly.cloud, Gen2 "Sys" status: mac, time (local "HH:MM"), unixtime, uptime, ram_size …
    const p = parserFor({ presets: ['shelly'] });
    silent(p, 'shellyplus1pm-a8032ab1/status/sys', '{"mac":"A8032AB1C2D3","restart_required":false,"time":"18:05","unixtime":1764496800,"uptime":1234,"ram_size":246000,"ram_free":140000,"fs_size":458752,"fs_free":135168,"cfg_rev":10,"kvs_rev":0,"webhook_rev":0,"available_updates":{}}');
    silent(p, 'shellyplus1pm-a8032ab1/status/wifi', '{"sta_ip":"192.168.3.183","status":"got ip","ssid":"home","rssi":-61}');
    silent(p, 'shellyplus1pm-a8032ab1/status/cloud', '{"connected":false}');
    expect(streamsOf(p, 'shellyplusht-b8d61a8b17cc/status/humidity:0', '{"id":0,"rh":42.2}')).toEqual(['shellyplusht-b8d61a8b17cc/humidity:0/rh']);
  });

  it("shelly: the default channel <device>/events/rpc (NotifyStatus, NotifyFullStatus) gives the streams status/<component> gives; NotifyEvent is skipped, not rejected (tryout 13 #9)", () => {
    // shelly-api-docs.shelly.cloud, Gen2 "Notifications": NotifyStatus carries `ts` (Unix time, UTC) and the
    // changed part of each component's status; NotifyFullStatus every component (gist NelsonMinar, Plus H&T).
    const p = parserFor({ presets: ['shelly'] });
    const dev = 'shellyplus1pm-a8032ab1';
    const notify = `{"src":"${dev}","dst":"${dev}/events","method":"NotifyStatus","params":{"ts":1764496829.52,"switch:0":{"id":0,"apower":61.3,"current":0.27,"voltage":229.9,"aenergy":{"by_minute":[0,0,0],"minute_ts":1764496800,"total":17.7},"temperature":{"tC":41.5,"tF":106.7}}}}`;
    const r = readings(p.parse(msg(`${dev}/events/rpc`, notify)));
    const streams = [`${dev}/switch:0/aenergy.total`, `${dev}/switch:0/apower`, `${dev}/switch:0/current`, `${dev}/switch:0/temperature.tC`, `${dev}/switch:0/voltage`];
    expect(r.map((x) => x.sensor).sort()).toEqual(streams);
    // The device's time (params.ts, s), its device the topic's.
    expect(r.every((x) => x.ts === 1764496829520 && x.source === dev)).toBe(true);
    expect(r.find((x) => x.sensor.endsWith('/apower'))?.values).toEqual([61.3]);
    // The same streams as `<device>/status/switch:0` (the preset's sample), so turning status_ntf on later adds none.
    expect([...PRESETS.shelly.sample.streams].sort()).toEqual(streams);
    // NotifyFullStatus of a Plus H&T: its sensors, not sys, wifi, cloud, ble, mqtt nor ids.
    const ht = 'shellyplusht-b8d61a8b17cc';
    const full = `{"src":"${ht}","dst":"${ht}/events","method":"NotifyFullStatus","params":{"ts":1764496829.62,"ble":{},"cloud":{"connected":false},"devicepower:0":{"id":0,"battery":{"V":5.43,"percent":100},"external":{"present":false}},"ht_ui":{},"humidity:0":{"id":0,"rh":42.2},"mqtt":{"connected":true},"sys":{"mac":"B8D61A8B17CC","restart_required":false,"time":"11:00","unixtime":1764496829,"uptime":3,"ram_size":235300,"ram_free":164244,"fs_size":458752,"fs_free":118784,"cfg_rev":10,"kvs_rev":0,"webhook_rev":0,"available_updates":{},"wakeup_period":600},"temperature:0":{"id":0,"tC":19.8,"tF":67.6},"wifi":{"sta_ip":"192.168.3.183","status":"got ip","ssid":"home","rssi":-58}}}`;
    const fullStreams = streamsOf(p, `${ht}/events/rpc`, full);
    expect(fullStreams).toEqual([`${ht}/humidity:0/rh`, `${ht}/temperature:0/tC`]);
    // … which status/<component> names alike (a device not heard on events/rpc).
    expect(streamsOf(parserFor({ presets: ['shelly'] }), `${ht}/status/humidity:0`, '{"id":0,"rh":42.4}', NOW + 1000)).toEqual([`${ht}/humidity:0/rh`]);
    // NotifyEvent (a button, a script's event) and a NotifyStatus of the device's own components only: skipped, counted hub_event.
    const skipped = (topic: string, payload: string): string | undefined => {
      const x = p.parse(msg(topic, payload));
      expect(x.kind === 'readings' ? [x.readings.length, x.rejections.length] : x.rejection, topic).toEqual([0, 0]);
      return x.kind === 'readings' ? x.skipped : undefined;
    };
    expect(skipped(`${dev}/events/rpc`, `{"src":"${dev}","dst":"${dev}/events","method":"NotifyEvent","params":{"ts":1764496829.9,"events":[{"component":"input:0","id":0,"event":"single_push","ts":1764496829.9}]}}`)).toBe('hub_event');
    expect(skipped(`${dev}/events/rpc`, `{"src":"${dev}","dst":"${dev}/events","method":"NotifyStatus","params":{"ts":1764496829.9,"wifi":{"rssi":-61}}}`)).toBe('hub_event');
    // With "Generic status update over MQTT" switched on too, each change comes twice: the device's
    // status/<component> is skipped once its notifications are read, counted hub_topic (no reading twice).
    expect(skipped(`${dev}/status/switch:0`, PRESETS.shelly.sample.payload)).toBe('hub_topic');
    expect(skipped(`${ht}/status/humidity:0`, '{"id":0,"rh":42.4}')).toBe('hub_topic');
    // A hub's own topic (status/sys) is skipped too, counted apart: hub_topic.
    expect(skipped(`${dev}/status/sys`, '{"mac":"A8032AB1C2D3","time":"18:05","unixtime":1764496800,"uptime":1234}')).toBe('hub_topic');
    // Subscribed, and the embedded broker lets the device publish there (its hub topics).
    expect(ingestFilters(config({ presets: ['shelly'] }))).toEqual(['sensors/#', '+/status/+', '+/events/rpc', '+/online']);
  });

  it('shelly: a temperature is read once, as tC, not again as its tF; the battery (devicepower) is the device\'s health, skipped (tryouts 13 #9, 14)', () => {
    // shelly-api-docs.shelly.cloud, Gen2 "Temperature" (`Temperature.GetStatus`: id, tC, tF) and "DevicePower"
    // (`DevicePower.GetStatus`: id, battery {V, percent}, external {present}); the Plus H&T's status topics and
    // NotifyStatus (gist NelsonMinar, JHNUL/home-server-apps messages.md). tF is the same reading as tC in °F: as
    // a stream of its own it would double every alert of that temperature.
    const ht = 'shellyplusht-b8d61a8b17cc';
    const p = parserFor({ presets: ['shelly'] });
    expect(streamsOf(p, `${ht}/status/temperature:0`, '{"id":0,"tC":19.8,"tF":67.6}')).toEqual([`${ht}/temperature:0/tC`]);
    // The Plus Add-on's probes are temperature:100 …: the same shape.
    expect(streamsOf(p, `${ht}/status/temperature:100`, '{"id":100,"tC":22.5,"tF":72.5}')).toEqual([`${ht}/temperature:100/tC`]);
    // A probe that reads nothing sends nulls: a missing reading, no stream, no rejection.
    expect(streamsOf(p, `${ht}/status/temperature:0`, '{"id":0,"tC":null,"tF":null}', NOW + 1000)).toEqual([]);
    // The battery's own topic is skipped, counted hub_topic (a reason), not read nor left uncounted.
    const battery = p.parse(msg(`${ht}/status/devicepower:0`, '{"id":0,"battery":{"V":4.18,"percent":78},"external":{"present":false}}'));
    expect(battery).toMatchObject({ kind: 'readings', readings: [], rejections: [], skipped: 'hub_topic' });
    // On the default channel: the temperature once, no battery; a NotifyStatus of the battery alone is skipped hub_event.
    const q = parserFor({ presets: ['shelly'] });
    const notify = (params: string): string => `{"src":"${ht}","dst":"${ht}/events","method":"NotifyStatus","params":{"ts":1764496829.5,${params}}}`;
    expect(streamsOf(q, `${ht}/events/rpc`, notify('"temperature:0":{"id":0,"tC":19.9,"tF":67.8},"devicepower:0":{"id":0,"battery":{"V":4.18,"percent":78}}'))).toEqual([`${ht}/temperature:0/tC`]);
    expect(q.parse(msg(`${ht}/events/rpc`, notify('"devicepower:0":{"id":0,"battery":{"V":4.17,"percent":77}}')))).toMatchObject({ kind: 'readings', readings: [], rejections: [], skipped: 'hub_event' });
  });

  it('units: a stream takes the unit its hub states (Tasmota TempUnit/PressureUnit in the message, Shelly tC, zigbee2mqtt, rtl_433), values unconverted; a change is reported as first once per stream and direction', () => {
    // tasmota.github.io "Commands": SetOption8 1 reports temperatures in °F (`"TempUnit":"F"`), SetOption24 1
    // pressures in mmHg (`"PressureUnit":"mmHg"`).
    const changes: Array<[string, string, string, boolean]> = [];
    const at: number[] = [];
    const p = new MessageParser(parseOptionsOf(config({ presets: ['tasmota', 'shelly', 'zigbee2mqtt', 'rtl_433'] }), { onUnitChange: (s, f, t, first, ts) => (changes.push([s, f, t, first]), at.push(ts)) }));
    const sensor = (t: string, unit: string, at: number): string =>
      `{"Time":"2026-11-30T10:00:${String(at).padStart(2, '0')}","BME280":{"Temperature":${t},"Humidity":65.9,"DewPoint":11.2,"Pressure":1016.5},"PressureUnit":"hPa","TempUnit":"${unit}"}`;
    const r = readings(p.parse(msg('tele/garden/SENSOR', sensor('76.1', 'F', 0))));
    expect(r.find((x) => x.sensor === 'garden/BME280.Temperature')?.values).toEqual([76.1]);
    expect(p.statedUnit('garden/BME280.Temperature')).toBe('°F');
    expect(p.statedUnit('garden/BME280.DewPoint')).toBe('°F');
    expect(p.statedUnit('garden/BME280.Pressure')).toBe('hPa');
    expect(p.statedUnit('garden/BME280.Humidity')).toBe('%');
    expect(changes).toEqual([]);
    // Set back to °C: the same stream, the value as sent, the change told (first), then to °F again (first: the other
    // direction; tryout 25, finding 7).
    expect(readings(p.parse(msg('tele/garden/SENSOR', sensor('24.6', 'C', 10)))).find((x) => x.sensor === 'garden/BME280.Temperature')?.values).toEqual([24.6]);
    expect(p.statedUnit('garden/BME280.Temperature')).toBe('°C');
    readings(p.parse(msg('tele/garden/SENSOR', sensor('76.3', 'F', 20))));
    expect(changes).toEqual([
      ['garden/BME280.Temperature', '°F', '°C', true],
      ['garden/BME280.DewPoint', '°F', '°C', true],
      ['garden/BME280.Temperature', '°C', '°F', true],
      ['garden/BME280.DewPoint', '°C', '°F', true],
    ]);
    // Each change at the time of the first reading in the new unit (the device's Time).
    expect(at).toEqual([10, 10, 20, 20].map((s) => Date.UTC(2026, 10, 30, 10, 0, s)));
    // A message without TempUnit states none: the unit kept is the last stated.
    readings(p.parse(msg('tele/garden/SENSOR', '{"Time":"2026-11-30T10:00:25","BME280":{"Temperature":76.2}}')));
    expect(p.statedUnit('garden/BME280.Temperature')).toBe('°F');
    // Shelly: tC is °C by its name, on either channel; rh %.
    readings(p.parse(msg('shellyplusht-b8d61a8b17cc/status/temperature:0', '{"id":0,"tC":19.8,"tF":67.6}')));
    expect(p.statedUnit('shellyplusht-b8d61a8b17cc/temperature:0/tC')).toBe('°C');
    readings(p.parse(msg('shellyplus1pm-a8032ab1/events/rpc', '{"method":"NotifyStatus","params":{"ts":1764496829.5,"switch:0":{"id":0,"apower":61.3,"temperature":{"tC":41.5,"tF":106.7}}}}')));
    expect(p.statedUnit('shellyplus1pm-a8032ab1/switch:0/temperature.tC')).toBe('°C');
    expect(p.statedUnit('shellyplus1pm-a8032ab1/switch:0/apower')).toBe('W');
    // zigbee2mqtt reports °C whatever a Tuya sensor's display shows (temperature_unit is the display's).
    readings(p.parse(msg('zigbee2mqtt/th', '{"temperature":21.3,"humidity":45,"temperature_unit":"fahrenheit","battery":90}')));
    expect(p.statedUnit('th/temperature')).toBe('°C');
    expect(p.statedUnit('th/humidity')).toBe('%');
    readings(p.parse(msg('rtl_433/pi/events', '{"time":"2026-11-30 10:00:00","model":"Acurite-Tower","id":1234,"channel":"A","temperature_F":70.3,"humidity":45}')));
    expect(p.statedUnit('Acurite-Tower-A-1234/temperature_F')).toBe('°F');
    // A unit a message cannot state (a text longer than a unit, a number) is none; forgetting a stream forgets it.
    const q = parserFor({ presets: ['tasmota'] });
    readings(q.parse(msg('tele/x/SENSOR', '{"Time":"2026-11-30T10:00:00","DS18B20":{"Temperature":20.5},"TempUnit":7}')));
    expect(q.statedUnit('x/DS18B20.Temperature')).toBeNull();
    p.forget('garden/BME280.Temperature');
    expect(p.statedUnit('garden/BME280.Temperature')).toBeNull();
  });

  it("units: Tasmota's fixed units, ENERGY's measurements and a humidity, are its streams' units; Factor has none (tryout 20, F13)", () => {
    const p = parserFor({ presets: ['tasmota'] });
    // tasmota.github.io "Power Monitoring": a plug's tele/<t>/SENSOR.
    readings(
      p.parse(
        msg(
          'tele/plug1/SENSOR',
          '{"Time":"2026-11-30T10:00:00","ENERGY":{"TotalStartTime":"2026-01-01T00:00:00","Total":12.5,"Yesterday":0.4,"Today":0.2,"Period":1,"Power":60,"ApparentPower":64,"ReactivePower":22,"Factor":0.94,"Voltage":231,"Current":0.277,"Frequency":50}}',
        ),
      ),
    );
    const units = Object.fromEntries(['Total', 'Power', 'ApparentPower', 'ReactivePower', 'Factor', 'Voltage', 'Current', 'Frequency'].map((f) => [f, p.statedUnit(`plug1/ENERGY.${f}`)]));
    expect(units).toEqual({ Total: 'kWh', Power: 'W', ApparentPower: 'VA', ReactivePower: 'var', Factor: null, Voltage: 'V', Current: 'A', Frequency: 'Hz' });
    // Humidity of any sensor (SHT3X, AM2301) is %; its DewPoint the TempUnit's, a Pressure the PressureUnit's.
    readings(p.parse(msg('tele/th/SENSOR', '{"Time":"2026-11-30T10:00:00","SHT3X":{"Temperature":21.5,"Humidity":44.0,"DewPoint":8.8},"AM2301":{"Temperature":21.4,"Humidity":45.1,"DewPoint":9.0},"BMP280":{"Temperature":21.0,"Pressure":750.2},"PressureUnit":"mmHg","TempUnit":"C"}')));
    expect(['SHT3X.Humidity', 'AM2301.Humidity', 'SHT3X.DewPoint', 'BMP280.Pressure'].map((f) => p.statedUnit(`th/${f}`))).toEqual(['%', '%', '°C', 'mmHg']);
    // Factor is a measurement all the same: a text there is rejected, not dropped as metadata.
    const r = p.parse(msg('tele/plug1/SENSOR', '{"Time":"2026-11-30T10:00:10","ENERGY":{"Power":61,"Factor":"n/a"}}'));
    expect(r.kind === 'readings' ? r.rejections.map((x) => [x.reason, x.sensor]) : r).toEqual([['not_a_number', 'plug1/ENERGY.Factor']]);
  });

  it('units: a message rejected (too_many_streams) leaves no unit; each change between two units is first once, in each direction, a repeat not (tryout 25, finding 7)', () => {
    const told: Array<[string, string, string, boolean]> = [];
    const p = new MessageParser(parseOptionsOf(config({ presets: ['tasmota'], maxStreams: 2 }), { onUnitChange: (s, f, t, first) => told.push([s, f, t, first]) }));
    const skew = (t: number, unit: 'C' | 'F', s: number): RawMessage => msg('tele/skew/SENSOR', `{"Time":"2026-11-30T10:00:${String(s).padStart(2, '0')}","SI7021":{"Temperature":${t}},"TempUnit":"${unit}"}`);
    readings(p.parse(msg('tele/a/SENSOR', '{"Time":"2026-11-30T10:00:00","SI7021":{"Temperature":20.1,"Humidity":40}}')));
    // The two slots are taken: skew's °F readings are rejected and leave nothing of their unit.
    const r = p.parse(skew(69.9, 'F', 1));
    expect(r.kind === 'rejected' ? r.rejection.reason : r.kind).toBe('too_many_streams');
    expect(p.statedUnit('skew/SI7021.Temperature')).toBeNull();
    p.forget('a/SI7021.Humidity');
    readings(p.parse(skew(21.1, 'C', 2)));
    expect(p.statedUnit('skew/SI7021.Temperature')).toBe('°C');
    expect(told).toEqual([]);
    // °C → °F, back to °C, then °F again: each direction first once.
    readings(p.parse(skew(69.9, 'F', 3)));
    readings(p.parse(skew(21.2, 'C', 4)));
    readings(p.parse(skew(69.8, 'F', 5)));
    expect(told).toEqual([
      ['skew/SI7021.Temperature', '°C', '°F', true],
      ['skew/SI7021.Temperature', '°F', '°C', true],
      ['skew/SI7021.Temperature', '°C', '°F', false],
    ]);
    expect(p.unitChangedBefore('skew/SI7021.Temperature')).toBe(true);
    // Given back at start with the changes the checkpoint holds: a change between those units is no first, another is.
    const q = new MessageParser(parseOptionsOf(config({ presets: ['tasmota'] }), { onUnitChange: (s, f, t, first) => told.push([s, f, t, first]) }));
    q.restoreStatedUnit('skew/SI7021.Temperature', '°F', true, [
      { from: '°C', to: '°F' },
      { from: '°F', to: '°C' },
    ]);
    readings(q.parse(skew(21.1, 'C', 6)));
    readings(q.parse(msg('tele/skew/SENSOR', '{"Time":"2026-11-30T10:00:07","SI7021":{"Temperature":294.2},"TempUnit":"K"}')));
    expect(told.slice(3)).toEqual([
      ['skew/SI7021.Temperature', '°F', '°C', false],
      ['skew/SI7021.Temperature', '°C', 'K', true],
    ]);
  });

  it('units: a stated unit given back at start (its checkpoint) is known before the next message, and a message stating another one is a change across the restart (tryout 15 finding 2)', () => {
    const told: Array<[string, string, string, boolean, boolean]> = [];
    const p = new MessageParser(parseOptionsOf(config({ presets: ['tasmota'] }), { onUnitChange: (s, f, t, first, _ts, restored) => told.push([s, f, t, first, restored]) }));
    // Before the stop the hub said °C, after a change from °F (so a next change is not the first).
    p.restoreStatedUnit('th/AM2301.Temperature', '°C', true);
    p.restoreStatedUnit('th/AM2301.DewPoint', '°C', false);
    expect(p.statedUnit('th/AM2301.Temperature')).toBe('°C');
    expect(p.unitChangedBefore('th/AM2301.Temperature')).toBe(true);
    readings(p.parse(msg('tele/th/SENSOR', '{"Time":"2026-11-30T10:00:00","AM2301":{"Temperature":70.5,"Humidity":44.0,"DewPoint":47.8},"TempUnit":"F"}')));
    expect(p.statedUnit('th/AM2301.Temperature')).toBe('°F');
    expect(told).toEqual([
      ['th/AM2301.Temperature', '°C', '°F', false, true],
      ['th/AM2301.DewPoint', '°C', '°F', true, true],
    ]);
    // The next change is one during the run; a unit stated since the start is not overwritten by a late restore.
    readings(p.parse(msg('tele/th/SENSOR', '{"Time":"2026-11-30T10:00:10","AM2301":{"Temperature":21.5,"Humidity":44.0,"DewPoint":8.8},"TempUnit":"C"}')));
    expect(told.slice(2).map((c) => c[4])).toEqual([false, false]);
    p.restoreStatedUnit('th/AM2301.Temperature', '°F', true);
    expect(p.statedUnit('th/AM2301.Temperature')).toBe('°C');
  });

  it('tasmota as a Zigbee bridge: each device of ZbReceived is its own sensor by Name (else its short address), without link, battery and settings fields; 20 devices fit (tryout 13 #9)', () => {
    // tasmota.github.io, "Zigbee": `tele/<bridge>/SENSOR` `{"ZbReceived":{"0x8F10":{"Device":"0x8F10","Name":"Room10",…}}}`.
    const p = parserFor({ presets: ['tasmota'] });
    const room = (i: number, extra = ''): string => `"0x8F${String(i).padStart(2, '0')}":{"Device":"0x8F${String(i).padStart(2, '0')}","Name":"Room${i}","Temperature":${(20 + i / 10).toFixed(1)},"Humidity":${40 + i},"BatteryPercentage":90,"BatteryVoltage":3.01${extra},"Endpoint":1,"LinkQuality":65}`;
    const all: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const r = p.parse(msg('tele/zbbridge/SENSOR', `{"ZbReceived":{${room(i)}}}`, { receivedAt: NOW + i }));
      const rs = readings(r);
      expect(rs.map((x) => x.sensor).sort()).toEqual([`Room${i}/Humidity`, `Room${i}/Temperature`]);
      expect(rs.every((x) => x.source === `Room${i}`)).toBe(true);
      all.push(...rs.map((x) => x.sensor));
    }
    expect(all).toHaveLength(40);
    // Two devices in one message; one without a Name is named by its short address.
    expect(streamsOf(p, 'tele/zbbridge/SENSOR', '{"ZbReceived":{"0x8F01":{"Device":"0x8F01","Name":"Room1","Temperature":20.3,"Endpoint":1,"LinkQuality":70},"0x4A2C":{"Device":"0x4A2C","Pressure":1012.5,"Endpoint":1,"LinkQuality":40}}}', NOW + 100)).toEqual([
      '0x4A2C/Pressure',
      'Room1/Temperature',
    ]);
    // Keyed by the friendly name (SetOption83 1), and a light's settings (Power, Dimmer, CT) are no streams.
    expect(streamsOf(p, 'tele/zbbridge/SENSOR', '{"ZbReceived":{"Hall":{"Device":"0x1234","Name":"Hall","Power":1,"Dimmer":120,"CT":300,"Illuminance":340,"Endpoint":1,"LinkQuality":80}}}', NOW + 100)).toEqual(['Hall/Illuminance']);
    // A button press carries no measurement: skipped, counted hub_event, not rejected.
    const press = p.parse(msg('tele/zbbridge/SENSOR', '{"ZbReceived":{"0x9A21":{"Device":"0x9A21","Name":"Button","0006!02":"","Power":2,"Endpoint":1,"LinkQuality":110}}}', { receivedAt: NOW + 100 }));
    expect(press.kind === 'readings' && [press.readings.length, press.rejections.length, press.skipped]).toEqual([0, 0, 'hub_event']);
    // A plain Tasmota device is read as before.
    expect(streamsOf(p, 'tele/garden/SENSOR', '{"Time":"2026-11-30T10:00:00","BME280":{"Temperature":24.5}}')).toEqual(['garden/BME280.Temperature']);
  });

  it('rtl_433: every device of one events topic is its own sensor', () => {
    const p = parserFor({ presets: ['rtl_433'] });
    const a = readings(p.parse(msg('rtl_433/pi/events', '{"time":"2026-11-30 10:00:00","model":"Acurite-Tower","id":1,"channel":"A","temperature_C":20}')));
    const b = readings(p.parse(msg('rtl_433/pi/events', '{"time":"2026-11-30 10:00:00","model":"Nexus-TH","id":77,"channel":1,"temperature_C":5,"humidity":80}')));
    expect(a.map((r) => r.sensor)).toEqual(['Acurite-Tower-A-1/temperature_C']);
    expect(b.map((r) => r.sensor).sort()).toEqual(['Nexus-TH-1-77/humidity', 'Nexus-TH-1-77/temperature_C']);
    expect(b[0].source).toBe('Nexus-TH-1-77');
    const noId = p.parse(msg('rtl_433/pi/events', '{"temperature_C":5}'));
    expect(noId.kind === 'rejected' && noId.rejection.detail).toMatch(/no sensor id: the payload lacks model, channel, id/);
  });
});

describe('rules', () => {
  it('names the topic when no rule matches it', () => {
    const r = parserFor({}).parse(msg('elsewhere/x', '1'));
    expect(r.kind === 'rejected' && r.rejection).toMatchObject({ reason: 'bad_topic', sensor: null });
    expect(r.kind === 'rejected' && r.rejection.detail).toContain('no ingest rule matches topic "elsewhere/x"');
  });

  it('takes fields by path with include and exclude globs, a time field and unit, and a decimal comma', () => {
    const p = parserFor({
      rules: [{ topics: ['plant/{sensor}'], fields: ['line.*', 'temp', 'value'], exclude: ['line.id'], time: 'meta.at', timeUnit: 's', decimal: ',' }],
    });
    const rs = readings(p.parse(msg('plant/press1', '{"meta":{"at":1796032800},"line":{"id":4,"speed":"12,5"},"temp":"80,1","other":3}')));
    expect(rs.map((r) => [r.sensor, r.ts, r.values[0]])).toEqual([
      ['press1/temp', 1796032800000, 80.1],
      ['press1/line.speed', 1796032800000, 12.5],
    ]);
    expect(readings(p.parse(msg('plant/press2', '21,5')))[0]).toMatchObject({ sensor: 'press2', values: [21.5] });
  });

  it('does not take retained messages unless the rule says so', () => {
    const p = parserFor({ rules: [{ topics: ['live/{sensor}'] }, { topics: ['keep/{sensor}'], retained: true }] });
    const r = p.parse(msg('live/a', '1', { retain: true }));
    expect(r.kind === 'rejected' && r.rejection.reason).toBe('retained');
    expect(readings(p.parse(msg('keep/a', '1', { retain: true })))).toHaveLength(1);
    expect(readings(p.parse(msg('live/a', '1', { retain: false })))).toHaveLength(1);
    const def = parserFor({}).parse(msg('sensors/a', '1', { retain: true }));
    expect(def.kind === 'rejected' && def.rejection.reason).toBe('retained');
  });

  it('caps streams per sensor with a clear rejection, and a rejected stream takes no slot', () => {
    const p = parserFor({ maxStreamsPerSensor: 2 });
    const r = p.parse(msg('sensors/x', '{"a":1,"b":2,"c":3}'));
    expect(r.kind).toBe('readings');
    if (r.kind !== 'readings') return;
    expect(r.readings.map((x) => x.sensor)).toEqual(['x/a', 'x/b']);
    expect(r.rejections.map((x) => [x.sensor, x.reason])).toEqual([['x/c', 'too_many_streams']]);
    expect(r.rejections[0].detail).toContain('ingest.maxStreamsPerSensor');
    expect(p.streams).toBe(2);
  });
});

describe('channel groups', () => {
  it('aligns the group fields of one message into one multi-channel reading; the other fields stay streams', () => {
    // The group's model must take two channels: its sidecar says so (the check reads only that).
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-group-'));
    writeFileSync(join(dir, 'pump2.json'), JSON.stringify({ channels: ['pressure', 'flow'] }));
    const cfg = config({ groups: [{ name: 'hydraulics', sensors: 'pump-*', fields: ['pressure', 'flow'], model: 'pump2' }] }, { dir });
    const p = new MessageParser(parseOptionsOf(cfg));
    const rs = readings(p.parse(msg('sensors/pump-1', '{"pressure":3.2,"flow":12,"temp":40}')));
    expect(rs).toEqual([
      { sensor: 'pump-1/hydraulics', source: 'pump-1', ts: NOW, channels: ['pressure', 'flow'], values: [3.2, 12] },
      { sensor: 'pump-1/temp', source: 'pump-1', ts: NOW, channels: ['value'], values: [40] },
    ]);
    // one group field missing: the group has no reading at that instant (no rejection), the rest goes on
    expect(readings(p.parse(msg('sensors/pump-1', '{"pressure":null,"flow":12,"temp":41}'))).map((r) => r.sensor)).toEqual(['pump-1/temp']);
    // other sensors are not grouped
    expect(readings(p.parse(msg('sensors/fan', '{"pressure":1,"flow":2}'))).map((r) => r.sensor).sort()).toEqual(['fan/flow', 'fan/pressure']);
    const modelOf = groupModelOf(cfg);
    expect(modelOf('pump-1/hydraulics')).toBe('pump2');
    expect(modelOf('pump-1/temp')).toBeNull();
  });
});

describe('README "Connect your devices"', () => {
  it("lists every zigbee2mqtt setting the preset drops", async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Connect your devices'), readme.indexOf('## Configuration'));
    for (const glob of Z2M_SETTINGS) expect(section, glob).toContain(`\`${glob}\``);
  });

  it('lists every Zigbee2Tasmota field the tasmota preset does not make a stream', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Connect your devices'), readme.indexOf('## Configuration'));
    for (const glob of Z2T_NOT_MEASURED) expect(section, glob).toContain(`\`${glob}\``);
  });

  it("shows each preset's sample payload, its topic and its streams as the code has them", async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Connect your devices'), readme.indexOf('## Configuration'));
    for (const name of PRESET_NAMES) {
      const { sample } = PRESETS[name];
      expect(section, name).toContain(`| \`${name}\` |`);
      expect(section, name).toContain(`\`${sample.payload}\` on \`${sample.topic}\``);
      for (const stream of sample.streams) {
        const last = stream.slice(stream.lastIndexOf('/'));
        expect(section.includes(`\`${stream}\``) || section.includes(`\`…${last}\``), `${name}: ${stream}`).toBe(true);
      }
    }
  });
});
