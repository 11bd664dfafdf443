/**
 * Start-up faults with the real daemon (dist/main.js) as a child process: one daemon per data directory
 * (a second start on the same dataDir is refused with a message naming the directory and the holder's
 * pid, and the first daemon goes on untouched); a port that cannot be bound (HTTP, embedded broker; also
 * in the demo) ends the start with a one-line reason and exit 1, never a run without it, never a hang.
 * Timeouts here are guards only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonProcess, MAIN, builtAndModelsPresent } from '../helpers/daemon.js';
import { canConnect } from '../../src/util/net.js';
import { LOCK_FILE } from '../../src/daemon/data-lock.js';

const ready = builtAndModelsPresent();
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Holds a loopback port (another program using it) until the test ends. */
async function holdPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  return (srv.address() as net.AddressInfo).port;
}

/**
 * The child's exit code; 'hung' if it has not exited after a generous guard (then it is killed). Guard
 * only: the demos here run with --duration 600, so one that started would run far past it.
 */
async function exitOf(proc: ChildProcess): Promise<number | null | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c))),
    new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 90_000))),
  ]);
  clearTimeout(timer);
  if (code === 'hung') proc.kill('SIGKILL');
  return code;
}

describe.skipIf(!ready)('start-up faults (real daemon)', () => {
  it('refuses a second daemon on the same data directory; the first goes on and releases the lock at stop', async () => {
    const first = new DaemonProcess({ broker: { port: 0 } });
    cleanups.push(async () => void (await first.stop('SIGKILL')));
    await first.start();
    const dataDir = join(first.dir, 'data');
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);
    const brokerUrl = first.logged('ready').at(-1)!.mqtt as string;

    const second = new DaemonProcess({ broker: { port: 0 }, dataDir });
    cleanups.push(async () => void (await second.stop('SIGKILL')));
    const code = await second.startExpectingExit(60_000);
    expect(code).toBe(1);
    expect(second.stderr).toContain(`data directory ${dataDir} is in use by another anomalyd (pid ${first.proc!.pid})`);
    // It never got as far as the store: no checkpoints restored, no broker, never ready.
    expect(second.lines.some((l) => l.msg === 'ready')).toBe(false);
    expect(second.lines.some((l) => /restored/.test(l.msg))).toBe(false);

    // The first is untouched: still running, its broker still answers, its lock still names it.
    expect(first.exitCode).toBeNull();
    expect(await canConnect(Number(new URL(brokerUrl).port))).toBe(true);
    // The demo empties its data directory at start: on a directory in use it refuses before deleting anything.
    const demo = spawn(process.execPath, [MAIN, 'demo', '--port', '0', '--http-port', '0', '--data-dir', dataDir, '--duration', '600'], {
      cwd: first.dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ANOMALYD_CONFIG: '' },
    });
    let demoErr = '';
    demo.stderr.setEncoding('utf8').on('data', (c: string) => (demoErr += c));
    const demoCode = await exitOf(demo);
    expect(demoCode, demoErr).toBe(1);
    expect(demoErr).toContain(`is in use by another anomalyd (pid ${first.proc!.pid})`);
    expect(existsSync(first.dbPath)).toBe(true);
    expect(first.exitCode).toBeNull();

    expect(await first.stop()).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

    // With the first stopped, the same directory starts again.
    await second.start();
    expect(await second.stop()).toBe(0);
  }, 120_000);

  it('a daemon whose HTTP port is taken does not start (exit 1, one line naming the address and the setting)', async () => {
    const port = await holdPort();
    const d = new DaemonProcess({ broker: { port: 0 }, http: { port } });
    cleanups.push(async () => void (await d.stop('SIGKILL')));
    expect(await d.startExpectingExit(60_000)).toBe(1);
    expect(d.stderr).toContain(`anomalyd: could not start: dashboard/API (HTTP) could not listen on 127.0.0.1:${port}: the port is already in use`);
    expect(d.lines.some((l) => l.msg === 'ready')).toBe(false);
    // The lock was released on the way out.
    expect(existsSync(join(d.dir, 'data', LOCK_FILE))).toBe(false);
  }, 90_000);

  it('a daemon whose embedded broker port is taken does not start', async () => {
    const port = await holdPort();
    const d = new DaemonProcess({ broker: { port } });
    cleanups.push(async () => void (await d.stop('SIGKILL')));
    expect(await d.startExpectingExit(60_000)).toBe(1);
    expect(d.stderr).toContain(`anomalyd: could not start: embedded MQTT broker could not listen on 127.0.0.1:${port}: the port is already in use`);
  }, 90_000);

  it('the demo with its broker port taken ends at once with exit 1 and the reason (no hang)', async () => {
    const port = await holdPort();
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-demo-port-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const proc = spawn(process.execPath, [MAIN, 'demo', '--port', String(port), '--http-port', '0', '--data-dir', join(dir, 'data'), '--duration', '600'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ANOMALYD_CONFIG: '' },
    });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    proc.stdout.resume();
    expect(await exitOf(proc)).toBe(1);
    expect(stderr).toContain(`anomalyd: could not start: embedded MQTT broker could not listen on 127.0.0.1:${port}: the port is already in use`);
    // The plain line names the demo's flag, not the config key.
    const plain = stderr.split('\n').find((l) => l.startsWith('anomalyd: could not start:'));
    expect(plain).toContain('(another process holds it? use --port)');
    // And it is the one line: the demo logs to stderr, where no JSON line with a stack comes before it (tryout 14 #9).
    expect(stderr.split('\n').filter((l) => l !== '')).toEqual([plain]);
  }, 120_000);

  it('`run` with its log and stderr in one place (2>&1, journald) says why it did not start once, without a stack; apart, the log keeps the stack', async () => {
    const port = await holdPort();
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-run-port-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'c.yaml');
    writeFileSync(config, `version: 2\ndataDir: ${JSON.stringify(join(dir, 'data'))}\nbroker: { port: ${port} }\nhttp: { port: 0 }\n`);
    const out = join(dir, 'out.log');
    const fd = openSync(out, 'w');
    const proc = spawn(process.execPath, [MAIN, 'run', '--config', config], { cwd: dir, stdio: ['ignore', fd, fd], env: { ...process.env, ANOMALYD_CONFIG: '' } });
    closeSync(fd);
    expect(await exitOf(proc)).toBe(1);
    const text = readFileSync(out, 'utf8');
    expect(text.split('\n').filter((l) => l.includes('could not start'))).toEqual([
      `anomalyd: could not start: embedded MQTT broker could not listen on 127.0.0.1:${port}: the port is already in use (another process holds it? change broker.port)`,
    ]);
    expect(text).not.toContain('"stack"');
    // Log and stderr apart (the daemon's log to a file or a pipe of its own): the log line with the error stays.
    const d = new DaemonProcess({ broker: { port } });
    cleanups.push(async () => void (await d.stop('SIGKILL')));
    expect(await d.startExpectingExit(60_000)).toBe(1);
    const fatal = d.lines.find((l) => l.msg === 'could not start');
    expect(fatal?.level).toBe(60);
    expect(String((fatal?.err as { stack?: string } | undefined)?.stack)).toContain('EADDRINUSE');
    expect(d.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  }, 120_000);
});
