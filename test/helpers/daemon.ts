import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { DeepPartial } from '../../src/config/dsl.js';
import type { Config } from '../../src/config/schema.js';
import type { Daemon } from '../../src/daemon.js';
import { decodeCheckpoint } from '../../src/daemon/checkpoint-codec.js';
import { waitFor } from './net.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const MAIN = join(ROOT, 'dist', 'main.js');
export const MODELS = join(ROOT, 'models');

/** The shipped configuration (config/default.yaml, its model directory made absolute so a test runs from anywhere). */
export function shippedConfig(): Config {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { model: { dir: MODELS } } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

/**
 * The sensors whose checkpoint row is an evicted one (evicted as idle after `limits.idleAfterIntervals`), in the
 * order the store lists them. A row written against a base does not decode alone: that is a live sensor's (an evicted
 * row stands alone).
 */
export function evictedSensors(daemon: Daemon): string[] {
  const evicted: string[] = [];
  for (const [sensor, row] of daemon.database!.loadSensorStates()) {
    try {
      if (typeof (decodeCheckpoint(row.blob) as { evicted?: unknown }).evicted === 'number') evicted.push(sensor);
    } catch {
      // a row written against a base: a live sensor's
    }
  }
  return evicted;
}

/**
 * The configuration of a daemon a test runs in its own process: data in `dataDir`, the embedded broker on a free
 * port, no HTTP, the shipped models run on the main thread, no learning of its own; `extra` sections replace those
 * (shallow, per top-level section) or add to them. Throws the loader's errors.
 */
export function inProcessConfig(dataDir: string, extra: DeepPartial<Config> = {}): Config {
  const loaded = loadConfig({
    path: '/dev/null',
    env: {},
    overrides: { dataDir, broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false }, ...extra },
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

export function builtAndModelsPresent(): boolean {
  return existsSync(MAIN) && existsSync(join(MODELS, 'gru.json')) && existsSync(join(MODELS, 'lstm.json'));
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** The real daemon as a child process, with its JSON log lines parsed. */
export class DaemonProcess {
  readonly dir: string;
  readonly configPath: string;
  proc: ChildProcess | null = null;
  readonly lines: LogLine[] = [];
  stderr = '';
  exitCode: number | null = null;
  /** The signal that ended the process (the 'exit' event's), null when it exited with a code or runs. */
  exitSignal: NodeJS.Signals | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  /** The config file's content, as written. */
  config: Record<string, unknown> = {};
  /** Run the daemon through this command prefix, e.g. ['setpriv', '--reuid=65534', …] to run it as another user. */
  runAs: readonly string[] = [];

  constructor(config: Record<string, unknown>) {
    this.dir = mkdtempSync(join(tmpdir(), 'anomalyd-e2e-'));
    this.configPath = join(this.dir, 'config.yaml');
    this.rewriteConfig(config);
  }

  /** Writes the config file again (defaults of the helper + `config`); takes effect at the next start. */
  rewriteConfig(config: Record<string, unknown>): void {
    // Tests run in parallel: the dashboard takes any free port unless a test says otherwise.
    this.config = { version: 2, dataDir: join(this.dir, 'data'), model: { dir: MODELS }, http: { port: 0 }, ...config };
    writeFileSync(this.configPath, stringify(this.config));
  }

  get dbPath(): string {
    return join(this.dir, 'data', 'anomalyd.db');
  }

  /** Starts the daemon; `env` adds to (or overrides) the test's environment, e.g. `{ TZ: 'Europe/Berlin' }`. */
  start(env: NodeJS.ProcessEnv = {}): Promise<void> {
    this.lines.length = 0;
    this.exitCode = null;
    this.exitSignal = null;
    const argv = [process.execPath, MAIN, 'run', '--config', this.configPath];
    const [cmd, ...args] = [...this.runAs, ...argv];
    const proc = spawn(cmd, args, {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ANOMALYD_CONFIG: '', ...env },
    });
    this.proc = proc;
    let buf = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ level: 0, msg: line });
        }
      }
    });
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((res) =>
      proc.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        res(code);
      }),
    );
    return waitFor(
      () => {
        if (this.exitCode !== null) throw new Error(`daemon exited with ${this.exitCode}: ${this.stderr}\n${JSON.stringify(this.lines.slice(-5))}`);
        return this.lines.some((l) => l.msg === 'ready');
      },
      30_000,
      'daemon ready',
    );
  }

  logged(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.proc || this.exitCode !== null) return this.exitCode;
    this.proc.kill(signal);
    return this.exited;
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }

  /** Starts the process without waiting for `ready` (for starts that must fail); resolves to the exit code. */
  async startExpectingExit(timeoutMs = 20_000): Promise<number | null> {
    await this.start().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const code = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.proc?.kill('SIGKILL');
      throw new Error(`the daemon did not exit within ${timeoutMs} ms`);
    }
    return code;
  }
}
