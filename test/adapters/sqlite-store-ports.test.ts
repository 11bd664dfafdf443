/** SqliteStore against the Store ports' behaviour suite, on a real file, with and without group commit. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { describeStore } from '../contract/store-suite.js';

for (const commitIntervalMs of [0, 60_000]) {
  describeStore(`SqliteStore (commitIntervalMs ${commitIntervalMs})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-store-ports-'));
    const store = SqliteStore.open(join(dir, 'anomalyd.db'), { commitIntervalMs, outboxMax: 1000, logger: pino({ level: 'silent' }) });
    return {
      store,
      dispose: () => {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
