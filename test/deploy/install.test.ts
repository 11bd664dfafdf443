import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const INSTALL = join(REPO, 'deploy', 'install.sh');
const UNIT_SRC = join(REPO, 'systemd', 'anomalyd.service');
const haveBash = spawnSync('bash', ['--version']).status === 0;
const haveBuild = existsSync(join(REPO, 'dist', 'main.js'));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function install(...args: string[]): Run {
  const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', env: { ...process.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The unit as key -> values (a key may repeat, e.g. Environment=), per section. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`unparsable unit line: ${raw}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

function one(section: Map<string, string[]> | undefined, key: string): string {
  const values = section?.get(key);
  if (!values || values.length !== 1) throw new Error(`expected exactly one ${key}=, got ${JSON.stringify(values)}`);
  return values[0];
}

/** systemd time spans as used in the unit: plain seconds, or a number with ms/s/min. */
function spanMs(v: string): number {
  const m = /^(\d+)(ms|s|min)?$/.exec(v);
  if (!m) throw new Error(`unsupported time span: ${v}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'min' ? n * 60_000 : n * 1000;
}

function environmentOf(service: Map<string, string[]>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const assignment of service.get('Environment') ?? []) {
    for (const pair of assignment.split(/\s+/)) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

describe('systemd/anomalyd.service', () => {
  const unit = parseUnit(readFileSync(UNIT_SRC, 'utf8'));
  const service = unit.get('Service');

  it('is a notify service that accepts notifications from the systemd-notify child', () => {
    expect(one(service, 'Type')).toBe('notify');
    expect(one(service, 'NotifyAccess')).toBe('all');
    expect(spanMs(one(service, 'WatchdogSec'))).toBeGreaterThan(0);
    expect(one(service, 'Restart')).toBe('on-failure');
  });

  it('gives the graceful stop of the shipped config time to finish before SIGKILL', () => {
    const res = loadConfig({ path: join(REPO, 'config', 'default.yaml'), env: environmentOf(service!) });
    if (!res.ok) throw new Error(res.errors.join('\n'));
    expect(res.config.shutdown.deadlineMs).toBeLessThan(spanMs(one(service, 'TimeoutStopSec')));
  });

  it('keeps the data where it may write, under the service user, with logs to the journal only', () => {
    const dataDir = one(service, 'WorkingDirectory');
    expect(environmentOf(service!).ANOMALYD_DATA_DIR).toBe(dataDir);
    expect(`/var/lib/${one(service, 'StateDirectory')}`).toBe(dataDir);
    expect(one(service, 'ProtectSystem')).toBe('strict');
    expect(one(service, 'ReadWritePaths').split(/\s+/)).toContain(dataDir);
    expect(one(service, 'User')).not.toBe('root');
    expect(one(service, 'StandardOutput')).toBe('journal');
  });

  it("turns onnxruntime's telemetry off (docs/SECURITY.md, \"No telemetry\")", () => {
    expect(environmentOf(service!).ORT_DISABLE_TELEMETRY).toBe('1');
  });

  it('does not forbid writable+executable memory, which V8 needs', () => {
    expect(service?.get('MemoryDenyWriteExecute') ?? ['no']).toEqual(['no']);
  });
});

describe.skipIf(!haveBash || !haveBuild)('deploy/install.sh', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = mkdtempSync(join(tmpdir(), 'anomalyd-install-'));
  });
  afterEach(() => {
    rmSync(prefix, { recursive: true, force: true });
  });
  const at = (p: string): string => join(prefix, p);

  it('--dry-run changes nothing and says what it would do', () => {
    const r = install('--dry-run', '--prefix', prefix);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(prefix)).toEqual([]);
    const planned = r.stdout.split('\n').filter((l) => l.startsWith('[dry-run] '));
    expect(planned.some((l) => l.includes('useradd') && l.includes('anomalyd'))).toBe(true);
    expect(planned.some((l) => l.includes(`${at('etc/anomalyd/config.yaml')}`))).toBe(true);
    expect(planned.some((l) => l.includes(at('etc/systemd/system/anomalyd.service')))).toBe(true);
    expect(planned.some((l) => /npm .*ci --omit=dev/.test(l) && l.includes('ONNXRUNTIME_NODE_INSTALL=skip'))).toBe(true);
    expect(planned.some((l) => l.includes('systemctl enable anomalyd'))).toBe(true);
    expect(planned.some((l) => l.includes(`onnxruntime-node binaries other than linux/${process.arch}`))).toBe(true);
    expect(r.stdout).not.toMatch(/^\+ /m);
  });

  it('--dry-run without a prefix asks systemd nothing (tryout 26, finding 8: systemctl is-active ran in a dry run)', () => {
    // A systemctl first on PATH that notes each call.
    const bin = mkdtempSync(join(tmpdir(), 'anomalyd-fake-systemctl-'));
    try {
      const calls = join(bin, 'calls');
      writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> ${JSON.stringify(calls)}\nexit 0\n`, { mode: 0o755 });
      const r = spawnSync('bash', [INSTALL, '--dry-run', '--skip-deps'], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } });
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(calls) ? readFileSync(calls, 'utf8') : '').toBe('');
      expect(r.stdout).toContain('[dry-run] systemctl restart anomalyd   (only if it is running now: an upgrade)');
      expect(r.stdout).not.toMatch(/^\+ /m);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('stages the app, config and unit under the prefix, and only prints the system-wide steps', () => {
    const r = install('--prefix', prefix, '--skip-deps');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(at('opt/anomalyd/dist/main.js'))).toBe(true);
    expect(existsSync(at('opt/anomalyd/package-lock.json'))).toBe(true);
    expect(readdirSync(at('opt/anomalyd/models')).filter((f) => f.endsWith('.onnx')).length).toBeGreaterThan(0);
    expect(readFileSync(at('etc/anomalyd/config.yaml'), 'utf8')).toBe(readFileSync(join(REPO, 'config', 'default.yaml'), 'utf8'));
    expect(statSync(at('etc/anomalyd/config.yaml')).mode & 0o777).toBe(0o640);
    expect(readFileSync(at('etc/systemd/system/anomalyd.service'), 'utf8')).toBe(readFileSync(UNIT_SRC, 'utf8'));
    for (const step of ['useradd', 'chown', 'systemctl daemon-reload', 'systemctl enable']) {
      expect(r.stdout).toMatch(new RegExp(`^\\[skipped: --prefix\\] .*${step}`, 'm'));
    }
    expect(existsSync(at('opt/anomalyd.new')) || existsSync(at('opt/anomalyd.old'))).toBe(false);
  });

  it('writes a unit whose paths all exist in the installed tree and whose config loads', () => {
    expect(install('--prefix', prefix, '--skip-deps').code).toBe(0);
    const service = parseUnit(readFileSync(at('etc/systemd/system/anomalyd.service'), 'utf8')).get('Service')!;
    const [node, main, command, flag, configPath] = one(service, 'ExecStart').split(/\s+/);
    expect(node).toBe('/usr/bin/node');
    expect([command, flag]).toEqual(['run', '--config']);
    expect(existsSync(at(main))).toBe(true);
    expect(existsSync(at(configPath))).toBe(true);
    const res = loadConfig({ path: at(configPath), env: environmentOf(service) });
    if (!res.ok) throw new Error(res.errors.join('\n'));
    expect(res.config.dataDir).toBe(one(service, 'WorkingDirectory'));
  });

  it('upgrades in place: replaces the app, keeps an edited config', () => {
    expect(install('--prefix', prefix, '--skip-deps').code).toBe(0);
    writeFileSync(at('etc/anomalyd/config.yaml'), 'version: 1\nlog:\n  level: debug\n');
    writeFileSync(at('opt/anomalyd/dist/stale-from-old-version.js'), '');
    const r = install('--prefix', prefix, '--skip-deps');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(at('etc/anomalyd/config.yaml'), 'utf8')).toContain('level: debug');
    expect(r.stdout).toMatch(/keeping existing/);
    expect(existsSync(at('opt/anomalyd/dist/stale-from-old-version.js'))).toBe(false);
    expect(existsSync(at('opt/anomalyd/dist/main.js'))).toBe(true);
    expect(existsSync(at('opt/anomalyd.old'))).toBe(false);
  });

  it('--uninstall removes app and unit but keeps config and data; --purge removes those too', () => {
    expect(install('--prefix', prefix, '--skip-deps').code).toBe(0);
    writeFileSync(join(prefix, 'marker'), '');
    const r = install('--uninstall', '--prefix', prefix);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(at('opt/anomalyd'))).toBe(false);
    expect(existsSync(at('etc/systemd/system/anomalyd.service'))).toBe(false);
    expect(existsSync(at('etc/anomalyd/config.yaml'))).toBe(true);
    expect(r.stdout).toMatch(/^\[skipped: --prefix\] systemctl disable --now anomalyd/m);

    const purge = install('--uninstall', '--purge', '--prefix', prefix);
    expect(purge.code, purge.stderr).toBe(0);
    expect(existsSync(at('etc/anomalyd'))).toBe(false);
    expect(existsSync(join(prefix, 'marker'))).toBe(true);
  });

  it.each([[['--bogus']], [['--purge']], [['--prefix']]])('refuses %j', (args) => {
    const r = install(...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/install\.sh: /);
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it.skipIf(!analyze)('installs a unit that systemd-analyze verify accepts without a warning', () => {
    expect(install('--prefix', prefix, '--skip-deps').code).toBe(0);
    let text = readFileSync(at('etc/systemd/system/anomalyd.service'), 'utf8');
    // verify checks that ExecStart's binary exists; CI images may keep node elsewhere.
    if (!existsSync('/usr/bin/node')) text = text.replace('/usr/bin/node', process.execPath);
    const unitPath = join(prefix, 'anomalyd.service');
    writeFileSync(unitPath, text);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', unitPath], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // Unknown keys and unparsable values are only warnings (exit 0): any output is a finding.
    expect(r.stderr.trim()).toBe('');
  });
});
