/**
 * Home Assistant MQTT discovery with the homeassistant preset, through the real parser built from a Config as the daemon
 * builds it (tryout 25, finding 8): a config whose state topic no rule reads (Tasmota with SetOption19, OpenMQTTGateway,
 * an ESP board: `office/th1/state`) makes that topic's messages readings of the stream `[<node_id>/]<object_id>`, read
 * through its value_template, in the config's unit; a config for a topic the preset reads gives that stream its unit; a
 * template it cannot read is a counted rejection, told once; an emptied config deletes the entity. On main the preset
 * read no config: `office/th1/state` was never subscribed and no unit was attached.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { ParseResult, RawMessage } from '../../src/contract/types.js';
import { ingestFilters, parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';

const NOW = Date.UTC(2026, 11, 3, 10, 0, 0);

function config(ingest: Record<string, unknown> = {}): Config {
  const r = loadConfig({ overrides: { ingest: { timezone: 'UTC', presets: ['homeassistant'], ...ingest } }, env: {}, path: '/dev/null' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

interface Harness {
  readonly p: MessageParser;
  readonly topics: string[];
  readonly events: string[];
  readonly problems: string[];
  send(topic: string, payload: string | object, retain?: boolean): ParseResult;
}

function harness(ingest: Record<string, unknown> = {}): Harness {
  const topics: string[] = [];
  const events: string[] = [];
  const problems: string[] = [];
  let t = NOW;
  const p = new MessageParser(
    parseOptionsOf(config(ingest), {}, {
      onStateTopic: (topic, on) => {
        events.push(`${on ? '+' : '-'}${topic}`);
        if (on) topics.push(topic);
        else topics.splice(topics.indexOf(topic), 1);
      },
      onEntityProblem: (stream, _configTopic, problem) => problems.push(`${stream}: ${problem}`),
    }),
  );
  const send = (topic: string, payload: string | object, retain = false): ParseResult => {
    t += 10_000;
    const m: RawMessage = { topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), receivedAt: t, retain };
    return p.parse(m);
  };
  return { p, topics, events, problems, send };
}

/** A result as [stream=value …] or its rejection reason or skip reason. */
function outcome(r: ParseResult): string {
  if (r.kind === 'rejected') return `rejected ${r.rejection.reason}`;
  if (r.readings.length === 0 && r.rejections.length === 0) return `skipped ${r.skipped ?? 'held'}`;
  return [...r.readings.map((x) => `${x.sensor}=${x.values[0]}`), ...r.rejections.map((x) => `rejected ${x.reason}`)].join(' ');
}

const TH1 = { name: 'TH1 temperature', stat_t: 'office/th1/state', unit_of_meas: '°C', val_tpl: '{{ value_json.temperature }}', uniq_id: 'th1_t' };

describe('homeassistant preset: discovery configs', () => {
  it('subscribes to the configs of sensors, binary_sensors and numbers', () => {
    expect(ingestFilters(config())).toEqual(
      expect.arrayContaining(['homeassistant/sensor/+/config', 'homeassistant/sensor/+/+/config', 'homeassistant/binary_sensor/+/config', 'homeassistant/binary_sensor/+/+/config', 'homeassistant/number/+/config']),
    );
  });

  it("a config whose state topic no rule reads: the topic subscribed, its states the config's stream in its unit (tryout 25 #8's th1)", () => {
    const h = harness();
    expect(outcome(h.send('homeassistant/sensor/th1/config', TH1, true))).toBe('skipped hub_topic');
    expect(h.topics).toEqual(['office/th1/state']);
    expect(outcome(h.send('office/th1/state', '{"temperature": 20.23, "humidity": 40}'))).toBe('th1=20.23');
    expect(h.p.statedUnit('th1')).toBe('°C');
    // A state without the field: a missing reading; a text the state decoder skips as a text state.
    expect(outcome(h.send('office/th1/state', '{"humidity": 40}'))).toBe('skipped missing_value');
    expect(outcome(h.send('office/th1/state', '{"temperature": "unavailable"}'))).toBe('skipped missing_value');
    expect(h.problems).toEqual([]);
  });

  it("a config for a topic the preset reads gives its stream the config's unit (tryout 25 #8's office_temp: unit null on main)", () => {
    const h = harness();
    h.send('homeassistant/sensor/office_temp/config', { name: 'Office temperature', stat_t: 'homeassistant/sensor/office_temp/state', unit_of_meas: '°C', dev_cla: 'temperature', uniq_id: 'office_temp_1' }, true);
    expect(h.topics).toEqual([]);
    expect(outcome(h.send('homeassistant/sensor/office_temp/state', '20.23'))).toBe('office_temp=20.23');
    expect(h.p.statedUnit('office_temp')).toBe('°C');
  });

  it('"22.0 °C": a number with its stream\'s own unit is read; with another unit, or without a config, it stays a text state', () => {
    const h = harness();
    h.send('homeassistant/sensor/office_temp/config', { stat_t: 'homeassistant/sensor/office_temp/state', unit_of_meas: '°C' }, true);
    expect(outcome(h.send('homeassistant/sensor/office_temp/state', '22.0 °C'))).toBe('office_temp=22');
    expect(outcome(h.send('homeassistant/sensor/office_temp/state', '22.5°C'))).toBe('office_temp=22.5');
    expect(outcome(h.send('homeassistant/sensor/office_temp/state', '72 °F'))).toBe('skipped text_state');
    expect(outcome(h.send('homeassistant/sensor/office_temp/state', '22.0 °C warm'))).toBe('skipped text_state');
    expect(outcome(h.send('homeassistant/sensor/other/state', '22.0 °C'))).toBe('skipped text_state');
  });

  it('abbreviated and full keys, `~` expansion, a node id, several entities on one JSON state (Tasmota SetOption19)', () => {
    const h = harness();
    h.send('homeassistant/sensor/A4CF12/AM2301_Temperature/config', { '~': 'tele/th2/', stat_t: '~SENSOR', unit_of_measurement: '°C', value_template: "{{value_json['AM2301']['Temperature']}}" }, true);
    h.send('homeassistant/sensor/A4CF12/AM2301_Humidity/config', { '~': 'tele/th2/', stat_t: '~SENSOR', unit_of_meas: '%', val_tpl: '{{ value_json.AM2301.Humidity | float | round(1) }}' }, true);
    expect(h.topics).toEqual(['tele/th2/SENSOR']);
    expect(outcome(h.send('tele/th2/SENSOR', '{"Time":"2026-12-03T10:00:00","AM2301":{"Temperature":19.5,"Humidity":41.26}}'))).toBe('A4CF12/AM2301_Temperature=19.5 A4CF12/AM2301_Humidity=41.3');
    expect(h.p.statedUnit('A4CF12/AM2301_Humidity')).toBe('%');
  });

  it('a binary_sensor: its payload_on 1, payload_off 0 (JSON booleans as Jinja renders them), an on/off stream', () => {
    const h = harness();
    h.send('homeassistant/binary_sensor/omg/door/config', { stat_t: 'home/OMG/door', val_tpl: '{{ value_json.contact }}', pl_on: false, pl_off: true }, true);
    h.send('homeassistant/binary_sensor/pir/config', { state_topic: 'diy/pir' }, true);
    expect(outcome(h.send('home/OMG/door', '{"contact": false}'))).toBe('omg/door=1');
    expect(outcome(h.send('home/OMG/door', '{"contact": true}'))).toBe('omg/door=0');
    expect(outcome(h.send('diy/pir', 'ON'))).toBe('pir=1');
    expect(outcome(h.send('diy/pir', 'OFF'))).toBe('pir=0');
    expect(outcome(h.send('diy/pir', 'unavailable'))).toBe('skipped missing_value');
    expect(outcome(h.send('diy/pir', 'maybe'))).toBe('skipped text_state');
    expect(h.p.statedOnOff('pir')).toBe(true);
  });

  it('a binary_sensor of an alarm device class is an alarm field in its words; another class, none, or the config changed or deleted: plain on/off (tryout 32)', () => {
    const h = harness({ presets: ['homeassistant', 'ha_statestream'] });
    h.send('homeassistant/binary_sensor/sink/config', { dev_cla: 'Moisture', stat_t: 'diy/sink' }, true);
    h.send('homeassistant/binary_sensor/door/config', { device_class: 'door', stat_t: 'diy/door' }, true);
    h.send('homeassistant/binary_sensor/fault/config', { device_class: 'problem', stat_t: 'diy/fault' }, true);
    // A config for statestream's own state topic: the stream the rule gives it.
    h.send('homeassistant/binary_sensor/co/config', { device_class: 'carbon_monoxide', state_topic: 'homeassistant/binary_sensor/co/state' }, true);
    expect(outcome(h.send('homeassistant/binary_sensor/hall/device_class', '"smoke"'))).toBe('skipped hub_topic');
    for (const [topic, stream] of [['diy/sink', 'sink'], ['diy/door', 'door'], ['diy/fault', 'fault'], ['homeassistant/binary_sensor/co/state', 'co'], ['homeassistant/binary_sensor/hall/state', 'hall']]) {
      expect(outcome(h.send(topic, topic.startsWith('diy/') ? 'OFF' : 'off'))).toBe(`${stream}=0`);
    }
    expect(h.p.onOffWords('sink')).toEqual({ on: 'leak', off: 'dry', alarm: true, active: 1 });
    expect(h.p.onOffWords('co')).toMatchObject({ on: 'carbon monoxide', alarm: true });
    expect(h.p.onOffWords('hall')).toMatchObject({ on: 'smoke', alarm: true });
    expect(h.p.onOffWords('door')).toMatchObject({ on: 'on', alarm: false });
    expect(h.p.onOffWords('fault')).toMatchObject({ on: 'on', alarm: false });
    // The class changed to one that is no alarm, the attribute cleared, the config deleted: plain again at the next reading.
    h.send('homeassistant/binary_sensor/sink/config', { dev_cla: 'opening', stat_t: 'diy/sink' }, true);
    h.send('homeassistant/binary_sensor/hall/device_class', '');
    h.send('homeassistant/binary_sensor/co/config', '', true);
    expect(outcome(h.send('diy/sink', 'OFF'))).toBe('sink=0');
    expect(outcome(h.send('homeassistant/binary_sensor/hall/state', 'off'))).toBe('hall=0');
    expect(outcome(h.send('homeassistant/binary_sensor/co/state', 'off'))).toBe('co=0');
    for (const s of ['sink', 'hall', 'co']) expect(h.p.onOffWords(s)).toMatchObject({ on: 'on', alarm: false });
  });

  it('a number entity reads as a sensor', () => {
    const h = harness();
    h.send('homeassistant/number/boiler/setpoint/config', { stat_t: 'boiler/setpoint', unit_of_meas: '°C' }, true);
    expect(outcome(h.send('boiler/setpoint', '57.5'))).toBe('boiler/setpoint=57.5');
  });

  it('an unreadable template: each state rejected unread_template, counted, told once naming the entity and the template', () => {
    const h = harness();
    h.send('homeassistant/sensor/th3/config', { stat_t: 'office/th3/state', unit_of_meas: '°C', val_tpl: '{{ value_json.t * 0.1 }}' }, true);
    h.send('homeassistant/sensor/th3/config', { stat_t: 'office/th3/state', unit_of_meas: '°C', val_tpl: '{{ value_json.t * 0.1 }}' }, true);
    expect(h.topics).toEqual(['office/th3/state']);
    const r = h.send('office/th3/state', '{"t": 215}');
    expect(outcome(r)).toBe('rejected unread_template');
    expect(r.kind === 'rejected' && r.rejection.sensor).toBe('th3');
    expect(r.kind === 'rejected' && r.rejection.detail).toContain('{{ value_json.t * 0.1 }}');
    expect(outcome(h.send('office/th3/state', '{"t": 216}'))).toBe('rejected unread_template');
    expect(h.problems).toHaveLength(1);
    expect(h.problems[0]).toContain('th3');
    expect(h.problems[0]).toContain('{{ value_json.t * 0.1 }}');
  });

  it('an emptied config deletes its entity: its topic unsubscribed when no entity is left, its messages no longer read', () => {
    const h = harness();
    h.send('homeassistant/sensor/th1/config', TH1, true);
    h.send('homeassistant/sensor/th1h/config', { ...TH1, unit_of_meas: '%', val_tpl: '{{ value_json.humidity }}' }, true);
    expect(outcome(h.send('office/th1/state', '{"temperature": 20, "humidity": 40}'))).toBe('th1=20 th1h=40');
    expect(outcome(h.send('homeassistant/sensor/th1/config', '', true))).toBe('skipped hub_topic');
    expect(h.topics).toEqual(['office/th1/state']);
    expect(outcome(h.send('office/th1/state', '{"temperature": 20, "humidity": 41}'))).toBe('th1h=41');
    h.send('homeassistant/sensor/th1h/config', '', true);
    expect(h.events).toEqual(['+office/th1/state', '-office/th1/state']);
    expect(outcome(h.send('office/th1/state', '{"temperature": 20, "humidity": 41}'))).toBe('rejected bad_topic');
  });

  it("the daemon's own configs, a wildcard state topic and a flood beyond ingest.maxStreams are not taken (bounded)", () => {
    const h = harness({ maxStreams: 3 });
    h.send('homeassistant/sensor/node1/anomalyd_x_score/config', { stat_t: 'anomalyd/state/x', unit_of_meas: '' }, true);
    expect(outcome(h.send('homeassistant/sensor/bad/config', { stat_t: 'office/+/state' }, true))).toBe('rejected bad_topic');
    for (let i = 0; i < 3; i++) h.send(`homeassistant/sensor/f${i}/config`, { stat_t: `flood/${i}` }, true);
    expect(outcome(h.send('homeassistant/sensor/f3/config', { stat_t: 'flood/3' }, true))).toBe('rejected too_many_streams');
    expect(outcome(h.send('homeassistant/sensor/f4/config', { stat_t: 'flood/4' }, true))).toBe('rejected too_many_streams');
    expect(h.topics).toEqual(['flood/0', 'flood/1', 'flood/2']);
    // The cap told once in all.
    expect(h.problems.filter((p) => p.includes('ingest.maxStreams'))).toHaveLength(1);
  });

  it('a retained state is not a reading (the preset takes live readings only)', () => {
    const h = harness();
    h.send('homeassistant/sensor/th1/config', TH1, true);
    expect(outcome(h.send('office/th1/state', '{"temperature": 20}', true))).toBe('rejected retained');
  });

  it('availability (tryout 25 #8, the rest): avty_t with pl_avail/pl_not_avail and `~`, the availability list with `t` and its own payloads, availability_mode; told as its device\'s word; the topics subscribed with the entity, unsubscribed with it', () => {
    const said: string[] = [];
    const topics: string[] = [];
    let t = NOW;
    const p = new MessageParser(
      parseOptionsOf(config(), { onAvailability: (device, online, topic) => said.push(`${device} ${online ? 'online' : 'offline'} ${topic}`) }, {
        onStateTopic: (topic, on) => (on ? topics.push(topic) : topics.splice(topics.indexOf(topic), 1)),
      }),
    );
    const send = (topic: string, payload: string | object, retain = false): ParseResult =>
      p.parse({ topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), receivedAt: (t += 1000), retain });
    const omg = { '~': 'home/OMG/', stat_t: '~th', val_tpl: '{{ value_json.t }}', avty_t: '~LWT', pl_avail: 'Online', pl_not_avail: 'Offline' };
    send('homeassistant/sensor/omg/temp/config', omg, true);
    send('homeassistant/sensor/omg/hum/config', { ...omg, val_tpl: '{{ value_json.h }}' }, true);
    expect(topics).toEqual(['home/OMG/th', 'home/OMG/LWT']);
    expect(outcome(send('home/OMG/LWT', 'Offline', true))).toBe('skipped hub_topic');
    expect(outcome(send('home/OMG/LWT', 'Online'))).toBe('skipped hub_topic');
    // A word that is neither says nothing (Home Assistant compares the payload exactly).
    send('home/OMG/LWT', 'offline');
    expect(said).toEqual(['omg offline home/OMG/LWT', 'omg online home/OMG/LWT']);
    said.length = 0;

    // The list form, full and abbreviated keys, each entry its own payloads (defaults online/offline), mode all.
    send('homeassistant/sensor/pump/config', { state_topic: 'shed/pump/flow', availability: [{ topic: 'shed/pump/status' }, { t: 'shed/gw/status', pl_avail: 'up', pl_not_avail: 'down', val_tpl: '{{ value_json.state }}' }], availability_mode: 'all' }, true);
    expect(topics).toContain('shed/gw/status');
    send('shed/pump/status', 'online');
    expect(said).toEqual([]);
    send('shed/gw/status', '{"state": "up"}');
    send('shed/gw/status', '{"state": "down"}');
    send('shed/pump/status', 'online');
    send('shed/gw/status', '{"state": "up"}');
    expect(said).toEqual(['pump online shed/gw/status', 'pump offline shed/gw/status', 'pump offline shed/pump/status', 'pump online shed/gw/status']);
    said.length = 0;
    // Mode any: one available is enough.
    send('homeassistant/sensor/pump/config', { state_topic: 'shed/pump/flow', avty: [{ t: 'shed/pump/status' }, { t: 'shed/gw/status', pl_avail: 'up', pl_not_avail: 'down' }], avty_mode: 'any' }, true);
    send('shed/gw/status', 'down');
    send('shed/pump/status', 'offline');
    expect(said).toEqual(['pump online shed/gw/status', 'pump offline shed/pump/status']);
    // A config moved off an availability topic: unsubscribed; its messages are no words any more.
    send('homeassistant/sensor/pump/config', { state_topic: 'shed/pump/flow' }, true);
    expect(topics).not.toContain('shed/gw/status');
    expect(outcome(send('shed/gw/status', 'down'))).toBe('rejected bad_topic');
    // The daemon's own topics are no device's word.
    send('homeassistant/sensor/x/config', { stat_t: 'x/state', avty_t: 'anomalyd/status' }, true);
    expect(topics).not.toContain('anomalyd/status');
  });

  it('the entities are told to be kept (onEntityConfig: taken, changed, deleted; not a replay) and given back before any config: a state first is read; status counts', () => {
    const rows = new Map<string, string>();
    const calls: string[] = [];
    const make = (): MessageParser =>
      new MessageParser(
        parseOptionsOf(config({ maxStreams: 3 }), {}, {
          onEntityConfig: (topic, payload) => {
            calls.push(`${topic} ${payload === null ? 'deleted' : 'kept'}`);
            if (payload === null) rows.delete(topic);
            else rows.set(topic, payload);
          },
        }),
      );
    let t = NOW;
    const send = (p: MessageParser, topic: string, payload: string | object, retain = false): ParseResult =>
      p.parse({ topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), receivedAt: (t += 1000), retain });
    const a = make();
    send(a, 'homeassistant/sensor/th1/config', TH1, true);
    send(a, 'homeassistant/sensor/th1/config', TH1, true);
    send(a, 'homeassistant/sensor/th3/config', { stat_t: 'office/th3/state', val_tpl: '{{ value_json.t * 0.1 }}' }, true);
    send(a, 'homeassistant/sensor/gone/config', { stat_t: 'x/gone' }, true);
    send(a, 'homeassistant/sensor/gone/config', '', true);
    send(a, 'homeassistant/sensor/junk/config', 'not json', true);
    send(a, 'homeassistant/sensor/f1/config', { stat_t: 'flood/1' }, true);
    send(a, 'homeassistant/sensor/f2/config', { stat_t: 'flood/2' }, true);
    expect(calls).toEqual([
      'homeassistant/sensor/th1/config kept',
      'homeassistant/sensor/th3/config kept',
      'homeassistant/sensor/gone/config kept',
      'homeassistant/sensor/gone/config deleted',
      'homeassistant/sensor/f1/config kept',
    ]);
    expect(a.discoveryTable()).toEqual({ entities: 2, streams: ['th1', 'f1'], units: 0, refused: { unread_template: 1, not_a_config: 1, too_many_streams: 1 } });

    // The next start: given back, a state before any config is read; a row no longer taken is returned.
    const b = make();
    calls.length = 0;
    const dropped = b.restoreEntityConfigs([...[...rows].map(([topic, payload]) => ({ topic, payload })), { topic: 'elsewhere/sensor/x/config', payload: '{"stat_t":"x"}' }], NOW);
    expect(dropped).toEqual(['elsewhere/sensor/x/config']);
    expect(outcome(send(b, 'office/th1/state', '{"temperature": 21.5}'))).toBe('th1=21.5');
    // The broker's replay of an unchanged config writes nothing.
    send(b, 'homeassistant/sensor/th1/config', TH1, true);
    expect(calls).toEqual([]);
  });

  it('expire_after / exp_aft (home-assistant.io, "MQTT Sensor": seconds without a state after which its state is unavailable): a live state then none for longer is its device\'s word that it is offline, at the moment it expired; a state makes it fresh; a retained one, or an entity with no state yet, does not count', () => {
    const said: string[] = [];
    const kept = new Map<string, string>();
    let t = NOW;
    const p = new MessageParser(
      parseOptionsOf(config(), { onAvailability: (device, online, topic, at, _retained, expired) => said.push(`${device} ${online ? 'online' : 'offline'} ${topic} ${at - NOW}${expired !== undefined ? ` expired ${expired.afterMs}` : ''}`) }, {
        onEntityAvailability: (topic, state) => kept.set(topic, state),
      }),
    );
    const send = (topic: string, payload: string | object, retain = false): ParseResult =>
      p.parse({ topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), receivedAt: (t += 1000), retain });
    // Two entities of one device on one state topic (60 s, abbreviated), one of another device (full key, 30 s), one without.
    send('homeassistant/sensor/omg/temp/config', { stat_t: 'home/OMG/th', val_tpl: '{{ value_json.t }}', exp_aft: 60 }, true);
    send('homeassistant/sensor/omg/hum/config', { stat_t: 'home/OMG/th', val_tpl: '{{ value_json.h }}', exp_aft: 60 }, true);
    send('homeassistant/sensor/th1/config', { ...TH1, expire_after: 30 }, true);
    send('homeassistant/sensor/th2/config', { stat_t: 'office/th2/state' }, true);
    // No state yet: nothing expires (Home Assistant counts from a state).
    p.judgeEntityExpiry(NOW + 3_600_000, NOW);
    expect(said).toEqual([]);
    // A retained state is no live one.
    send('office/th1/state', { temperature: 20 }, true);
    p.judgeEntityExpiry(NOW + 3_600_000, NOW);
    expect(said).toEqual([]);
    expect(outcome(send('home/OMG/th', { t: 21, h: 40 }))).toBe('omg/temp=21 omg/hum=40');
    const omgAt = t - NOW;
    expect(outcome(send('office/th1/state', { temperature: 20 }))).toBe('th1=20');
    const th1At = t - NOW;
    expect(outcome(send('office/th2/state', '5'))).toBe('th2=5');
    // Not longer than its expire_after yet: nothing; longer: its device offline at the moment it expired, once.
    p.judgeEntityExpiry(NOW + th1At + 30_000, NOW);
    expect(said).toEqual([]);
    p.judgeEntityExpiry(NOW + th1At + 30_001, NOW);
    p.judgeEntityExpiry(NOW + th1At + 40_000, NOW);
    expect(said).toEqual([`th1 offline office/th1/state ${th1At + 30_000} expired 30000`]);
    // A live state: fresh again, and expires again 30 s after it.
    send('office/th1/state', { temperature: 20.1 });
    p.judgeEntityExpiry(t + 20_000, NOW);
    expect(said).toHaveLength(1);
    // Both of omg's entities expire together: one word of the device. Counted from the connection's start at the
    // latest (a silence of anomalyd's own is none of the device's).
    p.judgeEntityExpiry(NOW + omgAt + 70_000, NOW + omgAt + 20_000);
    // (th1 again too: 30 s after the connection's start, which came after its last state.)
    expect(said.slice(1)).toEqual([`th1 offline office/th1/state ${omgAt + 20_000 + 30_000} expired 30000`]);
    p.judgeEntityExpiry(NOW + omgAt + 80_001, NOW + omgAt + 20_000);
    expect(said.slice(2)).toEqual([`omg offline home/OMG/th ${omgAt + 80_000} expired 60000`]);
    // Kept for the store: had states, expired.
    expect(JSON.parse(kept.get('homeassistant/sensor/omg/temp/config')!)).toEqual({ said: [], latest: null, hadState: true, expired: true });
    // An entity of the device still available by its availability topic: the device is not offline.
    said.length = 0;
    send('homeassistant/sensor/esp/a/config', { stat_t: 'esp/a', exp_aft: 10, avty_t: 'esp/status' }, true);
    send('homeassistant/sensor/esp/b/config', { stat_t: 'esp/b', avty_t: 'esp/status' }, true);
    send('esp/status', 'online');
    send('esp/a', '1');
    p.judgeEntityExpiry(t + 20_000, NOW);
    expect(said).toEqual([`esp online esp/status ${t - 1000 - NOW}`]);
  });

  it("an entity's availability state is kept (onEntityAvailability) and given back after a restart (restoreEntityAvailability): availability_mode any judged with every topic's word; an entity that had states expires counted from the connection's start", () => {
    const rows = new Map<string, { payload: string; availability: string | null }>();
    const said: string[] = [];
    let t = NOW;
    const make = (): MessageParser =>
      new MessageParser(
        parseOptionsOf(config(), { onAvailability: (device, online, topic, at, _r, expired) => said.push(`${device} ${online ? 'online' : 'offline'} ${topic}${expired !== undefined ? ` expired at ${at - NOW}` : ''}`) }, {
          onEntityConfig: (topic, payload) => (payload === null ? rows.delete(topic) : rows.set(topic, { payload, availability: rows.get(topic)?.availability ?? null })),
          onEntityAvailability: (topic, state) => {
            const row = rows.get(topic);
            if (row !== undefined) row.availability = state;
          },
        }),
      );
    const send = (p: MessageParser, topic: string, payload: string | object, retain = false): ParseResult =>
      p.parse({ topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), receivedAt: (t += 1000), retain });
    const PUMP = { state_topic: 'shed/pump/flow', availability: [{ topic: 'shed/pump/status' }, { t: 'shed/gw/status', pl_avail: 'up', pl_not_avail: 'down' }], availability_mode: 'any', expire_after: 120 };
    const a = make();
    send(a, 'homeassistant/sensor/pump/config', PUMP, true);
    send(a, 'shed/pump/status', 'online');
    send(a, 'shed/gw/status', 'down');
    send(a, 'shed/pump/flow', '3.1');
    expect(said).toEqual(['pump online shed/pump/status', 'pump online shed/gw/status']);
    expect(JSON.parse(rows.get('homeassistant/sensor/pump/config')!.availability!)).toEqual({ said: [['shed/pump/status', true], ['shed/gw/status', false]], latest: false, hadState: true, expired: false });

    // The restart (the embedded broker: no retained word survives it). The gateway says `down` again: the pump's own
    // `online` from before still stands, so with mode any it is available (without it: offline, a false episode).
    const b = make();
    said.length = 0;
    const restored = [...rows].map(([topic, r]) => ({ topic, ...r }));
    expect(b.restoreEntityConfigs(restored, t)).toEqual([]);
    b.restoreEntityAvailability(restored);
    send(b, 'shed/gw/status', 'down');
    expect(said).toEqual(['pump online shed/gw/status']);
    // No state since the restart (the pump died while anomalyd was stopped): it expires 120 s after the connection's start.
    const listening = t + 5_000;
    b.judgeEntityExpiry(listening + 120_000, listening);
    expect(said).toHaveLength(1);
    send(b, 'shed/pump/status', 'offline');
    said.length = 0;
    b.judgeEntityExpiry(listening + 120_001, listening);
    expect(said).toEqual([`pump offline shed/pump/flow expired at ${listening + 120_000 - NOW}`]);
    // A parser given nothing back judges nothing of an entity with no state in its run.
    const c = make();
    c.restoreEntityConfigs(restored.map((r) => ({ topic: r.topic, payload: r.payload })), t);
    said.length = 0;
    c.judgeEntityExpiry(listening + 3_600_000, listening);
    expect(said).toEqual([]);
  });
});
