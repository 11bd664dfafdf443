/**
 * Storage faults during the run: the first one is latched, logged loudly (fatal, with the path and the
 * cause), shown on `<prefix>/status` (`fault`, retained) and /api/status, and ends the run: `failed`
 * resolves, `anomalyd run` stops the daemon and exits with EXIT_STORAGE_FAULT so systemd restarts it.
 * Later faults (every write fails once the disk is full) are counted, not logged again.
 *
 * The database file's identity is checked by a housekeeping task (`databaseFileTask`): SQLite keeps
 * writing into a deleted file without complaint, so only an inode check notices it.
 */
import { existsSync, renameSync } from 'node:fs';
import type { Logger } from 'pino';
import type { StorageError } from '../adapters/storage.js';
import type { FaultView } from '../http/view.js';
import type { HousekeepingTask } from './housekeeping.js';

/** `anomalyd run` exits with this after a storage fault (not 2, which systemd is told never to restart). */
export const EXIT_STORAGE_FAULT = 3;


export class FaultLatch {
  private first: { readonly fault: StorageError; readonly at: number } | null = null;
  private count = 0;
  private resolveFailed: (fault: StorageError) => void = () => undefined;
  /** Resolves with the first fault; never rejects. */
  readonly failed: Promise<StorageError>;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    /** Called once, with the first fault (e.g. to publish the `fault` status). Must not throw. */
    private readonly onFirst: (fault: StorageError) => void,
  ) {
    this.failed = new Promise((resolve) => (this.resolveFailed = resolve));
  }

  /** The first fault, or null while healthy. */
  get fault(): StorageError | null {
    return this.first?.fault ?? null;
  }

  raise(fault: StorageError): void {
    this.count++;
    if (this.first !== null) return;
    this.first = { fault, at: this.now() };
    this.log.fatal(
      { kind: fault.kind, path: fault.path, cause: fault.causeText, hint: fault.hint },
      `storage fault: ${fault.message}. Stopping so that the service restarts; committed anomalies and undelivered alerts stay in the database`,
    );
    try {
      this.onFirst(fault);
    } catch (err) {
      this.log.error({ err }, 'could not announce the storage fault');
    }
    this.resolveFailed(fault);
  }

  view(): FaultView | null {
    if (this.first === null) return null;
    const { fault, at } = this.first;
    return { kind: fault.kind, path: fault.path, cause: fault.causeText, hint: fault.hint, at, count: this.count };
  }
}

/** The housekeeping task that notices a database file deleted or replaced under the running daemon. */
export function databaseFileTask(check: () => StorageError | null, latch: FaultLatch): HousekeepingTask {
  return {
    name: 'database file',
    run: () => {
      const fault = check();
      if (fault !== null) latch.raise(fault);
    },
  };
}

/**
 * After a `deleted` or `replaced` fault, saves what the daemon committed (it lives on in the open
 * connection, WAL included). Call before the store is closed; call the function it returns after.
 * - deleted: written to a temporary file beside the path, then (once the old connection is closed and
 *   has removed its -wal and -shm) renamed to the path, so the restart finds every anomaly and every
 *   undelivered alert;
 * - replaced: written to `<path>.rescued-<time>` beside the replacement, which is left alone; the log says
 *   how to use it.
 * Other faults need no rescue: what was committed is in the file. Never throws.
 */
export function rescueDatabase(
  store: { rescueTo(dest: string): void; leftoverSidecars(): string[] },
  fault: StorageError,
  log: Logger,
  now: () => number,
): () => void {
  if (fault.kind !== 'deleted' && fault.kind !== 'replaced') return () => undefined;
  const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-');
  const dest = fault.kind === 'deleted' ? `${fault.path}.rescue-${stamp}.tmp` : `${fault.path}.rescued-${stamp}`;
  try {
    store.rescueTo(dest);
  } catch (err) {
    log.error({ err, path: dest }, 'could not save the database from the open connection; what this run committed since the file went away is lost');
    return () => undefined;
  }
  return () => {
    try {
      // Our -wal and -shm, left behind by the close: the next open of the path would replay them into the
      // wrong file. Moved aside, never deleted.
      for (const p of store.leftoverSidecars()) renameSync(p, `${p}.stale-${stamp}`);
      if (fault.kind === 'replaced') {
        log.error(
          { path: dest, replacement: fault.path },
          'what this run committed is saved beside the replacement; to keep it (and send its undelivered alerts), stop anomalyd and move it over the replacement',
        );
        return;
      }
      const taken = [fault.path, `${fault.path}-wal`, `${fault.path}-shm`].filter((p) => existsSync(p));
      if (taken.length > 0) {
        log.error({ path: dest, existing: taken }, 'new files appeared at the database path; what this run committed is kept beside them');
        return;
      }
      renameSync(dest, fault.path);
      log.warn({ path: fault.path }, 'database written back to its path from the open connection: nothing committed is lost');
    } catch (err) {
      log.error({ err, path: dest }, `could not put the saved database back; move ${dest} to ${fault.path} by hand`);
    }
  };
}
