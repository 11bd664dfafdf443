// Field mapping in the config: rule and group checks, rules that can never match, the group / model channel check.
import { describe, expect, it } from 'vitest';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { loadConfig } from '../../src/config/load.js';
import { covers, topicTemplateProblem } from '../../src/config/ingest-rules.js';
import { compileTopicTemplate } from '../../src/pipeline/topic.js';
import { yamlFile } from './helpers.js';

function check(yaml: string): { code: number; err: string } {
  let err = '';
  const code = checkConfigCommand(['--config', yamlFile(yaml)], { stdout: () => undefined, stderr: (s) => (err += s), env: {} });
  return { code, err };
}

describe('ingest.rules, ingest.presets, ingest.groups in the config', () => {
  it('accepts presets, rules and a timezone, and fills nothing in silently', () => {
    const r = loadConfig({
      path: yamlFile(
        'ingest:\n  presets: [zigbee2mqtt, tasmota]\n  timezone: Europe/Berlin\n  rules:\n    - topics: ["rtl_433/+/events"]\n      sensorFields: [model, id]\n      decimal: ","\n',
      ),
      env: {},
    });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.ingest.rules[0]).toEqual({ topics: ['rtl_433/+/events'], sensorFields: ['model', 'id'], decimal: ',' });
  });

  it('reports bad presets, rule keys, templates and zones at once, each with its path', () => {
    const { code, err } = check(
      'ingest:\n  presets: [zigbe2mqtt]\n  timezone: Mars/Olympus\n  rules:\n    - topics: ["tele/+/SENSOR"]\n    - topics: ["a/{sensor}"]\n      timeunit: s\n',
    );
    expect(code).toBe(2);
    expect(err).toMatch(/ingest\.presets: item 0 \("zigbe2mqtt"\) is not a preset; did you mean "zigbee2mqtt"\?/);
    expect(err).toMatch(/ingest\.timezone: unknown time zone "Mars\/Olympus"/);
    expect(err).toMatch(/ingest\.rules: item 0: invalid sensor topic pattern "tele\/\+\/SENSOR".*sensorFields/);
  });

  it('names a rule that can never match and the rule that takes its topics first', () => {
    const { code, err } = check('ingest:\n  rules:\n    - topics: ["home/{sensor}/#"]\n      name: all\n    - topics: ["home/{sensor}/temp"]\n');
    expect(code).toBe(2);
    expect(err).toContain('ingest.rules[1]: can never match: every topic of it is read first by ingest.rules[0] ("home/{sensor}/#")');
    const shadowedByPreset = check('ingest:\n  presets: [tasmota]\n  rules:\n    - topics: ["tele/{sensor}/SENSOR"]\n');
    expect(shadowedByPreset.code).toBe(0); // rules come before presets: this one wins
  });

  it('fails a channel group whose model takes another number of channels, naming the group and the model', () => {
    const { code, err } = check('ingest:\n  groups:\n    - name: pump\n      sensors: "pump-*"\n      fields: [pressure, flow]\nmodel:\n  dir: models\n  cell: gru\n');
    expect(code).toBe(2);
    expect(err).toContain('ingest.groups[0]: group pump has 2 fields (pressure, flow) but model gru takes 1 channel(s)');
    const missing = check('ingest:\n  groups:\n    - name: pump\n      sensors: "pump-*"\n      fields: [pressure, flow]\n      model: pump2\nmodel:\n  dir: models\n');
    expect(missing.err).toMatch(/group pump: model pump2 cannot be read/);
  });

  it('checks topic templates exactly as the matcher compiles them', () => {
    const templates = ['a/{sensor}', '{sensor}/sensor/{field}/state', 'a/+/b', 'a/#', 'a/{sensor}/#', '#', '', 'a/#/b', 'a/x+', 'a/{sensor}/{sensor}', 'a/{field}/{field}/{sensor}', 'a/{sens}', 'a/{sensor}x', 'a//{sensor}', 'a/{sensor#}', '{sensor#}/sensor/{field}/state', 'a/{sensor#}/#', 'a/{sensor#}/{sensor}', '{sensor#}/{sensor#}', 'a/x{sensor#}', 'a/{sensor+}'];
    for (const t of templates) {
      for (const required of [true, false]) {
        let compiles = true;
        try {
          compileTopicTemplate(t, required);
        } catch {
          compiles = false;
        }
        expect(topicTemplateProblem(t, required) === null, `${t} (sensor ${required ? 'required' : 'optional'})`).toBe(compiles);
      }
    }
  });

  it('knows which templates cover others', () => {
    expect(covers('home/#', 'home/{sensor}/temp')).toBe(true);
    expect(covers('+/sensor/+/state', 'esp/sensor/{field}/state')).toBe(true);
    expect(covers('home/{sensor}', 'home/{sensor}/temp')).toBe(false);
    expect(covers('home/x/temp', 'home/{sensor}/temp')).toBe(false);
    expect(covers('a/#', 'a')).toBe(true);
    expect(covers('zigbee2mqtt/{sensor#}', 'zigbee2mqtt/{sensor}')).toBe(true);
    expect(covers('zigbee2mqtt/{sensor#}', 'zigbee2mqtt/{sensor}/#')).toBe(true);
    expect(covers('zigbee2mqtt/{sensor}', 'zigbee2mqtt/{sensor#}')).toBe(false);
    expect(covers('{sensor#}/sensor/{field}/state', 'a/sensor/{field}/state')).toBe(false);
  });

  it('check-config: a multi-level {sensor#} passes; with a # level it fails, saying why (tryout 13 #2)', () => {
    expect(check('ingest:\n  rules:\n    - topics: ["zigbee2mqtt/{sensor#}"]\n      ignoreTopics: ["zigbee2mqtt/bridge/*"]\n      time: none\n').code).toBe(0);
    const bad = check('ingest:\n  rules:\n    - topics: ["zigbee2mqtt/{sensor#}/#"]\n');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("'{sensor#}' takes the rest of the topic itself: drop the '#' level");
  });
});
