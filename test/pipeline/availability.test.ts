/**
 * A device's own word on whether it is online (its MQTT birth and last will) and the units its Home Assistant
 * discovery configs state, through the real parser built from a Config as the daemon builds it (tryout 16,
 * finding 7): ESPHome's `<topic_prefix>/status`, zigbee2mqtt's `<name>/availability`, Tasmota's `tele/<t>/LWT`, a
 * Shelly Gen2's `<device>/online`, each told to onAvailability for the device its streams name, retained or not,
 * and skipped `hub_topic`; ESPHome's discovery configs (`unit_of_meas`, `stat_t`) giving the streams' stated unit.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { ParseResult, RawMessage } from '../../src/contract/types.js';
import { ingestFilters, parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser, type ParseOptions } from '../../src/pipeline/parse.js';

const NOW = Date.UTC(2026, 11, 2, 10, 2, 0);

function config(ingest: Record<string, unknown>): Config {
  const r = loadConfig({ overrides: { ingest: { timezone: 'UTC', ...ingest } }, env: {}, path: '/dev/null' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

type Said = [device: string, online: boolean, topic: string, retained: boolean];

function parserFor(presets: string[], extra: Partial<ParseOptions> = {}): { p: MessageParser; said: Said[] } {
  const said: Said[] = [];
  const p = new MessageParser({ ...parseOptionsOf(config({ presets }), { onAvailability: (device, online, topic, _at, retained) => said.push([device, online, topic, retained]) }), ...extra });
  return { p, said };
}

function msg(topic: string, payload: string, retain = false): RawMessage {
  return { topic, payload: Buffer.from(payload), receivedAt: NOW, retain };
}

function skipped(r: ParseResult): string | undefined {
  expect(r.kind === 'readings' ? [r.readings.length, r.rejections.length] : r.rejection).toEqual([0, 0]);
  return r.kind === 'readings' ? r.skipped : undefined;
}

function streams(r: ParseResult): string[] {
  if (r.kind !== 'readings') throw new Error(`rejected ${r.rejection.reason}: ${r.rejection.detail}`);
  return r.readings.map((x) => x.sensor).sort();
}

describe("a device's availability", () => {
  it('esphome: <topic_prefix>/status online/offline (its birth and last will), retained too, for a prefix of one or two levels; subscribed', () => {
    const { p, said } = parserFor(['esphome']);
    expect(ingestFilters(config({ presets: ['esphome'] }))).toEqual(expect.arrayContaining(['+/status', '+/+/status']));
    expect(streams(p.parse(msg('esp-power/sensor/ch1_power/state', '101.5')))).toEqual(['esp-power/ch1_power']);
    expect(p.parse(msg('esp-power/sensor/ch1_power/state', '101.5')).kind).toBe('readings');
    expect(skipped(p.parse(msg('esp-power/status', 'offline', true)))).toBe('hub_topic');
    expect(skipped(p.parse(msg('home/livingroom/status', 'online')))).toBe('hub_topic');
    // Anything else on the topic says nothing, and is no reading either (never rejected: it is the device's topic).
    expect(skipped(p.parse(msg('esp-power/status', 'rebooting')))).toBe('hub_topic');
    expect(said).toEqual([
      ['esp-power', false, 'esp-power/status', true],
      ['home/livingroom', true, 'home/livingroom/status', false],
    ]);
  });

  it('zigbee2mqtt: <friendly_name>/availability {"state":"offline"} or the legacy plain word, a name of several levels too', () => {
    const { p, said } = parserFor(['zigbee2mqtt']);
    expect(streams(p.parse(msg('zigbee2mqtt/kitchen/plug', '{"power":61,"linkquality":90}')))).toEqual(['kitchen/plug/power']);
    expect(skipped(p.parse(msg('zigbee2mqtt/kitchen/plug/availability', '{"state":"offline"}', true)))).toBe('hub_topic');
    expect(skipped(p.parse(msg('zigbee2mqtt/bedroom_sensor/availability', 'online', true)))).toBe('hub_topic');
    // The bridge's own state stays the hub's topic, no device's word.
    expect(skipped(p.parse(msg('zigbee2mqtt/bridge/state', '{"state":"offline"}')))).toBe('hub_topic');
    expect(said).toEqual([
      ['kitchen/plug', false, 'zigbee2mqtt/kitchen/plug/availability', true],
      ['bedroom_sensor', true, 'zigbee2mqtt/bedroom_sensor/availability', true],
    ]);
  });

  it('tasmota: tele/<topic>/LWT Online/Offline; shelly: <device>/online true/false', () => {
    const t = parserFor(['tasmota']);
    expect(ingestFilters(config({ presets: ['tasmota'] }))).toContain('tele/+/LWT');
    expect(skipped(t.p.parse(msg('tele/garden/LWT', 'Offline', true)))).toBe('hub_topic');
    expect(t.said).toEqual([['garden', false, 'tele/garden/LWT', true]]);
    const s = parserFor(['shelly']);
    expect(ingestFilters(config({ presets: ['shelly'] }))).toContain('+/online');
    expect(skipped(s.p.parse(msg('shellyplus1pm-a8032ab1/online', 'false', true)))).toBe('hub_topic');
    expect(skipped(s.p.parse(msg('shellyplus1pm-a8032ab1/online', 'true')))).toBe('hub_topic');
    expect(s.said).toEqual([
      ['shellyplus1pm-a8032ab1', false, 'shellyplus1pm-a8032ab1/online', true],
      ['shellyplus1pm-a8032ab1', true, 'shellyplus1pm-a8032ab1/online', false],
    ]);
  });

  it('a rule of the config has no availability topics: <x>/status is not read by it', () => {
    const said: Said[] = [];
    const p = new MessageParser(parseOptionsOf(config({ rules: [{ topics: ['{sensor}/status'] }] }), { onAvailability: (d, o, t, _a, r) => said.push([d, o, t, r]) }));
    expect(streams(p.parse(msg('boiler/status', '61.5')))).toEqual(['boiler']);
    expect(p.parse(msg('boiler/status', 'offline')).kind).toBe('rejected');
    expect(said).toEqual([]);
  });
});

describe('units from Home Assistant discovery configs (esphome)', () => {
  const CONFIG = '{"dev_cla":"temperature","unit_of_meas":"°C","stat_cla":"measurement","name":"Temperature","stat_t":"esp-living/sensor/temperature/state","avty_t":"esp-living/status","uniq_id":"ESPsensortemperature","dev":{"ids":"a4cf12","name":"esp-living","sw":"2024.6.1","mdl":"esp32dev","mf":"espressif"}}';

  it("an ESPHome sensor's retained config (abbreviated keys) states its stream's unit, from its next reading; subscribed; skipped hub_topic", () => {
    const { p } = parserFor(['esphome']);
    expect(ingestFilters(config({ presets: ['esphome'] }))).toEqual(expect.arrayContaining(['homeassistant/sensor/+/config', 'homeassistant/sensor/+/+/config']));
    expect(skipped(p.parse(msg('homeassistant/sensor/esp-living/temperature/config', CONFIG, true)))).toBe('hub_topic');
    expect(p.statedUnit('esp-living/temperature')).toBeNull();
    expect(streams(p.parse(msg('esp-living/sensor/temperature/state', '21.1')))).toEqual(['esp-living/temperature']);
    expect(p.statedUnit('esp-living/temperature')).toBe('°C');
  });

  it('the full key names, a ~ base and a value_json template of one field; another template names no stream', () => {
    const { p } = parserFor(['esphome']);
    p.parse(msg('homeassistant/sensor/esp-power/ch1/config', '{"unit_of_measurement":"W","~":"esp-power/sensor/ch1_power","state_topic":"~/state"}', true));
    p.parse(msg('homeassistant/sensor/esp-x/t/config', '{"unit_of_meas":"°F","stat_t":"esp-x/sensor/t/state","val_tpl":"{{ value | float * 2 }}"}', true));
    streams(p.parse(msg('esp-power/sensor/ch1_power/state', '101.5')));
    streams(p.parse(msg('esp-x/sensor/t/state', '70.1')));
    expect(p.statedUnit('esp-power/ch1_power')).toBe('W');
    expect(p.statedUnit('esp-x/t')).toBeNull();
  });

  it('a changed unit is told as a change (onUnitChange); an emptied retained config forgets only its own word, never throws', () => {
    const changes: Array<[string, string, string]> = [];
    const { p } = parserFor(['esphome'], { onUnitChange: (s, from, to) => changes.push([s, from, to]) });
    p.parse(msg('homeassistant/sensor/esp-living/temperature/config', CONFIG, true));
    streams(p.parse(msg('esp-living/sensor/temperature/state', '21.1')));
    p.parse(msg('homeassistant/sensor/esp-living/temperature/config', CONFIG.replace('°C', '°F')));
    streams(p.parse(msg('esp-living/sensor/temperature/state', '70.0', false)));
    expect(changes).toEqual([['esp-living/temperature', '°C', '°F']]);
    // `mosquitto_pub -r -n -t homeassistant/sensor/esp-living/temperature/config`: the entity removed.
    expect(skipped(p.parse(msg('homeassistant/sensor/esp-living/temperature/config', '', true)))).toBe('hub_topic');
    expect(skipped(p.parse(msg('homeassistant/sensor/esp-living/temperature/config', '{not json', true)))).toBe('hub_topic');
    expect(skipped(p.parse(msg('homeassistant/sensor/esp-living/temperature/config', '[1,2]', true)))).toBe('hub_topic');
    expect(streams(p.parse(msg('esp-living/sensor/temperature/state', '70.2')))).toEqual(['esp-living/temperature']);
    // The unit its readings had stays theirs (the sensor list, the alerts); nothing states another.
    expect(p.statedUnit('esp-living/temperature')).toBe('°F');
    expect(changes).toHaveLength(1);
  });

  it('not read without the esphome preset; a config whose state topic no rule reads names nothing', () => {
    expect(ingestFilters(config({ presets: ['zigbee2mqtt'] }))).not.toContain('homeassistant/sensor/+/+/config');
    const { p } = parserFor(['esphome']);
    expect(skipped(p.parse(msg('homeassistant/sensor/weather/temperature/config', '{"unit_of_measurement":"°C","state_topic":"weather/tele","value_template":"{{ value_json.temperature }}"}', true)))).toBe('hub_topic');
    expect(p.statedUnit('weather/tele/temperature')).toBeNull();
  });
});
