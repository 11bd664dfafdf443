/**
 * Who may do what on the embedded broker: three roles, decided at CONNECT from the login, then checked on
 * every PUBLISH (aedes' authorizePublish, which also covers last wills) and every delivery
 * (authorizeForward). Pure: no sockets, no aedes; `broker.ts` wires it in.
 *
 * | role     | login                                  | may publish                                   | receives              |
 * |----------|----------------------------------------|-----------------------------------------------|-----------------------|
 * | daemon   | `anomalyd-daemon`, a secret made up at each start | anything but `$SYS/…`               | everything            |
 * | operator | broker.operator                        | `<prefix>/cmd/<verb>/<anomaly_id>/<own name>` | everything            |
 * | sensor   | broker.username, or anonymous when it is null | topics matching ingest.topics, and the own topics of the hubs in ingest.presets but not their command topics; never under `<prefix>/` | all but `<prefix>/cmd/…` |
 *
 * A hub (zigbee2mqtt, Tasmota, ESPHome …) is a sensor client that also publishes its own state (a retained
 * `zigbee2mqtt/bridge/state`, Tasmota's `tele/<device>/LWT`, discovery configs): `hubs` lists what each
 * enabled preset's hub publishes, and the command topics it listens on (`zigbee2mqtt/<device>/set`,
 * `cmnd/<device>/…`), which stay closed to every client but the daemon whatever ingest.topics says, so a
 * leaked sensor login still cannot switch or reflash a device.
 *
 * The daemon's client id is reserved too: MQTT lets a second connection with the same client id take
 * over the first, so anyone else using it is refused at CONNECT (it would knock the daemon off).
 */
import { timingSafeEqual } from 'node:crypto';

export type BrokerRole = 'daemon' | 'operator' | 'sensor';

export interface BrokerLogin {
  readonly username: string;
  readonly password: string;
}

export interface BrokerRolesOptions {
  /** The daemon's own login and client id. */
  readonly daemon: BrokerLogin & { readonly clientId: string };
  /** The sensors' login; null lets anonymous clients in as sensors. */
  readonly sensor: BrokerLogin | null;
  /** The operators' login; null = nobody may publish commands. */
  readonly operator: BrokerLogin | null;
  /** Topic filters sensors may publish on (ingest.topics). */
  readonly sensorTopics: readonly string[];
  /** mqtt.topicPrefix: only the daemon publishes under it (operators only their command topics). */
  readonly prefix: string;
  /** Further filters only the daemon may publish on (e.g. a discovery prefix). */
  readonly daemonOnly?: readonly string[];
  /** The hubs of the enabled presets: sensors may publish their topics too, never their commands. */
  readonly hubs?: readonly HubGrant[];
  /**
   * The state and availability topics of Home Assistant discovery entities (the homeassistant preset), as the daemon keeps them while it
   * runs (a live set): sensors may publish on them too, never on a daemon-only or command topic. Absent = none.
   */
  readonly discoveredTopics?: ReadonlySet<string>;
}

/** What sensors may publish for one hub, besides ingest.topics. */
export interface HubGrant {
  /** The preset's name, for the log. */
  readonly hub: string;
  /** MQTT filters of what the hub publishes (its state, device list, discovery configs). */
  readonly publish: readonly string[];
  /** MQTT filters inside `publish` this grant does not cover (another grant or the sensor topics still may). Absent = none. */
  readonly except?: readonly string[];
  /**
   * The hub's command topics, refused to sensors even inside `publish`, another hub's or ingest.topics:
   * MQTT filters where a level `**` stands for one or more levels (a zigbee2mqtt device name may have
   * several: `zigbee2mqtt/<floor>/<lamp>/set`).
   */
  readonly commands: readonly string[];
}

/** Who a connected client is. `user` is the login name (null for an anonymous sensor). */
export interface BrokerIdentity {
  readonly role: BrokerRole;
  readonly user: string | null;
}

export type AuthResult = { readonly ok: true; readonly identity: BrokerIdentity } | { readonly ok: false; readonly reason: string };

const COMMAND_VERBS = new Set(['ack', 'false_alarm', 'unmark']);

/**
 * True when `topic` matches the MQTT subscription `filter` (`+` one level, `#` the rest). Topics starting
 * with `$` are not matched by a filter starting with a wildcard (MQTT 3.1.1, 4.7.2).
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * True when `topic` matches `pattern`: an MQTT filter (`+` one level, `#` last: the rest) in which a level
 * `**` stands for one or more levels, for command topics under a device name of any depth. `$` topics
 * are matched only by a pattern that names their first level.
 */
export function topicMatchesPattern(pattern: string, topic: string): boolean {
  if (topic.startsWith('$') && !pattern.startsWith('$')) return false;
  return matchLevels(pattern.split('/'), 0, topic.split('/'), 0);
}

function matchLevels(p: readonly string[], i: number, t: readonly string[], j: number): boolean {
  if (i === p.length) return j === t.length;
  if (p[i] === '#') return true;
  if (p[i] === '**') {
    for (let k = j + 1; k <= t.length; k++) if (matchLevels(p, i + 1, t, k)) return true;
    return false;
  }
  if (j === t.length) return false;
  return (p[i] === '+' || p[i] === t[j]) && matchLevels(p, i + 1, t, j + 1);
}

function sameSecret(expected: string, given: Buffer | string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = typeof given === 'string' ? Buffer.from(given) : given;
  return a.length === b.length && timingSafeEqual(a, b);
}

export class BrokerRoles {
  private readonly prefixLevels: number;

  constructor(private readonly opts: BrokerRolesOptions) {
    this.prefixLevels = opts.prefix.split('/').length;
  }

  /** Decides the role of a connecting client from its client id and login. */
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined): AuthResult {
    const { daemon, sensor, operator } = this.opts;
    if (username === daemon.username) {
      return sameSecret(daemon.password, password) ? { ok: true, identity: { role: 'daemon', user: username } } : { ok: false, reason: 'bad password' };
    }
    if (clientId === daemon.clientId) return { ok: false, reason: `client id ${clientId} is reserved for the daemon` };
    if (operator !== null && username === operator.username) {
      return sameSecret(operator.password, password) ? { ok: true, identity: { role: 'operator', user: username } } : { ok: false, reason: 'bad password' };
    }
    if (sensor !== null) {
      if (username === sensor.username && sameSecret(sensor.password, password)) return { ok: true, identity: { role: 'sensor', user: username } };
      return { ok: false, reason: username === undefined ? 'anonymous clients are refused' : username === sensor.username ? 'bad password' : 'unknown user' };
    }
    if (username === undefined) return { ok: true, identity: { role: 'sensor', user: null } };
    return { ok: false, reason: 'unknown user (this broker takes anonymous sensors, or the operator login)' };
  }

  /** Null when `who` may publish on `topic`, else why not. */
  publishProblem(who: BrokerIdentity, topic: string): string | null {
    if (topic.startsWith('$')) return '$ topics are reserved';
    if (who.role === 'daemon') return null;
    if (who.role === 'operator') {
      return this.isOwnCommandTopic(who.user, topic) ? null : `operators publish only ${this.opts.prefix}/cmd/<verb>/<anomaly_id>/${who.user ?? ''}`;
    }
    if (this.isDaemonOnly(topic)) return `only the daemon publishes under ${this.opts.prefix}/`;
    const hubs = this.opts.hubs ?? [];
    const commanded = hubs.find((h) => h.commands.some((c) => topicMatchesPattern(c, topic)));
    if (commanded !== undefined) return `a command to ${commanded.hub}: on the embedded broker nobody but the daemon publishes a hub's commands`;
    if (this.opts.sensorTopics.some((f) => topicMatches(f, topic))) return null;
    if (this.opts.discoveredTopics?.has(topic) === true) return null;
    if (hubs.some((h) => h.publish.some((f) => topicMatches(f, topic)) && !(h.except ?? []).some((f) => topicMatches(f, topic)))) return null;
    return hubs.length === 0
      ? "sensors publish only on ingest.topics (and a hub's own topics once its preset is in ingest.presets)"
      : `sensors publish only on ingest.topics and the own topics of the hubs in ingest.presets (${hubs.map((h) => h.hub).join(', ')})`;
  }

  /** True when a message on `topic` may be delivered to `who` (sensors do not see operator commands or their results). */
  mayReceive(who: BrokerIdentity, topic: string): boolean {
    if (who.role !== 'sensor') return true;
    return !topicMatches(`${this.opts.prefix}/cmd/#`, topic);
  }

  private isDaemonOnly(topic: string): boolean {
    return topicMatches(`${this.opts.prefix}/#`, topic) || (this.opts.daemonOnly ?? []).some((f) => topicMatches(f, topic));
  }

  /** `<prefix>/cmd/<verb>/<anomaly_id>/<user>`, with the user's own name as the last level. */
  private isOwnCommandTopic(user: string | null, topic: string): boolean {
    if (user === null) return false;
    const levels = topic.split('/');
    const rest = levels.slice(this.prefixLevels);
    return (
      levels.slice(0, this.prefixLevels).join('/') === this.opts.prefix &&
      rest.length === 4 &&
      rest[0] === 'cmd' &&
      COMMAND_VERBS.has(rest[1]) &&
      rest[2].length > 0 &&
      rest[3] === user
    );
  }
}
