/**
 * `anomalyd anomalies ...`: the operator's view of the anomaly history, and the same marks the MQTT
 * commands set (ack, false alarm, unmark). Works on the daemon's SQLite file, also while the daemon
 * runs: WAL lets this connection read beside it, and a mark waits (busy timeout) for the daemon's
 * group commit rather than failing.
 *
 * Exit status: 0 done, 1 no such anomaly or database trouble, 2 bad usage or configuration.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { DB_FILE, SqliteStore } from '../adapters/sqlite-store.js';
import type { AnomalyHistory, AnomalyMark, AnomalyRecord, AnomalyStatus, AnomalyWithEvents } from '../contract/store.js';
import { MAX_NOTE_CHARS } from '../pipeline/commands.js';
import { parseSince, SINCE_FORMS } from '../util/time.js';
import { surpriseOf } from '../contract/surprise.js';
import { loadConfigOrReport } from './run.js';

export { parseSince };
import type { CommandContext } from './context.js';

/** The shortest prefix of an anomaly id the CLI takes (the demo prints an id's first 8 characters). */
export const MIN_ID_PREFIX = 8;

export const ANOMALIES_USAGE = `Usage: anomalyd anomalies <action> [options]

Actions:
  list [--sensor S] [--status open|resolved] [--since TIME] [--limit N] [--json]
                             episodes, newest start first; --since TIME keeps those going on at some time
                             since then: still open (however long ago they started) or ended at or after it
                             (TIME: an age such as 10m, 24h, 7d, or an ISO 8601 time); PEAK_SURPRISE is
                             the episode's peak as a surprise, -log10(1 - peak score): 5 = one reading in
                             100,000 is this unusual (the default threshold), up to 16 (the score is then 1);
                             --json prints what GET /api/anomalies answers: {"anomalies": [...]}, each
                             with peakScore and peakSurprise
  show ID [--json]           one episode: its sentence (what), events and operator mark; --json as GET /api/anomalies/ID
  ack ID [--note TEXT]       acknowledge an episode (someone is on it)
  false-alarm ID [--note TEXT]
                             mark an episode as a false alarm
  unmark ID                  clear the mark

Options:
  -c, --config PATH   config file whose dataDir holds the database (default: $ANOMALYD_CONFIG, else config/default.yaml)
      --db PATH       the SQLite file itself (instead of --config)
  -h, --help          this help

ID is an anomaly's full id or a unique prefix of it of at least ${MIN_ID_PREFIX} characters (the demo prints
${MIN_ID_PREFIX}); a prefix that several ids share is refused with the candidates listed (exit 1).

A mark is recorded with who set it (cli:<user> here). The same marks can be set over MQTT by an
operator login: publish to <prefix>/cmd/ack/<id>/<operator>, <prefix>/cmd/false_alarm/<id>/<operator> or
<prefix>/cmd/unmark/<id>/<operator> (payload empty or {"note": "..."}; docs/ALERTS.md). Exit status: 0 done,
1 not found or database error, 2 bad usage.
`;

/** The daemon's database file inside dataDir (src/daemon.ts uses the same name). */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100_000;

/** `since`: epoch ms, the --since bound; listed are the episodes open or ended at or after it (AnomalyQuery.from). */
type Action =
  | { readonly kind: 'list'; readonly sensor?: string; readonly status?: AnomalyStatus; readonly since?: number; readonly limit: number; readonly json: boolean }
  | { readonly kind: 'show'; readonly id: string; readonly json: boolean }
  | { readonly kind: 'mark'; readonly id: string; readonly mark: AnomalyMark | null; readonly note: string | null };

interface Parsed {
  readonly action: Action;
  readonly config?: string;
  readonly db?: string;
}

type ParseOutcome = { readonly kind: 'help' } | { readonly kind: 'usage'; readonly message: string } | { readonly kind: 'ok'; readonly parsed: Parsed };

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  db: { type: 'string' },
  sensor: { type: 'string' },
  status: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  note: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export function anomaliesCommand(argv: string[], ctx: CommandContext): Promise<number> {
  // Everything below is synchronous (better-sqlite3); the executor turns an unexpected throw into a rejection.
  return new Promise((resolve) => resolve(runAnomalies(argv, ctx)));
}

function runAnomalies(argv: readonly string[], ctx: CommandContext): number {
  const outcome = parseCommandLine(argv, Date.now());
  switch (outcome.kind) {
    case 'help':
      ctx.stdout(ANOMALIES_USAGE);
      return 0;
    case 'usage':
      ctx.stderr(`anomalyd anomalies: ${outcome.message}\n\n${ANOMALIES_USAGE}`);
      return 2;
    case 'ok':
      break;
  }
  const { parsed } = outcome;
  const dbPath = databasePath(parsed, ctx);
  if (dbPath === null) return 2;
  if (!existsSync(dbPath)) {
    ctx.stderr(`anomalyd anomalies: no database at ${dbPath} (has the daemon run with this dataDir?)\n`);
    return 1;
  }
  let store: SqliteStore;
  try {
    // commitIntervalMs 0: a mark commits before the command returns. outboxMax only matters to recordEvent.
    store = SqliteStore.open(dbPath, { commitIntervalMs: 0, outboxMax: 1, logger: createLogger('warn', { write: (s: string) => ctx.stderr(s) }) });
  } catch (err) {
    ctx.stderr(`anomalyd anomalies: cannot open ${dbPath}: ${errorMessage(err)}\n`);
    return 1;
  }
  try {
    return runAction(parsed.action, store, ctx);
  } catch (err) {
    ctx.stderr(`anomalyd anomalies: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    store.close();
  }
}

function runAction(action: Action, store: AnomalyHistory, ctx: CommandContext): number {
  switch (action.kind) {
    case 'list': {
      const rows = store.listAnomalies({ sensor: action.sensor, status: action.status, from: action.since, limit: action.limit });
      // --json: the HTTP API's document (GET /api/anomalies, docs/HTTP.md), so one parser reads both.
      ctx.stdout(action.json ? `${JSON.stringify({ anomalies: rows }, null, 2)}\n` : listTable(rows));
      return 0;
    }
    case 'show': {
      const id = resolveId(action.id, store, ctx);
      if (id === null) return 1;
      const anomaly = store.getAnomaly(id);
      if (anomaly === null) return notFound(action.id, ctx);
      // --json: as GET /api/anomalies/:id answers it.
      ctx.stdout(action.json ? `${JSON.stringify(anomaly, null, 2)}\n` : detailText(anomaly));
      return 0;
    }
    case 'mark': {
      const id = resolveId(action.id, store, ctx);
      if (id === null) return 1;
      if (!store.markAnomaly(id, action.mark, action.note, `cli:${cliUser()}`)) return notFound(action.id, ctx);
      const what = action.mark === null ? 'unmarked' : `marked ${action.mark}`;
      ctx.stdout(`anomaly ${id} ${what}${action.note !== null ? ` (note: ${action.note})` : ''}\n`);
      return 0;
    }
  }
}

/** Candidates an ambiguous prefix lists at most. */
const MAX_CANDIDATES = 10;

/**
 * The anomaly an ID on the command line names: the id itself, or, as git takes a commit, a unique prefix of
 * at least MIN_ID_PREFIX characters. Null, with the reason on stderr, when there is none or the prefix is
 * ambiguous (the candidates are listed). The HTTP API and MQTT commands take ids whole.
 */
function resolveId(given: string, store: AnomalyHistory, ctx: CommandContext): string | null {
  const found = store.anomalyIdsWithPrefix(given, MAX_CANDIDATES + 1);
  if (found.includes(given)) return given;
  if (given.length < MIN_ID_PREFIX) {
    ctx.stderr(`anomalyd anomalies: no anomaly with id ${given}${found.length > 0 ? ` (a prefix of an id needs at least ${MIN_ID_PREFIX} characters)` : ''}\n`);
    return null;
  }
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    notFound(given, ctx);
    return null;
  }
  const count = found.length > MAX_CANDIDATES ? `more than ${MAX_CANDIDATES}` : String(found.length);
  const list = found.slice(0, MAX_CANDIDATES).map((id) => `  ${id}\n`).join('');
  ctx.stderr(`anomalyd anomalies: id prefix ${given} is ambiguous: it matches ${count} anomalies:\n${list}give more characters of the id\n`);
  return null;
}

function notFound(id: string, ctx: CommandContext): number {
  ctx.stderr(`anomalyd anomalies: no anomaly with id ${id}\n`);
  return 1;
}

function databasePath(parsed: Parsed, ctx: CommandContext): string | null {
  if (parsed.db !== undefined) return resolve(parsed.db);
  const config = loadConfigOrReport(parsed.config, ctx);
  return config === null ? null : join(resolve(config.dataDir), DB_FILE);
}

// ---- command line ----

/** Pure: argv (after `anomalies`) to an action; `now` anchors relative --since ages. Exported for tests. */
export function parseCommandLine(argv: readonly string[], now: number): ParseOutcome {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    return usage(errorMessage(err));
  }
  if (values.help === true) return { kind: 'help' };
  if (values.config !== undefined && values.db !== undefined) return usage('give --config or --db, not both');
  const [verb, ...rest] = positionals;
  if (verb === undefined) return usage('which action? list, show, ack, false-alarm or unmark');
  const action = parseAction(verb, rest, values, now);
  if (typeof action === 'string') return usage(action);
  return { kind: 'ok', parsed: { action, config: values.config, db: values.db } };
}

/** An Action, or what is wrong with the command line. */
function parseAction(verb: string, rest: readonly string[], values: Values, now: number): Action | string {
  const allowed: Record<string, readonly (keyof Values)[]> = {
    list: ['sensor', 'status', 'since', 'limit', 'json'],
    show: ['json'],
    ack: ['note'],
    'false-alarm': ['note'],
    unmark: [],
  };
  const flags = allowed[verb];
  if (flags === undefined) return `unknown action '${verb}'`;
  const misplaced = (Object.keys(values) as (keyof Values)[]).find(
    (k) => k !== 'config' && k !== 'db' && k !== 'help' && values[k] !== undefined && !flags.includes(k),
  );
  if (misplaced !== undefined) return `--${misplaced} does not apply to '${verb}'`;
  if (verb === 'list') {
    if (rest.length > 0) return `'list' takes no arguments, got '${rest[0]}'`;
    return parseList(values, now);
  }
  if (rest.length !== 1) return `'${verb}' needs exactly one anomaly ID`;
  const id = rest[0];
  if (verb === 'show') return { kind: 'show', id, json: values.json === true };
  const note = values.note?.trim() ?? '';
  if (note.length > MAX_NOTE_CHARS) return `--note is longer than ${MAX_NOTE_CHARS} characters`;
  const mark: AnomalyMark | null = verb === 'ack' ? 'ack' : verb === 'false-alarm' ? 'false_alarm' : null;
  return { kind: 'mark', id, mark, note: note === '' ? null : note };
}

function parseList(values: Values, now: number): Action | string {
  const status = values.status;
  if (status !== undefined && status !== 'open' && status !== 'resolved') return `--status must be open or resolved, got '${status}'`;
  let limit = DEFAULT_LIMIT;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!/^\d+$/.test(values.limit) || limit < 1 || limit > MAX_LIMIT) return `--limit must be an integer from 1 to ${MAX_LIMIT}, got '${values.limit}'`;
  }
  let since: number | undefined;
  if (values.since !== undefined) {
    const parsed = parseSince(values.since, now);
    if (parsed === null) return `--since must be ${SINCE_FORMS}, got '${values.since}'`;
    since = parsed;
  }
  return { kind: 'list', sensor: values.sensor, status, since, limit, json: values.json === true };
}

function usage(message: string): ParseOutcome {
  return { kind: 'usage', message };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---- output ----

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Seconds precision is plenty in a table; JSON keeps milliseconds. */
function shortTime(ms: number): string {
  return iso(ms).replace(/\.\d{3}Z$/, 'Z');
}

function listTable(rows: readonly AnomalyRecord[]): string {
  if (rows.length === 0) return 'no anomalies\n';
  // PEAK_SURPRISE: the record's peakSurprise, −log10(1 − peakScore): the score itself printed 1.00000 for
  // every episode past surprise 5.3, so it ranked nothing. READINGS: the record's `windows` field, which
  // counts readings (the name is kept for compatibility).
  const header = ['ID', 'SENSOR', 'STATUS', 'START', 'END', 'PEAK_SURPRISE', 'READINGS', 'MARK'];
  const body = rows.map((r) => [
    r.id,
    r.sensor,
    r.status,
    shortTime(r.startTs),
    r.status === 'resolved' ? shortTime(r.endTs) : '-',
    r.peakSurprise.toFixed(1),
    String(r.windows),
    r.mark ?? '-',
  ]);
  return table([header, ...body]);
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
}

function detailText(a: AnomalyWithEvents): string {
  const channels = [...a.channels].sort((x, y) => y.error - x.error).map((ch) => `${ch.name}=${ch.error.toPrecision(3)}`);
  const opening = openSentence(a);
  const what = a.sentence ?? a.explanation?.sentence ?? opening;
  const fields: [string, string][] = [
    ['id', a.id],
    ['sensor', a.sensor],
    // The episode's sentence, as the record, the API and the dashboard give it (one explanation per episode:
    // its strongest reading, its kind once told; src/explain/episode.ts episodeExplanation), then what the
    // opening alert said when a later alert told more (the kind). '-' for episodes stored before schema 2.
    ['what', what ?? '-'],
    ...(opening !== null && what !== null && opening !== what ? [['opened as', opening] as [string, string]] : []),
    ['status', a.status],
    ['start', iso(a.startTs)],
    [a.status === 'resolved' ? 'end' : 'last seen', iso(a.endTs)],
    // The episode's largest deviation from normal operation, as a surprise (a score of 0.9999994 printed as
    // 1.00000 said nothing) and as the score it is stored as.
    ['peak deviation', `surprise ${surpriseOf(a.peakScore).toFixed(1)} (score ${a.peakScore.toPrecision(7)})`],
    ['last score', a.lastScore.toFixed(5)],
    ['threshold', a.threshold.toFixed(5)],
    ['model', a.model],
    ['readings', String(a.windows)],
    ['channels', channels.join(', ')],
    ['mark', a.mark ?? '-'],
    ['note', a.markNote ?? '-'],
    ['marked by', a.markBy === null ? '-' : `${a.markBy} at ${shortTime(a.markAt ?? 0)}`],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  const head = fields.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join('\n');
  const events =
    a.events.length === 0
      ? 'events: none\n'
      : `events:\n${table([['SEQ', 'EVENT', 'TS', 'SCORE'], ...a.events.map((e) => [String(e.seq), e.kind, shortTime(e.ts), e.score.toFixed(5)])])
          .split('\n')
          .map((l) => (l === '' ? l : `  ${l}`))
          .join('\n')}`;
  const marks =
    a.marks.length === 0
      ? ''
      : `marks:\n${table([['SEQ', 'AT', 'MARK', 'BY', 'NOTE'], ...a.marks.map((m) => [String(m.seq), shortTime(m.at), m.mark ?? 'unmark', m.by, m.note ?? '-'])])
          .split('\n')
          .map((l) => (l === '' ? l : `  ${l}`))
          .join('\n')}`;
  return `${head}\n${events}${marks}`;
}

/** The sentence of the episode's open alert (null when it had none: stored before schema 2, or not explained). */
function openSentence(a: AnomalyWithEvents): string | null {
  return a.events.find((e) => e.kind === 'open')?.payload.explanation?.sentence ?? null;
}

/** The OS user running the CLI, for the anomaly's mark history (`cli:<user>`). */
function cliUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
