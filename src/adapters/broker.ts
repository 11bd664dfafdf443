import net from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import { listenError } from '../util/net.js';
import type { BrokerRefusals } from '../contract/broker.js';
import { BrokerRoles, type BrokerIdentity, type BrokerRolesOptions } from './broker-roles.js';

export type { BrokerRefusals };

export interface EmbeddedBrokerOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Who may connect and what each role may publish and receive (broker-roles.ts). null = no checks at
   * all: every client may do anything (only for tests of other parts; the daemon always passes roles).
   */
  readonly roles: BrokerRolesOptions | null;
  readonly logger: Logger;
  /**
   * Least time between two log lines about refused clients or publishes of one kind (ms; the daemon passes
   * limits.logIntervalMs; default 60 s). The summary of what was refused after a line comes this long after it.
   */
  readonly denialLogIntervalMs?: number;
  /** The clock and the timer the refusal summaries are paced by (default: Date.now and setTimeout, unref'd). */
  readonly timers?: DenialTimers;
}

/** What paces the refusal log: a wall clock (epoch ms) and a one-shot timer (tests pass a fake one). */
export interface DenialTimers {
  now(): number;
  /** Calls `fn` once after `ms` (ms); returns what cancel takes. Must not keep the process alive. */
  schedule(fn: () => void, ms: number): unknown;
  cancel(handle: unknown): void;
}

const REAL_TIMERS: DenialTimers = {
  now: () => Date.now(),
  schedule: (fn, ms) => setTimeout(fn, ms).unref(),
  cancel: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** aedes' publish as its client handler and its will calls use it (the typings know only `(packet, callback)`). */
type AedesPublish = (packet: object, client?: unknown, done?: (err?: Error) => void) => void;

/** aedes' message emitter's emit (mqemitter): hands one packet to every matching subscription's handler. */
type EmitterEmit = (packet: object, done?: (err?: Error) => void) => unknown;

/**
 * Makes aedes hand its publishes to the subscribers in the order they were published, as mosquitto does.
 *
 * aedes runs a publish through steps: a retained one is first stored (a promise, so at least a microtask), a
 * QoS 1/2 one first looked up for offline sessions (a promise too), a plain QoS 0 one goes out at once. So a
 * plain publish right behind a retained one (one socket read: ESPHome's retained states beside any other
 * device on the same connection, tryout 13) overtook it, and the overtaken one was then lost, not just late:
 * each client keeps the highest broker counter it was sent and takes anything lower for a copy of a message
 * it already had (aedes lib/client.js dedupe, meant for overlapping subscriptions; moscajs/aedes#955, #994,
 * open in aedes 1.2.0, the latest release). Nothing was refused, counted or logged.
 *
 * Here a publish starts only once the one before it has reached the emitter (or ended without: an error), so
 * the emitter sees them in publish order, which is also the order of their broker counters; aedes' dedupe then
 * drops only real copies. A publish made while another waits (a will, a $SYS line) queues behind it. A plain
 * QoS 0 publish with nothing ahead of it still goes out synchronously, as before.
 */
function keepPublishOrder(aedes: Aedes): void {
  const target = aedes as unknown as { publish: AedesPublish; mq: { emit: EmitterEmit } };
  const publish: AedesPublish = target.publish.bind(aedes);
  const emit: EmitterEmit = target.mq.emit.bind(target.mq);
  const waiting: (() => void)[] = [];
  /** The publish that has not reached the emitter yet (a token), null when none. */
  let current: object | null = null;
  const next = (): void => {
    while (current === null && waiting.length > 0) waiting.shift()!();
  };
  const release = (token: object): void => {
    if (current !== token) return;
    current = null;
    next();
  };
  target.mq.emit = (packet, done) => {
    // Every matching handler is called within emit (or queued in order when the emitter is busy); the next
    // publish may start after it.
    const r = emit(packet, done);
    if (current !== null) release(current);
    return r;
  };
  target.publish = (packet, client, done) => {
    const callback = typeof client === 'function' ? (client as (err?: Error) => void) : done;
    const who = typeof client === 'function' ? undefined : client;
    const token = {};
    const start = (): void => {
      current = token;
      publish(packet, who, (err) => {
        release(token);
        callback?.(err);
      });
    };
    waiting.push(start);
    next();
  };
}

/** Distinct topics (or clients) a refusal line counts; beyond it it says "more than". */
const DENIAL_MAX_DISTINCT = 500;
/** Topics (or clients) a refusal line names. */
const DENIAL_NAMED = 3;
/** Topics the status (BrokerRefusals.publishes.someTopics) names. */
const DENIAL_STATUS_NAMED = 10;
/** Distinct reasons a refusal summary counts apart (`byReason`); beyond, the rest are counted as `moreReasons`. */
const DENIAL_MAX_REASONS = 10;

/** What one kind of refusal gathered since its last line. */
interface DenialKind {
  count: number;
  loggedAt: number;
  /** The distinct topics (publishes) or clients (logins) of `count`, in order of first refusal, bounded. */
  distinct: Set<string>;
  moreDistinct: boolean;
  /** `count` by why each was refused, in order of first refusal (at most DENIAL_MAX_REASONS reasons). */
  reasons: Map<string, number>;
  /** Refusals of `count` whose reason was beyond DENIAL_MAX_REASONS others. */
  moreReasons: number;
}

/** Everything refused of one kind since start (BrokerRefusals). */
interface DenialTotal {
  count: number;
  distinct: Set<string>;
  moreDistinct: boolean;
  last: { at: number; key: string; reason: string } | null;
}

/**
 * Refusals (logins, publishes) logged as one line per kind per interval, so a hostile client cannot flood the
 * log; the line says how many distinct topics (publishes) or clients (logins) they came from and names the
 * first DENIAL_NAMED, so 20 devices on a wrong prefix read as 20 topics, not one example, and how many were
 * refused for each reason (`byReason`; `reason` only when they all had one: a summary of a wrong prefix and a
 * publish under the daemon's prefix names both, tryout 10). The first line of a quiet kind carries that one
 * refusal's own fields (topic or client, user, reason). The first refusal of a
 * quiet kind is logged at once; what follows it is summed up in one line `intervalMs` after that line, by a
 * timer armed when the first of them is counted (a fixed interval timer unrelated to the line came up to two
 * intervals late: 1 min 44 s, tryout 9). Also keeps the totals since start (totals()).
 */
class DenialLog {
  private readonly kinds = new Map<string, DenialKind>();
  private readonly totals = new Map<string, DenialTotal>();
  /** The armed summary timer and when it fires (epoch ms); null when nothing waits for a line. */
  private timer: { handle: unknown; at: number } | null = null;
  private stopped = false;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly timers: DenialTimers = REAL_TIMERS,
  ) {}

  /**
   * `distinct`: what the summary counts apart (the topic of a publish, the client id of a login); `reason`:
   * why it was refused (kept as the latest for the status, counted per reason for the summary).
   */
  record(kind: string, detail: Record<string, unknown>, distinct: string, reason: string): void {
    const now = this.timers.now();
    const key = distinct.slice(0, 200);
    this.total(kind, key, reason, now);
    const k = this.kinds.get(kind);
    if (k === undefined || (k.count === 0 && now - k.loggedAt >= this.intervalMs)) {
      // The first of a kind (or the first after a quiet interval) is logged at once; the rest of the interval
      // is summed up by flush(), intervalMs after this line.
      this.log.warn({ ...detail, kind }, `embedded broker: ${kind}`);
      this.kinds.set(kind, { count: 0, loggedAt: now, distinct: new Set(), moreDistinct: false, reasons: new Map(), moreReasons: 0 });
      return;
    }
    k.count++;
    if (k.distinct.size < DENIAL_MAX_DISTINCT) k.distinct.add(key);
    else if (!k.distinct.has(key)) k.moreDistinct = true;
    const seen = k.reasons.get(reason);
    if (seen !== undefined) k.reasons.set(reason, seen + 1);
    else if (k.reasons.size < DENIAL_MAX_REASONS) k.reasons.set(reason, 1);
    else k.moreReasons++;
    this.arm(k.loggedAt + this.intervalMs, now);
  }

  private total(kind: string, key: string, reason: string, now: number): void {
    let t = this.totals.get(kind);
    if (t === undefined) {
      t = { count: 0, distinct: new Set(), moreDistinct: false, last: null };
      this.totals.set(kind, t);
    }
    t.count++;
    if (t.distinct.size < DENIAL_MAX_DISTINCT) t.distinct.add(key);
    else if (!t.distinct.has(key)) t.moreDistinct = true;
    t.last = { at: now, key, reason };
  }

  /** Everything refused since start (BrokerRefusals). */
  refusals(): BrokerRefusals {
    const of = (kind: string): DenialTotal => this.totals.get(kind) ?? { count: 0, distinct: new Set(), moreDistinct: false, last: null };
    const p = of('publish refused');
    const l = of('login refused');
    return {
      publishes: {
        count: p.count,
        topics: p.distinct.size,
        moreTopics: p.moreDistinct,
        someTopics: [...p.distinct].slice(0, DENIAL_STATUS_NAMED),
        last: p.last === null ? null : { at: p.last.at, topic: p.last.key, reason: p.last.reason },
      },
      logins: { count: l.count, clients: l.distinct.size, moreClients: l.moreDistinct, last: l.last === null ? null : { at: l.last.at, clientId: l.last.key, reason: l.last.reason } } };
  }

  /** Makes sure the timer fires by `due` (epoch ms): an earlier one armed stays, a later one is moved up. */
  private arm(due: number, now: number): void {
    if (this.stopped || (this.timer !== null && this.timer.at <= due)) return;
    if (this.timer !== null) this.timers.cancel(this.timer.handle);
    const handle = this.timers.schedule(() => this.fire(due), Math.max(0, due - now));
    this.timer = { handle, at: due };
  }

  /** The timer, armed for `due` (epoch ms): logs the summaries due, and re-arms for a kind still counting. */
  private fire(due: number): void {
    this.timer = null;
    if (this.stopped) return;
    // A timer is never early by its own clock; the wall clock may read a millisecond short of `due`.
    const now = Math.max(this.timers.now(), due);
    this.flush(now);
    let next = Number.POSITIVE_INFINITY;
    for (const k of this.kinds.values()) if (k.count > 0) next = Math.min(next, k.loggedAt + this.intervalMs);
    if (Number.isFinite(next)) this.arm(next, now);
  }

  flush(now: number): void {
    for (const [kind, k] of this.kinds) {
      if (k.count > 0 && now - k.loggedAt >= this.intervalMs) {
        const logins = kind === 'login refused';
        const noun = logins ? 'client' : 'topic';
        const n = k.distinct.size;
        const named = [...k.distinct].slice(0, DENIAL_NAMED);
        const many = `${k.moreDistinct ? 'more than ' : ''}${n} ${noun}${n === 1 && !k.moreDistinct ? '' : 's'}`;
        const list = named.join(', ') + (k.moreDistinct || n > named.length ? ', …' : '');
        const spread = logins ? { clients: n, moreClients: k.moreDistinct, someClients: named } : { topics: n, moreTopics: k.moreDistinct, someTopics: named };
        // Why, for all of them: the count per reason, and the one reason when there was only one.
        const byReason = Object.fromEntries(k.reasons);
        const one = k.reasons.size === 1 && k.moreReasons === 0 ? { reason: [...k.reasons.keys()][0] } : {};
        const more = k.moreReasons > 0 ? { moreReasons: k.moreReasons } : {};
        const why = k.reasons.size + (k.moreReasons > 0 ? 1 : 0) > 1 ? `; ${[...k.reasons].map(([r, c]) => `${c} × ${r}`).join('; ')}${k.moreReasons > 0 ? `; ${k.moreReasons} × other reasons` : ''}` : '';
        this.log.warn({ kind, count: k.count, ...spread, ...one, byReason, ...more }, `embedded broker: ${kind} (${k.count} since the last line, from ${many}: ${list}${why})`);
        k.count = 0;
        k.loggedAt = now;
        k.distinct = new Set();
        k.moreDistinct = false;
        k.reasons = new Map();
        k.moreReasons = 0;
      }
    }
  }

  /** Logs what is still counted, and arms no timer again. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.timers.cancel(this.timer.handle);
    this.timer = null;
    this.flush(Number.POSITIVE_INFINITY);
  }
}

/**
 * The embedded MQTT broker (aedes) that lets anomalyd run with no outside service:
 * on 127.0.0.1 by default, or on the LAN address so sensors publish straight to the device.
 * Roles (daemon, operator, sensor) are enforced with aedes' authenticate / authorizePublish (which also
 * covers last wills; a refused publish is acknowledged and dropped, the connection stays) / authorizeForward hooks.
 * One owner: the daemon starts it before the MQTT client and stops it after.
 */
export class EmbeddedBroker {
  private aedes: Aedes | null = null;
  private server: net.Server | null = null;
  private boundPort = 0;
  private readonly identities = new WeakMap<Client, BrokerIdentity>();
  private denials: DenialLog | null = null;
  /** The totals of the last DenialLog, kept after stop (refusals()). */
  private lastRefusals: BrokerRefusals | null = null;

  constructor(private readonly opts: EmbeddedBrokerOptions) {}

  /**
   * What the broker refused since it started (logins, publishes): counts, topics, the latest; null without
   * roles (nothing is refused then).
   */
  refusals(): BrokerRefusals | null {
    return this.denials?.refusals() ?? this.lastRefusals;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.opts.host === '0.0.0.0' || this.opts.host === '::' ? '127.0.0.1' : this.opts.host;
    return `mqtt://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const log = this.opts.logger;
    const aedes = await Aedes.createBroker({ drainTimeout: 30_000 });
    keepPublishOrder(aedes);
    if (this.opts.roles !== null) this.enforce(aedes, new BrokerRoles(this.opts.roles));
    aedes.on('clientError', (client, err) => log.debug({ client: client.id, err }, 'embedded broker: client error'));
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      aedes.handle(socket);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.port, this.opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // Leave nothing open (aedes' heartbeat timer would keep the process alive): a port that cannot be
      // bound is a start-up failure, never a run without the broker.
      this.denials?.stop();
      this.denials = null;
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw listenError('embedded MQTT broker', 'broker.port', this.opts.host, this.opts.port, err);
    }
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : this.opts.port;
    this.aedes = aedes;
    this.server = server;
    const roles = this.opts.roles;
    log.info(
      { host: this.opts.host, port: this.boundPort, roles: roles !== null, sensorLogin: roles?.sensor != null, operatorLogin: roles?.operator != null },
      'embedded broker listening',
    );
  }

  private enforce(aedes: Aedes, roles: BrokerRoles): void {
    const denials = new DenialLog(this.opts.logger, this.opts.denialLogIntervalMs ?? 60_000, this.opts.timers);
    this.denials = denials;
    aedes.authenticate = (client, user, pass, done) => {
      const res = roles.authenticate(client.id, user, pass);
      if (!res.ok) {
        denials.record('login refused', { user: user ?? null, clientId: client.id, reason: res.reason }, client.id, res.reason);
        const err = Object.assign(new Error(res.reason), { returnCode: 5 as const });
        done(err, false);
        return;
      }
      this.identities.set(client, res.identity);
      done(null, true);
    };
    // A refused publish is acknowledged as usual (PUBACK, PUBREC) and dropped, the other way MQTT 3.1.1 allows
    // (MQTT-3.3.5-2; mosquitto does the same), instead of aedes' closing the connection: a client that
    // publishes one topic it may not (a hub's status) would otherwise resend it at every reconnect (its
    // QoS 1 message is still in flight) and loop, with its readings stuck behind it. authorizePublish marks
    // the packet; the broker's publish (every route a message takes: a client's publish, a will) drops it,
    // so it is neither delivered nor retained nor queued for offline sessions.
    const refused = new WeakSet<object>();
    const publish = aedes.publish.bind(aedes) as unknown as AedesPublish;
    (aedes as unknown as { publish: AedesPublish }).publish = (packet, client, done) => {
      if (!refused.has(packet)) return publish(packet, client, done);
      const callback = typeof client === 'function' ? client : done;
      callback?.(undefined);
    };
    aedes.authorizePublish = (client, packet, done) => {
      // client is null only for a will left by a broker instance that is gone (never, with memory persistence).
      const who: BrokerIdentity = client ? (this.identities.get(client) ?? { role: 'sensor', user: null }) : { role: 'sensor', user: null };
      const problem = roles.publishProblem(who, packet.topic);
      if (problem === null) {
        done(null);
        return;
      }
      denials.record('publish refused', { user: who.user, role: who.role, clientId: client?.id ?? null, topic: packet.topic.slice(0, 200), reason: problem }, packet.topic, problem);
      refused.add(packet);
      done(null);
    };
    aedes.authorizeForward = (client, packet) => {
      const who = this.identities.get(client);
      return who === undefined || roles.mayReceive(who, packet.topic) ? packet : undefined;
    };
  }

  /** Idempotent; never throws. */
  async stop(): Promise<void> {
    const { server, aedes } = this;
    this.server = null;
    this.aedes = null;
    this.lastRefusals = this.denials?.refusals() ?? this.lastRefusals;
    this.denials?.stop();
    this.denials = null;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
