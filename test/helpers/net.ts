import { waitFor as poll } from '../../src/util/net.js';

export { freePort } from '../../src/util/net.js';

/** The tests poll a little less eagerly than the benchmark: some conditions read SQLite files. */
export function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  return poll(cond, timeoutMs, what, 25);
}
