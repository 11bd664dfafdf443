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
import { PRESET_NAMES, PRESETS } from '../../src/config/presets.js';

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
    expect(ingestFilters(config({ presets: ['tasmota', 'esphome'] }))).toEqual(['sensors/#', 'tele/+/SENSOR', '+/sensor/+/state']);
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
    const own = p.parse(msg('homeassistant/sensor/anomalyd_x_score/state', '0.5'));
    expect(own.kind === 'rejected' && own.rejection.reason).toBe('bad_topic');
  });

  it("every preset takes a hub's nan (any case) as a missing reading, as ESPHome's always was; without a preset it is non_finite", () => {
    // Tryout: Tasmota's "Power":"nan" was rejected non_finite while ESPHome's nan was a missing reading.
    const tasmota = parserFor({ presets: ['tasmota'] });
    const t = tasmota.parse(msg('tele/plug/SENSOR', '{"Time":"2026-11-30T10:00:00","ENERGY":{"Total":0.052,"Power":"nan","Voltage":"NaN","Current":0.1}}'));
    expect(readings(t).map((r) => r.sensor).sort()).toEqual(['plug/ENERGY.Current', 'plug/ENERGY.Total']);
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
