/**
 * The real daemon (dist/main.js) started the way systemd starts it: NOTIFY_SOCKET and WATCHDOG_USEC
 * set, with a stand-in `systemd-notify` first on PATH that records every call. Checks the service
 * contract of systemd/anomalyd.service: READY (with our MAINPID) once MQTT is connected, watchdog pings
 * while running, STOPPING on SIGTERM, exit 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';
import { MAIN, MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

/** Every pipeline ping interval is half of this (the daemon pings at WATCHDOG_USEC / 2). */
const WATCHDOG_USEC = 400_000;

describe.skipIf(!builtAndModelsPresent())('daemon under systemd notify', () => {
  let dir: string;
  let proc: ChildProcess | null = null;
  afterEach(() => {
    proc?.kill('SIGKILL');
    proc = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends READY after connecting, pings the watchdog, and STOPPING on SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'anomalyd-notify-'));
    const calls = join(dir, 'calls.log');
    const bin = join(dir, 'bin');
    const fake = join(bin, 'systemd-notify');
    writeFileSync(join(dir, 'config.yaml'), stringify({ version: 1, dataDir: join(dir, 'data'), model: { dir: MODELS }, broker: { port: 0 }, http: { port: 0 } }));
    mkdirSync(bin);
    writeFileSync(fake, `#!/bin/sh\n(IFS='|'; printf '%s\\n' "$*") >> "${calls}"\n`);
    chmodSync(fake, 0o755);
    const readCalls = (): string[][] =>
      existsSync(calls)
        ? readFileSync(calls, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => l.split('|'))
        : [];

    let stdout = '';
    const child = spawn(process.execPath, [MAIN, 'run', '--config', join(dir, 'config.yaml')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ANOMALYD_CONFIG: '',
        PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
        NOTIFY_SOCKET: join(dir, 'notify.sock'),
        WATCHDOG_USEC: String(WATCHDOG_USEC),
      },
    });
    proc = child;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    let exitCode: number | null = null;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    const alive = (): void => {
      if (exitCode !== null) throw new Error(`daemon exited with ${exitCode}:\n${stdout}`);
    };

    await waitFor(
      () => {
        alive();
        return readCalls().some((c) => c.includes('READY=1'));
      },
      30_000,
      'READY=1',
    );
    // READY means "scoring": it may only come once the MQTT client is connected.
    expect(stdout).toMatch(/"msg":"mqtt connected"/);
    const ready = readCalls().find((c) => c.includes('READY=1'))!;
    expect(ready).toContain(`--pid=${child.pid}`);

    await waitFor(
      () => {
        alive();
        return readCalls().filter((c) => c.includes('WATCHDOG=1')).length >= 3;
      },
      30_000,
      'three watchdog pings',
    );

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const all = readCalls();
    const stopAt = all.findIndex((c) => c.includes('STOPPING=1'));
    expect(stopAt).toBeGreaterThan(all.findIndex((c) => c.includes('READY=1')));
    // Once stopping, the heartbeat is off: no ping may follow.
    expect(all.slice(stopAt + 1).some((c) => c.includes('WATCHDOG=1'))).toBe(false);
  });
});
