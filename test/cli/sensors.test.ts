/**
 * `anomalyd sensors forget` without a daemon at the address its configuration gives (tryout 23, finding 7, the
 * same fault as `status`'s): with no daemon there it changes the stopped daemon's database named by its own
 * configuration, which is not the running daemon's when that one was started with `--config FILE`. When that
 * database does not know the name, the error says where the address and database came from and what to do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sensorsCommand } from '../../src/cli/sensors.js';
import type { CommandContext } from '../../src/cli/context.js';
import { freePort } from '../../src/util/net.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function context(env: NodeJS.ProcessEnv): { ctx: CommandContext; err: () => string } {
  let err = '';
  const ctx: CommandContext = {
    stdout: () => undefined,
    stderr: (s) => void (err += s),
    env,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
  };
  return { ctx, err: () => err };
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
});
