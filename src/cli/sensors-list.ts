/**
 * `anomalyd sensors list`: the streams the running daemon knows, as GET /api/sensors has them (tryout 26,
 * finding 8: the CLI had only `sensors forget`). One line each, most urgent first (an open episode, then by
 * status), with its status, last reading (value, unit, when), model and open episode; `--json` prints the API's
 * answer as it is. Asks the daemon over its local HTTP API, as `anomalyd status` does: there is no database
 * fallback, as a stopped daemon has no live status.
 *
 * Exit status: 0 listed (none is no error), 1 no daemon answers or it refused, 2 bad usage.
 * Kept apart from src/cli/sensors.ts (forget) so the two change without touching each other.
 */
import { parseArgs } from 'node:util';
import { heldStateText } from '../contract/held-state.js';
import type { SensorView } from '../http/view.js';
import { daemonApiOf, getFromDaemon } from './status.js';
import type { CommandContext } from './context.js';

export const SENSORS_LIST_USAGE = `Usage: anomalyd sensors list [--status S] [--config PATH | --url URL] [--json]

list shows the streams the running daemon knows, most urgent first (an open episode, then anomalous, stale,
learning, ok): each one's status (an on/off stream's, while a state held is not judged yet, with how far:
'ok, learning how long it stays open: 3 / 8 times'), last reading (value and unit, an on/off stream's state: closed, open; and
when), model, and open episode (the id that
'anomalyd anomalies show' takes). It asks the daemon's local HTTP API (GET /api/sensors), as 'anomalyd status'.

Options:
  -c, --config PATH   config file (its http.* to reach the daemon) (default: $ANOMALYD_CONFIG, else config/default.yaml)
      --url URL       the running daemon's API instead (e.g. http://127.0.0.1:8080)
      --status S      only streams of this status (ok, anomalous, stale, learning), or 'open': with an open episode
      --json          print the API's answer ({ "sensors": [...] }) as JSON
  -h, --help          this help

Exit status: 0 listed, 1 no daemon answers (or it refused), 2 bad usage.
`;

const TIMEOUT_MS = 10_000;
const RANK: Readonly<Record<string, number>> = { anomalous: 1, stale: 2, learning: 3, ok: 4 };

/** Whether the stream has an open episode of any kind (a missing-data one leaves it stale, not anomalous). */
function hasOpen(s: SensorView): boolean {
  return (s.openEpisode ?? null) !== null || s.status === 'anomalous';
}

/**
 * The streams as aligned lines for people, most urgent first, then by name (case-insensitive). `now` (epoch ms)
 * dates the last reading as an age.
 */
export function formatSensorList(sensors: readonly SensorView[], now: number): string {
  if (sensors.length === 0) return 'no sensors\n';
  const rank = (s: SensorView): number => (hasOpen(s) ? 0 : (RANK[s.status] ?? 5));
  const sorted = [...sensors].sort((a, b) => rank(a) - rank(b) || a.sensor.toLowerCase().localeCompare(b.sensor.toLowerCase()) || (a.sensor < b.sensor ? -1 : 1));
  const rows = sorted.map((s) => [
    s.sensor,
    statusCell(s),
    lastReading(s),
    s.lastTs === null ? '-' : `${age(now - s.lastTs)} ago`,
    s.model ?? '-',
    (s.openEpisode ?? null) !== null ? String(s.openEpisode).slice(0, 8) : '-',
  ]);
  const head = ['SENSOR', 'STATUS', 'LAST', 'AGE', 'MODEL', 'OPEN'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}

/**
 * The STATUS column: the status, and for an on/off stream whose state held is not judged yet, how far
 * (`ok, learning how long it stays open: 3 / 8 times`: src/contract/held-state.ts; tryout 28, finding 3).
 */
function statusCell(s: SensorView): string {
  const held = s.onOff?.held !== undefined ? heldStateText(s.onOff.held) : null;
  return held === null ? s.status : `${s.status}, ${held}`;
}

/**
 * The LAST column: an on/off stream's state by its name (`closed`, as the dashboard and /api/sensors' `onOff.state`
 * tell it; tryout 27, finding 8: `1` here), else the value at the stream's precision with its unit; `-` before a reading.
 */
function lastReading(s: SensorView): string {
  if (s.value === null) return '-';
  if (s.onOff != null) return s.onOff.state ?? (s.value === 1 ? s.onOff.on : s.value === 0 ? s.onOff.off : String(s.value));
  return `${s.decimals !== undefined && s.decimals !== null ? s.value.toFixed(s.decimals) : String(s.value)}${s.unit !== null ? ` ${s.unit}` : ''}`;
}

/** An age (ms) in one rounded unit: `42 s`, `5 min`, `3 h`, `2 d`; a negative one (a device clock ahead) is `0 s`. */
function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** `anomalyd sensors list …` (argv after `list`). */
export async function sensorsListCommand(argv: string[], ctx: CommandContext): Promise<number> {
  let values: { config?: string; url?: string; status?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, url: { type: 'string' }, status: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    ctx.stderr(`anomalyd sensors list: ${(err as Error).message}\n\n${SENSORS_LIST_USAGE}`);
    return 2;
  }
  if (values.help) {
    ctx.stdout(SENSORS_LIST_USAGE);
    return 0;
  }
  const want = values.status;
  if (want !== undefined && !['ok', 'anomalous', 'stale', 'learning', 'open'].includes(want)) {
    ctx.stderr(`anomalyd sensors list: --status must be ok, anomalous, stale, learning or open, got ${JSON.stringify(want)}\n`);
    return 2;
  }
  const api = daemonApiOf('sensors list', values, ctx);
  if (api === null) return 2;
  const answer = await getFromDaemon(api, '/api/sensors', 'sensors list', ctx, TIMEOUT_MS);
  if (answer === null) return 1;
  if (!answer.ok) {
    ctx.stderr(`anomalyd sensors list: ${api.base} answered ${answer.status}: ${answer.detail}\n`);
    return 1;
  }
  const body = answer.body;
  const all = (body as { sensors: SensorView[] }).sensors;
  const sensors = want === undefined ? all : all.filter((s) => (want === 'open' ? hasOpen(s) : s.status === want));
  if (values.json === true) ctx.stdout(`${JSON.stringify({ sensors }, null, 2)}\n`);
  else ctx.stdout(formatSensorList(sensors, Date.now()));
  return 0;
}
