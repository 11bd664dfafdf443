/**
 * A start refused because the data directory is in use (src/daemon/data-lock.ts) never ran: its log must not end in
 * `stopped` with `clean: true` (tryout of the thirty-seventh session, finding 4). The daemon in-process on a data
 * directory whose lock this test holds.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirLock } from '../../src/daemon/data-lock.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { capturingLogger, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';

const cleanups = useCleanups();

describe.skipIf(!builtAndModelsPresent())('a start refused for a data directory in use', () => {
  it('logs that the start failed (started: false, clean: false), never `stopped` clean', async () => {
    const dataDir = join(tempDataDir('anomalyd-start-refused-', cleanups), 'data');
    const holder = new DataDirLock(dataDir);
    holder.acquire();
    cleanups.push(() => holder.release());
    const log = capturingLogger();
    await expect(inProcessDaemon({ dataDir, brokerUrl: null, clock: null, logger: log.logger, cleanups })).rejects.toThrow(/is in use by another anomalyd/);
    expect(log.lines.filter((l) => l.msg === 'stopped')).toEqual([]);
    expect(log.lines.find((l) => l.msg.startsWith('start failed'))).toMatchObject({ started: false, clean: false });
  });
});
