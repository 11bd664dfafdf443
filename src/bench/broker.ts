/**
 * A throwaway mosquitto on a free loopback port for the benchmark: no persistence, Nagle off, and
 * queues large enough that a slow subscriber is measured rather than disconnected.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { canConnect, freePort, waitFor } from '../util/net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function mosquittoVersion(): string | null {
  const r = spawnSync('mosquitto', ['-h'], { encoding: 'utf8' });
  if (r.error) return null;
  const m = /mosquitto version (\S+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? m[1] : 'unknown';
}

export { freePort, waitFor } from '../util/net.js';

export class BenchBroker {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'anomalyd-bench-mosq-'));
  port = 0;

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'set_tcp_nodelay true',
        // QoS 1 messages queued for a subscriber beyond its in-flight window; 0 = no limit. The
        // backpressure run relies on the broker holding what the daemon has not acknowledged yet.
        'max_queued_messages 0',
        'max_inflight_messages 20',
        '',
      ].join('\n'),
    );
    const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'ignore'] });
    this.proc = proc;
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode}`);
        return canConnect(this.port);
      },
      10_000,
      `mosquitto on port ${this.port}`,
      25,
    );
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p && p.exitCode === null) {
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
