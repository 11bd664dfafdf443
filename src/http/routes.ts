/**
 * The HTTP API's routes: request in, reply out, with every input validated here. No sockets: the
 * adapter (src/adapters/http.ts) reads the request, enforces size limits and auth, and writes the reply.
 * docs/HTTP.md describes the same routes for their users; keep the two in step.
 */
import type { AnomalyMark, AnomalyQuery, AnomalyStatus } from '../contract/store.js';
import { markOf, parseCommand, type CommandVerb } from '../pipeline/commands.js';
import { parseDuration, parseSince, SINCE_FORMS } from '../util/time.js';
import type { DaemonView } from './view.js';
import { closeNames } from '../pipeline/names.js';

export interface ApiRequest {
  readonly method: string;
  /** The URL's path, still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Buffer;
}

export type Reply =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown; readonly allow?: string }
  | { readonly kind: 'page' }
  | { readonly kind: 'asset'; readonly name: string };

export const DEFAULT_ANOMALY_LIMIT = 100;
export const MAX_ANOMALY_LIMIT = 1000;
const MAX_SENSOR_CHARS = 256;
/** The command handler's id rule (src/pipeline/commands.ts), so an id that works over MQTT works here. */
const ANOMALY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The series spans the page offers, and the bounds of any other. */
export const DEFAULT_SERIES_RANGE = '1h';
const MIN_RANGE_MS = 60_000;
const MAX_RANGE_MS = 8 * 86_400_000;
export const DEFAULT_SERIES_POINTS = 800;
const MAX_SERIES_POINTS = 5000;
const MARK_VERBS: readonly CommandVerb[] = ['ack', 'false_alarm', 'unmark'];
/** The shortest prefix of an anomaly id the routes take, as the CLI (src/cli/anomalies.ts MIN_ID_PREFIX). */
export const MIN_ID_PREFIX = 8;
/** Ids an ambiguous prefix's error names at most. */
const MAX_CANDIDATES = 5;

type Handler = (req: ApiRequest, params: readonly string[], view: DaemonView) => Reply;

interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Partial<Record<'GET' | 'POST', Handler>>>;
}

/** Thrown by validation helpers; routeRequest turns it into a 4xx reply. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ROUTES: readonly Route[] = [
  { pattern: /^\/$/, methods: { GET: () => ({ kind: 'page' }) } },
  { pattern: /^\/assets\/([a-z0-9.-]+)$/, methods: { GET: (_req, [name]) => ({ kind: 'asset', name }) } },
  { pattern: /^\/api\/status$/, methods: { GET: getStatus } },
  { pattern: /^\/api\/sensors$/, methods: { GET: getSensors } },
  // A stream's name may hold '/' (bedroom/temperature): percent-encoded (%2F) or as it is. Unambiguous, as the only
  // route under a sensor is its series: the last `/series` is the route, everything before it the name (a stream
  // named `x/series` is `/api/sensors/x/series/series`). Tryout 13, finding 10: the unencoded path was a 404.
  { pattern: /^\/api\/sensors\/(.+)\/series$/, methods: { GET: getSeries } },
  // The operator retires a stream (or a device's streams): the last `/forget` is the route, as `/series` above.
  { pattern: /^\/api\/sensors\/(.+)\/forget$/, methods: { POST: (req, params, view) => postForget(req, params, view, 'stream') } },
  { pattern: /^\/api\/devices\/(.+)\/forget$/, methods: { POST: (req, params, view) => postForget(req, params, view, 'device') } },
  { pattern: /^\/api\/anomalies$/, methods: { GET: getAnomalies } },
  { pattern: /^\/api\/anomalies\/([^/]+)$/, methods: { GET: getAnomaly } },
  { pattern: /^\/api\/anomalies\/([^/]+)\/(ack|false_alarm|unmark)$/, methods: { POST: postMark } },
];

/** Answers one request. Never throws: a failing view becomes a 500 (the caller logs `cause`). */
export function routeRequest(req: ApiRequest, view: DaemonView): Reply & { readonly cause?: unknown } {
  const found = findRoute(req.path);
  if (found === null) return error(404, `no such route: ${preview(req.path)}`);
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const handler = method === 'GET' || method === 'POST' ? found.route.methods[method] : undefined;
  const allow = allowed(found.route);
  if (handler === undefined) return { ...error(405, `${preview(req.method)} is not allowed here; use ${allow}`), allow };
  try {
    return handler(req, decodeParams(found.params), view);
  } catch (err) {
    if (err instanceof HttpError) return error(err.status, err.message);
    return { ...error(500, 'internal error'), cause: err };
  }
}

function findRoute(path: string): { readonly route: Route; readonly params: readonly string[] } | null {
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (m !== null) return { route, params: m.slice(1) };
  }
  return null;
}

function allowed(route: Route): string {
  const methods = Object.keys(route.methods);
  return (methods.includes('GET') ? [...methods, 'HEAD'] : methods).join(', ');
}

function decodeParams(raw: readonly string[]): string[] {
  return raw.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      throw new HttpError(400, `bad percent-encoding in ${preview(p)}`);
    }
  });
}

function getStatus(req: ApiRequest, _params: readonly string[], view: DaemonView): Reply {
  onlyParams(req.query, []);
  return ok(view.status());
}

function getSensors(req: ApiRequest, _params: readonly string[], view: DaemonView): Reply {
  onlyParams(req.query, []);
  return ok({ sensors: view.sensors() });
}

function getSeries(req: ApiRequest, [sensor]: readonly string[], view: DaemonView): Reply {
  onlyParams(req.query, ['range', 'since', 'points']);
  checkSensor(sensor);
  const rangeText = single(req.query, 'range') ?? DEFAULT_SERIES_RANGE;
  const rangeMs = parseDuration(rangeText);
  if (rangeMs === null || rangeMs < MIN_RANGE_MS || rangeMs > MAX_RANGE_MS) {
    throw new HttpError(400, `range must be a duration from 1m to 8d such as 1h, 24h or 7d, got ${preview(rangeText)}`);
  }
  const since = optionalTime(req.query, 'since', view);
  const points = optionalInt(req.query, 'points', 10, MAX_SERIES_POINTS) ?? DEFAULT_SERIES_POINTS;
  const series = view.series(sensor, { rangeMs, maxPoints: points, ...(since !== undefined ? { since } : {}) });
  if (series !== null) return ok(series);
  // A sensor the daemon knows but that has no scored reading yet (e.g. still learning) has an empty series.
  if (view.sensors().some((s) => s.sensor === sensor)) return ok({ stream: sensor, channels: [], source: 'none', ts: [], latest: null });
  throw new HttpError(404, `no such sensor: ${preview(sensor)}`);
}

function getAnomalies(req: ApiRequest, _params: readonly string[], view: DaemonView): Reply {
  onlyParams(req.query, ['sensor', 'device', 'status', 'since', 'limit']);
  const sensor = single(req.query, 'sensor');
  if (sensor !== undefined) checkSensor(sensor);
  // A device's episodes, of all its streams (AnomalyRecord.device: plug-washer for plug-washer/ENERGY.Power).
  const device = single(req.query, 'device');
  if (device !== undefined) checkSensor(device, 'device');
  const filters: Omit<AnomalyQuery, 'limit'> = {
    ...(sensor !== undefined ? { sensor } : {}),
    ...(device !== undefined ? { device } : {}),
    ...optionalField('status', optionalStatus(req.query)),
    ...optionalField('from', optionalTime(req.query, 'since', view)),
    // A field's silence told in its device's one episode is listed in it (AnomalyRecord.members), not as an episode
    // of its own, unless that field's own episodes are asked for (tryout 31, finding 1).
    folded: sensor === undefined,
  };
  const q: AnomalyQuery = { limit: optionalLimit(req.query), ...filters };
  const anomalies = view.anomalies(q);
  if (sensor !== undefined && anomalies.length === 0) checkKnownStream(sensor, view);
  if (device !== undefined && anomalies.length === 0) checkKnownDevice(device, view);
  // A list cut at its limit says how many more match (tryout 30, finding 8): counted only when it may be cut.
  const more = anomalies.length >= q.limit ? Math.max(0, view.anomalyCount(filters) - anomalies.length) : 0;
  return ok({ anomalies, more });
}

/**
 * Throws a 404 when `sensor` is no stream the daemon knows: none of its streams (SensorView.sensor) and no stored
 * episode is of it. A device given as a stream is told to use ?device=; otherwise the close stream names are
 * given (tryout 20 F10: `?sensor=bedroom_sensor/temp` answered a healthy stream's empty list).
 */
function checkKnownStream(sensor: string, view: DaemonView): void {
  const sensors = view.sensors();
  if (sensors.some((s) => s.sensor === sensor)) return;
  if (view.anomalies({ sensor, limit: 1 }).length > 0) return;
  if (sensors.some((s) => (s.device ?? s.sensor) === sensor || s.sensor.startsWith(`${sensor}/`))) {
    throw new HttpError(404, `no such sensor: ${preview(sensor)} is a device (filter it with ?device=)`);
  }
  const near = closeNames(sensor, sensors.map((s) => s.sensor).sort());
  throw new HttpError(404, `no such sensor: ${preview(sensor)}${near.length > 0 ? ` (close: ${near.map((n) => preview(n)).join(', ')})` : ''}`);
}

/**
 * Throws a 404 when `device` is no device the daemon knows: none of its streams is one's (SensorView.device) and
 * no stored episode is of it. So a misspelt device, a stream given as a device or the unsafe form of a
 * Zigbee2Tasmota Name (`Kitchen #2`, stored `Kitchen _2`) is not answered as a healthy device's empty list.
 */
function checkKnownDevice(device: string, view: DaemonView): void {
  const sensors = view.sensors();
  const deviceOf = (s: (typeof sensors)[number]): string => s.device ?? s.sensor;
  if (sensors.some((s) => deviceOf(s) === device)) return;
  if (view.anomalies({ device, limit: 1 }).length > 0) return;
  const stream = sensors.find((s) => s.sensor === device);
  if (stream !== undefined) throw new HttpError(404, `no such device: ${preview(device)} is a stream of the device ${preview(deviceOf(stream))} (filter it with ?sensor=)`);
  const near = closeNames(device, [...new Set(sensors.map(deviceOf))].sort());
  throw new HttpError(404, `no such device: ${preview(device)}${near.length > 0 ? ` (close: ${near.map((n) => preview(n)).join(', ')})` : ''}`);
}

function getAnomaly(req: ApiRequest, [id]: readonly string[], view: DaemonView): Reply {
  onlyParams(req.query, []);
  checkAnomalyId(id, view);
  const anomaly = view.anomaly(resolveId(id, view));
  if (anomaly === null) throw new HttpError(404, `no such anomaly: ${preview(id)}`);
  return ok(anomaly);
}

/**
 * The anomaly an id in the path names: the id itself, or, as the CLI takes it, a unique prefix of at least
 * MIN_ID_PREFIX characters. Throws a 404 when there is none (saying a shorter prefix is not taken), a 409 when
 * the prefix is ambiguous (naming some of the ids).
 */
function resolveId(id: string, view: DaemonView): string {
  if (view.anomalyIdsWithPrefix === undefined) return id;
  const found = view.anomalyIdsWithPrefix(id, MAX_CANDIDATES + 1);
  if (found.includes(id)) return id;
  if (id.length < MIN_ID_PREFIX) {
    throw new HttpError(404, `no such anomaly: ${preview(id)}${found.length > 0 ? ` (a prefix of an id needs at least ${MIN_ID_PREFIX} characters)` : ''}`);
  }
  if (found.length === 1) return found[0];
  if (found.length === 0) throw new HttpError(404, `no such anomaly: ${preview(id)}`);
  const more = found.length > MAX_CANDIDATES ? ', …' : '';
  throw new HttpError(409, `id prefix ${preview(id)} is ambiguous: it matches ${found.slice(0, MAX_CANDIDATES).join(', ')}${more}; give more characters of the id`);
}

function postMark(req: ApiRequest, [id, verb]: readonly string[], view: DaemonView): Reply {
  onlyParams(req.query, []);
  checkAnomalyId(id, view);
  const command = MARK_VERBS.find((v) => v === verb);
  if (command === undefined) throw new HttpError(404, `no such action: ${preview(verb)}`);
  const note = parseNote(command, id, req.body);
  const mark: AnomalyMark | null = markOf(command);
  const full = resolveId(id, view);
  if (!view.markAnomaly(full, mark, note)) throw new HttpError(404, `no such anomaly: ${preview(id)}`);
  const anomaly = view.anomaly(full);
  if (anomaly === null) throw new HttpError(404, `no such anomaly: ${preview(id)}`);
  return ok(anomaly);
}

/**
 * Retires a stream or a device (DaemonView.forget). The body is empty or `{}` (nothing to say yet; a field is a
 * 400, so a client that means more is told). 404 naming close names when the daemon knows no such stream or device.
 */
function postForget(req: ApiRequest, [name]: readonly string[], view: DaemonView, kind: 'stream' | 'device'): Reply {
  onlyParams(req.query, []);
  checkSensor(name, kind === 'stream' ? 'sensor' : 'device');
  const body = req.body.toString('utf8').trim();
  if (body !== '' && body !== '{}') throw new HttpError(400, 'the body of forget must be empty or {}');
  const done = view.forget?.(kind, name) ?? null;
  if (done !== null) return ok(done);
  const sensors = view.sensors();
  const names = kind === 'stream' ? sensors.map((s) => s.sensor) : [...new Set(sensors.map((s) => s.device ?? s.sensor))].sort();
  const near = closeNames(name, names);
  const asDevice = kind === 'stream' && sensors.some((s) => (s.device ?? s.sensor) === name) ? ' (it is a device: POST /api/devices/…/forget)' : '';
  throw new HttpError(404, `no such ${kind === 'stream' ? 'sensor' : 'device'}: ${preview(name)}${asDevice}${near.length > 0 ? ` (close: ${near.map((n) => preview(n)).join(', ')})` : ''}`);
}

/**
 * The body of a mark is the MQTT command's payload (empty or {"note": "..."}), so it goes through the
 * command parser itself: one set of rules (size, fields, note length) for both ways of marking.
 */
function parseNote(verb: CommandVerb, id: string, body: Buffer): string | null {
  const prefix = 'http';
  const parsed = parseCommand(prefix, `${prefix}/cmd/${verb}/${id}/http`, body);
  if (!parsed.ok) throw new HttpError(400, parsed.detail);
  return parsed.command.note;
}

/** Unknown and repeated parameters are refused rather than ignored: a misspelt filter should not silently match everything. */
function onlyParams(query: URLSearchParams, known: readonly string[]): void {
  for (const key of new Set(query.keys())) {
    if (!known.includes(key)) {
      const expected = known.length > 0 ? `expected ${known.join(', ')}` : 'this route takes none';
      throw new HttpError(400, `unknown query parameter ${preview(key)}; ${expected}`);
    }
    if (query.getAll(key).length > 1) throw new HttpError(400, `query parameter ${preview(key)} given more than once`);
  }
}

function single(query: URLSearchParams, key: string): string | undefined {
  const value = query.get(key);
  return value === null ? undefined : value;
}

function optionalField<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function optionalLimit(query: URLSearchParams): number {
  return optionalInt(query, 'limit', 1, MAX_ANOMALY_LIMIT) ?? DEFAULT_ANOMALY_LIMIT;
}

function optionalInt(query: URLSearchParams, key: string, min: number, max: number): number | undefined {
  const raw = single(query, key);
  if (raw === undefined) return undefined;
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new HttpError(400, `${key} must be an integer from ${min} to ${max}, got ${preview(raw)}`);
  return n;
}

function optionalStatus(query: URLSearchParams): AnomalyStatus | undefined {
  const raw = single(query, 'status');
  if (raw === undefined) return undefined;
  if (raw === 'open' || raw === 'resolved') return raw;
  throw new HttpError(400, `status must be open or resolved, got ${preview(raw)}`);
}

/** The CLI's forms: an age before the daemon's now (24h, 7d), an ISO 8601 time, or epoch milliseconds. */
function optionalTime(query: URLSearchParams, key: string, view: DaemonView): number | undefined {
  const raw = single(query, key);
  if (raw === undefined) return undefined;
  const ts = parseSince(raw, view.now()) ?? parseSince(plusFromQuery(raw), view.now());
  if (ts === null) throw new HttpError(400, `${key} must be ${SINCE_FORMS}, got ${preview(raw)}`);
  return ts;
}

/**
 * A query string decodes `+` to a space, so `since=2026-12-02T06:40:00+01` typed as is arrives as
 * `2026-12-02T06:40:00 01`: a space right after the time followed by an offset's digits (hh, hh:mm, hhmm) can
 * only be that `+`, so it is read as one. Anything else is returned unchanged.
 */
function plusFromQuery(raw: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$/i.exec(raw.trim());
  return m === null ? raw : `${m[1]}+${m[2]}`;
}

/** `what`: the name's kind in the error (`sensor`, `device`). */
function checkSensor(sensor: string, what = 'sensor'): void {
  if (sensor.length === 0 || sensor.length > MAX_SENSOR_CHARS) throw new HttpError(400, `${what} name must be 1 to ${MAX_SENSOR_CHARS} characters`);
}

/** A 400 for an id that cannot be an anomaly id (nor a prefix of one): the routes' grammar, then the view's form. */
function checkAnomalyId(id: string, view: DaemonView): void {
  if (!ANOMALY_ID.test(id)) throw new HttpError(400, `invalid anomaly id ${preview(id)}`);
  const form = view.anomalyIdForm;
  if (form !== undefined && !form.test(id)) throw new HttpError(400, `invalid anomaly id ${preview(id)}: ${form.description}`);
}

function ok(body: unknown): Reply {
  return { kind: 'json', status: 200, body };
}

function error(status: number, message: string): Reply & { readonly kind: 'json' } {
  return { kind: 'json', status, body: { error: message } };
}

/** Echoed input is cut short and JSON-quoted so an error body never carries a large or odd string. */
function preview(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}
