/**
 * Topics two mapping rules both take (src/config/overlaps.ts), as `check-config` warns of them: which topics, and
 * which rule reads their messages, the one the parser routes them to (tryout 13 #9: presets homeassistant,
 * ha_statestream and esphome on `homeassistant/sensor/+/state`).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { overlappingTopics, templateCovers } from '../../src/config/overlaps.js';
import type { Config } from '../../src/config/schema.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { routeOf } from '../../src/pipeline/route.js';

function config(ingest: Record<string, unknown>): Config {
  const r = loadConfig({ overrides: { ingest: { timezone: 'UTC', ...ingest } }, env: {}, path: '/dev/null' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

describe('templateCovers', () => {
  it('is exact for +, {sensor}, {field}, # and {sensor#} anywhere', () => {
    expect(templateCovers('homeassistant/sensor/{sensor}/state', 'homeassistant/sensor/{sensor}/state')).toBe(true);
    // ESPHome's prefix of one or two levels takes Home Assistant's state topics.
    expect(templateCovers('{sensor#}/sensor/{field}/state', 'homeassistant/sensor/{sensor}/state')).toBe(true);
    expect(templateCovers('{sensor#}/sensor/{field}/state', 'a/b/sensor/+/state')).toBe(true);
    // … but not three levels (the matcher takes 1 to 2 there) nor another component.
    expect(templateCovers('{sensor#}/sensor/{field}/state', 'a/b/c/sensor/+/state')).toBe(false);
    expect(templateCovers('{sensor#}/sensor/{field}/state', 'homeassistant/number/{sensor}/state')).toBe(false);
    expect(templateCovers('homeassistant/sensor/{sensor}/state', '{sensor#}/sensor/{field}/state')).toBe(false);
    expect(templateCovers('zigbee2mqtt/{sensor#}', 'zigbee2mqtt/{sensor}')).toBe(true);
    expect(templateCovers('zigbee2mqtt/{sensor#}', 'zigbee2mqtt/+/#')).toBe(true);
    // `#` takes its parent too, `{sensor#}` at least one level.
    expect(templateCovers('zigbee2mqtt/{sensor#}', 'zigbee2mqtt/#')).toBe(false);
    expect(templateCovers('zigbee2mqtt/#', 'zigbee2mqtt/{sensor#}')).toBe(true);
    expect(templateCovers('a/#', 'a')).toBe(true);
    expect(templateCovers('zigbee2mqtt/{sensor}', 'zigbee2mqtt/{sensor#}')).toBe(false);
    // Meeting only where a wildcard level meets another's fixed level is no cover either way.
    expect(templateCovers('zigbee2mqtt/{sensor#}', '{sensor}/events/rpc')).toBe(false);
    expect(templateCovers('{sensor}/events/rpc', 'zigbee2mqtt/{sensor#}')).toBe(false);
  });
});

describe('overlappingTopics', () => {
  it('warns of presets that take the same messages and names the rule the parser routes them to (tryout 13 #9)', () => {
    const c = config({ presets: ['zigbee2mqtt', 'tasmota', 'esphome', 'homeassistant', 'ha_statestream', 'shelly', 'rtl_433'] });
    expect(overlappingTopics(c.ingest)).toEqual([
      ['ingest.presets', 'messages on "homeassistant/sensor/{sensor}/state" (preset homeassistant) match "{sensor#}/sensor/{field}/state" (preset esphome) too: preset homeassistant, tried first, reads them'],
      ['ingest.presets', 'preset ha_statestream never reads "homeassistant/sensor/{sensor}/state": preset homeassistant, tried first, takes every message there ("homeassistant/sensor/{sensor}/state")'],
      ['ingest.presets', 'messages on "homeassistant/binary_sensor/{sensor}/state" (preset ha_statestream) match "{sensor#}/binary_sensor/{field}/state" (preset esphome) too: preset ha_statestream, tried first, reads them'],
    ]);
    // The parser agrees: homeassistant reads them (the stream `outdoor`, not esphome's `homeassistant/outdoor`).
    const rules = parseOptionsOf(c).rules ?? [];
    expect(routeOf(rules, 'homeassistant/sensor/outdoor/state')?.rule.name).toBe('homeassistant');
    expect(routeOf(rules, 'homeassistant/number/boiler_setpoint/state')?.rule.name).toBe('ha_statestream');
    expect(routeOf(rules, 'homeassistant/binary_sensor/front_door/state')?.rule.name).toBe('ha_statestream');
  });

  it('warns of a user rule that takes part of a preset\'s messages, and of a preset a rule takes a topic of', () => {
    const c = config({ presets: ['zigbee2mqtt', 'shelly'], rules: [{ topics: ['zigbee2mqtt/{sensor}'] }, { topics: ['{sensor}/status/{field}', 'home/{sensor}'] }] });
    expect(overlappingTopics(c.ingest)).toEqual([
      ['ingest.rules[0]', 'messages on "zigbee2mqtt/{sensor}" (ingest.rules[0]) match "zigbee2mqtt/{sensor#}" (preset zigbee2mqtt) too: ingest.rules[0], tried first, reads them'],
      ['ingest.presets', 'preset shelly never reads "{sensor}/status/{field}": ingest.rules[1], tried first, takes every message there ("{sensor}/status/{field}")'],
    ]);
    const rules = parseOptionsOf(c).rules ?? [];
    expect(routeOf(rules, 'zigbee2mqtt/bedroom')?.rule.name).toBe('ingest.rules[0]');
    expect(routeOf(rules, 'zigbee2mqtt/kitchen/floor_light')?.rule.name).toBe('zigbee2mqtt');
    expect(routeOf(rules, 'shellyplus1pm-a8032ab1/status/switch:0')?.rule.name).toBe('ingest.rules[1]');
  });

  it('is quiet for presets that share no messages, and leaves a rule that can never match to the error', () => {
    expect(overlappingTopics(config({ presets: ['zigbee2mqtt', 'tasmota', 'esphome', 'shelly', 'rtl_433', 'homeassistant'] }).ingest)).toEqual([
      ['ingest.presets', 'messages on "homeassistant/sensor/{sensor}/state" (preset homeassistant) match "{sensor#}/sensor/{field}/state" (preset esphome) too: preset homeassistant, tried first, reads them'],
    ]);
    expect(overlappingTopics(config({ presets: ['zigbee2mqtt', 'tasmota', 'shelly', 'rtl_433', 'ha_statestream'] }).ingest)).toEqual([]);
    expect(overlappingTopics(config({}).ingest)).toEqual([]);
    // The default rule (ingest.sensorPattern) is tried last.
    expect(overlappingTopics(config({ presets: ['tasmota'], sensorPattern: 'tele/{sensor}/#', topics: ['tele/#'] }).ingest)).toEqual([
      ['ingest.presets', 'messages on "tele/{sensor}/SENSOR" (preset tasmota) match "tele/{sensor}/#" (the default rule (ingest.topics, ingest.sensorPattern)) too: preset tasmota, tried first, reads them'],
    ]);
  });
});
