/**
 * Storage faults, named and explained: the data directory made safely (Node's recursive mkdir spins for
 * ever under /proc), kernel pseudo-filesystems refused, writability checked, SQLite and file-system
 * errors turned into one error type that names the path, the cause and what to do, and the identity
 * (device, inode) of the database file kept so that a file deleted or replaced under a running daemon
 * is noticed. docs/DEPLOY.md, "Storage faults", says what the daemon does with each.
 */
import { accessSync, constants, mkdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, parse, resolve } from 'node:path';

/** What went wrong with the database file or its directory. */
export type StorageFaultKind = 'read_only' | 'disk_full' | 'io_error' | 'not_a_database' | 'missing_dir' | 'deleted' | 'replaced' | 'pseudo_fs';

/** A storage problem at start or during the run. The message names the path, the cause and the fix. */
export class StorageError extends Error {
  constructor(
    readonly kind: StorageFaultKind,
    /** The file or directory concerned. */
    readonly path: string,
    /** The underlying cause, e.g. `SQLITE_READONLY: attempt to write a readonly database` or `EACCES: …`. */
    readonly causeText: string,
    readonly hint: string,
  ) {
    super(`${path}: ${causeText}; ${hint}`);
    this.name = 'StorageError';
  }
}

/** Filesystems that hold no data: a data dir there can never work (statfs f_type magic numbers). */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x62656570, 'configfs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
]);

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  const msg = e instanceof Error ? e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '') : String(err);
  return `${code}${msg}`;
}

function whoAmI(): string {
  return typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'this user';
}

/** The name of the pseudo-filesystem `path` (an existing directory) lives on, or null for real storage. */
function pseudoFsOf(path: string): string | null {
  try {
    return PSEUDO_FS.get(Number(statfsSync(path).type)) ?? null;
  } catch {
    return null;
  }
}

/**
 * Makes `dir` (and its missing parents) one level at a time, so a path under a kernel filesystem fails
 * at once instead of spinning (`mkdirSync(p, { recursive: true })` never returns for /proc/…), then checks
 * it is a writable directory on real storage. Throws StorageError naming the path and the cause.
 */
export function ensureDataDir(dir: string): string {
  const full = resolve(dir);
  // Walk up to the deepest ancestor that exists.
  const missing: string[] = [];
  let existing = full;
  const root = parse(full).root;
  for (;;) {
    try {
      const st = statSync(existing);
      if (!st.isDirectory()) {
        throw new StorageError('missing_dir', existing, 'not a directory', `dataDir must be a directory; ${existing} is a file`);
      }
      break;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || existing === root) {
        throw new StorageError('missing_dir', existing, errnoText(err), `check dataDir (${full}) and the permissions of its parents for ${whoAmI()}`);
      }
      missing.unshift(existing);
      existing = dirname(existing);
    }
  }
  const pseudo = pseudoFsOf(existing);
  if (pseudo !== null) {
    throw new StorageError('pseudo_fs', full, `${existing} is on the kernel's ${pseudo} filesystem, which holds no files`, 'set dataDir to a directory on a disk, e.g. /var/lib/anomalyd');
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new StorageError('missing_dir', d, `cannot create directory: ${errnoText(err)}`, `create ${full} and give it to ${whoAmI()}, or set dataDir elsewhere`);
    }
  }
  assertWritableDir(full);
  return full;
}

/** Throws StorageError unless `dir` is a directory this process can create files in. */
export function assertWritableDir(dir: string): void {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new StorageError(
      'read_only',
      dir,
      `directory not writable: ${errnoText(err)}`,
      `SQLite creates its -wal and -shm files beside the database: give ${dir} to ${whoAmI()} (e.g. chown anomalyd: ${dir}) or remount it read-write`,
    );
  }
}

/** Throws StorageError when the database file exists and this process cannot write it (or its -wal / -shm). */
export function assertWritableFile(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      accessSync(p, constants.F_OK);
    } catch {
      continue;
    }
    try {
      accessSync(p, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new StorageError('read_only', p, `file not writable: ${errnoText(err)}`, `give it to ${whoAmI()} (e.g. chown anomalyd: ${p}; chmod 0640 ${p}) or remount the filesystem read-write`);
    }
  }
}

/** The kind of storage fault a SQLite or file-system error is, or null when it is not one (a bug, a constraint). */
export function storageFaultKind(err: unknown): StorageFaultKind | null {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'read_only';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return 'disk_full';
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO' || code.startsWith('SQLITE_CANTOPEN')) return 'io_error';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'not_a_database';
  return null;
}

const HINTS: Record<StorageFaultKind, string> = {
  read_only: 'the database file or its directory is read-only for this user, or the filesystem was remounted read-only (an SD card does that after I/O errors): fix the permissions or the mount',
  disk_full: 'the disk is full: free space (journalctl --vacuum-size, old backups) and the service starts again',
  io_error: 'the disk or SD card failed a read or write: check dmesg and the card',
  not_a_database: 'the file is damaged or not a SQLite database: restore a backup (docs/DEPLOY.md, Backup) or move it away',
  missing_dir: 'check dataDir',
  deleted: 'the database file was deleted while anomalyd ran',
  replaced: 'the database file was replaced while anomalyd ran',
  pseudo_fs: 'set dataDir to a directory on a disk',
};

/** Wraps any error about `path` into a StorageError (itself when it already is one). */
export function asStorageError(err: unknown, path: string, kind: StorageFaultKind = storageFaultKind(err) ?? 'io_error'): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const cause = typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
  return new StorageError(kind, path, cause, `${HINTS[kind]} (running as ${whoAmI()})`);
}

/** Device and inode of a file: the same path with another identity is another file. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

export function fileIdentity(path: string): FileIdentity | null {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/**
 * Compares the file at `path` with the identity it had when it was opened: a StorageError when it is gone
 * (`deleted`) or is another file (`replaced`), null while it is the same file.
 */
export function checkFileIdentity(path: string, opened: FileIdentity): StorageError | null {
  let now: FileIdentity;
  try {
    const st = statSync(path);
    now = { dev: st.dev, ino: st.ino };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
    return new StorageError('deleted', path, 'the database file was deleted while the daemon ran', 'anomalyd stops; what it committed is written back to this path first, so nothing is lost');
  }
  if (now.dev === opened.dev && now.ino === opened.ino) return null;
  return new StorageError(
    'replaced',
    path,
    `the database file was replaced while the daemon ran (inode ${opened.ino} -> ${now.ino})`,
    'anomalyd stops and keeps the new file; what it had committed is saved beside it as a .rescued file',
  );
}
