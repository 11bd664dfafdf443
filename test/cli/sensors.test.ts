/**
 * `anomalyd sensors forget` without a daemon at the address its configuration gives (tryout 23, finding 7, the
 * same fault as `status`'s): with no daemon there it changes the stopped daemon's database named by its own
 * configuration, which is not the running daemon's when that one was started with `--config FILE`. When that
 * database does not know the name, the error says where the address and database came from and what to do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE, SqliteStore } from '../../src/adapters/sqlite-store.js';
import { sensorsCommand } from '../../src/cli/sensors.js';
import type { CommandContext } from '../../src/cli/context.js';
import { freePort } from '../../src/util/net.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function context(env: NodeJS.ProcessEnv): { ctx: CommandContext; err: () => string; out: () => string } {
  let err = '';
  let out = '';
  const ctx: CommandContext = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
  };
  return { ctx, err: () => err, out: () => out };
}

describe('anomalyd sensors forget without a daemon', () => {
  it('names where its address and database came from, and says to pass the same --config, when the name is unknown there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-sensors-'));
    dirs.push(dataDir);
    const port = await freePort();
    const { ctx, err } = context({ ANOMALYD_HTTP_PORT: String(port), ANOMALYD_DATA_DIR: dataDir });
    expect(await sensorsCommand(['forget', 'kitchen/temp'], ctx)).toBe(1);
    expect(err()).toMatch(new RegExp(`no anomalyd answers at http://127\\.0\\.0\\.1:${port}; the database at .+ knows no stream or device "kitchen/temp"`));
    expect(err()).toMatch(/http\.host and http\.port of .+; a daemon started with --config FILE answers where FILE says: pass the same --config FILE \(or set ANOMALYD_CONFIG=FILE\), or --url/);
  });

  it('says how many readings the last stop kept for the next start it dropped with the stream (tryout 37)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-sensors-'));
    dirs.push(dataDir);
    const store = SqliteStore.open(join(dataDir, DB_FILE), { commitIntervalMs: 0, outboxMax: 100, logger: pino({ level: 'silent' }) });
    store.saveSensorStates([{ sensor: 'kitchen/temp', blob: Buffer.from('{}'), updatedAt: 1 }]);
    store.replaceKeptReadings([
      { stream: 'kitchen/temp', items: '{}', readings: 3, keptAt: 1 },
      { stream: 'hall/temp', items: '{}', readings: 5, keptAt: 1 },
    ]);
    store.close();
    const port = await freePort();
    const { ctx, out } = context({ ANOMALYD_HTTP_PORT: String(port), ANOMALYD_DATA_DIR: dataDir });
    expect(await sensorsCommand(['forget', 'kitchen/temp'], ctx)).toBe(0);
    expect(out()).toContain('forgot stream kitchen/temp: 1 stream (kitchen/temp)');
    expect(out()).toContain('  3 readings the last stop kept unscored for the next start dropped with it\n');
    const after = SqliteStore.open(join(dataDir, DB_FILE), { commitIntervalMs: 0, outboxMax: 100, logger: pino({ level: 'silent' }) });
    expect(after.loadKeptReadings().map((r) => r.stream)).toEqual(['hall/temp']);
    after.close();
  });
});
