/**
 * `anomalyd history NAME`: a stream's recent readings, as the dashboard plots them, exported as CSV (or the API's
 * JSON) for a spreadsheet, a notebook or a bug report (tryout 25: "there is no export of reading history"). It asks
 * the running daemon over its local HTTP API, GET /api/sensors/NAME/series (docs/HTTP.md), as `anomalyd status`
 * does: the daemon keeps each stream's newest readings raw and older ones merged into minutes and quarter-hours
 * (src/pipeline/series.ts), for up to 8 days; the export is at the finest resolution the range allows.
 *
 * Exit status: 0 written, 1 no daemon answers / no such stream (the close names are given) / the daemon refused,
 * 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import type { SeriesAnswer } from '../http/view.js';
import { MAX_UNIT_BREAKS } from '../pipeline/series.js';
import { formatDuration } from '../util/duration.js';
import { closeNames } from '../pipeline/names.js';
import { daemonApiOf, getFromDaemon, type DaemonApi } from './status.js';
import type { CommandContext } from './context.js';

export const HISTORY_USAGE = `Usage: anomalyd history NAME [--range 24h] [--json] [--config PATH | --url URL]

history writes a stream's recent readings as CSV on stdout, one row per point, oldest first, as the dashboard
plots them: the newest readings one by one, older ones merged into minutes or quarter-hours (a merged point's
value is the mean of its readings, with their min and max). For example:

  anomalyd history living_room/temperature --range 7d > living_room.csv

Columns: time (ISO 8601, UTC), ts_ms (epoch ms), readings (merged into the point), unit (the unit the point's
readings, min, max, expected and spread are in: the configured one, or the one the hub stated then; empty where
none is known), then per channel its value, min, max (merged points only), expected and spread (the model's
expectation and one spread, empty where it gave none), then surprise (-log10(1 - score), empty while learning),
threshold (as surprise) and anomalous (1 when the point holds a reading of an episode, to its told end: as the
dashboard shades it, not the closing readings that held it open after it). Readings are never
converted: a stream whose hub changed °C -> °F gives rows in °C, then rows in °F, each row saying which, and no
point merges readings of two units. A stream whose unit changed more than ${MAX_UNIT_BREAKS} times has its
readings from before the ${MAX_UNIT_BREAKS}th-last change left out (which unit they are in is no longer known).
A line on stderr says the span, the resolution, the units and what was left out.

It asks the running daemon over its local HTTP API (as 'anomalyd status' does); the readings are the daemon's,
kept in memory and in its checkpoint for up to 8 days.

Options:
  -c, --config PATH   config file whose http.host, http.port and http.token to use
                      (default: $ANOMALYD_CONFIG, else config/default.yaml)
      --url URL       the running daemon's API instead (e.g. http://127.0.0.1:8080)
      --range SPAN    how far back: 1m to 8d, such as 1h, 24h or 7d (default 24h)
      --json          the API's document as it is (GET /api/sensors/NAME/series) instead of CSV
  -h, --help          this help

Exit status: 0 written, 1 no daemon answers, no such stream (the close names are named) or the daemon
refused, 2 bad usage.
`;

const TIMEOUT_MS = 30_000;
/** Points asked for: the API's most (src/http/routes.ts MAX_SERIES_POINTS), so the export is as fine as it can be. */
const POINTS = 5000;

/** `anomalyd history NAME`: see HISTORY_USAGE. Returns the exit status; never throws. */
export async function historyCommand(argv: string[], ctx: CommandContext): Promise<number> {
  let parsed: { values: { config?: string; url?: string; range?: string; json?: boolean; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        url: { type: 'string' },
        range: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    ctx.stderr(`anomalyd history: ${(err as Error).message}\n\n${HISTORY_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.stdout(HISTORY_USAGE);
    return 0;
  }
  const [name, ...extra] = positionals;
  if (name === undefined || name.length === 0 || extra.length > 0) {
    ctx.stderr(`anomalyd history: give one stream name, got ${positionals.length === 0 ? 'none' : positionals.map((p) => `'${p}'`).join(' ')}\n\n${HISTORY_USAGE}`);
    return 2;
  }
  const api = daemonApiOf('history', values, ctx);
  if (api === null) return 2;
  const range = values.range ?? '24h';
  const answer = await getFromDaemon(api, `/api/sensors/${encodeURIComponent(name)}/series?range=${encodeURIComponent(range)}&points=${POINTS}`, 'history', ctx, TIMEOUT_MS);
  if (answer === null) return 1;
  const body = answer.body;
  if (!answer.ok) {
    // A bad --range is the user's (400): the usage's exit status.
    ctx.stderr(`anomalyd history: ${api.base} answered ${answer.status}: ${answer.detail}${answer.status === 404 ? await nearNames(api, name, ctx) : ''}\n`);
    return answer.status === 400 ? 2 : 1;
  }
  if (values.json === true) {
    ctx.stdout(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const series = body as SeriesAnswer;
  ctx.stdout(seriesCsv(series));
  ctx.stderr(`${describe(series, name, range)}\n`);
  return 0;
}

/** `; did you mean 'a', 'b'?` for the daemon's streams close to `name` (closeNames), or '' (none, or not answered). */
async function nearNames(api: DaemonApi, name: string, ctx: CommandContext): Promise<string> {
  const answer = await getFromDaemon(api, '/api/sensors', 'history', ctx, TIMEOUT_MS);
  const sensors = answer?.ok === true ? ((answer.body as { sensors?: { sensor: string }[] }).sensors ?? []) : [];
  const near = closeNames(name, sensors.map((s) => s.sensor).sort());
  return near.length > 0 ? `; did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : '';
}

/** The line on stderr: how many points, of what span, at what resolution, in what units; what was left out. */
function describe(s: SeriesAnswer, name: string, range: string): string {
  const n = s.ts?.length ?? 0;
  const unknown = s.unitKnownFrom !== undefined ? `; readings before ${new Date(s.unitKnownFrom).toISOString()} left out: its unit changed more than ${MAX_UNIT_BREAKS} times since and is no longer known` : '';
  if (n === 0) return `${name}: no reading kept in the last ${range} (a stream silent for that long, or known only from its checkpoint)${unknown}`;
  const first = new Date(s.ts[0]).toISOString();
  const last = new Date(s.ts[n - 1]).toISOString();
  const how = s.resolutionMs > 0 ? `merged into points of up to ${formatDuration(s.resolutionMs)} from the ${s.source}` : 'every reading';
  const units = [...new Set((s.unit ?? []).filter((u): u is string => u !== null))];
  const inUnits = units.length > 1 ? `, in ${units.join(' then ')} (see the unit column; readings are not converted)` : '';
  return `${name}: ${n} point${n === 1 ? '' : 's'} from ${first} to ${last}, ${how}${inUnits}${unknown}`;
}

const cell = (v: number | null | undefined): string | number => (v === null || v === undefined ? '' : v);

/**
 * A series as CSV text (RFC 4180 by csv-stringify; a header row first): time (ISO 8601 UTC), ts_ms, readings, unit
 * (the point's, SeriesAnswer.unit: its readings' unit, never converted; empty where none is known or the answer has
 * none), then per channel C of `s.channels` `C`, `C_min`, `C_max`, `C_expected`, `C_spread` (a single channel named
 * `value`: value, min, …), then surprise, threshold, anomalous (1 / 0). Nulls are empty cells. Pure.
 */
export function seriesCsv(s: SeriesAnswer): string {
  const channels = s.channels ?? [];
  const col = (c: string, what: string): string => (channels.length === 1 && c === 'value' ? what : what === 'value' ? c : `${c}_${what}`);
  const header = ['time', 'ts_ms', 'readings', 'unit'];
  for (const c of channels) header.push(col(c, 'value'), col(c, 'min'), col(c, 'max'), col(c, 'expected'), col(c, 'spread'));
  header.push('surprise', 'threshold', 'anomalous');
  const rows: (string | number)[][] = [header];
  for (let i = 0; i < (s.ts?.length ?? 0); i++) {
    const row: (string | number)[] = [new Date(s.ts[i]).toISOString(), s.ts[i], s.count[i], s.unit?.[i] ?? ''];
    channels.forEach((_, c) => row.push(cell(s.value[c]?.[i]), cell(s.min[c]?.[i]), cell(s.max[c]?.[i]), cell(s.expected[c]?.[i]), cell(s.spread[c]?.[i])));
    row.push(cell(s.surprise[i]), cell(s.threshold[i]), s.anomalous[i] ? 1 : 0);
    rows.push(row);
  }
  return stringify(rows);
}
