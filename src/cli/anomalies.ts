/**
 * `anomalyd anomalies ...`: the operator's view of the anomaly history, and the same marks the MQTT
 * commands set (ack, false alarm, unmark). Works on the daemon's SQLite file, also while the daemon
 * runs: WAL lets this connection read beside it, and a mark waits (busy timeout) for the daemon's
 * group commit rather than failing.
 *
 * Exit status: 0 done, 1 no such anomaly, device or stream (list --device / --sensor) or database trouble, 2 bad
 * usage or configuration.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { DB_FILE, SqliteStore } from '../adapters/sqlite-store.js';
import type { AnomalyHistory, AnomalyMark, AnomalyRecord, AnomalyStatus, AnomalyWithEvents, KnownNames } from '../contract/store.js';
import { closeNames } from '../pipeline/names.js';
import { MAX_NOTE_CHARS } from '../pipeline/commands.js';
import { parseSince, SINCE_FORMS } from '../util/time.js';
import { formatDuration } from '../util/duration.js';
import { shownSurprise, surpriseOf } from '../contract/surprise.js';
import { loadConfigOrReport } from './run.js';
import { systemTimeZone } from '../pipeline/decode/time.js';

export { parseSince };
import type { CommandContext } from './context.js';

/** The shortest prefix of an anomaly id the CLI takes (the demo prints an id's first 8 characters). */
export const MIN_ID_PREFIX = 8;

export const ANOMALIES_USAGE = `Usage: anomalyd anomalies <action> [options]

Actions:
  list [--sensor S | --device D] [--status open|resolved] [--since TIME] [--limit N] [--by-device | --json]
                             episodes, newest start first; --sensor S: of the stream S (plug-washer/ENERGY.Power);
                             --device D: of every stream of the device D (plug-washer: the sensor id in the
                             topic, its fields the streams D/<field>; a Zigbee2Tasmota Name is stored safe: #, +, /
                             become _, "Kitchen #2" is the device "Kitchen _2"). A device or stream that the
                             database does not know is an error (exit 1) naming the close known ones or the
                             right flag, not "no anomalies". --since TIME keeps those going on at some time
                             since then: still open (however long ago they started) or ended at or after it
                             (TIME: an age such as 10m, 24h, 7d, or an ISO 8601 time). One row per
                             episode: ID (its first 8 characters, more when two listed ids share them),
                             START (to the minute, in the zone of the sentences' clock times:
                             explain.timeZone, else the system's; the header names it), LASTED (how long
                             its fault lasted, as its sentence's "for 4 min since 18:08" counts: from when it
                             began, the sentence's since when that is before START (a stuck value's first
                             reading of the value, a state held since it began, a silence's last reading),
                             else START, to its end, the first reading back after its last one off, so at
                             least one reading interval, a counter_reset's 0 s, opened and resolved at its one
                             reading; to its last reading that held it so far while open), PEAK (its peak surprise, -log10(1 - peak score): 5 = one reading
                             in 100,000 is this unusual, the default threshold; 16 = off the scale), KIND
                             (spike, level_shift, drift, stuck, noise_change, missing_data, counter_reset,
                             counting_fast, continuous_flow, device_offline, alarm; - while not told), MARK; under it, indented, its sentence (without the sensor's name).
                             A device whose every field went silent together is one row (missing_data), its
                             fields under it ("its fields: ..."), not a row each, unless --sensor names one.
                             --by-device: the listed episodes under one line per device (its episodes, how
                             many open, their kinds), devices with an open episode first, then by their
                             newest start: one unplugged plug's ten fields read as one device, not ten rows.
                             --limit N (default 50): the newest N; a list cut at it ends with "... and M more
                             (the newest N shown, --limit N; --limit K lists them all)".
                             --json prints what GET /api/anomalies answers: {"anomalies": [...], "more": M},
                             each with its full id, device, peakScore, peakSurprise, kind and sentence; "more":
                             how many further episodes match beyond --limit (0: the list is whole)
  show ID [--json]           one episode: its sentence (what), events and operator mark; --json as GET /api/anomalies/ID.
                             "began" (when before its start: the sentence's since) and "lasted" as the list's LASTED.
                             "peak deviation" is its rarest reading, every kind of evidence of every channel
                             fused into one surprise (the largest less log10 of how many figures spoke);
                             "channel surprise" is, at that same reading and against normal operation, each
                             channel's rarest kind of evidence (a surprise, not a reading; a one-value
                             stream's alone, unnamed) before that correction, so the largest is
                             at or above the peak, except when the peak is the opening reading's recent-
                             history figure (larger); both shown capped at 16 (--json: as stored)
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
1 not found (an anomaly, or list's --device / --sensor) or database error, 2 bad usage.
`;

/** The daemon's database file inside dataDir (src/daemon.ts uses the same name). */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100_000;

/** `since`: epoch ms, the --since bound; listed are the episodes open or ended at or after it (AnomalyQuery.from). */
type Action =
  | {
      readonly kind: 'list';
      readonly sensor?: string;
      readonly device?: string;
      readonly status?: AnomalyStatus;
      readonly since?: number;
      readonly limit: number;
      readonly json: boolean;
      /** Group the table's rows under their device (--by-device). */
      readonly byDevice: boolean;
    }
  | { readonly kind: 'show'; readonly id: string; readonly json: boolean }
  | { readonly kind: 'mark'; readonly id: string; readonly mark: AnomalyMark | null; readonly note: string | null };

interface Parsed {
  readonly action: Action;
  readonly config?: string;
  readonly db?: string;
}

/** `usage`: what is wrong; `full`: print the whole help after it (no action given), else a hint to --help. */
type ParseOutcome = { readonly kind: 'help' } | { readonly kind: 'usage'; readonly message: string; readonly full?: boolean } | { readonly kind: 'ok'; readonly parsed: Parsed };

/** After a usage error: where the options are (the whole help after a one-line error buried it; tryout 13, finding 10). */
export const ANOMALIES_HINT = "run 'anomalyd anomalies --help' for the actions and options";

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  db: { type: 'string' },
  sensor: { type: 'string' },
  device: { type: 'string' },
  'by-device': { type: 'boolean' },
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
      ctx.stderr(outcome.full === true ? `anomalyd anomalies: ${outcome.message}\n\n${ANOMALIES_USAGE}` : `anomalyd anomalies: ${outcome.message}\n${ANOMALIES_HINT}\n`);
      return 2;
    case 'ok':
      break;
  }
  const { parsed } = outcome;
  const where = databasePath(parsed, ctx);
  if (where === null) return 2;
  const { path: dbPath, timeZone } = where;
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
    return runAction(parsed.action, store, ctx, timeZone);
  } catch (err) {
    ctx.stderr(`anomalyd anomalies: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    store.close();
  }
}

/** `timeZone`: the zone of the sentences' clock times (explain.timeZone, or the system's), the list's START is in. */
function runAction(action: Action, store: AnomalyHistory & NameSource, ctx: CommandContext, timeZone: string): number {
  switch (action.kind) {
    case 'list': {
      // A field's silence told in its device's one episode is listed in it (AnomalyRecord.members), not as a row of its
      // own, unless that field's own episodes are asked for (tryout 31, finding 1).
      const filters = { sensor: action.sensor, device: action.device, status: action.status, from: action.since, folded: action.sensor === undefined };
      const rows = store.listAnomalies({ ...filters, limit: action.limit });
      // A list cut at its limit says how many more match and how to see them (tryout 30, finding 8), as the API's `more`.
      const more = rows.length >= action.limit ? Math.max(0, store.countAnomalies(filters) - rows.length) : 0;
      // A name that matches nothing the database knows is an error, not "no anomalies" (a healthy device's answer).
      const unknown = rows.length === 0 ? unknownFilter(action, store) : null;
      if (unknown !== null) {
        ctx.stderr(`anomalyd anomalies: ${unknown}\n`);
        return 1;
      }
      // --json: the HTTP API's document (GET /api/anomalies, docs/HTTP.md), so one parser reads both.
      ctx.stdout(action.json ? `${JSON.stringify({ anomalies: rows, more }, null, 2)}\n` : action.byDevice ? byDeviceTable(rows, timeZone) : listTable(rows, timeZone));
      if (!action.json && more > 0) ctx.stdout(moreLine(rows.length, more, action.limit));
      return 0;
    }
    case 'show': {
      const id = resolveId(action.id, store, ctx);
      if (id === null) return 1;
      const anomaly = store.getAnomaly(id);
      if (anomaly === null) return notFound(action.id, ctx);
      // --json: as GET /api/anomalies/:id answers it.
      ctx.stdout(action.json ? `${JSON.stringify(anomaly, null, 2)}\n` : detailText(anomaly, timeZone));
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

/**
 * The line under a list cut at its limit (`limit`, the --limit given or 50): how many it showed, how many more
 * match, and the --limit that shows them all (beyond the CLI's cap, MAX_LIMIT, that the largest shows the newest).
 */
export function moreLine(shown: number, more: number, limit: number): string {
  const all = Math.min(MAX_LIMIT, shown + more);
  // Beyond the cap no --limit lists them all: the largest lists the newest, a filter the rest.
  const capped = limit >= MAX_LIMIT ? '; --since or --status list fewer' : `; --limit ${MAX_LIMIT} lists the newest ${MAX_LIMIT}, --since or --status fewer`;
  const how = shown + more > MAX_LIMIT ? capped : all > limit ? `; --limit ${all} lists them all` : '';
  return `... and ${more} more (the newest ${shown} shown, --limit ${limit}${how})\n`;
}

/** What the list's --device / --sensor check asks of the database (SqliteStore.knownNames). */
interface NameSource {
  knownNames(): KnownNames;
}

/**
 * Why a list's --device D or --sensor S that matched no episode names nothing the database knows, or null when
 * it does (a healthy device or stream: "no anomalies"). Known: a device of a stored episode, or a stream with a
 * checkpoint or an episode; a device without episodes is known by its streams (D itself, or streams D/<field>).
 * Told apart: a stream given as a device and the reverse (naming the right flag), a part of a device's stream
 * name given as a device (shellyplusplugs-washer/switch:0), and a name close to known ones (a typo, the
 * unsafe form of a Zigbee2Tasmota Name: `Kitchen #2` is stored `Kitchen _2`).
 */
function unknownFilter(action: Extract<Action, { kind: 'list' }>, store: AnomalyHistory & NameSource): string | null {
  const { streams, devices } = store.knownNames();
  const quote = (names: readonly string[]): string => names.map((n) => `'${n}'`).join(', ');
  const close = (given: string, known: readonly string[]): string => {
    const near = closeNames(given, known);
    return near.length > 0 ? `; did you mean ${quote(near)}?` : known.length > 0 ? " ('anomalies list --by-device' and 'anomalyd status' name the known ones)" : ' (the database has no streams yet)';
  };
  if (action.device !== undefined) {
    const d = action.device;
    if (devices.includes(d)) return null;
    const asStream = store.listAnomalies({ sensor: d, limit: 1 })[0];
    if (asStream !== undefined && asStream.device !== d) return `'${d}' is a stream of the device '${asStream.device}', not a device: list its episodes with --sensor '${d}', its device's with --device '${asStream.device}'`;
    const owner = devices.find((x) => d.startsWith(`${x}/`));
    if (owner !== undefined) {
      const under = streams.filter((s) => s.startsWith(`${d}/`) || s === d);
      return `'${d}' is not a device but part of the stream names of the device '${owner}': list its episodes with --device '${owner}'${under.length > 0 ? `, or one stream's with --sensor (${quote(under.slice(0, 5))}${under.length > 5 ? ', …' : ''})` : ''}`;
    }
    if (streams.some((s) => s === d || s.startsWith(`${d}/`))) return null;
    const candidates = [...new Set([...devices, ...streams.map((s) => s.split('/')[0])])].sort();
    return `no device named '${d}' is known${close(d, candidates)}`;
  }
  if (action.sensor !== undefined) {
    const s = action.sensor;
    if (streams.includes(s)) return null;
    if (devices.includes(s) || streams.some((x) => x.startsWith(`${s}/`))) return `'${s}' is a device, not a stream: list its episodes with --device '${s}'`;
    return `no stream named '${s}' is known${close(s, streams)}`;
  }
  return null;
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

/**
 * The database file, and the zone the sentences' clock times are in (explain.timeZone, else the system's, as the
 * daemon writes them; the system's with --db, which reads no config). Null when the config does not load.
 */
function databasePath(parsed: Parsed, ctx: CommandContext): { readonly path: string; readonly timeZone: string } | null {
  if (parsed.db !== undefined) return { path: resolve(parsed.db), timeZone: systemTimeZone() };
  const config = loadConfigOrReport(parsed.config, ctx);
  return config === null ? null : { path: join(resolve(config.dataDir), DB_FILE), timeZone: config.explain.timeZone ?? systemTimeZone() };
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
  if (verb === undefined) return usage('which action? list, show, ack, false-alarm or unmark', true);
  const action = parseAction(verb, rest, values, now);
  if (typeof action === 'string') return usage(action);
  return { kind: 'ok', parsed: { action, config: values.config, db: values.db } };
}

/** An Action, or what is wrong with the command line. */
function parseAction(verb: string, rest: readonly string[], values: Values, now: number): Action | string {
  const allowed: Record<string, readonly (keyof Values)[]> = {
    list: ['sensor', 'device', 'by-device', 'status', 'since', 'limit', 'json'],
    show: ['json'],
    ack: ['note'],
    'false-alarm': ['note'],
    unmark: [],
  };
  const flags = allowed[verb];
  if (flags === undefined) {
    // The MQTT command's spelling (<prefix>/cmd/false_alarm/…) is the CLI's with a hyphen: say so.
    const hyphened = verb.replaceAll('_', '-');
    return hyphened in allowed ? `unknown action '${verb}' (did you mean '${hyphened}'?)` : `unknown action '${verb}'`;
  }
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
  if (values.sensor !== undefined && values.device !== undefined) return 'give --sensor or --device, not both (a stream is of one device)';
  if (values.json === true && values['by-device'] === true) return '--by-device groups the table; --json gives each anomaly its device instead';
  for (const [flag, v] of [['--sensor', values.sensor], ['--device', values.device]] as const) if (v !== undefined && v.length === 0) return `${flag} needs a name`;
  return { kind: 'list', sensor: values.sensor, device: values.device, status, since, limit, json: values.json === true, byDevice: values['by-device'] === true };
}

function usage(message: string, full = false): ParseOutcome {
  return { kind: 'usage', message, full };
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

/** Columns the list's sentence lines are wrapped to: an 80-column terminal shows them whole. */
export const LIST_SENTENCE_WIDTH = 80;
/** How far a sentence line is indented under its episode's row. */
const SENTENCE_INDENT = '    ';
/** Characters of an id the list prints (more when two listed ids share them): what `show ID` and the demo take. */
const LIST_ID_CHARS = MIN_ID_PREFIX;

/**
 * The list for people: per episode one row (short id, sensor, status, start, how long, peak surprise, kind, mark)
 * and under it, indented and wrapped to LIST_SENTENCE_WIDTH columns, its sentence without the sensor's name the
 * row already shows. A row with a sensor name of up to 10 characters and no mark fits 80 columns; `false_alarm`
 * and long names make it wider. Readings, the full id and the end time are in `show` and `--json`.
 */
function listTable(rows: readonly AnomalyRecord[], timeZone: string): string {
  if (rows.length === 0) return 'no anomalies\n';
  const idChars = idWidth(rows.map((r) => r.id));
  // PEAK: the record's peakSurprise, −log10(1 − peakScore): the score itself printed 1.00000 for every episode
  // past surprise 5.3, so it ranked nothing. LASTED: the record's lastedMs, from when its fault began (its sentence's
  // `since`, when before its open: src/contract/lasted.ts) to its end (the first reading back; while open, its last
  // reading that held it so far), as its sentence's `for N min since HH:MM` counts (tryout 28, finding 12).
  // START in the sentences' zone, named in the header: a row and the sentence under it agree (tryout 13, finding 7).
  const header = ['ID', 'SENSOR', 'STATUS', `START (${timeZone})`, 'LASTED', 'PEAK', 'KIND', 'MARK'];
  const body = rows.map((r) => [
    r.id.slice(0, idChars),
    r.sensor,
    r.status,
    listTime(r.startTs, timeZone),
    duration(r.lastedMs),
    r.peakSurprise.toFixed(1),
    r.kind ?? '-',
    r.mark ?? '-',
  ]);
  const lines = table([header, ...body]).split('\n');
  const out = [lines[0]];
  rows.forEach((r, i) => {
    out.push(lines[i + 1]);
    for (const l of wrap(shortSentence(r), LIST_SENTENCE_WIDTH - SENTENCE_INDENT.length)) out.push(`${SENTENCE_INDENT}${l}`);
    // A device's silence episode names the fields told in it (AnomalyRecord.members: no rows of their own).
    if (r.members !== undefined && r.members.length > 0) for (const l of wrap(`its fields: ${r.members.join(', ')}`, LIST_SENTENCE_WIDTH - SENTENCE_INDENT.length)) out.push(`${SENTENCE_INDENT}${l}`);
    // A field's episode told in another field's alert (its device's fields opened together: AnomalyRecord.toldWith).
    if (r.toldWith !== undefined) out.push(`${SENTENCE_INDENT}alerted with ${r.toldWith.slice(0, 8)}`);
  });
  return `${out.join('\n')}\n`;
}

/**
 * The list grouped by device (--by-device): per device, one line `DEVICE plug-washer: 5 episodes, 5 open
 * (missing_data 5)` and under it, indented by two, its episodes as listTable gives them (one header for all, the
 * ids told apart over the whole list). Devices with an open episode first, then by their newest start; the
 * episodes within a device newest start first, as listed. `rows` as listed (--limit applies before grouping).
 */
function byDeviceTable(rows: readonly AnomalyRecord[], timeZone: string): string {
  if (rows.length === 0) return 'no anomalies\n';
  const groups = new Map<string, AnomalyRecord[]>();
  for (const r of rows) groups.set(r.device, [...(groups.get(r.device) ?? []), r]);
  const open = (g: readonly AnomalyRecord[]): boolean => g.some((r) => r.status === 'open');
  const newest = (g: readonly AnomalyRecord[]): number => Math.max(...g.map((r) => r.startTs));
  const order = [...groups.entries()].sort(([a, x], [b, y]) => Number(open(y)) - Number(open(x)) || newest(y) - newest(x) || (a < b ? -1 : a > b ? 1 : 0));
  // One table for every row, so the columns line up across devices; then each device's rows under its line.
  const lines = listTable(order.flatMap(([, g]) => g), timeZone).trimEnd().split('\n');
  const out = [`  ${lines[0]}`];
  let at = 1;
  for (const [device, g] of order) {
    const openCount = g.filter((r) => r.status === 'open').length;
    const kinds = new Map<string, number>();
    for (const r of g) kinds.set(r.kind ?? '-', (kinds.get(r.kind ?? '-') ?? 0) + 1);
    const told = [...kinds.entries()].map(([k, n]) => `${k} ${n}`).join(', ');
    out.push(`DEVICE ${device}: ${g.length} ${g.length === 1 ? 'episode' : 'episodes'}, ${openCount} open (${told})`);
    // Each episode is its row and its sentence's lines (indented by SENTENCE_INDENT).
    for (let k = 0; k < g.length; k++) {
      out.push(`  ${lines[at++]}`);
      while (at < lines.length && lines[at].startsWith(SENTENCE_INDENT)) out.push(`  ${lines[at++]}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** The shortest id prefix, at least LIST_ID_CHARS long, that tells every listed id apart (whole ids when none does). */
function idWidth(ids: readonly string[]): number {
  const longest = Math.max(...ids.map((id) => id.length));
  for (let n = LIST_ID_CHARS; n < longest; n++) if (new Set(ids.map((id) => id.slice(0, n))).size === ids.length) return n;
  return longest;
}

/** `2026-12-01 18:53` in the zone: to the minute; `show` gives the millisecond. */
function listTime(ms: number, timeZone: string): string {
  const p = zoneParts(ms, timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** The clock time `HH:MM:SS` in the zone. */
function zoneClock(ms: number, timeZone: string): string {
  const p = zoneParts(ms, timeZone);
  return `${p.hour}:${p.minute}:${p.second}`;
}

function zoneParts(ms: number, timeZone: string): Record<string, string> {
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}

/** A duration in ms by the one rule of the sentences and the dashboard (src/util/duration.ts): `45 s`, `2 min`, `1.6 h`, `2.5 d`. */
const duration = formatDuration;

/**
 * The episode's sentence as the list shows it: the record's (its latest alert's), without the leading sensor name
 * the row shows (a channel's `sensor/channel` name is kept); `-` when none was stored (episodes from before schema 2).
 */
function shortSentence(r: AnomalyRecord): string {
  const s = r.sentence ?? r.explanation?.sentence ?? null;
  if (s === null) return '-';
  return s.startsWith(`${r.sensor} `) ? s.slice(r.sensor.length + 1) : s;
}

/** `text` in lines of at most `width` characters, broken at spaces (a longer word stands on its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
}

/**
 * What `show` says under the channels' figures: they are of the peak's reading but not the peak's figure.
 * src/pipeline/scorer.ts: `channels` (Episode.peakChannels) is, against the reference histories (normal
 * operation), each channel's largest surprise over the kinds of evidence (fuse's `channels`); the peak is the
 * fused surprise of the same histories, the largest of all less log10 of how many (kind, channel) figures spoke,
 * clipped to 30, except at the opening reading, where it is the larger of that and the adaptive histories' fused
 * surprise (lifecycle's `level`). Tryout 11: 5.48 beside a peak of 5.0 (3 figures spoke: log10 3 = 0.48); 11.99
 * beside 16 (an opening reading whose recent-history figure was larger).
 */
const CHANNELS_NOTE = [
  '',
  '(at that reading, against normal operation: each channel\'s',
  'rarest kind of evidence, before the fused peak takes off',
  'log10 of how many figures spoke; the peak of the opening',
  'reading may instead be the recent history\'s larger figure)',
].join('\n');

function detailText(a: AnomalyWithEvents, timeZone: string): string {
  // Each channel's surprise at the peak's reading, capped for showing as the peak is (surpriseShown).
  // Named as surprises, not `value=12.2`, which read as a reading of a temperature (tryout 22, finding 11); a
  // one-value stream's single channel (`value`) unnamed.
  const single = a.channels.length === 1 && a.channels[0].name === 'value';
  const channels = [...a.channels].sort((x, y) => y.error - x.error).map((ch) => `${single ? '' : `${ch.name} `}${shownSurprise(ch.error).toFixed(1)}`);
  const opening = openSentence(a);
  const what = a.sentence ?? a.explanation?.sentence ?? opening;
  const fields: [string, string][] = [
    ['id', a.id],
    ['sensor', a.sensor],
    // The episode's sentence, as the record, the API and the dashboard give it (one explanation per episode:
    // its strongest reading, its kind once told; src/explain/episode.ts episodeExplanation), then what the
    // opening alert said when a later alert told more (the kind). '-' for episodes stored before schema 2.
    ['what', what ?? '-'],
    // Not when the sentence holds it already: a silence told in the episode it took over keeps what the episode told
    // before it first (`<that sentence>, then no reading for …`), often the opening's own words (tryout co2silence:
    // `show` printed the same sentence twice, once under each label).
    ...(opening !== null && what !== null && !what.includes(opening) ? [['opened as', opening] as [string, string]] : []),
    ['status', a.status],
    // UTC, with the clock time of the sentence's zone beside it (its "since 23:34").
    ['start', `${iso(a.startTs)} (${zoneClock(a.startTs, timeZone)} ${timeZone})`],
    [a.status === 'resolved' ? 'end' : 'last seen', iso(a.endTs)],
    // As the list's LASTED: from when its fault began (`began`, shown when before its open: its sentence's `since`) to
    // its end, or so far while open (an episode without readings, a silence or a device offline, to the daemon's last
    // touch of its record, about every 10 s).
    ...(a.beganTs < a.startTs ? [['began', `${iso(a.beganTs)} (${zoneClock(a.beganTs, timeZone)} ${timeZone}; before its start, as its sentence says)`] as [string, string]] : []),
    ['lasted', `${duration(a.lastedMs)}${a.status === 'open' ? ' so far' : ''}`],
    ['peak deviation', peakWords(a)],
    ['last score', a.lastScore.toFixed(5)],
    ['threshold', a.threshold.toFixed(5)],
    ['model', a.model],
    ['readings', String(a.windows)],
    // The same reading per channel: each channel's rarest kind of evidence BEFORE the fused figure's correction
    // for how many figures spoke, so the largest is at or above the peak (tryout 11: 5.48 beside a peak of 5.0).
    ['channel surprise', channels.length > 0 ? `${channels.join(', ')}${CHANNELS_NOTE}` : '-'],
    ['mark', a.mark ?? '-'],
    ['note', a.markNote ?? '-'],
    ['marked by', a.markBy === null ? '-' : `${a.markBy} at ${shortTime(a.markAt ?? 0)}`],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  // A value of several lines (the channels' note) goes on under its first, at the same column.
  const head = fields.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v.split('\n').join(`\n${' '.repeat(width + 2)}`)}`).join('\n');
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

/**
 * What `show` says of the episode's peak: its largest deviation from normal operation, as a surprise (a score of
 * 0.9999994 printed as 1.00000 said nothing) and as the score it is stored as, and what it was the deviation of: its
 * rarest reading, every kind of evidence of every channel fused into one figure (docs/SCORING.md section 4: the
 * largest less log10 of how many spoke); for a silence, how rare its length is (with the readings of the fault it
 * took over, the rarer of the two). A device's `device_offline` episode scored no reading at all (its peak stored as
 * 0): none, said so, not `surprise 0.0 …: its rarest reading` (tryout 23, finding F6).
 */
function peakWords(a: AnomalyWithEvents): string {
  const kind = a.explanation?.kind ?? a.kind;
  if (kind === 'device_offline') return 'none: no reading was scored (the device said it is offline)';
  if (kind === 'alarm') return 'none: an alarm state is told at its first reading, not scored (the device said so)';
  if (kind === 'relation') return `surprise ${surpriseOf(a.peakScore).toFixed(1)} (score ${a.peakScore.toPrecision(7)}): its rate of change the farthest from the rate its level has had in the other stream's state (a robust z, two-sided normal tail)`;
  const figure = `surprise ${surpriseOf(a.peakScore).toFixed(1)} (score ${a.peakScore.toPrecision(7)})`;
  if (kind === 'missing_data') {
    return a.explanation?.before_silence !== undefined
      ? `${figure}: its rarest reading or how rare its silence's length is, whichever is rarer, all evidence fused`
      : `${figure}: how rare its silence's length is for this sensor (against its own arrivals and runs)`;
  }
  return `${figure}: its rarest reading, all evidence fused`;
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
