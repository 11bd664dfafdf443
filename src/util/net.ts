/** Small loopback helpers shared by the benchmark and the tests (one copy, not one per caller). */
import net from 'node:net';

/** A free TCP port on loopback (bound and released; good enough on one machine). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `cond` every `pollMs` until it holds; throws after `timeoutMs`, naming `what`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, pollMs = 10): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** True when something accepts TCP connections on the loopback port. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * The error for a server that could not listen: one line naming what, where and the setting to change
 * (`EADDRINUSE` says "already in use"). The original error is kept as `cause`; `code` is copied.
 */
export function listenError(what: string, setting: string, host: string, port: number, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const why = code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(`${what} could not listen on ${host}:${port}: ${why} (another process holds it? change ${setting})`, { cause: err }), { code });
}
