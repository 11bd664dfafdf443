/**
 * Unsafe exposure, refused when the config is loaded (`check-config` and `run` alike): a dashboard/API on
 * a network address without a token, an embedded broker on a network address that lets anyone in, and
 * secrets too short to resist guessing. `insecure: true` waives these checks for a lab; the daemon then
 * logs every waived problem at `warn` at each start (`waivedExposure` in schema.ts).
 *
 * The checks are on the config alone (no DNS, no interface lookup): only literal loopback addresses and
 * `localhost` count as loopback; any other name or address is treated as reachable from the network.
 */
import type { Config } from './schema.js';

/** Shortest secret (token, password) accepted without `insecure: true`, in characters. */
export const MIN_SECRET_CHARS = 16;

/** The embedded broker's login for the daemon's own client: reserved, so no configured role may use it. */
export const DAEMON_BROKER_USERNAME = 'anomalyd-daemon';

/** True for addresses that only this device can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  // An IPv4-mapped IPv6 loopback, ::ffff:127.x.y.z.
  return /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** One refused setting: the dotted path to report and what is wrong with it, including how to fix it. */
export type ExposureProblem = readonly [path: string, message: string];

function valueAt(config: Config, path: readonly string[]): unknown {
  let value: unknown = config;
  for (const key of path) value = (value as Record<string, unknown> | null)?.[key];
  return value;
}

/**
 * Every unsafe-exposure problem of a config, whether or not `insecure` waives it. Each message says how
 * to fix it. `secretPaths` are the settings marked secret in the schema (schema.ts passes them). Pure.
 */
export function exposureProblems(config: Config, secretPaths: ReadonlyArray<readonly string[]>): ExposureProblem[] {
  const out: ExposureProblem[] = [];
  const { http, broker, mqtt } = config;
  if (http.enabled && !isLoopbackHost(http.host) && http.token === null) {
    out.push([
      'http.token',
      `is required when http.host (${http.host}) is not a loopback address: anyone on the network could read the history and mark anomalies. ` +
        'Set it to a long random string (openssl rand -hex 32), or bind 127.0.0.1 and reach the dashboard through an SSH tunnel',
    ]);
  }
  const embedded = broker.enabled && mqtt.url === null;
  if (embedded && !isLoopbackHost(broker.host) && broker.username === null) {
    out.push([
      'broker.username',
      `is required when broker.host (${broker.host}) is not a loopback address: without it anyone on the network could publish readings. ` +
        'Set broker.username and broker.password (the sensors\' login), or bind broker.host to 127.0.0.1',
    ]);
  }
  for (const path of secretPaths) {
    const value = valueAt(config, path);
    if (typeof value !== 'string') continue;
    // Whitespace guesses nothing: a secret of spaces (or padded to length) counts only its other characters.
    const counted = [...value.replace(/\s/gu, '')].length;
    if (counted < MIN_SECRET_CHARS) {
      out.push([
        path.join('.'),
        `${counted === [...value].length ? `is ${counted} characters long` : `has ${counted} characters other than whitespace`}; secrets must have at least ${MIN_SECRET_CHARS} (generate one with: openssl rand -hex 32)`,
      ]);
    }
  }
  return out;
}
