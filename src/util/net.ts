/** Small loopback helpers shared by the benchmark and the tests (one copy, not one per caller). */
import net from 'node:net';

/**
 * A free TCP port on loopback: bound to port 0, read back and released. Whoever binds it later races every other
 * process on the machine for it (a small window, accepted: the kernel picks port-0 binds from a wide ephemeral
 * range, so the same one seldom comes back soon). Two calls in a row may, rarely, give the same port: for several
 * at once use freePorts.
 * @returns the port number (1024–65535)
 * @throws the socket's error when nothing can bind on 127.0.0.1
 */
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

/**
 * `count` distinct free TCP ports on loopback, for a test that needs several at once (a broker, a proxy, an HTTP
 * API): all are held bound until the last is found, then released together, so no two are the same. As with
 * freePort, whoever binds one later races other processes for it (a small window, accepted).
 * @returns the port numbers, in the order found
 * @throws the socket's error when nothing can bind on 127.0.0.1
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((srv) => (srv.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()))));
  }
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
