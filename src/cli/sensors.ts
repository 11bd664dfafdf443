/**
 * `anomalyd sensors forget NAME`: the operator retires a stream, or every stream of a device (src/daemon/forget.ts).
 * While the daemon runs it asks it over its local HTTP API (POST /api/sensors/NAME/forget, else
 * /api/devices/NAME/forget), as `anomalyd status` does; when no daemon answers and none holds the data directory
 * (its lock, src/daemon/data-lock.ts), it works on the database itself, holding that lock meanwhile (forgetStored:
 * the resolve waits in the outbox for the next start).
 *
 * Exit status: 0 forgotten, 1 no such stream or device / the daemon refused / database trouble, 2 bad usage.
 */
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DB_FILE, SqliteStore } from '../adapters/sqlite-store.js';
import { topics as buildTopics } from '../contract/alerts.js';
import { DataDirLock, DataDirLockedError } from '../daemon/data-lock.js';
import { forgetStored, type ForgetResult } from '../daemon/forget.js';
import type { ForgetAnswer } from '../http/view.js';
import { closeNames } from '../pipeline/names.js';
import { apiBase, urlFlagOrigin } from './status.js';
import { loadConfigFileOrReport, sameConfigHint } from './run.js';
import type { CommandContext } from './context.js';
import { sensorsListCommand } from './sensors-list.js';

export const SENSORS_USAGE = `Usage: anomalyd sensors forget NAME [--device] [--config PATH | --url URL]
       anomalyd sensors list [--status S] [--config PATH | --url URL] [--json]   (anomalyd sensors list --help)

forget retires a stream (plug-washer/ENERGY.Power), or with --device every stream of a device (plug-washer):
for a sensor that was removed or renamed. Its open episode (a dead sensor's 'missing data' stays open for good
otherwise) is resolved with the resolution 'forgotten', stored and then published like any resolve; its retained
state topic is cleared and, with Home Assistant discovery, its entities removed; its state, model state and
checkpoint are dropped. Its history stays: 'anomalyd anomalies list --sensor NAME' still lists its episodes. If
it sends again, it starts over as a new stream (learning period first). Without --device, a NAME that is no
stream but a device is taken as the device.

While the daemon runs, forget asks it over its local HTTP API (as 'anomalyd status' does). When no daemon answers
and none holds the data directory, it works on the database itself: the resolve is published, and the retained
topics cleared, at the next start; readings the last stop kept unscored for the next start go too (their count is
said).

Options:
  -c, --config PATH   config file (its http.* to reach the daemon, its dataDir when the daemon is stopped)
                      (default: $ANOMALYD_CONFIG, else config/default.yaml)
      --url URL       the running daemon's API instead (e.g. http://127.0.0.1:8080); no database fallback
      --device        NAME is a device: forget every stream of it
      --json          print what was forgotten as JSON
  -h, --help          this help

Exit status: 0 forgotten, 1 no such stream or device (the close known names are named), the daemon refused, or
database trouble, 2 bad usage.
`;

const TIMEOUT_MS = 10_000;

/** `anomalyd sensors <action>`: `forget`, and `list` (src/cli/sensors-list.ts). */
export async function sensorsCommand(argv: string[], ctx: CommandContext): Promise<number> {
  if (argv[0] === 'list') return sensorsListCommand(argv.slice(1), ctx);
  let parsed: { values: { config?: string; url?: string; device?: boolean; json?: boolean; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        url: { type: 'string' },
        device: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    ctx.stderr(`anomalyd sensors: ${(err as Error).message}\n\n${SENSORS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.stdout(SENSORS_USAGE);
    return 0;
  }
  const [action, name, ...extra] = positionals;
  if (action !== 'forget' || name === undefined || name.length === 0 || extra.length > 0) {
    ctx.stderr(`anomalyd sensors: unexpected arguments: ${positionals.join(' ') || '(none)'}\n\n${SENSORS_USAGE}`);
    return 2;
  }
  const device = values.device === true;
  let base: string;
  let token: string | null = null;
  let dataDir: string | null = null;
  if (values.url !== undefined) {
    const origin = urlFlagOrigin('sensors', values.url, ctx);
    if (origin === null) return 2;
    base = origin;
  } else {
    const loaded = loadConfigFileOrReport(values.config, ctx);
    if (!loaded) return 2;
    const config = loaded.config;
    dataDir = resolve(config.dataDir);
    base = config.http.enabled ? apiBase(config.http.host, config.http.port) : '';
    token = config.http.token;
    if (base === '') return offline(dataDir, config.mqtt.topicPrefix, name, device, values.json === true, ctx, 'the HTTP API is disabled (http.enabled: false)');
    const asked = await askDaemon(base, token, name, device, ctx);
    // No daemon at this configuration's address: its database is changed instead, which is not a running daemon's
    // when that one was started with another --config; an unknown name there says so (sameConfigHint).
    if (asked === 'unreachable') return offline(dataDir, config.mqtt.topicPrefix, name, device, values.json === true, ctx, `no anomalyd answers at ${base}`, sameConfigHint(loaded.file));
    return report(asked, values.json === true, ctx);
  }
  const asked = await askDaemon(base, token, name, device, ctx);
  if (asked === 'unreachable') {
    ctx.stderr(`anomalyd sensors: no anomalyd answers at ${base}; is it running? (without --url, a stopped daemon's database is changed instead)\n`);
    return 1;
  }
  return report(asked, values.json === true, ctx);
}

/** The daemon's answer: what it forgot, an exit status after an error said, or unreachable (no daemon there). */
async function askDaemon(base: string, token: string | null, name: string, device: boolean, ctx: CommandContext): Promise<ForgetAnswer | number | 'unreachable'> {
  const post = async (route: 'sensors' | 'devices'): Promise<{ status: number; body: unknown } | 'unreachable'> => {
    try {
      const res = await fetch(`${base}/api/${route}/${encodeURIComponent(name)}/forget`, {
        method: 'POST',
        headers: { Accept: 'application/json', ...(token !== null ? { Authorization: `Bearer ${token}` } : {}) },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as unknown };
    } catch {
      return 'unreachable';
    }
  };
  let answer = await post(device ? 'devices' : 'sensors');
  // A NAME that is no stream may be a device (the daemon's 404 says so, or names no close stream).
  if (!device && answer !== 'unreachable' && answer.status === 404) {
    const asDevice = await post('devices');
    if (asDevice !== 'unreachable' && asDevice.status !== 404) answer = asDevice;
  }
  if (answer === 'unreachable') return 'unreachable';
  if (answer.status === 200) return answer.body as ForgetAnswer;
  const body = answer.body;
  const detail = body !== null && typeof body === 'object' && 'error' in body ? String((body).error) : `HTTP ${answer.status}`;
  ctx.stderr(`anomalyd sensors: ${base} answered ${answer.status}: ${detail}\n`);
  return 1;
}

/**
 * With no daemon running: forgets in the database, holding the data directory's lock (a daemon cannot start meanwhile).
 * `why`: what led here (first words of every message); `hint`: a line (with its newline) added when the database does not
 * know the name, e.g. sameConfigHint (this database may not be a daemon's started with another --config). Returns the exit status.
 */
function offline(dataDir: string, prefix: string, name: string, device: boolean, json: boolean, ctx: CommandContext, why: string, hint = ''): number {
  const lock = new DataDirLock(dataDir);
  try {
    lock.acquire();
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      ctx.stderr(`anomalyd sensors: ${why}, but an anomalyd (pid ${err.pid}) holds ${dataDir}: ask it over its API (--url) or stop it first\n`);
    } else ctx.stderr(`anomalyd sensors: cannot lock ${dataDir}: ${(err as Error).message}\n`);
    return 1;
  }
  let store: SqliteStore | null = null;
  try {
    const dbPath = join(dataDir, DB_FILE);
    store = SqliteStore.open(dbPath, { commitIntervalMs: 0, outboxMax: 1_000_000, logger: pino({ level: 'silent' }) });
    const t = buildTopics(prefix);
    const by = `cli:${userName()}`;
    let done: ForgetResult | null = forgetStored(store, { kind: device ? 'device' : 'stream', name, by }, (s) => t.alerts(s));
    if (done === null && !device) done = forgetStored(store, { kind: 'device', name, by }, (s) => t.alerts(s));
    if (done === null) {
      const known = store.knownNames();
      const near = closeNames(name, [...(device ? known.devices : known.streams)]);
      ctx.stderr(`anomalyd sensors: ${why}; the database at ${dbPath} knows no ${device ? 'device' : 'stream or device'} ${JSON.stringify(name)} with a checkpoint or an open episode${near.length > 0 ? ` (close: ${near.map((n) => JSON.stringify(n)).join(', ')})` : ''}\n${hint}`);
      return 1;
    }
    ctx.stderr(`anomalyd sensors: ${why}: forgotten in the database (${dbPath}); the resolve is published, and its retained topics cleared, at the next start\n`);
    return report(done, json, ctx);
  } catch (err) {
    ctx.stderr(`anomalyd sensors: ${(err as Error).message}\n`);
    return 1;
  } finally {
    store?.close();
    lock.release();
  }
}

function report(done: ForgetAnswer | ForgetResult | number, json: boolean, ctx: CommandContext): number {
  if (typeof done === 'number') return done;
  if (json) {
    ctx.stdout(`${JSON.stringify(done, null, 2)}\n`);
    return 0;
  }
  const what = done.kind === 'device' ? `device ${done.name}` : `stream ${done.name}`;
  ctx.stdout(`forgot ${what}: ${done.streams.length} stream${done.streams.length === 1 ? '' : 's'} (${done.streams.join(', ')})\n`);
  for (const r of done.resolved) ctx.stdout(`  resolved ${r.anomalyId.slice(0, 8)} of ${r.sensor} (forgotten)\n`);
  if (done.resolved.length === 0) ctx.stdout('  no open episode\n');
  // With the daemon stopped: readings its last stop kept for the next start, dropped with the streams (tryout 37).
  const kept = 'keptDropped' in done ? (done.keptDropped ?? 0) : 0;
  if (kept > 0) ctx.stdout(`  ${kept} reading${kept === 1 ? '' : 's'} the last stop kept unscored for the next start dropped with ${done.streams.length === 1 ? 'it' : 'them'}\n`);
  return 0;
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
