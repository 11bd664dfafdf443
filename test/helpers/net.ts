import { waitFor as poll } from '../../src/util/net.js';

export { freePort, freePorts } from '../../src/util/net.js';

/** The tests poll a little less eagerly than the benchmark: some conditions read SQLite files. */
export function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  return poll(cond, timeoutMs, what, 25);
}

/**
 * GET `url` and parse its JSON body. A request sent on a kept-alive socket that the server closed at the same moment
 * (its keepAliveTimeout, which a test process stalled by a loaded machine can outlast between two polls) fails with
 * undici's `UND_ERR_SOCKET` "other side closed" before the server read it: that one is sent again, once, on a new
 * socket. Any other failure, and a non-2xx status, throws.
 */
export async function getJson<T>(url: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    if ((err as { cause?: { code?: unknown } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
    response = await fetch(url);
  }
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
