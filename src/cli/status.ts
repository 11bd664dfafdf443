/**
 * `anomalyd status`: asks the running daemon, over its local HTTP API (GET /api/status), how it is doing:
 * uptime, model, MQTT, sensors by state, the sensors still learning their own model and how far each is
 * (GET /api/sensors, only when there are some), the outbox depth, the rejected input per reason and what the
 * embedded broker refused (publishes, with their topics; logins).
 *
 * Exit status: 0 answered, 1 no daemon answered (or it refused), 2 bad usage or configuration.
 */
import { parseArgs } from 'node:util';
import type { DaemonStatusView, OutboxOverdueView, SensorView } from '../http/view.js';
import type { RejectReason } from '../contract/types.js';
import { ownModelText } from '../contract/own-model.js';
import { loadConfigFileOrReport, sameConfigHint } from './run.js';
import type { CommandContext } from './context.js';
import { formatDuration } from '../util/duration.js';

export const STATUS_USAGE = `Usage: anomalyd status [options]

Asks the running daemon how it is doing, over its local HTTP API (GET /api/status): uptime, model, MQTT (and a
CLIENT ID CLASH line while another MQTT client connects with its client id and takes its session over),
sensors by state and those with an open episode (any kind: a silence's 'missing data' episode too, whose
sensor is 'stale', not 'anomalous'), while ingest.maxStreams is full a 'streams' line (since when new streams
are turned away, how many streams are heard once, i.e. one-shot topics whose slot a new sensor takes at its
second message, and what to do), alerts waiting for the broker (the outbox depth, and any alert the broker did not acknowledge in time: OVERDUE), the rejected input since start, per
reason, each with a few words of what it means (redelivered: a message re-sent; retained: the broker's stored
last value, replayed at subscribe: neither is judged, by design), and per bad field (a message with two bad
fields counts two), where every message received went (with readings + rejected + skipped, one place each), the messages
skipped since start, per reason (a hub's own topics, hub events, Home Assistant text states, messages of only
missing values: no readings, not errors), with the homeassistant preset a 'discovery' line (the Home Assistant
discovery entities read on their own state topics, how many are in use, the configs that only state a unit, the
configs refused per reason), device clocks that were never set or lag arrival by whole
hours (a time zone mix-up: ingest.timezone), a 'backfill' line when history published far faster than its
times left holes at its streams' intervals (readings the broker may have dropped: docs/DEPLOY.md, "Loading
history"), and what the embedded broker refused since start (publishes on a topic the login may not use, which
the publisher never learns of, with their topics; logins).

Two kinds of learning, said apart:
  sensors     'learning' is the scorer's learning period: a new sensor's first score.learnReadings
              readings (256), with no alerts yet (with learning.fallback: false, also the time until its
              own model is trained); then it is ok or anomalous.
  own models  with learning.enabled, each sensor also learns a model of its own, scored by the shared model
              meanwhile: 'learning its own model: 1,234 / 3,600 readings' (learning.minReadings), then
              'training its own model' (GET /api/sensors has it per sensor as ownModel). A sensor whose
              models the gate rejected too often says 'not learning its own model: stopped after ...'
              ('anomalyd models retrain SENSOR' asks for a new try); one the operator pinned to its model
              ('anomalyd models rollback') says 'pinned to MODEL' and is not learnt until unpinned.

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
    ctx.stderr(`anomalyd status: ${(err as Error).message}\nrun 'anomalyd status --help' for the options\n`);
    return 2;
  }
  if (values.help) {
    ctx.stdout(STATUS_USAGE);
    return 0;
  }
  const api = daemonApiOf('status', values, ctx);
  if (api === null) return 2;
  const answer = await getFromDaemon(api, '/api/status', 'status', ctx);
  if (answer === null) return 1;
  const { base, token } = api;
  const body = answer.body;
  if (!answer.ok) {
    ctx.stderr(`anomalyd status: ${base} answered ${answer.status}: ${answer.detail}\n`);
    return 1;
  }
  if (values.json) {
    ctx.stdout(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const status = body as DaemonStatusView;
  const own = status.sensors.ownModel;
  // Which sensors are learning their own model, and how far: asked only when there are some.
  let learning: readonly SensorView[] | null = null;
  if (own !== undefined && own.collecting + own.queued + own.training + (own.stopped ?? 0) + (status.sensors.pinned ?? 0) > 0) {
    try {
      const res2 = await fetch(`${base}/api/sensors`, {
        headers: { Accept: 'application/json', ...(token !== null ? { Authorization: `Bearer ${token}` } : {}) },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (res2.ok) learning = ((await res2.json()) as { sensors: SensorView[] }).sensors.filter((x) => x.ownModel != null || x.pinned === true);
    } catch {
      // The counts still say it.
    }
  }
  ctx.stdout(formatStatus(status, base, learning));
  return 0;
}

/**
 * The origin of a command's `--url` flag (`http://127.0.0.1:8080/…` → `http://127.0.0.1:8080`), or null after saying
 * on stderr, for `command`, that it is no URL.
 */
export function urlFlagOrigin(command: string, url: string, ctx: CommandContext): string | null {
  try {
    return new URL(url).origin;
  } catch {
    ctx.stderr(`anomalyd ${command}: --url must be a URL such as http://127.0.0.1:8080, got '${url}'\n`);
    return null;
  }
}

/**
 * Where a command that asks the running daemon reaches its local HTTP API: `--url`'s origin, else the configuration's
 * http.host / http.port / http.token (`--config`, $ANOMALYD_CONFIG, config/default.yaml). `from`: the configuration
 * file the address came from (sameConfigHint), undefined with --url.
 */
export interface DaemonApi {
  readonly base: string;
  readonly token: string | null;
  readonly from: string | null | undefined;
}

/**
 * The daemon's API for `anomalyd <command>` (status, history, sensors list), or null once the reason is on stderr: a
 * bad --url, a configuration that does not load, or the API disabled (http.enabled: false). Exit status 2 then.
 */
export function daemonApiOf(command: string, values: { readonly config?: string; readonly url?: string }, ctx: CommandContext): DaemonApi | null {
  if (values.url !== undefined) {
    const origin = urlFlagOrigin(command, values.url, ctx);
    return origin === null ? null : { base: origin, token: null, from: undefined };
  }
  const loaded = loadConfigFileOrReport(values.config, ctx);
  if (!loaded) return null;
  const config = loaded.config;
  if (!config.http.enabled) {
    ctx.stderr(`anomalyd ${command}: the HTTP API is disabled (http.enabled: false), and ${command} asks it; enable it or pass --url\n`);
    return null;
  }
  return { base: apiBase(config.http.host, config.http.port), token: config.http.token, from: loaded.file };
}

/** What the daemon answered a GET: its status, its JSON body (null when none), and its `error` or `HTTP <status>`. */
export interface DaemonAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly body: unknown;
  readonly detail: string;
}

/**
 * GET `path` (with its query) of the daemon's API, with its token, within `timeoutMs`. Null once `no anomalyd answers
 * at …; is it running?` (and where the address came from) is on stderr: exit status 1 then. Never throws.
 */
export async function getFromDaemon(api: DaemonApi, path: string, command: string, ctx: CommandContext, timeoutMs = TIMEOUT_MS): Promise<DaemonAnswer | null> {
  let res: Response;
  try {
    res = await fetch(`${api.base}${path}`, {
      headers: { Accept: 'application/json', ...(api.token !== null ? { Authorization: `Bearer ${api.token}` } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    ctx.stderr(`anomalyd ${command}: no anomalyd answers at ${api.base} (${cause}); is it running? (anomalyd run)\n${api.from !== undefined ? sameConfigHint(api.from) : ''}`);
    return null;
  }
  const body = (await res.json().catch(() => null)) as unknown;
  const detail = body !== null && typeof body === 'object' && 'error' in body ? String(body.error) : `HTTP ${res.status}`;
  return { ok: res.ok, status: res.status, body, detail };
}

/** Where the local API answers for a bind address: a wildcard bind is reached on loopback. */
export function apiBase(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/**
 * The `clash` lines: when another MQTT client takes this daemon's session over and back (the same mqtt.clientId:
 * tryout 17, finding 4), and when another client published a status on this daemon's status topic (a second
 * anomalyd on the same mqtt.topicPrefix: tryout 26, finding 3); none otherwise.
 */
function clashLines(s: DaemonStatusView): [string, string][] {
  const lines: [string, string][] = [];
  const t = s.mqtt.statusTopicClash;
  if (t !== undefined && t !== null) {
    const prefix = t.topic.endsWith('/status') ? t.topic.slice(0, -'/status'.length) : t.topic;
    lines.push([
      'clash',
      `TOPIC PREFIX CLASH: another MQTT client published "${t.payload}" on this daemon's status topic ${t.topic} (${t.times} ${t.times === 1 ? 'time' : 'times'}, last at ${new Date(t.lastAt).toISOString()}): most likely a second anomalyd on this broker with the same mqtt.topicPrefix "${prefix}". This one published its status again each time; give each anomalyd its own mqtt.topicPrefix`,
    ]);
  }
  const c = s.mqtt.clientIdClash;
  if (c === undefined || c === null) return lines;
  return [
    ...lines,
    [
      'clash',
      `CLIENT ID CLASH: another MQTT client connects with the client id "${c.clientId}" and takes the session over (${c.closes} times in a row since ${new Date(c.since).toISOString()}); readings go to either, the retained status flaps. Give every anomalyd its own mqtt.clientId; meanwhile this one waits ${Math.round(c.reconnectDelayMs / 1000)} s before taking the session back`,
    ],
  ];
}

/** Sensors listed by name in the own-models lines, at most (the rest are counted). */
const OWN_MODEL_LINES = 8;

/**
 * The status as a few aligned lines for people. `learning`: the sensors learning their own model (from
 * GET /api/sensors), or null when not asked or not answered (the counts of /api/status are given then).
 */
export function formatStatus(s: DaemonStatusView, base: string, learning: readonly SensorView[] | null = null): string {
  const by = s.sensors.byStatus;
  const rejections = Object.entries(s.rejections)
    .filter(([, n]) => (n ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([reason, n]) => `${reason} ${n}${reason in REJECT_WORDS ? ` (${REJECT_WORDS[reason as RejectReason]})` : ''}`);
  const c = s.counters;
  const lines: [string, string][] = [
    ['daemon', `anomalyd ${s.version} at ${base}, up ${duration(s.uptimeMs)} (since ${new Date(s.startedAt).toISOString()})`],
    ['model', s.model ?? 'none (sensors wait for their own)'],
    ['mqtt', `${s.mqtt.url} (${s.mqtt.connected ? 'connected' : 'DISCONNECTED'})`],
    ...clashLines(s),
    ['sensors', `${s.sensors.total}: ${by.ok} ok, ${by.anomalous} anomalous, ${by.learning} learning (the scorer's learning period: no alerts yet), ${by.stale} stale`],
    ...openLines(s),
    ...ownModelLines(s, learning),
    ['outbox', s.outbox === null ? 'unknown (database closed)' : `${s.outbox.pending} alert(s) waiting for the broker, ${s.outbox.dropped} dropped since start${overdueText(s.outbox.overdue)}`],
    ...messageLines(s),
    ...streamLines(s),
    ['rejected', rejections.length > 0 ? rejections.join(', ') + perField(s) : 'nothing since start'],
    ...skippedLines(s),
    ...discoveryLines(s),
    ...seriesLines(s),
    ...refusedLines(s),
    // A device whose clock was never set (Tasmota without NTP) is read on arrival time: say so, it is not silent.
    ...((c.unsetClocks ?? 0) > 0 ? [['clocks', `${c.unsetClocks} message(s) with a device time before 2000 (a clock never set, e.g. Tasmota without NTP) stamped on arrival; the log names the devices`] as [string, string]] : []),
    // A device clock hours behind arrival is taken (in order, not ahead), and its plots are hours off: say so.
    ...((c.clockLags ?? 0) > 0 ? [['clocks', `${c.clockLags} stream(s) whose device times lag arrival by a whole number of hours, reading after reading (a time zone mix-up? ingest.timezone); the log names them`] as [string, string]] : []),
    ...backfillLines(s),
    // Readings are scored one by one (there is no per-window counter since the per-reading detector core).
    ['counters', ['received', 'readings', 'scored', 'events', 'commands'].filter((k) => k in c).map((k) => `${k} ${c[k]}`).join(', ')],
  ];
  return lines.map(([k, v]) => `${k.padEnd(10)} ${v}\n`).join('');
}

/**
 * The readings missing in backfill bursts since start (DaemonStatusView.backfill; tryout 27, finding 6), when any: how
 * many, in how many bursts, the latest burst, and where to look. None from a daemon before it, or with none missing.
 */
function backfillLines(s: DaemonStatusView): [string, string][] {
  const b = s.backfill;
  if (b === undefined || b.missing === 0) return [];
  const last = b.last === null ? '' : `; latest: ${b.last.stream}, ${b.last.missing} missing at its interval between ${new Date(b.last.fromTs).toISOString()} and ${new Date(b.last.toTs).toISOString()}`;
  return [
    [
      'backfill',
      `${b.missing} reading(s) missing at their streams' intervals in backfills (readings sent far faster than their times, with holes between them) since start, ${b.bursts} burst(s) ended${last}. The broker may have dropped them (mosquitto max_queued_messages): see docs/DEPLOY.md, "Loading history"`,
    ],
  ];
}

/** A few words for each reason a Home Assistant discovery config is refused (DiscoveryView.refused). */
const REFUSAL_WORDS: Readonly<Record<string, string>> = {
  unread_template: 'a value_template anomalyd does not read: its states are rejected unread_template',
  too_many_streams: 'over ingest.maxStreams entities',
  bad_topic: 'a state topic no device publishes on',
  same_stream: 'another config already names its stream',
  not_a_config: 'a payload that is no JSON object',
  no_state_topic: 'no state_topic',
  anomalyd: "another anomalyd's entities (its scores), never read",
};

/**
 * The `discovery` line with the homeassistant preset: the Home Assistant discovery entities read on their own state
 * topics, how many are in use (their stream has had readings), the configs that state a unit of a stream a rule reads,
 * and the configs refused, per reason; none without the preset.
 */
function discoveryLines(s: DaemonStatusView): [string, string][] {
  const d = s.discovery;
  if (d === undefined) return [];
  const refused = Object.entries(d.refused).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const total = refused.reduce((sum, [, n]) => sum + n, 0);
  const why = refused.map(([reason, n]) => `${reason} ${n}${reason in REFUSAL_WORDS ? ` (${REFUSAL_WORDS[reason]})` : ''}`).join(', ');
  return [
    [
      'discovery',
      `Home Assistant configs: ${d.entities} entit${d.entities === 1 ? 'y' : 'ies'} read on their own state topics (${d.inUse} in use: their streams have readings), ${d.units} stating the unit of a stream a rule reads; ${total === 0 ? 'none refused' : `${total} refused: ${why}`}`,
    ],
  ];
}

/**
 * The `streams` line, while the stream table is full (ingest.maxStreams) or a new stream displaced one heard once
 * since start: that new streams are being turned away, since when, and what to do (tryout 25, finding 6: only
 * `rejected too_many_streams N` told it, not that every new sensor was refused). None while there is room and nothing
 * was displaced, or from a daemon before it.
 */
function streamLines(s: DaemonStatusView): [string, string][] {
  const t = s.streams;
  if (t === undefined || (t.fullSince === null && t.displaced === 0)) return [];
  const fill = `${t.tracked} of ingest.maxStreams ${t.max}`;
  const displaced = t.displaced > 0 ? `; ${t.displaced} new stream(s) took the slot of one heard once since start` : '';
  if (t.fullSince === null) return [['streams', `${fill}${displaced}`]];
  const since = `${fill}: FULL since ${new Date(t.fullSince).toISOString()}, new streams are turned away (${t.turnedAway} since start)`;
  if (t.heardOnce > 0) {
    return [
      [
        'streams',
        `${since}; a new sensor is taken at its second message, in the slot of a stream heard only once (${t.heardOnce} of them: one-shot topics, a flood?)${displaced}. They go by themselves after limits.idleAfterMinMs; if real sensors fill the table, raise ingest.maxStreams (and MemoryMax: docs/SECURITY.md)`,
      ],
    ];
  }
  return [['streams', `${since}: every stream has sent more than once${displaced}. Raise ingest.maxStreams (and MemoryMax: docs/SECURITY.md), or retire streams no longer used: anomalyd sensors forget <stream>`]];
}

/**
 * The `open` line: how many sensors have an open episode of any kind, by name (the first OPEN_SENSORS_LISTED), so a
 * silence's `missing data` episode, whose sensor is `stale` and not `anomalous`, is not a `0 anomalous` (tryout 13,
 * finding 7). None from a daemon before it.
 */
function openLines(s: DaemonStatusView): [string, string][] {
  const n = s.sensors.openEpisodes;
  if (n === undefined) return [];
  if (n === 0) return [['open', 'no sensor has an open episode']];
  const names = s.sensors.openSensors ?? [];
  const more = n > names.length ? `, … (${n - names.length} more)` : '';
  return [['open', `${n} sensor${n === 1 ? ' has' : 's have'} an open episode (anomalous, or stale with missing data): ${names.join(', ')}${more}; anomalyd anomalies list --status open`]];
}

/**
 * The `messages` line: where every message received went, one place each, so the sum can be checked:
 * `received 12 = 3 with readings + 1 rejected + 8 skipped` (+ held by admission, + not parsed yet, when any).
 * None from a daemon before the per-message counters.
 */
function messageLines(s: DaemonStatusView): [string, string][] {
  const c = s.counters;
  if (c.messagesWithReadings === undefined || c.messagesRejected === undefined) return [];
  const skipped = Object.values(s.skipped ?? {}).reduce<number>((a, n) => a + (n ?? 0), 0);
  const parts = [`${c.messagesWithReadings} with readings`, `${c.messagesRejected} rejected`, `${skipped} skipped`];
  if ((c.messagesHeld ?? 0) > 0) parts.push(`${c.messagesHeld} held for their stream's next reading`);
  const unparsed = (c.received ?? 0) - (c.messages ?? 0);
  if (unparsed > 0) parts.push(`${unparsed} not parsed yet`);
  return [['messages', `received ${c.received ?? 0} = ${parts.join(' + ')} (readings count fields: ${c.readings ?? 0})`]];
}

/**
 * After the `rejected` line's counts, when they do not add up to the messages line's `N rejected`: they count bad
 * fields (a message with two has two; one with a reading beside its bad field has one), that one messages that gave
 * no reading, so `bad_json 6, future_timestamp 3 …` beside `16 rejected` read as a rejection counted twice (tryout
 * 20, finding 13). Empty when they agree.
 */
function perField(s: DaemonStatusView): string {
  const sum = Object.values(s.rejections).reduce<number>((a, n) => a + (n ?? 0), 0);
  const messages = s.counters.messagesRejected ?? sum;
  return sum === messages ? '' : ` = ${sum}, one per bad field (the ${messages} rejected above are messages that gave no reading)`;
}

/**
 * What each reason of the `rejected` line means, in a few words (README's list of reasons says more): a count
 * beside a bare name (`redelivered 90, retained 1`) read as 91 errors (tryout 24, finding 5), while two of them
 * are by design (a message re-sent, the broker's last value replayed at subscribe) and the `skipped` line says
 * its reasons. Every reason has words: the Record's type says so.
 */
export const REJECT_WORDS: Readonly<Record<RejectReason, string>> = {
  bad_topic: 'a topic no rule reads, or a sensor a rule excludes',
  oversize: 'a payload over ingest.maxPayloadBytes',
  bad_json: 'not JSON, nor a number',
  not_a_number: 'no number where a reading belongs',
  non_finite: 'NaN or infinity',
  out_of_range: 'beyond ±10¹⁵',
  bad_timestamp: 'a time that cannot be read',
  future_timestamp: 'a time ahead of arrival',
  out_of_order: "a time behind the stream's last reading",
  redelivered: 'a message re-sent, read already: not judged twice',
  late: "arrived after a newer reading: not judged out of order",
  clock_glitch: "a time ahead that the stream's next reading showed wrong",
  empty: 'an empty payload',
  too_many_readings: 'a burst over ingest.maxReadingsPerMessage',
  too_many_streams: 'a stream over ingest.maxStreamsPerSensor or ingest.maxStreams',
  too_deep: 'JSON nested too deep',
  retained: "the broker's stored last value at subscribe, not a new reading",
  internal_error: 'an error while reading it: the log names the stage',
  rate_limited: 'a flood dropped unread',
  unread_template: "a discovery entity's value_template anomalyd does not read",
};

/**
 * The `skipped` line: messages a rule took that are by design no reading and no error (contract SkipReason), per
 * reason, so that `received` minus the messages with readings and the rejected ones is explained. None when nothing was skipped.
 */
function skippedLines(s: DaemonStatusView): [string, string][] {
  const words: Record<string, string> = {
    hub_topic: "a hub's own topics",
    hub_event: 'hub messages without a measurement',
    text_state: 'text states of entities that are not numeric',
    missing_value: 'every value missing: null, nan, unavailable',
  };
  const parts = Object.entries(s.skipped ?? {})
    .filter(([, n]) => (n ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([reason, n]) => `${reason} ${n}${words[reason] !== undefined ? ` (${words[reason]})` : ''}`);
  return parts.length === 0 ? [] : [['skipped', `${parts.join(', ')}: no readings by design, not errors`]];
}

/**
 * The `series` line: scored readings the dashboard's series did not keep, per reason (SeriesNotKept), so none is left
 * out unsaid; and a second one for its buckets dropped (seriesBucketsDropped). None when every reading was kept and no
 * bucket dropped (or from an older daemon).
 */
function seriesLines(s: DaemonStatusView): [string, string][] {
  const parts = Object.entries(s.seriesNotKept ?? {})
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([reason, n]) => `${reason} ${n}${reason === 'duplicate' ? ' (identical in time and values to a reading kept: a message delivered twice)' : reason === 'evicted' ? ' (streams whose raw readings were dropped for a new one past ingest.maxStreams; their minute buckets stay)' : ''}`);
  const lines: [string, string][] = parts.length === 0 ? [] : [['series', `${parts.join(', ')}: scored, not kept in the dashboard's series`]];
  const dropped = s.seriesBucketsDropped ?? 0;
  if (dropped > 0) lines.push(['series', `${dropped} minute and quarter-hour buckets dropped: the database did not take them (see the daemon's log); the history plots lack them`]);
  return lines;
}

/**
 * The `refused` line(s): what the embedded broker refused since start (publishes, with how many topics and the
 * first few of them, and the latest reason; logins). None without the embedded broker (or from an older daemon).
 */
function refusedLines(s: DaemonStatusView): [string, string][] {
  const b = s.broker;
  if (b === undefined || b === null) return [];
  const p = b.publishes;
  const l = b.logins;
  if (p.count === 0 && l.count === 0) return [['refused', 'nothing by the embedded broker since start']];
  const out: [string, string][] = [];
  if (p.count > 0) {
    const n = `${p.moreTopics ? 'more than ' : ''}${p.topics} topic${p.topics === 1 && !p.moreTopics ? '' : 's'}`;
    const more = p.moreTopics || p.topics > p.someTopics.length ? ', …' : '';
    out.push(['refused', `${p.count} publish${p.count === 1 ? '' : 'es'} by the embedded broker since start (dropped), on ${n}: ${p.someTopics.join(', ')}${more}`]);
    if (p.last !== null) out.push(['', `  latest ${new Date(p.last.at).toISOString()} on ${p.last.topic}: ${p.last.reason}`]);
  }
  if (l.count > 0) {
    const n = `${l.moreClients ? 'more than ' : ''}${l.clients} client${l.clients === 1 && !l.moreClients ? '' : 's'}`;
    out.push([out.length === 0 ? 'refused' : '', `${l.count} login${l.count === 1 ? '' : 's'} by the embedded broker since start, from ${n}${l.last !== null ? ` (latest ${l.last.clientId}: ${l.last.reason})` : ''}`]);
  }
  return out;
}

/**
 * The `own models` line(s): how many sensors still learn their own model, how far each is, which stopped
 * trying (their models were rejected too often) and which the operator pinned to their model.
 */
function ownModelLines(s: DaemonStatusView, learning: readonly SensorView[] | null): [string, string][] {
  const own = s.sensors.ownModel;
  if (own === undefined) return [['own models', 'off (learning.enabled: false): every sensor uses the shared model']];
  const n = own.collecting + own.queued + own.training;
  const stopped = own.stopped ?? 0;
  const pinned = s.sensors.pinned ?? 0;
  const extra = [stopped > 0 ? `${stopped} stopped trying` : '', pinned > 0 ? `${pinned} pinned to their model` : ''].filter((x) => x !== '').join(', ');
  // With no sensor at all there is none to say has its own (tryout 27, finding 8).
  if (n === 0 && extra === '') return [['own models', s.sensors.total === 0 ? 'none being learnt (no sensor seen yet)' : 'none being learnt (every sensor seen has its own)']];
  const head: [string, string] = [
    'own models',
    n === 0
      ? `none being learnt; ${extra}`
      : `${n} sensor${n === 1 ? '' : 's'} learning ${n === 1 ? 'its' : 'their'} own (${own.collecting} collecting readings, ${own.queued} queued, ${own.training} training)${extra !== '' ? `; ${extra}` : ''}`,
  ];
  if (learning === null || learning.length === 0) return [head];
  const width = Math.min(24, Math.max(...learning.slice(0, OWN_MODEL_LINES).map((x) => x.sensor.length)));
  const line = (x: SensorView): string =>
    x.ownModel != null ? ownModelText(x.ownModel) : `pinned to ${x.model ?? 'the shared model'} ('anomalyd models unpin ${x.sensor}' lets it learn again)`;
  const lines: [string, string][] = learning.slice(0, OWN_MODEL_LINES).map((x) => ['', `  ${x.sensor.padEnd(width)}  ${line(x)}`]);
  if (learning.length > OWN_MODEL_LINES) lines.push(['', `  and ${learning.length - OWN_MODEL_LINES} more (GET /api/sensors: ownModel)`]);
  return [head, ...lines];
}

/** A duration in ms by the one rule of the sentences, the dashboard and `anomalies list` (src/util/duration.ts). */
const duration = formatDuration;

/**
 * The outbox line's tail for alerts the broker did not acknowledge in time (StatusView.outbox.overdue): the one
 * still undelivered, then the count since start; empty when none was.
 */
function overdueText(o: OutboxOverdueView | undefined): string {
  if (o === undefined || o.count === 0) return '';
  const now = o.current !== null ? `; alert ${o.current.outboxId} OVERDUE (no PUBACK in time since ${new Date(o.current.since).toISOString()}: reconnecting to send it again)` : '';
  return `${now}; ${o.count} overdue since start`;
}
