// Tests src/cli/check-config.ts; kept under test/config/ because that is the config engineer's test area.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkConfigCommand, CHECK_CONFIG_USAGE } from '../../src/cli/check-config.js';
import { defaultConfig } from '../../src/config/schema.js';
import { MAIN } from '../helpers/daemon.js';
import { yamlFile } from './helpers.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = checkConfigCommand(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env });
  return { code, out, err };
}

describe('check-config', () => {
  it('prints the effective config as YAML that parses back to it, and exits 0', () => {
    const path = yamlFile('window:\n  hop: 8\n');
    const { code, out, err } = run(['--config', path], { ANOMALYD__WINDOW__LENGTH: '32' });
    expect(code).toBe(0);
    expect(err).toBe('');
    const printed = parse(out) as ReturnType<typeof defaultConfig>;
    expect(printed).toEqual({ ...defaultConfig(), window: { ...defaultConfig().window, hop: 8, length: 32 } });
    expect(out).toContain(path);
  });

  it('masks secrets, including a password inside the URL', () => {
    const path = yamlFile(
      'broker:\n  username: sensors\n  password: hunter2-hunter2-hunter2\nmqtt:\n  url: mqtt://det:urlsecret@broker.lan:1883\n  username: det\n',
    );
    const { code, out } = run([`--config=${path}`], { ANOMALYD_MQTT_PASSWORD: 'envsecret-envsecret' });
    expect(code).toBe(0);
    for (const secret of ['hunter2', 'urlsecret', 'envsecret']) expect(out).not.toContain(secret);
    const printed = parse(out) as { broker: { password: string }; mqtt: { password: string; url: string; username: string } };
    expect(printed.broker.password).toBe('***');
    expect(printed.mqtt.password).toBe('***');
    expect(printed.mqtt.url).toContain('broker.lan:1883');
    expect(printed.mqtt.username).toBe('det');
  });

  it('prints every error as path: message on stderr and exits 2', () => {
    const path = yamlFile('window:\n  length: 1.5\nlog:\n  level: verbose\nscore:\n  treshold: 0.99\n');
    const { code, out, err } = run(['-c', path], { ANOMALYD__WINDOW__HOP: 'many' });
    expect(code).toBe(2);
    expect(out).toBe('');
    const lines = err.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/^(env [A-Z_]+|[\w.]+): \S/);
  });

  it('warns of topics two presets both take, naming which reads them, and still exits 0 (tryout 13 #9)', () => {
    const path = yamlFile('ingest:\n  presets: [homeassistant, ha_statestream, esphome]\n');
    const { code, out, err } = run(['--config', path]);
    expect(code).toBe(0);
    expect(out).toContain('# anomalyd effective configuration');
    expect(err.trimEnd().split('\n')).toEqual([
      'warning: ingest.presets: messages on "homeassistant/sensor/{sensor}/state" (preset homeassistant) match "{sensor#}/sensor/{field}/state" (preset esphome) too: preset homeassistant, tried first, reads them',
      'warning: ingest.presets: preset ha_statestream never reads "homeassistant/sensor/{sensor}/state": preset homeassistant, tried first, takes every message there ("homeassistant/sensor/{sensor}/state")',
      'warning: ingest.presets: messages on "homeassistant/binary_sensor/{sensor}/state" (preset ha_statestream) match "{sensor#}/binary_sensor/{field}/state" (preset esphome) too: preset ha_statestream, tried first, reads them',
    ]);
    // The built command says the same (stderr, exit 0).
    const cli = spawnSync(process.execPath, [MAIN, 'check-config', '--config', path], { encoding: 'utf8', env: { ...process.env, ANOMALYD_CONFIG: '' } });
    expect(cli.status).toBe(0);
    expect(cli.stderr).toBe(err);
  });

  it('warns of a learning.minReadings with which no first own model can pass the gate, from the hops (tryout 16 #8)', () => {
    const { code, out, err } = run(['--config', yamlFile('learning:\n  minReadings: 256\n')]);
    expect(code).toBe(0);
    expect(out).toContain('# anomalyd effective configuration');
    expect(err).toMatch(/^warning: learning\.minReadings: 256 is below 400, the fewest readings with which a sensor's first own model can pass the gate: .*newest 20 % \(51 readings here\).*stretches of at least 16 readings.*Set it to 400 or more\n$/);
    expect(run(['--config', yamlFile('learning:\n  minReadings: 400\n')]).err).toBe('');
    // derived from the larger of window.hop and the shared model's hop (16), as the gate cuts its stretches
    expect(run(['--config', yamlFile('learning:\n  minReadings: 700\nwindow:\n  hop: 32\n')]).err).toContain('700 is below 800,');
    expect(run(['--config', yamlFile('learning:\n  minReadings: 256\nwindow:\n  hop: 8\n')]).err).toContain('256 is below 400,');
    // learning off, or no shared model to beat (the first own model is taken): nothing to warn of
    expect(run(['--config', yamlFile('learning:\n  enabled: false\n  minReadings: 256\n')]).err).toBe('');
    expect(run(['--config', yamlFile('learning:\n  fallback: false\n  minReadings: 256\n')]).err).toBe('');
  });

  it('--help prints usage and exits 0', () => {
    const { code, out } = run(['--help']);
    expect(code).toBe(0);
    expect(out).toBe(CHECK_CONFIG_USAGE);
  });

  it('bad usage exits 2 with the usage on stderr', () => {
    expect(run(['--config']).code).toBe(2);
    const { code, err } = run(['--frobnicate']);
    expect(code).toBe(2);
    expect(err).toContain('unknown argument: --frobnicate');
    expect(err).toContain('Usage:');
  });
});
