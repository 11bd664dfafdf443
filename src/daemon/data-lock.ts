/**
 * One daemon per data directory: an exclusive lock file (`anomalyd.lock`, holding the owner's pid) taken
 * before the store is opened and removed at stop. A lock left by a process that is gone (crash, kill -9,
 * power cut) is taken over; one held by a live process refuses the start with DataDirLockedError.
 * Created with open(O_CREAT | O_EXCL) ('wx'), so two starts racing for it cannot both win.
 */
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDataDir } from '../adapters/storage.js';

export const LOCK_FILE = 'anomalyd.lock';

/** Thrown when another live process holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`data directory ${dataDir} is in use by another anomalyd (pid ${pid}); stop it first, or give this one its own dataDir`);
    this.name = 'DataDirLockedError';
  }
}

/** True when a process with this pid exists (EPERM: it exists, owned by another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock file; null when it is unreadable or not a pid (a half-written file: treated as stale). */
function holderOf(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The lock of one data directory, held by this process between acquire() and release(). */
export class DataDirLock {
  readonly path: string;
  private held = false;

  /** `dataDir`: absolute path of the data directory (made if missing). */
  constructor(readonly dataDir: string) {
    this.path = join(dataDir, LOCK_FILE);
  }

  /**
   * Takes the lock, taking over a stale one (its pid is not running). Throws DataDirLockedError when a
   * live process holds it (this very process included: two daemons in one process on one dir), and
   * StorageError (src/adapters/storage.ts) when the directory cannot be made or written.
   */
  acquire(): void {
    if (this.held) return;
    // Made safely and checked (a path under /proc, a read-only directory): a StorageError naming the path.
    ensureDataDir(this.dataDir);
    for (let attempt = 0; ; attempt++) {
      let fd: number;
      try {
        fd = openSync(this.path, 'wx', 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) {
          const pid = holderOf(this.path);
          if ((err as NodeJS.ErrnoException).code === 'EEXIST' && pid !== null) throw new DataDirLockedError(this.dataDir, pid);
          throw err;
        }
        const pid = holderOf(this.path);
        if (pid !== null && alive(pid)) throw new DataDirLockedError(this.dataDir, pid);
        // Stale: its owner is gone. Remove it and try again (a racing start may win; then it is live).
        rmSync(this.path, { force: true });
        continue;
      }
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      this.held = true;
      return;
    }
  }

  /** Removes the lock file if this process still owns it. Idempotent; never throws. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      if (holderOf(this.path) === process.pid) rmSync(this.path, { force: true });
    } catch {
      // Nothing to do: a lock left behind names a dead pid and is taken over at the next start.
    }
  }
}
