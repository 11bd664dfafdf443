import net from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import { listenError } from '../util/net.js';
import { BrokerRoles, type BrokerIdentity, type BrokerRolesOptions } from './broker-roles.js';

export interface EmbeddedBrokerOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Who may connect and what each role may publish and receive (broker-roles.ts). null = no checks at
   * all: every client may do anything (only for tests of other parts; the daemon always passes roles).
   */
  readonly roles: BrokerRolesOptions | null;
  readonly logger: Logger;
  /** Least time between two log lines about refused clients or publishes of one kind (default 60 s). */
  readonly denialLogIntervalMs?: number;
}

/** aedes' publish as its client handler and its will calls use it (the typings know only `(packet, callback)`). */
type AedesPublish = (packet: object, client?: unknown, done?: (err?: Error) => void) => void;

/** Distinct topics (or clients) a refusal line counts; beyond it it says "more than". */
const DENIAL_MAX_DISTINCT = 500;
/** Topics (or clients) a refusal line names. */
const DENIAL_NAMED = 3;

/** What one kind of refusal gathered since its last line. */
interface DenialKind {
  count: number;
  example: Record<string, unknown>;
  loggedAt: number;
  /** The distinct topics (publishes) or clients (logins) of `count`, in order of first refusal, bounded. */
  distinct: Set<string>;
  moreDistinct: boolean;
}

/**
 * Refusals (logins, publishes) logged as one line per kind per interval, so a hostile client cannot flood the
 * log; the line says how many distinct topics (publishes) or clients (logins) they came from and names the
 * first DENIAL_NAMED, so 20 devices on a wrong prefix read as 20 topics, not one example.
 */
class DenialLog {
  private readonly kinds = new Map<string, DenialKind>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.flush(Date.now()), this.intervalMs);
    this.timer.unref();
  }

  /** `distinct`: what the summary counts apart (the topic of a publish, the client id of a login). */
  record(kind: string, detail: Record<string, unknown>, distinct: string): void {
    const now = Date.now();
    let k = this.kinds.get(kind);
    if (k === undefined) {
      // The first of a kind is logged at once; the rest of the interval is summed up by flush().
      this.log.warn({ ...detail, kind }, `embedded broker: ${kind}`);
      k = { count: 0, example: detail, loggedAt: now, distinct: new Set(), moreDistinct: false };
      this.kinds.set(kind, k);
      return;
    }
    if (k.count === 0) k.example = detail;
    k.count++;
    const key = distinct.slice(0, 200);
    if (k.distinct.size < DENIAL_MAX_DISTINCT) k.distinct.add(key);
    else if (!k.distinct.has(key)) k.moreDistinct = true;
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
        this.log.warn({ ...k.example, kind, count: k.count, ...spread }, `embedded broker: ${kind} (${k.count} since the last line, from ${many}: ${list})`);
        k.count = 0;
        k.loggedAt = now;
        k.distinct = new Set();
        k.moreDistinct = false;
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
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

  constructor(private readonly opts: EmbeddedBrokerOptions) {}

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
    const denials = new DenialLog(this.opts.logger, this.opts.denialLogIntervalMs ?? 60_000);
    denials.start();
    this.denials = denials;
    aedes.authenticate = (client, user, pass, done) => {
      const res = roles.authenticate(client.id, user, pass);
      if (!res.ok) {
        denials.record('login refused', { user: user ?? null, clientId: client.id, reason: res.reason }, client.id);
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
      denials.record('publish refused', { user: who.user, role: who.role, clientId: client?.id ?? null, topic: packet.topic.slice(0, 200), reason: problem }, packet.topic);
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
    this.denials?.stop();
    this.denials = null;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
