import { describe, expect, it } from 'vitest';
import { resolveMqttConnection } from '../../src/config/derived.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';

function config(patch: { broker?: Partial<Config['broker']>; mqtt?: Partial<Config['mqtt']> }): Config {
  const base = defaultConfig();
  return { ...base, broker: { ...base.broker, ...patch.broker }, mqtt: { ...base.mqtt, ...patch.mqtt } };
}

describe('resolveMqttConnection', () => {
  it('defaults to the embedded broker and a host-based client id', () => {
    const c = resolveMqttConnection(defaultConfig(), 'pi-kitchen');
    expect(c.url).toBe(`mqtt://127.0.0.1:${defaultConfig().broker.port}`);
    expect(c.clientId).toBe('anomalyd-pi-kitchen');
    expect(c.username).toBeNull();
  });

  it('connects to loopback when the broker binds every interface, on the port actually bound', () => {
    expect(resolveMqttConnection(config({ broker: { host: '0.0.0.0', port: 0 } }), 'h', 41234).url).toBe('mqtt://127.0.0.1:41234');
    expect(resolveMqttConnection(config({ broker: { host: '::1' } }), 'h').url).toBe('mqtt://[::1]:1883');
  });

  it('logs in to the embedded broker as the daemon, never with the sensors\' or mqtt credentials', () => {
    const auth = config({ broker: { username: 'sensors', password: 'pw' }, mqtt: { username: 'det', password: 'x' } });
    expect(resolveMqttConnection(auth, 'h')).toMatchObject({ username: null, password: null });
    const login = { username: 'anomalyd-daemon', password: 'made-up-at-start' };
    expect(resolveMqttConnection(auth, 'h', 1883, login)).toMatchObject(login);
  });

  it('uses an external URL and its own credentials as given', () => {
    const ext = config({ broker: { enabled: false, username: 'b', password: 'b' }, mqtt: { url: 'mqtts://m:8883', username: 'u', clientId: 'fixed' } });
    expect(resolveMqttConnection(ext, 'h')).toEqual({ url: 'mqtts://m:8883', username: 'u', password: null, clientId: 'fixed' });
  });
});
