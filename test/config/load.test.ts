import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { leaves, dotted } from '../../src/config/dsl.js';
import { loadConfig, PACKAGE_DEFAULT_CONFIG, type LoadResult } from '../../src/config/load.js';
import { defaultConfig, schema, type Config } from '../../src/config/schema.js';
import { tempDir, yamlFile } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function errorsOf(result: LoadResult): readonly string[] {
  if (result.ok) throw new Error('expected the config to be invalid');
  return result.errors;
}

function configOf(result: LoadResult): Config {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function loadYaml(text: string): LoadResult {
  return loadConfig({ path: yamlFile(text), env: {} });
}

describe('defaults', () => {
  it('the schema defaults pass their own checks and rules', () => {
    const empty = yamlFile('');
    expect(configOf(loadConfig({ path: empty, env: {} }))).toEqual(defaultConfig());
  });

  it('config/default.yaml holds exactly the schema defaults', () => {
    const result = loadConfig({ path: join(repoRoot, 'config/default.yaml'), env: {} });
    expect(configOf(result)).toEqual(defaultConfig());
  });

  it('is what loads when no path and no ANOMALYD_CONFIG are given', () => {
    const result = loadConfig({ env: {} });
    expect(result.file).toBe(PACKAGE_DEFAULT_CONFIG);
    expect(configOf(result)).toEqual(defaultConfig());
  });

  it('a file with an empty section (all keys commented out) keeps the defaults', () => {
    expect(configOf(loadYaml('window:\n  # length: 32\n'))).toEqual(defaultConfig());
  });

  it('the example configs are valid', () => {
    for (const name of ['external-mosquitto.yaml', 'lan-sensors.yaml', 'home-assistant.yaml']) {
      const config = configOf(loadConfig({ path: join(repoRoot, 'config/examples', name), env: {} }));
      expect(config.mqtt.clean).toBe(false);
    }
  });
});

describe('file values', () => {
  it('merges the file over the defaults, section by section', () => {
    const config = configOf(loadYaml('window:\n  length: 128\nmqtt:\n  url: mqtts://broker.lan:8883\nbroker:\n  enabled: false\n'));
    expect(config.window.length).toBe(128);
    expect(config.window.hop).toBe(defaultConfig().window.hop);
    expect(config.mqtt.url).toBe('mqtts://broker.lan:8883');
    expect(config.broker.enabled).toBe(false);
  });

  it('a list replaces the default list', () => {
    const config = configOf(loadYaml('ingest:\n  topics: ["plant/+/temp", "plant/+/hum"]\n  sensorPattern: "plant/{sensor}/#"\n'));
    expect(config.ingest.topics).toEqual(['plant/+/temp', 'plant/+/hum']);
  });

  it('reports every mistake at once, one path: message line each', () => {
    const errors = errorsOf(loadYaml('window:\n  length: 1.5\nlog:\n  level: verbose\nscore:\n  treshold: 0.99\n'));
    expect(errors).toHaveLength(3);
    expect(errors.some((e) => e.startsWith('window.length: '))).toBe(true);
    expect(errors.some((e) => e.startsWith('log.level: '))).toBe(true);
    expect(errors.some((e) => e.startsWith('score.treshold: '))).toBe(true);
    for (const e of errors) expect(e).toMatch(/^[\w.]+: \S/);
  });

  it.each([
    ['window:\n  length: 1\n', 'window.length', /between 2 and 4096/],
    ['window:\n  length: "64"\n', 'window.length', /integer/],
    ['broker:\n  port: 70000\n', 'broker.port', /between/],
    ['score:\n  threshold: 1.5\n', 'score.threshold', /between/],
    ['score:\n  mode: both-ways\n', 'score.mode', /one of "reconstruction", "prediction", "both"/],
    ['mqtt:\n  qos: 2\n', 'mqtt.qos', /one of 0, 1/],
    ['mqtt:\n  qos: "1"\n', 'mqtt.qos', /one of/],
    ['mqtt:\n  clean: "no"\n', 'mqtt.clean', /true or false/],
    ['mqtt:\n  url: http://broker\n', 'mqtt.url', /mqtt:\/\/ or mqtts:\/\//],
    ['mqtt:\n  url: not a url\n', 'mqtt.url', /URL/],
    ['mqtt:\n  topicPrefix: anomalyd/#\n', 'mqtt.topicPrefix', /wildcards/],
    ['mqtt:\n  username: ""\n', 'mqtt.username', /empty/],
    ['ingest:\n  topics: []\n', 'ingest.topics', /at least 1/],
    ['ingest:\n  topics: ["a/#/b"]\n', 'ingest.topics', /#/],
    ['ingest:\n  topics: sensors/#\n', 'ingest.topics', /list/],
    ['ingest:\n  sensorPattern: sensors/x\n', 'ingest.sensorPattern', /\{sensor\}/],
    ['ingest:\n  sensorPattern: "s/{sensor}/{sensor}"\n', 'ingest.sensorPattern', /exactly once/],
    ['ingest:\n  longBurst: drop\n', 'ingest.longBurst', /one of/],
    ['model:\n  name: ../etc/passwd\n', 'model.name', /without a path/],
    ['window: 64\n', 'window', /mapping/],
    ['dataDir: null\n', 'dataDir', /string/],
  ])('%j is rejected at %s', (text, path, message) => {
    const errors = errorsOf(loadYaml(text));
    expect(errors).toHaveLength(1);
    expect(errors[0].startsWith(`${path}: `)).toBe(true);
    expect(errors[0]).toMatch(message);
  });

  it('accepts the ends of a range', () => {
    const config = configOf(loadYaml('window:\n  length: 4096\n  hop: 4096\nbroker:\n  port: 0\nscore:\n  threshold: 0.999999999\n'));
    expect([config.window.length, config.window.hop, config.broker.port, config.score.threshold]).toEqual([4096, 4096, 0, 0.999999999]);
  });

  it('suggests the intended key for a typo', () => {
    const [error] = errorsOf(loadYaml('window:\n  lenght: 32\n'));
    expect(error).toBe('window.lenght: unknown key; did you mean "length"?');
  });

  it('suggests the right section for a key put in the wrong one', () => {
    const [error] = errorsOf(loadYaml('window:\n  threshold: 0.99\n'));
    expect(error).toContain('did you mean "score.threshold"?');
  });

  it('lists the valid keys when nothing is close', () => {
    const [error] = errorsOf(loadYaml('log:\n  colourful: true\n'));
    expect(error).toMatch(/^log\.colourful: unknown key \(valid keys: level, format\)$/);
  });

  it('reports YAML syntax errors with file, line and column', () => {
    const path = yamlFile('window:\n  length: 64\n  length: 32\n');
    const errors = errorsOf(loadConfig({ path, env: {} }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: YAML `));
  });

  it('refuses a file that is not a mapping', () => {
    expect(errorsOf(loadYaml('- a\n- b\n'))).toEqual(['(root): must be a mapping of settings, got a list']);
  });

  it('a missing explicit file is an error, not a silent fallback to defaults', () => {
    const missing = join(tempDir(), 'nope.yaml');
    const errors = errorsOf(loadConfig({ path: missing, env: {} }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(missing);
  });

  it('takes the file from ANOMALYD_CONFIG when no path is given, relative to cwd', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'my.yaml'), 'window:\n  hop: 8\n');
    const result = loadConfig({ env: { ANOMALYD_CONFIG: 'my.yaml' }, cwd: dir });
    expect(result.file).toBe(join(dir, 'my.yaml'));
    expect(configOf(result).window.hop).toBe(8);
  });

  it('an explicit path wins over ANOMALYD_CONFIG', () => {
    const path = yamlFile('window:\n  hop: 4\n');
    const result = loadConfig({ path, env: { ANOMALYD_CONFIG: '/nonexistent.yaml' } });
    expect(configOf(result).window.hop).toBe(4);
  });
});

describe('rules across settings', () => {
  // A new user's tryout (session 29), finding 1: what a training reads and the database keeps (learning.maxReadings
  // per sensor) is never fewer than what learning needs.
  it('learning.minReadings must not exceed learning.maxReadings', () => {
    expect(errorsOf(loadYaml('learning:\n  minReadings: 60000\n'))).toEqual([
      'learning.minReadings: must be at most learning.maxReadings (50000), got 60000: a training reads at most learning.maxReadings readings of a sensor, and the database keeps no more',
    ]);
    expect(loadYaml('learning:\n  minReadings: 60000\n  maxReadings: 60000\n').ok).toBe(true);
  });

  it('hop must not exceed length', () => {
    expect(errorsOf(loadYaml('window:\n  length: 16\n  hop: 32\n'))).toEqual([
      'window.hop: must be at most window.length (16), got 32',
    ]);
  });

  it('is not checked against a value that is itself invalid', () => {
    // length is wrong; a second complaint about hop vs the default length would be noise.
    const errors = errorsOf(loadYaml('window:\n  length: 0\n  hop: 100\n'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^window\.length: /);
  });

  it('broker credentials come in pairs', () => {
    expect(errorsOf(loadYaml('broker:\n  username: u\n'))).toEqual(['broker.password: is required when broker.username is set']);
    expect(errorsOf(loadYaml('broker:\n  password: pppppppppppppppp\n'))).toEqual(['broker.username: is required when broker.password is set']);
  });

  it('mqtt.password requires mqtt.username, not the other way round', () => {
    expect(errorsOf(loadYaml('mqtt:\n  password: pppppppppppppppp\n'))).toEqual(['mqtt.username: is required when mqtt.password is set']);
    expect(configOf(loadYaml('mqtt:\n  username: u\n')).mqtt.username).toBe('u');
  });

  it('without the embedded broker a URL is required', () => {
    expect(errorsOf(loadYaml('broker:\n  enabled: false\n'))).toEqual(['mqtt.url: is required when broker.enabled is false']);
  });

  it('smooth must not exceed adaptiveHorizon, nor that horizon; checkpoints must outlive their interval', () => {
    const errors = errorsOf(loadYaml('score:\n  smooth: 100\n  adaptiveHorizon: 50\n  horizon: 40\nstore:\n  checkpointIntervalMs: 10000\n  checkpointMaxAgeMs: 5000\n'));
    expect(errors.map((e) => e.split(':')[0]).sort()).toEqual(['score.adaptiveHorizon', 'score.smooth', 'store.checkpointMaxAgeMs']);
  });
});

describe('TLS files', () => {
  it('must exist, relative to cwd, and are only for mqtts', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), 'not checked beyond existence');
    const base = 'mqtt:\n  url: mqtts://broker:8883\n';
    const ok = loadConfig({ path: yamlFile(`${base}  ca: ca.pem\n`), env: {}, cwd: dir });
    expect(configOf(ok).mqtt.ca).toBe('ca.pem');

    const missing = errorsOf(loadConfig({ path: yamlFile(`${base}  ca: missing.pem\n`), env: {}, cwd: dir }));
    expect(missing).toEqual([`mqtt.ca: file not found: ${join(dir, 'missing.pem')}`]);

    const plain = errorsOf(loadConfig({ path: yamlFile('mqtt:\n  url: mqtt://broker\n  ca: ca.pem\n'), env: {}, cwd: dir }));
    expect(plain).toEqual(['mqtt.ca: only applies to an mqtts:// mqtt.url']);
  });

  it('a directory is not a certificate file', () => {
    const dir = tempDir();
    const errors = errorsOf(loadConfig({ path: yamlFile(`mqtt:\n  url: mqtts://b\n  ca: ${dir}\n`), env: {} }));
    expect(errors).toEqual([`mqtt.ca: file not found: ${dir}`]);
  });

  it('cert and key come together', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.pem'), 'x');
    const errors = errorsOf(loadConfig({ path: yamlFile('mqtt:\n  url: mqtts://b\n  cert: c.pem\n'), env: {}, cwd: dir }));
    expect(errors).toEqual(['mqtt.key: is required when mqtt.cert is set']);
  });
});

describe('overrides', () => {
  it('win over file and environment and are checked like the rest', () => {
    const path = yamlFile('window:\n  hop: 8\n');
    const result = loadConfig({ path, env: { ANOMALYD__WINDOW__HOP: '4' }, overrides: { window: { hop: 2 } } });
    expect(configOf(result).window.hop).toBe(2);
    const bad = errorsOf(loadConfig({ path, env: {}, overrides: { window: { hop: 0 } } }));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/^override window\.hop: must be between 1 and 4096/);
  });
});

describe('version', () => {
  it('a file without version is the current version', () => {
    expect(configOf(loadYaml('dataDir: /tmp/x\n')).version).toBe(2);
  });

  it('refuses a file from a newer anomalyd', () => {
    const errors = errorsOf(loadYaml('version: 3\n'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^version: 3 is newer/);
  });

  it('migrates a version 1 file: the millisecond and per-window settings are dropped, the rest keeps its meaning', () => {
    const config = configOf(
      loadYaml('version: 1\nwindow:\n  hop: 8\n  gapResetMs: 300000\n  maxFillSteps: 5\nscore:\n  threshold: 0.99\n  shortWindow: 3\nalerts:\n  openAfter: 2\n  maxEpisodeMs: 1800000\n  cooldownMs: 60000\n'),
    );
    expect(config.version).toBe(2);
    expect([config.window.hop, config.score.threshold, config.alerts.openAfter]).toEqual([8, 0.99, 2]);
    expect(config.window.resetAfter).toBe(64);
    expect(config.alerts.newNormalAfter).toBe(1000);
  });

  it('refuses a version that is not a positive integer', () => {
    expect(errorsOf(loadYaml('version: "one"\n'))[0]).toMatch(/^version: must be an integer/);
    expect(errorsOf(loadYaml('version: 0\n'))[0]).toMatch(/^version: must be at least 1/);
  });
});

describe('the result', () => {
  it('is deeply frozen', () => {
    const config = configOf(loadYaml('ingest:\n  topics: ["a/#"]\n  sensorPattern: "a/{sensor}"\n'));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.window)).toBe(true);
    expect(Object.isFrozen(config.ingest.topics)).toBe(true);
    expect(() => {
      (config.window as { length: number }).length = 3;
    }).toThrow(TypeError);
  });

  it('does not freeze or share the caller’s overrides', () => {
    const topics = ['x/#'];
    const config = configOf(loadConfig({ path: yamlFile(''), env: {}, overrides: { ingest: { topics, sensorPattern: 'x/{sensor}' } } }));
    expect(Object.isFrozen(topics)).toBe(false);
    expect(config.ingest.topics).not.toBe(topics);
  });

  it('has a value for every leaf of the schema', () => {
    const config = configOf(loadYaml(''));
    for (const { path } of leaves(schema)) {
      const value = path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
      expect(value, dotted(path)).not.toBeUndefined();
    }
  });
});

describe('the Config type', () => {
  it('is inferred from the schema with literal unions and readonly fields', () => {
    // Checked by tsc (npm run typecheck); expectTypeOf does nothing at run time.
    expectTypeOf<Config['window']['length']>().toEqualTypeOf<number>();
    expectTypeOf<Config['mqtt']['url']>().toEqualTypeOf<string | null>();
    expectTypeOf<Config['mqtt']['qos']>().toEqualTypeOf<0 | 1>();
    expectTypeOf<Config['model']['cell']>().toEqualTypeOf<'gru' | 'lstm'>();
    expectTypeOf<Config['ingest']['topics']>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<Config['version']>().toEqualTypeOf<2>();
    const config = defaultConfig();
    expect(() => {
      // @ts-expect-error fields are readonly
      config.window.length = 1;
    }).toThrow(TypeError);
  });
});
