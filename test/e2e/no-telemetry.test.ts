/**
 * onnxruntime-node (since 1.29, on Linux) carries Microsoft 1DS telemetry, on unless the process opts out: at the
 * first session it writes a device id and an event store to `$XDG_CACHE_HOME` or `~/.cache/Microsoft/DeveloperTools/
 * .onnxruntime/` (deviceid, onnxruntime.db), `.ses` and `mat-debug-<pid>.log` to `$TMPDIR`, and looks up
 * mobile.events.data.microsoft.com to upload. anomalyd opts out (ORT_DISABLE_TELEMETRY=1, src/adapters/onnxruntime-env.ts)
 * in every process that loads onnxruntime: here the daemon (its inference worker thread, the shipped setting) and
 * `anomalyd replay` (onnxruntime on the main thread), each run with a HOME and TMPDIR of its own and none of the
 * variables onnxruntime reads as an opt-out (CI and the like), so only anomalyd's own setting can keep them empty.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonProcess, MAIN, builtAndModelsPresent } from '../helpers/daemon.js';

const ready = builtAndModelsPresent();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * What onnxruntime reads to decide on telemetry (the opt-out, its unit-test and CI detection; `strings` of
 * libonnxruntime.so.1 1.30.0), all unset, and a HOME and TMPDIR of the test's own.
 */
function cleanEnv(): { env: NodeJS.ProcessEnv; home: string; tmp: string } {
  const home = mkdtempSync(join(tmpdir(), 'anomalyd-home-'));
  const tmp = mkdtempSync(join(tmpdir(), 'anomalyd-tmp-'));
  dirs.push(home, tmp);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, ANOMALYD_CONFIG: '' };
  for (const k of ['ORT_DISABLE_TELEMETRY', 'ORT_RUNNING_UNIT_TESTS', 'XDG_CACHE_HOME', 'CI', 'GITHUB_ACTIONS', 'GITLAB_CI', 'JENKINS_URL', 'TEAMCITY_VERSION', 'TF_BUILD']) {
    env[k] = undefined; // spawn leaves out a variable whose value is undefined
  }
  return { env, home, tmp };
}

/** Every path under `dir`, relative, recursively (directories too). */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe.skipIf(!ready)('no onnxruntime telemetry (real daemon, real onnxruntime)', () => {
  it('the daemon (inference worker thread) leaves HOME and TMPDIR without telemetry files', async () => {
    const { env, home, tmp } = cleanEnv();
    const daemon = new DaemonProcess({ broker: { port: 0 }, model: { worker: true } });
    dirs.push(daemon.dir);
    try {
      await daemon.start(env); // ready = the shipped model's sessions exist
    } finally {
      await daemon.stop('SIGTERM');
    }
    expect(tree(home)).toEqual([]);
    expect(tree(tmp)).toEqual([]);
  });

  it('anomalyd replay (onnxruntime on the main thread) leaves HOME and TMPDIR without telemetry files', async () => {
    const { env, home, tmp } = cleanEnv();
    const work = mkdtempSync(join(tmpdir(), 'anomalyd-replay-'));
    dirs.push(work);
    const csv = join(work, 'room.csv');
    const rows = ['ts,value'];
    for (let i = 0; i < 50; i++) rows.push(`${1_700_000_000_000 + i * 1000},${20 + (i % 5) / 10}`);
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const proc = spawn(process.execPath, [MAIN, 'replay', '--input', csv, '--output', join(work, 'out.csv')], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code, err).toBe(0);
    expect(err).toContain('50 readings scored'); // the model ran
    expect(tree(home)).toEqual([]);
    expect(tree(tmp)).toEqual([]);
  });
});
