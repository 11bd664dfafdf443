import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createLogger, type Logger } from '../../src/log.js';
import { Heartbeat, SystemdNotifier, progressCheck, watchdogLoop, type WatchdogPort } from '../../src/adapters/sd-notify.js';

/** A stand-in `systemd-notify` first on PATH: appends one line per call, its arguments joined by '|'. */
function fakeNotifyBin(dir: string, body = ''): { env: NodeJS.ProcessEnv; calls: () => string[][] } {
  const log = join(dir, 'calls.log');
  const script = join(dir, 'systemd-notify');
  writeFileSync(script, `#!/bin/sh\n${body}\n(IFS='|'; printf '%s\\n' "$*") >> "$FAKE_NOTIFY_LOG"\n`);
  chmodSync(script, 0o755);
  const env: NodeJS.ProcessEnv = { PATH: `${dir}${delimiter}${process.env.PATH ?? ''}`, FAKE_NOTIFY_LOG: log };
  const calls = (): string[][] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.split('|'))
      : [];
  return { env, calls };
}

/** A real pino logger writing parsed JSON lines into an array. */
function recordingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }>; at: (level: number) => string[] } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = createLogger('debug', { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { logger, lines, at: (level) => lines.filter((l) => l.level === level).map((l) => l.msg) };
}
const WARN = 40;
const INFO = 30;
const ERROR = 50;

describe('SystemdNotifier', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sd-notify-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('does nothing at all without NOTIFY_SOCKET', async () => {
    const fake = fakeNotifyBin(dir);
    const n = new SystemdNotifier({ env: { ...fake.env, WATCHDOG_USEC: '30000000' }, pid: 4242 });
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs).toBeNull();
    n.ready('up');
    n.status('busy');
    n.watchdog();
    n.stopping();
    await n.settled();
    expect(fake.calls()).toEqual([]);
  });

  it('sends READY with MAINPID, STATUS, WATCHDOG and STOPPING in call order', async () => {
    const fake = fakeNotifyBin(dir);
    const n = new SystemdNotifier({ env: { ...fake.env, NOTIFY_SOCKET: '/run/fake.sock' }, pid: 4242 });
    n.ready('model gru loaded, mqtt connected');
    n.status('3 sensors');
    n.watchdog();
    n.stopping('draining');
    await n.settled();
    expect(fake.calls()).toEqual([
      ['--pid=4242', 'READY=1', 'STATUS=model gru loaded, mqtt connected'],
      ['STATUS=3 sensors'],
      ['WATCHDOG=1'],
      ['STOPPING=1', 'STATUS=draining'],
    ]);
    expect(n.failures).toBe(0);
  });

  it('hands the child the notify socket from its environment', async () => {
    const fake = fakeNotifyBin(dir, `echo "$NOTIFY_SOCKET" > "${join(dir, 'socket.txt')}"`);
    const n = new SystemdNotifier({ env: { ...fake.env, NOTIFY_SOCKET: '@anomalyd-test' } });
    n.watchdog();
    await n.settled();
    expect(readFileSync(join(dir, 'socket.txt'), 'utf8').trim()).toBe('@anomalyd-test');
  });

  it('keeps a status text on one line so it cannot smuggle in another assignment', async () => {
    const fake = fakeNotifyBin(dir);
    const n = new SystemdNotifier({ env: { ...fake.env, NOTIFY_SOCKET: '/run/fake.sock' } });
    n.status('line one\nREADY=1\r\nline two');
    await n.settled();
    const [call] = fake.calls();
    expect(call).toHaveLength(1);
    expect(call[0]).toMatch(/^STATUS=/);
    expect(call[0]).not.toMatch(/[\r\n]/);
  });

  it('queues at most one extra watchdog ping however often it is called', async () => {
    const fake = fakeNotifyBin(dir);
    const n = new SystemdNotifier({ env: { ...fake.env, NOTIFY_SOCKET: '/run/fake.sock' } });
    for (let i = 0; i < 20; i++) n.watchdog();
    await n.settled();
    const pings = fake.calls().filter((c) => c.includes('WATCHDOG=1'));
    expect(pings.length).toBeGreaterThanOrEqual(1);
    expect(pings.length).toBeLessThanOrEqual(2);
  });

  it('never drops READY or STOPPING behind a flood of pings', async () => {
    const fake = fakeNotifyBin(dir);
    const n = new SystemdNotifier({ env: { ...fake.env, NOTIFY_SOCKET: '/run/fake.sock' } });
    n.watchdog();
    n.ready();
    for (let i = 0; i < 10; i++) n.watchdog();
    n.stopping();
    await n.settled();
    const kinds = fake.calls().map((c) => c.find((a) => /^(READY|STOPPING|WATCHDOG)=/.test(a)));
    expect(kinds.filter((k) => k === 'READY=1')).toHaveLength(1);
    expect(kinds.at(-1)).toBe('STOPPING=1');
  });

  it('reports a missing binary once and never throws', async () => {
    const log = recordingLogger();
    const n = new SystemdNotifier({ env: { PATH: dir, NOTIFY_SOCKET: '/run/fake.sock' }, logger: log.logger });
    expect(() => {
      n.ready();
      n.watchdog();
      n.stopping();
    }).not.toThrow();
    await n.settled();
    expect(n.failures).toBe(3);
    expect(log.at(WARN)).toHaveLength(1);
    expect(log.at(WARN)[0]).toMatch(/not found/);
  });

  it('logs a failing binary once and keeps sending', async () => {
    const fake = fakeNotifyBin(dir, 'case "$*" in *STATUS=fail*) exit 1;; esac');
    const log = recordingLogger();
    const n = new SystemdNotifier({ env: { ...fake.env, NOTIFY_SOCKET: '/run/fake.sock' }, logger: log.logger });
    n.status('fail');
    n.status('fail');
    n.ready('ok');
    await n.settled();
    expect(n.failures).toBe(2);
    expect(log.at(WARN)).toHaveLength(1);
    expect(fake.calls().some((c) => c.includes('READY=1'))).toBe(true);
  });

  it('kills a child that hangs and carries on with the next message', async () => {
    const fake = fakeNotifyBin(dir, 'case "$*" in *STATUS=hang*) exec sleep 30;; esac');
    const n = new SystemdNotifier({ env: { ...fake.env, NOTIFY_SOCKET: '/run/fake.sock' }, timeoutMs: 200 });
    n.status('hang');
    n.ready();
    await n.settled();
    expect(n.failures).toBe(1);
    expect(fake.calls()).toEqual([['--pid=' + process.pid, 'READY=1']]);
  });

  describe('watchdogIntervalMs', () => {
    const base = { NOTIFY_SOCKET: '/run/fake.sock' };
    it.each([
      ['half of WATCHDOG_USEC', { ...base, WATCHDOG_USEC: '30000000' }, 15_000],
      ['our own WATCHDOG_PID', { ...base, WATCHDOG_USEC: '30000000', WATCHDOG_PID: '4242' }, 15_000],
      ['another process WATCHDOG_PID', { ...base, WATCHDOG_USEC: '30000000', WATCHDOG_PID: '999' }, null],
      ['no WATCHDOG_USEC', { ...base }, null],
      ['zero', { ...base, WATCHDOG_USEC: '0' }, null],
      ['garbage', { ...base, WATCHDOG_USEC: '30s' }, null],
      ['negative', { ...base, WATCHDOG_USEC: '-5' }, null],
      ['no NOTIFY_SOCKET', { WATCHDOG_USEC: '30000000' }, null],
    ] as const)('%s', (_name, env, expected) => {
      const n = new SystemdNotifier({ env, pid: 4242 });
      expect(n.watchdogIntervalMs).toBe(expected);
    });
    it('is half the interval for any WatchdogSec', () => {
      for (const sec of [1, 7, 30, 600]) {
        const n = new SystemdNotifier({ env: { ...base, WATCHDOG_USEC: String(sec * 1_000_000) }, pid: 1 });
        expect(n.watchdogIntervalMs! * 2).toBe(sec * 1000);
      }
    });
  });
});

/**
 * The real binary against a real AF_UNIX datagram socket. Node cannot bind one, so a tiny Python
 * listener plays PID 1; skipped where either is missing.
 */
const haveRealTools = ['systemd-notify', 'python3'].every((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0);

describe.skipIf(!haveRealTools)('SystemdNotifier with the real systemd-notify', () => {
  let dir: string;
  let listener: ChildProcess | null = null;
  afterEach(() => {
    listener?.kill();
    listener = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers READY with our MAINPID to a datagram notify socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sd-notify-real-'));
    const socket = join(dir, 'notify.sock');
    const py = [
      'import socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      's.bind(sys.argv[1])',
      'print("listening", flush=True)',
      'while True:',
      '    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)',
    ].join('\n');
    const proc = spawn('python3', ['-c', py, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener = proc;
    const lines: string[] = [];
    let onLine: () => void = () => undefined;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      lines.push(...chunk.split('\n').filter((l) => l !== ''));
      onLine();
    });
    const waitFor = (pred: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        onLine = () => {
          if (pred()) resolve();
        };
        onLine();
      });
    await waitFor(() => lines.includes('listening'));

    const n = new SystemdNotifier({ env: { ...process.env, NOTIFY_SOCKET: socket } });
    n.ready('test');
    n.watchdog();
    await n.settled();
    await waitFor(() => lines.some((l) => l.includes('WATCHDOG=1')));
    expect(n.failures).toBe(0);
    const ready = lines.find((l) => l.includes('READY=1'));
    expect(ready?.split('|')).toEqual(expect.arrayContaining([`MAINPID=${process.pid}`, 'READY=1', 'STATUS=test']));
  });
});

describe('Heartbeat', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function counter(): WatchdogPort & { pings: number } {
    const port = {
      pings: 0,
      watchdog(): void {
        port.pings++;
      },
    };
    return port;
  }

  it('pings at start and once per interval while healthy', () => {
    const port = counter();
    const hb = new Heartbeat(port, () => true, 1000);
    hb.start();
    expect(port.pings).toBe(1);
    vi.advanceTimersByTime(3500);
    expect(port.pings).toBe(4);
    hb.stop();
  });

  it('withholds pings while unhealthy, logs the stall once, and resumes', () => {
    const port = counter();
    const log = recordingLogger();
    let healthy = true;
    const hb = watchdogLoop(port, () => healthy, 1000, { logger: log.logger });
    expect(port.pings).toBe(1);
    healthy = false;
    vi.advanceTimersByTime(5000);
    expect(port.pings).toBe(1);
    expect(log.at(WARN)).toEqual([expect.stringMatching(/stalled/)]);
    healthy = true;
    vi.advanceTimersByTime(1000);
    expect(port.pings).toBe(2);
    expect(log.at(INFO)).toEqual([expect.stringMatching(/resumed/)]);
    hb.stop();
  });

  it('treats a throwing health check as a stall', () => {
    const port = counter();
    const log = recordingLogger();
    const hb = watchdogLoop(
      port,
      () => {
        throw new Error('boom');
      },
      1000,
      { logger: log.logger },
    );
    vi.advanceTimersByTime(3000);
    expect(port.pings).toBe(0);
    expect(log.at(ERROR).length).toBeGreaterThan(0);
    hb.stop();
  });

  it('owns exactly one timer: start is idempotent and stop clears it', () => {
    const port = counter();
    const before = vi.getTimerCount();
    const hb = new Heartbeat(port, () => true, 1000);
    hb.start();
    hb.start();
    expect(vi.getTimerCount()).toBe(before + 1);
    expect(hb.running).toBe(true);
    vi.advanceTimersByTime(2000);
    expect(port.pings).toBe(3);
    hb.stop();
    hb.stop();
    expect(hb.running).toBe(false);
    expect(vi.getTimerCount()).toBe(before);
    vi.advanceTimersByTime(10_000);
    expect(port.pings).toBe(3);
  });

  it('can be restarted after a stop', () => {
    const port = counter();
    const hb = new Heartbeat(port, () => true, 1000);
    hb.start();
    hb.stop();
    hb.start();
    vi.advanceTimersByTime(1000);
    expect(port.pings).toBe(3);
    hb.stop();
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects an interval of %s', (ms) => {
    expect(() => new Heartbeat(counter(), () => true, ms)).toThrow(RangeError);
  });
});

describe('progressCheck', () => {
  function harness(): { check: () => boolean; state: { backlog: number; progress: number; t: number } } {
    const state = { backlog: 0, progress: 0, t: 0 };
    const check = progressCheck({ backlog: () => state.backlog, progress: () => state.progress, stallMs: 10_000, now: () => state.t });
    return { check, state };
  }

  it('calls an idle pipeline healthy however long it idles', () => {
    const { check, state } = harness();
    state.t = 3_600_000;
    expect(check()).toBe(true);
  });

  it('is healthy while work waits but the pipeline keeps finishing some', () => {
    const { check, state } = harness();
    state.backlog = 50;
    for (let i = 1; i <= 10; i++) {
      state.t = i * 9_000;
      state.progress += 1;
      expect(check()).toBe(true);
    }
  });

  it('reports a stall when work waits and nothing finishes for stallMs, and recovers', () => {
    const { check, state } = harness();
    state.t = 1000;
    expect(check()).toBe(true);
    state.backlog = 5;
    state.t = 5000;
    expect(check()).toBe(true);
    state.t = 12_000;
    expect(check()).toBe(false);
    state.progress = 1;
    state.t = 13_000;
    expect(check()).toBe(true);
  });

  it('measures a stall from the last idle moment, not from the start', () => {
    const { check, state } = harness();
    state.t = 100_000;
    expect(check()).toBe(true);
    state.backlog = 1;
    state.t = 105_000;
    expect(check()).toBe(true);
  });
});
