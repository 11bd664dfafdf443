/**
 * `anomalyd status`: asks the running daemon, over its local HTTP API (GET /api/status), how it is doing:
 * uptime, model, MQTT, sensors by state, the outbox depth and the rejected input per reason.
 *
 * Exit status: 0 answered, 1 no daemon answered (or it refused), 2 bad usage or configuration.
 */
import { parseArgs } from 'node:util';
import type { DaemonStatusView } from '../http/view.js';
import { loadConfigOrReport } from './run.js';
import type { CommandContext } from './context.js';

export const STATUS_USAGE = `Usage: anomalyd status [options]

Asks the running daemon how it is doing, over its local HTTP API (GET /api/status): uptime, model, MQTT,
sensors by state (ok, anomalous, learning, stale), alerts waiting for the broker (the outbox depth) and the
rejected input since start, per reason.

Options:
  -c, --config PATH   config file whose http.host, http.port and http.token to use
                      (default: $ANOMALYD_CONFIG, else config/default.yaml)
      --url URL       the daemon's API instead (e.g. http://127.0.0.1:8080)
      --json          print the API's answer as JSON
  -h, --help          this help

Exit status: 0 the daemon answered, 1 no daemon answered at that address, 2 bad usage.
`;

const TIMEOUT_MS = 5_000;

export async function statusCommand(argv: string[], ctx: CommandContext): Promise<number> {
  let values: { config?: string; url?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    ctx.stderr(`anomalyd status: ${(err as Error).message}\n\n${STATUS_USAGE}`);
    return 2;
  }
  if (values.help) {
    ctx.stdout(STATUS_USAGE);
    return 0;
  }
  let base: string;
  let token: string | null = null;
  if (values.url !== undefined) {
    try {
      base = new URL(values.url).origin;
    } catch {
      ctx.stderr(`anomalyd status: --url must be a URL such as http://127.0.0.1:8080, got '${values.url}'\n`);
      return 2;
    }
  } else {
    const config = loadConfigOrReport(values.config, ctx);
    if (!config) return 2;
    if (!config.http.enabled) {
      ctx.stderr('anomalyd status: the HTTP API is disabled (http.enabled: false), and status asks it; enable it or pass --url\n');
      return 2;
    }
    base = apiBase(config.http.host, config.http.port);
    token = config.http.token;
  }
  let res: Response;
  try {
    res = await fetch(`${base}/api/status`, {
      headers: { Accept: 'application/json', ...(token !== null ? { Authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    ctx.stderr(`anomalyd status: no anomalyd answers at ${base} (${cause}); is it running? (anomalyd run)\n`);
    return 1;
  }
  const body = (await res.json().catch(() => null)) as unknown;
  if (!res.ok) {
    const detail = body !== null && typeof body === 'object' && 'error' in body ? String((body).error) : `HTTP ${res.status}`;
    ctx.stderr(`anomalyd status: ${base} answered ${res.status}: ${detail}\n`);
    return 1;
  }
  if (values.json) {
    ctx.stdout(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  ctx.stdout(formatStatus(body as DaemonStatusView, base));
  return 0;
}

/** Where the local API answers for a bind address: a wildcard bind is reached on loopback. */
export function apiBase(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** The status as a few aligned lines for people. */
export function formatStatus(s: DaemonStatusView, base: string): string {
  const by = s.sensors.byStatus;
  const rejections = Object.entries(s.rejections)
    .filter(([, n]) => (n ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([reason, n]) => `${reason} ${n}`);
  const c = s.counters;
  const lines: [string, string][] = [
    ['daemon', `anomalyd ${s.version} at ${base}, up ${duration(s.uptimeMs)} (since ${new Date(s.startedAt).toISOString()})`],
    ['model', s.model ?? 'none (sensors wait for their own)'],
    ['mqtt', `${s.mqtt.url} (${s.mqtt.connected ? 'connected' : 'DISCONNECTED'})`],
    ['sensors', `${s.sensors.total}: ${by.ok} ok, ${by.anomalous} anomalous, ${by.learning} learning, ${by.stale} stale`],
    ['outbox', s.outbox === null ? 'unknown (database closed)' : `${s.outbox.pending} alert(s) waiting for the broker, ${s.outbox.dropped} dropped since start`],
    ['rejected', rejections.length > 0 ? rejections.join(', ') : 'nothing since start'],
    // Readings are scored one by one (there is no per-window counter since the per-reading detector core).
    ['counters', ['received', 'readings', 'scored', 'events', 'commands'].filter((k) => k in c).map((k) => `${k} ${c[k]}`).join(', ')],
  ];
  return lines.map(([k, v]) => `${k.padEnd(10)} ${v}\n`).join('');
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${(s / 86_400).toFixed(1)} d`;
}
