import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { isLoopbackHost, MIN_SECRET_CHARS } from '../../src/config/exposure.js';
import { waivedExposure } from '../../src/config/schema.js';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { runCommand } from '../../src/cli/run.js';
import { yamlFile } from './helpers.js';

const LONG = 'x'.repeat(MIN_SECRET_CHARS);

function errorsOf(yaml: string): readonly string[] {
  const res = loadConfig({ path: yamlFile(yaml), env: {} });
  return res.ok ? [] : res.errors;
}

function checkConfig(yaml: string): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = checkConfigCommand(['--config', yamlFile(yaml)], { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {} });
  return { code, out, err };
}

describe('isLoopbackHost', () => {
  it('knows loopback addresses and nothing else', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', 'pi.local', '128.0.0.1', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('unsafe exposure is refused', () => {
  it('an HTTP API on a network address without a token, saying how to fix it', () => {
    const errors = errorsOf('http:\n  host: 0.0.0.0\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^http\.token: is required when http\.host \(0\.0\.0\.0\) is not a loopback address/);
    expect(errors[0]).toContain('openssl rand -hex 32');
    expect(errorsOf(`http:\n  host: 0.0.0.0\n  token: ${LONG}\n`)).toEqual([]);
    // Disabled, it exposes nothing.
    expect(errorsOf('http:\n  host: 0.0.0.0\n  enabled: false\n')).toEqual([]);
  });

  it('an embedded broker on a network address that lets anyone in', () => {
    const errors = errorsOf('broker:\n  host: 192.168.1.20\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^broker\.username: is required when broker\.host \(192\.168\.1\.20\) is not a loopback address/);
    expect(errorsOf(`broker:\n  host: 0.0.0.0\n  username: sensors\n  password: ${LONG}\n`)).toEqual([]);
    // With an external broker the embedded one does not run.
    expect(errorsOf('broker:\n  host: 0.0.0.0\n  enabled: false\nmqtt:\n  url: mqtt://broker.lan:1883\n')).toEqual([]);
  });

  it('secrets shorter than 16 characters, wherever they are', () => {
    const short = 'x'.repeat(MIN_SECRET_CHARS - 1);
    const errors = errorsOf(
      `http:\n  token: "1"\nbroker:\n  username: s\n  password: ${short}\n  operator:\n    username: op\n    password: ${short}\nmqtt:\n  url: mqtt://b:1883\n  username: d\n  password: ${short}\n`,
    );
    expect(errors.map((e) => e.split(':')[0]).sort()).toEqual(['broker.operator.password', 'broker.password', 'http.token', 'mqtt.password']);
    expect(errors.find((e) => e.startsWith('http.token'))).toContain('is 1 characters long; secrets must have at least 16');
  });

  it('whitespace does not count towards a secret\'s length', () => {
    const errors = errorsOf(`http:\n  token: "${' '.repeat(MIN_SECRET_CHARS + 4)}"\n`);
    expect(errors.find((e) => e.startsWith('http.token'))).toContain('has 0 characters other than whitespace');
    expect(errorsOf(`http:\n  token: "${'k'.repeat(MIN_SECRET_CHARS)}"\n`).filter((e) => e.startsWith('http.token'))).toEqual([]);
  });

  it('insecure: true starts anyway and says what it waived', () => {
    const res = loadConfig({ path: yamlFile('insecure: true\nhttp:\n  host: 0.0.0.0\n  token: short\n'), env: {} });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(waivedExposure(res.config).map(([path]) => path)).toEqual(['http.token']);
    const safe = loadConfig({ path: yamlFile('http:\n  token: this-is-long-enough\n'), env: {} });
    expect(safe.ok && waivedExposure(safe.config)).toEqual([]);
  });

  it('check-config refuses with exit 2, and with insecure: true prints each waived problem as a warning', () => {
    const refused = checkConfig('http:\n  host: 0.0.0.0\n');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/^http\.token: is required/);
    const waived = checkConfig('insecure: true\nhttp:\n  host: 0.0.0.0\n');
    expect(waived.code).toBe(0);
    expect(waived.err).toMatch(/^warning: INSECURE \(insecure: true\): http\.token is required/);
  });

  it('run refuses before it opens anything (exit 2)', async () => {
    let err = '';
    const code = await runCommand(['--config', yamlFile('dataDir: /nonexistent/never-created\nbroker:\n  host: 0.0.0.0\n')], {
      stdout: () => undefined,
      stderr: (s) => (err += s),
      env: {},
      exit: () => {
        throw new Error('exit called');
      },
    });
    expect(code).toBe(2);
    expect(err).toContain('broker.username: is required when broker.host (0.0.0.0) is not a loopback address');
  });

  it('role logins: pairs, distinct, and the daemon\'s own name is reserved', () => {
    expect(errorsOf('broker:\n  operator:\n    username: op\n')).toEqual(['broker.operator.password: is required when broker.operator.username is set']);
    expect(errorsOf(`broker:\n  username: same\n  password: ${LONG}\n  operator:\n    username: same\n    password: ${LONG}\n`)).toEqual([
      'broker.operator.username: must differ from broker.username: sensors and operators need their own logins',
    ]);
    expect(errorsOf(`broker:\n  username: anomalyd-daemon\n  password: ${LONG}\n`)[0]).toContain("reserved for the daemon's own client");
    expect(errorsOf('mqtt:\n  operators: [alice]\n')).toEqual(['mqtt.operators: only applies to an external broker (mqtt.url); the embedded broker takes broker.operator']);
    expect(errorsOf('broker:\n  enabled: false\nmqtt:\n  url: mqtt://b:1883\n  operators: [alice]\n')[0]).toContain('requires mqtt.username');
    expect(errorsOf(`broker:\n  enabled: false\nmqtt:\n  url: mqtt://b:1883\n  username: anomalyd\n  password: ${LONG}\n  operators: [alice, bob]\n`)).toEqual([]);
  });
});
