import { describe, expect, it } from 'vitest';
import { leaves } from '../../src/config/dsl.js';
import { maskSecrets } from '../../src/config/mask.js';
import { defaultConfig, schema, type Config } from '../../src/config/schema.js';

function withMqtt(patch: Partial<Config['mqtt']>): Config {
  const base = defaultConfig();
  return { ...base, mqtt: { ...base.mqtt, ...patch } };
}

describe('maskSecrets', () => {
  it('masks every leaf marked secret when set, and leaves unset ones null', () => {
    const secretPaths = leaves(schema).filter((e) => e.leaf.secret).map((e) => e.path.join('.'));
    expect(secretPaths).toEqual(expect.arrayContaining(['broker.password', 'mqtt.password']));
    const config = withMqtt({ username: 'u', password: 'pw', key: '/etc/k.pem' });
    const masked = maskSecrets(config);
    expect(masked.mqtt.password).toBe('***');
    expect(masked.mqtt.key).toBe('/etc/k.pem');
    expect(masked.broker.password).toBeNull();
    expect(masked.mqtt.username).toBe('u');
  });

  it('hides only the password part of a URL', () => {
    const masked = maskSecrets(withMqtt({ url: 'mqtts://user:pa55@host:8883' }));
    expect(masked.mqtt.url).not.toContain('pa55');
    expect(new URL(masked.mqtt.url ?? '').username).toBe('user');
    expect(new URL(masked.mqtt.url ?? '').host).toBe('host:8883');
    expect(maskSecrets(withMqtt({ url: 'mqtt://host:1883' })).mqtt.url).toBe('mqtt://host:1883');
  });

  it('does not change its input', () => {
    const config = withMqtt({ username: 'u', password: 'pw' });
    maskSecrets(config);
    expect(config.mqtt.password).toBe('pw');
  });
});
