/**
 * One daemon per data directory: an exclusive lock file (`anomalyd.lock`, holding the owner's pid) taken
 * before the store is opened and removed at stop. A lock left by a process that is gone (crash, kill -9,
 * power cut) is taken over; one held by a live process refuses the start with DataDirLockedError.
 * Created with open(O_CREAT | O_EXCL) ('wx'), so two starts racing for it cannot both win.
 *
 * The file holds `<pid> <boot id> <start time>` (Linux: /proc/sys/kernel/random/boot_id and field 22 of
 * /proc/<pid>/stat, clock ticks since boot), so a pid reused by another process after a reboot or a crash
 * (small pids come back soon after a Pi boots) is not taken for the owner: the lock is stale unless the
 * process with that pid is the very process that wrote it. Where /proc is not available, the pid alone.
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

/** `<boot id> <start time>` of a process (see the module's comment), or null where /proc cannot tell. */
export function processIdentity(pid: number): string | null {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or parentheses: fields after the last ')'.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return boot !== '' && start !== undefined && /^\d+$/.test(start) ? `${boot} ${start}` : null;
  } catch {
    return null;
  }
}

/** What a lock file says: its pid (null when unreadable or not a pid: a half-written file, stale) and identity. */
function holderOf(path: string): { pid: number; identity: string | null } | null {
  try {
    const [first, ...rest] = readFileSync(path, 'utf8').trim().split(' ');
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? { pid, identity: rest.length > 0 ? rest.join(' ') : null } : null;
  } catch {
    return null;
  }
}

/** True when the lock's writer still runs: its pid is alive and (where both are known) is the same process. */
function holds(holder: { pid: number; identity: string | null }): boolean {
  if (!alive(holder.pid)) return false;
  const now = holder.identity === null ? null : processIdentity(holder.pid);
  return holder.identity === null || now === null || now === holder.identity;
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
   * Takes the lock, taking over a stale one (its pid is not running, or runs another process). Throws DataDirLockedError when a
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
          const holder = holderOf(this.path);
          if ((err as NodeJS.ErrnoException).code === 'EEXIST' && holder !== null) throw new DataDirLockedError(this.dataDir, holder.pid);
          throw err;
        }
        const holder = holderOf(this.path);
        if (holder !== null && holds(holder)) throw new DataDirLockedError(this.dataDir, holder.pid);
        // Stale: its owner is gone. Remove it and try again (a racing start may win; then it is live).
        rmSync(this.path, { force: true });
        continue;
      }
      try {
        const identity = processIdentity(process.pid);
        writeSync(fd, `${process.pid}${identity === null ? '' : ` ${identity}`}\n`);
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
      if (holderOf(this.path)?.pid === process.pid) rmSync(this.path, { force: true });
    } catch {
      // Nothing to do: a lock left behind names a dead pid and is taken over at the next start.
    }
  }
}
