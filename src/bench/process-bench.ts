/**
 * The daemon as a separate process (node dist/main.js run), for the figures an in-process run would
 * distort: time from spawn to the 'ready' log line, and resident memory with many sensors (the
 * benchmark's own publisher and subscribers would otherwise count towards it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { CellKind } from '../model/spec.js';
import { waitFor } from './broker.js';
import { MqttChild } from './children.js';
import { INTERVAL_MS } from './payload.js';
import { epochMs, median } from './stats.js';
import { syntheticT0 } from './e2e.js';

/** dist/main.js: beside this module's parent when compiled, else (under vitest, from src/) the built one. */
export const MAIN_JS = ((): string => {
  const beside = fileURLToPath(new URL('../main.js', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../dist/main.js', import.meta.url));
})();

export interface ProcessSetup {
  readonly brokerUrl: string;
  readonly modelDir: string;
  readonly cell: CellKind;
  readonly window: number;
  readonly hop: number;
  /** The compiled entry to run; defaults to dist/main.js beside this module. */
  readonly mainJs?: string;
}

class DaemonChild {
  readonly dir = mkdtempSync(join(tmpdir(), 'anomalyd-bench-proc-'));
  proc: ChildProcess | null = null;
  readyAt = NaN;
  readyMs = NaN;

  constructor(private readonly s: ProcessSetup) {
    const config = {
      version: 1,
      dataDir: join(this.dir, 'data'),
      log: { level: 'info' },
      broker: { enabled: false },
      mqtt: { url: s.brokerUrl, qos: 0, clean: true, clientId: `anomalyd-bench-proc-${process.pid}-${Date.now()}` },
      model: { dir: s.modelDir, cell: s.cell, normWarmup: 1 },
      window: { length: s.window, hop: s.hop, intervalMs: INTERVAL_MS },
      http: { port: 0 },
    };
    writeFileSync(join(this.dir, 'config.yaml'), stringify(config));
  }

  /** Spawns the daemon (`env`: added to this process's environment) and resolves with ms from spawn to its 'ready' log line. */
  async start(env: Readonly<Record<string, string>> = {}): Promise<number> {
    const t0 = epochMs();
    const proc = spawn(process.execPath, [this.s.mainJs ?? MAIN_JS, 'run', '--config', join(this.dir, 'config.yaml')], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ANOMALYD_CONFIG: '', ...env },
    });
    this.proc = proc;
    let buf = '';
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (Number.isNaN(this.readyAt) && line.includes('"msg":"ready"')) {
          this.readyAt = epochMs();
          const m = /"ms":([\d.]+)/.exec(line);
          this.readyMs = m ? Number(m[1]) : NaN;
        }
      }
    });
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode} before ready`);
        return !Number.isNaN(this.readyAt);
      },
      30_000,
      'daemon ready',
      2,
    );
    return this.readyAt - t0;
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

/** systemd/anomalyd.service: beside this module's grandparent (dist/bench or src/bench). */
const UNIT_FILE = fileURLToPath(new URL('../../systemd/anomalyd.service', import.meta.url));

/**
 * The V8 flags the shipped systemd unit runs the daemon with (its last `Environment=NODE_OPTIONS=` line, e.g.
 * `--max-old-space-size=192 --max-semi-space-size=8`): the memory run measures the daemon as deployed, not with
 * node's defaults (a heap allowed to grow to 4× its live size between collections: ~320 MB against ~250 MB with
 * 1,000 sensors, BENCHMARKS.md "mem2").
 * @throws Error when the unit file cannot be read or sets no NODE_OPTIONS
 */
export function unitNodeOptions(unitFile: string = UNIT_FILE): string {
  const all = [...readFileSync(unitFile, 'utf8').matchAll(/^Environment="?NODE_OPTIONS=([^"\n]+)"?$/gm)];
  if (all.length === 0) throw new Error(`${unitFile} sets no NODE_OPTIONS`);
  return all[all.length - 1][1];
}

/** VmRSS / VmHWM of a process in MB (Linux /proc). */
export function residentMb(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** CPU ticks (user + system) a process has used, from /proc/<pid>/stat. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export interface StartupResult {
  readonly runs: number;
  /** Spawn -> 'ready' line, median over runs (includes Node's own start and module loading). */
  readonly spawnToReadyMs: number;
  /** The daemon's own start() time as it logs it, median. */
  readonly startMs: number;
  readonly all: readonly number[];
}

export async function benchStartup(s: ProcessSetup, runs: number): Promise<StartupResult> {
  const all: number[] = [];
  const inner: number[] = [];
  for (let i = 0; i < runs; i++) {
    const d = new DaemonChild(s);
    try {
      all.push(await d.start());
      inner.push(d.readyMs);
    } finally {
      await d.stop();
    }
  }
  return { runs, spawnToReadyMs: median(all), startMs: median(inner), all };
}

export interface MemoryResult {
  readonly sensors: number;
  readonly readingsPerSensor: number;
  readonly idleRssMb: number;
  readonly rssMb: number;
  readonly peakMb: number;
  /** The daemon's NODE_OPTIONS: the shipped unit's (unitNodeOptions). */
  readonly nodeOptions: string;
}

/**
 * Feeds `sensors` sensors through a daemon process, run with the shipped unit's NODE_OPTIONS (unitNodeOptions), and
 * reads its resident memory once it is idle again.
 * @throws Error when the unit sets no NODE_OPTIONS, the daemon does not start, or does not go idle within 300 s
 */
export async function benchMemory(s: ProcessSetup, sensors: number, readingsPerSensor: number): Promise<MemoryResult> {
  const d = new DaemonChild(s);
  const nodeOptions = unitNodeOptions();
  let publisher: MqttChild | null = null;
  try {
    await d.start({ NODE_OPTIONS: nodeOptions });
    const pid = d.proc?.pid;
    if (pid === undefined) throw new Error('daemon has no pid');
    const idle = residentMb(pid);
    publisher = await MqttChild.start({ role: 'publisher', url: s.brokerUrl, clientId: `bench-mem-${process.pid}-${Date.now()}` });
    await publisher.publish({ sensors, firstIndex: 0, readingsPerSensor, perMessage: 1, rate: 0, qos: 0, t0: syntheticT0(), hop: s.hop });
    // Idle = no CPU used for half a second: everything published has been scored.
    let last = cpuTicks(pid);
    let quietSince = Date.now();
    await waitFor(
      () => {
        const now = cpuTicks(pid);
        if (now !== last) {
          last = now;
          quietSince = Date.now();
        }
        return Date.now() - quietSince >= 500;
      },
      300_000,
      'the daemon to go idle',
      50,
    );
    const after = residentMb(pid);
    return { sensors, readingsPerSensor, idleRssMb: idle.rssMb, rssMb: after.rssMb, peakMb: after.peakMb, nodeOptions };
  } finally {
    await publisher?.stop();
    await d.stop();
  }
}
