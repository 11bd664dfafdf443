import { describe, expect, it } from 'vitest';
import { dotted, leaves } from '../../src/config/dsl.js';
import { envNameOf } from '../../src/config/env.js';
import { loadConfig, type LoadResult } from '../../src/config/load.js';
import { schema, type Config } from '../../src/config/schema.js';
import { yamlFile } from './helpers.js';

function withEnv(env: NodeJS.ProcessEnv, fileText = ''): LoadResult {
  return loadConfig({ path: yamlFile(fileText), env });
}

function configOf(result: LoadResult): Config {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function errorsOf(result: LoadResult): readonly string[] {
  if (result.ok) throw new Error('expected the config to be invalid');
  return result.errors;
}

describe('derived env names', () => {
  it('are ANOMALYD__ + sections and keys in SCREAMING_SNAKE_CASE', () => {
    expect(envNameOf(['window', 'length'])).toBe('ANOMALYD__WINDOW__LENGTH');
    expect(envNameOf(['mqtt', 'keepaliveSec'])).toBe('ANOMALYD__MQTT__KEEPALIVE_SEC');
    expect(envNameOf(['dataDir'])).toBe('ANOMALYD__DATA_DIR');
  });

  it('are unique across the schema', () => {
    const names = leaves(schema).map((e) => envNameOf(e.path));
    expect(new Set(names).size).toBe(names.length);
  });

  it('reach every setting except the version', () => {
    // Set each scalar to its default through env; every one must be accepted.
    const env: NodeJS.ProcessEnv = {};
    for (const { path, leaf } of leaves(schema)) {
      if (dotted(path) === 'version') continue;
      const value: unknown = leaf.default;
      env[envNameOf(path)] = Array.isArray(value) ? JSON.stringify(value) : String(value);
    }
    const result = withEnv(env);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});

describe('env overrides', () => {
  it('the generic form is parsed by the setting’s type and wins over the file', () => {
    const config = configOf(
      withEnv(
        {
          ANOMALYD__WINDOW__LENGTH: '128',
          ANOMALYD__SCORE__THRESHOLD: '0.995',
          ANOMALYD__MQTT__CLEAN: 'true',
          ANOMALYD__MQTT__QOS: '0',
          ANOMALYD__SCORE__MODE: 'both',
          ANOMALYD__INGEST__TOPICS: 'a/#, b/+/c',
          ANOMALYD__INGEST__SENSOR_PATTERN: '+/{sensor}/#',
        },
        'window:\n  length: 32\n',
      ),
    );
    expect(config.window.length).toBe(128);
    expect(config.score.threshold).toBe(0.995);
    expect(config.mqtt.clean).toBe(true);
    expect(config.mqtt.qos).toBe(0);
    expect(config.score.mode).toBe('both');
    expect(config.ingest.topics).toEqual(['a/#', 'b/+/c']);
  });

  it('lists may be given as a JSON array', () => {
    expect(configOf(withEnv({ ANOMALYD__INGEST__TOPICS: '["x/#"]', ANOMALYD__INGEST__SENSOR_PATTERN: 'x/{sensor}' })).ingest.topics).toEqual([
      'x/#',
    ]);
  });

  it('the short aliases set the common settings', () => {
    const config = configOf(
      withEnv({
        ANOMALYD_MQTT_URL: 'mqtt://10.0.0.5:1883',
        ANOMALYD_DATA_DIR: '/var/lib/anomalyd',
        ANOMALYD_LOG_LEVEL: 'debug',
        ANOMALYD_BROKER_HOST: '0.0.0.0',
        ANOMALYD_BROKER_PORT: '1884',
        ANOMALYD_MQTT_USERNAME: 'det',
        ANOMALYD_MQTT_PASSWORD: 's3cret-s3cret-s3cret',
      }),
    );
    expect(config.mqtt.url).toBe('mqtt://10.0.0.5:1883');
    expect(config.dataDir).toBe('/var/lib/anomalyd');
    expect(config.log.level).toBe('debug');
    expect(config.broker.host).toBe('0.0.0.0');
    expect(config.broker.port).toBe(1884);
    expect(config.mqtt.username).toBe('det');
    expect(config.mqtt.password).toBe('s3cret-s3cret-s3cret');
  });

  it('an empty variable is unset; the word null unsets a nullable setting', () => {
    const config = configOf(withEnv({ ANOMALYD__WINDOW__HOP: '', ANOMALYD__MQTT__CLIENT_ID: 'null' }, 'mqtt:\n  clientId: pi-1\n'));
    expect(config.window.hop).toBe(16);
    expect(config.mqtt.clientId).toBeNull();
  });

  it.each([
    ['ANOMALYD__WINDOW__LENGTH', 'sixty-four', /must be an integer/],
    ['ANOMALYD__WINDOW__LENGTH', '12.5', /must be an integer/],
    ['ANOMALYD__WINDOW__LENGTH', '0x40', /must be an integer/],
    ['ANOMALYD__WINDOW__LENGTH', '1', /between 2 and 4096/],
    ['ANOMALYD__MQTT__CLEAN', 'maybe', /true or false/],
    ['ANOMALYD__LOG__LEVEL', 'loud', /one of/],
    ['ANOMALYD_BROKER_PORT', '-1', /between 0 and 65535/],
    ['ANOMALYD__SCORE__THRESHOLD', 'high', /must be a number/],
    ['ANOMALYD__INGEST__TOPICS', '["x/#"', /JSON array/],
  ])('%s=%j is reported as env %s', (name, value, message) => {
    const errors = errorsOf(withEnv({ [name]: value }));
    expect(errors).toHaveLength(1);
    expect(errors[0].startsWith(`env ${name}: `)).toBe(true);
    expect(errors[0]).toMatch(message);
  });

  it('reports env and file problems together', () => {
    const errors = errorsOf(withEnv({ ANOMALYD__WINDOW__HOP: 'x', ANOMALYD__MQTT__QOS: '2' }, 'log:\n  level: loud\n'));
    expect(errors.map((e) => e.split(':')[0]).sort()).toEqual(['env ANOMALYD__MQTT__QOS', 'env ANOMALYD__WINDOW__HOP', 'log.level']);
  });

  it('an unknown ANOMALYD__ variable is an error with a suggestion', () => {
    expect(errorsOf(withEnv({ ANOMALYD__WINDOW__LENGHT: '32' }))).toEqual([
      'env ANOMALYD__WINDOW__LENGHT: unknown setting; did you mean ANOMALYD__WINDOW__LENGTH?',
    ]);
  });

  it('other ANOMALYD_ variables are left alone', () => {
    expect(configOf(withEnv({ ANOMALYD_SOMETHING_ELSE: 'x', ANOMALYD_CONFIG: '' })).window.length).toBe(64);
  });

  it('alias and generic form must agree when both are set', () => {
    const same = configOf(withEnv({ ANOMALYD_LOG_LEVEL: 'warn', ANOMALYD__LOG__LEVEL: 'warn' }));
    expect(same.log.level).toBe('warn');
    const errors = errorsOf(withEnv({ ANOMALYD_LOG_LEVEL: 'warn', ANOMALYD__LOG__LEVEL: 'debug' }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^env ANOMALYD_LOG_LEVEL: conflicts with ANOMALYD__LOG__LEVEL/);
  });

  it('cannot change the file format version', () => {
    expect(errorsOf(withEnv({ ANOMALYD__VERSION: '1' }))[0]).toMatch(/^env ANOMALYD__VERSION: unknown setting/);
  });

  it('takes part in rules across settings', () => {
    expect(errorsOf(withEnv({ ANOMALYD__WINDOW__HOP: '100' }))).toEqual(['window.hop: must be at most window.length (64), got 100']);
  });
});
