import { describe, expect, it } from 'vitest';
import { BrokerRoles, topicMatches, topicMatchesPattern, type BrokerIdentity, type BrokerRolesOptions } from '../../src/adapters/broker-roles.js';
import { PRESETS } from '../../src/config/presets.js';

const daemon = { username: 'anomalyd-daemon', password: 'd'.repeat(48), clientId: 'anomalyd-pi' };
const sensor = { username: 'sensors', password: 's'.repeat(20) };
const operator = { username: 'alice', password: 'o'.repeat(20) };
const opts: BrokerRolesOptions = { daemon, sensor, operator, sensorTopics: ['sensors/#', 'tele/+/SENSOR'], prefix: 'anomalyd' };
const pw = (s: string): Buffer => Buffer.from(s);

const SENSOR: BrokerIdentity = { role: 'sensor', user: 'sensors' };
const OPERATOR: BrokerIdentity = { role: 'operator', user: 'alice' };
const DAEMON: BrokerIdentity = { role: 'daemon', user: 'anomalyd-daemon' };

describe('topicMatches', () => {
  it.each([
    ['sensors/#', 'sensors/a', true],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/a/b', true],
    ['sensors/+', 'sensors/a/b', false],
    ['tele/+/SENSOR', 'tele/x/SENSOR', true],
    ['tele/+/SENSOR', 'tele/x/STATE', false],
    ['#', '$SYS/broker/uptime', false],
    ['+/x', '$SYS/x', false],
    ['anomalyd/#', 'anomalydx/a', false],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('topicMatchesPattern', () => {
  it.each([
    ['zigbee2mqtt/**/set/#', 'zigbee2mqtt/lamp/set', true],
    ['zigbee2mqtt/**/set/#', 'zigbee2mqtt/floor1/lamp/set', true],
    ['zigbee2mqtt/**/set/#', 'zigbee2mqtt/floor1/lamp/set/brightness', true],
    ['zigbee2mqtt/**/set/#', 'zigbee2mqtt/set', false],
    ['zigbee2mqtt/**/set/#', 'zigbee2mqtt/lamp', false],
    ['zigbee2mqtt/**/set/#', 'zigbee2mqtt/lamp/availability', false],
    ['zigbee2mqtt/**/set', 'zigbee2mqtt/a/set/b', false],
    ['+/+/+/command', 'kitchen/switch/relay/command', true],
    ['cmnd/#', 'cmnd/plug/Upgrade', true],
    ['cmnd/#', 'cmnd', true],
    ['**/command', '$SYS/command', false],
  ])('%s matches %s: %s', (pattern, topic, expected) => {
    expect(topicMatchesPattern(pattern, topic)).toBe(expected);
  });

  it('is topicMatches on plain MQTT filters', () => {
    for (const [f, t] of [['sensors/#', 'sensors'], ['a/+/c', 'a/b/c'], ['a/+/c', 'a/b/d'], ['#', '$SYS/x'], ['a/b', 'a/b/c']] as const) {
      expect(topicMatchesPattern(f, t), `${f} ${t}`).toBe(topicMatches(f, t));
    }
  });
});

describe('BrokerRoles.authenticate', () => {
  const roles = new BrokerRoles(opts);
  it('knows each role by its login', () => {
    expect(roles.authenticate('c1', 'anomalyd-daemon', pw(daemon.password))).toEqual({ ok: true, identity: DAEMON });
    expect(roles.authenticate('c2', 'sensors', pw(sensor.password))).toEqual({ ok: true, identity: SENSOR });
    expect(roles.authenticate('c3', 'alice', pw(operator.password))).toEqual({ ok: true, identity: OPERATOR });
  });

  it('refuses anonymous clients, wrong passwords and strangers once a sensor login is configured', () => {
    expect(roles.authenticate('c', undefined, undefined)).toMatchObject({ ok: false, reason: 'anonymous clients are refused' });
    expect(roles.authenticate('c', 'sensors', pw('wrong'))).toMatchObject({ ok: false, reason: 'bad password' });
    expect(roles.authenticate('c', 'alice', pw(sensor.password))).toMatchObject({ ok: false });
    expect(roles.authenticate('c', 'anomalyd-daemon', pw(sensor.password))).toMatchObject({ ok: false });
    expect(roles.authenticate('c', 'mallory', pw('x'))).toMatchObject({ ok: false, reason: 'unknown user' });
  });

  it("refuses anyone else using the daemon's client id (it would take over the daemon's session)", () => {
    expect(roles.authenticate('anomalyd-pi', 'sensors', pw(sensor.password))).toMatchObject({ ok: false, reason: expect.stringContaining('reserved') });
    expect(roles.authenticate('anomalyd-pi', 'anomalyd-daemon', pw(daemon.password))).toMatchObject({ ok: true });
  });

  it('without a sensor login, anonymous clients are sensors; named strangers are still refused', () => {
    const open = new BrokerRoles({ ...opts, sensor: null, operator: null });
    expect(open.authenticate('c', undefined, undefined)).toEqual({ ok: true, identity: { role: 'sensor', user: null } });
    expect(open.authenticate('c', 'alice', pw(operator.password))).toMatchObject({ ok: false });
  });
});

describe('BrokerRoles.publishProblem', () => {
  const roles = new BrokerRoles(opts);
  it('sensors publish on the sensor topics only, never under the prefix', () => {
    expect(roles.publishProblem(SENSOR, 'sensors/pump1')).toBeNull();
    expect(roles.publishProblem(SENSOR, 'tele/plug/SENSOR')).toBeNull();
    expect(roles.publishProblem(SENSOR, 'anomalyd/alerts/pump1')).toContain('only the daemon');
    expect(roles.publishProblem(SENSOR, 'anomalyd/status')).toContain('only the daemon');
    expect(roles.publishProblem(SENSOR, 'anomalyd/cmd/ack/x/alice')).toContain('only the daemon');
    expect(roles.publishProblem(SENSOR, 'elsewhere/x')).toContain('ingest.topics');
    // Even when ingest.topics covers everything, the daemon's prefix stays its own.
    const wide = new BrokerRoles({ ...opts, sensorTopics: ['#'] });
    expect(wide.publishProblem(SENSOR, 'anomalyd/state/pump1')).toContain('only the daemon');
    expect(wide.publishProblem(SENSOR, 'anything/else')).toBeNull();
  });

  it('operators publish commands under their own name only', () => {
    expect(roles.publishProblem(OPERATOR, 'anomalyd/cmd/ack/4f7c-1/alice')).toBeNull();
    expect(roles.publishProblem(OPERATOR, 'anomalyd/cmd/false_alarm/4f7c-1/alice')).toBeNull();
    expect(roles.publishProblem(OPERATOR, 'anomalyd/cmd/unmark/4f7c-1/alice')).toBeNull();
    for (const topic of ['anomalyd/cmd/ack/4f7c-1/bob', 'anomalyd/cmd/ack/4f7c-1', 'anomalyd/cmd/delete/4f7c-1/alice', 'anomalyd/cmd/result', 'anomalyd/alerts/x', 'sensors/x']) {
      expect(roles.publishProblem(OPERATOR, topic), topic).not.toBeNull();
    }
  });

  it('the daemon publishes anywhere but $ topics', () => {
    for (const topic of ['anomalyd/alerts/x', 'anomalyd/status', 'anomalyd/cmd/result', 'homeassistant/sensor/x/config']) expect(roles.publishProblem(DAEMON, topic)).toBeNull();
    expect(roles.publishProblem(DAEMON, '$SYS/x')).not.toBeNull();
  });

  it('extra daemon-only filters (a discovery prefix) are closed to sensors', () => {
    const r = new BrokerRoles({ ...opts, sensorTopics: ['#'], daemonOnly: ['homeassistant/#'] });
    expect(r.publishProblem(SENSOR, 'homeassistant/sensor/x/config')).not.toBeNull();
  });

  it("lets sensors publish a hub's own topics, retained too, but never its commands or the daemon's topics", () => {
    const hub = (name: 'zigbee2mqtt' | 'tasmota' | 'esphome') => ({ hub: name, publish: PRESETS[name].hub.publish, commands: PRESETS[name].hub.commands });
    const r = new BrokerRoles({ ...opts, sensorTopics: ['sensors/#', 'zigbee2mqtt/+', 'tele/+/SENSOR'], hubs: [hub('zigbee2mqtt'), hub('tasmota'), hub('esphome')], daemonOnly: ['homeassistant/+/anomalyd_pi/#'] });
    for (const topic of ['zigbee2mqtt/bridge/state', 'zigbee2mqtt/bridge/devices', 'zigbee2mqtt/hall/availability', 'tele/plug/LWT', 'tele/plug/STATE', 'stat/plug/RESULT', 'tasmota/discovery/A1B2C3/config', 'kitchen/status', 'kitchen/switch/relay/state', 'home/livingroom/sensor/temperature/state', 'home/hall/climate/thermostat/current_temperature/state', 'home/livingroom/status']) {
      expect(r.publishProblem(SENSOR, topic), topic).toBeNull();
    }
    for (const topic of ['zigbee2mqtt/lamp/set', 'zigbee2mqtt/floor1/lamp/set/brightness', 'zigbee2mqtt/lamp/get', 'zigbee2mqtt/bridge/request/permit_join', 'cmnd/plug/Upgrade', 'cmnd/tasmotas/Power', 'kitchen/switch/relay/command', 'kitchen/climate/ac/mode/command', 'home/kitchen/switch/relay/command', 'home/hall/climate/ac/target_temperature/command']) {
      expect(r.publishProblem(SENSOR, topic), topic).toMatch(/^a command to (zigbee2mqtt|tasmota|esphome)/);
    }
    // Another hub's grant does not open a command either (esphome's +/+/+/state covers cmnd/plug/x/state),
    // nor does ingest.topics.
    expect(r.publishProblem(SENSOR, 'cmnd/plug/x/state')).toContain('a command to tasmota');
    const wide = new BrokerRoles({ ...opts, sensorTopics: ['#'], hubs: [hub('zigbee2mqtt')] });
    expect(wide.publishProblem(SENSOR, 'zigbee2mqtt/lamp/set')).toContain('a command to zigbee2mqtt');
    expect(wide.publishProblem(SENSOR, 'cmnd/plug/Power')).toBeNull();
    for (const topic of ['anomalyd/status', 'anomalyd/alerts/hall', 'anomalyd/cmd/ack/1/alice', 'anomalyd/state/a/b', 'homeassistant/binary_sensor/anomalyd_pi/x/config']) {
      expect(r.publishProblem(SENSOR, topic), topic).toContain('only the daemon');
    }
    expect(r.publishProblem(SENSOR, 'elsewhere/x')).toBe('sensors publish only on ingest.topics and the own topics of the hubs in ingest.presets (zigbee2mqtt, tasmota, esphome)');
    // Operators gain nothing from the hubs.
    expect(r.publishProblem(OPERATOR, 'zigbee2mqtt/bridge/state')).not.toBeNull();
    // Without hubs, a hub's status is refused, with the way to allow it.
    expect(roles.publishProblem(SENSOR, 'zigbee2mqtt/bridge/state')).toContain('ingest.presets');
  });

  it('works under a multi-level prefix', () => {
    const r = new BrokerRoles({ ...opts, prefix: 'site/3/anomalyd' });
    expect(r.publishProblem(OPERATOR, 'site/3/anomalyd/cmd/ack/1/alice')).toBeNull();
    expect(r.publishProblem(OPERATOR, 'anomalyd/cmd/ack/1/alice')).not.toBeNull();
    expect(r.publishProblem(SENSOR, 'site/3/anomalyd/status')).not.toBeNull();
  });
});

describe('BrokerRoles.mayReceive', () => {
  it('keeps operator commands and their results from sensors', () => {
    const roles = new BrokerRoles(opts);
    expect(roles.mayReceive(SENSOR, 'anomalyd/cmd/result')).toBe(false);
    expect(roles.mayReceive(SENSOR, 'anomalyd/cmd/ack/1/alice')).toBe(false);
    expect(roles.mayReceive(SENSOR, 'anomalyd/alerts/pump1')).toBe(true);
    expect(roles.mayReceive(OPERATOR, 'anomalyd/cmd/result')).toBe(true);
    expect(roles.mayReceive(DAEMON, 'anomalyd/cmd/ack/1/alice')).toBe(true);
  });
});
