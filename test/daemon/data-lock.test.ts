/** The data-directory lock on a real file system: taken, refused while its holder lives, taken over when stale. */
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLock, DataDirLockedError, LOCK_FILE, processIdentity } from '../../src/daemon/data-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'anomalyd-lock-'));
  dirs.push(d);
  return join(d, 'data');
}

describe('DataDirLock', () => {
  it('makes the directory, writes its pid and removes the file at release', () => {
    const dir = dataDir();
    const lock = new DataDirLock(dir);
    lock.acquire();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').split(' ')[0].trim()).toBe(String(process.pid));
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('refuses while a live process holds it, naming the directory and that pid', async () => {
    const dir = dataDir();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const a = new DataDirLock(dir);
      a.acquire();
      writeFileSync(join(dir, LOCK_FILE), `${holder.pid}\n`);
      const b = new DataDirLock(dir);
      expect(() => b.acquire()).toThrow(DataDirLockedError);
      expect(() => b.acquire()).toThrow(`data directory ${dir} is in use by another anomalyd (pid ${holder.pid})`);
      // Releasing a lock that now names another process leaves it alone.
      a.release();
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(holder.pid));
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
  });

  it('takes over a stale lock whose process is gone, and one that holds no pid', () => {
    const dir = dataDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    expect(deadPid).toBeGreaterThan(0);
    new DataDirLock(dir).acquire();
    writeFileSync(join(dir, LOCK_FILE), `${deadPid}\n`);
    const lock = new DataDirLock(dir);
    lock.acquire();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').split(' ')[0].trim()).toBe(String(process.pid));
    lock.release();
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    const again = new DataDirLock(dir);
    again.acquire();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').split(' ')[0].trim()).toBe(String(process.pid));
    again.release();
  });
  it.skipIf(processIdentity(process.pid) === null)('a pid that now runs another process (reused after a reboot) is stale; the very writer is not', async () => {
    const dir = dataDir();
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      new DataDirLock(dir).acquire();
      // The writer was a process of another boot (or started at another time) under the pid now taken by `other`.
      writeFileSync(join(dir, LOCK_FILE), `${other.pid} 00000000-0000-0000-0000-000000000000 1\n`);
      const lock = new DataDirLock(dir);
      lock.acquire();
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid} ${processIdentity(process.pid)}\n`);
      lock.release();
      // Written by `other` itself: refused.
      writeFileSync(join(dir, LOCK_FILE), `${other.pid} ${processIdentity(other.pid!)}\n`);
      expect(() => new DataDirLock(dir).acquire()).toThrow(DataDirLockedError);
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
  });
});
