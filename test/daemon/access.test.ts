import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BrokerRoles } from '../../src/adapters/broker-roles.js';
import { loadConfig } from '../../src/config/load.js';
import { PRESETS, PRESET_NAMES } from '../../src/config/presets.js';
import type { Config } from '../../src/config/schema.js';
import { brokerRolesOf, hubGrantsOf, newDaemonLogin } from '../../src/daemon/access.js';
import { yamlFile } from '../config/helpers.js';

function config(yaml: string): Config {
  const res = loadConfig({ path: yamlFile(yaml), env: {} });
  if (!res.ok) throw new Error(res.errors.join('\n'));
  return res.config;
}

const SENSOR = { role: 'sensor', user: null } as const;

describe('hubGrantsOf', () => {
  it('grants nothing without a hub preset', () => {
    expect(hubGrantsOf(config('ingest: { presets: [homeassistant] }'))).toEqual([]);
    expect(hubGrantsOf(config('{}'))).toEqual([]);
  });

  it("Home Assistant statestream: every domain's state and attribute topic, not a discovery config nor anomalyd's own (tryout 14 #7)", () => {
    expect(hubGrantsOf(config('ingest: { presets: [ha_statestream] }'))).toEqual([{ hub: 'ha_statestream', publish: ['homeassistant/+/+/+'], except: ['homeassistant/+/+/config'], commands: [] }]);
    const roles = new BrokerRoles(brokerRolesOf(config('ingest: { presets: [ha_statestream] }\nhomeassistant: { nodeId: pi }'), newDaemonLogin(), 'pi'));
    const allowed = [
      'homeassistant/sensor/outdoor_temperature/state',
      'homeassistant/sensor/outdoor_temperature/unit_of_measurement',
      'homeassistant/sensor/outdoor_temperature/friendly_name',
      'homeassistant/sensor/outdoor_temperature/last_changed',
      'homeassistant/binary_sensor/door/state',
      'homeassistant/light/hall/brightness',
      'homeassistant/sensor/anomalyd_pi_pump1_score/state',
      'homeassistant/status',
    ];
    for (const topic of allowed) expect(roles.publishProblem(SENSOR, topic), topic).toBeNull();
    for (const topic of ['homeassistant/sensor/fake/config', 'homeassistant/binary_sensor/pi/hall/config', 'homeassistant/sensor/pi/x', 'homeassistant/sensor/a/b/c', 'anomalyd/alerts/x']) {
      expect(roles.publishProblem(SENSOR, topic), topic).not.toBeNull();
    }
    // With a hub that announces its devices beside it, that hub's discovery grant still covers a config.
    const both = new BrokerRoles(brokerRolesOf(config('ingest: { presets: [ha_statestream, zigbee2mqtt] }\nhomeassistant: { nodeId: pi }'), newDaemonLogin(), 'pi'));
    expect(both.publishProblem(SENSOR, 'homeassistant/sensor/0x00158d/config')).toBeNull();
    expect(both.publishProblem(SENSOR, 'homeassistant/sensor/pi/config')).not.toBeNull();
  });

  it("grants each enabled hub's topics and, for a hub that announces its devices, Home Assistant discovery configs under homeassistant.prefix", () => {
    const grants = hubGrantsOf(config('ingest: { presets: [tasmota, zigbee2mqtt, rtl_433] }\nhomeassistant: { prefix: ha }'));
    expect(grants.map((g) => g.hub)).toEqual(['zigbee2mqtt', 'tasmota', 'rtl_433']);
    expect(grants[0]).toMatchObject({ publish: ['zigbee2mqtt/#', 'ha/+/+/config', 'ha/+/+/+/config'], commands: expect.arrayContaining(['zigbee2mqtt/bridge/request/#']) as unknown });
    expect(grants[1]).toMatchObject({ publish: ['tele/#', 'stat/#', 'tasmota/discovery/#', 'ha/+/+/config', 'ha/+/+/+/config'], commands: ['cmnd/#'] });
    expect(grants[2]).toEqual({ hub: 'rtl_433', publish: ['rtl_433/#'], commands: [] });
  });
});

describe('brokerRolesOf', () => {
  it("the README's one-line hub setup lets zigbee2mqtt and Tasmota publish their own topics, not the daemon's discovery nor a command", () => {
    const roles = new BrokerRoles(brokerRolesOf(config('ingest: { presets: [zigbee2mqtt, tasmota] }\nhomeassistant: { nodeId: pi }'), newDaemonLogin(), 'pi'));
    for (const topic of ['zigbee2mqtt/bridge/state', 'zigbee2mqtt/hall_sensor', 'tele/plug/LWT', 'tele/plug/SENSOR', 'stat/plug/POWER', 'homeassistant/sensor/0x00158d0001/temperature/config']) {
      expect(roles.publishProblem(SENSOR, topic), topic).toBeNull();
    }
    for (const topic of ['zigbee2mqtt/lamp/set', 'cmnd/plug/Power', 'anomalyd/cmd/ack/1/alice', 'anomalyd/alerts/hall', 'homeassistant/binary_sensor/pi/hall/config', 'sensorsx/1']) {
      expect(roles.publishProblem(SENSOR, topic), topic).not.toBeNull();
    }
  });
});

describe('brokerRolesOf: Home Assistant discovery entities (the homeassistant preset)', () => {
  it('the sensor login may publish configs of sensors, binary_sensors and numbers, and a state topic the daemon discovered, never a command or daemon topic', () => {
    const discovered = new Set<string>();
    const roles = new BrokerRoles({ ...brokerRolesOf(config('ingest: { presets: [homeassistant, tasmota] }\nhomeassistant: { nodeId: pi }'), newDaemonLogin(), 'pi'), discoveredTopics: discovered });
    for (const topic of ['homeassistant/sensor/th1/config', 'homeassistant/binary_sensor/omg/door/config', 'homeassistant/number/boiler/setpoint/config']) expect(roles.publishProblem(SENSOR, topic), topic).toBeNull();
    expect(roles.publishProblem(SENSOR, 'office/th1/state')).not.toBeNull();
    for (const t of ['office/th1/state', 'cmnd/plug/Power', 'anomalyd/alerts/hall', 'homeassistant/sensor/pi/x/config']) discovered.add(t);
    expect(roles.publishProblem(SENSOR, 'office/th1/state')).toBeNull();
    for (const topic of ['cmnd/plug/Power', 'anomalyd/alerts/hall', 'homeassistant/sensor/pi/x/config']) expect(roles.publishProblem(SENSOR, topic), topic).not.toBeNull();
    discovered.delete('office/th1/state');
    expect(roles.publishProblem(SENSOR, 'office/th1/state')).not.toBeNull();
  });
});

describe('docs/SECURITY.md "Hubs on the embedded broker"', () => {
  it("lists each preset's hub topics, command topics and discovery as the code has them", () => {
    const doc = readFileSync(new URL('../../docs/SECURITY.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Hubs on the embedded broker'), doc.indexOf('## Operator commands'));
    const code = (list: readonly string[]): string => (list.length === 0 ? 'none' : list.map((f) => `\`${f}\``).join(', '));
    for (const name of PRESET_NAMES) {
      const { hub } = PRESETS[name];
      if (PRESETS[name].discoveryEntities === true) {
        // homeassistant: discovery entities' configs and, while a config lasts, the state and availability topics it names.
        expect(section, name).toMatch(new RegExp(`^\\|[^\\n]*\`${name}\` \\| its state topics [^\\n]*the state and availability topics it names \\| none \\| configs of those three components \\|$`, 'm'));
        continue;
      }
      if (hub.publish.length === 0) {
        expect(section, name).toMatch(new RegExp(`^\\|[^\\n]*\`${name}\`[^\\n]*\\| its state topics only [^\\n]*\\| none \\| no \\|$`, 'm'));
        continue;
      }
      const except = hub.except !== undefined ? `, not ${code(hub.except)}` : '';
      expect(section, name).toContain(`| \`${name}\` | ${code(hub.publish)}${except} | ${code(hub.commands)} | ${hub.discovery ? 'yes' : 'no'} |`);
    }
  });
});
