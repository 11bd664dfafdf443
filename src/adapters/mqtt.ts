import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Observable, Subject } from 'rxjs';
import type { Logger } from 'pino';
import type { DaemonStatus } from '../contract/alerts.js';
import type { RawMessage } from '../contract/types.js';
import { topicMatches } from './broker-roles.js';
import { MqttErrorLog } from './mqtt-error-log.js';

export interface MqttAdapterOptions {
  readonly url: string;
  readonly username: string | null;
  readonly password: string | null;
  readonly ca: string | null;
  readonly cert: string | null;
  readonly key: string | null;
  readonly clientId: string | null;
  readonly clean: boolean;
  readonly qos: 0 | 1;
  readonly keepaliveSec: number;
  readonly topics: readonly string[];
  /**
   * Filters among `topics` whose retained messages the daemon needs at every start (Home Assistant discovery configs:
   * what it knows of them lives in memory): subscribed again at the adapter's first connection even when the broker
   * kept the session (and its subscriptions), since a SUBSCRIBE that replaces a subscription makes the broker send
   * the retained messages again (MQTT 3.1.1 §3.3.1.3). Absent = none.
   */
  readonly retainedAtStart?: readonly string[];
  /** Retained online/offline status topic (offline is the last will). */
  readonly statusTopic: string;
  readonly logger: Logger;
  readonly now: () => number;
  /**
   * Called at each connection the broker accepted (CONNACK), after the `online` status is published: `first` for the
   * adapter's first one, `sessionPresent` as the broker said. A broker that kept no session for us (restarted
   * without persistence, or `clean: true`) may have lost every retained message too: the daemon publishes its
   * retained states and discovery configs again then (tryout 18, finding 6). Must not throw.
   */
  readonly onConnect?: (info: { readonly first: boolean; readonly sessionPresent: boolean }) => void;
  /**
   * Repeats of one kind of `mqtt error` (one per reconnect attempt while the broker is down) are summed up in one
   * line per this interval (ms; limits.logIntervalMs, default 60 s) and at the next connection (MqttErrorLog).
   */
  readonly logIntervalMs?: number;
}

/**
 * A QoS 1 publish for the outbox that the broker did not acknowledge (no PUBACK) within the adapter's bound
 * (`MqttAdapter.pubackBoundMs`) while connected. The adapter has ended that connection (mqtt.js reconnects):
 * MQTT 3.1.1 lets a sender repeat an unacknowledged PUBLISH only on a new connection, so a PUBACK that is lost
 * (mosquitto 2.0 drops any packet, PUBACKs included, queued for a client whose outgoing queue already holds
 * `max_queued_messages`) would otherwise be waited for as long as the connection lives.
 */
export class PubackOverdueError extends Error {
  constructor(readonly boundMs: number) {
    super(`no PUBACK within ${boundMs} ms; the connection was ended to send it again on a new one`);
    this.name = 'PubackOverdueError';
  }
}

/** The PUBACK bound (ms) for a keepalive (s): the keepalive interval, or 30 s when keepalive is off (0). */
export function pubackBoundMs(keepaliveSec: number): number {
  return (keepaliveSec > 0 ? keepaliveSec : 30) * 1000;
}

/**
 * A client id clash as the adapter tells it (SessionClashWatch): another MQTT client connects with this daemon's
 * client id and the two take the session over from each other. `since` (epoch ms, the adapter's `now`) is when it was
 * told, `closes` how many takeovers in a row so far, `reconnectDelayMs` how long the adapter now waits before it
 * takes the session back (it doubles at each takeover, up to CLASH_MAX_DELAY_MS, so the fight slows).
 */
export interface ClientIdClash {
  readonly clientId: string;
  readonly since: number;
  readonly closes: number;
  readonly reconnectDelayMs: number;
}

/**
 * Another daemon on this daemon's status topic (the same mqtt.topicPrefix on the same broker, another client id): a
 * retained status this daemon did not send (`offline`: the other's clean stop or last will) came on its own status
 * topic while it was up (tryout 26, finding 3). `topic` is the status topic, `since` and `lastAt` (epoch ms, the
 * adapter's `now`) when the first and the latest such status came, `times` how many came, `payload` the latest one.
 * Told for the rest of the daemon's run: the other daemon will likely run again on the same prefix.
 */
export interface StatusTopicClash {
  readonly topic: string;
  readonly since: number;
  readonly lastAt: number;
  readonly times: number;
  readonly payload: string;
}

export interface PublishOptions {
  readonly qos: 0 | 1;
  readonly retain?: boolean;
}

/**
 * The daemon's one MQTT client. It owns the connection; reconnects and resubscribes are mqtt.js's job.
 * Readings leave through `messages$`; alerts and state go out through `publish`, whose promise settles
 * when the broker acknowledged a QoS 1 message (PUBACK), which is what the outbox waits for.
 */
export class MqttAdapter {
  private client: MqttClient | null = null;
  private readonly subject = new Subject<RawMessage>();
  readonly messages$: Observable<RawMessage> = this.subject.asObservable();
  private connectedOnce: Promise<void> | null = null;
  private paused = false;
  /** When the current connection was made (the `now` clock), null while not connected. */
  private listening: number | null = null;
  /** performance.now() of the last CONNACK: a publish held while disconnected is sent then, so its bound starts then. */
  private connectedMono = 0;
  /** A connection was accepted before (onConnect's `first`). */
  private connectedBefore = false;
  /** mqtt.js handleMessage callbacks held while paused: mqtt.js reads no further packet until one is called. */
  private held: Array<() => void> = [];
  /** False from stopReading on: a message read then is neither passed on nor acknowledged (the broker keeps it). */
  private reading = true;
  /** The fight over the client id, once started (start()). */
  private clash: SessionClashWatch | null = null;
  private clientId = '';
  /** The `mqtt error` lines: the first of a kind at once, its repeats summed up (tryout 20, finding 15). */
  private readonly errors: MqttErrorLog;
  /** Topics subscribed while running (addTopic), subscribed again at a connection without the session. */
  private readonly extraTopics = new Set<string>();
  /** The retained status this daemon asserts while up: `online`, `fault` after a storage fault (setStatus). */
  private ownStatus: DaemonStatus = 'online';
  /**
   * This connection's own status came back on the status topic (the echo, or the retained copy at the subscribe): a
   * status other than ours after it is another client's, not our own last will queued for our session.
   */
  private ownStatusSeen = false;
  /** Counts the connection's closes: a PUBACK that comes after a close is not this connection's (watchStatus). */
  private closes = 0;
  /** Statuses of another daemon seen on our status topic (StatusTopicClash), null while none. */
  private statusClash: StatusTopicClash | null = null;

  constructor(private readonly opts: MqttAdapterOptions) {
    this.errors = new MqttErrorLog(opts.logger, opts.logIntervalMs ?? 60_000);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /**
   * The client id clash going on (SessionClashWatch: the broker closed the connection CLASH_CLOSES times in a row
   * soon after accepting it), or null: none, or it ended (a connection lasted). For /api/status, `anomalyd status`
   * and the dashboard's header (the log says it once).
   */
  get clientIdClash(): ClientIdClash | null {
    const c = this.clash?.currentAt(this.opts.now()) ?? null;
    return c === null ? null : { clientId: this.clientId, ...c };
  }

  /**
   * Another daemon's statuses seen on this daemon's status topic (StatusTopicClash), or null: none since start. For
   * /api/status, `anomalyd status` and the dashboard's header (the log says it once).
   */
  get statusTopicClash(): StatusTopicClash | null {
    return this.statusClash;
  }

  /**
   * Sets the retained status this daemon asserts while up (`fault` after a storage fault) and publishes it (QoS 1,
   * retained); the status watch re-asserts it, and a reconnect publishes it. Settles at the PUBACK.
   * @throws what publish throws (not started, the connection closed before the PUBACK)
   */
  async setStatus(status: DaemonStatus): Promise<void> {
    this.ownStatus = status;
    await this.publish(this.opts.statusTopic, status, { qos: 1, retain: true });
  }

  /**
   * Since when (epoch ms, the adapter's `now`: the arrival clock) the connection that delivers readings has been
   * up, or null while it is down (before the first CONNACK, offline, reconnecting). A sensor cannot be heard
   * while it is down, so its silence is not the sensor's before this time (Daemon.judgeSilences).
   */
  get listeningSince(): number | null {
    return this.client?.connected === true ? this.listening : null;
  }

  /**
   * Resolves once the first connection is up and listening: at its CONNACK when the broker kept our session (and
   * with it our subscriptions), else once the broker answered our subscription to the options' topics (its SUBACK,
   * granted or refused, both logged; or the connection closed before it), so a message published after the
   * resolution reaches us. Rejects only if the options are unusable (e.g. unreadable cert files).
   */
  start(): Promise<void> {
    if (this.connectedOnce) return this.connectedOnce;
    const o = this.opts;
    const log = o.logger;
    const options: IClientOptions = {
      clientId: o.clientId ?? `anomalyd-${hostname()}`,
      clean: o.clean,
      keepalive: o.keepaliveSec,
      reconnectPeriod: RECONNECT_MS,
      connectTimeout: 10_000,
      resubscribe: true,
      protocolVersion: 4,
      will: { topic: o.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      // mqtt-packet otherwise makes, at the first packet written, a cache of all 65,536 two-byte numbers as Buffers
      // (topic lengths, message ids): ~6.5 MB of the V8 heap for good, most of the daemon's idle heap after its
      // code. Without it a number is written from a fresh 2-byte Buffer: the same bytes. The switch is
      // mqtt-packet's, global to the process (the embedded broker writes through the same module).
      writeCache: false,
    };
    // mqtt.js traces every packet through the `debug` package, which costs a call and a namespace check even
    // when disabled (about 1 % of the daemon's time per message); it stays on when DEBUG names mqttjs (or *).
    if (!/mqttjs|\*/.test(process.env.DEBUG ?? '')) options.log = noTrace;
    if (o.username !== null) options.username = o.username;
    if (o.password !== null) options.password = o.password;
    if (o.ca !== null) options.ca = readFileSync(o.ca);
    if (o.cert !== null) options.cert = readFileSync(o.cert);
    if (o.key !== null) options.key = readFileSync(o.key);

    const clientId = options.clientId!;
    const clash = new SessionClashWatch();
    this.clash = clash;
    this.clientId = clientId;
    const client = mqtt.connect(o.url, options);
    this.client = client;
    // Flow control: mqtt.js processes incoming packets one at a time and sends a QoS 1 PUBACK only when
    // handleMessage calls back. Holding the callback while paused stops reading: the broker keeps the rest
    // (for QoS 1 up to its in-flight window, then in its queue), and TCP backpressure does the same at QoS 0.
    // Once the daemon stops reading (stopReading), a message is answered with an error: mqtt.js then sends no
    // PUBACK and goes on to the next packet (the PUBACKs of our own publishes, the CONNACK of nothing), and the
    // broker re-sends the message to the session's next connection (MQTT 3.1.1 §4.4).
    client.handleMessage = (_packet, callback) => {
      if (!this.reading) callback(new Error('not reading: the daemon is stopping'));
      else if (this.paused) this.held.push(() => callback());
      else callback();
    };
    // Before mqtt.js's own close listener, which schedules the reconnect with reconnectPeriod as it is then.
    client.prependListener('close', () => {
      this.listening = null;
      this.closes += 1;
      // Not while stopping: our own end closes the connection too.
      const closes = this.client === client ? clash.closed(o.now()) : null;
      // While the fight goes on, each takeover doubles the wait before taking the session back (mqtt.js reads
      // reconnectPeriod when it schedules the next attempt), so two copies kick each other ever less often.
      client.options.reconnectPeriod = clash.reconnectDelayMs;
      if (closes !== null) {
        log.error(
          { clientId, closes, withinMs: CLASH_WINDOW_MS },
          `the broker closed the connection ${closes} times in a row within ${CLASH_WINDOW_MS / 1000} s of accepting it, with no error on our side: most likely another MQTT client connects with the same client id "${clientId}" and each takes the session over from the other (mosquitto logs "Client ${clientId} already connected, closing old connection"), so readings go to either; give every anomalyd its own mqtt.clientId (and its own dataDir)`,
        );
      }
      // Callbacks of a closed connection are void; the broker re-sends unacknowledged QoS 1 messages.
      this.held = [];
    });
    // The status topic is watched (subscribed at each connection), but it is no reading unless an ingest filter asks for it.
    const statusIsInput = o.topics.some((f) => topicMatches(f, o.statusTopic));
    client.on('message', (topic, payload, packet) => {
      // mqtt.js emits a message before handleMessage acknowledges it: one read after stopReading is not passed on.
      if (!this.reading) return;
      if (topic === o.statusTopic) {
        this.watchStatus(client, payload.toString('utf8'));
        if (!statusIsInput) return;
      }
      this.subject.next({ topic, payload, receivedAt: o.now(), retain: packet.retain, dup: packet.dup });
    });
    client.on('error', (err) => {
      clash.errored();
      this.errors.note(o.now(), err);
    });
    client.on('offline', () => {
      this.listening = null;
      log.warn({ url: o.url }, 'mqtt offline; reconnecting');
    });
    client.on('reconnect', () => log.debug('mqtt reconnecting'));

    this.connectedOnce = new Promise<void>((resolve) => {
      client.on('connect', (connack) => {
        this.listening = o.now();
        clash.connected(this.listening);
        this.connectedMono = performance.now();
        // mqtt.js leaves Nagle's algorithm on; without this p99 latency jumps by ~40 ms.
        const stream: unknown = client.stream;
        if (stream && typeof (stream as { setNoDelay?: unknown }).setNoDelay === 'function') {
          (stream as { setNoDelay: (on: boolean) => void }).setNoDelay(true);
        }
        this.errors.flush(this.listening);
        log.info({ url: o.url, sessionPresent: connack.sessionPresent }, 'mqtt connected');
        this.ownStatusSeen = false;
        client.publish(o.statusTopic, this.ownStatus, { qos: 1, retain: true });
        // Our own status topic, watched (watchStatus): after the publish, so the retained copy it gets is ours. QoS 0:
        // nothing is queued for our session while we are away (our own last will among it); at each connection, as a
        // session from before this watch has no such subscription.
        client.subscribe(o.statusTopic, { qos: 0 }, (err) => {
          if (!err) return;
          // The client ended meanwhile (a stop right after the connection): nothing to watch any more, no alarm.
          if (this.client !== client) log.debug({ err: { message: err.message }, topic: o.statusTopic }, 'mqtt: subscribe to the own status topic ended by the stop');
          else log.warn({ err: { message: err.message }, topic: o.statusTopic }, 'mqtt subscribe to the own status topic failed: a second daemon on this topic prefix would go unnoticed');
        });
        // With a persistent session the broker keeps our subscriptions; subscribing again is harmless. The start
        // resolves once the broker answered the subscription (SUBACK, or the connection closed first): a message a
        // sensor publishes after start() resolved is delivered. Resolving at the CONNACK left a window in which the
        // broker had no subscription for us and a reading published then reached nobody (test/e2e/backlog.test.ts
        // lost the first of its readings now and then under load).
        if (!connack.sessionPresent || o.clean) {
          client.subscribe(
            [...o.topics, ...this.extraTopics],
            { qos: o.qos },
            (err) => {
              if (err) log.error({ err: { message: err.message } }, 'mqtt subscribe failed');
              else log.info({ topics: o.topics, qos: o.qos }, 'subscribed');
              resolve();
            },
          );
        } else {
          resolve();
        }
        const first = !this.connectedBefore;
        this.connectedBefore = true;
        const again = o.retainedAtStart ?? [];
        if (first && connack.sessionPresent && !o.clean && again.length > 0) {
          client.subscribe([...again], { qos: o.qos }, (err) => {
            if (err) log.error({ err: { message: err.message } }, 'mqtt subscribe failed');
            else log.info({ topics: again }, 'subscribed again for their retained messages (the broker kept the session)');
          });
        }
        o.onConnect?.({ first, sessionPresent: connack.sessionPresent });
      });
    });
    return this.connectedOnce;
  }

  /**
   * Subscribes to one more topic while running (a Home Assistant discovery entity's state topic), at the options'
   * QoS: now when connected, else at the next connection (with the options' topics). Idempotent; a failure is logged.
   */
  addTopic(topic: string): void {
    if (this.extraTopics.has(topic)) return;
    this.extraTopics.add(topic);
    const client = this.client;
    if (client === null || !client.connected) return;
    client.subscribe(topic, { qos: this.opts.qos }, (err) => {
      if (err) this.opts.logger.error({ err: { message: err.message }, topic }, 'mqtt subscribe failed');
      else this.opts.logger.debug({ topic }, 'subscribed');
    });
  }

  /** Unsubscribes from a topic addTopic added (its entity deleted). Idempotent; a failure is logged. */
  removeTopic(topic: string): void {
    if (!this.extraTopics.delete(topic)) return;
    const client = this.client;
    if (client === null || !client.connected) return;
    client.unsubscribe(topic, (err?: Error) => {
      if (err) this.opts.logger.error({ err: { message: err.message }, topic }, 'mqtt unsubscribe failed');
      else this.opts.logger.debug({ topic }, 'unsubscribed');
    });
  }

  /** The topics addTopic added and removeTopic did not remove. */
  get addedTopics(): ReadonlySet<string> {
    return this.extraTopics;
  }

  /**
   * A status on our own status topic. Our own (the echo, or the retained copy at the subscribe) arms the watch for
   * this connection. An `offline` while we are up is another client's (tryout 26, finding 3: a second anomalyd on the
   * same broker and mqtt.topicPrefix, with another client id, sent it at its clean stop or as its last will; it left
   * Home Assistant showing every entity unavailable while this daemon ran): our status is published again (retained,
   * so the broker keeps ours), and once armed the clash is told (a warning once, then StatusTopicClash). Only
   * `offline` is answered, never `online` or `fault`: two daemons that answered each other's would publish for ever.
   * An `offline` before our own came back may be our own last will, queued from the connection before: answered, not
   * told. While our client id is fought over (SessionClashWatch) the `offline` is that fight's, told already.
   * An `offline` is told only once the broker acknowledged our status published again on the same connection: a
   * broker that shuts down (mosquitto 2 at SIGTERM) sends every client's last will, ours to us too, and then closes
   * the connection without acknowledging anything more (tryout 28, finding 8: a lone daemon told a "TOPIC PREFIX
   * CLASH" at the broker's stop). The `offline` of a second daemon's stop comes while the broker runs: acknowledged.
   */
  private watchStatus(client: MqttClient, payload: string): void {
    if (this.client !== client || !client.connected) return;
    if (payload === this.ownStatus) {
      this.ownStatusSeen = true;
      return;
    }
    const o = this.opts;
    const armed = this.ownStatusSeen && this.clientIdClash === null;
    if (payload === 'offline') {
      const closes = this.closes;
      client.publish(o.statusTopic, this.ownStatus, { qos: 1, retain: true }, (err) => {
        if (err) o.logger.debug({ err: { message: err.message } }, 'mqtt: the own status could not be published again');
        else if (this.closes !== closes) {
          o.logger.debug({ topic: o.statusTopic }, 'mqtt: an offline on the own status topic was followed by the connection closing (the broker stopping sends our own last will): no clash');
        } else if (armed) this.tellStatusClash(payload);
      });
      return;
    }
    if (armed) this.tellStatusClash(payload);
  }

  /** Records (StatusTopicClash) and, the first time, logs another client's status on our status topic (watchStatus). */
  private tellStatusClash(payload: string): void {
    const o = this.opts;
    const at = o.now();
    const prev = this.statusClash;
    this.statusClash = { topic: o.statusTopic, since: prev?.since ?? at, lastAt: at, times: (prev?.times ?? 0) + 1, payload };
    if (prev === null) {
      const prefix = o.statusTopic.endsWith('/status') ? o.statusTopic.slice(0, -'/status'.length) : o.statusTopic;
      o.logger.warn(
        { topic: o.statusTopic, payload, clientId: this.clientId },
        `another MQTT client published "${payload}" on this daemon's retained status topic ${o.statusTopic} while it runs: most likely a second anomalyd on the same broker with the same mqtt.topicPrefix "${prefix}" (its stop or its last will); Home Assistant shows every entity unavailable while the status is offline, and the two daemons' alerts and states share one topic tree. ${payload === 'offline' ? 'This daemon published its status again; ' : ''}give each anomalyd its own mqtt.topicPrefix`,
      );
    }
  }

  /** Stops taking messages off the connection (backpressure); idempotent. */
  pause(): void {
    this.paused = true;
  }

  /**
   * Takes messages again; idempotent. After stopReading the messages held meanwhile stay unacknowledged
   * (acknowledgeHeld says when they are stored).
   */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.reading) return;
    const held = this.held;
    this.held = [];
    for (const cb of held) cb();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * The first step of a graceful stop: from now on a message that arrives is neither passed on (`messages$`) nor
   * acknowledged, so with a persistent session (`clean: false`, QoS 1) the broker keeps it and re-sends it to the
   * next process; a QoS 0 one is lost, as QoS 0 allows. Messages passed on before and held unacknowledged by a
   * pause stay so until acknowledgeHeld (after the daemon stored them). Without this a message that came during
   * the stop's drain was acknowledged and dropped, and the broker never re-sent it (tryout 25, finding 3).
   * Idempotent; the adapter does not read again (stop follows).
   */
  stopReading(): void {
    this.reading = false;
  }

  /**
   * Acknowledges (PUBACK) the messages held unacknowledged by a pause, which were passed on before stopReading:
   * for the daemon to call once they are processed and stored. Not called (the drain did not finish), they are
   * not acknowledged and the broker re-sends them to the next process. Idempotent.
   */
  acknowledgeHeld(): void {
    const held = this.held;
    this.held = [];
    for (const cb of held) cb();
  }

  /** Settles when the broker acknowledged (QoS 1) or the message was written (QoS 0). */
  async publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('mqtt client not started');
    await client.publishAsync(topic, payload, { qos: opts.qos, retain: opts.retain ?? false });
  }

  /**
   * How long (ms) a connected publishOnce waits for its PUBACK before it ends the connection: the keepalive
   * interval (`mqtt.keepaliveSec`, 30 s when 0), the time within which a live connection answers a PINGREQ.
   */
  get pubackBoundMs(): number {
    return pubackBoundMs(this.opts.keepaliveSec);
  }

  /**
   * QoS 1 publish for the outbox. With a persistent session mqtt.js keeps an unacknowledged message and
   * re-sends it after a reconnect with its original payload, which would repeat an alert without
   * `"resent": true`. So when the connection closes before the PUBACK, the message is taken out of
   * mqtt.js's store and the promise rejects: the outbox's own retry, flagged resent, is the only repeat.
   *
   * mqtt.js never repeats a PUBLISH on a live connection (MQTT 3.1.1 allows it only on reconnect), so a lost
   * PUBACK would hold the promise as long as the connection lives. After `pubackBoundMs` of being connected
   * without the PUBACK, the connection is ended (mqtt.js reconnects after `reconnectPeriod`) and the promise
   * rejects with PubackOverdueError. A bound that ends while disconnected (mqtt.js sends the message on connect)
   * or paused (nothing is read, a PUBACK neither) starts again.
   */
  publishOnce(topic: string, payload: Buffer | string): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('mqtt client not started'));
    const boundMs = this.pubackBoundMs;
    return new Promise<void>((resolve, reject) => {
      let overdue = false;
      let timer: NodeJS.Timeout | null = null;
      const arm = (ms = boundMs): void => {
        timer = setTimeout(onTimer, ms);
        // The outbox's stop, not this timer, decides how long the process lives.
        timer.unref();
      };
      const onTimer = (): void => {
        timer = null;
        // Disconnected: mqtt.js holds the message and sends it on connect; the bound starts again. Paused
        // (backpressure): mqtt.js reads no packet, a PUBACK neither, so the bound starts again too.
        if (!client.connected || this.client !== client || this.paused) {
          if (this.client === client) arm();
          return;
        }
        // Held while disconnected, it went out at the last CONNACK: its bound runs from there.
        const connectedFor = performance.now() - this.connectedMono;
        if (connectedFor < boundMs) {
          arm(boundMs - connectedFor);
          return;
        }
        overdue = true;
        this.endBrokenConnection(client);
      };
      const done = (err?: Error | null): void => {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        client.off('close', onClose);
        if (overdue) reject(new PubackOverdueError(boundMs));
        else if (err) reject(err);
        else resolve();
      };
      const find = (): number | undefined => {
        for (const [k, e] of Object.entries(client.outgoing)) if (e.cb === done) return Number(k);
        return undefined;
      };
      const onClose = (): void => {
        const messageId = id ?? find();
        if (messageId !== undefined && client.outgoing[messageId]) client.removeOutgoingMessage(messageId);
      };
      client.on('close', onClose);
      client.publish(topic, payload, { qos: 1 }, done);
      // Remember the id while the stored callback is still ours (mqtt.js wraps it after a reconnect).
      const id = find();
      arm();
    });
  }

  /**
   * Ends a connection whose session is broken (a PUBACK overdue): destroys its socket, so mqtt.js emits
   * `close` (publishOnce's handler takes its message out of mqtt.js's store) and reconnects after
   * `reconnectPeriod`. The broker sees the socket drop without DISCONNECT and publishes the `offline` will;
   * the new connection publishes `online` again.
   */
  private endBrokenConnection(client: MqttClient): void {
    const stream: unknown = client.stream;
    if (stream && typeof (stream as { destroy?: unknown }).destroy === 'function') (stream as { destroy: () => void }).destroy();
  }

  /**
   * Publishes the retained final status (`offline`, or `fault` after a storage fault), then ends the
   * connection: a DISCONNECT, so the broker does not publish the `offline` will over a `fault`. Settles within
   * `deadlineMs` (ms; half of it at most for the final status) whatever is unacknowledged; afterwards no socket or timer of the client is left to
   * keep the process alive. Idempotent; never throws.
   *
   * mqtt.js's graceful `end(false)` waits for every unacknowledged QoS 1 publish (its `outgoingEmpty` event),
   * forever when a PUBACK was lost, and an `end(true)` after it does nothing (the client is already
   * `disconnecting`): the socket stayed open after `stopped` (tryout 16, finding 3). So what is still
   * unacknowledged once the final status is settled is dropped from mqtt.js's store first (the outbox's rows are
   * in SQLite and sent again at the next start, flagged resent), and if the DISCONNECT cannot be written in
   * time the socket is destroyed. With no time (`deadlineMs` below MIN_FINAL_STATUS_MS: a forced stop, or a deadline
   * the steps before spent) the socket is dropped at once: no final status, no DISCONNECT, so the broker publishes the last will
   * (`offline`) instead.
   */
  async stop(deadlineMs = 2000, finalStatus: 'offline' | 'fault' = 'offline'): Promise<void> {
    const client = this.client;
    this.client = null;
    if (!client) return;
    this.errors.flush(this.opts.now(), 'until the client stopped');
    this.held = [];
    this.paused = false;
    const endBy = Date.now() + deadlineMs;
    // While another client takes our client id's session over and back (a copy with the same mqtt.clientId), the
    // retained status topic is that copy's too: `offline` from this stop would tell it off while it runs (tryout 17,
    // finding 4). Left as it is then; a `fault` is said whatever.
    const clashing = (this.clash?.currentAt(this.opts.now()) ?? null) !== null;
    // A `fault` is tried with whatever time there is (the last will would say `offline`).
    if (deadlineMs <= 0 || (finalStatus === 'offline' && deadlineMs < MIN_FINAL_STATUS_MS)) {
      // No time left (a forced stop, or a deadline spent by the steps before): no final status and no DISCONNECT, so
      // the broker publishes the client's last will (`offline`, retained) as the connection drops.
      this.opts.logger.debug({ status: finalStatus }, 'mqtt: no time left at stop: the final status is left to the last will (offline)');
      // What was written just before (acknowledgeHeld's PUBACKs: mqtt-packet corks a write until the next tick) goes
      // out first: the socket is half-closed after its writes are flushed, at most DROP_FLUSH_MS, then destroyed.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const stream: unknown = client.stream;
      if (stream !== null && typeof stream === 'object' && typeof (stream as { end?: unknown }).end === 'function') {
        const end = (stream as { end: (cb: () => void) => void }).end.bind(stream);
        await withDeadline(new Promise<void>((resolve) => end(resolve)), DROP_FLUSH_MS).catch(() => undefined);
      }
      client.end(true);
      this.subject.complete();
      return;
    }
    try {
      if (client.connected && !(clashing && finalStatus === 'offline')) {
        await withDeadline(client.publishAsync(this.opts.statusTopic, finalStatus, { qos: 1, retain: true }), deadlineMs / 2);
      } else if (clashing && finalStatus === 'offline') {
        this.opts.logger.warn({ clientId: this.clientId }, `final status offline not published: another client uses the client id "${this.clientId}" and holds the status topic too`);
      }
    } catch (err) {
      this.opts.logger.warn({ err, status: finalStatus }, 'could not publish the final status');
    }
    const unacknowledged = Object.keys(client.outgoing).map(Number);
    for (const messageId of unacknowledged) client.removeOutgoingMessage(messageId);
    if (unacknowledged.length > 0) {
      this.opts.logger.debug({ messages: unacknowledged.length }, 'mqtt: unacknowledged publishes dropped at stop');
    }
    try {
      await withDeadline(client.endAsync(false), Math.max(0, endBy - Date.now()));
    } catch {
      this.endBrokenConnection(client);
    }
    this.subject.complete();
  }
}

/**
 * A stop left less time than this (ms) publishes no final status `offline` (it could not be acknowledged in time, and a warning
 * `timed out after 0 ms` said nothing useful): the connection is dropped and the broker publishes the last will,
 * `offline`.
 */
export const MIN_FINAL_STATUS_MS = 50;

/** How long a stop with no time left (MqttAdapter.stop with 0 ms) lets the socket flush what was written before it is dropped (ms). */
export const DROP_FLUSH_MS = 200;

/** A connection the broker closes this soon after accepting it (ms) may have been taken over (SessionClashWatch). */
export const CLASH_WINDOW_MS = 30_000;
/** So many such closes in a row are told as a client id clash. */
export const CLASH_CLOSES = 3;
/** mqtt.js's wait before a reconnect (ms), and the most it grows to while a client id clash goes on. */
export const RECONNECT_MS = 1000;
export const CLASH_MAX_DELAY_MS = 32_000;

/**
 * Tells a fight over the client id from its one trace under MQTT 3.1.1 (the daemon's protocol: the embedded
 * broker, aedes, has no MQTT 5): the broker closes the connection, without an error on our side, soon after it
 * accepted it, again and again. MQTT lets a new connection with a client id already connected take the session
 * over, the broker closes the old one, and mqtt.js reconnects a second later, taking it back: two clients with one
 * id (a second anomalyd with a copy of the configuration) kick each other for ever. MQTT 5 would say so (DISCONNECT
 * reason 0x8E "Session taken over", MQTT 5.0 §3.1.4), but mosquitto sends it only from 2.0.15
 * (eclipse-mosquitto/mosquitto#2607, #2340) and the protocol is 3.1.1 here, so the pattern is what there is.
 * A connection that lasted longer, or closed on an error (a reset, a keepalive timeout), ends the run of closes;
 * an attempt the broker never accepted (it is down) is neither counted nor ends it. Times are the adapter's `now`
 * clock (ms).
 *
 * Once told (the clash is `current`), each further takeover doubles the wait before the next reconnect
 * (reconnectDelayMs: RECONNECT_MS up to CLASH_MAX_DELAY_MS), so the fight and the flapping of the retained status
 * slow down (tryout 17, finding 4: `online` re-published 39 times in 40 s); "soon after" then stretches to twice
 * that wait, as the other copy, slowed the same way, takes the session back after as long. A connection that lasts
 * longer ends the clash and the wait is a second again.
 */
export class SessionClashWatch {
  private since: number | null = null;
  private failed = false;
  private run = 0;
  private told = false;
  private toldAt = 0;
  private delayMs = RECONNECT_MS;

  constructor(
    private readonly windowMs = CLASH_WINDOW_MS,
    private readonly closes = CLASH_CLOSES,
  ) {}

  /** The broker accepted a connection (CONNACK) at `at`. */
  connected(at: number): void {
    this.since = at;
    this.failed = false;
  }

  /** mqtt.js reported an error on the connection (its close then is not the broker's doing). */
  errored(): void {
    this.failed = true;
  }

  /** The wait before the next reconnect (ms): RECONNECT_MS, longer while a clash goes on. */
  get reconnectDelayMs(): number {
    return this.delayMs;
  }

  /**
   * The clash going on at `now` (epoch ms, the caller's clock) since it was told (`since`; `closes` in a row so far),
   * or null: none told, or the connection made since has lasted past the window (the other client is gone).
   */
  currentAt(now: number): { readonly since: number; readonly closes: number; readonly reconnectDelayMs: number } | null {
    if (!this.told) return null;
    if (this.since !== null && now - this.since > Math.max(this.windowMs, 2 * this.delayMs)) return null;
    return { since: this.toldAt, closes: this.run, reconnectDelayMs: this.delayMs };
  }

  /**
   * The connection closed at `at`. Returns how many closes in a row came soon after their connection was
   * accepted, once when they reach `closes` (then not again until a connection lasts), else null.
   */
  closed(at: number): number | null {
    const since = this.since;
    this.since = null;
    if (since === null) return null;
    if (this.failed || at - since > Math.max(this.windowMs, 2 * this.delayMs)) {
      this.run = 0;
      this.told = false;
      this.delayMs = RECONNECT_MS;
      return null;
    }
    this.run++;
    if (this.told) this.delayMs = Math.min(CLASH_MAX_DELAY_MS, this.delayMs * 2);
    if (this.run < this.closes || this.told) return null;
    this.told = true;
    this.toldAt = at;
    this.delayMs = Math.min(CLASH_MAX_DELAY_MS, this.delayMs * 2);
    return this.run;
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** mqtt.js's packet trace, off. */
function noTrace(): void {}
