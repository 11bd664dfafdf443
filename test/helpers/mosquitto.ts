import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect } from '../../src/util/net.js';
import { freePort, waitFor } from './net.js';

/** The logins deploy/mosquitto/setup.sh wrote to DIR/credentials.env (NAME=value lines), by name. */
export function setupCredentials(dir: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(dir, 'credentials.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_a-z]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

export function mosquittoAvailable(): boolean {
  return spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined;
}

/**
 * A real mosquitto on a free loopback port, with persistence so it can be restarted mid-test: the first start takes
 * the port from freePort (released, then bound by mosquitto: a small race with other processes, accepted), every
 * later start binds the same one.
 */
export class Mosquitto {
  private proc: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'anomalyd-mosq-'));
  /** The loopback port, 0 until the first start. */
  port = 0;

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    // mosquitto started as root drops to its own user; it must be able to write its persistence file here.
    chmodSync(this.dir, 0o777);
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${this.dir}/`,
        'set_tcp_nodelay true',
        'max_queued_messages 100000',
        '',
      ].join('\n'),
    );
    this.proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitFor(() => canConnect(this.port), 10_000, `mosquitto on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
}

/**
 * A real mosquitto started on a free loopback port, its stop and the removal of its directory pushed onto the test's
 * `cleanups` (run last pushed first: stopped, then removed). For a broker a test restarts, use the class.
 */
export async function startMosquitto(cleanups: { push(cleanup: () => Promise<void>): unknown }): Promise<Mosquitto> {
  const broker = new Mosquitto();
  cleanups.push(() => Promise.resolve(rmSync(broker.dir, { recursive: true, force: true })));
  await broker.start();
  cleanups.push(() => broker.stop());
  return broker;
}

/**
 * The broker table of a test run on each broker (`it.each(brokerCases(...))`): [name, available] rows, the embedded
 * broker (always there) as `embedded`, then `mosquitto` (available when the mosquitto binary is installed).
 */
export function brokerCases(embedded = 'the embedded broker'): Array<[string, boolean]> {
  return [[embedded, true], ['mosquitto', mosquittoAvailable()]];
}

/**
 * The broker URL of a brokerCases row: for `mosquitto`, a real mosquitto started on a free loopback port (its stop
 * and removal pushed onto `cleanups`, as startMosquitto); for any other name null (the daemon's embedded broker).
 * @throws when mosquitto does not start
 */
export async function brokerUrlFor(name: string, cleanups: { push(cleanup: () => Promise<void>): unknown }): Promise<string | null> {
  return name === 'mosquitto' ? (await startMosquitto(cleanups)).url : null;
}
